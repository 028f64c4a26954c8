"""Gathering a report: the identity of each input, the IKE messages of the run (memory bounded), and,
at the end, the `Report` built from them and the diagnosis events.

Data flows one way: events in, a `Report` out; nothing here formats text for a file.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from itertools import chain

from ..events import (
    DiagnosisEvent,
    FindingEvent,
    LogEvidence,
    MessageEvent,
    OfferSide,
    SummaryEvent,
    VerdictEvent,
)
from ..tracker import host
from .model import (
    DecryptedRow,
    EvidenceRow,
    Gap,
    InputIdentity,
    OfferColumn,
    OfferEntry,
    RemedyPart,
    Report,
    TimeSpan,
    TunnelReport,
)
from .sequence import build_diagram, lanes


class ReportError(Exception):
    """A report that cannot be made: the message is one line naming the file and the problem."""


PER_IKE_SA = 100
"""Messages kept per IKE SA: the first half and the latest half (a failure is usually at the end)."""
TOTAL = 20_000
"""Messages kept in all; past it, the IKE SA silent the longest is dropped whole."""
DECRYPTED_KEPT = 200
"""Messages whose decrypted payloads a report shows in full (the first ones: the negotiation)."""
DECRYPTED_LINES = 120
"""Lines of decoded payloads kept per message."""
CHUNK = 1 << 20


def identify(path: str) -> InputIdentity:
    """Name, SHA-256 and size of an input file as stored (a gzip file is hashed as it is, compressed);
    no hash for standard input ('-'). Raises ReportError when the file cannot be read."""
    if path == "-":
        return InputIdentity(path, None, None)
    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except OSError as error:
        raise ReportError(f"{path}: cannot read it to identify it in the report: "
                          f"{error.strerror or error}") from None
    return InputIdentity(path, digest.hexdigest(), size)


@dataclass(slots=True)
class _Kept:
    """The messages kept of one IKE SA: its first ones, its latest ones, and how many fell between."""

    pair: frozenset[str]
    """The two addresses of its first message (the tunnel, as the tracker defines it)."""
    head: list[tuple[int, MessageEvent]] = field(default_factory=list)
    tail: deque[tuple[int, MessageEvent]] = field(default_factory=deque)
    between: int = 0

    def __len__(self) -> int:
        return len(self.head) + len(self.tail)


class ReportCollector:
    """Fed every message event of the run; keeps at most `per_ike_sa` of each IKE SA and `total` in all,
    and counts what it leaves out so that the report can say so."""

    def __init__(self, per_ike_sa: int = PER_IKE_SA, total: int = TOTAL) -> None:
        self.per_ike_sa = max(per_ike_sa, 2)
        self.total = max(total, self.per_ike_sa)
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        """Per IKE SA, least recently active first."""
        self._stored = 0
        self._sequence = 0
        self._dropped_by_pair: dict[frozenset[str], int] = {}
        """Messages of IKE SAs dropped whole, per tunnel (pair of addresses)."""
        self.left_out = 0
        self._spans: dict[str, TimeSpan] = {}
        self._decrypted: list[DecryptedRow] = []
        self.decrypted_left_out = 0

    def decrypted(self, event: MessageEvent, lines: list[str]) -> None:
        """The decrypted payloads of a message (with keys), kept for the first DECRYPTED_KEPT messages."""
        if len(self._decrypted) >= DECRYPTED_KEPT:
            self.decrypted_left_out += 1
            return
        kind = "response" if event.response else "request"
        title = (f"{endpoint(event.src, event.sport)} > {endpoint(event.dst, event.dport)} "
                 f"{event.exchange} #{event.message_id} {kind}")
        self._decrypted.append(DecryptedRow(event.file, event.frame, title, lines[:DECRYPTED_LINES]))

    def message(self, event: MessageEvent) -> None:
        self._sequence += 1
        self._span(event)
        kept = self._kept.get(event.ike_sa)
        if kept is None:
            kept = self._kept[event.ike_sa] = _Kept(frozenset((event.src, event.dst)))
        else:
            self._kept.move_to_end(event.ike_sa)
        item = (self._sequence, event)
        if len(kept.head) < self.per_ike_sa // 2:
            kept.head.append(item)
            self._stored += 1
        else:
            kept.tail.append(item)
            self._stored += 1
            if len(kept.tail) > self.per_ike_sa - self.per_ike_sa // 2:
                kept.tail.popleft()
                kept.between += 1
                self._stored -= 1
                self.left_out += 1
        while self._stored > self.total:
            self._drop_oldest()

    def _span(self, event: MessageEvent) -> None:
        span = self._spans.get(event.file)
        if span is None:
            self._spans[event.file] = TimeSpan(event.file, event.time, event.time, 1)
        else:
            span.first, span.last = min(span.first, event.time), max(span.last, event.time)
            span.messages += 1

    def _drop_oldest(self) -> None:
        _, kept = self._kept.popitem(last=False)
        self._stored -= len(kept)
        self.left_out += len(kept)
        self._dropped_by_pair[kept.pair] = self._dropped_by_pair.get(kept.pair, 0) + len(kept) + kept.between

    def kept(self, ike_sa: str) -> list[tuple[float, MessageEvent | Gap]]:
        """The messages kept of one IKE SA in capture order (by arrival), a Gap where some were left out."""
        kept = self._kept.get(ike_sa)
        if kept is None:
            return []
        items: list[tuple[float, MessageEvent | Gap]] = list(kept.head)
        if kept.between:
            items.append((kept.head[-1][0] + 0.5, Gap(kept.between)))
        items.extend(kept.tail)
        return items

    def build(self, *, inputs: list[InputIdentity], diagnoses: list[DiagnosisEvent],
              findings: list[FindingEvent], verdicts: list[VerdictEvent], summary: SummaryEvent,
              version: str) -> Report:
        """The report of the run from what the diagnosis concluded and the messages kept."""
        tunnels = [self._tunnel(verdict, diagnoses, findings) for verdict in verdicts]
        in_tunnels = {ike_sa for verdict in verdicts for ike_sa in verdict.ike_sas}
        other = [finding for finding in findings if finding.ike_sa not in in_tunnels]
        return Report(version, list(inputs), list(self._spans.values()), tunnels, list(diagnoses),
                      list(findings), other, summary, self.left_out,
                      {"messages_per_ike_sa": self.per_ike_sa, "messages_in_total": self.total,
                       "decrypted_messages": DECRYPTED_KEPT}, list(self._decrypted))

    def _tunnel(self, verdict: VerdictEvent, diagnoses: list[DiagnosisEvent],
                findings: list[FindingEvent]) -> TunnelReport:
        mine = set(verdict.ike_sas)
        attempts = [diagnosis for diagnosis in diagnoses if diagnosis.ike_sa in mine]
        items = sorted(chain.from_iterable(self.kept(ike_sa) for ike_sa in verdict.ike_sas),
                       key=lambda item: item[0])
        rows: list[MessageEvent | Gap] = [row for _, row in items]
        dropped = self._dropped_by_pair.get(frozenset(verdict.peers), 0)
        if dropped:
            rows.insert(0, Gap(dropped))
        messages = [row for row in rows if isinstance(row, MessageEvent)]
        left_out = sum(row.count for row in rows if isinstance(row, Gap))
        left, right = lanes(verdict, attempts, messages)
        chosen = _chosen(verdict, attempts)
        return TunnelReport(
            verdict, attempts, evidence_rows(verdict, messages), remedy_by_side(verdict, chosen),
            offer_columns(verdict, attempts, [left.address, right.address], [left.role, right.role]),
            [finding for finding in findings if finding.ike_sa in mine], messages, left_out,
            build_diagram(left, right, rows, verdict))


def _chosen(verdict: VerdictEvent, attempts: list[DiagnosisEvent]) -> DiagnosisEvent | None:
    """The attempt whose diagnosis the verdict repeats (the latest one that says the same)."""
    for diagnosis in reversed(attempts):
        if (diagnosis.code, diagnosis.message, diagnosis.remedy) == (verdict.code, verdict.message,
                                                                    verdict.remedy):
            return diagnosis
    return attempts[-1] if attempts else None


# --- evidence -----------------------------------------------------------------------------------------

def evidence_rows(verdict: VerdictEvent, messages: list[MessageEvent]) -> list[EvidenceRow]:
    """The verdict's evidence with the time, direction and exchange of the message in each frame, when
    one was kept (an ESP or ICMP frame has none)."""
    by_frame: dict[int, MessageEvent] = {}
    for message in messages:
        if message.file == verdict.file or not verdict.file:
            for frame in (message.frame, *message.frames):
                by_frame.setdefault(frame, message)
    rows = []
    for item in verdict.evidence:
        if isinstance(item, LogEvidence):
            rows.append(EvidenceRow(0, item.why, item.time, f"log of {item.gateway}" if item.gateway else "log", "",
                                    f"{item.file}:{item.line}"))
            continue
        seen = by_frame.get(item.frame)
        if seen is None:
            rows.append(EvidenceRow(item.frame, item.why))
        else:
            rows.append(EvidenceRow(item.frame, item.why, seen.time, direction(seen), exchange(seen)))
    return rows


def endpoint(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def direction(message: MessageEvent) -> str:
    sender = "initiator" if message.initiator else "responder"
    return f"{endpoint(message.src, message.sport)} → {endpoint(message.dst, message.dport)} ({sender})"


def exchange(message: MessageEvent) -> str:
    text = f"{message.exchange} #{message.message_id} {'response' if message.response else 'request'}"
    return text + " (retransmission)" if message.retransmission else text


# --- remedy -------------------------------------------------------------------------------------------

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'])")


def remedy_by_side(verdict: VerdictEvent, chosen: DiagnosisEvent | None) -> list[RemedyPart]:
    """The remedy, its sentences grouped by the side they name (by address or as initiator/responder of
    the attempt the verdict rests on); one block when no sentence names a single side."""
    if verdict.code == "Established" or not verdict.remedy.strip():
        return []
    sentences = [part.strip() for part in SENTENCE_END.split(verdict.remedy.strip()) if part.strip()]
    sides = _sides(verdict, chosen)
    parts = {label: RemedyPart(label, []) for label, _, _ in sides}
    both = RemedyPart("both sides", [])
    for sentence in sentences:
        named = [label for label, address, role in sides if _names(sentence, address, role)]
        (parts[named[0]] if len(named) == 1 else both).sentences.append(sentence)
    if not any(part.sentences for part in parts.values()):
        return [RemedyPart("", sentences)]
    return [part for part in [*parts.values(), both] if part.sentences]


def _sides(verdict: VerdictEvent, chosen: DiagnosisEvent | None) -> list[tuple[str, str, str]]:
    """(label, address, role word) of each peer; the role is the one it had in the chosen attempt."""
    if chosen is None:
        return [(address, address, "") for address in verdict.peers]
    initiator, responder = address_of(chosen.initiator), address_of(chosen.responder)
    return [(f"{initiator} (initiator)", initiator, "initiator"),
            (f"{responder} (responder)", responder, "responder")]


def address_of(text: str) -> str:
    """The address of an 'ip:port' or '[ipv6]:port' text."""
    return host(text)


def _names(sentence: str, address: str, role: str) -> bool:
    if re.search(rf"(?<![\w.:]){re.escape(address)}(?!\.?\w)", sentence):
        return True
    return bool(role) and re.search(rf"\b{role}\b", sentence, re.IGNORECASE) is not None


# --- offers -------------------------------------------------------------------------------------------

def offer_columns(verdict: VerdictEvent, attempts: list[DiagnosisEvent], addresses: list[str],
                  roles: list[str]) -> list[OfferColumn]:
    """Each gateway's offers and choices over the tunnel's attempts, one column per address, the lanes'
    order first; an empty list when nothing was seen."""
    columns = {address: OfferColumn(address, role, []) for address, role in zip(addresses, roles)}
    entries: dict[tuple[str, str, str, str, tuple[str, ...]], OfferEntry] = {}
    offers = sorted(chain(verdict.offers, *(attempt.offers for attempt in attempts)), key=_offer_order)
    for offer in offers:
        key = (offer.address, offer.exchange, offer.what, offer.side, tuple(offer.proposals))
        entry = entries.get(key)
        if entry is None:
            entry = entries[key] = OfferEntry([], offer.exchange, offer.what, offer.side, list(offer.proposals))
            columns.setdefault(offer.address, OfferColumn(offer.address, offer.side, [])).offers.append(entry)
        if offer.frame not in entry.frames:
            entry.frames.append(offer.frame)
    if not any(column.offers for column in columns.values()):
        return []
    return list(columns.values())


def _offer_order(offer: OfferSide) -> int:
    return offer.frame
