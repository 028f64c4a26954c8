"""Gateway log lines to cause codes: the matcher and the verdict behind `ikesniff explain` (SPEC §3).

Sans-IO: lines go in as (file, line number, text), explanations come out, and `verdict` turns the
explanations into one conclusion. This module opens no file, prints nothing and knows no output format;
it knows no capture either (the wire is the analysis' business, the log is this one's).

What a line means is data. The seeds' log keywords and the Huawei fault-cause names come from the cause
catalog (`ikesniff/data/causes.json`); the messages that strongSwan's charon and libreswan's pluto really
print, the error notifies and the transform names of charon's proposal lines come from
`ikesniff/data/log_patterns.json`, read and checked once like the catalog. A line is explained by the
first daemon pattern that matches it; a line no pattern claims is searched for the seeds' keywords and
the Huawei names, the longest match winning.

Theory of operation. Most lines speak for themselves; the few rules that need more than one line are here:

* Per log file, marks on each IKE SA (charon's `<name|n>` tag or `IKE_SA name[n]`, pluto's `#n`), set
  and cleared by the lines as the data file says: created in this log, initiated by this gateway,
  established, rekeyed, a child config found... A pattern may hold only while its IKE SA has (or has
  not) a mark: a request retransmitted on an established SA is a dead peer, on a half-made one a
  negotiation timeout; an error notify may mean another thing once the IKE SA is up (`in_phase_2`).
* Retransmissions, then "giving up": the last line takes the code of the retransmissions before it.
* "received proposals" then "configured proposals": the transform types with nothing in common name
  the mismatch (only the cipher: EncryptionAlgorithmMismatch; several: ProposalMismatch). pluto logs a
  connection's own proposals when the connection is added and a peer's when none matches: the same
  comparison, after its transform names are written as strongSwan's (`pluto_proposals`).
* pluto's debug lines (`| ...`) are no messages: the data's `ignored_lines` keep them out.
* A Delete is judged from the side that wants the tunnel, its initiator: a Delete it receives from the
  responder is ReceiveDeleteNotify; a Delete the initiator sends closes its own tunnel on purpose, and a
  Delete of a rekeyed SA is housekeeping; neither is a failure.

The verdict, as an engineer reads two logs:

1. The latest attempt counts: in each file, what came before its last "established" line was recovered
   from (an INVALID_KE retry, say).
2. A line that names a cause beats a timeout (timeouts are how many causes end; see `symptom_codes`).
   A Delete is one gateway's decision: when the other gateway's log shows a failure of its own (a kernel
   that refused the SA, say), the Deletes drop out and the failures say why.
3. Then the code with the most confident line, then the one both gateways show, then the one with
   more lines. When both gateways show the winning code, the verdict is one step more confident.
   The alternatives are what the winner's strongest lines leave open and rival codes shown as strongly.
4. No failure left: Established if a line said so, NoExceptionFound if no line matched at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from .. import catalog

DATA_FILE = "data/log_patterns.json"
CONFIDENCES = ("possible", "likely", "certain")
"""Weakest first: the index is the rank."""
ESTABLISHED, NO_EXCEPTION = "Established", "NoExceptionFound"
TRACKS = ("retransmission", "gave_up", "delete_received", "delete_sent", "proposals_received", "proposals_configured",
          "proposals_added", "proposals_unmatched")
"""The rules of this module a pattern can hand its line to (see the module's docstring)."""
DELETE_MARKS = ("created", "initiated", "rekeyed")
"""The marks the Delete rule reads: the data must set them."""
ESTABLISHED_MARK = "established"
"""The mark that chooses a notify's `in_phase_2` reading."""
NOTIFY_PLACEHOLDER = "{notify}"
DELETE_CODE = "ReceiveDeleteNotify"
"""The code of a Delete: the verdict looks in the other gateway's log for why it deleted."""


class PatternError(Exception):
    """The log pattern file is missing or breaks one of its rules; the text names the problem."""


@dataclass(frozen=True, slots=True)
class Explanation:
    """One log line and the cause it points to."""

    file: str
    line: int
    """1-based line number in `file`."""
    code: str
    """Catalog code (SPEC §5)."""
    huawei: str | None
    """The Huawei fault-cause name for the code, or the one the line itself gives."""
    keyword: str
    """The text that matched: a seed keyword or Huawei name as written in the catalog, or the part of the
    line a daemon pattern matched."""
    text: str
    """The whole line."""
    confidence: str
    """What this line alone shows: 'certain', 'likely' or 'possible'."""
    alternatives: tuple[str, ...]
    """Other codes this line is consistent with."""
    reason: str
    """Why the line means this, in a few words."""


@dataclass(frozen=True, slots=True)
class Evidence:
    file: str
    line: int


@dataclass(frozen=True, slots=True)
class Verdict:
    """The conclusion drawn from all explanations."""

    code: str
    confidence: str
    evidence: tuple[Evidence, ...]
    """The lines that support `code`, in input order."""
    alternatives: tuple[str, ...]
    """Other codes the lines leave possible, most likely first."""


# --- the data file ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Pattern:
    daemon: str
    regex: re.Pattern[str]
    code: str | None
    """None: the code comes from the notify table ({notify} patterns) or from the line (proposals)."""
    confidence: str
    alternatives: tuple[str, ...]
    reason: str
    when: tuple[str, bool] | None = None
    """(mark, wanted): the pattern holds only while its IKE SA has (or has not) the mark."""
    track: str | None = None
    mark: tuple[str, ...] = ()
    unmark: tuple[str, ...] = ()
    notify: bool = False
    """The regex names an error notify: code, confidence and alternatives are the notify's."""
    anchor: str = ""
    """Text every match contains (from the regex): a line without it is not searched."""


@dataclass(frozen=True)
class Notify:
    code: str
    confidence: str
    alternatives: tuple[str, ...]
    reason: str
    in_phase_2: Notify | None = None
    """What the notify means once the IKE SA is established (an IKEv1 quick mode, a CHILD_SA)."""


@dataclass(frozen=True)
class Transform:
    kind: str
    regex: re.Pattern[str]
    codes: dict[str, str]
    """Protocol ('IKE', 'ESP', 'AH' or '*') -> the code a difference in this transform type means."""


@dataclass(frozen=True)
class Keyword:
    """A seed keyword or Huawei fault-cause name, ready to search for."""

    regex: re.Pattern[str]
    text: str
    literals: tuple[str, ...]
    """Its fixed parts, folded like `_folded`: a line without all of them is not searched."""
    codes: tuple[str, ...]
    """Preferred code first."""
    huawei: str | None
    reason: str


@dataclass(frozen=True)
class LogPatterns:
    sa_tags: tuple[re.Pattern[str], ...]
    patterns: tuple[Pattern, ...]
    notifies: dict[str, Notify]
    transforms: tuple[Transform, ...]
    several_codes: str
    protocol_code: str
    symptom_codes: frozenset[str]
    keywords: tuple[Keyword, ...]
    pattern_gate: re.Pattern[str] | None
    """Any pattern's anchor: a line without one is no daemon line (None: some pattern has no anchor)."""
    keyword_gate: re.Pattern[str]
    """Any keyword's first fixed part, over the line in lower case."""
    ignored_lines: tuple[re.Pattern[str], ...] = ()
    """Lines that are no message of their daemon (pluto's `| ` debug lines): never explained."""
    pluto_names: dict[str, str] = field(default_factory=dict)
    """pluto's transform names -> strongSwan's, for comparing pluto's proposals."""


def parse(text: str, causes: catalog.Catalog, origin: str = DATA_FILE) -> LogPatterns:
    """Build and check the log patterns from the JSON text of the data file; raises PatternError."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise PatternError(f"{origin}: not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise PatternError(f"{origin}: expected an object")
    checker = _Checker(origin, causes)
    daemons = checker.field(document, "daemons", dict, origin)
    sa_tags = tuple(checker.regex(checker.field(entry, "sa_tag", str, f"daemon {name}"), f"daemon {name}")
                    for name, entry in daemons.items())
    if not all("sa" in tag.groupindex for tag in sa_tags):
        raise PatternError(f"{origin}: daemons: each sa_tag needs a named group (?P<sa>...)")
    notifies: dict[str, Notify] = {}
    for index, entry in enumerate(checker.field(document, "notifies", list, origin)):
        where = f"notify #{index + 1}"
        phase_2 = entry.get("in_phase_2") if isinstance(entry, dict) else None
        in_phase_2 = None if phase_2 is None else checker.notify(phase_2, f"{where} in_phase_2")
        notify = checker.notify(entry, where, in_phase_2)
        for name in checker.field(entry, "names", list, where):
            if not (isinstance(name, str) and re.fullmatch(r"[A-Z0-9_]+", name)) or name in notifies:
                raise PatternError(f"{origin}: {where}: notify name {name!r} is not an upper-case name "
                                   "or appears twice")
            notifies[name] = notify
    names = sorted(notifies, key=len, reverse=True)
    notify_group = "(?P<notify>" + "|".join(re.escape(name) for name in names) + ")"
    patterns = tuple(checker.pattern(entry, index, notify_group, notifies, daemons)
                     for index, entry in enumerate(checker.field(document, "patterns", list, origin)))
    marks = {mark for pattern in patterns for mark in pattern.mark}
    for pattern in patterns:
        if pattern.when is not None and pattern.when[0] not in marks:
            raise PatternError(f"{origin}: pattern {pattern.regex.pattern!r}: no pattern sets the mark "
                               f"{pattern.when[0]!r}")
    if set(DELETE_MARKS) - marks and any(p.track in ("delete_received", "delete_sent") for p in patterns):
        raise PatternError(f"{origin}: the Delete rule needs patterns that mark {', '.join(DELETE_MARKS)}")
    if ESTABLISHED_MARK not in marks and any(n.in_phase_2 for n in notifies.values()):
        raise PatternError(f"{origin}: in_phase_2 needs a pattern that marks {ESTABLISHED_MARK!r}")
    proposals = checker.field(document, "proposals", dict, origin)
    transforms = []
    for index, entry in enumerate(checker.field(proposals, "transforms", list, "proposals")):
        where = f"proposals transform #{index + 1}"
        codes = checker.field(entry, "codes", dict, where)
        if "*" not in codes and "IKE" not in codes:
            raise PatternError(f"{origin}: {where}: codes needs '*' or 'IKE'")
        transforms.append(Transform(checker.field(entry, "kind", str, where),
                                    checker.regex(checker.field(entry, "regex", str, where, empty=True), where),
                                    {key: checker.code(value, where) for key, value in codes.items()}))
    if not transforms or transforms[-1].regex.pattern != "":
        raise PatternError(f"{origin}: proposals: the last transform must have the empty regex (the rest)")
    symptoms = checker.field(document, "symptom_codes", dict, origin)
    keywords = _keywords(document, checker, causes)
    return LogPatterns(
        sa_tags, patterns, notifies, tuple(transforms),
        checker.code(checker.field(proposals, "several_codes", str, "proposals"), "proposals"),
        checker.code(checker.field(proposals, "protocol_code", str, "proposals"), "proposals"),
        frozenset(checker.codes(checker.field(symptoms, "codes", list, "symptom_codes"), "symptom_codes")),
        keywords, _any_of([pattern.anchor for pattern in patterns], flexible=False),
        _any_of([keyword.literals[0] for keyword in keywords], flexible=True) or re.compile(r"(?!)"),
        tuple(checker.regex(checker.field(entry, "regex", str, "ignored_lines"), "ignored_lines")
              for entry in document.get("ignored_lines", [])),
        {str(key): str(value) for key, value in proposals.get("pluto_names", {}).items()})


def _any_of(texts: list[str], flexible: bool) -> re.Pattern[str] | None:
    """One regex for 'contains one of these texts' (None if one is empty); flexible: any spacing."""
    if not texts or not all(texts):
        return None
    parts = [re.escape(text) for text in sorted(set(texts), key=len, reverse=True)]
    if flexible:
        parts = [part.replace(r"\ ", r"\s+").replace(",", r",\s*") for part in parts]
    return re.compile("|".join(parts))


@dataclass
class _Checker:
    origin: str
    causes: catalog.Catalog

    def fail(self, where: str, problem: str) -> PatternError:
        return PatternError(f"{self.origin}: {where}: {problem}")

    def field(self, entry: Any, name: str, kind: type, where: str, empty: bool = False) -> Any:
        if not isinstance(entry, dict):
            raise self.fail(where, "expected an object")
        value = entry.get(name)
        if not isinstance(value, kind) or (not empty and not value):
            raise self.fail(where, f"{name} must be a non-empty {kind.__name__}")
        return value

    def code(self, code: Any, where: str) -> str:
        if not isinstance(code, str) or code not in self.causes.by_code:
            raise self.fail(where, f"unknown cause code {code!r}")
        return code

    def codes(self, codes: Any, where: str) -> tuple[str, ...]:
        if not isinstance(codes, list):
            raise self.fail(where, "expected a list of cause codes")
        return tuple(self.code(code, where) for code in codes)

    def confidence(self, entry: dict[str, Any], where: str) -> str:
        value = entry.get("confidence")
        if value not in CONFIDENCES:
            raise self.fail(where, f"confidence must be one of {', '.join(CONFIDENCES)}")
        return str(value)

    def notify(self, entry: Any, where: str, in_phase_2: Notify | None = None) -> Notify:
        return Notify(self.code(self.field(entry, "code", str, where), where), self.confidence(entry, where),
                      self.codes(entry.get("alternatives", []), where), self.field(entry, "reason", str, where),
                      in_phase_2)

    def regex(self, text: str, where: str) -> re.Pattern[str]:
        try:
            return re.compile(text)
        except re.error as error:
            raise self.fail(where, f"bad regex {text!r}: {error}") from None

    def pattern(self, entry: Any, index: int, notify_group: str, notifies: dict[str, Notify],
                daemons: dict[str, Any]) -> Pattern:
        where = f"pattern #{index + 1}"
        known = {"daemon", "regex", "code", "confidence", "alternatives", "when", "track", "mark", "unmark",
                 "reason", "example"}
        if not isinstance(entry, dict) or set(entry) - known:
            raise self.fail(where, f"expected an object with only the keys {', '.join(sorted(known))}")
        source = self.field(entry, "regex", str, where)
        where = f"pattern #{index + 1} ({source})"
        daemon = self.field(entry, "daemon", str, where)
        if daemon not in daemons:
            raise self.fail(where, f"unknown daemon {daemon!r}")
        regex = self.regex(source.replace(NOTIFY_PLACEHOLDER, notify_group), where)
        when, track = entry.get("when"), entry.get("track")
        if when is not None and not (isinstance(when, str) and when.removeprefix("not ").strip()):
            raise self.fail(where, "when must name a mark, or 'not <mark>'")
        if track is not None and track not in TRACKS:
            raise self.fail(where, f"track must be one of {', '.join(TRACKS)}")
        mark, unmark = (entry.get(name, []) for name in ("mark", "unmark"))
        if not all(isinstance(value, list) and all(isinstance(m, str) and m for m in value)
                   for value in (mark, unmark)):
            raise self.fail(where, "mark and unmark must be lists of names")
        code = entry.get("code")
        if NOTIFY_PLACEHOLDER in source or track in ("proposals_received", "proposals_configured", "proposals_added"):
            if code is not None:
                raise self.fail(where, "code must be null: it comes from the notify table or the line")
        elif code is None and (track is not None or not (mark or unmark)):
            raise self.fail(where, "code is missing (only a line that just marks its IKE SA has none)")
        elif code is not None:
            code = self.code(code, where)
        if track in ("delete_received", "delete_sent") and "sa" not in regex.groupindex:
            raise self.fail(where, f"track {track} needs a named group (?P<sa>...)")
        if track in ("proposals_received", "proposals_configured") and "proposals" not in regex.groupindex:
            raise self.fail(where, f"track {track} needs a named group (?P<proposals>...)")
        if track in ("proposals_added", "proposals_unmatched") and not {"proposals", "conn"} <= set(regex.groupindex):
            raise self.fail(where, f"track {track} needs the named groups (?P<conn>...) and (?P<proposals>...)")
        example = self.field(entry, "example", str, where)
        found = regex.search(example)
        if found is None or (NOTIFY_PLACEHOLDER in source and found["notify"] not in notifies):
            raise self.fail(where, f"the example does not match: {example!r}")
        condition = None if when is None else (when.removeprefix("not ").strip(), not when.startswith("not "))
        anchor = _anchor(regex.pattern)
        if anchor not in example:
            raise self.fail(where, f"the text {anchor!r} taken as always matched is not in the example")
        return Pattern(daemon, regex, code, self.confidence(entry, where),
                       self.codes(entry.get("alternatives", []), where), self.field(entry, "reason", str, where),
                       condition, track, tuple(mark), tuple(unmark), NOTIFY_PLACEHOLDER in source, anchor)


def _anchor(source: str) -> str:
    """The longest plain text of a regex outside groups, classes and quantifiers: every match contains it.
    Empty when the regex has a top-level alternative or no such text."""
    runs, run, depth, index = [], "", 0, 0
    while index < len(source):
        char = source[index]
        if char == "\\":
            runs.append(run)
            run, index = "", index + 2
            continue
        if char == "[":  # a class: skip to its closing bracket (a first ']' or an escaped one belongs to it)
            index += 2 if source[index + 1:index + 2] == "^" else 1
            index += 1 if source[index:index + 1] == "]" else 0
            while source[index] != "]":
                index += 2 if source[index] == "\\" else 1
            runs.append(run)
            run, index = "", index + 1
            continue
        if char == "{":  # a counted repeat of the character before it
            runs.append(run[:-1])
            run, index = "", source.index("}", index) + 1
            continue
        if char == "|" and depth == 0:
            return ""
        if depth == 0 and (char.isalnum() or char in " _,:;'=<>!/-"):
            run += char
        else:
            runs.append(run[:-1] if char in "?*+" else run)
            run = ""
            depth += {"(": 1, ")": -1}.get(char, 0)
        index += 1
    runs.append(run)
    return max(runs, key=len)


def _keywords(document: dict[str, Any], checker: _Checker, causes: catalog.Catalog) -> tuple[Keyword, ...]:
    """The seeds' log keywords and the Huawei fault-cause names, as the catalog gives them."""
    ignored = {_folded(checker.field(entry, "keyword", str, "ignored_keywords"))
               for entry in document.get("ignored_keywords", [])}
    preferred = {_folded(checker.field(entry, "keyword", str, "keyword_preferences")):
                 checker.code(entry.get("code"), "keyword_preferences")
                 for entry in document.get("keyword_preferences", [])}
    by_text: dict[str, tuple[str, list[str]]] = {}
    for cause in causes.causes:
        for keyword in cause.match_keywords:
            text, codes = by_text.setdefault(_folded(keyword), (keyword, []))
            if cause.code not in codes:
                codes.append(cause.code)
    for folded, code in preferred.items():
        if folded not in by_text or code not in by_text[folded][1]:
            raise checker.fail("keyword_preferences", f"{code} does not list the keyword {folded!r}")
    keywords = []
    for folded, (text, codes) in by_text.items():
        if folded in ignored:
            continue
        if folded in preferred:
            codes = [preferred[folded], *(code for code in codes if code != preferred[folded])]
        names = " or ".join(codes)
        keywords.append(Keyword(_keyword_regex(text), text, _literals(text), tuple(codes),
                                causes.by_code[codes[0]].huawei,
                                f"a log keyword the vendors' guides give for {names}"))
    for cause in causes.causes:
        for name in cause.huawei_causes:
            keywords.append(Keyword(_keyword_regex(name), name, _literals(name), (cause.code,), name,
                                    f"Huawei fault cause '{name}'"))
    return tuple(keywords)


def _folded(text: str) -> str:
    """Lower case, single spaces, none after commas: keywords and lines compared so."""
    return re.sub(r",\s*", ",", " ".join(text.lower().split()))


def _literals(keyword: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in re.split(r"xxxx?", _folded(keyword)) if part.strip())


def _keyword_regex(keyword: str) -> re.Pattern[str]:
    """Case and spacing as gateways vary them; `xxx`/`xxxx` stand for a value the gateway fills in."""
    parts = []
    for word in re.split(r"(xxxx?|\s+|,\s*)", keyword.strip()):
        if word in ("xxx", "xxxx"):
            parts.append(r".+?")
        elif word.startswith(","):
            parts.append(r",\s*")
        elif word.isspace():
            parts.append(r"\s+")
        elif word:
            parts.append(re.escape(word))
    start = r"(?<!\w)" if keyword.strip()[0].isalnum() else ""
    end = r"(?!\w)" if keyword.strip()[-1].isalnum() else ""
    return re.compile(start + "".join(parts) + end, re.IGNORECASE)


@cache
def log_patterns() -> LogPatterns:
    """The log patterns shipped with ikesniff, read and checked once; raises PatternError."""
    try:
        text = resources.files("ikesniff").joinpath(DATA_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PatternError(f"cannot read the log patterns {DATA_FILE}: {error}") from None
    try:
        causes = catalog.catalog()
    except catalog.CatalogError as error:
        raise PatternError(str(error)) from None
    return parse(text, causes)


# --- the matcher ---------------------------------------------------------------------------------------------

@dataclass
class _LogState:
    """What one log file has said so far about its IKE SAs (keyed by the daemon's SA number)."""

    current: str | None = None
    """The IKE SA of the latest tagged line: untagged lines are taken to belong to it."""
    marks: dict[str | None, set[str]] = field(default_factory=dict)
    """IKE SA -> the marks its lines set ('created', 'initiated', 'established', ...)."""
    retransmissions: dict[str | None, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    """IKE SA -> code and alternatives of its latest retransmission line."""
    received_proposals: dict[str | None, str] = field(default_factory=dict)
    added_proposals: dict[str, list[str]] = field(default_factory=dict)
    """pluto connection -> the proposals it logged when it was added."""


class Explainer:
    """Explains lines one by one, in order; remembers per file what the lines said about each IKE SA."""

    def __init__(self, patterns: LogPatterns | None = None) -> None:
        self.patterns = patterns if patterns is not None else log_patterns()
        self.logs: dict[str, _LogState] = {}

    def feed(self, file: str, line: int, text: str) -> Explanation | None:
        """The explanation of one line, or None when it says nothing about a cause."""
        log = self.logs.setdefault(file, _LogState())
        if any(ignored.search(text) for ignored in self.patterns.ignored_lines):
            return None
        tag = None
        for sa_tag in self.patterns.sa_tags:
            found = sa_tag.search(text)
            if found:
                tag = log.current = found["sa"]
                break
        gate = self.patterns.pattern_gate
        for pattern in self.patterns.patterns if gate is None or gate.search(text) else ():
            if pattern.anchor not in text:
                continue
            match = pattern.regex.search(text)
            if match is None:
                continue
            sa = match.groupdict().get("sa") or tag or log.current
            marks = log.marks.setdefault(sa, set())
            if pattern.when is not None and (pattern.when[0] in marks) != pattern.when[1]:
                continue
            marks.update(pattern.mark)
            marks.difference_update(pattern.unmark)
            return self._daemon_line(pattern, match, sa, marks, log, file, line, text)
        return self._keyword_line(file, line, text)

    def _daemon_line(self, pattern: Pattern, match: re.Match[str], sa: str | None, marks: set[str],
                     log: _LogState, file: str, line: int, text: str) -> Explanation | None:
        code, confidence, alternatives, reason = pattern.code, pattern.confidence, pattern.alternatives, pattern.reason
        track = pattern.track
        if track == "proposals_added":
            log.added_proposals.setdefault(match["conn"], []).append(match["proposals"])
            return None
        if track == "proposals_unmatched" and match["conn"] in log.added_proposals:
            names = self.patterns.pluto_names
            offered = re.findall(r"\d+:((?:IKE|ESP|AH):\S+?)(?:\[[^\]]*\])?(?=\s|$)", match["proposals"])
            differences = compare_proposals(pluto_proposals(offered, names),
                                            pluto_proposals(log.added_proposals[match["conn"]], names), self.patterns)
            if differences is not None:
                code, alternatives, reason = differences
                confidence = "certain" if not alternatives else confidence
        if track == "proposals_received":
            log.received_proposals[sa] = match["proposals"]
            return None
        if track == "proposals_configured":
            received = log.received_proposals.pop(sa, None)
            differences = None if received is None else compare_proposals(received, match["proposals"],
                                                                           self.patterns)
            if differences is None:
                return None
            code, alternatives, reason = differences
        elif track in ("delete_received", "delete_sent") and not self._delete_is_failure(track, marks):
            return None
        elif track == "retransmission" and code is not None:
            log.retransmissions[sa] = (code, alternatives)
        elif track == "gave_up" and sa in log.retransmissions:
            code, alternatives = log.retransmissions[sa]
        elif pattern.notify:
            notify = self.patterns.notifies[match["notify"]]
            if notify.in_phase_2 is not None and ESTABLISHED_MARK in marks:
                notify = notify.in_phase_2
            code, confidence, alternatives = notify.code, notify.confidence, notify.alternatives
            reason = f"{reason}: {notify.reason}"
        if code is None:
            return None
        cause = catalog.cause(code)
        return Explanation(file, line, code, cause.huawei, match.group(0).strip(), text, confidence,
                           alternatives, reason)

    @staticmethod
    def _delete_is_failure(track: str, marks: set[str]) -> bool:
        """Whether a Delete of an IKE SA with these marks is a failure seen from the tunnel's initiator."""
        if "rekeyed" in marks:
            return False
        role_known = "created" in marks
        if track == "delete_received":
            # sent by the peer: the initiator closing its own tunnel, when this side is the responder
            return not role_known or "initiated" in marks
        # sent by this side: a failure for the initiator only when this side is the responder
        return role_known and "initiated" not in marks

    def _keyword_line(self, file: str, line: int, text: str) -> Explanation | None:
        if not self.patterns.keyword_gate.search(text.lower()):
            return None
        folded = _folded(text)
        best: tuple[Keyword, re.Match[str]] | None = None
        for keyword in self.patterns.keywords:
            if keyword.literals[0] not in folded or len(keyword.literals) > 1 and not all(
                    part in folded for part in keyword.literals[1:]):
                continue
            match = keyword.regex.search(text)
            if match and (best is None or len(match.group(0)) > len(best[1].group(0))):
                best = keyword, match
        if best is None:
            return None
        keyword = best[0]
        confidence = "likely" if len(keyword.codes) == 1 else "possible"
        return Explanation(file, line, keyword.codes[0], keyword.huawei, keyword.text, text, confidence,
                           keyword.codes[1:], keyword.reason)


def explain(lines: Iterable[tuple[str, int, str]], patterns: LogPatterns | None = None) -> Iterator[Explanation]:
    """The explanations of the lines that point to a cause, in input order."""
    explainer = Explainer(patterns)
    for file, number, text in lines:
        explanation = explainer.feed(file, number, text)
        if explanation is not None:
            yield explanation


# --- proposals ---------------------------------------------------------------------------------------------------

def compare_proposals(received: str, configured: str,
                      patterns: LogPatterns) -> tuple[str, tuple[str, ...], str] | None:
    """What differs between charon's received and configured proposals: (code, alternatives, reason),
    or None when a pair of proposals agrees in every transform type (or a side lists none)."""
    offers, accepted = _proposals(received), _proposals(configured)
    if not offers or not accepted:
        return None
    pairs = [(offer, accept) for offer in offers for accept in accepted if offer[0] == accept[0]]
    if not pairs:
        protocols = f"{'/'.join(sorted({o[0] for o in offers}))} against {'/'.join(sorted({a[0] for a in accepted}))}"
        return patterns.protocol_code, (), f"the peer proposes {protocols}"
    best: tuple[list[str], list[str], str] | None = None
    for (protocol, offer), (_, accept) in pairs:
        offered, configured_kinds = _by_kind(offer, patterns), _by_kind(accept, patterns)
        codes: list[str] = []
        kinds: list[str] = []
        order = list(dict.fromkeys([*offered, *configured_kinds]))  # the transform types as charon lists them
        for transform in sorted(patterns.transforms, key=lambda t: order.index(t.kind) if t.kind in order else 99):
            mine, theirs = offered.get(transform.kind, set()), configured_kinds.get(transform.kind, set())
            if (mine or theirs) and not mine & theirs:
                code = transform.codes.get(protocol, transform.codes.get("*"))
                kinds.append(f"{transform.kind} ({'/'.join(sorted(mine)) or 'none'} offered, "
                             f"{'/'.join(sorted(theirs)) or 'none'} configured)")
                if code is not None and code not in codes:
                    codes.append(code)
        if best is None or len(codes) < len(best[0]):
            best = codes, kinds, protocol
    assert best is not None
    codes, kinds, protocol = best
    if not codes:
        return None
    reason = f"the closest {protocol} proposals differ in " + "; ".join(kinds)
    if len(codes) == 1:
        return codes[0], (), reason
    return patterns.several_codes, tuple(codes), reason


def pluto_proposals(proposals: list[str], names: dict[str, str]) -> str:
    """pluto's proposals as strongSwan writes them (`IKE:A/B/PRF_C/D, ...`), for compare_proposals: a peer's
    `IKE:ENCR=A;INTEG=B;PRF=C;DH=D`, or a connection's own `IKE=A-C-B-D` (encryption-PRF-integrity-DH) and
    `ESP=A-B-D-ESN` (encryption-integrity-DH-ESN, '+' between choices). `names` turns pluto's transform names
    into strongSwan's (MODP2048 -> MODP_2048; an empty name: no transform)."""
    written = []
    for proposal in proposals:
        found = re.match(r"(IKE|ESP|AH)[:=](.*)$", proposal.strip())
        if found is None:
            continue
        protocol, rest = found.groups()
        if "=" in rest:  # a peer's: TYPE=NAME;TYPE=NAME
            parts = [(kind, value) for kind, _, value in (item.partition("=") for item in rest.split(";"))]
        else:
            order = ("ENCR", "PRF", "INTEG", "DH") if protocol == "IKE" else ("ENCR", "INTEG", "DH", "ESN")
            parts = [(kind, value) for kind, values in zip(order, rest.split("-"), strict=False)
                     for value in values.split("+")]
        algorithms = [f"PRF_{name}" if kind == "PRF" else name
                      for kind, value in parts if (name := names.get(value, value))]
        written.append(f"{protocol}:{'/'.join(algorithms)}")
    return ", ".join(written)


def _proposals(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """`IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048, ESP:...` -> [(protocol, algorithms)]."""
    proposals = []
    for item in text.split(","):
        protocol, _, algorithms = item.strip().partition(":")
        if algorithms:
            proposals.append((protocol.upper(), tuple(name for name in algorithms.split("/") if name)))
    return proposals


def _by_kind(algorithms: tuple[str, ...], patterns: LogPatterns) -> dict[str, set[str]]:
    """Transform kind -> algorithms, the kinds in the order the proposal lists them."""
    kinds: dict[str, set[str]] = {}
    for name in algorithms:
        transform = next(t for t in patterns.transforms if t.regex.search(name))
        kinds.setdefault(transform.kind, set()).add(name)
    return kinds


# --- the verdict -------------------------------------------------------------------------------------------------

def verdict(explanations: Iterable[Explanation], patterns: LogPatterns | None = None) -> Verdict:
    """The conclusion from all explanations of the logs of one tunnel (see the module's docstring)."""
    symptoms = (patterns if patterns is not None else log_patterns()).symptom_codes
    items = list(explanations)
    last_established = {item.file: index for index, item in enumerate(items) if item.code == ESTABLISHED}
    latest = [(index, item) for index, item in enumerate(items)
              if item.code == ESTABLISHED or index > last_established.get(item.file, -1)]
    failures = [(index, item) for index, item in latest if item.code != ESTABLISHED]
    delete_files = {item.file for _, item in failures if item.code == DELETE_CODE}
    if any(item.code != DELETE_CODE and item.file not in delete_files for _, item in failures):
        failures = [(index, item) for index, item in failures if item.code != DELETE_CODE]
    if not failures:
        if not last_established:
            return Verdict(NO_EXCEPTION, "possible", (), ())
        evidence = tuple(Evidence(items[index].file, items[index].line) for index in sorted(last_established.values()))
        return Verdict(ESTABLISHED, "certain", evidence, ())
    candidates = [(index, item) for index, item in failures if item.code not in symptoms] or failures
    by_code: dict[str, list[tuple[int, Explanation]]] = {}
    for index, item in candidates:
        by_code.setdefault(item.code, []).append((index, item))

    def strength(code: str) -> tuple[int, int, int, int]:
        lines = by_code[code]
        return (max(CONFIDENCES.index(item.confidence) for _, item in lines), len({item.file for _, item in lines}),
                len(lines), lines[-1][0])

    ranked = sorted(by_code, key=strength, reverse=True)
    winner = ranked[0]
    support = by_code[winner]
    rank = strength(winner)[0]
    if len({item.file for _, item in support}) > 1:
        rank = min(rank + 1, len(CONFIDENCES) - 1)
    # what the strongest lines leave open, and rival codes shown as strongly; weaker lines are outweighed
    top = strength(winner)[0]
    alternatives = [code for _, item in support if CONFIDENCES.index(item.confidence) == top
                    for code in item.alternatives]
    alternatives += [code for code in ranked[1:] if strength(code)[0] == top]
    alternatives = [code for code in dict.fromkeys(alternatives) if code not in (winner, ESTABLISHED, NO_EXCEPTION)]
    return Verdict(winner, CONFIDENCES[rank], tuple(Evidence(item.file, item.line) for _, item in support),
                   tuple(alternatives))
