"""Key material: Wireshark tables, charon logs and tcpdump secrets load into one KeyStore, bad files don't.

* every key table of the lab (pcaps/) and of the shared corpus parses, with Wireshark 4.x's exact strings;
* for every lab scenario, the keys read from moon's charon log are exactly those of the scenario's table
  (the lab wrote the table from that log), and sun's agree wherever sun derived keys -- except in the
  scenarios labelled ``keys_differ`` (an IKEv1 PSK mismatch: the PSK goes into SKEYID, so each side
  holds its own key for the same cookie);
* export_tables round-trips, and tshark accepts what it writes;
* a broken file gives one line naming file, line and problem -- and never a key.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ikesniff.crypto.keys import (
    ENCRYPTION_ALGORITHMS,
    INTEGRITY_ALGORITHMS,
    Ikev1Keys,
    Ikev2Keys,
    KeyFileError,
    KeyStore,
    export_tables,
    load_key_file,
    parse_keys,
)

REPO = Path(__file__).resolve().parents[1]
PCAPS = REPO / "pcaps"
CORPUS = REPO.parent / "shared" / "corpus" / "external"

LAB_TABLES = sorted(PCAPS.glob("*.ikev[12]_decryption_table"))
CORPUS_TABLES = sorted(CORPUS.rglob("*decryption_table")) if CORPUS.is_dir() else []
SCENARIOS = sorted(path.name.removesuffix(".json") for path in PCAPS.glob("*.json"))

# one healthy lab row, reused by the broken-file variants below
SPI_I, SPI_R = "53ac235029b44717", "5bd3c00524365d6d"
SK_EI, SK_ER = "5e423c1f91f8bba85a17c3e730b264c7", "629932c187a79e57d6906f1ae0e0ed72"
SK_AI = "15626368495f2dea82139714a828f8e35df306631af34dd2d36fd71ba8dbc5ce"
SK_AR = "a6ab3b043f9e5eb55f6502b93a14a0fdae03552c517fbbd2ce659972e50e3bfa"
CBC, SHA256 = '"AES-CBC-128 [RFC3602]"', '"HMAC_SHA2_256_128 [RFC4868]"'
V2_ROW = f"{SPI_I},{SPI_R},{SK_EI},{SK_ER},{CBC},{SK_AI},{SK_AR},{SHA256}"
V1_ROW = "d4e28f967f934bc6,2eda888149fc7756bd31aa75e6e4ab44"
ALL_KEYS = (SK_EI, SK_ER, SK_AI, SK_AR, V1_ROW.split(",")[1])


def _label(scenario: str) -> dict[str, object]:
    return json.loads((PCAPS / f"{scenario}.json").read_text())


def _table_store(scenario: str) -> KeyStore | None:
    tables = [path for kind in ("ikev2", "ikev1") if (path := PCAPS / f"{scenario}.{kind}_decryption_table").exists()]
    if not tables:
        return None
    store = KeyStore()
    for path in tables:
        store.add(load_key_file(str(path)))
    return store


def _log_store(scenario: str, side: str) -> KeyStore:
    path = PCAPS / f"{scenario}.{side}.charon.log"
    if not path.stat().st_size:
        return KeyStore()  # a daemon that never ran (ikev2-not-listening's sun)
    return load_key_file(str(path))


def _material(store: KeyStore) -> tuple[dict[object, object], dict[object, object]]:
    v2 = {index: (k.encryption, k.sk_ei, k.sk_er, k.integrity, k.sk_ai, k.sk_ar) for index, k in store.ikev2.items()}
    v1 = {cookie: k.encryption_key for cookie, k in store.ikev1.items()}
    return v2, v1


# --- every key table parses ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", LAB_TABLES + CORPUS_TABLES, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_every_lab_and_corpus_key_table_parses(path: Path) -> None:
    store = load_key_file(str(path))
    rows = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert len(store) == len(rows)
    for keys in store.ikev2.values():
        assert keys.encryption in ENCRYPTION_ALGORITHMS and keys.integrity in INTEGRITY_ALGORITHMS
        assert len(keys.sk_ei) == keys.encryption_algorithm.key_octets
        assert re.fullmatch(rf"{re.escape(str(path))}:\d+", keys.source)
    kind = "ikev2" if "ikev2" in path.name else "ikev1"
    assert len(getattr(store, kind)) == len(rows)


def test_corpus_key_tables_are_all_found() -> None:
    if not CORPUS.is_dir():
        pytest.skip("shared corpus not present")
    assert len(CORPUS_TABLES) == 4


def test_wireshark_wiki_table_holds_gcm_ctr_and_cbc_with_salted_keys() -> None:
    path = CORPUS / "wireshark-wiki" / "ipsec_ikev2+esp_aes-gcm_aes-ctr_aes-cbc" / "ikev2_decryption_table"
    if not path.exists():
        pytest.skip("shared corpus not present")
    gcm, ctr, cbc = load_key_file(str(path)).ikev2.values()
    assert gcm.encryption_algorithm.aead and gcm.encryption_algorithm.icv_octets == 16
    assert len(gcm.sk_ei) == 36 and gcm.integrity == "NONE [RFC4306]" and gcm.sk_ai == b""
    assert ctr.encryption == "AES-CTR-256 [RFC5930]" and ctr.encryption_algorithm.salt_octets == 4
    assert cbc.encryption == "AES-CBC-256 [RFC3602]" and cbc.integrity_algorithm.icv_octets == 16


def test_tcpdump_secrets_give_the_same_keys_as_the_table_derived_from_them() -> None:
    secrets = CORPUS / "tcpdump" / "ikev2pI2-secrets.txt"
    if not secrets.exists():
        pytest.skip("shared corpus not present")
    from_secrets = load_key_file(str(secrets))
    from_table = load_key_file(str(CORPUS / "tcpdump" / "ikev2pI2.ikev2_decryption_table"))
    assert _material(from_secrets) == _material(from_table)
    (keys,) = from_secrets.ikev2.values()
    assert keys.integrity == "HMAC_SHA1_96 [RFC2404]" and keys.source.endswith("ikev2pI2-secrets.txt:1")


def test_pluto_debug_key_lines_are_read_behind_their_prefix() -> None:
    text = ("| ikev2 parent SA details\n"
            f"| ikev2 I 0x{SPI_I} 0x{SPI_R} sha256:0x{SK_AI} aes128:0x{SK_EI}\n"
            f"| ikev2 R 0x{SPI_I} 0x{SPI_R} sha256:0x{SK_AR} aes128:0x{SK_ER}\n")
    store = parse_keys(text, "pluto.log")
    assert _material(store) == _material(parse_keys(V2_ROW, "t"))


def test_libreswan_key_lines_without_keys_are_explained() -> None:
    text = f"| ikev2 I 0x{SPI_I} 0x{SPI_R} sha256 aes128\n| ikev2 R 0x{SPI_I} 0x{SPI_R} sha256 aes128\n"
    with pytest.raises(KeyFileError, match=r"^pluto.log:1: 'ikev2 I\|R' lines without keys"):
        parse_keys(text, "pluto.log")


def test_every_wireshark_algorithm_string_round_trips_through_a_table() -> None:
    for encryption, algorithm in ENCRYPTION_ALGORITHMS.items():
        integrity = "NONE [RFC4306]" if algorithm.aead else "HMAC_SHA1_96 [RFC2404]"
        auth_key = "" if algorithm.aead else "aa" * 20
        row = (f"{SPI_I},{SPI_R},{'11' * algorithm.key_octets},{'22' * algorithm.key_octets},"
               f'"{encryption}",{auth_key},{auth_key},"{integrity}"')
        (keys,) = parse_keys(row, "t").ikev2.values()
        assert keys.encryption == encryption
    for integrity, mac in INTEGRITY_ALGORITHMS.items():
        row = f'{SPI_I},{SPI_R},{SK_EI},{SK_ER},{CBC},{"33" * mac.key_octets},{"44" * mac.key_octets},"{integrity}"'
        (keys,) = parse_keys(row, "t").ikev2.values()
        assert keys.integrity == integrity and keys.integrity_algorithm.key_octets == mac.key_octets


# --- charon logs against the lab's tables -------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_moon_charon_log_gives_exactly_the_scenario_key_table(scenario: str) -> None:
    table = _table_store(scenario)
    moon = _log_store(scenario, "moon")
    if table is None:  # no SA got its keys: the lab wrote no table, and the log holds none either
        assert not moon and moon.notes
        return
    assert _material(moon) == _material(table)
    for keys in moon.ikev2.values():
        assert keys.sk_pi and keys.sk_pr and keys.sk_d and keys.dh_secret  # the extras a log adds
        assert re.fullmatch(rf".*{scenario}\.moon\.charon\.log:\d+", keys.source)
    for v1 in moon.ikev1.values():
        assert v1.skeyid_e and v1.dh_secret and v1.skeyid and v1.skeyid_a
        # the responder cookie comes from charon's checkin lines, which an aggressive mode aborted at
        # message 2 (HASH_R does not verify) never writes
        assert v1.spi_r or scenario == "ikev1-aggressive-psk-mismatch"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_sun_charon_log_agrees_with_the_table_unless_the_peers_derived_different_keys(scenario: str) -> None:
    table = _table_store(scenario)
    sun = _log_store(scenario, "sun")
    if table is None:
        assert not sun
        return
    table_v2, table_v1 = _material(table)
    sun_v2, sun_v1 = _material(sun)
    # a responder that never saw IKE_AUTH never derived its keys: sun may hold fewer SAs, never others
    assert set(sun_v2) <= set(table_v2) and set(sun_v1) <= set(table_v1)
    expected: dict[str, object] = _label(scenario).get("expected", {})  # type: ignore[assignment]
    if expected.get("keys_differ"):
        assert sun_v1 and all(sun_v1[cookie] != table_v1[cookie] for cookie in sun_v1)
    else:
        assert all(sun_v2[index] == table_v2[index] for index in sun_v2)
        assert all(sun_v1[cookie] == table_v1[cookie] for cookie in sun_v1)


def test_both_peers_of_an_ikev1_psk_mismatch_are_kept_the_first_one_preferred() -> None:
    scenario = "ikev1-main-psk-mismatch"
    store = _log_store(scenario, "moon")
    store.add(_log_store(scenario, "sun"))
    (cookie,) = store.ikev1
    moon, sun = store.ikev1_candidates(cookie)
    assert store.ikev1_for(cookie) is moon and moon.source.endswith(".moon.charon.log:" + moon.source.split(":")[-1])
    assert sun.source.split(":")[0].endswith(".sun.charon.log") and moon.encryption_key != sun.encryption_key
    assert "other key in" in export_tables(store)["ikev1_decryption_table"]


def test_rekeyed_ike_sa_keys_go_to_the_new_spis_on_both_sides() -> None:
    table = _table_store("ikev2-rekey-ike")
    assert table is not None and len(table.ikev2) == 2
    for side in ("moon", "sun"):
        assert _material(_log_store("ikev2-rekey-ike", side)) == _material(table)


def test_log_and_table_merge_keeps_one_entry_with_the_log_extras() -> None:
    scenario = "ikev2-psk"
    table = _table_store(scenario)
    assert table is not None
    table.add(_log_store(scenario, "moon"))
    (keys,) = table.ikev2.values()
    assert keys.source.endswith(".ikev2_decryption_table:2") and keys.sk_pi is not None
    assert not table.ikev2_alternatives
    assert table.ikev2_for(keys.spi_i, keys.spi_r) is keys and table.ikev2_for(keys.spi_r, keys.spi_i) is None


def test_charon_log_without_keys_is_an_empty_store_with_a_note() -> None:
    store = load_key_file(str(PCAPS / "ikev1-no-response.moon.charon.log"))
    assert not store and len(store.notes) == 1 and "no IKE keys" in store.notes[0]


def test_charon_log_sa_with_a_cipher_ikesniff_lacks_is_left_out_with_a_note_naming_the_proposal() -> None:
    lines = (PCAPS / "ikev2-psk.moon.charon.log").read_text().splitlines()
    number = next(i for i, line in enumerate(lines, 1) if "selected proposal: IKE:" in line)
    lines[number - 1] = lines[number - 1].replace("AES_CBC_128", "CAMELLIA_CBC_128")
    store = parse_keys("\n".join(lines), "moon.log")
    assert not store and store.notes == [
        (f"moon.log:{number}: the IKE SA negotiated CAMELLIA_CBC_128, which ikesniff cannot decrypt; its keys are "
        "left out")]


def test_charon_log_appended_across_daemon_restarts_keeps_each_run_s_sas_apart() -> None:
    first = (PCAPS / "ikev2-psk.moon.charon.log").read_text()
    second = (PCAPS / "ikev2-delete.moon.charon.log").read_text()  # unique ids start at 1 again
    store = parse_keys(first + second, "charon.log")
    expected = KeyStore()
    for scenario in ("ikev2-psk", "ikev2-delete"):
        expected.add(_table_store(scenario) or KeyStore())
    assert _material(store) == _material(expected) and len(store.ikev2) == 2


def test_charon_log_cut_in_the_middle_of_a_key_dump_leaves_that_sa_out_with_a_note() -> None:
    lines = (PCAPS / "ikev2-psk.moon.charon.log").read_text().splitlines()
    number = next(i for i, line in enumerate(lines, 1) if "Sk_ei secret =>" in line)
    store = parse_keys("\n".join(lines[:number]), "moon.log")
    assert not store.ikev2 and any(note.startswith(f"moon.log:{number}: Sk_ei secret is cut short")
                                   for note in store.notes)


def test_charon_dumps_of_other_threads_interleaved_do_not_corrupt_a_key() -> None:
    lines = (PCAPS / "ikev2-psk.moon.charon.log").read_text().splitlines()
    number = next(i for i, line in enumerate(lines, 1) if "Sk_ai secret =>" in line)
    intruder = "Nov 22 17:59:50.269 07[IKE] <lab|1>    0: FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF  ................"
    lines.insert(number, intruder)
    assert _material(parse_keys("\n".join(lines), "moon.log")) == _material(_table_store("ikev2-psk") or KeyStore())


def test_charon_log_never_keeps_the_pre_shared_key_dump() -> None:
    text = (PCAPS / "ikev2-psk.moon.charon.log").read_text()
    assert "secret => 27 bytes" in text  # charon dumps the PSK itself at ike 4
    (keys,) = parse_keys(text, "moon.log").ikev2.values()
    held = {len(value) for value in (keys.sk_ei, keys.sk_ai, keys.sk_pi, keys.sk_d, keys.dh_secret) if value}
    assert 27 not in held


# --- export ---------------------------------------------------------------------------------------------------


def _every_lab_key() -> KeyStore:
    store = KeyStore()
    for path in LAB_TABLES:
        store.add(load_key_file(str(path)))
    return store


def test_export_tables_round_trips() -> None:
    store = _every_lab_key()
    wiki = CORPUS / "wireshark-wiki" / "ipsec_ikev2+esp_aes-gcm_aes-ctr_aes-cbc" / "ikev2_decryption_table"
    if wiki.exists():
        store.add(load_key_file(str(wiki)))
    tables = export_tables(store)
    assert set(tables) == {"ikev2_decryption_table", "ikev1_decryption_table"}
    again = KeyStore()
    for name, text in tables.items():
        again.add(parse_keys(text, name))
    assert _material(again) == _material(store)
    assert list(again.ikev2) == list(store.ikev2)


def test_export_writes_bare_hex_and_quoted_algorithm_strings() -> None:
    row = export_tables(parse_keys(V2_ROW, "t"))["ikev2_decryption_table"].splitlines()[-1]
    assert row == V2_ROW


def test_export_leaves_algorithms_wireshark_lacks_as_a_comment_without_keys() -> None:
    row = f'{SPI_I},{SPI_R},{"11" * 36},{"22" * 36},"ChaCha20-Poly1305 [RFC7634]",,,"NONE [RFC4306]"'
    store = parse_keys(row, "t")
    assert store.ikev2_for(bytes.fromhex(SPI_I), bytes.fromhex(SPI_R)) is not None
    text = export_tables(store)["ikev2_decryption_table"]
    assert "Wireshark 4.x cannot decrypt ChaCha20-Poly1305" in text and "1111" not in text


@pytest.mark.oracle
def test_tshark_decrypts_the_wiki_capture_with_the_exported_table(tmp_path: Path) -> None:
    capture = CORPUS / "wireshark-wiki" / "ipsec_ikev2+esp_aes-gcm_aes-ctr_aes-cbc" / "capture.pcapng"
    if not shutil.which("tshark") or not capture.exists():
        pytest.skip("needs tshark and the shared corpus")
    store = load_key_file(str(capture.parent / "ikev2_decryption_table"))
    (tmp_path / "ikev2_decryption_table").write_text(export_tables(store)["ikev2_decryption_table"])
    result = subprocess.run(
        ["tshark", "-n", "-r", str(capture), "-Y", "isakmp.enc.decrypted", "-T", "fields", "-e", "frame.number"],
        env={"WIRESHARK_CONFIG_DIR": str(tmp_path), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0 and "ikev2_decryption_table" not in result.stderr
    manifest = json.loads((CORPUS / "MANIFEST.json").read_text())
    (entry,) = [e for e in manifest if e.get("file") == str(capture.relative_to(CORPUS))]
    assert len(result.stdout.split()) == entry["encrypted_messages"] == 24


# --- broken files ---------------------------------------------------------------------------------------------

BROKEN = [
    # (file name, text, expected error: exactly this one line)
    ("keys.ikev2_decryption_table", f"{SPI_I},{SPI_R},{SK_EI},{SK_ER},{CBC},{SK_AI},{SK_AR}",
     ("keys.ikev2_decryption_table:1: 7 fields, an ikev2_decryption_table row has 8 (spi_i, spi_r, SK_ei, "
     "SK_er, encryption algorithm, SK_ai, SK_ar, integrity algorithm)")),
    ("keys.txt", f"# comment\n\n{V2_ROW}\n" + V2_ROW.replace(SK_EI, SK_EI[:-2]),
     "keys.txt:4: SK_ei has 15 octets, AES-CBC-128 needs 16"),
    ("keys.txt", V2_ROW.replace(SK_EI, "zz" + SK_EI[2:]),
     "keys.txt:1: SK_ei is not hexadecimal (character 1 of 32 is not a hex digit)"),
    ("keys.txt", V2_ROW.replace(SK_ER, SK_ER[:-1]), "keys.txt:1: SK_er has an odd number of hex digits (31)"),
    ("keys.txt", V2_ROW.replace("RFC3602", "RFC3603"),
     'keys.txt:1: unknown encryption algorithm "AES-CBC-128 [RFC3603]"; did you mean "AES-CBC-128 [RFC3602]"?'),
    ("keys.txt", V2_ROW.replace(CBC, '"AES_CBC_128"'),
     'keys.txt:1: unknown encryption algorithm "AES_CBC_128"; did you mean "AES-CBC-128 [RFC3602]"?'),
    ("keys.txt", V2_ROW.replace(CBC, '"aes-cbc-128 [rfc3602]"'),
     'keys.txt:1: unknown encryption algorithm "aes-cbc-128 [rfc3602]"; did you mean "AES-CBC-128 [RFC3602]"?'),
    ("keys.txt", (f'{SPI_I},{SPI_R},{"11" * 36},{"22" * 36},"AES-GCM with 16 octet ICV [RFC4106]",,,'
                 '"NONE [RFC4306]"'),
     ('keys.txt:1: unknown encryption algorithm "AES-GCM with 16 octet ICV [RFC4106]"; did you mean '
     '"AES-GCM-256 with 16 octet ICV [RFC5282]"?')),
    ("keys.txt", f'{SPI_I},{SPI_R},{"11" * 20},{"22" * 20},"aes128gcm16",,,"NONE [RFC4306]"',
     ('keys.txt:1: unknown encryption algorithm "aes128gcm16"; did you mean '
     '"AES-GCM-128 with 16 octet ICV [RFC5282]"?')),
    ("keys.txt", V2_ROW.replace(SHA256, '"HMAC_SHA2_256_128"'),
     'keys.txt:1: unknown integrity algorithm "HMAC_SHA2_256_128"; did you mean "HMAC_SHA2_256_128 [RFC4868]"?'),
    ("keys.txt", V2_ROW.replace(CBC, SHA256),
     'keys.txt:1: "HMAC_SHA2_256_128 [RFC4868]" is an integrity algorithm, found in the encryption column'),
    ("keys.txt", V2_ROW.replace(SK_AR, SK_AR[:40]),
     "keys.txt:1: SK_ar has 20 octets, HMAC_SHA2_256_128 needs 32"),
    ("keys.txt", V2_ROW.replace(SPI_I, SPI_I[:14]), "keys.txt:1: spi_i has 7 octets, an IKE SPI has 8"),
    ("keys.txt", (f'{SPI_I},{SPI_R},{"11" * 20},{"22" * 20},"AES-GCM-128 with 16 octet ICV [RFC5282]",'
                 f"{SK_AI},{SK_AR},{SHA256}"),
     ('keys.txt:1: AES-GCM-128 with 16 octet ICV is an AEAD cipher: the integrity algorithm must be '
     '"NONE [RFC4306]"')),
    ("keys.txt", (f'{SPI_I},{SPI_R},{"11" * 16},{"22" * 16},"AES-GCM-128 with 16 octet ICV [RFC5282]",,,'
                 '"NONE [RFC4306]"'),
     "keys.txt:1: SK_ei has 16 octets, AES-GCM-128 with 16 octet ICV needs 20 (16 key + 4 salt)"),
    ("keys.txt", f'{SPI_I},{SPI_R},{SK_EI},{SK_ER},"NULL [RFC2410]",{SK_AI},{SK_AR},"NONE [RFC4306]"',
     "keys.txt:1: SK_ei has 16 octets, NULL needs 0"),
    ("keys.txt", V2_ROW.replace(SHA256, '"NONE [RFC4306]"'),
     "keys.txt:1: SK_ai has 32 octets, NONE takes no key (leave it empty)"),
    ("keys.txt", V2_ROW.replace(SHA256, '"HMAC_SHA2_256_128 [RFC4868]'), "keys.txt:1: a quoted field is not closed"),
    ("x.ikev1_decryption_table", f"# header\n{V1_ROW}\n{V1_ROW},extra",
     "x.ikev1_decryption_table:3: 3 fields, an ikev1_decryption_table row has 2 (initiator cookie, encryption key)"),
    ("keys.txt", V1_ROW.replace("d4e28f967f934bc6", "d4e28f967f934b"),
     "keys.txt:1: initiator cookie has 7 octets, a cookie has 8"),
    ("keys.txt", V1_ROW[:-2],
     ("keys.txt:1: encryption key has 15 octets; IKEv1 keys have 8 (DES), 16 (AES-128), 24 (3DES, AES-192) "
     "or 32 (AES-256)")),
    ("keys.txt", "", "keys.txt:1: no key material: the file is empty or holds only comments"),
    ("keys.txt", "a,b,c", ("keys.txt:1: not a key file ikesniff knows: 3 comma-separated fields, expected an "
     "ikev2_decryption_table (8), an ikev1_decryption_table (2), 'ikev2 I|R' secrets or a charon log at ike 4")),
    ("secrets.txt", "0x12345678@192.1.2.45 3des-cbc-hmac96:0x4343454546464949",
     ("secrets.txt:1: an ESP secret (tcpdump -E spi@address algorithm:key): ikesniff needs IKE keys "
     "('ikev2 I|R' lines, Wireshark IKE tables or a charon log)")),
    ("secrets.txt", f"ikev2 I 0x{SPI_I} 0x{SPI_R} sha256:0x{SK_AI} aes128:0x{SK_EI}",
     ("secrets.txt:1: an 'ikev2 I' line without the 'ikev2 R' line of the same SPIs (each side's keys are on a "
     "line of their own)")),
    ("secrets.txt", f"ikev2 I 0x{SPI_I} 0x{SPI_R} sha256:0x{SK_AI} serpent128:0x{SK_EI}",
     ('secrets.txt:1: unknown encryption algorithm "serpent128" (names such as aes128, aes256, 3des, '
      "aes_ctr128, aes_gcm_16256, chacha20_poly1305, null)")),
]


@pytest.mark.parametrize(("name", "text", "expected"), BROKEN, ids=[f"{i:02d}" for i in range(len(BROKEN))])
def test_bad_key_file_gives_one_line_naming_file_line_and_problem(name: str, text: str, expected: str) -> None:
    with pytest.raises(KeyFileError) as error:
        parse_keys(text, name)
    message = str(error.value)
    assert message == expected
    assert "\n" not in message
    for key in ALL_KEYS:  # not a key, nor any 8-digit piece of one
        assert not any(key[i:i + 8] in message for i in range(len(key) - 7))


def test_load_key_file_reads_gzip(tmp_path: Path) -> None:
    path = tmp_path / "keys.ikev2_decryption_table.gz"
    path.write_bytes(gzip.compress(V2_ROW.encode()))
    assert _material(load_key_file(str(path))) == _material(parse_keys(V2_ROW, "t"))


@pytest.mark.parametrize(("content", "expected"), [
    (None, "cannot read: No such file or directory"),
    (b"\x1f\x8bnot gzip at all", "not readable as gzip"),
    (b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00" + bytes(16), "a binary file, not a key file (is it a capture?)"),
])
def test_unreadable_key_file_is_a_key_file_error(tmp_path: Path, content: bytes | None, expected: str) -> None:
    path = tmp_path / "keys"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(KeyFileError) as error:
        load_key_file(str(path))
    assert str(error.value).startswith(f"{path}: {expected}")


def test_key_records_do_not_show_their_keys_in_repr() -> None:
    store = parse_keys(V2_ROW, "t")
    store.add(parse_keys(V1_ROW, "u"))
    shown = repr(store) + repr(list(store.ikev2.values())) + repr(list(store.ikev1.values()))
    assert not any(key in shown for key in ALL_KEYS)
    assert isinstance(store.ikev1_for(bytes.fromhex(V1_ROW[:16])), Ikev1Keys)
    assert isinstance(store.ikev2_for(bytes.fromhex(SPI_I), bytes.fromhex(SPI_R)), Ikev2Keys)



# --- key sets a log ties to no SA, and keys derived at decryption time ------------------------------------------


def _log_without(scenario: str, *patterns: str) -> str:
    lines = (PCAPS / f"{scenario}.moon.charon.log").read_text().splitlines()
    return "\n".join(line for line in lines if not any(re.search(pattern, line) for pattern in patterns))


def test_charon_log_without_spi_lines_keeps_its_key_sets_unbound_with_a_note() -> None:
    store = parse_keys(_log_without("ikev2-psk", r"with SPIs"), "moon.log")
    assert not store.ikev2 and len(store) == 1
    (keys,) = store.unbound_ikev2
    assert (keys.spi_i, keys.spi_r) == (b"", b"") and keys.sk_pi is not None
    assert any("1 key set(s) the log ties to no SPIs" in note for note in store.notes)
    v1 = parse_keys(_log_without("ikev1-main", r"with SPIs"), "moon.log")
    assert not v1.ikev1 and len(v1.unbound_ikev1) == 1 and not v1.unbound_ikev1[0].derivable


def test_binding_files_an_unbound_key_set_under_its_sa_once() -> None:
    from ikesniff.crypto.keys import UNBOUND_TRIES

    table = _table_store("ikev2-psk")
    assert table is not None
    ((spi_i, spi_r), keys), = table.ikev2.items()
    store = parse_keys(_log_without("ikev2-psk", r"with SPIs"), "moon.log")
    (unbound,) = store.unbound_ikev2
    assert store.ikev2_unbound_for(spi_i, spi_r) == [unbound]
    bound = store.bind_ikev2(unbound, spi_i, spi_r)
    assert store.ikev2_for(spi_i, spi_r) is bound and bound.same_keys(keys) and not store.unbound_ikev2
    other = parse_keys(_log_without("ikev2-delete", r"with SPIs"), "other.log")
    for _ in range(UNBOUND_TRIES):
        assert other.ikev2_unbound_for(spi_i, spi_r)
        other.unbound_missed(spi_i, spi_r)
    assert other.ikev2_unbound_for(spi_i, spi_r) == [] and other.ikev2_unbound_for(spi_r, spi_i)
    v1 = parse_keys(_log_without("ikev1-main", r"with SPIs"), "moon.log")
    (key1,) = v1.unbound_ikev1
    v1.bind_ikev1(key1, bytes.fromhex("d4e28f967f934bc6"), bytes.fromhex("792186c466a36b90"))
    assert v1.ikev1_candidates(bytes.fromhex("d4e28f967f934bc6")) == [key1] and not v1.unbound_ikev1


def test_ikev1_log_with_only_the_dh_secret_gives_a_derivable_key_set() -> None:
    (full,) = _log_store("ikev1-main", "moon").ikev1.values()
    # the dump heads of SKEYID, SKEYID_d/a/e and Ka left out: their hex rows, orphaned, are not read
    partial = parse_keys(_log_without("ikev1-main", r"(SKEYID|encryption key Ka)"), "dh.log")
    (keys,) = partial.ikev1.values()
    assert keys.derivable and keys.dh_secret == full.dh_secret and keys.spi_r == full.spi_r
    assert keys.skeyid is None and keys.skeyid_e is None and not keys.same_keys(full)
    tables = export_tables(partial)
    assert "gives only the DH secret" in tables["ikev1_decryption_table"]
    assert full.dh_secret is not None and full.dh_secret.hex() not in tables["ikev1_decryption_table"]


def test_ikev2_keys_without_their_proposal_line_are_left_out_with_a_note() -> None:
    store = parse_keys(_log_without("ikev2-psk", r"selected proposal: IKE:"), "moon.log")
    assert not store and any("without the 'selected proposal' line" in note for note in store.notes)
