"""The capture layer: capture files (or, later, an interface) in; IKE datagrams and ESP sightings out.

    for item in read_capture("capture.pcap", stats):
        ...   # IkeDatagram | EspSighting | IcmpError | FrameProblem, in frame order

`read_capture` opens the input at once (raising CaptureError, one line, for anything unreadable)
and returns an iterator (a `CaptureReader`, whose `size` and `position()` tell how far reading has
got). Frame numbers are Wireshark's. See `files.py` for the formats and readers,
`classify.py` for the vectorised triage, `decode.py` for the scalar path, `pipeline.py` for how they
fit together.

Knows nothing of IKE message syntax: the ISAKMP bytes go on to the dissectors untouched.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from . import worker as _worker
from .batches import Batch, BatchSource, CaptureError, SourceStopped
from .events import CaptureStats, EspSighting, FrameProblem, IcmpError, IkeDatagram
from .files import DEFAULT_BATCH, OFFSETS_KNOWN, FileIdentity, FileSource, read_offset
from .live import LiveSource, capture_filter, read_live
from .pipeline import chunks, read_batches

READER = "auto"
"""Which file reader to use: 'auto' (libpcap where it can read the file, Python otherwise), 'libpcap'
(the same, but also for pcapng with frames libpcap would skip; tests use it) or 'python'."""

WORKER = "auto"
"""Whether the pipeline runs in a forked worker process (see worker.py): 'auto' (regular files of at
least WORKER_MIN_BYTES, where the overlap pays for the fork), 'always' (any input; tests use it) or 'never'."""
WORKER_MIN_BYTES = 32 << 20

DEFAULT_IKE_PORTS = frozenset({500, 4500})

CaptureItem = IkeDatagram | EspSighting | IcmpError | FrameProblem


class CaptureReader:
    """The items of one capture input (iterate once), and how far reading has got, for a progress bar.

    Iterating it iterates the item generator itself: nothing is added per item."""

    def __init__(self, items: Iterator[CaptureItem], name: str, file: FileIdentity | None, pid: int) -> None:
        self.name = name
        """The input's name ('<stdin>' for standard input)."""
        self.size = file.size if file is not None else None
        """Octets of the regular file read (compressed, for a gzip file), None for a pipe."""
        self._items = items
        self._file = file
        self._pid = pid
        self._reached = 0

    def __iter__(self) -> Iterator[CaptureItem]:
        return self._items

    def __next__(self) -> CaptureItem:
        return next(self._items)

    def close(self) -> None:
        """Stop reading (ends the worker, if there is one)."""
        close = getattr(self._items, "close", None)
        if close is not None:
            close()

    def position(self) -> int | None:
        """Octets of the file read so far (by this process, libpcap in it, or the worker reading for it),
        never less than at the previous call; `size` once the reader has let go of the file or the items
        are exhausted. None when it cannot be known (a pipe, or no /proc).

        The reader runs ahead of the items by up to one ESP sighting window (pipeline.WINDOW_FRAMES
        frames, or MAX_WAITING events on IKE-dense input)."""
        if self._file is None or self.size is None or not OFFSETS_KNOWN:
            return None
        if getattr(self._items, "gi_frame", True) is None:    # the generator is done
            self._reached = self.size
            return self.size
        # The file is open from before read_capture returns (the first batch is read by then) until
        # the reader is done with it: no descriptor on it means everything was read.
        offset = read_offset(self._pid, self._file)
        self._reached = self.size if offset is None else max(self._reached, min(offset, self.size))
        return self._reached


def read_capture(source: str, stats: CaptureStats, ike_ports: frozenset[int] = DEFAULT_IKE_PORTS, *,
                 reader: str | None = None, worker: str | None = None,
                 batch_size: int = DEFAULT_BATCH, bpf: str | None = None) -> CaptureReader:
    """Read a capture file ('-' for standard input) and yield its IKE-related items in frame order.

    Raises CaptureError before returning when the input cannot be opened or is not a capture; later
    problems become FrameProblem items and reading goes on (or ends, for a damaged file tail).
    `stats` is filled as the items are yielded (the ESP flow tables, in worker mode, at the end).
    `reader` and `worker` override READER and WORKER for this call; `bpf`: a capture filter the frames
    must pass (tcpdump's -f on a file; frame numbers stay those of the file)."""
    file_source = FileSource(source, reader or READER, batch_size, bpf)
    opened = file_source.opened
    try:
        if _use_worker(worker or WORKER, file_source):
            pid, items = _worker.start(lambda own_stats: chunks(file_source, own_stats, ike_ports), stats)
            file_source.close()                    # the worker has its own copy of the file
            return CaptureReader(items, opened.name, opened.file, pid)
        items = read_batches(file_source, stats, ike_ports)
        return CaptureReader(items, opened.name, opened.file, os.getpid())
    except BaseException:
        file_source.close()
        raise


def _use_worker(mode: str, file_source: FileSource) -> bool:
    if mode not in ("auto", "always", "never"):
        raise ValueError(f"unknown worker mode {mode!r}")
    if mode == "never" or not _worker.available():
        return False
    if mode == "always":
        return True
    path = file_source.opened.path
    try:
        return path is not None and os.path.getsize(path) >= WORKER_MIN_BYTES
    except OSError:
        return False


__all__ = [
    "DEFAULT_IKE_PORTS", "READER", "WORKER", "Batch", "BatchSource", "CaptureError", "CaptureItem",
    "CaptureReader", "CaptureStats",
    "EspSighting", "FileSource", "FrameProblem", "IcmpError", "IkeDatagram", "LiveSource", "SourceStopped",
    "capture_filter", "read_batches", "read_capture", "read_live",
]
