"""`-j N` gives the output of one process, byte for byte (the summary's `seconds` aside), whatever N.

Every capture of pcaps/, pcaps/peers/, pcaps/noise/ and the shared corpus, read in one run, with --json (also with
every key table of the lab and the corpus), -v and -q: -j 1 against -j 2 and -j 3 with every file split among the
workers (IKESNIFF_SPLIT_MIN_BYTES=0: small files are split too), and against -j 2 with the files read side by side
(one worker each). The runs go two at a time."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from oracle import CORPUS

from ikesniff import parallel
from ikesniff.crowd import ONE_SIDED_BUDGET

REPO = Path(__file__).resolve().parents[1]
MANIFEST = json.loads((CORPUS / "MANIFEST.json").read_text(encoding="utf-8"))
CAPTURES = [str(path) for folder in ("pcaps", "pcaps/peers", "pcaps/noise")
            for path in sorted((REPO / folder).iterdir()) if path.name.endswith((".pcap", ".pcap.gz"))] \
    + [str(CORPUS / entry["file"]) for entry in MANIFEST]
KEYS = sorted({str(path) for folder in ("pcaps", "pcaps/peers") for path in (REPO / folder).glob("*_decryption_table")}
              | {str(CORPUS / entry["key_table"]) for entry in MANIFEST if entry.get("key_table")})
MODES: dict[str, list[str]] = {"json": ["--json"], "verbose": ["-v"], "quiet": ["-q"],
         "keys": ["--json", *(argument for table in KEYS for argument in ("--keys", table))]}
SPLIT = {"IKESNIFF_SPLIT_MIN_BYTES": "0"}
SIDE_BY_SIDE = {"IKESNIFF_SPLIT_MIN_BYTES": str(1 << 40), "IKESNIFF_SIDE_BY_SIDE_MIN_BYTES": "0"}
WAYS = {"1": ("1", {}), "2-split": ("2", SPLIT), "3-split": ("3", SPLIT), "2-side-by-side": ("2", SIDE_BY_SIDE)}

Result = tuple[bytes, bytes, int]


def ikesniff(arguments: list[str], jobs: str, env: dict[str, str]) -> Result:
    result = subprocess.run([sys.executable, "-m", "ikesniff", "-j", jobs, *arguments], capture_output=True,
                            env={**os.environ, **env}, check=False, timeout=600)
    return masked(result.stdout), masked(result.stderr), result.returncode


def masked(output: bytes) -> bytes:
    """The summary's seconds (JSON, and the text summary line) are the one thing that may differ."""
    output = re.sub(rb'"seconds":[0-9.e+-]+', b'"seconds":0', output)
    return re.sub(rb", [0-9]+\.[0-9]{2} s(,|\n|$)", rb", S s\1", output)


@pytest.fixture(scope="module")
def runs() -> dict[tuple[str, str], Result]:
    wanted = [(mode, way) for mode in MODES for way in WAYS]
    with ThreadPoolExecutor(2) as pool:
        done = pool.map(lambda case: ikesniff([*MODES[case[0]], "-r", *CAPTURES], *WAYS[case[1]]), wanted)
        return dict(zip(wanted, done, strict=True))


def first_difference(one: bytes, other: bytes) -> str:
    lines, others = one.splitlines(), other.splitlines()
    for number, (line, line2) in enumerate(zip(lines, others, strict=False)):
        if line != line2:
            return f"line {number + 1}:\n  -j 1: {line[:400]!r}\n  -j N: {line2[:400]!r}"
    return f"{len(lines)} lines against {len(others)}"


@pytest.mark.parametrize("way", [way for way in WAYS if way != "1"])
@pytest.mark.parametrize("mode", list(MODES))
def test_every_capture_gives_the_same_output_whatever_the_number_of_workers(
        runs: dict[tuple[str, str], Result], mode: str, way: str) -> None:
    stdout, stderr, status = runs[(mode, "1")]
    stdout_n, stderr_n, status_n = runs[(mode, way)]
    assert stdout.count(b"\n") > len(CAPTURES) and b"Traceback" not in stderr_n
    assert stdout_n == stdout, first_difference(stdout, stdout_n)
    assert stderr_n == stderr, first_difference(stderr, stderr_n)
    assert status_n == status


def test_the_runs_read_what_they_should(runs: dict[tuple[str, str], Result]) -> None:
    """The comparison means something: every file was read, keys opened messages, a flood beyond the one-sided
    budget (the crowd's folding) and decode errors are in it, and some tunnel failed."""
    lines = [json.loads(line) for line in runs[("keys", "1")][0].splitlines()]
    summary = lines[-1]
    assert summary["event"] == "summary" and summary["files"] == CAPTURES and summary["ike_messages"] > 10_000
    assert any(line.get("decrypted") for line in lines if line["event"] == "message")
    flood = [line for line in lines if line["event"] == "finding" and line["kind"] == "flood"]
    assert flood and int(flood[0]["detail"].split()[0]) > ONE_SIDED_BUDGET
    assert summary["decode_errors"] > 0 and summary["not_ike"] > 0 and summary["truncated"]
    assert runs[("keys", "1")][2] == 1


def test_files_are_grouped_by_size_and_what_they_hold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Large files dense with IKE are split; a large capture of mostly ESP is not (every worker would sort every
    frame for little IKE); smaller files are read side by side when they add up to enough."""
    from test_capture_builders import esp, ether, ike_message, ipv4, udp, write_pcap
    mostly_esp = tmp_path / "esp.pcap"
    write_pcap(mostly_esp, [ether(ipv4("192.0.2.1", "192.0.2.2", 17, udp(500, 500, ike_message())))]
               + [ether(ipv4("192.0.2.1", "192.0.2.2", 50, esp(0x1000, seq))) for seq in range(1, 400)])
    dense = REPO / "pcaps" / "noise" / "churn.pcap"
    small = [REPO / "pcaps" / name for name in ("ikev2-psk.pcap", "ikev1-main.pcap", "ikev2-rekey.pcap")]
    files = [str(path) for path in (small[0], dense, mostly_esp, *small[1:])]
    threshold = min(dense.stat().st_size, mostly_esp.stat().st_size)
    assert threshold > max(path.stat().st_size for path in small)
    monkeypatch.setenv("IKESNIFF_SPLIT_MIN_BYTES", str(threshold))
    monkeypatch.setenv("IKESNIFF_SIDE_BY_SIDE_MIN_BYTES", "1")
    assert parallel.plan(files, 2) == [("here", files[:1]), ("split", files[1:2]), ("side", files[2:])]
    assert parallel.plan(files, 1) == [("here", [path]) for path in files]
    monkeypatch.setenv("IKESNIFF_SIDE_BY_SIDE_MIN_BYTES", str(1 << 40))
    assert parallel.plan(files, 3) == [("here", files[:1]), ("split", files[1:2]),
                                       *(("here", [path]) for path in files[2:])]
    monkeypatch.setenv("IKESNIFF_SPLIT_MIN_BYTES", "0")
    assert parallel.plan(files, 2) == [("split", [path]) for path in files]


@pytest.mark.parametrize("way", ["2-split", "2-side-by-side"])
def test_an_unreadable_file_ends_the_run_as_in_one_process(tmp_path: Path, way: str) -> None:
    """What came before is written, then the one-line error, exit status 2."""
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"this is no capture file at all")
    files = [str(REPO / "pcaps" / "ikev2-psk.pcap"), str(REPO / "pcaps" / "ikev1-main.pcap"), str(bad),
             str(REPO / "pcaps" / "ikev2-rekey.pcap")]
    for mode in (["--json"], []):
        one = ikesniff([*mode, "-r", *files], "1", {})
        assert one[2] == 2 and one[1].strip().endswith(b"not a pcap or pcapng file (magic 0x74686973)")
        assert one[0].count(b"\n") > 10
        assert ikesniff([*mode, "-r", *files], *WAYS[way]) == one


@pytest.mark.parametrize("limit", [["-c", "7"], ["-c", "1"], ["--duration", "3"]])
def test_count_and_duration_stop_where_one_process_stops(limit: list[str]) -> None:
    files = [str(REPO / "pcaps" / "noise" / "churn.pcap"), str(REPO / "pcaps" / "ikev2-rekey.pcap")]
    one = ikesniff(["--json", *limit, "-r", *files], "1", {})
    assert one[0].count(b'"event":"message"') >= 1
    for way in ("2-split", "3-split", "2-side-by-side"):
        assert ikesniff(["--json", *limit, "-r", *files], *WAYS[way]) == one, way


def test_colour_and_the_decrypted_tree_are_the_same_too() -> None:
    """-v with keys (the decrypted payloads under each message) and colours, the lab's captures split in three."""
    files = [str(path) for path in sorted((REPO / "pcaps").glob("*.pcap"))]
    keys = [argument for table in KEYS if "/corpus/" not in table for argument in ("--keys", table)]
    arguments = ["-v", "--color", "always", *keys, "-r", *files]
    one = ikesniff(arguments, "1", {})
    assert one[0].count(b"decrypted:") > 100 and one[0].count(b"\x1b[") > 100
    assert ikesniff(arguments, *WAYS["3-split"]) == one
