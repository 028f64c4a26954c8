"""JSON Lines on a byte stream (SPEC §4): one object per message, diagnosis, finding, verdict and the
summary, in the order the analysis gives them."""

from __future__ import annotations

from typing import IO

from ..analysis import DecodedMessage
from ..capture.events import Idle
from ..events import DiagnosisEvent, FindingEvent, SummaryEvent, VerdictEvent
from ..output import JsonLinesWriter, RenderedJson

EVENTS = (DiagnosisEvent, FindingEvent, VerdictEvent, SummaryEvent)


class JsonLinesSink:
    def __init__(self, stream: IO[bytes], batch: int = 512, linger: float | None = None) -> None:
        """`batch`: lines kept before a write (1 for a stream, where each line goes out at once);
        `linger`: seconds a line may wait for others (live capture)."""
        self.writer = JsonLinesWriter(stream, batch=batch, linger=linger)

    def write(self, item: object) -> None:
        if isinstance(item, DecodedMessage):
            self.writer.write(item.event)
        elif isinstance(item, EVENTS):
            self.writer.write(item)
            if isinstance(item, SummaryEvent):
                self.writer.flush()
        elif isinstance(item, RenderedJson):
            self.writer.write_lines(item.lines)
        elif isinstance(item, Idle):
            self.writer.flush()

    def close(self) -> None:
        self.writer.flush()
