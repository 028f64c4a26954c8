"""One pipeline after any batch source: classify, account ESP, decode the IKE frames, keep order.

For each batch: the classifier (numpy) sorts the frames; ESP/AH packets are aggregated per flow; the
simple IKE datagrams are cut out with the positions the classifier computed; the frames needing care go
through the scalar decoder, which keeps reassembly and TCP state across batches. The events of a batch
are then handed on in frame order, ESP sightings placed by their first frame.

This module knows nothing of file formats (see `files.py`) or of IKE message syntax.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator

import numpy as np

from .batches import Batch, BatchSource, CaptureError, SourceStopped
from .classify import ByteView, IkeCandidates, PortPlan, classify
from .decode import Item, ScalarDecoder
from .events import CaptureStats, EspSighting, FrameProblem, IkeDatagram
from .flows import AddressNames, FlowAccounting

Event = IkeDatagram | EspSighting | FrameProblem | Item


class Pipeline:
    def __init__(self, stats: CaptureStats, ike_ports: frozenset[int]) -> None:
        self.stats = stats
        self.plan = PortPlan.for_ports(ike_ports)
        self.names = AddressNames()
        self.decoder = ScalarDecoder(self.plan, stats, self.names)
        self.flows = FlowAccounting(stats, self.names)
        self.last_frame = 0
        self.last_time = 0.0

    def process(self, batch: Batch) -> list[Event]:
        """The events of one batch, in frame order."""
        stats = self.stats
        count = len(batch)
        if not count:
            return []
        stats.frames += count
        stats.link_types.add(batch.link_type)
        triage = classify(batch, self.plan)
        stats.nat_keepalives += triage.keepalives
        stats.esp_packets += triage.esp_packets
        stats.esp_in_udp_packets += triage.esp_in_udp_packets
        stats.ah_packets += triage.ah_packets
        stats.ip_fragments += triage.fragments
        stats.undecodable_frames += triage.undecodable

        frames, events = self._ike_and_scalar(batch, triage.ike, triage.scalar.tolist())

        decoder = self.decoder
        last_index = count - 1
        last_frame = batch.first_frame + last_index
        last_time = float(batch.times[last_index])
        if decoder.reassembler:
            self._expire_fragments(batch, frames[-1] - batch.first_frame + 1 if frames else 0)
            frames.extend(frame for frame, _ in decoder.out)
            events.extend(event for _, event in decoder.out)
            decoder.out.clear()
        sightings = self.flows.sightings(batch, ByteView(batch.data), triage.flows, decoder.observations)
        decoder.observations.clear()
        self.last_frame, self.last_time = last_frame, last_time
        if sightings:
            events = _merge(frames, events, sightings)
        return events

    def _ike_and_scalar(self, batch: Batch, ike: IkeCandidates, scalar: list[int]) -> tuple[list[int], list[Event]]:
        """Walk the simple IKE datagrams and the scalar frames together, in frame order."""
        stats = self.stats
        names = self.names
        data = batch.data if isinstance(batch.data, bytes) else bytes(batch.data)
        first_frame = batch.first_frame
        frames: list[int] = []
        events: list[Event] = []
        fast = ike.index.tolist()
        count = len(fast)
        if count:
            stats.ike_datagrams += count
            view = ByteView(data)
            network = ike.network
            is_v4 = ike.version == 4
            sources = np.where(is_v4, view.u32(network + 12), 0).tolist()
            destinations = np.where(is_v4, view.u32(network + 16), 0).tolist()
            v4 = is_v4.tolist()
            networks = network.tolist()
            starts = ike.start.tolist()
            stops = (ike.start + np.maximum(ike.length, 0)).tolist()
            truncated = ike.truncated.tolist()
            sports = ike.sport.tolist()
            dports = ike.dport.tolist()
            transports = ["udp-encap" if flag else "udp" for flag in ike.encapsulated.tolist()]
            times = batch.times[ike.index].tolist()
        decoder = self.decoder
        out = decoder.out
        link_type = batch.link_type
        next_fast = 0
        for stop_index in [*scalar, 1 << 62]:
            while next_fast < count and fast[next_fast] < stop_index:
                j = next_fast
                next_fast += 1
                if v4[j]:
                    source, destination = names.ipv4(sources[j]), names.ipv4(destinations[j])
                else:
                    at = networks[j]
                    source, destination = names.packed(data[at + 8:at + 24]), names.packed(data[at + 24:at + 40])
                frame = first_frame + fast[j]
                frames.append(frame)
                events.append(IkeDatagram(frame, times[j], source, sports[j], destination, dports[j], transports[j],
                                          data[starts[j]:stops[j]], (), truncated[j]))
            if stop_index == 1 << 62:
                break
            frame = first_frame + stop_index
            decoder.decode(link_type, batch.packet(stop_index), frame, float(batch.times[stop_index]))
            if out:
                for frame_out, event in out:
                    frames.append(frame_out)
                    events.append(event)
                out.clear()
        return frames, events

    def _expire_fragments(self, batch: Batch, after: int) -> None:
        """Time out reassemblies whose deadline passes within this batch, at the first frame past it."""
        reassembler = self.decoder.reassembler
        times = batch.times
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

    def finish(self) -> list[Event]:
        self.decoder.finish(self.last_frame, self.last_time)
        events = [event for _, event in self.decoder.out]
        self.decoder.out.clear()
        return events


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


def read_batches(source: BatchSource, stats: CaptureStats, ike_ports: frozenset[int]) -> Iterator[Event]:
    """Every event of a batch source, in frame order (the common path of files and live capture).

    Problems met before the first frame raise CaptureError at once (before this returns)."""
    batches = source.batches()
    pipeline = Pipeline(stats, ike_ports)
    try:
        first = next(batches, None)
    except SourceStopped as stop:
        raise CaptureError(f"{source.name}: {stop.text}") from None
    return _events(source, first, batches, pipeline)


def _events(source: BatchSource, first: Batch | None, batches: Iterator[Batch], pipeline: Pipeline
            ) -> Iterator[Event]:
    stats = pipeline.stats
    stopped: SourceStopped | None = None
    if first is not None:
        yield from pipeline.process(first)
        try:
            for batch in batches:
                yield from pipeline.process(batch)
        except SourceStopped as stop:
            stopped = stop
    yield from pipeline.finish()
    if stopped is not None:
        stats.problems += 1
        frame = max(stopped.frames_read + 1, 1)
        yield FrameProblem(frame, stopped.time or pipeline.last_time, f"{source.name}: {stopped.text}")
