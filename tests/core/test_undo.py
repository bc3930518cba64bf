"""Undo (issue 11): a verdict held in the outbox can be taken back within its window,
never once it was released to anyone; the agent never sees a held verdict."""

from __future__ import annotations

import pytest

from countersign.domain import ActionState, Verdict
from countersign.services.actions import ActionRequest, ActionService
from countersign.services.audit import verify
from countersign.services.decisions import DecisionService, UndoRefused
from countersign.store.engine import Store


def _request(store: Store, ref: str) -> int:
    action_id, _ = ActionService(store).request(ActionRequest(
        agent="refunds", action_class="issue_refund", arguments={"amount": 5},
        source_ref=ref))
    return action_id


def _events(store: Store, kind: str) -> int:
    from sqlalchemy import func, select

    from countersign.store.models import AuditEventRow

    with store.read() as session:
        return int(session.execute(
            select(func.count()).select_from(AuditEventRow).where(AuditEventRow.kind == kind)
        ).scalar_one())


def test_undo_inside_the_window_returns_the_action_to_pending(store: Store) -> None:
    decisions, actions = DecisionService(store), ActionService(store)
    action_id = _request(store, "a")
    decisions.decide(action_id, Verdict.APPROVE, reviewer="ann", hold_seconds=30)
    assert decisions.released(action_id) is None  # the agent does not see it yet
    assert decisions.undo(action_id, actor="ann") is True
    detail = actions.get(action_id)
    assert detail.state is ActionState.PENDING
    assert decisions.get(action_id) is None
    assert _events(store, "decision.undone") == 1
    # A new verdict can be given, and this one is released at once.
    decisions.decide(action_id, Verdict.REJECT, reviewer="ann", reason="wrong order")
    assert decisions.released(action_id) is not None
    assert verify(store).ok


def test_no_undo_once_released(store: Store) -> None:
    decisions = DecisionService(store)
    action_id = _request(store, "b")
    decisions.decide(action_id, Verdict.APPROVE, reviewer="ann")  # no hold: released
    with pytest.raises(UndoRefused, match="released"):
        decisions.undo(action_id, actor="ann")
    assert decisions.get(action_id) is not None
    assert _events(store, "decision.undone") == 0


def test_no_undo_after_delivery(store: Store) -> None:
    decisions = DecisionService(store)
    action_id = _request(store, "c")
    record = decisions.decide(action_id, Verdict.APPROVE, reviewer="ann", hold_seconds=30)
    decisions.mark_delivered(record.id, actor="source:x")
    with pytest.raises(UndoRefused):
        decisions.undo(action_id, actor="ann")
