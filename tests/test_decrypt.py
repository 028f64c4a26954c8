"""IKEv2 decryption (ikesniff.crypto.decrypt) on real data only.

- The shared corpus captures whose key tables tshark uses (corpus MANIFEST.json): every encrypted
  IKEv2 message tshark 4.0 decrypts decrypts here to the same payload and notify types (the committed
  `*.tshark.decrypted.tsv` dumps), with the ICV verdict tshark gives (tcpdump's ikev2pI2 fails it).
- The lab captures (pcaps/) with their key tables: every encrypted message opens with a verified ICV
  and holds what the label's tshark timeline (`wire.timeline[].inner`, `inner_notifies`) lists,
  RFC 7383 fragments included.
- Every cipher and MAC (3DES, AES-CBC/CTR/GCM/CCM of each size and ICV length, ChaCha20-Poly1305,
  NULL; HMAC-MD5/SHA1/SHA2, AES-XCBC): the Delete that ends an IKE SA of two strongSwan daemons in the
  lab, and its response, embedded below with the keys charon logged.
- ChaCha20-Poly1305 also on the IKEv2 example of RFC 7634 Appendix B; the MACs on the RFC test vectors
  (RFC 3566 XCBC, RFC 4493 CMAC, which no recorded traffic uses, RFC 2202 / RFC 4231 HMAC).
- Damage: a flipped bit, a cut message, wrong or malformed keys give errors and a failing ICV, never
  an exception.

Key tables are read with the product's loader, ikesniff.crypto.keys.
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
from ikesniff.crypto.decrypt import (
    Decrypted,
    SkfReassembler,
    aes_xcbc_mac,
    compute_icv,
    decrypt_message,
    verifying_keys,
)
from ikesniff.crypto.keys import ENCRYPTION_ALGORITHMS, INTEGRITY_ALGORITHMS, Ikev2Keys, load_key_file

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


def test_without_keys_the_corpus_fragments_are_counted_and_the_missing_ones_named() -> None:
    # zeek-plugin-ikev2: an IKE_AUTH request in 2 fragments over NAT-T
    reassembler = SkfReassembler()
    fragmented = [c for c in encrypted_ikev2(CORPUS / "zeek-plugin-ikev2/ikev2.pcap")
                  if c.message.payloads[-1].name == "SKF"]
    assert [c.frame for c in fragmented] == [5, 6]
    assert reassembler.feed(fragmented[0].data, fragmented[0].message, None) is None
    (pending,) = reassembler.pending()
    assert (pending.message_id, pending.got, pending.total, pending.missing) == (1, 1, 2, [2])
    assert reassembler.feed(fragmented[1].data, fragmented[1].message, None) is None
    assert reassembler.pending() == []


def test_fragments_a_capture_holds_twice_are_not_reported_missing() -> None:
    # suricata-verify detect-bypass-udp: IKE_INTERMEDIATE and IKE_AUTH in 3, 4 and 7 fragments, every
    # datagram twice; the second copy of each last fragment repeats a message already put together.
    reassembler = SkfReassembler()
    for captured in encrypted_ikev2(CORPUS / "suricata-verify/detect-bypass-udp/input.pcap"):
        assert reassembler.feed(captured.data, captured.message, None) is None
    assert reassembler.pending() == []
    repeats = reassembler.pending(retransmissions=True)
    assert [(p.message_id, p.response, p.received, p.total) for p in repeats] == [
        (2, False, [3], 3), (2, True, [3], 3), (3, False, [4], 4), (3, True, [7], 7), (4, False, [7], 7),
        (4, True, [7], 7)]
    assert all(p.retransmission for p in repeats)


def test_a_retransmitted_fragmented_message_is_decrypted_again() -> None:
    found, keys = fragments()
    reassembler = SkfReassembler()
    first = [r for c in found[:5] if (r := reassembler.feed(c.data, c.message, keys)) is not None]
    again = [r for c in found[:5] if (r := reassembler.feed(c.data, c.message, keys)) is not None]
    assert len(first) == len(again) == 1 and first == again
    assert reassembler.pending(retransmissions=True) == []


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


# --- every cipher and MAC on real strongSwan traffic ------------------------------------------------

@dataclass(frozen=True)
class StrongswanSa:
    """An IKE SA negotiated by two strongSwan 5.9.8 daemons in the lab (lab/run.py, the ikev2-delete
    scenario with both sides' IKE proposal set to the algorithms named), its keys as moon's charon log
    (ike 4) gives them, and the two INFORMATIONAL messages that end it: sun's request with the Delete of
    the IKE SA (sent by the original responder: SK_er, SK_ar) and moon's empty response (SK_ei, SK_ai).
    tshark 4.0 decrypts both with the same keys for every cipher it knows (all but ChaCha20-Poly1305 and
    AES-XCBC-96)."""

    encryption: str
    integrity: str
    sk_ei: str
    sk_er: str
    sk_ai: str
    sk_ar: str
    delete: str
    response: str

    def keys(self) -> Ikev2Keys:
        data = bytes.fromhex(self.delete)
        return Ikev2Keys(data[:8], data[8:16], self.encryption, bytes.fromhex(self.sk_ei),
                         bytes.fromhex(self.sk_er), self.integrity, bytes.fromhex(self.sk_ai),
                         bytes.fromhex(self.sk_ar), "lab")


STRONGSWAN = [
    StrongswanSa(
        "3DES [RFC2451]", "HMAC_MD5_96 [RFC2403]",
        "31eca75e8d2c57429f17368adfa91d9166a86ec0dd922b50",
        "f1a8963f1feac4db784831d082a33d26e599eb09ac42c51c",
        "7ff6a125e85eb752e00b8a2368baeaef",
        "5917690a48f51b21f2c337bdb08d5270",
        """d4486099961cede58dc3bb99bc9b5b5b2e20250000000000000000442a0000284a5b80144bdf094c27d57ede
           5adb047e3543b1fd1858712874604172abd2c34099a2c719""",
        """d4486099961cede58dc3bb99bc9b5b5b2e202528000000000000003c00000020b57065f32d27155cfe8859ad
           e8edf76dd8c2b6970949bd481dfa16d9"""),
    StrongswanSa(
        "AES-CBC-192 [RFC3602]", "HMAC_SHA2_384_192 [RFC4868]",
        "d317f837f1ccfce692c2cb617403d66b1ebebe40b6c4a1b0",
        "acf83ac10415283e6d0382065161d9e2f6ec14380f7e3acd",
        """30b7cb60bbb720d68d9a3f9752bcbf4e35a6f3e9d716d02c9a5a4ead7ed184e6366e296e28bc1638f5bfa1a5
           911b74a3""",
        """e793dc171c3c4039c2e4ea4d8334704c401b4c8067df041db05529eb79e64ccee4f18baf639e68d5e6c2142b
           d8b05585""",
        """c9bb6c874a818b335373fd9934b8a1d32e20250000000000000000582a00003c1aca6618b526fe997398e63c
           80d3f6b3bd0f200042dd3fb1c7c84900d17908a39f165a1b61e71d9d592306d0b8080d8bd4a7484053e668cc""",
        """c9bb6c874a818b335373fd9934b8a1d32e20252800000000000000580000003cee81f6e14b1bad361ff65a86
           25fc59304f3912ed06de3ccd0eac6d86dfc0acac74d3ecb4929ad60e79a7b6ac52bd62ab466a322ac76a46b8"""),
    StrongswanSa(
        "AES-CTR-128 [RFC5930]", "HMAC_SHA1_96 [RFC2404]",
        "491f59892e4529ed2d4bee90a1cd54d1bd9ea23e",
        "0beafbac7b6574b34726e416561d343639e28659",
        "6156dd99d3ae4082288cfc4efe3315faa4e5f68e",
        "b49f34b30116d26a72317bf4d64d0ae3eb68c412",
        """2bdec40ec5e90006c57e4eaa27dbcafe2e202500000000000000003d2a00002189eb9bbcb2d65d4844d15db1
           c6ace07c814eb68fb7934727f497981193""",
        """2bdec40ec5e90006c57e4eaa27dbcafe2e202528000000000000003500000019d921ec473542edb20da1f720
           a3fee209b4f0c98a0f"""),
    StrongswanSa(
        "AES-CTR-256 [RFC5930]", "HMAC_SHA2_512_256 [RFC4868]",
        "dcae0548d80420b68b5b7456d77ed4064657cb150f355be3de05d1e89ff73437dff27123",
        "9f1f5214048a9a4ba7cbdea3b42e70ba3a05879e460ab096f54b3bfbb10b9f61be2a546e",
        """9ce232390e2153046d26fb1a9bffe0a5ac3fc291f3f9966ba099c245bf337f1cb05efbe8c687ef6792f4b552
           c7be1773fb65e2879759723f591e649feadfa041""",
        """9144908b3a1c310d0832e7298206fc61a5a94c512c972895839487d1bf359fa763dec53dd7f9c20531764923
           1b8abda20371d9dfea0d05cc18976bfa61985171""",
        """3a9d4719b68aeff3581bfe6d7046c2b32e20250000000000000000512a0000354f7c5588a28b0fbf86448da9
           0bac24184411409045df4dcad3dbdc3263e1dac08f8dcdb0f9b00b0800dc3c2d5891147677""",
        """3a9d4719b68aeff3581bfe6d7046c2b32e20252800000000000000490000002d16acb209b4aa564571158e1d
           6285db6415cce50fbf17b73feff24480d26c256b9d537c5b0b8537b96e"""),
    StrongswanSa(
        "AES-GCM-128 with 8 octet ICV [RFC5282]", "NONE [RFC4306]",
        "fe16d16110aa709e4a2d022d8a9443ac07f5ecb7",
        "aa53aa440a845ed9aed14b0e5981f67d6a28abfe",
        "",
        "",
        """c17cbdd46da6e138f94c59f3a87e4d712e20250000000000000000392a00001da5a54da854d4a51547ad883e
           09b38f61d788f69309e718c725""",
        """c17cbdd46da6e138f94c59f3a87e4d712e202528000000000000003100000015e6ff0cf0c11a1bc68863532a
           07dc8e429c"""),
    StrongswanSa(
        "AES-GCM-192 with 12 octet ICV [RFC5282]", "NONE [RFC4306]",
        "e9dca303b839b778067dbc0a72e2087b81fd902f75965cbcb6972386",
        "1ba32dd0cee6b526f6cb5d03bf436fbe8f0b217ad2e19e302a1c9497",
        "",
        "",
        """32f1de6214eca59985d8af7b346e2c952e202500000000000000003d2a000021f9193b30a8ba28a80d4df6c6
           68cd773a440b1a4ce17e4d573c638f8208""",
        """32f1de6214eca59985d8af7b346e2c952e2025280000000000000035000000194d4848e3fa98920cccf4ed7f
           9c667c603a6708778c"""),
    StrongswanSa(
        "AES-CCM-128 with 8 octet ICV [RFC5282]", "NONE [RFC4306]",
        "17b55554740101ab34e0234d65507ed053585f",
        "099fa1dfcab50c43623383c8893c130dea248e",
        "",
        "",
        """d14c73769c1dd3870c49589ab76453682e20250000000000000000392a00001d64763f22c53be0d9157612d2
           eb17497995472146d01754f923""",
        """d14c73769c1dd3870c49589ab76453682e2025280000000000000031000000156602b932ddf4c92722db8ed5
           e5d344900f"""),
    StrongswanSa(
        "AES-CCM-192 with 12 octet ICV [RFC5282]", "NONE [RFC4306]",
        "7e09f84d2c2cfb88337ee53e40debf1d1bd922079746b6c7b44a92",
        "3f755d26493926000a65eecf8cbc089ed7739514ae7064abbddd6c",
        "",
        "",
        """1209624369b656257c70dd9118908a222e202500000000000000003d2a000021c865706b554eac410707ce3b
           bbb2515f6532f9aec469ff166217bdad56""",
        """1209624369b656257c70dd9118908a222e2025280000000000000035000000197812097df2312ffc3ffd4db2
           1bcefef8852ba9f23c"""),
    StrongswanSa(
        "AES-CCM-256 with 16 octet ICV [RFC5282]", "NONE [RFC4306]",
        "a6c16eb53013e6a6defe9da9c3571634e6102d93dc290eb42ad9a472742005ae057921",
        "5e741baabc0e6c07828bd6b301887a6711b5470a3a702592bc8aad4d840587c243ca54",
        "",
        "",
        """9a0d4cc17135a700ab75efebec5414db2e20250000000000000000412a0000252f1af6b5cce2e6a156744eb7
           64bb4ea1a364ea3f861c6c1c6cb08b85cc34637ebb""",
        """9a0d4cc17135a700ab75efebec5414db2e20252800000000000000390000001df47198faecbbf6dd2d492594
           3ae39b2650fcdff6d2113ef03d"""),
    StrongswanSa(
        "ChaCha20-Poly1305 [RFC7634]", "NONE [RFC4306]",
        "98b52f0edc954e848f0996d82f2831b4bdd848066fd07a4636ab0b8bd6bbabefb937595b",
        "5ca5c1d4a7b8583731581095331666b609a10287bc0f501903045f10e76925052942fd0b",
        "",
        "",
        """6cac2b73112d3e9f94cb98562c664a282e20250000000000000000412a000025ba388da0a062fa1e16333092
           1fe149a5bafd785c29330b1a7a88d6b7d4228f62f9""",
        """6cac2b73112d3e9f94cb98562c664a282e20252800000000000000390000001d00bd45947c5123e0d59313b4
           c1ba28aa1338605d0339bfa8d2"""),
    StrongswanSa(
        "AES-CBC-128 [RFC3602]", "AES_XCBC_96 [RFC3566]",
        "b22364bb97637c83acf4d09884580931",
        "381f3e18360d50ac1826ee1fa2450a4f",
        "4f3320576982e0016ed5051da0ce5597",
        "aa88da8e3744a0155886a1a7c7754042",
        """fe6c5565a578c0df1d89f1763d241c9c2e202500000000000000004c2a0000308327f5babad0b72ae5e25e71
           45bc0af986d8551c1c49e334276a3f6470d90e2cbe08366812452490a850bbd1""",
        """fe6c5565a578c0df1d89f1763d241c9c2e202528000000000000004c000000303e6244fa064903cd905a1f04
           0a46ef9d8a6ea2af6ac0a510591cd7e566a2280c8933b11de35fe294a6651e86"""),
    StrongswanSa(
        "NULL [RFC2410]", "HMAC_SHA2_256_128 [RFC4868]",
        "",
        "",
        "1edfa494211149fab60d7c7fb35c561e77d382c0fe6e15d43e04252880c45a0e",
        "b380d38d5bbb187e11e4d5fa9be0bffb03702f158c8c68aa1d932609be5fdb3b",
        """2dc5d1d2cccf3eeaade83a4eb68d24792e20250000000000000000392a00001d000000080100000000bb812c
           b980ed051f49895d8281651d61""",
        """2dc5d1d2cccf3eeaade83a4eb68d24792e20252800000000000000310000001500c667fcdc654c26356f4bae
           e2db0942ec"""),
]


@pytest.mark.parametrize("sa", STRONGSWAN, ids=[f"{sa.encryption} {sa.integrity}" for sa in STRONGSWAN])
def test_strongswan_delete_and_its_response_decrypt_with_every_cipher_and_mac(sa: StrongswanSa) -> None:
    keys = sa.keys()
    for hex_message, initiator, names in ((sa.delete, False, ["D"]), (sa.response, True, [])):
        data = bytes.fromhex(hex_message)
        message = parse_message(data)
        assert message.is_initiator == initiator and message.exchange_name == "INFORMATIONAL"
        result = decrypt_message(data, message, keys)
        assert result is not None and result.icv_ok is True and result.errors == []
        assert [p.name for p in result.payloads] == names
        if names:
            assert result.payloads[0].protocol_name == "IKE"  # type: ignore[attr-defined]
        damaged = flip(data, len(data) - 1)
        failed = decrypt_message(damaged, parse_message(damaged), keys)
        assert failed is not None and failed.icv_ok is False
        aead = ENCRYPTION_ALGORITHMS[sa.encryption].aead
        checker, key = (sa.encryption, "SK_e") if aead else (sa.integrity, "SK_a")
        side = "i" if initiator else "r"
        assert failed.errors == [f"ICV does not verify ({checker.split(' [')[0]} with {key}{side})"]
        # only the ICV is damaged: the payloads still decrypt (for AEAD, through the bare keystream)
        assert [p.name for p in failed.payloads] == names


def test_the_strongswan_sas_cover_every_cipher_family_and_mac_kind() -> None:
    ciphers = {(ENCRYPTION_ALGORITHMS[sa.encryption].mode, ENCRYPTION_ALGORITHMS[sa.encryption].key_bits)
               for sa in STRONGSWAN}
    assert {mode for mode, _ in ciphers} == {"null", "cbc", "ctr", "gcm", "ccm", "poly1305"}
    assert {bits for mode, bits in ciphers if mode != "null"} == {128, 192, 256}
    macs = {INTEGRITY_ALGORITHMS[sa.integrity].hash or INTEGRITY_ALGORITHMS[sa.integrity].mac for sa in STRONGSWAN}
    assert macs == {"none", "md5", "sha1", "sha256", "sha384", "sha512", "xcbc"}


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


# --- telling which key set a message belongs to ---------------------------------------------------


def test_verifying_keys_picks_the_key_set_whose_icv_verifies_on_sk_and_skf() -> None:
    for frame in (3, 21, 39):                                   # GCM, CTR, CBC: one SA each
        captured, keys = wiki_message(frame)
        others = [wiki_message(f)[1] for f in (3, 21, 39) if f != frame]
        swapped = dataclasses.replace(keys, sk_ai=keys.sk_ar, sk_ar=keys.sk_ai, sk_ei=keys.sk_er, sk_er=keys.sk_ei)
        assert verifying_keys(captured.data, captured.message, [*others, swapped, keys]) is keys
        assert verifying_keys(captured.data, captured.message, [*others, swapped]) is None
    found, keys = fragments()                                   # each SKF fragment has its own ICV
    wrong = dataclasses.replace(keys, sk_ai=bytes(len(keys.sk_ai)), sk_ar=bytes(len(keys.sk_ar)))
    assert all(verifying_keys(c.data, c.message, [wrong, keys]) is keys for c in found)
    unchecked = dataclasses.replace(keys, integrity="ANY 128-bits of Authentication [No Checking]")
    assert verifying_keys(found[0].data, found[0].message, [unchecked]) is None  # nothing checked: no match


def test_verifying_keys_of_a_clear_message_is_none() -> None:
    table = key_table(FRAGMENTATION.with_suffix(".ikev2_decryption_table"))
    item = next(i for i in read_capture(str(FRAGMENTATION), CaptureStats()) if isinstance(i, IkeDatagram))
    assert verifying_keys(item.data, parse_message(item.data), list(table.values())) is None
