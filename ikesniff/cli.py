"""Command line: `ikesniff -r FILE...` in the tcpdump/tshark manner (SPEC §3).

Exit status: 0 all tunnels healthy, 1 a failure was diagnosed, 2 bad usage or unreadable input
(one line on stderr, never a traceback; IKESNIFF_DEBUG=1 shows the traceback of an internal error).
"""

from __future__ import annotations

import dataclasses
import difflib
import gc
import os
import signal
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import click

from . import __version__, catalog
from .analysis import Analysis, Conclusions, DecodedMessage, conclude
from .capture import CaptureError
from .capture.events import FrameProblem, Idle
from .crypto.keys import KeyFileError, KeyStore, export_tables, load_key_file
from .crypto.psk import PskFileError, load_psk_file
from .events import DiagnosisEvent, EspFlowSummary, FindingEvent, MessageEvent, SummaryEvent
from .live_view import verdict_headline, verdict_line
from .output import JsonLinesWriter, message_line, message_tree

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def fail(text: str) -> NoReturn:
    click.echo(f"ikesniff: {text}", err=True)
    sys.exit(EXIT_USAGE)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-r", "read", metavar="FILE", multiple=True,
              help="Read a pcap/pcapng file (gzip accepted; '-' is standard input, read as a live stream). "
                   "More files may follow.")
@click.argument("more_files", nargs=-1, metavar="[FILE...]")
@click.option("-i", "interface", metavar="IFACE", default=None,
              help="Capture live on this interface ('any' for all); needs root or CAP_NET_RAW.")
@click.option("-f", "bpf", metavar="BPF", default=None,
              help="Extra capture filter, ANDed with the IKE filter (live capture).")
@click.option("-Z", "user", metavar="USER", default="nobody", show_default=True,
              help="After opening the live capture, drop root to this user (as tcpdump does).")
@click.option("-w", "write", metavar="FILE", default=None,
              help="Also write the IKE messages seen to this pcap ('-' for standard output), one packet each.")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines on stdout (SPEC §4), nothing else.")
@click.option("-v", "verbose", is_flag=True, help="Print the full decoded tree under each message.")
@click.option("-q", "quiet", is_flag=True, help="No per-message lines; only the verdicts and the summary.")
@click.option("--ike-port", "ike_ports", type=click.IntRange(1, 65535), multiple=True,
              help="Also read IKE on this UDP/TCP port (repeatable; 500 and 4500 are always read).")
@click.option("-c", "count", type=click.IntRange(min=1), default=None,
              help="Stop after N IKE messages.")
@click.option("--duration", "duration", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="S", help="Stop after S seconds (live: wall clock; files: capture time from the first packet).")
@click.option("--report", "report", metavar="FILE", default=None,
              help="Write a ticket-ready report: FILE.md (Markdown), FILE.html (one self-contained page) "
                   "or FILE.json.")
@click.option("--redact", is_flag=True,
              help="Replace every address, identity, SPI and certificate name with a consistent placeholder, "
                   "in every output (-w and --report included).")
@click.option("--keys", "key_files", metavar="FILE", multiple=True,
              help="Key material: a Wireshark ikev2/ikev1_decryption_table or a strongSwan charon log "
                   "written at 'ike 4' (repeatable). Keys are never printed.")
@click.option("--psk-file", "psk_file", metavar="FILE", default=None,
              help="The pre-shared key the checking side holds (one per line, ipsec.secrets or swanctl.conf): "
                   "a peer whose IKEv1 aggressive-mode hash, or IKEv2 AUTH (needs --keys from a charon log), "
                   "does not verify with it holds another key. Never printed.")
@click.option("--export-keys", "export_dir", metavar="DIR", default=None,
              help="Write the key material of --keys as Wireshark ikev2/ikev1_decryption_table files into DIR.")
@click.version_option(__version__, "--version", prog_name="ikesniff")
def main_command(read: tuple[str, ...], more_files: tuple[str, ...], interface: str | None, bpf: str | None,
                 user: str, write: str | None, as_json: bool, verbose: bool, quiet: bool,
                 ike_ports: tuple[int, ...], count: int | None, duration: float | None, report: str | None,
                 redact: bool, key_files: tuple[str, ...], psk_file: str | None, export_dir: str | None) -> None:
    """Read IKEv1/IKEv2 traffic, show every message and say why each tunnel works or fails."""
    files = list(read) + list(more_files)
    if interface is None and not read:
        fail("no input: give a capture with -r FILE or an interface with -i IFACE (see ikesniff --help)")
    if interface is not None and files:
        fail("-i and -r cannot be combined: capture live or read files")
    if files.count("-") > 1:
        fail("standard input ('-') can be read only once")
    if write == "-" and (as_json or not quiet):
        fail("-w - writes the capture to standard output: add -q, and leave out --json")
    keys = _keys(key_files)
    if export_dir is not None:
        if keys is None:
            fail("--export-keys needs key material from --keys")
        _export(keys, export_dir)
    psks: list[bytes] = []
    if psk_file is not None:
        try:
            psks = load_psk_file(psk_file)
        except PskFileError as error:
            fail(str(error))
    options = Options(as_json, verbose, quiet, count, duration, write, report, redact)
    analysis = Analysis(ike_ports=frozenset({500, 4500, *ike_ports}), keys=keys, psks=psks)
    with reader_may_leave():
        if interface is not None:
            _capture(analysis, interface, bpf, user, options)
        else:
            _read(analysis, files, options)


@dataclasses.dataclass(slots=True)
class Options:
    as_json: bool
    verbose: bool
    quiet: bool
    count: int | None
    duration: float | None
    write: str | None
    report: str | None
    redact: bool


def _export(keys: KeyStore, directory: str) -> None:
    try:
        os.makedirs(directory, exist_ok=True)
        for name, text in export_tables(keys).items():
            with open(os.path.join(directory, name), "w", encoding="ascii") as handle:
                handle.write(text)
    except OSError as error:
        fail(f"{directory}: cannot write the key tables: {error.strerror or error}")


def _keys(key_files: tuple[str, ...]) -> KeyStore | None:
    if not key_files:
        return None
    store = KeyStore()
    for path in key_files:
        try:
            store.add(load_key_file(path))
        except KeyFileError as error:
            fail(str(error))
    for note in store.notes:
        click.echo(f"ikesniff: {note}", err=True)
    return store


@contextmanager
def reader_may_leave() -> Iterator[None]:
    """`ikesniff ... | head`: a reader that stops early is no error (click would exit with status 1)."""
    try:
        yield
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_OK)


def _read(analysis: Analysis, files: list[str], options: Options) -> None:
    from .progress import progress_bar
    stream = "-" in files  # e.g. tcpdump -U -w - | ikesniff -r -: every event goes out at once
    run = Run(analysis, options, stream=stream)
    with progress_bar(lambda: analysis.reader, enabled=not (options.as_json and sys.stdout.isatty())):
        for path in files:
            try:
                run.consume(analysis.run(path))
            except CaptureError as error:
                run.abort(str(error))
            except KeyboardInterrupt:  # Ctrl-C: conclude on what was read, as at the end of the input
                run.stopped = True
            if run.stopped:
                break
    run.finish(files)


def _capture(analysis: Analysis, interface: str, bpf: str | None, user: str, options: Options) -> None:
    from .capture.live import LiveSource
    from .privileges import PrivilegeError, drop_privileges
    try:
        source = LiveSource(interface, ike_ports=analysis.ike_ports, extra_filter=bpf, duration=options.duration)
    except CaptureError as error:
        fail(str(error))
    try:
        drop_privileges(user)
    except PrivilegeError as error:
        source.close()
        fail(str(error))
    run = Run(analysis, options, stream=True, live=source)
    previous = {number: signal.signal(number, lambda *_: source.stop())  # Ctrl-C or kill: end with the verdicts
                for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        run.consume(analysis.run_live(source))
    except CaptureError as error:
        run.abort(str(error))
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    source.close()
    run.finish([interface])


EARLY_EVERY = 0.25
"""Seconds (wall clock) between two looks for verdicts that changed, on a live capture or stream."""
QUICK_LOOKS = 8
"""Looks right after a decisive message allowed between two timed looks: light traffic is told at
once, heavy traffic every EARLY_EVERY seconds."""


class Run:
    """One run's outputs: where each message, diagnosis and verdict goes (JSON Lines, text lines,
    -w capture, --report), redacted first when asked."""

    def __init__(self, analysis: Analysis, options: Options, stream: bool, live: Any = None) -> None:
        self.analysis = analysis
        self.options = options
        self.live = live
        self.stopped = False
        self.started = time.perf_counter()
        self.first_time: float | None = None
        self.retired: list[DiagnosisEvent | FindingEvent] = []
        self.early_at = 0.0
        self.quick_looks = 0
        analysis.early = stream
        self.writer = None
        if options.as_json:  # a live capture's lines wait at most 50 ms; a stream's go out at once
            self.writer = JsonLinesWriter(sys.stdout.buffer, batch=512, linger=0.05) if live is not None \
                else JsonLinesWriter(sys.stdout.buffer, batch=1 if stream else 512)
        self.redactor = None
        if options.redact:
            from .redact import Redactor
            self.redactor = Redactor()
        self.collector = None
        if options.report is not None:
            from .report import ReportCollector, ReportError, check_report_path
            try:
                check_report_path(options.report)
            except ReportError as error:
                fail(str(error))
            self.collector = ReportCollector()
        self.pcap = None
        if options.write is not None:
            from .capture.writer import PcapWriter
            try:
                self.pcap = PcapWriter(options.write)
            except CaptureError as error:
                fail(str(error))
        self.board: Any = None  # the live view, started last (after every check that may fail)
        self.display: Any = None
        if live is not None and sys.stdout.isatty() and not (options.verbose or options.as_json or options.quiet):
            from rich.console import Console

            from .live_view import LiveDisplay, TunnelBoard
            self.board = TunnelBoard()
            self.display = LiveDisplay(self.board, Console(highlight=False), stats=analysis.stats,
                                       drops=live.stats, clock=time.time)
            self.display.start()

    def redacted_text(self, text: str) -> str:
        return self.redactor.text(text) if self.redactor is not None else text

    def consume(self, items: Iterator[Any]) -> None:
        analysis, options = self.analysis, self.options
        for item in items:
            if isinstance(item, DecodedMessage):
                self.message(item)
                self.stopped = self._enough(item.event.time)
                if analysis.early:
                    waited = time.monotonic() - self.early_at
                    if waited > EARLY_EVERY:
                        self.tell_early(analysis.tracker.last_time, timers=True)
                    elif self.quick_looks < QUICK_LOOKS and _decisive(item.event):
                        self.quick_looks += 1
                        self.tell_early(analysis.tracker.last_time, timers=False)
                if self.stopped:
                    if self.live is not None:
                        self.live.stop()
                    return
            elif isinstance(item, FrameProblem):
                if self.writer is None and not options.quiet:
                    click.echo(f"{item.frame:>6} frame problem: {self.redacted_text(item.text)}", err=True)
            elif isinstance(item, (DiagnosisEvent, FindingEvent)):  # an IKE SA silent long enough
                event = self.redactor.event(item) if self.redactor is not None else item
                if self.board is not None and isinstance(event, DiagnosisEvent):
                    self.board.verdict(event)
                if self.writer is not None:
                    self.writer.write(event)
                if self.collector is not None or (self.writer is None and (
                        options.verbose or (isinstance(event, FindingEvent) and not options.quiet))):
                    self.retired.append(event)
            elif isinstance(item, Idle):
                if time.monotonic() - self.early_at > EARLY_EVERY:
                    self.tell_early(max(item.time, analysis.tracker.last_time), timers=True)
                if self.writer is not None:
                    self.writer.flush()

    def _enough(self, time: float) -> bool:
        """-c N messages, or --duration S seconds of capture time when reading files."""
        options = self.options
        if options.count is not None and self.analysis.messages >= options.count:
            return True
        return options.duration is not None and self.live is None and self.first_time is not None \
            and time - self.first_time > options.duration

    def message(self, item: DecodedMessage) -> None:
        options = self.options
        event = item.event
        if self.first_time is None:
            self.first_time = event.time
        if self.redactor is not None:
            self.redactor.learn(item.message, item.inner)
            event = self.redactor.event(event)
        if self.pcap is not None and item.datagram is not None:
            for datagram in (self.redactor.datagrams(item.datagram) if self.redactor is not None
                             else [item.datagram]):
                self.pcap.write(datagram)
        if self.collector is not None:
            self.collector.message(event)
        if self.board is not None:
            self.board.message(event)
        elif self.writer is not None:
            self.writer.write(event)
        elif not options.quiet:
            click.echo(message_line(event, self.first_time))
            if options.verbose:
                for line in message_tree(item.message):
                    click.echo(self.redacted_text(line))

    def tell_early(self, now: float, timers: bool) -> None:
        """Verdicts that changed: at once after a decisive message while traffic is light, otherwise
        every EARLY_EVERY seconds (the cost then follows the IKE SAs, not the packets)."""
        if timers:
            self.early_at, self.quick_looks = time.monotonic(), 0
        for verdict in self.analysis.early_verdicts(now, timers):
            event = self.redactor.event(verdict) if self.redactor is not None else verdict
            if self.board is not None:
                self.board.verdict(event)
            elif self.writer is not None:
                self.writer.write(event)
            else:
                click.echo(verdict_line(event, now))

    def _close_pcap(self) -> None:
        if self.pcap is not None:
            if self.redactor is not None:
                for datagram in self.redactor.flush():  # Cisco fragments of a message never completed
                    self.pcap.write(datagram)
            self.pcap.close()
            self.pcap = None

    def abort(self, text: str) -> None:
        if self.display is not None:
            self.display.stop()
        self._close_pcap()
        if self.writer is not None:
            self.writer.flush()
        fail(self.redacted_text(text))

    def finish(self, inputs: list[str]) -> None:
        analysis, options = self.analysis, self.options
        conclusions = conclude(analysis)
        summary = _summary(analysis, [self.redacted_text(name) for name in inputs], time.perf_counter() - self.started)
        summary.outcomes = conclusions.outcomes()
        if self.live is not None:  # (libpcap's counters outlive the closed capture)
            summary.kernel_received, summary.kernel_dropped, summary.interface_dropped = self.live.stats()
        if self.redactor is not None:
            conclusions = Conclusions([self.redactor.event(e) for e in conclusions.diagnoses],
                                      [self.redactor.event(e) for e in conclusions.findings],
                                      [self.redactor.event(e) for e in conclusions.verdicts])
            summary = self.redactor.event(summary)
        self._close_pcap()
        if self.display is not None:
            for verdict in conclusions.verdicts:
                self.board.verdict(verdict)
            self.display.stop()
        if self.writer is None or self.collector is not None:  # JSON Lines wrote the retired ones already
            conclusions.diagnoses[:0] = [event for event in self.retired if isinstance(event, DiagnosisEvent)]
            conclusions.findings[:0] = [event for event in self.retired if isinstance(event, FindingEvent)]
        if self.collector is not None:
            self._report(conclusions, summary, inputs)
        if self.writer is not None:
            for event in [*conclusions.diagnoses, *conclusions.findings, *conclusions.verdicts]:
                self.writer.write(event)
            self.writer.write(summary)
            self.writer.flush()
        else:
            _print_conclusions(conclusions, options.verbose, options.quiet)
            if options.verbose:
                for flow in summary.esp:
                    click.echo(f"ESP spi 0x{flow.spi} {flow.src}:{flow.sport} > {flow.dst}:{flow.dport} "
                               f"{flow.protocol}: {flow.packets} packets, frames {flow.first_frame}-"
                               f"{flow.last_frame}, {flow.last_time - flow.first_time:.3f} s")
            drops = ""
            if summary.kernel_received is not None:
                drops = (f", {summary.kernel_received} packets received by the filter, "
                         f"{summary.kernel_dropped} dropped by the kernel")
            click.echo(f"{summary.frames} frames, {summary.ike_messages} IKE messages, {summary.ike_sas} IKE SAs, "
                       f"{summary.esp_packets + summary.esp_in_udp_packets} ESP packets in {summary.esp_flows} flows, "
                       f"{summary.decode_errors} decode errors, {summary.seconds:.2f} s{drops}", err=not options.quiet)
        sys.exit(EXIT_FAILURE if conclusions.failed else EXIT_OK)

    def _report(self, conclusions: Conclusions, summary: SummaryEvent, inputs: list[str]) -> None:
        from .report import InputIdentity, ReportError, identify, write_report
        assert self.collector is not None and self.options.report is not None
        try:
            if self.live is not None:
                identities = [InputIdentity(f"interface {name}", None, None) for name in inputs]
            else:
                identities = [dataclasses.replace(identify(path), name=self.redacted_text(path)) for path in inputs]
            report = self.collector.build(inputs=identities, diagnoses=conclusions.diagnoses,
                                          findings=conclusions.findings, verdicts=conclusions.verdicts,
                                          summary=summary, version=__version__)
            write_report(self.options.report, report)
        except ReportError as error:
            fail(self.redacted_text(str(error)))


CONCLUDING = frozenset({"IKE_AUTH", "CREATE_CHILD_SA", "INFORMATIONAL", "QUICK_MODE", "IDENTITY_PROTECTION",
                        "AGGRESSIVE"})


def _decisive(event: MessageEvent) -> bool:
    """A message after which a tunnel's verdict may have changed: a retransmission, an error notify, an
    answer that may complete an SA, an informational (Delete, liveness)."""
    return event.retransmission or any(ref.is_error for ref in event.notifies) or (
        event.exchange in CONCLUDING and (event.response or event.exchange == "INFORMATIONAL"))


def _print_conclusions(conclusions: Conclusions, verbose: bool, quiet: bool) -> None:
    if verbose:
        for diagnosis in conclusions.diagnoses:
            click.echo(f"\nIKE SA {diagnosis.ike_sa} (IKEv{diagnosis.version}) {diagnosis.initiator} -> "
                       f"{diagnosis.responder}: {diagnosis.outcome} {diagnosis.code} ({diagnosis.confidence})")
            for line in diagnosis.exchanges:
                click.echo(f"    {line}")
    if not quiet:
        for finding in conclusions.findings:
            frames = ", ".join(str(frame) for frame in finding.frames)
            click.echo(f"finding {finding.kind} [{finding.ike_sa}] frame {frames}: {finding.detail}")
    for verdict in conclusions.verdicts:
        click.echo(f"\n{verdict_headline(verdict)}")
        wrap = textwrap.TextWrapper(100, initial_indent="  ", subsequent_indent="    ", break_on_hyphens=False)
        click.echo(wrap.fill(verdict.message))
        for item in verdict.evidence:
            click.echo(wrap.fill(f"frame {item.frame}: {item.why}"))
        if verdict.code != "Established":
            click.echo(wrap.fill(f"fix: {verdict.remedy}"))


def _summary(analysis: Analysis, files: list[str], seconds: float) -> SummaryEvent:
    stats = analysis.stats
    return SummaryEvent(
        "summary", files, stats.frames, analysis.messages, sum(len(t.ike_sas) for t in analysis.tunnels.values()),
        len(analysis.tunnels),
        {}, analysis.decode_errors, stats.esp_packets, stats.esp_in_udp_packets, stats.nat_keepalives,
        len(stats.esp_flows), stats.ip_fragments, stats.reassembly_timeouts, round(seconds, 3),
        [EspFlowSummary(f"{flow.spi:08x}", flow.transport, flow.src, flow.sport, flow.dst, flow.dport,
                        flow.packets, flow.first_frame, flow.last_frame, flow.first_time, flow.last_time)
         for flow in sorted([*stats.esp_flows.values(), *stats.ah_flows.values()],
                            key=lambda flow: flow.first_frame)])


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("code", required=False)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per cause (JSON Lines), nothing else.")
def causes_command(code: str | None, as_json: bool) -> None:
    """Print the cause catalog, or one cause (CODE, or a Huawei fault-cause name) in full."""
    try:
        entries = catalog.causes() if code is None else (_find_cause(code),)
    except catalog.CatalogError as error:
        fail(str(error))
    with reader_may_leave():
        if as_json:
            writer = JsonLinesWriter(sys.stdout.buffer)
            for entry in entries:
                writer.write(_cause_event(entry))
            writer.flush()
        elif code is not None:
            _print_cause(entries[0])
        else:
            _print_catalog(entries)
        sys.stdout.flush()
    sys.exit(EXIT_OK)


def _find_cause(code: str) -> catalog.Cause:
    known = catalog.catalog()
    folded = {cause.code.lower(): cause for cause in known.causes}
    for lookup in (known.cause, lambda text: folded[text.lower()], known.huawei_cause):
        try:
            return lookup(code)
        except KeyError:
            pass
    close = difflib.get_close_matches(code, [cause.code for cause in known.causes], n=1)
    fail(f"unknown cause code {code!r}" + (f" (did you mean {close[0]}?)" if close else "")
         + "; 'ikesniff causes' lists them")


def _cause_event(cause: catalog.Cause) -> dict[str, Any]:
    fields = dataclasses.asdict(cause)
    fields["keyword_variants"] = {keyword: list(spellings) for keyword, spellings in cause.keyword_variants}
    return {"event": "cause", **fields}


def _print_catalog(causes: tuple[catalog.Cause, ...]) -> None:
    rows = [(c.code, "-" if c.phase is None else str(c.phase), c.huawei or "-", c.summary) for c in causes]
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table
        table = Table(header_style="bold")
        table.add_column("code", no_wrap=True)
        table.add_column("phase", justify="center")
        table.add_column("Huawei")
        table.add_column("summary")
        for row in rows:
            table.add_row(*row)
        Console(highlight=False).print(table)
        return
    widths = [max(len(row[column]) for row in [("CODE", "PHASE", "HUAWEI", ""), *rows]) for column in range(3)]
    for row in [("CODE", "PHASE", "HUAWEI", "SUMMARY"), *rows]:
        click.echo("  ".join(text.ljust(width) for text, width in zip(row, widths)) + "  " + row[3])


def _print_cause(cause: catalog.Cause) -> None:
    def paragraph(title: str, text: str) -> None:
        click.echo(f"\n{title}:")
        click.echo(textwrap.fill(text, 100, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False))

    phase = "either phase" if cause.phase is None else f"phase {cause.phase}"
    console = f" ({cause.console_name})" if cause.console_name else ""
    click.echo(f"{cause.code}{console}, {phase}: {cause.summary}")
    paragraph("What went wrong", cause.message)
    paragraph("What to change", cause.remedy)
    if cause.match_keywords:
        click.echo("\nLog keywords:")
        for keyword in cause.match_keywords:
            click.echo(f"  {keyword}")
    click.echo(f"\nHuawei name: {cause.huawei or '-'}")
    if cause.huawei_causes:
        click.echo(f"Huawei causes read as {cause.code}: {'; '.join(cause.huawei_causes)}")
    if cause.related:
        click.echo(f"Related: {', '.join(cause.related)}")
    if cause.notes:
        paragraph("Notes", cause.notes)
    click.echo("\nSources:")
    for source in cause.sources:
        click.echo(f"  {source.seed}: {source.section}")


def main() -> None:
    # Messages are short-lived and free of reference cycles: collect cycles rarely, and never
    # walk the objects that exist at start-up (registries, tables).
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    try:
        if sys.argv[1:2] == ["causes"]:
            causes_command(args=sys.argv[2:], prog_name="ikesniff causes", standalone_mode=False)
        elif sys.argv[1:2] == ["explain"]:
            from .explain_cli import explain_command
            explain_command(args=sys.argv[2:], prog_name="ikesniff explain", standalone_mode=False)
        else:
            main_command(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as error:
        click.echo(f"ikesniff: {error.format_message()}", err=True)
        sys.exit(EXIT_USAGE)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(EXIT_OK)
    except KeyboardInterrupt:
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as error:
        if os.environ.get("IKESNIFF_DEBUG"):
            raise
        click.echo(f"ikesniff: internal error: {type(error).__name__}: {error} "
                   "(set IKESNIFF_DEBUG=1 for details)", err=True)
        sys.exit(EXIT_USAGE)
    sys.exit(EXIT_OK)
