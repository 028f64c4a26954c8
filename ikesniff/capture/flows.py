"""ESP and AH accounting: exact packet counts per (SPI, source, destination, transport, ports).

The classifier hands over, for each batch, the position of every ESP/AH packet; here they are grouped
with numpy (a 64-bit mix of the key, `np.unique`, then a check that every member of a group really has
its group's full key, with an exact fallback should two keys ever mix to the same value), so the
counts are exact and only one Python step is taken per flow and batch, not per packet. The few ESP
packets found by the scalar decoder (after IPv6 extension headers, inside RFC 8229 streams) join the
same groups.

This module knows nothing of files or of IKE.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .batches import Batch
from .classify import FLOW_AH, FLOW_TRANSPORTS, ByteView, FlowPackets
from .events import CaptureStats, EspSighting

FlowKey = tuple[int, str, str, str, int, int]
"""(spi, src, dst, transport, sport, dport)."""


class AddressNames:
    """Text forms of addresses, cached (a capture has few addresses and many packets)."""

    def __init__(self) -> None:
        self._v4: dict[int, str] = {}
        self._packed: dict[bytes, str] = {}

    def ipv4(self, value: int) -> str:
        name = self._v4.get(value)
        if name is None:
            name = self._v4[value] = socket.inet_ntoa(value.to_bytes(4, "big"))
        return name

    def packed(self, value: bytes) -> str:
        """An address as its 4 or 16 network-order octets."""
        name = self._packed.get(value)
        if name is None:
            family = socket.AF_INET if len(value) == 4 else socket.AF_INET6
            name = self._packed[value] = socket.inet_ntop(family, value)
        return name

    def ipv6(self, high: int, low: int) -> str:
        return self.packed(high.to_bytes(8, "big") + low.to_bytes(8, "big"))


@dataclass(slots=True)
class Observation:
    """One ESP/AH packet found by the scalar decoder."""

    spi: int
    src: str
    dst: str
    transport: str
    sport: int
    dport: int
    frame: int
    time: float


_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0x165667B19E3779F9),
        np.uint64(0x27D4EB2F165667C5), np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53))


def _key_columns(view: ByteView, packets: FlowPackets) -> list[npt.NDArray[np.uint64]]:
    """The full flow key of every packet as unsigned 64-bit columns."""
    network = packets.network
    v6 = packets.version == 6
    source_low = view.u32(network + 12).astype(np.uint64)
    destination_low = view.u32(network + 16).astype(np.uint64)
    zeros = np.zeros(len(network), dtype=np.uint64)
    source_high, destination_high = zeros, zeros
    if v6.any():
        source_high = np.where(v6, view.u64(network + 8), zeros)
        source_low = np.where(v6, view.u64(network + 16), source_low)
        destination_high = np.where(v6, view.u64(network + 24), zeros)
        destination_low = np.where(v6, view.u64(network + 32), destination_low)
    ports = ((packets.sport << 24) | (packets.dport << 8) | (packets.transport << 4) | packets.version)
    return [packets.spi.astype(np.uint64), source_high, source_low, destination_high, destination_low,
            ports.astype(np.uint64)]


def _group(columns: list[npt.NDArray[np.uint64]]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64],
                                                           npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(first index, last index, count, representative) per group of identical keys, groups in
    order of first appearance."""
    mixed = np.zeros(len(columns[0]), dtype=np.uint64)
    for column, factor in zip(columns, _MIX, strict=True):
        mixed = (mixed ^ column) * factor
        mixed ^= mixed >> np.uint64(29)
    _, first, inverse, counts = np.unique(mixed, return_index=True, return_inverse=True, return_counts=True)
    representative = first[inverse]
    if not all(np.array_equal(column, column[representative]) for column in columns):
        # Two different keys mixed to the same 64 bits: group on the full key instead.
        rows = np.ascontiguousarray(np.stack(columns, axis=1))
        _, first, inverse, counts = np.unique(rows.view(np.dtype((np.void, rows.shape[1] * 8))).ravel(),
                                              return_index=True, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    last = np.zeros(len(first), dtype=np.int64)
    np.maximum.at(last, inverse, np.arange(len(inverse)))
    order = np.argsort(first, kind="stable")
    return first[order], last[order], counts[order], order


class FlowAccounting:
    """Turns each batch's ESP/AH packets into sightings and keeps the totals in `stats`."""

    def __init__(self, stats: CaptureStats, names: AddressNames) -> None:
        self.stats = stats
        self.names = names

    def sightings(self, batch: Batch, view: ByteView, packets: FlowPackets,
                  observations: list[Observation]) -> list[EspSighting]:
        """ESP sightings of this batch (one per flow), in order of their first frame."""
        found: dict[FlowKey, EspSighting] = {}
        if len(packets.index):
            self._grouped(batch, view, packets, found)
        for seen in observations:
            key = (seen.spi, seen.src, seen.dst, seen.transport, seen.sport, seen.dport)
            self._add(found, key, 1, seen.frame, seen.frame, seen.time, seen.time)
        result = []
        for sighting in found.values():
            self._account(sighting)
            if sighting.transport != "ah":
                result.append(sighting)
        result.sort(key=lambda sighting: sighting.first_frame)
        return result

    def _grouped(self, batch: Batch, view: ByteView, packets: FlowPackets, found: dict[FlowKey, EspSighting]
                 ) -> None:
        columns = _key_columns(view, packets)
        first, last, counts, _ = _group(columns)
        spi, source_high, source_low, destination_high, destination_low, _ports = (
            column[first].tolist() for column in columns)
        versions = packets.version[first].tolist()
        transports = packets.transport[first].tolist()
        sports = packets.sport[first].tolist()
        dports = packets.dport[first].tolist()
        first_frames = (packets.index[first] + batch.first_frame).tolist()
        last_frames = (packets.index[last] + batch.first_frame).tolist()
        first_times = batch.times[packets.index[first]].tolist()
        last_times = batch.times[packets.index[last]].tolist()
        names = self.names
        for group, count in enumerate(counts.tolist()):
            if versions[group] == 4:
                source, destination = names.ipv4(source_low[group]), names.ipv4(destination_low[group])
            else:
                source = names.ipv6(source_high[group], source_low[group])
                destination = names.ipv6(destination_high[group], destination_low[group])
            key = (spi[group], source, destination, FLOW_TRANSPORTS[transports[group]], sports[group],
                   dports[group])
            self._add(found, key, count, first_frames[group], last_frames[group], first_times[group],
                      last_times[group])

    @staticmethod
    def _add(found: dict[FlowKey, EspSighting], key: FlowKey, count: int, first_frame: int, last_frame: int,
             first_time: float, last_time: float) -> None:
        sighting = found.get(key)
        if sighting is None:
            spi, source, destination, transport, sport, dport = key
            found[key] = EspSighting(spi, source, destination, transport, sport, dport, count, first_frame,
                                     last_frame, first_time, last_time)
            return
        sighting.packets += count
        if first_frame < sighting.first_frame:
            sighting.first_frame, sighting.first_time = first_frame, first_time
        if last_frame > sighting.last_frame:
            sighting.last_frame, sighting.last_time = last_frame, last_time

    def _account(self, sighting: EspSighting) -> None:
        stats = self.stats
        key = (sighting.spi, sighting.src, sighting.dst, sighting.transport)
        table = stats.ah_flows if sighting.transport == FLOW_TRANSPORTS[FLOW_AH] else stats.esp_flows
        total = table.get(key)
        if total is None:
            table[key] = EspSighting(sighting.spi, sighting.src, sighting.dst, sighting.transport, sighting.sport,
                                     sighting.dport, sighting.packets, sighting.first_frame, sighting.last_frame,
                                     sighting.first_time, sighting.last_time)
        else:
            total.packets += sighting.packets
            if sighting.last_frame > total.last_frame:
                total.last_frame, total.last_time = sighting.last_frame, sighting.last_time
