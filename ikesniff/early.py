"""Verdicts told while the capture goes on (live capture, a stream on standard input).

The final verdicts come from `analysis.conclude` at the end, as for a file. Before that, each tunnel's
verdict is told as soon as it changes: a NO_PROPOSAL_CHOSEN read, a retransmission series that reached
its end, an SA that came up, a DPD timeout. The cost must stay near what the end-of-input diagnosis
costs (each IKE SA diagnosed about once), whatever the packet rate:

* only the IKE SAs that received a message since the last look are diagnosed again, plus the latest
  earlier attempt of their tunnel (a new attempt can settle the previous one);
* tunnels still `incomplete` are looked at again only as time passes (`timers`: idle ticks, or a
  timer look), UNSETTLED_PER_LOOK at a time, since timeouts are what can settle them;
* a tunnel's verdict reads the kept diagnoses of its latest attempts, not all its SAs.

Knows nothing of output: it hands back VerdictEvents with `final` False.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import diagnosis
from .events import DiagnosisEvent, VerdictEvent
from .tracker import IkeSa

Tunnel = tuple[str, str]
UNSETTLED_PER_LOOK = 256


@dataclass(slots=True)
class TunnelWatch:
    ike_sas: dict[str, IkeSa] = field(default_factory=dict)
    """The tunnel's IKE SAs still tracked, by id, in order of first message."""
    judged: dict[str, DiagnosisEvent] = field(default_factory=dict)
    told: tuple[str, str, str] | None = None
    """(outcome, code, confidence) of the verdict last told."""


@dataclass(slots=True)
class EarlyVerdicts:
    tunnels: dict[Tunnel, TunnelWatch] = field(default_factory=dict)
    touched: dict[str, IkeSa] = field(default_factory=dict)
    """IKE SAs with a message since the last look, by id."""
    where: dict[str, Tunnel] = field(default_factory=dict)
    """The tunnel each IKE SA was filed under (its peers become known with the first answer)."""
    unsettled: dict[Tunnel, None] = field(default_factory=dict)
    """Tunnels whose latest verdict is `incomplete`, oldest first."""

    def seen(self, ike_sa: IkeSa) -> None:
        """An IKE SA received a message."""
        tunnel = ike_sa.tunnel
        before = self.where.get(ike_sa.id)
        if before != tunnel:
            if before is not None:
                self._drop(ike_sa.id, before)
            self.where[ike_sa.id] = tunnel
            self.tunnels.setdefault(tunnel, TunnelWatch()).ike_sas[ike_sa.id] = ike_sa
        self.touched[ike_sa.id] = ike_sa

    def forget(self, ike_sa: IkeSa) -> None:
        """The IKE SA was diagnosed for good (retired): its tunnel's verdict goes on without it."""
        tunnel = self.where.pop(ike_sa.id, None)
        self.touched.pop(ike_sa.id, None)
        if tunnel is not None:
            self._drop(ike_sa.id, tunnel)

    def _drop(self, ike_sa_id: str, tunnel: Tunnel) -> None:
        watch = self.tunnels.get(tunnel)
        if watch is None:
            return
        watch.ike_sas.pop(ike_sa_id, None)
        watch.judged.pop(ike_sa_id, None)

    @property
    def quiet(self) -> bool:
        return not self.touched and not self.unsettled

    def look(self, timers: bool, judge: Callable[[IkeSa, list[IkeSa]], DiagnosisEvent],
             retired: Callable[[Tunnel], tuple[list[str], DiagnosisEvent | None, DiagnosisEvent | None]],
             ) -> list[VerdictEvent]:
        """The verdicts that changed. `judge(ike_sa, tunnel)` diagnoses an SA among its tunnel's (the
        pipeline builds its context as for a final diagnosis); `retired(tunnel)` gives the ids, latest and
        latest definite diagnosis of its SAs already retired."""
        again: dict[Tunnel, list[IkeSa]] = {}
        for ike_sa_id, ike_sa in self.touched.items():
            again.setdefault(self.where[ike_sa_id], []).append(ike_sa)
        self.touched.clear()
        if timers:
            for tunnel in list(self.unsettled)[:UNSETTLED_PER_LOOK]:
                watch = self.tunnels.get(tunnel)
                if tunnel not in again and watch is not None and watch.ike_sas:
                    again[tunnel] = [list(watch.ike_sas.values())[-1]]
                self.unsettled.pop(tunnel, None)
        if not again:
            return []
        told: list[VerdictEvent] = []
        for tunnel, changed in again.items():
            watch = self.tunnels[tunnel]
            ike_sas = list(watch.ike_sas.values())
            if len(ike_sas) > 1 and ike_sas[-2] not in changed:
                changed.append(ike_sas[-2])                # a new attempt may settle the one before
            for ike_sa in changed:
                others = [sa for sa in ike_sas if sa is not ike_sa][-4:]
                watch.judged[ike_sa.id] = judge(ike_sa, [*others, ike_sa])
            verdict = self._verdict(tunnel, watch, retired(tunnel))
            if verdict is None:
                continue
            if verdict.outcome == "incomplete":
                self.unsettled[tunnel] = None
                continue
            key = (verdict.outcome, verdict.code, verdict.confidence)
            if watch.told != key:
                watch.told = key
                verdict.final = False
                told.append(verdict)
        return told

    @staticmethod
    def _verdict(tunnel: Tunnel, watch: TunnelWatch,
                 retired: tuple[list[str], DiagnosisEvent | None, DiagnosisEvent | None]) -> VerdictEvent | None:
        ids, latest, definite = retired
        for ike_sa_id in watch.ike_sas:
            judged = watch.judged.get(ike_sa_id)
            if judged is not None:
                latest = judged
                definite = judged if judged.outcome != "incomplete" else definite
        if latest is None:
            return None
        return diagnosis.verdict(tunnel, [*ids, *watch.ike_sas], latest, definite)
