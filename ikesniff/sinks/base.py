"""The sink protocol: an item in, nothing out, and `close()` at the end (also after an error)."""

from __future__ import annotations

from typing import Protocol


class Sink(Protocol):
    def write(self, item: object) -> None: ...
    def close(self) -> None: ...
