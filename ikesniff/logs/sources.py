"""The gateway log formats (data/log_sources.json): headers, sources and facts, read and checked once.

What this module must not know: files (beyond loading its own data), captures, output. A fact is a message
text of one source, with what it reports (kind) and, for the commercial gateways, the cause it names.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from .. import catalog
from .causes import CONFIDENCES
from .record import KINDS, SOURCES

DATA_FILE = "data/log_sources.json"
RECORD_FIELDS = ("peer", "local", "spi_i", "spi_r", "ref")
"""Named groups that become fields of a LogRecord; the other groups go to its detail."""


class SourcesError(Exception):
    """The log source file is missing or breaks one of its rules; the text names the problem."""


@dataclass(frozen=True)
class Fact:
    source: str
    kind: str | None
    anchor: str
    regex: re.Pattern[str]
    code: str | None
    confidence: str | None
    alternatives: tuple[str, ...]
    decisive: bool
    reference: str
    debug: bool = False
    """The fact reads its source's debug lines (and only those)."""
    reason: str = ""
    """Why the line means its code, when the data says more than the message itself."""


@dataclass(frozen=True)
class Source:
    name: str
    programs: frozenset[str]
    marker: re.Pattern[str] | None
    sa_tag: re.Pattern[str] | None
    offset: re.Pattern[str] | None
    debug: re.Pattern[str] | None = None
    """The source's debug lines (pluto's `| `): only facts marked debug read them."""
    proposal_names: dict[str, str] | None = None
    """The source's transform names -> strongSwan's (an empty name: no transform)."""
    facts_of: str | None = None
    """Another source whose facts read this one's lines (the cloud consoles print strongSwan's messages)."""


@dataclass(frozen=True)
class LogSources:
    headers: tuple[re.Pattern[str], ...]
    tags: tuple[re.Pattern[str], ...]
    sources: dict[str, Source]
    facts: dict[str, tuple[Fact, ...]]
    """Source -> its facts, in file order."""


def _regex(text: Any, where: str, origin: str) -> re.Pattern[str]:
    if not isinstance(text, str) or not text:
        raise SourcesError(f"{origin}: {where}: regex must be a non-empty string")
    try:
        return re.compile(text)
    except re.error as error:
        raise SourcesError(f"{origin}: {where}: bad regex {text!r}: {error}") from None


def parse(text: str, causes: catalog.Catalog, origin: str = DATA_FILE) -> LogSources:
    """Build and check the log sources from the JSON text of the data file; raises SourcesError."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise SourcesError(f"{origin}: not valid JSON: {error}") from None
    if not isinstance(document, dict) or not all(isinstance(document.get(key), list)
                                                 for key in ("headers", "tags", "facts")):
        raise SourcesError(f"{origin}: expected an object with the lists headers, tags and facts")
    headers = tuple(_regex(entry.get("regex"), f"header {entry.get('name')}", origin) for entry in document["headers"])
    tags = tuple(_regex(entry.get("regex"), f"tag {entry.get('name')}", origin) for entry in document["tags"])
    for kind, patterns, entries in (("header", headers, document["headers"]), ("tag", tags, document["tags"])):
        for pattern, entry in zip(patterns, entries, strict=True):
            if not pattern.search(str(entry.get("example", ""))):
                raise SourcesError(f"{origin}: {kind} {entry.get('name')}: the example does not match")
    raw_sources = document.get("sources")
    if not isinstance(raw_sources, dict) or set(raw_sources) != set(SOURCES):
        raise SourcesError(f"{origin}: sources must name exactly {', '.join(SOURCES)}")
    sources = {}
    for name, entry in raw_sources.items():
        optional = {key: None if entry.get(key) is None else _regex(entry[key], f"source {name} {key}", origin)
                    for key in ("marker", "sa_tag", "offset", "debug")}
        names = entry.get("proposal_names")
        if names is not None and not (isinstance(names, dict) and all(isinstance(value, str) for value in names.values())):
            raise SourcesError(f"{origin}: source {name}: proposal_names must map names to names")
        facts_of = entry.get("facts_of")
        if facts_of is not None and facts_of not in SOURCES:
            raise SourcesError(f"{origin}: source {name}: facts_of must name a source")
        sources[name] = Source(str(entry.get("name", name)), frozenset(entry.get("programs", [])), **optional,
                               proposal_names=names, facts_of=facts_of)
    facts: dict[str, list[Fact]] = {name: [] for name in SOURCES}
    for index, entry in enumerate(document["facts"]):
        fact = _fact(entry, f"fact #{index + 1}", origin, causes)
        facts[fact.source].append(fact)
    return LogSources(headers, tags, sources, {name: tuple(items) for name, items in facts.items()})


def _fact(entry: Any, where: str, origin: str, causes: catalog.Catalog) -> Fact:
    if not isinstance(entry, dict):
        raise SourcesError(f"{origin}: {where}: expected an object")
    regex = _regex(entry.get("regex"), where, origin)
    where = f"{where} ({regex.pattern})"
    source, kind, anchor = entry.get("source"), entry.get("kind"), entry.get("anchor")
    if source not in SOURCES:
        raise SourcesError(f"{origin}: {where}: unknown source {source!r}")
    if kind is not None and kind not in KINDS:
        raise SourcesError(f"{origin}: {where}: kind must be null or one of {', '.join(KINDS)}")
    example, reference = entry.get("example"), entry.get("reference")
    if not isinstance(reference, str) or not reference:
        raise SourcesError(f"{origin}: {where}: reference (the document the text comes from) is missing")
    if not isinstance(anchor, str) or not anchor or not isinstance(example, str) or anchor not in example:
        raise SourcesError(f"{origin}: {where}: the anchor must be a text of the example")
    if not regex.search(example):
        raise SourcesError(f"{origin}: {where}: the example does not match: {example!r}")
    code = entry.get("code")
    if code is not None and code not in causes.by_code:
        raise SourcesError(f"{origin}: {where}: unknown cause code {code!r}")
    if code is not None and entry.get("confidence") not in CONFIDENCES:
        raise SourcesError(f"{origin}: {where}: confidence must be one of {', '.join(CONFIDENCES)}")
    alternatives = entry.get("alternatives", [])
    if not isinstance(alternatives, list) or any(alt not in causes.by_code for alt in alternatives):
        raise SourcesError(f"{origin}: {where}: alternatives must be cause codes")
    if kind is None and code is not None:
        raise SourcesError(f"{origin}: {where}: a fact without a kind cannot name a code")
    return Fact(source, kind, anchor, regex, code, entry.get("confidence") if code else None, tuple(alternatives),
                bool(entry.get("decisive", False)) and code is not None, reference, bool(entry.get("debug", False)),
                str(entry.get("reason", "")))


@cache
def log_sources() -> LogSources:
    """The log sources shipped with ikesniff, read and checked once; raises SourcesError."""
    try:
        text = resources.files("ikesniff").joinpath(DATA_FILE).read_text(encoding="utf-8")
        causes = catalog.catalog()
    except (OSError, UnicodeDecodeError) as error:
        raise SourcesError(f"cannot read the log sources {DATA_FILE}: {error}") from None
    except catalog.CatalogError as error:
        raise SourcesError(str(error)) from None
    return parse(text, causes)
