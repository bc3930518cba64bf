"""What issue 15 asks of each real instrumentation, as checks over the store: run by
the live tests (test_live_*.py, which need the libraries) and on the recorded exports
(test_conventions.py, which does not)."""

from __future__ import annotations

import json
from typing import Any

from countersign.domain import SpanKind
from countersign.domain.runs import RunQuery
from countersign.services.traces import TraceService

from .live import FakeOpenAI


def check_langchain_openai_v2(service: TraceService) -> None:
    """What issue 15 asks of these two instrumentations together (also run on the
    recorded fixture)."""
    runs = service.search_runs(RunQuery())
    agent_runs = [r for r in runs if r.duplicate_of is None]
    duplicates = [r for r in runs if r.duplicate_of is not None]
    assert len(agent_runs) == 1, runs
    turn = agent_runs[0]
    # 1. The agent comes from LangChain's metadata, not the service name.
    assert (turn.agent_name, turn.agent_from_service) == ("weather_agent", False)
    assert turn.service_name == "weather-service"
    # 5. Each model call the OpenAI instrumentation recorded as a run of its own is
    #    linked to the agent's run, and its tokens are counted once (in that run).
    assert len(duplicates) == 2
    assert {d.duplicate_of for d in duplicates} == {turn.trace_id}
    # Which instrumentations recorded what, for the Traces workspace's hint.
    assert turn.instrumentation == "openinference.instrumentation.langchain"
    assert {d.instrumentation for d in duplicates} == {"opentelemetry.util.genai.handler"}
    assert (turn.prompt_tokens, turn.completion_tokens) == (2 * 21, 2 * 7)
    assert service.count_runs(RunQuery(include_duplicates=False)) == 1
    spans = service.run_spans(turn.trace_id)
    kinds = sorted(s.kind.value for s in spans)
    assert kinds.count("llm") == 2 and kinds.count("tool") == 1, kinds
    # 3. The tool span knows the call it answers, from the ToolMessage / ToolCall.
    [tool_span] = [s for s in spans if s.kind is SpanKind.TOOL]
    tool_input = json.loads(tool_span.input_json or "{}")
    assert tool_input["tool"] == "get_weather"
    assert tool_input["call_id"] == "call_weather_1"
    assert tool_input["arguments"] in ({"city": "Oslo"}, "Oslo")  # as the library sends it
    # 2. The duplicate's content came as log records (events mode) and is its input.
    duplicate_spans = service.run_spans(duplicates[0].trace_id)
    [call] = duplicate_spans
    assert call.kind is SpanKind.LLM and call.model is not None
    assert any(e.get("source") == "log" for e in json.loads(call.events_json))
    assert call.input_json is not None and "Weather in Oslo?" in call.input_json


def check_openai_agents(service: TraceService) -> None:
    """What issue 15 asks of the Agents SDK's spans (also run on the recorded fixture)."""
    [run] = service.search_runs(RunQuery())
    assert run.agent_name == "weather_agent", run
    spans = service.run_spans(run.trace_id)
    kinds = [s.kind for s in spans]
    assert kinds.count(SpanKind.LLM) == 2 and kinds.count(SpanKind.TOOL) == 1, kinds
    assert (run.prompt_tokens, run.completion_tokens) == (
        2 * FakeOpenAI.PROMPT_TOKENS, 2 * FakeOpenAI.COMPLETION_TOKENS)
    [tool] = [s for s in spans if s.kind is SpanKind.TOOL]
    tool_input: dict[str, Any] = json.loads(tool.input_json or "{}")
    assert tool_input["tool"] == "get_weather"
    # 4. The call's arguments, not the tool's JSON schema the GenAI key carries.
    assert tool_input["arguments"] == {"city": "Oslo"}, tool_input
    raw = json.loads(tool.attributes_json)
    assert "properties" in json.loads(raw["gen_ai.tool.call.arguments"])  # kept, raw
    assert "sunny in Oslo" in (tool.output_json or "")
    assert all(s.model for s in spans if s.kind is SpanKind.LLM)
