"""`SourceContext.redeliver`: how a source re-queues a verdict its agent still waits on
(a LangGraph thread stranded by an older Countersign), on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from countersign.domain import ActionState, DeliveryState, Verdict
from countersign.plugin_api import ActionRequest, SourceContext
from countersign.services.actions import ActionService
from countersign.services.decisions import DecisionService
from countersign.store.engine import Store
from countersign.store.models import AuditEventRow

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _action(store: Store, ref: str, source: str = "lg") -> int:
    action_id, _ = ActionService(store).request(ActionRequest(
        agent="a", action_class="send_email", arguments={"to": "x"}, source=source,
        source_ref=ref))
    return action_id


def _requeued(store: Store) -> list[dict[str, object]]:
    with store.read() as session:
        rows = session.execute(select(AuditEventRow.payload_json).where(
            AuditEventRow.kind == "delivery.requeued").order_by(AuditEventRow.id)).all()
    return [json.loads(r[0]) for r in rows]


async def test_a_stale_verdict_is_requeued_once_and_delivered_ones_never(store: Store) -> None:
    decisions, context = DecisionService(store), SourceContext(store, "lg")
    stale = _action(store, "t/i1/0")
    decision = decisions.decide(stale, Verdict.APPROVE, reviewer="ann")
    decisions.mark_stale(decision.id, actor="source:lg", why="resumed elsewhere")
    assert not decisions.due_deliveries(["lg"])

    assert await context.redeliver(stale, reason="the thread still waits")
    record = decisions.get(stale)
    assert record is not None and record.delivery_state is DeliveryState.PENDING
    assert [row[2] for row in decisions.due_deliveries(["lg"])] == [stale]
    assert ActionService(store).get(stale).state is ActionState.DECIDED
    assert "the thread still waits" in (decisions.outbox_error(stale) or "")
    assert _requeued(store) == [{"action_id": stale, "previous": "stale",
                                 "reason": "the thread still waits"}]
    assert not await context.redeliver(stale)  # already pending: nothing to do

    decisions.mark_delivered(decision.id, actor="source:lg")
    assert not await context.redeliver(stale)  # never sent twice
    assert ActionService(store).get(stale).state is ActionState.DELIVERED
    assert len(_requeued(store)) == 1


async def test_failed_verdicts_requeue_and_other_sources_are_left_alone(store: Store) -> None:
    decisions = DecisionService(store)
    failed = _action(store, "t/i2/0")
    decision = decisions.decide(failed, Verdict.REJECT, reviewer="ann", reason="no")
    decisions.mark_failed(decision.id, actor="source:lg", why="HTTP 422")
    assert not await SourceContext(store, "other").redeliver(failed)
    undecided = _action(store, "t/i3/0")
    assert not await SourceContext(store, "lg").redeliver(undecided)
    assert await SourceContext(store, "lg").redeliver(failed)
    assert [e["previous"] for e in _requeued(store)] == ["failed"]
