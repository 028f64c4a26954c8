"""`ikesniff explain LOGFILE... [--json]` (SPEC §3): gateway logs in, explained lines and a verdict out.

A thin shell around `ikesniff.logs` (read_log, and the verdict of logs.causes): this module reads the files (plain text or gzip, '-' for standard
input) and prints; what a line means and how the verdict is reached are decided there and in the data
files, never here. It knows nothing of captures.

Exit status as for the capture analysis: 0 when the logs show no failure (Established, NoExceptionFound),
1 when a failure code was concluded, 2 when a file cannot be read (one line on stderr).

The text output shows the lines that matter: every line that names a failure, and of the lines that say the
tunnel is up only those that change the state (a file's first, and the first after a failure); the others
are counted per file. `--json` gives every explained line.
"""

from __future__ import annotations

import gzip
import io
import os
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, NoReturn, cast

import click

from . import catalog
from .logs import read_log
from .logs.causes import ESTABLISHED, NO_EXCEPTION, Explanation, PatternError, Verdict, verdict
from .logs.sources import SourcesError
from .output import JsonLinesWriter

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(slots=True)
class ExplanationEvent:
    """One log line that points to a cause (SPEC §3)."""

    event: str
    file: str
    line: int
    code: str
    huawei: str | None
    keyword: str
    text: str
    confidence: str
    alternatives: list[str]
    reason: str


@dataclass(slots=True)
class EvidenceLine:
    file: str
    line: int


@dataclass(slots=True)
class ExplainVerdictEvent:
    """The conclusion from all the lines, with the catalog's words for it."""

    event: str
    code: str
    confidence: str
    evidence: list[EvidenceLine]
    alternatives: list[str]
    huawei: str | None
    message: str
    remedy: str


@dataclass
class _ShownLines:
    """Which explained lines the text output shows: failures, and the 'established' lines that change a file's
    state (its first one, the first after a failure); the other 'established' lines are only counted."""

    up: dict[str, bool] = field(default_factory=dict)
    hidden: dict[str, int] = field(default_factory=dict)
    last_established: dict[str, int] = field(default_factory=dict)

    def matters(self, item: Explanation) -> bool:
        if item.code != ESTABLISHED:
            self.up[item.file] = False
            return True
        self.last_established[item.file] = item.line
        if self.up.get(item.file):
            self.hidden[item.file] = self.hidden.get(item.file, 0) + 1
            return False
        self.up[item.file] = True
        return True


class LogReadError(Exception):
    """A log file cannot be read; the text names the file and the problem."""


def fail(text: str) -> NoReturn:
    click.echo(f"ikesniff: {text}", err=True)
    sys.exit(EXIT_USAGE)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("logfiles", nargs=-1, required=True, metavar="LOGFILE...")
@click.option("--json", "as_json", is_flag=True,
              help="JSON Lines on stdout: one 'explanation' per matched line, then the 'verdict'.")
def explain_command(logfiles: tuple[str, ...], as_json: bool) -> None:
    """Map gateway log lines to cause codes: strongSwan, libreswan, Cisco ASA and IOS, FortiGate, PAN-OS,
    Juniper SRX, Huawei and cloud VPN consoles.

    Give the logs of both gateways of a tunnel when you have them: lines from both sides that agree make
    the verdict surer. Plain text or gzip; '-' reads standard input.
    """
    if logfiles.count("-") > 1:
        fail("standard input ('-') can be read only once")
    for path in logfiles:
        if path != "-":
            try:
                _check_readable(path)
            except LogReadError as error:
                fail(str(error))
    try:
        _explain(logfiles, as_json)
    except (PatternError, SourcesError, catalog.CatalogError, LogReadError) as error:
        fail(str(error))
    except BrokenPipeError:  # `ikesniff explain ... | head`: a reader that leaves early is no error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_OK)


def _explain(logfiles: tuple[str, ...], as_json: bool) -> None:
    writer = JsonLinesWriter(sys.stdout.buffer) if as_json else None
    explanations: list[Explanation] = []
    shown = _ShownLines()
    for item in _explanations(logfiles):
        explanations.append(item)
        if writer is not None:
            writer.write(ExplanationEvent("explanation", item.file, item.line, item.code, item.huawei, item.keyword,
                                          item.text, item.confidence, list(item.alternatives), item.reason))
        elif shown.matters(item):
            huawei = f" ({item.huawei})" if item.huawei else ""
            click.echo(f"{item.file}:{item.line}: {item.code}{huawei} — {item.text.strip()}")
    if writer is None:
        for file, count in shown.hidden.items():
            click.echo(f"{file}: {count} more line{'s' if count > 1 else ''} say the tunnel is up ({ESTABLISHED}), "
                       f"the last at line {shown.last_established[file]}")
    conclusion = verdict(explanations)
    cause = catalog.cause(conclusion.code)
    if writer is not None:
        writer.write(ExplainVerdictEvent(
            "verdict", conclusion.code, conclusion.confidence,
            [EvidenceLine(evidence.file, evidence.line) for evidence in conclusion.evidence],
            list(conclusion.alternatives), cause.huawei, cause.message, cause.remedy))
        writer.flush()
    else:
        _print_verdict(conclusion, cause, bool(explanations))
    sys.stdout.flush()
    sys.exit(EXIT_OK if conclusion.code in (ESTABLISHED, NO_EXCEPTION) else EXIT_FAILURE)


def _print_verdict(conclusion: Verdict, cause: catalog.Cause, matched: bool) -> None:
    if matched:
        click.echo("")
    huawei = f", Huawei: {cause.huawei}" if cause.huawei else ""
    click.echo(f"verdict: {conclusion.code} ({conclusion.confidence}{huawei}): {cause.summary}")
    if conclusion.evidence:
        click.echo("  evidence: " + ", ".join(f"{e.file}:{e.line}" for e in conclusion.evidence))
    if conclusion.alternatives:
        click.echo("  alternatives: " + ", ".join(conclusion.alternatives))
    click.echo(f"  what went wrong: {cause.message}")
    click.echo(f"  what to change: {cause.remedy}")


def _explanations(logfiles: tuple[str, ...]) -> Iterator[Explanation]:
    """The explained lines of the logs, file after file: the records of `ikesniff.logs.read_log` that name a
    cause (the daemons' messages and seed keywords of `logs.causes`, the commercial gateways' messages)."""
    for path in logfiles:
        try:
            with open_log(path) as stream:
                for record in read_log(stream, path):
                    if record.code is not None:
                        yield Explanation(record.file, record.line, record.code, record.huawei, record.keyword or "",
                                          record.text, record.confidence or "possible", record.alternatives,
                                          record.reason or "")
        except (EOFError, zlib.error, gzip.BadGzipFile) as error:
            raise LogReadError(f"{path}: damaged gzip data ({error})") from None
        except OSError as error:
            raise LogReadError(f"{path}: {_describe(error)}") from None


def _check_readable(path: str) -> None:
    try:
        with open(path, "rb") as stream:
            stream.read(1)
    except OSError as error:
        raise LogReadError(f"{path}: {_describe(error)}") from None


def open_log(path: str) -> IO[str]:
    """A text stream over a log file, standard input ('-'), either of them gzip-compressed or not."""
    raw: IO[bytes] = io.BytesIO(sys.stdin.buffer.read()) if path == "-" else open(path, "rb")  # noqa: SIM115
    head = raw.read(2)
    raw.seek(0)
    binary = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb")) if head == GZIP_MAGIC else raw
    return io.TextIOWrapper(binary, encoding="utf-8", errors="replace", newline="\n")


def _describe(error: OSError) -> str:
    text = error.strerror or str(error)
    return text[:1].lower() + text[1:]


if __name__ == "__main__":
    explain_command(prog_name="ikesniff explain")
