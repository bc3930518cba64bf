"""A store's worth of realistic runs for the Traces workspace's tests and screenshots:
agent loops with costs (some failing), imported runs whose only name is the sending
service and whose model calls carry no price, a run still running (its root not yet
arrived), a run with an action waiting for a verdict, and one model call recorded by
two instrumentations (OpenInference-LangChain inside the agent's run, the official
OpenAI instrumentation as a run of its own)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from countersign.domain import SpanKind, SpanRecord
from countersign.services.actions import ActionRequest, ActionService
from countersign.services.traces import TraceService

from .runs import agent_loop

AGENTS = ("refund-agent", "billing-bot", "triage")
LANGCHAIN = "openinference.instrumentation.langchain"
OPENAI = "opentelemetry.instrumentation.openai_v2"


def trace_id(n: int) -> str:
    return f"{n:032x}"


@dataclass(frozen=True)
class Fleet:
    """The trace ids the tests look for."""

    pending: str
    proposer: str
    running: str
    unpriced: str
    original: str
    duplicate: str


def _span(trace: str, span_id: str, parent: str | None, name: str, kind: SpanKind,
          start: int, duration: int | None, **fields: object) -> SpanRecord:
    return SpanRecord(trace_id=trace, span_id=span_id, parent_span_id=parent, name=name,
                      kind=kind, start_ns=start,
                      end_ns=None if duration is None else start + duration,
                      status_code=str(fields.pop("status_code", "ok")), status_message=None,
                      **fields)  # type: ignore[arg-type]


def unpriced_run(trace: str, start: int, service: str = "support-mail") -> list[SpanRecord]:
    """An imported run: no agent attribute (the service names it), calls without cost."""
    root = "b" * 16
    spans = [_span(trace, root, None, "answer_customer", SpanKind.CHAIN, start, 4_000_000_000,
                   service_name=service)]
    for i in range(3):
        spans.append(_span(
            trace, f"{i:015x}c", root, "ChatOpenAI", SpanKind.LLM,
            start + i * 1_200_000_000, 1_000_000_000, model="gpt-4o-mini", provider="openai",
            prompt_tokens=850 + i, completion_tokens=120, service_name=service,
            input_json=json.dumps({"messages": [{"role": "user", "content": "Where is my "
                                                 "order 1182?"}]}),
            output_json=json.dumps({"messages": [{"role": "assistant",
                                                  "content": "It left the warehouse."}]})))
    return spans


def running_children(trace: str, start: int) -> list[SpanRecord]:
    """The spans a run exported so far: children that ended; the root has not."""
    root = "c" * 16
    return [_span(trace, f"{i:015x}d", root, "call_llm", SpanKind.LLM, start + i * 10**9,
                  900_000_000, model="gpt-4o", prompt_tokens=1000, completion_tokens=90,
                  cost=0.006, agent_name="triage") for i in range(2)]


def running_root(trace: str, start: int) -> SpanRecord:
    """The root of `running_children`, as it arrives once the run ended."""
    return _span(trace, "c" * 16, None, "triage_inbox", SpanKind.AGENT, start - 10**8,
                 3 * 10**9, agent_name="triage")


def duplicated_call(original: str, duplicate: str, start: int) -> list[SpanRecord]:
    """One model call in the agent's run (LangChain) and again as a lone run (OpenAI)."""
    call = {"model": "gpt-4o-mini", "provider": "openai", "prompt_tokens": 412,
            "completion_tokens": 57, "service_name": "weather-service"}
    root = "e" * 16
    return [
        _span(original, root, None, "weather_agent", SpanKind.AGENT, start, 3 * 10**9,
              scope_name=LANGCHAIN, agent_name="weather_agent",
              service_name="weather-service"),
        _span(original, "e" * 15 + "1", root, "ChatOpenAI", SpanKind.LLM, start + 10**8,
              2 * 10**9, scope_name=LANGCHAIN, **call),  # type: ignore[arg-type]
        _span(duplicate, "f" * 16, None, "chat gpt-4o-mini", SpanKind.LLM,
              start + 10**8 + 5_000_000, 2 * 10**9 - 10_000_000, scope_name=OPENAI,
              **call),  # type: ignore[arg-type]
    ]


def fill(traces: TraceService, actions: ActionService, runs: int = 30,
         now_ns: int | None = None) -> Fleet:
    """Store the fleet's runs (newest first in the list: the special runs)."""
    now = time.time_ns() if now_ns is None else now_ns
    spans: list[SpanRecord] = []
    for n in range(runs):
        failing = n % 7 == 3
        spans.extend(agent_loop(1 + n % 4 if not failing else 4, words=25,
                                retry_loop=1 if failing else 0, trace_id=trace_id(n + 1),
                                agent=AGENTS[n % 3], start_ns=now - (n + 10) * 90 * 10**9,
                                name=f"ticket #{4100 + n}",
                                root_status="error" if failing else "ok")[0])
    pending_spans, proposer = agent_loop(3, words=60, retry_loop=0, trace_id=trace_id(900),
                                         agent="refund-agent", start_ns=now - 300 * 10**9,
                                         name="refund order ORD-2 for a damaged parcel")
    spans.extend(pending_spans)
    spans.extend(unpriced_run(trace_id(901), now - 240 * 10**9))
    spans.extend(running_children(trace_id(902), now - 20 * 10**9))
    spans.extend(duplicated_call(trace_id(903), trace_id(904), now - 120 * 10**9))
    result = traces.ingest(spans, source="test")
    assert not result.rejected, result.rejected
    actions.request(ActionRequest(
        agent="refund-agent", action_class="issue_refund", source_ref="ticket-4099",
        arguments={"order_id": "ORD-2", "amount_cents": 12999,
                   "reason": "The parcel arrived damaged; photos attached to the ticket."},
        trace_id=trace_id(900), span_id=proposer))
    return Fleet(pending=trace_id(900), proposer=proposer, running=trace_id(902),
                 unpriced=trace_id(901), original=trace_id(903), duplicate=trace_id(904))
