"""The engine: the rules in the order they are tried (`RULES`), and what a conclusion becomes (a
diagnosis of one IKE SA, the verdict of a tunnel).
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Sequence

from .. import catalog
from ..events import DiagnosisEvent, OfferSide, VerdictEvent
from ..tracker import IkeSa
from .context import Conclusion, Context
from .facts import address, established_at
from .rules.authentication import (
    rule_answer_refused,
    rule_auth_refused,
    rule_certificate,
    rule_eap,
    rule_xauth,
)
from .rules.dataplane import rule_established, rule_incomplete, rule_protocol
from .rules.liveness import rule_liveness
from .rules.notifies import rule_clear_notify, rule_decrypted
from .rules.phase1 import (
    rule_icmp_unreachable,
    rule_ikev1_phase1,
    rule_invalid_ke,
    rule_no_proposal_chosen,
    rule_no_response,
    rule_phase1_unanswered,
)
from .rules.phase2 import rule_child_not_installed, rule_child_refused, rule_childless, rule_quick_mode
from .rules.rekey import rule_reauth_lost, rule_rekey_collapse, rule_rekey_lost
from .rules.restart import rule_restart
from .rules.teardown import rule_delete

RULES: tuple[Callable[[IkeSa, Context], Conclusion | None], ...] = (
    rule_icmp_unreachable,
    rule_xauth,
    rule_eap,
    rule_certificate,
    rule_decrypted,
    rule_invalid_ke,
    rule_no_proposal_chosen,
    rule_clear_notify,
    rule_reauth_lost,
    rule_no_response,
    rule_phase1_unanswered,
    rule_auth_refused,
    rule_answer_refused,
    rule_ikev1_phase1,
    rule_quick_mode,
    rule_child_refused,
    rule_childless,
    rule_child_not_installed,
    rule_rekey_lost,
    rule_rekey_collapse,
    rule_restart,
    rule_liveness,
    rule_delete,
    rule_protocol,
    rule_established,
)


def conclude(ike_sa: IkeSa, context: Context) -> Conclusion:
    context.up = established_at(ike_sa)
    for rule in RULES:
        conclusion = rule(ike_sa, context)
        if conclusion is not None:
            conclusion.alternatives = [a for a in conclusion.alternatives if a != conclusion.code][:3]
            return conclusion
    return rule_incomplete(ike_sa, context)


def exchange_lines(ike_sa: IkeSa) -> list[str]:
    """One line per exchange kept, in order (folded ones read from their row, not made whole)."""
    folded = ike_sa.folded
    if folded is None:  # (most SAs)
        return [exchange_line(e.name, e.message_id, e.by_initiator, e.answered, e.expects_response, e.response_time(),
                              e.retransmissions) for e in ike_sa.records.values()]
    lines = []
    for entry in ike_sa.entries():
        if isinstance(entry, int):
            assert folded is not None
            routine = ike_sa.routines[folded.shape(entry)]
            asked, answered = folded.rows[3 * entry + 1], folded.rows[3 * entry + 2]
            timing = folded.times[2 * entry + 1] - folded.times[2 * entry] if asked and answered else None
            lines.append(exchange_line(routine.name, folded.message_ids[entry], routine.by_initiator,
                                       bool(answered), routine.expects_response, timing, 0))
        else:
            lines.append(exchange_line(entry.name, entry.message_id, entry.by_initiator, entry.answered,
                                       entry.expects_response, entry.response_time(), entry.retransmissions))
    return lines


def exchange_line(name: str, message_id: int, by_initiator: bool, answered: bool, expects_response: bool,
                  timing: float | None, retransmissions: int) -> str:
    """One line of `exchange_lines`, shared by every diagnosis that says the same (the lines of liveness
    checks repeat from SA to SA, and every diagnosis is kept until the end of the input)."""
    asker = "initiator" if by_initiator else "responder"
    state = "answered" if answered else ("no answer expected" if not expects_response else "unanswered")
    return sys.intern(f"{name} #{message_id} by the {asker}: {state}"
                      + (f" in {timing * 1000:.0f} ms" if timing is not None else "")
                      + (f", {retransmissions} retransmissions" if retransmissions else ""))


OFFER_SIDES_KEPT = 6


def offer_sides(ike_sa: IkeSa) -> list[OfferSide]:
    """Both sides' proposals as seen: the initiator's offer and the responder's choice in clear, then the
    latest offers and choices read in decrypted SA payloads (IKE_AUTH, CREATE_CHILD_SA, quick mode)."""
    sides: list[OfferSide] = []
    first = "IKE_SA_INIT" if ike_sa.version == 2 else \
        ("AGGRESSIVE" if ike_sa.phase1 == "aggressive" else "IDENTITY_PROTECTION")
    if ike_sa.offers:
        sides.append(OfferSide("initiator", address(ike_sa.initiator), ike_sa.offer_frame, first, "offered",
                               list(dict.fromkeys(offer.text for offer in ike_sa.offers))))
    if ike_sa.choice:
        sides.append(OfferSide("responder", address(ike_sa.responder), ike_sa.choice_frame, first, "chose",
                               list(dict.fromkeys(offer.text for offer in ike_sa.choice))))
    for sent, offers in ike_sa.inner_offers[-OFFER_SIDES_KEPT:]:
        if offers:
            sides.append(OfferSide("initiator" if sent.initiator else "responder", sent.src, sent.frame,
                                   sent.exchange, "chose" if sent.response else "offered",
                                   list(dict.fromkeys(offer.text for offer in offers))))
    return sides


SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
WORD = re.compile(r"[a-z0-9]+")
SAID_ALREADY = 0.5
"""A sentence of the catalog's remedy whose content words are this much in the rule's advice adds nothing."""
COMMON_WORDS = frozenset({"the", "and", "for", "that", "this", "with", "both", "side", "sides", "each", "then",
                          "other", "one", "are", "its", "their", "from", "not", "make", "check", "set", "on"})


def one_fix(change: str, remedy: str) -> str:
    """The rule's specific advice first, then the sentences of the catalog's remedy that add something
    (a sentence saying mostly what the advice already says is left out)."""
    if not change:
        return remedy
    said = _content(change)
    added = []
    for sentence in SENTENCE_END.split(remedy):
        if not sentence or _said(sentence, said):
            continue
        lead, colon, rest = sentence.partition(": ")
        if colon and rest and len(_content(lead)) >= 3 and _said(lead, said):  # 'Make X mirror each other: every local network ...'
            sentence = rest[0].upper() + rest[1:]
        added.append(sentence)
    return " ".join([change, *added])


def _said(text: str, said: set[str]) -> bool:
    words = _content(text)
    return len(words & said) >= SAID_ALREADY * max(len(words), 1)


def _content(text: str) -> set[str]:
    words = {word.rstrip("s") if len(word) > 4 else word for word in WORD.findall(text.lower())}
    return {word for word in words if len(word) > 2 and word not in COMMON_WORDS}


def diagnose(ike_sa: IkeSa, context: Context, file: str = "") -> DiagnosisEvent:
    conclusion = conclude(ike_sa, context)
    cause = catalog.catalog().cause(conclusion.code)
    message = sys.intern(f"{conclusion.seen[0].upper()}{conclusion.seen[1:]}.") if conclusion.seen else cause.message
    remedy = "" if conclusion.orderly else one_fix(conclusion.change, cause.remedy)
    return DiagnosisEvent(
        ike_sa=ike_sa.id, version=ike_sa.version, initiator=ike_sa.initiator, responder=ike_sa.responder,
        outcome=conclusion.outcome, code=conclusion.code, huawei=catalog.huawei_name(cause, conclusion.phase),
        phase=conclusion.phase,
        confidence=conclusion.confidence, alternatives=conclusion.alternatives,
        evidence=sorted(conclusion.evidence, key=lambda item: item.frame), message=message, remedy=remedy,
        exchanges=exchange_lines(ike_sa), file=file, offers=offer_sides(ike_sa), orderly=conclusion.orderly,
        started=ike_sa.first_time, ended=ike_sa.last_time)


FAILING = ("failed", "torn_down")


def verdict(peers: Sequence[str], ike_sas: Sequence[str], latest: DiagnosisEvent,
            definite: DiagnosisEvent | None, failure: DiagnosisEvent | None = None) -> VerdictEvent:
    """The conclusion for a tunnel: the latest attempt's diagnosis, unless the latest is only
    incomplete and an earlier attempt concluded (`definite`). A tunnel up in the end after an attempt that
    failed (`failure`) says so: when the outage began, how long it lasted, why."""
    chosen = definite if latest.outcome == "incomplete" and definite is not None else latest
    message, evidence = chosen.message, chosen.evidence
    if chosen.outcome == "established" and failure is not None and failure.ended <= chosen.started \
            and chosen.code != "PeerRestart":  # (a restart's diagnosis tells its outage itself)
        down = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(failure.started))
        message += (f" It recovered from an outage: an earlier attempt ({failure.ike_sa}) failed with {failure.code} "
                    f"({failure.confidence}) from {down}, and the tunnel came up again "
                    f"{chosen.started - failure.started:.0f} s later. {failure.message}")
        evidence = sorted([*failure.evidence[:2], *chosen.evidence], key=lambda item: item.frame)
    return VerdictEvent(peers=sorted(peers), code=chosen.code, outcome=chosen.outcome, confidence=chosen.confidence,
                        ike_sas=list(ike_sas), evidence=evidence, message=message,
                        remedy=chosen.remedy, huawei=chosen.huawei, phase=chosen.phase,
                        alternatives=chosen.alternatives, file=chosen.file, offers=chosen.offers,
                        orderly=chosen.orderly)


def is_failure(event: VerdictEvent | DiagnosisEvent) -> bool:
    """A failure for the exit status (SPEC §3), whatever the confidence: failed, or torn down by a failure
    (not closed in order)."""
    return event.outcome == "failed" or (event.outcome == "torn_down" and not event.orderly)