"""Budgets and circuit breakers (issue 13): a request that crosses a budget trips the
breaker in its own transaction, every later request of the agent waits for a person
whatever its level, and a lead's reset brings the level back; all audited."""

from __future__ import annotations

import time

import pytest

from countersign.domain import AutonomyLevel, Risk
from countersign.gate.steps import Step, new_trace_id, root_span, steps_to_spans
from countersign.services.autonomy_service import AutonomyService
from countersign.services.budgets import BudgetError
from countersign.store.engine import Store

from .store_helpers import AGENT, ask, audit_kinds, put_at


def test_actions_per_minute_trip_the_breaker_and_a_reset_lifts_it(store: Store) -> None:
    put_at(store, AutonomyLevel.L3)  # one critical request already counts this minute
    service = AutonomyService(store)
    service.set_budget(AGENT, {"actions_per_minute": 3}, actor="lena")
    results = [ask(store)[1] for _ in range(4)]
    assert [d is not None for d in results] == [True, True, False, False]
    (trip,) = service.tripped()
    assert trip.budget == "actions_per_minute" and trip.limit == 3 and trip.observed == 4
    assert trip.figures == {"actions_per_minute": 4.0} and trip.action_id is not None
    _, actor, payload = audit_kinds(store, "breaker.tripped")[-1]
    assert actor == "policy:budgets" and payload["figures"]["actions_per_minute"] == 4
    (status,) = service.budgets()
    assert status.trip is not None and status.trip.id == trip.id
    with pytest.raises(BudgetError, match="lead"):
        service.reset_breaker(AGENT, lead=" ")
    service.set_budget(AGENT, {"actions_per_minute": 100}, actor="lena")
    reset = service.reset_breaker(AGENT, lead="lena", reason="fixed the retry loop")
    assert reset.reset_by == "lena" and not reset.open
    assert service.tripped() == []
    assert ask(store)[1] is not None  # back to L3
    assert audit_kinds(store, "breaker.reset")[-1][2]["reason"] == "fixed the retry loop"


def test_repeats_of_the_same_request_show_the_run_of_the_loop(store: Store) -> None:
    put_at(store, AutonomyLevel.L2)
    service = AutonomyService(store)
    service.set_budget(AGENT, {"repeats": 2}, actor="lena")
    loop = new_trace_id()
    same = {"order": "A-1", "amount": 1250}
    assert ask(store, arguments={"order": "A-2"})[1] is not None
    decisions = [ask(store, arguments=same, trace_id=loop)[1] for _ in range(4)]
    assert [d is not None for d in decisions] == [True, True, True, False]
    (trip,) = service.tripped()
    assert trip.budget == "repeats" and trip.observed == 3 and trip.trace_id == loop
    # Another request of the agent, any arguments, any risk: it waits too.
    assert ask(store, arguments={"order": "A-3"})[1] is None
    assert len(service.tripped()) == 1  # crossing again does not trip it twice


def test_tokens_per_hour_come_from_the_agents_runs(store: Store) -> None:
    put_at(store, AutonomyLevel.L2)
    service = AutonomyService(store)
    service.set_budget(AGENT, {"tokens_per_hour": 1_000}, actor="lena")

    def with_tokens(tokens: int) -> tuple[str, tuple[object, ...]]:
        trace = new_trace_id()
        root = root_span(trace, agent=AGENT, name="run", start_ns=time.time_ns() - 10**9)
        spans = steps_to_spans([Step(name="plan", model="m", prompt_tokens=tokens,
                                     completion_tokens=0, duration_s=0.5)],
                               trace_id=trace, parent_span_id=root.span_id, agent=AGENT)
        return trace, (root, *spans)

    trace, reasoning = with_tokens(600)
    assert ask(store, trace_id=trace, reasoning=reasoning)[1] is not None
    trace, reasoning = with_tokens(600)
    assert ask(store, trace_id=trace, reasoning=reasoning)[1] is None
    (trip,) = service.tripped()
    assert trip.budget == "tokens_per_hour" and trip.observed == 1_200
    assert trip.trace_id is not None
    (status,) = service.budgets()
    assert status.figures["tokens_per_hour"] == 1_200
    assert status.figures["cost_per_hour"] is None  # no run carried a cost: unknown


def test_budgets_that_make_no_sense_are_refused_naming_the_setting(store: Store) -> None:
    service = AutonomyService(store)
    for limits, name in (({"actions_per_minute": -1}, "actions-per-minute"),
                         ({"tokens_per_hour": 1.5}, "tokens-per-hour"),
                         ({"cost_per_hour": float("nan")}, "cost-per-hour"),
                         ({"retries": 3}, "retries")):
        with pytest.raises(BudgetError, match=name):
            service.set_budget(AGENT, limits, actor="lena")
    assert service.budget(AGENT) is None
    budget = service.set_budget(AGENT, {"cost_per_hour": 2.5, "repeats": 4}, actor="lena")
    assert (budget.cost_per_hour, budget.repeats, budget.actions_per_minute) == (2.5, 4, None)
    budget = service.set_budget(AGENT, {"repeats": 0}, actor="lars")  # 0 removes it
    assert budget.repeats is None and budget.cost_per_hour == 2.5
    assert budget.updated_by == "lars"
    before, after = (audit_kinds(store, "budget.set")[-1][2][k] for k in ("before", "after"))
    assert before["repeats"] == 4 and after["repeats"] is None


def test_the_breaker_wins_over_every_level_critical_or_not(store: Store) -> None:
    put_at(store, AutonomyLevel.L0)
    service = AutonomyService(store)
    service.set_budget(AGENT, {"actions_per_minute": 1}, actor="lena")
    action_id, decision = ask(store, risk=Risk.LOW)  # crosses: no shadow answer either
    assert decision is None
    assert service.tripped()[0].action_id == action_id
