"""Live capture from a network interface: the same batches, the same pipeline as for files.

`LiveSource` reads with pcapy's `open_live` + `next_batch` (one C call per batch, as for files) and hands
on `Batch` objects; `read_live` runs them through `read_batches` with a sighting window of one batch, so
nothing waits for more traffic. Frame numbers count the packets captured (there is no file to agree
with). Needs root or CAP_NET_RAW.

Usage (what `ikesniff -i IFACE` does):

    source = LiveSource("eth0", bpf=capture_filter(ike_ports, extra="host 192.0.2.1"))
    for item in read_live(source, stats, ike_ports):
        ...                        # source.stop() from a signal handler or another thread ends it

This module knows nothing of IKE beyond the ports it builds the capture filter from.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pcapy  # type: ignore[import-not-found]

from .batches import Batch, CaptureError
from .events import CaptureStats
from .pipeline import Event, read_batches

DLT_TO_LINKTYPE = {12: 101, 14: 101}
"""libpcap's DLT_RAW (12, or 14 on OpenBSD) is LINKTYPE_RAW (101) in files; other values coincide."""


def capture_filter(ike_ports: frozenset[int], extra: str | None = None) -> str:
    """A BPF filter that keeps what the pipeline reads: IKE ports (UDP and TCP), ESP, AH, ICMP errors
    and IP fragments (IKE_AUTH with certificates is fragmented), IPv6 with extension headers;
    `extra` (the user's -f) is ANDed with it."""
    ports = " or ".join(f"port {port}" for port in sorted(ike_ports))
    wanted = (f"(udp and ({ports})) or (tcp and ({ports})) or esp or ah or icmp or icmp6"
              " or (ip[6:2] & 0x3fff != 0) or (ip6 and not tcp and not udp)")
    return f"({wanted}) and ({extra})" if extra else wanted


class LiveSource:
    """Batches from an interface until `stop()`, `count` packets or `duration` seconds."""

    def __init__(self, interface: str, bpf: str | None = None, snaplen: int = 262144, timeout_ms: int = 100,
                 batch_size: int = 4096, duration: float | None = None) -> None:
        self.name = interface
        try:
            self._reader = pcapy.open_live(interface, snaplen, True, timeout_ms)
        except pcapy.PcapError as error:
            raise CaptureError(f"{interface}: {str(error).strip()}") from None
        if bpf:
            try:
                self._reader.setfilter(bpf)
            except (pcapy.PcapError, pcapy.BPFError) as error:
                raise CaptureError(f"{interface}: bad capture filter: {str(error).strip()}") from None
        datalink = self._reader.datalink()
        self.link_type = DLT_TO_LINKTYPE.get(datalink, datalink)
        self.batch_size = batch_size
        self.deadline = time.monotonic() + duration if duration is not None else None
        self._stopped = False

    def stop(self) -> None:
        """End the capture after the batch being read (safe from a signal handler)."""
        self._stopped = True

    def stats(self) -> tuple[int, int, int]:
        """libpcap's (received, dropped, dropped by the interface)."""
        received, dropped, interface_dropped = self._reader.stats()
        return int(received), int(dropped), int(interface_dropped)

    def batches(self) -> Iterator[Batch]:
        frame = 1
        while not self._stopped and (self.deadline is None or time.monotonic() < self.deadline):
            try:
                data, meta = self._reader.next_batch(self.batch_size)
            except pcapy.PcapError as error:
                raise CaptureError(f"{self.name}: {str(error).strip()}") from None
            if not meta:
                continue                            # the read timed out: check stop and deadline
            rows = np.frombuffer(meta, dtype=np.uint32).reshape(-1, 4)
            yield Batch(self.link_type, data, rows[:, 2].astype(np.int64), rows[:, 3].astype(np.int64),
                        rows[:, 0] + rows[:, 1] * 1e-6, frame)
            frame += len(rows)


def read_live(source: LiveSource, stats: CaptureStats, ike_ports: frozenset[int]) -> Iterator[Event]:
    """Items from a live source in capture order, each batch's as soon as it is read."""
    return read_batches(source, stats, ike_ports, window_frames=1)
