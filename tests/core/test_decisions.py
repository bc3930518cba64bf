"""DecisionService: one final verdict per action, written atomically, on both stores."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from countersign.domain import ActionState, DeliveryState, EditSeverity, Verdict
from countersign.jsonio import loads
from countersign.services import audit
from countersign.services.actions import ActionService, UnknownAction
from countersign.services.decisions import (
    AlreadyDecided,
    DecisionService,
    InvalidArguments,
    InvalidVerdict,
)
from countersign.store.engine import Store
from countersign.store.models import AuditEventRow, ChangeRow, DecisionRow, OutboxRow

from .helpers import request_refund


def _count(store: Store, model: type) -> int:
    with store.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def test_approve_writes_decision_state_outbox_audit_and_change(store: Store) -> None:
    action_id = request_refund(store)
    audit_before = _count(store, AuditEventRow)
    decision = DecisionService(store).decide(action_id, Verdict.APPROVE, reviewer="ann")
    assert decision.verdict is Verdict.APPROVE
    assert decision.delivery_state is DeliveryState.PENDING
    assert ActionService(store).get(action_id).state is ActionState.DECIDED
    assert ActionService(store).get(action_id).version == 2
    assert _count(store, OutboxRow) == 1
    assert _count(store, AuditEventRow) == audit_before + 1
    with store.read() as s:
        kinds = s.execute(select(ChangeRow.kind).where(ChangeRow.action_id == action_id)).all()
    assert [k[0] for k in kinds] == ["requested", "decided:approve"]
    assert audit.verify(store).ok


def test_second_decision_is_refused_naming_who_and_when(store: Store) -> None:
    action_id = request_refund(store)
    service = DecisionService(store)
    service.decide(action_id, Verdict.APPROVE, reviewer="ann")
    with pytest.raises(AlreadyDecided) as caught:
        service.decide(action_id, Verdict.REJECT, reviewer="bob", reason="too much")
    message = str(caught.value)
    assert "ann" in message and "approve" in message and "UTC" in message
    assert caught.value.decision is not None and caught.value.decision.reviewer == "ann"
    assert _count(store, DecisionRow) == 1


def test_edit_breaking_the_schema_names_the_field_and_writes_nothing(store: Store) -> None:
    action_id = request_refund(store)
    service = DecisionService(store)
    with pytest.raises(InvalidArguments) as caught:
        service.decide(action_id, Verdict.EDIT, reviewer="ann", severity=EditSeverity.MATERIAL,
                       arguments={"order_id": "A-1001", "amount_cents": 99999})
    assert "$.amount_cents" in str(caught.value)
    assert _count(store, DecisionRow) == 0
    assert ActionService(store).get(action_id).state is ActionState.PENDING
    fixed = service.decide(action_id, Verdict.EDIT, reviewer="ann",
                           severity=EditSeverity.MATERIAL,
                           arguments={"order_id": "A-1001", "amount_cents": 1999})
    assert loads(fixed.arguments_json or "null") == {"order_id": "A-1001", "amount_cents": 1999}
    assert fixed.severity is EditSeverity.MATERIAL


@pytest.mark.parametrize(
    ("verdict", "kwargs", "needle"),
    [
        (Verdict.REJECT, {}, "reason"),
        (Verdict.REJECT, {"reason": "   "}, "reason"),
        (Verdict.RESPOND, {}, "text"),
        (Verdict.EDIT, {"arguments": {"order_id": "A-1", "amount_cents": 5}}, "severity"),
        (Verdict.EDIT, {"severity": EditSeverity.COSMETIC}, "edited arguments"),
        (Verdict.APPROVE, {"arguments": {"x": 1}}, "only given with an edit"),
    ],
)
def test_incomplete_verdicts_are_refused(sqlite_store: Store, verdict: Verdict,
                                         kwargs: dict[str, object], needle: str) -> None:
    action_id = request_refund(sqlite_store)
    with pytest.raises(InvalidVerdict, match=needle):
        DecisionService(sqlite_store).decide(action_id, verdict, reviewer="ann", **kwargs)  # type: ignore[arg-type]
    assert _count(sqlite_store, DecisionRow) == 0


def test_verdicts_outside_the_allowed_set_are_refused(sqlite_store: Store) -> None:
    from countersign.services.actions import ActionRequest

    action_id, _ = ActionService(sqlite_store).request(ActionRequest(
        agent="a", action_class="send", arguments={}, source_ref="r1",
        allowed_verdicts=(Verdict.APPROVE, Verdict.REJECT)))
    with pytest.raises(InvalidVerdict, match="not allowed"):
        DecisionService(sqlite_store).decide(action_id, Verdict.RESPOND, reviewer="ann",
                                             response="hi")


def test_same_idempotency_key_returns_the_stored_decision(store: Store) -> None:
    action_id = request_refund(store)
    service = DecisionService(store)
    first = service.decide(action_id, Verdict.APPROVE, reviewer="ann", idempotency_key="k-1")
    again = service.decide(action_id, Verdict.APPROVE, reviewer="ann", idempotency_key="k-1")
    assert again.id == first.id
    assert _count(store, DecisionRow) == 1


def test_stale_version_is_refused(store: Store) -> None:
    action_id = request_refund(store)
    with pytest.raises(AlreadyDecided):
        DecisionService(store).decide(action_id, Verdict.APPROVE, reviewer="ann",
                                      expected_version=7)


def test_unknown_action(store: Store) -> None:
    with pytest.raises(UnknownAction):
        DecisionService(store).decide(4242, Verdict.APPROVE, reviewer="ann")


def test_deadline_expires_the_action_and_is_not_a_rejection(store: Store) -> None:
    due = request_refund(store, deadline=time.time() - 1)
    later = request_refund(store, deadline=time.time() + 3600)
    service = DecisionService(store)
    assert service.expire_due() == [due]
    decision = service.get(due)
    assert decision is not None and decision.verdict is Verdict.EXPIRE
    assert ActionService(store).get(due).state is ActionState.EXPIRED
    assert ActionService(store).get(later).state is ActionState.PENDING
    assert service.expire_due() == []


def test_acknowledgement_marks_delivered_once(store: Store) -> None:
    action_id = request_refund(store)
    service = DecisionService(store)
    decision = service.decide(action_id, Verdict.APPROVE, reviewer="ann")
    assert service.mark_delivered(decision.id, actor="agent:x") is True
    assert service.mark_delivered(decision.id, actor="agent:x") is False
    stored = service.get(action_id)
    assert stored is not None and stored.delivery_state is DeliveryState.DELIVERED
    assert ActionService(store).get(action_id).state is ActionState.DELIVERED
    assert audit.verify(store).ok


def test_request_is_idempotent_on_source_reference(store: Store) -> None:
    first = request_refund(store, ref="same")
    second = request_refund(store, ref="same", amount=1)
    assert first == second
    assert len(ActionService(store).queue_rows()) == 1


def test_a_withdrawn_action_asked_for_again_is_pending_again(store: Store) -> None:
    """An older Countersign withdrew a LangGraph interrupt that was still pending: when
    its source offers it again, the operator can answer it (same arguments, a new
    version, on the record), and the audit log still agrees with the rows."""
    actions = ActionService(store)
    action_id = request_refund(store, ref="thread-1/interrupt-2/0")
    assert actions.withdraw(action_id, reason="the run failed", actor="source:lg")
    assert request_refund(store, ref="thread-1/interrupt-2/0", amount=1) == action_id
    again = actions.get(action_id)
    assert again.state is ActionState.PENDING
    assert again.version == 3
    assert again.error is None
    assert loads(again.arguments_json) == {"order_id": "A-1001", "amount_cents": 4200}
    assert [r.id for r in actions.queue_rows()] == [action_id]
    with store.read() as s:
        kinds = s.execute(select(ChangeRow.kind).where(ChangeRow.action_id == action_id)
                          .order_by(ChangeRow.id)).scalars().all()
        events = s.execute(select(AuditEventRow.kind).where(
            AuditEventRow.subject_id == str(action_id)).order_by(AuditEventRow.id)).scalars()
        assert kinds == ["requested", "withdrawn", "revived"]
        assert list(events) == ["action.requested", "action.withdrawn", "action.revived"]
    assert audit.verify(store).ok
    DecisionService(store).decide(action_id, Verdict.APPROVE, reviewer="ann")
    # Asked for once more after the verdict: nothing changes (asking is idempotent).
    assert request_refund(store, ref="thread-1/interrupt-2/0") == action_id
    assert actions.get(action_id).state is ActionState.DECIDED
    assert audit.verify(store).ok


def test_withdrawn_action_cannot_be_decided(store: Store) -> None:
    action_id = request_refund(store)
    assert ActionService(store).withdraw(action_id, reason="resumed in Agent Inbox",
                                         actor="source:lg")
    with pytest.raises(AlreadyDecided, match="withdrawn"):
        DecisionService(store).decide(action_id, Verdict.APPROVE, reviewer="ann")
