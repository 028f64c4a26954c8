"""What a rule may look at besides the IKE SA itself, and the one place it is built (`build_context`).

Three moments diagnose an IKE SA: when it has been silent long enough to be retired, at the end of the
input, and while a live capture or a stream goes on (early verdicts). All three build the context here,
from the same kinds of evidence (the tunnel's other SAs, ESP and AH between the peers, what the keys and
pre-shared keys concluded), so an early verdict and the final one differ only by what time has added.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..crypto.conclusions import KeyConclusions
from ..events import Evidence
from ..tracker import EspFlow, IkeSa, Sent


@dataclass(slots=True)
class Conclusion:
    """What a rule concluded; `engine.diagnose` turns it into a DiagnosisEvent with the catalog's words."""

    outcome: str
    code: str
    confidence: str
    phase: int | None
    seen: str
    """What was seen, one or two sentences naming sides, frames and values."""
    change: str
    """Which side to change and what, specific to what was seen ('' to use only the catalog remedy)."""
    evidence: list[Evidence] = field(default_factory=list)
    alternatives: list[str] = field(default_factory=list)
    orderly: bool = False
    """A tunnel that worked and was then closed in order (a Delete after it carried traffic): no failure."""


@dataclass(slots=True)
class Context:
    """What a rule may look at besides the SA itself."""

    end_time: float
    """Time of the last packet of the input (or, live, now)."""
    others: list[IkeSa]
    """The other IKE SAs of the same tunnel, in order of first message."""
    esp: list[EspFlow]
    """ESP / ESP-in-UDP flows between the two peers."""
    ah: list[EspFlow] = field(default_factory=list)
    """AH flows between the two peers."""
    crypto: KeyConclusions = field(default_factory=KeyConclusions)
    up: Sent | None = None
    """The message that shows the SA established (`established_at`), worked out once by `conclude`
    before the rules run."""


def build_context(ike_sa: IkeSa, tunnel: Sequence[IkeSa], end_time: float,
                  esp_by_pair: dict[frozenset[str], list[EspFlow]], ah: Sequence[EspFlow],
                  crypto: KeyConclusions | None = None) -> Context:
    """The context of `ike_sa`: `tunnel` holds the IKE SAs of its tunnel (itself included), `esp_by_pair`
    the ESP flows by unordered address pair, `ah` every AH flow seen."""
    pair = frozenset(ike_sa.tunnel)
    moved = list(dict.fromkeys(changed for _, _, changed in ike_sa.address_changes if changed != pair))
    esp = [flow for key in (pair, *moved) for flow in esp_by_pair.get(key, [])]
    return Context(end_time, [sa for sa in tunnel if sa is not ike_sa], esp,
                   [flow for flow in ah if frozenset((flow.src, flow.dst)) == pair],
                   crypto if crypto is not None else KeyConclusions())
