"""The audit chain: any change to any stored event is found and named."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, update

from countersign.cli import main
from countersign.domain import Verdict
from countersign.services import audit
from countersign.services.decisions import DecisionService
from countersign.store.engine import Store
from countersign.store.models import AuditEventRow

from .helpers import request_refund


def _fill(store: Store, n: int = 4) -> None:
    for i in range(n):
        action_id = request_refund(store, amount=100 + i)
        DecisionService(store).decide(action_id, Verdict.APPROVE, reviewer=f"r{i}")


def test_intact_chain_verifies(store: Store) -> None:
    _fill(store)
    result = audit.verify(store)
    assert result.ok and result.checked == 8


@pytest.mark.parametrize(
    "change",
    [
        {"payload_json": '{"verdict":"reject"}'},
        {"actor": "mallory"},
        {"ts_us": 1},
        {"kind": "decision.reject"},
        {"subject_id": "999"},
    ],
)
def test_any_field_change_is_found_at_that_event(store: Store, change: dict[str, object]) -> None:
    _fill(store)
    with store.write() as s:
        s.execute(update(AuditEventRow).where(AuditEventRow.id == 5).values(**change))
    result = audit.verify(store)
    assert result.first_bad == 5
    assert result.checked == 4


def test_rehashing_a_changed_event_still_breaks_the_next(store: Store) -> None:
    _fill(store)
    with store.write() as s:
        row = s.get(AuditEventRow, 3)
        assert row is not None
        row.actor = "mallory"
        row.hash = audit.event_hash(row.prev_hash, event_id=row.id, ts_us=row.ts_us,
                                    kind=row.kind, actor=row.actor,
                                    subject_type=row.subject_type, subject_id=row.subject_id,
                                    payload_json=row.payload_json)
    assert audit.verify(store).first_bad == 4


def test_deleted_events_are_found(store: Store) -> None:
    _fill(store)
    with store.write() as s:
        s.execute(delete(AuditEventRow).where(AuditEventRow.id == 6))
    assert audit.verify(store).first_bad == 6


def test_truncated_tail_is_found(store: Store) -> None:
    _fill(store)
    with store.write() as s:
        s.execute(delete(AuditEventRow).where(AuditEventRow.id >= 7))
    result = audit.verify(store)
    assert not result.ok and "deleted from the end" in (result.problem or "")


def test_cli_verify_exit_codes(sqlite_url: str, sqlite_store: Store,
                               capsys: pytest.CaptureFixture[str]) -> None:
    _fill(sqlite_store, 2)
    assert main(["--store", sqlite_url, "audit", "verify"]) == 0
    assert "4 events checked" in capsys.readouterr().out
    with sqlite_store.write() as s:
        s.execute(update(AuditEventRow).where(AuditEventRow.id == 2).values(actor="x"))
    assert main(["--store", sqlite_url, "audit", "verify"]) == 1
    assert "event 2" in capsys.readouterr().err
