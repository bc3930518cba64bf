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

from countersign.domain import DecisionRecord, EditSeverity, Verdict

if TYPE_CHECKING:
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
                   reviewer: str) -> DecisionRecord:
    """Off the GUI thread: the one transaction that records the verdict."""
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
    )


def describe_done(record: DecisionRecord, what: str) -> str:
    return f"{_PAST.get(record.verdict, record.verdict.value)}: {what}"


def describe_already(exc: AlreadyDecided, what: str) -> str:
    """"Already decided by bob at 12:03:04 (approve)" in local time, or the state."""
    decision = exc.decision
    if decision is None:
        return f"{what} is no longer pending (it is {exc.state.value.replace('_', ' ')})."
    when = time.strftime("%H:%M:%S", time.localtime(decision.decided_at))
    return (f"{what} was already decided by {decision.reviewer} at {when} "
            f"({decision.verdict.value}).")
