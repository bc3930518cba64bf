"""Several workers on one store deliver each decision exactly once: outbox rows are
claimed (FOR UPDATE SKIP LOCKED on PostgreSQL, the writer lock on SQLite), a claim is
confirmed before sending, cleared on settle or retry, and lapses when its worker died."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from countersign.domain import DeliveryState, Verdict
from countersign.services.actions import ActionRequest, ActionService
from countersign.services.decisions import DecisionService
from countersign.store.engine import Store
from countersign.store.models import OutboxRow

from .delivery_worker import SOURCE

ROOT = Path(__file__).resolve().parents[2]
LEASE = 90.0


def _decided(store: Store, n: int, source: str = SOURCE) -> list[int]:
    """``n`` approved actions of ``source`` waiting in the outbox; their decision ids."""
    actions, decisions = ActionService(store), DecisionService(store)
    ids = []
    for _ in range(n):
        action_id, _ = actions.request(ActionRequest(
            agent="payments", action_class="pay", arguments={"cents": 100},
            source=source, source_ref=uuid.uuid4().hex))
        ids.append(decisions.decide(action_id, Verdict.APPROVE, reviewer="ann").id)
    return ids


def test_a_claimed_row_is_nobody_elses_until_it_settles_or_lapses(store: Store) -> None:
    decisions = DecisionService(store)
    [decision_id] = _decided(store, 1)
    now = time.time()
    [(outbox_id, claimed_decision, _, source)] = decisions.claim_deliveries(
        [SOURCE], worker="a", lease=LEASE, now=now)
    assert (claimed_decision, source) == (decision_id, SOURCE)
    assert decisions.claim_deliveries([SOURCE], worker="b", lease=LEASE, now=now) == []
    assert decisions.renew_claim(outbox_id, worker="a", lease=LEASE)
    assert not decisions.renew_claim(outbox_id, worker="b", lease=LEASE)
    # Worker a died: once its claim lapses, b takes the row, and a may not send it.
    later = time.time() + LEASE + 1
    assert [r[0] for r in decisions.claim_deliveries([SOURCE], worker="b", lease=LEASE,
                                                     now=later)] == [outbox_id]
    assert not decisions.renew_claim(outbox_id, worker="a", lease=LEASE)
    # A retry gives the row back to everyone; settling it takes it out for good.
    decisions.note_delivery_error(outbox_id, error="agent busy", backoff=lambda _: 0.0)
    assert [r[0] for r in decisions.claim_deliveries([SOURCE], worker="a",
                                                     lease=LEASE)] == [outbox_id]
    decisions.release_claims([outbox_id], worker="a")
    assert [r[0] for r in decisions.claim_deliveries([SOURCE], worker="b",
                                                     lease=LEASE)] == [outbox_id]
    assert decisions.mark_delivered(decision_id, actor="source:counting")
    assert decisions.claim_deliveries([SOURCE], worker="a", lease=LEASE, now=later) == []
    with store.read() as s:
        row = s.get(OutboxRow, outbox_id)
        assert row is not None and row.claimed_by is None and row.claimed_until is None


def _start_worker(url: str, log: Path) -> subprocess.Popen[str]:
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.core.delivery_worker", url, str(log)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    assert worker.stdout is not None
    assert worker.stdout.readline().strip() == "ready"
    return worker


def test_two_workers_deliver_each_decision_exactly_once(store_url: str, store: Store,
                                                        tmp_path: Path) -> None:
    expected = _decided(store, 60)
    log = tmp_path / "deliveries.log"
    workers = [_start_worker(store_url, log) for _ in range(2)]
    try:
        for worker in workers:  # both start on the same 60 due rows at once
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        deadline = time.monotonic() + 120  # a guard against a hang, not a budget
        while time.monotonic() < deadline:  # until the store says all were delivered
            with store.read() as s:
                waiting = s.execute(select(func.count()).select_from(OutboxRow).where(
                    OutboxRow.state == DeliveryState.PENDING.value)).scalar_one()
            if waiting == 0:
                break
            time.sleep(0.05)
        assert waiting == 0, f"{waiting} decisions were never delivered"
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
    lines = [line.split() for line in log.read_text().splitlines()]
    counts = Counter(int(decision) for decision, _ in lines)
    twice = {d: c for d, c in counts.items() if c > 1}
    assert twice == {}, f"delivered more than once: {twice}"
    assert sorted(counts) == sorted(expected)
    with store.read() as s:
        claimed = s.execute(select(func.count()).select_from(OutboxRow).where(
            OutboxRow.claimed_by.is_not(None))).scalar_one()
        delivered = s.execute(select(func.count()).select_from(OutboxRow).where(
            OutboxRow.state == DeliveryState.DELIVERED.value)).scalar_one()
    assert (claimed, delivered) == (0, 60)
