"""What key material and pre-shared keys concluded about one IKE SA: the record the diagnosis reads."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class KeyConclusions:
    """What the keys and pre-shared keys given concluded about one IKE SA."""

    psk: dict[str, bool] = field(default_factory=dict)
    """'initiator' / 'responder' -> whether its hash or AUTH verifies with a given pre-shared key (or a
    logged SKEYID); absent when it could not be checked."""
    key_mismatch: str | None = None
    """IKEv1 with two sides' keys: which key read which side's messages, when they disagree (names key
    sources, never keys)."""
