"""`-j N`: capture files read by N worker processes, with the output one process gives, byte for byte.

Two ways to use several cores, chosen per file by its size (`plan`):

- one large file is *split*: each of N workers reads the whole file itself (reading and the numpy triage cost
  about 2 µs per IKE message) and every worker tracks every IKE SA, counts every message and keeps the same
  clock, but only the SAs of its own tunnels (`shard_of`: a hash of the tunnel's two addresses) are dissected,
  decrypted, recorded, diagnosed and serialised there (`Analysis.process_shard`). An SA that moves to new
  addresses (MOBIKE) stays where it is: the SA table is the same in every worker, so every worker finds it. So
  every worker retires, folds and names SAs at the same points as one process would, and each numbers what it
  says by its place in that one process's output; the parent only merges the workers' streams by those numbers
  and writes them. What spans tunnels is done once, in the parent, from what the workers send at the end: the
  crowd of folded one-sided SAs (each worker hands over those of its SAs, numbered by when they were folded), the
  noise assessment (floods, scans and reflections span tunnels; it decides which SAs are left out of the
  tunnels, which the workers then diagnose), the keys left unused and the summary.
- several small files are read *side by side*, each by one worker (each file is a capture of its own), their
  outputs written in file order.

The workers are forked once per run (after the cause catalog is loaded and the heap frozen, so that they share
it), and take files, or shares of files, one after the other.

Each worker serialises its own events as the outputs want them (`Output.render`: JSON lines as bytes, message
lines as text, other events as objects; nothing for `-q`'s messages), so that no dissected message crosses a
process boundary (pickling one costs about 32 µs). Outputs that need the events themselves or all of them in one
place (`--report`, `-w`, `--redact`, `--syslog`, `--log`, `--config`), `--merge`, standard input and live
capture stay in one process (`usable`).

Protocol: length-prefixed pickles on a pipe each way.
    parent -> worker: ("split", path, workers) | ("file", index, path) | ("quit",)
    worker -> parent, its share of a split file:
    ("started",) | ("error", text)          the file opened, or could not be
    ("window", items, folds)                the items of one stretch of the capture stream, as (position,
                                            rendered), and the SAs folded, as (fold number, record)
    ("error", text)                         the capture failed midway (after the window up to there)
    ("last", limited)                       the capture ended (limited: by -c or --duration)
    ("views", views)                        (place among the SAs tracked, SaView) of its SAs
    ("end", diagnoses, findings, verdicts, truncation, key usage, summary, own decode errors)
    parent -> worker: (left_out,)           the SAs the noise assessment left out of the tunnels
    worker -> parent, a file read whole:
    ("items", index, rendered) ... ("end", index, summary, failed, stopped) | ("error", index, text)
    either: ("crash", traceback)            an unexpected exception
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import sys
import time
import traceback
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, NoReturn

import orjson

from . import api
from .analysis import (
    Analysis,
    DecodedMessage,
    ending,
    keys_unused,
    truncation,
    tunnels_of,
    verdict_of,
)
from .capture import READER, CaptureError, FileSource, read_batches, read_capture
from .capture.events import CaptureStats, FrameProblem
from .capture.files import FileIdentity, read_offset
from .crowd import Crowd, FoldedAnswers, FoldedRequests
from .crypto.session import KeyUsage, merged_unused, unbound_sets
from .diagnosis import is_failure
from .diagnosis.noise import SaView, assess, view
from .events import DiagnosisEvent, FindingEvent, SummaryEvent, VerdictEvent
from .output import RenderedJson, RenderedText, message_text, message_tree
from .tracker import IkeSa, fold_record

SPLIT_MIN_BYTES = 8 << 20
"""A file at least this large is split among the workers (smaller ones: reading it twice and forking cost more
than they save). IKESNIFF_SPLIT_MIN_BYTES overrides it (tests split every file with 0)."""
SIDE_BY_SIDE_MIN_BYTES = 1 << 20
"""Consecutive smaller files that add up to at least this are read side by side, one worker each (tests: 0).
IKESNIFF_SIDE_BY_SIDE_MIN_BYTES overrides it."""
PROBE_FRAMES = 8192
SPLIT_MIN_IKE_SHARE = 0.1
"""A file is split when IKE datagrams are at least this share of its first PROBE_FRAMES frames (the workers
each read and sort every frame: splitting pays where the IKE messages, about 40 µs each, outweigh that)."""
WINDOW = 1024
"""IKE messages between two hand-overs of a split file's items to the parent."""
BATCH = 512
"""Items of a file read whole per hand-over."""
PIPE_SIZE = 1 << 20


def default_jobs() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _threshold(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


# --- what the outputs want of each item ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Output:
    """How the outputs of the run take each event: JSON lines (`--json`), or text (`-v`, `-q`, colour)."""

    json: bool
    verbose: bool = False
    quiet: bool = False
    colour: bool = False

    def render(self, item: object) -> object | None:
        """An item as the parent hands it to the outputs (None: no output takes it)."""
        if isinstance(item, DecodedMessage):
            if self.json:
                return orjson.dumps(item.event)
            if self.quiet:
                return None
            event = item.event
            text = message_text(event)
            if self.colour:
                from .sinks.text import coloured_message
                text = coloured_message(text, event)
            return item.time, event.frame, text, message_tree(item.message, item.inner) if self.verbose else None
        if self.json:
            return orjson.dumps(item) if isinstance(item, (DiagnosisEvent, FindingEvent, VerdictEvent)) else None
        if isinstance(item, (FrameProblem, FindingEvent)):
            return None if self.quiet else item
        if isinstance(item, DiagnosisEvent):
            return item if self.verbose else None
        return item

    def batches(self, rendered: Sequence[object]) -> Iterator[object]:
        """Rendered items as the outputs take them: runs of JSON lines and of message lines in one item each."""
        if self.json:  # (all of them are JSON lines)
            if rendered:
                yield RenderedJson(list(rendered))  # type: ignore[arg-type]
            return
        run: list[Any] = []
        for one in rendered:
            if isinstance(one, (bytes, tuple)):
                run.append(one)
                continue
            if run:
                yield RenderedJson(run) if self.json else RenderedText(run)
                run = []
            yield one
        if run:
            yield RenderedJson(run) if self.json else RenderedText(run)


# --- the plan -----------------------------------------------------------------------------------------------
def usable(options: api.Options, files: Sequence[str]) -> bool:
    """Whether these inputs and analysis options can be read by workers at all (the outputs are the caller's
    business): files only (no standard input), each its own capture, no logs or configurations beside them."""
    return bool(files) and "-" not in files and not options.merge and not options.logs and not options.configs \
        and not options.early


def plan(files: Sequence[str], jobs: int, options: api.Options | None = None) -> list[tuple[str, list[str]]]:
    """The files in order, grouped: ("split", [file]) for a file split among `jobs` workers, ("side", files) for
    consecutive files read side by side, ("here", [file]) for a file read in this process.

    A file is split when it is large and dense with IKE (`ike_dense`: on a gateway's capture, mostly ESP, every
    worker would read and sort the whole file to analyse a small share of little; one process with its capture
    worker already uses two cores there). IKESNIFF_SPLIT_MIN_BYTES=0 splits every file, whatever it holds."""
    if jobs < 2:
        return [("here", [path]) for path in files]
    split_at = _threshold("IKESNIFF_SPLIT_MIN_BYTES", SPLIT_MIN_BYTES)
    side_at = _threshold("IKESNIFF_SIDE_BY_SIDE_MIN_BYTES", SIDE_BY_SIDE_MIN_BYTES)
    groups: list[tuple[str, list[str]]] = []
    small: list[str] = []

    def flush() -> None:
        if len(small) > 1 and sum(_size(path) for path in small) >= side_at:
            groups.append(("side", list(small)))
        else:
            groups.extend(("here", [path]) for path in small)
        small.clear()

    for path in files:
        if _size(path) >= split_at and (not split_at or ike_dense(path, options or api.Options())):
            flush()
            groups.append(("split", [path]))
        else:
            small.append(path)
    flush()
    return groups


def ike_dense(path: str, options: api.Options) -> bool:
    """Whether IKE datagrams make at least SPLIT_MIN_IKE_SHARE of the first PROBE_FRAMES frames of the file."""
    stats = CaptureStats()
    try:
        source = FileSource(path, READER, PROBE_FRAMES // 4, options.bpf)
    except CaptureError:
        return False  # (read in this process, which says why)
    try:
        for _ in read_batches(source, stats, options.ike_ports, window_frames=PROBE_FRAMES // 4):
            if stats.frames >= PROBE_FRAMES:
                break
    except CaptureError:
        return False
    finally:
        source.close()
    return stats.ike_datagrams >= SPLIT_MIN_IKE_SHARE * stats.frames


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0  # (unreadable: its worker, or this process, says why)


def shard_of(workers: int, ike_sa: IkeSa) -> int:
    """The worker an IKE SA belongs to: a hash of its tunnel (the same in every process and every run)."""
    first, second = ike_sa.tunnel
    return zlib.crc32(f"{first} {second}".encode()) % workers


# --- pipes --------------------------------------------------------------------------------------------------
class _Out:
    """Length-prefixed pickles into a pipe."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.stream = os.fdopen(fd, "wb", buffering=PIPE_SIZE)

    def send(self, message: tuple[Any, ...]) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        self.stream.write(len(data).to_bytes(8, "little"))
        self.stream.write(data)
        self.stream.flush()


class _In:
    """The other end: whole messages out of what has arrived."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = bytearray()
        self.closed = False

    def fill(self) -> None:
        """Read what is there (blocks until something is, or the writer is gone)."""
        data = os.read(self.fd, PIPE_SIZE)
        if not data:
            self.closed = True
        self.buffer += data

    def ready(self) -> tuple[Any, ...] | None:
        if len(self.buffer) < 8:
            return None
        size = int.from_bytes(self.buffer[:8], "little")
        if len(self.buffer) < 8 + size:
            return None
        message = pickle.loads(self.buffer[8:8 + size])
        del self.buffer[:8 + size]
        assert isinstance(message, tuple)
        return message

    def receive(self) -> tuple[Any, ...]:
        while True:
            message = self.ready()
            if message is not None:
                return message
            if self.closed:
                return ("crash", "a worker process ended without a word")
            self.fill()


def _pipe() -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    try:
        import fcntl
        fcntl.fcntl(write_fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_SIZE)
    except OSError:
        pass  # (a smaller pipe only means more hand-overs)
    return read_fd, write_fd


@dataclass(slots=True)
class _Child:
    pid: int
    inbox: _In
    control: int
    """Write end of the parent -> worker pipe (-1: none)."""


def _warm() -> None:
    """What every worker would otherwise load for itself on first use: the cause catalog and its tables, the text
    output. Then the objects made so far are left out of the collector's walks (gc.freeze), so that the workers
    do not copy the memory they share with this process by looking at it."""
    from . import catalog
    catalog.catalog()
    catalog.notify_causes()
    catalog.seed_titles()
    gc.freeze()


def _fork(body: Callable[[_Out, int], None], control: bool = False, siblings: Sequence[_Child] = ()) -> _Child:
    """A worker process running `body(output, control read end)`; it leaves with os._exit. `siblings`: the workers
    already started, whose pipe ends it must not hold."""
    if not siblings:
        _warm()
    read_fd, write_fd = _pipe()
    control_read, control_write = os.pipe() if control else (-1, -1)
    pid = os.fork()
    if pid == 0:
        status = 0
        out: _Out | None = None
        try:
            for fd in (read_fd, control_write, *(end for sibling in siblings
                                                   for end in (sibling.inbox.fd, sibling.control))):
                if fd >= 0:
                    os.close(fd)
            out = _Out(write_fd)
            body(out, control_read)
        except BrokenPipeError:
            status = 0
        except BaseException:  # noqa: BLE001 - tell the parent, then leave quietly
            status = 1
            if out is not None:
                with contextlib.suppress(BaseException):
                    out.send(("crash", traceback.format_exc()))
        finally:
            os._exit(status)
    os.close(write_fd)
    if control_read >= 0:
        os.close(control_read)
    return _Child(pid, _In(read_fd), control_write)


def _send(fd: int, message: tuple[Any, ...]) -> None:
    """One length-prefixed pickle to a worker."""
    data = memoryview(len(message_bytes := pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
                      .to_bytes(8, "little") + message_bytes)
    while data:
        data = data[os.write(fd, data):]


def _stop(children: Sequence[_Child]) -> None:
    for child in children:
        for fd in (child.inbox.fd, child.control):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        try:
            os.kill(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(child.pid, 0)
        except ChildProcessError:
            pass


def _crash(message: tuple[Any, ...]) -> NoReturn:
    text = str(message[1]).strip().splitlines()
    if os.environ.get("IKESNIFF_DEBUG"):
        print(message[1], file=sys.stderr)
    raise RuntimeError(f"worker process failed: {text[-1] if text else '?'}")


# --- Ctrl-C ---------------------------------------------------------------------------------------------------
class Gate:
    """Where the workers of a split file stop when the run is interrupted: all at the end of the same window, the
    furthest any of them had entered."""

    def __init__(self) -> None:
        import multiprocessing  # (here: a run that forks no worker does not load it)
        self.lock = multiprocessing.Lock()
        self.values = multiprocessing.RawArray("q", 2)  # stop after window (-1: never), furthest window entered
        self.values[0] = -1

    def open(self) -> None:
        """Before a file: nobody stops, nobody has gone anywhere."""
        with self.lock:
            self.values[0], self.values[1] = -1, 0

    def passing(self, window: int) -> bool:
        """A worker ended window `window`: may it go on?"""
        with self.lock:
            stop = self.values[0]
            if 0 <= stop <= window:
                return False
            self.values[1] = max(self.values[1], window + 1)
            return True

    def close(self) -> None:
        with self.lock:
            if self.values[0] < 0:
                self.values[0] = self.values[1]


# --- a split file's worker ----------------------------------------------------------------------------------
def _read_share(path: str, worker: int, workers: int, options: api.Options, output: Output, gate: Gate,
                out: _Out, orders: _In) -> None:
    """Worker `worker`'s share of a split file (Ctrl-C is the parent's: `gate` says where everybody stops)."""
    analysis = api.Session(options).analysis
    analysis.label = path
    unbound = unbound_sets(analysis.keys)
    try:
        reader = read_capture(path, analysis.stats, options.ike_ports, bpf=options.bpf, worker="never")
    except CaptureError as error:
        out.send(("error", str(error)))
        return
    out.send(("started",))
    tracker = analysis.tracker
    folds: list[tuple[int, FoldedRequests | FoldedAnswers]] = []

    def fold_into(ike_sa: IkeSa) -> None:
        if ike_sa.shard == worker:
            folds.append((tracker.folds, fold_record(ike_sa)))

    tracker.fold_into = fold_into
    items: list[tuple[int, object]] = []
    tunnel_keys: list[tuple[int, ...]] = []
    """The position of the first diagnosis of each tunnel of `analysis.tunnels` (where its verdict goes)."""
    window = 0
    render = output.render
    try:
        for key, item in analysis.process_shard(reader, worker, lambda ike_sa: shard_of(workers, ike_sa), WINDOW,
                                                options.count, options.duration):
            if item is None:
                out.send(("window", items, folds))
                items, folds = [], []
                if not gate.passing(window):
                    break
                window += 1
                continue
            if isinstance(item, DiagnosisEvent) and len(analysis.tunnels) > len(tunnel_keys):
                tunnel_keys.append((0, key))
            rendered = render(item)
            if rendered is not None:
                items.append((key, rendered))
    except CaptureError as error:
        out.send(("window", items, folds))
        out.send(("error", str(error)))
        return
    reader.close()
    out.send(("window", items, folds))
    out.send(("last", analysis.limited))
    esp, ah, tracked = ending(analysis)
    places = {id(ike_sa): place for place, ike_sa in enumerate(tracked)}
    mine = [ike_sa for ike_sa in tracked if ike_sa.shard == worker]
    out.send(("views", [(places[id(ike_sa)], view(ike_sa, esp)) for ike_sa in mine]))
    left_out: set[str] = orders.receive()[0]
    diagnoses: list[tuple[tuple[int, ...], object]] = []
    findings: list[tuple[tuple[int, ...], object]] = []
    for ike_sas in tunnels_of(mine, left_out).values():
        first = places[id(ike_sas[0])]
        for ike_sa in ike_sas:
            place = places[id(ike_sa)]
            for index, event in enumerate(analysis._diagnose(ike_sa, ike_sas, esp, ah)):
                at: tuple[int, ...] = (1, first, place, index)
                if isinstance(event, DiagnosisEvent):
                    if len(analysis.tunnels) > len(tunnel_keys):
                        tunnel_keys.append(at)
                    said = render(event)
                    if said is not None:
                        diagnoses.append((at, said))
                else:
                    said = render(event)
                    if said is not None:
                        findings.append((at, said))
    analysis.tracker.forget_all()
    verdicts = []
    for (peers, state), at in zip(analysis.tunnels.items(), tunnel_keys, strict=True):
        verdict = verdict_of(peers, state)
        verdicts.append((at, render(verdict), verdict.outcome, is_failure(verdict)))
    cut = [render(finding) for finding in truncation(analysis)] if not worker else []
    summary = api.summarise(analysis, [], 0.0)
    out.send(("end", diagnoses, findings, verdicts, cut, analysis.crypto.usage(unbound), summary,
              analysis.own_errors))


# --- a file read whole by a worker --------------------------------------------------------------------------
def _read_whole(index: int, path: str, options: api.Options, output: Output, out: _Out) -> None:
    """File `index` of a run, read on its own (as `api.Session` reads one of several)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C: the file is concluded on what was read
    session = api.Session(options)
    rendered: list[object] = []
    try:
        for item in session.items([path]):
            if isinstance(item, SummaryEvent):
                continue
            one = output.render(item)
            if one is not None:
                rendered.append(one)
                if len(rendered) >= BATCH:
                    out.send(("items", index, rendered))
                    rendered = []
    except CaptureError as error:
        out.send(("items", index, rendered))
        out.send(("error", index, str(error)))
        return
    out.send(("items", index, rendered))
    out.send(("end", index, session.totals, session.failed, session.stopped))


def _worker(worker: int, options: api.Options, output: Output, gate: Gate, out: _Out, control: int) -> None:
    """A worker's life: the files, or shares of files, the parent gives it, one after the other, until it says
    quit."""
    orders = _In(control)
    while True:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        order = orders.receive()
        if order[0] == "file":
            _read_whole(order[1], order[2], options, output, out)
        elif order[0] == "split":
            _read_share(order[1], worker, order[2], options, output, gate, out, orders)
        else:
            return


# --- the parent -----------------------------------------------------------------------------------------------
class RemoteReader:
    """What the progress bar reads of a file a worker reads."""

    def __init__(self, path: str, pid: int) -> None:
        self.name = path
        self.pid = pid
        self.file: FileIdentity | None = None
        self.size: int | None = None
        try:
            status = os.stat(path)
            self.file = FileIdentity(status.st_dev, status.st_ino, status.st_size)
            self.size = status.st_size
        except OSError:
            pass
        self._reached = 0

    def position(self) -> int | None:
        if self.file is None or self.size is None:
            return None
        offset = read_offset(self.pid, self.file)
        self._reached = self.size if offset is None else max(self._reached, min(offset, self.size))
        return self._reached


class Run:
    """The items of a run whose files are read by workers (`plan`), for the outputs, in the order and with the
    content one process gives; `failed` once they are all out; `reader` (for the progress bar)."""

    def __init__(self, files: Sequence[str], options: api.Options, jobs: int, output: Output,
                 groups: list[tuple[str, list[str]]] | None = None) -> None:
        self.files = list(files)
        self.groups = groups if groups is not None else plan(files, jobs, options)
        """`plan(files, jobs, options)`."""
        self.options = options
        self.jobs = jobs
        self.output = output
        self.failed = False
        self.stopped = False
        self.interrupted = 0
        self._reader: Callable[[], Any] = lambda: None
        self.totals: SummaryEvent | None = None
        self.started = time.perf_counter()
        self._gate: Gate | None = None
        self._splitting = False
        self._pool: list[_Child] = []

    def reader(self) -> Any:
        """The reader of the file being read (for the progress bar), or None."""
        return self._reader()

    def items(self) -> Iterator[object]:
        previous = signal.signal(signal.SIGINT, self._interrupt)
        try:
            for how, paths in self.groups:
                if how == "split":
                    yield from self._split(paths[0])
                elif how == "side":
                    yield from self._side_by_side(paths)
                else:
                    yield from self._here(paths[0])
                if self.stopped:
                    break
        finally:
            signal.signal(signal.SIGINT, previous)
            self._quit()
        summary = self.totals if self.totals is not None else api.summarise(Analysis(), [], 0.0)
        summary.files = list(self.files)
        summary.seconds = round(time.perf_counter() - self.started, 3)
        yield summary

    def _interrupt(self, number: int, frame: Any) -> None:
        """Ctrl-C: the file being read ends where the workers can all stop, is concluded, and the run ends (as
        in one process); twice: at once."""
        self.interrupted += 1
        self.stopped = True
        if self.interrupted > 1:
            raise KeyboardInterrupt
        if self._splitting and self._gate is not None:
            self._gate.close()

    def _quit(self) -> None:
        """End the workers (idle, or busy with what will not be written)."""
        _stop(self._pool)
        self._pool.clear()

    def _add(self, summary: SummaryEvent, failed: bool, stopped: bool) -> None:
        self.totals = summary if self.totals is None else api.add_summaries(self.totals, summary)
        self.failed = self.failed or failed
        self.stopped = self.stopped or stopped

    def _here(self, path: str) -> Iterator[object]:
        """A file read in this process, as `api.Session` reads one of several."""
        session = api.Session(self.options)
        self._reader = lambda: session.analysis.reader
        signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C: as in one process
        try:
            for item in session.items([path]):
                if not isinstance(item, SummaryEvent):
                    yield item
        finally:
            signal.signal(signal.SIGINT, self._interrupt)
            self._reader = lambda: None
        assert session.totals is not None
        self._add(session.totals, session.failed, session.stopped)

    def _workers(self) -> list[_Child]:
        """The workers of the run, started at the first file that needs them (one per job)."""
        if self._gate is None:
            self._gate = Gate()
        if not self._pool:
            for worker in range(self.jobs):
                self._pool.append(_fork(self._body(worker), control=True, siblings=self._pool))
        return self._pool

    def _body(self, worker: int) -> Callable[[_Out, int], None]:
        gate = self._gate
        assert gate is not None

        def body(out: _Out, control: int) -> None:
            _worker(worker, self.options, self.output, gate, out, control)
        return body

    def _side_by_side(self, paths: list[str]) -> Iterator[object]:
        """Files read whole by the workers, each given the next file when it is done with one; their items in file
        order (those of a file ahead of the one being written wait here)."""
        import selectors
        pool = self._workers()
        selector = selectors.DefaultSelector()
        waiting: dict[int, list[tuple[Any, ...]]] = {}
        given = 0
        finished = False

        def give(child: _Child) -> None:
            nonlocal given
            if given < len(paths) and not self.stopped:
                _send(child.control, ("file", given, paths[given]))
                given += 1

        try:
            for child in pool:
                selector.register(child.inbox.fd, selectors.EVENT_READ, child)
                give(child)
            head = 0
            while head < given:
                messages = waiting.get(head)
                if not messages:
                    for key, _ in selector.select():
                        child = key.data
                        child.inbox.fill()
                        if child.inbox.closed:
                            _crash(("crash", "a worker process ended without a word"))
                        while (message := child.inbox.ready()) is not None:
                            if message[0] == "crash":
                                _crash(message)
                            waiting.setdefault(message[1], []).append(message)
                            if message[0] in ("end", "error"):
                                give(child)
                    continue
                message = messages.pop(0)
                if message[0] == "items":
                    yield from self.output.batches(message[2])
                elif message[0] == "error":
                    raise CaptureError(message[2])
                else:
                    self._add(*message[2:])
                    del waiting[head]
                    head += 1
                    if self.stopped:
                        return
            finished = True
        finally:
            selector.close()
            if not finished:  # (workers still busy with files that will not be written)
                self._quit()

    def _split(self, path: str) -> Iterator[object]:
        """One file split among the workers; their streams merged into the order of one process."""
        children = self._workers()
        gate = self._gate
        assert gate is not None
        output = self.output
        finished = False
        try:
            gate.open()
            self._splitting = True
            for child in children:
                _send(child.control, ("split", path, len(children)))
            first = self._all(children)
            if first[0][0] == "error":
                finished = True
                raise CaptureError(first[0][1])
            remote = RemoteReader(path, children[0].pid)
            self._reader = lambda: remote
            crowd = Crowd()
            while True:
                messages = self._all(children)
                kind = messages[0][0]
                if kind != "window":
                    break
                rendered = [one for message in messages for one in message[1]]
                rendered.sort(key=itemgetter(0))
                yield from output.batches([one for _, one in rendered])
                folds = [one for message in messages for one in message[2]]
                folds.sort(key=itemgetter(0))
                for _, record in folds:
                    crowd.add(record)
            if kind == "error":
                finished = True
                raise CaptureError(messages[0][1])
            limited = any(message[1] for message in messages)
            views: list[tuple[int, SaView]] = [one for message in self._all(children, "views") for one in message[1]]
            views.sort(key=itemgetter(0))
            noise = assess([one for _, one in views], crowd, path)
            for child in children:
                _send(child.control, (noise.left_out,))
            ends = self._all(children, "end")
            finished = True
        finally:
            self._splitting = False
            self._reader = lambda: None
            if not finished:
                self._quit()
        diagnoses = sorted((one for end in ends for one in end[1]), key=itemgetter(0))
        findings = sorted((one for end in ends for one in end[2]), key=itemgetter(0))
        verdicts = sorted((one for end in ends for one in end[3]), key=itemgetter(0))
        usages: list[KeyUsage] = [end[5] for end in ends]
        total, unused, psks = merged_unused(self.options.keys, usages)
        render = output.render
        yield from output.batches([one for _, one in diagnoses])
        yield from output.batches([*(render(finding) for finding in noise.findings), *ends[0][4],
                                   *(one for _, one in findings),
                                   *(render(finding) for finding in keys_unused(path, total, unused, psks))])
        yield from output.batches([one for _, one, _, _ in verdicts])
        summary: SummaryEvent = ends[0][6]
        summary.ike_sas = sum(end[6].ike_sas for end in ends)
        summary.tunnels = sum(end[6].tunnels for end in ends)
        summary.decode_errors += sum(end[7] for end in ends[1:])
        outcomes: dict[str, int] = {}
        for _, _, outcome, _ in verdicts:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        summary.outcomes = outcomes
        self._add(summary, any(failure for *_, failure in verdicts), limited)

    def _all(self, children: list[_Child], kind: str | None = None) -> list[tuple[Any, ...]]:
        """The next message of every worker (they go in step); a crash or a message out of step ends the run."""
        messages = [child.inbox.receive() for child in children]
        kinds = {message[0] for message in messages}
        if "crash" in kinds:
            _crash(next(message for message in messages if message[0] == "crash"))
        if len(kinds) != 1 or (kind is not None and kinds != {kind}):
            raise RuntimeError(f"worker processes out of step: {sorted(kinds)}")
        return messages


__all__ = ["Output", "Run", "default_jobs", "plan", "shard_of", "usable"]
