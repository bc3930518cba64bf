"""Actions, decisions and autonomy levels (ARCHITECTURE.md: Action, Decision, Autonomy
level) as plain Python: enums and the DTOs that services hand to the GUI, the CLI and
plugins. ORM rows never leave the store layer."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class Risk(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RISK_RANK[self]


_RISK_RANK = {Risk.LOW: 0, Risk.MEDIUM: 1, Risk.HIGH: 2, Risk.CRITICAL: 3}


class ActionState(StrEnum):
    PENDING = "pending"
    DECIDED = "decided"
    DELIVERED = "delivered"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    AUTO_APPROVED = "auto_approved"


class Verdict(StrEnum):
    APPROVE = "approve"
    EDIT = "edit"
    REJECT = "reject"
    RESPOND = "respond"
    IGNORE = "ignore"
    AUTO_APPROVE = "auto_approve"
    EXPIRE = "expire"
    #: The autonomy policy's answer at L0 (shadow): the action is recorded and reviewed,
    #: and the agent is told not to execute it (the gate reports outcome "shadow",
    #: LangGraph hears a rejection saying so).
    SHADOW = "shadow"


#: The verdicts a person can give; the others are given by the system.
OPERATOR_VERDICTS: tuple[Verdict, ...] = (
    Verdict.APPROVE,
    Verdict.EDIT,
    Verdict.REJECT,
    Verdict.RESPOND,
)


class EditSeverity(StrEnum):
    COSMETIC = "cosmetic"
    MATERIAL = "material"
    CRITICAL = "critical"


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    #: Not sent because the agent no longer waits for it (e.g. resumed elsewhere).
    STALE = "stale"


class AutonomyLevel(StrEnum):
    L0 = "L0"
    L1 = "L1"
    L2 = "L2"
    L3 = "L3"

    @property
    def label(self) -> str:
        return _LEVEL_TITLES[self]


_LEVEL_TITLES = {
    AutonomyLevel.L0: "L0 shadow",
    AutonomyLevel.L1: "L1 supervised",
    AutonomyLevel.L2: "L2 conditional",
    AutonomyLevel.L3: "L3 autonomous",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class QueueRow(_Frozen):
    """One line of the Queue list: only what the list shows, so 100,000 stay cheap."""

    id: int
    agent: str
    action_class: str
    risk: Risk
    created_at: float
    deadline: float | None
    state: ActionState


class ActionDetail(_Frozen):
    """Everything the side-by-side view needs about one action."""

    id: int
    agent: str
    agent_version: str
    action_class: str
    #: The arguments as stored (canonical JSON text); parsing is the viewer's business
    #: because megabyte payloads must be parsed off the GUI thread.
    arguments_json: str
    arguments_schema: dict[str, Any] | None
    description: str
    risk: Risk
    deadline: float | None
    state: ActionState
    version: int
    created_at: float
    trace_id: str | None
    span_id: str | None
    source: str
    source_ref: str
    allowed_verdicts: tuple[Verdict, ...]
    autonomy_level: AutonomyLevel
    error: str | None
    #: Set when arguments had to be repaired to be stored (invalid UTF-8 etc.).
    ingest_warnings: tuple[str, ...] = ()


class DecisionRecord(_Frozen):
    id: int
    action_id: int
    verdict: Verdict
    arguments_json: str | None
    severity: EditSeverity | None
    reason: str | None
    response: str | None
    reviewer: str
    decided_at: float
    idempotency_key: str
    delivery_state: DeliveryState
    delivered_at: float | None


class Change(_Frozen):
    """An entry of the change feed: the GUI refreshes only the actions named here."""

    id: int
    action_id: int
    kind: str
