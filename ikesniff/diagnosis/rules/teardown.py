"""Teardown rules: an established SA that one side ended.
"""

from __future__ import annotations

from itertools import islice

from ...events import Evidence
from ...tracker import IkeSa, Sent
from ..context import Conclusion, Context
from ..facts import BURST, address, child_traffic, exchanges, records, who


def rule_delete(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """After the SA was established and carried traffic, it ended with encrypted INFORMATIONALs
    from one side and nothing after: IKEv1 a burst of unanswered notifications (a Delete for the
    IPsec SA, then the ISAKMP SA; a liveness check would be answered); IKEv2 an answered
    INFORMATIONAL that ends all activity (without keys a Delete and a liveness check look alike).
    Deletes right after a rekey are housekeeping, not this."""
    up = context.up
    if up is None:
        return None
    last = ike_sa.newest_exchange()
    if last is None:
        return None
    if last.exchange_type not in (5, 37) or not last.requests or last.requests[0].time < up.time:
        return None
    first = last.requests[0]
    rekeys = records(ike_sa, 36) + records(ike_sa, 32)[1:]
    if any(0 <= first.time - e.first.time <= BURST for e in rekeys):
        return None  # the old SA deleted after a rekey: housekeeping
    sender, receiver = who(ike_sa, first)
    forth, back = child_traffic(ike_sa, context, first.time + 0.001)
    if forth or back:
        return None
    if ike_sa.version == 1:
        if any(e.by_initiator != last.by_initiator and e.requests and 0 <= first.time - e.requests[0].time <= BURST
               for e in ike_sa.iter_exchanges(5, newest_first=True)):
            return None  # the other side spoke just before: an R-U-THERE and its ACK (IKEv1 DPD)
        burst = [e.requests[0] for e in exchanges(ike_sa, 5) if e.requests
                 and e.by_initiator == last.by_initiator and 0 <= first.time - e.requests[0].time <= BURST]
        answered = any(e.by_initiator != last.by_initiator and e.first.time >= burst[0].time
                       for e in ike_sa.iter_exchanges(newest_first=True))
        if answered:
            return None
        confidence = "likely" if len(burst) >= 2 else "possible"
        return closed(ike_sa, context, Conclusion("torn_down", "ReceiveDeleteNotify", confidence, 1,
                          f"{sender} ended the tunnel: {len(burst)} encrypted notification{'s' if len(burst) != 1 else ''} sent together "
                          f"({', '.join(str(s.length) for s in burst)} octets), unanswered, after which neither "
                          "IKE nor ESP was seen: the pattern of Delete payloads for the IPsec SA and then the "
                          "ISAKMP SA (a liveness check would have been answered)",
                          f"Find why {address(first.src)} deleted the SA (administrator, lifetime, its own "
                          "error); check its logs at that time.",
                          [Evidence(s.frame, "encrypted INFORMATIONAL, unanswered") for s in burst[:3]]), first)
    if not last.answered:
        return None
    if any(e.requests and e.responses and e.by_initiator == last.by_initiator and e.requests[0].time >= up.time
           and e.requests[0].length == first.length and e.responses[0].length == last.responses[0].length
           for e in islice(ike_sa.iter_exchanges(last.exchange_type, newest_first=True), 1, None)):
        return None  # the same size as the liveness checks before it: one more of them, cut by the capture's end
    if any(e.by_initiator != last.by_initiator and e.answered and e.requests[0].length == first.length
           and abs(e.requests[0].time - first.time) <= MIRRORED
           for e in islice(ike_sa.iter_exchanges(last.exchange_type, newest_first=True), 1, None) if e.requests):
        return None  # each side sent one of the same size, both answered: address updates, not a Delete
    return closed(ike_sa, context, Conclusion("torn_down", "ReceiveDeleteNotify", "possible", 1,
                      f"{sender} sent an INFORMATIONAL request ({first.length} octets) that {receiver} answered, "
                      "after which neither IKE nor ESP was seen: most likely a Delete; without keys it cannot be "
                      "told from a liveness check at the end of the capture",
                      f"Find why {address(first.src)} deleted the SA (administrator, lifetime, its own error).",
                      [Evidence(first.frame, "INFORMATIONAL request"),
                       Evidence(last.responses[0].frame, "its answer; nothing follows")]), first)


MIRRORED = 5.0
"""Seconds within which both sides sending an INFORMATIONAL of one size, both answered, reads as their
address announcements (MOBIKE UPDATE_SA_ADDRESSES / ADDITIONAL_*_ADDRESS, RFC 4555), not a Delete: after an
IKE SA's Delete is answered the other side has no SA left to send on (lab `strongswan-dual-stack`, where
strongSwan's roaming events make both gateways announce their IPv6 addresses right after IKE_AUTH)."""


ORDERLY_AFTER = 60.0
"""Seconds an SA must have lived, when no ESP was seen, for its Delete to count as an orderly close."""


def closed(ike_sa: IkeSa, context: Context, conclusion: Conclusion, delete: Sent) -> Conclusion:
    """A Delete that ends an SA which came up: when the SA carried traffic both ways (or lived a while), an
    orderly close (no failure, no fix): the message says when it came up, what it carried, who closed it and
    after how long. A Delete right after the SA came up, before any traffic, stays a teardown to look into."""
    up = context.up
    if up is None:
        return conclusion
    forth, back = child_traffic(ike_sa, context, up.time - 0.001)
    lived = delete.time - up.time
    if not (forth and back) and lived < ORDERLY_AFTER:
        return conclusion
    sender = who(ike_sa, delete)[0]
    carried = f"ESP flowed both ways ({forth} and {back} packets)" if forth and back else \
        ("ESP was seen one way only" if forth or back else "no ESP was seen")
    conclusion.orderly = True
    conclusion.seen = (f"the tunnel was up from frame {up.frame} and {carried}; {sender} closed it with a Delete "
                       f"after {lived:.0f} s (an orderly close: administrator, lifetime or a peer that shut down)")
    conclusion.change = ""
    return conclusion
