"""Known Vendor ID payload contents (IKEv1 VID and IKEv2 V payloads) and what they say.

Data: each row of `VENDOR_IDS` is the VID octets in hex, the implementation or capability they
name, and the version where the octets encode one. Most IDs are an MD5 hash of a string; several
vendors append a version or capability octets to a fixed prefix, so every row also matches as a
prefix of a longer payload (the longest matching row wins). `_DECODERS` read the version that
Microsoft, Check Point, Cisco, Fortinet, libreswan and a few others append.

Sources of the facts (octet strings and names only): ike-scan's ike-vendor-ids file, Wireshark's
packet-isakmp.c VID table, libreswan's programs/pluto/vendor.c, strongSwan's isakmp_vendor.c and
ike_vendor.c; every "strongSwan x.y.z" row was checked to equal MD5("strongSwan x.y.z").
No Palo Alto Networks or Huawei VID could be established from public sources (both mostly send
only the standard capability IDs: DPD, NAT-T, fragmentation).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class VendorMatch:
    name: str
    """Human name of the implementation or capability (e.g. 'strongSwan', 'RFC 3947 NAT-T')."""
    version: str | None = None
    """Version string when the ID encodes one."""


# (VID octets in hex, name, version)
VENDOR_IDS: tuple[tuple[str, str, str | None], ...] = (
    # --- NAT traversal: RFC 3947 and the drafts before it (MD5 of the document name)
    ("4a131c81070358455c5728f20e95452f", "RFC 3947 NAT-T", None),
    ("4485152d18b6bbcd0be8a8469579ddcc", "draft-ietf-ipsec-nat-t-ike-00", None),
    ("16f6ca16e4a4066d83821a0f0aeaa862", "draft-ietf-ipsec-nat-t-ike-01", None),
    ("cd60464335df21f87cfdb2fc68b6a448", "draft-ietf-ipsec-nat-t-ike-02", None),
    ("90cb80913ebb696e086381b5ec427b1f", "draft-ietf-ipsec-nat-t-ike-02 (name hashed with a newline)", None),
    ("7d9419a65310ca6f2c179d9215529d56", "draft-ietf-ipsec-nat-t-ike-03", None),
    ("9909b64eed937c6573de52ace952fa6b", "draft-ietf-ipsec-nat-t-ike-04", None),
    ("80d0bb3def54565ee84645d4c85ce3ee", "draft-ietf-ipsec-nat-t-ike-05", None),
    ("4d1e0e136deafa34c4f3ea9f02ec7285", "draft-ietf-ipsec-nat-t-ike-06", None),
    ("439b59f8ba676c4c7737ae22eab8f582", "draft-ietf-ipsec-nat-t-ike-07", None),
    ("8f8d83826d246b6fc7a8a6a428c11de8", "draft-ietf-ipsec-nat-t-ike-08", None),
    ("42ea5b6f898d9773a575df26e7dd19e1", "draft-ietf-ipsec-nat-t-ike-09", None),
    ("4df37928e9fc4fd1b3262170d515c662", "draft-ietf-ipsec-nat-t-ike (KAME/racoon, Mac OS X)", None),
    ("c40fee00d5d39ddb1fc762e09b7cfea7", "Testing NAT-T RFC", None),
    ("810fa565f8ab14369105d706fbd57279", "RFC XXXX NAT-T (Solaris)", None),
    ("27bab5dc01ea0760ea4e3190ac27c0d0", "draft-stenberg-ipsec-nat-traversal-01", None),
    ("6105c422e76847e43f9684801292aecd", "draft-stenberg-ipsec-nat-traversal-02", None),
    ("6a7434c19d7e36348090a02334c9c805", "draft-huttunen-ipsec-esp-in-udp-00", None),
    ("50760f624c63e5c53eea386c685ca083", "ESPThruNAT (draft-huttunen-ipsec-esp-in-udp-01)", None),
    # --- Other capabilities and IETF drafts
    ("afcad71368a1f1c96b8696fc77570100", "RFC 3706 DPD", "1.0"),
    ("3b9031dce4fcf88b489a923963dd0c49", "DPDv1_NG (Shrew Soft)", None),
    ("09002689dfd6b712", "XAUTH", None),  # MD5("draft-ietf-ipsra-isakmp-xauth-06.txt"), 8 octets
    ("09002689dfd6b71280a224dec33b81e5", "XAUTH", None),  # the same hash, untruncated
    ("4048b7d56ebce88525e7de7f00d6c2d3", "IKE Fragmentation", None),  # MD5("FRAGMENTATION")
    ("325df29a2319f2dd", "draft-krywaniuk-ipsec-antireplay-00", None),
    ("8db7a41811221660", "draft-ietf-ipsec-heartbeats-00", None),
    ("4865617274426561745f4e6f74696679", "HeartBeat Notify", None),  # "HeartBeat_Notify"
    ("486561727442656174204e6f74696679", "HeartBeat Notify", None),  # "HeartBeat Notify"
    ("ba290499c24e84e53a1d83a05e5f00c9", "IKE Challenge-Response", None),
    ("0d33611a5d521b5e3c9c03d2fc107e12", "IKE Challenge-Response", None),
    ("ad3251042cdc4652c9e0734ce5de4c7d", "IKE Challenge-Response Revised", None),
    ("013f11823f966fa91900f024ba66a86b", "IKE Challenge-Response Revised", None),
    ("13f11823f966fa91900f024ba66a86ba", "IKE Challenge-Response Revised", None),
    ("ad2c0dd0b9c32083ccba25b8861ec455", "A GSS-API Authentication Method for IKE", None),
    ("b46d8914f3aaa3f2fedeb7c7db2943ca", "A GSS-API Authentication Method for IKE (name hashed with a newline)", None),
    ("621b04bb09882ac1e15935fefa24aeee", "GSSAPI", None),
    ("2d7922c6b301d9b0e1342739e9cfbbd5", "Delete With Reason", None),
    ("494b457632", "CAN-IKEv2 (obsolete bid-down detection)", None),  # "IKEv2"
    ("4f70706f7274756e6973746963204950736563", "Opportunistic IPsec", None),
    ("4f70656e5047503130313731", "OpenPGP", "10171"),
    ("4f70656e504750", "OpenPGP", None),
    # --- Microsoft: MS NT5 ISAKMPOAKLEY followed by a version number (MS-IKEE, libreswan, ike-scan)
    ("1e2b516905991c7d7c96fcbfb587e461", "Microsoft Windows", None),
    ("1e2b516905991c7d7c96fcbfb587e46100000002", "Microsoft Windows", "Windows 2000"),
    ("1e2b516905991c7d7c96fcbfb587e46100000003", "Microsoft Windows", "Windows XP SP1"),
    ("1e2b516905991c7d7c96fcbfb587e46100000004", "Microsoft Windows", "Windows Server 2003 / Windows XP SP2"),
    ("1e2b516905991c7d7c96fcbfb587e46100000005", "Microsoft Windows", "Windows Vista"),
    ("1e2b516905991c7d7c96fcbfb587e46100000006", "Microsoft Windows", "Windows Server 2008"),
    ("1e2b516905991c7d7c96fcbfb587e46100000007", "Microsoft Windows", "Windows 7"),
    ("1e2b516905991c7d7c96fcbfb587e46100000008", "Microsoft Windows", "Windows Server 2008 R2"),
    ("1e2b516905991c7d7c96fcbfb587e46100000009", "Microsoft Windows",
     "Windows 8 / 8.1 / 10 / Server 2012 R2 / Server 2016"),
    ("1e2b516905991c7d7c96fcbfb587e46100000010", "Microsoft Windows", "Windows Server 2012"),
    ("fb1de3cdf341b7ea16b7e5be0855f120", "MS-Negotiation Discovery Capable", None),
    ("e3a5966a76379fe707228231e5ce8652", "IKE CGA version 1", None),
    ("214ca4faffa7f32d6748e5303395ae83", "MS-MamieExists (AuthIP supported)", None),
    ("26244d38eddb61b3172a36e3d0cfb819", "Microsoft Vid-Initial-Contact", None),
    ("72872b95fcda2eb708efe322119b4971", "Microsoft NLBS_PRESENT (NLB/MSCS fast failover)", None),
    ("8aa394cf8a5577dc3110c113b027a4f2", "Microsoft Xbox One 2013", None),
    ("660822b3a73a244149578d62e0eb46a0", "Microsoft Xbox IKEv2 Negotiation", None),
    ("686a8cbdfe634b405146fb2baf33e9e8", "Microsoft IPsec Security Realm Id", None),
    ("01528bbbc00696121849ab9a1c5b2a5100000000", "Microsoft KEY_MODS", "IKE"),
    ("01528bbbc00696121849ab9a1c5b2a5100000001", "Microsoft KEY_MODS", "AuthIP"),
    ("01528bbbc00696121849ab9a1c5b2a5100000002", "Microsoft KEY_MODS", "IKEv2"),
    ("7bb93867d76c8d80df0f40fae8fc3b1900000000", "Microsoft AuthIP INIT KE", "DH NONE"),
    ("7bb93867d76c8d80df0f40fae8fc3b1900000001", "Microsoft AuthIP INIT KE", "DH1"),
    ("7bb93867d76c8d80df0f40fae8fc3b1900000002", "Microsoft AuthIP INIT KE", "DH2"),
    ("7bb93867d76c8d80df0f40fae8fc3b1900000003", "Microsoft AuthIP INIT KE", "DH14"),
    ("7bb93867d76c8d80df0f40fae8fc3b1900000004", "Microsoft AuthIP INIT KE", "DH19"),
    ("7bb93867d76c8d80df0f40fae8fc3b1900000005", "Microsoft AuthIP INIT KE", "DH20"),
    ("7bb93867d76c8d80df0f40fae8fc3b1900000006", "Microsoft AuthIP INIT KE", "DH21"),
    ("7bb93867d76c8d80df0f40fae8fc3b1900000007", "Microsoft AuthIP INIT KE", "DH MAX"),
    # --- Cisco: Unity (MD5("CISCO-UNITY") with the version in the last two octets), VPN 3000
    # (truncated MD5("ALTIGA GATEWAY") + version), IOS/ASA/FlexVPN capability strings
    ("12f5f28c457168a9702d9fe274cc0100", "Cisco Unity", "1.0"),
    ("12f5f28c457168a9702d9fe274cc02d4", "Cisco Unity", None),  # untruncated MD5("CISCO-UNITY")
    ("1f07f70eaa6514d3b0fa96542a500100", "Cisco VPN 3000 Concentrator", "1.0.0"),
    ("1f07f70eaa6514d3b0fa96542a500300", "Cisco VPN 3000 Concentrator", "3.0.0"),
    ("1f07f70eaa6514d3b0fa96542a500301", "Cisco VPN 3000 Concentrator", "3.0.1"),
    ("1f07f70eaa6514d3b0fa96542a500305", "Cisco VPN 3000 Concentrator", "3.0.5"),
    ("1f07f70eaa6514d3b0fa96542a500407", "Cisco VPN 3000 Concentrator", "4.0.7"),
    ("1f07f70eaa6514d3b0fa96542a", "Cisco VPN 3000 Concentrator", None),
    ("f6f7efc7f5aeb8cb158cb9d094ba69e7", "Cisco VPN 3000 Client", None),
    ("5946c258f99a1a57b03eb9d1759e0f24", "Cisco VPN 3000 Concentrator (observed)", None),
    ("ebbc5b00141d0c895e11bd395902d690", "Cisco VPN 3000 Concentrator (observed)", None),
    ("3e984048", "Cisco IOS", None),
    ("3e984048101e66cc659fd002b0ed3655", "Cisco IOS (1800 series, observed)", None),
    ("bdb41038a7ec5e5534dd004d0f91f927", "Cisco IOS (probable)", None),
    ("ade1e70e9953c1328373ebf0257b85ed", "Cisco PIX (observed)", None),
    ("434953434f2d44454c4554452d524541534f4e", "CISCO-DELETE-REASON", None),
    ("434953434f2d44594e414d49432d524f555445", "CISCO-DYNAMIC-ROUTE", None),
    ("464c455856504e2d535550504f52544544", "FLEXVPN-SUPPORTED", None),
    ("434953434f56504e2d5245562d3032", "CISCOVPN-REV-02", None),
    ("434953434f2d4752452d4d4f4445", "CISCO-GRE-MODE", None),
    (("434953434f28434f505952494748542926436f707972696768742028632920323030392043697363"
      "6f2053797374656d732c20496e632e"), "Cisco Copyright (c) 2009", None),
    ("800100018002000180030002", "Cisco Unity FW type", None),
    # --- Check Point: 20-octet prefix, then product, version, timestamp, reserved, features
    ("f4ed19e0c114eb516faaac0ee37daf2807b4381f", "Check Point", None),
    ("031017e07f7a82e3aa6950c999990100", "Check Point R71 / CryptoPro GOST", "1.0"),
    ("031017e07f7a82e3aa6950c999990101", "CryptoPro GOST", "1.1"),
    # --- strongSwan: MD5("strongSwan"); pluto (2.x-5.1) also sent MD5("strongSwan x.y.z")
    ('882fe56d6fd20dbc2251613b2ebe5beb', 'strongSwan', None),
    ('9e10a0d4205edc6c90bd5381a53c2d2b', 'strongSwan', '5.1.1'),
    ('a55a90de781611f70cbbae7045a225fc', 'strongSwan', '5.1.1rc1'),
    ('c90b020d043f1f050ba809e13dc8234e', 'strongSwan', '5.1.1dr4'),
    ('06f2f1b82256dce62c07cb4f71604035', 'strongSwan', '5.1.1dr3'),
    ('4f130d312ec92f50c02f2b0eb60d6ccc', 'strongSwan', '5.1.1dr2'),
    ('1a45d3bda55646016e998ac1c5590e59', 'strongSwan', '5.1.1dr1'),
    ('b7d8e62184049fb21b088d4232d2549c', 'strongSwan', '5.1.0'),
    ('02c49867060173c665ebce2b8110c7f7', 'strongSwan', '5.1.0rc1'),
    ('e069a583c5640257a8de2cf062461a4b', 'strongSwan', '5.1.0dr2'),
    ('22982eab040be7a4cb4177da312f2f1c', 'strongSwan', '5.1.0dr1'),
    ('dc3afcdda0514da394b4b36f4cb1b9a7', 'strongSwan', '5.0.4'),
    ('d398476a43b9d6c56c4045ffcc9fffb9', 'strongSwan', '5.0.3'),
    ('f2d4de999721c37fea51d4bcbc060120', 'strongSwan', '5.0.3rc1'),
    ('f4d68a2fb63e4390a959baa5c4bc7598', 'strongSwan', '5.0.3dr3'),
    ('7b3f3d21e4768e010fc7dd04ae369c61', 'strongSwan', '5.0.3dr2'),
    ('ca7d77d20794391df5a3cb90fbf5b72e', 'strongSwan', '5.0.3dr1'),
    ('04d52cc5fd04aa971063b111917731d2', 'strongSwan', '5.0.2'),
    ('80b8f4380b18f24f03ce5745fc3db56b', 'strongSwan', '5.0.2rc1'),
    ('a5f8ce0d6751c640e55bc41784f2e081', 'strongSwan', '5.0.2dr4'),
    ('75aa8f69de2e44500dae842be21f5491', 'strongSwan', '5.0.1'),
    ('e154b11a96ee2b44d4954843cd3a40a3', 'strongSwan', '5.0.0'),
    ('a87680d00cbb939871eb680d18d052e2', 'strongSwan', '4.6.4'),
    ('984a7bfefb46489a5be74b64531c6753', 'strongSwan', '4.6.3'),
    ('9c73b19f5f4181aa4b269dd004608811', 'strongSwan', '4.6.2'),
    ('1d6cfa4d69d9d33c0b2244bf99de9b8b', 'strongSwan', '4.6.1'),
    ('41ef2e2f7ec8b923c98d9fa9bb7a04a5', 'strongSwan', '4.6.0'),
    ('75244ad8a5a0f48e7e3b7ad79dcab153', 'strongSwan', '4.5.3'),
    ('b149d6161fb4c7c3805beeff042d08c0', 'strongSwan', '4.5.2'),
    ('efe12e8533bbcf4e978ec874935e9972', 'strongSwan', '4.5.1'),
    ('eff89e6f406f55292807c3b8f925884a', 'strongSwan', '4.5.0'),
    ('aaa2e272c58de8f96e72c4c21ba7dd99', 'strongSwan', '4.4.1'),
    ('a5ad81e15e1c68a1be277abfeee80d94', 'strongSwan', '4.4.0'),
    ('02d7c3a0698ec33bb126b2baa70b9c2c', 'strongSwan', '4.3.7'),
    ('512f90f2f8e5b04e4ba293c9a799d9a5', 'strongSwan', '4.3.6'),
    ('117c406d20a29f56f0dfcb03d9fa835b', 'strongSwan', '4.3.5rc1'),
    ('de5c703801952d85f6b3ed33b33784b4', 'strongSwan', '4.3.5'),
    ('e37e5d64a329a5cf1eeb8546c3b06018', 'strongSwan', '4.3.4'),
    ('f9f093629308b24388d09c3f026de0a8', 'strongSwan', '4.3.3'),
    ('d6263956ac790961a9c8409b393724bf', 'strongSwan', '4.3.2'),
    ('20b1f62b240a52a849309183960cbb64', 'strongSwan', '4.3.1'),
    ('9deb74e751f44c47905ed2fad93f9271', 'strongSwan', '4.3.0'),
    ('488c08f57afc382112f7cb396f2d4f6c', 'strongSwan', '4.2.9'),
    ('95569ee23ebb62eddedea353a575faf3', 'strongSwan', '4.2.8'),
    ('4ddc7e1f6d6cd1ae9d5dcac58fa1fe9a', 'strongSwan', '4.2.7'),
    ('a2782dd683b5edee3b777f897d2b867e', 'strongSwan', '4.2.6'),
    ('af0a05e0bd37b0aba0135a194abb5b89', 'strongSwan', '4.2.5'),
    ('cd5792d4b70f0299a6a1373de236d2ac', 'strongSwan', '4.2.4'),
    ('2d1f406118fbd5d28474791ffa00488a', 'strongSwan', '4.2.3'),
    ('2a517d0d23c37d08bce7c292a0217b39', 'strongSwan', '4.2.2'),
    ('bab253f4cb10a8108a7c927c56c87886', 'strongSwan', '4.2.1'),
    ('9f68901325a972894335302a9531ab9f', 'strongSwan', '4.2.0'),
    ('b7bd9f2f978e3259a7aa9f7a1396ad6c', 'strongSwan', '4.1.11'),
    ('bf3a89ae5bef8e72d44dac8bb88d7d5f', 'strongSwan', '4.1.10'),
    ('78fdd287def01a3f074b5369eab4fd1c', 'strongSwan', '4.1.9'),
    ('66a2045507c119da78a4666259cdea48', 'strongSwan', '4.1.8'),
    ('ea840aa4dfc9712d6c32b5a16eb329a3', 'strongSwan', '4.1.7'),
    ('d19683368af4b0edc21ccde982b1d1b0', 'strongSwan', '4.1.6'),
    ('bf0fbf7306ebb7827042d893539886e2', 'strongSwan', '4.1.5'),
    ('312f9cb1a6b90e19de7528c904ac3087', 'strongSwan', '4.1.4'),
    ('5849ab6d8beabd6e4d09e5a3b88c089a', 'strongSwan', '4.1.3'),
    ('15a1ace7ee52fddfef04f928db2dd134', 'strongSwan', '4.1.2'),
    ('d3f1c488c368175d5f40a8f5ca5f5e12', 'strongSwan', '4.1.1'),
    ('4794cef6843422980d1a3d06af41c5cd', 'strongSwan', '4.1.0'),
    ('ab0746221cc8fd0d5238f73a9b3da557', 'strongSwan', '4.0.7'),
    ('4c90136946577b51919d8d9a6b8e4a9f', 'strongSwan', '4.0.6'),
    ('dd180d21e5ce655a768ba32211dd8ad9', 'strongSwan', '4.0.5'),
    ('1ef283f83549b5ff9608b6d634f84d75', 'strongSwan', '4.0.4'),
    ('b181b18e114fc209b3c6e26c3a80718e', 'strongSwan', '4.0.3'),
    ('77e8eea6f556a499de3ffe7f7f95661c', 'strongSwan', '4.0.2'),
    ('9dbbafcf1db0dd595ae065294003ad3e', 'strongSwan', '4.0.1'),
    ('2ce9c946a4c879bf11b50b76cc5692cb', 'strongSwan', '4.0.0'),
    ('0e9e820524932da199a498953afa8a7e', 'strongSwan', '2.8.9'),
    ('8c4a3bcb729b11f703d22a5b39640ca8', 'strongSwan', '2.8.8'),
    ('3a0d4e7ca4e492ed4dfe476d1ac6018b', 'strongSwan', '2.8.7'),
    ('fe3f49706e26a9fb36a87bfce9ea36ce', 'strongSwan', '2.8.6'),
    ('4c7efa31b39e510432a317570d97bbb9', 'strongSwan', '2.8.5'),
    ('76c72bfd398424dd001b86d0012fe061', 'strongSwan', '2.8.4'),
    ('fb4641ad0eeb2a34491d15f4eff51063', 'strongSwan', '2.8.3'),
    ('299932277b7dfe382ce23465333a7d23', 'strongSwan', '2.8.2'),
    ('e37f2d5ba89a62cd202ee27dac06c8a8', 'strongSwan', '2.8.1'),
    ('32f0e9b9c06dfe8c9ad5599a636971a1', 'strongSwan', '2.8.0'),
    ('7f50cc4ebf04c2d9da73abfd69b77aa2', 'strongSwan', '2.7.3'),
    ('a194e2aaddd0bafb95253dd96dc733eb', 'strongSwan', '2.7.2'),
    ('8134878582121785ba65ea345d6ba724', 'strongSwan', '2.7.1'),
    ('07fa128e4754f9447b1dd46374eef360', 'strongSwan', '2.7.0'),
    ('b927f95219a0fe3600dba3c1182ae55f', 'strongSwan', '2.6.4'),
    ('b2860e7837f711bef3d0eeb106872ded', 'strongSwan', '2.6.3'),
    ('5b1cd6fe7d050eda6c93871c107db3d2', 'strongSwan', '2.6.2'),
    ('66afbc12bbfe6ce108b1f69f4bc917b7', 'strongSwan', '2.6.1'),
    ('3f3266499ffdbd85950e702298062844', 'strongSwan', '2.6.0'),
    ('1f4442296b83d7e33a8b45209ba0e590', 'strongSwan', '2.5.7'),
    ('3c5eba3d8564928e32ae43c3d9924dee', 'strongSwan', '2.5.6'),
    ('3f267ed621ada7ee6c7d8893ccb0b14b', 'strongSwan', '2.5.5'),
    ('7a6bf5b7df89642a75a78ef7d657c1c0', 'strongSwan', '2.5.4'),
    ('df5b1f0f1d5679d9f8512b16c55a6065', 'strongSwan', '2.5.3'),
    ('861ce5eb72164b190e9e629a31cf4901', 'strongSwan', '2.5.2'),
    ('9a4a4648f60f8eda7cfcbfe271ee5b7d', 'strongSwan', '2.5.1'),
    ('9eb3d907ed7ada4e3cbcacb917abc8e4', 'strongSwan', '2.5.0'),
    ('485a70361b4433b31dea1c6be0df243e', 'strongSwan', '2.4.4'),
    ('982b7a063a33c143a8eadc88249f6bcc', 'strongSwan', '2.4.3'),
    ('e7a3fd0c6d771a8f1b8a86a4169c9ea4', 'strongSwan', '2.4.2'),
    ('75b0653cb281eb26d31ede38c8e1e228', 'strongSwan', '2.4.1'),
    ('e829c88149bab3c0cee85da60e18ae9b', 'strongSwan', '2.4.0'),
    ('42a4834c92ab9a7777063afa254bcb69', 'strongSwan', '2.3.2'),
    ('f697c1afcc2ec8ddcdf99dc7af03a67f', 'strongSwan', '2.3.1'),
    ('b8f92b2fa2d3fe5fe158344bda1cc6ae', 'strongSwan', '2.3.0'),
    ('99dc7cc823376b3b33d04357896ae07b', 'strongSwan', '2.2.2'),
    ('d9118b1e9de5efced9cc9d883f2168ff', 'strongSwan', '2.2.1'),
    ('85b6cbec480d5c8cd9882c825ac2c244', 'strongSwan', '2.2.0'),
    # --- FreeS/WAN: "OE" + 10 octets of MD5(version string) forced into 0x40-0x7f (ike-scan)
    ('4f454a734e486b4a4c656272', 'FreeS/WAN', '0.5'),
    ('4f456c4f6b6251695c7c4674', 'FreeS/WAN', '0.6'),
    ('4f4548604f7f426647775453', 'FreeS/WAN', '0.7'),
    ('4f456462595d67595351445c', 'FreeS/WAN', '0.7.1'),
    ('4f457c625363787f517e6544', 'FreeS/WAN', '0.7.2'),
    ('4f4569517b587444694c4367', 'FreeS/WAN', '0.8'),
    ('4f45776a7f6d5e7a415d6f7c', 'FreeS/WAN', '0.8.1'),
    ('4f454f575c595a744a7d4f78', 'FreeS/WAN', '0.8.2'),
    ('4f45676a5553715e794f4f48', 'FreeS/WAN', '0.8.3'),
    ('4f45664250754b79577f5d55', 'FreeS/WAN', '0.8.4'),
    ('4f45615f4d44507343785d7b', 'FreeS/WAN', '0.8.5'),
    ('4f45494f5e4f746c57664157', 'FreeS/WAN', '0.9'),
    ('4f45494654445c41425d6d7b', 'FreeS/WAN', '0.9.1'),
    ('4f45497d4f7e6e5d60525170', 'FreeS/WAN', '0.9.10'),
    ('4f454b486274755358555140', 'FreeS/WAN', '0.9.11'),
    ('4f45694146645c4d4362727b', 'FreeS/WAN', '0.9.12'),
    ('4f45556c7d7671444b474c59', 'FreeS/WAN', '0.9.13'),
    ('4f456640625376587d626277', 'FreeS/WAN', '0.9.14'),
    ('4f454b796672767d437d5d5a', 'FreeS/WAN', '0.9.15'),
    ('4f454f62767d78797d7f6579', 'FreeS/WAN', '0.9.16'),
    ('4f45565b597d556e596e5e60', 'FreeS/WAN', '0.9.17'),
    ('4f45637e47544c77644a5b76', 'FreeS/WAN', '0.9.18'),
    ('4f45614d4873425c42727b63', 'FreeS/WAN', '0.9.19'),
    ('4f456171784e6b594a497058', 'FreeS/WAN', '0.9.2'),
    ('4f455c6d6c497f764f44477b', 'FreeS/WAN', '0.9.20'),
    ('4f4560624076527767787c56', 'FreeS/WAN', '0.9.21'),
    ('4f4541687e4c507a405d5146', 'FreeS/WAN', '0.9.22'),
    ('4f457841597142737f44787d', 'FreeS/WAN', '0.9.23'),
    ('4f457145706b5560634e725f', 'FreeS/WAN', '0.9.24'),
    ('4f454e5b60465a5a53656967', 'FreeS/WAN', '0.9.25'),
    ('4f45677c575b4c7c6a4a7173', 'FreeS/WAN', '0.9.26'),
    ('4f455f7f606c66424e616a60', 'FreeS/WAN', '0.9.27'),
    ('4f454e6d545e534c4a626063', 'FreeS/WAN', '0.9.28'),
    ('4f45765a4a6a51584653424e', 'FreeS/WAN', '0.9.29'),
    ('4f45485e6175794375444950', 'FreeS/WAN', '0.9.3'),
    ('4f45684e6772456542755d69', 'FreeS/WAN', '0.9.30'),
    ('4f45764141405f577750567b', 'FreeS/WAN', '0.9.31'),
    ('4f45546d5d704f49785e6467', 'FreeS/WAN', '0.9.32'),
    ('4f45655d786b445b75484668', 'FreeS/WAN', '0.9.33'),
    ('4f456547696d46657a4e5371', 'FreeS/WAN', '0.9.34'),
    ('4f455b76646a646f79695451', 'FreeS/WAN', '0.9.35'),
    ('4f454d596b6a6e5f56707e49', 'FreeS/WAN', '0.9.36'),
    ('4f45757b6e79665a556c6546', 'FreeS/WAN', '0.9.37'),
    ('4f455b6b636e606f5b42707b', 'FreeS/WAN', '0.9.38'),
    ('4f45677e79657a56654f7145', 'FreeS/WAN', '0.9.39'),
    ('4f4551604748445356727b74', 'FreeS/WAN', '0.9.4'),
    ('4f456e504e735f4f67555d5f', 'FreeS/WAN', '0.9.40'),
    ('4f4549557964647c42614440', 'FreeS/WAN', '0.9.5'),
    ('4f4570695578777266796a56', 'FreeS/WAN', '0.9.6'),
    ('4f457b4a767a6f716e48566c', 'FreeS/WAN', '0.9.7'),
    ('4f455b71457d4f685c475d6c', 'FreeS/WAN', '0.9.8'),
    ('4f455e4f4d58404f604d595c', 'FreeS/WAN', '0.9.9'),
    ('4f457f685e7d4c5645785669', 'FreeS/WAN', '1.0.0'),
    ('4f457176515f515f71526b56', 'FreeS/WAN', '1.0.1'),
    ('4f45465d56636a5149725558', 'FreeS/WAN', '1.0.2'),
    ('4f454644595a4f5c7a535445', 'FreeS/WAN', '1.1.0'),
    ('4f456842537e5a5c71527547', 'FreeS/WAN', '1.1.1'),
    ('4f457d5b4a707d736e7b5b6f', 'FreeS/WAN', '1.1.2'),
    ('4f45646357714a755b4a5b72', 'FreeS/WAN', '1.1.3'),
    ('4f454160444e745150604e47', 'FreeS/WAN', '1.1.4'),
    ('4f4544547476647754795157', 'FreeS/WAN', '1.1.5'),
    ('4f454b48657b616b494a4c77', 'FreeS/WAN', '1.1.6'),
    ('4f45544e79737d4953437b43', 'FreeS/WAN', '1.2.0'),
    ('4f454d524173695157515375', 'FreeS/WAN', '1.2.1'),
    ('4f45465e5c62774e59774c4f', 'FreeS/WAN', '1.2.2'),
    ('4f455a717b40607977577067', 'FreeS/WAN', '1.3.0'),
    ('4f457d7c696569676a6f607c', 'FreeS/WAN', '1.3.1'),
    ('4f457c6f70766b5a61546a51', 'FreeS/WAN', '1.3.2'),
    ('4f457d5b527b6c54736d447d', 'FreeS/WAN', '1.3.3'),
    ('4f454e746f4f53427579497d', 'FreeS/WAN', '1.3.4'),
    ('4f45415262734d596d56516b', 'FreeS/WAN', '1.3.5'),
    ('4f456248514f405942447c4e', 'FreeS/WAN', '1.3.6'),
    ('4f45404063756a5d496a584f', 'FreeS/WAN', '1.4.0'),
    ('4f455f526760425742497c65', 'FreeS/WAN', '1.4.1'),
    ('4f456270434d5b6e6753776e', 'FreeS/WAN', '1.4.2'),
    ('4f457a6d5b605b7d42405a67', 'FreeS/WAN', '1.4.3'),
    ('4f457177674d6a63426e4d54', 'FreeS/WAN', '1.4.4'),
    ('4f457d73435c6d5b6e777d59', 'FreeS/WAN', '1.4.5'),
    ('4f45425261435763654e5269', 'FreeS/WAN', '1.4.6'),
    ('4f457a6a547b434378757857', 'FreeS/WAN', '1.4.7'),
    ('4f455476696c4e50675f6e70', 'FreeS/WAN', '1.4.8'),
    ('4f455676404f5b55457d5479', 'FreeS/WAN', '1.5.0'),
    ('4f45617072517b7d5c607344', 'FreeS/WAN', '1.5.1'),
    ('4f456f407272744071414846', 'FreeS/WAN', '1.5.2'),
    ('4f4547425f74447179614445', 'FreeS/WAN', '1.5.3'),
    ('4f457d667c7069487e495448', 'FreeS/WAN', '1.5.4'),
    ('4f45505f70774e73435e5b7a', 'FreeS/WAN', '1.5.5'),
    ('4f45467c4d4760617f486547', 'FreeS/WAN', '1.6.0'),
    ('4f454b534c5842715a656f49', 'FreeS/WAN', '1.6.1'),
    ('4f4557464c67535540427a72', 'FreeS/WAN', '1.6.2'),
    ('4f457d60727152596653686e', 'FreeS/WAN', '1.6.3'),
    ('4f45486b7d44784d42676b5d', 'FreeS/WAN', '2.00'),
    ('4f457c4f547e6e615b426e56', 'FreeS/WAN', '2.01'),
    ('4f456c6b44696d7f6b4c4e60', 'FreeS/WAN', '2.02'),
    ('4f45566671474962734e6264', 'FreeS/WAN', '2.03'),
    ('4f45704f736579505c6e5f6d', 'FreeS/WAN', '2.04'),
    ('4f457271785f4c7e496f4d54', 'FreeS/WAN', '2.05'),
    ('4f457e4c466e5d427c5c6b52', 'FreeS/WAN', '2.06'),
    # --- Openswan: same scheme ("OE"); Xelerance releases from 2.6.40 use "OSW" (ike-scan)
    ('4f455d787a5b6948787a655b', 'Openswan', '2.1.0'),
    ('4f45466a786e57484d4d4361', 'Openswan', '2.1.1'),
    ('4f4555656771407e63636578', 'Openswan', '2.1.2'),
    ('4f4548724b6e5e68557c604f', 'Openswan', '2.2.0'),
    ('4f4572696f5c77557f746249', 'Openswan', '2.3.0'),
    ('4f45454355706e735d625c71', 'Openswan', '2.3.1'),
    ('4f45436f586c544d46766f54', 'Openswan', '2.3.1 X.509-1.5.4 LDAP_V3 PLUTO_SENDS_VENDORID PLUTO_USES_KEYRR'),
    ('4f454578616c467b5f6f606d', 'Openswan', '2.3.1 X.509-1.5.4 PLUTO_SENDS_VENDORID PLUTO_USES_KEYRR'),
    ('4f45785c567c6f61507e7864', 'Openswan', '2.4.0'),
    ('4f457240604e7f585d6d5869', 'Openswan', '2.4.0 X.509-1.5.4 PLUTO_SENDS_VENDORID PLUTO_USES_KEYRR'),
    ('4f456e5e4c737d7d62796c51', 'Openswan', '2.4.1'),
    ('4f456971726d54726e464a71', 'Openswan', '2.4.10'),
    ('4f4574715e655577567a5f41', 'Openswan', '2.4.10 PLUTO_SENDS_VENDORID PLUTO_USES_KEYRR'),
    ('4f4550484948576e64636f6b', 'Openswan', '2.4.11'),
    ('4f457b64445e664a6355766b', 'Openswan', '2.4.11 PLUTO_SENDS_VENDORID PLUTO_USES_KEYRR'),
    ('4f456c7c5b79725e4a6a5658', 'Openswan', '2.4.12'),
    ('4f45606c50487c5662707575', 'Openswan', '2.4.12 LDAP_V3 PLUTO_SENDS_VENDORID PLUTO_USES_KEYRR'),
    ('4f454b427a64597b774d5d40', 'Openswan', '2.4.12 PLUTO_SENDS_VENDORID PLUTO_USES_KEYRR'),
    ('4f45445e597f60634770436c', 'Openswan', '2.4.13'),
    ('4f456b5a5d52605d7a7a6f4e', 'Openswan', '2.4.13 LDAP_V3 PLUTO_SENDS_VENDORID PLUTO_USES_KEYRR'),
    ('4f456066696a417566514d44', 'Openswan', '2.4.13 PLUTO_SENDS_VENDORID PLUTO_USES_KEYRR'),
    ('4f454c4e767d475b775e6f56', 'Openswan', '2.4.14'),
    ('4f455a526b5f4c686e534e63', 'Openswan', '2.4.14 PLUTO_SENDS_VENDORID PLUTO_USES_KEYRR'),
    ('4f45675d5e5d7f664c604651', 'Openswan', '2.4.15'),
    ('4f4540784e47627163627858', 'Openswan', '2.4.15 LDAP_V3 PLUTO_SENDS_VENDORID PLUTO_USES_KEYRR'),
    ('4f457d78546050757b707245', 'Openswan', '2.4.15 PLUTO_SENDS_VENDORID PLUTO_USES_KEYRR'),
    ('4f45666a6343554b5f7a4062', 'Openswan', '2.4.2'),
    ('4f4547407c7673775449546e', 'Openswan', '2.4.3'),
    ('4f455b7075417d5959587e46', 'Openswan', '2.4.3 X.509-1.5.4 LDAP_V3 PLUTO_SENDS_VENDORID PLUTO_USES_KEYRR'),
    ('4f45565e6441545f4a664642', 'Openswan', '2.4.4'),
    ('4f457a7d4646466667725f65', 'Openswan', '2.4.4 X.509-1.5.4 PLUTO_SENDS_VENDORID PLUTO_USES_KEYRR'),
    ('4f45587d5d4b4b7c61487b7c', 'Openswan', '2.4.5'),
    ('4f454766754a5b59657b4168', 'Openswan', '2.4.5 X.509-1.5.4 LDAP_V3 PLUTO_SENDS_VENDORID PLUTO_USES_KEYRR'),
    ('4f456e4d43757f784f704063', 'Openswan', '2.4.5 X.509-1.5.4 PLUTO_SENDS_VENDORID PLUTO_USES_KEYRR'),
    ('4f45725c5b754061666c425f', 'Openswan', '2.4.5dr3 X.509-1.5.4 PLUTO_SENDS_VENDORID PLUTO_USES_KEYRR'),
    ('4f45636e6542785f6f6b7257', 'Openswan', '2.4.6'),
    ('4f456c4c4f5d5264574e5244', 'Openswan', '2.4.6 X.509-1.5.4 LDAP_V3 PLUTO_SENDS_VENDORID PLUTO_USES_KEYRR'),
    ('4f454e7c454d716b5f4d6c67', 'Openswan', '2.4.6 X.509-1.5.4 PLUTO_SENDS_VENDORID PLUTO_USES_KEYRR'),
    ('4f457a7d6d6c5e5441727070', 'Openswan', '2.4.6rc3 X.509-1.5.4 PLUTO_SENDS_VENDORID PLUTO_USES_KEYRR'),
    ('4f4552756a414d79434d4951', 'Openswan', '2.4.7'),
    ('4f455a7e4261425d725c705f', 'Openswan', '2.4.7 PLUTO_SENDS_VENDORID PLUTO_USES_KEYRR'),
    ('4f457a6d734b6f476273616c', 'Openswan', '2.4.8'),
    ('4f455d62575860514272754c', 'Openswan', '2.4.8 LDAP_V3 PLUTO_SENDS_VENDORID PLUTO_USES_KEYRR'),
    ('4f4574514070784e717f5760', 'Openswan', '2.4.8 PLUTO_SENDS_VENDORID PLUTO_USES_KEYRR'),
    ('4f45414c5d6a75516450457a', 'Openswan', '2.4.9'),
    ('4f45534a496f60726b636462', 'Openswan', '2.4.9 LDAP_V3 PLUTO_SENDS_VENDORID PLUTO_USES_KEYRR'),
    ('4f455f5d7b764b67436f4f49', 'Openswan', '2.4.9 PLUTO_SENDS_VENDORID PLUTO_USES_KEYRR'),
    ('4f4546477e5e4b5440606859', 'Openswan', '2.5.0'),
    ('4f45495c767449495c5a7350', 'Openswan', '2.5.00'),
    ('4f457260466858434c7e6a45', 'Openswan', '2.5.01'),
    ('4f45717a7c715b657c5c5156', 'Openswan', '2.5.02'),
    ('4f456651517b4f475276654d', 'Openswan', '2.5.03'),
    ('4f455672606d794f697d7242', 'Openswan', '2.5.04'),
    ('4f454a4d5e5e674c604e4168', 'Openswan', '2.5.05'),
    ('4f454a6176624e5876754d64', 'Openswan', '2.5.06'),
    ('4f455c47464946434875464e', 'Openswan', '2.5.07'),
    ('4f455a6f776e666c49497b68', 'Openswan', '2.5.08'),
    ('4f454c4f577c5a7c4c665248', 'Openswan', '2.5.09'),
    ('4f45714250575765766a6c72', 'Openswan', '2.5.10'),
    ('4f457a795c6440407166776c', 'Openswan', '2.5.11'),
    ('4f4549796c524b7c515b5450', 'Openswan', '2.5.12'),
    ('4f45455740667a5f766d785d', 'Openswan', '2.5.13'),
    ('4f45736b7f50645f6c416341', 'Openswan', '2.5.14'),
    ('4f45675e407f696148444f7c', 'Openswan', '2.5.15'),
    ('4f4557575d58474e5d574e58', 'Openswan', '2.5.16'),
    ('4f457a74437b794a6148685b', 'Openswan', '2.5.17'),
    ('4f455e74654a504c7a614967', 'Openswan', '2.5.18'),
    ('4f45766b71776b6f48467a69', 'Openswan', '2.6.01'),
    ('4f455f525758674a61465b6b', 'Openswan', '2.6.02'),
    ('4f45775376797c60516a757b', 'Openswan', '2.6.03'),
    ('4f45736f4c6569475a7d7f4c', 'Openswan', '2.6.04'),
    ('4f457b654a44434170427663', 'Openswan', '2.6.05'),
    ('4f454a4376414f737d6e495f', 'Openswan', '2.6.06'),
    ('4f45466b5d7b4753765c686b', 'Openswan', '2.6.07'),
    ('4f457d456755615659534c7b', 'Openswan', '2.6.08'),
    ('4f455a447e4d547d6d416e6c', 'Openswan', '2.6.09'),
    ('4f45744a61537c7646486641', 'Openswan', '2.6.10'),
    ('4f455e7f4c79574b43455465', 'Openswan', '2.6.11'),
    ('4f45775b5b5e5b705443404e', 'Openswan', '2.6.12'),
    ('4f455a7f4b47466754526564', 'Openswan', '2.6.13'),
    ('4f456f534a55776561714158', 'Openswan', '2.6.14'),
    ('4f4563476e586e5f567a5457', 'Openswan', '2.6.15'),
    ('4f456a7d637357765a5c7b63', 'Openswan', '2.6.16'),
    ('4f4554704245584355764571', 'Openswan', '2.6.17'),
    ('4f457d5a765a404d5b4f5744', 'Openswan', '2.6.18'),
    ('4f456b71484c42504f664d44', 'Openswan', '2.6.19'),
    ('4f4543714271574c644b7a41', 'Openswan', '2.6.20'),
    ('4f454970424c6d5f4e5b6f59', 'Openswan', '2.6.20dr2'),
    ('4f4550544259485a67464e66', 'Openswan', '2.6.20rc1'),
    ('4f457e717f6b5a4e727d576b', 'Openswan', '2.6.21'),
    ('4f456c6a405d72544d42754d', 'Openswan', '2.6.22'),
    ('4f456d406b6753464548407f', 'Openswan', '2.6.23'),
    ('4f45557d6068416e77737478', 'Openswan', '2.6.24'),
    ('4f45694b5146645d6863434c', 'Openswan', '2.6.24rc3'),
    ('4f45445743787f6f78467b4d', 'Openswan', '2.6.24rc5'),
    ('4f4543606e547b776f5e5848', 'Openswan', '2.6.25'),
    ('4f45504b7e7a764d4e645f57', 'Openswan', '2.6.26'),
    ('4f456e544e77494c76567e5c', 'Openswan', '2.6.27'),
    ('4f45517b4f7f6e657a7b4351', 'Openswan', '2.6.28'),
    ('4f455e5a65725d6564727763', 'Openswan', '2.6.29'),
    ('4f457656736b546968656675', 'Openswan', '2.6.30'),
    ('4f457d476e447f5a4159655b', 'Openswan', '2.6.31'),
    ('4f4568794c64414365636661', 'Openswan', '2.6.32'),
    ('4f456768495f775c414c4679', 'Openswan', '2.6.33'),
    ('4f457f7e637f7679517f4a5a', 'Openswan', '2.6.34'),
    ('4f457e487a746b6f69705842', 'Openswan', '2.6.35'),
    ('4f45716c74725d4b5a6c5d5f', 'Openswan', '2.6.36'),
    ('4f45755c645c6a795c5c6170', 'Openswan', '2.6.37'),
    ('4f4576795c6b677a57715c73', 'Openswan', '2.6.38'),
    ('4f454b705270417f765b6b59', 'Openswan', '2.6.38dr2'),
    ('4f45414f75405b4e6b554a50', 'Openswan', '2.6.38rc2'),
    ('4f456d6470475f6c477d767d', 'Openswan', '2.6.39'),
    ('4f456c4e75416271485b7970', 'Openswan', '2.6.39dr3'),
    ('4f53577666617a6f6355505a', 'Openswan', '2.6.40'),
    ('4f535773786c6a4640545359', 'Openswan', '2.6.41'),
    ('4f535751624a50497c705f61', 'Openswan', '2.6.42'),
    ('4f53577b5547416f4c674b64', 'Openswan', '2.6.43'),
    ('4f53574745627352675b5a51', 'Openswan', '2.6.44'),
    ('4f53577e7b6566787577466d', 'Openswan', '2.6.45'),
    ('4f535771775064405e494145', 'Openswan', '2.6.46'),
    ('4f5357584f7a6d66706e7052', 'Openswan', '2.6.47'),
    ('4f53575353637b5979536b4c', 'Openswan', '2.6.47.1'),
    ('4f53576d77657d7c497e6c7c', 'Openswan', '2.6.48'),
    ('4f5357795f4472657a654753', 'Openswan', '2.6.49'),
    ('4f53575e5f45464d62615370', 'Openswan', '2.6.50dev1'),
    # --- Libreswan 3.0-3.5: "OEN" + hash (ike-scan); 3.6 and later send "OE-Libreswan-<version>"
    ('4f454e574547444b6865684a', 'Libreswan', '3.3 LDAP_V3'),
    ('4f454e5f52685050487b645e', 'Libreswan', '3.5'),
    ('4f454e756f6b706a71757d5c', 'Libreswan', '3.5 LDAP_V3'),
    ("4f452d4c696272657377616e2d", "Libreswan", None),  # "OE-Libreswan-" + version
    ("4f454e", "Libreswan 3.0-3.5 (or FreeS/WAN / Openswan)", None),
    ("4f5357", "Openswan (Xelerance)", None),  # "OSW"
    ("4f45", "FreeS/WAN / Openswan / Libreswan", None),  # "OE"
    # --- KAME / racoon / IPsec-Tools
    ("7003cbc1097dbe9c2600ba6983bc8b35", "KAME/racoon", None),
    ("20a3622c1cea7ce37bee3ca484425276", "IPsec-Tools", None),
    # --- SSH Communications Security (MD5 of their product strings)
    ('fbf47614984031fa8e3bb6198089b223', 'SSH Communications Security IPSEC Express', '1.1.0'),
    ('1952dc91ac20f646fb01cf42a33aee30', 'SSH Communications Security IPSEC Express', '1.1.1'),
    ('e8bffa643e5c8f2cd10fda7370b6ebe5', 'SSH Communications Security IPSEC Express', '1.1.2'),
    ('c1111b2dee8cbc3d620573ec57aab9cb', 'SSH Communications Security IPSEC Express', '1.2.1'),
    ('09ec27bfbc09c75823cfecbffe565a2e', 'SSH Communications Security IPSEC Express', '1.2.2'),
    ('7f21a596e4e318f0b2f4944c2384cb84', 'SSH Communications Security IPSEC Express', '2.0.0'),
    ('2836d1fd2807bc9e5ae30786320451ec', 'SSH Communications Security IPSEC Express', '2.1.0'),
    ('a68de756a9c5229bae66498040951ad5', 'SSH Communications Security IPSEC Express', '2.1.1'),
    ('3f2372867e237c1cd8250a75559cae20', 'SSH Communications Security IPSEC Express', '2.1.2'),
    ('0e58d5774df602007d0b02443660f7eb', 'SSH Communications Security IPSEC Express', '3.0.0'),
    ('f5ce31ebc210f44350cf71265b57380f', 'SSH Communications Security IPSEC Express', '3.0.1'),
    ('f64260af2e2742daddd56987068a99a0', 'SSH Communications Security IPSEC Express', '4.0.0'),
    ('7a54d3bdb3b1e6d923892064be2d981c', 'SSH Communications Security IPSEC Express', '4.0.1'),
    ('9aa1f3b43472a45d5f506aeb260cf214', 'SSH Communications Security IPSEC Express', '4.1.0'),
    ('89f7b760d86b012acf263382394d962f', 'SSH Communications Security IPSEC Express', '4.1.1'),
    ('6880c7d026099114e486c55430e7abee', 'SSH Communications Security IPSEC Express', '4.2.0'),
    ('b037a21aceccb5570f602546f97bde8c', 'SSH Communications Security IPSEC Express', '5.0'),
    ('2b2dad97c4d140930053287f996850b0', 'SSH Communications Security IPSEC Express', '5.0.0'),
    ('45e17f3abe93944cb202910c59ef806b', 'SSH Communications Security IPSEC Express', '5.1.0'),
    ('5925859f7377ed7816d2fb81c01fa551', 'SSH Communications Security IPSEC Express', '5.1.1'),
    ('054182a07c7ae206f9d2cf9d2432c482', 'SSH Sentinel', None),
    ('b91623e693ca18a54c6a2778552305e8', 'SSH Sentinel', '1.1'),
    ('5430888de01a31a6fa8f60224e449958', 'SSH Sentinel', '1.2'),
    ('7ee5cb85f71ce259c94a5c731ee4e752', 'SSH Sentinel', '1.3'),
    ('63d9a1a7009491b5a0a6fdeb2a8284f0', 'SSH Sentinel', '1.4'),
    ('eb4b0d96276b4e220ad16221a7b2a5e6', 'SSH Sentinel', '1.4.1'),
    ('37eba0c4136184e7daf8562a77060b4a', 'SSH Communications Security QuickSec', '0.9.0'),
    ('5d72925e55948a9661a7fc48fdec7ff9', 'SSH Communications Security QuickSec', '1.1.0'),
    ('777fbf4c5af6d1cdd4b895a05bf82594', 'SSH Communications Security QuickSec', '1.1.1'),
    ('2cdf08e712ede8a5978761267cd19b91', 'SSH Communications Security QuickSec', '1.1.2'),
    ('59e454a8c2cf02a34959121f1890bc87', 'SSH Communications Security QuickSec', '1.1.3'),
    ('8f9cc94e01248ecdf147594c284b213b', 'SSH Communications Security QuickSec', '2.1.0'),
    # --- Juniper / NetScreen: 20-octet IDs, usually followed by 8 octets
    ('299ee8289f40a8973bc78687e2e7226b532c3b76', 'Juniper/NetScreen (Netscreen-01)', None),
    ('3a15e1f3cf2a63582e3ac82d1c64cbe3b6d779e7', 'Juniper/NetScreen (Netscreen-02)', None),
    ('47d2b126bfcd83489760e2cf8c5d4d5a03497c15', 'Juniper/NetScreen (Netscreen-03)', None),
    ('4a4340b543e02b84c88a8b96a8af9ebe77d9accc', 'Juniper/NetScreen (Netscreen-04)', None),
    ('64405f46f03b7660a23be116a1975058e69e8387', 'Juniper/NetScreen (Netscreen-05)', None),
    ('699369228741c6d4ca094c93e242c9de19e7b7c6', 'Juniper/NetScreen (Netscreen-06)', None),
    ('8c0dc6cf62a0ef1b5c6eabd1b67ba69866adf16a', 'Juniper/NetScreen (Netscreen-07)', None),
    ('92d27a9ecb31d99246986d3453d0c3d57a222a61', 'Juniper/NetScreen (Netscreen-08)', None),
    ('9b096d9ac3275a7d6fe8b91c583111b09efed1a0', 'Juniper/NetScreen (Netscreen-09)', None),
    ('bf03746108d746c904f1f3547de24f78479fed12', 'Juniper/NetScreen (Netscreen-10)', None),
    ('c2e80500f4cc5fbf5daaeed3bb59abaeee56c652', 'Juniper/NetScreen (Netscreen-11)', None),
    ('c8660a62b03b1b6130bf781608d32a6a8d0fb89f', 'Juniper/NetScreen (Netscreen-12)', None),
    ('f885da40b1e7a9abd17655ec5bbec0f21f0ed52e', 'Juniper/NetScreen (Netscreen-13)', None),
    ('2a2bcac19b8e91b426107807e02e7249569d6fd3', 'Juniper/NetScreen (Netscreen-14)', None),
    ('166f932d55eb64d8e4df4fd37e2313f0d0fd8451', 'Juniper/NetScreen (Netscreen-15)', None),
    ('a35bfd05ca1ac0b3d2f24e9e82bfcbff9c9e52b5', 'Juniper/NetScreen (Netscreen-16)', None),
    ('9436e8d67174ef9aed068d5ad5213f187a3f8ba6', 'Juniper/NetScreen (Netscreen-17)', None),
    ("d6b45f82f24bacb288af59a978830ab7", "Juniper/NetScreen (observed)", None),
    ("cf49908791073fb46439790fdeb6aeed981101ab", "Juniper/NetScreen (observed)", None),
    # --- Fortinet: FortiGate (12-octet prefix + release + build), FortiClient
    ("8299031757a36082c6a621de", "Fortinet FortiGate", None),
    ("1d6e178f6c2c0be284985465450fe9d4", "Fortinet FortiGate", None),
    ("4c53427b6d465d1b337bb755a37a7fef", "Fortinet FortiClient Connect license", None),
    ("b4f01ca951e9da8d0bafbbd34ad3044e", "Fortinet Endpoint Control", None),
    # --- SonicWall (8-octet IDs, ike-scan)
    ('5b362bc820f60001', 'SonicWall (SonicWall-1)', None),
    ('5b362bc820f60002', 'SonicWall (SonicWall-2)', None),
    ('5b362bc820f60003', 'SonicWall (SonicWall-3)', None),
    ('5b362bc820f60005', 'SonicWall (SonicWall-5)', None),
    ('5b362bc820f60006', 'SonicWall (SonicWall-6)', None),
    ('5b362bc820f60007', 'SonicWall (SonicWall-7)', None),
    ('5b362bc820f60008', 'SonicWall (SonicWall-8)', None),
    ('404bf439522ca3f6', 'SonicWall (SonicWall-a)', None),
    ('da8e937880010000', 'SonicWall (SonicWall-b)', None),
    ('5b362bc820f70001', 'SonicWall (SonicWall-c)', None),
    ("da8e9378", "SafeNet / WatchGuard", None),
    # --- ZyXEL
    ("b858d1addd08c1e8adafea150608aa4497aa6cc8", "ZyXEL ZyWALL Router", None),
    ("f758f22668750f03b08df6ebe1d0", "ZyXEL ZyWALL USG 100", None),
    ("625027749d5ab97f5616c1602765cf480a3b7d0b", "ZyXEL ZyWALL", None),
    # --- SafeNet: 16-octet prefix, then octets and the version text
    ("47bbe7c993f1fc13b4e6d0db565c68e5", "SafeNet SoftRemote", None),
    # --- Nortel Contivity: "BNES" + a 4-octet version
    ("424e4553", "Nortel Contivity", None),
    # --- Timestep: "TIMESTEP" + text ("TIMESTEP 1 SGW 1520 315 2.01E013")
    ("54494d4553544550", "Timestep", None),
    # --- Other gateways and clients
    ("9aa1f3b43472a45d5f506aeb26c0f214", "CyberGuard", None),
    ("f14b94b7bff1fef02773b8c49feded26", "Shrew Soft VPN Client", None),
    ("101fb0b35c5a4f4c08b919f1cb9777b0", "NCP Secure Client", None),
    ("c61baca1f1a60cc10800000000000000", "NCP Secure Client (observed)", None),
    ("8404adf9cda05760b2ca292e4bff537b", "Secure Computing Sidewinder", None),
    ("e720cdd49d2ee7b83ce1970a6c69b528", "Secure Computing Sidewinder G2 (probable)", None),
    ("c573b056d7faca36c2fba28374127cbf", "Stonesoft StoneGate", None),
    ("baeb239037e17787d730eed9d95d48aa", "Stonesoft StoneGate", None),
    ("526170746f7220506f77657256706e20536572766572", "Symantec Raptor PowerVPN Server", None),
    ("dbfb81eb5760b0788562067da102d755", "Netgear", None),
    ("4485152d18b6bbcc0be8a8469579ddcc", "Avaya", None),
    ("4c5647392e322e3234353a425249434b3a392e322e323435", "Lucent VPN Gateway", "9.2.245"),
    ("4c5643372e312e323a5850", "Lucent VPN Client", "7.1.2"),
    ("ca3e2b854ba8030017dc1023a4fde2041f9f7463", "Aruba Networks Remote AP", None),
    ("3c8e70bdf9c7d74add53e4100915dc2e4bb51274", "Aruba Networks Controller", None),
    ("88f0e3149b3fa48b05aa7f685f0b766be186ccb8", "Aruba Networks VIA Client", None),
    ("56494120417574682050726f66696c65203a20", "Aruba Networks VIA Auth Profile", None),
    ("08db45e6cb01f80bb576e9a78c0f54e1300b8881", "ELVIS-PLUS Zastava", None),
    ("4f70656e494b4544", "OpenIKED", None),
    ("4d6163204f53582031302e78", "Apple Mac OS X 10.x", None),
)


# --- Versions appended to a known prefix ------------------------------------------------------
_CHECKPOINT_PRODUCTS: dict[int, str] = {1: "Firewall-1", 2: "SecuRemote/SecureClient"}
_CHECKPOINT_VERSIONS: dict[int, str] = {  # Wireshark cp_version, ike-scan
    2: "4.1",
    3: "4.1 SP-1",
    4002: "4.1 SP-2 or above",
    5000: "NG",
    5001: "NG Feature Pack 1",
    5002: "NG Feature Pack 2",
    5003: "NG Feature Pack 3",
    5004: "NG with Application Intelligence",
    5005: "NG with Application Intelligence R55",
    5006: "NG with Application Intelligence R56",
}


def _u16(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset:offset + 2], "big")


def _u32(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset:offset + 4], "big")


def _text(data: bytes) -> str:
    return data.split(b"\0", 1)[0].decode("ascii", "replace").strip()


def _microsoft(data: bytes) -> VendorMatch:
    if len(data) < 20:
        return VendorMatch("Microsoft Windows")
    return VendorMatch("Microsoft Windows", f"MS NT5 ISAKMPOAKLEY version {_u32(data, 16)}")


def _checkpoint(data: bytes) -> VendorMatch:
    if len(data) < 28:
        return VendorMatch("Check Point")
    product = _CHECKPOINT_PRODUCTS.get(_u32(data, 20)) or f"product {_u32(data, 20)}"
    version_number = _u32(data, 24)
    version = _CHECKPOINT_VERSIONS.get(version_number) or f"version {version_number}"
    if len(data) >= 32 and _u32(data, 28) and version_number == 5005:
        version = "NGX or later"  # NGX sets the timestamp field (ike-scan)
    return VendorMatch("Check Point", f"{product} {version}")


def _cisco_3000(data: bytes) -> VendorMatch:
    if len(data) < 16:
        return VendorMatch("Cisco VPN 3000 Concentrator")
    return VendorMatch("Cisco VPN 3000 Concentrator", f"{data[14]}.{data[15] >> 4}.{data[15] & 0x0F}")


def _cisco_unity(data: bytes) -> VendorMatch:
    if len(data) < 16:
        return VendorMatch("Cisco Unity")
    return VendorMatch("Cisco Unity", f"{data[14]}.{data[15]}")


def _dpd(data: bytes) -> VendorMatch:
    if len(data) < 16:
        return VendorMatch("RFC 3706 DPD")
    return VendorMatch("RFC 3706 DPD", f"{data[14]}.{data[15]}")


def _fortigate(data: bytes) -> VendorMatch:
    if len(data) < 16 or not _u32(data, 12):
        return VendorMatch("Fortinet FortiGate")
    return VendorMatch("Fortinet FortiGate", f"release {_u16(data, 12)} build {_u16(data, 14)}")


def _text_after(name: str, prefix_length: int) -> Callable[[bytes], VendorMatch]:
    def decode(data: bytes) -> VendorMatch:
        text = _text(data[prefix_length:])
        return VendorMatch(name, text or None)
    return decode


def _safenet(data: bytes) -> VendorMatch:
    # 16-octet hash, 8 octets of flags, a length octet, then e.g. "8.0.0 (Build 10)"
    if len(data) > 25 and data[24] and 25 + data[24] <= len(data):
        return VendorMatch("SafeNet SoftRemote", _text(data[25:25 + data[24]]) or None)
    return VendorMatch("SafeNet SoftRemote")


def _nortel(data: bytes) -> VendorMatch:
    return VendorMatch("Nortel Contivity", str(_u32(data, 4)) if len(data) >= 8 else None)


def _raptor(data: bytes) -> VendorMatch:
    text = _text(data[22:]).strip(" []")
    return VendorMatch("Symantec Raptor PowerVPN Server", text.lstrip("Vv") or None)


def _elvis(data: bytes) -> VendorMatch:
    if len(data) < 21:
        return VendorMatch("ELVIS-PLUS Zastava")
    return VendorMatch("ELVIS-PLUS Zastava", f"{data[20] >> 4}.{data[20] & 0x0F}")


_DECODERS: tuple[tuple[str, Callable[[bytes], VendorMatch]], ...] = (
    ("1e2b516905991c7d7c96fcbfb587e461", _microsoft),
    ("f4ed19e0c114eb516faaac0ee37daf2807b4381f", _checkpoint),
    ("1f07f70eaa6514d3b0fa96542a50", _cisco_3000),
    ("12f5f28c457168a9702d9fe274cc", _cisco_unity),
    ("afcad71368a1f1c96b8696fc7757", _dpd),
    ("8299031757a36082c6a621de", _fortigate),
    ("4f452d4c696272657377616e2d", _text_after("Libreswan", 13)),  # "OE-Libreswan-"
    ("54494d4553544550", _text_after("Timestep", 8)),  # "TIMESTEP"
    ("47bbe7c993f1fc13b4e6d0db565c68e5", _safenet),
    ("424e4553", _nortel),  # "BNES"
    ("526170746f7220506f77657256706e20536572766572", _raptor),  # "Raptor PowerVpn Server"
    ("56494120417574682050726f66696c65203a20", _text_after("Aruba Networks VIA Auth Profile", 19)),
    ("08db45e6cb01f80bb576e9a78c0f54e1300b8881", _elvis),
    ("4f70656e494b4544", _text_after("OpenIKED", 8)),
)


# --- Lookup tables built once at import --------------------------------------------------------
_Entry = tuple[bytes, VendorMatch | None, Callable[[bytes], VendorMatch] | None]


def _build() -> tuple[dict[bytes, VendorMatch], dict[bytes, tuple[_Entry, ...]]]:
    exact: dict[bytes, VendorMatch] = {}
    by_head: dict[bytes, list[_Entry]] = {}
    for hex_octets, name, version in VENDOR_IDS:
        octets = bytes.fromhex(hex_octets)
        match = VendorMatch(name, version)
        exact[octets] = match
        by_head.setdefault(octets[:2], []).append((octets, match, None))
    for hex_octets, decoder in _DECODERS:
        octets = bytes.fromhex(hex_octets)
        by_head.setdefault(octets[:2], []).append((octets, None, decoder))
    # Longest prefix first; at equal length a decoder (which reads the appended version) wins.
    return exact, {head: tuple(sorted(entries, key=lambda e: (-len(e[0]), e[2] is None)))
                   for head, entries in by_head.items()}


_EXACT, _BY_HEAD = _build()


def identify_vendor(data: bytes) -> VendorMatch | None:
    """The vendor or capability a VID payload names, or None when unknown."""
    if not isinstance(data, bytes):
        data = bytes(data)
    match = _EXACT.get(data)
    if match is not None:
        return match
    for prefix, known, decoder in _BY_HEAD.get(data[:2], ()):
        if data.startswith(prefix):
            return decoder(data) if decoder is not None else known
    return None
