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
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import click

from . import startup  # noqa: F401 - first of ours: before numpy is loaded

# isort: split
from . import __version__, api, catalog
from .capture import CaptureError
from .output import JsonLinesWriter
from .sinks import Sink

if TYPE_CHECKING:  # (imported where used: a run without keys, logs or configurations never loads them)
    from .config import GatewayConfig
    from .crypto.keys import KeyStore
    from .fusion import LogText

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def fail(text: str) -> NoReturn:
    click.echo(f"ikesniff: {text}", err=True)
    sys.exit(EXIT_USAGE)


MAIN_EPILOG = """\b
Subcommands:
  ikesniff explain LOGFILE...   map gateway log lines to cause codes (ikesniff explain --help)
  ikesniff causes [CODE]        print the cause catalog, or one cause in full

\b
Examples:
  ikesniff capture.pcap                      every IKE message, then each tunnel's verdict
  ikesniff -q -r a.pcap b.pcap.gz            verdicts only, two captures
  ikesniff -r capture.pcap --json | jq .     JSON Lines for a script
  sudo ikesniff -i eth0 -f 'host 192.0.2.1'  live, the tunnels to one peer
  ikesniff -r capture.pcap --report ticket.md --redact
  tcpdump -U -w - -i eth0 udp | ikesniff -r -

Results go to standard output; diagnostics, progress and the summary line to standard error."""


@click.command(context_settings={"help_option_names": ["-h", "--help"]}, epilog=MAIN_EPILOG)
@click.option("-r", "read", metavar="FILE", multiple=True,
              help="Read a pcap/pcapng file (gzip accepted; '-' is standard input, read as a live stream). "
                   "More files may follow.")
@click.argument("more_files", nargs=-1, metavar="[FILE...]")
@click.option("-n", "no_resolve", is_flag=True, help="Do not resolve names (accepted for tcpdump's habit: ikesniff "
              "never resolves addresses or ports).")
@click.option("-D", "list_interfaces", is_flag=True, help="List the interfaces a live capture can use, and exit.")
@click.option("-i", "interface", metavar="IFACE", default=None,
              help="Capture live on this interface ('any' for all); needs root or CAP_NET_RAW.")
@click.option("-f", "bpf", metavar="BPF", default=None,
              help="Extra capture filter (BPF), ANDed with the IKE filter; applies to files too, as in tcpdump.")
@click.option("-Z", "user", metavar="USER", default="nobody", show_default=True,
              help="After opening the live capture, drop root to this user (as tcpdump does).")
@click.option("-w", "write", metavar="FILE", default=None,
              help="Also write the IKE messages seen to this pcap ('-' for standard output: the text then goes "
                   "to standard error), one packet each.")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines on standard output, nothing else.")
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
@click.option("--merge", is_flag=True,
              help="Read the files as one capture (rotated files of one tcpdump -C/-G run, or both gateways' "
                   "captures of the same negotiations); otherwise each file is a capture of its own.")
@click.option("--metrics", "metrics", metavar="[HOST:]PORT", default=None,
              help="Live capture: serve Prometheus/OpenMetrics metrics of the tunnels seen on this address "
                   "(a bare PORT listens on every address).")
@click.option("--syslog", "syslog", metavar="TARGET", default=None,
              help="Also send every event as JSON in an RFC 5424 syslog message, to HOST[:PORT] over UDP or to a "
                   "local socket path (/dev/log).")
@click.option("--log", "log_files", metavar="FILE", multiple=True,
              help="A gateway log as evidence beside the packets (strongSwan, libreswan, Cisco, FortiGate, PAN-OS, "
                   "Juniper, Huawei; gzip accepted, '-' is standard input; repeatable). A charon log at 'ike 4' "
                   "also gives keys, as --keys does.")
@click.option("--config", "config_files", metavar="FILE", multiple=True,
              help="A gateway configuration (swanctl.conf, ipsec.conf/ipsec.secrets, vpnc.conf, Huawei "
                   "current-configuration; repeatable): compared with the offers on the wire and the other side's.")
@click.option("-j", "--jobs", "jobs", type=click.IntRange(min=1), default=None, metavar="N",
              help="Worker processes for capture files (default: the cores this process may use). A large file is "
                   "split among them by tunnel, several files are read side by side; the output is the same, byte for "
                   "byte, whatever N. Live capture, standard input, --merge, --log, --config, --report, -w, --redact "
                   "and --syslog use one process.")
@click.option("--color", "--colour", "color", type=click.Choice(["auto", "always", "never"]), default="auto",
              show_default=True, help="Colour the outcomes (auto: on a terminal, unless NO_COLOR is set).")
@click.version_option(__version__, "--version", prog_name="ikesniff")
def main_command(read: tuple[str, ...], more_files: tuple[str, ...], no_resolve: bool, list_interfaces: bool,
                 interface: str | None, bpf: str | None,
                 user: str, write: str | None, as_json: bool, verbose: bool, quiet: bool,
                 ike_ports: tuple[int, ...], count: int | None, duration: float | None, report: str | None,
                 redact: bool, key_files: tuple[str, ...], psk_file: str | None, export_dir: str | None,
                 merge: bool, metrics: str | None, syslog: str | None, color: str,
                 log_files: tuple[str, ...] = (), config_files: tuple[str, ...] = (), jobs: int | None = None) -> None:
    """Read IKEv1/IKEv2 traffic, show every message and say why each tunnel works or fails.

    A capture may be named with -r FILE or alone: 'ikesniff FILE' reads it."""
    if list_interfaces:
        _list_interfaces()
    files = list(read) + list(more_files)
    if interface is None and not files:
        fail("no input: give a capture with -r FILE (or just FILE) or an interface with -i IFACE "
             "(see ikesniff --help)")
    if interface is not None and files:
        fail("-i and -r cannot be combined: capture live or read files")
    if files.count("-") > 1:
        fail("standard input ('-') can be read only once")
    if write == "-" and as_json:
        fail("-w - writes the capture to standard output: leave out --json (or write the capture to a file)")
    if "-" in log_files and ("-" in files or log_files.count("-") > 1):
        fail("standard input ('-') can be read only once")
    logs = _logs(log_files)
    configs = _configs(config_files)
    keys = _keys(key_files, logs)
    if export_dir is not None:
        if keys is None:
            fail("--export-keys needs key material from --keys")
        _export(keys, export_dir)
    psks: list[bytes] = []
    if psk_file is not None:
        from .crypto.psk import PskFileError, load_psk_file
        try:
            psks = load_psk_file(psk_file)
        except PskFileError as error:
            fail(str(error))
    if metrics is not None and interface is None:
        fail("--metrics serves the tunnels of a live capture: use it with -i IFACE")
    from .terminal import use_colour
    options = Options(as_json, verbose, quiet, count, duration, write, report, redact, metrics, syslog,
                      colour=use_colour(color, sys.stdout if write != "-" else sys.stderr))
    analysis_options = api.Options(ike_ports=frozenset({500, 4500, *ike_ports}), keys=keys, psks=psks,
                                   count=count, duration=duration, early=interface is not None or "-" in files,
                                   merge=merge, bpf=bpf if interface is None else None, logs=logs,
                                   configs=configs)
    with reader_may_leave():
        if interface is not None:
            _capture(options, analysis_options, interface, bpf, user)
        else:
            _read(options, analysis_options, files, jobs)


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
    metrics: str | None = None
    syslog: str | None = None
    colour: bool = False
    dropped_to: str | None = None
    """Live: the user root was dropped to (-Z), named when an output file cannot be written."""


def _list_interfaces() -> NoReturn:
    """-D: libpcap's list of capture interfaces, numbered as tcpdump -D numbers them."""
    try:
        import pcapy  # type: ignore[import-not-found]
    except ImportError:
        fail("-D needs libpcap through the Python package pcapy-ng, which cannot be imported")
    try:
        names = pcapy.findalldevs()
    except pcapy.PcapError as error:
        fail(f"cannot list the capture interfaces: {error}")
    with reader_may_leave():
        for number, name in enumerate(names, 1):
            click.echo(f"{number}.{name}")
        sys.stdout.flush()
    sys.exit(EXIT_OK)


def _export(keys: KeyStore, directory: str) -> None:
    from .crypto.keys import export_tables
    try:
        os.makedirs(directory, exist_ok=True)
        for name, text in export_tables(keys).items():
            with open(os.path.join(directory, name), "w", encoding="ascii") as handle:
                handle.write(text)
    except OSError as error:
        fail(f"{directory}: cannot write the key tables: {error.strerror or error}")


def _logs(paths: tuple[str, ...]) -> list[LogText]:
    """The lines of each --log file (plain or gzip, '-' for standard input); one line and exit 2 if one
    cannot be read."""
    if not paths:
        return []
    import gzip
    import zlib

    from .explain_cli import open_log
    from .fusion import LogText
    logs = []
    for path in paths:
        try:
            with open_log(path) as stream:
                logs.append(LogText("stdin" if path == "-" else path, stream.read().splitlines()))
        except (EOFError, zlib.error, gzip.BadGzipFile) as error:
            fail(f"{path}: damaged gzip data ({error})")
        except OSError as error:
            fail(f"{path}: cannot read the log: {error.strerror or error}")
    return logs


def _configs(paths: tuple[str, ...]) -> list[GatewayConfig]:
    if not paths:
        return []
    from .config import ConfigError, combine, read_config
    configs = []
    for path in paths:
        try:
            with open(path, "rb") as handle:
                configs.append(read_config(handle.read(), path))
        except OSError as error:
            fail(f"{path}: cannot read the configuration: {error.strerror or error}")
        except ConfigError as error:
            fail(str(error))
    return combine(configs)


def _keys(key_files: tuple[str, ...], logs: list[LogText] | None = None) -> KeyStore | None:
    if not key_files and not logs:
        return None
    from .crypto.keys import KeyFileError, KeyStore, load_key_file
    from .fusion import log_keys
    store = log_keys(logs or []) or KeyStore()
    if not key_files:
        return store if store else None
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


def _read(options: Options, analysis_options: api.Options, files: list[str], jobs: int | None = None) -> None:
    from .progress import progress_bar
    if _parallel(options, analysis_options, files, jobs):
        return
    session = api.Session(analysis_options)
    stream = "-" in files  # e.g. tcpdump -U -w - | ikesniff -r -: every event goes out at once
    sinks = _sinks(options, files, stream=stream, live=None, session=session)
    with progress_bar(lambda: session.analysis.reader, enabled=not (options.as_json and sys.stdout.isatty())):
        _drive(session, session.items(files), sinks)


def _parallel(options: Options, analysis_options: api.Options, files: list[str], jobs: int | None) -> bool:
    """-j: the files read by worker processes (ikesniff.parallel), when the outputs and the inputs allow it and
    some file is worth it; False when they are to be read here."""
    from . import parallel
    jobs = parallel.default_jobs() if jobs is None else jobs
    if jobs < 2 or not parallel.usable(analysis_options, files) or options.report is not None \
            or options.write is not None or options.redact or options.syslog is not None:
        return False
    groups = parallel.plan(files, jobs, analysis_options)
    if all(how == "here" for how, _ in groups):
        return False
    from .progress import progress_bar
    run = parallel.Run(files, analysis_options, jobs,
                       parallel.Output(options.as_json, options.verbose, options.quiet, options.colour), groups)
    sinks = _sinks(options, files, stream=False, live=None, session=None)
    with progress_bar(run.reader, enabled=not (options.as_json and sys.stdout.isatty())):
        _drive(run, run.items(), sinks)
    return True


def _capture(options: Options, analysis_options: api.Options, interface: str, bpf: str | None, user: str) -> None:
    from .capture.live import LiveSource
    from .privileges import PrivilegeError, drop_privileges
    opened: list[LiveSource] = []
    metrics = _metrics(options, lambda: opened[0].stats() if opened else (None, None, None))
    try:
        source = LiveSource(interface, ike_ports=analysis_options.ike_ports, extra_filter=bpf,
                            duration=options.duration)
    except CaptureError as error:
        if metrics is not None:
            metrics.close()
        fail(str(error))
    opened.append(source)
    try:
        drop_privileges(user)
    except PrivilegeError as error:
        source.close()
        fail(str(error))
    options.dropped_to = user
    session = api.Session(analysis_options)
    sinks = _sinks(options, [interface], stream=True, live=source, session=session, extra=[metrics] if metrics else [])
    previous = {number: signal.signal(number, lambda *_: source.stop())  # Ctrl-C or kill: end with the verdicts
                for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        _drive(session, session.items([], live=source), sinks, source)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _metrics(options: Options, counters: Any) -> Any:
    """The metrics server, opened before the capture (and before root is dropped: a port below 1024 works)."""
    if options.metrics is None:
        return None
    from .sinks.metrics import MetricsError, MetricsSink, parse_listen
    try:
        host, port = parse_listen(options.metrics)
        return MetricsSink(host, port, kernel_counters=counters)
    except MetricsError as error:
        fail(str(error))


def _sinks(options: Options, inputs: list[str], stream: bool, live: Any, session: api.Session | None,
           extra: list[Sink] | None = None) -> list[Sink]:
    """The outputs the options ask for, redacted first when asked (the one place they are assembled)."""
    redactor = None
    if options.redact:
        from .redact import Redactor
        redactor = Redactor()
    sinks: list[Sink] = list(extra or [])
    if options.syslog is not None:
        from .sinks.syslog import SyslogError, SyslogSink
        try:
            sinks.append(SyslogSink(options.syslog, messages=not options.quiet))
        except SyslogError as error:
            fail(str(error))
    if options.report is not None:
        from .report import ReportError
        from .sinks.report import ReportSink
        try:
            from .sinks.report import withheld
            sinks.append(ReportSink(options.report, inputs, live=live is not None,
                                    name=withheld if redactor is not None else None,
                                    text=redactor.text if redactor is not None else None))
        except ReportError as error:
            fail(_after_drop(str(error), options))
    if options.write is not None:
        from .sinks.pcap import PcapSink
        try:
            sinks.append(PcapSink(options.write, redactor))
        except CaptureError as error:
            fail(_after_drop(str(error), options))
    if options.as_json:  # a live capture's lines wait at most 50 ms; a stream's go out at once
        from .sinks.jsonl import JsonLinesSink
        sinks.append(JsonLinesSink(sys.stdout.buffer, batch=512, linger=0.05) if live is not None
                     else JsonLinesSink(sys.stdout.buffer, batch=1 if stream else 512))
    elif live is not None and sys.stdout.isatty() and not (options.verbose or options.quiet):
        from .sinks.board import BoardSink  # the live view, started last (after every check that may fail)
        assert session is not None
        sinks.append(BoardSink(session.analysis.stats, live.stats, time.time, colour=options.colour))
    else:
        from .sinks.text import TextSink
        sinks.append(TextSink(options.verbose, options.quiet, redactor, colour=options.colour,
                              to_stderr=options.write == "-"))
    if redactor is not None:
        from .sinks.redact import RedactingSink
        return [RedactingSink(sinks, redactor)]
    return sinks


def _after_drop(error: str, options: Options) -> str:
    """An output file that cannot be written after root was dropped (-Z): the error says so."""
    if options.dropped_to is None or options.dropped_to == "root" or os.geteuid() == 0:
        return error
    return (f"{error} (after the capture was opened root was dropped to user {options.dropped_to!r} with -Z: "
            f"write where {options.dropped_to} may, or give -Z root)")


def _drive(session: Any, items: Iterator[Any], sinks: list[Sink], live: Any = None) -> None:
    """Every event of the analysis to every sink; exit with the status of SPEC §3 (`session.failed`: an
    api.Session or a parallel.Run)."""
    # A report's errors end the run with one line too; the report package is loaded only when one is written.
    report = sys.modules.get("ikesniff.report")
    failures: tuple[type[Exception], ...] = (CaptureError, report.ReportError) if report else (CaptureError,)
    try:
        for item in items:
            for sink in sinks:
                sink.write(item)
    except failures as error:
        _close(sinks)
        redactor = getattr(sinks[0], "redactor", None) if sinks else None
        fail(redactor.text(str(error)) if redactor is not None else str(error))
    _close(sinks)
    if live is not None:
        live.close()
    sys.exit(EXIT_FAILURE if session.failed else EXIT_OK)


def _close(sinks: list[Sink]) -> None:
    for sink in sinks:
        sink.close()


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
    from .terminal import width, wrapper
    wrap = wrapper(width(sys.stdout), "  ", "  ")

    def paragraph(title: str, text: str) -> None:
        click.echo(f"\n{title}:")
        click.echo(wrap.fill(text))

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
        click.echo(f"  {catalog.source_title(source.seed)}: {source.section}")


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
