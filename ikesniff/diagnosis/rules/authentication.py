"""Authentication rules: the peer refused who the other side is or how it proved it.
"""

from __future__ import annotations

from itertools import islice

from ...events import Evidence
from ...tracker import IkeSa, Sent
from ..certificates import why_refused
from ..context import Conclusion, Context
from ..facts import (
    BURST,
    CERTIFICATE_SIZED,
    MIN_CHILD,
    MIN_CREATE_CHILD_RESPONSE,
    MIN_ID,
    address,
    child_traffic,
    exchanges,
    names,
    plaintext_room,
    prf_output,
    records,
    who,
)


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
        if any(e.message_id > auth.message_id and e.answered for e in ike_sa.iter_exchanges(newest_first=True)):
            continue  # the SA went on
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


XAUTH_FAIL = 0
MSCHAPV2_OPCODES = {3: "Success", 4: "Failure"}
"""EAP-MSCHAPv2 op-codes that end the method (draft-kamath-pppext-eap-mschapv2 §2): read in the first
octet of the type-data of an EAP Request."""


def rule_xauth(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """IKEv1 XAUTH after phase 1 (TRANSACTION exchanges, draft-beaulieu-ike-xauth). With keys: an
    XAUTH_STATUS of 0 (FAIL) read in the decrypted SET of the server is decisive. Without keys: phase 1
    came up, the server (the side that sends the first TRANSACTION request) ran two or more rounds, the
    client never asked for its mode-config address and no quick mode or ESP followed: the login was
    refused (`likely` when the server repeated itself or the silence lasted, `possible` when the capture
    ends right after). A status of 1 (OK) read with keys ends the rule.

    Limit (lab `vpnc-libreswan-xauth-refused`): libreswan's pluto, after a refused login, sends a new XAUTH
    request and repeats its status message to a client that has gone (vpnc): the retransmission is what
    makes the shape `likely` there; strongSwan and vpnc stop at once (`strongswan-xauth-refused`,
    `vpnc-xauth-refused`), and a capture that ends at once leaves it `possible`."""
    if ike_sa.version != 1 or context.up is None:
        return None
    transactions = exchanges(ike_sa, 6)
    if not transactions:
        return None
    statuses = [s for e in transactions for s in e.requests + e.responses
                if s.opened is not None and s.opened.xauth_status is not None]
    server_first = transactions[0].by_initiator
    if statuses:
        status = statuses[0]
        if status.opened is None or status.opened.xauth_status != XAUTH_FAIL:
            return None
        server, client = who(ike_sa, status)
        user = next((s for e in transactions for s in e.requests + e.responses
                     if s.opened is not None and any("XAUTH_USER_NAME" in c for c in s.opened.cfg)), None)
        evidence = [Evidence(status.frame, f"XAUTH_STATUS = FAIL, decrypted, from {server}")]
        if user is not None:
            evidence.insert(0, Evidence(user.frame, "XAUTH user name and password exchanged (decrypted; values "
                                                    "not shown)"))
        return Conclusion("failed", "XauthFailure", "certain", 1,
                          f"phase 1 came up, then {server} refused the XAUTH login of {client}: XAUTH_STATUS FAIL "
                          "read in its decrypted TRANSACTION (SET), and no quick mode followed",
                          f"Check the XAUTH user name and password configured on {address(status.dst)} against "
                          f"the user database of {address(status.src)}.", evidence, ["AddressAssignmentFailure"])
    if exchanges(ike_sa, 32) or child_traffic(ike_sa, context, context.up.time)[0]:
        return None
    server_rounds = [e for e in transactions if e.by_initiator == server_first]
    client_rounds = [e for e in transactions if e.by_initiator != server_first]
    if len(server_rounds) < 2 or client_rounds:
        return None  # the client asking for mode-config means the login passed
    last = max((s for e in transactions for s in e.requests + e.responses), key=lambda s: s.time)
    repeated = any(e.retransmissions for e in server_rounds)
    quiet = context.end_time - last.time
    confidence = "likely" if repeated or quiet >= BURST else "possible"
    first = server_rounds[0].first
    server, client = who(ike_sa, first)
    return Conclusion("failed", "XauthFailure", confidence, 1,
                      f"phase 1 came up and {server} ran {len(server_rounds)} XAUTH rounds (encrypted TRANSACTION "
                      f"exchanges) with {client}, which then never asked for its mode-config settings, and no quick "
                      "mode or ESP followed"
                      + (f" ({server} repeated its last message)" if repeated else "")
                      + (f" in the {quiet:.1f} s the capture went on" if quiet >= BURST else
                         "" if repeated else "; the capture ends right after, so this rests on the shape alone")
                      + ": the pattern of a refused XAUTH login",
                      f"Check the XAUTH user name and password of the client {first.dst} against the user "
                      f"database of the server {first.src}.",
                      [Evidence(e.first.frame, "TRANSACTION (XAUTH) round, encrypted") for e in server_rounds[:3]],
                      ["AddressAssignmentFailure", "PeerIdMismatch"])


def eap_end(sent: Sent) -> str | None:
    """'Success' / 'Failure' when a decrypted EAP payload ends the method: EAP Success (3) or Failure
    (4), or an MSCHAPv2 Request whose op-code is Success or Failure."""
    if sent.opened is None:
        return None
    for code, method, first in sent.opened.eap:
        if code in ("SUCCESS", "FAILURE"):
            return code.capitalize()
        if code == "REQUEST" and method == "MSCHAPV2" and first in MSCHAPV2_OPCODES:
            return MSCHAPV2_OPCODES[first]
    return None


def rule_eap(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """IKEv2 EAP (RFC 7296 §2.16): IKE_AUTH in several rounds. With keys: the decrypted EAP payloads say
    which method ran and whether the server ended it with a Failure (EAP Failure, or the method's own
    failure such as an MSCHAPv2 Failure request), and whether the client then gave up
    (AUTHENTICATION_FAILED in an INFORMATIONAL). Without keys: three or more IKE_AUTH rounds (EAP needs
    at least identity, method and final AUTH), the last answer too short for an AUTH payload, an SA and
    traffic selectors, and no CHILD_SA or ESP afterwards: `likely` when an INFORMATIONAL or a silence
    followed, `possible` when the capture ends at once."""
    if ike_sa.version != 2:
        return None
    rounds = [e for e in exchanges(ike_sa, 35) if e.by_initiator and e.requests]
    if len(rounds) < 2:
        return None
    messages = sorted((s for e in rounds for s in e.requests + e.responses if not s.retransmission),
                      key=lambda s: s.frame)
    methods = [m for s in messages if s.opened is not None for _, m, _ in s.opened.eap if m and m != "IDENTITY"]
    ends = [(s, eap_end(s)) for s in messages if eap_end(s) is not None]
    if ends:
        sent, end = ends[-1]
        if end == "Success":
            return None
        server, client = who(ike_sa, sent)
        method = methods[-1] if methods else "EAP"
        evidence = [Evidence(sent.frame, f"EAP {method} {end}, decrypted, from {server}")]
        gave_up = next((s for e in records(ike_sa, 37) for s in e.requests  # (folded: no notify)
                        if s.initiator and s.frame > sent.frame and s.notify(24)), None)
        if gave_up is not None:
            evidence.append(Evidence(gave_up.frame, f"AUTHENTICATION_FAILED, decrypted, from {client}: it gives up"))
        return Conclusion("failed", "EapFailure", "certain", 1,
                          f"{server} refused the EAP-{method} authentication of {client} (an EAP {end} read in "
                          "its decrypted IKE_AUTH answer)"
                          + (f", and {client} then ended the IKE SA with AUTHENTICATION_FAILED" if gave_up else ""),
                          f"Check the EAP-{method} credentials of the user on {address(ike_sa.initiator)} against "
                          f"the user database behind {address(ike_sa.responder)}.", evidence,
                          ["CertificateAuthenticationFailure"])
    if methods or any(s.decrypted for s in messages):
        return None  # decrypted without an end of the method: the shape below says nothing more
    if len(rounds) < 3:
        return None
    last = rounds[-1]
    room = plaintext_room(ike_sa, last.responses)
    if room is None or room >= 8 + prf_output(ike_sa) + MIN_CHILD or not last.responses:
        return None
    if any(child_traffic(ike_sa, context, last.responses[0].time)) or any(
            e.answered and (plaintext_room(ike_sa, e.responses) or 0) >= MIN_CREATE_CHILD_RESPONSE
            for e in exchanges(ike_sa, 36)):
        return None
    response = last.responses[0]
    ended = any(e.requests and e.requests[0].time >= response.time
                for e in ike_sa.iter_exchanges(37, newest_first=True))
    settled = ended or context.end_time - response.time >= BURST  # (not a capture cut before the next round)
    return Conclusion("failed", "EapFailure", "likely" if settled else "possible", 1,
                      f"{names(ike_sa)[0]} ran {len(rounds)} IKE_AUTH rounds with {names(ike_sa)[1]} (the pattern of "
                      f"EAP), and the last answer ({response.length} octets) is too short for the final AUTH "
                      "payload with an SA and traffic selectors; no CHILD_SA and no ESP followed: the EAP "
                      "authentication was refused",
                      f"Check the EAP credentials and method of the user on {address(ike_sa.initiator)} against "
                      f"the server behind {address(ike_sa.responder)}.",
                      [Evidence(e.first.frame, f"IKE_AUTH round {i + 1}") for i, e in enumerate(rounds[:2])]
                      + [Evidence(response.frame, f"last IKE_AUTH answer, {response.length} octets")],
                      ["CertificateAuthenticationFailure", "PeerIdMismatch"])


AUTHENTICATION_FAILED = 24


def rule_certificate(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """With keys: an AUTHENTICATION_FAILED read decrypted, and the refused side had sent a certificate
    (CERT payload): the refusing side (the responder answering IKE_AUTH, or the initiator in an INFORMATIONAL
    after the answer) refused that certificate. The certificate says why: expired or not yet valid, the
    identity sent with it missing from it (certain), an issuer other than the verifier's own CA (likely), or
    nothing visible (possible: revoked, a chain the verifier cannot complete)."""
    opened = sorted((s for e in records(ike_sa) for s in e.requests + e.responses  # (folded: nothing readable)
                     if s.decrypted and not s.retransmission), key=lambda s: s.frame)
    refusal = next((s for s in opened if s.notify(AUTHENTICATION_FAILED)), None)
    if refusal is None:
        return None
    refused = [s for s in opened if s.initiator != refusal.initiator and s.frame < refusal.frame
               and s.opened is not None and s.opened.certificates]
    if not refused:
        return None
    sent = refused[-1]
    assert sent.opened is not None
    verifier = [s.opened for s in opened if s.initiator == refusal.initiator and s.opened is not None]
    found = why_refused(sent.opened, sent.time, verifier)
    if found is None:
        return None
    facts, why = found
    judge, owner = who(ike_sa, refusal)
    return Conclusion("failed", "CertificateAuthenticationFailure", why.confidence, 1,
                      f"{judge} refused the certificate of {owner} ({facts.subject}, sent in frame {sent.frame}) with "
                      f"AUTHENTICATION_FAILED (decrypted): {why.reason}",
                      remedy_for(why.reason, address(sent.src), address(refusal.src)),
                      [Evidence(sent.frame, f"certificate of {owner}: {facts.subject}, issued by {facts.issuer}, "
                                f"valid {facts.not_before:%Y-%m-%d} to {facts.not_after:%Y-%m-%d} (decrypted)"),
                       Evidence(refusal.frame, f"AUTHENTICATION_FAILED, decrypted, from {judge}")],
                      ["PeerIdMismatch"] if why.confidence != "certain" else [])


def remedy_for(reason: str, owner: str, judge: str) -> str:
    if reason.startswith(("it expired", "it is valid only")):
        return f"Renew the certificate of {owner} (and check the clocks of both gateways)."
    if reason.startswith("the identity"):
        return (f"Make {owner} send an identity its certificate holds (subject or subjectAltName), or reissue the "
                "certificate with that identity.")
    if "CA" in reason:
        return f"Install the CA that issued the certificate of {owner} as trusted on {judge}, or reissue it from a CA {judge} trusts."
    return f"Check the revocation state and chain of the certificate of {owner} on {judge}."


def rule_answer_refused(ike_sa: IkeSa, context: Context) -> Conclusion | None:
    """IKEv2 without keys: IKE_AUTH answered in full, then at once (within a second, before any ESP) the
    initiator sends an INFORMATIONAL that ends everything: the initiator refused the responder's
    authentication (strongSwan sends AUTHENTICATION_FAILED that way, lab `strongswan-cert-untrusted-ca`).
    A certificate-sized answer points at its certificate, a short one at its AUTH (the PSK); `possible`,
    since an immediate Delete looks the same."""
    up = context.up
    if ike_sa.version != 2 or up is None or up.exchange != "IKE_AUTH":
        return None
    after = list(islice((e for e in ike_sa.iter_exchanges() if e.requests and e.requests[0].time >= up.time), 2))
    if len(after) != 1 or after[0].exchange_type != 37 or not after[0].by_initiator:
        return None
    request = after[0].requests[0]
    if request.time - up.time > BURST or any(child_traffic(ike_sa, context, up.time - 0.001)):
        return None
    room = plaintext_room(ike_sa, [up]) or 0
    certificate = room >= CERTIFICATE_SIZED
    return Conclusion("failed", "CertificateAuthenticationFailure" if certificate else "PskMismatch", "possible", 1,
                      f"{names(ike_sa)[0]} ended the IKE SA with an INFORMATIONAL {1000 * (request.time - up.time):.0f}"
                      f" ms after the IKE_AUTH answer ({up.length} octets), before any ESP: it refused the "
                      f"responder's authentication{' (the answer is large enough to carry a certificate)' if certificate else ''}"
                      "; without keys an immediate Delete looks the same",
                      f"Check on {address(ike_sa.initiator)} why it refuses {address(ike_sa.responder)}: "
                      + ("the responder's certificate, its CA and the identity in it." if certificate
                         else "the pre-shared key and the identity the responder sends."),
                      [Evidence(up.frame, f"IKE_AUTH answer, {up.length} octets"),
                       Evidence(request.frame, "INFORMATIONAL from the initiator at once; nothing follows")],
                      ["ReceiveDeleteNotify", "PeerIdMismatch"])
