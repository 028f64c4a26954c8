"""IKE SA bookkeeping: which IKE SA a message belongs to, who sent it, which request it answers,
whether it repeats a message already seen, and what the data plane and ICMP say about the tunnel.

Sans-IO and output-agnostic: messages, ESP sightings and ICMP errors go in (in capture order),
plain records come out. It knows nothing of files, sockets, JSON or of what a failure is called;
the diagnosis rules (`diagnosis.py`) read what it kept.

Theory of operation
-------------------
An IKE SA is its IKE version, its initiator SPI (IKEv2) or cookie (IKEv1), its responder half once
known, and its endpoints. The responder's half is zero in the first message, and a retry after
INVALID_KE_PAYLOAD or a COOKIE challenge keeps the initiator's half, so (version, initiator half,
the two addresses) follows an attempt from its first packet on, and from port 500 to 4500 or across a
NAT port remap (the ports are not part of the name). Answers from different addresses never merge:
an answer whose addresses no request used is an SA of its own (an orphan: the request was not
captured, or it was spoofed, as in a reflection attack). One transition is accepted with evidence: a
message whose *both* SPIs name a known SA, from another address pair, is that SA after an address
change (MOBIKE, a NAT rebinding), recorded in `IkeSa.address_changes`.

IKEv2 says in its flags who sent a message (I) and whether it is a response (R). IKEv1 says
neither, so they are inferred:
- the original initiator is the sender of the first message of the SA whose responder cookie
  is zero (or, when that message was not captured, the first sender seen);
- in phase 1 (message id 0) every message from the responder is a response;
- in the other exchanges the first sender of a message id is the requester, and messages
  from the other side with that id are its responses (an R-U-THERE-ACK answers too).
A retransmission is a message whose bytes were already sent by the same side of the same SA.

Messages are grouped into exchanges, one per request, by the table `EXCHANGES` below: for each
version and exchange type, how its messages are keyed into exchanges, when an answer is expected and
what completes it:

    version  exchange                 keyed by                   an answer is expected
    2        any                      (message id, requester)    always
    1        main / aggressive mode   phase 1 (one exchange)     after messages 1, 3, 5 (main), 1 (aggressive)
    1        quick mode, transaction  (message id, requester)    after the first message
    1        informational            (message id, requester)    only for R-U-THERE
    1        base, auth only, new group (message id, requester)  never (nothing here reads them)

IKEv1 phase 1 is one exchange of several round trips; `Exchange.steps` counts the distinct
messages of each side, which is how far the negotiation got.

Memory is bounded per IKE SA (recent digests, at most `EXCHANGES_KEPT` exchanges, the messages
that carry offers and NAT detection) and SAs silent for longer than any retransmission schedule
lose their retransmission memory, so memory follows the SAs alive, not the capture length.

Routine exchanges are folded, without loss. An established SA spends its life in liveness checks:
INFORMATIONAL exchanges of one request and one answer (IKEv1 without keys: one message each way, each its
own exchange) that differ only in frame, time and message id. The first such exchange (`foldable`: no
retransmission, no fragment, nothing readable inside, no notify) teaches the SA its shape, a `Routine`
that keeps its messages once; from then on each exchange of that shape is one row of columns in
`IkeSa.folded` (order, message id, frames and times of its request and answer), filled as its messages
come, and never an `Exchange`. `IkeSa.ordered_exchanges()` gives them back as the records they would
have been, equal field for field; a message a row cannot hold (a copy, another size) makes it whole
again first. So an SA of thousands of liveness checks costs about 45 octets per check kept, and the
diagnosis reads what it would read without folding (`diagnosis.facts.records` where a search cannot
concern a folded exchange).
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable, Iterator, MutableSequence, Sequence
from dataclasses import dataclass, field, fields
from itertools import islice
from operator import attrgetter
from typing import Generic, TypeVar

from dissectors import Message
from dissectors.ikev1 import (
    CertificatePayload,
    ConfigurationAttributesPayload,
    IdentificationPayload,
    SecurityAssociationPayload,
    VendorIdPayload,
)
from dissectors.ikev2 import (
    Certificate,
    CertificateRequest,
    Configuration,
    EncryptedFragment,
    ExtensibleAuthentication,
    Identification,
    KeyExchange,
    SecurityAssociation,
    VendorID,
)
from dissectors.model import Payload
from dissectors.names import NotifyType, V1Exchange, V2Exchange, V2Payload

from . import natd
from .capture.events import EspSighting
from .crowd import ONE_SIDED_BUDGET, Crowd, FoldedAnswers, FoldedRequests
from .events import NotifyRef, Where
from .natd import NatAssessment, NatdHashes
from .offers import Offer, offers_of

ZERO_SPI = bytes(8)
DIGESTS_KEPT_PER_SA = 16
"""Distinct recent messages remembered per SA. A retransmission repeats one of the last few
messages of its side (RFC 7296 §2.1 keeps one request in flight per window slot; IKEv1 peers
resend their last message), so 16 catches every series while bounding memory per SA."""
EXCHANGES_KEPT = 48
"""Exchanges remembered per SA: the first ones (how it was set up) and the most recent ones."""
COPIES_KEPT = 12
"""Copies of one request or response remembered (a retransmission series is rarely longer)."""
ROUTINE_EXCHANGES = (V2Exchange.INFORMATIONAL, V1Exchange.INFORMATIONAL)
"""Exchange types whose routine exchanges (liveness checks) are folded into columns."""
ROUTINES_KEPT = 4
"""Distinct routine shapes per SA (a liveness check each way, IKEv1's R-U-THERE and its ACK)."""
FOLD_AFTER = 4
"""Exchanges an SA begins before its routine ones are folded: the first four, how it was set up (never
forgotten, see `EXCHANGES_KEPT`), stay whole, so that a short-lived SA keeps all its exchanges as records
(they cost little, and its diagnosis reads them at no cost) and a long-lived one folds its liveness checks."""

RETRANSMISSION_HORIZON = 300.0
"""Seconds of silence after which an SA's recent messages are forgotten: longer than any
retransmission schedule (strongSwan gives up after about 165 s, libreswan after 60)."""
SWEEP_EVERY = 4096
"""Messages between two looks for idle SAs."""

PHASE1 = "phase 1"
"""Keyed as one exchange for all of IKEv1 phase 1 (message id 0, every round trip)."""
REQUEST = "request"
"""Keyed by (message id, which side asked): each request and its answers are one exchange."""
ALWAYS, FIRST_MESSAGE, ROUND_TRIPS, R_U_THERE_ONLY, NEVER = (
    "always", "after the first message", "after each initiator message of a round trip", "only for R-U-THERE",
    "never")


@dataclass(frozen=True, slots=True)
class ExchangeRule:
    """How the tracker groups the messages of one exchange type and what it waits for."""

    keyed: str
    """PHASE1 or REQUEST."""
    answered: str
    """When the other side is expected to answer (ALWAYS, FIRST_MESSAGE, ROUND_TRIPS, R_U_THERE_ONLY, NEVER)."""
    completes: str
    """What completes it, in words (the diagnosis reads completion from contents, see diagnosis.facts)."""
    round_trips: int = 1
    """IKEv1 phase 1: initiator messages the responder answers (main mode 1, 3, 5; aggressive 1)."""


EXCHANGES: dict[tuple[int, int], ExchangeRule] = {
    (2, V2Exchange.IKE_SA_INIT): ExchangeRule(REQUEST, ALWAYS, "a response with SA, KE and Nonce (or a notify)"),
    (2, V2Exchange.IKE_AUTH): ExchangeRule(REQUEST, ALWAYS, "a response with IDr and AUTH (several rounds with EAP)"),
    (2, V2Exchange.CREATE_CHILD_SA): ExchangeRule(REQUEST, ALWAYS, "a response with SA and Nonce"),
    (2, V2Exchange.INFORMATIONAL): ExchangeRule(REQUEST, ALWAYS, "any response (an empty one for a liveness check)"),
    (1, V1Exchange.IDENTITY_PROTECTION): ExchangeRule(PHASE1, ROUND_TRIPS, "message 6, the responder's HASH_R", 3),
    (1, V1Exchange.AGGRESSIVE): ExchangeRule(PHASE1, ROUND_TRIPS, "message 3, the initiator's HASH_I", 1),
    (1, V1Exchange.QUICK_MODE): ExchangeRule(REQUEST, FIRST_MESSAGE, "message 3 from the initiator"),
    (1, V1Exchange.TRANSACTION): ExchangeRule(REQUEST, FIRST_MESSAGE, "the peer's REPLY/ACK"),
    (1, V1Exchange.INFORMATIONAL): ExchangeRule(REQUEST, R_U_THERE_ONLY, "the R-U-THERE-ACK of a R-U-THERE"),
}
"""(version, exchange type) -> how its messages are grouped; the defaults below serve the other types."""
DEFAULT_EXCHANGE = {2: ExchangeRule(REQUEST, ALWAYS, "any response"),
                    1: ExchangeRule(REQUEST, NEVER, "nothing: no answer is expected")}
IKEV1_PHASE1: dict[int, str] = {V1Exchange.IDENTITY_PROTECTION: "main", V1Exchange.AGGRESSIVE: "aggressive"}


def exchange_rule(version: int, exchange_type: int) -> ExchangeRule:
    return EXCHANGES.get((version, exchange_type)) or DEFAULT_EXCHANGE.get(version, DEFAULT_EXCHANGE[2])


XAUTH_STATUS = 16527
"""IKEv1 mode-config attribute carrying the XAUTH verdict (draft-beaulieu-ike-xauth-02 §6.2): 0 FAIL, 1 OK."""
X509_SIGNATURE = 4
"""Certificate encoding of an X.509 certificate in DER (RFC 7296 §3.6, RFC 2408 §3.9)."""


@dataclass(frozen=True, slots=True)
class Opened:
    """What a decrypted message says beyond its payload names and notifies: the readable parts the
    diagnosis looks at (XAUTH / mode-config attributes, EAP, certificates, identities). No secrets: XAUTH
    passwords are dropped by the dissector."""

    cfg: tuple[str, ...] = ()
    """Each configuration payload as 'TYPE: ATTRIBUTE, ...' (IKEv1 ATTR, IKEv2 CP)."""
    xauth_status: int | None = None
    """The XAUTH_STATUS value read (0 FAIL, 1 OK)."""
    eap: tuple[tuple[str, str | None, int | None], ...] = ()
    """(EAP code name, method name, first octet of the type-data) of each EAP payload (the octet is the
    op-code of methods such as MSCHAPv2)."""
    certificates: tuple[bytes, ...] = ()
    """DER of each X.509 certificate carried (end-entity first, as sent)."""
    identity: str | None = None
    """The sender's identity (IDi / IDr, IKEv1 phase-1 ID), readable."""
    identity_type: str | None = None
    authorities: tuple[str, ...] = ()
    """IKEv2 CERTREQ: hex SHA-1 hashes of the public keys of the CAs the sender trusts."""


def opened_of(payloads: Sequence[Payload], phase1: bool) -> Opened | None:
    """The readable parts of decrypted payloads; None when there is nothing the diagnosis reads."""
    cfg: list[str] = []
    status: int | None = None
    eap: list[tuple[str, str | None, int | None]] = []
    certificates: list[bytes] = []
    identity: tuple[str, str] | None = None
    authorities: list[str] = []
    for payload in payloads:
        if isinstance(payload, ConfigurationAttributesPayload):
            cfg.append(f"{payload.cfg_type_name}: " + ", ".join(a.name for a in payload.attributes))
            for attribute in payload.attributes:
                if attribute.type == XAUTH_STATUS and isinstance(attribute.value, int):
                    status = attribute.value
        elif isinstance(payload, Configuration):
            cfg.append(f"{payload.cfg_type_name}: " + ", ".join(a.name for a in payload.attributes))
        elif isinstance(payload, ExtensibleAuthentication):
            eap.append((payload.code_name, payload.eap_type_name, payload.data[0] if payload.data else None))
        elif isinstance(payload, CertificateRequest):
            authorities.extend(payload.authorities)
        elif isinstance(payload, (Certificate, CertificatePayload)) and payload.encoding == X509_SIGNATURE:
            certificates.append(payload.data)
        elif identity is None and (
                (isinstance(payload, Identification) and payload.type in (V2Payload.IDI, V2Payload.IDR))
                or (isinstance(payload, IdentificationPayload) and phase1)):
            identity = (payload.value, payload.id_type_name)
    if not (cfg or eap or certificates or identity or authorities) and status is None:
        return None
    return Opened(tuple(cfg), status, tuple(eap), tuple(certificates), identity[0] if identity else None,
                  identity[1] if identity else None, tuple(authorities))


@dataclass(slots=True, kw_only=True)
class Sent(Where):
    """One IKE message as the tracker remembers it."""

    event: str = field(default="sent", init=False)
    exchange: str
    exchange_type: int
    message_id: int
    response: bool
    initiator: bool
    length: int
    encrypted: bool
    notifies: tuple[NotifyRef, ...]
    payloads: tuple[str, ...]
    retransmission: bool
    frames: tuple[int, ...] = ()
    """All frames that carried it when it spanned several (IP fragments, TCP segments)."""
    fragment: tuple[int, int] | None = None
    """IKEv2 SKF (RFC 7383): (fragment number, total fragments)."""
    sk_length: int = 0
    """Length of the SK/SKF payload (IV + ciphertext + ICV), 0 when none."""
    commit: bool = False
    """IKEv1 commit flag (RFC 2408 §3.1): the sender waits for a CONNECTED notify before using the SA."""
    inner: tuple[str, ...] | None = None
    """Names of the payloads inside the encrypted payload, when it was decrypted (None: not decrypted)."""
    opened: Opened | None = None
    """What the decrypted payloads say that the diagnosis reads (`Opened`), None when nothing."""

    @property
    def decrypted(self) -> bool:
        return self.inner is not None

    @property
    def sender(self) -> str:
        return endpoint(self.src, self.sport)

    def notify(self, *codes: int) -> NotifyRef | None:
        for ref in self.notifies:
            if ref.code in codes:
                return ref
        return None


@dataclass(slots=True)
class Exchange:
    """A request and its answers (IKEv1 phase 1: all its round trips)."""

    name: str
    exchange_type: int
    message_id: int
    by_initiator: bool
    """The request came from the original initiator of the IKE SA."""
    expects_response: bool
    requests: list[Sent] = field(default_factory=list)
    """Every copy of the request (retransmissions and SKF fragments included), capped."""
    responses: list[Sent] = field(default_factory=list)
    request_messages: int = 0
    """Copies of requests seen, including those beyond the cap."""
    response_messages: int = 0
    asked: int = 0
    """Distinct messages sent by the requester (IKEv1 phase 1 progress)."""
    answers: int = 0
    """Distinct messages sent by the answerer."""
    retransmissions: int = 0
    """Request copies that repeated one already seen."""
    response_retransmissions: int = 0
    order: int = 0
    """Rank of its first message among the exchanges of the SA (0 for the first)."""

    @property
    def steps(self) -> list[int]:
        """Distinct messages sent by [requester, answerer]."""
        return [self.asked, self.answers]

    @property
    def first(self) -> Sent:
        return self.requests[0] if self.requests else self.responses[0]

    @property
    def answered(self) -> bool:
        return bool(self.responses)

    @property
    def last_request(self) -> Sent | None:
        return self.requests[-1] if self.requests else None

    def response_time(self) -> float | None:
        if not self.requests or not self.responses:
            return None
        return self.responses[0].time - self.requests[0].time

    def add(self, sent: Sent, answer: bool) -> None:
        if not sent.retransmission:
            if answer:
                self.answers += 1
            else:
                self.asked += 1
        if answer:
            self.response_messages += 1
            if sent.retransmission:
                self.response_retransmissions += 1
            if len(self.responses) < COPIES_KEPT:
                self.responses.append(sent)
            else:
                self.responses[-1] = sent
            return
        self.request_messages += 1
        if sent.retransmission:
            self.retransmissions += 1
        if len(self.requests) < COPIES_KEPT:
            self.requests.append(sent)
        else:
            self.requests[-1] = sent


SHAPE_FIELDS = tuple(f.name for f in fields(Sent) if f.name not in ("frame", "time", "message_id"))
"""Every field of a `Sent` but those in which liveness checks differ (frame, time, message id)."""
SHAPE = attrgetter(*SHAPE_FIELDS)


@dataclass(frozen=True, slots=True)
class Routine:
    """What the folded exchanges of one shape share: everything but their order, message id, frames
    and times (those are columns of `Folded`). `request` and `response` are the messages of the first
    exchange folded with this shape (None when that side sent nothing)."""

    name: str
    exchange_type: int
    by_initiator: bool
    expects_response: bool
    request: Sent | None
    response: Sent | None

    @classmethod
    def of(cls, exchange: Exchange) -> Routine:
        return cls(exchange.name, exchange.exchange_type, exchange.by_initiator, exchange.expects_response,
                   exchange.requests[0] if exchange.requests else None,
                   exchange.responses[0] if exchange.responses else None)

    def fits(self, exchange: Exchange) -> bool:
        """`exchange` (`foldable`) is of this shape."""
        return (self.by_initiator == exchange.by_initiator and self.exchange_type == exchange.exchange_type
                and self.expects_response == exchange.expects_response and self.name == exchange.name
                and _same(self.request, exchange.requests[0] if exchange.requests else None)
                and _same(self.response, exchange.responses[0] if exchange.responses else None))

    def takes(self, sent: Sent, answer: bool) -> bool:
        """`sent`, as the request (or the answer), is of this shape (so `plain` but for its frame)."""
        template = self.response if answer else self.request
        return template is not None and sent.frame > 0 and alike(template, sent)


def _same(a: Sent | None, b: Sent | None) -> bool:
    return a is b if a is None or b is None else alike(a, b)


def alike(a: Sent, b: Sent) -> bool:
    """`SHAPE(a) == SHAPE(b)`: the two are equal but for frame, time and message id (field by field, those
    that differ most often first: three times as fast as comparing the tuples)."""
    return (a.length == b.length and a.src == b.src and a.sport == b.sport and a.dst == b.dst and a.dport == b.dport
            and a.response == b.response and a.initiator == b.initiator and a.payloads == b.payloads
            and a.exchange_type == b.exchange_type and a.sk_length == b.sk_length and a.inner == b.inner
            and a.notifies == b.notifies and a.encrypted == b.encrypted and a.retransmission == b.retransmission
            and a.transport == b.transport and a.exchange == b.exchange and a.frames == b.frames
            and a.fragment == b.fragment and a.commit == b.commit and a.opened == b.opened and a.event == b.event)


def plain(sent: Sent) -> bool:
    """A message a routine exchange may hold: encrypted, nothing readable inside (an empty decrypted
    payload at most), no notify, not repeated, not in fragments."""
    return sent.encrypted and sent.frame > 0 and not (
        sent.notifies or sent.inner or sent.frames or sent.commit or sent.retransmission) \
        and sent.fragment is None and sent.opened is None


def foldable(exchange: Exchange) -> bool:
    """A routine exchange: INFORMATIONAL, at most one request and one answer, each `plain`, answered
    when an answer is expected (the first of a shape; later ones are folded as their messages come)."""
    if exchange.exchange_type not in ROUTINE_EXCHANGES or exchange.retransmissions \
            or exchange.response_retransmissions:
        return False
    requests, responses = exchange.request_messages, exchange.response_messages
    if requests > 1 or responses > 1 or not (requests or responses) \
            or (exchange.expects_response and not (requests and responses)):
        return False
    return all(plain(sent) for sent in exchange.requests) and all(plain(sent) for sent in exchange.responses)


NARROW = (1 << 8 * array("I").itemsize) - 1
"""The largest integer a row of `Folded` holds before it is widened."""


class Folded:
    """The routine exchanges of one IKE SA, one row each, in order: what differs between them (the rest
    is their `Routine`, `IkeSa.routines[shape]`). Row `at`: `message_ids[at]`; `rows[3 * at]` its order
    (rank among the SA's exchanges) times 256 plus its shape, then the frames of its request and of its
    answer (0: not seen, yet); `times[2 * at]` and the next, the times of the two. `rows` holds 32-bit
    integers until a larger one comes (a frame beyond four billion), then 64-bit ones."""

    __slots__ = ("highest", "message_ids", "rows", "times")

    def __init__(self) -> None:
        self.message_ids = array("I")
        self.rows = array("I")
        self.times = array("d")
        self.highest = 0
        """No row has a higher message id (IKEv2's grow: a new request is not looked for)."""

    def __len__(self) -> int:
        return len(self.message_ids)

    def order(self, at: int) -> int:
        return self.rows[3 * at] >> 8

    def shape(self, at: int) -> int:
        return self.rows[3 * at] & 0xFF

    def add(self, order: int, message_id: int, shape: int, request: Sent | None, response: Sent | None) -> None:
        """A row for the exchange of rank `order`."""
        row = (order << 8 | shape, request.frame if request is not None else 0,
               response.frame if response is not None else 0)
        times = (request.time if request is not None else 0.0, response.time if response is not None else 0.0)
        if max(row) > NARROW and self.rows.typecode == "I":
            self.rows = array("Q", self.rows)
        rows = self.rows
        self.highest = max(self.highest, message_id)
        if not rows or order > rows[-3] >> 8:
            self.message_ids.append(message_id)
            rows.extend(row)
            self.times.extend(times)
            return
        at = next(at for at in range(len(self.message_ids)) if rows[3 * at] >> 8 > order)
        self.message_ids.insert(at, message_id)
        rows[3 * at:3 * at] = array(rows.typecode, row)
        self.times[2 * at:2 * at] = array("d", times)

    def fill(self, at: int, sent: Sent, answer: bool, routines: Sequence[Routine]) -> bool:
        """Put `sent` in the row `at`, whose exchange it belongs to, when it is the side the row lacks and
        of its shape; False otherwise (the exchange is no longer routine)."""
        rows = self.rows
        if rows[3 * at + 1 + answer] or not routines[rows[3 * at] & 0xFF].takes(sent, answer):
            return False
        if sent.frame > NARROW and rows.typecode == "I":
            rows = self.rows = array("Q", rows)
        rows[3 * at + 1 + answer] = sent.frame
        self.times[2 * at + answer] = sent.time
        return True

    def find(self, key: tuple[int, bool, int], version: int, routines: Sequence[Routine]) -> int | None:
        """The row of the exchange keyed `key` (see `Tracker._exchange`), or None."""
        message_id, by_initiator, kind = key
        message_ids = self.message_ids
        last = len(message_ids) - 1
        if last < 0 or message_id > self.highest or (message_ids[last] != message_id
                                                     and message_id not in message_ids):
            return None
        for at in range(last, -1, -1):
            if message_ids[at] == message_id:
                routine = routines[self.rows[3 * at] & 0xFF]
                if routine.by_initiator == by_initiator and (routine.exchange_type if version == 1 else -1) == kind:
                    return at
        return None

    def remove(self, at: int) -> None:
        del self.message_ids[at]
        del self.rows[3 * at:3 * at + 3]
        del self.times[2 * at:2 * at + 2]

    def messages(self, at: int, routines: Sequence[Routine]) -> list[tuple[int, float, Sent]]:
        """(frame, time, message) of the request and the answer of row `at` (those seen), where `message` is
        the routine's: right but for its frame, time and message id."""
        routine = routines[self.rows[3 * at] & 0xFF]
        found = []
        if self.rows[3 * at + 1] and routine.request is not None:
            found.append((self.rows[3 * at + 1], self.times[2 * at], routine.request))
        if self.rows[3 * at + 2] and routine.response is not None:
            found.append((self.rows[3 * at + 2], self.times[2 * at + 1], routine.response))
        return found

    def exchange(self, at: int, routines: Sequence[Routine]) -> Exchange:
        """Row `at` as the exchange it was."""
        order, request_frame, response_frame = self.rows[3 * at:3 * at + 3]
        routine = routines[order & 0xFF]
        message_id = self.message_ids[at]
        requests = [_again(routine.request, request_frame, self.times[2 * at], message_id)] \
            if request_frame and routine.request is not None else []
        responses = [_again(routine.response, response_frame, self.times[2 * at + 1], message_id)] \
            if response_frame and routine.response is not None else []
        return Exchange(routine.name, routine.exchange_type, message_id, routine.by_initiator,
                        routine.expects_response, requests, responses, len(requests), len(responses),
                        len(requests), len(responses), 0, 0, order >> 8)


def _again(sent: Sent, frame: int, time: float, message_id: int) -> Sent:
    """`sent` as another message of the same shape (frame, time and message id of its own)."""
    return Sent(frame=frame, time=time, src=sent.src, sport=sent.sport, dst=sent.dst, dport=sent.dport,
                transport=sent.transport, exchange=sent.exchange, exchange_type=sent.exchange_type,
                message_id=message_id, response=sent.response, initiator=sent.initiator, length=sent.length,
                encrypted=sent.encrypted, notifies=sent.notifies, payloads=sent.payloads,
                retransmission=sent.retransmission, frames=sent.frames, fragment=sent.fragment,
                sk_length=sent.sk_length, commit=sent.commit, inner=sent.inner, opened=sent.opened)


V = TypeVar("V")


class Recent(Generic[V]):
    """The last `DIGESTS_KEPT_PER_SA` keys seen (unsigned integers of `width` octets), each with a value,
    the oldest forgotten first: the keys side by side in a bytearray (searched at C speed), their values
    and the place of the oldest (a fifth of a dict's memory)."""

    __slots__ = ("at", "keys", "values", "width")

    def __init__(self, values: MutableSequence[V], width: int) -> None:
        self.keys = bytearray()
        self.values = values
        self.at = 0
        self.width = width

    def __len__(self) -> int:
        return len(self.values)

    def get(self, key: int) -> V | None:
        width, keys = self.width, self.keys
        needle = key.to_bytes(width, "little")
        at = keys.find(needle)
        while at > 0 and at % width:  # (a match across two keys)
            at = keys.find(needle, at + 1)
        return None if at < 0 else self.values[at // width]

    def add(self, key: int, value: V) -> None:
        """Remember `key` (not remembered yet)."""
        width = self.width
        if len(self.values) < DIGESTS_KEPT_PER_SA:
            self.keys += key.to_bytes(width, "little")
            self.values.append(value)
        else:
            at = self.at
            self.keys[at * width:(at + 1) * width] = key.to_bytes(width, "little")
            self.values[at] = value
            self.at = (at + 1) % DIGESTS_KEPT_PER_SA


MASK64 = (1 << 64) - 1


def digests() -> Recent[int]:
    """Hashes of the recent messages (8 octets: `hash(...) & MASK64`) -> frame."""
    return Recent(array("Q"), 8)


def requesters() -> Recent[str]:
    """IKEv1 message ids (4 octets) -> address of the side that sent the first message."""
    return Recent([], 4)


@dataclass(slots=True)
class IcmpSeen:
    """An ICMP error quoting a message of the SA."""

    frame: int
    time: float
    reporter: str
    """The host that sent the ICMP error."""
    description: str
    quoted: str
    """'src:sport > dst:dport' of the quoted datagram."""


@dataclass(slots=True)
class IkeSa:
    """What is known so far about one IKE SA (one attempt)."""

    id: str
    version: int
    spi_i: bytes
    spi_r: bytes
    peers: frozenset[str] = frozenset()
    """The two addresses of the first message seen (the tunnel it belongs to)."""
    initiator_address: str | None = None
    initiator: str = ""
    """ip:port the original initiator sent its first message seen from."""
    responder: str = ""
    first_frame: int = 0
    last_frame: int = 0
    first_time: float = 0.0
    last_time: float = 0.0
    messages: int = 0
    started_by_first_message: bool = False
    """The first message seen opened the SA (IKE_SA_INIT request, IKEv1 phase-1 message 1); False
    when the capture began later or the SA was made by a rekey inside another one."""
    phase1: str | None = None
    """IKEv1: 'main' or 'aggressive'."""
    requesters: Recent[str] = field(default_factory=requesters)
    """IKEv1: message id -> address of the side that sent its first message."""
    digests: Recent[int] = field(default_factory=digests)
    """Hash of the message bytes and of the sender's address -> frame first seen."""
    records: dict[tuple[int, bool, int], Exchange] = field(default_factory=dict)
    """(message id, requester is the initiator, exchange type) -> exchange, in order of first message: the
    exchanges kept whole. With `folded`, the exchanges of the SA (see `ordered_exchanges`)."""
    folded: Folded | None = None
    """The routine exchanges kept, folded into columns (see the top of this module)."""
    routines: list[Routine] = field(default_factory=list)
    """The shapes of the folded exchanges."""
    exchanges_seen: int = 0
    """Exchanges begun so far (the next one's `order`)."""
    exchanges_dropped: int = 0
    offers: list[Offer] = field(default_factory=list)
    """The proposals of the first initiator message with an SA payload in clear (its offer)."""
    offer_frame: int = 0
    chosen: dict[int, tuple[int, int | None]] = field(default_factory=lambda: NOTHING_CHOSEN)
    """IKEv2: transform type -> (id, key length) of the proposal the responder chose in clear (one dict per
    distinct choice, shared by the SAs that made it: never change it)."""
    choice_frame: int = 0
    choice: list[Offer] = field(default_factory=list)
    """The proposal the responder chose, as it answered in clear (IKEv1 or IKEv2)."""
    choice_hash: str | None = None
    """IKEv1: the phase-1 hash the responder chose (NAT-D hashes are made with it)."""
    ke_length: int | None = None
    """IKEv2: length of the responder's KE payload in IKE_SA_INIT (the size a PFS key exchange adds)."""
    clear: list[Sent] = field(default_factory=list)
    """The first few messages in clear that carry an SA, an ID or a notify worth reading."""
    identity: str | None = None
    """The initiator's identity, when sent in clear (IKEv1 aggressive mode)."""
    vendors: list[str] = field(default_factory=list)
    """'initiator: <vendor>' / 'responder: <vendor>' from the Vendor ID payloads in clear."""
    natd: list[tuple[Sent, NatdHashes, bytes, bytes]] = field(default_factory=list)
    """NAT detection hashes (and the SPIs they cover) of the first messages that carried them; checked
    against the addresses when the diagnosis asks (`nat_assessments`)."""
    nat_assessed: list[tuple[Sent, NatAssessment]] | None = None
    up_memo: tuple[int, Sent | None] | None = None
    """For the diagnosis: (messages, the message that shows the SA up) once worked out for that many
    messages (`diagnosis.facts.established_at`), so that the other SAs of a tunnel read it at no cost."""
    lost_memo: tuple[int, tuple[Sent, str, str] | None] | None = None
    """For the diagnosis: (messages, where a peer lost the SA) (`diagnosis.rules.restart.lost_at`)."""
    inner_offers: tuple[tuple[Sent, list[Offer]], ...] = ()
    """Offers read in decrypted SA payloads (IKE_AUTH, CREATE_CHILD_SA, quick mode), the latest few."""
    icmp: tuple[IcmpSeen, ...] = ()
    ports: tuple[int, ...] = ()
    """UDP/TCP ports the SA's messages were sent from (a float 500 -> 4500 adds 4500)."""
    transports: tuple[str, ...] = ()
    addresses: list[tuple[str, ...]] = field(default_factory=lambda: [(), ()])
    """Endpoints each side (index True: the initiator) sent from: more than one means a float or a NAT
    rebinding."""
    errors: int = 0
    """Messages with a decode error."""
    address_changes: tuple[tuple[int, float, frozenset[str]], ...] = ()
    """(frame, time, new address pair) each time both SPIs of the SA were seen between other addresses."""
    shard: int = -1
    """Under `-j`: the worker that analyses it (set by the workers, from its tunnel); -1 otherwise."""

    @property
    def tunnel(self) -> tuple[str, str]:
        first, second = sorted(self.peers) if len(self.peers) == 2 else (*self.peers, *self.peers)
        return first, second

    def ordered_exchanges(self) -> list[Exchange]:
        """Every exchange kept, in order of first message, the folded ones made whole again."""
        return list(self.iter_exchanges())

    def iter_exchanges(self, *exchange_types: int, newest_first: bool = False) -> Iterator[Exchange]:
        """The exchanges kept (of these types, or all), in order of first message (or the reverse), folded
        ones made whole one by one as the iteration reaches them: a search that stops early pays for what
        it saw."""
        folded = self.folded
        if folded is None or not folded.message_ids or (
                exchange_types and not any(t in ROUTINE_EXCHANGES for t in exchange_types)):
            records = reversed(self.records.values()) if newest_first else iter(self.records.values())
            return (e for e in records if e.exchange_type in exchange_types) if exchange_types else records
        return self._merged(folded, exchange_types, newest_first)

    def _merged(self, folded: Folded, exchange_types: tuple[int, ...], newest_first: bool) -> Iterator[Exchange]:
        routines = self.routines
        for entry in self.entries(newest_first):
            if isinstance(entry, int):
                if not exchange_types or routines[folded.shape(entry)].exchange_type in exchange_types:
                    yield folded.exchange(entry, routines)
            elif not exchange_types or entry.exchange_type in exchange_types:
                yield entry

    def entries(self, newest_first: bool = False) -> Iterator[Exchange | int]:
        """Each exchange kept, in order of first message (or the reverse): a record, or the index of its
        row in `folded` (read there without making it whole)."""
        records = reversed(self.records.values()) if newest_first else iter(self.records.values())
        folded = self.folded
        if folded is None or not folded.message_ids:
            yield from records
            return
        rows = len(folded)
        at, end, step = (rows - 1, -1, -1) if newest_first else (0, rows, 1)
        for exchange in records:
            while at != end and (folded.order(at) > exchange.order if newest_first
                                 else folded.order(at) < exchange.order):
                yield at
                at += step
            yield exchange
        yield from range(at, end, step)

    def newest_exchange(self) -> Exchange | None:
        """The exchange kept whose first message came last."""
        return next(self.iter_exchanges(newest_first=True), None)

    @property
    def exchange_count(self) -> int:
        return len(self.records) + (len(self.folded) if self.folded is not None else 0)


@dataclass(slots=True)
class Observation:
    ike_sa: IkeSa
    initiator: bool
    response: bool
    retransmission: bool
    retransmission_of: int | None
    """Frame of the message this one repeats."""


@dataclass(slots=True)
class EspFlow:
    """Data-plane packets of one SPI in one direction (accumulated from sightings)."""

    spi: int
    src: str
    dst: str
    transport: str
    packets: int = 0
    first_frame: int = 0
    last_frame: int = 0
    first_time: float = 0.0
    last_time: float = 0.0


CLEAR_MESSAGES_KEPT = 8
OFFERS_SHARED = 1024
INNER_OFFERS_KEPT = 6
VENDORS_KEPT = 8


def _drop_fifth(ike_sa: IkeSa) -> None:
    """Forget the fifth exchange of the SA in order of first message, whole or folded."""
    records, folded = ike_sa.records, ike_sa.folded
    if folded is None or not folded.message_ids:
        del records[next(islice(records, 4, None))]
        return
    first_row = folded.rows[0] >> 8
    before = 0  # records older than the first row, up to five
    for exchange in records.values():
        if exchange.order > first_row or before == 5:
            break
        before += 1
    if before == 5:
        del records[next(islice(records, 4, None))]
        return
    rest = next(islice(records.values(), before, None), None)  # the first record after the first row
    row = 4 - before  # the fifth if no record comes before it
    if row < len(folded) and (rest is None or folded.rows[3 * row] >> 8 < rest.order):
        folded.remove(row)  # (an SA's usual state: how it was set up, then its liveness checks)
        return
    whole = [exchange.order for exchange in islice(records.values(), 5)]
    rows = [packed >> 8 for packed in folded.rows[0:15:3]] if folded is not None else []
    fifth = sorted(whole + rows)[4]
    if fifth in whole:
        del records[next(islice(records, whole.index(fifth), None))]
    else:
        assert folded is not None
        folded.remove(rows.index(fifth))


def nat_assessments(ike_sa: IkeSa) -> list[tuple[Sent, natd.NatAssessment]]:
    """The NAT detection hashes of the first message of each side, checked against the addresses of
    their packets (computed once per SA: hashing every candidate address is the costly part)."""
    if ike_sa.nat_assessed is not None:
        return ike_sa.nat_assessed
    found = []
    sides: set[bool] = set()
    for sent, hashes, spi_i, spi_r in ike_sa.natd:
        if sent.initiator in sides:
            continue
        sides.add(sent.initiator)
        try:
            assessment = natd.assess(ike_sa.version, spi_i, spi_r, hashes.source, hashes.destination, sent.src,
                                     sent.sport, sent.dst, sent.dport, hash_name=ike_sa.choice_hash)
        except ValueError:
            continue
        found.append((sent, assessment))
    ike_sa.nat_assessed = found
    return found


def fold_record(ike_sa: IkeSa) -> FoldedRequests | FoldedAnswers:
    """What the crowd keeps of a one-sided SA folded into it."""
    if ike_sa.addresses[True]:  # requests only, never answered
        return FoldedRequests(host(ike_sa.initiator), host(ike_sa.responder), ike_sa.first_time, ike_sa.first_frame,
                              ike_sa.messages == 1)
    return FoldedAnswers(ike_sa.version, ike_sa.spi_i, host(ike_sa.responder), host(ike_sa.initiator),  # answers only
                         ike_sa.first_time, ike_sa.first_frame)


def host(endpoint_text: str) -> str:
    """The address of an 'ip:port' or '[ipv6]:port' endpoint; a bare address (IPv4 or IPv6) as it is."""
    if endpoint_text.startswith("["):
        return endpoint_text[1:].split("]")[0]
    return endpoint_text.rsplit(":", 1)[0] if endpoint_text.count(":") == 1 else endpoint_text


_NAMES: dict[tuple[str, ...], tuple[str, ...]] = {}
"""One tuple per distinct payload sequence, shared by every message that has it (bounded by NAMES_SHARED)."""
NAMES_SHARED = 4096
_PORTS: dict[int, int] = {}
"""One int object per port number (at most 65,536), shared by every message that used it."""


def _names(payloads: Sequence[Payload]) -> tuple[str, ...]:
    names = tuple([payload.name for payload in payloads])
    shared = _NAMES.get(names)
    if shared is not None:
        return shared
    if len(_NAMES) < NAMES_SHARED:
        _NAMES[names] = names
    return names


NOTHING_CHOSEN: dict[int, tuple[int, int | None]] = {}
_CHOSEN: dict[tuple[tuple[int, tuple[int, int | None]], ...], dict[int, tuple[int, int | None]]] = {}
"""One `IkeSa.chosen` dict per distinct choice (never changed once made), shared by the SAs that made it."""


def _chosen(items: tuple[tuple[int, tuple[int, int | None]], ...]) -> dict[int, tuple[int, int | None]]:
    chosen = _CHOSEN.get(items)
    if chosen is None:
        chosen = dict(items)
        if len(_CHOSEN) < NAMES_SHARED:
            _CHOSEN[items] = chosen
    return chosen


def _shared(port: int) -> int:
    return _PORTS.setdefault(port, port)


def endpoint(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


SaKey = tuple[int, bytes, frozenset[str]]
"""(version, initiator SPI, the two addresses of the SA's first message)."""


class Tracker:
    def __init__(self) -> None:
        self.ike_sas: dict[SaKey, IkeSa] = {}
        self.by_spi: dict[tuple[int, bytes], list[SaKey]] = {}
        """The keys of the SAs tracked per (version, initiator SPI), to find an SA that changed addresses."""
        self.one_sided: dict[SaKey, None] = {}
        """SAs only one side has spoken in so far, oldest first (what a flood or a reflection is made of)."""
        self.crowd = Crowd()
        """One-sided SAs folded into counts once more than `budget` are tracked."""
        self.budget = ONE_SIDED_BUDGET
        self.on_fold: Callable[[IkeSa], None] | None = None
        """Told of each SA folded into the crowd (the early verdicts forget it)."""
        self.folds = 0
        """SAs folded so far (into this crowd, or, under `-j`, by every worker alike)."""
        self.fold_into: Callable[[IkeSa], None] | None = None
        """Under `-j`: takes each folded SA instead of the crowd (the parent folds them all, in order)."""
        self.esp_flows: dict[tuple[int, str, str, str], EspFlow] = {}
        self._offers: dict[int, tuple[Payload, tuple[Offer, ...]]] = {}
        """SA payload (by identity: the dissectors' memo hands out one object per distinct payload) -> its
        offers, so that the same proposals sent by many SAs are read once; bounded by OFFERS_SHARED."""
        self.observed = 0
        self.last_time = 0.0
        self.first_time: float | None = None
        self.fold_routine = True
        """Fold routine exchanges (off only to compare with the records unfolded)."""
        self.fold_after = FOLD_AFTER

    # --- input -----------------------------------------------------------------------------
    def observe(self, message: Message, raw: bytes, frame: int, time: float, src: str, dst: str,
                notifies: Sequence[NotifyRef], *, sport: int = 0, dport: int = 0, transport: str = "udp",
                frames: Sequence[int] = (), decrypted: Sequence[Payload] | None = None,
                located: IkeSa | None = None) -> Observation:
        """One IKE message; `notifies` includes those of its decrypted payloads, `decrypted` is the
        inner payload chain when the encrypted payload was opened (None otherwise). `located`: the SA
        `locate` already found for this very message (a worker of `-j` locates before it dissects)."""
        header = message.header
        src, dst = sys.intern(src), sys.intern(dst)  # one string per address, however many messages keep it
        ike_sa = located if located is not None else self.locate(message.version, header.spi_i, header.spi_r, src,
                                                                   dst, frame, time)
        if message.version == 2:
            initiator = message.is_initiator
            response = message.is_response
        else:
            initiator, response = self._ikev1_roles(ike_sa, message, src, dst, notifies)

        # the digest of (bytes, sender) among the SA's recent ones (`Recent.get` and `add`, inline: every message)
        recent = ike_sa.digests
        needle = ((hash(raw) ^ hash(src)) & MASK64).to_bytes(8, "little")
        at = recent.keys.find(needle)
        while at > 0 and at & 7:  # (a match across two digests)
            at = recent.keys.find(needle, at + 1)
        earlier: int | None = recent.values[at >> 3] if at >= 0 else None
        if earlier is None:
            if len(recent.values) < DIGESTS_KEPT_PER_SA:
                recent.keys += needle
                recent.values.append(frame)
            else:
                oldest = recent.at
                recent.keys[8 * oldest:8 * oldest + 8] = needle
                recent.values[oldest] = frame
                recent.at = (oldest + 1) % DIGESTS_KEPT_PER_SA
        seen = Observation(ike_sa, initiator, response, earlier is not None, earlier)
        self._record(ike_sa, message, seen, frame, time, src, sport, dst, dport, transport, notifies, frames,
                     decrypted)
        if ike_sa.addresses[True] and ike_sa.addresses[False] and self.one_sided:
            self.one_sided.pop((message.version, header.spi_i, frozenset((src, dst))), None)
        return seen

    def locate(self, version: int, spi_i: bytes, spi_r: bytes, src: str, dst: str, frame: int,
               time: float) -> IkeSa:
        """The IKE SA a message of these SPIs between these addresses belongs to (made when new, followed
        when it moved), with the message counted in it and in the clock: what `observe` does before it
        reads the message itself. `src` and `dst` interned."""
        pair = frozenset((src, dst))
        key = (version, spi_i, pair)
        ike_sa = self.ike_sas.get(key)
        if self.first_time is None:
            self.first_time = time
        self.last_time = max(self.last_time, time)
        if ike_sa is None:
            ike_sa = self._moved(version, spi_i, spi_r, pair, frame, time)
        if ike_sa is None:
            same_spi = self.by_spi.setdefault((version, spi_i), [])
            name = f"v{version}-{spi_i.hex()}" + (f"-{len(same_spi) + 1}" if same_spi else "")
            ike_sa = IkeSa(name, version, spi_i, spi_r, pair, first_frame=frame, first_time=time)
            self.ike_sas[key] = ike_sa
            same_spi.append(key)
            self.one_sided[key] = None
            if len(self.one_sided) > self.budget:
                self._fold_oldest()
        if spi_r != ZERO_SPI:
            ike_sa.spi_r = spi_r
        ike_sa.messages += 1
        ike_sa.last_frame = frame
        ike_sa.last_time = time
        self.observed += 1
        if self.observed % SWEEP_EVERY == 0:
            self._forget_idle(time)
        return ike_sa

    def elsewhere(self, ike_sa: IkeSa, version: int, flags: int, exchange_type: int, message_id: int, spi_r: bytes,
                  src: str, sport: int, dst: str, phase1_choice: Callable[[], bool]) -> None:
        """A message `locate` found in an SA that another worker of `-j` analyses: only which side spoke is
        kept here (whether the SA is still one-sided decides the crowd's folding, which every worker does
        alike). `phase1_choice()`: whether the message carries an SA payload (asked only of the first message
        of an IKEv1 SA that may be the responder's choice)."""
        addresses = ike_sa.addresses
        if addresses[True] and addresses[False]:
            return  # both sides spoke: nothing kept here changes any more
        if version == 2:
            side = bool(flags & 0x08)
        else:
            if ike_sa.initiator_address is None:  # as _ikev1_roles decides it
                answer = message_id == 0 and spi_r != ZERO_SPI and not flags & 0x01 \
                    and exchange_type in IKEV1_PHASE1 and phase1_choice()
                ike_sa.initiator_address = dst if answer else src
            side = src == ike_sa.initiator_address
        own = endpoint(src, sport)
        if own not in addresses[side]:
            addresses[side] += (own,)
        if addresses[True] and addresses[False] and self.one_sided:
            self.one_sided.pop((version, ike_sa.spi_i, frozenset((src, dst))), None)

    def forget(self, key: SaKey) -> IkeSa:
        """Stop tracking an IKE SA (it was diagnosed for good)."""
        ike_sa = self.ike_sas.pop(key)
        self.one_sided.pop(key, None)
        same_spi = self.by_spi.get((key[0], key[1]))
        if same_spi is not None:
            if key in same_spi:
                same_spi.remove(key)
            if not same_spi:
                del self.by_spi[(key[0], key[1])]
        return ike_sa

    def forget_all(self) -> None:
        self.ike_sas.clear()
        self.by_spi.clear()
        self.one_sided.clear()

    def fold(self, key: SaKey) -> None:
        """Fold a one-sided SA into the crowd's counts and stop tracking it."""
        ike_sa = self.forget(key)
        self.folds += 1
        if self.fold_into is None:
            self.crowd.add(fold_record(ike_sa))
        else:
            self.fold_into(ike_sa)
        if self.on_fold is not None:
            self.on_fold(ike_sa)

    def _fold_oldest(self) -> None:
        self.fold(next(iter(self.one_sided)))

    def _moved(self, version: int, spi_i: bytes, spi_r: bytes, pair: frozenset[str], frame: int,
               time: float) -> IkeSa | None:
        """The known SA that both SPIs name, now seen between other addresses (MOBIKE, NAT rebinding)."""
        if spi_r == ZERO_SPI:
            return None
        same_spi = self.by_spi.get((version, spi_i), [])
        for index, old in enumerate(same_spi):
            ike_sa = self.ike_sas[old]
            if ike_sa.spi_r == spi_r:
                new = (version, spi_i, pair)
                self.ike_sas[new] = self.ike_sas.pop(old)
                same_spi[index] = new
                if old in self.one_sided:
                    del self.one_sided[old]
                    self.one_sided[new] = None
                ike_sa.address_changes = (*ike_sa.address_changes, (frame, time, pair))[-COPIES_KEPT:]
                return ike_sa
        return None

    def esp(self, sighting: EspSighting) -> None:
        """An ESP/AH sighting of the capture layer."""
        spi = sighting.spi
        key = (spi, sighting.src, sighting.dst, sighting.transport)
        flow = self.esp_flows.get(key)
        if flow is None:
            flow = self.esp_flows[key] = EspFlow(*key, first_frame=sighting.first_frame,
                                                  first_time=sighting.first_time)
        flow.packets += sighting.packets
        flow.last_frame = max(flow.last_frame, sighting.last_frame)
        flow.last_time = max(flow.last_time, sighting.last_time)
        self._clock(flow.last_time)

    def icmp(self, frame: int, time: float, reporter: str, description: str, quoted_src: str,
             quoted_sport: int, quoted_dst: str, quoted_dport: int) -> IkeSa | None:
        """An ICMP error quoting an IKE datagram: attached to the latest SA between the quoted
        addresses that sent from the quoted endpoint."""
        self._clock(time)
        wanted = frozenset((quoted_src, quoted_dst))
        chosen: IkeSa | None = None
        for ike_sa in self.ike_sas.values():
            if ike_sa.peers == wanted and (chosen is None or ike_sa.last_time >= chosen.last_time):
                chosen = ike_sa
        if chosen is not None:
            chosen.icmp = (*chosen.icmp, IcmpSeen(frame, time, reporter, description,
                                                  f"{endpoint(quoted_src, quoted_sport)} > "
                                                  f"{endpoint(quoted_dst, quoted_dport)}"))[-COPIES_KEPT:]
        return chosen

    # --- internals -------------------------------------------------------------------------
    def _clock(self, time: float) -> None:
        if self.first_time is None:
            self.first_time = time
        self.last_time = max(self.last_time, time)

    def _record(self, ike_sa: IkeSa, message: Message, seen: Observation, frame: int, time: float,
                src: str, sport: int, dst: str, dport: int, transport: str,
                notifies: Sequence[NotifyRef], frames: Sequence[int],
                decrypted: Sequence[Payload] | None = None) -> None:
        header = message.header
        fragment: tuple[int, int] | None = None
        sk_length = 0
        if message.version == 2:
            for payload in message.payloads:
                if payload.type in (V2Payload.SK, V2Payload.SKF):
                    sk_length = payload.length
                    if isinstance(payload, EncryptedFragment):
                        fragment = (payload.fragment_number, payload.total_fragments)
        encrypted = message.encrypted
        sent = Sent(frame=frame, time=time, src=src, sport=_shared(sport), dst=dst, dport=_shared(dport),
                    transport=transport, exchange=message.exchange_name, exchange_type=header.exchange_type,
                    message_id=header.message_id, response=seen.response, initiator=seen.initiator,
                    length=header.length, encrypted=encrypted, notifies=tuple(notifies) if notifies else (),
                    payloads=_names(message.payloads), retransmission=seen.retransmission,
                    frames=tuple(frames) if len(frames) > 1 else (), fragment=fragment, sk_length=sk_length,
                    commit=message.version == 1 and bool(header.flags & 0x02),
                    inner=tuple(p.name for p in decrypted) if decrypted is not None else None,
                    opened=opened_of(decrypted, header.message_id == 0)
                    if decrypted is not None and not seen.retransmission else None)
        if decrypted is not None and sent.inner is not None and "SA" in sent.inner and not sent.retransmission:
            ike_sa.inner_offers = (*ike_sa.inner_offers, (sent, offers_of(decrypted)))[-INNER_OFFERS_KEPT:]
        if message.errors:
            ike_sa.errors += 1
        side = seen.initiator
        own = endpoint(src, sport)
        if ike_sa.messages == 1:
            opening = (header.exchange_type == V2Exchange.IKE_SA_INIT if message.version == 2 else
                       header.exchange_type in IKEV1_PHASE1) and header.spi_r == ZERO_SPI and not seen.response
            ike_sa.started_by_first_message = opening
        if side and not ike_sa.initiator:
            ike_sa.initiator = own
        if not side and not ike_sa.responder:
            ike_sa.responder = own
        if not ike_sa.initiator and seen.response:
            ike_sa.initiator = endpoint(dst, dport)
        if not ike_sa.responder and not seen.response and side:
            ike_sa.responder = endpoint(dst, dport)
        if own not in ike_sa.addresses[side]:
            ike_sa.addresses[side] += (own,)
        if sport not in ike_sa.ports:
            ike_sa.ports += (sport,)
        if transport not in ike_sa.transports:
            ike_sa.transports += (transport,)
        if message.version == 1 and header.exchange_type in IKEV1_PHASE1 and ike_sa.phase1 is None:
            ike_sa.phase1 = IKEV1_PHASE1[header.exchange_type]

        self._exchange(ike_sa, message, sent)
        if not encrypted:
            self._clear(ike_sa, message, sent)

    def _exchange(self, ike_sa: IkeSa, message: Message, sent: Sent) -> None:
        header = message.header
        by_initiator = sent.initiator != sent.response  # a response comes from the other side
        exchange_type = header.exchange_type
        rule = exchange_rule(message.version, exchange_type)
        if rule.keyed == PHASE1:
            key = (0, True, -1)
            by_initiator = True
        else:
            key = (header.message_id, by_initiator, exchange_type if message.version == 1 else -1)
        answer = not sent.initiator if rule.keyed == PHASE1 else sent.response
        records = ike_sa.records
        exchange = records.get(key)
        folded = ike_sa.folded
        if exchange is None and folded is not None and header.message_id <= folded.highest:
            at = folded.find(key, message.version, ike_sa.routines)
            if at is not None:
                if folded.fill(at, sent, answer, ike_sa.routines):
                    return
                exchange = self._unfold(ike_sa, key, at)
        if exchange is not None:
            exchange.add(sent, answer)
            if self.fold_routine and ike_sa.exchanges_seen > self.fold_after and key != next(reversed(records)):
                # (an answer after a newer exchange began)
                self._fold(ike_sa, key)
            return
        expects = rule.answered != NEVER and (
            rule.answered != R_U_THERE_ONLY or sent.notify(NotifyType.R_U_THERE) is not None)
        order = ike_sa.exchanges_seen
        ike_sa.exchanges_seen += 1
        newest = next(reversed(records), None) if order >= self.fold_after and self.fold_routine else None
        shape = None
        if ike_sa.routines and exchange_type in ROUTINE_EXCHANGES:  # (only an SA that folds has routines)
            for index, routine in enumerate(ike_sa.routines):  # (the shape the exchange has so far, if known)
                if routine.by_initiator == by_initiator and routine.exchange_type == exchange_type \
                        and routine.expects_response == expects and routine.takes(sent, answer):
                    shape = index
                    break
        if shape is not None:  # a routine exchange of a known shape begins: a row, no record
            if folded is None:
                folded = ike_sa.folded = Folded()
            folded.add(order, header.message_id, shape, None if answer else sent, sent if answer else None)
        else:
            exchange = Exchange(sent.exchange, exchange_type, header.message_id, by_initiator, expects, order=order)
            records[key] = exchange
        if len(records) + (len(folded.message_ids) if folded is not None else 0) > EXCHANGES_KEPT:
            _drop_fifth(ike_sa)  # keep the first four (how the SA was set up), drop the oldest of the rest
            ike_sa.exchanges_dropped += 1
        if exchange is not None:
            exchange.add(sent, answer)
        if newest is not None:  # a new exchange began: the one before it is done with, as a rule
            before = records.get(newest)
            if before is not None and before.exchange_type in ROUTINE_EXCHANGES:
                self._fold(ike_sa, newest)

    @staticmethod
    def _fold(ike_sa: IkeSa, key: tuple[int, bool, int]) -> None:
        """Fold the exchange `key` into the SA's rows if it is routine and its shape known or new."""
        exchange = ike_sa.records.get(key)
        if exchange is None or not foldable(exchange):
            return
        routines = ike_sa.routines
        for index, routine in enumerate(routines):
            if routine.fits(exchange):
                break
        else:
            if len(routines) >= ROUTINES_KEPT:
                return
            index = len(routines)
            routines.append(Routine.of(exchange))
        if ike_sa.folded is None:
            ike_sa.folded = Folded()
        ike_sa.folded.add(exchange.order, exchange.message_id, index,
                          exchange.requests[0] if exchange.requests else None,
                          exchange.responses[0] if exchange.responses else None)
        del ike_sa.records[key]

    @staticmethod
    def _unfold(ike_sa: IkeSa, key: tuple[int, bool, int], at: int) -> Exchange:
        """Row `at` (the exchange `key`) made whole again and put back among the records: a message came
        that it cannot hold (a copy, another shape)."""
        folded = ike_sa.folded
        assert folded is not None
        exchange = folded.exchange(at, ike_sa.routines)
        folded.remove(at)
        records = ike_sa.records
        records[key] = exchange
        ike_sa.records = dict(sorted(records.items(), key=lambda item: item[1].order))
        return exchange

    def _clear(self, ike_sa: IkeSa, message: Message, sent: Sent) -> None:
        """Keep what the diagnosis reads in clear: offers, choices, clear notifies, identities,
        vendors and NAT detection hashes (extracted now, so no dissected message is kept)."""
        if sent.retransmission:
            return
        responder_side = not sent.initiator
        for payload in message.payloads:
            if isinstance(payload, (SecurityAssociation, SecurityAssociationPayload)):
                if not responder_side and not sent.response and not ike_sa.offers:
                    ike_sa.offers, ike_sa.offer_frame = self._offers_of(message), sent.frame
                elif responder_side and not ike_sa.choice_frame:
                    ike_sa.choice_frame, ike_sa.choice = sent.frame, self._offers_of(message)
                    if isinstance(payload, SecurityAssociation):
                        if len(payload.proposals) == 1:
                            ike_sa.chosen = _chosen(tuple((t.transform_type, (t.transform_id, t.key_length))
                                                          for t in payload.proposals[0].transforms))
                    else:
                        ike_sa.choice_hash = natd.negotiated_hash(message)
            elif isinstance(payload, KeyExchange) and responder_side and ike_sa.ke_length is None:
                ike_sa.ke_length = payload.length
            elif isinstance(payload, (VendorID, VendorIdPayload)) and payload.vendor \
                    and len(ike_sa.vendors) < VENDORS_KEPT:
                label = sys.intern(f"{'initiator' if sent.initiator else 'responder'}: {payload.vendor.strip()}")
                if label not in ike_sa.vendors:
                    ike_sa.vendors.append(label)
            elif isinstance(payload, IdentificationPayload) and sent.initiator and ike_sa.identity is None:
                ike_sa.identity = payload.value or None
        worth = "SA" in sent.payloads or "ID" in sent.payloads or any(
            ref.is_error or ref.code == NotifyType.COOKIE for ref in sent.notifies)
        if worth and len(ike_sa.clear) < CLEAR_MESSAGES_KEPT:
            ike_sa.clear.append(sent)
        if len(ike_sa.natd) < 4:
            hashes = natd.natd_hashes(message)
            if hashes is not None:
                ike_sa.natd.append((sent, hashes, message.header.spi_i, message.header.spi_r))

    def _offers_of(self, message: Message) -> list[Offer]:
        """`offers_of(message)` (a new list each time), read once per distinct SA payload."""
        first = next((payload for payload in message.payloads
                      if isinstance(payload, (SecurityAssociation, SecurityAssociationPayload))), None)
        if first is None:
            return []
        known = self._offers.get(id(first))
        if known is None or known[0] is not first:
            if len(self._offers) >= OFFERS_SHARED:
                self._offers.clear()
            known = self._offers[id(first)] = (first, tuple(offers_of(message)))
        return list(known[1])

    def _forget_idle(self, now: float) -> None:
        """Drop the message memory of SAs silent for longer than any retransmission series, so
        that memory follows the SAs still talking, not the length of the capture."""
        for ike_sa in self.ike_sas.values():
            if ike_sa.digests and now - ike_sa.last_time > RETRANSMISSION_HORIZON:
                ike_sa.digests = digests()
                ike_sa.requesters = requesters()

    @staticmethod
    def _ikev1_roles(ike_sa: IkeSa, message: Message, src: str, dst: str,
                     notifies: Sequence[NotifyRef]) -> tuple[bool, bool]:
        header = message.header
        if ike_sa.initiator_address is None:
            # The first message of phase 1 has a zero responder cookie and comes from the initiator; a
            # phase-1 message in clear with the responder's cookie and an SA payload is the responder's
            # choice (main or aggressive mode message 2); otherwise the first sender seen is the best guess.
            answer = header.message_id == 0 and header.spi_r != ZERO_SPI and not message.encrypted \
                and header.exchange_type in IKEV1_PHASE1 and "SA" in message.payload_names
            ike_sa.initiator_address = dst if answer else src
        initiator = src == ike_sa.initiator_address
        if header.message_id == 0:
            return initiator, not initiator
        requesters = ike_sa.requesters
        requester = requesters.get(header.message_id)
        if requester is None:
            requester = src
            requesters.add(header.message_id, src)
        answers = any(n.code == NotifyType.R_U_THERE_ACK for n in notifies)
        return initiator, src != requester or answers
