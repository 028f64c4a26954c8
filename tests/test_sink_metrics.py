"""The metrics endpoint, scraped over HTTP while it is fed the items of lab captures; its text is checked
by promtool (Prometheus's own linter) and by a parser of the exposition format written here."""

from __future__ import annotations

import dataclasses
import json
import re
import socket
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sink_feed import run_items

from ikesniff.events import VerdictEvent
from ikesniff.sinks.base import Sink
from ikesniff.sinks.metrics import (
    OPENMETRICS_TYPE,
    TEXT_TYPE,
    MetricsError,
    MetricsSink,
    parse_listen,
    wants_openmetrics,
)

DOCS = Path(__file__).resolve().parent.parent / "docs"
PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
                     "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
"""What Prometheus 2.x sends when it scrapes."""
PEERS = "192.0.2.1 <-> 192.0.2.2"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


@pytest.fixture
def sink() -> Iterator[MetricsSink]:
    metrics = MetricsSink("127.0.0.1", 0)
    yield metrics
    metrics.close()


def scrape(sink: MetricsSink, accept: str | None = None, path: str = "/metrics") -> tuple[str, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{sink.port}{path}",
                                     headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.headers["Content-Type"], answer.read().decode()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition, by (name, labels); comment lines are checked for their form."""
    found: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for line in text.rstrip("\n").split("\n"):
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE|UNIT) [a-zA-Z_:][a-zA-Z0-9_:]* \S", line) or line == "# EOF", line
            continue
        match = SAMPLE.match(line)
        assert match, line
        labels = frozenset(LABEL.findall(match.group(2) or ""))
        found[(match.group(1), labels)] = float(match.group(3))
    return found


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, frozenset(labels.items())))


def fed(sink: MetricsSink, *names: str) -> None:
    for name in names:
        for item in run_items(name):
            sink.write(item)


def test_an_item_of_no_known_kind_changes_nothing(sink: MetricsSink) -> None:
    used: Sink = sink  # (mypy checks that the sink follows the protocol)
    used.write(object())
    assert value(scrape(sink)[1], "ikesniff_ike_messages_total") == 0


def test_a_psk_mismatch_counts_one_failure_of_its_tunnel_and_messages(sink: MetricsSink) -> None:
    items = run_items("ikev2-psk-mismatch")
    verdicts = [item for item in items if isinstance(item, VerdictEvent)]
    assert [v.final for v in verdicts] == [False, True]  # told early, then confirmed at the end
    for item in items:
        sink.write(item)
    _, text = scrape(sink)
    assert value(text, "ikesniff_tunnel_failures_total", cause="PskMismatch", peer=PEERS) == 1
    assert value(text, "ikesniff_tunnels", state="failed") == 1
    assert value(text, "ikesniff_tunnels", state="established") == 0
    messages = sum(1 for item in items if type(item).__name__ == "DecodedMessage")
    assert value(text, "ikesniff_ike_messages_total") == messages == 4
    assert value(text, "ikesniff_verdicts_total") == 2
    assert value(text, "ikesniff_build_info", version=__import__("ikesniff").__version__) == 1


def test_a_tunnel_that_recovers_keeps_its_failure_count_and_is_established_again(sink: MetricsSink) -> None:
    fed(sink, "ikev2-psk-mismatch", "ikev2-psk")
    _, text = scrape(sink)
    assert value(text, "ikesniff_tunnel_failures_total", cause="PskMismatch", peer=PEERS) == 1
    assert value(text, "ikesniff_tunnels", state="established") == 1
    assert value(text, "ikesniff_tunnels", state="failed") == 0


def test_each_change_into_a_failing_verdict_counts_once(sink: MetricsSink) -> None:
    fed(sink, "ikev2-psk-mismatch", "ikev2-psk-mismatch", "ikev2-psk", "ikev2-psk-mismatch",
        "ikev2-proposal-mismatch")
    _, text = scrape(sink)
    # failed, failed again (no change), established, failed (a change), another cause (a change)
    assert value(text, "ikesniff_tunnel_failures_total", cause="PskMismatch", peer=PEERS) == 2
    assert value(text, "ikesniff_tunnel_failures_total", cause="ProposalMismatch", peer=PEERS) == 1


def test_a_dpd_timeout_counts_as_torn_down_with_its_retransmissions(sink: MetricsSink) -> None:
    items = run_items("ikev2-dpd-timeout")
    for item in items:
        sink.write(item)
    _, text = scrape(sink)
    assert value(text, "ikesniff_tunnels", state="torn_down") == 1
    assert value(text, "ikesniff_tunnel_failures_total", cause="DpdTimeout", peer=PEERS) == 1
    retransmitted = sum(1 for item in items if getattr(getattr(item, "event", None), "retransmission", False))
    assert retransmitted > 0
    assert value(text, "ikesniff_retransmissions_total") == retransmitted


def test_a_teardown_only_possible_is_no_failure_but_is_a_torn_down_tunnel(sink: MetricsSink) -> None:
    fed(sink, "ikev2-delete")
    _, text = scrape(sink)
    assert value(text, "ikesniff_tunnels", state="torn_down") == 1
    assert not [key for key in samples(text) if key[0] == "ikesniff_tunnel_failures_total"]


def test_peer_labels_beyond_the_limit_go_into_other() -> None:
    sink = MetricsSink("127.0.0.1", 0, peer_limit=2)
    try:
        failure = next(item for item in run_items("ikev2-psk-mismatch") if isinstance(item, VerdictEvent))
        for host in range(1, 6):  # five tunnels of one gateway, each failing with the lab's verdict
            sink.write(dataclasses.replace(failure, peers=["192.0.2.1", f"198.51.100.{host}"]))
        _, text = scrape(sink)
    finally:
        sink.close()
    peers = {dict(labels)["peer"]: number for (name, labels), number in samples(text).items()
             if name == "ikesniff_tunnel_failures_total"}
    assert peers == {"192.0.2.1 <-> 198.51.100.1": 1, "192.0.2.1 <-> 198.51.100.2": 1, "other": 3}
    assert value(text, "ikesniff_tunnels", state="failed") == 5


def test_the_scraper_chooses_openmetrics_or_the_text_format(sink: MetricsSink) -> None:
    fed(sink, "ikev2-psk-mismatch")
    content_type, openmetrics = scrape(sink, PROMETHEUS_ACCEPT)
    assert content_type == OPENMETRICS_TYPE
    assert openmetrics.endswith("# EOF\n")
    assert "# TYPE ikesniff_tunnel_failures counter" in openmetrics
    assert "# TYPE ikesniff_build info" in openmetrics
    assert "# UNIT ikesniff_last_verdict_timestamp_seconds seconds" in openmetrics
    content_type, text = scrape(sink)
    assert content_type == TEXT_TYPE
    assert "# EOF" not in text
    assert "# TYPE ikesniff_tunnel_failures_total counter" in text
    assert samples(text).keys() - {("ikesniff_last_verdict_timestamp_seconds", frozenset())} == \
        samples(openmetrics).keys() - {("ikesniff_last_verdict_timestamp_seconds", frozenset())}


@pytest.mark.parametrize(("accept", "openmetrics"), [
    (PROMETHEUS_ACCEPT, True),
    ("application/openmetrics-text; version=1.0.0", True),
    ("text/plain;version=0.0.4;q=1,application/openmetrics-text;q=0.5", False),
    ("*/*", False),
    ("", False),
    ("application/openmetrics-text;q=0", False),
])
def test_accept_header_negotiation(accept: str, openmetrics: bool) -> None:
    assert wants_openmetrics(accept) is openmetrics


def test_other_paths_are_not_found(sink: MetricsSink) -> None:
    with pytest.raises(urllib.error.HTTPError) as error:
        scrape(sink, path="/nothing")
    assert error.value.code == 404
    assert "/metrics" in scrape(sink, path="/")[1]


def test_kernel_counters_are_read_at_scrape_time() -> None:
    counts = iter([(10, 0, 0), (25, 3, 1)])  # what libpcap says at each scrape
    sink = MetricsSink("127.0.0.1", 0, kernel_counters=lambda: next(counts))
    try:
        first, second = scrape(sink)[1], scrape(sink)[1]
    finally:
        sink.close()
    assert value(first, "ikesniff_kernel_received_total") == 10
    assert value(second, "ikesniff_kernel_received_total") == 25
    assert value(second, "ikesniff_kernel_dropped_total") == 3
    assert value(second, "ikesniff_interface_dropped_total") == 1


def test_without_a_live_capture_the_kernel_counters_are_absent(sink: MetricsSink) -> None:
    fed(sink, "ikev2-psk")  # a file: its summary has no kernel counters
    names = {name for name, _ in samples(scrape(sink)[1])}
    assert "ikesniff_kernel_dropped_total" not in names
    assert "ikesniff_ike_messages_total" in names


def test_a_port_in_use_is_a_one_line_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(MetricsError) as error:
            MetricsSink("127.0.0.1", port)
    assert str(error.value) == f"cannot serve metrics on 127.0.0.1:{port}: Address already in use"


@pytest.mark.parametrize("host", ["no-such-host.invalid", "192.0.2.300"])
def test_a_bad_host_is_a_one_line_error(host: str) -> None:
    with pytest.raises(MetricsError) as error:
        MetricsSink(host, 9468)
    assert str(error.value).startswith(f"cannot serve metrics on {host}:9468: ")
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(("text", "expected"), [
    ("9468", ("0.0.0.0", 9468)),
    ("127.0.0.1:9468", ("127.0.0.1", 9468)),
    ("[::1]:9468", ("::1", 9468)),
    ("localhost:1", ("localhost", 1)),
])
def test_listen_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["", "0", "65536", "host:", "::1:9468", "port", "1.2.3.4:x"])
def test_bad_listen_addresses_are_one_line_errors(text: str) -> None:
    with pytest.raises(MetricsError) as error:
        parse_listen(text)
    assert "\n" not in str(error.value)


def test_ipv6_loopback_is_served() -> None:
    try:
        sink = MetricsSink("::1", 0)
    except MetricsError:
        pytest.skip("no IPv6 loopback on this machine")
    try:
        with urllib.request.urlopen(f"http://[::1]:{sink.port}/metrics", timeout=10) as answer:
            assert b"ikesniff_tunnels" in answer.read()
    finally:
        sink.close()


def test_writes_and_scrapes_at_once_lose_no_count(sink: MetricsSink) -> None:
    items = run_items("ikev2-dpd-timeout")
    rounds = 200
    stop = threading.Event()
    texts: list[str] = []

    def scraper() -> None:
        while not stop.is_set():
            texts.append(scrape(sink)[1])

    thread = threading.Thread(target=scraper)
    thread.start()
    try:
        for _ in range(rounds):
            for item in items:
                sink.write(item)
    finally:
        stop.set()
        thread.join()
    messages = sum(1 for item in items if type(item).__name__ == "DecodedMessage")
    assert value(scrape(sink)[1], "ikesniff_ike_messages_total") == rounds * messages
    assert texts and all(text.endswith("ikesniff_build_info{version=\"0.1.0\"} 1\n") for text in texts)


def test_close_stops_serving() -> None:
    sink = MetricsSink("127.0.0.1", 0)
    port = sink.port
    sink.close()
    sink.close()  # twice is harmless
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_promtool_accepts_a_scrape(sink: MetricsSink) -> None:
    counts = (120, 0, 0)
    sink.kernel_counters = lambda: counts
    fed(sink, "ikev2-psk-mismatch", "ikev2-dpd-timeout", "ikev2-nat")
    _, text = scrape(sink)
    checked = subprocess.run(["promtool", "check", "metrics"], check=False, input=text, capture_output=True, text=True,
                             timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout + checked.stderr == ""  # not even a lint warning


def dashboard_expressions() -> list[str]:
    """The PromQL of every panel of the Grafana dashboard."""
    dashboard = json.loads((DOCS / "grafana" / "ikesniff-dashboard.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    assert len(expressions) > 10
    return expressions


def dashboard_metrics() -> set[str]:
    """The metric names of every panel's queries and of the template variables."""
    dashboard = json.loads((DOCS / "grafana" / "ikesniff-dashboard.json").read_text())
    variables = [variable["definition"] for variable in dashboard["templating"]["list"] if "definition" in variable]
    return {name for expr in [*dashboard_expressions(), *variables] for name in re.findall(r"\bikesniff_[a-z_]+", expr)}


def test_every_metric_of_the_dashboard_is_served(sink: MetricsSink) -> None:
    sink.kernel_counters = lambda: (120, 0, 0)
    fed(sink, "ikev2-psk-mismatch", "ikev2-nat")
    served = {name for name, _ in samples(scrape(sink)[1])}
    used = dashboard_metrics()
    assert {"ikesniff_tunnels", "ikesniff_tunnel_failures_total", "ikesniff_kernel_dropped_total"} <= used
    assert used <= served, used - served


def test_docs_name_every_metric_served(sink: MetricsSink) -> None:
    sink.kernel_counters = lambda: (120, 0, 0)
    fed(sink, "ikev2-psk-mismatch")
    served = {line.split()[2] for line in scrape(sink)[1].splitlines() if line.startswith("# TYPE")}
    documented = set(re.findall(r"`(ikesniff_[a-z_]+)`", (DOCS / "fleet.md").read_text()))
    assert served == documented
