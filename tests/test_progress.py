"""How far reading a capture has got (CaptureReader.position) and the progress bar drawn from it.

The big captures are the lab's DPD-timeout capture (IKE and ESP) repeated, each copy ten seconds later,
so the byte offset where every frame ends is known exactly."""

from __future__ import annotations

import fcntl
import gzip
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from ikesniff import progress
from ikesniff.capture import CaptureStats, IkeDatagram, pipeline, read_capture

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "pcaps" / "ikev2-dpd-timeout.pcap"
BIG = 16_000_000


def write_big_capture(path: Path, octets: int, compress: bool = False) -> list[int]:
    """Repeat the template's records until the file holds `octets`; the offset where each frame ends."""
    data = TEMPLATE.read_bytes()
    records = []
    position = 24
    while position < len(data):
        seconds, fraction, captured, wire = struct.unpack_from("<IIII", data, position)
        records.append((seconds, fraction, data[position + 16:position + 16 + captured], wire))
        position += 16 + captured
    out = bytearray(data[:24])
    ends: list[int] = []
    copy = 0
    while len(out) < octets:
        for seconds, fraction, packet, wire in records:
            out += struct.pack("<IIII", seconds + 10 * copy, fraction, len(packet), wire) + packet
            ends.append(len(out))
        copy += 1
    path.write_bytes(gzip.compress(bytes(out), 6) if compress else bytes(out))
    return ends


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[int]]:
    directory = tmp_path_factory.mktemp("big")
    ends = write_big_capture(directory / "big.pcap", BIG)
    write_big_capture(directory / "big.pcap.gz", BIG, compress=True)
    return directory / "big.pcap", directory / "big.pcap.gz", ends


@pytest.mark.parametrize("worker", ["never", "always"])
def test_position_follows_the_frames_read_to_the_file_size(big: tuple[Path, Path, list[int]], worker: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """In this process (libpcap) and in the forked worker: never behind the frame just handed on, never
    more than a few windows ahead of it, and the whole file at the end."""
    monkeypatch.setattr(pipeline, "WINDOW_FRAMES", 2048)    # hand frames on in small steps
    path, _, ends = big
    reader = read_capture(str(path), CaptureStats(), worker=worker, batch_size=1024)
    assert reader.size == path.stat().st_size == ends[-1]
    samples = []
    for number, item in enumerate(reader):
        if isinstance(item, IkeDatagram) and number % 16 == 0:
            position = reader.position()
            assert position is not None
            samples.append(position)
            assert ends[item.frame - 1] <= position <= reader.size
            assert position - ends[item.frame - 1] < 4_000_000, (item.frame, position)
    assert samples == sorted(samples)
    assert len(set(samples)) >= 10
    assert samples[len(samples) // 2] < 0.8 * reader.size
    assert reader.position() == reader.size


@pytest.mark.parametrize("worker", ["never", "always"])
def test_position_in_a_gzip_file_is_the_compressed_offset(big: tuple[Path, Path, list[int]], worker: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "WINDOW_FRAMES", 2048)
    _, path, ends = big
    reader = read_capture(str(path), CaptureStats(), worker=worker, batch_size=1024)
    size = path.stat().st_size
    assert reader.size == size < ends[-1] // 10
    samples = []
    for number, item in enumerate(reader):
        if isinstance(item, IkeDatagram) and number % 16 == 0:
            samples.append(reader.position())
            share_read = ends[item.frame - 1] / ends[-1]
            # the compressed offset is about proportional to the frames read (the copies compress alike)
            assert samples[-1] is not None and samples[-1] >= 0.9 * share_read * size
    assert samples == sorted(samples)
    assert len(set(samples)) >= 10
    assert 0.2 * size < samples[len(samples) // 2] < 0.8 * size
    assert reader.position() == size


def test_no_position_for_a_pipe(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    feeder = threading.Thread(target=lambda: fifo.write_bytes(TEMPLATE.read_bytes()))
    feeder.start()
    reader = read_capture(str(fifo), CaptureStats(), worker="never")
    assert reader.size is None and reader.position() is None
    assert sum(isinstance(item, IkeDatagram) for item in reader) == 8
    feeder.join()
    bar = progress.ReadProgress(lambda: reader, threshold=0)
    assert bar.poll() is False


def test_bar_is_due_only_above_the_threshold(big: tuple[Path, Path, list[int]],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path = big[0]
    current = {"reader": read_capture(str(TEMPLATE), CaptureStats())}
    bar = progress.ReadProgress(lambda: current["reader"])
    assert progress.THRESHOLD == 50_000_000
    assert bar.poll() is False                                    # 2.6 kB
    current["reader"] = read_capture(str(path), CaptureStats(), worker="never")
    assert bar.poll() is False                                    # 16 MB: below 50 MB
    monkeypatch.setattr(progress, "THRESHOLD", BIG // 2)
    assert bar.poll() is True
    assert bar.samples[-1][1] == path.stat().st_size
    for _ in current["reader"]:
        pass
    assert bar.poll() is True and bar.samples[-1] == (path.stat().st_size, path.stat().st_size)
    current["reader"] = None
    assert bar.poll() is False


def test_a_fork_waits_for_the_drawing_thread() -> None:
    """The capture worker is never forked while a display thread holds a console or stream lock."""
    drawing = threading.Event()

    def draw() -> None:
        with progress.DRAWING:
            drawing.set()
            time.sleep(0.4)

    thread = threading.Thread(target=draw)
    thread.start()
    drawing.wait()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os._exit(0 if progress.DRAWING.acquire(blocking=False) else 1)   # free in the child
    waited = time.monotonic() - started
    _, status = os.waitpid(pid, 0)
    thread.join()
    assert waited >= 0.3
    assert os.waitstatus_to_exitcode(status) == 0


# --- the bar on a terminal --------------------------------------------------------------------------------
SCRIPT = """
import sys
from ikesniff import capture, progress
from ikesniff.analysis import Analysis
path, threshold, worker = sys.argv[1], int(sys.argv[2]), sys.argv[3]
progress.THRESHOLD = threshold
capture.WORKER = worker
capture.pipeline.WINDOW_FRAMES = 2048    # frames handed on in small steps: the bar moves in small steps
analysis = Analysis()
readers = []
with progress.progress_bar(lambda: readers[-1] if readers else None) as bar:
    analysis.label = path
    readers.append(capture.read_capture(path, analysis.stats, analysis.ike_ports))
    for item in analysis.process(readers[-1]):
        pass
print(analysis.messages, "messages,", "bar" if bar is not None else "no bar")
"""

RICH_ENVIRONMENT = ("COLUMNS", "LINES", "FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE",
                    "FORCE_TERMINAL", "JUPYTER_COLUMNS", "JUPYTER_LINES")


def run(path: Path, threshold: int, worker: str = "never",
        stderr_on_terminal: bool = True) -> tuple[bytes, bytes]:
    """Run the CLI's reading loop with the bar in a child whose stderr is a pseudo-terminal (or a pipe)
    and whose stdout is a pipe; what each received."""
    environment = {key: value for key, value in os.environ.items() if key not in RICH_ENVIRONMENT}
    environment["TERM"] = "xterm-256color"
    terminal = None
    if stderr_on_terminal:
        terminal, stderr_end = os.openpty()
        fcntl.ioctl(stderr_end, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    child = subprocess.Popen([sys.executable, "-c", SCRIPT, str(path), str(threshold), worker], cwd=ROOT,
                             stdout=subprocess.PIPE,
                             stderr=stderr_end if terminal is not None else subprocess.PIPE,
                             env=environment)
    if terminal is None:
        out, err = child.communicate(timeout=120)
        return out, err
    os.close(stderr_end)
    received = bytearray()
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([terminal], [], [], 0.2)
            if ready:
                try:
                    piece = os.read(terminal, 65536)
                except OSError:              # EIO: the child closed its end
                    break
                if not piece:
                    break
                received += piece
            elif child.poll() is not None:
                break
        assert child.stdout is not None
        out = child.stdout.read()
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
        os.close(terminal)
    assert child.returncode == 0, bytes(received).decode(errors="replace")
    return out, bytes(received)


@pytest.mark.parametrize("worker", ["never", "always"])
def test_bar_on_a_terminal_grows_and_is_erased_at_the_end(big: tuple[Path, Path, list[int]],
                                                          worker: str) -> None:
    path = big[0]
    out, terminal = run(path, BIG // 2, worker)
    assert re.fullmatch(rb"\d+ messages, bar\n", out)           # stdout: only what the program printed
    text = terminal.decode()
    assert "big.pcap" in text and "━" in text and "/16.0 MB" in text
    percents = [int(value) for value in re.findall(r"(\d+)%", text)]
    # (the last drawing may come a little before the end: the bar is erased, not drawn full, at the end)
    assert percents == sorted(percents) and percents[-1] >= 50, percents
    assert len(set(percents)) >= 3, percents
    # Erased at the end: after the last drawing, the line is cleared and the cursor shown again.
    tail = text[text.rindex("%"):]
    assert "\x1b[2K" in tail and "\x1b[?25h" in tail
    assert "━" not in tail


def test_no_bar_when_stderr_is_a_pipe(big: tuple[Path, Path, list[int]]) -> None:
    out, err = run(big[0], BIG // 2, stderr_on_terminal=False)
    assert re.fullmatch(rb"\d+ messages, no bar\n", out)
    assert err == b""


def test_no_bar_for_a_small_file_on_a_terminal() -> None:
    out, terminal = run(TEMPLATE, BIG // 2)
    assert out == b"8 messages, bar\n"                          # the bar was ready, never due
    assert terminal == b""
