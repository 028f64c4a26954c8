"""Phase 2 rules: the CHILD_SA (IKEv2) or the IPsec SA of quick mode (IKEv1) refused or unanswered.
"""

from __future__ import annotations

from ... import offers as offer_module
from ...events import Evidence
from ...tracker import IkeSa, Sent
from ..context import Conclusion, Context
from ..facts import (
    MIN_CHILD,
    MIN_CREATE_CHILD_RESPONSE,
    MIN_ID,
    child_traffic,
    exchanges,
    gave_up,
    names,
    plaintext_room,
    prf_output,
    retransmission_text,
    who,
)


def child_refused(ike_sa: IkeSa, refusal: Sent, read: Evidence) -> Conclusion:
    """A decrypted NO_PROPOSAL_CHOSEN for a CHILD_SA: which offer was refused, and what it differs in
    from the offer accepted earlier in the same IKE SA (a rekey that adds PFS, for one)."""
    asked = [(s, o) for s, o in ike_sa.inner_offers if s.frame < refusal.frame and (
        s.message_id == refusal.message_id if ike_sa.version == 2 else s.exchange == "QUICK_MODE" and not s.response)]
    # (IKEv1 refuses quick mode in an INFORMATIONAL of its own message id: the offer is the latest quick mode)
    accepted = [(s, o) for s, o in ike_sa.inner_offers if s.frame < refusal.frame and s.response]
    evidence = [read]
    if asked:
        sent, offered = asked[-1]
        evidence.insert(0, Evidence(sent.frame, f"offers {offer_module.offers_text(offered)} (decrypted)"))
        if all(offer.protocol == "AH" for offer in offered):
            return Conclusion("failed", "SecurityProtocolMismatch", "likely", 2,
                              "the CHILD_SA proposals are AH only and the peer refused them all (NO_PROPOSAL_CHOSEN)",
                              "Configure the same security protocol (ESP or AH) on both sides.", evidence,
                              ["ProposalMismatch"])
        if accepted:
            difference = offer_module.compare(offered, accepted[-1][1],
                                              names=("the new request", "the SA accepted before"))
            if difference is not None:
                evidence.append(Evidence(accepted[-1][0].frame, "the proposal accepted before (decrypted)"))
                return Conclusion("failed", difference.code, "certain", 2,
                                  f"the peer refused the CHILD_SA proposals (NO_PROPOSAL_CHOSEN, decrypted); "
                                  f"{difference.text}", "", evidence, ["ProposalMismatch"])
    pfs = ""
    if asked and ike_sa.version == 1:
        groups = {g for offer in asked[-1][1] for g in offer.dh_groups if g != "NONE"}
        pfs = (f"; the offer asks for PFS ({', '.join(sorted(groups))}): if the peer has none, that is the cause"
               if groups else "; the offer has no PFS: if the peer requires PFS, that is the cause")
    return Conclusion("failed", "ProposalMismatch", "certain", 2,
                      "the peer refused every CHILD_SA proposal (NO_PROPOSAL_CHOSEN, decrypted)"
                      + (f": {offer_module.offers_text(asked[-1][1])}" if asked else "") + pfs,
                      "Give both sides one common ESP proposal (encryption, integrity, PFS group).", evidence,
                      ["PfsMismatch", "TrafficSelectorMismatch"])


def rule_childless(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """IKEv2: IKE_AUTH answered with room for ID and AUTH but not for an SA and two traffic selector
    payloads, and no ESP afterwards: the IKE SA stands, its CHILD_SA was refused. TS_UNACCEPTABLE
    and NO_PROPOSAL_CHOSEN are the same size, so the cause stays open without keys. Limit: libreswan's pluto
    answers TS_UNACCEPTABLE also when it cannot install the IPsec SA itself, with keys too
    (`libreswan-pair-ikev2-no-kernel-esp`, `libreswan-resp-ikev2-no-kernel-esp`)."""
    if ike_sa.version != 2:
        return None
    for auth in exchanges(ike_sa, 35):
        if not auth.answered:
            continue
        room = plaintext_room(ike_sa, auth.responses)
        needed = MIN_ID + 8 + prf_output(ike_sa)
        if room is None or room < needed or room >= needed + MIN_CHILD:
            continue
        response = auth.responses[0]
        forth, back = child_traffic(ike_sa, context, response.time)
        if forth or back or any(
                e.answered and (plaintext_room(ike_sa, e.responses) or 0) >= MIN_CREATE_CHILD_RESPONSE
                for e in exchanges(ike_sa, 36)):
            return None  # traffic flows, or a CHILD_SA was made later (childless IKE SA on purpose)
        evidence = [Evidence(response.frame, f"IKE_AUTH answer of {response.length} octets: room for an identity "
                             f"and AUTH ({needed}) but not for an SA and traffic selectors ({needed + MIN_CHILD})")]
        return Conclusion("failed", "TrafficSelectorMismatch", "possible", 2,
                          f"the IKE SA was established but {names(ike_sa)[1]} refused the CHILD_SA in IKE_AUTH "
                          "and no ESP followed; without keys the refusal reads the same for traffic selectors "
                          "(TS_UNACCEPTABLE) and ESP proposals (NO_PROPOSAL_CHOSEN)",
                          "Make the protected subnets mirror each other (local on one side = remote on the "
                          "other) and give both sides one common ESP proposal.", evidence, ["ProposalMismatch"])
    return None


def rule_child_refused(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """IKEv2 CREATE_CHILD_SA answered by a message too short for an SA and a nonce: the rekey or
    new CHILD_SA was refused. A request large enough to carry a key exchange of the IKE SA's group
    asked for PFS: PfsMismatch is then the likely cause."""
    if ike_sa.version != 2:
        return None
    creates = exchanges(ike_sa, 36)
    for exchange in creates:
        if not exchange.answered or not exchange.requests:
            continue
        room = plaintext_room(ike_sa, exchange.responses)
        if room is None or room >= MIN_CREATE_CHILD_RESPONSE:
            continue
        if any(later.message_id > exchange.message_id and later.answered
               and (plaintext_room(ike_sa, later.responses) or 0) >= MIN_CREATE_CHILD_RESPONSE
               for later in creates):
            continue  # a later CREATE_CHILD_SA succeeded: this refusal did not last
        request_room = plaintext_room(ike_sa, exchange.requests) or 0
        ke = ike_sa.ke_length
        response = exchange.responses[0]
        evidence = [Evidence(exchange.requests[0].frame, f"CREATE_CHILD_SA request, {exchange.requests[0].length} "
                             "octets"),
                    Evidence(response.frame, f"answer of {response.length} octets: too short for an SA and a "
                             "nonce, an error notify")]
        if ke and request_room >= ke + MIN_CREATE_CHILD_RESPONSE:
            return Conclusion("failed", "PfsMismatch", "likely", 2,
                              f"{who(ike_sa, exchange.requests[0])[1]} refused a CREATE_CHILD_SA whose request is "
                              f"large enough to carry a key exchange ({ke} octets for the IKE SA's group): PFS was "
                              "asked for and refused", "Enable PFS with the same DH group on both sides, or "
                              "disable it on both.", evidence, ["ProposalMismatch", "RekeyFailure"])
        return Conclusion("failed", "RekeyFailure", "possible", 2,
                          f"{who(ike_sa, exchange.requests[0])[1]} refused a CREATE_CHILD_SA (rekey or new "
                          "CHILD_SA)", "Compare the ESP proposals, PFS settings and traffic selectors of both "
                          "sides.", evidence, ["ProposalMismatch", "PfsMismatch", "TrafficSelectorMismatch"])
    return None


def rule_quick_mode(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """IKEv1 quick mode: the responder answered the first message with an encrypted notification
    instead of quick mode message 2 (proposal, selectors or PFS refused), or never answered. Limit: libreswan's
    pluto, unable to install the IPsec SA, never answers quick mode (`libreswan-resp-ikev1-main-no-kernel-esp`):
    the wire shows a phase-2 timeout, not the local failure."""
    if ike_sa.version != 1:
        return None
    for exchange in exchanges(ike_sa, 32):
        committed = [s for s in exchange.requests + exchange.responses if s.commit]
        if committed and exchange.steps[0] < 2 and (exchange.answered or gave_up(exchange, ike_sa, context)):
            sender = who(ike_sa, committed[0])[0]
            return Conclusion("failed", "CommitMismatch", "possible", 2,
                              f"{sender} set the commit flag in quick mode, which then never completed: one side "
                              "waits for a CONNECTED notification the other does not send",
                              "Set the commit-bit option the same way on both gateways (usually off).",
                              [Evidence(s.frame, "quick mode message with the commit flag") for s in committed[:2]],
                              ["Phase2NegotiationTimeout"])
        if exchange.answered or not exchange.requests:
            continue
        first = exchange.requests[0]
        refusals = [e.requests[0] for e in exchanges(ike_sa, 5)
                    if e.by_initiator != exchange.by_initiator and e.requests
                    and 0 <= e.requests[0].time - first.time <= 2]
        if refusals:
            return Conclusion("failed", "ProposalMismatch", "likely", 2,
                              f"{who(ike_sa, first)[1]} answered quick mode with an encrypted notification "
                              "instead of message 2: it refused the IPsec SA (proposal, traffic selectors or PFS)",
                              "Give both sides one common ESP proposal (encryption, integrity, PFS group) and "
                              "mirrored traffic selectors.",
                              [Evidence(first.frame, "quick mode message 1"),
                               Evidence(refusals[0].frame, "encrypted INFORMATIONAL instead of quick mode message 2")],
                              ["TrafficSelectorMismatch", "PfsMismatch"])
        given_up = gave_up(exchange, ike_sa, context)
        if given_up or exchange.retransmissions >= 2:
            return Conclusion("failed", "Phase2NegotiationTimeout", "likely" if given_up else "possible", 2,
                              f"quick mode from {first.sender} was {retransmission_text(exchange)} and never "
                              "answered" + ("" if given_up else " before the capture ends (its sender had not yet "
                                            "given up)"),
                              "Check the peer's logs for this quick mode; compare ESP proposals and "
                              "traffic selectors.", [Evidence(s.frame, "quick mode message 1, no answer")
                                                     for s in exchange.requests[:3]], ["ProposalMismatch"])
    return None


ABANDON_WITHIN = 1.0
"""Seconds after a complete IKE_AUTH answer within which an initiator that starts over abandoned the SA."""


def full_auth_answer(ike_sa: IkeSa) -> Sent | None:
    """The IKE_AUTH answer with room for ID, AUTH, an SA and traffic selectors (a CHILD_SA accepted)."""
    for auth in exchanges(ike_sa, 35):
        room = plaintext_room(ike_sa, auth.responses)
        if auth.requests and room is not None and room >= MIN_ID + 8 + prf_output(ike_sa) + MIN_CHILD:
            return auth.responses[0]
    return None


def abandoned(ike_sa: IkeSa, others: list[IkeSa]) -> tuple[Sent, IkeSa] | None:
    """(its IKE_AUTH answer, the next SA) when the initiator started a new IKE SA from scratch at once after
    the answer, and nothing else happened on this one."""
    answer = full_auth_answer(ike_sa)
    if answer is None or any(e.requests and e.requests[0].time > answer.time
                             for e in ike_sa.iter_exchanges(newest_first=True)):
        return None
    for other in others:
        if 0 <= other.first_time - answer.time <= ABANDON_WITHIN and other.started_by_first_message \
                and other.initiator.rsplit(":", 1)[0] == ike_sa.initiator.rsplit(":", 1)[0]:
            return answer, other
    return None


def rule_child_not_installed(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """IKEv2: the responder accepted the CHILD_SA in IKE_AUTH, yet the initiator used neither SA: no ESP, no
    Delete, and within a second it negotiates a new IKE SA from scratch (or this SA ends so after an earlier
    one did): the initiator could not install what it negotiated, a local failure no notify reports.

    The lab shows it with libreswan: pluto without ESP in its kernel fails to add the IPsec SA, drops the IKE
    SA silently and revives the connection at once (`libreswan-init-ikev2-no-kernel-esp`); strongSwan as the
    initiator keeps the IKE SA instead. Limits: pluto as the *responder* in the same plight answers IKE_AUTH
    with TS_UNACCEPTABLE (`libreswan-pair-ikev2-no-kernel-esp`, `libreswan-resp-ikev2-no-kernel-esp`: read as a
    refused CHILD_SA, rule_childless), and in IKEv1 it never answers quick mode
    (`libreswan-resp-ikev1-main-no-kernel-esp`: Phase2NegotiationTimeout, rule_quick_mode)."""
    if ike_sa.version != 2 or not ike_sa.started_by_first_message:
        return None
    answer = full_auth_answer(ike_sa)
    if answer is None or any(child_traffic(ike_sa, context, answer.time - 0.001)):
        return None
    others = [sa for sa in context.others if sa.version == 2]
    found = abandoned(ike_sa, others)
    earlier: list[IkeSa] = []
    if found is None:  # the last SA of the tunnel, unused after its answer, after others abandoned so
        if any(sa.first_time > ike_sa.first_time for sa in others) or any(
                e.requests and e.requests[0].time > answer.time for e in ike_sa.iter_exchanges(newest_first=True)):
            return None
        earlier = [sa for sa in others if sa.first_time < ike_sa.first_time and abandoned(sa, [ike_sa, *others])]
        if not earlier:
            return None
    initiator = names(ike_sa)[0]
    if found is not None:
        seen = (f"{names(ike_sa)[1]} accepted the CHILD_SA (a full IKE_AUTH answer, frame {answer.frame}), but "
                f"{initiator} sent no ESP and no Delete and started a new IKE SA from scratch "
                f"{found[1].first_time - answer.time:.3f} s later")
        evidence = [Evidence(answer.frame, "IKE_AUTH answer with room for an SA and traffic selectors"),
                    Evidence(found[1].first_frame, "a new IKE_SA_INIT from the same initiator at once")]
    else:
        seen = (f"{initiator} negotiated this IKE SA and its CHILD_SA (frame {answer.frame}) and then used neither, "
                f"as it had abandoned the one before ({len(earlier)} before it)")
        evidence = [Evidence(answer.frame, "IKE_AUTH answer with room for an SA and traffic selectors"),
                    Evidence(earlier[0].first_frame, "an earlier IKE SA abandoned the same way")]
    return Conclusion("failed", "NegotiationFailed", "possible", 2,
                      seen + ": it could not install the SAs it negotiated (a local failure no notify reports)",
                      f"Look in the logs of {ike_sa.initiator.rsplit(':', 1)[0]} for why it could not install the "
                      "IPsec SA (kernel IPsec support, SA limits, its own errors).", evidence,
                      ["TrafficSelectorMismatch"])
