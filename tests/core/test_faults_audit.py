"""`audit verify` catches what the hash chain alone cannot: a direct edit of the
``decisions`` or ``actions`` tables (naming the row), and — against a head kept
outside the database (`audit head`, ``--expect SEQ:HASH``) — a log whose tail was
deleted and whose head row was rewritten."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, insert, update

from countersign.cli import main
from countersign.domain import EditSeverity, Verdict
from countersign.services import audit
from countersign.services.actions import ActionService
from countersign.services.decisions import DecisionService
from countersign.store.engine import Store
from countersign.store.models import (
    ActionRow,
    AuditEventRow,
    AuditHeadRow,
    DecisionRow,
    OutboxRow,
)

from .helpers import request_refund


def _rows_problems(store: Store) -> list[str]:
    result = audit.verify(store)
    assert result.first_bad is None, result.problem  # the chain itself is intact
    assert result.rows is not None
    assert not result.ok
    return list(result.rows.problems)


def test_every_lifecycle_agrees_with_the_log(store: Store) -> None:
    """No false alarm: approve, edit, reject, delivered, stale and re-queued, undone,
    withdrawn and expired actions all verify."""
    decisions, actions = DecisionService(store), ActionService(store)
    a = request_refund(store)
    decisions.decide(a, Verdict.APPROVE, reviewer="ann")
    b = request_refund(store)
    edited = decisions.decide(b, Verdict.EDIT, reviewer="bo", severity=EditSeverity.MATERIAL,
                              arguments={"order_id": "A-1001", "amount_cents": 100})
    decisions.mark_delivered(edited.id, actor="agent:refunds")
    c = request_refund(store)
    rejected = decisions.decide(c, Verdict.REJECT, reviewer="cy", reason="no")
    decisions.mark_stale(rejected.id, actor="source:x", why="gone")
    decisions.requeue_delivery(c, actor="source:x", why="still waiting")
    d = request_refund(store)
    decisions.decide(d, Verdict.APPROVE, reviewer="di", hold_seconds=60)
    assert decisions.undo(d, actor="di")
    e = request_refund(store)
    actions.withdraw(e, reason="resumed elsewhere", actor="source:x")
    f = request_refund(store, deadline=1.0)
    assert decisions.expire_due() == [f]
    result = audit.verify(store)
    assert result.ok, result.rows
    assert result.rows is not None and result.rows.checked == 6


def test_a_rejection_turned_into_an_approval_is_caught(store: Store) -> None:
    action_id = request_refund(store)
    decision = DecisionService(store).decide(action_id, Verdict.REJECT, reviewer="ann",
                                             reason="amount too high")
    with store.write() as s:
        s.execute(update(DecisionRow).where(DecisionRow.id == decision.id)
                  .values(verdict="approve", reason=None))
    problems = _rows_problems(store)
    assert (f"decision {decision.id} of action {action_id}: its verdict is 'approve' but "
            "the audit log recorded 'reject'") in problems


def test_other_edited_arguments_are_caught(store: Store) -> None:
    action_id = request_refund(store)
    decision = DecisionService(store).decide(
        action_id, Verdict.EDIT, reviewer="ann", severity=EditSeverity.MATERIAL,
        arguments={"order_id": "A-1001", "amount_cents": 100})
    with store.write() as s:
        s.execute(update(DecisionRow).where(DecisionRow.id == decision.id).values(
            arguments_json='{"amount_cents":9999,"order_id":"A-1001"}'))
    [problem] = _rows_problems(store)
    assert problem.startswith(f"decision {decision.id} of action {action_id}: its edited "
                              "arguments")


@pytest.mark.parametrize(("change", "words"), [
    ({"state": "withdrawn"}, "its state is 'withdrawn' but the audit log says 'pending'"),
    ({"arguments_json": '{"amount_cents":1,"order_id":"A-1001"}'}, "its arguments differ"),
    ({"risk": "low"}, "its risk differ"),
])
def test_an_edited_action_row_is_caught(store: Store, change: dict[str, str],
                                        words: str) -> None:
    action_id = request_refund(store)
    with store.write() as s:
        s.execute(update(ActionRow).where(ActionRow.id == action_id).values(**change))
    [problem] = _rows_problems(store)
    assert problem.startswith(f"action {action_id}: ") and words in problem


def test_a_decision_written_into_the_table_is_caught(store: Store) -> None:
    action_id = request_refund(store)
    with store.write() as s:
        s.execute(update(ActionRow).where(ActionRow.id == action_id).values(state="decided"))
        s.execute(insert(DecisionRow).values(
            action_id=action_id, verdict="approve", reviewer="mallory", decided_at=1.0,
            idempotency_key="forged", delivery_state="pending"))
    problems = _rows_problems(store)
    assert any("(approve by mallory) has no audit event" in p for p in problems)
    assert any(f"action {action_id}: its state is 'decided'" in p for p in problems)


def test_a_deleted_decision_is_caught(store: Store) -> None:
    action_id = request_refund(store)
    decision = DecisionService(store).decide(action_id, Verdict.REJECT, reviewer="ann",
                                             reason="no")
    with store.write() as s:
        s.execute(delete(OutboxRow).where(OutboxRow.decision_id == decision.id))
        s.execute(delete(DecisionRow).where(DecisionRow.id == decision.id))
        s.execute(update(ActionRow).where(ActionRow.id == action_id).values(state="pending"))
    problems = _rows_problems(store)
    assert (f"action {action_id}: the audit log records decision {decision.id} (reject by "
            "ann) but the decisions table has none") in problems


def _note(store: Store, n: int) -> None:
    """Events that no table row mirrors (so deleting them leaves the rows agreeing)."""
    with store.write() as s:
        for i in range(n):
            audit.append(s, kind="test.note", actor="ops", subject_type="note",
                         subject_id=i, payload={"i": i})


def test_a_truncated_log_with_a_rewritten_head_fails_against_its_anchor(store: Store) -> None:
    action_id = request_refund(store)
    DecisionService(store).decide(action_id, Verdict.APPROVE, reviewer="ann")
    _note(store, 3)
    anchor = audit.head(store)
    assert anchor.sequence == 5
    with store.write() as s:
        kept = s.get(AuditEventRow, 3)
        assert kept is not None
        s.execute(delete(AuditEventRow).where(AuditEventRow.id > 3))
        s.execute(update(AuditHeadRow).where(AuditHeadRow.id == 1)
                  .values(last_id=3, last_hash=kept.hash))
    assert audit.verify(store).ok  # undetectable from inside the database
    result = audit.verify(store, expect=[anchor])
    assert not result.ok
    assert result.anchor_problem is not None
    assert "ends at event 3, but event 5 was recorded as its head" in result.anchor_problem


def test_a_rewritten_tail_fails_against_its_anchor(store: Store) -> None:
    _note(store, 2)
    anchor = audit.head(store)
    with store.write() as s:  # rewrite the last event and re-hash it consistently
        row = s.get(AuditEventRow, 2)
        assert row is not None
        row.payload_json = '{"i":42}'
        row.hash = audit.event_hash(row.prev_hash, event_id=row.id, ts_us=row.ts_us,
                                    kind=row.kind, actor=row.actor,
                                    subject_type=row.subject_type, subject_id=row.subject_id,
                                    payload_json=row.payload_json)
        s.execute(update(AuditHeadRow).where(AuditHeadRow.id == 1).values(last_hash=row.hash))
    assert audit.verify(store).ok
    result = audit.verify(store, expect=[anchor])
    assert result.anchor_problem is not None and "was rewritten" in result.anchor_problem


def test_cli_head_and_expect(sqlite_url: str, sqlite_store: Store,
                             capsys: pytest.CaptureFixture[str]) -> None:
    action_id = request_refund(sqlite_store)
    DecisionService(sqlite_store).decide(action_id, Verdict.REJECT, reviewer="ann",
                                         reason="no")
    _note(sqlite_store, 2)
    assert main(["--store", sqlite_url, "audit", "head"]) == 0
    anchor = capsys.readouterr().out.strip()
    assert anchor == audit.head(sqlite_store).anchor and anchor.startswith("4:")
    assert main(["--store", sqlite_url, "audit", "head", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["anchor"] == anchor
    assert main(["--store", sqlite_url, "audit", "verify", "--expect", anchor]) == 0
    assert "1 recorded head(s) found" in capsys.readouterr().out
    assert main(["--store", sqlite_url, "audit", "verify", "--expect", "4:nothex"]) == 2
    assert "SEQ:HASH" in capsys.readouterr().err
    with sqlite_store.write() as s:
        s.execute(delete(AuditEventRow).where(AuditEventRow.id > 2))
        kept = s.get(AuditEventRow, 2)
        assert kept is not None
        s.execute(update(AuditHeadRow).values(last_id=2, last_hash=kept.hash))
        s.execute(update(DecisionRow).values(verdict="approve", reason=None))
    assert main(["--store", sqlite_url, "audit", "verify", "--expect", anchor]) == 1
    err = capsys.readouterr().err
    assert "event 4 was recorded as its head" in err
    assert "its verdict is 'approve' but the audit log recorded 'reject'" in err
