"""Enforcement on the LangGraph source's path: what the source files through its
`SourceContext` is decided by the same policy, and the stored verdict becomes the
resume the worker sends (the real server is exercised in
tests/langgraph/test_autonomy_enforcement.py)."""

from __future__ import annotations

import asyncio

from countersign.domain import AutonomyLevel, Risk, Verdict
from countersign.domain.autonomy import UnitKey
from countersign.plugin_api import ActionRequest, SourceContext
from countersign.services.decisions import DecisionService
from countersign.store.engine import Store
from countersign_plugins.langgraph.payloads import InterruptedAction
from countersign_plugins.langgraph.verdicts import resume_decision

from .store_helpers import put_at

UNIT = UnitKey(agent="inbox", version="", action_class="send_email")
SPEC = InterruptedAction.model_validate({
    "thread_id": "t-1", "interrupt_id": "i-1", "index": 0, "count_in_interrupt": 1,
    "format": "hitl_middleware", "action_class": "send_email", "arguments": {"to": "a@example.com"},
    "allowed_verdicts": ["approve", "edit", "reject"]})


def _request(ref: str, risk: Risk) -> ActionRequest:
    return ActionRequest(agent=UNIT.agent, action_class=UNIT.action_class,
                         arguments={"to": "a@example.com"}, risk=risk, source_ref=ref,
                         allowed_verdicts=(Verdict.APPROVE, Verdict.EDIT, Verdict.REJECT))


def test_an_l2_units_low_risk_action_never_reaches_the_queue_its_critical_one_does(
        store: Store) -> None:
    put_at(store, AutonomyLevel.L2, UNIT)
    context = SourceContext(store, "langgraph")

    async def scenario() -> None:
        created = await context.request_actions([_request("t-1/i-1/0", Risk.LOW),
                                                 _request("t-2/i-2/0", Risk.CRITICAL)])
        (low, _), (critical, _) = created
        pending = await context.pending_refs()
        assert "t-1/i-1/0" not in pending and pending["t-2/i-2/0"] == critical
        decision = await context.decision(low)
        assert decision is not None and decision.verdict is Verdict.AUTO_APPROVE
        # What the worker sends when it delivers the outbox row: an approval.
        assert resume_decision(SPEC, decision).verdict == "approve"
        assert await context.decision(critical) is None

    asyncio.run(scenario())


def test_shadow_reaches_langgraph_as_a_rejection_that_says_so(store: Store) -> None:
    put_at(store, AutonomyLevel.L0, UNIT)
    context = SourceContext(store, "langgraph")

    async def scenario() -> None:
        action_id, _ = await context.request_action(_request("t-3/i-3/0", Risk.MEDIUM))
        decision = await context.decision(action_id)
        assert decision is not None and decision.verdict is Verdict.SHADOW
        resume = resume_decision(SPEC, decision)
        assert resume.verdict == "reject"
        assert resume.message is not None and "shadow mode (L0)" in resume.message

    asyncio.run(scenario())


def test_a_tripped_breaker_holds_the_sources_requests_too(store: Store) -> None:
    put_at(store, AutonomyLevel.L3, UNIT)
    from countersign.services.autonomy_service import AutonomyService

    AutonomyService(store).set_budget(UNIT.agent, {"repeats": 1}, actor="lena")
    context = SourceContext(store, "langgraph")

    async def scenario() -> None:
        first, _ = await context.request_action(_request("t-4/i-4/0", Risk.LOW))
        repeat, _ = await context.request_action(_request("t-5/i-5/0", Risk.LOW))
        again, _ = await context.request_action(_request("t-7/i-7/0", Risk.LOW))
        assert (await context.decision(first)) is not None  # auto-approved
        assert (await context.decision(repeat)) is not None  # one repeat is within budget
        assert (await context.decision(again)) is None  # the second repeat trips it
        other, _ = await context.request_action(
            _request("t-6/i-6/0", Risk.LOW).model_copy(update={"arguments": {"to": "b@x.org"}}))
        assert (await context.decision(other)) is None  # every request waits now

    asyncio.run(scenario())
    assert DecisionService(store).get(1) is None  # put_at's critical request still waits
