"""Diagnosis of the mixed-implementation lab (pcaps/peers: strongSwan, libreswan, vpnc, ike-scan): every
scenario's tunnel verdict without keys, with the key files beside it (Wireshark tables, charon logs) and with
the PSK its label gives. The label's code where the evidence supports it; otherwise what the wire honestly
supports, with the reason as data (`WIRE_ONLY`, `WITH_KEYS`).
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from ikesniff.analysis import DecodedMessage
from ikesniff.events import FindingEvent, VerdictEvent

REPO = Path(__file__).resolve().parent.parent
PEERS = REPO / "pcaps" / "peers"
sys.path.insert(0, str(REPO / "tools"))
from peers_table import keys_of, psk_of

from ikesniff import api

SCENARIOS = sorted(p.stem for p in PEERS.glob("*.json") if (PEERS / f"{p.stem}.pcap").exists())

NO_KERNEL_ESP = ("the lab kernel has no ESP: pluto negotiates the CHILD_SA and then cannot install it; the wire "
                 "shows only the negotiation, never the local failure to install it")
WIRE_ONLY: dict[str, tuple[str, str]] = {
    # scenario: (code the wire supports without keys, why the label's code cannot be reached)
    "libreswan-init-ikev1-pfs-mismatch": ("ProposalMismatch", "quick mode and its refusal are encrypted"),
    "libreswan-resp-ikev1-pfs-mismatch": ("ProposalMismatch", "quick mode and its refusal are encrypted"),
    "libreswan-pair-ikev2-no-kernel-esp": ("TrafficSelectorMismatch", NO_KERNEL_ESP + " (pluto answers with a "
                                           "childless IKE_AUTH)"),
    "libreswan-resp-ikev2-no-kernel-esp": ("TrafficSelectorMismatch", NO_KERNEL_ESP + " (TS_UNACCEPTABLE)"),
    "libreswan-pair-ikev2-tcp-no-kernel-esp": ("TrafficSelectorMismatch", NO_KERNEL_ESP + " (TS_UNACCEPTABLE, in "
                                               "a TCP stream)"),
    "libreswan-pair-ikev2-tcp-fallback": ("TrafficSelectorMismatch", NO_KERNEL_ESP + " (TS_UNACCEPTABLE, over TCP "
                                          "after UDP went unanswered)"),
    "libreswan-resp-ikev1-main-no-kernel-esp": ("Phase2NegotiationTimeout", NO_KERNEL_ESP + " (quick mode stops)"),
    "libreswan-pair-ikev1-main-no-kernel-esp": ("Phase2NegotiationTimeout", NO_KERNEL_ESP + " (the responder never "
                                                "answers quick mode)"),
    "libreswan-init-ikev2-esp-mismatch": ("TrafficSelectorMismatch", ("the childless IKE_AUTH answer holds "
                                          "NO_PROPOSAL_CHOSEN or TS_UNACCEPTABLE: the same size")),
    "libreswan-resp-ikev2-esp-mismatch": ("TrafficSelectorMismatch", ("the childless IKE_AUTH answer holds "
                                          "NO_PROPOSAL_CHOSEN or TS_UNACCEPTABLE: the same size")),
    "libreswan-resp-restart": ("TrafficSelectorMismatch", ("the SA was childless (TS_UNACCEPTABLE); restarted pluto "
                               "ignores liveness checks for unknown SPIs and no new SA follows: a dead peer "
                               "and a restarted one look alike (rules/restart.py)")),
    "vpnc-libreswan-xauth-ts-mismatch": ("ProposalMismatch", ("quick mode and its refusal are encrypted; "
                                         "selectors and proposals are refused alike")),
}
WITH_KEYS: dict[str, tuple[str, str]] = {
    # scenario: (code the decrypted messages support, why not the label's)
    "libreswan-init-ikev1-pfs-mismatch": ("ProposalMismatch", ("the decrypted refusal is NO_PROPOSAL_CHOSEN "
                                          "without the responder's proposal to compare")),
    "libreswan-resp-ikev1-pfs-mismatch": ("ProposalMismatch", ("the decrypted refusal is NO_PROPOSAL_CHOSEN "
                                          "without the responder's proposal to compare")),
    "libreswan-resp-ikev2-no-kernel-esp": ("TrafficSelectorMismatch", NO_KERNEL_ESP + " (TS_UNACCEPTABLE read)"),
    "libreswan-resp-ikev1-main-no-kernel-esp": ("Phase2NegotiationTimeout", NO_KERNEL_ESP),
    "libreswan-init-ikev2-esp-mismatch": ("ProposalMismatch", ("NO_PROPOSAL_CHOSEN read; the responder's "
                                          "proposals are not on the wire")),
    "libreswan-resp-ikev2-esp-mismatch": ("ProposalMismatch", ("NO_PROPOSAL_CHOSEN read; the responder's "
                                          "proposals are not on the wire")),
    "libreswan-resp-restart": ("TrafficSelectorMismatch", ("TS_UNACCEPTABLE read; the restart leaves no trace "
                               "but the unanswered checks")),
}


def label(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PEERS / f"{name}.json").read_text())
    return data


@cache
def run(name: str, how: str) -> tuple[list[VerdictEvent], list[FindingEvent]]:
    options = api.Options()
    if how == "keys":
        options = api.Options(keys=keys_of(name))
    elif how == "psk":
        psk = psk_of(label(name))
        options = api.Options(psks=[psk] if psk else [])
    items = list(api.analyse([str(PEERS / f"{name}.pcap")], options))
    return ([i for i in items if isinstance(i, VerdictEvent)], [i for i in items if isinstance(i, FindingEvent)])


def test_every_exception_is_a_scenario() -> None:
    assert set(WIRE_ONLY) | set(WITH_KEYS) <= set(SCENARIOS)
    assert len(SCENARIOS) >= 40


@pytest.mark.parametrize("name", SCENARIOS)
def test_without_keys(name: str) -> None:
    expected = label(name)["expected"]
    verdicts, _ = run(name, "plain")
    assert len(verdicts) == 1, [v.peers for v in verdicts]
    verdict = verdicts[0]
    code = WIRE_ONLY.get(name, (expected["code"], ""))[0]
    assert verdict.code == code, (verdict.code, verdict.message)
    if code == expected["code"] and expected["outcome"] != "probe":
        assert verdict.outcome == expected["outcome"], verdict.message
    if name not in WIRE_ONLY and verdict.code not in ("Established", "NoExceptionFound"):
        assert verdict.confidence != "certain" or any(
            "in clear" in e.why for e in verdict.evidence), verdict.message  # no keys: no decisive bytes read


@pytest.mark.parametrize("name", [n for n in SCENARIOS if keys_of(n) is not None])
def test_with_keys(name: str) -> None:
    expected = label(name)["expected"]
    verdicts, _ = run(name, "keys")
    assert len(verdicts) == 1
    verdict = verdicts[0]
    code = WITH_KEYS.get(name, (expected["code"], ""))[0]
    assert verdict.code == code, (verdict.code, verdict.message)


@pytest.mark.parametrize("name", [n for n in SCENARIOS if psk_of(label(n)) is not None])
def test_with_psk_alone_the_verdict_is_the_wire_s(name: str) -> None:
    plain, _ = run(name, "plain")
    with_psk, _ = run(name, "psk")
    assert [v.code for v in with_psk] == [v.code for v in plain]


@pytest.mark.parametrize("name,certain", [("strongswan-xauth-refused", "certain"), ("vpnc-xauth-refused", "certain")])
def test_xauth_status_read_with_keys_is_certain_and_names_the_server(name: str, certain: str) -> None:
    (verdict,), _ = run(name, "keys")
    assert (verdict.code, verdict.confidence) == ("XauthFailure", certain)
    assert "XAUTH_STATUS FAIL" in verdict.message and "the responder 192.0.2.2" in verdict.message
    (plain,), _ = run(name, "plain")
    assert (plain.code, plain.confidence) == ("XauthFailure", "possible")


def test_successful_xauth_stays_established() -> None:
    for name in ("strongswan-xauth", "vpnc-xauth"):
        for how in ("plain", "keys"):
            (verdict,), _ = run(name, how)
            assert verdict.code == "Established", (name, how, verdict.message)


def test_eap_refusal_blames_the_server_and_names_the_method() -> None:
    (verdict,), _ = run("strongswan-eap-mschapv2-refused", "keys")
    assert (verdict.code, verdict.confidence) == ("EapFailure", "certain")
    assert "The responder 192.0.2.2:4500 refused the EAP-MSCHAPV2" in verdict.message
    (plain,), _ = run("strongswan-eap-mschapv2-refused", "plain")
    assert (plain.code, plain.confidence) == ("EapFailure", "likely")


def test_rekey_failures_and_a_clean_collision() -> None:
    for name in ("strongswan-rekey-lost", "strongswan-rekey-collision-expired"):
        (plain,), _ = run(name, "plain")
        (keyed,), _ = run(name, "keys")
        assert (plain.code, plain.confidence, plain.outcome) == ("RekeyFailure", "likely", "torn_down")
        assert (keyed.code, keyed.confidence) == ("RekeyFailure", "certain")
    (verdict,), findings = run("strongswan-rekey-collision", "plain")
    assert verdict.code == "Established"
    assert any(f.kind == "rekey_collision" for f in findings)


@pytest.mark.parametrize("name,outage,keyed", [
    ("strongswan-peer-restart", "7.1", "likely"), ("strongswan-peer-restart-ikev1", "4.0", "likely"),
    ("strongswan-peer-restart-initiates", "2.6", "certain"), ("strongswan-peer-restart-initiates-ikev1", "2.7", "certain"),
])
def test_peer_restart_gives_the_outage(name: str, outage: str, keyed: str) -> None:
    """Without keys a restart is `likely` (a healed path outage looks alike). With keys it is `certain` only
    where the restarted peer itself announces INITIAL_CONTACT (it comes back and initiates: `-initiates`);
    the survivor's INITIAL_CONTACT when it re-initiates proves nothing about its peer."""
    (verdict,), _ = run(name, "plain")
    assert (verdict.code, verdict.outcome, verdict.confidence) == ("PeerRestart", "established", "likely")
    assert "192.0.2.2 lost the tunnel's SAs" in verdict.message and f"an outage of {outage} s" in verdict.message
    (with_keys,), _ = run(name, "keys")
    assert (with_keys.code, with_keys.outcome, with_keys.confidence) == ("PeerRestart", "established", keyed)
    assert f"an outage of {outage} s" in with_keys.message
    contact = [e for e in with_keys.evidence if e.why.startswith("INITIAL_CONTACT, decrypted, from the restarted peer")]
    if keyed == "certain":
        assert "192.0.2.2 itself announced INITIAL_CONTACT in the new SA (decrypted" in with_keys.message
        assert contact and "192.0.2.2" in contact[0].why and with_keys.alternatives == []
    else:
        assert not contact and with_keys.alternatives == ["DpdTimeout"]


def test_an_ikev1_rekey_that_never_arrives_takes_the_tunnel_down() -> None:
    (verdict,), _ = run("strongswan-rekey-lost-ikev1", "plain")
    assert (verdict.code, verdict.outcome, verdict.confidence) == ("RekeyFailure", "torn_down", "likely")
    assert "IKEv1 rekeys its ISAKMP SA this way" in verdict.message


def test_mobike_move_names_the_new_addresses() -> None:
    (verdict,), findings = run("strongswan-mobike-move", "plain")
    assert verdict.code == "Established"
    assert "between 192.0.2.3 (initiator) and 192.0.2.2 (responder)" in verdict.message
    assert "4 packets from the initiator, 4 from the responder" in verdict.message  # ESP before and after the move
    assert [f.frames for f in findings if f.kind == "address_change"] == [[9]]


@pytest.mark.parametrize("name,confidence,judge,why", [
    ("strongswan-cert-expired", "certain", "The responder 192.0.2.2:4500 refused the certificate of the initiator",
     "it expired on 2024-01-02 00:00 UTC"),
    ("strongswan-cert-wrong-id", "certain", "The responder 192.0.2.2:4500 refused the certificate of the initiator",
     "the identity sent with it (moon.example) is not in it (it names other.example)"),
    ("strongswan-cert-untrusted-ca", "likely", "The initiator 192.0.2.1:4500 refused the certificate of the responder",
     "issued by CN=ikesniff lab untrusted CA"),
])
def test_certificate_refusals_name_the_judge_the_owner_and_the_reason(name: str, confidence: str, judge: str,
                                                                       why: str) -> None:
    (verdict,), _ = run(name, "keys")
    assert (verdict.code, verdict.confidence) == ("CertificateAuthenticationFailure", confidence)
    assert judge in verdict.message and why in verdict.message, verdict.message
    (plain,), _ = run(name, "plain")
    assert (plain.code, plain.confidence) == ("CertificateAuthenticationFailure", "possible")


TCP = ["libreswan-pair-ikev2-tcp-no-kernel-esp", "libreswan-pair-ikev2-tcp-psk-mismatch",
       "libreswan-pair-ikev2-tcp-fallback"]


def port(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


@pytest.mark.parametrize("name", TCP)
def test_ike_over_tcp_is_read_as_the_oracle_reads_it(name: str) -> None:
    """Real pluto messages in RFC 8229 streams: every IKE message tshark (lab/rfc8229.lua + Wireshark's ISAKMP
    dissector) finds, at the same frame, with the same ports, header and length, and `transport` tcp-encap."""
    messages = [i.event for i in api.analyse([str(PEERS / f"{name}.pcap")], api.Options())
                if isinstance(i, DecodedMessage)]
    oracle = [e for e in label(name)["wire"]["timeline"] if "icmp" not in e]
    assert [(m.frame, m.sport, m.dport, m.exchange, m.message_id, m.response, m.length,
             "tcp" if m.transport == "tcp-encap" else m.transport) for m in messages] == [
        (e["frame"], port(e["src"]), port(e["dst"]), e["exchange"], e["message_id"], e["response"], e["length"],
         e.get("transport", "udp")) for e in oracle]
    assert sum(m.transport == "tcp-encap" for m in messages) == {
        "libreswan-pair-ikev2-tcp-no-kernel-esp": 4, "libreswan-pair-ikev2-tcp-psk-mismatch": 8,
        "libreswan-pair-ikev2-tcp-fallback": 4}[name]
    assert all(m.retransmission == bool(e["repeat_of"]) for m, e in zip(messages, oracle))


def test_psk_mismatch_inside_a_tcp_stream() -> None:
    (verdict,), _ = run("libreswan-pair-ikev2-tcp-psk-mismatch", "plain")
    assert (verdict.code, verdict.confidence, verdict.outcome) == ("PskMismatch", "likely", "failed")
    assert "192.0.2.2:4500 answered IKE_AUTH" in verdict.message
    assert len(verdict.ike_sas) == 2  # pluto revives: a second IKE SA on a second TCP connection, refused again


def test_tcp_fallback_keeps_the_unanswered_udp_attempt_apart() -> None:
    """The UDP attempt (never answered) and the TCP one are two IKE SAs of one tunnel; the verdict is the TCP
    attempt's, which got furthest."""
    items = list(api.analyse([str(PEERS / "libreswan-pair-ikev2-tcp-fallback.pcap")], api.Options()))
    (verdict,) = [i for i in items if isinstance(i, VerdictEvent)]
    assert verdict.code == "TrafficSelectorMismatch" and "192.0.2.2:4500" in verdict.message
    assert len(verdict.ike_sas) == 2
    (fallback,) = [i for i in items if isinstance(i, FindingEvent) and i.kind == "tcp_fallback"]
    assert fallback.frames == [1, 11] and fallback.ike_sa == verdict.ike_sas[1]
    assert "IKE over UDP from 192.0.2.1:500 to 192.0.2.2:500 went unanswered (3 messages" in fallback.detail
    for name in TCP[:2]:  # TCP from the first message: nothing fell back
        assert not [f for f in run(name, "plain")[1] if f.kind == "tcp_fallback"]


def test_an_invalid_ike_spi_answer_of_the_silent_peer_is_certain(tmp_path: Path) -> None:
    """No lab implementation answers INVALID_IKE_SPI (charon 5.9.8 and pluto 4.10, restarted, stay silent): the
    answer RFC 7296 2.21.4 describes (in clear, the request's SPIs and message id copied) is built by hand and put
    into the real strongswan-peer-restart capture right after moon's first DPD request to the old SPIs."""
    import struct

    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw
    from scapy.utils import rdpcap, wrpcap

    frames = rdpcap(str(PEERS / "strongswan-peer-restart.pcap"))
    request = frames[8]  # frame 9: the first DPD request (moon's empty INFORMATIONAL, message id 2)
    ike = bytes(request[UDP].payload)[4:]
    assert ike[18] == 37 and not ike[19] & 0x20  # an INFORMATIONAL request
    header = ike[:16] + bytes([41, 0x20, 37, 0x20]) + ike[20:24] + struct.pack("!I", 36)
    notify = bytes([0, 0]) + struct.pack("!H", 8) + bytes([0, 0]) + struct.pack("!H", 4)  # N(INVALID_IKE_SPI)
    answer = Ether(src=request[Ether].dst, dst=request[Ether].src) / IP(src=request[IP].dst, dst=request[IP].src) \
        / UDP(sport=4500, dport=4500) / Raw(bytes(4) + header + notify)
    answer.time = request.time + 0.0005
    pcap = tmp_path / "restart-invalid-ike-spi.pcap"
    wrpcap(str(pcap), [*frames[:9], answer, *frames[9:]])
    (verdict,) = [i for i in api.analyse([str(pcap)], api.Options()) if isinstance(i, VerdictEvent)]
    assert (verdict.code, verdict.outcome, verdict.confidence) == ("PeerRestart", "established", "certain")
    assert "192.0.2.2 answered with INVALID_IKE_SPI (frame 10)" in verdict.message
    assert "that answer is 192.0.2.2's own, in clear" in verdict.message and "an outage of" in verdict.message
