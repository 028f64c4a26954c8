"""Packet and capture-file builders for the capture-layer tests (struct only, fast enough to write
millions of records), plus a few tests that pin the builders themselves against tshark's reading.

Everything here writes bytes exactly as the formats define them, so a test can say "a pcapng file
with two interfaces of different link types" in one line and know what every frame holds.
"""

from __future__ import annotations

import gzip
import ipaddress
import random
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# --- link types -------------------------------------------------------------------------------------
ETHERNET, NULL, RAW, LOOP, SLL, SLL2, RAW_BSD12, RAW_BSD14, IPV4_LINK, IPV6_LINK = (
    1, 0, 101, 108, 113, 276, 12, 14, 228, 229)


# --- checksums and addresses ---------------------------------------------------------------------------
def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def addr(text: str) -> bytes:
    return ipaddress.ip_address(text).packed


# --- network and transport headers --------------------------------------------------------------------
def ipv4(src: str, dst: str, proto: int, payload: bytes, *, ident: int = 1, offset: int = 0,
         more: bool = False, dont_fragment: bool = False, ttl: int = 64, options: bytes = b"",
         total_length: int | None = None) -> bytes:
    """An IPv4 packet; `offset` in octets (multiple of 8), `more` sets MF."""
    ihl = 5 + len(options) // 4
    flags = (0x2000 if more else 0) | (0x4000 if dont_fragment else 0) | (offset // 8)
    length = total_length if total_length is not None else ihl * 4 + len(payload)
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, length, ident, flags, ttl, proto, 0,
                         addr(src), addr(dst)) + options
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    return header + payload


def ipv6(src: str, dst: str, next_header: int, payload: bytes, *, hop_limit: int = 64) -> bytes:
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), next_header, hop_limit,
                       addr(src), addr(dst)) + payload


def ipv6_ext(next_header: int, body: bytes = b"\0" * 6) -> bytes:
    """A generic IPv6 extension header (hop-by-hop, routing, destination options): 8n octets."""
    body += b"\0" * (-(len(body) + 2) % 8)
    return struct.pack("!BB", next_header, (len(body) + 2) // 8 - 1) + body


def ipv6_fragment_header(next_header: int, offset: int, more: bool, ident: int) -> bytes:
    return struct.pack("!BBHI", next_header, 0, offset | (1 if more else 0), ident)


def udp(sport: int, dport: int, payload: bytes, *, length: int | None = None) -> bytes:
    return struct.pack("!HHHH", sport, dport, length if length is not None else 8 + len(payload), 0) + payload


TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def tcp(sport: int, dport: int, seq: int, payload: bytes = b"", *, ack: int = 0,
        flags: int = TCP_ACK | TCP_PSH) -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack, 5 << 4, flags, 65535, 0, 0) + payload


def esp(spi: int, seq: int = 1, body_length: int = 64) -> bytes:
    return struct.pack("!II", spi, seq) + bytes((seq + i) & 0xFF for i in range(body_length))


def ah(spi: int, next_header: int = 4, seq: int = 1) -> bytes:
    return struct.pack("!BBHII", next_header, 4, 0, spi, seq) + b"\xaa" * 12


def icmp(kind: int, code: int, quoted: bytes, rest: int = 0) -> bytes:
    body = struct.pack("!BBHI", kind, code, 0, rest) + quoted
    return body[:2] + struct.pack("!H", _checksum(body)) + body[4:]


def ike_message(spi_i: int = 0x1122334455667788, spi_r: int = 0, exchange: int = 34, message_id: int = 0,
                body: bytes = b"", version: int = 0x20, flags: int = 0x08) -> bytes:
    """A syntactically plausible ISAKMP header followed by `body` (no payload parsing needed here)."""
    length = 28 + len(body)
    return struct.pack("!QQBBBBII", spi_i, spi_r, 0, version, exchange, flags, message_id, length) + body


# --- link layers ---------------------------------------------------------------------------------------
def ether(payload: bytes, ethertype: int = 0x0800, vlans: Sequence[tuple[int, int]] = (),
          src: bytes = b"\x02\0\0\0\0\x01", dst: bytes = b"\x02\0\0\0\0\x02") -> bytes:
    """Ethernet II; `vlans` is a list of (TPID, VLAN id), outermost first (QinQ: 0x88a8 then 0x8100)."""
    # The TPIDs are type fields: the first follows the MACs, then each tag names the next type.
    types = [tpid for tpid, _ in vlans] + [ethertype]
    header = dst + src + struct.pack("!H", types[0])
    for index, (_, vid) in enumerate(vlans):
        header += struct.pack("!HH", vid, types[index + 1])
    return header + payload


def ethertype_of(packet: bytes) -> int:
    return 0x86DD if packet[0] >> 4 == 6 else 0x0800


def sll(packet: bytes) -> bytes:
    return struct.pack("!HHH8sH", 0, 1, 6, b"\x02\0\0\0\0\x01\0\0", ethertype_of(packet)) + packet


def sll2(packet: bytes) -> bytes:
    return struct.pack("!HHIHBB8s", ethertype_of(packet), 0, 2, 1, 0, 6, b"\x02\0\0\0\0\x01\0\0") + packet


def null_header(packet: bytes, little_endian: bool = True, ipv6_family: int = 30) -> bytes:
    family = 2 if packet[0] >> 4 == 4 else ipv6_family
    return struct.pack("<I" if little_endian else ">I", family) + packet


def loop_header(packet: bytes) -> bytes:
    return struct.pack(">I", 2 if packet[0] >> 4 == 4 else 24) + packet


def frame_for(link_type: int, packet: bytes) -> bytes:
    """Wrap an IP packet in the given link layer."""
    if link_type == ETHERNET:
        return ether(packet, ethertype_of(packet))
    if link_type == SLL:
        return sll(packet)
    if link_type == SLL2:
        return sll2(packet)
    if link_type == NULL:
        return null_header(packet)
    if link_type == LOOP:
        return loop_header(packet)
    return packet


# --- file formats ----------------------------------------------------------------------------------------
@dataclass
class Record:
    data: bytes
    time: float = 1_600_000_000.0
    interface: int = 0
    orig_len: int | None = None


PCAP_MAGICS = {
    "le-usec": ("<", 0xA1B2C3D4), "be-usec": (">", 0xA1B2C3D4),
    "le-nsec": ("<", 0xA1B23C4D), "be-nsec": (">", 0xA1B23C4D),
    "le-modified": ("<", 0xA1B2CD34),
}


def pcap_bytes(records: Iterable[Record | bytes], link_type: int = ETHERNET, variant: str = "le-usec",
               snaplen: int = 262144) -> bytes:
    order, magic = PCAP_MAGICS[variant]
    scale = 1_000_000_000 if "nsec" in variant else 1_000_000
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, link_type)]
    for record in records:
        if isinstance(record, bytes):
            record = Record(record)
        ticks = round(record.time * scale)
        seconds, fraction = divmod(ticks, scale)
        orig = record.orig_len if record.orig_len is not None else len(record.data)
        out.append(struct.pack(order + "IIII", seconds, fraction, len(record.data), orig))
        if "modified" in variant:
            out.append(struct.pack(order + "IHBB", 2, 0x0800, 0, 0))   # ifindex, protocol, pkt_type, pad
        out.append(record.data)
    return b"".join(out)


def write_pcap(path: Path, records: Iterable[Record | bytes], link_type: int = ETHERNET,
               variant: str = "le-usec", compress: bool = False) -> Path:
    data = pcap_bytes(records, link_type, variant)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@dataclass
class Interface:
    link_type: int
    tsresol: int | None = None
    """The if_tsresol option octet (None: default microseconds)."""
    snaplen: int = 0


@dataclass
class Section:
    interfaces: list[Interface]
    records: list[Record | bytes] = field(default_factory=list)
    little_endian: bool = True
    extra_blocks: list[tuple[int, bytes]] = field(default_factory=list)
    """(position among records, raw block) inserted before that record (unknown blocks etc.)."""
    packet_block: str = "epb"
    """'epb', 'spb' or 'pb' (obsolete Packet Block)."""


def pcapng_block(block_type: int, body: bytes, little_endian: bool = True) -> bytes:
    order = "<" if little_endian else ">"
    body += b"\0" * (-len(body) % 4)
    length = len(body) + 12
    return struct.pack(order + "II", block_type, length) + body + struct.pack(order + "I", length)


def _ticks(time: float, tsresol: int | None) -> int:
    if tsresol is None:
        return round(time * 1_000_000)
    if tsresol & 0x80:
        return round(time * (2 ** (tsresol & 0x7F)))
    return round(time * 10 ** tsresol)


def pcapng_bytes(sections: Sequence[Section]) -> bytes:
    out = []
    for section in sections:
        order = "<" if section.little_endian else ">"
        out.append(pcapng_block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1),
                                section.little_endian))
        for interface in section.interfaces:
            options = b""
            if interface.tsresol is not None:
                options += struct.pack(order + "HH", 9, 1) + bytes([interface.tsresol]) + b"\0\0\0"
            if options:
                options += struct.pack(order + "HH", 0, 0)
            out.append(pcapng_block(1, struct.pack(order + "HHI", interface.link_type, 0, interface.snaplen)
                                    + options, section.little_endian))
        extras = sorted(section.extra_blocks, key=lambda item: item[0])
        for position, raw in enumerate(section.records):
            while extras and extras[0][0] == position:
                out.append(extras.pop(0)[1])
            record = raw if isinstance(raw, Record) else Record(raw)
            interface = section.interfaces[record.interface]
            orig = record.orig_len if record.orig_len is not None else len(record.data)
            if section.packet_block == "spb":
                out.append(pcapng_block(3, struct.pack(order + "I", orig) + record.data, section.little_endian))
            elif section.packet_block == "pb":
                ticks = _ticks(record.time, interface.tsresol)
                out.append(pcapng_block(2, struct.pack(order + "HHIIII", record.interface, 0, ticks >> 32,
                                                       ticks & 0xFFFFFFFF, len(record.data), orig)
                                        + record.data, section.little_endian))
            else:
                ticks = _ticks(record.time, interface.tsresol)
                out.append(pcapng_block(6, struct.pack(order + "IIIII", record.interface, ticks >> 32,
                                                       ticks & 0xFFFFFFFF, len(record.data), orig)
                                        + record.data, section.little_endian))
        for _, raw_block in extras:
            out.append(raw_block)
    return b"".join(out)


def write_pcapng(path: Path, sections: Sequence[Section], compress: bool = False) -> Path:
    data = pcapng_bytes(sections)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


# --- reading back -----------------------------------------------------------------------------------------
def read_all(path: Path | str, ike_ports: frozenset[int] = frozenset({500, 4500}), **options: str
             ) -> tuple[list[object], object]:
    """Every item read_capture yields for `path`, and the stats (imports kept local: builders first)."""
    from ikesniff.capture import CaptureStats, read_capture

    stats = CaptureStats()
    options.setdefault("worker", "never")
    items = list(read_capture(str(path), stats, ike_ports, **options))
    return items, stats


def of_type(items: Iterable[object], kind: type) -> list:
    return [item for item in items if isinstance(item, kind)]


# --- a mixed-traffic generator (the benchmark's kind of capture, small or large) -----------------------
def mixed_traffic(count: int, ike_share: float = 0.01, seed: int = 7) -> list[bytes]:
    """Ethernet frames: ~`ike_share` IKE (UDP 500 / 4500 with marker, IPv4 and IPv6), the rest ESP,
    ESP-in-UDP, NAT keepalives, TCP, DNS, ARP; some VLAN and QinQ tagged. Deterministic per seed."""
    rng = random.Random(seed)
    templates: list[bytes] = []
    peers = [(f"10.0.{i}.1", f"10.1.{i}.2") for i in range(8)]
    peers6 = [(f"2001:db8:{i}::1", f"2001:db8:{i}::2") for i in range(4)]
    for i, (a, b) in enumerate(peers):
        vlans: list[tuple[int, int]] = [] if i % 3 == 0 else [(0x8100, 10 + i)] if i % 3 == 1 else [
            (0x88A8, 100), (0x8100, 20 + i)]
        templates.append(ether(ipv4(a, b, 50, esp(0x1000 + i, i, 120 + 16 * i)), vlans=vlans))
        templates.append(ether(ipv4(b, a, 50, esp(0x2000 + i, i, 80)), vlans=vlans))
        templates.append(ether(ipv4(a, b, 17, udp(4500, 4500, esp(0x3000 + i, i, 100))), vlans=vlans))
        templates.append(ether(ipv4(a, b, 6, tcp(40000 + i, 443, 1000 * i, b"x" * 200))))
        templates.append(ether(ipv4(a, "8.8.8.8", 17, udp(50000 + i, 53, b"\x12\x34" + b"q" * 30))))
    for i, (a, b) in enumerate(peers6):
        templates.append(ether(ipv6(a, b, 50, esp(0x4000 + i, i, 150)), 0x86DD))
        templates.append(ether(ipv6(b, a, 17, udp(4500, 4500, esp(0x5000 + i, i, 90))), 0x86DD))
    templates.append(ether(b"\0\1\x08\0\6\4\0\1" + b"\0" * 20, 0x0806))
    templates.append(ether(ipv4("10.0.0.1", "10.1.0.2", 17, udp(4500, 4500, b"\xff"))))
    ike: list[bytes] = []
    for i, (a, b) in enumerate(peers):
        message = ike_message(0x0101010101010101 * (i + 1), 0, 34, 0, b"\0" * 200)
        ike.append(ether(ipv4(a, b, 17, udp(500, 500, message))))
        ike.append(ether(ipv4(b, a, 17, udp(4500, 4500, b"\0\0\0\0" + message)),
                         vlans=[(0x8100, 7)]))
    for a, b in peers6:
        ike.append(ether(ipv6(a, b, 17, udp(500, 500, ike_message(body=b"\1" * 100))), 0x86DD))
    frames = []
    for _ in range(count):
        if rng.random() < ike_share:
            frames.append(rng.choice(ike))
        else:
            frames.append(rng.choice(templates))
    return frames


def write_mixed_pcap(path: Path, count: int, ike_share: float = 0.01, seed: int = 7) -> Path:
    """A large mixed capture, written record by record (a few seconds for millions of frames)."""
    frames = mixed_traffic(min(count, 4096), ike_share, seed)
    rng = random.Random(seed + 1)
    with path.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, ETHERNET))
        chunk: list[bytes] = []
        pack = struct.Struct("<IIII").pack
        seconds = 1_600_000_000
        for index in range(count):
            frame = frames[rng.randrange(len(frames))] if index >= len(frames) else frames[index]
            usec = index % 1_000_000
            if usec == 0:
                seconds += 1
            chunk.append(pack(seconds, usec, len(frame), len(frame)))
            chunk.append(frame)
            if len(chunk) >= 65536:
                out.write(b"".join(chunk))
                chunk.clear()
        out.write(b"".join(chunk))
    return path


# --- tests of the builders themselves ---------------------------------------------------------------------
def test_vlan_tags_name_each_next_type() -> None:
    frame = ether(b"\x45", 0x0800, vlans=[(0x88A8, 100), (0x8100, 20)])
    assert frame[12:14] == b"\x88\xa8" and frame[16:18] == b"\x81\x00" and frame[20:22] == b"\x08\x00"


def test_ipv4_header_checksum_verifies() -> None:
    assert _checksum(ipv4("10.0.0.1", "10.0.0.2", 17, b"")[:20]) == 0
