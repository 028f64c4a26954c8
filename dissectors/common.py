"""Pieces shared by the IKEv1 and IKEv2 dissectors: the fixed header, the generic payload
header chain and data attributes, which both versions lay out identically on the wire.

Sans-IO: bytes in, plain objects out; nothing here raises on malformed input.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from .model import ISAKMP_HEADER_LENGTH, Attribute, Header, Payload

HEADER = struct.Struct("!8s8sBBBBII")  # RFC 2408 §3.1 / RFC 7296 §3.1
GENERIC_PAYLOAD_HEADER = struct.Struct("!BBH")  # next payload, flags/reserved, length
ATTRIBUTE_HEADER = struct.Struct("!HH")  # AF bit + type, length or value


def parse_header(data: bytes | memoryview) -> Header | None:
    """The fixed header, or None when fewer than 28 octets are present."""
    if len(data) < ISAKMP_HEADER_LENGTH:
        return None
    spi_i, spi_r, next_payload, version, exchange_type, flags, message_id, length = HEADER.unpack_from(data)
    return Header(spi_i, spi_r, next_payload, version >> 4, version & 0x0F, exchange_type, flags,
                  message_id, length)


class RawPayload(NamedTuple):
    """One link of the generic payload chain."""

    type: int
    offset: int
    """Offset of the generic header within the buffer."""
    length: int
    next_type: int
    flags: int
    body: memoryview


def _payload_label(names: dict[int, str], payload_type: int) -> str:
    return names.get(payload_type, f"payload {payload_type}")


def walk_payloads(buf: memoryview, first_type: int, start: int, end: int, errors: list[str],
                  describe: dict[int, str] | None = None) -> Iterator[RawPayload]:
    """Follow the next-payload chain from `start` up to `end`.

    Stops at next-payload 0, at the end of the buffer, or at the first malformed link (which
    is recorded in `errors`); every link read before the problem is yielded.
    """
    payload_type = first_type
    offset = start
    names = describe or {}
    unpack = GENERIC_PAYLOAD_HEADER.unpack_from
    new_link = tuple.__new__  # RawPayload(...) without NamedTuple's Python-level __new__: same tuple, faster
    while payload_type != 0:
        # The payload's label is only built for an error text: this loop runs for every payload.
        if offset + 4 > end:
            errors.append(f"{_payload_label(names, payload_type)} at offset {offset}: message ends "
                          f"before its generic header ({end - offset} octets left)")
            return
        next_type, flags, length = unpack(buf, offset)
        if length < 4:
            errors.append(f"{_payload_label(names, payload_type)} at offset {offset}: length {length} "
                          f"is below the 4-octet minimum")
            return
        if offset + length > end:
            errors.append(f"{_payload_label(names, payload_type)} at offset {offset}: length {length} "
                          f"runs past the message end ({end - offset} octets left)")
            return
        yield new_link(RawPayload, (payload_type, offset, length, next_type, flags, buf[offset + 4:offset + length]))
        offset += length
        payload_type = next_type
    if offset < end:
        errors.append(f"{end - offset} octets after the last payload (next payload NONE at offset {offset})")


def parse_attributes(body: memoryview, names: dict[int, str], errors: list[str], where: str,
                     value_names: dict[int, dict[int, str]] | None = None) -> list[Attribute]:
    """Data attributes (TV when the AF bit is set, TLV otherwise) filling `body`."""
    attributes: list[Attribute] = []
    offset = 0
    value_tables = value_names or {}
    while offset < len(body):
        if offset + 4 > len(body):
            errors.append(f"{where}: {len(body) - offset} stray octets after the last attribute")
            break
        type_field, length_or_value = ATTRIBUTE_HEADER.unpack_from(body, offset)
        attribute_type = type_field & 0x7FFF
        name = names.get(attribute_type, f"UNKNOWN_{attribute_type}")
        value: int | bytes
        if type_field & 0x8000:
            value = length_or_value
            offset += 4
        else:
            if offset + 4 + length_or_value > len(body):
                errors.append(f"{where}: attribute {name} length {length_or_value} runs past the "
                              f"end ({len(body) - offset - 4} octets left)")
                break
            raw = bytes(body[offset + 4:offset + 4 + length_or_value])
            value = int.from_bytes(raw, "big") if 0 < len(raw) <= 8 else raw
            offset += 4 + length_or_value
        value_name = value_tables.get(attribute_type, {}).get(value) if isinstance(value, int) else None
        attributes.append(Attribute(attribute_type, name, value, value_name))
    return attributes


class PayloadMemo:
    """Parsed payloads that repeat from message to message — the same SA offer, the same vendor
    IDs — kept by their position and bytes so that each distinct one is parsed once.

    Owned by the caller (one per capture), never global; bounded: it starts afresh when full.
    A hit returns the very object parsed before, so payloads taken from it are read-only.
    """

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self.entries: dict[tuple[int, int, int, bytes], tuple[Payload, list[str]]] = {}

    def parse(self, raw: RawPayload, errors: list[str], parser: Callable[..., Payload], *args: Any) -> Payload:
        """`parser(*args)` for this payload, from the memo when these bytes were seen here before."""
        key = (raw.type, raw.offset, raw.flags, raw.body.tobytes())
        hit = self.entries.get(key)
        if hit is None:
            mark = len(errors)
            hit = (parser(*args), errors[mark:])
            if len(self.entries) >= self.limit:
                self.entries.clear()
            self.entries[key] = hit
        elif hit[1]:
            errors.extend(hit[1])
        return hit[0]


def message_end(header: Header, available: int, errors: list[str]) -> int:
    """Where payload parsing must stop: the header length, bounded by the bytes at hand."""
    if header.length < ISAKMP_HEADER_LENGTH:
        errors.append(f"header length {header.length} is below the 28-octet header")
        return available
    if header.length > available:
        errors.append(f"header length {header.length} exceeds the {available} octets captured")
        return available
    return header.length


def name_or_unknown(table: dict[int, str], number: int) -> str:
    return table.get(number, f"UNKNOWN_{number}")
