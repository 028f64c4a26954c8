"""Pre-shared key verification: does the key an engineer holds match what a peer authenticated with?

Theory of operation
-------------------
A passive observer holding a pre-shared key (PSK) can check exactly two things (SPEC section 6):

* **IKEv1 aggressive mode** (RFC 2409 sections 5 and 5.4). Messages 1 and 2 travel in clear and
  carry everything the responder's hash covers except the key::

      SKEYID = prf(PSK, Ni_b | Nr_b)
      HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)
      HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b)

  prf is HMAC with the phase-1 hash the responder chose in message 2. HASH_R in message 2 tells
  whether the *responder* holds the given key (:func:`verify_hash_r`); HASH_I in message 3 tells it
  for the *initiator* when message 3 travels in clear, or once it has been decrypted
  (:func:`verify_hash_i`). :func:`verify_aggressive` runs what a capture allows.

  Without a PSK, an SKEYID that one peer logged (a charon log at ``ike 4``) does the same job
  (:func:`verify_aggressive_skeyid`; the PSK path derives SKEYID and runs the same checks): SKEYID is
  the PSK's only trace in the hashes and the nonces travel in clear, so the *other* peer's hash
  verifies with it exactly when that peer derived the same SKEYID, i.e. holds the same PSK (the
  logging peer's own hash verifies trivially).

* **IKEv1 main mode** (RFC 2409 section 5): the same two hashes, over the same inputs, travel in
  messages 5 and 6, encrypted. A PSK alone cannot check them (the keys need the Diffie-Hellman
  secret); once a message is decrypted (a key table, a charon log, or keys derived from a logged DH
  secret and the PSK) :func:`verify_main_mode` checks its HASH_I or HASH_R, reading the SA offer,
  choice, KE and nonces from the clear messages 1-4. Keys derived from a DH secret with the PSK
  given are themselves a test of the key: :func:`derived_key_check` turns "those keys read (or did
  not read) this side's messages" into the same kind of result.

* **IKEv2 AUTH with a shared key** (RFC 7296 section 2.15), once the IKE_AUTH message is decrypted::

      AUTH = prf(prf(PSK, "Key Pad for IKEv2"), <SignedOctets>)
      InitiatorSignedOctets = RealMessage1 | NonceRData | prf(SK_pi, IDi')
      ResponderSignedOctets = RealMessage2 | NonceIData | prf(SK_pr, IDr')

  This needs SK_pi / SK_pr, which only a charon log at ``ike 4`` gives (Wireshark's key table does
  not hold them). :func:`verify_ikev2_auth` checks one side's AUTH payload.

  What cannot be done: with SK_pi/SK_pr but *without* a PSK, nothing tells whether an AUTH payload
  is right -- the PSK is the only secret in the outer prf, so every AUTH value is equally plausible.
  The IDs can be read (they are in the decrypted payloads) but not checked against the AUTH. With a
  PSK the check separates a PSK mismatch (the sender's AUTH verifies with its own key and not with
  the peer's) from an identity mismatch (the AUTH verifies with the one key both sides hold).
  Not covered: EAP-based AUTH (the MSK replaces the PSK), and RFC 9242 IKE_INTERMEDIATE exchanges
  (their IntAuth values extend the signed octets).

* :func:`load_psk_file` reads the keys from a ``--psk-file``: one key a line, a strongSwan
  ``swanctl.conf`` ``secrets { ike-x { secret = ... } }`` section, or ``ipsec.secrets`` ``: PSK "..."``
  lines, with strongSwan's ``0x`` (hex) and ``0s`` (base64) encodings.

What this module must not know: the capture, the tracker, diagnosis, output formats or the command
line. Bytes, dissected messages and keys go in; :class:`PskCheck` results come out. Only
:func:`load_psk_file` reads a file. No text it returns or raises ever contains a key or a PSK.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import algorithms

from dissectors import Message, Payload, ikev1, ikev2, parse_message
from dissectors.model import ISAKMP_HEADER_LENGTH

from .decrypt import aes_xcbc_mac
from .keys import Ikev2Keys

# --- results --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PskCheck:
    """The verdict of one hash or AUTH payload checked against one pre-shared key."""

    side: Literal["initiator", "responder"]
    """Whose hash or AUTH was checked: its sender holds the given key exactly when `matches`."""
    matches: bool
    """The value computed with the given key equals the one on the wire."""
    detail: str
    """One sentence for the user; never contains a key."""
    algorithm: str
    """The prf used, e.g. 'HMAC-SHA2-256' (IKEv1 hash) or 'PRF_HMAC_SHA2_256' (IKEv2 transform)."""
    payload: str
    """What was checked: 'HASH_R', 'HASH_I' or 'AUTH'."""


class PskUnverifiable(ValueError):
    """The messages at hand do not allow the check (a payload missing, another authentication method,
    a prf this module cannot compute, no SK_pi/SK_pr). ``str()`` is one sentence, never a key."""


class PskFileError(Exception):
    """A PSK file that cannot be used. ``str()`` is one line, ``file:line: problem``; never the secret."""

    def __init__(self, name: str, line: int | None, problem: str) -> None:
        self.name = name
        self.line = line
        self.problem = problem
        super().__init__(f"{name}:{line}: {problem}" if line is not None else f"{name}: {problem}")


# --- prf ------------------------------------------------------------------------------------------

_IKEV1_HASHES: dict[str, str] = {
    "MD5": "md5", "SHA1": "sha1", "SHA2-256": "sha256", "SHA2-384": "sha384", "SHA2-512": "sha512",
}
"""IKEv1 Oakley hash names (as dissectors.ikev1_registry gives them) -> hashlib names."""

_IKEV2_HMAC_PRFS: dict[int, str] = {1: "md5", 2: "sha1", 5: "sha256", 6: "sha384", 7: "sha512"}
"""IKEv2 PRF transform ids (RFC 7296 section 3.3.2, RFC 4868) that are HMACs -> hashlib names."""
PRF_AES128_XCBC = 4
PRF_AES128_CMAC = 8
_IKEV2_PRF_NAMES: dict[int, str] = {
    1: "PRF_HMAC_MD5", 2: "PRF_HMAC_SHA1", 4: "PRF_AES128_XCBC", 5: "PRF_HMAC_SHA2_256",
    6: "PRF_HMAC_SHA2_384", 7: "PRF_HMAC_SHA2_512", 8: "PRF_AES128_CMAC",
}

Prf = Callable[[bytes, bytes], bytes]


def _hmac_prf(hash_name: str) -> Prf:
    return lambda key, data: hmac.new(key, data, hash_name).digest()


def _cmac(key: bytes, data: bytes) -> bytes:
    mac = cmac.CMAC(algorithms.AES(key))
    mac.update(data)
    return mac.finalize()


def _aes_prf(mac: Callable[[bytes, bytes], bytes], pad_short_keys: bool) -> Prf:
    """AES-XCBC-PRF-128 (RFC 4434 §2: short keys padded with zeros, long ones MACed under 0^128) and
    AES-CMAC-PRF-128 (RFC 4615 §3: every key not of 128 bits MACed under 0^128)."""
    def prf(key: bytes, data: bytes) -> bytes:
        if len(key) < 16 and pad_short_keys:
            key = key + bytes(16 - len(key))
        elif len(key) != 16:
            key = mac(bytes(16), key)
        return mac(key, data)
    return prf


def ikev2_prf(prf_id: int) -> Prf:
    """The IKEv2 prf of a PRF transform id; PskUnverifiable for one this module cannot compute."""
    if prf_id in _IKEV2_HMAC_PRFS:
        return _hmac_prf(_IKEV2_HMAC_PRFS[prf_id])
    if prf_id == PRF_AES128_XCBC:
        return _aes_prf(aes_xcbc_mac, pad_short_keys=True)
    if prf_id == PRF_AES128_CMAC:
        return _aes_prf(_cmac, pad_short_keys=False)
    raise PskUnverifiable(f"the IKE SA's PRF transform {prf_id} cannot be computed here")


# --- IKEv1 aggressive mode ------------------------------------------------------------------------


def _body(message_bytes: bytes, payload: Payload) -> bytes:
    """A payload's body as sent: its octets after the 4-octet generic header."""
    start = payload.offset + 4
    end = payload.offset + payload.length
    if payload.length < 4 or end > len(message_bytes):
        raise PskUnverifiable(f"the {payload.name} payload at offset {payload.offset} is cut short")
    return bytes(message_bytes[start:end])


def _one(message: Message, kind: type[Payload], what: str, name: str) -> Payload:
    found = [p for p in message.payloads if isinstance(p, kind)]
    if not found:
        raise PskUnverifiable(f"{what} holds no {name} payload")
    return found[0]


PSK_METHODS = frozenset({1, 65001, 65002})
"""IKEv1 authentication methods whose phase-1 hashes are keyed by a PSK: PRE_SHARED_KEY (RFC 2409) and
XAUTHInitPreShared / XAUTHRespPreShared (draft-beaulieu-ike-xauth-02 section 7.2)."""


def _phase1_hash(message2: Message) -> tuple[str, str]:
    """(hashlib name, display name) of the phase-1 hash the responder chose in message 2."""
    sa = _one(message2, ikev1.SecurityAssociationPayload, "message 2", "SA")
    assert isinstance(sa, ikev1.SecurityAssociationPayload)
    transforms = [t for proposal in sa.proposals if proposal.protocol_id == 1 for t in proposal.transforms]
    if len(transforms) != 1:
        raise PskUnverifiable(f"message 2's SA holds {len(transforms)} ISAKMP transforms, not the one chosen")
    attributes = {a.name: a for a in transforms[0].attributes}
    method = attributes.get("AUTHENTICATION_METHOD")
    if method is not None and method.value not in PSK_METHODS:
        shown = method.value_name or str(method.value)
        raise PskUnverifiable(f"the chosen authentication method is {shown}, not a pre-shared key")
    hash_attribute = attributes.get("HASH_ALGORITHM")
    name = hash_attribute.value_name if hash_attribute is not None else None
    if name is None or name not in _IKEV1_HASHES:
        raise PskUnverifiable(f"the chosen phase-1 hash {name or 'is missing and'} cannot be computed here")
    return _IKEV1_HASHES[name], f"HMAC-{name}"


@dataclass(frozen=True, slots=True)
class _Aggressive:
    """What both hashes of an aggressive-mode exchange cover, read from messages 1 and 2."""

    hash_name: str
    display: str
    ke_i: bytes
    ke_r: bytes
    cookie_i: bytes
    cookie_r: bytes
    sa_i: bytes
    id_i: bytes
    id_r: bytes
    nonces: bytes
    hash_r: bytes

    def skeyid(self, psk: bytes) -> bytes:
        return hmac.new(psk, self.nonces, self.hash_name).digest()


def _aggressive(message1: Message, message1_bytes: bytes, message2: Message, message2_bytes: bytes) -> _Aggressive:
    for number, message in ((1, message1), (2, message2)):
        if message.version != 1 or message.header.exchange_type != 4:
            raise PskUnverifiable(f"message {number} is not an IKEv1 aggressive-mode message")
        if message.encrypted:
            raise PskUnverifiable(f"message {number} is encrypted")
    if bytes(message1.header.spi_i) != bytes(message2.header.spi_i):
        raise PskUnverifiable("messages 1 and 2 belong to different exchanges (initiator cookies differ)")
    hash_name, display = _phase1_hash(message2)
    hash_payload = _one(message2, ikev1.HashPayload, "message 2", "HASH")
    return _Aggressive(
        hash_name=hash_name, display=display,
        ke_i=_body(message1_bytes, _one(message1, ikev1.KeyExchangePayload, "message 1", "KE")),
        ke_r=_body(message2_bytes, _one(message2, ikev1.KeyExchangePayload, "message 2", "KE")),
        cookie_i=bytes(message2.header.spi_i), cookie_r=bytes(message2.header.spi_r),
        sa_i=_body(message1_bytes, _one(message1, ikev1.SecurityAssociationPayload, "message 1", "SA")),
        id_i=_body(message1_bytes, _one(message1, ikev1.IdentificationPayload, "message 1", "ID")),
        id_r=_body(message2_bytes, _one(message2, ikev1.IdentificationPayload, "message 2", "ID")),
        nonces=(_body(message1_bytes, _one(message1, ikev1.NoncePayload, "message 1", "NONCE"))
                + _body(message2_bytes, _one(message2, ikev1.NoncePayload, "message 2", "NONCE"))),
        hash_r=_body(message2_bytes, hash_payload),
    )


def _phase1_hash_value(exchange: _Aggressive, skeyid: bytes, sender_is_initiator: bool, id_body: bytes) -> bytes:
    """HASH_I (`sender_is_initiator`) or HASH_R keyed by `skeyid` (RFC 2409 section 5), in either mode."""
    if sender_is_initiator:
        covered = exchange.ke_i + exchange.ke_r + exchange.cookie_i + exchange.cookie_r + exchange.sa_i + id_body
    else:
        covered = exchange.ke_r + exchange.ke_i + exchange.cookie_r + exchange.cookie_i + exchange.sa_i + id_body
    return hmac.new(skeyid, covered, exchange.hash_name).digest()


def _ikev1_check(exchange: _Aggressive, skeyid: bytes, sender_is_initiator: bool, id_body: bytes, on_wire: bytes,
                 source: str | None) -> PskCheck:
    """One phase-1 hash checked with `skeyid`: derived from a PSK given (`source` None) or logged (`source`
    names where; never the key)."""
    side: Literal["initiator", "responder"] = "initiator" if sender_is_initiator else "responder"
    name = "HASH_I" if sender_is_initiator else "HASH_R"
    matches = hmac.compare_digest(_phase1_hash_value(exchange, skeyid, sender_is_initiator, id_body), bytes(on_wire))
    who = f"the {side}"
    display = exchange.display
    if source is None and matches:
        detail = f"{name} verifies with the given pre-shared key ({display}): {who} holds this key."
    elif source is None:
        detail = (f"{name} does not verify with the given pre-shared key ({display}): "
                  f"{who} authenticated with a different key.")
    elif matches:
        detail = (f"{name} verifies with the SKEYID from {source} ({display}): {who} derived the same SKEYID from "
                  "the nonces on the wire, so it holds the pre-shared key of the side that logged it.")
    else:
        detail = (f"{name} does not verify with the SKEYID from {source} ({display}): {who} derived another "
                  "SKEYID from the same nonces, so its pre-shared key differs from that of the side that logged it.")
    return PskCheck(side, matches, detail, display, name)


def _aggressive_checks(exchange: _Aggressive, skeyid: bytes, source: str | None, message3: Message | None,
                       message3_bytes: bytes | None, hash_i: bytes | None) -> list[PskCheck]:
    """HASH_R, then HASH_I from message 3 in clear, else from `hash_i` (read in the decrypted message 3)."""
    checks = [_ikev1_check(exchange, skeyid, False, exchange.id_r, exchange.hash_r, source)]
    if message3 is not None and message3_bytes is not None and not message3.encrypted:
        hashes = [p for p in message3.payloads if isinstance(p, ikev1.HashPayload)]
        hash_i = _body(message3_bytes, hashes[0]) if hashes else None
    if hash_i is not None:
        checks.append(_ikev1_check(exchange, skeyid, True, exchange.id_i, hash_i, source))
    return checks


def verify_aggressive_skeyid(message1: Message, message1_bytes: bytes, message2: Message, message2_bytes: bytes,
                             skeyid: bytes, source: str, message3: Message | None = None,
                             message3_bytes: bytes | None = None, hash_i: bytes | None = None) -> list[PskCheck]:
    """The aggressive-mode hashes checked with an SKEYID a peer logged (a charon log at 'ike 4'), no PSK needed.

    SKEYID = prf(PSK, Ni_b | Nr_b) and the nonces travel in clear: a hash verifies with a logged SKEYID exactly
    when its sender derived the same SKEYID, i.e. holds the same pre-shared key as the side that logged it.
    The logging side's own hash verifies trivially. Returns HASH_R's check, then HASH_I's when message 3
    travels in clear or `hash_i` (the HASH payload of the decrypted message 3) is given. `source` names where
    the SKEYID comes from (a file and line) for the details; the key never appears in them. Raises
    PskUnverifiable like :func:`verify_hash_r`."""
    exchange = _aggressive(message1, message1_bytes, message2, message2_bytes)
    return _aggressive_checks(exchange, skeyid, source, message3, message3_bytes, hash_i)


def verify_hash_r(message1: Message, message1_bytes: bytes, message2: Message, message2_bytes: bytes,
                  psk: bytes) -> PskCheck:
    """Check the responder's HASH_R (aggressive-mode message 2) against `psk`.

    `messageN` is `dissectors.parse_message(messageN_bytes)`. Raises PskUnverifiable when the
    messages do not allow the check (not aggressive mode, encrypted, a payload missing, not PSK
    authentication, a hash this module cannot compute)."""
    return verify_aggressive(message1, message1_bytes, message2, message2_bytes, psk)[0]


def verify_hash_i(message1: Message, message1_bytes: bytes, message2: Message, message2_bytes: bytes,
                  psk: bytes, hash_i: bytes) -> PskCheck:
    """Check the initiator's HASH_I (the body of message 3's HASH payload, read in clear or after
    decryption) against `psk`. Raises PskUnverifiable like :func:`verify_hash_r`."""
    return verify_aggressive(message1, message1_bytes, message2, message2_bytes, psk, hash_i=bytes(hash_i))[1]


def verify_aggressive(message1: Message, message1_bytes: bytes, message2: Message, message2_bytes: bytes,
                      psk: bytes, message3: Message | None = None,
                      message3_bytes: bytes | None = None, hash_i: bytes | None = None) -> list[PskCheck]:
    """Every check an aggressive-mode exchange allows: HASH_R, then HASH_I when message 3 is given and
    travels in clear (strongSwan, like most, encrypts it: then only HASH_R), or when `hash_i`, the HASH
    payload of the decrypted message 3, is given. The SKEYID derived from `psk` goes through
    :func:`verify_aggressive_skeyid`'s checks. Raises PskUnverifiable when not even HASH_R can be checked."""
    exchange = _aggressive(message1, message1_bytes, message2, message2_bytes)
    return _aggressive_checks(exchange, exchange.skeyid(psk), None, message3, message3_bytes, hash_i)


def _main_mode(clear: list[tuple[bytes, Message]]) -> _Aggressive:
    """What the main-mode hashes cover, from the clear messages 1-4 (SA offer, SA choice, the initiator's and
    the responder's KE and nonce). The identities and HASH_R are filled in by the caller."""
    if len(clear) < 4:
        raise PskUnverifiable(f"main-mode messages 1-4 are needed in clear, {len(clear)} were captured")
    (bytes1, message1), (_, message2), (bytes3, message3), (bytes4, message4) = clear[:4]
    for number, message in enumerate((message1, message2, message3, message4), 1):
        if message.version != 1 or message.header.exchange_type != 2 or message.encrypted:
            raise PskUnverifiable(f"message {number} is not a clear IKEv1 main-mode message")
    if len({bytes(message.header.spi_i) for _, message in clear[:4]}) != 1:
        raise PskUnverifiable("messages 1-4 belong to different exchanges (initiator cookies differ)")
    hash_name, display = _phase1_hash(message2)
    return _Aggressive(
        hash_name=hash_name, display=display,
        ke_i=_body(bytes3, _one(message3, ikev1.KeyExchangePayload, "message 3", "KE")),
        ke_r=_body(bytes4, _one(message4, ikev1.KeyExchangePayload, "message 4", "KE")),
        cookie_i=bytes(message4.header.spi_i), cookie_r=bytes(message4.header.spi_r),
        sa_i=_body(bytes1, _one(message1, ikev1.SecurityAssociationPayload, "message 1", "SA")),
        id_i=b"", id_r=b"",
        nonces=(_body(bytes3, _one(message3, ikev1.NoncePayload, "message 3", "NONCE"))
                + _body(bytes4, _one(message4, ikev1.NoncePayload, "message 4", "NONCE"))),
        hash_r=b"",
    )


def verify_main_mode(clear: list[tuple[bytes, Message]], decrypted: list[Payload], sender_is_initiator: bool,
                     psk: bytes) -> PskCheck:
    """Check the HASH_I (message 5, `sender_is_initiator`) or HASH_R (message 6) of a decrypted main-mode
    message against `psk`. `clear` holds messages 1-4 as sent ((bytes, parsed message), in order);
    `decrypted` the payloads of message 5 or 6. The identification payload body is rebuilt from its
    fields (ID type, protocol, port, data), as sent. Raises PskUnverifiable like :func:`verify_hash_r`."""
    exchange = _main_mode(clear)
    side: Literal["initiator", "responder"] = "initiator" if sender_is_initiator else "responder"
    identities = [p for p in decrypted if isinstance(p, ikev1.IdentificationPayload)]
    hashes = [p for p in decrypted if isinstance(p, ikev1.HashPayload)]
    if not identities or not hashes:
        raise PskUnverifiable(f"the {side}'s decrypted message holds no {'ID' if not identities else 'HASH'} payload")
    identity = identities[0]
    id_body = bytes([identity.id_type, identity.protocol_id]) + identity.port.to_bytes(2, "big") + identity.data
    return _ikev1_check(exchange, exchange.skeyid(psk), sender_is_initiator, id_body, hashes[0].data, None)


def derived_key_check(side: Literal["initiator", "responder"], read: bool, source: str | None = None) -> PskCheck:
    """The verdict of keys derived from a logged DH secret with the given PSK on one side's messages: they read
    them exactly when that side derived its keys from the same PSK (SKEYID = prf(PSK, Ni | Nr)). With `source`
    (no PSK given): the verdict of the keys logged there, those of the peer whose SKEYID was logged."""
    who = f"the {side}"
    if source is not None:
        detail = (f"{who}'s encrypted messages {'decrypt' if read else 'do not decrypt'} with the keys from {source}: "
                  + (f"{who} derived the same SKEYID, so it holds the pre-shared key of the side that logged them."
                     if read else f"{who} derived another SKEYID, so its pre-shared key differs from that of the "
                     "side that logged them."))
        return PskCheck(side, read, detail, "SKEYID (RFC 2409)", "SKEYID")
    if read:
        detail = (f"{who}'s messages decrypt with keys derived from the DH secret and the given pre-shared key: "
                  f"{who} holds this key.")
    else:
        detail = (f"{who}'s messages do not decrypt with keys derived from the DH secret and the given "
                  f"pre-shared key: {who} authenticated with a different key.")
    return PskCheck(side, read, detail, "SKEYID (RFC 2409)", "SKEYID")


# --- IKEv2 AUTH -----------------------------------------------------------------------------------

KEY_PAD = b"Key Pad for IKEv2"
"""RFC 7296 section 2.15: 17 ASCII octets, no terminating NUL."""
SHARED_KEY_MIC = 2
"""AUTH method 2: Shared Key Message Integrity Code."""


def chosen_prf(init_response: Message) -> int:
    """The PRF transform id the responder chose in its IKE_SA_INIT response's SA payload."""
    for payload in init_response.payloads:
        if isinstance(payload, ikev2.SecurityAssociation):
            prfs = [t.transform_id for proposal in payload.proposals for t in proposal.transforms
                    if t.transform_type == 2]
            if len(prfs) == 1:
                return prfs[0]
            raise PskUnverifiable(f"the IKE_SA_INIT response's SA names {len(prfs)} PRF transforms, not one")
    raise PskUnverifiable("the IKE_SA_INIT response holds no SA payload")


def _real_message(data: bytes, what: str) -> tuple[bytes, Message]:
    """One IKE_SA_INIT message as sent: the ISAKMP message only (a datagram may carry more)."""
    message = parse_message(data)
    if message.version != 2 or message.header.exchange_type != 34:
        raise PskUnverifiable(f"the {what} is not an IKEv2 IKE_SA_INIT message")
    length = message.header.length
    if length < ISAKMP_HEADER_LENGTH or length > len(data):
        raise PskUnverifiable(f"the {what} is cut short ({len(data)} of {length} octets)")
    return bytes(data[:length]), message


def _nonce(message: Message, what: str) -> bytes:
    for payload in message.payloads:
        if isinstance(payload, ikev2.Nonce):
            return payload.data
    raise PskUnverifiable(f"the {what} holds no Nonce payload")


def verify_ikev2_auth(init_request: bytes, init_response: bytes, ike_auth_payloads: list[Payload],
                      sender_is_initiator: bool, keys: Ikev2Keys, psk: bytes,
                      prf_id: int | None = None) -> PskCheck:
    """Check the AUTH payload of one decrypted IKE_AUTH message against `psk`.

    `init_request` / `init_response` are the IKE_SA_INIT request and response bytes as sent (the last
    request, after any COOKIE or INVALID_KE_PAYLOAD retry; the non-ESP marker of port 4500 removed).
    `ike_auth_payloads` are the decrypted payloads of the IKE_AUTH message whose AUTH is checked (the
    request for the initiator, the response for the responder); `keys` must hold SK_pi and SK_pr (a
    charon log's). `prf_id` defaults to the PRF the IKE_SA_INIT response chose.
    Raises PskUnverifiable when the check cannot be made (no AUTH or ID payload, AUTH not by shared key,
    no SK_pi/SK_pr, an unknown PRF). The ID payload body is rebuilt from its ID type and data with the
    three reserved octets zero, as RFC 7296 requires senders to set them."""
    request_bytes, request = _real_message(init_request, "IKE_SA_INIT request")
    response_bytes, response = _real_message(init_response, "IKE_SA_INIT response")
    if prf_id is None:
        prf_id = chosen_prf(response)
    prf = ikev2_prf(prf_id)
    display = _IKEV2_PRF_NAMES.get(prf_id, f"PRF_{prf_id}")
    side: Literal["initiator", "responder"] = "initiator" if sender_is_initiator else "responder"
    sk_p = keys.sk_pi if sender_is_initiator else keys.sk_pr
    if sk_p is None:
        raise PskUnverifiable(f"the keys from {keys.source} hold no SK_p{'i' if sender_is_initiator else 'r'} "
                              "(only a charon log at 'ike 4' gives it)")
    auths = [p for p in ike_auth_payloads if isinstance(p, ikev2.Authentication)]
    id_name = "IDi" if sender_is_initiator else "IDr"
    identities = [p for p in ike_auth_payloads if isinstance(p, ikev2.Identification) and p.name == id_name]
    if not auths:
        raise PskUnverifiable(f"the {side}'s IKE_AUTH message holds no AUTH payload")
    if not identities:
        raise PskUnverifiable(f"the {side}'s IKE_AUTH message holds no {id_name} payload")
    auth = auths[0]
    if auth.method != SHARED_KEY_MIC:
        raise PskUnverifiable(f"the {side} authenticated with {auth.method_name or auth.method}, "
                              "not a shared key")
    identity = identities[0]
    id_body = bytes([identity.id_type]) + bytes(3) + identity.data
    if sender_is_initiator:
        signed = request_bytes + _nonce(response, "IKE_SA_INIT response") + prf(sk_p, id_body)
    else:
        signed = response_bytes + _nonce(request, "IKE_SA_INIT request") + prf(sk_p, id_body)
    expected = prf(prf(psk, KEY_PAD), signed)
    matches = hmac.compare_digest(expected, auth.data)
    who = f"the {side} ({identity.value or identity.id_type_name})"
    if matches:
        detail = f"AUTH verifies with the given pre-shared key ({display}): {who} holds this key."
    else:
        detail = (f"AUTH does not verify with the given pre-shared key ({display}): "
                  f"{who} authenticated with a different key.")
    return PskCheck(side, matches, detail, display, "AUTH")


# --- PSK files ------------------------------------------------------------------------------------

_IPSEC_SECRETS_PSK = re.compile(r"(?:^|\s):\s*PSK\s+(?P<value>\S.*?)\s*$")
_IPSEC_SECRETS_ANY = re.compile(r"(?:^|\s):\s*(?:RSA|ECDSA|BLISS|PKCS8|P12|EAP|XAUTH|NTLM|PIN|PPK)\b")
_SWANCTL_SECRETS = re.compile(r"(?m)^\s*secrets\s*\{")
_SWANCTL_VALUE = re.compile(r'\s*("(?:[^"\\]|\\.)*"?|[^}#]*)')
"""A settings value: quoted, or the rest of the line up to a '}' or '#' (white space inside kept)."""
_SWANCTL_TOKEN = re.compile(r'\s*(?:(?P<open>\{)|(?P<close>\})|(?P<quoted>"(?:[^"\\]|\\.)*"?)'
                            r"|(?P<assign>[^\s={}#]+\s*=\s*)|(?P<word>[^\s{}#]+)|(?P<comment>#.*))")


def _decode(value: str, name: str, number: int, prefixes: bool = True) -> bytes:
    """A secret's octets: strongSwan's 0x (hex) and 0s (base64) forms, else its UTF-8 text."""
    if prefixes and value[:2].lower() == "0x":
        digits = value[2:].replace(":", "").replace(" ", "")
        try:
            return bytes.fromhex(digits)
        except ValueError:
            raise PskFileError(name, number, "a 0x secret that is not hexadecimal") from None
    if prefixes and value[:2] == "0s":
        try:
            return base64.b64decode(value[2:], validate=True)
        except (binascii.Error, ValueError):
            raise PskFileError(name, number, "a 0s secret that is not base64") from None
    return value.encode("utf-8")


_QUOTED = re.compile(r"""(?:"(?P<double>(?:[^"\\]|\\.)*)"|'(?P<single>[^']*)')\s*(?:#.*)?$""")


def _unquote(value: str, name: str, number: int) -> tuple[str, bool]:
    """(text, was quoted) of a secret written bare, "double" or 'single' quoted (a '#' comment may
    follow the closing quote)."""
    if value[:1] not in ("'", '"'):
        return value, False
    match = _QUOTED.match(value)
    if match is None:
        raise PskFileError(name, number, "a quoted secret without its closing quote")
    if match.group("double") is not None:
        return re.sub(r"\\(.)", r"\1", match.group("double")), True
    return match.group("single"), True


def _ipsec_secrets(lines: list[str], name: str) -> list[bytes]:
    found: list[bytes] = []
    for number, line in enumerate(lines, 1):
        match = _IPSEC_SECRETS_PSK.search(line)
        if match is None:
            continue
        value = match.group("value")
        if value[:1] not in ("'", '"'):
            value = value.split("#", 1)[0].strip()
        text, quoted = _unquote(value, name, number)
        found.append(_decode(text, name, number, prefixes=not quoted))
    return found


def _swanctl(text: str, name: str) -> list[bytes]:
    """`secret = ...` values in sections `secrets { ike<suffix> { ... } }` (not private-, eap-, ...)."""
    found: list[bytes] = []
    sections: list[str] = []
    pending_word = ""
    for number, line in enumerate(text.splitlines(), 1):
        position = 0
        while position < len(line):
            match = _SWANCTL_TOKEN.match(line, position)
            if match is None or match.end() == position:
                break
            position = match.end()
            if match.group("comment") is not None:
                break
            if match.group("open") is not None:
                sections.append(pending_word)
                pending_word = ""
            elif match.group("close") is not None:
                if not sections:
                    raise PskFileError(name, number, "a '}' that closes no section")
                sections.pop()
            elif match.group("assign") is not None:
                key = match.group("assign").split("=", 1)[0].strip()
                value_match = _SWANCTL_VALUE.match(line, position)
                raw = value_match.group(1).strip() if value_match else ""
                position = value_match.end() if value_match else position
                in_ike = len(sections) >= 2 and sections[-2] == "secrets" and sections[-1].startswith("ike")
                if key == "secret" and in_ike:
                    if not raw:
                        raise PskFileError(name, number, "a 'secret =' with no value")
                    value, _quoted = _unquote(raw, name, number)
                    found.append(_decode(value, name, number))
            elif match.group("word") is not None:
                pending_word = match.group("word")
            elif match.group("quoted") is not None:
                pending_word = ""
    if sections:
        raise PskFileError(name, None, f"section '{sections[-1]}' is not closed")
    return found


def _plain(lines: list[str], name: str) -> list[bytes]:
    found: list[bytes] = []
    for number, line in enumerate(lines, 1):
        value = line.strip()
        if not value or value.startswith("#"):
            continue
        text, quoted = _unquote(value, name, number) if value[:1] in ("'", '"') else (value, False)
        found.append(_decode(text, name, number, prefixes=not quoted))
    return found


def parse_psks(text: str, name: str) -> list[bytes]:
    """The pre-shared keys a PSK file's text holds, in file order, duplicates removed.

    Formats, recognised by content: ipsec.secrets (any line ``[selectors] : PSK <secret>``; other
    secret types ignored); swanctl.conf (a ``secrets {`` section; only ``secret`` values of its
    ``ike<suffix>`` subsections, not private key passphrases); otherwise one key a line, blank lines
    and lines starting with '#' skipped, surrounding white space removed. Unquoted values in ``0x``
    (hex, ':' separators allowed) and ``0s`` (base64) forms are decoded; a quoted value is taken
    literally (swanctl.conf decodes quoted values too, as strongSwan does). Raises PskFileError."""
    lines = text.splitlines()
    if any(_IPSEC_SECRETS_PSK.search(line) for line in lines):
        found = _ipsec_secrets(lines, name)
    elif _SWANCTL_SECRETS.search(text):
        found = _swanctl(text, name)
        if not found:
            raise PskFileError(name, None, "a swanctl.conf secrets section without any ike secret")
    elif any(_IPSEC_SECRETS_ANY.search(line) for line in lines):
        raise PskFileError(name, None, "an ipsec.secrets file without any PSK entry")
    else:
        found = _plain(lines, name)
    if not found:
        raise PskFileError(name, None, "no pre-shared key in the file")
    empty = next((index for index, psk in enumerate(found) if not psk), None)
    if empty is not None:
        raise PskFileError(name, None, f"pre-shared key number {empty + 1} is empty")
    return list(dict.fromkeys(found))


def load_psk_file(path: str) -> list[bytes]:
    """Read a PSK file (see :func:`parse_psks`). Unreadable files are a PskFileError too."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise PskFileError(path, None, f"cannot read: {error.strerror or error}") from None
    if b"\x00" in data[:4096]:
        raise PskFileError(path, None, "a binary file, not a PSK file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise PskFileError(path, line, "not UTF-8 text") from None
    return parse_psks(text, path)


__all__ = [
    "KEY_PAD", "PskCheck", "PskFileError", "PskUnverifiable", "chosen_prf", "derived_key_check", "ikev2_prf",
    "load_psk_file", "parse_psks", "verify_aggressive", "verify_aggressive_skeyid", "verify_hash_i", "verify_hash_r",
    "verify_ikev2_auth", "verify_main_mode",
]
