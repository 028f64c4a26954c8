#!/usr/bin/env python3
"""Live-capture load benchmark: tcpreplay IKE traffic into a veth at rising rates while `ikesniff -i`
listens on the other end, and find the highest rate it takes with no kernel drop and no lost message.

    sudo .venv/bin/python bench/replay.py                       # 2k, 5k, 10k, 20k, 40k pps, 5 s each
    sudo .venv/bin/python bench/replay.py --rates 15000 20000 --seconds 10
    sudo .venv/bin/python bench/replay.py --via api             # the live layer + Analysis, no CLI output
    sudo .venv/bin/python bench/replay.py --via capture         # the live layer alone (its ceiling)

Two network namespaces joined by a veth pair (198.51.100.1 and .2, documentation addresses, MTU 9000
for the largest IKE frames; nothing touches the host's interfaces). The first RATE x SECONDS packets of
the capture are read once with `ikesniff -r` for the number N of IKE messages a lossless capture gives.
Then, per rate: ikesniff starts in the receiving namespace, told to stop at the N-th message
(`ikesniff -i eth0 --json -c N -Z nobody`, or with `--via api` a small driver of `capture.live` and
`Analysis.run_live` that writes nothing); once its two capture handles are open, tcpreplay sends the
packets (`--pps RATE --limit`). The benchmark notes when the N-th message came out (the CLI writes
each JSON line as it goes; the driver says when), or sends Ctrl-C once no more can come. A rate
passes when the kernel dropped nothing, ikesniff counted all N messages, and it had handled the last
one at most MAX_CATCH_UP seconds after tcpreplay sent the last packet: a rate it cannot keep up with
loses nothing as long as the kernel ring (16 MiB) holds the backlog ("backlog"), but no longer.

The capture is `bench/out/ike-only.pcap` (bench/generate.py, made if missing): real IKEv1/IKEv2
messages of ~20,000 IKE SAs between 2,048 host pairs, on UDP 500 and 4500, with VLAN tags, IPv6 and
NAT-mapped ports; every frame is one IKE message. `--pcap FILE` replays another capture (Ethernet).

Prints a table, writes bench/out/replay.json. Needs root, iproute2, tcpreplay. Not a unit test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from lab import netlab

DEFAULT_RATES = [2000, 5000, 10000, 20000, 40000]
TARGET_PPS = 20000
TOPOLOGY = {
    "namespaces": ["tx", "rx"],
    "links": [(("tx", "eth0", "198.51.100.1/24"), ("rx", "eth0", "198.51.100.2/24"))],
    "routes": {},
    "forwarding": [],
    "iptables": {},
}
MAX_CATCH_UP = 1.0
"""Seconds ikesniff may still work after the last packet for the rate to count as kept up with: a
rate it is slower than loses nothing as long as the kernel ring (16 MiB) holds the backlog, but
only for as many seconds as the ring lasts."""

SUMMARY_LINE = re.compile(r"(?P<frames>\d+) frames, (?P<messages>\d+) IKE messages, .*?"
                          r"(?P<received>\d+) packets received by the filter, (?P<dropped>\d+) dropped by the kernel")

API_DRIVER = r"""
import json, signal, sys, time
from ikesniff.analysis import DecodedMessage
from ikesniff.api import Options, Session
from ikesniff.capture.live import LiveSource, capture_filter
from ikesniff.events import SummaryEvent
from ikesniff.privileges import drop_privileges
wanted = int(sys.argv[3])
session = Session(Options(count=wanted))
analysis = session.analysis
source = LiveSource(sys.argv[1], bpf=capture_filter(analysis.ike_ports), duration=float(sys.argv[2]))
drop_privileges("nobody")
signal.signal(signal.SIGINT, lambda *_: source.stop())
last = 0.0
for item in session.items([], live=source):
    if isinstance(item, DecodedMessage):
        last = time.time()
    elif isinstance(item, SummaryEvent):
        received, dropped, interface_dropped = item.kernel_received, item.kernel_dropped, item.interface_dropped
print(json.dumps({"frames": analysis.stats.frames, "messages": analysis.messages, "received": received,
                  "dropped": dropped, "interface_dropped": interface_dropped, "last_message_at": last}))
"""
"""`--via api`: the live layer and `ikesniff.api.Session` with nothing written, stopping at the N-th message."""

CAPTURE_DRIVER = r"""
import json, signal, sys, time
from ikesniff.capture.events import CaptureStats, IkeDatagram
from ikesniff.capture.live import LiveSource, capture_filter, read_live
from ikesniff.privileges import drop_privileges
ports = frozenset({500, 4500})
source = LiveSource(sys.argv[1], bpf=capture_filter(ports), duration=float(sys.argv[2]))
wanted = int(sys.argv[3])
drop_privileges("nobody")
signal.signal(signal.SIGINT, lambda *_: source.stop())
stats, count, last = CaptureStats(), 0, 0.0
for item in read_live(source, stats, ports):
    if isinstance(item, IkeDatagram):
        count += 1
        last = time.time()
        if count >= wanted:
            source.stop()
            break
received, dropped, interface_dropped = source.stats()
print(json.dumps({"frames": stats.frames, "messages": count, "received": received, "dropped": dropped,
                  "interface_dropped": interface_dropped, "last_message_at": last}))
"""
"""`--via capture`: the live layer alone (IKE datagrams out, nothing dissected): its own ceiling."""

KERNEL_KEYS = ("kernel_received", "kernel_dropped")
"""Where a live run's JSON summary would carry libpcap's counters (not there yet: n/a without them)."""


@dataclass
class Result:
    rate: int
    """pps asked of tcpreplay."""
    sent: int
    achieved_pps: float
    """what tcpreplay says it managed."""
    frames: int
    """frames ikesniff read."""
    messages: int
    """IKE messages ikesniff counted live."""
    expected: int
    """IKE messages `ikesniff -r` counts in the same packets."""
    received: int | None
    dropped: int | None
    """kernel drops (ring full); None when the output does not say."""
    catch_up: float
    """seconds ikesniff kept working after tcpreplay had sent the last packet."""
    error: str = ""

    @property
    def lossless(self) -> bool:
        return not self.error and not self.dropped and self.messages == self.expected

    @property
    def ok(self) -> bool:
        """Nothing lost, and ikesniff kept pace (not only the kernel ring holding its backlog)."""
        return self.lossless and self.catch_up <= MAX_CATCH_UP

    @property
    def verdict(self) -> str:
        if self.error:
            return f"error: {self.error}"
        if not self.lossless:
            return "FAIL (lost)"
        return "PASS" if self.ok else "backlog (ring held it)"


def say(text: str) -> None:
    print(f"[replay] {text}", file=sys.stderr, flush=True)


# --- the capture -------------------------------------------------------------------------------------------
def ensure_capture(out: Path) -> Path:
    path = out / "ike-only.pcap"
    if not path.exists():
        import generate  # bench/generate.py
        say("writing bench/out/ike-only.pcap (bench/generate.py, about 5 s)")
        out.mkdir(parents=True, exist_ok=True)
        generate.generate("ike-only", 1.0, out, Path(os.environ.get("IKESNIFF_CORPUS", generate.DEFAULT_CORPUS)))
    return path


def head(source: Path, destination: Path, count: int) -> int:
    """Copy the first `count` records of a classic pcap file; returns how many there were."""
    with open(source, "rb") as reader, open(destination, "wb") as writer:
        header = reader.read(24)
        if header[:4] not in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            raise SystemExit(f"{source}: a little-endian classic pcap file is needed")
        writer.write(header)
        copied = 0
        while copied < count:
            record = reader.read(16)
            if len(record) < 16:
                break
            caplen = struct.unpack("<I", record[8:12])[0]
            writer.write(record + reader.read(caplen))
            copied += 1
    return copied


def messages_in_file(ikesniff: str, path: Path) -> int:
    result = subprocess.run([ikesniff, "-r", str(path), "--json"], check=False, capture_output=True, text=True)
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["event"] == "summary", result.stderr
    return int(summary["ike_messages"])


# --- one rate ---------------------------------------------------------------------------------------------
def tcpreplay(network: netlab.Network, path: Path, rate: int, count: int) -> tuple[int, float, str]:
    result = network.run_in("tx", ["tcpreplay", "-q", "-i", "eth0", f"--pps={rate}", f"--limit={count}", str(path)],
                            check=False, timeout=30 + 2 * count / rate)
    text = result.stdout + result.stderr
    sent = re.search(r"Actual: (\d+) packets", text)
    rated = re.search(r"Rated: .*?([\d.]+) pps", text)
    if result.returncode != 0 or sent is None:
        return 0, 0.0, f"tcpreplay failed: {text.strip()[-300:]}"
    return int(sent.group(1)), float(rated.group(1)) if rated else 0.0, ""


def run_rate(network: netlab.Network, path: Path, rate: int, count: int, expected: int, via: str,
             ikesniff: str) -> Result:
    """Start ikesniff in rx (stopping by itself at the `expected`-th IKE message), replay, wait."""
    limit = count / rate * 4 + 60                    # --duration: the safety net
    patience = max(30.0, 2 * count / rate)           # after the last packet, for messages still coming
    if via == "cli":
        command = [ikesniff, "-i", "eth0", "--json", "-c", str(expected), "--duration", f"{limit:.0f}",
                   "-Z", "nobody"]
    else:
        driver = API_DRIVER if via == "api" else CAPTURE_DRIVER
        command = [sys.executable, "-c", driver, "eth0", f"{limit:.0f}", str(expected)]
    with tempfile.NamedTemporaryFile("w+b") as output:
        sniffer = subprocess.Popen(network.exec_cmd("rx", command), stdout=output, stderr=subprocess.PIPE,
                                   cwd=REPO)
        progress = Progress(Path(output.name), expected) if via == "cli" else None
        try:
            netlab.wait_packet_sockets(network, "rx", count=2, proc=sniffer)   # the IKE and the ESP handle
            sent, achieved, error = tcpreplay(network, path, rate, count)
            finished = time.time()
            deadline = time.monotonic() + patience
            while sniffer.poll() is None and time.monotonic() < deadline:
                if progress is not None:
                    progress.read()
                time.sleep(0.05)
            if sniffer.poll() is None:
                sniffer.send_signal(signal.SIGINT)   # messages were lost: Ctrl-C for the summary
            sniffer.wait(timeout=120)
        finally:
            netlab.stop_process(sniffer, signal.SIGKILL)
        stderr = sniffer.stderr.read().decode(errors="replace") if sniffer.stderr else ""
        output.seek(0)
        lines = output.read().decode(errors="replace").strip().splitlines()
    try:
        summary = json.loads(lines[-1])
    except (ValueError, IndexError):
        return Result(rate, sent, achieved, 0, 0, expected, None, None, 0.0,
                      error or f"no summary from ikesniff: {stderr.strip()[-300:]}")
    if via == "cli":
        last = progress.last_at if progress is not None else 0.0
        messages = int(summary["ike_messages"])
        received, dropped = (summary.get(key) for key in KERNEL_KEYS)
    else:
        last, messages = summary["last_message_at"], summary["messages"]
        received, dropped = summary["received"], summary["dropped"]
    catch_up = max(last - finished, 0.0) if messages >= expected else max(time.time() - finished, 0.0)
    return Result(rate, sent, achieved, int(summary["frames"]), messages, expected, received, dropped,
                  round(catch_up, 2), error)


class Progress:
    """When the N-th message event reached ikesniff's JSON output (a live run writes each at once)."""

    def __init__(self, path: Path, wanted: int) -> None:
        self.path, self.wanted = path, wanted
        self.offset = self.count = 0
        self.last_at = 0.0

    def read(self) -> None:
        if self.count >= self.wanted:
            return
        with open(self.path, "rb") as output:
            output.seek(self.offset)
            data = output.read()
        cut = data.rfind(b"\n") + 1
        self.offset += cut
        found = data[:cut].count(b'"event":"message"')
        if found:
            self.count += found
            self.last_at = time.time()


# --- report -----------------------------------------------------------------------------------------------
def table(results: list[Result]) -> str:
    header = ("| rate asked (pps) | achieved (pps) | packets sent | IKE messages (of) | kernel drops "
              "| catch-up (s) | result |")
    lines = [header, "|---:|---:|---:|---:|---:|---:|---|"]
    for result in results:
        lines.append(f"| {result.rate:,} | {result.achieved_pps:,.0f} | {result.sent:,} | {result.messages:,} "
                     f"({result.expected:,}) | {_count(result.dropped)} | "
                     f"{f'{result.catch_up:.1f}' if result.lossless else '-'} | {result.verdict} |")
    return "\n".join(lines)


def _count(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/replay.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", type=int, nargs="+", default=DEFAULT_RATES, help="packets per second to try")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of traffic per rate (default 5)")
    parser.add_argument("--via", choices=("cli", "api", "capture"), default="cli",
                        help="ikesniff -i --json -c N (default); the live layer and Analysis without output; "
                             "the live layer alone")
    parser.add_argument("--pcap", type=Path, default=None, help="capture to replay (default bench/out/ike-only.pcap)")
    parser.add_argument("--ikesniff", default=str(REPO / ".venv" / "bin" / "ikesniff"))
    parser.add_argument("--out", type=Path, default=HERE / "out")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench/replay.py: needs root (network namespaces, tcpreplay, live capture)", file=sys.stderr)
        return 2
    for tool in ("tcpreplay", "ip"):
        if shutil.which(tool) is None:
            print(f"bench/replay.py: {tool} is not installed", file=sys.stderr)
            return 2
    path = args.pcap or ensure_capture(args.out)
    network = netlab.Network(TOPOLOGY, tag="replay", mtu=9000)   # the largest IKE frames are ~2 kB
    results: list[Result] = []
    work = Path(tempfile.mkdtemp(prefix="ikesniff-replay-"))
    try:
        netlab.cleanup_stale()
        network.up()
        expected_of: dict[int, tuple[Path, int]] = {}
        for rate in sorted(args.rates):
            count = max(int(rate * args.seconds), 1)
            if count not in expected_of:
                part = work / f"first-{count}.pcap"
                available = head(path, part, count)
                expected_of[count] = (part, messages_in_file(args.ikesniff, part))
                count = available
            part, expected = expected_of[max(int(rate * args.seconds), 1)]
            say(f"{rate} pps: {count} packets, {expected} IKE messages when read from the file")
            result = run_rate(network, part, rate, count, expected, args.via, args.ikesniff)
            say(f"{rate} pps: sent {result.sent} at {result.achieved_pps:.0f} pps, ikesniff counted "
                f"{result.messages} messages, kernel dropped {_count(result.dropped)}, done {result.catch_up:.1f} s "
                "after the last packet"
                + (f" ({result.error})" if result.error else ""))
            results.append(result)
    finally:
        network.down()
        shutil.rmtree(work, ignore_errors=True)
    passed = [result.rate for result in results if result.ok]
    best = max(passed, default=0)
    print(table(results))
    print(f"\nhighest rate with no kernel drop, no lost message and at most {MAX_CATCH_UP:g} s of catch-up: "
          f"{best:,} pps (target {TARGET_PPS:,}: {'PASS' if best >= TARGET_PPS else 'FAIL'})")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "replay.json").write_text(json.dumps({
        "via": args.via, "seconds_per_rate": args.seconds, "pcap": str(path), "machine": platform.platform(),
        "cpus": os.cpu_count(), "best_pps": best, "target_pps": TARGET_PPS,
        "max_catch_up": MAX_CATCH_UP,
        "results": [asdict(result) | {"lossless": result.lossless, "ok": result.ok} for result in results]},
        indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
