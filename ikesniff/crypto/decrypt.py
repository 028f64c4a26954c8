"""IKEv2 decryption: the Encrypted payload SK (RFC 7296 §3.14) and the Encrypted Fragment payload
SKF (RFC 7383) opened with known keys, their integrity checked, the inner payloads dissected.

Sans-IO: the bytes of one IKEv2 message, its dissected `Message` and the IKE SA's keys go in;
plain objects come out. This module knows nothing of trackers, IKE SA state, output, the command
line or files: where the keys come from (a Wireshark table, a daemon log) is `keys.py`'s business,
what the decrypted payloads mean is the tracker's. Nothing here raises on bad input or wrong keys:
every problem is a string in `Decrypted.errors`.

Theory of operation.
- The keys are a `keys.Ikev2Keys`: SPIs, SK_ei/SK_er/SK_ai/SK_ar and the algorithm names exactly
  as Wireshark 4.x writes them in its `ikev2_decryption_table` ("AES-CBC-128 [RFC3602]",
  "HMAC_SHA2_256_128 [RFC4868]"). The algorithm tables are `keys.py`'s (`ENCRYPTION_ALGORITHMS`,
  `INTEGRITY_ALGORITHMS`: transform ID, key and salt sizes, mode), one source for loading and for
  decrypting; where IV, ciphertext and ICV lie comes from the dissector's `sk_layout`, by transform ID.
- Direction comes from the header's I flag: a message from the original initiator is protected with
  SK_ei/SK_ai, one from the original responder with SK_er/SK_ar (RFC 7296 §2.14).
- Integrity. With an integrity transform the ICV is the MAC of the whole message from the first
  octet of the IKE header to the last octet before the ICV (RFC 7296 §3.14), checked before anything
  is decrypted. With a combined-mode (AEAD) cipher the ICV is the cipher's tag over the ciphertext and
  the associated data, the IKE header and the SK generic payload header (RFC 5282 §5.1; for SKF the
  8-octet SKF header, RFC 7383 §2.5). Either way `Decrypted.icv_ok` is True when it verifies, False
  when it does not (and an error says so); None only when nothing could be checked: the integrity
  algorithm is NONE with a non-AEAD cipher, or one of Wireshark's "ANY n-bits of Authentication [No
  Checking]" rows.
- A message whose ICV fails is still decrypted (for an AEAD cipher, with its bare keystream: CTR for
  GCM and CCM, ChaCha20 for ChaCha20-Poly1305), as Wireshark does: a corrupted ICV leaves readable
  payloads, wrong keys leave garbage that the dissector reports. The caller decides what to trust.
- The plaintext is the inner payload chain, padding and the pad length octet; the chain is
  dissected with the project's IKEv2 dissector (`dissectors.ikev2.parse_payloads`), so the payloads
  are the very objects a clear message would have. Their `offset` counts from the start of the
  plaintext (of the reassembled plaintext, for fragments).
- Fragments (RFC 7383): each SKF message is authenticated and decrypted on its own;
  `SkfReassembler` keeps the plaintexts per message (SPIs, message ID, direction) and, once every
  fragment is there, joins them in fragment-number order and dissects the chain whose first type
  fragment 1 names. Without keys it still keeps the count of what arrived and what is missing.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, ChaCha20Poly1305

from dissectors.ikev2 import (
    ENCRYPTED,
    ENCRYPTED_FRAGMENT,
    Encrypted,
    EncryptedFragment,
    parse_payloads,
    sk_layout,
)
from dissectors.model import ISAKMP_HEADER_LENGTH, Message, Notify, Payload

from .keys import ENCRYPTION_ALGORITHMS, INTEGRITY_ALGORITHMS, INTEGRITY_NONE, EncryptionAlgorithm, Ikev2Keys

SK_HEADER = 4
"""Octets of the generic payload header that precede the IV in SK."""
SKF_HEADER = 8
"""Generic payload header plus Fragment Number and Total Fragments (RFC 7383 §2.5)."""


_AES_MAC_KEY_OCTETS = 16
"""AES-XCBC-MAC-96 (RFC 3566 §4) and AES-CMAC-96 (RFC 4494 §2) take a 128-bit key in IPsec."""


def short_name(name: str) -> str:
    """A key-table name without its reference: 'HMAC_SHA2_256_128 [RFC4868]' -> 'HMAC_SHA2_256_128'."""
    return name.split(" [", 1)[0]


# --- results -------------------------------------------------------------------------------------

@dataclass(slots=True)
class Decrypted:
    """What the SK payload of one message (or the SKF payloads of one fragmented message) holds."""

    payloads: list[Payload] = field(default_factory=list)
    """The inner payloads, dissected as in a clear message; offsets count from the plaintext start."""
    icv_ok: bool | None = None
    """True: the ICV (integrity transform or AEAD tag) verifies; False: it does not (see `errors`);
    None: nothing was checked (integrity NONE with a non-AEAD cipher, a no-checking key-table row, or
    no usable key)."""
    errors: list[str] = field(default_factory=list)
    """Every problem met: ICV failure, bad padding, unusable keys, malformed inner payloads."""

    @property
    def notifies(self) -> list[Notify]:
        return [p for p in self.payloads if isinstance(p, Notify)]


@dataclass(slots=True)
class _Opened:
    """One SK/SKF payload decrypted: the inner chain's bytes (padding removed) and what was checked."""

    chain: bytes | None
    """None when nothing could be decrypted."""
    icv_ok: bool | None
    errors: list[str]


# --- integrity -----------------------------------------------------------------------------------

def _aes_ecb(key: bytes, block: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return encryptor.update(block) + encryptor.finalize()


def aes_xcbc_mac(key: bytes, data: bytes) -> bytes:
    """AES-XCBC-MAC (RFC 3566 §4), the full 128 bits; the cryptography library has no XCBC."""
    k1 = _aes_ecb(key, b"\x01" * 16)
    k2 = _aes_ecb(key, b"\x02" * 16)
    k3 = _aes_ecb(key, b"\x03" * 16)
    if data and len(data) % 16 == 0:
        head, last, mask = data[:-16], data[-16:], k2
    else:
        cut = len(data) - len(data) % 16
        head, last, mask = data[:cut], data[cut:] + b"\x80" + bytes(15 - len(data) % 16), k3
    chained = bytes(16)
    if head:
        encryptor = Cipher(algorithms.AES(k1), modes.CBC(bytes(16))).encryptor()
        chained = (encryptor.update(head) + encryptor.finalize())[-16:]
    block = bytes(a ^ b ^ c for a, b, c in zip(last, chained, mask))
    return _aes_ecb(k1, block)


def _aes_cmac(key: bytes, data: bytes) -> bytes:
    mac = cmac.CMAC(algorithms.AES(key))
    mac.update(data)
    return mac.finalize()


def compute_icv(integrity: str, key: bytes, data: bytes) -> bytes:
    """The ICV an integrity algorithm (by key-table name) gives over `data`, truncated as IKEv2
    truncates it. Raises KeyError for an unknown name, ValueError for a key it cannot use."""
    algorithm = INTEGRITY_ALGORITHMS[integrity]
    if algorithm.mac == "hmac":
        return hmac.digest(key, data, algorithm.hash or "")[:algorithm.icv_octets]
    if algorithm.mac in ("xcbc", "cmac"):
        if len(key) != _AES_MAC_KEY_OCTETS:
            raise ValueError(f"{short_name(integrity)} needs a {_AES_MAC_KEY_OCTETS}-octet key, "
                             f"not {len(key)}")
        mac = aes_xcbc_mac if algorithm.mac == "xcbc" else _aes_cmac
        return mac(key, data)[:algorithm.icv_octets]
    raise ValueError(f"{short_name(integrity)} computes no ICV")


# --- ciphers -------------------------------------------------------------------------------------

def _cipher_key(cipher: EncryptionAlgorithm, name: str, material: bytes, label: str,
                errors: list[str]) -> tuple[bytes, bytes] | None:
    """(key, salt or nonce) out of SK_e*, or None (and an error) when its length does not fit."""
    wanted, key_octets = cipher.key_octets, cipher.key_bits // 8
    if len(material) != wanted:
        errors.append(f"{label} has {len(material)} octets, {short_name(name)} needs {wanted}"
                      + (f" ({key_octets} of key and {cipher.salt_octets} of salt)"
                         if cipher.salt_octets else ""))
        return None
    return material[:key_octets], material[key_octets:]


def _stream(algorithm: algorithms.AES | algorithms.ChaCha20 | TripleDES, mode: modes.CBC | modes.CTR | None,
            data: bytes) -> bytes:
    decryptor = Cipher(algorithm, mode).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def _decrypt_cbc(key: bytes, iv: bytes, ciphertext: bytes, triple_des: bool) -> bytes:
    algorithm = TripleDES(key) if triple_des else algorithms.AES(key)
    return _stream(algorithm, modes.CBC(iv), ciphertext)


def _decrypt_aead(cipher: EncryptionAlgorithm, key: bytes, salt: bytes, iv: bytes, ciphertext: bytes,
                  tag: bytes, aad: bytes) -> tuple[bytes, bool]:
    """(plaintext, tag verifies). A failing tag still yields the keystream decryption."""
    nonce = salt + iv
    if cipher.mode == "gcm":
        # RFC 4106 §4: nonce = salt || IV; GCM's counter starts at J0 = nonce || 1 and encrypts from 2.
        decryptor = Cipher(algorithms.AES(key), modes.GCM(nonce, tag, min_tag_length=len(tag))).decryptor()
        decryptor.authenticate_additional_data(aad)
        plain = decryptor.update(ciphertext)
        try:
            decryptor.finalize()
        except InvalidTag:
            return plain, False
        return plain, True
    if cipher.mode == "ccm":
        try:
            return AESCCM(key, tag_length=len(tag)).decrypt(nonce, ciphertext + tag, aad), True
        except InvalidTag:
            # RFC 4309 §5: counter blocks are flags (L - 1 = 3) || nonce || counter, counting from 1.
            return _stream(algorithms.AES(key), modes.CTR(b"\x03" + nonce + (1).to_bytes(4, "big")),
                           ciphertext), False
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, ciphertext + tag, aad), True
    except InvalidTag:
        # RFC 8439 §2.8: the plaintext is encrypted from block counter 1 (0 keys Poly1305).
        return _stream(algorithms.ChaCha20(key, (1).to_bytes(4, "little") + nonce), None, ciphertext), False


# --- one SK or SKF payload -------------------------------------------------------------------------

def _open(message_bytes: bytes, message: Message, payload: Encrypted, keys: Ikev2Keys) -> _Opened:
    errors: list[str] = []
    where = f"{payload.name} at offset {payload.offset}"
    cipher = ENCRYPTION_ALGORITHMS.get(keys.encryption)
    if cipher is None:
        return _Opened(None, None, [f"encryption algorithm {keys.encryption!r} is not supported"])
    integrity_name = INTEGRITY_NONE if cipher.aead else keys.integrity
    integrity = INTEGRITY_ALGORITHMS.get(integrity_name)
    if integrity is None:
        return _Opened(None, None, [f"integrity algorithm {keys.integrity!r} is not supported"])
    try:
        if integrity.transform_id is None:
            iv_octets, _ = sk_layout(cipher.transform_id, cipher.key_bits, 0)
            icv_octets = integrity.icv_octets
        else:
            iv_octets, icv_octets = sk_layout(cipher.transform_id, cipher.key_bits,
                                              None if cipher.aead else integrity.transform_id)
    except ValueError as unknown:                # a table entry the dissector has no layout for
        return _Opened(None, None, [str(unknown)])
    initiator = message.is_initiator
    side = "i" if initiator else "r"

    header_octets = SKF_HEADER if isinstance(payload, EncryptedFragment) else SK_HEADER
    data_start = payload.offset + header_octets
    data = payload.data
    data_end = data_start + len(data)
    if payload.offset + payload.length > len(message_bytes) or data_end > len(message_bytes):
        errors.append(f"{where}: its {payload.length} octets run past the {len(message_bytes)} at hand")
        return _Opened(None, False, errors)
    if len(data) < iv_octets + icv_octets:
        errors.append(f"{where}: {len(data)} octets of encrypted data, fewer than the {iv_octets} of IV "
                      f"and {icv_octets} of ICV")
        return _Opened(None, False, errors)
    iv = data[:iv_octets]
    ciphertext = data[iv_octets:len(data) - icv_octets]
    icv = data[len(data) - icv_octets:]

    icv_ok: bool | None = None
    if integrity.mac in ("hmac", "xcbc", "cmac"):
        integrity_key = keys.sk_ai if initiator else keys.sk_ar
        try:
            expected = compute_icv(keys.integrity, integrity_key, message_bytes[:data_end - icv_octets])
        except ValueError as problem:
            errors.append(f"SK_a{side}: {problem}")
        else:
            icv_ok = hmac.compare_digest(expected, icv)
            if not icv_ok:
                errors.append(f"ICV does not verify ({short_name(keys.integrity)} with SK_a{side})")

    split = _cipher_key(cipher, keys.encryption, keys.sk_ei if initiator else keys.sk_er, f"SK_e{side}",
                        errors)
    if split is None:
        return _Opened(None, icv_ok, errors)
    key, salt = split
    if cipher.mode == "cbc":
        block = cipher.block_octets
        if not ciphertext or len(ciphertext) % block:
            errors.append(f"{where}: {len(ciphertext)} octets of ciphertext, not a positive multiple of "
                          f"the {block}-octet block")
            return _Opened(None, icv_ok, errors)
        plain = _decrypt_cbc(key, iv, ciphertext, cipher.cipher == "3des")
    elif cipher.mode == "ctr":
        # RFC 5930 §2 / RFC 3686 §4: counter block = nonce || IV || 1.
        plain = _stream(algorithms.AES(key), modes.CTR(salt + iv + (1).to_bytes(4, "big")), ciphertext)
    elif cipher.mode == "null":
        plain = ciphertext
    else:
        aad = message_bytes[:data_start]
        plain, icv_ok = _decrypt_aead(cipher, key, salt, iv, ciphertext, icv, aad)
        if not icv_ok:
            errors.append(f"ICV does not verify ({short_name(keys.encryption)} with SK_e{side})")

    if not plain:
        errors.append(f"{where}: no plaintext, not even the pad length octet")
        return _Opened(None, icv_ok, errors)
    pad_length = plain[-1]
    if pad_length > len(plain) - 1:
        errors.append(f"{where}: padding length {pad_length} exceeds the {len(plain) - 1} octets of "
                      f"plaintext before it")
        return _Opened(None, icv_ok, errors)
    return _Opened(plain[:len(plain) - 1 - pad_length], icv_ok, errors)


def _dissect(chain: bytes, first_type: int, errors: list[str], name: str) -> list[Payload]:
    found: list[str] = []
    payloads = parse_payloads(memoryview(chain), first_type, 0, len(chain), found)
    errors.extend(f"inside {name}: {problem}" for problem in found)
    return payloads


def _encrypted_payload(message: Message) -> Encrypted | None:
    for payload in message.payloads:
        if isinstance(payload, Encrypted):
            return payload
    return None


def _truncated_encrypted(message_bytes: bytes, message: Message) -> str | None:
    """An error text when the payload chain ends in an SK/SKF payload that the dissector could not
    take because it runs past the bytes at hand (a truncated capture), else None."""
    if message.payloads:
        last = message.payloads[-1]
        offset = last.offset + last.length
        next_type = message_bytes[last.offset] if last.offset < len(message_bytes) else 0
    else:
        offset, next_type = ISAKMP_HEADER_LENGTH, message.header.next_payload
    if next_type not in (ENCRYPTED, ENCRYPTED_FRAGMENT):
        return None
    name = "SK" if next_type == ENCRYPTED else "SKF"
    if offset + 4 > len(message_bytes):
        return f"{name} at offset {offset}: truncated before its generic header ({len(message_bytes)} octets)"
    declared = int.from_bytes(message_bytes[offset + 2:offset + 4], "big")
    return (f"{name} at offset {offset}: truncated, {len(message_bytes) - offset} of its {declared} octets "
            f"at hand")


def decrypt_message(message_bytes: bytes, message: Message, keys: Ikev2Keys) -> Decrypted | None:
    """Decrypt and check the SK payload of one IKEv2 message, dissect what it holds.

    `message` is `dissectors.parse_message(message_bytes)`. Returns None when the message has no SK
    payload (a clear message, or an SKF fragment: see `SkfReassembler`). A payload cut short by the
    capture gives a `Decrypted` with an error. Never raises for bad bytes or keys."""
    payload = _encrypted_payload(message)
    if payload is None or isinstance(payload, EncryptedFragment):
        truncated = None if payload is not None else _truncated_encrypted(message_bytes, message)
        if truncated is None or truncated.startswith("SKF"):
            return None
        return Decrypted([], False, [truncated])
    opened = _open(message_bytes, message, payload, keys)
    result = Decrypted([], opened.icv_ok, opened.errors)
    if opened.chain is not None:
        result.payloads = _dissect(opened.chain, payload.inner_first_payload, result.errors, payload.name)
    return result


def verifying_keys(message_bytes: bytes, message: Message, candidates: Sequence[Ikev2Keys]) -> Ikev2Keys | None:
    """The first of `candidates` whose ICV verifies on the message's SK or SKF payload (each SKF fragment
    carries its own ICV, RFC 7383 §2.5), or None: how a key set is told to belong to an SA when its source
    does not say (a log without SPIs), or which of several key sets to reassemble fragments with. Key
    sets whose ICV cannot be checked (integrity NONE, Wireshark's no-checking rows) never match."""
    payload = _encrypted_payload(message)
    if payload is None:
        return None
    for keys in candidates:
        if _open(message_bytes, message, payload, keys).icv_ok:
            return keys
    return None


# --- fragments -----------------------------------------------------------------------------------

@dataclass(slots=True)
class PendingFragments:
    """The fragments of one IKEv2 message received so far (RFC 7383)."""

    spi_i: bytes
    spi_r: bytes
    message_id: int
    initiator: bool
    """Sent by the original initiator (I flag)."""
    response: bool
    total: int
    """Total Fragments as the fragments state it."""
    received: list[int] = field(default_factory=list)
    """Fragment numbers received, in arrival order."""
    retransmission: bool = False
    """The same message (SPIs, message ID, direction, total) was put together before: these are
    fragments sent again, and a copy that stays incomplete is not a message that went missing."""

    @property
    def got(self) -> int:
        return len(self.received)

    @property
    def missing(self) -> list[int]:
        have = set(self.received)
        return [number for number in range(1, self.total + 1) if number not in have]


FragmentKey = tuple[bytes, bytes, int, bool, bool]
"""SPIs, message ID, I flag, R flag: what the fragments of one message share."""
_Kept = TypeVar("_Kept")


@dataclass(slots=True)
class _FragmentSet:
    status: PendingFragments
    inner_first_payload: int = 0
    chains: dict[int, bytes] = field(default_factory=dict)
    """Plaintext inner-chain piece per fragment number (only when keys were given)."""
    icv: list[bool | None] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    undecrypted: bool = False
    """Some fragment came without keys or could not be decrypted: no whole plaintext possible."""


class SkfReassembler:
    """Puts the SKF fragments of IKEv2 messages back together (RFC 7383 §2.6).

    Fragments belong together when SPIs, message ID and direction (I and R flags) agree. Each is
    decrypted on arrival (when keys are given) and kept; a fragment number already held is a
    retransmission and ignored. A fragment announcing more fragments than the set held so far
    starts the set afresh (the sender re-fragmented, RFC 7383 §2.6.2); one announcing fewer is
    ignored. A message is put together each time its last missing fragment arrives, so a full
    retransmission gives its `Decrypted` again, like a retransmitted SK message; fragments repeating
    a message already put together (a capture that holds every datagram twice, a retransmission cut
    short) are marked `retransmission` and left out of `pending()`. At most `limit` incomplete
    messages, and as many completed ones, are remembered, the oldest forgotten first."""

    def __init__(self, limit: int = 1024) -> None:
        self.limit = limit
        self._sets: dict[FragmentKey, _FragmentSet] = {}
        self._completed: dict[FragmentKey, int] = {}
        """Messages put together, with their Total Fragments."""

    def pending(self, retransmissions: bool = False) -> list[PendingFragments]:
        """The messages still missing fragments, oldest first; copies of messages already put
        together only when `retransmissions` is True."""
        return [fragments.status for fragments in self._sets.values()
                if retransmissions or not fragments.status.retransmission]

    def feed(self, message_bytes: bytes, message: Message, keys: Ikev2Keys | None) -> Decrypted | None:
        """Take one IKEv2 message. For an SKF fragment: the `Decrypted` of the whole message when this
        fragment completes it (None without keys, or while fragments are missing). For a message
        with an SK payload: its `decrypt_message` result at once. None for anything else."""
        payload = _encrypted_payload(message)
        if not isinstance(payload, EncryptedFragment):
            if keys is None:
                return None
            return decrypt_message(message_bytes, message, keys)
        number, total = payload.fragment_number, payload.total_fragments
        if number == 0 or number > total:
            return None                          # the dissector has reported it
        header = message.header
        key: FragmentKey = (header.spi_i, header.spi_r, header.message_id, message.is_initiator,
                            message.is_response)
        fragments = self._sets.get(key)
        if fragments is not None and total != fragments.status.total:
            if total < fragments.status.total:
                return None
            fragments = None
        if fragments is None:
            fragments = _FragmentSet(PendingFragments(header.spi_i, header.spi_r, header.message_id,
                                                      message.is_initiator, message.is_response, total,
                                                      retransmission=self._completed.get(key) == total))
            self._sets.pop(key, None)
            _remember(self._sets, key, fragments, self.limit)
        if number in fragments.status.received:
            return None
        fragments.status.received.append(number)
        if number == 1:
            fragments.inner_first_payload = payload.inner_first_payload
        if keys is None:
            fragments.undecrypted = True
            fragments.errors.append(f"fragment {number}/{total}: no keys to decrypt it")
        else:
            opened = _open(message_bytes, message, payload, keys)
            fragments.icv.append(opened.icv_ok)
            fragments.errors.extend(f"fragment {number}/{total}: {problem}" for problem in opened.errors)
            if opened.chain is None:
                fragments.undecrypted = True
            else:
                fragments.chains[number] = opened.chain
        if fragments.status.got < total:
            return None
        del self._sets[key]
        self._completed.pop(key, None)
        _remember(self._completed, key, total, self.limit)
        if keys is None:
            return None
        result = Decrypted([], _combined(fragments.icv), fragments.errors)
        if not fragments.undecrypted:
            whole = b"".join(fragments.chains[n] for n in range(1, total + 1))
            result.payloads = _dissect(whole, fragments.inner_first_payload, result.errors, "SKF")
        return result


def _remember(table: dict[FragmentKey, _Kept], key: FragmentKey, value: _Kept, limit: int) -> None:
    """table[key] = value, the oldest entries forgotten first beyond `limit`."""
    while len(table) >= limit:
        del table[next(iter(table))]
    table[key] = value


def _combined(checks: list[bool | None]) -> bool | None:
    """One verdict for a fragmented message: False if any fragment failed, None if any went unchecked."""
    if any(check is False for check in checks):
        return False
    if any(check is None for check in checks):
        return None
    return True


__all__ = [
    "Decrypted", "PendingFragments", "SkfReassembler", "aes_xcbc_mac", "compute_icv", "decrypt_message",
    "short_name", "verifying_keys",
]
