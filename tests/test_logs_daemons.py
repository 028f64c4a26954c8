"""ikesniff.logs on the IKE daemons' own lines: strongSwan charon and libreswan pluto.

charon: the real logs the lab wrote beside each capture in pcaps/ (strongSwan 5.9.8, file logger with
milliseconds, `ike 4`, `mgr 2`), checked against the capture itself (tshark) and the scenario's label.
pluto: lines as libreswan prints them (its testing/pluto expected console outputs, and its syslog form).
"""

from __future__ import annotations

import gzip
import itertools
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from oracle import PCAPS

from ikesniff.explain_cli import open_log
from ikesniff.logs import LogRecord, explain, key_text, read_log, verdict

try:  # the key reader moved into ikesniff.crypto on main
    from ikesniff.crypto import keys as key_reader  # type: ignore[import-not-found,unused-ignore]
except ImportError:
    from ikesniff import keys as key_reader  # type: ignore[no-redef,unused-ignore]

NOW = datetime(2026, 12, 6, tzinfo=UTC).timestamp()


def records(path: Path, **options: object) -> list[LogRecord]:
    return list(read_log(path.read_text(encoding="utf-8").splitlines(), path.name, now=NOW, **options))  # type: ignore[arg-type]


def epoch(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


def wire_spis(capture: Path) -> set[tuple[str, str]]:
    output = subprocess.run(["tshark", "-r", str(capture), "-Y", "isakmp", "-T", "fields", "-e", "isakmp.ispi",
                             "-e", "isakmp.rspi"], capture_output=True, text=True, check=True, timeout=120).stdout
    return {tuple(line.split("\t")) for line in output.splitlines() if "\t" in line}  # type: ignore[misc]


# --- charon -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("scenario", ["ikev2-psk-mismatch", "ikev1-main-psk-mismatch", "ikev2-rekey"])
def test_charon_spis_are_the_ones_on_the_wire(scenario: str) -> None:
    found = {(record.spi_i.hex(), record.spi_r.hex()) for path in PCAPS.glob(f"{scenario}.*.charon.log")
             for record in records(path) if record.spi_i is not None and record.spi_r is not None}
    assert found and all(record.source == "charon" for path in PCAPS.glob(f"{scenario}.*.charon.log")
                         for record in records(path))
    on_wire = wire_spis(PCAPS / f"{scenario}.pcap")
    assert {pair for pair in found if pair[1] != "0" * 16} <= on_wire
    assert any(pair[1] != "0" * 16 for pair in found)


def test_charon_peer_local_and_unique_id_follow_the_ike_sa() -> None:
    moon = records(PCAPS / "ikev2-psk-mismatch.moon.charon.log")
    (initiating,) = [record for record in moon if record.kind == "initiating"]
    assert (initiating.peer, initiating.ike_sa_ref) == ("192.0.2.2", "lab[1]")
    tagged = [record for record in moon if record.ike_sa_ref == "lab[1]"]
    assert len(tagged) > 5 and all(record.peer == "192.0.2.2" for record in tagged)
    assert any(record.local == "192.0.2.1" for record in tagged)
    sun = records(PCAPS / "ikev2-psk-mismatch.sun.charon.log")
    looking = next(record for record in sun if "looking for peer configs" in record.text)
    assert (looking.kind, looking.peer, looking.local) == ("identity", "192.0.2.1", "192.0.2.2")
    assert looking.detail["peer_id"] == "moon.example"


def test_charon_decisive_lines_name_the_cause_and_symptoms_do_not() -> None:
    sun = records(PCAPS / "ikev2-psk-mismatch.sun.charon.log")
    decisive = [record for record in sun if record.decisive]
    assert decisive and {record.code for record in decisive} == {"PskMismatch"}
    assert any("MAC mismatched" in record.text and record.confidence == "certain" for record in decisive)
    moon = records(PCAPS / "ikev2-psk-mismatch.moon.charon.log")
    notify = next(record for record in moon if record.kind == "notify")
    assert (notify.code, notify.decisive, notify.detail["notify"]) == ("PskMismatch", True, "AUTHENTICATION_FAILED")
    timeouts = records(PCAPS / "ikev2-no-response.moon.charon.log")
    retransmits = [record for record in timeouts if record.kind == "retransmit"]
    assert retransmits and not any(record.decisive for record in timeouts)
    assert {record.code for record in retransmits} == {"NoResponse"}


def test_charon_received_and_configured_proposals_are_named() -> None:
    sun = records(PCAPS / "ikev2-encryption-mismatch.sun.charon.log")
    configured = [record for record in sun if "configured_proposals" in record.detail and record.decisive]
    assert configured and configured[0].code == "EncryptionAlgorithmMismatch"
    received = [record for record in sun if "received_proposals" in record.detail]
    assert any("AES_CBC_256" in record.detail["received_proposals"] for record in received)


def test_charon_established_lines_carry_both_addresses_and_identities() -> None:
    moon = records(PCAPS / "ikev2-psk.moon.charon.log")
    established = [record for record in moon if record.kind == "established" and "IKE_SA" in record.text]
    assert established and established[0].code == "Established" and not established[0].decisive
    assert (established[0].local, established[0].peer) == ("192.0.2.1", "192.0.2.2")
    assert established[0].detail["peer_id"] == "sun.example"
    assert established[0].time == pytest.approx(epoch(2026, 11, 22, 0, 0) + float(
        established[0].text.split()[2].split(":")[0]) * 3600 + float(established[0].text.split()[2].split(":")[1]) * 60
        + float(established[0].text.split()[2].split(":")[2]))


def test_charon_times_without_a_year_take_the_given_year_and_offset() -> None:
    line = "Nov 22 17:14:20.444 10[IKE] <lab|1> initiating IKE_SA lab[1] to 192.0.2.2"
    (utc,) = read_log([line], "moon.log", year=2024)
    assert utc.time == pytest.approx(epoch(2024, 11, 22, 17, 14, 20) + 0.444)
    (east,) = read_log([line], "moon.log", year=2024, utc_offset=3600)
    assert east.time == pytest.approx(utc.time - 3600)
    # no year given: this year, unless the line would then lie in the future
    (guessed,) = read_log([line], "moon.log", now=epoch(2025, 3, 1))
    assert guessed.time == pytest.approx(epoch(2024, 11, 22, 17, 14, 20) + 0.444)


def test_a_year_rolls_over_when_the_months_go_back() -> None:
    lines = ["Dec 31 23:59:59 moon charon: 10[IKE] <lab|1> initiating IKE_SA lab[1] to 192.0.2.2",
             "Jan  1 00:00:01 moon charon: 10[IKE] <lab|1> giving up after 5 retransmits"]
    first, second = read_log(lines, "syslog", year=2024)
    assert (first.host, first.source, second.source) == ("moon", "charon", "charon")
    assert second.time - first.time == pytest.approx(2.0)


def test_times_with_a_year_or_a_zone_need_no_assumption() -> None:
    iso = "2024-05-06T10:21:07.250+02:00 moon charon[812]: 10[IKE] <lab|1> initiating IKE_SA lab[1] to 192.0.2.2"
    (record,) = read_log([iso], "syslog", year=1999, utc_offset=-7200)
    assert record.time == pytest.approx(epoch(2024, 5, 6, 8, 21, 7) + 0.25) and record.host == "moon"


def test_syslog_charon_systemd_lines_are_charon() -> None:
    line = "Nov 22 17:14:20 moon charon-systemd[812]: received AUTHENTICATION_FAILED notify error"
    (record,) = read_log([line], "journal.txt", year=2024)
    assert (record.source, record.kind, record.code, record.decisive) == ("charon", "notify", "PskMismatch", True)


def test_garbage_and_undecodable_bytes_are_skipped_without_error() -> None:
    garbage: list[str | bytes] = [b"\xff\xfe\x00binary\x9c", "", "   ", "Nov 99 99:99:99 x y: z", "[IKE] <",
                                  "%ASA-", "date=2024-13-45 time=99:99:99 logid=\"0101037127\"", "\x00" * 50,
                                  b"Nov 22 17:14:20.444 10[IKE] <lab|1> initiating IKE_SA lab[1] to 192.0.2.2\xff"]
    found = list(read_log(garbage, "junk.log", year=2024))
    assert [(record.line, record.kind) for record in found] == [(9, "initiating")]
    assert found[0].peer == "192.0.2.2"


def test_gzip_and_plain_logs_read_alike(tmp_path: Path) -> None:
    plain = PCAPS / "ikev2-dpd-timeout.moon.charon.log"
    packed = tmp_path / "moon.log.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    with open_log(str(packed)) as stream:
        from_gzip = list(read_log(stream, "moon", now=NOW))
    with open_log(str(plain)) as stream:
        from_text = list(read_log(stream, "moon", now=NOW))
    assert from_gzip == from_text and any(record.code == "DpdTimeout" for record in from_gzip)


def test_charon_keys_come_as_a_key_store() -> None:
    path = PCAPS / "ikev2-psk.moon.charon.log"
    lines = path.read_text(encoding="utf-8").splitlines()
    text = key_text(read_log(lines, path.name, now=NOW), lines)
    assert text is not None and len(key_reader.parse_keys(text, path.name)) >= 1
    assert key_text(read_log(["%ASA-5-713119: Group = 203.0.113.2, IP = 203.0.113.2, PHASE 1 COMPLETED"],
                             "asa.log")) is None


# --- pluto ----------------------------------------------------------------------------------------------------

PLUTO_CONSOLE = [
    # libreswan testing/pluto expected outputs (whack echoes the log lines without a time stamp)
    '"westnet-eastnet-ipv4-psk-ikev2" #1: initiating IKEv2 connection to 192.1.2.23 using UDP',
    '"westnet-eastnet-ipv4-psk-ikev2" #1: sent IKE_SA_INIT request to 192.1.2.23:UDP/500',
    ('"road-east" #1: processed IKE_SA_INIT response from 192.1.2.23:UDP/500 {cipher=AES_GCM_16_256 integ=n/a '
    'prf=HMAC_SHA2_512 group=DH19}, initiating IKE_AUTH'),
    ('"road-eastnet-ikev2" #1: Received unauthenticated INVALID_KE_PAYLOAD response to DH MODP2048; resending with '
    'suggested DH DH19'),
]


def test_pluto_console_lines_are_pluto_with_their_state_and_peer() -> None:
    found = list(read_log(PLUTO_CONSOLE, "west.console.txt"))
    assert [record.source for record in found] == ["pluto"] * 4
    assert [record.kind for record in found] == ["initiating", "sent", "received", "failed"]
    assert all(record.ike_sa_ref == "#1" and record.peer == "192.1.2.23" for record in found[:3])
    assert found[2].detail["selected_proposal"].startswith("cipher=AES_GCM_16_256")
    assert found[3].detail["requested_group"] == "DH19" and found[3].code == "DhGroupMismatch"
    assert found[3].time is None and found[3].host is None


PLUTO_SYSLOG = """\
Nov 22 17:20:00 west pluto[1234]: "lab" #1: initiating IKEv2 connection to 192.0.2.2 using UDP
Nov 22 17:20:00 west pluto[1234]: "lab" #1: sent IKE_SA_INIT request to 192.0.2.2:UDP/500
Nov 22 17:20:01 west pluto[1234]: "lab" #1: IKE_SA_INIT initiator failed with error notification NO_PROPOSAL_CHOSEN
Nov 22 17:21:00 west pluto[1234]: "lab" #2: max number of retransmissions (8) reached after 60 seconds.  No response (or no acceptable response) to our first IKEv2 message
Nov 22 17:22:00 west pluto[1234]: "lab" #3: STATE_MAIN_I4: ISAKMP SA established {auth=PRESHARED_KEY cipher=AES_CBC_256 integ=HMAC_SHA2_256_128 group=MODP2048}
Nov 22 17:22:01 west pluto[1234]: | ikev2 I 0x0123456789abcdef 0xfedcba9876543210 sha1 aes128
"""


def test_pluto_syslog_lines_name_state_peer_cause_and_spis() -> None:
    found = list(read_log(PLUTO_SYSLOG.splitlines(), "pluto.log", year=2024))
    assert [record.kind for record in found] == ["initiating", "sent", "notify", "failed", "established", "spis"]
    assert {record.host for record in found} == {"west"} and {record.source for record in found} == {"pluto"}
    assert [record.ike_sa_ref for record in found[:5]] == ["#1", "#1", "#1", "#2", "#3"]
    assert found[2].peer == "192.0.2.2"  # remembered from the connection's first line
    assert (found[2].code, found[2].decisive, found[2].detail["notify"]) == ("ProposalMismatch", True, "NO_PROPOSAL_CHOSEN")
    assert (found[3].code, found[3].decisive) == ("NoResponse", False)
    assert (found[4].code, found[4].detail["state"]) == ("Established", "STATE_MAIN_I4")
    assert found[5].spi_i == bytes.fromhex("0123456789abcdef") and found[5].spi_r == bytes.fromhex("fedcba9876543210")
    assert found[0].time == pytest.approx(epoch(2024, 11, 22, 17, 20))
    # libreswan 3.x and later print no keys on these lines
    assert key_text(found) is None


def test_pluto_secrets_lines_with_keys_give_a_key_store_and_never_show_the_key() -> None:
    key_i, key_r = "11" * 20, "22" * 20
    enc_i, enc_r = "33" * 16, "44" * 16
    lines = [f"| ikev2 I 0x0123456789abcdef 0xfedcba9876543210 sha1:0x{key_i} aes128:0x{enc_i}",
             f"| ikev2 R 0x0123456789abcdef 0xfedcba9876543210 sha1:0x{key_r} aes128:0x{enc_r}"]
    found = list(read_log(lines, "pluto.debug"))
    assert [record.kind for record in found] == ["keys", "keys"]
    assert not any(key in json.dumps(record.detail) for record in found for key in (key_i, enc_i, key_r, enc_r))
    text = key_text(found)
    assert text is not None
    keys = key_reader.parse_keys(text, "pluto.debug").ikev2_for(bytes.fromhex("0123456789abcdef"), bytes.fromhex("fedcba9876543210"))
    assert keys is not None and keys.sk_ei == bytes.fromhex(enc_i) and keys.sk_ar == bytes.fromhex(key_r)


def test_pluto_xauth_failure_is_decisive() -> None:
    line = ('Nov 22 17:20:01 east pluto[1234]: "xauth-road"[1] 192.0.2.9 #1: XAUTH: User alice: Authentication '
            'Failed: Incorrect Username or Password')
    (record,) = read_log([line], "secure", year=2024)
    assert (record.source, record.code, record.decisive, record.detail["xauth_user"]) == (
        "pluto", "XauthFailure", True, "alice")


# --- libreswan 4.10 as the project's lab runs it (pluto's own log file, plutodebug on) ---------------------------
# Lines copied from the pluto logs the lab (lab/, libreswan 4.10 from Debian 12) wrote for its libreswan peers;
# the debug lines ('| ') are pluto's state-table dump, which names every state's category.

LIBRESWAN_ESP_MISMATCH = """\
Dec  6 04:28:40.258710: Starting Pluto (Libreswan Version 4.10 IKEv2 IKEv1 XFRM XFRMI esp-hw-offload FORK PTHREAD_SETSCHEDPRIO NSS (IPsec profile) (NSS-KDF) DNSSEC SYSTEMD_WATCHDOG LABELED_IPSEC (SELINUX) LIBCAP_NG LINUX_AUDIT AUTH_PAM NETWORKMANAGER CURL(non-NSS) LDAP(non-NSS)) pid:28269
Dec  6 04:28:40.257991: |   MAIN_R3: category: established IKE SA; v1.flags: 0:
Dec  6 04:28:40.258001: |   QUICK_R2: category: established CHILD SA; v1.flags: 0:
Dec  6 04:28:40.262705: "lab": IKE SA proposals (connection add):
Dec  6 04:28:40.262717: "lab":   1:IKE=AES_CBC_128-HMAC_SHA2_256-HMAC_SHA2_256_128-MODP2048
Dec  6 04:28:40.262726: "lab": Child SA proposals (connection add):
Dec  6 04:28:40.262728: "lab":   1:ESP=AES_CBC_128-HMAC_SHA2_256_128-NONE-ENABLED+DISABLED
Dec  6 04:28:40.262745: "lab": added IKEv2 connection
Dec  6 04:28:40.353427: "lab" #1: proposal 1:IKE=AES_CBC_128-HMAC_SHA2_256-HMAC_SHA2_256_128-MODP2048 chosen from remote proposals 1:IKE:ENCR=AES_CBC_128;INTEG=HMAC_SHA2_256_128;PRF=HMAC_SHA2_256;DH=MODP2048[first-match]
Dec  6 04:28:40.354860: "lab" #1: sent IKE_SA_INIT reply {cipher=AES_CBC_128 integ=HMAC_SHA2_256_128 prf=HMAC_SHA2_256 group=MODP2048}
Dec  6 04:28:40.359147: "lab" #1: responder established IKE SA; authenticated peer using authby=secret and ID_FQDN '@moon.example'
Dec  6 04:28:40.359557: "lab" #2: no local proposal matches remote proposals 1:ESP:ENCR=AES_CBC_256;INTEG=HMAC_SHA2_256_128;ESN=DISABLED
Dec  6 04:28:40.359560: "lab" #2: IKE_AUTH responder matching remote ESP/AH proposals failed, responder SA processing returned NO_PROPOSAL_CHOSEN
Dec  6 04:28:41.886803: "lab" #1: deleting state (STATE_V2_ESTABLISHED_IKE_SA) aged 1.53341s and sending notification
"""

LIBRESWAN_PROPOSAL_MISMATCH = """\
Dec  6 04:28:37.360716: "lab": IKE SA proposals (connection add):
Dec  6 04:28:37.360731: "lab":   1:IKE=AES_CBC_128-HMAC_SHA2_256-HMAC_SHA2_256_128-MODP2048
Dec  6 04:28:37.360844: "lab": added IKEv2 connection
Dec  6 04:28:37.543765: "lab" #1: no local proposal matches remote proposals 1:IKE:ENCR=AES_CBC_256;INTEG=HMAC_SHA2_384_192;PRF=HMAC_SHA2_384;DH=ECP_384
Dec  6 04:28:37.543784: "lab" #1: responding to IKE_SA_INIT message (ID 0) from 192.0.2.1:500 with unencrypted notification NO_PROPOSAL_CHOSEN
Dec  6 04:28:37.543788: "lab" #1: encountered fatal error in state STATE_V2_PARENT_R0
Dec  6 04:28:37.543853: "lab" #1: deleting state (STATE_V2_PARENT_R0) aged 0.000116s and NOT sending notification
"""


def test_pluto_debug_lines_are_not_messages() -> None:
    found = list(read_log(LIBRESWAN_ESP_MISMATCH.splitlines(), "sun.pluto.log", year=2026))
    assert not any("category:" in record.text for record in found)
    established = [record for record in found if record.kind == "established"]
    assert [record.line for record in established] == [11]
    explained = list(explain([("sun.pluto.log", number, text)
                              for number, text in enumerate(LIBRESWAN_ESP_MISMATCH.splitlines(), 1)]))
    assert [item.line for item in explained if item.code == "Established"] == [11]


def test_pluto_unmatched_proposals_are_compared_with_the_connections_own() -> None:
    found = list(read_log(LIBRESWAN_ESP_MISMATCH.splitlines(), "sun.pluto.log", year=2026))
    (unmatched,) = [record for record in found if "no local proposal" in record.text]
    assert (unmatched.code, unmatched.confidence, unmatched.decisive) == ("EncryptionAlgorithmMismatch", "certain", True)
    assert unmatched.reason is not None and "AES_CBC_256 offered, AES_CBC_128 configured" in unmatched.reason
    assert unmatched.ike_sa_ref == "#2" and unmatched.time == pytest.approx(epoch(2026, 12, 6, 4, 28, 40) + 0.359557)
    conclusion = verdict(explain([("sun.pluto.log", number, text)
                                  for number, text in enumerate(LIBRESWAN_ESP_MISMATCH.splitlines(), 1)]))
    assert (conclusion.code, conclusion.confidence) == ("EncryptionAlgorithmMismatch", "certain")
    # every transform type differs: a proposal mismatch naming them all
    ike = list(read_log(LIBRESWAN_PROPOSAL_MISMATCH.splitlines(), "sun.pluto.log", year=2026))
    (refused,) = [record for record in ike if "no local proposal" in record.text]
    assert refused.code == "ProposalMismatch"
    assert {"EncryptionAlgorithmMismatch", "AuthenticationAlgorithmMismatch", "DhGroupMismatch"} <= set(refused.alternatives)
    notify = next(record for record in ike if record.kind == "notify")
    assert (notify.peer, notify.detail["notify"], notify.decisive) == ("192.0.2.1", "NO_PROPOSAL_CHOSEN", True)


def test_a_delete_gives_way_to_the_failure_the_deleting_gateway_logged() -> None:
    pluto = [('Dec  6 04:24:38.102000: "lab" #1: responder established IKE SA; authenticated peer using authby=secret '
             "and ID_FQDN '@moon.example'"),
             ('Dec  6 04:24:38.102203: "lab" #2: netlink response for Add SA esp.6c2bd0e6@192.0.2.1: Protocol not '
             "supported (errno 93)"),
             ('Dec  6 04:24:39.620000: "lab" #1: deleting state (STATE_V2_ESTABLISHED_IKE_SA) aged 1.519673s and '
             "sending notification")]
    charon = ["Dec  6 04:24:37.394000 10[IKE] <lab|1> initiating IKE_SA lab[1] to 192.0.2.2",
              ("Dec  6 04:24:38.103000 12[IKE] <lab|1> IKE_SA lab[1] established between "
              "192.0.2.1[moon.example]...192.0.2.2[sun.example]"),
              "Dec  6 04:24:39.621000 13[IKE] <lab|1> received DELETE for IKE_SA lab[1]"]
    lines = [("sun.pluto.log", number, text) for number, text in enumerate(pluto, 1)]
    lines += [("moon.charon.log", number, text) for number, text in enumerate(charon, 1)]
    assert verdict(explain(lines[3:])).code == "ReceiveDeleteNotify"  # moon alone sees only the Delete
    conclusion = verdict(explain(lines))
    assert conclusion.code == "NegotiationFailed"
    assert [(item.file, item.line) for item in conclusion.evidence] == [("sun.pluto.log", 2)]


def test_a_pluto_connection_instance_names_its_peer() -> None:
    lines = ['Nov 22 17:20:01 east pluto[1234]: "road"[1] 192.0.2.9 #1: responding to Main Mode',
             'Nov 22 17:20:02 east pluto[1234]: "road"[2] 198.51.100.7 #2: responding to Main Mode',
             ('Nov 22 17:20:03 east pluto[1234]: "road"[1] 192.0.2.9 #1: XAUTH: User alice: Authentication Failed: '
             "Incorrect Username or Password")]
    first, second, third = read_log(lines, "secure", year=2024)
    assert (first.peer, second.peer, third.peer) == ("192.0.2.9", "198.51.100.7", "192.0.2.9")
    assert third.code == "XauthFailure"


def test_every_lab_charon_log_reads_as_charon_with_times_in_order() -> None:
    silent = []  # a responder that never heard from its peer (the no-response scenarios) logs nothing to read
    for path in sorted(PCAPS.glob("*.charon.log")):
        found = records(path)
        if not found:
            silent.append(path.name)
            continue
        assert {record.source for record in found} == {"charon"}, path.name
        times = [record.time for record in found]
        assert None not in times, path.name
        # the file logger writes lines as threads finish them: allow a few milliseconds out of order
        assert all(later >= earlier - 0.05 for earlier, later in itertools.pairwise(times)), path.name  # type: ignore[operator]
        assert all(record.ike_sa_ref is None or record.ike_sa_ref.endswith("]") for record in found)
    assert silent and all(("no-response" in name or "not-listening" in name) and ".sun." in name for name in silent)


def test_the_deleting_gateways_own_failures_stay_when_its_deletes_drop_out() -> None:
    # libreswan (moon) initiates IKEv1 with PFS off, strongSwan (sun) requires it: lines from the lab's logs
    moon = [('Dec  6 04:29:46.175230: "lab" #1: IKE SA established {auth=PRESHARED_KEY cipher=AES_CBC_128 '
            'integ=HMAC_SHA2_256 group=MODP2048}'),
            ('Dec  6 04:29:46.182626: "lab" #1: ignoring informational payload NO_PROPOSAL_CHOSEN, msgid=00000000, '
            'length=16')]
    sun = [("Dec  6 04:29:46.174 16[IKE] <lab|1> IKE_SA lab[1] established between "
           "192.0.2.2[sun.example]...192.0.2.1[moon.example]"),
           "Dec  6 04:29:46.182 11[CFG] <lab|1> received proposals: ESP:AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ",
           ("Dec  6 04:29:46.182 11[CFG] <lab|1> configured proposals: ESP:AES_CBC_128/HMAC_SHA2_256_128/MODP_2048/"
           "NO_EXT_SEQ"),
           "Dec  6 04:29:46.182 11[IKE] <lab|1> no matching proposal found, sending NO_PROPOSAL_CHOSEN",
           "Dec  6 04:29:49.209 00[IKE] <lab|1> sending DELETE for IKE_SA lab[1]"]
    lines = [("moon.pluto.log", number, text) for number, text in enumerate(moon, 1)]
    lines += [("sun.charon.log", number, text) for number, text in enumerate(sun, 1)]
    conclusion = verdict(explain(lines))
    assert (conclusion.code, conclusion.confidence) == ("PfsMismatch", "certain")
    assert ("sun.charon.log", 3) in [(item.file, item.line) for item in conclusion.evidence]


def test_pluto_child_sa_refusals_and_icmp_errors() -> None:
    lines = ['Dec  6 04:23:10.118734: "lab" #1: IKE_AUTH response rejected Child SA with TS_UNACCEPTABLE',
             ('Dec  6 04:23:32.277523: "lab" #3: ERROR: asynchronous network error report on eth0 (192.0.2.1:500), '
             "complainant 192.0.2.2: Connection refused [errno 111, origin ICMP type 3 code 3 (not authenticated)]"),
             'Dec  6 04:23:10.118734: "lab" #2: CHILD SA encountered fatal error: INVALID_SYNTAX']
    refused, icmp, fatal = read_log(lines, "moon.pluto.log", year=2026)
    assert (refused.kind, refused.code, refused.decisive) == ("notify", "TrafficSelectorMismatch", True)
    assert (icmp.kind, icmp.code, icmp.decisive, icmp.peer, icmp.local) == (
        "failed", "NoResponse", False, "192.0.2.2", "192.0.2.1")
    assert (icmp.detail["icmp_type"], icmp.detail["icmp_code"]) == ("3", "3")
    # the notify pluto answers with after its own failure names no cause
    assert (fatal.kind, fatal.code, fatal.detail["notify"]) == ("failed", None, "INVALID_SYNTAX")


def test_other_programs_in_a_shared_syslog_are_nobodys_lines() -> None:
    lines = ["Nov 22 17:14:20 moon charon: 10[IKE] <lab|1> initiating IKE_SA lab[1] to 192.0.2.2",
             "Nov 22 17:14:21 moon relayd[77]: sending packet: from 192.0.2.9[53] to 192.0.2.1[5353] (64 bytes)",
             "Nov 22 17:14:22 moon charon: 12[CFG] <lab|1> no matching peer config found"]
    found = list(read_log(lines, "syslog", year=2024))
    assert [(record.line, record.source) for record in found] == [(1, "charon"), (3, "charon")]


def test_charon_eap_mschapv2_refusal_is_an_eap_failure_on_both_sides() -> None:
    # strongSwan 5.9 lines from the lab's EAP-MSCHAPv2 scenario with a wrong password
    sun = ["Dec  6 04:33:52.484 13[IKE] <lab|1> received EAP identity 'alice'",
           "Dec  6 04:33:52.484 12[IKE] <lab|1> EAP-MS-CHAPv2 verification failed, retry (1)",
           "Dec  6 04:33:54.485 10[ENC] <lab|1> parsed INFORMATIONAL request 4 [ N(AUTH_FAILED) ]"]
    moon = ["Dec  6 04:33:54.485 14[IKE] <lab|1> EAP-MS-CHAPv2 failed with error ERROR_AUTHENTICATION_FAILURE: '(null)'",
            "Dec  6 04:33:54.485 14[IKE] <lab|1> EAP_MSCHAPV2 method failed",
            "Dec  6 04:33:54.485 14[ENC] <lab|1> generating INFORMATIONAL request 4 [ N(AUTH_FAILED) ]"]
    identity, verification, _ = read_log(sun, "sun.charon.log", year=2026)
    assert (identity.kind, identity.detail["eap_identity"]) == ("identity", "alice")
    assert (verification.kind, verification.code, verification.decisive) == ("failed", "EapFailure", True)
    error, method, _ = read_log(moon, "moon.charon.log", year=2026)
    assert (error.detail["eap_error"], method.detail["eap_method"]) == ("ERROR_AUTHENTICATION_FAILURE", "EAP_MSCHAPV2")
    lines = [("sun.charon.log", n, t) for n, t in enumerate(sun, 1)] + [("moon.charon.log", n, t) for n, t in enumerate(moon, 1)]
    assert (verdict(explain(lines)).code, verdict(explain(lines)).confidence) == ("EapFailure", "certain")


def test_an_unanswered_ike_rekey_is_a_rekey_failure() -> None:
    # strongSwan 5.9 lines from the lab's scenario whose rekey requests are dropped on the way
    lines = ["Dec  6 04:41:08.000 10[IKE] <lab|1> initiating IKE_SA lab[1] to 192.0.2.2",
             ("Dec  6 04:41:08.100 12[IKE] <lab|1> IKE_SA lab[1] established between "
             "192.0.2.1[moon.example]...192.0.2.2[sun.example]"),
             "Dec  6 04:41:14.512 01[IKE] <lab|1> IKE_SA lab[1] state change: ESTABLISHED => REKEYING",
             "Dec  6 04:41:14.513 01[ENC] <lab|1> generating CREATE_CHILD_SA request 2 [ SA No KE ]",
             "Dec  6 04:41:15.513 10[IKE] <lab|1> retransmit 1 of request with message ID 2",
             "Dec  6 04:41:18.877 13[IKE] <lab|1> retransmit 3 of request with message ID 2",
             "Dec  6 04:41:21.620 08[IKE] <lab|1> giving up after 3 retransmits",
             "Dec  6 04:41:21.620 08[IKE] <lab|1> rekeying IKE_SA failed, peer not responding"]
    explained = list(explain([("moon.charon.log", number, text) for number, text in enumerate(lines, 1)]))
    assert [item.code for item in explained if item.line > 2] == ["RekeyFailure"] * 4
    assert verdict(explained).code == "RekeyFailure"
    # the same retransmissions on an SA that is not rekeying are a dead peer
    alive = lines[:2] + ["Dec  6 04:41:15.513 10[IKE] <lab|1> retransmit 1 of request with message ID 2"]
    assert verdict(explain([("moon.charon.log", number, text) for number, text in enumerate(alive, 1)])).code \
        == "DpdTimeout"
