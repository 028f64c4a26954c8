#!/usr/bin/env python3
"""The terminal screenshots in docs/: `ikesniff -r` in colour, and the live board at 80 columns.

`docs/screenshot-read-colour.png`: the real program run on lab captures with `--color always` and 120
columns (message lines longer than that fold, as on a terminal); its ANSI output read back by rich and drawn as an SVG terminal, photographed by headless chromium.
`docs/screenshot-live-board-80.png`: the tunnel board as `ikesniff -i` draws it, fed with the messages and
verdicts of several lab captures (one tunnel each, two gateways renamed per capture so that each is a
row of its own), drawn at 80 columns.

Usage: .venv/bin/python tools/screenshots.py [--docs DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import math
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.text import Text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ikesniff.analysis import Analysis, DecodedMessage, conclude
from ikesniff.live_view import TunnelBoard
from ikesniff.report.example import screenshot

READ = ("ikev2-psk-mismatch.pcap", "ikev2-psk.pcap")
BOARD = (("ikev2-psk", "198.51.100.10", "203.0.113.20"), ("ikev2-psk-mismatch", "198.51.100.11", "203.0.113.21"),
         ("ikev1-quick-mode-proposal-mismatch", "198.51.100.12", "203.0.113.22"),
         ("ikev2-dpd-timeout", "198.51.100.13", "203.0.113.23"), ("ikev2-nat-4500-blocked", None, None),
         ("ikev2-rekey", "198.51.100.14", "203.0.113.24"))


def read_in_colour() -> Text:
    text = Text()
    for name in READ:
        environment = {**os.environ, "COLUMNS": "120"}
        environment.pop("NO_COLOR", None)
        command = [sys.executable, "-m", "ikesniff", "-r", f"pcaps/{name}", "--color", "always"]
        result = subprocess.run(command, capture_output=True, cwd=REPO, env=environment, check=False, timeout=120)
        text.append(f"$ ikesniff -r pcaps/{name}\n", style="bold")
        text.append_text(Text.from_ansi(result.stdout.decode() + result.stderr.decode()))
        text.append("\n")
    return text


def board() -> TunnelBoard:
    board = TunnelBoard()
    for name, left, right in BOARD:
        analysis = Analysis()
        messages = [item.event for item in analysis.run(str(REPO / "pcaps" / f"{name}.pcap"))
                    if isinstance(item, DecodedMessage)]
        conclusions = conclude(analysis)
        renamed = {"192.0.2.1": left, "192.0.2.2": right} if left and right else {}

        def move(address: str, renamed: dict[str, str | None] = renamed) -> str:  # type: ignore[assignment]
            return renamed.get(address) or address

        for event in messages:
            board.message(dataclasses.replace(event, src=move(event.src), dst=move(event.dst)))
        board.esp([(move(flow.src), move(flow.dst), flow.packets) for flow in analysis.stats.esp_flows.values()])
        for verdict in conclusions.verdicts:
            board.verdict(dataclasses.replace(verdict, peers=sorted(move(peer) for peer in verdict.peers)))
    return board


def save(renderable: object, width: int, png: Path, title: str) -> None:
    console = Console(record=True, width=width, file=io.StringIO(), force_terminal=True, color_system="truecolor")
    console.print(renderable)
    with tempfile.TemporaryDirectory(prefix="ikesniff-shot-") as folder:
        svg = Path(folder) / "shot.svg"
        console.save_svg(str(svg), title=title)
        box = re.search(r'viewBox="0 0 ([0-9.]+) ([0-9.]+)"', svg.read_text())
        assert box is not None, "rich wrote an SVG without a viewBox"
        svg_width, svg_height = (math.ceil(float(number)) for number in box.groups())
        page = Path(folder) / "shot.html"
        page.write_text(f"<html><body style='margin:0;background:#fff'><img src='shot.svg' "
                        f"style='display:block;width:{svg_width}px;height:{svg_height}px'></body></html>")
        screenshot(page, png, width=svg_width, height=svg_height)
    print(png)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", default=str(REPO / "docs"))
    docs = Path(parser.parse_args().docs)
    save(read_in_colour(), 120, docs / "screenshot-read-colour.png", "ikesniff -r (colour)")
    live = board()
    save(live.render(live.last_time), 80, docs / "screenshot-live-board-80.png", "ikesniff -i eth0 (80 columns)")


if __name__ == "__main__":
    main()
