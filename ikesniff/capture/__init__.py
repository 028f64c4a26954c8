"""The capture layer: capture files (or, later, an interface) in; IKE datagrams and ESP sightings out.

    for item in read_capture("capture.pcap", stats):
        ...   # IkeDatagram | EspSighting | IcmpError | FrameProblem, in frame order

`read_capture` opens the input at once (raising CaptureError, one line, for anything unreadable)
and returns an iterator. Frame numbers are Wireshark's. See `files.py` for the formats and readers,
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
from .files import DEFAULT_BATCH, FileSource
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


def read_capture(source: str, stats: CaptureStats, ike_ports: frozenset[int] = DEFAULT_IKE_PORTS, *,
                 reader: str | None = None, worker: str | None = None,
                 batch_size: int = DEFAULT_BATCH) -> Iterator[CaptureItem]:
    """Read a capture file ('-' for standard input) and yield its IKE-related items in frame order.

    Raises CaptureError before returning when the input cannot be opened or is not a capture; later
    problems become FrameProblem items and reading goes on (or ends, for a damaged file tail).
    `stats` is filled as the items are yielded (the ESP flow tables, in worker mode, at the end).
    `reader` and `worker` override READER and WORKER for this call."""
    file_source = FileSource(source, reader or READER, batch_size)
    try:
        if _use_worker(worker or WORKER, file_source):
            items = _worker.run(lambda own_stats: chunks(file_source, own_stats, ike_ports), stats)
            file_source.close()                    # the worker has its own copy of the file
            return items
        return read_batches(file_source, stats, ike_ports)
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
    "DEFAULT_IKE_PORTS", "READER", "WORKER", "Batch", "BatchSource", "CaptureError", "CaptureItem", "CaptureStats",
    "EspSighting", "FileSource", "FrameProblem", "IcmpError", "IkeDatagram", "LiveSource", "SourceStopped",
    "capture_filter", "read_batches", "read_capture", "read_live",
]
