"""The facts rules share: which exchange opened the SA, who gave up, how much plaintext an encrypted
message can hold, when the SA came up, the ESP between the peers, who sent a message.

Plain functions of the tracker's records; no rule logic and no output formats here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from dissectors.ikev2 import sk_layout
from dissectors.names import V1Exchange, V2Exchange

from ..tracker import EspFlow, Exchange, IkeSa, Sent, endpoint, host
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
    """('the initiator 192.0.2.1:4500'-like) labels of the initiator and the responder, with the endpoints
    their latest messages used (IKE_AUTH after a NAT-T float names 4500, not the 500 of IKE_SA_INIT); after an
    address change (MOBIKE, a NAT rebinding) the address each side uses now, and the one it began with."""
    initiator, responder = current_endpoints(ike_sa)
    if ike_sa.address_changes:
        if ike_sa.initiator and address(initiator) != address(ike_sa.initiator):
            initiator = f"{initiator} (first {ike_sa.initiator})"
        if ike_sa.responder and address(responder) != address(ike_sa.responder):
            responder = f"{responder} (first {ike_sa.responder})"
    return f"the initiator {initiator or '?'}", f"the responder {responder or '?'}"


def current_endpoints(ike_sa: IkeSa) -> tuple[str, str]:
    """The initiator's and the responder's endpoints as their latest messages used them (the SA's first
    endpoints when a side sent nothing else)."""
    found = {side: endpoint(sent.src, sent.sport) for side, (_, sent) in latest_messages(ike_sa).items()}
    return found.get(True, ike_sa.initiator), found.get(False, ike_sa.responder)


def latest_messages(ike_sa: IkeSa) -> dict[bool, tuple[float, Sent]]:
    """Per side (True: the initiator), the time of its latest message and that message, or one that differs
    from it only in frame, time and message id (a folded exchange's `Routine`); of messages sent at the
    same time, the one of the later exchange, a response after its request."""
    latest: dict[bool, tuple[float, Sent]] = {}
    if ike_sa.folded is None:  # (most SAs: their records alone)
        for exchange in ike_sa.records.values():
            for sent in (*exchange.requests, *exchange.responses):
                if sent.initiator not in latest or sent.time >= latest[sent.initiator][0]:
                    latest[sent.initiator] = (sent.time, sent)
        return latest
    for _, time, sent in messages(ike_sa):
        if sent.initiator not in latest or time >= latest[sent.initiator][0]:
            latest[sent.initiator] = (time, sent)
    return latest


def messages(ike_sa: IkeSa, newest_first: bool = False) -> Iterator[tuple[int, float, Sent]]:
    """(frame, time, message) of each message of the exchanges kept, in order (each exchange's requests then
    its answers) or the reverse order of exchanges; for a folded exchange `message` is its routine's, right
    but for frame, time and message id (see `tracker.Folded.messages`)."""
    folded = ike_sa.folded
    for entry in ike_sa.entries(newest_first):
        if isinstance(entry, int):
            assert folded is not None
            yield from folded.messages(entry, ike_sa.routines)
        else:
            for sent in (*entry.requests, *entry.responses):
                yield sent.frame, sent.time, sent


def said_after(ike_sa: IkeSa, initiator: bool, since: float) -> bool:
    """The initiator (True) or the responder sent a message of the exchanges kept later than `since`."""
    return any(sent.initiator == initiator and time > since for _, time, sent in messages(ike_sa, newest_first=True))


def exchanges(ike_sa: IkeSa, *exchange_types: int) -> list[Exchange]:
    """The exchanges kept (of these types, or all), in order, folded ones made whole (see `records`)."""
    if ike_sa.folded is None:
        return [e for e in ike_sa.records.values() if not exchange_types or e.exchange_type in exchange_types]
    return list(ike_sa.iter_exchanges(*exchange_types))


def records(ike_sa: IkeSa, *exchange_types: int) -> list[Exchange]:
    """The exchanges kept whole (of these types, or all), in order: all but the routine ones the tracker
    folded (`tracker.foldable`: INFORMATIONAL exchanges of one request and one answer at most, never
    repeated, in fragments or with a notify, nothing readable inside). Enough for a search that no folded
    exchange can satisfy."""
    return [e for e in ike_sa.records.values() if not exchange_types or e.exchange_type in exchange_types]


def opening(ike_sa: IkeSa) -> Exchange | None:
    """IKE_SA_INIT or the IKEv1 phase-1 exchange."""
    return next(ike_sa.iter_exchanges(34, 2, 4), None)


def opening_requests(ike_sa: IkeSa) -> list[Sent]:
    exchange = opening(ike_sa)
    return exchange.requests if exchange is not None else []


def gave_up(exchange: Exchange, ike_sa: IkeSa, context: Context) -> bool:
    """An unanswered request whose sender stopped waiting, inside the capture: a long retransmission
    series, a new attempt by the same side, a long silence while the capture went on, or a series that
    stopped although the capture lasted past when its next copy was due (retransmission intervals grow:
    twice the last one). A request the capture simply cut off is not given up: the input ended first."""
    last = exchange.last_request
    if last is None:
        return False
    if exchange.retransmissions >= GIVE_UP_RETRANSMISSIONS:
        return True
    waited = context.end_time - last.time
    if waited >= SILENCE_IS_GIVING_UP:
        return True
    if len(exchange.requests) >= 2 and waited > 2 * (last.time - exchange.requests[-2].time) + BURST:
        return True
    return any(other.first_time > last.time and host(other.initiator) == last.src
               for other in context.others)


def cut_off(exchange: Exchange, ike_sa: IkeSa, context: Context) -> bool:
    """A request sent once, unanswered, and the capture ended before its sender could retransmit or give
    up: nothing is known of its fate."""
    return not exchange.retransmissions and not exchange.answered and not gave_up(exchange, ike_sa, context)


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
    """`reached_up`, worked out once per state of the SA (the rules read it of the tunnel's other SAs too)."""
    memo = ike_sa.up_memo
    if memo is None or memo[0] != ike_sa.messages:
        memo = ike_sa.up_memo = (ike_sa.messages, reached_up(ike_sa))
    return memo[1]


def reached_up(ike_sa: IkeSa) -> Sent | None:
    """The message that shows the IKE SA established, without keys, read from the contents, never from
    message counts: IKEv2, an IKE_AUTH answer with room for an identity and AUTH, or an encrypted exchange
    answered both ways after it; IKEv1 main mode, key exchange and nonces in clear both ways then encrypted
    messages both ways (5 and 6); aggressive mode, KE both ways and the initiator's third message; a quick
    mode answered (phase 2 needs phase 1). Answers with no request seen prove nothing (orphans, reflections)."""
    if ike_sa.version == 2:
        for exchange in exchanges(ike_sa, V2Exchange.IKE_AUTH):
            room = plaintext_room(ike_sa, exchange.responses)
            if exchange.requests and exchange.responses and (room is None or room >= MIN_ID + 8 + prf_output(ike_sa)):
                return exchange.responses[0]
        for exchange in ike_sa.iter_exchanges(V2Exchange.CREATE_CHILD_SA, V2Exchange.INFORMATIONAL,
                                              V2Exchange.IKE_INTERMEDIATE):
            if exchange.requests and exchange.responses and (exchange.message_id > 0
                                                             or not ike_sa.started_by_first_message):
                return exchange.responses[0]
        return None
    phase1 = opening(ike_sa)
    if phase1 is not None:
        clear_ke = [any("KE" in s.payloads and not s.encrypted for s in sents)
                    for sents in (phase1.requests, phase1.responses)]
        if ike_sa.phase1 == "main":
            sealed = [next((s for s in sents if s.encrypted), None) for sents in (phase1.requests, phase1.responses)]
            if sealed[0] is not None and sealed[1] is not None and (all(clear_ke)
                                                                    or not ike_sa.started_by_first_message):
                return sealed[1]
        elif ike_sa.phase1 == "aggressive" and all(clear_ke) and phase1.steps[0] >= 2 and phase1.responses:
            third = [s for s in phase1.requests if s.time >= phase1.responses[0].time and not s.retransmission]
            if third:
                return third[0]
    for exchange in exchanges(ike_sa, V1Exchange.QUICK_MODE):
        if (exchange.requests and exchange.responses) or (exchange.requests and not ike_sa.started_by_first_message):
            return exchange.first
    return None


def esp_between(context: Context, source: str, since: float) -> list[EspFlow]:
    return [f for f in context.esp if f.src == source and f.last_time >= since]


def address(endpoint_text: str) -> str:
    """The address of an endpoint ('[2001:db8::1]:500', '192.0.2.1:500') or of a bare address."""
    return host(endpoint_text)


def child_traffic(ike_sa: IkeSa, context: Context, since: float) -> tuple[int, int]:
    """ESP packets initiator -> responder and back, seen since `since` (from every address each side used:
    after MOBIKE moves the ESP follows the IKE SA)."""
    initiators = {address(ike_sa.initiator)} | {address(e) for e in ike_sa.addresses[True]}
    responders = {address(ike_sa.responder)} | {address(e) for e in ike_sa.addresses[False]}
    forth = sum(f.packets for f in context.esp if f.src in initiators and f.dst in responders and f.last_time >= since)
    back = sum(f.packets for f in context.esp if f.src in responders and f.dst in initiators and f.last_time >= since)
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


def addresses_now(ike_sa: IkeSa) -> tuple[str, str] | None:
    """(initiator, responder) addresses in use after the SA's latest address change (MOBIKE, a NAT
    rebinding), from the last message each side sent; None when the SA never moved."""
    if not ike_sa.address_changes:
        return None
    latest = {side: sent for side, (_, sent) in latest_messages(ike_sa).items()}
    initiator = latest[True].src if True in latest else address(ike_sa.initiator)
    responder = latest[False].src if False in latest else (latest[True].dst if True in latest
                                                           else address(ike_sa.responder))
    return initiator, responder
