"""Findings: what is worth knowing about an IKE SA that is not a failure (weak crypto, NAT, a recovered
retry, fragmentation, vendors, PSK checks that concern no failure).
"""

from __future__ import annotations

import sys

from .. import natd
from .. import offers as offer_module
from ..events import FindingEvent
from ..tracker import IkeSa, nat_assessments
from .context import Context
from .facts import exchanges, frames_of, opening, records


def findings(ike_sa: IkeSa, context: Context, file: str = "") -> list[FindingEvent]:
    found: list[FindingEvent] = []

    def add(kind: str, frames: list[int], detail: str) -> None:
        found.append(FindingEvent(kind=kind, ike_sa=ike_sa.id, frames=frames, detail=sys.intern(detail), file=file))
        # (one string per distinct detail: the findings of every SA are kept until the end of the input)

    nobodys = not any(context.crypto.psk.values()) and (len(context.crypto.psk) > 1 or context.up is not None)
    for side, matches in context.crypto.psk.items():
        add("psk_matches" if matches else "psk_differs", [ike_sa.first_frame],
            f"the {side}'s {'AUTH payload' if ike_sa.version == 2 else 'hash'} "
            f"{'verifies' if matches else 'does not verify'} with the key given (pre-shared key or logged SKEYID)"
            + ("; neither gateway uses that key (the SA came up, or both sides fail the check): "
               "check that the key file holds the key of this tunnel" if nobodys else ""))

    init = opening(ike_sa)
    if init is not None and ike_sa.version == 2:
        recovered = [s for s in init.responses if s.notify(17)]
        if recovered and any("SA" in s.payloads for s in init.responses):
            add("invalid_ke_recovered", [recovered[0].frame] + [s.frame for s in init.responses if "SA" in s.payloads][:1],
                "the responder asked for another DH group (INVALID_KE_PAYLOAD) and the initiator's retry with it "
                "succeeded: put that group first in the initiator's proposals to save a round trip")
        cookies = [s for s in init.responses if s.notify(16390)]
        if cookies:
            add("cookie_challenge", [cookies[0].frame], "the responder demanded a COOKIE before committing state "
                "(RFC 7296 §2.6): it is under load or its DoS protection is set low")
    if not ike_sa.offers and ike_sa.choice:  # only the responder's choice was seen: it is what the SA uses
        for weakness in offer_module.weaknesses(ike_sa.choice):
            add(weakness.kind, [ike_sa.choice_frame], weakness.detail.replace("offered", "chosen"))
    if ike_sa.offers:
        for weakness in offer_module.weaknesses(ike_sa.offers):
            add(weakness.kind, [ike_sa.offer_frame], weakness.detail)
        if ike_sa.version == 1 and ike_sa.phase1 == "aggressive" and any(
                "PSK" in method for offer in ike_sa.offers for method in offer.auth_methods):
            add("aggressive_mode_psk", [ike_sa.offer_frame], "IKEv1 aggressive mode with a pre-shared key: the "
                "responder's hash travels in clear and can be attacked offline to recover the key; prefer main mode "
                "or IKEv2")
    nat = nat_detail(ike_sa)
    if nat is not None:
        add("nat_detected", nat[0], nat[1])
    fragments = [s for e in records(ike_sa) for s in e.requests + e.responses if s.fragment]  # (none folded)
    if fragments:
        add("fragmentation", frames_of(fragments, 2), f"IKE fragmentation (RFC 7383) in use: {len(fragments)} SKF "
            "fragments")
    ip_fragmented = [s for e in records(ike_sa) for s in e.requests + e.responses if s.frames]
    if ip_fragmented:
        add("fragmentation", frames_of(ip_fragmented, 2), f"{len(ip_fragmented)} IKE message{'s' if len(ip_fragmented) != 1 else ''} travelled in IP "
            "fragments; paths that drop fragments break them (enable IKE fragmentation if the peers support it)")
    for frame, _, pair in ike_sa.address_changes[:4]:
        add("address_change", [frame], f"the IKE SA moved to {' <-> '.join(sorted(pair))} with both SPIs kept "
            "(MOBIKE UPDATE_SA_ADDRESSES, RFC 4555, or a NAT rebinding): the same SA, not a new tunnel")
    collided = [(a, b) for a in exchanges(ike_sa, 36) for b in exchanges(ike_sa, 36)
                if a.by_initiator and not b.by_initiator and a.requests and b.requests and a.answered and b.answered
                and a.requests[0].time <= b.responses[0].time and b.requests[0].time <= a.responses[0].time]
    if collided:
        first, second = collided[0]
        add("rekey_collision", sorted([first.requests[0].frame, second.requests[0].frame]),
            "both sides started a CREATE_CHILD_SA at the same time and both were answered: a rekey collision "
            "(RFC 7296 §2.8.2), which the nonces resolve by keeping one new SA and deleting the other; spread the "
            "rekey times of the two sides (strongSwan rand_time) to avoid it")
    rekeys = [e for e in exchanges(ike_sa, 36) if e.answered]
    if rekeys:
        add("rekey", [e.first.frame for e in rekeys][:4], f"{len(rekeys)} CREATE_CHILD_SA exchange{'s' if len(rekeys) != 1 else ''} answered "
            "(rekeys or new CHILD_SAs)")
    dialects = {side: {v.split(": ", 1)[1] for v in ike_sa.vendors if v.startswith(side) and "nat-t" in v.lower()}
                for side in ("initiator", "responder")}
    if dialects["initiator"] and dialects["responder"] and not dialects["initiator"] & dialects["responder"]:
        add("nat_t_mismatch", [ike_sa.first_frame], f"the peers advertise no NAT-T dialect in common: the initiator "
            f"{', '.join(sorted(dialects['initiator']))}; the responder {', '.join(sorted(dialects['responder']))} "
            "(draft against RFC 3947 NAT traversal: behind a NAT the tunnel would not float to UDP 4500)")
    fallback = tcp_fallback(ike_sa, context)
    if fallback is not None:
        add("tcp_fallback", fallback[0], fallback[1])
    vendors = ike_sa.vendors
    if vendors:
        add("vendor", [ike_sa.first_frame], "; ".join(vendors).replace("\n", "\\n"))
    if context.ah:
        add("ah_seen", [context.ah[0].first_frame], f"AH packets between the peers ({sum(f.packets for f in context.ah)}): "
            "check that both sides agree on ESP or AH")
    return found


def tcp_fallback(ike_sa: IkeSa, context: Context) -> tuple[list[int], str] | None:
    """An SA opened over TCP (RFC 8229) by the initiator of an earlier attempt over UDP that nobody answered:
    the initiator fell back to TCP (lab `libreswan-pair-ikev2-tcp-fallback`, pluto's enable-tcp=fallback)."""
    if ike_sa.transports != ("tcp-encap",) or not ike_sa.started_by_first_message:
        return None
    address = ike_sa.initiator.rsplit(":", 1)[0]
    for other in reversed(context.others):
        if (other.first_time >= ike_sa.first_time or set(other.transports) - {"udp", "udp-encap"}
                or other.initiator.rsplit(":", 1)[0] != address
                or any(e.responses for e in other.iter_exchanges())):
            continue
        answered = next((s for e in ike_sa.ordered_exchanges() for s in e.responses), None)
        if answered is None:
            return None
        return [other.first_frame, answered.frame], (
            f"IKE over UDP from {other.initiator} to {other.responder} went unanswered ({other.messages} "
            f"message{'s' if other.messages != 1 else ''} from frame {other.first_frame}); the same initiator then "
            f"reached {ike_sa.responder} over TCP (RFC 8229), answered at frame {answered.frame}: UDP to the "
            "peer is blocked or lost on the path, TCP gets through")
    return None


def nat_detail(ike_sa: IkeSa) -> tuple[list[int], str] | None:
    assessed = nat_assessments(ike_sa)
    from_initiator = next(((s, a) for s, a in assessed if s.initiator), None)
    from_responder = next(((s, a) for s, a in assessed if not s.initiator), None)
    if from_initiator is None and from_responder is None:
        return None
    parts = []
    frames: list[int] = []
    for label, own, other in (("the initiator", from_initiator, from_responder),
                              ("the responder", from_responder, from_initiator)):
        peer = natd.judge_peer(own[1] if own else None, other[1] if other else None)
        if own is not None:
            frames.append(own[0].frame)
        if peer.behind_nat:
            parts.append(f"{label} is behind NAT: {peer.reason}")
        elif peer.natd_faked:
            parts.append(f"{label} faked its NAT-D to force UDP encapsulation: {peer.reason}")
    if not parts:
        return None
    return frames, "; ".join(parts)
