"""What a capture shows, read with tshark (the independent oracle, not ikesniff's own dissector).

Used twice: by ``lab/run.py`` to write the ``wire`` section of a label, and by
``tests/test_lab.py`` to check that every committed label still matches its pcap.
Needs tshark and the dissectors' registries (names only); no root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from dissectors import ikev1_registry, ikev2_registry

# SPEC section 4 exchange names and the IANA notify names come from the registries the dissectors
# use; tshark still does all the parsing here, only the spelling of names is shared.
EXCHANGES = {1: ikev1_registry.EXCHANGE_TYPES, 2: ikev2_registry.EXCHANGE_TYPES}
NOTIFIES = {1: ikev1_registry.NOTIFY_NAMES, 2: ikev2_registry.NOTIFY_TYPES}

FIELDS = [
    "frame.number", "frame.len", "frame.time_relative", "icmp.type", "icmp.code", "ip.src", "ip.dst", "ip.flags.mf", "ip.frag_offset", "ip.proto",
    "ipv6.src", "ipv6.dst",
    "udp.srcport", "udp.dstport", "udpencap.non_esp_marker", "esp.spi",
    "tcp.srcport", "tcp.dstport", "rfc8229.non_esp_marker",  # IKE over TCP: lab/rfc8229.lua
    "isakmp.ispi", "isakmp.rspi", "isakmp.mjver", "isakmp.exchangetype", "isakmp.flag_e", "isakmp.flag_i", "isakmp.flag_r",
    "isakmp.messageid", "isakmp.length", "isakmp.typepayload", "isakmp.notify.msgtype",
    "isakmp.id.data.fqdn", "isakmp.id.data.ipv4_addr", "isakmp.id.data.der_asn1_dn",
    "isakmp.enc.pad_length",  # only present once tshark has decrypted an IKEv2 SK payload
]

SKF = 53  # IKEv2 Encrypted and Authenticated Fragment payload (RFC 7383)
SK = 46

# payload names as the labels spell them
PAYLOADS = {
    1: {1: "SA", 2: "P", 3: "T", 4: "KE", 5: "ID", 6: "CERT", 7: "CR", 8: "HASH", 9: "SIG", 10: "NONCE", 11: "N",
        12: "D", 13: "V", 14: "ATTR", 15: "SAK", 20: "NAT-D", 21: "NAT-OA", 130: "NAT-D-DRAFT",
        131: "NAT-OA-DRAFT", 132: "FRAG"},
    2: {33: "SA", 34: "KE", 35: "IDi", 36: "IDr", 37: "CERT", 38: "CERTREQ", 39: "AUTH", 40: "Ni/Nr", 41: "N",
        42: "D", 43: "V", 44: "TSi", 45: "TSr", 46: "SK", 47: "CP", 48: "EAP", 53: "SKF"},
}


RFC8229_LUA = Path(__file__).resolve().parent / "rfc8229.lua"
"""tshark 4.0 reads no RFC 8229 stream (its "tcpencap" is another encapsulation): this script splits TCP port
4500 into records and hands each IKE message to Wireshark's own ISAKMP dissector."""


def tshark_path() -> str | None:
    return shutil.which("tshark")


def _tshark_fields(pcap: Path, config_dir: Path | None = None) -> list[dict[str, str]]:
    tshark = tshark_path()
    if tshark is None:
        raise RuntimeError("tshark is not installed")
    cmd = [tshark, "-n", "-X", f"lua_script:{RFC8229_LUA}", "-r", str(pcap), "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=a", "-E", "aggregator=,"]
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


def _address(row: dict[str, str], which: str) -> str:
    """The outer IPv4 address, or the IPv6 one of a datagram over IPv6."""
    return row[f"ip.{which}"].split(",")[0] or row[f"ipv6.{which}"].split(",")[0]


def _tcp(row: dict[str, str]) -> bool:
    """An IKE message carried in a TCP stream (RFC 8229), not in a UDP datagram."""
    return bool(row["rfc8229.non_esp_marker"]) and not row["udp.srcport"]


def _port(row: dict[str, str], which: str) -> int | None:
    return _int(row[f"tcp.{which}port"] if _tcp(row) else row[f"udp.{which}port"])


def _endpoint(row: dict[str, str], which: str) -> str:
    port = _port(row, which)
    if row[f"ip.{which}"]:
        return f"{row[f'ip.{which}'].split(',')[0]}:{port}"
    return f"[{row[f'ipv6.{which}'].split(',')[0]}]:{port}"


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
            continue  # an ICMP error quotes the IKE datagram it answers: tshark dissects that copy too
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
            "src": _address(row, "src"),
            "sport": _port(row, "src"),
            "dst": _address(row, "dst"),
            "dport": _port(row, "dst"),
            "non_esp_marker": bool(row["udpencap.non_esp_marker"] or row["rfc8229.non_esp_marker"]),
            "version": version,
            "exchange": EXCHANGES.get(version or 0, {}).get(exchange_type or -1, f"UNKNOWN_{exchange_type}"),
            "exchange_type": exchange_type,
            "spi_i": row["isakmp.ispi"].split(",")[0],
            "spi_r": row["isakmp.rspi"].split(",")[0],
            "message_id": _int(row["isakmp.messageid"]),
            "length": _int(row["isakmp.length"]),
        }
        if _tcp(row):
            message["transport"] = "tcp"  # absent for UDP: the labels written before TCP stay as they are
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


def _names(values: str, table: dict[int, str], unknown: str) -> list[str]:
    return [table.get(int(v), f"{unknown}_{v}") for v in values.split(",") if v]


def _no_substructures(values: str) -> str:
    """tshark lists the proposal (2) and transform (3) substructures of an SA among the payload types."""
    return ",".join(v for v in values.split(",") if v not in ("2", "3"))


def _minus(longer: list[str], shorter: list[str]) -> list[str]:
    rest = list(longer)
    for item in shorter:
        if item in rest:
            rest.remove(item)
    return rest


def timeline(pcap: Path, tables: dict[str, str]) -> list[dict[str, Any]]:
    """The capture as a list of IKE messages and ICMP errors, in frame order, for a label.

    Per IKE message: time since the first frame, endpoints, exchange, message id, direction, ISAKMP length,
    the payloads and notifies readable in clear, those only the key tables open (``inner``,
    ``inner_notifies``), and ``repeat_of``: the first frame of an identical earlier message (same endpoints,
    header and length: a retransmission).
    """
    plain = _tshark_fields(pcap)
    if tables:
        with tempfile.TemporaryDirectory(prefix="ikslab-ws-") as config_dir:
            for name, content in tables.items():
                Path(config_dir, name).write_text(content)
            opened = _tshark_fields(pcap, Path(config_dir))
    else:
        opened = plain
    seen: dict[tuple[Any, ...], int] = {}
    result: list[dict[str, Any]] = []
    for row, row_open in zip(plain, opened):
        frame = int(row["frame.number"])
        when = round(float(row["frame.time_relative"] or 0), 3)
        if row["icmp.type"] and row["icmp.type"].split(",")[0] != "8" and row["icmp.type"].split(",")[0] != "0":
            result.append({"frame": frame, "time": when, "src": row["ip.src"].split(",")[0],
                           "dst": _address(row, "dst"),
                           "icmp": f"{row['icmp.type'].split(',')[0]}/{row['icmp.code'].split(',')[0]}"})
            continue
        if not row["isakmp.ispi"]:
            continue
        version = _int(row["isakmp.mjver"]) or 0
        exchange_type = _int(row["isakmp.exchangetype"])
        payload_names = PAYLOADS.get(version, {})
        notify_names = NOTIFIES.get(version, {})
        payloads = _names(_no_substructures(row["isakmp.typepayload"]), payload_names, "UNKNOWN")
        notifies = _names(row["isakmp.notify.msgtype"], notify_names, "UNKNOWN")
        inner = _minus(_names(_no_substructures(row_open["isakmp.typepayload"]), payload_names, "UNKNOWN"),
                       payloads)
        inner_notifies = _minus(_names(row_open["isakmp.notify.msgtype"], notify_names, "UNKNOWN"), notifies)
        entry: dict[str, Any] = {
            "frame": frame, "time": when,
            "src": _endpoint(row, "src"),
            "dst": _endpoint(row, "dst"),
            "version": version,
            "exchange": EXCHANGES.get(version, {}).get(exchange_type or -1, f"UNKNOWN_{exchange_type}"),
            "message_id": _int(row["isakmp.messageid"]),
            "response": _flag(row["isakmp.flag_r"]) if version == 2 else None,
            "length": _int(row["isakmp.length"]),
            "payloads": payloads, "notifies": notifies, "inner": inner, "inner_notifies": inner_notifies,
        }
        if _tcp(row):
            entry["transport"] = "tcp"
        key = (entry["src"], entry["dst"], row["isakmp.ispi"], row["isakmp.rspi"], entry["exchange"],
               entry["message_id"], entry["response"], entry["length"], tuple(payloads))
        entry["repeat_of"] = seen.get(key)
        seen.setdefault(key, frame)
        result.append(entry)
    return result


def check_count(expected: int | str, actual: int) -> bool:
    """``3`` means exactly 3; ``">=3"`` at least 3."""
    if isinstance(expected, str) and expected.startswith(">="):
        return actual >= int(expected[2:])
    return actual == int(expected)
