"""How two gateway configurations, or a configuration and the offers on the wire, differ.

Theory of operation
-------------------
`compare_configs(a, b)` first pairs the connections of the two gateways: a connection of one whose
remote address is a local address of the other (in both directions, ``%any`` fitting anything), then
the same name, then, with one connection on each side, those two. ipsec.conf connections were read
with left as local by convention, so the other gateway's copy is also tried mirrored. Each pair is then
compared the way a negotiation would meet the differences, phase 1 first:

==========================  =====================================  ===============================
kind                        blocking when                          code (SPEC section 5)
==========================  =====================================  ===============================
peer                        one points at an address the other     PeerMismatch
                            does not have
version                     IKEv1 only against IKEv2 only          IkeVersionMismatch
negotiation_mode            IKEv1 aggressive against main mode     NegotiationModeMismatch
encryption, integrity, ...  no IKE proposal pair agrees            `ikesniff.offers.code_for`
auth_method                 psk against pubkey (or xauth)          ProposalMismatch
identity                    the identity one sends is not the one  PeerIdMismatch
                            the other requires
psk                         a PSK on one side only, or two PSKs    PskMismatch
                            that differ (compared by fingerprint)
protocol / algorithms       no ESP/AH proposal pair agrees         `code_for` (PfsMismatch, ...)
pfs                         IKEv2: only the PFS groups differ: the PfsMismatch
                            first CHILD_SA (no KE) comes up, the
                            rekey fails
encapsulation               tunnel against transport               EncapsulationModeMismatch
traffic_selector            the selectors do not meet              TrafficSelectorMismatch
lifetime                    never (IKEv1 lifetimes that differ:    LifetimeMismatch
                            negotiated down, or answered with
                            RESPONDER-LIFETIME)
dh_group (first choice)     never (IKEv2: the initiator's first    DhGroupMismatch
                            KE group is refused, INVALID_KE_PAYLOAD
                            and a retry follow)
==========================  =====================================  ===============================

A `Difference` says which side to change (`change`: the side's label, or 'either' when both could);
`blocking` False marks what negotiates anyway but is worth knowing. Labels are the side's address
when it is a single address, otherwise its file name.

`compare_with_offers(config, offers, side)` compares the offers one peer (`side`, its address) sent
with what `config` accepts (the configuration of the receiver), or, when `config` is the sender's own,
checks that the offers on the wire are what it configures (a mismatch means another configuration
is loaded, or another connection was used).

This module does no I/O and knows nothing of captures, the tracker or the cause catalog.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ikesniff import offers as wire

from .model import ChildConfig, ConnectionConfig, GatewayConfig, Proposal, v1_auth_method
from .swanctl import allows_aggressive_psk

__all__ = ["Difference", "compare_configs", "compare_with_offers"]


@dataclass(frozen=True, slots=True)
class Difference:
    """One way two sides' configurations (or a configuration and the wire) disagree."""

    kind: str
    """'peer', 'version', 'negotiation_mode', 'encryption', 'integrity', 'prf', 'dh_group', 'pfs', 'protocol',
    'esn', 'lifetime', 'auth_method', 'identity', 'psk', 'encapsulation', 'traffic_selector',
    'configuration' (the wire does not show what the sender's file configures); several algorithm kinds
    apart are joined with '+' ('encryption+integrity')."""
    code: str
    """The SPEC section 5 code this difference supports."""
    text: str
    """One sentence with both sides' labels and values."""
    change: str
    """The label of the side to change, or 'either'."""
    blocking: bool = True
    """False when negotiation succeeds anyway (lifetimes, a DH group retried, narrowed selectors)."""
    phase: int | None = None
    """1 (IKE SA), 2 (CHILD_SA / quick mode) or None."""
    connection: str = ""
    """The connections compared ('lab' or 'lab / gw1')."""

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "code": self.code, "text": self.text, "change": self.change,
                "blocking": self.blocking, "phase": self.phase, "connection": self.connection}


# --------------------------------------------------------------------------------------------
# Addresses, identities, selectors
# --------------------------------------------------------------------------------------------
WILDCARDS = frozenset({"%any", "%any4", "%any6", "0.0.0.0", "::", "0.0.0.0/0", "::/0", ""})


def _network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def _range(value: str) -> tuple[int, int, int] | None:
    """(version, first, last) of an address, CIDR or 'a-b' range; None for names and wildcards."""
    value = value.strip()
    if value in WILDCARDS:
        return None
    if "-" in value:
        first_text, _, last_text = value.partition("-")
        first, last = _network(first_text), _network(last_text)
        if first is None or last is None or first.version != last.version:
            return None
        return first.version, int(first.network_address), int(last.broadcast_address)
    network = _network(value)
    if network is None:
        return None
    return network.version, int(network.network_address), int(network.broadcast_address)


def _overlap(left: str, right: str) -> bool | None:
    """Do two address specifications share an address? None when either is a name or unknown."""
    if left.strip() in WILDCARDS or right.strip() in WILDCARDS:
        return True
    a, b = _range(left), _range(right)
    if a is None or b is None:
        return None
    return a[0] == b[0] and a[1] <= b[2] and b[1] <= a[2]


def _concrete(addresses: Sequence[str]) -> list[str]:
    return [address for address in addresses if _range(address) is not None and "/" not in address
            and "-" not in address]


def _address_fit(remote: Sequence[str], local: Sequence[str]) -> int:
    """2: one of `remote` is one of `local`; 1: a wildcard or a name leaves it open; 0: they cannot meet."""
    if not remote or not local or any(item.strip() in WILDCARDS for item in list(remote) + list(local)):
        return 1
    verdicts = [_overlap(r, l) for r in remote for l in local]
    if any(verdict is True for verdict in verdicts):
        return 2
    if any(verdict is None for verdict in verdicts):
        lowered = {item.lower() for item in remote} & {item.lower() for item in local}
        return 2 if lowered else 1
    return 0


def label(config: GatewayConfig, connection: ConnectionConfig) -> str:
    """The side's address when it has exactly one, otherwise its file name."""
    concrete = _concrete(connection.local_addrs)
    return concrete[0] if len(concrete) == 1 else config.source


def _identity(value: str) -> str:
    value = value.strip().strip('"').strip()
    for prefix in ("fqdn:", "dns:", "ipv4:", "ipv6:", "email:", "rfc822:", "userfqdn:", "keyid:", "@#", "@"):
        if value.lower().startswith(prefix):
            value = value[len(prefix):]
            break
    return value.lower()


def _sent_identity(connection: ConnectionConfig) -> str | None:
    """The identity a side sends: its configured one, else its address (the default of every format here
    without a certificate; with one it is the certificate's subject, unknown here)."""
    if connection.local_id and connection.local_id not in ("%any", "%fromcert"):
        return connection.local_id
    if connection.local_id == "%fromcert" or connection.local_auth[:1] == ["pubkey"]:
        return None
    concrete = _concrete(connection.local_addrs)
    return concrete[0] if concrete else None


def _identity_fits(sent: str, required: str | None) -> bool:
    if required is None or _identity(required) in ("%any", "", "%fromcert", "*"):
        return True
    want, have = _identity(required), _identity(sent)
    return want == have or ("*" in want and fnmatch.fnmatchcase(have, want))


def _selectors(values: Sequence[str], addresses: Sequence[str]) -> list[str] | None:
    """Traffic selectors with 'dynamic' replaced by the outer address; None if that address is unknown."""
    resolved: list[str] = []
    for value in values:
        item = value.strip()
        if item.lower() in ("dynamic", "%dynamic"):
            concrete = _concrete(addresses)
            if not concrete:
                return None
            resolved.append(concrete[0])
        else:
            resolved.append(item.split("[", 1)[0])
    return resolved


# --------------------------------------------------------------------------------------------
# Values as the texts show them
# --------------------------------------------------------------------------------------------
def _values(offer: wire.Offer, kind: str) -> str:
    if kind == "encryption":
        values = offer.encryption
    elif kind == "integrity":
        values = offer.integrity or ("none",)
    elif kind == "prf":
        values = offer.prf or ("none",)
    elif kind in ("dh_group", "pfs"):
        groups = tuple(group for group in offer.dh_groups if group != wire.NONE)
        values = groups + (("no PFS",) if kind == "pfs" and (not offer.dh_groups or wire.NONE in offer.dh_groups)
                           else ())
    elif kind == "esn":
        values = offer.esn or (wire.NO_ESN,)
    elif kind == "protocol":
        values = (offer.protocol,)
    elif kind == "auth_method":
        values = offer.auth_methods
    elif kind == "encapsulation":
        values = offer.encapsulation
    elif kind == "lifetime":
        values = tuple(f"{offer.lifetime_seconds}s" for _ in (0,) if offer.lifetime_seconds is not None)
    else:
        values = offer.additional_key_exchanges
    return "|".join(values) or "none"


def _union(offers: Sequence[wire.Offer], kind: str) -> str:
    return " or ".join(dict.fromkeys(_values(offer, kind) for offer in offers))


KIND_WORDS = {"dh_group": "DH group", "pfs": "PFS group", "prf": "PRF", "esn": "ESN", "protocol": "security protocol",
              "auth_method": "authentication method", "encapsulation": "encapsulation mode",
              "additional_ke": "additional key exchange"}


def _algorithm_text(difference: wire.Difference, offers_a: Sequence[wire.Offer], offers_b: Sequence[wire.Offer],
                    names: tuple[str, str], verbs: tuple[str, str]) -> str:
    """'encryption: A offers AES-CBC-256; B accepts AES-CBC-128 only' (one clause per differing kind)."""
    clauses = []
    for kind in difference.kinds:
        word = KIND_WORDS.get(kind, kind)
        if kind == "integrity" and offers_a and offers_a[0].protocol == "IKE" and offers_a[0].version == 1:
            word = "hash"
        accepted = _union(offers_b, kind)
        only = " only" if verbs[1] == "accepts" and accepted not in ("no PFS", "none") else ""
        clauses.append(f"{word}: {names[0]} {verbs[0]} {_union(offers_a, kind)}; {names[1]} {verbs[1]} {accepted}{only}")
    return "; ".join(clauses)


def _kinds(difference: wire.Difference) -> str:
    return "+".join(difference.kinds)


# --------------------------------------------------------------------------------------------
# Configuration against configuration
# --------------------------------------------------------------------------------------------
def _pair_score(a: ConnectionConfig, b: ConnectionConfig) -> int:
    forward = _address_fit(a.remote_addrs, b.local_addrs)
    backward = _address_fit(b.remote_addrs, a.local_addrs)
    if forward == 0 or backward == 0:
        return 1 if a.name == b.name else 0
    return forward + backward + (1 if a.name == b.name else 0)


def _pairs(a: GatewayConfig, b: GatewayConfig) -> list[tuple[ConnectionConfig, ConnectionConfig, bool]]:
    """(connection of a, connection of b, addresses fit) pairs, best first, each connection used once."""
    scored: list[tuple[int, int, int, ConnectionConfig]] = []
    for index_a, conn_a in enumerate(a.connections):
        for index_b, conn_b in enumerate(b.connections):
            candidates = [conn_b] + ([conn_b.mirrored()] if conn_b.sided_by_convention else [])
            best = max(candidates, key=lambda candidate: _pair_score(conn_a, candidate))
            scored.append((_pair_score(conn_a, best), index_a, index_b, best))
    scored.sort(key=lambda item: (-item[0], item[1], item[2]))
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs: list[tuple[ConnectionConfig, ConnectionConfig, bool]] = []
    for score, index_a, index_b, conn_b in scored:
        if index_a in used_a or index_b in used_b:
            continue
        if score == 0 and not (len(a.connections) == 1 and len(b.connections) == 1):
            continue
        used_a.add(index_a)
        used_b.add(index_b)
        conn_a = a.connections[index_a]
        fits = _address_fit(conn_a.remote_addrs, conn_b.local_addrs) and _address_fit(conn_b.remote_addrs,
                                                                                      conn_a.local_addrs)
        pairs.append((conn_a, conn_b, bool(fits)))
    return pairs


def compare_configs(a: GatewayConfig, b: GatewayConfig) -> list[Difference]:
    """Every difference between two gateways' configurations, phase 1 first, blocking ones first."""
    differences: list[Difference] = []
    pairs = _pairs(a, b)
    if not pairs and a.connections and b.connections:
        differences.append(Difference(
            "peer", "PeerMismatch",
            f"no connection of {a.source} points at {b.source} or the other way round "
            f"({a.source}: {_routes(a)}; {b.source}: {_routes(b)})", "either", phase=1))
    for conn_a, conn_b, fits in pairs:
        differences.extend(_compare_pair(a, conn_a, b, conn_b, fits))
    return sorted(differences, key=lambda item: (not item.blocking, item.phase or 3))


def _routes(config: GatewayConfig) -> str:
    return ", ".join(f"{conn.name} {','.join(conn.local_addrs)} -> {','.join(conn.remote_addrs)}"
                     for conn in config.connections)


def _compare_pair(a: GatewayConfig, conn_a: ConnectionConfig, b: GatewayConfig, conn_b: ConnectionConfig,
                  fits: bool) -> list[Difference]:
    name_a, name_b = label(a, conn_a), label(b, conn_b)
    where = conn_a.name if conn_a.name == conn_b.name else f"{conn_a.name} / {conn_b.name}"
    found: list[Difference] = []

    def add(kind: str, code: str, text: str, change: str, blocking: bool = True, phase: int | None = 1) -> None:
        found.append(Difference(kind, code, text, change, blocking, phase, where))

    if not fits:
        add("peer", "PeerMismatch",
            f"peer address: {name_a} points at {','.join(conn_a.remote_addrs)}, {name_b} is at "
            f"{','.join(conn_b.local_addrs)} and points at {','.join(conn_b.remote_addrs)}", "either")
    # --- IKE version
    if conn_a.version and conn_b.version and conn_a.version != conn_b.version:
        add("version", "IkeVersionMismatch",
            f"IKE version: {name_a} speaks IKEv{conn_a.version} only, {name_b} IKEv{conn_b.version} only", "either")
        return found
    version = conn_a.version or conn_b.version or 2
    # --- IKEv1 exchange mode
    if version == 1 and conn_a.aggressive != conn_b.aggressive:
        def mode(connection: ConnectionConfig) -> str:
            return "aggressive mode" if connection.aggressive else "main mode"
        add("negotiation_mode", "NegotiationModeMismatch",
            f"IKEv1 exchange mode: {name_a} uses {mode(conn_a)}, {name_b} {mode(conn_b)}", "either")
    elif version == 1 and conn_a.aggressive:
        for config, connection, name in ((a, conn_a, name_a), (b, conn_b, name_b)):
            if "psk" in connection.local_auth[:1] and allows_aggressive_psk(config) is False:
                add("negotiation_mode", "NegotiationModeMismatch",
                    f"IKEv1 aggressive mode with a PSK: {name} (strongSwan) refuses it as responder unless "
                    f"strongswan.conf sets charon.i_dont_care_about_security_and_use_aggressive_mode_psk = yes",
                    name)
    # --- IKE proposals (authentication methods apart: compared below for both versions)
    offers_a = [proposal.offer(version, number=number) for number, proposal in enumerate(conn_a.ike_proposals, 1)]
    offers_b = [proposal.offer(version, number=number) for number, proposal in enumerate(conn_b.ike_proposals, 1)]
    difference = wire.compare(offers_a, offers_b, names=(name_a, name_b), lifetime=False)
    if difference is not None:
        add(_kinds(difference), difference.code,
            f"IKE proposals differ: {_algorithm_text(difference, offers_a, offers_b, (name_a, name_b), ('proposes', 'proposes'))}",
            "either")
    elif version == 2 and offers_a and offers_b:
        first = _first_choice_refused(offers_a, offers_b)
        if first is not None:
            add("dh_group", "DhGroupMismatch",
                f"DH group: {name_a} sends its key exchange for {first} first, which {name_b} does not accept; "
                f"{name_b} answers INVALID_KE_PAYLOAD and {name_a} retries with a common group "
                f"(one round trip lost)", name_a, blocking=False)
    if version == 1 and conn_a.ike_lifetime_seconds and conn_b.ike_lifetime_seconds \
            and conn_a.ike_lifetime_seconds != conn_b.ike_lifetime_seconds:
        add("lifetime", "LifetimeMismatch",
            f"IKE SA lifetime: {name_a} states {conn_a.ike_lifetime_seconds}s, {name_b} "
            f"{conn_b.ike_lifetime_seconds}s (negotiates, but the sides rekey at different times)", "either",
            blocking=False)
    # --- authentication
    for sender, s_name, receiver, r_name, s_config, r_config in (
            (conn_a, name_a, conn_b, name_b, a, b), (conn_b, name_b, conn_a, name_a, b, a)):
        sent = _base_auth(sender.local_auth)
        wanted = _base_auth(receiver.remote_auth)
        if sent and wanted and sent != wanted:
            add("auth_method", "ProposalMismatch",
                f"authentication method: {s_name} authenticates with {sent}, {r_name} expects {wanted}", "either")
        identity = _sent_identity(sender)
        if identity is not None and not _identity_fits(identity, receiver.remote_id):
            add("identity", "PeerIdMismatch",
                f"identity: {r_name} expects {s_name} to be {receiver.remote_id}, {s_name} sends {identity} "
                f"(change {r_name}'s remote identity or {s_name}'s local identity)", r_name)
    found.extend(_compare_psk(a, conn_a, name_a, b, conn_b, name_b, where))
    # --- CHILD_SAs
    for child_a, child_b in _child_pairs(conn_a.children, conn_b.children):
        found.extend(_compare_children(conn_a, child_a, name_a, conn_b, child_b, name_b, version, where))
    return found


def _base_auth(rounds: Sequence[str]) -> str | None:
    if not rounds:
        return None
    first = rounds[0]
    if first.startswith("xauth-"):
        return first.removeprefix("xauth-")
    if first.startswith("eap"):
        return "eap"
    return first


def _first_choice_refused(offers_a: Sequence[wire.Offer], offers_b: Sequence[wire.Offer]) -> str | None:
    """IKEv2: the group a's first proposal leads with, when b accepts it nowhere."""
    if not offers_a[0].dh_groups:
        return None
    first = offers_a[0].dh_groups[0]
    accepted = {group for offer in offers_b for group in offer.dh_groups}
    return first if first not in accepted and first != wire.NONE else None


def _uses_psk(connection: ConnectionConfig) -> bool:
    return any(method in ("psk", "xauth-psk") for method in connection.local_auth + connection.remote_auth)


def _knows_secrets(config: GatewayConfig) -> bool:
    """Whether the file shows the gateway's secrets (so 'no PSK' is a fact, not a missing file)."""
    return bool(config.secrets) or config.format in ("huawei", "vpnc")


def _compare_psk(a: GatewayConfig, conn_a: ConnectionConfig, name_a: str, b: GatewayConfig,
                 conn_b: ConnectionConfig, name_b: str, where: str) -> list[Difference]:
    if not (_uses_psk(conn_a) and _uses_psk(conn_b)):
        return []
    found = []
    for config, connection, name, other in ((a, conn_a, name_a, name_b), (b, conn_b, name_b, name_a)):
        if not connection.psk_set and _knows_secrets(config):
            found.append(Difference("psk", "PskMismatch",
                                    f"pre-shared key: {name} has no PSK for connection {connection.name} "
                                    f"({other} has one)", name, True, 1, where))
    if not found and conn_a.psk is not None and conn_b.psk is not None and conn_a.psk != conn_b.psk:
        found.append(Difference("psk", "PskMismatch",
                                f"pre-shared key: {name_a} and {name_b} hold different PSKs (values not shown)",
                                "either", True, 1, where))
    return found


def _child_pairs(children_a: Sequence[ChildConfig],
                 children_b: Sequence[ChildConfig]) -> list[tuple[ChildConfig, ChildConfig]]:
    by_name = {child.name: child for child in children_b}
    pairs: list[tuple[ChildConfig, ChildConfig]] = []
    rest_b = list(children_b)
    for child in children_a:
        partner = by_name.get(child.name)
        if partner is not None and partner in rest_b:
            pairs.append((child, partner))
            rest_b.remove(partner)
    rest_a = [child for child in children_a if all(child is not pair[0] for pair in pairs)]
    pairs.extend(zip(rest_a, rest_b))
    return pairs


def _child_offers(connection: ConnectionConfig, child: ChildConfig, version: int) -> list[wire.Offer]:
    proposals: list[Proposal] = child.esp_proposals + child.ah_proposals
    return [proposal.offer(version, number=number) for number, proposal in enumerate(proposals, 1)]


def _compare_children(conn_a: ConnectionConfig, child_a: ChildConfig, name_a: str, conn_b: ConnectionConfig,
                      child_b: ChildConfig, name_b: str, version: int, where: str) -> list[Difference]:
    found: list[Difference] = []
    where = where if child_a.name == child_b.name else f"{where} ({child_a.name} / {child_b.name})"

    def add(kind: str, code: str, text: str, change: str, blocking: bool = True) -> None:
        found.append(Difference(kind, code, text, change, blocking, 2, where))

    offers_a = _child_offers(conn_a, child_a, version)
    offers_b = _child_offers(conn_b, child_b, version)
    first_a, first_b = (wire.without_key_exchange(offers_a), wire.without_key_exchange(offers_b)) \
        if version == 2 else (offers_a, offers_b)
    difference = wire.compare(first_a, first_b, names=(name_a, name_b), lifetime=False)
    if difference is not None:
        add(_kinds(difference), difference.code,
            f"{'ESP/AH' if version == 2 else 'quick mode'} proposals differ: "
            f"{_algorithm_text(difference, first_a, first_b, (name_a, name_b), ('proposes', 'proposes'))}",
            "either")
    elif version == 2:
        rekey = wire.compare(offers_a, offers_b, names=(name_a, name_b), lifetime=False)
        if rekey is not None:
            add(_kinds(rekey), rekey.code,
                f"{_algorithm_text(rekey, offers_a, offers_b, (name_a, name_b), ('proposes', 'proposes'))}: "
                f"the first CHILD_SA (made in IKE_AUTH without a key exchange) comes up, its rekey is refused",
                "either")
    if version == 1 and child_a.lifetime_seconds and child_b.lifetime_seconds \
            and child_a.lifetime_seconds != child_b.lifetime_seconds:
        add("lifetime", "LifetimeMismatch",
            f"IPsec SA lifetime: {name_a} states {child_a.lifetime_seconds}s, {name_b} {child_b.lifetime_seconds}s "
            f"(the responder takes the shorter or answers RESPONDER-LIFETIME)", "either", blocking=False)
    modes = {child_a.mode, child_b.mode}
    if {"tunnel", "transport"} <= modes:
        add("encapsulation", "EncapsulationModeMismatch",
            f"encapsulation mode: {name_a} uses {child_a.mode} mode, {name_b} {child_b.mode} mode", "either")
    found.extend(_compare_selectors(conn_a, child_a, name_a, conn_b, child_b, name_b, version, where))
    return found


def _compare_selectors(conn_a: ConnectionConfig, child_a: ChildConfig, name_a: str, conn_b: ConnectionConfig,
                       child_b: ChildConfig, name_b: str, version: int, where: str) -> list[Difference]:
    found: list[Difference] = []
    for mine, theirs, direction in ((child_a.local_ts, child_b.remote_ts, "behind"),
                                    (child_a.remote_ts, child_b.local_ts, "remote")):
        if direction == "behind":
            left = _selectors(mine, conn_a.local_addrs)
            right = _selectors(theirs, conn_b.remote_addrs)
            subject = f"{name_a}'s local side"
        else:
            left = _selectors(mine, conn_a.remote_addrs)
            right = _selectors(theirs, conn_b.local_addrs)
            subject = f"{name_b}'s local side"
        if not left or not right:
            continue
        verdicts = [_overlap(x, y) for x in left for y in right]
        if any(verdict is None for verdict in verdicts):
            continue
        a_text, b_text = ",".join(left), ",".join(right)
        side_a = "local" if direction == "behind" else "remote"
        side_b = "remote" if direction == "behind" else "local"
        if not any(verdicts):
            found.append(Difference(
                "traffic_selector", "TrafficSelectorMismatch",
                f"traffic selectors for {subject} do not meet: {name_a} has {side_a}_ts {a_text}, "
                f"{name_b} has {side_b}_ts {b_text} (they must mirror each other)", "either", True, 2, where))
        elif sorted(left) != sorted(right) and version == 1:
            found.append(Difference(
                "traffic_selector", "TrafficSelectorMismatch",
                f"traffic selectors for {subject} are not mirrored: {name_a} has {side_a}_ts {a_text}, "
                f"{name_b} has {side_b}_ts {b_text}; IKEv1 peers that do not narrow refuse this", "either",
                False, 2, where))
    return found


# --------------------------------------------------------------------------------------------
# Configuration against the wire
# --------------------------------------------------------------------------------------------
def compare_with_offers(config: GatewayConfig, offers: Sequence[wire.Offer], side: str, *,
                        peer: str | None = None, exchange: str | None = None) -> list[Difference]:
    """How the `offers` that `side` (the sender's address) put on the wire fit `config`.

    When `config` is the receiver's (no connection has `side` as a local address), each difference
    names what the sender offers and what the receiver accepts, and the receiver as the side to
    change. When `config` is the sender's own, a difference means the wire does not show what the file
    configures. `peer`: the receiver's address, to pick the connection; `exchange`: the exchange name
    ('IKE_SA_INIT', 'IKE_AUTH', 'CREATE_CHILD_SA', 'AGGRESSIVE', 'IDENTITY_PROTECTION', 'QUICK_MODE'),
    which decides whether PFS groups and the IKEv1 exchange mode count."""
    if not offers or not config.connections:
        return []
    own = [connection for connection in config.connections
           if any(_overlap(address, side) for address in _concrete(connection.local_addrs))]
    if not own and peer is not None:
        # the sender's own file seen through a NAT: it points at the receiver, and the address on the wire
        # (the NAT's) is neither its local address nor one it would accept as a peer
        own = [connection for connection in config.connections
               if _address_fit(connection.remote_addrs, [peer]) == 2
               and _address_fit(connection.remote_addrs, [side]) != 2
               and not any(_overlap(address, peer) for address in _concrete(connection.local_addrs))]
    if own:
        connection = _best_connection(own, peer, remote=True)
        return _check_own(config, connection, offers, side, exchange)
    candidates = [connection for connection in config.connections
                  if _address_fit(connection.remote_addrs, [side])
                  and (peer is None or _address_fit(connection.local_addrs, [peer]))]
    if not candidates:
        receiver = peer or config.source
        return [Difference("peer", "PeerMismatch",
                           f"peer address: {config.source} has no connection for {side} "
                           f"({_routes(config)})", receiver, True, 1)]
    connection = _best_connection(candidates, side, remote=True)
    receiver = peer if peer and _concrete([peer]) else label(config, connection)
    return _check_received(config, connection, offers, side, receiver, exchange)


def _best_connection(connections: Sequence[ConnectionConfig], address: str | None,
                     remote: bool) -> ConnectionConfig:
    if address is None:
        return connections[0]
    return max(connections, key=lambda connection: _address_fit(
        connection.remote_addrs if remote else connection.local_addrs, [address]))


def _wire_version(offers: Sequence[wire.Offer]) -> int:
    return next((offer.version for offer in offers if offer.version), 2)


def _check_received(config: GatewayConfig, connection: ConnectionConfig, offers: Sequence[wire.Offer], sender: str,
                    receiver: str, exchange: str | None) -> list[Difference]:
    found: list[Difference] = []
    version = _wire_version(offers)

    def add(kind: str, code: str, text: str, phase: int | None, blocking: bool = True) -> None:
        found.append(Difference(kind, code, text, receiver, blocking, phase, connection.name))

    if connection.version and connection.version != version:
        add("version", "IkeVersionMismatch",
            f"IKE version: {sender} speaks IKEv{version}, {receiver} accepts IKEv{connection.version} only", 1)
        return found
    if version == 1 and exchange in ("AGGRESSIVE", "IDENTITY_PROTECTION"):
        aggressive = exchange == "AGGRESSIVE"
        if aggressive != connection.aggressive:
            add("negotiation_mode", "NegotiationModeMismatch",
                f"IKEv1 exchange mode: {sender} uses {'aggressive' if aggressive else 'main'} mode, {receiver} "
                f"is configured for {'aggressive' if connection.aggressive else 'main'} mode", 1)
        elif aggressive and "psk" in connection.local_auth[:1] and allows_aggressive_psk(config) is False:
            add("negotiation_mode", "NegotiationModeMismatch",
                f"IKEv1 aggressive mode with a PSK: {receiver} (strongSwan) refuses it unless strongswan.conf sets "
                f"charon.i_dont_care_about_security_and_use_aggressive_mode_psk = yes", 1)
    ike = [offer for offer in offers if offer.protocol == "IKE"]
    if ike:
        mine = connection.ike_offers(version)
        if version == 1:
            theirs_methods = {method for offer in ike for method in offer.auth_methods}
            if not theirs_methods:
                mine = [_without_auth(offer) for offer in mine]
            else:
                mine = [replace(offer, auth_methods=_v1_accepted_methods(connection)) for offer in mine]
        difference = wire.compare(ike, mine, names=(sender, receiver), lifetime=False)
        if difference is not None:
            add(_kinds(difference), difference.code,
                _algorithm_text(difference, ike, mine, (sender, receiver), ("offers", "accepts")), 1)
    child = [offer for offer in offers if offer.protocol != "IKE"]
    best = _child_difference(connection, child, version, exchange, (sender, receiver))
    if best is not None:
        difference, theirs, mine = best
        add(_kinds(difference), difference.code,
            _algorithm_text(difference, theirs, mine, (sender, receiver), ("offers", "accepts")), 2)
    return found


def _child_difference(connection: ConnectionConfig, child: Sequence[wire.Offer], version: int,
                      exchange: str | None, names: tuple[str, str]
                      ) -> tuple[wire.Difference, list[wire.Offer], list[wire.Offer]] | None:
    """The closest miss between ESP/AH offers and the connection's children; None if one child agrees."""
    if not child or not connection.children:
        return None
    key_exchange = not (version == 2 and exchange == "IKE_AUTH")
    best: tuple[int, wire.Difference, list[wire.Offer], list[wire.Offer]] | None = None
    for child_config in connection.children:
        mine = _child_offers(connection, child_config, version)
        theirs = list(child)
        if version == 1:
            mine = [_with_mode(offer, child_config.mode) for offer in mine]
        if not key_exchange:
            mine, theirs = wire.without_key_exchange(mine), wire.without_key_exchange(theirs)
        difference = wire.compare(theirs, mine, names=names, lifetime=False)
        if difference is None:
            return None
        if best is None or len(difference.kinds) < best[0]:
            best = (len(difference.kinds), difference, theirs, mine)
    return None if best is None else best[1:]


def _v1_accepted_methods(connection: ConnectionConfig) -> tuple[str, ...]:
    """IKEv1 authentication methods a responder with this connection accepts: its own method, and the
    XAUTH variant of it when it runs XAUTH as server (the initiator then proposes XAUTH-INIT-...)."""
    methods: list[str] = []
    base = v1_auth_method(connection.local_auth[:1])
    if base:
        methods.append(base)
    if any(method == "xauth" for method in connection.remote_auth[1:] + connection.local_auth[1:]):
        xauth = v1_auth_method([connection.local_auth[0], "xauth"]) if connection.local_auth else None
        if xauth:
            methods.append(xauth)
    return tuple(methods)


def _without_auth(offer: wire.Offer) -> wire.Offer:
    return replace(offer, auth_methods=())


def _with_mode(offer: wire.Offer, mode: str) -> wire.Offer:
    if mode in ("tunnel", "transport"):
        return replace(offer, encapsulation=(mode.upper(),))
    return offer


def _check_own(config: GatewayConfig, connection: ConnectionConfig, offers: Sequence[wire.Offer], sender: str,
               exchange: str | None) -> list[Difference]:
    """The sender's own file against what it sent: every offer on the wire should be one it configures."""
    found: list[Difference] = []
    version = _wire_version(offers)
    if connection.version and connection.version != version:
        found.append(Difference("configuration", "IkeVersionMismatch",
                                f"{sender} sent IKEv{version} but {config.source} configures IKEv{connection.version} "
                                f"for {connection.name}: another configuration is loaded", sender, False, 1,
                                connection.name))
        return found
    ike = [offer for offer in offers if offer.protocol == "IKE"]
    mine = [_without_auth(offer) for offer in connection.ike_offers(version)]
    if ike and mine:
        difference = wire.compare([_without_auth(offer) for offer in ike], mine, names=(sender, config.source),
                                  lifetime=False)
        if difference is not None:
            found.append(Difference(
                "configuration", difference.code,
                f"{sender} sent {wire.offers_text(ike, 2)} but {config.source} configures "
                f"{', '.join(proposal.summary for proposal in connection.ike_proposals[:2])} for "
                f"{connection.name}: the file is not what is loaded, or another connection was used",
                sender, False, 1, connection.name))
    child = [offer for offer in offers if offer.protocol != "IKE"]
    best = _child_difference(connection, child, version, exchange, (sender, config.source))
    if best is not None:
        difference, theirs, mine_child = best
        found.append(Difference(
            "configuration", difference.code,
            f"{sender} sent {wire.offers_text(theirs, 2)} but {config.source} configures "
            f"{wire.offers_text(mine_child, 2)} for {connection.name}: the file is not what is loaded, or "
            f"another connection was used", sender, False, 2, connection.name))
    return found
