"""RFC 8229: IKE and ESP carried in a TCP stream, rebuilt from captured segments.

Each direction of a TCP connection on an IKE port is put back in sequence-number order (segments that
arrive early wait in a bounded buffer; retransmitted octets are dropped; SYN gives the initial
sequence number, FIN and RST end the direction / the connection). The initiator's byte stream starts
with the 6-octet prefix "IKETCP"; after it, both directions are a series of records:

    2-octet length (counting itself) | 4 zero octets (non-ESP marker) | IKE message
    2-octet length (counting itself) | ESP packet (its SPI is never zero)

Every complete IKE record becomes an IKE datagram reported at the frame whose segment completed it,
listing every segment that carried part of it; ESP records are counted per SPI like ESP over UDP.

When the capture starts in the middle of a connection (no SYN seen), the first data segment is taken
to start a record (or the prefix), which is what a sender does after each write in practice. A
direction whose framing is broken (impossible length) stops being read, with a problem reported.

This module knows nothing of IP or of the capture's format; it is fed (addresses, ports, sequence
number, flags, payload) tuples in capture order.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

PREFIX = b"IKETCP"
MAX_OUT_OF_ORDER = 256 * 1024
"""Octets held per direction while waiting for a missing segment."""
MAX_CONNECTIONS = 4096
SYN, FIN, RST = 0x02, 0x01, 0x04
MIN_RECORD = 2 + 4
"""A record holds at least its length field and a marker or an SPI."""


@dataclass(slots=True)
class Record:
    """One complete record read from a direction of a stream."""

    data: bytes
    """The record without its length field: marker + IKE message, or the ESP packet."""
    frame: int
    frames: tuple[int, ...]
    time: float


@dataclass(slots=True)
class _Direction:
    next_seq: int | None = None
    stream: bytearray = field(default_factory=bytearray)
    segments: deque[tuple[int, int]] = field(default_factory=deque)
    """(stream offset where the segment's octets end, frame) for octets still in `stream`."""
    consumed: int = 0
    """Stream offset of stream[0]."""
    early: dict[int, tuple[bytes, int, float]] = field(default_factory=dict)
    """Segments ahead of next_seq: seq -> (payload, frame, time)."""
    early_bytes: int = 0
    prefix_pending: bool | None = None
    """True while an 'IKETCP' prefix may still come first; None until the direction's start is known."""
    broken: bool = False
    finished: bool = False


@dataclass(slots=True)
class _Connection:
    directions: dict[tuple[bytes, int], _Direction] = field(default_factory=dict)
    initiator: tuple[bytes, int] | None = None


@dataclass(slots=True)
class StreamEvents:
    """What one segment produced."""

    records: list[Record] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _seq_delta(seq: int, reference: int) -> int:
    """seq - reference in 32-bit sequence space, as a signed number."""
    delta = (seq - reference) & 0xFFFFFFFF
    return delta - (1 << 32) if delta & 0x80000000 else delta


class TcpEncapsulation:
    def __init__(self, max_connections: int = MAX_CONNECTIONS, max_out_of_order: int = MAX_OUT_OF_ORDER) -> None:
        self.max_connections = max_connections
        self.max_out_of_order = max_out_of_order
        self._connections: dict[tuple[tuple[bytes, int], tuple[bytes, int]], _Connection] = {}

    def segment(self, src: bytes, sport: int, dst: bytes, dport: int, seq: int, flags: int, payload: bytes,
                frame: int, time: float) -> StreamEvents:
        events = StreamEvents()
        here, there = (src, sport), (dst, dport)
        key = (here, there) if here <= there else (there, here)
        connection = self._connections.get(key)
        if connection is None:
            if flags & RST:
                return events
            connection = self._connections[key] = _Connection()
            if len(self._connections) > self.max_connections:
                del self._connections[next(iter(self._connections))]
        direction = connection.directions.get(here)
        if flags & SYN and direction is not None and direction.next_seq != (seq + 1) & 0xFFFFFFFF:
            # A new connection on the same addresses and ports: forget the old one.
            connection = self._connections[key] = _Connection()
            direction = None
        if direction is None:
            direction = connection.directions[here] = _Direction()
        if flags & SYN:
            if not flags & 0x10 and connection.initiator is None:
                connection.initiator = here          # SYN without ACK: this side opened the connection
            direction.next_seq = (seq + 1) & 0xFFFFFFFF
            direction.prefix_pending = connection.initiator == here
            seq = (seq + 1) & 0xFFFFFFFF
        if payload and not direction.broken:
            self._data(direction, seq, payload, frame, time, events)
        if flags & FIN:
            direction.finished = True
        if flags & RST or all(d.finished for d in connection.directions.values()) and len(
                connection.directions) == 2:
            self._close(key, events)
        return events

    def _data(self, direction: _Direction, seq: int, payload: bytes, frame: int, time: float,
              events: StreamEvents) -> None:
        if direction.next_seq is None:
            direction.next_seq = seq                  # picked up mid-stream: trust this segment's start
        delta = _seq_delta(seq, direction.next_seq)
        if delta > 0:
            if seq not in direction.early:
                if direction.early_bytes + len(payload) > self.max_out_of_order:
                    direction.broken = True
                    events.problems.append("RFC 8229 stream lost: too much data after a missing segment")
                    return
                direction.early[seq] = (payload, frame, time)
                direction.early_bytes += len(payload)
            return
        if delta < 0:
            if -delta >= len(payload):
                return                                # all of it seen before: a retransmission
            payload = payload[-delta:]
        self._append(direction, payload, frame)
        # Segments that were early may now fit.
        while direction.early:
            waiting = [(s, _seq_delta(s, direction.next_seq)) for s in direction.early]
            fits = [(d, s) for s, d in waiting if d <= 0]
            if not fits:
                break
            _, seq_early = min(fits)
            data, early_frame, _ = direction.early.pop(seq_early)
            direction.early_bytes -= len(data)
            overlap = -_seq_delta(seq_early, direction.next_seq)
            if overlap < len(data):
                self._append(direction, data[overlap:], early_frame)
        self._records(direction, frame, time, events)

    @staticmethod
    def _append(direction: _Direction, data: bytes, frame: int) -> None:
        assert direction.next_seq is not None
        direction.stream += data
        direction.segments.append((direction.consumed + len(direction.stream), frame))
        direction.next_seq = (direction.next_seq + len(data)) & 0xFFFFFFFF

    def _records(self, direction: _Direction, frame: int, time: float, events: StreamEvents) -> None:
        stream = direction.stream
        if direction.prefix_pending is not False:
            # The initiator's stream opens with "IKETCP"; mid-stream pickups may or may not see it.
            if len(stream) < len(PREFIX) and PREFIX.startswith(bytes(stream)):
                return
            if stream.startswith(PREFIX):
                self._consume(direction, len(PREFIX))
            direction.prefix_pending = False
        while len(stream) >= 2:
            length = int.from_bytes(stream[:2], "big")
            if length < MIN_RECORD:
                direction.broken = True
                stream.clear()
                direction.segments.clear()
                events.problems.append(f"RFC 8229 stream framing broken (record length {length})")
                return
            if len(stream) < length:
                return
            frames = self._frames_of(direction, length)
            record = Record(bytes(stream[2:length]), frame, frames, time)
            self._consume(direction, length)
            events.records.append(record)

    @staticmethod
    def _frames_of(direction: _Direction, length: int) -> tuple[int, ...]:
        end = direction.consumed + length
        frames: list[int] = []
        for segment_end, segment_frame in direction.segments:
            if segment_frame not in frames:
                frames.append(segment_frame)
            if segment_end >= end:
                break
        return tuple(frames)

    @staticmethod
    def _consume(direction: _Direction, count: int) -> None:
        del direction.stream[:count]
        direction.consumed += count
        while direction.segments and direction.segments[0][0] <= direction.consumed:
            direction.segments.popleft()

    def _close(self, key: tuple[tuple[bytes, int], tuple[bytes, int]], events: StreamEvents) -> None:
        connection = self._connections.pop(key, None)
        if connection is None:
            return
        for direction in connection.directions.values():
            if direction.stream and not direction.broken:
                events.problems.append(f"RFC 8229 stream closed inside a record ({len(direction.stream)} octets "
                                       "left unread)")

    def finish(self) -> list[str]:
        """The input ended: report directions that stopped inside a record."""
        problems = []
        for connection in self._connections.values():
            for direction in connection.directions.values():
                if direction.stream and not direction.broken:
                    problems.append(f"RFC 8229 stream ends inside a record ({len(direction.stream)} octets "
                                    "left unread)")
        self._connections.clear()
        return problems
