"""A real Prometheus (Debian's `prometheus`) scrapes the metrics sink on loopback every second while the
events of a lab failure are fed to it, with the example alerting rules loaded; promtool checks and
unit-tests those rules. Prometheus runs with its own temporary storage and port, and is stopped by PID."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sink_feed import run_items
from test_sink_metrics import PEERS, dashboard_expressions

from ikesniff.sinks.metrics import MetricsSink

RULES = Path(__file__).resolve().parent.parent / "docs" / "prometheus"
WAIT = 60.0
"""Seconds any one expectation may take (Prometheus scrapes and evaluates every second)."""

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Prometheus:
    """One Prometheus server on 127.0.0.1 scraping `target` every second, with the example rules."""

    def __init__(self, directory: Path, target: str) -> None:
        self.port = free_port()
        config = directory / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
            f"rule_files:\n  - {RULES / 'ikesniff-alerts.yml'}\n"
            "scrape_configs:\n  - job_name: ikesniff\n    static_configs:\n"
            f"      - targets: ['{target}']\n")
        self.log = directory / "prometheus.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={directory / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}"], stdout=log, stderr=subprocess.STDOUT,
                cwd=directory)

    def get(self, path: str, **query: str) -> Any:
        url = f"http://127.0.0.1:{self.port}{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        with urllib.request.urlopen(url, timeout=10) as answer:
            return json.loads(answer.read())

    def wait_for(self, what: str, check: Callable[[], Any]) -> Any:
        """`check()`'s first true answer, polled for at most WAIT seconds."""
        deadline = time.monotonic() + WAIT
        while True:
            assert self.process.poll() is None, f"prometheus exited:\n{self.log.read_text()[-3000:]}"
            try:
                answer = check()
            except OSError:  # not listening yet
                answer = None
            if answer:
                return answer
            assert time.monotonic() < deadline, f"no {what} after {WAIT} s:\n{self.log.read_text()[-3000:]}"
            time.sleep(0.25)

    def query(self, expr: str) -> list[dict[str, Any]]:
        answer = self.get("/api/v1/query", query=expr)
        assert answer["status"] == "success", answer
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def sink() -> Iterator[MetricsSink]:
    metrics = MetricsSink("127.0.0.1", 0)
    yield metrics
    metrics.close()


def test_prometheus_scrapes_a_replayed_psk_mismatch_and_fires_the_alert(sink: MetricsSink, tmp_path: Path) -> None:
    for item in run_items("ikev2-psk"):  # the tunnel comes up first...
        sink.write(item)
    prometheus = Prometheus(tmp_path, f"127.0.0.1:{sink.port}")
    try:
        prometheus.wait_for("established tunnel", lambda: prometheus.query('ikesniff_tunnels{state="established"} == 1'))
        target = prometheus.get("/api/v1/targets")["data"]["activeTargets"][0]
        assert (target["health"], target["lastError"]) == ("up", "")  # its OpenMetrics scrape parsed
        assert not prometheus.query("ikesniff_tunnel_failures_total")

        for item in run_items("ikev2-psk-mismatch"):  # ... then a restart of the peers with a wrong key
            sink.write(item)
        failures = prometheus.wait_for("failure series", lambda: prometheus.query("ikesniff_tunnel_failures_total"))
        assert [(series["metric"], series["value"][1]) for series in failures] == [
            ({"__name__": "ikesniff_tunnel_failures_total", "cause": "PskMismatch", "peer": PEERS,
              "instance": f"127.0.0.1:{sink.port}", "job": "ikesniff"}, "1")]
        assert prometheus.query('ikesniff_tunnels{state="failed"}')[0]["value"][1] == "1"
        assert prometheus.query('ikesniff_tunnels{state="established"}')[0]["value"][1] == "0"
        assert int(prometheus.query("ikesniff_ike_messages_total")[0]["value"][1]) == 4 + 4

        def firing() -> list[dict[str, Any]]:
            alerts = prometheus.get("/api/v1/alerts")["data"]["alerts"]
            return [alert for alert in alerts if alert["state"] == "firing"]
        alerts = prometheus.wait_for("firing alert", firing)
        assert [(alert["labels"]["alertname"], alert["labels"]["cause"], alert["labels"]["peer"])
                for alert in alerts] == [("IkesniffTunnelFailure", "PskMismatch", PEERS)]
        assert alerts[0]["annotations"]["summary"] == f"IPsec tunnel {PEERS} failed: PskMismatch"

        for expr in dashboard_expressions():  # every dashboard query is valid PromQL over these metrics
            prometheus.query(expr.replace("$__rate_interval", "1m").replace("$instance", ".*"))
        assert prometheus.query(next(expr for expr in dashboard_expressions() if "state=\"failed\"" in expr)
                                .replace("$instance", ".*"))[0]["value"][1] == "1"
    finally:
        prometheus.stop()


def test_promtool_accepts_the_alerting_rules() -> None:
    checked = subprocess.run(["promtool", "check", "rules", "ikesniff-alerts.yml"], cwd=RULES,
                             check=False, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 5 rules found" in checked.stdout


def test_the_alerting_rules_pass_their_unit_tests() -> None:
    tested = subprocess.run(["promtool", "test", "rules", "ikesniff-alerts-test.yml"], cwd=RULES,
                            check=False, capture_output=True, text=True, timeout=120)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout
