"""The Queue's History: actions that are no longer pending (decided, delivered,
expired, withdrawn, approved automatically), what became of each, and the actions
that left the queue while the operator was not looking.

Plain Python (no Qt): the reads run off the GUI thread, the words are tested
without a window. The workspace shows the rows in a second list (``H`` toggles it)
and announces `Departures` instead of letting actions vanish silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from countersign.domain import (
    ActionState,
    Change,
    DecisionRecord,
    DeliveryState,
    QueueRow,
    Verdict,
)
from countersign.text import one_line

if TYPE_CHECKING:
    from countersign.services.actions import ActionService
    from countersign.services.decisions import DecisionService

#: The states the History lists: everything but pending.
HISTORY_STATES: tuple[ActionState, ...] = tuple(
    s for s in ActionState if s is not ActionState.PENDING)
#: Decisions are read this many actions at a time.
_CHUNK = 500

_VERDICT_WORDS = {
    Verdict.APPROVE: "approved",
    Verdict.EDIT: "edited",
    Verdict.REJECT: "rejected",
    Verdict.RESPOND: "responded",
    Verdict.IGNORE: "ignored",
    Verdict.AUTO_APPROVE: "auto-approved",
    Verdict.EXPIRE: "expired",
    Verdict.SHADOW: "shadowed",
}
_DELIVERY_WORDS = {
    DeliveryState.PENDING: "",
    DeliveryState.DELIVERED: "delivered",
    DeliveryState.FAILED: "delivery failed",
    DeliveryState.STALE: "not sent",
}


def outcome_text(state: ActionState, record: DecisionRecord | None) -> str:
    """The History's State cell: "approved · ann · delivered", "expired", "withdrawn"."""
    if record is None:
        return state.value.replace("_", " ")
    parts = [_VERDICT_WORDS.get(record.verdict, record.verdict.value)]
    if record.verdict not in (Verdict.EXPIRE, Verdict.AUTO_APPROVE, Verdict.SHADOW):
        parts.append(one_line(record.reviewer, 40))
    delivery = _DELIVERY_WORDS.get(record.delivery_state, record.delivery_state.value)
    if delivery and record.verdict is not Verdict.EXPIRE:
        parts.append(delivery)
    return " · ".join(parts)


def outcomes(rows: Iterable[QueueRow], records: dict[int, DecisionRecord]) -> dict[int, str]:
    return {row.id: outcome_text(row.state, records.get(row.id)) for row in rows}


@dataclass(frozen=True)
class HistorySnapshot:
    """The History's rows (oldest first), the State texts of the newest of them, and
    the change id read before them."""

    after_change_id: int
    rows: list[QueueRow]
    outcomes: dict[int, str]


#: The newest rows whose outcomes come with the first read (the top of the list).
FIRST_OUTCOMES = 1_000
#: Then the older rows' outcomes are read this many at a time, newest first.
OUTCOME_BATCH = 5_000


def read_outcomes(decisions: DecisionService, rows: Sequence[QueueRow]) -> dict[int, str]:
    """Off the GUI thread: the State texts of ``rows``, from their decisions."""
    ids = [r.id for r in rows]
    records: dict[int, DecisionRecord] = {}
    for at in range(0, len(ids), _CHUNK):
        records.update(decisions.for_actions(ids[at:at + _CHUNK]))
    return outcomes(rows, records)


def load_history(actions: ActionService, decisions: DecisionService) -> HistorySnapshot:
    """Off the GUI thread: every action no longer pending, and the outcomes of the
    newest (the rest follow in batches: 100,000 decisions take seconds to read)."""
    after = actions.last_change_id()
    rows = actions.queue_rows(states=HISTORY_STATES)
    return HistorySnapshot(after, rows, read_outcomes(decisions, rows[-FIRST_OUTCOMES:]))


def older_batches(rows: Sequence[QueueRow]) -> list[list[QueueRow]]:
    """The rows whose outcomes the first read left out, in batches, newest first."""
    rest = list(rows[:max(0, len(rows) - FIRST_OUTCOMES)])
    rest.reverse()
    return [rest[at:at + OUTCOME_BATCH] for at in range(0, len(rest), OUTCOME_BATCH)]


# -- departures: pending actions that left without a verdict from here ---------------

@dataclass
class Departures:
    """Pending actions that expired or were withdrawn, to announce them: at once when
    the Queue is on screen, and as a count ("While you were away…") when it comes back.
    ``unseen`` counts them until the History is opened."""

    expired: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    #: Expired or withdrawn since the History was last looked at.
    unseen: int = 0

    def add(self, kind: str, name: str) -> None:
        (self.expired if kind == "expired" else self.withdrawn).append(name)
        self.unseen += 1

    def __bool__(self) -> bool:
        return bool(self.expired or self.withdrawn)

    def clear(self) -> None:
        """The departures were announced (the counts for "away" start again)."""
        self.expired.clear()
        self.withdrawn.clear()

    def summary(self) -> str:
        """"2 actions expired and 1 was withdrawn"."""
        parts = []
        expired, withdrawn = len(self.expired), len(self.withdrawn)
        if expired:
            parts.append(f"{_actions(expired)} expired")
        if withdrawn:
            verb = "was" if withdrawn == 1 else "were"
            parts.append(f"{withdrawn if expired else _actions(withdrawn)} {verb} withdrawn")
        return " and ".join(parts)


def _actions(n: int) -> str:
    return "1 action" if n == 1 else f"{n:,} actions"


def departure_kind(changes: Sequence[Change], action_id: int) -> str | None:
    """How ``action_id`` left the pending states in ``changes``: "expired",
    "withdrawn", or None (decided, by someone: not a silent departure). Its delivery
    may follow in the same batch, so every change of the action is looked at."""
    kinds = {c.kind for c in changes if c.action_id == action_id}
    if f"decided:{Verdict.EXPIRE.value}" in kinds:
        return "expired"
    if "withdrawn" in kinds:
        return "withdrawn"
    return None


def departure_notice(kind: str, name: str) -> str:
    """One departure, for the status bar, with where to find it."""
    verb = "Expired" if kind == "expired" else "Withdrawn by its source"
    return f"{verb}: {name} — History (H) shows it"
