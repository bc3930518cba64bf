"""Span ingest and the trace reads, on SQLite and PostgreSQL: idempotency, run
roll-ups however the spans are batched, agent links, and every Traces filter."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from countersign.domain import SpanKind, SpanRecord
from countersign.domain.runs import RunQuery
from countersign.gate.steps import Step
from countersign.services.actions import ActionRequest, ActionService
from countersign.services.traces import TraceService
from countersign.store.engine import Store
from countersign.store.models import AgentRow, RunRow
from countersign.wire.otlp import decode_export_request

from . import load_fixture

T1, T2, T3 = "1" * 32, "2" * 32, "3" * 32
S = 1_700_000_000 * 10**9


def rec(trace: str, span: str, parent: str | None = None, **fields: Any) -> SpanRecord:
    values: dict[str, Any] = {
        "trace_id": trace, "span_id": span, "parent_span_id": parent, "name": f"s{span[:4]}",
        "kind": SpanKind.LLM, "start_ns": S, "end_ns": S + 10**9, "status_code": "ok",
        "status_message": None,
    }
    values.update(fields)
    return SpanRecord(**values)


def sid(n: int) -> str:
    return f"{n:016x}"


def fixture_records() -> list[SpanRecord]:
    from countersign.wire.normalize import normalize_spans

    body = json.dumps(load_fixture("openinference_trace.json")).encode()
    return normalize_spans(decode_export_request(body, "application/json").spans)


def test_ingest_is_idempotent_and_rolls_up_the_run(store: Store) -> None:
    service = TraceService(store)
    spans = fixture_records()
    first = service.ingest(spans, source="file")
    assert (first.added, first.duplicates, first.rejected) == (5, 0, [])
    again = service.ingest(spans, source="file")
    assert (again.added, again.duplicates) == (0, 5)
    run = service.run("0af7651916cd43dd8448eb211c80319c")
    assert run is not None
    assert run.name == "BookingAgent"
    assert run.agent_name == "booking-agent"
    assert run.session_id == "sess-42"
    assert run.span_count == 5
    assert run.error_count == 1
    assert run.status == "ok"  # the root's: the agent recovered from the failed call
    assert run.finished and run.state == "ok" and run.root_span_id == "b7ad6b7169203331"
    assert (run.prompt_tokens, run.completion_tokens) == (812, 41)
    assert run.total_cost == pytest.approx(0.00244)
    assert run.started_ns == 1718000000000000000
    assert run.ended_ns == 1718000004500000000
    assert run.source == "file"
    with store.read() as session:
        agent_id = session.execute(select(RunRow.agent_id)).scalar_one()
        assert session.get(AgentRow, agent_id).name == "booking-agent"  # type: ignore[union-attr]
    assert run.agent_id == agent_id


def test_roll_ups_do_not_depend_on_batching_or_order(store: Store) -> None:
    service = TraceService(store, batch_spans=2)
    root = rec(T1, sid(1), None, name="root", kind=SpanKind.AGENT, agent_name="a1",
               session_id="sess", start_ns=S, end_ns=S + 50, status_code="unset")
    kids = [
        rec(T1, sid(n), sid(1), start_ns=S + n, end_ns=S + 10 * n, prompt_tokens=n,
            completion_tokens=1, cost=0.5, agent_name="sub-agent",
            status_code="error" if n == 3 else "ok")
        for n in range(2, 7)
    ]
    # Children first (as BatchSpanProcessor sends them), one re-sent, the root last.
    assert service.ingest(kids[:3], source="otel").added == 3
    early = service.run(T1)
    assert early is not None and early.name == "" and early.agent_name == "sub-agent"
    result = service.ingest([*kids[2:], root], source="otel")
    assert (result.added, result.duplicates) == (3, 1)
    run = service.run(T1)
    assert run is not None
    assert (run.name, run.agent_name, run.session_id) == ("root", "a1", "sess")
    assert (run.span_count, run.error_count, run.status) == (6, 1, "error")
    assert (run.prompt_tokens, run.completion_tokens) == (sum(range(2, 7)), 5)
    assert run.total_cost == pytest.approx(2.5)
    assert (run.started_ns, run.ended_ns) == (S, S + 60)
    assert run.duration_ns == 60


def test_duplicates_within_a_batch_and_invalid_spans(store: Store) -> None:
    service = TraceService(store)
    good = rec(T1, sid(1))
    bad = [
        rec("XYZ", sid(2)),
        rec(T1, "short"),
        rec(T1, sid(3), parent=sid(3)),
        rec(T1, "0" * 16),
        rec(T1, sid(4), start_ns=2**63),
    ]
    result = service.ingest([good, good, *bad], source="x")
    assert (result.added, result.duplicates) == (1, 1)
    assert len(result.rejected) == 5
    fields = ["trace_id", "span_id", "parent_span_id", "span_id", "start_ns"]
    for reason, field in zip(result.rejected, fields, strict=True):
        assert "span " in reason and f": {field}:" in reason, reason


def test_text_the_store_cannot_take_is_made_safe(store: Store) -> None:
    service = TraceService(store)
    span = rec(T1, sid(1), name="nul\x00name", model="m" * 500, prompt_tokens=2**40,
               cost=float("nan"), status_code="weird")
    assert service.ingest([span], source="x").added == 1
    [back] = service.run_spans(T1)
    assert back.name == "nul\ufffdname"
    assert back.model == "m" * 200
    assert (back.prompt_tokens, back.cost, back.status_code) == (None, None, "unset")


def test_run_spans_round_trip_in_start_order(store: Store) -> None:
    service = TraceService(store)
    spans = fixture_records()
    service.ingest(list(reversed(spans)), source="x")
    back = service.run_spans(spans[0].trace_id)
    assert [s.span_id for s in back] == [s.span_id for s in sorted(spans, key=lambda s: s.start_ns)]
    by_id = {s.span_id: s for s in spans}
    for span in back:
        assert span.model_dump() == by_id[span.span_id].model_dump()
        assert isinstance(span.kind, SpanKind)
    assert service.run_spans("f" * 32) == []


def test_span_text_search(store: Store) -> None:
    service = TraceService(store)
    service.ingest(fixture_records(), source="x")
    trace = "0af7651916cd43dd8448eb211c80319c"
    assert service.span_text_search(trace, "oslo BAGGAGE") == ["2e3d4c5b6a798877"]
    assert service.span_text_search(trace, "RateLimit") == ["3f4e5d6c7b8a9988"]
    assert service.span_text_search(trace, "100%_") == []


def test_gate_reasoning_spans_keep_the_run_rolled_up(store: Store) -> None:
    from countersign.gate import Gate

    gate = Gate(store, agent="refunds", agent_version="1.2")
    _, run, _ = gate._record(
        "refund", {"order": 1}, schema=None, description="", risk="low", deadline=None,
        reasoning=[Step(name="think", prompt_tokens=10, completion_tokens=2, cost=0.01),
                   Step(kind=SpanKind.TOOL, name="lookup", error="boom")],
        idempotency_key="k1", run=None, allowed=None,
    )
    summary = TraceService(store).run(run.trace_id)
    assert summary is not None
    assert (summary.span_count, summary.error_count, summary.status) == (3, 1, "error")
    assert (summary.prompt_tokens, summary.completion_tokens) == (10, 2)
    assert summary.name == "refunds: refund"
    assert summary.pending_actions == 1
    with store.read() as session:
        agent = session.get(AgentRow, summary.agent_id)
        assert agent is not None and (agent.name, agent.version) == ("refunds", "1.2")
    gate.close()


def test_action_without_spans_still_has_a_run(store: Store) -> None:
    ActionService(store).request(ActionRequest(agent="a", action_class="x", arguments={},
                                               source_ref="r", trace_id=T2, span_id=sid(9)))
    run = TraceService(store).run(T2)
    assert run is not None and run.span_count == 0 and run.pending_actions == 1
    assert run.agent_name == "a"


def _three_runs(store: Store) -> TraceService:
    """T1: alpha, ok, 1 s, 100 tokens, cost 0.1, name "checkout flow", pending action.
    T2: beta, error, 10 s, 5,000 tokens, cost 2.0, name "Refund order".
    T3: alpha, ok, open (no end), 0 tokens, no cost, started last, name "search"."""
    service = TraceService(store)
    service.ingest([
        rec(T1, sid(1), name="checkout flow", agent_name="alpha", start_ns=S,
            end_ns=S + 10**9, prompt_tokens=60, completion_tokens=40, cost=0.1),
        rec(T2, sid(2), name="Refund order", agent_name="beta", start_ns=S + 100,
            end_ns=S + 100 + 10 * 10**9, prompt_tokens=4000, completion_tokens=1000, cost=2.0,
            status_code="error"),
        rec(T3, sid(3), name="search", agent_name="alpha", start_ns=S + 200, end_ns=None,
            status_code="unset"),
    ], source="x")
    ActionService(store).request(ActionRequest(agent="alpha", action_class="pay", arguments={},
                                               source_ref="p", trace_id=T1, span_id=sid(1)))
    return service


def _ids(service: TraceService, **filters: Any) -> list[str]:
    query = RunQuery(**filters)
    found = [r.trace_id for r in service.search_runs(query)]
    assert service.count_runs(query) == len(found)
    return found


def test_search_runs_each_filter(store: Store) -> None:
    service = _three_runs(store)
    assert _ids(service) == [T3, T2, T1]  # newest first
    assert _ids(service, agent="alpha") == [T3, T1]
    assert _ids(service, since_ns=S + 100) == [T3, T2]
    assert _ids(service, until_ns=S + 100) == [T2, T1]
    assert _ids(service, status="error") == [T2]
    assert _ids(service, status="ok") == [T1]
    # T3's root has not ended: it is running, so no finished status matches it.
    assert _ids(service, status="unset") == []
    assert _ids(service, status="running") == [T3]
    assert _ids(service, min_duration_ns=2 * 10**9) == [T2]
    assert _ids(service, max_duration_ns=2 * 10**9) == [T1]
    assert _ids(service, min_tokens=100) == [T2, T1]
    assert _ids(service, max_tokens=100) == [T3, T1]
    assert _ids(service, min_cost=1.0) == [T2]
    assert _ids(service, max_cost=0.5) == [T1]  # T3's cost is unknown, not 0
    assert _ids(service, status="running") == [T3]  # its root has not ended
    assert _ids(service, has_pending_action=True) == [T1]
    assert _ids(service, has_pending_action=False) == [T3, T2]
    assert _ids(service, text="REFUND") == [T2]
    assert _ids(service, text="%") == []
    assert _ids(service, agent="alpha", status="ok", min_tokens=1) == [T1]
    assert [r.trace_id for r in service.search_runs(RunQuery(limit=1, offset=1))] == [T2]
    assert service.agents() == ["alpha", "beta"]
    pending = {r.trace_id: r.pending_actions for r in service.search_runs(RunQuery())}
    assert pending == {T1: 1, T2: 0, T3: 0}
    costs = {r.trace_id: (r.total_cost, r.state) for r in service.search_runs(RunQuery())}
    assert costs == {T1: (0.1, "ok"), T2: (2.0, "error"), T3: (None, "running")}


def test_concurrent_writers_count_each_span_once(store: Store) -> None:
    import threading

    spans = [rec(T1, sid(1), None, name="root")] + [
        rec(T1, sid(n), sid(1), prompt_tokens=1) for n in range(2, 1_001)
    ] + [rec(T2, sid(n), None) for n in range(1, 500)]
    results: list[int] = []

    def write(order: list[SpanRecord]) -> None:
        results.append(TraceService(store, batch_spans=300).ingest(order, source="x").added)

    threads = [threading.Thread(target=write, args=(list(o),))
               for o in (spans, list(reversed(spans)), spans[500:] + spans[:500])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == len(spans)
    service = TraceService(store)
    run1, run2 = service.run(T1), service.run(T2)
    assert run1 is not None and (run1.span_count, run1.prompt_tokens) == (1_000, 999)
    assert run2 is not None and run2.span_count == 499
