"""Read what a charon file log (written at ``ike 4``, ``mgr 2``) says about its IKE SAs.

The lab checks every label claim against these facts, and builds Wireshark's
decryption tables from the key lines, because Debian's strongSwan 5.9.8 has no
save-keys plugin. Pure text in, plain objects out: no files, no processes.

Lines look like (``time_format = %b %e %T``, ``time_add_ms = yes``, ``ike_name = yes``)::

    Nov 22 15:31:54.550 06[IKE] <lab|1> Sk_ei secret => 16 bytes @ 0x7f4b6c001a90
    Nov 22 15:31:54.550 06[IKE] <lab|1>    0: 9A 57 FD 45 CC 5A 79 C1 52 92 E1 5A BF 7C 27 EB  .W.E.Zy.R..Z.|'.
    Nov 22 15:31:54.560 06[MGR] <lab|1> checkin IKEv2 SA lab[1] with SPIs 06fa6c104b18f40a_i ac28d4353eec6935_r
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ikesniff.crypto.charonlog import CHECKIN, DUMP_HEAD, DUMP_ROW, LINE  # noqa: F401 (one grammar, shared)
from ikesniff.crypto.charonlog import CharonLine as LogLine
from ikesniff.crypto.charonlog import dumps as _dumps
from ikesniff.crypto.charonlog import lines as parse_lines

# "established" for a new IKE SA; "rekeyed" for the IKE SA that replaces another (logged in the old one's context)
IKE_ESTABLISHED = re.compile(
    r"^IKE_SA (?P<name>\S+)\[(?P<id>\d+)\] (?P<how>established|rekeyed) between "
    r"(?P<local>[^\[]+)\[(?P<local_id>[^\]]*)\]\.\.\.(?P<remote>[^\[]+)\[(?P<remote_id>[^\]]*)\]"
)
# a rekeyed CHILD_SA is logged twice, once per direction as its SAs are installed
CHILD_ESTABLISHED = re.compile(
    r"^(?:inbound |outbound )?CHILD_SA (?P<name>\S+)\{(?P<id>\d+)\} established with SPIs (?P<spi_in>[0-9a-f]{8})_i "
    r"(?P<spi_out>[0-9a-f]{8})_o and TS (?P<local_ts>.*?) === (?P<remote_ts>.*?)\s*$"
)
SELECTED = re.compile(r"^selected proposal: (?P<protocol>IKE|ESP|AH):(?P<proposal>\S+)")
NOTEWORTHY = re.compile(
    r"behind NAT|^(sending|received) packet|^(generating|parsed) |^initiating |notify|fragment|failed|^deleting|^IKE_SA .* (deleted|state change)"
)
FRAGMENTING = re.compile(r"^splitting IKE message \((?P<size>\d+) bytes\) into (?P<count>\d+) fragments")

# Keys that a charon at ike 4 dumps, per IKE version (keymat_v1.c / keymat_v2.c).
KEY_NAMES = {
    "Sk_ei secret": "sk_ei",
    "Sk_er secret": "sk_er",
    "Sk_ai secret": "sk_ai",
    "Sk_ar secret": "sk_ar",
    "Sk_d secret": "sk_d",
    "encryption key Ka": "ka",
    "SKEYID_e": "skeyid_e",
    "SKEYID_a": "skeyid_a",
    "SKEYID_d": "skeyid_d",
}


@dataclass
class IkeSaFacts:
    """What one daemon's log says about one IKE SA (keyed by charon's unique id)."""

    name: str
    unique_id: int
    version: int | None = None
    spi_i: str | None = None
    spi_r: str | None = None
    ike_proposal: str | None = None
    esp_proposals: list[str] = field(default_factory=list)
    established: bool = False
    established_line: int | None = None
    local_id: str | None = None
    remote_id: str | None = None
    keys: dict[str, str] = field(default_factory=dict)
    children: list[dict[str, str | int]] = field(default_factory=list)
    fragmented: list[dict[str, int]] = field(default_factory=list)
    notes: list[tuple[int, str]] = field(default_factory=list)  # (line, message) worth quoting


def hexdumps(lines: list[LogLine]) -> list[tuple[LogLine, str, bytes]]:
    """Every ``X => N bytes @ 0x..`` dump with its bytes (the shared reader, rows matched by thread and SA)."""
    return _dumps(lines)


def ike_sas(text: str) -> dict[int, IkeSaFacts]:
    lines = parse_lines(text)
    sas: dict[int, IkeSaFacts] = {}

    def sa_of(line: LogLine) -> IkeSaFacts | None:
        if line.ike_id is None:
            return None
        if line.ike_id not in sas:
            sas[line.ike_id] = IkeSaFacts(name=line.ike_name or "", unique_id=line.ike_id)
        return sas[line.ike_id]

    def sa_by_id(unique_id: int, name: str) -> IkeSaFacts:
        if unique_id not in sas:
            sas[unique_id] = IkeSaFacts(name=name, unique_id=unique_id)
        return sas[unique_id]

    # An IKE SA rekey is negotiated by the old SA: charon logs the new SA's proposal (and, as initiator,
    # its keys) in the old SA's context, then names the new one ("IKE_SA lab[2] rekeyed", "checkin ...
    # lab[2]"). What an established SA selects or derives is held per (SA, thread) until then.
    pending: dict[tuple[int, str], dict[str, Any]] = {}
    dumps = {line.number: (what, data) for line, what, data in hexdumps(lines)}

    def hand_over(line: LogLine, target: IkeSaFacts) -> None:
        held = pending.pop((line.ike_id or 0, line.thread), None)
        if held is None:
            return
        if held.get("proposal") and not target.ike_proposal:
            target.ike_proposal = held["proposal"]
        for key, value in held.get("keys", {}).items():
            target.keys.setdefault(key, value)

    for line in lines:
        sa = sa_of(line)
        if sa is None:
            continue
        msg = line.msg
        if line.number in dumps:
            what, data = dumps[line.number]
            if what in KEY_NAMES:
                if sa.established:
                    held = pending.setdefault((sa.unique_id, line.thread), {})
                    held.setdefault("keys", {})[KEY_NAMES[what]] = data.hex()
                else:
                    # the last dump wins: a rekeyed SA is a new unique id, so this only matters for retries
                    sa.keys[KEY_NAMES[what]] = data.hex()
        elif match := CHECKIN.search(msg):
            target = sa_by_id(int(match["id"]), match["name"]) if match["id"] else sa
            if target is not sa:
                hand_over(line, target)
            target.version = int(match["version"][-1])
            target.spi_i = match["spi_i"]
            if match["spi_r"] != "0" * 16:
                target.spi_r = match["spi_r"]
        elif match := SELECTED.match(msg):
            if match["protocol"] == "IKE":
                if sa.established:
                    pending.setdefault((sa.unique_id, line.thread), {})["proposal"] = match["proposal"]
                else:
                    sa.ike_proposal = match["proposal"]
            else:
                sa.esp_proposals.append(match["proposal"])
        elif match := IKE_ESTABLISHED.match(msg):
            target = sa_by_id(int(match["id"]), match["name"])
            if target is not sa:
                hand_over(line, target)
            target.established = True
            target.established_line = line.number
            target.local_id = match["local_id"]
            target.remote_id = match["remote_id"]
            target.notes.append((line.number, msg))
        elif match := CHILD_ESTABLISHED.match(msg):
            if any(c["unique_id"] == int(match["id"]) for c in sa.children):
                continue  # the outbound half of a rekeyed CHILD_SA
            sa.children.append({
                "name": match["name"], "unique_id": int(match["id"]),
                "spi_in": match["spi_in"], "spi_out": match["spi_out"],
                "local_ts": match["local_ts"], "remote_ts": match["remote_ts"], "line": line.number,
            })
            sa.notes.append((line.number, msg))
        elif match := FRAGMENTING.match(msg):
            sa.fragmented.append({"bytes": int(match["size"]), "fragments": int(match["count"]), "line": line.number})
            sa.notes.append((line.number, msg))
        elif NOTEWORTHY.search(msg):
            sa.notes.append((line.number, msg))
    return sas


def messages(text: str, pattern: str) -> list[tuple[int, str]]:
    """(line number, message) of every line whose message matches ``pattern``."""
    regex = re.compile(pattern)
    return [(line.number, line.msg) for line in parse_lines(text) if regex.search(line.msg)]


# --- Wireshark decryption tables ------------------------------------------------------------
# UAT files: hex fields are written bare, enumerated fields quoted with their display string
# (checked against tshark 4.0: quoting a hex field makes tshark reject the whole table).

WIRESHARK_IKEV2_ENCRYPTION = {
    "3DES_CBC": "3DES [RFC2451]",
    "AES_CBC_128": "AES-CBC-128 [RFC3602]",
    "AES_CBC_192": "AES-CBC-192 [RFC3602]",
    "AES_CBC_256": "AES-CBC-256 [RFC3602]",
    "AES_CTR_128": "AES-CTR-128 [RFC5930]",
    "AES_CTR_192": "AES-CTR-192 [RFC5930]",
    "AES_CTR_256": "AES-CTR-256 [RFC5930]",
    "NULL": "NULL [RFC2410]",
    "AES_GCM_8_128": "AES-GCM-128 with 8 octet ICV [RFC5282]",
    "AES_GCM_8_192": "AES-GCM-192 with 8 octet ICV [RFC5282]",
    "AES_GCM_8_256": "AES-GCM-256 with 8 octet ICV [RFC5282]",
    "AES_GCM_12_128": "AES-GCM-128 with 12 octet ICV [RFC5282]",
    "AES_GCM_12_192": "AES-GCM-192 with 12 octet ICV [RFC5282]",
    "AES_GCM_12_256": "AES-GCM-256 with 12 octet ICV [RFC5282]",
    "AES_GCM_16_128": "AES-GCM-128 with 16 octet ICV [RFC5282]",
    "AES_GCM_16_192": "AES-GCM-192 with 16 octet ICV [RFC5282]",
    "AES_GCM_16_256": "AES-GCM-256 with 16 octet ICV [RFC5282]",
    "AES_CCM_8_128": "AES-CCM-128 with 8 octet ICV [RFC5282]",
    "AES_CCM_8_192": "AES-CCM-192 with 8 octet ICV [RFC5282]",
    "AES_CCM_8_256": "AES-CCM-256 with 8 octet ICV [RFC5282]",
    "AES_CCM_12_128": "AES-CCM-128 with 12 octet ICV [RFC5282]",
    "AES_CCM_12_192": "AES-CCM-192 with 12 octet ICV [RFC5282]",
    "AES_CCM_12_256": "AES-CCM-256 with 12 octet ICV [RFC5282]",
    "AES_CCM_16_128": "AES-CCM-128 with 16 octet ICV [RFC5282]",
    "AES_CCM_16_192": "AES-CCM-192 with 16 octet ICV [RFC5282]",
    "AES_CCM_16_256": "AES-CCM-256 with 16 octet ICV [RFC5282]",
}
WIRESHARK_IKEV2_INTEGRITY = {
    None: "NONE [RFC4306]",
    "HMAC_MD5_96": "HMAC_MD5_96 [RFC2403]",
    "HMAC_SHA1_96": "HMAC_SHA1_96 [RFC2404]",
    "HMAC_MD5_128": "HMAC_MD5_128 [RFC4595]",
    "HMAC_SHA1_160": "HMAC_SHA1_160 [RFC4595]",
    "HMAC_SHA2_256_128": "HMAC_SHA2_256_128 [RFC4868]",
    "HMAC_SHA2_384_192": "HMAC_SHA2_384_192 [RFC4868]",
    "HMAC_SHA2_512_256": "HMAC_SHA2_512_256 [RFC4868]",
}


def split_ike_proposal(proposal: str) -> tuple[str, str | None]:
    """``AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048`` -> (encryption, integrity)."""
    parts = proposal.split("/")
    encryption = parts[0]
    integrity = next((p for p in parts[1:] if p.startswith(("HMAC_", "AES_XCBC", "AES_CMAC"))), None)
    return encryption, integrity


def ikev2_table_row(sa: IkeSaFacts) -> str:
    if not (sa.spi_i and sa.spi_r and sa.ike_proposal):
        raise ValueError(f"IKE SA {sa.unique_id}: SPIs or proposal missing from the log")
    encryption, integrity = split_ike_proposal(sa.ike_proposal)
    if encryption not in WIRESHARK_IKEV2_ENCRYPTION or integrity not in WIRESHARK_IKEV2_INTEGRITY:
        raise ValueError(f"no Wireshark name for {sa.ike_proposal}")
    for key in ("sk_ei", "sk_er"):
        if key not in sa.keys:
            raise ValueError(f"IKE SA {sa.unique_id}: {key} not in the log (is ike logged at level 4?)")
    return ",".join([
        sa.spi_i, sa.spi_r, sa.keys["sk_ei"], sa.keys["sk_er"],
        f'"{WIRESHARK_IKEV2_ENCRYPTION[encryption]}"',
        sa.keys.get("sk_ai", "") if integrity else "", sa.keys.get("sk_ar", "") if integrity else "",
        f'"{WIRESHARK_IKEV2_INTEGRITY[integrity]}"',
    ])


def ikev1_table_row(sa: IkeSaFacts) -> str:
    if not sa.spi_i or "ka" not in sa.keys:
        raise ValueError(f"IKE SA {sa.unique_id}: cookie or encryption key Ka missing from the log")
    return f"{sa.spi_i},{sa.keys['ka']}"


def decryption_tables(text: str) -> dict[str, str]:
    """Wireshark UAT file contents by table name, for every IKE SA with keys in the log."""
    rows: dict[str, list[str]] = {"ikev1_decryption_table": [], "ikev2_decryption_table": []}
    for sa in ike_sas(text).values():
        if sa.version == 2 and "sk_ei" in sa.keys:
            rows["ikev2_decryption_table"].append(ikev2_table_row(sa))
        elif sa.version == 1 and "ka" in sa.keys:
            rows["ikev1_decryption_table"].append(ikev1_table_row(sa))
    header = "# Wireshark {} written by ikesniff lab/ from a charon log at ike 4\n"
    return {name: header.format(name) + "\n".join(r) + "\n" for name, r in rows.items() if r}


def table_conflicts(a: dict[str, str], b: dict[str, str]) -> list[str]:
    """Rows of two sets of decryption tables that name the same SA (by its SPIs) with different keys."""
    conflicts = []
    for name in set(a) & set(b):
        width = 2 if name.startswith("ikev2") else 1  # IKEv2 rows start with both SPIs, IKEv1 with the cookie
        rows_a = {tuple(r.split(",")[:width]): r for r in a[name].splitlines() if r and not r.startswith("#")}
        rows_b = {tuple(r.split(",")[:width]): r for r in b[name].splitlines() if r and not r.startswith("#")}
        conflicts += [rows_a[k] for k in rows_a.keys() & rows_b.keys() if rows_a[k] != rows_b[k]]
    return conflicts
