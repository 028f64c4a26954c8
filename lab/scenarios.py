"""The lab's scenarios, as data.

Read this file to know what every capture in ``pcaps/`` is. A scenario is one
dict in ``SCENARIOS``; ``resolve()`` fills in the defaults and builds both
sides' ``swanctl.conf`` and ``strongswan.conf`` (as dicts; ``config.render``
writes them). To add a failing scenario, add an entry that overrides what
differs from the healthy baseline, and say what must happen::

    "ikev2-psk-mismatch": {
        "description": "IKEv2, sun holds a different pre-shared key than moon",
        "sun": {"secret": "not-the-same-key"},
        "expect": {"outcome": "failed", "code": "PskMismatch", "child": False, "pings": 0,
                   "log": {"sun": [r"tried \\d+ shared key for .* but MAC mismatched"]}},
    },

Keys of a scenario entry (all optional except ``description``):

``topology``  ``"direct"`` (moon and sun on one veth) or ``"nat"`` (moon behind a MASQUERADE namespace).
``auth``      ``"psk"`` or ``"pubkey"`` (X.509 certificates made by ``pki`` at run time, never committed).
``certs``     for pubkey: ``{"type": "rsa", "size": 2048}``.
``conn``      swanctl connection settings for both sides (dotted paths allowed: ``"children.net.mode"``).
``child``     settings of the CHILD_SA ``net`` for both sides.
``charon``    strongswan.conf ``charon { }`` settings for both sides.
``moon``/``sun``  per side: ``conn``, ``child``, ``charon`` overrides and ``secret`` (the PSK that side holds).
``mtu``       MTU of every veth link of the topology.
``pings``     ICMP echo requests moon sends to sun's inner address once the tunnel is up.
``timeout``   seconds to wait for the negotiation's outcome.
``expect``    what must happen, checked against the charon logs and the capture before anything is written:
              ``outcome`` (``established`` / ``failed``), ``code`` (SPEC section 5), ``child`` (CHILD_SA installed),
              ``esp`` (ESP carried the pings), ``log`` (per side, regexes that must match a log message),
              ``wire`` (facts the capture must show: ``exchanges`` counts, ``min_ikev2_fragments``,
              ``min_ip_fragments``, ``nat``: the responder sees the initiator from another address).

Addresses are documentation ranges only (RFC 5737). Moon always initiates.
"""

from __future__ import annotations

import copy
from typing import Any

from . import config

PSK = "ikesniff-lab-psk-0123456789"  # lab-only secret, recorded in every PSK label
IDENTITY = {"moon": "moon.example", "sun": "sun.example"}  # RFC 2606 reserved names
# Inner networks: the address lives on lo of each namespace, the traffic selector is the /28.
INNER = {
    "moon": {"address": "192.0.2.129", "subnet": "192.0.2.128/28"},
    "sun": {"address": "192.0.2.145", "subnet": "192.0.2.144/28"},
}
SIDES = ("moon", "sun")
OTHER = {"moon": "sun", "sun": "moon"}

TOPOLOGIES: dict[str, dict[str, Any]] = {
    "direct": {
        "description": "moon (192.0.2.1) and sun (192.0.2.2) on one veth link; captured on moon's eth0",
        "namespaces": ["moon", "sun"],
        # (namespace, interface, address/prefix) at both ends of each veth pair
        "links": [(("moon", "eth0", "192.0.2.1/28"), ("sun", "eth0", "192.0.2.2/28"))],
        "routes": {},
        "forwarding": [],
        "iptables": {},
        "capture": ("moon", "eth0"),
        "address": {"moon": "192.0.2.1", "sun": "192.0.2.2"},  # where each side's charon speaks IKE
        "remote_addrs": {"moon": "192.0.2.2", "sun": "192.0.2.1"},
        "nat": None,
    },
    "nat": {
        "description": (
            "moon (198.51.100.2) behind the namespace nat, which masquerades 198.51.100.0/24 to 203.0.113.1 "
            "(UDP source ports remapped to 40000-40999); sun at 203.0.113.2; captured on nat's eth1 (sun's side)"
        ),
        "namespaces": ["moon", "nat", "sun"],
        "links": [
            (("moon", "eth0", "198.51.100.2/24"), ("nat", "eth0", "198.51.100.1/24")),
            (("nat", "eth1", "203.0.113.1/24"), ("sun", "eth0", "203.0.113.2/24")),
        ],
        "routes": {"moon": [["default", "via", "198.51.100.1"]]},
        "forwarding": ["nat"],
        "iptables": {
            "nat": [
                ["-t", "nat", "-A", "POSTROUTING", "-o", "eth1", "-p", "udp",
                 "-j", "MASQUERADE", "--to-ports", "40000-40999"],
                ["-t", "nat", "-A", "POSTROUTING", "-o", "eth1", "-j", "MASQUERADE"],
            ]
        },
        "capture": ("nat", "eth1"),
        "address": {"moon": "198.51.100.2", "sun": "203.0.113.2"},
        "remote_addrs": {"moon": "203.0.113.2", "sun": "%any"},
        "nat": {"behind": "moon", "private": "198.51.100.2", "public": "203.0.113.1", "ports": "40000-40999"},
    },
}

# Plugins charon loads (charon.load): only these, so start-up is fast and the same everywhere.
# kernel-libipsec must come before kernel-netlink: the first IPsec backend registered wins,
# and this kernel has no ESP (no xfrm), so ESP is done in userspace through the TUN device ipsec0.
# kdf is required since 5.9.8 for the IKE key derivation (prf+), even with openssl loaded.
CHARON_PLUGINS = [
    "random", "nonce", "openssl", "kdf", "pem", "pkcs1", "pkcs8", "x509", "pubkey", "constraints",
    "kernel-libipsec", "kernel-netlink", "socket-default", "vici",
]
# swanctl and pki read strongswan.conf too; give them what they need and nothing that warns.
TOOL_PLUGINS = ["random", "openssl", "pem", "pkcs1", "pkcs8", "x509", "pubkey"]

LOG_LEVELS = {"default": 1, "ike": 4, "mgr": 2, "cfg": 2, "knl": 1, "net": 2, "enc": 1, "lib": 1, "esp": 1}

ESTABLISHED: dict[str, Any] = {
    "outcome": "established",
    "code": "Established",
    "child": True,
    "esp": True,
    "log": {},
    "wire": {},
}

# Failures end in seconds: charon gives up on an unanswered request after 3 retransmissions
# (requests at 0, 1.0, 2.4, 4.4 s; gives up at 7.1 s) instead of its default 5 (165 s).
FAST_GIVE_UP = {"retransmit_timeout": 1.0, "retransmit_base": 1.4, "retransmit_tries": 3}

SCENARIOS: dict[str, dict[str, Any]] = {
    "ikev2-psk": {
        "description": "IKEv2 with a pre-shared key, moon initiates, MOBIKE on (IKE_AUTH moves to 4500), "
                       "three pings cross the tunnel as ESP in UDP 4500",
        "conn": {"version": 2},
        "expect": {**ESTABLISHED,
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2, "INFORMATIONAL": 0}}},
    },
    "ikev1-main": {
        "description": "IKEv1 main mode (identity protection) with a pre-shared key, then quick mode; "
                       "pings cross the tunnel",
        "conn": {"version": 1},
        "expect": {**ESTABLISHED,
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": 6, "QUICK_MODE": 3, "INFORMATIONAL": 0}}},
    },
    "ikev1-aggressive": {
        "description": "IKEv1 aggressive mode with a pre-shared key (identities and hashes in clear), "
                       "then quick mode; pings cross the tunnel",
        "conn": {"version": 1, "aggressive": True},
        # strongSwan refuses aggressive mode with PSK unless told it is fine (both roles)
        "charon": {"i_dont_care_about_security_and_use_aggressive_mode_psk": True},
        "expect": {**ESTABLISHED,
                   "wire": {"exchanges": {"AGGRESSIVE": 3, "QUICK_MODE": 3, "INFORMATIONAL": 0}}},
    },
    "ikev2-nat": {
        "description": "IKEv2 PSK with moon behind a masquerading NAT: NAT-D hashes show the NAT, "
                       "IKE_AUTH and ESP float to 4500 (remapped source ports on the wire)",
        "topology": "nat",
        "conn": {"version": 2},
        "expect": {**ESTABLISHED,
                   "log": {"moon": [r"local host is behind NAT"], "sun": [r"remote host is behind NAT"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2, "INFORMATIONAL": 0}, "nat": True}},
    },
    "ikev2-cert": {
        "description": "IKEv2 with X.509 certificates (RSA 2048, one lab CA, made at run time by pki); "
                       "each side sends its certificate and a CERTREQ; charon.fragment_size = 1500 so the "
                       "~1400-byte IKE_AUTH goes whole (charon's default of 1280 would split it in two)",
        "auth": "pubkey",
        "certs": {"type": "rsa", "size": 2048},
        "conn": {"version": 2},
        "charon": {"fragment_size": 1500},
        "expect": {**ESTABLISHED,
                   "log": {"moon": [r"authentication of 'sun\.example' with RSA.* successful"],
                           "sun": [r"authentication of 'moon\.example' with RSA.* successful"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2, "INFORMATIONAL": 0}}},
    },
    "ikev2-fragmentation": {
        "description": "IKEv2 with RSA 3072 certificates and RFC 7383 fragmentation: charon.fragment_size = 512 "
                       "splits each IKE_AUTH into Encrypted Fragment (SKF) payloads",
        "auth": "pubkey",
        "certs": {"type": "rsa", "size": 3072},
        "conn": {"version": 2, "fragmentation": "yes"},
        "charon": {"fragment_size": 512},
        "expect": {**ESTABLISHED,
                   "log": {"moon": [r"splitting IKE message \(\d+ bytes\) into \d+ fragments"],
                           "sun": [r"splitting IKE message \(\d+ bytes\) into \d+ fragments"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": ">=6", "INFORMATIONAL": 0},
                            "min_ikev2_fragments": 6}},
    },
    "ikev2-ipfrag": {
        "description": "IKEv2 with RSA 3072 certificates, IKE fragmentation off and a 1000-byte link MTU: "
                       "each IKE_AUTH leaves as one UDP datagram in several IP fragments",
        "auth": "pubkey",
        "certs": {"type": "rsa", "size": 3072},
        "mtu": 1000,
        "conn": {"version": 2, "fragmentation": "no"},
        "expect": {**ESTABLISHED,
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2, "INFORMATIONAL": 0},
                            "min_ip_fragments": 4}},
    },
    # --- failures of IKEv2 phase 1: proposals (IKE_SA_INIT, in clear) ---
    "ikev2-proposal-mismatch": {
        "description": "IKEv2, moon offers only AES-CBC-256/HMAC-SHA2-384/ECP-384 and sun accepts only "
                       "AES-CBC-128/HMAC-SHA2-256/MODP-2048: sun answers IKE_SA_INIT with NO_PROPOSAL_CHOSEN",
        "conn": {"version": 2},
        "moon": {"conn": {"proposals": "aes256-sha384-ecp384"}},
        "charon": FAST_GIVE_UP,
        "expect": {"outcome": "failed", "code": "ProposalMismatch", "phase": 1, "child": False, "esp": False,
                   "alternatives": ["EncryptionAlgorithmMismatch", "AuthenticationAlgorithmMismatch",
                                    "DhGroupMismatch"],
                   "log": {"sun": [r"received proposals: IKE:AES_CBC_256/HMAC_SHA2_384_192/PRF_HMAC_SHA2_384/ECP_384",
                                   r"configured proposals: IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048",
                                   r"received proposals unacceptable"],
                           "moon": [r"received NO_PROPOSAL_CHOSEN notify error"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2}, "notifies": {"NO_PROPOSAL_CHOSEN": 1}}},
    },
    "ikev2-encryption-mismatch": {
        "description": "IKEv2, only the encryption algorithm differs: moon offers AES-CBC-256, sun accepts "
                       "AES-CBC-128 (integrity, PRF and DH group the same): NO_PROPOSAL_CHOSEN in IKE_SA_INIT",
        "conn": {"version": 2},
        "moon": {"conn": {"proposals": "aes256-sha256-prfsha256-modp2048"}},
        "sun": {"conn": {"proposals": "aes128-sha256-prfsha256-modp2048"}},
        "charon": FAST_GIVE_UP,
        "expect": {"outcome": "failed", "code": "EncryptionAlgorithmMismatch", "phase": 1, "child": False,
                   "esp": False,
                   "log": {"sun": [r"received proposals: IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048",
                                   r"no acceptable ENCRYPTION_ALGORITHM found",
                                   r"received proposals unacceptable"],
                           "moon": [r"received NO_PROPOSAL_CHOSEN notify error"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2}, "notifies": {"NO_PROPOSAL_CHOSEN": 1}}},
    },
    "ikev2-integrity-mismatch": {
        "description": "IKEv2, only the integrity algorithm differs: moon offers HMAC-SHA2-384, sun accepts "
                       "HMAC-SHA2-256 (both with PRF-HMAC-SHA2-256, AES-CBC-128, MODP-2048): NO_PROPOSAL_CHOSEN",
        "conn": {"version": 2},
        "moon": {"conn": {"proposals": "aes128-sha384-prfsha256-modp2048"}},
        "sun": {"conn": {"proposals": "aes128-sha256-prfsha256-modp2048"}},
        "charon": FAST_GIVE_UP,
        "expect": {"outcome": "failed", "code": "AuthenticationAlgorithmMismatch", "phase": 1, "child": False,
                   "esp": False,
                   "log": {"sun": [r"received proposals: IKE:AES_CBC_128/HMAC_SHA2_384_192/PRF_HMAC_SHA2_256/MODP_2048",
                                   r"no acceptable INTEGRITY_ALGORITHM found",
                                   r"received proposals unacceptable"],
                           "moon": [r"received NO_PROPOSAL_CHOSEN notify error"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2}, "notifies": {"NO_PROPOSAL_CHOSEN": 1}}},
    },
    "ikev2-dh-mismatch-recovered": {
        "description": "IKEv2, moon offers ECP-256 first and MODP-2048 second and sends its key exchange for "
                       "ECP-256; sun accepts only MODP-2048 and answers INVALID_KE_PAYLOAD; moon retries "
                       "IKE_SA_INIT with MODP-2048 (same initiator SPI) and the tunnel comes up",
        "conn": {"version": 2},
        "moon": {"conn": {"proposals": "aes128-sha256-ecp256-modp2048"}},
        "expect": {**ESTABLISHED, "findings": ["invalid_ke_recovered"],
                   "log": {"sun": [r"DH group ECP_256 unacceptable, requesting MODP_2048"],
                           "moon": [r"peer didn't accept DH group ECP_256, it requested MODP_2048"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 4, "IKE_AUTH": 2, "INFORMATIONAL": 0},
                            "notifies": {"INVALID_KE_PAYLOAD": 1}}},
    },
    "ikev2-dh-mismatch": {
        "description": "IKEv2, the DH groups have nothing in common: moon offers only ECP-256, sun only "
                       "MODP-2048 (encryption, integrity and PRF the same): NO_PROPOSAL_CHOSEN in IKE_SA_INIT",
        "conn": {"version": 2},
        "moon": {"conn": {"proposals": "aes128-sha256-ecp256"}},
        "charon": FAST_GIVE_UP,
        "expect": {"outcome": "failed", "code": "DhGroupMismatch", "phase": 1, "child": False, "esp": False,
                   "log": {"sun": [r"received proposals: IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_256",
                                   r"no acceptable KEY_EXCHANGE_METHOD found",
                                   r"received proposals unacceptable"],
                           "moon": [r"received NO_PROPOSAL_CHOSEN notify error"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2}, "notifies": {"NO_PROPOSAL_CHOSEN": 1}}},
    },
    "ikev1-main-proposal-mismatch": {
        "description": "IKEv1 main mode, only the encryption algorithm differs: moon offers AES-CBC-256, sun accepts "
                       "AES-CBC-128 (HMAC-SHA2-256, MODP-2048 on both): sun answers message 1 with an unencrypted "
                       "INFORMATIONAL NO_PROPOSAL_CHOSEN (56 bytes: the notify carries the ISAKMP SPI, unlike the "
                       "40-byte answer of a responder with no IKEv1 config)",
        "conn": {"version": 1},
        "moon": {"conn": {"proposals": "aes256-sha256-modp2048"}},
        "sun": {"conn": {"proposals": "aes128-sha256-modp2048"}},
        "charon": FAST_GIVE_UP,
        "timeout": 25,
        "expect": {"outcome": "failed", "code": "EncryptionAlgorithmMismatch", "phase": 1, "child": False,
                   "esp": False, "alternatives": ["ProposalMismatch"],
                   "log": {"sun": [r"received proposals: IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048",
                                   r"configured proposals: IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048",
                                   r"no acceptable ENCRYPTION_ALGORITHM found",
                                   r"^no proposal found",
                                   r"generating INFORMATIONAL_V1 request \d+ \[ N\(NO_PROP\) \]"],
                           "moon": [r"received NO_PROPOSAL_CHOSEN error notify"]},
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": 1, "INFORMATIONAL": 1},
                            "notifies": {"NO_PROPOSAL_CHOSEN": 1}}},
    },
    # --- established after a COOKIE challenge ---
    "ikev2-cookie": {
        "description": "IKEv2, sun's charon demands a COOKIE as soon as it holds one half-open IKE SA "
                       "(cookie_threshold = 1); sun's first IKE_SA_INIT answer is lost (iptables on sun drops the first "
                       "datagram it sends from port 500 to a peer, xt_recent), so when moon retransmits, sun still holds "
                       "that half-open SA and answers with N(COOKIE) only; moon repeats IKE_SA_INIT with the cookie as "
                       "first payload and the tunnel comes up (sun's first half-open SA is left to half_open_timeout)",
        "conn": {"version": 2},
        "sun": {"charon": {"cookie_threshold": 1}},
        "charon": FAST_GIVE_UP,
        "iptables": {"sun": [["-A", "OUTPUT", "-p", "udp", "--sport", "500", "-m", "recent", "--name", "answered",
                              "--rdest", "--rcheck", "-j", "ACCEPT"],
                             ["-A", "OUTPUT", "-p", "udp", "--sport", "500", "-m", "recent", "--name", "answered",
                              "--rdest", "--set", "-j", "DROP"]]},
        "expect": {**ESTABLISHED, "findings": ["cookie_challenge"],
                   "log": {"sun": [r"sending COOKIE notify to 192\.0\.2\.1",
                                   r"generating IKE_SA_INIT response 0 \[ N\(COOKIE\) \]",
                                   r"parsed IKE_SA_INIT request 0 \[ N\(COOKIE\) SA KE No"],
                           "moon": [r"retransmit 1 of request with message ID 0",
                                    r"received COOKIE notify",
                                    r"generating IKE_SA_INIT request 0 \[ N\(COOKIE\) SA KE No"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 5, "IKE_AUTH": 2, "INFORMATIONAL": 0},
                            "notifies": {"COOKIE": 2}, "repeats": 1}},
    },
    # --- failures of phase 1: authentication ---
    "ikev2-psk-mismatch": {
        "description": "IKEv2, sun holds a different pre-shared key: IKE_SA_INIT succeeds, sun cannot verify "
                       "moon's AUTH and answers IKE_AUTH with AUTHENTICATION_FAILED (inside encryption: the SK "
                       "keys do not depend on the PSK, so the key table opens it)",
        "conn": {"version": 2},
        "sun": {"secret": "not-the-lab-psk-9876543210"},
        "charon": FAST_GIVE_UP,
        "expect": {"outcome": "failed", "code": "PskMismatch", "phase": 1, "child": False, "esp": False,
                   "alternatives": ["PeerIdMismatch"],
                   "log": {"sun": [r"tried 1 shared key for 'sun\.example' - 'moon\.example', but MAC mismatched"],
                           "moon": [r"received AUTHENTICATION_FAILED notify error"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2},
                            "inner_notifies": {"AUTHENTICATION_FAILED": 1}}},
    },
    "ikev1-main-psk-mismatch": {
        "description": "IKEv1 main mode, sun holds a different pre-shared key: messages 1-4 succeed, moon's "
                       "message 5 (encrypted with a key derived from its PSK) cannot be decrypted by sun, "
                       "which ignores it; moon retransmits message 5 and gives up",
        "conn": {"version": 1},
        "sun": {"secret": "not-the-lab-psk-9876543210"},
        "charon": FAST_GIVE_UP,
        "timeout": 25,
        "expect": {"outcome": "failed", "code": "PskMismatch", "phase": 1, "child": False, "esp": False,
                   "keys_differ": True,
                   "log": {"moon": [r"invalid HASH_V1 payload length, decryption failed\?",
                                    r"giving up after 3 retransmits"],
                           "sun": [r"invalid ID_V1 payload length, decryption failed\?",
                                   r"generating INFORMATIONAL_V1 request \d+ \[ HASH N\(PLD_MAL\) \]"]},
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": 8, "INFORMATIONAL": 4}, "repeats": 3}},
    },
    "ikev1-aggressive-psk-mismatch": {
        "description": "IKEv1 aggressive mode, sun holds a different pre-shared key: sun's answer (message 2) "
                       "carries a HASH_R moon cannot verify; moon sends an encrypted AUTHENTICATION_FAILED "
                       "(keyed from its own PSK, so sun cannot read it) instead of message 3; sun repeats "
                       "message 2 until it gives up",
        "conn": {"version": 1, "aggressive": True},
        "charon": {"i_dont_care_about_security_and_use_aggressive_mode_psk": True, **FAST_GIVE_UP},
        "sun": {"secret": "not-the-lab-psk-9876543210"},
        "linger": 8.0,  # sun repeats message 2 three times, then gives up
        "expect": {"outcome": "failed", "code": "PskMismatch", "phase": 1, "child": False, "esp": False,
                   "keys_differ": True,
                   "log": {"moon": [r"calculated HASH does not match HASH payload",
                                    r"generating INFORMATIONAL_V1 request \d+ \[ HASH N\(AUTH_FAILED\) \]"],
                           "sun": [r"sending retransmit 1 of response message ID 0",
                                   r"giving up after 3 retransmits"]},
                   "wire": {"exchanges": {"AGGRESSIVE": 5, "INFORMATIONAL": 1}, "repeats": 3}},
    },
    # --- failures of IKEv2 phase 1: identity ---
    "ikev2-peer-id-mismatch": {
        "description": "IKEv2, sun expects moon to be 'gw.example' but moon says 'moon.example': sun finds no "
                       "peer configuration for that identity and answers IKE_AUTH with AUTHENTICATION_FAILED "
                       "(on the wire, without keys, the same as a wrong PSK)",
        "conn": {"version": 2},
        "sun": {"conn": {"remote.id": "gw.example"}},
        "charon": FAST_GIVE_UP,
        "expect": {"outcome": "failed", "code": "PeerIdMismatch", "phase": 1, "child": False, "esp": False,
                   "alternatives": ["PskMismatch"],
                   "log": {"sun": [r"looking for peer configs matching .*\[sun\.example\]\.\.\..*\[moon\.example\]",
                                   r"no matching peer config found"],
                           "moon": [r"received AUTHENTICATION_FAILED notify error"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2},
                            "inner_notifies": {"AUTHENTICATION_FAILED": 1}}},
    },
    # --- failures of phase 2 ---
    "ikev2-ts-mismatch": {
        "description": "IKEv2, the traffic selectors do not meet: moon asks for 192.0.2.128/28 === 192.0.2.144/28, "
                       "sun's CHILD_SA covers 192.0.2.176/28 === 192.0.2.128/28; sun answers IKE_AUTH with "
                       "TS_UNACCEPTABLE: the IKE SA is established without a CHILD_SA (and left so: no Delete)",
        "conn": {"version": 2},
        "sun": {"child": {"local_ts": "192.0.2.176/28"}},
        "expect": {"outcome": "failed", "code": "TrafficSelectorMismatch", "phase": 2, "child": False,
                   "esp": False, "ike_established": True,
                   "log": {"sun": [r"traffic selectors 192\.0\.2\.144/28 === 192\.0\.2\.128/28 unacceptable",
                                   r"failed to establish CHILD_SA, keeping IKE_SA"],
                           "moon": [r"received TS_UNACCEPTABLE notify, no CHILD_SA built"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2},
                            "inner_notifies": {"TS_UNACCEPTABLE": 1}}},
    },
    "ikev2-esp-proposal-mismatch": {
        "description": "IKEv2, the ESP proposals differ (moon AES-CBC-256/HMAC-SHA2-256, sun AES-CBC-128/"
                       "HMAC-SHA2-256): the IKE SA comes up, sun answers the CHILD_SA part of IKE_AUTH with "
                       "NO_PROPOSAL_CHOSEN: a childless IKE SA",
        "conn": {"version": 2},
        "moon": {"child": {"esp_proposals": "aes256-sha256"}},
        "expect": {"outcome": "failed", "code": "EncryptionAlgorithmMismatch", "phase": 2, "child": False,
                   "esp": False, "ike_established": True, "alternatives": ["ProposalMismatch"],
                   "log": {"sun": [r"received proposals: ESP:AES_CBC_256/HMAC_SHA2_256_128/NO_EXT_SEQ",
                                   r"no acceptable ENCRYPTION_ALGORITHM found",
                                   r"no acceptable proposal found"],
                           "moon": [r"received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2},
                            "inner_notifies": {"NO_PROPOSAL_CHOSEN": 1}}},
    },
    "ikev2-pfs-mismatch": {
        "description": "IKEv2, moon wants PFS (ESP proposal with MODP-2048), sun has none: the first CHILD_SA, "
                       "made inside IKE_AUTH without a key exchange, comes up; moon's CHILD_SA rekey_time is 10 s "
                       "(rand_time 0), and its CREATE_CHILD_SA with a KE payload is refused (NO_PROPOSAL_CHOSEN)",
        "conn": {"version": 2},
        "moon": {"child": {"esp_proposals": "aes128-sha256-modp2048", "rekey_time": "10s", "rand_time": "0s",
                           "life_time": "60s"}},
        "after": [{"wait_log": ["moon", r"received NO_PROPOSAL_CHOSEN notify|rekeying failed", 20]},
                  {"sleep": 1.0}],
        "expect": {"outcome": "failed", "code": "PfsMismatch", "phase": 2, "child": True, "esp": True,
                   "log": {"moon": [r"received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built",
                                    r"CHILD_SA rekeying failed, trying again in \d+ seconds"],
                           "sun": [r"received proposals: ESP:AES_CBC_128/HMAC_SHA2_256_128/MODP_2048/NO_EXT_SEQ",
                                   r"no acceptable KEY_EXCHANGE_METHOD found"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2, "CREATE_CHILD_SA": ">=2"},
                            "inner_notifies": {"NO_PROPOSAL_CHOSEN": ">=1"}, "inner_payloads": {"KE": ">=1"}}},
    },
    "ikev1-quick-mode-proposal-mismatch": {
        "description": "IKEv1 main mode succeeds, quick mode fails: moon offers ESP AES-CBC-256/HMAC-SHA2-256, "
                       "sun accepts AES-CBC-128/HMAC-SHA2-256 and answers with an encrypted INFORMATIONAL "
                       "NO_PROPOSAL_CHOSEN",
        "conn": {"version": 1},
        "moon": {"child": {"esp_proposals": "aes256-sha256"}},
        "expect": {"outcome": "failed", "code": "EncryptionAlgorithmMismatch", "phase": 2, "child": False,
                   "esp": False, "ike_established": True, "alternatives": ["ProposalMismatch"],
                   "log": {"sun": [r"received proposals: ESP:AES_CBC_256/HMAC_SHA2_256_128/NO_EXT_SEQ",
                                   r"no acceptable ENCRYPTION_ALGORITHM found",
                                   r"no matching proposal found, sending NO_PROPOSAL_CHOSEN"],
                           "moon": [r"received NO_PROPOSAL_CHOSEN error notify"]},
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": 6, "QUICK_MODE": 1, "INFORMATIONAL": ">=1"},
                            "inner_notifies": {"NO_PROPOSAL_CHOSEN": 1}}},
    },
    "ikev1-encapsulation-mismatch": {
        "description": "IKEv1, moon's CHILD_SA is in transport mode, sun's in tunnel mode (host-to-host traffic "
                       "selectors on both, so transport mode is possible): main mode succeeds, sun finds the child "
                       "config and the traffic selectors match, but the mode differs, so charon rejects the quick "
                       "mode with an encrypted INFORMATIONAL INVALID_ID_INFORMATION (the same answer as a traffic "
                       "selector mismatch)",
        "conn": {"version": 1},
        "child": {"local_ts": "dynamic", "remote_ts": "dynamic"},
        "moon": {"child": {"mode": "transport"}},
        "charon": FAST_GIVE_UP,
        "timeout": 25,
        "expect": {"outcome": "failed", "code": "EncapsulationModeMismatch", "phase": 2, "child": False,
                   "esp": False, "ike_established": True, "alternatives": ["TrafficSelectorMismatch"],
                   "log": {"sun": [r"found matching child config \"net\" with prio \d+",
                                   r"config: 192\.0\.2\.1/32, received: 192\.0\.2\.1/32 => match: 192\.0\.2\.1/32",
                                   r"config: 192\.0\.2\.2/32, received: 192\.0\.2\.2/32 => match: 192\.0\.2\.2/32",
                                   r"no matching CHILD_SA config found for 192\.0\.2\.1/32 === 192\.0\.2\.2/32",
                                   r"generating INFORMATIONAL_V1 request \d+ \[ HASH N\(INVAL_ID\) \]"],
                           "moon": [r"received INVALID_ID_INFORMATION error notify"]},
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": 6, "QUICK_MODE": 1, "INFORMATIONAL": 1},
                            "inner_notifies": {"INVALID_ID_INFORMATION": 1}}},
    },
    "ikev2-ah-esp-mismatch": {
        "description": "IKEv2, moon's CHILD_SA asks for AH (ah_proposals HMAC-SHA2-256, no ESP), sun's offers only "
                       "ESP: the IKE SA comes up, sun skips moon's proposal for its protocol and answers the CHILD_SA "
                       "part of IKE_AUTH with NO_PROPOSAL_CHOSEN: a childless IKE SA (the same 160-byte answer as an "
                       "ESP proposal mismatch)",
        "conn": {"version": 2},
        "moon": {"child": {"ah_proposals": "sha256", "esp_proposals": None}},
        "expect": {"outcome": "failed", "code": "SecurityProtocolMismatch", "phase": 2, "child": False,
                   "esp": False, "ike_established": True, "alternatives": ["ProposalMismatch"],
                   "log": {"sun": [r"received proposals: AH:HMAC_SHA2_256_128/NO_EXT_SEQ",
                                   r"configured proposals: ESP:AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ",
                                   r"protocol mismatch, skipping",
                                   r"no acceptable proposal found"],
                           "moon": [r"received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2},
                            "inner_notifies": {"NO_PROPOSAL_CHOSEN": 1}}},
    },
    # --- version and mode ---
    "ike-version-mismatch": {
        "description": "moon speaks only IKEv2, sun only IKEv1: sun finds no IKE config for an IKEv2 "
                       "IKE_SA_INIT and answers NO_PROPOSAL_CHOSEN (strongSwan's answer for any missing "
                       "config, so the wire alone cannot tell a version mismatch from a proposal mismatch)",
        "moon": {"conn": {"version": 2}},
        "sun": {"conn": {"version": 1}},
        "charon": FAST_GIVE_UP,
        "expect": {"outcome": "failed", "code": "IkeVersionMismatch", "phase": 1, "child": False, "esp": False,
                   "alternatives": ["ProposalMismatch", "PeerMismatch"],
                   "log": {"sun": [r"looking for an IKEv2 config for 192\.0\.2\.2\.\.\.192\.0\.2\.1",
                                   r"no IKE config found for 192\.0\.2\.2\.\.\.192\.0\.2\.1, sending NO_PROPOSAL_CHOSEN"],
                           "moon": [r"received NO_PROPOSAL_CHOSEN notify error"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2}, "notifies": {"NO_PROPOSAL_CHOSEN": 1}}},
    },
    "ike-version-mismatch-v1": {
        "description": "moon speaks only IKEv1 (main mode), sun only IKEv2: sun finds no IKEv1 config for "
                       "main mode message 1 and answers with an unencrypted INFORMATIONAL NO_PROPOSAL_CHOSEN",
        "moon": {"conn": {"version": 1}},
        "sun": {"conn": {"version": 2}},
        "charon": FAST_GIVE_UP,
        "timeout": 25,
        "expect": {"outcome": "failed", "code": "IkeVersionMismatch", "phase": 1, "child": False, "esp": False,
                   "alternatives": ["ProposalMismatch", "PeerMismatch"],
                   "log": {"sun": [r"looking for an IKEv1 config for 192\.0\.2\.2\.\.\.192\.0\.2\.1",
                                   r"no IKE config found for 192\.0\.2\.2\.\.\.192\.0\.2\.1, sending NO_PROPOSAL_CHOSEN"],
                           "moon": [r"received NO_PROPOSAL_CHOSEN error notify"]},
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": 1, "INFORMATIONAL": 1},
                            "notifies": {"NO_PROPOSAL_CHOSEN": 1}}},
    },
    "ikev1-mode-mismatch": {
        "description": "IKEv1, moon initiates aggressive mode (PSK), sun's connection is main mode only: sun "
                       "finds the peer config but none allowing PSK in aggressive mode, and answers message 1 with "
                       "an unencrypted INFORMATIONAL AUTHENTICATION_FAILED",
        "conn": {"version": 1},
        "moon": {"conn": {"aggressive": True}},
        "charon": {"i_dont_care_about_security_and_use_aggressive_mode_psk": True, **FAST_GIVE_UP},
        "timeout": 25,
        "expect": {"outcome": "failed", "code": "NegotiationModeMismatch", "phase": 1, "child": False,
                   "esp": False, "alternatives": ["PskMismatch", "PeerIdMismatch"],
                   "log": {"sun": [r"found 1 matching config, but none allows pre-shared key authentication using Aggressive Mode"],
                           "moon": [r"received AUTHENTICATION_FAILED error notify"]},
                   "wire": {"exchanges": {"AGGRESSIVE": 1, "INFORMATIONAL": 1},
                            "notifies": {"AUTHENTICATION_FAILED": 1}}},
    },
    # --- nothing or part of it answered ---
    "ikev2-no-response": {
        "description": "IKEv2, sun's namespace drops every UDP datagram to port 500 (iptables INPUT DROP): "
                       "moon sends IKE_SA_INIT, retransmits it 3 times (1.0, 1.4, 1.96 s apart) and gives up "
                       "after 7.1 s",
        "conn": {"version": 2},
        "iptables": {"sun": [["-A", "INPUT", "-p", "udp", "--dport", "500", "-j", "DROP"]]},
        "charon": FAST_GIVE_UP,
        "expect": {"outcome": "failed", "code": "NoResponse", "phase": 1, "child": False, "esp": False,
                   "log": {"moon": [r"retransmit 3 of request with message ID 0",
                                    r"giving up after 3 retransmits",
                                    r"establishing IKE_SA failed, peer not responding"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 4}, "repeats": 3}},
    },
    "ikev2-not-listening": {
        "description": "IKEv2, no IKE daemon on sun (its charon is not started): every IKE_SA_INIT draws an ICMP "
                       "port unreachable, which charon ignores; it retransmits 3 times and gives up",
        "conn": {"version": 2},
        "start": ["moon"],
        "charon": FAST_GIVE_UP,
        "expect": {"outcome": "failed", "code": "NoResponse", "phase": 1, "child": False, "esp": False,
                   "log": {"moon": [r"giving up after 3 retransmits",
                                    r"establishing IKE_SA failed, peer not responding"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 4}, "repeats": 3, "icmp": {"3/3": 4}}},
    },
    "ikev2-auth-blocked": {
        "description": "IKEv2, sun's namespace drops UDP 4500: IKE_SA_INIT (port 500) is answered, IKE_AUTH "
                       "(floated to 4500) never arrives; moon retransmits it 3 times and gives up",
        "conn": {"version": 2},
        "iptables": {"sun": [["-A", "INPUT", "-p", "udp", "--dport", "4500", "-j", "DROP"]]},
        "charon": FAST_GIVE_UP,
        "expect": {"outcome": "failed", "code": "Phase1NegotiationTimeout", "phase": 1, "child": False,
                   "esp": False, "alternatives": ["NoResponse"],
                   "log": {"moon": [r"retransmit 3 of request with message ID 1",
                                    r"giving up after 3 retransmits",
                                    r"establishing IKE_SA failed, peer not responding"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 4}, "repeats": 3}},
    },
    "ikev2-ipfrag-dropped": {
        "description": "IKEv2 with RSA 3072 certificates, IKE fragmentation off, 1000-byte MTU and sun's namespace "
                       "dropping IP fragments (iptables -f): IKE_SA_INIT passes, every IKE_AUTH leaves in IP "
                       "fragments that never reach charon; moon retransmits and gives up",
        "auth": "pubkey",
        "certs": {"type": "rsa", "size": 3072},
        "mtu": 1000,
        "conn": {"version": 2, "fragmentation": "no"},
        "iptables": {"sun": [["-t", "raw", "-A", "PREROUTING", "-f", "-j", "DROP"]]},
        "charon": FAST_GIVE_UP,
        "expect": {"outcome": "failed", "code": "Phase1NegotiationTimeout", "phase": 1, "child": False,
                   "esp": False, "alternatives": ["NoResponse"],
                   "log": {"moon": [r"giving up after 3 retransmits",
                                    r"establishing IKE_SA failed, peer not responding"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 4}, "repeats": 3, "min_ip_fragments": 8}},
    },
    "ikev1-no-response": {
        "description": "IKEv1 main mode, sun's namespace drops every UDP datagram to port 500 (iptables INPUT DROP): "
                       "moon sends main mode message 1, retransmits it 3 times (1.0, 1.4, 1.96 s apart, the same "
                       "schedule as IKEv2) and gives up",
        "conn": {"version": 1},
        "iptables": {"sun": [["-A", "INPUT", "-p", "udp", "--dport", "500", "-j", "DROP"]]},
        "charon": FAST_GIVE_UP,
        "timeout": 25,
        "expect": {"outcome": "failed", "code": "NoResponse", "phase": 1, "child": False, "esp": False,
                   "log": {"moon": [r"sending retransmit 3 of request message ID 0, seq 1",
                                    r"giving up after 3 retransmits",
                                    r"establishing IKE_SA failed, peer not responding"]},
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": 4}, "repeats": 3}},
    },
    "ikev2-nat-4500-blocked": {
        "description": "IKEv2, moon behind the masquerading NAT, sun's namespace drops UDP 4500: IKE_SA_INIT (port 500) "
                       "is answered and both sides detect the NAT; IKE_AUTH, floated to 4500 (from a remapped NAT port), "
                       "never arrives; moon retransmits it 3 times and gives up",
        "topology": "nat",
        "conn": {"version": 2},
        "iptables": {"sun": [["-A", "INPUT", "-p", "udp", "--dport", "4500", "-j", "DROP"]]},
        "charon": FAST_GIVE_UP,
        "expect": {"outcome": "failed", "code": "Phase1NegotiationTimeout", "phase": 1, "child": False,
                   "esp": False, "alternatives": ["NatTMismatch", "NoResponse"],
                   "log": {"moon": [r"local host is behind NAT, sending keep alives",
                                    r"retransmit 3 of request with message ID 1",
                                    r"giving up after 3 retransmits",
                                    r"establishing IKE_SA failed, peer not responding"],
                           "sun": [r"remote host is behind NAT"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 4}, "repeats": 3, "nat": True}},
    },
    # --- established, then lost ---
    "ikev2-dpd-timeout": {
        "description": "IKEv2, the tunnel comes up and carries pings; then sun's namespace drops everything it "
                       "sends (iptables OUTPUT DROP); moon's DPD (dpd_delay 2 s) sends empty INFORMATIONAL "
                       "requests that go unanswered, retransmits 3 times and deletes the IKE SA",
        "conn": {"version": 2},
        "moon": {"conn": {"dpd_delay": "2s"}},
        "charon": FAST_GIVE_UP,
        "after": [{"iptables": {"sun": [["-A", "OUTPUT", "-p", "udp", "-j", "DROP"]]}},
                  {"wait_log": ["moon", r"giving up after 3 retransmits", 20]},
                  {"sleep": 0.5}],
        "expect": {"outcome": "torn_down", "code": "DpdTimeout", "phase": 1, "child": True, "esp": True,
                   "log": {"moon": [r"sending DPD request",
                                    r"giving up after 3 retransmits",
                                    r"IKE_SA lab\[1\] state change: ESTABLISHED => DESTROYING"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2, "INFORMATIONAL": ">=4"},
                            "repeats": ">=3"}},
    },
    "ikev2-delete": {
        "description": "IKEv2, the tunnel comes up and carries pings; then sun's administrator terminates it "
                       "(swanctl --terminate --ike lab on sun): sun sends an INFORMATIONAL with a Delete of the "
                       "IKE SA, moon answers and removes the tunnel",
        "conn": {"version": 2},
        "after": [{"swanctl": ["sun", "--terminate", "--ike", "lab", "--timeout", "10"]},
                  {"wait_log": ["moon", r"IKE_SA lab\[1\] state change: ESTABLISHED => DELETING|IKE_SA deleted", 5]},
                  {"sleep": 0.5}],
        "expect": {"outcome": "torn_down", "code": "ReceiveDeleteNotify", "phase": 1, "child": True, "esp": True,
                   "log": {"sun": [r"deleting IKE_SA lab\[1\] between"],
                           "moon": [r"received DELETE for IKE_SA lab\[1\]"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2, "INFORMATIONAL": 2},
                            "inner_payloads": {"D": 1}}},
    },
    "ikev2-rekey": {
        "description": "IKEv2, healthy tunnel rekeyed on moon's command (swanctl --rekey, the same exchanges "
                       "as a lifetime-driven rekey): a CREATE_CHILD_SA with REKEY_SA replaces the CHILD_SA, "
                       "another (with KE, no REKEY_SA) replaces the IKE SA; each old SA is then deleted "
                       "(housekeeping, not a failure); pings before and after; moon's DPD (dpd_delay 2 s) then "
                       "checks the idle tunnel on the new IKE SA, so its SPIs appear on the wire (the capture stops "
                       "before the teardown)",
        "conn": {"version": 2},
        "moon": {"conn": {"dpd_delay": "2s"}},
        "after": [{"swanctl": ["moon", "--rekey", "--child", "net"]},
                  {"wait_log": ["moon", r"CHILD_SA closed", 5]},
                  {"swanctl": ["moon", "--rekey", "--ike", "lab"]},
                  {"wait_log": ["moon", r"^IKE_SA lab\[2\] rekeyed", 5]},
                  {"wait_log": ["moon", r"IKE_SA lab\[1\] state change: DELETING => DESTROYING", 5]},
                  {"pings": 3},
                  {"wait_log": ["moon", r"sending DPD request", 8]},
                  {"wait_log": ["moon", r"parsed INFORMATIONAL response 0 \[ \]", 3]}],
        "expect": {**ESTABLISHED, "findings": ["rekey"],
                   "log": {"moon": [r"^inbound CHILD_SA net\{2\} established",
                                    r"closing CHILD_SA net\{1\}",
                                    r"^IKE_SA lab\[2\] rekeyed between",
                                    r"sending DELETE for IKE_SA lab\[1\]"],
                           "sun": [r"^inbound CHILD_SA net\{2\} established",
                                   r"^IKE_SA lab\[2\] rekeyed between",
                                   r"received DELETE for IKE_SA lab\[1\]"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2, "CREATE_CHILD_SA": 4,
                                          "INFORMATIONAL": 6},
                            "inner_notifies": {"REKEY_SA": 1}, "inner_payloads": {"D": 3, "KE": 2}}},
    },
    "ikev2-rekey-ike": {
        "description": "IKEv2, healthy tunnel whose IKE SA alone is rekeyed on moon's command (swanctl --rekey --ike, "
                       "a rekey, not a reauthentication): one CREATE_CHILD_SA with SA, nonces and KE (no REKEY_SA, no "
                       "TS) makes the new IKE SA, an INFORMATIONAL on the old one deletes it; the CHILD_SA moves to "
                       "the new IKE SA unchanged (same ESP SPIs before and after); pings before and after; moon's DPD "
                       "(dpd_delay 2 s) then checks the idle tunnel with an empty INFORMATIONAL on the new IKE SA, "
                       "so its SPIs appear on the wire (the capture stops before the teardown)",
        "conn": {"version": 2},
        "moon": {"conn": {"dpd_delay": "2s"}},
        "after": [{"swanctl": ["moon", "--rekey", "--ike", "lab"]},
                  {"wait_log": ["moon", r"^IKE_SA lab\[2\] rekeyed", 5]},
                  {"wait_log": ["moon", r"IKE_SA lab\[1\] state change: DELETING => DESTROYING", 5]},
                  {"pings": 3},
                  {"wait_log": ["moon", r"sending DPD request", 8]},
                  {"wait_log": ["moon", r"parsed INFORMATIONAL response 0 \[ \]", 3]}],
        "expect": {**ESTABLISHED, "findings": ["rekey"],
                   "log": {"moon": [r"^IKE_SA lab\[2\] rekeyed between",
                                    r"sending DELETE for IKE_SA lab\[1\]",
                                    r"sending DPD request",
                                    r"parsed INFORMATIONAL response 0 \[ \]"],
                           "sun": [r"^IKE_SA lab\[2\] rekeyed between",
                                   r"received DELETE for IKE_SA lab\[1\]"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2, "CREATE_CHILD_SA": 2,
                                          "INFORMATIONAL": 4},
                            "inner_notifies": {"REKEY_SA": 0}, "inner_payloads": {"D": 1, "KE": 2, "TSi": 2}}},
    },
    "ikev2-childless": {
        "description": "IKEv2 childless initiation (RFC 6023; moon childless = force, sun announced "
                       "CHILDLESS_IKEV2_SUPPORTED in IKE_SA_INIT): IKE_AUTH carries no SA or traffic selectors "
                       "(192/144 bytes), the CHILD_SA follows in a CREATE_CHILD_SA without KE or REKEY_SA; "
                       "pings cross the tunnel (a healthy IKE SA without a CHILD_SA in IKE_AUTH, not a failure)",
        "conn": {"version": 2},
        "moon": {"conn": {"childless": "force"}},
        "expect": {**ESTABLISHED, "findings": ["childless"],
                   "log": {"moon": [r"received CHILDLESS_IKEV2_SUPPORTED notify",
                                    r"generating IKE_AUTH request 1 \[ IDi N\(INIT_CONTACT\) IDr AUTH N\(MOBIKE_SUP\)",
                                    r"generating CREATE_CHILD_SA request 2 \[ SA No TSi TSr \]"],
                           "sun": [r"generating IKE_AUTH response 1 \[ IDr AUTH N\(MOBIKE_SUP\) N\(NO_ADD_ADDR\) \]",
                                   r"generating CREATE_CHILD_SA response 2 \[ SA No TSi TSr \]"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2, "CREATE_CHILD_SA": 2, "INFORMATIONAL": 0},
                            "notifies": {"CHILDLESS_IKEV2_SUPPORTED": 1},
                            "inner_payloads": {"SA": 2, "TSi": 2, "KE": 0}, "inner_notifies": {"REKEY_SA": 0}}},
    },
    # --- IKEv1 counterparts ---
    "ikev1-main-peer-id-mismatch": {
        "description": "IKEv1 main mode, sun expects moon to be 'gw.example' but moon says 'moon.example' "
                       "(the PSK is the same): messages 1-4 succeed, sun decrypts message 5, finds no peer config "
                       "for that identity and answers with an encrypted INFORMATIONAL AUTHENTICATION_FAILED",
        "conn": {"version": 1},
        "sun": {"conn": {"remote.id": "gw.example"}},
        "charon": FAST_GIVE_UP,
        "timeout": 25,
        "expect": {"outcome": "failed", "code": "PeerIdMismatch", "phase": 1, "child": False, "esp": False,
                   "alternatives": ["PskMismatch"],
                   "log": {"sun": [r"looking for pre-shared key peer configs matching .*\[moon\.example\]",
                                   r"no peer config found",
                                   r"generating INFORMATIONAL_V1 request \d+ \[ HASH N\(AUTH_FAILED\) \]"],
                           "moon": [r"received AUTHENTICATION_FAILED error notify"]},
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": 5, "INFORMATIONAL": 1},
                            "inner_notifies": {"AUTHENTICATION_FAILED": 1}}},
    },
    "ikev1-aggressive-peer-id-mismatch": {
        "description": "IKEv1 aggressive mode, sun expects moon to be 'gw.example' but moon says 'moon.example' "
                       "(in clear, in message 1): sun finds no peer config and answers with an unencrypted "
                       "INFORMATIONAL AUTHENTICATION_FAILED (the same wire as a mode mismatch)",
        "conn": {"version": 1, "aggressive": True},
        "charon": {"i_dont_care_about_security_and_use_aggressive_mode_psk": True, **FAST_GIVE_UP},
        "sun": {"conn": {"remote.id": "gw.example"}},
        "timeout": 25,
        "expect": {"outcome": "failed", "code": "PeerIdMismatch", "phase": 1, "child": False, "esp": False,
                   "alternatives": ["NegotiationModeMismatch", "PskMismatch"],
                   "log": {"sun": [r"no peer config found",
                                   r"generating INFORMATIONAL_V1 request \d+ \[ N\(AUTH_FAILED\) \]"],
                           "moon": [r"received AUTHENTICATION_FAILED error notify"]},
                   "wire": {"exchanges": {"AGGRESSIVE": 1, "INFORMATIONAL": 1},
                            "notifies": {"AUTHENTICATION_FAILED": 1}}},
    },
    "ikev1-dpd-timeout": {
        "description": "IKEv1 main mode, the tunnel comes up and carries pings; then sun's namespace drops "
                       "everything it sends; moon's DPD (dpd_delay 2 s, dpd_timeout 6 s) sends R_U_THERE "
                       "notifies that get no R_U_THERE_ACK; at the timeout moon destroys the IKE SA without a "
                       "word on the wire",
        "conn": {"version": 1},
        "moon": {"conn": {"dpd_delay": "2s", "dpd_timeout": "6s"}},
        "charon": FAST_GIVE_UP,
        "after": [{"iptables": {"sun": [["-A", "OUTPUT", "-p", "udp", "-j", "DROP"]]}},
                  {"wait_log": ["moon", r"DPD check timed out", 20]},
                  {"sleep": 1.0}],
        "expect": {"outcome": "torn_down", "code": "DpdTimeout", "phase": 1, "child": True, "esp": True,
                   "log": {"moon": [r"sending DPD request",
                                    r"DPD check timed out, enforcing DPD action",
                                    r"IKE_SA lab\[1\] state change: ESTABLISHED => DESTROYING"]},
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": 6, "QUICK_MODE": 3, "INFORMATIONAL": ">=2"},
                            "inner_notifies": {"R_U_THERE": ">=2", "R_U_THERE_ACK": 0}}},
    },
    "ikev1-delete": {
        "description": "IKEv1 main mode, the tunnel comes up and carries pings; then sun's administrator "
                       "terminates it (swanctl --terminate --ike lab on sun): encrypted INFORMATIONALs with "
                       "Delete payloads for the ESP SA and the ISAKMP SA",
        "conn": {"version": 1},
        "after": [{"swanctl": ["sun", "--terminate", "--ike", "lab", "--timeout", "10"]},
                  {"wait_log": ["moon", r"deleting IKE_SA lab\[1\]|IKE_SA lab\[1\] state change: \S+ => DESTROYING", 5]},
                  {"sleep": 0.5}],
        "expect": {"outcome": "torn_down", "code": "ReceiveDeleteNotify", "phase": 1, "child": True, "esp": True,
                   "log": {"sun": [r"sending DELETE for ESP CHILD_SA with SPI",
                                   r"sending DELETE for IKE_SA lab\[1\]"],
                           "moon": [r"received DELETE for ESP CHILD_SA with SPI",
                                    r"received DELETE for IKE_SA lab\[1\]"]},
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": 6, "QUICK_MODE": 3, "INFORMATIONAL": 2},
                            "inner_payloads": {"D": 2}}},
    },
    # --- healthy, with something worth a note ---
    "ikev1-lifetime-mismatch": {
        "description": "IKEv1 main mode, the lifetimes differ: moon's IKE SA rekey_time is 1 h (it offers a 3960 s "
                       "phase-1 lifetime, in clear in message 1; sun's own is 4 h) and its CHILD_SA life_time 30 min "
                       "(offered 1800 s in quick mode; sun's is 3960 s). charon fails nothing and sends no "
                       "RESPONDER-LIFETIME: sun keeps its own IKE SA lifetime and adopts moon's 1800 s for the "
                       "CHILD_SA (echoed in its quick mode answer); the tunnel comes up",
        "conn": {"version": 1},
        "moon": {"conn": {"rekey_time": "1h"}, "child": {"rekey_time": "20m", "life_time": "30m"}},
        "expect": {**ESTABLISHED, "findings": ["lifetime_differs"],
                   "log": {"sun": [r"received 1800s lifetime, configured 3960s",
                                   r"maximum IKE_SA lifetime 1[45]\d\d\ds"],
                           "moon": [r"maximum IKE_SA lifetime 3\d\d\ds"]},
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": 6, "QUICK_MODE": 3, "INFORMATIONAL": 0}}},
    },
    "ikev1-dpd-ok": {
        "description": "IKEv1 main mode, moon runs DPD (dpd_delay 2 s) on a healthy, idle tunnel: every 2 s an "
                       "encrypted INFORMATIONAL R_U_THERE from moon, each answered by sun's R_U_THERE_ACK (the "
                       "healthy counterpart of ikev1-dpd-timeout)",
        "conn": {"version": 1},
        "moon": {"conn": {"dpd_delay": "2s"}},
        "after": [{"wait_log": ["moon", r"sending DPD request", 10]},
                  {"sleep": 4.5}],
        "expect": {**ESTABLISHED, "findings": ["dpd"],
                   "log": {"moon": [r"sending DPD request",
                                    r"generating INFORMATIONAL_V1 request \d+ \[ HASH N\(DPD\) \]",
                                    r"parsed INFORMATIONAL_V1 request \d+ \[ HASH N\(DPD_ACK\) \]"],
                           "sun": [r"generating INFORMATIONAL_V1 request \d+ \[ HASH N\(DPD_ACK\) \]"]},
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": 6, "QUICK_MODE": 3, "INFORMATIONAL": ">=4"},
                            "inner_notifies": {"R_U_THERE": ">=2", "R_U_THERE_ACK": ">=2"}}},
    },
    # --- both gateways initiate: each offer is on the wire ---
    "ikev2-encryption-mismatch-both-ways": {
        "description": "IKEv2, only the encryption algorithm differs (moon AES-CBC-256, sun AES-CBC-128): moon "
                       "initiates and gets NO_PROPOSAL_CHOSEN, then sun initiates and gets NO_PROPOSAL_CHOSEN; "
                       "both offers are in clear, so the exact difference can be named",
        "conn": {"version": 2},
        "moon": {"conn": {"proposals": "aes256-sha256-prfsha256-modp2048"}},
        "sun": {"conn": {"proposals": "aes128-sha256-prfsha256-modp2048"}},
        "charon": FAST_GIVE_UP,
        "after_failure": [{"swanctl": ["sun", "--initiate", "--child", "net", "--timeout", "10"]},
                          {"wait_log": ["sun", r"received NO_PROPOSAL_CHOSEN notify error", 5]},
                          {"sleep": 0.5}],
        "expect": {"outcome": "failed", "code": "EncryptionAlgorithmMismatch", "phase": 1, "child": False,
                   "esp": False,
                   "log": {"sun": [r"received proposals: IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048",
                                   r"received NO_PROPOSAL_CHOSEN notify error"],
                           "moon": [r"received proposals: IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048",
                                    r"no acceptable ENCRYPTION_ALGORITHM found",
                                    r"received NO_PROPOSAL_CHOSEN notify error"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 4}, "notifies": {"NO_PROPOSAL_CHOSEN": 2}}},
    },
}

DEFAULTS: dict[str, Any] = {
    "topology": "direct",
    "auth": "psk",
    "certs": None,
    "conn": {},
    "child": {},
    "charon": {},
    "moon": {},
    "sun": {},
    "mtu": None,
    "pings": 3,
    "timeout": 20,
    "linger": 1.0,
    "iptables": {},
    "start": ["moon", "sun"],
    "after": [],
    "after_failure": [],
}


def base_connection(side: str, topology: dict[str, Any], auth: str) -> dict[str, Any]:
    """The healthy baseline of one side's connection ``lab``; scenarios override from here."""
    other = OTHER[side]
    local: dict[str, Any] = {"auth": auth, "id": IDENTITY[side]}
    if auth == "pubkey":
        local["certs"] = f"{side}.crt"  # in the side's swanctl/x509/, signed by the lab CA in x509ca/
    remote: dict[str, Any] = {"auth": auth, "id": IDENTITY[other]}
    return {
        "version": 2,
        "local_addrs": topology["address"][side],
        "remote_addrs": topology["remote_addrs"][side],
        "proposals": "aes128-sha256-modp2048",
        "local": local,
        "remote": remote,
        "children": {
            "net": {
                "local_ts": INNER[side]["subnet"],
                "remote_ts": INNER[other]["subnet"],
                "esp_proposals": "aes128-sha256",
                "mode": "tunnel",
            }
        },
    }


def _substitute(value: Any, side: str) -> Any:
    if isinstance(value, str):
        return value.replace("{side}", side).replace("{other}", OTHER[side])
    if isinstance(value, dict):
        return {k: _substitute(v, side) for k, v in value.items()}
    return value


def resolve(name: str) -> dict[str, Any]:
    """The scenario with defaults filled and each side's configuration built (as dicts)."""
    if name not in SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    scenario = {**copy.deepcopy(DEFAULTS), **copy.deepcopy(SCENARIOS[name]), "name": name}
    topology = copy.deepcopy(TOPOLOGIES[scenario["topology"]])
    scenario["topology_data"] = topology
    sides: dict[str, Any] = {}
    for side in SIDES:
        own = scenario[side]
        conn = base_connection(side, topology, scenario["auth"])
        conn = config.merge(conn, _substitute(scenario["conn"], side))
        conn = config.merge(conn, {"children.net." + k: v for k, v in _substitute(scenario["child"], side).items()})
        conn = config.merge(conn, _substitute(own.get("conn", {}), side))
        conn = config.merge(conn, {"children.net." + k: v for k, v in _substitute(own.get("child", {}), side).items()})
        secrets: dict[str, Any] = {}
        secret = own.get("secret", PSK)
        if scenario["auth"] == "psk":
            secrets["ike-lab"] = {"id-moon": IDENTITY["moon"], "id-sun": IDENTITY["sun"], "secret": secret}
        charon = config.merge(scenario["charon"], own.get("charon", {}))
        sides[side] = {
            "swanctl": {"connections": {"lab": conn}, "secrets": secrets},
            "charon": charon,
            "secret": secret if scenario["auth"] == "psk" else None,
        }
    scenario["sides"] = sides
    expect = {**ESTABLISHED, **scenario.get("expect", {})}
    if not expect["child"]:
        scenario["pings"] = 0
    scenario["expect"] = expect
    return scenario


def strongswan_conf(side_settings: dict[str, Any], run_dir: str, log_path: str) -> dict[str, Any]:
    """strongswan.conf of one side, as a dict: charon for the daemon, swanctl/pki for the tools."""
    charon = {
        "load": " ".join(CHARON_PLUGINS),  # a space-separated list, unlike swanctl.conf lists
        "plugins": {
            "vici": {"socket": f"unix://{run_dir}/charon.vici"},
            # installing the tunnel's route on ipsec0 is an address/route change; with roam events on,
            # MOBIKE sometimes answers it with an extra INFORMATIONAL (NO_ADDITIONAL_ADDRESSES) exchange
            "kernel-netlink": {"roam_events": False},
        },
        "filelog": {
            "lab": {
                "path": log_path,
                "time_format": "%b %e %T",
                "time_add_ms": True,
                "ike_name": True,
                "append": False,
                "flush_line": True,
                **LOG_LEVELS,
            }
        },
        # no syslog/stderr loggers: the file log is the record
    }
    charon = config.merge(charon, side_settings["charon"])
    return {
        "charon": charon,
        "swanctl": {"load": " ".join(TOOL_PLUGINS)},
        "pki": {"load": " ".join(TOOL_PLUGINS)},
    }
