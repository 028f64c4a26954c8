"""ikesniff.logs on the commercial gateways' lines, as their vendors' message references print them.

Cisco ASA (Secure Firewall ASA syslog messages), Cisco IOS/IOS-XE (CRYPTO messages, debug crypto), FortiGate
(FortiOS log message reference), PAN-OS (system log, type vpn), Juniper SRX (KMD system log messages), Huawei
(IPSec negotiation failure alarm). Addresses are documentation ranges; texts are the references' own.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ikesniff.logs import LogRecord, read_log


def one(line: str, **options: object) -> LogRecord:
    (record,) = read_log([line], "gateway.log", **options)  # type: ignore[arg-type]
    return record


def epoch(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


# --- Cisco ASA ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("line, kind, code, decisive", [
    ("Nov 22 2024 17:14:20: %ASA-5-713119: Group = 203.0.113.2, IP = 203.0.113.2, PHASE 1 COMPLETED",
     "established", "Established", False),
    (("%ASA-5-713257: Phase 1 failure: Mismatched attribute types for class Encryption Algorithm: Rcv'd: AES-256 "
     "Cfg'd: AES-128"), "failed", "EncryptionAlgorithmMismatch", True),
    (("%ASA-5-713257: Phase 1 failure: Mismatched attribute types for class Group Description: Rcv'd: Group 5 "
     "Cfg'd: Group 2"), "failed", "DhGroupMismatch", True),
    ("%ASA-5-713904: IP = 203.0.113.2, Received encrypted Oakley Main Mode packet with invalid payloads, MessID = 0",
     "failed", "PskMismatch", True),
    (("%ASA-3-713061: Group = 203.0.113.2, IP = 203.0.113.2, Rejecting IPSec tunnel: no matching crypto map entry "
     "for remote proxy 198.51.100.128/255.255.255.128/0/0 local proxy 192.0.2.0/255.255.255.0/0/0 on interface "
     "outside"), "failed", "TrafficSelectorMismatch", True),
    (("%ASA-4-750003: Local:198.51.100.1:500 Remote:203.0.113.2:500 Username:Unknown IKEv2 Negotiation aborted due "
     "to ERROR: Failed to find a matching policy"), "failed", "ProposalMismatch", True),
    (("%ASA-4-750003: Local:198.51.100.1:500 Remote:203.0.113.2:500 Username:Unknown IKEv2 Negotiation aborted due "
     "to ERROR: Failed to receive the AUTH msg before the timer expired"), "failed", "NegotiationFailed", False),
    (("%ASA-5-750006: Local:198.51.100.1:500 Remote:203.0.113.2:500 Username:203.0.113.2 IKEv2 SA UP. Reason: New "
     "Connection Established"), "established", "Established", False),
    (("%ASA-3-713167: Group = ra-group, Username = alice, IP = 203.0.113.9, Remote peer has failed user "
     "authentication - check configured username and password"), "failed", "XauthFailure", True),
    ("%ASA-5-713201: IP = 203.0.113.2, Duplicate Phase 1 packet detected.  Retransmitting last packet.",
     "retransmit", None, False),
])
def test_asa_messages(line: str, kind: str, code: str | None, decisive: bool) -> None:
    record = one(line, year=2024)
    assert (record.source, record.kind, record.code, record.decisive) == ("asa", kind, code, decisive)
    assert record.peer in ("203.0.113.2", "203.0.113.9", None)


def test_asa_names_peer_local_time_and_host() -> None:
    record = one("Nov 22 17:14:20 asa01 : %ASA-4-750003: Local:198.51.100.1:500 Remote:203.0.113.2:500 "
                 "Username:Unknown IKEv2 Negotiation aborted due to ERROR: Failed to find a matching policy", year=2024)
    assert (record.host, record.peer, record.local) == ("asa01", "203.0.113.2", "198.51.100.1")
    assert record.time == epoch(2024, 11, 22, 17, 14, 20)
    with_year = one("Nov 22 2024 17:14:20: %ASA-5-713119: Group = 203.0.113.2, IP = 203.0.113.2, PHASE 1 COMPLETED",
                    year=1999)
    assert with_year.time == epoch(2024, 11, 22, 17, 14, 20)
    mismatch = one("%ASA-5-713257: Phase 1 failure: Mismatched attribute types for class Hash Algorithm: "
                   "Rcv'd: SHA Cfg'd: SHA256")
    assert (mismatch.code, mismatch.detail["received"], mismatch.detail["configured"]) == (
        "AuthenticationAlgorithmMismatch", "SHA", "SHA256")


# --- Cisco IOS / IOS-XE ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("line, kind, code, decisive, peer", [
    (("*Jul 16 10:11:50 GMT: %CRYPTO-4-RECVD_PKT_INV_SPI: decaps: rec'd IPSEC packet has invalid spi for "
     "destaddr=198.51.100.1, prot=50, spi=0xEFA48265(4020535909), srcaddr=203.0.113.2"),
     "failed", "InvalidSpi", True, "203.0.113.2"),
    (("*Jul 16 10:11:50 GMT: %CRYPTO-4-IKMP_NO_SA: IKE message from 203.0.113.2 has no SA and is not an "
     "initialization offer"), "failed", "InvalidCookie", False, "203.0.113.2"),
    ("%CRYPTO-6-IKMP_MODE_FAILURE: Processing of Quick mode failed with peer at 203.0.113.2",
     "failed", "TrafficSelectorMismatch", False, "203.0.113.2"),
    ("%CRYPTO-6-IKMP_MODE_FAILURE: Processing of Main mode failed with peer at 203.0.113.2",
     "failed", "ProposalMismatch", False, "203.0.113.2"),
    ("%CRYPTO-5-IKEV2_SESSION_STATUS: Crypto tunnel v2 is UP.  Peer 203.0.113.2:500 Id: 203.0.113.2",
     "established", "Established", False, "203.0.113.2"),
    ("%CRYPTO-5-IKEV2_SESSION_STATUS: Crypto tunnel v2 is DOWN.  Peer 203.0.113.2:500 Id: 203.0.113.2",
     "deleted", None, False, "203.0.113.2"),
    ("%CRYPTO-6-IKMP_NOT_ENCRYPTED: IKE packet from 203.0.113.2 was not encrypted and it should've been.",
     "failed", "PskMismatch", False, "203.0.113.2"),
    ("IKEv2:(SESSION ID = 1,SA ID = 1):Failed to find a matching policy", "failed", "ProposalMismatch", True, None),
    # the capitalisation of the Cisco TAC note that quotes this message
    ("%CRYPTO-6-IKMP_MODE_FAILURE: Processing of Main Mode failed with peer at 203.0.113.2",
     "failed", "ProposalMismatch", False, "203.0.113.2"),
    ("ISAKMP (0:0): no offers accepted!", "failed", "ProposalMismatch", True, None),
    ("ISAKMP:(0):phase 1 SA policy not acceptable! (local 198.51.100.1 remote 203.0.113.2)",
     "failed", "ProposalMismatch", True, "203.0.113.2"),
])
def test_ios_messages(line: str, kind: str, code: str | None, decisive: bool, peer: str | None) -> None:
    record = one(line, year=2024)
    assert (record.source, record.kind, record.code, record.decisive, record.peer) == ("ios", kind, code, decisive, peer)


def test_ios_time_stamps_with_sequence_number_star_and_zone() -> None:
    record = one("000123: *Jul 16 10:11:50.123 UTC: %CRYPTO-4-IKMP_NO_SA: IKE message from 203.0.113.2 has no SA "
                 "and is not an initialization offer", year=2024, utc_offset=7200)
    assert record.time == pytest.approx(epoch(2024, 7, 16, 10, 11, 50) + 0.123)


# --- FortiGate ------------------------------------------------------------------------------------------------

FORTI_PROGRESS = ('date=2019-05-13 time=14:21:42 logid="0101037127" type="event" subtype="vpn" level="notice" vd="root" '
                  'eventtime=1557782502722231889 tz="-0700" logdesc="Progress IPsec phase 1" msg="progress IPsec phase 1" '
                  'action="negotiate" remip=203.0.113.2 locip=198.51.100.1 remport=500 locport=500 outintf="port14" '
                  'cookies="9091f4d4837ea71c/0000000000000000" user="N/A" group="N/A" xauthuser="N/A" xauthgroup="N/A" '
                  'assignip=N/A vpntunnel="test" status="success" init="local" mode="main" dir="outbound" stage=1 '
                  'role="initiator" result="OK"')


def test_fortigate_event_log_names_peer_cookies_and_zone() -> None:
    record = one(FORTI_PROGRESS)
    assert (record.source, record.kind, record.code) == ("fortigate", "state", None)
    assert (record.peer, record.local, record.detail["tunnel"]) == ("203.0.113.2", "198.51.100.1", "test")
    assert record.spi_i == bytes.fromhex("9091f4d4837ea71c") and record.spi_r == bytes(8)
    assert record.time == epoch(2019, 5, 13, 21, 21, 42)  # tz="-0700"


@pytest.mark.parametrize("message, code, decisive", [
    ('status=negotiate_error msg="Negotiate SA Error: probable pre-shared secret mismatch"', "PskMismatch", True),
    ('status="negotiate_error" reason="no SA proposal chosen"', "ProposalMismatch", True),
    ('status="negotiate_error" msg="negotiation error"', "NegotiationFailed", False),
])
def test_fortigate_failures(message: str, code: str, decisive: bool) -> None:
    line = ('date=2024-05-06 time=10:21:07 logid="0101037124" type="event" subtype="vpn" level="error" vd="root" '
            'action="negotiate" remip=203.0.113.2 locip=198.51.100.1 remport=500 locport=500 '
            f'cookies="9091f4d4837ea71c/0000000000000000" vpntunnel="to-branch" {message}')
    record = one(line)
    assert (record.source, record.kind, record.code, record.decisive, record.peer) == (
        "fortigate", "failed", code, decisive, "203.0.113.2")


def test_fortigate_ike_debug_and_tunnel_up() -> None:
    debug = one("2024-05-12 14:32:18 ike 0:VPN-Customer: peer SA proposal not match local policy")
    assert (debug.source, debug.code, debug.decisive) == ("fortigate", "ProposalMismatch", True)
    assert debug.time == epoch(2024, 5, 12, 14, 32, 18)
    up = one('date=2024-05-06 time=10:21:09 logid="0101037138" type="event" subtype="vpn" action="tunnel-up" '
             'remip=203.0.113.2 locip=198.51.100.1 vpntunnel="to-branch"')
    assert (up.kind, up.code) == ("established", "Established")


# --- Palo Alto PAN-OS -----------------------------------------------------------------------------------------

def test_panos_phase1_timeout_names_sa_cookies_and_is_a_symptom() -> None:
    record = one("2024/05/06 10:21:07 high vpn ike-nego-p1-fail 0 IKE phase-1 negotiation is failed as initiator, "
                 "main mode. Failed SA: 198.51.100.1[500]-203.0.113.2[500] cookie:84222f276c2fa2e9:0000000000000000. "
                 "Due to timeout.")
    assert (record.source, record.kind, record.code, record.decisive) == (
        "panos", "failed", "Phase1NegotiationTimeout", False)
    assert (record.local, record.peer, record.spi_i) == ("198.51.100.1", "203.0.113.2", bytes.fromhex("84222f276c2fa2e9"))
    assert record.time == epoch(2024, 5, 6, 10, 21, 7)


@pytest.mark.parametrize("message, code, decisive", [
    (("IKE phase 1 negotiation is failed. Couldn't find configuration for IKE phase-1 request for peer IP "
     "203.0.113.2[1929]."), "PeerMismatch", True),
    (("IKE phase-2 negotiation failed when processing Proxy ID. Received local id 192.0.2.0/24 type IPv4 subnet "
     "protocol 0 port 0, received remote id 198.51.100.128/25 type IPv4 subnet protocol 0 port 0."),
     "TrafficSelectorMismatch", True),
    ("IKE protocol notification message received: PAYLOAD-MALFORMED (probable pre-shared key mismatch).",
     "PskMismatch", True),
    ("IKE phase-1 negotiation is failed as responder, main mode. Could not find proposal.", "ProposalMismatch", True),
    ("IKE protocol notification message received: NO-PROPOSAL-CHOSEN (14).", "ProposalMismatch", True),
])
def test_panos_failures(message: str, code: str, decisive: bool) -> None:
    record = one(f"2024/05/06 10:21:07 info vpn ike-nego-p1-fail 0 {message}")
    assert (record.source, record.code, record.decisive) == ("panos", code, decisive)


def test_panos_csv_syslog() -> None:
    record = one('<14>Jan  8 10:21:07 pa-fw 1,2024/05/06 10:21:07,012801000000,SYSTEM,vpn,0,2024/05/06 10:21:07,,'
                 'ike-nego-p2-fail,to-branch,0,0,general,informational,"IKE phase-2 negotiation failed when processing '
                 'Notify payload. Due to negotiation timeout.",12345,0x0,0,0,0,0,,pa-fw')
    assert (record.source, record.kind, record.code, record.decisive) == ("panos", "failed", "NegotiationFailed", False)
    assert record.time == epoch(2024, 5, 6, 10, 21, 7)


# --- Juniper SRX ----------------------------------------------------------------------------------------------

SRX_FAILURE = ("Jan  8 10:21:07 srx1 kmd[1234]: IKE negotiation failed with error: {error}. IKE Version: 2, VPN: "
               "vpn-branch Gateway: gw-branch, Local: 198.51.100.1/500, Remote: 203.0.113.2/500, Local IKE-ID: "
               "198.51.100.1, Remote IKE-ID: 203.0.113.2, VR-ID: 0")


@pytest.mark.parametrize("error, code, decisive", [
    ("No proposal chosen", "ProposalMismatch", True),
    ("Authentication failed", "PskMismatch", True),
    ("Peer's IKE-ID validation failed during negotiation", "PeerIdMismatch", True),
    ("TS unacceptable", "TrafficSelectorMismatch", True),
    ("Timed out", "NegotiationFailed", False),
])
def test_srx_negotiation_failures(error: str, code: str, decisive: bool) -> None:
    record = one(SRX_FAILURE.format(error=error), year=2024)
    assert (record.source, record.kind, record.code, record.decisive) == ("srx", "failed", code, decisive)
    assert (record.host, record.peer, record.local) == ("srx1", "203.0.113.2", "198.51.100.1")


def test_srx_sa_established_and_vpn_down() -> None:
    up = one("Jan  8 10:21:09 srx1 kmd[1234]: KMD_PM_SA_ESTABLISHED: Local gateway: 198.51.100.1, Remote gateway: "
             "203.0.113.2, Local ID: ipv4_subnet(any:0,[0..7]=192.0.2.0/24), Remote ID: "
             "ipv4_subnet(any:0,[0..7]=198.51.100.128/25), Direction: inbound, SPI: 0x8a3c5de1, AUX-SPI: 0, "
             "Mode: Tunnel, Type: dynamic", year=2024)
    assert (up.kind, up.code, up.peer, up.detail["esp_spi"]) == ("established", "Established", "203.0.113.2", "0x8a3c5de1")
    down = one("Jan  8 11:21:09 srx1 kmd[1234]: KMD_VPN_DOWN_ALARM_USER: VPN vpn-branch from 203.0.113.2 is down. "
               "Local-ip: 198.51.100.1, gateway name: gw-branch, vpn name: vpn-branch, tunnel-id: 131073", year=2024)
    assert (down.kind, down.code, down.decisive, down.peer, down.local) == (
        "deleted", None, False, "203.0.113.2", "198.51.100.1")


# --- Huawei and the cloud consoles ----------------------------------------------------------------------------

def test_huawei_negotiation_failure_uses_the_catalog_reason() -> None:
    record = one("IPSEC/4/IPSECNEGOFAIL: OID 1.3.6.1.4.1.2011.6.122.26.6.14 IPSec tunnel negotiation fails. "
                 "(Ifindex=7, SeqNum=12, Reason=phase1 proposal mismatch, ReasonCode=1, PeerAddress=203.0.113.2, "
                 "PeerPort=500, VsysName=Public, InterfaceName=GigabitEthernet0/0/1)")
    assert (record.source, record.kind, record.peer, record.detail["reason"]) == (
        "huawei", "failed", "203.0.113.2", "phase1 proposal mismatch")
    assert record.code is not None and record.decisive


def test_a_line_of_no_known_format_with_a_seed_keyword_is_a_cloud_record() -> None:
    record = one("2024-05-06 10:21:07 [ipsec] no matching proposal found, sending NO_PROPOSAL_CHOSEN")
    assert (record.source, record.code) == ("cloud", "ProposalMismatch")
    assert list(read_log(["2024-05-06 10:21:07 [web] user logged in"], "x")) == []


def test_alibaba_console_lines_are_cloud_records_read_with_strongswans_facts() -> None:
    # seed 002 (Alibaba Cloud IPsec-VPN FAQ) quotes the console's log lines bare
    lines = ["parsed IKE_SA_INIT response 0 [ N(NO_PROP) ]", "received NO_PROPOSAL_CHOSEN notify error",
             "invalid HASH_V1 payload length, decryption failed?"]
    message, notify, decryption = read_log(lines, "console.txt")
    assert {message.source, notify.source, decryption.source} == {"cloud"}
    assert (message.kind, message.detail["exchange"], message.code) == ("message", "IKE_SA_INIT", "ProposalMismatch")
    assert (notify.kind, notify.detail["notify"]) == ("notify", "NO_PROPOSAL_CHOSEN")
    assert (decryption.kind, decryption.code) == ("failed", "PskMismatch")


FORTI_DEBUG = """\
2024-03-12 18:07:06.761429 ike 0:Fortigate:370445: sent IKE msg (AUTH): 198.51.100.1:4500->203.0.113.2:4500, len=240, vrf=0, id=d877b92d9f8675a0/5929808be8170f37:00000001
2024-03-12 18:07:06.904098 ike 0: comes 203.0.113.2:4500->198.51.100.1:4500,ifindex=4,vrf=0....
2024-03-12 18:07:06.904935 ike 0: IKEv2 exchange=AUTH_RESPONSE id=d877b92d9f8675a0/5929808be8170f37:00000001 len=80
2024-03-12 18:07:06.907211 ike 0:Fortigate:370445: received notify type AUTHENTICATION_FAILED
"""


def test_fortigate_ike_debug_names_spis_addresses_and_the_notify() -> None:
    sent, received, message, notify = read_log(FORTI_DEBUG.splitlines(), "ike-debug.txt")
    assert [record.source for record in (sent, received, message, notify)] == ["fortigate"] * 4
    assert [record.kind for record in (sent, received, message, notify)] == ["sent", "received", "message", "notify"]
    assert (sent.local, sent.peer, received.peer, received.local) == (
        "198.51.100.1", "203.0.113.2", "203.0.113.2", "198.51.100.1")
    spis = (bytes.fromhex("d877b92d9f8675a0"), bytes.fromhex("5929808be8170f37"))
    assert (sent.spi_i, sent.spi_r) == spis and (message.spi_i, message.spi_r) == spis
    assert (notify.code, notify.decisive, notify.detail["notify"]) == ("PskMismatch", True, "AUTHENTICATION_FAILED")
    assert sent.time == pytest.approx(epoch(2024, 3, 12, 18, 7, 6) + 0.761429)
