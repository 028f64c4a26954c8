"""ESP and AH accounting: exact packet counts per (SPI, source, destination, transport, ports).

The classifier hands over, for each batch, the position of every ESP/AH packet. Counting them must not
cost a Python step per packet, and a busy gateway has thousands of flows, so:

* each flow gets a small integer id; a table of the flows seen so far, sorted by SPI, matches most
  packets of a batch with one binary search and a comparison of their whole key (exact: a packet
  only counts for a flow whose every key field it equals); packets of new flows are grouped exactly
  (`np.unique` over their full keys) and added to the table;
* per id, packet counts and first/last frame and time are accumulated in arrays over a window of
  frames (`bincount`, `minimum.at`, `maximum.at`), and when the window closes each flow seen in it
  becomes one `EspSighting`. The pipeline holds the window's other events meanwhile and hands
  everything on in frame order, so a sighting is placed by its first frame.

The few ESP/AH packets found by the scalar decoder (after IPv6 extension headers, inside RFC 8229
streams) join through the same ids. Memory is bounded: at most MAX_FLOWS flows are told apart (the
packets of further new flows are counted in `stats.untracked_flow_packets` only).

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

MAX_FLOWS = 1 << 16


class AddressNames:
    """Text forms of addresses, cached (a capture has few addresses and many packets)."""

    def __init__(self) -> None:
        self.v4: dict[int, str] = {}
        """IPv4 addresses by their 32-bit value."""
        self._packed: dict[bytes, str] = {}

    def ipv4(self, value: int) -> str:
        name = self.v4.get(value)
        if name is None:
            name = self.v4[value] = socket.inet_ntoa(value.to_bytes(4, "big"))
        return name

    def packed(self, value: bytes) -> str:
        """An address as its 4 or 16 network-order octets."""
        name = self._packed.get(value)
        if name is None:
            family = socket.AF_INET if len(value) == 4 else socket.AF_INET6
            name = self._packed[value] = socket.inet_ntop(family, value)
        return name


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


KEY_WORDS = 6


def _key_columns(view: ByteView, packets: FlowPackets) -> tuple[npt.NDArray[np.uint64], bool]:
    """The full flow key of every packet as six unsigned 64-bit words (one contiguous array per word):
    (SPI, ports), (transport, version), then the addresses: IPv4 source and destination in one word
    (one read: they are adjacent in the header), IPv6 in four words. Also: any IPv6 at all?"""
    network = packets.network
    keys = np.zeros((KEY_WORDS, len(network)), dtype=np.uint64)
    keys[0] = ((packets.spi.astype(np.uint64) << np.uint64(32)) | (packets.sport.astype(np.uint64) << np.uint64(16))
               | packets.dport.astype(np.uint64))
    keys[1] = ((packets.transport << 8) | packets.version).astype(np.uint64)
    keys[2] = view.u64(network + 12)
    v6 = np.flatnonzero(packets.version == 6)
    if len(v6):
        at = network[v6]
        for word in range(4):
            keys[2 + word, v6] = view.u64(at + 8 + 8 * word)
    return keys, bool(len(v6))


def _exact_groups(keys: npt.NDArray[np.uint64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(first packet of each group of identical keys, group of every packet)."""
    rows = np.ascontiguousarray(keys.T).view(np.dtype((np.void, KEY_WORDS * 8))).ravel()
    _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    return first, inverse.ravel()


class _KnownFlows:
    """Keys of the flows seen so far, found through a hash of the key.

    A flow sits in the first free of PROBES consecutive slots from its key's hash (linear probing,
    a table at most 1/8 full). A candidate counts only when its whole key equals the packet's, so
    a full neighbourhood can only send a packet to the exact (slower) path, never to a wrong flow."""

    PROBES = 4

    def __init__(self) -> None:
        self.keys = np.zeros((KEY_WORDS, 0), dtype=np.uint64)
        self.bits = 10
        self.slots = np.full((1 << self.bits) + self.PROBES, -1, dtype=np.int64)

    def _hash(self, keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        """A slot number per key, from the SPI and ports word and the (first) address word."""
        mixed = keys[0] * np.uint64(0x9E3779B97F4A7C15) ^ keys[2] * np.uint64(0xC2B2AE3D27D4EB4F)
        mixed ^= mixed >> np.uint64(31)
        slots: npt.NDArray[np.int64] = ((mixed * np.uint64(0x165667B19E3779F9))
                                        >> np.uint64(64 - self.bits)).astype(np.int64)
        return slots

    def _equal(self, ids: npt.NDArray[np.int64], keys: npt.NDArray[np.uint64], wide: bool) -> npt.NDArray[np.bool_]:
        known = self.keys
        safe = np.maximum(ids, 0)
        equal: npt.NDArray[np.bool_] = ((ids >= 0) & (known[0][safe] == keys[0]) & (known[1][safe] == keys[1])
                                        & (known[2][safe] == keys[2]))
        if wide:                                     # the IPv6 address words (zero for IPv4 on both sides)
            for word in range(3, KEY_WORDS):
                equal &= known[word][safe] == keys[word]
        return equal

    def match(self, keys: npt.NDArray[np.uint64], wide: bool) -> npt.NDArray[np.int64]:
        """The id of each packet's flow, or -1 where its key is not (exactly) a known flow's."""
        count = keys.shape[1]
        ids = np.full(count, -1, dtype=np.int64)
        if not self.keys.shape[1]:
            return ids
        slot = self._hash(keys)
        candidate = self.slots[slot]
        found = self._equal(candidate, keys, wide)
        ids[found] = candidate[found]
        missed = np.flatnonzero(~found)
        for probe in range(1, self.PROBES):
            if not len(missed):
                break
            candidate = self.slots[slot[missed] + probe]
            found = self._equal(candidate, keys[:, missed], wide)
            ids[missed[found]] = candidate[found]
            missed = missed[~found]
        return ids

    def add(self, keys: npt.NDArray[np.uint64], ids: npt.NDArray[np.int64]) -> None:
        """Remember flows `ids` (new ids, or ids already known) by their keys."""
        size = int(ids.max()) + 1 if len(ids) else 0
        if size > self.keys.shape[1]:
            grown = np.zeros((KEY_WORDS, max(size, 2 * self.keys.shape[1])), dtype=np.uint64)
            grown[:, :self.keys.shape[1]] = self.keys
            self.keys = grown
        self.keys[:, ids] = keys
        if 8 * size > (1 << self.bits):
            while 8 * size > (1 << self.bits):
                self.bits += 1
            self.slots = np.full((1 << self.bits) + self.PROBES, -1, dtype=np.int64)
            self._place(np.arange(size, dtype=np.int64))
        else:
            self._place(ids)

    def _place(self, ids: npt.NDArray[np.int64]) -> None:
        slots = self.slots.tolist()
        for flow, slot in zip(ids.tolist(), self._hash(self.keys[:, ids]).tolist(), strict=True):
            for probe in range(slot, slot + self.PROBES):
                if slots[probe] < 0 or slots[probe] == flow:
                    slots[probe] = flow
                    break
            # else: the neighbourhood is full; this flow's packets take the exact path, still exact.
        self.slots = np.array(slots, dtype=np.int64)


class FlowAccounting:
    """Accumulates ESP/AH packets per flow over a window; `close` turns the window into sightings and
    adds it to the totals in `stats`."""

    def __init__(self, stats: CaptureStats, names: AddressNames) -> None:
        self.stats = stats
        self.names = names
        self.account = True
        """Bring `stats.esp_flows`/`ah_flows` up to date at each window (a worker leaves it to its parent)."""
        self.known = _KnownFlows()
        self.keys: list[FlowKey] = []
        self.ids: dict[FlowKey, int] = {}
        size = 64
        self.count = np.zeros(size, dtype=np.int64)
        self.first_frame = np.zeros(size, dtype=np.int64)
        self.last_frame = np.zeros(size, dtype=np.int64)
        self.first_time = np.zeros(size, dtype=np.float64)
        self.last_time = np.zeros(size, dtype=np.float64)

    def _id(self, key: FlowKey) -> int:
        """The id of a flow, a new one for a new flow (-1 when no more flows can be told apart)."""
        flow = self.ids.get(key)
        if flow is None:
            if len(self.keys) >= MAX_FLOWS:
                return -1
            flow = self.ids[key] = len(self.keys)
            self.keys.append(key)
            if flow >= len(self.count):
                grow = len(self.count)
                self.count = np.concatenate((self.count, np.zeros(grow, dtype=np.int64)))
                self.first_frame = np.concatenate((self.first_frame, np.zeros(grow, dtype=np.int64)))
                self.last_frame = np.concatenate((self.last_frame, np.zeros(grow, dtype=np.int64)))
                self.first_time = np.concatenate((self.first_time, np.zeros(grow, dtype=np.float64)))
                self.last_time = np.concatenate((self.last_time, np.zeros(grow, dtype=np.float64)))
        return flow

    def add(self, batch: Batch, view: ByteView, packets: FlowPackets, observations: list[Observation]) -> None:
        """Count a batch's flow packets (and the scalar decoder's observations) into the window."""
        if len(packets.index):
            keys, wide = _key_columns(view, packets)
            ids = self.known.match(keys, wide)
            new_at = np.flatnonzero(ids < 0)
            if len(new_at):
                # New flows: group them exactly, name them, and remember them for the next batches.
                first_rows, group = _exact_groups(keys[:, new_at])
                new_ids = np.array([self._id(key) for key in self._keys(view, packets, new_at[first_rows])],
                                   dtype=np.int64)
                ids[new_at] = new_ids[group]
                kept = np.flatnonzero(new_ids >= 0)
                self.known.add(keys[:, new_at[first_rows[kept]]], new_ids[kept])
                tracked = np.flatnonzero(ids >= 0)
                self.stats.untracked_flow_packets += len(ids) - len(tracked)
                self._accumulate(ids[tracked], packets.index[tracked], batch)
            else:
                self._accumulate(ids, packets.index, batch)
        for seen in observations:
            flow = self._id((seen.spi, seen.src, seen.dst, seen.transport, seen.sport, seen.dport))
            if flow < 0:
                self.stats.untracked_flow_packets += 1
                continue
            if not self.count[flow]:
                self.first_frame[flow], self.first_time[flow] = seen.frame, seen.time
            self.count[flow] += 1
            if seen.frame >= self.last_frame[flow]:
                self.last_frame[flow], self.last_time[flow] = seen.frame, seen.time

    def _accumulate(self, ids: npt.NDArray[np.int64], index: npt.NDArray[np.int64], batch: Batch) -> None:
        flows = len(self.keys)
        counts = np.bincount(ids, minlength=flows)
        present = np.flatnonzero(counts)
        first = np.full(flows, len(batch), dtype=np.int64)
        last = np.full(flows, -1, dtype=np.int64)
        np.minimum.at(first, ids, index)
        np.maximum.at(last, ids, index)
        # Batches come in frame order: a flow's first packet in the window is in the first batch it shows in.
        fresh = present[self.count[present] == 0]
        self.first_frame[fresh] = first[fresh] + batch.first_frame
        self.first_time[fresh] = batch.times[first[fresh]]
        last_index = last[present]
        later = (last_index + batch.first_frame) >= self.last_frame[present]
        update = present[later]
        self.last_frame[update] = last[update] + batch.first_frame
        self.last_time[update] = batch.times[last[update]]
        self.count[present] += counts[present]

    def _keys(self, view: ByteView, packets: FlowPackets, at: npt.NDArray[np.int64]) -> list[FlowKey]:
        """The flow keys of packets `at` (of the batch's flow packets), addresses as text."""
        data = bytes(view.data) if not isinstance(view.data, bytes) else view.data
        packed = self.names.packed
        keys = []
        for network, version, spi, transport, sport, dport in zip(
                packets.network[at].tolist(), packets.version[at].tolist(), packets.spi[at].tolist(),
                packets.transport[at].tolist(), packets.sport[at].tolist(), packets.dport[at].tolist(), strict=True):
            if version == 4:
                source, destination = packed(data[network + 12:network + 16]), packed(data[network + 16:network + 20])
            else:
                source, destination = packed(data[network + 8:network + 24]), packed(data[network + 24:network + 40])
            keys.append((spi, source, destination, FLOW_TRANSPORTS[transport], sport, dport))
        return keys

    def close(self) -> WindowFlows | None:
        """Close the window: its flows as columns in order of first frame (None if there were none).
        The totals in `stats` are brought up to date."""
        present = np.flatnonzero(self.count[:len(self.keys)])
        if not len(present):
            return None
        present = present[np.argsort(self.first_frame[present], kind="stable")]
        window = WindowFlows(present, self.count[present], self.first_frame[present], self.last_frame[present],
                             self.first_time[present], self.last_time[present])
        self.count[present] = 0
        if self.account:
            account(self.stats, window, self.keys)
        return window


def account(stats: CaptureStats, window: WindowFlows, keys: list[FlowKey]) -> None:
    """Add a window's flows to the totals in `stats.esp_flows` and `stats.ah_flows`."""
    for flow, count, first_frame, last_frame, first_time, last_time in zip(
            window.ids.tolist(), window.packets.tolist(), window.first_frame.tolist(), window.last_frame.tolist(),
            window.first_time.tolist(), window.last_time.tolist(), strict=True):
        spi, source, destination, transport, sport, dport = keys[flow]
        table = stats.ah_flows if transport == AH else stats.esp_flows
        key = (spi, source, destination, transport)
        total = table.get(key)
        if total is None:
            table[key] = EspSighting(spi, source, destination, transport, sport, dport, count, first_frame,
                                     last_frame, first_time, last_time)
        else:
            total.packets += count
            if last_frame > total.last_frame:
                total.last_frame, total.last_time = last_frame, last_time


AH = FLOW_TRANSPORTS[FLOW_AH]


@dataclass(slots=True)
class WindowFlows:
    """The flows seen in one window, as columns (in order of first frame): what becomes sightings."""

    ids: npt.NDArray[np.int64]
    packets: npt.NDArray[np.int64]
    first_frame: npt.NDArray[np.int64]
    last_frame: npt.NDArray[np.int64]
    first_time: npt.NDArray[np.float64]
    last_time: npt.NDArray[np.float64]

    def sightings(self, keys: list[FlowKey]) -> list[EspSighting]:
        """One EspSighting per ESP flow (AH is counted in the stats only), in order of first frame."""
        result = []
        for flow, count, first_frame, last_frame, first_time, last_time in zip(
                self.ids.tolist(), self.packets.tolist(), self.first_frame.tolist(), self.last_frame.tolist(),
                self.first_time.tolist(), self.last_time.tolist(), strict=True):
            spi, source, destination, transport, sport, dport = keys[flow]
            if transport != AH:
                result.append(EspSighting(spi, source, destination, transport, sport, dport, count, first_frame,
                                          last_frame, first_time, last_time))
        return result

    def columns(self) -> tuple[bytes, ...]:
        return tuple(column.tobytes() for column in (self.ids, self.packets, self.first_frame, self.last_frame,
                                                      self.first_time, self.last_time))

    @classmethod
    def from_columns(cls, data: tuple[bytes, ...]) -> WindowFlows:
        ids, packets, first_frame, last_frame = (np.frombuffer(part, dtype=np.int64) for part in data[:4])
        first_time, last_time = (np.frombuffer(part, dtype=np.float64) for part in data[4:])
        return cls(ids, packets, first_frame, last_frame, first_time, last_time)
