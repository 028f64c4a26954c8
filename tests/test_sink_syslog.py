"""The syslog sink: the events of lab captures received on a real UDP socket on loopback (and on a unix
datagram socket), each parsed against the RFC 5424 grammar and compared with the JSON Lines output."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sink_feed import run_items

from ikesniff.analysis import DecodedMessage
from ikesniff.events import FindingEvent, VerdictEvent
from ikesniff.output import JsonLinesWriter
from ikesniff.sinks.base import Sink
from ikesniff.sinks.syslog import SyslogError, SyslogSink

# RFC 5424 §6: HEADER SP STRUCTURED-DATA [SP MSG]; NILVALUE '-'; PRINTUSASCII %d33-126
RFC5424 = re.compile(
    rb"<(?P<pri>[0-9]{1,3})>(?P<version>[1-9][0-9]{0,2}) "
    rb"(?P<timestamp>-|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2})) "
    rb"(?P<hostname>[!-~]{1,255}) (?P<app>[!-~]{1,48}) (?P<procid>[!-~]{1,128}) (?P<msgid>[!-~]{1,32}) "
    rb"(?P<sd>-|(?:\[[^\]]*\])+)(?: (?P<msg>.*))?\Z", re.DOTALL)
DAEMON = 3


@pytest.fixture
def receiver() -> Iterator[socket.socket]:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(10)
    yield udp
    udp.close()


def received(receiver: socket.socket, count: int) -> list[re.Match[bytes]]:
    parsed = []
    for _ in range(count):
        datagram = receiver.recv(65536)
        match = RFC5424.match(datagram)
        assert match, datagram[:200]
        parsed.append(match)
    receiver.settimeout(0.2)
    with pytest.raises(TimeoutError):
        receiver.recv(65536)  # nothing more than the events
    return parsed


def json_lines(items: list[object]) -> list[bytes]:
    """What `--json` writes for these items (messages as their event), line by line."""
    stream = io.BytesIO()
    writer = JsonLinesWriter(stream)
    for item in items:
        writer.write(item.event if isinstance(item, DecodedMessage) else item)
    writer.flush()
    return stream.getvalue().splitlines()


def sent(receiver: socket.socket, name: str, **options: bool) -> tuple[list[object], list[re.Match[bytes]]]:
    items = run_items(name)
    sink: Sink = SyslogSink(f"127.0.0.1:{receiver.getsockname()[1]}", **options)
    for item in items:
        sink.write(item)
    sink.close()
    kept = [item for item in items if options.get("messages", True) or not isinstance(item, DecodedMessage)]
    return kept, received(receiver, len(kept))


def test_every_event_goes_out_as_an_rfc5424_message_carrying_its_json_line(receiver: socket.socket) -> None:
    items, messages = sent(receiver, "ikev2-psk-mismatch")
    assert [m["msg"] for m in messages] == json_lines(items)
    assert {(m["version"], m["app"], m["procid"], m["sd"]) for m in messages} == {
        (b"1", b"ikesniff", str(os.getpid()).encode(), b"-")}
    assert {m["hostname"] for m in messages} == {socket.gethostname().encode()}
    assert [m["msgid"] for m in messages] == [b"message"] * 4 + [b"verdict", b"diagnosis", b"verdict", b"summary"]
    assert all(m["timestamp"].endswith(b"Z") and len(m["timestamp"]) == 27 for m in messages)


@pytest.mark.parametrize(("capture", "outcome", "severity"), [
    ("ikev2-psk-mismatch", "failed", 3),  # err
    ("ikev2-dpd-timeout", "torn_down", 4),  # warning
    ("ikev2-psk", "established", 6),  # info
])
def test_the_priority_follows_the_outcome(receiver: socket.socket, capture: str, outcome: str, severity: int) -> None:
    items, messages = sent(receiver, capture)
    by_kind: dict[bytes, set[int]] = {}
    for item, message in zip(items, messages, strict=True):
        by_kind.setdefault(message["msgid"], set()).add(int(message["pri"]))
        if isinstance(item, VerdictEvent) and item.final:
            assert item.outcome == outcome
            assert int(message["pri"]) == DAEMON * 8 + severity
    assert by_kind[b"message"] == {DAEMON * 8 + 7}  # debug
    assert by_kind[b"summary"] == {DAEMON * 8 + 6}  # info


def test_only_the_conclusions_when_messages_are_left_out(receiver: socket.socket) -> None:
    items, messages = sent(receiver, "ikev2-dpd-timeout", messages=False)
    assert b"message" not in {m["msgid"] for m in messages}
    assert [m["msg"] for m in messages] == json_lines(items)
    assert b"finding" in {m["msgid"] for m in messages} or not any(isinstance(i, FindingEvent) for i in items)


def test_a_non_ascii_json_starts_with_the_byte_order_mark(receiver: socket.socket) -> None:
    finding = FindingEvent(kind="weak_crypto", ike_sa="v2-0000000000000001", frames=[3],
                           detail="groupe Diffie-Hellman modulo 768 bits \u2014 faible")
    sink = SyslogSink(f"127.0.0.1:{receiver.getsockname()[1]}", facility=16)
    sink.write(finding)
    sink.write(dataclasses.replace(finding, detail="plain"))
    sink.close()
    first, second = received(receiver, 2)
    assert first["msg"] == b"\xef\xbb\xbf" + json_lines([finding])[0]
    assert first["msg"][3:].decode("utf-8").endswith('\u2014 faible","file":""}')
    assert second["msg"].startswith(b'{"event":"finding"')
    assert int(first["pri"]) == 16 * 8 + 5  # local0.notice


def test_the_local_socket_receives_the_same_messages(tmp_path: Path) -> None:
    path = tmp_path / "log"
    local = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    local.bind(str(path))
    local.settimeout(10)
    try:
        items = run_items("ikev2-psk-mismatch")
        sink = SyslogSink(str(path))
        for item in items:
            sink.write(item)
        assert sink.lost == 0
        messages = received(local, len(items))
        sink.close()
    finally:
        local.close()
    assert [m["msg"] for m in messages] == json_lines(items)


def test_a_vanished_local_socket_loses_messages_without_raising(tmp_path: Path) -> None:
    path = tmp_path / "log"
    local = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    local.bind(str(path))
    sink = SyslogSink(str(path))
    local.close()
    path.unlink()  # the syslog daemon went away
    for item in run_items("ikev2-psk-mismatch"):
        sink.write(item)
    assert sink.lost == 8
    again = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)  # ... and came back: the sink connects again
    again.bind(str(path))
    again.settimeout(10)
    try:
        verdict = next(item for item in run_items("ikev2-psk") if isinstance(item, VerdictEvent))
        sink.write(verdict)
        assert RFC5424.match(again.recv(65536))
    finally:
        again.close()
        sink.close()
    assert sink.lost == 8


@pytest.mark.parametrize(("target", "error"), [
    ("127.0.0.1:notaport", "syslog target '127.0.0.1:notaport': expected HOST[:PORT], [IPV6]:PORT or a socket path"),
    ("127.0.0.1:0", "syslog target '127.0.0.1:0': expected HOST[:PORT], [IPV6]:PORT or a socket path"),
    ("[::1", "syslog target '[::1': expected HOST[:PORT], [IPV6]:PORT or a socket path"),
    ("/nonexistent/log", "syslog socket /nonexistent/log: No such file or directory"),
])
def test_a_bad_target_is_a_one_line_error(target: str, error: str) -> None:
    with pytest.raises(SyslogError) as raised:
        SyslogSink(target)
    assert str(raised.value) == error


def test_an_unknown_host_is_a_one_line_error() -> None:
    with pytest.raises(SyslogError) as raised:
        SyslogSink("no-such-host.invalid:514")
    assert str(raised.value).startswith("syslog target 'no-such-host.invalid:514': ")
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(("target", "address"), [
    ("[::1]:5514", ("::1", 5514)), ("127.0.0.1", ("127.0.0.1", 514)), ("::1", ("::1", 514)),
    ("localhost:5514", ("127.0.0.1", 5514)),
])
def test_ipv6_and_default_port_targets_resolve(target: str, address: tuple[str, int]) -> None:
    sink = SyslogSink(target)
    sink.close()
    assert sink.address == address
