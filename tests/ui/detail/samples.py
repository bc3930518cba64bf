"""A realistic action for the detail pane: a refund agent that read the conversation,
looked the order up, retrieved the refund policy and proposes ``issue_refund``. One
argument hides a right-to-left override, as an attacker's input would."""

from __future__ import annotations

import json
import time
from typing import Any

from countersign.domain import ActionDetail, ActionState, AutonomyLevel, Risk, SpanRecord, Verdict
from countersign.gate.steps import Document, Message, Step, root_span, steps_to_spans
from countersign.jsonio import canonical

TRACE = "0af7651916cd43dd8448eb211c80319c"

REFUND_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["order_id", "amount_cents", "currency", "reason"],
    "properties": {
        "order_id": {"type": "string", "pattern": "^ORD-[0-9]+$"},
        "amount_cents": {"type": "integer", "minimum": 1, "maximum": 50000},
        "currency": {"enum": ["EUR", "USD", "GBP"]},
        "reason": {"type": "string", "maxLength": 500},
        "notify": {"type": "object", "properties": {"email": {"type": "string"}}},
        "line_items": {"type": "array", "items": {"type": "object"}},
    },
    "additionalProperties": False,
}

REFUND_ARGUMENTS: dict[str, Any] = {
    "order_id": "ORD-88412",
    "amount_cents": 12999,
    "currency": "EUR",
    "reason": "Item arrived damaged (photo attached by customer); policy R-4 allows a full"
              " refund within 30 days.",
    "notify": {"email": "dana.k@example.com", "note": "Refund for invoice_\u202egpj.exe"},
    "line_items": [{"sku": "KB-201", "qty": 1, "unit_cents": 12999}],
}


def refund_spans(now_ns: int | None = None) -> tuple[list[SpanRecord], str]:
    """The reasoning chain and the id of the step that proposed the refund."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    root = root_span(TRACE, agent="refund-agent", name="handle_ticket #5521",
                     start_ns=now_ns - 9_000_000_000)
    steps = [
        Step(kind="llm", name="triage_ticket", model="gpt-4o-mini", provider="openai",
             prompt_tokens=812, completion_tokens=64, cost=0.00016, duration_s=1.2,
             messages=[Message(role="system", content="You are the refund agent of Acme."
                               " Follow policy R-1…R-9. Never refund more than paid."),
                       Message(role="user", content="My keyboard arrived with a cracked case."
                               " Order ORD-88412. I want my money back! <b>bold</b><img src=x>")],
             output_messages=[Message(role="assistant", content="", tool_calls=[
                 {"id": "call_1", "type": "function", "function": {
                     "name": "lookup_order", "arguments": '{"order_id": "ORD-88412"}'}}])]),
        Step(kind="tool", name="lookup_order", duration_s=0.31,
             tool_arguments={"order_id": "ORD-88412"},
             tool_result={"order_id": "ORD-88412", "paid_cents": 12999, "currency": "EUR",
                          "delivered": "2025-11-02", "customer": {"email": "dana.k@example.com",
                                                                  "tier": "gold"}}),
        Step(kind="retriever", name="search_policies", query="refund damaged item",
             duration_s=0.18, documents=[
                 Document(id="policy/R-4", score=0.912, content="R-4 Damaged goods: a full"
                          " refund is allowed within 30 days of delivery when the customer"
                          " provides evidence of damage."),
                 Document(id="policy/R-7", score=0.644, content="R-7 Refunds above 500 EUR"
                          " need a supervisor."),
                 Document(id="faq/shipping-12", score=0.301, content="Shipping damage claims"
                          " go to the carrier after the refund.")]),
        Step(kind="tool", name="fetch_photos", duration_s=2.0, error="TimeoutError: photo"
             " service did not answer within 2 s", tool_arguments={"ticket": 5521}),
        Step(kind="llm", name="decide_refund", model="gpt-4o", provider="openai",
             prompt_tokens=2310, completion_tokens=188, cost=0.0076, duration_s=2.4,
             messages=[Message(role="user", content="Order and policy attached. Decide.")],
             output_messages=[Message(role="assistant", content="The damage is covered by"
                                      " R-4. I will refund the full 129.99 EUR.", tool_calls=[
                 {"name": "issue_refund", "args": REFUND_ARGUMENTS}])]),
    ]
    spans = [root, *steps_to_spans(steps, trace_id=TRACE, parent_span_id=root.span_id,
                                   agent="refund-agent", end_ns=now_ns)]
    return spans, spans[-1].span_id


def refund_detail(span_id: str | None, *, arguments: Any = None,
                  deadline_in: float | None = 272.0, **changes: Any) -> ActionDetail:
    args = REFUND_ARGUMENTS if arguments is None else arguments
    fields: dict[str, Any] = {
        "id": 1042,
        "agent": "refund-agent",
        "agent_version": "1.4.2",
        "action_class": "issue_refund",
        "arguments_json": canonical(args),
        "arguments_schema": REFUND_SCHEMA,
        "description": "Refund the full price of ORD-88412: the keyboard arrived damaged and"
                       " policy R-4 covers it.",
        "risk": Risk.HIGH,
        "deadline": None if deadline_in is None else time.time() + deadline_in,
        "state": ActionState.PENDING,
        "version": 1,
        "created_at": time.time() - 40,
        "trace_id": TRACE,
        "span_id": span_id,
        "source": "langgraph",
        "source_ref": "thread-7f3/interrupt-2",
        "allowed_verdicts": (Verdict.APPROVE, Verdict.EDIT, Verdict.REJECT, Verdict.RESPOND),
        "autonomy_level": AutonomyLevel.L1,
        "error": None,
    }
    fields.update(changes)
    return ActionDetail(**fields)


def parsed(detail: ActionDetail) -> Any:
    return json.loads(detail.arguments_json)
