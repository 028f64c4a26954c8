"""The unit of work between a packet source and the classifier: a batch of frames.

A source (libpcap reading a file, the pure-Python pcap/pcapng reader, later a live interface) hands
on frames in batches of the same shape: every packet's bytes in one buffer, plus arrays saying where
each packet starts, how many octets were captured and when. Frame numbers are implicit (the first
frame's number plus the index), which is why a batch never skips a record. Everything downstream
(numpy classification, ESP aggregation, the scalar IKE path) sees only batches, so it does not know
or care which source produced them.

This module knows nothing of file formats or of IKE.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt


class CaptureError(Exception):
    """The input cannot be read at all. str() is one line naming the input and the problem."""


@dataclass(slots=True)
class Batch:
    """Consecutive frames of one link type."""

    link_type: int
    """LINKTYPE_* value of every frame in the batch (a source cuts a batch where it changes)."""
    data: bytes | bytearray | memoryview
    """A buffer holding every frame's bytes (and possibly other bytes between them)."""
    offsets: npt.NDArray[np.int64]
    """Where each frame starts in `data`."""
    lengths: npt.NDArray[np.int64]
    """Captured length of each frame."""
    times: npt.NDArray[np.float64]
    """Capture time of each frame, epoch seconds."""
    first_frame: int
    """1-based frame number of the first frame (Wireshark's numbering: every record counts)."""

    def __len__(self) -> int:
        return len(self.offsets)

    def packet(self, index: int) -> bytes:
        start = int(self.offsets[index])
        return bytes(self.data[start:start + int(self.lengths[index])])


class SourceStopped(Exception):
    """A source met something it cannot read past (a truncated or damaged record).

    Everything before it has been delivered; `frames_read` says how many frames that was."""

    def __init__(self, frames_read: int, time: float, text: str) -> None:
        super().__init__(text)
        self.frames_read = frames_read
        self.time = time
        self.text = text


class BatchSource(Protocol):
    """Anything that yields batches in frame order (a file reader, a live capture)."""

    name: str
    """How the input is named in messages (the path as given, or '<stdin>')."""

    def batches(self) -> Iterator[Batch]:
        """Batches in order; raises SourceStopped after the last good one when it cannot go on."""
        ...
