"""IPv4 and IPv6 fragment reassembly, bounded, with a timeout in capture time.

It follows Wireshark's reassembly (epan/reassemble.c, `fragment_add_work`), so that a reassembled
datagram appears at the same frame as in Wireshark, with the same bytes:

* fragments are keyed by (version, source, destination, protocol, identification); IPv6 has no
  protocol in its key (the fragment header's identification covers it);
* the datagram is complete when the fragment without "more fragments" has set the length and the
  fragments cover it without a gap; it is reported at the frame whose fragment completed it;
* where fragments overlap, the octets already placed win: fragments are laid down in order of
  offset (and of arrival for equal offsets), each adding only octets past those before it.
  (Wireshark's comment: "the existing behavior does not overwrite overlapping bytes even if there
  is a conflict. It only adds new bytes.")
* once complete, the entry is forgotten: a later duplicate fragment starts a new reassembly (which
  completes again if the whole datagram is repeated, as Wireshark shows it twice).

Unlike Wireshark, memory is bounded: a datagram may not exceed MAX_DATAGRAM octets, at most
MAX_IN_FLIGHT datagrams and MAX_TOTAL_BYTES octets are held (the oldest goes first), and a datagram
whose first fragment is older than TIMEOUT seconds of capture time is given up.

This module knows nothing of UDP, TCP or IKE; callers say whether a datagram is worth reporting.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

TIMEOUT = 30.0
MAX_DATAGRAM = 65535 + 8
"""An IPv4 datagram cannot exceed 65535 octets; IPv6 without jumbograms neither (plus slack)."""
MAX_IN_FLIGHT = 4096
MAX_TOTAL_BYTES = 32 << 20


@dataclass(slots=True)
class _Pending:
    first_time: float
    fragments: list[tuple[int, int, bytes]] = field(default_factory=list)
    """(offset, arrival order, octets)."""
    frames: list[int] = field(default_factory=list)
    length: int | None = None
    """Datagram length, known once the last fragment (MF clear) arrived."""
    size: int = 0
    """Octets held."""
    report: object = None
    """What the caller attached (e.g. the UDP ports when the first fragment showed an IKE port)."""


@dataclass(slots=True)
class Reassembled:
    data: bytes
    frames: tuple[int, ...]


@dataclass(slots=True)
class GivenUp:
    """A datagram abandoned (timeout, limit, or end of input), with what the caller attached."""

    frames: tuple[int, ...]
    reason: str
    """'timeout', 'limit' or 'incomplete'."""
    report: object


class FragmentReassembler:
    def __init__(self, timeout: float | None = None, max_datagram: int | None = None,
                 max_in_flight: int | None = None, max_total_bytes: int | None = None) -> None:
        self.timeout = TIMEOUT if timeout is None else timeout
        self.max_datagram = MAX_DATAGRAM if max_datagram is None else max_datagram
        self.max_in_flight = MAX_IN_FLIGHT if max_in_flight is None else max_in_flight
        self.max_total_bytes = MAX_TOTAL_BYTES if max_total_bytes is None else max_total_bytes
        self._pending: dict[Hashable, _Pending] = {}
        self._bytes = 0
        self._arrivals = 0
        self.given_up: list[GivenUp] = []
        """Datagrams abandoned since the caller last emptied this list."""

    def __bool__(self) -> bool:
        return bool(self._pending)

    @property
    def oldest_deadline(self) -> float | None:
        if not self._pending:
            return None
        return next(iter(self._pending.values())).first_time + self.timeout

    def add(self, key: Hashable, offset: int, more: bool, data: bytes, frame: int, time: float,
            report: object = None) -> Reassembled | None:
        """Add one fragment; return the datagram when this fragment completes it."""
        self.expire(time)
        entry = self._pending.get(key)
        if entry is None:
            entry = self._pending[key] = _Pending(time)
        if report is not None and entry.report is None:
            entry.report = report
        end = offset + len(data)
        if end > self.max_datagram or (entry.length is not None and offset >= entry.length):
            self._give_up(key, "limit")
            return None
        self._arrivals += 1
        entry.fragments.append((offset, self._arrivals, data))
        entry.frames.append(frame)
        entry.size += len(data)
        self._bytes += len(data)
        if not more and entry.length is None:
            entry.length = end
        self._enforce_limits(key)
        if entry.length is None or key not in self._pending:
            return None
        return self._complete(key, entry)

    def _complete(self, key: Hashable, entry: _Pending) -> Reassembled | None:
        length = entry.length
        assert length is not None
        ordered = sorted(entry.fragments)
        covered = 0
        for offset, _, data in ordered:
            if offset > covered:
                return None                               # a gap remains
            covered = max(covered, offset + len(data))
        if covered < length:
            return None
        buffer = bytearray(length)
        position = 0
        for offset, _, data in ordered:
            stop = min(offset + len(data), length)
            if stop > position:
                # Only octets beyond those already placed: the first writer (by offset) wins.
                buffer[position:stop] = data[position - offset:stop - offset]
                position = stop
        self._forget(key)
        return Reassembled(bytes(buffer), tuple(entry.frames))

    def _forget(self, key: Hashable) -> _Pending:
        entry = self._pending.pop(key)
        self._bytes -= entry.size
        return entry

    def _give_up(self, key: Hashable, reason: str) -> None:
        entry = self._forget(key)
        self.given_up.append(GivenUp(tuple(entry.frames), reason, entry.report))

    def _enforce_limits(self, current: Hashable) -> None:
        while len(self._pending) > self.max_in_flight or self._bytes > self.max_total_bytes:
            oldest = next(iter(self._pending))
            self._give_up(oldest, "limit")
            if oldest == current:
                break

    def expire(self, now: float) -> None:
        """Give up every datagram whose first fragment is more than `timeout` seconds older than `now`."""
        while self._pending:
            key, entry = next(iter(self._pending.items()))
            if now - entry.first_time <= self.timeout:
                break
            self._give_up(key, "timeout")

    def finish(self) -> None:
        """The input ended: whatever is pending stays incomplete."""
        for key in list(self._pending):
            self._give_up(key, "incomplete")
