"""Text for a terminal or a pipe, in the tcpdump manner: one line per IKE message (`-v`: with the decoded
tree), verdicts told early as plain lines, and at the end the findings, each tunnel's verdict with its
evidence and fix. Results go to standard output (to standard error when `-w -` takes standard output);
frame problems and the summary line always go to standard error. Outcomes are coloured when asked
(`colour`), and text is wrapped to the terminal's width, never inside a word or an address."""

from __future__ import annotations

import sys
from typing import TextIO

import click

from ..analysis import DecodedMessage
from ..capture.events import FrameProblem, Idle
from ..events import DiagnosisEvent, FindingEvent, LogEvidence, MessageEvent, SummaryEvent, VerdictEvent
from ..live_view import verdict_headline, verdict_line
from ..output import RenderedText, message_line, message_tree, plural
from ..redact import Redactor
from ..terminal import colour_outcomes, width, wrapper


class TextSink:
    def __init__(self, verbose: bool = False, quiet: bool = False, redactor: Redactor | None = None, *,
                 colour: bool = False, to_stderr: bool = False) -> None:
        self.verbose = verbose
        self.quiet = quiet
        self.redactor = redactor
        self.colour = colour
        self.to_stderr = to_stderr
        """Results on standard error too (`-w -` writes the capture to standard output)."""
        self.first_time: float | None = None
        self.now = 0.0
        self.diagnoses: list[DiagnosisEvent] = []
        self.findings: list[FindingEvent] = []
        self.verdicts: list[VerdictEvent] = []

    def _text(self, text: str) -> str:
        return self.redactor.text(text) if self.redactor is not None else text

    def _out(self, text: str) -> None:
        click.echo(text, err=self.to_stderr, color=self.colour)

    def write(self, item: object) -> None:
        if isinstance(item, DecodedMessage):
            if self.first_time is None:
                self.first_time = item.time
            self.now = max(self.now, item.time)
            if not self.quiet:
                event = item.event
                line = message_line(event, self.first_time)
                self._out(coloured_message(line, event) if self.colour else line)
                if self.verbose:
                    for line in message_tree(item.message, item.inner):
                        self._out(self._text(line))
        elif isinstance(item, RenderedText):
            self._rendered(item)
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
                self._out(colour_outcomes(verdict_line(item, self.now), self.colour))
        elif isinstance(item, Idle):
            self.now = max(self.now, item.time)
        elif isinstance(item, SummaryEvent):
            self._conclusions()
            self._summary(item)

    def _rendered(self, batch: RenderedText) -> None:
        """Message lines a worker of `-j` made: given their frame and time here (times count from the run's first
        message), written at once."""
        lines = []
        for when, frame, text, tree in batch.messages:
            if self.first_time is None:
                self.first_time = when
            self.now = max(self.now, when)
            if not self.quiet:
                lines.append(f"{frame:>6} {when - self.first_time:>11.6f} {text}")
                if tree is not None:
                    lines.extend(self._text(line) for line in tree)
        if lines:
            self._out("\n".join(lines))

    def _conclusions(self) -> None:
        stream = sys.stderr if self.to_stderr else sys.stdout
        columns = width(stream)
        wrap = wrapper(columns)
        on_terminal = _is_terminal(stream)
        for diagnosis in self.diagnoses:
            self._out(f"\nIKE SA {diagnosis.ike_sa} (IKEv{diagnosis.version}) {diagnosis.initiator} -> "
                      f"{diagnosis.responder}: {colour_outcomes(diagnosis.outcome.upper(), self.colour)} "
                      f"{diagnosis.code} ({diagnosis.confidence})")
            for line in diagnosis.exchanges:
                self._out(f"    {line}")
        for finding in self.findings:
            where = f" [{finding.ike_sa}]" if finding.ike_sa else ""
            if finding.frames:
                where += (f" {'frames' if len(finding.frames) > 1 else 'frame'} "
                          + ", ".join(str(frame) for frame in finding.frames))
            self._out(wrapper(columns, "", "    ").fill(f"finding {finding.kind}{where}: {finding.detail}"))
        files = {verdict.file for verdict in self.verdicts}
        shown = None
        for verdict in self.verdicts:
            if len(files) > 1 and verdict.file != shown:
                shown = verdict.file
                self._out(f"\n== {verdict.file} ==")
            headline = verdict_headline(verdict)  # one line into a pipe, for grep; wrapped on a terminal
            if on_terminal:
                headline = wrapper(columns, "", "    ").fill(headline)
            self._out(f"\n{colour_outcomes(headline, self.colour)}")
            self._out(wrap.fill(verdict.message))
            for item in verdict.evidence:
                where = f"{item.file}:{item.line}" if isinstance(item, LogEvidence) else f"frame {item.frame}"
                self._out(wrap.fill(f"{where}: {item.why}"))
            if verdict.code != "Established" and verdict.remedy:
                self._out(wrap.fill(f"fix: {verdict.remedy}"))

    def _summary(self, summary: SummaryEvent) -> None:
        if self.verbose:
            for flow in summary.esp:
                self._out(f"ESP spi 0x{flow.spi} {flow.src}:{flow.sport} > {flow.dst}:{flow.dport} "
                          f"{flow.protocol}: {plural(flow.packets, 'packet')}, frames {flow.first_frame}-"
                          f"{flow.last_frame}, {flow.last_time - flow.first_time:.3f} s")
        drops = ""
        if summary.kernel_received is not None:
            drops = (f", {plural(summary.kernel_received, 'packet')} received by the filter, "
                     f"{summary.kernel_dropped} dropped by the kernel")
        if summary.truncated:
            drops += f", last record cut short in {', '.join(summary.truncated)}"
        click.echo(f"{plural(summary.frames, 'frame')}, {plural(summary.ike_messages, 'IKE message')}, "
                   f"{plural(summary.ike_sas, 'IKE SA')}, "
                   f"{plural(summary.esp_packets + summary.esp_in_udp_packets, 'ESP packet')} in "
                   f"{plural(summary.esp_flows, 'flow')}, {plural(summary.decode_errors, 'decode error')}, "
                   f"{summary.seconds:.2f} s{drops}", err=True)

    def close(self) -> None:
        pass


def coloured_message(line: str, event: MessageEvent) -> str:
    """A message line with its error notifies and malformed mark in red, its retransmission mark in yellow."""
    for notify in {notify.type for notify in event.notifies if notify.is_error}:
        line = line.replace(f"N({notify})", click.style(f"N({notify})", fg="red", bold=True))
    line = line.replace(" [retransmission]", " " + click.style("[retransmission]", fg="yellow"))
    if event.errors:
        start = line.rfind(" [malformed: ")
        line = line[:start + 1] + click.style(line[start + 1:], fg="red")
    return line


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except ValueError:  # a closed stream
        return False
