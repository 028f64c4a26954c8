"""What a report says, as plain dataclasses: built once from the run's events (collect.py), then
rendered as Markdown, HTML or JSON. Knows nothing of captures, files or output formats.

Everything here comes from the events and the input identities the CLI hands over (already redacted
when the run was): a report adds layout, never facts of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..events import DiagnosisEvent, FindingEvent, MessageEvent, SummaryEvent, VerdictEvent


@dataclass(slots=True)
class InputIdentity:
    """One input of the run, as a ticket should name it."""

    name: str
    """The path as given on the command line, '-' for standard input, or the interface."""
    sha256: str | None
    """SHA-256 of the file's bytes as stored (a gzip file: of the compressed bytes); None for a stream."""
    size: int | None
    """Bytes hashed; None for a stream."""


@dataclass(slots=True)
class TimeSpan:
    """First and last IKE message seen in one input."""

    file: str
    first: float
    last: float
    messages: int


@dataclass(slots=True)
class EvidenceRow:
    """A line of the evidence table: the frame, and what the message there was when one was kept."""

    frame: int
    why: str
    time: float | None = None
    direction: str = ""
    """'192.0.2.1:500 -> 192.0.2.2:500 (initiator)', empty for a frame with no IKE message."""
    exchange: str = ""
    """'IKE_SA_INIT #0 request', with '(retransmission)' when it repeats one."""
    source: str = ""
    """A gateway log line (`--log`): 'file:line'; empty for a frame."""


@dataclass(slots=True)
class RemedyPart:
    """Sentences of the remedy about one side ('192.0.2.2 (responder)') or about both ('both sides')."""

    side: str
    sentences: list[str]


@dataclass(slots=True)
class OfferEntry:
    """Proposals one gateway put forward (or the one it chose), with every frame where it did the same."""

    frames: list[int]
    exchange: str
    what: str
    """'offered' or 'chose'."""
    side: str
    """'initiator' or 'responder' in that exchange."""
    proposals: list[str]


@dataclass(slots=True)
class OfferColumn:
    """What one gateway put on the table, over every attempt of the tunnel."""

    address: str
    role: str
    offers: list[OfferEntry]


@dataclass(slots=True)
class Gap:
    """Messages left out of a list at this place (report limits)."""

    count: int


@dataclass(slots=True)
class Lane:
    address: str
    role: str
    """'initiator', 'responder' or 'initiator and responder' over the tunnel's attempts."""


@dataclass(slots=True)
class Arrow:
    """One IKE message in the sequence diagram."""

    frame: int
    offset: float
    """Seconds since the tunnel's first message kept (negative in a merged capture that goes back)."""
    rightward: bool
    """From the left lane to the right one."""
    label: str
    """'IKE_SA_INIT #0 request'."""
    notes: list[str]
    """Error notifies, a few telling status notifies, Delete."""
    response: bool
    retransmission: bool
    failure: bool
    """Carries an error notify."""


@dataclass(slots=True)
class LogNote:
    """A gateway log line drawn on the sequence diagram at its time (`--log`)."""

    offset: float
    """Seconds since the tunnel's first message kept, on the capture's clock."""
    side: str
    """'left' or 'right': the lane of the gateway that wrote it; '' when unknown."""
    source: str
    """'file:line'."""
    text: str


@dataclass(slots=True)
class Diagram:
    """Two lanes (initiator of the first attempt on the left), the arrows in capture order, the verdict."""

    left: Lane
    right: Lane
    start: float
    rows: list[Arrow | Gap | LogNote]
    outcome: str
    verdict: str
    """'FAILED EncryptionAlgorithmMismatch (certain)'."""


@dataclass(slots=True)
class TunnelReport:
    verdict: VerdictEvent
    diagnoses: list[DiagnosisEvent]
    evidence: list[EvidenceRow]
    remedy: list[RemedyPart]
    """Empty for a healthy tunnel."""
    offers: list[OfferColumn]
    findings: list[FindingEvent]
    messages: list[MessageEvent]
    messages_left_out: int
    diagram: Diagram


@dataclass(slots=True)
class DecryptedRow:
    """The decrypted payloads of one message, as `-v` shows them (identities, traffic selectors,
    proposals, notify data, attributes)."""

    file: str
    frame: int
    title: str
    """'192.0.2.1:4500 > 192.0.2.2:4500 IKE_AUTH #1 request'."""
    lines: list[str]


@dataclass(slots=True)
class Report:
    version: str
    """ikesniff version."""
    inputs: list[InputIdentity]
    spans: list[TimeSpan]
    tunnels: list[TunnelReport]
    diagnoses: list[DiagnosisEvent]
    findings: list[FindingEvent]
    """Every finding; those of no tunnel are in `other_findings` too."""
    other_findings: list[FindingEvent]
    summary: SummaryEvent
    messages_left_out: int
    """IKE messages not kept for the report (limits per IKE SA and in total)."""
    limits: dict[str, int] = field(default_factory=dict)
    decrypted: list[DecryptedRow] = field(default_factory=list)
    """With keys: the decrypted payloads of the first messages that had some, in full (bounded)."""
