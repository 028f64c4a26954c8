"""What the verdicts, findings and reports say, on the lab's real captures: the ports an exchange really
used, phase-fitting Huawei names, vendor IDs without a literal \\n, one fix per verdict, singular counts,
whole IPv6 addresses, reports naming inputs by base name, decrypted contents with keys, and keys or
PSKs that match nothing told as a finding."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from oracle import REPO
from test_capture_builders import Record, ether, ipv6, write_pcap

from ikesniff import catalog
from ikesniff.diagnosis.engine import one_fix
from ikesniff.diagnosis.facts import address
from ikesniff.tracker import host

PCAPS = REPO / "pcaps"


def ikesniff(*args: str) -> subprocess.CompletedProcess[bytes]:
    environment = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "COLUMNS")}
    return subprocess.run([sys.executable, "-m", "ikesniff", *args], capture_output=True, cwd=REPO,
                          env=environment, check=False, timeout=120)


def events(*args: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in ikesniff(*args, "--json").stdout.decode().splitlines()]


def verdict(*args: str) -> dict[str, object]:
    return next(e for e in events(*args) if e["event"] == "verdict")


def test_a_verdict_names_the_port_the_exchange_really_used() -> None:
    """IKE_AUTH of ikev2-psk-mismatch travels on 4500 (NAT-T float after IKE_SA_INIT on 500)."""
    messages = [e for e in events("-r", str(PCAPS / "ikev2-psk-mismatch.pcap")) if e["event"] == "message"]
    assert {(e["exchange"], e["sport"]) for e in messages} >= {("IKE_AUTH", 4500)}
    told = verdict("-r", str(PCAPS / "ikev2-psk-mismatch.pcap"))
    assert "192.0.2.2:4500 answered IKE_AUTH" in str(told["message"]) and ":500 " not in str(told["message"])


def test_a_phase_2_verdict_carries_no_phase_1_huawei_name() -> None:
    told = verdict("-r", str(PCAPS / "ikev1-quick-mode-proposal-mismatch.pcap"))
    assert told["phase"] == 2 and told["code"] == "ProposalMismatch"
    assert told["huawei"] == "phase2 proposal or pfs mismatch"
    for cause in catalog.causes():
        for phase in (1, 2):
            name = catalog.huawei_name(cause, phase)
            assert name is None or f"phase{3 - phase}" not in name, (cause.code, phase, name)
        assert catalog.huawei_name(cause, None) == cause.huawei


def test_vendor_ids_print_no_literal_backslash_n() -> None:
    capture = str(PCAPS / "ikev1-aggressive.pcap")
    text = ikesniff("-v", "-r", capture).stdout.decode()
    assert "draft-ietf-ipsec-nat-t-ike-02" in text and "\\n" not in text
    vendor = next(e for e in events("-r", capture) if e["event"] == "finding" and e["kind"] == "vendor")
    assert "\\n" not in str(vendor["detail"]) and "\n" not in str(vendor["detail"])


def test_one_fix_per_verdict_the_rules_advice_first() -> None:
    told = verdict("-r", str(PCAPS / "ikev2-pfs-mismatch.pcap"))
    remedy = str(told["remedy"])
    assert remedy.startswith("Enable PFS with the same DH group on both sides")
    assert remedy.count("Enable PFS") == 1 and "On Huawei: pfs" in remedy  # the catalog's addition stays
    mirrored = one_fix("Make the protected subnets mirror each other and give both sides one common ESP proposal.",
                       catalog.cause("TrafficSelectorMismatch").remedy)
    assert mirrored.count("mirror each other") == 1 and "same prefix lengths" in mirrored
    checklist = catalog.cause("ProposalMismatch").remedy
    assert one_fix("On 192.0.2.2: make one IKE proposal identical on both.", checklist).endswith(checklist)


def test_counts_are_singular_for_one(tmp_path: Path) -> None:
    report = tmp_path / "ticket.md"
    result = ikesniff("-q", "-r", str(PCAPS / "ikev2-psk-mismatch.pcap"), "--report", str(report))
    assert "1 IKE SA," in result.stderr.decode()
    text = report.read_text()
    assert "1 tunnel:" in text and "tunnel(s)" not in text
    rekey = next(e for e in events("-r", str(PCAPS / "ikev2-childless.pcap"))
                 if e["event"] == "finding" and e["kind"] == "rekey")
    assert str(rekey["detail"]).startswith("1 CREATE_CHILD_SA exchange answered")


def test_ipv6_addresses_are_never_cut_at_their_last_colon(tmp_path: Path) -> None:
    assert address("2001:db8:1::2") == host("2001:db8:1::2") == "2001:db8:1::2"
    assert address("[2001:db8:1::2]:4500") == "2001:db8:1::2" and address("192.0.2.1:500") == "192.0.2.1"
    # the PSK-mismatch capture carried over IPv6: its fix names the responder's whole address
    moved = write_pcap(tmp_path / "v6.pcap", _over_ipv6(PCAPS / "ikev2-psk-mismatch.pcap"))
    told = verdict("-r", str(moved))
    assert told["peers"] == ["2001:db8:1::1", "2001:db8:1::2"]
    assert "the responder 2001:db8:1::2 expects" in str(told["remedy"])
    assert "[2001:db8:1::2]:4500 answered" in str(told["message"])


def _over_ipv6(capture: Path) -> list[Record]:
    """The UDP datagrams of an Ethernet/IPv4 capture, sent between 2001:db8:1::1 and ::2 instead."""
    data = capture.read_bytes()
    order = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    records, position = [], 24
    mapping = {"192.0.2.1": "2001:db8:1::1", "192.0.2.2": "2001:db8:1::2"}
    while position + 16 <= len(data):
        seconds, micros, length, _ = struct.unpack_from(order + "IIII", data, position)
        frame = data[position + 16:position + 16 + length]
        position += 16 + length
        packet = frame[14:]
        header = (packet[0] & 0x0F) * 4
        src, dst = (".".join(map(str, packet[offset:offset + 4])) for offset in (12, 16))
        payload = bytearray(packet[header:])
        if packet[9] == 17:
            payload[6:8] = b"\xff\xff"  # a checksum nobody verifies, never the forbidden 0 of IPv6
        records.append(Record(ether(ipv6(mapping[src], mapping[dst], packet[9], bytes(payload)), 0x86DD),
                              seconds + micros / 1e6))
    return records


def test_reports_name_inputs_by_base_name_and_say_where_they_were_written(tmp_path: Path) -> None:
    capture = PCAPS / "ikev2-psk-mismatch.pcap"
    report = tmp_path / "ticket.md"
    result = ikesniff("-q", "-r", str(capture), "--report", str(report))
    assert f"ikesniff: report written to {report}" in result.stderr.decode()
    text = report.read_text()
    assert "| ikev2-psk-mismatch.pcap |" in text and str(capture.parent) not in text
    ikesniff("-q", "-r", str(capture), "--report", str(report), "--redact")
    assert "ikev2-psk-mismatch" not in report.read_text() and str(capture.parent) not in report.read_text()


def test_with_keys_v_and_the_report_show_the_decrypted_contents(tmp_path: Path) -> None:
    capture, keys = PCAPS / "ikev2-psk.pcap", PCAPS / "ikev2-psk.ikev2_decryption_table"
    text = ikesniff("-v", "-r", str(capture), "--keys", str(keys)).stdout.decode()
    decrypted = text.split("decrypted:", 1)[1]
    for shown in ("value: moon.example", "value: sun.example", "TS_IPV4_ADDR_RANGE", "Transform ENCR_AES_CBC",
                  "notify_name: INITIAL_CONTACT", "method: SHARED_KEY_MESSAGE_INTEGRITY_CODE"):
        assert shown in decrypted, shown
    for suffix in (".md", ".html", ".json"):
        report = tmp_path / f"ticket{suffix}"
        ikesniff("-q", "-r", str(capture), "--keys", str(keys), "--report", str(report))
        written = report.read_text()
        assert "moon.example" in written and "TS_IPV4_ADDR_RANGE" in written, suffix
    redacted = tmp_path / "redacted.md"
    ikesniff("-q", "-r", str(capture), "--keys", str(keys), "--report", str(redacted), "--redact")
    assert "Decrypted payloads" in redacted.read_text() and "moon.example" not in redacted.read_text()


@pytest.mark.parametrize(("capture", "wrong_keys"), [
    ("ikev2-psk.pcap", "ikev2-psk-mismatch.ikev2_decryption_table"),
    ("ikev1-main.pcap", "ikev1-delete.ikev1_decryption_table"),
])
def test_keys_that_match_no_sa_are_a_finding(capture: str, wrong_keys: str) -> None:
    found = [e for e in events("-r", str(PCAPS / capture), "--keys", str(PCAPS / wrong_keys))
             if e["event"] == "finding" and e["kind"] == "keys_unused"]
    assert len(found) == 1 and "opened no message" in str(found[0]["detail"])
    right = capture.replace(".pcap", ".ikev2_decryption_table" if "ikev2" in capture else ".ikev1_decryption_table")
    assert not [e for e in events("-r", str(PCAPS / capture), "--keys", str(PCAPS / right))
                if e["event"] == "finding" and e["kind"] == "keys_unused"]


def test_a_psk_that_verifies_with_no_sa_is_a_finding(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.psk"
    wrong.write_text("not-the-lab-key\n")
    found = [e for e in events("-r", str(PCAPS / "ikev1-aggressive.pcap"), "--psk-file", str(wrong))
             if e["event"] == "finding" and e["kind"] == "keys_unused"]
    assert len(found) == 1 and "pre-shared key 1" in str(found[0]["detail"])
    assert "not-the-lab-key" not in json.dumps(found)
