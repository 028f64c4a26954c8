"""The capture layer on every capture of the shared external corpus.

* IKE datagrams come out at exactly the frames where tshark 4.0 dissects ISAKMP (the committed
  `<file>.tshark.tsv` dumps, first column), with the same addresses and ports;
* the libpcap reader, the pure-Python reader and the forked worker give identical item streams.

Where tshark provably cannot agree, KNOWN_DIFFERENCES names the file, the frame and why.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import astuple
from pathlib import Path

import pytest

from ikesniff.capture import CaptureStats, IkeDatagram, read_capture

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "external"
TSV_SUFFIX = ".tshark.tsv"
CAPTURES = sorted(path for path in CORPUS.rglob("*") if path.is_file() and path.name.endswith(
    (".pcap", ".pcapng", ".cap")))

# (capture relative to the corpus, frame) -> why tshark shows no ISAKMP there while we hand on a datagram
KNOWN_DIFFERENCES: dict[tuple[str, int], str] = {
    ("tcpdump/isakmp-pointer-loop.pcap", 1):
        "a UDP 500/500 datagram whose ISAKMP header states a length of 10 (< 28): tshark 4.0's dissector "
        "returns without adding any isakmp field, so -Y isakmp drops the frame; it is still an IKE-port "
        "datagram, and the dissector reports the malformation",
    ("zeek-spicy-ipsec/ipsec-ikev1-zero-length.pcap", 1):
        "a UDP 500/500 datagram whose ISAKMP header length is 0: same as above (MANIFEST 'Known "
        "disagreements')",
}


def _name(path: Path) -> str:
    return str(path.relative_to(CORPUS))


def _tshark_rows(path: Path) -> dict[int, tuple[str, str, int, int]]:
    rows: dict[int, tuple[str, str, int, int]] = {}
    lines = Path(str(path) + TSV_SUFFIX).read_text().splitlines()
    assert lines[0].startswith("frame.number\t")
    for line in lines[1:]:
        cells = line.split("\t")
        rows.setdefault(int(cells[0]), (cells[1], cells[2], int(cells[3]), int(cells[4])))
    return rows


def _datagrams(path: Path, **options: str) -> dict[int, tuple[str, str, int, int]]:
    found: dict[int, tuple[str, str, int, int]] = {}
    for item in read_capture(str(path), CaptureStats(), **options):
        if isinstance(item, IkeDatagram):
            assert item.frame not in found, f"two datagrams at frame {item.frame}"
            found[item.frame] = (item.src, item.dst, item.sport, item.dport)
    return found


def test_the_whole_corpus_is_there() -> None:
    assert len(CAPTURES) >= 60, f"only {len(CAPTURES)} captures under {CORPUS}"
    assert all(Path(str(path) + TSV_SUFFIX).is_file() for path in CAPTURES)


@pytest.mark.parametrize("path", CAPTURES, ids=_name)
@pytest.mark.parametrize("reader", ["libpcap", "python"])
def test_ike_datagrams_sit_at_the_frames_tshark_dissects_as_isakmp(path: Path, reader: str) -> None:
    theirs = _tshark_rows(path)
    ours = _datagrams(path, reader=reader, worker="never")
    name = _name(path)
    for frame in sorted(set(ours) - set(theirs)):
        assert (name, frame) in KNOWN_DIFFERENCES, f"{name} frame {frame}: a datagram tshark does not show"
    for (known_name, frame) in KNOWN_DIFFERENCES:
        if known_name == name:
            assert frame in ours and frame not in theirs, f"{name} frame {frame}: the known difference is gone"
    missing = sorted(set(theirs) - set(ours))
    assert not missing, f"{name}: tshark shows ISAKMP at frames {missing[:20]}, we do not"
    wrong = {frame: (ours[frame], theirs[frame]) for frame in theirs if ours[frame] != theirs[frame]}
    assert not wrong, f"{name}: (ours, tshark's) addresses/ports differ: {dict(list(wrong.items())[:5])}"


def _stream(path: Path, **options: str) -> tuple[list[tuple[object, ...]], CaptureStats]:
    stats = CaptureStats()
    items = [(type(item).__name__, *astuple(item)) for item in read_capture(str(path), stats, **options)]
    return items, stats


def _comparable(stats: CaptureStats) -> tuple[object, ...]:
    flows = sorted((key, astuple(value)[:-2]) for key, value in stats.esp_flows.items())
    counters = {name: value for name, value in vars_of(stats).items() if isinstance(value, int)}
    return tuple(sorted(counters.items())), tuple(flows)


def vars_of(stats: CaptureStats) -> dict[str, object]:
    return {name: getattr(stats, name) for name in stats.__slots__}  # type: ignore[attr-defined]


def _same(ours: list[tuple[object, ...]], theirs: list[tuple[object, ...]]) -> bool:
    """Equal, except that times may differ below a microsecond: libpcap hands on microseconds only,
    the Python reader keeps a pcapng's nanoseconds."""
    if len(ours) != len(theirs):
        return False
    for mine, other in zip(ours, theirs, strict=True):
        if len(mine) != len(other):
            return False
        for a, b in zip(mine, other, strict=True):
            if isinstance(a, float) and isinstance(b, float):
                if abs(a - b) > 1.5e-6:
                    return False
            elif a != b:
                return False
    return True


@pytest.mark.parametrize("path", CAPTURES, ids=_name)
def test_libpcap_python_and_worker_give_identical_streams(path: Path) -> None:
    fast, fast_stats = _stream(path, reader="libpcap", worker="never")
    python, python_stats = _stream(path, reader="python", worker="never")
    forked, forked_stats = _stream(path, reader="auto", worker="always")
    assert _same(fast, python)
    assert fast == forked
    assert _comparable(fast_stats) == _comparable(python_stats) == _comparable(forked_stats)
    assert fast_stats.frames > 0


CONVERTED = ["tcpdump/isakmp4500.pcap", "ndpi/ipsec_isakmp_esp.pcap", "arkime/IKEv2.pcap", "wireshark-wiki/test1.pcap",
             "zeek-spicy-ipsec/ipsec_client.pcap"]


@pytest.mark.skipif(not shutil.which("editcap"), reason="editcap (tshark's package) is not installed")
@pytest.mark.parametrize("name", CONVERTED)
@pytest.mark.parametrize("target", ["pcapng", "nsecpcap"])
def test_editcap_conversions_give_the_same_stream(tmp_path: Path, name: str, target: str) -> None:
    original = CORPUS / name
    converted = tmp_path / f"converted.{target}"
    subprocess.run(["editcap", "-F", target, str(original), str(converted)], check=True, capture_output=True)
    expected, _ = _stream(original, worker="never")
    for reader in ("auto", "python"):
        got, _ = _stream(converted, reader=reader, worker="never")
        assert _same(got, expected), f"{name} as {target} through {reader}"
