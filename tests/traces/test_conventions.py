"""What real instrumentations send (issues 11 and 15), without the libraries: the
recorded exports of OpenInference-LangChain with the official OpenAI instrumentation,
spans that leave their kind implicit, LangChain's agent metadata, tool call ids and
arguments, OTLP log records arriving before or after their span, and the CLI's
``trace list`` / ``trace show`` for them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from countersign.cli import main
from countersign.domain import SpanKind
from countersign.services.traces import TraceService
from countersign.store.engine import Store
from countersign.wire.normalize import normalize_span
from countersign.wire.raw import RawSpan

from . import TRACE, attr, body, span
from .live import FIXTURES as RECORDED
from .live_checks import check_langchain_openai_v2, check_openai_agents
from .test_receiver import receiving

S = 1_718_000_000_000_000_000


def raw(attributes: dict[str, Any], *, resource: dict[str, Any] | None = None,
        parent: str | None = None) -> RawSpan:
    return RawSpan(TRACE, "a" * 16, parent, "step", 1, S, S + 10, 0, None, attributes, [],
                   resource or {}, None, "p")


@pytest.mark.parametrize(("attributes", "kind"), [
    # Older GenAI: gen_ai.system, a model and token counts, no operation name.
    ({"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4",
      "gen_ai.usage.prompt_tokens": 5, "gen_ai.usage.completion_tokens": 2}, SpanKind.LLM),
    # OpenInference without openinference.span.kind.
    ({"llm.model_name": "gpt-4o", "llm.token_count.prompt": 3}, SpanKind.LLM),
    ({"tool.name": "search", "input.value": "{}"}, SpanKind.TOOL),
    ({"retrieval.documents.0.document.id": "d1"}, SpanKind.RETRIEVER),
    ({"embedding.model_name": "e5", "embedding.embeddings.0.embedding.text": "x"},
     SpanKind.EMBEDDING),
    # GenAI operations, including unknown spellings of them and missing ones.
    ({"gen_ai.operation.name": "text_completion"}, SpanKind.LLM),
    ({"gen_ai.operation.name": "embeddings"}, SpanKind.EMBEDDING),
    ({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "t"}, SpanKind.TOOL),
    ({"gen_ai.operation.name": "invoke_agent"}, SpanKind.AGENT),
    ({"gen_ai.operation.name": "Chat"}, SpanKind.LLM),
    ({"gen_ai.operation.name": "something", "gen_ai.request.model": "m"}, SpanKind.LLM),
    ({"gen_ai.agent.name": "planner"}, SpanKind.AGENT),
    ({"http.method": "GET"}, SpanKind.UNKNOWN),
])
def test_implicit_kinds(attributes: dict[str, Any], kind: SpanKind) -> None:
    assert normalize_span(raw(attributes)).kind is kind


def test_agent_from_langchain_metadata_then_service_name() -> None:
    named = raw({"metadata": '{"lc_agent_name": "weather_agent", "langgraph_node": "model"}'},
                resource={"service.name": "svc"})
    assert normalize_span(named).agent_name == "weather_agent"
    sub = raw({"metadata": json.dumps({"langgraph_checkpoint_ns":
                                       "research_agent:1f0|model:2a1", "langgraph_node": "model"})})
    assert normalize_span(sub).agent_name == "research_agent"
    top = raw({"metadata": '{"langgraph_checkpoint_ns": "model:2a1"}'})
    assert normalize_span(top).agent_name is None  # a node, not a sub-agent
    explicit = raw({"agent.name": "a", "metadata": '{"lc_agent_name": "b"}'})
    assert normalize_span(explicit).agent_name == "a"
    plain = normalize_span(raw({}, resource={"service.name": "svc"}))
    assert (plain.agent_name, plain.service_name) == (None, "svc")
    placeholder = normalize_span(raw({}, resource={"service.name": "unknown_service:python"}))
    assert placeholder.service_name is None


def test_tool_arguments_that_are_a_schema_lose_to_the_real_ones() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}},
              "required": ["city"], "additionalProperties": False}
    span_ = raw({"openinference.span.kind": "TOOL", "tool.name": "get_weather",
                 "gen_ai.tool.call.arguments": json.dumps(schema),
                 "input.value": '{"city": "Oslo"}', "input.mime_type": "application/json",
                 "gen_ai.tool.call.id": "call_1"})
    record = normalize_span(span_)
    assert json.loads(record.input_json or "") == {
        "tool": "get_weather", "call_id": "call_1", "arguments": {"city": "Oslo"}}
    assert json.loads(record.attributes_json)["gen_ai.tool.call.arguments"] == json.dumps(schema)
    agreeing = raw({"gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.call.arguments": '{"q": 1}', "input.value": '{"q": 2}'})
    assert json.loads(normalize_span(agreeing).input_json or "")["arguments"] == {"q": 1}


@pytest.mark.parametrize("output", [
    {"type": "tool", "data": {"content": "sunny", "tool_call_id": "call_9"}},
    {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "ToolMessage"],
     "kwargs": {"content": "sunny", "tool_call_id": "call_9"}},
    {"content": "sunny", "tool_call_id": "call_9"},
])
def test_tool_call_id_from_langchain_tool_message(output: dict[str, Any]) -> None:
    record = normalize_span(raw({
        "openinference.span.kind": "TOOL", "tool.name": "w", "input.value": "Oslo",
        "output.value": json.dumps(output), "output.mime_type": "application/json"}))
    assert json.loads(record.input_json or "")["call_id"] == "call_9"
    assert json.loads(record.output_json or "") == {"result": "sunny"}


def _import_recorded(store: Store, name: str) -> None:
    service = TraceService(store)
    files = sorted(RECORDED.glob(f"{name}.*.pb"))
    assert files, f"no recorded fixture {name}; run the live test with " \
                  "COUNTERSIGN_RECORD_FIXTURES=1"
    for path in files:
        result = service.ingest_file(path, source="recorded")
        assert result.rejected == [], result.rejected


def test_recorded_langchain_with_openai_v2(store: Store) -> None:
    _import_recorded(store, "langchain_openai_v2")
    check_langchain_openai_v2(TraceService(store))


def test_recorded_openai_agents_sdk(store: Store) -> None:
    _import_recorded(store, "openai_agents")
    check_openai_agents(TraceService(store))


def _logs_body(span_id: str, name: str, attributes: list[dict[str, Any]],
               body_value: dict[str, Any] | None = None) -> bytes:
    record: dict[str, Any] = {"timeUnixNano": str(S + 5), "traceId": TRACE, "spanId": span_id,
                              "eventName": name, "attributes": attributes}
    if body_value is not None:
        record["body"] = body_value
    return json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [
        record, {"timeUnixNano": str(S), "body": {"stringValue": "no span"}}]}]}]}).encode()


def test_log_records_attach_to_their_span_before_or_after_it(sqlite_store: Store) -> None:
    messages = json.dumps([{"role": "user", "parts": [{"type": "text", "content": "hello"}]}])
    details = _logs_body("e000000000000001", "gen_ai.client.inference.operation.details",
                         [attr("gen_ai.input.messages", {"stringValue": messages})])
    older = _logs_body("e000000000000002", "gen_ai.choice", [],
                       {"kvlistValue": {"values": [{"key": "message", "value": {"kvlistValue": {
                           "values": [{"key": "content", "value": {"stringValue": "hi!"}}]}}}]}})
    other = _logs_body("e000000000000002", "retry", [attr("attempt", {"intValue": "2"})])
    chat = [attr("gen_ai.operation.name", {"stringValue": "chat"})]

    async def scenario() -> None:
        async with receiving(sqlite_store) as receiver, httpx.AsyncClient() as client:
            headers = {"content-type": "application/json"}
            response = await client.post(receiver.logs_url, content=details, headers=headers)
            assert response.status_code == 200  # before its span
            partial = response.json()["partialSuccess"]
            assert partial["rejectedLogRecords"] == "1" and "traceId" in partial["errorMessage"]
            response = await client.post(receiver.url, headers=headers, content=body(
                span("e000000000000001", attributes=chat),
                span("e000000000000002", attributes=chat)))
            assert response.status_code == 200
            for data in (older, other, older):  # after its span; re-sent once
                assert (await client.post(receiver.logs_url, content=data,
                                          headers=headers)).status_code == 200
            assert receiver.stats.stored_logs == 3

    asyncio.run(scenario())
    spans = {s.span_id: s for s in TraceService(sqlite_store).run_spans(TRACE)}
    first, second = spans["e000000000000001"], spans["e000000000000002"]
    assert json.loads(first.input_json or "")["messages"][0]["content"] == "hello"
    assert json.loads(second.output_json or "")["messages"][0]["content"] == "hi!"
    names = [e["name"] for e in json.loads(second.events_json)]
    assert sorted(names) == ["gen_ai.choice", "retry"]


def test_import_otlp_reads_log_files(
    tmp_path: Path, sqlite_url: str, sqlite_store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    traces, logs = tmp_path / "traces.json", tmp_path / "logs.json"
    traces.write_bytes(body(span("f000000000000001")))
    logs.write_bytes(_logs_body("f000000000000001", "note", []))
    code = main(["--store", sqlite_url, "import-otlp", "--json", str(logs), str(traces)])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["added"] == 2 and summary["rejected"] == 1
    [stored] = TraceService(sqlite_store).run_spans(TRACE)
    assert [e["name"] for e in json.loads(stored.events_json)] == ["note"]


def test_trace_list_and_show(sqlite_url: str, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--store", sqlite_url, "trace", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    path = tmp_path / "t.json"
    resource = {"attributes": [attr("service.name", {"stringValue": "billing-svc"})]}
    doc = {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [
        span("aaaaaaaaaaaaaaaa", name="root", endTimeUnixNano="0"),
        span("bbbbbbbbbbbbbbbb", parent="aaaaaaaaaaaaaaaa", name="call", attributes=[
            attr("gen_ai.system", {"stringValue": "openai"}),
            attr("gen_ai.request.model", {"stringValue": "gpt-4"}),
            attr("gen_ai.usage.prompt_tokens", {"intValue": "5"})])]}]}]}
    path.write_text(json.dumps(doc))
    assert main(["--store", sqlite_url, "import-otlp", str(path)]) == 0
    capsys.readouterr()
    assert main(["--store", sqlite_url, "trace", "list", "--json", "--agent", "billing-svc",
                 "--status", "running", "--since", "2024-01-01"]) == 0
    [run] = json.loads(capsys.readouterr().out)
    assert run["trace_id"] == TRACE and run["state"] == "running"
    assert run["agent_name"] == "billing-svc" and run["agent_from_service"] is True
    assert run["total_cost"] is None  # unknown, not 0
    assert main(["--store", sqlite_url, "trace", "list", "--json", "--status", "error"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["--store", sqlite_url, "trace", "list"]) == 0
    table = capsys.readouterr().out
    assert TRACE in table and "running" in table and "—" in table
    assert main(["--store", sqlite_url, "trace", "show", TRACE]) == 0
    shown = capsys.readouterr().out
    assert "status running" in shown and "cost —" in shown and "0.0000" not in shown
    assert "llm       call" in shown and "model gpt-4" in shown and "provider openai" in shown
    with pytest.raises(SystemExit):
        main(["--store", sqlite_url, "trace", "list", "--since", "yesterday-ish"])
