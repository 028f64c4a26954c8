"""`ikesniff -i` and `tcpdump | ikesniff -r -` against real strongSwan peers negotiating live.

Two charon daemons (lab/: network namespaces, a veth link, the scenario configurations of
lab/scenarios.py) negotiate while ikesniff listens on moon's side of the link, inside moon's
namespace; its JSON verdicts must be the scenario's label code (the code the wire alone supports:
these scenarios are not in tests/test_diagnosis.py's WIRE_ONLY). The streaming test pipes tcpdump
into `ikesniff -r -` and reads its output line by line: the failing tunnel's verdict must come
while tcpdump is still capturing, not only when the stream ends.

Needs root, iproute2, tcpdump and strongSwan (charon, swanctl); skipped with the reason otherwise.
Each test takes 10-20 s.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lab import config, netlab, scenarios
from lab import run as lab_run

IKESNIFF = REPO / ".venv" / "bin" / "ikesniff"
PCAPS = REPO / "pcaps"
CAPTURE_SIDE, CAPTURE_INTERFACE = scenarios.TOPOLOGIES["direct"]["capture"]   # moon, eth0


def lab_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces, charon)"
    for tool in ("ip", "tcpdump", "swanctl"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not Path(netlab.Charon.BINARY).exists():
        return f"strongSwan's {netlab.Charon.BINARY} is not installed"
    if not IKESNIFF.exists():
        return f"{IKESNIFF} is missing (make setup)"
    return None


pytestmark = [pytest.mark.lab, pytest.mark.slow,
              pytest.mark.skipif(lab_unavailable() is not None, reason=str(lab_unavailable()))]


def label(name: str) -> dict[str, Any]:
    expected: dict[str, Any] = json.loads((PCAPS / f"{name}.json").read_text())["expected"]
    return expected


# --- the peers ---------------------------------------------------------------------------------------------
@dataclass
class Peers:
    """One scenario's network (up) and, once started, its two daemons."""

    name: str
    scenario: dict[str, Any]
    network: netlab.Network
    paths: dict[str, dict[str, Path]]
    daemons: dict[str, netlab.Charon] = field(default_factory=dict)

    def start(self) -> None:
        for side in self.scenario["start"]:
            self.daemons[side] = netlab.Charon(self.network, side, self.paths[side]["conf"], self.paths[side]["run"],
                                               self.paths[side]["dir"] / "charon.stdout")
        for side in self.scenario["start"]:
            self.daemons[side].wait_ready()
            self.daemons[side].swanctl("--load-all", "--file", str(self.paths[side]["swanctl"] / "swanctl.conf"))

    def negotiate(self) -> str:
        """Moon initiates; 'established' (and pings cross the tunnel as ESP), 'failed' or 'timeout'."""
        initiate = self.daemons["moon"].swanctl_background("--initiate", "--child", "net",
                                                           "--timeout", str(self.scenario["timeout"]))
        outcome, _ = lab_run.wait_outcome(self.scenario, self.daemons, initiate)
        if outcome == "established":
            netlab.run(self.network.exec_cmd("moon", [
                sys.executable, str(REPO / "lab" / "pinger.py"), scenarios.INNER["moon"]["address"],
                scenarios.INNER["sun"]["address"], "3"]), timeout=30)
        return outcome

    def popen(self, cmd: list[str], **options: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.network.exec_cmd(CAPTURE_SIDE, cmd), **options)


@contextmanager
def peers(name: str) -> Iterator[Peers]:
    scenario = scenarios.resolve(name)
    work = Path(tempfile.mkdtemp(prefix="ikslive-"))   # short: the vici socket path must fit in 108 octets
    network = netlab.Network(scenario["topology_data"], tag="live", mtu=scenario["mtu"])
    the_peers = Peers(name, scenario, network, {})
    try:
        for side in scenarios.SIDES:
            side_dir = work / side
            run_dir, swanctl_dir = side_dir / "run", side_dir / "swanctl"
            for directory in (run_dir, *(swanctl_dir / name for name in lab_run.SWANCTL_DIRS)):
                directory.mkdir(parents=True)
            settings = scenario["sides"][side]
            (side_dir / "strongswan.conf").write_text(config.render(
                scenarios.strongswan_conf(settings, str(run_dir), str(side_dir / "charon.log"))) + "\n")
            (swanctl_dir / "swanctl.conf").write_text(config.render(settings["swanctl"]) + "\n")
            the_peers.paths[side] = {"dir": side_dir, "run": run_dir, "swanctl": swanctl_dir,
                                     "conf": side_dir / "strongswan.conf"}
        netlab.cleanup_stale()
        network.up()
        for side in scenarios.SIDES:
            network.add_address(side, scenarios.INNER[side]["address"] + "/32")
        yield the_peers
    finally:
        for daemon in the_peers.daemons.values():
            daemon.stop()
        network.down()
        shutil.rmtree(work, ignore_errors=True)


# --- reading a child's JSON lines as they come --------------------------------------------------------------
class Lines:
    """A child's stdout, line by line, each with the monotonic time it arrived."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.queue: queue.Queue[tuple[float, dict[str, Any]] | None] = queue.Queue()
        self.seen: list[tuple[float, dict[str, Any]]] = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[bytes]) -> None:
        for line in stream:
            self.queue.put((time.monotonic(), json.loads(line)))
        self.queue.put(None)

    def wait_for(self, wanted: Any, timeout: float) -> tuple[float, dict[str, Any]] | None:
        """The first event (already seen or arriving within `timeout`) for which wanted(event) holds."""
        for arrived, event in self.seen:
            if wanted(event):
                return arrived, event
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                item = self.queue.get(timeout=left)
            except queue.Empty:
                return None
            if item is None:
                self.queue.put(None)
                return None
            self.seen.append(item)
            if wanted(item[1]):
                return item
        return None

    def all(self, timeout: float = 30) -> list[dict[str, Any]]:
        self.wait_for(lambda event: False, timeout)
        return [event for _, event in self.seen]


def final_verdicts(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [event for event in events if event["event"] == "verdict" and event.get("final", True)]


# --- the tests ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["ikev2-psk", "ikev2-proposal-mismatch", "ikev2-psk-mismatch"])
def test_live_capture_of_real_peers_gives_the_labelled_verdict(name: str) -> None:
    expected = label(name)
    with peers(name) as lab:
        # -Z nobody: the analysis runs unprivileged; --duration is the safety net, Ctrl-C ends it
        sniffer = lab.popen([str(IKESNIFF), "-i", CAPTURE_INTERFACE, "--json", "--duration", "45", "-Z", "nobody"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            netlab.wait_packet_sockets(lab.network, CAPTURE_SIDE, count=1, proc=sniffer)
            lines = Lines(sniffer.stdout)  # type: ignore[arg-type]
            lab.start()
            outcome = lab.negotiate()
            assert outcome == expected["outcome"], outcome
            time.sleep(1.0)                           # the last packets out of the kernel's ring blocks
            started = time.monotonic()
            sniffer.send_signal(signal.SIGINT)        # Ctrl-C: ends cleanly, with the summary
            status = sniffer.wait(timeout=20)
            assert time.monotonic() - started < 5
        finally:
            netlab.stop_process(sniffer, signal.SIGKILL)
        events = lines.all()
        errors = sniffer.stderr.read().decode() if sniffer.stderr else ""
    assert status == (0 if expected["outcome"] == "established" else 1), errors
    verdicts = final_verdicts(events)
    assert [(v["code"], v["outcome"], v["peers"]) for v in verdicts] == [
        (expected["code"], expected["outcome"], ["192.0.2.1", "192.0.2.2"])], errors
    summary = events[-1]
    assert summary["event"] == "summary" and summary["ike_messages"] >= 2
    messages = [event for event in events if event["event"] == "message"]
    assert [m["frame"] for m in messages] == sorted(m["frame"] for m in messages)
    if expected["outcome"] == "established":           # the pings crossed the tunnel: ESP-in-UDP, snapped
        assert summary["esp_in_udp_packets"] >= 6 and summary["esp_flows"] >= 2


def test_tcpdump_piped_into_ikesniff_tells_the_failure_while_the_stream_runs() -> None:
    name = "ikev2-proposal-mismatch"
    expected = label(name)
    with peers(name) as lab:
        tcpdump = lab.popen(["tcpdump", "-U", "-i", CAPTURE_INTERFACE, "-w", "-", "udp port 500 or udp port 4500"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        sniffer = subprocess.Popen([str(IKESNIFF), "-r", "-", "--json"], stdin=tcpdump.stdout,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert tcpdump.stdout is not None
        tcpdump.stdout.close()                         # ikesniff holds the pipe's read end now
        try:
            netlab.wait_packet_sockets(lab.network, CAPTURE_SIDE, count=1, proc=tcpdump)
            lines = Lines(sniffer.stdout)  # type: ignore[arg-type]
            lab.start()
            assert lab.negotiate() == "failed"
            failed_at = time.monotonic()

            def failure(event: dict[str, Any]) -> bool:
                return event["event"] == "verdict" and event["outcome"] == "failed"

            told = lines.wait_for(failure, timeout=10)
            still_capturing = tcpdump.poll() is None
            stopped_at = time.monotonic()
            netlab.stop_process(tcpdump, signal.SIGINT)
            status = sniffer.wait(timeout=20)
        finally:
            netlab.stop_process(tcpdump, signal.SIGKILL)
            netlab.stop_process(sniffer, signal.SIGKILL)
        events = lines.all()
        errors = sniffer.stderr.read().decode() if sniffer.stderr else ""
    assert still_capturing
    assert told is not None, ("no failed verdict while tcpdump was still capturing; after it stopped: "
                              f"{[e for e in events if e['event'] == 'verdict']} {errors}")
    arrived, verdict = told
    assert arrived < stopped_at and arrived - failed_at < 10
    assert (verdict["code"], verdict["outcome"]) == (expected["code"], expected["outcome"])
    assert status == 1, errors
    assert [(v["code"], v["outcome"]) for v in final_verdicts(events)] == [(expected["code"], expected["outcome"])]
