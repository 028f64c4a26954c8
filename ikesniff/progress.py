"""A progress bar on standard error while a large capture file is read.

Theory of operation: the capture layer's reader (`capture.CaptureReader`) knows the size of the file and,
from the kernel, how far into it the reading process has got (`position()`, the compressed offset for a
gzip file, the worker's offset when a forked worker reads). A thread of our own looks at it at most
`REFRESH_PER_SECOND` times a second and redraws the bar; the main loop does nothing per item. The bar
appears only when standard error is a terminal and the file is larger than `THRESHOLD`, and it is
erased when reading ends: standard output never sees it (lines written to standard output while the bar
is up go above it when both are the same terminal).

The same `ReadProgress` can also be drawn inside another live display (the tunnel board of
`live_view.py`), which then refreshes it.

Threads and fork: the capture worker is forked while a drawing thread may be running. Every drawing
thread draws while holding `DRAWING`, and a fork waits for it (os.register_at_fork), so the child never
starts life with a console or stream lock held by a thread that does not exist in it.

This module knows nothing of IKE; it reads a position and a size.
"""

from __future__ import annotations

import os
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # (rich is imported when a bar is drawn: most runs never load it)
    from rich.console import Console, RenderableType
    from rich.progress import TaskID

THRESHOLD = 50_000_000
"""Octets above which reading a file shows a bar (smaller files are read in a second or two)."""

REFRESH_PER_SECOND = 10
"""Most redraws of the bar per second."""

DRAWING = threading.Lock()
"""Held by whichever thread draws a live display; a fork waits until it is free."""

os.register_at_fork(before=DRAWING.acquire, after_in_parent=DRAWING.release, after_in_child=DRAWING.release)


class Readable(Protocol):
    """What the bar needs of a reader (capture.CaptureReader has it)."""

    name: str
    size: int | None

    def position(self) -> int | None: ...


CurrentReader = Callable[[], "Readable | None"]
"""Returns the reader of the file being read now, or None (called from the drawing thread)."""


class Ticker:
    """Calls `tick` every `interval` seconds on a daemon thread, holding DRAWING, until `stop()`.

    A display must never end the run: an exception in `tick` stops the ticking, nothing else."""

    def __init__(self, tick: Callable[[], None], interval: float) -> None:
        self._tick = tick
        self._interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ikesniff-display", daemon=True)
        self.error: BaseException | None = None
        """What stopped the ticking early, if anything did."""

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            with DRAWING:
                if self._stopping.is_set():
                    return
                try:
                    self._tick()
                except Exception as error:  # noqa: BLE001 - see the class docstring
                    self.error = error
                    return


class ReadProgress:
    """The bar of the file being read: follows whichever reader `current` returns."""

    def __init__(self, current: CurrentReader, threshold: int | None = None, console: Console | None = None,
                 redirect_stdout: bool = False) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
        self._current = current
        self._threshold = threshold
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), DownloadColumn(),
            TransferSpeedColumn(), TimeRemainingColumn(),
            console=console, auto_refresh=False, transient=True,
            redirect_stdout=redirect_stdout, redirect_stderr=True)
        self._task: TaskID | None = None
        self._reader: weakref.ReferenceType[Readable] | None = None
        self._drawn = False
        self.samples: list[tuple[int, int]] = []
        """(position, size) of every redraw with the bar up (the last ones; tests read them)."""

    def poll(self) -> bool:
        """Look at the reader now: True when the bar is to be shown (a large file with a known position)."""
        reader = self._current()
        threshold = THRESHOLD if self._threshold is None else self._threshold
        if reader is None or reader.size is None or reader.size <= threshold:
            return False
        position = reader.position()
        if position is None:
            return False
        progress = self.progress
        if self._task is None:
            self._task = progress.add_task(_label(reader.name), total=reader.size, completed=position)
        elif self._reader is None or self._reader() is not reader:
            progress.reset(self._task, total=reader.size, completed=position, description=_label(reader.name))
        else:
            progress.update(self._task, completed=position)
        self._reader = weakref.ref(reader)
        self.samples.append((position, reader.size))
        del self.samples[:-1000]
        return True

    def __rich__(self) -> RenderableType:
        """The bar as part of another display (which polls first); nothing while it is not due."""
        if not self.poll():
            from rich.console import Group
            return Group()
        return self.progress.get_renderable()

    def draw(self) -> None:
        """Show, update or erase the bar on its own console (the standalone bar's tick)."""
        if self.poll():
            if not self._drawn:
                self.progress.start()
                self._drawn = True
            self.progress.refresh()
        else:
            self.erase()

    def erase(self) -> None:
        if self._drawn:
            self._drawn = False
            self.progress.stop()


def _label(name: str) -> str:
    base = os.path.basename(name) or name
    return base if len(base) <= 32 else f"…{base[-31:]}"


def stderr_console() -> Console:
    from rich.console import Console
    return Console(stderr=True, highlight=False)


@contextmanager
def progress_bar(current: CurrentReader, console: Console | None = None, *,
                 enabled: bool = True) -> Iterator[ReadProgress | None]:
    """Show the bar of the large file being read, on standard error, for the duration of the block.

    Nothing happens (no thread, no output) unless `enabled` and the console is a terminal that can move
    its cursor. Lines written to standard output meanwhile go above the bar when standard output is the
    same terminal; anything written to standard output's binary buffer directly would not, so a caller
    writing JSON Lines to that terminal passes enabled=False."""
    if not enabled or (console is None and not _may_be_terminal(sys.stderr)):
        yield None
        return
    console = console or stderr_console()
    if not enabled or not console.is_terminal or console.is_dumb_terminal:
        yield None
        return
    bar = ReadProgress(current, console=console, redirect_stdout=_same_terminal(sys.stdout, console.file))
    ticker = Ticker(bar.draw, 1 / REFRESH_PER_SECOND)
    ticker.start()
    try:
        yield bar
    finally:
        ticker.stop()
        with DRAWING:
            bar.erase()


def _may_be_terminal(stream: object) -> bool:
    """False when rich's Console would surely not take `stream` for a terminal (so rich need not be loaded to
    ask it): no TTY_COMPATIBLE or FORCE_COLOR in the environment, and not a tty."""
    if "TTY_COMPATIBLE" in os.environ or "FORCE_COLOR" in os.environ:
        return True
    try:
        return bool(stream.isatty())        # type: ignore[attr-defined]
    except (ValueError, AttributeError):
        return False


def _same_terminal(stream: object, other: object) -> bool:
    """Whether two streams write to the same terminal (stdout and stderr of an interactive shell)."""
    try:
        if not stream.isatty():             # type: ignore[attr-defined]
            return False
        first = os.fstat(stream.fileno())   # type: ignore[attr-defined]
        second = os.fstat(other.fileno())   # type: ignore[attr-defined]
    except (OSError, ValueError, AttributeError):
        return False
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)
