"""The crowd: IKE SAs that only one side ever spoke in, folded into counts once too many are tracked at once.

Under a flood of spoofed IKE_SA_INIT requests, a reflection attack (answers to requests nobody here sent) or a
scan, every datagram would open an IKE SA of its own and memory would grow with each. The tracker keeps at
most `ONE_SIDED_BUDGET` such SAs; beyond it the oldest is handed here and becomes a few counters: per target
(requests nobody answered) and per (version, initiator SPI, addressee) (answers nobody asked for). SAs that
both sides spoke in (answered, established: the tunnels that matter) are never folded.

Sans-IO and bounded: at most `TARGETS_KEPT` targets, `GROUPS_KEPT` answer groups, `SOURCES_KEPT` sources per
target (the most frequent ones, Space-Saving style), `DISTINCT_KEPT` distinct sources counted exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

ONE_SIDED_BUDGET = 4096
"""One-sided IKE SAs tracked one by one; the oldest beyond are folded into the crowd."""
TARGETS_KEPT = 1024
GROUPS_KEPT = 1024
SOURCES_KEPT = 32
DISTINCT_KEPT = 1 << 16
SAMPLE_FRAMES = 4


@dataclass(slots=True)
class Unanswered:
    """Requests to one target that nobody answered, folded."""

    target: str
    ike_sas: int = 0
    single_shot: int = 0
    """Of them, sent once (a spoofed or probing request; a real peer retransmits)."""
    first_time: float = 0.0
    last_time: float = 0.0
    frames: list[int] = field(default_factory=list)
    top: dict[str, tuple[int, int]] = field(default_factory=dict)
    """The most frequent sources (at most SOURCES_KEPT): Space-Saving (count, overestimate)."""
    distinct: set[str] = field(default_factory=set)
    """Distinct sources, exactly up to DISTINCT_KEPT."""
    distinct_overflow: bool = False

    def add(self, source: str, time: float, frame: int, single: bool) -> None:
        if not self.ike_sas:
            self.first_time = time
        self.ike_sas += 1
        self.single_shot += single
        self.first_time = min(self.first_time, time)
        self.last_time = max(self.last_time, time)
        if len(self.frames) < SAMPLE_FRAMES:
            self.frames.append(frame)
        if source in self.top or len(self.top) < SOURCES_KEPT:
            count, error = self.top.get(source, (0, 0))
            self.top[source] = (count + 1, error)
        else:  # Space-Saving: the newcomer takes the least counted slot, whose count it may overstate
            least = min(self.top, key=lambda kept: self.top[kept][0])
            floor = self.top.pop(least)[0]
            self.top[source] = (floor + 1, floor)
        if len(self.distinct) < DISTINCT_KEPT:
            self.distinct.add(source)
        elif source not in self.distinct:
            self.distinct_overflow = True

    def standing_out(self, limit: int) -> list[tuple[str, int]]:
        """Sources with at least this many requests for certain (count less overestimate), most first."""
        sure = [(source, count - error) for source, (count, error) in self.top.items() if count - error > 1]
        return sorted(sure, key=lambda item: -item[1])[:limit]


@dataclass(slots=True)
class Unasked:
    """Answers carrying one initiator SPI towards one address, with no request seen, folded."""

    version: int
    spi_i: bytes
    addressee: str
    responders: set[str] = field(default_factory=set)
    answers: int = 0
    first_time: float = 0.0
    last_time: float = 0.0
    frames: list[int] = field(default_factory=list)

    def add(self, responder: str, time: float, frame: int) -> None:
        if not self.answers:
            self.first_time = time
        self.answers += 1
        self.first_time = min(self.first_time, time)
        self.last_time = max(self.last_time, time)
        if len(self.responders) < DISTINCT_KEPT:
            self.responders.add(responder)
        if len(self.frames) < SAMPLE_FRAMES:
            self.frames.append(frame)


class FoldedRequests(NamedTuple):
    """What the crowd keeps of an IKE SA of requests only (see `Crowd.request`)."""

    source: str
    target: str
    time: float
    frame: int
    single: bool


class FoldedAnswers(NamedTuple):
    """What the crowd keeps of an IKE SA of answers only (see `Crowd.answer`)."""

    version: int
    spi_i: bytes
    responder: str
    addressee: str
    time: float
    frame: int


@dataclass(slots=True)
class Crowd:
    unanswered: dict[str, Unanswered] = field(default_factory=dict)
    unasked: dict[tuple[int, bytes, str], Unasked] = field(default_factory=dict)
    probes: dict[str, set[str]] = field(default_factory=dict)
    """Source -> the targets its folded single-shot requests went to (scans), bounded."""
    folded: int = 0
    """IKE SAs folded in all."""
    dropped: int = 0
    """Folded SAs whose target or group could not be kept (beyond the bounds): counted only."""

    def add(self, folded: FoldedRequests | FoldedAnswers) -> None:
        """One folded IKE SA (folded SAs must come in the order they were folded: the bounds keep the first)."""
        if isinstance(folded, FoldedRequests):
            self.request(*folded)
        else:
            self.answer(*folded)

    def request(self, source: str, target: str, time: float, frame: int, single: bool) -> None:
        """An IKE SA of requests only (never answered) from `source` to `target`."""
        self.folded += 1
        bucket = self.unanswered.get(target)
        if bucket is None:
            if len(self.unanswered) >= TARGETS_KEPT:
                self.dropped += 1
                return
            bucket = self.unanswered[target] = Unanswered(target)
        bucket.add(source, time, frame, single)
        if single and (source in self.probes or len(self.probes) < TARGETS_KEPT):
            targets = self.probes.setdefault(source, set())
            if len(targets) < DISTINCT_KEPT:
                targets.add(target)

    def answer(self, version: int, spi_i: bytes, responder: str, addressee: str, time: float, frame: int) -> None:
        """An IKE SA of answers only (no request seen) from `responder` to `addressee`."""
        self.folded += 1
        key = (version, spi_i, addressee)
        group = self.unasked.get(key)
        if group is None:
            if len(self.unasked) >= GROUPS_KEPT:
                self.dropped += 1
                return
            group = self.unasked[key] = Unasked(version, spi_i, addressee)
        group.add(responder, time, frame)
