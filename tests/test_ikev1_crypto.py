"""IKEv1 decryption (ikesniff.crypto.ikev1) on real data only.

- Every lab IKEv1 capture with a Wireshark ikev1_decryption_table: every encrypted message decrypts
  (except, in the PSK-mismatch scenarios, the messages of the peer whose key the table does not hold),
  and the decrypted payloads hold what the label lists (`inner_payloads`, `inner_notifies`).
- The same captures with both peers' charon logs (keys.load_key_file): every encrypted message reads
  with one of the two keys; in ikev1-main-psk-mismatch moon's keys read moon's message 5 (and its
  retransmissions) but none of sun's informationals, and sun's keys the reverse.
- tshark 4.0 as the oracle (where installed): same payload types per frame, except retransmissions, which
  tshark decrypts with the chained IV and reads as garbage (ikev1-certs frame 8, the committed dump).
- The corpus capture with an IKEv1 table (zeek-spicy-ipsec/ikev1-certs, Wireshark's own test keys, 3DES):
  the payload types of tshark's committed decrypted dump.
- Captures fed from the middle (no SA choice, no KE), wrong keys, cut ciphertext, bounded memory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dissectors import Message, parse_message
from ikesniff.capture import CaptureStats, IkeDatagram, read_capture
from ikesniff.crypto.ikev1 import (
    UNREADABLE,
    Ikev1Decrypted,
    Ikev1Decryptor,
    derive_phase1,
    encryption_key_from_skeyid_e,
    skeyid,
)
from ikesniff.crypto.keys import Ikev1Keys, KeyStore, load_key_file

REPO = Path(__file__).resolve().parents[1]
PCAPS = REPO / "pcaps"
CORPUS = REPO.parent / "shared" / "corpus" / "external"
CERTS = CORPUS / "zeek-spicy-ipsec" / "ikev1-certs.pcap"
LAB_WITH_TABLES = sorted(p.name.removesuffix(".ikev1_decryption_table")
                         for p in PCAPS.glob("ikev1-*.ikev1_decryption_table"))
PSK_MISMATCH = ("ikev1-main-psk-mismatch", "ikev1-aggressive-psk-mismatch")


@dataclass
class Fed:
    frame: int
    src: str
    data: bytes
    message: Message
    result: Ikev1Decrypted | None


def feed_capture(path: Path, store: KeyStore | None, skip: set[int] | frozenset[int] = frozenset(),
                 decryptor: Ikev1Decryptor | None = None) -> list[Fed]:
    """Every IKEv1 message of a capture fed in order (frames in `skip` left out); the encrypted ones."""
    decryptor = Ikev1Decryptor() if decryptor is None else decryptor
    fed = []
    for item in read_capture(str(path), CaptureStats()):
        if not isinstance(item, IkeDatagram) or item.frame in skip:
            continue
        message = parse_message(item.data)
        if message.version != 1:
            continue
        keys = store.ikev1_candidates(message.header.spi_i) if store is not None else None
        result = decryptor.feed(item.data, message, keys, sender=item.src)
        if message.encrypted:
            fed.append(Fed(item.frame, item.src, item.data, message, result))
    return fed


def store_of(*paths: Path) -> KeyStore:
    store = KeyStore()
    for path in paths:
        store.add(load_key_file(str(path)))
    return store


def label(scenario: str) -> Any:
    return json.loads((PCAPS / f"{scenario}.json").read_text())


def at_least(expected: object, count: int) -> bool:
    if isinstance(expected, str) and expected.startswith(">="):
        return count >= int(expected[2:])
    return count == expected


# --- lab captures ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", LAB_WITH_TABLES)
def test_lab_capture_decrypts_with_its_table_to_what_its_label_lists(scenario: str) -> None:
    fed = feed_capture(PCAPS / f"{scenario}.pcap", store_of(PCAPS / f"{scenario}.ikev1_decryption_table"))
    assert fed, "every lab scenario with a table has encrypted messages"
    initiator = fed[0].src if fed[0].result and fed[0].result.from_initiator else None
    for one in fed:
        assert one.result is not None
        if scenario in PSK_MISMATCH and one.src != initiator:
            # the table holds moon's key (the initiator's); sun derived another one
            assert not one.result.readable and UNREADABLE in one.result.errors[-1]
        else:
            assert one.result.readable, (one.frame, one.result.errors)
            assert one.result.payloads and one.result.errors == []
    wire = label(scenario)["expected"]["wire"]
    notifies = [n.notify_name for one in fed if one.result for n in one.result.notifies]
    for name, expected in wire.get("inner_notifies", {}).items():
        assert at_least(expected, notifies.count(name)), (name, notifies)
    payloads = [p.name for one in fed if one.result for p in one.result.payloads]
    for name, expected in wire.get("inner_payloads", {}).items():
        assert at_least(expected, payloads.count(name)), (name, payloads)


@pytest.mark.parametrize("scenario", LAB_WITH_TABLES)
def test_lab_capture_decrypts_with_both_charon_logs(scenario: str) -> None:
    store = store_of(PCAPS / f"{scenario}.moon.charon.log", PCAPS / f"{scenario}.sun.charon.log")
    fed = feed_capture(PCAPS / f"{scenario}.pcap", store)
    assert all(one.result is not None and one.result.readable for one in fed), \
        [(one.frame, one.result and one.result.errors) for one in fed]
    table = store_of(PCAPS / f"{scenario}.ikev1_decryption_table")
    for one in fed:
        assert one.result is not None and one.result.keys is not None
        if scenario not in PSK_MISMATCH:  # both peers derived the table's key
            assert one.result.unread_with == []
            assert one.result.keys.same_keys(next(iter(table.ikev1.values())))


def test_main_mode_psk_mismatch_each_side_reads_only_its_own_messages() -> None:
    scenario = "ikev1-main-psk-mismatch"
    moon = next(iter(load_key_file(str(PCAPS / f"{scenario}.moon.charon.log")).ikev1.values()))
    sun = next(iter(load_key_file(str(PCAPS / f"{scenario}.sun.charon.log")).ikev1.values()))
    assert not moon.same_keys(sun)
    store = KeyStore()
    store.add_ikev1(moon)
    store.add_ikev1(sun)
    decryptor = Ikev1Decryptor()
    fed = feed_capture(PCAPS / f"{scenario}.pcap", store, decryptor=decryptor)
    from_moon = [one for one in fed if one.src == "192.0.2.1"]
    from_sun = [one for one in fed if one.src == "192.0.2.2"]
    assert [one.message.exchange_name for one in from_moon] == ["IDENTITY_PROTECTION"] * 4
    assert [one.message.exchange_name for one in from_sun] == ["INFORMATIONAL"] * 4
    for one in from_moon:  # message 5 and its three retransmissions: ID, HASH, INITIAL_CONTACT
        assert one.result is not None and one.result.keys == moon and one.result.unread_with == [sun]
        assert one.result.from_initiator is True
        assert [p.name for p in one.result.payloads] == ["ID", "HASH", "N"]
    assert [one.result.retransmission for one in from_moon if one.result] == [False, True, True, True]
    for one in from_sun:  # sun could not read message 5 and says so: PAYLOAD_MALFORMED
        assert one.result is not None and one.result.keys == sun and one.result.unread_with == [moon]
        assert one.result.from_initiator is False
        assert [n.notify_name for n in one.result.notifies] == ["PAYLOAD_MALFORMED"]
        # sun derived the informational's IV from the phase-1 IV before message 5: it never took 5 in
        assert one.result.stale_phase1
    spi_i, spi_r = fed[0].message.header.spi_i, fed[0].message.header.spi_r
    readings = {(r.keys.source.split("/")[-1].split(".")[1], r.from_initiator): (r.read, r.unread)
                for r in decryptor.readings(spi_i, spi_r)}
    assert readings == {("moon", True): (4, 0), ("sun", True): (0, 4),
                        ("moon", False): (0, 4), ("sun", False): (4, 0)}
    mismatch = decryptor.key_mismatch(spi_i, spi_r)
    assert mismatch is not None and mismatch.startswith("the peers derived different keys")
    assert f"keys from {moon.source} read the initiator's messages, not the responder's messages" in mismatch
    assert f"keys from {sun.source} read the responder's messages, not the initiator's messages" in mismatch
    assert moon.encryption_key.hex() not in mismatch and sun.encryption_key.hex() not in mismatch


def test_no_key_mismatch_when_both_logs_hold_the_same_key() -> None:
    scenario = "ikev1-main"
    store = store_of(PCAPS / f"{scenario}.moon.charon.log", PCAPS / f"{scenario}.sun.charon.log")
    decryptor = Ikev1Decryptor()
    fed = feed_capture(PCAPS / f"{scenario}.pcap", store, decryptor=decryptor)
    header = fed[0].message.header
    assert len(store.ikev1_candidates(header.spi_i)) == 1
    assert decryptor.key_mismatch(header.spi_i, header.spi_r) is None


@pytest.mark.parametrize("side", ["moon", "sun"])
def test_one_sides_key_reading_only_that_sides_messages_is_a_key_mismatch(side: str) -> None:
    scenario = "ikev1-main-psk-mismatch"
    decryptor = Ikev1Decryptor()
    fed = feed_capture(PCAPS / f"{scenario}.pcap", store_of(PCAPS / f"{scenario}.{side}.charon.log"),
                       decryptor=decryptor)
    header = fed[0].message.header
    mismatch = decryptor.key_mismatch(header.spi_i, header.spi_r)
    reader, other = ("initiator", "responder") if side == "moon" else ("responder", "initiator")
    assert mismatch is not None and mismatch.endswith(f"read the {reader}'s messages, not the {other}'s messages")


@pytest.mark.parametrize("source", ["ikev1_decryption_table", "moon.charon.log", "sun.charon.log"])
@pytest.mark.parametrize("scenario", [s for s in LAB_WITH_TABLES if s != "ikev1-main-psk-mismatch"])
def test_one_key_that_reads_the_sa_is_no_key_mismatch(scenario: str, source: str) -> None:
    decryptor = Ikev1Decryptor()
    fed = feed_capture(PCAPS / f"{scenario}.pcap", store_of(PCAPS / f"{scenario}.{source}"), decryptor=decryptor)
    for header in {(one.message.header.spi_i, one.message.header.spi_r) for one in fed}:
        assert decryptor.key_mismatch(*header) is None


def test_aggressive_mode_psk_mismatch_moon_says_authentication_failed_in_its_own_key() -> None:
    scenario = "ikev1-aggressive-psk-mismatch"
    store = store_of(PCAPS / f"{scenario}.moon.charon.log", PCAPS / f"{scenario}.sun.charon.log")
    (one,) = feed_capture(PCAPS / f"{scenario}.pcap", store)
    assert one.result is not None and one.result.readable and one.result.from_initiator
    assert one.result.keys is not None and "moon" in one.result.keys.source
    assert [k.source for k in one.result.unread_with] == [store.ikev1_candidates(one.message.header.spi_i)[1].source]
    assert [n.notify_name for n in one.result.notifies] == ["AUTHENTICATION_FAILED"]


def test_retransmissions_decrypt_with_their_originals_iv() -> None:
    scenario = "ikev1-main-psk-mismatch"
    fed = feed_capture(PCAPS / f"{scenario}.pcap", store_of(PCAPS / f"{scenario}.ikev1_decryption_table"))
    message5 = [one for one in fed if one.message.header.message_id == 0]
    assert len(message5) == 4 and len({one.data for one in message5}) == 1
    assert [(one.result.retransmission, one.result.iv_origin) for one in message5 if one.result] == \
        [(False, "phase-1 KE")] + [(True, "phase-1 KE")] * 3
    assert all(one.result and one.result.readable for one in message5)


# --- tshark as the oracle ---------------------------------------------------------------------------------------


def tshark_payload_types(capture: Path, table: Path) -> dict[int, list[int]]:
    with tempfile.TemporaryDirectory() as config:
        shutil.copy(table, Path(config) / "ikev1_decryption_table")
        output = subprocess.run(
            ["tshark", "-n", "-r", str(capture), "-Y", "isakmp", "-T", "fields", "-e", "frame.number",
             "-e", "isakmp.typepayload"], capture_output=True, text=True, check=False,
            env=dict(os.environ, WIRESHARK_CONFIG_DIR=config)).stdout
    # tshark lists proposals and transforms (2, 3) among the payload types; the dissector nests them in the SA
    return {int(frame): [int(t) for t in types.split(",") if t and int(t) not in (2, 3)]
            for frame, _, types in (line.partition("\t") for line in output.splitlines())}


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
@pytest.mark.parametrize("scenario", LAB_WITH_TABLES)
def test_lab_capture_gives_tsharks_payload_types_except_where_tshark_misreads_retransmissions(scenario: str) -> None:
    table = PCAPS / f"{scenario}.ikev1_decryption_table"
    tshark = tshark_payload_types(PCAPS / f"{scenario}.pcap", table)
    for one in feed_capture(PCAPS / f"{scenario}.pcap", store_of(table)):
        assert one.result is not None
        if not one.result.readable or one.result.retransmission:
            continue
        assert [p.type for p in one.result.payloads] == tshark[one.frame], one.frame


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_tshark_misreads_the_retransmitted_message_5_that_ikesniff_reads() -> None:
    scenario = "ikev1-main-psk-mismatch"
    table = PCAPS / f"{scenario}.ikev1_decryption_table"
    tshark = tshark_payload_types(PCAPS / f"{scenario}.pcap", table)
    fed = {one.frame: one.result for one in feed_capture(PCAPS / f"{scenario}.pcap", store_of(table))}
    assert tshark[5] == [5, 8, 11]  # the original: ID, HASH, N(INITIAL_CONTACT), as here
    for frame in (7, 9, 11):  # tshark 4.0 chains the IV and reads a malformed ID only
        result = fed[frame]
        assert result is not None and result.retransmission and result.readable
        assert [p.type for p in result.payloads] == [5, 8, 11] != tshark[frame]


# --- the corpus capture with an IKEv1 key table -----------------------------------------------------------------


def committed_tshark_types(capture: Path) -> dict[int, list[int]]:
    lines = Path(str(capture) + ".tshark.decrypted.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"))) for line in lines[1:]]
    return {int(row["frame.number"]): [int(t) for t in row.get("isakmp.typepayload", "").split(",") if t]
            for row in rows}


def test_ikev1_certs_decrypts_to_tsharks_payload_types_and_its_retransmission_too() -> None:
    table = CERTS.with_suffix(".ikev1_decryption_table")
    fed = feed_capture(CERTS, store_of(table))
    tshark = committed_tshark_types(CERTS)
    assert [one.frame for one in fed] == [5, 6, 7, 8, 9, 10]
    assert all(one.result is not None and one.result.readable for one in fed)
    results = {one.frame: one.result for one in fed if one.result}
    assert results[5].cipher == "3DES-CBC"
    for frame in (5, 6, 7, 9, 10):
        # tshark lists SA proposals and transforms (2, 3) among the payload types; nested here
        assert [p.type for p in results[frame].payloads] == [t for t in tshark[frame] if t not in (2, 3)], frame
    # frame 8 repeats frame 7 byte for byte. tshark 4.0 decrypts it with the IV chained from frame 7's last block
    # and reads a HASH followed by a payload of type 44; its original's IV gives frame 7's payloads.
    assert fed[3].data == fed[2].data
    assert tshark[8] == [8]  # the committed dump: only the HASH (the garbage after it is a Malformed Packet)
    assert results[8].retransmission
    assert [p.name for p in results[8].payloads] == [p.name for p in results[7].payloads]
    assert [p.name for p in results[8].payloads] == ["HASH", "SA", "NONCE", "KE", "ID", "ID"]


# --- captures fed from the middle, damage, memory ----------------------------------------------------------------


def test_without_sa_choice_the_cipher_and_hash_are_found_by_trial() -> None:
    scenario = "ikev1-main"
    fed = feed_capture(PCAPS / f"{scenario}.pcap", store_of(PCAPS / f"{scenario}.ikev1_decryption_table"),
                       skip={1, 2})
    assert all(one.result and one.result.readable for one in fed)
    assert fed[0].result and (fed[0].result.cipher, fed[0].result.hash) == ("AES-CBC-128", "sha256")


def test_without_ke_payloads_message_5_is_lost_but_the_chain_goes_on() -> None:
    scenario = "ikev1-main"
    fed = feed_capture(PCAPS / f"{scenario}.pcap", store_of(PCAPS / f"{scenario}.ikev1_decryption_table"),
                       skip={3, 4})
    first, *rest = fed
    assert first.result is not None and not first.result.readable
    assert first.result.errors == ["IV unknown: the KE payloads of the clear phase-1 messages were not captured"]
    assert all(one.result and one.result.readable for one in rest)
    assert [one.result.iv_origin for one in rest if one.result] == [
        "phase-1 chain", "message ID", "exchange chain", "exchange chain"]


def test_messages_without_keys_still_advance_the_chains() -> None:
    scenario = "ikev1-main"
    table = store_of(PCAPS / f"{scenario}.ikev1_decryption_table")
    decryptor = Ikev1Decryptor()
    results = []
    for item in read_capture(str(PCAPS / f"{scenario}.pcap"), CaptureStats()):
        if isinstance(item, IkeDatagram):
            message = parse_message(item.data)
            keys = table.ikev1_candidates(message.header.spi_i) if item.frame >= 8 else None
            results.append(decryptor.feed(item.data, message, keys))
    assert results[:7] == [None] * 7
    assert all(result and result.readable for result in results[7:])


def test_wrong_key_and_cut_ciphertext_give_errors_not_exceptions() -> None:
    scenario = "ikev1-main"
    right = next(iter(store_of(PCAPS / f"{scenario}.ikev1_decryption_table").ikev1.values()))
    wrong = Ikev1Keys(right.spi_i, bytes(16), "test")
    decryptor = Ikev1Decryptor()
    last = b""
    for item in read_capture(str(PCAPS / f"{scenario}.pcap"), CaptureStats()):
        if not isinstance(item, IkeDatagram):
            continue
        message = parse_message(item.data)
        result = decryptor.feed(item.data, message, wrong)
        if message.encrypted:
            assert result is not None and not result.readable and result.payloads == []
            assert result.errors[-1].startswith(UNREADABLE) and result.unread_with == [wrong]
        last = item.data
    cut = last[:-3]
    result = Ikev1Decryptor().feed(cut, parse_message(cut), right)
    assert result is not None and not result.readable


def test_memory_is_bounded_and_forget_drops_an_sa() -> None:
    decryptor = Ikev1Decryptor(max_sas=2)
    for scenario in ("ikev1-main", "ikev1-delete", "ikev1-dpd-ok", "ikev1-aggressive"):
        feed_capture(PCAPS / f"{scenario}.pcap", None, decryptor=decryptor)
    assert len(decryptor) <= 4  # two SAs and at most two opening messages
    fed = feed_capture(PCAPS / "ikev1-main.pcap", None, decryptor=decryptor)
    header = fed[0].message.header
    decryptor.forget(header.spi_i, header.spi_r)
    assert decryptor.readings(header.spi_i, header.spi_r) == []
    assert (header.spi_i, header.spi_r) not in decryptor._sas


def test_every_corpus_ikev1_capture_feeds_without_an_exception_with_or_without_a_wrong_key() -> None:
    captures = [p for p in sorted(CORPUS.rglob("*")) if p.suffix in (".pcap", ".pcapng", ".cap")]
    assert captures
    for path in captures:
        with_wrong, without = Ikev1Decryptor(), Ikev1Decryptor()
        for item in read_capture(str(path), CaptureStats()):
            if not isinstance(item, IkeDatagram):
                continue
            message = parse_message(item.data)
            without.feed(item.data, message, None)
            result = with_wrong.feed(item.data, message, Ikev1Keys(message.header.spi_i, bytes(24), "wrong"))
            if result is not None:
                assert result.errors, (path, item.frame)


def test_every_corpus_ikev1_capture_feeds_without_an_exception_with_derivable_and_unbound_keys() -> None:
    captures = [p for p in sorted(CORPUS.rglob("*")) if p.suffix in (".pcap", ".pcapng", ".cap")]
    dh_only = Ikev1Keys(b"", b"", "dh.log:1", dh_secret=bytes(range(256)))
    skeyid_e = Ikev1Keys(b"", b"", "e.log:1", skeyid_e=bytes(20))
    plain = Ikev1Keys(b"", bytes(16), "other.log:1")
    for path in captures:
        decryptor = Ikev1Decryptor()
        for item in read_capture(str(path), CaptureStats()):
            if not isinstance(item, IkeDatagram):
                continue
            message = parse_message(item.data)
            cookie = message.header.spi_i
            bound = Ikev1Keys(cookie, b"", "bound.log:1", dh_secret=bytes(128))
            result = decryptor.feed(item.data, message, [bound], sender=item.src,
                                    unbound=[dh_only, skeyid_e, plain], psks=[b"a", b"b"])
            if result is not None:
                assert not result.readable and result.bound is None and result.errors, (path, item.frame)


# --- keys derived from less than a key (RFC 2409 section 5, Appendix B) ----------------------------------------


def test_encryption_key_is_skeyid_e_cut_or_expanded_as_appendix_b_says() -> None:
    import hmac

    skeyid_e = bytes(range(20))                                  # an HMAC-SHA1 output
    assert encryption_key_from_skeyid_e("sha1", skeyid_e, 16) == skeyid_e[:16]
    k1 = hmac.new(skeyid_e, b"\x00", "sha1").digest()
    k2 = hmac.new(skeyid_e, k1, "sha1").digest()
    assert encryption_key_from_skeyid_e("sha1", skeyid_e, 24) == (k1 + k2)[:24]   # 3DES with SHA-1
    md5_e = bytes(16)
    m1 = hmac.new(md5_e, b"\x00", "md5").digest()
    m2 = hmac.new(md5_e, m1, "md5").digest()
    assert encryption_key_from_skeyid_e("md5", md5_e, 32) == m1 + m2                # AES-256 with MD5


def test_skeyid_depends_on_the_authentication_method() -> None:
    import hashlib
    import hmac

    ni, nr, cky_i, cky_r, gxy = b"\x01" * 16, b"\x02" * 16, b"\x03" * 8, b"\x04" * 8, b"\x05" * 256
    assert skeyid(1, "sha256", ni, nr, cky_i, cky_r, gxy, b"psk") == hmac.new(b"psk", ni + nr, "sha256").digest()
    assert skeyid(65001, "sha256", ni, nr, cky_i, cky_r, gxy, None) is None           # XAUTH PSK needs the PSK
    assert skeyid(3, "sha256", ni, nr, cky_i, cky_r, gxy, None) == hmac.new(ni + nr, gxy, "sha256").digest()
    assert skeyid(4, "sha1", ni, nr, cky_i, cky_r, None, None) == hmac.new(
        hashlib.sha1(ni + nr).digest(), cky_i + cky_r, "sha1").digest()
    assert skeyid(64999, "sha1", ni, nr, cky_i, cky_r, gxy, b"psk") is None          # unknown method


def test_derive_phase1_gives_the_lab_logs_skeyid_chain_from_skeyid_and_the_dh_secret() -> None:
    logged = next(iter(load_key_file(str(PCAPS / "ikev1-main.moon.charon.log")).ikev1.values()))
    assert logged.skeyid and logged.dh_secret and logged.spi_r
    derived = derive_phase1("sha256", logged.skeyid, logged.dh_secret, logged.spi_i, logged.spi_r, 16)
    assert (derived.skeyid_d, derived.skeyid_a, derived.skeyid_e, derived.encryption_key) == (
        logged.skeyid_d, logged.skeyid_a, logged.skeyid_e, logged.encryption_key)
    assert "encryption key" in repr(derived) and logged.encryption_key.hex() not in repr(derived)


@pytest.mark.parametrize("kept", ["skeyid_e", "skeyid"])
def test_a_logged_skeyid_e_or_skeyid_with_the_dh_secret_decrypts_without_a_psk(kept: str) -> None:
    import dataclasses

    scenario = "ikev1-main"
    logged = next(iter(load_key_file(str(PCAPS / f"{scenario}.moon.charon.log")).ikev1.values()))
    partial = dataclasses.replace(logged, encryption_key=b"", skeyid_e=logged.skeyid_e if kept == "skeyid_e" else None,
                                  skeyid=logged.skeyid if kept == "skeyid" else None)
    assert partial.derivable
    store = KeyStore()
    store.add_ikev1(partial)
    fed = feed_capture(PCAPS / f"{scenario}.pcap", store)
    assert fed and all(one.result and one.result.readable for one in fed)
    assert fed[0].result and fed[0].result.keys and fed[0].result.keys.encryption_key == logged.encryption_key


def test_a_derivable_key_without_the_sa_choice_says_what_is_missing() -> None:
    scenario = "ikev1-main"
    logged = next(iter(load_key_file(str(PCAPS / f"{scenario}.moon.charon.log")).ikev1.values()))
    store = KeyStore()
    store.add_ikev1(Ikev1Keys(logged.spi_i, b"", "dh.log:1", dh_secret=logged.dh_secret))
    decryptor = Ikev1Decryptor()
    results = []
    for item in read_capture(str(PCAPS / f"{scenario}.pcap"), CaptureStats()):
        if isinstance(item, IkeDatagram) and item.frame not in (1, 2):  # no SA offer, no SA choice
            message = parse_message(item.data)
            results.append(decryptor.feed(item.data, message, store.ikev1_candidates(message.header.spi_i),
                                          sender=item.src, psks=[b"whatever"]))
    errors = [error for result in results if result for error in result.errors]
    assert errors and any("phase-1 SA choice (cipher and hash) was not captured" in e for e in errors)
    assert not any(result and result.readable for result in results)


def test_an_unbound_key_set_is_reported_for_binding_and_failed_trials_leave_no_reading() -> None:
    import dataclasses

    scenario = "ikev1-main"
    right = next(iter(load_key_file(str(PCAPS / f"{scenario}.moon.charon.log")).ikev1.values()))
    unbound = dataclasses.replace(right, spi_i=b"")
    other = Ikev1Keys(b"", bytes(16), "other.log:1")
    decryptor = Ikev1Decryptor()
    bound = []
    for item in read_capture(str(PCAPS / f"{scenario}.pcap"), CaptureStats()):
        if isinstance(item, IkeDatagram):
            message = parse_message(item.data)
            result = decryptor.feed(item.data, message, [], sender=item.src, unbound=[other, unbound])
            if result is not None:
                assert result.readable and result.bound is unbound and result.keys is unbound
                bound.append(item.frame)
    assert bound == [5, 6, 7, 8, 9]
    header = parse_message(next(i.data for i in read_capture(str(PCAPS / f"{scenario}.pcap"), CaptureStats())
                                if isinstance(i, IkeDatagram) and i.frame == 5)).header
    readings = decryptor.readings(header.spi_i, header.spi_r)
    assert {r.keys for r in readings} == {unbound} and sum(r.read for r in readings) == 5
