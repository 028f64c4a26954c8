"""`--redact`: consistent placeholders for addresses, identities, SPIs and certificate names.

One `Redactor` serves a whole run, so that one original always becomes the same placeholder in every
output: the message lines and `-v` trees, JSON events, reports, and the `-w` capture.

    redactor = Redactor()
    redactor.learn(decoded.message, decoded.inner)   # every message, before anything about it is printed
    event = redactor.event(decoded.event)            # a copy of any event (or list, dict of them)
    print(redactor.text(line))                       # any text: known names, SPIs and every IP literal
    for out in redactor.datagrams(datagram):         # copies of the packets with the same placeholders
        writer.write(out)
    for out in redactor.flush():                     # at the end: Cisco fragments never completed
        writer.write(out)

What is replaced:

* IP addresses (IPv4 and IPv6, any literal in any text, in the order first seen) by addresses that
  cannot be real ones: IPv4 from 240.0.0.0/4 (reserved), IPv6 from 100::/64 (discard-only, RFC 6666).
  A placeholder is never an address seen before it was given out, and one already given out stays as
  it is (so `text` can run twice). The unspecified and loopback addresses, the IPv4 broadcast address
  and IPv4 netmasks stay as they are: they name no host.
* IKE SPIs / IKEv1 cookies (8 octets) and ESP/AH SPIs (4 octets), in events, in hex anywhere in a text
  and in the captured headers, by SPIs of the same size counting up from 1 (all-zero SPIs stay).
* Identities (ID payloads: FQDN -> host-1.example, e-mail -> user-1@mail.example, DN -> CN=subject-1,
  key ids and other kinds -> id-1, addresses as above), certificate subjects and issuers (and their CN,
  E, DC and UID values), subject alternative names, IKEv1 certificate request authorities, IKEv2
  certificate request CA hashes, EAP identities, XAUTH user names and REDIRECT gateway names, learned
  from the clear and decrypted payloads of each message; also in the hex of the `-v` trees. Names are
  replaced where a word starts; names shorter than three characters only in the payloads they came
  from. What was printed before a name was learned cannot be taken back: `learn` first.

What is not: key exchange data, nonces, hashes, AUTH and signature payloads, vendor IDs, message IDs,
file names, and encrypted payloads (written as captured). Keys and pre-shared keys never reach any
output whatever the flags (they are in no event), and the redactor adds nothing about them. A redacted
capture is therefore not anonymous beyond this list: an aggressive-mode HASH_R, for instance, still
stands for the pre-shared key. In a `-w` capture the identity, certificate and certificate request
payloads in clear are rewritten (lengths fixed up), NAT-D hashes are recomputed over the placeholders
where they matched an address seen (so NAT detection reads the same), the header SPIs and the SPIs in
clear payloads replaced, and IKEv1 messages in Cisco fragments rewritten whole (`datagrams`). Every
mapping is kept for the whole run (memory grows with the SAs, names and addresses seen).

Knows nothing of the command line or of how events are printed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from dissectors import Message, Notify, Payload, parse_message
from dissectors.asn1 import dn_text
from dissectors.common import parse_header
from dissectors.ikev1 import (
    CertificatePayload,
    CertificateRequestPayload,
    CiscoFragmentPayload,
    ConfigurationAttributesPayload,
    IdentificationPayload,
    NatDiscoveryPayload,
    NatOriginalAddressPayload,
)
from dissectors.ikev2 import Certificate, CertificateRequest, ExtensibleAuthentication, Identification
from dissectors.model import ISAKMP_HEADER_LENGTH, Header

from .capture.events import IkeDatagram
from .natd import HASH_BY_LENGTH, expected_hash

T = TypeVar("T")

IPV4_PLACEHOLDERS = ipaddress.IPv4Network("240.0.0.0/4")
IPV6_PLACEHOLDERS = ipaddress.IPv6Network("100::/64")
NAMES = {"host": "host-{}.example", "user": "user-{}@mail.example", "dn": "CN=subject-{}", "id": "id-{}"}
"""Placeholder of each kind of name; the number counts the originals of that kind."""
MIN_TOKEN = 3
"""Names shorter than this are replaced in the payloads they came from, not wherever they occur in text."""
SPI_FIELDS = frozenset({"spi", "spi_i", "spi_r"})
"""Event fields holding an SPI in hex."""
DN_PARTS = ("CN=", "E=", "DC=", "UID=")
"""Parts of a distinguished name that are replaced on their own too (a host name in the CN...)."""
KEEP = frozenset({ipaddress.ip_address("255.255.255.255")}
                 | {ipaddress.IPv4Network(f"0.0.0.0/{bits}").netmask for bits in range(1, 33)})

ID_ADDRESS_SIZES = {1: 4, 5: 16}
"""ID types holding one address (IKEv1 and IKEv2 agree on these numbers)."""
ID_SUBNET_SIZES, ID_RANGE_SIZES = {4: 4, 6: 16}, {7: 4, 8: 16}
"""IKEv1 ID types holding an address and a mask, or two addresses."""
ID_KINDS = {2: "host", 3: "user"}
ID_DN, ID_NULL = 9, 13
CERT_X509 = 4
"""Certificate encoding 'X.509 Certificate - Signature' (IKEv1 and IKEv2)."""
EAP_RESPONSE, EAP_IDENTITY = 2, 1
NATD_V2 = frozenset({16388, 16389})
NATD_V1 = frozenset({20, 130})
REDIRECTS = frozenset({16407, 16408})
ENCRYPTED_V2 = frozenset({46, 53})
ENDPOINTS_KEPT = 4096
FRAGMENT_SETS_KEPT = 128
CISCO_FRAGMENT = 132

_V6, _V4, _HEX = (r"(?P<v6>[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*)", r"(?P<v4>\d+(?:\.\d+){3,})",
                  r"(?P<hex>[0-9A-Fa-f]{8,})")
_SHAPES = re.compile(f"{_V6}|{_V4}|{_HEX}")
"""What may be an address (IPv6 candidates first: they may hold dots and hex) or hex holding an SPI."""
_WITHOUT_V6 = re.compile(f"{_V4}|{_HEX}")
_TOKENS = re.compile(r"[0-9A-Za-z]+|[^0-9A-Za-z]")
"""Where a name may start: each word and each other character."""


class Redactor:
    """The placeholders of one run; `learn` every message, then redact whatever is printed or written."""

    def __init__(self) -> None:
        self._addresses: dict[str, str] = {}
        """Original address (compressed) -> placeholder."""
        self._placeholders: set[str] = set()
        self._next = {4: 1, 6: 1}
        self._spis: dict[bytes, bytes] = {}
        self._spi_next = {4: 1, 8: 1}
        self._hex: dict[str, str] = {}
        """Lowercase hex of SPIs, packed addresses and identity data -> hex of the placeholder."""
        self._names: dict[str, str] = {}
        """Lowercase name -> placeholder."""
        self._counts: dict[str, int] = dict.fromkeys(NAMES, 0)
        self._certificates = 0
        self._authorities = 0
        self._blobs: dict[bytes, bytes] = {}
        """Identity, certificate and authority bodies -> what a `-w` capture carries instead."""
        self._by_word: dict[str, list[str]] = {}
        """Names (lowercase, at least MIN_TOKEN long) by their first word, longest first."""
        self._endpoints: dict[bytes, set[tuple[str, int]]] = {}
        """Per initiator SPI, the addresses and ports its datagrams used (NAT-D candidates)."""
        self._key: ed25519.Ed25519PrivateKey | None = None
        self._fragments: dict[tuple[bytes, bytes, str, int, int], list[tuple[IkeDatagram, CiscoFragmentPayload]]] = {}
        """Cisco fragments held until their message is complete (`datagrams`)."""
        self._fragments_done: dict[tuple[bytes, bytes, str, int, int], dict[int, bytes]] = {}
        """The rewritten pieces of the last messages completed, for fragments sent again."""

    # --- learning ---------------------------------------------------------------------------------
    def learn(self, message: Message, inner: Sequence[Payload] = ()) -> None:
        """Take the SPIs, identities and certificate names of a message (clear and decrypted payloads)."""
        self.spi(message.header.spi_i)
        self.spi(message.header.spi_r)
        for payload in [*message.payloads, *inner]:
            self._learn_payload(payload)

    def _learn_payload(self, payload: Payload) -> None:
        _walk_spis(payload, self.spi)
        if isinstance(payload, (Identification, IdentificationPayload)):
            self._identity(payload.id_type, payload.value, payload.data)
        elif isinstance(payload, (Certificate, CertificatePayload)):
            self._certificate(payload.encoding, payload.data)
        elif isinstance(payload, CertificateRequest):
            self._authority_hashes(payload.data)
        elif isinstance(payload, CertificateRequestPayload) and payload.authority:
            self._dn(payload.authority)
        elif isinstance(payload, NatOriginalAddressPayload) and payload.address:
            self.address(payload.address)
        elif isinstance(payload, Notify) and isinstance(payload.decoded.get("gateway"), str):
            gateway = str(payload.decoded["gateway"])
            if payload.decoded.get("gateway_type") == 3:
                self._name(gateway, "host")
            else:
                self.address(gateway)
        elif isinstance(payload, ExtensibleAuthentication) and payload.code == EAP_RESPONSE \
                and payload.eap_type == EAP_IDENTITY and payload.data:
            self._name(payload.data.decode("utf-8", "backslashreplace"), "id")
        elif isinstance(payload, ConfigurationAttributesPayload):
            for attribute in payload.attributes:
                if attribute.name == "XAUTH_USER_NAME" and attribute.value_name:
                    self._name(attribute.value_name, "id")

    def _identity(self, id_type: int, value: str, data: bytes) -> None:
        size = ID_ADDRESS_SIZES.get(id_type) or ID_SUBNET_SIZES.get(id_type) or ID_RANGE_SIZES.get(id_type, 0)
        if id_type in ID_ADDRESS_SIZES and len(data) == size:
            self._bytes(data, self._packed(data))
        elif size and len(data) == 2 * size:
            second = self._packed(data[size:]) if id_type in ID_RANGE_SIZES else data[size:]
            self._bytes(data, self._packed(data[:size]) + second)
        elif id_type == ID_DN:
            self._dn(data)
        elif data and id_type != ID_NULL:  # ID_NULL (RFC 7619) names no one
            self._bytes(data, self._name(value or data.hex(), ID_KINDS.get(id_type, "id")).encode())

    def _dn(self, der: bytes, *spellings: str) -> str:
        """The placeholder of a distinguished name (its DER placeholder kept for captures); the parts
        that name a host or a person are learned as names of their own, `spellings` as the same name."""
        text = dn_text(der)
        placeholder = self._name(text if text is not None else der.hex(), "dn")
        for part in (text or "").split(", "):
            if part.startswith(DN_PARTS):
                value = part.split("=", 1)[1]
                self._name(value, "host" if _looks_like_host(value) else "user" if "@" in value else "id")
        for spelling in spellings:
            if spelling.lower() not in self._names:
                self._names[spelling.lower()] = placeholder
                self._index(spelling.lower())
        self._bytes(der, _placeholder_name(placeholder).public_bytes())
        return placeholder

    def _certificate(self, encoding: int, data: bytes) -> bytes:
        """What a capture carries instead of a certificate: for X.509, a certificate of the same shape
        (placeholder subject, issuer and alternative names, same validity) signed by a throw-away key."""
        known = self._blobs.get(data)
        if known is not None or not data:
            return known or data
        try:
            certificate = x509.load_der_x509_certificate(data) if encoding == CERT_X509 else None
        except ValueError:
            certificate = None
        if certificate is None:
            return self._bytes(data, self._name(data[:32].hex(), "id").encode())
        subject = self._dn(certificate.subject.public_bytes(), certificate.subject.rfc4514_string())
        issuer = self._dn(certificate.issuer.public_bytes(), certificate.issuer.rfc4514_string())
        names: list[x509.GeneralName] = []
        try:
            alternative = list(certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
        except (x509.ExtensionNotFound, ValueError):
            alternative = []
        for general in alternative:
            if isinstance(general, x509.DNSName):
                names.append(x509.DNSName(self._name(general.value, "host")))
            elif isinstance(general, x509.RFC822Name):
                names.append(x509.RFC822Name(self._name(general.value, "user")))
            elif isinstance(general, x509.IPAddress) and isinstance(general.value, (ipaddress.IPv4Address,
                                                                                      ipaddress.IPv6Address)):
                names.append(x509.IPAddress(ipaddress.ip_address(self.address(str(general.value)))))
            elif isinstance(general, x509.DirectoryName):
                names.append(x509.DirectoryName(_placeholder_name(self._dn(general.value.public_bytes()))))
            elif isinstance(general, x509.UniformResourceIdentifier):
                self._name(general.value, "id")
        self._certificates += 1
        builder = (x509.CertificateBuilder()
                   .subject_name(_placeholder_name(subject))
                   .issuer_name(_placeholder_name(issuer))
                   .serial_number(self._certificates)
                   .not_valid_before(certificate.not_valid_before_utc)
                   .not_valid_after(certificate.not_valid_after_utc)
                   .public_key(self._signing_key().public_key()))
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return self._bytes(data, builder.sign(self._signing_key(), None).public_bytes(Encoding.DER))

    def _authority_hashes(self, data: bytes) -> bytes:
        """IKEv2 CERTREQ: SHA-1 hashes of CA public keys, each replaced by a hash of nothing real."""
        known = self._blobs.get(data)
        if known is not None or not data:
            return known or data
        if len(data) % 20:
            return self._bytes(data, self._name(data[:32].hex(), "id").encode())
        hashes = []
        for start in range(0, len(data), 20):
            original = data[start:start + 20]
            if original not in self._blobs:
                self._authorities += 1
                self._bytes(original, hashlib.sha1(f"ikesniff redacted authority {self._authorities}".encode(),
                                                   usedforsecurity=False).digest())
            hashes.append(self._blobs[original])
        return self._bytes(data, b"".join(hashes))

    def _name(self, text: str, kind: str) -> str:
        key = text.lower()
        placeholder = self._names.get(key)
        if placeholder is None:
            self._counts[kind] += 1
            placeholder = self._names[key] = NAMES[kind].format(self._counts[kind])
            self._bytes(text.encode("utf-8", "backslashreplace"), placeholder.encode())
            self._index(key)
        return placeholder

    def _index(self, key: str) -> None:
        first = _TOKENS.match(key)
        if len(key) >= MIN_TOKEN and first is not None:
            names = self._by_word.setdefault(first.group(), [])
            names.append(key)
            names.sort(key=len, reverse=True)

    def _bytes(self, original: bytes, replacement: bytes) -> bytes:
        """Remember what `original` octets become, in a capture and as hex in a text (also as the
        `-v` tree shows long values: their first 32 octets)."""
        self._blobs.setdefault(original, replacement)
        replacement = self._blobs[original]
        if len(original) >= 4:
            self._hex.setdefault(original.hex(), replacement.hex())
            self._hex.setdefault(original[:32].hex(), replacement[:32].hex())
        return replacement

    def _signing_key(self) -> ed25519.Ed25519PrivateKey:
        if self._key is None:
            self._key = ed25519.Ed25519PrivateKey.generate()
        return self._key

    # --- addresses and SPIs -----------------------------------------------------------------------
    def address(self, a: str) -> str:
        """The placeholder of an IP address (any spelling of it); other text goes through `text`."""
        try:
            ip = ipaddress.ip_address(a)
        except ValueError:
            return self.text(a)
        original = str(ip)
        if original in self._placeholders or ip.is_unspecified or ip.is_loopback or ip in KEEP:
            return original
        placeholder = self._addresses.get(original)
        if placeholder is None:
            placeholder = self._allocate(ip)
            self._addresses[original] = placeholder
            self._placeholders.add(placeholder)
            self._hex[ip.packed.hex()] = ipaddress.ip_address(placeholder).packed.hex()
        return placeholder

    def _allocate(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
        network = IPV4_PLACEHOLDERS if ip.version == 4 else IPV6_PLACEHOLDERS
        while True:
            candidate = str(network[self._next[ip.version]])
            self._next[ip.version] += 1
            if candidate not in self._addresses:  # never an address seen
                return candidate

    def _packed(self, packed: bytes) -> bytes:
        placeholder = self.address(str(ipaddress.ip_address(packed)))
        return ipaddress.ip_address(placeholder).packed

    def spi(self, value: bytes) -> bytes:
        """The placeholder of an 8-octet IKE SPI / cookie or a 4-octet ESP/AH SPI; a 16-octet value is two
        cookies (IKEv1 notifications). Zero SPIs and other sizes stay as they are."""
        if len(value) == 16:
            return self.spi(value[:8]) + self.spi(value[8:])
        if len(value) not in self._spi_next or not any(value):
            return bytes(value)
        value = bytes(value)
        placeholder = self._spis.get(value)
        if placeholder is None:
            while True:
                placeholder = self._spi_next[len(value)].to_bytes(len(value), "big")
                self._spi_next[len(value)] += 1
                if placeholder not in self._spis:
                    break
            self._spis[value] = placeholder
            self._hex[value.hex()] = placeholder.hex()
        return placeholder

    def _spi_text(self, value: str) -> str:
        if len(value) in (8, 16) and all(c in "0123456789abcdefABCDEF" for c in value):
            return self.spi(bytes.fromhex(value)).hex()
        return self.text(value)

    # --- text and events --------------------------------------------------------------------------
    def text(self, s: str) -> str:
        """`s` with every known name, SPI and identity (also in hex) and every IP literal replaced.

        Names are looked up by the word (or punctuation mark) they start with, longest first, in any case;
        the rest goes through one fixed pattern for addresses and hex: nothing is compiled per name."""
        if not self._by_word:
            return _SHAPES.sub(self._replace, s)
        out, done = [], 0
        for token in _TOKENS.finditer(s):
            start = token.start()
            if start < done:
                continue
            for name in self._by_word.get(token.group().lower(), ()):
                if s[start:start + len(name)].lower() == name:
                    out += [_SHAPES.sub(self._replace, s[done:start]), self._names[name]]
                    done = start + len(name)
                    break
        out.append(_SHAPES.sub(self._replace, s[done:]))
        return "".join(out)

    def _replace(self, match: re.Match[str]) -> str:
        found = match.group()
        if match.lastgroup == "v6":
            try:
                ip = ipaddress.IPv6Address(found)
            except ValueError:
                return self._loose_v6(found)
            return self.address(str(ip))
        if match.lastgroup == "v4":
            return self._v4_run(found)
        return self._hex_run(found)

    def _loose_v6(self, found: str) -> str:
        """Colon-separated text that is no address as a whole: an address at its edges, or known
        addresses and hex inside it."""
        stripped = found.strip(":.")
        start = found.find(stripped)
        if stripped != found:
            try:
                ip = ipaddress.IPv6Address(stripped)
            except ValueError:
                pass
            else:
                return found[:start] + self.address(str(ip)) + found[start + len(stripped):]
        for original, placeholder in self._addresses.items():
            if ":" in original and original in found:
                found = found.replace(original, placeholder)
        return _WITHOUT_V6.sub(self._replace, found)

    def _v4_run(self, run: str) -> str:
        """Digits and dots: an address, or (a version, an OID...) with known addresses inside replaced."""
        if run.count(".") == 3:
            try:
                return self.address(str(ipaddress.IPv4Address(run)))
            except ValueError:
                pass
        out, position = [], 0
        while position < len(run):
            for end in range(min(len(run), position + 15), position + 6, -1):
                placeholder = self._addresses.get(run[position:end])
                if placeholder is not None:
                    out.append(placeholder)
                    position = end
                    break
            else:
                out.append(run[position])
                position += 1
        return "".join(out)

    def _hex_run(self, run: str) -> str:
        """A run of hex digits: a known value as a whole, or SPIs and addresses inside it."""
        lower = run.lower()
        whole = self._hex.get(lower)
        if whole is not None:
            return whole
        out, position = [], 0
        while position < len(run):
            for width in (32, 16, 8):
                placeholder = self._hex.get(lower[position:position + width])
                if placeholder is not None and position + width <= len(run):
                    out.append(placeholder)
                    position += width
                    break
            else:
                out.append(run[position])
                position += 1
        return "".join(out)

    def event(self, e: T) -> T:
        """A redacted copy of an event dataclass (or a list, tuple or dict of them): SPI fields mapped,
        every text through `text`; numbers, flags and None unchanged."""
        return cast(T, self._copy(e))

    def _copy(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes = {}
            for field in dataclasses.fields(value):
                if not field.init:
                    continue
                item = getattr(value, field.name)
                changes[field.name] = (self._spi_text(item) if field.name in SPI_FIELDS and isinstance(item, str)
                                       else self._copy(item))
            return dataclasses.replace(value, **changes)
        if isinstance(value, list):
            return [self._copy(item) for item in value]
        if isinstance(value, tuple):
            items = [self._copy(item) for item in value]
            return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
        if isinstance(value, dict):
            return {self._copy(key): (self._spi_text(item) if key in SPI_FIELDS and isinstance(item, str)
                                      else self._copy(item)) for key, item in value.items()}
        return value

    # --- captures ---------------------------------------------------------------------------------
    def datagrams(self, d: IkeDatagram) -> list[IkeDatagram]:
        """`datagram` for a stream of datagrams, which also rewrites IKEv1 messages sent in Cisco
        fragments: the fragments of a message are held until it is complete, then come out together,
        rewritten as a whole and cut again into as many fragments (a fragment sent again later comes out
        at once, as it was rewritten). `flush` gives what is still held at the end."""
        fragment = _cisco_fragment(d.data)
        if fragment is None:
            return [self.datagram(d)]
        header, payload = fragment
        key = (header.spi_i, header.spi_r, d.src, d.sport, payload.fragment_id)
        done = self._fragments_done.get(key)
        if done is not None and payload.number in done:
            return [self._fragment(d, done[payload.number])]
        held = self._fragments.setdefault(key, [])
        held.append((d, payload))
        out: list[IkeDatagram] = []
        while len(self._fragments) > FRAGMENT_SETS_KEPT:
            out += [self.datagram(old) for old, _ in self._fragments.pop(next(iter(self._fragments)))]
        first = {piece.number: piece for _, piece in reversed(held)}
        last = max((piece.number for piece in first.values() if piece.last), default=0)
        if last and set(first) == set(range(1, last + 1)):
            del self._fragments[key]
            pieces = self._refragment([first[number] for number in range(1, last + 1)], held[0][0])
            self._fragments_done[key] = pieces
            while len(self._fragments_done) > FRAGMENT_SETS_KEPT:
                del self._fragments_done[next(iter(self._fragments_done))]
            out += [self._fragment(held_datagram, pieces[piece.number]) for held_datagram, piece in held]
        return out

    def flush(self) -> list[IkeDatagram]:
        """The Cisco fragments still held (their message never completed), with their SPIs replaced."""
        held = [d for pieces in self._fragments.values() for d, _ in pieces]
        self._fragments.clear()
        return [self.datagram(d) for d in sorted(held, key=lambda d: d.frame)]

    def _refragment(self, fragments: list[CiscoFragmentPayload], first: IkeDatagram) -> dict[int, bytes]:
        """The rewritten message cut into as many pieces as it came in, by fragment number."""
        whole = self._message(b"".join(fragment.data for fragment in fragments), first)
        sizes = [len(fragment.data) for fragment in fragments]
        if sum(sizes[:-1]) >= len(whole):
            sizes = [-(-len(whole) // len(sizes))] * len(sizes)
        pieces, position = {}, 0
        for index, fragment in enumerate(fragments):
            end = len(whole) if index == len(fragments) - 1 else position + sizes[index]
            pieces[fragment.number] = whole[position:end]
            position = end
        return pieces

    def _fragment(self, d: IkeDatagram, piece: bytes) -> IkeDatagram:
        """A fragment datagram carrying `piece`: placeholder SPIs and addresses, lengths fixed."""
        raw = bytes(d.data)
        fragment_header = raw[ISAKMP_HEADER_LENGTH:ISAKMP_HEADER_LENGTH + 8]  # generic header, id, number, flags
        fragment_header = fragment_header[:2] + (8 + len(piece)).to_bytes(2, "big") + fragment_header[4:]
        header = self.spi(raw[:8]) + self.spi(raw[8:16]) + raw[16:24] \
            + (ISAKMP_HEADER_LENGTH + 8 + len(piece)).to_bytes(4, "big")
        return dataclasses.replace(d, src=self.address(d.src), dst=self.address(d.dst),
                                   data=header + fragment_header + piece)

    def datagram(self, d: IkeDatagram) -> IkeDatagram:
        """A copy with placeholder addresses, header SPIs and clear identity/certificate payloads (a Cisco
        fragment only has its SPIs replaced: `datagrams` rewrites fragmented messages whole)."""
        data, position, parts = bytes(d.data), 0, []
        while len(data) - position >= ISAKMP_HEADER_LENGTH:
            length = int.from_bytes(data[position + 24:position + 28], "big")
            end = len(data) if length < ISAKMP_HEADER_LENGTH else min(len(data), position + length)
            parts.append(self._message(data[position:end], d))
            position = end
        tail = data[position:]  # a header cut short: its SPIs still go
        if len(tail) >= 8:
            tail = self.spi(tail[:8]) + (self.spi(tail[8:16]) + tail[16:] if len(tail) >= 16 else tail[8:])
        parts.append(tail)
        return dataclasses.replace(d, src=self.address(d.src), dst=self.address(d.dst), data=b"".join(parts))

    def _message(self, raw: bytes, d: IkeDatagram) -> bytes:
        message = parse_message(raw)
        self.learn(message)
        header = message.header
        endpoints = self._endpoints.setdefault(bytes(header.spi_i), set())
        endpoints.update({(d.src, d.sport), (d.dst, d.dport)})
        while len(self._endpoints) > ENDPOINTS_KEPT:
            del self._endpoints[next(iter(self._endpoints))]
        spis = self.spi(header.spi_i) + self.spi(header.spi_r)
        payloads = message.payloads
        if message.version not in (1, 2) or (message.version == 1 and message.encrypted) or not payloads:
            return spis + raw[16:]
        bodies = [self._payload(raw[p.offset + 4:p.offset + p.length], p, message, d) for p in payloads]
        tiled = payloads[0].offset == ISAKMP_HEADER_LENGTH and all(
            p.length >= 4 and p.offset + p.length == (q.offset if q is not None else min(len(raw), header.length))
            for p, q in zip(payloads, [*payloads[1:], None]))
        out = bytearray(spis + raw[16:ISAKMP_HEADER_LENGTH])
        if tiled:
            for payload, body in zip(payloads, bodies):
                out += raw[payload.offset:payload.offset + 2] + (4 + len(body)).to_bytes(2, "big") + body
            tail = raw[payloads[-1].offset + payloads[-1].length:]
            out[24:28] = (len(out) + max(0, header.length - len(raw))).to_bytes(4, "big")
            return bytes(out + tail)
        out += raw[ISAKMP_HEADER_LENGTH:]  # malformed: overwrite in place, same lengths
        for payload, body in zip(payloads, bodies):
            start = payload.offset + 4
            room = max(0, min(len(raw), payload.offset + payload.length) - start)
            out[start:start + room] = body[:room].ljust(room, b"\0")
        return bytes(out)

    def _payload(self, body: bytes, payload: Payload, message: Message, d: IkeDatagram) -> bytes:
        """The body a `-w` capture carries for a payload in clear."""
        if message.version == 2 and payload.type in ENCRYPTED_V2:
            return body
        if isinstance(payload, CiscoFragmentPayload):  # the first one starts with the message's header
            header = message.header
            return body.replace(header.spi_i, self.spi(header.spi_i)).replace(header.spi_r, self.spi(header.spi_r)) \
                if any(header.spi_i) else body
        if isinstance(payload, (Identification, IdentificationPayload)) and len(body) >= 4:
            return body[:4] + self._blobs.get(payload.data, payload.data)
        if isinstance(payload, (Certificate, CertificatePayload)) and body:
            return body[:1] + self._certificate(payload.encoding, payload.data)
        if isinstance(payload, CertificateRequest) and body:
            return body[:1] + self._authority_hashes(payload.data)
        if isinstance(payload, CertificateRequestPayload) and body and payload.authority:
            self._dn(payload.authority)
            return body[:1] + self._blobs[payload.authority]
        if isinstance(payload, Notify) and payload.notify_type in NATD_V2 and message.version == 2 and payload.data:
            return body[:len(body) - len(payload.data)] + self._natd(payload.data, message, d)
        if isinstance(payload, NatDiscoveryPayload) and payload.type in NATD_V1:
            return self._natd(body, message, d)
        if isinstance(payload, Notify) and payload.notify_type in REDIRECTS and payload.decoded.get("gateway_type") == 3:
            data = payload.data
            name = self._name(data[2:2 + data[1]].decode("utf-8", "backslashreplace"), "host").encode()
            body = body[:len(body) - len(data)] + bytes([3, len(name)]) + name + data[2 + data[1]:]
        held: list[bytes] = []  # the SPIs and addresses the dissector found in this payload
        _walk_spis(payload, held.append)
        for value in held:
            if any(value) and value in body:
                body = body.replace(value, self.spi(value))
        addresses = [payload.address] if isinstance(payload, NatOriginalAddressPayload) else \
            [payload.decoded.get(key) for key in ("gateway", "address")] if isinstance(payload, Notify) else []
        for address in addresses:
            try:
                packed = ipaddress.ip_address(str(address)).packed
            except ValueError:
                continue
            body = body.replace(packed, self._packed(packed))
        return body

    def _natd(self, digest: bytes, message: Message, d: IkeDatagram) -> bytes:
        """A NAT-D hash over the placeholders of the address and port it matched, or, when it matched
        none of those seen, a value that matches nothing either."""
        header = message.header
        name = "SHA1" if message.version == 2 else HASH_BY_LENGTH.get(len(digest))
        if name is not None:
            endpoints = self._endpoints.get(bytes(header.spi_i), set())
            addresses = {d.src, d.dst, *(address for address, _ in endpoints)}
            ports = {d.sport, d.dport, 500, 4500, 0, *(port for _, port in endpoints)}
            for address in addresses:
                for port in ports:
                    if expected_hash(message.version, header.spi_i, header.spi_r, address, port, name) == digest:
                        return expected_hash(message.version, self.spi(header.spi_i), self.spi(header.spi_r),
                                             self.address(address), port, name)
        return hashlib.sha512(b"ikesniff redacted NAT-D" + digest).digest()[:len(digest)].ljust(len(digest), b"\0")


def _cisco_fragment(data: bytes) -> tuple[Header, CiscoFragmentPayload] | None:
    """The header and fragment of a datagram that is one whole IKEv1 message holding one Cisco fragment."""
    header = parse_header(memoryview(data))
    if header is None or header.major_version != 1 or header.next_payload != CISCO_FRAGMENT \
            or header.length != len(data):
        return None
    message = parse_message(data)
    payloads = message.payloads
    if message.errors or len(payloads) != 1 or not isinstance(payloads[0], CiscoFragmentPayload):
        return None
    return header, payloads[0]


def _walk_spis(value: Any, spi: Callable[[bytes], Any]) -> None:
    """Every SPI held in a payload (proposals, notifies, deletes), however deep."""
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return
    for field in dataclasses.fields(value):
        item = getattr(value, field.name)
        if field.name == "spi" and isinstance(item, bytes):
            spi(item)
        elif field.name == "spis" and isinstance(item, list):
            for one in item:
                spi(one)
        elif isinstance(item, (list, tuple)):
            for one in item:
                _walk_spis(one, spi)
        elif dataclasses.is_dataclass(item):
            _walk_spis(item, spi)


def _looks_like_host(value: str) -> bool:
    return "." in value and re.fullmatch(r"[A-Za-z0-9*][A-Za-z0-9.*-]*", value) is not None


def _placeholder_name(placeholder: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, placeholder.removeprefix("CN="))])
