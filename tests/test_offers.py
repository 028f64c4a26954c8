"""Offers read from real SA payloads, compared between the two sides, and judged against RFC 8247 / RFC 8221.

Ground truth, none of it written by us: the lab labels (what each strongSwan was configured with), the
charon logs of the lab (`received proposals:` / `configured proposals:` / `selected proposal:` — what
strongSwan itself read and decided), and the corpus MANIFEST (what other projects' tests say the captures
offer). Payloads IKEv2 and IKEv1 encrypt are reached with the key tables committed beside the captures.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import pytest
from oracle import CORPUS, PCAPS
from test_ikev2_helpers import decrypt_sk, key_table

from dissectors import Message, Payload, ikev1, ikev2, parse_message
from dissectors import ikev1_registry as v1_registry
from ikesniff.capture import read_capture
from ikesniff.capture.events import CaptureStats, IkeDatagram
from ikesniff.offers import (
    CODES,
    ENCAPSULATION_MODE,
    GROUPS,
    V1_ESP_ENCRYPTION,
    V1_IKE_ENCRYPTION,
    V1_IPSEC_INTEGRITY,
    V2_ENCRYPTION,
    V2_INTEGRITY,
    Difference,
    Offer,
    agree,
    code_for,
    common,
    compare,
    offers_of,
    offers_text,
    weaknesses,
    without_key_exchange,
)

# --------------------------------------------------------------------------------------------
# Reading the captures (clear payloads, and the payloads the key tables unlock)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """One IKE message of a capture and the payloads it carries (decrypted where keys allow)."""

    frame: int
    src: str
    message: Message
    payloads: tuple[Payload, ...]
    decrypted: bool = False


def _label(name: str) -> dict[str, object]:
    return json.loads((PCAPS / f"{name}.json").read_text())  # type: ignore[no-any-return]


def _lab_captures() -> list[str]:
    return sorted(path.stem for path in PCAPS.glob("*.pcap") if (PCAPS / f"{path.stem}.json").exists())


@cache
def seen(name: str) -> tuple[Seen, ...]:
    """Every IKE message of a lab capture (pcaps/NAME.pcap), encrypted ones decrypted with its key table."""
    path = PCAPS / f"{name}.pcap"
    found: list[Seen] = []
    items = [(item, parse_message(item.data)) for item in read_capture(str(path), CaptureStats())
             if isinstance(item, IkeDatagram)]
    v2_table = path.with_suffix(".ikev2_decryption_table")
    v1_table = path.with_suffix(".ikev1_decryption_table")
    v2_keys = key_table(str(v2_table)) if v2_table.exists() else []
    v1_plaintexts = _ikev1_plaintexts(items, v1_table) if v1_table.exists() else {}
    fragments: dict[tuple[bytes, int, bool], dict[int, tuple[int, bytes]]] = {}
    for item, message in items:
        payloads: tuple[Payload, ...] = tuple(message.payloads)
        decrypted = False
        fragment = next((p for p in message.payloads if isinstance(p, ikev2.EncryptedFragment)), None)
        if fragment is not None and v2_keys:
            inner = _ikev2_fragments(item.data, message, fragment, v2_keys, fragments)
            if inner is not None:
                payloads, decrypted = inner, True
        elif message.version == 2 and v2_keys:
            inner = _ikev2_inner(item.data, message, v2_keys)
            if inner is not None:
                payloads, decrypted = inner, True
        elif item.frame in v1_plaintexts:
            inner_message = ikev1.parse_decrypted(message.header, v1_plaintexts[item.frame])
            if not inner_message.errors:  # a wrong key (PSK mismatch: each side has its own) reads as noise
                payloads, decrypted = tuple(inner_message.payloads), True
        found.append(Seen(item.frame, item.src, message, payloads, decrypted))
    return tuple(found)


def _ikev2_inner(data: bytes, message: Message, keys: list[object]) -> tuple[Payload, ...] | None:
    sk = next((p for p in message.payloads if type(p) is ikev2.Encrypted), None)
    if sk is None:
        return None
    row = next((k for k in keys if k.spi_i == message.header.spi_i  # type: ignore[attr-defined]
                and k.spi_r == message.header.spi_r), None)  # type: ignore[attr-defined]
    assert row is not None, f"no key for IKE SA {message.header.spi_i.hex()}"
    iv_size, icv_size = ikev2.sk_layout(row.encr_id, row.key_bits, row.integ_id)
    plain, icv_ok = decrypt_sk(data, row, iv_size, icv_size, sk.offset)
    assert icv_ok
    errors: list[str] = []
    inner = ikev2.parse_payloads(memoryview(plain), sk.inner_first_payload, 0, len(plain), errors)
    assert not errors, errors
    return tuple(inner)


def _ikev2_fragments(data: bytes, message: Message, fragment: ikev2.EncryptedFragment, keys: list[object],
                     pending: dict[tuple[bytes, int, bool], dict[int, tuple[int, bytes]]]
                     ) -> tuple[Payload, ...] | None:
    """RFC 7383: each SKF is protected on its own; the inner chain is their plaintexts in order, read
    once the last fragment is in (its payloads are then given to the message completing it)."""
    import hmac

    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    header = message.header
    row = next(k for k in keys if k.spi_i == header.spi_i and k.spi_r == header.spi_r)  # type: ignore[attr-defined]
    assert (row.encr_id, row.integ_id) == (12, 12), "the lab negotiates AES-CBC with HMAC-SHA2-256-128"
    from_initiator = message.is_initiator
    body = data[fragment.offset + 8:fragment.offset + fragment.length]
    iv, ciphertext, icv = body[:16], body[16:-16], body[-16:]
    integrity_key = row.sk_ai if from_initiator else row.sk_ar
    assert hmac.compare_digest(hmac.new(integrity_key, data[:len(data) - 16], hashlib.sha256).digest()[:16], icv)
    decryptor = Cipher(algorithms.AES(row.sk_ei if from_initiator else row.sk_er), modes.CBC(iv)).decryptor()
    plain = decryptor.update(ciphertext) + decryptor.finalize()
    plain = plain[:len(plain) - 1 - plain[-1]]
    parts = pending.setdefault((header.spi_i, header.message_id, message.is_response), {})
    parts[fragment.fragment_number] = (fragment.inner_first_payload, plain)
    if len(parts) < fragment.total_fragments:
        return None
    whole = b"".join(parts[number][1] for number in sorted(parts))
    errors: list[str] = []
    inner = ikev2.parse_payloads(memoryview(whole), parts[1][0], 0, len(whole), errors)
    assert not errors, errors
    return tuple(inner)


def _ikev1_plaintexts(items: list[tuple[IkeDatagram, Message]], table: Path) -> dict[int, bytes]:
    """Frame -> plaintext body of the E-flagged IKEv1 messages (RFC 2409 Appendix B IV chain).

    Phase 1 IV: HASH(g^xi | g^xr); each phase 1 message chains from the previous one's last block.
    Each later exchange (message ID) starts from HASH(last phase 1 block | message ID) and chains on."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    rows = [line.split(",") for line in table.read_text().splitlines() if line and not line.startswith("#")]
    keys = {bytes.fromhex(cookie): bytes.fromhex(key) for cookie, key in rows}
    plaintexts: dict[int, bytes] = {}
    public_values: dict[bytes, list[bytes]] = {}
    phase1_block: dict[bytes, bytes] = {}
    exchange_block: dict[tuple[bytes, int], bytes] = {}
    seen_bodies: set[bytes] = set()
    for item, message in items:
        cookie = message.header.spi_i
        if not message.encrypted:
            public_values.setdefault(cookie, []).extend(
                p.data for p in message.payloads if isinstance(p, ikev1.KeyExchangePayload))
            continue
        if cookie not in keys or item.data in seen_bodies:  # retransmissions do not advance the chain
            continue
        seen_bodies.add(item.data)
        body = item.data[28:message.header.length]
        message_id = message.header.message_id
        if cookie not in phase1_block:  # aggressive mode encrypts nothing in phase 1: the chain starts here
            phase1_block[cookie] = hashlib.sha256(b"".join(public_values[cookie][:2])).digest()[:16]
        if message_id == 0:
            iv = phase1_block[cookie]
        else:
            iv = exchange_block.get((cookie, message_id)) or hashlib.sha256(
                phase1_block[cookie] + message_id.to_bytes(4, "big")).digest()[:16]
        decryptor = Cipher(algorithms.AES(keys[cookie]), modes.CBC(iv)).decryptor()
        plaintexts[item.frame] = decryptor.update(body) + decryptor.finalize()
        if message_id == 0:
            phase1_block[cookie] = body[-16:]
        else:
            exchange_block[(cookie, message_id)] = body[-16:]
    return plaintexts


def offers_in(name: str, frame: int) -> list[Offer]:
    return offers_of(next(s for s in seen(name) if s.frame == frame).payloads)


# --------------------------------------------------------------------------------------------
# strongSwan's own view: proposals as charon logs them ('ESP:AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ')
# --------------------------------------------------------------------------------------------
_CHARON_LINE = re.compile(r"(received|configured|selected) proposals?: (.*)$")
_CHARON_PARSED = re.compile(r"parsed (\w+) (?:request|response)")


def charon_offer(text: str) -> Offer:
    """An offer from charon's proposal notation; its transforms are named by the IKEv2 registry."""
    protocol, _, body = text.partition(":")
    kinds: dict[str, list[str]] = {"encryption": [], "integrity": [], "prf": [], "dh": [], "esn": []}
    for token in body.split("/"):
        name = token.replace("_", "-")
        if token.startswith("PRF_"):
            kinds["prf"].append(name)
        elif token.startswith(("HMAC_", "AES_XCBC", "AES_CMAC")):
            kinds["integrity"].append(name)
        elif token.startswith(("MODP_", "ECP_", "CURVE")):
            kinds["dh"].append(name)
        elif token in ("NO_EXT_SEQ", "EXT_SEQ"):
            kinds["esn"].append("NO-ESN" if token == "NO_EXT_SEQ" else "ESN")
        else:
            kinds["encryption"].append(name)
    return Offer(1, protocol, tuple(kinds["encryption"]), tuple(kinds["integrity"]), tuple(kinds["prf"]),
                 tuple(kinds["dh"]), (), None, None, (), tuple(kinds["esn"]), version=2)


@dataclass(frozen=True)
class Negotiation:
    """A 'received proposals' line of a responder's log, its 'configured proposals', and the outcome."""

    log: str
    received: Offer
    configured: tuple[Offer, ...]
    selected: bool
    exchange: str
    """The exchange of the message that carried the received proposals (from charon's 'parsed ...' line)."""


def negotiations(name: str) -> list[Negotiation]:
    found: list[Negotiation] = []
    for side in ("moon", "sun"):
        lines = (PCAPS / f"{name}.{side}.charon.log").read_text().splitlines()
        exchange = ""
        for index, line in enumerate(lines):
            parsed = _CHARON_PARSED.search(line)
            if parsed is not None:
                exchange = parsed[1]
            match = _CHARON_LINE.search(line)
            if match is None or match[1] != "received":
                continue
            configured: list[Offer] = []
            selected = False
            for later in lines[index + 1:]:
                follow = _CHARON_LINE.search(later)
                if follow is None:
                    if "proposal" in later and ("unacceptable" in later or "no acceptable" in later
                                                or "no matching" in later or "no proposal" in later):
                        break
                    continue
                if follow[1] == "configured":
                    configured.append(charon_offer(follow[2]))
                elif follow[1] == "selected":
                    selected = True
                    break
                else:
                    break
            found.append(Negotiation(f"{name}.{side}", charon_offer(match[2]), tuple(configured), selected,
                                     exchange))
    return found


# What charon logs for IKEv1 phase 1 is its internal IKEv2-style proposal: the hash stands for an
# integrity algorithm and a PRF.
_V1_HASH_AS_CHARON = {"SHA1": ("HMAC-SHA1-96", "PRF-HMAC-SHA1"),
                      "SHA2-256": ("HMAC-SHA2-256-128", "PRF-HMAC-SHA2-256"),
                      "SHA2-384": ("HMAC-SHA2-384-192", "PRF-HMAC-SHA2-384"),
                      "SHA2-512": ("HMAC-SHA2-512-256", "PRF-HMAC-SHA2-512")}


def algorithms(offer: Offer) -> tuple[object, ...]:
    """The parts of an offer charon's notation shows."""
    integrity, prf = offer.integrity, offer.prf
    if offer.version == 1 and offer.protocol == "IKE":
        integrity = tuple(_V1_HASH_AS_CHARON[h][0] for h in offer.integrity)
        prf = tuple(_V1_HASH_AS_CHARON[h][1] for h in offer.integrity)
    return (offer.protocol, offer.encryption, integrity, prf, offer.dh_groups, offer.esn)


def _requests_with_offers(name: str) -> list[Seen]:
    """Messages whose (clear or decrypted) payloads carry an SA, in capture order."""
    return [s for s in seen(name) if offers_of(s.payloads)]


# --------------------------------------------------------------------------------------------
# The lab captures
# --------------------------------------------------------------------------------------------
def test_both_gateways_initiating_with_different_ciphers_is_an_encryption_mismatch() -> None:
    moon = offers_in("ikev2-encryption-mismatch-both-ways", 1)
    sun = offers_in("ikev2-encryption-mismatch-both-ways", 3)
    assert [s.src for s in seen("ikev2-encryption-mismatch-both-ways") if s.frame in (1, 3)] == \
        ["192.0.2.1", "192.0.2.2"]
    assert offers_text(moon) == "AES-CBC-256/HMAC-SHA2-256-128/PRF-HMAC-SHA2-256/MODP-2048"
    assert offers_text(sun) == "AES-CBC-128/HMAC-SHA2-256-128/PRF-HMAC-SHA2-256/MODP-2048"
    assert not agree(moon, sun)
    difference = compare(moon, sun, names=("moon", "sun"))
    assert difference == Difference(
        "EncryptionAlgorithmMismatch",
        "encryption differs: moon offers AES-CBC-256, sun AES-CBC-128; integrity, PRF and DH group agree "
        "(HMAC-SHA2-256-128, PRF-HMAC-SHA2-256, MODP-2048)",
        ("encryption",), moon[0], sun[0])
    assert _label("ikev2-encryption-mismatch-both-ways")["expected"]["code"] == difference.code  # type: ignore[index]
    assert compare(moon, sun).text.startswith("encryption differs: one side offers AES-CBC-256, the other AES-CBC-128")  # type: ignore[union-attr]


def test_the_proposal_mismatch_offer_reads_as_moon_was_configured() -> None:
    offers = offers_in("ikev2-proposal-mismatch", 1)
    assert offers == [Offer(1, "IKE", ("AES-CBC-256",), ("HMAC-SHA2-384-192",), ("PRF-HMAC-SHA2-384",),
                            ("ECP-384",), (), None, None, (), (), version=2)]
    assert offers_text(offers) == "AES-CBC-256/HMAC-SHA2-384-192/PRF-HMAC-SHA2-384/ECP-384"
    assert offers[0].where == "proposal 1"
    assert weaknesses(offers) == []


def test_two_groups_in_one_proposal_stay_alternatives_in_the_order_offered() -> None:
    first, retry, answer = (offers_in("ikev2-dh-mismatch-recovered", frame) for frame in (1, 3, 4))
    assert [o.dh_groups for o in first + retry + answer] == [("ECP-256", "MODP-2048"), ("MODP-2048", "ECP-256"),
                                                             ("MODP-2048",)]
    ke = [p for s in seen("ikev2-dh-mismatch-recovered") if s.frame in (1, 3) for p in s.payloads
          if isinstance(p, ikev2.KeyExchange)]
    assert [GROUPS[k.group] for k in ke] == ["ECP-256", "MODP-2048"]  # the guess is the first group offered
    assert agree(first, answer) and agree(retry, answer)  # INVALID_KE_PAYLOAD was about the guess, not the offer
    assert compare(first, answer) is None
    assert common(retry, answer) == (retry[0], answer[0])
    assert offers_text(first) == "AES-CBC-128/HMAC-SHA2-256-128/PRF-HMAC-SHA2-256/ECP-256|MODP-2048"


def test_ikev1_main_mode_offer_names_hash_group_auth_method_and_lifetime() -> None:
    (offer,) = offers_in("ikev1-main", 1)
    assert offer == Offer(number=1, protocol="IKE", encryption=("AES-CBC-128",), integrity=("SHA2-256",), prf=(),
                          dh_groups=("MODP-2048",), auth_methods=("PSK",), lifetime_seconds=15840,
                          lifetime_kilobytes=None, encapsulation=(), esn=(), version=1, transform=1)
    assert offer.text == "AES-CBC-128/SHA2-256/MODP-2048/PSK/15840s"
    assert offer.where == "proposal 1 transform 1"
    # the dissector's own compact text says the same
    sa = next(p for p in seen("ikev1-main")[0].payloads if isinstance(p, ikev1.SecurityAssociationPayload))
    assert ikev1.proposal_text(sa.proposals[0]) == "AES-CBC-128/SHA2-256/MODP_2048/PSK/15840s"


def test_ikev1_quick_mode_offers_once_decrypted_name_the_esp_transform() -> None:
    (offer,) = offers_in("ikev1-main", 7)
    assert seen("ikev1-main")[6].decrypted
    assert offer.protocol == "ESP" and offer.version == 1
    assert (offer.encryption, offer.integrity, offer.dh_groups, offer.esn) == \
        (("AES-CBC-128",), ("HMAC-SHA2-256-128",), (), ("NO-ESN",))
    # charon's kernel-libipsec always encapsulates ESP in UDP, so the mode is RFC 3947's UDP tunnel
    assert offer.encapsulation == ("UDP-TUNNEL (RFC 3947)",)
    assert offer.lifetime_seconds is not None
    assert offer.text == f"AES-CBC-128/HMAC-SHA2-256-128/UDP-TUNNEL (RFC 3947)/{offer.lifetime_seconds}s"


def test_the_same_esp_choice_reads_the_same_in_ikev1_and_ikev2() -> None:
    (quick_mode,) = offers_in("ikev1-main", 7)
    ike_auth = next(offers_of(s.payloads) for s in seen("ikev2-psk") if s.decrypted and offers_of(s.payloads))
    assert offers_text(ike_auth) == "AES-CBC-128/HMAC-SHA2-256-128"
    assert quick_mode.text.startswith(offers_text(ike_auth) + "/")
    assert agree([quick_mode], ike_auth)  # IKEv2 states no mode nor lifetime in the SA: nothing to refuse


@pytest.mark.parametrize("name", _lab_captures())
def test_every_lab_offer_is_what_the_receiving_charon_logged(name: str) -> None:
    """Each 'received proposals' line of either log is an offer read from the wire, clear or decrypted."""
    wire = {algorithms(offer) for s in _requests_with_offers(name) for offer in offers_of(s.payloads)}
    logged = [n.received for n in negotiations(name)]
    for offer in logged:
        assert algorithms(offer) in wire, f"{offer.text} logged but not on the wire: {sorted(map(str, wire))}"


@pytest.mark.parametrize("name", _lab_captures())
def test_the_responder_choice_agrees_with_the_offer(name: str) -> None:
    """IKE_SA_INIT, IKE_AUTH and CREATE_CHILD_SA answers (IKEv2) and the second message of main and
    aggressive mode and quick mode (IKEv1) carry the one proposal the responder took from the offer."""
    pairs = 0
    messages = _requests_with_offers(name)
    for answer in messages:
        header = answer.message.header
        if answer.message.version == 2 and not answer.message.is_response:
            continue
        requests = [s for s in messages if s.frame < answer.frame and s.message.header.spi_i == header.spi_i
                    and s.message.header.message_id == header.message_id and s.src != answer.src]
        if not requests:
            continue
        offered, chosen = offers_of(requests[-1].payloads), offers_of(answer.payloads)
        assert len(chosen) == 1
        assert agree(offered, chosen), f"frame {answer.frame}: {offers_text(chosen)} not in {offers_text(offered)}"
        assert weaknesses(chosen) == []
        pairs += 1
    established = _label(name)["observed"]["ike_established"]  # type: ignore[index]
    if any(established.values()):
        assert pairs >= 1


def test_compare_decides_as_charon_did_on_every_logged_negotiation() -> None:
    """Where charon selected a proposal, the offers agree; where it refused, compare names the difference."""
    codes: dict[str, set[str]] = {}
    for name in _lab_captures():
        for negotiation in negotiations(name):
            if not negotiation.configured:
                continue
            received, configured = [negotiation.received], list(negotiation.configured)
            if negotiation.exchange == "IKE_AUTH":
                received, configured = without_key_exchange(received), without_key_exchange(configured)
            assert agree(received, configured) == negotiation.selected, negotiation
            difference = compare(received, configured)
            assert (difference is None) == negotiation.selected
            if difference is not None:
                codes.setdefault(name, set()).add(difference.code)
    pinned = {
        "ikev2-encryption-mismatch": {"EncryptionAlgorithmMismatch"},
        "ikev2-encryption-mismatch-both-ways": {"EncryptionAlgorithmMismatch"},
        "ikev2-integrity-mismatch": {"AuthenticationAlgorithmMismatch"},
        "ikev2-dh-mismatch": {"DhGroupMismatch"},
        # every algorithm differs: AlgorithmMismatch, the label's alternatives (its code is ProposalMismatch
        # because only moon's offer is on the wire there)
        "ikev2-proposal-mismatch": {"AlgorithmMismatch"},
        "ikev2-esp-proposal-mismatch": {"EncryptionAlgorithmMismatch"},
        "ikev2-pfs-mismatch": {"PfsMismatch"},
        "ikev1-quick-mode-proposal-mismatch": {"EncryptionAlgorithmMismatch"},
        "ikev1-main-proposal-mismatch": {"EncryptionAlgorithmMismatch"},
        "ikev2-ah-esp-mismatch": {"SecurityProtocolMismatch"},
    }
    assert {name: codes.get(name) for name in pinned if (PCAPS / f"{name}.pcap").exists()} == \
        {name: found for name, found in pinned.items() if (PCAPS / f"{name}.pcap").exists()}
    for name, found in codes.items():  # captures added since: the label's code or one of its alternatives
        if name in pinned:
            continue
        expected = _label(name)["expected"]
        assert {expected["code"], *expected.get("alternatives", [])} & found  # type: ignore[index,union-attr]


def test_esp_offer_on_the_wire_against_the_peer_configuration_names_the_cipher() -> None:
    moon = next(offers_of(s.payloads) for s in seen("ikev2-esp-proposal-mismatch") if s.decrypted
                and offers_of(s.payloads))
    (sun,) = [n for n in negotiations("ikev2-esp-proposal-mismatch") if n.received.protocol == "ESP"]
    difference = compare(moon, sun.configured, names=("moon", "sun"))
    assert difference is not None
    assert difference.code == "EncryptionAlgorithmMismatch"
    assert difference.text == ("encryption differs: moon offers AES-CBC-256, sun AES-CBC-128; integrity and "
                               "PFS agree (HMAC-SHA2-256-128, no PFS)")


def test_pfs_asked_at_the_child_sa_rekey_and_refused_is_a_pfs_mismatch() -> None:
    rekey = [s for s in seen("ikev2-pfs-mismatch") if s.message.exchange_name == "CREATE_CHILD_SA"
             and not s.message.is_response and offers_of(s.payloads)]
    moon = offers_of(rekey[0].payloads)
    assert offers_text(moon) == "AES-CBC-128/HMAC-SHA2-256-128/MODP-2048"
    sun_configured = next(n.configured for n in negotiations("ikev2-pfs-mismatch") if n.log.endswith("sun")
                          and n.received.protocol == "ESP" and not n.selected)
    difference = compare(moon, sun_configured, names=("moon", "sun"))
    assert difference is not None
    assert (difference.code, difference.kinds) == ("PfsMismatch", ("pfs",))
    assert difference.text == ("PFS differs: moon asks for PFS with MODP-2048, sun offers no PFS; encryption and "
                               "integrity agree (AES-CBC-128, HMAC-SHA2-256-128)")
    # the first CHILD_SA, made in IKE_AUTH, has no key exchange: there the same two agree
    ike_auth = next(offers_of(s.payloads) for s in seen("ikev2-pfs-mismatch")
                    if s.message.exchange_name == "IKE_AUTH" and offers_of(s.payloads))
    assert agree(ike_auth, sun_configured)


def test_quick_mode_offer_against_the_peer_configuration_names_the_cipher() -> None:
    (moon,) = offers_in("ikev1-quick-mode-proposal-mismatch", 7)
    (sun,) = [n for n in negotiations("ikev1-quick-mode-proposal-mismatch") if n.received.protocol == "ESP"]
    difference = compare([moon], sun.configured)
    assert difference is not None and difference.code == "EncryptionAlgorithmMismatch"
    assert "one side offers AES-CBC-256, the other AES-CBC-128" in difference.text


def test_ikev1_quick_mode_states_the_configured_mode_and_transport_against_tunnel_is_named() -> None:
    checked = 0
    for name in _lab_captures():
        wanted = _label(name)["configured"]["moon"]["child_mode"]  # type: ignore[index]
        for s in seen(name):
            if s.decrypted and s.message.version == 1 and s.src == "192.0.2.1":
                for offer in offers_of(s.payloads):
                    assert {ENCAPSULATION_MODE[mode] for mode in offer.encapsulation} == {wanted}, (name, s.frame)
                    checked += 1
    assert checked >= 5
    (transport,) = offers_in("ikev1-encapsulation-mismatch", 7)
    (tunnel,) = offers_in("ikev1-main", 7)  # the same lab, sun's child config in tunnel mode
    difference = compare([transport], [tunnel], names=("moon", "sun"))
    assert difference is not None and difference.code == "EncapsulationModeMismatch"
    assert difference.text.startswith("encapsulation mode differs: moon offers UDP-TRANSPORT (RFC 3947), "
                                      "sun UDP-TUNNEL (RFC 3947); ")
    assert _label("ikev1-encapsulation-mismatch")["expected"]["code"] == difference.code  # type: ignore[index]


def test_ah_offered_to_an_esp_only_peer_is_a_security_protocol_mismatch() -> None:
    if not (PCAPS / "ikev2-ah-esp-mismatch.pcap").exists():
        pytest.skip("capture not committed")
    (moon,) = offers_in("ikev2-ah-esp-mismatch", 3)
    assert moon.text == "AH:HMAC-SHA2-256-128" and moon.encryption == ()
    (sun,) = [n for n in negotiations("ikev2-ah-esp-mismatch") if n.received.protocol == "AH"]
    difference = compare([moon], without_key_exchange(sun.configured), names=("moon", "sun"))
    assert difference == Difference("SecurityProtocolMismatch", "security protocol differs: moon offers AH, sun ESP",
                                    ("protocol",), moon, sun.configured[0])


def test_lab_offers_are_not_weak() -> None:
    for name in _lab_captures():
        for s in _requests_with_offers(name):
            assert weaknesses(offers_of(s.payloads)) == [], (name, s.frame)


# --------------------------------------------------------------------------------------------
# compare() on offers built by hand: one case per code
# --------------------------------------------------------------------------------------------
IKE_V2 = Offer(1, "IKE", ("AES-CBC-128",), ("HMAC-SHA2-256-128",), ("PRF-HMAC-SHA2-256",), ("MODP-2048",), (),
               None, None, (), (), version=2)
IKE_V1 = Offer(1, "IKE", ("AES-CBC-128",), ("SHA2-256",), (), ("MODP-2048",), ("PSK",), 28800, None, (), (),
               version=1, transform=1)
ESP_V1 = Offer(1, "ESP", ("AES-CBC-128",), ("HMAC-SHA2-256-128",), (), (), (), 3600, None, ("TUNNEL",),
               ("NO-ESN",), version=1, transform=1)


@pytest.mark.parametrize(("a", "b", "code", "kinds"), [
    (IKE_V2, replace(IKE_V2, encryption=("AES-CBC-256",)), "EncryptionAlgorithmMismatch", ("encryption",)),
    (IKE_V2, replace(IKE_V2, integrity=("HMAC-SHA1-96",)), "AuthenticationAlgorithmMismatch", ("integrity",)),
    (IKE_V2, replace(IKE_V2, prf=("PRF-HMAC-SHA1",)), "AuthenticationAlgorithmMismatch", ("prf",)),
    (IKE_V2, replace(IKE_V2, integrity=("HMAC-SHA1-96",), prf=("PRF-HMAC-SHA1",)),
     "AuthenticationAlgorithmMismatch", ("integrity", "prf")),
    (IKE_V2, replace(IKE_V2, dh_groups=("ECP-256",)), "DhGroupMismatch", ("dh_group",)),
    (IKE_V2, replace(IKE_V2, encryption=("3DES",), dh_groups=("MODP-1024",)), "AlgorithmMismatch",
     ("encryption", "dh_group")),
    (IKE_V1, replace(IKE_V1, integrity=("SHA1",)), "AuthenticationAlgorithmMismatch", ("integrity",)),
    (IKE_V1, replace(IKE_V1, auth_methods=("RSA-SIG",)), "ProposalMismatch", ("auth_method",)),
    (IKE_V1, replace(IKE_V1, lifetime_seconds=86400), "LifetimeMismatch", ("lifetime",)),
    (IKE_V1, replace(IKE_V1, encryption=("3DES",), lifetime_seconds=86400), "ProposalMismatch",
     ("encryption", "lifetime")),
    (ESP_V1, replace(ESP_V1, dh_groups=("MODP-2048",)), "PfsMismatch", ("pfs",)),
    (replace(ESP_V1, dh_groups=("MODP-2048",)), replace(ESP_V1, dh_groups=("ECP-256",)), "PfsMismatch", ("pfs",)),
    (ESP_V1, replace(ESP_V1, lifetime_kilobytes=4608000, lifetime_seconds=None), None, ()),
    (ESP_V1, replace(ESP_V1, lifetime_seconds=28800), "LifetimeMismatch", ("lifetime",)),
    (ESP_V1, replace(ESP_V1, encapsulation=("TRANSPORT",)), "EncapsulationModeMismatch", ("encapsulation",)),
    (ESP_V1, replace(ESP_V1, encapsulation=("UDP-TUNNEL (RFC 3947)",)), None, ()),
    (ESP_V1, replace(ESP_V1, encapsulation=("UDP-TRANSPORT (draft)",)), "EncapsulationModeMismatch",
     ("encapsulation",)),
    (ESP_V1, replace(ESP_V1, protocol="AH", encryption=()), "SecurityProtocolMismatch", ("protocol",)),
    (ESP_V1, replace(ESP_V1, esn=("ESN",)), "ProposalMismatch", ("esn",)),
    (ESP_V1, replace(ESP_V1, integrity=(), encryption=("AES-GCM-16-128",)), "AlgorithmMismatch",
     ("encryption", "integrity")),
    (replace(ESP_V1, integrity=("NONE",), encryption=("AES-GCM-16-128",)),
     replace(ESP_V1, integrity=(), encryption=("AES-GCM-16-128",)), None, ()),
    (replace(ESP_V1, dh_groups=("MODP-2048", "NONE")), ESP_V1, None, ()),
], ids=lambda value: value if isinstance(value, str) else None)
def test_compare_names_each_kind_of_difference(a: Offer, b: Offer, code: str | None,
                                               kinds: tuple[str, ...]) -> None:
    difference = compare([a], [b])
    if code is None:
        assert difference is None and agree([a], [b])
        return
    assert difference is not None and (difference.code, difference.kinds) == (code, kinds)
    assert difference.code in CODES and code_for(kinds) == code
    assert not agree([a], [b])
    assert compare([b], [a]) is not None and compare([b], [a]).code == code  # type: ignore[union-attr]


def test_texts_name_the_exact_values_and_what_agrees() -> None:
    texts = {
        "pfs": compare([ESP_V1], [replace(ESP_V1, dh_groups=("MODP-2048",))], names=("moon", "sun")),
        "pfs groups": compare([replace(ESP_V1, dh_groups=("MODP-2048",))], [replace(ESP_V1, dh_groups=("ECP-256",))]),
        "lifetime": compare([IKE_V1], [replace(IKE_V1, lifetime_seconds=86400)]),
        "mode": compare([ESP_V1], [replace(ESP_V1, encapsulation=("TRANSPORT",))]),
        "protocol": compare([ESP_V1], [replace(ESP_V1, protocol="AH", encryption=())]),
        "several": compare([IKE_V2], [replace(IKE_V2, encryption=("3DES",), dh_groups=("MODP-1024",))]),
    }
    assert {key: value.text for key, value in texts.items() if value is not None} == {
        "pfs": "PFS differs: sun asks for PFS with MODP-2048, moon offers no PFS; encryption, integrity, "
               "encapsulation mode and lifetime agree (AES-CBC-128, HMAC-SHA2-256-128, TUNNEL, 3600s)",
        "pfs groups": "PFS group differs: one side offers MODP-2048, the other ECP-256; encryption, integrity, "
                      "encapsulation mode and lifetime agree (AES-CBC-128, HMAC-SHA2-256-128, TUNNEL, 3600s)",
        "lifetime": "lifetime differs: one side offers 28800s, the other 86400s; encryption, hash, DH group and "
                    "authentication method agree (AES-CBC-128, SHA2-256, MODP-2048, PSK)",
        "mode": "encapsulation mode differs: one side offers TUNNEL, the other TRANSPORT; encryption, integrity, "
                "PFS and lifetime agree (AES-CBC-128, HMAC-SHA2-256-128, no PFS, 3600s)",
        "protocol": "security protocol differs: one side offers ESP, the other AH",
        "several": "encryption and DH group differ: one side offers AES-CBC-128/MODP-2048, the other "
                   "3DES/MODP-1024; integrity and PRF agree (HMAC-SHA2-256-128, PRF-HMAC-SHA2-256)",
    }


def test_ikev2_offers_never_differ_in_lifetime_and_lifetime_can_be_left_out() -> None:
    assert IKE_V2.lifetime_seconds is None and agree([IKE_V2], [IKE_V2])
    assert agree([IKE_V1], [replace(IKE_V1, lifetime_seconds=86400)], lifetime=False)
    assert compare([IKE_V1], [replace(IKE_V1, lifetime_seconds=86400)], lifetime=False) is None


def test_the_pair_closest_to_agreeing_is_named() -> None:
    legacy = replace(IKE_V2, number=1, encryption=("3DES",), integrity=("HMAC-SHA1-96",), prf=("PRF-HMAC-SHA1",),
                     dh_groups=("MODP-1024",))
    modern = replace(IKE_V2, number=2, encryption=("AES-CBC-256",))
    difference = compare([legacy, modern], [IKE_V2])
    assert difference is not None
    assert (difference.code, difference.a, difference.b) == ("EncryptionAlgorithmMismatch", modern, IKE_V2)
    assert compare([legacy, modern], [IKE_V2, replace(IKE_V2, encryption=("AES-CBC-256",))]) is None


def test_a_side_without_offers_gives_nothing_to_name() -> None:
    assert compare([], [IKE_V2]) is None and compare([IKE_V2], []) is None
    assert not agree([], [IKE_V2])
    assert offers_text([]) == "nothing"


def test_offers_text_shows_a_few_offers_and_counts_the_rest() -> None:
    offers = [replace(IKE_V2, number=n, dh_groups=(group,)) for n, group in
              enumerate(("MODP-2048", "ECP-256", "ECP-384", "MODP-3072", "MODP-4096"), start=1)]
    assert offers_text(offers, limit=2) == ("AES-CBC-128/HMAC-SHA2-256-128/PRF-HMAC-SHA2-256/MODP-2048, "
                                            "AES-CBC-128/HMAC-SHA2-256-128/PRF-HMAC-SHA2-256/ECP-256 (and 3 more)")
    assert offers_text(offers + offers) == offers_text(offers)  # repeated offers count once
    wide = replace(IKE_V2, encryption=("AES-CBC-128", "AES-CBC-192", "AES-CBC-256", "3DES"))
    assert offers_text([wide], alternatives=2) == \
        "AES-CBC-128|AES-CBC-192|+2/HMAC-SHA2-256-128/PRF-HMAC-SHA2-256/MODP-2048"
    assert replace(ESP_V1, protocol="AH", encryption=()).text == "AH:HMAC-SHA2-256-128/TUNNEL/3600s"


# --------------------------------------------------------------------------------------------
# Names: one vocabulary for both versions, taken from the registries
# --------------------------------------------------------------------------------------------
def test_ikev1_and_ikev2_name_the_same_algorithm_alike() -> None:
    # ESP transform IDs of IKEv1 and ENCR IDs of IKEv2 share their numbers up to 20
    for number in (*range(1, 10), *range(11, 17), 18, 19, 20):
        assert V1_ESP_ENCRYPTION[number] == V2_ENCRYPTION[number], number
    # Oakley ciphers against the IKEv2 IDs of the same cipher
    for oakley, encr in ((1, 2), (5, 3), (7, 12), (8, 23), (2, 5), (3, 7), (6, 6), (4, 4)):
        assert V1_IKE_ENCRYPTION[oakley] == V2_ENCRYPTION[encr], oakley
    # IPsec DOI authentication algorithms against IKEv2 integrity transforms
    for doi, integ in ((1, 1), (2, 2), (5, 12), (6, 13), (7, 14), (9, 5)):
        assert V1_IPSEC_INTEGRITY[doi] == V2_INTEGRITY[integ], doi
    # DH groups: one table, the IKEv1 names of RFC 2409 groups the same as IKEv2's
    for number, name in v1_registry.GROUP_NAMES.items():
        assert GROUPS[number] == name.replace("_", "-")
    assert V2_ENCRYPTION[20] == "AES-GCM-16" and V2_INTEGRITY[12] == "HMAC-SHA2-256-128"


def test_ikev1_xauth_and_signature_methods_are_readable() -> None:
    from ikesniff.offers import V1_AUTH_METHODS

    assert [V1_AUTH_METHODS[n] for n in (1, 3, 65001, 65005, 64221, 9)] == \
        ["PSK", "RSA-SIG", "XAUTH-INIT-PSK", "XAUTH-INIT-RSA", "HYBRID-INIT-RSA", "ECDSA-SHA256-P256"]


# --------------------------------------------------------------------------------------------
# weaknesses() on captures other projects published
# --------------------------------------------------------------------------------------------
def corpus_offers(relative: str, frame: int) -> list[Offer]:
    for item in read_capture(str(CORPUS / relative), CaptureStats()):
        if isinstance(item, IkeDatagram) and item.frame == frame:
            return offers_of(parse_message(item.data))
    raise LookupError(frame)


@cache
def manifest() -> dict[str, dict[str, str]]:
    return {entry["file"]: entry for entry in json.loads((CORPUS / "MANIFEST.json").read_text())}


pytestmark_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="external corpus not present")


@pytestmark_corpus
@pytest.mark.parametrize(("relative", "frame", "source_says", "expected"), [
    ("suricata-verify/IKEv2_SA_INIT_2-8-weak.pcap", 1, "DH group 2 (1024-bit MODP)", [
        ("weak_dh_group", "MODP-1024 (group 2) offered in proposal 1; RFC 8247 says SHOULD NOT"),
    ]),
    ("suricata-verify/ikev1-isakmp-main-mode.pcap", 1, "AES-CBC-128/SHA1/MODP1024", [
        ("weak_dh_group", ("MODP-1024 (group 2) offered in proposal 1 (transform 1); RFC 8247 says SHOULD NOT "
                          "for IKEv2; IKEv1 itself is deprecated (RFC 9395)")),
    ]),
    ("tcpdump/ISAKMP_sa_setup.pcap", 1, "group desc=modp768", [
        ("weak_dh_group", ("MODP-768 (group 1) offered in proposal 1 (transform 1); RFC 8247 says MUST NOT "
                          "for IKEv2; IKEv1 itself is deprecated (RFC 9395)")),
    ]),
    ("tcpdump/ikev2pI2.pcap", 1, "prf sha/md5, modp1536/modp1024", [
        ("weak_dh_group", "MODP-1536 (group 5) offered in proposals 1, 2, 3 and 4; RFC 8247 says SHOULD NOT"),
        ("weak_integrity", "PRF-HMAC-MD5 offered in proposals 2, 4 and 6; RFC 8247 says MUST NOT"),
        ("weak_dh_group", "MODP-1024 (group 2) offered in proposals 5 and 6; RFC 8247 says SHOULD NOT"),
    ]),
    ("zeek-spicy-ipsec/ikev1-certs.pcap", 1, "Openswan", [
        ("weak_integrity", "MD5 offered in proposal 0 (transform 0); RFC 8247 says MUST NOT for IKEv2; IKEv1 itself is deprecated (RFC 9395)"),
        ("weak_dh_group", ("MODP-1024 (group 2) offered in proposal 0 (transform 0); RFC 8247 says SHOULD NOT "
                          "for IKEv2; IKEv1 itself is deprecated (RFC 9395)")),
    ]),
    ("wireshark-wiki/test1.pcap", 19, "Cisco-style IKEv1 remote-access client", [
        ("weak_dh_group", ("MODP-1536 (group 5) offered in proposal 1 (transforms 1, 2, 3, 4, 9, 10, 11, 12, 17, "
                          "18, 19 and 20); RFC 8247 says SHOULD NOT for IKEv2; IKEv1 itself is deprecated (RFC 9395)")),
        ("weak_integrity", ("MD5 offered in proposal 1 (transforms 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 25 "
                           "and 26); RFC 8247 says MUST NOT for IKEv2; IKEv1 itself is deprecated (RFC 9395)")),
        ("weak_dh_group", ("MODP-1024 (group 2) offered in proposal 1 (transforms 5, 6, 7, 8, 13, 14, 15, 16, 21, "
                          "22, 23 and 24); RFC 8247 says SHOULD NOT for IKEv2; IKEv1 itself is deprecated (RFC 9395)")),
        ("weak_cipher", "DES offered in proposal 1 (transforms 25 and 26); RFC 8247 says MUST NOT for IKEv2; IKEv1 itself is deprecated (RFC 9395)"),
        ("weak_dh_group", ("MODP-768 (group 1) offered in proposal 1 (transforms 25 and 26); RFC 8247 says "
                          "MUST NOT for IKEv2; IKEv1 itself is deprecated (RFC 9395)")),
    ]),
    ("arkime/IKEv2.pcap", 1, "FortiGates", []),
    ("wireshark-wiki/ipsec_ikev2+esp_aes-gcm_aes-ctr_aes-cbc/capture.pcapng", 1, "AES-GCM-16-256", []),
])
def test_weak_algorithms_in_corpus_offers(relative: str, frame: int, source_says: str,
                                          expected: list[tuple[str, str]]) -> None:
    entry = manifest()[relative]
    assert source_says in entry["expected_from_source"] + entry["scenario"]
    found = [(w.kind, w.detail) for w in weaknesses(corpus_offers(relative, frame))]
    assert found == expected


@pytestmark_corpus
def test_the_weak_group_the_source_names_is_the_one_chosen() -> None:
    # suricata's ikev1 test: "chosen attributes AES-CBC, key length 128, SHA1 hash, DH group 2"
    chosen = corpus_offers("suricata-verify/ikev1-isakmp-main-mode.pcap", 2)
    assert [o.text for o in chosen] == ["AES-CBC-128/SHA1/MODP-1024/PSK/86400s"]
    assert [w.detail for w in weaknesses(chosen, chosen=True)] == [
        "MODP-1024 (group 2) chosen in proposal 1 (transform 1); RFC 8247 says SHOULD NOT for IKEv2; IKEv1 itself is deprecated (RFC 9395)"]


def test_rfc_levels_differ_between_ike_and_esp() -> None:
    # RFC 8247: 3DES is MAY for IKEv2; RFC 8221: SHOULD NOT for ESP
    assert weaknesses([replace(IKE_V2, encryption=("3DES",))]) == []
    assert [w.detail for w in weaknesses([replace(ESP_V1, encryption=("3DES",))])] == [
        "3DES offered in proposal 1 (transform 1); RFC 8221 says SHOULD NOT"]
    # NULL encryption is not allowed for IKE at all; for ESP it is allowed but only with integrity
    assert [w.kind for w in weaknesses([replace(IKE_V2, encryption=("NULL",))])] == ["weak_cipher"]
    assert [(w.kind, w.detail) for w in weaknesses([replace(ESP_V1, encryption=("NULL",), integrity=())])] == [
        ("weak_cipher", ("NULL encryption (no confidentiality) offered in proposal 1 (transform 1); RFC 8221 keeps "
                        "it for ESP that needs no confidentiality")),
        ("weak_integrity", "no integrity (ESP with NULL) offered in proposal 1 (transform 1); RFC 8221 says MUST NOT"),
    ]
    # an AEAD cipher needs no integrity transform
    assert weaknesses([replace(ESP_V1, encryption=("AES-GCM-16-256",), integrity=())]) == []
    # PFS groups are judged like IKE groups
    assert [w.detail for w in weaknesses([replace(ESP_V1, dh_groups=("MODP-1536",))])] == [
        "MODP-1536 (group 5) offered in proposal 1 (transform 1); RFC 8247 says SHOULD NOT"]


def test_weaknesses_are_named_once_with_every_offer_carrying_them() -> None:
    offers = [replace(IKE_V2, number=n, dh_groups=("MODP-1024",), integrity=("HMAC-MD5-96",)) for n in (1, 2, 3)]
    assert [(w.kind, w.detail) for w in weaknesses(offers + offers)] == [
        ("weak_integrity", "HMAC-MD5-96 offered in proposals 1, 2 and 3; RFC 8247 says MUST NOT"),
        ("weak_dh_group", "MODP-1024 (group 2) offered in proposals 1, 2 and 3; RFC 8247 says SHOULD NOT"),
    ]
