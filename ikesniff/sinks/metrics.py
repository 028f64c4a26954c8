"""A Prometheus / OpenMetrics endpoint fed by a run's items (`--metrics [HOST:]PORT`).

The sink counts what it is given (messages, retransmissions, decode errors, findings), keeps the latest
verdict of every tunnel, and counts a tunnel's failure once each time its verdict turns into a failing
one (a new failing outcome or cause; an early verdict later confirmed at the end counts once). An HTTP
server on a daemon thread renders those counts at each scrape, in the Prometheus text format 0.0.4 or
in OpenMetrics 1.0.0 when the scraper asks for it (Accept header). The kernel's packet counters are read
at scrape time through a callable the caller gives.

It knows nothing of captures or the command line; it only reads the event classes.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer

from .. import __version__
from ..analysis import DecodedMessage
from ..capture.events import FrameProblem
from ..diagnosis import is_failure
from ..events import FindingEvent, SummaryEvent, VerdictEvent

KernelCounters = Callable[[], tuple[int | None, int | None, int | None]]
"""Returns libpcap's (received, dropped by the kernel, dropped by the interface); None when unknown."""

STATES = ("established", "failed", "incomplete", "torn_down")
"""Verdict outcomes, each always present in `ikesniff_tunnels` (0 when no tunnel is in it)."""
OTHER_PEER = "other"
"""The `peer` label of failures of tunnels beyond the first `peer_limit` ones."""

TEXT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric family: its name (without `_total` for a counter), type, unit and help text."""

    name: str
    kind: str
    """'counter', 'gauge' or 'info'."""
    help: str
    unit: str = ""


TUNNELS = Metric("ikesniff_tunnels", "gauge", "Tunnels (pairs of gateways) by the outcome of their latest verdict.")
FAILURES = Metric("ikesniff_tunnel_failures", "counter",
                  "Tunnel verdicts that turned into a failure (failed or torn down, with a confidence above "
                  "possible), by cause code and tunnel peers.")
MESSAGES = Metric("ikesniff_ike_messages", "counter", "IKE messages read.")
RETRANSMISSIONS = Metric("ikesniff_retransmissions", "counter", "IKE messages that were retransmissions.")
DECODE_ERRORS = Metric("ikesniff_decode_errors", "counter",
                       "IKE messages with a decoding error, plus frames that could not be read.")
FINDINGS = Metric("ikesniff_findings", "counter", "Findings (not failures: weak crypto, NAT, ...) by kind.")
VERDICTS = Metric("ikesniff_verdicts", "counter", "Verdicts told (early ones during the capture, final ones at the end).")
LAST_VERDICT = Metric("ikesniff_last_verdict_timestamp_seconds", "gauge",
                      "When the latest verdict was told, seconds since the epoch.", "seconds")
KERNEL_RECEIVED = Metric("ikesniff_kernel_received", "counter", "Packets the capture filter passed (libpcap).")
KERNEL_DROPPED = Metric("ikesniff_kernel_dropped", "counter",
                        "Packets the kernel dropped because ikesniff did not read them in time (libpcap).")
INTERFACE_DROPPED = Metric("ikesniff_interface_dropped", "counter",
                           "Packets the network interface or its driver dropped (libpcap).")
BUILD = Metric("ikesniff_build", "info", "The ikesniff version serving these metrics.")


class MetricsError(Exception):
    """The endpoint cannot be served (bad address, port in use); its text is one line for the user."""


def parse_listen(text: str) -> tuple[str, int]:
    """`[HOST:]PORT` (HOST may be an IPv6 address in brackets) -> (host, port); a bare PORT listens on
    every IPv4 address (0.0.0.0)."""
    host, separator, port_text = text.rpartition(":")
    if separator and host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise MetricsError(f"metrics address {text!r}: write an IPv6 address in brackets, [ADDRESS]:PORT")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise MetricsError(f"metrics address {text!r}: expected [HOST:]PORT with PORT between 1 and 65535")
    return host or "0.0.0.0", int(port_text)


@dataclass(slots=True)
class Counts:
    """What the items said so far (read and written under the sink's lock)."""

    messages: int = 0
    retransmissions: int = 0
    decode_errors: int = 0
    verdicts: int = 0
    findings: dict[str, int] = field(default_factory=dict)
    outcome: dict[tuple[str, ...], str] = field(default_factory=dict)
    """Latest verdict outcome per tunnel (its sorted peers)."""
    failing: dict[tuple[str, ...], tuple[str, str] | None] = field(default_factory=dict)
    """Per tunnel, the (outcome, cause) of its latest verdict when that was a failure, else None."""
    failures: dict[tuple[str, str], int] = field(default_factory=dict)
    """Per (cause, peer label), failures counted."""
    peer_labels: set[str] = field(default_factory=set)
    last_verdict: float | None = None
    kernel: tuple[int | None, int | None, int | None] = (None, None, None)
    """The kernel counters of the summary (when no callable gives them)."""


class MetricsSink:
    """Serves the metrics of the items written to it on http://HOST:PORT/metrics until `close()`."""

    def __init__(self, host: str, port: int, kernel_counters: KernelCounters | None = None,
                 peer_limit: int = 50, clock: Callable[[], float] = time.time) -> None:
        self.kernel_counters = kernel_counters
        self.peer_limit = peer_limit
        self.clock = clock
        self.counts = Counts()
        self.lock = threading.Lock()
        self.server = _bind(host, port, self)
        self.host, self.port = self.server.server_address[:2]
        """The address actually listened on (the port chosen by the system when 0 was asked)."""
        self.closed = False
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
                                       name="ikesniff-metrics", daemon=True)
        self.thread.start()

    def write(self, item: object) -> None:
        counts = self.counts
        with self.lock:
            if isinstance(item, DecodedMessage):
                counts.messages += 1
                counts.retransmissions += item.event.retransmission
                counts.decode_errors += bool(item.event.errors)
            elif isinstance(item, VerdictEvent):
                self._verdict(item)
            elif isinstance(item, FindingEvent):
                counts.findings[item.kind] = counts.findings.get(item.kind, 0) + 1
            elif isinstance(item, FrameProblem):
                counts.decode_errors += 1
            elif isinstance(item, SummaryEvent):
                counts.kernel = (item.kernel_received, item.kernel_dropped, item.interface_dropped)

    def _verdict(self, verdict: VerdictEvent) -> None:
        counts = self.counts
        tunnel = tuple(sorted(verdict.peers))
        counts.verdicts += 1
        counts.last_verdict = self.clock()
        counts.outcome[tunnel] = verdict.outcome
        failing = (verdict.outcome, verdict.code) if is_failure(verdict) else None
        if failing is not None and failing != counts.failing.get(tunnel):
            key = (verdict.code, self._peer_label(tunnel))
            counts.failures[key] = counts.failures.get(key, 0) + 1
        counts.failing[tunnel] = failing

    def _peer_label(self, tunnel: tuple[str, ...]) -> str:
        """The tunnel's two addresses as the live board shows them, or `other` past `peer_limit`."""
        label = " <-> ".join(tunnel)
        labels = self.counts.peer_labels
        if label in labels:
            return label
        if len(labels) < self.peer_limit:
            labels.add(label)
            return label
        return OTHER_PEER

    def render(self, openmetrics: bool) -> bytes:
        """One scrape's text, in OpenMetrics 1.0.0 or in the Prometheus text format 0.0.4."""
        kernel = self._kernel()
        with self.lock:
            families = list(self._families(kernel))
        lines: list[str] = []
        for metric, samples in families:
            _family(lines, metric, samples, openmetrics)
        if openmetrics:
            lines.append("# EOF")
        return ("\n".join(lines) + "\n").encode()

    def _kernel(self) -> tuple[int | None, int | None, int | None]:
        with self.lock:
            kernel = self.counts.kernel
        if self.kernel_counters is not None:
            try:
                received, dropped, interface_dropped = self.kernel_counters()
                kernel = (received, dropped, interface_dropped)
            except Exception:  # noqa: BLE001 - a capture that cannot say now: the summary's, if any
                return kernel
        return kernel

    def _families(self, kernel: tuple[int | None, int | None, int | None]
                  ) -> Iterable[tuple[Metric, list[tuple[dict[str, str], float]]]]:
        counts = self.counts
        states = dict.fromkeys(STATES, 0)
        for outcome in counts.outcome.values():
            states[outcome] = states.get(outcome, 0) + 1
        yield TUNNELS, [({"state": state}, number) for state, number in states.items()]
        yield FAILURES, [({"cause": cause, "peer": peer}, number)
                         for (cause, peer), number in sorted(counts.failures.items())]
        yield MESSAGES, [({}, counts.messages)]
        yield RETRANSMISSIONS, [({}, counts.retransmissions)]
        yield DECODE_ERRORS, [({}, counts.decode_errors)]
        yield FINDINGS, [({"kind": kind}, number) for kind, number in sorted(counts.findings.items())]
        yield VERDICTS, [({}, counts.verdicts)]
        yield LAST_VERDICT, [] if counts.last_verdict is None else [({}, counts.last_verdict)]
        for metric, value in zip((KERNEL_RECEIVED, KERNEL_DROPPED, INTERFACE_DROPPED), kernel):
            yield metric, [] if value is None else [({}, value)]
        yield BUILD, [({"version": __version__}, 1)]

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.server.shutdown()
            self.server.server_close()
            self.thread.join()


def _family(lines: list[str], metric: Metric, samples: list[tuple[dict[str, str], float]],
            openmetrics: bool) -> None:
    """The HELP/TYPE(/UNIT) lines and samples of one family."""
    suffix = {"counter": "_total", "info": "_info"}.get(metric.kind, "")
    if openmetrics:
        name, kind = metric.name, metric.kind
        help_text = metric.help.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    else:  # the text format names the family as its samples, and has no info type
        name, kind = metric.name + suffix, "gauge" if metric.kind == "info" else metric.kind
        help_text = metric.help.replace("\\", "\\\\").replace("\n", "\\n")
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} {kind}")
    if openmetrics and metric.unit:
        lines.append(f"# UNIT {name} {metric.unit}")
    for labels, value in samples:
        text = ",".join(f'{key}="{_label_value(value)}"' for key, value in labels.items())
        lines.append(f"{metric.name}{suffix}{{{text}}} {_number(value)}" if text
                     else f"{metric.name}{suffix} {_number(value)}")


def _label_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else repr(float(value))


def wants_openmetrics(accept: str) -> bool:
    """The Accept header prefers OpenMetrics to the Prometheus text format (q values weighed; a tie
    goes to OpenMetrics, which the scraper named)."""
    openmetrics = text = 0.0
    for part in accept.split(","):
        media, *parameters = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        if media == "application/openmetrics-text":
            openmetrics = max(openmetrics, quality)
        elif media in ("text/plain", "text/*", "*/*"):
            text = max(text, quality)
    return openmetrics > 0 and openmetrics >= text


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 120
    """Seconds an idle kept-alive connection is kept (longer than any usual scrape interval)."""

    def do_GET(self) -> None:  # the name http.server calls
        path = self.path.partition("?")[0]
        if path == "/metrics":
            openmetrics = wants_openmetrics(self.headers.get("Accept", ""))
            self._answer(200, OPENMETRICS_TYPE if openmetrics else TEXT_TYPE,
                         self.server.sink.render(openmetrics))
        elif path == "/":
            self._answer(200, "text/html; charset=utf-8",
                         b'<html><body><a href="/metrics">ikesniff metrics</a></body></html>\n')
        else:
            self._answer(404, "text/plain; charset=utf-8", b"not found: the metrics are at /metrics\n")

    def _answer(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Scrapes are not logged: standard error belongs to the run."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sink: MetricsSink

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse name lookup of the address (slow, and not needed)."""
        TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])


class _Server6(_Server):
    address_family = socket.AF_INET6


def _bind(host: str, port: int, sink: MetricsSink) -> _Server:
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if not 0 <= port < 65536:
        raise MetricsError(f"cannot serve metrics on {where}: port out of range")
    try:
        family, _, _, _, address = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                      flags=socket.AI_PASSIVE)[0]
        server = (_Server6 if family == socket.AF_INET6 else _Server)((str(address[0]), int(address[1])),
                                                                      _Handler)
    except socket.gaierror as error:
        raise MetricsError(f"cannot serve metrics on {where}: {error.strerror}") from None
    except OSError as error:
        raise MetricsError(f"cannot serve metrics on {where}: {error.strerror or error}") from None
    server.sink = sink
    return server
