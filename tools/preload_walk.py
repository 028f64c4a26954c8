#!/usr/bin/env python3
"""What ikesniff imports or reads from its installation after the privilege drop, found by running it.

After `-Z USER` drops root, the process may no longer read its own installation: a Python under /root
(pyenv), a venv in a private home, a checkout in a 0700 directory. Whatever it imports later then fails
("No module named 'numpy.ma'": numpy, rich and others import submodules on first use). So
`ikesniff.privileges.preload_code` imports, before the drop, every module of ikesniff and dissectors
and the modules listed in ikesniff/data/preload_modules.txt. This script finds that list:

1. it loads what `preload_code` loads, as the capture does just before dropping root;
2. from there on, a meta-path finder records every module imported for the first time and an audit
   hook every file or directory opened under the installation (sys.prefix, sys.base_prefix, the
   ikesniff and dissectors packages);
3. it runs what happens after the drop, in process: the analysis of every capture in pcaps/ with its
   keys (charon logs, Wireshark tables) and PSK, as message lines, decoded trees (-v), JSON Lines and
   the three reports (HTML, Markdown, JSON), redacted and not, -w, -c, a stream read as it arrives
   (early verdicts), the live board drawn on an 80-column colour terminal, a live capture on the
   loopback interface when run as root, and damaged inputs (a cut capture, a file that is no capture,
   the public corpus in ../shared/corpus/external when present, malformed payloads among them).

Usage: .venv/bin/python tools/preload_walk.py --check        exit 1 and list what step 3 loaded
       .venv/bin/python tools/preload_walk.py --write        rewrite the list from a walk without it
       .venv/bin/python tools/preload_walk.py --check --drop nobody
                                         (root) really become nobody between steps 1 and 2 (the inputs
                                         are copied first where any user may read them)

tests/test_privileges_preload.py runs the check. This script prints no key or PSK.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.abc
import importlib.machinery
import io
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import types
from collections.abc import Iterator, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PCAPS = REPO / "pcaps"
CORPUS = REPO.parent / "shared" / "corpus" / "external"
"""Public captures (damaged ones among them), walked too when present."""
CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".pcap.gz", ".pcapng.gz", ".cap")
LIST_FILE = REPO / "ikesniff" / "data" / "preload_modules.txt"
LIST_HEADER = """\
# Modules imported on first use, after the privilege drop, by what ikesniff runs then (numpy's, rich's,
# the codecs...): ikesniff/privileges.py imports each of them before dropping root. Written by
# tools/preload_walk.py --write from a run of every capture in pcaps/; a module missing from the
# installed versions is skipped. One module name per line.
"""


class Recorder(importlib.abc.MetaPathFinder):
    """Notes each module that is looked for (not in sys.modules yet) and each file or directory opened
    under `roots`, while `active`. It finds nothing itself: the import goes on as it would."""

    def __init__(self, roots: Sequence[Path]) -> None:
        self.roots = tuple(str(root.resolve()) + os.sep for root in roots)
        self.active = False
        self.modules: list[str] = []
        self.files: list[str] = []

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if self.active and fullname not in self.modules:
            self.modules.append(fullname)
        return None

    def audit(self, event: str, args: tuple[object, ...]) -> None:
        if not self.active or event not in ("open", "os.listdir", "os.scandir") or not args:
            return
        path = args[0]
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if isinstance(path, str) and os.path.abspath(path).startswith(self.roots) and path not in self.files:
            self.files.append(path)


def install_roots() -> list[Path]:
    import dissectors
    import ikesniff
    roots = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)}
    roots |= {Path(package.__file__ or "").parent for package in (ikesniff, dissectors)}
    return sorted(roots)


# --- what runs after the drop ----------------------------------------------------------------------------

def label_psk(capture: Path) -> str | None:
    """The PSK the lab configured on moon (the capturing host) for this capture, if any."""
    label = capture.with_suffix(".json")
    if not label.exists():
        return None
    configured = json.loads(label.read_text(encoding="utf-8")).get("configured", {})
    psk = configured.get("moon", {}).get("psk")
    return psk if isinstance(psk, str) else None


def failure_capture(inputs: Path) -> Path:
    """A capture of a failed tunnel (a PSK mismatch: a diagnosis, findings and a verdict to write)."""
    failure = inputs / "ikev2-psk-mismatch.pcap"
    return failure if failure.exists() else min(inputs.glob("*.pcap"))


def invocations(inputs: Path, out: Path) -> Iterator[list[str]]:
    """Command lines for every capture: plain, -v with every key and the PSK, JSON; and once each the
    reports, redaction, -w and the stops."""
    captures = sorted(inputs.glob("*.pcap"))
    for index, capture in enumerate(captures):
        keys: list[str] = []
        for extra in sorted(inputs.glob(capture.stem + ".*")):
            if extra.name.endswith(("charon.log", "_decryption_table")) and ".sun." not in extra.name:
                keys += ["--keys", str(extra)]
        psk = label_psk(capture)
        with_psk: list[str] = []
        if psk is not None:
            psk_file = out / f"{index}.psk"
            psk_file.write_text(psk + "\n", encoding="utf-8")
            with_psk = ["--psk-file", str(psk_file)]
        yield ["-r", str(capture)]
        yield ["-r", str(capture), "-v", *keys, *with_psk]
        yield ["-r", str(capture), "--json", "-v", *keys, *with_psk]
        yield ["-r", str(capture), "--json", "--redact", *keys]
    chosen = failure_capture(inputs)
    for suffix in ("html", "md", "json"):
        yield ["-r", str(chosen), "-q", "--report", str(out / f"report.{suffix}")]
        yield ["-r", *[str(c) for c in captures[:6]], "--redact", "-q", "--report", str(out / f"redacted.{suffix}")]
    yield ["-r", str(chosen), "--redact", "-v", "-w", str(out / "written.pcap")]
    yield ["-r", str(chosen), "-c", "2", "-w", str(out / "two.pcap")]
    yield ["-r", str(chosen), "--duration", "0.5", "-q"]
    yield ["-r", *[str(c) for c in captures[:4]], "--merge", "-q", "--syslog", "127.0.0.1:9"]
    yield ["-r", *[str(c) for c in captures[:4]], "-v"]


def damaged_invocations(inputs: Path, out: Path) -> Iterator[list[str]]:
    """Inputs that end in a one-line error or in decode errors: a cut capture, a file that is no
    capture, and the public corpus's captures (malformed payloads among them)."""
    whole = failure_capture(inputs).read_bytes()
    (out / "cut.pcap").write_bytes(whole[: len(whole) * 2 // 3])
    (out / "text.pcap").write_bytes(b"not a capture\n")
    yield ["-r", str(out / "cut.pcap"), "-v"]
    yield ["-r", str(out / "text.pcap")]
    for capture in sorted(inputs.glob("corpus/**/*")):
        if capture.name.endswith(CAPTURE_SUFFIXES):
            yield ["-r", str(capture), "-v"]
            yield ["-r", str(capture), "--json", "-v"]


@contextlib.contextmanager
def captured_output(stdin: bytes = b"") -> Iterator[tuple[io.TextIOWrapper, io.TextIOWrapper]]:
    """Standard input, output and error as in-memory files (with .buffer, as the command line uses)."""
    saved = sys.stdin, sys.stdout, sys.stderr
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    stderr = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    sys.stdout, sys.stderr = stdout, stderr
    try:
        yield stdout, stderr
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved


def run_command(args: list[str], stdin: bytes = b"", expected: tuple[object, ...] = (0, 1, None)) -> str | None:
    """ikesniff ARGS in this process; a problem (another exit status, an internal error) as one line."""
    from ikesniff import cli
    with captured_output(stdin) as (_, stderr):
        try:
            cli.main_command(args=args, prog_name="ikesniff", standalone_mode=False)
            status: object = 0
        except SystemExit as leaving:
            status = leaving.code
        except Exception as error:  # noqa: BLE001 - reported, as the command line would
            status = f"{type(error).__name__}: {error}"
        stderr.flush()
        errors = stderr.buffer.getvalue().decode("utf-8", "replace")  # type: ignore[attr-defined]
    if status in expected and "internal error" not in errors:
        return None
    return f"ikesniff {' '.join(Path(a).name if os.sep in a else a for a in args)}: {status} {errors.strip()}"


def draw_board(inputs: Path) -> None:
    """The live board on an 80-column colour terminal, fed with the messages and verdicts of captures."""
    from rich.console import Console

    from ikesniff.analysis import Analysis, DecodedMessage, conclude
    from ikesniff.live_view import LiveDisplay, TunnelBoard, verdict_headline, verdict_line
    for capture in sorted(inputs.glob("*.pcap"))[:8]:
        analysis = Analysis(ike_ports=frozenset({500, 4500}))
        board = TunnelBoard()
        console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor", width=80,
                          height=24, highlight=False)
        display = LiveDisplay(board, console, stats=analysis.stats, drops=lambda: (10, 1, 0), clock=time.time,
                              refresh_per_second=50)
        display.start()
        for item in analysis.run(str(capture)):
            if isinstance(item, DecodedMessage):
                board.message(item.event)
        time.sleep(0.05)
        for verdict in conclude(analysis).verdicts:
            board.verdict(verdict)
            verdict_headline(verdict)
            verdict_line(verdict, time.time())
        display.stop()


class Loopback:
    """(root) A live capture on lo, opened before the drop as `ikesniff -i` opens its capture; after it,
    IKE messages taken from the captures are sent over lo to a UDP port nothing listens on (an extra
    IKE port, as --ike-port gives), and the run goes as `ikesniff -i lo --json -v` would."""

    def __init__(self, inputs: Path) -> None:
        from ikesniff.analysis import Analysis, DecodedMessage
        from ikesniff.capture.live import LiveSource
        self.datagrams: list[bytes] = []
        for capture in sorted(inputs.glob("ikev*.pcap"))[:6]:
            for item in Analysis(ike_ports=frozenset({500, 4500})).run(str(capture)):
                if isinstance(item, DecodedMessage) and item.datagram is not None and item.event.dport == 500:
                    self.datagrams.append(bytes(item.datagram.data))
                    break
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:   # a port nothing listens on
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.ports = frozenset({500, 4500, self.port})
        self.source = LiveSource("lo", ike_ports=self.ports)

    def run(self) -> str | None:
        from ikesniff import api
        from ikesniff.cli import Options, _drive, _sinks
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

        def send() -> None:
            for _ in range(3):
                for datagram in self.datagrams:
                    sender.sendto(datagram, ("127.0.0.1", self.port))
                time.sleep(0.3)
            time.sleep(0.5)
            self.source.stop()

        thread = threading.Thread(target=send, daemon=True)
        status: object = 0
        with captured_output():
            session = api.Session(api.Options(ike_ports=self.ports, early=True))
            analysis = session.analysis
            sinks = _sinks(Options(True, True, False, None, None, None, None, False), ["lo"], stream=True,
                           live=self.source, session=session)
            thread.start()
            try:
                _drive(session, session.items([], live=self.source), sinks, self.source)
            except SystemExit as leaving:          # the drive ends with the run's exit status
                status = leaving.code
        thread.join()
        sender.close()
        if analysis.messages < len(self.datagrams):
            return f"live capture on lo: {analysis.messages} IKE messages seen of {3 * len(self.datagrams)} sent"
        return None if status in (0, 1, None) else f"live capture on lo: exit status {status}"


def workload(inputs: Path, out: Path, live: Loopback | None) -> list[str]:
    problems = [problem for args in invocations(inputs, out) if (problem := run_command(args)) is not None]
    problems += [problem for args in damaged_invocations(inputs, out)
                 if (problem := run_command(args, expected=(0, 1, 2, None))) is not None]
    stream = (inputs / "ikev2-psk-mismatch.pcap")
    if stream.exists():
        for extra in (["--json"], ["-v"], ["-q", "--redact", "--report", str(out / "stream.html")]):
            problem = run_command(["-r", "-", *extra], stdin=stream.read_bytes())
            if problem is not None:
                problems.append(problem)
    draw_board(inputs)
    if live is not None:
        problem = live.run()
        if problem is not None:
            problems.append(problem)
    return problems


# --- the walk ---------------------------------------------------------------------------------------------

def copy_inputs(destination: Path) -> Path:
    """The captures, logs, key tables and labels, where any user may read them."""
    destination.mkdir(mode=0o755)
    for path in PCAPS.iterdir():
        if path.is_file():
            shutil.copyfile(path, destination / path.name)
            os.chmod(destination / path.name, 0o644)
    if CORPUS.is_dir():
        shutil.copytree(CORPUS, destination / "corpus")
        for directory, _, files in os.walk(destination / "corpus"):
            os.chmod(directory, 0o755)
            for name in files:
                os.chmod(os.path.join(directory, name), 0o644)
    return destination


def walk(directory: Path, with_list: bool, drop: str | None) -> tuple[Recorder, list[str]]:
    """Steps 1 to 3 in `directory` (inputs copied there and outputs written there)."""
    sys.path.insert(0, str(REPO))
    from ikesniff import privileges
    inputs = copy_inputs(directory / "inputs")
    out = directory / "out"
    out.mkdir()
    os.chmod(out, 0o777)                           # the dropped user writes the reports here
    live = Loopback(inputs) if os.geteuid() == 0 else None
    recorder = Recorder(install_roots())
    if drop is not None:
        privileges.drop_privileges(drop)           # preloads as -Z does, the list included
    else:
        privileges.preload_code(listed=with_list)
    sys.meta_path.insert(0, recorder)
    sys.addaudithook(recorder.audit)
    recorder.active = True
    try:
        problems = workload(inputs, out, live=live)
    finally:
        recorder.active = False
    return recorder, problems


def report(recorder: Recorder, problems: list[str], write: bool) -> int:
    for problem in problems:
        print(f"failed: {problem}", file=sys.stderr)
    if write:
        LIST_FILE.write_text(LIST_HEADER + "".join(f"{name}\n" for name in sorted(recorder.modules)),
                             encoding="utf-8")
        print(f"wrote {len(recorder.modules)} modules to {LIST_FILE}")
        return 1 if problems else 0
    for name in recorder.modules:
        print(f"imported after the drop: {name}")
    for path in recorder.files:
        print(f"read from the installation after the drop: {path}")
    return 1 if problems or recorder.modules or recorder.files else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--check", action="store_true", help="exit 1 when the walk loads anything new")
    action.add_argument("--write", action="store_true", help="rewrite " + str(LIST_FILE.relative_to(REPO)))
    parser.add_argument("--drop", metavar="USER", help="(root) become USER before the walk, as -Z does")
    args = parser.parse_args()
    if args.drop is not None and (args.write or os.geteuid() != 0):
        parser.error("--drop needs root, and goes with --check")
    directory = Path(tempfile.mkdtemp(prefix="ikesniff-walk-"))
    os.chmod(directory, 0o755)
    try:
        if args.drop is None:
            return report(*walk(directory, with_list=not args.write, drop=None), write=args.write)
        # the walk in a child that gives up root; this process keeps root to remove what it wrote
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            status = 2
            try:
                status = report(*walk(directory, with_list=True, drop=args.drop), write=False)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
