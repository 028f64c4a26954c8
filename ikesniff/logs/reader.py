"""Gateway log lines in, LogRecords out: format detection, time stamps, IKE SA references (sans-IO).

`read_log` takes the lines of one log (text or bytes) and yields a LogRecord for each line a format recognises;
other lines are skipped, undecodable bytes replaced, nothing raises on garbage. It opens no file (the command
line layer reads files, gzip and standard input) and knows no capture.

Theory of operation. Each line is taken apart in three steps, all driven by data/log_sources.json:

1. The header: a time stamp (ISO 8601, FortiGate's date= time=, PAN-OS's YYYY/MM/DD, BSD syslog with or
   without a year, strongSwan's file logger) and a syslog tag (host, program).
2. The source: the program of the tag, else a marker in the line (charon's `NN[IKE]`, pluto's `"conn" #N:`,
   `%ASA-`, `%CRYPTO-`, `logid=0101...`, `KMD_`...), else the source of the file's earlier lines.
3. The facts of that source: the first one that matches says what the line reports (its kind); every
   matching fact adds the fields it names (peer, SPIs, proposals, identities...). The commercial gateways'
   facts name their cause; for charon, pluto, Huawei and the cloud consoles the cause comes from the explain
   matcher (ikesniff.logs.causes), which also sees every line to follow its multi-line rules.

Per file the reader remembers each IKE SA's name and addresses (charon's unique id, pluto's connection),
so that a line of the SA that does not repeat the peer still names it.
"""

from __future__ import annotations

import calendar
import re
import time as clock
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from .. import catalog
from .causes import ESTABLISHED, NO_EXCEPTION, Explainer, LogPatterns, log_patterns
from .record import LogRecord
from .sources import Fact, LogSources, log_sources

MONTHS = {name: index for index, name in enumerate(calendar.month_abbr) if name}
NOT_DECISIVE_KINDS = frozenset({"retransmit", "deleted", "established", "state", "started", "listening"})
"""Kinds that report a symptom or progress: their lines never decide a cause on their own."""
DAY = 86400.0


@dataclass
class _FileState:
    source: str | None = None
    year: int | None = None
    month: int = 0
    names: dict[str, str] = field(default_factory=dict)
    """charon unique id -> IKE SA name."""
    addresses: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    """IKE SA key -> (peer, local)."""


@dataclass(frozen=True)
class _Header:
    parts: dict[str, str | None]
    """The time stamp's groups (empty: the line has none)."""
    host: str | None
    program: str | None


def read_log(lines: Iterable[str | bytes], name: str, *, year: int | None = None, utc_offset: float = 0.0,
             now: float | None = None, sources: LogSources | None = None,
             patterns: LogPatterns | None = None) -> Iterator[LogRecord]:
    """The records of the lines of one log named `name` (see LogRecord.time for `year` and `utc_offset`,
    in seconds east of UTC; `now` is the epoch time that a line without a year must not be after)."""
    formats = sources if sources is not None else log_sources()
    explainer = Explainer(patterns if patterns is not None else log_patterns())
    state = _FileState()
    reference_now = clock.time() if now is None else now
    for number, raw in enumerate(lines, 1):
        text = (raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw).rstrip("\r\n")
        record = _record(text, name, number, formats, explainer, state, year, utc_offset, reference_now)
        if record is not None:
            yield record


def _record(text: str, name: str, number: int, formats: LogSources, explainer: Explainer, state: _FileState,
            year: int | None, utc_offset: float, now: float) -> LogRecord | None:
    explanation = explainer.feed(name, number, text)
    header = _header(text, formats)
    source = _source(text, header, formats, state)
    if source is None:
        if explanation is None:
            return None
        source = "huawei" if explanation.huawei and explanation.keyword == explanation.huawei else "cloud"
    moment = _time(header.parts, text, formats.sources[source].offset, state, year, utc_offset, now)
    debug = formats.sources[source].debug
    facts = formats.facts.get(formats.sources[source].facts_of or source, ())
    kind, coded, groups = _facts(text, facts, bool(debug and debug.search(text)))
    code = confidence = None
    alternatives: tuple[str, ...] = ()
    decisive = False
    if coded is not None:
        code, confidence, alternatives, decisive = coded.code, coded.confidence, coded.alternatives, coded.decisive
    elif explanation is not None:
        code, confidence, alternatives = explanation.code, explanation.confidence, explanation.alternatives
        decisive = code not in (ESTABLISHED, NO_EXCEPTION) and code not in explainer.patterns.symptom_codes
    if kind is None:
        if code is None:
            return None
        kind = "established" if code == ESTABLISHED else "failed"
    if kind == "established" and code not in (None, ESTABLISHED, NO_EXCEPTION):
        kind = "failed"  # a line that reads as progress but names a failure (the data's patterns decide)
    if kind in NOT_DECISIVE_KINDS:
        decisive = False
    ref, key = _sa_reference(text, source, formats, state, groups.pop("ref", None))
    peer, local = groups.pop("peer", None), groups.pop("local", None)
    if key is not None:
        known_peer, known_local = state.addresses.get(key, (None, None))
        peer, local = peer or known_peer, local or known_local
        state.addresses[key] = (peer, local)
    spi_i, spi_r = (_spi(groups.pop(item, None)) for item in ("spi_i", "spi_r"))
    keyword = huawei = reason = None
    if coded is not None and code is not None:
        found = coded.regex.search(text)
        keyword, huawei = found.group(0).strip() if found else coded.anchor, catalog.cause(code).huawei
        reason = coded.reason or f"the {formats.sources[source].name} message ({coded.reference})"
    elif explanation is not None and code is not None:
        keyword, huawei, reason = explanation.keyword, explanation.huawei, explanation.reason
    return LogRecord(name, number, moment, header.host, source, kind, peer, local, spi_i, spi_r, ref, code,
                     confidence, alternatives, decisive and code is not None, keyword, huawei, reason, groups, text)


def _header(text: str, formats: LogSources) -> _Header:
    for pattern in formats.headers:
        found = pattern.match(text)
        if found is None:
            continue
        rest = text[found.end():]
        host = program = None
        for tag in formats.tags:
            tagged = tag.match(rest)
            if tagged is not None:
                host, program = tagged.groupdict().get("host"), tagged.groupdict().get("program")
                break
        return _Header(found.groupdict(), host, program)
    return _Header({}, None, None)


def _time(parts: dict[str, str | None], text: str, zone: re.Pattern[str] | None, state: _FileState,
          year: int | None, utc_offset: float, now: float) -> float | None:
    """Seconds since the epoch of a time stamp's groups; `zone` finds a zone offset elsewhere in the line."""
    if not parts:
        return None
    offset = utc_offset
    found = zone.search(text) if zone is not None else None
    if found is not None:
        sign = -1 if found["offset"][0] == "-" else 1
        offset = sign * (int(found["offset"][1:3]) * 3600 + int(found["offset"][3:5]) * 60)
    if parts.get("tzname"):
        offset = 0.0
    try:
        if parts.get("iso"):
            stamp = datetime.fromisoformat(str(parts["iso"]).replace(",", ".").replace(" ", "T"))
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=timezone(timedelta(seconds=offset)))
            return stamp.timestamp()
        whole, _, fraction = str(parts["clock"]).partition(".")
        hours, minutes, seconds = (int(item) for item in whole.split(":"))
        if parts.get("date"):
            year_, month, day = (int(item) for item in re.split(r"[-/]", str(parts["date"])))
        else:
            month, day = MONTHS[str(parts["mon"])], int(str(parts["day"]))
            year_ = int(str(parts["year"])) if parts.get("year") else _year(month, day, state, year, offset, now)
        moment = calendar.timegm((year_, month, day, hours, minutes, seconds, 0, 0, 0)) - offset
        return moment + (float("0." + fraction) if fraction else 0.0)
    except (ValueError, KeyError, OverflowError):
        return None


def _year(month: int, day: int, state: _FileState, year: int | None, offset: float, now: float) -> int:
    """The year of a line that gives none: the caller's, else this year (or the last, if the line would lie
    in the future); it rolls over when the months of a file go back by more than half a year (Dec -> Jan)."""
    if state.year is None:
        state.year = year if year is not None else datetime.fromtimestamp(now, UTC).year
        if year is None:
            moment = calendar.timegm((state.year, month, min(day, 28), 0, 0, 0, 0, 0, 0)) - offset
            if moment > now + DAY:
                state.year -= 1
    elif month < state.month - 6:
        state.year += 1
    state.month = month
    return state.year


def _source(text: str, header: _Header, formats: LogSources, state: _FileState) -> str | None:
    """The source of a line: its syslog program's, else the one whose marker it carries, else (untagged)
    the file's."""
    found = None
    if header.program is not None:
        found = next((name for name, source in formats.sources.items() if header.program in source.programs), None)
    if found is None:
        found = next((name for name, source in formats.sources.items()
                      if source.marker is not None and source.marker.search(text)), None)
    if found is not None:
        state.source = found
        return found
    # a line of another program in a shared syslog is nobody's; an untagged line continues the file's source
    return state.source if header.program is None else None


def _facts(text: str, facts: Iterable[Fact], debug: bool) -> tuple[str | None, Fact | None, dict[str, Any]]:
    """The kind of the first matching fact with one, the first matching fact with a code, and the fields
    that all matching facts name (the first fact to name a field wins). A debug line is read by the facts
    marked debug only, any other line by the others."""
    kind: str | None = None
    coded: Fact | None = None
    groups: dict[str, Any] = {}
    for fact in facts:
        if fact.debug != debug or fact.anchor not in text:
            continue
        found = fact.regex.search(text)
        if found is None:
            continue
        if kind is None and fact.kind is not None:
            kind = fact.kind
        if coded is None and fact.code is not None:
            coded = fact
            kind = fact.kind
        for key, value in found.groupdict().items():
            if value is not None and key not in groups:
                groups[key] = value.strip()
    return kind, coded, groups


def _sa_reference(text: str, source: str, formats: LogSources, state: _FileState,
                  named: str | None) -> tuple[str | None, str | None]:
    """(the daemon's name for the IKE SA, the key under which this file remembers its addresses)."""
    tag = formats.sources[source].sa_tag
    found = tag.search(text) if tag is not None else None
    if source == "charon":
        if named is not None and (match := re.fullmatch(r"(?P<name>.*)\[(?P<number>\d+)\]", named)):
            if match["name"] and match["name"] != "(unnamed)":
                state.names[match["number"]] = match["name"]
            number = match["number"]
        elif found is not None:
            number = found["number"]
            if found["name"]:
                state.names[number] = found["name"]
        else:
            return None, None
        return f"{state.names.get(number, '')}[{number}]", number
    if source == "pluto" and found is not None:
        # a connection instance ("road"[3] 192.0.2.9) names its peer: its address is the key and the peer
        key = found["name"] + (found["instance"] or "")
        if found["address"]:
            known = state.addresses.get(key, (None, None))
            state.addresses[key] = (found["address"], known[1])
        return f"#{found['number']}", key
    return named, None


def _spi(value: Any) -> bytes | None:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-fA-F]{16}", value):
        return None
    return bytes.fromhex(value)
