"""How events look: JSON Lines (generic over the event dataclasses), one summary line per
message in the tcpdump manner, and the full decoded tree of `-v`.

Knows nothing of captures or the tracker; it only formats what it is given.
"""

from __future__ import annotations

import dataclasses
import time
from typing import IO, Any, NamedTuple

import orjson

from dissectors import Message, Payload
from dissectors.model import Attribute

from .events import MessageEvent

ROLE = {(True, False): "I req", (True, True): "I rsp", (False, False): "R req", (False, True): "R rsp"}
SECRET_FIELDS = {"password"}
"""Dataclass fields never printed with their value (XAUTH passwords and the like)."""


class JsonLinesWriter:
    """One JSON object per line; events are dataclasses serialised field by field."""

    def __init__(self, stream: IO[bytes], batch: int = 512, linger: float | None = None) -> None:
        self.stream = stream
        self.batch = batch
        """Events kept before a write: 1 for a stream read from standard input, where each line must
        go out at once."""
        self.linger = linger
        """Live capture: seconds a line may wait for others (the caller also flushes on idle ticks)."""
        self.pending: list[bytes] = []
        self.since = 0.0

    def write(self, event: Any) -> None:
        if not self.pending and self.linger is not None:
            self.since = time.monotonic()
        self.pending.append(orjson.dumps(event))
        if len(self.pending) >= self.batch or (
                self.linger is not None and time.monotonic() - self.since > self.linger):
            self.flush()

    def write_lines(self, lines: list[bytes]) -> None:
        """Events already serialised (one JSON object each, as `write` would make them)."""
        self.pending.extend(lines)
        if len(self.pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.pending.append(b"")
            self.stream.write(b"\n".join(self.pending))
            self.pending.clear()
        self.stream.flush()


class RenderedJson(NamedTuple):
    """Events a worker process of `-j` serialised already (`orjson.dumps(event)` each), in output order."""

    lines: list[bytes]


class RenderedText(NamedTuple):
    """Message lines a worker process of `-j` made already, in output order: (capture time, frame, the line after
    its frame and time (`message_text`, coloured when asked), the `-v` tree or None) each."""

    messages: list[tuple[float, int, str, list[str] | None]]


def message_line(event: MessageEvent, start: float) -> str:
    """tcpdump-style summary: frame, relative time, addresses, version, exchange, role, payloads."""
    return f"{event.frame:>6} {event.time - start:>11.6f} {message_text(event)}"


def message_text(event: MessageEvent) -> str:
    """`message_line` after its frame and time."""
    payloads = " ".join(_with_notifies(event))
    marks = ""
    if event.retransmission:
        marks += " [retransmission]"
    if event.errors:
        marks += f" [malformed: {event.errors[0]}{' ...' if len(event.errors) > 1 else ''}]"
    role = ROLE[(event.initiator, event.response)]
    return (f"{_endpoint(event.src, event.sport)} > {_endpoint(event.dst, event.dport)} IKEv{event.version} "
            f"{event.exchange} #{event.message_id} {role} [{payloads}]{marks}")


def _endpoint(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _with_notifies(event: MessageEvent) -> list[str]:
    names: list[str] = []
    notifies = iter(event.notifies)
    for name in event.payloads:
        if name == "N" or name.endswith(":N"):  # 'SK:N': a notify inside a decrypted payload
            notify = next(notifies, None)
            names.append(f"{name}({notify.type})" if notify else name)
        else:
            names.append(name)
    return names


def plural(count: int, noun: str) -> str:
    """'1 IKE SA', '2 IKE SAs', '0 flows'."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def message_tree(message: Message, inner: list[Payload] | None = None) -> list[str]:
    """Every field of the dissected message, indented, as `-v` prints it under the summary line; `inner`:
    the payloads decrypted from its encrypted payload (with keys), shown in full under it."""
    header = message.header
    lines = [(f"    ISAKMP header: version {header.major_version}.{header.minor_version}, "
             f"exchange {message.exchange_name} ({header.exchange_type}), flags 0x{header.flags:02x}, "
             f"message id {header.message_id:#010x}, length {header.length}"),
             f"      SPIs: {header.spi_i.hex()} / {header.spi_r.hex()}"]
    for payload in message.payloads:
        _render(payload, 3, lines)
    if inner:
        lines.append("      decrypted:")
        lines.extend(inner_tree(inner, 4))
    lines.extend(f"    ! {error}" for error in message.errors)
    return lines


def inner_tree(inner: list[Payload], depth: int = 0) -> list[str]:
    """The decrypted payloads of a message, every field, indented from `depth`."""
    lines: list[str] = []
    for payload in inner:
        _render(payload, depth, lines)
    return lines


PAYLOAD_FRAME = ("type", "name", "offset", "length", "critical")
"""Fields of every payload that its title line already shows."""


def _render(obj: Any, depth: int, lines: list[str]) -> None:
    """One dataclass: a title line, then its fields one level deeper."""
    indent = "  " * depth
    if isinstance(obj, Attribute):
        lines.append(f"{indent}{obj.name} = {_named(obj.value, obj.value_name)}")
        return
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        lines.append(f"{indent}{_scalar(obj)}")
        return
    names = {f.name for f in dataclasses.fields(obj)}
    skip = set(PAYLOAD_FRAME) if isinstance(obj, Payload) else {"name"}
    if isinstance(obj, Payload):
        title = (f"{obj.name} ({obj.type}) at offset {obj.offset}, {obj.length} octets"
                 f"{', critical' if obj.critical else ''}")
    else:
        number, name = getattr(obj, "number", None), getattr(obj, "name", None)
        title = (type(obj).__name__ + (f" #{number}" if number is not None else "")
                 + (f" {name}" if isinstance(name, str) else ""))
        skip.add("number")
    lines.append(f"{indent}{title}:")
    for field in dataclasses.fields(obj):
        if field.name in skip:
            continue
        value = getattr(obj, field.name)
        label = field.name
        if field.name.endswith("_name") and _partner(field.name, names) is not None:
            continue  # printed with its number
        name_field = next((n for n in names if n.endswith("_name") and _partner(n, names) == field.name),
                          None)
        if name_field is not None and isinstance(value, int):
            lines.append(f"{indent}  {label}: {_named(value, getattr(obj, name_field))}")
            continue
        _render_field(label, value, depth + 1, lines)


def _partner(name_field: str, names: set[str]) -> str | None:
    """The numeric field that `<x>_name` names: `<x>`, `<x>_id` or `<something>_<x>`."""
    base = name_field[:-5]
    for candidate in (base, f"{base}_id"):
        if candidate in names:
            return candidate
    return next((n for n in sorted(names) if n.endswith(f"_{base}")), None)


def _named(value: Any, name: Any) -> str:
    if name and not isinstance(value, (bytes, bytearray)):
        return f"{name} ({value})"
    return _scalar(value)


def _render_field(name: str, value: Any, depth: int, lines: list[str]) -> None:
    indent = "  " * depth
    if name in SECRET_FIELDS and value:
        lines.append(f"{indent}{name}: <{len(value)} octets, not shown>")
    elif isinstance(value, (list, tuple)) and value and dataclasses.is_dataclass(value[0]):
        lines.append(f"{indent}{name}:")
        for item in value:
            _render(item, depth + 1, lines)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        _render(value, depth, lines)
    elif isinstance(value, dict) and value:
        lines.append(f"{indent}{name}: " + ", ".join(f"{k}={_scalar(v)}" for k, v in value.items()))
    elif value is None or value == b"" or value == [] or value == () or value == {}:
        return
    else:
        lines.append(f"{indent}{name}: {_scalar(value)}")


def _scalar(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        text = data[:32].hex()
        return f"{text}{'...' if len(data) > 32 else ''} ({len(data)} octets)"
    if isinstance(value, (list, tuple)):
        return ", ".join(_scalar(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return ", ".join(f"{f.name}={_scalar(getattr(value, f.name))}" for f in dataclasses.fields(value))
    return str(value)
