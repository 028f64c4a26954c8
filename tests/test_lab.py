"""The lab (lab/): committed captures keep their promises, and the lab still produces them.

Fast tests (no root, need tshark): every ``pcaps/*.pcap`` has a label whose claims hold in
the capture (exchanges, SPIs, the timeline of notifies and retransmissions), whose key table,
rebuilt from the committed charon log, opens the encrypted messages, and whose expected
failure (SPEC section 5 code, phase) is what the committed charon logs say. The ``lab`` test runs one scenario end to end with real strongSwan
daemons in network namespaces (root only; skipped with the reason otherwise).
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

from lab import charonlog, config, label, netlab, scenarios, wire

PCAPS = REPO / "pcaps"
COMMITTED = sorted(PCAPS.glob("*.pcap"))

needs_tshark = pytest.mark.skipif(wire.tshark_path() is None, reason="tshark is not installed")


def load_label(pcap: Path) -> dict:
    return json.loads(pcap.with_suffix(".json").read_text())


def key_tables(pcap: Path) -> dict[str, str]:
    tables = {}
    for name in ("ikev1_decryption_table", "ikev2_decryption_table"):
        path = pcap.with_name(f"{pcap.stem}.{name}")
        if path.exists():
            tables[name] = path.read_text()
    return tables


# --- fast: committed captures ------------------------------------------------------------------

def test_there_are_committed_lab_captures() -> None:
    assert COMMITTED, "pcaps/ holds no capture; run `sudo lab/run.py --all`"


@pytest.mark.parametrize("pcap", COMMITTED, ids=[p.stem for p in COMMITTED])
def test_every_capture_has_a_label_with_the_required_keys(pcap: Path) -> None:
    path = pcap.with_suffix(".json")
    assert path.exists(), f"{pcap.name} has no label {path.name}"
    the_label = load_label(pcap)
    assert label.REQUIRED_KEYS <= the_label.keys(), sorted(label.REQUIRED_KEYS - the_label.keys())
    assert label.REQUIRED_EXPECTED <= the_label["expected"].keys()
    assert label.REQUIRED_OBSERVED <= the_label["observed"].keys()
    assert label.REQUIRED_WIRE <= the_label["wire"].keys()
    assert the_label["scenario"] == pcap.stem
    for name in the_label["files"].values():
        assert (PCAPS / name).exists(), f"label of {pcap.name} names {name}, which is not committed"


@pytest.mark.parametrize("pcap", COMMITTED, ids=[p.stem for p in COMMITTED])
def test_label_outcome_agrees_with_its_expectation(pcap: Path) -> None:
    the_label = load_label(pcap)
    assert the_label["observed"]["outcome"] == the_label["expected"]["outcome"]
    if the_label["expected"]["outcome"] == "established":
        assert the_label["expected"]["code"] == "Established"
        assert the_label["observed"]["ike_sas"], "established, yet no IKE SA recorded"
    if the_label["expected"]["esp"]:
        assert the_label["observed"]["esp"]["carried_pings"]
    if "ike_established" in the_label["expected"]:  # e.g. a childless IKE SA after TS_UNACCEPTABLE
        assert set(the_label["observed"]["ike_established"].values()) == {the_label["expected"]["ike_established"]}


@needs_tshark
@pytest.mark.parametrize("pcap", COMMITTED, ids=[p.stem for p in COMMITTED])
def test_label_facts_hold_in_the_capture(pcap: Path) -> None:
    problems = label.check_against_pcap(load_label(pcap), pcap, key_tables(pcap))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("pcap", COMMITTED, ids=[p.stem for p in COMMITTED])
def test_key_table_is_what_the_committed_charon_log_says(pcap: Path) -> None:
    the_label = load_label(pcap)
    log = PCAPS / the_label["files"]["moon_log"]
    assert charonlog.decryption_tables(log.read_text()) == key_tables(pcap)


@pytest.mark.parametrize("pcap", COMMITTED, ids=[p.stem for p in COMMITTED])
def test_spis_in_the_label_are_the_ones_both_logs_name(pcap: Path) -> None:
    the_label = load_label(pcap)
    for side in ("moon", "sun"):
        facts = charonlog.ike_sas((PCAPS / the_label["files"][f"{side}_log"]).read_text())
        logged = {(sa.spi_i, sa.spi_r) for sa in facts.values() if sa.established}
        for sa in the_label["observed"]["ike_sas"]:
            assert (sa["spi_i"], sa["spi_r"]) in logged


SPEC_CODES = {
    "PeerMismatch", "AlgorithmMismatch", "EncryptionAlgorithmMismatch", "AuthenticationAlgorithmMismatch",
    "DhGroupMismatch", "PskMismatch", "PeerIdMismatch", "DpdHashNotifyCompatibility", "DpdTimeout",
    "IkeVersionMismatch", "NegotiationModeMismatch", "NatTMismatch", "LifetimeMismatch", "SecurityProtocolMismatch",
    "EncapsulationModeMismatch", "AlgorithmCompatibility", "TrafficSelectorMismatch", "PfsMismatch",
    "CommitMismatch", "ProposalMismatch", "NegotiationFailed", "Phase1NegotiationTimeout",
    "Phase2NegotiationTimeout", "NoResponse", "ReceiveDeleteNotify", "NoExceptionFound", "Established",
}


@pytest.mark.parametrize("pcap", COMMITTED, ids=[p.stem for p in COMMITTED])
def test_expected_code_is_a_spec_code_and_failures_name_their_phase(pcap: Path) -> None:
    expected = load_label(pcap)["expected"]
    assert expected["code"] in SPEC_CODES
    for alternative in expected.get("alternatives", []):
        assert alternative in SPEC_CODES and alternative != expected["code"]
    if expected["outcome"] != "established":
        assert expected["code"] != "Established"
        assert expected.get("phase") in (1, 2), "a failure says in which phase it happens"


@pytest.mark.parametrize("pcap", COMMITTED, ids=[p.stem for p in COMMITTED])
def test_the_committed_charon_logs_say_what_the_label_expects(pcap: Path) -> None:
    the_label = load_label(pcap)
    for side, patterns in the_label["expected"].get("log", {}).items():
        text = (PCAPS / the_label["files"][f"{side}_log"]).read_text()
        for pattern in patterns:
            assert charonlog.messages(text, pattern), f"{side}'s log has no line matching {pattern!r}"
    for side, lines in the_label["observed"].get("decisive_log_lines", {}).items():
        numbered = dict(charonlog.messages((PCAPS / the_label["files"][f"{side}_log"]).read_text(), ""))
        for line in lines:
            assert numbered.get(line["line"]) == line["text"]


# --- fast: the lab's own pieces --------------------------------------------------------------

def test_every_scenario_resolves_to_two_mirrored_configurations() -> None:
    for name in scenarios.SCENARIOS:
        scenario = scenarios.resolve(name)
        moon = scenario["sides"]["moon"]["swanctl"]["connections"]["lab"]
        sun = scenario["sides"]["sun"]["swanctl"]["connections"]["lab"]
        assert "lab {" in config.render(scenario["sides"]["moon"]["swanctl"])
        # identities and traffic selectors differ only where that is the fault the scenario shows
        if scenario["expect"]["code"] != "PeerIdMismatch":
            assert moon["local"]["id"] == sun["remote"]["id"]
        if scenario["expect"]["code"] != "TrafficSelectorMismatch":
            assert moon["children"]["net"]["local_ts"] == sun["children"]["net"]["remote_ts"]
            assert moon["children"]["net"]["remote_ts"] == sun["children"]["net"]["local_ts"]


def test_lab_addresses_are_documentation_addresses_only() -> None:
    import ipaddress

    documentation = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]
    for topology in scenarios.TOPOLOGIES.values():
        for link in topology["links"]:
            for _, _, address in link:
                assert any(ipaddress.ip_interface(address).network.subnet_of(d) for d in documentation), address
    for inner in scenarios.INNER.values():
        assert any(ipaddress.ip_network(inner["subnet"]).subnet_of(d) for d in documentation)


def test_config_merge_takes_dotted_paths_and_removes_none() -> None:
    base = {"a": {"b": 1, "c": 2}}
    assert config.merge(base, {"a.b": 3, "a.c": None, "d": "x"}) == {"a": {"b": 3}, "d": "x"}
    assert base == {"a": {"b": 1, "c": 2}}


def test_hexdump_rows_of_other_threads_do_not_corrupt_a_key() -> None:
    log = (
        "Nov 22 15:31:54.550 06[IKE] <lab|1> Sk_ei secret => 4 bytes @ 0x7f4b6c001a90\n"
        "Nov 22 15:31:54.550 07[IKE] <lab|2>    0: FF FF FF FF                                      ....\n"
        "Nov 22 15:31:54.550 06[IKE] <lab|1>    0: 9A 57 FD 45                                      .W.E\n"
    )
    (_line, what, data), = charonlog.hexdumps(charonlog.parse_lines(log))
    assert what == "Sk_ei secret" and data.hex() == "9a57fd45"


# --- end to end: real daemons (root) ---------------------------------------------------------

def lab_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces, tcpdump, charon)"
    for tool in ("ip", "tcpdump", "swanctl", "pki", "tshark"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not Path("/usr/lib/ipsec/charon").exists():
        return "charon is missing (/usr/lib/ipsec/charon; Debian package strongswan-charon)"
    if not Path("/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so").exists():
        return "charon's kernel-libipsec plugin is missing (Debian package libcharon-extra-plugins)"
    if not Path("/dev/net/tun").exists():
        return "/dev/net/tun is missing (kernel-libipsec needs a TUN device)"
    probe = f"ikslab-{os.getpid()}-probe"
    result = subprocess.run(["ip", "netns", "add", probe], check=False, capture_output=True, text=True)
    if result.returncode != 0:
        return f"`ip netns add` does not work here: {result.stderr.strip()}"
    subprocess.run(["ip", "netns", "delete", probe], check=False, capture_output=True)
    return None


@pytest.mark.lab
@pytest.mark.slow
def test_ikev2_psk_end_to_end(tmp_path: Path) -> None:
    reason = lab_unavailable()
    if reason:
        pytest.skip(reason)
    out = tmp_path / "out"
    work = Path(tempfile.mkdtemp(prefix="ikslab-"))  # short: the vici socket path must fit in 108 bytes
    try:
        result = subprocess.run([sys.executable, str(REPO / "lab" / "run.py"), "ikev2-psk", "--out", str(out),
                                 "--work", str(work)], check=False, capture_output=True, text=True, timeout=90)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert result.returncode == 0, result.stdout + result.stderr
    pcap = out / "ikev2-psk.pcap"
    the_label = load_label(pcap)
    assert the_label["observed"]["outcome"] == "established"
    assert the_label["expected"]["code"] == "Established"
    assert the_label["observed"]["esp"]["carried_pings"]
    assert the_label["configured"]["moon"]["ike_version"] == 2
    for name in the_label["files"].values():
        assert (out / name).exists()

    facts = wire.pcap_facts(pcap)
    assert facts["exchanges"]["IKE_SA_INIT"] == 2
    assert facts["exchanges"]["IKE_AUTH"] == 2
    assert facts["esp_frames"] >= 6
    tables = key_tables(pcap)
    assert set(tables) == {"ikev2_decryption_table"}
    opened = wire.decrypted_view(pcap, tables)
    assert {"moon.example", "sun.example"} <= set(opened["identities"]), "tshark did not decrypt IKE_AUTH"
    assert not wire.decrypted_view(pcap, {})["identities"], "IKE_AUTH identities readable without keys"
    assert not label.check_against_pcap(the_label, pcap, tables)
    assert netlab.cleanup_stale() == [], "the run left network namespaces behind"
