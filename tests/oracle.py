"""tshark as the dissection oracle: per-frame IKE fields from tshark and from `ikesniff --json`.

Shared by the oracle test and the benchmark's sanity checks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "external"
PCAPS = REPO / "pcaps"
CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz")
RFC8229_LUA = REPO / "lab" / "rfc8229.lua"
"""tshark 4.0 reads no RFC 8229 stream (its 'tcpencap' is another encapsulation): the lab's script splits TCP
port 4500 into records and hands each IKE message to Wireshark's own ISAKMP dissector."""

TSHARK_FIELDS = ["frame.number", "isakmp.ispi", "isakmp.rspi", "isakmp.version", "isakmp.exchangetype",
                 "isakmp.messageid", "isakmp.length", "isakmp.notify.msgtype"]


@dataclass
class FrameFields:
    """The IKE messages of one frame, each field a list with one entry per message."""

    spi_i: list[str] = field(default_factory=list)
    spi_r: list[str] = field(default_factory=list)
    version: list[int] = field(default_factory=list)
    exchange_type: list[int] = field(default_factory=list)
    message_id: list[int] = field(default_factory=list)
    length: list[int] = field(default_factory=list)
    notify_types: list[int] = field(default_factory=list)
    """Flattened over the messages of the frame, in order (tshark aggregates them so)."""


def captures() -> list[Path]:
    found = [p for root in (PCAPS, CORPUS) if root.is_dir() for p in sorted(root.rglob("*"))
             if p.is_file() and p.name.endswith(CAPTURE_SUFFIXES)]
    return found


def tshark_frames(path: Path) -> dict[int, FrameFields]:
    """Per-frame fields as tshark 4.x reports them, default preferences, no keys."""
    with tempfile.TemporaryDirectory() as config:
        # An ICMP error quoting an IKE packet is not an IKE message seen on the wire (ikesniff reports
        # it as an ICMP error about IKE); tshark dissects the quoted bytes as ISAKMP.
        command = ["tshark", "-n", "-X", f"lua_script:{RFC8229_LUA}", "-r", str(path), "-Y", "isakmp and not icmp and not icmpv6", "-T", "fields", "-E", "separator=/t",
                   "-E", "occurrence=a", "-E", "aggregator=,"]
        for name in TSHARK_FIELDS:
            command += ["-e", name]
        env = dict(os.environ, WIRESHARK_CONFIG_DIR=config)
        output = subprocess.run(command, capture_output=True, text=True, env=env, check=False).stdout
    frames: dict[int, FrameFields] = {}
    for line in output.splitlines():
        cells = line.split("\t")
        cells += [""] * (len(TSHARK_FIELDS) - len(cells))
        values = [cell.split(",") if cell else [] for cell in cells]
        frame = FrameFields(
            spi_i=values[1], spi_r=values[2], version=[int(v, 16) >> 4 for v in values[3]],
            exchange_type=[int(v) for v in values[4]], message_id=[int(v, 16) for v in values[5]],
            length=[int(v) for v in values[6]], notify_types=[int(v) for v in values[7]])
        frames[int(cells[0])] = frame
    return frames


def ikesniff_frames(path: Path) -> tuple[dict[int, FrameFields], list[dict[str, object]]]:
    """Per-frame fields from `ikesniff -r PATH --json`, and the raw events."""
    command = [sys.executable, "-m", "ikesniff", "-r", str(path), "--json"]
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO)
    assert result.returncode in (0, 1), f"ikesniff failed on {path}: {result.stderr.strip()}"
    events = [json.loads(line) for line in result.stdout.splitlines()]
    frames: dict[int, FrameFields] = defaultdict(FrameFields)
    for event in events:
        if event["event"] != "message":
            continue
        frame = frames[int(event["frame"])]
        frame.spi_i.append(event["spi_i"])
        frame.spi_r.append(event["spi_r"])
        frame.version.append(event["version"])
        frame.exchange_type.append(event["exchange_type"])
        frame.message_id.append(event["message_id"])
        frame.length.append(event["length"])
        frame.notify_types.extend(n["code"] for n in event["notifies"])
    return dict(frames), events


def have_tshark() -> bool:
    return shutil.which("tshark") is not None
