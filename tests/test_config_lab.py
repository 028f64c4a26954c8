"""Gateway configurations of the lab: the swanctl.conf texts lab/run.py writes for every scenario.

Ground truth, none of it written here: the scenario table (lab/scenarios.py) renders both sides'
swanctl.conf exactly as the lab loads them into strongSwan; each capture's label (pcaps/NAME.json) says
what the lab configured and what went wrong (the code the negotiation between those two files
produced); the captures show what each strongSwan really put on the wire. So:

* compare_configs(moon, sun) names the label's code for every scenario whose fault is in the
  configuration, and nothing blocking for the healthy ones and for the faults that are not in the
  files (dropped packets, a daemon not started, an administrator's delete);
* every SA payload of every capture is what its sender's file configures (our reading of the
  strongSwan keywords and defaults matches what charon sends);
* the offers of the capture, compared with the receiver's file, name the same difference.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from ikesniff.config import GatewayConfig, combine, compare_configs, compare_with_offers, parse_config
from ikesniff.offers import offers_of

ROOT = Path(__file__).resolve().parent.parent
PCAPS = ROOT / "pcaps"
sys.path.insert(0, str(ROOT))

from lab import config as lab_config
from lab import scenarios

# What the two files say, per scenario: the blocking codes compare_configs must name (the label's code
# when the fault is in the configuration), and the codes it may name as notes (not blocking).
CONFIG_FAULTS: dict[str, tuple[set[str], set[str]]] = {
    # ProposalMismatch in the label, its alternatives being the three algorithm codes: with both files at
    # hand every algorithm is seen to differ, which seeds 000/001 call AlgorithmMismatch (offers.code_for)
    "ikev2-proposal-mismatch": ({"AlgorithmMismatch"}, set()),
    "ikev2-encryption-mismatch": ({"EncryptionAlgorithmMismatch"}, set()),
    "ikev2-encryption-mismatch-both-ways": ({"EncryptionAlgorithmMismatch"}, set()),
    "ikev2-integrity-mismatch": ({"AuthenticationAlgorithmMismatch"}, set()),
    "ikev2-dh-mismatch": ({"DhGroupMismatch"}, set()),
    "ikev2-dh-mismatch-recovered": (set(), {"DhGroupMismatch"}),
    "ikev1-main-proposal-mismatch": ({"EncryptionAlgorithmMismatch"}, set()),
    "ikev2-psk-mismatch": ({"PskMismatch"}, set()),
    "ikev1-main-psk-mismatch": ({"PskMismatch"}, set()),
    "ikev1-aggressive-psk-mismatch": ({"PskMismatch"}, set()),
    "ikev2-peer-id-mismatch": ({"PeerIdMismatch"}, set()),
    "ikev1-main-peer-id-mismatch": ({"PeerIdMismatch"}, set()),
    "ikev1-aggressive-peer-id-mismatch": ({"PeerIdMismatch"}, set()),
    "ikev2-ts-mismatch": ({"TrafficSelectorMismatch"}, set()),
    "ikev2-esp-proposal-mismatch": ({"EncryptionAlgorithmMismatch"}, set()),
    "ikev2-pfs-mismatch": ({"PfsMismatch"}, set()),
    "ikev1-quick-mode-proposal-mismatch": ({"EncryptionAlgorithmMismatch"}, set()),
    "ikev1-encapsulation-mismatch": ({"EncapsulationModeMismatch"}, set()),
    "ikev2-ah-esp-mismatch": ({"SecurityProtocolMismatch"}, set()),
    "ike-version-mismatch": ({"IkeVersionMismatch"}, set()),
    "ike-version-mismatch-v1": ({"IkeVersionMismatch"}, set()),
    "ikev1-mode-mismatch": ({"NegotiationModeMismatch"}, set()),
    "ikev1-lifetime-mismatch": (set(), {"LifetimeMismatch"}),
}
# Faults of the network or of an operator, not of the files: the configurations agree.
NOT_IN_FILES = {"NoResponse", "Phase1NegotiationTimeout", "DpdTimeout", "ReceiveDeleteNotify", "Established"}


@cache
def label(name: str) -> dict[str, Any]:
    return json.loads((PCAPS / f"{name}.json").read_text())  # type: ignore[no-any-return]


def lab_texts(name: str, side: str) -> tuple[str, str]:
    """(swanctl.conf, strongswan.conf) of one side, rendered as lab/run.py writes them."""
    scenario = scenarios.resolve(name)
    settings = scenario["sides"][side]
    swanctl = lab_config.render(settings["swanctl"]) + "\n"
    strongswan = lab_config.render(scenarios.strongswan_conf(settings, f"/run/ikesniff-lab/{side}",
                                                             f"/run/ikesniff-lab/{side}/charon.log")) + "\n"
    return swanctl, strongswan


@cache
def lab_configs(name: str) -> dict[str, GatewayConfig]:
    """Both sides' swanctl.conf with their strongswan.conf, as lab/run.py writes them, parsed and joined."""
    configs: dict[str, GatewayConfig] = {}
    for side in scenarios.SIDES:
        swanctl, strongswan = lab_texts(name, side)
        daemon = parse_config(strongswan, f"{side}/strongswan.conf")
        assert daemon.format == "strongswan.conf" and daemon.notes == [] and daemon.connections == []
        (configs[side],) = combine([parse_config(swanctl, f"{side}/swanctl.conf"), daemon])
        assert configs[side].daemon is not None
    return configs


ALL = sorted(scenarios.SCENARIOS)


def test_every_scenario_has_a_label_and_an_expectation() -> None:
    for name in ALL:
        assert (PCAPS / f"{name}.json").exists(), name
        code = label(name)["expected"]["code"]
        assert name in CONFIG_FAULTS or code in NOT_IN_FILES, f"{name}: {code} not covered"


@pytest.mark.parametrize("name", ALL)
def test_lab_swanctl_conf_parses_cleanly_and_as_labelled(name: str) -> None:
    configs = lab_configs(name)
    for side, config in configs.items():
        assert config.format == "swanctl"
        assert config.notes == [], config.notes
        assert len(config.connections) == 1
        connection = config.connections[0]
        configured = label(name)["configured"][side]
        assert connection.local_addrs == [configured["local_addrs"]]
        assert connection.remote_addrs == [configured["remote_addrs"]]
        assert connection.version == configured["ike_version"]
        assert [proposal.text for proposal in connection.ike_proposals] == configured["proposals"].split(",")
        assert connection.local_id == configured["local_id"]
        assert connection.remote_id == configured["remote_id"]
        assert connection.local_auth == [configured["auth"]["local"]]
        assert connection.psk_set is (configured["auth"]["local"] == "psk")
        child = connection.children[0]
        assert child.local_ts == [configured["local_ts"]] and child.remote_ts == [configured["remote_ts"]]
        assert child.mode == configured["child_mode"]


@pytest.mark.parametrize("name", ALL)
def test_compare_configs_names_the_labelled_mismatch(name: str) -> None:
    configs = lab_configs(name)
    differences = compare_configs(configs["moon"], configs["sun"])
    blocking = {difference.code for difference in differences if difference.blocking}
    notes = {difference.code for difference in differences if not difference.blocking}
    expected_blocking, expected_notes = CONFIG_FAULTS.get(name, (set(), set()))
    assert blocking == expected_blocking, [difference.text for difference in differences]
    assert notes == expected_notes, [difference.text for difference in differences]
    code = label(name)["expected"]["code"]
    alternatives = set(label(name)["expected"].get("alternatives", []))
    for found in blocking:
        assert found == code or (found == "AlgorithmMismatch" and code == "ProposalMismatch"
                                 and alternatives >= {"EncryptionAlgorithmMismatch", "DhGroupMismatch"})
    # the same answer whichever file comes first
    reverse = {difference.code for difference in compare_configs(configs["sun"], configs["moon"])
               if difference.blocking}
    assert reverse == blocking


def test_difference_texts_name_both_sides_and_values() -> None:
    configs = lab_configs("ikev2-encryption-mismatch")
    (difference,) = compare_configs(configs["moon"], configs["sun"])
    assert difference.kind == "encryption" and difference.phase == 1 and difference.change == "either"
    assert "192.0.2.1 proposes AES-CBC-256" in difference.text
    assert "192.0.2.2 proposes AES-CBC-128" in difference.text
    configs = lab_configs("ikev2-peer-id-mismatch")
    (difference,) = compare_configs(configs["moon"], configs["sun"])
    assert difference.change == "192.0.2.2"  # sun requires gw.example: sun's remote id is what to change
    assert "gw.example" in difference.text and "moon.example" in difference.text
    configs = lab_configs("ikev2-ts-mismatch")
    (difference,) = compare_configs(configs["moon"], configs["sun"])
    assert "192.0.2.144/28" in difference.text and "192.0.2.176/28" in difference.text
    configs = lab_configs("ikev2-pfs-mismatch")
    (difference,) = compare_configs(configs["moon"], configs["sun"])
    assert difference.phase == 2 and "rekey" in difference.text and "MODP-2048" in difference.text


def test_psk_difference_never_shows_a_key() -> None:
    configs = lab_configs("ikev2-psk-mismatch")
    (difference,) = compare_configs(configs["moon"], configs["sun"])
    assert difference.code == "PskMismatch"
    secrets = {scenarios.PSK, scenarios.SCENARIOS["ikev2-psk-mismatch"]["sun"]["secret"]}
    for secret in secrets:
        assert secret not in difference.text
        assert secret not in repr(difference)
        for config in configs.values():
            assert secret not in repr(config)
            assert secret not in str(config)
            assert secret not in json.dumps(config.to_dict())


# --------------------------------------------------------------------------------------------
# Against the captures
# --------------------------------------------------------------------------------------------
EXCHANGES = {2: {34: "IKE_SA_INIT", 35: "IKE_AUTH", 36: "CREATE_CHILD_SA", 37: "INFORMATIONAL"},
             1: {2: "IDENTITY_PROTECTION", 4: "AGGRESSIVE", 32: "QUICK_MODE"}}


def sa_messages(name: str) -> list[tuple[int, str, str, list[Any], str | None]]:
    """(frame, sender side, sender address on the wire, offers, exchange) of every message with an SA."""
    from test_offers import seen

    topology = label(name)["topology"]
    addresses = topology["addresses"]
    nat = topology.get("nat") or {}
    found = []
    for message in seen(name):
        offers = offers_of(message.payloads)
        if not offers:
            continue
        side = "sun" if message.src == addresses["sun"] else "moon"
        assert message.src in (addresses[side], nat.get("public")), message.src
        exchange = EXCHANGES.get(message.message.version, {}).get(message.message.header.exchange_type)
        found.append((message.frame, side, message.src, offers, exchange))
    return found


@pytest.mark.parametrize("name", ALL)
def test_every_offer_on_the_wire_is_what_its_senders_file_configures(name: str) -> None:
    configs = lab_configs(name)
    addresses = label(name)["topology"]["addresses"]
    checked = 0
    for frame, side, source, offers, exchange in sa_messages(name):
        other = "sun" if side == "moon" else "moon"
        # moon seen through the NAT: its file knows its private address; the receiver's address tells
        peer = addresses[other] if source != addresses[side] else None
        differences = compare_with_offers(configs[side], offers, source, peer=peer, exchange=exchange)
        assert differences == [], (frame, [difference.text for difference in differences])
        checked += 1
    assert checked == len(sa_messages(name))


WIRE_FAULTS = {name: codes for name, (codes, _) in CONFIG_FAULTS.items()
               if codes & {"AlgorithmMismatch", "EncryptionAlgorithmMismatch", "AuthenticationAlgorithmMismatch",
                           "DhGroupMismatch", "PfsMismatch", "EncapsulationModeMismatch", "SecurityProtocolMismatch",
                           "IkeVersionMismatch", "NegotiationModeMismatch"}}


@pytest.mark.parametrize("name", ALL)
def test_offers_against_the_receivers_file(name: str) -> None:
    """The initiator's offers against the responder's file: the labelled difference, or nothing."""
    configs = lab_configs(name)
    topology = label(name)["topology"]
    found: set[str] = set()
    for _, side, source, offers, exchange in sa_messages(name):
        other = "sun" if side == "moon" else "moon"
        peer = topology["addresses"][other]
        for difference in compare_with_offers(configs[other], offers, source, peer=peer, exchange=exchange):
            assert difference.change == peer  # the receiver, whose file was read
            found.add(difference.code)
    assert found == WIRE_FAULTS.get(name, set())


def test_wire_text_says_who_offers_and_who_accepts() -> None:
    configs = lab_configs("ikev2-encryption-mismatch")
    _, _, source, offers, exchange = sa_messages("ikev2-encryption-mismatch")[0]
    (difference,) = compare_with_offers(configs["sun"], offers, source, exchange=exchange)
    assert difference.text == "encryption: 192.0.2.1 offers AES-CBC-256; 192.0.2.2 accepts AES-CBC-128 only"
    assert difference.code == "EncryptionAlgorithmMismatch" and difference.change == "192.0.2.2"


def test_pfs_counts_only_where_a_key_exchange_is_made() -> None:
    """IKEv2: the ESP offer of IKE_AUTH carries moon's PFS group, but the first CHILD_SA has no KE."""
    configs = lab_configs("ikev2-pfs-mismatch")
    by_exchange = {exchange: (source, offers) for _, side, source, offers, exchange in sa_messages("ikev2-pfs-mismatch")
                   if side == "moon"}
    source, offers = by_exchange["IKE_AUTH"]
    assert compare_with_offers(configs["sun"], offers, source, exchange="IKE_AUTH") == []
    source, offers = by_exchange["CREATE_CHILD_SA"]
    (difference,) = compare_with_offers(configs["sun"], offers, source, exchange="CREATE_CHILD_SA")
    assert difference.code == "PfsMismatch" and difference.phase == 2


def test_a_foreign_sender_is_a_peer_mismatch() -> None:
    configs = lab_configs("ikev2-psk")
    _, _, _, offers, exchange = sa_messages("ikev2-psk")[0]
    (difference,) = compare_with_offers(configs["sun"], offers, "198.51.100.77", exchange=exchange)
    assert difference.code == "PeerMismatch" and "198.51.100.77" in difference.text


def test_aggressive_psk_needs_the_daemon_flag_on_a_strongswan_responder() -> None:
    """ikev1-aggressive sets charon.i_dont_care_about_security_and_use_aggressive_mode_psk on both sides;
    without it on sun, charon refuses (the log line of ikev1-mode-mismatch: 'none allows pre-shared key
    authentication using Aggressive Mode')."""
    assert compare_configs(*lab_configs("ikev1-aggressive").values()) == []
    swanctl, strongswan = lab_texts("ikev1-aggressive", "sun")
    assert "i_dont_care_about_security_and_use_aggressive_mode_psk = yes" in strongswan
    strict = strongswan.replace("i_dont_care_about_security_and_use_aggressive_mode_psk = yes", "")
    (sun,) = combine([parse_config(swanctl, "sun/swanctl.conf"), parse_config(strict, "sun/strongswan.conf")])
    (difference,) = compare_configs(lab_configs("ikev1-aggressive")["moon"], sun)
    assert difference.code == "NegotiationModeMismatch" and difference.change == "192.0.2.2"
    _, _, source, offers, exchange = sa_messages("ikev1-aggressive")[0]
    assert exchange == "AGGRESSIVE"
    (difference,) = compare_with_offers(sun, offers, source, exchange=exchange)
    assert difference.code == "NegotiationModeMismatch"
    assert compare_with_offers(lab_configs("ikev1-aggressive")["sun"], offers, source, exchange=exchange) == []
