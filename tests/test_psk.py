"""PSK verification (ikesniff.crypto.psk) on the lab's real captures, and PSK file reading.

- IKEv1 aggressive mode: HASH_R of message 2 verifies with the responder's key and not with another;
  in the PSK-mismatch capture moon's (the initiator's) key fails it and sun's verifies it, in every
  retransmitted copy. HASH_I: strongSwan encrypts message 3, so the test opens it with the lab's
  ikev1_decryption_table key (phase-1 IV = hash(g^xi | g^xr), RFC 2409 App. B) and checks the real
  HASH_I.
- IKEv1 aggressive mode without a PSK: the SKEYID each peer's charon log gives. HASH_R of the
  PSK-mismatch capture verifies with sun's (the responder's own) and not with moon's; in the healthy
  capture HASH_R and the decrypted HASH_I verify with either peer's. The PSK path gives the same answers
  (it derives SKEYID, equal to the logged one, and runs the same checks).
- IKEv1 main mode: messages 5 and 6 decrypted with the lab's key table or moon's log; their HASH_I and
  HASH_R verify with the PSK both sides hold, and in ikev1-main-psk-mismatch moon's HASH_I with moon's
  key only.
- IKEv2: the IKE_AUTH messages decrypted with the keys of moon's charon log (the only source of
  SK_pi/SK_pr): each side's AUTH verifies with its own PSK; in ikev2-psk-mismatch moon's AUTH verifies
  with moon's key and fails with sun's (a certain PSK mismatch); in ikev2-peer-id-mismatch both sides
  hold the same key and moon's AUTH verifies with it (the failure is not a PSK mismatch).
- The AES PRFs on the RFC 4434 and RFC 4615 test vectors (keys of 10, 16 and 18 octets).
- PSK files in each form, and errors that name file and line but never the secret.

The PSKs are the lab's own (labels' `configured.<host>.psk`), not secrets of anyone's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from dissectors import Message, parse_message
from dissectors.ikev1 import HashPayload, KeyExchangePayload, parse_decrypted
from ikesniff.capture import CaptureStats, IkeDatagram, read_capture
from ikesniff.crypto.decrypt import decrypt_message
from ikesniff.crypto.keys import load_key_file
from ikesniff.crypto.psk import (
    PskFileError,
    PskUnverifiable,
    derived_key_check,
    ikev2_prf,
    load_psk_file,
    parse_psks,
    verify_aggressive,
    verify_aggressive_skeyid,
    verify_hash_i,
    verify_hash_r,
    verify_ikev2_auth,
    verify_main_mode,
)

PCAPS = Path(__file__).resolve().parents[1] / "pcaps"


def _psk(scenario: str, host: str) -> bytes:
    label = json.loads((PCAPS / f"{scenario}.json").read_text())
    return str(label["configured"][host]["psk"]).encode()


def _messages(scenario: str) -> list[tuple[bytes, Message]]:
    data = [item.data for item in read_capture(str(PCAPS / f"{scenario}.pcap"), CaptureStats())
            if isinstance(item, IkeDatagram)]
    return [(one, parse_message(one)) for one in data]


# --- IKEv1 aggressive mode --------------------------------------------------------------------------


def test_hash_r_verifies_with_the_responders_key_and_not_with_another() -> None:
    (bytes1, message1), (bytes2, message2) = _messages("ikev1-aggressive")[:2]
    right = verify_hash_r(message1, bytes1, message2, bytes2, _psk("ikev1-aggressive", "sun"))
    assert right.matches and right.side == "responder" and right.payload == "HASH_R"
    assert right.algorithm == "HMAC-SHA2-256"
    wrong = verify_hash_r(message1, bytes1, message2, bytes2, _psk("ikev1-aggressive-psk-mismatch", "sun"))
    assert not wrong.matches and wrong.side == "responder"


def test_psk_mismatch_hash_r_is_made_with_suns_key_not_moons() -> None:
    scenario = "ikev1-aggressive-psk-mismatch"
    messages = _messages(scenario)
    (bytes1, message1) = messages[0]
    answers = [(data, message) for data, message in messages[1:] if message.exchange_name == "AGGRESSIVE"]
    assert len(answers) == 4                       # message 2 and the three copies sun repeats
    moon, sun = _psk(scenario, "moon"), _psk(scenario, "sun")
    assert moon != sun
    for bytes2, message2 in answers:
        assert not verify_hash_r(message1, bytes1, message2, bytes2, moon).matches
        assert verify_hash_r(message1, bytes1, message2, bytes2, sun).matches


def _open_message3(scenario: str) -> Message:
    """Decrypt aggressive-mode message 3 with the lab's ikev1_decryption_table key."""
    import hashlib

    messages = _messages(scenario)
    (_, message1), (_, message2), (bytes3, message3) = messages[:3]
    table = load_key_file(str(PCAPS / f"{scenario}.ikev1_decryption_table"))
    keys = table.ikev1_for(message1.header.spi_i)
    assert keys is not None
    ke = [p.data for m in (message1, message2) for p in m.payloads if isinstance(p, KeyExchangePayload)]
    iv = hashlib.sha256(ke[0] + ke[1]).digest()[:16]          # the SA's hash is SHA2-256, AES-128-CBC
    body = bytes3[28:message3.header.length]
    decryptor = Cipher(algorithms.AES(keys.encryption_key), modes.CBC(iv)).decryptor()
    return parse_decrypted(message3.header, decryptor.update(body) + decryptor.finalize())


def test_hash_i_of_the_decrypted_message_3_verifies_with_the_initiators_key() -> None:
    scenario = "ikev1-aggressive"
    (bytes1, message1), (bytes2, message2) = _messages(scenario)[:2]
    opened = _open_message3(scenario)
    hash_i = next(p.data for p in opened.payloads if isinstance(p, HashPayload))
    right = verify_hash_i(message1, bytes1, message2, bytes2, _psk(scenario, "moon"), hash_i)
    assert right.matches and right.side == "initiator" and right.payload == "HASH_I"
    wrong = verify_hash_i(message1, bytes1, message2, bytes2, b"not the key", hash_i)
    assert not wrong.matches


def test_verify_aggressive_checks_hash_r_only_when_message_3_is_encrypted() -> None:
    (bytes1, message1), (bytes2, message2), (bytes3, message3) = _messages("ikev1-aggressive")[:3]
    checks = verify_aggressive(message1, bytes1, message2, bytes2, _psk("ikev1-aggressive", "sun"),
                               message3, bytes3)
    assert [(c.payload, c.matches) for c in checks] == [("HASH_R", True)]


def test_main_mode_cannot_be_checked_with_a_psk_alone() -> None:
    messages = _messages("ikev1-main-peer-id-mismatch")
    (bytes1, message1), (bytes2, message2) = messages[:2]
    with pytest.raises(PskUnverifiable, match="not an IKEv1 aggressive-mode message"):
        verify_hash_r(message1, bytes1, message2, bytes2, b"whatever")


def test_aggressive_peer_id_mismatch_has_no_hash_r_to_check() -> None:
    # sun refuses moon's identity with a clear INFORMATIONAL instead of message 2: nothing a PSK can check
    (bytes1, message1), (bytes2, message2) = _messages("ikev1-aggressive-peer-id-mismatch")[:2]
    assert message2.exchange_name == "INFORMATIONAL"
    with pytest.raises(PskUnverifiable, match="message 2 is not an IKEv1 aggressive-mode message"):
        verify_hash_r(message1, bytes1, message2, bytes2, _psk("ikev1-aggressive-peer-id-mismatch", "moon"))


def test_details_never_hold_the_key() -> None:
    (bytes1, message1), (bytes2, message2) = _messages("ikev1-aggressive")[:2]
    psk = _psk("ikev1-aggressive", "sun")
    for key in (psk, b"another-key-entirely"):
        check = verify_hash_r(message1, bytes1, message2, bytes2, key)
        assert key.decode() not in repr(check)



def _logged_skeyid(scenario: str, host: str) -> tuple[bytes, str]:
    store = load_key_file(str(PCAPS / f"{scenario}.{host}.charon.log"))
    (keys,) = store.ikev1.values()
    assert keys.skeyid is not None
    return keys.skeyid, keys.source


@pytest.mark.parametrize(("host", "matches"), [("moon", False), ("sun", True)])
def test_psk_mismatch_hash_r_checked_with_each_peers_logged_skeyid(host: str, matches: bool) -> None:
    scenario = "ikev1-aggressive-psk-mismatch"
    (bytes1, message1), (bytes2, message2) = _messages(scenario)[:2]
    skeyid, source = _logged_skeyid(scenario, host)
    (check,) = verify_aggressive_skeyid(message1, bytes1, message2, bytes2, skeyid, source)
    assert (check.side, check.payload, check.matches) == ("responder", "HASH_R", matches)
    assert source in check.detail and "SKEYID" in check.detail
    assert ("another SKEYID" in check.detail) is not matches
    assert skeyid.hex() not in repr(check) and _psk(scenario, host).decode() not in repr(check)
    # the PSK path derives the same SKEYID and reaches the same answer
    assert verify_hash_r(message1, bytes1, message2, bytes2, _psk(scenario, host)).matches is matches


@pytest.mark.parametrize("host", ["moon", "sun"])
def test_healthy_aggressive_hashes_verify_with_either_peers_logged_skeyid(host: str) -> None:
    scenario = "ikev1-aggressive"
    (bytes1, message1), (bytes2, message2), (bytes3, message3) = _messages(scenario)[:3]
    skeyid, source = _logged_skeyid(scenario, host)
    assert verify_aggressive_skeyid(message1, bytes1, message2, bytes2, skeyid, source, message3, bytes3) == \
        verify_aggressive_skeyid(message1, bytes1, message2, bytes2, skeyid, source)  # message 3 encrypted
    hash_i = next(p.data for p in _open_message3(scenario).payloads if isinstance(p, HashPayload))
    checks = verify_aggressive_skeyid(message1, bytes1, message2, bytes2, skeyid, source, hash_i=hash_i)
    assert [(c.side, c.payload, c.matches) for c in checks] == [("responder", "HASH_R", True),
                                                               ("initiator", "HASH_I", True)]
    wrong = verify_aggressive_skeyid(message1, bytes1, message2, bytes2, bytes(len(skeyid)), "x.log:1",
                                     hash_i=hash_i)
    assert [c.matches for c in wrong] == [False, False]
    by_psk = verify_aggressive(message1, bytes1, message2, bytes2, _psk(scenario, host), hash_i=hash_i)
    assert [(c.side, c.payload, c.matches) for c in by_psk] == [(c.side, c.payload, c.matches) for c in checks]


def test_skeyid_check_needs_aggressive_mode_like_the_psk_check() -> None:
    (bytes1, message1), (bytes2, message2) = _messages("ikev1-aggressive-peer-id-mismatch")[:2]
    with pytest.raises(PskUnverifiable, match="message 2 is not an IKEv1 aggressive-mode message"):
        verify_aggressive_skeyid(message1, bytes1, message2, bytes2, bytes(32), "x.log:1")

# --- IKEv2 AUTH -------------------------------------------------------------------------------------


def _ike_auth(scenario: str) -> tuple[bytes, bytes, list[tuple[bool, list]], object]:
    messages = _messages(scenario)
    inits = [(data, m) for data, m in messages if m.exchange_name == "IKE_SA_INIT"]
    request = [data for data, m in inits if not m.is_response][-1]
    response = [data for data, m in inits if m.is_response][-1]
    store = load_key_file(str(PCAPS / f"{scenario}.moon.charon.log"))
    auths = []
    keys = None
    for data, message in messages:
        if message.exchange_name != "IKE_AUTH":
            continue
        keys = store.ikev2_for(message.header.spi_i, message.header.spi_r)
        assert keys is not None and keys.sk_pi is not None and keys.sk_pr is not None
        opened = decrypt_message(data, message, keys)
        assert opened is not None and opened.icv_ok
        auths.append((message.is_initiator, opened.payloads))
    return request, response, auths, keys


def test_ikev2_each_sides_auth_verifies_with_its_psk() -> None:
    scenario = "ikev2-psk"
    request, response, auths, keys = _ike_auth(scenario)
    assert [initiator for initiator, _ in auths] == [True, False]
    for initiator, payloads in auths:
        host = "moon" if initiator else "sun"
        check = verify_ikev2_auth(request, response, payloads, initiator, keys, _psk(scenario, host))
        assert check.matches and check.side == ("initiator" if initiator else "responder")
        assert check.algorithm == "PRF_HMAC_SHA2_256"
        other = verify_ikev2_auth(request, response, payloads, initiator, keys,
                                  _psk("ikev2-psk-mismatch", "sun"))
        assert not other.matches


def test_ikev2_psk_mismatch_moons_auth_verifies_with_moons_key_not_suns() -> None:
    scenario = "ikev2-psk-mismatch"
    request, response, auths, keys = _ike_auth(scenario)
    (initiator, payloads), (_, answer) = auths
    assert initiator
    assert verify_ikev2_auth(request, response, payloads, True, keys, _psk(scenario, "moon")).matches
    assert not verify_ikev2_auth(request, response, payloads, True, keys, _psk(scenario, "sun")).matches
    with pytest.raises(PskUnverifiable, match="no AUTH payload"):   # sun answered AUTHENTICATION_FAILED
        verify_ikev2_auth(request, response, answer, False, keys, _psk(scenario, "sun"))


def test_ikev2_peer_id_mismatch_is_not_a_psk_mismatch() -> None:
    scenario = "ikev2-peer-id-mismatch"
    shared = _psk(scenario, "moon")
    assert shared == _psk(scenario, "sun")
    request, response, auths, keys = _ike_auth(scenario)
    initiator, payloads = auths[0]
    assert initiator
    assert verify_ikev2_auth(request, response, payloads, True, keys, shared).matches


def test_ikev2_auth_needs_sk_pi_which_a_key_table_does_not_hold() -> None:
    scenario = "ikev2-psk"
    request, response, auths, _ = _ike_auth(scenario)
    table = load_key_file(str(PCAPS / f"{scenario}.ikev2_decryption_table"))
    keys = next(iter(table.ikev2.values()))
    with pytest.raises(PskUnverifiable, match="SK_pi"):
        verify_ikev2_auth(request, response, auths[0][1], True, keys, _psk(scenario, "moon"))


@pytest.mark.parametrize(("prf_id", "key", "expected"), [
    # RFC 4434 section 6 (AES-XCBC-PRF-128), message 0x000102...13
    (4, "000102030405060708090a0b0c0d0e0f", "47f51b4564966215b8985c63055ed308"),
    (4, "00010203040506070809", "0fa087af7d866e7653434e602fdde835"),
    (4, "000102030405060708090a0b0c0d0e0fedcb", "8cd3c93ae598a9803006ffb67c40e9e4"),
    # RFC 4615 section 4 (AES-CMAC-PRF-128)
    (8, "000102030405060708090a0b0c0d0e0f", "980ae87b5f4c9c5214f5b6a8455e4c2d"),
    (8, "00010203040506070809", "290d9e112edb09ee141fcf64c0b72f3d"),
    (8, "000102030405060708090a0b0c0d0e0fedcb", "84a348a4a45d235babfffc0d2b4da09a"),
])
def test_aes_prfs_take_keys_of_any_length(prf_id: int, key: str, expected: str) -> None:
    assert ikev2_prf(prf_id)(bytes.fromhex(key), bytes(range(20))).hex() == expected


# --- PSK files --------------------------------------------------------------------------------------


def test_plain_file_one_key_a_line_with_hex_and_base64() -> None:
    text = "# lab keys\nikesniff-lab-psk-0123456789\n\n0x6b65793a32\n0sa2V5OjM=\n'0x literal'\nikesniff-lab-psk-0123456789\n"
    assert parse_psks(text, "keys.txt") == [b"ikesniff-lab-psk-0123456789", b"key:2", b"key:3", b"0x literal"]


def test_ipsec_secrets_psk_lines() -> None:
    text = ('# ipsec.secrets\n: RSA moonKey.pem\nmoon.example sun.example : PSK "quoted \\"one\\""\n'
            "2001:db8::1 : PSK 0x6b6579 # hex\n%any : PSK 'single' # comment\n: PSK \"0x not hex, quoted\"\n")
    assert parse_psks(text, "ipsec.secrets") == [b'quoted "one"', b"key", b"single", b"0x not hex, quoted"]


def test_swanctl_secrets_take_ike_sections_only() -> None:
    text = """connections { }
secrets {
    ike-moon {
        id-1 = moon.example
        secret = "ikesniff-lab-psk-0123456789"
    }
    ike { secret = 0s a2V5 }
    ike-hex { secret = 0x6b:65:79:32 }
    ike-spaces {
        secret = two words  # comment
    }
    private-moon { file = moon.pem
        secret = not-a-psk }   # a key passphrase, not a PSK
    eap-carol { secret = carol-password }
}
"""
    assert parse_psks(text.replace("0s a2V5", "0sa2V5"), "swanctl.conf") == [
        b"ikesniff-lab-psk-0123456789", b"key", b"key2", b"two words"]


@pytest.mark.parametrize(("text", "problem"), [
    ("0xnothex-SECRET\n", "psk.txt:1: a 0x secret that is not hexadecimal"),
    ("fine\n0s!!SECRET\n", "psk.txt:2: a 0s secret that is not base64"),
    ('"SECRET\n', "psk.txt:1: a quoted secret without its closing quote"),
    ("\n# nothing\n", "psk.txt: no pre-shared key in the file"),
    (": RSA key.pem\n", "psk.txt: an ipsec.secrets file without any PSK entry"),
    ("secrets { private-x { secret = SECRET } }\n", "psk.txt: a swanctl.conf secrets section without any"),
    ("secrets { ike-x { secret = SECRET }\n", "psk.txt: section 'secrets' is not closed"),
])
def test_bad_psk_files_name_file_and_line_never_the_secret(text: str, problem: str) -> None:
    with pytest.raises(PskFileError) as caught:
        parse_psks(text, "psk.txt")
    message = str(caught.value)
    assert message.startswith(problem)
    assert "SECRET" not in message and "\n" not in message


def test_load_psk_file(tmp_path: Path) -> None:
    path = tmp_path / "psk"
    path.write_text("ikesniff-lab-psk-0123456789\n")
    assert load_psk_file(str(path)) == [b"ikesniff-lab-psk-0123456789"]
    with pytest.raises(PskFileError, match="cannot read"):
        load_psk_file(str(tmp_path / "missing"))
    path.write_bytes(b"\xff\xfeSECRET\n")
    with pytest.raises(PskFileError, match=r":1: not UTF-8 text"):
        load_psk_file(str(path))


# --- IKEv1 main mode: hashes of decrypted messages 5 and 6 ------------------------------------------------------


def _main_mode_opened(scenario: str, key_file: str) -> tuple[list[tuple[bytes, Message]], dict[int, list]]:
    """Clear messages 1-4 and, per frame, the payloads of the encrypted phase-1 messages the keys read."""
    from ikesniff.crypto.ikev1 import Ikev1Decryptor

    store = load_key_file(str(PCAPS / key_file))
    decryptor = Ikev1Decryptor()
    clear: list[tuple[bytes, Message]] = []
    opened: dict[int, list] = {}
    for item in read_capture(str(PCAPS / f"{scenario}.pcap"), CaptureStats()):
        if not isinstance(item, IkeDatagram):
            continue
        message = parse_message(item.data)
        result = decryptor.feed(item.data, message, store.ikev1_candidates(message.header.spi_i), sender=item.src)
        if message.exchange_name != "IDENTITY_PROTECTION":
            continue
        if not message.encrypted and all(item.data != kept for kept, _ in clear):
            clear.append((item.data, message))
        elif result is not None and result.readable:
            opened[item.frame] = result.payloads
    return clear, opened


def test_main_mode_hash_i_and_hash_r_verify_with_the_psk_both_sides_hold() -> None:
    clear, opened = _main_mode_opened("ikev1-main", "ikev1-main.ikev1_decryption_table")
    assert len(clear) == 4 and sorted(opened) == [5, 6]
    key = _psk("ikev1-main", "moon")
    hash_i = verify_main_mode(clear, opened[5], True, key)
    hash_r = verify_main_mode(clear, opened[6], False, key)
    assert (hash_i.payload, hash_i.side, hash_i.matches) == ("HASH_I", "initiator", True)
    assert (hash_r.payload, hash_r.side, hash_r.matches) == ("HASH_R", "responder", True)
    assert hash_i.algorithm == "HMAC-SHA2-256"
    assert not verify_main_mode(clear, opened[5], True, b"another key").matches
    assert not verify_main_mode(clear, opened[6], True, key).matches  # HASH_R is not a HASH_I
    assert key.decode() not in repr([hash_i, hash_r])


def test_main_mode_psk_mismatch_hash_i_is_made_with_moons_key() -> None:
    scenario = "ikev1-main-psk-mismatch"
    clear, opened = _main_mode_opened(scenario, f"{scenario}.moon.charon.log")
    (_, payloads), *_ = sorted(opened.items())
    assert verify_main_mode(clear, payloads, True, _psk(scenario, "moon")).matches
    assert not verify_main_mode(clear, payloads, True, _psk(scenario, "sun")).matches


def test_main_mode_needs_messages_1_to_4_in_clear() -> None:
    clear, opened = _main_mode_opened("ikev1-main", "ikev1-main.ikev1_decryption_table")
    with pytest.raises(PskUnverifiable, match="messages 1-4 are needed"):
        verify_main_mode(clear[:3], opened[5], True, b"k")
    with pytest.raises(PskUnverifiable, match="not a clear IKEv1 main-mode message"):
        verify_main_mode(_messages("ikev1-aggressive")[:4], opened[5], True, b"k")
    with pytest.raises(PskUnverifiable, match="no ID payload"):
        verify_main_mode(clear, [p for p in opened[5] if p.name != "ID"], True, b"k")


def test_derived_key_check_says_whose_messages_the_psk_reads() -> None:
    read = derived_key_check("initiator", True)
    unread = derived_key_check("responder", False)
    assert (read.side, read.matches, read.payload) == ("initiator", True, "SKEYID")
    assert (unread.side, unread.matches) == ("responder", False) and "different key" in unread.detail


def test_derived_key_check_with_logged_keys_names_their_source_only() -> None:
    unread = derived_key_check("initiator", False, "sun.charon.log:12")
    assert (unread.side, unread.matches, unread.payload) == ("initiator", False, "SKEYID")
    assert "sun.charon.log:12" in unread.detail and "pre-shared key differs" in unread.detail
    assert derived_key_check("initiator", True, "sun.charon.log:12").matches
