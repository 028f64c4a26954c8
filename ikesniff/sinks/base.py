"""The protocol every sink follows: an item in, nothing out, and `close()` at the end of the run."""

from __future__ import annotations

from typing import Protocol


class Sink(Protocol):
    def write(self, item: object) -> None: ...
    def close(self) -> None: ...
