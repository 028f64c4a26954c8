"""The live tunnel board on a terminal (`ikesniff -i` without -v/-q/--json): rows updated in place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..analysis import DecodedMessage
from ..capture.events import CaptureStats
from ..events import DiagnosisEvent, SummaryEvent, VerdictEvent
from ..live_view import LiveDisplay, TunnelBoard


class BoardSink:
    def __init__(self, stats: CaptureStats, drops: Callable[[], Any], clock: Callable[[], float],
                 colour: bool = True) -> None:
        """`colour`: False for --color never or NO_COLOR (the board is drawn without colour)."""
        from rich.console import Console
        self.board = TunnelBoard()
        console = Console(highlight=False) if colour else Console(highlight=False, color_system=None)
        self.display: LiveDisplay | None = LiveDisplay(self.board, console, stats=stats,
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
