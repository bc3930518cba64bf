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


def test_an_async_agent_never_sees_a_held_verdict(sqlite_store: Store) -> None:
    import asyncio
    import threading

    from countersign.gate import Gate

    gate = Gate(sqlite_store, agent="refunds", poll_interval=0.005)
    decisions = DecisionService(sqlite_store)
    polls = threading.Semaphore(0)
    real = gate.decisions.released_for

    def counting(action_ids: list[int]) -> dict[int, object]:
        found = real(action_ids)
        polls.release()
        return found  # type: ignore[return-value]

    gate.decisions.released_for = counting  # type: ignore[method-assign]

    async def scenario() -> str:
        agent = asyncio.create_task(gate.request_approval("issue_refund", {"amount": 5}))
        while not ActionService(sqlite_store).queue_rows():
            await asyncio.sleep(0.005)
        action_id = ActionService(sqlite_store).queue_rows()[0].id
        await asyncio.to_thread(decisions.decide, action_id, Verdict.APPROVE, reviewer="ann",
                                hold_seconds=30)
        for _ in range(5):  # the agent's poll runs several times while the verdict is held
            if agent.done() or not await asyncio.to_thread(polls.acquire, True, 5.0):
                break
        assert not agent.done(), "the agent acted on a verdict still held for undo"
        await asyncio.to_thread(decisions.undo, action_id, actor="ann")
        await asyncio.to_thread(decisions.decide, action_id, Verdict.REJECT, reviewer="ann",
                                reason="wrong order")
        return (await asyncio.wait_for(agent, 30)).outcome

    try:
        assert asyncio.run(scenario()) == "reject"
    finally:
        gate.close()
