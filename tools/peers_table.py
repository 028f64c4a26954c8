#!/usr/bin/env python3
"""The mixed-implementation lab (pcaps/peers) as one table: each scenario's tunnel verdict without keys,
with the key material beside it, and with the PSK its label records.

For each pcaps/peers/NAME.pcap with a NAME.json label:

  without keys   nothing but the capture;
  with keys      every key file beside it: the Wireshark tables (NAME.ikev1/ikev2_decryption_table) and the
                 charon logs (NAME.moon/sun.charon.log; pluto, vpnc and ike-scan logs hold no keys);
  with PSK       the pre-shared key the label gives for the capturing side (moon; the responder's when moon
                 holds none, as with ike-scan), no keys.

It prints a Markdown table: scenario | implementation(s) | label | without keys | with keys | with PSK, each
cell 'Code (confidence)' of the tunnel's verdict ('; '-joined when there are several, '-' when none, 'n/a'
when the scenario lacks that input; '*' marks a code other than the label's). Runs in-process through
ikesniff.api; nothing here prints a key or a PSK.

The first lab (pcaps/, strongSwan on both sides) is read the same way with `--lab pcaps`, its PSK being
moon's `psk`.

Usage: .venv/bin/python tools/peers_table.py [--lab DIR ...] [--scenarios NAME ...]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ikesniff import api
from ikesniff.crypto.keys import KeyStore, load_key_file
from ikesniff.events import VerdictEvent

REPO = Path(__file__).resolve().parents[1]
PEERS = REPO / "pcaps" / "peers"
KEY_SUFFIXES = (".ikev1_decryption_table", ".ikev2_decryption_table", ".moon.charon.log", ".sun.charon.log")


def label_of(name: str, lab: Path = PEERS) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((lab / f"{name}.json").read_text())
    return data


def key_files(name: str, lab: Path = PEERS) -> list[Path]:
    return [lab / f"{name}{suffix}" for suffix in KEY_SUFFIXES
            if (lab / f"{name}{suffix}").exists() and (lab / f"{name}{suffix}").stat().st_size > 0]


def keys_of(name: str, lab: Path = PEERS) -> KeyStore | None:
    files = key_files(name, lab)
    if not files:
        return None
    store = KeyStore()
    for path in files:
        store.add(load_key_file(str(path)))
    return store


def psk_of(label: dict[str, Any]) -> bytes | None:
    """The capturing side's pre-shared key as the label records it (moon's, or vpnc's 'IPSec secret'),
    else the responder's."""
    configured = label["configured"]
    for host in ("moon", label.get("responder", "sun")):
        settings = configured.get(host) or {}
        secret = (settings.get("secret") or settings.get("psk")
                  or (settings.get("vpnc.conf") or {}).get("IPSec secret"))
        if secret:
            return str(secret).encode()
    return None


def verdicts(name: str, keys: KeyStore | None = None, psk: bytes | None = None,
             lab: Path = PEERS) -> list[VerdictEvent]:
    options = api.Options(keys=keys, psks=[psk] if psk else [])
    return [item for item in api.analyse([str(lab / f"{name}.pcap")], options) if isinstance(item, VerdictEvent)]


def implementations(label: dict[str, Any]) -> str:
    if "implementations" not in label:  # the first lab: strongSwan on both sides
        return f"moon: charon, sun: charon (strongSwan {label.get('strongswan_version', '?')})"
    return ", ".join(f"{host}: {entry['impl']}" for host, entry in label["implementations"].items())


def cell(found: list[VerdictEvent], expected: str) -> str:
    if not found:
        return "-"
    text = "; ".join(f"{v.code} ({v.confidence})" for v in found)
    return text if all(v.code == expected for v in found) else f"{text} *"


def row(name: str, lab: Path = PEERS) -> list[str]:
    label = label_of(name, lab)
    expected = label["expected"]["code"]
    keys, psk = keys_of(name, lab), psk_of(label)
    return [name, implementations(label), f"{label['expected']['outcome']} {expected}",
            cell(verdicts(name, lab=lab), expected),
            cell(verdicts(name, keys=keys, lab=lab), expected) if keys is not None else "n/a",
            cell(verdicts(name, psk=psk, lab=lab), expected) if psk is not None else "n/a"]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--lab", nargs="*", type=Path, default=[PEERS],
                        help="folders of labelled captures (default pcaps/peers; the first lab is pcaps)")
    parser.add_argument("--scenarios", nargs="*", help="scenario names (default: every labelled capture)")
    options = parser.parse_args()
    header = ["scenario", "implementation(s)", "label", "without keys", "with keys", "with PSK"]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    count = 0
    for lab in options.lab:
        lab = lab.resolve()
        names = options.scenarios or sorted(p.stem for p in lab.glob("*.json") if (lab / f"{p.stem}.pcap").exists())
        for name in names:
            if (lab / f"{name}.json").exists():
                print("| " + " | ".join(row(name, lab)) + " |", flush=True)
                count += 1
    print(f"\n{count} scenarios; '*': a code other than the label's; 'n/a': no such input beside the capture.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
