"""Live capture from a network interface: the same batches, the same pipeline as for files.

Theory of operation. A gateway's interface carries mostly ESP; the IKE packets that matter are few.
The kernel does the triage: two libpcap handles are opened on the interface, each with a BPF filter
that runs in the kernel, so nothing else is ever copied to this process.

* the IKE handle keeps whole packets: UDP and TCP on the IKE ports (but not ESP-in-UDP), IP fragments
  (an IKE_AUTH with certificates is fragmented, and only the first fragment carries the ports), IPv6
  packets with extension headers, and ICMP/ICMPv6 errors (they may quote an IKE packet);
* the ESP handle keeps only the first SNAPLEN_ESP octets (link, IP and UDP headers, SPI and sequence
  number) of ESP, AH and ESP-in-UDP (UDP 4500 whose first four payload octets are not the zero
  non-ESP marker, not fragmented): enough to count each SA's packets for data-plane liveness.

The ESP filter is exact and the IKE filter excludes it (`ike_filter` is "wanted and not ESP"), so no
packet is read twice. The user's `-f` is ANDed with both. The handles are non-blocking and read
together in one thread: `select` on both descriptors (and a wake-up pipe for `stop()`), then one
`next_batch` per handle; what both returned becomes one Batch in timestamp order. Frame numbers are
the running count of packets read (there is no file to agree with). Packets reach this process in
the kernel's ring blocks, at the latest TIMEOUT_MS after they were captured; two handles' blocks are
merged as they come, so an ESP packet and an IKE packet captured within that time of each other may
be numbered in the other order. A snapped ESP packet has fewer octets captured than it had on the
wire: the classifier needs only its SPI, so it is counted as ESP and never reported as truncated.

`read_live` runs the batches through the same `Pipeline` as files, with a sighting window of one
batch (nothing waits for more traffic), and yields `Idle(time)` whenever it has handed on nothing for
IDLE_AFTER seconds, so that its caller can refresh its view and judge timeouts on a silent link.

Usage (what `ikesniff -i IFACE` does):

    source = LiveSource("eth0", ike_ports=ports, extra_filter="host 192.0.2.1", duration=60)
    drop_privileges("nobody")               # ikesniff/privileges.py: the handles stay open
    for item in read_live(source, stats, ports):
        ...                                 # IkeDatagram | EspSighting | IcmpError | FrameProblem | Idle
    received, dropped, interface_dropped = source.stats()

`source.stop()` (from a signal handler or another thread) ends `read_live` promptly; so do the
duration and the caller leaving the loop. Needs root or CAP_NET_RAW to open, not to read.

This module knows nothing of IKE beyond the ports it builds the capture filters from.
"""

from __future__ import annotations

import os
import select
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any, NamedTuple, Self

import numpy as np

from .batches import Batch, CaptureError
from .events import CaptureStats, Idle
from .pipeline import Event, Pipeline

SNAPLEN_IKE = 262144
SNAPLEN_ESP = 128
"""Ethernet with two VLAN tags (22) or Linux cooked v2 (20), IPv6 (40), UDP (8), SPI and sequence
number (8) fit, with room to spare."""
BUFFER_IKE = 16 << 20
BUFFER_ESP = 8 << 20
"""Kernel ring sizes (libpcap's default is 2 MiB): a burst of IKE at tens of thousands of packets a
second waits there while the analysis catches up."""
TIMEOUT_MS = 100
"""libpcap's packet buffer timeout: the longest a captured packet waits in the kernel."""
BATCH = 4096
"""Packets per read of one handle, at most."""
IDLE_AFTER = 0.5
"""Seconds without anything handed on after which `read_live` yields an `Idle` tick."""

# libpcap's pcap_activate() results (pcap/pcap.h)
PCAP_ERROR, PCAP_ERROR_NO_SUCH_DEVICE, PCAP_ERROR_PERM_DENIED = -1, -5, -8
PCAP_ERROR_IFACE_NOT_UP, PCAP_ERROR_PROMISC_PERM_DENIED = -9, -11

LINKTYPE_ETHERNET = 1
DLT_TO_LINKTYPE = {12: 101, 14: 101}
"""libpcap's DLT_RAW (12, or 14 on OpenBSD) is LINKTYPE_RAW (101) in files; other values coincide."""

IPV6_EXTENSION_HEADERS = (0, 43, 44, 60, 135, 139, 140, 253, 254)
"""Next-header values behind which a UDP or TCP header hides (fragment header 44 included)."""


def _pcapy() -> ModuleType:
    """pcapy, imported when a capture is opened (so that the message for a missing libpcap is ours)."""
    try:
        import pcapy  # type: ignore[import-not-found]
    except ImportError as error:
        raise CaptureError(f"live capture needs libpcap through the Python package pcapy-ng, which cannot be "
                           f"loaded ({error}); reinstall ikesniff with its dependencies") from None
    module: ModuleType = pcapy
    return module


# --- capture filters ------------------------------------------------------------------------------------
def esp_filter(ike_ports: frozenset[int]) -> str:
    """ESP, AH and ESP-in-UDP as the classifier reads them: UDP 4500 (unless a lower IKE port on the
    other side makes it plain ISAKMP, as Wireshark decides) with a payload of four octets or more whose
    first four are not zero, unfragmented. (`udp[...]` reads IPv4 only: IPv6 is spelled out.)"""
    parts = ["esp", "ah"]
    if 4500 in ike_ports:
        lower = sorted(port for port in ike_ports if port < 4500)
        not_lower = "".join(f" and not udp port {port}" for port in lower)
        parts.append(f"(ip and udp port 4500{not_lower} and ip[6:2] & 0x3fff = 0"
                     " and udp[4:2] >= 12 and udp[8:4] != 0)")
        parts.append(f"(ip6 and ip6[6] = 17 and udp port 4500{not_lower}"
                     " and ip6[44:2] >= 12 and ip6[48:4] != 0)")
    return " or ".join(parts)


def wanted_filter(ike_ports: frozenset[int]) -> str:
    """Everything the pipeline reads (ESP included): IKE ports on UDP and TCP, ICMP errors, IPv4
    fragments, IPv6 with extension headers (fragments included)."""
    ports = " or ".join(f"port {port}" for port in sorted(ike_ports))
    extensions = " or ".join(f"ip6[6] = {header}" for header in IPV6_EXTENSION_HEADERS)
    return (f"((udp or tcp) and ({ports}))"
            " or (icmp and (icmp[0] = 3 or icmp[0] = 11))"
            " or (ip6 and ip6[6] = 58 and (ip6[40] = 1 or ip6[40] = 2 or ip6[40] = 3))"
            " or (ip and ip[6:2] & 0x3fff != 0)"
            f" or (ip6 and ({extensions}))")


def ike_filter(ike_ports: frozenset[int], extra: str | None = None,
               link_type: int = LINKTYPE_ETHERNET) -> str:
    """The IKE handle's filter: what the pipeline reads, except what the ESP handle takes."""
    wanted = f"({wanted_filter(ike_ports)}) and not ({esp_filter(ike_ports)})"
    return _with_vlans(_and(wanted, extra), link_type)


def esp_handle_filter(ike_ports: frozenset[int], extra: str | None = None,
                      link_type: int = LINKTYPE_ETHERNET) -> str:
    """The ESP handle's filter (snapped short)."""
    return _with_vlans(_and(esp_filter(ike_ports), extra), link_type)


def _with_vlans(text: str, link_type: int) -> str:
    """On Ethernet, the same behind one or two VLAN tags that are still in the frame. (Linux moves a
    received frame's outer tag out of the data, where the plain filter already sees through it; an
    inner QinQ tag, and the tags of frames sent by a device without VLAN offload, stay. Each `vlan`
    moves the filter's offsets by four octets for what follows it, hence the nesting.)"""
    if link_type != LINKTYPE_ETHERNET:
        return text                              # libpcap has no `vlan` for the other link types
    return f"({text}) or (vlan and (({text}) or (vlan and ({text}))))"


class CaptureFilter(str):
    """What to capture: as a string, one filter for everything the pipeline reads (ESP included), for a
    single full-size handle or a tcpdump command line; it also keeps the IKE ports and the user's extra
    filter, from which `LiveSource` builds its two handles' filters."""

    ike_ports: frozenset[int]
    extra: str | None

    def __new__(cls, ike_ports: frozenset[int], extra: str | None = None) -> Self:
        self = super().__new__(cls, _and(f"{wanted_filter(ike_ports)} or {esp_filter(ike_ports)}", extra))
        self.ike_ports = frozenset(ike_ports)
        self.extra = extra
        return self


def capture_filter(ike_ports: frozenset[int], extra: str | None = None) -> CaptureFilter:
    """The capture filter for `ike_ports`, `extra` (the user's -f) ANDed with it (see CaptureFilter)."""
    return CaptureFilter(ike_ports, extra)


def _and(text: str, extra: str | None) -> str:
    return f"({text}) and ({extra})" if extra else text


# --- the source -----------------------------------------------------------------------------------------
class KernelStats(NamedTuple):
    """libpcap's counters, summed over the handles."""

    received: int
    """Packets that passed a capture filter (dropped ones included)."""
    dropped: int
    """Packets the kernel dropped because its ring was full (this process did not keep up)."""
    interface_dropped: int
    """Packets the interface or its driver dropped (as libpcap reports them; the largest of the handles')."""


@dataclass(slots=True)
class _Handle:
    role: str
    reader: Any
    fd: int
    link_type: int


class LiveSource:
    """Batches from an interface until `stop()` or `duration` seconds after opening.

    `LiveSource(interface, ike_ports=..., extra_filter=...)` opens the two handles described above, and
    so does `LiveSource(interface, bpf=capture_filter(ports, extra))`; `LiveSource(interface, bpf=TEXT)`
    with a filter of the caller's own opens one full-size handle. Raises CaptureError (one line) when
    the interface cannot be captured on."""

    def __init__(self, interface: str, bpf: str | CaptureFilter | None = None, *, ike_ports: frozenset[int] | None = None,
                 extra_filter: str | None = None, duration: float | None = None, snaplen: int = SNAPLEN_IKE,
                 timeout_ms: int = TIMEOUT_MS, batch_size: int = BATCH, buffer_bytes: int = BUFFER_IKE,
                 esp_buffer_bytes: int = BUFFER_ESP) -> None:
        if bpf is not None and ike_ports is not None:
            raise ValueError("give a filter (bpf) or the IKE ports, not both")
        if isinstance(bpf, CaptureFilter):
            ike_ports, extra_filter = bpf.ike_ports, bpf.extra
            bpf = None
        self.name = interface
        self.batch_size = batch_size
        self.deadline = time.monotonic() + duration if duration is not None else None
        self._stopped = False
        self._handles: list[_Handle] = []
        self._last_stats = KernelStats(0, 0, 0)
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        try:
            if ike_ports is None:
                self._add("ike", lambda _: bpf, None, snaplen, timeout_ms, buffer_bytes)
            else:
                ports = ike_ports
                self._add("ike", lambda link: ike_filter(ports, extra_filter, link), extra_filter, snaplen,
                          timeout_ms, buffer_bytes)
                self._add("esp", lambda link: esp_handle_filter(ports, extra_filter, link), extra_filter,
                          SNAPLEN_ESP, timeout_ms, esp_buffer_bytes)
        except BaseException:
            self.close()
            raise
        self.link_type = self._handles[0].link_type

    def _add(self, role: str, make_filter: Callable[[int], str | None], extra: str | None, snaplen: int,
             timeout_ms: int, buffer_bytes: int) -> None:
        pcapy = _pcapy()
        reader = _activate(pcapy, self.name, snaplen, timeout_ms, buffer_bytes)
        datalink = reader.datalink()
        link_type = DLT_TO_LINKTYPE.get(datalink, datalink)
        bpf = make_filter(link_type)
        if bpf:
            try:
                reader.setfilter(bpf)
            except (pcapy.PcapError, pcapy.BPFError) as error:
                text = str(error).strip()
                wrong = f"-f {extra!r}" if extra else "capture filter"
                raise CaptureError(f"{self.name}: bad capture filter ({wrong}: {text})") from None
        reader.setnonblock(1)
        self._handles.append(_Handle(role, reader, reader.getfd(), link_type))

    @property
    def stopped(self) -> bool:
        return self._stopped

    def stop(self) -> None:
        """End the capture promptly (safe from a signal handler or another thread)."""
        self._stopped = True
        try:
            os.write(self._wake_write, b"x")
        except OSError:
            pass                                  # the pipe is full (already woken) or closed

    def stats(self) -> KernelStats:
        """libpcap's (received, dropped, dropped by the interface), summed over the handles (the last
        values read when the source is closed)."""
        if not self._handles:
            return self._last_stats
        received = dropped = interface_dropped = 0
        for handle in self._handles:
            try:
                handle_received, handle_dropped, handle_interface = handle.reader.stats()
            except Exception:  # noqa: BLE001 - a handle that cannot say keeps its last counts
                return self._last_stats
            received += int(handle_received)
            dropped += int(handle_dropped)
            interface_dropped = max(interface_dropped, int(handle_interface))  # same interface: not summed
        self._last_stats = KernelStats(received, dropped, interface_dropped)
        return self._last_stats

    def close(self) -> None:
        """Close the handles (the counters stay readable through `stats()`)."""
        if self._handles:
            self.stats()
        for handle in self._handles:
            try:
                handle.reader.close()
            except Exception:  # noqa: BLE001,S110 - closing what may already be gone
                pass
        self._handles.clear()
        for fd in (self._wake_read, self._wake_write):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._wake_read = self._wake_write = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def batches(self) -> Iterator[Batch]:
        """Batches in capture order until stopped (the BatchSource protocol; no idle wake-ups)."""
        for batch in self.poll():
            if batch is not None:
                yield batch

    def poll(self, wake_every: float = IDLE_AFTER / 2) -> Iterator[Batch | None]:
        """A Batch whenever packets came, None when `wake_every` seconds passed without any; ends when
        stopped or at the deadline."""
        handles = list(self._handles)
        descriptors = [handle.fd for handle in handles] + [self._wake_read]
        frame = 1
        more = False                                # a handle filled its batch: read again at once
        while not self._stopped:
            now = time.monotonic()
            if self.deadline is not None and now >= self.deadline:
                return
            if not more:
                timeout = wake_every if self.deadline is None else min(wake_every, self.deadline - now)
                select.select(descriptors, [], [], max(timeout, 0.0))
                if self._stopped:
                    return
            more = False
            parts: list[tuple[bytes, bytes]] = []
            for handle in handles:
                try:
                    data, meta = handle.reader.next_batch(self.batch_size)
                except Exception as error:  # noqa: BLE001 - pcapy.PcapError, whose class is pcapy's
                    raise CaptureError(f"{self.name}: capture failed: {str(error).strip()}") from None
                if meta:
                    parts.append((data, meta))
                    more = more or len(meta) >= 16 * self.batch_size
            if not parts:
                yield None
                continue
            batch = _merge(parts, self.link_type, frame)
            frame += len(batch)
            yield batch


def _activate(pcapy: ModuleType, interface: str, snaplen: int, timeout_ms: int, buffer_bytes: int) -> Any:
    """An activated libpcap handle, or CaptureError with one line saying what to do."""
    try:
        reader = pcapy.create(interface)
        reader.set_snaplen(snaplen)
        reader.set_promisc(1)
        reader.set_timeout(timeout_ms)
        reader.set_buffer_size(buffer_bytes)
        status = reader.activate()
    except pcapy.PcapError as error:
        raise CaptureError(f"{interface}: {str(error).strip()}") from None
    if status is None or status >= 0:
        return reader                             # 0, or a warning (e.g. promiscuous mode not supported)
    if status == PCAP_ERROR_NO_SUCH_DEVICE:
        raise CaptureError(_no_such_interface(pcapy, interface))
    if status in (PCAP_ERROR_PERM_DENIED, PCAP_ERROR_PROMISC_PERM_DENIED):
        raise CaptureError(no_permission(interface))
    if status == PCAP_ERROR_IFACE_NOT_UP:
        raise CaptureError(f"{interface}: the interface is down (bring it up with 'ip link set {interface} up')")
    try:                                          # libpcap's own words for anything else
        pcapy.open_live(interface, snaplen, True, timeout_ms).close()
    except pcapy.PcapError as error:
        raise CaptureError(f"{interface}: {str(error).strip()}") from None
    raise CaptureError(f"{interface}: cannot capture (libpcap error {status})")


def no_permission(interface: str) -> str:
    return (f"{interface}: capturing needs root or CAP_NET_RAW: run with sudo, or capture with tcpdump and pipe "
            f"it in: sudo tcpdump -U -i {interface} -w - udp port 500 or udp port 4500 | ikesniff -r -")


def _no_such_interface(pcapy: ModuleType, interface: str) -> str:
    try:
        names = [str(name) for name in pcapy.findalldevs()]
    except Exception:  # noqa: BLE001 - the list is a courtesy
        names = []
    shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
    return f"{interface}: no such interface" + (f" (available: {shown})" if names else "")


def _merge(parts: list[tuple[bytes, bytes]], link_type: int, first_frame: int) -> Batch:
    """One batch from the handles' reads (each `next_batch` result: the packets' bytes and 16-octet
    records sec, usec, offset, caplen), in timestamp order (stable: each handle's order kept)."""
    if len(parts) == 1:
        data, meta = parts[0]
        rows = np.frombuffer(meta, dtype=np.uint32).reshape(-1, 4)
        return Batch(link_type, data, rows[:, 2].astype(np.int64), rows[:, 3].astype(np.int64),
                     rows[:, 0] + rows[:, 1] * 1e-6, first_frame)
    offsets, lengths, times = [], [], []
    base = 0
    for data, meta in parts:
        rows = np.frombuffer(meta, dtype=np.uint32).reshape(-1, 4)
        offsets.append(rows[:, 2].astype(np.int64) + base)
        lengths.append(rows[:, 3].astype(np.int64))
        times.append(rows[:, 0] + rows[:, 1] * 1e-6)
        base += len(data)
    all_times = np.concatenate(times)
    order = np.argsort(all_times, kind="stable")
    return Batch(link_type, b"".join(data for data, _ in parts), np.concatenate(offsets)[order],
                 np.concatenate(lengths)[order], all_times[order], first_frame)


def read_live(source: LiveSource, stats: CaptureStats, ike_ports: frozenset[int],
              idle_after: float = IDLE_AFTER) -> Iterator[Event | Idle]:
    """Items from a live source in capture order, each batch's as soon as it is read, and an `Idle`
    tick (wall-clock time) whenever nothing was handed on for `idle_after` seconds."""
    pipeline = Pipeline(stats, ike_ports, window_frames=1)
    keys = pipeline.flows.keys
    last = time.monotonic()
    for batch in source.poll(min(idle_after / 2, IDLE_AFTER / 2)):
        if batch is not None:
            chunk = pipeline.process(batch)
            if chunk is not None:
                events = chunk.events(keys)
                if events:
                    yield from events
                    last = time.monotonic()
        if time.monotonic() - last >= idle_after:
            yield Idle(time.time())
            last = time.monotonic()
    for chunk in pipeline.finish():
        yield from chunk.events(keys)
