"""Several captures of the same negotiations (`--merge` with both gateways' captures): the same IKE message
seen at two points is one message with two sightings, and a message seen at one point only, while the other
point saw the rest of its IKE SA, is evidence of path loss.

Sans-IO: datagrams in (with the file they came from), decisions out. The n-th copy of some message bytes in
one file is the same message as the n-th copy in another (a retransmission repeats the bytes, so copies are
paired in order). Each file's clock may be off: the offset is the median difference of the messages seen
once in both, and unpaired copies are matched to the nearest in time with it. Memory is bounded: the
sightings of at most `KEPT` distinct messages are kept, the oldest judged and forgotten first.
"""

from __future__ import annotations

import statistics
from collections import OrderedDict
from dataclasses import dataclass, field

KEPT = 1 << 16
COPIES_KEPT = 12
OFFSETS_KEPT = 1024


@dataclass(slots=True)
class Sighting:
    file: str
    frame: int
    time: float
    src: str
    dst: str
    spi_i: bytes


@dataclass(slots=True)
class Loss:
    """A copy of a message seen in `seen_in` that the other capture never saw."""

    sighting: Sighting
    missing_in: str


@dataclass(slots=True)
class Sightings:
    files: list[str]
    kept: OrderedDict[int, list[Sighting]] = field(default_factory=OrderedDict)
    offsets: dict[str, list[float]] = field(default_factory=dict)
    """Per file, differences of its sightings' times from the first file's, for messages seen once in both."""
    spans: dict[str, tuple[float, float]] = field(default_factory=dict)
    spis: dict[str, set[bytes]] = field(default_factory=dict)
    losses: list[Loss] = field(default_factory=list)
    twice: int = 0
    """Messages seen in two captures (one message, two sightings)."""

    def seen(self, digest: int, sighting: Sighting) -> bool:
        """Whether this is a new message (True) or another capture's sighting of one already seen (False)."""
        file = sighting.file
        first, last = self.spans.get(file, (sighting.time, sighting.time))
        self.spans[file] = (min(first, sighting.time), max(last, sighting.time))
        spis = self.spis.setdefault(file, set())
        if len(spis) < KEPT:
            spis.add(sighting.spi_i)
        copies = self.kept.get(digest)
        if copies is None:
            self.kept[digest] = [sighting]
            if len(self.kept) > KEPT:
                self._judge(*self.kept.popitem(last=False))
            return True
        mine = sum(1 for copy in copies if copy.file == file)
        theirs = max((sum(1 for copy in copies if copy.file == other) for other in {c.file for c in copies}
                      if other != file), default=0)
        if len(copies) < COPIES_KEPT:
            copies.append(sighting)
        if mine < theirs:  # the (mine+1)-th copy here pairs with the (mine+1)-th copy there
            self.twice += 1
            reference = next(c for c in copies if c.file != file)
            if reference.file == self.files[0] and mine == 0:
                samples = self.offsets.setdefault(file, [])
                samples.append(sighting.time - reference.time)
                del samples[:-OFFSETS_KEPT]
            return False
        return True

    def offset(self, file: str) -> float:
        samples = self.offsets.get(file)
        return statistics.median(samples) if samples else 0.0

    def finish(self) -> list[Loss]:
        """Judge what is still kept; every loss found, in time order."""
        while self.kept:
            self._judge(*self.kept.popitem(last=False))
        return sorted(self.losses, key=lambda loss: loss.sighting.time)

    def _judge(self, _digest: int, copies: list[Sighting]) -> None:
        by_file: dict[str, list[Sighting]] = {}
        for copy in copies:
            by_file.setdefault(copy.file, []).append(copy)
        for file, mine in by_file.items():
            for other in self.files:
                if other == file or mine[0].spi_i not in self.spis.get(other, set()):
                    continue  # the other capture never saw this IKE SA: it says nothing about this message
                theirs = by_file.get(other, [])
                if len(mine) <= len(theirs):
                    continue
                first, last = self.spans.get(other, (0.0, -1.0))
                shift = self.offset(other) - self.offset(file)
                unmatched = list(mine)
                for copy in theirs:  # pair each copy there with the nearest copy here, clocks aligned
                    nearest = min(unmatched, key=lambda candidate: abs(candidate.time + shift - copy.time))
                    unmatched.remove(nearest)
                for copy in unmatched:
                    if first <= copy.time + shift <= last:  # the other point was capturing then
                        self.losses.append(Loss(copy, other))
