"""What the Queue list shows per column: titles, sort keys, cell text, the filter.

Kept apart from the item model so the formatting and ordering rules can be read (and
tested) without Qt's model machinery.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from countersign.domain import ActionState, QueueRow, Risk
from countersign.text import age_text

SortKey = tuple[Any, ...]


class Column(IntEnum):
    AGENT = 0
    ACTION = 1
    RISK = 2
    AGE = 3
    DEADLINE = 4
    STATE = 5


TITLES = {
    Column.AGENT: "Agent",
    Column.ACTION: "Action",
    Column.RISK: "Risk",
    Column.AGE: "Age",
    Column.DEADLINE: "Deadline",
    Column.STATE: "State",
}
# Plain dict lookups: StrEnum members hash as str (fast), where ``Risk.rank`` is a
# property call per row — 3x slower when sorting 100,000 rows.
_STATE_ORDER = {state: i for i, state in enumerate(ActionState)}
_RISK_ORDER = {risk: risk.rank for risk in Risk}
KEYS: dict[Column, Callable[[QueueRow], SortKey]] = {
    Column.AGENT: lambda r: (r.agent.casefold(), r.created_at, r.id),
    Column.ACTION: lambda r: (r.action_class.casefold(), r.created_at, r.id),
    Column.RISK: lambda r: (_RISK_ORDER[r.risk], r.created_at, r.id),
    # Ascending age means youngest first; the default (descending) is oldest first.
    Column.AGE: lambda r: (-r.created_at, -r.id),
    Column.DEADLINE: lambda r: (r.deadline is None, r.deadline or 0.0, r.created_at, r.id),
    Column.STATE: lambda r: (_STATE_ORDER[r.state], r.created_at, r.id),
}


def format_countdown(remaining: float | None) -> str:
    """Time left before the deadline, ``expired`` once it has passed, ``—`` for none."""
    if remaining is None:
        return "—"
    if remaining <= 0:
        return "expired"
    return age_text(remaining)


@dataclass(frozen=True)
class QueueFilter:
    """What the filter bar asks for; the empty filter shows everything."""

    agent: str | None = None
    risk: Risk | None = None
    #: With ``risk``: True shows only that risk, False that risk and above.
    exact_risk: bool = False
    text: str = ""

    def accepts(self, row: QueueRow, haystack: str) -> bool:
        if self.agent is not None and row.agent != self.agent:
            return False
        if self.risk is not None:
            if self.exact_risk and row.risk is not self.risk:
                return False
            if not self.exact_risk and row.risk.rank < self.risk.rank:
                return False
        return not self.text or self.text.casefold() in haystack
