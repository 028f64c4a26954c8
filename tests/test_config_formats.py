"""Configuration formats other than the lab's swanctl.conf: texts written after the vendors' manuals.

strongSwan ipsec.conf(5)/ipsec.secrets(5)/swanctl.conf(5)/strongswan.conf(5) (installed with
strongSwan 5.9), libreswan ipsec.conf(5) (``configs/d.ipsec.conf`` of libreswan), vpnc(8), Huawei AR
V200R010 configuration examples (``display current-configuration``). Each text is what an engineer
would paste: comments, includes, ``%default`` and ``also=``, quoting, views of other features.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ikesniff.config import (
    ConfigError,
    GatewayConfig,
    combine,
    compare_configs,
    compare_with_offers,
    detect_format,
    parse_config,
    parse_ipsec_conf,
    parse_swanctl,
    read_config,
)
from ikesniff.offers import Offer

PSKS = ("v+NkxY9LLZvwj4qCC2o/gGrWDF2d21jL", "0sjVzONCF02ncsgiSlmIXeqhGN", "a-different-key-9876",
        "VeryS3cretGroupKey", "Branch#PSK!2024", "Hq-Simple-Key-1")

STRONGSWAN_MOON = """\
# ipsec.conf - strongSwan IPsec configuration file of moon

config setup
	charondebug="ike 2, knl 1, cfg 2"   # how much charon logs
	uniqueids=yes

include /etc/ipsec.d/*.conf

conn %default
	ikelifetime=60m
	keylife=20m
	rekeymargin=3m
	keyingtries=1
	keyexchange=ikev1
	authby=secret
	dpdaction=restart
	dpddelay=30s

conn net-net
	left=203.0.113.1
	leftid=@moon.example
	leftsubnet=10.1.0.0/16
	leftfirewall=yes
	right=203.0.113.2
	rightid=@sun.example
	rightsubnet=10.2.0.0/16
	ike=aes256-sha256-modp2048!
	esp=aes256-sha256-modp2048!
	auto=start

conn host-host
	also=net-net
	leftsubnet=
	rightsubnet=
	type=transport
	auto=ignore
"""
STRONGSWAN_MOON_SECRETS = f"""\
# /etc/ipsec.secrets - strongSwan IPsec secrets file
@moon.example @sun.example : PSK "{PSKS[0]}"
: RSA moonKey.pem
carol : XAUTH "4iChxLT3"
include ipsec.*.secrets
"""
# sun holds a verbatim copy of moon's file (left stays moon: ipsec.conf finds its side by its addresses)
STRONGSWAN_SUN = STRONGSWAN_MOON.replace("ike=aes256-sha256-modp2048!", "ike=aes128-sha256-modp2048!")
STRONGSWAN_SUN_SECRETS = f'@moon.example @sun.example : PSK "{PSKS[0]}"\n'

LIBRESWAN_WEST = """\
# /etc/ipsec.conf - Libreswan IPsec configuration file
config setup
	protostack=netkey
	plutodebug=none
	logfile=/var/log/pluto.log

# connections are in ipsec.d
include /etc/ipsec.d/*.conf

conn mytunnel
	left=198.51.100.10
	leftid=@west
	leftsubnet=192.168.10.0/24
	right=203.0.113.20
	rightid=@east
	rightsubnet=192.168.20.0/24
	authby=secret
	ikev2=insist
	ike=aes256-sha2_256;modp2048,aes128-sha1;dh14
	phase2alg=aes_gcm256
	pfs=yes
	salifetime=1h
	auto=start
"""
LIBRESWAN_WEST_SECRETS = f'# libreswan secrets\n@west @east : PSK "{PSKS[1]}"\n'

VPNC = f"""\
# /etc/vpnc/branch.conf
IPSec gateway 203.0.113.50
IPSec ID branch-office
IPSec secret {PSKS[3]}
IKE Authmode psk
IKE DH Group dh2
Perfect Forward Secrecy nopfs
Xauth username jdoe
NAT Traversal Mode natt
DPD idle timeout (our side) 300
"""

HUAWEI_HQ = """\
<AR-HQ>display current-configuration
[V200R010C10SPC700]
#
 sysname AR-HQ
#
acl number 3101
 rule 5 permit ip source 10.1.1.0 0.0.0.255 destination 10.1.2.0 0.0.0.255
#
ipsec proposal tran1
 esp authentication-algorithm sha2-256
 esp encryption-algorithm aes-256
#
ike proposal 5
 encryption-algorithm aes-256
 dh group14
 authentication-algorithm sha2-256
 authentication-method pre-share
 integrity-algorithm hmac-sha2-256
 prf hmac-sha2-256
#
ike peer spub
 undo version 2
 pre-shared-key cipher %^%#JvZxR2g8c;a9~Q!'IU~>,Rj7Kc5n\\Ib}'!X"3~O0#$%^%#
 ike-proposal 5
 remote-address 203.0.113.2
#
ipsec policy map1 10 isakmp
 security acl 3101
 ike-peer spub
 proposal tran1
#
interface GigabitEthernet0/0/1
 ip address 203.0.113.1 255.255.255.0
 ipsec policy map1
#
interface GigabitEthernet0/0/2
 ip address 10.1.1.1 255.255.255.0
#
ospf 1
 area 0.0.0.0
  network 10.1.1.0 0.0.0.255
#
return
"""
# the branch: a mirror image, except its IPsec proposal and PFS
HUAWEI_BRANCH = """\
#
 sysname AR-BRANCH
#
acl number 3101
 rule 5 permit ip source 10.1.2.0 0.0.0.255 destination 10.1.1.0 0.0.0.255
#
ipsec proposal tran1
 esp authentication-algorithm sha2-256
 esp encryption-algorithm aes-128
#
ike proposal 5
 encryption-algorithm aes-256
 dh group14
 authentication-algorithm sha2-256
 authentication-method pre-share
#
ike peer hq
 undo version 2
 pre-shared-key cipher %^%#Wq0A7i#1b+Ll\\Lh9H=(>M!D2|n3}C`K%^%#
 ike-proposal 5
 remote-address 203.0.113.1
#
ipsec policy map1 10 isakmp
 security acl 3101
 ike-peer hq
 proposal tran1
 pfs dh-group14
#
interface GigabitEthernet0/0/1
 ip address 203.0.113.2 255.255.255.0
 ipsec policy map1
#
return
"""

SWANCTL_WITH_REFERENCES = f"""\
# swanctl.conf with templates (strongswan.conf(5): REFERENCING OTHER SECTIONS)
conn-defaults {{
    version = 2
    proposals = aes256gcm16-prfsha384-ecp384
    local {{
        auth = psk
    }}
}}
child-defaults {{
    esp_proposals = aes256gcm16-ecp384
    mode = tunnel
}}
connections {{
    office : conn-defaults {{
        local_addrs = 192.0.2.10
        remote_addrs = 198.51.100.20
        local {{
            id = "gw one.example"   # quoted: a space inside
        }}
        remote {{
            auth = psk
            id = office.example
        }}
        children {{
            lan : child-defaults {{
                local_ts = 10.10.0.0/16, 10.11.0.0/16
                remote_ts = 10.20.0.0/16
                start_action = trap
            }}
        }}
        frobnicate = yes
    }}
}}
include conf.d/*.conf
secrets {{
    ike-office {{
        id-1 = office.example
        secret = "{PSKS[2]}"
    }}
}}
"""


def parse(text: str, name: str) -> GatewayConfig:
    config = parse_config(text, name)
    return config


# --------------------------------------------------------------------------------------------
# Format detection, empty and garbage input
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "name", "expected"), [
    (STRONGSWAN_MOON, "ipsec.conf", "strongswan-ipsec.conf"),
    (LIBRESWAN_WEST, "west.conf", "libreswan-ipsec.conf"),
    (STRONGSWAN_MOON_SECRETS, "ipsec.secrets", "ipsec.secrets"),
    (VPNC, "branch.conf", "vpnc"),
    (HUAWEI_HQ, "hq.txt", "huawei"),
    (SWANCTL_WITH_REFERENCES, "x.conf", "swanctl"),
    ("", "empty.conf", None),
])
def test_format_is_recognised_by_content(text: str, name: str, expected: str | None) -> None:
    assert detect_format(text, name) == expected


@pytest.mark.parametrize("text", [
    "", "\n\n   \n", "# only a comment\n", "\x00\x01\x02 garbage \xff",
    "connections {\n  a {\n    children {\n", "}}}} = = {{ :::: ,,,\n", "conn\n  left=\n", "x" * 10000,
    "connections { lab { proposals = aes999-sha7-modp3 \n children { c { esp_proposals = ,,, } } } }",
    "ike peer\n ike-proposal\nipsec policy a\n ike-peer nothing\n", "IPSec gateway\nIPSec ID\n",
    ": PSK\n@a : PSK \"unterminated\n", "conn a\n\talso=a\n\talso=b\nconn b\n\talso=a\n",
])
def test_garbage_and_fragments_never_raise(text: str) -> None:
    config = parse_config(text, "junk.conf")
    json.dumps(config.to_dict())
    for connection in config.connections:
        assert isinstance(connection.name, str)


def test_empty_file_is_a_configuration_without_connections() -> None:
    config = parse_config("", "empty.conf")
    assert config.format == "empty" and config.connections == [] and config.notes == ["empty file"]


def test_read_config_refuses_binary_and_unknown_text_in_one_line() -> None:
    with pytest.raises(ConfigError) as binary:
        read_config(b"\x89PNG\r\n\x1a\n\x00\x00", "picture.png")
    assert "\n" not in str(binary.value) and "picture.png" in str(binary.value)
    with pytest.raises(ConfigError) as prose:
        read_config(b"Dear team, the tunnel is down again.\n", "mail.txt")
    assert "\n" not in str(prose.value)
    config = read_config(STRONGSWAN_MOON.encode(), "ipsec.conf")
    assert config.connections[0].name == "net-net"
    assert read_config("\ufeff".encode() + VPNC.encode(), "vpnc.conf").format == "vpnc"


def test_unbalanced_braces_and_unknown_keys_are_noted() -> None:
    config = parse_swanctl("connections {\n lab {\n version = 2\n colour = blue\n", "broken.conf")
    assert config.connections[0].version == 2
    assert any("colour" in note for note in config.notes)
    assert any("missing '}'" in note for note in config.notes)


# --------------------------------------------------------------------------------------------
# strongSwan ipsec.conf and ipsec.secrets
# --------------------------------------------------------------------------------------------
def test_strongswan_ipsec_conf_default_section_also_and_includes() -> None:
    config = parse(STRONGSWAN_MOON, "moon/ipsec.conf")
    assert config.format == "strongswan-ipsec.conf"
    assert [connection.name for connection in config.connections] == ["net-net"]  # host-host: auto=ignore
    assert any("include /etc/ipsec.d/*.conf" in note for note in config.notes)
    assert any("host-host" in note for note in config.notes)
    connection = config.connections[0]
    assert connection.version == 1  # keyexchange=ikev1 from %default
    assert connection.local_auth == ["psk"] and connection.remote_auth == ["psk"]
    assert connection.ike_lifetime_seconds == 3600  # ikelifetime=60m
    assert connection.dpd_delay_seconds == 30
    assert [proposal.summary for proposal in connection.ike_proposals] == [
        "AES-CBC-256/HMAC-SHA2-256-128/PRF-HMAC-SHA2-256/MODP-2048"]  # '!': no default appended
    child = connection.children[0]
    assert child.local_ts == ["10.1.0.0/16"] and child.remote_ts == ["10.2.0.0/16"]
    assert child.pfs_groups == ("MODP-2048",)
    assert child.lifetime_seconds == 1200 and child.rekey_seconds == 1020  # keylife 20m - rekeymargin 3m
    assert connection.psk_set is False  # the secrets are in another file


def test_strongswan_ipsec_conf_without_strict_flag_accepts_the_defaults_too() -> None:
    config = parse_ipsec_conf("conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\n", "a.conf", "strongswan")
    connection = config.connections[0]
    assert connection.ike_proposals[0].text == "aes128-sha256-modp3072"
    assert any(proposal.default for proposal in connection.ike_proposals)
    assert connection.children[0].esp_proposals[0].text == "aes128-sha256"
    assert connection.version is None and connection.ike_lifetime_seconds == 3 * 3600
    assert connection.local_auth == ["pubkey"]


def test_also_inheritance_uses_the_sections_own_values() -> None:
    text = ("conn base\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tike=aes128-sha1-modp2048!\n\ttype=tunnel\n"
            "conn child\n\ttype=transport\n\talso=base\n\tesp=\"aes128-sha1\"\n")
    config = parse_ipsec_conf(text, "also.conf", "strongswan")
    child = next(connection for connection in config.connections if connection.name == "child")
    assert child.local_addrs == ["192.0.2.1"] and child.children[0].mode == "transport"
    assert child.ike_proposals[0].summary == "AES-CBC-128/HMAC-SHA1-96/PRF-HMAC-SHA1/MODP-2048"


def test_secrets_join_their_ipsec_conf_and_set_psk() -> None:
    moon = parse(STRONGSWAN_MOON, "moon/ipsec.conf")
    secrets = parse(STRONGSWAN_MOON_SECRETS, "moon/ipsec.secrets")
    assert secrets.format == "ipsec.secrets"
    assert [(entry.ids, entry.kind) for entry in secrets.secrets] == [
        (("moon.example", "sun.example"), "PSK"), ((), "RSA"), (("carol",), "XAUTH")]
    (combined,) = combine([moon, secrets])
    assert combined is moon and moon.connections[0].psk_set is True


def test_strongswan_ipsec_conf_copies_on_both_gateways_compare_mirrored() -> None:
    moon, moon_secrets = parse(STRONGSWAN_MOON, "moon/ipsec.conf"), parse(STRONGSWAN_MOON_SECRETS, "moon/ipsec.secrets")
    sun, sun_secrets = parse(STRONGSWAN_SUN, "sun/ipsec.conf"), parse(STRONGSWAN_SUN_SECRETS, "sun/ipsec.secrets")
    configs = combine([moon, moon_secrets, sun, sun_secrets])
    assert len(configs) == 2
    (difference,) = compare_configs(configs[0], configs[1])
    assert difference.code == "EncryptionAlgorithmMismatch"
    assert "203.0.113.1 proposes AES-CBC-256" in difference.text
    assert "203.0.113.2 proposes AES-CBC-128" in difference.text  # sun's copy read from sun's side


def test_different_psk_values_differ_without_showing_either() -> None:
    moon = parse(STRONGSWAN_MOON.replace("ike=aes256-sha256-modp2048!", "ike=aes128-sha256-modp2048!"),
                 "moon/ipsec.conf")
    sun = parse(STRONGSWAN_SUN, "sun/ipsec.conf")
    configs = combine([moon, parse(STRONGSWAN_MOON_SECRETS, "moon/ipsec.secrets"), sun,
                       parse(STRONGSWAN_SUN_SECRETS.replace(PSKS[0], PSKS[2]), "sun/ipsec.secrets")])
    (difference,) = compare_configs(*configs)
    assert difference.code == "PskMismatch" and difference.kind == "psk"
    everything = repr(configs) + str(configs) + json.dumps([config.to_dict() for config in configs]) + repr(difference)
    assert PSKS[0] not in everything and PSKS[2] not in everything


# --------------------------------------------------------------------------------------------
# libreswan
# --------------------------------------------------------------------------------------------
def test_libreswan_ike_esp_syntax_and_defaults() -> None:
    config = parse(LIBRESWAN_WEST, "west/ipsec.conf")
    assert config.format == "libreswan-ipsec.conf"
    connection = config.connections[0]
    assert connection.version == 2
    assert [proposal.summary for proposal in connection.ike_proposals] == [
        "AES-CBC-256/HMAC-SHA2-256-128/PRF-HMAC-SHA2-256/MODP-2048",
        "AES-CBC-128/HMAC-SHA1-96/PRF-HMAC-SHA1/MODP-2048",
    ]
    child = connection.children[0]
    # pfs=yes and no DH in phase2alg: the IKE SA's group; AEAD: no integrity
    assert [proposal.summary for proposal in child.esp_proposals] == ["AES-GCM-16-256/MODP-2048"]
    assert child.lifetime_seconds == 3600
    assert connection.ike_lifetime_seconds == 8 * 3600  # libreswan's default
    assert connection.local_id == "@west" and connection.remote_id == "@east"
    assert any("include" in note for note in config.notes)


def test_libreswan_without_ike_line_takes_its_defaults() -> None:
    config = parse_ipsec_conf("conn c\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tikev2=no\n\tpfs=no\n",
                              "c.conf", "libreswan")
    connection = config.connections[0]
    assert connection.version == 1
    assert all(proposal.default for proposal in connection.ike_proposals)
    assert "3DES" in connection.ike_proposals[0].encryption
    assert connection.local_auth == ["pubkey"]  # authby=rsasig
    assert connection.children[0].pfs_groups == ("NONE",)


def test_libreswan_west_and_east_with_one_file_and_secrets() -> None:
    west = parse(LIBRESWAN_WEST, "west/ipsec.conf")
    east = parse(LIBRESWAN_WEST.replace("phase2alg=aes_gcm256", "phase2alg=aes_gcm128"), "east/ipsec.conf")
    configs = combine([west, parse(LIBRESWAN_WEST_SECRETS, "west/ipsec.secrets"), east,
                       parse(LIBRESWAN_WEST_SECRETS, "east/ipsec.secrets")])
    assert all(config.connections[0].psk_set for config in configs)
    (difference,) = compare_configs(*configs)
    assert difference.code == "EncryptionAlgorithmMismatch" and difference.phase == 2
    assert "AES-GCM-16-256" in difference.text and "AES-GCM-16-128" in difference.text


def test_libreswan_against_strongswan_swanctl() -> None:
    """Two implementations, one tunnel: libreswan west and a strongSwan east written for it."""
    east = parse_swanctl("""
connections {
    west {
        version = 2
        local_addrs = 203.0.113.20
        remote_addrs = 198.51.100.10
        proposals = aes256-sha256-modp2048
        local { auth = psk
                id = east }
        remote { auth = psk
                 id = west }
        children {
            net { local_ts = 192.168.20.0/24
                  remote_ts = 192.168.10.0/24
                  esp_proposals = aes256gcm16-modp2048 }
        }
    }
}
""", "east/swanctl.conf")
    west = parse(LIBRESWAN_WEST, "west/ipsec.conf")
    assert compare_configs(west, east) == []
    east.connections[0].remote_id = "west.example"
    (difference,) = compare_configs(west, east)
    assert difference.code == "PeerIdMismatch" and difference.change == "203.0.113.20"


# --------------------------------------------------------------------------------------------
# vpnc
# --------------------------------------------------------------------------------------------
def test_vpnc_is_ikev1_aggressive_with_xauth() -> None:
    config = parse(VPNC, "branch.conf")
    connection = config.connections[0]
    assert (connection.version, connection.aggressive) == (1, True)
    assert connection.remote_addrs == ["203.0.113.50"] and connection.local_id == "branch-office"
    assert connection.psk_set and connection.local_auth == ["xauth-psk"]
    (offer,) = connection.ike_offers(1)
    assert offer.auth_methods == ("XAUTH-INIT-PSK",) and offer.dh_groups == ("MODP-1024",)
    assert set(offer.integrity) == {"MD5", "SHA1"}
    assert connection.children[0].pfs_groups == ("NONE",)
    assert connection.dpd_delay_seconds == 300
    assert PSKS[3] not in repr(config) and PSKS[3] not in json.dumps(config.to_dict())


def test_vpnc_offer_against_a_gateway_that_wants_main_mode() -> None:
    gateway = parse_ipsec_conf("conn cisco\n\tleft=203.0.113.50\n\tright=%any\n\tkeyexchange=ikev1\n"
                               "\tauthby=xauthpsk\n\txauth=server\n\tike=aes256-sha1-modp1024!\n", "gw.conf",
                               "strongswan")
    client = parse(VPNC, "branch.conf")
    offers = client.connections[0].ike_offers(1)
    differences = compare_with_offers(gateway, offers, "198.51.100.9", exchange="AGGRESSIVE")
    assert [difference.code for difference in differences] == ["NegotiationModeMismatch"]


# --------------------------------------------------------------------------------------------
# Huawei
# --------------------------------------------------------------------------------------------
def test_huawei_policy_peer_proposals_and_acl() -> None:
    config = parse(HUAWEI_HQ, "hq.cfg")
    assert config.format == "huawei"
    (connection,) = config.connections
    assert connection.name == "map1 10"
    assert connection.local_addrs == ["203.0.113.1"] and connection.remote_addrs == ["203.0.113.2"]
    assert connection.version == 1 and not connection.aggressive
    assert connection.psk_set and connection.local_auth == ["psk"]
    assert [proposal.summary for proposal in connection.ike_proposals] == [
        "AES-CBC-256/HMAC-SHA2-256-128/PRF-HMAC-SHA2-256/MODP-2048"]
    assert connection.ike_lifetime_seconds == 86400
    child = connection.children[0]
    assert child.local_ts == ["10.1.1.0/24"] and child.remote_ts == ["10.1.2.0/24"]
    assert [proposal.summary for proposal in child.esp_proposals] == ["AES-CBC-256/HMAC-SHA2-256-128"]
    assert child.lifetime_seconds == 3600 and child.mode == "tunnel"
    assert "%^%#" not in json.dumps(config.to_dict()) and "%^%#" not in repr(config)


def test_huawei_hq_and_branch_name_the_phase2_differences() -> None:
    hq, branch = parse(HUAWEI_HQ, "hq.cfg"), parse(HUAWEI_BRANCH, "branch.cfg")
    differences = compare_configs(hq, branch)
    assert [(difference.code, difference.phase) for difference in differences] == [
        ("AlgorithmMismatch", 2)]
    assert "encryption" in differences[0].kind and "pfs" in differences[0].kind
    branch_fixed = parse(HUAWEI_BRANCH.replace("aes-128", "aes-256").replace(" pfs dh-group14\n", ""), "b.cfg")
    assert compare_configs(hq, branch_fixed) == []


def test_huawei_against_the_offer_of_a_strongswan_peer() -> None:
    hq = parse(HUAWEI_HQ, "hq.cfg")
    offer = Offer(number=1, protocol="IKE", encryption=("AES-CBC-128",), integrity=("SHA2-256",), prf=(),
                  dh_groups=("MODP-2048",), auth_methods=("PSK",), lifetime_seconds=28800, lifetime_kilobytes=None,
                  encapsulation=(), esn=(), version=1, transform=1)
    (difference,) = compare_with_offers(hq, [offer], "203.0.113.2", exchange="IDENTITY_PROTECTION")
    assert difference.text == "encryption: 203.0.113.2 offers AES-CBC-128; 203.0.113.1 accepts AES-CBC-256 only"
    assert difference.change == "203.0.113.1"
    v2 = dataclasses.replace(offer, version=2, integrity=("HMAC-SHA2-256-128",), prf=("PRF-HMAC-SHA2-256",),
                             auth_methods=(), lifetime_seconds=None, transform=None)
    (difference,) = compare_with_offers(hq, [v2], "203.0.113.2", exchange="IKE_SA_INIT")
    assert difference.code == "IkeVersionMismatch"


# --------------------------------------------------------------------------------------------
# swanctl.conf: references, quoting, includes, unknown keys, secrets
# --------------------------------------------------------------------------------------------
def test_swanctl_references_quotes_and_includes() -> None:
    config = parse(SWANCTL_WITH_REFERENCES, "gw/swanctl.conf")
    (connection,) = config.connections
    assert connection.version == 2 and connection.local_auth == ["psk"]
    assert connection.local_id == "gw one.example"
    assert [proposal.summary for proposal in connection.ike_proposals] == ["AES-GCM-16-256/PRF-HMAC-SHA2-384/ECP-384"]
    child = connection.children[0]
    assert child.local_ts == ["10.10.0.0/16", "10.11.0.0/16"] and child.remote_ts == ["10.20.0.0/16"]
    assert [proposal.summary for proposal in child.esp_proposals] == ["AES-GCM-16-256/ECP-384"]
    assert connection.psk_set
    assert any("frobnicate" in note for note in config.notes)
    assert any("include conf.d/*.conf" in note for note in config.notes)
    assert any("conn-defaults" in note for note in config.notes)  # a template outside swanctl's sections


def test_swanctl_unknown_algorithm_drops_only_that_proposal() -> None:
    config = parse_swanctl("connections {\n lab {\n proposals = aes999-sha256-modp2048, aes128-sha256-x25519\n"
                           " }\n}\n", "a.conf")
    assert [proposal.text for proposal in config.connections[0].ike_proposals] == ["aes128-sha256-x25519"]
    assert any("aes999" in note for note in config.notes)


def test_swanctl_absent_proposals_mean_strongswans_default() -> None:
    config = parse_swanctl("connections {\n lab {\n remote_addrs = 192.0.2.2\n children { net { } }\n }\n}\n",
                           "d.conf")
    connection = config.connections[0]
    assert all(proposal.default for proposal in connection.ike_proposals)
    assert connection.children[0].local_ts == ["dynamic"]
    assert connection.local_auth == ["pubkey"] and connection.remote_id is None
    offers = connection.ike_offers(2)
    assert any("AES-CBC-128" in offer.encryption and "MODP-2048" in offer.dh_groups for offer in offers)


# --------------------------------------------------------------------------------------------
# Secrets never leave as values
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "name", "secret"), [
    (STRONGSWAN_MOON_SECRETS, "ipsec.secrets", PSKS[0]),
    (LIBRESWAN_WEST_SECRETS, "ipsec.secrets", PSKS[1]),
    (SWANCTL_WITH_REFERENCES, "swanctl.conf", PSKS[2]),
    (VPNC, "vpnc.conf", PSKS[3]),
    (HUAWEI_HQ.replace(" pre-shared-key cipher", f" pre-shared-key simple {PSKS[5]}\n pre-shared-key cipher"),
     "hq.cfg", PSKS[5]),
])
def test_a_psk_never_appears_in_repr_str_or_json(text: str, name: str, secret: str) -> None:
    config = parse_config(text, name)
    assert config.secrets or any(connection.psk_set for connection in config.connections)
    shown = [repr(config), str(config), json.dumps(config.to_dict()), repr(config.secrets),
             repr(dataclasses.asdict(config)), str(dataclasses.asdict(config))]
    shown += [repr(connection) for connection in config.connections]
    for text_shown in shown:
        assert secret not in text_shown
        assert secret.encode().hex() not in text_shown


def test_fingerprints_compare_equal_only_for_equal_keys() -> None:
    one = parse(f'a : PSK "{PSKS[4]}"\n', "one.secrets").secrets[0].fingerprint
    same = parse(f'b : PSK "{PSKS[4]}"\n', "two.secrets").secrets[0].fingerprint
    other = parse(f'a : PSK "{PSKS[2]}"\n', "three.secrets").secrets[0].fingerprint
    assert one is not None and one == same and one != other
    assert repr(one) == "PskFingerprint(<hidden>)"


# --------------------------------------------------------------------------------------------
# More of what a comparison must name
# --------------------------------------------------------------------------------------------
HUAWEI_V2 = """\
#
 sysname USG-DC
#
ike local-name dc.example
#
acl number 3000
 rule 5 permit ip source 172.16.0.0 0.0.255.255 destination 10.20.0.0 0.0.255.255
#
ike proposal 10
 encryption-algorithm aes-256
 dh group19
 authentication-algorithm sha2-256
 integrity-algorithm hmac-sha2-384
 prf hmac-sha2-384
 sa duration 28800
#
ike peer branch
 undo version 1
 pre-shared-key cipher %^%#dummyciphertext%^%#
 ike-proposal 10
 local-id-type fqdn
 remote-id branch.example
 remote-address 198.51.100.20
 dpd type periodic
 dpd idle-time 20
#
ipsec proposal p2
 esp authentication-algorithm sha2-384
 esp encryption-algorithm aes-256
#
ipsec policy-template tpl 1
 security acl 3000
 ike-peer branch
 proposal p2
 pfs dh-group19
#
ipsec policy dc 10 isakmp template tpl
#
interface GigabitEthernet1/0/0
 ip address 192.0.2.30 255.255.255.0
 ipsec policy dc
#
return
"""
SWANCTL_BRANCH = f"""\
connections {{
    dc {{
        version = 2
        local_addrs = 198.51.100.20
        remote_addrs = 192.0.2.30
        proposals = aes256-sha384-prfsha384-ecp256
        local {{
            auth = psk
            id = branch.example
        }}
        remote {{
            auth = psk
            id = dc.example
        }}
        children {{
            dc-net {{
                local_ts = 10.20.0.0/16
                remote_ts = 172.16.0.0/16
                esp_proposals = aes256-sha384-ecp256
            }}
        }}
    }}
}}
secrets {{
    ike-dc {{
        id = dc.example
        secret = {PSKS[4]}
    }}
}}
"""


def test_huawei_ikev2_template_against_a_strongswan_branch() -> None:
    dc = parse(HUAWEI_V2, "dc.cfg")
    (connection,) = [connection for connection in dc.connections if connection.name.startswith("tpl")]
    assert connection.version == 2
    assert connection.local_id == "dc.example" and connection.remote_id == "branch.example"
    assert connection.ike_proposals[0].summary == "AES-CBC-256/HMAC-SHA2-384-192/PRF-HMAC-SHA2-384/ECP-256"
    assert connection.ike_offers(1)[0].integrity == ("SHA2-256",)  # IKEv1 would use authentication-algorithm
    assert connection.dpd_delay_seconds == 20
    branch = parse(SWANCTL_BRANCH, "branch/swanctl.conf")
    assert branch.connections[0].psk_set
    assert compare_configs(dc, branch) == []
    integrity = parse(HUAWEI_V2.replace("integrity-algorithm hmac-sha2-384", "integrity-algorithm hmac-sha2-256"),
                      "dc.cfg")
    (difference,) = compare_configs(integrity, branch)
    assert difference.code == "AuthenticationAlgorithmMismatch" and difference.phase == 1


def test_connections_pair_by_address_among_several() -> None:
    hub = parse_swanctl("""
connections {
    to-a { version = 2
           local_addrs = 192.0.2.1
           remote_addrs = 198.51.100.1
           proposals = aes128-sha256-modp2048
           local { auth = psk
                   id = hub }
           remote { auth = psk
                    id = a } }
    to-b { version = 2
           local_addrs = 192.0.2.1
           remote_addrs = 198.51.100.2
           proposals = aes256-sha256-modp2048
           local { auth = psk
                   id = hub }
           remote { auth = psk
                    id = b } }
}
""", "hub.conf")
    spoke_b = parse_swanctl("""
connections {
    hub { version = 2
          local_addrs = 198.51.100.2
          remote_addrs = 192.0.2.1
          proposals = aes256-sha256-modp2048
          local { auth = psk
                  id = b }
          remote { auth = psk
                   id = hub } }
}
""", "b.conf")
    assert compare_configs(hub, spoke_b) == []  # to-a (other proposals) is not b's connection
    spoke_c = parse_swanctl("connections { hub { local_addrs = 198.51.100.3\n remote_addrs = 192.0.2.9 } }\n",
                            "c.conf")
    (difference,) = compare_configs(hub, spoke_c)
    assert difference.code == "PeerMismatch"


def test_auth_method_psk_against_pubkey_and_missing_psk() -> None:
    base = """
connections {{
    lab {{ version = 2
           local_addrs = {local}
           remote_addrs = {remote}
           local {{ auth = {mine}
                    id = {me} }}
           remote {{ auth = {theirs}
                     id = {them} }} }}
}}
secrets {{ ike-x {{ id = {secret_id}
                    secret = "{secret}" }} }}
"""
    moon = parse_swanctl(base.format(local="192.0.2.1", remote="192.0.2.2", mine="psk", me="moon", theirs="psk",
                                     them="sun", secret_id="sun", secret=PSKS[4]), "moon.conf")
    sun = parse_swanctl(base.format(local="192.0.2.2", remote="192.0.2.1", mine="pubkey", me="sun", theirs="psk",
                                    them="moon", secret_id="moon", secret=PSKS[4]), "sun.conf")
    differences = compare_configs(moon, sun)
    assert [(difference.kind, difference.code) for difference in differences] == [("auth_method", "ProposalMismatch")]
    assert "192.0.2.2 authenticates with pubkey, 192.0.2.1 expects psk" in differences[0].text
    stranger = parse_swanctl(base.format(local="192.0.2.2", remote="192.0.2.1", mine="psk", me="sun", theirs="psk",
                                         them="moon", secret_id="carol", secret=PSKS[4]), "sun.conf")
    assert stranger.connections[0].psk_set is False
    (difference,) = compare_configs(moon, stranger)
    assert difference.code == "PskMismatch" and difference.change == "192.0.2.2"


def test_ikev1_selectors_that_overlap_but_do_not_mirror_are_a_note() -> None:
    text = ("conn a\n\tleft={left}\n\tright={right}\n\tleftsubnet={ls}\n\trightsubnet={rs}\n\tkeyexchange=ikev1\n"
            "\tike=aes128-sha256-modp2048!\n\tesp=aes128-sha256!\n")
    moon = parse_ipsec_conf(text.format(left="192.0.2.1", right="192.0.2.2", ls="10.1.0.0/16", rs="10.2.0.0/16"),
                            "moon.conf", "strongswan")
    sun = parse_ipsec_conf(text.format(left="192.0.2.2", right="192.0.2.1", ls="10.2.0.0/24", rs="10.1.0.0/16"),
                           "sun.conf", "strongswan")
    (difference,) = compare_configs(moon, sun)
    assert difference.code == "TrafficSelectorMismatch" and not difference.blocking
    assert "10.2.0.0/16" in difference.text and "10.2.0.0/24" in difference.text


def test_the_senders_own_file_against_a_different_wire_offer() -> None:
    moon = parse(STRONGSWAN_MOON, "moon/ipsec.conf")
    sent = Offer(number=1, protocol="IKE", encryption=("3DES",), integrity=("SHA1",), prf=(), dh_groups=("MODP-1024",),
                 auth_methods=("PSK",), lifetime_seconds=3600, lifetime_kilobytes=None, encapsulation=(), esn=(),
                 version=1, transform=1)
    (difference,) = compare_with_offers(moon, [sent], "203.0.113.1", exchange="IDENTITY_PROTECTION")
    assert difference.kind == "configuration" and not difference.blocking
    assert "not what is loaded" in difference.text
    same = dataclasses.replace(sent, encryption=("AES-CBC-256",), integrity=("SHA2-256",), dh_groups=("MODP-2048",))
    assert compare_with_offers(moon, [same], "203.0.113.1", exchange="IDENTITY_PROTECTION") == []


@pytest.mark.parametrize(("text", "name"), [
    (f'conn a\n\tleft=192.0.2.1\n@a @b : PSK "{PSKS[4]}"\n\t{PSKS[4]}\n', "ipsec.conf"),
    (f"connections {{\n {PSKS[4]}\n}}\nsecrets {{ ike {{ secret = {PSKS[4]} }} }}\n", "swanctl.conf"),
    (f"IPSec gateway 192.0.2.1\nIPSec secret {PSKS[4]}\n{PSKS[4]}\n", "vpnc.conf"),
])
def test_notes_about_misplaced_lines_do_not_echo_them(text: str, name: str) -> None:
    config = parse_config(text, name)
    assert config.notes
    assert PSKS[4] not in json.dumps(config.to_dict()) and PSKS[4] not in repr(config)


@settings(max_examples=150, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("conn left=right{}#\"\\:;,-_ \n\tPSK@%0123456789./aesha")),
                    max_size=300),
       format_name=st.sampled_from(["swanctl", "strongswan-ipsec.conf", "libreswan-ipsec.conf", "ipsec.secrets",
                                    "strongswan.conf", "vpnc", "huawei", None]))
def test_any_text_in_any_format_parses_without_raising(text: str, format_name: str | None) -> None:
    config = parse_config(text, "fuzz.conf", format_name)
    json.dumps(config.to_dict())
    other = parse_config(text[::-1], "fuzz2.conf", format_name)
    for difference in compare_configs(config, other):
        assert difference.code and difference.text


@pytest.mark.parametrize(("written", "protocol", "summaries", "refused"), [
    # swanctl.conf(5) / proposal.c: PRF from integrity, AEAD drops integrity, ESN defaults to noesn
    ("aes128gcm16-sha256-modp2048", "IKE", ["AES-GCM-16-128/PRF-HMAC-SHA2-256/MODP-2048"], False),
    ("aes256gcm16-prfsha384-ecp384", "IKE", ["AES-GCM-16-256/PRF-HMAC-SHA2-384/ECP-384"], False),
    ("aes128-aes256-sha1-sha256-modp2048-modp4096", "IKE",
     ["AES-CBC-128|AES-CBC-256/HMAC-SHA1-96|HMAC-SHA2-256-128/PRF-HMAC-SHA1|PRF-HMAC-SHA2-256/MODP-2048|MODP-4096"],
     False),
    ("aes128-sha256-x25519", "IKE", ["AES-CBC-128/HMAC-SHA2-256-128/PRF-HMAC-SHA2-256/CURVE25519"], False),
    ("aes128-sha1", "IKE", [], True),  # a DH group is mandatory in IKE proposals
    ("aes128-aes128gcm16-sha256-prfsha256-modp2048", "IKE", [], True),  # classic and AEAD mixed
    ("aes256gcm16-aes128gcm16", "ESP", ["AES-GCM-16-256|AES-GCM-16-128"], False),
    ("aes128-sha256-modp2048", "ESP", ["AES-CBC-128/HMAC-SHA2-256-128/MODP-2048"], False),
    ("sha256", "ESP", [], True),  # an encryption algorithm is mandatory in ESP proposals
    ("aes256gmac", "AH", ["AES-256-GMAC"], False),
    ("sha256-sha1", "AH", ["HMAC-SHA2-256-128|HMAC-SHA1-96"], False),
    ("aes128-sha256-frobnicate", "IKE", [], True),
])
def test_strongswan_proposal_keywords(written: str, protocol: str, summaries: list[str], refused: bool) -> None:
    from ikesniff.config.algorithms import strongswan_proposals

    unknown: list[str] = []
    proposals = strongswan_proposals(written, protocol, unknown)
    assert [proposal.summary for proposal in proposals] == summaries
    assert bool(unknown) is refused
    if protocol != "IKE" and proposals:
        assert proposals[0].esn == ("NO-ESN",)


@pytest.mark.parametrize(("written", "protocol", "summaries"), [
    # libreswan ipsec.conf(5) ike=/esp= examples
    ("aes_gcm+chacha20_poly1305;dh14+dh19,aes+3des-sha2+sha1;dh14", "IKE",
     ["AES-GCM-16-256|AES-GCM-16-128|CHACHA20-POLY1305/PRF-HMAC-SHA2-512|PRF-HMAC-SHA2-256/MODP-2048|ECP-256",
      "AES-CBC-256|AES-CBC-128|3DES/HMAC-SHA2-256-128|HMAC-SHA1-96/PRF-HMAC-SHA2-256|PRF-HMAC-SHA1/MODP-2048"]),
    ("3des-md5;modp1024,aes-sha1;modp1536", "IKE",
     ["3DES/HMAC-MD5-96/PRF-HMAC-MD5/MODP-1024", "AES-CBC-256|AES-CBC-128/HMAC-SHA1-96/PRF-HMAC-SHA1/MODP-1536"]),
    ("aes256-sha2;dh19", "IKE", ["AES-CBC-256/HMAC-SHA2-256-128/PRF-HMAC-SHA2-256/ECP-256"]),
    ("aes_gcm-sha2_256", "IKE",  # for an AEAD cipher the second field is the PRF
     [("AES-GCM-16-256|AES-GCM-16-128/PRF-HMAC-SHA2-256/ECP-256|ECP-384|ECP-521|CURVE25519|MODP-4096|MODP-3072|"
      "MODP-2048|MODP-8192")]),
    ("aes128-sha2_512;dh19", "ESP", ["AES-CBC-128/HMAC-SHA2-512-256/ECP-256"]),
    ("aes_gcm256", "ESP", ["AES-GCM-16-256"]),
    ("aes", "ESP", ["AES-CBC-256|AES-CBC-128/HMAC-SHA2-512-256|HMAC-SHA2-256-128"]),
])
def test_libreswan_algorithm_syntax(written: str, protocol: str, summaries: list[str]) -> None:
    from ikesniff.config.algorithms import libreswan_proposals

    unknown: list[str] = []
    assert [proposal.summary for proposal in libreswan_proposals(written, protocol, 2, unknown)] == summaries
    assert unknown == []
