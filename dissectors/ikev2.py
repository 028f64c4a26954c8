"""IKEv2 message dissector (RFC 7296 and the RFCs that extend it).

Sans-IO: `parse(buf, header)` takes the bytes of one IKEv2 message, whose fixed header
`common.parse_header` has already read, and returns a `model.Message` whose payloads are the
small dataclasses below, in wire order. This module knows nothing of captures, sockets, keys,
IKE SA state or output. It never raises on malformed input: every problem becomes a string in
`Message.errors` naming the payload, its offset in the message and what was wrong, and whatever
was read before the problem is kept.

Theory of operation. `common.walk_payloads` follows the generic payload chain. Each link's body
goes to the parser that `_BODY_PARSERS` (a table keyed by payload type) names for it; types
without one become `model.OpaquePayload`. Substructures (proposals, transforms, traffic
selectors, configuration attributes) are read in place from the same memoryview with
`struct.unpack_from`. Registry names come from `ikev2_registry`, module-level tables that are
never rebuilt per message. The Encrypted payload (SK, 46) and the Encrypted Fragment payload
(SKF, 53) end the chain: their "next payload" field names the first payload inside the
ciphertext, which only a caller holding keys can read (`sk_layout` tells such a caller where IV,
ciphertext and ICV lie; `parse_payloads` dissects the decrypted inner chain with the same table).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv6Address

from . import ikev2_registry as registry
from .asn1 import algorithm_identifier_oid, dn_text, oid_text
from .common import PayloadMemo, RawPayload, message_end, parse_attributes, walk_payloads
from .model import ISAKMP_HEADER_LENGTH, Attribute, Header, Message, Notify, OpaquePayload, Payload
from .vendor_ids import identify_vendor

PROPOSAL = struct.Struct("!BxHBBBB")  # last, reserved, length, number, protocol id, SPI size, transforms
TRANSFORM = struct.Struct("!BxHBxH")  # last, reserved, length, type, reserved, transform id
TRANSFORM_HEAD = struct.Struct("!BxHI")  # the same, type-reserved-id read as one word (see _PLAIN_TRANSFORMS)
WORD = struct.Struct("!I")
TWO_SHORTS = struct.Struct("!HH")
KEY_LENGTH_TV = 0x8000 | 14  # the Key Length attribute in its short (TV) form, RFC 7296 §3.3.5
BYTE_BYTE_SHORT = struct.Struct("!BBH")

MEMO_TYPES = frozenset({33, 43})
"""SA and Vendor ID: the payloads that repeat verbatim across the messages of many IKE SAs."""
ENCRYPTED = 46
ENCRYPTED_FRAGMENT = 53
LAST_PROPOSAL, MORE_PROPOSALS = 0, 2
LAST_TRANSFORM, MORE_TRANSFORMS = 0, 3


# --- payload dataclasses --------------------------------------------------------------------------

@dataclass(slots=True, frozen=True)
class Transform:
    """One transform of a proposal (RFC 7296 §3.3.2), with its registry name.

    Frozen: the common transforms are prebuilt once (`_PLAIN_TRANSFORMS`, `_KEYED_TRANSFORMS`) and
    shared between messages, which keeps the hot loop of the dissector to one table look-up per
    transform."""

    transform_type: int
    type_name: str
    """ENCR, PRF, INTEG, KE, ESN, ADDKE1..ADDKE7, ..."""
    transform_id: int
    name: str
    """Registry name of the transform ID, e.g. ENCR_AES_CBC, PRF_HMAC_SHA2_256, MODP_2048."""
    key_length: int | None = None
    """The Key Length attribute (bits), when present."""
    attributes: tuple[Attribute, ...] = ()
    """Transform attributes other than Key Length (none other is assigned; kept when sent)."""


@dataclass(slots=True)
class Proposal:
    """One proposal substructure of an SA payload (RFC 7296 §3.3.1)."""

    number: int
    protocol_id: int
    protocol_name: str
    """IKE, AH or ESP."""
    spi: bytes
    transforms: list[Transform] = field(default_factory=list)
    offset: int = 0
    length: int = 0


@dataclass(slots=True)
class SecurityAssociation(Payload):
    """SA payload (33): the proposals offered (request) or the one chosen (response)."""

    proposals: list[Proposal] = field(default_factory=list)


@dataclass(slots=True)
class KeyExchange(Payload):
    """KE payload (34): the key exchange method and the public value."""

    group: int = 0
    group_name: str = ""
    data_length: int = 0
    data: bytes = b""


@dataclass(slots=True)
class Identification(Payload):
    """IDi / IDr (35, 36) and the RFC 9838 group identification IDg (50)."""

    id_type: int = 0
    id_type_name: str = ""
    value: str = ""
    """Readable identity: dotted address, text, a DN as 'C=.., O=.., CN=..', hex otherwise."""
    data: bytes = b""


@dataclass(slots=True)
class Certificate(Payload):
    """CERT payload (37)."""

    encoding: int = 0
    encoding_name: str = ""
    data: bytes = b""


@dataclass(slots=True)
class CertificateRequest(Payload):
    """CERTREQ payload (38): for X.509 encodings, a list of SHA-1 hashes of trusted CA keys."""

    encoding: int = 0
    encoding_name: str = ""
    authorities: list[str] = field(default_factory=list)
    """Hex SHA-1 hashes of the requested certification authorities' public keys."""
    data: bytes = b""


@dataclass(slots=True)
class Authentication(Payload):
    """AUTH payload (39)."""

    method: int = 0
    method_name: str = ""
    data: bytes = b""
    signature_algorithm_length: int | None = None
    """RFC 7427 digital signature (method 14): length of the ASN.1 AlgorithmIdentifier."""
    signature_algorithm: str | None = None
    """RFC 7427: the AlgorithmIdentifier's algorithm, named (sha256WithRSAEncryption, ...) or as an OID."""


@dataclass(slots=True)
class Nonce(Payload):
    """Nonce payload (40), Ni or Nr."""

    nonce_length: int = 0
    data: bytes = b""


@dataclass(slots=True)
class Delete(Payload):
    """Delete payload (42)."""

    protocol_id: int = 0
    protocol_name: str = ""
    spi_size: int = 0
    spi_count: int = 0
    spis: list[bytes] = field(default_factory=list)


@dataclass(slots=True)
class VendorID(Payload):
    """Vendor ID payload (43)."""

    data: bytes = b""
    vendor: str | None = None
    """The implementation or capability the ID names, when known."""
    vendor_version: str | None = None


@dataclass(slots=True)
class TrafficSelector:
    """One traffic selector (RFC 7296 §3.13.1; FC RFC 4595; security label RFC 9478)."""

    ts_type: int
    ts_type_name: str
    ip_protocol: int
    start_port: int
    end_port: int
    start_address: str
    end_address: str
    text: str
    """Readable form, e.g. '10.1.0.0/16[tcp/443]' or '192.0.2.1-192.0.2.9'."""
    security_label: bytes = b""
    offset: int = 0


@dataclass(slots=True)
class TrafficSelectors(Payload):
    """TSi / TSr payloads (44, 45)."""

    selectors: list[TrafficSelector] = field(default_factory=list)


@dataclass(slots=True)
class Encrypted(Payload):
    """Encrypted and Authenticated payload SK (46), opaque without keys.

    `data` is IV + ciphertext (+ padding, pad length) + ICV. The dissector leaves `iv_size` and
    `icv_size` None; a caller that knows the negotiated transforms fills them with `sk_layout`."""

    inner_first_payload: int = 0
    """Type of the first payload inside the ciphertext (the SK header's next-payload field)."""
    inner_first_payload_name: str = ""
    data: bytes = b""
    iv_size: int | None = None
    icv_size: int | None = None


@dataclass(slots=True)
class EncryptedFragment(Encrypted):
    """Encrypted Fragment payload SKF (53, RFC 7383); `inner_first_payload` is set in fragment 1 only."""

    fragment_number: int = 0
    total_fragments: int = 0


@dataclass(slots=True)
class ConfigurationAttribute:
    """One configuration attribute of a CP payload (RFC 7296 §3.15.1)."""

    attribute_type: int
    name: str
    length: int
    value: str
    """Readable value (address, prefix, text, number); '' for an empty (requested) attribute."""
    data: bytes = b""


@dataclass(slots=True)
class Configuration(Payload):
    """Configuration payload CP (47)."""

    cfg_type: int = 0
    cfg_type_name: str = ""
    attributes: list[ConfigurationAttribute] = field(default_factory=list)


@dataclass(slots=True)
class ExtensibleAuthentication(Payload):
    """EAP payload (48): one EAP message (RFC 3748 §4)."""

    code: int = 0
    code_name: str = ""
    identifier: int = 0
    eap_length: int = 0
    eap_type: int | None = None
    """Method type (Request and Response only)."""
    eap_type_name: str | None = None
    data: bytes = b""
    """Type-data (Request/Response) or whatever follows the 4-octet header."""


@dataclass(slots=True)
class GenericSecurePasswordMethod(Payload):
    """GSPM payload (49, RFC 6467): method-specific data."""

    data: bytes = b""


# --- helpers --------------------------------------------------------------------------------------

def _name(table: dict[int, str], number: int) -> str:
    name = table.get(number)
    return name if name is not None else f"UNKNOWN_{number}"


def _ipv4(data: bytes | memoryview) -> str:
    return f"{data[0]}.{data[1]}.{data[2]}.{data[3]}"


def _ipv6(data: bytes | memoryview) -> str:
    return IPv6Address(bytes(data)).compressed


def _address(data: bytes | memoryview) -> str:
    """Dotted IPv4 or compressed IPv6 for 4 or 16 octets, hex otherwise."""
    if len(data) == 4:
        return _ipv4(data)
    if len(data) == 16:
        return _ipv6(data)
    return bytes(data).hex()


def _text(data: bytes | memoryview) -> str:
    return bytes(data).decode("utf-8", "replace")


def _octets(count: int) -> str:
    return "1 octet" if count == 1 else f"{count} octets"


def _label(raw: RawPayload, name: str) -> str:
    """How error texts name a payload: 'TSi at offset 84'. Built only when an error is recorded."""
    return f"{name} at offset {raw.offset}"


def _short_body(raw: RawPayload, name: str, size: int, fields: str, errors: list[str]) -> None:
    errors.append(f"{_label(raw, name)}: body has {_octets(size)}, below the 4 of {fields}")


def _at(payload: Payload) -> str:
    return f"{payload.name} at offset {payload.offset}"


def _algorithm_identifier_name(der: bytes) -> str | None:
    """The algorithm of a DER AlgorithmIdentifier, by name when known, else as a dotted OID."""
    oid = algorithm_identifier_oid(der)
    if oid is None:
        return None
    return registry.SIGNATURE_ALGORITHM_OIDS.get(oid) or oid_text(oid)


# --- SA -------------------------------------------------------------------------------------------

def _new_transform(transform_type: int, transform_id: int, key_length: int | None,
                   attributes: tuple[Attribute, ...] = ()) -> Transform:
    ids = registry.TRANSFORM_IDS.get(transform_type)
    name = ids.get(transform_id) if ids is not None else None
    return Transform(transform_type, _name(registry.TRANSFORM_TYPES, transform_type), transform_id,
                     name if name is not None else f"UNKNOWN_{transform_id}", key_length, attributes)


# The hot loop below looks transforms up by the octets that identify them, read as integers: the
# 32-bit word "type, reserved, transform ID" and, for a lone Key Length attribute, that word
# followed by the 32-bit attribute "0x800E, key length".
def _transform_word(transform_type: int, transform_id: int) -> int:
    return (transform_type << 24) | transform_id


_PLAIN_TRANSFORMS: dict[int, Transform] = {
    _transform_word(kind, number): _new_transform(kind, number, None)
    for kind, ids in registry.TRANSFORM_IDS.items() for number in ids
}
"""Every registered transform without attributes, built once at import and shared."""

_KEYED_TRANSFORMS: dict[int, Transform] = {
    (_transform_word(1, number) << 32) | (KEY_LENGTH_TV << 16) | bits: _new_transform(1, number, bits)
    for number in registry.ENCRYPTION_ALGORITHMS for bits in (64, 128, 192, 256)
}
"""Every registered cipher with the key lengths in use, built once at import and shared."""

def _parse_transforms(body: memoryview, start: int, end: int, base: int, sa_where: str, number: int,
                      errors: list[str]) -> list[Transform]:
    """Transforms packed in body[start:end]; `base` turns body positions into message offsets.

    This is the hot loop of the dissector (an initiator may offer dozens of transforms): a
    transform of the common shapes, no attribute or a lone Key Length, costs one table look-up;
    anything else, and every error text, goes through `_odd_transform`."""
    transforms: list[Transform] = []
    append = transforms.append
    unpack = TRANSFORM_HEAD.unpack_from
    unpack_word = WORD.unpack_from
    plain = _PLAIN_TRANSFORMS.get
    keyed = _KEYED_TRANSFORMS.get
    pos = start
    last = MORE_TRANSFORMS
    while pos < end:
        if pos + 8 > end:
            errors.append(f"{sa_where}: proposal {number}: transform at offset {base + pos} truncated "
                          f"({end - pos} of 8 header octets)")
            return transforms
        last, length, word = unpack(body, pos)
        if length == 8:
            transform = plain(word)
        elif length == 12 and pos + 12 <= end:
            transform = keyed((word << 32) | unpack_word(body, pos + 8)[0])
        else:
            transform = None
        if transform is None:
            transform, length = _odd_transform(body, pos, end, base, f"{sa_where}: proposal {number}",
                                               errors)
            if transform is None:
                return transforms
        append(transform)
        pos += length
        if last != MORE_TRANSFORMS:
            if last == LAST_TRANSFORM:
                break
            errors.append(f"{sa_where}: proposal {number}: transform at offset {base + pos - length} has "
                          f"last-substructure value {last}, expected 0 or 3")
    if last == MORE_TRANSFORMS and transforms:
        errors.append(f"{sa_where}: proposal {number}: the last transform announces another one but "
                      f"the proposal ends")
    elif pos < end:
        errors.append(f"{sa_where}: proposal {number}: {_octets(end - pos)} after the last transform")
    return transforms


def _odd_transform(body: memoryview, pos: int, end: int, base: int, where: str,
                   errors: list[str]) -> tuple[Transform | None, int]:
    """(transform, its length as read) for what the fast path does not know: unregistered IDs,
    other attributes, bad lengths. None when the transform cannot be read at all."""
    _, length, transform_type, transform_id = TRANSFORM.unpack_from(body, pos)
    where = f"{where}: transform at offset {base + pos}"
    if length < 8:
        errors.append(f"{where} has length {length}, below 8")
        return None, length
    if pos + length > end:
        errors.append(f"{where} length {length} runs past its proposal ({_octets(end - pos)} left)")
        length = end - pos
    key_length = None
    others = []
    for attribute in parse_attributes(body[pos + 8:pos + length], registry.TRANSFORM_ATTRIBUTES, errors,
                                      where):
        if attribute.type == registry.KEY_LENGTH_ATTRIBUTE and isinstance(attribute.value, int):
            key_length = attribute.value
        else:
            others.append(attribute)
    return _new_transform(transform_type, transform_id, key_length, tuple(others)), length


def _parse_sa(raw: RawPayload, name: str, errors: list[str]) -> Payload:
    payload = SecurityAssociation(raw.type, name, raw.offset, raw.length, bool(raw.flags & 0x80))
    proposals = payload.proposals
    body = raw.body
    size = len(body)
    base = raw.offset + 4
    where = f"{name} at offset {raw.offset}"  # one per SA payload; transforms build theirs lazily
    pos = 0
    last = MORE_PROPOSALS
    while pos < size:
        if pos + 8 > size:
            errors.append(f"{where}: proposal at offset {base + pos} truncated ({size - pos} of 8 "
                          f"header octets)")
            return payload
        last, length, number, protocol_id, spi_size, transform_count = PROPOSAL.unpack_from(body, pos)
        if length < 8 + spi_size:
            errors.append(f"{where}: proposal {number} at offset {base + pos} has length {length}, "
                          f"below its 8-octet header and {spi_size}-octet SPI")
            return payload
        end = pos + length
        if end > size:
            errors.append(f"{where}: proposal {number} at offset {base + pos} length {length} runs "
                          f"past the payload ({_octets(size - pos)} left)")
            end = size
        spi_end = min(pos + 8 + spi_size, end)
        protocol_name = registry.PROTOCOL_IDS.get(protocol_id)
        transforms = _parse_transforms(body, spi_end, end, base, where, number, errors)
        proposal = Proposal(number, protocol_id,
                            protocol_name if protocol_name is not None else f"UNKNOWN_{protocol_id}",
                            bytes(body[pos + 8:spi_end]), transforms, base + pos, length)
        if len(transforms) != transform_count:
            errors.append(f"{where}: proposal {number} at offset {proposal.offset} announces "
                          f"{transform_count} transforms, {len(transforms)} read")
        proposals.append(proposal)
        pos = end
        if last == LAST_PROPOSAL:
            break
        if last != MORE_PROPOSALS:
            errors.append(f"{where}: proposal {number} at offset {proposal.offset} has "
                          f"last-substructure value {last}, expected 0 or 2")
    if not proposals:
        errors.append(f"{where}: no proposal")
    elif last == MORE_PROPOSALS:
        errors.append(f"{where}: proposal {proposals[-1].number} announces another proposal "
                      f"but the payload ends")
    elif pos < size:
        errors.append(f"{where}: {_octets(size - pos)} after the last proposal")
    return payload


_PROPOSAL_TEXT_ORDER = (1, 3, 2, 4, 6, 7, 8, 9, 10, 11, 12, 5, 13, 14)


def _transform_text(transform: Transform) -> str:
    name = transform.name
    if transform.transform_type == 1:
        name = name.removeprefix("ENCR_")
        if transform.key_length is not None:
            name = f"{name}-{transform.key_length}"
    elif transform.transform_type == 3:
        name = name.removeprefix("AUTH_")
    elif 6 <= transform.transform_type <= 12:
        name = f"{transform.type_name}={name}"
    return name


def proposal_text(proposal: Proposal) -> str:
    """Compact text of a proposal, e.g. 'AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048'.

    Transform types appear in the order cipher, integrity, PRF, key exchange, additional key
    exchanges, sequence numbers; several transforms of one type (alternatives) are joined by '|'."""
    by_type: dict[int, list[str]] = {}
    for transform in proposal.transforms:
        by_type.setdefault(transform.transform_type, []).append(_transform_text(transform))
    parts = [("|".join(by_type.pop(kind))) for kind in _PROPOSAL_TEXT_ORDER if kind in by_type]
    parts.extend("|".join(names) for _, names in sorted(by_type.items()))
    return "/".join(parts)


# --- KE, ID, CERT, CERTREQ, AUTH, Nonce -----------------------------------------------------------

def _parse_ke(raw: RawPayload, name: str, errors: list[str]) -> Payload:
    body = raw.body
    if len(body) < 4:
        _short_body(raw, name, len(body), "group and reserved fields", errors)
        return KeyExchange(raw.type, name, raw.offset, raw.length, bool(raw.flags & 0x80))
    group = (body[0] << 8) | body[1]
    data = bytes(body[4:])
    if not data:
        errors.append(f"{_label(raw, name)}: no key exchange data")
    return KeyExchange(raw.type, name, raw.offset, raw.length, bool(raw.flags & 0x80), group,
                       _name(registry.KEY_EXCHANGE_METHODS, group), len(data), data)


def _identity_value(id_type: int, data: bytes, payload: Payload, errors: list[str]) -> str:
    if id_type == 1 or id_type == 5:
        expected = 4 if id_type == 1 else 16
        if len(data) != expected:
            errors.append(f"{_at(payload)}: {registry.ID_TYPES[id_type]} data has {_octets(len(data))}, "
                          f"expected {expected}")
            return data.hex()
        return _address(data)
    if id_type == 2 or id_type == 3:
        return _text(data)
    if id_type == 9:
        return dn_text(data) or data.hex()
    return data.hex()


def _parse_id(raw: RawPayload, name: str, errors: list[str]) -> Payload:
    payload = Identification(raw.type, name, raw.offset, raw.length, bool(raw.flags & 0x80))
    body = raw.body
    if len(body) < 4:
        _short_body(raw, name, len(body), "ID type and reserved fields", errors)
        if body:
            payload.id_type = body[0]
            payload.id_type_name = _name(registry.ID_TYPES, body[0])
        return payload
    id_type = body[0]
    payload.id_type = id_type
    payload.id_type_name = _name(registry.ID_TYPES, id_type)
    payload.data = bytes(body[4:])
    payload.value = _identity_value(id_type, payload.data, payload, errors)
    return payload


def _parse_cert(raw: RawPayload, name: str, errors: list[str]) -> Payload:
    payload = Certificate(raw.type, name, raw.offset, raw.length, bool(raw.flags & 0x80))
    body = raw.body
    if not body:
        errors.append(f"{_label(raw, name)}: no certificate encoding field")
        return payload
    payload.encoding = body[0]
    payload.encoding_name = _name(registry.CERTIFICATE_ENCODINGS, body[0])
    payload.data = bytes(body[1:])
    return payload


def _parse_certreq(raw: RawPayload, name: str, errors: list[str]) -> Payload:
    payload = CertificateRequest(raw.type, name, raw.offset, raw.length, bool(raw.flags & 0x80))
    body = raw.body
    if not body:
        errors.append(f"{_label(raw, name)}: no certificate encoding field")
        return payload
    payload.encoding = body[0]
    payload.encoding_name = _name(registry.CERTIFICATE_ENCODINGS, body[0])
    data = bytes(body[1:])
    payload.data = data
    if payload.encoding in (4, 12) and data:
        if len(data) % 20:
            errors.append(f"{_label(raw, name)}: {_octets(len(data))} of certification authority "
                          f"hashes, not a multiple of 20")
        payload.authorities = [data[i:i + 20].hex() for i in range(0, len(data) - len(data) % 20, 20)]
    return payload


def _parse_auth(raw: RawPayload, name: str, errors: list[str]) -> Payload:
    payload = Authentication(raw.type, name, raw.offset, raw.length, bool(raw.flags & 0x80))
    body = raw.body
    if len(body) < 4:
        _short_body(raw, name, len(body), "method and reserved fields", errors)
        return payload
    method = body[0]
    payload.method = method
    payload.method_name = _name(registry.AUTH_METHODS, method)
    data = bytes(body[4:])
    payload.data = data
    if method == registry.DIGITAL_SIGNATURE_AUTH_METHOD:
        if not data:
            errors.append(f"{_label(raw, name)}: digital signature without its ASN.1 length octet")
        else:
            length = data[0]
            payload.signature_algorithm_length = length
            if 1 + length > len(data):
                errors.append(f"{_label(raw, name)}: AlgorithmIdentifier length {length} runs past the "
                              f"authentication data ({_octets(len(data) - 1)})")
            else:
                payload.signature_algorithm = _algorithm_identifier_name(data[1:1 + length])
    return payload


def _parse_nonce(raw: RawPayload, name: str, errors: list[str]) -> Payload:
    data = bytes(raw.body)
    if not 16 <= len(data) <= 256:
        errors.append(f"{_label(raw, name)}: nonce of {_octets(len(data))}, outside the 16..256 that "
                      f"RFC 7296 §3.9 allows")
    return Nonce(raw.type, name, raw.offset, raw.length, bool(raw.flags & 0x80), len(data), data)


# --- Notify ---------------------------------------------------------------------------------------

NotifyDecoder = Callable[[Notify, list[str]], None]
"""Fills `Notify.decoded` from the notification data; records what is wrong in the errors."""


def _where(notify: Notify) -> str:
    return f"N({notify.notify_name}) at offset {notify.offset}"


def _want(notify: Notify, size: int, errors: list[str], at_least: bool = False) -> bool:
    """Check the notification data length; record an error and answer False when it is wrong."""
    have = len(notify.data)
    if have == size or (at_least and have >= size):
        return True
    wanted = f"at least {size}" if at_least else str(size)
    errors.append(f"{_where(notify)}: notification data has {_octets(have)}, expected {wanted}")
    return False


def _decode_invalid_ke(notify: Notify, errors: list[str]) -> None:
    if _want(notify, 2, errors):
        group = int.from_bytes(notify.data, "big")
        notify.decoded["group"] = group
        notify.decoded["group_name"] = _name(registry.KEY_EXCHANGE_METHODS, group)


def _decode_cookie(notify: Notify, errors: list[str]) -> None:
    size = len(notify.data)
    if not 1 <= size <= 64:
        errors.append(f"{_where(notify)}: cookie of {_octets(size)}, outside the 1..64 of RFC 7296 §2.6")
    notify.decoded["cookie"] = notify.data.hex()
    notify.decoded["cookie_length"] = size


def _decode_nat_detection(notify: Notify, errors: list[str]) -> None:
    if _want(notify, 20, errors):
        notify.decoded["hash"] = notify.data.hex()


def _decode_rekey_sa(notify: Notify, errors: list[str]) -> None:
    if not notify.spi:
        errors.append(f"{_where(notify)}: REKEY_SA without the SPI of the SA being rekeyed")
        return
    notify.decoded["spi"] = notify.spi.hex()
    notify.decoded["protocol"] = _name(registry.PROTOCOL_IDS, notify.protocol_id)


def _decode_signature_hashes(notify: Notify, errors: list[str]) -> None:
    data = notify.data
    if len(data) % 2:
        errors.append(f"{_where(notify)}: odd length {len(data)} for a list of 2-octet hash algorithm ids")
    numbers = [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data) - 1, 2)]
    notify.decoded["hash_algorithm_ids"] = numbers
    notify.decoded["hash_algorithms"] = [_name(registry.HASH_ALGORITHMS, n) for n in numbers]


_GATEWAY_ADDRESS_SIZES = {1: 4, 2: 16}  # RFC 5685 gateway identity types IPV4, IPV6


def _decode_gateway(notify: Notify, errors: list[str], with_nonce: bool) -> None:
    """REDIRECT / REDIRECTED_FROM (RFC 5685 §8): gateway identity type, length, identity[, nonce]."""
    data = notify.data
    if not _want(notify, 2, errors, at_least=True):
        return
    gateway_type, size = data[0], data[1]
    notify.decoded["gateway_type"] = gateway_type
    notify.decoded["gateway_type_name"] = _name(registry.GATEWAY_IDENTITY_TYPES, gateway_type)
    identity = data[2:2 + size]
    if len(identity) < size:
        errors.append(f"{_where(notify)}: gateway identity length {size} runs past the notification data "
                      f"({_octets(len(identity))} left)")
    expected = _GATEWAY_ADDRESS_SIZES.get(gateway_type)
    if expected is not None and len(identity) != expected:
        errors.append(f"{_where(notify)}: gateway identity of type {gateway_type} has "
                      f"{_octets(len(identity))}, expected {expected}")
        notify.decoded["gateway"] = identity.hex()
    elif expected is not None:
        notify.decoded["gateway"] = _address(identity)
    elif gateway_type == 3:
        notify.decoded["gateway"] = _text(identity)
    else:
        notify.decoded["gateway"] = identity.hex()
    rest = data[2 + size:]
    if with_nonce:
        if rest:
            notify.decoded["nonce"] = rest.hex()
    elif rest:
        errors.append(f"{_where(notify)}: {_octets(len(rest))} after the gateway identity")


def _decode_redirect(notify: Notify, errors: list[str]) -> None:
    _decode_gateway(notify, errors, with_nonce=True)


def _decode_redirected_from(notify: Notify, errors: list[str]) -> None:
    _decode_gateway(notify, errors, with_nonce=False)


def _decode_no_data(notify: Notify, errors: list[str]) -> None:
    if notify.data:
        errors.append(f"{_where(notify)}: {_octets(len(notify.data))} of notification data where none "
                      f"is defined")


def _decode_fragmentation_supported(notify: Notify, errors: list[str]) -> None:
    _decode_no_data(notify, errors)
    notify.decoded["fragmentation_supported"] = True


def _decode_uint32(key: str) -> NotifyDecoder:
    def decode(notify: Notify, errors: list[str]) -> None:
        if _want(notify, 4, errors):
            notify.decoded[key] = int.from_bytes(notify.data, "big")
    return decode


def _decode_address(size: int) -> NotifyDecoder:
    def decode(notify: Notify, errors: list[str]) -> None:
        if _want(notify, size, errors):
            notify.decoded["address"] = _address(notify.data)
    return decode


def _decode_ipcomp(notify: Notify, errors: list[str]) -> None:
    if _want(notify, 3, errors):
        notify.decoded["cpi"] = int.from_bytes(notify.data[:2], "big")
        notify.decoded["transform_id"] = notify.data[2]


def _decode_spi_data(notify: Notify, errors: list[str]) -> None:
    if notify.data:
        notify.decoded["spi"] = notify.data.hex()


def _decode_ppk_identity(notify: Notify, errors: list[str]) -> None:
    if _want(notify, 1, errors, at_least=True):
        notify.decoded["ppk_id_type"] = notify.data[0]
        notify.decoded["ppk_id"] = notify.data[1:].hex()


_NOTIFY_DECODERS: dict[int, NotifyDecoder] = {
    11: _decode_spi_data,                       # INVALID_SPI: the SPI that was not recognised
    17: _decode_invalid_ke,                     # INVALID_KE_PAYLOAD: the accepted group
    16385: _decode_uint32("window_size"),       # SET_WINDOW_SIZE
    16387: _decode_ipcomp,                      # IPCOMP_SUPPORTED
    16388: _decode_nat_detection,               # NAT_DETECTION_SOURCE_IP
    16389: _decode_nat_detection,               # NAT_DETECTION_DESTINATION_IP
    16390: _decode_cookie,                      # COOKIE
    16393: _decode_rekey_sa,                    # REKEY_SA
    16397: _decode_address(4),                  # ADDITIONAL_IP4_ADDRESS
    16398: _decode_address(16),                 # ADDITIONAL_IP6_ADDRESS
    16403: _decode_uint32("lifetime_seconds"),  # AUTH_LIFETIME
    16406: _decode_no_data,                     # REDIRECT_SUPPORTED
    16407: _decode_redirect,                    # REDIRECT
    16408: _decode_redirected_from,             # REDIRECTED_FROM
    16430: _decode_fragmentation_supported,     # IKEV2_FRAGMENTATION_SUPPORTED
    16431: _decode_signature_hashes,            # SIGNATURE_HASH_ALGORITHMS
    16436: _decode_ppk_identity,                # PPK_IDENTITY
}


def _parse_notify(raw: RawPayload, name: str, errors: list[str]) -> Payload:
    body = raw.body
    size = len(body)
    if size < 4:
        _short_body(raw, name, size, "protocol, SPI size and notify type", errors)
        return Notify(raw.type, name, raw.offset, raw.length, bool(raw.flags & 0x80))
    protocol_id, spi_size, notify_type = BYTE_BYTE_SHORT.unpack_from(body)
    notify_name = registry.NOTIFY_TYPES.get(notify_type)
    if notify_name is None:
        notify_name = f"UNKNOWN_{notify_type}"
    if spi_size:
        spi = bytes(body[4:4 + spi_size])
        data = bytes(body[4 + spi_size:])
    else:
        spi = b""
        data = bytes(body[4:]) if size > 4 else b""
    payload = Notify(raw.type, name, raw.offset, raw.length, bool(raw.flags & 0x80), protocol_id, spi,
                     notify_type, notify_name, data)
    if 4 + spi_size > size:
        errors.append(f"{_where(payload)}: SPI size {spi_size} runs past the payload ({_octets(size - 4)} "
                      f"left)")
        return payload
    decoder = _NOTIFY_DECODERS.get(notify_type)
    if decoder is not None:
        decoder(payload, errors)
    return payload


# --- Delete, Vendor ID ----------------------------------------------------------------------------

def _parse_delete(raw: RawPayload, name: str, errors: list[str]) -> Payload:
    payload = Delete(raw.type, name, raw.offset, raw.length, bool(raw.flags & 0x80))
    body = raw.body
    if len(body) < 4:
        _short_body(raw, name, len(body), "protocol, SPI size and SPI count", errors)
        return payload
    protocol_id, spi_size, count = BYTE_BYTE_SHORT.unpack_from(body)
    payload.protocol_id = protocol_id
    payload.protocol_name = _name(registry.PROTOCOL_IDS, protocol_id)
    payload.spi_size = spi_size
    payload.spi_count = count
    spis = body[4:]
    if spi_size * count != len(spis):
        errors.append(f"{_label(raw, name)}: {count} SPIs of {_octets(spi_size)} announced, "
                      f"{_octets(len(spis))} present")
    if spi_size:
        whole = min(count, len(spis) // spi_size)
        payload.spis = [bytes(spis[i * spi_size:(i + 1) * spi_size]) for i in range(whole)]
    return payload


def _parse_vendor_id(raw: RawPayload, name: str, errors: list[str]) -> Payload:
    data = bytes(raw.body)
    payload = VendorID(raw.type, name, raw.offset, raw.length, bool(raw.flags & 0x80), data)
    match = identify_vendor(data)
    if match is not None:
        payload.vendor = match.name
        payload.vendor_version = match.version
    return payload


# --- TSi / TSr ------------------------------------------------------------------------------------

def _range_text(start: int, end: int, bits: int, start_text: str, end_text: str) -> str:
    """'a/len' when start..end is one CIDR block (a single address is a /32 or /128), 'a-b' otherwise."""
    span = start ^ end
    if start <= end and start & span == 0 and end & span == span and (span + 1) & span == 0:
        return f"{start_text}/{bits - span.bit_length()}"
    return f"{start_text}-{end_text}"


def _ports_text(protocol: int, start_port: int, end_port: int) -> str:
    if protocol == 0 and start_port == 0 and end_port == 65535:
        return ""
    proto = registry.IP_PROTOCOLS.get(protocol) or str(protocol)
    if start_port == 0 and end_port == 65535:
        return f"[{proto}]"
    if start_port == 65535 and end_port == 0:
        return f"[{proto}/OPAQUE]"
    if start_port == end_port:
        return f"[{proto}/{start_port}]"
    return f"[{proto}/{start_port}-{end_port}]"


def _parse_ts(raw: RawPayload, name: str, errors: list[str]) -> Payload:
    payload = TrafficSelectors(raw.type, name, raw.offset, raw.length, bool(raw.flags & 0x80))
    body = raw.body
    if len(body) < 4:
        _short_body(raw, name, len(body), "selector count and reserved fields", errors)
        return payload
    count = body[0]
    base = raw.offset + 4
    pos = 4
    size = len(body)
    while pos < size:
        if pos + 4 > size:
            errors.append(f"{_label(raw, name)}: traffic selector at offset {base + pos} truncated "
                          f"({size - pos} of 4 header octets)")
            break
        ts_type, protocol, length = BYTE_BYTE_SHORT.unpack_from(body, pos)
        type_name = _name(registry.TS_TYPES, ts_type)
        if length < 4 or pos + length > size:
            errors.append(f"{_label(raw, name)}: {type_name} at offset {base + pos} has length {length} "
                          f"({_octets(size - pos)} left)")
            break
        address_size = 4 if ts_type == 7 else 16 if ts_type == 8 else 0
        if address_size:
            if length != 8 + 2 * address_size:
                errors.append(f"{_label(raw, name)}: {type_name} at offset {base + pos} has length {length}, "
                              f"expected {8 + 2 * address_size}")
            else:
                start_port, end_port = TWO_SHORTS.unpack_from(body, pos + 4)
                first = bytes(body[pos + 8:pos + 8 + address_size])
                last = bytes(body[pos + 8 + address_size:pos + 8 + 2 * address_size])
                start_text, end_text = _address(first), _address(last)
                text = _range_text(int.from_bytes(first, "big"), int.from_bytes(last, "big"),
                                   address_size * 8, start_text, end_text)
                payload.selectors.append(TrafficSelector(
                    ts_type, type_name, protocol, start_port, end_port, start_text, end_text,
                    text + _ports_text(protocol, start_port, end_port), offset=base + pos))
        elif ts_type == 10:
            label = bytes(body[pos + 4:pos + length])
            readable = label.rstrip(b"\x00").decode("utf-8", "replace")
            payload.selectors.append(TrafficSelector(
                ts_type, type_name, 0, 0, 0, "", "", f"label {readable}", label, offset=base + pos))
        else:
            data = bytes(body[pos + 4:pos + length])
            payload.selectors.append(TrafficSelector(
                ts_type, type_name, protocol, 0, 0, "", "", f"{type_name} {data.hex()}",
                offset=base + pos))
        pos += length
    if len(payload.selectors) != count:
        errors.append(f"{_label(raw, name)}: announces {count} traffic selectors, "
                      f"{len(payload.selectors)} read")
    return payload


# --- SK, SKF --------------------------------------------------------------------------------------

def _inner_name(payload_type: int) -> str:
    """Name of the first payload inside SK/SKF: NONE (0) when the plaintext carries no payload
    (an empty INFORMATIONAL, i.e. a liveness check) or, in SKF, in every fragment but the first."""
    return "NONE" if payload_type == 0 else _name(registry.PAYLOAD_NAMES, payload_type)


def _parse_encrypted(raw: RawPayload, name: str, errors: list[str]) -> Payload:
    return Encrypted(raw.type, name, raw.offset, raw.length, bool(raw.flags & 0x80), raw.next_type,
                     _inner_name(raw.next_type), bytes(raw.body))


def _parse_encrypted_fragment(raw: RawPayload, name: str, errors: list[str]) -> Payload:
    payload = EncryptedFragment(raw.type, name, raw.offset, raw.length, bool(raw.flags & 0x80),
                                raw.next_type, _inner_name(raw.next_type))
    body = raw.body
    if len(body) < 4:
        _short_body(raw, name, len(body), "fragment number and total", errors)
        return payload
    number, total = TWO_SHORTS.unpack_from(body)
    payload.fragment_number = number
    payload.total_fragments = total
    payload.data = bytes(body[4:])
    if number == 0 or number > total:
        errors.append(f"{_label(raw, name)}: fragment number {number} outside 1..{total}")
    if number > 1 and raw.next_type != 0:
        errors.append(f"{_label(raw, name)}: fragment {number} names an inner first payload "
                      f"({raw.next_type}); only fragment 1 may")
    return payload


# Octets of IV and ICV of the SK payload per cipher (RFC 7296 §3.14 and the cipher RFCs):
# encryption transform ID -> (IV size, ICV size for AEAD ciphers or None when INTEG supplies it).
_CIPHER_LAYOUT: dict[int, tuple[int, int | None]] = {
    1: (8, None), 2: (8, None), 3: (8, None), 4: (8, None), 5: (8, None), 6: (8, None),
    7: (8, None), 8: (8, None), 9: (4, None), 11: (0, None),
    12: (16, None),                     # AES-CBC, RFC 3602
    13: (8, None),                      # AES-CTR, RFC 5930
    14: (8, 8), 15: (8, 12), 16: (8, 16),   # AES-CCM, RFC 5282
    18: (8, 8), 19: (8, 12), 20: (8, 16),   # AES-GCM, RFC 5282
    21: (8, 16),                        # NULL_AUTH_AES_GMAC, RFC 4543
    23: (16, None), 24: (8, None),      # Camellia CBC / CTR, RFC 5529
    25: (8, 8), 26: (8, 12), 27: (8, 16),   # Camellia-CCM, RFC 5529
    28: (8, 16),                        # ChaCha20-Poly1305, RFC 7634
    29: (0, 8), 30: (0, 16), 31: (0, 16),   # implicit IV, RFC 8750 (ESP only)
}

# Integrity transform ID -> ICV octets (the truncated MAC length).
_INTEGRITY_ICV: dict[int, int] = {
    0: 0, 1: 12, 2: 12, 3: 8, 4: 16, 5: 12, 6: 16, 7: 20, 8: 12, 9: 16, 10: 16, 11: 16,
    12: 16, 13: 24, 14: 32,
}


def sk_layout(encr_id: int, key_bits: int | None, integ_id: int | None) -> tuple[int, int]:
    """(IV size, ICV size) in octets of an SK/SKF payload protected with the given transforms.

    `key_bits` (the Key Length attribute) does not change either size for any registered cipher;
    it is accepted so callers can pass the negotiated transform as is. `integ_id` is ignored for
    combined-mode (AEAD) ciphers and may be None (or 0, NONE) for them.
    Raises ValueError for a cipher or integrity algorithm whose layout is not known: a caller must
    not guess where the ciphertext ends."""
    layout = _CIPHER_LAYOUT.get(encr_id)
    if layout is None:
        raise ValueError(f"IV size of {_name(registry.ENCRYPTION_ALGORITHMS, encr_id)} is not known")
    iv_size, aead_icv = layout
    if aead_icv is not None:
        return iv_size, aead_icv
    icv = _INTEGRITY_ICV.get(integ_id if integ_id is not None else 0)
    if icv is None:
        raise ValueError(f"ICV size of {_name(registry.INTEGRITY_ALGORITHMS, integ_id or 0)} is not known")
    return iv_size, icv


# --- CP, EAP, GSPM --------------------------------------------------------------------------------

def _cp_ip4_with_mask(data: bytes) -> str:
    return f"{_ipv4(data)}/{_ipv4(data[4:])}" if len(data) == 8 else data.hex()


def _cp_ip6_with_prefix(data: bytes) -> str:
    return f"{_ipv6(data[:16])}/{data[16]}" if len(data) == 17 else _address(data)


def _cp_supported(data: bytes) -> str:
    numbers = [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data) - 1, 2)]
    return ",".join(_name(registry.CONFIG_ATTRIBUTES, n & 0x7FFF) for n in numbers)


def _cp_number(data: bytes) -> str:
    return str(int.from_bytes(data, "big"))


_CP_VALUE: dict[int, Callable[[bytes], str]] = {
    1: _address, 2: _address, 3: _address, 4: _address, 6: _address, 20: _address,
    5: _cp_number, 24: _cp_number,
    7: _text, 25: _text,
    8: _cp_ip6_with_prefix, 15: _cp_ip6_with_prefix, 18: _cp_ip6_with_prefix,
    9: _address, 10: _address, 11: _address, 12: _address, 19: _address, 21: _address,
    13: _cp_ip4_with_mask,
    14: _cp_supported,
}


def _parse_cp(raw: RawPayload, name: str, errors: list[str]) -> Payload:
    payload = Configuration(raw.type, name, raw.offset, raw.length, bool(raw.flags & 0x80))
    body = raw.body
    if len(body) < 4:
        _short_body(raw, name, len(body), "CFG type and reserved fields", errors)
        return payload
    payload.cfg_type = body[0]
    payload.cfg_type_name = _name(registry.CP_TYPES, body[0])
    pos = 4
    size = len(body)
    base = raw.offset + 4
    while pos < size:
        if pos + 4 > size:
            errors.append(f"{_label(raw, name)}: {size - pos} stray octets after the last attribute")
            break
        type_field, length = TWO_SHORTS.unpack_from(body, pos)
        attribute_type = type_field & 0x7FFF
        attribute_name = _name(registry.CONFIG_ATTRIBUTES, attribute_type)
        if pos + 4 + length > size:
            errors.append(f"{_label(raw, name)}: attribute {attribute_name} at offset {base + pos} "
                          f"length {length} "
                          f"runs past the payload ({_octets(size - pos - 4)} left)")
            break
        data = bytes(body[pos + 4:pos + 4 + length])
        formatter = _CP_VALUE.get(attribute_type)
        value = "" if not data else formatter(data) if formatter is not None else data.hex()
        payload.attributes.append(ConfigurationAttribute(attribute_type, attribute_name, length, value,
                                                         data))
        pos += 4 + length
    return payload


def _parse_eap(raw: RawPayload, name: str, errors: list[str]) -> Payload:
    payload = ExtensibleAuthentication(raw.type, name, raw.offset, raw.length, bool(raw.flags & 0x80))
    body = raw.body
    if len(body) < 4:
        errors.append(f"{_label(raw, name)}: body has {_octets(len(body))}, below the 4-octet EAP header")
        return payload
    code, identifier, length = BYTE_BYTE_SHORT.unpack_from(body)
    payload.code = code
    payload.code_name = _name(registry.EAP_CODES, code)
    payload.identifier = identifier
    payload.eap_length = length
    if length != len(body):
        errors.append(f"{_label(raw, name)}: EAP length {length} differs from the {_octets(len(body))} "
                      f"of the payload")
    if code in (1, 2) and len(body) > 4:
        payload.eap_type = body[4]
        payload.eap_type_name = _name(registry.EAP_TYPES, body[4])
        payload.data = bytes(body[5:])
    else:
        payload.data = bytes(body[4:])
    return payload


def _parse_gspm(raw: RawPayload, name: str, errors: list[str]) -> Payload:
    return GenericSecurePasswordMethod(raw.type, name, raw.offset, raw.length, bool(raw.flags & 0x80),
                                       bytes(raw.body))


# --- dispatch -------------------------------------------------------------------------------------

BodyParser = Callable[[RawPayload, str, list[str]], Payload]

_BODY_PARSERS: dict[int, BodyParser] = {
    33: _parse_sa,
    34: _parse_ke,
    35: _parse_id,
    36: _parse_id,
    37: _parse_cert,
    38: _parse_certreq,
    39: _parse_auth,
    40: _parse_nonce,
    41: _parse_notify,
    42: _parse_delete,
    43: _parse_vendor_id,
    44: _parse_ts,
    45: _parse_ts,
    46: _parse_encrypted,
    47: _parse_cp,
    48: _parse_eap,
    49: _parse_gspm,
    50: _parse_id,      # IDg, RFC 9838: laid out as IDi/IDr
    53: _parse_encrypted_fragment,
}


def parse_payloads(buf: memoryview, first_type: int, start: int, end: int,
                   errors: list[str], memo: PayloadMemo | None = None) -> list[Payload]:
    """The payload chain in buf[start:end], beginning with a payload of type `first_type`.

    Used for a whole message by `parse` and, by a caller holding keys, for the plaintext of an SK
    payload (then offsets count from the start of `buf`). An SK or SKF payload ends the chain."""
    payloads: list[Payload] = []
    parsers = _BODY_PARSERS
    names = registry.PAYLOAD_NAMES
    for raw in walk_payloads(buf, first_type, start, end, errors, names):
        payload_type = raw.type
        name = names.get(payload_type)
        if name is None:
            name = f"UNKNOWN_{payload_type}"
        parser = parsers.get(payload_type)
        if parser is None:
            payloads.append(OpaquePayload(payload_type, name, raw.offset, raw.length,
                                          bool(raw.flags & 0x80), bytes(raw.body)))
        elif memo is not None and payload_type in MEMO_TYPES:
            payloads.append(memo.parse(raw, errors, parser, raw, name, errors))
        else:
            payloads.append(parser(raw, name, errors))
        if payload_type == ENCRYPTED or payload_type == ENCRYPTED_FRAGMENT:
            after = raw.offset + raw.length
            if after < end:
                errors.append(f"{_octets(end - after)} after the {name} payload at offset {raw.offset}, "
                              f"which must be the last")
            break
    return payloads


def parse(buf: memoryview, header: Header, memo: PayloadMemo | None = None) -> Message:
    """Dissect one IKEv2 message. Malformations become `errors`; nothing raises."""
    errors: list[str] = []
    end = message_end(header, len(buf), errors)
    payloads = parse_payloads(buf, header.next_payload, ISAKMP_HEADER_LENGTH, end, errors, memo)
    exchange_name = registry.EXCHANGE_TYPES.get(header.exchange_type)
    if exchange_name is None:
        exchange_name = f"UNKNOWN_{header.exchange_type}"
    return Message(2, header, payloads, errors, exchange_name)


def payload_name(payload_type: int) -> str:
    """IKEv2 short name of a payload type (SA, KE, IDi, ...), `UNKNOWN_<n>` when unassigned."""
    return _name(registry.PAYLOAD_NAMES, payload_type)
