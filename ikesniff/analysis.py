"""The pipeline: capture source -> IKE datagrams -> dissected messages -> tracker -> events.

It ties the stages together and knows nothing of how events are printed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from dissectors import Message, Notify, PayloadMemo, parse_message
from dissectors.ikev1 import CiscoFragmentPayload, CiscoFragmentReassembler

from .capture import read_capture
from .capture.events import CaptureStats, FrameProblem, IkeDatagram
from .events import MessageEvent, NotifyRef
from .tracker import Tracker

CISCO_FRAGMENT = 132


@dataclass(slots=True)
class DecodedMessage:
    """A message event with the dissected message behind it (for the decoded tree)."""

    event: MessageEvent
    message: Message


@dataclass(slots=True)
class Analysis:
    """State kept across the files of one run."""

    ike_ports: frozenset[int] = frozenset({500, 4500})
    stats: CaptureStats = field(default_factory=CaptureStats)
    tracker: Tracker = field(default_factory=Tracker)
    fragments: CiscoFragmentReassembler = field(
        default_factory=lambda: CiscoFragmentReassembler(any_order=True))
    memo: PayloadMemo = field(default_factory=PayloadMemo)
    messages: int = 0
    decode_errors: int = 0

    def run(self, source: str) -> Iterator[DecodedMessage | FrameProblem]:
        """Events of one capture file, in capture order. Opening errors raise CaptureError."""
        label = source
        for item in read_capture(source, self.stats, self.ike_ports):
            if isinstance(item, IkeDatagram):
                message = parse_message(item.data, self.memo)
                yield self._event(message, item.data, item, label, list(item.frames))
                if message.version == 1 and message.header.next_payload == CISCO_FRAGMENT:
                    yield from self._cisco_fragments(message, item, label)
            elif isinstance(item, FrameProblem):
                self.decode_errors += 1
                yield item

    def _cisco_fragments(self, message: Message, datagram: IkeDatagram,
                         label: str) -> Iterator[DecodedMessage]:
        """The message that a Cisco fragment (payload 132, always alone in its message) completes."""
        for payload in message.payloads:
            if isinstance(payload, CiscoFragmentPayload):
                done = self.fragments.feed(message.header.spi_i, message.header.spi_r, payload,
                                           datagram.frame, sender=(datagram.src, datagram.sport))
                if done is not None:
                    inner = parse_message(done.data, self.memo)
                    yield self._event(inner, done.data, datagram, label, done.frames)

    def _event(self, message: Message, raw: bytes, datagram: IkeDatagram, label: str,
               frames: list[int]) -> DecodedMessage:
        header = message.header
        names: list[str] = []
        types: list[int] = []
        notifies: list[NotifyRef] = []
        for payload in message.payloads:
            names.append(payload.name)
            types.append(payload.type)
            if isinstance(payload, Notify):
                notifies.append(NotifyRef(payload.notify_name, payload.notify_type))
        seen = self.tracker.observe(message, raw, datagram.frame, datagram.time, datagram.src, datagram.dst,
                                    notifies)
        self.messages += 1
        if message.errors:
            self.decode_errors += 1
        event = MessageEvent(
            "message", datagram.frame, datagram.time, datagram.src, datagram.sport, datagram.dst,
            datagram.dport, datagram.transport, message.version, header.spi_i.hex(), header.spi_r.hex(),
            header.exchange_type, message.exchange_name, header.message_id, seen.response, seen.initiator,
            header.length, names, notifies, message.encrypted, False, seen.retransmission, seen.ike_sa.id,
            message.errors, types, frames, label)
        return DecodedMessage(event, message)
