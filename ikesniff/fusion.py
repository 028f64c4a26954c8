"""One timeline: gateway logs (`--log`) and configurations (`--config`) beside the capture, in one verdict.

The analysis concludes a capture on the wire alone; `Fusion.apply` then reads the gateways' own words
and files and refines each diagnosis and verdict of that capture in place (sans-IO: the command line
reads the files, this module gets their lines and parsed configurations, and opens nothing).

Theory of operation.

1. Sightings. While the capture is read, `see` keeps per IKE SA its SPIs, addresses, message times
   and the offers of its SA payloads (bounded per SA).
2. Ties. Each log's records (`ikesniff.logs.read_log`, read with the capture's year) are grouped by
   the daemon's name for the IKE SA (charon's unique id, pluto's state serial); charon's lines without
   a name take the SPIs of the `checkout ... with SPIs` line of the same worker thread. A group whose
   SPIs are an IKE SA's of the capture belongs to that SA; a group naming other SPIs belongs to another
   IKE SA and is left out; a group without SPIs belongs to the SA whose peer address it names and
   whose messages its time falls among, after the log's clock offset (a group that names no peer, as
   pluto's lines of a connection with a fixed peer, only in a log of one connection and when one SA
   fits). The offset is estimated per log from the SPI-tied lines written when a message was sent or
   received: the offset that puts most of them next to a message of their SA, refined as the median of
   their differences. A log of another tunnel or scenario ties nothing and changes nothing.
3. Logs. The tied lines of a tunnel are concluded as `ikesniff explain` concludes (logs.causes.verdict)
   and fused with the wire: the same code gains the lines as evidence (and `certain` when a decisive
   line of at least `likely` names it); a code the wire could not separate (one of its alternatives, a
   refinement of a generic code such as ProposalMismatch, or the cause behind a timeout) replaces the
   wire's when its line is at least `likely` and as sure as the wire; `certain` when the wire left the
   code open, or the line alone is `certain`. Lines that only say `possible` (an initiator's "received
   AUTHENTICATION_FAILED") never raise nor replace the wire's verdict. A log that contradicts the wire
   is said so in the message: a failure on an SA the wire shows working, another cause than one the
   wire decided, an SA established against a failure on the wire; the wire's verdict stays, except an
   `established` the wire only inferred (not `certain`) against a line that alone decides a failure
   (an XAUTH or EAP refusal after the IKE SA): the tunnel failed, and the message says both.
4. Restarts. A daemon's start line (charon 'Starting IKE charon daemon', pluto 'Starting Pluto') in the log
   of one of a tunnel's peers, placed on the capture's clock after that peer's last message on an IKE SA of
   the tunnel and before the next IKE SA began (the outage), is that peer's own word that it restarted: a
   PeerRestart from the wire becomes `certain`; another verdict (the daemon came back but no new SA
   followed while the survivor still used the old one) gains the line and a sentence, and keeps its code.
   Which peer wrote a log: the local address its lines name (charon's 'established between', pluto's
   'adding UDP interface'), else the other end of the remote one.
5. Configurations. The offers on the wire are compared with the receiver's file (config.compare_with_
   offers), then the two sides' files with each other (config.compare_configs); the first blocking
   difference refines an undecided verdict to its exact code, `likely` at most (a file may not be what
   is loaded), and names the side to change in the remedy.

What this module must not know: files, output formats, the rules of the wire diagnosis.
"""

from __future__ import annotations

import ipaddress
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from . import catalog
from .analysis import Conclusions, DecodedMessage
from .config import Difference, GatewayConfig, compare_configs, compare_with_offers
from .crypto.keys import KeyFileError, KeyStore, parse_keys
from .events import DiagnosisEvent, Evidence, LogEvidence, VerdictEvent
from .logs import LogRecord, key_text, read_log
from .logs.causes import ESTABLISHED, NO_EXCEPTION, Explanation, verdict
from .offers import Offer, offers_of

CONFIDENCES = ("possible", "likely", "certain")
SYMPTOMS = frozenset({"NoResponse", "Phase1NegotiationTimeout", "Phase2NegotiationTimeout", "NegotiationFailed",
                      "NoExceptionFound", "ReceiveDeleteNotify"})
"""Codes that say how a negotiation ended, not why: a log line that names the cause refines them."""
GENERIC = {
    "ProposalMismatch": frozenset({"EncryptionAlgorithmMismatch", "AuthenticationAlgorithmMismatch", "DhGroupMismatch",
                                   "PfsMismatch", "AlgorithmMismatch", "IkeVersionMismatch", "PeerMismatch",
                                   "SecurityProtocolMismatch", "EncapsulationModeMismatch", "NegotiationModeMismatch",
                                   "TrafficSelectorMismatch", "LifetimeMismatch"}),
    "AlgorithmMismatch": frozenset({"EncryptionAlgorithmMismatch", "AuthenticationAlgorithmMismatch",
                                    "DhGroupMismatch", "PfsMismatch"}),
}
"""A generic code and the exact codes that refine it."""
NOT_FAILURES = frozenset({ESTABLISHED, NO_EXCEPTION})
TIMES_PER_SA = 64
SAS_KEPT = 20_000
"""IKE SAs remembered per capture (a live capture that runs for days forgets the oldest first)."""
OFFERS_PER_SA = 8
TIE_SLACK = 2.0
"""Seconds a line without SPIs may lie outside its SA's messages (after the clock offset)."""
LOG_EVIDENCE = 4
"""Log lines cited per verdict, at most."""
_THREAD = re.compile(r"\s(\d{2})\[[A-Z]{2,4}\]\s")
_CHARON_REF = re.compile(r"\[(\d+)\]$")
ZERO_SPI = bytes(8)
MESSAGE_KINDS = frozenset({"sent", "received", "message"})
"""Kinds of lines written when a message is sent or received: the pairs the clock offset is read from."""
OFFSET_TOLERANCE = 0.05
"""Seconds between a line and its message for the line to fit a proposed clock offset."""
OFFSET_LINES = 200
OFFSET_PROPOSERS = 16
"""Lines scored, and lines whose differences to their SA's messages are the proposed offsets (bounds)."""


@dataclass(slots=True)
class LogText:
    """One gateway log, as read by the caller."""

    name: str
    lines: list[str]
    utc_offset: float = 0.0
    """Seconds east of UTC of the log's time stamps that carry no zone."""


@dataclass(slots=True)
class _Sa:
    id: str
    spi_i: bytes
    addresses: set[str] = field(default_factory=set)
    times: list[float] = field(default_factory=list)
    """Times of its first messages and of its latest ones (TIMES_PER_SA at most)."""
    seen: int = 0
    first: float = 0.0
    last: float = 0.0
    offers: list[tuple[str, str, str, list[Offer]]] = field(default_factory=list)
    """(sender, receiver, exchange, offers) of the SA payloads seen."""
    last_from: dict[str, float] = field(default_factory=dict)
    """Sender address -> time of its latest message on the SA."""


@dataclass(slots=True)
class _Daemon:
    """What one log says about the daemon that wrote it: its start lines and the addresses its lines name."""

    starts: list[LogRecord] = field(default_factory=list)
    local: set[str] = field(default_factory=set)
    remote: set[str] = field(default_factory=set)

    def address(self, peers: set[str]) -> str | None:
        """Which of a tunnel's two peers wrote the log: the one its lines name as local, else the other end of
        the one they name as remote; None when that is not clear."""
        mine = self.local & peers
        if len(mine) == 1:
            return next(iter(mine))
        theirs = self.remote & peers
        if not mine and len(theirs) == 1 and len(peers) == 2:
            return next(iter(peers - theirs))
        return None


@dataclass(frozen=True, slots=True)
class _Restart:
    start: LogRecord
    writer: str
    survivor: str
    moment: float
    """The start line's time on the capture's clock."""
    silent: float
    """Seconds between the writer's last message on the old IKE SA and its start."""
    new: float | None
    """Seconds from the start to the first message of the next IKE SA of the tunnel (None: none followed)."""
    used_after: bool
    """The survivor sent on the old IKE SA after the start (it still held that SA)."""


@dataclass(slots=True)
class _Group:
    records: list[LogRecord] = field(default_factory=list)
    spis: set[bytes] = field(default_factory=set)


class Fusion:
    """The logs and configurations of a run; `see` every message of a capture, then `apply` to its
    conclusions, then `reset` before the next capture."""

    def __init__(self, logs: Sequence[LogText], configs: Sequence[GatewayConfig]) -> None:
        self.logs = list(logs)
        self.configs = [config for config in configs if config.connections]
        self.sas: dict[str, _Sa] = {}
        self.offsets: dict[str, float | None] = {}
        """Per log: its clock minus the capture's, as estimated by the last `tie` (None: no SPI matched)."""
        self.daemons: dict[str, _Daemon] = {}
        """Per log: its writer's start lines and addresses, as read by the last `tie`."""

    def reset(self) -> None:
        self.sas = {}

    def see(self, item: DecodedMessage) -> None:
        event = item.event
        sa = self.sas.get(event.ike_sa)
        if sa is None:
            if len(self.sas) >= SAS_KEPT:
                del self.sas[next(iter(self.sas))]
            sa = self.sas[event.ike_sa] = _Sa(event.ike_sa, _spi(event.spi_i), first=event.time)
        sa.addresses.update((event.src, event.dst))
        sa.last_from[event.src] = max(sa.last_from.get(event.src, event.time), event.time)
        sa.last = max(sa.last, event.time)
        sa.first = min(sa.first, event.time)
        if len(sa.times) < TIMES_PER_SA:
            sa.times.append(event.time)
        else:  # the first half stays, the second half keeps the latest messages
            half = TIMES_PER_SA // 2
            sa.times[half + sa.seen % half] = event.time
        sa.seen += 1
        if self.configs and len(sa.offers) < OFFERS_PER_SA:
            offers = offers_of(item.message) or (offers_of(item.inner) if item.inner else [])
            if offers:
                sa.offers.append((event.src, event.dst, event.exchange, offers))

    # --- the whole step ---------------------------------------------------------------------------------

    def apply(self, conclusions: Conclusions) -> None:
        """Refine the diagnoses and verdicts of one capture in place."""
        if not self.sas:
            return
        tied = self.tie() if self.logs else {}
        events: list[DiagnosisEvent | VerdictEvent] = [*conclusions.diagnoses, *conclusions.verdicts]
        for event in events:
            ids = [event.ike_sa] if isinstance(event, DiagnosisEvent) else list(event.ike_sas)
            records = sorted((record for sa_id in ids for record in tied.get(sa_id, [])),
                             key=lambda record: (record.file, record.line))
            if records:
                fuse_log(event, records, self.offsets)
            if tied:
                self._restart(event, ids, tied)
            if self.configs:
                peers = _peers(event)
                differences = self._differences(ids, peers)
                if differences:
                    fuse_config(event, differences)

    # --- ties -------------------------------------------------------------------------------------------

    def tie(self) -> dict[str, list[LogRecord]]:
        """The log records of each IKE SA of the capture (by the SA's id)."""
        year = datetime.fromtimestamp(min(sa.first for sa in self.sas.values()), UTC).year
        by_spi = {sa.spi_i: sa for sa in self.sas.values()}
        tied: dict[str, list[LogRecord]] = {}
        for log in self.logs:
            records = list(read_log(log.lines, log.name, year=year, utc_offset=log.utc_offset))
            groups = _groups(records)
            spi_tied: list[tuple[_Group, _Sa]] = []
            loose: list[_Group] = []
            for group in groups:
                sa = next((by_spi[spi] for spi in group.spis if spi in by_spi), None)
                if sa is not None:
                    spi_tied.append((group, sa))
                elif not group.spis:
                    loose.append(group)
            daemon = self.daemons[log.name] = _Daemon([record for record in records if record.kind == "started"])
            for record in records:
                if record.local:
                    daemon.local.add(record.local)
                if record.peer:
                    daemon.remote.add(record.peer)
            offset = self.offsets[log.name] = _offset(spi_tied)
            for group, sa in spi_tied:
                tied.setdefault(sa.id, []).extend(group.records)
            single = len(_connections(records)) <= 1
            for group in loose:
                found = self._by_peer_and_time(group, offset, single)
                if found is not None:
                    tied.setdefault(found.id, []).extend(group.records)
        return tied

    def _by_peer_and_time(self, group: _Group, offset: float | None, single: bool) -> _Sa | None:
        """The SA whose peer the group names and among whose messages its time falls; a group that names
        no peer (pluto's lines of a connection with a fixed peer) only in a log of a single connection,
        and only when one SA of the capture is in its time."""
        peer = next((record.peer for record in group.records if record.peer), None)
        times = [record.time for record in group.records if record.time is not None]
        if (peer is None and not single) or not times:
            return None
        moment = statistics.median(times) - (offset or 0.0)
        found: list[tuple[float, _Sa]] = []
        for sa in self.sas.values():
            if (peer is not None and peer not in sa.addresses) or not sa.first - TIE_SLACK <= moment <= sa.last + TIE_SLACK:
                continue
            found.append((min(abs(moment - when) for when in sa.times), sa))
        if not found or (peer is None and len(found) > 1):
            return None
        return min(found, key=lambda item: item[0])[1]

    # --- restarts -------------------------------------------------------------------------------------------

    def _restart(self, event: DiagnosisEvent | VerdictEvent, ids: Sequence[str],
                 tied: dict[str, list[LogRecord]]) -> None:
        """A peer's own start line inside the outage (see the module's docstring, step 4)."""
        if event.code != "PeerRestart" and not isinstance(event, VerdictEvent):
            return  # the other SAs' diagnoses stay as the wire and their lines left them
        found = self._restart_line(_peers(event), ids, tied)
        if found is None or (found.new is None if event.code == "PeerRestart" else not found.used_after):
            return
        start = found.start
        evidence = LogEvidence(0, f"{start.source} log: the daemon starts ('{start.text.strip()[-120:]}'), "
                               f"{found.silent:.1f} s after its last message on the old IKE SA", start.file,
                               start.line, round(found.moment, 6), found.writer)
        event.evidence = [*event.evidence, evidence]
        if event.code == "PeerRestart":
            said = "agrees" if event.confidence == "certain" else "decides"
            event.confidence = "certain"
            event.alternatives = []
            event.message += (f" The log of {found.writer} {said}: its daemon started ({_cite(start)}) "
                              f"{found.silent:.1f} s after its last message on the old IKE SA and "
                              f"{found.new:.1f} s before the next IKE SA began: {found.writer} restarted.")
            return
        event.message += (f" The log of {found.writer} shows its daemon starting again ({_cite(start)}) "
                          f"{found.silent:.1f} s after its last message on an IKE SA that {found.survivor} went on "
                          f"using: {found.writer} restarted and lost that SA.")

    def _restart_line(self, peers: set[str], ids: Sequence[str],
                      tied: dict[str, list[LogRecord]]) -> _Restart | None:
        """The first start line, in a log of one of the two peers tied to these IKE SAs, that falls after the
        writer's last message on an IKE SA of the tunnel and before the next IKE SA began, or while the other
        peer still used the old one."""
        files = {record.file for sa_id in ids for record in tied.get(sa_id, [])}
        writers = {name: daemon.address(peers) for name, daemon in self.daemons.items()
                   if name in files and daemon.starts and len(peers) == 2}
        if not any(writers.values()):
            return None
        tunnel = sorted((sa for sa in self.sas.values() if peers <= sa.addresses), key=lambda sa: sa.first)
        for name, writer in writers.items():
            if writer is None:
                continue
            daemon = self.daemons[name]
            survivor = next(iter(peers - {writer}))
            offset = self.offsets.get(name) or 0.0
            for start in daemon.starts:
                if start.time is None:
                    continue
                moment = start.time - offset
                if any(sa.first < moment < sa.last_from.get(writer, moment) for sa in tunnel):
                    continue  # the writer went on talking across this line: not a restart of the daemon it ran
                before = [sa for sa in tunnel if sa.last_from.get(writer, moment) < moment]
                after = [sa for sa in tunnel if sa.first > moment]
                if not before:
                    continue
                old = max(before, key=lambda sa: sa.last_from[writer])
                used_after = old.last_from.get(survivor, moment) > moment
                if after or used_after:
                    return _Restart(start, writer, survivor, moment, moment - old.last_from[writer],
                                    after[0].first - moment if after else None, used_after)
        return None

    # --- configurations ---------------------------------------------------------------------------------

    def _differences(self, ids: Sequence[str], peers: set[str]) -> list[Difference]:
        """Blocking differences for a tunnel: the offers on the wire against the receiver's file first,
        then the two sides' files; 'configuration' notes (the wire is not what a sender's file says) last."""
        relevant = [config for config in self.configs if _concerns(config, peers)]
        wire: list[Difference] = []
        notes: list[Difference] = []
        for sa_id in ids:
            sa = self.sas.get(sa_id)
            if sa is None:
                continue
            for sender, receiver, exchange, offers in sa.offers:
                for config in relevant:
                    for difference in compare_with_offers(config, offers, sender, peer=receiver, exchange=exchange):
                        if difference.kind == "configuration":
                            notes.append(difference)
                        elif difference.blocking:
                            wire.append(difference)
        files: list[Difference] = []
        for index, first in enumerate(relevant):
            for second in relevant[index + 1:]:
                files.extend(difference for difference in compare_configs(first, second) if difference.blocking)
        ranked = sorted(wire, key=_phase) + sorted(files, key=_phase)
        return _unique(ranked + notes)


def _spi(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        return ZERO_SPI


def _phase(difference: Difference) -> int:
    return difference.phase or 3


def _unique(differences: Iterable[Difference]) -> list[Difference]:
    seen: set[tuple[str, str]] = set()
    result = []
    for difference in differences:
        if (difference.code, difference.text) not in seen:
            seen.add((difference.code, difference.text))
            result.append(difference)
    return result


def _peers(event: DiagnosisEvent | VerdictEvent) -> set[str]:
    if isinstance(event, VerdictEvent):
        return set(event.peers)
    return {_host(event.initiator), _host(event.responder)}


def _host(endpoint: str) -> str:
    if endpoint.startswith("["):
        return endpoint[1:].split("]", 1)[0]
    return endpoint.rsplit(":", 1)[0] if endpoint.count(":") == 1 else endpoint


def _concerns(config: GatewayConfig, peers: set[str]) -> bool:
    """The file has a connection of this tunnel: its local address is one of the peers, or, with no local
    address set (%any), its remote one is (or is %any too: a responder for any peer)."""
    for connection in config.connections:
        local = [address for address in connection.local_addrs if _concrete(address)]
        remote = [address for address in connection.remote_addrs if _concrete(address)]
        if local:
            if any(_covers(address, peer) for address in local for peer in peers):
                return True
        elif not remote or any(_covers(address, peer) for address in remote for peer in peers):
            return True
    return False


def _concrete(address: str) -> bool:
    return address.strip() not in ("", "%any", "%any4", "%any6", "0.0.0.0", "::", "0.0.0.0/0", "::/0")


def _covers(address: str, peer: str) -> bool:
    try:
        return ipaddress.ip_address(peer) in ipaddress.ip_network(address.strip(), strict=False)
    except ValueError:
        return False


# --- grouping and clocks ------------------------------------------------------------------------------------

def _groups(records: Sequence[LogRecord]) -> list[_Group]:
    """The records of one log by IKE SA: the daemon's name for it; charon lines without a name that give
    SPIs lend them to the next named line of the same worker thread; a name seen with new SPIs (a daemon
    restarted, its unique ids counted again) starts a new group."""
    groups: list[_Group] = []
    open_groups: dict[str, _Group] = {}
    thread_spis: dict[str, bytes] = {}
    for record in records:
        spi = record.spi_i if record.spi_i and record.spi_i != ZERO_SPI else None
        thread = _thread(record)
        key = _key(record)
        if key is None:
            group = _Group([record], {spi} if spi else set())
            groups.append(group)
            if spi and thread is not None:
                thread_spis[thread] = spi
            continue
        known = open_groups.get(key)
        if known is not None and spi is not None and known.spis and spi not in known.spis and record.kind == "spis":
            known = None  # the same name for another IKE SA
        if known is None:
            known = open_groups[key] = _Group()
            groups.append(known)
        known.records.append(record)
        if spi is not None:
            known.spis.add(spi)
        elif thread is not None and not known.spis and thread in thread_spis:
            known.spis.add(thread_spis[thread])
    return groups


_PLUTO_CONNECTION = re.compile(r'"([^"]+)"')


def _connections(records: Iterable[LogRecord]) -> set[str]:
    """The connection names a log's IKE SA lines speak of (charon's 'name[N]', pluto's '"name"')."""
    names: set[str] = set()
    for record in records:
        if record.source == "pluto" and record.ike_sa_ref:
            found = _PLUTO_CONNECTION.search(record.text)
            if found:
                names.add(found[1])
        elif record.source == "charon" and record.ike_sa_ref and not record.ike_sa_ref.startswith("["):
            names.add(record.ike_sa_ref.rsplit("[", 1)[0])
    return names


def _key(record: LogRecord) -> str | None:
    ref = record.ike_sa_ref
    if ref is None:
        return None
    if record.source == "charon":
        found = _CHARON_REF.search(ref)
        return f"charon{found[1]}" if found else ref
    return ref


def _thread(record: LogRecord) -> str | None:
    if record.source != "charon":
        return None
    found = _THREAD.search(record.text)
    return found[1] if found else None


def _offset(pairs: Sequence[tuple[_Group, _Sa]]) -> float | None:
    """The log's clock minus the capture's, from the SPI-tied lines written when a message was sent or
    received (every tied line if none is): the offset that puts most of them within OFFSET_TOLERANCE of
    a message of their SA (each line against each message proposes one), refined as the median
    difference of the lines it fits; None without tied lines."""
    timed = [(record.time, sa) for group, sa in pairs for record in group.records
             if record.time is not None and record.kind in MESSAGE_KINDS]
    if not timed:  # no line about a message sent or received: every line of the SA, timers included
        timed = [(record.time, sa) for group, sa in pairs for record in group.records if record.time is not None]
    if not timed:
        return None
    step = max(1, len(timed) // OFFSET_LINES)
    sample = timed[::step]
    proposers = sample[::max(1, len(sample) // OFFSET_PROPOSERS)]
    best: tuple[int, float, float] | None = None
    for when, sa in proposers:
        for moment in sa.times:
            candidate = when - moment
            fits = sum(1 for other, other_sa in sample if _gap(other - candidate, other_sa) <= OFFSET_TOLERANCE)
            key = (fits, -abs(candidate), candidate)
            if best is None or key[:2] > best[:2]:
                best = key
    assert best is not None
    candidate = best[2]
    fitting = [when - _nearest(when - candidate, sa) for when, sa in sample
               if _gap(when - candidate, sa) <= OFFSET_TOLERANCE]
    return statistics.median(fitting) if fitting else candidate


def _nearest(moment: float, sa: _Sa) -> float:
    return min(sa.times, key=lambda when: abs(moment - when))


def _gap(moment: float, sa: _Sa) -> float:
    return abs(moment - _nearest(moment, sa))


# --- fusing the log ---------------------------------------------------------------------------------------

def _rank(confidence: str) -> int:
    return CONFIDENCES.index(confidence) if confidence in CONFIDENCES else 0


def _explanations(records: Iterable[LogRecord]) -> list[Explanation]:
    return [Explanation(record.file, record.line, record.code, record.huawei, record.keyword or "", record.text,
                        record.confidence or "possible", record.alternatives, record.reason or "")
            for record in records if record.code is not None]


def _cite(record: LogRecord) -> str:
    return f"{record.file}:{record.line}"


def _evidence(records: Sequence[LogRecord], code: str, event: DiagnosisEvent | VerdictEvent,
              offsets: dict[str, float | None] | None) -> list[Evidence]:
    """The lines that support `code` (decisive ones first), as evidence placed on the capture's clock and
    at the gateway that wrote them."""
    chosen = [record for record in records if record.code == code and record.decisive] or \
        [record for record in records if record.code == code]
    peers = _peers(event)
    found: list[Evidence] = []
    for record in chosen[:LOG_EVIDENCE]:
        offset = (offsets or {}).get(record.file)
        when = None if record.time is None else record.time - (offset or 0.0)
        gateway = record.local if record.local in peers else \
            next(iter(peers - {record.peer}), None) if record.peer in peers and len(peers) == 2 else None
        found.append(LogEvidence(0, f"{record.source} log: {record.keyword or record.text.strip()}"
                                 + (f" ({record.reason})" if record.reason else ""), record.file, record.line,
                                 None if when is None else round(when, 6), gateway))
    return found


def fuse_log(event: DiagnosisEvent | VerdictEvent, records: Sequence[LogRecord],
             offsets: dict[str, float | None] | None = None) -> None:
    """Refine one diagnosis or verdict with the log lines tied to its IKE SAs (see the module's docstring)."""
    explanations = _explanations(records)
    if not explanations:
        return
    said = verdict(explanations)
    code = said.code
    wire_code, wire_confidence = event.code, event.confidence
    candidates = {wire_code, *event.alternatives}
    decisive = [record for record in records if record.decisive and record.code == code]
    wire_up = event.outcome == "established" or (event.outcome == "torn_down" and event.orderly)
    if code in NOT_FAILURES:
        if event.outcome == "failed" and code == ESTABLISHED:
            lines = [record for record in records if record.code == ESTABLISHED]
            event.message += (f" The gateway log says the IKE SA was established ({_cite(lines[-1])}), which the "
                              "capture contradicts: the log may be of another negotiation, or packets were lost "
                              "after the capture point.") if lines else ""
        return
    strength = max((_rank(record.confidence or "possible") for record in decisive), default=-1)
    """How sure the surest decisive line of the code is on its own."""
    if wire_up and strength == _rank("certain") and wire_confidence != "certain" and event.outcome == "established":
        # the wire only inferred the tunnel up (no ESP both ways, nothing decrypted that proves it); the
        # gateway says, in a line that decides, that it failed (an XAUTH or EAP refusal after the IKE SA)
        _adopt(event, code, "certain", said.alternatives, records, offsets, max(decisive, key=_line_rank),
               f"The capture alone read the tunnel established ({wire_confidence}); the gateway log contradicts "
               "it, and its line decides.")
        event.outcome = "failed"
        return
    if wire_up:
        if decisive:
            event.message += (f" The gateway log contradicts the capture: it reports {code} "
                              f"('{decisive[0].keyword or decisive[0].text.strip()}', {_cite(decisive[0])}) on an "
                              "IKE SA the capture shows working; the verdict stays with the capture.")
            event.evidence = [*event.evidence, *_evidence(records, code, event, offsets)]
        return
    open_on_wire = code in candidates or code in GENERIC.get(wire_code, ())
    if code == wire_code:
        if strength >= _rank("likely"):
            event.confidence = "certain"  # the gateway's own line names the cause the wire points to
            event.alternatives = []
        event.evidence = [*event.evidence, *_evidence(records, code, event, offsets)]
        agreeing = decisive or [record for record in records if record.code == code]
        event.message += f" The gateway log agrees ({_cite(agreeing[0])})."
        return
    overrules_decided = wire_confidence == "certain" and not open_on_wire
    adopt = strength >= max(_rank(wire_confidence), _rank("likely")) and not overrules_decided and (
        wire_code in SYMPTOMS or open_on_wire or strength > _rank(wire_confidence))
    if not adopt:
        if decisive:
            event.message += (f" The gateway log points elsewhere: {code} ('{decisive[0].keyword or ''}', "
                              f"{_cite(decisive[0])}), against the capture's {wire_code}; the verdict stays with "
                              "the capture.")
            event.evidence = [*event.evidence, *_evidence(records, code, event, offsets)]
        return
    certain = strength == _rank("certain") or (strength >= _rank("likely") and open_on_wire)
    confidence = "certain" if certain else CONFIDENCES[min(strength, _rank("likely"))]
    _adopt(event, code, confidence, [*said.alternatives, wire_code], records, offsets,
           max(decisive, key=_line_rank), f"The capture alone read {wire_code} ({wire_confidence}).")


def _line_rank(record: LogRecord) -> int:
    return _rank(record.confidence or "possible")


def _adopt(event: DiagnosisEvent | VerdictEvent, code: str, confidence: str, alternatives: Iterable[str],
           records: Sequence[LogRecord], offsets: dict[str, float | None] | None, line: LogRecord,
           wire_said: str) -> None:
    """The log's code replaces the wire's, in the catalog's words, with the line that says so."""
    try:
        cause = catalog.cause(code)
    except catalog.UnknownCause:
        return
    event.code = code
    event.confidence = confidence
    event.alternatives = [] if confidence == "certain" else \
        list(dict.fromkeys(alternative for alternative in alternatives if alternative != code))[:3]
    event.huawei = cause.huawei
    event.phase = cause.phase if cause.phase is not None else event.phase
    event.message = (f"{cause.message} The gateway log says so: '{line.keyword or line.text.strip()}' "
                     f"({_cite(line)}). {wire_said}")
    event.remedy = cause.remedy
    event.evidence = [*_evidence(records, code, event, offsets), *event.evidence]


# --- fusing configurations -----------------------------------------------------------------------------------

def fuse_config(event: DiagnosisEvent | VerdictEvent, differences: Sequence[Difference]) -> None:
    """Refine one diagnosis or verdict with the differences of the configurations (never to `certain`)."""
    blocking = [difference for difference in differences if difference.kind != "configuration"]
    notes = [difference for difference in differences if difference.kind == "configuration"]
    if notes:
        event.message += f" Configuration check: {notes[0].text}."
    if not blocking:
        return
    first = blocking[0]
    change = "either side" if first.change == "either" else first.change
    if event.outcome == "established" or (event.outcome == "torn_down" and event.orderly):
        event.message += (f" The configuration files given disagree ({first.text}), yet the capture shows the "
                          "tunnel working: the files may not be what the gateways have loaded.")
        return
    if first.code == event.code:
        event.remedy = f"Change {change}: {first.text}. {event.remedy}".strip()
        if event.confidence == "possible":
            event.confidence = "likely"  # the wire and the files name the same difference
        event.message += f" The configuration files show it: {first.text}."
        return
    candidates = {event.code, *event.alternatives}
    refines = event.code in SYMPTOMS or first.code in GENERIC.get(event.code, ()) or first.code in candidates \
        or event.confidence == "possible"
    if event.confidence == "certain" or not refines:
        event.message += f" The configuration files point to {first.code} ({first.text})."
        return
    try:
        cause = catalog.cause(first.code)
    except catalog.UnknownCause:
        return
    previous = event.code
    event.code = first.code
    event.confidence = "likely"
    event.alternatives = [previous, *[code for code in event.alternatives if code != first.code]][:3]
    event.huawei = cause.huawei
    event.phase = first.phase or cause.phase or event.phase
    event.message = (f"{cause.message} The configuration files show it: {first.text}. The capture alone read "
                     f"{previous}; a file may not be what is loaded, hence not certain.")
    event.remedy = f"Change {change}: {first.text}. {cause.remedy}"


def log_keys(logs: Sequence[LogText]) -> KeyStore | None:
    """The IKE keys the logs print (a charon log at 'ike 4', old pluto secrets lines), as `--keys` reads
    them; None when none does. A log without keys is no error: it is still evidence."""
    store = KeyStore()
    for log in logs:
        text = key_text(read_log(log.lines, log.name), log.lines)
        if not text:
            continue
        try:
            found = parse_keys(text, log.name)
        except KeyFileError:
            continue
        if len(found):
            store.add(found)
    return store if len(store) else None


__all__ = ["Fusion", "LogText", "fuse_config", "fuse_log", "log_keys"]
