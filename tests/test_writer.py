"""`-w FILE`: IKE datagrams of real captures written as IP packets; tshark and ikesniff read them back."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from ikesniff.analysis import Analysis, conclude
from ikesniff.capture import CaptureError, CaptureStats, IkeDatagram, read_capture
from ikesniff.capture.writer import PcapWriter

REPO = Path(__file__).resolve().parents[1]
PCAPS = REPO / "pcaps"
CORPUS = REPO.parent / "shared" / "corpus" / "external"

CAPTURES = [
    PCAPS / "ikev1-aggressive.pcap",            # IKEv1, 500 then 4500
    PCAPS / "ikev2-nat.pcap",                   # NAT-T: udp-encap on 4500, odd client ports
    PCAPS / "ikev2-ipfrag.pcap",                # IKE_AUTH in IP fragments: written whole
    PCAPS / "ikev2-fragmentation.pcap",         # RFC 7383 SKF
    PCAPS / "ikev2-psk-mismatch.pcap",
    CORPUS / "arkime" / "IKEv1.pcap",           # IPv6
    CORPUS / "arkime" / "IKEv2.pcap",           # IPv6, rekey, DPD
    CORPUS / "arkime" / "ike-cert_synthetic.pcap",  # IPv4 and IPv6 in one file
    CORPUS / "wireshark-wiki" / "test1.pcap",   # Cisco fragments, two messages in one datagram
    CORPUS / "zeek-spicy-ipsec" / "ipsec_client.pcap",  # IP fragments behind NAT
    CORPUS / "tcpdump" / "isakmp4500.pcap",     # port floating, keep-alives and ESP left out
]
RESTS_ON_ESP: set[str] = set()
"""Captures whose verdict rests on ESP packets, which `-w` does not write. (None any more: arkime's IKEv2.pcap
ends with an INFORMATIONAL of the same size as the liveness checks every 5 s before it, which is read as one
more of them, not as a Delete, with or without the ESP.)"""
FIELDS = ["isakmp.ispi", "isakmp.rspi", "isakmp.version", "isakmp.exchangetype", "isakmp.flags",
          "isakmp.messageid", "isakmp.length", "isakmp.nextpayload", "isakmp.typepayload",
          "isakmp.notify.msgtype"]


def datagrams(path: Path) -> list[IkeDatagram]:
    return [item for item in read_capture(str(path), CaptureStats()) if isinstance(item, IkeDatagram)]


def write(items: list[IkeDatagram], path: Path, nanoseconds: bool = False) -> Path:
    with PcapWriter(str(path), nanoseconds=nanoseconds) as writer:
        for item in items:
            writer.write(item)
    return path


def tshark(path: Path, *fields: str, display: str = "isakmp and not icmp and not icmpv6") -> list[list[str]]:
    """Rows of `frame.number` + `fields`, default preferences, checksums verified; tshark must not complain."""
    with tempfile.TemporaryDirectory() as config:
        command = ["tshark", "-n", "-r", str(path), "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
                   "-o", "tcp.check_checksum:TRUE", "-Y", display, "-T", "fields", "-E", "separator=/t",
                   "-E", "occurrence=a", "-E", "aggregator=,", "-e", "frame.number"]
        for name in fields:
            command += ["-e", name]
        result = subprocess.run(command, capture_output=True, text=True, check=False,
                                env=dict(os.environ, WIRESHARK_CONFIG_DIR=config))
    complaints = [line for line in result.stderr.splitlines() if "Running as user" not in line and line.strip()]
    assert result.returncode == 0 and not complaints, result.stderr
    return [line.split("\t") for line in result.stdout.splitlines()]


def comparable(event: Any) -> dict[str, Any]:
    fields = dataclasses.asdict(event)
    for name in ("frame", "frames", "file"):
        fields.pop(name, None)
    fields["time"] = round(fields["time"], 5)
    return fields


def analysed(path: Path) -> tuple[list[dict[str, Any]], list[str], int]:
    """Message events, verdict codes, and the ESP/AH packets the verdicts could rest on."""
    analysis = Analysis()
    events = [comparable(item.event) for item in analysis.run(str(path)) if hasattr(item, "event")]
    stats = analysis.stats
    return events, [verdict.code for verdict in conclude(analysis).verdicts], \
        stats.esp_packets + stats.esp_in_udp_packets + stats.ah_packets


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda path: path.name)
def test_tshark_reads_the_written_ike_messages_as_in_the_original(capture: Path, tmp_path: Path) -> None:
    items = datagrams(capture)
    assert items
    written = write(items, tmp_path / "out.pcap")
    original = {int(row[0]): row[1:] for row in tshark(capture, *FIELDS)}
    rows = tshark(written, *FIELDS, display="")
    expected = [original[item.frame] for item in items if item.frame in original]
    got = [row[1:] for row, item in zip(rows, items) if item.frame in original]
    assert len(rows) == len(items)  # one packet per datagram, nothing else
    assert got == expected and len(expected) >= 2
    # every written packet is ISAKMP to tshark, even the few it did not reassemble in the original
    assert [row[1].split(",")[0] for row in rows] == [item.data[:8].hex() for item in items]


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda path: path.name)
def test_ikesniff_reads_the_written_file_as_the_original(capture: Path, tmp_path: Path) -> None:
    written = write(datagrams(capture), tmp_path / "out.pcap")
    events, codes, esp = analysed(written)
    original_events, original_codes, original_esp = analysed(capture)
    assert events == original_events and esp == 0
    if capture.name in RESTS_ON_ESP:  # -w writes no ESP
        assert original_esp and codes != original_codes
    else:
        assert codes == original_codes


def test_tcp_encapsulation_round_trips_through_the_rfc8229_reader(tmp_path: Path) -> None:
    """No capture of RFC 8229 exists, so the messages of a real IPv4 and a real IPv6 exchange are written as
    TCP-encapsulated; tshark 4.0 has no RFC 8229 dissector, so it checks the TCP layer and ikesniff reads
    the records back."""
    for capture in (PCAPS / "ikev2-psk.pcap", CORPUS / "arkime" / "IKEv2.pcap"):
        items = [dataclasses.replace(item, transport="tcp-encap", sport=4500 if item.sport == 500 else item.sport,
                                     dport=4500 if item.dport == 500 else item.dport) for item in datagrams(capture)]
        written = write(items, tmp_path / f"{capture.stem}-tcp.pcap")
        rows = tshark(written, "tcp.flags", "tcp.len", "tcp.analysis.flags", display="tcp")
        assert all(row[3] == "" for row in rows)  # no retransmission, lost segment or window problem
        payload = tshark(written, "tcp.payload", display="tcp.len > 0")
        assert bytes.fromhex(payload[0][1]).startswith(b"IKETCP")
        assert not any(bytes.fromhex(row[1]).startswith(b"IKETCP") for row in payload[1:])
        stats = CaptureStats()
        back = datagrams_with(written, stats)
        assert stats.problems == 0 and stats.tcp_ike_records == len(items)
        assert [(d.src, d.sport, d.dst, d.dport, d.transport, d.data) for d in back] == \
               [(d.src, d.sport, d.dst, d.dport, d.transport, d.data) for d in items]
        assert [round(d.time, 6) for d in back] == [round(d.time, 6) for d in items]


def datagrams_with(path: Path, stats: CaptureStats) -> list[IkeDatagram]:
    return [item for item in read_capture(str(path), stats) if isinstance(item, IkeDatagram)]


def test_nanosecond_timestamps_keep_the_time(tmp_path: Path) -> None:
    items = datagrams(PCAPS / "ikev2-psk.pcap")
    written = write(items, tmp_path / "ns.pcap", nanoseconds=True)
    times = [float(row[1]) for row in tshark(written, "frame.time_epoch", display="")]
    assert times == pytest.approx([item.time for item in items], abs=1e-6)
    assert [item.time for item in datagrams(written)] == pytest.approx([item.time for item in items], abs=1e-6)


def test_dash_writes_the_pcap_to_standard_output(tmp_path: Path) -> None:
    script = ("import sys; from ikesniff.capture import read_capture, CaptureStats, IkeDatagram;"
              "from ikesniff.capture.writer import PcapWriter;"
              "w = PcapWriter('-');"
              "[w.write(i) for i in read_capture(sys.argv[1], CaptureStats()) if isinstance(i, IkeDatagram)];"
              "w.close()")
    result = subprocess.run([sys.executable, "-c", script, str(PCAPS / "ikev2-nat.pcap")], capture_output=True,
                            check=True, cwd=REPO)
    (tmp_path / "stdout.pcap").write_bytes(result.stdout)
    rows = tshark(tmp_path / "stdout.pcap", "isakmp.ispi", display="")
    assert len(rows) == len(datagrams(PCAPS / "ikev2-nat.pcap")) == 4


@pytest.mark.parametrize("path", ["/nonexistent-dir/out.pcap", str(PCAPS / "ikev2-nat.pcap") + "/out.pcap", "."])
def test_an_unwritable_path_is_a_one_line_capture_error(path: str) -> None:
    with pytest.raises(CaptureError) as raised:
        PcapWriter(path)
    assert "\n" not in str(raised.value) and str(raised.value).startswith(f"{path}: cannot write")
