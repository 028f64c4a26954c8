"""The items of lab captures in the order the command line hands them to its sinks: each message as it
is read with the early verdicts it changes, then at the end every diagnosis, finding and final verdict,
and the summary last. Each capture is one run of its own (their clocks are unrelated)."""

from __future__ import annotations

from pathlib import Path

from ikesniff.analysis import Analysis, DecodedMessage, conclude
from ikesniff.api import summarise

PCAPS = Path(__file__).resolve().parent.parent / "pcaps"


def run_items(name: str) -> list[object]:
    """One run over pcaps/NAME.pcap, read as a stream (early verdicts told)."""
    analysis = Analysis()
    analysis.early = True
    items: list[object] = []
    for item in analysis.run(str(PCAPS / f"{name}.pcap")):
        items.append(item)
        if isinstance(item, DecodedMessage):
            items.extend(analysis.early_verdicts(analysis.tracker.last_time, timers=True))
    conclusions = conclude(analysis)
    items.extend([*conclusions.diagnoses, *conclusions.findings, *conclusions.verdicts])
    summary = summarise(analysis, [name], 0.0)
    summary.outcomes = conclusions.outcomes()
    items.append(summary)
    return items
