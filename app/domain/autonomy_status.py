"""A unit's status and chart data as the services hand them out: the engine's
`UnitEvidence` and `UnitSeries` with the unit's level (see `domain.autonomy`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..autonomy.rules import UnitEvidence
from ..autonomy.series import UnitSeries
from .actions import AutonomyLevel
from .autonomy import LevelChange, UnitKey


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class UnitStatus(_Frozen):
    """A unit's level and everything the engine says about it now."""

    unit: UnitKey
    level: AutonomyLevel
    level_since: float
    #: Why the unit is at its level (see `LevelChange.rule`).
    level_rule: str
    #: Pass it back to promote / demote: a change made meanwhile by someone else wins.
    level_version: int
    last_demotion_at: float | None
    evidence: UnitEvidence

    def summary_json(self) -> dict[str, Any]:
        """The fields ``countersign autonomy status --json`` prints (issue 13's list);
        figures without evidence are null, never NaN."""
        ev = self.evidence
        return {
            "agent": self.unit.agent, "version": self.unit.version,
            "action_class": self.unit.action_class, "level": self.level.value,
            "level_since": self.level_since, "n": ev.n, "n_eff": ev.n_eff,
            "failure_rate": ev.failure_rate, "wilson_lower": ev.wilson_lower,
            "p_above_target": ev.p_above_target,
            "sprt": {"sum": ev.sprt.sum, "lower": ev.sprt.lower, "upper": ev.sprt.upper,
                     "items_to_decision": ev.sprt.items_to_decision},
            "cusum": {"value": ev.cusum.value, "h": ev.cusum.h},
            "recommendation": ev.recommendation, "reasons": list(ev.reasons),
        }


@dataclass(frozen=True, slots=True)
class UnitCharts:
    """Everything the selected unit's charts draw: the engine's series on one time axis,
    and the level history that annotates the step chart."""

    status: UnitStatus
    series: UnitSeries
    changes: tuple[LevelChange, ...]
