"""What the capture layer hands on: IKE datagrams with the encapsulation removed, ESP sightings
per SPI and direction, ICMP errors about IKE packets, and per-frame problems.

These are plain dataclasses; the capture layer fills them, the tracker and the reporters read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..events import Where


@dataclass(slots=True, kw_only=True)
class IkeDatagram(Where):
    """The ISAKMP bytes of one UDP datagram or one RFC 8229 TCP record (`frame`: the packet that completed
    it; `transport`: 'udp', 'udp-encap' with the non-ESP marker removed, 'tcp-encap' with the RFC 8229
    framing removed)."""

    event: str = field(default="datagram", init=False)
    data: bytes
    """The IKE message bytes (one or more ISAKMP messages back to back)."""
    frames: tuple[int, ...] = ()
    """Every frame that carried part of it (IP fragments, TCP segments); empty when only `frame`."""
    truncated: bool = False
    """The capture holds fewer octets than the datagram had (snap length, or a first IP fragment
    whose other fragments could not be used, as Wireshark dissects it); `data` is what there is."""


@dataclass(slots=True)
class EspSighting:
    """ESP packets of one SPI and direction seen in a stretch of frames (aggregated)."""

    spi: int
    src: str
    dst: str
    transport: str
    """'esp' (IP protocol 50), 'udp-encap' (ESP in UDP, RFC 3948) or 'tcp-encap' (ESP in an RFC 8229
    TCP stream). (AH packets are counted the same way, as 'ah', but only in `CaptureStats.ah_flows`.)"""
    sport: int
    dport: int
    packets: int
    first_frame: int
    last_frame: int
    first_time: float
    last_time: float


@dataclass(slots=True)
class IcmpError:
    """An ICMP/ICMPv6 error quoting a packet to or from an IKE port."""

    frame: int
    time: float
    src: str
    """The host that sent the ICMP error."""
    dst: str
    icmp_type: int
    icmp_code: int
    description: str
    """e.g. 'port unreachable', 'fragmentation needed (MTU 1400)'."""
    quoted_src: str
    quoted_dst: str
    quoted_sport: int
    quoted_dport: int


@dataclass(slots=True)
class FrameProblem:
    """A frame that could not be read as far as its IKE content (truncated, bad header...)."""

    frame: int
    time: float
    text: str
    frames: tuple[int, ...] = ()
    """Earlier frames the problem is about, when it is noticed later than they were read (e.g. the IP
    fragments of a datagram that never completed: `frame` is where the capture showed it never would)."""
    ends_capture: bool = False
    """The capture file ends here unreadable (a last record cut short, a damaged header): nothing after it
    was captured; it is no network event."""


@dataclass(slots=True)
class Idle:
    """A live capture saw no packet for a while: the reader may refresh its view and judge timeouts."""

    time: float
    """Wall-clock time, epoch seconds."""


@dataclass(slots=True)
class CaptureStats:
    """Counters over the whole input; ESP flows keyed by (spi, src, dst, transport)."""

    frames: int = 0
    ike_datagrams: int = 0
    esp_packets: int = 0
    esp_in_udp_packets: int = 0
    nat_keepalives: int = 0
    ip_fragments: int = 0
    reassembled_datagrams: int = 0
    reassembly_timeouts: int = 0
    tcp_ike_records: int = 0
    problems: int = 0
    link_types: set[int] = field(default_factory=set)
    esp_flows: dict[tuple[int, str, str, str], EspSighting] = field(default_factory=dict)
    esp_in_tcp_packets: int = 0
    """ESP records inside RFC 8229 TCP streams (also in `esp_flows`, transport 'tcp-encap')."""
    ah_packets: int = 0
    """AH (IP protocol 51) packets: an AH/ESP disagreement between peers is worth noticing."""
    ah_flows: dict[tuple[int, str, str, str], EspSighting] = field(default_factory=dict)
    """AH packets per (spi, src, dst, 'ah'), accumulated like `esp_flows`."""
    reassembly_incomplete: int = 0
    """IP datagrams whose fragments were still incomplete when the input ended."""
    reassembly_dropped: int = 0
    """IP datagrams given up because they broke a reassembly buffer limit."""
    untracked_flow_packets: int = 0
    """ESP/AH packets of flows beyond the number of flows told apart (memory bound); counted only."""
    undecodable_frames: int = 0
    """Frames whose link or IP header could not be read (too short, unknown link type...)."""
