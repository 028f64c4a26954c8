#!/usr/bin/env python3
"""Write the captures of pcaps/noise/: attacks, noise, cut and split captures, each with a .json label.

Each capture is small (under 300 kB), deterministic (fixed seeds, integer microsecond timestamps) and uses only
documentation addresses (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32). Real negotiations are
real: their IKE messages (and ESP) are the frames of the lab captures of pcaps/ (strongSwan 5.9.8), retimed and
readdressed, with SPIs and message ids rewritten where a scenario needs several SAs. Attack and probe traffic
carries IKE messages built here field by field (IKEv1 main-mode SA payloads, a minimal IKEv2 IKE_SA_INIT), all
well-formed (tests/test_noise_pcaps.py checks them with tshark).

Each label says what the capture holds (`wire`: counts the test checks with tshark) and what a careful tool should
say (`expected`: findings by kind, tunnels with outcome and code, exit status under SPEC section 3).

This module knows pcap files and IKE header layout; it knows nothing of ikesniff.

Usage: .venv/bin/python tools/make_noise_pcaps.py [--out DIR] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import ipaddress
import json
import random
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAB = REPO / "pcaps"
DEFAULT_OUT = LAB / "noise"
GENERATOR = "tools/make_noise_pcaps.py"
LABEL_VERSION = 1
DAY1 = 1_772_442_000  # 2026-03-02 09:00:00 UTC
MOON, SUN = "192.0.2.1", "192.0.2.2"

LINK_ETHERNET, LINK_RAW = 1, 101
RECORD = struct.Struct("<IIII")

# --------------------------------------------------------------------------------------------------------------
# Reading the lab captures.


@dataclass(frozen=True)
class Packet:
    """One IP datagram of a lab capture: enough to rebuild it elsewhere."""

    time_us: int          # microseconds since the first frame of its capture
    src: str
    dst: str
    proto: int            # 17 UDP, 50 ESP
    sport: int
    dport: int
    payload: bytes        # UDP payload (non-ESP marker included) or the ESP packet

    @property
    def ike(self) -> bytes | None:
        """The IKE message, or None for ESP (raw or UDP-encapsulated) and NAT keepalives."""
        if self.proto != 17:
            return None
        if 4500 in (self.sport, self.dport):
            return self.payload[4:] if self.payload[:4] == bytes(4) and len(self.payload) >= 32 else None
        return self.payload


def read_lab(name: str) -> list[Packet]:
    """Every IPv4 frame of pcaps/<name>.pcap (classic pcap, Ethernet), in file order."""
    data = (LAB / f"{name}.pcap").read_bytes()
    if data[:4] != b"\xd4\xc3\xb2\xa1" or struct.unpack_from("<I", data, 20)[0] != LINK_ETHERNET:
        raise ValueError(f"{name}.pcap: expected a little-endian microsecond pcap of Ethernet frames")
    packets, offset, first = [], 24, None
    while offset + 16 <= len(data):
        sec, usec, caplen, _ = RECORD.unpack_from(data, offset)
        frame = data[offset + 16:offset + 16 + caplen]
        offset += 16 + caplen
        stamp = sec * 1_000_000 + usec
        first = stamp if first is None else first
        if struct.unpack_from(">H", frame, 12)[0] != 0x0800:
            continue
        ip = frame[14:]
        ihl, total, proto = (ip[0] & 15) * 4, struct.unpack_from(">H", ip, 2)[0], ip[9]
        src, dst = str(ipaddress.IPv4Address(ip[12:16])), str(ipaddress.IPv4Address(ip[16:20]))
        body = ip[ihl:total]
        if proto == 17:
            sport, dport = struct.unpack_from(">HH", body)
            packets.append(Packet(stamp - first, src, dst, 17, sport, dport, body[8:]))
        elif proto == 50:
            packets.append(Packet(stamp - first, src, dst, 50, 0, 0, body))
    return packets


def rewrite_ike(ike: bytes, spi_i: bytes | None = None, spi_r: bytes | None = None,
                message_id: int | None = None) -> bytes:
    """The same IKE message with other SPIs or message id (a zero responder SPI stays zero)."""
    out = bytearray(ike)
    if spi_i is not None:
        out[0:8] = spi_i
    if spi_r is not None and out[8:16] != bytes(8):
        out[8:16] = spi_r
    if message_id is not None:
        out[20:24] = message_id.to_bytes(4, "big")
    return bytes(out)


def with_ike(packet: Packet, ike: bytes) -> bytes:
    """packet's UDP payload carrying ike instead (non-ESP marker kept)."""
    return bytes(4) + ike if 4500 in (packet.sport, packet.dport) else ike


# --------------------------------------------------------------------------------------------------------------
# Building frames and files.


def _ones(data: bytes) -> int:
    if len(data) & 1:
        data += b"\0"
    total: int = sum(struct.unpack(f">{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def _mac(address: bytes) -> bytes:
    return b"\x02" + hashlib.blake2s(address, digest_size=5).digest()


def ip_frame(src: str, dst: str, proto: int, body: bytes, ident: int, link: int = LINK_ETHERNET) -> bytes:
    """An Ethernet (or raw IP) frame holding an IPv4 or IPv6 datagram with the given transport body."""
    s, d = ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed
    if len(s) == 4:
        header = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(body), ident & 0xFFFF, 0x4000, 64, proto, 0, s, d)
        ip = header[:10] + struct.pack(">H", ~_ones(header) & 0xFFFF) + header[12:] + body
        ethertype = 0x0800
    else:
        ip = struct.pack(">IHBB16s16s", 0x60000000, len(body), proto, 64, s, d) + body
        ethertype = 0x86DD
    if link == LINK_RAW:
        return ip
    return _mac(d) + _mac(s) + struct.pack(">H", ethertype) + ip


def udp_frame(src: str, dst: str, sport: int, dport: int, payload: bytes, ident: int,
              link: int = LINK_ETHERNET, checksum: bool = True) -> bytes:
    s, d = ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed
    length = 8 + len(payload)
    if not checksum and len(s) == 4:  # IPv4 allows a zero (absent) UDP checksum
        return ip_frame(src, dst, 17, struct.pack(">HHHH", sport, dport, length, 0) + payload, ident, link)
    pseudo = (s + d + struct.pack(">BBH", 0, 17, length) if len(s) == 4
              else s + d + struct.pack(">IxxxB", length, 17))
    value = ~_ones(pseudo + struct.pack(">HHHH", sport, dport, length, 0) + payload) & 0xFFFF or 0xFFFF
    return ip_frame(src, dst, 17, struct.pack(">HHHH", sport, dport, length, value) + payload, ident, link)


@dataclass
class Capture:
    """Frames with absolute microsecond timestamps; written sorted by time (stable)."""

    link: int = LINK_ETHERNET
    frames: list[tuple[int, bytes]] = field(default_factory=list)
    ident: int = 0

    def udp(self, t_us: int, src: str, dst: str, sport: int, dport: int, payload: bytes,
            crafted: bool = False) -> None:
        """crafted: as a packet tool sends it (IP id 0, no UDP checksum)."""
        self.ident += 1
        frame = udp_frame(src, dst, sport, dport, payload, 0 if crafted else self.ident, self.link, not crafted)
        self.frames.append((t_us, frame))

    def replay(self, t_us: int, packet: Packet, src: str | None = None, dst: str | None = None,
               payload: bytes | None = None) -> None:
        """A lab packet at time t_us, maybe readdressed or with another payload."""
        src, dst = src or packet.src, dst or packet.dst
        body = packet.payload if payload is None else payload
        self.ident += 1
        if packet.proto == 17:
            frame = udp_frame(src, dst, packet.sport, packet.dport, body, self.ident, self.link)
        else:
            frame = ip_frame(src, dst, packet.proto, body, self.ident, self.link)
        self.frames.append((t_us, frame))

    def ordered(self) -> list[tuple[int, bytes]]:
        return sorted(self.frames, key=lambda item: item[0])

    def to_bytes(self, truncate_last_to: int | None = None) -> bytes:
        """Classic pcap; truncate_last_to cuts the file inside the last record's data, as a killed writer does."""
        parts = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, self.link)]
        for t_us, frame in self.ordered():
            parts.append(RECORD.pack(t_us // 1_000_000, t_us % 1_000_000, len(frame), len(frame)) + frame)
        if truncate_last_to is not None:
            last = parts[-1]
            parts[-1] = last[:16 + truncate_last_to]
        return b"".join(parts)


# --------------------------------------------------------------------------------------------------------------
# IKE messages built field by field (RFC 2408/2409 for IKEv1, RFC 7296 for IKEv2).

V1_MAIN, V1_INFO = 2, 5
V1_SA, V1_NOTIFY = 1, 11
NO_PROPOSAL_CHOSEN = 14


def v1_header(spi_i: bytes, spi_r: bytes, next_payload: int, exchange: int, message_id: int, body: bytes) -> bytes:
    return spi_i + spi_r + struct.pack(">BBBBII", next_payload, 0x10, exchange, 0, message_id, 28 + len(body)) + body


def v1_sa(transforms: list[tuple[int, int, int, int, int]]) -> bytes:
    """An IKEv1 SA payload (DOI IPsec, identity situation), one ISAKMP proposal with the given transforms:
    (encryption, key length or 0, hash, authentication method, group)."""
    encoded = []
    for number, (enc, keylen, hash_alg, auth, group) in enumerate(transforms, start=1):
        attrs = struct.pack(">HH", 0x8001, enc)
        if keylen:
            attrs += struct.pack(">HH", 0x800E, keylen)
        attrs += struct.pack(">HHHHHHHH", 0x8002, hash_alg, 0x8003, auth, 0x8004, group, 0x800B, 1)
        attrs += struct.pack(">HHI", 0x000C, 4, 28800)  # life duration, variable length
        more = 3 if number < len(transforms) else 0
        encoded.append(struct.pack(">BBHBBH", more, 0, 8 + len(attrs), number, 1, 0) + attrs)
    proposal_body = b"".join(encoded)
    proposal = struct.pack(">BBHBBBB", 0, 0, 8 + len(proposal_body), 1, 1, 0, len(transforms)) + proposal_body
    return struct.pack(">BBHII", 0, 0, 12 + len(proposal), 1, 1) + proposal


def v1_main_mode_1(spi_i: bytes, transforms: list[tuple[int, int, int, int, int]]) -> bytes:
    return v1_header(spi_i, bytes(8), V1_SA, V1_MAIN, 0, v1_sa(transforms))


def v1_main_mode_2(spi_i: bytes, spi_r: bytes, transform: tuple[int, int, int, int, int]) -> bytes:
    return v1_header(spi_i, spi_r, V1_SA, V1_MAIN, 0, v1_sa([transform]))


def v1_no_proposal_chosen(spi_i: bytes, spi_r: bytes, message_id: int) -> bytes:
    """An unencrypted Informational exchange carrying NO_PROPOSAL_CHOSEN (SPI: both cookies, as strongSwan sends)."""
    notify = struct.pack(">BBHIBBH", 0, 0, 12 + 16, 1, 1, 16, NO_PROPOSAL_CHOSEN) + spi_i + spi_r
    return v1_header(spi_i, spi_r, V1_NOTIFY, V1_INFO, message_id, notify)


V1_TRANSFORMS = [(enc, keylen, hash_alg, 1, group)  # ike-scan --trans style: encryption/hash/PSK/group
                 for enc, keylen in ((1, 0), (5, 0), (7, 128), (7, 256))
                 for hash_alg in (1, 2, 4)
                 for group in (1, 2, 5, 14)]
AES128_SHA1_MODP2048 = (7, 128, 2, 1, 14)


def v2_sa_init_request(spi_i: bytes, key_exchange: bytes, nonce: bytes) -> bytes:
    """A minimal IKEv2 IKE_SA_INIT request: SA (AES-CBC-128, HMAC-SHA2-256, PRF-SHA2-256, group 31), KE, Ni."""
    transforms = [(1, 12, struct.pack(">HH", 0x800E, 128)), (2, 5, b""), (3, 12, b""), (4, 31, b"")]
    encoded = b""
    for n, (kind, ident, attrs) in enumerate(transforms):
        encoded += struct.pack(">BBHBBH", 3 if n < len(transforms) - 1 else 0, 0, 8 + len(attrs), kind, 0,
                               ident) + attrs
    proposal = struct.pack(">BBHBBBB", 0, 0, 8 + len(encoded), 1, 1, 0, len(transforms)) + encoded
    sa = struct.pack(">BBH", 34, 0, 4 + len(proposal)) + proposal
    ke = struct.pack(">BBHHH", 40, 0, 8 + len(key_exchange), 31, 0) + key_exchange
    ni = struct.pack(">BBH", 0, 0, 4 + len(nonce)) + nonce
    body = sa + ke + ni
    return spi_i + bytes(8) + struct.pack(">BBBBII", 33, 0x20, 34, 0x08, 0, 28 + len(body)) + body


# --------------------------------------------------------------------------------------------------------------
# Real exchanges from the lab captures.


class Lab:
    """The lab frames used as material (loaded once)."""

    def __init__(self) -> None:
        psk = read_lab("ikev2-psk")
        self.v2_ok = psk                      # IKE_SA_INIT, IKE_AUTH, 6 ESP-in-UDP: moon initiates
        self.v2_psk_mismatch = read_lab("ikev2-psk-mismatch")[:4]  # IKE_AUTH answered by AUTHENTICATION_FAILED
        rekey = read_lab("ikev2-rekey")
        self.v2_info = [p for p in rekey if p.ike and p.ike[18] == 37][:2]  # moon's liveness check, answered
        delete = read_lab("ikev2-delete")
        self.v2_delete = [p for p in delete if p.ike and p.ike[18] == 37]  # sun deletes, moon answers
        spi = psk[0].ike
        assert spi is not None
        self.spi_i, self.spi_r = spi[0:8], psk[1].ike[8:16]  # type: ignore[index]
        for packet in self.v2_info + self.v2_delete:
            assert packet.ike is not None and packet.src in (MOON, SUN)


def tunnel_up(cap: Capture, lab: Lab, t0: int, spi_i: bytes | None = None, spi_r: bytes | None = None,
              esp: bool = True, moon: str = MOON, sun: str = SUN) -> int:
    """The healthy IKEv2 negotiation (and its ESP) starting at t0; returns the time of its last frame."""
    last = t0
    for packet in lab.v2_ok:
        if packet.ike is None and not esp:
            continue
        payload = None if packet.ike is None else with_ike(packet, rewrite_ike(packet.ike, spi_i, spi_r))
        src, dst = (moon, sun) if packet.src == MOON else (sun, moon)
        cap.replay(t0 + packet.time_us, packet, src, dst, payload)
        last = t0 + packet.time_us
    return last


def liveness(cap: Capture, lab: Lab, t: int, message_id: int, answered: bool = True) -> None:
    """moon's INFORMATIONAL request (empty, encrypted) on the healthy SA, and sun's answer 250 us later."""
    for packet in lab.v2_info[:2 if answered else 1]:
        assert packet.ike is not None
        ike = rewrite_ike(packet.ike, lab.spi_i, lab.spi_r, message_id)
        cap.replay(t + (250 if packet.src == SUN else 0), packet, payload=with_ike(packet, ike))


# --------------------------------------------------------------------------------------------------------------
# The scenarios. Each returns {file name: bytes} and the label.

Label = dict[str, object]
Files = dict[str, bytes]


def _tunnel(peers: tuple[str, str], outcome: str, code: str, **more: object) -> dict[str, object]:
    return {"peers": sorted(peers), "outcome": outcome, "code": code, **more}


def reflection(lab: Lab) -> tuple[Files, Label]:
    rng = random.Random(0x11_0001)
    victim = "2001:db8:7::77"
    cookie = bytes.fromhex("5eed0fca11ed0b0b")
    cap = Capture(link=LINK_RAW)
    responders = []
    for n in range(2000):
        responder = f"2001:db8:{0x100 + n // 200:x}:{n % 200 + 1:x}::1"
        responders.append(responder)
        t = DAY1 * 1_000_000 + int(n * 10_000 + rng.random() * 9_000)  # 2000 answers over 20 s
        transform = V1_TRANSFORMS[rng.getrandbits(8) % len(V1_TRANSFORMS)]
        cap.udp(t, responder, victim, 500, 500, v1_main_mode_2(cookie, rng.getrandbits(64).to_bytes(8, "big"),
                                                              transform))
    label: Label = {
        "description": "An IKEv1 reflection attack seen at the victim: 2000 responders (distinct IPv6 addresses) "
                       "each answer a spoofed main-mode request with main-mode message 2, every answer carrying "
                       "the same initiator cookie and sent to one victim address; no request is seen.",
        "wire": {"frames": 2000, "ike_messages": 2000, "ikev1": 2000, "zero_rspi": 0,
                 "distinct_sources": 2000, "distinct_destinations": 1, "distinct_spi_i": 1,
                 "exchanges": {"IDENTITY_PROTECTION": 2000}, "link_type": "raw IP (101)"},
        "expected": {"findings": {"reflection": 1}, "tunnels": [], "exit_status": 0,
                     "finding_detail": {"victim": victim, "spi_i": cookie.hex(), "responders": 2000},
                     "notes": "No tunnel: answers without requests from 2000 addresses are one attack, not 2000 "
                              "(or one) negotiations."},
    }
    return {"reflection.pcap": cap.to_bytes()}, label


def scan_sweep(lab: Lab) -> tuple[Files, Label]:
    rng = random.Random(0x11_0002)
    scanner = "203.0.113.66"
    targets = [f"198.51.100.{i}" for i in range(1, 255)] + [f"192.0.2.{i}" for i in range(101, 147)]
    assert len(targets) == 300
    cap = Capture()
    t0 = DAY1 * 1_000_000 + 3_600_000_000
    answers_mm2 = {17: 1_800, 88: 2_400, 140: 950, 201: 3_100, 263: 1_200}  # target index -> reply delay (us)
    answers_np = {40: 1_500, 129: 2_200, 250: 1_700}
    offer = [AES128_SHA1_MODP2048, (5, 0, 2, 1, 2), (5, 0, 1, 1, 2), (1, 0, 1, 1, 1)]
    for n, target in enumerate(targets):
        t = t0 + n * 12_000  # ike-scan's default pacing is of this order
        cookie = rng.getrandbits(64).to_bytes(8, "big")
        cap.udp(t, scanner, target, 500, 500, v1_main_mode_1(cookie, offer))
        if n in answers_mm2:
            cap.udp(t + answers_mm2[n], target, scanner, 500, 500,
                    v1_main_mode_2(cookie, rng.getrandbits(64).to_bytes(8, "big"), offer[0]))
        elif n in answers_np:
            cap.udp(t + answers_np[n], target, scanner, 500, 500,
                    v1_no_proposal_chosen(cookie, rng.getrandbits(64).to_bytes(8, "big"), rng.getrandbits(32)))
    label: Label = {
        "description": "An ike-scan style sweep: one IKEv1 main-mode probe (4 transforms, a fresh cookie each) from "
                       "203.0.113.66 to each of 300 targets, 12 ms apart; 5 targets answer with main-mode message "
                       "2, 3 with NO_PROPOSAL_CHOSEN (unencrypted Informational), the other 292 are silent.",
        "wire": {"frames": 308, "ike_messages": 308, "ikev1": 308, "zero_rspi": 300, "distinct_sources": 9,
                 "distinct_destinations": 301, "distinct_spi_i": 300,
                 "exchanges": {"IDENTITY_PROTECTION": 305, "INFORMATIONAL": 3},
                 "notifies": {"NO_PROPOSAL_CHOSEN": 3}},
        "expected": {"findings": {"scan": 1}, "tunnels": [], "exit_status": 0,
                     "finding_detail": {"source": scanner, "targets": 300, "answered": 8},
                     "notes": "A careful tool headlines the scan and no tunnel: no NoResponse for the 292 silent "
                              "targets, no ProposalMismatch for the 3 refusals (probes, not tunnels). If it keeps "
                              "per-target detail it belongs inside the scan finding."},
    }
    return {"scan-sweep.pcap": cap.to_bytes()}, label


def scan_transforms(lab: Lab) -> tuple[Files, Label]:
    rng = random.Random(0x11_0003)
    scanner, target = "203.0.113.66", "198.51.100.10"
    cap = Capture()
    t0 = DAY1 * 1_000_000 + 7_200_000_000
    accepted = V1_TRANSFORMS.index(AES128_SHA1_MODP2048)
    for n, transform in enumerate(V1_TRANSFORMS):
        t = t0 + n * 20_000
        cookie = rng.getrandbits(64).to_bytes(8, "big")
        cap.udp(t, scanner, target, 500, 500, v1_main_mode_1(cookie, [transform]))
        responder_cookie = rng.getrandbits(64).to_bytes(8, "big")
        if n == accepted:
            reply = v1_main_mode_2(cookie, responder_cookie, transform)
        else:
            reply = v1_no_proposal_chosen(cookie, responder_cookie, rng.getrandbits(32))
        cap.udp(t + 900 + rng.getrandbits(9), target, scanner, 500, 500, reply)
    count = len(V1_TRANSFORMS)
    label: Label = {
        "description": f"ike-scan --trans style: {count} IKEv1 main-mode probes from 203.0.113.66 to one target, "
                       "each with one different transform (encryption x hash x DH group, PSK) and its own cookie, "
                       "20 ms apart; the target answers message 2 to AES-128/SHA1/MODP2048 and "
                       "NO_PROPOSAL_CHOSEN to every other.",
        "wire": {"frames": 2 * count, "ike_messages": 2 * count, "ikev1": 2 * count, "zero_rspi": count,
                 "distinct_sources": 2, "distinct_spi_i": count,
                 "exchanges": {"IDENTITY_PROTECTION": count + 1, "INFORMATIONAL": count - 1},
                 "notifies": {"NO_PROPOSAL_CHOSEN": count - 1}},
        "expected": {"findings": {"scan": 1}, "tunnels": [], "exit_status": 0,
                     "finding_detail": {"source": scanner, "target": target, "transforms": count,
                                        "accepted": "AES-CBC-128/SHA1/PSK/MODP2048"},
                     "notes": f"A careful tool says: a transform scan of {target}, {count} offers, one accepted; "
                              f"not {count - 1} ProposalMismatch tunnels. The accepted probe goes no further than "
                              "message 2 (the scanner stops): at most an incomplete attempt inside the finding, "
                              "never a failure."},
    }
    return {"scan-transforms.pcap": cap.to_bytes()}, label


def churn(lab: Lab) -> tuple[Files, Label]:
    rng = random.Random(0x11_0004)
    cap = Capture()
    t0 = DAY1 * 1_000_000
    count = 40
    for n in range(count):  # every 3 s (+- 0.2 s) for 120 s
        t = t0 + n * 3_000_000 + rng.randrange(-200_000, 200_000)
        tunnel_up(cap, lab, max(t, t0), rng.getrandbits(64).to_bytes(8, "big"),
                  rng.getrandbits(64).to_bytes(8, "big"), esp=False)
    label: Label = {
        "description": "moon (192.0.2.1) opens a new IKEv2 SA with sun every 3 s for 2 minutes: 40 times "
                       "IKE_SA_INIT and IKE_AUTH, both answered (the lab's healthy exchange with fresh SPIs), "
                       "then nothing: no ESP, no INFORMATIONAL, no Delete.",
        "wire": {"frames": 4 * count, "ike_messages": 4 * count, "ikev2": 4 * count, "ikev2_requests": 2 * count,
                 "ikev2_responses": 2 * count, "distinct_spi_i": count, "esp_frames": 0,
                 "exchanges": {"IKE_SA_INIT": 2 * count, "IKE_AUTH": 2 * count}},
        "expected": {"findings": {"churn": 1},
                     "tunnels": [_tunnel((MOON, SUN), "established", "Established", ike_sas=count)],
                     "exit_status": 0,
                     "finding_detail": {"peer": MOON, "ike_sas": count, "interval_s": 3, "used": 0},
                     "notes": "Each SA is established (authenticated both ways), none is used; the churn finding "
                              "says so. The NAT_DETECTION hashes are the lab's (charon fakes NAT there)."},
    }
    return {"churn.pcap": cap.to_bytes()}, label


def flood_small(lab: Lab) -> tuple[Files, Label]:
    rng = random.Random(0x11_0005)
    cap = Capture()
    t0 = DAY1 * 1_000_000
    requests = 10_000  # 20,000 do not fit in 300 kB even gzip-compressed (8 random SPI octets each)
    key_exchange, nonce = rng.getrandbits(256).to_bytes(32, "big"), rng.getrandbits(256).to_bytes(32, "big")
    sources = ([f"198.51.100.{i}" for i in range(1, 255)] + [f"203.0.113.{i}" for i in range(1, 255)]
               + [f"192.0.2.{i}" for i in range(3, 255)])
    for n in range(requests):  # 10,000 in 10 s; one fixed KE and nonce, as a flooding tool replays one template
        source = sources[rng.getrandbits(16) % len(sources)]
        spi = rng.getrandbits(64).to_bytes(8, "big")
        cap.udp(t0 + n * 1_000, source, SUN, 500, 500, v2_sa_init_request(spi, key_exchange, nonce), crafted=True)
    tunnel_up(cap, lab, t0 + 5_000_000)
    label: Label = {
        "description": "A burst of 10,000 IKEv2 IKE_SA_INIT requests in 10 s towards sun (192.0.2.2) from 760 "
                       "documentation addresses with random SPIs (one key share and nonce reused, as a flood tool "
                       "does), never answered; at 5 s moon (192.0.2.1) negotiates a real tunnel with sun "
                       "(the lab's healthy IKE_SA_INIT + IKE_AUTH, then ESP both ways). gzip-compressed.",
        "wire": {"frames": requests + 10, "ike_messages": requests + 4, "ikev2": requests + 4,
                 "ikev2_requests": requests + 2, "ikev2_responses": 2, "esp_frames": 6, "distinct_spi_i": requests + 1,
                 "distinct_destinations": 2,
                 "exchanges": {"IKE_SA_INIT": requests + 2, "IKE_AUTH": 2}},
        "expected": {"findings": {"flood": 1},
                     "tunnels": [_tunnel((MOON, SUN), "established", "Established")],
                     "exit_status": 0,
                     "max_verdicts": 10,
                     "finding_detail": {"target": SUN, "half_open": requests, "seconds": 10, "sources": len(sources)},
                     "notes": "Bounded output: one flood finding (with rate, count, top sources), the real tunnel's "
                              "verdict, not 10,000 NoResponse verdicts."},
    }
    return {"flood-small.pcap.gz": gzip.compress(cap.to_bytes(), compresslevel=9, mtime=0)}, label


def dns_on_500(lab: Lab) -> tuple[Files, Label]:
    rng = random.Random(0x11_0006)
    cap = Capture()
    t0 = DAY1 * 1_000_000
    tunnel_up(cap, lab, t0)
    name = b"\x03www\x07example\x03com\x00"
    dns = (struct.pack(">HHHHHH", 0x1A2B, 0x8180, 1, 1, 0, 0) + name + struct.pack(">HH", 1, 1)
           + b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 300, 4) + bytes([192, 0, 2, 80]))
    ntp = bytes([0x24, 2, 6, 0xEC]) + bytes(8) + b"GPS\0" + rng.getrandbits(256).to_bytes(32, "big")
    junk = rng.getrandbits(8 * 64).to_bytes(64, "big")
    bad_length = v1_main_mode_1(rng.getrandbits(64).to_bytes(8, "big"), [AES128_SHA1_MODP2048])
    bad_length = bad_length[:24] + struct.pack(">I", 4000) + bad_length[28:]
    bad_version = bytearray(v1_main_mode_1(rng.getrandbits(64).to_bytes(8, "big"), [AES128_SHA1_MODP2048]))
    bad_version[17] = 0x30
    marker_junk = bytes(4) + rng.getrandbits(8 * 40).to_bytes(40, "big")
    noise = [  # (offset us, src, dst, sport, dport, payload, what)
        (1_000_000, "198.51.100.53", SUN, 53, 500, dns, "DNS reply (A record) sent to UDP 500"),
        (1_500_000, "203.0.113.123", MOON, 123, 500, ntp, "NTP server reply sent to UDP 500"),
        (2_000_000, "203.0.113.9", SUN, 40000, 500, junk, "64 random bytes to UDP 500"),
        (2_500_000, "203.0.113.9", SUN, 40001, 500, bad_length,
         "an IKEv1 main-mode header whose length field says 4000 octets (datagram shorter)"),
        (3_000_000, "203.0.113.9", SUN, 40002, 500, bytes(bad_version),
         "an ISAKMP-looking message with version 3.0"),
        (3_500_000, "203.0.113.9", SUN, 40003, 4500, marker_junk, "non-ESP marker then 40 random bytes to UDP 4500"),
    ]
    for offset, src, dst, sport, dport, payload, _ in noise:
        cap.udp(t0 + offset, src, dst, sport, dport, payload)
    label: Label = {
        "description": "The lab's healthy IKEv2 negotiation (moon-sun, with ESP), then six datagrams on IKE ports "
                       "that are not IKE: " + "; ".join(what for *_, what in noise) + ".",
        "wire": {"frames": 10 + len(noise), "ike_messages": 4, "ikev2": 4, "esp_frames": 6,
                 "not_ike_on_ike_ports": len(noise),
                 "not_ike_frames": [11 + n for n in range(len(noise))],
                 "exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2}},
        "expected": {"findings": {}, "decode_errors": len(noise),
                     "tunnels": [_tunnel((MOON, SUN), "established", "Established")], "exit_status": 0,
                     "notes": "Six counted decode errors; none is a message, an SA or a tunnel (no tunnel with "
                              "198.51.100.53, 203.0.113.123 or 203.0.113.9)."},
    }
    return {"dns-on-500.pcap": cap.to_bytes()}, label


def _long_lived(lab: Lab) -> Capture:
    cap = Capture()
    t0 = DAY1 * 1_000_000
    tunnel_up(cap, lab, t0)
    for n in range(13):  # exchanges 3..15: answered liveness checks every 10 s
        liveness(cap, lab, t0 + (n + 1) * 10_000_000, message_id=2 + n)
    liveness(cap, lab, t0 + 14 * 10_000_000, message_id=15, answered=False)
    return cap


def cut_mid_exchange(lab: Lab) -> tuple[tuple[Files, Label], tuple[Files, Label]]:
    cap = _long_lived(lab)
    wire = {"frames": 37, "ike_messages": 31, "ikev2": 31, "ikev2_requests": 16, "ikev2_responses": 15,
            "esp_frames": 6,
            "exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2, "INFORMATIONAL": 27}}
    cut: Label = {
        "description": "A healthy IKEv2 SA (the lab's, with ESP) that then completes 13 INFORMATIONAL liveness "
                       "checks, one every 10 s (15 completed exchanges in all); the capture ends 10 s later right "
                       "after moon's next INFORMATIONAL request (message id 15, the last frame), unanswered "
                       "because the capture was stopped.",
        "wire": wire,
        "expected": {"findings": {},
                     "tunnels": [_tunnel((MOON, SUN), "established", "Established",
                                         last_exchange="incomplete (cut by the end of the capture)")],
                     "exit_status": 0,
                     "notes": "No timeout verdict, no DpdTimeout, no 'open UDP 500': the sender had no time to "
                              "give up inside the capture."},
    }
    frame = cap.ordered()[-1][1]
    keep = 30
    truncated: Label = {
        "description": "The same capture as cut-mid-exchange.pcap, but the writer was killed inside the last "
                       f"record: its header says {len(frame)} octets, the file holds the first {keep}.",
        "wire": {**wire, "frames": 36, "ike_messages": 30, "ikev2": 30, "ikev2_requests": 15,
                 "truncated_last_record": True,
                 "exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2, "INFORMATIONAL": 26},
                 "last_record": {"declared_octets": len(frame), "present_octets": keep}},
        "expected": {"findings": {"truncated_capture": 1},
                     "tunnels": [_tunnel((MOON, SUN), "established", "Established")], "exit_status": 0,
                     "notes": "The truncated record is said once (summary and finding) and never read as a network "
                              "event; the 15 exchanges before it are complete."},
    }
    return ({"cut-mid-exchange.pcap": cap.to_bytes()}, cut), \
        ({"truncated-last-record.pcap": cap.to_bytes(truncate_last_to=keep)}, truncated)


def two_days(lab: Lab) -> tuple[Files, Label]:
    day_a, day_b = Capture(), Capture()
    tunnel_up(day_a, lab, DAY1 * 1_000_000)
    t1 = (DAY1 + 86_400 + 5_400) * 1_000_000
    for packet in lab.v2_psk_mismatch:
        day_b.replay(t1 + packet.time_us, packet)
    label: Label = {
        "description": "The same two peers on two days, one file each: two-days-a.pcap (2026-03-02 09:00 UTC) holds "
                       "a healthy IKEv2 negotiation with ESP; two-days-b.pcap (the next day, 10:30 UTC) holds the "
                       "lab's PSK mismatch (IKE_AUTH answered by a short encrypted AUTHENTICATION_FAILED).",
        "wire": {"two-days-a.pcap": {"frames": 10, "ike_messages": 4, "esp_frames": 6},
                 "two-days-b.pcap": {"frames": 4, "ike_messages": 4, "esp_frames": 0}},
        "expected": {"files": {
            "two-days-a.pcap": {"tunnels": [_tunnel((MOON, SUN), "established", "Established")], "exit_status": 0},
            "two-days-b.pcap": {"tunnels": [_tunnel((MOON, SUN), "failed", "PskMismatch")], "exit_status": 1}},
            "together": {"exit_status": 1,
                         "notes": "Run together (without --merge) each file keeps its own clock and verdict: "
                                  "Established for a, PskMismatch for b; no timeout from the day between them."}},
    }
    return {"two-days-a.pcap": day_a.to_bytes(), "two-days-b.pcap": day_b.to_bytes()}, label


def spi_reuse(lab: Lab) -> tuple[Files, Label]:
    cap = Capture()
    t0 = DAY1 * 1_000_000
    response = lab.v2_ok[1]
    a_init, a_resp, b_init, b_resp = "198.51.100.10", "198.51.100.20", "203.0.113.10", "203.0.113.20"
    assert response.ike is not None
    cap.replay(t0, response, a_resp, a_init, with_ike(response, rewrite_ike(response.ike, spi_r=bytes.fromhex(
        "a1a1a1a1a1a1a1a1"))))
    tunnel_up(cap, lab, t0 + 3_600_000_000, moon=b_init, sun=b_resp)
    label: Label = {
        "description": "A lone IKEv2 IKE_SA_INIT response from 198.51.100.20 to 198.51.100.10 (no request seen); "
                       "an hour later a full healthy negotiation with ESP between 203.0.113.10 and 203.0.113.20 "
                       f"whose initiator SPI is the same ({lab.spi_i.hex()}), with another responder SPI.",
        "wire": {"frames": 11, "ike_messages": 5, "ikev2": 5, "esp_frames": 6, "distinct_spi_i": 1,
                 "ikev2_requests": 2, "ikev2_responses": 3, "distinct_sources": 3,
                 "exchanges": {"IKE_SA_INIT": 3, "IKE_AUTH": 2}},
        "expected": {"findings": {},
                     "tunnels": [_tunnel((b_init, b_resp), "established", "Established")],
                     "orphans": [{"peers": sorted((a_init, a_resp)), "what": "IKE_SA_INIT response without request"}],
                     "exit_status": 0,
                     "notes": "Two SAs, never stitched together: the orphan response is its own (at most an "
                              "incomplete attempt, never established, never 'answered in 3600 s'); the second pair "
                              "gets its own Established verdict."},
    }
    return {"spi-reuse.pcap": cap.to_bytes()}, label


def rotated(lab: Lab) -> tuple[Files, Label]:
    cap = Capture()
    t0 = DAY1 * 1_000_000
    tunnel_up(cap, lab, t0)
    for n in range(6):
        liveness(cap, lab, t0 + (n + 1) * 20_000_000, message_id=2 + n)
    t_delete = t0 + 150_000_000
    for packet in lab.v2_delete:
        assert packet.ike is not None
        cap.replay(t_delete + packet.time_us - lab.v2_delete[0].time_us, packet,
                   payload=with_ike(packet, rewrite_ike(packet.ike, lab.spi_i, lab.spi_r)))
    frames = cap.ordered()
    cuts = [3, 3 + 13]  # file 1: IKE_SA_INIT both ways + IKE_AUTH request; the answer opens file 2
    parts = [frames[:cuts[0]], frames[cuts[0]:cuts[1]], frames[cuts[1]:]]
    files = {}
    for n, part in enumerate(parts, start=1):
        piece = Capture(frames=list(part))
        files[f"rotated-{n}.pcap"] = piece.to_bytes()
    label: Label = {
        "description": "One tunnel's life written as `tcpdump -C` rotates: rotated-1.pcap ends after moon's "
                       "IKE_AUTH request, rotated-2.pcap opens with sun's IKE_AUTH answer (the negotiation spans "
                       "the cut), then ESP and liveness checks; rotated-3.pcap holds the last checks and sun's "
                       "administrative Delete of the IKE SA (answered by moon).",
        "wire": {"rotated-1.pcap": {"frames": 3, "ike_messages": 3},
                 "rotated-2.pcap": {"frames": 13, "ike_messages": 7, "esp_frames": 6},
                 "rotated-3.pcap": {"frames": 8, "ike_messages": 8}},
        "expected": {
            "merged": {"tunnels": [_tunnel((MOON, SUN), "torn_down", "ReceiveDeleteNotify",
                                           closed_by=SUN, orderly=True)],
                       "exit_status": 0,
                       "notes": "With --merge: one IKE SA, established in file 2, 6 liveness checks, closed in order "
                                "by sun's Delete in file 3 (no 'fix')."},
            "separate": {"rotated-1.pcap": {"tunnels": [_tunnel((MOON, SUN), "incomplete", "NoExceptionFound")],
                                            "exit_status": 0,
                                            "notes": "IKE_AUTH request cut by the end of the file: incomplete, "
                                                     "no timeout."},
                         "rotated-2.pcap": {"notes": "an SA seen mid-life (first message an IKE_AUTH response): "
                                                     "never a new negotiation, never a failure", "exit_status": 0},
                         "rotated-3.pcap": {"notes": "an SA seen mid-life, then closed in order", "exit_status": 0}}},
    }
    return files, label


def vantage(lab: Lab) -> tuple[Files, Label]:
    """True time is moon's clock; one-way delay 0.3 s; sun's clock is 2 s ahead. moon's first IKE_AUTH request
    is lost on the way; charon retransmits it after 4 s."""
    delay, skew, retransmit = 300_000, 2_000_000, 4_000_000
    t0 = DAY1 * 1_000_000
    moon_cap, sun_cap = Capture(), Capture()
    clock = t0
    lost_frame = 0
    previous, sender = lab.v2_ok[0].time_us, MOON
    for packet in lab.v2_ok:
        gap = packet.time_us - previous
        previous = packet.time_us
        if packet.src != sender:
            gap += delay  # the other side answers once the packet has reached it
            sender = packet.src
        clock += gap
        if packet.ike is not None and packet.ike[18] == 35 and packet.src == MOON:
            moon_cap.replay(clock, packet)  # lost between moon and sun
            lost_frame = len(moon_cap.frames)
            clock += retransmit
        send, arrive = (moon_cap, sun_cap) if packet.src == MOON else (sun_cap, moon_cap)
        send.replay(clock + (skew if send is sun_cap else 0), packet)
        arrive.replay(clock + delay + (skew if arrive is sun_cap else 0), packet)
    label: Label = {
        "description": "The lab's healthy IKEv2 negotiation captured at both gateways. One-way delay 0.3 s; sun's "
                       "clock runs 2 s ahead of moon's (constant offset, no drift). moon's first IKE_AUTH request "
                       f"(vantage-moon.pcap frame {lost_frame}) never reaches sun; moon retransmits it 4 s later "
                       "and that copy arrives.",
        "wire": {"vantage-moon.pcap": {"frames": 11, "ike_messages": 5, "esp_frames": 6},
                 "vantage-sun.pcap": {"frames": 10, "ike_messages": 4, "esp_frames": 6},
                 "lost": {"file": "vantage-moon.pcap", "frame": lost_frame, "exchange": "IKE_AUTH",
                          "message_id": 1},
                 "clock_offset_sun_minus_moon_s": skew / 1e6, "one_way_delay_s": delay / 1e6},
        "expected": {"merged": {"tunnels": [_tunnel((MOON, SUN), "established", "Established")],
                                "findings": {"path_loss": 1}, "exit_status": 0,
                                "notes": "With --merge: every message but one seen at both points (two sightings); "
                                         f"moon's frame {lost_frame} left moon and never arrived at sun: path loss "
                                         "moon->sun, recovered by the retransmission."},
                     "separate": {"vantage-moon.pcap": {"tunnels": [_tunnel((MOON, SUN), "established", "Established")],
                                                        "exit_status": 0},
                                  "vantage-sun.pcap": {"tunnels": [_tunnel((MOON, SUN), "established", "Established")],
                                                       "exit_status": 0}}},
    }
    return {"vantage-moon.pcap": moon_cap.to_bytes(), "vantage-sun.pcap": sun_cap.to_bytes()}, label


Scenario = Callable[[Lab], tuple[Files, Label]]
SCENARIOS: dict[str, Scenario] = {
    "reflection": reflection, "scan-sweep": scan_sweep, "scan-transforms": scan_transforms, "churn": churn,
    "flood-small": flood_small, "dns-on-500": dns_on_500, "two-days": two_days, "spi-reuse": spi_reuse,
    "rotated": rotated, "vantage": vantage,
}
ALREADY_IN_LAB = {"orderly-delete-v1": "pcaps/ikev1-delete.pcap", "orderly-delete-v2": "pcaps/ikev2-delete.pcap"}


def build(names: list[str] | None = None) -> dict[str, tuple[Files, Label]]:
    """{label name: (files, label)} for the chosen scenarios (all by default)."""
    lab = Lab()
    built: dict[str, tuple[Files, Label]] = {}
    for name in names or [*SCENARIOS, "cut-mid-exchange"]:
        if name in ("cut-mid-exchange", "truncated-last-record"):
            cut, truncated = cut_mid_exchange(lab)
            built["cut-mid-exchange"], built["truncated-last-record"] = cut, truncated
        else:
            built[name] = SCENARIOS[name](lab)
    for name, (files, label) in built.items():
        full: Label = {"label_version": LABEL_VERSION, "scenario": name, "generated_by": GENERATOR,
                       "files": sorted(files), **label}
        built[name] = (files, full)
    return built


def write(out: Path, names: list[str] | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (files, label) in build(names).items():
        for file_name, data in files.items():
            (out / file_name).write_bytes(data)
            written.append(out / file_name)
        (out / f"{name}.json").write_text(json.dumps(label, indent=1) + "\n")
        written.append(out / f"{name}.json")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default pcaps/noise)")
    parser.add_argument("--only", nargs="+", choices=[*SCENARIOS, "cut-mid-exchange"], help="these scenarios only")
    args = parser.parse_args(argv)
    for path in write(args.out, args.only):
        print(f"{path}: {path.stat().st_size:,} octets", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
