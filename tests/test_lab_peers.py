"""The mixed lab (lab/peers.py): committed captures of strongSwan, libreswan, vpnc and ike-scan peers keep
their labels' promises.

Fast (no root, needs tshark): every ``pcaps/peers/*.pcap`` has a label whose wire facts, timeline,
expected exchange/notify counts and decryption (with the key table rebuilt from the committed strongSwan
log) hold in the capture, whose decisive log lines are in the committed logs, and whose expected code is a
SPEC section 5 code. Nothing here asks what ikesniff concludes: the diagnosis tests do that.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lab import netlab, peer_scenarios, peers, wire

PEERS = REPO / "pcaps" / "peers"
COMMITTED = sorted(PEERS.glob("*.pcap"))
IDS = [p.stem for p in COMMITTED]

needs_tshark = pytest.mark.skipif(wire.tshark_path() is None, reason="tshark is not installed")

SPEC_CODES = {
    "PeerMismatch", "AlgorithmMismatch", "EncryptionAlgorithmMismatch", "AuthenticationAlgorithmMismatch",
    "DhGroupMismatch", "PskMismatch", "PeerIdMismatch", "DpdHashNotifyCompatibility", "DpdTimeout",
    "IkeVersionMismatch", "NegotiationModeMismatch", "NatTMismatch", "LifetimeMismatch", "SecurityProtocolMismatch",
    "EncapsulationModeMismatch", "AlgorithmCompatibility", "TrafficSelectorMismatch", "PfsMismatch",
    "CommitMismatch", "ProposalMismatch", "NegotiationFailed", "Phase1NegotiationTimeout",
    "Phase2NegotiationTimeout", "NoResponse", "ReceiveDeleteNotify", "NoExceptionFound", "Established",
    "XauthFailure", "EapFailure", "RekeyFailure", "PeerRestart", "CertificateAuthenticationFailure",
}


def load(pcap: Path) -> dict:
    return json.loads(pcap.with_suffix(".json").read_text())


def logs(the_label: dict) -> dict[str, str]:
    return {side: (PEERS / the_label["files"][f"{side}_log"]).read_text() for side in the_label["implementations"]}


def tables(pcap: Path) -> dict[str, str]:
    found = {}
    for name in ("ikev1_decryption_table", "ikev2_decryption_table"):
        path = pcap.with_name(f"{pcap.stem}.{name}")
        if path.exists():
            found[name] = path.read_text()
    return found


def test_there_are_committed_peer_captures() -> None:
    assert COMMITTED, "pcaps/peers/ holds no capture; run `sudo lab/run.py <peer scenario>`"


@pytest.mark.parametrize("pcap", COMMITTED, ids=IDS)
def test_label_names_a_scenario_its_files_and_a_spec_code(pcap: Path) -> None:
    the_label = load(pcap)
    assert the_label["scenario"] == pcap.stem
    assert pcap.stem in peer_scenarios.SCENARIOS, "a committed capture no lab scenario regenerates"
    for name in the_label["files"].values():
        assert (PEERS / name).exists(), name
    expected = the_label["expected"]
    assert expected["code"] in SPEC_CODES
    assert all(alt in SPEC_CODES and alt != expected["code"] for alt in expected.get("alternatives", []))
    if expected["outcome"] == "failed":
        assert expected.get("phase") in (1, 2)
    assert the_label["observed"]["outcome"] == expected["outcome"]
    for side, impl in the_label["implementations"].items():
        assert impl["impl"] in peer_scenarios.SOFTWARE
        assert impl["version"], f"{side}: the implementation's version was not recorded"
    assert pcap.stat().st_size < 200_000


@needs_tshark
@pytest.mark.parametrize("pcap", COMMITTED, ids=IDS)
def test_label_claims_hold_in_the_capture_and_the_logs(pcap: Path) -> None:
    the_label = load(pcap)
    problems = peers.check_capture(the_label, pcap, tables(pcap), logs(the_label))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("pcap", COMMITTED, ids=IDS)
def test_key_table_is_what_the_committed_strongswan_log_says(pcap: Path) -> None:
    the_label = load(pcap)
    sides = the_label["observed"]["keys_logged_by"]
    implementations = {side: impl["impl"] for side, impl in the_label["implementations"].items()}
    assert all(implementations[side] == "charon" for side in sides)
    rebuilt, used = peers.key_tables(logs(the_label), implementations, sides or None)
    assert rebuilt == tables(pcap)
    assert used == sides


@needs_tshark
@pytest.mark.parametrize("pcap", COMMITTED, ids=IDS)
def test_check_catches_a_label_that_lies(pcap: Path) -> None:
    """The check is not vacuous: one IKE message taken out of the label's timeline is noticed."""
    the_label = load(pcap)
    if not the_label["wire"]["timeline"]:
        pytest.skip("no IKE message in this capture")
    the_label["wire"]["timeline"] = the_label["wire"]["timeline"][1:]
    the_label["wire"]["exchanges"] = {}
    assert peers.check_capture(the_label, pcap, tables(pcap), logs(the_label))


def test_every_peer_scenario_resolves() -> None:
    for name in peer_scenarios.SCENARIOS:
        scenario = peer_scenarios.resolve(name)
        assert set(scenario["sides"]) <= {"moon", "sun"}
        for settings in scenario["sides"].values():
            assert settings["impl"] in peer_scenarios.SOFTWARE
        assert scenario["expect"]["code"] in SPEC_CODES
        assert scenario["steps"], name


# --- end to end: real daemons in namespaces (root) ---------------------------------------------------------

def peers_lab_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces, tcpdump, the daemons)"
    for tool in ("ip", "tcpdump", "swanctl", "tshark", "gcc", "certutil"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not peers.PLUTO.exists():
        return f"libreswan is not unpacked in {peers.LIBRESWAN_ROOT} (`make libreswan`)"
    return None


@pytest.mark.lab
@pytest.mark.slow
@pytest.mark.parametrize("name", ["libreswan-pair-ikev2-tcp-no-kernel-esp", "strongswan-peer-restart-initiates"])
def test_scenario_regenerates_in_namespaces(name: str, tmp_path: Path) -> None:
    """A fresh run of the scenario with real daemons: written only when its label's claims held, and the wire
    the same shape as the committed capture's (IKE over TCP through the espintcp stand-in; a restarted peer
    that initiates again with its own INITIAL_CONTACT)."""
    reason = peers_lab_unavailable()
    if reason:
        pytest.skip(reason)
    out = tmp_path / "out"
    work = Path(tempfile.mkdtemp(prefix="ikslab-"))  # short: the vici socket path must fit in 108 bytes
    try:
        result = subprocess.run([sys.executable, str(REPO / "lab" / "run.py"), name, "--out", str(out),
                                 "--work", str(work)], check=False, capture_output=True, text=True, timeout=180)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    pcap = out / f"{name}.pcap"
    fresh, committed = load(pcap), load(PEERS / f"{name}.pcap")
    assert fresh["observed"]["outcome"] == fresh["expected"]["outcome"] == committed["expected"]["outcome"]
    assert fresh["wire"]["exchanges"] == committed["wire"]["exchanges"]
    fresh_tables = tables(pcap)  # the key tables written beside the fresh capture
    fresh_logs = {side: (out / fresh["files"][f"{side}_log"]).read_text() for side in fresh["implementations"]}
    assert not peers.check_capture(fresh, pcap, fresh_tables, fresh_logs)
    if "tcp" in name:
        assert {m.get("transport") for m in fresh["wire"]["ike_messages"]} == {"tcp"}
    assert netlab.cleanup_stale() == [], "the run left network namespaces behind"
