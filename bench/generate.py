#!/usr/bin/env python3
"""Write the two benchmark captures (classic pcap, Ethernet) into bench/out/, deterministically.

* ``esp-heavy.pcap`` - 2,000,000 frames: about 1 % IKE, the rest ESP (IPv4 and IPv6), ESP-in-UDP on 4500,
  NAT keepalives, TCP, DNS, ICMP and ARP, across thousands of SPIs and host pairs.
* ``ike-only.pcap``  - 200,000 IKE messages, IKEv1 and IKEv2, on 500 and 4500 (non-ESP marker), tens of
  thousands of SPI pairs.
* ``ike-long.pcap``  - IKE only, long-lived: 6,000 IKE SAs (one per host pair) come up in the first 20 s and stay
  up for the whole 520 s, each with a liveness exchange (IKEv2 empty INFORMATIONAL, IKEv1 R-U-THERE) every
  10 to 30 s; about 300,000 IKE messages. ``--scale`` scales the number of SAs, not the duration.
* ``flood.pcap``     - 1,000,000 IKEv2 IKE_SA_INIT requests in 50 s towards one gateway (192.0.2.2) from random
  sources of 198.18.0.0/15 (the benchmarking range: 131,072 addresses) with random SPIs, never answered; at
  25 s the lab's healthy negotiation (pcaps/ikev2-psk.pcap: IKE_SA_INIT, IKE_AUTH, ESP) runs between
  192.0.2.1 and 192.0.2.2, retimed into the flood. ``--scale`` scales the number of requests.

The IKE message bodies are real messages taken from the external corpus (``shared/corpus/external``; see
TEMPLATE_SETS): each generated IKE SA replays one real exchange sequence with its own SPIs, IKEv1 message ids,
addresses and ports. Some IKE SAs are 802.1Q-tagged (exactly one is QinQ), some run over IPv6, some sit behind a
NAT whose mapped port is neither 500 nor 4500 (1701, 3478, 5060, 53, ephemeral ports...), and some requests
are retransmitted (the same IKE bytes again later). Every file gets ``<name>.expected.json`` with the truth:
how many IKE messages, and how many of them are VLAN-tagged, IPv6, on an odd port, retransmitted...

Same arguments -> same bytes (fixed seeds, Python's Mersenne Twister through getrandbits/random only).
``--scale 0.25`` writes ``esp-heavy-scale0.25.pcap`` and ``ike-only-scale0.25.pcap`` (same traffic mix,
a quarter of the frames).

Usage: .venv/bin/python bench/generate.py [--scale S] [--out DIR] [--only esp-heavy|ike-only|ike-long|flood]
       [--sha256]
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import json
import os
import random
import struct
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "external"
DEFAULT_OUT = HERE / "out"
GENERATOR_VERSION = 1

ESP_HEAVY_FRAMES = 2_000_000
IKE_ONLY_MESSAGES = 200_000
SEED_ESP_HEAVY = 0x1CE5_0001
SEED_IKE_ONLY = 0x1CE5_0002
SEED_IKE_LONG = 0x1CE5_0003
SEED_FLOOD = 0x1CE5_0004
KINDS = ("esp-heavy", "ike-only", "ike-long", "flood")
DEFAULT_KINDS = ("esp-heavy", "ike-only")  # what a bare `generate.py` writes; the others on request (--only)
LAB = REPO / "pcaps"

# ike-long: concurrent long-lived IKE SAs
IKE_LONG_SAS = 6_000
IKE_LONG_SECONDS = 520
IKE_LONG_RAMP_US = 20_000_000             # every SA starts its negotiation within the first 20 s
IKE_LONG_INTERVALS_S = (10, 15, 20, 30)   # liveness (DPD) interval of each SA, drawn once per SA
# Liveness exchanges, real encrypted messages of the lab (their SPIs and message ids rewritten per SA):
# (capture, request frame, response frame) per IKE version.
LIVENESS = {2: ("ikev2-rekey.pcap", 13, 14), 1: ("ikev1-dpd-ok.pcap", 16, 17)}

# flood: unanswered IKE_SA_INIT requests from random sources, one real tunnel in the middle
FLOOD_REQUESTS = 1_000_000
FLOOD_SECONDS = 50
FLOOD_TARGET = bytes([192, 0, 2, 2])
FLOOD_REAL_TUNNEL = "ikev2-psk.pcap"      # moon 192.0.2.1 initiates towards sun 192.0.2.2
START_EPOCH = 1_700_000_000  # 2023-11-14 22:13:20 UTC

# Real IKE exchanges replayed per generated IKE SA: (name, corpus file, frame numbers as tshark numbers them,
# weight). The sender of the first listed frame is the initiator. A set whose frames use UDP 4500 "floats"
# and is the only kind given to SAs behind a NAT.
TEMPLATE_SETS: list[tuple[str, str, list[int], int]] = [
    # IKEv2
    ("v2-cookie-auth-child", "tcpdump/ikev2four.pcap", [1, 2, 3, 4, 5, 6, 7, 9], 10),
    ("v2-auth-info-child", "arkime/IKEv2.pcap", [38, 39, 40, 41, 42, 43, 44, 45, 72, 73], 12),
    ("v2-auth-child-rinfo", "arkime/IKEv2.pcap", [2, 3, 4, 5, 10, 11, 32, 33], 8),
    ("v2-4500-info-dpd", "wireshark-wiki/ipsec_ikev2+esp_aes-gcm_aes-ctr_aes-cbc/capture.pcapng",
     [1, 2, 3, 4, 13, 14, 15, 16, 17, 18], 8),
    ("v2-natt-fragmented-auth", "zeek-plugin-ikev2/ikev2.pcap", [1, 2, 3, 4, 5, 6, 7], 6),
    ("v2-natt-cookie-eap", "ndpi/ipsec_isakmp_esp.pcap", [24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 42], 6),
    # IKEv1
    ("v1-main-quick", "suricata-verify/ikev1-isakmp-main-mode.pcap", list(range(1, 10)), 10),
    ("v1-main-quick-vids", "tcpdump/ISAKMP_sa_setup.pcap", list(range(1, 10)), 6),
    ("v1-main-quick-info", "wireshark-wiki/attachment_ikev1_main_mode.pcap", list(range(1, 13)), 6),
    ("v1-main-two-quick", "arkime/IKEv1.pcap", list(range(2, 14)), 5),
    ("v1-main-certs-quick", "zeek-spicy-ipsec/ikev1-certs.pcap", list(range(1, 11)), 4),
    ("v1-natt-main-quick-info", "tcpdump/isakmp4500.pcap", [3, 4, 5, 6, 7, 8, 9, 10, 11, 15, 16, 20, 21, 30, 35],
     8),
    ("v1-aggressive-quick", "zeek-spicy-ipsec/ipsec-ikev1-isakmp-aggressive-mode.pcap", list(range(1, 7)), 5),
]

# Ports a NAT may map the initiator's 4500 (and sometimes 500) to. Some belong to other Wireshark dissectors.
NAT_ODD_PORTS = [1701, 3478, 5060, 53, 123, 1194, 10500, 14500]
# Odd ports that tshark 4.0 decodes with their own dissector instead of ISAKMP: it tries the lower port of the
# pair first, and the DNS, NTP and OpenVPN dissectors accept the bytes (L2TP and STUN reject them, 5060 is above
# 4500). Measured with `bench/generate.py --probe-tshark`; re-run it after a tshark upgrade.
TSHARK_SHADOW_PORTS = frozenset({53, 123, 1194})

# --------------------------------------------------------------------------------------------------------------
# Reading the templates: a small pcap / pcapng reader, enough for the corpus files.


def _frames(path: Path) -> Iterator[tuple[int, bytes]]:
    """(link type, frame bytes) for every record, in file order (record n is tshark's frame n)."""
    data = path.read_bytes()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = "<" if magic[0] in (0xD4, 0x4D) else ">"
        linktype = struct.unpack_from(end + "I", data, 20)[0] & 0x0FFFFFFF
        offset = 24
        while offset + 16 <= len(data):
            caplen = struct.unpack_from(end + "I", data, offset + 8)[0]
            yield linktype, data[offset + 16:offset + 16 + caplen]
            offset += 16 + caplen
    elif magic == b"\x0a\x0d\x0d\x0a":
        end, offset, linktypes = "<", 0, []
        while offset + 12 <= len(data):
            if data[offset:offset + 4] == b"\x0a\x0d\x0d\x0a":
                end = "<" if data[offset + 8:offset + 12] == b"\x4d\x3c\x2b\x1a" else ">"
                linktypes = []
            btype, blen = struct.unpack_from(end + "II", data, offset)
            if btype == 1:
                linktypes.append(struct.unpack_from(end + "H", data, offset + 8)[0])
            elif btype == 6:
                iface, _, _, caplen = struct.unpack_from(end + "IIII", data, offset + 8)
                yield linktypes[iface], data[offset + 28:offset + 28 + caplen]
            elif btype == 3:
                yield linktypes[0], data[offset + 12:offset + blen - 4]
            offset += blen
    else:
        raise ValueError(f"{path}: not a pcap or pcapng file")


@dataclass
class Datagram:
    src: bytes
    dst: bytes
    sport: int
    dport: int
    payload: bytes


def _udp_of(linktype: int, frame: bytes) -> Datagram | None:
    if linktype == 1:  # Ethernet, maybe VLAN-tagged
        offset, ethertype = 14, struct.unpack_from(">H", frame, 12)[0]
        while ethertype in (0x8100, 0x88A8):
            ethertype = struct.unpack_from(">H", frame, offset + 2)[0]
            offset += 4
    elif linktype == 0:  # BSD loopback: address family in host order
        family = struct.unpack_from("<I", frame)[0]
        family = family if family < 256 else struct.unpack_from(">I", frame)[0]
        offset, ethertype = 4, (0x0800 if family == 2 else 0x86DD)
    elif linktype in (12, 101):
        offset, ethertype = 0, (0x0800 if frame[0] >> 4 == 4 else 0x86DD)
    elif linktype == 113:
        offset, ethertype = 16, struct.unpack_from(">H", frame, 14)[0]
    else:
        return None
    if ethertype == 0x0800:
        ihl = (frame[offset] & 0x0F) * 4
        total, frag, proto = struct.unpack_from(">H2xH1xB", frame, offset + 2)
        if proto != 17 or frag & 0x3FFF:
            return None
        src, dst = frame[offset + 12:offset + 16], frame[offset + 16:offset + 20]
        udp = frame[offset + ihl:offset + total]
    elif ethertype == 0x86DD:
        if frame[offset + 6] != 17:
            return None
        src, dst = frame[offset + 8:offset + 24], frame[offset + 24:offset + 40]
        udp = frame[offset + 40:]
    else:
        return None
    sport, dport, length = struct.unpack_from(">HHH", udp)
    return Datagram(src, dst, sport, dport, udp[8:length])


@dataclass
class TemplateMessage:
    ike: bytes           # one whole IKE message (no non-ESP marker)
    from_initiator: bool
    on_4500: bool        # sent on the NAT-T port, with the non-ESP marker
    version: int         # 1 or 2
    exchange: int
    rspi_zero: bool      # responder SPI is zero in the original (first request, cookie reply...)
    message_id: int


@dataclass
class TemplateSet:
    name: str
    messages: list[TemplateMessage]
    weight: int
    floats: bool         # uses UDP 4500 at some point

    @property
    def version(self) -> int:
        return self.messages[0].version


def load_templates(corpus: Path) -> list[TemplateSet]:
    """Read every frame named in TEMPLATE_SETS; each must carry exactly one whole IKE message."""
    cache: dict[str, list[Datagram | None]] = {}
    sets = []
    for name, relpath, frame_numbers, weight in TEMPLATE_SETS:
        if relpath not in cache:
            cache[relpath] = [_udp_of(lt, fr) for lt, fr in _frames(corpus / relpath)]
        datagrams = cache[relpath]
        messages: list[TemplateMessage] = []
        initiator = None
        for number in frame_numbers:
            dgram = datagrams[number - 1]
            if dgram is None:
                raise ValueError(f"{relpath} frame {number}: not a UDP datagram")
            on_4500 = 4500 in (dgram.sport, dgram.dport)
            ike = dgram.payload
            if on_4500:
                if ike[:4] != b"\0\0\0\0":
                    raise ValueError(f"{relpath} frame {number}: no non-ESP marker")
                ike = ike[4:]
            length = struct.unpack_from(">I", ike, 24)[0]
            if length != len(ike):
                raise ValueError(f"{relpath} frame {number}: IKE length {length} != datagram {len(ike)}")
            initiator = dgram.src if initiator is None else initiator
            messages.append(TemplateMessage(
                ike=ike, from_initiator=dgram.src == initiator, on_4500=on_4500, version=ike[17] >> 4,
                exchange=ike[18], rspi_zero=ike[8:16] == bytes(8),
                message_id=struct.unpack_from(">I", ike, 20)[0]))
        sets.append(TemplateSet(name, messages, weight, any(m.on_4500 for m in messages)))
    return sets


# --------------------------------------------------------------------------------------------------------------
# Checksums and headers.


def ones_sum(data: bytes) -> int:
    """Ones'-complement sum of the 16-bit big-endian words of data (end-around carry), in 0..0xFFFF.

    Uses 2**16 == 1 (mod 0xFFFF): the sum of the words is congruent to the whole number modulo 0xFFFF.
    """
    if len(data) & 1:
        data += b"\0"
    number = int.from_bytes(data, "big")
    rest = number % 0xFFFF
    return rest if rest or not number else 0xFFFF


def checksum(data: bytes) -> int:
    return ~ones_sum(data) & 0xFFFF


def ipv4_header(src: bytes, dst: bytes, proto: int, payload_len: int, ident: int, ttl: int = 64) -> bytes:
    header = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, ident, 0x4000, ttl, proto, 0, src, dst)
    return header[:10] + struct.pack(">H", checksum(header)) + header[12:]


def ipv6_header(src: bytes, dst: bytes, next_header: int, payload_len: int, hop_limit: int = 64) -> bytes:
    return struct.pack(">IHBB16s16s", 0x60000000, payload_len, next_header, hop_limit, src, dst)


def udp_datagram(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes, with_checksum: bool) -> bytes:
    length = 8 + len(payload)
    if not with_checksum:
        return struct.pack(">HHHH", sport, dport, length, 0) + payload
    pseudo = (src + dst + struct.pack(">BBH", 0, 17, length) if len(src) == 4
              else src + dst + struct.pack(">IxxxB", length, 17))
    value = checksum(pseudo + struct.pack(">HHHH", sport, dport, length, 0) + payload) or 0xFFFF
    return struct.pack(">HHHH", sport, dport, length, value) + payload


def ethernet(dst_mac: bytes, src_mac: bytes, ethertype: int, vlans: tuple[int, ...] = ()) -> bytes:
    """Ethernet header; vlans = () untagged, (vid,) 802.1Q, (outer, inner) 802.1ad QinQ."""
    header = dst_mac + src_mac
    if len(vlans) == 2:
        header += struct.pack(">HHHH", 0x88A8, vlans[0], 0x8100, vlans[1])
    elif len(vlans) == 1:
        header += struct.pack(">HH", 0x8100, vlans[0])
    return header + struct.pack(">H", ethertype)


PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)  # little-endian, microseconds, Ethernet
RECORD = struct.Struct("<IIII")

# --------------------------------------------------------------------------------------------------------------
# IKE traffic: many concurrent IKE SAs, each replaying one template set.


@dataclass
class HostPair:
    initiator: bytes
    responder: bytes
    i_mac: bytes
    r_mac: bytes
    vlans: tuple[int, ...]
    nat: bool


@dataclass
class IkeSa:
    tset: TemplateSet
    pair: HostPair
    spi_i: bytes
    spi_r: bytes
    message_ids: dict[int, int]
    i_port_500: int
    i_port_4500: int
    vlans: tuple[int, ...]
    queue: list[tuple[int, bool]]  # (template message index, is a retransmission)
    position: int = 0
    ip_id: int = 0
    sent: set[bytes] = field(default_factory=set)


class IkeTraffic:
    """An endless, deterministic stream of IKE frames; `stats` counts what has been emitted so far."""

    def __init__(self, templates: list[TemplateSet], seed: int, concurrent: int, pairs: int = 2048,
                 ipv6_share: float = 0.06, vlan_share: float = 0.07, nat_share: float = 0.16,
                 retransmit_share: float = 0.03) -> None:
        self.rng = random.Random(seed)
        self.templates = templates
        self.weights = [t.weight for t in templates]
        self.cumulative = []
        total = 0
        for weight in self.weights:
            total += weight
            self.cumulative.append(total)
        self.retransmit_share = retransmit_share
        self.pairs = [self._pair(i, ipv6_share, vlan_share, nat_share) for i in range(pairs)]
        self.concurrent = concurrent
        self.sas_started = 0
        self.stats: Counter[str] = Counter()
        self.odd_ports: Counter[int] = Counter()
        self.spi_pairs: set[bytes] = set()

    def _pair(self, index: int, ipv6_share: float, vlan_share: float, nat_share: float) -> HostPair:
        rng = self.rng
        if rng.random() < ipv6_share:
            initiator = bytes.fromhex("20010db8000a") + rng.getrandbits(80).to_bytes(10, "big")
            responder = bytes.fromhex("20010db8000b0000") + rng.getrandbits(64).to_bytes(8, "big")
        else:
            nat = rng.random() < nat_share
            first = (100, 64 + rng.getrandbits(6)) if nat else (10, rng.getrandbits(8))
            initiator = bytes([*first, rng.getrandbits(8), 1 + rng.getrandbits(7)])
            responder = bytes([203, 0, 113, 1 + rng.getrandbits(7)]) if index & 1 else \
                bytes([198, 51, 100, 1 + rng.getrandbits(7)])
        vlans = (2 + rng.getrandbits(11),) if rng.random() < vlan_share else ()
        nat = len(initiator) == 4 and initiator[0] == 100
        return HostPair(initiator, responder, b"\x02\x1c" + rng.getrandbits(32).to_bytes(4, "big"),
                        b"\x02\x5e" + rng.getrandbits(32).to_bytes(4, "big"), vlans, nat)

    def _new_sa(self, pair: HostPair | None = None) -> IkeSa:
        rng = self.rng
        pair = pair or self.pairs[rng.getrandbits(11) % len(self.pairs)]
        while True:
            pick = rng.random() * self.cumulative[-1]
            tset = next(t for t, c in zip(self.templates, self.cumulative) if pick < c)
            if tset.floats or not pair.nat:
                break
        if pair.nat:
            roll = rng.getrandbits(3)
            port_500 = NAT_ODD_PORTS[rng.getrandbits(3)] if roll == 0 else \
                (1024 + rng.getrandbits(15)) if roll == 1 else 49152 + rng.getrandbits(14)
            roll = rng.getrandbits(2)
            port_4500 = 49152 + rng.getrandbits(14) if roll == 0 else NAT_ODD_PORTS[rng.getrandbits(3)]
            if port_4500 == port_500:
                port_500 = 49152 + rng.getrandbits(14)
        else:
            port_500, port_4500 = 500, 4500
        vlans = (100, 200) if self.sas_started == 2 else pair.vlans  # exactly one QinQ IKE SA
        self.sas_started += 1
        queue = []
        for index, message in enumerate(tset.messages):
            queue.append((index, False))
            if message.from_initiator and rng.random() < self.retransmit_share:
                queue.append((index, True))
        message_ids = {m.message_id: (rng.getrandbits(32) or 1) for m in tset.messages
                       if m.version == 1 and m.message_id}
        return IkeSa(tset, pair, rng.getrandbits(64).to_bytes(8, "big"), rng.getrandbits(64).to_bytes(8, "big"),
                     message_ids, port_500, port_4500, vlans, queue, ip_id=rng.getrandbits(16))

    def frames(self) -> Iterator[tuple[bytes, str]]:
        rng = self.rng
        active = [self._new_sa() for _ in range(self.concurrent)]
        while True:
            slot = rng.getrandbits(16) % self.concurrent
            sa = active[slot]
            index, retransmission = sa.queue[sa.position]
            sa.position += 1
            if sa.position == len(sa.queue):
                active[slot] = self._new_sa()
            message = sa.tset.messages[index]
            ike = bytearray(message.ike)
            ike[0:8] = sa.spi_i
            if not message.rspi_zero:
                ike[8:16] = sa.spi_r
            if message.message_id in sa.message_ids:
                ike[20:24] = sa.message_ids[message.message_id].to_bytes(4, "big")
            yield self.emit(sa, message, bytes(ike), retransmission, first=sa.position == 1)

    def emit(self, sa: IkeSa, message: TemplateMessage, ike: bytes, retransmission: bool,
             first: bool) -> tuple[bytes, str]:
        """The frame carrying ike (one message of sa, shaped like message) and its truth row; counts it."""
        stats, odd_ports = self.stats, self.odd_ports
        pair = sa.pair
        i_port = sa.i_port_4500 if message.on_4500 else sa.i_port_500
        r_port = 4500 if message.on_4500 else 500
        if message.from_initiator:
            src, dst, sport, dport, src_mac, dst_mac = (pair.initiator, pair.responder, i_port, r_port,
                                                        pair.i_mac, pair.r_mac)
        else:
            src, dst, sport, dport, src_mac, dst_mac = (pair.responder, pair.initiator, r_port, i_port,
                                                        pair.r_mac, pair.i_mac)
        payload = b"\0\0\0\0" + ike if message.on_4500 else ike
        udp = udp_datagram(src, dst, sport, dport, payload, with_checksum=True)
        sa.ip_id = (sa.ip_id + 1) & 0xFFFF
        if len(src) == 4:
            ip = ipv4_header(src, dst, 17, len(udp), sa.ip_id)
            eth = ethernet(dst_mac, src_mac, 0x0800, sa.vlans)
        else:
            ip = ipv6_header(src, dst, 17, len(udp))
            eth = ethernet(dst_mac, src_mac, 0x86DD, sa.vlans)
        # the truth, counted as emitted
        stats["ike_messages"] += 1
        stats[f"ikev{message.version}"] += 1
        stats["udp_4500_non_esp_marker" if message.on_4500 else "udp_500"] += 1
        if len(src) == 16:
            stats["ipv6"] += 1
        if len(sa.vlans) == 1:
            stats["vlan_8021q"] += 1
        elif len(sa.vlans) == 2:
            stats["vlan_qinq"] += 1
        if i_port not in (500, 4500):
            stats["odd_port"] += 1
            odd_ports[i_port if i_port in NAT_ODD_PORTS else 0] += 1
        shadowed = i_port in TSHARK_SHADOW_PORTS and i_port < r_port
        if shadowed:
            stats["odd_port_tshark_shadowed"] += 1
        repeated = ike in sa.sent
        if repeated:
            stats["retransmissions"] += 1
            if retransmission:
                stats["retransmissions_added"] += 1
        else:
            sa.sent.add(ike)
        if first:
            stats["ike_sas"] += 1
            stats[f"ike_sas_{sa.tset.name}"] += 1
        self.spi_pairs.add(sa.spi_i + sa.spi_r)
        row = (f"{message.version}\t{'udp-encap' if message.on_4500 else 'udp'}\t{4 if len(src) == 4 else 6}\t"
               f"{len(sa.vlans)}\t{sport}\t{dport}\t{sa.spi_i.hex()}\t{message.exchange}\t{int(repeated)}\t"
               f"{int(not shadowed)}\n")
        return eth + ip + udp, row

    def truth(self) -> dict[str, object]:
        stats = dict(sorted(self.stats.items()))
        by_set = {k[len("ike_sas_"):]: stats.pop(k) for k in list(stats) if k.startswith("ike_sas_")}
        for key in ("ipv6", "vlan_8021q", "vlan_qinq", "odd_port", "odd_port_tshark_shadowed", "retransmissions",
                    "retransmissions_added", "udp_500", "udp_4500_non_esp_marker", "ikev1", "ikev2"):
            stats.setdefault(key, 0)
        stats["ike_sa_templates"] = by_set
        stats["spi_pairs"] = len(self.spi_pairs)
        stats["odd_ports"] = {str(p) if p else "other (1024-65535)": n for p, n in sorted(self.odd_ports.items())}
        stats["tshark_expected"] = stats["ike_messages"] - stats["odd_port_tshark_shadowed"]
        return stats


# --------------------------------------------------------------------------------------------------------------
# Non-IKE traffic of the ESP-heavy file: per-flow header templates, patched per frame.

ESP_SIZES = [40, 40, 56, 88, 120, 200, 560, 1380]  # octets after SPI and sequence number (IV, data, pad, ICV)
PAYLOAD_VARIANTS = 64
IP_MID = struct.Struct(">HHHH")  # IPv4 id, flags/fragment, ttl/protocol, header checksum
U32 = struct.Struct(">I")
TCP_SEQ = struct.Struct(">IIHHH")  # seq, ack, offset/flags, window, checksum


def _fold(value: int) -> int:
    while value > 0xFFFF:
        value = (value & 0xFFFF) + (value >> 16)
    return value


class OtherTraffic:
    """Templates for ESP, ESP-in-UDP, keepalives, TCP, DNS, ICMP and ARP frames."""

    def __init__(self, seed: int) -> None:
        rng = self.rng = random.Random(seed)
        pool = rng.getrandbits(8 * 65536).to_bytes(65536, "big")
        self.payloads = {size: [pool[o:o + size] for o in (rng.getrandbits(15) for _ in range(PAYLOAD_VARIANTS))]
                         for size in set(ESP_SIZES)}
        self.pool = pool
        gateways = [(bytes([10, 200 + (i >> 8), i & 255, 1]), bytes([198, 18 + (i >> 8), i & 255, 2]))
                    for i in range(1024)]
        # ESP over IPv4: 4096 SAs (2048 host pairs, one SA each way); ESP-in-UDP: 1024 SAs behind NATs.
        self.esp4 = [self._esp4_flow(*self._ends(gateways, i >> 1, i & 1), None) for i in range(4096)]
        self.espudp = []
        for i in range(1024):
            client, server = bytes([100, 64 + (i >> 8), i & 255, 7]), bytes([203, 0, 113, 200 + (i & 31)])
            port = NAT_ODD_PORTS[i % 8] if i % 4 == 0 else 49152 + rng.getrandbits(14)
            ends = (client, server, port, 4500) if i & 1 == 0 else (server, client, 4500, port)
            self.espudp.append(self._esp4_flow(ends[0], ends[1], (ends[2], ends[3])))
        self.esp6 = [self._esp6_flow(i) for i in range(256)]
        self.keepalives = [self._keepalive(i) for i in range(256)]
        self.tcp = [self._tcp_flow(i) for i in range(1024)]
        self.dns = [self._dns(i) for i in range(1024)]
        self.icmp = [self._icmp(i) for i in range(256)]
        self.arp = [self._arp(i) for i in range(256)]

    @staticmethod
    def _ends(gateways: list[tuple[bytes, bytes]], index: int, reverse: int) -> tuple[bytes, bytes]:
        a, b = gateways[index % len(gateways)]
        if index >= len(gateways):
            a = bytes([a[0], a[1], a[2], 3])
        return (b, a) if reverse else (a, b)

    @staticmethod
    def _mac(address: bytes) -> bytes:
        return b"\x02" + hashlib.blake2s(address, digest_size=5).digest()

    def _esp4_flow(self, src: bytes, dst: bytes, ports: tuple[int, int] | None) -> list[tuple]:
        """Per ESP size: (frame length, head, checksum base, tail, payloads); the frame is
        head + IP_MID(id, 0x4000, ttl/proto, checksum) + tail + U32(seq) + payload."""
        rng = self.rng
        spi = (rng.getrandbits(32) | 0x1000).to_bytes(4, "big")
        ttl_proto = (64 - rng.getrandbits(4)) << 8 | (17 if ports else 50)
        eth = ethernet(self._mac(dst), self._mac(src), 0x0800)
        variants = []
        for size in ESP_SIZES:
            l4 = 8 + size + (8 if ports else 0)
            head = eth + struct.pack(">BBH", 0x45, 0, 20 + l4)
            base = ones_sum(struct.pack(">BBHHHHH4s4s", 0x45, 0, 20 + l4, 0, 0x4000, ttl_proto, 0, src, dst))
            tail = src + dst + (struct.pack(">HHHH", ports[0], ports[1], l4, 0) if ports else b"") + spi
            variants.append((len(eth) + 20 + l4, head, base, tail, self.payloads[size]))
        return [variants, ttl_proto, rng.getrandbits(16), rng.getrandbits(20)]  # + ip id, ESP seq

    def _esp6_flow(self, index: int) -> list:
        rng = self.rng
        src = bytes.fromhex("20010db8ee00") + index.to_bytes(2, "big") + rng.getrandbits(64).to_bytes(8, "big")
        dst = bytes.fromhex("20010db8ff00") + (index >> 1).to_bytes(2, "big") + bytes(7) + b"\x01"
        spi = (rng.getrandbits(32) | 0x1000).to_bytes(4, "big")
        eth = ethernet(self._mac(dst), self._mac(src), 0x86DD)
        variants = []
        for size in ESP_SIZES:
            head = eth + ipv6_header(src, dst, 50, 8 + size) + spi
            variants.append((len(head) + 4 + size, head, self.payloads[size]))
        return [variants, rng.getrandbits(20)]

    def _keepalive(self, index: int) -> bytes:
        client, server = bytes([100, 65, index, 9]), bytes([203, 0, 113, 200 + (index & 31)])
        port = NAT_ODD_PORTS[index % 8] if index % 4 == 0 else 49152 + self.rng.getrandbits(14)
        udp = udp_datagram(client, server, port, 4500, b"\xff", with_checksum=False)
        return (ethernet(self._mac(server), self._mac(client), 0x0800)
                + ipv4_header(client, server, 17, len(udp), self.rng.getrandbits(16)) + udp)

    def _tcp_flow(self, index: int) -> list:
        """One direction of a TCP connection: per payload size (frame length, head, checksum base, tail)."""
        rng = self.rng
        conn = index >> 1
        client, server = bytes([10, 30 + (conn >> 8), conn & 255, 5]), bytes([192, 0, 2, 1 + (conn & 63)])
        cport, sport = 32768 + rng.getrandbits(14), (443, 22, 443, 993)[conn & 3]
        src, dst, p1, p2 = (client, server, cport, sport) if index & 1 == 0 else (server, client, sport, cport)
        eth = ethernet(self._mac(dst), self._mac(src), 0x0800)
        variants = []
        for size in (0, 0, 100, 517, 1448, 1448, 1448, 64):
            payload = self.pool[index * 7:index * 7 + size]
            ip = ipv4_header(src, dst, 6, 20 + size, rng.getrandbits(16))
            pseudo = src + dst + struct.pack(">BBH", 0, 6, 20 + size)
            base = ones_sum(pseudo + struct.pack(">HHIIHHHH", p1, p2, 0, 0, 0x5018, 502, 0, 0) + payload)
            variants.append((len(eth) + 40 + size, eth + ip + struct.pack(">HH", p1, p2), base,
                             b"\0\0" + payload, size))
        return [variants, rng.getrandbits(32), rng.getrandbits(32)]  # + seq, ack

    def _dns(self, index: int) -> bytes:
        rng = self.rng
        client, server = bytes([10, 40 + (index >> 8 & 3), index & 255, 9]), bytes([10, 0, 0, 53])
        name = b"".join(bytes([len(p)]) + p for p in (b"host%d" % (index % 97), b"example", b"net")) + b"\0"
        qtype = 1 if index & 2 else 28
        query = struct.pack(">HHHHHH", rng.getrandbits(16), 0x0100, 1, 0, 0, 0) + name + struct.pack(">HH", qtype, 1)
        if index & 1:
            answer = b"\xc0\x0c" + struct.pack(">HHIH", qtype, 1, 300, 4 if qtype == 1 else 16)
            answer += bytes([192, 0, 2, index & 255]) if qtype == 1 else bytes.fromhex("20010db8") + bytes(11) + b"\x01"
            message = query[:2] + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0) + query[12:] + answer
            src, dst, sport, dport = server, client, 53, 33000 + index
        else:
            message, src, dst, sport, dport = query, client, server, 33000 + index, 53
        udp = udp_datagram(src, dst, sport, dport, message, with_checksum=True)
        return (ethernet(self._mac(dst), self._mac(src), 0x0800)
                + ipv4_header(src, dst, 17, len(udp), rng.getrandbits(16)) + udp)

    def _icmp(self, index: int) -> bytes:
        a, b = bytes([10, 50, index, 1]), bytes([192, 0, 2, 100 + (index & 15)])
        kind = 8 if index & 1 == 0 else 0
        src, dst = (a, b) if kind == 8 else (b, a)
        body = struct.pack(">HH", index, index >> 1) + self.pool[1000:1048]
        icmp = struct.pack(">BBH", kind, 0, checksum(bytes([kind, 0, 0, 0]) + body)) + body
        return ethernet(self._mac(dst), self._mac(src), 0x0800) + ipv4_header(src, dst, 1, len(icmp), index) + icmp

    def _arp(self, index: int) -> bytes:
        sender, target = bytes([10, 60, index >> 4, 1 + (index & 15)]), bytes([10, 60, index >> 4, 254])
        if index & 1 == 0:
            arp = struct.pack(">HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, self._mac(sender), sender, bytes(6), target)
            return ethernet(b"\xff" * 6, self._mac(sender), 0x0806) + arp
        arp = struct.pack(">HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, self._mac(target), target, self._mac(sender), sender)
        return ethernet(self._mac(sender), self._mac(target), 0x0806) + arp


# The class of each frame of the ESP-heavy file: 1024 slots, indexed by 10 random bits.
CLASS_SLOTS = [("ike", 10), ("esp", 563), ("esp6", 31), ("esp_in_udp", 205), ("nat_keepalive", 10),
               ("tcp", 123), ("dns", 41), ("icmp", 20), ("arp", 21)]
assert sum(n for _, n in CLASS_SLOTS) == 1024


def _timer(mean_gap_us: int, rng: random.Random) -> list[int]:
    """256 inter-frame gaps (microseconds) with the given mean, bursty: many short gaps, a few long ones."""
    gaps = [int(rng.expovariate(1.0) * mean_gap_us) for _ in range(256)]
    return gaps


TRUTH_HEADER = "frame\tversion\ttransport\tip\tvlan_tags\tsport\tdport\tspi_i\texchange\tretransmission\ttshark_visible\n"


def write_esp_heavy(path: Path, frames: int, templates: list[TemplateSet], rows: list[str]) -> dict[str, object]:
    rng = random.Random(SEED_ESP_HEAVY)
    other = OtherTraffic(SEED_ESP_HEAVY + 1)
    ike = IkeTraffic(templates, SEED_ESP_HEAVY + 2, concurrent=128)
    ike_frames = ike.frames()
    table = [code for code, (_, n) in enumerate(CLASS_SLOTS) for _ in range(n)]
    counts = [0] * len(CLASS_SLOTS)
    gaps = _timer(400, rng)
    esp4, espudp, esp6, keepalives = other.esp4, other.espudp, other.esp6, other.keepalives
    tcp, dns, icmp, arp = other.tcp, other.dns, other.icmp, other.arp
    record, ip_mid, u32, tcp_seq = RECORD.pack, IP_MID.pack, U32.pack, TCP_SEQ.pack
    getrandbits = rng.getrandbits
    sec, usec = START_EPOCH, 0
    parts: list[bytes] = []
    written = len(PCAP_HEADER)
    with open(path, "wb") as out:
        out.write(PCAP_HEADER)
        for n in range(frames):
            bits = getrandbits(40)
            usec += gaps[bits >> 32]
            if usec >= 1_000_000:
                sec += usec // 1_000_000
                usec %= 1_000_000
            code = table[bits & 1023]
            counts[code] += 1
            if code == 1 or code == 3:  # ESP / ESP-in-UDP over IPv4
                flow = esp4[bits >> 10 & 4095] if code == 1 else espudp[bits >> 10 & 1023]
                length, head, base, tail, payloads = flow[0][bits >> 22 & 7]
                ident = flow[2] = (flow[2] + 1) & 0xFFFF
                seq = flow[3] = flow[3] + 1
                value = base + ident
                value = (value & 0xFFFF) + (value >> 16)
                parts += (record(sec, usec, length, length), head, ip_mid(ident, 0x4000, flow[1], ~value & 0xFFFF),
                          tail, u32(seq), payloads[bits >> 25 & 63])
            elif code == 5:  # TCP
                flow = tcp[bits >> 10 & 1023]
                length, head, base, tail, size = flow[0][bits >> 22 & 7]
                seq, ack = flow[1], flow[2]
                flow[1] = (seq + size) & 0xFFFFFFFF
                value = _fold(base + (seq >> 16) + (seq & 0xFFFF) + (ack >> 16) + (ack & 0xFFFF))
                parts += (record(sec, usec, length, length), head, tcp_seq(seq, ack, 0x5018, 502, ~value & 0xFFFF),
                          tail)
            elif code == 2:  # ESP over IPv6
                flow = esp6[bits >> 10 & 255]
                length, head, payloads = flow[0][bits >> 22 & 7]
                seq = flow[1] = flow[1] + 1
                parts += (record(sec, usec, length, length), head, u32(seq), payloads[bits >> 25 & 63])
            else:
                if code == 0:
                    frame, row = next(ike_frames)
                    rows.append(f"{n + 1}\t{row}")
                elif code == 6:
                    frame = dns[bits >> 10 & 1023]
                elif code == 4:
                    frame = keepalives[bits >> 10 & 255]
                elif code == 7:
                    frame = icmp[bits >> 10 & 255]
                else:
                    frame = arp[bits >> 10 & 255]
                length = len(frame)
                parts += (record(sec, usec, length, length), frame)
            if n & 8191 == 8191:
                chunk = b"".join(parts)
                written += len(chunk)
                out.write(chunk)
                parts.clear()
        chunk = b"".join(parts)
        written += len(chunk)
        out.write(chunk)
    truth = ike.truth()
    truth["frames"] = frames
    truth["frames_by_class"] = {name: counts[i] for i, (name, _) in enumerate(CLASS_SLOTS)}
    truth["bytes"] = written
    return truth


def write_ike_only(path: Path, messages: int, templates: list[TemplateSet], rows: list[str]) -> dict[str, object]:
    rng = random.Random(SEED_IKE_ONLY)
    ike = IkeTraffic(templates, SEED_IKE_ONLY + 2, concurrent=64)
    ike_frames = ike.frames()
    gaps = _timer(30_000, rng)
    record = RECORD.pack
    sec, usec = START_EPOCH, 0
    parts: list[bytes] = []
    written = len(PCAP_HEADER)
    with open(path, "wb") as out:
        out.write(PCAP_HEADER)
        for n in range(messages):
            usec += gaps[rng.getrandbits(8)]
            if usec >= 1_000_000:
                sec += usec // 1_000_000
                usec %= 1_000_000
            frame, row = next(ike_frames)
            rows.append(f"{n + 1}\t{row}")
            parts += (record(sec, usec, len(frame), len(frame)), frame)
            if n & 4095 == 4095:
                chunk = b"".join(parts)
                written += len(chunk)
                out.write(chunk)
                parts.clear()
        chunk = b"".join(parts)
        written += len(chunk)
        out.write(chunk)
    truth = ike.truth()
    truth["frames"] = messages
    truth["bytes"] = written
    return truth


def file_name(kind: str, scale: float) -> str:
    return kind if scale == 1 else f"{kind}-scale{scale:g}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------------------------
# ike-long and flood.


def _timed_frames(path: Path) -> list[tuple[int, bytes]]:
    """(microseconds since the first record, frame) of a little-endian microsecond classic pcap of Ethernet."""
    data = path.read_bytes()
    if data[:4] != b"\xd4\xc3\xb2\xa1" or struct.unpack_from("<I", data, 20)[0] != 1:
        raise ValueError(f"{path}: not a little-endian microsecond pcap of Ethernet frames")
    out, offset, first = [], 24, None
    while offset + 16 <= len(data):
        sec, usec, caplen, _ = RECORD.unpack_from(data, offset)
        stamp = sec * 1_000_000 + usec
        first = stamp if first is None else first
        out.append((stamp - first, data[offset + 16:offset + 16 + caplen]))
        offset += 16 + caplen
    return out


def load_liveness(lab: Path = LAB) -> dict[int, tuple[bytes, bytes]]:
    """Per IKE version, the IKE bytes of a real liveness request and its answer (see LIVENESS)."""
    found: dict[int, tuple[bytes, bytes]] = {}
    for version, (name, request, response) in LIVENESS.items():
        frames = _timed_frames(lab / name)
        pair = []
        for number in (request, response):
            dgram = _udp_of(1, frames[number - 1][1])
            if dgram is None:
                raise ValueError(f"{name} frame {number}: not a UDP datagram")
            ike = dgram.payload[4:] if dgram.payload[:4] == bytes(4) else dgram.payload
            if ike[17] >> 4 != version or struct.unpack_from(">I", ike, 24)[0] != len(ike):
                raise ValueError(f"{name} frame {number}: not a whole IKEv{version} message")
            pair.append(ike)
        found[version] = (pair[0], pair[1])
    return found


def write_ike_long(path: Path, sas: int, templates: list[TemplateSet], rows: list[str]) -> dict[str, object]:
    """sas IKE SAs, one per host pair: each negotiates (one template set, as in ike-only) within the first 20 s,
    then sends a liveness request every 10-30 s, answered, until the end of the capture."""
    rng = random.Random(SEED_IKE_LONG)
    ike = IkeTraffic(templates, SEED_IKE_LONG + 2, concurrent=0, pairs=0)
    ike.pairs = [ike._pair(i, 0.06, 0.07, 0.16) for i in range(sas)]
    liveness = load_liveness()
    end_us = IKE_LONG_SECONDS * 1_000_000
    states: list[tuple[IkeSa, int]] = []
    next_mid: list[int] = []
    heap: list[tuple[int, int, int]] = []  # (time, SA index, step): setup steps, then liveness request/answer
    for index in range(sas):
        sa = ike._new_sa(ike.pairs[index])
        states.append((sa, IKE_LONG_INTERVALS_S[rng.getrandbits(2)] * 1_000_000))
        next_mid.append(1 + max((m.message_id for m in sa.tset.messages if m.version == 2 and m.from_initiator),
                                default=0))
        heap.append((rng.randrange(IKE_LONG_RAMP_US), index, 0))
    heapq.heapify(heap)
    record = RECORD.pack
    parts: list[bytes] = []
    written = len(PCAP_HEADER)
    exchanges = n = 0
    with open(path, "wb") as out:
        out.write(PCAP_HEADER)
        while heap:
            t, index, step = heapq.heappop(heap)
            sa, interval = states[index]
            setup = len(sa.queue)
            if step < setup:
                position, retransmission = sa.queue[step]
                message = sa.tset.messages[position]
                patched = bytearray(message.ike)
                patched[0:8] = sa.spi_i
                if not message.rspi_zero:
                    patched[8:16] = sa.spi_r
                if message.message_id in sa.message_ids:
                    patched[20:24] = sa.message_ids[message.message_id].to_bytes(4, "big")
                frame, row = ike.emit(sa, message, bytes(patched), retransmission, first=step == 0)
                if step + 1 < setup:
                    later = t + 300 + rng.getrandbits(15)  # the next message of the negotiation
                else:  # up: the first liveness check, a random phase into its interval
                    later = t + 1_000_000 + rng.randrange(interval)
            else:
                is_request = (step - setup) % 2 == 0
                version = sa.tset.version
                template = liveness[version][0 if is_request else 1]
                mid = next_mid[index] if version == 2 else (rng.getrandbits(32) or 1)
                body = sa.spi_i + sa.spi_r + template[16:20] + mid.to_bytes(4, "big") + template[24:]
                message = TemplateMessage(ike=body, from_initiator=is_request, on_4500=sa.tset.floats,
                                          version=version, exchange=body[18], rspi_zero=False, message_id=mid)
                frame, row = ike.emit(sa, message, body, False, first=False)
                if is_request:
                    later = t + 200 + rng.getrandbits(15)  # the answer, one round trip later
                else:
                    exchanges += 1
                    next_mid[index] += 1
                    later = t + interval - 20_000 + rng.getrandbits(15)
            if step + 1 < setup or (step + 1 - setup) % 2 == 1 or later < end_us:
                heapq.heappush(heap, (later, index, step + 1))
            n += 1
            rows.append(f"{n}\t{row}")
            parts += (record(START_EPOCH + t // 1_000_000, t % 1_000_000, len(frame), len(frame)), frame)
            if n & 4095 == 0:
                chunk = b"".join(parts)
                written += len(chunk)
                out.write(chunk)
                parts.clear()
        chunk = b"".join(parts)
        written += len(chunk)
        out.write(chunk)
    truth = ike.truth()
    truth.update(frames=n, bytes=written, concurrent_ike_sas=sas, duration_s=IKE_LONG_SECONDS,
                 liveness_exchanges=exchanges, liveness_intervals_s=list(IKE_LONG_INTERVALS_S))
    return truth


def _with_udp_checksum(frame: bytes) -> bytes:
    """An untagged Ethernet/IPv4 frame with its UDP checksum computed (a capture on the sending host holds the
    checksum the NIC was left to fill in)."""
    if struct.unpack_from(">H", frame, 12)[0] != 0x0800 or frame[23] != 17:
        return frame
    l4 = 14 + (frame[14] & 0x0F) * 4
    udp = bytearray(frame[l4:])
    udp[6:8] = b"\0\0"
    pseudo = frame[26:34] + struct.pack(">BBH", 0, 17, len(udp))
    udp[6:8] = struct.pack(">H", checksum(pseudo + bytes(udp)) or 0xFFFF)
    return frame[:l4] + bytes(udp)


def flood_init_request(spi: bytes, key_exchange: bytes, nonce: bytes) -> bytes:
    """A minimal, well-formed IKEv2 IKE_SA_INIT request: SA (AES-CBC-128, HMAC-SHA2-256-128, PRF-HMAC-SHA2-256,
    Curve25519), KE, Ni (RFC 7296 section 3)."""
    transforms = [(1, 12, struct.pack(">HH", 0x800E, 128)), (3, 12, b""), (2, 5, b""), (4, 31, b"")]
    encoded = b""
    for n, (kind, ident, attrs) in enumerate(transforms):
        encoded += struct.pack(">BBHBBH", 3 if n < len(transforms) - 1 else 0, 0, 8 + len(attrs), kind, 0,
                               ident) + attrs
    proposal = struct.pack(">BBHBBBB", 0, 0, 8 + len(encoded), 1, 1, 0, len(transforms)) + encoded
    sa = struct.pack(">BBH", 34, 0, 4 + len(proposal)) + proposal
    ke = struct.pack(">BBHHH", 40, 0, 8 + len(key_exchange), 31, 0) + key_exchange
    ni = struct.pack(">BBH", 0, 0, 4 + len(nonce)) + nonce
    body = sa + ke + ni
    return spi + bytes(8) + struct.pack(">BBBBII", 33, 0x20, 34, 0x08, 0, 28 + len(body)) + body


def write_flood(path: Path, requests: int, rows: list[str]) -> dict[str, object]:
    rng = random.Random(SEED_FLOOD)
    span_us = max(1, round(FLOOD_SECONDS * 1_000_000 * requests / FLOOD_REQUESTS))
    gap_us = span_us / requests
    real = _timed_frames(LAB / FLOOD_REAL_TUNNEL)
    real_start = span_us // 2
    pending = [(real_start + t, _with_udp_checksum(frame)) for t, frame in real]
    key_exchange = rng.getrandbits(256).to_bytes(32, "big")
    template = flood_init_request(bytes(8), key_exchange, bytes(16))
    head, nonce_at = template[8:], len(template) - 16
    target_mac, src_mac = b"\x02\x00\x00\x00\x02\x02", b"\x02\x00\x00\xc6\x12\x00"
    eth = ethernet(target_mac, src_mac, 0x0800)
    record = RECORD.pack
    parts: list[bytes] = []
    written = len(PCAP_HEADER)
    sources: set[int] = set()
    stats: Counter[str] = Counter()
    real_frames: list[int] = []
    n = 0
    with open(path, "wb") as out:
        out.write(PCAP_HEADER)
        for i in range(requests + 1):
            t = int(i * gap_us)
            while pending and (pending[0][0] <= t or i == requests):
                when, frame = pending.pop(0)
                n += 1
                real_frames.append(n)
                dgram = _udp_of(1, frame)
                encap = dgram is not None and dgram.dport == 4500
                ike = None if dgram is None else dgram.payload[4:] if encap else dgram.payload
                if dgram is not None and ike is not None and (not encap or dgram.payload[:4] == bytes(4)):
                    stats["ike_messages"] += 1
                    rows.append(f"{n}\t{ike[17] >> 4}\t{'udp-encap' if dgram.dport == 4500 else 'udp'}\t4\t0\t"
                                f"{dgram.sport}\t{dgram.dport}\t{ike[:8].hex()}\t{ike[18]}\t0\t1\n")
                parts += (record(START_EPOCH + when // 1_000_000, when % 1_000_000, len(frame), len(frame)), frame)
            if i == requests:
                break
            source = 0xC6120000 | rng.getrandbits(17)  # 198.18.0.0/15
            sources.add(source)
            spi = rng.getrandbits(64).to_bytes(8, "big")
            ike = spi + head[:nonce_at - 8] + rng.getrandbits(128).to_bytes(16, "big")
            src = source.to_bytes(4, "big")
            udp = struct.pack(">HHHH", 500, 500, 8 + len(ike), 0) + ike  # a flood tool leaves the checksum out
            frame = eth + ipv4_header(src, FLOOD_TARGET, 17, len(udp), i & 0xFFFF) + udp
            n += 1
            stats["ike_messages"] += 1
            stats["flood_requests"] += 1
            rows.append(f"{n}\t2\tudp\t4\t0\t500\t500\t{spi.hex()}\t34\t0\t1\n")
            parts += (record(START_EPOCH + t // 1_000_000, t % 1_000_000, len(frame), len(frame)), frame)
            if n & 8191 == 0:
                chunk = b"".join(parts)
                written += len(chunk)
                out.write(chunk)
                parts.clear()
        chunk = b"".join(parts)
        written += len(chunk)
        out.write(chunk)
    return {"frames": n, "bytes": written, "ike_messages": stats["ike_messages"],
            "flood_requests": stats["flood_requests"], "flood_seconds": round(span_us / 1e6, 3),
            "flood_target": "192.0.2.2", "distinct_sources": len(sources),
            "real_tunnel": {"peers": ["192.0.2.1", "192.0.2.2"], "from": f"pcaps/{FLOOD_REAL_TUNNEL}",
                            "frames": real_frames, "outcome": "established", "code": "Established"},
            "tshark_expected": stats["ike_messages"], "ipv6": 0, "vlan_8021q": 0, "vlan_qinq": 0, "odd_port": 0,
            "retransmissions": 0}


def generate(kind: str, scale: float, out: Path, corpus: Path, with_sha256: bool = False) -> dict[str, object]:
    templates = load_templates(corpus) if kind != "flood" else []
    name = file_name(kind, scale)
    path = out / f"{name}.pcap"
    started = time.perf_counter()
    rows = [TRUTH_HEADER]
    if kind == "esp-heavy":
        truth = write_esp_heavy(path, max(1, round(ESP_HEAVY_FRAMES * scale)), templates, rows)
    elif kind == "ike-only":
        truth = write_ike_only(path, max(1, round(IKE_ONLY_MESSAGES * scale)), templates, rows)
    elif kind == "ike-long":
        truth = write_ike_long(path, max(4, round(IKE_LONG_SAS * scale)), templates, rows)
    elif kind == "flood":
        truth = write_flood(path, max(10, round(FLOOD_REQUESTS * scale)), rows)
    else:
        raise ValueError(f"unknown capture kind {kind!r}")
    (out / f"{name}.ike-frames.tsv").write_text("".join(rows))
    seconds = time.perf_counter() - started
    expected = {"file": path.name, "kind": kind, "scale": scale, "generator_version": GENERATOR_VERSION,
                **truth, "generation_seconds": round(seconds, 2)}
    if with_sha256:
        expected["sha256"] = sha256_of(path)
    (out / f"{name}.expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    return expected


def probe_tshark(corpus: Path) -> dict[str, list[int]]:
    """Which NAT_ODD_PORTS hide an IKE message from tshark, towards 4500 (with marker) and towards 500."""
    import subprocess
    import tempfile

    ike = load_templates(corpus)[0].messages[0].ike
    client, server, mac_c, mac_s = bytes([100, 64, 0, 1]), bytes([203, 0, 113, 1]), b"\x02" * 6, b"\x04" * 6
    cases = [(port, ike_port) for ike_port in (4500, 500) for port in NAT_ODD_PORTS]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "probe.pcap"
        with open(path, "wb") as out:
            out.write(PCAP_HEADER)
            for n, (port, ike_port) in enumerate(cases):
                payload = b"\0\0\0\0" + ike if ike_port == 4500 else ike
                udp = udp_datagram(client, server, port, ike_port, payload, with_checksum=True)
                frame = ethernet(mac_s, mac_c, 0x0800) + ipv4_header(client, server, 17, len(udp), n) + udp
                out.write(RECORD.pack(START_EPOCH + n, 0, len(frame), len(frame)) + frame)
        env = dict(os.environ, WIRESHARK_CONFIG_DIR=tmp)
        result = subprocess.run(["tshark", "-n", "-r", str(path), "-Y", "isakmp", "-T", "fields", "-e",
                                 "frame.number"], capture_output=True, text=True, env=env, check=True)
    seen = {int(line) for line in result.stdout.split()}
    hidden: dict[str, list[int]] = {"to_4500": [], "to_500": []}
    for n, (port, ike_port) in enumerate(cases, start=1):
        if n not in seen:
            hidden[f"to_{ike_port}"].append(port)
    return hidden


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full sizes (default 1)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default bench/out)")
    parser.add_argument("--only", choices=KINDS, action="append",
                        help="write only this file (repeatable)")
    parser.add_argument("--corpus", type=Path, default=Path(os.environ.get("IKESNIFF_CORPUS", DEFAULT_CORPUS)),
                        help="the external capture corpus holding the IKE templates")
    parser.add_argument("--sha256", action="store_true", help="also record each file's sha256 in its .expected.json")
    parser.add_argument("--probe-tshark", action="store_true",
                        help="only report which NAT-mapped ports hide IKE from tshark (for TSHARK_SHADOW_PORTS)")
    args = parser.parse_args(argv)
    if args.probe_tshark:
        hidden = probe_tshark(args.corpus)
        print(json.dumps(hidden))
        return 0 if set(hidden["to_4500"]) == TSHARK_SHADOW_PORTS else 1
    if not 0 < args.scale <= 10:
        parser.error("--scale must be in (0, 10]")
    args.out.mkdir(parents=True, exist_ok=True)
    for kind in args.only or DEFAULT_KINDS:
        expected = generate(kind, args.scale, args.out, args.corpus, args.sha256)
        print(f"{args.out / expected['file']}: {expected['frames']:,} frames, {expected['ike_messages']:,} IKE messages "
              f"({expected['ipv6']} IPv6, {expected['vlan_8021q']} 802.1Q, {expected['vlan_qinq']} QinQ, "
              f"{expected['odd_port']} odd-port, {expected['retransmissions']} retransmissions), "
              f"{expected['bytes'] / 2**20:.1f} MiB in {expected['generation_seconds']:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
