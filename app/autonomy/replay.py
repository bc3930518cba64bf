"""What if: replay a proposed level over a unit's past actions, in time order, with the
same demotion rules the engine runs live (AUTONOMY.md, item 8).

Assumptions, stated because they make the answer optimistic about detection: every
action with a known outcome counts as reviewed (live, only a sample of the auto-approved
ones would be), and its outcome counts at the time of the action. So real demotions
would come no earlier than replayed ones. Promotion is never replayed: it is a lead's
decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..domain import AutonomyLevel, Risk
from .config import AutonomyConfig
from .outcomes import OutcomeBatch, OutcomeKind
from .rules import AUTONOMOUS, Demotion, demotion_trigger

#: The highest risk rank each level auto-approves (critical actions always wait).
AUTO_APPROVES_UP_TO = {AutonomyLevel.L2: Risk.MEDIUM.rank, AutonomyLevel.L3: Risk.HIGH.rank}


@dataclass(frozen=True, slots=True)
class ReplayRow:
    """One past action: its risk and, when a person judged it, its outcome (y None when
    nobody did, e.g. an auto-approval that was not sampled)."""

    at: float
    risk: Risk
    y: int | None
    critical: bool = False
    kind: OutcomeKind | None = None

    def __post_init__(self) -> None:
        if self.y not in (None, 0, 1):
            raise ValueError(f"ReplayRow.y must be 0, 1 or None, got {self.y!r}")
        if self.critical and self.y != 1:
            raise ValueError("ReplayRow.critical needs y = 1 (a critical failure fails)")
        if self.kind is not None and self.y is not None and self.kind is not (
                OutcomeKind.RESPOND) and (int(self.kind.failure), self.kind.critical) != (
                self.y, self.critical):
            raise ValueError(f"ReplayRow.kind {self.kind.name} contradicts y={self.y}, "
                             f"critical={self.critical}")


class ReplayResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    level: AutonomyLevel
    actions: int
    auto_approved: int
    auto_approved_failures: int
    auto_approved_critical: int
    #: Auto-approved actions whose outcome nobody knows.
    auto_approved_unknown: int
    #: In time order; ``index`` is the triggering action's position in the rows given.
    demotions: list[Demotion]
    final_level: AutonomyLevel


def replay(rows: Sequence[ReplayRow], *, level: AutonomyLevel, config: AutonomyConfig
           ) -> ReplayResult:
    """How many of ``rows`` would have been auto-approved at ``level`` (L2 or L3), how
    many of those failed or were critical, and when the demotion rules would have
    fired (each demotion lowers the level for the actions after it)."""
    if level not in AUTONOMOUS:
        raise ValueError(f"replay: level must be L2 or L3, got {level}")
    order = np.argsort(np.array([r.at for r in rows], dtype=np.float64), kind="stable")
    ordered = [rows[i] for i in order]
    risk = np.array([Risk(r.risk).rank for r in ordered], dtype=np.int64)
    y = np.array([-1 if r.y is None else r.y for r in ordered], dtype=np.int64)
    critical = np.array([r.critical for r in ordered], dtype=np.bool_)
    known_rows = np.flatnonzero(y >= 0)
    kinds = np.where(critical, OutcomeKind.CRITICAL_EDIT,
                     np.where(y == 1, OutcomeKind.REJECT, OutcomeKind.APPROVE))
    evidence = OutcomeBatch.from_arrays(
        at=[ordered[i].at for i in known_rows], y=y[known_rows], critical=critical[known_rows],
        pi=np.ones(known_rows.size), kind=kinds[known_rows],
        reviewer=np.full(known_rows.size, -1), risk=risk[known_rows])

    current, since, start = level, None, 0
    auto = np.zeros(len(ordered), dtype=np.bool_)
    demotions: list[Demotion] = []
    while current in AUTONOMOUS:
        found = demotion_trigger(evidence, level=current, config=config, since=since)
        stop = len(ordered) if found is None else int(known_rows[found.index]) + 1
        auto[start:stop] = risk[start:stop] <= AUTO_APPROVES_UP_TO[current]
        if found is None:
            break
        demotions.append(found.model_copy(update={"index": int(order[stop - 1])}))
        current, since, start = found.to_level, found.at, stop
    return ReplayResult(
        level=level, actions=len(ordered), auto_approved=int(auto.sum()),
        auto_approved_failures=int((auto & (y == 1)).sum()),
        auto_approved_critical=int((auto & critical).sum()),
        auto_approved_unknown=int((auto & (y < 0)).sum()),
        demotions=demotions, final_level=current)
