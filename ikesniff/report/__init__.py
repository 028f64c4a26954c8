"""Ticket-ready reports (`--report FILE.md | FILE.html | FILE.json`).

The CLI checks the path before the run (`check_report_path`), feeds every message event to a
`ReportCollector`, and at the end writes `collector.build(...)` with `write_report`; the format comes
from the file's extension. The report holds only what the events and the input identities say.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import orjson

from . import html, markdown
from .collect import ReportCollector, ReportError, identify
from .model import InputIdentity, Report

__all__ = ["InputIdentity", "Report", "ReportCollector", "ReportError", "check_report_path", "identify",
           "render", "write_report"]


def _json(report: Report) -> str:
    """One JSON document: the inputs, the version, the events of the run and each tunnel's messages."""
    document: dict[str, Any] = {
        "report": "ikesniff",
        "version": report.version,
        "inputs": report.inputs,
        "time_spans": report.spans,
        "verdicts": [tunnel.verdict for tunnel in report.tunnels],
        "diagnoses": report.diagnoses,
        "findings": report.findings,
        "summary": report.summary,
        "tunnels": [{"peers": tunnel.verdict.peers, "ike_sas": tunnel.verdict.ike_sas,
                     "messages": tunnel.messages, "messages_left_out": tunnel.messages_left_out}
                    for tunnel in report.tunnels],
        "messages_left_out": report.messages_left_out,
        "limits": report.limits,
        "decrypted": report.decrypted,
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"


FORMATS: dict[str, Callable[[Report], str]] = {
    ".md": markdown.render, ".markdown": markdown.render,
    ".html": html.render, ".htm": html.render,
    ".json": _json,
}


def _format(path: str) -> Callable[[Report], str]:
    extension = os.path.splitext(path)[1].lower()
    if extension not in FORMATS:
        raise ReportError(f"{path}: unknown report format (use .md, .html or .json)")
    return FORMATS[extension]


def render(path: str, report: Report) -> str:
    """The report's text in the format the path's extension names."""
    return _format(path)(report)


def check_report_path(path: str) -> None:
    """Before the run: a known extension, and a place the report can be written to."""
    _format(path)
    directory = os.path.dirname(path) or "."
    if os.path.isdir(path):
        raise ReportError(f"{path}: cannot write the report: it is a directory")
    if not os.path.isdir(directory):
        raise ReportError(f"{path}: cannot write the report: no directory {directory}")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise ReportError(f"{path}: cannot write the report: permission denied")
    if not os.path.exists(path) and not os.access(directory, os.W_OK | os.X_OK):
        raise ReportError(f"{path}: cannot write the report: directory {directory} is not writable")


def write_report(path: str, report: Report) -> None:
    """Write the report in the format of the path's extension (UTF-8)."""
    text = render(path, report)
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as error:
        raise ReportError(f"{path}: cannot write the report: {error.strerror or error}") from None
