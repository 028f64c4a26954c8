"""The run's events as syslog messages for a SIEM (`--syslog TARGET`): RFC 5424 framing around the same
JSON object the JSON Lines output writes, over UDP (RFC 5426) or to the local syslog socket (/dev/log).

    <PRI>1 TIMESTAMP HOSTNAME ikesniff PROCID MSGID - {"event":"verdict",...}

PRI = facility x 8 + severity, the severity by outcome (failed: err, torn_down: warning, incomplete:
notice, established: info; findings notice, messages debug); MSGID is the event kind. The MSG carries
the JSON as UTF-8, with the byte order mark RFC 5424 asks for only when it holds a non-ASCII character
(plain ASCII JSON stays what a JSON parser expects). A datagram that cannot be sent is counted in
`lost`, never raised: the capture goes on.

It knows nothing of captures or the command line; it only reads the event classes.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime

import orjson

from ..analysis import DecodedMessage
from ..capture.events import FrameProblem
from ..events import DiagnosisEvent, FindingEvent, MessageEvent, SummaryEvent, VerdictEvent

APP_NAME = "ikesniff"
FACILITY_DAEMON = 3
DEFAULT_PORT = 514
LOCAL_SOCKET = "/dev/log"

ERR, WARNING, NOTICE, INFO, DEBUG = 3, 4, 5, 6, 7
OUTCOME_SEVERITY = {"failed": ERR, "torn_down": WARNING, "incomplete": NOTICE, "established": INFO}
BOM = b"\xef\xbb\xbf"
EXPECTED = "expected HOST[:PORT], [IPV6]:PORT or a socket path"


class SyslogError(Exception):
    """The syslog target cannot be used (bad address, no local socket); its text is one line."""


class SyslogSink:
    """Sends every event to `target`: 'HOST[:PORT]' or '[IPV6]:PORT' over UDP (port 514 by default),
    or the path of a local datagram socket such as /dev/log."""

    def __init__(self, target: str = LOCAL_SOCKET, facility: int = FACILITY_DAEMON, messages: bool = True,
                 clock: Callable[[], float] = time.time) -> None:
        if not 0 <= facility <= 23:
            raise SyslogError(f"syslog facility {facility}: expected 0 to 23")
        self.facility = facility
        self.messages = messages
        """Also send one syslog message per IKE message (debug), not only the conclusions."""
        self.clock = clock
        self.lost = 0
        """Messages that could not be sent (no receiver on the local socket, too large...)."""
        self.path: str | None = None
        self.address: tuple[str, int] | None = None
        if target.startswith("/"):
            self.path = target
            self.socket = self._connect_local()
        else:
            family, self.address = _resolve(target)
            self.socket = socket.socket(family, socket.SOCK_DGRAM)
        self.header = f" {_hostname()} {APP_NAME} {os.getpid()} "

    def _connect_local(self) -> socket.socket:
        assert self.path is not None
        local = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            local.connect(self.path)
        except OSError as error:
            local.close()
            raise SyslogError(f"syslog socket {self.path}: {error.strerror or error}") from None
        return local

    def write(self, item: object) -> None:
        if isinstance(item, DecodedMessage):
            if not self.messages:
                return
            item = item.event
        framed = self.frame(item)
        if framed is not None:
            self._send(framed)

    def frame(self, item: object) -> bytes | None:
        """One RFC 5424 message for an event, None for an item that is no event."""
        kind_and_severity = _kind(item)
        if kind_and_severity is None:
            return None
        kind, severity = kind_and_severity
        body = orjson.dumps(item)
        if not body.isascii():
            body = BOM + body
        stamp = datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return f"<{self.facility * 8 + severity}>1 {stamp}{self.header}{kind} - ".encode() + body

    def _send(self, data: bytes) -> None:
        try:
            if self.address is not None:
                self.socket.sendto(data, self.address)
            else:
                self.socket.send(data)
        except OSError:
            if self.path is None or not self._reconnected(data):
                self.lost += 1

    def _reconnected(self, data: bytes) -> bool:
        """The local syslog daemon restarted (its socket is a new one): connect again, send once more."""
        try:
            fresh = self._connect_local()
            fresh.send(data)
        except (OSError, SyslogError):
            return False
        self.socket.close()
        self.socket = fresh
        return True

    def close(self) -> None:
        self.socket.close()


def _kind(item: object) -> tuple[str, int] | None:
    """MSGID and severity of an event."""
    if isinstance(item, (VerdictEvent, DiagnosisEvent)):
        return item.event, OUTCOME_SEVERITY.get(item.outcome, NOTICE)
    if isinstance(item, FindingEvent):
        return item.event, NOTICE
    if isinstance(item, SummaryEvent):
        return item.event, INFO
    if isinstance(item, FrameProblem):
        return "frame_problem", NOTICE
    if isinstance(item, MessageEvent):
        return item.event, DEBUG
    return None


def _resolve(target: str) -> tuple[socket.AddressFamily, tuple[str, int]]:
    host, port = target, DEFAULT_PORT
    if target.startswith("["):
        host, bracket, rest = target[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise SyslogError(f"syslog target {target!r}: {EXPECTED}")
        port_text = rest[1:] if rest else str(DEFAULT_PORT)
    elif target.count(":") == 1:
        host, _, port_text = target.partition(":")
    else:
        port_text = str(DEFAULT_PORT)  # a host name, an IPv4 address or a bare IPv6 address
    if not port_text.isdigit() or not 0 < int(port_text) < 65536 or not host:
        raise SyslogError(f"syslog target {target!r}: {EXPECTED}")
    port = int(port_text)
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    except socket.gaierror as error:
        raise SyslogError(f"syslog target {target!r}: {error.strerror}") from None
    return family, (str(address[0]), int(address[1]))


def _hostname() -> str:
    """The host name as RFC 5424 allows it (printable ASCII, no space, 255 characters), '-' if none."""
    name = "".join(c for c in socket.gethostname() if "!" <= c <= "~")[:255]
    return name or "-"
