"""Importing a source's past: actions requested, answered and labelled at their own
times, through the same units of work as live ones (`request_action` with the autonomy
policy as it stood then, `decide`, `submit_label`, `promote`), so the levels, the
automatic demotions and the evidence come out as the rules would have made them.

The demo fleet seeds its history this way (`SourceContext.import_history`). Events are
applied in time order: a request at its time (the policy decides it with the level of
that moment); a person's verdict only if the action then waits for one; a label only
if the action was auto-approved (or shadow) and drawn for review; a lead's promotion
only if the rules allow it then (refusals are reported, not forced). Everything is one
transaction; actions already imported (same source reference) are skipped, so
importing again adds nothing. The audit log records each event when it was imported,
its payload the time it stands for.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import ActionState, AutonomyLevel, EditSeverity, Verdict
from ..domain.autonomy import UnitKey
from ..review.rubric import ACTION_RUBRIC
from ..store.models import ActionRow, DecisionRow
from ..store.review_models import ReviewItemRow
from .actions import ActionRequest, request_action

#: Verdicts that leave the judging to a label.
_UNJUDGED = (Verdict.AUTO_APPROVE.value, Verdict.SHADOW.value)


@dataclass(frozen=True)
class PastVerdict:
    """What a person answered, ``after_s`` seconds after the request, if it waited."""

    verdict: Verdict
    reviewer: str
    after_s: float
    severity: EditSeverity | None = None
    reason: str | None = None
    response: str | None = None
    arguments: Any = None


@dataclass(frozen=True)
class PastLabel:
    """A reviewer's label ``after_s`` seconds after the request, if it was drawn."""

    reviewer: str
    answers: dict[str, Any]
    after_s: float
    correction: Any = None


@dataclass(frozen=True)
class PastAction:
    request: ActionRequest
    at: float
    verdict: PastVerdict
    label: PastLabel | None = None


@dataclass(frozen=True)
class PastPromotion:
    unit: UnitKey
    to: AutonomyLevel
    lead: str
    at: float
    reason: str | None = None


@dataclass
class HistoryReport:
    imported: int = 0
    skipped: int = 0
    auto_approved: int = 0
    decided: int = 0
    labelled: int = 0
    promotions: int = 0
    #: Promotions the rules refused at their time, with why.
    refused: list[str] = field(default_factory=list)


def import_history(session: Session, source: str, actions: Sequence[PastAction],
                   promotions: Sequence[PastPromotion] = ()) -> HistoryReport:
    """Apply ``actions`` and ``promotions`` in time order in ``session``'s transaction
    (see the module); returns what happened."""
    from .autonomy import AutonomyError
    from .autonomy_leads import promote
    from .autonomy_outcomes import invalidate
    from .decisions import decide
    from .review_labels import submit_label

    report = HistoryReport()
    known = set(session.execute(select(ActionRow.source_ref).where(
        ActionRow.source == source,
        ActionRow.source_ref.in_([a.request.source_ref for a in actions]))).scalars())
    events: list[tuple[float, int, str, Any]] = []
    for n, past in enumerate(actions):
        if past.request.source_ref in known:
            report.skipped += 1
            continue
        events.append((past.at, n, "request", past))
    for n, step in enumerate(promotions):
        events.append((step.at, len(actions) + n, "promote", step))
    heapq.heapify(events)
    if not any(kind == "request" for _, _, kind, _ in events):
        return report
    invalidate(session)  # past verdicts would fall behind the outcome snapshot
    ids: dict[int, int] = {}
    while events:
        at, n, kind, item = heapq.heappop(events)
        if kind == "request":
            request = item.request.model_copy(update={"source": source})
            action_id, _ = request_action(session, request, now=at)
            ids[n] = action_id
            report.imported += 1
            heapq.heappush(events, (at + item.verdict.after_s, n, "verdict", item))
            if item.label is not None:
                heapq.heappush(events, (at + item.label.after_s, n, "label", item))
        elif kind == "verdict":
            action = session.get(ActionRow, ids[n])
            if action is None or action.state != ActionState.PENDING.value:
                report.auto_approved += int(action is not None
                                            and action.state == ActionState.AUTO_APPROVED.value)
                continue
            past = item.verdict
            decide(session, ids[n], past.verdict, reviewer=past.reviewer,
                   severity=past.severity, reason=past.reason, response=past.response,
                   arguments=past.arguments, idempotency_key=f"history-{source}-{ids[n]}",
                   now=at)
            report.decided += 1
        elif kind == "label":
            found = session.execute(select(ReviewItemRow.id, ReviewItemRow.state).where(
                ReviewItemRow.action_id == ids[n], ReviewItemRow.rubric == ACTION_RUBRIC)
            ).first()
            verdict = session.execute(select(DecisionRow.verdict).where(
                DecisionRow.action_id == ids[n])).scalar_one_or_none()
            if found is None or found[1] != "open" or verdict not in _UNJUDGED:
                continue
            label = item.label
            submit_label(session, found[0], reviewer=label.reviewer, answers=label.answers,
                         correction=label.correction, now=at)
            report.labelled += 1
        else:
            try:
                with session.begin_nested():
                    promote(session, item.unit, item.to, lead=item.lead, reason=item.reason,
                            now=at)
                report.promotions += 1
            except AutonomyError as exc:
                report.refused.append(str(exc))
    return report
