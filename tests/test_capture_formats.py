"""Capture file formats: pcap (every magic), pcapng (interfaces, blocks, sections), gzip, standard
input, and damaged files. Each test reads through both readers (libpcap where it can, pure Python)."""

from __future__ import annotations

import gzip
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from test_capture_builders import (
    ETHERNET,
    PCAP_MAGICS,
    RAW,
    SLL,
    Interface,
    Record,
    Section,
    ether,
    frame_for,
    ike_message,
    ipv4,
    ipv6,
    of_type,
    pcap_bytes,
    pcapng_block,
    read_all,
    udp,
    write_mixed_pcap,
    write_pcap,
    write_pcapng,
)

from ikesniff.capture import CaptureError, FrameProblem, IkeDatagram
from ikesniff.capture.files import FileSource

READERS = ["libpcap", "python"]
T0 = 1_600_000_000.25


def ike_packet(index: int, version: int = 4) -> bytes:
    message = ike_message(spi_i=0x1000 + index, body=bytes(index % 7))
    if version == 6:
        return ipv6("2001:db8::1", "2001:db8::2", 17, udp(500, 500, message))
    return ipv4("10.0.0.1", "10.0.0.2", 17, udp(500, 500, message))


def other_packet(index: int) -> bytes:
    return ipv4("10.0.0.1", "10.0.0.9", 17, udp(40000 + index % 1000, 53, b"dns query"))


def frames_of(items: list[object]) -> list[int]:
    return [item.frame for item in of_type(items, IkeDatagram)]


def tshark_frames(path: Path) -> list[int] | None:
    if not shutil.which("tshark"):
        return None
    output = subprocess.run(["tshark", "-n", "-r", str(path), "-Y", "isakmp", "-T", "fields", "-e", "frame.number"],
                            capture_output=True, text=True, check=False).stdout
    return [int(line) for line in output.split()]


# --- pcap -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", sorted(PCAP_MAGICS))
@pytest.mark.parametrize("reader", READERS)
def test_every_pcap_magic_and_byte_order(tmp_path: Path, variant: str, reader: str) -> None:
    records = [Record(ether(ike_packet(i) if i % 2 else other_packet(i)), T0 + i * 0.001) for i in range(10)]
    path = write_pcap(tmp_path / "c.pcap", records, variant=variant)
    items, stats = read_all(path, reader=reader)
    assert frames_of(items) == [2, 4, 6, 8, 10]
    assert stats.frames == 10
    datagram = of_type(items, IkeDatagram)[0]
    assert datagram.data == ike_message(spi_i=0x1001, body=bytes(1))
    assert datagram.time == pytest.approx(T0 + 0.001, abs=1e-6)


def test_nanosecond_pcap_keeps_nanoseconds_in_the_python_reader(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "ns.pcap", [Record(ether(ike_packet(1)), 1_600_000_000.123456789)],
                      variant="le-nsec")
    items, _ = read_all(path, reader="python")
    assert of_type(items, IkeDatagram)[0].time == pytest.approx(1_600_000_000.123456789, abs=1e-9)


@pytest.mark.parametrize("link_type", [ETHERNET, RAW, SLL])
def test_libpcap_is_used_for_plain_pcap(tmp_path: Path, link_type: int) -> None:
    path = write_pcap(tmp_path / "c.pcap", [frame_for(link_type, ike_packet(1))], link_type)
    source = FileSource(str(path), "auto")
    list(source.batches())
    assert source.reader_used == "libpcap"


# --- pcapng -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("reader", ["auto", "python"])
def test_pcapng_interfaces_of_different_link_types_keep_frame_numbers(tmp_path: Path, reader: str) -> None:
    interfaces = [Interface(ETHERNET), Interface(RAW), Interface(SLL)]
    records = []
    for index in range(12):
        interface = index % 3
        packet = ike_packet(index) if index % 4 == 1 else other_packet(index)
        link = interfaces[interface].link_type
        records.append(Record(frame_for(link, packet), T0 + index, interface))
    path = write_pcapng(tmp_path / "three.pcapng", [Section(interfaces, records)])
    items, stats = read_all(path, reader=reader)
    assert frames_of(items) == [2, 6, 10]
    assert stats.link_types == {ETHERNET, RAW, SLL}
    assert [round(item.time) for item in of_type(items, IkeDatagram)] == [round(T0) + 1, round(T0) + 5,
                                                                         round(T0) + 9]
    assert tshark_frames(path) in (None, [2, 6, 10])


def test_libpcap_failing_part_way_resumes_in_python_without_repeating_frames(tmp_path: Path) -> None:
    # The second interface (another link type) is described only after 40000 frames: libpcap reads
    # those, then refuses the new interface; the Python reader takes over at the next frame.
    first = [Record(ether(ike_packet(i) if i % 1000 == 7 else other_packet(i)), T0 + i * 1e-4) for i in range(40000)]
    later = [Record(frame_for(RAW, ike_packet(i)), T0 + 5, 1) for i in range(3)]
    data = (pcapng_bytes_single([Interface(ETHERNET)], first)
            + pcapng_block(1, struct.pack("<HHI", RAW, 0, 0))
            + b"".join(pcapng_block(6, struct.pack("<IIIII", 1, 0, 0, len(r.data), len(r.data)) + r.data)
                       for r in later))
    path = tmp_path / "late.pcapng"
    path.write_bytes(data)
    source = FileSource(str(path), "auto", batch_size=16384)
    batches = list(source.batches())
    assert source.reader_used == "libpcap+python"
    # The batches tile the frames with neither gap nor overlap; the last one comes from the Python reader.
    assert [batch.first_frame for batch in batches] == [1] + [b.first_frame + len(b) for b in batches[:-1]]
    assert batches[-1].first_frame == 40001 and len(batches[-1]) == 3
    items, _ = read_all(path, reader="auto")
    expected = [i + 1 for i in range(40000) if i % 1000 == 7] + [40001, 40002, 40003]
    assert frames_of(items) == expected
    assert read_all(path, reader="python")[0] == items


def pcapng_bytes_single(interfaces: list[Interface], records: list[Record]) -> bytes:
    from test_capture_builders import pcapng_bytes

    return pcapng_bytes([Section(interfaces, list(records))])


@pytest.mark.parametrize("resolution, when", [(9, 1_600_000_000.123456789), (3, 1_600_000_000.125),
                                              (0x80 | 20, 1_600_000_000.5)])
def test_pcapng_timestamp_resolution(tmp_path: Path, resolution: int, when: float) -> None:
    path = write_pcapng(tmp_path / "r.pcapng", [Section([Interface(ETHERNET, tsresol=resolution)],
                                                        [Record(ether(ike_packet(1)), when)])])
    for reader in ("auto", "python"):
        items, _ = read_all(path, reader=reader)
        assert of_type(items, IkeDatagram)[0].time == pytest.approx(when, abs=1.5e-6)


@pytest.mark.parametrize("block", ["spb", "pb"])
@pytest.mark.parametrize("reader", ["auto", "python"])
def test_pcapng_simple_and_obsolete_packet_blocks(tmp_path: Path, block: str, reader: str) -> None:
    records = [ether(ike_packet(i) if i % 2 else other_packet(i)) for i in range(6)]
    path = write_pcapng(tmp_path / "b.pcapng", [Section([Interface(ETHERNET)], list(records), packet_block=block)])
    items, _ = read_all(path, reader=reader)
    assert frames_of(items) == [2, 4, 6]
    assert of_type(items, IkeDatagram)[0].data == ike_message(spi_i=0x1001, body=bytes(1))


@pytest.mark.parametrize("reader", ["auto", "libpcap", "python"])
def test_pcapng_unknown_blocks_are_skipped_and_blocks_wireshark_numbers_count(tmp_path: Path, reader: str) -> None:
    unknown = pcapng_block(0x12345678, b"whatever")
    statistics = pcapng_block(5, struct.pack("<IIII", 0, 0, 0, 0))
    custom = pcapng_block(0x00000BAD, struct.pack("<I", 32473) + b"custom data")
    journal = pcapng_block(9, b"__REALTIME_TIMESTAMP=1600000000000000\nMESSAGE=hello\n")
    records = [ether(ike_packet(i)) for i in range(5)]
    section = Section([Interface(ETHERNET)], list(records),
                      extra_blocks=[(1, unknown), (2, custom), (3, journal), (4, statistics)])
    path = write_pcapng(tmp_path / "blocks.pcapng", [section])
    items, stats = read_all(path, reader=reader)
    if reader == "libpcap":
        # Forced through libpcap, the custom and journal blocks vanish: frames shift (why "auto" avoids it).
        assert frames_of(items) == [1, 2, 3, 4, 5]
        return
    # Wireshark 4.0 shows the custom block and the journal entry as frames of their own (3 and 5).
    assert frames_of(items) == [1, 2, 4, 6, 7]
    assert stats.frames == 7
    assert tshark_frames(path) in (None, [1, 2, 4, 6, 7])


@pytest.mark.parametrize("reader", ["auto", "python"])
def test_pcapng_several_sections_in_both_byte_orders(tmp_path: Path, reader: str) -> None:
    sections = [
        Section([Interface(ETHERNET)], [ether(ike_packet(0)), ether(other_packet(1))]),
        Section([Interface(RAW)], [ike_packet(2), other_packet(3)], little_endian=False),
        Section([Interface(ETHERNET, tsresol=9)], [Record(ether(ike_packet(4)), T0)]),
    ]
    path = write_pcapng(tmp_path / "sections.pcapng", sections)
    items, _ = read_all(path, reader=reader)
    assert frames_of(items) == [1, 3, 5]
    assert tshark_frames(path) in (None, [1, 3, 5])


# --- compression and standard input ---------------------------------------------------------------------
def test_gzip_is_detected_by_its_magic_not_by_the_name(tmp_path: Path) -> None:
    records = [ether(ike_packet(i)) for i in range(3)]
    plain = write_pcap(tmp_path / "plain.pcap.gz", records)                      # named .gz, not compressed
    zipped = write_pcap(tmp_path / "zipped.pcap", records, compress=True)        # compressed, named .pcap
    zipped_ng = write_pcapng(tmp_path / "zipped.pcapng", [Section([Interface(ETHERNET)], list(records))],
                             compress=True)
    expected = read_all(plain)[0]
    assert frames_of(expected) == [1, 2, 3]
    assert read_all(zipped)[0] == expected
    assert read_all(zipped_ng)[0] == expected


READ_STDIN = """
import sys
from ikesniff.capture import CaptureStats, IkeDatagram, read_capture
stats = CaptureStats()
frames = [item.frame for item in read_capture("-", stats) if isinstance(item, IkeDatagram)]
print(frames, stats.frames)
"""


@pytest.mark.parametrize("compress", [False, True])
def test_standard_input_is_read_as_a_stream(tmp_path: Path, compress: bool) -> None:
    records = [ether(ike_packet(i) if i % 3 == 0 else other_packet(i)) for i in range(3000)]
    data = pcap_bytes(records)
    result = subprocess.run([sys.executable, "-c", READ_STDIN], input=gzip.compress(data) if compress else data,
                            capture_output=True, check=True, timeout=60)
    frames, count = result.stdout.decode().rsplit(" ", 1)
    assert frames == str([i + 1 for i in range(3000) if i % 3 == 0])
    assert int(count) == 3000


def test_standard_input_that_is_not_a_capture_is_a_one_line_error() -> None:
    code = ("from ikesniff.capture import CaptureError, CaptureStats, read_capture\n"
            "try:\n    read_capture('-', CaptureStats())\nexcept CaptureError as e:\n    print(e)\n")
    result = subprocess.run([sys.executable, "-c", code], input=b"hello world", capture_output=True, check=True)
    assert result.stdout.decode().strip() == "<stdin>: not a pcap or pcapng file (magic 0x68656c6c)"


# --- damaged and wrong inputs ---------------------------------------------------------------------------
@pytest.mark.parametrize("reader", READERS)
def test_truncated_last_record_ends_with_a_frame_problem(tmp_path: Path, reader: str) -> None:
    data = pcap_bytes([ether(ike_packet(i)) for i in range(5)])
    path = tmp_path / "cut.pcap"
    path.write_bytes(data[:-10])
    items, stats = read_all(path, reader=reader)
    assert frames_of(items) == [1, 2, 3, 4]
    problem = items[-1]
    assert isinstance(problem, FrameProblem) and problem.frame == 5
    assert "truncated record at frame 5" in problem.text and "cut.pcap" in problem.text
    assert stats.problems == 1 and stats.frames == 4


@pytest.mark.parametrize("reader", READERS)
def test_truncated_record_header_at_the_end(tmp_path: Path, reader: str) -> None:
    data = pcap_bytes([ether(ike_packet(i)) for i in range(2)]) + b"\x01\x02\x03"
    path = tmp_path / "tail.pcap"
    path.write_bytes(data)
    items, _ = read_all(path, reader=reader)
    assert frames_of(items) == [1, 2]
    assert isinstance(items[-1], FrameProblem) and "truncated record header at frame 3" in items[-1].text


@pytest.mark.parametrize("reader", READERS)
def test_damaged_record_in_the_middle_keeps_what_was_read(tmp_path: Path, reader: str) -> None:
    good = pcap_bytes([ether(ike_packet(i)) for i in range(3)])
    path = tmp_path / "bad.pcap"
    path.write_bytes(good + struct.pack("<IIII", 0, 0, 0x7FFFFFFF, 10) + b"x" * 100)
    items, _ = read_all(path, reader=reader)
    assert frames_of(items) == [1, 2, 3]
    assert isinstance(items[-1], FrameProblem) and "damaged record header at frame 4" in items[-1].text


def test_truncated_pcapng_block_keeps_what_was_read(tmp_path: Path) -> None:
    path = write_pcapng(tmp_path / "c.pcapng", [Section([Interface(ETHERNET)], [ether(ike_packet(i)) for i in range(4)])])
    path.write_bytes(path.read_bytes()[:-20])
    for reader in ("auto", "python"):
        items, _ = read_all(path, reader=reader)
        assert frames_of(items) == [1, 2, 3]
        assert isinstance(items[-1], FrameProblem) and "truncated block after frame 3" in items[-1].text


@pytest.mark.parametrize("make, words", [
    (lambda d: d / "absent.pcap", "absent.pcap: no such file"),
    (lambda d: d, ": is a directory"),
    (lambda d: _write(d / "empty.pcap", b""), "empty.pcap: empty file"),
    (lambda d: _write(d / "notes.txt", b"hello, this is not a capture\n"),
     "notes.txt: not a pcap or pcapng file (magic 0x68656c6c)"),
    (lambda d: _write(d / "short.pcap", b"\xd4\xc3\xb2\xa1\x02\x00"), "short.pcap: truncated pcap file header (6 octets)"),
    (lambda d: _write(d / "tiny.pcap", b"\xd4\xc3"), "tiny.pcap: too short to be a capture file (2 octets)"),
    (lambda d: _write(d / "garbage.pcap", pcap_bytes([])[:24] + b"\xde\xad\xbe\xef" * 20),
     "garbage.pcap: damaged record header at frame 1"),
    (lambda d: _write(d / "first.pcap", pcap_bytes([b"x" * 100])[:60]), "first.pcap: truncated record at frame 1"),
    (lambda d: _write(d / "empty.pcap.gz", gzip.compress(b"")), "empty.pcap.gz: empty file (after gzip decompression)"),
    (lambda d: _write(d / "broken.gz", b"\x1f\x8b\x08\x00garbage"), "broken.gz: damaged gzip data"),
    (lambda d: _write(d / "text.gz", gzip.compress(b"plain text")), "not a pcap or pcapng gzip-compressed file"),
])
@pytest.mark.parametrize("reader", READERS)
def test_unreadable_input_raises_a_one_line_capture_error(tmp_path: Path, make, words: str, reader: str) -> None:
    path = make(tmp_path)
    with pytest.raises(CaptureError) as raised:
        read_all(path, reader=reader)
    text = str(raised.value)
    assert words in text
    assert "\n" not in text


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_header_only_pcap_is_an_empty_capture(tmp_path: Path) -> None:
    path = _write(tmp_path / "none.pcap", pcap_bytes([]))
    for reader in READERS:
        items, stats = read_all(path, reader=reader)
        assert items == [] and stats.frames == 0


# --- the worker process -----------------------------------------------------------------------------------
def test_worker_and_in_process_give_the_same_items_and_stats(tmp_path: Path) -> None:
    path = write_mixed_pcap(tmp_path / "mixed.pcap", 60_000, ike_share=0.02)
    alone, alone_stats = read_all(path, worker="never")
    forked, forked_stats = read_all(path, worker="always")
    assert alone == forked
    assert alone_stats == forked_stats
    assert len(of_type(alone, IkeDatagram)) > 1000


def test_worker_reports_opening_problems_before_the_first_item(tmp_path: Path) -> None:
    path = _write(tmp_path / "first.pcap", pcap_bytes([b"x" * 100])[:60])
    with pytest.raises(CaptureError, match="first.pcap: truncated record at frame 1"):
        read_all(path, worker="always")


def test_stopping_early_ends_the_worker(tmp_path: Path) -> None:
    from ikesniff.capture import CaptureStats, read_capture

    path = write_mixed_pcap(tmp_path / "mixed.pcap", 200_000, ike_share=0.05)
    items = read_capture(str(path), CaptureStats(), worker="always")
    assert next(iter(items)) is not None
    items.close()  # type: ignore[attr-defined]
    assert not list(items)
