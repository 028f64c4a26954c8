#!/usr/bin/env python3
"""Run lab scenarios: real strongSwan peers in network namespaces, captured with tcpdump.

    sudo lab/run.py ikev2-psk ikev1-main      # selected scenarios into pcaps/
    sudo lab/run.py --all                     # every scenario of lab/scenarios.py
    sudo lab/run.py --all --out /tmp/caps     # somewhere else
    lab/run.py --list                         # what exists (no root needed)
    sudo lab/run.py --cleanup                 # remove namespaces left by a crashed run

For each scenario it writes, into the output directory:
``<scenario>.pcap``, ``<scenario>.json`` (the label), ``<scenario>.ikev2_decryption_table``
or ``.ikev1_decryption_table`` (Wireshark UAT files), ``<scenario>.moon.charon.log`` and
``<scenario>.sun.charon.log``. Nothing is written unless every claim of the label was
checked against the charon logs and the capture. Exit status 0 when all scenarios passed.
Standard library only; needs root, iproute2, tcpdump, tshark and strongSwan (see lab/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: find the package

from lab import charonlog, config, label, netlab, peer_scenarios, peers, scenarios, vici, wire

LAB_DIR = Path(__file__).resolve().parent
REPO = LAB_DIR.parent
DEFAULT_OUT = REPO / "pcaps"
DEFAULT_WORK = LAB_DIR / "run"
SWANCTL_DIRS = ["x509", "x509ca", "x509aa", "x509ocsp", "x509crl", "x509ac", "pubkey", "private", "rsa",
                "ecdsa", "bliss", "pkcs8", "pkcs12"]


def say(message: str) -> None:
    print(f"[lab] {message}", flush=True)


def make_certificates(work: Path, sides: dict[str, Path], certs: dict[str, Any], env: dict[str, str]) -> None:
    """A lab CA and one host certificate per side, made fresh by pki; the keys never leave ``work``."""
    pki_dir = work / "pki"
    pki_dir.mkdir()
    key_args = ["--type", certs.get("type", "rsa"), "--size", str(certs.get("size", 2048)), "--outform", "pem"]

    def pki(args: list[str], output: Path) -> None:
        result = netlab.run(["pki", *args], env=env, timeout=120)
        output.write_text(result.stdout)

    pki(["--gen", *key_args], pki_dir / "ca.key")
    pki(["--self", "--ca", "--lifetime", "3650", "--in", str(pki_dir / "ca.key"), "--type", "priv",
         "--dn", "C=XX, O=ikesniff lab, CN=ikesniff lab CA", "--outform", "pem"], pki_dir / "ca.crt")
    for side, swanctl_dir in sides.items():
        identity = scenarios.IDENTITY[side]
        pki(["--gen", *key_args], pki_dir / f"{side}.key")
        pki(["--issue", "--cacert", str(pki_dir / "ca.crt"), "--cakey", str(pki_dir / "ca.key"),
             "--type", "priv", "--in", str(pki_dir / f"{side}.key"), "--lifetime", "1825",
             "--dn", f"C=XX, O=ikesniff lab, CN={identity}", "--san", identity, "--outform", "pem"],
            pki_dir / f"{side}.crt")
        shutil.copy(pki_dir / "ca.crt", swanctl_dir / "x509ca" / "ca.crt")
        shutil.copy(pki_dir / f"{side}.crt", swanctl_dir / "x509" / f"{side}.crt")
        shutil.copy(pki_dir / f"{side}.key", swanctl_dir / "private" / f"{side}.key")
        os.chmod(swanctl_dir / "private" / f"{side}.key", 0o600)


def lab_sas(path: Path) -> list[dict[str, Any]]:
    return [sa for key, sa in vici.list_sas(str(path)).items() if key.startswith("lab#")]


def wait_outcome(scenario: dict[str, Any], daemons: dict[str, netlab.Charon],
                 initiate: subprocess.Popen[str]) -> tuple[str, str]:
    """Poll both daemons until the tunnel is up on both sides, or the initiation is over.

    ``established``: IKE SA and CHILD_SA up on both sides. ``failed``: charon gave up or was refused
    (swanctl --initiate returned an error). ``timeout``: neither within the scenario's timeout.
    """
    deadline = time.monotonic() + scenario["timeout"]
    while time.monotonic() < deadline:
        states = {side: lab_sas(d.vici) for side, d in daemons.items()}
        up = all(
            any(sa.get("state") == "ESTABLISHED"
                and any(c.get("state") == "INSTALLED" for c in sa.get("child-sas", {}).values())
                for sa in sas)
            for sas in states.values()
        )
        finished = initiate.poll() is not None
        if finished and initiate.returncode == 0 and up:
            return "established", initiate.stdout.read() if initiate.stdout else ""
        if finished and initiate.returncode != 0:
            time.sleep(scenario["linger"])  # let the last notifies, deletes and retransmissions reach the capture
            return "failed", initiate.stdout.read() if initiate.stdout else ""
        time.sleep(0.1)
    netlab.stop_process(initiate)
    return "timeout", initiate.stdout.read() if initiate.stdout else ""


def log_matches(path: Path, pattern: str, after_line: int = 0) -> list[tuple[int, str]]:
    text = path.read_text(errors="replace") if path.exists() else ""
    return [(n, m) for n, m in charonlog.messages(text, pattern) if n > after_line]


def log_length(path: Path) -> int:
    return len(path.read_text(errors="replace").splitlines()) if path.exists() else 0


def run_steps(steps: list[dict[str, Any]], network: netlab.Network, daemons: dict[str, netlab.Charon],
              paths: dict[str, dict[str, Path]], name: str) -> list[dict[str, Any]]:
    """The scenario's ``after`` steps, in order; returns what each did (for the label).

    ``{"sleep": s}``; ``{"iptables": {side: [rule, ...]}}``; ``{"swanctl": [side, arg, ...]}``;
    ``{"wait_log": [side, regex, timeout]}`` (a log line written since the last step that was not a wait
    began, i.e. a consequence of that action; LabError when none comes in time);
    ``{"pings": n}`` (moon to sun's inner address, through the tunnel).
    """
    done: list[dict[str, Any]] = []
    started = time.monotonic()
    marks = {side: log_length(paths[side]["log"]) for side in paths}
    for step in steps:
        record: dict[str, Any] = {"step": step, "at": round(time.monotonic() - started, 1)}
        if "wait_log" not in step:
            marks = {side: log_length(paths[side]["log"]) for side in paths}
        if "sleep" in step:
            time.sleep(float(step["sleep"]))
        elif "iptables" in step:
            for side, rules in step["iptables"].items():
                for rule in rules:
                    network.run_in(side, ["iptables", *rule])
        elif "swanctl" in step:
            side, *args = step["swanctl"]
            result = daemons[side].swanctl(*args, check=False)
            record["returncode"] = result.returncode
        elif "wait_log" in step:
            side, pattern, timeout = step["wait_log"]
            deadline = time.monotonic() + float(timeout)
            found: list[tuple[int, str]] = []
            while time.monotonic() < deadline and not found:
                found = log_matches(paths[side]["log"], pattern, marks[side])
                time.sleep(0.1)
            if not found:
                raise netlab.LabError(f"{name}: {side}'s log did not say {pattern!r} within {timeout}s")
            record["line"] = {"line": found[0][0], "text": found[0][1]}
        elif "pings" in step:
            result = netlab.run(network.exec_cmd("moon", [
                sys.executable, str(LAB_DIR / "pinger.py"), scenarios.INNER["moon"]["address"],
                scenarios.INNER["sun"]["address"], str(step["pings"])]), timeout=60)
            record["result"] = json.loads(result.stdout)
        else:
            raise netlab.LabError(f"{name}: unknown step {step}")
        say(f"{name}: {step} done")
        done.append(record)
    return done


def final_outcome(daemons: dict[str, netlab.Charon], moon_log: Path, established_at: int) -> str:
    """After the ``after`` steps of a tunnel that came up: still ``established``, ``torn_down``
    (moon holds no IKE SA of the connection any more), or ``failed`` (a later exchange was refused
    or never answered: a rekey that failed, a CHILD_SA that could not be built)."""
    sas = lab_sas(daemons["moon"].vici)
    if not any(sa.get("state") == "ESTABLISHED" for sa in sas):
        return "torn_down"
    if log_matches(moon_log, LATER_FAILURE, established_at):
        return "failed"
    if not any(c.get("state") == "INSTALLED" for sa in sas for c in sa.get("child-sas", {}).values()):
        return "failed"
    return "established"


# what moon's log says when an exchange after the tunnel came up failed
LATER_FAILURE = r"rekeying failed|no CHILD_SA built|failed to establish CHILD_SA|giving up after \d+ retransmits"


def vici_snapshot(sas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keep = ["uniqueid", "version", "state", "local-host", "local-port", "local-id", "remote-host", "remote-port",
            "remote-id", "initiator", "initiator-spi", "responder-spi", "nat-local", "nat-remote", "nat-fake",
            "nat-any", "encr-alg", "encr-keysize", "integ-alg", "prf-alg", "dh-group"]
    child_keep = ["name", "state", "mode", "protocol", "encap", "spi-in", "spi-out", "encr-alg", "encr-keysize",
                  "integ-alg", "bytes-in", "packets-in", "bytes-out", "packets-out", "local-ts", "remote-ts"]
    result = []
    for sa in sas:
        entry = {k: sa[k] for k in keep if k in sa}
        entry["child-sas"] = [{k: c[k] for k in child_keep if k in c} for c in sa.get("child-sas", {}).values()]
        result.append(entry)
    return result


def observe(scenario: dict[str, Any], logs: dict[str, str], outcome: str, pings: dict[str, Any],
            snapshots: dict[str, list[dict[str, Any]]], negotiated: str | None = None,
            esp_snapshots: dict[str, list[dict[str, Any]]] | None = None) -> tuple[dict[str, Any], list[str]]:
    """What happened, from the charon logs (and vici), with the disagreements found on the way.

    ``negotiated`` is the outcome of the initiation; ``outcome`` the final one, which differs after
    the scenario's ``after`` steps (a tunnel torn down by DPD or a Delete, a rekey that failed).
    """
    problems: list[str] = []
    negotiated = negotiated or outcome
    facts = {side: charonlog.ike_sas(text) for side, text in logs.items()}
    established = {side: [sa for sa in sas.values() if sa.established] for side, sas in facts.items()}
    ike_up = {side: bool(sas) for side, sas in established.items()}
    child_up = {side: any(sa.children for sa in sas) for side, sas in established.items()}
    both_up = all(ike_up.values()) and all(child_up.values())
    log_outcome = "established" if both_up else negotiated
    if negotiated == "established" and log_outcome != "established":
        problems.append("vici says established but a charon log lacks 'IKE_SA/CHILD_SA ... established'")
    if negotiated != "established" and both_up:
        problems.append(f"initiation ended as {negotiated} but both logs say the tunnel was established")
    if scenario["after"] and negotiated == "established":
        log_outcome = outcome  # what became of the tunnel after the steps (vici and moon's log)
    attempts = {
        side: [{"unique_id": sa.unique_id, "version": sa.version, "spi_i": sa.spi_i, "spi_r": sa.spi_r,
                "proposal": sa.ike_proposal, "established": sa.established,
                "children": [c["name"] for c in sa.children]}
               for sa in sas.values() if sa.spi_i]
        for side, sas in facts.items()
    }
    ike_sas = []
    child_sas = []
    for sa in established["moon"]:
        peer = next((p for p in established["sun"] if p.spi_i == sa.spi_i and p.spi_r == sa.spi_r), None)
        if peer is None:
            problems.append(f"moon's IKE SA {sa.spi_i}_i {sa.spi_r}_r is not in sun's log")
            continue
        if sa.ike_proposal != peer.ike_proposal:
            problems.append(f"selected IKE proposals differ: {sa.ike_proposal} / {peer.ike_proposal}")
        ike_sas.append({
            "spi_i": sa.spi_i, "spi_r": sa.spi_r, "version": sa.version, "proposal": sa.ike_proposal,
            "moon_ids": [sa.local_id, sa.remote_id], "sun_ids": [peer.local_id, peer.remote_id],
            "log_lines": {"moon": sa.established_line, "sun": peer.established_line},
            "keys_logged": {"moon": sorted(sa.keys), "sun": sorted(peer.keys)},
        })
        if sa.keys.get("sk_ei", sa.keys.get("ka")) != peer.keys.get("sk_ei", peer.keys.get("ka")):
            problems.append("moon and sun logged different encryption keys for the same IKE SA")
        for child in sa.children:
            twin = next((c for c in peer.children if c["spi_in"] == child["spi_out"]), None)
            if twin is None or twin["spi_out"] != child["spi_in"]:
                problems.append(f"CHILD_SA {child['spi_in']}/{child['spi_out']} of moon has no mirror in sun's log")
                continue
            child_sas.append({
                "name": child["name"], "spi_moon_in": child["spi_in"], "spi_moon_out": child["spi_out"],
                "moon_ts": [child["local_ts"], child["remote_ts"]], "sun_ts": [twin["local_ts"], twin["remote_ts"]],
                "proposal": sa.esp_proposals[-1] if sa.esp_proposals else None,
                "log_lines": {"moon": child["line"], "sun": twin["line"]},
            })
    # vici agrees with the logs?
    for side, sas in snapshots.items():
        for snap in sas:
            spis = (snap.get("initiator-spi"), snap.get("responder-spi"))
            if snap.get("state") == "ESTABLISHED" and spis not in {(s["spi_i"], s["spi_r"]) for s in ike_sas}:
                problems.append(f"{side}'s vici reports IKE SA {spis} the logs do not confirm")
    esp_counters = {}
    for side, sas in (esp_snapshots or snapshots).items():
        packets = {"in": 0, "out": 0}
        for snap in sas:
            for child in snap["child-sas"]:
                packets["in"] += int(child.get("packets-in", 0))
                packets["out"] += int(child.get("packets-out", 0))
        esp_counters[side] = packets
    esp = {
        "pings_sent": pings.get("sent", 0),
        "pings_received": pings.get("received", 0),
        "packets": esp_counters,
        "carried_pings": bool(pings.get("sent")) and pings.get("received") == pings.get("sent")
        and all(c["in"] >= pings["sent"] and c["out"] >= pings["sent"] for c in esp_counters.values()),
    }
    evidence = {}
    for side, text in logs.items():
        evidence[side] = label.find_lines(
            text, r"^IKE_SA \S+ established|^CHILD_SA \S+ established|behind NAT|^splitting IKE message|"
                  r"received (\S+ )?notify|^received [A-Z_]+ notify error|failed|^sending packet|^received packet")[:60]
    nat = {side: label.find_lines(text, r"behind NAT") for side, text in logs.items()}
    decisive = {side: [{"pattern": pattern, **line} for pattern in patterns
                       for line in label.find_lines(logs[side], pattern)[:3]]
                for side, patterns in scenario["expect"].get("log", {}).items()}
    observed = {
        "outcome": log_outcome,
        "ike_established": ike_up,
        "child_established": child_up,
        "ike_sa_attempts": attempts,
        "ike_sas": ike_sas,
        "child_sas": child_sas,
        "esp": esp,
        "nat_detection": nat,
        "fragmentation": {side: label.find_lines(text, r"^splitting IKE message") for side, text in logs.items()},
        "vici": snapshots,
        "log_evidence": evidence,
    }
    if decisive:
        observed["decisive_log_lines"] = decisive
    return observed, problems


def nat_seen(facts: dict[str, Any], topology: dict[str, Any]) -> bool:
    nat = topology["nat"]
    if not nat:
        return False
    from_initiator = [m for m in facts["ike_messages"] if m["dst"] == topology["address"]["sun"]]
    return bool(from_initiator) and all(m["src"] == nat["public"] for m in from_initiator) and any(
        m["sport"] not in (500, 4500) for m in from_initiator)


def run_scenario(name: str, out_dir: Path, work_root: Path, keep: bool = False) -> dict[str, Any]:
    scenario = scenarios.resolve(name)
    topology = scenario["topology_data"]
    work = work_root / f"{name}-{os.getpid()}"
    if len(str(work / "moon" / "run" / "charon.vici")) > 100:  # sun_path is 108 bytes
        raise netlab.LabError(f"work directory {work} is too long for a unix socket path")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    network = netlab.Network(topology, tag=name, mtu=scenario["mtu"])
    daemons: dict[str, netlab.Charon] = {}
    capture: netlab.Capture | None = None
    paths: dict[str, dict[str, Path]] = {}
    started = time.monotonic()
    try:
        # --- configuration files ---
        for side in scenarios.SIDES:
            side_dir = work / side
            run_dir = side_dir / "run"
            swanctl_dir = side_dir / "swanctl"
            for directory in (run_dir, *(swanctl_dir / d for d in SWANCTL_DIRS)):
                directory.mkdir(parents=True)
            settings = scenario["sides"][side]
            log_path = side_dir / "charon.log"
            (side_dir / "strongswan.conf").write_text(
                config.render(scenarios.strongswan_conf(settings, str(run_dir), str(log_path))) + "\n")
            (swanctl_dir / "swanctl.conf").write_text(config.render(settings["swanctl"]) + "\n")
            paths[side] = {"dir": side_dir, "run": run_dir, "swanctl": swanctl_dir, "log": log_path,
                           "conf": side_dir / "strongswan.conf"}
        tool_env = {**os.environ, "STRONGSWAN_CONF": str(paths["moon"]["conf"])}
        if scenario["auth"] == "pubkey":
            make_certificates(work, {s: paths[s]["swanctl"] for s in scenarios.SIDES}, scenario["certs"], tool_env)

        # --- network, capture, daemons ---
        netlab.cleanup_stale()
        network.up()
        for side in scenarios.SIDES:
            network.add_address(side, scenarios.INNER[side]["address"] + "/32")
        for side, rules in scenario["iptables"].items():  # the path's faults, before any IKE packet
            for rule in rules:
                network.run_in(side, ["iptables", *rule])
        capture_side, capture_if = topology["capture"]
        capture = netlab.Capture(network, capture_side, capture_if, work / "capture.pcap", work / "tcpdump.log")
        capture.wait_ready()
        for side in scenario["start"]:
            daemons[side] = netlab.Charon(network, side, paths[side]["conf"], paths[side]["run"],
                                          paths[side]["dir"] / "charon.stdout")
        for side in scenario["start"]:
            daemons[side].wait_ready()
            daemons[side].swanctl("--load-all", "--file", str(paths[side]["swanctl"] / "swanctl.conf"))

        # --- negotiation ---
        say(f"{name}: initiating from moon")
        initiate = daemons["moon"].swanctl_background("--initiate", "--child", "net",
                                                      "--timeout", str(scenario["timeout"]))
        outcome, initiate_output = wait_outcome(scenario, daemons, initiate)
        (work / "initiate.out").write_text(initiate_output)
        say(f"{name}: {outcome}")
        pings: dict[str, Any] = {}
        if outcome == "established" and scenario["pings"]:
            result = netlab.run(network.exec_cmd("moon", [
                sys.executable, str(LAB_DIR / "pinger.py"), scenarios.INNER["moon"]["address"],
                scenarios.INNER["sun"]["address"], str(scenario["pings"])]), timeout=60)
            pings = json.loads(result.stdout)
            say(f"{name}: pings {pings['received']}/{pings['sent']}")
        steps: list[dict[str, Any]] = []
        negotiated = outcome
        # the ESP counters of the tunnel as the pings left it (the steps may remove the SAs)
        esp_snapshots = {side: vici_snapshot(lab_sas(d.vici)) for side, d in daemons.items()}
        if scenario["after"] and outcome == "established":
            established_at = log_length(paths["moon"]["log"])
            steps = run_steps(scenario["after"], network, daemons, paths, name)
            outcome = final_outcome(daemons, paths["moon"]["log"], established_at)
            say(f"{name}: after the steps: {outcome}")
        elif scenario["after_failure"] and outcome != "established":
            steps = run_steps(scenario["after_failure"], network, daemons, paths, name)
        snapshots = {side: vici_snapshot(lab_sas(d.vici)) for side, d in daemons.items()}

        # --- stop the capture, then tear down: a healthy tunnel's capture ends while it is up (a
        # Delete on the wire would be a teardown to diagnose, which is what the delete scenarios are
        # for); a failed one is left as it is, so the capture ends with the failure ---
        time.sleep(0.3)
        capture.stop()
        if outcome == "established":
            daemons["moon"].swanctl("--terminate", "--ike", "lab", "--timeout", "10", check=False)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and lab_sas(daemons["sun"].vici):
                time.sleep(0.1)
        for daemon in daemons.values():
            daemon.stop()
        network.down()

        # --- what happened, checked ---
        logs = {side: paths[side]["log"].read_text(errors="replace") if paths[side]["log"].exists() else ""
                for side in scenarios.SIDES}
        observed, problems = observe(scenario, logs, outcome, pings, snapshots, negotiated, esp_snapshots)
        if steps:
            observed["after_steps"] = steps
        pcap = work / "capture.pcap"
        facts = wire.pcap_facts(pcap)
        facts["nat_seen"] = nat_seen(facts, topology)
        problems += label.expect_problems(scenario["expect"], observed, logs, facts)
        problems += label.spi_problems(observed, facts)
        tables = charonlog.decryption_tables(logs["moon"])
        if scenario["expect"]["outcome"] == "established" and not tables:
            problems.append("no key table could be built from moon's charon log")
        # a responder that never saw IKE_AUTH never derived (or logged) its keys: only rows both logs have count
        keys_differ = bool(charonlog.table_conflicts(tables, charonlog.decryption_tables(logs["sun"])))
        if keys_differ != bool(scenario["expect"].get("keys_differ")):
            problems.append("moon's and sun's logs give different key tables" if keys_differ
                            else "expected moon and sun to derive different keys, the logs give the same")

        the_label: dict[str, Any] = {
            "label_version": label.LABEL_VERSION,
            "scenario": name,
            "description": scenario["description"],
            "generated_by": "lab/run.py (ikesniff lab, strongSwan in network namespaces)",
            "strongswan_version": label.strongswan_version(logs["moon"]),
            "topology": {
                "name": scenario["topology"],
                "description": topology["description"],
                "addresses": topology["address"],
                "inner": scenarios.INNER,
                "links": [[list(a), list(b)] for a, b in topology["links"]],
                "mtu": scenario["mtu"] or 1500,
                "capture_point": "{}:{}".format(*topology["capture"]),
                "nat": topology["nat"],
                "kernel_ipsec": "kernel-libipsec (userspace ESP, always UDP-encapsulated; "
                                "charon fakes NAT detection to force it)",
            },
            "initiator": "moon",
            "responder": "sun",
            "configured": {
                side: label.summarize_side(scenario["sides"][side]["swanctl"], scenario["sides"][side]["charon"],
                                           scenario["sides"][side]["secret"])
                for side in scenarios.SIDES
            },
            "expected": scenario["expect"],
            "observed": observed,
            "wire": {**{k: v for k, v in facts.items()}},
            "files": {},
        }
        for side in scenarios.SIDES:
            nat = topology["nat"]
            the_label["configured"][side]["nat"] = (
                f"behind {nat['public']} (private {nat['private']})" if nat and nat["behind"] == side
                else "peer behind NAT" if nat else None)
        table_files = {}
        for table_name, content in tables.items():
            table_files[table_name] = f"{name}.{table_name}"
        the_label["wire"]["decrypted"] = label.decryption_check(pcap, tables, the_label) if tables else {}
        decrypted = the_label["wire"]["decrypted"]
        if tables and decrypted["encrypted_frames"] != decrypted["decrypted_frames"]:
            missing = sorted(set(decrypted["encrypted_frames"]) - set(decrypted["decrypted_frames"]))
            # with different keys on the two sides (a PSK mismatch in IKEv1), what sun encrypted stays closed
            from_sun = {m["frame"] for m in facts["ike_messages"] if m["src"] == topology["address"]["sun"]}
            if not (scenario["expect"].get("keys_differ") and set(missing) <= from_sun):
                problems.append(f"tshark could not decrypt frames {missing} with the key table")
        if tables and scenario["expect"]["outcome"] == "established":  # failures may stop before IDs
            wanted = {scenarios.IDENTITY["moon"], scenarios.IDENTITY["sun"]}
            if not wanted <= set(decrypted["identities"]):
                problems.append(f"identities read with the key table: {decrypted['identities']}")
        the_label["wire"]["timeline"] = wire.timeline(pcap, tables)
        problems += label.timeline_problems(scenario["expect"], the_label["wire"]["timeline"])
        if problems:
            raise netlab.LabError(f"{name}: the label's claims do not hold:\n  - " + "\n  - ".join(problems))

        # --- write the outputs ---
        out_dir.mkdir(parents=True, exist_ok=True)
        files = {"pcap": f"{name}.pcap", "label": f"{name}.json", **table_files,
                 "moon_log": f"{name}.moon.charon.log", "sun_log": f"{name}.sun.charon.log"}
        the_label["files"] = files
        shutil.copy(pcap, out_dir / files["pcap"])
        for table_name, content in tables.items():
            (out_dir / table_files[table_name]).write_text(content)
        for side in scenarios.SIDES:
            (out_dir / files[f"{side}_log"]).write_text(logs[side])
        for stale in out_dir.glob(f"{name}.ikev*_decryption_table"):
            if stale.name not in table_files.values():
                stale.unlink()
        (out_dir / files["label"]).write_text(json.dumps(the_label, indent=1, sort_keys=False) + "\n")
        say(f"{name}: wrote {out_dir / files['pcap']} ({facts['file_bytes']} bytes, {facts['frames']} frames, "
            f"exchanges {facts['exchanges']}) in {time.monotonic() - started:.1f}s")
        return the_label
    finally:
        if capture is not None:
            capture.stop()
        for daemon in daemons.values():
            daemon.stop()
        network.down()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lab/run.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", help="scenario names (see --list)")
    parser.add_argument("--all", action="store_true", help="run every scenario")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default: pcaps/)")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="scratch directory (default: lab/run/)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (configs, keys, logs)")
    parser.add_argument("--cleanup", action="store_true",
                        help="remove namespaces (and their processes) left by lab runs that are gone, then exit")
    args = parser.parse_args(argv)
    if args.list:
        for scenario_name, entry in scenarios.SCENARIOS.items():
            print(f"{scenario_name:24} {entry['description']}")
        for scenario_name, entry in peer_scenarios.SCENARIOS.items():
            print(f"{scenario_name:24} [pcaps/peers/] {entry['description']}")
        return 0
    if os.geteuid() != 0:
        print("lab/run.py: needs root (network namespaces, tcpdump, charon)", file=sys.stderr)
        return 2
    if args.cleanup:
        for removed in netlab.cleanup_stale():
            say(f"removed namespace {removed}")
        for work in args.work.glob("*-*"):
            owner = work.name.rsplit("-", 1)[1]
            if work.is_dir() and owner.isdigit() and not netlab.pid_alive(int(owner)):
                shutil.rmtree(work, ignore_errors=True)  # configs, logs and private keys of a dead run
                say(f"removed {work}")
        return 0
    names = [*scenarios.SCENARIOS, *peer_scenarios.SCENARIOS] if args.all else args.scenarios
    if not names:
        parser.error("name scenarios or use --all")
    unknown = [n for n in names if n not in scenarios.SCENARIOS and n not in peer_scenarios.SCENARIOS]
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(unknown)}")
    failed = []
    for scenario_name in names:
        try:
            if scenario_name in peer_scenarios.SCENARIOS:  # other implementations: lab/peers.py, pcaps/peers/
                out = args.out.resolve() if args.out != DEFAULT_OUT else peers.OUT
                attempts = peer_scenarios.SCENARIOS[scenario_name].get("attempts", 1)  # races: a rekey collision
                for attempt in range(1, attempts + 1):
                    try:
                        peers.run_scenario(scenario_name, out, args.work.resolve(), keep=args.keep)
                        break
                    except netlab.LabError as error:
                        if attempt == attempts:
                            raise
                        say(f"{scenario_name}: attempt {attempt} of {attempts} did not hold ({error}); again")
            else:
                run_scenario(scenario_name, args.out.resolve(), args.work.resolve(), keep=args.keep)
        except Exception as error:  # noqa: BLE001 - one scenario failing must not stop the others
            failed.append(scenario_name)
            print(f"[lab] {scenario_name}: FAILED: {error}", file=sys.stderr)
            if not isinstance(error, netlab.LabError):
                traceback.print_exc()
    if failed:
        print(f"[lab] failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
