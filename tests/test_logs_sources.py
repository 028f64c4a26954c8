"""The gateway log formats as data (ikesniff/data/log_sources.json) and what `ikesniff explain` prints of them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from oracle import PCAPS, REPO

from ikesniff import catalog
from ikesniff.logs import SOURCES, read_log
from ikesniff.logs.causes import log_patterns
from ikesniff.logs.sources import DATA_FILE, SourcesError, log_sources, parse

DOCUMENT = json.loads((REPO / "ikesniff" / DATA_FILE).read_text(encoding="utf-8"))
FACTS = DOCUMENT["facts"]


@pytest.mark.parametrize("fact", [fact for fact in FACTS if fact["kind"] is not None],
                         ids=lambda fact: f"{fact['source']}:{fact['anchor']}"[:60])
def test_every_example_is_read_as_its_source_kind_and_code(fact: dict[str, Any]) -> None:
    (record,) = read_log([fact["example"]], "example.log", year=2024)
    assert (record.source, record.kind) == (fact["source"], fact["kind"]), record
    if fact.get("code") is not None:
        assert (record.code, record.decisive, record.confidence) == (fact["code"], fact["decisive"], fact["confidence"])


def test_every_fact_cites_its_source_and_no_symptom_is_decisive() -> None:
    symptoms = log_patterns().symptom_codes
    assert all(fact["reference"] for fact in FACTS)
    assert not [fact for fact in FACTS if fact.get("decisive") and fact["code"] in symptoms]
    per_source = {source: sum(fact["source"] == source for fact in FACTS) for source in SOURCES}
    assert all(per_source[source] >= 10 for source in ("charon", "pluto", "asa", "ios", "fortigate", "panos", "srx"))


def test_the_source_file_is_read_once() -> None:
    assert log_sources() is log_sources()


def broken(change: Any) -> str:
    document = json.loads(json.dumps(DOCUMENT))
    change(document)
    return json.dumps(document)


@pytest.mark.parametrize("text, words", [
    ("[1, 2", "not valid JSON"),
    (broken(lambda d: d["facts"][0].update(code="NoSuchCode", confidence="likely")), "unknown cause code"),
    (broken(lambda d: d["facts"][0].update(regex="(unclosed")), "bad regex"),
    (broken(lambda d: d["facts"][0].update(example="nothing like it")), "anchor must be a text of the example"),
    (broken(lambda d: d["facts"][0].update(regex="never in any line")), "the example does not match"),
    (broken(lambda d: d["facts"][0].pop("reference")), "reference"),
    (broken(lambda d: d["facts"][0].update(kind="exploded")), "kind must be"),
    (broken(lambda d: d["sources"].pop("srx")), "sources must name exactly"),
    (broken(lambda d: d["headers"][0].update(example="no time here")), "the example does not match"),
])
def test_a_broken_source_file_is_refused_with_the_problem_named(text: str, words: str) -> None:
    with pytest.raises(SourcesError) as error:
        parse(text, catalog.catalog())
    assert words in str(error.value) and str(error.value).startswith(DATA_FILE)


# --- what `ikesniff explain` prints -------------------------------------------------------------------------------

def explain_text(*paths: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ikesniff.explain_cli", *paths], cwd=REPO, capture_output=True,
                          text=True, check=False, timeout=60)


def test_explain_shows_state_changes_and_counts_the_other_established_lines() -> None:
    path = "pcaps/ikev2-rekey.moon.charon.log"
    result = explain_text(path)
    events = [json.loads(line) for line in explain_text("--json", path).stdout.splitlines()]
    established = [event["line"] for event in events if event["event"] == "explanation" and event["code"] == "Established"]
    assert result.returncode == 0 and len(established) > 2
    shown = [line for line in result.stdout.splitlines() if line.startswith(f"{path}:") and ": Established" in line]
    assert len(shown) == 1 and shown[0].startswith(f"{path}:{established[0]}:")
    assert f"{path}: {len(established) - 1} more lines say the tunnel is up (Established), the last at line " \
           f"{established[-1]}" in result.stdout


def test_explain_shows_every_failure_and_the_recovery_after_it() -> None:
    paths = sorted(str(path.relative_to(REPO)) for path in PCAPS.glob("ikev2-dh-mismatch-recovered.*.charon.log"))
    result = explain_text(*paths)
    lines = [line for line in result.stdout.splitlines() if line.startswith("pcaps/")]
    failures = [line for line in lines if ": DhGroupMismatch" in line]
    assert failures and any(": Established" in line for line in lines)
    first_failure = lines.index(failures[0])
    assert any(": Established" in line for line in lines[first_failure:])
    assert "verdict: Established" in result.stdout


def test_explain_reads_a_commercial_gateway_log(tmp_path: Path) -> None:
    log = tmp_path / "asa.log"
    log.write_text(
        "Nov 22 17:14:20 asa01 : %ASA-5-750002: Local:198.51.100.1:500 Remote:203.0.113.2:500 Username:Unknown "
        "Received a IKE_INIT_SA request\n"
        "Nov 22 17:14:20 asa01 : %ASA-4-750003: Local:198.51.100.1:500 Remote:203.0.113.2:500 Username:Unknown "
        "IKEv2 Negotiation aborted due to ERROR: Failed to find a matching policy\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "ikesniff.explain_cli", "--json", str(log)], cwd=REPO,
                            capture_output=True, text=True, check=False, timeout=60)
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 1 and [event["event"] for event in events] == ["explanation", "verdict"]
    assert (events[0]["line"], events[0]["code"]) == (2, "ProposalMismatch")
    assert "Failed to find a matching policy" in events[0]["keyword"]
    assert (events[1]["code"], events[1]["evidence"]) == ("ProposalMismatch", [{"file": str(log), "line": 2}])


def test_explain_on_a_pluto_debug_log_shows_no_state_table(tmp_path: Path) -> None:
    from test_logs_daemons import LIBRESWAN_ESP_MISMATCH
    log = tmp_path / "sun.pluto.log"
    log.write_text(LIBRESWAN_ESP_MISMATCH, encoding="utf-8")
    result = explain_text(str(log))
    shown = [line for line in result.stdout.splitlines() if line.startswith(str(log))]
    assert result.returncode == 1 and not any("category:" in line for line in shown)
    assert [line.split(":")[1] for line in shown] == ["11", "12", "13"]
    assert "verdict: EncryptionAlgorithmMismatch (certain" in result.stdout
