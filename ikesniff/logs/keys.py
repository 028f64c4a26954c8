"""The IKE keys a gateway log prints, as the text ikesniff's key reader takes (sans-IO).

A charon log written at `ike 4` dumps every key of an IKE SA over several lines; Openswan and libreswan before
3.x print the tcpdump `-E` secrets lines (`| ikev2 I 0x<spi_i> 0x<spi_r> sha1:0x... aes128:0x...`) at
plutodebug crypt. libreswan 3.x and later print those lines with the algorithm names only (the records say
'spis'), and its symkey dumps are compiled out: a libreswan 4 or 5 log holds no IKE key.

`key_text` returns the text to hand to the key reader (`parse_keys(text, name)`, the parser behind
`--keys`), so this module needs no part of it. What this module must not know: files, captures, output;
it never shows a key.
"""

from __future__ import annotations

from collections.abc import Iterable

from .record import LogRecord


def key_text(records: Iterable[LogRecord], lines: Iterable[str] = ()) -> str | None:
    """The key material of a log, as a key file's text: all of `lines` when the log is charon's (its key
    dumps span several lines), the records of kind 'keys' otherwise (pluto's secrets lines). None when the
    log prints no key."""
    items = list(records)
    if any(record.source == "charon" for record in items):
        return "\n".join(lines) or None
    key_lines = [record.text for record in items if record.kind == "keys"]
    return "\n".join(key_lines) if key_lines else None
