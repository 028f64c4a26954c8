"""Link layers, IP (extension headers, fragments), UDP encapsulation rules, ESP/AH accounting and ICMP
errors, each through both readers (and so through the vectorised triage and the scalar decoder)."""

from __future__ import annotations

import random
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from test_capture_builders import (
    ETHERNET,
    IPV4_LINK,
    IPV6_LINK,
    LOOP,
    NULL,
    RAW,
    RAW_BSD12,
    RAW_BSD14,
    SLL,
    SLL2,
    Record,
    ah,
    esp,
    ether,
    frame_for,
    icmp,
    ike_message,
    ipv4,
    ipv6,
    ipv6_ext,
    ipv6_fragment_header,
    null_header,
    of_type,
    read_all,
    tcp,
    udp,
    write_pcap,
)

from ikesniff.capture import EspSighting, FrameProblem, IcmpError, IkeDatagram, read_capture
from ikesniff.capture.events import CaptureStats

READERS = ["libpcap", "python"]
T0 = 1_700_000_000.0
MESSAGE = ike_message(spi_i=0xA1A2A3A4A5A6A7A8, exchange=34, body=b"\x21" * 60)


def v4_ike(sport: int = 500, dport: int = 500, payload: bytes = MESSAGE, src: str = "192.0.2.1",
           dst: str = "198.51.100.2") -> bytes:
    return ipv4(src, dst, 17, udp(sport, dport, payload))


def v6_ike(sport: int = 500, dport: int = 500, payload: bytes = MESSAGE) -> bytes:
    return ipv6("2001:db8::1", "2001:db8::2", 17, udp(sport, dport, payload))


def capture(tmp_path: Path, frames: list[bytes | Record], link_type: int = ETHERNET, name: str = "c.pcap") -> Path:
    return write_pcap(tmp_path / name, frames, link_type)


def datagrams(items: list[object]) -> list[IkeDatagram]:
    return of_type(items, IkeDatagram)


def both(path: Path, **options: object) -> tuple[list[object], CaptureStats]:
    """Items and stats through the libpcap reader, checked equal to the Python reader's."""
    fast, fast_stats = read_all(path, reader="libpcap", **options)
    slow, slow_stats = read_all(path, reader="python", **options)
    assert fast == slow
    assert fast_stats.esp_flows == slow_stats.esp_flows
    return fast, fast_stats


# --- link layers ------------------------------------------------------------------------------------------
LINKS = [ETHERNET, SLL, SLL2, RAW, RAW_BSD12, RAW_BSD14, NULL, LOOP]


@pytest.mark.parametrize("link_type", LINKS)
@pytest.mark.parametrize("version", [4, 6])
def test_ike_is_found_behind_every_link_layer(tmp_path: Path, link_type: int, version: int) -> None:
    packet = v4_ike() if version == 4 else v6_ike()
    other = ipv4("192.0.2.1", "198.51.100.2", 6, tcp(1234, 80, 1, b"GET /"))
    flow = ipv4("192.0.2.1", "198.51.100.2", 50, esp(0xDEAD, 1)) if version == 4 else ipv6(
        "2001:db8::1", "2001:db8::2", 50, esp(0xDEAD, 1))
    path = capture(tmp_path, [frame_for(link_type, p) for p in (other, packet, flow)], link_type)
    items, stats = both(path)
    (datagram,) = datagrams(items)
    assert datagram.frame == 2 and datagram.data == MESSAGE and datagram.transport == "udp"
    assert (datagram.src, datagram.dst) == (("192.0.2.1", "198.51.100.2") if version == 4 else
                                            ("2001:db8::1", "2001:db8::2"))
    assert stats.esp_packets == 1 and stats.link_types == {link_type}


@pytest.mark.parametrize("link_type, packet", [(IPV4_LINK, v4_ike()), (IPV6_LINK, v6_ike())])
def test_raw_ipv4_and_ipv6_link_types(tmp_path: Path, link_type: int, packet: bytes) -> None:
    items, _ = both(capture(tmp_path, [packet], link_type))
    assert [d.frame for d in datagrams(items)] == [1]


@pytest.mark.parametrize("family", [10, 24, 28, 30])
@pytest.mark.parametrize("little_endian", [True, False])
def test_bsd_null_loopback_in_either_byte_order(tmp_path: Path, family: int, little_endian: bool) -> None:
    frames = [null_header(v4_ike(), little_endian), null_header(v6_ike(), little_endian, family)]
    items, _ = both(capture(tmp_path, frames, NULL))
    assert [d.frame for d in datagrams(items)] == [1, 2]


@pytest.mark.parametrize("vlans", [
    [(0x8100, 10)],
    [(0x88A8, 100), (0x8100, 20)],
    [(0x9100, 1), (0x9100, 2), (0x8100, 3)],
])
def test_vlan_tags_and_qinq(tmp_path: Path, vlans: list[tuple[int, int]]) -> None:
    frames = [ether(v4_ike(), vlans=vlans), ether(v6_ike(), 0x86DD, vlans=vlans),
              ether(ipv4("192.0.2.1", "198.51.100.2", 50, esp(7)), vlans=vlans), ether(v4_ike())]
    items, stats = both(capture(tmp_path, frames))
    assert [d.frame for d in datagrams(items)] == [1, 2, 4]
    assert stats.esp_packets == 1


def test_pppoe_session_frames(tmp_path: Path) -> None:
    pppoe = bytes([0x11, 0, 0, 1]) + (len(v4_ike()) + 2).to_bytes(2, "big") + b"\x00\x21" + v4_ike()
    items, _ = both(capture(tmp_path, [ether(pppoe, 0x8864)]))
    assert [d.frame for d in datagrams(items)] == [1]


def test_frames_too_short_for_their_headers_are_counted_not_fatal(tmp_path: Path) -> None:
    frames = [ether(v4_ike())[:20], ether(b""), b"\x01", ether(v4_ike())[:40], ether(v4_ike())]
    items, stats = both(capture(tmp_path, frames))
    assert [d.frame for d in datagrams(items)] == [5]
    assert stats.frames == 5 and stats.undecodable_frames >= 1


# --- IPv6 extension headers -------------------------------------------------------------------------------
def test_ipv6_extension_headers_are_walked(tmp_path: Path) -> None:
    chain = ipv6_ext(43, b"\0" * 6) + ipv6_ext(60, b"\x00\x04" + b"\0" * 4) + ipv6_ext(17, b"\1\2" + b"\0" * 12)
    plain = v6_ike()
    walked = ipv6("2001:db8::1", "2001:db8::2", 0, chain + udp(500, 500, MESSAGE))      # hop-by-hop first
    atomic = ipv6("2001:db8::1", "2001:db8::2", 44, ipv6_fragment_header(17, 0, False, 9) + udp(500, 500, MESSAGE))
    esp_after = ipv6("2001:db8::1", "2001:db8::2", 60, ipv6_ext(50) + esp(0xBEEF, 3))
    items, stats = both(capture(tmp_path, [ether(p, 0x86DD) for p in (plain, walked, atomic, esp_after)]))
    first, second, third = datagrams(items)
    assert (first.frame, second.frame, third.frame) == (1, 2, 3)
    assert first.data == second.data == third.data == MESSAGE
    assert (second.src, second.sport, second.dst, second.dport) == (first.src, first.sport, first.dst, first.dport)
    assert stats.esp_flows[(0xBEEF, "2001:db8::1", "2001:db8::2", "esp")].packets == 1


# --- IP fragments -----------------------------------------------------------------------------------------
def fragments_v4(payload: bytes, sizes: list[int], ident: int = 77, src: str = "192.0.2.1",
                 dst: str = "198.51.100.2", protocol: int = 17) -> list[bytes]:
    pieces, offset = [], 0
    for index, size in enumerate(sizes):
        chunk = payload[offset:offset + size]
        more = index < len(sizes) - 1
        pieces.append(ipv4(src, dst, protocol, chunk, ident=ident, offset=offset, more=more))
        offset += size
    return pieces


BIG = ike_message(spi_i=0x0102030405060708, exchange=35, message_id=1, body=bytes(range(256)) * 12)
BIG_UDP = udp(4500, 4500, b"\0\0\0\0" + BIG)


@pytest.mark.parametrize("order", [[0, 1, 2], [2, 0, 1], [1, 2, 0]])
def test_ipv4_fragments_are_reassembled_at_the_completing_frame(tmp_path: Path, order: list[int]) -> None:
    pieces = fragments_v4(BIG_UDP, [1480, 1480, 200])
    frames = [ether(v4_ike())] + [ether(pieces[i]) for i in order] + [ether(v4_ike())]
    path = capture(tmp_path, [Record(f, T0 + i) for i, f in enumerate(frames)])
    items, stats = both(path)
    assert [d.frame for d in datagrams(items)] == [1, 4, 5]
    reassembled = datagrams(items)[1]
    assert reassembled.data == BIG and reassembled.transport == "udp-encap"
    assert reassembled.frames == (2, 3, 4) and reassembled.time == T0 + 3
    assert stats.ip_fragments == 3 and stats.reassembled_datagrams == 1
    if shutil.which("tshark"):
        output = subprocess.run(["tshark", "-n", "-r", str(path), "-Y", "isakmp", "-T", "fields", "-e", "frame.number"],
                                capture_output=True, text=True, check=False).stdout
        assert output.split() == ["1", "4", "5"]


def test_duplicate_and_overlapping_fragments_follow_wireshark(tmp_path: Path) -> None:
    # Wireshark lays fragments down in order of offset (then of arrival) and each adds only the octets
    # past those already placed: a second copy of a fragment changes nothing, while a fragment
    # starting earlier than another supplies the octets where they overlap (checked against tshark).
    pieces = fragments_v4(BIG_UDP, [1480, 1480, 200])
    altered = ipv4("192.0.2.1", "198.51.100.2", 17, b"\xff" * 1480, ident=77, offset=1480, more=True)
    overlap = ipv4("192.0.2.1", "198.51.100.2", 17, b"\xee" * 64, ident=77, offset=1472, more=True)
    frames = [pieces[0], pieces[1], altered, overlap, pieces[2]]
    path = capture(tmp_path, [ether(p) for p in frames])
    items, _ = both(path)
    (datagram,) = datagrams(items)
    expected_udp = BIG_UDP[:1480] + b"\xee" * 56 + BIG_UDP[1536:]
    assert datagram.frame == 5 and datagram.frames == (1, 2, 3, 4, 5)
    assert datagram.data == expected_udp[12:]
    if shutil.which("tshark"):
        output = subprocess.run(["tshark", "-n", "-r", str(path), "-T", "fields", "-e", "udp.payload"],
                                capture_output=True, text=True, check=False).stdout
        assert bytes.fromhex(output.split()[-1]) == expected_udp[8:]


def test_a_repeated_complete_set_of_fragments_is_reassembled_twice(tmp_path: Path) -> None:
    pieces = fragments_v4(BIG_UDP, [1480, 1480, 200])
    items, stats = both(capture(tmp_path, [ether(p) for p in pieces + pieces]))
    assert [d.frame for d in datagrams(items)] == [3, 6]
    assert stats.reassembled_datagrams == 2


def test_fragments_that_never_complete_time_out_with_a_problem(tmp_path: Path) -> None:
    pieces = fragments_v4(BIG_UDP, [1480, 1480, 200])
    frames = [Record(ether(pieces[0]), T0), Record(ether(pieces[1]), T0 + 1)]
    frames += [Record(ether(v4_ike()), T0 + 10 + i) for i in range(30)]        # time passes...
    frames += [Record(ether(pieces[2]), T0 + 40)]                               # ...too late
    items, stats = both(capture(tmp_path, frames))
    problems = of_type(items, FrameProblem)
    assert len(problems) == 1
    problem = problems[0]
    assert problem.frames == (1, 2) and "reassembly timeout" in problem.text
    assert "192.0.2.1:4500 > 198.51.100.2:4500" in problem.text
    # Reported at the first frame more than 30 s after the first fragment (frame 24, at T0 + 31).
    assert problem.frame == 24
    assert stats.reassembly_timeouts == 1
    assert [d.frame for d in datagrams(items)] == list(range(3, 33))
    frames_seen = [getattr(item, "frame", 0) for item in items]
    assert frames_seen == sorted(frames_seen)


def test_fragments_incomplete_at_the_end_are_reported(tmp_path: Path) -> None:
    pieces = fragments_v4(BIG_UDP, [1480, 1480, 200])
    other = fragments_v4(b"x" * 3000, [1480, 1520], ident=5, protocol=17)            # not UDP/IKE: silent
    items, stats = both(capture(tmp_path, [ether(pieces[0]), ether(pieces[2]), ether(other[0]), ether(v4_ike())]))
    problems = of_type(items, FrameProblem)
    assert len(problems) == 1 and "still incomplete at the end" in problems[0].text
    assert problems[0].frames == (1, 2) and problems[0].frame == 4
    assert stats.reassembly_incomplete == 2


def test_a_first_fragment_cut_by_the_snap_length_is_dissected_as_it_is(tmp_path: Path) -> None:
    # Wireshark does not reassemble fragments the capture does not hold whole; it dissects a first
    # fragment as it is, and not the later ones.
    pieces = fragments_v4(BIG_UDP, [1480, 1480, 200])
    frames = [ether(pieces[0])[:300], ether(pieces[1]), ether(pieces[2])]
    items, _ = both(capture(tmp_path, frames))
    (datagram,) = datagrams(items)
    assert datagram.frame == 1 and datagram.truncated
    assert datagram.data == BIG[:300 - 14 - 20 - 8 - 4]


def test_ipv6_fragments_are_reassembled(tmp_path: Path) -> None:
    payload = udp(500, 500, BIG)
    cut = 1448
    first = ipv6("2001:db8::1", "2001:db8::2", 44, ipv6_fragment_header(17, 0, True, 0x1234) + payload[:cut])
    second = ipv6("2001:db8::1", "2001:db8::2", 44, ipv6_fragment_header(17, cut, False, 0x1234) + payload[cut:])
    items, stats = both(capture(tmp_path, [ether(second, 0x86DD), ether(first, 0x86DD)]))
    (datagram,) = datagrams(items)
    assert datagram.frame == 2 and datagram.data == BIG and datagram.frames == (1, 2)
    assert stats.ip_fragments == 2


def test_reassembly_memory_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ikesniff.capture import reassembly

    monkeypatch.setattr(reassembly, "MAX_IN_FLIGHT", 4)
    frames = [ether(fragments_v4(BIG_UDP, [1480, 1480, 200], ident=i)[0]) for i in range(10)]
    items, stats = both(capture(tmp_path, frames))
    assert stats.reassembly_dropped >= 6
    assert len(of_type(items, FrameProblem)) == 10     # 6 given up on the way, 4 incomplete at the end


# --- UDP encapsulation rules ------------------------------------------------------------------------------
def test_udp_ports_and_payloads(tmp_path: Path) -> None:
    marker = b"\0\0\0\0"
    frames = [
        v4_ike(500, 500),                                        # 1 plain ISAKMP
        v4_ike(4500, 4500, marker + MESSAGE),                    # 2 NAT-T: marker removed
        v4_ike(4500, 4500, esp(0x11223344, 9)),                  # 3 ESP in UDP
        v4_ike(4500, 61000, b"\xff"),                            # 4 NAT keepalive
        v4_ike(61000, 500, MESSAGE),                             # 5 NAT'd client to 500
        v4_ike(4500, 500, marker + MESSAGE),                     # 6 500 and 4500: the lower port (500) decides
        v4_ike(4500, 4500, b"\0\0"),                             # 7 too short for anything: a problem
        v4_ike(5000, 5001, MESSAGE),                             # 8 not an IKE port
        v4_ike(500, 500, b"\xff"),                               # 9 on 500 a lone 0xFF is (malformed) ISAKMP
        v4_ike(4500, 4500, marker),                              # 10 marker and nothing else
    ]
    items, stats = both(capture(tmp_path, [ether(f) for f in frames]))
    found = {d.frame: (d.transport, d.data) for d in datagrams(items)}
    assert found == {1: ("udp", MESSAGE), 2: ("udp-encap", MESSAGE), 5: ("udp", MESSAGE),
                     6: ("udp", marker + MESSAGE), 9: ("udp", b"\xff"), 10: ("udp-encap", b"")}
    assert stats.esp_in_udp_packets == 1 and stats.nat_keepalives == 1
    assert stats.esp_flows[(0x11223344, "192.0.2.1", "198.51.100.2", "udp-encap")].packets == 1
    (problem,) = of_type(items, FrameProblem)
    assert problem.frame == 7 and "neither a NAT keepalive" in problem.text


def test_another_ike_port_reads_like_4500_with_the_marker_and_like_500_without(tmp_path: Path) -> None:
    frames = [v4_ike(4501, 4501, b"\0\0\0\0" + MESSAGE), v4_ike(4501, 61000, MESSAGE), v4_ike(4501, 4501, b"\xff")]
    items, stats = both(capture(tmp_path, [ether(f) for f in frames]), ike_ports=frozenset({500, 4500, 4501}))
    assert [(d.frame, d.transport, d.data) for d in datagrams(items)] == [(1, "udp-encap", MESSAGE),
                                                                          (2, "udp", MESSAGE)]
    assert stats.nat_keepalives == 1
    items, _ = both(capture(tmp_path, [ether(f) for f in frames], name="d.pcap"))
    assert datagrams(items) == []                              # 4501 is not an IKE port by default


def test_a_datagram_cut_by_the_snap_length_is_flagged(tmp_path: Path) -> None:
    items, _ = both(capture(tmp_path, [ether(v4_ike())[:80]]))
    (datagram,) = datagrams(items)
    assert datagram.truncated and datagram.data == MESSAGE[:80 - 42]


# --- ESP and AH accounting --------------------------------------------------------------------------------
def test_esp_counts_are_exact_per_spi_direction_and_transport(tmp_path: Path) -> None:
    rng = random.Random(3)
    kinds = [
        ("esp", 0x100, "192.0.2.1", "198.51.100.2", 0, 0),
        ("esp", 0x200, "198.51.100.2", "192.0.2.1", 0, 0),
        ("esp", 0x100, "192.0.2.9", "198.51.100.2", 0, 0),        # same SPI, other source: another flow
        ("udp-encap", 0x300, "192.0.2.1", "198.51.100.2", 4500, 4500),
        ("udp-encap", 0x300, "192.0.2.1", "198.51.100.2", 4500, 62000),
        ("esp6", 0x400, "2001:db8::1", "2001:db8::2", 0, 0),
        ("vlan", 0x500, "192.0.2.1", "198.51.100.2", 0, 0),
    ]
    frames, expected = [], Counter()
    first_seen: dict[tuple[int, str, str, str], int] = {}
    for index in range(30000):
        kind, spi, src, dst, sport, dport = rng.choice(kinds)
        if kind == "esp6":
            frame = ether(ipv6(src, dst, 50, esp(spi, index)), 0x86DD)
        elif kind == "udp-encap":
            frame = ether(ipv4(src, dst, 17, udp(sport, dport, esp(spi, index))))
        else:
            frame = ether(ipv4(src, dst, 50, esp(spi, index)), vlans=[(0x8100, 5)] if kind == "vlan" else [])
        if index % 997 == 0:
            frame = ether(v4_ike())
        else:
            transport = "udp-encap" if kind == "udp-encap" else "esp"
            expected[(spi, src, dst, transport, sport, dport)] += 1
            first_seen.setdefault((spi, src, dst, transport), index + 1)
        frames.append(frame)
    path = capture(tmp_path, frames)
    for batch_size in (1000, 16384):
        stats = CaptureStats()
        items = list(read_capture(str(path), stats, batch_size=batch_size, worker="never"))
        counted = Counter()
        for sighting in of_type(items, EspSighting):
            counted[(sighting.spi, sighting.src, sighting.dst, sighting.transport, sighting.sport,
                     sighting.dport)] += sighting.packets
        assert counted == expected
        totals = Counter()
        for (spi, src, dst, transport), flow in stats.esp_flows.items():
            totals[(spi, src, dst, transport)] += flow.packets
            assert flow.first_frame == first_seen[(spi, src, dst, transport)]
        assert sum(totals.values()) == sum(expected.values())
        frames_in_order = [getattr(item, "frame", None) or item.first_frame for item in items]
        assert frames_in_order == sorted(frames_in_order)


def test_esp_flow_table_collisions_stay_exact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ikesniff.capture import flows

    monkeypatch.setattr(flows._KnownFlows, "PROBES", 1)
    frames = [ether(ipv4(f"10.0.{i % 50}.1", "10.9.9.9", 50, esp(1000 + i % 300, i))) for i in range(20000)]
    stats = CaptureStats()
    list(read_capture(str(capture(tmp_path, frames)), stats, batch_size=2048, worker="never"))
    assert len(stats.esp_flows) == 300 and sum(f.packets for f in stats.esp_flows.values()) == 20000


def test_flows_beyond_the_limit_are_counted_but_not_told_apart(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from ikesniff.capture import flows

    monkeypatch.setattr(flows, "MAX_FLOWS", 10)
    frames = [ether(ipv4("10.0.0.1", "10.0.0.2", 50, esp(i, 1))) for i in range(25)]
    _, stats = both(capture(tmp_path, frames))
    assert len(stats.esp_flows) == 10 and stats.untracked_flow_packets == 15 and stats.esp_packets == 25


def test_ah_is_counted_per_spi_but_not_handed_on(tmp_path: Path) -> None:
    frames = [ether(ipv4("192.0.2.1", "198.51.100.2", 51, ah(0x777, seq=i))) for i in range(5)]
    frames.append(frame_for(ETHERNET, ipv6("2001:db8::1", "2001:db8::2", 51, ah(0x778))))
    items, stats = both(capture(tmp_path, frames))
    assert of_type(items, EspSighting) == []
    assert stats.ah_packets == 6
    assert stats.ah_flows[(0x777, "192.0.2.1", "198.51.100.2", "ah")].packets == 5


# --- ICMP errors ------------------------------------------------------------------------------------------
def test_icmp_errors_about_ike_packets(tmp_path: Path) -> None:
    quoted_nat_t = v4_ike(4500, 4500, b"\0\0\0\0" + MESSAGE)[:28]
    quoted_500 = v4_ike(500, 500)[:28]
    quoted_dns = ipv4("192.0.2.1", "198.51.100.2", 17, udp(5353, 53, b"q"))
    router = "203.0.113.1"
    frames = [
        ipv4(router, "192.0.2.1", 1, icmp(3, 4, quoted_nat_t, rest=1400)),       # fragmentation needed
        ipv4("198.51.100.2", "192.0.2.1", 1, icmp(3, 3, quoted_500)),            # port unreachable
        ipv4(router, "192.0.2.1", 1, icmp(11, 0, quoted_500)),                   # TTL exceeded
        ipv4(router, "192.0.2.1", 1, icmp(3, 3, quoted_dns)),                    # not about IKE
        ipv4(router, "192.0.2.1", 1, icmp(8, 0, b"ping")),                       # not an error
        ipv6("2001:db8::ff", "2001:db8::1", 58, icmp(2, 0, v6_ike()[:48], rest=1280)),   # packet too big
    ]
    items, _ = both(capture(tmp_path, [frame_for(ETHERNET, f) for f in frames]))
    errors = of_type(items, IcmpError)
    assert [(e.frame, e.description) for e in errors] == [
        (1, "fragmentation needed (MTU 1400)"), (2, "port unreachable"), (3, "time to live exceeded in transit"),
        (6, "packet too big (MTU 1280)")]
    first = errors[0]
    assert (first.src, first.dst, first.icmp_type, first.icmp_code) == (router, "192.0.2.1", 3, 4)
    assert (first.quoted_src, first.quoted_dst, first.quoted_sport, first.quoted_dport) == (
        "192.0.2.1", "198.51.100.2", 4500, 4500)
    assert errors[3].quoted_src == "2001:db8::1"


@pytest.mark.parametrize("worker", ["never", "always"])
def test_sightings_per_window_are_exact_and_in_frame_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           worker: str) -> None:
    from ikesniff.capture import pipeline

    monkeypatch.setattr(pipeline, "WINDOW_FRAMES", 3000)
    rng = random.Random(11)
    frames, expected = [], Counter()
    for index in range(20000):
        if index % 101 == 0:
            frames.append(ether(v4_ike()))
            continue
        spi = rng.choice([0x10, 0x20, 0x30])
        frames.append(ether(ipv4("192.0.2.1", "198.51.100.2", 50, esp(spi, index))))
        expected[spi] += 1
    stats = CaptureStats()
    items = list(read_capture(str(capture(tmp_path, frames)), stats, batch_size=1024, worker=worker))
    sightings = of_type(items, EspSighting)
    assert len(sightings) >= 3 * 6                      # three flows in each of the (at least) 6 windows
    counted = Counter()
    for sighting in sightings:
        counted[sighting.spi] += sighting.packets
        assert sighting.first_frame <= sighting.last_frame
    assert counted == expected
    assert {key[0]: flow.packets for key, flow in stats.esp_flows.items()} == dict(expected)
    order = [item.first_frame if isinstance(item, EspSighting) else item.frame for item in items]
    assert order == sorted(order)
    assert [d.frame for d in datagrams(items)] == [i + 1 for i in range(0, 20000, 101)]


def test_a_live_style_window_of_one_batch_hands_everything_on_at_once(tmp_path: Path) -> None:
    from ikesniff.capture.files import FileSource
    from ikesniff.capture.pipeline import read_batches

    frames = [ether(ipv4("192.0.2.1", "198.51.100.2", 50, esp(0x10, i))) for i in range(5000)]
    frames[2500] = ether(v4_ike())
    path = capture(tmp_path, frames)
    batches = [(batch.first_frame, batch.first_frame + len(batch) - 1)
               for batch in FileSource(str(path), "python", batch_size=1000).batches()]
    source = FileSource(str(path), "python", batch_size=1000)
    items = list(read_batches(source, CaptureStats(), frozenset({500, 4500}), window_frames=1))
    # One sighting per batch, covering exactly that batch's frames, and nothing held back.
    sightings = [(s.first_frame, s.last_frame) for s in of_type(items, EspSighting)]
    assert sightings == batches
    assert sum(s.packets for s in of_type(items, EspSighting)) == 4999
    order = [item.first_frame if isinstance(item, EspSighting) else item.frame for item in items]
    assert order == sorted(order)
