"""Sans-IO IKEv1/IKEv2 message parsers: bytes in, plain objects out.

`parse_message(data)` reads one ISAKMP message and never raises; the version nibble of the
header picks the IKEv1 (RFC 2408/2409) or IKEv2 (RFC 7296) dissector.
"""

from __future__ import annotations

from . import ikev1, ikev2
from .common import PayloadMemo, parse_header
from .model import Header, Message, Notify, OpaquePayload, Payload

__all__ = ["Header", "Message", "Notify", "OpaquePayload", "Payload", "PayloadMemo", "parse_message"]


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

