"""The gate SDK as an agent uses it: ask, wait, receive exactly the stored verdict."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

from countersign.domain import ActionState, DeliveryState, EditSeverity, SpanKind, Verdict
from countersign.gate import Gate, Message, Step
from countersign.jsonio import MAX_DEPTH, JsonInputError
from countersign.services.actions import ActionService
from countersign.services.decisions import DecisionService
from countersign.store.engine import Store

from .helpers import REFUND_SCHEMA


async def _decide_when_pending(store: Store, verdict: Verdict, **kwargs: object) -> int:
    actions = ActionService(store)
    for _ in range(200):
        rows = await asyncio.to_thread(actions.queue_rows)
        if rows:
            await asyncio.to_thread(DecisionService(store).decide, rows[0].id, verdict,
                                    reviewer="ann", **kwargs)
            return rows[0].id
        await asyncio.sleep(0.02)
    raise AssertionError("the request never reached the queue")


def test_edit_reaches_the_agent_with_the_edited_arguments(store: Store) -> None:
    gate = Gate(store, agent="refunds-agent", agent_version="1.4.2")

    async def scenario() -> None:
        ask = asyncio.create_task(gate.request_approval(
            "issue_refund", {"order_id": "A-1001", "amount_cents": 12000},
            schema=REFUND_SCHEMA, risk="high", timeout=30,
            reasoning=[
                Step(name="plan", messages=[Message(role="user", content="Blender broke")],
                     model="gpt-4o", prompt_tokens=812, completion_tokens=95, cost=0.004,
                     duration_s=1.2),
                Step(kind=SpanKind.TOOL, name="lookup_order", tool_arguments={"id": "A-1001"},
                     tool_result={"total_cents": 12000}, duration_s=0.1),
            ]))
        action_id = await _decide_when_pending(
            store, Verdict.EDIT, severity=EditSeverity.MATERIAL,
            arguments={"order_id": "A-1001", "amount_cents": 6000})
        verdict = await ask
        assert verdict.outcome == "edit" and verdict.approved
        assert verdict.arguments == {"order_id": "A-1001", "amount_cents": 6000}
        assert verdict.original_arguments["amount_cents"] == 12000
        assert verdict.severity == "material" and verdict.decided_by == "ann"
        stored = DecisionService(store).get(action_id)
        assert stored is not None and stored.delivery_state is DeliveryState.DELIVERED
        detail = ActionService(store).get(action_id)
        assert detail.state is ActionState.DELIVERED
        spans = ActionService(store).spans(detail.trace_id or "")
        assert [s.name for s in spans][1:] == ["plan", "lookup_order"]
        assert detail.span_id == spans[-1].span_id
        assert spans[1].prompt_tokens == 812 and spans[1].parent_span_id == spans[0].span_id

    asyncio.run(scenario())
    gate.close()


@pytest.mark.parametrize(
    ("verdict", "kwargs", "outcome", "field", "value"),
    [
        (Verdict.REJECT, {"reason": "order total is lower"}, "reject", "reason",
         "order total is lower"),
        (Verdict.RESPOND, {"response": "ask the customer first"}, "respond", "response",
         "ask the customer first"),
        (Verdict.APPROVE, {}, "approve", "reason", None),
    ],
)
def test_each_verdict_reaches_the_agent(store: Store, verdict: Verdict, kwargs: dict[str, str],
                                        outcome: str, field: str, value: str | None) -> None:
    gate = Gate(store, agent="a")

    async def scenario() -> None:
        ask = asyncio.create_task(gate.request_approval("send_email", {"to": "x@y.z"},
                                                        timeout=30))
        await _decide_when_pending(store, verdict, **kwargs)
        got = await ask
        assert got.outcome == outcome
        assert getattr(got, field) == value
        assert got.arguments == {"to": "x@y.z"}

    asyncio.run(scenario())


def test_deadline_comes_back_as_expired_not_rejected(sqlite_store: Store) -> None:
    gate = Gate(sqlite_store, agent="a")
    started = time.monotonic()
    verdict = asyncio.run(gate.request_approval("deploy", {"env": "prod"}, timeout=0.3))
    assert verdict.outcome == "expired" and verdict.expired and not verdict.approved
    assert verdict.reason is None
    assert time.monotonic() - started < 5
    detail = ActionService(sqlite_store).get(verdict.action_id)
    assert detail.state is ActionState.EXPIRED


def test_same_idempotency_key_is_the_same_action(sqlite_store: Store) -> None:
    gate = Gate(sqlite_store, agent="a")

    async def scenario() -> None:
        first = asyncio.create_task(gate.request_approval("x", {"n": 1}, idempotency_key="k",
                                                          timeout=30))
        await asyncio.sleep(0.2)
        again = asyncio.create_task(gate.request_approval("x", {"n": 1}, idempotency_key="k",
                                                          timeout=30))
        await _decide_when_pending(sqlite_store, Verdict.APPROVE)
        a, b = await first, await again
        assert a.action_id == b.action_id and a.decision_id == b.decision_id

    asyncio.run(scenario())
    assert len(ActionService(sqlite_store).queue_rows(states=())) == 1


def test_sync_wrapper(sqlite_store: Store) -> None:
    gate = Gate(sqlite_store, agent="sync-agent")
    results = []
    worker = threading.Thread(target=lambda: results.append(
        gate.request_approval_sync("x", {"n": 1}, timeout=30)))
    worker.start()
    asyncio.run(_decide_when_pending(sqlite_store, Verdict.REJECT, reason="no"))
    worker.join(10)
    assert results and results[0].outcome == "reject" and results[0].reason == "no"


def test_hostile_but_valid_arguments_are_stored_exactly(sqlite_store: Store) -> None:
    gate = Gate(sqlite_store, agent="a")

    async def scenario() -> None:
        args = {"html": "<b>x</b><script>1</script>", "bidi": "invoice\u202egpj.exe",
                "big": "x" * 3_000_000, "int_key": {1: "one"}}
        ask = asyncio.create_task(gate.request_approval("upload", args, timeout=30))
        action_id = await _decide_when_pending(sqlite_store, Verdict.APPROVE)
        verdict = await ask
        detail = ActionService(sqlite_store).get(action_id)
        assert detail.ingest_warnings == ()
        assert verdict.arguments["html"] == "<b>x</b><script>1</script>"
        assert verdict.arguments["bidi"] == "invoice\u202egpj.exe"
        assert len(verdict.arguments["big"]) == 3_000_000
        assert verdict.arguments["int_key"] == {"1": "one"}  # as json.dumps sends it

    asyncio.run(scenario())


def test_text_from_other_sources_is_repaired_and_flagged(sqlite_store: Store) -> None:
    """A source's JSON may hold a lone surrogate ("\\udcff" is valid JSON): the store
    cannot keep it, so it is shown as an escape and the action says so. (The gate
    refuses such values instead: see test_faults_gate_values.py.)"""
    from countersign.services.actions import ActionRequest

    action_id, _ = ActionService(sqlite_store).request(ActionRequest(
        agent="lg", action_class="upload", source="langgraph", source_ref="r1",
        arguments=json.loads('{"lone": "a\\udcffb", "nan": NaN}')))
    detail = ActionService(sqlite_store).get(action_id)
    assert any("$.lone" in w for w in detail.ingest_warnings)
    assert any("$.nan" in w for w in detail.ingest_warnings)
    assert json.loads(detail.arguments_json) == {"lone": "a\\xffb", "nan": "nan"}


def test_too_deep_arguments_are_refused_with_the_path(sqlite_store: Store) -> None:
    gate = Gate(sqlite_store, agent="a")
    deep: dict[str, object] = {}
    node = deep
    for _ in range(MAX_DEPTH + 5):
        child: dict[str, object] = {}
        node["k"] = child
        node = child
    with pytest.raises(JsonInputError, match=r"\$\.k\.k.*nested deeper"):
        asyncio.run(gate.request_approval("x", deep, timeout=1))
    assert ActionService(sqlite_store).queue_rows(states=()) == []


def test_asking_again_returns_the_stored_run(sqlite_store: Store) -> None:
    gate = Gate(sqlite_store, agent="a")

    async def scenario() -> None:
        first = asyncio.create_task(gate.request_approval(
            "x", {}, idempotency_key="same", timeout=30, reasoning=[Step(name="think")]))
        await asyncio.sleep(0.2)
        again = asyncio.create_task(gate.request_approval(
            "x", {}, idempotency_key="same", timeout=30, reasoning=[Step(name="think")]))
        await _decide_when_pending(sqlite_store, Verdict.APPROVE)
        a, b = await first, await again
        assert a.run == b.run
        spans = ActionService(sqlite_store).spans(a.run.trace_id if a.run else "")
        assert [s.name for s in spans] == ["a: x", "think"]

    asyncio.run(scenario())


def test_format_is_checked_in_edits(sqlite_store: Store) -> None:
    from countersign.services.actions import ActionRequest
    from countersign.services.decisions import InvalidArguments

    action_id, _ = ActionService(sqlite_store).request(ActionRequest(
        agent="mail", action_class="send_email", arguments={"to": "ann@example.com"},
        arguments_schema={"type": "object", "properties": {"to": {"type": "string",
                                                                  "format": "email"}}},
        source_ref="m1"))
    with pytest.raises(InvalidArguments, match=r"\$\.to"):
        DecisionService(sqlite_store).decide(action_id, Verdict.EDIT, reviewer="ann",
                                             severity=EditSeverity.MATERIAL,
                                             arguments={"to": "not-an-email"})
