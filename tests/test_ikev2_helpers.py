"""Test helpers for the IKEv2 dissector tests: IKE message bytes out of the shared captures.

Not a test module itself (it holds no tests); the name only keeps it beside its users. scapy is
fine here, never in dissectors/.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "external"
NON_ESP_MARKER = b"\x00\x00\x00\x00"


@dataclass(frozen=True)
class CapturedMessage:
    frame: int
    """1-based frame number, as tshark numbers it (the last fragment for IP-fragmented datagrams)."""
    sport: int
    dport: int
    data: bytes
    """The ISAKMP message: UDP payload, the non-ESP marker removed on port 4500."""


def _udp_datagrams(path: Path) -> list[tuple[int, int, int, bytes]]:
    """(frame, sport, dport, UDP payload) per UDP datagram, IPv4 fragments put back together."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.utils import rdpcap

    datagrams: list[tuple[int, int, int, bytes]] = []
    fragments: dict[tuple[str, str, int, int], dict[int, bytes]] = {}
    totals: dict[tuple[str, str, int, int], int] = {}
    for frame, packet in enumerate(rdpcap(str(path)), start=1):
        if IP in packet:
            ip = packet[IP]
            if ip.flags.MF or ip.frag:
                key = (ip.src, ip.dst, ip.id, ip.proto)
                pieces = fragments.setdefault(key, {})
                pieces[ip.frag * 8] = bytes(ip.payload)
                if not ip.flags.MF:
                    totals[key] = ip.frag * 8 + len(bytes(ip.payload))
                if key in totals and sum(len(p) for p in pieces.values()) >= totals[key]:
                    whole = b"".join(pieces[offset] for offset in sorted(pieces))
                    del fragments[key], totals[key]
                    if ip.proto == 17 and len(whole) >= 8:
                        udp = UDP(whole)
                        datagrams.append((frame, udp.sport, udp.dport, whole[8:udp.len]))
                continue
            if UDP in packet:
                udp = packet[UDP]
                datagrams.append((frame, udp.sport, udp.dport, bytes(udp.payload)))
        elif IPv6 in packet and UDP in packet:
            udp = packet[UDP]
            datagrams.append((frame, udp.sport, udp.dport, bytes(udp.payload)))
    return datagrams


def ike_messages(relative: str, version: int | None = 2) -> list[CapturedMessage]:
    """The ISAKMP messages of a corpus capture (relative to CORPUS), optionally of one IKE version.

    A datagram is taken for ISAKMP when its header's version octet says so and, away from ports
    500/4500, its length field matches (ESP, NAT keepalives and other UDP are skipped)."""
    found: list[CapturedMessage] = []
    for frame, sport, dport, payload in _udp_datagrams(CORPUS / relative):
        if payload[:4] == NON_ESP_MARKER and len(payload) >= 32:
            # A zero initiator SPI also starts with four zero octets: strip the marker when the
            # port says so or when only the stripped reading has a consistent length field.
            raw_fits = int.from_bytes(payload[24:28], "big") == len(payload)
            stripped_fits = int.from_bytes(payload[28:32], "big") == len(payload) - 4
            if 4500 in (sport, dport) and not raw_fits or stripped_fits and not raw_fits:
                payload = payload[4:]
        elif 4500 in (sport, dport):
            continue  # ESP or a NAT keepalive
        if len(payload) < 28:
            continue
        if not {sport, dport} & {500, 4500} and int.from_bytes(payload[24:28], "big") != len(payload):
            continue  # other UDP on a NAT'ed port pair is taken only when its length field agrees
        major = payload[17] >> 4
        if major not in (1, 2) or (version is not None and major != version):
            continue
        found.append(CapturedMessage(frame, sport, dport, payload))
    return found


def message_at(relative: str, frame: int) -> bytes:
    """The (first) ISAKMP message carried in a given frame."""
    for message in ike_messages(relative, version=None):
        if message.frame == frame:
            return message.data
    raise LookupError(f"no ISAKMP message in frame {frame} of {relative}")


def tshark_rows(relative: str, decrypted: bool = False) -> list[dict[str, str]]:
    """The committed tshark field dump of a capture (see the corpus MANIFEST.md)."""
    suffix = ".tshark.decrypted.tsv" if decrypted else ".tshark.tsv"
    lines = (CORPUS / (relative + suffix)).read_text().splitlines()
    header = lines[0].split("\t")
    rows = []
    for line in lines[1:]:
        cells = line.split("\t")
        cells += [""] * (len(header) - len(cells))
        rows.append(dict(zip(header, cells)))
    return rows


# --- decryption of SK payloads with the corpus key tables (to reach the payloads IKEv2 encrypts) ---

_ENCRYPTION = {"AES-CBC": 12, "AES-CTR": 13, "AES-GCM": 20}
_INTEGRITY = {"NONE": 0, "HMAC_SHA1_96": 2, "HMAC_SHA2_256_128": 12}


@dataclass(frozen=True)
class IkeKeys:
    """One row of a Wireshark ikev2_decryption_table."""

    spi_i: bytes
    spi_r: bytes
    sk_ei: bytes
    sk_er: bytes
    encr_id: int
    key_bits: int
    sk_ai: bytes
    sk_ar: bytes
    integ_id: int


def key_table(relative: str) -> list[IkeKeys]:
    import csv

    rows = []
    lines = [line for line in (CORPUS / relative).read_text().splitlines() if line and line[0] != "#"]
    for cells in csv.reader(lines):
        cipher = cells[4].split(" ")[0]  # e.g. "AES-CBC-256"
        family, bits = cipher.rsplit("-", 1)
        rows.append(IkeKeys(bytes.fromhex(cells[0]), bytes.fromhex(cells[1]), bytes.fromhex(cells[2]),
                            bytes.fromhex(cells[3]), _ENCRYPTION[family], int(bits),
                            bytes.fromhex(cells[5]), bytes.fromhex(cells[6]),
                            _INTEGRITY[cells[7].split(" ")[0]]))
    return rows


def decrypt_sk(message: bytes, keys: IkeKeys, iv_size: int, icv_size: int,
               sk_offset: int) -> tuple[bytes, bool]:
    """(inner payload chain without padding, ICV correct) of the SK payload at `sk_offset`."""
    import hashlib
    import hmac

    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from_initiator = bool(message[19] & 0x08)
    encryption_key = keys.sk_ei if from_initiator else keys.sk_er
    integrity_key = keys.sk_ai if from_initiator else keys.sk_ar
    sk_length = int.from_bytes(message[sk_offset + 2:sk_offset + 4], "big")
    body = message[sk_offset + 4:sk_offset + sk_length]
    iv, ciphertext, icv = body[:iv_size], body[iv_size:len(body) - icv_size], body[len(body) - icv_size:]
    if keys.encr_id == 20:
        key, salt = encryption_key[:-4], encryption_key[-4:]
        plain = AESGCM(key).decrypt(salt + iv, ciphertext + icv, message[:sk_offset + 4])
        icv_ok = True
    else:
        digest = hashlib.sha256 if keys.integ_id == 12 else hashlib.sha1
        expected = hmac.new(integrity_key, message[:len(message) - icv_size], digest).digest()[:icv_size]
        icv_ok = hmac.compare_digest(expected, icv)
        if keys.encr_id == 12:
            mode: modes.Mode = modes.CBC(iv)
            key = encryption_key
        else:
            key, nonce = encryption_key[:-4], encryption_key[-4:]
            mode = modes.CTR(nonce + iv + b"\x00\x00\x00\x01")
        decryptor = Cipher(algorithms.AES(key), mode).decryptor()
        plain = decryptor.update(ciphertext) + decryptor.finalize()
    pad_length = plain[-1]
    return plain[:len(plain) - 1 - pad_length], icv_ok
