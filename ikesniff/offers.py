"""What each side offers in an SA payload, in one vocabulary for IKEv1 and IKEv2, and how two offers differ.

Theory of operation
-------------------
`offers_of(message)` reads the first SA payload of a dissected message (its clear payloads, or the
inner payloads of an SK/E payload once a caller holding keys has decrypted them) and turns every
proposal into an `Offer`: plain tuples of readable algorithm names. IKEv2 packs the alternatives of a
proposal as several transforms of one type (AES-CBC-128 *or* AES-CBC-256), so one IKEv2 proposal is
one Offer whose tuples may hold several names. IKEv1 packs each complete alternative as one transform
with attributes, so each IKEv1 transform becomes its own Offer (one name per tuple).

The names come from the IANA registries of `dissectors/` (`ikev1_registry`, `ikev2_registry`), made
readable (dashes, no ENCR_/AUTH_ prefix, key length appended) and made *the same* where IKEv1 and IKEv2
mean the same thing: an ESP offer of AES-CBC-128 with HMAC-SHA2-256-128 and PFS with MODP-2048 reads
'AES-CBC-128/HMAC-SHA2-256-128/MODP-2048' in both versions. IKEv1 phase 1 negotiates a hash function
(the PRF and the integrity of IKEv1 are HMACs built on it), so its integrity is the hash itself
('SHA2-256'), not an IKEv2 integrity transform. All tables are module-level data below.

`compare(a, b)` looks for a proposal of `a` and one of `b` that could agree (every attribute has a
common choice). When none can, it takes the pair closest to agreeing (fewest attributes apart, the
earliest such pair in offer order) and names what differs, with a code of SPEC §5:

* one attribute apart: encryption -> EncryptionAlgorithmMismatch; integrity and/or PRF ->
  AuthenticationAlgorithmMismatch (the cloud vendor's "authentication algorithm" setting of seeds 000/001
  drives both, and the catalog's remedy for that code names integrity and PRF); IKE DH group ->
  DhGroupMismatch; phase 2 DH group, present on one side only or different -> PfsMismatch ("the IPsec
  phase 2 DH group parameter does not match"); lifetime -> LifetimeMismatch; tunnel against transport ->
  EncapsulationModeMismatch; AH against ESP -> SecurityProtocolMismatch (reported alone: other attributes
  mean nothing across protocols); IKEv1 authentication method or ESN -> ProposalMismatch (not algorithms:
  Huawei's "phase1 proposal mismatch" lists the authentication method with the proposal parameters).
* several attributes, all cryptographic algorithms (encryption, integrity, PRF, DH/PFS group, additional
  key exchanges) -> AlgorithmMismatch: seeds 000/001 define it as "the encryption algorithm, authentication
  algorithm, or DH group parameter does not match", which is more specific than ProposalMismatch ("the
  proposal does not match"), and SPEC §5 wants the most specific code. Anything else mixed in (lifetime,
  mode, authentication method, ESN) -> ProposalMismatch. `code_for` holds this decision in one place.

Lifetimes are compared only where both sides state them (IKEv1); IKEv2 does not negotiate lifetimes,
so it never yields LifetimeMismatch. The first CHILD_SA, made inside IKE_AUTH, has no key exchange, so
PFS groups do not count there: pass such offers through `without_key_exchange`. Compare IKE offers of
one IKE version (another version is IkeVersionMismatch, not an SA difference); NegotiationModeMismatch
is not a property of SA payloads either and is left to the caller.

`weaknesses(offers)` names what RFC 8247 (IKEv2: encryption, PRF, integrity, DH groups) and RFC 8221
(ESP and AH) put at SHOULD NOT or MUST NOT, once per algorithm, with where it was offered. RFC 8247 is
written for IKEv2 only; IKEv1 phase 1 offers are judged by the same table and the detail says so.
Levels differ between the two: 3DES is MAY for IKEv2 (not reported) but SHOULD NOT for ESP; HMAC-SHA1
is MUST- in both (not reported). ESP with NULL encryption is reported as weak_cipher although RFC 8221
keeps it (no confidentiality is worth knowing), and ESP or AH without integrity where no AEAD cipher
provides it as weak_integrity (MUST NOT).

This module does no I/O, keeps no state and knows nothing of captures, the tracker, the cause catalog
or how findings are printed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from dissectors import ikev1, ikev2
from dissectors import ikev1_registry as v1
from dissectors import ikev2_registry as v2
from dissectors.model import Attribute, Message, Payload

__all__ = [
    "CODES",
    "KINDS",
    "Difference",
    "Offer",
    "Weakness",
    "agree",
    "code_for",
    "common",
    "compare",
    "offers_of",
    "offers_text",
    "weaknesses",
    "without_key_exchange",
]


def _readable(name: str, prefix: str = "") -> str:
    """A registry symbol as engineers write it: 'ENCR_AES_CBC' -> 'AES-CBC'."""
    return name.removeprefix(prefix).replace("_", "-")


# --------------------------------------------------------------------------------------------
# Names. Unknown numbers read '<WHAT>-<n>' (ENCR-99, INTEG-99, PRF-99, GROUP-99).
# --------------------------------------------------------------------------------------------

# Encryption, IKEv2 transform type 1 (IKE, ESP and AH proposals alike).
V2_ENCRYPTION: dict[int, str] = {
    number: _readable(name, "ENCR_") for number, name in v2.ENCRYPTION_ALGORITHMS.items()
}
# Encryption, IKEv1 phase 1 (Oakley ENCRYPTION_ALGORITHM): the registry's short names already read
# as the IKEv2 ones do (DES, 3DES, AES-CBC, CAMELLIA-CBC, ...).
V1_IKE_ENCRYPTION: dict[int, str] = dict(v1.OAKLEY_ENCRYPTION_SHORT)
# Encryption, IKEv1 ESP transform IDs (RFC 2407 §4.4.4): 'ESP_3DES' -> '3DES'; the two whose IPsec DOI
# names leave the mode implicit get the IKEv2 spelling.
V1_ESP_ENCRYPTION: dict[int, str] = {
    number: _readable(name, "ESP_") for number, name in v1.ESP_TRANSFORM_IDS.items() if name != "RESERVED"
} | {12: "AES-CBC", 22: "CAMELLIA-CBC"}
# IPCOMP transform IDs (RFC 2407 §4.4.5): an IPCOMP proposal's "encryption" is its compression algorithm.
V1_IPCOMP_ALGORITHMS: dict[int, str] = {
    number: _readable(name, "IPCOMP_") for number, name in v1.IPCOMP_TRANSFORM_IDS.items() if name != "RESERVED"
}

# Integrity, IKEv2 transform type 3: 'AUTH_HMAC_SHA2_256_128' -> 'HMAC-SHA2-256-128'.
V2_INTEGRITY: dict[int, str] = {
    number: _readable(name, "AUTH_") for number, name in v2.INTEGRITY_ALGORITHMS.items()
}
# IKEv1 IPsec DOI AUTHENTICATION_ALGORITHM values (RFC 2407 §4.5, RFC 4868) -> the IKEv2 integrity
# transform of the same algorithm and truncation (HMAC-SHA1 in ESP is HMAC-SHA1-96, RFC 2404).
V1_AUTH_ALGORITHM_AS_V2: dict[int, int] = {1: 1, 2: 2, 3: 3, 4: 4, 5: 12, 6: 13, 7: 14, 9: 5, 11: 9, 12: 10, 13: 11}
V1_IPSEC_INTEGRITY: dict[int, str] = {
    number: V2_INTEGRITY[v2_number] for number, v2_number in V1_AUTH_ALGORITHM_AS_V2.items()
} | {8: "HMAC-RIPEMD-160-96", 10: "SIG-RSA"}  # RFC 2857; RFC 4359 (no IKEv2 counterpart)
# IKEv1 AH transform IDs (RFC 2407 §4.4.3) name the integrity algorithm when the attribute is missing.
V1_AH_TRANSFORM_AS_AUTH_ALGORITHM: dict[int, int] = {
    2: 1, 3: 2, 4: 3, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9, 10: 10, 11: 11, 12: 12, 13: 13,
}
# IKEv1 phase 1 HASH_ALGORITHM (RFC 2409 App. A, RFC 4868): the registry names (MD5, SHA1, SHA2-256, ...).
V1_HASH: dict[int, str] = dict(v1.OAKLEY_HASH_NAMES)

# PRF, IKEv2 transform type 2: 'PRF_HMAC_SHA2_256' -> 'PRF-HMAC-SHA2-256'.
V2_PRF: dict[int, str] = {number: _readable(name) for number, name in v2.PSEUDORANDOM_FUNCTIONS.items()}

# Diffie-Hellman groups / key exchange methods: one numbering for both versions (IKEv1 adds EC2N 3-13).
GROUPS: dict[int, str] = {
    number: _readable(name) for number, name in (v1.GROUP_NAMES | v2.KEY_EXCHANGE_METHODS).items()
}
GROUP_NUMBERS: dict[str, int] = {name: number for number, name in GROUPS.items()}

# Sequence numbers, IKEv2 transform type 5; IKEv1 ESP/AH say ESN with EXTENDED_SEQUENCE_NUMBER (RFC 4304).
V2_ESN: dict[int, str] = {number: _readable(name) for number, name in v2.SEQUENCE_NUMBERS.items()}
NO_ESN = "NO-ESN"
ESN = "ESN"
IPSEC_EXTENDED_SEQUENCE_NUMBER = 11  # the IPsec DOI attribute of RFC 4304 (value 1: 64-bit sequence numbers)

# IKEv1 phase 1 AUTHENTICATION_METHOD: registry names with the long words shortened
# ('XAUTH_INIT_PRESHARED' -> 'XAUTH-INIT-PSK', 'RSA_SIGNATURES' -> 'RSA-SIG').
_AUTH_METHOD_WORDS: dict[str, str] = {
    "PRE_SHARED_KEY": "PSK",
    "PRESHARED": "PSK",
    "SIGNATURES": "SIG",
    "REVISED": "REV",
    "ENCRYPTION": "ENC",
}


def _auth_method_name(name: str) -> str:
    for word, short in _AUTH_METHOD_WORDS.items():
        name = name.replace(word, short)
    return _readable(name)


V1_AUTH_METHODS: dict[int, str] = {
    number: _auth_method_name(name) for number, name in v1.OAKLEY_AUTH_METHOD_NAMES.items()
}

# IKEv1 ENCAPSULATION_MODE (RFC 2407 §4.5, RFC 3947 §5, draft-ietf-ipsec-nat-t-ike, Check Point).
V1_ENCAPSULATION: dict[int, str] = {
    1: "TUNNEL",
    2: "TRANSPORT",
    3: "UDP-TUNNEL (RFC 3947)",
    4: "UDP-TRANSPORT (RFC 3947)",
    61440: "UDP (Check Point)",
    61443: "UDP-TUNNEL (draft)",
    61444: "UDP-TRANSPORT (draft)",
}
# The mode an encapsulation stands for: UDP encapsulation is NAT traversal, not a different mode, so
# 'UDP-TUNNEL (RFC 3947)' and 'TUNNEL' agree and only tunnel against transport is a mode mismatch.
ENCAPSULATION_MODE: dict[str, str] = {
    "TUNNEL": "tunnel",
    "TRANSPORT": "transport",
    "UDP-TUNNEL (RFC 3947)": "tunnel",
    "UDP-TRANSPORT (RFC 3947)": "transport",
    "UDP-TUNNEL (draft)": "tunnel",
    "UDP-TRANSPORT (draft)": "transport",
    "UDP (Check Point)": "tunnel",
}

# Security protocols of both versions, as Offer.protocol names them.
V2_PROTOCOLS: dict[int, str] = {1: "IKE", 2: "AH", 3: "ESP"}
V1_PROTOCOLS: dict[int, str] = {
    v1.PROTOCOL_ISAKMP: "IKE",
    v1.PROTOCOL_IPSEC_AH: "AH",
    v1.PROTOCOL_IPSEC_ESP: "ESP",
    v1.PROTOCOL_IPCOMP: "IPCOMP",
}

# Ciphers that protect integrity themselves (AEAD, RFC 5282 / RFC 4106 / RFC 7634): no integrity
# transform goes with them. NULL-AUTH-AES-GMAC authenticates without encrypting.
AEAD_PREFIXES: tuple[str, ...] = ("AES-GCM", "AES-CCM", "CAMELLIA-CCM", "CHACHA20-POLY1305", "NULL-AUTH-AES-GMAC",
                                  "KUZNYECHIK-MGM", "MAGMA-MGM")

NONE = "NONE"


# --------------------------------------------------------------------------------------------
# Offers
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Offer:
    """One proposal of an SA payload, normalized across IKEv1 and IKEv2."""

    number: int
    """Proposal number as sent (IKEv1: of the proposal holding the transform)."""
    protocol: str
    """'IKE' (IKEv2 IKE, IKEv1 ISAKMP), 'ESP', 'AH', 'IPCOMP' (IKEv1 only) or 'UNKNOWN_<n>'."""
    encryption: tuple[str, ...]
    """Ciphers with their key length ('AES-CBC-256'), alternatives in the order offered. IPCOMP: the compression."""
    integrity: tuple[str, ...]
    """Integrity algorithms ('HMAC-SHA2-256-128'); IKEv1 phase 1: the hash algorithm ('SHA2-256')."""
    prf: tuple[str, ...]
    """IKEv2 pseudorandom functions ('PRF-HMAC-SHA2-256'); IKEv1 only if the rare PRF attribute is sent."""
    dh_groups: tuple[str, ...]
    """DH groups ('MODP-2048'); ESP/AH: the PFS groups, () or 'NONE' meaning no PFS."""
    auth_methods: tuple[str, ...]
    """IKEv1 phase 1: 'PSK', 'RSA-SIG', 'XAUTH-INIT-PSK', ...; otherwise ()."""
    lifetime_seconds: int | None
    """IKEv1 only (IKEv2 does not negotiate lifetimes)."""
    lifetime_kilobytes: int | None
    """IKEv1 only."""
    encapsulation: tuple[str, ...]
    """IKEv1 ESP/AH: 'TUNNEL', 'TRANSPORT', 'UDP-TUNNEL (RFC 3947)', 'UDP-TUNNEL (draft)', ...; IKEv2: ()."""
    esn: tuple[str, ...]
    """'ESN' / 'NO-ESN' for ESP and AH (IKEv1 without the attribute: 'NO-ESN'); () for IKE."""
    version: int = 0
    """IKE version of the message the offer came from (0 when built by hand)."""
    transform: int | None = None
    """IKEv1: the transform number within the proposal; IKEv2: None."""
    additional_key_exchanges: tuple[str, ...] = ()
    """IKEv2 RFC 9370 additional key exchanges, 'ADDKE1=ML-KEM-768' (several per type are alternatives)."""

    @property
    def text(self) -> str:
        """Compact and human: 'AES-CBC-256/HMAC-SHA2-256-128/PRF-HMAC-SHA2-256/MODP-2048'.

        Cipher, integrity (or hash), PRF, DH group(s), additional key exchanges, then (IKEv1)
        authentication method, encapsulation and lifetimes; alternatives joined by '|'. ESN shows only
        when offered; AH and other protocols but IKE and ESP are prefixed ('AH:HMAC-SHA1-96')."""
        return self.short_text(None)

    def short_text(self, alternatives: int | None = 3) -> str:
        """`text` with at most `alternatives` names per attribute, then how many more ('|+16')."""
        def joined(values: tuple[str, ...]) -> str:
            if alternatives is None or len(values) <= max(alternatives, 1):
                return "|".join(values)
            shown = max(alternatives, 1)
            return "|".join(values[:shown]) + f"|+{len(values) - shown}"
        parts = [joined(values) for values in (self.encryption, self.integrity, self.prf, self.dh_groups,
                                                self.additional_key_exchanges, self.auth_methods,
                                                self.encapsulation) if values]
        if self.esn and self.esn != (NO_ESN,):
            parts.append(joined(self.esn))
        parts.extend(_lifetime_parts(self.lifetime_seconds, self.lifetime_kilobytes))
        text = "/".join(parts) or "(no transforms)"
        return text if self.protocol in ("IKE", "ESP") else f"{self.protocol}:{text}"

    @property
    def where(self) -> str:
        """'proposal 2' (IKEv2) or 'proposal 1 transform 3' (IKEv1)."""
        if self.transform is None:
            return f"proposal {self.number}"
        return f"proposal {self.number} transform {self.transform}"


def _lifetime_parts(seconds: int | None, kilobytes: int | None) -> list[str]:
    parts = []
    if seconds is not None:
        parts.append(f"{seconds}s")
    if kilobytes is not None:
        parts.append(f"{kilobytes}KB")
    return parts


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _named(table: dict[int, str], number: int, what: str) -> str:
    name = table.get(number)
    return name if name is not None else f"{what}-{number}"


def offers_of(message: Message | Iterable[Payload]) -> list[Offer]:
    """Every proposal of the first SA payload among `message`'s payloads, as offers; [] if there is none.

    Pass a `Message` (its clear payloads) or the payloads decrypted from its SK / E payload. IKEv1:
    each transform is its own offer (the alternatives of IKEv1 are transforms), numbered by its proposal
    and transform; IKEv1 proposals sharing a number (an AND-bundle such as ESP with IPCOMP) come out as
    separate offers of that number. IKEv2: one offer per proposal."""
    payloads = message.payloads if isinstance(message, Message) else message
    for payload in payloads:
        if isinstance(payload, ikev2.SecurityAssociation):
            return [_v2_offer(proposal) for proposal in payload.proposals]
        if isinstance(payload, ikev1.SecurityAssociationPayload):
            return [_v1_offer(proposal, transform)
                    for proposal in payload.proposals for transform in proposal.transforms]
    return []


def _v2_offer(proposal: ikev2.Proposal) -> Offer:
    by_type: dict[int, list[str]] = {}
    additional: list[str] = []
    for transform in proposal.transforms:
        kind, number = transform.transform_type, transform.transform_id
        if kind == 1:
            name = _named(V2_ENCRYPTION, number, "ENCR")
            if transform.key_length is not None:
                name = f"{name}-{transform.key_length}"
        elif kind == 2:
            name = _named(V2_PRF, number, "PRF")
        elif kind == 3:
            name = _named(V2_INTEGRITY, number, "INTEG")
        elif kind == 4:
            name = _named(GROUPS, number, "GROUP")
        elif kind == 5:
            name = _named(V2_ESN, number, "ESN")
        elif 6 <= kind <= 12:
            additional.append(f"{transform.type_name}={_named(GROUPS, number, 'GROUP')}")
            continue
        else:
            continue  # RFC 9838 group key transforms: not part of a unicast negotiation
        by_type.setdefault(kind, []).append(name)
    protocol = V2_PROTOCOLS.get(proposal.protocol_id) or f"UNKNOWN_{proposal.protocol_id}"
    return Offer(
        number=proposal.number, protocol=protocol,
        encryption=_unique(by_type.get(1, ())), integrity=_unique(by_type.get(3, ())),
        prf=_unique(by_type.get(2, ())), dh_groups=_unique(by_type.get(4, ())), auth_methods=(),
        lifetime_seconds=None, lifetime_kilobytes=None, encapsulation=(),
        esn=_unique(by_type.get(5, ())), version=2, transform=None,
        additional_key_exchanges=_unique(additional))


def _int_attributes(attributes: Iterable[Attribute], life_type: int,
                    life_duration: int) -> tuple[dict[int, int], int | None, int | None]:
    """Integer attributes by type (first wins), and the lifetimes that LIFE_TYPE/LIFE_DURATION pairs state."""
    values: dict[int, int] = {}
    seconds: int | None = None
    kilobytes: int | None = None
    unit = 1  # RFC 2407 §4.5 / RFC 2409 App. A: a duration without a type is in seconds
    for attribute in attributes:
        value = attribute.value
        if isinstance(value, bytes):
            if attribute.type != life_duration or len(value) > 8:
                continue
            value = int.from_bytes(value, "big")
        if attribute.type == life_type:
            unit = value
        elif attribute.type == life_duration:  # a repeated pair does not override the first
            if unit == 1 and seconds is None:
                seconds = value
            elif unit == 2 and kilobytes is None:
                kilobytes = value
        else:
            values.setdefault(attribute.type, value)
    return values, seconds, kilobytes


def _v1_offer(proposal: ikev1.ProposalPayload, transform: ikev1.TransformPayload) -> Offer:
    protocol = V1_PROTOCOLS.get(proposal.protocol_id) or f"UNKNOWN_{proposal.protocol_id}"
    encryption: tuple[str, ...] = ()
    integrity: tuple[str, ...] = ()
    prf: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    auth_methods: tuple[str, ...] = ()
    encapsulation: tuple[str, ...] = ()
    esn: tuple[str, ...] = ()
    if proposal.protocol_id == v1.PROTOCOL_ISAKMP:
        values, seconds, kilobytes = _int_attributes(transform.attributes, v1.OAKLEY_LIFE_TYPE,
                                                     v1.OAKLEY_LIFE_DURATION)
        cipher = values.get(v1.OAKLEY_ENCRYPTION_ALGORITHM)
        if cipher is not None:
            encryption = (_with_key_length(_named(V1_IKE_ENCRYPTION, cipher, "ENCR"),
                                           values.get(v1.OAKLEY_KEY_LENGTH)),)
        hash_algorithm = values.get(v1.OAKLEY_HASH_ALGORITHM)
        if hash_algorithm is not None:
            integrity = (_named(V1_HASH, hash_algorithm, "HASH"),)
        if v1.OAKLEY_PRF in values:
            prf = (f"PRF-{values[v1.OAKLEY_PRF]}",)  # no value was ever registered
        group = values.get(v1.OAKLEY_GROUP_DESCRIPTION)
        if group is not None:
            groups = (_named(GROUPS, group, "GROUP"),)
        elif v1.OAKLEY_GROUP_TYPE in values:  # a private group sent with its parameters
            group_type = values[v1.OAKLEY_GROUP_TYPE]
            groups = ("CUSTOM-" + v1.OAKLEY_GROUP_TYPE_NAMES.get(group_type, str(group_type)),)
        method = values.get(v1.OAKLEY_AUTHENTICATION_METHOD)
        if method is not None:
            auth_methods = (_named(V1_AUTH_METHODS, method, "AUTH"),)
    else:
        values, seconds, kilobytes = _int_attributes(transform.attributes, v1.IPSEC_SA_LIFE_TYPE,
                                                     v1.IPSEC_SA_LIFE_DURATION)
        key_length = values.get(v1.IPSEC_KEY_LENGTH)
        authentication = values.get(v1.IPSEC_AUTHENTICATION_ALGORITHM)
        if proposal.protocol_id == v1.PROTOCOL_IPSEC_ESP:
            encryption = (_with_key_length(_named(V1_ESP_ENCRYPTION, transform.transform_id, "ENCR"),
                                           key_length),)
        elif proposal.protocol_id == v1.PROTOCOL_IPSEC_AH and authentication is None:
            authentication = V1_AH_TRANSFORM_AS_AUTH_ALGORITHM.get(transform.transform_id)
        elif proposal.protocol_id == v1.PROTOCOL_IPCOMP:
            encryption = (_named(V1_IPCOMP_ALGORITHMS, transform.transform_id, "IPCOMP"),)
        elif proposal.protocol_id not in V1_PROTOCOLS:
            encryption = (f"TRANSFORM-{transform.transform_id}",)
        if authentication is not None:
            integrity = (_named(V1_IPSEC_INTEGRITY, authentication, "INTEG"),)
        group = values.get(v1.IPSEC_GROUP_DESCRIPTION)
        if group is not None:
            groups = (_named(GROUPS, group, "GROUP"),)
        mode = values.get(v1.IPSEC_ENCAPSULATION_MODE)
        if mode is not None:
            encapsulation = (V1_ENCAPSULATION.get(mode) or f"MODE-{mode}",)
        if proposal.protocol_id in (v1.PROTOCOL_IPSEC_ESP, v1.PROTOCOL_IPSEC_AH):
            esn = (ESN,) if values.get(IPSEC_EXTENDED_SEQUENCE_NUMBER) == 1 else (NO_ESN,)
    return Offer(
        number=proposal.number, protocol=protocol, encryption=encryption, integrity=integrity, prf=prf,
        dh_groups=groups, auth_methods=auth_methods, lifetime_seconds=seconds, lifetime_kilobytes=kilobytes,
        encapsulation=encapsulation, esn=esn, version=1, transform=transform.number)


def _with_key_length(name: str, key_length: int | None) -> str:
    return f"{name}-{key_length}" if key_length else name


def offers_text(offers: Sequence[Offer], limit: int = 3, *, alternatives: int | None = None) -> str:
    """The offers' texts, duplicates dropped, at most `limit` of them, then how many more:
    'AES-CBC-256/HMAC-SHA2-384-192/PRF-HMAC-SHA2-384/ECP-384, 3DES/HMAC-SHA1-96/... (and 2 more)'.

    `alternatives` shortens each attribute to that many alternatives ('AES-CBC-128|AES-CBC-256|+16')."""
    texts = list(dict.fromkeys(offer.text if alternatives is None else offer.short_text(alternatives)
                               for offer in offers))
    if not texts:
        return "nothing"
    shown = ", ".join(texts[:max(limit, 1)])
    rest = len(texts) - max(limit, 1)
    return f"{shown} (and {rest} more)" if rest > 0 else shown


# --------------------------------------------------------------------------------------------
# Comparing two sides
# --------------------------------------------------------------------------------------------
KINDS: tuple[str, ...] = ("protocol", "encryption", "integrity", "prf", "dh_group", "pfs", "additional_ke",
                          "auth_method", "encapsulation", "esn", "lifetime")
"""Every attribute kind `Difference.kinds` may name, in the order texts name them."""

CODES: tuple[str, ...] = ("EncryptionAlgorithmMismatch", "AuthenticationAlgorithmMismatch", "DhGroupMismatch",
                          "AlgorithmMismatch", "LifetimeMismatch", "PfsMismatch", "EncapsulationModeMismatch",
                          "SecurityProtocolMismatch", "ProposalMismatch")
"""Every code `compare` may return (SPEC §5)."""

# One kind apart -> its code.
SINGLE_KIND_CODES: dict[str, str] = {
    "protocol": "SecurityProtocolMismatch",
    "encryption": "EncryptionAlgorithmMismatch",
    "integrity": "AuthenticationAlgorithmMismatch",
    "prf": "AuthenticationAlgorithmMismatch",
    "dh_group": "DhGroupMismatch",
    "pfs": "PfsMismatch",
    "additional_ke": "AlgorithmMismatch",
    "auth_method": "ProposalMismatch",
    "encapsulation": "EncapsulationModeMismatch",
    "esn": "ProposalMismatch",
    "lifetime": "LifetimeMismatch",
}
# Integrity and PRF are one setting ("authentication algorithm") on most gateways.
AUTHENTICATION_KINDS = frozenset({"integrity", "prf"})
# Several kinds apart, all of them here -> AlgorithmMismatch; otherwise ProposalMismatch.
ALGORITHM_KINDS = frozenset({"encryption", "integrity", "prf", "dh_group", "pfs", "additional_ke"})

KIND_LABELS: dict[str, str] = {
    "protocol": "security protocol",
    "encryption": "encryption",
    "integrity": "integrity",
    "prf": "PRF",
    "dh_group": "DH group",
    "pfs": "PFS group",
    "additional_ke": "additional key exchange",
    "auth_method": "authentication method",
    "encapsulation": "encapsulation mode",
    "esn": "extended sequence numbers",
    "lifetime": "lifetime",
}


@dataclass(frozen=True, slots=True)
class Difference:
    """Why two sides' offers cannot agree, named as exactly as the offers allow."""

    code: str
    """A SPEC §5 code (see CODES): the most specific one the differing kinds support."""
    text: str
    """One sentence naming the exact difference and what agrees."""
    kinds: tuple[str, ...]
    """The attributes that differ (see KINDS), in KINDS order."""
    a: Offer | None = None
    """The offer of the first side in the pair closest to agreeing."""
    b: Offer | None = None
    """The offer of the second side in that pair."""


def _or_none(values: tuple[str, ...]) -> frozenset[str]:
    """An optional transform: absent means NONE (no integrity with AEAD, no PFS, no ESN)."""
    return frozenset(values) if values else frozenset({NONE})


def _modes(values: tuple[str, ...]) -> frozenset[str]:
    return frozenset(ENCAPSULATION_MODE.get(value, value) for value in values)


def _esn(values: tuple[str, ...]) -> frozenset[str]:
    return frozenset(values) if values else frozenset({NO_ESN})


def _additional(values: tuple[str, ...]) -> dict[str, frozenset[str]]:
    by_type: dict[str, set[str]] = {}
    for value in values:
        kind, _, method = value.partition("=")
        by_type.setdefault(kind, set()).add(method)
    return {kind: frozenset(methods) for kind, methods in by_type.items()}


def _additional_agree(x: tuple[str, ...], y: tuple[str, ...]) -> bool:
    """RFC 9370: every ADDKE type must have a common method; NONE stands in for an absent type."""
    left, right = _additional(x), _additional(y)
    for kind in left.keys() | right.keys():
        if not left.get(kind, frozenset({NONE})) & right.get(kind, frozenset({NONE})):
            return False
    return True


def _exact(x: tuple[str, ...], y: tuple[str, ...]) -> bool:
    """A mandatory attribute: both absent, or a common value."""
    return (not x and not y) or bool(set(x) & set(y))


def _differing(x: Offer, y: Offer, lifetime: bool = True) -> tuple[str, ...]:
    """The kinds in which offers x and y have no common choice (KINDS order); () when they can agree."""
    if x.protocol != y.protocol:
        return ("protocol",)
    kinds: list[str] = []
    if not _exact(x.encryption, y.encryption):
        kinds.append("encryption")
    if not _or_none(x.integrity) & _or_none(y.integrity):
        kinds.append("integrity")
    if not _exact(x.prf, y.prf):
        kinds.append("prf")
    if not _or_none(x.dh_groups) & _or_none(y.dh_groups):
        kinds.append("dh_group" if x.protocol == "IKE" else "pfs")
    if not _additional_agree(x.additional_key_exchanges, y.additional_key_exchanges):
        kinds.append("additional_ke")
    if not _exact(x.auth_methods, y.auth_methods):
        kinds.append("auth_method")
    if x.encapsulation and y.encapsulation and not _modes(x.encapsulation) & _modes(y.encapsulation):
        kinds.append("encapsulation")
    if not _esn(x.esn) & _esn(y.esn):
        kinds.append("esn")
    if lifetime and _lifetimes_differ(x, y):
        kinds.append("lifetime")
    return tuple(kinds)


def _lifetimes_differ(x: Offer, y: Offer) -> bool:
    return ((x.lifetime_seconds is not None and y.lifetime_seconds is not None
             and x.lifetime_seconds != y.lifetime_seconds)
            or (x.lifetime_kilobytes is not None and y.lifetime_kilobytes is not None
                and x.lifetime_kilobytes != y.lifetime_kilobytes))


def common(a: Sequence[Offer], b: Sequence[Offer], *, lifetime: bool = True) -> tuple[Offer, Offer] | None:
    """The first pair (offer of a, offer of b) that can agree, in offer order; None if there is none."""
    for x in a:
        for y in b:
            if not _differing(x, y, lifetime):
                return x, y
    return None


def agree(a: Sequence[Offer], b: Sequence[Offer], *, lifetime: bool = True) -> bool:
    """True when some offer of `a` and some offer of `b` have a common choice in every attribute.

    With `lifetime=False` lifetimes are left out (many IKEv1 responders accept a shorter lifetime, or
    answer a longer one with RESPONDER-LIFETIME rather than refuse it)."""
    return common(a, b, lifetime=lifetime) is not None


def without_key_exchange(offers: Sequence[Offer]) -> list[Offer]:
    """The offers as they take part in the first CHILD_SA, created inside IKE_AUTH: RFC 7296 §1.2 sends
    no KE there, so PFS groups play no role (strongSwan drops them from both sides before selecting).
    Compare IKE_AUTH ESP/AH offers with the other side's configured ones through this."""
    return [replace(offer, dh_groups=(), additional_key_exchanges=()) if offer.protocol != "IKE" else offer
            for offer in offers]


def code_for(kinds: Sequence[str]) -> str:
    """The SPEC §5 code for a set of differing kinds (see the module docstring for the reasoning)."""
    kind_set = set(kinds)
    if not kind_set:
        raise ValueError("no differing kind")
    if kind_set <= AUTHENTICATION_KINDS:
        return "AuthenticationAlgorithmMismatch"
    if len(kind_set) == 1:
        return SINGLE_KIND_CODES[kinds[0]]
    if kind_set <= ALGORITHM_KINDS:
        return "AlgorithmMismatch"
    return "ProposalMismatch"


def compare(a: Sequence[Offer], b: Sequence[Offer], *, names: tuple[str, str] = ("one side", "the other"),
            lifetime: bool = True) -> Difference | None:
    """How the offers of two sides differ, or None when some offer of each can agree.

    Also None when either side offers nothing: then there is no difference to name. `names` are the
    two sides as the text calls them ('moon', 'sun'). When no pair can agree, the pair closest to
    agreeing (fewest kinds apart, earliest in offer order) is named; offers of different protocols
    are only compared when no two offers share a protocol (SecurityProtocolMismatch)."""
    if not a or not b:
        return None
    best: tuple[int, Offer, Offer, tuple[str, ...]] | None = None
    for x in a:
        for y in b:
            if x.protocol != y.protocol:
                continue
            kinds = _differing(x, y, lifetime)
            if not kinds:
                return None
            if best is None or len(kinds) < best[0]:
                best = (len(kinds), x, y, kinds)
    if best is None:
        x, y = a[0], b[0]
        protocols_a = " or ".join(_unique(offer.protocol for offer in a))
        protocols_b = " or ".join(_unique(offer.protocol for offer in b))
        text = f"security protocol differs: {names[0]} offers {protocols_a}, {names[1]} {protocols_b}"
        return Difference("SecurityProtocolMismatch", text, ("protocol",), x, y)
    _, x, y, kinds = best
    return Difference(code_for(kinds), _difference_text(x, y, kinds, names), kinds, x, y)


def _label(kind: str, offer: Offer) -> str:
    if kind == "integrity" and offer.protocol == "IKE" and offer.version == 1:
        return "hash"
    return KIND_LABELS[kind]


def _values(offer: Offer, kind: str) -> tuple[str, ...]:
    """What an offer proposes for one kind, as displayed ('none' for an absent optional transform)."""
    if kind == "encryption":
        return offer.encryption
    if kind == "integrity":
        return offer.integrity or ("none",)
    if kind == "prf":
        return offer.prf
    if kind in ("dh_group", "pfs"):
        groups = tuple(group for group in offer.dh_groups if group != NONE)
        none = ("none",) if not offer.dh_groups or NONE in offer.dh_groups else ()
        return groups + none
    if kind == "additional_ke":
        return offer.additional_key_exchanges or ("none",)
    if kind == "auth_method":
        return offer.auth_methods
    if kind == "encapsulation":
        return offer.encapsulation
    if kind == "esn":
        return offer.esn or (NO_ESN,)
    if kind == "lifetime":
        return tuple(_lifetime_parts(offer.lifetime_seconds, offer.lifetime_kilobytes))
    if kind == "protocol":
        return (offer.protocol,)
    raise ValueError(f"unknown kind {kind!r}")


def _english(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _difference_text(x: Offer, y: Offer, kinds: tuple[str, ...], names: tuple[str, str]) -> str:
    labels = [_label(kind, x) for kind in kinds]
    verb = "differs" if len(kinds) == 1 else "differ"
    x_without, y_without = _values(x, "pfs") == ("none",), _values(y, "pfs") == ("none",)
    if kinds == ("pfs",) and x_without != y_without:
        with_pfs, (first, second) = (y, names[::-1]) if x_without else (x, names)
        head = (f"PFS differs: {first} asks for PFS with {' or '.join(_values(with_pfs, 'pfs'))}, "
                f"{second} offers no PFS")
    elif len(kinds) == 1:
        kind = kinds[0]
        head = (f"{labels[0]} {verb}: {names[0]} offers {' or '.join(_values(x, kind))}, "
                f"{names[1]} {' or '.join(_values(y, kind))}")
    else:
        def side(offer: Offer) -> str:
            return "/".join("|".join(_values(offer, kind)) for kind in kinds)
        head = f"{_english(labels)} {verb}: {names[0]} offers {side(x)}, {names[1]} {side(y)}"
    agreeing = _agreeing(x, y, kinds)
    if not agreeing:
        return head
    agree_labels = [label for label, _ in agreeing]
    agree_values = [value for _, value in agreeing]
    verb = "agrees" if len(agreeing) == 1 else "agree"
    return f"{head}; {_english(agree_labels)} {verb} ({', '.join(agree_values)})"


def _agreeing(x: Offer, y: Offer, kinds: tuple[str, ...]) -> list[tuple[str, str]]:
    """(label, common value) of the kinds both offers state and agree on, in KINDS order."""
    found: list[tuple[str, str]] = []
    dh_kind = "dh_group" if x.protocol == "IKE" else "pfs"
    for kind in ("encryption", "integrity", "prf", dh_kind, "auth_method", "encapsulation", "lifetime"):
        if kind in kinds:
            continue
        if kind == "lifetime":
            both = _lifetime_parts(x.lifetime_seconds if y.lifetime_seconds is not None else None,
                                   x.lifetime_kilobytes if y.lifetime_kilobytes is not None else None)
            if both:
                found.append(("lifetime", ", ".join(both)))
            continue
        if kind == "encapsulation":
            if x.encapsulation and y.encapsulation:
                shared = [value for value in x.encapsulation if value in y.encapsulation]
                found.append((KIND_LABELS[kind], "|".join(shared or x.encapsulation)))
            continue
        left, right = _values(x, kind), _values(y, kind)
        if not left or not right:
            continue
        shared = [value for value in left if value in right]
        if kind == "pfs" and shared == ["none"]:
            found.append(("PFS", "no PFS"))
        elif shared:
            found.append((_label(kind, x), "|".join(shared)))
    return found


# --------------------------------------------------------------------------------------------
# Weak algorithms (RFC 8247 for IKEv2, RFC 8221 for ESP and AH)
IKEV1_RULE = " for IKEv2; IKEv1 itself is deprecated (RFC 9395)"
"""How a weakness of an IKEv1 offer is told: RFC 8247 rates the algorithms for IKEv2 only."""
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Weakness:
    """An algorithm offered that the RFCs put at SHOULD NOT or MUST NOT."""

    kind: str
    """'weak_dh_group', 'weak_cipher' or 'weak_integrity' (SPEC §4 finding kinds)."""
    detail: str
    """'MODP-1024 (group 2) offered in proposal 1; RFC 8247 says SHOULD NOT'."""


# RFC 8247 §2.1-2.3 (IKEv2 encryption, PRF, integrity); RFC 7296 §3.3.2 does not allow ENCR_NULL for IKE.
# Applied to IKEv1 phase 1 as well: its hash (MD5) stands for the PRF and integrity built on it.
IKE_WEAK_ALGORITHMS: dict[str, tuple[str, str]] = {
    "DES": ("weak_cipher", "MUST NOT"),
    "DES-IV64": ("weak_cipher", "MUST NOT"),
    "DES-IV32": ("weak_cipher", "MUST NOT"),
    "NULL": ("weak_cipher", "MUST NOT"),
    "PRF-HMAC-MD5": ("weak_integrity", "MUST NOT"),
    "HMAC-MD5-96": ("weak_integrity", "MUST NOT"),
    "DES-MAC": ("weak_integrity", "MUST NOT"),
    "KPDK-MD5": ("weak_integrity", "MUST NOT"),
    "MD5": ("weak_integrity", "MUST NOT"),
}
# RFC 8221 §5 (ESP encryption) and §6 (ESP and AH integrity).
IPSEC_WEAK_ALGORITHMS: dict[str, tuple[str, str]] = {
    "DES-IV64": ("weak_cipher", "MUST NOT"),
    "DES": ("weak_cipher", "MUST NOT"),
    "3DES": ("weak_cipher", "SHOULD NOT"),
    "BLOWFISH": ("weak_cipher", "MUST NOT"),
    "3IDEA": ("weak_cipher", "MUST NOT"),
    "DES-IV32": ("weak_cipher", "MUST NOT"),
    "HMAC-MD5-96": ("weak_integrity", "MUST NOT"),
    "DES-MAC": ("weak_integrity", "MUST NOT"),
    "KPDK-MD5": ("weak_integrity", "MUST NOT"),
}
# RFC 8247 §2.4 (Diffie-Hellman groups, IKE SA and PFS alike), by group number.
WEAK_GROUPS: dict[int, str] = {
    1: "MUST NOT",
    2: "SHOULD NOT",
    5: "SHOULD NOT",
    22: "SHOULD NOT",
    23: "SHOULD NOT",
    24: "SHOULD NOT",
}
_KEY_LENGTH_SUFFIX = ("-64", "-128", "-192", "-256")


def _base_cipher(name: str) -> str:
    """'AES-CBC-256' -> 'AES-CBC' (the tables name ciphers without key length)."""
    for suffix in _KEY_LENGTH_SUFFIX:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _is_aead(cipher: str) -> bool:
    return cipher.startswith(AEAD_PREFIXES)


def weaknesses(offers: Sequence[Offer], *, chosen: bool = False) -> list[Weakness]:
    """Each weak algorithm among `offers` once, naming every offer that carries it.

    `chosen=True` words the detail for a responder's selection ('chosen in proposal 1')."""
    found: dict[tuple[str, str, str], list[Offer]] = {}
    order: list[tuple[str, str, str]] = []

    def note(kind: str, algorithm: str, rule: str, offer: Offer) -> None:
        key = (kind, algorithm, rule)
        if key not in found:
            found[key] = []
            order.append(key)
        if offer not in found[key]:
            found[key].append(offer)

    for offer in offers:
        ike = offer.protocol == "IKE"
        table = IKE_WEAK_ALGORITHMS if ike else IPSEC_WEAK_ALGORITHMS
        rfc = ("RFC 8247 says {level}" + IKEV1_RULE if offer.version == 1 else "RFC 8247 says {level}") if ike \
            else "RFC 8221 says {level}"
        for cipher in offer.encryption:
            weak = table.get(_base_cipher(cipher))
            if weak is not None:
                note(weak[0], cipher, rfc.format(level=weak[1]), offer)
            elif cipher == "NULL" and offer.protocol == "ESP":
                note("weak_cipher", "NULL encryption (no confidentiality)",
                     "RFC 8221 keeps it for ESP that needs no confidentiality", offer)
        for algorithm in offer.integrity + offer.prf:
            weak = table.get(algorithm)
            if weak is not None:
                note(weak[0], algorithm, rfc.format(level=weak[1]), offer)
        if offer.protocol in ("ESP", "AH") and set(offer.integrity) <= {NONE}:
            ciphers = [cipher for cipher in offer.encryption if not _is_aead(cipher)]
            if offer.protocol == "AH" or ciphers:
                without = "AH" if offer.protocol == "AH" else f"ESP with {'|'.join(ciphers)}"
                note("weak_integrity", f"no integrity ({without})", "RFC 8221 says MUST NOT", offer)
        for group in offer.dh_groups:
            number = GROUP_NUMBERS.get(group)
            level = WEAK_GROUPS.get(number) if number is not None else None
            if level is not None:
                rule = f"RFC 8247 says {level}" + (IKEV1_RULE if ike and offer.version == 1 else "")
                note("weak_dh_group", f"{group} (group {number})", rule, offer)
    verb = "chosen" if chosen else "offered"
    return [Weakness(kind, f"{algorithm} {verb} in {_where(found[(kind, algorithm, rule)])}; {rule}")
            for kind, algorithm, rule in order]


def _where(offers: Sequence[Offer]) -> str:
    """'proposal 1', 'proposals 1, 3 and 5', 'proposal 1 (transforms 2 and 4)'."""
    transforms: dict[int, list[int]] = {}
    for offer in offers:
        numbers = transforms.setdefault(offer.number, [])
        if offer.transform is not None and offer.transform not in numbers:
            numbers.append(offer.transform)
    if all(not numbers for numbers in transforms.values()):
        proposals = [str(number) for number in transforms]
        return ("proposal " if len(proposals) == 1 else "proposals ") + _english(proposals)
    parts = []
    for number, numbers in transforms.items():
        if not numbers:
            parts.append(f"proposal {number}")
        else:
            word = "transform" if len(numbers) == 1 else "transforms"
            parts.append(f"proposal {number} ({word} {_english([str(n) for n in numbers])})")
    return _english(parts)
