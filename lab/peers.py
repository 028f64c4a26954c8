"""The mixed lab: strongSwan, libreswan (pluto), vpnc and ike-scan peers in network namespaces.

``lab/run.py`` runs strongSwan against strongSwan with a fixed script (initiate, ping, steps). The
scenarios of ``lab/peer_scenarios.py`` put other implementations on either side and run a script of
steps (start a daemon, initiate, wait for a log line, stop a daemon by PID, ping...). Each run writes
``pcaps/peers/<name>.pcap``, ``<name>.json`` (the label), the logs of every side as
``<name>.<side>.<implementation>.log`` and, when a strongSwan side logged its keys, the Wireshark key
tables. Nothing is written unless the label's claims hold in the logs and, read with tshark, in the
capture (``check_capture``: the same check ``tests/test_lab_peers.py`` runs on the committed files).
Standard library only; root for the run, nothing but tshark for the checks.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

from . import charonlog, config, label, netlab, scenarios, vici, wire

LAB_DIR = Path(__file__).resolve().parent
OUT = LAB_DIR.parent / "pcaps" / "peers"
LIBRESWAN_ROOT = Path(os.environ.get("IKSLAB_LIBRESWAN", "/opt/ikesniff-lab/libreswan"))  # `make libreswan`
PLUTO = LIBRESWAN_ROOT / "usr/libexec/ipsec/pluto"
WHACK = LIBRESWAN_ROOT / "usr/libexec/ipsec/whack"
LABEL_VERSION = 2
LOG_NAMES = {"charon": "charon", "pluto": "pluto", "vpnc": "vpnc", "ike-scan": "ike-scan"}
PLUTO_TIME = re.compile(r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?: ")


def say(message: str) -> None:
    print(f"[lab] {message}", flush=True)


def log_messages(text: str, implementation: str, pattern: str) -> list[tuple[int, str]]:
    """(line number, message) of every log line of one implementation whose message matches."""
    if implementation == "charon":
        return charonlog.messages(text, pattern)
    regex = re.compile(pattern)
    found = []
    for number, raw in enumerate(text.splitlines(), 1):
        message = PLUTO_TIME.sub("", raw)
        if message.startswith("| "):  # pluto's debug lines are not messages
            continue
        if regex.search(message):
            found.append((number, message))
    return found


# --- the daemons and tools of each implementation ---------------------------------------------

class Pluto:
    """libreswan's pluto in one namespace, with its own ipsec.conf, secrets, NSS database and run dir.

    pluto has compiled-in paths (/run/pluto, /usr/libexec/ipsec/addconn, which it runs to load the
    connections): it runs in a private mount namespace with the side's run directory on /run and the
    unpacked libreswan's libexec directory on /usr/libexec/ipsec (a tmpfs on /usr/libexec holds it).
    ``preload``: a library pluto runs with (LD_PRELOAD), the espintcp stand-in of ``espintcp_shim``.
    """

    def __init__(self, network: netlab.Network, side: str, work: Path, conf: str, secrets: str,
                 passwd: str = "", args: list[str] | None = None, preload: Path | None = None) -> None:
        self.side = side
        self.work = work
        self.run_dir = work / "run"
        (self.run_dir / "pluto").mkdir(parents=True, exist_ok=True)
        self.nss = work / "nss"
        self.nss.mkdir(exist_ok=True)
        netlab.run(["certutil", "-N", "-d", f"sql:{self.nss}", "--empty-password"])
        self.log = work / "pluto.log"
        self.conf = work / "ipsec.conf"
        self.conf.write_text(conf)
        self.secrets = work / "ipsec.secrets"
        self.secrets.write_text(secrets)
        os.chmod(self.secrets, 0o600)
        self.ipsecdir = work / "ipsec.d"  # XAUTH's passwd file lives here (xauthby=file)
        self.ipsecdir.mkdir(exist_ok=True)
        if passwd:
            (self.ipsecdir / "passwd").write_text(passwd)
            os.chmod(self.ipsecdir / "passwd", 0o600)
        self.ctl = self.run_dir / "pluto" / "pluto.ctl"
        script = ('mount --bind "$0" /run && mount -t tmpfs tmpfs /usr/libexec && mkdir /usr/libexec/ipsec '
                  '&& mount --bind "$1" /usr/libexec/ipsec && shift && exec "$@"')
        cmd = network.exec_cmd(side, [
            "unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(self.run_dir),
            str(LIBRESWAN_ROOT / "usr/libexec/ipsec"), *(["env", f"LD_PRELOAD={preload}"] if preload else []),
            str(PLUTO), "--nofork", "--config", str(self.conf),
            "--secretsfile", str(self.secrets), "--nssdir", str(self.nss), "--ipsecdir", str(self.ipsecdir), *(args or [])])
        self.cmd = cmd
        self.launch()

    def launch(self) -> None:
        self.launches = getattr(self, "launches", 0) + 1
        self.out = open(self.work / "pluto.stdout", "a")  # noqa: SIM115 - pluto writes to it for its whole life
        self.proc = subprocess.Popen(self.cmd, stdout=self.out, stderr=subprocess.STDOUT)

    def start(self) -> None:
        """Start pluto again after ``kill`` (the first start happens when the side is built)."""
        if self.proc.poll() is not None:
            self.launch()

    def kill(self) -> int | None:
        """A crash: SIGKILL to the PID we started."""
        code = netlab.stop_process(self.proc, signal.SIGKILL, timeout=5)
        self.out.close()
        return code

    def wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise netlab.LabError(f"pluto of {self.side} exited with {self.proc.returncode}: "
                                      f"{(self.work / 'pluto.stdout').read_text().strip()[-300:]}")
            text = self.log.read_text(errors="replace") if self.log.exists() else ""
            # a restarted pluto appends (logappend=yes): wait for this start's own line
            if self.ctl.exists() and len(log_messages(text, "pluto", r"^listening for IKE messages")) >= self.launches:
                return
            time.sleep(0.1)
        raise netlab.LabError(f"pluto of {self.side} did not start listening")

    def whack(self, *args: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return netlab.run([str(WHACK), "--ctlsocket", str(self.ctl), *args], check=check, timeout=timeout)

    def initiate(self) -> None:
        self.whack("--name", "lab", "--initiate", "--asynchronous")

    def established(self) -> bool:
        status = self.whack("--trafficstatus", check=False).stdout
        return '"lab"' in status

    def stop(self) -> int | None:
        code = netlab.stop_process(self.proc, signal.SIGTERM, timeout=15)
        self.out.close()
        return code


class Strongswan:
    """charon (netlab.Charon) with the lab's strongswan.conf/swanctl.conf built from a side's settings."""

    def __init__(self, network: netlab.Network, side: str, work: Path, charon: dict[str, Any],
                 swanctl: dict[str, Any], plugins: list[str]) -> None:
        self.side = side
        self.work = work
        self.run_dir = work / "run"
        self.swanctl_dir = work / "swanctl"
        for directory in (self.run_dir, *(self.swanctl_dir / d for d in ("x509", "x509ca", "private"))):
            directory.mkdir(parents=True, exist_ok=True)
        self.log = work / "charon.log"
        conf = scenarios.strongswan_conf({"charon": charon}, str(self.run_dir), str(self.log))
        conf["charon"]["load"] = " ".join([*scenarios.CHARON_PLUGINS, *plugins])
        self.conf = work / "strongswan.conf"
        self.conf.write_text(config.render(conf) + "\n")
        (self.swanctl_dir / "swanctl.conf").write_text(config.render(swanctl) + "\n")
        self.network = network
        self.daemon: netlab.Charon | None = None
        self.initiation: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.daemon = netlab.Charon(self.network, self.side, self.conf, self.run_dir, self.work / "charon.stdout")

    def wait_ready(self) -> None:
        assert self.daemon is not None
        self.daemon.wait_ready()
        self.daemon.swanctl("--load-all", "--file", str(self.swanctl_dir / "swanctl.conf"))

    def initiate(self) -> None:
        assert self.daemon is not None
        self.initiation = self.daemon.swanctl_background("--initiate", "--child", "net", "--timeout", "30")

    def established(self) -> bool:
        if self.daemon is None or self.daemon.proc.poll() is not None:
            return False
        sas = [sa for key, sa in vici.list_sas(str(self.daemon.vici)).items() if key.startswith("lab#")]
        return any(sa.get("state") == "ESTABLISHED"
                   and any(c.get("state") == "INSTALLED" for c in sa.get("child-sas", {}).values()) for sa in sas)

    def kill(self) -> int | None:
        """A crash: SIGKILL to the PID we started (no Delete, no goodbye)."""
        if self.daemon is None:
            return None
        code = netlab.stop_process(self.daemon.proc, signal.SIGKILL, timeout=5)
        self.daemon.out.close()
        self.daemon = None
        return code

    def stop(self) -> int | None:
        if self.initiation is not None:
            netlab.stop_process(self.initiation)
        code = self.daemon.stop() if self.daemon is not None else None
        self.daemon = None
        return code


class Vpnc:
    """vpnc (a Cisco-style IKEv1 aggressive mode + XAUTH client) in one namespace, in the foreground.

    Its connect script is the lab's own (lab/vpnc-script): it only brings the TUN device up with the
    address the gateway assigned, so nothing outside the namespace (resolv.conf, routes) is touched.
    """

    def __init__(self, network: netlab.Network, side: str, work: Path, conf: str, args: list[str]) -> None:
        self.side = side
        self.work = work
        work.mkdir(parents=True, exist_ok=True)
        self.conf = work / "vpnc.conf"
        self.conf.write_text(conf)
        os.chmod(self.conf, 0o600)
        self.log = work / "vpnc.log"
        self.network = network
        self.args = args
        self.proc: subprocess.Popen[str] | None = None

    def initiate(self) -> None:
        cmd = self.network.exec_cmd(self.side, [  # stdbuf: vpnc's stdio buffer would die with it on SIGTERM
            "stdbuf", "-oL", "-eL", "vpnc", "--no-detach", "--non-inter", "--pid-file", str(self.work / "vpnc.pid"),
            "--script", str(LAB_DIR / "vpnc-script"), *self.args, str(self.conf)])
        self.out = open(self.log, "w")  # noqa: SIM115 - vpnc writes to it for its whole life
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=subprocess.STDOUT, text=True)

    def established(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and bool(
            log_messages(self.log.read_text(errors="replace"), "vpnc", r"^vpnc-script: connect "))

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        code = netlab.stop_process(self.proc, signal.SIGTERM, timeout=10)
        self.out.close()
        return code


class IkeScan:
    """ike-scan runs once (a probe, not a daemon): ``initiate`` runs it to the end."""

    def __init__(self, network: netlab.Network, side: str, work: Path, args: list[str]) -> None:
        self.side = side
        self.network = network
        work.mkdir(parents=True, exist_ok=True)
        self.log = work / "ike-scan.log"
        self.args = args

    def initiate(self) -> None:
        result = netlab.run(self.network.exec_cmd(self.side, ["ike-scan", *self.args]), check=False, timeout=120)
        with open(self.log, "a") as log:
            log.write(f"$ ike-scan {' '.join(self.args)}\n{result.stdout}{result.stderr}")

    def established(self) -> bool:
        return False

    def stop(self) -> int | None:
        return None


# --- configuration ------------------------------------------------------------------------------

def pluto_conf(settings: dict[str, Any], log: Path) -> str:
    """ipsec.conf text: ``config setup`` with the lab's logging, and the connection ``lab``."""
    setup = {"logfile": str(log), "logappend": "no", "logtime": "yes", **settings.get("setup", {})}
    lines = ["config setup", *(f"\t{k}={v}" for k, v in setup.items()), "", "conn lab"]
    lines += [f"\t{k}={v}" for k, v in settings["conn"].items() if v is not None]
    return "\n".join(lines) + "\n"


def pluto_secrets(settings: dict[str, Any]) -> str:
    lines = []
    for entry in settings.get("secrets", []):
        lines.append(f'{entry["ids"]} : {entry["type"]} "{entry["secret"]}"')
    return "\n".join(lines) + "\n"


def vpnc_conf(settings: dict[str, Any]) -> str:
    return "".join(f"{k} {v}\n" for k, v in settings["conf"].items())


def make_certificates(work: Path, sides: dict[str, Strongswan], certs: dict[str, Any], env: dict[str, str]) -> None:
    """A lab CA and a certificate for each strongSwan side that has ``cert: true`` (made by pki at run time)."""
    pki_dir = work / "pki"
    pki_dir.mkdir(exist_ok=True)
    key_args = ["--type", certs.get("type", "rsa"), "--size", str(certs.get("size", 2048)), "--outform", "pem"]

    def pki(args: list[str], output: Path) -> None:
        output.write_text(netlab.run(["pki", *args], env=env, timeout=120).stdout)

    pki(["--gen", *key_args], pki_dir / "ca.key")
    pki(["--self", "--ca", "--lifetime", "3650", "--in", str(pki_dir / "ca.key"), "--type", "priv",
         "--dn", "C=XX, O=ikesniff lab, CN=ikesniff lab CA", "--outform", "pem"], pki_dir / "ca.crt")
    for side, daemon in sides.items():
        shutil.copy(pki_dir / "ca.crt", daemon.swanctl_dir / "x509ca" / "ca.crt")
        if side not in certs.get("holders", []):
            continue
        issuer = "ca"
        for level in range(1, certs.get("intermediates", 0) + 1):
            # a longer chain of the holder's own (the peer trusts the root only, so the holder must send these)
            name = f"{side}-ica{level}"
            pki(["--gen", *key_args], pki_dir / f"{name}.key")
            pki(["--issue", "--cacert", str(pki_dir / f"{issuer}.crt"), "--cakey", str(pki_dir / f"{issuer}.key"),
                 "--type", "priv", "--in", str(pki_dir / f"{name}.key"), "--lifetime", "3000", "--ca",
                 "--dn", f"C=XX, O=ikesniff lab, CN=ikesniff lab {side} intermediate CA {level}", "--outform", "pem"],
                pki_dir / f"{name}.crt")
            shutil.copy(pki_dir / f"{name}.crt", daemon.swanctl_dir / "x509ca" / f"{name}.crt")
            issuer = name
        identity = scenarios.IDENTITY[side]
        fault = certs.get("faults", {}).get(side)  # a certificate the peer must refuse
        validity = ["--lifetime", "1825"]
        if fault == "untrusted":  # issued by a CA the peer does not hold
            pki(["--gen", *key_args], pki_dir / "rogue-ca.key")
            pki(["--self", "--ca", "--lifetime", "3650", "--in", str(pki_dir / "rogue-ca.key"), "--type", "priv",
                 "--dn", "C=XX, O=ikesniff lab, CN=ikesniff lab untrusted CA", "--outform", "pem"],
                pki_dir / "rogue-ca.crt")
            issuer = "rogue-ca"
        elif fault == "expired":  # valid for a day, two years ago
            validity = ["--not-before", "01.01.24 00:00:00", "--not-after", "02.01.24 00:00:00"]
        san = "other.example" if fault == "wrong-id" else identity  # the identity the side claims is not in it
        pki(["--gen", *key_args], pki_dir / f"{side}.key")
        pki(["--issue", "--cacert", str(pki_dir / f"{issuer}.crt"), "--cakey", str(pki_dir / f"{issuer}.key"),
             "--type", "priv", "--in", str(pki_dir / f"{side}.key"), *validity, "--dn",
             f"C=XX, O=ikesniff lab, CN={san}", "--san", san, "--flag", "serverAuth", "--outform", "pem"],
            pki_dir / f"{side}.crt")
        shutil.copy(pki_dir / f"{side}.crt", daemon.swanctl_dir / "x509" / f"{side}.crt")
        shutil.copy(pki_dir / f"{side}.key", daemon.swanctl_dir / "private" / f"{side}.key")
        os.chmod(daemon.swanctl_dir / "private" / f"{side}.key", 0o600)


def espintcp_shim(work: Path) -> Path:
    """lab/espintcp.c built for this run: the user-space stand-in for the kernel's espintcp framing (RFC 8229
    length fields) that pluto needs for IKE over TCP and this kernel lacks (no ESP, so no espintcp)."""
    shim = work / "espintcp.so"
    if not shim.exists():
        netlab.run(["gcc", "-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o", str(shim),
                    str(LAB_DIR / "espintcp.c"), "-ldl"], timeout=120)
    return shim


def build_side(network: netlab.Network, side: str, settings: dict[str, Any], work: Path) -> Any:
    impl = settings["impl"]
    side_dir = work / side
    side_dir.mkdir(parents=True, exist_ok=True)
    if impl == "charon":
        return Strongswan(network, side, side_dir, settings.get("charon", {}), settings["swanctl"],
                          settings.get("plugins", []))
    if impl == "pluto":
        passwd = ""
        for user, password in settings.get("xauth_users", {}).items():  # user:crypt(3) hash:connection
            hashed = netlab.run(["openssl", "passwd", "-6", "-salt", "ikslab", password]).stdout.strip()
            passwd += f"{user}:{hashed}:lab\n"
        return Pluto(network, side, side_dir, pluto_conf(settings, side_dir / "pluto.log"), pluto_secrets(settings),
                     passwd, settings.get("args"), espintcp_shim(work) if settings.get("espintcp") else None)
    if impl == "vpnc":
        return Vpnc(network, side, side_dir, vpnc_conf(settings), settings.get("args", []))
    if impl == "ike-scan":
        return IkeScan(network, side, side_dir, settings["args"])
    raise netlab.LabError(f"unknown implementation {impl}")


# --- a run -------------------------------------------------------------------------------------

def read_log(daemon: Any) -> str:
    path: Path = daemon.log
    return path.read_text(errors="replace") if path.exists() else ""


def run_steps(scenario: dict[str, Any], network: netlab.Network, sides: dict[str, Any]) -> list[dict[str, Any]]:
    """The scenario's script, in order; returns what each step did (for the label).

    ``{"start": side}`` (and wait until it listens); ``{"initiate": side}``; ``{"stop": side}`` (by PID);
    ``{"kill": side}`` (SIGKILL by PID: a crash; strongSwan only);
    ``{"wait_log": [side, regex, timeout]}`` (a line written since the step before the waits began);
    ``{"sleep": s}``; ``{"pings": n}`` (moon to sun's inner address); ``{"iptables": {side: [rule]}}``;
    ``{"swanctl": [side, args...]}``; ``{"whack": [side, args...]}``; ``{"ip": [side, args...]}`` (iproute2);
    ``{"sysctl": [side, "key=value"]}``; ``{"established": [side, ...]}``
    (wait until those sides hold the tunnel, up to 20 s).
    """
    done: list[dict[str, Any]] = []
    started = time.monotonic()
    marks = {side: len(read_log(d).splitlines()) for side, d in sides.items()}
    for step in scenario["steps"]:
        record: dict[str, Any] = {"step": step, "at": round(time.monotonic() - started, 1)}
        if "wait_log" not in step:
            marks = {side: len(read_log(d).splitlines()) for side, d in sides.items()}
        if "start" in step:
            daemon = sides[step["start"]]
            daemon.start()
            daemon.wait_ready()
        elif "initiate" in step:
            sides[step["initiate"]].initiate()
        elif "stop" in step:
            record["returncode"] = sides[step["stop"]].stop()
        elif "kill" in step:
            record["returncode"] = sides[step["kill"]].kill()
        elif "wait_log" in step:
            side, pattern, timeout = step["wait_log"]
            impl = scenario["sides"][side]["impl"]
            deadline = time.monotonic() + float(timeout)
            found: list[tuple[int, str]] = []
            while time.monotonic() < deadline and not found:
                found = [m for m in log_messages(read_log(sides[side]), impl, pattern) if m[0] > marks[side]]
                time.sleep(0.1)
            if not found:
                raise netlab.LabError(f"{scenario['name']}: {side}'s log did not say {pattern!r} within {timeout}s")
            record["line"] = {"line": found[0][0], "text": found[0][1]}
        elif "established" in step:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not all(sides[s].established() for s in step["established"]):
                time.sleep(0.2)
            record["result"] = {s: sides[s].established() for s in step["established"]}
        elif "sleep" in step:
            time.sleep(float(step["sleep"]))
        elif "pings" in step:
            result = netlab.run(network.exec_cmd("moon", [
                sys.executable, str(LAB_DIR / "pinger.py"), scenario["inner"]["moon"],
                scenario["inner"]["sun"], str(step["pings"])]), timeout=60)
            record["result"] = json.loads(result.stdout)
        elif "iptables" in step:
            for side, rules in step["iptables"].items():
                for rule in rules:
                    network.run_in(side, ["iptables", *rule])
        elif "swanctl" in step:
            side, *args = step["swanctl"]
            record["returncode"] = sides[side].daemon.swanctl(*args, check=False).returncode
        elif "ip" in step:
            side, *args = step["ip"]
            network.run_in(side, ["ip", *args])
        elif "sysctl" in step:
            side, setting = step["sysctl"]
            network.run_in(side, ["sysctl", "-qw", setting])
        elif "whack" in step:
            side, *args = step["whack"]
            record["returncode"] = sides[side].whack(*args, check=False).returncode
        else:
            raise netlab.LabError(f"{scenario['name']}: unknown step {step}")
        say(f"{scenario['name']}: {step} done")
        done.append(record)
    return done


def key_tables(logs: dict[str, str], implementations: dict[str, str],
               order: list[str] | None = None) -> tuple[dict[str, str], list[str]]:
    """Wireshark key tables from the strongSwan sides' logs (charon logs its keys at ike 4), and the sides used.

    Rows of every strongSwan side are merged (first side first, one row per SA): in a rekey collision each
    side logs the proposal of only some of the new SAs. An SA whose SPIs or keys a log lacks is left to the
    other side's log; one whose proposal alone is missing gets the log's proposal when every IKE SA of that
    log has the same one (a configuration with a single proposal: nothing else could have been chosen).
    """
    rows: dict[str, dict[str, str]] = {"ikev1_decryption_table": {}, "ikev2_decryption_table": {}}
    used: list[str] = []
    for side in order or list(logs):
        if implementations.get(side) != "charon":
            continue
        facts = charonlog.ike_sas(logs[side])
        proposals = {sa.ike_proposal for sa in facts.values() if sa.ike_proposal}
        for sa in facts.values():
            if sa.version == 2 and not sa.ike_proposal and len(proposals) == 1:
                sa = dataclasses.replace(sa, ike_proposal=next(iter(proposals)))
            try:
                if sa.version == 2 and "sk_ei" in sa.keys:
                    name, row = "ikev2_decryption_table", charonlog.ikev2_table_row(sa)
                elif sa.version == 1 and "ka" in sa.keys:
                    name, row = "ikev1_decryption_table", charonlog.ikev1_table_row(sa)
                else:
                    continue
            except ValueError:
                continue
            width = 2 if name.startswith("ikev2") else 1
            key = ",".join(row.split(",")[:width])
            if key not in rows[name]:
                rows[name][key] = row
                if side not in used:
                    used.append(side)
    header = "# Wireshark {} written by ikesniff lab/ from a charon log at ike 4\n"
    tables = {name: header.format(name) + "\n".join(r.values()) + "\n" for name, r in rows.items() if r}
    return tables, used


def check_capture(the_label: dict[str, Any], pcap: Path, tables: dict[str, str],
                  logs: dict[str, str]) -> list[str]:
    """Every claim of a label against its capture (tshark) and its logs; [] when all hold."""
    problems: list[str] = []
    expect = the_label["expected"]
    facts = wire.pcap_facts(pcap)
    claimed = the_label["wire"]
    for key in ("frames", "exchanges", "esp_frames", "esp_spis", "ip_fragments", "ikev2_fragments", "ike_messages"):
        if facts[key] != claimed.get(key):
            problems.append(f"{key}: label says {claimed.get(key)!r}, capture shows {facts[key]!r}")
    for exchange, count in expect.get("wire", {}).get("exchanges", {}).items():
        if not wire.check_count(count, facts["exchanges"].get(exchange, 0)):
            problems.append(f"{exchange}: expected {count}, capture shows {facts['exchanges'].get(exchange, 0)}")
    if expect.get("esp") and not facts["esp_frames"]:
        problems.append("expected ESP, the capture has none")
    if expect.get("esp") is False and facts["esp_frames"]:
        problems.append(f"expected no ESP, the capture has {facts['esp_frames']} ESP frames")
    if facts["ikev2_fragments"] < expect.get("wire", {}).get("min_ikev2_fragments", 0):
        problems.append(f"{facts['ikev2_fragments']} IKEv2 fragments, expected more")
    timeline = wire.timeline(pcap, tables)
    if timeline != claimed.get("timeline"):
        problems.append("the timeline tshark gives differs from the label's")
    problems += label.timeline_problems(expect, timeline)
    tcp = sum(1 for m in facts["ike_messages"] if m.get("transport") == "tcp")
    if "tcp_messages" in expect.get("wire", {}) and not wire.check_count(expect["wire"]["tcp_messages"], tcp):
        problems.append(f"{tcp} IKE messages over TCP in the capture, expected {expect['wire']['tcp_messages']}")
    spis = {m["spi_i"] for m in facts["ike_messages"]}
    if len(spis) < expect.get("wire", {}).get("min_initiator_spis", 0):
        problems.append(f"{len(spis)} IKE SAs (initiator SPIs) in the capture, expected more")
    if tables:
        view = label.decryption_check(pcap, tables, {"wire": facts})
        if view != claimed.get("decrypted"):
            problems.append(f"decryption with the key table: label says {claimed.get('decrypted')}, tshark gives {view}")
        missing = sorted(set(view["encrypted_frames"]) - set(view["decrypted_frames"]))
        allowed = set(expect.get("undecryptable_frames_from", []))
        by_frame = {m["frame"]: m for m in facts["ike_messages"]}
        if [f for f in missing if by_frame[f]["src"] not in allowed]:
            problems.append(f"tshark could not decrypt frames {missing} with the key table")
    for side, patterns in expect.get("log", {}).items():
        impl = the_label["implementations"][side]["impl"]
        for pattern in patterns:
            if not log_messages(logs[side], impl, pattern):
                problems.append(f"{side}'s {impl} log has no line matching {pattern!r}")
    for side, lines in the_label["observed"].get("decisive_log_lines", {}).items():
        impl = the_label["implementations"][side]["impl"]
        numbered = dict(log_messages(logs[side], impl, ""))
        for line in lines:
            if numbered.get(line["line"]) != line["text"]:
                problems.append(f"{side}'s log line {line['line']} is not {line['text']!r}")
    if facts["file_bytes"] > 200_000:
        problems.append(f"the capture is {facts['file_bytes']} bytes (limit 200 kB)")
    return problems


def implementation_version(impl: str, log: str) -> str | None:
    patterns = {"charon": r"Starting IKE charon daemon \(strongSwan ([^,]+),", "pluto": r"Libreswan Version (\S+)",
                "vpnc": r"vpnc version (\S+)", "ike-scan": r"ike-scan (\d[\d.]+)"}
    match = re.search(patterns[impl], log)
    if match:
        return match.group(1)
    if impl in ("vpnc", "ike-scan"):
        package = {"vpnc": "vpnc", "ike-scan": "ike-scan"}[impl]
        result = netlab.run(["dpkg-query", "-W", "-f", "${Version}", package], check=False)
        return result.stdout.strip() or None
    return None


def run_scenario(name: str, out_dir: Path, work_root: Path, keep: bool = False) -> dict[str, Any]:
    from . import peer_scenarios

    scenario = peer_scenarios.resolve(name)
    topology = scenario["topology_data"]
    # short (charon's vici socket path must fit in 108 bytes) and distinct for names sharing a prefix
    work = work_root / f"{name[:16]}-{zlib.crc32(name.encode()) % 100000}-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    network = netlab.Network(topology, tag=name[:12], mtu=scenario.get("mtu"))
    sides: dict[str, Any] = {}
    capture: netlab.Capture | None = None
    started = time.monotonic()
    try:
        netlab.cleanup_stale()
        network.up()
        for side in scenario["lo_sides"]:  # a virtual IP (vpnc, mode config) is the client's own business
            network.add_address(side, scenario["inner"][side] + "/32")
        for side, addresses in scenario.get("addresses", {}).items():  # second and IPv6 addresses (no DAD wait)
            for device, address in addresses:
                network.run_in(side, ["ip", "addr", "add", address, "dev", device, "nodad"])
        for side, settings in scenario["sides"].items():
            sides[side] = build_side(network, side, settings, work)
        charon_sides = {s: d for s, d in sides.items() if isinstance(d, Strongswan)}
        if scenario.get("certs"):
            env = {**os.environ, "STRONGSWAN_CONF": str(next(iter(charon_sides.values())).conf)}
            make_certificates(work, charon_sides, scenario["certs"], env)
        for side, rules in scenario.get("iptables", {}).items():
            for rule in rules:
                network.run_in(side, ["iptables", *rule])
        capture_side, capture_if = topology["capture"]
        capture = netlab.Capture(network, capture_side, capture_if, work / "capture.pcap", work / "tcpdump.log",
                                 scenario.get("capture_filter", "ip"))
        capture.wait_ready()
        steps = run_steps(scenario, network, sides)
        tunnel = {side: sides[side].established() for side in scenario["tunnel_sides"]}
        time.sleep(0.3)
        capture.stop()
        for side in reversed(list(sides)):
            sides[side].stop()
        network.down()

        logs = {side: read_log(d) for side, d in sides.items()}
        pcap = work / "capture.pcap"
        facts = wire.pcap_facts(pcap)
        tables, keys_sides = key_tables(logs, {side: s["impl"] for side, s in scenario["sides"].items()},
                                        scenario.get("keys_from"))
        pings = [s["result"] for s in steps if "pings" in s["step"]]
        ever_up = {side: any(s.get("result", {}).get(side) for s in steps if "established" in s["step"])
                   for side in scenario["tunnel_sides"]}
        if not tunnel:
            outcome = "probe"  # nobody meant to hold a tunnel: a scanner's probes
        elif all(tunnel.values()):
            outcome = "established"
        elif all(ever_up.values()) and ever_up:
            outcome = "torn_down"
        else:
            outcome = "failed"
        expect = scenario["expect"]
        decisive = {side: [{"pattern": p, "line": n, "text": t} for p in patterns
                           for n, t in log_messages(logs[side], scenario["sides"][side]["impl"], p)[:3]]
                    for side, patterns in expect.get("log", {}).items()}
        observed = {
            "outcome": outcome,
            "tunnel_at_end": tunnel,
            "tunnel_seen": ever_up,
            "pings": pings,
            "decisive_log_lines": decisive,
            "steps": steps,
            "keys_logged_by": keys_sides,
        }
        the_label: dict[str, Any] = {
            "label_version": LABEL_VERSION,
            "scenario": name,
            "description": scenario["description"],
            "generated_by": "lab/peers.py (ikesniff lab: real peers of several implementations in network namespaces)",
            "implementations": {
                side: {"impl": s["impl"], "software": peer_scenarios.SOFTWARE[s["impl"]],
                       "version": implementation_version(s["impl"], logs[side]), "role": s.get("role")}
                for side, s in scenario["sides"].items()},
            "topology": {"name": scenario["topology"], "description": topology["description"],
                         "addresses": topology["address"], "inner": scenario["inner"],
                         "capture_point": "{}:{}".format(*topology["capture"]),
                         "kernel_ipsec": peer_scenarios.KERNEL_NOTE},
            "initiator": scenario.get("initiator"),
            "responder": scenario.get("responder"),
            "configured": {side: s.get("summary", {}) for side, s in scenario["sides"].items()},
            "notes": scenario.get("notes", []),
            "expected": expect,
            "observed": observed,
            "wire": {**facts, "timeline": wire.timeline(pcap, tables)},
            "files": {},
        }
        if tables:
            the_label["wire"]["decrypted"] = label.decryption_check(pcap, tables, {"wire": facts})
        problems = []
        if outcome != expect["outcome"]:
            problems.append(f"outcome {outcome!r}, expected {expect['outcome']!r}")
        for result in pings:
            if expect.get("pings_answered", True) and result["received"] != result["sent"]:
                problems.append(f"pings: {result['received']}/{result['sent']} answered")
        problems += check_capture(the_label, pcap, tables, logs)
        if problems:
            raise netlab.LabError(f"{name}: the label's claims do not hold:\n  - " + "\n  - ".join(problems))

        out_dir.mkdir(parents=True, exist_ok=True)
        files: dict[str, str] = {"pcap": f"{name}.pcap", "label": f"{name}.json"}
        for side, settings in scenario["sides"].items():
            files[f"{side}_log"] = f"{name}.{side}.{LOG_NAMES[settings['impl']]}.log"
            (out_dir / files[f"{side}_log"]).write_text(logs[side])
        for table_name, content in tables.items():
            files[table_name] = f"{name}.{table_name}"
            (out_dir / files[table_name]).write_text(content)
        for stale in out_dir.glob(f"{name}.ikev*_decryption_table"):
            if stale.name not in files.values():
                stale.unlink()
        the_label["files"] = files
        shutil.copy(pcap, out_dir / files["pcap"])
        (out_dir / files["label"]).write_text(json.dumps(the_label, indent=1) + "\n")
        say(f"{name}: wrote {out_dir / files['pcap']} ({facts['file_bytes']} bytes, {facts['frames']} frames, "
            f"exchanges {facts['exchanges']}) in {time.monotonic() - started:.1f}s")
        return the_label
    finally:
        if capture is not None:
            capture.stop()
        for daemon in sides.values():
            daemon.stop()
        network.down()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
