"""Live capture (ikesniff/capture/live.py) and the privilege drop (ikesniff/privileges.py).

The capture tests need root: each runs in a child process in a network namespace of its own
(`unshare --net`), whose loopback carries only the frames the test writes there with an AF_PACKET
socket, so no other traffic of the machine can reach them and nothing is left behind. Without root
(or without unshare) they are skipped with the reason. The filter tests need no privilege.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from test_capture_builders import (
    ah,
    esp,
    ether,
    icmp,
    ike_message,
    ipv4,
    ipv6,
    ipv6_fragment_header,
    tcp,
    udp,
)

from ikesniff.capture import CaptureError, EspSighting, FrameProblem, IcmpError, IkeDatagram
from ikesniff.capture.events import CaptureStats, Idle
from ikesniff.capture.live import (
    SNAPLEN_ESP,
    LiveSource,
    capture_filter,
    esp_handle_filter,
    ike_filter,
    read_live,
)

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
PORTS = frozenset({500, 4500})
A4, B4 = "192.0.2.1", "192.0.2.2"
A6, B6 = "2001:db8::1", "2001:db8::2"
SETPRIV = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="live capture tests need root and unshare (a private network namespace per test)")


# --- the filters (no privilege needed) ------------------------------------------------------------------
@pytest.mark.parametrize("ports", [frozenset({500}), PORTS, frozenset({400, 500, 4500, 4501}),
                                   frozenset({500, 1701, 4500, 10500, 14500})], ids=str)
@pytest.mark.parametrize("link_type", [1, 113, 276, 12])
def test_every_filter_compiles_quickly(ports: frozenset[int], link_type: int) -> None:
    # libpcap's optimiser can take exponential time on some filter shapes (it hung on an earlier
    # form of the IPv6 ESP-in-UDP test): each must compile in a moment, in a child we can time out.
    for text in (ike_filter(ports, "host 192.0.2.1", link_type), esp_handle_filter(ports, "net 192.0.2.0/24",
                                                                                    link_type),
                 capture_filter(ports)):
        code = f"import pcapy; pcapy.compile({link_type}, 65535, {text!r}, 1, 0)"
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=20)
        assert result.returncode == 0, result.stderr
        assert time.monotonic() - started < 5


def test_the_filters_split_ike_from_esp_and_and_the_users_filter() -> None:
    ike, esp_text = ike_filter(PORTS, "host 192.0.2.1", 113), esp_handle_filter(PORTS, "host 192.0.2.1", 113)
    assert ike.endswith(" and (host 192.0.2.1)") and esp_text.endswith(" and (host 192.0.2.1)")
    assert "vlan" not in ike and ike_filter(PORTS, None, 1).count("vlan") == 2   # tags: Ethernet only
    assert "and not (esp or ah or" in ike          # the IKE handle never takes what the ESP handle takes
    assert "udp[8:4] != 0" in esp_text and "udp port 4500" in esp_text
    assert "0x3fff != 0" in ike and "ip6[6] = 44" in ike   # IPv4 and IPv6 fragments stay whole
    assert "udp port 4500" not in esp_handle_filter(frozenset({500}))   # no NAT-T port, no ESP-in-UDP
    assert " esp " in capture_filter(PORTS) + " " and capture_filter(PORTS, "vlan").endswith("and (vlan)")


# --- helpers: a child process in its own network namespace ----------------------------------------------
def isolated(function: str, timeout: float = 30, **arguments: Any) -> dict[str, Any]:
    """Run `function(**arguments)` of this module as root in a fresh network namespace (loopback up);
    its result is the JSON on the last line of its output."""
    code = (f"import sys, json; sys.path[:0] = [{str(TESTS)!r}, {str(REPO)!r}]; import test_capture_live as t; "
            f"print(json.dumps(t.{function}(**json.loads(sys.argv[1]))))")
    result = subprocess.run(["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh",
                             sys.executable, "-c", code, json.dumps(arguments)],
                            check=False, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def _frames() -> list[tuple[str, bytes]]:
    """(what, Ethernet frame) for everything the filters must keep (or drop: 'noise'), in send order."""
    v4, v6 = 0x0800, 0x86DD
    small = ike_message(spi_i=0x5151, body=b"\x01" * 20)
    big = ike_message(spi_i=0x5252, exchange=35, body=bytes(range(256)) * 8)       # 2076 octets
    fragmented = udp(500, 500, big)
    cut = 1480
    quoted = ipv4(A4, B4, 17, udp(500, 500, small))
    v6_datagram = udp(4500, 4500, b"\0\0\0\0" + big)
    return [
        ("ike-500", ether(ipv4(A4, B4, 17, udp(500, 500, small)), v4)),
        ("ike-4500", ether(ipv4(A4, B4, 17, udp(4500, 4500, b"\0\0\0\0" + small)), v4)),
        ("ike-500-4500", ether(ipv4(A4, B4, 17, udp(500, 4500, small)), v4)),
        ("ike-v6-500", ether(ipv6(A6, B6, 17, udp(500, 500, small)), v6)),
        ("esp-in-udp", ether(ipv4(A4, B4, 17, udp(4500, 4500, esp(0x1001, body_length=1200))), v4)),
        ("esp-in-udp-v6", ether(ipv6(A6, B6, 17, udp(4500, 4500, esp(0x1002, body_length=1200))), v6)),
        ("keepalive", ether(ipv4(A4, B4, 17, udp(4500, 4500, b"\xff")), v4)),
        ("esp", ether(ipv4(A4, B4, 50, esp(0x2001, body_length=1400)), v4)),
        ("esp-v6", ether(ipv6(A6, B6, 50, esp(0x2002, body_length=1400)), v6)),
        ("ah", ether(ipv4(A4, B4, 51, ah(0x3001) + b"\xbb" * 600), v4)),
        ("fragment-1", ether(ipv4(A4, B4, 17, fragmented[:cut], ident=7, more=True), v4)),
        ("fragment-2", ether(ipv4(A4, B4, 17, fragmented[cut:], ident=7, offset=cut), v4)),
        ("fragment-v6-1", ether(ipv6(A6, B6, 44, ipv6_fragment_header(17, 0, True, 9) + v6_datagram[:1232]), v6)),
        ("fragment-v6-2", ether(ipv6(A6, B6, 44, ipv6_fragment_header(17, 1232, False, 9) + v6_datagram[1232:]),
                                v6)),
        ("icmp-error", ether(ipv4(B4, A4, 1, icmp(3, 3, quoted[:28 + 28])), v4)),
        ("ike-tcp-4500", ether(ipv4(A4, B4, 6, tcp(40000, 4500, 1, b"", flags=0x02)), v4)),
        ("noise", ether(ipv4(A4, B4, 17, udp(5353, 53, b"\0" * 40)), v4)),
        ("noise", ether(ipv4(A4, B4, 6, tcp(40000, 443, 1, b"x" * 100)), v4)),
        ("noise", ether(ipv4(A4, B4, 1, icmp(8, 0, b"ping" * 10)), v4)),
    ]


def _send(frames: list[bytes], interface: str = "lo", delay: float = 0.3) -> None:
    time.sleep(delay)
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sender:
        sender.bind((interface, 0))
        for frame in frames:
            sender.send(frame)
            time.sleep(0.002)


def _send_in_child(frames: list[bytes], interface: str = "lo") -> int:
    """Send as root from a forked child, so that the parent may drop root first."""
    pid = os.fork()
    if pid == 0:
        status = 0
        try:
            _send(frames, interface)
        except BaseException:  # noqa: BLE001 - a child never returns into the test
            status = 1
        os._exit(status)
    return pid


def child_mixed_traffic(interface: str, drop_to: str | None = None) -> dict[str, Any]:
    """In the namespace: open the capture, (drop root), let a child write `_frames()`, read them."""
    from ikesniff.privileges import drop_privileges

    frames = _frames()
    expected = sum(1 for what, _ in frames if what != "noise")
    source = LiveSource(interface, ike_ports=PORTS, duration=8)
    sender = _send_in_child([frame for _, frame in frames])     # root's child: it sends in 0.3 s
    if drop_to:
        drop_privileges(drop_to)
    lengths: list[int] = []
    poll = source.poll

    def spy(*args: Any) -> Any:            # every frame's captured length, as the handles read it
        for batch in poll(*args):
            if batch is not None:
                lengths.extend(batch.lengths.tolist())
            yield batch

    source.poll = spy  # type: ignore[method-assign]
    stats = CaptureStats()
    items: list[Any] = []
    for item in read_live(source, stats, PORTS):
        items.append(item)
        if stats.frames >= expected and isinstance(item, Idle):
            source.stop()
    os.waitpid(sender, 0)
    return {
        "uid": os.getuid(),
        "link_type": source.link_type,
        "frames": stats.frames, "expected": expected, "lengths": lengths,
        "datagrams": sorted([item.transport, len(item.data), item.truncated, len(item.frames)]
                            for item in items if isinstance(item, IkeDatagram)),
        "problems": [item.text for item in items if isinstance(item, FrameProblem)],
        "icmp": [item.description for item in items if isinstance(item, IcmpError)],
        "sightings": sorted([item.spi, item.transport] for item in items if isinstance(item, EspSighting)),
        "counts": [stats.esp_packets, stats.esp_in_udp_packets, stats.ah_packets, stats.nat_keepalives],
        "kernel": list(source.stats()),
    }


@needs_root
@pytest.mark.parametrize("interface", ["lo", "any"])
def test_ike_whole_esp_snapped_short_noise_never_read(interface: str) -> None:
    seen = isolated("child_mixed_traffic", interface=interface)
    assert seen["link_type"] == (1 if interface == "lo" else 113)   # 'any': Linux cooked capture
    assert seen["frames"] == seen["expected"]                          # the noise stayed in the kernel
    small, big = 48, 2076
    assert seen["datagrams"] == sorted([
        ["udp", small, False, 0], ["udp-encap", small, False, 0], ["udp", small, False, 0],
        ["udp", small, False, 0], ["udp", big, False, 2], ["udp-encap", big, False, 2]])
    assert seen["problems"] == []                                      # snapped ESP is no truncation
    assert seen["icmp"] == ["port unreachable"]
    assert seen["sightings"] == [[0x1001, "udp-encap"], [0x1002, "udp-encap"], [0x2001, "esp"], [0x2002, "esp"]]
    assert seen["counts"] == [2, 2, 1, 1]                              # ESP, ESP-in-UDP, AH, keepalives
    # the five ESP/AH frames were cut at the ESP handle's snap length; everything else came whole
    assert seen["lengths"].count(SNAPLEN_ESP) == 5 and max(seen["lengths"]) > 1400
    received, dropped, _ = seen["kernel"]
    assert received >= seen["expected"] and dropped == 0


@needs_root
def test_the_open_capture_goes_on_reading_after_root_is_dropped() -> None:
    seen = isolated("child_mixed_traffic", interface="lo", drop_to="nobody")
    assert seen["uid"] == 65534
    assert seen["frames"] == seen["expected"] and len(seen["datagrams"]) == 6


def child_vlan_tags() -> dict[str, Any]:
    """A veth pair in the namespace; frames with no tag, one 802.1Q tag, and QinQ tags (802.1ad or 802.1Q
    outside) go from veta to vetb. veta's capture sees them as sent (every tag in the frame); vetb's as
    received (Linux moved the outer tag out of the frame)."""
    subprocess.run("sysctl -qw net.ipv6.conf.default.disable_ipv6=1 && ip link add veta type veth peer name vetb"
                   " && ip link set veta up && ip link set vetb up", shell=True, check=True)   # no MLD chatter
    small = ike_message(spi_i=0x7171, body=b"\x01" * 20)
    packet = ipv4(A4, B4, 17, udp(500, 500, small))
    in_udp = ipv4(A4, B4, 17, udp(4500, 4500, esp(0x1001, body_length=400)))
    tags: list[list[tuple[int, int]]] = [[], [(0x8100, 10)], [(0x88A8, 20), (0x8100, 10)],
                                         [(0x8100, 20), (0x8100, 10)]]
    frames = [ether(data, vlans=vlans) for vlans in tags for data in (packet, in_udp)]
    frames.append(ether(ipv4(A4, B4, 17, udp(53, 53, b"x" * 30)), vlans=[(0x8100, 10)]))   # noise
    seen = {}
    for interface in ("veta", "vetb"):
        source = LiveSource(interface, ike_ports=PORTS, duration=5)
        sender = _send_in_child(frames, "veta")
        stats = CaptureStats()
        datagrams = 0
        for item in read_live(source, stats, PORTS):
            datagrams += isinstance(item, IkeDatagram)
            if stats.frames >= 8 and isinstance(item, Idle):
                source.stop()
        os.waitpid(sender, 0)
        seen[interface] = [stats.frames, datagrams, stats.esp_in_udp_packets]
    return seen


@needs_root
def test_vlan_and_qinq_tagged_frames_are_captured_as_sent_and_as_received() -> None:
    seen = isolated("child_vlan_tags")
    assert seen == {"veta": [8, 4, 4], "vetb": [8, 4, 4]}


def child_idle_and_stop(how: str) -> dict[str, Any]:
    stats = CaptureStats()
    started = time.monotonic()
    source = LiveSource("lo", ike_ports=PORTS, duration=6 if how == "duration" else 30)
    if how == "signal":
        signal.signal(signal.SIGALRM, lambda *_: source.stop())
        signal.setitimer(signal.ITIMER_REAL, 1.3)
    ticks = []
    for item in read_live(source, stats, PORTS):
        assert isinstance(item, Idle)
        ticks.append(round(time.monotonic() - started, 2))
        if how == "stop" and len(ticks) == 3:
            source.stop()
    return {"ticks": ticks, "ended": time.monotonic() - started, "wall": ticks and abs(time.time() - item.time)}


@needs_root
def test_a_silent_link_gives_idle_ticks_and_stop_ends_at_once() -> None:
    seen = isolated("child_idle_and_stop", how="stop")
    assert len(seen["ticks"]) == 3 and 1.2 < seen["ticks"][-1] < 2.5     # one every 0.5 s
    assert seen["ended"] - seen["ticks"][-1] < 0.3


@needs_root
def test_a_signal_handler_stops_the_capture_promptly() -> None:
    seen = isolated("child_idle_and_stop", how="signal")
    assert 1.3 <= seen["ended"] < 1.6 and len(seen["ticks"]) == 2


@needs_root
def test_the_duration_ends_the_capture() -> None:
    seen = isolated("child_idle_and_stop", how="duration")
    assert 6.0 <= seen["ended"] < 6.5 and len(seen["ticks"]) >= 10


# --- errors: one line each ------------------------------------------------------------------------------
def test_no_such_interface_names_the_available_ones() -> None:
    with pytest.raises(CaptureError) as caught:
        LiveSource("no-such-if0", ike_ports=PORTS)
    text = str(caught.value)
    assert text.startswith("no-such-if0: no such interface (available: ") and " lo" in text
    assert "\n" not in text


@needs_root
def test_a_bad_user_filter_is_named() -> None:
    with pytest.raises(CaptureError, match=r"lo: bad capture filter \(-f 'this is not bpf': "):
        LiveSource("lo", ike_ports=PORTS, extra_filter="this is not bpf")
    with pytest.raises(CaptureError, match="bad capture filter"):
        LiveSource("lo", bpf="this is not bpf")


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
def test_without_permission_the_message_says_how_to_capture() -> None:
    code = ("from ikesniff.capture.live import LiveSource\n"
            "try:\n    LiveSource('lo', ike_ports=frozenset({500, 4500}))\n"
            "except Exception as error:\n    print(type(error).__name__, error)\n")
    result = subprocess.run([*SETPRIV, sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=30,
                            cwd=REPO)
    assert result.stdout.strip() == (
        "CaptureError lo: capturing needs root or CAP_NET_RAW: run with sudo, or capture with tcpdump and "
        "pipe it in: sudo tcpdump -U -i lo -w - udp port 500 or udp port 4500 | ikesniff -r -")


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
def test_the_cli_without_permission_exits_2_with_one_line() -> None:
    result = subprocess.run([*SETPRIV, str(REPO / ".venv" / "bin" / "ikesniff"), "-i", "lo", "--json"],
                            check=False, capture_output=True, text=True, timeout=30, cwd=REPO)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "needs root or CAP_NET_RAW" in result.stderr
    assert "tcpdump -U -i lo -w - udp port 500 or udp port 4500 | ikesniff -r -" in result.stderr


# --- privileges ------------------------------------------------------------------------------------------
def _drop_in_child(user: str, runner: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    code = ("import os\nfrom ikesniff.privileges import PrivilegeError, drop_privileges\n"
            f"try:\n    drop_privileges({user!r})\nexcept PrivilegeError as error:\n    print('error', error)\n"
            "print(os.getuid(), os.geteuid(), os.getgid(), os.getegid(), os.getgroups())\n")
    return subprocess.run([*(runner or []), sys.executable, "-c", code], check=False, capture_output=True, text=True,
                          timeout=30, cwd=REPO)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_drop_privileges_becomes_the_user_for_good() -> None:
    result = _drop_in_child("nobody")
    assert result.stdout.split("\n")[0] == "65534 65534 65534 65534 []", result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_an_unknown_user_is_one_line_and_changes_nothing() -> None:
    first, ids = _drop_in_child("no-such-user-zz").stdout.splitlines()
    assert first == "error -Z no-such-user-zz: no such user (give an existing unprivileged user, e.g. -Z nobody)"
    assert ids.startswith("0 0 0 0")


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
def test_drop_privileges_is_a_no_op_when_not_root() -> None:
    result = _drop_in_child("root", SETPRIV)
    assert result.stdout.strip() == "65534 65534 65534 65534 []", result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_after_the_drop_the_analysis_needs_none_of_its_files() -> None:
    # nobody may not be able to read the Python installation (pyenv under /root): what the run imports
    # or reads later (modules imported in functions, the cause catalog) was loaded before the drop
    code = ("import sys\nimport ikesniff.cli as cli\nfrom ikesniff.privileges import drop_privileges\n"
            "drop_privileges('nobody')\nsys.argv = ['ikesniff', '-r', '-', '--json', '-v']\ncli.main()\n")
    with open(REPO / "pcaps" / "ikev2-psk-mismatch.pcap", "rb") as capture:
        result = subprocess.run([sys.executable, "-c", code], check=False, stdin=capture, capture_output=True,
                                text=True, timeout=60, cwd="/", env={**os.environ, "IKESNIFF_DEBUG": "1"})
    assert result.returncode == 1, result.stderr
    verdicts = [json.loads(line) for line in result.stdout.splitlines() if '"event":"verdict"' in line]
    assert verdicts and verdicts[-1]["code"] == "PskMismatch"


@needs_root
def test_the_capture_filter_object_opens_the_two_handles() -> None:
    # what `ikesniff -i` passes: capture_filter(ports, -f) as bpf gives the IKE and the snapped ESP handle
    with LiveSource("lo", bpf=capture_filter(PORTS, "host 192.0.2.1"), duration=0.1) as source:
        assert [handle.role for handle in source._handles] == ["ike", "esp"]
    with LiveSource("lo", bpf=str(capture_filter(PORTS)), duration=0.1) as source:
        assert [handle.role for handle in source._handles] == ["ike"]     # a plain filter: one handle


# --- through the command line ---------------------------------------------------------------------------
def child_cli(arguments: list[str], stop_after: float) -> dict[str, Any]:
    """In the namespace: `ikesniff ARGUMENTS` while `_frames()` go over lo; Ctrl-C after `stop_after` s."""
    sniffer = subprocess.Popen([str(REPO / ".venv" / "bin" / "ikesniff"), *arguments], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and sniffer.poll() is None:
        with open("/proc/net/packet") as sockets:
            if len(sockets.read().splitlines()) > 2:          # a header line, then the two handles
                break
        time.sleep(0.05)
    _send([frame for _, frame in _frames()], delay=0)
    try:
        sniffer.wait(timeout=stop_after)
    except subprocess.TimeoutExpired:
        sniffer.send_signal(signal.SIGINT)
    out, err = sniffer.communicate(timeout=20)
    return {"status": sniffer.returncode, "stdout": out, "stderr": err}


@needs_root
def test_cli_any_interface_stops_after_c_messages_with_the_summary() -> None:
    seen = isolated("child_cli", arguments=["-i", "any", "--json", "-c", "3"], stop_after=10)
    events = [json.loads(line) for line in seen["stdout"].splitlines()]
    assert seen["status"] in (0, 1), seen["stderr"]
    assert [event["event"] for event in events if event["event"] == "message"] == ["message"] * 3
    assert [event["frame"] for event in events if event["event"] == "message"] == [1, 2, 3]
    assert events[-1]["event"] == "summary" and events[-1]["ike_messages"] == 3


@needs_root
def test_cli_user_filter_is_anded_and_ctrl_c_prints_the_kernel_counters() -> None:
    seen = isolated("child_cli", arguments=["-i", "lo", "-q", "-f", "host 192.0.2.99"], stop_after=2)
    assert seen["status"] == 0, seen["stderr"]
    last = seen["stderr"].strip().splitlines()[-1]  # the summary is a diagnostic: stderr, in every text mode
    assert last.startswith("0 frames, 0 IKE messages") and "0 dropped by the kernel" in last
    assert not seen["stdout"].strip()
