"""Where the time of one capture goes, stage by stage, in CPU seconds per IKE message.

    .venv/bin/python bench/stages.py bench/out/ike-only-scale0.25.pcap

Times the start of `ikesniff --version` (interpreter and imports) in a subprocess. Reads the capture once into
memory (in this process, no worker; reading the file alone is timed too), then times each stage on its own with
`time.process_time` (CPU time, so that a busy shared machine disturbs it less than wall-clock time):
dissection alone, the analysis (dissection, tracking, the diagnoses of SAs retired on the way), the
diagnoses at the end, building the message events and writing them as JSON. The diagnoses made while
reading are timed too (inside the analysis), and the ESP sightings through an analysis of their own. It
prints a table; it asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dissectors import PayloadMemo, parse_message
from ikesniff.analysis import Analysis, DecodedMessage, conclude
from ikesniff.capture import read_capture
from ikesniff.capture.events import CaptureStats, EspSighting, IkeDatagram
from ikesniff.capture.files import FileSource
from ikesniff.events import DiagnosisEvent, FindingEvent


class TimedAnalysis(Analysis):
    """The analysis, with the CPU time of every SA diagnosis (retired or at the end) added up."""

    diagnosis_seconds = 0.0

    def _diagnose(self, *args: Any, **kwargs: Any) -> Iterator[DiagnosisEvent | FindingEvent]:
        start = time.process_time()
        events = list(Analysis._diagnose(self, *args, **kwargs))
        TimedAnalysis.diagnosis_seconds += time.process_time() - start
        return iter(events)


def _cpu(work: Callable[[], object]) -> tuple[float, object]:
    start = time.process_time()
    result = work()
    return time.process_time() - start, result


def _startup_cpu(tries: int = 5) -> float:
    """CPU seconds of `ikesniff --version` (interpreter start and imports), the least of a few runs."""
    best = float("inf")
    for _ in range(tries):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        # (from /, so that `-m` finds the ikesniff this interpreter imports, not one in the working directory)
        subprocess.run([sys.executable, "-m", "ikesniff", "--version"], stdout=subprocess.DEVNULL, cwd="/",
                       check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        best = min(best, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("capture")
    args = parser.parse_args()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)  # as the command line does
    startup = _startup_cpu()
    batches, _ = _cpu(lambda: sum(len(batch) for batch in FileSource(args.capture).batches()))
    read, items = _cpu(lambda: list(read_capture(args.capture, CaptureStats(), worker="never")))
    assert isinstance(items, list)
    datagrams = [item for item in items if isinstance(item, IkeDatagram)]
    sightings = [item for item in items if isinstance(item, EspSighting)]
    esp, _ = _cpu(lambda: list(Analysis().process(iter(sightings))))
    memo = PayloadMemo()
    dissect, _ = _cpu(lambda: [parse_message(datagram.data, memo) for datagram in datagrams])
    analysis = TimedAnalysis()
    process, out = _cpu(lambda: list(analysis.process(iter(items))))
    assert isinstance(out, list)
    retired = TimedAnalysis.diagnosis_seconds
    end, _ = _cpu(lambda: conclude(analysis))
    messages = [item for item in out if isinstance(item, DecodedMessage)]
    build, events = _cpu(lambda: [message.event for message in messages])
    assert isinstance(events, list)
    dump, _ = _cpu(lambda: [orjson.dumps(event) for event in events])
    count = max(len(datagrams), 1)
    rows = [
        ("start: interpreter and imports (ikesniff --version)", startup),
        ("capture: read and triage (no worker)", read),
        ("  of which reading the file (batches alone)", batches),
        ("dissection alone", dissect),
        ("analysis: dissection, tracking, retired SAs' diagnoses", process),
        ("  of which diagnoses of retired SAs", retired),
        ("  so dissection and tracking", process - retired),
        (f"  of which {len(sightings):,} ESP sightings (alone)", esp),
        ("diagnoses at the end (conclude)", end),
        ("message events built", build),
        ("message events as JSON (orjson)", dump),
    ]
    print(f"{args.capture}: {len(datagrams):,} IKE messages, {len(analysis.tunnels):,} tunnels")
    for name, seconds in rows:
        print(f"  {name:56s} {seconds:7.2f} s {seconds / count * 1e6:7.1f} µs/message")


if __name__ == "__main__":
    main()
