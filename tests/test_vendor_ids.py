"""The vendor ID table: its shape, the versions it decodes, and the VIDs seen in the corpus."""

from __future__ import annotations

import hashlib
import struct

import pytest
from test_ikev1_dissector import CORPUS, udp_payloads

from dissectors import parse_message
from dissectors.ikev1 import VendorIdPayload
from dissectors.vendor_ids import VENDOR_IDS, VendorMatch, identify_vendor

# Every VID in the shared corpus that tshark 4.0.17 names (`isakmp.vid_string`), with its name there.
TSHARK_NAMED_CORPUS_VIDS = {
    "afcad71368a1f1c96b8696fc77570100": "RFC 3706 DPD (Dead Peer Detection)",
    "4a131c81070358455c5728f20e95452f": "RFC 3947 Negotiation of NAT-Traversal in the IKE",
    "90cb80913ebb696e086381b5ec427b1f": "draft-ietf-ipsec-nat-t-ike-02 (name hashed with a newline)",
    "7d9419a65310ca6f2c179d9215529d56": "draft-ietf-ipsec-nat-t-ike-03",
    "4048b7d56ebce88525e7de7f00d6c2d3c0000000": "Cisco Fragmentation",
    "4048b7d56ebce88525e7de7f00d6c2d3": "Cisco Fragmentation",
    "09002689dfd6b712": "XAUTH",
    "12f5f28c457168a9702d9fe274cc0100": "CISCO-UNITY",
    "439b59f8ba676c4c7737ae22eab8f582": "draft-ietf-ipsec-nat-t-ike-07",
    "cd60464335df21f87cfdb2fc68b6a448": "draft-ietf-ipsec-nat-t-ike-02",
    "464c455856504e2d535550504f52544544": "Cisco FlexVPN Supported",
    "4485152d18b6bbcd0be8a8469579ddcc": "draft-ietf-ipsec-nat-t-ike-00",
    "434953434f56504e2d5245562d3032": "Cisco VPN Revision 2",
    "434953434f2d44594e414d49432d524f555445": "Cisco Dynamic Route Supported",
    "434953434f2d44454c4554452d524541534f4e": "Cisco Delete Reason Supported",
    "4048b7d56ebce88525e7de7f00d6c2d380000000": "Cisco Fragmentation",
    "fb1de3cdf341b7ea16b7e5be0855f120": "MS-Negotiation Discovery Capable",
    "8299031757a36082c6a621de00000000": "Fortigate (Fortinet)",
    "699369228741c6d4ca094c93e242c9de19e7b7c60000000500000500": "Netscreen-6",
    "6105c422e76847e43f9684801292aecd": "draft-stenberg-ipsec-nat-traversal-02",
    "27bab5dc01ea0760ea4e3190ac27c0d0": "draft-stenberg-ipsec-nat-traversal-01",
    "26244d38eddb61b3172a36e3d0cfb819": "Microsoft Vid-Initial-Contact",
    "1e2b516905991c7d7c96fcbfb587e46100000009": "MS NT5 ISAKMPOAKLEY",
}


def test_the_table_has_at_least_150_distinct_entries() -> None:
    assert len(VENDOR_IDS) >= 150
    keys = [hex_octets for hex_octets, _, _ in VENDOR_IDS]
    assert len(keys) == len(set(keys))


def test_every_entry_is_lowercase_hex_of_whole_octets() -> None:
    for hex_octets, name, version in VENDOR_IDS:
        assert hex_octets == hex_octets.lower() and len(hex_octets) % 2 == 0, name
        assert bytes.fromhex(hex_octets)
        assert name and (version is None or version)


def test_versioned_strongswan_ids_are_md5_of_the_release_string() -> None:
    versioned = [(h, v) for h, name, v in VENDOR_IDS if name == "strongSwan" and v]
    assert len(versioned) >= 100
    for hex_octets, version in versioned:
        assert hashlib.md5(f"strongSwan {version}".encode()).hexdigest() == hex_octets
    assert identify_vendor(hashlib.md5(b"strongSwan").digest()) == VendorMatch("strongSwan")
    assert identify_vendor(hashlib.md5(b"strongSwan 4.3.6").digest()) == VendorMatch("strongSwan", "4.3.6")


@pytest.mark.parametrize(("hex_octets", "expected"), [
    # MS NT5 ISAKMPOAKLEY + version number
    ("1e2b516905991c7d7c96fcbfb587e46100000002", VendorMatch("Microsoft Windows", "Windows 2000")),
    ("1e2b516905991c7d7c96fcbfb587e46100000005", VendorMatch("Microsoft Windows", "Windows Vista")),
    ("1e2b516905991c7d7c96fcbfb587e46100000007", VendorMatch("Microsoft Windows", "Windows 7")),
    ("1e2b516905991c7d7c96fcbfb587e46100000009",
     VendorMatch("Microsoft Windows", "Windows 8 / 8.1 / 10 / Server 2012 R2 / Server 2016")),
    ("1e2b516905991c7d7c96fcbfb587e4610000002a",
     VendorMatch("Microsoft Windows", "MS NT5 ISAKMPOAKLEY version 42")),
    # Check Point: prefix, product, version, timestamp, reserved, features
    ("f4ed19e0c114eb516faaac0ee37daf2807b4381f" + struct.pack("!IIIII", 1, 5002, 0, 0, 0x18800000).hex(),
     VendorMatch("Check Point", "Firewall-1 NG Feature Pack 2")),
    ("f4ed19e0c114eb516faaac0ee37daf2807b4381f" + struct.pack("!IIIII", 2, 4002, 0, 0, 0).hex(),
     VendorMatch("Check Point", "SecuRemote/SecureClient 4.1 SP-2 or above")),
    ("f4ed19e0c114eb516faaac0ee37daf2807b4381f" + struct.pack("!IIIII", 1, 5005, 1170000000, 0, 0).hex(),
     VendorMatch("Check Point", "Firewall-1 NGX or later")),
    # Cisco: Unity major.minor, VPN 3000 version octets
    ("12f5f28c457168a9702d9fe274cc0100", VendorMatch("Cisco Unity", "1.0")),
    ("12f5f28c457168a9702d9fe274cc0201", VendorMatch("Cisco Unity", "2.1")),
    ("1f07f70eaa6514d3b0fa96542a500306", VendorMatch("Cisco VPN 3000 Concentrator", "3.0.6")),
    ("1f07f70eaa6514d3b0fa96542a500407", VendorMatch("Cisco VPN 3000 Concentrator", "4.0.7")),
    # strongSwan (pluto), libreswan 3.6+, Openswan/FreeS/WAN hashes
    ("9e10a0d4205edc6c90bd5381a53c2d2b", VendorMatch("strongSwan", "5.1.1")),
    ("85b6cbec480d5c8cd9882c825ac2c244", VendorMatch("strongSwan", "2.2.0")),
    (b"OE-Libreswan-4.12".hex(), VendorMatch("Libreswan", "4.12")),
    ("4f4568794c64414365636661", VendorMatch("Openswan", "2.6.32")),
    ("4f457c4f547e6e615b426e56", VendorMatch("FreeS/WAN", "2.01")),
    (b"OEplutounit0".hex(), VendorMatch("FreeS/WAN / Openswan / Libreswan")),
    # Fortinet release/build, Timestep and SafeNet text, Nortel number, DPD version
    ("8299031757a36082c6a621de00070466", VendorMatch("Fortinet FortiGate", "release 7 build 1126")),
    (b"TIMESTEP 1 SGW 1520 315 2.01E013".hex(), VendorMatch("Timestep", "1 SGW 1520 315 2.01E013")),
    ("47bbe7c993f1fc13b4e6d0db565c68e5010201010201010310392e302e3120284275696c6420313229000000",
     VendorMatch("SafeNet SoftRemote", "9.0.1 (Build 12)")),
    ("424e455300000009", VendorMatch("Nortel Contivity", "9")),
    ("afcad71368a1f1c96b8696fc77570100", VendorMatch("RFC 3706 DPD", "1.0")),
])
def test_versions_encoded_in_the_id_are_decoded(hex_octets: str, expected: VendorMatch) -> None:
    assert identify_vendor(bytes.fromhex(hex_octets)) == expected


@pytest.mark.parametrize(("hex_octets", "name"), [
    ("4a131c81070358455c5728f20e95452f", "RFC 3947 NAT-T"),
    ("4048b7d56ebce88525e7de7f00d6c2d380000000", "IKE Fragmentation"),
    ("09002689dfd6b71280a224dec33b81e5", "XAUTH"),
    ("fb1de3cdf341b7ea16b7e5be0855f120", "MS-Negotiation Discovery Capable"),
    ("e3a5966a76379fe707228231e5ce8652", "IKE CGA version 1"),
    ("214ca4faffa7f32d6748e5303395ae83", "MS-MamieExists (AuthIP supported)"),
    ("26244d38eddb61b3172a36e3d0cfb819", "Microsoft Vid-Initial-Contact"),
    (b"CISCO-DELETE-REASON".hex(), "CISCO-DELETE-REASON"),
    (b"CISCO-DYNAMIC-ROUTE".hex(), "CISCO-DYNAMIC-ROUTE"),
    (b"FLEXVPN-SUPPORTED".hex(), "FLEXVPN-SUPPORTED"),
    ("3e984048101e66cc659fd002b0ed3655", "Cisco IOS (1800 series, observed)"),
    ("3e984048aabbccdd", "Cisco IOS"),
    ("699369228741c6d4ca094c93e242c9de19e7b7c60000000500000500", "Juniper/NetScreen (Netscreen-06)"),
    ("7003cbc1097dbe9c2600ba6983bc8b35", "KAME/racoon"),
    ("4865617274426561745f4e6f74696679", "HeartBeat Notify"),
    ("5b362bc820f60001", "SonicWall (SonicWall-1)"),
    ("625027749d5ab97f5616c1602765cf480a3b7d0b", "ZyXEL ZyWALL"),
    ("da8e937880010000", "SonicWall (SonicWall-b)"),
    ("da8e9378ffffffff", "SafeNet / WatchGuard"),
    ("f6f7efc7f5aeb8cb158cb9d094ba69e7", "Cisco VPN 3000 Client"),
    ("9909b64eed937c6573de52ace952fa6b", "draft-ietf-ipsec-nat-t-ike-04"),
    ("42ea5b6f898d9773a575df26e7dd19e1", "draft-ietf-ipsec-nat-t-ike-09"),
])
def test_well_known_ids_are_named(hex_octets: str, name: str) -> None:
    match = identify_vendor(bytes.fromhex(hex_octets))
    assert match is not None and match.name == name


def test_unknown_and_degenerate_ids_are_not_identified() -> None:
    assert identify_vendor(b"") is None
    assert identify_vendor(b"\x00") is None
    assert identify_vendor(bytes(16)) is None
    assert identify_vendor(bytes.fromhex("a9b9b1034f7e50a2513b47b100bb85a9")) is None  # unknown to tshark too
    assert identify_vendor(memoryview(bytes.fromhex("4a131c81070358455c5728f20e95452f"))) is not None  # type: ignore[arg-type]


def test_every_vid_tshark_names_in_the_corpus_is_identified() -> None:
    seen: set[str] = set()
    for capture in sorted(p for p in CORPUS.rglob("*") if p.suffix in (".pcap", ".pcapng", ".cap")):
        for _source, _destination, data in udp_payloads(str(capture.relative_to(CORPUS))).values():
            if len(data) < 28:
                continue
            parsed = parse_message(data)
            for payload in parsed.payloads:
                if isinstance(payload, VendorIdPayload):
                    seen.add(payload.data.hex())
                    if payload.data.hex() in TSHARK_NAMED_CORPUS_VIDS:
                        assert payload.vendor is not None, payload.data.hex()
    # 16 of them ride in IKEv1 messages; the rest in IKEv2 V payloads (same table, other dissector)
    ikev1_named = {h for h in TSHARK_NAMED_CORPUS_VIDS if h in seen}
    assert len(ikev1_named) >= 16
    for hex_octets in TSHARK_NAMED_CORPUS_VIDS:
        assert identify_vendor(bytes.fromhex(hex_octets)) is not None, hex_octets


def test_openswan_test_harness_vid_is_placed_in_the_freeswan_family() -> None:
    # Openswan unit-test captures send "OEplutounit0", which tshark leaves unknown
    data = udp_payloads("openswan/lp177-parentN3/parentM1.pcap")[1][2]
    vendors = [p.vendor for p in parse_message(data).payloads if isinstance(p, VendorIdPayload)]
    assert vendors == ["FreeS/WAN / Openswan / Libreswan", "RFC 3706 DPD", "RFC 3947 NAT-T"]
