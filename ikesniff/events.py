"""The events of the JSON Lines contract (SPEC §4) as dataclasses.

Each field *is* a key of the JSON object, in this order; the writer serialises them generically. Every
event derives from `Event`, whose `event` field names its kind and is set by the class (constructors take
keywords only and never pass it). `Where` is the one address record (frame, time, endpoints, transport)
shared by the capture layer's datagrams, the tracker's messages and the message events.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True, kw_only=True)
class Event:
    """The common base of every event: `event` is its kind, the first key of its JSON object."""

    event: str = field(default="", init=False)


@dataclass(slots=True, kw_only=True)
class Where(Event):
    """Where and when a packet (or the message it carried) was seen."""

    frame: int
    """1-based frame number in the capture file, as Wireshark numbers it."""
    time: float
    """Capture timestamp, epoch seconds."""
    src: str
    sport: int
    dst: str
    dport: int
    transport: str
    """'udp', 'udp-encap' (port 4500 with the non-ESP marker) or 'tcp-encap' (RFC 8229)."""


@dataclass(slots=True)
class NotifyRef:
    type: str
    """IANA name in upper snake case, `UNKNOWN_<n>` when unassigned."""
    code: int

    @property
    def is_error(self) -> bool:
        """An error notify (types below 16384, RFC 7296 §3.10.1 / RFC 2408 §3.14.1)."""
        return self.code < 16384


@dataclass(slots=True, kw_only=True)
class MessageEvent(Where):
    """One IKE message seen, in capture order."""

    event: str = field(default="message", init=False)
    version: int
    spi_i: str
    """Initiator SPI / cookie, 16 lowercase hex digits."""
    spi_r: str
    exchange_type: int
    exchange: str
    message_id: int
    response: bool
    initiator: bool
    """Sent by the original initiator of the IKE SA."""
    length: int
    """Length stated in the ISAKMP header."""
    payloads: list[str]
    notifies: list[NotifyRef]
    encrypted: bool
    decrypted: bool
    retransmission: bool
    ike_sa: str
    """Stable id of the IKE SA this message belongs to."""
    errors: list[str]
    payload_types: list[int] = field(default_factory=list)
    """Payload type numbers in order (same order as `payloads`)."""
    frames: list[int] = field(default_factory=list)
    """All frames that carried the message when it spanned several (IP fragments, TCP segments,
    IKEv1 Cisco fragments); empty when `frame` alone did."""
    file: str = ""
    """The capture file the frame numbers refer to."""


@dataclass(slots=True)
class EspFlowSummary:
    """Data-plane packets of one SPI in one direction: tells a live CHILD_SA from a dead one."""

    spi: str
    """The SPI as 8 lowercase hex digits."""
    protocol: str
    """'esp', 'udp-encap' (ESP in UDP), 'tcp-encap' (ESP in RFC 8229 TCP) or 'ah'."""
    src: str
    sport: int
    dst: str
    dport: int
    packets: int
    first_frame: int
    last_frame: int
    first_time: float
    last_time: float


@dataclass(slots=True, kw_only=True)
class SummaryEvent(Event):
    """The last line: what was read and how long it took."""

    event: str = field(default="summary", init=False)
    files: list[str]
    frames: int
    ike_messages: int
    ike_sas: int
    tunnels: int
    outcomes: dict[str, int]
    decode_errors: int
    """IKE messages with at least one `errors` entry, plus frames that could not be read."""
    esp_packets: int
    esp_in_udp_packets: int
    nat_keepalives: int
    esp_flows: int
    ip_fragments: int
    reassembly_timeouts: int
    seconds: float
    esp: list[EspFlowSummary] = field(default_factory=list)
    """Every ESP / ESP-in-UDP / AH flow seen (per SPI and direction), exact counts."""
    not_ike: int = 0
    """Datagrams on an IKE port that were not plausible IKE messages (counted in `decode_errors` too)."""
    truncated: list[str] = field(default_factory=list)
    """Captures whose last record was cut short (the capture ended while a packet was being written)."""
    kernel_received: int | None = None
    """Live capture: packets libpcap's kernel filters passed (None when reading files)."""
    kernel_dropped: int | None = None
    """Live capture: packets the kernel dropped because ikesniff did not read them in time."""
    interface_dropped: int | None = None


@dataclass(slots=True)
class Evidence:
    """A frame that supports a conclusion, and why."""

    frame: int
    why: str


@dataclass(slots=True)
class LogEvidence(Evidence):
    """A gateway log line that supports a conclusion (`--log`): `frame` is 0, `file` and `line` say where.
    A subclass, so that the JSON of frame evidence stays as it was."""

    file: str
    line: int
    time: float | None = None
    """When the line was written, on the capture's clock (the log's clock offset removed); None if unknown."""
    gateway: str | None = None
    """The address of the gateway that wrote the line, when known."""


@dataclass(slots=True)
class OfferSide:
    """What one side put on the table, as seen: the proposals it offered, or the one it chose."""

    side: str
    """'initiator' or 'responder'."""
    address: str
    frame: int
    exchange: str
    what: str
    """'offered' or 'chose'."""
    proposals: list[str]
    """One text per proposal: 'AES-CBC-256/HMAC-SHA2-256-128/PRF-HMAC-SHA2-256/MODP-2048'."""


@dataclass(slots=True, kw_only=True)
class DiagnosisEvent(Event):
    """The fate of one IKE SA (one attempt), when it is known or the input ends."""

    event: str = field(default="diagnosis", init=False)
    ike_sa: str
    version: int
    initiator: str
    """'ip:port' of the original initiator."""
    responder: str
    outcome: str
    """'established', 'failed', 'incomplete' or 'torn_down'."""
    code: str
    """Cause code (SPEC §5), `Established` for a healthy SA."""
    huawei: str | None
    """Huawei fault-cause name of the code, or None."""
    phase: int | None
    confidence: str
    """'certain' (the decisive notify or payload was read), 'likely' (a strong wire pattern) or 'possible'."""
    alternatives: list[str]
    """Other codes the evidence does not rule out (at most three)."""
    evidence: list[Evidence]
    message: str
    """What went wrong (or right), specific to what was seen."""
    remedy: str
    """What to change, on which side."""
    exchanges: list[str] = field(default_factory=list)
    """One line per exchange: name, message id, who asked, answered or not, retransmissions."""
    file: str = ""
    """The capture file the frame numbers refer to."""
    offers: list[OfferSide] = field(default_factory=list)
    """The proposals each side offered or chose in clear (and in decrypted SA payloads)."""
    orderly: bool = False
    """Torn down in order (a Delete after the tunnel worked): not a failure, nothing to fix."""
    started: float = 0.0
    """Capture time of the IKE SA's first message (epoch seconds)."""
    ended: float = 0.0
    """Capture time of its last message."""


@dataclass(slots=True, kw_only=True)
class VerdictEvent(Event):
    """The conclusion for one tunnel (unordered pair of gateway addresses)."""

    event: str = field(default="verdict", init=False)
    peers: list[str]
    code: str
    outcome: str
    confidence: str
    ike_sas: list[str]
    evidence: list[Evidence]
    message: str
    remedy: str
    huawei: str | None = None
    phase: int | None = None
    alternatives: list[str] = field(default_factory=list)
    file: str = ""
    offers: list[OfferSide] = field(default_factory=list)
    orderly: bool = False
    """Torn down in order (a Delete after the tunnel worked): not a failure, nothing to fix."""
    final: bool = True
    """False for a verdict told while the capture goes on (live or streamed input); the final verdict of
    every tunnel comes at the end."""


@dataclass(slots=True, kw_only=True)
class FindingEvent(Event):
    """Something worth knowing that is not a failure (weak crypto, NAT, a recovered retry...)."""

    event: str = field(default="finding", init=False)
    kind: str
    ike_sa: str
    frames: list[int]
    detail: str
    file: str = ""
