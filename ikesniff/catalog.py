"""The cause catalog: what ikesniff tells the user about each failure code (SPEC §5).

The catalog is data, kept in one file, `ikesniff/data/causes.json`: for every code its console name, phase,
summary, message, remedy, the gateway log keywords the vendors' guides give for it, the Huawei fault-cause
names, and the seed documents that support it. A diagnosis rule decides *when* a code applies; this module
only says *what to tell the user* about it.

The file is read once, on first use, and checked as a whole: a broken catalog raises `CatalogError`
naming the problem, never a half-loaded table. This module reads nothing but its own data file and knows
nothing of output formats.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

DATA_FILE = "data/causes.json"

SPEC_CODES: tuple[str, ...] = (
    "PeerMismatch", "AlgorithmMismatch", "EncryptionAlgorithmMismatch", "AuthenticationAlgorithmMismatch",
    "DhGroupMismatch", "PskMismatch", "PeerIdMismatch", "DpdHashNotifyCompatibility", "DpdTimeout",
    "IkeVersionMismatch", "NegotiationModeMismatch", "NatTMismatch", "LifetimeMismatch",
    "SecurityProtocolMismatch", "EncapsulationModeMismatch", "AlgorithmCompatibility", "TrafficSelectorMismatch",
    "PfsMismatch", "CommitMismatch", "ProposalMismatch", "NegotiationFailed", "Phase1NegotiationTimeout",
    "Phase2NegotiationTimeout", "NoResponse", "ReceiveDeleteNotify", "NoExceptionFound", "Established",
)
"""The codes SPEC §5 names: the 26 API error codes of seeds 000/001, and Established."""


class CatalogError(Exception):
    """The catalog file is missing or breaks one of the rules below; the text names the problem."""


class UnknownCause(KeyError):
    """No cause has this code."""


@dataclass(frozen=True)
class Source:
    """A place in the seed documents (shared/seeds/) that supports a cause."""

    seed: str
    """File name of the seed, e.g. `000_6ca76d6a7b351361.txt`."""
    section: str
    """Where in that file: table and row, FAQ entry or section title."""


@dataclass(frozen=True)
class Cause:
    """One code of the catalog and everything ikesniff says about it."""

    code: str
    """CamelCase code (SPEC §5), the `code` of diagnosis, verdict and explanation events."""
    console_name: str | None
    """The name the cloud vendor's console shows for this code; None for ikesniff's own codes."""
    phase: int | None
    """1 (IKE SA), 2 (IPsec SA) or None (either phase, or outside negotiation)."""
    summary: str
    """One line, for tables."""
    message: str
    """What went wrong, in a few sentences."""
    remedy: str
    """What to change, and on which side."""
    log_keywords: tuple[str, ...]
    """Gateway log text the seeds give for this cause, exactly as they give it."""
    keyword_variants: tuple[tuple[str, tuple[str, ...]], ...]
    """(keyword, other spellings): the text a gateway prints where the seed gives a translation or respelling."""
    huawei: str | None
    """The Huawei fault-cause name a Huawei firewall reports for this cause, or None."""
    huawei_causes: tuple[str, ...]
    """The Huawei fault-cause names read as this code (each name belongs to exactly one code)."""
    related: tuple[str, ...]
    """Codes often confused with this one."""
    sources: tuple[Source, ...]
    """Where the seeds support this cause."""
    notes: str | None = None
    """Where the seeds disagree, or a mapping needs its reason."""

    @property
    def match_keywords(self) -> tuple[str, ...]:
        """Every text that identifies this cause in a gateway log: the keywords and their variants."""
        variants = [spelling for _, spellings in self.keyword_variants for spelling in spellings]
        return self.log_keywords + tuple(variants)


@dataclass(frozen=True)
class Catalog:
    """All causes, in the file's order, with lookups by code and by Huawei name."""

    causes: tuple[Cause, ...]
    by_code: dict[str, Cause]
    by_huawei: dict[str, Cause]
    """Huawei fault-cause name, lower case -> the cause it is read as."""

    def cause(self, code: str) -> Cause:
        try:
            return self.by_code[code]
        except KeyError:
            raise UnknownCause(code) from None

    def huawei_cause(self, name: str) -> Cause:
        try:
            return self.by_huawei[" ".join(name.lower().split())]
        except KeyError:
            raise UnknownCause(name) from None


# string field -> whether it may be null
_STRING_FIELDS = {"code": False, "console_name": True, "summary": False, "message": False, "remedy": False,
                  "huawei": True}
_LIST_FIELDS = ("log_keywords", "huawei_causes", "related", "sources")
_REQUIRED = (*_STRING_FIELDS, "phase", *_LIST_FIELDS, "keyword_variants")
_OPTIONAL = ("notes",)


def parse(text: str, origin: str = DATA_FILE) -> Catalog:
    """Build and check a catalog from the JSON text of a catalog file; raises CatalogError."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise CatalogError(f"{origin}: not valid JSON: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("causes"), list):
        raise CatalogError(f"{origin}: expected an object with a 'causes' list")
    causes = tuple(_cause(entry, index, origin) for index, entry in enumerate(document["causes"]))
    return _checked(causes, origin)


def _cause(entry: Any, index: int, origin: str) -> Cause:
    where = f"{origin}: cause #{index + 1}"
    if not isinstance(entry, dict):
        raise CatalogError(f"{where}: expected an object")
    if isinstance(entry.get("code"), str):
        where = f"{origin}: {entry['code']}"
    missing = [name for name in _REQUIRED if name not in entry]
    if missing:
        raise CatalogError(f"{where}: missing field(s) {', '.join(missing)}")
    unknown = sorted(set(entry) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise CatalogError(f"{where}: unknown field(s) {', '.join(unknown)}")
    for name, nullable in _STRING_FIELDS.items():
        value = entry[name]
        if not (isinstance(value, str) and value.strip()) and not (nullable and value is None):
            raise CatalogError(f"{where}: {name} must be a non-empty string{' or null' if nullable else ''}")
    phase = entry["phase"]
    if not (phase is None or (type(phase) is int and phase in (1, 2))):
        raise CatalogError(f"{where}: phase must be 1, 2 or null")
    if "\n" in entry["summary"] or len(entry["summary"]) > 80:
        raise CatalogError(f"{where}: summary must be one line of at most 80 characters")
    for name in ("log_keywords", "huawei_causes", "related"):
        values = entry[name]
        if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
            raise CatalogError(f"{where}: {name} must be a list of non-empty strings")
        if len(set(values)) != len(values):
            raise CatalogError(f"{where}: {name} lists a value twice")
    sources = entry["sources"]
    if not isinstance(sources, list) or not sources or not all(
            isinstance(s, dict) and set(s) == {"seed", "section"}
            and all(isinstance(v, str) and v for v in s.values()) for s in sources):
        raise CatalogError(f"{where}: sources must be a non-empty list of {{seed, section}} objects")
    variants = entry["keyword_variants"]
    if not isinstance(variants, dict) or not all(
            key in entry["log_keywords"] and isinstance(spellings, list) and spellings
            and all(isinstance(s, str) and s for s in spellings) for key, spellings in variants.items()):
        raise CatalogError(f"{where}: keyword_variants must map some of its log_keywords to lists of strings")
    notes = entry.get("notes")
    if notes is not None and not (isinstance(notes, str) and notes.strip()):
        raise CatalogError(f"{where}: notes must be a non-empty string when present")
    return Cause(
        code=entry["code"], console_name=entry["console_name"], phase=entry["phase"], summary=entry["summary"],
        message=entry["message"], remedy=entry["remedy"], log_keywords=tuple(entry["log_keywords"]),
        keyword_variants=tuple((key, tuple(spellings)) for key, spellings in variants.items()),
        huawei=entry["huawei"], huawei_causes=tuple(entry["huawei_causes"]), related=tuple(entry["related"]),
        sources=tuple(Source(s["seed"], s["section"]) for s in sources), notes=notes)


def _checked(causes: tuple[Cause, ...], origin: str) -> Catalog:
    by_code: dict[str, Cause] = {}
    by_huawei: dict[str, Cause] = {}
    for cause in causes:
        if not cause.code.isidentifier() or not cause.code[0].isupper() or "_" in cause.code:
            raise CatalogError(f"{origin}: code {cause.code!r} is not CamelCase")
        if cause.code in by_code:
            raise CatalogError(f"{origin}: code {cause.code} appears twice")
        by_code[cause.code] = cause
        for name in cause.huawei_causes:
            key = " ".join(name.lower().split())
            if key in by_huawei:
                raise CatalogError(f"{origin}: Huawei cause {name!r} is mapped to both "
                                   f"{by_huawei[key].code} and {cause.code}")
            by_huawei[key] = cause
    missing = [code for code in SPEC_CODES if code not in by_code]
    if missing:
        raise CatalogError(f"{origin}: SPEC §5 code(s) missing: {', '.join(missing)}")
    for cause in causes:
        if cause.huawei is not None and " ".join(cause.huawei.lower().split()) not in by_huawei:
            raise CatalogError(f"{origin}: {cause.code}: huawei {cause.huawei!r} is not in any huawei_causes list")
        strangers = [code for code in cause.related if code not in by_code or code == cause.code]
        if strangers:
            raise CatalogError(f"{origin}: {cause.code}: related lists unknown code(s) {', '.join(strangers)}")
    return Catalog(causes, by_code, by_huawei)


@cache
def catalog() -> Catalog:
    """The catalog shipped with ikesniff, read and checked once."""
    try:
        text = resources.files("ikesniff").joinpath(DATA_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CatalogError(f"cannot read the cause catalog {DATA_FILE}: {error}") from None
    return parse(text)


def causes() -> tuple[Cause, ...]:
    """Every cause, in catalog order."""
    return catalog().causes


def cause(code: str) -> Cause:
    """The cause with this exact code; raises UnknownCause."""
    return catalog().cause(code)


def huawei_cause(name: str) -> Cause:
    """The cause a Huawei fault-cause name (any case) is read as; raises UnknownCause."""
    return catalog().huawei_cause(name)


NOTIFY_FILE = "data/notify_causes.json"
CONFIDENCES = ("certain", "likely", "possible")


@dataclass(frozen=True, slots=True)
class NotifyCause:
    """What an error notify points to: the cause code, the confidence it gives when read in clear, and the
    codes it does not rule out."""

    code: str
    confidence: str
    alternatives: tuple[str, ...]


@cache
def notify_causes() -> dict[str, NotifyCause]:
    """The notify -> cause table shipped beside the catalog (`data/notify_causes.json`), checked against it:
    every code it names is in the catalog."""
    try:
        data = json.loads(resources.files("ikesniff").joinpath(NOTIFY_FILE).read_text(encoding="utf-8"))
        table = {name: NotifyCause(entry["code"], entry["confidence"], tuple(entry["alternatives"]))
                 for name, entry in data["notifies"].items()}
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise CatalogError(f"cannot read the notify table {NOTIFY_FILE}: {error}") from None
    known = catalog().by_code
    for name, entry in table.items():
        unknown = [code for code in (entry.code, *entry.alternatives) if code not in known]
        if unknown or entry.confidence not in CONFIDENCES:
            raise CatalogError(f"{NOTIFY_FILE}: {name}: unknown code(s) {unknown} or confidence {entry.confidence!r}")
    return table


SEEDS_FILE = "data/seeds.json"


@cache
def seed_titles() -> dict[str, str]:
    """Seed file name -> the title a reader can look up ('Huawei firewall fault reference: ...')."""
    try:
        data = json.loads(resources.files("ikesniff").joinpath(SEEDS_FILE).read_text(encoding="utf-8"))
        titles = {str(seed): str(title) for seed, title in data["titles"].items()}
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise CatalogError(f"cannot read the seed titles {SEEDS_FILE}: {error}") from None
    return titles


def source_title(seed: str) -> str:
    """The human title of a seed document (its file name when the table has none)."""
    return seed_titles().get(seed, seed)


def huawei_name(cause: Cause, phase: int | None) -> str | None:
    """The Huawei fault-cause name for `cause` as concluded in `phase`: a name that says 'phase1' or
    'phase2' is given only in its own phase (another of the cause's Huawei names for that phase, or none)."""
    def fits(name: str) -> bool:
        said = next((digit for digit in (1, 2) if f"phase{digit}" in name), None)
        return phase is None or said is None or said == phase

    if cause.huawei is None or fits(cause.huawei):
        return cause.huawei
    return next((name for name in cause.huawei_causes if fits(name)), None)
