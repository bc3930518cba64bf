"""Autonomy as the services hand it out (ARCHITECTURE.md: Autonomy level; AUTONOMY.md):
units and their level history, the policy's answer to one request, budgets and
circuit-breaker trips. Plain models: the Autonomy workspace and the CLI read these,
never the store. A unit's status and chart data (which carry the engine's numbers, and
numpy) are in `autonomy_status`, so requesting an action never loads the engine."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from .actions import AutonomyLevel


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class UnitKey(_Frozen):
    """One unit: an agent version and an action class."""

    agent: str
    version: str
    action_class: str

    def __str__(self) -> str:
        version = f"@{self.version}" if self.version else ""
        return f"{self.agent}{version} / {self.action_class}"


class PolicyOutcome(StrEnum):
    #: A person decides (L1, critical risk, a tripped breaker, a higher risk than the
    #: level auto-approves...).
    WAIT = "wait"
    #: Decided at once by the policy (L2: low and medium risk; L3: all but critical).
    AUTO_APPROVE = "auto_approve"
    #: L0: recorded and drawn for review; the agent is told not to execute it.
    SHADOW = "shadow"


class PolicyResult(_Frozen):
    """What the policy did with one request, and why in words."""

    outcome: PolicyOutcome
    level: AutonomyLevel
    reason: str
    #: The decision the policy wrote (auto-approve or shadow), None when it waits.
    decision_id: int | None = None
    #: The open breaker trip that made it wait, if any.
    trip_id: int | None = None


class LevelChange(_Frozen):
    """One entry of a unit's level history."""

    id: int
    unit: UnitKey
    at: float
    from_level: AutonomyLevel | None
    to_level: AutonomyLevel
    #: initial | new_version | promotion | lead | demotion:critical | demotion:cusum |
    #: demotion:window
    rule: str
    actor: str
    reason: str | None
    against_recommendation: bool
    config_version: int
    #: The evidence at that moment: `UnitEvidence` as JSON for promotions and
    #: demotions (with ``demotion`` for automatic ones), the predecessor for new versions.
    evidence: dict[str, Any]


class Budget(_Frozen):
    """An agent's budgets; None is "no budget" for that figure."""

    agent: str
    actions_per_minute: int | None
    tokens_per_hour: int | None
    cost_per_hour: float | None
    #: Identical requests (same action class, same arguments) allowed within an hour
    #: after the first one.
    repeats: int | None
    updated_at: float
    updated_by: str


class BreakerTrip(_Frozen):
    """A circuit-breaker trip: open (``reset_at`` None) until a lead resets it."""

    id: int
    agent: str
    tripped_at: float
    budget: str
    limit: float
    observed: float
    #: Every figure measured when it tripped.
    figures: dict[str, float | None]
    #: The request that crossed the budget, and the run that shows the loop.
    action_id: int | None
    trace_id: str | None
    reset_at: float | None
    reset_by: str | None
    reset_reason: str | None

    @property
    def open(self) -> bool:
        return self.reset_at is None


class BudgetStatus(_Frozen):
    """One agent's budgets, what it uses now, and its open trip if any."""

    agent: str
    budget: Budget | None
    #: actions_per_minute, tokens_per_hour, cost_per_hour (None: unknown cost), repeats
    figures: dict[str, float | None]
    trip: BreakerTrip | None


class AutonomyEvent(_Frozen):
    """A level change, threshold change or breaker trip / reset from the audit log, for
    notifications (`after_id` paging)."""

    id: int
    at: float
    kind: str
    actor: str
    subject: str
    summary: str
    payload: dict[str, Any]
