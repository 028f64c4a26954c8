"""The IKEv2 dissector on real bytes: the shared corpus captures (and, for the payloads IKEv2 only
sends encrypted, the same captures decrypted with their published key tables).

Expected values were read with tshark 4.0 (`tshark -r F -V`, with the key table for the decrypted
ones) unless a comment says otherwise. Messages built by hand are marked as such; they cover the
payloads no public capture carries (EAP, GSPM, RFC 9370 additional key exchanges, ...).
"""

from __future__ import annotations

import dataclasses
import json
import struct
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ikev2_helpers import CORPUS, decrypt_sk, ike_messages, key_table, message_at, tshark_rows

from dissectors import ikev2, parse_message
from dissectors import ikev2_registry as registry
from dissectors.model import Message, Notify, OpaquePayload, Payload
from dissectors.vendor_ids import identify_vendor

P = TypeVar("P", bound=Payload)

WIKI = "wireshark-wiki/ipsec_ikev2+esp_aes-gcm_aes-ctr_aes-cbc/capture.pcapng"
WIKI_KEYS = "wireshark-wiki/ipsec_ikev2+esp_aes-gcm_aes-ctr_aes-cbc/ikev2_decryption_table"
OPENSWAN_KEYS = "openswan/openswan.ikev2_decryption_table"


def dissect(data: bytes) -> Message:
    message = parse_message(data)
    assert message.version == 2
    return message


def frame(capture: str, number: int) -> Message:
    return dissect(message_at(capture, number))


def all_of(payloads: list[Payload], kind: type[P]) -> list[P]:
    return [p for p in payloads if isinstance(p, kind)]


def one(payloads: list[Payload], kind: type[P]) -> P:
    found = all_of(payloads, kind)
    assert len(found) == 1, f"{len(found)} {kind.__name__} payloads"
    return found[0]


def decrypted(capture: str, number: int, table: str) -> tuple[Message, list[Payload], list[str], bool]:
    """(outer message, payloads inside its SK payload, errors inside, ICV correct)."""
    data = message_at(capture, number)
    message = dissect(data)
    sk = one(message.payloads, ikev2.Encrypted)
    keys = next(k for k in key_table(table)
                if k.spi_i == message.header.spi_i and k.spi_r == message.header.spi_r)
    iv_size, icv_size = ikev2.sk_layout(keys.encr_id, keys.key_bits, keys.integ_id)
    plain, icv_ok = decrypt_sk(data, keys, iv_size, icv_size, sk.offset)
    errors: list[str] = []
    inner = ikev2.parse_payloads(memoryview(plain), sk.inner_first_payload, 0, len(plain), errors)
    return message, inner, errors, icv_ok


SPI_I = bytes.fromhex("0123456789abcdef")


def build(exchange: int, payloads: list[tuple[int, bytes]], flags: int = 0x08,
          critical: tuple[int, ...] = ()) -> bytes:
    """A hand-built IKEv2 message: header plus a chain of (payload type, body)."""
    chain = b""
    for index, (kind, body) in enumerate(payloads):
        next_type = payloads[index + 1][0] if index + 1 < len(payloads) else 0
        chain += struct.pack("!BBH", next_type, 0x80 if index in critical else 0, 4 + len(body)) + body
    first = payloads[0][0] if payloads else 0
    header = struct.pack("!8s8sBBBBII", SPI_I, bytes(8), first, 0x20, exchange, flags, 1, 28 + len(chain))
    return header + chain


def cleartext_copy(capture: str, number: int, table: str) -> bytes:
    """The decrypted IKE_AUTH of a capture re-assembled as a cleartext message (its real payload
    bytes, in the clear), so whole-message tests reach every payload parser."""
    data = message_at(capture, number)
    message = dissect(data)
    sk = one(message.payloads, ikev2.Encrypted)
    keys = next(k for k in key_table(table)
                if k.spi_i == message.header.spi_i and k.spi_r == message.header.spi_r)
    plain, _ = decrypt_sk(data, keys, *ikev2.sk_layout(keys.encr_id, keys.key_bits, keys.integ_id),
                          sk.offset)
    header = bytearray(data[:28])
    header[16] = sk.inner_first_payload
    header[24:28] = (28 + len(plain)).to_bytes(4, "big")
    return bytes(header) + plain


# --- the whole corpus against tshark's committed dumps ----------------------------------------------

V2_CAPTURES = sorted(name for name in (str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*")
                                        if p.suffix in (".pcap", ".pcapng", ".cap"))
                     if ike_messages(name))

# Messages that are malformed on the wire (each checked for its error text below).
MALFORMED = {
    ("ndpi/ipsec_isakmp_esp.pcap", 192),             # private payload 127 chains to an IDi past the end
    ("openswan/lp08-parentR1/parentR1notify.pcap", 1),   # 2 stray octets after the last payload
    ("openswan/lp08-parentR1/parentR1notify.pcap", 2),   # INVALID_KE_PAYLOAD without its group
    ("tcpdump/ikev2-id-normal.pcap", 1),
    ("tcpdump/ikev2-id-short.pcap", 1),
    ("tcpdump/ikev2pI2-segfault.pcapng", 1),
}


def test_the_corpus_has_the_ikev2_captures_these_tests_need() -> None:
    assert len(V2_CAPTURES) >= 30
    assert sum(len(ike_messages(capture)) for capture in V2_CAPTURES) >= 700


@pytest.mark.parametrize("capture", V2_CAPTURES)
def test_payload_chain_notifies_and_substructure_counts_match_tshark(capture: str) -> None:
    rows = {int(row["frame.number"]): row for row in tshark_rows(capture)}
    for captured in ike_messages(capture):
        message = dissect(captured.data)
        row = rows[captured.frame]
        assert message.header.exchange_type == int(row["isakmp.exchangetype"])
        assert f"{message.header.message_id:#010x}" == row["isakmp.messageid"]
        tshark_types = [int(t) for t in row["isakmp.typepayload"].split(",") if t]
        ours = [p.type for p in message.payloads]
        if (capture, captured.frame) == ("tcpdump/ikev2pI2-segfault.pcapng", 1):
            continue  # tshark gives up inside the first proposal; we read on (see the segfault test)
        assert ours == [t for t in tshark_types if t not in (2, 3)], captured.frame
        proposals = [proposal for sa in all_of(message.payloads, ikev2.SecurityAssociation)
                     for proposal in sa.proposals]
        assert len(proposals) == tshark_types.count(2), captured.frame
        assert sum(len(p.transforms) for p in proposals) == tshark_types.count(3), captured.frame
        notify_types = [int(t) for t in row["isakmp.notify.msgtype"].split(",") if t]
        assert [n.notify_type for n in message.notifies] == notify_types, captured.frame
        assert bool(message.errors) == ((capture, captured.frame) in MALFORMED), message.errors


def test_every_corpus_payload_is_a_dataclass_a_renderer_can_walk_and_json_can_carry() -> None:
    for capture in V2_CAPTURES:
        for captured in ike_messages(capture):
            for payload in dissect(captured.data).payloads:
                tree = dataclasses.asdict(payload)
                json.dumps(tree, default=lambda value: value.hex())
                if isinstance(payload, Notify):
                    json.dumps(payload.decoded)  # decoded data holds plain JSON values only


# --- exchange types ------------------------------------------------------------------------------

def test_ike_intermediate_exchange_43_is_named() -> None:
    message = frame("suricata-verify/detect-bypass-udp/input.pcap", 1)
    assert message.header.exchange_type == 43
    assert message.exchange_name == "IKE_INTERMEDIATE"


@pytest.mark.parametrize(("number", "name"), [
    (34, "IKE_SA_INIT"), (35, "IKE_AUTH"), (36, "CREATE_CHILD_SA"), (37, "INFORMATIONAL"),
    (38, "IKE_SESSION_RESUME"), (39, "GSA_AUTH"), (40, "GSA_REGISTRATION"), (41, "GSA_REKEY"),
    (42, "GSA_INBAND_REKEY"), (43, "IKE_INTERMEDIATE"), (44, "IKE_FOLLOWUP_KE"),
    (33, "UNKNOWN_33"), (45, "UNKNOWN_45"), (240, "UNKNOWN_240"),
])
def test_exchange_type_names(number: int, name: str) -> None:
    data = bytearray(message_at("tcpdump/ikev2four.pcap", 2))
    data[18] = number
    assert dissect(bytes(data)).exchange_name == name


# --- SA ------------------------------------------------------------------------------------------

def test_sa_offer_lists_every_transform_with_its_registry_name() -> None:
    sa = one(frame("tcpdump/ikev2four.pcap", 1).payloads, ikev2.SecurityAssociation)
    (proposal,) = sa.proposals
    assert (proposal.number, proposal.protocol_name, proposal.spi) == (1, "IKE", b"")
    assert [(t.type_name, t.name, t.key_length) for t in proposal.transforms] == [
        ("ENCR", "ENCR_AES_CBC", 128), ("ENCR", "ENCR_AES_CBC", 256), ("ENCR", "ENCR_AES_CBC", 192),
        ("ENCR", "ENCR_3DES", None),
        ("PRF", "PRF_HMAC_SHA1", None), ("PRF", "PRF_HMAC_MD5", None), ("PRF", "PRF_AES128_XCBC", None),
        ("INTEG", "AUTH_HMAC_SHA1_96", None), ("INTEG", "AUTH_HMAC_MD5_96", None),
        ("INTEG", "AUTH_AES_XCBC_96", None),
        ("KE", "MODP_1024", None), ("KE", "MODP_2048", None),
    ]
    assert ikev2.proposal_text(proposal) == (
        "AES_CBC-128|AES_CBC-256|AES_CBC-192|3DES/HMAC_SHA1_96|HMAC_MD5_96|AES_XCBC_96/"
        "PRF_HMAC_SHA1|PRF_HMAC_MD5|PRF_AES128_XCBC/MODP_1024|MODP_2048")


def test_proposal_text_of_a_single_weak_offer_names_dh_group_2() -> None:
    sa = one(frame("suricata-verify/IKEv2_SA_INIT_2-8-weak.pcap", 1).payloads, ikev2.SecurityAssociation)
    assert ikev2.proposal_text(sa.proposals[0]) == "AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_1024"


def test_sa_response_carries_the_chosen_proposal() -> None:
    message = frame("zeek-plugin-ikev2/ikev2.pcap", 4)
    assert message.is_response
    (proposal,) = one(message.payloads, ikev2.SecurityAssociation).proposals
    # tshark: ENCR_AES_CBC 128, AUTH_HMAC_SHA2_256_128, PRF 4 (its old name PRF_AES128_CBC), group 15
    assert ikev2.proposal_text(proposal) == "AES_CBC-128/HMAC_SHA2_256_128/PRF_AES128_XCBC/MODP_3072"


def test_esp_proposal_in_ike_auth_has_its_spi_and_esn_transform() -> None:
    _, inner, errors, icv_ok = decrypted(WIKI, 40, WIKI_KEYS)
    assert icv_ok and not errors
    (proposal,) = one(inner, ikev2.SecurityAssociation).proposals
    assert (proposal.protocol_name, proposal.spi.hex()) == ("ESP", "b6b5f296")
    assert ikev2.proposal_text(proposal) == "AES_CBC-128/HMAC_SHA2_256_128/NO_ESN"


def test_openswan_child_sa_offers_two_esp_proposals() -> None:
    _, inner, _, _ = decrypted("openswan/lp12-parentR2/parentI2.pcap", 1, OPENSWAN_KEYS)
    proposals = one(inner, ikev2.SecurityAssociation).proposals
    assert [(p.number, p.spi.hex(), ikev2.proposal_text(p)) for p in proposals] == [
        (1, "12345678", "AES_CBC-128/HMAC_SHA2_256_128/NO_ESN"),
        (2, "12345678", "AES_CBC-128/HMAC_SHA1_96/NO_ESN"),
    ]


def test_additional_key_exchanges_of_rfc_9370_are_named_and_quoted() -> None:
    # Hand-built: no public capture has an IKE_SA_INIT offering ADDKE transforms.
    def transform(kind: int, number: int, key_length: int | None = None, last: bool = False) -> bytes:
        attributes = struct.pack("!HH", 0x800E, key_length) if key_length else b""
        return struct.pack("!BxHBxH", 0 if last else 3, 8 + len(attributes), kind, number) + attributes
    transforms = (transform(1, 20, 256) + transform(2, 7) + transform(4, 19) + transform(6, 36)
                  + transform(7, 37) + transform(5, 0, last=True))
    proposal = struct.pack("!BxHBBBB", 0, 8 + len(transforms), 1, 1, 0, 6) + transforms
    message = dissect(build(34, [(33, proposal)]))
    assert not message.errors
    (parsed,) = one(message.payloads, ikev2.SecurityAssociation).proposals
    assert [t.type_name for t in parsed.transforms] == ["ENCR", "PRF", "KE", "ADDKE1", "ADDKE2", "ESN"]
    assert [t.name for t in parsed.transforms][2:5] == ["ECP_256", "ML_KEM_768", "ML_KEM_1024"]
    assert ikev2.proposal_text(parsed) == (
        "AES_GCM_16-256/PRF_HMAC_SHA2_512/ECP_256/ADDKE1=ML_KEM_768/ADDKE2=ML_KEM_1024/NO_ESN")


def test_unregistered_transform_ids_and_odd_key_lengths_are_kept() -> None:
    # Hand-built: a private-use cipher with a 320-bit key and an unknown transform type 200.
    transforms = (struct.pack("!BxHBxHHH", 3, 12, 1, 1024, 0x800E, 320)
                  + struct.pack("!BxHBxH", 0, 8, 200, 7))
    proposal = struct.pack("!BxHBBBB", 0, 8 + len(transforms), 1, 1, 0, 2) + transforms
    message = dissect(build(34, [(33, proposal)]))
    assert not message.errors
    first, second = one(message.payloads, ikev2.SecurityAssociation).proposals[0].transforms
    assert (first.name, first.key_length) == ("UNKNOWN_1024", 320)
    assert (second.type_name, second.name) == ("UNKNOWN_200", "UNKNOWN_7")


def test_corrupted_sa_keeps_the_first_proposal_and_reports_the_garbage() -> None:
    message = frame("tcpdump/ikev2pI2-segfault.pcapng", 1)
    sa = one(message.payloads, ikev2.SecurityAssociation)
    # tshark reads the same four transforms of proposal 1, then stops.
    assert [t.transform_type for t in sa.proposals[0].transforms] == [1, 3, 2, 67]
    assert any("last-substructure value 46" in error for error in message.errors)
    assert any(error.startswith("KE at offset 272: length 43690 runs past") for error in message.errors)


# --- KE, Nonce -----------------------------------------------------------------------------------

def test_ke_payload_gives_group_name_and_public_value_length() -> None:
    first_try = one(frame("zeek-plugin-ikev2/ikev2.pcap", 1).payloads, ikev2.KeyExchange)
    retry = one(frame("zeek-plugin-ikev2/ikev2.pcap", 3).payloads, ikev2.KeyExchange)
    assert (first_try.group, first_try.group_name, first_try.data_length) == (19, "ECP_256", 64)
    assert (retry.group, retry.group_name, retry.data_length) == (15, "MODP_3072", 384)


def test_ke_of_a_rekey_inside_create_child_sa() -> None:
    _, inner, errors, icv_ok = decrypted("openswan/lp47-rekeyikev2-R1/rekeyCI1.pcap", 1, OPENSWAN_KEYS)
    assert icv_ok and not errors
    ke = one(inner, ikev2.KeyExchange)
    assert (ke.group_name, ke.data_length) == ("MODP_2048", 256)
    assert one(inner, ikev2.Nonce).nonce_length == 16


def test_corrupt_nonce_of_the_openswan_failure_case_is_reported() -> None:
    _, inner, errors, _ = decrypted("openswan/lp88-rekeyv2-inval-R1/rekeyCI1.pcap", 1, OPENSWAN_KEYS)
    assert one(inner, ikev2.Nonce).nonce_length == 2
    assert errors == [("Nonce at offset 264: nonce of 2 octets, outside the 16..256 that RFC 7296 §3.9 "
                       "allows")]


# --- Notify --------------------------------------------------------------------------------------

def test_invalid_ke_payload_names_the_accepted_group() -> None:
    message = frame("zeek-plugin-ikev2/ikev2.pcap", 2)
    (notify,) = message.notifies
    assert (notify.notify_type, notify.notify_name) == (17, "INVALID_KE_PAYLOAD")
    assert notify.decoded == {"group": 15, "group_name": "MODP_3072"}


def test_invalid_ke_payload_without_its_group_is_an_error_not_a_crash() -> None:
    good = frame("openswan/lp08-parentR1/parentR1notify.pcap", 1)
    assert good.notifies[0].decoded == {"group": 14, "group_name": "MODP_2048"}
    assert good.errors == ["2 octets after the last payload (next payload NONE at offset 38)"]
    bad = frame("openswan/lp08-parentR1/parentR1notify.pcap", 2)
    assert bad.notifies[0].notify_name == "INVALID_KE_PAYLOAD"
    assert bad.notifies[0].decoded == {}
    assert bad.errors == ["N(INVALID_KE_PAYLOAD) at offset 28: notification data has 0 octets, expected 2"]


def test_cookie_challenge_and_the_retry_that_echoes_it() -> None:
    challenge = frame("tcpdump/ikev2four.pcap", 2)
    retry = frame("tcpdump/ikev2four.pcap", 3)
    (cookie,) = challenge.notifies
    assert cookie.notify_name == "COOKIE"
    assert cookie.decoded == {"cookie": "00000001c2221e50c16e123f2b0c71aefcf0cb3b798782c6",
                              "cookie_length": 24}
    assert retry.payloads[0].name == "N" and retry.notifies[0].decoded == cookie.decoded


def test_nat_detection_hashes_are_20_octets_of_hex() -> None:
    notifies = frame("tcpdump/ikev2four.pcap", 1).notifies
    assert [(n.notify_name, n.decoded) for n in notifies] == [
        ("NAT_DETECTION_SOURCE_IP", {"hash": "442ffe5aea0cee4dbacc758e801233bdc09a0abf"}),
        ("NAT_DETECTION_DESTINATION_IP", {"hash": "ba041b5de59955900d818ac54e18b236739d9e8b"}),
    ]


def test_redirect_names_the_new_gateway_and_the_retry_names_the_old_one() -> None:
    capture = "scapy/ikev2_notify_redirect.pcap"
    offer = {n.notify_name: n for n in frame(capture, 1).notifies}
    assert offer["REDIRECT_SUPPORTED"].decoded == {}
    (redirect,) = frame(capture, 2).notifies
    assert redirect.notify_name == "REDIRECT"
    assert redirect.decoded == {
        "gateway_type": 3, "gateway_type_name": "FQDN", "gateway": "moneybin.duckburg.disney.com",
        "nonce": "4bf3ea6cd0c6afe702c567fe7db3ff973424bb5e9de6af123a41975a6ffb266e9c5b4c915795132b"}
    retry = {n.notify_name: n for n in frame(capture, 3).notifies}
    assert retry["REDIRECTED_FROM"].decoded == {"gateway_type": 1, "gateway_type_name": "IPV4",
                                                "gateway": "10.5.2.52"}
    assert [n.notify_name for n in frame(capture, 4).notifies] == ["NO_PROPOSAL_CHOSEN"]


def test_signature_hash_algorithms_are_listed_by_name() -> None:
    notifies = {n.notify_name: n for n in frame("scapy/ikev2_notify_redirect.pcap", 1).notifies}
    assert notifies["SIGNATURE_HASH_ALGORITHMS"].decoded == {
        "hash_algorithm_ids": [1, 2, 3, 4], "hash_algorithms": ["SHA1", "SHA2_256", "SHA2_384", "SHA2_512"]}
    assert notifies["IKEV2_FRAGMENTATION_SUPPORTED"].decoded == {"fragmentation_supported": True}


def test_error_notifies_seen_only_after_decryption() -> None:
    _, syntax, _, _ = decrypted("openswan/lp89-rekeyv2-inval-inCR1/rekeyCR1.pcap", 1, OPENSWAN_KEYS)
    _, message_id, _, _ = decrypted("openswan/lp86-h2h-invalid-deleteSA-R2-R/h2hI3deleteNack.pcap", 1,
                                    OPENSWAN_KEYS)
    assert [(n.notify_type, n.notify_name) for n in all_of(syntax, Notify)] == [(7, "INVALID_SYNTAX")]
    assert [(n.notify_type, n.notify_name) for n in all_of(message_id, Notify)] == [(9, "INVALID_MESSAGE_ID")]


@pytest.mark.parametrize(("number", "name"), [
    (14, "NO_PROPOSAL_CHOSEN"), (24, "AUTHENTICATION_FAILED"), (38, "TS_UNACCEPTABLE"),
    (43, "TEMPORARY_FAILURE"), (47, "STATE_NOT_FOUND"), (48, "TS_MAX_QUEUE"),
    (16415, "USE_WESP_MODE"), (16430, "IKEV2_FRAGMENTATION_SUPPORTED"), (16435, "USE_PPK"),
    (16438, "INTERMEDIATE_EXCHANGE_SUPPORTED"), (16439, "IP4_ALLOWED"), (16440, "IP6_ALLOWED"),
    (16441, "ADDITIONAL_KEY_EXCHANGE"), (16442, "USE_AGGFRAG"), (16443, "SUPPORTED_AUTH_METHODS"),
    (16444, "SA_RESOURCE_INFO"), (16445, "USE_PPK_INT"), (16446, "PPK_IDENTITY_KEY"),
    (2, "UNKNOWN_2"), (8192, "UNKNOWN_8192"), (12345, "UNKNOWN_12345"), (40960, "UNKNOWN_40960"),
])
def test_notify_names_follow_the_iana_registry_and_unknown_numbers_say_so(number: int, name: str) -> None:
    data = bytearray(message_at("tcpdump/ikev2four.pcap", 2))  # a lone COOKIE notify
    data[34:36] = number.to_bytes(2, "big")
    (notify,) = dissect(bytes(data)).notifies
    assert (notify.notify_type, notify.notify_name) == (number, name)


def test_rekey_sa_names_the_spi_being_rekeyed() -> None:
    # Hand-built (REKEY_SA only travels encrypted in the corpus captures, none of which has keys).
    message = dissect(build(36, [(41, struct.pack("!BBH", 3, 4, 16393) + bytes.fromhex("c1d717e8"))]))
    assert not message.errors
    assert message.notifies[0].decoded == {"spi": "c1d717e8", "protocol": "ESP"}


# --- identities, certificates, authentication ----------------------------------------------------

def test_idi_as_rfc822_address_and_idr_as_distinguished_name() -> None:
    _, request, _, _ = decrypted(WIKI, 39, WIKI_KEYS)
    _, response, _, _ = decrypted(WIKI, 40, WIKI_KEYS)
    idi = one(request, ikev2.Identification)
    idr = one(response, ikev2.Identification)
    assert (idi.name, idi.id_type_name, idi.value) == ("IDi", "ID_RFC822_ADDR", "ikev2-cert")
    assert (idr.name, idr.id_type, idr.id_type_name) == ("IDr", 9, "ID_DER_ASN1_DN")
    # the subject of the responder's certificate, which tshark prints in the CERT payload
    assert idr.value == "C=DE, O=Demo Organization, OU=Demo OU, CN=Server1, E=server1@demo.ncp-e.com"


def test_idi_as_fqdn() -> None:
    _, inner, _, _ = decrypted("openswan/lp12-parentR2/parentI2.pcap", 1, OPENSWAN_KEYS)
    idi = one(inner, ikev2.Identification)
    assert (idi.id_type_name, idi.value) == ("ID_FQDN", "parker01.emmjay.credil.org")


@pytest.mark.parametrize(("id_type", "data", "name", "value"), [
    (1, bytes([192, 0, 2, 7]), "ID_IPV4_ADDR", "192.0.2.7"),
    (2, b"vpn.example.net", "ID_FQDN", "vpn.example.net"),
    (3, b"alice@example.net", "ID_RFC822_ADDR", "alice@example.net"),
    (5, bytes.fromhex("20010db8000000000000000000000001"), "ID_IPV6_ADDR", "2001:db8::1"),
    (10, bytes.fromhex("820b6578616d706c652e6e6574"), "ID_DER_ASN1_GN", "820b6578616d706c652e6e6574"),
    (11, b"\x01\x02key", "ID_KEY_ID", "01026b6579"),
    (12, b"\x10\x00", "ID_FC_NAME", "1000"),
    (13, b"", "ID_NULL", ""),
    (9, b"\x30\x03\x31\x01", "ID_DER_ASN1_DN", "30033101"),  # a DN that does not parse: hex
])
def test_every_id_type_has_a_readable_value(id_type: int, data: bytes, name: str, value: str) -> None:
    # Hand-built IDi payloads (the corpus has only IPv4, FQDN, RFC822 and DN identities).
    message = dissect(build(35, [(35, bytes([id_type, 0, 0, 0]) + data)]))
    idi = one(message.payloads, ikev2.Identification)
    assert (idi.id_type_name, idi.value, idi.data) == (name, value, data)
    assert not message.errors


def test_group_identification_idg_of_rfc_9838_reads_like_an_id_payload() -> None:
    message = dissect(build(39, [(50, bytes([11, 0, 0, 0]) + b"\x00\x00\x04\xd2")]))
    idg = one(message.payloads, ikev2.Identification)
    assert (idg.name, idg.id_type_name, idg.value) == ("IDg", "ID_KEY_ID", "000004d2")
    assert message.exchange_name == "GSA_AUTH"


def test_ipv4_id_with_one_octet_of_address_is_reported() -> None:
    message = frame("tcpdump/ikev2-id-normal.pcap", 1)
    idi = one(message.payloads, ikev2.Identification)
    assert (idi.id_type_name, idi.data) == ("ID_IPV4_ADDR", b"\xde")
    assert message.errors == ["IDi at offset 28: ID_IPV4_ADDR data has 1 octet, expected 4",
                              "39 octets after the last payload (next payload NONE at offset 37)"]


def test_id_payload_too_short_for_its_header_is_reported() -> None:
    message = frame("tcpdump/ikev2-id-short.pcap", 1)
    assert message.payload_names == ["IDi"]
    assert message.errors[0] == ("IDi at offset 28: body has 1 octet, below the 4 of ID type and reserved "
                                 "fields")


def test_certificate_and_certificate_request_payloads() -> None:
    _, inner, _, _ = decrypted(WIKI, 39, WIKI_KEYS)
    cert = one(inner, ikev2.Certificate)
    assert (cert.encoding, cert.encoding_name, len(cert.data)) == (4, "X509_CERTIFICATE_SIGNATURE", 727)
    assert cert.data[:2] == b"\x30\x82"
    certreq = one(inner, ikev2.CertificateRequest)
    assert certreq.encoding_name == "X509_CERTIFICATE_SIGNATURE"
    assert certreq.authorities == ["91c1dc0f2a8f0e3bd7da991a43a39226355e4229",
                                   "bcb62a0e9de979fda864e3f06460dcaaff850759",
                                   "f48956233865214e9a10e6376f4c59b5c02f366d"]


def test_cleartext_certificate_of_the_synthetic_arkime_capture() -> None:
    cert = one(frame("arkime/ike-cert_synthetic.pcap", 2).payloads, ikev2.Certificate)
    assert (cert.encoding_name, len(cert.data)) == ("X509_CERTIFICATE_SIGNATURE", 301)


def test_auth_digital_signature_names_its_algorithm_identifier() -> None:
    _, inner, _, _ = decrypted(WIKI, 39, WIKI_KEYS)
    auth = one(inner, ikev2.Authentication)
    assert (auth.method, auth.method_name) == (14, "DIGITAL_SIGNATURE")
    assert (auth.signature_algorithm_length, auth.signature_algorithm) == (12, "ecdsa-with-SHA256")


def test_auth_rsa_signature() -> None:
    _, inner, _, _ = decrypted("openswan/lp13-parentI3/parentR2.pcap", 1, OPENSWAN_KEYS)
    auth = one(inner, ikev2.Authentication)
    assert (auth.method_name, auth.signature_algorithm_length) == ("RSA_DIGITAL_SIGNATURE", None)


# --- traffic selectors, configuration, delete ----------------------------------------------------

def test_traffic_selectors_read_as_ranges_and_prefixes() -> None:
    _, inner, _, _ = decrypted(WIKI, 40, WIKI_KEYS)
    tsi, tsr = all_of(inner, ikev2.TrafficSelectors)
    (initiator,) = tsi.selectors
    (responder,) = tsr.selectors
    assert (tsi.name, initiator.ts_type_name) == ("TSi", "TS_IPV4_ADDR_RANGE")
    assert initiator.text == "192.168.225.12/32"
    assert (responder.start_address, responder.end_address) == ("192.168.225.0", "192.168.225.255")
    assert (responder.ip_protocol, responder.start_port, responder.end_port) == (0, 0, 65535)
    assert responder.text == "192.168.225.0/24"


def test_ipv6_traffic_selectors() -> None:
    _, inner, _, _ = decrypted("openswan/lp12-parentR2/parentI2.pcap", 1, OPENSWAN_KEYS)
    tsi, tsr = all_of(inner, ikev2.TrafficSelectors)
    assert [s.text for s in tsi.selectors] == ["fd68:c9f9:4157:2:0:1::/96"]
    assert [s.text for s in tsr.selectors] == ["fd68:c9f9:4157::/64"]
    assert tsr.selectors[0].ts_type_name == "TS_IPV6_ADDR_RANGE"


def test_traffic_selector_text_shows_protocol_ports_and_odd_ranges() -> None:
    # Hand-built TSi with three selectors: a range with TCP/443, UDP with opaque ports, and ICMP.
    def ipv4(protocol: int, ports: tuple[int, int], first: str, last: str) -> bytes:
        return (struct.pack("!BBHHH", 7, protocol, 16, *ports) + bytes(map(int, first.split(".")))
                + bytes(map(int, last.split("."))))
    selectors = (ipv4(6, (443, 443), "10.0.0.1", "10.0.0.9")
                 + ipv4(17, (65535, 0), "10.1.0.0", "10.1.255.255")
                 + ipv4(1, (0, 65535), "0.0.0.0", "255.255.255.255"))
    message = dissect(build(35, [(44, bytes([3, 0, 0, 0]) + selectors)]))
    assert not message.errors
    assert [s.text for s in one(message.payloads, ikev2.TrafficSelectors).selectors] == [
        "10.0.0.1-10.0.0.9[tcp/443]", "10.1.0.0/16[udp/OPAQUE]", "0.0.0.0/0[icmp]"]


def test_configuration_request_and_reply() -> None:
    _, request, _, _ = decrypted(WIKI, 39, WIKI_KEYS)
    _, reply, _, _ = decrypted(WIKI, 40, WIKI_KEYS)
    cp_request = one(request, ikev2.Configuration)
    assert cp_request.cfg_type_name == "CFG_REQUEST"
    assert [a.name for a in cp_request.attributes][:4] == [
        "INTERNAL_IP4_ADDRESS", "INTERNAL_IP4_NETMASK", "INTERNAL_IP4_DNS", "INTERNAL_IP4_NBNS"]
    assert all(a.value == "" for a in cp_request.attributes[:4])
    cp_reply = one(reply, ikev2.Configuration)
    assert cp_reply.cfg_type_name == "CFG_REPLY"
    values = [(a.name, a.value) for a in cp_reply.attributes]
    assert values[:2] == [("INTERNAL_IP4_ADDRESS", "192.168.225.12"),
                          ("INTERNAL_IP4_NETMASK", "255.255.255.0")]
    assert ("INTERNAL_IP4_DNS", "0.0.0.0") in values
    assert ("UNKNOWN_20004", "c0a8e101") in values  # a private-use attribute, kept as hex


def test_configuration_attributes_of_ipv6_and_text_are_readable() -> None:
    # Hand-built CFG_REPLY: IPv6 address with prefix, IPv6 DNS, IPv4 subnet, application version.
    def attribute(kind: int, value: bytes) -> bytes:
        return struct.pack("!HH", kind, len(value)) + value
    address = bytes.fromhex("20010db8000000000000000000000005")
    body = bytes([2, 0, 0, 0]) + (attribute(8, address + bytes([64])) + attribute(10, address)
                                  + attribute(13, bytes([10, 9, 0, 0, 255, 255, 0, 0]))
                                  + attribute(7, b"strongSwan 6.0") + attribute(14, b"\x00\x01\x00\x03"))
    message = dissect(build(35, [(47, body)]))
    assert not message.errors
    assert [(a.name, a.value) for a in one(message.payloads, ikev2.Configuration).attributes] == [
        ("INTERNAL_IP6_ADDRESS", "2001:db8::5/64"), ("INTERNAL_IP6_DNS", "2001:db8::5"),
        ("INTERNAL_IP4_SUBNET", "10.9.0.0/255.255.0.0"), ("APPLICATION_VERSION", "strongSwan 6.0"),
        ("SUPPORTED_ATTRIBUTES", "INTERNAL_IP4_ADDRESS,INTERNAL_IP4_DNS")]


def test_delete_of_a_child_sa_lists_its_spi() -> None:
    _, inner, errors, icv_ok = decrypted(WIKI, 49, WIKI_KEYS)
    assert icv_ok and not errors
    delete = one(inner, ikev2.Delete)
    assert (delete.protocol_name, delete.spi_size, delete.spi_count) == ("ESP", 4, 1)
    assert [spi.hex() for spi in delete.spis] == ["c1d717e8"]
    _, openswan, _, _ = decrypted("openswan/lp83-h2h-deleteSA-I3/h2hR2delete.pcap", 2, OPENSWAN_KEYS)
    assert [spi.hex() for spi in one(openswan, ikev2.Delete).spis] == ["12345678"]


def test_delete_of_the_ike_sa_has_no_spi_and_a_wrong_count_is_reported() -> None:
    message = dissect(build(37, [(42, struct.pack("!BBH", 1, 0, 0))]))
    delete = one(message.payloads, ikev2.Delete)
    assert (delete.protocol_name, delete.spis, message.errors) == ("IKE", [], [])
    broken = dissect(build(37, [(42, struct.pack("!BBH", 3, 4, 2) + b"\x01\x02\x03\x04")]))
    assert one(broken.payloads, ikev2.Delete).spis == [b"\x01\x02\x03\x04"]
    assert broken.errors == ["D at offset 28: 2 SPIs of 4 octets announced, 4 octets present"]


# --- vendor IDs ----------------------------------------------------------------------------------

def test_vendor_ids_keep_their_data_and_the_vendor_name_when_known() -> None:
    vendor_ids = all_of(frame("zeek-spicy-ipsec/ipsec_client.pcap", 1).payloads, ikev2.VendorID)
    assert len(vendor_ids) == 4
    for vendor_id in vendor_ids:
        match = identify_vendor(vendor_id.data)
        assert vendor_id.vendor == (match.name if match else None)
        assert vendor_id.vendor_version == (match.version if match else None)
    assert vendor_ids[0].data.hex() == "1e2b516905991c7d7c96fcbfb587e46100000009"


# --- SK and SKF ----------------------------------------------------------------------------------

def test_encrypted_payload_is_opaque_and_names_its_inner_first_payload() -> None:
    message = frame("suricata-verify/detect-bypass-udp/input.pcap", 1)
    sk = one(message.payloads, ikev2.Encrypted)
    assert (sk.name, sk.inner_first_payload, sk.inner_first_payload_name) == ("SK", 34, "KE")
    assert (sk.iv_size, sk.icv_size) == (None, None)
    assert len(sk.data) == sk.length - 4
    assert message.encrypted


def test_encrypted_fragments_number_themselves_and_only_the_first_names_the_inner_payload() -> None:
    first = one(frame("zeek-plugin-ikev2/ikev2.pcap", 5).payloads, ikev2.EncryptedFragment)
    second = one(frame("zeek-plugin-ikev2/ikev2.pcap", 6).payloads, ikev2.EncryptedFragment)
    assert (first.name, first.fragment_number, first.total_fragments, first.inner_first_payload_name) == (
        "SKF", 1, 2, "IDi")
    assert (second.fragment_number, second.total_fragments, second.inner_first_payload) == (2, 2, 0)


def test_fragmented_ike_intermediate_messages() -> None:
    capture = "suricata-verify/detect-bypass-udp/input.pcap"
    fragments = [p for m in ike_messages(capture) for p in dissect(m.data).payloads
                 if isinstance(p, ikev2.EncryptedFragment)]
    assert fragments and max(f.total_fragments for f in fragments) == 7
    assert all(1 <= f.fragment_number <= f.total_fragments for f in fragments)
    assert {f.inner_first_payload for f in fragments if f.fragment_number > 1} == {0}


@pytest.mark.parametrize(("encr", "key_bits", "integ", "layout"), [
    (12, 128, 12, (16, 16)),   # AES-CBC / HMAC-SHA2-256-128
    (12, 256, 2, (16, 12)),    # AES-CBC / HMAC-SHA1-96
    (3, None, 1, (8, 12)),     # 3DES / HMAC-MD5-96
    (13, 256, 14, (8, 32)),    # AES-CTR / HMAC-SHA2-512-256
    (20, 256, None, (8, 16)),  # AES-GCM-16
    (18, 128, 0, (8, 8)),      # AES-GCM-8, INTEG NONE
    (19, 192, None, (8, 12)),  # AES-GCM-12
    (16, 128, None, (8, 16)),  # AES-CCM-16
    (28, None, None, (8, 16)),  # ChaCha20-Poly1305
    (23, 128, 13, (16, 24)),   # Camellia-CBC / HMAC-SHA2-384-192
])
def test_sk_layout_of_known_ciphers(encr: int, key_bits: int | None, integ: int | None,
                                    layout: tuple[int, int]) -> None:
    assert ikev2.sk_layout(encr, key_bits, integ) == layout


def test_sk_layout_refuses_to_guess() -> None:
    with pytest.raises(ValueError, match="ENCR_KUZNYECHIK_MGM_KTREE"):
        ikev2.sk_layout(32, 256, None)
    with pytest.raises(ValueError, match="UNKNOWN_99"):
        ikev2.sk_layout(12, 128, 99)


@pytest.mark.parametrize(("capture", "number", "table"), [
    (WIKI, 3, WIKI_KEYS),    # AES-GCM-16-256
    (WIKI, 21, WIKI_KEYS),   # AES-CTR-256 + HMAC-SHA2-256-128
    (WIKI, 39, WIKI_KEYS),   # AES-CBC-256 + HMAC-SHA2-256-128
    ("openswan/lp65-nattI3/nattR2.pcap", 1, OPENSWAN_KEYS),  # AES-CBC-128, over UDP 4500
])
def test_sk_layout_locates_iv_and_icv_of_real_encrypted_messages(capture: str, number: int,
                                                                  table: str) -> None:
    _, inner, errors, icv_ok = decrypted(capture, number, table)
    assert icv_ok, "the ICV computed over the message does not match the octets sk_layout points at"
    assert not errors and inner
    rows = {int(row["frame.number"]): row for row in tshark_rows(capture, decrypted=True)}
    types = [int(t) for t in rows[number]["isakmp.typepayload"].split(",") if t not in ("2", "3")]
    assert [46] + [p.type for p in inner] == types


def test_ikev2pi2_auth_decrypts_but_its_icv_does_not_match() -> None:
    # The corpus notes that tshark, too, reports an ICV mismatch on this message.
    _, inner, errors, icv_ok = decrypted("tcpdump/ikev2pI2.pcap", 2,
                                         "tcpdump/ikev2pI2.ikev2_decryption_table")
    assert not icv_ok
    assert [p.name for p in inner] == ["IDi", "AUTH"] and not errors


# --- payloads no public capture carries (hand-built) ----------------------------------------------

def test_eap_payload_reads_code_identifier_and_method() -> None:
    identity = bytes([2, 7, 0, 14, 1]) + b"ikesniff@"
    message = dissect(build(35, [(48, identity)]))
    eap = one(message.payloads, ikev2.ExtensibleAuthentication)
    assert (eap.code_name, eap.identifier, eap.eap_length, eap.eap_type_name, eap.data) == (
        "RESPONSE", 7, 14, "IDENTITY", b"ikesniff@")
    assert not message.errors
    success = one(dissect(build(35, [(48, bytes([3, 8, 0, 4]))])).payloads, ikev2.ExtensibleAuthentication)
    assert (success.code_name, success.eap_type) == ("SUCCESS", None)
    wrong = dissect(build(35, [(48, bytes([1, 9, 0, 40, 26]))]))
    assert wrong.errors == ["EAP at offset 28: EAP length 40 differs from the 5 octets of the payload"]


def test_gspm_and_group_key_payloads_are_kept_by_name() -> None:
    message = dissect(build(35, [(49, b"\x01\x02"), (51, b"\x00" * 8), (52, b"\x00\x01\x00\x00"),
                                 (54, b"\x05\x05")]))
    assert message.payload_names == ["GSPM", "GSA", "KD", "PS"]
    assert isinstance(message.payloads[0], ikev2.GenericSecurePasswordMethod)
    assert message.payloads[0].data == b"\x01\x02"
    assert all(isinstance(p, OpaquePayload) for p in message.payloads[1:])


def test_unknown_critical_payload_is_kept_opaque_with_its_critical_bit() -> None:
    message = dissect(build(34, [(200, b"secret"), (41, struct.pack("!BBH", 0, 0, 16430))], critical=(0,)))
    unknown = message.payloads[0]
    assert isinstance(unknown, OpaquePayload)
    assert (unknown.name, unknown.critical, unknown.data) == ("UNKNOWN_200", True, b"secret")
    assert message.payloads[1].name == "N" and not message.errors


def test_sk_must_be_the_last_payload() -> None:
    data = build(35, [(46, b"\x00" * 32)]) + b"\xff" * 8
    data = data[:24] + (len(data)).to_bytes(4, "big") + data[28:]
    message = dissect(data)
    assert message.payload_names == ["SK"]
    assert message.errors == ["8 octets after the SK payload at offset 28, which must be the last"]


# --- malformed and truncated input ---------------------------------------------------------------

TRUNCATION_SAMPLES = [
    ("tcpdump/ikev2four.pcap", 1), ("tcpdump/ikev2four.pcap", 2), ("zeek-plugin-ikev2/ikev2.pcap", 1),
    ("zeek-plugin-ikev2/ikev2.pcap", 2), ("zeek-plugin-ikev2/ikev2.pcap", 5),
    ("scapy/ikev2_notify_redirect.pcap", 2), ("scapy/ikev2_notify_redirect.pcap", 3),
    ("arkime/ike-cert_synthetic.pcap", 2), (WIKI, 1), (WIKI, 2),
]


def truncation_samples() -> list[bytes]:
    samples = [message_at(capture, number) for capture, number in TRUNCATION_SAMPLES]
    # IKE_AUTH payloads (ID, CERT, CERTREQ, AUTH, CP, SA, TS, V, N; D) in the clear
    samples += [cleartext_copy(WIKI, 39, WIKI_KEYS), cleartext_copy(WIKI, 40, WIKI_KEYS),
                cleartext_copy(WIKI, 49, WIKI_KEYS)]
    return samples


_SAMPLES = truncation_samples()


def test_truncated_messages_keep_what_was_read_and_report_the_rest() -> None:
    for data in _SAMPLES:
        whole = dissect(data)
        assert not whole.errors
        complete = [(p.type, p.offset) for p in whole.payloads]
        for cut in range(len(data)):
            message = parse_message(data[:cut])
            assert message.errors, f"no error for {cut} of {len(data)} octets"
            if cut < 28:
                continue
            read = [(p.type, p.offset) for p in message.payloads]
            assert read == complete[:len(read)]
            ends = [p.offset + p.length for p in whole.payloads]
            assert len(read) == sum(1 for end in ends if end <= cut)


def test_shortened_payload_bodies_never_raise_and_broken_counts_are_reported() -> None:
    """Cut each payload's body at every length, fixing the payload and message length fields, so
    that the payload parsers themselves meet the missing octets."""
    for data in _SAMPLES:
        whole = dissect(data)
        for index, payload in enumerate(whole.payloads):
            start, end = payload.offset, payload.offset + payload.length
            for size in range(4, payload.length):
                shortened = bytearray(data[:start + size] + data[end:])
                shortened[start + 2:start + 4] = size.to_bytes(2, "big")
                shortened[24:28] = len(shortened).to_bytes(4, "big")
                message = dissect(bytes(shortened))
                assert [p.type for p in message.payloads] == [p.type for p in whole.payloads]
                if isinstance(payload, (ikev2.SecurityAssociation, ikev2.TrafficSelectors, ikev2.Delete)):
                    assert message.errors, (payload.name, size)


def test_malformed_corpus_messages_report_errors_without_raising() -> None:
    for capture, number in sorted(MALFORMED):
        message = frame(capture, number)
        assert message.errors, (capture, number)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300), st.integers(min_value=0, max_value=255),
       st.integers(min_value=0, max_value=255))
def test_arbitrary_bytes_after_an_ikev2_header_never_raise(body: bytes, first: int, exchange: int) -> None:
    header = struct.pack("!8s8sBBBBII", SPI_I, bytes(8), first, 0x20, exchange, 0x08, 0, 28 + len(body))
    message = parse_message(header + body)
    assert isinstance(message.errors, list)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(_SAMPLES))), st.lists(
    st.tuples(st.integers(min_value=0, max_value=4000), st.integers(min_value=0, max_value=255)), max_size=8))
def test_real_messages_with_flipped_octets_never_raise(sample: int, flips: list[tuple[int, int]]) -> None:
    data = bytearray(_SAMPLES[sample])
    for position, value in flips:
        data[28 + position % (len(data) - 28)] = value
    message = parse_message(bytes(data))
    for payload in message.payloads:
        dataclasses.asdict(payload)


# --- registry tables -----------------------------------------------------------------------------

def test_registry_names_are_upper_snake_case() -> None:
    tables = [registry.EXCHANGE_TYPES, registry.TRANSFORM_TYPES, registry.ENCRYPTION_ALGORITHMS,
              registry.PSEUDORANDOM_FUNCTIONS, registry.INTEGRITY_ALGORITHMS, registry.KEY_EXCHANGE_METHODS,
              registry.SEQUENCE_NUMBERS, registry.PROTOCOL_IDS, registry.ID_TYPES,
              registry.CERTIFICATE_ENCODINGS, registry.AUTH_METHODS, registry.NOTIFY_TYPES, registry.TS_TYPES,
              registry.CP_TYPES, registry.CONFIG_ATTRIBUTES, registry.EAP_CODES, registry.EAP_TYPES,
              registry.HASH_ALGORITHMS, registry.GATEWAY_IDENTITY_TYPES]
    for table in tables:
        for number, name in table.items():
            assert isinstance(number, int)
            upper_snake = name.replace("_", "").isalnum() and name.upper() == name
            assert upper_snake or name == "USE_ASSIGNED_HoA", name


def test_notify_registry_splits_errors_and_status_types_at_16384() -> None:
    assert all(number < registry.FIRST_STATUS_TYPE for number in registry.NOTIFY_ERROR_TYPES)
    assert all(number >= registry.FIRST_STATUS_TYPE for number in registry.NOTIFY_STATUS_TYPES)
    assert len(set(registry.NOTIFY_TYPES.values())) == len(registry.NOTIFY_TYPES)
    assert list(registry.NOTIFY_STATUS_TYPES) == list(range(16384, 16448))


def test_payload_names_use_the_ikev2_notation() -> None:
    assert [ikev2.payload_name(n) for n in range(33, 55)] == [
        "SA", "KE", "IDi", "IDr", "CERT", "CERTREQ", "AUTH", "Nonce", "N", "D", "V", "TSi", "TSr", "SK", "CP",
        "EAP", "GSPM", "IDg", "GSA", "KD", "SKF", "PS"]
    assert ikev2.payload_name(132) == "UNKNOWN_132"
