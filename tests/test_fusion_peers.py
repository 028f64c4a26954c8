"""One timeline on the mixed lab (pcaps/peers: strongSwan, libreswan, vpnc, ike-scan against each other).

Ground truth: each capture's label (pcaps/peers/NAME.json, its `expected.code`) and both peers' own logs
written during that negotiation (NAME.moon.*.log, NAME.sun.*.log: charon, pluto, vpnc, ike-scan). The logs
go in as `--log` takes them (their keys too). Where the fused verdict is not the label's, the table below
says what it is and why: each entry is a limit of the log data or of the wire reading, not of the fusion,
and a change that fixes one shows here.

pcaps/peers comes with the mixed lab (lab/peers.py); without it this module has nothing to read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from ikesniff import api
from ikesniff.events import LogEvidence, VerdictEvent
from ikesniff.fusion import LogText, log_keys

PEERS = Path(__file__).resolve().parent.parent / "pcaps" / "peers"
CAPTURES = sorted(PEERS.glob("*.pcap"))
pytestmark = pytest.mark.skipif(not CAPTURES, reason="pcaps/peers (the mixed lab's captures) is not in this tree")

KERNEL = ("pluto's kernel refusal ('netlink response for Add SA ... Protocol not supported') is NegotiationFailed "
          "'likely' but not decisive in data/log_patterns.json")
NOT_AS_LABELLED: dict[str, tuple[str, str]] = {
    "libreswan-pair-ikev2-no-kernel-esp": (
        "TrafficSelectorMismatch", KERNEL + "; the initiator's 'IKE_AUTH response rejected Child SA with "
        "TS_UNACCEPTABLE' is a 'certain' TrafficSelectorMismatch there, though libreswan sends that notify when "
        "its kernel refuses the SA"),
    "libreswan-pair-ikev2-tcp-no-kernel-esp": (
        "TrafficSelectorMismatch", KERNEL + "; as over UDP (libreswan-pair-ikev2-no-kernel-esp), in a TCP stream"),
    "libreswan-pair-ikev2-tcp-fallback": (
        "TrafficSelectorMismatch", KERNEL + "; as over UDP (libreswan-pair-ikev2-no-kernel-esp), after the fallback "
        "to TCP"),
    "libreswan-resp-ikev1-main-no-kernel-esp": ("Phase2NegotiationTimeout", KERNEL),
    "libreswan-resp-ikev2-no-kernel-esp": ("TrafficSelectorMismatch", KERNEL + "; the wire reads TS_UNACCEPTABLE"),
    "libreswan-resp-restart": ("TrafficSelectorMismatch",
                               ("no new SA follows the restart (the SA was childless, strongSwan does not restart "
                               "it): pluto's second start line is cited beside the verdict, but the first CHILD_SA's "
                               "TS_UNACCEPTABLE (a kernel refusal) is what both the wire and the logs decide")),
    "libreswan-pair-ikev1-main-no-kernel-esp": ("Phase2NegotiationTimeout",
                                                KERNEL + "; the wire reads quick mode unanswered"),
    "ike-scan-ikev2": ("AuthenticationAlgorithmMismatch",
                       ("more specific than the label: charon's received and configured proposals show that the "
                       "integrity algorithm is what differs")),
    "vpnc-libreswan-xauth-ts-mismatch": ("ProposalMismatch",
                                         ("pluto's 'sending encrypted notification INVALID_ID_INFORMATION' is "
                                         "TrafficSelectorMismatch 'possible' only: too weak to replace the wire")),
}


def label(pcap: Path) -> dict[str, Any]:
    return json.loads(pcap.with_suffix(".json").read_text())  # type: ignore[no-any-return]


def fused(pcap: Path) -> VerdictEvent:
    logs = [LogText(str(path), path.read_text(errors="replace").splitlines())
            for path in sorted(PEERS.glob(f"{pcap.stem}.*.log"))]
    found = [item for item in api.analyse([str(pcap)], api.Options(logs=logs, keys=log_keys(logs)))
             if isinstance(item, VerdictEvent) and item.final]
    assert len(found) == 1, [(v.peers, v.code) for v in found]
    return found[0]


@pytest.mark.parametrize("pcap", CAPTURES, ids=[pcap.stem for pcap in CAPTURES])
def test_both_peers_logs_give_the_labelled_code(pcap: Path) -> None:
    expected = label(pcap)["expected"]["code"]
    verdict = fused(pcap)
    code, why = NOT_AS_LABELLED.get(pcap.stem, (expected, ""))
    assert verdict.code == code, (verdict.code, verdict.confidence, verdict.message, why)
    for item in verdict.evidence:
        if isinstance(item, LogEvidence):
            text = Path(item.file).read_text(errors="replace").splitlines()[item.line - 1]
            assert text.strip(), item


@pytest.mark.parametrize("name", ["strongswan-xauth-refused", "vpnc-xauth-refused", "vpnc-libreswan-xauth-refused"])
def test_a_refusal_after_the_ike_sa_overrides_an_inferred_established(name: str) -> None:
    """The gateway's XAUTH refusal decides (certain, with the log line as evidence); the wire alone reads
    XauthFailure from the round shape since the XAUTH rule, so the log confirms rather than contradicts it."""
    verdict = fused(PEERS / f"{name}.pcap")
    assert (verdict.code, verdict.outcome, verdict.confidence) == ("XauthFailure", "failed", "certain")
    assert any(isinstance(item, LogEvidence) for item in verdict.evidence)


def fused_with(name: str, sides: Sequence[str]) -> VerdictEvent:
    """The verdict with the logs of some sides only, and no keys (the wire alone says `likely`)."""
    logs = [LogText(str(path), path.read_text(errors="replace").splitlines())
            for side in sides for path in sorted(PEERS.glob(f"{name}.{side}.*.log"))]
    found = [item for item in api.analyse([str(PEERS / f"{name}.pcap")], api.Options(logs=logs))
             if isinstance(item, VerdictEvent) and item.final]
    assert len(found) == 1
    return found[0]


def start_lines(path: Path) -> list[int]:
    return [number for number, line in enumerate(path.read_text().splitlines(), 1)
            if "Starting IKE charon daemon" in line or "Starting Pluto (" in line]


RESTARTS = ["strongswan-peer-restart", "strongswan-peer-restart-ikev1", "strongswan-peer-restart-initiates",
            "strongswan-peer-restart-initiates-ikev1"]


@pytest.mark.parametrize("name", RESTARTS)
def test_the_restarted_peers_start_line_in_the_outage_decides(name: str) -> None:
    """sun's own log (charon appends after its restart) holds a second start line, placed on the capture's clock
    between sun's last message on the old IKE SA and the new SA: the restart is certain, the outage stays."""
    verdict = fused_with(name, ["sun"])
    assert (verdict.code, verdict.outcome, verdict.confidence) == ("PeerRestart", "established", "certain")
    assert "The log of 192.0.2.2 decides: its daemon started" in verdict.message
    assert "an outage of" in verdict.message and verdict.alternatives == []
    log = PEERS / f"{name}.sun.charon.log"
    _first, second = start_lines(log)
    (line,) = [e for e in verdict.evidence if isinstance(e, LogEvidence) and "the daemon starts" in e.why]
    assert (line.file, line.line, line.gateway) == (str(log), second, "192.0.2.2")


@pytest.mark.parametrize("name", RESTARTS)
def test_the_survivors_log_and_a_log_of_another_run_decide_nothing(name: str) -> None:
    """moon's log starts once, before any SA: no restart in it. Another run's sun log ties to nothing here."""
    assert fused_with(name, ["moon"]).confidence == "likely"
    other = RESTARTS[(RESTARTS.index(name) + 2) % len(RESTARTS)]
    path = PEERS / f"{other}.sun.charon.log"
    logs = [LogText(str(path), path.read_text().splitlines())]
    (verdict,) = [item for item in api.analyse([str(PEERS / f"{name}.pcap")], api.Options(logs=logs))
                  if isinstance(item, VerdictEvent) and item.final]
    assert (verdict.code, verdict.confidence) == ("PeerRestart", "likely")


def test_a_restart_without_a_new_sa_is_said_beside_the_wire_s_verdict() -> None:
    """libreswan-resp-restart: pluto restarts while strongSwan still runs DPD on the (childless) IKE SA and no new
    SA follows. The wire's verdict (the CHILD_SA refused) keeps its code; the start line is cited beside it."""
    verdict = fused_with("libreswan-resp-restart", ["sun"])
    assert verdict.code == "TrafficSelectorMismatch"
    assert "The log of 192.0.2.2 shows its daemon starting again" in verdict.message
    assert "192.0.2.1 went on using: 192.0.2.2 restarted and lost that SA" in verdict.message
    log = PEERS / "libreswan-resp-restart.sun.pluto.log"
    assert any(isinstance(e, LogEvidence) and e.line == start_lines(log)[1] for e in verdict.evidence)
