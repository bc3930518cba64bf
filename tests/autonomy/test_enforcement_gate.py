"""Enforcement on the gate SDK's path: an auto-approved action comes back at once (no
poll), shadow comes back at once as "shadow", a critical action waits for a person."""

from __future__ import annotations

import asyncio

from countersign.domain import AutonomyLevel, DeliveryState, Verdict
from countersign.gate import Gate
from countersign.services.actions import ActionService
from countersign.services.decisions import DecisionService
from countersign.store.engine import Store

from .store_helpers import AGENT, CLASS, VERSION, put_at


def _gate(store: Store) -> Gate:
    return Gate(store, agent=AGENT, agent_version=VERSION, poll_interval=0.01)


def test_an_auto_approved_action_is_approved_at_once_and_acknowledged(store: Store) -> None:
    put_at(store, AutonomyLevel.L2)
    gate = _gate(store)

    async def ask() -> None:
        verdict = await gate.request_approval(CLASS, {"order": "A-7"}, risk="low", timeout=30)
        assert verdict.approved and verdict.outcome == "approve"
        assert verdict.decided_by == "policy:autonomy@1"
        assert verdict.arguments == {"order": "A-7"}
        assert gate._poller is None  # answered by the request itself, never polled
        decision = DecisionService(store).get(verdict.action_id)
        assert decision is not None and decision.verdict is Verdict.AUTO_APPROVE
        assert decision.delivery_state is DeliveryState.DELIVERED

    try:
        asyncio.run(ask())
        sync = gate.request_approval_sync(CLASS, {"order": "A-8"}, risk="medium", timeout=30)
        assert sync.approved and sync.decided_by.startswith("policy:autonomy@")
    finally:
        gate.close()


def test_shadow_tells_the_agent_not_to_execute(store: Store) -> None:
    put_at(store, AutonomyLevel.L0)
    gate = _gate(store)
    try:
        verdict = gate.request_approval_sync(CLASS, {"order": "A-9"}, risk="low", timeout=30)
    finally:
        gate.close()
    assert verdict.shadow and not verdict.approved
    assert verdict.reason is not None and "must not be executed" in verdict.reason


def test_a_critical_action_of_an_l3_unit_waits_for_a_person(store: Store) -> None:
    put_at(store, AutonomyLevel.L3)
    gate = _gate(store)
    actions, decisions = ActionService(store), DecisionService(store)

    before = {row.id for row in actions.queue_rows()}

    async def scenario() -> None:
        asking = asyncio.create_task(gate.request_approval(
            CLASS, {"order": "A-10"}, risk="critical", timeout=30))
        while not (new := [r for r in actions.queue_rows() if r.id not in before]):
            assert not asking.done(), asking  # waits for it to reach the Queue
            await asyncio.sleep(0.01)
        assert not asking.done()
        decisions.decide(new[0].id, Verdict.APPROVE, reviewer="olga")
        verdict = await asking
        assert verdict.decided_by == "olga"

    try:
        asyncio.run(scenario())
    finally:
        gate.close()
