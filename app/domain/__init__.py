"""The vocabulary of ARCHITECTURE.md as plain Python, one module per concept: actions and
decisions (`actions`), runs and spans (`traces`, `runs`), and room for review and
autonomy. Everything is re-exported here, so ``from countersign.domain import Risk``
is how the rest of the code names it."""

from .actions import (
    OPERATOR_VERDICTS,
    ActionDetail,
    ActionState,
    AutonomyLevel,
    Change,
    DecisionRecord,
    DeliveryState,
    EditSeverity,
    QueueRow,
    Risk,
    Verdict,
)
from .traces import SpanKind, SpanRecord

__all__ = [
    "OPERATOR_VERDICTS",
    "ActionDetail",
    "ActionState",
    "AutonomyLevel",
    "Change",
    "DecisionRecord",
    "DeliveryState",
    "EditSeverity",
    "QueueRow",
    "Risk",
    "SpanKind",
    "SpanRecord",
    "Verdict",
]
