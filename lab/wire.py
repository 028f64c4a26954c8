"""What a capture shows, read with tshark (the independent oracle, not ikesniff's own dissector).

Used twice: by ``lab/run.py`` to write the ``wire`` section of a label, and by
``tests/test_lab.py`` to check that every committed label still matches its pcap.
Needs only tshark and the standard library; no root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

# SPEC section 4 exchange names by (IKE major version, exchange type)
EXCHANGES = {
    1: {1: "BASE", 2: "IDENTITY_PROTECTION", 3: "AUTHENTICATION_ONLY", 4: "AGGRESSIVE", 5: "INFORMATIONAL",
        6: "TRANSACTION", 32: "QUICK_MODE", 33: "NEW_GROUP_MODE"},
    2: {34: "IKE_SA_INIT", 35: "IKE_AUTH", 36: "CREATE_CHILD_SA", 37: "INFORMATIONAL", 38: "IKE_SESSION_RESUME",
        43: "IKE_INTERMEDIATE", 44: "IKE_FOLLOWUP_KE"},
}

FIELDS = [
    "frame.number", "frame.len", "ip.src", "ip.dst", "ip.flags.mf", "ip.frag_offset", "ip.proto",
    "udp.srcport", "udp.dstport", "udpencap.non_esp_marker", "esp.spi",
    "isakmp.ispi", "isakmp.rspi", "isakmp.mjver", "isakmp.exchangetype", "isakmp.flag_e", "isakmp.flag_i", "isakmp.flag_r",
    "isakmp.messageid", "isakmp.length", "isakmp.typepayload", "isakmp.notify.msgtype",
    "isakmp.id.data.fqdn", "isakmp.id.data.ipv4_addr", "isakmp.id.data.der_asn1_dn",
    "isakmp.enc.pad_length",  # only present once tshark has decrypted an IKEv2 SK payload
]

SKF = 53  # IKEv2 Encrypted and Authenticated Fragment payload (RFC 7383)
SK = 46


def tshark_path() -> str | None:
    return shutil.which("tshark")


def _tshark_fields(pcap: Path, config_dir: Path | None = None) -> list[dict[str, str]]:
    tshark = tshark_path()
    if tshark is None:
        raise RuntimeError("tshark is not installed")
    cmd = [tshark, "-n", "-r", str(pcap), "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a",
           "-E", "aggregator=,"]
    for field in FIELDS:
        cmd += ["-e", field]
    env = dict(os.environ)
    if config_dir is not None:
        env["WIRESHARK_CONFIG_DIR"] = str(config_dir)
    else:
        # an empty personal configuration: nobody's ~/.config/wireshark changes what we see
        env["WIRESHARK_CONFIG_DIR"] = tempfile.mkdtemp(prefix="ikslab-ws-")
    try:
        result = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env, timeout=120)
    finally:
        if config_dir is None:
            shutil.rmtree(env["WIRESHARK_CONFIG_DIR"], ignore_errors=True)
    if result.returncode != 0:
        raise RuntimeError(f"tshark failed on {pcap}: {result.stderr.strip()}")
    errors = [line for line in result.stderr.splitlines() if "rror" in line]
    if errors:
        raise RuntimeError(f"tshark complained on {pcap}: {'; '.join(errors)}")
    rows = []
    for line in result.stdout.splitlines():
        values = line.split("\t")
        values += [""] * (len(FIELDS) - len(values))
        rows.append(dict(zip(FIELDS, values)))
    return rows


def _int(text: str) -> int | None:
    text = text.split(",")[0].strip()
    if not text:
        return None
    return int(text, 16) if text.startswith("0x") else int(text)


def _flag(text: str) -> bool | None:
    text = text.split(",")[0].strip()
    if not text:
        return None
    return text in ("1", "True", "true")


def pcap_facts(pcap: Path) -> dict[str, Any]:
    """The facts a label records about its capture (and the fast test re-derives)."""
    rows = _tshark_fields(pcap)
    messages = []
    esp_frames = 0
    esp_spis: set[str] = set()
    ip_fragments = 0
    icmp = 0
    for row in rows:
        if row["ip.flags.mf"] in ("1", "True") or (_int(row["ip.frag_offset"]) or 0) > 0:
            ip_fragments += 1
        if row["ip.proto"].split(",")[0] == "1":
            icmp += 1
        if row["esp.spi"]:
            esp_frames += 1
            esp_spis.add(f"{_int(row['esp.spi']):08x}")
        if not row["isakmp.ispi"]:
            continue
        version = _int(row["isakmp.mjver"])
        exchange_type = _int(row["isakmp.exchangetype"])
        payloads = [int(p) for p in row["isakmp.typepayload"].split(",") if p]
        message: dict[str, Any] = {
            "frame": int(row["frame.number"]),
            "src": row["ip.src"].split(",")[0],
            "sport": _int(row["udp.srcport"]),
            "dst": row["ip.dst"].split(",")[0],
            "dport": _int(row["udp.dstport"]),
            "non_esp_marker": bool(row["udpencap.non_esp_marker"]),
            "version": version,
            "exchange": EXCHANGES.get(version or 0, {}).get(exchange_type or -1, f"UNKNOWN_{exchange_type}"),
            "exchange_type": exchange_type,
            "spi_i": row["isakmp.ispi"].split(",")[0],
            "spi_r": row["isakmp.rspi"].split(",")[0],
            "message_id": _int(row["isakmp.messageid"]),
            "length": _int(row["isakmp.length"]),
        }
        if version == 2:
            message["initiator"] = _flag(row["isakmp.flag_i"])
            message["response"] = _flag(row["isakmp.flag_r"])
            message["ikev2_fragment"] = bool(payloads) and payloads[0] == SKF
            message["encrypted"] = bool(payloads) and payloads[0] in (SK, SKF)
        else:
            message["encrypted"] = bool(_flag(row["isakmp.flag_e"]))
        messages.append(message)
    exchanges: dict[str, int] = {}
    for message in messages:
        exchanges[message["exchange"]] = exchanges.get(message["exchange"], 0) + 1
    return {
        "frames": len(rows),
        "file_bytes": pcap.stat().st_size,
        "ike_messages": messages,
        "exchanges": exchanges,
        "ikev2_fragments": sum(1 for m in messages if m.get("ikev2_fragment")),
        "ip_fragments": ip_fragments,
        "esp_frames": esp_frames,
        "esp_spis": sorted(esp_spis),
        "icmp_frames": icmp,
        "ike_ports": sorted({f"{m['src']}:{m['sport']}->{m['dst']}:{m['dport']}" for m in messages}),
    }


def decrypted_view(pcap: Path, tables: dict[str, str]) -> dict[str, Any]:
    """What tshark reads inside the encrypted IKE payloads given Wireshark key tables.

    ``tables`` maps a UAT name (``ikev2_decryption_table``) to the file's content.
    Returns the identities seen and, per frame, the payload types tshark lists.
    """
    with tempfile.TemporaryDirectory(prefix="ikslab-ws-") as config_dir:
        for name, content in tables.items():
            Path(config_dir, name).write_text(content)
        rows = _tshark_fields(pcap, Path(config_dir))
    identities: set[str] = set()
    payloads: dict[int, list[int]] = {}
    opened: list[int] = []
    for row in rows:
        if not row["isakmp.ispi"]:
            continue
        for field in ("isakmp.id.data.fqdn", "isakmp.id.data.ipv4_addr", "isakmp.id.data.der_asn1_dn"):
            identities.update(value for value in row[field].split(",") if value)
        payloads[int(row["frame.number"])] = [int(p) for p in row["isakmp.typepayload"].split(",") if p]
        if row["isakmp.enc.pad_length"]:
            opened.append(int(row["frame.number"]))
    return {"identities": sorted(identities), "payloads": payloads, "opened": opened}


def check_count(expected: int | str, actual: int) -> bool:
    """``3`` means exactly 3; ``">=3"`` at least 3."""
    if isinstance(expected, str) and expected.startswith(">="):
        return actual >= int(expected[2:])
    return actual == int(expected)
