"""IKEv2 decryption (ikesniff.decrypt) on real data only.

- The shared corpus captures whose key tables tshark uses (corpus MANIFEST.json): every encrypted
  IKEv2 message tshark 4.0 decrypts decrypts here to the same payload and notify types (the committed
  `*.tshark.decrypted.tsv` dumps), with the ICV verdict tshark gives (tcpdump's ikev2pI2 fails it).
- The lab captures (pcaps/) with their key tables: every encrypted message opens with a verified ICV
  and holds what the label's tshark timeline (`wire.timeline[].inner`, `inner_notifies`) lists,
  RFC 7383 fragments included.
- ChaCha20-Poly1305: the IKEv2 example of RFC 7634 Appendix B. The MACs no capture uses: the RFC test
  vectors (RFC 3566 XCBC, RFC 4493 CMAC, RFC 2202 / RFC 4231 HMAC).
- Damage: a flipped bit, a cut message, wrong or malformed keys give errors and a failing ICV, never
  an exception.

Key tables are read with the product's loader, ikesniff.keys.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from dissectors import Message, parse_message
from dissectors.ikev2 import sk_layout
from ikesniff.capture import CaptureStats, IkeDatagram, read_capture
from ikesniff.decrypt import Decrypted, SkfReassembler, aes_xcbc_mac, compute_icv, decrypt_message
from ikesniff.keys import ENCRYPTION_ALGORITHMS, INTEGRITY_ALGORITHMS, Ikev2Keys, load_key_file

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "external"
PCAPS = REPO / "pcaps"
WIKI = "wireshark-wiki/ipsec_ikev2+esp_aes-gcm_aes-ctr_aes-cbc/capture.pcapng"
FRAGMENTATION = PCAPS / "ikev2-fragmentation.pcap"
LABEL_PAYLOAD_NAMES = {40: "Ni/Nr"}
"""Where the lab labels (lab/wire.py, after tshark) spell a payload otherwise than the dissector."""


def key_table(path: Path) -> dict[tuple[bytes, bytes], Ikev2Keys]:
    return load_key_file(str(path)).ikev2


@dataclass
class Captured:
    frame: int
    data: bytes
    message: Message


def encrypted_ikev2(path: Path) -> list[Captured]:
    """The IKEv2 messages with an SK or SKF payload, in capture order."""
    found = []
    for item in read_capture(str(path), CaptureStats()):
        if isinstance(item, IkeDatagram):
            message = parse_message(item.data)
            if message.version == 2 and message.encrypted:
                found.append(Captured(item.frame, item.data, message))
    return found


def keys_for(table: dict[tuple[bytes, bytes], Ikev2Keys], captured: Captured) -> Ikev2Keys:
    return table[(captured.message.header.spi_i, captured.message.header.spi_r)]


def decrypt(captured: Captured, keys: Ikev2Keys) -> Decrypted:
    result = decrypt_message(captured.data, captured.message, keys)
    assert result is not None
    return result


def wiki_message(frame: int) -> tuple[Captured, Ikev2Keys]:
    table = key_table(CORPUS / WIKI.replace("capture.pcapng", "ikev2_decryption_table"))
    captured = next(c for c in encrypted_ikev2(CORPUS / WIKI) if c.frame == frame)
    return captured, keys_for(table, captured)


# --- the corpus against tshark ---------------------------------------------------------------------

MANIFEST = json.loads((CORPUS / "MANIFEST.json").read_text())
KEYED = [entry for entry in MANIFEST if entry.get("key_table_kind") == "ikev2_decryption_table"]


def tsv_rows(relative: str) -> dict[int, dict[str, str]]:
    lines = (CORPUS / (relative + ".tshark.decrypted.tsv")).read_text().splitlines()
    header = lines[0].split("\t")
    rows = {}
    for line in lines[1:]:
        cells = line.split("\t") + [""] * len(header)
        row = dict(zip(header, cells))
        rows[int(row["frame.number"])] = row
    return rows


def numbers(cell: str, leave_out: tuple[int, ...] = ()) -> list[int]:
    return [int(value) for value in cell.split(",") if value and int(value) not in leave_out]


MALFORMED_INSIDE = {
    # Openswan's "rekeyv2-inval" unit test sends a corrupt Ni on purpose
    "openswan/lp88-rekeyv2-inval-R1/rekeyCI1.pcap":
        ["inside SK: Nonce at offset 264: nonce of 2 octets, outside the 16..256 that RFC 7296 §3.9 allows"],
}


def test_the_corpus_has_the_keyed_ikev2_captures() -> None:
    names = {entry["file"] for entry in KEYED}
    assert WIKI in names and "tcpdump/ikev2pI2.pcap" in names
    assert sum(1 for name in names if name.startswith("openswan/")) == 11


@pytest.mark.parametrize("entry", KEYED, ids=[entry["file"] for entry in KEYED])
def test_every_message_tshark_decrypts_gives_the_same_payloads_notifies_and_icv(entry: dict) -> None:
    table = key_table(CORPUS / entry["key_table"])
    rows = tsv_rows(entry["file"])
    detail = entry["decryption_detail"]
    decrypted = 0
    for captured in encrypted_ikev2(CORPUS / entry["file"]):
        result = decrypt(captured, keys_for(table, captured))
        decrypted += 1
        row = rows[captured.frame]
        outer = captured.message.payloads
        # tshark lists the SA's proposal (2) and transform (3) substructures among the payload types
        assert [p.type for p in outer] + [p.type for p in result.payloads] == \
            numbers(row["isakmp.typepayload"], (2, 3)), captured.frame
        assert [n.notify_type for n in captured.message.notifies] + [n.notify_type for n in result.notifies] == \
            numbers(row["isakmp.notify.msgtype"]), captured.frame
        if captured.frame in detail["frames_with_icv_mismatch"]:
            assert result.icv_ok is False
            assert any(error.startswith("ICV does not verify") for error in result.errors)
        else:
            assert result.icv_ok is True, result.errors
            assert result.errors == MALFORMED_INSIDE.get(entry["file"], [])
    assert decrypted == detail["decrypted_messages"] == detail["encrypted_messages"]


def test_the_wiki_capture_opens_gcm_ctr_and_cbc_with_their_own_keys() -> None:
    table = key_table(CORPUS / WIKI.replace("capture.pcapng", "ikev2_decryption_table"))
    per_cipher: dict[str, int] = {}
    for captured in encrypted_ikev2(CORPUS / WIKI):
        keys = keys_for(table, captured)
        assert decrypt(captured, keys).icv_ok is True
        per_cipher[keys.encryption] = per_cipher.get(keys.encryption, 0) + 1
    assert per_cipher == {"AES-GCM-256 with 16 octet ICV [RFC5282]": 8, "AES-CTR-256 [RFC5930]": 8,
                          "AES-CBC-256 [RFC3602]": 8}


def test_tcpdump_ikev2pi2_fails_its_icv_and_still_shows_its_payloads() -> None:
    entry = next(e for e in KEYED if e["file"] == "tcpdump/ikev2pI2.pcap")
    (captured,) = encrypted_ikev2(CORPUS / entry["file"])
    result = decrypt(captured, keys_for(key_table(CORPUS / entry["key_table"]), captured))
    assert result.icv_ok is False
    assert result.errors == ["ICV does not verify (HMAC_SHA1_96 with SK_ai)"]
    assert [p.name for p in result.payloads] == ["IDi", "AUTH"]
    assert result.payloads[0].value == "west"  # type: ignore[attr-defined]


# --- the lab captures against their labels ----------------------------------------------------------

LAB_TABLES = sorted(PCAPS.glob("*.ikev2_decryption_table"))


def test_the_lab_has_keyed_ikev2_captures() -> None:
    assert len(LAB_TABLES) >= 20
    assert FRAGMENTATION.with_suffix(".ikev2_decryption_table") in LAB_TABLES


@pytest.mark.parametrize("table_path", LAB_TABLES, ids=[path.stem for path in LAB_TABLES])
def test_lab_capture_decrypts_fully_as_its_label_says(table_path: Path) -> None:
    pcap = table_path.with_suffix(".pcap")
    label = json.loads(table_path.with_suffix(".json").read_text())
    timeline = {entry["frame"]: entry for entry in label["wire"]["timeline"] if "exchange" in entry}
    table = key_table(table_path)
    reassembler = SkfReassembler()
    encrypted = encrypted_ikev2(pcap)
    assert [c.frame for c in encrypted] == label["wire"]["decrypted"]["encrypted_frames"]
    for captured in encrypted:
        result = reassembler.feed(captured.data, captured.message, keys_for(table, captured))
        entry = timeline[captured.frame]
        if result is None:                      # a fragment that does not complete its message
            assert entry["inner"] == [] and entry["inner_notifies"] == []
            continue
        assert result.icv_ok is True, (captured.frame, result.errors)
        assert result.errors == [], captured.frame
        names = [LABEL_PAYLOAD_NAMES.get(p.type, p.name) for p in result.payloads]
        assert names == entry["inner"], captured.frame
        assert [n.notify_name for n in result.notifies] == entry["inner_notifies"], captured.frame
    assert reassembler.pending() == []


# --- RFC 7383 fragments --------------------------------------------------------------------------

def fragments() -> tuple[list[Captured], Ikev2Keys]:
    table = key_table(FRAGMENTATION.with_suffix(".ikev2_decryption_table"))
    found = encrypted_ikev2(FRAGMENTATION)
    return found, keys_for(table, found[0])


def test_fragments_reassemble_into_the_ike_auth_exchange() -> None:
    found, keys = fragments()
    reassembler = SkfReassembler()
    done = {c.frame: reassembler.feed(c.data, c.message, keys) for c in found}
    assert [frame for frame, result in done.items() if result is not None] == [7, 12]
    request, response = done[7], done[12]
    assert request is not None and response is not None
    assert [p.name for p in request.payloads][:3] == ["IDi", "CERT", "N"]
    assert [p.name for p in response.payloads][:3] == ["IDr", "CERT", "AUTH"]
    assert [(c.message.payloads[-1].fragment_number, c.message.payloads[-1].total_fragments)  # type: ignore[attr-defined]
            for c in found[:5]] == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]


def test_fragments_in_any_order_and_repeated_give_the_same_message() -> None:
    found, keys = fragments()
    in_order = SkfReassembler()
    expected = [result for c in found[:5] if (result := in_order.feed(c.data, c.message, keys)) is not None]
    shuffled = SkfReassembler()
    order = [found[4], found[1], found[1], found[3], found[0], found[2]]   # fragment 2 twice, 3 last
    results = [shuffled.feed(c.data, c.message, keys) for c in order]
    assert results[:-1] == [None] * 5
    assert results[-1] == expected[0]


def test_missing_fragments_are_bookkept_with_and_without_keys() -> None:
    found, keys = fragments()
    for given in (keys, None):
        reassembler = SkfReassembler()
        for captured in found[:5]:
            if captured.frame != 5:             # fragment 3 of the request never arrives
                assert reassembler.feed(captured.data, captured.message, given) is None
        (pending,) = reassembler.pending()
        assert (pending.spi_i, pending.message_id, pending.got, pending.total) == \
            (found[0].message.header.spi_i, 1, 4, 5)
        assert pending.missing == [3] and pending.initiator and not pending.response
    keyless = SkfReassembler()
    assert [keyless.feed(c.data, c.message, None) for c in found] == [None] * len(found)
    assert keyless.pending() == []


def test_a_damaged_fragment_fails_the_whole_message_and_is_named() -> None:
    found, keys = fragments()
    reassembler = SkfReassembler()
    result = None
    for captured in found[:5]:
        data = captured.data
        if captured.message.payloads[-1].fragment_number == 3:  # type: ignore[attr-defined]
            data = flip(data, len(data) - 40)
        result = reassembler.feed(data, parse_message(data), keys)
    assert result is not None and result.icv_ok is False
    assert result.errors[0] == "fragment 3/5: ICV does not verify (HMAC_SHA2_256_128 with SK_ai)"


def test_decrypt_message_leaves_fragments_to_the_reassembler() -> None:
    found, keys = fragments()
    assert decrypt_message(found[0].data, found[0].message, keys) is None


# --- ChaCha20-Poly1305: RFC 7634 Appendix B --------------------------------------------------------

# The IKEv2 example of RFC 7634 Appendix B (as strongSwan's test_chapoly.c reproduces it): an
# INFORMATIONAL response, message ID 9, holding N(SET_WINDOW_SIZE) with window 10.
RFC7634_MESSAGE = bytes.fromhex(
    "c0c1c2c3c4c5c6c7d0d1d2d3d4d5d6d72e20250000000009000000452900002910111213141516"
    "17610394701f8d017f7c129248896b71bfe25236efd7cdc67066906315b2")
RFC7634_KEY = bytes(range(0x80, 0xa4))    # 32 octets of key, then the salt a0a1a2a3


def rfc7634_keys() -> Ikev2Keys:
    return Ikev2Keys(RFC7634_MESSAGE[:8], RFC7634_MESSAGE[8:16], "ChaCha20-Poly1305 [RFC7634]", RFC7634_KEY,
                     RFC7634_KEY, "NONE [RFC4306]", b"", b"", "RFC 7634 Appendix B")


def test_rfc7634_ikev2_example_decrypts() -> None:
    result = decrypt_message(RFC7634_MESSAGE, parse_message(RFC7634_MESSAGE), rfc7634_keys())
    assert result is not None and result.icv_ok is True and result.errors == []
    (notify,) = result.notifies
    assert (notify.notify_name, notify.data) == ("SET_WINDOW_SIZE", (10).to_bytes(4, "big"))


# --- the MACs no capture uses: RFC test vectors -----------------------------------------------------

RFC3566_KEY = bytes(range(16))


@pytest.mark.parametrize(("length", "mac"), [
    (0, "75f0251d528ac01c4573dfd584d79f29"),
    (3, "5b376580ae2f19afe7219ceef172756f"),
    (16, "d2a246fa349b68a79998a4394ff7a263"),
    (20, "47f51b4564966215b8985c63055ed308"),
    (32, "f54f0ec8d2b9f3d36807734bd5283fd4"),
    (34, "becbb3bccdb518a30677d5481fb6b4d8"),
])
def test_aes_xcbc_mac_gives_the_rfc3566_test_vectors(length: int, mac: str) -> None:
    message = bytes(range(length))
    assert aes_xcbc_mac(RFC3566_KEY, message).hex() == mac
    assert compute_icv("AES_XCBC_96 [RFC3566]", RFC3566_KEY, message).hex() == mac[:24]


@pytest.mark.parametrize(("message", "mac"), [
    ("", "bb1d6929e95937287fa37d129b756746"),
    ("6bc1bee22e409f96e93d7e117393172a", "070a16b46b4d4144f79bdd9dd04a287c"),
])
def test_aes_cmac_96_is_the_rfc4493_mac_cut_to_96_bits(message: str, mac: str) -> None:
    key = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
    assert compute_icv("AES_CMAC_96 [RFC4494]", key, bytes.fromhex(message)).hex() == mac[:24]


@pytest.mark.parametrize(("integrity", "key_octets", "mac"), [
    ("HMAC_MD5_96 [RFC2403]", 16, "9294727a3638bb1c13f48ef8158bfc9d"),                          # RFC 2202
    ("HMAC_SHA1_96 [RFC2404]", 20, "b617318655057264e28bc0b6fb378c8ef146be00"),                 # RFC 2202
    ("HMAC_SHA2_256_128 [RFC4868]", 20,
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),                       # RFC 4231
    ("HMAC_SHA2_384_192 [RFC4868]", 20,
     "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6"),
    ("HMAC_SHA2_512_256 [RFC4868]", 20,
     ("87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4"
      "be9d914eeb61f1702e696c203a126854")),
])
def test_hmac_icvs_are_the_rfc_test_vectors_truncated_as_ikev2_truncates(integrity: str, key_octets: int,
                                                                          mac: str) -> None:
    icv = compute_icv(integrity, b"\x0b" * key_octets, b"Hi There")
    assert icv.hex() == mac[:2 * INTEGRITY_ALGORITHMS[integrity].icv_octets]
    assert len(icv) == {"MD5_96": 12, "SHA1_96": 12, "256_128": 16, "384_192": 24, "512_256": 32}[
        integrity.split(" ")[0].split("HMAC_", 1)[1].replace("SHA2_", "")]


def test_xcbc_and_cmac_refuse_keys_other_than_128_bits() -> None:
    for integrity in ("AES_XCBC_96 [RFC3566]", "AES_CMAC_96 [RFC4494]"):
        with pytest.raises(ValueError, match="16-octet key"):
            compute_icv(integrity, bytes(20), b"")


# --- damage: flipped bits, cut messages, wrong keys ----------------------------------------------------

def flip(data: bytes, position: int, bit: int = 0) -> bytes:
    damaged = bytearray(data)
    damaged[position] ^= 1 << bit
    return bytes(damaged)


def damage_cases() -> list[tuple[str, bytes, Ikev2Keys]]:
    cases = []
    for frame, what in ((14, "AES-GCM-16"), (32, "AES-CTR"), (50, "AES-CBC"), (13, "AES-GCM-16 D")):
        captured, keys = wiki_message(frame)
        cases.append((f"wiki {frame} {what}", captured.data, keys))
    openswan = next(e for e in KEYED if e["file"].startswith("openswan/lp86"))
    (captured,) = encrypted_ikev2(CORPUS / openswan["file"])
    keys = keys_for(key_table(CORPUS / openswan["key_table"]), captured)
    cases.append(("openswan INVALID_MESSAGE_ID", captured.data, keys))
    cases.append(("RFC 7634", RFC7634_MESSAGE, rfc7634_keys()))
    return cases


DAMAGE = damage_cases()
STRUCTURE = {16, 17}
"""Header octets whose change makes the message something else (first payload type, version): the
SK payload is then no longer there to decrypt."""


@pytest.mark.parametrize(("data", "keys"), [case[1:] for case in DAMAGE], ids=[case[0] for case in DAMAGE])
def test_a_flipped_bit_anywhere_fails_the_icv_and_never_raises(data: bytes, keys: Ikev2Keys) -> None:
    clean = decrypt_message(data, parse_message(data), keys)
    assert clean is not None and clean.icv_ok is True and clean.errors == []
    for position in range(len(data)):
        for bit in (0, 7):
            damaged = flip(data, position, bit)
            result = decrypt_message(damaged, parse_message(damaged), keys)
            if result is None:
                assert position in STRUCTURE, (position, bit)
                continue
            assert result.icv_ok is False, (position, bit)
            assert result.errors, (position, bit)


@pytest.mark.parametrize(("data", "keys"), [case[1:] for case in DAMAGE], ids=[case[0] for case in DAMAGE])
def test_a_message_cut_anywhere_gives_errors_not_exceptions(data: bytes, keys: Ikev2Keys) -> None:
    for length in range(len(data)):
        cut = data[:length]
        result = decrypt_message(cut, parse_message(cut), keys)
        if length < 28:
            assert result is None
            continue
        assert result is not None and result.icv_ok is False and result.payloads == [], length
        assert result.errors[0].startswith("SK at offset 28: truncated"), (length, result.errors)


@pytest.mark.parametrize(("data", "keys"), [case[1:] for case in DAMAGE], ids=[case[0] for case in DAMAGE])
def test_an_sk_payload_shorter_than_iv_and_icv_is_reported(data: bytes, keys: Ikev2Keys) -> None:
    for keep in range(24):               # octets of encrypted data kept, lengths made consistent
        short = bytearray(data[:32 + keep])
        short[24:28] = len(short).to_bytes(4, "big")
        short[30:32] = (4 + keep).to_bytes(2, "big")
        message = parse_message(bytes(short))
        result = decrypt_message(bytes(short), message, keys)
        assert result is not None and result.payloads == [] and result.icv_ok is False
        (error,) = result.errors
        assert error.startswith(f"SK at offset 28: {keep} octets of encrypted data, fewer than the "), error
        assert error.endswith(" of IV and 16 of ICV"), error


def test_a_failing_aead_tag_still_shows_what_the_keystream_decrypts() -> None:
    # Only the tag is damaged: the ciphertext still decrypts (GCM through CTR, ChaCha20 alone).
    captured, keys = wiki_message(3)
    clean = decrypt(captured, keys)
    for data, row, expected in ((captured.data, keys, clean.payloads),
                                (RFC7634_MESSAGE, rfc7634_keys(), None)):
        damaged = flip(data, len(data) - 1)
        result = decrypt_message(damaged, parse_message(damaged), row)
        assert result is not None and result.icv_ok is False
        side = "i" if data[19] & 0x08 else "r"
        assert result.errors == [f"ICV does not verify ({row.encryption.split(' [')[0]} with SK_e{side})"]
        if expected is not None:
            assert result.payloads == expected
        else:
            assert [n.notify_name for n in result.notifies] == ["SET_WINDOW_SIZE"]


def test_a_pad_length_beyond_the_plaintext_is_reported() -> None:
    # CTR and CBC are malleable: flipping the top bit of the pad length (the last plaintext octet of an
    # empty INFORMATIONAL) through the ciphertext (CTR) or the IV (CBC, one block) makes it exceed the
    # plaintext; the ICV fails as well.
    for frame, position in ((32, -17), (50, 28 + 4 + 15)):
        captured, keys = wiki_message(frame)
        damaged = flip(captured.data, position if position > 0 else len(captured.data) + position, 7)
        result = decrypt(Captured(frame, damaged, parse_message(damaged)), keys)
        assert result.icv_ok is False and result.payloads == []
        assert result.errors[0] == "ICV does not verify (HMAC_SHA2_256_128 with SK_ar)"
        assert result.errors[1].startswith("SK at offset 28: padding length 1"), result.errors
        assert "exceeds" in result.errors[1]


def test_keys_of_another_sa_or_the_other_direction_fail_the_icv() -> None:
    for frame in (3, 21, 39):                                   # GCM, CTR, CBC IKE_AUTH requests
        captured, keys = wiki_message(frame)
        swapped = dataclasses.replace(keys, sk_ei=keys.sk_er, sk_er=keys.sk_ei, sk_ai=keys.sk_ar,
                                      sk_ar=keys.sk_ai)
        other = wiki_message({3: 21, 21: 39, 39: 3}[frame])[1]
        for wrong in (swapped, dataclasses.replace(other, spi_i=keys.spi_i, spi_r=keys.spi_r)):
            if wrong.encryption != keys.encryption:
                continue                                        # sizes differ: see the next test
            result = decrypt(captured, wrong)
            assert result.icv_ok is False
            assert result.errors[0].startswith("ICV does not verify")


def test_keys_of_the_wrong_size_or_an_unknown_algorithm_are_reported() -> None:
    captured, keys = wiki_message(39)                            # AES-CBC-256, HMAC-SHA2-256-128
    short = decrypt(captured, dataclasses.replace(keys, sk_ei=keys.sk_ei[:16]))
    assert short.icv_ok is True and short.payloads == []
    assert short.errors == ["SK_ei has 16 octets, AES-CBC-256 needs 32"]
    gcm_captured, gcm_keys = wiki_message(3)
    salted = decrypt(gcm_captured, dataclasses.replace(gcm_keys, sk_ei=gcm_keys.sk_ei[:32]))
    assert salted.errors == [("SK_ei has 32 octets, AES-GCM-256 with 16 octet ICV needs 36 "
                              "(32 of key and 4 of salt)")]
    unknown = decrypt(captured, dataclasses.replace(keys, encryption="AES-CBC-256"))
    assert unknown == Decrypted([], None, ["encryption algorithm 'AES-CBC-256' is not supported"])
    unknown = decrypt(captured, dataclasses.replace(keys, integrity="HMAC_SHA2_256_128"))
    assert unknown.errors == ["integrity algorithm 'HMAC_SHA2_256_128' is not supported"]


def test_wiresharks_no_checking_rows_decrypt_without_a_verdict() -> None:
    captured, keys = wiki_message(39)
    checked = decrypt(captured, keys)
    unchecked = decrypt(captured, dataclasses.replace(keys, integrity="ANY 128-bits of Authentication "
                                                                      "[No Checking]"))
    assert unchecked == Decrypted(checked.payloads, None, [])


def test_a_message_without_sk_is_not_decrypted() -> None:
    table = key_table(FRAGMENTATION.with_suffix(".ikev2_decryption_table"))
    for item in read_capture(str(FRAGMENTATION), CaptureStats()):
        if isinstance(item, IkeDatagram):
            message = parse_message(item.data)
            if not message.encrypted:
                keys = next(iter(table.values()))
                assert decrypt_message(item.data, message, keys) is None
                assert SkfReassembler().feed(item.data, message, keys) is None


# --- the key loader's algorithm table and the dissector's SK layout agree ------------------------------

def test_every_algorithm_of_the_key_tables_has_the_iv_and_icv_the_dissector_expects() -> None:
    for name, cipher in ENCRYPTION_ALGORITHMS.items():
        if cipher.aead:
            assert sk_layout(cipher.transform_id, cipher.key_bits, None) == (cipher.iv_octets, cipher.icv_octets)
            continue
        for integrity_name, integrity in INTEGRITY_ALGORITHMS.items():
            if integrity.transform_id is not None:
                layout = sk_layout(cipher.transform_id, cipher.key_bits, integrity.transform_id)
                assert layout == (cipher.iv_octets, integrity.icv_octets), (name, integrity_name)
