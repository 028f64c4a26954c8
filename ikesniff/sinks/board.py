"""The live tunnel board on a terminal (`ikesniff -i` without -v/-q/--json): rows updated in place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..analysis import DecodedMessage
from ..capture.events import CaptureStats
from ..events import DiagnosisEvent, SummaryEvent, VerdictEvent
from ..live_view import LiveDisplay, TunnelBoard


class BoardSink:
    def __init__(self, stats: CaptureStats, drops: Callable[[], Any], clock: Callable[[], float]) -> None:
        from rich.console import Console
        self.board = TunnelBoard()
        self.display: LiveDisplay | None = LiveDisplay(self.board, Console(highlight=False), stats=stats,
                                                       drops=drops, clock=clock)
        self.display.start()

    def write(self, item: object) -> None:
        if isinstance(item, DecodedMessage):
            self.board.message(item.event)
        elif isinstance(item, (DiagnosisEvent, VerdictEvent)):
            self.board.verdict(item)
        elif isinstance(item, SummaryEvent):
            self.close()

    def close(self) -> None:
        if self.display is not None:
            self.display.stop()
            self.display = None
