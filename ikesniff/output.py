"""How events look: JSON Lines (generic over the event dataclasses), one summary line per
message in the tcpdump manner, and the full decoded tree of `-v`.

Knows nothing of captures or the tracker; it only formats what it is given.
"""

from __future__ import annotations

import dataclasses
from typing import IO, Any

import orjson

from dissectors import Message

from .events import MessageEvent

ROLE = {(True, False): "I req", (True, True): "I rsp", (False, False): "R req", (False, True): "R rsp"}
SECRET_FIELDS = {"password"}
"""Dataclass fields never printed with their value (XAUTH passwords and the like)."""


class JsonLinesWriter:
    """One JSON object per line; events are dataclasses serialised field by field."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.pending: list[bytes] = []

    def write(self, event: Any) -> None:
        self.pending.append(orjson.dumps(event))
        if len(self.pending) >= 512:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.pending.append(b"")
            self.stream.write(b"\n".join(self.pending))
            self.pending.clear()
        self.stream.flush()


def message_line(event: MessageEvent, start: float) -> str:
    """tcpdump-style summary: frame, relative time, addresses, version, exchange, role, payloads."""
    payloads = " ".join(_with_notifies(event))
    marks = ""
    if event.retransmission:
        marks += " [retransmission]"
    if event.errors:
        marks += f" [malformed: {event.errors[0]}{' ...' if len(event.errors) > 1 else ''}]"
    role = ROLE[(event.initiator, event.response)]
    return (f"{event.frame:>6} {event.time - start:>11.6f} {_endpoint(event.src, event.sport)} > "
            f"{_endpoint(event.dst, event.dport)} IKEv{event.version} {event.exchange} "
            f"#{event.message_id} {role} [{payloads}]{marks}")


def _endpoint(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _with_notifies(event: MessageEvent) -> list[str]:
    names: list[str] = []
    notifies = iter(event.notifies)
    for name in event.payloads:
        if name == "N":
            notify = next(notifies, None)
            names.append(f"N({notify.type})" if notify else name)
        else:
            names.append(name)
    return names


def message_tree(message: Message) -> list[str]:
    """Every field of the dissected message, indented, as `-v` prints it under the summary line."""
    lines: list[str] = []
    header = message.header
    lines.append(f"    ISAKMP header: version {header.major_version}.{header.minor_version}, "
                 f"exchange {message.exchange_name} ({header.exchange_type}), flags 0x{header.flags:02x}, "
                 f"message id {header.message_id:#010x}, length {header.length}")
    lines.append(f"      SPIs: {header.spi_i.hex()} / {header.spi_r.hex()}")
    for payload in message.payloads:
        _render(payload, 3, lines)
    for error in message.errors:
        lines.append(f"    ! {error}")
    return lines


def _render(obj: Any, depth: int, lines: list[str]) -> None:
    indent = "  " * depth
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = dataclasses.fields(obj)
        title = getattr(obj, "name", type(obj).__name__)
        lines.append(f"{indent}{title}:")
        for field in fields:
            if field.name in ("name",):
                continue
            value = getattr(obj, field.name)
            _render_field(field.name, value, depth + 1, lines)
        return
    lines.append(f"{indent}{_scalar(obj)}")


def _render_field(name: str, value: Any, depth: int, lines: list[str]) -> None:
    indent = "  " * depth
    if name in SECRET_FIELDS and value:
        lines.append(f"{indent}{name}: <{len(value)} octets, not shown>")
    elif isinstance(value, list) and value and dataclasses.is_dataclass(value[0]):
        lines.append(f"{indent}{name}:")
        for item in value:
            _render(item, depth + 1, lines)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        _render(value, depth, lines)
    elif isinstance(value, dict) and value:
        lines.append(f"{indent}{name}: " + ", ".join(f"{k}={_scalar(v)}" for k, v in value.items()))
    elif value is None or value == b"" or value == [] or value == {}:
        return
    else:
        lines.append(f"{indent}{name}: {_scalar(value)}")


def _scalar(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        text = data[:32].hex()
        return f"{text}{'...' if len(data) > 32 else ''} ({len(data)} octets)"
    if isinstance(value, list):
        return ", ".join(_scalar(v) for v in value)
    return str(value)
