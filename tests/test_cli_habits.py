"""The command line as tcpdump/tshark users expect it: discoverable help, `ikesniff FILE`, -n, -D, -f on
files, -w - with the text on standard error, -Z named when the dropped user cannot write, the summary on
standard error in every text mode, --color / NO_COLOR, and text wrapped to the terminal's width. Every
test runs the real program on the lab's real captures."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from oracle import CORPUS, REPO

PCAPS = REPO / "pcaps"
PSK_MISMATCH = PCAPS / "ikev2-psk-mismatch.pcap"
HEALTHY = PCAPS / "ikev2-psk.pcap"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
SUMMARY = re.compile(r"^\d+ frames?, \d+ IKE messages?, \d+ IKE SAs?, ", re.MULTILINE)


def ikesniff(*args: str, env: dict[str, str] | None = None, stdin: bytes | None = None,
             prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[bytes]:
    environment = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "COLUMNS")}
    environment.update(env or {})
    return subprocess.run([*prefix, sys.executable, "-m", "ikesniff", *args], capture_output=True, cwd=REPO,
                          env=environment, input=stdin, check=False, timeout=120)


def json_lines(data: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in data.decode().splitlines()]


def one_line_error(result: subprocess.CompletedProcess[bytes]) -> str:
    error = result.stderr.decode()
    assert result.returncode == 2 and error.count("\n") == 1 and "Traceback" not in error, error
    return error


# --- discoverable -------------------------------------------------------------------------------------
def test_help_lists_the_subcommands_and_examples_and_no_spec_references() -> None:
    text = ikesniff("--help").stdout.decode()
    assert re.search(r"^\s+ikesniff explain LOGFILE\.\.\.\s+\S", text, re.MULTILINE)
    assert re.search(r"^\s+ikesniff causes \[CODE\]\s+\S", text, re.MULTILINE)
    assert "Examples:" in text and "ikesniff capture.pcap" in text
    for args in (("--help",), ("causes", "--help"), ("explain", "--help")):
        assert "SPEC" not in ikesniff(*args).stdout.decode(), args


def test_a_file_named_alone_is_read_as_with_r() -> None:
    alone = ikesniff(str(PSK_MISMATCH), "--json")
    with_r = ikesniff("-r", str(PSK_MISMATCH), "--json")
    assert alone.returncode == with_r.returncode == 1
    drop = {"seconds"}
    events = [{k: v for k, v in e.items() if k not in drop} for e in json_lines(alone.stdout)]
    assert events == [{k: v for k, v in e.items() if k not in drop} for e in json_lines(with_r.stdout)]
    assert any(e["event"] == "verdict" and e["code"] == "PskMismatch" for e in events)


def test_causes_names_its_sources_by_title_not_by_file_name() -> None:
    text = ikesniff("causes", "PskMismatch").stdout.decode()
    sources = text.split("\nSources:\n", 1)[1]
    assert "Alibaba Cloud VPN guide" in sources and ".txt" not in sources
    assert "Huawei firewall fault reference" in ikesniff("causes", "DhGroupMismatch").stdout.decode()
    catalog = json_lines(ikesniff("causes", "--json").stdout)
    from ikesniff.catalog import seed_titles
    cited = {source["seed"] for cause in catalog for source in cause["sources"]}  # type: ignore[attr-defined]
    assert cited <= set(seed_titles())


# --- tcpdump habits -----------------------------------------------------------------------------------
def test_n_is_accepted_and_changes_nothing() -> None:
    plain = ikesniff("-r", str(HEALTHY), "-q")
    numeric = ikesniff("-n", "-r", str(HEALTHY), "-q")
    assert numeric.returncode == plain.returncode == 0 and numeric.stdout == plain.stdout


def test_d_lists_capture_interfaces_or_says_why_not() -> None:
    listed = ikesniff("-D")
    assert listed.returncode == 0, listed.stderr
    names = [line.split(".", 1)[1] for line in listed.stdout.decode().splitlines()]
    assert "lo" in names and all(re.match(r"^\d+\.\S", line) for line in listed.stdout.decode().splitlines())
    start = "import sys; sys.modules['pcapy'] = None; from ikesniff.cli import main; sys.argv = ['ikesniff', '-D']; main()"
    without = subprocess.run([sys.executable, "-c", start], capture_output=True, cwd=REPO, check=False, timeout=60)
    assert "pcapy" in one_line_error(without)


def test_f_filters_the_frames_of_a_file_keeping_their_numbers() -> None:
    everything = [e for e in json_lines(ikesniff("-r", str(PSK_MISMATCH), "--json").stdout) if e["event"] == "message"]
    filtered = ikesniff("-r", str(PSK_MISMATCH), "--json", "-f", "udp port 4500")
    kept = [e for e in json_lines(filtered.stdout) if e["event"] == "message"]
    assert kept and len(kept) < len(everything)
    assert all(4500 in (e["sport"], e["dport"]) for e in kept)
    assert [e["frame"] for e in kept] == [e["frame"] for e in everything if 4500 in (e["sport"], e["dport"])]
    assert "-f" in one_line_error(ikesniff("-r", str(PSK_MISMATCH), "-f", "no such filter words"))


def test_write_to_standard_output_moves_the_text_to_standard_error() -> None:
    result = ikesniff("-r", str(PSK_MISMATCH), "-w", "-")
    assert result.returncode == 1, result.stderr
    assert result.stdout[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4")
    text = result.stderr.decode()
    assert "IKE_AUTH" in text and "FAILED PskMismatch" in text and SUMMARY.search(text)
    again = ikesniff("-r", "-", "--json", stdin=result.stdout)
    assert [e["code"] for e in json_lines(again.stdout) if e["event"] == "verdict" and e["final"]] == ["PskMismatch"]
    assert "--json" in one_line_error(ikesniff("-r", str(PSK_MISMATCH), "-w", "-", "--json"))


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="opening a live capture and dropping to nobody need root")
def test_a_write_file_the_dropped_user_cannot_write_names_z(tmp_path: Path) -> None:
    private = tmp_path / "root-only"
    private.mkdir(mode=0o700)
    command = (f"ip link set lo up && exec {sys.executable} -m ikesniff -i lo -w {private / 'out.pcap'} "
               "-Z nobody --duration 1")
    result = subprocess.run(["unshare", "-n", "sh", "-c", command], capture_output=True, cwd=REPO, check=False,
                            timeout=60)
    error = one_line_error(result)
    assert "-Z" in error and "nobody" in error and str(private / "out.pcap") in error


@pytest.mark.parametrize("mode", [(), ("-q",), ("-v",)])
def test_the_summary_goes_to_standard_error_in_every_text_mode(mode: tuple[str, ...]) -> None:
    result = ikesniff("-r", str(PSK_MISMATCH), *mode)
    assert not SUMMARY.search(result.stdout.decode())
    assert SUMMARY.search(result.stderr.decode())
    assert "FAILED PskMismatch" in result.stdout.decode()


def test_counts_are_told_in_the_singular_when_there_is_one() -> None:
    summary = ikesniff("-r", str(PSK_MISMATCH), "-q").stderr.decode()
    assert "1 IKE SA," in summary and "IKE SAs" not in summary and "0 ESP packets in 0 flows" in summary


# --- terminal ------------------------------------------------------------------------------------------
def test_color_always_colours_the_outcomes_and_never_does_not() -> None:
    coloured = ikesniff("-r", str(PSK_MISMATCH), "-q", "--color", "always").stdout.decode()
    assert "\x1b[31m\x1b[1mFAILED\x1b[0m" in coloured or re.search(r"\x1b\[[0-9;]*31[0-9;]*mFAILED", coloured)
    healthy = ikesniff("-r", str(HEALTHY), "-q", "--color", "always").stdout.decode()
    assert re.search(r"\x1b\[[0-9;]*32[0-9;]*m(\x1b\[1m)?ESTABLISHED", healthy)
    refused = ikesniff("-r", str(PCAPS / "ikev2-proposal-mismatch.pcap"), "--color", "always").stdout.decode()
    assert re.search(r"\x1b\[[0-9;]*31[0-9;]*m(\x1b\[1m)?N\(NO_PROPOSAL_CHOSEN\)", refused)  # an error notify
    assert not ANSI.search(ikesniff("-r", str(PSK_MISMATCH), "-q", "--color", "never").stdout.decode())
    assert not ANSI.search(ikesniff("-r", str(PSK_MISMATCH), "-q").stdout.decode())  # a pipe: auto is off


def on_a_terminal(*args: str, env: dict[str, str], columns: int = 80) -> str:
    """Run ikesniff with its standard output on a pseudo-terminal `columns` wide; what it wrote there."""
    environment = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "COLUMNS")}
    environment.update(env)
    environment.setdefault("TERM", "xterm-256color")
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        os.chdir(REPO)
        os.execve(sys.executable, [sys.executable, "-m", "ikesniff", *args], environment)
    chunks = []
    while True:
        ready, _, _ = select.select([fd], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode(errors="replace")


def test_auto_colours_on_a_terminal_unless_no_color_is_set() -> None:
    assert ANSI.search(on_a_terminal("-r", str(PSK_MISMATCH), "-q", env={}))
    assert not ANSI.search(on_a_terminal("-r", str(PSK_MISMATCH), "-q", env={"NO_COLOR": "1"}))
    assert ANSI.search(on_a_terminal("-r", str(PSK_MISMATCH), "-q", "--color", "always", env={"NO_COLOR": "1"}))


@pytest.mark.parametrize("columns", [50, 80, 140])
def test_text_is_wrapped_to_the_width_never_inside_a_word_or_an_address(columns: int) -> None:
    result = ikesniff("-r", str(PSK_MISMATCH), "-q", env={"COLUMNS": str(columns)})
    verdict = next(e for e in json_lines(ikesniff("-r", str(PSK_MISMATCH), "--json").stdout)
                   if e["event"] == "verdict")
    lines = [line for line in result.stdout.decode().splitlines() if "<->" not in line]  # headlines: one line
    assert all(len(line) <= columns or " " not in line.strip() for line in lines)
    text = " ".join(line.strip() for line in lines)
    for part in (verdict["message"], verdict["remedy"]):
        assert str(part) in text  # every word whole, in order: nothing was broken inside a word
    if columns < 100:
        assert max(len(line) for line in lines) <= columns


def test_the_terminal_width_is_used_when_columns_is_not_set() -> None:
    for columns in (72, 90):
        output = on_a_terminal("-r", str(PSK_MISMATCH), "-q", "--color", "never", env={}, columns=columns)
        lines = [line for line in output.replace("\r", "").splitlines() if line and not SUMMARY.match(line)]
        assert columns - 12 < max(len(line) for line in lines) <= columns


# --- the weak algorithms of an IKEv1 offer are told with the IKEv1 wording -----------------------------
@pytest.mark.skipif(not CORPUS.is_dir(), reason="external corpus not present")
def test_an_ikev1_weak_offer_is_not_judged_as_ikev2() -> None:
    capture = CORPUS / "suricata-verify" / "ikev1-isakmp-main-mode.pcap"
    weak = [e for e in json_lines(ikesniff("-r", str(capture), "--json").stdout)
            if e["event"] == "finding" and str(e["kind"]).startswith("weak_")]
    assert weak and all("IKEv1 itself is deprecated (RFC 9395)" in str(e["detail"]) for e in weak)


@pytest.mark.parametrize("worker", ["always", "never"])
@pytest.mark.parametrize("reader", ["libpcap", "python"])
def test_f_on_files_works_with_every_reader(reader: str, worker: str) -> None:
    from ikesniff.capture import CaptureStats, read_capture
    from ikesniff.capture.events import IkeDatagram
    items = read_capture(str(PSK_MISMATCH), CaptureStats(), reader=reader, worker=worker, bpf="udp port 4500")
    assert [item.frame for item in items if isinstance(item, IkeDatagram)] == [3, 4]


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="opening a live capture and dropping to nobody need root")
def test_a_report_the_dropped_user_cannot_write_names_z(tmp_path: Path) -> None:
    private = tmp_path / "root-only"
    private.mkdir(mode=0o700)
    command = (f"ip link set lo up && exec {sys.executable} -m ikesniff -i lo --report {private / 'r.md'} "
               "-Z nobody --duration 1")
    result = subprocess.run(["unshare", "-n", "sh", "-c", command], capture_output=True, cwd=REPO, check=False,
                            timeout=60)
    error = one_line_error(result)
    assert "-Z" in error and "nobody" in error and "r.md" in error


def test_a_cause_is_wrapped_to_the_width_too() -> None:
    text = ikesniff("causes", "PskMismatch", env={"COLUMNS": "60"}).stdout.decode()
    paragraph = text.split("What went wrong:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(paragraph) > 3 and all(len(line) <= 60 for line in paragraph)
