"""ICMP echo from one address to another, stdlib only (the lab machine has no ping binary).

Run inside a namespace as root: ``pinger.py SOURCE DESTINATION COUNT``. Prints one JSON
object: ``{"sent": n, "received": n, "rtt_ms": [...]}``. Used to push traffic through a
tunnel so that the capture shows ESP.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
import time

PAYLOAD = b"ikesniff lab ping"


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def ping(source: str, destination: str, count: int, wait: float = 1.0, interval: float = 0.2) -> dict[str, object]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sock.bind((source, 0))
    ident = os.getpid() & 0xFFFF
    received = 0
    rtts = []
    for seq in range(1, count + 1):
        header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        packet = struct.pack("!BBHHH", 8, 0, checksum(header + PAYLOAD), ident, seq) + PAYLOAD
        start = time.monotonic()
        sock.sendto(packet, (destination, 0))
        while (left := wait - (time.monotonic() - start)) > 0:
            sock.settimeout(left)
            try:
                data, _ = sock.recvfrom(4096)
            except TimeoutError:
                break
            offset = (data[0] & 0x0F) * 4
            kind, _, _, their_ident, their_seq = struct.unpack_from("!BBHHH", data, offset)
            if kind == 0 and their_ident == ident and their_seq == seq:
                received += 1
                rtts.append(round((time.monotonic() - start) * 1000, 3))
                break
        time.sleep(interval)
    return {"sent": count, "received": received, "rtt_ms": rtts}


if __name__ == "__main__":
    print(json.dumps(ping(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
