"""A minimal client for strongSwan's VICI protocol (stdlib only).

The lab uses it to ask each charon what state its SAs are in (``list-sas``)
without parsing ``swanctl`` text output. A unix socket is a file, so the lab
can talk to a charon living in another network namespace directly.

Wire format (strongSwan src/libcharon/plugins/vici/README.md): every packet is
a 32-bit big-endian length, then a one-byte packet type, then (for named types)
a one-byte name length and the name, then a message made of elements.
"""

from __future__ import annotations

import socket
import struct
from typing import Any, Self

# packet types
CMD_REQUEST = 0
CMD_RESPONSE = 1
CMD_UNKNOWN = 2
EVENT_REGISTER = 3
EVENT_UNREGISTER = 4
EVENT_CONFIRM = 5
EVENT_UNKNOWN = 6
EVENT = 7

# message element types
SECTION_START = 1
SECTION_END = 2
KEY_VALUE = 3
LIST_START = 4
LIST_ITEM = 5
LIST_END = 6


class ViciError(Exception):
    """The daemon refused a command or the socket misbehaved."""


def encode_message(message: dict[str, Any]) -> bytes:
    out = bytearray()
    for key, value in message.items():
        name = key.encode()
        if isinstance(value, dict):
            out += bytes([SECTION_START, len(name)]) + name + encode_message(value) + bytes([SECTION_END])
        elif isinstance(value, (list, tuple)):
            out += bytes([LIST_START, len(name)]) + name
            for item in value:
                data = str(item).encode()
                out += bytes([LIST_ITEM]) + struct.pack("!H", len(data)) + data
            out += bytes([LIST_END])
        else:
            if isinstance(value, bool):
                value = "yes" if value else "no"
            data = str(value).encode()
            out += bytes([KEY_VALUE, len(name)]) + name + struct.pack("!H", len(data)) + data
    return bytes(out)


def decode_message(data: bytes) -> dict[str, Any]:
    """Turn a message into nested dicts; values and list items become str."""
    root: dict[str, Any] = {}
    stack: list[dict[str, Any]] = [root]
    current_list: list[str] | None = None
    pos = 0
    while pos < len(data):
        kind = data[pos]
        pos += 1
        if kind in (SECTION_START, KEY_VALUE, LIST_START):
            name_len = data[pos]
            name = data[pos + 1 : pos + 1 + name_len].decode(errors="replace")
            pos += 1 + name_len
            if kind == SECTION_START:
                section: dict[str, Any] = {}
                stack[-1][name] = section
                stack.append(section)
            elif kind == KEY_VALUE:
                (value_len,) = struct.unpack_from("!H", data, pos)
                stack[-1][name] = data[pos + 2 : pos + 2 + value_len].decode(errors="replace")
                pos += 2 + value_len
            else:
                current_list = []
                stack[-1][name] = current_list
        elif kind == SECTION_END:
            stack.pop()
        elif kind == LIST_ITEM:
            (value_len,) = struct.unpack_from("!H", data, pos)
            if current_list is not None:
                current_list.append(data[pos + 2 : pos + 2 + value_len].decode(errors="replace"))
            pos += 2 + value_len
        elif kind == LIST_END:
            current_list = None
        else:
            raise ViciError(f"unknown vici element type {kind}")
    return root


class Session:
    """One connection to a charon's vici socket."""

    def __init__(self, path: str, timeout: float = 10.0) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, kind: int, name: str | None, message: dict[str, Any] | None = None) -> None:
        body = bytes([kind])
        if name is not None:
            body += bytes([len(name)]) + name.encode()
        if message:
            body += encode_message(message)
        self.sock.sendall(struct.pack("!I", len(body)) + body)

    def _recv_exact(self, size: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < size:
            chunk = self.sock.recv(size - len(chunks))
            if not chunk:
                raise ViciError("vici socket closed")
            chunks += chunk
        return bytes(chunks)

    def _recv(self) -> tuple[int, str | None, dict[str, Any]]:
        (length,) = struct.unpack("!I", self._recv_exact(4))
        body = self._recv_exact(length)
        kind = body[0]
        pos = 1
        name = None
        if kind in (EVENT, EVENT_REGISTER, EVENT_UNREGISTER, CMD_REQUEST):
            name_len = body[pos]
            name = body[pos + 1 : pos + 1 + name_len].decode()
            pos += 1 + name_len
        return kind, name, decode_message(body[pos:])

    def request(self, command: str, message: dict[str, Any] | None = None) -> dict[str, Any]:
        self._send(CMD_REQUEST, command, message)
        kind, _, reply = self._recv()
        if kind != CMD_RESPONSE:
            raise ViciError(f"vici command {command!r} unknown to the daemon")
        return reply

    def streamed(self, command: str, event: str, message: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run a command that answers with a stream of events (list-sas, list-conns...)."""
        self._send(EVENT_REGISTER, event)
        kind, _, _ = self._recv()
        if kind != EVENT_CONFIRM:
            raise ViciError(f"vici event {event!r} unknown to the daemon")
        self._send(CMD_REQUEST, command, message)
        events: list[dict[str, Any]] = []
        while True:
            kind, name, reply = self._recv()
            if kind == EVENT and name == event:
                events.append(reply)
            elif kind == CMD_RESPONSE:
                break
            else:
                raise ViciError(f"unexpected vici packet type {kind}")
        self._send(EVENT_UNREGISTER, event)
        self._recv()
        return events


def list_sas(path: str) -> dict[str, dict[str, Any]]:
    """IKE SAs of one daemon, keyed by connection name (one entry per SA: name#uniqueid)."""
    with Session(path) as session:
        result: dict[str, dict[str, Any]] = {}
        for event in session.streamed("list-sas", "list-sa"):
            for name, sa in event.items():
                result[f"{name}#{sa.get('uniqueid', '?')}"] = sa
        return result


def version(path: str) -> dict[str, Any]:
    with Session(path) as session:
        return session.request("version")
