"""Rules on notifies read: in clear, or decrypted with the keys given (the decisive bytes).
"""

from __future__ import annotations

from ... import catalog
from ...events import Evidence
from ...tracker import IkeSa
from ..context import Conclusion, Context
from ..facts import BURST, address, clear_errors, exchanges, first_error, identity_text, opening, records, who
from .phase2 import child_refused
from .teardown import closed


def rule_decrypted(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """Error notifies and Deletes read in decrypted payloads: the decisive bytes, so `certain`,
    except AUTHENTICATION_FAILED, which a wrong PSK and an unknown identity both send (only verifying
    the AUTH payload with the PSK separates them). A refused CHILD_SA is compared with the offers read
    in the same SA; a Delete right after a rekey is housekeeping."""
    differs = [side for side, matches in context.crypto.psk.items() if not matches]
    if differs and context.up is None and not (len(differs) > 1 and len(differs) == len(context.crypto.psk)):
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
    if context.crypto.key_mismatch and context.up is None:  # (an SA that came up: an extra key set, not a mismatch)
        first = next((s for e in ike_sa.iter_exchanges() for s in e.requests if s.encrypted), None)
        return Conclusion("failed", "PskMismatch", "certain", 1,
                          f"the two sides derived different keys from the same key exchange: {context.crypto.key_mismatch}",
                          "Set the same pre-shared key on both sides.",
                          [Evidence(first.frame if first else ike_sa.first_frame,
                                    "the first encrypted message: readable with one side's keys only")])
    up = context.up
    opened = sorted((s for e in records(ike_sa) for s in e.requests + e.responses  # (folded: nothing readable)
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
        if error == "AUTHENTICATION_FAILED" and context.crypto.psk.get("initiator") and not sent.initiator:
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
        cause = catalog.notify_causes().get(error)
        if cause is None:
            continue
        code, alternatives = cause.code, cause.alternatives
        return Conclusion("failed", code, "certain", 2 if phase2 and code != "PeerIdMismatch" else 1,
                          f"{sender} sent {error} to {receiver} (read in the decrypted {sent.exchange})", "", [read],
                          list(alternatives))
    deletes = [s for s in opened if "D" in (s.inner or ()) and (up is None or s.time >= up.time)]
    rekeys = [e.first.time for e in records(ike_sa, 36)] + \
        [e.first.time for e in exchanges(ike_sa, 32)][1:]
    final = [s for s in deletes if not any(0 <= s.time - t <= BURST for t in rekeys)]
    if final:
        sent = final[0]
        sender, receiver = who(ike_sa, sent)
        return closed(ike_sa, context, Conclusion("torn_down", "ReceiveDeleteNotify", "certain", 1,
                          f"{sender} deleted the SA: a Delete payload read in its decrypted {sent.exchange}",
                          f"Find why {sent.src} deleted the SA (administrator, lifetime, its own error); check its "
                          "logs at that time.", [Evidence(sent.frame, f"Delete, decrypted, from {sender}")]), sent)
    return None


def rule_clear_notify(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """Any other error notify read in clear, through the notify table (`data/notify_causes.json`); an IKEv1
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
        cause = catalog.notify_causes().get(error)
        if cause is None or error == "NO_PROPOSAL_CHOSEN" or error == "INVALID_KE_PAYLOAD":
            continue
        code, confidence, alternatives = cause.code, cause.confidence, cause.alternatives
        phase = 2 if sent.exchange in ("QUICK_MODE", "CREATE_CHILD_SA") or code == "TrafficSelectorMismatch" \
            else 1
        return Conclusion("failed", code, confidence, phase, f"{sender} sent {error} in clear to {receiver}", "",
                          [Evidence(sent.frame, f"{error} in clear")], list(alternatives))
    return None
