"""The live terminal view: one row per tunnel, redrawn in place; and the plain verdict lines.

Theory of operation: the CLI feeds a `TunnelBoard` with what it already has in hand: every message
event, every verdict as soon as the analysis tells one (again and again as it learns more: the latest
wins; a retired IKE SA's diagnosis is taken the same way), the ESP counts and the kernel's drop counts.
`render(now)` turns the board into a table laid out for the width it is drawn at. `LiveDisplay` keeps that table on a terminal with
rich's Live, redrawn a few times a second by a thread of its own (see progress.Ticker for why it is
ours and not rich's), while the main loop only feeds the board. When standard output is not a terminal
the CLI prints `verdict_line` for each new or changed verdict instead (`TunnelBoard.verdict` says
which are).

The board shows; it never judges. A tunnel's state is its verdict's outcome once there is one, and
before that only what the wire plainly says: ESP flowing both ways (established), nothing heard for
SILENT_AFTER seconds (silent), otherwise negotiating. A new negotiation after a verdict is shown as
negotiating, beside the verdict it may overturn.

Memory is bounded: at most MAX_TUNNELS tunnels are kept (the least recently active are forgotten, and
counted), at most MAX_ROWS rows are drawn (the most recently active first).

This module knows nothing of captures or diagnosis rules; it formats events.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .capture.events import CaptureStats
from .events import DiagnosisEvent, MessageEvent, VerdictEvent
from .output import ROLE
from .progress import DRAWING, ReadProgress, Ticker
from .tracker import host

MAX_ROWS = 200
"""Most tunnel rows drawn (fewer when the terminal is shorter)."""
MAX_TUNNELS = 10_000
"""Most tunnels remembered; beyond, the least recently active are forgotten (and counted)."""
SILENT_AFTER = 60.0
"""Seconds without an IKE message after which a tunnel without verdict is called silent."""
REFRESH_PER_SECOND = 4

STATES = ("negotiating", "established", "failed", "torn down", "silent")
OUTCOME_STATE = {"established": "established", "failed": "failed", "torn_down": "torn down"}
"""A verdict's outcome as a state ('incomplete' says nothing the wire does not)."""
STATE_STYLE = {"negotiating": "cyan", "established": "green", "failed": "bold red", "torn down": "yellow",
               "silent": "dim"}
OPENING_EXCHANGES = frozenset({"IKE_SA_INIT", "IDENTITY_PROTECTION", "AGGRESSIVE"})
"""The exchanges whose first request starts a new attempt."""

Verdict = VerdictEvent | DiagnosisEvent
Peers = tuple[str, str]


@dataclass(slots=True)
class TunnelRow:
    """What the board knows of one tunnel (unordered pair of gateway addresses)."""

    peers: Peers
    """The two addresses, sorted as a verdict's `peers` are."""
    versions: int = 0
    """Bit set of the IKE versions seen (1: IKEv1, 2: IKEv2)."""
    messages: int = 0
    retransmissions: int = 0
    last_exchange: str = ""
    """e.g. 'IKE_AUTH I req' (exchange, who sent it, request or response)."""
    last_time: float = 0.0
    """Capture time of the latest message."""
    esp_forward: int = 0
    """ESP packets from peers[0] to peers[1]."""
    esp_backward: int = 0
    verdict: Verdict | None = None
    told: tuple[Any, ...] = ()
    """What of the verdict a reader acts on, to tell a changed verdict from a repeated one."""
    renegotiating: bool = False
    """A new attempt began after the verdict."""

    def state(self, now: float) -> str:
        if self.verdict is not None and not self.renegotiating:
            state = OUTCOME_STATE.get(self.verdict.outcome)
            if state is not None:
                return state
        if self.esp_forward and self.esp_backward:
            return "established"
        if self.messages and now - self.last_time > SILENT_AFTER:
            return "silent"
        return "negotiating"


class TunnelBoard:
    """Tunnels and what is known of them, fed from the main loop, drawn from another thread."""

    def __init__(self, max_tunnels: int = MAX_TUNNELS) -> None:
        self._tunnels: OrderedDict[Peers, TunnelRow] = OrderedDict()
        """Least recently active first."""
        self._lock = threading.Lock()
        self.max_tunnels = max_tunnels
        self.forgotten = 0
        """Tunnels dropped to keep memory bounded."""
        self.messages = 0
        self.last_time = 0.0
        """Capture time of the latest message: 'now' when reading a file."""
        self.esp_packets = 0
        self.kernel: tuple[int, int, int] | None = None
        """libpcap's (received, dropped, dropped by the interface), live capture only."""

    # --- feeding -----------------------------------------------------------------------------------
    def message(self, event: MessageEvent) -> None:
        key = _key(event.src, event.dst)
        with self._lock:
            self.messages += 1
            self.last_time = max(self.last_time, event.time)
            row = self._row(key)
            row.messages += 1
            row.versions |= 1 << (event.version - 1) if event.version in (1, 2) else 0
            if event.retransmission:
                row.retransmissions += 1
            elif (row.verdict is not None and not event.response and event.message_id == 0
                  and event.exchange in OPENING_EXCHANGES):
                row.renegotiating = True
            row.last_exchange = f"{event.exchange} {ROLE[(event.initiator, event.response)]}"
            row.last_time = max(row.last_time, event.time)

    def verdict(self, event: Verdict) -> bool:
        """Take a tunnel's verdict (or an IKE SA's diagnosis) as the latest word on it; True when it is
        new or says something else than the one before (what a plain-text reader is told)."""
        key = _key(*_peers(event))
        told = (event.outcome, event.code, event.confidence, event.phase, tuple(event.alternatives))
        with self._lock:
            row = self._tunnels.get(key)
            if row is None:
                row = self._row(key)
            changed = row.told != told
            row.verdict, row.told, row.renegotiating = event, told, False
        return changed

    def esp(self, flows: Iterable[Any]) -> None:
        """The ESP packet counts so far (totals, not increments): objects with `src`, `dst` and `packets`
        (CaptureStats.esp_flows values, EspFlowSummary) or (src, dst, packets) tuples."""
        totals: dict[Peers, list[int]] = {}
        packets_seen = 0
        for flow in flows:
            src, dst, packets = flow if isinstance(flow, tuple) else (flow.src, flow.dst, flow.packets)
            key = _key(src, dst)
            counts = totals.setdefault(key, [0, 0])
            counts[0 if src == key[0] else 1] += packets
            packets_seen += packets
        with self._lock:
            self.esp_packets = packets_seen
            for key, row in self._tunnels.items():
                row.esp_forward, row.esp_backward = totals.get(key, (0, 0))

    def drops(self, received: int, dropped: int, interface_dropped: int) -> None:
        """libpcap's counts of a live capture (pcap_stats)."""
        self.kernel = (received, dropped, interface_dropped)

    def _row(self, key: Peers) -> TunnelRow:
        """The row of `key`, made the most recently active (created when new). Holds the lock."""
        row = self._tunnels.get(key)
        if row is None:
            row = self._tunnels[key] = TunnelRow(key)
            while len(self._tunnels) > self.max_tunnels:
                self._tunnels.popitem(last=False)
                self.forgotten += 1
        else:
            self._tunnels.move_to_end(key)
        return row

    # --- reading -----------------------------------------------------------------------------------
    def rows(self) -> list[TunnelRow]:
        """The tunnels, most recently active first."""
        with self._lock:
            return list(reversed(self._tunnels.values()))

    @property
    def tunnels(self) -> int:
        return len(self._tunnels) + self.forgotten

    def render(self, now: float | None = None, max_rows: int = MAX_ROWS) -> RenderableType:
        """The table (most recently active tunnels first) and a footer line with the totals, laid out
        for the width it is drawn at. `now` is the time ages are counted to: the latest capture time
        when None (reading a file)."""
        with self._lock:
            now = self.last_time if now is None else now
            rows = list(reversed(self._tunnels.values()))
            states: dict[str, int] = {}
            drawing = _Drawing([], [], Text())
            for index, row in enumerate(rows):
                state = row.state(now)
                states[state] = states.get(state, 0) + 1
                if index < max_rows:
                    drawing.cells.append(_cells(row, state, now))
                    verdict_state = OUTCOME_STATE.get(row.verdict.outcome, "") if row.verdict is not None else ""
                    drawing.styles.append((STATE_STYLE[state], STATE_STYLE.get(verdict_state, "")))
            drawing.footer = _footer(self, len(rows), min(len(rows), max_rows), states)
        return drawing


COLUMNS = (("peers", "left"), ("IKE", "left"), ("state", "left"), ("last exchange", "left"), ("age", "right"),
           ("retr", "right"), ("ESP →", "right"), ("ESP ←", "right"), ("verdict", "left"))
COUNTERS = ("IKE", "retr", "ESP →", "ESP ←")
LAYOUTS: tuple[tuple[tuple[str, ...], tuple[tuple[str, int], ...]], ...] = (
    ((), (("last exchange", 10),)),
    (("last exchange",), ()),
    (("last exchange", "IKE", "retr"), ()),
    (("last exchange", *COUNTERS), ()),
    (("last exchange", *COUNTERS, "age"), ()),
    (("last exchange", *COUNTERS, "age"), (("peers", 23),)),
    (("last exchange", *COUNTERS, "age"), (("peers", 15), ("verdict", 24))),
    (("last exchange", *COUNTERS, "age"), (("peers", 15), ("verdict", 14))),
)
"""How the table gives way on a narrow terminal, first layout that fits: the columns left out, and the
columns cut short (with an ellipsis), in this order, down to a width. The counters and the age go before
the peers are cut (two IPv4 addresses and the verdict fit 80 columns whole), the verdict goes last."""
GAP = 2
"""Spaces between two columns."""


@dataclass(slots=True)
class _Drawing:
    """The board's rows as text, made into a table once the width is known."""

    cells: list[tuple[str, ...]]
    styles: list[tuple[str, str]]
    """Per row: the style of the row (its state) and of its verdict cell (the verdict's outcome)."""
    footer: Text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        names = [name for name, _ in COLUMNS]
        natural = [max([cell_len(name), *(cell_len(row[index]) for row in self.cells)])
                   for index, name in enumerate(names)]
        widths, shown = _fit(natural, names, options.max_width)
        table = Table(header_style="bold", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                      collapse_padding=True)
        for index in shown:
            table.add_column(names[index], justify=COLUMNS[index][1], no_wrap=True, overflow="ellipsis",  # type: ignore[arg-type]
                             width=widths[index])
        verdict = names.index("verdict")
        for cells, (row_style, verdict_style) in zip(self.cells, self.styles, strict=True):
            table.add_row(*(Text(cells[index], style=verdict_style) if index == verdict else cells[index]
                            for index in shown), style=row_style)
        yield table
        yield self.footer


def _fit(natural: list[int], names: list[str], width: int) -> tuple[list[int], list[int]]:
    """Column widths and the columns drawn: the first of LAYOUTS that fits in `width` (the last one else)."""
    widths: list[int] = []
    shown: list[int] = []
    for left_out, shrinkable in LAYOUTS:
        shown = [index for index, name in enumerate(names) if name not in left_out]
        widths = list(natural)
        excess = sum(widths[index] for index in shown) + GAP * (len(shown) - 1) - width
        for name, narrowest in shrinkable:
            index = names.index(name)
            cut = min(max(excess, 0), max(widths[index] - narrowest, 0))
            widths[index] -= cut
            excess -= cut
        if excess <= 0:
            break
    return widths, shown


def _cells(row: TunnelRow, state: str, now: float) -> tuple[str, ...]:
    versions = "+".join(f"v{version}" for version in (1, 2) if row.versions & (1 << (version - 1))) or "-"
    verdict = f"{row.verdict.code} ({row.verdict.confidence})" if row.verdict is not None else "-"
    return (f"{row.peers[0]} <-> {row.peers[1]}", versions, state, row.last_exchange or "-",
            _age(now - row.last_time) if row.messages else "-", str(row.retransmissions),
            str(row.esp_forward), str(row.esp_backward), verdict)


def _footer(board: TunnelBoard, remembered: int, shown: int, states: dict[str, int]) -> Text:
    tunnels = board.tunnels
    by_state = ", ".join(f"{states[state]} {state}" for state in STATES if states.get(state))
    parts = [f"{board.messages} IKE messages",
             f"{tunnels} tunnel{'s' if tunnels != 1 else ''}" + (f" ({by_state})" if by_state else ""),
             f"{board.esp_packets} ESP packets"]
    if board.kernel is not None:
        received, dropped, interface_dropped = board.kernel
        parts.append(f"kernel: {received} received, {dropped} dropped, "
                     f"{interface_dropped} dropped by the interface")
    hidden = remembered - shown + board.forgotten
    if hidden:
        parts.append(f"{hidden} more tunnel{'s' if hidden != 1 else ''} not shown")
    footer = Text(" · ".join(parts))
    if board.kernel is not None and (board.kernel[1] or board.kernel[2]):
        footer.highlight_words(["kernel:"], style="bold red")
    return footer


def _age(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


def _key(first: str, second: str) -> Peers:
    return (first, second) if first <= second else (second, first)


def _peers(event: Verdict) -> Peers:
    if isinstance(event, VerdictEvent):
        return event.peers[0], event.peers[-1]
    return _address(event.initiator), _address(event.responder)


def _address(endpoint: str) -> str:
    """'192.0.2.1:500' -> '192.0.2.1', '[2001:db8::1]:500' -> '2001:db8::1'."""
    return host(endpoint)


# --- plain lines ----------------------------------------------------------------------------------------
def verdict_headline(event: Verdict) -> str:
    """'192.0.2.1 <-> 192.0.2.2: FAILED PskMismatch (likely; also possible: PeerIdMismatch), phase 1':
    the first line of a verdict as the CLI prints it at the end."""
    first, second = _key(*_peers(event))
    phase = f", phase {event.phase}" if event.phase else ""
    also = f"; also possible: {', '.join(event.alternatives)}" if event.alternatives else ""
    closed = " (closed in order)" if getattr(event, "orderly", False) else ""
    return f"{first} <-> {second}: {event.outcome.upper()}{closed} {event.code} ({event.confidence}{also}){phase}"


def verdict_line(event: Verdict, when: float | None = None) -> str:
    """A verdict as one line while the capture goes on (stdout not a terminal), tcpdump-like: the local
    time of `when` (capture time the verdict became known), then `verdict_headline`."""
    headline = verdict_headline(event)
    return headline if when is None else f"{time.strftime('%H:%M:%S', time.localtime(when))} {headline}"


# --- the live display -----------------------------------------------------------------------------------
class LiveDisplay:
    """The board on a terminal, redrawn in place REFRESH_PER_SECOND times a second until the block ends
    (the last drawing stays on the screen, in full up to MAX_ROWS rows).

        with LiveDisplay(board, console, stats=analysis.stats):
            for item in items: board.message(...)

    (or `start()` and `stop()`: stop draws the last, full board; feed the final verdicts before it).

    `stats`: the capture's counters, whose ESP flows are read at each redraw; `drops`: called at each
    redraw for libpcap's (received, dropped, dropped by the interface); `clock`: the time ages are
    counted to (time.time for a live capture; the latest capture time when None); `progress`: a file
    reading bar drawn under the table. Lines written to stdout or stderr meanwhile go above the table."""

    def __init__(self, board: TunnelBoard, console: Console | None = None, *,
                 stats: CaptureStats | None = None, drops: Callable[[], tuple[int, int, int]] | None = None,
                 clock: Callable[[], float] | None = None, progress: ReadProgress | None = None,
                 refresh_per_second: float = REFRESH_PER_SECOND) -> None:
        self.board = board
        self.console = console or Console(highlight=False)
        self.stats = stats
        self.drops = drops
        self.clock = clock
        self.progress = progress
        self._interval = 1 / refresh_per_second
        self._live: Live | None = None
        self._ticker: Ticker | None = None
        self._final = False

    def start(self) -> None:
        if self._live is not None:
            return
        self._live = Live(self, console=self.console, auto_refresh=False, transient=False,
                          redirect_stdout=True, redirect_stderr=True)
        with DRAWING:
            self._live.start(refresh=True)
        self._ticker = Ticker(self._live.refresh, self._interval)
        self._ticker.start()

    def stop(self) -> None:
        """Draw the board a last time, in full, and leave it on the screen (a second call does nothing)."""
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        if self._live is not None and not self._final:
            with DRAWING:
                self._final = True
                self._live.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def update(self) -> None:
        """Pull the ESP counts and drop counts into the board (done before each drawing)."""
        if self.stats is not None:
            # list() of a dict's values is made in one step under the GIL: safe while flows are added
            self.board.esp(list(self.stats.esp_flows.values()))
        if self.drops is not None:
            with contextlib.suppress(Exception):   # a capture that is closing has no counts to give
                self.board.drops(*self.drops())

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        self.update()
        now = self.clock() if self.clock is not None else None
        height = options.height or console.size.height
        rows = MAX_ROWS if self._final else max(1, min(MAX_ROWS, height - 8))
        yield self.board.render(now, rows)
        if self.progress is not None and not self._final:
            yield self.progress
