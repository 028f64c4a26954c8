"""The whole path live: in a network namespace of its own (`unshare --net`), the frames of a lab failure
are written onto the loopback interface while ikesniff's live capture reads them, the analysis feeds
the metrics sink (kernel counters read from the capture at each scrape), and a real Prometheus in the
same namespace scrapes it every second. Needs root, like the live capture tests; nothing leaves the
namespace, and Prometheus is stopped by PID."""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ikesniff.api import Options, Session
from ikesniff.capture.live import LiveSource
from ikesniff.sinks.metrics import MetricsSink

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
PORTS = frozenset({500, 4500})

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                       reason="live capture tests need root and unshare (a private network namespace)"),
]


def frames_of(name: str) -> list[bytes]:
    """The Ethernet frames of pcaps/NAME.pcap (classic pcap, little-endian, as the lab writes them)."""
    data = (REPO / "pcaps" / f"{name}.pcap").read_bytes()
    magic, _, _, _, _, _, link_type = struct.unpack_from("<IHHiIII", data)
    assert (magic, link_type) == (0xA1B2C3D4, 1)
    frames, offset = [], 24
    while offset < len(data):
        _, _, captured, _ = struct.unpack_from("<IIII", data, offset)
        frames.append(data[offset + 16:offset + 16 + captured])
        offset += 16 + captured
    return frames


def send(frames: list[bytes]) -> None:
    time.sleep(0.5)
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sender:
        sender.bind(("lo", 0))
        for frame in frames:
            sender.send(frame)
            time.sleep(0.05)


def child_live_failure(directory: str, capture: str) -> dict[str, Any]:
    """In the namespace: capture, analyse, serve and scrape; what Prometheus ended up holding."""
    from test_prometheus import Prometheus

    frames = frames_of(capture)
    source = LiveSource("lo", ike_ports=PORTS, duration=60)
    sink = MetricsSink("127.0.0.1", 0, kernel_counters=source.stats)
    prometheus = Prometheus(Path(directory), f"127.0.0.1:{sink.port}")
    try:
        prometheus.wait_for("first scrape", lambda: prometheus.query("ikesniff_build_info"))
        sender = threading.Thread(target=send, args=(frames,))
        sender.start()
        session = Session(Options(early=True, count=len(frames)))  # the command line's drive loop
        for item in session.items([], live=source):
            sink.write(item)
        sender.join()
        failures = prometheus.wait_for("failure series", lambda: prometheus.query("ikesniff_tunnel_failures_total"))
        kernel = prometheus.wait_for(
            "kernel counters", lambda: prometheus.query(f"ikesniff_kernel_received_total >= {len(frames)}"))
        target = prometheus.get("/api/v1/targets")["data"]["activeTargets"][0]
        return {
            "failures": [(series["metric"]["cause"], series["metric"]["peer"], series["value"][1])
                         for series in failures],
            "received": kernel[0]["value"][1],
            "dropped": prometheus.query("ikesniff_kernel_dropped_total")[0]["value"][1],
            "messages": prometheus.query("ikesniff_ike_messages_total")[0]["value"][1],
            "failed": prometheus.query('ikesniff_tunnels{state="failed"}')[0]["value"][1],
            "health": [target["health"], target["lastError"]],
            "frames": len(frames),
        }
    finally:
        prometheus.stop()
        sink.close()
        source.close()


def isolated(function: str, **arguments: Any) -> dict[str, Any]:
    """`function(**arguments)` of this module, run as root in a fresh network namespace (loopback up)."""
    code = (f"import sys, json; sys.path[:0] = [{str(TESTS)!r}, {str(REPO)!r}]; import test_prometheus_live as t; "
            f"print(json.dumps(t.{function}(**json.loads(sys.argv[1]))))")
    result = subprocess.run(["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh",
                             sys.executable, "-c", code, json.dumps(arguments)],
                            check=False, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def test_prometheus_scrapes_a_live_psk_mismatch_with_the_kernel_counters(tmp_path: Path) -> None:
    seen = isolated("child_live_failure", directory=str(tmp_path), capture="ikev2-psk-mismatch")
    assert seen["failures"] == [["PskMismatch", "192.0.2.1 <-> 192.0.2.2", "1"]]
    assert seen["failed"] == "1"
    assert seen["messages"] == str(seen["frames"]) == "4"
    assert int(seen["received"]) >= 4  # libpcap's counter, read from the capture at scrape time
    assert seen["dropped"] == "0"
    assert seen["health"] == ["up", ""]
