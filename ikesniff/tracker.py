"""IKE SA bookkeeping: which IKE SA a message belongs to, who sent it, whether it answers a
request, and whether it repeats a message already seen.

Sans-IO and output-agnostic: messages and the addresses that carried them go in, an
`Observation` comes out. It knows nothing of files, sockets or JSON.

Theory of operation
-------------------
An IKE SA is named by its initiator SPI (IKEv2) or initiator cookie (IKEv1): the responder's
half is zero in the first message and a retry after INVALID_KE_PAYLOAD or a COOKIE challenge
keeps the initiator's half, so the initiator half alone follows an attempt from its first
packet on.

IKEv2 says in its flags who sent a message (I) and whether it is a response (R). IKEv1 says
neither, so they are inferred:
- the original initiator is the sender of the first message of the SA whose responder cookie
  is zero (or, when that message was not captured, the first sender seen);
- in phase 1 (message id 0) every message from the responder is a response;
- in the other exchanges the first sender of a message id is the requester, and messages
  from the other side with that id are its responses (an R-U-THERE-ACK answers too).
A retransmission is a message whose bytes were already sent by the same side of the same SA.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dissectors import Message

from .events import NotifyRef

R_U_THERE_ACK = 36137
ZERO_SPI = bytes(8)
DIGESTS_KEPT_PER_SA = 16
"""Distinct recent messages remembered per SA. A retransmission repeats one of the last few
messages of its side (RFC 7296 §2.1 keeps one request in flight per window slot; IKEv1 peers
resend their last message), so 16 catches every series while bounding memory per SA."""

RETRANSMISSION_HORIZON = 300.0
"""Seconds of silence after which an SA's recent messages are forgotten: longer than any
retransmission schedule (strongSwan gives up after about 165 s, libreswan after 60)."""
SWEEP_EVERY = 4096
"""Messages between two looks for idle SAs."""


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
    first_frame: int = 0
    last_frame: int = 0
    last_time: float = 0.0
    messages: int = 0
    requesters: dict[int, str] = field(default_factory=dict)
    """IKEv1: message id -> address of the side that sent its first message."""
    digests: dict[tuple[int, str], int] = field(default_factory=dict)
    """(hash of the message bytes, sender address) -> frame first seen; oldest dropped first."""


@dataclass(slots=True)
class Observation:
    ike_sa: IkeSa
    initiator: bool
    response: bool
    retransmission: bool
    retransmission_of: int | None
    """Frame of the message this one repeats."""


class Tracker:
    def __init__(self) -> None:
        self.ike_sas: dict[tuple[int, bytes], IkeSa] = {}
        self.observed = 0

    def peer_pairs(self) -> list[frozenset[str]]:
        return [ike_sa.peers for ike_sa in self.ike_sas.values()]

    def observe(self, message: Message, raw: bytes, frame: int, time: float, src: str, dst: str,
                notifies: Sequence[NotifyRef]) -> Observation:
        header = message.header
        key = (message.version, header.spi_i)
        ike_sa = self.ike_sas.get(key)
        if ike_sa is None:
            ike_sa = IkeSa(f"v{message.version}-{header.spi_i.hex()}", message.version, header.spi_i,
                           header.spi_r, frozenset((src, dst)), first_frame=frame)
            self.ike_sas[key] = ike_sa
        if header.spi_r != ZERO_SPI:
            ike_sa.spi_r = header.spi_r
        ike_sa.messages += 1
        ike_sa.last_frame = frame
        ike_sa.last_time = time
        self.observed += 1
        if self.observed % SWEEP_EVERY == 0:
            self._forget_idle(time)

        if message.version == 2:
            initiator = message.is_initiator
            response = message.is_response
        else:
            initiator, response = self._ikev1_roles(ike_sa, message, src, notifies)

        digest = (hash(raw), src)
        earlier = ike_sa.digests.get(digest)
        if earlier is None:
            ike_sa.digests[digest] = frame
            if len(ike_sa.digests) > DIGESTS_KEPT_PER_SA:
                del ike_sa.digests[next(iter(ike_sa.digests))]
        return Observation(ike_sa, initiator, response, earlier is not None, earlier)

    def _forget_idle(self, now: float) -> None:
        """Drop the message memory of SAs silent for longer than any retransmission series, so
        that memory follows the SAs still talking, not the length of the capture."""
        for ike_sa in self.ike_sas.values():
            if ike_sa.digests and now - ike_sa.last_time > RETRANSMISSION_HORIZON:
                ike_sa.digests = {}
                ike_sa.requesters = {}

    @staticmethod
    def _ikev1_roles(ike_sa: IkeSa, message: Message, src: str,
                     notifies: Sequence[NotifyRef]) -> tuple[bool, bool]:
        header = message.header
        if ike_sa.initiator_address is None:
            # The first message of an exchange has a zero responder cookie and comes from the
            # initiator; without it, the first sender seen is the best guess.
            ike_sa.initiator_address = src
        initiator = src == ike_sa.initiator_address
        if header.message_id == 0:
            return initiator, not initiator
        requester = ike_sa.requesters.setdefault(header.message_id, src)
        if len(ike_sa.requesters) > DIGESTS_KEPT_PER_SA:
            del ike_sa.requesters[next(iter(ike_sa.requesters))]
        answers = any(n.code == R_U_THERE_ACK for n in notifies)
        return initiator, src != requester or answers
