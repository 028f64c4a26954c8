"""The mixed lab's scenarios (``lab/peers.py``), as data: which implementation runs on each side, its
configuration, the script of steps, and what must happen.

A side is built by one of ``charon()``, ``pluto()``, ``vpnc()``, ``ike_scan()``; each returns the side's
settings plus a ``summary`` for the label. ``expect`` holds ``outcome`` (``established``: every side in
``tunnel_sides`` holds the tunnel at the end; ``torn_down``: it did during the run, not at the end;
``failed``: never; ``probe`` for a scan), ``code`` (SPEC section 5), ``phase``, ``alternatives``, ``esp``,
``log`` (per side, regexes that must match a log message: pluto's messages without its debug lines),
``wire`` (as in lab/scenarios.py: ``exchanges``, ``notifies``, ``inner_notifies``, ``inner_payloads``,
``repeats``, ``min_ikev2_fragments``, ``min_initiator_spis``, ``tcp_messages``: IKE messages carried in
RFC 8229 TCP streams) and ``undecryptable_frames_from`` (addresses
whose encrypted messages the key table cannot open: a libreswan side of an IKEv1 PSK mismatch).

Addresses: the ``direct`` topology of lab/scenarios.py (moon 192.0.2.1, sun 192.0.2.2, captured on moon).
"""

from __future__ import annotations

import copy
from typing import Any

from . import config, scenarios

SOFTWARE = {
    "charon": "strongSwan (charon, swanctl; Debian 12 strongswan-charon)",
    "pluto": "libreswan (pluto, whack; Debian 12 libreswan, unpacked by `make libreswan`)",
    "vpnc": "vpnc (Cisco-style IKEv1 client; Debian 12 vpnc)",
    "ike-scan": "ike-scan (IKE probe tool; Debian 12 ike-scan)",
}
KERNEL_NOTE = ("this kernel has XFRM but no ESP (CONFIG_INET_ESP unset): strongSwan does ESP in userspace "
               "(kernel-libipsec, UDP-encapsulated, faked NAT-D), vpnc in userspace over TUN; pluto cannot install "
               "an IPsec SA (netlink: 'Requested type not found'), so a libreswan CHILD_SA fails after its "
               "negotiation succeeded")
ESPINTCP_NOTE = ("lab/espintcp.c preloaded into pluto (LD_PRELOAD): a user-space stand-in for the kernel's "
                 "espintcp framing, which this kernel lacks; it adds the 2-octet RFC 8229 length field to each "
                 "record pluto writes on its TCP socket and removes it from each record pluto reads, nothing else")
PSK = scenarios.PSK
ADDRESS = scenarios.TOPOLOGIES["direct"]["address"]
INNER = {side: scenarios.INNER[side]["address"] for side in scenarios.SIDES}
SUBNET = {side: scenarios.INNER[side]["subnet"] for side in scenarios.SIDES}
FAST = scenarios.FAST_GIVE_UP


def charon(side: str, version: int = 2, conn: dict[str, Any] | None = None, child: dict[str, Any] | None = None,
           secret: str | None = PSK, charon_settings: dict[str, Any] | None = None, secrets: dict[str, Any] | None = None,
           plugins: list[str] | None = None, auth: str = "psk", role: str | None = None) -> dict[str, Any]:
    """A strongSwan side: the lab's baseline connection ``lab`` (lab/scenarios.py) with overrides."""
    base = scenarios.base_connection(side, scenarios.TOPOLOGIES["direct"], auth)
    base["version"] = version
    conn_settings = config.merge(base, conn or {})
    conn_settings = config.merge(conn_settings, {"children.net." + k: v for k, v in (child or {}).items()})
    all_secrets: dict[str, Any] = {}
    if secret is not None:
        all_secrets["ike-lab"] = {"id-moon": scenarios.IDENTITY["moon"], "id-sun": scenarios.IDENTITY["sun"],
                                  "secret": secret}
    all_secrets.update(secrets or {})
    swanctl = {"connections": {"lab": conn_settings}, "secrets": all_secrets}
    return {"impl": "charon", "role": role, "swanctl": swanctl, "charon": charon_settings or {},
            "plugins": plugins or [],
            "summary": {"swanctl.conf": config.render(swanctl), "strongswan.conf charon": charon_settings or {},
                        "secret": secret}}


def pluto(side: str, version: int = 2, conn: dict[str, Any] | None = None, secret: str = PSK,
          setup: dict[str, Any] | None = None, role: str | None = None, espintcp: bool = False) -> dict[str, Any]:
    """A libreswan side: connection ``lab`` mirroring the strongSwan baseline (same ids, subnets, algorithms).

    ``espintcp``: pluto runs with lab/espintcp.c preloaded, the user-space stand-in for the kernel's espintcp
    framing this kernel lacks (IKE over TCP, RFC 8229)."""
    other = scenarios.OTHER[side]
    base = {
        "ikev2": "insist" if version == 2 else "no",
        "authby": "secret",
        "left": ADDRESS[side], "leftid": "@" + scenarios.IDENTITY[side], "leftsubnet": SUBNET[side],
        "right": ADDRESS[other], "rightid": "@" + scenarios.IDENTITY[other], "rightsubnet": SUBNET[other],
        "ike": "aes128-sha2_256-modp2048" if version == 2 else "aes128-sha2_256;modp2048",
        "esp": "aes128-sha2_256",
        "auto": "add",
        # failures end in seconds, as in the strongSwan scenarios
        "retransmit-interval": "1000", "retransmit-timeout": "8s", "keyingtries": "1",
    }
    settings = {**base, **(conn or {})}
    secrets = [{"ids": f"@{scenarios.IDENTITY[side]} @{scenarios.IDENTITY[other]}", "type": "PSK",
                "secret": secret}]
    # plutodebug 'none': pluto's own messages only (its debug output runs to 200 kB per second of negotiation)
    setup_settings = {"plutodebug": "none", **({"ikev1-policy": "accept"} if version == 1 else {}), **(setup or {})}
    conf = {"setup": setup_settings, "conn": settings}
    summary: dict[str, Any] = {"ipsec.conf": conf, "secret": secret}
    if espintcp:
        summary["espintcp"] = ESPINTCP_NOTE
    return {"impl": "pluto", "role": role, **conf, "secrets": secrets, "espintcp": espintcp, "summary": summary}


def vpnc(conf: dict[str, str], args: list[str] | None = None) -> dict[str, Any]:
    return {"impl": "vpnc", "role": "initiator", "conf": conf, "args": args or [],
            "summary": {"vpnc.conf": conf}}


def ike_scan(args: list[str]) -> dict[str, Any]:
    return {"impl": "ike-scan", "role": "prober", "args": args, "summary": {"arguments": args}}


START = [{"start": "sun"}, {"start": "moon"}]


def healthy(initiator: str = "moon", pings: int = 3, sides: tuple[str, ...] = ("moon", "sun")) -> list[dict[str, Any]]:
    return [*START, {"initiate": initiator}, {"established": list(sides)}, {"pings": pings}]


def failing(initiator: str = "moon", side: str = "moon", pattern: str = r"", timeout: float = 20,
            linger: float = 1.0) -> list[dict[str, Any]]:
    return [*START, {"initiate": initiator}, {"wait_log": [side, pattern, timeout]}, {"sleep": linger}]


SCENARIOS: dict[str, dict[str, Any]] = {}

DEFAULTS: dict[str, Any] = {"topology": "direct", "inner": INNER, "lo_sides": ["moon", "sun"], "tunnel_sides": ["moon", "sun"],
                            "initiator": "moon", "responder": "sun", "notes": []}


def resolve(name: str) -> dict[str, Any]:
    if name not in SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}")
    scenario = {**copy.deepcopy(DEFAULTS), **copy.deepcopy(SCENARIOS[name]), "name": name}
    scenario["topology_data"] = copy.deepcopy(scenarios.TOPOLOGIES[scenario["topology"]])
    scenario["sides"] = {side: scenario.pop(side) for side in scenarios.SIDES if side in scenario}
    return scenario



def after_auth(side: str, timeout: float = 15) -> list[dict[str, Any]]:
    """Start both, moon initiates, wait for the IKE_AUTH outcome line of ``side``."""
    return failing("moon", side, r"IKE_AUTH|AUTHENTICATION_FAILED|established|TS_UNACCEPTABLE|NO_PROPOSAL", timeout)




NO_ESP = ("pluto cannot install the IPsec SA in this kernel (no ESP): 'netlink response for Add SA esp...: "
          "Protocol not supported'")
AUTH_LINE = r"IKE_AUTH|AUTHENTICATION_FAILED|established|TS_UNACCEPTABLE|NO_PROPOSAL"
REVIVES = ("libreswan revives a failed connection it initiated (auto=add + whack --initiate, keyingtries=1): "
           "a second IKE SA from scratch follows the first within milliseconds")

SCENARIOS.update({
    # --- libreswan responds to strongSwan ---
    "libreswan-resp-ikev2-no-kernel-esp": {
        "description": "IKEv2 PSK, strongSwan (moon) initiates, libreswan (sun) responds; configurations agree, the "
                       "IKE SA comes up, but sun's kernel cannot hold an ESP SA: pluto answers IKE_AUTH with "
                       "N(TS_UNACCEPTABLE) (190 octets, the size of a real TS mismatch) and moon keeps a childless IKE SA",
        "moon": charon("moon", 2, charon_settings=FAST, role="initiator"),
        "sun": pluto("sun", 2, role="responder"),
        "steps": failing("moon", "moon", r"failed to establish CHILD_SA", 10),
        "notes": [NO_ESP],
        "expect": {"outcome": "failed", "code": "NegotiationFailed", "phase": 2, "esp": False,
                   "alternatives": ["TrafficSelectorMismatch"],
                   "log": {"sun": [r"responder established IKE SA; authenticated peer using authby=secret",
                                   r"netlink response for Add SA esp\.\S+: Protocol not supported"],
                           "moon": [r"parsed IKE_AUTH response 1 \[ IDr AUTH N\(TS_UNACCEPT\) \]",
                                    r"failed to establish CHILD_SA, keeping IKE_SA"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2},
                            "inner_notifies": {"TS_UNACCEPTABLE": 1}}},
    },
    "libreswan-resp-ikev2-psk-mismatch": {
        "description": "IKEv2, strongSwan (moon) initiates to libreswan (sun), which holds another PSK: pluto answers "
                       "IKE_AUTH with an encrypted N(AUTHENTICATION_FAILED) alone (126 octets; strongSwan's is 80)",
        "moon": charon("moon", 2, charon_settings=FAST, role="initiator"),
        "sun": pluto("sun", 2, secret="not-the-same-key", role="responder"),
        "steps": failing("moon", "moon", r"received AUTHENTICATION_FAILED notify error", 10),
        "expect": {"outcome": "failed", "code": "PskMismatch", "phase": 1, "esp": False,
                   "alternatives": ["PeerIdMismatch"],
                   "log": {"sun": [r"authentication failed: computed hash does not match hash received from peer",
                                   r"responding to IKE_AUTH message .* with encrypted notification AUTHENTICATION_FAILED"],
                           "moon": [r"received AUTHENTICATION_FAILED notify error"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2},
                            "inner_notifies": {"AUTHENTICATION_FAILED": 1}}},
    },
    "libreswan-resp-ikev2-proposal-mismatch": {
        "description": "IKEv2, strongSwan (moon) offers only AES-256/SHA2-384/ECP-384, libreswan (sun) accepts "
                       "AES-128/SHA2-256/MODP-2048: a 78-octet IKE_SA_INIT answer N(NO_PROPOSAL_CHOSEN)",
        "moon": charon("moon", 2, conn={"proposals": "aes256-sha384-ecp384"}, charon_settings=FAST, role="initiator"),
        "sun": pluto("sun", 2, role="responder"),
        "steps": failing("moon", "moon", r"received NO_PROPOSAL_CHOSEN notify error", 10),
        "expect": {"outcome": "failed", "code": "ProposalMismatch", "phase": 1, "esp": False,
                   "alternatives": ["EncryptionAlgorithmMismatch", "AuthenticationAlgorithmMismatch",
                                    "DhGroupMismatch"],
                   "log": {"sun": [r"no local proposal matches remote proposals 1:IKE:ENCR=AES_CBC_256;INTEG=HMAC_SHA2_384_192",
                                   r"with unencrypted notification NO_PROPOSAL_CHOSEN"],
                           "moon": [r"received NO_PROPOSAL_CHOSEN notify error"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2}, "notifies": {"NO_PROPOSAL_CHOSEN": 1}}},
    },
    "libreswan-resp-ikev2-esp-mismatch": {
        "description": "IKEv2, only the ESP cipher differs: strongSwan (moon) offers AES-256, libreswan (sun) accepts "
                       "AES-128; the IKE SA comes up, IKE_AUTH's answer carries N(NO_PROPOSAL_CHOSEN) (190 octets)",
        "moon": charon("moon", 2, child={"esp_proposals": "aes256-sha256"}, charon_settings=FAST, role="initiator"),
        "sun": pluto("sun", 2, role="responder"),
        "steps": failing("moon", "moon", r"failed to establish CHILD_SA", 10),
        "expect": {"outcome": "failed", "code": "EncryptionAlgorithmMismatch", "phase": 2, "esp": False,
                   "log": {"sun": [r"no local proposal matches remote proposals 1:ESP:ENCR=AES_CBC_256",
                                   r"responder SA processing returned NO_PROPOSAL_CHOSEN"],
                           "moon": [r"received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2},
                            "inner_notifies": {"NO_PROPOSAL_CHOSEN": 1}}},
    },
    "libreswan-resp-ikev2-ts-mismatch": {
        "description": "IKEv2, strongSwan (moon) asks for 192.0.2.128/28 <-> 192.0.2.160/28, libreswan (sun) has "
                       "192.0.2.144/28: N(TS_UNACCEPTABLE) in IKE_AUTH's answer, childless IKE SA",
        "moon": charon("moon", 2, child={"remote_ts": "192.0.2.160/28"}, charon_settings=FAST, role="initiator"),
        "sun": pluto("sun", 2, role="responder"),
        "steps": failing("moon", "moon", r"failed to establish CHILD_SA", 10),
        "expect": {"outcome": "failed", "code": "TrafficSelectorMismatch", "phase": 2, "esp": False,
                   "log": {"sun": [r"No IKEv2 connection found with compatible Traffic Selectors"],
                           "moon": [r"received TS_UNACCEPTABLE notify, no CHILD_SA built"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2},
                            "inner_notifies": {"TS_UNACCEPTABLE": 1}}},
    },
    "libreswan-resp-ikev1-main-no-kernel-esp": {
        "description": "IKEv1 main mode PSK, strongSwan (moon) initiates with PFS (MODP-2048 in quick mode), libreswan "
                       "(sun) responds: main mode completes, quick mode is accepted but pluto cannot install the SA",
        "moon": charon("moon", 1, child={"esp_proposals": "aes128-sha256-modp2048"}, charon_settings=FAST,
                       role="initiator"),
        "sun": pluto("sun", 1, role="responder"),
        "steps": failing("moon", "sun", r"Protocol not supported", 10, linger=5.0),
        "notes": [NO_ESP],
        "expect": {"outcome": "failed", "code": "NegotiationFailed", "phase": 2, "esp": False,
                   "log": {"sun": [r"IKE SA established \{auth=PRESHARED_KEY",
                                   r"netlink response for Add SA esp\.\S+: Protocol not supported"]},
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": 6, "QUICK_MODE": ">=1"}}},
    },
    "libreswan-resp-ikev1-pfs-mismatch": {
        "description": "IKEv1 main mode PSK, strongSwan (moon) initiates quick mode without PFS (esp_proposals "
                       "aes128-sha256), libreswan (sun) requires PFS (its default pfs=yes): main mode completes, "
                       "quick mode is refused with an encrypted N(NO_PROPOSAL_CHOSEN)",
        "moon": charon("moon", 1, charon_settings=FAST, role="initiator"),
        "sun": pluto("sun", 1, role="responder"),
        "steps": failing("moon", "moon", r"received NO_PROPOSAL_CHOSEN error notify", 10),
        "expect": {"outcome": "failed", "code": "PfsMismatch", "phase": 2, "esp": False,
                   "alternatives": ["ProposalMismatch"],
                   "log": {"sun": [r"we require PFS but Quick I1 SA specifies no GROUP_DESCRIPTION",
                                   r"sending encrypted notification NO_PROPOSAL_CHOSEN"],
                           "moon": [r"received NO_PROPOSAL_CHOSEN error notify"]},
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": 6, "QUICK_MODE": 1, "INFORMATIONAL": 1},
                            "inner_notifies": {"NO_PROPOSAL_CHOSEN": 1}}},
    },
    "libreswan-resp-ikev1-main-psk-mismatch": {
        "description": "IKEv1 main mode, strongSwan (moon) initiates to libreswan (sun), which holds another PSK: "
                       "pluto cannot parse message 5 and answers each copy by retransmitting its message 4 (no "
                       "notify, unlike strongSwan's PAYLOAD_MALFORMED); moon gives up",
        "moon": charon("moon", 1, charon_settings=FAST, role="initiator"),
        "sun": pluto("sun", 1, secret="not-the-same-key", role="responder"),
        "steps": failing("moon", "moon", r"giving up after \d+ retransmits", 15),
        "expect": {"outcome": "failed", "code": "PskMismatch", "phase": 1, "esp": False,
                   "log": {"sun": [r"probable authentication failure \(mismatch of preshared secrets\?\)"],
                           "moon": [r"giving up after 3 retransmits"]},
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": ">=9"}, "repeats": ">=5"}},
    },
    "libreswan-resp-ikev1-main-proposal-mismatch": {
        "description": "IKEv1 main mode, strongSwan (moon) offers only AES-256/SHA2-384/MODP-3072, libreswan (sun) "
                       "accepts AES-128/SHA2-256/MODP-2048: an unencrypted 82-octet INFORMATIONAL NO_PROPOSAL_CHOSEN",
        "moon": charon("moon", 1, conn={"proposals": "aes256-sha384-modp3072"}, charon_settings=FAST,
                       role="initiator"),
        "sun": pluto("sun", 1, role="responder"),
        "steps": failing("moon", "moon", r"received NO_PROPOSAL_CHOSEN error notify", 10),
        "expect": {"outcome": "failed", "code": "ProposalMismatch", "phase": 1, "esp": False,
                   "alternatives": ["EncryptionAlgorithmMismatch", "AuthenticationAlgorithmMismatch",
                                    "DhGroupMismatch"],
                   "log": {"sun": [r"Oakley Transform \[AES_CBC \(256\), HMAC_SHA2_384, MODP3072\] refused",
                                   r"no acceptable Oakley Transform"],
                           "moon": [r"received NO_PROPOSAL_CHOSEN error notify"]},
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": 1, "INFORMATIONAL": 1},
                            "notifies": {"NO_PROPOSAL_CHOSEN": 1}}},
    },
    # --- libreswan initiates to strongSwan ---
    "libreswan-init-ikev2-no-kernel-esp": {
        "description": "IKEv2 PSK, libreswan (moon) initiates, strongSwan (sun) responds and installs its CHILD_SA; "
                       "pluto cannot install its own (no ESP in the kernel), drops the IKE SA without a Delete and "
                       "revives the connection: a second IKE SA from scratch that ends the same way",
        "moon": pluto("moon", 2, role="initiator"),
        "sun": charon("sun", 2, charon_settings=FAST, role="responder"),
        "steps": failing("moon", "sun", r"CHILD_SA net\{2\} established", 10),
        "notes": [NO_ESP, REVIVES],
        "expect": {"outcome": "failed", "code": "NegotiationFailed", "phase": 2, "esp": False,
                   "log": {"moon": [r"initiator established IKE SA; authenticated peer using authby=secret",
                                    r"netlink response for Add SA esp\.\S+: Protocol not supported",
                                    r"deleting state \(STATE_V2_ESTABLISHED_IKE_SA\) .* NOT sending notification"],
                           "sun": [r"CHILD_SA net\{1\} established", r"CHILD_SA net\{2\} established"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 4, "IKE_AUTH": 4}, "min_initiator_spis": 2}},
    },
    "libreswan-init-ikev2-psk-mismatch": {
        "description": "IKEv2, libreswan (moon) initiates to strongSwan (sun), which holds another PSK: 80-octet "
                       "N(AUTHENTICATION_FAILED); pluto revives the connection and is refused again",
        "moon": pluto("moon", 2, role="initiator"),
        "sun": charon("sun", 2, secret="not-the-same-key", charon_settings=FAST, role="responder"),
        "steps": failing("moon", "moon", r"#3: IKE SA authentication request rejected by peer", 10),
        "notes": [REVIVES],
        "expect": {"outcome": "failed", "code": "PskMismatch", "phase": 1, "esp": False,
                   "alternatives": ["PeerIdMismatch"],
                   "log": {"sun": [r"tried 1 shared key for 'sun\.example' - 'moon\.example', but MAC mismatched"],
                           "moon": [r"IKE SA authentication request rejected by peer: AUTHENTICATION_FAILED"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": ">=4", "IKE_AUTH": ">=4"},
                            "inner_notifies": {"AUTHENTICATION_FAILED": ">=2"}}},
    },
    "libreswan-init-ikev2-proposal-mismatch": {
        "description": "IKEv2, libreswan (moon) offers only AES-256/SHA2-384/ECP-384, strongSwan (sun) accepts "
                       "AES-128/SHA2-256/MODP-2048: pluto ignores the unauthenticated NO_PROPOSAL_CHOSEN and "
                       "retransmits IKE_SA_INIT until its 8 s timeout; each copy draws the same refusal",
        "moon": pluto("moon", 2, conn={"ike": "aes256-sha2_384-dh20"}, role="initiator"),
        "sun": charon("sun", 2, charon_settings=FAST, role="responder"),
        "steps": failing("moon", "moon", r"deleting state \(STATE_V2_PARENT_I1\)", 15),
        "expect": {"outcome": "failed", "code": "ProposalMismatch", "phase": 1, "esp": False,
                   "alternatives": ["EncryptionAlgorithmMismatch", "AuthenticationAlgorithmMismatch",
                                    "DhGroupMismatch"],
                   "log": {"sun": [r"no acceptable ENCRYPTION_ALGORITHM found", r"received proposals unacceptable"],
                           "moon": [r"dropping unexpected IKE_SA_INIT message containing NO_PROPOSAL_CHOSEN"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": ">=6"}, "notifies": {"NO_PROPOSAL_CHOSEN": ">=3"}}},
    },
    "libreswan-init-ikev2-ts-mismatch": {
        "description": "IKEv2, libreswan (moon) asks for 192.0.2.128/28 <-> 192.0.2.160/28, strongSwan (sun) has "
                       "192.0.2.144/28: N(TS_UNACCEPTABLE) in IKE_AUTH's answer, childless IKE SA",
        "moon": pluto("moon", 2, conn={"rightsubnet": "192.0.2.160/28"}, role="initiator"),
        "sun": charon("sun", 2, charon_settings=FAST, role="responder"),
        "steps": failing("moon", "moon", r"IKE_AUTH response rejected Child SA with TS_UNACCEPTABLE", 10),
        "expect": {"outcome": "failed", "code": "TrafficSelectorMismatch", "phase": 2, "esp": False,
                   "log": {"sun": [r"traffic selectors 192\.0\.2\.160/28 === 192\.0\.2\.128/28 unacceptable"],
                           "moon": [r"IKE_AUTH response rejected Child SA with TS_UNACCEPTABLE"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2},
                            "inner_notifies": {"TS_UNACCEPTABLE": 1}}},
    },
    "libreswan-init-ikev1-pfs-mismatch": {
        "description": "IKEv1 main mode PSK, libreswan (moon) initiates quick mode with PFS (its default), strongSwan "
                       "(sun) has no DH group in its ESP proposal: encrypted N(NO_PROPOSAL_CHOSEN); pluto keeps "
                       "retransmitting quick mode",
        "moon": pluto("moon", 1, role="initiator"),
        "sun": charon("sun", 1, charon_settings=FAST, role="responder"),
        "steps": failing("moon", "sun", r"no matching proposal found, sending NO_PROPOSAL_CHOSEN", 10, linger=2.5),
        "expect": {"outcome": "failed", "code": "PfsMismatch", "phase": 2, "esp": False,
                   "alternatives": ["ProposalMismatch"],
                   "log": {"sun": [r"no acceptable KEY_EXCHANGE_METHOD found",
                                   r"no matching proposal found, sending NO_PROPOSAL_CHOSEN"]},
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": 6, "QUICK_MODE": ">=2", "INFORMATIONAL": 1},
                            "inner_notifies": {"NO_PROPOSAL_CHOSEN": 1}}},
    },
    # --- libreswan on both sides (no strongSwan log: no key table) ---
    "libreswan-pair-ikev2-no-kernel-esp": {
        "description": "IKEv2 PSK between two libreswan peers: the IKE SA comes up, the responder cannot install "
                       "the ESP SA and answers N(TS_UNACCEPTABLE) (186 octets)",
        "moon": pluto("moon", 2, role="initiator"),
        "sun": pluto("sun", 2, role="responder"),
        "steps": failing("moon", "moon", r"IKE_AUTH response rejected Child SA with TS_UNACCEPTABLE", 10),
        "notes": [NO_ESP],
        "expect": {"outcome": "failed", "code": "NegotiationFailed", "phase": 2, "esp": False,
                   "alternatives": ["TrafficSelectorMismatch"],
                   "log": {"sun": [r"netlink response for Add SA esp\.\S+: Protocol not supported"],
                           "moon": [r"IKE_AUTH response rejected Child SA with TS_UNACCEPTABLE"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2}}},
    },
    "libreswan-pair-ikev2-psk-mismatch": {
        "description": "IKEv2 between two libreswan peers, sun holds another PSK: 122-octet encrypted "
                       "AUTHENTICATION_FAILED; moon revives and is refused again",
        "moon": pluto("moon", 2, role="initiator"),
        "sun": pluto("sun", 2, secret="not-the-same-key", role="responder"),
        "steps": failing("moon", "moon", r"#3: IKE SA authentication request rejected by peer", 10),
        "notes": [REVIVES],
        "expect": {"outcome": "failed", "code": "PskMismatch", "phase": 1, "esp": False,
                   "alternatives": ["PeerIdMismatch"],
                   "log": {"sun": [r"authentication failed: computed hash does not match hash received from peer"],
                           "moon": [r"IKE SA authentication request rejected by peer: AUTHENTICATION_FAILED"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": ">=4", "IKE_AUTH": ">=4"}}},
    },
    "libreswan-pair-ikev1-main-psk-mismatch": {
        "description": "IKEv1 main mode between two libreswan peers, sun holds another PSK",
        "moon": pluto("moon", 1, role="initiator"),
        "sun": pluto("sun", 1, secret="not-the-same-key", role="responder"),
        "steps": failing("moon", "sun", r"probable authentication failure", 10, linger=3.0),
        "expect": {"outcome": "failed", "code": "PskMismatch", "phase": 1, "esp": False,
                   "log": {"sun": [r"probable authentication failure \(mismatch of preshared secrets\?\)"]},
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": ">=5"}}},
    },
})


# --- IKEv1 XAUTH: vpnc (Cisco-style client) and strongSwan against a strongSwan XAUTH gateway ---
GROUP = "keyid:labgroup"  # the Cisco "group name": an ID_KEY_ID with the group PSK
VIRTUAL_IP = "192.0.2.130"  # sun's mode-config pool (moon's inner address in these scenarios)
XAUTH_USER = "alice"
XAUTH_PASSWORD = "lab-xauth-password-1"  # lab-only
XAUTH_PLUGINS = ["xauth-generic", "attr"]
V1_PROPOSALS = "aes256-sha1-modp1024,aes128-sha1-modp1024,3des-sha1-modp1024"


def xauth_gateway(password: str = XAUTH_PASSWORD, aggressive: bool = True, remote_id: str = GROUP) -> dict[str, Any]:
    """sun: strongSwan as an IKEv1 gateway with a group PSK, XAUTH (xauth-generic) and a mode-config pool."""
    conn = {"version": 1, "aggressive": aggressive, "remote_addrs": "%any", "pools": "vpnpool",
            "proposals": V1_PROPOSALS, "local": {"auth": "psk", "id": scenarios.IDENTITY["sun"]},
            "remote": {"auth": "psk", "id": remote_id}, "remote-xauth": {"auth": "xauth", "xauth_id": XAUTH_USER},
            "children.net.remote_ts": "dynamic", "children.net.esp_proposals": "aes256-sha1,aes128-sha1,3des-sha1",
            "rekey_time": "0", "dpd_delay": "0"}
    side = charon("sun", 1, conn=conn, secret=None, plugins=XAUTH_PLUGINS, role="responder",
                  charon_settings={"i_dont_care_about_security_and_use_aggressive_mode_psk": True, **FAST},
                  secrets={"ike-group": {"id": remote_id, "secret": PSK},
                           "xauth-alice": {"id": XAUTH_USER, "secret": password}})
    side["swanctl"]["pools"] = {"vpnpool": {"addrs": VIRTUAL_IP + "/32"}}
    side["summary"]["swanctl.conf"] = config.render(side["swanctl"])
    return side


def vpnc_client(password: str = XAUTH_PASSWORD, group: str = "dh2", args: list[str] | None = None) -> dict[str, Any]:
    return vpnc({"IPSec gateway": ADDRESS["sun"], "IPSec ID": "labgroup", "IPSec secret": PSK,
                 "Xauth username": XAUTH_USER, "Xauth password": password, "IKE DH Group": group,
                 "Perfect Forward Secrecy": "nopfs", "Local Port": "500", "Interface mode": "tun",
                 "Interface name": "tun0", "Debug": "1"}, args)


VPNC_LAN = {"moon": VIRTUAL_IP, "sun": INNER["sun"]}

SCENARIOS.update({
    "vpnc-xauth": {
        "description": "vpnc (moon, Cisco-style client) against a strongSwan IKEv1 gateway (sun): aggressive mode with "
                       "the group PSK (ID_KEY_ID 'labgroup'), XAUTH user/password accepted in a TRANSACTION exchange, "
                       "mode config hands out 192.0.2.130, quick mode; pings cross vpnc's userspace ESP in UDP 4500",
        "moon": vpnc_client(), "sun": xauth_gateway(),
        "inner": VPNC_LAN, "lo_sides": ["sun"], "initiator": "moon", "responder": "sun",
        "steps": [{"start": "sun"}, {"initiate": "moon"}, {"established": ["moon", "sun"]}, {"pings": 3}],
        "expect": {"outcome": "established", "code": "Established", "esp": True,
                   "log": {"sun": [r"XAuth authentication of 'alice' successful",
                                   r"assigning virtual IP 192\.0\.2\.130 to peer"],
                           "moon": [r"IKE SA selected psk\+xauth", r"^vpnc-script: connect tun0 192\.0\.2\.130"]},
                   "wire": {"exchanges": {"AGGRESSIVE": 3, "TRANSACTION": ">=4", "QUICK_MODE": 3}}},
    },
    "vpnc-xauth-refused": {
        "description": "vpnc (moon) against a strongSwan IKEv1 gateway (sun) that holds another XAUTH password for "
                       "'alice': aggressive mode succeeds, the XAUTH TRANSACTION ends with XAUTH_STATUS fail, sun "
                       "destroys the IKE SA without a Delete; no mode config, no quick mode",
        "moon": vpnc_client("not-the-password"), "sun": xauth_gateway(),
        "inner": VPNC_LAN, "lo_sides": ["sun"],
        "steps": [{"start": "sun"}, {"initiate": "moon"},
                  {"wait_log": ["sun", r"XAuth authentication of 'alice' failed", 15]}, {"sleep": 2.0}],
        "expect": {"outcome": "failed", "code": "XauthFailure", "phase": 1, "esp": False,
                   "log": {"sun": [r"XAuth authentication of 'alice' failed",
                                   r"generating TRANSACTION request \d+ \[ HASH CPS\(X_STATUS\) \]",
                                   r"destroying IKE_SA after failed XAuth authentication"],
                           "moon": [r"vpnc: authentication unsuccessful"]},
                   "wire": {"exchanges": {"AGGRESSIVE": 3, "TRANSACTION": 4, "QUICK_MODE": 0, "INFORMATIONAL": 0}}},
    },
})


def xauth_client(password: str = XAUTH_PASSWORD) -> dict[str, Any]:
    """moon: strongSwan as an IKEv1 main mode PSK + XAUTH client asking for a virtual IP."""
    conn = {"proposals": "aes256-sha1-modp1024", "vips": "0.0.0.0", "children.net.local_ts": "dynamic",
            "children.net.esp_proposals": "aes256-sha1", "local-xauth": {"auth": "xauth", "xauth_id": XAUTH_USER}}
    return charon("moon", 1, conn=conn, plugins=XAUTH_PLUGINS, charon_settings=FAST, role="initiator",
                  secrets={"xauth-alice": {"id": XAUTH_USER, "secret": password}})


EAP_USER = "alice"
EAP_PASSWORD = "lab-eap-password-1"  # lab-only
EAP_PLUGINS = ["eap-mschapv2", "eap-identity"]


def eap_client(password: str = EAP_PASSWORD) -> dict[str, Any]:
    conn = {"local": {"auth": "eap-mschapv2", "id": scenarios.IDENTITY["moon"], "eap_id": EAP_USER},
            "remote": {"auth": "pubkey", "id": scenarios.IDENTITY["sun"]}}
    return charon("moon", 2, conn=conn, secret=None, plugins=EAP_PLUGINS, role="initiator",
                  charon_settings={"fragment_size": 1500, **FAST},
                  secrets={"eap-alice": {"id": EAP_USER, "secret": password}})


def eap_server(password: str = EAP_PASSWORD) -> dict[str, Any]:
    conn = {"local": {"auth": "pubkey", "id": scenarios.IDENTITY["sun"], "certs": "sun.crt"},
            "remote": {"auth": "eap-mschapv2", "id": "%any", "eap_id": "%any"}}
    return charon("sun", 2, conn=conn, secret=None, plugins=EAP_PLUGINS, role="responder",
                  charon_settings={"fragment_size": 1500, **FAST},
                  secrets={"eap-alice": {"id": EAP_USER, "secret": password}})


XAUTH_LAN = {"moon": VIRTUAL_IP, "sun": INNER["sun"]}

SCENARIOS.update({
    "strongswan-xauth": {
        "description": "IKEv1 main mode PSK + XAUTH between strongSwan peers: after main mode sun asks for the "
                       "XAUTH user/password (TRANSACTION), accepts it (XAUTH_STATUS ok), mode config gives moon "
                       "192.0.2.130, quick mode; pings cross the tunnel",
        "moon": xauth_client(), "sun": xauth_gateway(aggressive=False, remote_id=scenarios.IDENTITY["moon"]),
        "inner": XAUTH_LAN, "lo_sides": ["sun"],
        "steps": healthy(),
        "expect": {"outcome": "established", "code": "Established", "esp": True,
                   "log": {"sun": [r"XAuth authentication of 'alice' successful"],
                           "moon": [r"installing new virtual IP 192\.0\.2\.130"]},
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": 6, "TRANSACTION": 6, "QUICK_MODE": 3},
                            "inner_payloads": {"ATTR": 6}}},
    },
    "strongswan-xauth-refused": {
        "description": "IKEv1 main mode PSK + XAUTH between strongSwan peers, moon sends a password sun does not "
                       "hold: main mode completes, the XAUTH TRANSACTION ends with XAUTH_STATUS fail, both destroy "
                       "the IKE SA without a Delete; no quick mode",
        "moon": xauth_client("not-the-password"),
        "sun": xauth_gateway(aggressive=False, remote_id=scenarios.IDENTITY["moon"]),
        "inner": XAUTH_LAN, "lo_sides": ["sun"],
        "steps": failing("moon", "sun", r"XAuth authentication of 'alice' failed", 10),
        "expect": {"outcome": "failed", "code": "XauthFailure", "phase": 1, "esp": False,
                   "log": {"sun": [r"XAuth authentication of 'alice' failed",
                                   r"destroying IKE_SA after failed XAuth authentication"],
                           "moon": [r"XAuth authentication of 'alice' \(myself\) failed",
                                    r"generating TRANSACTION response \d+ \[ HASH CPA\(X_STATUS\) \]"]},
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": 6, "TRANSACTION": 4, "QUICK_MODE": 0},
                            "inner_payloads": {"ATTR": 4}}},
    },
    "strongswan-eap-mschapv2": {
        "description": "IKEv2, sun authenticates with an RSA certificate (lab CA made by pki at run time), moon with "
                       "EAP-MSCHAPv2 (user alice): IKE_AUTH runs four rounds (EAP identity from IDi, challenge, "
                       "response, success, then AUTH from the MSK); pings cross the tunnel",
        "moon": eap_client(), "sun": eap_server(), "certs": {"type": "rsa", "size": 2048, "holders": ["sun"]},
        "steps": healthy(),
        "expect": {"outcome": "established", "code": "Established", "esp": True,
                   "log": {"sun": [r"EAP method EAP_MSCHAPV2 succeeded, MSK established"],
                           "moon": [r"authentication of 'sun\.example' with RSA.* successful",
                                    r"EAP method EAP_MSCHAPV2 succeeded, MSK established"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": ">=6"}, "inner_payloads": {"EAP": ">=4"}}},
    },
    "strongswan-eap-mschapv2-refused": {
        "description": "IKEv2 EAP-MSCHAPv2 (moon) to a certificate-authenticated strongSwan gateway (sun) that holds "
                       "another password for alice: sun's MS-CHAPv2 failure request (E=691, retry allowed) comes 2 s "
                       "late (moon retransmits IKE_AUTH 3 once), then moon gives up and tells sun in an "
                       "INFORMATIONAL N(AUTHENTICATION_FAILED): the refused side sends the failure notify",
        "moon": eap_client("not-the-password"), "sun": eap_server(),
        "certs": {"type": "rsa", "size": 2048, "holders": ["sun"]},
        "steps": failing("moon", "moon", r"EAP_MSCHAPV2 method failed", 10),
        "expect": {"outcome": "failed", "code": "EapFailure", "phase": 1, "esp": False,
                   "log": {"sun": [r"EAP-MS-CHAPv2 verification failed, retry \(1\)",
                                   r"parsed INFORMATIONAL request 4 \[ N\(AUTH_FAILED\) \]"],
                           "moon": [r"authentication of 'sun\.example' with RSA.* successful",
                                    r"EAP-MS-CHAPv2 failed with error ERROR_AUTHENTICATION_FAILURE",
                                    r"EAP_MSCHAPV2 method failed",
                                    r"generating INFORMATIONAL request 4 \[ N\(AUTH_FAILED\) \]"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": ">=6", "INFORMATIONAL": 2},
                            "inner_payloads": {"EAP": ">=5"}, "inner_notifies": {"AUTHENTICATION_FAILED": 1}}},
    },
})


def probed_gateway(aggressive: bool = False) -> dict[str, Any]:
    """sun: a strongSwan IKEv1 responder for anyone (remote %any) with the lab PSK for moon.example."""
    conn = {"version": 1, "aggressive": aggressive, "remote_addrs": "%any", "proposals": V1_PROPOSALS}
    return charon("sun", 1, conn=conn, role="responder", charon_settings={
        "i_dont_care_about_security_and_use_aggressive_mode_psk": True, **FAST})


PROBE = ("the initiator is ike-scan: it sends message 1 of phase 1 and never a second message, whatever the "
         "answer; the responder's answer and its retransmissions are what a scan leaves on the wire")

SCENARIOS.update({
    "ike-scan-main": {
        "description": "ike-scan (moon) probes a strongSwan IKEv1 responder (sun) in main mode with its default "
                       "transforms (3DES/DES x SHA1/MD5, PSK, MODP-1024): sun accepts 3DES-SHA1 and answers message 2 once; "
                       "ike-scan goes no further (strongSwan does not retransmit a main mode message 2)",
        "moon": ike_scan(["--retry=1", "--timeout=1000", ADDRESS["sun"]]), "sun": probed_gateway(),
        "tunnel_sides": [], "lo_sides": [],
        "steps": [{"start": "sun"}, {"initiate": "moon"}, {"sleep": 5.0}],
        "notes": [PROBE],
        "expect": {"outcome": "probe", "code": "NoExceptionFound", "esp": False,
                   "alternatives": ["Phase1NegotiationTimeout"],
                   "log": {"moon": [r"Main Mode Handshake returned"],
                           "sun": [r"parsed ID_PROT request 0 \[ SA( V)* \]",
                                   r"generating ID_PROT response 0 \[ SA V V \]"]},
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": 2}}},
    },
    "ike-scan-aggressive": {
        "description": "ike-scan (moon) probes a strongSwan IKEv1 aggressive-mode responder (sun) with identity "
                       "moon.example (-A --id): sun answers with its KE, nonce, ID and HASH_R, the material an "
                       "offline PSK crack needs (ike-scan --pskcrack); ike-scan never sends message 3 and has exited when sun "
                       "retransmits message 2: each copy draws an ICMP port unreachable",
        "moon": ike_scan(["--aggressive", "--id=moon.example", "--idtype=2", "--retry=1", "--timeout=1000",
                          "--dhgroup=2", ADDRESS["sun"]]),
        "sun": probed_gateway(aggressive=True),
        "tunnel_sides": [], "lo_sides": [],
        "steps": [{"start": "sun"}, {"initiate": "moon"}, {"sleep": 5.0}],
        "notes": [PROBE],
        "expect": {"outcome": "probe", "code": "NoExceptionFound", "esp": False,
                   "alternatives": ["Phase1NegotiationTimeout"],
                   "log": {"moon": [r"Aggressive Mode Handshake returned"],
                           "sun": [r"generating AGGRESSIVE response 0"]},
                   "wire": {"exchanges": {"AGGRESSIVE": ">=3"}, "repeats": ">=2", "icmp": {"3/3": ">=2"}}},
    },
    "ike-scan-refused": {
        "description": "ike-scan (moon) probes a strongSwan IKEv1 responder (sun) in main mode offering only "
                       "DES-MD5 with MODP-768 (--trans=1,1,1,1), which sun refuses: an unencrypted INFORMATIONAL "
                       "N(NO_PROPOSAL_CHOSEN)",
        "moon": ike_scan(["--trans=1,1,1,1", "--retry=1", "--timeout=1000", ADDRESS["sun"]]),
        "sun": probed_gateway(),
        "tunnel_sides": [], "lo_sides": [],
        "steps": [{"start": "sun"}, {"initiate": "moon"}, {"sleep": 1.0}],
        "notes": [PROBE],
        "expect": {"outcome": "probe", "code": "ProposalMismatch", "phase": 1, "esp": False,
                   "alternatives": ["EncryptionAlgorithmMismatch", "DhGroupMismatch"],
                   "log": {"moon": [r"Notify message 14 \(NO-PROPOSAL-CHOSEN\)"],
                           "sun": [r"no acceptable ENCRYPTION_ALGORITHM found|no proposal found"]},
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": 1, "INFORMATIONAL": 1},
                            "notifies": {"NO_PROPOSAL_CHOSEN": 1}}},
    },
})


# --- restarts and rekeys (strongSwan both sides) ---
APPEND_LOG = {"filelog": {"lab": {"append": True}}}  # a restarted charon goes on writing the same log
# CREATE_CHILD_SA of an IKE SA rekey (SA Ni KE, MODP-2048): 432 octets of IKE + non-ESP marker + UDP + IP
IKE_REKEY_DATAGRAM = "464"

SCENARIOS.update({
    "strongswan-peer-restart": {
        "description": "IKEv2 PSK, tunnel up with DPD (moon dpd_delay 2 s, dpd_action restart); sun's charon crashes "
                       "(SIGKILL by PID: no Delete) and is started again 1 s later without any SA; moon's DPD "
                       "requests to the old SPIs go unanswered (3 retransmissions), moon gives up and starts a fresh "
                       "IKE SA from scratch with N(INITIAL_CONTACT); pings cross the new tunnel",
        "moon": charon("moon", 2, conn={"dpd_delay": "2s", "children.net.dpd_action": "restart"},
                       charon_settings=FAST, role="initiator"),
        "sun": charon("sun", 2, charon_settings={**FAST, **APPEND_LOG}, role="responder"),
        "steps": [*healthy(pings=2), {"kill": "sun"}, {"sleep": 1.0}, {"start": "sun"},
                  {"wait_log": ["moon", r"giving up after 3 retransmits", 20]},
                  {"wait_log": ["moon", r"IKE_SA lab\[2\] established", 15]},
                  {"established": ["moon", "sun"]}, {"pings": 2}],
        "keys_from": ["moon"],
        "expect": {"outcome": "established", "code": "PeerRestart", "esp": True,
                   "alternatives": ["DpdTimeout"],
                   "log": {"moon": [r"sending DPD request", r"giving up after 3 retransmits",
                                    r"restarting CHILD_SA net", r"IKE_SA lab\[2\] established"],
                           "sun": [r"received INITIAL_CONTACT|parsed IKE_AUTH request 1 \[ IDi N\(INIT_CONTACT\)"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 4, "IKE_AUTH": 4, "INFORMATIONAL": ">=4"},
                            "min_initiator_spis": 2, "inner_notifies": {"INITIAL_CONTACT": 2}}},
    },
    "strongswan-rekey-lost": {
        "description": "IKEv2 PSK, moon rekeys its IKE SA after 6 s (rekey_time 6 s, over_time 4 s: hard end at 10 s), "
                       "but every CREATE_CHILD_SA of that rekey (464-octet datagram) is dropped on the way to sun "
                       "(iptables length match on sun): moon retransmits 3 times, gives up and destroys the IKE SA "
                       "and its CHILD_SA without a Delete; ESP and the earlier exchanges passed",
        "moon": charon("moon", 2, conn={"rekey_time": "6s", "over_time": "4s", "rand_time": "0s"},
                       charon_settings=FAST, role="initiator"),
        "sun": charon("sun", 2, conn={"rekey_time": "0"}, charon_settings=FAST, role="responder"),
        "iptables": {"sun": [["-A", "INPUT", "-p", "udp", "--dport", "4500", "-m", "length", "--length",
                              IKE_REKEY_DATAGRAM, "-j", "DROP"]]},
        "steps": [*healthy(pings=2), {"wait_log": ["moon", r"giving up after 3 retransmits", 25]}, {"sleep": 1.0}],
        "keys_from": ["moon"],
        "expect": {"outcome": "torn_down", "code": "RekeyFailure", "phase": 1, "esp": True,
                   "alternatives": ["DpdTimeout"],
                   "log": {"moon": [r"initiating IKE_SA lab\[\d\] rekeying|generating CREATE_CHILD_SA request 2 \[ SA No KE \]",
                                    r"retransmit 3 of request with message ID 2",
                                    r"giving up after 3 retransmits"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2, "CREATE_CHILD_SA": 4},
                            "repeats": ">=3", "inner_payloads": {"KE": 4}}},
    },
    "strongswan-rekey-collision-expired": {
        "description": "IKEv2 PSK, both peers rekey the IKE SA after 8 s (rekey_time 8 s, rand_time 0) and the hard "
                       "lifetime is 8 s too (over_time defaults to 10 % of 8 s, which swanctl rounds to 0): the two "
                       "CREATE_CHILD_SA requests cross (a rekey collision, RFC 7296 2.8.2), the redundant SA is "
                       "deleted, but the expiry's IKE_DELETE migrates to the surviving new IKE SA: three Deletes, "
                       "the tunnel is gone",
        "moon": charon("moon", 2, conn={"rekey_time": "8s", "rand_time": "0s"}, charon_settings=FAST, role="initiator"),
        "sun": charon("sun", 2, conn={"rekey_time": "8s", "rand_time": "0s"}, charon_settings=FAST, role="responder"),
        "steps": [*healthy(pings=2), {"wait_log": ["moon", r"detected IKE_REKEY collision", 12]}, {"sleep": 2.0}],
        "attempts": 4,  # whether the two requests cross is a race of a few milliseconds
        "keys_from": ["moon", "sun"],
        "expect": {"outcome": "torn_down", "code": "RekeyFailure", "phase": 1, "esp": True,
                   "alternatives": ["ReceiveDeleteNotify"],
                   "log": {"moon": [r"maximum IKE_SA lifetime 8s", r"detected IKE_REKEY collision with IKE_REKEY",
                                    r"IKE_SA rekey collision (lost|won)", r"migrating IKE_DELETE task",
                                    r"sending DELETE for IKE_SA lab\[3\]|received DELETE for IKE_SA lab\[3\]"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2, "CREATE_CHILD_SA": 4,
                                          "INFORMATIONAL": ">=6"},
                            "inner_payloads": {"D": ">=3", "KE": 4}}},
    },
    "strongswan-rekey-collision": {
        "description": "IKEv2 PSK, both peers rekey the IKE SA after 8 s (rekey_time 8 s, rand_time 0, over_time 30 s "
                       "on both): the CREATE_CHILD_SA requests cross, the collision is resolved by the nonces (RFC "
                       "7296 2.8.2), the redundant SA and the old one are deleted, the tunnel stays up",
        "moon": charon("moon", 2, conn={"rekey_time": "8s", "rand_time": "0s", "over_time": "30s"},
                       charon_settings=FAST, role="initiator"),
        "sun": charon("sun", 2, conn={"rekey_time": "8s", "rand_time": "0s", "over_time": "30s"},
                      charon_settings=FAST, role="responder"),
        "steps": [*healthy(pings=2), {"wait_log": ["moon", r"detected IKE_REKEY collision", 12]},
                  {"sleep": 1.0}, {"established": ["moon", "sun"]}, {"pings": 2}],
        "attempts": 4,
        "keys_from": ["moon", "sun"],
        "expect": {"outcome": "established", "code": "Established", "esp": True, "findings": ["rekey_collision"],
                   "log": {"moon": [r"detected IKE_REKEY collision with IKE_REKEY", r"IKE_SA rekey collision (lost|won)",
                                    r"IKE_SA lab\[\d\] rekeyed between"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2, "CREATE_CHILD_SA": 4,
                                          "INFORMATIONAL": ">=4"},
                            "inner_payloads": {"KE": 4}}},
    },
})


# --- MOBIKE, IPv6 and dual stack (strongSwan both sides); IPv6 addresses from 2001:db8::/32 (RFC 3849) ---
ROAM = {"plugins": {"kernel-netlink": {"roam_events": True}}}  # address changes reach MOBIKE
V6 = {"moon": "2001:db8:1::1", "sun": "2001:db8:1::2"}
V6_ADDRESSES = {side: [("eth0", f"{V6[side]}/64")] for side in scenarios.SIDES}
# IPv4, IPv6 UDP/ESP and ICMPv6 errors (type < 128), no neighbour discovery chatter
V4_V6_FILTER = "ip or (ip6 and (udp or esp or (icmp6 and ip6[40] < 128)))"

SCENARIOS.update({
    "strongswan-mobike-move": {
        "description": "IKEv2 PSK with MOBIKE, moon holds 192.0.2.1 and 192.0.2.3; the tunnel comes up from 192.0.2.1 "
                       "and carries pings; then 192.0.2.1 is removed from moon's eth0: moon checks the new path (empty "
                       "INFORMATIONAL from 192.0.2.3) and sends N(UPDATE_SA_ADDRESSES); the IKE SA keeps its SPIs. "
                       "kernel-libipsec cannot move the ESP SAs, so the CHILD_SA is then rekeyed (by one or both peers "
                       "at once: a CHILD_SA rekey collision, as the logs say) and pings cross from the new address",
        "moon": charon("moon", 2, conn={"local_addrs": "%any"}, charon_settings={**FAST, **ROAM}, role="initiator"),
        "sun": charon("sun", 2, conn={"remote_addrs": "%any"}, charon_settings=FAST, role="responder"),
        "addresses": {"moon": [("eth0", "192.0.2.3/28")]},
        # without promote_secondaries, deleting the primary 192.0.2.1/28 takes 192.0.2.3/28 with it
        "steps": [{"sysctl": ["moon", "net.ipv4.conf.eth0.promote_secondaries=1"]}, *healthy(pings=2),
                  {"ip": ["moon", "addr", "del", "192.0.2.1/28", "dev", "eth0"]},
                  {"wait_log": ["moon", r"generating INFORMATIONAL request \d+ \[ N\(UPD_SA_ADDR\)", 10]},
                  {"sleep": 2.0}, {"established": ["moon", "sun"]}, {"pings": 2}],
        "expect": {"outcome": "established", "code": "Established", "esp": True, "findings": ["address_change"],
                   "log": {"moon": [r"requesting address change using MOBIKE",
                                    r"generating INFORMATIONAL request \d+ \[ N\(UPD_SA_ADDR\)",
                                    r"CHILD_SA net\{[2-9]\} established"],
                           "sun": [r"parsed INFORMATIONAL request \d+ \[ N\(UPD_SA_ADDR\)"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2, "INFORMATIONAL": ">=4",
                                          "CREATE_CHILD_SA": ">=2"},
                            "inner_notifies": {"UPDATE_SA_ADDRESSES": 1}}},
    },
    "strongswan-ipv6": {
        "description": "IKEv2 PSK between IPv6 gateways (moon 2001:db8:1::1, sun 2001:db8:1::2), IPv4 traffic "
                       "selectors inside; pings cross the tunnel (ESP in UDP over IPv6)",
        "moon": charon("moon", 2, conn={"local_addrs": V6["moon"], "remote_addrs": V6["sun"]}, charon_settings=FAST,
                       role="initiator"),
        "sun": charon("sun", 2, conn={"local_addrs": V6["sun"], "remote_addrs": V6["moon"]}, charon_settings=FAST,
                      role="responder"),
        "addresses": V6_ADDRESSES, "capture_filter": V4_V6_FILTER,
        "steps": healthy(),
        "expect": {"outcome": "established", "code": "Established", "esp": True,
                   "log": {"moon": [r"IKE_SA lab\[1\] established between 2001:db8:1::1\[moon\.example\]"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2}}},
    },
    "strongswan-dual-stack": {
        "description": "IKEv2 PSK between dual-stack gateways (IPv4 192.0.2.1/2 and IPv6 2001:db8:1::1/2), IKE over "
                       "IPv4 with MOBIKE and roaming events on: IKE_AUTH announces the IPv6 addresses "
                       "(N(ADDITIONAL_IP6_ADDRESS)), then each side sends an INFORMATIONAL address list update "
                       "(N(ADDITIONAL_IP6_ADDRESS) again) right after IKE_AUTH; pings cross the tunnel",
        "moon": charon("moon", 2, charon_settings={**FAST, **ROAM}, role="initiator"),
        "sun": charon("sun", 2, charon_settings={**FAST, **ROAM}, role="responder"),
        "addresses": V6_ADDRESSES, "capture_filter": V4_V6_FILTER,
        "steps": [*healthy(), {"sleep": 2.0}],
        "expect": {"outcome": "established", "code": "Established", "esp": True, "findings": ["mobike"],
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2, "INFORMATIONAL": ">=4"},
                            "inner_notifies": {"ADDITIONAL_IP6_ADDRESS": ">=4"}}},
    },
    "strongswan-dual-stack-ts-mismatch": {
        "description": "IKEv2 PSK between dual-stack gateways with MOBIKE and roaming events on, the traffic "
                       "selectors differ (moon asks for 192.0.2.160/28): the IKE SA comes up with N(TS_UNACCEPTABLE) "
                       "in IKE_AUTH's answer, then each side's MOBIKE address list update (an INFORMATIONAL "
                       "with N(ADDITIONAL_IP6_ADDRESS), answered empty) follows on the childless IKE SA",
        "moon": charon("moon", 2, child={"remote_ts": "192.0.2.160/28"}, charon_settings={**FAST, **ROAM},
                       role="initiator"),
        "sun": charon("sun", 2, charon_settings={**FAST, **ROAM}, role="responder"),
        "addresses": V6_ADDRESSES, "capture_filter": V4_V6_FILTER,
        "steps": failing("moon", "moon", r"failed to establish CHILD_SA", 10, linger=3.0),
        "expect": {"outcome": "failed", "code": "TrafficSelectorMismatch", "phase": 2, "esp": False,
                   "log": {"sun": [r"traffic selectors 192\.0\.2\.160/28 === 192\.0\.2\.128/28 unacceptable"],
                           "moon": [r"received TS_UNACCEPTABLE notify, no CHILD_SA built"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2, "INFORMATIONAL": ">=4"},
                            "inner_notifies": {"TS_UNACCEPTABLE": 1, "ADDITIONAL_IP6_ADDRESS": ">=4"}}},
    },
})


def cert_side(side: str, charon_settings: dict[str, Any]) -> dict[str, Any]:
    other = scenarios.OTHER[side]
    conn = {"fragmentation": "yes",
            "local": {"auth": "pubkey", "id": scenarios.IDENTITY[side], "certs": f"{side}.crt"},
            "remote": {"auth": "pubkey", "id": scenarios.IDENTITY[other]}}
    return charon(side, 2, conn=conn, secret=None, charon_settings=charon_settings,
                  role="initiator" if side == "moon" else "responder")


SCENARIOS.update({
    "strongswan-fragmented-chain": {
        "description": "IKEv2 with RSA-3072 certificates each under two intermediate CAs of its own (root -> "
                       "ica1 -> ica2 -> host, made by pki at run time; each peer trusts the root only): each IKE_AUTH carries the host certificate and both intermediates (three "
                       "CERT payloads, ~4 kB) and charon.fragment_size 512 splits it into RFC 7383 Encrypted Fragment "
                       "(SKF) payloads; pings cross the tunnel",
        "moon": cert_side("moon", {"fragment_size": 512, **FAST}),
        "sun": cert_side("sun", {"fragment_size": 512, **FAST}),
        "certs": {"type": "rsa", "size": 3072, "holders": ["moon", "sun"], "intermediates": 2},
        "steps": healthy(),
        "expect": {"outcome": "established", "code": "Established", "esp": True, "findings": ["ikev2_fragmentation"],
                   "log": {"moon": [r"splitting IKE message \(\d+ bytes\) into \d+ fragments",
                                    r"received end entity cert \"C=XX, O=ikesniff lab, CN=sun\.example\"",
                                    r"received issuer cert \"C=XX, O=ikesniff lab, CN=ikesniff lab sun intermediate CA 2\""],
                           "sun": [r"splitting IKE message \(\d+ bytes\) into \d+ fragments",
                                   r"received issuer cert \"C=XX, O=ikesniff lab, CN=ikesniff lab moon intermediate CA 1\""]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": ">=16"}, "min_ikev2_fragments": 16}},
    },
})


SCENARIOS.update({
    "strongswan-cert-untrusted-ca": {
        "description": "IKEv2 with RSA certificates, sun's is issued by a CA moon does not hold: moon cannot build a "
                       "trust chain for sun's certificate from IKE_AUTH's answer, refuses it and tells sun in an "
                       "INFORMATIONAL N(AUTHENTICATION_FAILED)",
        "moon": cert_side("moon", {"fragment_size": 1500, **FAST}),
        "sun": cert_side("sun", {"fragment_size": 1500, **FAST}),
        "certs": {"type": "rsa", "size": 2048, "holders": ["moon", "sun"], "faults": {"sun": "untrusted"}},
        "steps": failing("moon", "moon", r"AUTH_FAILED|authentication of .* failed|no trusted", 10),
        "expect": {"outcome": "failed", "code": "CertificateAuthenticationFailure", "phase": 1, "esp": False,
                   "alternatives": ["PeerIdMismatch"],
                   "log": {"moon": [r"no trusted RSA public key found for 'sun\.example'",
                                    r"generating INFORMATIONAL request 2 \[ N\(AUTH_FAILED\) \]"],
                           "sun": [r"authentication of 'moon\.example' with RSA\S* successful"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2, "INFORMATIONAL": 2},
                            "inner_notifies": {"AUTHENTICATION_FAILED": 1}}},
    },
    "strongswan-cert-expired": {
        "description": "IKEv2 with RSA certificates, moon's certificate expired (valid for one day in January 2024): "
                       "sun refuses it and answers IKE_AUTH with N(AUTHENTICATION_FAILED); at the lab's log levels (cfg 2) "
                       "charon says only 'no trusted RSA public key found', the same words as for a wrong identity: "
                       "the dates are in the CERT payload, readable with the key table",
        "moon": cert_side("moon", {"fragment_size": 1500, **FAST}),
        "sun": cert_side("sun", {"fragment_size": 1500, **FAST}),
        "certs": {"type": "rsa", "size": 2048, "holders": ["moon", "sun"], "faults": {"moon": "expired"}},
        "steps": failing("moon", "moon", r"AUTHENTICATION_FAILED", 10),
        "expect": {"outcome": "failed", "code": "CertificateAuthenticationFailure", "phase": 1, "esp": False,
                   "alternatives": ["PskMismatch", "PeerIdMismatch"],
                   "log": {"sun": [r"received end entity cert \"C=XX, O=ikesniff lab, CN=moon\.example\"",
                                   r"no trusted RSA public key found for 'moon\.example'"],
                           "moon": [r"received AUTHENTICATION_FAILED notify error"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2},
                            "inner_notifies": {"AUTHENTICATION_FAILED": 1}}},
    },
    "strongswan-cert-wrong-id": {
        "description": "IKEv2 with RSA certificates, moon claims the identity moon.example but its certificate names "
                       "only other.example (subject and subjectAltName): sun finds no certificate for moon.example and "
                       "answers IKE_AUTH with N(AUTHENTICATION_FAILED)",
        "moon": cert_side("moon", {"fragment_size": 1500, **FAST}),
        "sun": cert_side("sun", {"fragment_size": 1500, **FAST}),
        "certs": {"type": "rsa", "size": 2048, "holders": ["moon", "sun"], "faults": {"moon": "wrong-id"}},
        "steps": failing("moon", "moon", r"AUTHENTICATION_FAILED|failed", 10),
        "expect": {"outcome": "failed", "code": "CertificateAuthenticationFailure", "phase": 1, "esp": False,
                   "alternatives": ["PeerIdMismatch", "PskMismatch"],
                   "log": {"sun": [r"received end entity cert \"C=XX, O=ikesniff lab, CN=other\.example\"",
                                   r"no trusted RSA public key found for 'moon\.example'"],
                           "moon": [r"received AUTHENTICATION_FAILED notify error"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2},
                            "inner_notifies": {"AUTHENTICATION_FAILED": 1}}},
    },
})


def pluto_xauth_gateway(password: str = XAUTH_PASSWORD, ike: str = "3des-sha1;modp1536") -> dict[str, Any]:
    """sun: libreswan as a Cisco-style IKEv1 gateway: aggressive mode, group PSK for the key id 'labgroup',
    XAUTH against its passwd file (xauthby=file), mode config from a one-address pool."""
    group = "@#" + b"labgroup".hex()  # libreswan's spelling of an ID_KEY_ID
    conn = {"ikev2": "no", "aggressive": "yes", "authby": "secret", "left": ADDRESS["sun"], "leftid": "@sun.example",
            "leftsubnet": SUBNET["sun"], "leftxauthserver": "yes", "leftmodecfgserver": "yes",
            "right": "%any", "rightid": group, "rightxauthclient": "yes", "rightmodecfgclient": "yes",
            "rightaddresspool": f"{VIRTUAL_IP}-{VIRTUAL_IP}", "modecfgpull": "yes", "xauthby": "file",
            "ike": ike, "esp": "aes256-sha1,3des-sha1", "pfs": "no", "auto": "add",
            "retransmit-interval": "1000", "retransmit-timeout": "8s"}
    side = pluto("sun", 1, role="responder")
    side["conn"] = conn
    side["secrets"] = [{"ids": f"@sun.example {group}", "type": "PSK", "secret": PSK}]
    side["xauth_users"] = {XAUTH_USER: password}
    side["summary"] = {"ipsec.conf": {"setup": side["setup"], "conn": conn}, "secret": PSK,
                       "xauth": "user alice in ipsec.d/passwd (crypt SHA-512)"}
    return side


WEAK = ["--enable-weak-encryption"]  # vpnc walks away from 3DES otherwise ("considered too weak today")

SCENARIOS.update({
    "vpnc-libreswan-aes-refused": {
        "description": "vpnc (moon) against a libreswan IKEv1 gateway (sun) that accepts AES-256/SHA1/MODP-1536 only: "
                       "vpnc's AES transforms carry KEY_LENGTH before ENCRYPTION_ALGORITHM, which pluto rejects "
                       "('OAKLEY_KEY_LENGTH attribute not preceded by OAKLEY_ENCRYPTION_ALGORITHM'), so no transform "
                       "is acceptable: an unencrypted INFORMATIONAL N(NO_PROPOSAL_CHOSEN); vpnc reports it as "
                       "INVALID_EXCHANGE_TYPE",
        "moon": vpnc_client(group="dh5"), "sun": pluto_xauth_gateway(ike="aes256-sha1;modp1536"),
        "inner": VPNC_LAN, "lo_sides": ["sun"],
        "steps": [{"start": "sun"}, {"initiate": "moon"}, {"wait_log": ["sun", r"no acceptable Oakley Transform", 10]},
                  {"sleep": 1.0}],
        "expect": {"outcome": "failed", "code": "ProposalMismatch", "phase": 1, "esp": False,
                   "alternatives": ["EncryptionAlgorithmMismatch"],
                   "log": {"sun": [r"OAKLEY_KEY_LENGTH attribute not preceded by OAKLEY_ENCRYPTION_ALGORITHM attribute",
                                   r"no acceptable Oakley Transform"],
                           "moon": [r"vpnc: response was invalid .*ISAKMP_N_INVALID_EXCHANGE_TYPE"]},
                   "wire": {"exchanges": {"AGGRESSIVE": 1, "INFORMATIONAL": 1},
                            "notifies": {"NO_PROPOSAL_CHOSEN": 1}}},
    },
    "vpnc-libreswan-xauth-ts-mismatch": {
        "description": "vpnc (moon) against a libreswan IKEv1 gateway (sun, 3DES/SHA1/MODP-1536; vpnc run with "
                       "--enable-weak-encryption): aggressive mode with the group PSK, XAUTH accepted, mode config "
                       "assigns 192.0.2.130 but no split network, so vpnc's quick mode asks for 0.0.0.0/0 while sun "
                       "serves 192.0.2.144/28 only: encrypted N(INVALID_ID_INFORMATION), vpnc deletes the ISAKMP SA",
        "moon": vpnc_client(group="dh5", args=WEAK), "sun": pluto_xauth_gateway(),
        "inner": VPNC_LAN, "lo_sides": ["sun"],
        "steps": [{"start": "sun"}, {"initiate": "moon"},
                  {"wait_log": ["sun", r"sending encrypted notification INVALID_ID_INFORMATION", 10]}, {"sleep": 1.0}],
        "expect": {"outcome": "failed", "code": "TrafficSelectorMismatch", "phase": 2, "esp": False,
                   "log": {"sun": [r"XAUTH: User alice: Authentication Successful",
                                   r"the peer proposed: 0\.0\.0\.0/0 -<all>-> 192\.0\.2\.130/32",
                                   r"cannot respond to IPsec SA request because no connection is known for 0\.0\.0\.0/0",
                                   r"sending encrypted notification INVALID_ID_INFORMATION"],
                           "moon": [r"IKE SA selected psk\+xauth-3des-sha1"]},
                   "wire": {"exchanges": {"AGGRESSIVE": 3, "TRANSACTION": 6, "QUICK_MODE": 1, "INFORMATIONAL": ">=2"}}},
    },
    "vpnc-libreswan-xauth-refused": {
        "description": "vpnc (moon) against a libreswan IKEv1 gateway (sun) whose passwd file holds another password "
                       "for alice: aggressive mode succeeds, XAUTH fails (XAUTH_STATUS fail), pluto asks again "
                       "(retry 1) but vpnc has given up and exited: each retransmitted XAUTH request draws an ICMP "
                       "port unreachable",
        "moon": vpnc_client("not-the-password", group="dh5", args=WEAK), "sun": pluto_xauth_gateway(),
        "inner": VPNC_LAN, "lo_sides": ["sun"],
        "steps": [{"start": "sun"}, {"initiate": "moon"},
                  {"wait_log": ["sun", r"STATE_XAUTH_R0: retransmission; will wait 2 seconds", 10]}, {"sleep": 1.0}],
        "expect": {"outcome": "failed", "code": "XauthFailure", "phase": 1, "esp": False,
                   "log": {"sun": [r"XAUTH: User alice: Authentication Failed: Incorrect Username or Password",
                                   r"XAUTH: User <unknown>: Authentication Failed \(retry 1\)"],
                           "moon": [r"vpnc: authentication unsuccessful"]},
                   "wire": {"exchanges": {"AGGRESSIVE": 3, "TRANSACTION": ">=6", "QUICK_MODE": 0},
                            "icmp": {"3/3": ">=2"}}},
    },
})


SCENARIOS.update({
    "libreswan-resp-restart": {
        "description": "IKEv2 PSK, strongSwan (moon, DPD every 2 s) to libreswan (sun); the IKE SA is up (childless: "
                       "sun's kernel has no ESP, it answered TS_UNACCEPTABLE); sun's pluto crashes (SIGKILL by PID) and "
                       "starts again at once without the SA; pluto ignores moon's DPD requests for the unknown SPIs "
                       "(no INVALID_IKE_SPI, like charon), so moon retransmits 3 times and destroys the IKE SA "
                       "(no CHILD_SA, so no dpd_action restart)",
        "moon": charon("moon", 2, conn={"dpd_delay": "2s", "children.net.dpd_action": "restart"},
                       charon_settings=FAST, role="initiator"),
        "sun": pluto("sun", 2, setup={"logappend": "yes"}, role="responder"),
        "steps": [*START, {"initiate": "moon"}, {"wait_log": ["moon", r"failed to establish CHILD_SA", 10]},
                  {"sleep": 1.0}, {"kill": "sun"}, {"sleep": 0.5}, {"start": "sun"},
                  {"wait_log": ["moon", r"giving up after 3 retransmits", 25]}, {"sleep": 1.0}],
        "notes": [NO_ESP],
        "expect": {"outcome": "failed", "code": "PeerRestart", "phase": 1, "esp": False,
                   "alternatives": ["DpdTimeout"],
                   "log": {"moon": [r"sending DPD request", r"retransmit 3 of request with message ID 2",
                                    r"giving up after 3 retransmits"],
                           "sun": [r"responder established IKE SA", r"^Starting Pluto"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2, "INFORMATIONAL": 4},
                            "repeats": 3}},
    },
})



SCENARIOS.update({
    "libreswan-pair-ikev1-main-no-kernel-esp": {
        "description": "IKEv1 main mode PSK between two libreswan peers (PFS on both, their default): main mode "
                       "completes, quick mode is accepted but the responder cannot install the IPsec SA (no ESP in "
                       "the kernel) and never answers; the initiator retransmits quick mode",
        "moon": pluto("moon", 1, role="initiator"),
        "sun": pluto("sun", 1, role="responder"),
        "steps": failing("moon", "sun", r"Protocol not supported", 10, linger=3.0),
        "notes": [NO_ESP],
        "expect": {"outcome": "failed", "code": "NegotiationFailed", "phase": 2, "esp": False,
                   "alternatives": ["Phase2NegotiationTimeout"],
                   "log": {"sun": [r"IKE SA established \{auth=PRESHARED_KEY",
                                   r"netlink response for Add SA esp\.\S+: Protocol not supported"],
                           "moon": [r"STATE_QUICK_I1: retransmission"]},
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": 6, "QUICK_MODE": ">=2"}}},
    },
    "libreswan-init-ikev2-esp-mismatch": {
        "description": "IKEv2, only the ESP cipher differs: libreswan (moon) offers AES-256, strongSwan (sun) accepts "
                       "AES-128; the IKE SA comes up, IKE_AUTH's answer carries N(NO_PROPOSAL_CHOSEN)",
        "moon": pluto("moon", 2, conn={"esp": "aes256-sha2_256"}, role="initiator"),
        "sun": charon("sun", 2, charon_settings=FAST, role="responder"),
        "steps": failing("moon", "sun", r"failed to establish CHILD_SA", 10),
        "expect": {"outcome": "failed", "code": "EncryptionAlgorithmMismatch", "phase": 2, "esp": False,
                   "log": {"sun": [r"no acceptable ENCRYPTION_ALGORITHM found", r"failed to establish CHILD_SA",
                                   r"generating IKE_AUTH response 1 \[ IDr AUTH N\(NO_PROP\) \]"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2},
                            "inner_notifies": {"NO_PROPOSAL_CHOSEN": 1}}},
    },
    "libreswan-init-ikev1-main-psk-mismatch": {
        "description": "IKEv1 main mode, libreswan (moon) initiates to strongSwan (sun), which holds another PSK: "
                       "sun cannot decrypt message 5 and answers each copy with an encrypted INFORMATIONAL "
                       "N(PAYLOAD_MALFORMED) keyed from its own PSK, which pluto cannot parse either",
        "moon": pluto("moon", 1, role="initiator"),
        "sun": charon("sun", 1, secret="not-the-same-key", charon_settings=FAST, role="responder"),
        "steps": failing("moon", "sun", r"decryption failed|invalid", 10, linger=3.0),
        "notes": [("the key table is sun's (IKEv1 keys derive from the PSK, and only strongSwan logs them): moon's "
                  "messages 5 were encrypted with moon's key, so tshark's 'decryption' of them with sun's is garbage "
                  "(a bogus ID payload); sun's INFORMATIONALs open (HASH, then a notify tshark does not list)")],
        "expect": {"outcome": "failed", "code": "PskMismatch", "phase": 1, "esp": False,
                   "log": {"sun": [r"invalid ID_V1 payload length, decryption failed\?",
                                   r"generating INFORMATIONAL_V1 request \d+ \[ HASH N\(PLD_MAL\) \]"],
                           "moon": [r"malformed payload in packet", r"STATE_MAIN_I3: retransmission"]},
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": ">=6", "INFORMATIONAL": ">=2"}}},
    },
    "ike-scan-ikev2": {
        "description": "ike-scan (moon) sends an IKEv2 IKE_SA_INIT probe (--ikev2, its default transforms) to a "
                       "strongSwan responder (sun) that accepts AES-128/SHA2-256/MODP-2048 only: ike-scan's offer has "
                       "no SHA2-256 integrity, sun answers with a 36-octet N(NO_PROPOSAL_CHOSEN)",
        "moon": ike_scan(["--ikev2", "--retry=1", "--timeout=1000", ADDRESS["sun"]]),
        "sun": charon("sun", 2, conn={"remote_addrs": "%any"}, charon_settings=FAST, role="responder"),
        "tunnel_sides": [], "lo_sides": [],
        "steps": [{"start": "sun"}, {"initiate": "moon"}, {"sleep": 1.0}],
        "notes": [PROBE],
        "expect": {"outcome": "probe", "code": "ProposalMismatch", "phase": 1, "esp": False,
                   "alternatives": ["AuthenticationAlgorithmMismatch"],
                   "log": {"moon": [r"Notify message 14 \(NO_PROPOSAL_CHOSEN\)"],
                           "sun": [r"no acceptable INTEGRITY_ALGORITHM found", r"received proposals unacceptable"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2}, "notifies": {"NO_PROPOSAL_CHOSEN": 1}}},
    },
})


SCENARIOS.update({
    "strongswan-peer-restart-ikev1": {
        "description": "IKEv1 main mode PSK, tunnel up with DPD (moon dpd_delay 2 s, dpd_timeout 6 s, dpd_action "
                       "restart); sun's charon crashes (SIGKILL by PID: no Delete) and is started again 1 s later; "
                       "moon's R_U_THERE notifies under the old cookies get no answer, at the timeout moon starts a "
                       "fresh main mode with N(INITIAL_CONTACT) and quick mode; pings cross the new tunnel",
        "moon": charon("moon", 1, conn={"dpd_delay": "2s", "dpd_timeout": "6s", "children.net.dpd_action": "restart"},
                       charon_settings=FAST, role="initiator"),
        "sun": charon("sun", 1, charon_settings={**FAST, **APPEND_LOG}, role="responder"),
        "steps": [*healthy(pings=2), {"kill": "sun"}, {"sleep": 1.0}, {"start": "sun"},
                  {"wait_log": ["moon", r"DPD check timed out, enforcing DPD action", 20]},
                  {"wait_log": ["moon", r"IKE_SA lab\[2\] established", 15]},
                  {"established": ["moon", "sun"]}, {"pings": 2}],
        "keys_from": ["moon"],
        "expect": {"outcome": "established", "code": "PeerRestart", "esp": True,
                   "alternatives": ["DpdTimeout"],
                   "log": {"moon": [r"sending DPD request", r"DPD check timed out, enforcing DPD action",
                                    r"IKE_SA lab\[2\] established"]},
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": 12, "QUICK_MODE": 6, "INFORMATIONAL": ">=2"},
                            "min_initiator_spis": 2, "inner_notifies": {"R_U_THERE": ">=2", "INITIAL_CONTACT": 2}}},
    },
})


SCENARIOS.update({
    "strongswan-rekey-lost-ikev1": {
        "description": "IKEv1 main mode PSK, moon's IKE SA has rekey_time 6 s and over_time 4 s (hard end at 10 s); "
                       "once the tunnel is up sun's namespace drops every main mode datagram (iptables u32: exchange "
                       "type 2 behind the non-ESP marker on port 4500), so the new main mode IKEv1 uses to rekey never "
                       "arrives: moon retransmits its message 1 three times; meanwhile the old IKE SA reaches its hard "
                       "lifetime and moon deletes it (one encrypted INFORMATIONAL with the ISAKMP Delete), then the "
                       "new main mode gives up: no IKE SA is left",
        "moon": charon("moon", 1, conn={"rekey_time": "6s", "over_time": "4s", "rand_time": "0s"},
                       charon_settings=FAST, role="initiator"),
        "sun": charon("sun", 1, conn={"rekey_time": "0"}, charon_settings=FAST, role="responder"),
        "steps": [*healthy(pings=2), {"iptables": {"sun": [["-A", "INPUT", "-p", "udp", "--dport", "4500", "-m", "u32",
                                                            "--u32", "47&0xFF=0x02", "-j", "DROP"]]}},
                  {"wait_log": ["moon", r"giving up after 3 retransmits", 20]},
                  {"wait_log": ["moon", r"IKE_SA lab\[1\] state change: \S+ => (DELETING|DESTROYING)", 10]},
                  {"sleep": 1.0}],
        "keys_from": ["moon"],
        "expect": {"outcome": "torn_down", "code": "RekeyFailure", "phase": 1, "esp": True,
                   "alternatives": ["ReceiveDeleteNotify", "NoResponse"],
                   "log": {"moon": [r"sending retransmit 3 of request message ID 0, seq 1",
                                    r"sending DELETE for IKE_SA lab\[1\]",
                                    r"giving up after 3 retransmits"]},
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": 10, "QUICK_MODE": 3, "INFORMATIONAL": 1},
                            "repeats": 3, "inner_payloads": {"D": 1}}},
    },
})



# --- IKE over TCP (RFC 8229) between libreswan peers ---
TCP_SETUP = {"listen-tcp": "yes"}  # both plutos accept IKE on TCP 4500 (besides UDP 500/4500)
TCP_ONLY = {"enable-tcp": "yes", "tcp-remoteport": "4500"}  # the initiator speaks TCP from its first message
STAND_IN = ("IKE over TCP needs the kernel's espintcp (RFC 8229 length fields), which this kernel lacks (no ESP): "
            "without it pluto sends the 'IKETCP' prefix, fails setsockopt(TCP_ULP, \"espintcp\") with ENOENT and "
            "closes the stream. Both plutos run with a user-space stand-in for that framing (lab/espintcp.c, "
            "LD_PRELOAD): pluto's own TCP sockets, prefix, non-ESP markers and IKE messages; the stand-in only adds "
            "and removes the 2-octet length of each record, as espintcp does")

SCENARIOS.update({
    "libreswan-pair-ikev2-tcp-no-kernel-esp": {
        "description": "IKEv2 PSK over TCP (RFC 8229, TCP port 4500, espintcp framing by a user-space stand-in) "
                       "between two libreswan peers: moon opens a TCP connection, sends 'IKETCP' and the whole "
                       "negotiation runs in the stream; the IKE SA comes up, the responder cannot install the ESP "
                       "SA and answers N(TS_UNACCEPTABLE), as over UDP",
        "moon": pluto("moon", 2, conn=TCP_ONLY, setup=TCP_SETUP, role="initiator", espintcp=True),
        "sun": pluto("sun", 2, setup=TCP_SETUP, role="responder", espintcp=True),
        "steps": failing("moon", "moon", r"IKE_AUTH response rejected Child SA with TS_UNACCEPTABLE", 10),
        "notes": [STAND_IN, NO_ESP],
        "expect": {"outcome": "failed", "code": "NegotiationFailed", "phase": 2, "esp": False,
                   "alternatives": ["TrafficSelectorMismatch"],
                   "log": {"sun": [r"IKETCP ACCEPTED: socket \d+: accepted connection",
                                   r"netlink response for Add SA esp\.\S+: Protocol not supported"],
                           "moon": [r"sent IKE_SA_INIT request to 192\.0\.2\.2:4500",
                                    r"IKE_AUTH response rejected Child SA with TS_UNACCEPTABLE"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 2, "IKE_AUTH": 2}, "tcp_messages": 4}},
    },
    "libreswan-pair-ikev2-tcp-psk-mismatch": {
        "description": "IKEv2 over TCP (RFC 8229, espintcp framing by a user-space stand-in) between two libreswan "
                       "peers, sun holds another PSK: IKE_SA_INIT passes, IKE_AUTH is answered with an encrypted "
                       "AUTHENTICATION_FAILED inside the stream; moon revives and is refused again",
        "moon": pluto("moon", 2, conn=TCP_ONLY, setup=TCP_SETUP, role="initiator", espintcp=True),
        "sun": pluto("sun", 2, secret="not-the-same-key", setup=TCP_SETUP, role="responder", espintcp=True),
        "steps": failing("moon", "moon", r"#3: IKE SA authentication request rejected by peer", 10),
        "notes": [STAND_IN, REVIVES],
        "expect": {"outcome": "failed", "code": "PskMismatch", "phase": 1, "esp": False,
                   "alternatives": ["PeerIdMismatch"],
                   "log": {"sun": [r"authentication failed: computed hash does not match hash received from peer"],
                           "moon": [r"IKE SA authentication request rejected by peer: AUTHENTICATION_FAILED"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": ">=4", "IKE_AUTH": ">=4"}, "tcp_messages": ">=8"}},
    },
    "libreswan-pair-ikev2-tcp-fallback": {
        "description": "IKEv2 PSK between two libreswan peers, moon with enable-tcp=fallback, and sun's namespace "
                       "drops every UDP datagram to ports 500 and 4500: moon's IKE_SA_INIT over UDP goes unanswered "
                       "(twice retransmitted), moon's second keying attempt falls back to TCP port 4500 (RFC 8229, espintcp framing by a user-space stand-in) and "
                       "the negotiation completes there; the IKE SA comes up, the ESP SA cannot be installed (no "
                       "kernel ESP): N(TS_UNACCEPTABLE)",
        "moon": pluto("moon", 2, conn={"enable-tcp": "fallback", "tcp-remoteport": "4500", "retransmit-timeout": "4s",
                                       "keyingtries": "3"},  # pluto 4.10 tries TCP from its second keying attempt
                      setup=TCP_SETUP, role="initiator", espintcp=True),
        "sun": pluto("sun", 2, setup=TCP_SETUP, role="responder", espintcp=True),
        "iptables": {"sun": [["-A", "INPUT", "-p", "udp", "-m", "multiport", "--dports", "500,4500", "-j", "DROP"]]},
        "steps": failing("moon", "moon", r"IKE_AUTH response rejected Child SA with TS_UNACCEPTABLE", 20),
        "notes": [STAND_IN, NO_ESP],
        "expect": {"outcome": "failed", "code": "NegotiationFailed", "phase": 2, "esp": False,
                   "alternatives": ["TrafficSelectorMismatch"],
                   "log": {"moon": [r"sent IKE_SA_INIT request to 192\.0\.2\.2:500",
                                    r"4 second timeout exceeded after 2 retransmits",
                                    r"starting keying attempt 2 of at most 3",
                                    r"sent IKE_SA_INIT request to 192\.0\.2\.2:4500",
                                    r"IKE_AUTH response rejected Child SA with TS_UNACCEPTABLE"],
                           "sun": [r"IKETCP ACCEPTED: socket \d+: accepted connection",
                                   r"netlink response for Add SA esp\.\S+: Protocol not supported"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 5, "IKE_AUTH": 2}, "tcp_messages": 4, "repeats": 2}},
    },
})


# --- a restarted peer that initiates again itself (its INITIAL_CONTACT is on the wire) ---
RESTARTED_INITIATES = ("sun initiates (start_action start), also when it comes back: its own IKE_AUTH (IKEv1: main "
                       "mode message 5) carries N(INITIAL_CONTACT), which only the key table opens; moon (the survivor) "
                       "drops the old SAs on it without a Delete ('destroying duplicate IKE_SA ..., received "
                       "INITIAL_CONTACT')")

SCENARIOS.update({
    "strongswan-peer-restart-initiates": {
        "description": "IKEv2 PSK, sun initiates (start_action start), moon answers and runs DPD (dpd_delay 2 s); "
                       "sun's charon crashes (SIGKILL by PID: no Delete); moon's DPD requests to the old SPIs go "
                       "unanswered; after moon's second retransmission sun's charon is started again and itself "
                       "initiates a fresh IKE SA with N(INITIAL_CONTACT) in its IKE_AUTH; moon drops the old SA; "
                       "pings cross the new tunnel",
        "moon": charon("moon", 2, conn={"dpd_delay": "2s"}, charon_settings=FAST, role="responder"),
        "sun": charon("sun", 2, child={"start_action": "start"}, charon_settings={**FAST, **APPEND_LOG},
                      role="initiator"),
        "initiator": "sun", "responder": "moon",
        "steps": [{"start": "moon"}, {"start": "sun"}, {"established": ["moon", "sun"]}, {"pings": 2},
                  {"kill": "sun"}, {"wait_log": ["moon", r"retransmit 2 of request with message ID \d+", 20]},
                  {"start": "sun"},
                  {"wait_log": ["moon", r"IKE_SA lab\[2\] established", 15]},
                  {"established": ["moon", "sun"]}, {"pings": 2}],
        "notes": [RESTARTED_INITIATES],
        "keys_from": ["moon"],
        "expect": {"outcome": "established", "code": "PeerRestart", "esp": True,
                   "alternatives": ["DpdTimeout"],
                   "log": {"moon": [r"sending DPD request", r"retransmit 2 of request with message ID \d+",
                                    r"destroying duplicate IKE_SA .* received INITIAL_CONTACT",
                                    r"IKE_SA lab\[2\] established"],
                           "sun": [r"^Starting IKE charon daemon", r"generating IKE_AUTH request 1 \[ IDi N\(INIT_CONTACT\)"]},
                   "wire": {"exchanges": {"IKE_SA_INIT": 4, "IKE_AUTH": 4, "INFORMATIONAL": ">=3"},
                            "min_initiator_spis": 2, "repeats": ">=2", "inner_notifies": {"INITIAL_CONTACT": 2}}},
    },
    "strongswan-peer-restart-initiates-ikev1": {
        "description": "IKEv1 main mode PSK, sun initiates (start_action start), moon answers and runs DPD "
                       "(dpd_delay 2 s, dpd_timeout 10 s); sun's charon crashes (SIGKILL by PID: no Delete); moon's "
                       "R_U_THERE notifies under the old cookies go unanswered; after the second one sun's charon "
                       "is started again and itself initiates a fresh main mode with N(INITIAL_CONTACT) in message "
                       "5, then quick mode; moon drops the old SAs; pings cross the new tunnel",
        "moon": charon("moon", 1, conn={"dpd_delay": "2s", "dpd_timeout": "10s"}, charon_settings=FAST,
                       role="responder"),
        "sun": charon("sun", 1, child={"start_action": "start"}, charon_settings={**FAST, **APPEND_LOG},
                      role="initiator"),
        "initiator": "sun", "responder": "moon",
        "steps": [{"start": "moon"}, {"start": "sun"}, {"established": ["moon", "sun"]}, {"pings": 2},
                  {"kill": "sun"}, {"wait_log": ["moon", r"sending DPD request", 10]}, {"sleep": 2.5},
                  {"start": "sun"},
                  {"wait_log": ["moon", r"IKE_SA lab\[2\] established", 15]},
                  {"established": ["moon", "sun"]}, {"pings": 2}],
        "notes": [RESTARTED_INITIATES],
        "keys_from": ["moon"],
        "expect": {"outcome": "established", "code": "PeerRestart", "esp": True,
                   "alternatives": ["DpdTimeout"],
                   "log": {"moon": [r"sending DPD request", r"destroying duplicate IKE_SA .* received INITIAL_CONTACT",
                                    r"IKE_SA lab\[2\] established"],
                           "sun": [r"^Starting IKE charon daemon", r"generating ID_PROT request 0 \[ ID HASH N\(INITIAL_CONTACT\) \]"]},
                   "wire": {"exchanges": {"IDENTITY_PROTECTION": 12, "QUICK_MODE": 6, "INFORMATIONAL": ">=2"},
                            "min_initiator_spis": 2, "inner_notifies": {"R_U_THERE": ">=2", "INITIAL_CONTACT": 2}}},
    },
})
