"""Data-plane rules: what ESP/AH after establishment says, and the SAs that came up.
"""

from __future__ import annotations

from ...events import Evidence
from ...tracker import IkeSa
from ..context import Conclusion, Context
from ..facts import addresses_now, child_traffic


def rule_protocol(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """After establishment, AH packets one way and ESP the other: the two sides protect the traffic
    with different security protocols."""
    up = context.up
    if up is None or not context.ah:
        return None
    ah_from = {flow.src for flow in context.ah}
    esp_from = {flow.src for flow in context.esp if flow.last_time >= up.time}
    if not esp_from or ah_from & esp_from:
        return None
    flow = context.ah[0]
    other = next(f for f in context.esp if f.src in esp_from)
    return Conclusion("failed", "SecurityProtocolMismatch", "likely", 2,
                      f"{flow.src} sends AH ({sum(f.packets for f in context.ah)} packets) while {other.src} sends ESP: "
                      "the two sides protect the tunnel with different security protocols",
                      "Configure the same security protocol (ESP, or AH) in the IPsec proposals of both sides.",
                      [Evidence(flow.first_frame, f"AH from {flow.src}"), Evidence(other.first_frame, f"ESP from {other.src}")],
                      ["ProposalMismatch"])


def rule_established(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """The SA reached its established state; ESP both ways makes it certain that a CHILD_SA works. An SA
    that moved (MOBIKE, a NAT rebinding) says between which addresses it runs now."""
    up = context.up
    if up is None:
        return None
    conclusion = established(ike_sa, context)
    now = addresses_now(ike_sa)
    if conclusion is not None and now is not None:
        frame = ike_sa.address_changes[-1][0]
        conclusion.seen += (f"; from frame {frame} it runs between {now[0]} (initiator) and {now[1]} (responder), "
                            f"after {len(ike_sa.address_changes)} address change(s) that kept both SPIs (MOBIKE "
                            "or a NAT rebinding)")
        conclusion.evidence.append(Evidence(frame, f"the SA, same SPIs, now between {now[0]} and {now[1]}"))
    return conclusion


def established(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """The established conclusion, by the ESP seen after the SA came up."""
    up = context.up
    if up is None:
        return None
    forth, back = child_traffic(ike_sa, context, up.time - 0.001)
    evidence = [Evidence(up.frame, "the negotiation completes here")]
    if forth and back:
        flows = [f for f in context.esp if f.last_time >= up.time]
        evidence.append(Evidence(flows[0].first_frame, f"ESP flows both ways ({forth} and {back} packets)"))
        return Conclusion("established", "Established", "certain", None,
                          f"the IKE SA was established and ESP flowed both ways ({forth} packets from the "
                          f"initiator, {back} from the responder)", "", evidence)
    if forth or back:
        one_way = "from the initiator" if forth else "from the responder"
        return Conclusion("established", "Established", "likely", None,
                          f"the IKE SA was established; ESP was seen only {one_way} ({forth or back} packets): "
                          "the other side sends nothing back through the tunnel (routing, firewall or "
                          "traffic selectors on that side)", "", evidence)
    return Conclusion("established", "Established", "likely", None,
                      "the IKE SA was established; no ESP was seen after that", "", evidence)


def rule_incomplete(ike_sa: IkeSa, context: Context) -> Conclusion:
    """Nothing decisive: the input ended while the negotiation was under way."""
    last = ike_sa.newest_exchange()
    frame = last.first.frame if last is not None else ike_sa.first_frame
    seen = "the capture ends before this IKE SA reached a conclusion"
    if last is not None and not last.requests:
        seen = (f"only answers of this IKE SA were seen ({last.name} from {last.first.sender}): the requests were "
                "not captured (a capture filter, an asymmetric path) or were spoofed by a third party")
    elif last is not None and not last.answered and last.expects_response:
        waited = context.end_time - last.requests[-1].time
        seen = (f"the capture ends {waited:.1f} s after the last request ({last.name} from {last.first.sender}), "
                "before its answer, a retransmission or its sender giving up could be seen")
    return Conclusion("incomplete", "NoExceptionFound", "possible", None, seen, "",
                      [Evidence(frame, "last exchange seen")])
