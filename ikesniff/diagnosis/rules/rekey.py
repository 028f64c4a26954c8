"""Rekey rules (RFC 7296 §2.8; IKEv1 a new quick mode while the old IPsec SA lives): a renewal that failed and
took the SA down. A rekey collision resolved cleanly (§2.8.2) is a finding (`findings.py`), not a failure.
"""

from __future__ import annotations

from ...events import Evidence
from ...tracker import Exchange, IkeSa
from ..context import Conclusion, Context
from ..facts import (
    BURST,
    address,
    child_traffic,
    established_at,
    exchanges,
    gave_up,
    retransmission_text,
    who,
)
from .restart import lost_at

REKEY_SA = 16393
"""N(REKEY_SA): a CREATE_CHILD_SA that rekeys a CHILD_SA carries it (RFC 7296 §1.3.3)."""

REKEY_WINDOW = 10.0
"""Seconds after a rekey answered within which the new IKE SA it made is first seen (its Delete, its first
liveness check)."""

DELETE_LIFE = 5.0
"""Seconds an IKE SA made by a rekey may live, carrying INFORMATIONALs only, to count as deleted at once."""


def rekey_kind(exchange: Exchange) -> str | None:
    """'IKE SA' / 'CHILD_SA' when the decrypted request shows a rekey, 'new CHILD_SA' when it shows a new
    CHILD_SA, None when it was not decrypted."""
    request = exchange.requests[0]
    if request.inner is None:
        return None
    if request.notify(REKEY_SA):
        return "CHILD_SA"
    if "TSi" in request.inner:
        return "new CHILD_SA"
    return "IKE SA"


def rule_rekey_lost(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """After the SA came up, a rekey request went unanswered until its sender gave up, and nothing was
    answered on the SA after it: IKEv2 a CREATE_CHILD_SA (with keys, a rekey of the IKE SA or of a
    CHILD_SA: `certain`; a new CHILD_SA is a phase-2 timeout instead; without keys `likely`, since a
    CREATE_CHILD_SA after establishment is a rekey or a new CHILD_SA); IKEv1 a quick mode after one that
    came up."""
    up = context.up
    if up is None:
        return None
    exchange_type = 36 if ike_sa.version == 2 else 32
    renewals = [e for e in exchanges(ike_sa, exchange_type) if e.requests and e.requests[0].time > up.time]
    if ike_sa.version == 1 and not any(e.answered for e in exchanges(ike_sa, 32)):
        return None
    for exchange in renewals:
        if exchange.answered or exchange.retransmissions < 2 or not gave_up(exchange, ike_sa, context):
            continue
        first = exchange.requests[0]
        if any(e.answered and e.requests and e.requests[0].time > first.time
               for e in ike_sa.iter_exchanges(newest_first=True)):
            continue  # the SA went on after it
        kind = rekey_kind(exchange) if ike_sa.version == 2 else "IPsec SA"
        if kind == "new CHILD_SA":
            return None
        sender, peer = who(ike_sa, first)
        evidence = [Evidence(s.frame, f"{s.exchange} request, no answer") for s in exchange.requests[:4]]
        read = kind is not None and ike_sa.version == 2
        what = f"a rekey of the {kind}" if kind else "a rekey (or a new CHILD_SA)"
        return Conclusion("torn_down", "RekeyFailure", "certain" if read else "likely", 2 if kind != "IKE SA" else 1,
                          f"the SA was up from frame {up.frame}; then {sender} started {what} "
                          f"({first.exchange}{', decrypted' if read else ''}), {retransmission_text(exchange)}, that "
                          f"{peer} never answered, and the SA ended with it",
                          f"Check that {first.exchange} messages of this size ({first.length} octets) pass from "
                          f"{address(first.src)} to {address(first.dst)} (MTU, fragments, firewall) and that the "
                          "peer is healthy at rekey time.", evidence, ["Phase2NegotiationTimeout", "DpdTimeout"])
    return None


def rekey_parent(ike_sa: IkeSa, context: Context) -> tuple[IkeSa, list[Exchange]] | None:
    """The SA of the tunnel whose answered CREATE_CHILD_SA exchanges made this one (an IKE SA rekey)."""
    for other in reversed(context.others):
        if other.first_time >= ike_sa.first_time or other.version != 2:
            continue
        rekeys = [e for e in exchanges(other, 36) if e.answered and e.requests
                  and 0 <= ike_sa.first_time - e.responses[0].time <= REKEY_WINDOW]
        if rekeys:
            return other, rekeys
    return None


def only_deletes(ike_sa: IkeSa) -> bool:
    """An SA whose whole short life is INFORMATIONAL requests (with keys: each carrying a Delete)."""
    ordered = ike_sa.ordered_exchanges()
    return bool(ordered) and all(e.exchange_type == 37 and e.requests for e in ordered) and all(
        "D" in e.requests[0].inner for e in ordered if e.requests[0].inner is not None) \
        and ike_sa.last_time - ike_sa.first_time <= DELETE_LIFE


def rule_rekey_collapse(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """IKEv2: the IKE SA was rekeyed (CREATE_CHILD_SA answered on the old SA) and every new IKE SA the
    rekeys made was deleted at once (its first messages INFORMATIONALs within a second of the rekey), with no ESP and no fresh IKE SA after: the tunnel did not survive its
    rekey (lab `strongswan-rekey-collision-expired`: the two rekeys of a collision cross and the old SA's
    expiry deletes the survivor too). Decided on each SA the rekey made; with the Deletes decrypted
    `certain`, else `likely` (INFORMATIONALs alone on a new SA, a Delete's size)."""
    if ike_sa.version != 2 or ike_sa.started_by_first_message:
        return None
    found = rekey_parent(ike_sa, context)
    if found is None:
        return None
    parent, rekeys = found
    since = rekeys[0].responses[0].time
    made = [sa for sa in [ike_sa, *context.others] if sa is not parent and not sa.started_by_first_message
            and sa.first_time >= since - BURST]
    if not all(only_deletes(sa) and sa.first_time - since <= BURST for sa in made) or len(made) < len(rekeys):
        return None  # (a new SA's first INFORMATIONAL seconds later is its liveness check: lab ikev2-rekey-ike)
    if any(sa.started_by_first_message and sa.first_time > since for sa in context.others):
        return None  # a fresh IKE SA followed: another rule speaks of it
    end = max(sa.last_time for sa in made)
    if any(child_traffic(parent, context, end + 0.001)):
        return None
    read = all(e.requests[0].inner is not None for sa in made for e in sa.ordered_exchanges())
    collision = len({e.by_initiator for e in rekeys}) == 2
    deletes = [e.requests[0] for sa in made for e in sa.ordered_exchanges()]
    evidence = [Evidence(e.requests[0].frame, f"CREATE_CHILD_SA by the {'initiator' if e.by_initiator else 'responder'}"
                         ", answered") for e in rekeys[:2]]
    evidence += [Evidence(s.frame, "Delete, decrypted" if s.inner is not None else "INFORMATIONAL on the new SA")
                 for s in sorted(deletes, key=lambda s: s.frame)[:3]]
    return Conclusion("torn_down", "RekeyFailure", "certain" if read else "likely", 1,
                      f"the IKE SA was rekeyed ({'both sides at once, a rekey collision' if collision else 'one rekey'}"
                      f", frames {', '.join(str(e.requests[0].frame) for e in rekeys[:2])}) and every new IKE SA it "
                      f"made was deleted at once ({len(deletes)} "
                      f"{'Deletes read decrypted' if read else 'INFORMATIONAL requests, the size of Deletes'}); no "
                      "ESP and no fresh negotiation followed: the tunnel did not survive its rekey",
                      "Give the IKE SA a hard lifetime well beyond its rekey time (a margin, e.g. strongSwan's "
                      "over_time) and spread the two sides' rekey times (rand_time) so that their rekeys do not "
                      "cross.", evidence, ["ReceiveDeleteNotify", "LifetimeMismatch"])


def rule_reauth_lost(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """A new IKE SA from scratch (IKEv1 rekeys its ISAKMP SA with a new main mode; IKEv2 reauthenticates
    with a new IKE_SA_INIT) sent by a side whose previous SA with the peer was up and working, never
    answered until its sender gave up, and the old SA did not outlive it: the rekey failed and the tunnel
    went down (lab `strongswan-rekey-lost-ikev1`). Not when the old SA had shown its peer gone (liveness
    checks unanswered: a restart or a dead peer, rules/restart.py and liveness.py). `likely`: without keys a
    fresh negotiation after a deliberate close looks alike, which is why the old SA must not have been
    deleted before it."""
    if not ike_sa.started_by_first_message or context.up is not None:
        return None
    opening = next(ike_sa.iter_exchanges(), None)
    if opening is None or opening.answered or not opening.requests or not gave_up(opening, ike_sa, context):
        return None
    start = opening.requests[0]
    for other in reversed(context.others):
        other_up = established_at(other)
        if other.first_time >= ike_sa.first_time or other_up is None or other.version != ike_sa.version:
            continue
        if address(other.initiator) != address(ike_sa.initiator) and address(other.responder) != address(ike_sa.initiator):
            continue
        if lost_at(other) is not None or other.last_time < start.time - REKEY_WINDOW:
            return None
        if any(e.answered and e.requests and e.requests[0].time > start.time
               for e in other.iter_exchanges(newest_first=True)):
            return None  # the old SA went on working
        if any(child_traffic(other, context, opening.requests[-1].time + BURST)):
            return None
        sender = who(ike_sa, start)[0]
        return Conclusion("torn_down", "RekeyFailure", "likely", 1,
                          f"while its SA {other.id} (up since frame {other_up.frame}) was still in use, {sender} "
                          f"began a new {opening.name} to renew it ({'IKEv1 rekeys its ISAKMP SA this way' if ike_sa.version == 1 else 'a reauthentication'}), "
                          f"{retransmission_text(opening)}, never answered; the old SA ended without a successor",
                          f"Check that {opening.name} messages pass from {address(start.src)} to {address(start.dst)} "
                          f"(port {start.dport}, firewall, MTU) at rekey time and that the peer accepts them.",
                          [Evidence(other_up.frame, "the old SA is up"),
                           *[Evidence(s.frame, f"{opening.name} request, no answer") for s in opening.requests[:3]]],
                          ["NoResponse", "Phase1NegotiationTimeout"])
    return None
