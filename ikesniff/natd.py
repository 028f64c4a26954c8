"""NAT detection as a fact: recompute the NAT-D hashes a peer sent and compare them with the
addresses and ports its packet actually carried.

Pure functions and small dataclasses. This module knows nothing of captures, sockets, the tracker's
state or any output format; it reads dissected messages and plain addresses, and says in words what
it found.

Theory of operation
-------------------
Each IKE peer puts into its NAT detection payloads a hash of the addresses and ports it believes
the packet travels with:

* IKEv2 (RFC 7296 §2.23): NAT_DETECTION_SOURCE_IP and NAT_DETECTION_DESTINATION_IP notifies,
  SHA-1(SPIi | SPIr | IP address | port), with the SPIs of the message header (SPIr is zero in the
  IKE_SA_INIT request).
* IKEv1 (RFC 3947 §3.2): NAT-D payloads, HASH(CKY-I | CKY-R | IP | port) with the hash algorithm
  negotiated in phase 1 (the HASH_ALGORITHM of the responder's chosen transform), so 16 octets with
  MD5, 20 with SHA1, 32/48/64 with SHA2. The first NAT-D hashes the destination, every further one a
  possible source. draft-ietf-ipsec-nat-t-ike-02/03 used the same layout and order in the private
  payload type 130. Some pre-RFC peers used type 15 (Openswan calls them the "bad drafts"), which
  RFC 3547 gave to GDOI's SA KEK: it is read as NAT-D only inside the phase-1 exchanges (main and
  aggressive mode), where GDOI never puts it; tcpdump's ISAKMP_sa_setup.pcap shows the same layout.
  In every layout the IP address is 4 or 16 octets and the port 2 octets, network byte order.

A capture point sees a packet somewhere on its path. A hash that matches the address and port the
packet carried *here* says that nothing translated them between the sender and this point; a hash
that does not says something did. Hence, for one message:

* source hash matches the packet's source and destination hash its destination: no NAT between the
  sender and the capture point (a NAT beyond it shows in the other direction's message);
* source hash matches another address/port seen for that peer: the sender is behind NAT, and the
  hash names the address it believes it has;
* destination hash matches anything but the packet's destination: the receiver is behind NAT (the
  sender addressed a translated address; a port-forwarding NAT, or a capture on the receiver's side);
* a hash over one of the addresses with port 0: a NAT-D faked on purpose to force UDP encapsulation
  (Openswan's `forceencaps` hashes both sides with port 0);
* source hash matching no address seen: strongSwan fakes it this way (random address, port 0) when
  it must encapsulate (kernel-libipsec, `encap = yes`); a NAT whose inside address the capture never
  shows looks exactly the same. When the source port is not an IKE port (500, 4500) a NAT's port
  translation is the likelier reading and the sender is called behind NAT on that evidence alone
  (`sender_by_port`); otherwise the verdict stays "cannot match any address seen". When neither
  hash matches anything, the hashes themselves are in doubt and nothing is concluded.

`assess` judges one message; `judge_peer` puts a peer's own message and the other side's message to
it together (the other side's destination hash is the peer's address as the other side saw it),
which also tells where the capture stands: inside the peer's NAT, its honest source hash matches.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple

from dissectors import Message, Notify
from dissectors.ikev1 import NatDiscoveryPayload, SecurityAssociationPayload
from dissectors.model import OpaquePayload

# --------------------------------------------------------------------------------------------
# Hash algorithms and payload dialects
# --------------------------------------------------------------------------------------------
HASH_FUNCTIONS: dict[str, Callable[[bytes], bytes]] = {
    "MD5": lambda data: hashlib.md5(data, usedforsecurity=False).digest(),
    "SHA1": lambda data: hashlib.sha1(data, usedforsecurity=False).digest(),
    "SHA2-256": lambda data: hashlib.sha256(data).digest(),
    "SHA2-384": lambda data: hashlib.sha384(data).digest(),
    "SHA2-512": lambda data: hashlib.sha512(data).digest(),
}
"""IKEv1 Oakley hash algorithms (RFC 2409 App. A, RFC 4868), named as `dissectors.ikev1_registry`
names them. TIGER (3) has no implementation here: its NAT-D is reported as not computable."""

HASH_BY_LENGTH: dict[int, str] = {16: "MD5", 20: "SHA1", 32: "SHA2-256", 48: "SHA2-384", 64: "SHA2-512"}
"""Digest size -> algorithm: unambiguous among the algorithms above, so the size of a NAT-D tells
the phase-1 hash when the SA negotiation was not captured."""

IKEV2_HASH = "SHA1"
"""RFC 7296 §2.23 fixes SHA-1 for IKEv2 NAT detection, whatever the PRF."""

IKE_PORTS: frozenset[int] = frozenset({500, 4500})

NATD_SOURCE_IP = 16388
NATD_DESTINATION_IP = 16389
NATD_PAYLOAD_RFC = 20
NATD_PAYLOAD_DRAFT = 130
NATD_PAYLOAD_EARLY_DRAFT = 15
PHASE1_EXCHANGES = frozenset({2, 4})
"""Main mode (identity protection) and aggressive mode: the only IKEv1 exchanges that carry NAT-D."""

DIALECTS: dict[int, str] = {
    NATD_SOURCE_IP: "RFC 7296",
    NATD_PAYLOAD_RFC: "RFC 3947",
    NATD_PAYLOAD_DRAFT: "draft-ietf-ipsec-nat-t-ike-02/03",
    NATD_PAYLOAD_EARLY_DRAFT: "pre-RFC draft (payload 15)",
}


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------
class Endpoint(NamedTuple):
    """An address and a UDP port; a plain (address, port) tuple compares equal."""

    address: str
    port: int

    def __str__(self) -> str:
        return f"[{self.address}]:{self.port}" if ":" in self.address else f"{self.address}:{self.port}"


class NatVerdict(StrEnum):
    """What one message's NAT detection payloads say about the path up to the capture point."""

    NO_NAT = "no NAT"
    SENDER_BEHIND_NAT = "sender behind NAT"
    RECEIVER_BEHIND_NAT = "receiver behind NAT"
    BOTH_BEHIND_NAT = "sender and receiver behind NAT"
    FAKED = "NAT-D faked to force encapsulation"
    UNMATCHED_SOURCE = "cannot match any address seen"
    NOT_COMPUTABLE = "not computable"


class Match(StrEnum):
    """What the hashes of one kind (source or destination) turned out to cover."""

    PACKET = "the packet's own address and port"
    OTHER = "another address or port seen"
    PORT_ZERO = "an address with port 0"
    NOTHING = "no address seen"
    ABSENT = "no hash of this kind"
    NOT_COMPUTABLE = "no usable hash"


@dataclass(frozen=True, slots=True)
class NatdHashes:
    """The NAT detection hashes one message carries, split by role."""

    source: tuple[bytes, ...]
    """Hashes of the addresses the sender believes it sends from (IKEv1: every NAT-D after the first)."""
    destination: tuple[bytes, ...]
    """Hashes of the address the sender sends to (IKEv1: the first NAT-D)."""
    payload_type: int
    """20 or 130 or 15 (IKEv1 NAT-D payload type), or 16388 for IKEv2 notifies."""
    dialect: str
    """'RFC 7296', 'RFC 3947', 'draft-ietf-ipsec-nat-t-ike-02/03' or 'pre-RFC draft (payload 15)'."""


@dataclass(frozen=True, slots=True)
class NatAssessment:
    """One message's NAT detection payloads checked against the addresses its packet carried."""

    verdict: NatVerdict
    reason: str
    """The finding in a sentence or two, naming addresses and ports."""
    hash_name: str | None
    """The algorithm the hashes were recomputed with ('SHA1' for IKEv2); None when none fitted."""
    packet_source: Endpoint
    """Where the packet came from, as captured."""
    packet_destination: Endpoint
    source: Match
    source_endpoint: Endpoint | None
    """The address and port a source hash was found to cover (port 0 for a faked one), if any."""
    destination: Match
    destination_endpoint: Endpoint | None
    sender_behind_nat: bool
    """The sender's address or port was translated before the capture point."""
    receiver_behind_nat: bool
    """The destination the sender used was translated before the capture point."""
    sender_by_port: bool
    """`sender_behind_nat` rests only on a non-IKE source port: no hash proves it."""
    odd_source_port: bool
    """The packet's source port is not an IKE port (500 or 4500 unless told otherwise)."""


@dataclass(frozen=True, slots=True)
class PeerNat:
    """What both directions of an exchange say about one peer."""

    behind_nat: bool | None
    """True: translated somewhere between the peer and the other one; False: not; None: the wire
    cannot tell (an unmatchable NAT-D on IKE ports, or a direction missing)."""
    by_port: bool
    """`behind_nat` rests only on the peer's non-IKE source port, not on a hash."""
    natd_faked: bool | None
    """The peer's own NAT-D was faked (port 0, or a source hash that had to match where the capture
    stands); None when that cannot be told."""
    reason: str


# --------------------------------------------------------------------------------------------
# The hash
# --------------------------------------------------------------------------------------------
def expected_hash(version: int, spi_i: bytes, spi_r: bytes, address: str, port: int,
                  hash_name: str | None = None) -> bytes:
    """The NAT-D hash a sender computes for `address`:`port`.

    IKEv2 always uses SHA-1 (`hash_name` must then be None or 'SHA1'); IKEv1 needs the phase-1 hash
    ('MD5', 'SHA1', 'SHA2-256', 'SHA2-384', 'SHA2-512'). Raises ValueError for an unknown algorithm
    or address, a port outside 0..65535, or SPIs that are not 8 octets each."""
    if version == 2:
        if hash_name not in (None, IKEV2_HASH):
            raise ValueError(f"IKEv2 NAT detection uses SHA1, not {hash_name}")
        hash_name = IKEV2_HASH
    elif hash_name is None:
        raise ValueError("IKEv1 NAT-D needs the hash algorithm negotiated in phase 1")
    function = HASH_FUNCTIONS.get(hash_name)
    if function is None:
        raise ValueError(f"no implementation of hash algorithm {hash_name}")
    if len(spi_i) != 8 or len(spi_r) != 8:
        raise ValueError(f"SPIs must be 8 octets each, not {len(spi_i)} and {len(spi_r)}")
    if not 0 <= port <= 0xFFFF:
        raise ValueError(f"port {port} is outside 0..65535")
    packed = _packed(address)
    if packed is None:
        raise ValueError(f"{address!r} is not an IP address")
    return function(bytes(spi_i) + bytes(spi_r) + packed + port.to_bytes(2, "big"))


# --------------------------------------------------------------------------------------------
# Reading dissected messages
# --------------------------------------------------------------------------------------------
def natd_hashes(message: Message) -> NatdHashes | None:
    """The NAT detection hashes of a dissected message; None when it carries none in clear."""
    if message.version == 2:
        source = tuple(p.data for p in message.payloads
                       if isinstance(p, Notify) and p.notify_type == NATD_SOURCE_IP)
        destination = tuple(p.data for p in message.payloads
                            if isinstance(p, Notify) and p.notify_type == NATD_DESTINATION_IP)
        if not source and not destination:
            return None
        return NatdHashes(source, destination, NATD_SOURCE_IP, DIALECTS[NATD_SOURCE_IP])
    if message.version != 1:
        return None
    found: list[bytes] = []
    payload_type = 0
    phase1 = message.header.exchange_type in PHASE1_EXCHANGES
    for payload in message.payloads:
        if isinstance(payload, NatDiscoveryPayload) or (
                phase1 and isinstance(payload, OpaquePayload) and payload.type == NATD_PAYLOAD_EARLY_DRAFT):
            found.append(payload.data)
            payload_type = payload_type or payload.type
    if not found:
        return None
    return NatdHashes(tuple(found[1:]), tuple(found[:1]), payload_type, DIALECTS[payload_type])


def negotiated_hash(message: Message) -> str | None:
    """The phase-1 hash algorithm an IKEv1 responder chose, from the SA payload of its message 2.

    Only an SA with exactly one ISAKMP transform is a choice (an initiator's offer may carry many);
    None when the message holds no such SA or the transform names no hash."""
    if message.version != 1:
        return None
    for payload in message.payloads:
        if not isinstance(payload, SecurityAssociationPayload):
            continue
        transforms = [t for proposal in payload.proposals if proposal.protocol_id == 1
                      for t in proposal.transforms]
        if len(transforms) != 1:
            return None
        for attribute in transforms[0].attributes:
            if attribute.name == "HASH_ALGORITHM":
                return attribute.value_name
    return None


# --------------------------------------------------------------------------------------------
# Assessment
# --------------------------------------------------------------------------------------------
def assess(version: int, spi_i: bytes, spi_r: bytes, source_hashes: Sequence[bytes],
           destination_hashes: Sequence[bytes], src: str, sport: int, dst: str, dport: int, *,
           hash_name: str | None = None, seen: Iterable[tuple[str, int]] = (),
           ike_ports: Iterable[int] = IKE_PORTS) -> NatAssessment:
    """Check one message's NAT detection hashes against the addresses its packet carried.

    `spi_i`/`spi_r` are the SPIs (cookies) of the message's header; `src`:`sport` -> `dst`:`dport`
    the packet as captured. `hash_name` is the IKEv1 phase-1 hash (inferred from the digest size when
    None or when it does not fit); it is ignored for IKEv2. `seen` lists other addresses and ports
    known for these peers (other datagrams of the SA, addresses in ID or NAT-OA payloads, the other
    side of a NAT captured too); the packet's addresses with ports 500 and 4500 are always tried."""
    packet_source = Endpoint(src, sport)
    packet_destination = Endpoint(dst, dport)
    candidates = _candidates(packet_source, packet_destination, seen)
    calculator = _Calculator(version, spi_i, spi_r, hash_name)
    source_matched = [calculator.matches(digest, candidates) for digest in source_hashes]
    destination_matched = [calculator.matches(digest, candidates) for digest in destination_hashes]
    odd_source_port = packet_source.port not in frozenset(ike_ports)
    if calculator.used is None:
        return NatAssessment(
            verdict=NatVerdict.NOT_COMPUTABLE,
            reason=calculator.problem or "the message carries no NAT detection hash", hash_name=None,
            packet_source=packet_source, packet_destination=packet_destination,
            source=Match.NOT_COMPUTABLE, source_endpoint=None, destination=Match.NOT_COMPUTABLE,
            destination_endpoint=None, sender_behind_nat=False, receiver_behind_nat=False,
            sender_by_port=False, odd_source_port=odd_source_port)
    source, source_endpoint = _classify(source_matched, packet_source)
    destination, destination_endpoint = _classify(destination_matched, packet_destination)
    facts = _Facts(packet_source, packet_destination, source, source_endpoint, len(source_hashes),
                   destination, destination_endpoint, odd_source_port)
    verdict, sender, receiver, by_port, reason = _judge(facts)
    if calculator.problem:
        reason = f"{reason} ({calculator.problem})"
    return NatAssessment(
        verdict=verdict, reason=reason, hash_name=calculator.used, packet_source=packet_source,
        packet_destination=packet_destination, source=source, source_endpoint=source_endpoint,
        destination=destination, destination_endpoint=destination_endpoint, sender_behind_nat=sender,
        receiver_behind_nat=receiver, sender_by_port=by_port, odd_source_port=odd_source_port)


def assess_message(message: Message, src: str, sport: int, dst: str, dport: int, *,
                   hash_name: str | None = None, seen: Iterable[tuple[str, int]] = (),
                   ike_ports: Iterable[int] = IKE_PORTS) -> NatAssessment | None:
    """`assess` for a dissected message; None when it carries no NAT detection hash in clear.

    For IKEv1, pass the hash of `negotiated_hash` applied to the responder's SA message (main mode
    message 2; in aggressive mode the same message 2 that carries the responder's NAT-D)."""
    hashes = natd_hashes(message)
    if hashes is None:
        return None
    if hash_name is None:
        hash_name = negotiated_hash(message)
    return assess(message.version, message.header.spi_i, message.header.spi_r, hashes.source,
                  hashes.destination, src, sport, dst, dport, hash_name=hash_name, seen=seen,
                  ike_ports=ike_ports)


def judge_peer(own: NatAssessment | None, other: NatAssessment | None) -> PeerNat:
    """Whether one peer is behind NAT, from its own message (`own`, peer -> other side) and the
    other side's message to it (`other`), e.g. an IKE_SA_INIT request and its response.

    The other side's destination hash is the peer's address as the other side saw it: when it
    differs from the destination captured, the capture stands inside the peer's NAT, and the peer's
    own source hash, had it been honest, would have matched here."""
    translated_back = other is not None and other.receiver_behind_nat
    where = ""
    if other is not None and other.destination_endpoint is not None:
        where = f" ({other.destination_endpoint})"
    if own is not None and own.source is Match.OTHER:
        return PeerNat(True, False, False, f"its source hash covers {own.source_endpoint}, not the "
                       f"{own.packet_source} it was seen with")
    if translated_back:
        faked: bool | None = None
        note = ""
        if own is not None and own.source is Match.NOTHING:
            faked = True
            note = "; its own source hash matches no address even here, inside its NAT: faked"
        elif own is not None and own.source is Match.PORT_ZERO:
            faked = True
            note = f"; its own source hash covers {own.source_endpoint}: faked with port 0"
        elif own is not None and own.source is Match.PACKET:
            faked = False
        return PeerNat(True, False, faked, f"the other side addressed it at another address or "
                       f"port{where} than the capture shows{note}")
    if own is None:
        return PeerNat(None, False, None, "its own NAT detection payloads were not seen")
    if own.source is Match.PORT_ZERO:
        return PeerNat(None, False, True, f"its source hash covers {own.source_endpoint}: faked with "
                       f"port 0 to force UDP encapsulation, so it says nothing about NAT")
    if own.source is Match.PACKET:
        if other is not None and other.destination is Match.PACKET:
            return PeerNat(False, False, False, f"its source hash matches {own.packet_source} and the "
                           f"other side saw it at that address too")
        return PeerNat(None, False, False, f"its source hash matches {own.packet_source}; without the "
                       f"other direction a NAT beyond the capture point cannot be ruled out")
    if own.sender_by_port:
        return PeerNat(True, True, None, f"its source hash matches no address seen and it sends from "
                       f"port {own.packet_source.port}, not an IKE port: most likely a NAT rewrote it")
    if own.source is Match.NOTHING:
        return PeerNat(None, False, None, "its source hash matches no address seen: a NAT-D faked to "
                       "force UDP encapsulation, or a NAT whose inside address the capture never shows")
    return PeerNat(None, False, None, f"nothing to judge its address by: {own.source}")


# --------------------------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------------------------
class _Calculator:
    """Recomputes hashes for one message, choosing the algorithm per digest and caching results."""

    def __init__(self, version: int, spi_i: bytes, spi_r: bytes, hash_name: str | None) -> None:
        self.version = version
        self.spi_i = spi_i
        self.spi_r = spi_r
        self.hash_name = IKEV2_HASH if version == 2 else hash_name
        self.used: str | None = None
        self.problem = ""
        self._cache: dict[tuple[str, Endpoint], bytes] = {}

    def algorithm(self, digest: bytes) -> str | None:
        size = len(digest)
        if self.version == 2:
            if size != 20:
                self.problem = f"a {size}-octet NAT detection hash, not the 20 octets of SHA-1"
                return None
            return IKEV2_HASH
        name = self.hash_name
        if name in HASH_FUNCTIONS and len(HASH_FUNCTIONS[name](b"")) == size:
            return name
        inferred = HASH_BY_LENGTH.get(size)
        if inferred is None:
            self.problem = f"a {size}-octet NAT-D fits no supported hash algorithm" + (
                f" (negotiated: {name})" if name else "")
        elif name is None:
            self.problem = f"hash algorithm {inferred} inferred from the {size}-octet NAT-D"
        else:
            self.problem = f"the NAT-D is {size} octets, not a {name} digest: recomputed with {inferred}"
        return inferred

    def matches(self, digest: bytes, candidates: Sequence[Endpoint]) -> list[Endpoint]:
        if len(self.spi_i) != 8 or len(self.spi_r) != 8:
            self.problem = f"SPIs of {len(self.spi_i)} and {len(self.spi_r)} octets, not 8"
            return []
        name = self.algorithm(digest)
        if name is None:
            return []
        self.used = self.used or name
        found: list[Endpoint] = []
        for endpoint in candidates:
            key = (name, endpoint)
            value = self._cache.get(key)
            if value is None:
                value = expected_hash(self.version, self.spi_i, self.spi_r, endpoint.address,
                                      endpoint.port, None if self.version == 2 else name)
                self._cache[key] = value
            if value == digest:
                found.append(endpoint)
                break  # the candidates are distinct endpoints: no other one gives the same digest
        return found


def _candidates(packet_source: Endpoint, packet_destination: Endpoint,
                seen: Iterable[tuple[str, int]]) -> list[Endpoint]:
    """Every endpoint worth trying, the packet's own first, then port 0 for each address."""
    ordered: dict[Endpoint, None] = {packet_source: None, packet_destination: None}
    for address, port in seen:
        ordered[Endpoint(address, port)] = None
    for endpoint in (packet_source, packet_destination):
        for port in sorted(IKE_PORTS):
            ordered[Endpoint(endpoint.address, port)] = None
    valid = [e for e in ordered if _valid(e)]
    for address in dict.fromkeys(e.address for e in valid):
        ordered[Endpoint(address, 0)] = None
    return [e for e in ordered if _valid(e)]


def _valid(endpoint: Endpoint) -> bool:
    return _packed(endpoint.address) is not None and 0 <= endpoint.port <= 0xFFFF


@lru_cache(maxsize=4096)
def _packed(address: str) -> bytes | None:
    """The address in network order, None when it is not one (parsed once per address)."""
    try:
        return ipaddress.ip_address(address).packed
    except ValueError:
        return None


def _classify(matched: list[list[Endpoint]], packet: Endpoint) -> tuple[Match, Endpoint | None]:
    if not matched:
        return Match.ABSENT, None
    every = [e for endpoints in matched for e in endpoints]
    if packet in every:
        return Match.PACKET, packet
    real = [e for e in every if e.port != 0]
    if real:
        return Match.OTHER, real[0]
    if every:
        return Match.PORT_ZERO, every[0]
    return Match.NOTHING, None


@dataclass(frozen=True, slots=True)
class _Facts:
    packet_source: Endpoint
    packet_destination: Endpoint
    source: Match
    source_endpoint: Endpoint | None
    source_hash_count: int
    destination: Match
    destination_endpoint: Endpoint | None
    odd_source_port: bool


def _judge(facts: _Facts) -> tuple[NatVerdict, bool, bool, bool, str]:
    """(verdict, sender behind NAT, receiver behind NAT, sender by port only, reason)."""
    here_source, here_destination = facts.packet_source, facts.packet_destination
    parts: list[str] = []
    sender = receiver = by_port = faked = False

    if facts.source is Match.PACKET:
        parts.append(f"the source hash matches {here_source} as captured")
    elif facts.source is Match.OTHER:
        sender = True
        parts.append(f"the source hash covers {facts.source_endpoint}, but the packet came from "
                     f"{here_source}: the sender is behind NAT")
    elif facts.source is Match.PORT_ZERO:
        faked = True
        parts.append(f"the source hash covers {facts.source_endpoint} (port 0), a NAT-D faked to force "
                     f"UDP encapsulation")
    elif facts.source is Match.NOTHING:
        count = facts.source_hash_count
        what = "the source hash matches" if count == 1 else f"none of the {count} source hashes match"
        if count == 1:
            what += " no address and port seen"
        if facts.odd_source_port and facts.destination is not Match.NOTHING:
            sender = by_port = True
            parts.append(f"{what}, and the source port {here_source.port} is not an IKE port: most "
                         f"likely a NAT translated the sender's address and port (a faked NAT-D "
                         f"would look the same in the hash)")
        else:
            parts.append(f"{what} (strongSwan fakes it with a random address to force UDP "
                         f"encapsulation; a NAT whose inside address this capture never shows looks "
                         f"the same)")
    else:
        parts.append("the message carries no source hash")

    if facts.destination is Match.PACKET:
        parts.append(f"the destination hash matches {here_destination}")
    elif facts.destination is Match.OTHER:
        receiver = True
        parts.append(f"the destination hash covers {facts.destination_endpoint}, but the packet went to "
                     f"{here_destination}: the receiver is behind NAT")
    elif facts.destination is Match.PORT_ZERO:
        faked = True
        parts.append(f"the destination hash covers {facts.destination_endpoint} (port 0), faked to "
                     f"force UDP encapsulation")
    elif facts.destination is Match.NOTHING:
        if facts.source is Match.NOTHING:
            parts.append("the destination hash matches nothing either: both ends translated before "
                         "this point, or the sender computes NAT-D some other way")
        else:
            receiver = True
            parts.append(f"the destination hash does not cover {here_destination}: the sender "
                         f"addressed another address or port, so the receiver is behind NAT")
    else:
        parts.append("the message carries no destination hash")

    if sender and receiver:
        verdict = NatVerdict.BOTH_BEHIND_NAT
    elif sender:
        verdict = NatVerdict.SENDER_BEHIND_NAT
    elif receiver:
        verdict = NatVerdict.RECEIVER_BEHIND_NAT
    elif faked:
        verdict = NatVerdict.FAKED
    elif facts.source is Match.NOTHING:
        verdict = NatVerdict.UNMATCHED_SOURCE
    elif facts.source is Match.PACKET and facts.destination is Match.PACKET:
        verdict = NatVerdict.NO_NAT
        parts.append("no NAT between the sender and the capture point")
    else:
        verdict = NatVerdict.NOT_COMPUTABLE
    reason = "; ".join(parts)
    return verdict, sender, receiver, by_port, reason[:1].upper() + reason[1:]


__all__ = [
    "DIALECTS", "HASH_BY_LENGTH", "HASH_FUNCTIONS", "IKEV2_HASH", "IKE_PORTS", "Endpoint", "Match",
    "NatAssessment", "NatVerdict", "NatdHashes", "PeerNat", "assess", "assess_message", "expected_hash",
    "judge_peer", "natd_hashes", "negotiated_hash",
]
