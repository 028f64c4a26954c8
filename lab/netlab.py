"""Network namespaces, veth links and the processes the lab starts in them (root only).

Everything the lab creates carries the prefix ``ikslab-<pid>-`` (namespaces) so a
crashed run can be found and removed later (``cleanup_stale``). Processes are
stopped by the PID the lab recorded when it started them, never by name.
Packets only travel between the lab's own namespaces: no link touches the host's
interfaces and every address is in a documentation range.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

PREFIX = "ikslab-"
NETNS_DIR = Path("/run/netns")


class LabError(Exception):
    """The lab could not build, run or check a scenario."""


def run(cmd: list[str], check: bool = True, timeout: float = 30, env: dict[str, str] | None = None,
        ) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout, env=env)
    if check and result.returncode != 0:
        raise LabError(f"{' '.join(cmd)} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}")
    return result


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_process(proc: subprocess.Popen[Any], sig: int = signal.SIGTERM, timeout: float = 10) -> int | None:
    """Signal one process we started (by its PID) and reap it; SIGKILL if it does not go."""
    if proc.poll() is not None:
        return proc.returncode
    try:
        os.kill(proc.pid, sig)
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        return proc.wait(timeout=5)
    except ProcessLookupError:
        return proc.wait(timeout=5)


def list_namespaces() -> list[str]:
    result = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in result.stdout.splitlines() if line.strip()]


def namespace_pids(name: str) -> list[int]:
    result = run(["ip", "netns", "pids", name], check=False)
    return [int(token) for token in result.stdout.split() if token.isdigit()]


def kill_namespace(name: str) -> None:
    """Stop the processes living in one lab namespace (by PID) and delete it."""
    pids = namespace_pids(name)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if pid_alive(pid)]
        time.sleep(0.1)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    run(["ip", "netns", "delete", name], check=False)


def cleanup_stale(every: bool = False) -> list[str]:
    """Remove namespaces left by lab runs whose process is gone (or all lab namespaces)."""
    removed = []
    for name in list_namespaces():
        if not name.startswith(PREFIX):
            continue
        owner = name[len(PREFIX):].split("-", 1)[0]
        if every or not owner.isdigit() or not pid_alive(int(owner)):
            kill_namespace(name)
            removed.append(name)
    return removed


class Network:
    """The namespaces and links of one topology (``scenarios.TOPOLOGIES``)."""

    def __init__(self, topology: dict[str, Any], tag: str, mtu: int | None = None) -> None:
        self.topology = topology
        self.mtu = mtu
        self.prefix = f"{PREFIX}{os.getpid()}-{tag}-"
        self.namespaces: dict[str, str] = {side: self.prefix + side for side in topology["namespaces"]}
        self.created: list[str] = []

    def ns(self, side: str) -> str:
        return self.namespaces[side]

    def exec_cmd(self, side: str, cmd: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.ns(side), *cmd]

    def run_in(self, side: str, cmd: list[str], check: bool = True,
               timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return run(self.exec_cmd(side, cmd), check=check, timeout=timeout)

    def up(self) -> None:
        for side, name in self.namespaces.items():
            run(["ip", "netns", "add", name])
            self.created.append(name)
            self.run_in(side, ["ip", "link", "set", "lo", "up"])
        for (side_a, if_a, addr_a), (side_b, if_b, addr_b) in self.topology["links"]:
            # created inside the namespaces directly: no interface ever appears in the host's namespace
            self.run_in(side_a, ["ip", "link", "add", if_a, "type", "veth", "peer", "name", if_b,
                                 "netns", self.ns(side_b)])
            for side, ifname, addr in ((side_a, if_a, addr_a), (side_b, if_b, addr_b)):
                if self.mtu:
                    self.run_in(side, ["ip", "link", "set", ifname, "mtu", str(self.mtu)])
                self.run_in(side, ["ip", "addr", "add", addr, "dev", ifname])
                self.run_in(side, ["ip", "link", "set", ifname, "up"])
        for side, routes in self.topology["routes"].items():
            for route in routes:
                self.run_in(side, ["ip", "route", "add", *route])
        for side in self.topology["forwarding"]:
            self.run_in(side, ["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        for side, rules in self.topology["iptables"].items():
            for rule in rules:
                self.run_in(side, ["iptables", *rule])

    def add_address(self, side: str, address: str, device: str = "lo") -> None:
        self.run_in(side, ["ip", "addr", "add", address, "dev", device])

    def down(self) -> None:
        for name in reversed(self.created):
            kill_namespace(name)
        self.created.clear()


class Capture:
    """tcpdump on one interface inside a namespace, writing a pcap."""

    def __init__(self, network: Network, side: str, interface: str, path: Path, log: Path,
                 bpf: str = "ip") -> None:
        self.path = path
        self.log_path = log
        # -U: flush per packet; --immediate-mode: no packet waits in a kernel ring block when tcpdump stops;
        # -Z root: keep writing into root-owned directories;
        # 'ip': IPv4 only (no IPv6 neighbour discovery chatter), keeps ICMP and IP fragments
        cmd = network.exec_cmd(side, ["tcpdump", "-i", interface, "-n", "-U", "--immediate-mode", "-s", "0",
                                      "-Z", "root", "-w", str(path), bpf])
        self.log = open(log, "w+")  # noqa: SIM115 - tcpdump writes to it for its whole life
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.log)

    def wait_ready(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LabError(f"tcpdump exited: {self.log_path.read_text().strip()}")
            if "listening on" in self.log_path.read_text():
                return
            time.sleep(0.05)
        raise LabError("tcpdump did not start listening")

    def stop(self) -> None:
        stop_process(self.proc, signal.SIGINT)
        self.log.close()


class Charon:
    """One charon daemon in one namespace, with its own strongswan.conf, vici socket and pid file.

    charon 5.9.8 writes its pid file to the compiled-in /var/run/charon.pid; two daemons
    would collide there. Each daemon therefore runs in a private mount namespace whose
    /run is the side's own run directory (``unshare -m`` + ``mount --bind``). ``ip netns exec``,
    ``unshare`` and ``sh`` all exec, so the PID we get back is charon's own.
    """

    BINARY = "/usr/lib/ipsec/charon"

    def __init__(self, network: Network, side: str, conf: Path, run_dir: Path, stdout: Path) -> None:
        self.side = side
        self.run_dir = run_dir
        self.conf = conf
        self.vici = run_dir / "charon.vici"
        self.env = {**os.environ, "STRONGSWAN_CONF": str(conf)}
        script = 'mount --bind "$0" /run && exec "$@"'
        cmd = network.exec_cmd(side, ["unshare", "--mount", "--propagation", "private",
                                      "sh", "-c", script, str(run_dir), self.BINARY])
        self.out = open(stdout, "w")  # noqa: SIM115 - charon writes to it for its whole life
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=subprocess.STDOUT, env=self.env)

    @property
    def uri(self) -> str:
        return f"unix://{self.vici}"

    def wait_ready(self, timeout: float = 15) -> None:
        from . import vici

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LabError(f"charon of {self.side} exited with {self.proc.returncode}")
            if self.vici.exists():
                try:
                    vici.version(str(self.vici))
                except OSError:
                    pass
                else:
                    pid_file = self.run_dir / "charon.pid"
                    if pid_file.exists() and pid_file.read_text().strip() != str(self.proc.pid):
                        raise LabError(f"charon pid file says {pid_file.read_text().strip()}, we started {self.proc.pid}")
                    return
            time.sleep(0.05)
        raise LabError(f"charon of {self.side} did not open its vici socket")

    def swanctl(self, *args: str, timeout: float = 30, check: bool = True) -> subprocess.CompletedProcess[str]:
        # swanctl only talks to the vici socket (a file), so it needs no namespace
        return run(["swanctl", *args, "--uri", self.uri], check=check, timeout=timeout, env=self.env)

    def swanctl_background(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(["swanctl", *args, "--uri", self.uri], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env=self.env)

    def stop(self) -> int | None:
        code = stop_process(self.proc, signal.SIGTERM, timeout=15)
        self.out.close()
        return code


def packet_sockets(network: Network, side: str) -> int:
    """How many packet sockets (open captures: tcpdump, ikesniff -i) one side's namespace holds."""
    result = network.run_in(side, ["cat", "/proc/net/packet"], check=False)
    return max(len(result.stdout.splitlines()) - 1, 0)


def wait_packet_sockets(network: Network, side: str, count: int = 1, timeout: float = 15,
                        proc: subprocess.Popen[Any] | None = None) -> None:
    """Wait until `count` packet sockets are open in one side's namespace (a capture started there is
    listening); LabError when `proc` (the capturing process) exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise LabError(f"{' '.join(map(str, proc.args))} exited with {proc.returncode} before capturing")
        if packet_sockets(network, side) >= count:
            return
        time.sleep(0.05)
    raise LabError(f"no capture opened in {network.ns(side)} within {timeout}s")
