"""Attacks, noise and odd captures made for the purpose (pcaps/noise/, tools/make_noise_pcaps.py): each gives
what its label expects: findings instead of tunnels, the real tunnel's own verdict, the exit status of SPEC §3."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ikesniff.api import Options, analyse
from ikesniff.events import FindingEvent, SummaryEvent, VerdictEvent

NOISE = Path(__file__).resolve().parents[1] / "pcaps" / "noise"
SINGLE = ["reflection", "scan-sweep", "scan-transforms", "churn", "flood-small", "dns-on-500", "cut-mid-exchange",
          "truncated-last-record", "spi-reuse"]


def capture(name: str) -> Path:
    return next(path for path in NOISE.glob(f"{name}.pcap*"))


def run(paths: list[Path], merge: bool = False) -> tuple[list[VerdictEvent], list[FindingEvent], SummaryEvent]:
    verdicts, findings, summary = [], [], None
    for item in analyse([str(path) for path in paths], Options(merge=merge)):
        if isinstance(item, VerdictEvent) and item.final:
            verdicts.append(item)
        elif isinstance(item, FindingEvent):
            findings.append(item)
        elif isinstance(item, SummaryEvent):
            summary = item
    assert summary is not None
    return verdicts, findings, summary


def status(paths: list[Path], *more: str) -> int:
    return subprocess.run([sys.executable, "-m", "ikesniff", "-r", *map(str, paths), "-q", *more],
                          capture_output=True, check=False).returncode


@pytest.mark.parametrize("name", SINGLE)
def test_capture_gives_what_its_label_expects(name: str) -> None:
    expected = json.loads((NOISE / f"{name}.json").read_text(encoding="utf-8"))["expected"]
    verdicts, findings, summary = run([capture(name)])
    kinds = [finding.kind for finding in findings]
    for kind, count in expected.get("findings", {}).items():
        assert kinds.count(kind) == count, (kind, kinds)
    assert not {"reflection", "flood", "scan", "churn"} & set(kinds) - set(expected.get("findings", {}))
    got = {(tuple(v.peers), v.outcome, v.code) for v in verdicts}
    wanted = {(tuple(t["peers"]), t["outcome"], t["code"]) for t in expected["tunnels"]}
    orphans = {tuple(orphan["peers"]) for orphan in expected.get("orphans", [])}
    assert wanted <= got and all(peers in orphans and outcome == "incomplete" for peers, outcome, _ in got - wanted), got
    if "decode_errors" in expected:
        assert summary.decode_errors == expected["decode_errors"] and summary.not_ike == expected["decode_errors"]
    assert len(verdicts) <= expected.get("max_verdicts", len(verdicts))
    assert status([capture(name)]) == expected["exit_status"]


def test_a_reflection_counts_every_responder_and_names_the_victim() -> None:
    _, findings, summary = run([capture("reflection")])
    reflection, = [f for f in findings if f.kind == "reflection"]
    assert "2000 responders" in reflection.detail and "2001:db8:7::77" in reflection.detail
    assert "5eed0fca11ed0b0b" in reflection.detail and summary.tunnels == 0


def test_a_flood_keeps_memory_bounded_and_the_real_tunnel_gets_its_verdict() -> None:
    """With a one-sided budget far below the flood, the SAs beyond it are folded as they come: the finding
    still counts them all, and the real tunnel negotiating in the middle is never folded."""
    from ikesniff.analysis import Analysis, conclude
    analysis = Analysis()
    analysis.tracker.budget = 50
    most = 0
    for _ in analysis.run(str(capture("flood-small"))):
        most = max(most, len(analysis.tracker.ike_sas))
    conclusions = conclude(analysis)
    assert most <= 52 and analysis.tracker.crowd.folded > 9000
    flood, = [f for f in conclusions.findings if f.kind == "flood"]
    assert flood.detail.startswith("10000 IKE SAs opened towards 192.0.2.2")
    assert [(v.peers, v.code) for v in conclusions.verdicts] == [(["192.0.2.1", "192.0.2.2"], "Established")]


def test_rotated_files_merged_are_one_tunnel_closed_in_order() -> None:
    files = [NOISE / f"rotated-{n}.pcap" for n in (1, 2, 3)]
    verdicts, _, _ = run(files, merge=True)
    verdict, = verdicts
    assert (verdict.outcome, verdict.code, verdict.orderly, verdict.remedy) == (
        "torn_down", "ReceiveDeleteNotify", True, "")
    assert status(files, "--merge") == 0
    separate, _, _ = run(files)
    assert {v.outcome for v in separate} <= {"incomplete", "established", "torn_down"}
    assert all(v.outcome != "torn_down" or v.orderly for v in separate)
    assert status(files) == 0


def test_an_orderly_delete_after_traffic_is_no_failure_in_either_version() -> None:
    lab = NOISE.parent
    for name in ("ikev1-delete", "ikev2-delete"):
        verdict, = run([lab / f"{name}.pcap"])[0]
        assert (verdict.outcome, verdict.orderly, verdict.remedy) == ("torn_down", True, ""), name
        assert status([lab / f"{name}.pcap"]) == 0


def test_two_vantage_points_merged_are_one_negotiation_with_the_lost_message_named() -> None:
    moon, sun = NOISE / "vantage-moon.pcap", NOISE / "vantage-sun.pcap"
    expected = json.loads((NOISE / "vantage.json").read_text(encoding="utf-8"))["expected"]
    verdicts, findings, summary = run([moon, sun], merge=True)
    assert [(v.outcome, v.code) for v in verdicts] == [("established", "Established")]
    loss, = [f for f in findings if f.kind == "path_loss"]
    lost = expected["merged"].get("lost_frame", 3)
    assert loss.frames == [lost] and loss.file == str(moon) and str(sun) in loss.detail
    alone = [run([path]) for path in (moon, sun)]
    assert summary.ike_messages == max(one[2].ike_messages for one in alone)  # one message, two sightings
    for verdicts_alone, _, _ in alone:
        assert [(v.outcome, v.code) for v in verdicts_alone] == [("established", "Established")]


def test_a_tunnel_that_failed_then_came_up_reports_the_outage() -> None:
    from ikesniff.diagnosis import verdict
    from ikesniff.events import DiagnosisEvent, Evidence

    def attempt(ike_sa: str, outcome: str, code: str, started: float, frame: int) -> DiagnosisEvent:
        return DiagnosisEvent(ike_sa=ike_sa, version=2, initiator="192.0.2.1:500", responder="192.0.2.2:500",
                              outcome=outcome, code=code, huawei=None, phase=1, confidence="likely", alternatives=[],
                              evidence=[Evidence(frame, "seen")], message=f"{code}.", remedy="", started=started,
                              ended=started + 5)
    failed = attempt("v2-1", "failed", "PskMismatch", 1_000_000.0, 3)
    up = attempt("v2-2", "established", "Established", 1_000_600.0, 40)
    told = verdict(["192.0.2.1", "192.0.2.2"], ["v2-1", "v2-2"], up, up, failed)
    assert told.outcome == "established" and "recovered from an outage" in told.message
    assert "PskMismatch" in told.message and "600 s later" in told.message
    assert [item.frame for item in told.evidence] == [3, 40]
    assert verdict(["192.0.2.1", "192.0.2.2"], ["v2-2"], up, up).message == "Established."
