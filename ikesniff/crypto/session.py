"""The seam between the pipeline and the key material: `Crypto.open` opens a message with the keys that
cover its SA (and keeps what PSK checks need); `Crypto.conclusions` says what the keys and pre-shared keys
concluded about an IKE SA. Sans-IO: bytes and parsed messages in, records out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dissectors import Message
from dissectors.ikev1 import HashPayload
from dissectors.model import Payload
from dissectors.names import V1Exchange, V2Exchange

from .conclusions import KeyConclusions

if TYPE_CHECKING:
    # The modules that decrypt and check are imported where first used, with keys or PSKs: a run without
    # them never loads them.
    from .decrypt import Decrypted, SkfReassembler
    from .ikev1 import Ikev1Decryptor, KeyReading
    from .keys import Ikev1Keys, Ikev2Keys, KeyStore
    from .psk import PskCheck

PSK_MATERIAL_KEPT = 4096
"""IKE SAs whose PSK material is kept at once (the oldest is dropped first)."""


class Crypto:
    """Keys (`--keys`) and pre-shared keys (`--psk-file`) applied to the messages of a run."""

    def __init__(self, keys: KeyStore | None = None, psks: list[bytes] | None = None) -> None:
        self.keys = keys
        self.psks: list[bytes] = psks or []
        """Never printed."""
        self._fragments_v2: SkfReassembler | None = None
        self._ikev1: Ikev1Decryptor | None = None
        self.psk_material: dict[bytes, PskMaterial] = {}
        """Per initiator SPI, the messages a PSK check needs (kept only when keys or PSKs are given)."""
        self.opened: set[tuple[int, bytes]] = set()
        """(IKE version, initiator SPI) of the SAs whose keys opened a message (bounded by the key store)."""
        self.psks_checked: set[int] = set()
        """Indexes of the PSKs some check could be made with; `psks_matched`: those that verified."""
        self.psks_matched: set[int] = set()

    @property
    def active(self) -> bool:
        """Keys or pre-shared keys were given: messages must go through `open`."""
        return self.keys is not None or bool(self.psks)

    @property
    def fragments_v2(self) -> SkfReassembler:
        """IKEv2 SKF fragments waiting for the rest of their message (made on first use)."""
        if self._fragments_v2 is None:
            from .decrypt import SkfReassembler
            self._fragments_v2 = SkfReassembler()
        return self._fragments_v2

    @property
    def ikev1(self) -> Ikev1Decryptor:
        """IKEv1 key derivation and decryption state (made on first use)."""
        if self._ikev1 is None:
            from .ikev1 import Ikev1Decryptor
            self._ikev1 = Ikev1Decryptor()
        return self._ikev1

    def open(self, message: Message, raw: bytes, sender: str) -> Decrypted | None:
        """What the keys open of `message` (None: nothing to open, or no keys for its SA); the message and
        its opened payloads are kept when a PSK check will need them."""
        opened = self._decrypt(message, raw, sender) if self.keys is not None else None
        if opened is not None and (opened.icv_ok or (opened.icv_ok is None and opened.payloads)):
            self.opened.add((message.version, bytes(message.header.spi_i)))
        self._keep_for_psk(message, raw, opened)
        return opened

    def unused(self) -> tuple[int, int, list[int]]:
        """What matched nothing so far: (key sets given, key sets that opened no message, the 1-based numbers
        of the PSKs that were checked and verified with no SA)."""
        total = unused = 0
        if self.keys is not None:
            bound = [(2, spi_i) for spi_i, _ in self.keys.ikev2] + [(1, spi_i) for spi_i in self.keys.ikev1]
            total = len(self.keys)
            unused = sum(1 for key in bound if key not in self.opened) + len(self.keys.unbound_ikev2) \
                + len(self.keys.unbound_ikev1)
        return total, unused, sorted(index + 1 for index in self.psks_checked - self.psks_matched)

    def usage(self, unbound: list[Ikev2Keys | Ikev1Keys]) -> KeyUsage:
        """What `unused` reads, for `merged_unused` to add up over the workers of `-j` (each opens the messages of
        its own SAs); `unbound`: the unbound key sets of the store as the run began."""
        trials = [(index, version, spi_i) for keys, version, spi_i in (self.keys.trials if self.keys else [])
                  for index, one in enumerate(unbound) if one is keys]
        return KeyUsage(set(self.opened), trials, set(self.psks_checked), set(self.psks_matched))

    def conclusions(self, version: int, spi_i: bytes, spi_r: bytes, final: bool = True) -> KeyConclusions:
        """What keys and PSKs concluded about the IKE SA. `final`: the SA is diagnosed for good, its kept
        material is released; otherwise (an early verdict) it is kept for the next look."""
        found = KeyConclusions()
        if not self.active:
            return found
        if version == 1 and self.keys is not None:
            found.key_mismatch = self.ikev1.key_mismatch(spi_i, spi_r)
        checks = self._checks(version, spi_i, spi_r, keep=not final)
        for side in ("initiator", "responder"):
            mine = [check for check in checks if check.side == side]
            if mine:
                found.psk[side] = any(check.matches for check in mine)
        return found

    def _decrypt(self, message: Message, raw: bytes, sender: str) -> Decrypted | None:
        """The inner payloads of an IKEv2 SK/SKF payload or an IKEv1 encrypted body when the key
        material covers its SA (of several candidate key sets, the one that reads it). IKEv1 messages in
        clear go through too: they carry what the IV chain and derived keys start from. Key sets that
        the key files tie to no SA are tried on SAs without keys of their own and, once one reads a
        message (IKEv2: its ICV verifies; IKEv1: its payload chain parses), filed under that SA."""
        if self.keys is None:
            return None
        from .decrypt import Decrypted, decrypt_message, verifying_keys
        store = self.keys
        header = message.header
        if message.version == 1:
            candidates_v1 = store.ikev1_candidates(header.spi_i)
            unbound_v1 = [] if candidates_v1 else store.ikev1_unbound_for(header.spi_i, header.spi_r)
            if not candidates_v1 and not unbound_v1:
                return None
            read = self.ikev1.feed(raw, message, candidates_v1, sender=sender, unbound=unbound_v1, psks=self.psks)
            if read is None:
                return None
            if read.bound is not None:
                store.bind_ikev1(read.bound, header.spi_i, header.spi_r)
            elif unbound_v1 and not read.readable and read.iv_origin:
                store.unbound_missed(header.spi_i, header.spi_r)
            if not read.readable:  # keys given for this SA that do not read it: said on the message
                return Decrypted([], None, read.errors) if candidates_v1 and message.encrypted and read.errors \
                    else None
            return Decrypted(read.payloads, None, read.errors)
        if not message.encrypted:
            return None
        candidates = store.ikev2_candidates(header.spi_i, header.spi_r)
        unbound = [] if candidates else store.ikev2_unbound_for(header.spi_i, header.spi_r)
        if unbound:
            found = verifying_keys(raw, message, unbound)
            if found is None:
                store.unbound_missed(header.spi_i, header.spi_r)
                return None
            candidates = [store.bind_ikev2(found, header.spi_i, header.spi_r)]
        if not candidates:
            return None
        if "SKF" in message.payload_names:
            keys = verifying_keys(raw, message, candidates) if len(candidates) > 1 else None
            return self.fragments_v2.feed(raw, message, keys or candidates[0])
        first = None
        for keys in candidates:  # stop at the first key set whose ICV verifies
            result = decrypt_message(raw, message, keys)
            if result is not None and result.icv_ok:
                return result
            first = result if first is None else first
        return first

    def _keep_for_psk(self, message: Message, raw: bytes, opened: Decrypted | None) -> None:
        header = message.header
        if not self.psks and not (message.version == 1 and header.exchange_type == V1Exchange.AGGRESSIVE):
            return  # keys alone check aggressive mode's hashes only (with a logged SKEYID)
        material = self.psk_material.get(header.spi_i)
        if material is None:
            material = self.psk_material[header.spi_i] = PskMaterial()
            while len(self.psk_material) > PSK_MATERIAL_KEPT:
                del self.psk_material[next(iter(self.psk_material))]
        if message.version == 1 and header.exchange_type == V1Exchange.AGGRESSIVE and header.message_id == 0:
            if not message.encrypted and header.spi_r == bytes(8):
                material.aggressive1 = (raw, message)
            elif not message.encrypted and "SA" in message.payload_names:
                material.aggressive2 = material.aggressive2 or (raw, message)
            elif not message.encrypted:  # message 3 in clear: HASH_I
                material.aggressive3 = material.aggressive3 or (raw, message)
            elif opened is not None and material.hash_i is None:
                material.hash_i = next((p.data for p in opened.payloads if isinstance(p, HashPayload)), None)
        elif message.version == 1 and header.exchange_type == V1Exchange.IDENTITY_PROTECTION and header.message_id == 0:
            material.keep_main_mode(message, raw, opened)
        elif message.version == 2 and header.exchange_type == V2Exchange.IKE_SA_INIT:
            if message.is_response and "SA" in message.payload_names:
                material.init_response = raw
            elif not message.is_response:
                material.init_request = raw
        elif message.version == 2 and header.exchange_type == V2Exchange.IKE_AUTH and opened is not None and self.keys is not None \
                and any(p.name == "AUTH" for p in opened.payloads):
            material.auth[message.is_initiator] = opened.payloads
            keys = self.keys.ikev2_for(header.spi_i, header.spi_r)
            material.keys = keys if keys is not None else material.keys

    def _checks(self, version: int, spi_i: bytes, spi_r: bytes, keep: bool) -> list[PskCheck]:
        """Every check the kept messages allow, for each PSK given: aggressive mode's HASH_R and HASH_I (in
        clear or decrypted), main mode's decrypted HASH_I / HASH_R, IKEv2 AUTH, and whether keys derived from
        a logged DH secret with the PSK read each side's messages. Without a PSK: aggressive mode's hashes
        checked with the SKEYID a charon log gives for the SA (:meth:`PskMaterial.skeyid_checks`)."""
        from .psk import derived_key_check
        material = self.psk_material.get(spi_i) if keep else self.psk_material.pop(spi_i, None)
        readings = (self.ikev1.readings(spi_i, spi_r)
                    if version == 1 and self.keys is not None else [])
        if not self.psks:
            if material is None or self.keys is None or version != 1:
                return []
            return material.skeyid_checks(self.keys.ikev1_candidates(spi_i), readings)
        if material is None and not readings:
            return []
        checks: list[PskCheck] = []
        for index, psk in enumerate(self.psks):
            these = material.checks(psk) if material is not None else []
            for side in (True, False):
                mine = [r for r in readings if r.psk_index == index and r.from_initiator is side]
                if any(r.read or r.unread for r in mine):
                    these.append(derived_key_check("initiator" if side else "responder", any(r.read for r in mine)))
            if these:
                self.psks_checked.add(index)
                if any(check.matches for check in these):
                    self.psks_matched.add(index)
            checks.extend(these)
        return checks


@dataclass(slots=True)
class KeyUsage:
    """Which keys one worker of `-j` used: (IKE version, initiator SPI) of the SAs its keys opened, the unbound key
    sets trial decryption filed under an SA (index among the unbound sets at the start, version, initiator SPI),
    and the PSKs checked and matched (indexes)."""

    opened: set[tuple[int, bytes]]
    trials: list[tuple[int, int, bytes]]
    psks_checked: set[int]
    psks_matched: set[int]


def unbound_sets(keys: KeyStore | None) -> list[Ikev2Keys | Ikev1Keys]:
    return [*keys.unbound_ikev2, *keys.unbound_ikev1] if keys is not None else []


def merged_unused(keys: KeyStore | None, usages: list[KeyUsage]) -> tuple[int, int, list[int]]:
    """`Crypto.unused` of one run whose SAs were shared among workers: `keys` as given (before any binding), the
    workers' `usage(unbound_sets(keys))`. A key set is used when any worker used it."""
    opened = set().union(*(usage.opened for usage in usages))
    checked = set().union(*(usage.psks_checked for usage in usages))
    matched = set().union(*(usage.psks_matched for usage in usages))
    total = unused = 0
    if keys is not None:
        total = len(keys)
        unused = sum(1 for spi_i, _ in keys.ikev2 if (2, spi_i) not in opened) \
            + sum(1 for spi_i in keys.ikev1 if (1, spi_i) not in opened)
        filed: dict[int, set[tuple[int, bytes]]] = {}
        for usage in usages:
            for index, version, spi_i in usage.trials:
                filed.setdefault(index, set()).add((version, spi_i))
        unused += sum(1 for index in range(len(unbound_sets(keys))) if not filed.get(index, set()) & opened)
    return total, unused, sorted(index + 1 for index in checked - matched)


@dataclass(slots=True)
class PskMaterial:
    """What verifying a pre-shared key needs of one IKE SA: aggressive mode's clear messages and message 3's
    HASH_I (in clear, or decrypted); main mode's clear messages 1-4 and the decrypted payloads of messages
    5 and 6; or IKEv2's IKE_SA_INIT bytes and the decrypted IKE_AUTH payloads of each side with the SA's keys."""

    aggressive1: tuple[bytes, Message] | None = None
    aggressive2: tuple[bytes, Message] | None = None
    aggressive3: tuple[bytes, Message] | None = None
    """Aggressive-mode message 3 when it travels in clear."""
    hash_i: bytes | None = None
    """HASH_I read in the decrypted aggressive-mode message 3."""
    main_clear: list[tuple[bytes, Message]] = field(default_factory=list)
    """Main-mode messages 1-4 as sent (retransmissions left out)."""
    main_hashes: dict[bool, list[Payload]] = field(default_factory=dict)
    """Decrypted main-mode message 5 (True: the initiator's) and 6 (False)."""
    init_request: bytes = b""
    init_response: bytes = b""
    auth: dict[bool, list[Payload]] = field(default_factory=dict)
    keys: Ikev2Keys | None = None

    def keep_main_mode(self, message: Message, raw: bytes, opened: Decrypted | None) -> None:
        """A main-mode message: 1-4 in clear in their order (the first with a zero responder cookie, then its
        answer, then the two KE messages); the first decrypted message with a HASH is the initiator's
        message 5, a later one with another HASH the responder's message 6."""
        if not message.encrypted:
            first = message.header.spi_r == bytes(8)
            if len(self.main_clear) < 4 and (first or self.main_clear) and all(
                    raw != kept for kept, _ in self.main_clear) and first == (not self.main_clear):
                self.main_clear.append((raw, message))
            return
        if opened is None:
            return
        hashes = [p.data for p in opened.payloads if isinstance(p, HashPayload)]
        if not hashes or not any(p.name == "ID" for p in opened.payloads):
            return
        initiator = self.main_hashes.get(True)
        if initiator is None:
            self.main_hashes[True] = opened.payloads
        elif False not in self.main_hashes and all(
                not isinstance(p, HashPayload) or p.data != hashes[0] for p in initiator):
            self.main_hashes[False] = opened.payloads

    def checks(self, psk: bytes) -> list[PskCheck]:
        """The hash and AUTH checks one PSK allows on the messages kept (what they do not allow is left out)."""
        from .psk import PskUnverifiable, verify_aggressive, verify_ikev2_auth, verify_main_mode
        checks: list[PskCheck] = []
        if self.aggressive1 is not None and self.aggressive2 is not None:
            (raw1, message1), (raw2, message2) = self.aggressive1, self.aggressive2
            raw3, message3 = self.aggressive3 if self.aggressive3 is not None else (None, None)
            try:
                checks.extend(verify_aggressive(message1, raw1, message2, raw2, psk, message3, raw3,
                                                self.hash_i if message3 is None else None))
            except PskUnverifiable:
                pass
        for side, decrypted in self.main_hashes.items():
            try:
                checks.append(verify_main_mode(self.main_clear, decrypted, side, psk))
            except PskUnverifiable:
                continue
        if self.init_request and self.init_response and self.keys is not None:
            for side, payloads in self.auth.items():
                try:
                    checks.append(verify_ikev2_auth(self.init_request, self.init_response, payloads, side,
                                                    self.keys, psk))
                except PskUnverifiable:
                    continue
        return checks

    def skeyid_checks(self, key_sets: list[Ikev1Keys], readings: list[KeyReading]) -> list[PskCheck]:
        """Aggressive mode's hashes checked with the SKEYIDs logged for the SA (no PSK): one check a side at most,
        `matches` meaning "holds the same pre-shared key as the side that logged the SKEYID".

        A logged SKEYID K is one peer's. HASH_R not verifying with K: K is the initiator's, and the responder
        derived another SKEYID from the same nonces, so holds another PSK (the initiator's own hash, which
        would verify trivially, is left out). HASH_R verifying: K is the responder's; the initiator holds the
        same PSK when its HASH_I (message 3 in clear or decrypted) verifies with K, or K's keys read its
        encrypted messages; not when HASH_I does not verify, or K's keys read none of its encrypted messages
        and failed on some (their IV known). Of several SKEYIDs (both peers' logs), the initiator's (the one
        HASH_R fails with) is the reference: two different SKEYIDs for one SA are a mismatch, said as "the
        responder's hash does not verify with the initiator's key". Nothing when the hashes cannot be checked,
        or when a key is neither peer's: two different SKEYIDs both failing HASH_R, or one failing HASH_R and
        HASH_I both."""
        if self.aggressive1 is None or self.aggressive2 is None:
            return []
        from .psk import PskUnverifiable, derived_key_check, verify_aggressive_skeyid
        distinct: dict[bytes, Ikev1Keys] = {}
        for keys in key_sets:
            if keys.skeyid:
                distinct.setdefault(keys.skeyid, keys)
        logged = list(distinct.values())
        if not logged:
            return []
        (raw1, message1), (raw2, message2) = self.aggressive1, self.aggressive2
        raw3, message3 = self.aggressive3 if self.aggressive3 is not None else (None, None)
        results: list[tuple[Ikev1Keys, list[PskCheck]]] = []
        for keys in logged:
            assert keys.skeyid is not None
            try:
                results.append((keys, verify_aggressive_skeyid(
                    message1, raw1, message2, raw2, keys.skeyid, keys.source, message3, raw3,
                    self.hash_i if message3 is None else None)))
            except PskUnverifiable:
                return []
        initiators = [checks for _, checks in results if not checks[0].matches]
        if len(initiators) > 1 or any(len(checks) > 1 and not checks[1].matches for checks in initiators):
            return []  # a key neither the initiator's nor the responder's: not this SA's peers', say nothing
        if initiators:
            return [initiators[0][0]]
        reference, checks = results[0]
        if len(checks) > 1:
            return checks
        mine = [r for r in readings if r.from_initiator is True and r.keys.skeyid == reference.skeyid]
        if any(r.read or r.unread for r in mine):
            checks.append(derived_key_check("initiator", any(r.read for r in mine), reference.source))
        return checks


