"""Command line: `ikesniff -r FILE...` in the tcpdump/tshark manner (SPEC §3).

Exit status: 0 all tunnels healthy, 1 a failure was diagnosed, 2 bad usage or unreadable input
(one line on stderr, never a traceback; IKESNIFF_DEBUG=1 shows the traceback of an internal error).
"""

from __future__ import annotations

import dataclasses
import difflib
import gc
import os
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
from .capture.events import FrameProblem
from .events import DiagnosisEvent, EspFlowSummary, FindingEvent, SummaryEvent
from .keys import KeyFileError, KeyStore, export_tables, load_key_file
from .output import JsonLinesWriter, message_line, message_tree
from .psk import PskFileError, load_psk_file

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def fail(text: str) -> NoReturn:
    click.echo(f"ikesniff: {text}", err=True)
    sys.exit(EXIT_USAGE)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-r", "read", metavar="FILE", multiple=True,
              help="Read a pcap/pcapng file (gzip accepted; '-' is standard input). More files may follow.")
@click.argument("more_files", nargs=-1, metavar="[FILE...]")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines on stdout (SPEC §4), nothing else.")
@click.option("-v", "verbose", is_flag=True, help="Print the full decoded tree under each message.")
@click.option("-q", "quiet", is_flag=True, help="No per-message lines; only the summary.")
@click.option("--ike-port", "ike_ports", type=click.IntRange(1, 65535), multiple=True,
              help="Also read IKE on this UDP/TCP port (repeatable; 500 and 4500 are always read).")
@click.option("-c", "count", type=click.IntRange(min=1), default=None,
              help="Stop after N IKE messages.")
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
def main_command(read: tuple[str, ...], more_files: tuple[str, ...], as_json: bool, verbose: bool,
                 quiet: bool, ike_ports: tuple[int, ...], count: int | None, key_files: tuple[str, ...],
                 psk_file: str | None, export_dir: str | None) -> None:
    """Read IKEv1/IKEv2 traffic, show every message and say why each tunnel works or fails."""
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
    with reader_may_leave():
        _read(read, more_files, as_json, verbose, quiet, ike_ports, count, keys, psks)


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


def _read(read: tuple[str, ...], more_files: tuple[str, ...], as_json: bool, verbose: bool,
          quiet: bool, ike_ports: tuple[int, ...], count: int | None, keys: KeyStore | None = None,
          psks: list[bytes] | None = None) -> None:
    files = list(read) + list(more_files)
    if not read:
        fail("no input: give a capture with -r FILE (see ikesniff --help)")
    if files.count("-") > 1:
        fail("standard input ('-') can be read only once")
    analysis = Analysis(ike_ports=frozenset({500, 4500, *ike_ports}), keys=keys, psks=psks or [])
    started = time.perf_counter()
    live_stream = "-" in files  # e.g. tcpdump -U -w - | ikesniff -r -: every event goes out at once
    writer = JsonLinesWriter(sys.stdout.buffer, batch=1 if live_stream else 512) if as_json else None
    first_time: float | None = None
    retired: list[DiagnosisEvent | FindingEvent] = []
    for path in files:
        try:
            for item in analysis.run(path):
                if isinstance(item, FrameProblem):
                    if writer is None and not quiet:
                        click.echo(f"{item.frame:>6} frame problem: {item.text}", err=True)
                    continue
                if isinstance(item, (DiagnosisEvent, FindingEvent)):  # an IKE SA silent long enough
                    if writer is not None:
                        writer.write(item)
                    elif verbose or (isinstance(item, FindingEvent) and not quiet):
                        retired.append(item)
                    continue
                if writer is not None:
                    writer.write(item.event)
                elif not quiet:
                    first_time = item.event.time if first_time is None else first_time
                    _print_message(item, first_time, verbose)
                if count is not None and analysis.messages >= count:
                    break
        except CaptureError as error:
            if writer is not None:
                writer.flush()
            fail(str(error))
        if count is not None and analysis.messages >= count:
            break
    conclusions = conclude(analysis)
    conclusions.diagnoses[:0] = [event for event in retired if isinstance(event, DiagnosisEvent)]
    conclusions.findings[:0] = [event for event in retired if isinstance(event, FindingEvent)]
    summary = _summary(analysis, files, time.perf_counter() - started)
    summary.outcomes = conclusions.outcomes()
    if writer is not None:
        for event in [*conclusions.diagnoses, *conclusions.findings, *conclusions.verdicts]:
            writer.write(event)
        writer.write(summary)
        writer.flush()
    else:
        _print_conclusions(conclusions, verbose, quiet)
        if verbose:
            for flow in summary.esp:
                click.echo(f"ESP spi 0x{flow.spi} {flow.src}:{flow.sport} > {flow.dst}:{flow.dport} "
                           f"{flow.protocol}: {flow.packets} packets, frames {flow.first_frame}-"
                           f"{flow.last_frame}, {flow.last_time - flow.first_time:.3f} s")
        click.echo(f"{summary.frames} frames, {summary.ike_messages} IKE messages, {summary.ike_sas} IKE SAs, "
                   f"{summary.esp_packets + summary.esp_in_udp_packets} ESP packets in {summary.esp_flows} flows, "
                   f"{summary.decode_errors} decode errors, {summary.seconds:.2f} s", err=not quiet)
    sys.exit(EXIT_FAILURE if conclusions.failed else EXIT_OK)


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
        phase = f", phase {verdict.phase}" if verdict.phase else ""
        also = f"; also possible: {', '.join(verdict.alternatives)}" if verdict.alternatives else ""
        click.echo(f"\n{' <-> '.join(verdict.peers)}: {verdict.outcome.upper()} {verdict.code} "
                   f"({verdict.confidence}{also}){phase}")
        wrap = textwrap.TextWrapper(100, initial_indent="  ", subsequent_indent="    ", break_on_hyphens=False)
        click.echo(wrap.fill(verdict.message))
        for item in verdict.evidence:
            click.echo(wrap.fill(f"frame {item.frame}: {item.why}"))
        if verdict.code != "Established":
            click.echo(wrap.fill(f"fix: {verdict.remedy}"))


def _print_message(item: DecodedMessage, start: float, verbose: bool) -> None:
    click.echo(message_line(item.event, start))
    if verbose:
        for line in message_tree(item.message):
            click.echo(line)


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
