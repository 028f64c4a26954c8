"""Just enough DER (ITU-T X.690) to show what IKE carries in ASN.1: a Distinguished Name in
an identity or a certificate request (IKEv1 and IKEv2), an AlgorithmIdentifier in an RFC 7427
AUTH payload. Sans-IO; malformed input gives None, never an exception.
"""

from __future__ import annotations

# X.520 / RFC 4519 attribute types by dotted OID, with their RFC 4514 §3 short names.
DN_ATTRIBUTE_NAMES: dict[str, str] = {
    "2.5.4.3": "CN",
    "2.5.4.4": "SN",
    "2.5.4.5": "serialNumber",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.9": "street",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.12": "title",
    "2.5.4.42": "GN",
    "2.5.4.43": "initials",
    "2.5.4.46": "dnQualifier",
    "1.2.840.113549.1.9.1": "E",  # PKCS #9 emailAddress
    "0.9.2342.19200300.100.1.25": "DC",  # RFC 4519 domainComponent
    "0.9.2342.19200300.100.1.1": "UID",
}

# DER string types (X.690 §8.23) and how their octets decode.
STRING_ENCODINGS: dict[int, str] = {
    0x0C: "utf-8",  # UTF8String
    0x13: "latin-1",  # PrintableString
    0x14: "latin-1",  # TeletexString (T61), read as Latin-1
    0x16: "latin-1",  # IA5String
    0x1E: "utf-16-be",  # BMPString
}


def der_item(der: bytes, position: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the TLV at `position`; ValueError when it does not fit."""
    if position + 2 > len(der):
        raise ValueError("truncated DER header")
    tag, first = der[position], der[position + 1]
    start = position + 2
    if first & 0x80:
        count = first & 0x7F
        if count == 0 or count > 4 or start + count > len(der):
            raise ValueError("bad DER length")
        size = int.from_bytes(der[start:start + count], "big")
        start += count
    else:
        size = first
    if start + size > len(der):
        raise ValueError("DER content runs past the end")
    return tag, start, start + size


def oid_text(oid: bytes) -> str:
    """Dotted form of the content octets of an OBJECT IDENTIFIER (X.690 §8.19)."""
    if not oid:
        return ""
    arcs = [str(oid[0] // 40), str(oid[0] % 40)] if oid[0] < 80 else ["2", str(oid[0] - 80)]
    value = 0
    for octet in oid[1:]:
        value = (value << 7) | (octet & 0x7F)
        if not octet & 0x80:
            arcs.append(str(value))
            value = 0
    return ".".join(arcs)


def printable(text: str) -> str:
    """`text` with control characters shown as \\xNN escapes (an identity may hold any octet)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def dn_text(der: bytes) -> str | None:
    """RFC 4514-like text ('C=CH, O=strongSwan, CN=moon') of a DER Name, None when malformed."""
    try:
        tag, position, end = der_item(der, 0)
        if tag != 0x30 or end != len(der):
            return None
        parts: list[str] = []
        while position < end:
            set_tag, inner, set_end = der_item(der, position)
            if set_tag != 0x31:
                return None
            while inner < set_end:
                sequence_tag, attribute, attribute_end = der_item(der, inner)
                oid_tag, oid_start, oid_end = der_item(der, attribute)
                value_tag, value_start, value_end = der_item(der, oid_end)
                if sequence_tag != 0x30 or oid_tag != 0x06:
                    return None
                oid = oid_text(der[oid_start:oid_end])
                encoding = STRING_ENCODINGS.get(value_tag)
                raw = der[value_start:value_end]
                value = printable(raw.decode(encoding, "backslashreplace")) if encoding else raw.hex()
                parts.append(f"{DN_ATTRIBUTE_NAMES.get(oid, oid)}={value}")
                inner = attribute_end
            position = set_end
        return ", ".join(parts)
    except (ValueError, IndexError):
        return None


def algorithm_identifier_oid(der: bytes) -> bytes | None:
    """Content octets of the OID that starts a DER AlgorithmIdentifier, None when malformed."""
    try:
        tag, position, _ = der_item(der, 0)
        oid_tag, oid_start, oid_end = der_item(der, position)
    except (ValueError, IndexError):
        return None
    if tag != 0x30 or oid_tag != 0x06:
        return None
    return der[oid_start:oid_end]
