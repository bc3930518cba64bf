"""The gate refuses what it would otherwise change silently, and what can never be
honoured, each with an error naming the argument and the path inside it; nothing is
written then. (Data from other sources is still repaired and flagged: see
test_gate.py::test_text_from_other_sources_is_repaired_and_flagged.)"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from countersign.domain import SpanKind
from countersign.gate import Gate, GateInputError, Step
from countersign.jsonio import JsonInputError
from countersign.store.engine import Store
from countersign.store.models import ActionRow, AuditEventRow, SpanRow

from .helpers import REFUND_SCHEMA


def _nothing_written(store: Store) -> None:
    with store.read() as s:
        for table in (ActionRow, SpanRow, AuditEventRow):
            assert s.execute(select(func.count()).select_from(table)).scalar_one() == 0


def _refused(store: Store, **kwargs: Any) -> GateInputError:
    """Ask through the async and the blocking API: both refuse, the same way."""
    gate = Gate(store, agent="refunds-agent")
    request = {"action_class": "issue_refund", "arguments": {"order_id": "A-1"},
               "timeout": 30, **kwargs}
    try:
        with pytest.raises(GateInputError) as sync_refusal:
            gate.request_approval_sync(**request)
        # A guard, not a budget: before the fix these waited for ever.
        with pytest.raises(GateInputError) as async_refusal:
            asyncio.run(asyncio.wait_for(gate.request_approval(**request), timeout=60))
    finally:
        gate.close()
    assert str(sync_refusal.value) == str(async_refusal.value)
    assert isinstance(sync_refusal.value, JsonInputError | ValueError)
    _nothing_written(store)
    return sync_refusal.value


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), -1, -0.001, "30", True])
def test_a_timeout_that_cannot_pass_is_refused(sqlite_store: Store, timeout: Any) -> None:
    refusal = _refused(sqlite_store, timeout=timeout)
    assert str(refusal).startswith("timeout: ")
    assert refusal.argument == "timeout"


@pytest.mark.parametrize(("value", "path", "words"), [
    ({"amount": float("nan")}, "$.amount", "nan is not a JSON number"),
    ({"amount": float("inf")}, "$.amount", "inf is not a JSON number"),
    ({"lines": [1, float("-inf")]}, "$.lines[1]", "-inf is not a JSON number"),
    ({"blob": b"\xff\xfeok"}, "$.blob", "bytes is not JSON text"),
    ({"blob": bytearray(b"ok")}, "$.blob", "bytearray is not JSON text"),
    ({"ids": {1: "a", "1": "b"}}, '$.ids["1"]', "same in JSON"),
    ({"grid": {(0, 1): "x"}}, "$.grid", "the key (0, 1) is a tuple"),
    ({"flags": {True: "x"}}, "$.flags", "is a bool"),
    ({"name": "caf\udce9"}, "$.name", "not valid Unicode"),
])
def test_values_json_would_change_are_refused(sqlite_store: Store, value: dict[str, Any],
                                              path: str, words: str) -> None:
    refusal = _refused(sqlite_store, arguments=value)
    assert refusal.argument == "arguments" and refusal.path == path
    assert str(refusal).startswith(f"arguments at {path}: ")
    assert words in str(refusal)


def test_arguments_that_break_the_agents_own_schema_are_refused(sqlite_store: Store) -> None:
    refusal = _refused(sqlite_store, arguments={"order_id": "A-1001", "amount_cents": 15000},
                       schema=REFUND_SCHEMA)
    assert refusal.path == "$.amount_cents"
    assert "break the agent's own schema" in str(refusal) and "12000" in str(refusal)


@pytest.mark.parametrize(("schema", "named"), [
    ({"type": "strnig"}, "schema.type"),
    ({"type": "object", "properties": {"a": {"$ref": "http://127.0.0.1:9/a.json"}}},
     "http://127.0.0.1:9/a.json"),
    ({"$ref": "#"}, "refers to itself"),
    ({"type": "object", "maximum": float("nan")}, "schema at $.maximum"),
])
def test_a_schema_that_is_not_valid_is_refused(sqlite_store: Store, schema: dict[str, Any],
                                               named: str) -> None:
    refusal = _refused(sqlite_store, schema=schema)
    assert refusal.argument == "schema"
    assert named in str(refusal)


def test_negative_counts_in_steps_are_refused(sqlite_store: Store) -> None:
    with pytest.raises(ValidationError, match="prompt_tokens"):
        Step(name="plan", prompt_tokens=-5)
    with pytest.raises(ValidationError, match="cost"):
        Step(name="plan", cost=float("nan"))
    # A step built without validation (model_construct) or changed afterwards is
    # still caught by the gate, naming which step.
    sneaky = Step(name="plan", prompt_tokens=10)
    sneaky.completion_tokens = -3
    refusal = _refused(sqlite_store, reasoning=[Step(name="look"), sneaky])
    assert refusal.argument == "reasoning[1].completion_tokens"
    built = Step.model_construct(name="plan", prompt_tokens=-1)
    assert _refused(sqlite_store, reasoning=[built]).argument == "reasoning[0].prompt_tokens"


def test_what_a_step_shows_is_stored_exactly_or_refused(sqlite_store: Store) -> None:
    step = Step(kind=SpanKind.TOOL, name="lookup", tool_result={"total": float("nan")})
    refusal = _refused(sqlite_store, reasoning=[step])
    assert refusal.argument == "reasoning[0]" and refusal.path == "$.tool_result.total"


@pytest.mark.parametrize(("kwargs", "argument"), [
    ({"action_class": ""}, "action_class"),
    ({"action_class": "x" * 201}, "action_class"),
    ({"idempotency_key": "k" * 501}, "idempotency_key"),
])
def test_names_the_store_cannot_hold_are_refused(sqlite_store: Store, kwargs: dict[str, Any],
                                                 argument: str) -> None:
    assert _refused(sqlite_store, **kwargs).argument == argument
