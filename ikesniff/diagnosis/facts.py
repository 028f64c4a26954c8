"""The facts rules share: which exchange opened the SA, who gave up, how much plaintext an encrypted
message can hold, when the SA came up, the ESP between the peers, who sent a message.

Plain functions of the tracker's records; no rule logic and no output formats here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from dissectors.ikev2 import sk_layout

from ..tracker import EspFlow, Exchange, IkeSa, Sent
from .context import Context

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


def opening_requests(ike_sa: IkeSa) -> list[Sent]:
    exchange = opening(ike_sa)
    return exchange.requests if exchange is not None else []


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


def gave_up_answer(exchange: Exchange, context: Context) -> bool:
    return bool(exchange.responses) and context.end_time - exchange.responses[-1].time >= SILENCE_IS_GIVING_UP


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


def clear_errors(ike_sa: IkeSa) -> list[Sent]:
    """Messages carrying an error notify (type below 16384) in clear."""
    return [sent for sent in ike_sa.clear if any(ref.is_error for ref in sent.notifies)]


def first_error(sent: Sent) -> str:
    return next(ref.type for ref in sent.notifies if ref.is_error)


def who(ike_sa: IkeSa, sent: Sent) -> tuple[str, str]:
    """(sender, receiver) labels of a message."""
    initiator, responder = names(ike_sa)
    return (initiator, responder) if sent.initiator else (responder, initiator)


def identity_text(ike_sa: IkeSa) -> str:
    return f" ({ike_sa.identity})" if ike_sa.identity else ""
