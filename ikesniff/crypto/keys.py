"""Key material for decrypting IKE: loaded from the files engineers already have, checked, and kept by SA.

Theory of operation
-------------------
Decrypting an IKE SA needs its keys, and engineers hold them in one of a few text formats:

* Wireshark's ``ikev2_decryption_table`` (UAT CSV: spi_i, spi_r, SK_ei, SK_er, "encryption", SK_ai, SK_ar,
  "integrity"; bare hex, quoted algorithm strings that must be byte-exact Wireshark 4.x strings) -- also
  what strongSwan's save-keys plugin writes;
* Wireshark's ``ikev1_decryption_table`` (initiator cookie, encryption key);
* a strongSwan charon log written at ``ike 4``: key dumps (``Sk_ei secret => 16 bytes @ 0x..`` and hex rows,
  ``encryption key Ka``, ``SKEYID_e``, the DH secret) told apart by the IKE SA context (``<name|N>``),
  with SPIs from the ``checkin ... with SPIs`` lines and algorithms from ``selected proposal: IKE:...``;
* the ``ikev2 I|R 0x<spi_i> 0x<spi_r> <integ>:0x<key> <encr>:0x<key>`` lines of tcpdump's ``-E`` secrets
  file, which Openswan and older libreswan print in their debug logs (optionally behind ``| ``).

:func:`parse_keys` recognises the format by content and returns a :class:`KeyStore`, keyed by SPIs
(IKEv2) or initiator cookie (IKEv1). Every problem is a :class:`KeyFileError` whose text is one line
naming the file, the line and what is wrong -- never the key itself. :func:`export_tables` writes a
store back as Wireshark tables, for cross-checking a decryption in Wireshark.

The algorithm tables (:data:`ENCRYPTION_ALGORITHMS`, :data:`INTEGRITY_ALGORITHMS`) are keyed by
Wireshark's display strings and carry what a decryptor needs (IANA transform id, key, salt, IV and ICV
sizes). A few algorithms Wireshark 4.x cannot decrypt (ChaCha20-Poly1305, AES-XCBC-96, AES-CMAC-96)
are listed under strings of the same style with ``wireshark=False``.

What this module must not know: the tracker, diagnosis, output formats or the command line. It prints
nothing and touches no network; only :func:`load_key_file` reads a file, everything else works on text.
"""

from __future__ import annotations

import dataclasses
import difflib
import gzip
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, NoReturn, TypeVar

from . import charonlog

# --- algorithms ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EncryptionAlgorithm:
    """An IKEv2 encryption transform as Wireshark's decryption table names it."""

    transform_id: int
    """IANA IKEv2 Transform Type 1 id (RFC 7296 section 3.3.2 and its registry)."""
    key_bits: int
    """Cipher key length in bits, without salt (0 for NULL)."""
    cipher: Literal["null", "3des", "aes", "chacha20"]
    mode: Literal["null", "cbc", "ctr", "gcm", "ccm", "poly1305"]
    aead: bool
    """Integrity comes with the cipher: the integrity algorithm must be NONE."""
    salt_octets: int
    """Octets at the end of SK_e that are salt / nonce (RFC 5930, RFC 5282, RFC 7634)."""
    iv_octets: int
    """IV octets sent at the start of the Encrypted payload."""
    block_octets: int
    """Padding block the plaintext is aligned to (1: no alignment)."""
    icv_octets: int
    """AEAD tag length; 0 when a separate integrity algorithm supplies the ICV."""
    wireshark: bool = True
    """Wireshark 4.x accepts this string in its ikev2_decryption_table."""

    @property
    def key_octets(self) -> int:
        """Length of SK_ei / SK_er: key plus salt, as IKEv2 derives them and Wireshark stores them."""
        return self.key_bits // 8 + self.salt_octets


@dataclass(frozen=True, slots=True)
class IntegrityAlgorithm:
    """An IKEv2 integrity transform as Wireshark's decryption table names it."""

    transform_id: int | None
    """IANA IKEv2 Transform Type 3 id; None for Wireshark's pseudo-algorithms (no IANA number)."""
    key_octets: int
    """Length of SK_ai / SK_ar."""
    icv_octets: int
    """Checksum octets at the end of the message."""
    mac: Literal["none", "hmac", "xcbc", "cmac", "unchecked"]
    """``unchecked``: Wireshark's "ANY n-bits" -- skip n octets, verify nothing."""
    hash: Literal["md5", "sha1", "sha256", "sha384", "sha512"] | None = None
    wireshark: bool = True


def _encryption_table() -> dict[str, EncryptionAlgorithm]:
    table = {
        "NULL [RFC2410]": EncryptionAlgorithm(11, 0, "null", "null", False, 0, 0, 1, 0),
        "3DES [RFC2451]": EncryptionAlgorithm(3, 192, "3des", "cbc", False, 0, 8, 8, 0),
    }
    for bits in (128, 192, 256):
        table[f"AES-CBC-{bits} [RFC3602]"] = EncryptionAlgorithm(12, bits, "aes", "cbc", False, 0, 16, 16, 0)
    for bits in (128, 192, 256):
        table[f"AES-CTR-{bits} [RFC5930]"] = EncryptionAlgorithm(13, bits, "aes", "ctr", False, 4, 8, 1, 0)
    # RFC 5282: GCM keys carry a 4-octet salt, CCM keys a 3-octet salt; both send an 8-octet IV
    for icv, transform_id in ((8, 18), (12, 19), (16, 20)):
        for bits in (128, 192, 256):
            table[f"AES-GCM-{bits} with {icv} octet ICV [RFC5282]"] = EncryptionAlgorithm(
                transform_id, bits, "aes", "gcm", True, 4, 8, 1, icv)
    for icv, transform_id in ((8, 14), (12, 15), (16, 16)):
        for bits in (128, 192, 256):
            table[f"AES-CCM-{bits} with {icv} octet ICV [RFC5282]"] = EncryptionAlgorithm(
                transform_id, bits, "aes", "ccm", True, 3, 8, 1, icv)
    # not in Wireshark 4.x's table: named in its style so that ikesniff can still hold and use the keys
    table["ChaCha20-Poly1305 [RFC7634]"] = EncryptionAlgorithm(
        28, 256, "chacha20", "poly1305", True, 4, 8, 1, 16, wireshark=False)
    return table


ENCRYPTION_ALGORITHMS: dict[str, EncryptionAlgorithm] = _encryption_table()
"""Wireshark 4.x ikev2_decryption_table encryption strings (packet-isakmp.c) -> what decryption needs."""

INTEGRITY_NONE = "NONE [RFC4306]"

INTEGRITY_ALGORITHMS: dict[str, IntegrityAlgorithm] = {
    INTEGRITY_NONE: IntegrityAlgorithm(0, 0, 0, "none"),
    "HMAC_MD5_96 [RFC2403]": IntegrityAlgorithm(1, 16, 12, "hmac", "md5"),
    "HMAC_SHA1_96 [RFC2404]": IntegrityAlgorithm(2, 20, 12, "hmac", "sha1"),
    "HMAC_MD5_128 [RFC4595]": IntegrityAlgorithm(6, 16, 16, "hmac", "md5"),
    "HMAC_SHA1_160 [RFC4595]": IntegrityAlgorithm(7, 20, 20, "hmac", "sha1"),
    # a pre-RFC 4868 truncation some old peers used; IANA never assigned it a number
    "HMAC_SHA2_256_96 [draft-ietf-ipsec-ciph-sha-256-00]": IntegrityAlgorithm(None, 32, 12, "hmac", "sha256"),
    "HMAC_SHA2_256_128 [RFC4868]": IntegrityAlgorithm(12, 32, 16, "hmac", "sha256"),
    "HMAC_SHA2_384_192 [RFC4868]": IntegrityAlgorithm(13, 48, 24, "hmac", "sha384"),
    "HMAC_SHA2_512_256 [RFC4868]": IntegrityAlgorithm(14, 64, 32, "hmac", "sha512"),
    # Wireshark's "skip the ICV" entries: no key, nothing verified
    **{f"ANY {bits}-bits of Authentication [No Checking]": IntegrityAlgorithm(None, 0, bits // 8, "unchecked")
       for bits in (64, 96, 128, 160, 192, 256)},
    # not in Wireshark 4.x's table
    "AES_XCBC_96 [RFC3566]": IntegrityAlgorithm(5, 16, 12, "xcbc", wireshark=False),
    "AES_CMAC_96 [RFC4494]": IntegrityAlgorithm(8, 16, 12, "cmac", wireshark=False),
}
"""Wireshark 4.x ikev2_decryption_table integrity strings (packet-isakmp.c) -> what verification needs."""


# strongSwan's proposal names (``selected proposal: IKE:AES_CBC_128/HMAC_SHA2_256_128/...``) -> Wireshark strings
CHARON_ENCRYPTION: dict[str, str] = {
    "NULL": "NULL [RFC2410]",
    "3DES_CBC": "3DES [RFC2451]",
    **{f"AES_CBC_{b}": f"AES-CBC-{b} [RFC3602]" for b in (128, 192, 256)},
    **{f"AES_CTR_{b}": f"AES-CTR-{b} [RFC5930]" for b in (128, 192, 256)},
    **{f"AES_GCM_{i}_{b}": f"AES-GCM-{b} with {i} octet ICV [RFC5282]" for i in (8, 12, 16) for b in (128, 192, 256)},
    **{f"AES_CCM_{i}_{b}": f"AES-CCM-{b} with {i} octet ICV [RFC5282]" for i in (8, 12, 16) for b in (128, 192, 256)},
    "CHACHA20_POLY1305": "ChaCha20-Poly1305 [RFC7634]",
    "CHACHA20_POLY1305_256": "ChaCha20-Poly1305 [RFC7634]",
}
CHARON_INTEGRITY: dict[str, str] = {
    "HMAC_MD5_96": "HMAC_MD5_96 [RFC2403]",
    "HMAC_SHA1_96": "HMAC_SHA1_96 [RFC2404]",
    "HMAC_MD5_128": "HMAC_MD5_128 [RFC4595]",
    "HMAC_SHA1_160": "HMAC_SHA1_160 [RFC4595]",
    "HMAC_SHA2_256_96": "HMAC_SHA2_256_96 [draft-ietf-ipsec-ciph-sha-256-00]",
    "HMAC_SHA2_256_128": "HMAC_SHA2_256_128 [RFC4868]",
    "HMAC_SHA2_384_192": "HMAC_SHA2_384_192 [RFC4868]",
    "HMAC_SHA2_512_256": "HMAC_SHA2_512_256 [RFC4868]",
    "AES_XCBC_96": "AES_XCBC_96 [RFC3566]",
    "AES_CMAC_96": "AES_CMAC_96 [RFC4494]",
}

# tcpdump -E / Openswan / libreswan names (libreswan's *_tcpdump_name, key bits appended) -> Wireshark strings
TCPDUMP_ENCRYPTION: dict[str, str] = {
    "null": "NULL [RFC2410]",
    **{name: "3DES [RFC2451]" for name in ("3des", "3des-cbc", "des-ede3-cbc", "des-ede3")},
    **{name.format(b): f"AES-CBC-{b} [RFC3602]" for b in (128, 192, 256)
       for name in ("aes{}", "aes{}-cbc", "aes-{}-cbc", "aes_cbc{}")},
    **{f"aes_ctr{b}": f"AES-CTR-{b} [RFC5930]" for b in (128, 192, 256)},
    # libreswan gives AES_GCM_8 the plain name "aes_gcm"
    **{f"aes_gcm{b}": f"AES-GCM-{b} with 8 octet ICV [RFC5282]" for b in (128, 192, 256)},
    **{f"aes_gcm_{i}{b}": f"AES-GCM-{b} with {i} octet ICV [RFC5282]" for i in (8, 12, 16) for b in (128, 192, 256)},
    **{f"aes_ccm_{i}{b}": f"AES-CCM-{b} with {i} octet ICV [RFC5282]" for i in (8, 12, 16) for b in (128, 192, 256)},
    "chacha20_poly1305": "ChaCha20-Poly1305 [RFC7634]",
    "chacha20_poly1305256": "ChaCha20-Poly1305 [RFC7634]",
}
TCPDUMP_INTEGRITY: dict[str, str] = {
    "none": INTEGRITY_NONE,
    "md5": "HMAC_MD5_96 [RFC2403]",
    "sha1": "HMAC_SHA1_96 [RFC2404]",
    "sha256": "HMAC_SHA2_256_128 [RFC4868]",
    "sha2_256": "HMAC_SHA2_256_128 [RFC4868]",
    "sha384": "HMAC_SHA2_384_192 [RFC4868]",
    "sha2_384": "HMAC_SHA2_384_192 [RFC4868]",
    "sha512": "HMAC_SHA2_512_256 [RFC4868]",
    "sha2_512": "HMAC_SHA2_512_256 [RFC4868]",
    "aes_xcbc": "AES_XCBC_96 [RFC3566]",
    "aes_cmac": "AES_CMAC_96 [RFC4494]",
}

# strongSwan's swanctl.conf / ipsec.conf keywords (aes128, aes256gcm16, ...), for suggestions only
SWANCTL_ENCRYPTION: dict[str, str] = {
    "3des": "3DES [RFC2451]",
    "chacha20poly1305": "ChaCha20-Poly1305 [RFC7634]",
    **{f"aes{b}": f"AES-CBC-{b} [RFC3602]" for b in (128, 192, 256)},
    **{f"aes{b}ctr": f"AES-CTR-{b} [RFC5930]" for b in (128, 192, 256)},
    **{f"aes{b}gcm{i}": f"AES-GCM-{b} with {i} octet ICV [RFC5282]" for i in (8, 12, 16) for b in (128, 192, 256)},
    **{f"aes{b}ccm{i}": f"AES-CCM-{b} with {i} octet ICV [RFC5282]" for i in (8, 12, 16) for b in (128, 192, 256)},
}

TCPDUMP_EXAMPLES = ("aes128, aes256, 3des, aes_ctr128, aes_gcm_16256, chacha20_poly1305, null",
                    "sha1, sha256, sha384, sha512, md5, aes_xcbc, none")

SPI_OCTETS = 8
# IKEv1 encryption keys Wireshark can use: DES (8), AES-128 (16), 3DES / AES-192 (24), AES-256 (32)
IKEV1_KEY_OCTETS = (8, 16, 24, 32)


# --- key records and the store ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ikev2Keys:
    """The keys of one IKEv2 SA: what a row of Wireshark's ikev2_decryption_table holds."""

    spi_i: bytes
    spi_r: bytes
    encryption: str
    """Wireshark's exact string, a key of :data:`ENCRYPTION_ALGORITHMS`."""
    sk_ei: bytes
    """Initiator's encryption key (for AEAD and CTR: key followed by salt, as Wireshark stores it)."""
    sk_er: bytes
    integrity: str
    """Wireshark's exact string, a key of :data:`INTEGRITY_ALGORITHMS`."""
    sk_ai: bytes
    sk_ar: bytes
    source: str
    """``file:line`` the keys came from."""
    sk_d: bytes | None = None
    sk_pi: bytes | None = None
    """Initiator's AUTH key (charon logs only): lets a PSK or signature AUTH be verified."""
    sk_pr: bytes | None = None
    dh_secret: bytes | None = None

    def __repr__(self) -> str:  # keys stay out of logs and tracebacks
        return (f"Ikev2Keys(spi_i={self.spi_i.hex()}, spi_r={self.spi_r.hex()}, encryption={self.encryption!r}, "
                f"integrity={self.integrity!r}, source={self.source!r})")

    @property
    def encryption_algorithm(self) -> EncryptionAlgorithm:
        return ENCRYPTION_ALGORITHMS[self.encryption]

    @property
    def integrity_algorithm(self) -> IntegrityAlgorithm:
        return INTEGRITY_ALGORITHMS[self.integrity]

    def same_keys(self, other: Ikev2Keys) -> bool:
        """Same SA, algorithms and SK_e/SK_a keys (where they came from does not matter)."""
        return _ikev2_material(self) == _ikev2_material(other)


@dataclass(frozen=True, slots=True)
class Ikev1Keys:
    """The keys of one IKEv1 SA: what a row of Wireshark's ikev1_decryption_table holds, plus log extras."""

    spi_i: bytes
    """Initiator cookie; empty for a key set whose log names no cookies (see :attr:`KeyStore.unbound_ikev1`)."""
    encryption_key: bytes
    """The phase-1 encryption key (strongSwan's Ka: SKEYID_e, expanded or cut to the cipher's key length).
    Empty when the log gave only what it is derived from (:attr:`derivable`): the decryptor works it out from
    SKEYID_e, or SKEYID and the DH secret, or the DH secret and a pre-shared key, with the nonces, cookies and
    negotiated algorithms of the capture (RFC 2409 section 5 and Appendix B)."""
    source: str
    skeyid_e: bytes | None = None
    dh_secret: bytes | None = None
    spi_r: bytes | None = None
    """Responder cookie, when the log names it."""
    skeyid: bytes | None = None
    skeyid_a: bytes | None = None
    skeyid_d: bytes | None = None

    def __repr__(self) -> str:
        return f"Ikev1Keys(spi_i={self.spi_i.hex()}, source={self.source!r})"

    @property
    def derivable(self) -> bool:
        """No encryption key, only material it is derived from (SKEYID_e, SKEYID, the DH secret)."""
        return not self.encryption_key

    def same_keys(self, other: Ikev1Keys) -> bool:
        return self.spi_i == other.spi_i and _ikev1_material(self) == _ikev1_material(other)


def _ikev1_material(keys: Ikev1Keys) -> tuple[bytes | None, ...]:
    if keys.encryption_key:
        return (keys.encryption_key,)
    return (None, keys.skeyid_e, keys.skeyid, keys.dh_secret)


def _ikev2_material(keys: Ikev2Keys) -> tuple[object, ...]:
    return (keys.spi_i, keys.spi_r, keys.encryption, keys.sk_ei, keys.sk_er, keys.integrity, keys.sk_ai, keys.sk_ar)


_Keys = TypeVar("_Keys", Ikev1Keys, Ikev2Keys)


def _fill_extras(kept: _Keys, extra: _Keys, names: tuple[str, ...]) -> _Keys:
    missing = {name: getattr(extra, name) for name in names
               if getattr(kept, name) is None and getattr(extra, name) is not None}
    return dataclasses.replace(kept, **missing) if missing else kept


_IKEV2_EXTRAS = ("sk_d", "sk_pi", "sk_pr", "dh_secret")
_IKEV1_EXTRAS = ("skeyid_e", "dh_secret", "spi_r", "skeyid", "skeyid_a", "skeyid_d")


UNBOUND_TRIES = 4
"""Encrypted messages of one SA on which the unbound key sets are tried before that SA is given up on."""
UNBOUND_SAS_REMEMBERED = 4096


@dataclass(slots=True)
class KeyStore:
    """Keys by SA: IKEv2 by (spi_i, spi_r), IKEv1 by initiator cookie.

    When two sources give *different* keys for the same SA (the two peers of an IKEv1 PSK mismatch derive
    different keys), the first stays the answer of :meth:`ikev2_for` / :meth:`ikev1_for` and the others are
    kept as alternatives: :meth:`ikev2_candidates` / :meth:`ikev1_candidates` return them all.

    Key sets that cannot be tied to an SA (a charon log whose ``checkin ... with SPIs`` lines are missing,
    or that holds only a DH secret dump) are kept *unbound*: :meth:`ikev2_unbound_for` /
    :meth:`ikev1_unbound_for` offer them to an SA that has no keys of its own, the decryptor tries them
    (IKEv2: the ICV must verify; IKEv1: the decrypted payload chain must parse), and :meth:`bind_ikev2` /
    :meth:`bind_ikev1` file the one that read a message under that SA for good. An SA that none of them
    reads after :data:`UNBOUND_TRIES` encrypted messages is not offered them again (:meth:`unbound_missed`).
    """

    ikev2: dict[tuple[bytes, bytes], Ikev2Keys] = field(default_factory=dict)
    ikev1: dict[bytes, Ikev1Keys] = field(default_factory=dict)
    ikev2_alternatives: dict[tuple[bytes, bytes], list[Ikev2Keys]] = field(default_factory=dict)
    ikev1_alternatives: dict[bytes, list[Ikev1Keys]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    """One-line remarks worth telling the user (never a key), e.g. a charon log that held no keys."""
    unbound_ikev2: list[Ikev2Keys] = field(default_factory=list)
    """IKEv2 key sets whose SPIs the source does not give (``spi_i`` / ``spi_r`` empty, or only ``spi_i``)."""
    unbound_ikev1: list[Ikev1Keys] = field(default_factory=list)
    """IKEv1 key sets whose cookies the source does not give (``spi_i`` empty)."""
    _misses: dict[tuple[bytes, bytes], int] = field(default_factory=dict, repr=False)
    trials: list[tuple[Ikev2Keys | Ikev1Keys, int, bytes]] = field(default_factory=list, repr=False)
    """(unbound key set, IKE version, initiator SPI) each time trial decryption filed one under an SA."""

    def __len__(self) -> int:
        return len(self.ikev2) + len(self.ikev1) + len(self.unbound_ikev2) + len(self.unbound_ikev1)

    def add_ikev2(self, keys: Ikev2Keys) -> None:
        if not keys.spi_r:
            if not any(one.same_keys(keys) for one in self.unbound_ikev2):
                self.unbound_ikev2.append(keys)
            return
        index = (keys.spi_i, keys.spi_r)
        kept = self.ikev2.get(index)
        if kept is None:
            self.ikev2[index] = keys
            return
        for position, candidate in enumerate([kept, *self.ikev2_alternatives.get(index, [])]):
            if candidate.same_keys(keys):
                merged = _fill_extras(candidate, keys, _IKEV2_EXTRAS)
                if position == 0:
                    self.ikev2[index] = merged
                else:
                    self.ikev2_alternatives[index][position - 1] = merged
                return
        self.ikev2_alternatives.setdefault(index, []).append(keys)

    def add_ikev1(self, keys: Ikev1Keys) -> None:
        if not keys.spi_i:
            if not any(one.same_keys(keys) for one in self.unbound_ikev1):
                self.unbound_ikev1.append(keys)
            return
        kept = self.ikev1.get(keys.spi_i)
        if kept is None:
            self.ikev1[keys.spi_i] = keys
            return
        for position, candidate in enumerate([kept, *self.ikev1_alternatives.get(keys.spi_i, [])]):
            if candidate.same_keys(keys):
                merged = _fill_extras(candidate, keys, _IKEV1_EXTRAS)
                if position == 0:
                    self.ikev1[keys.spi_i] = merged
                else:
                    self.ikev1_alternatives[keys.spi_i][position - 1] = merged
                return
        self.ikev1_alternatives.setdefault(keys.spi_i, []).append(keys)

    def add(self, other: KeyStore) -> None:
        """Merge another store into this one (e.g. the keys of a second ``--keys`` file)."""
        self.notes.extend(note for note in other.notes if note not in self.notes)
        for index, keys in other.ikev2.items():
            for one in (keys, *other.ikev2_alternatives.get(index, [])):
                self.add_ikev2(one)
        for cookie, v1keys in other.ikev1.items():
            for one1 in (v1keys, *other.ikev1_alternatives.get(cookie, [])):
                self.add_ikev1(one1)
        for unbound2 in other.unbound_ikev2:
            self.add_ikev2(unbound2)
        for unbound1 in other.unbound_ikev1:
            self.add_ikev1(unbound1)

    def ikev2_for(self, spi_i: bytes, spi_r: bytes) -> Ikev2Keys | None:
        return self.ikev2.get((bytes(spi_i), bytes(spi_r)))

    def ikev1_for(self, spi_i: bytes) -> Ikev1Keys | None:
        return self.ikev1.get(bytes(spi_i))

    def ikev2_candidates(self, spi_i: bytes, spi_r: bytes) -> list[Ikev2Keys]:
        """Every distinct key set known for the SA, the preferred one first."""
        index = (bytes(spi_i), bytes(spi_r))
        first = self.ikev2.get(index)
        return [] if first is None else [first, *self.ikev2_alternatives.get(index, [])]

    def ikev1_candidates(self, spi_i: bytes) -> list[Ikev1Keys]:
        first = self.ikev1.get(bytes(spi_i))
        return [] if first is None else [first, *self.ikev1_alternatives.get(bytes(spi_i), [])]

    # -- key sets not tied to an SA --------------------------------------------------------------------------

    def ikev2_unbound_for(self, spi_i: bytes, spi_r: bytes) -> list[Ikev2Keys]:
        """The unbound IKEv2 key sets worth trying on a message of this SA (those naming another initiator
        SPI left out); none once the SA has used up its :data:`UNBOUND_TRIES`."""
        if not self.unbound_ikev2 or self._misses.get((bytes(spi_i), bytes(spi_r)), 0) >= UNBOUND_TRIES:
            return []
        return [keys for keys in self.unbound_ikev2 if not keys.spi_i or keys.spi_i == bytes(spi_i)]

    def ikev1_unbound_for(self, spi_i: bytes, spi_r: bytes) -> list[Ikev1Keys]:
        """The unbound IKEv1 key sets worth trying on this SA (see :meth:`ikev2_unbound_for`)."""
        if not self.unbound_ikev1 or self._misses.get((bytes(spi_i), bytes(spi_r)), 0) >= UNBOUND_TRIES:
            return []
        return list(self.unbound_ikev1)

    def unbound_missed(self, spi_i: bytes, spi_r: bytes) -> None:
        """None of the unbound key sets read an encrypted message of this SA."""
        index = (bytes(spi_i), bytes(spi_r))
        self._misses[index] = self._misses.pop(index, 0) + 1
        while len(self._misses) > UNBOUND_SAS_REMEMBERED:
            del self._misses[next(iter(self._misses))]

    def bind_ikev2(self, keys: Ikev2Keys, spi_i: bytes, spi_r: bytes) -> Ikev2Keys:
        """File an unbound key set under the SA whose message it read (its ICV verified); returns the bound copy."""
        bound = dataclasses.replace(keys, spi_i=bytes(spi_i), spi_r=bytes(spi_r))
        self.trials.append((keys, 2, bytes(spi_i)))
        self.unbound_ikev2 = [one for one in self.unbound_ikev2 if one is not keys]
        self.add_ikev2(bound)
        return bound

    def bind_ikev1(self, keys: Ikev1Keys, spi_i: bytes, spi_r: bytes) -> None:
        """File an unbound key set under the SA whose message it read. The record itself is filed, unchanged
        (its ``spi_i`` stays empty), so that the decryptor's per-key bookkeeping goes on with the same object."""
        self.unbound_ikev1 = [one for one in self.unbound_ikev1 if one is not keys]
        cookie = bytes(spi_i)
        self.trials.append((keys, 1, cookie))
        if cookie not in self.ikev1:
            self.ikev1[cookie] = keys
        elif all(one is not keys for one in self.ikev1_candidates(cookie)):
            self.ikev1_alternatives.setdefault(cookie, []).append(keys)


class KeyFileError(Exception):
    """A key file that cannot be used. ``str()`` is one line: ``file:line: problem`` (never a key)."""

    def __init__(self, name: str, line: int | None, problem: str) -> None:
        self.name = name
        self.line = line
        self.problem = problem
        where = f"{name}:{line}" if line is not None else name
        super().__init__(f"{where}: {problem}")


# --- Wireshark decryption tables ----------------------------------------------------------------------------

IKEV2_COLUMNS = ("spi_i", "spi_r", "SK_ei", "SK_er", "encryption algorithm", "SK_ai", "SK_ar", "integrity algorithm")
IKEV1_COLUMNS = ("initiator cookie", "encryption key")


def _uat_fields(line: str, name: str, number: int) -> list[str]:
    """Split one UAT line into its fields. Quoted fields may hold commas and ``\\xNN`` escapes."""
    fields: list[str] = []
    position, length = 0, len(line)
    while True:
        while position < length and line[position] in " \t":
            position += 1
        if position < length and line[position] == '"':
            position += 1
            value = []
            while True:
                if position >= length:
                    raise KeyFileError(name, number, "a quoted field is not closed")
                char = line[position]
                if char == '"':
                    position += 1
                    break
                if char == "\\" and position + 1 < length:
                    escaped = line[position + 1]
                    if escaped == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", line[position + 2:position + 4]):
                        value.append(chr(int(line[position + 2:position + 4], 16)))
                        position += 4
                        continue
                    value.append(escaped)
                    position += 2
                    continue
                value.append(char)
                position += 1
            fields.append("".join(value))
            while position < length and line[position] in " \t":
                position += 1
            if position < length and line[position] != ",":
                raise KeyFileError(name, number, "text after a quoted field (fields are separated by commas)")
        else:
            end = line.find(",", position)
            end = length if end < 0 else end
            fields.append(line[position:end].strip())
            position = end
        if position >= length:
            return fields
        position += 1  # the comma


def _hex_field(value: str, what: str, name: str, number: int) -> bytes:
    digits = value[2:] if value[:2] in ("0x", "0X") else value
    if not re.fullmatch(r"[0-9a-fA-F]*", digits):
        bad = next(i for i, c in enumerate(digits, 1) if c not in "0123456789abcdefABCDEF")
        raise KeyFileError(name, number,
                           f"{what} is not hexadecimal (character {bad} of {len(digits)} is not a hex digit)")
    if len(digits) % 2:
        raise KeyFileError(name, number, f"{what} has an odd number of hex digits ({len(digits)})")
    return bytes.fromhex(digits)


def _suggest(value: str, known: Mapping[str, object], aliases: Mapping[str, str],
             fits: Callable[[str], bool] = lambda _: True) -> str:
    """'; did you mean "X"?' for a misspelt or foreign algorithm name, or ''.

    ``fits`` says whether a candidate suits the row's key lengths: of several close strings (AES-GCM
    at 128, 192 and 256 bits) the one the keys fit is offered.
    """
    folded = {k.casefold(): k for k in known}
    if value.casefold() in folded:
        return f'; did you mean "{folded[value.casefold()]}"?'
    for alias, target in aliases.items():
        if value.strip().casefold() == alias.casefold():
            return f'; did you mean "{target}"?'
    close = difflib.get_close_matches(value, list(known), n=8, cutoff=0.6)
    best = next((candidate for candidate in close if fits(candidate)), close[0] if close else None)
    return f'; did you mean "{best}"?' if best else ""


def _show(text: str) -> str:
    """An algorithm string quoted for an error message, cut short if long."""
    return '"' + (text if len(text) <= 60 else text[:57] + "...") + '"'


def _encryption(value: str, key_octets: int, name: str, number: int) -> str:
    if value in ENCRYPTION_ALGORITHMS:
        return value
    if value in INTEGRITY_ALGORITHMS:
        raise KeyFileError(name, number, f"{_show(value)} is an integrity algorithm, found in the encryption column")
    aliases = {**CHARON_ENCRYPTION, **TCPDUMP_ENCRYPTION, **SWANCTL_ENCRYPTION}
    return _unknown("encryption", value, name, number, _suggest(
        value, ENCRYPTION_ALGORITHMS, aliases, lambda c: ENCRYPTION_ALGORITHMS[c].key_octets == key_octets))


def _integrity(value: str, key_octets: int, name: str, number: int) -> str:
    if value in INTEGRITY_ALGORITHMS:
        return value
    if value in ENCRYPTION_ALGORITHMS:
        raise KeyFileError(name, number, f"{_show(value)} is an encryption algorithm, found in the integrity column")
    aliases = {**CHARON_INTEGRITY, **TCPDUMP_INTEGRITY}
    return _unknown("integrity", value, name, number, _suggest(
        value, INTEGRITY_ALGORITHMS, aliases, lambda c: INTEGRITY_ALGORITHMS[c].key_octets == key_octets))


def _unknown(kind: str, value: str, name: str, number: int, suggestion: str) -> NoReturn:
    if not suggestion and "[RFC4106]" in value:  # the ESP SA table's strings, not the IKEv2 table's
        suggestion = "; that is an ESP SA string, the IKEv2 table names AES-GCM with its key size"
    raise KeyFileError(name, number, f"unknown {kind} algorithm {_show(value)}{suggestion}")


def _short_name(algorithm: str) -> str:
    return algorithm.split(" [", 1)[0]


def _check_ikev2(keys: Ikev2Keys, name: str, number: int) -> Ikev2Keys:
    """The checks Wireshark makes on a row (SPI sizes, key sizes, AEAD with NONE), in one-line words. Empty SPIs
    are those of a key set whose source names none (unbound)."""
    for what, spi in (("spi_i", keys.spi_i), ("spi_r", keys.spi_r)):
        if spi and len(spi) != SPI_OCTETS:
            raise KeyFileError(name, number, f"{what} has {len(spi)} octets, an IKE SPI has {SPI_OCTETS}")
    encryption = ENCRYPTION_ALGORITHMS[keys.encryption]
    integrity = INTEGRITY_ALGORITHMS[keys.integrity]
    if encryption.aead and integrity.mac != "none":
        raise KeyFileError(name, number, f"{_short_name(keys.encryption)} is an AEAD cipher: "
                           f'the integrity algorithm must be "{INTEGRITY_NONE}"')
    salt = f" ({encryption.key_bits // 8} key + {encryption.salt_octets} salt)" if encryption.salt_octets else ""
    for what, key in (("SK_ei", keys.sk_ei), ("SK_er", keys.sk_er)):
        if len(key) != encryption.key_octets:
            raise KeyFileError(name, number, f"{what} has {len(key)} octets, "
                               f"{_short_name(keys.encryption)} needs {encryption.key_octets}{salt}")
    for what, key in (("SK_ai", keys.sk_ai), ("SK_ar", keys.sk_ar)):
        if len(key) != integrity.key_octets:
            needs = f"needs {integrity.key_octets}" if integrity.key_octets else "takes no key (leave it empty)"
            raise KeyFileError(name, number, f"{what} has {len(key)} octets, {_short_name(keys.integrity)} {needs}")
    return keys


def _data_lines(text: str) -> Iterator[tuple[int, str]]:
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#"):
            yield number, line


def _parse_ikev2_table(text: str, name: str) -> KeyStore:
    store = KeyStore()
    for number, line in _data_lines(text):
        fields = _uat_fields(line, name, number)
        if len(fields) != len(IKEV2_COLUMNS):
            raise KeyFileError(name, number, f"{len(fields)} fields, an ikev2_decryption_table row has "
                               f"{len(IKEV2_COLUMNS)} ({', '.join(IKEV2_COLUMNS)})")
        spi_i, spi_r, sk_ei, sk_er, sk_ai, sk_ar = (
            _hex_field(fields[i], IKEV2_COLUMNS[i], name, number) for i in (0, 1, 2, 3, 5, 6))
        keys = Ikev2Keys(spi_i, spi_r, _encryption(fields[4], len(sk_ei), name, number), sk_ei, sk_er,
                         _integrity(fields[7], len(sk_ai), name, number), sk_ai, sk_ar, f"{name}:{number}")
        store.add_ikev2(_check_ikev2(keys, name, number))
    return store


def _check_ikev1(keys: Ikev1Keys, name: str, number: int) -> Ikev1Keys:
    if keys.spi_i and len(keys.spi_i) != SPI_OCTETS:
        raise KeyFileError(name, number, f"initiator cookie has {len(keys.spi_i)} octets, a cookie has {SPI_OCTETS}")
    if keys.derivable:
        if not (keys.skeyid_e or keys.dh_secret):
            raise KeyFileError(name, number, "no encryption key, and neither SKEYID_e nor a DH secret to derive it from")
        return keys
    if len(keys.encryption_key) not in IKEV1_KEY_OCTETS:
        raise KeyFileError(name, number, f"encryption key has {len(keys.encryption_key)} octets; IKEv1 keys have "
                           "8 (DES), 16 (AES-128), 24 (3DES, AES-192) or 32 (AES-256)")
    return keys


def _parse_ikev1_table(text: str, name: str) -> KeyStore:
    store = KeyStore()
    for number, line in _data_lines(text):
        fields = _uat_fields(line, name, number)
        if len(fields) != len(IKEV1_COLUMNS):
            raise KeyFileError(name, number, f"{len(fields)} fields, an ikev1_decryption_table row has "
                               f"{len(IKEV1_COLUMNS)} ({', '.join(IKEV1_COLUMNS)})")
        cookie, key = (_hex_field(fields[i], IKEV1_COLUMNS[i], name, number) for i in (0, 1))
        store.add_ikev1(_check_ikev1(Ikev1Keys(cookie, key, f"{name}:{number}"), name, number))
    return store


def _uat_row(*fields: str) -> str:
    return ",".join(fields)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def export_tables(store: KeyStore) -> dict[str, str]:
    """Wireshark UAT file contents (``ikev2_decryption_table``, ``ikev1_decryption_table``) for the store.

    Hex fields are bare and algorithm strings quoted, as Wireshark writes them (tshark rejects a table whose
    hex is quoted). Algorithms Wireshark 4.x does not know, and second key sets for one SA (Wireshark keeps
    one row per SA), are left as comments naming the SA, without keys.
    """
    v2 = ["# Wireshark ikev2_decryption_table written by ikesniff",
          "# spi_i, spi_r, SK_ei, SK_er, encryption, SK_ai, SK_ar, integrity"]
    for index, keys in store.ikev2.items():
        if ENCRYPTION_ALGORITHMS[keys.encryption].wireshark and INTEGRITY_ALGORITHMS[keys.integrity].wireshark:
            v2.append(_uat_row(keys.spi_i.hex(), keys.spi_r.hex(), keys.sk_ei.hex(), keys.sk_er.hex(),
                               _quoted(keys.encryption), keys.sk_ai.hex(), keys.sk_ar.hex(), _quoted(keys.integrity)))
        else:
            v2.append(f"# {keys.spi_i.hex()},{keys.spi_r.hex()}: Wireshark 4.x cannot decrypt "
                      f"{keys.encryption} / {keys.integrity} (keys from {keys.source})")
        for other in store.ikev2_alternatives.get(index, []):
            v2.append(f"# {keys.spi_i.hex()},{keys.spi_r.hex()}: other keys in {other.source}")
    for unbound2 in store.unbound_ikev2:
        v2.append(f"# keys from {unbound2.source}: the source names no SPIs (ikesniff ties them to the SA whose "
                  "ICV they verify)")
    v1 = ["# Wireshark ikev1_decryption_table written by ikesniff",
          "# initiator cookie, encryption key"]
    for cookie, v1keys in store.ikev1.items():
        if v1keys.derivable:
            v1.append(f"# {cookie.hex()}: {_derivable_note(v1keys)}")
        else:
            v1.append(_uat_row(cookie.hex(), v1keys.encryption_key.hex()))
        for other1 in store.ikev1_alternatives.get(cookie, []):
            v1.append(f"# {cookie.hex()}: other key in {other1.source}")
    for unbound1 in store.unbound_ikev1:
        v1.append(f"# keys from {unbound1.source}: the source names no cookies (ikesniff ties them to the SA whose "
                  "messages they read)" + (f"; {_derivable_note(unbound1)}" if unbound1.derivable else ""))
    return {"ikev2_decryption_table": "\n".join(v2) + "\n", "ikev1_decryption_table": "\n".join(v1) + "\n"}


def _derivable_note(keys: Ikev1Keys) -> str:
    what = "SKEYID_e" if keys.skeyid_e else "SKEYID and the DH secret" if keys.skeyid else "the DH secret"
    return (f"{keys.source} gives only {what}; the encryption key is derived from it and the capture at "
            "decryption time (not a Wireshark table row)")


# --- strongSwan charon log (ike 4) --------------------------------------------------------------------------

# key dumps charon writes at ike 4 (keymat_v1.c / keymat_v2.c) -> our field names; nothing else is kept
# (other dumps, e.g. "secret => ...", hold the pre-shared key itself)
CHARON_KEYS = {
    "Sk_d secret": "sk_d",
    "Sk_ai secret": "sk_ai",
    "Sk_ar secret": "sk_ar",
    "Sk_ei secret": "sk_ei",
    "Sk_er secret": "sk_er",
    "Sk_pi secret": "sk_pi",
    "Sk_pr secret": "sk_pr",
    "shared Diffie Hellman secret": "dh_secret",
    "SKEYID": "skeyid",
    "SKEYID_d": "skeyid_d",
    "SKEYID_a": "skeyid_a",
    "SKEYID_e": "skeyid_e",
    "encryption key Ka": "ka",
}


@dataclass(slots=True)
class _CharonSa:
    """What a charon log says about one IKE SA (by charon's unique id)."""

    unique_id: int
    version: int | None = None
    spi_i: bytes | None = None
    spi_r: bytes | None = None
    proposal: str | None = None
    proposal_line: int | None = None
    established: bool = False
    keys: dict[str, tuple[bytes, int]] = field(default_factory=dict)  # name -> (bytes, line of the dump)


def _charon_dumps(lines: list[charonlog.CharonLine], notes: list[str], name: str) -> dict[int, tuple[str, bytes]]:
    """Key dumps by line number (dumps of names not in :data:`CHARON_KEYS` are not even read; a dump cut
    short is left out, with a note)."""
    def cut(line: charonlog.CharonLine, what: str, got: int, size: int) -> None:
        notes.append(f"{name}:{line.number}: {what} is cut short ({got} of {size} octets in the lines that "
                     "follow); left out")

    return {line.number: (what, data) for line, what, data in charonlog.dumps(lines, CHARON_KEYS.__contains__, cut)}


def _charon_sas(text: str, notes: list[str], name: str) -> list[_CharonSa]:
    """Every IKE SA of the log with its SPIs, selected IKE proposal and keys.

    An IKE SA rekey is negotiated inside the old SA: charon logs the new SA's proposal (and, as initiator,
    its keys) in the old SA's context, then names the new one ("IKE_SA lab[2] rekeyed", "checkin ...
    lab[2] ... with SPIs"). So what an already established SA selects or derives is held per (SA, thread)
    and handed to the SA that thread names next.

    A log appended to across daemon restarts starts counting unique ids at 1 again: each "Starting IKE
    charon daemon" line closes the SAs seen so far.
    """
    lines = charonlog.lines(text)
    dumps = _charon_dumps(lines, notes, name)
    finished: list[_CharonSa] = []
    sas: dict[int, _CharonSa] = {}
    held: dict[tuple[int, str], _CharonSa] = {}  # what an established SA derived for its successor

    def sa_by_id(unique_id: int) -> _CharonSa:
        return sas.setdefault(unique_id, _CharonSa(unique_id))

    def hand_over(line: charonlog.CharonLine, target: _CharonSa) -> None:
        pending = held.pop((line.ike_id or 0, line.thread), None)
        if pending is None:
            return
        if pending.proposal and not target.proposal:
            target.proposal, target.proposal_line = pending.proposal, pending.proposal_line
        for key, value in pending.keys.items():
            target.keys.setdefault(key, value)

    for line in lines:
        if line.ike_id is None:
            if line.msg.startswith(charonlog.START):
                finished.extend(sas.values())
                sas.clear()
                held.clear()
            continue
        sa = sa_by_id(line.ike_id)
        msg = line.msg
        if line.number in dumps:
            what, data = dumps[line.number]
            holder = held.setdefault((sa.unique_id, line.thread), _CharonSa(sa.unique_id)) if sa.established else sa
            holder.keys[CHARON_KEYS[what]] = (data, line.number)  # a retried derivation: the last one wins
        elif match := charonlog.CHECKIN.search(msg):
            target = sa_by_id(int(match["id"])) if match["id"] else sa
            if target is not sa:
                hand_over(line, target)
            target.version = int(match["version"][-1])
            target.spi_i = bytes.fromhex(match["spi_i"])
            if match["spi_r"] != "0" * 16:
                target.spi_r = bytes.fromhex(match["spi_r"])
        elif match := charonlog.SELECTED_IKE.match(msg):
            holder = held.setdefault((sa.unique_id, line.thread), _CharonSa(sa.unique_id)) if sa.established else sa
            holder.proposal, holder.proposal_line = match["proposal"], line.number
        elif match := charonlog.IKE_SA_UP.match(msg):
            target = sa_by_id(int(match["id"]))
            if target is not sa:
                hand_over(line, target)
            target.established = True
    return finished + list(sas.values())


def _charon_algorithms(proposal: str) -> tuple[str, str] | str:
    """``AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048`` -> Wireshark (encryption, integrity),
    or the name of the transform ikesniff cannot use."""
    parts = proposal.split("/")
    if parts[0] not in CHARON_ENCRYPTION:
        return parts[0]
    integrity = [part for part in parts[1:] if part in CHARON_INTEGRITY]
    unknown = [part for part in parts[1:] if part.startswith(("HMAC_", "AES_XCBC", "AES_CMAC", "AES_GMAC"))
               and part not in CHARON_INTEGRITY]
    if unknown:
        return unknown[0]
    return CHARON_ENCRYPTION[parts[0]], CHARON_INTEGRITY[integrity[0]] if integrity else INTEGRITY_NONE


def _parse_charon_log(text: str, name: str) -> KeyStore:
    """The key sets of a charon log. One whose SA the log ties to no SPIs (the ``checkin ... with SPIs`` lines
    are missing: a log filtered or cut) is kept unbound, to be tied to an SA by trial decryption. An IKEv1 SA
    whose log gives no ``encryption key Ka`` but SKEYID_e, or the DH secret, is kept derivable."""
    store = KeyStore()
    notes = store.notes
    for sa in _charon_sas(text, notes, name):
        keys = {key: data for key, (data, _) in sa.keys.items()}
        if sa.version == 2 or (sa.version is None and "sk_ei" in keys):
            if not ("sk_ei" in keys and "sk_er" in keys):
                continue  # an SA that never got its keys logged: nothing to decrypt with
            line = sa.keys["sk_ei"][1]
            if not sa.proposal:
                notes.append(f"{name}:{line}: IKEv2 keys without the 'selected proposal' line that names their "
                             "algorithms; left out")
                continue
            algorithms = _charon_algorithms(sa.proposal)
            if isinstance(algorithms, str):
                notes.append(f"{name}:{sa.proposal_line or line}: the IKE SA negotiated {algorithms}, which "
                             "ikesniff cannot decrypt; its keys are left out")
                continue
            encryption, integrity = algorithms
            needs_integrity = INTEGRITY_ALGORITHMS[integrity].key_octets > 0
            v2 = Ikev2Keys(
                sa.spi_i or b"", sa.spi_r or b"", encryption, keys["sk_ei"], keys["sk_er"], integrity,
                keys.get("sk_ai", b"") if needs_integrity else b"", keys.get("sk_ar", b"") if needs_integrity else b"",
                f"{name}:{line}", keys.get("sk_d"), keys.get("sk_pi"), keys.get("sk_pr"), keys.get("dh_secret"))
            store.add_ikev2(_check_ikev2(v2, name, line))
        elif sa.version == 1 or (sa.version is None and keys.keys() & {"ka", "skeyid_e", "dh_secret"}):
            material = next((key for key in ("ka", "skeyid_e", "skeyid", "dh_secret") if key in keys), None)
            if material is None or (material == "skeyid" and "dh_secret" not in keys):
                continue
            line = sa.keys[material][1]
            v1 = Ikev1Keys(sa.spi_i or b"", keys.get("ka", b""), f"{name}:{line}", keys.get("skeyid_e"),
                           keys.get("dh_secret"), sa.spi_r, keys.get("skeyid"), keys.get("skeyid_a"),
                           keys.get("skeyid_d"))
            store.add_ikev1(_check_ikev1(v1, name, line))
    unbound = len(store.unbound_ikev2) + len(store.unbound_ikev1)
    if unbound:
        notes.append(f"{name}: {unbound} key set(s) the log ties to no SPIs (no 'checkin ... with SPIs' lines); "
                     "each is tied to the first SA it decrypts")
    return store


# --- tcpdump -E secrets / Openswan and libreswan "ikev2 I|R" key lines --------------------------------------

TCPDUMP_IKEV2_LINE = re.compile(
    r"(?:^|[\s|])ikev2 (?P<side>[IR]) (?P<spi_i>0x\S*) (?P<spi_r>0x\S*)(?P<rest>.*)$"
)
TCPDUMP_KEY = re.compile(r"^(?P<algorithm>[^:\s]+):(?P<key>\S*)$")
TCPDUMP_ESP_LINE = re.compile(r"^(?:0x[0-9a-fA-F]+@\S+\s+)?\S+:\S+$")


def _tcpdump_key(token: str, table: dict[str, str], what: str, name: str, number: int) -> tuple[str, bytes]:
    match = TCPDUMP_KEY.match(token)
    if not match:
        raise KeyFileError(name, number, f"{what} is not written algorithm:0xKEY")
    algorithm = match["algorithm"].lower().removesuffix("-hmac96")  # tcpdump's ESP style "3des-cbc-hmac96"
    if algorithm not in table:
        examples = TCPDUMP_EXAMPLES[table is TCPDUMP_INTEGRITY]
        raise KeyFileError(name, number, f"unknown {what} {_show(match['algorithm'])} (names such as {examples})")
    key = match["key"]
    if not key.lower().startswith("0x"):
        raise KeyFileError(name, number, f"{what} key is not hexadecimal (write it 0x...)")
    return table[algorithm], _hex_field(key[2:], f"{what} key", name, number)


def _parse_tcpdump_secrets(text: str, name: str) -> KeyStore:
    """Pair each SA's ``ikev2 I`` line (SK_ai, SK_ei) with its ``ikev2 R`` line (SK_ar, SK_er)."""
    halves: dict[tuple[bytes, bytes], dict[str, tuple[str, bytes, str, bytes, int]]] = {}
    order: list[tuple[bytes, bytes]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        match = TCPDUMP_IKEV2_LINE.search(raw)
        if not match:
            continue
        tokens = match["rest"].split()
        if len(tokens) < 2 or ":" not in tokens[0]:
            continue  # libreswan 3.x and later print the algorithm names only, without keys
        spi_i = _hex_field(match["spi_i"][2:], "spi_i", name, number)
        spi_r = _hex_field(match["spi_r"][2:], "spi_r", name, number)
        integrity, auth_key = _tcpdump_key(tokens[0], TCPDUMP_INTEGRITY, "integrity algorithm", name, number)
        encryption, enc_key = _tcpdump_key(tokens[1], TCPDUMP_ENCRYPTION, "encryption algorithm", name, number)
        # tcpdump names HMAC-SHA1 "sha1" whatever its truncation; charon/pluto keys give the length
        index = (spi_i, spi_r)
        if index not in halves:
            halves[index] = {}
            order.append(index)
        halves[index][match["side"]] = (integrity, auth_key, encryption, enc_key, number)
    store = KeyStore()
    for index in order:
        sides = halves[index]
        first_line = min(side[4] for side in sides.values())
        if set(sides) != {"I", "R"}:
            present, missing = ("I", "R") if "I" in sides else ("R", "I")
            raise KeyFileError(name, first_line, f"an 'ikev2 {present}' line without the 'ikev2 {missing}' line "
                               "of the same SPIs (each side's keys are on a line of their own)")
        integrity_i, sk_ai, encryption_i, sk_ei, _ = sides["I"]
        integrity_r, sk_ar, encryption_r, sk_er, line_r = sides["R"]
        if (integrity_i, encryption_i) != (integrity_r, encryption_r):
            raise KeyFileError(name, line_r, "the 'ikev2 I' and 'ikev2 R' lines name different algorithms")
        keys = Ikev2Keys(index[0], index[1], encryption_i, sk_ei, sk_er, integrity_i, sk_ai, sk_ar,
                         f"{name}:{first_line}")
        store.add_ikev2(_check_ikev2(keys, name, first_line))
    return store


# --- recognising the format ---------------------------------------------------------------------------------


def _first_data_line(text: str) -> tuple[int, str] | None:
    return next(_data_lines(text), None)


def parse_keys(text: str, name: str) -> KeyStore:
    """Keys from the text of a key file; the format is recognised by content. Raises :class:`KeyFileError`."""
    first = _first_data_line(text)
    if first is None:
        raise KeyFileError(name, 1, "no key material: the file is empty or holds only comments")
    head = text[:200_000]
    if any(charonlog.LINE.match(line) for line in head.splitlines()[:200]):
        store = _parse_charon_log(text, name)
        if not store and not store.notes:
            # not an error: a negotiation that failed before IKE_AUTH derives no keys
            store.notes.append(f"{name}: no IKE keys in this charon log (no IKE SA got as far as deriving them, "
                               "or charon did not log 'ike' at level 4)")
        return store
    if TCPDUMP_IKEV2_LINE.search(head):
        store = _parse_tcpdump_secrets(text, name)
        if not store:
            raise KeyFileError(name, first[0], "'ikev2 I|R' lines without keys (libreswan 3.x and later log "
                               "only the algorithm names); use a charon log or a Wireshark table")
        return store
    number, line = first
    fields = _uat_fields(line, name, number)
    if len(fields) == len(IKEV2_COLUMNS) or (len(fields) > 2 and "ikev2" in name):
        return _parse_ikev2_table(text, name)
    if len(fields) == len(IKEV1_COLUMNS) or "ikev1" in name:
        return _parse_ikev1_table(text, name)
    if TCPDUMP_ESP_LINE.match(line):
        raise KeyFileError(name, number, "an ESP secret (tcpdump -E spi@address algorithm:key): ikesniff needs "
                           "IKE keys ('ikev2 I|R' lines, Wireshark IKE tables or a charon log)")
    raise KeyFileError(name, number, f"not a key file ikesniff knows: {len(fields)} comma-separated fields, "
                       "expected an ikev2_decryption_table (8), an ikev1_decryption_table (2), "
                       "'ikev2 I|R' secrets or a charon log at ike 4")


def load_key_file(path: str) -> KeyStore:
    """Read a key file (plain or gzip) and parse it. Unreadable files are a :class:`KeyFileError` too."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise KeyFileError(path, None, f"cannot read: {error.strerror or error}") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as error:
            raise KeyFileError(path, None, f"not readable as gzip: {error}") from None
    if b"\x00" in data[:4096]:
        raise KeyFileError(path, None, "a binary file, not a key file (is it a capture?)")
    return parse_keys(data.decode("utf-8", errors="replace"), path)
