"""The tunnel board, its live display and the plain verdict lines, fed from the lab's captures."""

from __future__ import annotations

import dataclasses
import io
import re
import time
from pathlib import Path

from rich.console import Console

from ikesniff import catalog
from ikesniff.analysis import Analysis, DecodedMessage, conclude
from ikesniff.events import DiagnosisEvent, MessageEvent, VerdictEvent
from ikesniff.live_view import SILENT_AFTER, LiveDisplay, TunnelBoard, verdict_headline, verdict_line

PCAPS = Path(__file__).resolve().parent.parent / "pcaps"


def analysed(name: str) -> tuple[Analysis, list[MessageEvent], list[VerdictEvent], list[DiagnosisEvent]]:
    analysis = Analysis()
    messages = [item.event for item in analysis.run(str(PCAPS / f"{name}.pcap"))
                if isinstance(item, DecodedMessage)]
    conclusions = conclude(analysis)
    return analysis, messages, conclusions.verdicts, conclusions.diagnoses


def board_of(name: str) -> tuple[TunnelBoard, list[MessageEvent]]:
    """A board fed as the CLI feeds it: every message, the ESP counts, then the verdicts."""
    analysis, messages, verdicts, _ = analysed(name)
    board = TunnelBoard()
    for event in messages:
        board.message(event)
    board.esp(analysis.stats.esp_flows.values())
    for verdict in verdicts:
        board.verdict(verdict)
    return board, messages


def drawn(board: TunnelBoard, now: float | None = None, max_rows: int = 200) -> str:
    console = Console(record=True, width=140, file=io.StringIO())
    console.print(board.render(now, max_rows))
    return console.export_text()


def cells_of(line: str) -> list[str]:
    """A drawn line cut into cells: columns are two spaces or more apart, cells never hold two spaces."""
    return re.split(r"\s{2,}", line.strip())


def row_cells(text: str, peers: str) -> list[str]:
    """The cells of the table row whose first cell is `peers`."""
    for line in text.splitlines():
        cells = cells_of(line)
        if cells[0] == peers:
            return cells
    raise AssertionError(f"no row for {peers} in:\n{text}")


HEADER = ["peers", "IKE", "state", "last exchange", "age", "retr", "ESP →", "ESP ←", "verdict"]


def test_dpd_timeout_row_shows_torn_down_with_its_retransmissions_and_both_esp_directions() -> None:
    board, messages = board_of("ikev2-dpd-timeout")
    text = drawn(board)
    assert cells_of(text.splitlines()[0]) == HEADER
    cells = dict(zip(HEADER, row_cells(text, "192.0.2.1 <-> 192.0.2.2"), strict=True))
    assert cells["IKE"] == "v2"
    assert cells["state"] == "torn down"
    assert cells["retr"] == "3"                       # frames 12, 13 and 14 repeat frame 11
    assert cells["last exchange"] == "INFORMATIONAL I req"
    assert cells["age"] == "0.0s"                     # the last message is 'now' for a file
    assert (cells["ESP →"], cells["ESP ←"]) == ("3", "3")
    assert cells["verdict"] == "DpdTimeout (likely)"
    assert "8 IKE messages · 1 tunnel (1 torn down) · 6 ESP packets" in text
    # Ages count to the time given: 90 s after the last message.
    later = drawn(board, messages[-1].time + 90)
    assert dict(zip(HEADER, row_cells(later, "192.0.2.1 <-> 192.0.2.2"), strict=True))["age"] == "1m30s"


def test_established_tunnel_row() -> None:
    board, _ = board_of("ikev2-psk")
    cells = dict(zip(HEADER, row_cells(drawn(board), "192.0.2.1 <-> 192.0.2.2"), strict=True))
    assert (cells["state"], cells["retr"], cells["verdict"]) == ("established", "0", "Established (certain)")
    assert cells["last exchange"] == "IKE_AUTH R rsp"


def test_failed_tunnel_row_and_its_colour() -> None:
    board, _ = board_of("ikev2-encryption-mismatch-both-ways")
    text = drawn(board)
    cells = dict(zip(HEADER, row_cells(text, "192.0.2.1 <-> 192.0.2.2"), strict=True))
    assert (cells["state"], cells["verdict"]) == ("failed", "EncryptionAlgorithmMismatch (certain)")
    assert (cells["ESP →"], cells["ESP ←"], cells["retr"]) == ("0", "0", "0")
    console = Console(record=True, width=140, file=io.StringIO(), color_system="truecolor",
                      force_terminal=True)
    console.print(board.render())
    failed_line = next(line for line in console.export_text(styles=True).splitlines() if "failed" in line)
    assert "\x1b[1;31m" in failed_line or "\x1b[31;1m" in failed_line   # bold red


def test_before_any_verdict_the_state_is_what_the_wire_shows() -> None:
    analysis, messages, _, _ = analysed("ikev2-dpd-timeout")
    board = TunnelBoard()
    for event in messages[:4]:                   # IKE_SA_INIT and IKE_AUTH, no ESP counted yet
        board.message(event)
    peers = "192.0.2.1 <-> 192.0.2.2"
    assert dict(zip(HEADER, row_cells(drawn(board), peers), strict=True))["state"] == "negotiating"
    board.esp(analysis.stats.esp_flows.values())  # ESP both ways
    assert dict(zip(HEADER, row_cells(drawn(board), peers), strict=True))["state"] == "established"
    board.esp([])
    quiet = drawn(board, messages[3].time + SILENT_AFTER + 1)
    assert dict(zip(HEADER, row_cells(quiet, peers), strict=True))["state"] == "silent"
    assert dict(zip(HEADER, row_cells(quiet, peers), strict=True))["verdict"] == "-"


def test_latest_verdict_wins_and_only_a_changed_one_is_news() -> None:
    _, messages, verdicts, diagnoses = analysed("ikev2-dpd-timeout")
    board = TunnelBoard()
    for event in messages:
        board.message(event)
    early = dataclasses.replace(verdicts[0], code="NoResponse", outcome="failed", confidence="possible")
    assert board.verdict(early) is True
    assert board.verdict(dataclasses.replace(early)) is False      # the same again: nothing to tell
    peers = "192.0.2.1 <-> 192.0.2.2"
    cells = dict(zip(HEADER, row_cells(drawn(board), peers), strict=True))
    assert cells["verdict"] == "NoResponse (possible)"
    assert board.verdict(verdicts[0]) is True
    cells = dict(zip(HEADER, row_cells(drawn(board), peers), strict=True))
    assert (cells["state"], cells["verdict"]) == ("torn down", "DpdTimeout (likely)")
    # A retired IKE SA's diagnosis lands on the same tunnel (its endpoints carry ports).
    assert diagnoses[0].initiator == "192.0.2.1:500"
    assert board.verdict(diagnoses[0]) is False                     # says what the verdict said
    assert len(board.rows()) == 1


def test_a_new_attempt_after_a_verdict_is_shown_negotiating_beside_the_old_verdict() -> None:
    _, messages, verdicts, _ = analysed("ikev2-encryption-mismatch-both-ways")
    first_attempt = [event for event in messages if event.ike_sa == messages[0].ike_sa]
    second_attempt = [event for event in messages if event.ike_sa != messages[0].ike_sa]
    assert first_attempt and second_attempt and second_attempt[0].exchange == "IKE_SA_INIT"
    board = TunnelBoard()
    for event in first_attempt:
        board.message(event)
    board.verdict(verdicts[0])
    peers = "192.0.2.1 <-> 192.0.2.2"
    assert dict(zip(HEADER, row_cells(drawn(board), peers), strict=True))["state"] == "failed"
    board.message(second_attempt[0])
    cells = dict(zip(HEADER, row_cells(drawn(board), peers), strict=True))
    assert (cells["state"], cells["verdict"]) == ("negotiating", "EncryptionAlgorithmMismatch (certain)")


def test_rows_are_bounded_most_recent_first_and_the_rest_counted() -> None:
    _, messages, _, _ = analysed("ikev2-psk")
    board = TunnelBoard(max_tunnels=120)
    for number in range(250):                    # 250 tunnels: the lab's first message between other hosts
        src, dst = f"198.51.{number // 100}.{number % 100 + 1}", "203.0.113.9"
        board.message(dataclasses.replace(messages[0], src=src, dst=dst, time=messages[0].time + number / 10))
    text = drawn(board, max_rows=50)
    rows = [cells_of(line) for line in text.splitlines() if "<->" in line]
    assert len(rows) == 50
    assert rows[0][0] == "198.51.2.50 <-> 203.0.113.9"     # the last one fed
    assert rows[1][0] == "198.51.2.49 <-> 203.0.113.9"
    assert "250 IKE messages · 250 tunnels (120 negotiating)" in text          # states of those kept
    assert "200 more tunnels not shown" in text                                # 70 kept + 130 forgotten
    assert len(board.rows()) == 120
    # A tunnel that speaks again comes back to the top.
    board.message(dataclasses.replace(messages[0], src="198.51.2.1", dst="203.0.113.9"))
    assert board.rows()[0].peers == ("198.51.2.1", "203.0.113.9")


def test_esp_counts_are_per_direction_of_the_sorted_peers() -> None:
    _, messages, _, _ = analysed("ikev2-psk")
    board = TunnelBoard()
    board.message(messages[0])
    board.esp([("192.0.2.2", "192.0.2.1", 7), ("192.0.2.1", "192.0.2.2", 2), ("192.0.2.1", "192.0.2.2", 3),
               ("10.0.0.1", "10.0.0.2", 100)])           # a pair without IKE: counted, not a row
    row = board.rows()[0]
    assert (row.esp_forward, row.esp_backward) == (5, 7)
    assert "112 ESP packets" in drawn(board)


def test_kernel_drops_are_in_the_footer() -> None:
    board, _ = board_of("ikev2-psk")
    assert "kernel" not in drawn(board)
    board.drops(1500, 12, 3)
    assert "kernel: 1500 received, 12 dropped, 3 dropped by the interface" in drawn(board)


def test_verdict_lines_match_what_the_cli_prints_at_the_end() -> None:
    _, _, verdicts, diagnoses = analysed("ikev2-dpd-timeout")
    verdict = verdicts[0]
    assert verdict_headline(verdict) == "192.0.2.1 <-> 192.0.2.2: TORN_DOWN DpdTimeout (likely), phase 1"
    when = 1_700_000_000.0
    clock = time.strftime("%H:%M:%S", time.localtime(when))
    assert verdict_line(verdict, when) == f"{clock} {verdict_headline(verdict)}"
    unsure = dataclasses.replace(verdict, code="PskMismatch", outcome="failed", confidence="likely",
                                 alternatives=["PeerIdMismatch"])
    assert verdict_line(unsure) == ("192.0.2.1 <-> 192.0.2.2: FAILED PskMismatch "
                                    "(likely; also possible: PeerIdMismatch), phase 1")
    # A diagnosis names its endpoints with ports (IPv6 in brackets); the line names the addresses, sorted.
    swapped = dataclasses.replace(diagnoses[0], initiator="[2001:db8::2]:4500", responder="[2001:db8::1]:500")
    assert verdict_headline(swapped).startswith("2001:db8::1 <-> 2001:db8::2: TORN_DOWN DpdTimeout")


def test_live_display_redraws_on_its_own_and_leaves_the_full_table() -> None:
    analysis, messages, verdicts, _ = analysed("ikev2-dpd-timeout")
    output = io.StringIO()
    console = Console(file=output, force_terminal=True, width=140, height=30, color_system=None)
    board = TunnelBoard()
    with LiveDisplay(board, console, stats=analysis.stats, drops=lambda: (10, 1, 0), refresh_per_second=20):
        for event in messages:
            board.message(event)
        time.sleep(0.5)                          # the main loop idles: the display thread redraws
        drawn_while_idle = output.getvalue().count("last exchange")
        print("printed while the board is up")  # goes above the table, not into it
        for verdict in verdicts:
            board.verdict(verdict)
    assert drawn_while_idle >= 4
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output.getvalue())
    last = text[text.rindex("peers "):]
    assert "printed while the board is up" in text
    assert "DpdTimeout (likely)" in last and "torn down" in last
    # ESP and drops were pulled from the capture's counters by the display itself.
    assert "6 ESP packets" in last and "kernel: 10 received, 1 dropped" in last


def test_a_narrow_terminal_leaves_out_the_exchange_and_counters_before_peers_and_verdict() -> None:
    board, messages = board_of("ikev2-dpd-timeout")
    board.message(dataclasses.replace(messages[0], src="2001:db8:1234:5678::1", dst="2001:db8:1234:5678::2"))
    wide = drawn(board)
    assert "INFORMATIONAL I req" in wide and "2001:db8:1234:5678::1 <-> 2001:db8:1234:5678::2" in wide
    console = Console(record=True, width=80, file=io.StringIO())
    console.print(board.render())
    narrow = console.export_text()
    table = narrow.split("\n")[:4]
    assert all(len(line) <= 80 for line in table)
    assert cells_of(table[0]) == ["peers", "state", "verdict"]
    rows = [cells_of(line) for line in table[2:]]
    assert rows[0][0].startswith("2001:db8:1234:5678::1 <-> 2001:db8") and rows[1][0] == "192.0.2.1 <-> 192.0.2.2"
    assert rows[1][1:] == ["torn down", "DpdTimeout (likely)"]
    console = Console(record=True, width=60, file=io.StringIO())
    console.print(board.render())
    narrower = [cells_of(line) for line in console.export_text().split("\n")[2:4]]
    assert narrower[0][0].endswith("…") and narrower[1] == ["192.0.2.1 <-> 192.0.2.2", "torn down", "DpdTimeout (likely)"]


def test_at_80_columns_the_longest_verdict_and_two_ipv4_peers_stay_whole() -> None:
    board = TunnelBoard()
    longest = max((cause.code for cause in catalog.causes()), key=len)
    for name in ("ikev2-psk-mismatch", "ikev2-nat-4500-blocked"):
        _, messages, verdicts, _ = analysed(name)
        for event in messages:
            board.message(event)
        for verdict in verdicts:
            board.verdict(dataclasses.replace(verdict, code=longest) if name == "ikev2-psk-mismatch" else verdict)
    console = Console(record=True, width=80, file=io.StringIO())
    console.print(board.render())
    text = console.export_text()
    assert all(len(line) <= 80 for line in text.splitlines())
    assert f"{longest} (likely)" in text and "Phase1NegotiationTimeout (likely)" in text
    assert "203.0.113.1 <-> 203.0.113.2" in text and "192.0.2.1 <-> 192.0.2.2" in text and "…" not in text
