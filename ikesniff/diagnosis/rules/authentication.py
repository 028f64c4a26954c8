"""Authentication rules: the peer refused who the other side is or how it proved it.
"""

from __future__ import annotations

from ...events import Evidence
from ...tracker import IkeSa
from ..context import Conclusion, Context
from ..facts import CERTIFICATE_SIZED, MIN_ID, address, exchanges, names, plaintext_room, prf_output


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
