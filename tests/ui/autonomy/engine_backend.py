"""`EngineBackend`: the workspace's `AutonomyBackend` over in-memory outcome histories,
every number computed by the real engine (evaluate, series, replay). For the widget
tests; the end-to-end test drives the real autonomy service over a store.

It keeps the service's rules that the workspace relies on: a promotion the engine does
not recommend needs a reason and is marked against the recommendation; a demotion needs
a reason; a level version seen before a change is refused after it; every change is an
event.
"""

from __future__ import annotations

import threading

from countersign.autonomy import AutonomyConfig, ReplayResult, ReplayRow, replay
from countersign.domain import AutonomyLevel, Risk
from countersign.domain.autonomy import AutonomyEvent, BreakerTrip, LevelChange, UnitKey
from countersign.domain.autonomy_status import UnitCharts, UnitStatus

from .units import CONFIG, NOW, StoredUnit, build_detail

_RISKS = (Risk.LOW, Risk.MEDIUM, Risk.HIGH, Risk.CRITICAL)


class Refused(Exception):
    pass


class EngineBackend:
    """See the module docstring."""

    def __init__(self, units: list[StoredUnit], *, now: float = NOW,
                 config: AutonomyConfig = CONFIG) -> None:
        self.units = {u.key: u for u in units}
        self.now = now
        self._config = config
        self._events: list[AutonomyEvent] = []
        self.trips: list[BreakerTrip] = []
        self.calls: list[str] = []
        self._lock = threading.Lock()

    # -- reads -----------------------------------------------------------------------

    def _detail(self, unit: StoredUnit) -> tuple[UnitStatus, UnitCharts]:
        detail = build_detail(unit.key, unit.batch, unit.history, now=self.now,
                              config=self._config, last_demotion_at=unit.last_demotion_at)
        against = [False, *unit.against]
        changes = tuple(c.model_copy(update={"against_recommendation": i < len(against)
                                             and against[i]})
                        for i, c in enumerate(detail.changes))
        return detail.status, UnitCharts(status=detail.status, series=detail.series,
                                         changes=changes)

    def status(self, *, agent: str | None = None) -> list[UnitStatus]:
        with self._lock:
            return [self._detail(u)[0] for u in self.units.values()
                    if agent is None or u.key.agent == agent]

    def charts(self, unit: UnitKey) -> UnitCharts:
        with self._lock:
            return self._detail(self.units[unit])[1]

    def config(self) -> tuple[int, AutonomyConfig]:
        return 1, self._config

    def events(self, *, after_id: int = 0, limit: int = 200) -> list[AutonomyEvent]:
        with self._lock:
            return [e for e in self._events if e.id > after_id][:limit]

    def tripped(self) -> list[BreakerTrip]:
        with self._lock:
            return [t for t in self.trips if t.open]

    # -- decisions -------------------------------------------------------------------

    def promote(self, unit: UnitKey, to: AutonomyLevel, *, lead: str, reason: str | None,
                expected_version: int | None = None) -> LevelChange:
        with self._lock:
            self.calls.append(f"promote {unit.agent} {to} {reason!r}")
            stored = self.units[unit]
            status, _ = self._detail(stored)
            self._check_version(status, expected_version)
            recommended = status.evidence.recommendation == "promote" and \
                to == status.evidence.next_level
            if not recommended and not (reason or "").strip():
                raise Refused(f"{unit} is not recommended for {to}: give a reason")
            return self._move(stored, to, "promotion", lead, reason, not recommended)

    def demote(self, unit: UnitKey, to: AutonomyLevel, *, lead: str, reason: str,
               expected_version: int | None = None) -> LevelChange:
        with self._lock:
            self.calls.append(f"demote {unit.agent} {to} {reason!r}")
            if not reason.strip():
                raise Refused("a demotion by a lead needs a reason")
            stored = self.units[unit]
            self._check_version(self._detail(stored)[0], expected_version)
            stored.last_demotion_at = self.now
            return self._move(stored, to, "lead", lead, reason, False)

    def demote_automatically(self, unit: UnitKey, rule: str) -> None:
        """What the policy does when a rule fires (the test's stand-in for a label)."""
        with self._lock:
            stored = self.units[unit]
            stored.last_demotion_at = self.now
            self._move(stored, AutonomyLevel.L1, f"demotion:{rule}", "policy:autonomy@1",
                       None, False)

    def _check_version(self, status: UnitStatus, expected: int | None) -> None:
        if expected is not None and expected != status.level_version:
            raise Refused(f"{status.unit} was changed meanwhile: look at it again")

    def _move(self, stored: StoredUnit, to: AutonomyLevel, rule: str, actor: str,
              reason: str | None, against: bool) -> LevelChange:
        before = stored.history[-1][1]
        self.now += 60.0
        stored.history.append((self.now, to, rule, actor))
        stored.against.append(against)
        kind = "autonomy.promoted" if rule == "promotion" else "autonomy.demoted"
        self._events.append(AutonomyEvent(
            id=len(self._events) + 1, at=self.now, kind=kind, actor=actor,
            subject=str(stored.key), summary=f"{stored.key} {before}→{to}: {reason or rule}",
            payload={"unit": stored.key.model_dump(), "from": before.value, "to": to.value,
                     "rule": rule, "reason": reason, "against_recommendation": against}))
        return LevelChange(id=len(stored.history), unit=stored.key, at=self.now,
                           from_level=before, to_level=to, rule=rule, actor=actor,
                           reason=reason, against_recommendation=against, config_version=1,
                           evidence={})

    def replay(self, unit: UnitKey, level: AutonomyLevel, *,
               config: AutonomyConfig | None = None) -> ReplayResult:
        batch = self.units[unit].batch
        rows = [ReplayRow(at=float(batch.at[i]), risk=_RISKS[int(batch.risk[i])],
                          y=int(batch.y[i]), critical=bool(batch.critical[i]))
                for i in range(len(batch))]
        return replay(rows, level=level, config=config or self._config)

    def reset_breaker(self, agent: str, *, lead: str, reason: str | None = None
                      ) -> BreakerTrip:
        with self._lock:
            for i, trip in enumerate(self.trips):
                if trip.agent == agent and trip.open:
                    closed = trip.model_copy(update={"reset_at": self.now, "reset_by": lead,
                                                     "reset_reason": reason})
                    self.trips[i] = closed
                    return closed
            raise Refused(f"{agent} has no open breaker")


def trip(agent: str, *, at: float = NOW - 600, trace_id: str | None = "4bf92f3577b34da6"
         ) -> BreakerTrip:
    """A breaker tripped by a retry loop: 412 requests a minute against 60."""
    return BreakerTrip(id=1, agent=agent, tripped_at=at, budget="actions_per_minute",
                       limit=60, observed=412,
                       figures={"actions_per_minute": 412, "tokens_per_hour": 1_840_000,
                                "cost_per_hour": 37.5, "repeats": 388},
                       action_id=9001, trace_id=trace_id, reset_at=None, reset_by=None,
                       reset_reason=None)

