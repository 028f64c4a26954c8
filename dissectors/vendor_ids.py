"""Known Vendor ID payload contents (IKEv1 VID and IKEv2 V payloads) and what they say.

Data: each entry is the VID octets (or a prefix of them) and the product it names. Where a
vendor encodes a version in the ID, `identify_vendor` decodes it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class VendorMatch:
    name: str
    """Human name of the implementation or capability (e.g. 'strongSwan', 'RFC 3947 NAT-T')."""
    version: str | None = None
    """Version string when the ID encodes one."""


def identify_vendor(data: bytes) -> VendorMatch | None:
    """The vendor or capability a VID payload names, or None when unknown."""
    return None
