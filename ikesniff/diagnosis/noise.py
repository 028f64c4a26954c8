"""Attacks and noise: what many IKE SAs together say, as findings, never tunnels.

Read over every IKE SA still tracked at the end of a capture and the crowd of one-sided SAs folded on the way
(`ikesniff.crowd`):

- reflection: answers carrying one initiator SPI towards one address from REFLECTORS or more responders, no
  request seen (an ISAKMP reflection: the victim's address and one cookie spoofed in requests to many
  responders);
- flood: FLOOD or more IKE SAs opened towards one target by requests sent once each and never answered (spoofed
  sources and SPIs; a real peer retransmits);
- scan: one source probing SCAN_TARGETS or more targets with one request each, or one target with
  SCAN_OFFERS or more probes carrying different proposals (ike-scan's sweep and transform modes);
- churn: a tunnel opening CHURN or more IKE SAs that came up, a few seconds apart, none used afterwards.

The SAs of a reflection, a flood or a scan are left out of the tunnels (their figures are in the finding);
churn keeps its tunnel and adds the finding. The assessment reads each SA through a `SaView` (the few facts it
needs, made by `view`), so that under `-j` the workers' SAs can be assessed together in the parent. The thresholds are far above what a real negotiation does (a
retry after INVALID_KE or a COOKIE stays in one SA; a peer that cannot reach its responder retransmits).
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from ..crowd import Crowd, Unanswered
from ..events import FindingEvent
from ..tracker import EspFlow, IkeSa, host
from .facts import established_at

REFLECTORS = 3
FLOOD = 100
SCAN_TARGETS = 20
SCAN_OFFERS = 5
SCAN_SAME_TARGET = 10
CHURN = 10
CHURN_INTERVAL = 30.0
"""Median seconds between the starts of unused IKE SAs, at most, for churn."""
TOP_SOURCES = 5


@dataclass(slots=True)
class Noise:
    findings: list[FindingEvent] = field(default_factory=list)
    left_out: set[str] = field(default_factory=set)
    """Ids of the IKE SAs that belong to an attack or a scan: no diagnosis, no tunnel."""


class SaView(NamedTuple):
    """What the assessment reads of one IKE SA."""

    id: str
    version: int
    spi_i: bytes
    tunnel: tuple[str, str]
    first_time: float
    first_frame: int
    messages: int
    started: bool
    """`IkeSa.started_by_first_message`."""
    asked: bool
    """The initiator's side sent something."""
    answered: bool
    """The responder's side sent something."""
    initiator: str
    """Host (address) of the initiator's first endpoint."""
    responder: str
    initiator_messages: int
    """Distinct messages the initiator sent, counted up to 2 (a probe sends one)."""
    offers: tuple[str, ...]
    """The text of each offer of the initiator's first SA payload in clear."""
    choice: str | None
    """The text of the first proposal the responder chose in clear, if any."""
    unused: bool
    """Came up, then neither another exchange nor ESP of its own followed (what churn counts)."""

    @property
    def one_sided(self) -> bool:
        return not (self.asked and self.answered)


def view(ike_sa: IkeSa, esp: dict[frozenset[str], list[EspFlow]]) -> SaView:
    """The facts of `ike_sa` the assessment reads; `esp`: the ESP flows by unordered address pair."""
    return SaView(ike_sa.id, ike_sa.version, ike_sa.spi_i, ike_sa.tunnel, ike_sa.first_time, ike_sa.first_frame,
                  ike_sa.messages, ike_sa.started_by_first_message, bool(ike_sa.addresses[True]),
                  bool(ike_sa.addresses[False]), host(ike_sa.initiator), host(ike_sa.responder),
                  initiator_messages(ike_sa, enough=2), tuple(offer.text for offer in ike_sa.offers),
                  ike_sa.choice[0].text if ike_sa.choice else None,
                  _unused(ike_sa, esp.get(frozenset(ike_sa.tunnel), [])))


def initiator_messages(ike_sa: IkeSa, enough: int | None = None) -> int:
    """Distinct messages the initiator sent (counted up to `enough` at most, when given)."""
    count = 0
    folded = ike_sa.folded
    for entry in ike_sa.entries() if folded is not None else ike_sa.records.values():
        if isinstance(entry, int):
            assert folded is not None
            count += sum(1 for _, _, sent in folded.messages(entry, ike_sa.routines) if sent.initiator)
        else:
            count += entry.steps[0] if entry.by_initiator else entry.steps[1]
        if enough is not None and count >= enough:
            return enough
    return count


def _unused(ike_sa: IkeSa, flows: list[EspFlow]) -> bool:
    up = established_at(ike_sa)
    if up is None:
        return False
    later = any(e.first.time > up.time for e in ike_sa.iter_exchanges(newest_first=True))
    return not (later or any(flow.last_time > up.time and flow.first_time >= ike_sa.first_time for flow in flows))


def assess(ike_sas: Sequence[SaView], crowd: Crowd, file: str = "") -> Noise:
    """`ike_sas`: every IKE SA still tracked, by first message."""
    noise = Noise()
    _reflection(ike_sas, crowd, noise, file)
    _flood(ike_sas, crowd, noise, file)
    _scan(ike_sas, crowd, noise, file)
    _churn(ike_sas, noise, file)
    return noise


def _finding(noise: Noise, kind: str, frames: list[int], detail: str, file: str, ike_sa: str = "") -> None:
    noise.findings.append(FindingEvent(kind=kind, ike_sa=ike_sa, frames=sorted(frames)[:8], detail=detail, file=file))


def _rate(count: int, first: float, last: float) -> str:
    span = last - first
    return f"{count / span:.0f}/s over {span:.1f} s" if span > 0 else "at once"


def _reflection(ike_sas: Sequence[SaView], crowd: Crowd, noise: Noise, file: str) -> None:
    groups: dict[tuple[int, bytes, str], list[SaView]] = {}
    for ike_sa in ike_sas:
        if ike_sa.one_sided and ike_sa.answered and not ike_sa.started:
            groups.setdefault((ike_sa.version, ike_sa.spi_i, ike_sa.initiator), []).append(ike_sa)
    for key in set(groups) | set(crowd.unasked):
        members = groups.get(key, [])
        folded = crowd.unasked.get(key)
        responders = {sa.responder for sa in members} | (folded.responders if folded else set())
        if len(responders) < REFLECTORS:
            continue
        answers = sum(sa.messages for sa in members) + (folded.answers if folded else 0)
        times = [sa.first_time for sa in members] + ([folded.first_time, folded.last_time] if folded else [])
        version, spi_i, victim = key
        noise.left_out.update(sa.id for sa in members)
        _finding(noise, "reflection", [sa.first_frame for sa in members[:4]] + (folded.frames if folded else []),
                 f"{answers} IKEv{version} answers from {len(responders)} responders, all to {victim} and all with "
                 f"initiator SPI {spi_i.hex()}, and no request seen ({_rate(answers, min(times), max(times))}): "
                 f"requests spoofed in {victim}'s name were sent to many responders, whose answers flood it (an "
                 "ISAKMP reflection). No tunnel; filter UDP 500/4500 from unknown peers towards "
                 f"{victim}, and rate-limit IKE on the responders.", file)


def _flood(ike_sas: Sequence[SaView], crowd: Crowd, noise: Noise, file: str) -> None:
    single: dict[str, list[SaView]] = {}
    for ike_sa in ike_sas:
        if ike_sa.one_sided and ike_sa.asked and ike_sa.messages == 1 and ike_sa.started:
            single.setdefault(ike_sa.responder, []).append(ike_sa)
    for target in set(single) | set(crowd.unanswered):
        members = single.get(target, [])
        folded = crowd.unanswered.get(target)
        count = len(members) + (folded.single_shot if folded else 0)
        if count < FLOOD:
            continue
        tally = Unanswered(target)
        if folded is not None:
            tally.top, tally.distinct = dict(folded.top), set(folded.distinct)
            tally.first_time, tally.last_time, tally.ike_sas = folded.first_time, folded.last_time, folded.ike_sas
            tally.distinct_overflow = folded.distinct_overflow
        for ike_sa in members:
            tally.add(ike_sa.initiator, ike_sa.first_time, ike_sa.first_frame, True)
        sources = len(tally.distinct)
        if sources < 2 and len(members) < count:  # (one source: a scan or a retry storm, not a flood)
            continue
        top = [(source, hits) for source, hits in tally.standing_out(TOP_SOURCES) if hits * 100 >= count]
        noise.left_out.update(sa.id for sa in members)
        _finding(noise, "flood", [sa.first_frame for sa in members[:4]] + (folded.frames if folded else []),
                 f"{count} IKE SAs opened towards {target} by requests sent once each and never answered "
                 f"({_rate(count, tally.first_time, tally.last_time)}), from "
                 f"{'more than ' if tally.distinct_overflow else ''}{sources} source addresses; "
                 + ("most frequent (at least): " + ", ".join(f"{source} ({hits})" for source, hits in top)
                    if top else "no source stands out")
                 + ". A flood of half-open IKE SAs (spoofed sources and SPIs): enable the responder's COOKIE "
                 "challenge / DoS protection and rate-limit IKE from unknown peers.", file)


def _scan(ike_sas: Sequence[SaView], crowd: Crowd, noise: Noise, file: str) -> None:
    probes: dict[str, list[SaView]] = {}
    for ike_sa in ike_sas:
        if ike_sa.id in noise.left_out or not ike_sa.started or ike_sa.initiator_messages > 1:
            continue
        probes.setdefault(ike_sa.initiator, []).append(ike_sa)
    for source in set(probes) | set(crowd.probes):
        members = probes.get(source, [])
        targets = {sa.responder for sa in members} | crowd.probes.get(source, set())
        if len(targets) >= SCAN_TARGETS:
            answered = sum(1 for sa in members if not sa.one_sided)
            noise.left_out.update(sa.id for sa in members)
            _finding(noise, "scan", [sa.first_frame for sa in members[:4]],
                     f"{source} probed {len(targets)} targets with one IKE request each; {answered} answered, "
                     "none went further: a scan for IKE responders (ike-scan and the like), not tunnels.", file)
            continue
        by_target: dict[str, list[SaView]] = {}
        for ike_sa in members:
            by_target.setdefault(ike_sa.responder, []).append(ike_sa)
        for target, tried in by_target.items():
            offers = {sa.offers for sa in tried if sa.offers}
            if len(tried) < SCAN_SAME_TARGET or len(offers) < SCAN_OFFERS:
                continue
            accepted = [sa for sa in tried if sa.choice is not None]
            choice = f"; accepted: {accepted[0].choice}" if accepted else "; none accepted"
            noise.left_out.update(sa.id for sa in tried)
            _finding(noise, "scan", [sa.first_frame for sa in tried[:4]],
                     f"{source} probed {target} with {len(tried)} IKE requests carrying {len(offers)} different "
                     f"proposals, one each, none followed up{choice}: a transform scan (ike-scan --trans and the "
                     "like), not a negotiation.", file)


def _churn(ike_sas: Sequence[SaView], noise: Noise, file: str) -> None:
    tunnels: dict[tuple[str, str], list[SaView]] = {}
    for ike_sa in ike_sas:
        if ike_sa.id not in noise.left_out:
            tunnels.setdefault(ike_sa.tunnel, []).append(ike_sa)
    for peers, members in tunnels.items():
        unused = [ike_sa for ike_sa in members if ike_sa.unused]
        if len(unused) < CHURN:
            continue
        starts = sorted(sa.first_time for sa in unused)
        interval = statistics.median(b - a for a, b in itertools.pairwise(starts))
        if interval > CHURN_INTERVAL:
            continue
        opener = unused[0].initiator
        _finding(noise, "churn", [sa.first_frame for sa in unused[:4]],
                 f"{opener} opened {len(unused)} IKE SAs with {peers[0] if peers[1] == opener else peers[1]}, about "
                 f"one every {interval:.0f} s, each authenticated and then never used (no further exchange, no "
                 f"ESP): check the connection's start action and DPD/restart "
                 "settings on " + opener + " (an initiator that keeps re-establishing).", file, unused[0].id)
