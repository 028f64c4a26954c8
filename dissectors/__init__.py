"""Sans-IO IKEv1/IKEv2 message parsers: bytes in, plain objects out.

`parse_message(data)` reads one ISAKMP message and never raises; the version nibble of the
header picks the IKEv1 (RFC 2408/2409) or IKEv2 (RFC 7296) dissector.
"""

from __future__ import annotations

import struct

from . import ikev1, ikev1_registry, ikev2, ikev2_registry
from .common import PayloadMemo, parse_header
from .model import ISAKMP_HEADER_LENGTH, Header, Message, Notify, OpaquePayload, Payload

__all__ = ["Header", "Message", "Notify", "OpaquePayload", "Payload", "PayloadMemo", "RawHeader", "implausible",
           "parse_message", "plausible_header"]


def parse_message(data: bytes | memoryview, memo: PayloadMemo | None = None) -> Message:
    """Dissect one ISAKMP message. Malformations become `errors`; nothing raises.

    A `PayloadMemo` kept by the caller across messages lets repeated SA offers and vendor IDs
    be parsed once; payloads taken from it are shared and must not be modified."""
    buf = memoryview(data)
    header = parse_header(buf)
    if header is None:
        empty = Header(bytes(8), bytes(8), 0, 0, 0, 0, 0, 0, 0)
        return Message(0, empty, errors=[f"truncated ISAKMP header: {len(buf)} of 28 octets"],
                       exchange_name="UNKNOWN_0")
    if header.major_version == 2:
        return ikev2.parse(buf, header, memo)
    if header.major_version == 1:
        return ikev1.parse(buf, header, memo)
    message = Message(header.major_version, header, exchange_name=f"UNKNOWN_{header.exchange_type}")
    message.errors.append(f"unsupported ISAKMP version {header.major_version}.{header.minor_version}")
    return message



PRIVATE_USE = range(240, 256)
"""Exchange types for private use (RFC 2408 §3.1, RFC 7296 §3.1)."""
PRIVATE_PAYLOADS = range(128, 256)


RawHeader = tuple[bytes, bytes, int, int, int, int, int, int]
"""The header's fields as read: initiator SPI, responder SPI, next payload, version octet, exchange type, flags,
message id, length."""
_HEADER = struct.Struct(">8s8sBBBBII")


def plausible_header(data: bytes, truncated: bool = False) -> RawHeader | None:
    """The header of `data` when `implausible` passes the message read from it on its header alone (a reader that
    does not dissect every message needs no more); None when it does not, or cannot tell without dissecting."""
    size = len(data)
    if size < ISAKMP_HEADER_LENGTH:
        return None
    header: RawHeader = _HEADER.unpack_from(data)
    version = header[3]
    registry = ikev2_registry if version == 0x20 else ikev1_registry if version == 0x10 else None
    if registry is None:
        return None
    length = header[7]
    if length < ISAKMP_HEADER_LENGTH or (length > size and not truncated):
        return None
    if header[4] not in registry.EXCHANGE_TYPES and header[4] not in PRIVATE_USE:
        return None
    first = header[2]
    return header if not first or first in registry.PAYLOAD_NAMES or first in PRIVATE_PAYLOADS else None


def implausible(message: Message, size: int, truncated: bool = False) -> str | None:
    """Why the datagram that `message` was read from is not a plausible IKE message, or None when it is.

    A datagram on an IKE port is taken for IKE only when its header makes sense as a whole: version 1.0 or
    2.0, a length of at least the header that does not run past the datagram (unless the capture cut it),
    an exchange type of the version's registry (or private use), and a first payload that exists in that
    version (or private use) or at least has a payload header that holds (some implementations send
    unassigned payload types). A malformed payload further on does not disqualify it: that is an IKE
    message with errors. (DNS or NTP replies, junk after a non-ESP marker, random octets fail here.)"""
    header = message.header
    if size < 28:
        return f"{size} octets, less than an ISAKMP header"
    version = (header.major_version, header.minor_version)
    if version not in ((1, 0), (2, 0)):
        return f"version {header.major_version}.{header.minor_version}"
    if header.length < 28:
        return f"length field {header.length}, less than the 28-octet header"
    if header.length > size and not truncated:
        return f"length field {header.length} runs past the {size}-octet datagram"
    registry = ikev2_registry if header.major_version == 2 else ikev1_registry
    if header.exchange_type not in registry.EXCHANGE_TYPES and header.exchange_type not in PRIVATE_USE:
        return f"exchange type {header.exchange_type} is not an IKEv{header.major_version} exchange"
    first = header.next_payload
    unknown = first and first not in registry.PAYLOAD_NAMES and first not in PRIVATE_PAYLOADS
    if unknown and any("offset 28" in error for error in message.errors):  # and its header does not hold
        return f"first payload type {first} is not an IKEv{header.major_version} payload, nor a payload at all"
    return None
