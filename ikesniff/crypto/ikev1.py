"""IKEv1 decryption: the E-flagged messages of an ISAKMP SA opened with its phase-1 encryption key, as
Wireshark's ``ikev1_decryption_table`` (initiator cookie -> encryption key) opens them, and a little more.

Sans-IO: the bytes of one IKEv1 message, its dissected `Message` and the candidate keys go in; plain
objects come out. This module knows nothing of captures, frames, trackers, diagnosis, output, the
command line or files: where the keys come from is `keys.py`'s business, what the payloads mean is the
tracker's. Nothing here raises on bad input or wrong keys: every problem is a string in `errors`.

Theory of operation (RFC 2409 §5 and Appendix B)
------------------------------------------------
IKEv1 has no IV on the wire. Both peers derive it, and so can an observer that saw the SA from its start:

* Phase 1 (message ID 0). The first encrypted message (main mode 5, aggressive mode 3 when encrypted)
  uses ``hash(g^xi | g^xr)`` cut to the cipher block, the hash being the negotiated phase-1 hash and the
  public values those of the KE payloads of the clear messages (main mode 3/4, aggressive mode 1/2).
  Each further phase-1 message uses the last ciphertext block of the phase-1 message before it, in
  capture order, whoever sent it (CBC chained across messages).
* Any other message ID (quick mode, informational, transaction): the first message uses
  ``hash(last phase-1 CBC block | message ID)`` cut to the block, the later ones of that message ID the
  last ciphertext block of the previous message of the same ID. "Last phase-1 CBC block" is what the
  next phase-1 message would use as its IV: the last block of the last encrypted phase-1 message, or
  the KE-derived IV when phase 1 encrypted nothing.
* A retransmission repeats its original byte for byte and was encrypted with the original's IV, not
  with the chained one (tshark 4.0 chains it and reads garbage). A message whose message ID and
  ciphertext were seen before is decrypted with the IV its original used and leaves the chains alone.

The chain state depends only on ciphertext, never on keys; so one state per cookie pair serves every
candidate key, and an SA is followed even while no key is known for it. What needs the negotiated
algorithms (block size, hash) is kept as a recipe and worked out at decryption time; when the SA choice
was not seen, the ciphers that fit the key length and the five phase-1 hashes are tried and the first
that gives a plaintext which parses is kept for the SA.

A plaintext "parses" when the project's IKEv1 dissector (`dissectors.ikev1.parse_decrypted`) reads the
payload chain without any error and meets no unknown payload type. A key that gives no such plaintext
is a wrong key (or an IV this module got wrong): when a `KeyStore` holds two different keys for one SA
(each peer's charon log gave its own: a PSK mismatch), both are tried on every message and
`Ikev1Decryptor.readings` tells whose messages each key could read.

Keys derived from the capture (RFC 2409 §5, Appendix B)
-------------------------------------------------------
A log may give less than the encryption key: SKEYID_e, or SKEYID and the DH secret g^xy, or only g^xy
(`Ikev1Keys.derivable`). The rest comes from the clear phase-1 messages -- nonces Ni_b / Nr_b, cookies,
the chosen hash (prf = its HMAC), cipher and authentication method -- and, for pre-shared key
authentication, the PSK (`feed(..., psks=...)`)::

    SKEYID   = prf(PSK, Ni_b | Nr_b)             pre-shared key (and XAUTH with PSK)
             = prf(Ni_b | Nr_b, g^xy)            signatures (and hybrid)
             = prf(hash(Ni_b | Nr_b), CKY-I | CKY-R)   public key encryption
    SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0)
    SKEYID_a = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1)
    SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2)
    Ka       = SKEYID_e cut to the cipher's key, or K1 | K2 | ... with K1 = prf(SKEYID_e, 0),
               Kn = prf(SKEYID_e, Kn-1) when SKEYID_e is shorter

With several PSKs each gives a candidate key; the one that reads the messages is kept. A derived key
that reads nothing (a wrong PSK guess) is no evidence that the peers disagree: `key_mismatch` leaves it
out, and `KeyReading.psk_index` lets the caller say which PSK did or did not read whose messages.

Key sets that name no SA (`unbound`): tried, after the SA's own keys, on its encrypted messages; the
first that gives a plaintext that parses is reported in `Ikev1Decrypted.bound` for the caller to file
under the SA (`KeyStore.bind_ikev1`). Failed trials leave no trace in `readings`.

Memory is bounded: at most `max_sas` SAs (the least recently fed dropped first), per SA at most
`max_exchanges` message-ID chains and `max_remembered` retransmission fingerprints; `forget` drops an SA.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from dissectors import ikev1_registry as registry
from dissectors.ikev1 import (
    EncryptedBodyPayload,
    KeyExchangePayload,
    NoncePayload,
    SecurityAssociationPayload,
    parse_decrypted,
)
from dissectors.model import Message, Notify, Payload

from .keys import Ikev1Keys

__all__ = [
    "CIPHERS", "UNREADABLE", "Ikev1Cipher", "Ikev1Decrypted", "Ikev1Decryptor", "KeyReading", "Phase1Keys",
    "derive_phase1", "encryption_key_from_skeyid_e", "skeyid",
]

# --- algorithms ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ikev1Cipher:
    """A phase-1 CBC cipher ikesniff can decrypt with."""

    name: str
    oakley_id: int
    """Oakley ENCRYPTION_ALGORITHM value (RFC 2409 Appendix A, RFC 3602 §5 for AES)."""
    key_octets: int
    block_octets: int


CIPHERS: dict[str, Ikev1Cipher] = {
    "DES-CBC": Ikev1Cipher("DES-CBC", 1, 8, 8),
    "3DES-CBC": Ikev1Cipher("3DES-CBC", 5, 24, 8),
    "AES-CBC-128": Ikev1Cipher("AES-CBC-128", 7, 16, 16),
    "AES-CBC-192": Ikev1Cipher("AES-CBC-192", 7, 24, 16),
    "AES-CBC-256": Ikev1Cipher("AES-CBC-256", 7, 32, 16),
}
"""Oakley ciphers by name; IDEA, Blowfish, RC5, CAST and Camellia are not decrypted (Wireshark 4.x neither)."""

# Oakley HASH_ALGORITHM values (RFC 2409 Appendix A; 4-6 from RFC 4868's IANA registrations) -> hashlib names
HASHES: dict[int, str] = {1: "md5", 2: "sha1", 4: "sha256", 5: "sha384", 6: "sha512"}
HASH_TRIAL_ORDER = ("sha1", "sha256", "md5", "sha384", "sha512")
"""Hashes tried, most common first, when the phase-1 SA choice was not captured."""
CIPHERS_BY_KEY_OCTETS: dict[int, tuple[str, ...]] = {
    8: ("DES-CBC",), 16: ("AES-CBC-128",), 24: ("3DES-CBC", "AES-CBC-192"), 32: ("AES-CBC-256",),
}
"""Ciphers tried, by the length of the table's key, when the phase-1 SA choice was not captured."""

UNREADABLE = "decrypted payload chain does not parse: wrong key or IV"
PSK_METHODS = frozenset({1, 65001, 65002})
"""Authentication methods keyed by a pre-shared key: PRE_SHARED_KEY, XAUTH_INIT/RESP_PRESHARED."""
PSK_METHODS_DEFAULT = 1
"""Assumed when the SA choice names no authentication method."""
SIGNATURE_METHODS = frozenset({2, 3, 8, 9, 10, 11, 64221, 64222, 64223, 64224, 65003, 65004, 65005, 65006})
"""DSS, RSA and ECDSA signatures (RFC 2409, RFC 4754), hybrid and XAUTH with signatures."""
ENCRYPTION_METHODS = frozenset({4, 5, 6, 7, 65007, 65008, 65009, 65010})
"""RSA and ElGamal encryption, plain and revised (RFC 2409 §5.2, §5.3), and their XAUTH forms."""
PHASE1 = 0
BLOCK_MEMORY = 16
"""Octets of ciphertext tail kept for chaining: a block of the largest cipher."""
PHASE1_HISTORY = 3
"""Earlier phase-1 IVs kept to derive a message ID's IV from (see `_SaState.phase1_earlier`)."""


# --- key derivation (RFC 2409 §5 and Appendix B) --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Phase1Keys:
    """What RFC 2409 derives for an ISAKMP SA."""

    skeyid: bytes
    skeyid_d: bytes
    skeyid_a: bytes
    skeyid_e: bytes
    encryption_key: bytes
    """Ka: SKEYID_e cut or expanded to the cipher's key length."""

    def __repr__(self) -> str:  # keys stay out of logs and tracebacks
        return f"Phase1Keys({len(self.encryption_key)}-octet encryption key)"


def _prf(hash_name: str, key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hash_name).digest()


def skeyid(method: int, hash_name: str, nonce_i: bytes, nonce_r: bytes, cookie_i: bytes, cookie_r: bytes,
           dh_secret: bytes | None, psk: bytes | None) -> bytes | None:
    """SKEYID for an authentication method (RFC 2409 §5); None when its input (PSK, DH secret) is missing
    or the method is not one of `PSK_METHODS`, `SIGNATURE_METHODS`, `ENCRYPTION_METHODS`."""
    if method in PSK_METHODS:
        return None if psk is None else _prf(hash_name, psk, nonce_i + nonce_r)
    if method in SIGNATURE_METHODS:
        return None if dh_secret is None else _prf(hash_name, nonce_i + nonce_r, dh_secret)
    if method in ENCRYPTION_METHODS:
        return _prf(hash_name, hashlib.new(hash_name, nonce_i + nonce_r).digest(), cookie_i + cookie_r)
    return None


def encryption_key_from_skeyid_e(hash_name: str, skeyid_e: bytes, key_octets: int) -> bytes:
    """Ka (RFC 2409 Appendix B): SKEYID_e's first octets, or K1 | K2 | ... when it is too short."""
    if len(skeyid_e) >= key_octets:
        return skeyid_e[:key_octets]
    blocks = [_prf(hash_name, skeyid_e, b"\x00")]
    while sum(map(len, blocks)) < key_octets:
        blocks.append(_prf(hash_name, skeyid_e, blocks[-1]))
    return b"".join(blocks)[:key_octets]


def derive_phase1(hash_name: str, skeyid_value: bytes, dh_secret: bytes, cookie_i: bytes, cookie_r: bytes,
                  key_octets: int) -> Phase1Keys:
    """SKEYID_d, SKEYID_a, SKEYID_e and Ka from SKEYID and g^xy (RFC 2409 §5)."""
    tail = dh_secret + cookie_i + cookie_r
    skeyid_d = _prf(hash_name, skeyid_value, tail + b"\x00")
    skeyid_a = _prf(hash_name, skeyid_value, skeyid_d + tail + b"\x01")
    skeyid_e = _prf(hash_name, skeyid_value, skeyid_a + tail + b"\x02")
    return Phase1Keys(skeyid_value, skeyid_d, skeyid_a, skeyid_e,
                      encryption_key_from_skeyid_e(hash_name, skeyid_e, key_octets))


# --- results -------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Ikev1Decrypted:
    """What one E-flagged IKEv1 message holds, as far as the keys given could read it."""

    payloads: list[Payload] = field(default_factory=list)
    """The inner payload chain, dissected as in a clear message (offsets count from the message start, header
    included); empty when no key gave a plaintext that parses."""
    readable: bool = False
    """Some key gave a plaintext that parses. False with keys given: wrong keys (peers that derived different
    keys, as in a PSK mismatch) or an IV that could not be known."""
    errors: list[str] = field(default_factory=list)
    """Every problem met: unknown IV, unusable keys, a ciphertext that is not whole blocks, unreadable plaintext."""
    keys: Ikev1Keys | None = None
    """The keys that read the message (for a derivable key set, the keys derived from it)."""
    bound: Ikev1Keys | None = None
    """The unbound key set (one of `feed`'s `unbound`) that read the message: the caller ties it to this SA."""
    unread_with: list[Ikev1Keys] = field(default_factory=list)
    """Keys tried that did not read it (the receiver's keys, in a PSK mismatch)."""
    cipher: str | None = None
    """Name of the cipher used (a key of `CIPHERS`), when a key read the message."""
    hash: str | None = None
    """hashlib name of the phase-1 hash the IV was derived with (None when no derived IV was needed)."""
    iv_origin: str = ""
    """How the IV was obtained: 'phase-1 KE', 'phase-1 chain', 'message ID', 'exchange chain'."""
    stale_phase1: bool = False
    """The message ID's IV came from a phase-1 block older than the last one captured: its sender had not
    taken the later phase-1 message(s) in (strongSwan does not, when it cannot decrypt them)."""
    retransmission: bool = False
    """Same message ID and ciphertext as an earlier message: decrypted with that message's IV."""
    from_initiator: bool | None = None
    """Sent by the phase-1 initiator, when the `sender` hints tell (None: unknown)."""

    @property
    def notifies(self) -> list[Notify]:
        return [p for p in self.payloads if isinstance(p, Notify)]


@dataclass(slots=True)
class KeyReading:
    """How one key fared on the encrypted messages of one side of an SA."""

    keys: Ikev1Keys
    from_initiator: bool | None
    """Whose messages: the initiator's, the responder's, or None when the sender was not told."""
    read: int = 0
    unread: int = 0
    psk_index: int | None = None
    """For keys derived with a pre-shared key: its position in `feed`'s `psks`."""


# --- IV recipes: worked out once the block size and hash are known --------------------------------------------


@dataclass(frozen=True, slots=True)
class _FromKe:
    """Phase-1 IV: hash(g^xi | g^xr)."""

    gxi: bytes
    gxr: bytes

    def iv(self, block: int, hash_name: str | None) -> bytes | None:
        if hash_name is None:
            return None
        return hashlib.new(hash_name, self.gxi + self.gxr).digest()[:block]


@dataclass(frozen=True, slots=True)
class _Tail:
    """The last ciphertext block of an earlier message (CBC chaining)."""

    tail: bytes

    def iv(self, block: int, hash_name: str | None) -> bytes | None:
        return self.tail[-block:] if len(self.tail) >= block else None


@dataclass(frozen=True, slots=True)
class _FromMessageId:
    """First IV of a message ID's exchange: hash(last phase-1 CBC block | message ID)."""

    phase1: _FromKe | _Tail
    message_id: int

    def iv(self, block: int, hash_name: str | None) -> bytes | None:
        last = self.phase1.iv(block, hash_name)
        if last is None or hash_name is None:
            return None
        return hashlib.new(hash_name, last + self.message_id.to_bytes(4, "big")).digest()[:block]


_Recipe = _FromKe | _Tail | _FromMessageId


_SIDE_NAMES = {True: "the initiator's messages", False: "the responder's messages",
               None: "messages of an unnamed sender"}


def _origin(recipe: _Recipe, message_id: int) -> str:
    if isinstance(recipe, _FromKe):
        return "phase-1 KE"
    if isinstance(recipe, _FromMessageId):
        return "message ID"
    return "phase-1 chain" if message_id == PHASE1 else "exchange chain"


def _needs_hash(recipe: _Recipe) -> bool:
    return not isinstance(recipe, _Tail)


# --- per-SA state --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _SaState:
    cipher: str | None = None
    """From the phase-1 SA choice (a single ISAKMP transform), else None."""
    hash_name: str | None = None
    cipher_unusable: str | None = None
    """The Oakley cipher chosen, when ikesniff cannot decrypt it."""
    gxi: bytes | None = None
    gxr: bytes | None = None
    nonce_i: bytes | None = None
    nonce_r: bytes | None = None
    auth_method: int | None = None
    """Oakley AUTHENTICATION_METHOD of the phase-1 SA choice."""
    prf_attribute: int | None = None
    """Oakley PRF of the SA choice: no RFC defines one, so keys are not derived when it is set."""
    initiator: Hashable | None = None
    phase1_next: _FromKe | _Tail | None = None
    """IV of the next phase-1 message, which is also the 'last phase-1 CBC block'."""
    phase1_encrypted: bool = False
    phase1_earlier: list[_FromKe | _Tail] = field(default_factory=list)
    """Earlier values of `phase1_next`, newest first (a few): a peer that could not decrypt a phase-1 message
    does not advance its phase-1 IV past it (strongSwan), and derives its next message ID's IV from these."""
    exchanges: OrderedDict[int, _Tail] = field(default_factory=OrderedDict)
    remembered: OrderedDict[bytes, list[_Recipe]] = field(default_factory=OrderedDict)
    """Fingerprint of (message ID, ciphertext) -> the IV recipe its first copy used."""
    readings: dict[tuple[Ikev1Keys, bool | None], KeyReading] = field(default_factory=dict)
    """By (keys, from initiator) -> how those keys fared."""
    derived: dict[tuple[Ikev1Keys, int | None], Ikev1Keys] = field(default_factory=dict)
    """By (derivable key set, PSK position or None) -> the keys derived for this SA."""
    guesses: dict[Ikev1Keys, int] = field(default_factory=dict)
    """Keys derived with a pre-shared key -> its position in the PSKs given."""


def _sa_choice(payload: SecurityAssociationPayload) -> dict[int, int] | None:
    """Oakley attribute values (type -> value) of an SA with exactly one ISAKMP transform, else None."""
    transforms = [t for proposal in payload.proposals if proposal.protocol_id == 1 for t in proposal.transforms]
    if len(transforms) != 1:
        return None
    return {a.type: a.value for a in transforms[0].attributes if isinstance(a.value, int)}


def _cipher_name(oakley_id: int, key_bits: int | None) -> str | None:
    if oakley_id == 1:
        return "DES-CBC"
    if oakley_id == 5:
        return "3DES-CBC"
    if oakley_id == 7:
        bits = key_bits or 128  # RFC 3602 §5: KEY_LENGTH must be given; 128 is what peers assume without it
        return f"AES-CBC-{bits}" if bits in (128, 192, 256) else None
    return None


def _decrypt_cbc(cipher: Ikev1Cipher, key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    # DES is TripleDES with K1 = K2 = K3; the cryptography library expands an 8-octet key so
    algorithm = algorithms.AES(key) if cipher.block_octets == 16 else TripleDES(key)
    decryptor = Cipher(algorithm, modes.CBC(iv)).decryptor()
    return decryptor.update(ciphertext) + decryptor.finalize()


def _parses(parsed: Message) -> bool:
    return (not parsed.errors and bool(parsed.payloads)
            and not any(p.name.startswith("UNKNOWN_") for p in parsed.payloads))


# --- the decryptor -------------------------------------------------------------------------------------------


class Ikev1Decryptor:
    """Follows the IV chains of IKEv1 SAs, keyed by cookie pair, and decrypts their E-flagged messages.

    Feed every IKEv1 message in capture order, clear ones too: the clear phase-1 messages give the
    negotiated algorithms and the KE payloads the phase-1 IV is derived from."""

    def __init__(self, max_sas: int = 4096, max_exchanges: int = 32, max_remembered: int = 64) -> None:
        self.max_sas = max_sas
        self.max_exchanges = max_exchanges
        self.max_remembered = max_remembered
        self._sas: OrderedDict[tuple[bytes, bytes], _SaState] = OrderedDict()
        self._opening: OrderedDict[bytes, _SaState] = OrderedDict()
        """Phase-1 first messages (responder cookie still zero), by initiator cookie."""

    def __len__(self) -> int:
        return len(self._sas) + len(self._opening)

    def forget(self, spi_i: bytes, spi_r: bytes) -> None:
        """Drop what is kept of one SA."""
        self._sas.pop((bytes(spi_i), bytes(spi_r)), None)
        self._opening.pop(bytes(spi_i), None)

    def readings(self, spi_i: bytes, spi_r: bytes) -> list[KeyReading]:
        """Per key and sending side: how many encrypted messages the key could read and could not."""
        state = self._sas.get((bytes(spi_i), bytes(spi_r)))
        return [] if state is None else list(state.readings.values())

    def key_mismatch(self, spi_i: bytes, spi_r: bytes) -> str | None:
        """One line (naming key sources, never keys) when different keys were tried on the SA and some message
        read with one of them and not with another, or when a single key read one side's messages and none of
        the other side's: the two peers derived different keys, which in IKEv1 with a pre-shared key means the
        PSKs differ. None otherwise. Keys derived with a pre-shared key that read
        nothing at all are left out: a wrong guess among the PSKs given says nothing about the peers."""
        readings = self.readings(spi_i, spi_r)
        readers = {reading.keys for reading in readings if reading.read}
        readings = [r for r in readings if r.psk_index is None or r.keys in readers]
        keys = list(dict.fromkeys(reading.keys for reading in readings))
        if len(keys) == 1:
            return self._one_sided(readings)
        if len(keys) < 2 or not any(r.read for r in readings) or not any(r.unread for r in readings):
            return None
        parts = []
        for key in keys:
            mine = [r for r in readings if r.keys == key]
            read = [_SIDE_NAMES[r.from_initiator] for r in mine if r.read]
            unread = [_SIDE_NAMES[r.from_initiator] for r in mine if r.unread]
            text = f"keys from {key.source} read " + (" and ".join(read) if read else "nothing")
            parts.append(text + (f", not {' and '.join(unread)}" if unread else ""))
        return "the peers derived different keys (pre-shared keys that differ?): " + "; ".join(parts)

    @staticmethod
    def _one_sided(readings: list[KeyReading]) -> str | None:
        """One key that read one side's messages and none of the other side's: that side encrypted with
        keys of its own (the IV of each of its messages was known, or the message would not count)."""
        read = {r.from_initiator for r in readings if r.read}
        unread = {r.from_initiator for r in readings if r.unread} - read
        if len(read) != 1 or len(unread) != 1 or None in read | unread:
            return None
        key = readings[0].keys
        reader, other = _SIDE_NAMES[read.pop()], _SIDE_NAMES[unread.pop()]
        return (f"the peers derived different keys (pre-shared keys that differ?): keys from {key.source} read "
                f"{reader}, not {other}")

    # -- state -----------------------------------------------------------------------------------------------

    def _state(self, spi_i: bytes, spi_r: bytes) -> _SaState:
        if not any(spi_r):
            state = self._opening.get(spi_i)
            if state is None:
                state = self._opening[spi_i] = _SaState()
                while len(self._opening) > self.max_sas:
                    self._opening.popitem(last=False)
            return state
        index = (spi_i, spi_r)
        state = self._sas.get(index)
        if state is None:
            opening = self._opening.get(spi_i)
            state = _SaState()
            if opening is not None:  # what the first message told (aggressive mode: SA offer, KE, nonce, initiator)
                state.cipher, state.hash_name, state.cipher_unusable = (
                    opening.cipher, opening.hash_name, opening.cipher_unusable)
                state.auth_method, state.prf_attribute = opening.auth_method, opening.prf_attribute
                state.gxi, state.nonce_i, state.initiator = opening.gxi, opening.nonce_i, opening.initiator
            self._sas[index] = state
            while len(self._sas) > self.max_sas:
                self._sas.popitem(last=False)
        else:
            self._sas.move_to_end(index)
        return state

    def _learn_clear(self, message: Message, state: _SaState, sender: Hashable | None) -> None:
        header = message.header
        if header.message_id != PHASE1:
            return
        if not any(header.spi_r) and sender is not None and state.initiator is None:
            state.initiator = sender
        public: bytes | None = None
        nonce: bytes | None = None
        for payload in message.payloads:
            if isinstance(payload, SecurityAssociationPayload):
                choice = _sa_choice(payload)
                if choice is None:
                    continue
                oakley_cipher = choice.get(registry.OAKLEY_ENCRYPTION_ALGORITHM)
                if oakley_cipher is not None:
                    name = _cipher_name(oakley_cipher, choice.get(registry.OAKLEY_KEY_LENGTH))
                    state.cipher = name
                    state.cipher_unusable = None if name else registry.OAKLEY_ENCRYPTION_NAMES.get(
                        oakley_cipher, f"Oakley cipher {oakley_cipher}")
                oakley_hash = choice.get(registry.OAKLEY_HASH_ALGORITHM)
                if oakley_hash is not None:
                    state.hash_name = HASHES.get(oakley_hash)
                state.auth_method = choice.get(registry.OAKLEY_AUTHENTICATION_METHOD, state.auth_method)
                state.prf_attribute = choice.get(registry.OAKLEY_PRF, state.prf_attribute)
            elif isinstance(payload, KeyExchangePayload):
                public = payload.data
            elif isinstance(payload, NoncePayload):
                nonce = payload.data
        if public is not None or nonce is not None:
            self._learn_public(state, public, nonce, not any(header.spi_r), sender)
        if state.gxi is not None and state.gxr is not None and not state.phase1_encrypted:
            state.phase1_next = _FromKe(state.gxi, state.gxr)

    @staticmethod
    def _learn_public(state: _SaState, public: bytes | None, nonce: bytes | None, first_message: bool,
                      sender: Hashable | None) -> None:
        """KE and nonce of a clear phase-1 message, filed as the initiator's or the responder's."""
        if first_message or (sender is not None and state.initiator is not None and sender == state.initiator):
            from_initiator = True
        elif sender is not None and state.initiator is not None:
            from_initiator = False
        elif public is not None:  # main mode message 3 comes before message 4; a repeat of 3 is the same
            from_initiator = state.gxi is None or public == state.gxi
        else:
            from_initiator = state.nonce_i is None or nonce == state.nonce_i
        if from_initiator:
            state.gxi = public if public is not None else state.gxi
            state.nonce_i = nonce if nonce is not None else state.nonce_i
        else:
            state.gxr = public if public is not None else state.gxr
            state.nonce_r = nonce if nonce is not None else state.nonce_r

    def _recipes(self, state: _SaState, message_id: int, ciphertext: bytes) -> tuple[list[_Recipe], bool]:
        """The IV recipes to try for a message, the likeliest first, and whether it is a retransmission;
        advances the chains."""
        fingerprint = hashlib.blake2b(message_id.to_bytes(4, "big") + ciphertext, digest_size=16).digest()
        remembered = state.remembered.get(fingerprint)
        if remembered is not None:
            return remembered, True
        tail = _Tail(ciphertext[-BLOCK_MEMORY:])
        recipes: list[_Recipe] = []
        if message_id == PHASE1:
            if state.phase1_next is not None:
                recipes.append(state.phase1_next)
                state.phase1_earlier.insert(0, state.phase1_next)
                del state.phase1_earlier[PHASE1_HISTORY:]
            state.phase1_next = tail
            state.phase1_encrypted = True
        else:
            chained = state.exchanges.get(message_id)
            if chained is not None:
                recipes.append(chained)
            elif state.phase1_next is not None:
                recipes.extend(_FromMessageId(base, message_id) for base in (state.phase1_next, *state.phase1_earlier))
            state.exchanges[message_id] = tail
            state.exchanges.move_to_end(message_id)
            while len(state.exchanges) > self.max_exchanges:
                state.exchanges.popitem(last=False)
        if recipes:
            state.remembered[fingerprint] = recipes
            while len(state.remembered) > self.max_remembered:
                state.remembered.popitem(last=False)
        return recipes, False

    # -- feeding ---------------------------------------------------------------------------------------------

    def feed(self, message_bytes: bytes, message: Message, keys: Ikev1Keys | Sequence[Ikev1Keys] | None,
             sender: Hashable | None = None, unbound: Sequence[Ikev1Keys] = (),
             psks: Sequence[bytes] = ()) -> Ikev1Decrypted | None:
        """Take one IKEv1 message (`message` is `dissectors.parse_message(message_bytes)`).

        `keys`: the SA's keys, or every candidate (`KeyStore.ikev1_candidates(cookie)`), or None. `sender`:
        anything that tells the two peers apart (e.g. the source address and port), or None; with it the
        result and `readings` say which side sent what. `unbound`: key sets tied to no SA, tried when none of
        `keys` reads the message (the one that does is `Ikev1Decrypted.bound`). `psks`: pre-shared keys for
        the key sets that only hold a DH secret. Returns None for a clear message (whose SA choice, KE and
        nonce payloads are kept) and for an encrypted one when no keys are given (the IV chains still
        advance); otherwise an `Ikev1Decrypted`. Never raises for bad bytes or keys."""
        if message.version != 1:
            return None
        header = message.header
        state = self._state(bytes(header.spi_i), bytes(header.spi_r))
        if not header.flags & 0x01:
            self._learn_clear(message, state, sender)
            return None
        body = next((p for p in message.payloads if isinstance(p, EncryptedBodyPayload)), None)
        if body is None or not any(header.spi_r):
            return None
        ciphertext = body.data
        recipes, retransmission = self._recipes(state, header.message_id, ciphertext)
        given = [keys] if isinstance(keys, Ikev1Keys) else list(keys or [])
        if not given and not unbound:
            return None
        from_initiator = None if sender is None or state.initiator is None else sender == state.initiator
        result = Ikev1Decrypted(retransmission=retransmission, from_initiator=from_initiator)
        cookies = (bytes(header.spi_i), bytes(header.spi_r))
        candidates = self._usable(state, given, cookies, psks, result.errors)
        trials: list[tuple[Ikev1Keys, Ikev1Keys]] = []
        if not recipes:
            what = ("the KE payloads of the clear phase-1 messages were not captured" if header.message_id == PHASE1
                    else "no phase-1 message of this SA was captured")
            result.errors.append(f"IV unknown: {what}")
        elif state.cipher_unusable is not None:
            result.errors.append(f"the SA negotiated {state.cipher_unusable}, which ikesniff cannot decrypt")
        else:
            result.iv_origin = _origin(recipes[0], header.message_id)
            needs_hash = _needs_hash(recipes[0])
            hashes = (state.hash_name,) if state.hash_name or not needs_hash else HASH_TRIAL_ORDER
            first_failure: list[str] = []
            for candidate in candidates:
                if not self._try_key(result, state, recipes, hashes, candidate, message, ciphertext, first_failure):
                    result.unread_with.append(candidate)
            if not result.readable and unbound:
                for base in unbound:
                    for candidate in self._usable(state, [base], cookies, psks, []):
                        trials.append((base, candidate))
                        if self._try_key(result, state, recipes, hashes, candidate, message, ciphertext,
                                         first_failure, quiet=True):
                            result.bound = base
                            break
                    if result.bound is not None:
                        break
            if not result.readable:
                detail = f" ({'; '.join(first_failure)})" if first_failure else ""
                result.errors.append(UNREADABLE + detail)
                guessed = sorted({state.guesses[c] for c in candidates if c in state.guesses})
                if guessed:
                    result.errors.append(f"keys derived from a DH secret with the {len(guessed)} pre-shared key(s) "
                                         "given do not read it: its sender holds another pre-shared key")
        for candidate in [*candidates, *(c for _, c in trials if c is result.keys)]:
            reading = state.readings.setdefault((candidate, from_initiator), KeyReading(
                candidate, from_initiator, psk_index=state.guesses.get(candidate)))
            if result.keys is candidate:
                reading.read += 1
            elif recipes and candidate in result.unread_with:
                reading.unread += 1
        return result

    def _usable(self, state: _SaState, given: list[Ikev1Keys], cookies: tuple[bytes, bytes], psks: Sequence[bytes],
                errors: list[str]) -> list[Ikev1Keys]:
        """The keys to try: those with an encryption key as they are, derivable ones derived for this SA (one per
        PSK when they need one), cached in the SA's state; what cannot be derived is said in `errors`."""
        usable: list[Ikev1Keys] = []
        psk_auth = state.auth_method is None or state.auth_method in PSK_METHODS
        for keys in given:
            if not keys.derivable:
                usable.append(keys)
                if keys.dh_secret and psks and psk_auth:
                    self._test_psks(state, keys, cookies, psks, usable)
                continue
            indexes: list[int | None] = [None]
            needs_psk = not (keys.skeyid_e or keys.skeyid) and psk_auth
            if needs_psk:
                indexes = list(range(len(psks)))
                if not indexes:
                    errors.append(f"keys from {keys.source}: deriving them from the DH secret needs the "
                                  "pre-shared key (SKEYID = prf(PSK, Ni | Nr)), and none was given")
            for index in indexes:
                derived = state.derived.get((keys, index))
                if derived is None:
                    problem = self._derive(state, keys, cookies, None if index is None else psks[index], index)
                    if isinstance(problem, str):
                        errors.append(f"keys from {keys.source} cannot be derived: {problem}")
                        continue
                    derived = state.derived[(keys, index)] = problem
                    if index is not None:
                        state.guesses[derived] = index
                usable.append(derived)
        return usable

    def _test_psks(self, state: _SaState, keys: Ikev1Keys, cookies: tuple[bytes, bytes], psks: Sequence[bytes],
                   usable: list[Ikev1Keys]) -> None:
        """A logged encryption key that comes with its DH secret: each PSK given derives a key from that secret.
        The same key as logged: the logged key is marked as that PSK's (what it reads, a side holding that PSK
        sent). Another key: tried as well, as a guess (it reads the messages of a peer that holds that PSK)."""
        bare = dataclasses.replace(keys, encryption_key=b"", skeyid_e=None, skeyid=None)
        for index, psk in enumerate(psks):
            derived = state.derived.get((keys, index))
            if derived is None:
                made = self._derive(state, bare, cookies, psk, index)
                if isinstance(made, str):
                    return
                derived = state.derived[(keys, index)] = made
            same = next((one for one in usable if one.encryption_key == derived.encryption_key), None)
            if same is not None:
                state.guesses.setdefault(same, index)
                continue
            state.guesses[derived] = index
            usable.append(derived)

    @staticmethod
    def _derive(state: _SaState, keys: Ikev1Keys, cookies: tuple[bytes, bytes], psk: bytes | None,
                index: int | None) -> Ikev1Keys | str:
        """The encryption key of a derivable key set for this SA, or what is missing to derive it."""
        if state.cipher is None or state.hash_name is None:
            return "the phase-1 SA choice (cipher and hash) was not captured"
        if state.prf_attribute is not None:
            return f"the SA negotiated Oakley PRF {state.prf_attribute}, which no RFC defines"
        hash_name, key_octets = state.hash_name, CIPHERS[state.cipher].key_octets
        if keys.skeyid_e:
            key = encryption_key_from_skeyid_e(hash_name, keys.skeyid_e, key_octets)
            return dataclasses.replace(keys, spi_i=cookies[0], encryption_key=key, spi_r=cookies[1],
                                       source=f"{keys.source} (from SKEYID_e)")
        if not keys.dh_secret:
            return "neither SKEYID_e nor the DH secret is known"
        base = keys.skeyid
        if base is None:
            if state.nonce_i is None or state.nonce_r is None:
                return "the nonces of the clear phase-1 messages were not captured"
            method = PSK_METHODS_DEFAULT if state.auth_method is None else state.auth_method
            base = skeyid(method, hash_name, state.nonce_i, state.nonce_r, cookies[0], cookies[1], keys.dh_secret,
                          psk)
            if base is None:
                name = registry.OAKLEY_AUTH_METHOD_NAMES.get(method, str(method))
                return f"SKEYID cannot be computed for authentication method {name}"
        derived = derive_phase1(hash_name, base, keys.dh_secret, cookies[0], cookies[1], key_octets)
        how = ("with SKEYID" if keys.skeyid else f"with pre-shared key #{index + 1} given" if index is not None
               else "from the DH secret")
        return Ikev1Keys(cookies[0], derived.encryption_key, f"{keys.source} (derived {how})", derived.skeyid_e,
                         keys.dh_secret, cookies[1], derived.skeyid, derived.skeyid_a, derived.skeyid_d)

    def _try_key(self, result: Ikev1Decrypted, state: _SaState, recipes: list[_Recipe], hashes: Sequence[str | None],
                 candidate: Ikev1Keys, message: Message, ciphertext: bytes, first_failure: list[str],
                 quiet: bool = False) -> bool:
        """Try one key with every cipher its length allows; True when it reads the message. `quiet`: leave
        what is wrong with the key out of the errors (a trial of a key set that may be another SA's)."""
        key = candidate.encryption_key
        ciphers = (state.cipher,) if state.cipher else CIPHERS_BY_KEY_OCTETS.get(len(key), ())
        for cipher_name in ciphers:
            cipher = CIPHERS[cipher_name]
            if len(key) < cipher.key_octets:
                if not quiet:
                    result.errors.append(f"key from {candidate.source} has {len(key)} octets, "
                                         f"{cipher.name} needs {cipher.key_octets}")
                continue
            if not ciphertext or len(ciphertext) % cipher.block_octets:
                error = (f"{len(ciphertext)} octets of ciphertext, not a positive multiple of "
                         f"the {cipher.block_octets}-octet {cipher.name} block")
                if error not in result.errors:
                    result.errors.append(error)
                continue
            if self._try(result, state, recipes, hashes, cipher, candidate, message, ciphertext, first_failure):
                return True
        return False

    @staticmethod
    def _try(result: Ikev1Decrypted, state: _SaState, recipes: list[_Recipe], hashes: Sequence[str | None],
             cipher: Ikev1Cipher, candidate: Ikev1Keys, message: Message, ciphertext: bytes,
             first_failure: list[str]) -> bool:
        """Decrypt with one key and cipher under each IV recipe and hash; True when a plaintext parses (the
        first such result, over all keys, becomes the message's)."""
        key = candidate.encryption_key[:cipher.key_octets]
        for position, recipe in enumerate(recipes):
            for hash_name in hashes:
                iv = recipe.iv(cipher.block_octets, hash_name)
                if iv is None:
                    continue
                parsed = parse_decrypted(message.header, _decrypt_cbc(cipher, key, iv, ciphertext))
                if not _parses(parsed):
                    if not first_failure:
                        first_failure.extend(parsed.errors[:2] or ["an unknown payload type"])
                    continue
                if result.keys is None:
                    result.keys, result.payloads, result.readable = candidate, parsed.payloads, True
                    result.cipher = cipher.name
                    result.stale_phase1 = position > 0
                    state.cipher = cipher.name  # confirmed: no more trials for this SA
                    if _needs_hash(recipe):
                        state.hash_name = hash_name
                    result.hash = state.hash_name
                return True
        return False
