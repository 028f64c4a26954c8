"""NAT detection recomputed from real captures: which hash covers which address and port, and what
that says about each peer, checked against the lab labels, the charon logs and the corpus sources."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from oracle import CORPUS, PCAPS

from dissectors import Message, parse_message
from dissectors.ikev1 import CiscoFragmentReassembler
from ikesniff.capture import read_capture
from ikesniff.capture.events import CaptureStats, IkeDatagram
from ikesniff.natd import (
    Endpoint,
    Match,
    NatAssessment,
    NatVerdict,
    assess,
    assess_message,
    expected_hash,
    judge_peer,
    natd_hashes,
    negotiated_hash,
)


@dataclass
class Seen:
    """One IKE message of a capture with the addresses its packet carried."""

    frames: tuple[int, ...]
    src: str
    sport: int
    dst: str
    dport: int
    message: Message


def messages(path: Path) -> list[Seen]:
    """Every IKE message in capture order, Cisco IKE fragments reassembled (in any order)."""
    reassembler = CiscoFragmentReassembler(any_order=True)
    found: list[Seen] = []
    for item in read_capture(str(path), CaptureStats()):
        if not isinstance(item, IkeDatagram):
            continue
        message = parse_message(item.data)
        found.append(Seen((item.frame,), item.src, item.sport, item.dst, item.dport, message))
        for whole in reassembler.feed_message(message, item.frame, (item.src, item.sport)):
            found.append(Seen(tuple(whole.frames), item.src, item.sport, item.dst, item.dport,
                              parse_message(whole.data)))
    return found


def endpoints(seen: list[Seen]) -> set[tuple[str, int]]:
    return {(s.src, s.sport) for s in seen} | {(s.dst, s.dport) for s in seen}


def assessments(path: Path, extra: tuple[tuple[str, int], ...] = ()) -> dict[int, NatAssessment]:
    """Each NAT-D carrying message's assessment keyed by its first frame; IKEv1 with the hash the
    responder chose, every address and port of the capture (plus `extra`) as candidates."""
    seen = messages(path)
    candidates = endpoints(seen) | set(extra)
    chosen: str | None = None
    result: dict[int, NatAssessment] = {}
    for item in seen:
        chosen = negotiated_hash(item.message) or chosen
        assessment = assess_message(item.message, item.src, item.sport, item.dst, item.dport,
                                    hash_name=chosen, seen=candidates)
        if assessment is not None:
            result[item.frames[0]] = assessment
    return result


def label(name: str) -> Any:
    return json.loads((PCAPS / f"{name}.json").read_text())


def logged_natd(log: Path) -> list[tuple[bytes, bytes]]:
    """The (natd_chunk, natd_hash) pairs that charon dumped (log level 3), in log order."""
    lines = log.read_text().splitlines()
    dumps: list[bytes] = []
    for index, line in enumerate(lines):
        announced = re.search(r"\bnatd_(?:chunk|hash) => (\d+) bytes", line)
        if not announced:
            continue
        data = bytearray()
        row = index + 1
        while len(data) < int(announced.group(1)):
            data += bytes.fromhex(lines[row].split(": ", 1)[1].split("  ")[0])
            row += 1
        dumps.append(bytes(data))
    return list(zip(dumps[0::2], dumps[1::2], strict=True))


def on_the_wire(seen: list[Seen]) -> set[str]:
    return {s.src for s in seen} | {s.dst for s in seen}


# --------------------------------------------------------------------------------------------
# The hash itself, against what strongSwan logged while computing it
# --------------------------------------------------------------------------------------------
def test_ikev2_hash_is_sha1_of_spis_address_and_port_exactly_as_charon_computes_it() -> None:
    seen = messages(PCAPS / "ikev2-psk.pcap")
    wire = {bytes(h) for s in seen if (n := natd_hashes(s.message)) for h in n.source + n.destination}
    pairs = logged_natd(PCAPS / "ikev2-psk.moon.charon.log") + logged_natd(PCAPS / "ikev2-psk.sun.charon.log")
    assert len(pairs) == 8                            # per side: two sent, two recomputed to verify
    for chunk, digest in pairs:
        assert len(chunk) == 22                       # SPIi | SPIr | IPv4 | port
        address = ".".join(str(octet) for octet in chunk[16:20])
        port = int.from_bytes(chunk[20:22], "big")
        assert expected_hash(2, chunk[:8], chunk[8:16], address, port) == digest
    sent = {digest for _, digest in pairs} & wire
    assert len(sent) == 4                             # each side's source and destination hash
    request = seen[0].message
    assert request.header.spi_r == bytes(8)           # SPIr is zero in the IKE_SA_INIT request
    assert expected_hash(2, request.header.spi_i, bytes(8), "192.0.2.2", 500) in wire


def test_expected_hash_refuses_what_it_cannot_compute() -> None:
    spi = bytes(range(8))
    with pytest.raises(ValueError, match="IKEv1 NAT-D needs"):
        expected_hash(1, spi, spi, "192.0.2.1", 500)
    with pytest.raises(ValueError, match="SHA1"):
        expected_hash(2, spi, spi, "192.0.2.1", 500, "MD5")
    with pytest.raises(ValueError, match="TIGER"):
        expected_hash(1, spi, spi, "192.0.2.1", 500, "TIGER")
    assert len(expected_hash(1, spi, spi, "2001:db8::1", 4500, "SHA2-512")) == 64


# --------------------------------------------------------------------------------------------
# The lab: strongSwan with kernel-libipsec fakes its own source hash on purpose
# --------------------------------------------------------------------------------------------
def test_strongswan_fakes_its_source_hash_with_a_random_address_and_port_0_so_nothing_matches() -> None:
    seen = messages(PCAPS / "ikev2-psk.pcap")
    found = assessments(PCAPS / "ikev2-psk.pcap")
    assert sorted(found) == [1, 2]
    for frame, peer in ((1, "192.0.2.2:500"), (2, "192.0.2.1:500")):
        assert found[frame].verdict is NatVerdict.UNMATCHED_SOURCE
        assert found[frame].source is Match.NOTHING and not found[frame].sender_behind_nat
        assert found[frame].destination is Match.PACKET and str(found[frame].destination_endpoint) == peer
    # What each charon hashed for the source hash it sent: an address on no packet, port 0.
    for side in ("moon", "sun"):
        sent = {bytes(h) for s in seen if (n := natd_hashes(s.message)) for h in n.source}
        fakes = [chunk for chunk, digest in logged_natd(PCAPS / f"ikev2-psk.{side}.charon.log") if digest in sent]
        own = [chunk for chunk in fakes if chunk[20:22] == bytes(2)]
        assert own and ".".join(map(str, own[0][16:20])) not in on_the_wire(seen)
    # The label: no NAT in the topology, yet both charons conclude the other is behind one.
    truth = label("ikev2-psk")
    assert truth["topology"]["nat"] is None and truth["wire"]["nat_seen"] is False
    assert "charon fakes NAT detection" in truth["topology"]["kernel_ipsec"]
    said = truth["observed"]["nat_detection"]
    assert [line["text"] for line in said["moon"]] == ["remote host is behind NAT"]
    assert [line["text"] for line in said["sun"]] == ["remote host is behind NAT"]
    # Neither peer is ever called behind NAT: the wire cannot tell, and says so.
    assert judge_peer(found[1], found[2]).behind_nat is None
    assert judge_peer(found[2], found[1]).behind_nat is None


def test_real_nat_in_the_lab_shows_in_the_remapped_port_because_moon_fakes_its_hash_too() -> None:
    truth = label("ikev2-nat")
    nat = truth["topology"]["nat"]
    assert nat["behind"] == "moon" and nat["public"] == "203.0.113.1"
    private = (nat["private"], 500)
    found = assessments(PCAPS / "ikev2-nat.pcap", extra=(private,))
    request, response = found[1], found[2]
    seen = messages(PCAPS / "ikev2-nat.pcap")
    mapped = seen[0].sport  # the NAT's port for moon's 500 (40000-40999)
    assert seen[0].src == "203.0.113.1" and 40000 <= mapped <= 40999
    assert request.packet_source == Endpoint("203.0.113.1", mapped)
    assert request.verdict is NatVerdict.SENDER_BEHIND_NAT and request.sender_by_port
    assert request.source is Match.NOTHING                  # not even moon's inside 198.51.100.2:500
    assert request.destination_endpoint == Endpoint("203.0.113.2", 500)
    assert response.verdict is NatVerdict.UNMATCHED_SOURCE   # sun fakes as well
    assert response.destination_endpoint == Endpoint("203.0.113.1", mapped)  # sun saw moon's public side
    moon = judge_peer(request, response)
    sun = judge_peer(response, request)
    assert (moon.behind_nat, moon.by_port) == (True, True)
    assert sun.behind_nat is None
    # moon's log: the chunk behind its source hash is a random address with port 0, not its own.
    chunks = logged_natd(PCAPS / "ikev2-nat.moon.charon.log")
    source_chunk = chunks[0][0]
    assert source_chunk[20:22] == bytes(2) and bytes(source_chunk[16:20]) != bytes([198, 51, 100, 2])
    assert "local host is behind NAT, sending keep alives" in (PCAPS / "ikev2-nat.moon.charon.log").read_text()
    # The float to 4500 is remapped too, to another port of the NAT's range.
    pairs = {(s.sport, s.dport) for s in seen if s.src == "203.0.113.1"}
    floated = [sport for sport, dport in pairs if dport == 4500]
    assert len(pairs) == 2 and (mapped, 500) in pairs and len(floated) == 1
    assert 40000 <= floated[0] <= 40999 and floated[0] != mapped


@pytest.mark.parametrize(("name", "frames"), [("ikev1-main", [3, 4]), ("ikev1-aggressive", [2])])
def test_ikev1_natd_uses_the_negotiated_sha2_256_and_strongswan_fakes_the_source(name: str,
                                                                                 frames: list[int]) -> None:
    seen = messages(PCAPS / f"{name}.pcap")
    chosen = [negotiated_hash(s.message) for s in seen if negotiated_hash(s.message)]
    assert chosen[-1] == "SHA2-256"                       # the responder's message 2
    found = assessments(PCAPS / f"{name}.pcap")
    assert sorted(found) == frames
    for frame in frames:
        assert found[frame].hash_name == "SHA2-256"
        assert found[frame].verdict is NatVerdict.UNMATCHED_SOURCE
        assert found[frame].destination is Match.PACKET
    # Without the SA, the 32-octet size alone gives the algorithm back.
    item = next(s for s in seen if s.frames[0] == frames[0])
    hashes = natd_hashes(item.message)
    assert hashes is not None and hashes.dialect == "RFC 3947"
    header = item.message.header
    blind = assess(1, header.spi_i, header.spi_r, hashes.source, hashes.destination,
                   item.src, item.sport, item.dst, item.dport)
    assert blind is not None and blind.hash_name == "SHA2-256" and "inferred" in blind.reason
    assert blind.verdict is NatVerdict.UNMATCHED_SOURCE
    truth = label(name)
    assert truth["topology"]["nat"] is None
    for side in ("moon", "sun"):
        said = truth["observed"]["nat_detection"][side]
        assert [line["text"] for line in said] == ["remote host is behind NAT"]


def test_aggressive_mode_initiator_natd_is_encrypted_in_message_3() -> None:
    seen = messages(PCAPS / "ikev1-aggressive.pcap")
    third = seen[2]
    assert third.message.encrypted and natd_hashes(third.message) is None
    found = assessments(PCAPS / "ikev1-aggressive.pcap")
    assert judge_peer(None, found[2]).behind_nat is None


# --------------------------------------------------------------------------------------------
# The external corpus
# --------------------------------------------------------------------------------------------
def test_isakmp4500_road_warrior_behind_a_port_preserving_nat_is_proven_only_by_its_inside_address() -> None:
    path = CORPUS / "tcpdump" / "isakmp4500.pcap"
    found = assessments(path)
    assert sorted(found) == [5, 6] and {a.hash_name for a in found.values()} == {"MD5"}
    initiator, responder = found[5], found[6]
    assert initiator.packet_source == Endpoint("192.1.2.254", 500)
    assert initiator.verdict is NatVerdict.UNMATCHED_SOURCE   # port 500 kept: nothing to go by
    assert responder.verdict is NatVerdict.NO_NAT
    assert responder.destination_endpoint == Endpoint("192.1.2.254", 500)
    assert judge_peer(initiator, responder).behind_nat is None
    assert judge_peer(responder, initiator).behind_nat is False
    # libreswan's test network puts "road" at 192.1.3.209 behind "nic" 192.1.2.254: that is the
    # address the initiator hashed.
    road = assessments(path, extra=(("192.1.3.209", 500),))[5]
    assert road.verdict is NatVerdict.SENDER_BEHIND_NAT and not road.sender_by_port
    assert road.source_endpoint == Endpoint("192.1.3.209", 500)
    assert judge_peer(road, responder).behind_nat is True
    seen = messages(path)
    assert {(s.sport, s.dport) for s in seen[4:]} == {(4500, 4500)}   # floated after message 4


def test_openswan_natt_chain_initiator_hashes_its_inside_address_192_168_1_1() -> None:
    request = assessments(CORPUS / "openswan" / "lp62-nattR1" / "nattI1.pcap")[1]
    response = assessments(CORPUS / "openswan" / "lp63-nattI2" / "nattR1.pcap")[1]
    assert request.packet_source == Endpoint("93.184.216.34", 55044)
    assert request.verdict is NatVerdict.SENDER_BEHIND_NAT and request.sender_by_port
    assert response.verdict is NatVerdict.NO_NAT
    assert response.destination_endpoint == Endpoint("93.184.216.34", 55044)
    inside = assessments(CORPUS / "openswan" / "lp62-nattR1" / "nattI1.pcap", extra=(("192.168.1.1", 500),))[1]
    assert inside.source_endpoint == Endpoint("192.168.1.1", 500) and not inside.sender_by_port
    initiator = judge_peer(inside, response)
    assert initiator.behind_nat is True and not initiator.by_port
    assert judge_peer(response, inside).behind_nat is False
    for name in ("lp64-nattR2/nattI2.pcap", "lp65-nattI3/nattR2.pcap"):
        (item,) = messages(CORPUS / "openswan" / name)
        assert natd_hashes(item.message) is None            # IKE_AUTH: encrypted, nothing to check
        assert 55045 in (item.sport, item.dport) and 4500 in (item.sport, item.dport)


def test_zeek_ikev2_client_behind_nat_on_port_63995() -> None:
    path = CORPUS / "zeek-plugin-ikev2" / "ikev2.pcap"
    found = assessments(path)
    assert sorted(found) == [1, 3, 4]                       # frame 2 is the bare INVALID_KE_PAYLOAD
    for frame in (1, 3):
        assert found[frame].verdict is NatVerdict.SENDER_BEHIND_NAT and found[frame].sender_by_port
        assert found[frame].packet_source == Endpoint("172.16.158.1", 63995)
    assert found[4].verdict is NatVerdict.NO_NAT
    assert found[4].destination_endpoint == Endpoint("172.16.158.1", 63995)
    client = judge_peer(found[3], found[4])
    assert (client.behind_nat, client.by_port) == (True, True)
    assert judge_peer(found[4], found[3]).behind_nat is False


def test_pre_rfc_natd_payload_15_is_computable_with_the_rfc_3947_layout() -> None:
    path = CORPUS / "tcpdump" / "ISAKMP_sa_setup.pcap"
    seen = messages(path)
    third = seen[2].message
    assert [p.name for p in third.payloads].count("SAK") == 2    # GDOI's name for type 15
    hashes = natd_hashes(third)
    assert hashes is not None and hashes.payload_type == 15
    assert hashes.dialect == "pre-RFC draft (payload 15)"
    found = assessments(path)
    assert sorted(found) == [3, 4]
    for frame in (3, 4):
        assert found[frame].hash_name == "SHA1" and found[frame].verdict is NatVerdict.NO_NAT
    assert found[3].source_endpoint == Endpoint("10.0.0.1", 500)
    assert found[3].destination_endpoint == Endpoint("10.0.0.2", 500)


def test_zeek_aggressive_mode_responder_natd_shows_no_nat() -> None:
    found = assessments(CORPUS / "zeek-spicy-ipsec" / "ipsec-ikev1-isakmp-aggressive-mode.pcap")
    assert sorted(found) == [2]
    assert found[2].hash_name == "SHA1" and found[2].verdict is NatVerdict.NO_NAT
    assert found[2].source_endpoint == Endpoint("192.168.12.2", 500)
    assert found[2].destination_endpoint == Endpoint("192.168.12.1", 500)


def test_draft_natd_130_captured_on_the_client_shows_the_gateway_saw_it_elsewhere() -> None:
    path = CORPUS / "wireshark-wiki" / "test1.pcap"
    found = assessments(path)
    assert sorted(found) == [21, 23]                        # message 4 came as Cisco fragments 23, 22
    client, gateway = found[21], found[23]
    draft = natd_hashes(messages(path)[2].message)
    assert draft is not None and draft.dialect == "draft-ietf-ipsec-nat-t-ike-02/03"
    assert client.verdict is NatVerdict.NO_NAT and client.packet_source == Endpoint("192.168.63.105", 1471)
    assert gateway.verdict is NatVerdict.RECEIVER_BEHIND_NAT and gateway.destination is Match.NOTHING
    assert gateway.source_endpoint == Endpoint("194.25.242.231", 500)
    peer = judge_peer(client, gateway)
    assert (peer.behind_nat, peer.by_port, peer.natd_faked) == (True, False, False)
    assert judge_peer(gateway, client).behind_nat is False


def test_ndpi_client_captured_inside_its_nat_sends_a_source_hash_that_cannot_be_honest() -> None:
    found = assessments(CORPUS / "ndpi" / "ipsec_isakmp_esp.pcap")
    request, response = found[16], found[19]
    assert request.packet_source == Endpoint("192.168.2.100", 10500)
    assert request.source is Match.NOTHING
    assert response.verdict is NatVerdict.RECEIVER_BEHIND_NAT and response.source is Match.PACKET
    client = judge_peer(request, response)
    assert (client.behind_nat, client.by_port, client.natd_faked) == (True, False, True)
    assert judge_peer(response, request).behind_nat is False
    answers = [a for a in found.values() if a.packet_source.port == 500]
    assert answers and all(a.verdict is NatVerdict.RECEIVER_BEHIND_NAT for a in answers)


def test_an_initiator_offer_is_not_a_negotiated_hash() -> None:
    seen = messages(CORPUS / "tcpdump" / "isakmp4500.pcap")
    assert negotiated_hash(seen[0].message) is None          # four transforms offered
    assert negotiated_hash(seen[1].message) == "MD5"         # the responder's choice
