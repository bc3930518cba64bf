"""One verdict attempt: what the reviewer decided, under which idempotency key, and
how each way it can fail reads to a person.

The key is made once per attempt and reused when the reviewer retries after a
transient store error: if the first try did commit (the connection dropped after
COMMIT), the retry returns the stored decision instead of deciding twice.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from countersign.domain import DecisionRecord, EditSeverity, QueueRow, Verdict

if TYPE_CHECKING:
    from countersign.services.actions import ActionService
    from countersign.services.decisions import AlreadyDecided, DecisionService

_PAST = {
    Verdict.APPROVE: "Approved",
    Verdict.EDIT: "Edited and approved",
    Verdict.REJECT: "Rejected",
    Verdict.RESPOND: "Responded to",
}


@dataclass(frozen=True)
class VerdictAttempt:
    action_id: int
    verdict: Verdict
    #: The action's version the reviewer saw (a change since then is a conflict).
    version: int
    arguments: Any = None
    severity: EditSeverity | None = None
    reason: str | None = None
    response: str | None = None
    #: The edit dialog's text, to reopen it where the reviewer left off.
    draft: str | None = None
    key: str = field(default_factory=lambda: uuid.uuid4().hex)

    def with_key(self, key: str) -> VerdictAttempt:
        return replace(self, key=key)


def record_verdict(decisions: DecisionService, attempt: VerdictAttempt,
                   reviewer: str, hold_seconds: float = 0.0) -> DecisionRecord:
    """Off the GUI thread: the one transaction that records the verdict. With
    ``hold_seconds`` the verdict waits that long in the outbox, so it can be undone."""
    return decisions.decide(
        attempt.action_id,
        attempt.verdict,
        reviewer=reviewer,
        arguments=attempt.arguments if attempt.verdict is Verdict.EDIT else None,
        severity=attempt.severity,
        reason=attempt.reason,
        response=attempt.response,
        expected_version=attempt.version,
        idempotency_key=attempt.key,
        hold_seconds=hold_seconds,
    )


def undo_verdict(decisions: DecisionService, actions: ActionService, action_id: int,
                 actor: str) -> list[QueueRow]:
    """Off the GUI thread: take back the verdict on ``action_id`` (`UndoRefused` when
    it was released) and read the action's row, pending again, for the list. An empty
    list when there was no verdict to take back."""
    if not decisions.undo(action_id, actor=actor):
        return []
    return actions.queue_rows(ids=[action_id])


_NOUN = {
    Verdict.APPROVE: "approval",
    Verdict.EDIT: "edit",
    Verdict.REJECT: "rejection",
    Verdict.RESPOND: "response",
}


def describe_done(record: DecisionRecord, what: str) -> str:
    return f"{_PAST.get(record.verdict, record.verdict.value)}: {what}"


def verdict_noun(verdict: Verdict) -> str:
    """"approval", "edit", "rejection", "response" (for "the approval of …")."""
    return _NOUN.get(verdict, verdict.value)


def describe_already(exc: AlreadyDecided, what: str) -> str:
    """"Already decided by bob at 12:03:04 (approve)" in local time, or the state."""
    decision = exc.decision
    if decision is None:
        return f"{what} is no longer pending (it is {exc.state.value.replace('_', ' ')})."
    when = time.strftime("%H:%M:%S", time.localtime(decision.decided_at))
    return (f"{what} was already decided by {decision.reviewer} at {when} "
            f"({decision.verdict.value}).")
