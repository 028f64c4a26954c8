"""Run the capture pipeline in a forked worker process, so that it overlaps with the caller's work.

Why: libpcap (through pcapy) holds the GIL while it reads, and reading plus triage of a large capture
takes about as long as everything the caller does with the IKE messages (dissecting, tracking,
writing JSON). In one process the two add up; with a worker they run side by side on two cores.
Only the events cross the process boundary (about one frame in a hundred on a gateway capture), as
plain tuples in pickle frames over a pipe, with the counters of `CaptureStats`; a window's ESP flows
cross as numpy columns, and the parent (which has time to spare) makes the sightings and keeps the
flow tables of `CaptureStats` from them.

Protocol (child -> parent), one pickled tuple per message:
    ("started",)                                  the first batch was read: no opening problem
    ("error", text)                               CaptureError before any frame: nothing else follows
    ("chunk", datagrams, events, frames, flows, keys, counters)
                                                  the simple IKE datagrams of each batch (columns), the
                                                  other events (encoded) with their frames, the window's
                                                  flow columns (or None), the flow keys new since the
                                                  last chunk, the counters
    ("end", counters, link_types)
    ("crash", text)                               an unexpected exception in the worker

The worker never outlives its reader: closing the iterator (or the parent ending) kills it, and the
child writes into a pipe whose reader is gone only to get EPIPE. The child leaves with os._exit so
that nothing of the parent (atexit handlers, buffered stdout) runs twice.

This module knows nothing of formats or IKE; it moves events.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import traceback
from collections.abc import Callable, Iterator
from dataclasses import fields
from typing import Any, BinaryIO

from .batches import CaptureError
from .events import CaptureStats, EspSighting, FrameProblem, IcmpError, IkeDatagram
from .flows import FlowKey, WindowFlows, account
from .pipeline import Chunk, Datagrams, Pipeline

Event = IkeDatagram | EspSighting | IcmpError | FrameProblem
EVENT_TYPES: tuple[type[Any], ...] = (IkeDatagram, EspSighting, IcmpError, FrameProblem)
_FIELDS = {kind: tuple(field.name for field in fields(kind) if field.init) for kind in EVENT_TYPES}
COUNTERS = tuple(field.name for field in fields(CaptureStats) if field.type in ("int", int))
PIPE_BUFFER = 1 << 20


def available() -> bool:
    return hasattr(os, "fork")


def _encode(event: Event) -> tuple[Any, ...]:
    kind = EVENT_TYPES.index(type(event))
    return (kind, *(getattr(event, name) for name in _FIELDS[type(event)]))


def _counters(stats: CaptureStats) -> tuple[int, ...]:
    return tuple(getattr(stats, name) for name in COUNTERS)


Producer = Callable[[CaptureStats], tuple[Pipeline, Iterator[Chunk]]]


def _child(write_fd: int, produce: Producer) -> None:
    """The worker's whole life; never returns."""
    status = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        out = os.fdopen(write_fd, "wb", buffering=PIPE_BUFFER)
        stats = CaptureStats()
        dump = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)

        def send(message: tuple[Any, ...]) -> None:
            dump.dump(message)
            dump.clear_memo()
            out.flush()

        try:
            pipeline, chunks = produce(stats)
        except CaptureError as error:
            send(("error", str(error)))
            return
        pipeline.flows.account = False                # the parent keeps the flow tables
        send(("started",))
        keys = pipeline.flows.keys
        keys_sent = 0
        for chunk in chunks:
            other = [_encode(event) for event in chunk.other]
            datagrams = [columns.columns() for columns in chunk.datagrams]
            flows = chunk.flows.columns() if chunk.flows is not None else None
            send(("chunk", datagrams, other, chunk.frames, flows, keys[keys_sent:], _counters(stats)))
            keys_sent = len(keys)
        send(("end", _counters(stats), stats.link_types))
    except BrokenPipeError:
        status = 0
    except BaseException:  # noqa: BLE001 - report anything to the parent, then leave quietly
        status = 1
        with contextlib.suppress(BaseException):
            send(("crash", traceback.format_exc()))
    finally:
        os._exit(status)


def run(produce: Producer, stats: CaptureStats) -> Iterator[Event]:
    """Start `produce` in a worker; raise CaptureError now if it fails before the first frame.

    `produce(stats)` must return the pipeline and its chunks (opening errors raised by the call itself).
    Counters are added to `stats` as events arrive; the ESP/AH flow tables and link types at the end."""
    return start(produce, stats)[1]


def start(produce: Producer, stats: CaptureStats) -> tuple[int, Iterator[Event]]:
    """`run`, and the worker's process id (where its reading position can be looked up)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(write_fd, produce)
    os.close(write_fd)
    source = os.fdopen(read_fd, "rb", buffering=PIPE_BUFFER)
    try:
        first = _receive(source)
        if first[0] == "error":
            raise CaptureError(first[1])
        if first[0] == "crash":
            raise RuntimeError(f"capture worker failed:\n{first[1]}")
    except BaseException:
        _stop(pid, source)
        raise
    return pid, _events(pid, source, stats)


def _receive(source: BinaryIO) -> tuple[Any, ...]:
    try:
        message = pickle.load(source)
    except EOFError:
        return ("crash", "the capture worker ended without a word")
    assert isinstance(message, tuple)
    return message


def _events(pid: int, source: BinaryIO, stats: CaptureStats) -> Iterator[Event]:
    seen = [0] * len(COUNTERS)
    builders = EVENT_TYPES
    keys: list[FlowKey] = []
    try:
        while True:
            message = _receive(source)
            kind = message[0]
            if kind == "chunk":
                _, datagrams, encoded, frames, flows, new_keys, counters = message
                _add_counters(stats, seen, counters)
                keys.extend(new_keys)
                other = [builders[item[0]](**dict(zip(_FIELDS[builders[item[0]]], item[1:], strict=True)))
                         for item in encoded]
                window = WindowFlows.from_columns(flows) if flows is not None else None
                if window is not None:
                    account(stats, window, keys)
                yield from Chunk([Datagrams(*columns) for columns in datagrams], frames, other, window).events(keys)
            elif kind == "end":
                _add_counters(stats, seen, message[1])
                stats.link_types |= message[2]
                return
            else:
                raise RuntimeError(f"capture worker failed:\n{message[1]}")
    finally:
        _stop(pid, source)


def _add_counters(stats: CaptureStats, seen: list[int], counters: tuple[int, ...]) -> None:
    for position, (name, value) in enumerate(zip(COUNTERS, counters, strict=True)):
        if value != seen[position]:
            setattr(stats, name, getattr(stats, name) + value - seen[position])
            seen[position] = value


def _stop(pid: int, source: BinaryIO) -> None:
    try:
        source.close()
    except OSError:
        pass
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
