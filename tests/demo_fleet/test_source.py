"""The demo fleet as a live source under the runtime: it fills the queue, respects
``max_pending``, hears verdicts, and stops cleanly."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from countersign.domain import ActionState, DeliveryState, Verdict
from countersign.plugin_api import Source
from countersign.runtime import Runtime, SourceStatus
from countersign.services.actions import ActionService
from countersign.services.decisions import DecisionService
from countersign.store.engine import Store
from countersign_plugins.demo_fleet.agents import PROFILES
from countersign_plugins.demo_fleet.source import DemoFleetConfig, DemoFleetSource


async def _until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if await asyncio.to_thread(check):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


def test_config_defaults_and_validation() -> None:
    cfg = DemoFleetSource().config
    assert (cfg.agents, cfg.seed, cfg.rate_per_minute, cfg.max_pending, cfg.deadline_s,
            cfg.burst) == (6, 7, 12.0, 40, 900.0, 8)
    assert DemoFleetSource("d", {"agents": 2}).config.agents == 2
    assert DemoFleetSource("d", DemoFleetConfig(seed=1)).config.seed == 1
    with pytest.raises(ValidationError):
        DemoFleetSource("d", {"agentz": 2})
    assert isinstance(DemoFleetSource(), Source)


def test_runtime_runs_the_fleet_and_stops_it_cleanly(sqlite_store: Store) -> None:
    source = DemoFleetSource("demo", {"burst": 6, "rate_per_minute": 6000, "max_pending": 9,
                                      "poll_interval": 0.02, "deadline_s": 60})
    runtime = Runtime(sqlite_store, [source], expiry_interval=0.05, delivery_interval=0.05)
    actions, decisions = ActionService(sqlite_store), DecisionService(sqlite_store)

    async def scenario() -> None:
        await runtime.start()
        await _until(lambda: actions.count() >= 9)
        assert runtime.health["demo"].status is SourceStatus.RUNNING
        # At 100 tasks a second the scheduler keeps trying: wait until it was held back
        # by max_pending many times, then only max_pending may be waiting.
        await _until(lambda: source.held_back >= 20)
        assert actions.count() <= 9
        assert set(actions.agents()) == {p.name for p in PROFILES}
        # A verdict reaches the agent, which acts, acknowledges, and frees a slot.
        first = actions.queue_rows()[0]
        decisions.decide(first.id, Verdict.APPROVE, reviewer="olga")

        def delivered() -> bool:
            decision = decisions.get(first.id)
            return decision is not None and decision.delivery_state is DeliveryState.DELIVERED

        await _until(delivered)
        assert actions.get(first.id).state is ActionState.DELIVERED
        await _until(lambda: len(actions.queue_rows(states=())) >= 10)
        detail = actions.get(first.id)
        assert len(actions.spans(detail.trace_id or "")) >= 4
        await runtime.stop()

    asyncio.run(scenario())
    assert runtime.health["demo"].status is SourceStatus.STOPPED
    assert source.fleet is None
    assert not source._tasks  # every agent task was cancelled and awaited: none runs on
