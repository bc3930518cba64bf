"""The tables agree with the audit log: every action and decision row is what its
audit events say it is.

The hash chain proves the log was not edited; it says nothing about a direct edit of
``actions`` or ``decisions`` (a rejection turned into an approval, other edited
arguments). So the chain is replayed into what each action must look like now (its
request, its current decision with the fields its ``decision.*`` event recorded, its
delivery state, its state) and every row is compared with that, naming the row and
the field that differs. Rows are streamed in id order; the replay keeps a few small
fields per action (a digest stands in for arguments and reasons).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import ActionState, DeliveryState, Verdict
from ..jsonio import canonical, loads
from ..store.models import ActionRow, AuditEventRow, DecisionRow
from .decisions import final_state

#: How many disagreements a report lists (the count is always exact).
MAX_LISTED = 20
_SETTLED = {f"delivery.{s.value}": s.value for s in
            (DeliveryState.DELIVERED, DeliveryState.STALE, DeliveryState.FAILED)}


def _digest(value: Any) -> str:
    return hashlib.sha256(canonical(value).encode()).hexdigest()


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class _Decision:
    """A decision as its events describe it."""

    id: int
    verdict: str
    reviewer: str
    #: Digest of the edited arguments, severity, reason, response and key.
    content: str
    delivery: str = DeliveryState.PENDING.value
    delivered: bool = False


@dataclass
class _Action:
    """An action as its events describe it."""

    requested: tuple[str, str, str, str, str] | None = None
    decision: _Decision | None = None
    withdrawn: bool = False
    undone: list[int] = field(default_factory=list)


def _content(arguments: Any, severity: Any, reason: Any, response: Any, key: Any) -> str:
    return _digest([arguments, severity, reason, response, key])


class Replay:
    """Fold audit events, in chain order, into the rows they describe (feed it every
    event with `add`, then `check_rows`)."""

    def __init__(self) -> None:
        self.actions: dict[int, _Action] = {}
        #: decision id → action id, for delivery events (their subject is the decision).
        self.owner: dict[int, int] = {}

    def add(self, row: AuditEventRow) -> None:
        kind = row.kind
        if not kind.startswith(("action.", "decision.", "delivery.")):
            return
        payload = loads(row.payload_json)
        if not isinstance(payload, dict):
            return
        if row.subject_type == "action" and row.subject_id.isdigit():
            action = self.actions.setdefault(int(row.subject_id), _Action())
            if kind == "action.requested":
                action.requested = (str(payload.get("action_class")), str(payload.get("risk")),
                                    str(payload.get("source")), str(payload.get("source_ref")),
                                    str(payload.get("arguments_sha256")))
            elif kind == "action.withdrawn":
                action.withdrawn = True
            elif kind == "action.revived":
                action.withdrawn = False
            elif kind == "decision.undone":
                action.decision = None
                action.undone.append(int(payload.get("decision_id") or 0))
            elif kind.startswith("decision."):
                decision_id = int(payload.get("decision_id") or 0)
                action.decision = _Decision(
                    decision_id, str(payload.get("verdict")), row.actor,
                    _content(payload.get("arguments"), payload.get("severity"),
                             payload.get("reason"), payload.get("response"),
                             payload.get("idempotency_key")))
                self.owner[decision_id] = int(row.subject_id)
        elif row.subject_type == "decision" and row.subject_id.isdigit():
            action_id = self.owner.get(int(row.subject_id))
            current = self.actions[action_id].decision if action_id is not None else None
            if current is None or current.id != int(row.subject_id):
                return
            if kind in _SETTLED:
                current.delivery = _SETTLED[kind]
                current.delivered = current.delivered or kind == "delivery.delivered"
            elif kind == "delivery.requeued":
                current.delivery = DeliveryState.PENDING.value


def _expected_state(action: _Action) -> str:
    if action.withdrawn:
        return ActionState.WITHDRAWN.value
    decision = action.decision
    if decision is None:
        return ActionState.PENDING.value
    state = final_state(Verdict(decision.verdict)).value
    if decision.delivered and state == ActionState.DECIDED.value:
        return ActionState.DELIVERED.value
    return state


def _rows(session: Session, batch: int) -> Iterator[tuple[ActionRow, DecisionRow | None]]:
    last = 0
    while True:
        found = session.execute(
            select(ActionRow, DecisionRow)
            .outerjoin(DecisionRow, DecisionRow.action_id == ActionRow.id)
            .where(ActionRow.id > last).order_by(ActionRow.id).limit(batch)
        ).all()
        if not found:
            return
        yield from ((action, decision) for action, decision in found)
        last = found[-1][0].id
        session.expunge_all()


def _compare(action_id: int, row: ActionRow, decision: DecisionRow | None,
             expected: _Action | None) -> list[str]:
    if expected is None or expected.requested is None:
        return [f"action {action_id} has no action.requested event in the audit log "
                "(written to the table directly?)"]
    problems: list[str] = []
    actual = (row.action_class, row.risk, row.source, row.source_ref, _sha(row.arguments_json))
    for name, have, want in zip(("action_class", "risk", "source", "source_ref", "arguments"),
                                actual, expected.requested, strict=True):
        if have != want:
            problems.append(f"action {action_id}: its {name} differ(s) from what the audit "
                            "log recorded when it was requested")
    want_decision = expected.decision
    if decision is None and want_decision is not None:
        problems.append(f"action {action_id}: the audit log records decision "
                        f"{want_decision.id} ({want_decision.verdict} by "
                        f"{want_decision.reviewer}) but the decisions table has none")
    elif decision is not None and want_decision is None:
        problems.append(f"decision {decision.id} of action {action_id} "
                        f"({decision.verdict} by {decision.reviewer}) has no audit event "
                        "(written to the table directly?)")
    elif decision is not None and want_decision is not None:
        problems += _compare_decision(action_id, decision, want_decision)
    want_state = _expected_state(expected)
    if row.state != want_state:
        problems.append(f"action {action_id}: its state is '{row.state}' but the audit log "
                        f"says '{want_state}'")
    return problems


def _compare_decision(action_id: int, row: DecisionRow, want: _Decision) -> list[str]:
    where = f"decision {row.id} of action {action_id}"
    if row.id != want.id:
        return [f"{where}: the audit log records decision {want.id} for this action"]
    problems = []
    if row.verdict != want.verdict:
        problems.append(f"{where}: its verdict is '{row.verdict}' but the audit log "
                        f"recorded '{want.verdict}'")
    if row.reviewer != want.reviewer:
        problems.append(f"{where}: its reviewer is '{row.reviewer}' but the audit log "
                        f"recorded '{want.reviewer}'")
    arguments = loads(row.arguments_json) if row.arguments_json else None
    if _content(arguments, row.severity, row.reason, row.response,
                row.idempotency_key) != want.content:
        problems.append(f"{where}: its edited arguments, severity, reason, response or "
                        "idempotency key differ from what the audit log recorded")
    if row.delivery_state != want.delivery:
        problems.append(f"{where}: its delivery state is '{row.delivery_state}' but the "
                        f"audit log says '{want.delivery}'")
    return problems


@dataclass(frozen=True)
class RowsResult:
    """Rows that disagree with the log: the first `MAX_LISTED`, and how many."""

    checked: int
    problems: tuple[str, ...] = ()
    count: int = 0


def check_rows(session: Session, replay: Replay, *, batch: int = 5_000) -> RowsResult:
    """Compare every action and decision row with what the replayed log says it must
    be; run it in the same snapshot that read the log."""
    problems: list[str] = []
    count = checked = 0
    seen: set[int] = set()
    for row, decision in _rows(session, batch):
        seen.add(row.id)
        checked += 1
        found = _compare(row.id, row, decision, replay.actions.get(row.id))
        count += len(found)
        problems += found[:max(0, MAX_LISTED - len(problems))]
    for action_id, expected in replay.actions.items():
        if action_id not in seen and expected.requested is not None:
            count += 1
            if len(problems) < MAX_LISTED:
                problems.append(f"action {action_id} is in the audit log but not in the "
                                "actions table (deleted?)")
    return RowsResult(checked, tuple(problems), count)
