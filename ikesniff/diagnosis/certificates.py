"""What an X.509 certificate read in a decrypted CERT payload says about an authentication refused: its
validity dates against the moment it was used, the names it holds against the identity (IDi / IDr) sent with
it, and its issuer against the CAs the verifying side names (CERTREQ) or uses itself.

Plain functions over DER bytes and the tracker's `Opened` records; nothing of rules, files or output here.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime

from ..tracker import Opened


@dataclass(frozen=True, slots=True)
class CertFacts:
    """The readable parts of one certificate."""

    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    names: tuple[str, ...]
    """Subject common names and subjectAltName entries (DNS, e-mail, IP, DN), lower case."""
    key_hash: str
    """Hex SHA-1 of its SubjectPublicKeyInfo (what a CERTREQ names, RFC 7296 §3.7)."""


def read(der: bytes) -> CertFacts | None:
    """The facts of a DER certificate; None when it does not parse."""
    # (imported here: loading the X.509 library takes longer than reading most captures without certificates)
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import NameOID
    try:
        cert = x509.load_der_x509_certificate(der)
        names = [str(a.value).lower() for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        try:
            alternative = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            alternative = None
        if alternative is not None:
            for entry in alternative:
                value = entry.value
                names.append(value.rfc4514_string().lower() if isinstance(value, x509.Name) else str(value).lower())
        spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
        return CertFacts(cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(), cert.not_valid_before_utc,
                         cert.not_valid_after_utc, tuple(names), hashlib.sha1(spki).hexdigest())
    except (ValueError, TypeError):
        return None


def identity_in(facts: CertFacts, identity: str, identity_type: str | None) -> bool:
    """Whether the certificate holds the identity sent with it (RFC 4945 §3.1: FQDN and e-mail in the
    subjectAltName or common name, addresses in the subjectAltName, a DN as the subject)."""
    wanted = identity.strip().lower()
    kind = (identity_type or "").upper()
    if "ASN1_DN" in kind:
        normal = {part.strip() for part in wanted.replace(";", ",").split(",")}
        return normal == {part.strip() for part in facts.subject.lower().split(",")}
    if "IPV4" in kind or "IPV6" in kind:
        try:
            address = ipaddress.ip_address(wanted)
        except ValueError:
            return wanted in facts.names
        return any(name == str(address) for name in facts.names)
    return wanted in facts.names


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a certificate was most likely refused, and how sure that is."""

    reason: str
    confidence: str


def why_refused(sent: Opened, at: float, verifier: list[Opened]) -> tuple[CertFacts, Refusal] | None:
    """Why the certificate in `sent` (sent at `at`) was refused by a side that sent `verifier`: expired or
    not yet valid (certain), the identity sent with it not in it (certain), an issuer other than the CA of the
    verifier's own certificate (likely: a CERTREQ names its trusted CAs by key hash, which only a chain sent
    along can be checked against), or nothing the certificate shows (possible)."""
    if not sent.certificates:
        return None
    facts = read(sent.certificates[0])
    if facts is None:
        return None
    when = datetime.fromtimestamp(at, UTC)
    if when > facts.not_after:
        return facts, Refusal(f"it expired on {facts.not_after:%Y-%m-%d %H:%M} UTC, before it was used "
                              f"({when:%Y-%m-%d %H:%M} UTC)", "certain")
    if when < facts.not_before:
        return facts, Refusal(f"it is valid only from {facts.not_before:%Y-%m-%d %H:%M} UTC, after it was used "
                              f"({when:%Y-%m-%d %H:%M} UTC): a clock is wrong on one side", "certain")
    if sent.identity and not identity_in(facts, sent.identity, sent.identity_type):
        return facts, Refusal(f"the identity sent with it ({sent.identity}) is not in it (it names "
                              f"{', '.join(dict.fromkeys(facts.names)) or 'nothing usable'})", "certain")
    chain = [read(der) for der in sent.certificates[1:]]
    trusted = {h for o in verifier for h in o.authorities}
    if any(c is not None and c.key_hash in trusted for c in chain):
        return facts, Refusal("its chain leads to a CA the verifier names as trusted (CERTREQ) and its dates and "
                              "names look right: revoked, or a policy of the verifier", "possible")
    own_issuers = {f.issuer for o in verifier for der in o.certificates[:1] if (f := read(der)) is not None}
    if own_issuers and facts.issuer not in own_issuers:
        return facts, Refusal(f"it is issued by {facts.issuer}, not by the CA of the verifier's own certificate "
                              f"({min(own_issuers)}): most likely a CA the verifier does not trust", "likely")
    return facts, Refusal("the certificate shows no fault (dates, names and issuer look right): revoked, or a "
                          "chain the verifier cannot complete", "possible")
