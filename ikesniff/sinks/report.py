"""`--report FILE.md/.html/.json`: the messages (memory bounded), diagnoses, findings and final verdicts
gathered, and the report written when the summary arrives. A report that cannot be written raises
ReportError (one line). Inputs are named by their base name (a local path says nothing to the reader of a
ticket), with --redact not at all; once written, one line on standard error says where."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable

from .. import __version__
from ..analysis import DecodedMessage
from ..events import DiagnosisEvent, FindingEvent, SummaryEvent, VerdictEvent
from ..output import inner_tree
from ..report import InputIdentity, ReportCollector, check_report_path, identify, write_report


class ReportSink:
    def __init__(self, path: str, inputs: list[str], live: bool = False,
                 name: Callable[[str], str] | None = None, text: Callable[[str], str] | None = None) -> None:
        """`inputs`: the capture files (or the interface, `live`); `name(path)` is how an input is named in
        the report (default: its base name); `text(line)` redacts a line of decrypted content (--redact).
        Raises ReportError for a bad path."""
        check_report_path(path)
        self.path = path
        self.inputs = inputs
        self.live = live
        self.name: Callable[[str], str] = name if name is not None else _base_name
        self.text = text
        self.collector = ReportCollector()
        self.diagnoses: list[DiagnosisEvent] = []
        self.findings: list[FindingEvent] = []
        self.verdicts: list[VerdictEvent] = []

    def write(self, item: object) -> None:
        if isinstance(item, DecodedMessage):
            self.collector.message(item.event)
            if item.inner:
                lines = inner_tree(item.inner)
                self.collector.decrypted(item.event, [self.text(line) for line in lines] if self.text else lines)
        elif isinstance(item, DiagnosisEvent):
            self.diagnoses.append(item)
        elif isinstance(item, FindingEvent):
            self.findings.append(item)
        elif isinstance(item, VerdictEvent) and item.final:
            self.verdicts.append(item)
        elif isinstance(item, SummaryEvent):
            self._write(item)

    def _write(self, summary: SummaryEvent) -> None:
        if self.live:
            identities = [InputIdentity(f"interface {name}", None, None) for name in self.inputs]
        else:
            identities = [dataclasses.replace(identify(path), name=self.name(path)) for path in self.inputs]
        report = self.collector.build(inputs=identities, diagnoses=self.diagnoses, findings=self.findings,
                                      verdicts=self.verdicts, summary=summary, version=__version__)
        write_report(self.path, report)
        print(f"ikesniff: report written to {self.path}", file=sys.stderr, flush=True)

    def close(self) -> None:
        pass


def _base_name(path: str) -> str:
    return "-" if path == "-" else os.path.basename(path)


def withheld(path: str) -> str:
    """How an input is named with --redact: not at all."""
    return "(name withheld: --redact)"
