"""Early verdicts (live capture, stream) and final verdicts are computed from the same kinds of evidence:
streamed message by message, every lab capture's last early verdict of a tunnel equals its final verdict,
where no timeout (which only the passing of time settles) is involved."""

from __future__ import annotations

from pathlib import Path

import pytest

from ikesniff.analysis import Analysis, DecodedMessage, conclude
from ikesniff.crypto.keys import KeyStore, load_key_file

PCAPS = Path(__file__).resolve().parents[1] / "pcaps"
LAB = sorted(path for path in PCAPS.glob("*.pcap") if path.with_suffix(".json").exists())
KEYED = [path for path in LAB if any(log.stat().st_size for log in PCAPS.glob(f"{path.stem}.*.charon.log"))]
TIMEOUTS = {"NoResponse", "Phase1NegotiationTimeout", "Phase2NegotiationTimeout", "DpdTimeout"}


def verdicts(path: Path, keys: KeyStore | None) -> tuple[dict[tuple[str, ...], tuple[str, str]], dict[tuple[str, ...], tuple[str, str]]]:
    analysis = Analysis(keys=keys)
    analysis.early = True
    early: dict[tuple[str, ...], tuple[str, str]] = {}
    for item in analysis.run(str(path)):
        if isinstance(item, DecodedMessage):  # a look after every message: the most an early verdict can know
            for verdict in analysis.early_verdicts(analysis.tracker.last_time, timers=True):
                early[tuple(verdict.peers)] = (verdict.outcome, verdict.code)
    final = {tuple(v.peers): (v.outcome, v.code) for v in conclude(analysis).verdicts}
    return early, final


@pytest.mark.parametrize(("path", "keyed"), [(path, False) for path in LAB] + [(path, True) for path in KEYED],
                         ids=lambda value: value.stem if isinstance(value, Path) else ("keys" if value else "wire"))
def test_last_early_verdict_is_the_final_one(path: Path, keyed: bool) -> None:
    keys = None
    if keyed:
        keys = KeyStore()
        for log in sorted(PCAPS.glob(f"{path.stem}.*.charon.log")):
            if log.stat().st_size:
                keys.add(load_key_file(str(log)))
    early, final = verdicts(path, keys)
    compared = 0
    for peers, (outcome, code) in final.items():
        if code in TIMEOUTS or outcome == "incomplete" or peers not in early:
            continue
        assert early[peers] == (outcome, code), f"{path.stem} {peers}: early {early[peers]}, final {(outcome, code)}"
        compared += 1
    COMPARED[path.stem, keyed] = compared


COMPARED: dict[tuple[str, bool], int] = {}


def test_the_comparison_covered_most_lab_scenarios() -> None:
    """(Runs after the comparisons above:) the comparison is not vacuous."""
    assert sum(1 for count in COMPARED.values() if count) >= len(COMPARED) // 2
