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

Memory is bounded: at most `max_sas` SAs (the least recently fed dropped first), per SA at most
`max_exchanges` message-ID chains and `max_remembered` retransmission fingerprints; `forget` drops an SA.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from dissectors import ikev1_registry as registry
from dissectors.ikev1 import (
    EncryptedBodyPayload,
    KeyExchangePayload,
    SecurityAssociationPayload,
    parse_decrypted,
)
from dissectors.model import Message, Notify, Payload

from .keys import Ikev1Keys

__all__ = ["CIPHERS", "UNREADABLE", "Ikev1Cipher", "Ikev1Decrypted", "Ikev1Decryptor", "KeyReading"]

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
PHASE1 = 0
BLOCK_MEMORY = 16
"""Octets of ciphertext tail kept for chaining: a block of the largest cipher."""
PHASE1_HISTORY = 3
"""Earlier phase-1 IVs kept to derive a message ID's IV from (see `_SaState.phase1_earlier`)."""


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
    """The keys that read the message."""
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


def _sa_choice(payload: SecurityAssociationPayload) -> tuple[int | None, int | None, int | None] | None:
    """(Oakley cipher, key bits, hash) of an SA with exactly one ISAKMP transform, else None."""
    transforms = [t for proposal in payload.proposals if proposal.protocol_id == 1 for t in proposal.transforms]
    if len(transforms) != 1:
        return None
    values: dict[int, int] = {a.type: a.value for a in transforms[0].attributes if isinstance(a.value, int)}
    return (values.get(registry.OAKLEY_ENCRYPTION_ALGORITHM), values.get(registry.OAKLEY_KEY_LENGTH),
            values.get(registry.OAKLEY_HASH_ALGORITHM))


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
        read with one of them and not with another: the two peers derived different keys, which in IKEv1 with
        a pre-shared key means the PSKs differ. None otherwise."""
        readings = self.readings(spi_i, spi_r)
        keys = list(dict.fromkeys(reading.keys for reading in readings))
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
            if opening is not None:  # what the first message told (aggressive mode: SA offer, KE, initiator)
                state.cipher, state.hash_name, state.cipher_unusable = (
                    opening.cipher, opening.hash_name, opening.cipher_unusable)
                state.gxi, state.initiator = opening.gxi, opening.initiator
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
        for payload in message.payloads:
            if isinstance(payload, SecurityAssociationPayload):
                choice = _sa_choice(payload)
                if choice is None:
                    continue
                oakley_cipher, key_bits, oakley_hash = choice
                if oakley_cipher is not None:
                    name = _cipher_name(oakley_cipher, key_bits)
                    state.cipher = name
                    state.cipher_unusable = None if name else registry.OAKLEY_ENCRYPTION_NAMES.get(
                        oakley_cipher, f"Oakley cipher {oakley_cipher}")
                if oakley_hash is not None:
                    state.hash_name = HASHES.get(oakley_hash)
            elif isinstance(payload, KeyExchangePayload):
                self._learn_ke(state, payload.data, not any(header.spi_r), sender)
        if state.gxi is not None and state.gxr is not None and not state.phase1_encrypted:
            state.phase1_next = _FromKe(state.gxi, state.gxr)

    @staticmethod
    def _learn_ke(state: _SaState, public: bytes, first_message: bool, sender: Hashable | None) -> None:
        if first_message or (sender is not None and state.initiator is not None and sender == state.initiator):
            state.gxi = public
        elif sender is not None and state.initiator is not None:
            state.gxr = public
        elif state.gxi is None:
            state.gxi = public  # main mode message 3 comes before message 4
        elif public != state.gxi:
            state.gxr = public

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
             sender: Hashable | None = None) -> Ikev1Decrypted | None:
        """Take one IKEv1 message (`message` is `dissectors.parse_message(message_bytes)`).

        `keys`: the SA's keys, or every candidate (`KeyStore.ikev1_candidates(cookie)`), or None. `sender`:
        anything that tells the two peers apart (e.g. the source address and port), or None; with it the
        result and `readings` say which side sent what. Returns None for a clear message (whose SA choice and
        KE payloads are kept) and for an encrypted one when no keys are given (the IV chains still advance);
        otherwise an `Ikev1Decrypted`. Never raises for bad bytes or keys."""
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
        candidates = [keys] if isinstance(keys, Ikev1Keys) else list(keys or [])
        if not candidates:
            return None
        from_initiator = None if sender is None or state.initiator is None else sender == state.initiator
        result = Ikev1Decrypted(retransmission=retransmission, from_initiator=from_initiator)
        if not recipes:
            what = ("the KE payloads of the clear phase-1 messages were not captured" if header.message_id == PHASE1
                    else "no phase-1 message of this SA was captured")
            result.errors.append(f"IV unknown: {what}")
        else:
            result.iv_origin = _origin(recipes[0], header.message_id)
            self._decrypt(result, state, recipes, message, ciphertext, candidates)
        for candidate in candidates:
            reading = state.readings.setdefault((candidate, from_initiator), KeyReading(candidate, from_initiator))
            if result.keys is candidate:
                reading.read += 1
            elif recipes and candidate in result.unread_with:
                reading.unread += 1
        return result

    def _decrypt(self, result: Ikev1Decrypted, state: _SaState, recipes: list[_Recipe], message: Message,
                 ciphertext: bytes, candidates: list[Ikev1Keys]) -> None:
        if state.cipher_unusable is not None:
            result.errors.append(f"the SA negotiated {state.cipher_unusable}, which ikesniff cannot decrypt")
            return
        needs_hash = _needs_hash(recipes[0])
        hashes = (state.hash_name,) if state.hash_name or not needs_hash else HASH_TRIAL_ORDER
        first_failure: list[str] = []
        for candidate in candidates:
            key = candidate.encryption_key
            ciphers = (state.cipher,) if state.cipher else CIPHERS_BY_KEY_OCTETS.get(len(key), ())
            read = False
            for cipher_name in ciphers:
                cipher = CIPHERS[cipher_name]
                if len(key) < cipher.key_octets:
                    result.errors.append(f"key from {candidate.source} has {len(key)} octets, "
                                         f"{cipher.name} needs {cipher.key_octets}")
                    continue
                if not ciphertext or len(ciphertext) % cipher.block_octets:
                    result.errors.append(f"{len(ciphertext)} octets of ciphertext, not a positive multiple of "
                                         f"the {cipher.block_octets}-octet {cipher.name} block")
                    continue
                read = self._try(result, state, recipes, hashes, cipher, candidate, message, ciphertext,
                                 first_failure)
                if read:
                    break
            if not read:
                result.unread_with.append(candidate)
        if not result.readable:
            detail = f" ({'; '.join(first_failure)})" if first_failure else ""
            result.errors.append(UNREADABLE + detail)

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
