#!/usr/bin/env python3
"""What key material adds: every lab scenario's verdict through the CLI, without and with each kind of key.

For each pcaps/NAME.pcap with a NAME.json label, `ikesniff -r NAME.pcap --json` runs

  without keys       nothing but the capture;
  key table          the Wireshark tables exported from moon's charon log (--keys LOG --export-keys DIR),
                     then given back as --keys (only the tables that hold a row);
  moon's log         --keys NAME.moon.charon.log;
  both logs          --keys NAME.moon.charon.log --keys NAME.sun.charon.log;
  PSK                --psk-file with the PSK the label records for the capturing host (moon; the NAT
                     scenarios are captured on the NAT box, and moon's key is used there too), no keys;
  log + PSK          moon's log and the PSK: IKEv2 AUTH and IKEv1 hashes verified in decrypted messages;
  DH secret + PSK    IKEv1 only: moon's log cut down to its 'shared Diffie Hellman secret' dumps and the
                     lines naming the SA's cookies, and the PSK: every IKEv1 key derived (RFC 2409).

and prints a Markdown table: scenario | label | one column per run, each 'Code (confidence)' of the
tunnel's verdict ('-' when the run has no verdict, 'n/a' when the scenario lacks the input). A cell
whose code differs from the label's is marked with '*'. Keys and PSKs are written only to a temporary
directory that is removed at the end; nothing here prints them.

Usage: .venv/bin/python tools/keys_table.py [--scenarios NAME ...] [--jobs N]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PCAPS = REPO / "pcaps"
IKESNIFF = REPO / ".venv" / "bin" / "ikesniff"
COLUMNS = ("without keys", "key table", "moon's log", "both logs", "PSK", "log + PSK", "DH secret + PSK")
DH_HEAD = re.compile(r"\] (?:<[^>]*> ?)?shared Diffie Hellman secret => \d+ bytes")
DUMP_ROW = re.compile(r"\] (?:<[^>]*> ?)? *\d+: ")
SPI_LINE = re.compile(r"with SPIs [0-9a-f]{16}_i [0-9a-f]{16}_r")


def verdict_of(arguments: list[str]) -> str:
    """'Code (confidence)' of the first verdict of one CLI run ('; '-joined when there are several)."""
    result = subprocess.run([str(IKESNIFF), "--json", *arguments], capture_output=True, text=True, check=False)
    if result.returncode == 2:
        return "error: " + (result.stderr.strip().splitlines() or ["?"])[-1][:60]
    verdicts = [json.loads(line) for line in result.stdout.splitlines() if '"event":"verdict"' in line]
    if not verdicts:
        return "-"
    return "; ".join(f"{v['code']} ({v['confidence']})" for v in verdicts)


def dh_only_log(source: Path, target: Path) -> bool:
    """Copy of a charon log with only the DH secret dumps and the 'with SPIs' lines; False when it has none."""
    kept: list[str] = []
    in_dump = False
    for line in source.read_text().splitlines():
        if DH_HEAD.search(line):
            in_dump = True
            kept.append(line)
        elif in_dump and DUMP_ROW.search(line):
            kept.append(line)
        else:
            in_dump = False
            if SPI_LINE.search(line):
                kept.append(line)
    target.write_text("\n".join(kept) + "\n")
    return any(DH_HEAD.search(line) for line in kept)


def exported_tables(log: Path, directory: Path, pcap: Path) -> list[Path]:
    """The Wireshark tables ikesniff exports from a charon log, those holding a row."""
    subprocess.run([str(IKESNIFF), "-q", "-r", str(pcap), "--keys", str(log), "--export-keys", str(directory)],
                   capture_output=True, text=True, check=False)
    tables = [directory / name for name in ("ikev2_decryption_table", "ikev1_decryption_table")]
    return [table for table in tables if table.exists() and any(
        line.strip() and not line.startswith("#") for line in table.read_text().splitlines())]


def runs_of(name: str, work: Path) -> dict[str, list[str] | None]:
    """The CLI arguments of each column for one scenario (None: the scenario lacks that input)."""
    label = json.loads((PCAPS / f"{name}.json").read_text())
    pcap = PCAPS / f"{name}.pcap"
    moon, sun = PCAPS / f"{name}.moon.charon.log", PCAPS / f"{name}.sun.charon.log"
    host = label["topology"]["capture_point"].split(":")[0]
    host = host if host in label["configured"] else "moon"
    secret = label["configured"][host].get("psk")
    here = work / name
    here.mkdir()
    psk_file = here / "psk.txt"
    if secret is not None:
        psk_file.write_text(f"{secret}\n")
    has_moon = moon.exists() and moon.stat().st_size > 0
    logs = [str(p) for p in (moon, sun) if p.exists() and p.stat().st_size > 0]
    tables = exported_tables(moon, here / "tables", pcap) if has_moon else []
    dh_log = here / "dh.log"
    ikev1 = label["configured"]["moon"]["ike_version"] == 1
    has_dh = has_moon and ikev1 and dh_only_log(moon, dh_log)
    with_psk = ["--psk-file", str(psk_file)] if secret is not None else None
    base = ["-r", str(pcap)]
    return {
        "without keys": base,
        "key table": [*base, *(a for t in tables for a in ("--keys", str(t)))] if tables else None,
        "moon's log": [*base, "--keys", str(moon)] if has_moon else None,
        "both logs": [*base, *(a for p in logs for a in ("--keys", p))] if len(logs) == 2 else None,
        "PSK": [*base, *with_psk] if with_psk else None,
        "log + PSK": [*base, "--keys", str(moon), *with_psk] if with_psk and has_moon else None,
        "DH secret + PSK": [*base, "--keys", str(dh_log), *with_psk] if with_psk and has_dh else None,
    }


def row(name: str, work: Path) -> list[str]:
    label = json.loads((PCAPS / f"{name}.json").read_text())
    expected = label["expected"]["code"]
    cells = [name, expected]
    for arguments in runs_of(name, work).values():
        if arguments is None:
            cells.append("n/a")
            continue
        cell = verdict_of(arguments)
        code = cell.split(" (")[0]
        cells.append(cell if code == expected or cell == "-" else f"{cell} *")
    return cells


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", nargs="*", help="scenario names (default: every labelled capture)")
    parser.add_argument("--jobs", type=int, default=1, help="scenarios run at once (default 1)")
    options = parser.parse_args()
    names = options.scenarios or sorted(p.stem for p in PCAPS.glob("*.json") if (PCAPS / f"{p.stem}.pcap").exists())
    with tempfile.TemporaryDirectory(prefix="ikesniff-keys-") as temporary:
        work = Path(temporary)
        with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
            rows = list(pool.map(lambda name: row(name, work), names))
    header = ["scenario", "label", *COLUMNS]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for cells in rows:
        print("| " + " | ".join(cells) + " |")
    print(f"\n{len(rows)} scenarios; '*': the verdict's code differs from the label's; "
          "'n/a': the scenario has no such key material (no keys logged, no PSK configured, not IKEv1).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
