"""The evidence record of one gateway log line: what it says, about which IKE SA, when (sans-IO, data only).

What this module must not know: files, the formats' texts (data/log_sources.json), captures or output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Source = Literal["charon", "pluto", "asa", "ios", "fortigate", "panos", "srx", "huawei", "cloud"]
SOURCES: tuple[str, ...] = ("charon", "pluto", "asa", "ios", "fortigate", "panos", "srx", "huawei", "cloud")

KINDS: tuple[str, ...] = (
    "initiating", "established", "state", "spis", "sent", "received", "message", "proposal", "identity", "notify",
    "retransmit", "failed", "deleted", "keys", "started", "listening",
)
"""What a line reports. 'failed' covers every line that names a failure; 'keys': the line carries key material;
'started': the daemon starts (a restart, when it falls inside an outage); 'listening': a local address it
listens on (pluto's 'adding UDP interface')."""


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One log line that a format recognises, as evidence beside the packets."""

    file: str
    line: int
    """1-based line number in `file`."""
    time: float | None
    """Seconds since the epoch (UTC). A line without a year takes the reader's `year` (default: the current
    year, and the year before when that puts the line more than a day in the future), a year that rolls over
    when the months go back (Dec -> Jan) within a file; a line without a zone offset is read in the reader's
    `utc_offset` (default 0: UTC). None when the line has no time stamp."""
    host: str | None
    """The host name of a syslog header, when the line has one."""
    source: str
    """One of SOURCES: which daemon or product wrote the line."""
    kind: str
    """One of KINDS."""
    peer: str | None = None
    """The remote gateway's address, when the line (or an earlier line of the same IKE SA, for pluto of the
    same connection instance) names it."""
    local: str | None = None
    spi_i: bytes | None = None
    """IKE SPIs (IKEv1 cookies) when the line names them; an unknown responder SPI is eight zero octets."""
    spi_r: bytes | None = None
    ike_sa_ref: str | None = None
    """The daemon's own name for the IKE SA: charon 'name[N]' (or '[N]' before a config is chosen; N is the
    unique id), pluto '#N' (a state serial number: an IKE SA or a Child SA)."""
    code: str | None = None
    """The cause code (SPEC §5) the line points to, or None."""
    confidence: str | None = None
    """What the line alone shows for `code`: 'certain', 'likely' or 'possible'."""
    alternatives: tuple[str, ...] = ()
    decisive: bool = False
    """The line by itself names why a negotiation failed (a refusal, a mismatch the gateway found, an error
    notify it received); False for progress lines and for symptoms such as timeouts, retransmissions and
    Deletes. How exactly it names the cause is `confidence`: a received AUTHENTICATION_FAILED decides that
    authentication failed, but leaves PskMismatch 'possible' beside its alternatives; charon's received and
    configured proposals name the transform that differs, 'certain'."""
    keyword: str | None = None
    """With a code: the text of the line that names it (a daemon message, a seed keyword, a vendor message)."""
    huawei: str | None = None
    """With a code: the Huawei fault-cause name, the line's own or the catalog's for the code."""
    reason: str | None = None
    """With a code: why the line means it, in a few words."""
    detail: dict[str, Any] = field(default_factory=dict)
    """What else the line names: proposals, identities, traffic selectors, notify, xauth user, message ids..."""
    text: str = ""
    """The whole line, as read."""
