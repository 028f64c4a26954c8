"""`-w FILE`: the IKE messages seen, written to a classic pcap file for a ticket.

`-w` writes the IKE messages, one packet each, not the original frames: every `IkeDatagram` becomes
one synthesised, unfragmented IPv4 or IPv6 packet with correct header and UDP/TCP checksums. A
datagram that arrived in IP fragments or TCP segments is written whole, so its frame numbers differ
from the original capture's. ESP, NAT keep-alives and other frames are not written.

    with PcapWriter("ticket.pcap") as writer:     # '-' writes to standard output
        writer.write(datagram)

The link type is LINKTYPE_RAW (101): each record is a bare IP packet, so IPv4 and IPv6 share one file.
The transport is rebuilt as the datagram says:

* 'udp'        UDP, the ISAKMP bytes as the payload;
* 'udp-encap'  UDP with the 4-octet non-ESP marker before the ISAKMP bytes (RFC 3948);
* 'tcp-encap'  RFC 8229: one TCP connection per pair of endpoints, opened with a handshake when it is
               first seen; the side that spoke first sends the 6-octet 'IKETCP' prefix once, then every
               message is a record `length (2 octets, counting itself) | non-ESP marker | ISAKMP bytes`,
               in one segment with per-direction sequence numbers.

Knows nothing of IKE beyond that framing; the bytes are written as given (see redact.py for `--redact`).
"""

from __future__ import annotations

import ipaddress
import struct
import sys
from dataclasses import dataclass
from typing import IO, Self

from .batches import CaptureError
from .events import IkeDatagram

LINKTYPE_RAW = 101
SNAPLEN = 262144
MAGIC_MICROSECONDS = 0xA1B2C3D4
MAGIC_NANOSECONDS = 0xA1B23C4D
NON_ESP_MARKER = bytes(4)
TCP_PREFIX = b"IKETCP"
TTL = 64
UDP, TCP = 17, 6
TCP_SYN, TCP_ACK, TCP_PSH = 0x02, 0x10, 0x08
MAX_SEGMENT = 65000
"""TCP payload octets per segment: keeps every IPv4 packet under its 65535-octet limit."""
MAX_UDP_PAYLOAD = 65535 - 20 - 8


@dataclass(slots=True)
class _Connection:
    """An RFC 8229 TCP connection being written: the next sequence number of each side."""

    client: tuple[str, int]
    next_seq: dict[tuple[str, int], int]
    prefix_sent: bool = False


class PcapWriter:
    """Writes IKE datagrams as IP packets into a classic pcap file (LINKTYPE_RAW)."""

    def __init__(self, path: str, nanoseconds: bool = False) -> None:
        self.path = path
        self.nanoseconds = nanoseconds
        self._ip_id = 0
        self._connections: dict[frozenset[tuple[str, int]], _Connection] = {}
        self._stream: IO[bytes]
        if path == "-":
            self._stream = sys.stdout.buffer
        else:
            try:
                self._stream = open(path, "wb")  # noqa: SIM115 -- closed by close()
            except OSError as error:
                raise CaptureError(f"{path}: cannot write: {error.strerror or error}") from None
        magic = MAGIC_NANOSECONDS if nanoseconds else MAGIC_MICROSECONDS
        self._put(struct.pack("=IHHiIII", magic, 2, 4, 0, 0, SNAPLEN, LINKTYPE_RAW))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def write(self, datagram: IkeDatagram) -> None:
        """One packet for a UDP datagram (several TCP packets for the first message of a connection)."""
        if datagram.transport == "tcp-encap":
            for packet in self._tcp_packets(datagram):
                self._record(datagram.time, packet)
        else:
            payload = NON_ESP_MARKER + datagram.data if datagram.transport == "udp-encap" else datagram.data
            payload = payload[:MAX_UDP_PAYLOAD]
            segment = struct.pack("!HHHH", datagram.sport, datagram.dport, 8 + len(payload), 0) + payload
            self._record(datagram.time, self._ip(datagram.src, datagram.dst, UDP, segment, checksum_at=6))
        if self._stream is sys.stdout.buffer:
            self._stream.flush()  # a reader on the other end of a pipe gets each packet at once

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        if self._stream is sys.stdout.buffer:
            self.flush()
            return
        if not self._stream.closed:
            try:
                self._stream.close()
            except OSError as error:
                raise CaptureError(f"{self.path}: cannot write: {error.strerror or error}") from None

    # --- TCP (RFC 8229) -----------------------------------------------------------------------
    def _tcp_packets(self, datagram: IkeDatagram) -> list[bytes]:
        sender, receiver = (datagram.src, datagram.sport), (datagram.dst, datagram.dport)
        key = frozenset((sender, receiver))
        connection = self._connections.get(key)
        packets: list[bytes] = []
        if connection is None:  # open it: SYN, SYN-ACK, ACK (initial sequence numbers 0)
            connection = self._connections[key] = _Connection(sender, {sender: 1, receiver: 1})
            packets.append(self._tcp(sender, receiver, 0, 0, TCP_SYN, b""))
            packets.append(self._tcp(receiver, sender, 0, 1, TCP_SYN | TCP_ACK, b""))
            packets.append(self._tcp(sender, receiver, 1, 1, TCP_ACK, b""))
        body = NON_ESP_MARKER + datagram.data
        stream = struct.pack("!H", (len(body) + 2) & 0xFFFF) + body
        if sender == connection.client and not connection.prefix_sent:
            stream = TCP_PREFIX + stream
            connection.prefix_sent = True
        for start in range(0, len(stream), MAX_SEGMENT):
            chunk = stream[start:start + MAX_SEGMENT]
            seq, ack = connection.next_seq[sender], connection.next_seq[receiver]
            packets.append(self._tcp(sender, receiver, seq, ack, TCP_PSH | TCP_ACK, chunk))
            connection.next_seq[sender] = (seq + len(chunk)) & 0xFFFFFFFF
        return packets

    def _tcp(self, sender: tuple[str, int], receiver: tuple[str, int], seq: int, ack: int, flags: int,
             payload: bytes) -> bytes:
        header = struct.pack("!HHIIBBHHH", sender[1], receiver[1], seq, ack, 5 << 4, flags, 65535, 0, 0)
        return self._ip(sender[0], receiver[0], TCP, header + payload, checksum_at=16)

    # --- IP -------------------------------------------------------------------------------------
    def _ip(self, src: str, dst: str, protocol: int, segment: bytes, checksum_at: int) -> bytes:
        """An IP packet around a UDP/TCP segment whose checksum (at `checksum_at`) is still zero."""
        source, destination = ipaddress.ip_address(src), ipaddress.ip_address(dst)
        if source.version != destination.version:
            raise ValueError(f"{src} and {dst} are not of the same IP version")
        length = len(segment)
        if source.version == 4:
            pseudo = source.packed + destination.packed + struct.pack("!BBH", 0, protocol, length)
        else:
            pseudo = source.packed + destination.packed + struct.pack("!IxxxB", length, protocol)
        checksum = _checksum(pseudo + segment)
        if protocol == UDP and checksum == 0:
            checksum = 0xFFFF  # zero means 'no checksum' in UDP
        segment = segment[:checksum_at] + struct.pack("!H", checksum) + segment[checksum_at + 2:]
        if source.version == 6:
            return struct.pack("!IHBB", 6 << 28, length, protocol, TTL) + pseudo[:32] + segment
        self._ip_id = (self._ip_id + 1) & 0xFFFF
        header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + length, self._ip_id, 0x4000, TTL, protocol, 0,
                             source.packed, destination.packed)
        header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
        return header + segment

    def _record(self, time: float, packet: bytes) -> None:
        seconds = int(time)
        scale = 1_000_000_000 if self.nanoseconds else 1_000_000
        fraction = round((time - seconds) * scale)
        if fraction >= scale:
            seconds, fraction = seconds + 1, fraction - scale
        self._put(struct.pack("=IIII", seconds, fraction, len(packet), len(packet)) + packet)

    def _put(self, data: bytes) -> None:
        try:
            self._stream.write(data)
        except OSError as error:
            raise CaptureError(f"{self.path}: cannot write: {error.strerror or error}") from None


def _checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of `data`."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF
