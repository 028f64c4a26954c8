"""The cause catalog (ikesniff/data/causes.json) against SPEC §5 and the seeds, and `ikesniff causes`.

The seeds are read here, not copied: the codes, console names, Huawei cause names and log keywords that the
catalog must hold are extracted from the seed files by the rules written next to each extraction.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from oracle import REPO

from ikesniff import catalog, cli

SHARED = REPO.parent / "shared"
SEEDS = SHARED / "seeds"
FIELDS = ("code", "console_name", "phase", "summary", "message", "remedy", "log_keywords", "keyword_variants",
          "huawei", "huawei_causes", "related", "sources", "notes")

pytestmark = pytest.mark.skipif(not (SEEDS.is_dir() and (SHARED / "SPEC.md").is_file()),
                                reason="needs ../shared/SPEC.md and ../shared/seeds/")


@cache
def seed(prefix: str) -> str:
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


def all_seeds() -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))}


def ikesniff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ikesniff", *args], capture_output=True, text=True,
                          cwd=REPO, check=False, timeout=60)


# ---------------------------------------------------------------- extraction rules for the seeds

def spec_codes() -> set[str]:
    """SPEC §5, from "`code` is one of" up to "plus codes of your own": the CamelCase words, and the
    capitalised words in backquotes (`Established`)."""
    text = (SHARED / "SPEC.md").read_text(encoding="utf-8")
    section = text[text.index("## 5. Cause vocabulary"):]
    listing = section[section.index("`code` is one of"):section.index("plus codes of your own")]
    return (set(re.findall(r"\b[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+\b", listing))
            | set(re.findall(r"`([A-Z][A-Za-z0-9]+)`", listing)))


def huawei_names_of_seed_003() -> set[str]:
    """Seed 003, Table 1: the 'Error Code' cell of every row of the grid table."""
    names = set()
    for line in seed("003").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")] if line.strip().startswith("|") else []
        if len(cells) == 3 and cells[1] and cells[1] != "Error Code":
            names.add(cells[1])
    return names


def huawei_names_of_seed_004() -> set[str]:
    """Seed 004: the contents list at the top, every '- name' item under 'IKE Negotiation Failure Causes' and
    'IPSec Tunnel Teardown Causes', up to 'Related Information'."""
    lines = seed("004").splitlines()
    start, end = lines.index("- IKE Negotiation Failure Causes"), lines.index("- Related Information")
    return {line[2:] for line in lines[start + 1:end] if line != "- IPSec Tunnel Teardown Causes"}


def api_blocks_of_seed_001() -> dict[str, list[str]]:
    """Seed 001, the troubleshooting table: the lines from a line that is only an API code up to the next."""
    codes = set(catalog.SPEC_CODES)
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in seed("001").splitlines():
        if line.strip() in codes:
            current = blocks.setdefault(line.strip(), [])
        elif line.strip() == "Apa yang Harus Dilakukan Selanjutnya":
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def bullet_keywords(block: list[str]) -> list[str]:
    """A seed 001 row is: error message, log keywords, solution. The keywords are the run of '•' items
    that follows the message line, up to the first other non-blank line."""
    filled = [line.strip() for line in block if line.strip()]
    keywords = []
    for line in filled[1:]:
        if not line.startswith("•"):
            break
        keywords.append(line[1:].strip())
    return keywords


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:['-][a-z0-9]+)*", text.lower())


def runs(text: str, length: int = 12) -> set[tuple[str, ...]]:
    tokens = words(text)
    return {tuple(tokens[i:i + length]) for i in range(len(tokens) - length + 1)}


# ---------------------------------------------------------------- the catalog against SPEC §5 and the seeds

def test_catalog_holds_every_code_that_spec_section_5_names() -> None:
    named = spec_codes()
    assert len(named) == 27, sorted(named)
    assert named == set(catalog.SPEC_CODES)
    assert named <= set(catalog.catalog().by_code)


def test_every_cause_has_every_field_filled() -> None:
    raw = json.loads((REPO / "ikesniff" / "data" / "causes.json").read_text(encoding="utf-8"))
    seed_files = {path.name for path in SEEDS.glob("*.txt")}
    for entry in raw["causes"]:
        assert set(entry) <= set(FIELDS) and set(entry) >= set(FIELDS) - {"notes"}, entry["code"]
    for cause in catalog.causes():
        assert cause.phase in (1, 2, None)
        assert cause.summary and cause.message and cause.remedy, cause.code
        assert cause.sources and all(source.seed in seed_files for source in cause.sources), cause.code
        if cause.code in catalog.SPEC_CODES:
            assert cause.console_name, cause.code
    new_codes = [c.code for c in catalog.causes() if c.code not in catalog.SPEC_CODES]
    assert {"MalformedMessage", "InvalidCookie", "InvalidSpi", "FragmentReassemblyTimeout", "XauthFailure",
            "EapFailure", "RekeyFailure", "CertificateAuthenticationFailure"} <= set(new_codes)


def test_console_names_are_those_of_the_seed_table() -> None:
    # Seed 000's table puts each cell on its own line ending in ' |': the console name, then the API code.
    lines = seed("000").splitlines()
    for code in catalog.SPEC_CODES:
        if code == "Established":
            name = catalog.cause(code).console_name
            assert name and name in seed("002")
            continue
        row = lines.index(f"{code} |")
        assert catalog.cause(code).console_name == lines[row - 1].removesuffix(" |"), code


def test_every_huawei_cause_of_seeds_003_and_004_maps_to_exactly_one_code() -> None:
    seed_names = huawei_names_of_seed_003() | huawei_names_of_seed_004()
    assert len(seed_names) > 80  # the rule found the tables
    mapped: dict[str, list[str]] = {}
    for cause in catalog.causes():
        for name in cause.huawei_causes:
            mapped.setdefault(name, []).append(cause.code)
    assert sorted(seed_names - set(mapped)) == []
    assert {name: codes for name, codes in mapped.items() if len(codes) > 1} == {}
    assert sorted(set(mapped) - seed_names) == []  # no invented Huawei names
    for cause in catalog.causes():
        assert cause.huawei is None or cause.huawei in seed_names, cause.code
        for name in cause.huawei_causes:
            assert catalog.huawei_cause(name.upper()) is cause


@pytest.mark.parametrize("code", ["AlgorithmMismatch", "EncryptionAlgorithmMismatch",
                                  "AuthenticationAlgorithmMismatch", "DhGroupMismatch", "PskMismatch",
                                  "PeerIdMismatch", "NegotiationModeMismatch", "TrafficSelectorMismatch",
                                  "PfsMismatch", "ProposalMismatch", "Phase1NegotiationTimeout", "NoResponse"])
def test_listed_log_keywords_of_seed_001_are_kept_verbatim_for_their_code(code: str) -> None:
    keywords = bullet_keywords(api_blocks_of_seed_001()[code])
    assert keywords, code
    assert [k for k in keywords if k not in catalog.cause(code).log_keywords] == []


@pytest.mark.parametrize(("code", "keyword"), [
    ("PeerMismatch", "received UNSUPPORTED_CRITICAL_PAYLOAD error"),
    ("DpdHashNotifyCompatibility", "ignore information because the message has no hash payload"),
    ("DpdTimeout", "DPD: remote seems to be dead"),
    ("IkeVersionMismatch", "unknown ikev2 peer"),
    ("NatTMismatch", "ignore the packet, received unexpecting payload type 130"),
    ("LifetimeMismatch", "long lifetime proposed"),
    ("SecurityProtocolMismatch", "proto_id mismatched"),
    ("EncapsulationModeMismatch", "encmode mismatched"),
    ("NegotiationFailed", "phase2 negotiation failed due to time up waiting for phase1"),
    ("ReceiveDeleteNotify", "received DELETE IKE_SA"),
])
def test_single_log_keyword_of_seed_001_is_kept_verbatim_for_its_code(code: str, keyword: str) -> None:
    assert keyword in "\n".join(api_blocks_of_seed_001()[code])
    assert keyword in catalog.cause(code).log_keywords


def test_codes_whose_keyword_cell_says_none_have_no_keywords() -> None:
    lines = seed("000").splitlines()
    for code in catalog.SPEC_CODES:
        if f"{code} |" in lines:
            row = lines.index(f"{code} |")
            if lines[row + 2] == "None |":  # the cell after the message
                assert catalog.cause(code).log_keywords == (), code


def test_every_log_keyword_and_huawei_name_is_copied_from_a_seed() -> None:
    texts = "\n".join(all_seeds().values())
    for cause in catalog.causes():
        assert [k for k in cause.log_keywords if k not in texts] == [], cause.code
        assert [n for n in cause.huawei_causes if n not in texts] == [], cause.code


def test_translated_keywords_carry_the_text_that_gateways_print() -> None:
    assert "received KE type 14,expected 2" in catalog.cause("DhGroupMismatch").match_keywords
    assert "message lacks KE payload" in catalog.cause("PfsMismatch").match_keywords
    assert ("ignore information because ISAKMP-SA has not been established"
            in catalog.cause("Phase1NegotiationTimeout").match_keywords)


def test_no_message_or_remedy_copies_a_seed_sentence() -> None:
    seed_runs = set().union(*(runs(text) for text in all_seeds().values()))
    copied = {}
    for cause in catalog.causes():
        for name in ("summary", "message", "remedy", "notes"):
            shared = runs(getattr(cause, name) or "") & seed_runs
            if shared:
                copied[f"{cause.code}.{name}"] = " ".join(min(shared))
    assert copied == {}


# ---------------------------------------------------------------- the loader refuses broken data

def good_document() -> dict[str, object]:
    return json.loads((REPO / "ikesniff" / "data" / "causes.json").read_text(encoding="utf-8"))


def breaking(change: str) -> str:
    document = good_document()
    causes = document["causes"]
    assert isinstance(causes, list)
    if change == "duplicate":
        causes.append(dict(causes[0]))
    elif change == "missing field":
        del next(c for c in causes if c["code"] == "DhGroupMismatch")["remedy"]
    elif change == "spec code absent":
        document["causes"] = [c for c in causes if c["code"] != "PfsMismatch"]
    elif change == "huawei twice":
        causes[1]["huawei_causes"] = ["dpd timeout"]
    elif change == "bad phase":
        causes[0]["phase"] = 3
    elif change == "unknown related":
        causes[0]["related"] = ["NoSuchCode"]
    return json.dumps(document)


@pytest.mark.parametrize(("change", "message"), [
    ("duplicate", "PeerMismatch appears twice"),
    ("missing field", "DhGroupMismatch: missing field(s) remedy"),
    ("spec code absent", "SPEC §5 code(s) missing: PfsMismatch"),
    ("huawei twice", "'dpd timeout' is mapped to both AlgorithmMismatch and DpdTimeout"),
    ("bad phase", "PeerMismatch: phase must be 1, 2 or null"),
    ("unknown related", "related lists unknown code(s) NoSuchCode"),
])
def test_broken_catalog_data_is_refused_with_the_reason(change: str, message: str) -> None:
    with pytest.raises(catalog.CatalogError, match=re.escape(message)):
        catalog.parse(breaking(change))


def test_catalog_that_is_not_json_is_refused() -> None:
    with pytest.raises(catalog.CatalogError, match="not valid JSON"):
        catalog.parse("{causes: [")


def test_unknown_code_raises_a_key_error() -> None:
    with pytest.raises(KeyError):
        catalog.cause("NoSuchCode")


def test_broken_catalog_gives_one_line_and_exit_2_at_the_command_line(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def broken() -> catalog.Catalog:
        raise catalog.CatalogError("data/causes.json: code PeerMismatch appears twice")
    monkeypatch.setattr(catalog, "catalog", broken)
    with pytest.raises(SystemExit) as exit_info:
        cli.causes_command(args=[], standalone_mode=False)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "ikesniff: data/causes.json: code PeerMismatch appears twice\n"


# ---------------------------------------------------------------- ikesniff causes

def test_causes_prints_one_plain_row_per_cause_when_piped() -> None:
    result = ikesniff("causes")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["CODE", "PHASE", "HUAWEI", "SUMMARY"]
    assert [line.split()[0] for line in lines[1:]] == [c.code for c in catalog.causes()]
    psk = next(line for line in lines if line.startswith("PskMismatch "))
    assert "authentication fail" in psk and catalog.cause("PskMismatch").summary in psk
    assert "\x1b[" not in result.stdout


def test_causes_json_gives_one_cause_event_per_line() -> None:
    result = ikesniff("causes", "--json")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["code"] for e in events] == [c.code for c in catalog.causes()]
    for event in events:
        assert event["event"] == "cause"
        assert set(FIELDS) <= set(event)
    psk = next(e for e in events if e["code"] == "PskMismatch")
    assert psk["huawei"] == "authentication fail" and psk["phase"] == 1
    assert "mismatch of preshared secrets" in psk["log_keywords"]
    assert psk["sources"][0] == {"seed": "000_6ca76d6a7b351361.txt",
                                 "section": "Common errors and troubleshooting, row PskMismatch"}
    dh = next(e for e in events if e["code"] == "DhGroupMismatch")
    assert dh["keyword_variants"] == {"Menerima tipe KE 14, diharapkan 2": ["received KE type 14,expected 2"]}


def test_causes_with_a_code_prints_that_cause_in_full() -> None:
    result = ikesniff("causes", "PskMismatch")
    assert result.returncode == 0, result.stderr
    psk = catalog.cause("PskMismatch")
    flat = " ".join(result.stdout.split())
    assert flat.startswith("PskMismatch (Pre-shared key mismatch), phase 1:")
    for text in (psk.message, psk.remedy, *psk.log_keywords, "Huawei name: authentication fail",
                 *(source.section for source in psk.sources)):
        assert " ".join(text.split()) in flat, text


def test_causes_accepts_a_huawei_cause_name() -> None:
    result = ikesniff("causes", "heartbeat timeout")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("DpdTimeout ")


def test_causes_with_an_unknown_code_is_one_line_and_exit_2() -> None:
    result = ikesniff("causes", "PskMismach")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("ikesniff: unknown cause code 'PskMismach' (did you mean PskMismatch?)")


def test_reading_captures_is_still_the_default_command() -> None:
    result = ikesniff("-r", str(Path("/nonexistent/capture.pcap")))
    assert result.returncode == 2
    assert result.stderr.startswith("ikesniff: ") and result.stderr.count("\n") == 1
