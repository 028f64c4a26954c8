"""ikesniff.logs on the IKE daemons' own lines: strongSwan charon and libreswan pluto.

charon: the real logs the lab wrote beside each capture in pcaps/ (strongSwan 5.9.8, file logger with
milliseconds, `ike 4`, `mgr 2`), checked against the capture itself (tshark) and the scenario's label.
pluto: lines as libreswan prints them (its testing/pluto expected console outputs, and its syslog form).
"""

from __future__ import annotations

import gzip
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from oracle import PCAPS

from ikesniff.explain_cli import open_log
from ikesniff.logs import LogRecord, key_material, read_log

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
    store = key_material(read_log(lines, path.name, now=NOW), lines, path.name)
    assert store is not None and len(store) >= 1
    assert key_material(read_log(["%ASA-5-713119: Group = 203.0.113.2, IP = 203.0.113.2, PHASE 1 COMPLETED"],
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
    assert key_material(found) is None


def test_pluto_secrets_lines_with_keys_give_a_key_store_and_never_show_the_key() -> None:
    key_i, key_r = "11" * 20, "22" * 20
    enc_i, enc_r = "33" * 16, "44" * 16
    lines = [f"| ikev2 I 0x0123456789abcdef 0xfedcba9876543210 sha1:0x{key_i} aes128:0x{enc_i}",
             f"| ikev2 R 0x0123456789abcdef 0xfedcba9876543210 sha1:0x{key_r} aes128:0x{enc_r}"]
    found = list(read_log(lines, "pluto.debug"))
    assert [record.kind for record in found] == ["keys", "keys"]
    assert not any(key in json.dumps(record.detail) for record in found for key in (key_i, enc_i, key_r, enc_r))
    store = key_material(found)
    assert store is not None
    keys = store.ikev2_for(bytes.fromhex("0123456789abcdef"), bytes.fromhex("fedcba9876543210"))
    assert keys is not None and keys.sk_ei == bytes.fromhex(enc_i) and keys.sk_ar == bytes.fromhex(key_r)


def test_pluto_xauth_failure_is_decisive() -> None:
    line = ('Nov 22 17:20:01 east pluto[1234]: "xauth-road"[1] 192.0.2.9 #1: XAUTH: User alice: Authentication '
            'Failed: Incorrect Username or Password')
    (record,) = read_log([line], "secure", year=2024)
    assert (record.source, record.code, record.decisive, record.detail["xauth_user"]) == (
        "pluto", "XauthFailure", True, "alice")
