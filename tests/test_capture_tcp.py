"""RFC 8229 (IKE and ESP in TCP): no public capture has it, so the streams are built here with scapy, to reach
the corners (records split, joined, reordered and retransmitted, IPv6, a stream picked up midway, broken
framing, resets, IP fragments). Real streams of real pluto daemons are in the mixed lab
(pcaps/peers/libreswan-pair-ikev2-tcp-*), checked against tshark in tests/test_peers_diagnosis.py
(test_ike_over_tcp_is_read_as_the_oracle_reads_it)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from test_capture_builders import Record, ike_message, of_type, read_all, write_pcap

from ikesniff.capture import EspSighting, FrameProblem, IkeDatagram

CLIENT, SERVER = "10.0.0.1", "10.0.0.2"
CPORT, SPORT = 50000, 4500


def ike_record(message: bytes) -> bytes:
    body = b"\0\0\0\0" + message
    return struct.pack("!H", len(body) + 2) + body


def esp_record(spi: int, length: int = 60) -> bytes:
    body = struct.pack("!II", spi, 1) + b"\x5a" * length
    return struct.pack("!H", len(body) + 2) + body


MESSAGES = [ike_message(spi_i=0x1111 + i, message_id=i, body=bytes([i]) * (40 + 300 * (i % 3))) for i in range(8)]


class Conversation:
    """Builds the frames of one TCP connection, tracking both sides' sequence numbers."""

    def __init__(self, v6: bool = False, client_isn: int = 1000, server_isn: int = 0xFFFFFF00) -> None:
        self.v6 = v6
        self.seq = {"c": client_isn, "s": server_isn}
        self.frames: list[bytes] = []

    def _ip(self, side: str) -> object:
        src, dst = (CLIENT, SERVER) if side == "c" else (SERVER, CLIENT)
        if self.v6:
            src, dst = ("2001:db8::1", "2001:db8::2") if side == "c" else ("2001:db8::2", "2001:db8::1")
            return IPv6(src=src, dst=dst)
        return IP(src=src, dst=dst)

    def packet(self, side: str, payload: bytes = b"", flags: str = "PA", seq: int | None = None) -> bytes:
        sport, dport = (CPORT, SPORT) if side == "c" else (SPORT, CPORT)
        other = "s" if side == "c" else "c"
        segment = TCP(sport=sport, dport=dport, seq=(self.seq[side] if seq is None else seq) & 0xFFFFFFFF,
                      ack=self.seq[other] & 0xFFFFFFFF, flags=flags)
        frame = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / self._ip(side) / segment
        if payload:
            frame = frame / Raw(payload)
        return bytes(frame)

    def send(self, side: str, payload: bytes = b"", flags: str = "PA") -> bytes:
        frame = self.packet(side, payload, flags)
        self.seq[side] += len(payload) + (1 if ("S" in flags or "F" in flags) else 0)
        self.frames.append(frame)
        return frame

    def handshake(self) -> None:
        self.send("c", flags="S")
        self.send("s", flags="SA")
        self.send("c", flags="A")


def run(tmp_path: Path, frames: list[bytes], **options: object) -> tuple[list[object], object]:
    path = write_pcap(tmp_path / "tcp.pcap", [Record(frame, 1_700_000_000 + i) for i, frame in enumerate(frames)])
    fast = read_all(path, reader="libpcap", **options)
    slow = read_all(path, reader="python", **options)
    assert fast[0] == slow[0]
    return fast


def datagrams(items: list[object]) -> Iterator[tuple[int, tuple[int, ...], str, int, bytes]]:
    for item in of_type(items, IkeDatagram):
        assert item.transport == "tcp-encap"
        yield item.frame, item.frames, item.src, item.sport, item.data


@pytest.mark.parametrize("v6", [False, True])
def test_records_split_joined_reordered_and_retransmitted(tmp_path: Path, v6: bool) -> None:
    talk = Conversation(v6=v6)
    talk.handshake()                                                           # frames 1-3
    talk.send("c", b"IKETCP" + ike_record(MESSAGES[0]))                        # 4: prefix + one record
    talk.send("s", ike_record(MESSAGES[1]))                                    # 5: the answer
    big = ike_record(MESSAGES[2])
    third = len(big) // 3
    talk.send("c", big[:third])                                                # 6  a record in 3 segments
    talk.send("c", big[third:2 * third])                                       # 7
    talk.send("c", big[2 * third:])                                            # 8
    talk.send("s", ike_record(MESSAGES[3]) + ike_record(MESSAGES[4]))         # 9: two records, one segment
    first, second = ike_record(MESSAGES[5]), ike_record(MESSAGES[6])
    start = talk.seq["c"]
    later = talk.packet("c", second, seq=start + len(first))
    talk.frames.append(later)                                                  # 10: arrives first
    talk.send("c", first)                                                      # 11: the gap filled
    talk.seq["c"] += len(second)
    talk.frames.append(talk.frames[-1])                                        # 12: retransmission of 11
    talk.send("c", esp_record(0xC0FFEE))                                       # 13: ESP in the stream
    talk.send("s", ike_record(MESSAGES[7])[:5])                                # 14: starts a record...
    talk.send("c", flags="FA")                                                 # 15
    items, stats = run(tmp_path, talk.frames)
    found = list(datagrams(items))
    client = "2001:db8::1" if v6 else CLIENT
    server = "2001:db8::2" if v6 else SERVER
    assert [(frame, frames, src, sport) for frame, frames, src, sport, _ in found] == [
        (4, (), client, CPORT), (5, (), server, SPORT), (8, (6, 7, 8), client, CPORT), (9, (), server, SPORT),
        (9, (), server, SPORT), (11, (), client, CPORT), (11, (10,), client, CPORT)]
    assert [data for *_, data in found] == [MESSAGES[i] for i in (0, 1, 2, 3, 4, 5, 6)]
    assert stats.tcp_ike_records == 7 and stats.esp_in_tcp_packets == 1
    (sighting,) = of_type(items, EspSighting)
    assert (sighting.spi, sighting.transport, sighting.first_frame) == (0xC0FFEE, "tcp-encap", 13)
    assert of_type(items, FrameProblem) and "ends inside a record" in of_type(items, FrameProblem)[-1].text


def test_a_stream_picked_up_mid_connection(tmp_path: Path) -> None:
    talk = Conversation()
    talk.send("c", ike_record(MESSAGES[0]))          # no SYN seen: this segment starts a record
    talk.send("s", ike_record(MESSAGES[1]))
    items, _ = run(tmp_path, talk.frames)
    assert [frame for frame, *_ in datagrams(items)] == [1, 2]


def test_broken_framing_is_a_problem_and_the_direction_is_dropped(tmp_path: Path) -> None:
    talk = Conversation()
    talk.handshake()
    talk.send("c", b"IKETCP" + b"\x00\x03zzz")        # a record length of 3: impossible
    talk.send("c", ike_record(MESSAGES[0]))
    talk.send("s", ike_record(MESSAGES[1]))           # the other direction still works
    items, _ = run(tmp_path, talk.frames)
    (problem,) = of_type(items, FrameProblem)
    assert problem.frame == 4 and "framing broken (record length 3)" in problem.text
    assert [frame for frame, *_ in datagrams(items)] == [6]


def test_reset_forgets_the_connection_and_a_new_syn_starts_afresh(tmp_path: Path) -> None:
    talk = Conversation()
    talk.handshake()
    talk.send("c", b"IKETCP" + ike_record(MESSAGES[0])[:10])      # 4: half a record...
    talk.send("s", flags="RA")                                     # 5: ...then a reset
    again = Conversation(client_isn=777)
    again.handshake()
    again.send("c", b"IKETCP" + ike_record(MESSAGES[2]))          # 9
    items, _ = run(tmp_path, talk.frames + again.frames)
    assert [(frame, data) for frame, _, _, _, data in datagrams(items)] == [(9, MESSAGES[2])]
    problems = of_type(items, FrameProblem)
    assert len(problems) == 1 and problems[0].frame == 5 and "closed inside a record" in problems[0].text


def test_tcp_on_port_500_is_not_rfc_8229(tmp_path: Path) -> None:
    frame = bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src=CLIENT, dst=SERVER) / TCP(sport=500, dport=500, flags="PA") /
                  Raw(ike_record(MESSAGES[0])))
    items, _ = run(tmp_path, [frame])
    assert items == []


def test_another_ike_port_carries_rfc_8229_too(tmp_path: Path) -> None:
    frame = bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src=CLIENT, dst=SERVER) / TCP(sport=40000, dport=8443, flags="PA") /
                  Raw(b"IKETCP" + ike_record(MESSAGES[0])))
    items, _ = run(tmp_path, [frame], ike_ports=frozenset({500, 4500, 8443}))
    assert [frame for frame, *_ in datagrams(items)] == [1]


def test_fragmented_tcp_segment_is_reassembled_first(tmp_path: Path) -> None:
    segment = bytes(IP(src=CLIENT, dst=SERVER, id=9) / TCP(sport=CPORT, dport=SPORT, flags="PA", seq=5) /
                    Raw(b"IKETCP" + ike_record(MESSAGES[1])))
    header, body = segment[:20], segment[20:]
    cut = 160
    first = bytearray(header)
    first[6:8] = struct.pack("!H", 0x2000)
    first[2:4] = struct.pack("!H", 20 + cut)
    second = bytearray(header)
    second[6:8] = struct.pack("!H", cut // 8)
    second[2:4] = struct.pack("!H", 20 + len(body) - cut)
    frames = [bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / Raw(bytes(first) + body[:cut])), bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / Raw(bytes(second) + body[cut:]))]
    frames = [f[:12] + b"\x08\x00" + f[14:] for f in frames]
    items, _ = run(tmp_path, frames)
    assert [(frame, data) for frame, _, _, _, data in datagrams(items)] == [(2, MESSAGES[1])]
