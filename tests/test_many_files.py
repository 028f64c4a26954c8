"""Several inputs: each file is a capture of its own (own clock, tunnels, verdicts), and every capture of
pcaps/ and shared/corpus/external/ gives, run all together, the verdicts it gives alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from oracle import CORPUS

from ikesniff.api import Options, analyse
from ikesniff.events import SummaryEvent, VerdictEvent

REPO = Path(__file__).resolve().parents[1]
MANIFEST = json.loads((CORPUS / "MANIFEST.json").read_text(encoding="utf-8"))
CAPTURES = [str(path) for path in sorted((REPO / "pcaps").rglob("*.pcap*")) if path.suffix in (".pcap", ".gz")] \
    + [str(CORPUS / entry["file"]) for entry in MANIFEST]

Verdicts = list[tuple[tuple[str, ...], str, str, str]]


def verdicts(paths: list[str], options: Options | None = None) -> tuple[dict[str, Verdicts], SummaryEvent]:
    found: dict[str, Verdicts] = {}
    summary = None
    for item in analyse(paths, options):
        if isinstance(item, VerdictEvent) and item.final:
            found.setdefault(item.file, []).append((tuple(item.peers), item.outcome, item.code, item.confidence))
        elif isinstance(item, SummaryEvent):
            summary = item
    assert summary is not None
    return found, summary


def test_every_capture_gives_together_the_verdicts_it_gives_alone() -> None:
    together, summary = verdicts(CAPTURES)
    alone_frames = 0
    for path in CAPTURES:
        alone, one = verdicts([path])
        alone_frames += one.frames
        assert together.get(path, []) == alone.get(path, []), path
    assert summary.frames == alone_frames and summary.files == CAPTURES


def test_two_days_of_one_tunnel_keep_their_own_verdicts_and_the_worst_exit_status() -> None:
    a, b = (str(REPO / "pcaps" / "noise" / name) for name in ("two-days-a.pcap", "two-days-b.pcap"))
    found, _ = verdicts([a, b])
    assert [(v[1], v[2]) for v in found[a]] == [("established", "Established")]
    assert [(v[1], v[2]) for v in found[b]] == [("failed", "PskMismatch")]
    for order, status in (([a], 0), ([b], 1), ([a, b], 1), ([b, a], 1)):
        result = subprocess.run([sys.executable, "-m", "ikesniff", "-r", *order, "-q"], capture_output=True,
                                text=True, check=False)
        assert result.returncode == status, (order, result.stdout, result.stderr)


def test_text_names_each_file_above_its_verdicts() -> None:
    a, b = (str(REPO / "pcaps" / "noise" / name) for name in ("two-days-a.pcap", "two-days-b.pcap"))
    result = subprocess.run([sys.executable, "-m", "ikesniff", "-r", a, b, "-q"], capture_output=True, text=True,
                            check=False)
    lines = result.stdout.splitlines()
    assert lines.index(f"== {a} ==") < lines.index(f"== {b} ==")
    assert "FAILED PskMismatch" in "\n".join(lines[lines.index(f"== {b} =="):])


def test_merge_reads_the_files_as_one_capture() -> None:
    a, b = (str(REPO / "pcaps" / "noise" / name) for name in ("two-days-a.pcap", "two-days-b.pcap"))
    found, summary = verdicts([a, b], Options(merge=True))
    assert sum(len(v) for v in found.values()) == 1 and summary.tunnels == 1
