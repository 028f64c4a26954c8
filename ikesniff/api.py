"""The one public entry: `analyse(sources, options)` turns captures (files, a stream, a live interface)
into the stream of events the outputs consume, in order:

    DecodedMessage   every IKE message (its `.event` is the JSON `message`), in capture order
    FrameProblem     a frame that could not be read as far as its IKE content
    DiagnosisEvent   an IKE SA diagnosed for good (silent long enough, or at the end)
    FindingEvent     something worth knowing that is not a failure
    VerdictEvent     a tunnel's verdict: told early (`final` False) on a live capture or a stream, and
                     once more, final, at the end
    Idle             a live capture saw nothing for a while (outputs may refresh)
    SummaryEvent     last: what was read and how long it took

The command line, the benchmark and the docs script all drive the analysis through here (none of them
copies this loop). It knows nothing of how events are printed: the outputs are sinks (`ikesniff.sinks`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .analysis import Analysis, DecodedMessage, conclude
from .capture import LiveSource
from .capture.events import FrameProblem, Idle
from .events import DiagnosisEvent, EspFlowSummary, FindingEvent, MessageEvent, SummaryEvent, VerdictEvent

if TYPE_CHECKING:  # (imported where used: a run without keys, logs or configurations never loads them)
    from .config import GatewayConfig
    from .crypto.keys import KeyStore
    from .fusion import Fusion, LogText

Item = DecodedMessage | FrameProblem | DiagnosisEvent | FindingEvent | VerdictEvent | Idle | SummaryEvent

EARLY_EVERY = 0.25
"""Seconds (wall clock) between two looks for verdicts that changed, on a live capture or stream."""
QUICK_LOOKS = 8
"""Looks right after a decisive message allowed between two timed looks: light traffic is told at
once, heavy traffic every EARLY_EVERY seconds."""
CONCLUDING = frozenset({"IKE_AUTH", "CREATE_CHILD_SA", "INFORMATIONAL", "QUICK_MODE", "IDENTITY_PROTECTION",
                        "AGGRESSIVE"})


@dataclass(slots=True)
class Options:
    """What the analysis needs to know; nothing about outputs."""

    ike_ports: frozenset[int] = frozenset({500, 4500})
    keys: KeyStore | None = None
    """Key material (`--keys`)."""
    psks: list[bytes] = field(default_factory=list)
    """Pre-shared keys (`--psk-file`); never printed."""
    count: int | None = None
    """Stop after this many IKE messages (`-c`)."""
    duration: float | None = None
    """Stop after this many seconds (`--duration`): capture time for files; a live source stops itself."""
    early: bool = False
    """Tell verdicts as soon as they are known (live capture, stream on standard input)."""
    bpf: str | None = None
    """A capture filter (`-f`) the frames of capture files must pass, as tcpdump applies it to files."""
    merge: bool = False
    """The sources are one capture (`--merge`): rotated files of one run, or both gateways' captures.
    Otherwise each file is a capture of its own, with its own clock, tunnels and verdicts."""
    logs: list[LogText] = field(default_factory=list)
    """Gateway logs (`--log`): their lines become evidence beside the frames (ikesniff.fusion)."""
    configs: list[GatewayConfig] = field(default_factory=list)
    """Gateway configurations (`--config`), compared with the offers on the wire and with each other."""


class Session:
    """One run of the analysis over its sources; `analyse` is its usual front door. The caller may read
    `analysis` (progress, statistics) while iterating, and `failed` at the end."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.analysis = self._new_analysis()
        """The analysis of the capture being read (one per file unless merged)."""
        self.started = time.perf_counter()
        self.first_time: float | None = None
        self.stopped = False
        self.early_at = 0.0
        self.quick_looks = 0
        self.failed = False
        """A tunnel failed or was torn down by a failure (known once the summary was given)."""
        self.totals: SummaryEvent | None = None
        self.fusion: Fusion | None = None
        """Logs and configurations beside the packets; None without --log / --config."""
        if options.logs or options.configs:
            from .fusion import Fusion
            self.fusion = Fusion(options.logs, options.configs)

    def _new_analysis(self) -> Analysis:
        options = self.options
        analysis = Analysis(ike_ports=options.ike_ports, keys=options.keys, psks=list(options.psks))
        analysis.early = options.early
        analysis.bpf = options.bpf
        return analysis

    def items(self, sources: Sequence[str], live: LiveSource | None = None) -> Iterator[Item]:
        """Each file is a capture of its own (own clock, tunnels, verdicts, concluded when it ends) unless
        `merge`; then one summary for the whole run."""
        if live is not None:
            yield from self._consume(self.analysis.run_live(live), live)
            yield from self._conclude(live)
            yield self._summary([live.name])
            return
        if self.options.merge and len(sources) > 1:
            try:
                yield from self._consume(self.analysis.run_merged(list(sources)), None)
            except KeyboardInterrupt:
                self.stopped = True
            yield from self._conclude(None)
            yield self._summary(list(sources))
            return
        separate = len(sources) > 1
        for index, path in enumerate(sources):  # opening errors raise CaptureError to the caller
            if separate and index:
                self.analysis = self._new_analysis()
                self.first_time = None
            try:
                yield from self._consume(self.analysis.run(path), None)
            except KeyboardInterrupt:  # Ctrl-C: conclude on what was read, as at the end of the input
                self.stopped = True
            if separate or self.stopped or index == len(sources) - 1:
                yield from self._conclude(None)
            if self.stopped:
                break
        yield self._summary(list(sources))

    def _consume(self, items: Iterator[object], live: LiveSource | None) -> Iterator[Item]:
        analysis = self.analysis
        limited = self.options.count is not None or self.options.duration is not None
        for item in items:
            if isinstance(item, DecodedMessage):
                if self.fusion is not None:
                    self.fusion.see(item)
                if self.first_time is None:
                    self.first_time = item.time
                yield item
                self.stopped = limited and self._enough(item.time, live)
                if analysis.early:
                    waited = time.monotonic() - self.early_at
                    if waited > EARLY_EVERY:
                        yield from self._early(analysis.tracker.last_time, timers=True)
                    elif self.quick_looks < QUICK_LOOKS and decisive(item.event):
                        self.quick_looks += 1
                        yield from self._early(analysis.tracker.last_time, timers=False)
                if self.stopped:
                    if live is not None:
                        live.stop()
                    return
            elif isinstance(item, Idle):
                if time.monotonic() - self.early_at > EARLY_EVERY:
                    yield from self._early(max(item.time, analysis.tracker.last_time), timers=True)
                yield item
            elif isinstance(item, (FrameProblem, DiagnosisEvent, FindingEvent)):
                yield item

    def _enough(self, when: float, live: LiveSource | None) -> bool:
        """-c N messages, or --duration S seconds of capture time when reading files."""
        options = self.options
        if options.count is not None and self.analysis.messages >= options.count:
            return True
        return options.duration is not None and live is None and self.first_time is not None \
            and when - self.first_time > options.duration

    def _early(self, now: float, timers: bool) -> Iterator[VerdictEvent]:
        """Verdicts that changed: at once after a decisive message while traffic is light, otherwise
        every EARLY_EVERY seconds (the cost then follows the IKE SAs, not the packets)."""
        if timers:
            self.early_at, self.quick_looks = time.monotonic(), 0
        yield from self.analysis.early_verdicts(now, timers)

    def _conclude(self, live: LiveSource | None) -> Iterator[Item]:
        """The end of one capture: its remaining diagnoses, findings and verdicts; its counts are added to
        the run's summary."""
        analysis = self.analysis
        conclusions = conclude(analysis)
        if self.fusion is not None:
            self.fusion.apply(conclusions)
            self.fusion.reset()
        self.failed = self.failed or conclusions.failed
        yield from conclusions.diagnoses
        yield from conclusions.findings
        yield from conclusions.verdicts
        summary = summarise(analysis, [], 0.0)
        summary.outcomes = conclusions.outcomes()
        if live is not None:  # (libpcap's counters outlive the closed capture)
            summary.kernel_received, summary.kernel_dropped, summary.interface_dropped = live.stats()
        self.totals = summary if self.totals is None else add_summaries(self.totals, summary)

    def _summary(self, inputs: list[str]) -> SummaryEvent:
        summary = self.totals if self.totals is not None else summarise(self.analysis, [], 0.0)
        summary.files = inputs
        summary.seconds = round(time.perf_counter() - self.started, 3)
        return summary


def analyse(sources: Sequence[str], options: Options | None = None,
            live: LiveSource | None = None) -> Iterator[Item]:
    """Every event of the analysis of `sources` (capture files, '-' for standard input) or of a live
    capture, in the order described at the top of this module."""
    return Session(options or Options()).items(sources, live)


def decisive(event: MessageEvent) -> bool:
    """A message after which a tunnel's verdict may have changed: a retransmission, an error notify, an
    answer that may complete an SA, an informational (Delete, liveness)."""
    return event.retransmission or any(ref.is_error for ref in event.notifies) or (
        event.exchange in CONCLUDING and (event.response or event.exchange == "INFORMATIONAL"))


COUNTS = ("frames", "ike_messages", "ike_sas", "tunnels", "decode_errors", "esp_packets", "esp_in_udp_packets",
          "nat_keepalives", "esp_flows", "ip_fragments", "reassembly_timeouts", "not_ike")


def add_summaries(total: SummaryEvent, more: SummaryEvent) -> SummaryEvent:
    """Two captures' summaries as one (counts added, outcomes merged, ESP flows one after the other)."""
    for name in COUNTS:
        setattr(total, name, getattr(total, name) + getattr(more, name))
    for outcome, count in more.outcomes.items():
        total.outcomes[outcome] = total.outcomes.get(outcome, 0) + count
    total.esp = [*total.esp, *more.esp]
    total.truncated = [*total.truncated, *more.truncated]
    return total


def summarise(analysis: Analysis, files: list[str], seconds: float) -> SummaryEvent:
    """The summary line of a run (outcomes and kernel counters are filled in by the caller)."""
    stats = analysis.stats
    return SummaryEvent(
        files=files, frames=stats.frames, ike_messages=analysis.messages,
        ike_sas=sum(len(t.ike_sas) for t in analysis.tunnels.values()), tunnels=len(analysis.tunnels),
        outcomes={}, decode_errors=analysis.decode_errors, esp_packets=stats.esp_packets,
        esp_in_udp_packets=stats.esp_in_udp_packets, nat_keepalives=stats.nat_keepalives,
        esp_flows=len(stats.esp_flows), ip_fragments=stats.ip_fragments,
        reassembly_timeouts=stats.reassembly_timeouts, seconds=round(seconds, 3), not_ike=analysis.not_ike,
        truncated=[analysis.label] if analysis.cut is not None else [],
        esp=[EspFlowSummary(f"{flow.spi:08x}", flow.transport, flow.src, flow.sport, flow.dst, flow.dport,
                        flow.packets, flow.first_frame, flow.last_frame, flow.first_time, flow.last_time)
         for flow in sorted([*stats.esp_flows.values(), *stats.ah_flows.values()],
                            key=lambda flow: flow.first_frame)])


__all__ = ["Item", "Options", "Session", "analyse", "decisive", "summarise"]
