"""Plain objects that both IKE dissectors produce.

This module knows nothing of files, sockets, printing or the capture that carried the bytes.
A dissector takes the bytes of one ISAKMP message and returns a `Message`: the fixed header,
the payloads in wire order (each a small dataclass, nested where the protocol nests), and a
list of `errors` naming every malformation met. Parsing never raises: whatever was read before
a problem is kept, the problem becomes an `errors` entry.

Renderers walk these dataclasses generically (`dataclasses.fields`), so every field that a
user should see in the decoded tree is a dataclass field; helper values are properties.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ISAKMP_HEADER_LENGTH = 28


@dataclass(slots=True)
class Header:
    """The 28-octet ISAKMP/IKE header (RFC 2408 §3.1, RFC 7296 §3.1)."""

    spi_i: bytes
    """Initiator SPI (IKEv2) or initiator cookie (IKEv1), 8 octets."""
    spi_r: bytes
    """Responder SPI or cookie, 8 octets; all zero in the first message."""
    next_payload: int
    """Type of the first payload."""
    major_version: int
    minor_version: int
    exchange_type: int
    flags: int
    """Raw flags octet (see the `Message` properties for their meaning per version)."""
    message_id: int
    length: int
    """Length of the whole message as the header states it."""


@dataclass(slots=True)
class Attribute:
    """A data attribute in TLV or TV form (RFC 2408 §3.3, RFC 7296 §3.3.5)."""

    type: int
    name: str
    value: int | bytes
    """An integer for the short (TV) form and for known integer-valued long attributes; bytes otherwise."""
    value_name: str | None = None
    """Registry name of the value where the attribute has one (e.g. the cipher of ENCRYPTION_ALGORITHM)."""


@dataclass(slots=True)
class Payload:
    """Fields common to every payload; specific payloads subclass this."""

    type: int
    """Payload type number (the 'next payload' value that announced it)."""
    name: str
    """Short payload name: IKEv2 notation (SA, KE, IDi, N, SK, ...) or the IKEv1 one (SA, HASH, NAT-D, ...)."""
    offset: int
    """Octet offset of the generic payload header within the message."""
    length: int
    """Payload length from the generic header, including the header."""
    critical: bool = False
    """IKEv2 critical bit (always False for IKEv1)."""


@dataclass(slots=True)
class OpaquePayload(Payload):
    """A payload whose body is kept as bytes (unknown types, hashes, signatures, certificates, ...)."""

    data: bytes = b""


@dataclass(slots=True)
class Notify(Payload):
    """IKEv2 Notify (RFC 7296 §3.10) or IKEv1 Notification (RFC 2408 §3.14)."""

    protocol_id: int = 0
    spi: bytes = b""
    notify_type: int = 0
    notify_name: str = ""
    data: bytes = b""
    doi: int | None = None
    """IKEv1 only: the Domain of Interpretation."""
    decoded: dict[str, object] = field(default_factory=dict)
    """Notification data decoded where it matters (e.g. {'group': 19, 'group_name': 'ECP_256'})."""


@dataclass(slots=True)
class Message:
    """One ISAKMP message (IKEv1 or IKEv2) and everything read from it."""

    version: int
    """IKE major version from the header (1 or 2; other values are kept as read)."""
    header: Header
    payloads: list[Payload] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    exchange_name: str = ""
    """Registry name of the exchange type (SPEC §4), `UNKNOWN_<n>` when unassigned."""

    # --- flags, per version ----------------------------------------------------------------
    @property
    def is_response(self) -> bool:
        """IKEv2 R flag. IKEv1 has no such flag: the tracker decides, this says False."""
        return self.version == 2 and bool(self.header.flags & 0x20)

    @property
    def is_initiator(self) -> bool:
        """IKEv2 I flag (sent by the original initiator). False for IKEv1 (tracker decides)."""
        return self.version == 2 and bool(self.header.flags & 0x08)

    @property
    def encrypted(self) -> bool:
        """IKEv1 E flag set, or an IKEv2 SK/SKF payload present."""
        if self.version == 1:
            return bool(self.header.flags & 0x01)
        return any(p.type in (46, 53) for p in self.payloads)

    @property
    def commit(self) -> bool:
        """IKEv1 C (commit) flag."""
        return self.version == 1 and bool(self.header.flags & 0x02)

    @property
    def notifies(self) -> list[Notify]:
        return [p for p in self.payloads if isinstance(p, Notify)]

    @property
    def payload_names(self) -> list[str]:
        return [p.name for p in self.payloads]
