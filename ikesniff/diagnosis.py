"""Diagnosis rules: from what the tracker kept about an IKE SA to a cause code, a confidence, the
frames that prove it and a remedy that names the side to change.

A rule says *when* a cause applies and *what was seen*; the catalog (`catalog.py`) says what to
tell the user about the cause in general. Rules are small functions tried in order (`RULES`); the
first that concludes wins. Each states in its docstring the evidence it needs.

Confidence (SPEC §4):
- certain: the decisive notify or payload was read (in clear, or decrypted);
- likely: a strong wire pattern (sizes, retransmissions, who gave up, ICMP);
- possible: the wire is ambiguous; the alternatives name what else fits.

What the wire cannot tell without keys, and what the lab measured (strongSwan 5.9.8, `pcaps/`):
- an IKEv2 IKE_AUTH answer too short to hold the responder's ID and AUTH is an error notify; a wrong
  PSK and an unknown identity give the same 80-octet answer (AUTHENTICATION_FAILED);
- an IKE_AUTH answer that holds ID and AUTH but is too short for an SA and two TS payloads leaves a
  childless IKE SA: TS_UNACCEPTABLE and NO_PROPOSAL_CHOSEN are the same size;
- strongSwan answers NO_PROPOSAL_CHOSEN also when it has no configuration for the peer's address or
  IKE version (36 octets, the same as a real proposal mismatch);
- IKEv1 main mode with different PSKs: message 5 cannot be decrypted by the responder, which answers
  with encrypted notifies the initiator cannot read either, so the initiator keeps retransmitting;
  with an unknown identity the keys agree, the initiator reads AUTHENTICATION_FAILED and stops;
- a Delete and an empty liveness check are the same size with block ciphers.
This module knows nothing of files, sockets or output formats.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from dissectors.ikev2 import sk_layout

from . import catalog, natd
from . import offers as offer_module
from .events import DiagnosisEvent, Evidence, FindingEvent, OfferSide, VerdictEvent
from .tracker import EspFlow, Exchange, IkeSa, Sent, nat_assessments

GIVE_UP_RETRANSMISSIONS = 3
"""Retransmissions of one request after which its sender has given up or is about to (strongSwan's
lab settings: 3; its default: 5 over 165 s; libreswan, Cisco: 5)."""
SILENCE_IS_GIVING_UP = 60.0
"""Seconds a request may stay unanswered, while the capture goes on, before its sender counts as
having given up even without a long retransmission series."""
BURST = 1.0
"""Seconds within which messages of one side count as sent together."""

PRF_OUTPUT = {1: 16, 2: 20, 3: 24, 4: 16, 5: 32, 6: 48, 7: 64, 8: 16}
"""IKEv2 PRF transform id -> output octets (an AUTH payload for a PSK carries one PRF output)."""
MIN_ID = 9
"""Identification payload: 4 header, 4 type and reserved, at least one octet of identity."""
MIN_CHILD = 36 + 48
"""SA with one ESP proposal (4 + 8 + 4 SPI + 20 of transforms) and TSi + TSr of one IPv4 range each."""
MIN_CREATE_CHILD_RESPONSE = 36 + 24
"""SA with one proposal and a nonce of 16 octets."""
CERTIFICATE_SIZED = 700
"""An IKE_AUTH request whose plaintext is at least this long almost surely carries a certificate."""

WEAK_FINDINGS_PER_TUNNEL = 4

Side = str


@dataclass(slots=True)
class Conclusion:
    outcome: str
    code: str
    confidence: str
    phase: int | None
    seen: str
    """What was seen, one or two sentences naming sides, frames and values."""
    change: str
    """Which side to change and what, specific to what was seen ('' to use only the catalog remedy)."""
    evidence: list[Evidence] = field(default_factory=list)
    alternatives: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Context:
    """What a rule may look at besides the SA itself."""

    end_time: float
    """Time of the last packet of the input."""
    others: list[IkeSa]
    """The other IKE SAs of the same tunnel, in order of first message."""
    esp: list[EspFlow]
    """ESP / ESP-in-UDP flows between the two peers."""
    ah: list[EspFlow] = field(default_factory=list)
    up: Sent | None = None
    """The message that shows the SA established (`established_at`), worked out once by `conclude`
    before the rules run."""


# --- facts a rule reads ---------------------------------------------------------------------------

def names(ike_sa: IkeSa) -> tuple[str, str]:
    """('moon 192.0.2.1:500'-like) labels of the initiator and the responder."""
    return f"the initiator {ike_sa.initiator or '?'}", f"the responder {ike_sa.responder or '?'}"


def exchanges(ike_sa: IkeSa, *exchange_types: int) -> list[Exchange]:
    return [e for e in ike_sa.exchanges.values() if not exchange_types or e.exchange_type in exchange_types]


def opening(ike_sa: IkeSa) -> Exchange | None:
    """IKE_SA_INIT or the IKEv1 phase-1 exchange."""
    for exchange in ike_sa.exchanges.values():
        if exchange.exchange_type in (34, 2, 4):
            return exchange
    return None


def gave_up(exchange: Exchange, ike_sa: IkeSa, context: Context) -> bool:
    """An unanswered request whose sender stopped waiting: a long retransmission series, a new
    attempt by the same side, or a long silence while the capture went on."""
    last = exchange.last_request
    if last is None:
        return False
    if exchange.retransmissions >= GIVE_UP_RETRANSMISSIONS:
        return True
    if context.end_time - last.time >= SILENCE_IS_GIVING_UP:
        return True
    return any(other.first_time > last.time and other.initiator.split(":")[0] == last.src
               for other in context.others)


def frames_of(sents: Iterable[Sent], limit: int = 4) -> list[int]:
    return [s.frame for s in list(sents)[:limit]]


def retransmission_text(exchange: Exchange) -> str:
    count = exchange.retransmissions
    if not count:
        return "sent once"
    span = exchange.requests[-1].time - exchange.requests[0].time
    return f"sent {count + 1} times over {span:.1f} s"


def plaintext_room(ike_sa: IkeSa, sents: Sequence[Sent]) -> int | None:
    """Octets of plaintext (payloads and padding) an IKEv2 encrypted message can hold, from the SK
    length and the chosen cipher; summed over SKF fragments; None when the layout is unknown."""
    chosen = ike_sa.chosen
    if 1 not in chosen:
        return None
    encr, bits = chosen[1]
    integ = chosen.get(3, (None, None))[0]
    try:
        iv, icv = sk_layout(encr, bits, integ)
    except ValueError:
        return None
    seen: dict[int, int] = {}
    for sent in sents:
        if sent.sk_length:
            number = sent.fragment[0] if sent.fragment else 1
            seen[number] = sent.sk_length - 4 - iv - icv
    if not seen:
        return None
    return sum(seen.values()) - 1  # the pad length octet


def prf_output(ike_sa: IkeSa) -> int:
    return PRF_OUTPUT.get(ike_sa.chosen.get(2, (5, None))[0], 32)


def established_at(ike_sa: IkeSa) -> Sent | None:
    """The message that shows the IKE SA established, without keys."""
    if ike_sa.version == 2:
        for exchange in exchanges(ike_sa, 35):
            room = plaintext_room(ike_sa, exchange.responses)
            if exchange.responses and (room is None or room >= MIN_ID + 8 + prf_output(ike_sa)):
                return exchange.responses[0]
        for exchange in ike_sa.exchanges.values():
            if exchange.exchange_type in (36, 37, 43) and exchange.answered and exchange.message_id > 0:
                return exchange.responses[0]
        if not ike_sa.started_by_first_message:
            for exchange in ike_sa.exchanges.values():
                if exchange.answered:
                    return exchange.responses[0]
        return None
    phase1 = opening(ike_sa)
    if phase1 is not None:
        needed = 3 if ike_sa.phase1 == "main" else 1
        if phase1.steps[1] >= needed and (ike_sa.phase1 == "main" or phase1.steps[0] >= 2):
            return phase1.responses[-1] if ike_sa.phase1 == "main" else phase1.requests[-1]
    for exchange in exchanges(ike_sa, 32, 5, 6):
        if exchange.exchange_type == 32 and (exchange.answered or not ike_sa.started_by_first_message):
            return exchange.first
    return None


def esp_between(context: Context, source: str, since: float) -> list[EspFlow]:
    return [f for f in context.esp if f.src == source and f.last_time >= since]


def address(endpoint_text: str) -> str:
    if endpoint_text.startswith("["):
        return endpoint_text[1:].split("]")[0]
    return endpoint_text.rsplit(":", 1)[0]


def child_traffic(ike_sa: IkeSa, context: Context, since: float) -> tuple[int, int]:
    """ESP packets initiator -> responder and back, seen since `since`."""
    initiator, responder = address(ike_sa.initiator), address(ike_sa.responder)
    forth = sum(f.packets for f in esp_between(context, initiator, since) if f.dst == responder)
    back = sum(f.packets for f in esp_between(context, responder, since) if f.dst == initiator)
    return forth, back


# --- clear notifies -------------------------------------------------------------------------------

NOTIFY_CAUSES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    # notify name: (code, confidence, alternatives); NO_PROPOSAL_CHOSEN, INVALID_KE_PAYLOAD and
    # AUTHENTICATION_FAILED have rules of their own.
    "INVALID_MAJOR_VERSION": ("IkeVersionMismatch", "certain", ()),
    "INVALID_EXCHANGE_TYPE": ("NegotiationModeMismatch", "likely", ("IkeVersionMismatch",)),
    "INVALID_ID_INFORMATION": ("PeerIdMismatch", "certain", ()),
    "TS_UNACCEPTABLE": ("TrafficSelectorMismatch", "certain", ()),
    "INVALID_SELECTORS": ("TrafficSelectorMismatch", "likely", ()),
    "SINGLE_PAIR_REQUIRED": ("TrafficSelectorMismatch", "likely", ()),
    "INVALID_COOKIE": ("InvalidCookie", "certain", ()),
    "INVALID_IKE_SPI": ("InvalidSpi", "certain", ()),
    "INVALID_SPI": ("InvalidSpi", "certain", ()),
    "UNSUPPORTED_CRITICAL_PAYLOAD": ("UnsupportedCriticalPayload", "certain", ()),
    "INVALID_SYNTAX": ("MalformedMessage", "likely", ()),
    "PAYLOAD_MALFORMED": ("MalformedMessage", "likely", ("PskMismatch",)),
    "INVALID_PAYLOAD_TYPE": ("MalformedMessage", "possible", ("PskMismatch",)),
    "INVALID_HASH_INFORMATION": ("PskMismatch", "likely", ("PeerIdMismatch",)),
    "INVALID_SIGNATURE": ("CertificateAuthenticationFailure", "certain", ()),
    "INVALID_CERTIFICATE": ("CertificateAuthenticationFailure", "certain", ()),
    "CERT_TYPE_UNSUPPORTED": ("CertificateAuthenticationFailure", "certain", ()),
    "INVALID_CERT_AUTHORITY": ("CertificateAuthenticationFailure", "certain", ()),
    "CERTIFICATE_UNAVAILABLE": ("CertificateAuthenticationFailure", "certain", ()),
    "ATTRIBUTES_NOT_SUPPORTED": ("ProposalMismatch", "likely", ("LifetimeMismatch",)),
    "INVALID_TRANSFORM_ID": ("ProposalMismatch", "likely", ()),
    "INVALID_PROTOCOL_ID": ("SecurityProtocolMismatch", "likely", ("ProposalMismatch",)),
    "BAD_PROPOSAL_SYNTAX": ("ProposalMismatch", "likely", ("MalformedMessage",)),
    "INTERNAL_ADDRESS_FAILURE": ("AddressAssignmentFailure", "certain", ()),
    "FAILED_CP_REQUIRED": ("AddressAssignmentFailure", "certain", ()),
    "NO_ADDITIONAL_SAS": ("ResourceLimit", "likely", ()),
    "CHILD_SA_NOT_FOUND": ("RekeyFailure", "likely", ()),
    "INVALID_MESSAGE_ID": ("NegotiationFailed", "likely", ()),
    "UNEQUAL_PAYLOAD_LENGTHS": ("MalformedMessage", "likely", ()),
}


def clear_errors(ike_sa: IkeSa) -> list[Sent]:
    """Messages carrying an error notify (type below 16384) in clear."""
    return [sent for sent in ike_sa.clear if any(ref.is_error for ref in sent.notifies)]


def first_error(sent: Sent) -> str:
    return next(ref.type for ref in sent.notifies if ref.is_error)


def who(ike_sa: IkeSa, sent: Sent) -> tuple[str, str]:
    """(sender, receiver) labels of a message."""
    initiator, responder = names(ike_sa)
    return (initiator, responder) if sent.initiator else (responder, initiator)


# --- rules ------------------------------------------------------------------------------------------

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
        f"{first.reporter} answered {len(ike_sa.icmp)} IKE request(s) with ICMP {first.description} "
        f"({first.quoted}): no IKE daemon listens there, or a firewall rejects the port",
        f"On {address(ike_sa.responder) or first.reporter}: start the IKE service or open the port "
        f"({first.quoted.split(' > ')[-1]}); check the peer address configured on the initiator.",
        evidence)


def rule_decrypted(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """Error notifies and Deletes read in decrypted payloads: the decisive bytes, so `certain`,
    except AUTHENTICATION_FAILED, which a wrong PSK and an unknown identity both send (only verifying
    the AUTH payload with the PSK separates them). A refused CHILD_SA is compared with the offers read
    in the same SA; a Delete right after a rekey is housekeeping."""
    differs = [side for side, matches in ike_sa.psk.items() if not matches]
    if differs and context.up is None and not (len(differs) > 1 and len(differs) == len(ike_sa.psk)):
        # (a key that neither side's hash verifies with, or one given for an SA that came up, is the
        # user's mistake: a finding says so, the tunnel is not failed for it)
        side = differs[0]
        return Conclusion("failed", "PskMismatch", "certain", 1,
                          f"the {side}'s {'AUTH payload' if ike_sa.version == 2 else 'hash'} does not verify with the "
                          "key given (the pre-shared key, or the SKEYID a log gives): that side holds another "
                          "pre-shared key",
                          f"Set the {side} ({address(ike_sa.initiator if side == 'initiator' else ike_sa.responder)}) "
                          "to the same pre-shared key as its peer.",
                          [Evidence(ike_sa.first_frame, f"the {side}'s hash/AUTH checked against the given key")])
    if ike_sa.key_mismatch and context.up is None:  # (an SA that came up: an extra key set, not a mismatch)
        first = next((s for e in ike_sa.exchanges.values() for s in e.requests if s.encrypted), None)
        return Conclusion("failed", "PskMismatch", "certain", 1,
                          f"the two sides derived different keys from the same key exchange: {ike_sa.key_mismatch}",
                          "Set the same pre-shared key on both sides.",
                          [Evidence(first.frame if first else ike_sa.first_frame,
                                    "the first encrypted message: readable with one side's keys only")])
    up = context.up
    opened = sorted((s for e in ike_sa.exchanges.values() for s in e.requests + e.responses
                     if s.decrypted and not s.retransmission), key=lambda s: s.frame)
    for sent in opened:
        errors = [ref for ref in sent.notifies if ref.is_error]
        if not errors:
            continue
        error = errors[0].type
        sender, receiver = who(ike_sa, sent)
        read = Evidence(sent.frame, f"{error}, decrypted, from {sender}")
        if error == "AUTHENTICATION_FAILED" and ike_sa.version == 1 and not sent.initiator:
            # IKEv1 keys come from the PSK (SKEYID): the initiator's keys reading the responder's notify
            # means both derived the same keys, so the PSKs agree and the identity was refused
            return Conclusion("failed", "PeerIdMismatch", "certain", 1,
                              f"{sender} refused the initiator with AUTHENTICATION_FAILED, read with the same keys "
                              "that read the initiator's messages: both sides derived the same keys, so the "
                              "pre-shared keys agree and the identity was refused",
                              f"On {address(ike_sa.responder)}: make the remote identity it expects equal the "
                              "identity the initiator sends.", [read], ["PeerMismatch"])
        if error == "AUTHENTICATION_FAILED" and ike_sa.psk.get("initiator") and not sent.initiator:
            # the key given verifies the initiator's AUTH: if it is the responder's key, the identity is
            # what it refuses; if it is the initiator's own, it shows nothing about the responder's
            return Conclusion("failed", "PeerIdMismatch", "possible", 1,
                              f"{sender} refused the initiator (AUTHENTICATION_FAILED, decrypted) although the "
                              "initiator's AUTH verifies with the pre-shared key given: if that is the key the "
                              "responder holds, the identity is what it refuses (if it is the initiator's own key, "
                              "the responder may still hold another)", f"On {address(ike_sa.responder)}: make the "
                              "remote identity it expects equal the identity the initiator sends, and check that "
                              "it holds the same pre-shared key.", [read], ["PskMismatch"])
        if error == "AUTHENTICATION_FAILED":
            certificate = any("CERT" in (s.inner or ()) for s in opened if s.frame < sent.frame)
            return Conclusion("failed", "CertificateAuthenticationFailure" if certificate else "PskMismatch",
                              "likely", 1, f"{sender} refused the authentication of {receiver}: AUTHENTICATION_FAILED "
                              "read in the decrypted answer (a wrong pre-shared key and an identity it has no "
                              "connection for send the same notify; verifying AUTH with the PSK tells them apart)",
                              "Set the same pre-shared key on both sides and check that each side expects the "
                              "identity the other sends.", [read], ["PeerIdMismatch"])
        phase2 = sent.exchange in ("IKE_AUTH", "CREATE_CHILD_SA", "QUICK_MODE") or error == "TS_UNACCEPTABLE" or (
            ike_sa.version == 1 and up is not None and sent.time >= up.time)
        if error == "NO_PROPOSAL_CHOSEN" and phase2:
            return child_refused(ike_sa, sent, read)
        if error == "INVALID_ID_INFORMATION" and phase2:
            transport = [s for s, offers in ike_sa.inner_offers if s.frame < sent.frame
                         and any("TRANSPORT" in mode for offer in offers for mode in offer.encapsulation)]
            if transport:
                return Conclusion("failed", "EncapsulationModeMismatch", "likely", 2,
                                  f"{sender} refused the IPsec SA's identities (INVALID_ID_INFORMATION, decrypted) "
                                  "and the offer asks for transport mode: one side is set to transport, the other "
                                  "to tunnel", "Set the same encapsulation mode (tunnel or transport) on both sides.",
                                  [Evidence(transport[-1].frame, "the offer asks for transport mode (decrypted)"), read],
                                  ["TrafficSelectorMismatch"])
            return Conclusion("failed", "TrafficSelectorMismatch", "certain", 2,
                              f"{sender} refused the IPsec SA's identities (INVALID_ID_INFORMATION, decrypted): the "
                              "traffic selectors do not match", "", [read], ["EncapsulationModeMismatch"])
        cause = NOTIFY_CAUSES.get(error)
        if cause is None:
            continue
        code, _, alternatives = cause
        return Conclusion("failed", code, "certain", 2 if phase2 and code != "PeerIdMismatch" else 1,
                          f"{sender} sent {error} to {receiver} (read in the decrypted {sent.exchange})", "", [read],
                          list(alternatives))
    deletes = [s for s in opened if "D" in (s.inner or ()) and (up is None or s.time >= up.time)]
    rekeys = [e.first.time for e in ike_sa.exchanges.values() if e.exchange_type == 36] + \
        [e.first.time for e in exchanges(ike_sa, 32)][1:]
    final = [s for s in deletes if not any(0 <= s.time - t <= BURST for t in rekeys)]
    if final:
        sent = final[0]
        sender, receiver = who(ike_sa, sent)
        return Conclusion("torn_down", "ReceiveDeleteNotify", "certain", 1,
                          f"{sender} deleted the SA: a Delete payload read in its decrypted {sent.exchange}",
                          f"Find why {sent.src} deleted the SA (administrator, lifetime, its own error); check its "
                          "logs at that time.", [Evidence(sent.frame, f"Delete, decrypted, from {sender}")])
    return None


def child_refused(ike_sa: IkeSa, refusal: Sent, read: Evidence) -> Conclusion:
    """A decrypted NO_PROPOSAL_CHOSEN for a CHILD_SA: which offer was refused, and what it differs in
    from the offer accepted earlier in the same IKE SA (a rekey that adds PFS, for one)."""
    asked = [(s, o) for s, o in ike_sa.inner_offers if s.frame < refusal.frame and s.message_id == refusal.message_id]
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
    return Conclusion("failed", "ProposalMismatch", "certain", 2,
                      "the peer refused every CHILD_SA proposal (NO_PROPOSAL_CHOSEN, decrypted)"
                      + (f": {offer_module.offers_text(asked[-1][1])}" if asked else ""),
                      "Give both sides one common ESP proposal (encryption, integrity, PFS group).", evidence,
                      ["PfsMismatch", "TrafficSelectorMismatch"])


def opening_requests(ike_sa: IkeSa) -> list[Sent]:
    exchange = opening(ike_sa)
    return exchange.requests if exchange is not None else []


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


def rule_clear_notify(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """Any other error notify read in clear, through the table `NOTIFY_CAUSES`; an IKEv1
    AUTHENTICATION_FAILED answering aggressive mode's first message (before any hash could be
    checked) means the responder found no connection for that identity or mode."""
    for sent in clear_errors(ike_sa):
        error = first_error(sent)
        sender, receiver = who(ike_sa, sent)
        if error == "AUTHENTICATION_FAILED":
            phase1 = opening(ike_sa)
            if ike_sa.version == 1 and ike_sa.phase1 == "aggressive" and phase1 is not None \
                    and phase1.steps[1] == 0:
                identity = identity_text(ike_sa)
                main = next((other for other in context.others if other.version == 1 and other.phase1 == "main"
                             and address(other.initiator) == address(ike_sa.responder)), None)
                if main is not None:
                    return Conclusion(
                        "failed", "NegotiationModeMismatch", "likely", 1,
                        f"{sender} refused aggressive mode with AUTHENTICATION_FAILED in clear, and itself "
                        "initiates main mode: the two gateways are set to different IKEv1 modes",
                        "Set the same IKEv1 exchange mode (main or aggressive) on both gateways.",
                        [Evidence(sent.frame, "AUTHENTICATION_FAILED in clear, answering aggressive mode"),
                         Evidence(main.first_frame, f"{address(main.initiator)} initiates main mode")],
                        ["PeerIdMismatch"])
                return Conclusion(
                    "failed", "PeerIdMismatch", "possible", 1,
                    f"{sender} refused aggressive mode's first message with AUTHENTICATION_FAILED in clear, "
                    f"before any key could be checked: it has no connection for the initiator's identity"
                    f"{identity} or does not accept aggressive mode",
                    f"On {address(ike_sa.responder)}: make the remote identity it expects equal the "
                    f"identity the initiator sends{identity}, and allow aggressive mode for this peer "
                    "(or use main mode on both).",
                    [Evidence(sent.frame, "AUTHENTICATION_FAILED in clear, answering message 1")],
                    ["NegotiationModeMismatch"])
            return Conclusion("failed", "PskMismatch", "likely", 1,
                              f"{sender} reports AUTHENTICATION_FAILED in clear",
                              "Set the same pre-shared key on both sides, and check that each side "
                              "expects the identity the other sends.",
                              [Evidence(sent.frame, "AUTHENTICATION_FAILED in clear")], ["PeerIdMismatch"])
        cause = NOTIFY_CAUSES.get(error)
        if cause is None or error == "NO_PROPOSAL_CHOSEN" or error == "INVALID_KE_PAYLOAD":
            continue
        code, confidence, alternatives = cause
        phase = 2 if sent.exchange in ("QUICK_MODE", "CREATE_CHILD_SA") or code == "TrafficSelectorMismatch" \
            else 1
        return Conclusion("failed", code, confidence, phase, f"{sender} sent {error} in clear to {receiver}", "",
                          [Evidence(sent.frame, f"{error} in clear")], list(alternatives))
    return None


def identity_text(ike_sa: IkeSa) -> str:
    return f" ({ike_sa.identity})" if ike_sa.identity else ""


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
    if not gave_up(auth, ike_sa, context):
        return Conclusion("incomplete", "Phase1NegotiationTimeout", "possible", 1,
                          text + " (the capture ends before the initiator gave up)", change, evidence,
                          alternatives)
    return Conclusion("failed", "Phase1NegotiationTimeout", "likely", 1, text, change, evidence, alternatives)


def rule_auth_refused(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """IKEv2: an IKE_AUTH answer too short to hold the responder's identity and AUTH payload is an
    error notify, and nothing follows on the SA: authentication failed. Without keys a wrong PSK
    and an unknown identity look alike; a request big enough for a certificate points there."""
    if ike_sa.version != 2:
        return None
    for auth in exchanges(ike_sa, 35):
        if not auth.answered or not auth.requests:
            continue
        room = plaintext_room(ike_sa, auth.responses)
        needed = MIN_ID + 8 + prf_output(ike_sa)
        if room is None or room >= needed:
            continue
        later = [e for e in ike_sa.exchanges.values() if e.message_id > auth.message_id and e.answered]
        if later:
            continue
        response = auth.responses[0]
        request_room = plaintext_room(ike_sa, auth.requests) or 0
        evidence = [Evidence(auth.requests[0].frame, f"IKE_AUTH request, {auth.requests[0].length} octets"),
                    Evidence(response.frame, f"IKE_AUTH answer of {response.length} octets: at most {room} "
                             f"octets of plaintext, less than an identity and AUTH payload need ({needed})")]
        text = (f"{names(ike_sa)[1]} answered IKE_AUTH with a message too short for anything but an error "
                f"notify ({response.length} octets), and the IKE SA went no further")
        if request_room >= CERTIFICATE_SIZED:
            return Conclusion("failed", "CertificateAuthenticationFailure", "possible", 1,
                              text + f"; the request ({auth.requests[0].length} octets) is large enough to carry "
                              "a certificate", "Check the certificates, their CA and the identities each side "
                              "expects.", evidence, ["PeerIdMismatch"])
        return Conclusion("failed", "PskMismatch", "likely", 1, text,
                          "Set the same pre-shared key on both sides; if it is the same, check that the "
                          f"responder {address(ike_sa.responder)} expects the identity the initiator sends "
                          "(without keys both failures look alike on the wire).", evidence, ["PeerIdMismatch"])
    return None


def rule_childless(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """IKEv2: IKE_AUTH answered with room for ID and AUTH but not for an SA and two traffic selector
    payloads, and no ESP afterwards: the IKE SA stands, its CHILD_SA was refused. TS_UNACCEPTABLE
    and NO_PROPOSAL_CHOSEN are the same size, so the cause stays open without keys."""
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
            how = (f"answered only by {len(answers)} encrypted notification(s) the initiator could not use"
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


def gave_up_answer(exchange: Exchange, context: Context) -> bool:
    return bool(exchange.responses) and context.end_time - exchange.responses[-1].time >= SILENCE_IS_GIVING_UP


def rule_quick_mode(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """IKEv1 quick mode: the responder answered the first message with an encrypted notification
    instead of quick mode message 2 (proposal, selectors or PFS refused), or never answered."""
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
        if gave_up(exchange, ike_sa, context):
            return Conclusion("failed", "Phase2NegotiationTimeout", "likely", 2,
                              f"quick mode from {first.sender} was {retransmission_text(exchange)} and never "
                              "answered", "Check the peer's logs for this quick mode; compare ESP proposals and "
                              "traffic selectors.", [Evidence(s.frame, "quick mode message 1, no answer")
                                                     for s in exchange.requests[:3]], ["ProposalMismatch"])
    return None


def rule_liveness(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """After the SA was established, one side's liveness checks went unanswered: IKEv2 an
    INFORMATIONAL request retransmitted without answer; IKEv1 encrypted INFORMATIONALs (R-U-THERE)
    of one size sent at intervals with nothing from the peer since."""
    up = context.up
    if up is None:
        return None
    if ike_sa.version == 2:
        for exchange in exchanges(ike_sa, 37, 36):
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
    informational = [e for e in exchanges(ike_sa, 5) if e.requests and e.requests[0].encrypted
                     and e.requests[0].time >= up.time]
    for side in (True, False):
        ours = [e.requests[0] for e in informational if e.by_initiator == side]
        if len(ours) < 2:
            continue
        sizes = {s.length for s in ours}
        spread = ours[-1].time - ours[0].time
        theirs = [s for e in ike_sa.exchanges.values() for s in e.requests + e.responses
                  if s.initiator != side and s.time > ours[0].time]  # anything from the peer since (an ACK too)
        read = all(s.notify(36136) for s in ours)  # R-U-THERE read in decrypted messages
        if (len(sizes) == 1 or read) and spread >= BURST and not theirs:
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


def rule_delete(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """After the SA was established and carried traffic, it ended with encrypted INFORMATIONALs
    from one side and nothing after: IKEv1 a burst of unanswered notifications (a Delete for the
    IPsec SA, then the ISAKMP SA; a liveness check would be answered); IKEv2 an answered
    INFORMATIONAL that ends all activity (without keys a Delete and a liveness check look alike).
    Deletes right after a rekey are housekeeping, not this."""
    up = context.up
    if up is None:
        return None
    ordered = ike_sa.ordered_exchanges()
    if not ordered:
        return None
    last = ordered[-1]
    if last.exchange_type not in (5, 37) or not last.requests or last.requests[0].time < up.time:
        return None
    first = last.requests[0]
    rekeys = [e for e in ordered if e.exchange_type == 36] + [e for e in ordered if e.exchange_type == 32][1:]
    if any(0 <= first.time - e.first.time <= BURST for e in rekeys):
        return None  # the old SA deleted after a rekey: housekeeping
    sender, receiver = who(ike_sa, first)
    forth, back = child_traffic(ike_sa, context, first.time + 0.001)
    if forth or back:
        return None
    if ike_sa.version == 1:
        if any(e.exchange_type == 5 and e.by_initiator != last.by_initiator and e.requests
               and 0 <= first.time - e.requests[0].time <= BURST for e in ordered):
            return None  # the other side spoke just before: an R-U-THERE and its ACK (IKEv1 DPD)
        burst = [e.requests[0] for e in ordered if e.exchange_type == 5 and e.requests
                 and e.by_initiator == last.by_initiator and 0 <= first.time - e.requests[0].time <= BURST]
        answered = any(e.by_initiator != last.by_initiator and e.first.time >= burst[0].time for e in ordered)
        if answered:
            return None
        confidence = "likely" if len(burst) >= 2 else "possible"
        return Conclusion("torn_down", "ReceiveDeleteNotify", confidence, 1,
                          f"{sender} ended the tunnel: {len(burst)} encrypted notification(s) sent together "
                          f"({', '.join(str(s.length) for s in burst)} octets), unanswered, after which neither "
                          "IKE nor ESP was seen: the pattern of Delete payloads for the IPsec SA and then the "
                          "ISAKMP SA (a liveness check would have been answered)",
                          f"Find why {address(first.src)} deleted the SA (administrator, lifetime, its own "
                          "error); check its logs at that time.",
                          [Evidence(s.frame, "encrypted INFORMATIONAL, unanswered") for s in burst[:3]])
    if not last.answered:
        return None
    return Conclusion("torn_down", "ReceiveDeleteNotify", "possible", 1,
                      f"{sender} sent an INFORMATIONAL request ({first.length} octets) that {receiver} answered, "
                      "after which neither IKE nor ESP was seen: most likely a Delete; without keys it cannot be "
                      "told from a liveness check at the end of the capture",
                      f"Find why {address(first.src)} deleted the SA (administrator, lifetime, its own error).",
                      [Evidence(first.frame, "INFORMATIONAL request"),
                       Evidence(last.responses[0].frame, "its answer; nothing follows")])


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
    """The SA reached its established state; ESP both ways makes it certain that a CHILD_SA works."""
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
    last = None
    for exchange in ike_sa.exchanges.values():
        last = exchange
    frame = last.first.frame if last is not None else ike_sa.first_frame
    return Conclusion("incomplete", "NoExceptionFound", "possible", None,
                      "the capture ends before this IKE SA reached a conclusion", "",
                      [Evidence(frame, "last exchange seen")])


RULES: tuple[Callable[[IkeSa, Context], Conclusion | None], ...] = (
    rule_icmp_unreachable,
    rule_decrypted,
    rule_invalid_ke,
    rule_no_proposal_chosen,
    rule_clear_notify,
    rule_no_response,
    rule_phase1_unanswered,
    rule_auth_refused,
    rule_ikev1_phase1,
    rule_quick_mode,
    rule_child_refused,
    rule_childless,
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
    lines = []
    for exchange in ike_sa.exchanges.values():
        asker = "initiator" if exchange.by_initiator else "responder"
        state = "answered" if exchange.answered else ("no answer expected" if not exchange.expects_response
                                                       else "unanswered")
        timing = exchange.response_time()
        lines.append(f"{exchange.name} #{exchange.message_id} by the {asker}: {state}"
                     + (f" in {timing * 1000:.0f} ms" if timing is not None else "")
                     + (f", {exchange.retransmissions} retransmissions" if exchange.retransmissions else ""))
    return lines


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


def diagnose(ike_sa: IkeSa, context: Context, file: str = "") -> DiagnosisEvent:
    conclusion = conclude(ike_sa, context)
    cause = catalog.catalog().cause(conclusion.code)
    message = f"{conclusion.seen[0].upper()}{conclusion.seen[1:]}." if conclusion.seen else cause.message
    remedy = " ".join(part for part in (conclusion.change, cause.remedy) if part)
    return DiagnosisEvent(
        "diagnosis", ike_sa.id, ike_sa.version, ike_sa.initiator, ike_sa.responder, conclusion.outcome,
        conclusion.code, cause.huawei, conclusion.phase, conclusion.confidence, conclusion.alternatives,
        sorted(conclusion.evidence, key=lambda item: item.frame), message, remedy, exchange_lines(ike_sa), file,
        offer_sides(ike_sa))


FAILING = ("failed", "torn_down")


def verdict(peers: Sequence[str], ike_sas: Sequence[str], latest: DiagnosisEvent,
            definite: DiagnosisEvent | None) -> VerdictEvent:
    """The conclusion for a tunnel: the latest attempt's diagnosis, unless the latest is only
    incomplete and an earlier attempt concluded (`definite`)."""
    chosen = definite if latest.outcome == "incomplete" and definite is not None else latest
    return VerdictEvent("verdict", sorted(peers), chosen.code, chosen.outcome, chosen.confidence, list(ike_sas),
                        chosen.evidence, chosen.message, chosen.remedy, chosen.huawei, chosen.phase,
                        chosen.alternatives, chosen.file, chosen.offers)


def is_failure(event: VerdictEvent | DiagnosisEvent) -> bool:
    """A diagnosed failure for the exit status: failed or torn down, with more than a possibility."""
    return event.outcome in FAILING and event.confidence != "possible"


# --- findings ---------------------------------------------------------------------------------------

def findings(ike_sa: IkeSa, context: Context, file: str = "") -> list[FindingEvent]:
    found: list[FindingEvent] = []

    def add(kind: str, frames: list[int], detail: str) -> None:
        found.append(FindingEvent("finding", kind, ike_sa.id, frames, detail, file))

    nobodys = not any(ike_sa.psk.values()) and (len(ike_sa.psk) > 1 or context.up is not None)
    for side, matches in ike_sa.psk.items():
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
    fragments = [s for e in ike_sa.exchanges.values() for s in e.requests + e.responses if s.fragment]
    if fragments:
        add("fragmentation", frames_of(fragments, 2), f"IKE fragmentation (RFC 7383) in use: {len(fragments)} SKF "
            "fragments")
    ip_fragmented = [s for e in ike_sa.exchanges.values() for s in e.requests + e.responses if s.frames]
    if ip_fragmented:
        add("fragmentation", frames_of(ip_fragmented, 2), f"{len(ip_fragmented)} IKE message(s) travelled in IP "
            "fragments; paths that drop fragments break them (enable IKE fragmentation if the peers support it)")
    rekeys = [e for e in exchanges(ike_sa, 36) if e.answered]
    if rekeys:
        add("rekey", [e.first.frame for e in rekeys][:4], f"{len(rekeys)} CREATE_CHILD_SA exchange(s) answered "
            "(rekeys or new CHILD_SAs)")
    dialects = {side: {v.split(": ", 1)[1] for v in ike_sa.vendors if v.startswith(side) and "nat-t" in v.lower()}
                for side in ("initiator", "responder")}
    if dialects["initiator"] and dialects["responder"] and not dialects["initiator"] & dialects["responder"]:
        add("nat_t_mismatch", [ike_sa.first_frame], f"the peers advertise no NAT-T dialect in common: the initiator "
            f"{', '.join(sorted(dialects['initiator']))}; the responder {', '.join(sorted(dialects['responder']))} "
            "(draft against RFC 3947 NAT traversal: behind a NAT the tunnel would not float to UDP 4500)")
    vendors = ike_sa.vendors
    if vendors:
        add("vendor", [ike_sa.first_frame], "; ".join(vendors).replace("\n", "\\n"))
    if context.ah:
        add("ah_seen", [context.ah[0].first_frame], f"AH packets between the peers ({sum(f.packets for f in context.ah)}): "
            "check that both sides agree on ESP or AH")
    return found


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


