"""Regenerate the report examples in docs/ from a lab capture:

    .venv/bin/python -m ikesniff.report.example [pcaps/NAME.pcap] [--docs DIR]

writes report-example.md, report-example.html and, when chromium is installed, report-screenshot.png
(chromium --headless). The run is driven as the CLI drives it: Analysis.run, then conclude.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .. import __version__
from ..analysis import DecodedMessage
from ..events import DiagnosisEvent, FindingEvent, SummaryEvent, VerdictEvent
from . import ReportCollector, identify, write_report
from .model import Report

REPO = Path(__file__).resolve().parents[2]
DEFAULT = REPO / "pcaps" / "ikev2-encryption-mismatch-both-ways.pcap"
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")


def analyse(paths: list[str]) -> Report:
    """The report of a run over `paths`, built from the events of `ikesniff.api.analyse` as the CLI builds it."""
    from ..api import analyse as events_of
    collector = ReportCollector()
    diagnoses: list[DiagnosisEvent] = []
    findings: list[FindingEvent] = []
    verdicts: list[VerdictEvent] = []
    for item in events_of(paths):
        if isinstance(item, DecodedMessage):
            collector.message(item.event)
        elif isinstance(item, DiagnosisEvent):
            diagnoses.append(item)
        elif isinstance(item, FindingEvent):
            findings.append(item)
        elif isinstance(item, VerdictEvent) and item.final:
            verdicts.append(item)
        elif isinstance(item, SummaryEvent):
            return collector.build(inputs=[identify(path) for path in paths], diagnoses=diagnoses,
                                   findings=findings, verdicts=verdicts, summary=item, version=__version__)
    raise AssertionError("the analysis ended without its summary")


def chromium() -> str | None:
    return next((found for name in CHROMIUM if (found := shutil.which(name))), None)


def screenshot(page: Path, png: Path, width: int = 1200, height: int = 2000, timeout: float = 90) -> None:
    """Render a local HTML file in headless chromium (throwaway profile) and save a PNG of it."""
    binary = chromium()
    if binary is None:
        raise FileNotFoundError("chromium is not installed (Debian package chromium)")
    with tempfile.TemporaryDirectory(prefix="ikesniff-chromium-") as profile:
        subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
                        "--hide-scrollbars", f"--screenshot={png}", f"--window-size={width},{height}",
                        page.resolve().as_uri()],
                       check=True, timeout=timeout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m ikesniff.report.example", description=__doc__.split("\n")[0])
    parser.add_argument("capture", nargs="?", default=str(DEFAULT.relative_to(REPO)))
    parser.add_argument("--docs", default=str(REPO / "docs"))
    parser.add_argument("--height", type=int, default=2000, help="screenshot height in pixels")
    arguments = parser.parse_args()
    os.chdir(REPO)  # the report names the capture as given, relative to the repository
    docs = Path(arguments.docs)
    docs.mkdir(exist_ok=True)
    report = analyse([arguments.capture])
    for name in ("report-example.md", "report-example.html"):
        write_report(str(docs / name), report)
        print(docs / name)
    if chromium() is None:
        print("chromium is not installed: no screenshot", file=sys.stderr)
        return
    screenshot(docs / "report-example.html", docs / "report-screenshot.png", height=arguments.height)
    print(docs / "report-screenshot.png")


if __name__ == "__main__":
    main()
