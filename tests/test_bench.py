"""The benchmark generator (bench/generate.py): deterministic, well-formed frames, truth that tshark confirms."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
import generate  # bench/generate.py

SCALE = 0.001
pytestmark = pytest.mark.skipif(not generate.DEFAULT_CORPUS.is_dir(), reason="external corpus not present")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    for kind in generate.KINDS:
        generate.generate(kind, SCALE, out, generate.DEFAULT_CORPUS)
    return out


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _truth(out: Path, kind: str) -> dict[int, dict[str, str]]:
    lines = (out / f"{generate.file_name(kind, SCALE)}.ike-frames.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    return {int(c[0]): dict(zip(header, c)) for c in (line.split("\t") for line in lines[1:])}


def _expected(out: Path, kind: str) -> dict:
    return json.loads((out / f"{generate.file_name(kind, SCALE)}.expected.json").read_text())


def test_generator_is_deterministic(tiny: Path, tmp_path: Path) -> None:
    for kind in generate.KINDS:
        generate.generate(kind, SCALE, tmp_path, generate.DEFAULT_CORPUS)
        name = generate.file_name(kind, SCALE)
        assert _digest(tmp_path / f"{name}.pcap") == _digest(tiny / f"{name}.pcap")
        assert _digest(tmp_path / f"{name}.ike-frames.tsv") == _digest(tiny / f"{name}.ike-frames.tsv")
        first, second = _expected(tiny, kind), _expected(tmp_path, kind)
        first.pop("generation_seconds"), second.pop("generation_seconds")
        assert first == second


def test_checksum_matches_the_textbook_sum() -> None:
    for data in (b"", b"\x00\x00", b"\xff\xff", b"\xff\xff\xff\xff", b"\x12", bytes(range(255)), b"\x80" * 77):
        padded = data + b"\0" * (len(data) & 1)
        total = sum(struct.unpack(f">{len(padded) // 2}H", padded))
        while total > 0xFFFF:
            total = (total & 0xFFFF) + (total >> 16)
        assert generate.ones_sum(data) == total


@pytest.mark.parametrize("kind", generate.KINDS)
def test_frames_are_well_formed(tiny: Path, kind: str) -> None:
    expected, truth = _expected(tiny, kind), _truth(tiny, kind)
    frames = list(generate._frames(tiny / expected["file"]))
    assert len(frames) == expected["frames"]
    assert len(truth) == expected["ike_messages"] > 0
    for number, (linktype, frame) in enumerate(frames, start=1):
        assert linktype == 1
        offset, ethertype = 14, struct.unpack_from(">H", frame, 12)[0]
        while ethertype in (0x8100, 0x88A8):
            ethertype = struct.unpack_from(">H", frame, offset + 2)[0]
            offset += 4
        if ethertype == 0x0800:
            assert generate.ones_sum(frame[offset:offset + 20]) == 0xFFFF, f"frame {number}: IPv4 checksum"
            assert struct.unpack_from(">H", frame, offset + 2)[0] == len(frame) - offset, f"frame {number}"
            l4 = offset + 20
        elif ethertype == 0x86DD:
            assert struct.unpack_from(">H", frame, offset + 4)[0] == len(frame) - offset - 40, f"frame {number}"
            l4 = offset + 40
        else:
            assert ethertype == 0x0806 and number not in truth
        dgram = generate._udp_of(linktype, frame)
        if number not in truth:
            continue
        row = truth[number]
        assert dgram is not None and (str(dgram.sport), str(dgram.dport)) == (row["sport"], row["dport"])
        ike = dgram.payload
        if row["transport"] == "udp-encap":
            assert ike[:4] == bytes(4)
            ike = ike[4:]
        assert struct.unpack_from(">I", ike, 24)[0] == len(ike), f"frame {number}: ISAKMP length"
        assert ike[:8].hex() == row["spi_i"] and ike[17] >> 4 == int(row["version"])
        assert len(dgram.src) == (4 if row["ip"] == "4" else 16)
        udp = frame[l4:]
        assert struct.unpack_from(">H", udp, 4)[0] == len(udp) == 8 + len(dgram.payload)
        pseudo = (dgram.src + dgram.dst + struct.pack(">BBH", 0, 17, len(udp)) if len(dgram.src) == 4
                  else dgram.src + dgram.dst + struct.pack(">IxxxB", len(udp), 17))
        if len(dgram.src) == 16 or struct.unpack_from(">H", udp, 6)[0]:  # IPv4 may leave it out (zero)
            assert generate.ones_sum(pseudo + udp) == 0xFFFF, f"frame {number}: UDP checksum"


@pytest.mark.oracle
@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
@pytest.mark.parametrize("kind", generate.KINDS)
def test_tshark_finds_the_expected_ike_messages(tiny: Path, kind: str, tmp_path: Path) -> None:
    expected, truth = _expected(tiny, kind), _truth(tiny, kind)
    env = dict(os.environ, WIRESHARK_CONFIG_DIR=str(tmp_path))
    result = subprocess.run(["tshark", "-n", "-r", str(tiny / expected["file"]), "-Y", "isakmp", "-T", "fields",
                             "-E", "occurrence=a", "-e", "frame.number", "-e", "isakmp.ispi"],
                            capture_output=True, text=True, env=env, check=True)
    found = {int(n): spis for n, spis in (line.split("\t") for line in result.stdout.splitlines())}
    visible = {n: row for n, row in truth.items() if row["tshark_visible"] == "1"}
    assert set(found) == set(visible)  # tshark misses exactly the messages on ports its other dissectors claim
    assert all(found[n] == row["spi_i"] for n, row in visible.items())
    assert len(found) == expected["tshark_expected"]


def test_long_lived_sas_stay_up_for_the_whole_capture(tiny: Path) -> None:
    """ike-long: every SA negotiates in the first 20 s, then its liveness exchanges run to the end of the capture."""
    expected, truth = _expected(tiny, "ike-long"), _truth(tiny, "ike-long")
    frames = list(generate._frames(tiny / expected["file"]))
    data = (tiny / expected["file"]).read_bytes()
    stamps, offset = [], 24
    while offset < len(data):
        sec, usec, caplen, _ = generate.RECORD.unpack_from(data, offset)
        stamps.append(sec + usec / 1e6)
        offset += 16 + caplen
    assert stamps == sorted(stamps) and len(stamps) == len(frames)
    assert generate.IKE_LONG_SECONDS - 40 < stamps[-1] - stamps[0] <= generate.IKE_LONG_SECONDS + 1
    spis: dict[str, list[float]] = {}
    for number, row in truth.items():
        spis.setdefault(row["spi_i"], []).append(stamps[number - 1] - stamps[0])
    assert len(spis) == expected["concurrent_ike_sas"] == expected["ike_sas"]
    for times in spis.values():  # up early, alive late, never silent for longer than the longest interval + 1 s
        assert times[0] < 20 and times[-1] > generate.IKE_LONG_SECONDS - 40
        assert max(b - a for a, b in itertools.pairwise(times)) < max(generate.IKE_LONG_INTERVALS_S) + 1.1
    informational = sum(1 for row in truth.values() if row["exchange"] in ("5", "37"))
    assert informational >= 2 * expected["liveness_exchanges"]


def test_flood_holds_one_real_tunnel(tiny: Path) -> None:
    expected, truth = _expected(tiny, "flood"), _truth(tiny, "flood")
    assert expected["flood_requests"] == round(generate.FLOOD_REQUESTS * SCALE)
    assert expected["ike_messages"] == expected["flood_requests"] + 4 == len(truth)
    real = expected["real_tunnel"]["frames"]
    assert len(real) == 10 and real[0] > expected["flood_requests"] // 4  # in the middle, not at an end
    flood_spis = [row["spi_i"] for number, row in truth.items() if number not in real]
    assert len(set(flood_spis)) == len(flood_spis) and all(truth[n]["exchange"] == "34" for n in truth
                                                            if n not in real)
    frames = list(generate._frames(tiny / expected["file"]))
    for number in real:
        dgram = generate._udp_of(*frames[number - 1])
        assert dgram is not None and {dgram.src, dgram.dst} == {bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])}
