"""SPEC §3: the exit status follows the headlines: 0 when every tunnel seen is established, closed in order or
incomplete; 1 when any tunnel failed or was torn down by a failure, whatever the confidence. One row per lab
capture: the status its label's outcome calls for, against the command line's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PCAPS = Path(__file__).resolve().parents[1] / "pcaps"
LAB = sorted(path for path in PCAPS.glob("*.pcap") if path.with_suffix(".json").exists())


def expected_status(label: dict[str, object]) -> int:
    expected = label["expected"]
    assert isinstance(expected, dict)
    outcome, code = expected["outcome"], expected["code"]
    closed_in_order = outcome == "torn_down" and code == "ReceiveDeleteNotify"
    return 1 if outcome == "failed" or (outcome == "torn_down" and not closed_in_order) else 0


@pytest.mark.parametrize("path", LAB, ids=lambda path: path.stem)
def test_exit_status_follows_the_headline(path: Path) -> None:
    label = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    result = subprocess.run([sys.executable, "-m", "ikesniff", "-r", str(path), "--json"], capture_output=True,
                            text=True, check=False)
    verdicts = [json.loads(line) for line in result.stdout.splitlines() if '"event":"verdict"' in line]
    failing = any(v["outcome"] == "failed" or (v["outcome"] == "torn_down" and not v.get("orderly")) for v in verdicts)
    assert result.returncode == int(failing), (verdicts, result.stderr)  # the status follows what is printed
    assert result.returncode == expected_status(label), [(v["outcome"], v["code"], v["confidence"]) for v in verdicts]
