"""One pipeline after any batch source: classify, account ESP, decode the IKE frames, keep order.

For each batch: the classifier (numpy) sorts the frames; ESP/AH packets are counted per flow; the
simple IKE datagrams are cut out with the positions the classifier computed; the frames needing care go
through the scalar decoder, which keeps reassembly and TCP state across batches.

ESP sightings are made per window of frames (WINDOW_FRAMES, or every batch for a live source): a gateway
capture has thousands of flows, and one sighting per flow per batch would cost more than all the rest.
While ESP is being counted the window's other events wait, so that everything is handed on in frame
order with each sighting placed by its first frame; with no ESP pending, events go out batch by batch.

This module knows nothing of file formats (see `files.py`) or of IKE message syntax.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .batches import Batch, BatchSource, CaptureError, SourceStopped
from .classify import ByteView, IkeCandidates, PortPlan, classify
from .decode import Item, ScalarDecoder
from .events import CaptureStats, EspSighting, FrameProblem, IkeDatagram
from .flows import AddressNames, FlowAccounting, FlowKey, WindowFlows

Event = IkeDatagram | EspSighting | FrameProblem | Item


WINDOW_FRAMES = 1 << 18
"""Frames per ESP sighting window (for files)."""
MAX_WAITING = 1 << 16
"""Events held at most while a window is open (memory bound); the window closes early past it."""


@dataclass(slots=True)
class Datagrams:
    """The simple IKE datagrams of a batch as columns; they become IkeDatagram objects only when handed
    on (in the worker's parent, when there is one)."""

    frames: list[int]
    times: list[float]
    sources: list[str]
    sports: list[int]
    destinations: list[str]
    dports: list[int]
    transports: list[str]
    data: list[bytes]
    truncated: list[bool]

    def objects(self) -> list[Event]:
        return [IkeDatagram(frame=frame, time=time, src=source, sport=sport, dst=destination, dport=dport,
                            transport=transport, data=data, truncated=truncated)
                for frame, time, source, sport, destination, dport, transport, data, truncated in zip(
                    self.frames, self.times, self.sources, self.sports, self.destinations, self.dports,
                    self.transports, self.data, self.truncated, strict=True)]

    def columns(self) -> tuple[list[Any], ...]:
        return (self.frames, self.times, self.sources, self.sports, self.destinations, self.dports, self.transports,
                self.data, self.truncated)


@dataclass(slots=True)
class Chunk:
    """What is ready to hand on: the simple datagrams (columns, per batch), the other events with their
    frames, and the ESP flows of the window it closes (if any). `events` merges them in frame order,
    each sighting placed by its first frame."""

    datagrams: list[Datagrams]
    frames: list[int]
    other: list[Event]
    flows: WindowFlows | None

    def events(self, keys: list[FlowKey]) -> list[Event]:
        if len(self.datagrams) == 1:
            frames, events = self.datagrams[0].frames, self.datagrams[0].objects()
        else:
            frames, events = [], []
            for datagrams in self.datagrams:
                frames.extend(datagrams.frames)
                events.extend(datagrams.objects())
        if self.other:
            frames, events = _merge_ordered(frames, events, self.frames, self.other)
        if self.flows is not None:
            sightings = self.flows.sightings(keys)
            if sightings:
                events = _merge(frames, events, sightings)
        return events


class Pipeline:
    def __init__(self, stats: CaptureStats, ike_ports: frozenset[int], window_frames: int = WINDOW_FRAMES) -> None:
        self.stats = stats
        self.plan = PortPlan.for_ports(ike_ports)
        self.names = AddressNames()
        self.decoder = ScalarDecoder(self.plan, stats, self.names)
        self.flows = FlowAccounting(stats, self.names)
        self.window_frames = window_frames
        self.window_first = 0
        """First frame of the open sighting window (0: no ESP counted in it yet)."""
        self.waiting_datagrams: list[Datagrams] = []
        self.waiting_count = 0
        self.waiting_frames: list[int] = []
        self.waiting: list[Event] = []
        self.last_frame = 0
        self.last_time = 0.0

    def process(self, batch: Batch) -> Chunk | None:
        """What is ready to hand on after this batch (None while a window is open)."""
        datagrams, frames, other, flow_packets = self._batch(batch)
        if flow_packets and not self.window_first:
            self.window_first = batch.first_frame
        if not self.window_first:
            # Nothing counted: nothing to wait for.
            return Chunk([datagrams] if datagrams else [], frames, other, None) if datagrams or other else None
        if datagrams:
            self.waiting_datagrams.append(datagrams)
            self.waiting_count += len(datagrams.frames)
        self.waiting_frames.extend(frames)
        self.waiting.extend(other)
        if (self.last_frame - self.window_first + 1 >= self.window_frames
                or self.waiting_count + len(self.waiting) >= MAX_WAITING):
            return self.close_window()
        return None

    def close_window(self) -> Chunk | None:
        """Everything waiting, with the window's ESP flows."""
        flows = self.flows.close()
        chunk = None
        if flows is not None or self.waiting or self.waiting_datagrams:
            chunk = Chunk(self.waiting_datagrams, self.waiting_frames, self.waiting, flows)
        self.waiting_datagrams, self.waiting_frames, self.waiting = [], [], []
        self.waiting_count = 0
        self.window_first = 0
        return chunk

    def _batch(self, batch: Batch) -> tuple[Datagrams | None, list[int], list[Event], bool]:
        """One batch: its simple datagrams, the scalar path's events with their frames (in frame order),
        and whether it had ESP/AH to count."""
        stats = self.stats
        count = len(batch)
        if not count:
            return None, [], [], False
        stats.frames += count
        stats.link_types.add(batch.link_type)
        triage = classify(batch, self.plan)
        stats.nat_keepalives += triage.keepalives
        stats.esp_packets += triage.esp_packets
        stats.esp_in_udp_packets += triage.esp_in_udp_packets
        stats.ah_packets += triage.ah_packets
        stats.ip_fragments += triage.fragments
        stats.undecodable_frames += triage.undecodable

        data = batch.data if isinstance(batch.data, bytes) else bytes(batch.data)
        view = ByteView(data)
        datagrams = self._simple_ike(batch, data, view, triage.ike)
        # The scalar frames keep state (reassembly, TCP); the simple datagrams do not, so the two are
        # made apart and merged in frame order when handed on.
        frames, events = self._scalar(batch, triage.scalar.tolist()) if len(triage.scalar) else ([], [])
        decoder = self.decoder
        last_index = count - 1
        if decoder.reassembler:
            after = int(triage.scalar[-1]) + 1 if len(triage.scalar) else 0
            self._expire_fragments(batch, after)
            frames.extend(frame for frame, _ in decoder.out)
            events.extend(event for _, event in decoder.out)
            decoder.out.clear()
        flow_packets = bool(len(triage.flows.index) or decoder.observations)
        if flow_packets:
            self.flows.add(batch, view, triage.flows, decoder.observations)
            decoder.observations.clear()
        self.last_frame, self.last_time = batch.first_frame + last_index, float(batch.times[last_index])
        return datagrams, frames, events, flow_packets

    def _simple_ike(self, batch: Batch, data: bytes, view: ByteView, ike: IkeCandidates) -> Datagrams | None:
        """The datagrams the classifier cut out, as columns: no per-packet parsing."""
        count = len(ike.index)
        if not count:
            return None
        self.stats.ike_datagrams += count
        sources, destinations = self._addresses(data, view, ike)
        starts = ike.start.tolist()
        stops = (ike.start + np.maximum(ike.length, 0)).tolist()
        return Datagrams(
            (ike.index + batch.first_frame).tolist(), batch.times[ike.index].tolist(), sources, ike.sport.tolist(),
            destinations, ike.dport.tolist(), ["udp-encap" if flag else "udp" for flag in ike.encapsulated.tolist()],
            [data[start:stop] for start, stop in zip(starts, stops, strict=True)], ike.truncated.tolist())

    def _addresses(self, data: bytes, view: ByteView, ike: IkeCandidates) -> tuple[list[str], list[str]]:
        """Source and destination address texts of the datagrams (cached: there are few addresses)."""
        network = ike.network
        # IPv4: both addresses in one 64-bit read, named through the cache by their integer value.
        words = view.u64(network + 12)
        source_ints = (words >> np.uint64(32)).tolist()
        destination_ints = (words & np.uint64(0xFFFFFFFF)).tolist()
        names = self.names
        cache = names.v4
        for value in set(source_ints).union(destination_ints).difference(cache):
            names.ipv4(value)
        sources = [cache[value] for value in source_ints]
        destinations = [cache[value] for value in destination_ints]
        v6 = np.flatnonzero(ike.version == 6)
        if len(v6):
            for at, start in zip(v6.tolist(), network[v6].tolist(), strict=True):
                sources[at] = names.packed(data[start + 8:start + 24])
                destinations[at] = names.packed(data[start + 24:start + 40])
        return sources, destinations

    def _scalar(self, batch: Batch, scalar: list[int]) -> tuple[list[int], list[Event]]:
        decoder = self.decoder
        out = decoder.out
        frames: list[int] = []
        events: list[Event] = []
        data = batch.data
        starts = batch.offsets[scalar].tolist()
        stops = (batch.offsets[scalar] + batch.lengths[scalar]).tolist()
        times = batch.times[scalar].tolist()
        link_type, first_frame = batch.link_type, batch.first_frame
        after = 0
        for index, start, stop, time in zip(scalar, starts, stops, times, strict=True):
            if decoder.reassembler:
                # Time passed since the last scalar frame may have run a reassembly out.
                self._expire_fragments(batch, after, index + 1)
            decoder.decode(link_type, bytes(data[start:stop]), first_frame + index, time)
            after = index + 1
            if out:
                for frame, event in out:
                    frames.append(frame)
                    events.append(event)
                out.clear()
        return frames, events

    def _expire_fragments(self, batch: Batch, after: int, until: int | None = None) -> None:
        """Time out reassemblies whose deadline passes between frames `after` and `until` (batch
        indexes), each at the first frame past its deadline."""
        reassembler = self.decoder.reassembler
        times = batch.times[:until]
        while reassembler:
            deadline = reassembler.oldest_deadline
            assert deadline is not None
            late = np.flatnonzero(times[after:] > deadline)
            if not len(late):
                return
            index = after + int(late[0])
            reassembler.expire(float(times[index]))
            self.decoder.drain_given_up(batch.first_frame + index, float(times[index]))
            after = index

    def finish(self) -> list[Chunk]:
        chunks = []
        last = self.close_window()
        if last is not None:
            chunks.append(last)
        self.decoder.finish(self.last_frame, self.last_time)
        if self.decoder.out:
            chunks.append(Chunk([], [frame for frame, _ in self.decoder.out],
                                [event for _, event in self.decoder.out], None))
            self.decoder.out.clear()
        return chunks


def _merge_ordered(frames: list[int], events: list[Event], other_frames: list[int], other_events: list[Event]
                   ) -> tuple[list[int], list[Event]]:
    """Merge two frame-ordered lists (the second usually short), keeping the first's order on ties."""
    if not frames:
        return other_frames, other_events
    merged_frames: list[int] = []
    merged: list[Event] = []
    position = 0
    for frame, event in zip(other_frames, other_events, strict=True):
        cut = bisect_right(frames, frame, position)
        merged_frames.extend(frames[position:cut])
        merged.extend(events[position:cut])
        merged_frames.append(frame)
        merged.append(event)
        position = cut
    merged_frames.extend(frames[position:])
    merged.extend(events[position:])
    return merged_frames, merged


def _merge(frames: list[int], events: list[Event], sightings: list[EspSighting]) -> list[Event]:
    """Place each sighting after the events of frames up to its first frame."""
    merged: list[Event] = []
    position = 0
    for sighting in sightings:
        cut = bisect_right(frames, sighting.first_frame, position)
        merged.extend(events[position:cut])
        merged.append(sighting)
        position = cut
    merged.extend(events[position:])
    return merged


def chunks(source: BatchSource, stats: CaptureStats, ike_ports: frozenset[int],
           window_frames: int | None = None) -> tuple[Pipeline, Iterator[Chunk]]:
    """The pipeline over a batch source and its chunks in frame order (the worker ships these).

    Problems met before the first frame raise CaptureError at once (before this returns)."""
    batches = source.batches()
    pipeline = Pipeline(stats, ike_ports, WINDOW_FRAMES if window_frames is None else window_frames)
    try:
        first = next(batches, None)
    except SourceStopped as stop:
        raise CaptureError(f"{source.name}: {stop.text}") from None
    return pipeline, _chunks(source, first, batches, pipeline)


def _chunks(source: BatchSource, first: Batch | None, batches: Iterator[Batch], pipeline: Pipeline
            ) -> Iterator[Chunk]:
    stopped: SourceStopped | None = None
    if first is not None:
        chunk = pipeline.process(first)
        if chunk is not None:
            yield chunk
        try:
            for batch in batches:
                chunk = pipeline.process(batch)
                if chunk is not None:
                    yield chunk
        except SourceStopped as stop:
            stopped = stop
    yield from pipeline.finish()
    if stopped is not None:
        pipeline.stats.problems += 1
        frame = max(stopped.frames_read + 1, 1)
        problem = FrameProblem(frame, stopped.time or pipeline.last_time, f"{source.name}: {stopped.text}",
                               ends_capture=True)
        yield Chunk([], [frame], [problem], None)


def read_batches(source: BatchSource, stats: CaptureStats, ike_ports: frozenset[int],
                 window_frames: int | None = None) -> Iterator[Event]:
    """Every event of a batch source, in frame order (the common path of files and live capture;
    a live source passes window_frames=1 so that nothing waits beyond its batch).

    Problems met before the first frame raise CaptureError at once (before this returns)."""
    pipeline, produced = chunks(source, stats, ike_ports, window_frames)
    return _events(pipeline.flows.keys, produced)


def _events(keys: list[FlowKey], produced: Iterator[Chunk]) -> Iterator[Event]:
    for chunk in produced:
        yield from chunk.events(keys)
