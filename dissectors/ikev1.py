"""Sans-IO IKEv1 / ISAKMP dissector (RFC 2407, RFC 2408, RFC 2409 and the drafts that extended them).

Theory of operation
-------------------
`parse(buf, header)` receives the bytes of one ISAKMP message whose fixed header has already been
read (`common.parse_header`) and says major version 1. It follows the next-payload chain with
`common.walk_payloads` up to `common.message_end` (the header length bounded by the bytes at hand)
and turns each generic payload into a small dataclass through `_BODY_PARSERS`, a table keyed by
payload type. Proposals and transforms are nested inside their SA payload, exactly as on the wire.

Nothing here raises on malformed input. Every problem becomes one line in `message.errors` naming
the payload, its offset within the message and what was wrong; whatever was read before it stays.

Choices worth knowing:

* With the E (encryption) flag set, the body after the header is ciphertext until keys arrive. It is
  kept whole as one `EncryptedBodyPayload` (type `ENCRYPTED_BODY_TYPE` = -1, name "ENCRYPTED",
  `first_payload` = the header's next payload). No payload is parsed from it. Once decrypted, the
  plaintext goes through `parse_decrypted`.
* Payload type 15 is GDOI's SA KEK since RFC 3547, but draft-ietf-ipsec-nat-t-ike-04..08 peers used
  it for NAT-D (tcpdump's ISAKMP_sa_setup.pcap). The GDOI payloads 15-19 are kept opaque and named,
  so either use reads without a malformation report.
* Mode-Config/XAUTH secrets (XAUTH_USER_PASSWORD, PASSCODE, NEXT_PIN, ANSWER) are never stored:
  the attribute keeps an empty value and its `value_name` says how many octets were hidden.
* A header length shorter than the datagram (tcpdump's isakmp-no-none-np) stops the walk at the
  header length, as tshark does; the chain that goes on past it is reported as an error.

This module knows nothing of captures, sockets, the tracker or printing. `CiscoFragmentReassembler`
is the one stateful object: the caller owns it and feeds it fragments; it holds bounded memory.
"""

from __future__ import annotations

import ipaddress
import struct
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from . import ikev1_registry as registry
from .asn1 import dn_text, printable
from .common import PayloadMemo, RawPayload, message_end, parse_attributes, walk_payloads
from .model import ISAKMP_HEADER_LENGTH, Attribute, Header, Message, Notify, OpaquePayload, Payload
from .vendor_ids import identify_vendor

__all__ = [
    "ENCRYPTED_BODY_TYPE",
    "CertificatePayload",
    "CertificateRequestPayload",
    "CiscoFragmentPayload",
    "CiscoFragmentReassembler",
    "ConfigurationAttributesPayload",
    "DeletePayload",
    "EncryptedBodyPayload",
    "HashPayload",
    "IdentificationPayload",
    "KeyExchangePayload",
    "NatDiscoveryPayload",
    "NatOriginalAddressPayload",
    "NoncePayload",
    "ProposalPayload",
    "ReassembledMessage",
    "SecurityAssociationPayload",
    "SignaturePayload",
    "TransformPayload",
    "VendorIdPayload",
    "parse",
    "parse_decrypted",
    "parse_payloads",
    "proposal_text",
    "transform_text",
]

MEMO_TYPES = frozenset({1, 13})
"""SA and VID: the payloads that repeat verbatim across the messages of many ISAKMP SAs."""
ENCRYPTED_BODY_TYPE = -1
"""`Payload.type` of the `EncryptedBodyPayload` standing for an E-flagged message's ciphertext."""

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_PROPOSAL_HEADER = struct.Struct("!BBBB")  # number, protocol id, SPI size, transform count
_TRANSFORM_HEADER = struct.Struct("!BBH")  # number, transform id, reserved
_ID_HEADER = struct.Struct("!BBH")  # ID type, protocol id, port (IPsec DOI §4.6.2)
_NOTIFY_HEADER = struct.Struct("!IBBH")  # DOI, protocol id, SPI size, notify type
_DELETE_HEADER = struct.Struct("!IBBH")  # DOI, protocol id, SPI size, number of SPIs
_CFG_HEADER = struct.Struct("!BBH")  # type, reserved, identifier
_FRAG_HEADER = struct.Struct("!HBB")  # fragment id, fragment number, flags
_ATTRIBUTE_HEADER = struct.Struct("!HH")


# --------------------------------------------------------------------------------------------
# Payload dataclasses
# --------------------------------------------------------------------------------------------
@dataclass(slots=True)
class TransformPayload(Payload):
    """Transform payload (RFC 2408 §3.6), nested in a proposal."""

    number: int = 0
    transform_id: int = 0
    transform_name: str = ""
    """Transform ID named for the proposal's protocol (KEY_IKE, ESP_AES, AH_SHA, IPCOMP_DEFLATE...)."""
    attributes: list[Attribute] = field(default_factory=list)
    """Oakley attributes (RFC 2409 App. A) under ISAKMP, IPsec DOI attributes (RFC 2407 §4.5) otherwise."""


@dataclass(slots=True)
class ProposalPayload(Payload):
    """Proposal payload (RFC 2408 §3.5), nested in an SA payload."""

    number: int = 0
    protocol_id: int = 0
    protocol_name: str = ""
    spi: bytes = b""
    transform_count: int = 0
    """Number of transforms the proposal announces (compare with `len(transforms)`)."""
    transforms: list[TransformPayload] = field(default_factory=list)


@dataclass(slots=True)
class SecurityAssociationPayload(Payload):
    """Security Association payload (RFC 2408 §3.4, IPsec DOI RFC 2407 §4.6.1)."""

    doi: int = 0
    doi_name: str = ""
    situation: int = 0
    situation_names: list[str] = field(default_factory=list)
    labels: bytes = b""
    """Labeled-domain data following the situation when SIT_SECRECY / SIT_INTEGRITY is set."""
    proposals: list[ProposalPayload] = field(default_factory=list)
    data: bytes = b""
    """Body after the DOI when the DOI is not IPsec (not decoded)."""


@dataclass(slots=True)
class KeyExchangePayload(Payload):
    """Key Exchange payload (RFC 2408 §3.7): the Diffie-Hellman public value."""

    data: bytes = b""


@dataclass(slots=True)
class IdentificationPayload(Payload):
    """Identification payload (RFC 2408 §3.8, IPsec DOI RFC 2407 §4.6.2)."""

    id_type: int = 0
    id_type_name: str = ""
    protocol_id: int = 0
    """IP protocol number (0 = any)."""
    port: int = 0
    value: str = ""
    """The identity as a person reads it: address, subnet, range, name, DN; hex for opaque kinds."""
    data: bytes = b""


@dataclass(slots=True)
class CertificatePayload(Payload):
    """Certificate payload (RFC 2408 §3.9)."""

    encoding: int = 0
    encoding_name: str = ""
    data: bytes = b""


@dataclass(slots=True)
class CertificateRequestPayload(Payload):
    """Certificate Request payload (RFC 2408 §3.10)."""

    encoding: int = 0
    encoding_name: str = ""
    authority: bytes = b""
    """Certificate authority (usually a DER distinguished name); empty = any."""
    authority_name: str = ""
    """The authority as RFC 4514-like text when it is a DER distinguished name."""


@dataclass(slots=True)
class HashPayload(Payload):
    """Hash payload (RFC 2408 §3.11)."""

    data: bytes = b""


@dataclass(slots=True)
class SignaturePayload(Payload):
    """Signature payload (RFC 2408 §3.12)."""

    data: bytes = b""


@dataclass(slots=True)
class NoncePayload(Payload):
    """Nonce payload (RFC 2408 §3.13)."""

    data: bytes = b""


@dataclass(slots=True)
class DeletePayload(Payload):
    """Delete payload (RFC 2408 §3.15)."""

    doi: int = 0
    protocol_id: int = 0
    protocol_name: str = ""
    spi_size: int = 0
    spi_count: int = 0
    """Number of SPIs announced (compare with `len(spis)`)."""
    spis: list[bytes] = field(default_factory=list)


@dataclass(slots=True)
class VendorIdPayload(Payload):
    """Vendor ID payload (RFC 2408 §3.16) and what `vendor_ids.identify_vendor` makes of it."""

    data: bytes = b""
    vendor: str | None = None
    version: str | None = None


@dataclass(slots=True)
class ConfigurationAttributesPayload(Payload):
    """Attributes payload of Mode-Config / XAUTH (draft-ietf-ipsec-isakmp-mode-cfg-05 §3.2)."""

    cfg_type: int = 0
    cfg_type_name: str = ""
    identifier: int = 0
    attributes: list[Attribute] = field(default_factory=list)
    """Values: int for TV attributes, bytes for TLV ones; `value_name` is the readable form
    (address, text, XAUTH status). Secret values are dropped; their `value_name` gives the length."""


@dataclass(slots=True)
class NatDiscoveryPayload(Payload):
    """NAT-D payload (RFC 3947 §3.2; draft type 130): hash of an address and port."""

    data: bytes = b""


@dataclass(slots=True)
class NatOriginalAddressPayload(Payload):
    """NAT-OA payload (RFC 3947 §5.2; draft type 131)."""

    id_type: int = 0
    id_type_name: str = ""
    address: str = ""
    data: bytes = b""


@dataclass(slots=True)
class CiscoFragmentPayload(Payload):
    """Cisco IKE fragmentation payload (private type 132)."""

    fragment_id: int = 0
    number: int = 0
    """Position of this fragment, counted from 1."""
    last: bool = False
    data: bytes = b""


@dataclass(slots=True)
class EncryptedBodyPayload(Payload):
    """The ciphertext after the header of a message with the E flag (type ENCRYPTED_BODY_TYPE)."""

    first_payload: int = 0
    """Type of the first (encrypted) payload, from the header's next-payload field."""
    data: bytes = b""


# --------------------------------------------------------------------------------------------
# Message entry points
# --------------------------------------------------------------------------------------------
def parse(buf: memoryview, header: Header, memo: PayloadMemo | None = None) -> Message:
    """Dissect one IKEv1 message whose header is `header`. Never raises."""
    exchange_type = header.exchange_type
    exchange_name = registry.EXCHANGE_TYPES.get(exchange_type)
    message = Message(1, header, exchange_name=exchange_name or f"UNKNOWN_{exchange_type}")
    errors = message.errors
    end = message_end(header, len(buf), errors)
    if header.flags & 0x01:
        if end > ISAKMP_HEADER_LENGTH:
            message.payloads.append(EncryptedBodyPayload(
                ENCRYPTED_BODY_TYPE, "ENCRYPTED", ISAKMP_HEADER_LENGTH, end - ISAKMP_HEADER_LENGTH,
                first_payload=header.next_payload, data=bytes(buf[ISAKMP_HEADER_LENGTH:end])))
        return message
    _parse_chain(buf, header.next_payload, ISAKMP_HEADER_LENGTH, end, errors, message.payloads, memo)
    return message


def parse_payloads(buf: memoryview, first_type: int, start: int, end: int,
                   errors: list[str]) -> list[Payload]:
    """The payload chain of `buf[start:end]` beginning with `first_type` (offsets stay absolute)."""
    payloads: list[Payload] = []
    _parse_chain(buf, first_type, start, end, errors, payloads)
    return payloads


def parse_decrypted(header: Header, plaintext: bytes | memoryview) -> Message:
    """Dissect a decrypted IKEv1 message: `plaintext` is the body after the 28-octet header.

    Octets after the payload whose next payload is NONE are cipher padding (RFC 2409 §5.3), not a
    malformation. Offsets in the result are relative to the start of the message (header included).
    """
    exchange_name = registry.EXCHANGE_TYPES.get(header.exchange_type)
    message = Message(1, header, exchange_name=exchange_name or f"UNKNOWN_{header.exchange_type}")
    buf = memoryview(bytes(ISAKMP_HEADER_LENGTH) + bytes(plaintext))
    errors: list[str] = []
    _parse_chain(buf, header.next_payload, ISAKMP_HEADER_LENGTH, len(buf), errors, message.payloads)
    trailing = ("octets after the last payload (next payload NONE")
    message.errors.extend(e for e in errors if trailing not in e)
    return message


def _parse_chain(buf: memoryview, first_type: int, start: int, end: int, errors: list[str],
                 out: list[Payload], memo: PayloadMemo | None = None) -> None:
    get_parser = _BODY_PARSERS.get
    append = out.append
    for raw in walk_payloads(buf, first_type, start, end, errors, registry.PAYLOAD_LONG_NAMES):
        parser = get_parser(raw.type)
        if parser is not None and memo is not None and raw.type in MEMO_TYPES:
            append(memo.parse(raw, errors, parser, buf, raw, errors))
        elif parser is not None:
            append(parser(buf, raw, errors))
        else:
            name = registry.PAYLOAD_NAMES.get(raw.type) or f"UNKNOWN_{raw.type}"
            append(OpaquePayload(raw.type, name, raw.offset, raw.length, False, bytes(raw.body)))


def _where(raw: RawPayload) -> str:
    return f"{registry.PAYLOAD_LONG_NAMES.get(raw.type, f'payload {raw.type}')} at offset {raw.offset}"


# --------------------------------------------------------------------------------------------
# SA / proposal / transform
# --------------------------------------------------------------------------------------------
def _parse_sa(buf: memoryview, raw: RawPayload, errors: list[str]) -> Payload:
    body = raw.body
    sa = SecurityAssociationPayload(raw.type, "SA", raw.offset, raw.length)
    size = len(body)
    if size < 4:
        errors.append(f"{_where(raw)}: body of {size} octets has no room for the 4-octet DOI")
        sa.data = bytes(body)
        return sa
    doi = _U32.unpack_from(body, 0)[0]
    sa.doi = doi
    sa.doi_name = registry.DOI_NAMES.get(doi) or f"UNKNOWN_{doi}"
    if doi != registry.DOI_IPSEC:
        sa.data = bytes(body[4:])
        return sa
    if size < 8:
        errors.append(f"{_where(raw)}: body of {size} octets has no room for the 4-octet situation")
        return sa
    situation = _U32.unpack_from(body, 4)[0]
    sa.situation = situation
    sa.situation_names = [name for bit, name in registry.SITUATION_BITS.items() if situation & bit]
    position = 8
    if situation & 0x06:
        labels_end = _labels_end(body, 8, situation)
        if labels_end < 0:
            errors.append(f"{_where(raw)}: situation {situation:#x} announces labeled-domain data "
                          f"that the {size}-octet body does not hold")
            sa.labels = bytes(body[8:])
            return sa
        sa.labels = bytes(body[8:labels_end])
        position = labels_end
    start = raw.offset + 4 + position
    end = raw.offset + raw.length
    if start >= end:
        errors.append(f"{_where(raw)}: no proposal after the situation")
        return sa
    for proposal_raw in walk_payloads(buf, 2, start, end, errors, registry.PAYLOAD_LONG_NAMES):
        if proposal_raw.type != 2:
            errors.append(f"{_where(proposal_raw)}: found inside the SA payload at offset {raw.offset}, "
                          f"where only Proposal payloads (2) may follow")
            break
        sa.proposals.append(_parse_proposal(buf, proposal_raw, errors))
    return sa


def _labels_end(body: memoryview, position: int, situation: int) -> int:
    """End of the RFC 2407 §4.6.1 labeled-domain fields, or -1 when the body is too short."""
    size = len(body)
    position += 4  # Labeled Domain Identifier
    for bit in (0x02, 0x04):  # secrecy, then integrity
        if not situation & bit:
            continue
        if position + 4 > size:
            return -1
        level_length = _U16.unpack_from(body, position)[0]  # octets
        position += 4 + (level_length + 3) // 4 * 4
        if position + 4 > size:
            return -1
        bitmap_bits = _U16.unpack_from(body, position)[0]  # bits
        position += 4 + (bitmap_bits + 31) // 32 * 4
    return position if position <= size else -1


def _parse_proposal(buf: memoryview, raw: RawPayload, errors: list[str]) -> ProposalPayload:
    body = raw.body
    proposal = ProposalPayload(raw.type, "P", raw.offset, raw.length)
    if len(body) < 4:
        errors.append(f"{_where(raw)}: body of {len(body)} octets is shorter than the 4-octet "
                      f"proposal header")
        return proposal
    number, protocol_id, spi_size, transform_count = _PROPOSAL_HEADER.unpack_from(body, 0)
    proposal.number = number
    proposal.protocol_id = protocol_id
    proposal.protocol_name = registry.PROTOCOL_NAMES.get(protocol_id) or f"UNKNOWN_{protocol_id}"
    proposal.transform_count = transform_count
    if 4 + spi_size > len(body):
        errors.append(f"{_where(raw)}: SPI size {spi_size} runs past the payload end "
                      f"({len(body) - 4} octets left)")
        proposal.spi = bytes(body[4:])
        return proposal
    proposal.spi = bytes(body[4:4 + spi_size])
    start = raw.offset + 8 + spi_size
    end = raw.offset + raw.length
    if start < end or transform_count:
        transform_ids = registry.TRANSFORM_IDS_BY_PROTOCOL.get(protocol_id, {})
        if protocol_id == registry.PROTOCOL_ISAKMP:
            attribute_names, value_names = registry.OAKLEY_ATTRIBUTE_NAMES, registry.OAKLEY_VALUE_NAMES
        else:
            attribute_names, value_names = registry.IPSEC_ATTRIBUTE_NAMES, registry.IPSEC_VALUE_NAMES
        for transform_raw in walk_payloads(buf, 3, start, end, errors, registry.PAYLOAD_LONG_NAMES):
            if transform_raw.type != 3:
                errors.append(f"{_where(transform_raw)}: found inside the Proposal payload at offset "
                              f"{raw.offset}, where only Transform payloads (3) may follow")
                break
            proposal.transforms.append(_parse_transform(transform_raw, errors, transform_ids,
                                                        attribute_names, value_names))
    if len(proposal.transforms) != transform_count:
        errors.append(f"{_where(raw)}: announces {transform_count} transforms, "
                      f"{len(proposal.transforms)} were read")
    return proposal


def _parse_transform(raw: RawPayload, errors: list[str], transform_ids: dict[int, str],
                     attribute_names: dict[int, str],
                     value_names: dict[int, dict[int, str]]) -> TransformPayload:
    body = raw.body
    transform = TransformPayload(raw.type, "T", raw.offset, raw.length)
    if len(body) < 4:
        errors.append(f"{_where(raw)}: body of {len(body)} octets is shorter than the 4-octet "
                      f"transform header")
        return transform
    number, transform_id, _reserved = _TRANSFORM_HEADER.unpack_from(body, 0)
    transform.number = number
    transform.transform_id = transform_id
    transform.transform_name = transform_ids.get(transform_id) or f"UNKNOWN_{transform_id}"
    if len(body) > 4:
        transform.attributes = _transform_attributes(raw, errors, attribute_names, value_names)
    return transform


def _transform_attributes(raw: RawPayload, errors: list[str], names: dict[int, str],
                          value_tables: dict[int, dict[int, str]]) -> list[Attribute]:
    """The attributes of a transform: `common.parse_attributes` semantics, unrolled for the hot path.

    Main Mode offers carry up to a few hundred attributes, so this loop is where SA parsing spends its
    time. It reads the same TV/TLV layout, gives the same values and error texts, and also names
    unassigned values of enumerated attributes `UNKNOWN_<n>`.
    """
    body = raw.body
    size = len(body)
    offset = 4
    attributes: list[Attribute] = []
    append = attributes.append
    unpack = _ATTRIBUTE_HEADER.unpack_from
    while offset < size:
        if offset + 4 > size:
            errors.append(f"{_where(raw)}: {size - offset} stray octets after the last attribute")
            break
        type_field, length_or_value = unpack(body, offset)
        attribute_type = type_field & 0x7FFF
        name = names.get(attribute_type) or f"UNKNOWN_{attribute_type}"
        value: int
        if type_field & 0x8000:
            value = length_or_value
            offset += 4
        else:
            end = offset + 4 + length_or_value
            if end > size:
                errors.append(f"{_where(raw)}: attribute {name} length {length_or_value} runs past the "
                              f"end ({size - offset - 4} octets left)")
                break
            octets = bytes(body[offset + 4:end])
            offset = end
            if 0 < length_or_value <= 8:
                value = int.from_bytes(octets, "big")
            else:
                append(Attribute(attribute_type, name, octets, None))
                continue
        table = value_tables.get(attribute_type)
        if table is None:
            append(Attribute(attribute_type, name, value, None))
        else:
            append(Attribute(attribute_type, name, value, table.get(value) or f"UNKNOWN_{value}"))
    return attributes


# --------------------------------------------------------------------------------------------
# Simple payloads
# --------------------------------------------------------------------------------------------
def _parse_key_exchange(buf: memoryview, raw: RawPayload, errors: list[str]) -> Payload:
    return KeyExchangePayload(raw.type, "KE", raw.offset, raw.length, False, bytes(raw.body))


def _parse_hash(buf: memoryview, raw: RawPayload, errors: list[str]) -> Payload:
    return HashPayload(raw.type, "HASH", raw.offset, raw.length, False, bytes(raw.body))


def _parse_signature(buf: memoryview, raw: RawPayload, errors: list[str]) -> Payload:
    return SignaturePayload(raw.type, "SIG", raw.offset, raw.length, False, bytes(raw.body))


def _parse_nonce(buf: memoryview, raw: RawPayload, errors: list[str]) -> Payload:
    return NoncePayload(raw.type, "NONCE", raw.offset, raw.length, False, bytes(raw.body))


def _parse_nat_discovery(buf: memoryview, raw: RawPayload, errors: list[str]) -> Payload:
    name = "NAT-D" if raw.type == 20 else "NAT-D-DRAFT"
    return NatDiscoveryPayload(raw.type, name, raw.offset, raw.length, False, bytes(raw.body))


def _parse_opaque_named(buf: memoryview, raw: RawPayload, errors: list[str]) -> Payload:
    return OpaquePayload(raw.type, registry.PAYLOAD_NAMES[raw.type], raw.offset, raw.length,
                         data=bytes(raw.body))


def _parse_certificate(buf: memoryview, raw: RawPayload, errors: list[str]) -> Payload:
    body = raw.body
    certificate = CertificatePayload(raw.type, "CERT", raw.offset, raw.length)
    if not body:
        errors.append(f"{_where(raw)}: empty body, the certificate encoding octet is missing")
        return certificate
    encoding = body[0]
    certificate.encoding = encoding
    certificate.encoding_name = registry.CERT_ENCODING_NAMES.get(encoding) or f"UNKNOWN_{encoding}"
    certificate.data = bytes(body[1:])
    return certificate


def _parse_certificate_request(buf: memoryview, raw: RawPayload, errors: list[str]) -> Payload:
    body = raw.body
    request = CertificateRequestPayload(raw.type, "CR", raw.offset, raw.length)
    if not body:
        errors.append(f"{_where(raw)}: empty body, the certificate type octet is missing")
        return request
    encoding = body[0]
    request.encoding = encoding
    request.encoding_name = registry.CERT_ENCODING_NAMES.get(encoding) or f"UNKNOWN_{encoding}"
    request.authority = authority = bytes(body[1:])
    if authority:
        request.authority_name = dn_text(authority) or ""
    return request


def _parse_identification(buf: memoryview, raw: RawPayload, errors: list[str]) -> Payload:
    body = raw.body
    identification = IdentificationPayload(raw.type, "ID", raw.offset, raw.length)
    if len(body) < 4:
        errors.append(f"{_where(raw)}: body of {len(body)} octets is shorter than the 4-octet "
                      f"identification header")
        identification.data = bytes(body)
        return identification
    id_type, protocol_id, port = _ID_HEADER.unpack_from(body, 0)
    data = bytes(body[4:])
    identification.id_type = id_type
    identification.id_type_name = registry.ID_TYPE_NAMES.get(id_type) or f"UNKNOWN_{id_type}"
    identification.protocol_id = protocol_id
    identification.port = port
    identification.data = data
    value, problem = render_identity(id_type, data)
    identification.value = value
    if problem:
        errors.append(f"{_where(raw)}: {identification.id_type_name} {problem}")
    return identification


# Expected data lengths of the address identity kinds.
_ADDRESS_ID_LENGTHS: dict[int, int] = {1: 4, 4: 8, 7: 8, 5: 16, 6: 32, 8: 32}


def render_identity(id_type: int, data: bytes) -> tuple[str, str | None]:
    """An identity as text, and a description of what is wrong with it (or None)."""
    expected = _ADDRESS_ID_LENGTHS.get(id_type)
    if expected is not None:
        if len(data) != expected:
            return data.hex(), f"data is {len(data)} octets, expected {expected}"
        if id_type == registry.ID_IPV4_ADDR:
            return str(ipaddress.IPv4Address(data)), None
        if id_type == registry.ID_IPV6_ADDR:
            return str(ipaddress.IPv6Address(data)), None
        if id_type == registry.ID_IPV4_ADDR_SUBNET:
            return _subnet_text(str(ipaddress.IPv4Address(data[:4])), data[4:], 32), None
        if id_type == registry.ID_IPV6_ADDR_SUBNET:
            return _subnet_text(str(ipaddress.IPv6Address(data[:16])), data[16:], 128), None
        if id_type == registry.ID_IPV4_ADDR_RANGE:
            return f"{ipaddress.IPv4Address(data[:4])}-{ipaddress.IPv4Address(data[4:])}", None
        return f"{ipaddress.IPv6Address(data[:16])}-{ipaddress.IPv6Address(data[16:])}", None
    if id_type in (registry.ID_FQDN, registry.ID_USER_FQDN):
        return printable(data.decode("utf-8", "backslashreplace")), None
    if id_type == registry.ID_DER_ASN1_DN:
        dn = dn_text(data)
        if dn is None:
            return data.hex(), "is not a well-formed DER distinguished name"
        return dn, None
    return data.hex(), None


def _subnet_text(address: str, mask: bytes, bits: int) -> str:
    value = int.from_bytes(mask, "big")
    prefix = value.bit_count()
    if value == ((1 << bits) - 1) ^ ((1 << (bits - prefix)) - 1):
        return f"{address}/{prefix}"
    netmask = ipaddress.IPv4Address(mask) if bits == 32 else ipaddress.IPv6Address(mask)
    return f"{address}/{netmask}"


# --------------------------------------------------------------------------------------------
# Notification, Delete, Vendor ID
# --------------------------------------------------------------------------------------------
def _parse_notification(buf: memoryview, raw: RawPayload, errors: list[str]) -> Payload:
    body = raw.body
    notify = Notify(raw.type, "N", raw.offset, raw.length)
    if len(body) < 8:
        errors.append(f"{_where(raw)}: body of {len(body)} octets is shorter than the 8-octet "
                      f"notification header")
        notify.data = bytes(body)
        return notify
    doi, protocol_id, spi_size, notify_type = _NOTIFY_HEADER.unpack_from(body, 0)
    notify.doi = doi
    notify.protocol_id = protocol_id
    notify.notify_type = notify_type
    name = registry.NOTIFY_NAMES.get(notify_type) or f"UNKNOWN_{notify_type}"
    notify.notify_name = name
    if 8 + spi_size > len(body):
        errors.append(f"{_where(raw)}: {name} SPI size {spi_size} runs past the payload end "
                      f"({len(body) - 8} octets left)")
        notify.spi = bytes(body[8:])
        return notify
    notify.spi = bytes(body[8:8 + spi_size])
    data = bytes(body[8 + spi_size:])
    notify.data = data
    decoder = _NOTIFY_DECODERS.get(notify_type)
    if decoder is not None:
        problem = decoder(notify, data)
        if problem:
            errors.append(f"{_where(raw)}: {name} {problem}")
    return notify


def _decode_sequence(notify: Notify, data: bytes) -> str | None:
    if len(data) != 4:
        return f"data is {len(data)} octets, expected a 4-octet sequence number"
    notify.decoded["sequence"] = _U32.unpack_from(data, 0)[0]
    return None


def _decode_replay_status(notify: Notify, data: bytes) -> str | None:
    if len(data) != 4:
        return f"data is {len(data)} octets, expected 4"
    notify.decoded["replay_detection"] = _U32.unpack_from(data, 0)[0] != 0
    return None


def _decode_responder_lifetime(notify: Notify, data: bytes) -> str | None:
    problems: list[str] = []
    if notify.protocol_id == registry.PROTOCOL_ISAKMP:
        names, values, life_type, duration = (registry.OAKLEY_ATTRIBUTE_NAMES, registry.OAKLEY_VALUE_NAMES,
                                              registry.OAKLEY_LIFE_TYPE, registry.OAKLEY_LIFE_DURATION)
    else:
        names, values, life_type, duration = (registry.IPSEC_ATTRIBUTE_NAMES, registry.IPSEC_VALUE_NAMES,
                                              registry.IPSEC_SA_LIFE_TYPE, registry.IPSEC_SA_LIFE_DURATION)
    attributes = parse_attributes(memoryview(data), names, problems, "attributes", values)
    notify.decoded["attributes"] = attributes
    unit: int | None = None
    for attribute in attributes:
        if attribute.type == life_type and isinstance(attribute.value, int):
            unit = attribute.value
        elif attribute.type == duration and isinstance(attribute.value, int):
            if unit == 1:
                notify.decoded["lifetime_seconds"] = attribute.value
            elif unit == 2:
                notify.decoded["lifetime_kilobytes"] = attribute.value
    return "; ".join(problems) if problems else None


def _decode_load_balance(notify: Notify, data: bytes) -> str | None:
    if len(data) != 4:
        return f"data is {len(data)} octets, expected a 4-octet IPv4 address"
    notify.decoded["gateway"] = str(ipaddress.IPv4Address(data))
    return None


_NOTIFY_DECODERS: dict[int, Callable[[Notify, bytes], str | None]] = {
    registry.NOTIFY_R_U_THERE: _decode_sequence,
    registry.NOTIFY_R_U_THERE_ACK: _decode_sequence,
    registry.NOTIFY_REPLAY_STATUS: _decode_replay_status,
    registry.NOTIFY_RESPONDER_LIFETIME: _decode_responder_lifetime,
    registry.NOTIFY_UNITY_LOAD_BALANCE: _decode_load_balance,
}


def _parse_delete(buf: memoryview, raw: RawPayload, errors: list[str]) -> Payload:
    body = raw.body
    delete = DeletePayload(raw.type, "D", raw.offset, raw.length)
    if len(body) < 8:
        errors.append(f"{_where(raw)}: body of {len(body)} octets is shorter than the 8-octet "
                      f"delete header")
        return delete
    doi, protocol_id, spi_size, spi_count = _DELETE_HEADER.unpack_from(body, 0)
    delete.doi = doi
    delete.protocol_id = protocol_id
    delete.protocol_name = registry.PROTOCOL_NAMES.get(protocol_id) or f"UNKNOWN_{protocol_id}"
    delete.spi_size = spi_size
    delete.spi_count = spi_count
    available = len(body) - 8
    if spi_size == 0:
        if available:
            errors.append(f"{_where(raw)}: SPI size 0 but {available} octets follow the header")
        return delete
    readable = min(spi_count, available // spi_size)
    delete.spis = [bytes(body[8 + i * spi_size:8 + (i + 1) * spi_size]) for i in range(readable)]
    if readable < spi_count:
        errors.append(f"{_where(raw)}: announces {spi_count} SPIs of {spi_size} octets, "
                      f"only {available} octets follow")
    elif available != spi_count * spi_size:
        errors.append(f"{_where(raw)}: {available - spi_count * spi_size} octets after the "
                      f"{spi_count} SPIs")
    return delete


def _parse_vendor_id(buf: memoryview, raw: RawPayload, errors: list[str]) -> Payload:
    data = bytes(raw.body)
    match = identify_vendor(data)
    if match is None:
        return VendorIdPayload(raw.type, "VID", raw.offset, raw.length, False, data)
    return VendorIdPayload(raw.type, "VID", raw.offset, raw.length, False, data, match.name, match.version)


# --------------------------------------------------------------------------------------------
# Mode-Config / XAUTH attributes
# --------------------------------------------------------------------------------------------
def _parse_configuration(buf: memoryview, raw: RawPayload, errors: list[str]) -> Payload:
    body = raw.body
    configuration = ConfigurationAttributesPayload(raw.type, "ATTR", raw.offset, raw.length)
    if len(body) < 4:
        errors.append(f"{_where(raw)}: body of {len(body)} octets is shorter than the 4-octet "
                      f"attributes header")
        return configuration
    cfg_type, _reserved, identifier = _CFG_HEADER.unpack_from(body, 0)
    configuration.cfg_type = cfg_type
    configuration.cfg_type_name = registry.CFG_TYPE_NAMES.get(cfg_type) or f"UNKNOWN_{cfg_type}"
    configuration.identifier = identifier
    configuration.attributes = _parse_cfg_attributes(body, 4, errors, _where(raw))
    return configuration


def _parse_cfg_attributes(body: memoryview, offset: int, errors: list[str],
                          where: str) -> list[Attribute]:
    attributes: list[Attribute] = []
    names = registry.CFG_ATTRIBUTE_NAMES
    size = len(body)
    while offset < size:
        if offset + 4 > size:
            errors.append(f"{where}: {size - offset} stray octets after the last attribute")
            break
        type_field, length_or_value = _ATTRIBUTE_HEADER.unpack_from(body, offset)
        attribute_type = type_field & 0x7FFF
        name = names.get(attribute_type) or f"UNKNOWN_{attribute_type}"
        if type_field & 0x8000:
            table = registry.CFG_VALUE_NAMES.get(attribute_type)
            value_name = None
            if table is not None:
                value_name = table.get(length_or_value) or f"UNKNOWN_{length_or_value}"
            attributes.append(Attribute(attribute_type, name, length_or_value, value_name))
            offset += 4
            continue
        if offset + 4 + length_or_value > size:
            errors.append(f"{where}: attribute {name} length {length_or_value} runs past the end "
                          f"({size - offset - 4} octets left)")
            break
        value = bytes(body[offset + 4:offset + 4 + length_or_value])
        offset += 4 + length_or_value
        attributes.append(_cfg_attribute(attribute_type, name, value))
    return attributes


def _cfg_attribute(attribute_type: int, name: str, value: bytes) -> Attribute:
    if not value:
        return Attribute(attribute_type, name, value)
    if attribute_type in registry.CFG_SECRET_ATTRIBUTES:
        return Attribute(attribute_type, name, b"", f"<{len(value)} octets not kept>")
    if attribute_type in registry.CFG_TEXT_ATTRIBUTES:
        return Attribute(attribute_type, name, value, printable(value.decode("utf-8", "backslashreplace")))
    if attribute_type in registry.CFG_IPV4_ATTRIBUTES and len(value) % 4 == 0:
        addresses = [str(ipaddress.IPv4Address(value[i:i + 4])) for i in range(0, len(value), 4)]
        return Attribute(attribute_type, name, value, " ".join(addresses))
    if attribute_type in registry.CFG_IPV6_ATTRIBUTES and len(value) >= 16:
        text = str(ipaddress.IPv6Address(value[:16]))
        if len(value) == 17:
            text = f"{text}/{value[16]}"
        return Attribute(attribute_type, name, value, text)
    table = registry.CFG_VALUE_NAMES.get(attribute_type)
    if table is not None and len(value) <= 4:
        number = int.from_bytes(value, "big")
        return Attribute(attribute_type, name, number, table.get(number) or f"UNKNOWN_{number}")
    return Attribute(attribute_type, name, value)


# --------------------------------------------------------------------------------------------
# NAT-OA, Cisco fragmentation
# --------------------------------------------------------------------------------------------
def _parse_nat_original_address(buf: memoryview, raw: RawPayload, errors: list[str]) -> Payload:
    body = raw.body
    name = "NAT-OA" if raw.type == 21 else "NAT-OA-DRAFT"
    original = NatOriginalAddressPayload(raw.type, name, raw.offset, raw.length)
    if len(body) < 4:
        errors.append(f"{_where(raw)}: body of {len(body)} octets is shorter than the 4-octet "
                      f"NAT-OA header")
        original.data = bytes(body)
        return original
    id_type = body[0]
    data = bytes(body[4:])
    original.id_type = id_type
    original.id_type_name = registry.ID_TYPE_NAMES.get(id_type) or f"UNKNOWN_{id_type}"
    original.data = data
    if id_type in (registry.ID_IPV4_ADDR, registry.ID_IPV6_ADDR):
        value, problem = render_identity(id_type, data)
        original.address = value
        if problem:
            errors.append(f"{_where(raw)}: {original.id_type_name} {problem}")
    else:
        errors.append(f"{_where(raw)}: ID type {original.id_type_name} is neither IPV4_ADDR nor IPV6_ADDR")
        original.address = data.hex()
    return original


def _parse_cisco_fragment(buf: memoryview, raw: RawPayload, errors: list[str]) -> Payload:
    body = raw.body
    fragment = CiscoFragmentPayload(raw.type, "FRAG", raw.offset, raw.length)
    if len(body) < 4:
        errors.append(f"{_where(raw)}: body of {len(body)} octets is shorter than the 4-octet "
                      f"fragment header")
        fragment.data = bytes(body)
        return fragment
    fragment_id, number, flags = _FRAG_HEADER.unpack_from(body, 0)
    fragment.fragment_id = fragment_id
    fragment.number = number
    fragment.last = bool(flags & 0x01)
    fragment.data = bytes(body[4:])
    return fragment


_BODY_PARSERS: dict[int, Callable[[memoryview, RawPayload, list[str]], Payload]] = {
    1: _parse_sa,
    4: _parse_key_exchange,
    5: _parse_identification,
    6: _parse_certificate,
    7: _parse_certificate_request,
    8: _parse_hash,
    9: _parse_signature,
    10: _parse_nonce,
    11: _parse_notification,
    12: _parse_delete,
    13: _parse_vendor_id,
    14: _parse_configuration,
    15: _parse_opaque_named,
    16: _parse_opaque_named,
    17: _parse_opaque_named,
    18: _parse_opaque_named,
    19: _parse_opaque_named,
    20: _parse_nat_discovery,
    21: _parse_nat_original_address,
    22: _parse_opaque_named,
    130: _parse_nat_discovery,
    131: _parse_nat_original_address,
    132: _parse_cisco_fragment,
}


# --------------------------------------------------------------------------------------------
# Compact proposal text for the diagnosis layer
# --------------------------------------------------------------------------------------------
def transform_text(proposal: ProposalPayload, transform: TransformPayload) -> str:
    """One transform of `proposal` in a line: "AES-CBC-256/SHA1/MODP_1024/PSK/86400s"."""
    values: dict[int, int] = {}
    lifetimes: list[str] = []
    unit = 1
    phase1 = proposal.protocol_id == registry.PROTOCOL_ISAKMP
    life_type = registry.OAKLEY_LIFE_TYPE if phase1 else registry.IPSEC_SA_LIFE_TYPE
    life_duration = registry.OAKLEY_LIFE_DURATION if phase1 else registry.IPSEC_SA_LIFE_DURATION
    for attribute in transform.attributes:
        value = attribute.value
        if not isinstance(value, int):
            continue
        if attribute.type == life_type:
            unit = value
        elif attribute.type == life_duration:
            lifetimes.append(f"{value}{registry.LIFE_UNIT_SHORT.get(unit, f'?{unit}')}")
        else:
            values.setdefault(attribute.type, value)
    parts: list[str] = []
    if phase1:
        cipher = values.get(registry.OAKLEY_ENCRYPTION_ALGORITHM)
        if cipher is not None:
            text = registry.OAKLEY_ENCRYPTION_SHORT.get(cipher) or f"ENCR_{cipher}"
            key_length = values.get(registry.OAKLEY_KEY_LENGTH)
            parts.append(f"{text}-{key_length}" if key_length else text)
        _append_named(parts, values, registry.OAKLEY_HASH_ALGORITHM, registry.OAKLEY_HASH_NAMES, "HASH")
        _append_named(parts, values, registry.OAKLEY_GROUP_DESCRIPTION, registry.GROUP_NAMES, "GROUP")
        _append_named(parts, values, registry.OAKLEY_AUTHENTICATION_METHOD, registry.AUTH_METHOD_SHORT,
                      "AUTH")
    else:
        prefix = {registry.PROTOCOL_IPSEC_ESP: "ESP", registry.PROTOCOL_IPSEC_AH: "AH",
                  registry.PROTOCOL_IPCOMP: "IPCOMP"}.get(proposal.protocol_id,
                                                          proposal.protocol_name)
        name = transform.transform_name
        if name.startswith(prefix + "_"):
            name = name[len(prefix) + 1:]
        key_length = values.get(registry.IPSEC_KEY_LENGTH)
        parts.append(f"{prefix}:{name}-{key_length}" if key_length else f"{prefix}:{name}")
        _append_named(parts, values, registry.IPSEC_AUTHENTICATION_ALGORITHM,
                      registry.IPSEC_AUTH_ALGORITHM_NAMES, "AUTH")
        group = values.get(registry.IPSEC_GROUP_DESCRIPTION)
        if group is not None:
            parts.append("PFS-" + (registry.GROUP_NAMES.get(group) or f"GROUP_{group}"))
        _append_named(parts, values, registry.IPSEC_ENCAPSULATION_MODE,
                      registry.ENCAPSULATION_MODE_NAMES, "MODE")
    parts.extend(lifetimes)
    return "/".join(parts)


def _append_named(parts: list[str], values: dict[int, int], attribute_type: int,
                  table: dict[int, str], fallback: str) -> None:
    value = values.get(attribute_type)
    if value is not None:
        parts.append(table.get(value) or f"{fallback}_{value}")


def proposal_text(proposal: ProposalPayload) -> str:
    """The proposal's transforms as compact text, alternatives separated by " | "."""
    return " | ".join(transform_text(proposal, transform) for transform in proposal.transforms)


# --------------------------------------------------------------------------------------------
# Cisco fragmentation reassembly
# --------------------------------------------------------------------------------------------
@dataclass(slots=True)
class ReassembledMessage:
    """An ISAKMP message rebuilt from Cisco fragments."""

    data: bytes
    """The whole message, header included: hand it to `dissectors.parse_message`."""
    frames: list[int]
    """Frames that carried the fragments, in fragment order."""
    fragment_id: int


@dataclass(slots=True)
class _PendingMessage:
    fragments: dict[int, tuple[bytes, int]] = field(default_factory=dict)
    last_number: int = 0
    size: int = 0


class CiscoFragmentReassembler:
    """Sans-IO reassembly of Cisco IKE fragments (payload 132), with bounded memory.

    Fragments are grouped by (initiator SPI, responder SPI, sender, fragment id); `sender` is any
    hashable the caller picks (e.g. the source address and port) so that both peers' fragment id 1
    do not mix. By default a set completes when the fragment flagged last arrives and every number
    before it is already there, which is what tshark 4.0 does (wireshark-wiki/test1.pcap: the two
    sets whose last fragment comes first stay unassembled). With `any_order=True` the fragment that
    fills the last gap completes the set, whatever its position. At most `max_fragments` fragments
    per set and `max_pending` sets are kept; the oldest set is dropped first. `dropped` counts the
    sets and fragments given up.
    """

    def __init__(self, max_fragments: int = 64, max_pending: int = 128,
                 max_message_size: int = 256 * 1024, any_order: bool = False) -> None:
        self.max_fragments = max_fragments
        self.max_pending = max_pending
        self.max_message_size = max_message_size
        self.any_order = any_order
        self.dropped = 0
        self._pending: OrderedDict[tuple[bytes, bytes, object, int], _PendingMessage] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pending)

    def feed(self, spi_i: bytes, spi_r: bytes, fragment: CiscoFragmentPayload, frame: int,
             sender: object = None) -> ReassembledMessage | None:
        """Add one fragment; the rebuilt message when this fragment completes its set, else None."""
        number = fragment.number
        if number < 1 or number > self.max_fragments:
            self.dropped += 1
            return None
        key = (bytes(spi_i), bytes(spi_r), sender, fragment.fragment_id)
        pending = self._pending.get(key)
        if pending is None:
            pending = _PendingMessage()
            self._pending[key] = pending
            while len(self._pending) > self.max_pending:
                self._pending.popitem(last=False)
                self.dropped += 1
        if number not in pending.fragments:
            pending.size += len(fragment.data)
        else:
            pending.size += len(fragment.data) - len(pending.fragments[number][0])
        pending.fragments[number] = (fragment.data, frame)
        if fragment.last:
            pending.last_number = number
        if pending.size > self.max_message_size or (
                pending.last_number and max(pending.fragments) > pending.last_number):
            del self._pending[key]
            self.dropped += 1
            return None
        last = pending.last_number
        if not last or len(pending.fragments) != last or (not self.any_order and not fragment.last):
            return None
        del self._pending[key]
        ordered = [pending.fragments[i] for i in range(1, last + 1)]
        return ReassembledMessage(b"".join(part for part, _ in ordered),
                                  [frame_number for _, frame_number in ordered], fragment.fragment_id)

    def add(self, spi_i: bytes, spi_r: bytes, fragment: Payload, frame: int,
            sender: object = None) -> tuple[bytes, list[int]] | None:
        """`feed` in the pipeline's form: (message bytes, frames) when complete, else None."""
        if not isinstance(fragment, CiscoFragmentPayload):
            return None
        done = self.feed(spi_i, spi_r, fragment, frame, sender)
        return None if done is None else (done.data, done.frames)

    def feed_message(self, message: Message, frame: int,
                     sender: object = None) -> list[ReassembledMessage]:
        """Feed every fragment payload of `message`; the messages they complete."""
        return [done for done in self._feed_all(message.header, message.payloads, frame, sender)
                if done is not None]

    def _feed_all(self, header: Header, payloads: Iterable[Payload], frame: int,
                  sender: object) -> Iterable[ReassembledMessage | None]:
        for payload in payloads:
            if isinstance(payload, CiscoFragmentPayload):
                yield self.feed(header.spi_i, header.spi_r, payload, frame, sender)
