"""The pipeline: capture source -> IKE datagrams -> dissected messages -> tracker -> events.

It ties the stages together and knows nothing of how events are printed.
"""

from __future__ import annotations

import heapq
import operator
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from dissectors import Message, Notify, PayloadMemo, RawHeader, implausible, parse_message, plausible_header
from dissectors.ikev1 import CiscoFragmentPayload, CiscoFragmentReassembler, ReassembledMessage
from dissectors.model import Header, Payload
from dissectors.names import V1Payload

from . import diagnosis
from .capture import CaptureReader, LiveSource, read_capture, read_live
from .capture.events import CaptureStats, EspSighting, FrameProblem, IcmpError, Idle, IkeDatagram
from .crypto import Crypto
from .diagnosis.noise import assess as assess_noise
from .diagnosis.noise import view
from .early import EarlyVerdicts
from .events import DiagnosisEvent, FindingEvent, MessageEvent, NotifyRef, VerdictEvent
from .tracker import EspFlow, IkeSa, Tracker, endpoint
from .vantage import Loss, Sighting, Sightings

if TYPE_CHECKING:
    from .crypto.keys import KeyStore

RETIRE_AFTER = 300.0
"""Seconds of capture time an IKE SA may stay silent before it is diagnosed and forgotten: longer
than any retransmission schedule, so an SA is never judged while its peers may still speak."""
RETIRE_EVERY = 4096
"""IKE messages between two looks for SAs to retire."""


class DecodedMessage:
    """A message event with the dissected message behind it (for the decoded tree).

    The event is made when an output first asks for `event` (and kept): a run whose outputs print nothing
    per message (`-q`, a report alone) never pays for it. `time` is the capture time without the event."""

    __slots__ = ("_event", "_parts", "datagram", "inner", "message", "time")

    def __init__(self, event: MessageEvent | None, message: Message, inner: list[Payload] | None = None,
                 datagram: IkeDatagram | None = None, *, time: float | None = None,
                 parts: _EventParts | None = None) -> None:
        self._event = event
        self._parts = parts
        self.message = message
        self.inner: list[Payload] = [] if inner is None else inner
        """The payloads decrypted from its SK/SKF or IKEv1 encrypted body (empty without keys)."""
        self.datagram = datagram
        """The datagram that carried it; None for a message reassembled from IKEv1 Cisco fragments."""
        self.time = time if time is not None else event.time if event is not None else 0.0

    @property
    def event(self) -> MessageEvent:
        event = self._event
        if event is None:
            assert self._parts is not None
            event = self._event = _message_event(self.message, *self._parts)
            self._parts = None
        return event


_EventParts = tuple[IkeDatagram, str, list[int], list[NotifyRef], list[str], list[Payload] | None, bool, bool, bool,
                    str]
"""What `_message_event` needs besides the message: datagram, file, frames, notifies (decrypted ones
included), errors, the payloads decrypted (None: nothing was opened), response, initiator, retransmission, IKE SA id."""


def _message_event(message: Message, datagram: IkeDatagram, label: str, frames: list[int],
                   notifies: list[NotifyRef], errors: list[str], opened: list[Payload] | None, response: bool,
                   initiator: bool, retransmission: bool, ike_sa: str) -> MessageEvent:
    header = message.header
    names = [payload.name for payload in message.payloads]
    types = [payload.type for payload in message.payloads]
    decrypted = False
    if opened is not None:
        outer = names[-1] if names else "SK"
        for payload in opened:
            names.append(f"{outer}:{payload.name}")  # inside the encrypted payload, decrypted
            types.append(payload.type)
        decrypted = bool(opened) or not errors
    return MessageEvent(
        frame=datagram.frame, time=datagram.time, src=datagram.src, sport=datagram.sport, dst=datagram.dst,
        dport=datagram.dport, transport=datagram.transport, version=message.version, spi_i=header.spi_i.hex(),
        spi_r=header.spi_r.hex(), exchange_type=header.exchange_type, exchange=message.exchange_name,
        message_id=header.message_id, response=response, initiator=initiator, length=header.length,
        payloads=names, notifies=notifies, encrypted=message.encrypted, decrypted=decrypted,
        retransmission=retransmission, ike_sa=ike_sa, errors=errors, payload_types=types, frames=frames,
        file=label)


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
    not_ike: int = 0
    """Datagrams on an IKE port that were not plausible IKE messages (counted in `decode_errors` too)."""
    limited: bool = False
    """`process_shard` stopped at -c or --duration."""
    own_errors: int = 0
    """Of `decode_errors`, the messages dissected here that had errors (under `-j`, the worker's own share)."""
    sightings: Sightings | None = None
    """With several captures merged: which messages each saw (two sightings of one message, path loss)."""
    cut: FrameProblem | None = None
    """The capture file ended unreadable (a last record cut short): said once, never a network event."""
    label: str = ""
    tunnels: dict[tuple[str, str], TunnelState] = field(default_factory=dict)
    """What is kept of the IKE SAs already diagnosed, per tunnel (for its verdict)."""
    keys: KeyStore | None = None
    """Key material (`--keys`): the encrypted payloads of the SAs it covers are opened."""
    psks: list[bytes] = field(default_factory=list)
    """Pre-shared keys to verify hashes and AUTH payloads with (`--psk-file`); never printed."""
    crypto: Crypto = field(init=False)
    """Keys and PSKs applied to the messages (the crypto seam)."""
    watch: EarlyVerdicts = field(default_factory=EarlyVerdicts)
    """What `early_verdicts` needs (filled only when `early` is set)."""
    early: bool = False
    """Keep track of what `early_verdicts` needs (live captures and streams)."""
    bpf: str | None = None
    """A capture filter (`-f`) the frames of capture files must pass."""
    reader: CaptureReader | None = None
    """The capture file being read (its position feeds the progress bar)."""

    def __post_init__(self) -> None:
        self.crypto = Crypto(self.keys, self.psks)
        self.tracker.on_fold = self.watch.forget

    def run(self, source: str) -> Iterator[Item]:
        """Events of one capture file, in capture order; the diagnosis of an IKE SA comes as soon as
        it has been silent for `RETIRE_AFTER` seconds. Opening errors raise CaptureError."""
        self.label = source
        self.reader = read_capture(source, self.stats, self.ike_ports, bpf=self.bpf)
        return self.process(self.reader)

    def run_live(self, source: LiveSource) -> Iterator[Item]:
        """Events of a live capture as the packets arrive (and its idle ticks, passed on), until the
        source stops."""
        self.label = source.name
        return self.process(read_live(source, self.stats, self.ike_ports))

    def run_merged(self, sources: list[str]) -> Iterator[Item]:
        """Several files as one capture (`--merge`): their items in time order; the same message seen in two
        files (both gateways' captures) is one message with two sightings, the first file that showed it
        naming it; copies seen in one file only, while the other saw the rest of the SA, are path loss."""
        readers = [read_capture(source, self.stats, self.ike_ports, bpf=self.bpf) for source in sources]
        self.reader = readers[0]
        self.sightings = Sightings(list(sources))
        streams = [_timed(index, source, reader) for index, (source, reader) in enumerate(zip(sources, readers,
                                                                                          strict=True))]
        for _, _, source, item in heapq.merge(*streams, key=lambda entry: entry[:2]):
            self.label = source
            yield from self.process((item,))

    def process(self, items: Iterable[object]) -> Iterator[Item]:
        label = self.label
        for item in items:
            if isinstance(item, IkeDatagram):
                if self.sightings is not None and not self.sightings.seen(
                        hash(item.data), Sighting(label, item.frame, item.time, item.src, item.dst, item.data[:8])):
                    continue  # another capture's sighting of a message already read
                message = parse_message(item.data, self.memo)
                problem = implausible(message, len(item.data), item.truncated)
                if problem is not None:  # a DNS reply on port 500, junk after a non-ESP marker: never an SA
                    self.decode_errors += 1
                    self.not_ike += 1
                    yield FrameProblem(item.frame, item.time, f"not an IKE message ({problem}): "
                                       f"{endpoint(item.src, item.sport)} > {endpoint(item.dst, item.dport)}")
                    continue
                yield self._event(message, item.data, item, label, list(item.frames))
                if message.version == 1 and message.header.next_payload == V1Payload.FRAG:
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
                if item.ends_capture:
                    self.cut = item
                yield item
            elif isinstance(item, Idle):
                yield item

    def process_shard(self, items: Iterable[object], worker: int, of: Callable[[IkeSa], int], window: int,
                      count: int | None = None, duration: float | None = None
                      ) -> Iterator[tuple[int, Item | None]]:
        """`process` for one of the workers of `-j`, each given the whole capture: every worker tracks every
        IKE SA, counts every message and keeps the same clock, but dissects, decrypts and records only the
        messages of its own SAs (`of(ike_sa)`: the worker an SA belongs to, decided by its tunnel) and
        diagnoses only those. Every worker therefore retires, folds and numbers SAs at the same points as
        one process would.

        Yields (position, item): position `n << 40` for the n-th item of the capture stream (a message, a
        frame problem: worker 0 tells those), `n << 40 | place + 1 << 10 | index` for the `index`-th event
        of the SA retired in `place` right after it; and (n << 40, None) after a message that brings the
        count of messages to a multiple of `window`. `count`, `duration`: -c and --duration."""
        label = self.label
        tracker = self.tracker
        memo = self.memo
        seq = 0
        first: float | None = None
        limited = count is not None or duration is not None
        for item in items:
            if isinstance(item, IkeDatagram):
                data = item.data
                message: Message | None = None
                header = plausible_header(data, item.truncated)
                if header is None:
                    message = parse_message(data, memo)
                    problem = implausible(message, len(data), item.truncated)
                    if problem is not None:
                        self.decode_errors += 1
                        self.not_ike += 1
                        seq += 1
                        if not worker:
                            yield seq << 40, FrameProblem(
                                item.frame, item.time, f"not an IKE message ({problem}): "
                                f"{endpoint(item.src, item.sport)} > {endpoint(item.dst, item.dport)}")
                        continue
                    header = _raw_header(message.header)
                seq += 1
                if first is None:
                    first = item.time
                spi_i, spi_r, next_payload, version, exchange_type, flags, message_id, _ = header
                version >>= 4
                src, dst = sys.intern(item.src), sys.intern(item.dst)
                ike_sa = tracker.locate(version, spi_i, spi_r, src, dst, item.frame, item.time)
                if ike_sa.shard < 0:
                    ike_sa.shard = of(ike_sa)
                if ike_sa.shard == worker:
                    if message is None:
                        message = parse_message(data, memo)
                    yield seq << 40, self._event(message, data, item, label, list(item.frames), located=ike_sa)
                else:
                    self.messages += 1
                    addresses = ike_sa.addresses
                    if not (addresses[True] and addresses[False]):  # (once both sides spoke, nothing changes)
                        tracker.elsewhere(ike_sa, version, flags, exchange_type, message_id, spi_r, src, item.sport,
                                          dst, partial(_carries_sa, data, memo))
                if limited and self._enough(count, duration, first, item.time):
                    self.limited = True
                    return
                if version == 1 and next_payload == V1Payload.FRAG:
                    if message is None:
                        message = parse_message(data, memo)
                    for done in self._reassembled(message, item):
                        inner = parse_message(done.data, memo)
                        fields = inner.header
                        seq += 1
                        ike_sa = tracker.locate(inner.version, fields.spi_i, fields.spi_r, src, dst, item.frame,
                                                item.time)
                        if ike_sa.shard < 0:
                            ike_sa.shard = of(ike_sa)
                        if ike_sa.shard == worker:
                            yield seq << 40, self._event(inner, done.data, item, label, done.frames, reassembled=True,
                                                         located=ike_sa)
                        else:
                            tracker.elsewhere(ike_sa, inner.version, fields.flags, fields.exchange_type,
                                              fields.message_id, fields.spi_r, src, item.sport, dst,
                                              partial(operator.contains, inner.payload_names, "SA"))
                            self.messages += 1
                        if limited and self._enough(count, duration, first, item.time):
                            self.limited = True
                            return
                if self.messages % RETIRE_EVERY == 0:
                    place, index = -1, 0
                    for at, event in self.retiring(tracker.last_time - RETIRE_AFTER, worker):
                        place, index = at, index + 1 if at == place else 0
                        yield seq << 40 | (place + 1) << 10 | index, event
                if self.messages % window == 0:
                    yield seq << 40, None
            elif isinstance(item, EspSighting):
                tracker.esp(item)
            elif isinstance(item, IcmpError):
                tracker.icmp(item.frame, item.time, item.src, item.description, item.quoted_src,
                             item.quoted_sport, item.quoted_dst, item.quoted_dport)
            elif isinstance(item, FrameProblem):
                self.decode_errors += 1
                if item.ends_capture:
                    self.cut = item
                seq += 1
                if not worker:
                    yield seq << 40, item

    def _enough(self, count: int | None, duration: float | None, first: float | None, now: float) -> bool:
        """-c N messages, or --duration S seconds of capture time (as `api.Session` stops one process)."""
        if count is not None and self.messages >= count:
            return True
        return duration is not None and first is not None and now - first > duration

    def early_verdicts(self, now: float, timers: bool = False) -> list[VerdictEvent]:
        """The verdicts of tunnels whose conclusion changed since the last call, judged at `now` (for a
        live capture or a stream; see early.py). `timers`: also look again at tunnels still incomplete,
        which only time can settle. PSK checks wait for the end."""
        if self.watch.quiet:
            return []
        esp = self._esp_by_pair()
        ah = self._ah_flows()

        def judge(ike_sa: IkeSa, tunnel: list[IkeSa]) -> DiagnosisEvent:
            return diagnosis.diagnose(ike_sa, self._context(ike_sa, tunnel, now, esp, ah, final=False), self.label)

        return self.watch.look(timers, judge, self._retired)

    def _retired(self, tunnel: tuple[str, str]) -> tuple[list[str], DiagnosisEvent | None, DiagnosisEvent | None]:
        state = self.tunnels.get(tunnel)
        return ([], None, None) if state is None else (state.ike_sas, state.latest, state.definite)

    def _cisco_fragments(self, message: Message, datagram: IkeDatagram,
                         label: str) -> Iterator[DecodedMessage]:
        """The message that a Cisco fragment (payload 132, always alone in its message) completes."""
        for done in self._reassembled(message, datagram):
            inner = parse_message(done.data, self.memo)
            yield self._event(inner, done.data, datagram, label, done.frames, reassembled=True)

    def _reassembled(self, message: Message, datagram: IkeDatagram) -> Iterator[ReassembledMessage]:
        for payload in message.payloads:
            if isinstance(payload, CiscoFragmentPayload):
                done = self.fragments.feed(message.header.spi_i, message.header.spi_r, payload,
                                           datagram.frame, sender=(datagram.src, datagram.sport))
                if done is not None:
                    yield done

    def _event(self, message: Message, raw: bytes, datagram: IkeDatagram, label: str,
               frames: list[int], reassembled: bool = False, located: IkeSa | None = None) -> DecodedMessage:
        notifies: list[NotifyRef] = [NotifyRef(payload.notify_name, payload.notify_type)
                                     for payload in message.payloads if isinstance(payload, Notify)]
        errors = message.errors
        opened = self.crypto.open(message, raw, datagram.src) if self.crypto.active else None
        if opened is not None:
            for payload in opened.payloads:
                if isinstance(payload, Notify):
                    notifies.append(NotifyRef(payload.notify_name, payload.notify_type))
            if opened.errors:
                errors = [*errors, *opened.errors]
        seen = self.tracker.observe(message, raw, datagram.frame, datagram.time, datagram.src, datagram.dst,
                                    notifies, sport=datagram.sport, dport=datagram.dport,
                                    transport=datagram.transport, frames=frames,
                                    decrypted=opened.payloads if opened is not None
                                    and (opened.payloads or not opened.errors) else None, located=located)
        self.messages += 1
        if self.early:
            self.watch.seen(seen.ike_sa)
        if errors:
            self.decode_errors += 1
            self.own_errors += 1
        inner = list(opened.payloads) if opened is not None else None
        return DecodedMessage(None, message, inner, None if reassembled else datagram, time=datagram.time,
                              parts=(datagram, label, frames, notifies, errors, inner, seen.response,
                                     seen.initiator, seen.retransmission, seen.ike_sa.id))

    def retire(self, before: float) -> Iterator[DiagnosisEvent | FindingEvent]:
        """Diagnose and forget the IKE SAs silent since `before` (memory follows the live SAs)."""
        for _, event in self.retiring(before):
            yield event

    def retiring(self, before: float, worker: int = -1) -> Iterator[tuple[int, DiagnosisEvent | FindingEvent]]:
        """`retire`, each event with the place of its SA among those retired (every worker of `-j` has the same
        list). `worker`: under `-j`, only the SAs of this worker are diagnosed, the others forgotten (every
        worker tracks every SA, and analyses its own)."""
        tracker = self.tracker
        done = [key for key, ike_sa in tracker.ike_sas.items() if ike_sa.last_time < before]
        if not done:
            return  # (most looks: nothing to group by tunnel)
        by_tunnel: dict[tuple[str, str], list[IkeSa]] = {}
        esp: dict[frozenset[str], list[EspFlow]] = {}
        ah: list[EspFlow] = []
        if any(tracker.ike_sas[key].shard == worker for key in done):
            for ike_sa in tracker.ike_sas.values():
                if ike_sa.shard == worker:  # (a tunnel's SAs are all in one worker)
                    by_tunnel.setdefault(ike_sa.tunnel, []).append(ike_sa)
            esp = self._esp_by_pair()
            ah = self._ah_flows()
        for place, key in enumerate(done):
            ike_sa = tracker.ike_sas[key]
            if tracker.folds and key in tracker.one_sided and ike_sa.messages == 1:
                tracker.fold(key)  # under a flood or a reflection: counted with the others, not a tunnel
                continue
            tracker.forget(key)
            if ike_sa.shard != worker:
                continue
            self.watch.forget(ike_sa)
            for event in self._diagnose(ike_sa, by_tunnel[ike_sa.tunnel], esp, ah):
                yield place, event

    def _context(self, ike_sa: IkeSa, tunnel: list[IkeSa], now: float, esp: dict[frozenset[str], list[EspFlow]],
                 ah: list[EspFlow], final: bool) -> diagnosis.Context:
        """The one way a diagnosis context is built, for SAs retired, at the end and for early verdicts."""
        crypto = self.crypto.conclusions(ike_sa.version, ike_sa.spi_i, ike_sa.spi_r, final=final)
        return diagnosis.build_context(ike_sa, tunnel, now, esp, ah, crypto)

    def _diagnose(self, ike_sa: IkeSa, tunnel: list[IkeSa], esp: dict[frozenset[str], list[EspFlow]],
                  ah: list[EspFlow]) -> Iterator[DiagnosisEvent | FindingEvent]:
        context = self._context(ike_sa, tunnel, self.tracker.last_time, esp, ah, final=True)
        event = diagnosis.diagnose(ike_sa, context, self.label)
        state = self.tunnels.setdefault(ike_sa.tunnel, TunnelState())
        state.ike_sas.append(ike_sa.id)
        state.latest = event
        if event.outcome != "incomplete":
            state.definite = event
        if diagnosis.is_failure(event):
            state.failure = event
        yield event
        for finding in diagnosis.findings(ike_sa, context, self.label):
            if (finding.kind, finding.detail) not in state.findings and len(state.findings) < FINDINGS_PER_TUNNEL:
                state.findings.add((finding.kind, finding.detail))
                yield finding

    def _ah_flows(self) -> list[EspFlow]:
        return [_flow(sighting) for sighting in self.stats.ah_flows.values()]

    def _esp_by_pair(self) -> dict[frozenset[str], list[EspFlow]]:
        esp: dict[frozenset[str], list[EspFlow]] = {}
        for flow in sorted(self.tracker.esp_flows.values(), key=lambda flow: flow.first_frame):
            esp.setdefault(frozenset((flow.src, flow.dst)), []).append(flow)
        return esp


FINDINGS_PER_TUNNEL = 64


@dataclass(slots=True)
class TunnelState:
    """What a tunnel's verdict needs of its IKE SAs once they are diagnosed."""

    ike_sas: list[str] = field(default_factory=list)
    latest: DiagnosisEvent | None = None
    definite: DiagnosisEvent | None = None
    """The latest diagnosis that is not `incomplete`."""
    failure: DiagnosisEvent | None = None
    """The latest diagnosis that is a failure (an outage, when a later attempt came up)."""
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
    esp, ah, tracked = ending(analysis)
    noise = assess_noise([view(ike_sa, esp) for ike_sa in tracked], analysis.tracker.crowd, analysis.label)
    result = Conclusions([], [*noise.findings, *_path_loss(analysis), *truncation(analysis)], [])
    tunnels = tunnels_of(tracked, noise.left_out)
    analysis.tracker.forget_all()
    del tracked  # (each tunnel's IKE SAs are freed once diagnosed: their memory holds the events that follow)
    while tunnels:
        ike_sas = tunnels.pop(next(iter(tunnels)))
        for ike_sa in ike_sas:
            for event in analysis._diagnose(ike_sa, ike_sas, esp, ah):
                if isinstance(event, DiagnosisEvent):
                    result.diagnoses.append(event)
                else:
                    result.findings.append(event)
    result.findings.extend(keys_unused(analysis.label, *analysis.crypto.unused()))
    result.verdicts.extend(verdict_of(peers, state) for peers, state in analysis.tunnels.items()
                           if state.latest is not None)
    return result


def ending(analysis: Analysis) -> tuple[dict[frozenset[str], list[EspFlow]], list[EspFlow], list[IkeSa]]:
    """What the end of the input starts from: the ESP flows by address pair (the exact totals replace the
    windowed sightings), the AH flows, and every IKE SA still tracked, by first message."""
    tracker = analysis.tracker
    stats = analysis.stats
    if stats.esp_flows:
        tracker.esp_flows = {key: _flow(sighting) for key, sighting in stats.esp_flows.items()}
    ah = analysis._ah_flows()
    esp = analysis._esp_by_pair()
    tracked = sorted(tracker.ike_sas.values(), key=lambda sa: (sa.first_time, sa.first_frame))
    return esp, ah, tracked


def tunnels_of(tracked: Iterable[IkeSa], left_out: set[str]) -> dict[tuple[str, str], list[IkeSa]]:
    """The IKE SAs by tunnel, in order of their first SA, without those the noise assessment left out."""
    tunnels: dict[tuple[str, str], list[IkeSa]] = {}
    for ike_sa in tracked:
        if ike_sa.id not in left_out:
            tunnels.setdefault(ike_sa.tunnel, []).append(ike_sa)
    return tunnels


def truncation(analysis: Analysis) -> list[FindingEvent]:
    if analysis.cut is None:
        return []
    return [FindingEvent(
        kind="truncated_capture", ike_sa="", frames=[analysis.cut.frame], file=analysis.label,
        detail=f"the capture ends with a record cut short ({analysis.cut.text.split(': ', 1)[-1]}): the file was "
               "copied or closed while a packet was being written; everything before it was read, and the "
               "end of the file is no network event (no timeout is read into it)")]


def verdict_of(peers: tuple[str, str], state: TunnelState) -> VerdictEvent:
    assert state.latest is not None
    return diagnosis.verdict(peers, state.ike_sas, state.latest, state.definite, state.failure)


def keys_unused(label: str, total: int, unused: int, psks: list[int]) -> list[FindingEvent]:
    """Key sets (--keys) that opened no message of the capture, PSKs (--psk-file) that verified with no SA:
    a wrong file, or keys of another capture (never the keys themselves)."""
    parts = []
    if unused:
        parts.append(f"{unused} of the {total} key set{'s' if total != 1 else ''} given (--keys) opened no message "
                     "of this capture (keys of other IKE SAs, or of another capture)")
    if psks:
        numbers = ", ".join(map(str, psks))
        parts.append(f"pre-shared key{'s' if len(psks) != 1 else ''} {numbers} of --psk-file verified with no IKE SA "
                     "it could be checked against")
    if not parts:
        return []
    return [FindingEvent(kind="keys_unused", ike_sa="", frames=[], file=label, detail="; ".join(parts))]


def _carries_sa(data: bytes, memo: PayloadMemo) -> bool:
    return "SA" in parse_message(data, memo).payload_names


def _raw_header(header: Header) -> RawHeader:
    return (header.spi_i, header.spi_r, header.next_payload, header.major_version << 4 | header.minor_version,
            header.exchange_type, header.flags, header.message_id, header.length)


def _timed(index: int, source: str, items: Iterable[object]) -> Iterator[tuple[float, int, str, object]]:
    for item in items:
        yield _when(item), index, source, item


def _when(item: object) -> float:
    """The capture time of an item of the capture layer (for merging files in time order)."""
    if isinstance(item, EspSighting):
        return item.first_time
    return float(getattr(item, "time", 0.0))


def _path_loss(analysis: Analysis) -> list[FindingEvent]:
    """Messages one merged capture saw that another, which saw the rest of their IKE SA, never did."""
    if analysis.sightings is None:
        return []
    found: dict[tuple[str, str, str], list[Loss]] = {}
    for loss in analysis.sightings.finish():
        copy = loss.sighting
        found.setdefault((copy.src, copy.dst, loss.missing_in), []).append(loss)
    findings = []
    for (src, dst, missing_in), losses in found.items():
        seen_in = losses[0].sighting.file
        frames = [loss.sighting.frame for loss in losses]
        findings.append(FindingEvent(
            kind="path_loss", ike_sa="", frames=frames[:8], file=seen_in,
            detail=f"{len(losses)} IKE message{'s' if len(losses) != 1 else ''} from {src} to {dst} seen in {seen_in} (frame "
                   f"{', '.join(map(str, frames[:8]))}) never appear in {missing_in}, which saw the rest of the same "
                   f"IKE SA: lost between the two capture points ({analysis.sightings.twice} messages were seen at "
                   "both)"))
    return findings


def _flow(sighting: EspSighting) -> EspFlow:
    return EspFlow(sighting.spi, sighting.src, sighting.dst, sighting.transport, sighting.packets,
                   sighting.first_frame, sighting.last_frame, sighting.first_time, sighting.last_time)
