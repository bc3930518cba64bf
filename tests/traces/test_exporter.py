"""The OpenTelemetry SDK exporter, through the real SDK: spans reach the store
normalised, and a gate request made inside an active span joins that span's trace."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

from countersign.domain import SpanKind, Verdict
from countersign.gate import Gate, Step
from countersign.gate.exporter import CountersignSpanExporter
from countersign.services.decisions import DecisionService
from countersign.services.traces import TraceService
from countersign.store.engine import Store


@pytest.fixture
def provider(sqlite_store: Store) -> Iterator[TracerProvider]:
    tracer_provider = TracerProvider(resource=Resource.create({"service.name": "t"}))
    tracer_provider.add_span_processor(
        BatchSpanProcessor(CountersignSpanExporter(sqlite_store), schedule_delay_millis=50)
    )
    yield tracer_provider
    tracer_provider.shutdown()


def test_sdk_spans_are_normalised_into_the_store(
    provider: TracerProvider, sqlite_store: Store
) -> None:
    tracer = provider.get_tracer("agent")
    with tracer.start_as_current_span("research") as root:
        root.set_attribute("openinference.span.kind", "AGENT")
        root.set_attribute("agent.name", "researcher")
        root.set_attribute("session.id", "s-1")
        with tracer.start_as_current_span("ChatOpenAI") as llm:
            llm.set_attribute("openinference.span.kind", "LLM")
            llm.set_attribute("llm.model_name", "gpt-4o")
            llm.set_attribute("llm.token_count.prompt", 100)
            llm.set_attribute("llm.token_count.completion", 20)
            llm.set_attribute("llm.cost.total", 0.01)
            llm.set_attribute("llm.input_messages.0.message.role", "user")
            llm.set_attribute("llm.input_messages.0.message.content", "hi \udcff there")
            llm.set_attribute("tag.tags", ["a", "b"])
        with tracer.start_as_current_span("search") as tool:
            tool.set_attribute("openinference.span.kind", "TOOL")
            tool.set_attribute("tool.name", "search")
            try:
                raise TimeoutError("slow")
            except TimeoutError as exc:
                tool.record_exception(exc)
                tool.set_status(Status(StatusCode.ERROR, "slow"))
        trace_id = format(root.get_span_context().trace_id, "032x")
    assert provider.force_flush(10_000)

    service = TraceService(sqlite_store)
    spans = {s.name: s for s in service.run_spans(trace_id)}
    assert set(spans) == {"research", "ChatOpenAI", "search"}
    assert spans["ChatOpenAI"].kind is SpanKind.LLM
    assert spans["ChatOpenAI"].parent_span_id == spans["research"].span_id
    assert spans["ChatOpenAI"].model == "gpt-4o"
    messages = json.loads(spans["ChatOpenAI"].input_json or "null")["messages"]
    assert messages[0]["content"] == "hi \\xff there"  # repaired visibly, as jsonio does
    assert json.loads(spans["ChatOpenAI"].attributes_json)["tag.tags"] == ["a", "b"]
    assert spans["search"].status_code == "error"
    assert spans["search"].error_type == "TimeoutError"
    assert json.loads(spans["search"].events_json)[0]["name"] == "exception"
    run = service.run(trace_id)
    assert run is not None
    assert (run.name, run.agent_name, run.session_id) == ("research", "researcher", "s-1")
    assert (run.span_count, run.error_count, run.prompt_tokens, run.completion_tokens) == (
        3, 1, 100, 20)


def test_reexport_is_idempotent(sqlite_store: Store) -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(memory))
    with tracer_provider.get_tracer("t").start_as_current_span("one"):
        pass
    finished = memory.get_finished_spans()
    exporter = CountersignSpanExporter(sqlite_store)
    assert exporter.export(finished).name == "SUCCESS"
    assert exporter.export(finished).name == "SUCCESS"
    trace_id = format(finished[0].context.trace_id, "032x")  # type: ignore[union-attr]
    run = TraceService(sqlite_store).run(trace_id)
    assert run is not None and run.span_count == 1
    exporter.shutdown()
    assert exporter.export(finished).name == "FAILURE"


def _approve_when_pending(store: Store, stop: threading.Event) -> None:
    decisions = DecisionService(store)
    from countersign.services.actions import ActionService

    actions = ActionService(store)
    while not stop.is_set():
        for row in actions.queue_rows():
            decisions.decide(row.id, Verdict.APPROVE, reviewer="tester")
            return
        stop.wait(0.02)


def test_gate_request_inside_a_span_links_to_it(
    provider: TracerProvider, sqlite_store: Store
) -> None:
    tracer = provider.get_tracer("agent")
    gate = Gate(sqlite_store, agent="refunds", poll_interval=0.01)
    stop = threading.Event()
    reviewer = threading.Thread(target=_approve_when_pending, args=(sqlite_store, stop))
    reviewer.start()
    try:
        with tracer.start_as_current_span("handle ticket") as root:
            with tracer.start_as_current_span("decide refund") as proposing:
                verdict = asyncio.run(gate.request_approval(
                    "refund", {"order": 7}, timeout=30,
                    reasoning=[Step(name="think", prompt_tokens=5)]))
            trace_id = format(root.get_span_context().trace_id, "032x")
            span_id = format(proposing.get_span_context().span_id, "016x")
    finally:
        stop.set()
        reviewer.join()
        gate.close()
    assert verdict.approved
    assert verdict.run is not None and verdict.run.trace_id == trace_id
    action = gate.actions.get(verdict.action_id)
    assert (action.trace_id, action.span_id) == (trace_id, span_id)
    assert provider.force_flush(10_000)
    service = TraceService(sqlite_store)
    spans = {s.name: s for s in service.run_spans(trace_id)}
    assert set(spans) == {"handle ticket", "decide refund", "think"}
    assert spans["think"].parent_span_id == span_id  # the step hangs under the span
    run = service.run(trace_id)
    assert run is not None
    assert (run.name, run.span_count, run.prompt_tokens) == ("handle ticket", 3, 5)


def test_without_an_active_span_the_gate_makes_its_own_run(sqlite_store: Store) -> None:
    gate = Gate(sqlite_store, agent="solo")
    action_id, run, _ = gate._record("x", {}, schema=None, description="", risk="low",
                                     deadline=None, reasoning=[], idempotency_key=None,
                                     run=None, allowed=None)
    action = gate.actions.get(action_id)
    assert action.trace_id == run.trace_id and action.span_id == run.root_span_id
    gate.close()
