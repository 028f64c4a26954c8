"""`ikesniff -r` as a user meets it: output forms, the JSON contract, errors and exit status."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from oracle import CORPUS, REPO

IKEV2_COOKIE = CORPUS / "tcpdump" / "ikev2four.pcap"
IKE_AUTH_TIMEOUT = CORPUS / "zeek-spicy-ipsec" / "ipsec_client.pcap"
IKEV1_MAIN = CORPUS / "suricata-verify" / "ikev1-isakmp-main-mode.pcap"

MESSAGE_KEYS = {
    "event": str, "frame": int, "time": float, "src": str, "sport": int, "dst": str, "dport": int,
    "transport": str, "version": int, "spi_i": str, "spi_r": str, "exchange_type": int, "exchange": str,
    "message_id": int, "response": bool, "initiator": bool, "length": int, "payloads": list,
    "notifies": list, "encrypted": bool, "decrypted": bool, "retransmission": bool, "ike_sa": str,
    "errors": list,
}


def ikesniff(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "ikesniff", *args], capture_output=True, input=stdin,
                          cwd=REPO, check=False, timeout=120)


def json_events(result: subprocess.CompletedProcess[bytes]) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def test_json_messages_follow_the_contract_and_end_with_a_summary() -> None:
    result = ikesniff("-r", str(IKEV2_COOKIE), "--json")
    assert result.returncode == 0, result.stderr
    events = json_events(result)
    assert events[-1]["event"] == "summary"
    messages = [e for e in events if e["event"] == "message"]
    assert len(messages) == 21
    for message in messages:
        for key, kind in MESSAGE_KEYS.items():
            assert isinstance(message[key], kind), (key, message[key])
        assert len(str(message["spi_i"])) == 16 and len(str(message["spi_r"])) == 16
    first, second = messages[0], messages[1]
    assert first["exchange"] == "IKE_SA_INIT" and first["initiator"] and not first["response"]
    assert second["response"] and {"type": "COOKIE", "code": 16390} in second["notifies"]
    assert events[-1]["ike_messages"] == 21


def test_default_output_is_one_line_per_message_with_role_and_notifies() -> None:
    result = ikesniff("-r", str(IKEV2_COOKIE))
    assert result.returncode == 0
    lines = result.stdout.decode().splitlines()
    assert all(line.startswith(f"{n:>6} ") for n, line in zip(range(1, 22), lines[:21]))
    assert "IKEv2 IKE_SA_INIT #0 R rsp" in lines[1] and "N(COOKIE)" in lines[1]
    # after the messages: findings, then the verdict of the tunnel
    rest = lines[21:]
    assert any(line.startswith("finding cookie_challenge") for line in rest)
    assert "192.168.1.1 <-> 192.168.1.2: ESTABLISHED Established (likely)" in rest
    assert "192.168.1.1:500 > 192.168.1.2:500" in lines[1]


def test_retransmitted_ike_auth_is_marked() -> None:
    result = ikesniff("-r", str(IKE_AUTH_TIMEOUT), "--json")
    messages = [e for e in json_events(result) if e["event"] == "message"]
    auth = [m for m in messages if m["exchange"] == "IKE_AUTH"]
    assert [m["retransmission"] for m in auth] == [False, True, True]
    assert len({m["ike_sa"] for m in messages}) == 1


def test_ikev1_roles_are_inferred_from_the_exchange() -> None:
    result = ikesniff("-r", str(IKEV1_MAIN), "--json")
    messages = [e for e in json_events(result) if e["event"] == "message"]
    assert [m["initiator"] for m in messages[:6]] == [True, False, True, False, True, False]
    assert [m["response"] for m in messages[:6]] == [False, True, False, True, False, True]
    assert [m["encrypted"] for m in messages] == [False] * 4 + [True] * 5


def test_verbose_prints_the_decoded_tree() -> None:
    result = ikesniff("-r", str(IKEV1_MAIN), "-v")
    text = result.stdout.decode()
    assert "ISAKMP header: version 1.0" in text
    assert "Oakley" in text or "ENCRYPTION_ALGORITHM" in text.upper()


def test_standard_input_and_gzip_are_read(tmp_path: Path) -> None:
    raw = IKEV2_COOKIE.read_bytes()
    zipped = tmp_path / "capture.pcap.gz"
    zipped.write_bytes(gzip.compress(raw))
    from_stdin = json_events(ikesniff("-r", "-", "--json", stdin=raw))
    from_gzip = json_events(ikesniff("-r", str(zipped), "--json"))
    direct = json_events(ikesniff("-r", str(IKEV2_COOKIE), "--json"))
    strip = [{k: v for k, v in e.items() if k not in ("file", "seconds", "files")} for e in direct]
    final = [e for e in from_stdin if e.get("final", True)]  # a stream also tells verdicts on the way
    assert [{k: v for k, v in e.items() if k not in ("file", "seconds", "files")} for e in final] == strip
    assert [{k: v for k, v in e.items() if k not in ("file", "seconds", "files")} for e in from_gzip] == strip


def test_count_stops_after_n_messages() -> None:
    events = json_events(ikesniff("-r", str(IKEV2_COOKIE), "--json", "-c", "3"))
    assert [e["frame"] for e in events if e["event"] == "message"] == [1, 2, 3]


@pytest.mark.parametrize("make_input, words", [
    (lambda d: d / "absent.pcap", "no such file"),
    (lambda d: (d / "empty.pcap").write_bytes(b"") or d / "empty.pcap", "empty"),
    (lambda d: (d / "notes.txt").write_text("hello, this is not a capture\n") and d / "notes.txt", "not a"),
    (lambda d: (d / "short.pcap").write_bytes(b"\xd4\xc3\xb2\xa1\x02\x00") and d / "short.pcap", ""),
])
def test_unreadable_input_is_one_line_and_exit_2(tmp_path: Path, make_input, words: str) -> None:
    path = make_input(tmp_path)
    result = ikesniff("-r", str(path))
    error = result.stderr.decode()
    assert result.returncode == 2
    assert "Traceback" not in error
    assert len(error.strip().splitlines()) == 1, error
    assert str(path.name) in error and words in error


def test_no_input_is_a_usage_error() -> None:
    result = ikesniff()
    assert result.returncode == 2 and "Traceback" not in result.stderr.decode()


def test_standard_input_is_read_as_a_live_stream() -> None:
    """`tcpdump -U -w - | ikesniff -r - --json`: a message comes out before the input ends."""
    import select
    import struct

    data = (REPO / "pcaps" / "ikev2-psk.pcap").read_bytes()
    offset, records = 24, []
    while offset < len(data):
        length = struct.unpack_from("<I", data, offset + 8)[0]
        records.append(data[offset:offset + 16 + length])
        offset += 16 + length
    process = subprocess.Popen([sys.executable, "-m", "ikesniff", "-r", "-", "--json"], cwd=REPO,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(data[:24] + records[0])
        process.stdin.flush()
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready, "no event while the input stayed open"
        first = json.loads(process.stdout.readline())
        assert first["event"] == "message" and first["frame"] == 1
        process.stdin.write(b"".join(records[1:]))
        process.stdin.close()
        rest = [json.loads(line) for line in process.stdout.read().splitlines()]
        assert rest[-1]["event"] == "summary" and rest[-1]["ike_messages"] == 4  # IKE_SA_INIT and IKE_AUTH
        assert rest[-2]["event"] == "verdict" and rest[-2]["code"] == "Established"
    finally:
        process.kill()
        process.wait()


def test_a_reader_that_stops_early_is_no_error() -> None:
    """`ikesniff -r F -v | head -1` ends with status 0, like tcpdump. The tree (1.3 MB) overflows the
    pipe, so ikesniff is still writing when head leaves."""
    big = CORPUS / "ndpi" / "ipsec_isakmp_esp.pcap"
    pipeline = subprocess.run(f"{sys.executable} -m ikesniff -r {big} -v | head -1; exit ${{PIPESTATUS[0]}}",
                              shell=True, executable="/bin/bash", cwd=REPO, capture_output=True, timeout=60,
                              check=False)
    assert pipeline.returncode == 0, pipeline.stderr
    assert len(pipeline.stdout.splitlines()) == 1 and b"Traceback" not in pipeline.stderr


def test_a_stream_tells_each_verdict_as_soon_as_it_is_known() -> None:
    """`tcpdump -U -w - | ikesniff -r -`: the DPD timeout is told right after the last unanswered
    retransmission, before the input ends; reading the file tells it only at the end."""
    capture = REPO / "pcaps" / "ikev2-dpd-timeout.pcap"
    events = json_events(ikesniff("-r", "-", "--json", stdin=capture.read_bytes()))
    kinds = [(e["event"], e.get("final"), e.get("code")) for e in events]
    early = kinds.index(("verdict", False, "DpdTimeout"))
    assert ("verdict", False, "Established") in kinds[:early]
    last_retransmission = max(i for i, e in enumerate(events) if e["event"] == "message" and e["retransmission"])
    assert early == last_retransmission + 1
    assert kinds[-2] == ("verdict", True, "DpdTimeout")
    from_file = json_events(ikesniff("-r", str(capture), "--json"))
    assert [e["final"] for e in from_file if e["event"] == "verdict"] == [True]


@pytest.mark.parametrize(("args", "words"), [
    ((), "no input"),
    (("-i", "lo", "-r", "x.pcap"), "cannot be combined"),
    (("-r", "-", "-r", "-"), "only once"),
    (("-r", str(IKEV2_COOKIE), "-w", "-", "--json"), "leave out --json"),
    (("-i", "no-such-interface0"), "no-such-interface0"),
])
def test_bad_usage_is_one_line_and_status_2(args: tuple[str, ...], words: str) -> None:
    result = ikesniff(*args)
    assert result.returncode == 2
    error = result.stderr.decode()
    assert error.count("\n") == 1 and words in error and "Traceback" not in error


@pytest.mark.parametrize("suffix", [".md", ".html", ".json"])
def test_report_is_written_beside_the_json_output(tmp_path: Path, suffix: str) -> None:
    capture = REPO / "pcaps" / "ikev2-encryption-mismatch-both-ways.pcap"
    report = tmp_path / f"ticket{suffix}"
    result = ikesniff("-r", str(capture), "--json", "--report", str(report))
    assert result.returncode == 1, result.stderr
    verdicts = [e for e in json_events(result) if e["event"] == "verdict"]
    text = report.read_text()
    assert verdicts and all(str(v["code"]) in text for v in verdicts)
    assert all(f"{item['frame']}" in text for v in verdicts for item in v["evidence"])  # type: ignore[union-attr]


def test_without_libpcap_files_are_still_read_and_live_capture_says_why() -> None:
    """pcapy-ng (libpcap) missing: the Python reader reads files; -i fails with one line."""
    start = ("import sys; sys.modules['pcapy'] = None; from ikesniff.cli import main; "
             "sys.argv = ['ikesniff', *sys.argv[1:]]; main()")

    def run(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-c", start, *args], capture_output=True, cwd=REPO, check=False,
                              timeout=120)

    read = run("-r", str(IKEV2_COOKIE), "-q")
    assert read.returncode == 0 and "ESTABLISHED" in read.stdout.decode(), read.stderr
    live = run("-i", "lo")
    error = live.stderr.decode()
    assert live.returncode == 2 and error.count("\n") == 1 and "pcapy" in error and "Traceback" not in error
