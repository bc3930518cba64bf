"""Realistic runs for the inspector's tests and benchmark: an agent loop of
LLM → tool (→ HTTP call) → retrieval iterations with KB-sized messages, a few failures,
a retry loop and an action proposed near the end."""

from __future__ import annotations

import json
import random

from countersign.domain import SpanKind, SpanRecord

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
T0 = 1_763_700_000_000_000_000
_WORDS = ("refund", "order", "customer", "policy", "damaged", "invoice", "shipping",
          "carrier", "ticket", "amount", "account", "review", "approve", "balance", "ledger",
          "escalate", "supervisor", "evidence", "photo", "delivery", "warranty")


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words))


def agent_loop(iterations: int = 2000, *, seed: int = 7, words: int = 120,
               retry_loop: int = 7, trace_id: str = TRACE, start_ns: int = T0,
               agent: str = "refund-agent", name: str = "handle_ticket",
               root_status: str = "ok") -> tuple[list[SpanRecord], str]:
    """``1 + 5 × iterations`` spans and the id of the span that proposed the action
    (the last iteration's tool call). Iteration 3 retries ``call_llm`` ``retry_loop``
    times, each attempt but the last failing. The root span (whose status is the
    run's) ends with ``root_status``."""

    def _span(span_id: str, parent: str | None, name: str, kind: SpanKind, start: int,
              duration: int, **fields: object) -> SpanRecord:
        return SpanRecord(trace_id=trace_id, span_id=span_id, parent_span_id=parent,
                          name=name, kind=kind, start_ns=start, end_ns=start + duration,
                          status_code=str(fields.pop("status_code", "ok")),
                          status_message=fields.pop("status_message", None),  # type: ignore[arg-type]
                          agent_name=agent, **fields)  # type: ignore[arg-type]

    rng = random.Random(seed)
    spans: list[SpanRecord] = []
    root = "a" * 16
    clock = start_ns
    proposer = ""
    for i in range(iterations):
        step = f"{i:08x}f0000000"
        begin = clock
        children: list[SpanRecord] = []
        attempts = retry_loop + 1 if i == 3 else 1
        for attempt in range(attempts):
            failed = attempt < attempts - 1
            span_id = f"{i:08x}1{attempt:07x}"
            content = _text(rng, words)
            children.append(_span(
                span_id, step, "call_llm", SpanKind.LLM, clock, 900_000_000 + rng.randrange(
                    400_000_000), model="gpt-4o", provider="openai",
                prompt_tokens=1200 + rng.randrange(800), completion_tokens=80 + rng.randrange(200),
                cost=0.004 + rng.random() / 500,
                status_code="error" if failed else "ok",
                status_message="RateLimitError: 429 Too Many Requests" if failed else None,
                error_type="RateLimitError" if failed else None,
                input_json=json.dumps({"messages": [
                    {"role": "system", "content": "You are the refund agent.", "tool_calls": []},
                    {"role": "user", "content": content, "tool_calls": []}]}),
                output_json=None if failed else json.dumps({"messages": [
                    {"role": "assistant", "content": _text(rng, words // 4), "tool_calls": [
                        {"id": f"call_{i}", "name": "lookup_order",
                         "arguments": {"order_id": f"ORD-{i}"}}]}]}),
                attributes_json=json.dumps({"llm.model_name": "gpt-4o", "iteration": i}),
                events_json=json.dumps([{"name": "exception", "time_ns": clock + 800_000_000,
                                         "attributes": {"exception.type": "RateLimitError",
                                                        "exception.message": "429",
                                                        "exception.stacktrace": "Traceback…"}}])
                if failed else "[]"))
            clock += 1_000_000_000
        tool_id = f"{i:08x}20000000"
        tool_failed = i % 97 == 5
        children.append(_span(
            tool_id, step, "lookup_order", SpanKind.TOOL, clock, 300_000_000,
            status_code="error" if tool_failed else "ok",
            status_message="TimeoutError: orders service" if tool_failed else None,
            input_json=json.dumps({"tool": "lookup_order", "call_id": f"call_{i}",
                                   "arguments": {"order_id": f"ORD-{i}"}}),
            output_json=json.dumps({"result": {"order_id": f"ORD-{i}", "paid_cents": 12999,
                                               "note": _text(rng, words // 2)}})))
        children.append(_span(f"{i:08x}30000000", tool_id, "GET /orders", SpanKind.UNKNOWN,
                              clock + 20_000_000, 250_000_000,
                              attributes_json=json.dumps({"http.method": "GET",
                                                          "http.status_code": 200})))
        clock += 320_000_000
        children.append(_span(
            f"{i:08x}40000000", step, "search_policies", SpanKind.RETRIEVER, clock,
            180_000_000, input_json=json.dumps({"query": _text(rng, 6)}),
            output_json=json.dumps({"documents": [
                {"id": f"policy/R-{k}", "content": _text(rng, words // 3),
                 "score": round(0.95 - k * 0.2, 3)} for k in range(3)]})))
        clock += 200_000_000
        spans.append(_span(step, root, f"iteration {i + 1}", SpanKind.CHAIN, begin,
                           clock - begin))
        spans.extend(children)
        proposer = tool_id
    spans.insert(0, _span(root, None, name, SpanKind.AGENT, start_ns, clock - start_ns,
                          status_code=root_status))
    return spans, proposer


def ten_thousand() -> tuple[list[SpanRecord], str]:
    """A 10,000-span run (2,000 iterations; the retry loop adds 7, trimmed off the end)."""
    spans, proposer = agent_loop(2000)
    spans = spans[:10_000]
    ids = {s.span_id for s in spans}
    return spans, proposer if proposer in ids else spans[-3].span_id
