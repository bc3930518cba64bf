"""Autonomy levels on a real `langgraph dev` server (issue 13): an L2 unit's action is
auto-approved in the request's transaction and the worker resumes the interrupt itself
through the outbox, with no person; an L0 unit's graph hears a rejection that says the
action was only recorded for review."""

from __future__ import annotations

import pytest

from countersign.domain import AutonomyLevel, DeliveryState, Verdict
from countersign.domain.autonomy import UnitKey
from countersign.services.autonomy import SHADOW_MESSAGE
from tests.autonomy.store_helpers import put_at

from .console import Console, wait_for
from .test_client import EMAIL

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _action_of(console: Console, thread_id: str) -> int | None:
    """The action the source filed for the thread's interrupt (any state)."""
    rows = console.actions.queue_rows(states=())
    return next((r.id for r in rows
                 if console.actions.get(r.id).source_ref.startswith(f"{thread_id}/")), None)


async def test_an_l2_units_action_runs_without_a_person(console: Console) -> None:
    put_at(console.store, AutonomyLevel.L2,
           UnitKey(agent="inbox", version="", action_class="send_email"))
    thread = await console.thread("inbox", [EMAIL])
    assert await console.values(thread, "executed") == [EMAIL]
    action_id = await wait_for(lambda: _action_of(console, thread))
    decision = await console.settled(action_id)
    assert decision.verdict is Verdict.AUTO_APPROVE
    assert decision.reviewer == "policy:autonomy@1"
    assert decision.delivery_state is DeliveryState.DELIVERED


async def test_an_l0_units_graph_is_told_not_to_execute(console: Console) -> None:
    put_at(console.store, AutonomyLevel.L0,
           UnitKey(agent="hitl", version="", action_class="send_email"))
    thread = await console.thread("hitl", [EMAIL])
    assert await console.values(thread, "rejected") == [
        {"name": "send_email", "message": SHADOW_MESSAGE}]
    action_id = await wait_for(lambda: _action_of(console, thread))
    assert (await console.settled(action_id)).verdict is Verdict.SHADOW
