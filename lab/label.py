"""The label written beside every capture (``pcaps/<scenario>.json``) and the checks on it.

A label says what was configured, what was expected and what happened, and every
claim in it has been checked against the charon logs and the capture before the
lab writes it. ``check_against_pcap`` is also what the fast test runs on the
committed files. No root, no daemons here: only logs, JSON and tshark.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from . import charonlog, wire

LABEL_VERSION = 1
REQUIRED_KEYS = {
    "label_version", "scenario", "description", "generated_by", "strongswan_version", "topology",
    "initiator", "responder", "configured", "expected", "observed", "wire", "files",
}
REQUIRED_EXPECTED = {"outcome", "code", "child", "esp"}
REQUIRED_OBSERVED = {"outcome", "ike_established", "child_established", "ike_sa_attempts", "ike_sas", "child_sas",
                     "esp", "log_evidence"}
REQUIRED_WIRE = {"frames", "ike_messages", "exchanges", "esp_frames", "esp_spis", "ip_fragments", "ikev2_fragments",
                 "decrypted"}


def summarize_side(swanctl: dict[str, Any], charon: dict[str, Any], secret: str | None) -> dict[str, Any]:
    """The configuration of one side in the words of the label (the full swanctl text is beside it)."""
    conn = swanctl["connections"]["lab"]
    child = conn["children"]["net"]
    version = int(conn.get("version", 0))
    return {
        "ike_version": version,
        "mode": ("aggressive" if conn.get("aggressive") else "main") if version == 1 else None,
        "local_addrs": conn.get("local_addrs"),
        "remote_addrs": conn.get("remote_addrs"),
        "proposals": conn.get("proposals"),
        "esp_proposals": child.get("esp_proposals"),
        "child_mode": child.get("mode", "tunnel"),
        "local_ts": child.get("local_ts"),
        "remote_ts": child.get("remote_ts"),
        "auth": {"local": conn["local"].get("auth"), "remote": conn["remote"].get("auth")},
        "local_id": conn["local"].get("id"),
        "remote_id": conn["remote"].get("id"),
        "certificate": conn["local"].get("certs"),
        "psk": secret,
        "fragmentation": conn.get("fragmentation", "yes"),
        "mobike": conn.get("mobike", True) if version == 2 else None,
        "encap": conn.get("encap", False),
        "charon": {k: v for k, v in charon.items()},
        "connection": conn,
    }


def expect_problems(expect: dict[str, Any], observed: dict[str, Any], logs: dict[str, str],
                    facts: dict[str, Any]) -> list[str]:
    """Every way the run differs from what the scenario table promised."""
    problems = []
    if observed["outcome"] != expect["outcome"]:
        problems.append(f"outcome {observed['outcome']!r}, expected {expect['outcome']!r}")
    for side, patterns in expect.get("log", {}).items():
        for pattern in patterns:
            if not charonlog.messages(logs[side], pattern):
                problems.append(f"{side}'s charon log has no line matching {pattern!r}")
    wire_expect = expect.get("wire", {})
    for exchange, count in wire_expect.get("exchanges", {}).items():
        seen = facts["exchanges"].get(exchange, 0)
        if not wire.check_count(count, seen):
            problems.append(f"capture has {seen} {exchange} messages, expected {count}")
    if facts["ikev2_fragments"] < wire_expect.get("min_ikev2_fragments", 0):
        problems.append(f"capture has {facts['ikev2_fragments']} IKEv2 fragments (SKF), "
                        f"expected at least {wire_expect['min_ikev2_fragments']}")
    if facts["ip_fragments"] < wire_expect.get("min_ip_fragments", 0):
        problems.append(f"capture has {facts['ip_fragments']} IP fragments, "
                        f"expected at least {wire_expect['min_ip_fragments']}")
    if wire_expect.get("nat") and not facts.get("nat_seen"):
        problems.append("the capture does not show the NAT (initiator seen from its private address or port 500)")
    if "ike_established" in expect and set(observed["ike_established"].values()) != {expect["ike_established"]}:
        problems.append(f"IKE SA established per side {observed['ike_established']}, "
                        f"expected {expect['ike_established']} on both")
    if expect["child"] and not observed["child_sas"]:
        problems.append("no CHILD_SA established in the logs")
    if expect["esp"]:
        esp = observed["esp"]
        if not esp["pings_sent"] or esp["pings_received"] != esp["pings_sent"]:
            problems.append(f"pings: {esp['pings_received']} of {esp['pings_sent']} answered")
        elif not esp["carried_pings"]:
            problems.append(f"the CHILD_SA counters {esp['packets']} do not account for the pings")
        child_spis = {spi for child in observed["child_sas"] for spi in (child["spi_moon_in"], child["spi_moon_out"])}
        if not esp_spis_fit(facts["esp_spis"], child_spis, bool(observed.get("after_steps"))):
            problems.append(f"ESP SPIs on the wire {facts['esp_spis']} differ from the CHILD_SA SPIs {sorted(child_spis)}")
        if facts["esp_frames"] < 2 * esp["pings_sent"]:
            problems.append(f"only {facts['esp_frames']} ESP frames for {esp['pings_sent']} pings")
    return problems


def esp_spis_fit(on_wire: list[str], child_spis: set[str], later_steps: bool) -> bool:
    """ESP on the wire uses exactly the CHILD_SAs of the logs; after rekeys, a CHILD_SA replaced before
    it carried a packet is missing from the wire, so there every wire SPI must be a logged one."""
    if later_steps:
        return bool(on_wire) and set(on_wire) <= child_spis
    return set(on_wire) == child_spis


def timeline_problems(expect: dict[str, Any], timeline: list[dict[str, Any]]) -> list[str]:
    """What the scenario promised about notifies, payloads inside encryption and retransmissions.

    ``wire`` keys: ``notifies`` (readable in clear), ``inner_notifies`` and ``inner_payloads`` (only with the
    key table), ``repeats`` (messages identical to an earlier one), ``icmp`` (ICMP errors, e.g. ``"3/3"``);
    each maps a name to a count (``2``, ``">=1"``, ``0``).
    """
    problems = []
    wire_expect = expect.get("wire", {})
    counted: dict[str, dict[str, int]] = {"notifies": {}, "inner_notifies": {}, "inner_payloads": {}, "icmp": {}}
    for entry in timeline:
        if "icmp" in entry:
            counted["icmp"][entry["icmp"]] = counted["icmp"].get(entry["icmp"], 0) + 1
            continue
        for key, field in (("notifies", "notifies"), ("inner_notifies", "inner_notifies"),
                           ("inner_payloads", "inner")):
            for name in entry[field]:
                counted[key][name] = counted[key].get(name, 0) + 1
    for key, table in counted.items():
        for name, count in wire_expect.get(key, {}).items():
            if not wire.check_count(count, table.get(name, 0)):
                problems.append(f"{key}: {table.get(name, 0)} {name} in the capture, expected {count}")
    if "repeats" in wire_expect:
        repeats = sum(1 for entry in timeline if entry.get("repeat_of"))
        if not wire.check_count(wire_expect["repeats"], repeats):
            problems.append(f"{repeats} retransmitted messages in the capture, expected {wire_expect['repeats']}")
    return problems


def spi_problems(observed: dict[str, Any], facts: dict[str, Any]) -> list[str]:
    problems = []
    wire_spis = {(m["spi_i"], m["spi_r"]) for m in facts["ike_messages"]}
    for sa in observed["ike_sas"]:
        if sa["spi_r"] and (sa["spi_i"], sa["spi_r"]) not in wire_spis:
            problems.append(f"IKE SA {sa['spi_i']}/{sa['spi_r']} from the logs is not in the capture")
    wire_initiator_spis = {spi_i for spi_i, _ in wire_spis}
    for side, attempts in observed.get("ike_sa_attempts", {}).items():
        for attempt in attempts:
            if attempt["spi_i"] not in wire_initiator_spis:
                problems.append(f"{side}'s log names IKE SA {attempt['spi_i']}_i, which the capture never shows")
    return problems


def check_against_pcap(label: dict[str, Any], pcap: Path, tables: dict[str, str]) -> list[str]:
    """Re-derive the capture facts with tshark and compare them with what the label claims."""
    problems = []
    missing = REQUIRED_KEYS - label.keys()
    if missing:
        return [f"label lacks {sorted(missing)}"]
    for section, keys in (("expected", REQUIRED_EXPECTED), ("observed", REQUIRED_OBSERVED), ("wire", REQUIRED_WIRE)):
        lacking = keys - label[section].keys()
        if lacking:
            problems.append(f"label section {section} lacks {sorted(lacking)}")
    if problems:
        return problems
    facts = wire.pcap_facts(pcap)
    claimed = label["wire"]
    for key in ("frames", "exchanges", "esp_frames", "esp_spis", "ip_fragments", "ikev2_fragments"):
        if facts[key] != claimed[key]:
            problems.append(f"{key}: label says {claimed[key]!r}, capture shows {facts[key]!r}")
    if facts["ike_messages"] != claimed["ike_messages"]:
        problems.append("the IKE messages tshark lists differ from the label's ike_messages")
    expect = label["expected"]
    for exchange, count in expect.get("wire", {}).get("exchanges", {}).items():
        if not wire.check_count(count, facts["exchanges"].get(exchange, 0)):
            problems.append(f"{exchange}: expected {count}, capture shows {facts['exchanges'].get(exchange, 0)}")
    problems += spi_problems(label["observed"], facts)
    if expect["esp"]:
        child_spis = {s for c in label["observed"]["child_sas"] for s in (c["spi_moon_in"], c["spi_moon_out"])}
        if not esp_spis_fit(facts["esp_spis"], child_spis, bool(label["observed"].get("after_steps"))):
            problems.append(f"ESP SPIs {facts['esp_spis']} differ from the label's CHILD_SA SPIs")
    if "timeline" in claimed:
        now = wire.timeline(pcap, tables)
        if now != claimed["timeline"]:
            problems.append("the timeline tshark gives differs from the label's")
        problems += timeline_problems(expect, now)
    if tables:
        view = decryption_check(pcap, tables, label)
        if view != claimed["decrypted"]:
            problems.append(f"decryption with the key table: label says {claimed['decrypted']}, tshark gives {view}")
    return problems


def decryption_check(pcap: Path, tables: dict[str, str], label: dict[str, Any]) -> dict[str, Any]:
    """Which encrypted messages tshark opens with the key tables, and the identities it then reads."""
    plain = wire.decrypted_view(pcap, {})
    opened = wire.decrypted_view(pcap, tables)
    encrypted_frames = []
    decrypted_frames = []
    for message in label["wire"]["ike_messages"]:
        if not message["encrypted"]:
            continue
        frame = message["frame"]
        encrypted_frames.append(frame)
        if frame in opened["opened"] or len(opened["payloads"].get(frame, [])) > len(plain["payloads"].get(frame, [])):
            decrypted_frames.append(frame)
    return {
        "identities": opened["identities"],
        "identities_in_clear": plain["identities"],
        "encrypted_frames": encrypted_frames,
        "decrypted_frames": decrypted_frames,
    }


def find_lines(text: str, pattern: str) -> list[dict[str, Any]]:
    return [{"line": n, "text": m} for n, m in charonlog.messages(text, pattern)]


def first_line(text: str, pattern: str) -> dict[str, Any] | None:
    lines = find_lines(text, pattern)
    return lines[0] if lines else None


def strongswan_version(text: str) -> str | None:
    match = re.search(r"Starting IKE charon daemon \(strongSwan ([^,]+),", text)
    return match.group(1) if match else None
