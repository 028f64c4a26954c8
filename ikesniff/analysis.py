"""The pipeline: capture source -> IKE datagrams -> dissected messages -> tracker -> events.

It ties the stages together and knows nothing of how events are printed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from dissectors import Message, Notify, PayloadMemo, parse_message
from dissectors.ikev1 import CiscoFragmentPayload, CiscoFragmentReassembler, HashPayload
from dissectors.model import Payload

from . import diagnosis
from .capture import CaptureReader, LiveSource, read_capture, read_live
from .capture.events import CaptureStats, EspSighting, FrameProblem, IcmpError, Idle, IkeDatagram
from .decrypt import Decrypted, SkfReassembler, decrypt_message, verifying_keys
from .early import EarlyVerdicts
from .events import DiagnosisEvent, FindingEvent, MessageEvent, NotifyRef, VerdictEvent
from .ikev1_crypto import Ikev1Decryptor, KeyReading
from .keys import Ikev1Keys, Ikev2Keys, KeyStore
from .psk import (
    PskCheck,
    PskUnverifiable,
    derived_key_check,
    verify_aggressive,
    verify_aggressive_skeyid,
    verify_ikev2_auth,
    verify_main_mode,
)
from .tracker import EspFlow, IkeSa, Tracker

CISCO_FRAGMENT = 132
RETIRE_AFTER = 300.0
"""Seconds of capture time an IKE SA may stay silent before it is diagnosed and forgotten: longer
than any retransmission schedule, so an SA is never judged while its peers may still speak."""
RETIRE_EVERY = 4096
"""IKE messages between two looks for SAs to retire."""


@dataclass(slots=True)
class DecodedMessage:
    """A message event with the dissected message behind it (for the decoded tree)."""

    event: MessageEvent
    message: Message
    inner: list[Payload] = field(default_factory=list)
    """The payloads decrypted from its SK/SKF or IKEv1 encrypted body (empty without keys)."""
    datagram: IkeDatagram | None = None
    """The datagram that carried it; None for a message reassembled from IKEv1 Cisco fragments."""


Item = DecodedMessage | FrameProblem | DiagnosisEvent | FindingEvent | Idle


@dataclass(slots=True)
class Analysis:
    """State kept across the files of one run."""

    ike_ports: frozenset[int] = frozenset({500, 4500})
    stats: CaptureStats = field(default_factory=CaptureStats)
    tracker: Tracker = field(default_factory=Tracker)
    fragments: CiscoFragmentReassembler = field(
        default_factory=lambda: CiscoFragmentReassembler(any_order=True))
    memo: PayloadMemo = field(default_factory=PayloadMemo)
    messages: int = 0
    decode_errors: int = 0
    label: str = ""
    tunnels: dict[tuple[str, str], TunnelState] = field(default_factory=dict)
    """What is kept of the IKE SAs already diagnosed, per tunnel (for its verdict)."""
    keys: KeyStore | None = None
    """Key material (`--keys`): IKEv2 SK/SKF payloads of the SAs it covers are decrypted."""
    fragments_v2: SkfReassembler = field(default_factory=SkfReassembler)
    ikev1: Ikev1Decryptor = field(default_factory=Ikev1Decryptor)
    psks: list[bytes] = field(default_factory=list)
    """Pre-shared keys to verify hashes and AUTH payloads with (`--psk-file`); never printed."""
    psk_material: dict[bytes, PskMaterial] = field(default_factory=dict)
    """Per initiator SPI, the messages a PSK check needs (kept only when `psks` are given)."""
    watch: EarlyVerdicts = field(default_factory=EarlyVerdicts)
    """What `early_verdicts` needs (filled only when `early` is set)."""
    early: bool = False
    """Keep track of what `early_verdicts` needs (live captures and streams)."""
    reader: CaptureReader | None = None
    """The capture file being read (its position feeds the progress bar)."""

    def run(self, source: str) -> Iterator[Item]:
        """Events of one capture file, in capture order; the diagnosis of an IKE SA comes as soon as
        it has been silent for `RETIRE_AFTER` seconds. Opening errors raise CaptureError."""
        self.label = source
        self.reader = read_capture(source, self.stats, self.ike_ports)
        return self.process(self.reader)

    def run_live(self, source: LiveSource) -> Iterator[Item]:
        """Events of a live capture as the packets arrive (and its idle ticks, passed on), until the
        source stops."""
        self.label = source.name
        return self.process(read_live(source, self.stats, self.ike_ports))

    def process(self, items: Iterable[object]) -> Iterator[Item]:
        label = self.label
        for item in items:
            if isinstance(item, IkeDatagram):
                message = parse_message(item.data, self.memo)
                yield self._event(message, item.data, item, label, list(item.frames))
                if message.version == 1 and message.header.next_payload == CISCO_FRAGMENT:
                    yield from self._cisco_fragments(message, item, label)
                if self.messages % RETIRE_EVERY == 0:
                    yield from self.retire(self.tracker.last_time - RETIRE_AFTER)
            elif isinstance(item, EspSighting):
                self.tracker.esp(item)
            elif isinstance(item, IcmpError):
                self.tracker.icmp(item.frame, item.time, item.src, item.description, item.quoted_src,
                                  item.quoted_sport, item.quoted_dst, item.quoted_dport)
            elif isinstance(item, FrameProblem):
                self.decode_errors += 1
                yield item
            elif isinstance(item, Idle):
                yield item

    def early_verdicts(self, now: float, timers: bool = False) -> list[VerdictEvent]:
        """The verdicts of tunnels whose conclusion changed since the last call, judged at `now` (for a
        live capture or a stream; see early.py). `timers`: also look again at tunnels still incomplete,
        which only time can settle. PSK checks wait for the end."""
        if self.watch.quiet:
            return []
        return self.watch.look(now, timers, self._esp_by_pair, self._retired, self.label)

    def _retired(self, tunnel: tuple[str, str]) -> tuple[list[str], DiagnosisEvent | None, DiagnosisEvent | None]:
        state = self.tunnels.get(tunnel)
        return ([], None, None) if state is None else (state.ike_sas, state.latest, state.definite)

    def _cisco_fragments(self, message: Message, datagram: IkeDatagram,
                         label: str) -> Iterator[DecodedMessage]:
        """The message that a Cisco fragment (payload 132, always alone in its message) completes."""
        for payload in message.payloads:
            if isinstance(payload, CiscoFragmentPayload):
                done = self.fragments.feed(message.header.spi_i, message.header.spi_r, payload,
                                           datagram.frame, sender=(datagram.src, datagram.sport))
                if done is not None:
                    inner = parse_message(done.data, self.memo)
                    yield self._event(inner, done.data, datagram, label, done.frames, reassembled=True)

    def _event(self, message: Message, raw: bytes, datagram: IkeDatagram, label: str,
               frames: list[int], reassembled: bool = False) -> DecodedMessage:
        header = message.header
        names: list[str] = []
        types: list[int] = []
        notifies: list[NotifyRef] = []
        for payload in message.payloads:
            names.append(payload.name)
            types.append(payload.type)
            if isinstance(payload, Notify):
                notifies.append(NotifyRef(payload.notify_name, payload.notify_type))
        errors = message.errors
        opened = self._decrypt(message, raw, datagram.src) if self.keys is not None else None
        inner: list[str] = []
        if opened is not None:
            outer = names[-1] if names else "SK"
            for payload in opened.payloads:
                inner.append(payload.name)
                names.append(f"{outer}:{payload.name}")  # inside the encrypted payload, decrypted
                types.append(payload.type)
                if isinstance(payload, Notify):
                    notifies.append(NotifyRef(payload.notify_name, payload.notify_type))
            if opened.errors:
                errors = [*errors, *opened.errors]
        if self.psks or self.keys is not None:
            self._keep_for_psk(message, raw, opened)
        seen = self.tracker.observe(message, raw, datagram.frame, datagram.time, datagram.src, datagram.dst,
                                    notifies, sport=datagram.sport, dport=datagram.dport,
                                    transport=datagram.transport, frames=frames,
                                    decrypted=opened.payloads if opened is not None
                                    and (opened.payloads or not opened.errors) else None)
        self.messages += 1
        if self.early:
            self.watch.seen(seen.ike_sa)
        if errors:
            self.decode_errors += 1
        event = MessageEvent(
            "message", datagram.frame, datagram.time, datagram.src, datagram.sport, datagram.dst,
            datagram.dport, datagram.transport, message.version, header.spi_i.hex(), header.spi_r.hex(),
            header.exchange_type, message.exchange_name, header.message_id, seen.response, seen.initiator,
            header.length, names, notifies, message.encrypted, bool(inner) or (opened is not None and not errors),
            seen.retransmission, seen.ike_sa.id, errors, types, frames, label)
        return DecodedMessage(event, message, list(opened.payloads) if opened is not None else [],
                              None if reassembled else datagram)


    def _decrypt(self, message: Message, raw: bytes, sender: str) -> Decrypted | None:
        """The inner payloads of an IKEv2 SK/SKF payload or an IKEv1 encrypted body when the key
        material covers its SA (of several candidate key sets, the one that reads it). IKEv1 messages in
        clear go through too: they carry what the IV chain and derived keys start from. Key sets that
        the key files tie to no SA are tried on SAs without keys of their own and, once one reads a
        message (IKEv2: its ICV verifies; IKEv1: its payload chain parses), filed under that SA."""
        if self.keys is None:
            return None
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
        if not self.psks and not (message.version == 1 and header.exchange_type == 4):
            return  # keys alone check aggressive mode's hashes only (with a logged SKEYID)
        material = self.psk_material.get(header.spi_i)
        if material is None:
            material = self.psk_material[header.spi_i] = PskMaterial()
            while len(self.psk_material) > PSK_MATERIAL_KEPT:
                del self.psk_material[next(iter(self.psk_material))]
        if message.version == 1 and header.exchange_type == 4 and header.message_id == 0:
            if not message.encrypted and header.spi_r == bytes(8):
                material.aggressive1 = (raw, message)
            elif not message.encrypted and "SA" in message.payload_names:
                material.aggressive2 = material.aggressive2 or (raw, message)
            elif not message.encrypted:  # message 3 in clear: HASH_I
                material.aggressive3 = material.aggressive3 or (raw, message)
            elif opened is not None and material.hash_i is None:
                material.hash_i = next((p.data for p in opened.payloads if isinstance(p, HashPayload)), None)
        elif message.version == 1 and header.exchange_type == 2 and header.message_id == 0:
            material.keep_main_mode(message, raw, opened)
        elif message.version == 2 and header.exchange_type == 34:
            if message.is_response and "SA" in message.payload_names:
                material.init_response = raw
            elif not message.is_response:
                material.init_request = raw
        elif message.version == 2 and header.exchange_type == 35 and opened is not None and self.keys is not None \
                and any(p.name == "AUTH" for p in opened.payloads):
            material.auth[message.is_initiator] = opened.payloads
            keys = self.keys.ikev2_for(header.spi_i, header.spi_r)
            material.keys = keys if keys is not None else material.keys

    def _check_psk(self, ike_sa: IkeSa) -> list[PskCheck]:
        """Every check the kept messages allow, for each PSK given: aggressive mode's HASH_R and HASH_I (in
        clear or decrypted), main mode's decrypted HASH_I / HASH_R, IKEv2 AUTH, and whether keys derived from
        a logged DH secret with the PSK read each side's messages. Without a PSK: aggressive mode's hashes
        checked with the SKEYID a charon log gives for the SA (:meth:`PskMaterial.skeyid_checks`)."""
        material = self.psk_material.pop(ike_sa.spi_i, None)
        readings = (self.ikev1.readings(ike_sa.spi_i, ike_sa.spi_r)
                    if ike_sa.version == 1 and self.keys is not None else [])
        if not self.psks:
            if material is None or self.keys is None or ike_sa.version != 1:
                return []
            return material.skeyid_checks(self.keys.ikev1_candidates(ike_sa.spi_i), readings)
        if material is None and not readings:
            return []
        checks: list[PskCheck] = []
        for index, psk in enumerate(self.psks):
            if material is not None:
                checks.extend(material.checks(psk))
            for side in (True, False):
                mine = [r for r in readings if r.psk_index == index and r.from_initiator is side]
                if any(r.read or r.unread for r in mine):
                    checks.append(derived_key_check("initiator" if side else "responder", any(r.read for r in mine)))
        return checks

    def retire(self, before: float) -> Iterator[DiagnosisEvent | FindingEvent]:
        """Diagnose and forget the IKE SAs silent since `before` (memory follows the live SAs)."""
        tracker = self.tracker
        by_tunnel: dict[tuple[str, str], list[IkeSa]] = {}
        for ike_sa in tracker.ike_sas.values():
            by_tunnel.setdefault(ike_sa.tunnel, []).append(ike_sa)
        done = [key for key, ike_sa in tracker.ike_sas.items() if ike_sa.last_time < before]
        esp = self._esp_by_pair()
        for key in done:
            ike_sa = tracker.ike_sas.pop(key)
            self.watch.forget(ike_sa)
            yield from self._diagnose(ike_sa, by_tunnel[ike_sa.tunnel], esp, [])

    def _diagnose(self, ike_sa: IkeSa, tunnel: list[IkeSa], esp: dict[frozenset[str], list[EspFlow]],
                  ah: list[EspFlow]) -> Iterator[DiagnosisEvent | FindingEvent]:
        pair = frozenset(ike_sa.tunnel)
        context = diagnosis.Context(self.tracker.last_time, [sa for sa in tunnel if sa is not ike_sa],
                                    esp.get(pair, []), [flow for flow in ah if frozenset((flow.src, flow.dst)) == pair])
        if ike_sa.version == 1 and self.keys is not None:
            ike_sa.key_mismatch = self.ikev1.key_mismatch(ike_sa.spi_i, ike_sa.spi_r)
        if self.psks or self.keys is not None:
            checks = self._check_psk(ike_sa)
            for side in ("initiator", "responder"):
                mine = [check for check in checks if check.side == side]
                if mine:
                    ike_sa.psk[side] = any(check.matches for check in mine)
        event = diagnosis.diagnose(ike_sa, context, self.label)
        state = self.tunnels.setdefault(ike_sa.tunnel, TunnelState())
        state.ike_sas.append(ike_sa.id)
        state.latest = event
        if event.outcome != "incomplete":
            state.definite = event
        yield event
        for finding in diagnosis.findings(ike_sa, context, self.label):
            if (finding.kind, finding.detail) not in state.findings and len(state.findings) < FINDINGS_PER_TUNNEL:
                state.findings.add((finding.kind, finding.detail))
                yield finding

    def _esp_by_pair(self) -> dict[frozenset[str], list[EspFlow]]:
        esp: dict[frozenset[str], list[EspFlow]] = {}
        for flow in sorted(self.tracker.esp_flows.values(), key=lambda flow: flow.first_frame):
            esp.setdefault(frozenset((flow.src, flow.dst)), []).append(flow)
        return esp


FINDINGS_PER_TUNNEL = 64
PSK_MATERIAL_KEPT = 4096


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


@dataclass(slots=True)
class TunnelState:
    """What a tunnel's verdict needs of its IKE SAs once they are diagnosed."""

    ike_sas: list[str] = field(default_factory=list)
    latest: DiagnosisEvent | None = None
    definite: DiagnosisEvent | None = None
    """The latest diagnosis that is not `incomplete`."""
    findings: set[tuple[str, str]] = field(default_factory=set)


@dataclass(slots=True)
class Conclusions:
    """What the diagnosis made of the rest of the input, at its end."""

    diagnoses: list[DiagnosisEvent]
    findings: list[FindingEvent]
    verdicts: list[VerdictEvent]

    @property
    def failed(self) -> bool:
        return any(diagnosis.is_failure(v) for v in self.verdicts)

    def outcomes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for verdict in self.verdicts:
            counts[verdict.outcome] = counts.get(verdict.outcome, 0) + 1
        return counts


def conclude(analysis: Analysis) -> Conclusions:
    """At the end of the input: diagnose every IKE SA still tracked, then give each tunnel its verdict."""
    tracker = analysis.tracker
    stats = analysis.stats
    if stats.esp_flows:  # exact totals replace the windowed sightings
        tracker.esp_flows = {key: _flow(sighting) for key, sighting in stats.esp_flows.items()}
    ah = [_flow(sighting) for sighting in stats.ah_flows.values()]
    esp = analysis._esp_by_pair()
    tunnels: dict[tuple[str, str], list[IkeSa]] = {}
    for ike_sa in sorted(tracker.ike_sas.values(), key=lambda sa: (sa.first_time, sa.first_frame)):
        tunnels.setdefault(ike_sa.tunnel, []).append(ike_sa)
    result = Conclusions([], [], [])
    for ike_sas in tunnels.values():
        for ike_sa in ike_sas:
            for event in analysis._diagnose(ike_sa, ike_sas, esp, ah):
                (result.diagnoses if isinstance(event, DiagnosisEvent) else result.findings).append(event)
    tracker.ike_sas.clear()
    for peers, state in analysis.tunnels.items():
        if state.latest is not None:
            result.verdicts.append(diagnosis.verdict(peers, state.ike_sas, state.latest, state.definite))
    return result


def _flow(sighting: EspSighting) -> EspFlow:
    return EspFlow(sighting.spi, sighting.src, sighting.dst, sighting.transport, sighting.packets,
                   sighting.first_frame, sighting.last_frame, sighting.first_time, sighting.last_time)
