"""Text for a terminal or a pipe, in the tcpdump manner: one line per IKE message (`-v`: with the decoded
tree), verdicts told early as plain lines, and at the end the findings, each tunnel's verdict with its
evidence and fix, and the summary line."""

from __future__ import annotations

import textwrap

import click

from ..analysis import DecodedMessage
from ..capture.events import FrameProblem, Idle
from ..events import DiagnosisEvent, FindingEvent, SummaryEvent, VerdictEvent
from ..live_view import verdict_headline, verdict_line
from ..output import message_line, message_tree
from ..redact import Redactor


class TextSink:
    def __init__(self, verbose: bool = False, quiet: bool = False, redactor: Redactor | None = None) -> None:
        self.verbose = verbose
        self.quiet = quiet
        self.redactor = redactor
        self.first_time: float | None = None
        self.now = 0.0
        self.diagnoses: list[DiagnosisEvent] = []
        self.findings: list[FindingEvent] = []
        self.verdicts: list[VerdictEvent] = []

    def _text(self, text: str) -> str:
        return self.redactor.text(text) if self.redactor is not None else text

    def write(self, item: object) -> None:
        if isinstance(item, DecodedMessage):
            if self.first_time is None:
                self.first_time = item.time
            self.now = max(self.now, item.time)
            if not self.quiet:
                click.echo(message_line(item.event, self.first_time))
                if self.verbose:
                    for line in message_tree(item.message):
                        click.echo(self._text(line))
        elif isinstance(item, FrameProblem):
            if not self.quiet:
                click.echo(f"{item.frame:>6} frame problem: {item.text}", err=True)
        elif isinstance(item, DiagnosisEvent):
            if self.verbose:
                self.diagnoses.append(item)
        elif isinstance(item, FindingEvent):
            if not self.quiet:
                self.findings.append(item)
        elif isinstance(item, VerdictEvent):
            if item.final:
                self.verdicts.append(item)
            else:
                click.echo(verdict_line(item, self.now))
        elif isinstance(item, Idle):
            self.now = max(self.now, item.time)
        elif isinstance(item, SummaryEvent):
            self._conclusions()
            self._summary(item)

    def _conclusions(self) -> None:
        for diagnosis in self.diagnoses:
            click.echo(f"\nIKE SA {diagnosis.ike_sa} (IKEv{diagnosis.version}) {diagnosis.initiator} -> "
                       f"{diagnosis.responder}: {diagnosis.outcome} {diagnosis.code} ({diagnosis.confidence})")
            for line in diagnosis.exchanges:
                click.echo(f"    {line}")
        for finding in self.findings:
            frames = ", ".join(str(frame) for frame in finding.frames)
            click.echo(f"finding {finding.kind} [{finding.ike_sa}] frame {frames}: {finding.detail}")
        files = {verdict.file for verdict in self.verdicts}
        shown = None
        for verdict in self.verdicts:
            if len(files) > 1 and verdict.file != shown:
                shown = verdict.file
                click.echo(f"\n== {verdict.file} ==")
            click.echo(f"\n{verdict_headline(verdict)}")
            wrap = textwrap.TextWrapper(100, initial_indent="  ", subsequent_indent="    ", break_on_hyphens=False)
            click.echo(wrap.fill(verdict.message))
            for item in verdict.evidence:
                click.echo(wrap.fill(f"frame {item.frame}: {item.why}"))
            if verdict.code != "Established" and verdict.remedy:
                click.echo(wrap.fill(f"fix: {verdict.remedy}"))

    def _summary(self, summary: SummaryEvent) -> None:
        if self.verbose:
            for flow in summary.esp:
                click.echo(f"ESP spi 0x{flow.spi} {flow.src}:{flow.sport} > {flow.dst}:{flow.dport} "
                           f"{flow.protocol}: {flow.packets} packets, frames {flow.first_frame}-"
                           f"{flow.last_frame}, {flow.last_time - flow.first_time:.3f} s")
        drops = ""
        if summary.kernel_received is not None:
            drops = (f", {summary.kernel_received} packets received by the filter, "
                     f"{summary.kernel_dropped} dropped by the kernel")
        if summary.truncated:
            drops += f", last record cut short in {', '.join(summary.truncated)}"
        click.echo(f"{summary.frames} frames, {summary.ike_messages} IKE messages, {summary.ike_sas} IKE SAs, "
                   f"{summary.esp_packets + summary.esp_in_udp_packets} ESP packets in {summary.esp_flows} flows, "
                   f"{summary.decode_errors} decode errors, {summary.seconds:.2f} s{drops}", err=not self.quiet)

    def close(self) -> None:
        pass
