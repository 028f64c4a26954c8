"""Restart rules: a peer lost its SAs (restart, crash, failover) and the tunnel was negotiated again from
scratch while the other side still held the old SA.
"""

from __future__ import annotations

from ...events import Evidence
from ...tracker import Exchange, IkeSa, Sent
from ..context import Conclusion, Context
from ..facts import address, established_at, exchanges, records, said_after

INVALID_SPI_CODES = (4, 11)
"""INVALID_IKE_SPI and INVALID_SPI: answers of a peer that no longer knows the SA."""
INVALID_IKE_SPI = 4
"""INVALID_IKE_SPI (IKEv1: INVALID-COOKIE): sent in clear, outside any SA, by a peer that has no IKE SA with
those SPIs. An INVALID_SPI inside the old IKE SA's protection shows only a lost CHILD_SA."""

INITIAL_CONTACT = {2: 16384, 1: 24578}
"""INITIAL_CONTACT by IKE version: IKEv2 (RFC 7296 3.10.1), IKEv1 INITIAL-CONTACT (RFC 2407 4.6.3)."""


def lost_at(previous: IkeSa) -> tuple[Sent, str, str] | None:
    """`peer_lost`, worked out once per state of the SA (each later SA of the tunnel asks)."""
    memo = previous.lost_memo
    if memo is None or memo[0] != previous.messages:
        memo = previous.lost_memo = (previous.messages, peer_lost(previous))
    return memo[1]


def peer_lost(previous: IkeSa) -> tuple[Sent, str, str] | None:
    """Where the previous SA shows that a peer lost it: (message, who lost it, what was seen): liveness
    checks it never answered, or an INVALID_SPI / INVALID_IKE_SPI answer."""
    up = established_at(previous)
    if up is None:
        return None
    for exchange in records(previous):  # (a folded exchange holds no notify)
        for sent in exchange.responses + exchange.requests:
            if sent.time >= up.time and sent.notify(*INVALID_SPI_CODES):
                return sent, address(sent.src), f"{address(sent.src)} answered with {sent.notify(*INVALID_SPI_CODES).type}"  # type: ignore[union-attr]
    checks = [e for e in records(previous, 37, 5) if e.requests and not e.answered and e.requests[0].time >= up.time
              and (e.retransmissions >= 2 or e.requests[0].notify(36136))]
    if previous.version == 1 and not checks:
        checks = ikev1_unanswered_checks(previous, up)
    if checks:
        first = checks[0].requests[0]
        sent_count = sum(e.request_messages for e in checks) if previous.version == 1 else checks[0].request_messages
        return first, address(first.dst), (f"{address(first.src)}'s liveness checks on the old SA went unanswered "
                                            f"({sent_count} sent)")
    return None


def ikev1_unanswered_checks(previous: IkeSa, up: Sent) -> list[Exchange]:
    """IKEv1: two or more encrypted INFORMATIONALs of one size from one side after the SA came up (each
    R-U-THERE has a message id of its own), with nothing from the peer since the first."""
    for side in (True, False):
        found = (e for e in previous.iter_exchanges(5) if e.by_initiator == side and e.requests
                 and e.requests[0].encrypted and e.requests[0].time >= up.time)
        first = next(found, None)
        if first is None or said_after(previous, not side, first.requests[0].time):
            continue
        ours = [first, *found]
        if len(ours) >= 2 and len({e.requests[0].length for e in ours}) == 1:
            return ours
    return []


def rule_restart(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """A fresh IKE SA, negotiated from its first message, came up after the tunnel's previous SA showed a
    peer had lost it (its liveness checks unanswered, or INVALID_SPI answers): that peer restarted (or
    failed over) and answers again, now without the old SA. `likely`: a path outage that heals looks the
    same on the wire, except that a peer whose path came back would still answer on its old SA.

    `certain` takes bytes of the peer that went silent saying it holds no state: an INITIAL_CONTACT it sent
    itself in the new SA (IKEv2 IKE_AUTH, IKEv1 main mode message 5 or aggressive mode, read with keys: lab
    `strongswan-peer-restart-initiates`, `-initiates-ikev1`, where the restarted strongSwan initiates again),
    or an INVALID_IKE_SPI it answered in clear to the old SA. The survivor's own INITIAL_CONTACT when it
    re-initiates (lab `strongswan-peer-restart`, `-ikev1`) says only that the survivor dropped the old SA:
    still `likely`. The restarted daemon's own start line inside the outage (`--log`) decides too
    (ikesniff.fusion).

    Limits: charon 5.9.8 and libreswan's pluto 4.10, restarted, both ignore liveness checks for SPIs they no
    longer know (no INVALID_IKE_SPI answer): no lab capture holds one. When no new SA follows (lab
    `libreswan-resp-restart`: strongSwan destroys a childless SA without restarting it) the wire shows only
    a dead peer: DpdTimeout, or the earlier failure."""
    up = context.up
    if up is None or not ike_sa.started_by_first_message:
        return None
    previous = [other for other in context.others if other.last_time <= ike_sa.first_time + 1.0
                and other.first_time < ike_sa.first_time]
    for other in reversed(previous):
        found = lost_at(other)
        if found is None:
            continue
        sent, lost, seen = found
        contact = next((s for e in exchanges(ike_sa, 35, 2, 4) for s in e.requests + e.responses
                        if s.notify(INITIAL_CONTACT[ike_sa.version]) and s.decrypted and address(s.src) == lost), None)
        refused = sent if not sent.encrypted and sent.notify(INVALID_IKE_SPI) and address(sent.src) == lost else None
        evidence = [Evidence(sent.frame, seen), Evidence(ike_sa.first_frame, "a new IKE SA from its first message"),
                    Evidence(up.frame, "the new SA is up")]
        if contact is not None:
            evidence.insert(2, Evidence(contact.frame, f"INITIAL_CONTACT, decrypted, from the restarted peer {lost}: "
                                                       "it holds no other SA with its peer"))
        return restarted(ike_sa, lost, seen, sent, up, contact, refused, evidence)
    return fresh_contact(ike_sa, context, up)


def restarted(ike_sa: IkeSa, lost: str, seen: str, sent: Sent, up: Sent, contact: Sent | None,
              refused: Sent | None, evidence: list[Evidence]) -> Conclusion:
    outage = up.time - sent.time
    proof = ""
    if contact is not None:
        proof = (f"; {lost} itself announced INITIAL_CONTACT in the new SA (decrypted, frame {contact.frame}), so "
                 "it held no SA with its peer any more: it had lost its state (a restart, crash or failover)")
    elif refused is not None:
        proof = f"; that answer is {lost}'s own, in clear: it no longer knew the old SA"
    certain = contact is not None or refused is not None
    return Conclusion("established", "PeerRestart", "certain" if certain else "likely", 1,
                      f"{lost} lost the tunnel's SAs: {seen} (frame {sent.frame}), then a new IKE SA was negotiated "
                      f"from scratch between {address(ike_sa.initiator)} and {address(ike_sa.responder)} and came "
                      f"up at frame {up.frame}: an outage of {outage:.1f} s{proof}; the tunnel works again",
                      f"Look in the logs of {lost} for why it lost its SAs at that moment (restart, crash, "
                      "failover).", evidence, [] if certain else ["DpdTimeout"])


def fresh_contact(ike_sa: IkeSa, context: Context, up: Sent) -> Conclusion | None:
    """With keys: the new SA's initiator announced INITIAL_CONTACT (it holds no other SA with this peer)
    while the tunnel's previous SA was up and never deleted: the new initiator lost that SA (it restarted)."""
    contact = next((s for e in exchanges(ike_sa, 35, 2, 4) for s in e.requests
                    if s.initiator and s.decrypted and s.notify(INITIAL_CONTACT[ike_sa.version])), None)
    if contact is None:
        return None
    for other in reversed(context.others):
        other_up = established_at(other)
        if other.first_time >= ike_sa.first_time or other_up is None:
            continue
        deleted = any("D" in (s.inner or ()) for e in records(other) for s in e.requests)
        if deleted or any(not s.decrypted for e in other.iter_exchanges() for s in e.requests if s.encrypted):
            return None  # closed in order, or not readable: nothing to say
        lost = address(contact.src)
        outage = up.time - other.last_time
        return Conclusion("established", "PeerRestart", "certain", 1,
                          f"{lost} started a new IKE SA from scratch and announced INITIAL_CONTACT (decrypted, frame "
                          f"{contact.frame}) while the previous SA {other.id}, up since frame {other_up.frame}, was "
                          f"never deleted: {lost} had lost it (a restart); the new SA came up at frame {up.frame}, "
                          f"{outage:.1f} s after the old one was last heard", f"Look in the logs of {lost} for why "
                          "it lost its SAs (restart, crash, failover).",
                          [Evidence(other_up.frame, "the previous SA is up"),
                           Evidence(contact.frame, f"INITIAL_CONTACT, decrypted, from {lost}"),
                           Evidence(up.frame, "the new SA is up")], ["SaReplaced"])
    return None
