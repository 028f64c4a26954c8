"""The IKE/IPsec part of a Huawei VRP ``display current-configuration`` -> `GatewayConfig`.

Views read (AR routers and USG firewalls, V200R0xx style; each view's lines are indented by one
space and views end at ``#`` or the next top-level line):

* ``ike proposal N``: ``encryption-algorithm``, ``authentication-algorithm`` (IKEv1 hash / IKEv2
  integrity), ``integrity-algorithm`` and ``prf`` (IKEv2), ``dh groupN``, ``authentication-method
  pre-share|rsa-signature|digital-envelope``, ``sa duration SECONDS``. Defaults of a created proposal
  (V200R010 command reference): AES-256, SHA2-256, group14, pre-share, HMAC-SHA2-256 PRF and integrity,
  86400 s.
* ``ike peer NAME [v1|v2]``: ``version 1|2``/``undo version 1|2`` (both versions unless one is
  removed), ``exchange-mode main|aggressive`` (main), ``pre-shared-key cipher|simple ...`` (only the
  fact is kept), ``ike-proposal N`` (several allowed; none = every proposal), ``local-id-type``,
  ``local-id``, ``remote-id``, ``remote-address``, ``local-address``, ``dpd ...``, ``nat traversal``.
* ``ipsec proposal NAME``: ``transform esp|ah|ah-esp`` (esp), ``encapsulation-mode
  tunnel|transport|auto`` (tunnel), ``esp encryption-algorithm`` (aes-256), ``esp
  authentication-algorithm`` (sha2-256), ``ah authentication-algorithm`` (sha2-256).
* ``ipsec policy NAME SEQ isakmp`` / ``ipsec policy-template NAME SEQ`` / ``ipsec profile NAME``:
  ``security acl N``, ``ike-peer NAME``, ``proposal NAME...``, ``pfs dh-groupN`` (no PFS by default),
  ``sa duration time-based SECONDS`` (3600), ``tunnel local ADDRESS``.
* ``acl number N`` / ``acl name X N``: ``rule ... permit ip source A W destination B W`` -> selectors.
* ``interface NAME``: ``ip address A MASK`` and ``ipsec policy NAME`` give the local address.

A PSK is configured when the peer has ``pre-shared-key``; its ciphertext is never kept (only a
fingerprint of a ``simple`` key, for comparing two configurations).
"""

from __future__ import annotations

import ipaddress
import re

from . import algorithms
from .model import (
    INTEGRITY_AS_V1_HASH,
    ChildConfig,
    ConnectionConfig,
    GatewayConfig,
    Proposal,
    PskFingerprint,
)

__all__ = ["looks_like_huawei", "parse_huawei"]

TOP_VIEWS = re.compile(r"^(ike proposal|ike peer|ipsec proposal|ipsec policy|ipsec profile|acl|interface|ike local-name"
                       r"|sysname)\b")


def looks_like_huawei(text: str) -> bool:
    return bool(re.search(r"^(ike peer \S+|ipsec proposal \S+|ike proposal \d+)\s*", text, re.MULTILINE)) or (
        "current-configuration" in text and "ipsec" in text)


def _views(text: str) -> list[tuple[str, list[str]]]:
    views: list[tuple[str, list[str]]] = []
    current: list[str] | None = None
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip() or line.strip().startswith("!"):
            continue
        if line.strip() == "#" or line.startswith("#"):
            current = None
            continue
        if not line[:1].isspace():
            current = []
            views.append((line.strip(), current))
        elif current is not None:
            current.append(line.strip())
    return views


def _wildcard_cidr(address: str, wildcard: str) -> str:
    try:
        mask = int(ipaddress.IPv4Address(wildcard)) ^ 0xFFFFFFFF
        prefix = mask.bit_count()
        return str(ipaddress.IPv4Network(f"{address}/{prefix}", strict=False))
    except ValueError:
        return address


def _acl_selectors(lines: list[str]) -> tuple[list[str], list[str]]:
    local: list[str] = []
    remote: list[str] = []
    for line in lines:
        match = re.match(r"rule(?: \d+)? permit \S+(?P<rest>.*)$", line)
        if match is None:
            continue
        rest = match.group("rest")
        source = re.search(r"source (\S+) (\S+)", rest)
        destination = re.search(r"destination (\S+) (\S+)", rest)
        local.append(_wildcard_cidr(*source.groups()) if source else "0.0.0.0/0")
        remote.append(_wildcard_cidr(*destination.groups()) if destination else "0.0.0.0/0")
    return local, remote


def parse_huawei(text: str, source: str) -> GatewayConfig:
    """The IKE/IPsec views of a Huawei configuration (never raises; other views are ignored)."""
    config = GatewayConfig(source=source, format="huawei")
    ike_proposals: dict[str, dict[str, str]] = {}
    peers: dict[str, tuple[str, list[str]]] = {}
    ipsec_proposals: dict[str, dict[str, str]] = {}
    acls: dict[str, list[str]] = {}
    policies: list[tuple[str, list[str]]] = []
    interfaces: list[list[str]] = []
    local_name: str | None = None
    for header, lines in _views(text):
        words = header.split()
        if header.startswith("ike proposal") and len(words) >= 3:
            ike_proposals[words[2]] = _settings(lines)
        elif header.startswith("ike peer") and len(words) >= 3:
            peers[words[2]] = (header, lines)
        elif header.startswith("ipsec proposal") and len(words) >= 3:
            ipsec_proposals[words[2]] = _settings(lines)
        elif header.startswith("acl") and len(words) >= 3:
            acls[words[-1] if words[1] == "number" else words[2]] = lines
        elif header.startswith(("ipsec policy", "ipsec profile")):
            policies.append((header, lines))
        elif header.startswith("interface"):
            interfaces.append(lines)
        elif header.startswith("ike local-name") and len(words) >= 3:
            local_name = words[2]
    policy_address: dict[str, str] = {}
    for lines in interfaces:
        address = next((line.split()[2] for line in lines if line.startswith("ip address ") and len(line.split()) > 2),
                       None)
        for line in lines:
            if line.startswith(("ipsec policy ", "ipsec profile ")) and address:
                policy_address[line.split()[2]] = address
    for header, lines in policies:
        connection = _policy(header, lines, peers, ike_proposals, ipsec_proposals, acls, policy_address,
                             local_name, config)
        if connection is not None:
            config.connections.append(connection)
    if not config.connections and peers:
        config.notes.append("ike peers without an ipsec policy or profile using them")
    return config


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None


def _settings(lines: list[str]) -> dict[str, str]:
    settings: dict[str, str] = {}
    for line in lines:
        for key in ("encryption-algorithm", "authentication-algorithm", "integrity-algorithm", "prf",
                    "authentication-method", "sa duration", "dh", "transform", "encapsulation-mode",
                    "esp encryption-algorithm", "esp authentication-algorithm", "ah authentication-algorithm"):
            if line.startswith(key + " "):
                settings[key] = line[len(key):].strip()
    return settings


def _ike_proposal(number: str, settings: dict[str, str], notes: list[str]) -> Proposal:
    ciphers = tuple(algorithms.HUAWEI_ENCRYPTION.get(word, word.upper())
                    for word in settings.get("encryption-algorithm", "aes-256").split())
    # IKEv1 negotiates authentication-algorithm (a hash); IKEv2 integrity-algorithm and prf, each with its
    # own default (HMAC-SHA2-256)
    hashes = tuple(algorithms.HUAWEI_INTEGRITY.get(word, word.upper())
                   for word in settings.get("authentication-algorithm", "sha2-256").split())
    v1_hash = tuple(INTEGRITY_AS_V1_HASH.get(name, name) for name in hashes)
    integrity = tuple(algorithms.HUAWEI_INTEGRITY.get(word, word.upper())
                      for word in settings.get("integrity-algorithm", "hmac-sha2-256").split())
    prf = tuple(algorithms.HUAWEI_PRF.get(word, word.upper()) for word in settings.get("prf", "hmac-sha2-256").split())
    groups = []
    for word in settings.get("dh", "group14").split():
        group = algorithms.huawei_group(word)
        if group is None:
            notes.append(f"ike proposal {number}: dh {word!r} not recognised")
        else:
            groups.append(group)
    if all(algorithms.is_aead(cipher) for cipher in ciphers):
        integrity = ()
    return Proposal(f"ike proposal {number}", "IKE", ciphers, integrity, prf, tuple(groups), v1_hash=v1_hash)


def _policy(header: str, lines: list[str], peers: dict[str, tuple[str, list[str]]],
            ike_proposals: dict[str, dict[str, str]], ipsec_proposals: dict[str, dict[str, str]],
            acls: dict[str, list[str]], policy_address: dict[str, str], local_name: str | None,
            config: GatewayConfig) -> ConnectionConfig | None:
    words = header.split()
    if "manual" in words:
        config.notes.append(f"{header}: manual SA, no IKE")
        return None
    name = " ".join(words[2:4]) if len(words) > 3 else words[2] if len(words) > 2 else header
    values: dict[str, list[str]] = {}
    for line in lines:
        key = next((key for key in ("security acl", "ike-peer", "proposal", "pfs", "sa duration time-based",
                                    "tunnel local") if line.startswith(key + " ")), None)
        if key is not None:
            values.setdefault(key, []).extend(line[len(key):].split())
    peer_name = _first(values.get("ike-peer"))
    if peer_name is None or peer_name not in peers:
        config.notes.append(f"{header}: ike-peer {peer_name!r} not found")
        return None
    peer_header, peer_lines = peers[peer_name]
    peer: dict[str, str] = {}
    proposals_wanted: list[str] = []
    versions = {1, 2}
    explicit: set[int] = set()
    undone: set[int] = set()
    if re.search(r"\bv1$", peer_header):
        explicit.add(1)
    elif re.search(r"\bv2$", peer_header):
        explicit.add(2)
    psk_fingerprint = None
    psk_set = False
    for line in peer_lines:
        if line.startswith("ike-proposal "):
            proposals_wanted.append(line.split()[1])
        elif re.fullmatch(r"undo version [12]", line):
            undone.add(int(line[-1]))
        elif re.fullmatch(r"version [12]", line):
            explicit.add(int(line[-1]))
        elif line.startswith("pre-shared-key"):
            psk_set = True
            parts = line.split(maxsplit=2)
            if len(parts) == 3 and parts[1] == "simple":
                psk_fingerprint = PskFingerprint(parts[2].encode())
        else:
            key, _, value = line.partition(" ")
            peer[key] = value
    versions = (explicit or versions) - undone or versions
    numbers = proposals_wanted or sorted(ike_proposals, key=lambda item: int(item) if item.isdigit() else 0)
    ike = [_ike_proposal(number, ike_proposals.get(number, {}), config.notes) for number in numbers]
    if not ike:
        ike = [_ike_proposal("default", {}, config.notes)]
    method = next((settings.get("authentication-method", "pre-share") for number, settings in ike_proposals.items()
                   if number in numbers), "pre-share")
    auth = {"pre-share": "psk", "rsa-signature": "pubkey", "rsa-sig": "pubkey", "digital-envelope": "pubkey"}.get(
        method, method)
    lifetime = next((int(settings["sa duration"]) for number, settings in ike_proposals.items()
                     if number in numbers and settings.get("sa duration", "").isdigit()), 86400)
    child = ChildConfig(name=name, mode="tunnel")
    pfs_group = algorithms.huawei_group(values["pfs"][0]) if values.get("pfs") else None
    for proposal_name in values.get("proposal", []):
        settings = ipsec_proposals.get(proposal_name)
        if settings is None:
            config.notes.append(f"{header}: ipsec proposal {proposal_name!r} not found")
            continue
        transform = settings.get("transform", "esp")
        child.mode = settings.get("encapsulation-mode", "tunnel")
        if "esp" in transform:
            child.esp_proposals.append(Proposal(
                f"ipsec proposal {proposal_name}", "ESP",
                tuple(algorithms.HUAWEI_ENCRYPTION.get(word, word.upper())
                      for word in settings.get("esp encryption-algorithm", "aes-256").split()),
                tuple(algorithms.HUAWEI_INTEGRITY.get(word, word.upper())
                      for word in settings.get("esp authentication-algorithm", "sha2-256").split()),
                (), (pfs_group,) if pfs_group else (), ("NO-ESN",)))
        if "ah" in transform:
            child.ah_proposals.append(Proposal(
                f"ipsec proposal {proposal_name}", "AH", (),
                tuple(algorithms.HUAWEI_INTEGRITY.get(word, word.upper())
                      for word in settings.get("ah authentication-algorithm", "sha2-256").split()),
                (), (pfs_group,) if pfs_group else (), ("NO-ESN",)))
    acl = _first(values.get("security acl"))
    if acl is not None and acl in acls:
        child.local_ts, child.remote_ts = _acl_selectors(acls[acl])
    elif header.startswith("ipsec profile"):
        child.local_ts, child.remote_ts = ["0.0.0.0/0"], ["0.0.0.0/0"]
    duration = values.get("sa duration time-based")
    child.lifetime_seconds = int(duration[0]) if duration and duration[0].isdigit() else 3600
    local = _first(values.get("tunnel local")) or peer.get("local-address") or policy_address.get(words[2] if len(words) > 2 else "")
    remote = peer.get("remote-address", "").split()
    local_type = peer.get("local-id-type", "ip")
    local_id = peer.get("local-id") or (local_name if local_type in ("fqdn", "name") else local)
    return ConnectionConfig(
        name=name, local_addrs=[local or "%any"], remote_addrs=[remote[-1]] if remote else ["%any"],
        version=next(iter(versions)) if len(versions) == 1 else None, ike_proposals=ike,
        local_id=local_id, remote_id=peer.get("remote-id") or peer.get("remote-name"),
        local_auth=[auth], remote_auth=[auth], psk_set=psk_set and auth == "psk", psk=psk_fingerprint,
        aggressive=peer.get("exchange-mode", "main").strip() == "aggressive",
        ike_lifetime_seconds=lifetime,
        dpd_delay_seconds=int(m.group(1)) if (m := re.search(r"idle-time (\d+)", peer.get("dpd", ""))) else None,
        nat_traversal=("nat" in peer and "traversal" in peer.get("nat", "")) or None,
        children=[child],
    )
