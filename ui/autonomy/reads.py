"""What the Autonomy workspace needs of the core (`AutonomyBackend`), and the plain
functions that read it off the GUI thread (STYLE.md rule 7: functions of their inputs,
never touching a widget).

`AutonomyBackend` is the part of ``Services.autonomy``
(`countersign.services.autonomy_service.AutonomyService`) the workspace uses; the tests
drive the workspace through the real service and through an engine-backed double of
the same shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from countersign.autonomy import AutonomyConfig, ReplayResult
from countersign.autonomy.outcomes import FloatArray
from countersign.domain import AutonomyLevel
from countersign.domain.autonomy import AutonomyEvent, BreakerTrip, LevelChange, UnitKey
from countersign.domain.autonomy_status import UnitCharts, UnitStatus

from .rows import UnitDetail, UnitRow, sparkline_of


class AutonomyBackend(Protocol):
    """The autonomy service as the workspace calls it (each call its own transaction)."""

    def status(self, *, agent: str | None = None) -> list[UnitStatus]: ...

    def charts(self, unit: UnitKey) -> UnitCharts: ...

    def config(self) -> tuple[int, AutonomyConfig]: ...

    def promote(self, unit: UnitKey, to: AutonomyLevel, *, lead: str, reason: str | None,
                expected_version: int | None = None) -> LevelChange: ...

    def demote(self, unit: UnitKey, to: AutonomyLevel, *, lead: str, reason: str,
               expected_version: int | None = None) -> LevelChange: ...

    def replay(self, unit: UnitKey, level: AutonomyLevel, *,
               config: AutonomyConfig | None = None) -> ReplayResult: ...

    def events(self, *, after_id: int = 0, limit: int = 200) -> list[AutonomyEvent]: ...

    def tripped(self) -> list[BreakerTrip]: ...

    def reset_breaker(self, agent: str, *, lead: str, reason: str | None = None
                      ) -> BreakerTrip: ...


@dataclass(frozen=True)
class UnitsSnapshot:
    """One read of the units table: its rows, the open breaker trips, and the last
    autonomy event (notifications start after it)."""

    rows: tuple[UnitRow, ...]
    trips: tuple[BreakerTrip, ...]
    last_event_id: int


def load_units(backend: AutonomyBackend) -> UnitsSnapshot:
    """Every unit's status (sparklines come later, for the rows on screen: each is a
    unit's whole series), the open trips, and where the event feed stands."""
    rows = [UnitRow(status=status) for status in backend.status()]
    return UnitsSnapshot(rows=tuple(rows), trips=tuple(backend.tripped()),
                         last_event_id=last_event_id(backend))


def last_event_id(backend: AutonomyBackend) -> int:
    """Where the autonomy event feed stands (0 when it is empty)."""
    after = 0
    while True:
        page = backend.events(after_id=after, limit=1_000)
        if not page:
            return after
        after = page[-1].id


def load_sparklines(backend: AutonomyBackend, units: Sequence[UnitKey]
                    ) -> dict[UnitKey, FloatArray]:
    """The sparkline (thinned accuracy series) of each of ``units``."""
    return {unit: sparkline_of(backend.charts(unit).series) for unit in units}


def load_detail(backend: AutonomyBackend, unit: UnitKey) -> UnitDetail:
    """The selected unit's charts, level history and the thresholds in force."""
    charts = backend.charts(unit)
    return UnitDetail(status=charts.status, series=charts.series,
                      changes=tuple(charts.changes), config=backend.config()[1])


def automatic_demotions(events: Sequence[AutonomyEvent]) -> list[AutonomyEvent]:
    """The events that are demotions the rules made (a lead's have rule "lead")."""
    return [e for e in events if e.kind == "autonomy.demoted" and
            str(e.payload.get("rule", "")).startswith("demotion:")]


def event_unit(event: AutonomyEvent) -> UnitKey | None:
    """The unit a level event is about (None for other events)."""
    unit = event.payload.get("unit")
    try:
        return UnitKey.model_validate(unit) if isinstance(unit, dict) else None
    except ValueError:
        return None
