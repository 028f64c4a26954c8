"""The IKE keys a gateway log prints, in the form ikesniff.keys holds them (sans-IO).

A charon log written at `ike 4` dumps every key of an IKE SA; Openswan and libreswan before 3.x print the
tcpdump `-E` secrets lines (`| ikev2 I 0x<spi_i> 0x<spi_r> sha1:0x... aes128:0x...`) at plutodebug crypt.
Later libreswan versions print those lines with the algorithm names only: no keys (the records say 'spis').
What this module must not know: files, captures, output; it never shows a key.
"""

from __future__ import annotations

from collections.abc import Iterable

from .. import keys
from .record import LogRecord


def key_material(records: Iterable[LogRecord], lines: Iterable[str] = (), name: str = "log") -> keys.KeyStore | None:
    """The keys of a log: from its charon lines (all of `lines`, as charon's key dumps span several lines) or
    from the records of kind 'keys' (pluto's secrets lines). None when the log prints no key.
    Raises keys.KeyFileError for key lines that break their format (the text never shows the key)."""
    items = list(records)
    if any(record.source == "charon" for record in items):
        store = keys.parse_keys("\n".join(lines), name)
        return store if len(store) or store.unbound_ikev1 or store.unbound_ikev2 else None
    key_lines = [record.text for record in items if record.kind == "keys"]
    if not key_lines:
        return None
    return keys.parse_keys("\n".join(key_lines), name)
