"""Phase 1 rules: nobody answers, the proposals or the DH group are refused, IKE_AUTH is never
answered, IKEv1 main/aggressive mode stops after the key exchange.
"""

from __future__ import annotations

from ... import offers as offer_module
from ...events import Evidence
from ...tracker import IkeSa, nat_assessments
from ..context import Conclusion, Context
from ..facts import (
    address,
    clear_errors,
    cut_off,
    exchanges,
    gave_up,
    gave_up_answer,
    names,
    opening,
    opening_requests,
    retransmission_text,
)


def rule_icmp_unreachable(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """The peer never spoke, and ICMP errors answered the requests: nothing listens on the IKE
    port there, or a firewall rejects it. The ICMP error is the decisive packet."""
    if not ike_sa.icmp or ike_sa.addresses[False]:
        return None
    first = ike_sa.icmp[0]
    evidence = [Evidence(s.frame, f"IKE request {s.src}:{s.sport} > {s.dst}:{s.dport}")
                for s in opening_requests(ike_sa)[:2]]
    evidence += [Evidence(i.frame, f"{i.reporter} answered with ICMP {i.description} quoting {i.quoted}")
                 for i in ike_sa.icmp[:3]]
    return Conclusion(
        "failed", "NoResponse", "certain", 1,
        f"{first.reporter} answered {len(ike_sa.icmp)} IKE request{'s' if len(ike_sa.icmp) != 1 else ''} with ICMP {first.description} "
        f"({first.quoted}): no IKE daemon listens there, or a firewall rejects the port",
        f"On {address(ike_sa.responder) or first.reporter}: start the IKE service or open the port "
        f"({first.quoted.split(' > ')[-1]}); check the peer address configured on the initiator.",
        evidence)


def rule_invalid_ke(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """INVALID_KE_PAYLOAD (in clear, answer to IKE_SA_INIT): followed by an accepted retry it is a
    finding; repeated, or not followed by a retry that succeeds, the DH groups do not meet."""
    exchange = opening(ike_sa)
    if exchange is None or ike_sa.version != 2:
        return None
    refusals = [s for s in exchange.responses if s.notify(17)]
    if not refusals:
        return None
    accepted = [s for s in exchange.responses if "SA" in s.payloads]
    if accepted and accepted[-1].time >= refusals[-1].time:
        return None
    evidence = [Evidence(s.frame, "the responder asks for another DH group (INVALID_KE_PAYLOAD)")
                for s in refusals[:3]]
    if len(refusals) >= 2:
        return Conclusion("failed", "DhGroupMismatch", "certain", 1,
                          f"the responder refused the initiator's key exchange {len(refusals)} times "
                          "(INVALID_KE_PAYLOAD): the retries never used a group it accepts",
                          "Configure a common DH group on both sides (the group the responder asks for "
                          "must be in the initiator's proposals).", evidence)
    if context.end_time - refusals[-1].time < 5 and not gave_up(exchange, ike_sa, context):
        return None  # a retry may still come
    return Conclusion("failed", "DhGroupMismatch", "likely", 1,
                      "the responder asked for another DH group (INVALID_KE_PAYLOAD) and the initiator "
                      "did not retry with it", "Add the DH group the responder asks for to the initiator's "
                      "IKE proposals, or the initiator's group to the responder's.", evidence)


def rule_no_proposal_chosen(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """NO_PROPOSAL_CHOSEN in clear answering IKE_SA_INIT or IKEv1 phase 1: the responder refused
    every proposal. The specific code only when both sides' offers are on the wire (both initiate)
    and differ in one kind of transform; another IKE version in the other direction is a version
    mismatch. Otherwise ProposalMismatch, with the version and the peer config as alternatives
    (strongSwan answers the same when it has no config for the peer)."""
    refusal = next((s for s in clear_errors(ike_sa) if s.notify(14) and not s.initiator), None)
    if refusal is None or context.up is not None:
        return None
    ours = ike_sa.offers
    initiator, responder = names(ike_sa)
    evidence = [Evidence(ike_sa.offer_frame, f"{initiator} offers {offer_module.offers_text(ours)}")
                ] if ours else []
    evidence.append(Evidence(refusal.frame, f"{responder} refuses them all (NO_PROPOSAL_CHOSEN in clear)"))
    offered = (f"{len(ours)} proposal{'s' if len(ours) != 1 else ''} of the initiator: "
               f"{offer_module.offers_text(ours)}") if ours else "the initiator's proposals"
    reverse = [other for other in context.others
               if other.initiator and address(other.initiator) == address(ike_sa.responder or "")]
    for other in reverse:
        if other.version != ike_sa.version:
            evidence.append(Evidence(other.first_frame, f"{address(ike_sa.responder)} itself initiates with "
                                     f"IKEv{other.version}"))
            return Conclusion("failed", "IkeVersionMismatch", "likely", 1,
                              f"{responder} refused {offered}, and itself speaks IKEv{other.version} while "
                              f"the initiator speaks IKEv{ike_sa.version}",
                              "Configure the same IKE version on both gateways.", evidence)
        theirs = other.offers
        if ours and theirs:
            difference = offer_module.compare(ours, theirs, names=(address(ike_sa.initiator), address(other.initiator)))
            if difference is not None:
                evidence.append(Evidence(other.offer_frame, f"{address(ike_sa.responder)} itself offers "
                                         f"{offer_module.offers_text(theirs)}"))
                confidence = "certain" if len(difference.kinds) == 1 else "likely"
                return Conclusion("failed", difference.code, confidence, 1,
                                  f"{responder} refused {offered}; both gateways initiate, so both offers "
                                  f"are on the wire: {difference.text}",
                                  "Make the IKE proposals of both gateways share one combination: "
                                  f"{difference.text}.", evidence)
    return Conclusion("failed", "ProposalMismatch", "likely", 1,
                      f"{responder} refused all {offered}",
                      f"On {address(ike_sa.responder)} (the responder) or {address(ike_sa.initiator)}: make at "
                      "least one IKE proposal identical on both (encryption with key length, integrity, "
                      "PRF, DH group). If the proposals already match, check that the responder has a "
                      "connection for this peer address and this IKE version.", evidence,
                      ["IkeVersionMismatch", "PeerMismatch"])


def rule_no_response(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """The opening request was never answered: the peer is down, unreachable, filtered, or does
    not know the initiator's address. Failed when the sender gave up, incomplete otherwise."""
    if ike_sa.addresses[False] or not ike_sa.started_by_first_message:
        return None
    exchange = opening(ike_sa)
    if exchange is None or not exchange.requests:
        return None
    first = exchange.requests[0]
    evidence = [Evidence(s.frame, "request, no answer" if not s.retransmission else "retransmission, no answer")
                for s in exchange.requests[:4]]
    text = (f"{exchange.name} from {first.sender} to {first.dst}:{first.dport} was {retransmission_text(exchange)} "
            "and never answered")
    change = (f"Check that {first.dst} is the right peer address, that it runs IKE and that UDP 500 and 4500 "
              f"reach it from {first.src} (firewall, ACL, routing); on {first.dst}, check that a connection "
              f"exists for {first.src}.")
    if gave_up(exchange, ike_sa, context):
        return Conclusion("failed", "NoResponse", "likely", 1, text, change, evidence, ["PeerMismatch"])
    if cut_off(exchange, ike_sa, context):
        return None  # sent once in the last moments of the capture: incomplete, nothing more
    return Conclusion("incomplete", "NoResponse", "possible", 1,
                      text + " (the capture ends before the initiator gave up)", change, evidence)


def rule_phase1_unanswered(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """IKEv2: IKE_SA_INIT answered, IKE_AUTH unanswered through its retransmissions. Often IP
    fragments dropped on the path (say so when the request was fragmented), or UDP 4500 blocked
    after the float from 500."""
    if ike_sa.version != 2 or context.up is not None:
        return None
    init = opening(ike_sa)
    auth = next((e for e in exchanges(ike_sa, 35) if e.requests), None)
    if init is None or not init.answered or not init.requests or auth is None or auth.answered:
        return None
    first = auth.requests[0]
    evidence = [Evidence(init.responses[-1].frame, f"IKE_SA_INIT answered by {init.responses[-1].sender}")]
    evidence += [Evidence(s.frame, ("IKE_AUTH request" if not s.retransmission else "retransmission")
                          + f", {s.length} octets, no answer") for s in auth.requests[:4]]
    reasons = []
    alternatives = ["NoResponse"]
    fragmented = [s for s in auth.requests if s.frames]
    if fragmented:
        reasons.append(f"the request ({first.length} octets) travelled in {len(fragmented[0].frames)} IP "
                       "fragments, and paths that drop fragments drop exactly this message")
    floated = init.requests[0].sport != first.sport or init.requests[0].dport != first.dport
    if floated:
        reasons.append(f"IKE moved from port {init.requests[0].dport} (answered) to {first.dport} (silent): "
                       f"UDP {first.dport} may be blocked between the peers")
    if any(a.sender_behind_nat or a.receiver_behind_nat for _, a in nat_assessments(ike_sa)):
        alternatives.append("NatTMismatch")
    nat_seen = "NatTMismatch" in alternatives
    if nat_seen and not floated and first.dport == 500:
        evidence.append(Evidence(init.responses[-1].frame, "NAT detection shows a NAT between the peers"))
        return Conclusion(
            "failed" if gave_up(auth, ike_sa, context) else "incomplete", "NatTMismatch", "likely", 1,
            f"the NAT-D hashes show a NAT between the peers, yet IKE_AUTH from {first.sender} stayed on port 500 "
            f"(no NAT traversal) and was {retransmission_text(auth)} without answer",
            "Enable NAT traversal on both gateways so that IKE and ESP move to UDP 4500 behind the NAT.",
            evidence, ["Phase1NegotiationTimeout", "NoResponse"])
    text = f"IKE_SA_INIT worked but IKE_AUTH from {first.sender} was {retransmission_text(auth)} and never answered"
    if reasons:
        text += ": " + "; ".join(reasons)
    change = ("Allow IP fragments (or enable IKE fragmentation, RFC 7383, on both sides) on the path"
              if fragmented else f"Open UDP {first.dport} between the peers")
    change += (f"; check the responder {address(ike_sa.responder)} for errors about this IKE SA "
               f"(a responder that cannot verify the request may stay silent).")
    if cut_off(auth, ike_sa, context):
        return None  # sent once in the last moments of the capture: incomplete, nothing more
    if not gave_up(auth, ike_sa, context):
        return Conclusion("incomplete", "Phase1NegotiationTimeout", "possible", 1,
                          text + " (the capture ends before the initiator gave up)", change, evidence,
                          alternatives)
    return Conclusion("failed", "Phase1NegotiationTimeout", "likely", 1, text, change, evidence, alternatives)


def rule_ikev1_phase1(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """IKEv1 phase 1 stuck after the key exchange:
    - main mode message 5 retransmitted, answered by encrypted notifies or nothing: the responder
      cannot decrypt it, the PSKs differ (likely);
    - message 5 answered once by an encrypted notify, after which the initiator stops: the keys
      agree (it read the notify), the responder refused the identity (likely);
    - aggressive mode: the responder retransmits message 2 and the initiator answered it with an
      encrypted notify instead of message 3: the initiator rejected HASH_R, the PSKs differ."""
    if ike_sa.version != 1 or context.up is not None:
        return None
    phase1 = opening(ike_sa)
    if phase1 is None:
        return None
    notes = [e for e in exchanges(ike_sa, 5) if e.requests and e.requests[0].encrypted]
    if ike_sa.phase1 == "main" and phase1.steps[0] >= 3 and phase1.steps[1] == 2:
        fifth = next((s for s in phase1.requests if s.encrypted), phase1.requests[-1])
        answers = [e.requests[0] for e in notes if not e.by_initiator]
        evidence = [Evidence(fifth.frame, f"main mode message 5 (encrypted identity and hash), {fifth.length} octets")]
        evidence += [Evidence(s.frame, "encrypted INFORMATIONAL from the responder instead of message 6")
                     for s in answers[:2]]
        if phase1.retransmissions >= 1:
            evidence += [Evidence(s.frame, "message 5 again") for s in phase1.requests
                         if s.retransmission][:2]
            how = (f"answered only by {len(answers)} encrypted notification{'s' if len(answers) != 1 else ''} the initiator could not use"
                   if answers else "never answered")
            return Conclusion("failed", "PskMismatch", "likely", 1,
                              f"main mode reached message 5, which the initiator sent {phase1.retransmissions + 1} "
                              f"times, {how}: the responder could not decrypt it, so the two sides derived "
                              "different keys from different pre-shared keys",
                              "Set the same pre-shared key on both sides.", evidence,
                              ["PeerIdMismatch"] + ([] if answers else ["Phase1NegotiationTimeout"]))
        if answers:
            return Conclusion("failed", "PeerIdMismatch", "likely", 1,
                              "main mode reached message 5; the responder answered with one encrypted "
                              "notification and the initiator stopped at once: it could read it, so the keys "
                              "(and the pre-shared keys) agree, and the responder refused the identity",
                              f"On {address(ike_sa.responder)}: make the remote identity it expects equal the "
                              "identity the initiator sends (or fix the initiator's local identity).",
                              evidence, ["PskMismatch"])
    if ike_sa.phase1 == "aggressive" and phase1.steps[1] >= 1 and phase1.steps[0] == 1:
        rejections = [e.requests[0] for e in notes if e.by_initiator]
        if rejections and (phase1.response_retransmissions >= 1 or gave_up_answer(phase1, context)):
            evidence = [Evidence(phase1.responses[0].frame, "aggressive mode message 2 with HASH_R"),
                        Evidence(rejections[0].frame, "encrypted INFORMATIONAL from the initiator instead of "
                                 "message 3")]
            evidence += [Evidence(s.frame, "message 2 again, unanswered") for s in phase1.responses
                         if s.retransmission][:2]
            return Conclusion("failed", "PskMismatch", "likely", 1,
                              "the initiator answered aggressive mode's message 2 with an encrypted notification "
                              "instead of message 3, while the responder kept resending message 2: the "
                              "initiator could not verify the responder's HASH_R, the pre-shared keys differ",
                              "Set the same pre-shared key on both sides.", evidence, ["PeerIdMismatch"])
    return None
