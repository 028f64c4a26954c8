"""Liveness rules: after the SA came up, one side checks that its peer is alive and gets no answer.
"""

from __future__ import annotations

from ...events import Evidence
from ...tracker import EspFlow, IkeSa
from ..context import Conclusion, Context
from ..facts import BURST, address, gave_up, names, records, retransmission_text, said_after, who


def rule_liveness(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """After the SA was established, one side's liveness checks went unanswered: IKEv2 an
    INFORMATIONAL request retransmitted without answer; IKEv1 encrypted INFORMATIONALs (R-U-THERE)
    of one size sent at intervals with nothing from the peer since."""
    up = context.up
    if up is None:
        return None
    if ike_sa.version == 2:
        for exchange in records(ike_sa, 37, 36):  # (a folded exchange is never repeated)
            if exchange.answered or not exchange.requests or exchange.requests[0].time < up.time:
                continue
            if exchange.retransmissions < 2 or not gave_up(exchange, ike_sa, context):
                continue  # a request sent once and dropped by its sender is not a liveness series
            first = exchange.requests[0]
            sender, peer = who(ike_sa, first)
            evidence = [Evidence(s.frame, f"{s.exchange} request, no answer") for s in exchange.requests[:4]]
            alive = [f for f in context.esp if f.src == address(first.dst) and f.last_time > first.time]
            if exchange.exchange_type == 36:
                return Conclusion("failed", "Phase2NegotiationTimeout", "likely", 2,
                                  f"CREATE_CHILD_SA from {sender} was {retransmission_text(exchange)} and never "
                                  "answered", "", evidence, ["DpdTimeout"])
            if alive:
                return peer_alive(sender, peer, alive, evidence)
            empty = first.inner == ()  # decrypted and empty: an IKEv2 liveness check (RFC 7296 §1.4)
            return Conclusion("torn_down", "DpdTimeout", "certain" if empty else "likely", 1,
                              f"{sender} checked that its peer is alive ({retransmission_text(exchange)}) and "
                              f"{peer} never answered: the peer is down or the path between them is broken",
                              f"Check that {address(first.dst)} is up and that UDP {first.dport} passes both ways "
                              "between the peers.", evidence)
        return None
    for side in (True, False):
        checks = (e.requests[0] for e in ike_sa.iter_exchanges(5) if e.by_initiator == side and e.requests
                  and e.requests[0].encrypted and e.requests[0].time >= up.time)
        earliest = next(checks, None)
        if earliest is None or said_after(ike_sa, not side, earliest.time):
            continue  # anything from the peer since the first (an ACK too)
        ours = [earliest, *checks]
        if len(ours) < 2:
            continue
        sizes = {s.length for s in ours}
        spread = ours[-1].time - ours[0].time
        read = all(s.notify(36136) for s in ours)  # R-U-THERE read in decrypted messages
        if (len(sizes) == 1 or read) and spread >= BURST:
            sender, peer = names(ike_sa) if side else names(ike_sa)[::-1]
            alive = [f for f in context.esp if f.src == address(ours[0].dst) and f.last_time > ours[1].time]
            if alive:
                return peer_alive(sender, peer, alive, [Evidence(s.frame, "encrypted INFORMATIONAL (liveness "
                                                                 "check), no answer") for s in ours[:3]])
            return Conclusion("torn_down", "DpdTimeout", "certain" if read else "likely", 1,
                              f"{sender} sent {len(ours)} encrypted notifications of one size ({ours[0].length} "
                              f"octets) over {spread:.1f} s, the pattern of R-U-THERE liveness checks, and {peer} "
                              "answered none", f"Check that {address(ours[0].dst)} is up and that IKE passes both "
                              "ways between the peers.",
                              [Evidence(s.frame, "encrypted INFORMATIONAL (liveness check), no answer")
                               for s in ours[:4]])
    return None


def peer_alive(sender: str, peer: str, alive: list[EspFlow], evidence: list[Evidence]) -> Conclusion:
    """Liveness checks unanswered while the peer's ESP keeps coming: the peer is up but does not
    understand (or does not accept) the checks, e.g. IKEv1 DPD whose HASH and NOTIFY payload order it
    rejects."""
    flow = alive[0]
    return Conclusion("failed", "DpdHashNotifyCompatibility", "possible", 1,
                      f"{sender}'s liveness checks went unanswered while {peer} kept sending ESP (frame "
                      f"{flow.last_frame}): the peer is alive but ignores the checks", "Make the DPD settings of "
                      "both gateways compatible (DPD on or off on both; for IKEv1, the payload order of DPD "
                      "messages).", evidence + [Evidence(flow.last_frame, f"ESP from {flow.src} after the checks")],
                      ["DpdTimeout"])
