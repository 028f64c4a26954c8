"""Key material that says less than a key table, on the lab's real captures and charon logs.

- IKEv1 main mode from the DH secret alone: a copy of a charon log that keeps only the
  'shared Diffie Hellman secret' dump (with or without the lines naming the SA's cookies), plus the PSK
  the label records, decrypts every encrypted message the full log decrypts; the SKEYID chain and the
  encryption key derived on the way are byte for byte what charon logged (RFC 2409 section 5 and
  Appendix B, computed independently by strongSwan). A wrong PSK decrypts nothing, says so, and raises
  nothing.
- Logs whose SPI lines were removed: each key set is tied to the SA whose ICV it verifies (IKEv2) or
  whose payload chain it decrypts (IKEv1), and the binding is cached in the store; the same for two logs
  of different scenarios concatenated, fed with both captures.
- PSK checks the analysis makes with keys: main-mode HASH_I / HASH_R read in decrypted messages,
  aggressive-mode HASH_I read in the decrypted message 3, keys derived with the given PSK.
- Without a PSK, aggressive mode checked with the SKEYID a charon log gives: in the PSK-mismatch
  capture moon's log alone, sun's alone and both (either order) make the mismatch certain, naming the
  side that does not hold the logging side's key; the healthy capture stays Established with both
  hashes matching; the key table (no SKEYID) and the peer-id-mismatch logs (no keys) change nothing;
  no key or PSK in the JSON output.

The PSKs are the lab's own (labels' `configured.<host>.psk`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ikesniff.analysis import Analysis, conclude
from ikesniff.crypto.charonlog import DUMP_HEAD as CHARON_DUMP_HEAD
from ikesniff.crypto.charonlog import DUMP_ROW as CHARON_DUMP_ROW
from ikesniff.crypto.charonlog import LINE as CHARON_LINE
from ikesniff.crypto.keys import KeyStore, load_key_file, parse_keys
from ikesniff.events import FindingEvent, MessageEvent

REPO = Path(__file__).resolve().parents[1]
PCAPS = REPO / "pcaps"


def label(scenario: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PCAPS / f"{scenario}.json").read_text())
    return data


def psk(scenario: str, host: str) -> bytes:
    return str(label(scenario)["configured"][host]["psk"]).encode()


MAIN_MODE_KEYED = sorted(
    path.name.removesuffix(".ikev1_decryption_table") for path in PCAPS.glob("ikev1-*.ikev1_decryption_table")
    if label(path.name.removesuffix(".ikev1_decryption_table"))["configured"]["moon"]["mode"] == "main")
IKEV2_KEYED = sorted(path.name.removesuffix(".ikev2_decryption_table")
                     for path in PCAPS.glob("*.ikev2_decryption_table"))
SPI_LINE = re.compile(r"with SPIs [0-9a-f]{16}_i [0-9a-f]{16}_r")


def filtered_log(scenario: str, side: str = "moon", *, dumps: tuple[str, ...] | None = None,
                 spi_lines: bool = True) -> str:
    """A charon log cut down: only the key dumps named in `dumps` (all lines but key dumps when None),
    with or without the 'checkin ... with SPIs' lines that tie a key set to its SA."""
    kept: list[str] = []
    in_dump: tuple[str, str] | None = None  # (thread, ike id) of a dump being kept
    for raw in (PCAPS / f"{scenario}.{side}.charon.log").read_text().splitlines():
        match = CHARON_LINE.match(raw)
        if match is None:
            continue
        message = match["msg"]
        if in_dump is not None and (match["thread"], match["ike_id"]) == in_dump and CHARON_DUMP_ROW.match(message):
            kept.append(raw)
            continue
        in_dump = None
        head = CHARON_DUMP_HEAD.match(message)
        if head is not None and (dumps is None or head["what"] in dumps):
            in_dump = (match["thread"], match["ike_id"])
            kept.append(raw)
        elif SPI_LINE.search(message):
            if spi_lines:
                kept.append(raw)
        elif dumps is None and head is None and not CHARON_DUMP_ROW.match(message):
            kept.append(raw)
    return "\n".join(kept) + "\n"


DH_ONLY = ("shared Diffie Hellman secret",)


@dataclass
class Run:
    analysis: Analysis
    messages: list[MessageEvent]
    findings: list[FindingEvent]
    verdict: Any


def analyse(store: KeyStore | None, *scenarios: str, psks: list[bytes] | None = None) -> Run:
    analysis = Analysis(keys=store, psks=psks or [])
    messages: list[MessageEvent] = []
    findings: list[FindingEvent] = []
    for scenario in scenarios:
        for item in analysis.run(str(PCAPS / f"{scenario}.pcap")):
            event = getattr(item, "event", item)
            if isinstance(event, MessageEvent):
                messages.append(event)
            elif isinstance(event, FindingEvent):
                findings.append(event)
    conclusions = conclude(analysis)
    findings += conclusions.findings
    return Run(analysis, messages, findings, conclusions.verdicts[0] if conclusions.verdicts else None)


def opened(run: Run) -> dict[int, list[str]]:
    """Frame -> inner payload names, for every encrypted message that was decrypted."""
    return {e.frame: [name for name in e.payloads if ":" in name] for e in run.messages if e.encrypted and e.decrypted}


# --- IKEv1 main mode derived from the DH secret --------------------------------------------------------------


def test_the_lab_has_main_mode_captures_with_keys() -> None:
    assert len(MAIN_MODE_KEYED) >= 8 and "ikev1-main" in MAIN_MODE_KEYED


@pytest.mark.parametrize("spi_lines", [True, False], ids=["cookies-named", "dh-dump-only"])
@pytest.mark.parametrize("scenario", MAIN_MODE_KEYED)
def test_dh_secret_and_psk_decrypt_what_the_full_log_decrypts(scenario: str, spi_lines: bool) -> None:
    store = parse_keys(filtered_log(scenario, dumps=DH_ONLY, spi_lines=spi_lines), "dh.log")
    held = [*store.ikev1.values(), *store.unbound_ikev1]
    assert held and all(keys.derivable and keys.dh_secret and not keys.skeyid for keys in held)
    assert bool(store.unbound_ikev1) is not spi_lines
    full = analyse(load_key_file(str(PCAPS / f"{scenario}.moon.charon.log")), scenario)
    derived = analyse(store, scenario, psks=[psk(scenario, "moon")])
    assert opened(full) and opened(derived) == opened(full)
    assert derived.verdict.code == full.verdict.code
    # the PSK given also tells who holds it: sun's messages do not read with keys derived with moon's PSK
    confidence = "certain" if scenario == "ikev1-main-psk-mismatch" else full.verdict.confidence
    assert derived.verdict.confidence == confidence
    assert not store.unbound_ikev1  # the unbound secret was tied to the SA it decrypted


@pytest.mark.parametrize("scenario", MAIN_MODE_KEYED)
def test_derived_skeyid_chain_and_key_are_what_charon_logged(scenario: str) -> None:
    logged = load_key_file(str(PCAPS / f"{scenario}.moon.charon.log"))
    store = parse_keys(filtered_log(scenario, dumps=DH_ONLY), "dh.log")
    run = analyse(store, scenario, psks=[b"not the key", psk(scenario, "moon")])
    (cookie,) = logged.ikev1
    expected = logged.ikev1[cookie]
    readers = {reading.keys for reading in run.analysis.crypto.ikev1.readings(cookie, expected.spi_r or b"") if reading.read}
    (derived,) = readers
    assert re.fullmatch(r"dh\.log:\d+ \(derived with pre-shared key #2 given\)", derived.source)
    assert (derived.skeyid, derived.skeyid_d, derived.skeyid_a, derived.skeyid_e, derived.encryption_key) == (
        expected.skeyid, expected.skeyid_d, expected.skeyid_a, expected.skeyid_e, expected.encryption_key)


@pytest.mark.parametrize("spi_lines", [True, False], ids=["cookies-named", "dh-dump-only"])
def test_dh_secret_with_a_wrong_psk_decrypts_nothing_and_says_so(spi_lines: bool) -> None:
    scenario = "ikev1-main"
    store = parse_keys(filtered_log(scenario, dumps=DH_ONLY, spi_lines=spi_lines), "dh.log")
    run = analyse(store, scenario, psks=[b"wrong-psk"])
    assert not opened(run)
    if spi_lines:  # the secret is the SA's: the PSK given is not the one either side derived its keys with
        differs = sorted(f.detail.split(";")[0] for f in run.findings if f.kind == "psk_differs")
        assert differs == ["the initiator's hash does not verify with the key given (pre-shared key or logged SKEYID)",
                           "the responder's hash does not verify with the key given (pre-shared key or logged SKEYID)"]
        assert all("neither gateway uses that key" in f.detail for f in run.findings if f.kind == "psk_differs")
        assert run.verdict.code != "PskMismatch"  # the user's key is wrong, not the tunnel
        (cookie,) = store.ikev1
        readings = run.analysis.crypto.ikev1.readings(cookie, next(e.spi_r for e in run.messages if e.encrypted).encode())
        assert readings == [] or not any(r.read for r in readings)
    else:  # nothing ties the secret to this SA: it stays unbound
        assert len(store.unbound_ikev1) == 1 and not store.ikev1
    assert b"wrong-psk".decode() not in repr(run.findings) + repr(run.messages)


def test_dh_secret_without_a_psk_is_a_clear_error_not_an_exception() -> None:
    from dissectors import parse_message
    from ikesniff.capture import CaptureStats, IkeDatagram, read_capture
    from ikesniff.crypto.ikev1 import Ikev1Decryptor

    store = parse_keys(filtered_log("ikev1-main", dumps=DH_ONLY), "dh.log")
    decryptor = Ikev1Decryptor()
    results = []
    for item in read_capture(str(PCAPS / "ikev1-main.pcap"), CaptureStats()):
        if isinstance(item, IkeDatagram):
            message = parse_message(item.data)
            results.append(decryptor.feed(item.data, message, store.ikev1_candidates(message.header.spi_i),
                                          sender=item.src))
    encrypted = [result for result in results if result is not None]
    assert encrypted and not any(result.readable for result in encrypted)
    assert all(any("needs the pre-shared key" in error for error in result.errors) for result in encrypted)


def test_both_psks_with_one_dh_secret_show_each_side_read_by_its_own_key() -> None:
    scenario = "ikev1-main-psk-mismatch"
    store = parse_keys(filtered_log(scenario, dumps=DH_ONLY), "dh.log")
    run = analyse(store, scenario, psks=[psk(scenario, "moon"), psk(scenario, "sun")])
    assert (run.verdict.code, run.verdict.confidence) == ("PskMismatch", "certain")
    assert {f.kind for f in run.findings} >= {"psk_matches"}
    (cookie,) = store.ikev1
    spi_r = bytes.fromhex(next(e.spi_r for e in run.messages if e.encrypted))
    mismatch = run.analysis.crypto.ikev1.key_mismatch(cookie, spi_r)
    assert mismatch is not None and "pre-shared key #1" in mismatch and "pre-shared key #2" in mismatch


@pytest.mark.parametrize(("holder", "unverified"), [("moon", "responder"), ("sun", "initiator")])
def test_one_log_and_one_sides_psk_make_a_psk_mismatch_certain(holder: str, unverified: str) -> None:
    scenario = "ikev1-main-psk-mismatch"
    run = analyse(load_key_file(str(PCAPS / f"{scenario}.moon.charon.log")), scenario, psks=[psk(scenario, holder)])
    assert (run.verdict.code, run.verdict.confidence) == ("PskMismatch", "certain")
    assert f"the {unverified}'s hash does not verify" in run.verdict.message.lower()


# --- key sets without SPIs: bound by ICV or by trial decryption ------------------------------------------------


@pytest.mark.parametrize("scenario", IKEV2_KEYED)
def test_ikev2_log_without_spi_lines_binds_each_key_set_by_its_icv(scenario: str) -> None:
    full_store = load_key_file(str(PCAPS / f"{scenario}.moon.charon.log"))
    store = parse_keys(filtered_log(scenario, spi_lines=False), "moon.log")
    assert not store.ikev2 and len(store.unbound_ikev2) == len(full_store.ikev2)
    assert any("tie" in note and "no SPIs" in note for note in store.notes)
    full = analyse(full_store, scenario)
    bound = analyse(store, scenario)
    assert opened(bound) == opened(full)
    assert set(store.ikev2) == set(full_store.ikev2) and not store.unbound_ikev2
    assert (bound.verdict.code, bound.verdict.confidence) == (full.verdict.code, full.verdict.confidence)


@pytest.mark.parametrize("scenario", MAIN_MODE_KEYED + ["ikev1-aggressive"])
def test_ikev1_log_without_spi_lines_binds_its_key_by_trial_decryption(scenario: str) -> None:
    full_store = load_key_file(str(PCAPS / f"{scenario}.moon.charon.log"))
    store = parse_keys(filtered_log(scenario, spi_lines=False), "moon.log")
    assert not store.ikev1 and len(store.unbound_ikev1) == 1 and not store.unbound_ikev1[0].derivable
    full = analyse(full_store, scenario)
    bound = analyse(store, scenario)
    assert opened(bound) == opened(full)
    assert set(store.ikev1) == set(full_store.ikev1) and not store.unbound_ikev1
    assert (bound.verdict.code, bound.verdict.confidence) == (full.verdict.code, full.verdict.confidence)


@pytest.mark.parametrize("pair", [("ikev2-psk", "ikev2-delete"), ("ikev1-main", "ikev1-delete"),
                                  ("ikev2-rekey-ike", "ikev1-dpd-ok")])
@pytest.mark.parametrize("spi_lines", [True, False], ids=["with-spis", "without-spis"])
def test_two_scenarios_logs_concatenated_decrypt_both_captures(pair: tuple[str, str], spi_lines: bool) -> None:
    text = "".join(filtered_log(scenario, spi_lines=spi_lines) for scenario in pair)
    store = parse_keys(text, "both.log")
    separately = {scenario: opened(analyse(load_key_file(str(PCAPS / f"{scenario}.moon.charon.log")), scenario))
                  for scenario in pair}
    together = analyse(store, *pair)
    by_file = {scenario: {e.frame: [n for n in e.payloads if ":" in n] for e in together.messages
                          if e.encrypted and e.decrypted and e.file.endswith(f"/{scenario}.pcap")}
               for scenario in pair}
    assert by_file == separately and all(separately.values())
    assert not store.unbound_ikev2 and not store.unbound_ikev1


def test_unbound_key_sets_are_not_tried_forever_on_an_sa_they_do_not_read() -> None:
    from ikesniff.crypto.keys import UNBOUND_TRIES

    store = parse_keys(filtered_log("ikev2-delete", spi_lines=False), "other.log")
    run = analyse(store, "ikev2-dpd-timeout")  # keys of another scenario: none verifies
    assert not opened(run) and len(store.unbound_ikev2) == 1
    encrypted = [e for e in run.messages if e.encrypted]
    (spis,) = {(bytes.fromhex(e.spi_i), bytes.fromhex(e.spi_r)) for e in encrypted}
    assert len(encrypted) > UNBOUND_TRIES and store.ikev2_unbound_for(*spis) == []


def test_export_names_unbound_and_derivable_key_sets_without_keys() -> None:
    from ikesniff.crypto.keys import export_tables

    store = parse_keys(filtered_log("ikev1-main", dumps=DH_ONLY, spi_lines=False)
                       + filtered_log("ikev2-psk", spi_lines=False), "x.log")
    tables = export_tables(store)
    assert "names no cookies" in tables["ikev1_decryption_table"]
    assert "gives only the DH secret" in tables["ikev1_decryption_table"]
    assert "names no SPIs" in tables["ikev2_decryption_table"]
    dh = next(iter(store.unbound_ikev1)).dh_secret
    assert dh is not None and dh.hex() not in tables["ikev1_decryption_table"]
    assert all(line.startswith("#") for text in tables.values() for line in text.splitlines())


# --- PSK checks with keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["ikev1_decryption_table", "moon.charon.log"])
def test_main_mode_hashes_read_in_decrypted_messages_verify_with_the_right_psk(source: str) -> None:
    run = analyse(load_key_file(str(PCAPS / f"ikev1-main.{source}")), "ikev1-main", psks=[psk("ikev1-main", "sun")])
    matches = sorted(f.detail for f in run.findings if f.kind == "psk_matches")
    assert matches == ["the initiator's hash verifies with the key given (pre-shared key or logged SKEYID)",
                       "the responder's hash verifies with the key given (pre-shared key or logged SKEYID)"]
    assert (run.verdict.code, run.verdict.confidence) == ("Established", "certain")


def test_aggressive_hash_i_is_checked_in_the_decrypted_message_3() -> None:
    scenario = "ikev1-aggressive"
    keys = load_key_file(str(PCAPS / f"{scenario}.ikev1_decryption_table"))
    run = analyse(keys, scenario, psks=[psk(scenario, "moon")])
    sides = {f.detail.split("'s")[0]: f.kind for f in run.findings if f.kind.startswith("psk_")}
    assert sides == {"the initiator": "psk_matches", "the responder": "psk_matches"}
    keys = load_key_file(str(PCAPS / f"{scenario}.ikev1_decryption_table"))
    wrong = analyse(keys, scenario, psks=[psk("ikev1-aggressive-psk-mismatch", "sun")])
    assert {f.kind for f in wrong.findings if f.kind.startswith("psk_")} == {"psk_differs"}
    without_keys = analyse(None, scenario, psks=[psk(scenario, "moon")])  # message 3 is encrypted: HASH_R only
    assert [f.detail.split("'s")[0] for f in without_keys.findings if f.kind == "psk_matches"] == ["the responder"]



AGGRESSIVE_LOGS = {"moon": ("moon",), "sun": ("sun",), "both": ("moon", "sun"), "both-reversed": ("sun", "moon")}


def logs(scenario: str, hosts: tuple[str, ...]) -> KeyStore:
    store = KeyStore()
    for host in hosts:
        store.add(load_key_file(str(PCAPS / f"{scenario}.{host}.charon.log")))
    return store


def psk_sides(run: Run) -> dict[str, str]:
    return {f.detail.split("'s")[0].removeprefix("the "): f.kind for f in run.findings if f.kind.startswith("psk_")}


@pytest.mark.parametrize(("source", "differs"), [("moon", "responder"), ("sun", "initiator"), ("both", "responder"),
                                                 ("both-reversed", "responder")])
def test_aggressive_psk_mismatch_is_certain_with_a_logged_skeyid_and_no_psk(source: str, differs: str) -> None:
    """moon (initiator) logged its SKEYID: sun's HASH_R does not verify with it. sun logged its own: HASH_R
    verifies (trivially) and sun's keys read none of moon's encrypted messages. Both logs: two SKEYIDs for one
    SA, the initiator's the reference."""
    scenario = "ikev1-aggressive-psk-mismatch"
    run = analyse(logs(scenario, AGGRESSIVE_LOGS[source]), scenario)
    assert (run.verdict.code, run.verdict.confidence) == ("PskMismatch", "certain")
    assert f"the {differs}'s hash does not verify" in run.verdict.message.lower()
    sides = psk_sides(run)
    assert sides[differs] == "psk_differs"
    assert sides == ({differs: "psk_differs"} if differs == "responder"
                     else {"initiator": "psk_differs", "responder": "psk_matches"})


@pytest.mark.parametrize("source", list(AGGRESSIVE_LOGS))
def test_healthy_aggressive_with_a_logged_skeyid_stays_established_and_both_hashes_match(source: str) -> None:
    scenario = "ikev1-aggressive"
    run = analyse(logs(scenario, AGGRESSIVE_LOGS[source]), scenario)
    assert (run.verdict.code, run.verdict.confidence) == ("Established", "certain")
    assert psk_sides(run) == {"initiator": "psk_matches", "responder": "psk_matches"}



@pytest.mark.parametrize("scenario", ["ikev1-aggressive", "ikev1-aggressive-psk-mismatch"])
def test_an_skeyid_neither_peer_holds_makes_the_skeyid_checks_say_nothing(scenario: str) -> None:
    """A key set filed under the SA whose SKEYID fails HASH_R as well as the decrypted HASH_I (healthy), or
    fails HASH_R like moon's own (mismatch): it is not one of this SA's peers'. (The verdict is left to the
    rest: the extra key set, reading nothing, still makes the decryptor's key_mismatch.)"""
    import dataclasses

    store = logs(scenario, ("moon",))
    (moon,) = store.ikev1.values()
    store.add_ikev1(dataclasses.replace(moon, encryption_key=bytes(len(moon.encryption_key)), skeyid=bytes(32),
                                        source="other.log:1"))
    assert len(store.ikev1_candidates(moon.spi_i)) == 2
    assert psk_sides(analyse(store, scenario)) == {}

@pytest.mark.parametrize("scenario", ["ikev1-aggressive", "ikev1-aggressive-psk-mismatch"])
def test_a_key_table_holds_no_skeyid_and_changes_nothing(scenario: str) -> None:
    table = load_key_file(str(PCAPS / f"{scenario}.ikev1_decryption_table"))
    assert all(keys.skeyid is None for keys in table.ikev1.values())
    run, without = analyse(table, scenario), analyse(None, scenario)
    assert (run.verdict.code, run.verdict.confidence) == (without.verdict.code, without.verdict.confidence)
    assert psk_sides(run) == {}


def test_aggressive_peer_id_mismatch_logs_hold_no_keys_and_change_nothing() -> None:
    scenario = "ikev1-aggressive-peer-id-mismatch"
    store = logs(scenario, ("moon", "sun"))
    run, without = analyse(store, scenario), analyse(None, scenario)
    assert (run.verdict.code, run.verdict.confidence) == (without.verdict.code, without.verdict.confidence) \
        == ("PeerIdMismatch", "possible")
    assert psk_sides(run) == {}


@pytest.mark.parametrize("scenario", ["ikev1-aggressive", "ikev1-aggressive-psk-mismatch"])
def test_skeyid_checks_print_no_key_or_psk(scenario: str) -> None:
    import subprocess
    import sys

    keys = [str(PCAPS / f"{scenario}.{host}.charon.log") for host in ("moon", "sun")]
    result = subprocess.run([sys.executable, "-m", "ikesniff", "--json", "-r", str(PCAPS / f"{scenario}.pcap"),
                             "--keys", keys[0], "--keys", keys[1]], capture_output=True, text=True, timeout=120, check=False,
                            cwd=REPO)
    output = result.stdout + result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert any(e["event"] == "finding" and e["kind"].startswith("psk_") for e in events)
    store = logs(scenario, ("moon", "sun"))
    secrets = [value for keys in store.ikev1_candidates(next(iter(store.ikev1)))
               for value in (keys.skeyid, keys.skeyid_d, keys.skeyid_a, keys.skeyid_e, keys.encryption_key,
                             keys.dh_secret) if value]
    held = len(secrets)  # six values a log, one set when the peers' keys agree (counts only: no key in a failure)
    assert held == (12 if scenario.endswith("psk-mismatch") else 6)
    leaked = sum(secret.hex() in output.lower() or secret.hex(":") in output.lower() for secret in secrets)
    leaked += sum(str(label(scenario)["configured"][host]["psk"]) in output for host in ("moon", "sun"))
    assert leaked == 0

# --- the closing table -------------------------------------------------------------------------------------------


def test_keys_table_tool_prints_a_row_per_scenario_without_keys_or_psks() -> None:
    import subprocess
    import sys

    scenario = "ikev1-main-psk-mismatch"
    result = subprocess.run([sys.executable, str(REPO / "tools" / "keys_table.py"), "--scenarios", scenario],
                            capture_output=True, text=True, check=True, timeout=300)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("| scenario | label | without keys | key table | moon's log | both logs | PSK |")
    cells = [cell.strip() for cell in lines[2].strip("|").split("|")]
    assert cells[:3] == [scenario, "PskMismatch", "PskMismatch (likely)"]
    assert cells[3:] == ["PskMismatch (certain)"] * 3 + ["PskMismatch (likely)"] + ["PskMismatch (certain)"] * 2
    for host in ("moon", "sun"):
        assert str(label(scenario)["configured"][host]["psk"]) not in result.stdout + result.stderr
