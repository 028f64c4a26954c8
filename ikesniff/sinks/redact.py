"""`--redact`: a wrapper in front of the other sinks that replaces every address, identity, SPI and
certificate name with a consistent placeholder before they see an event. Sinks that print raw content
(the decoded tree, the `-w` capture) hold the same `Redactor` for it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from ..analysis import DecodedMessage
from ..capture.events import FrameProblem
from ..events import DiagnosisEvent, FindingEvent, SummaryEvent, VerdictEvent
from ..redact import Redactor
from .base import Sink


class RedactingSink:
    def __init__(self, sinks: Sequence[Sink], redactor: Redactor) -> None:
        self.sinks = list(sinks)
        self.redactor = redactor

    def write(self, item: object) -> None:
        redactor = self.redactor
        if isinstance(item, DecodedMessage):
            redactor.learn(item.message, item.inner)
            item = DecodedMessage(redactor.event(item.event), item.message, item.inner, item.datagram)
        elif isinstance(item, (DiagnosisEvent, FindingEvent, VerdictEvent, SummaryEvent)):
            item = redactor.event(item)
        elif isinstance(item, FrameProblem):
            item = dataclasses.replace(item, text=redactor.text(item.text))
        for sink in self.sinks:
            sink.write(item)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()
