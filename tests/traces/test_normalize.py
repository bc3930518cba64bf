"""Normalisation: OpenInference and OTel GenAI spans (current and deprecated names) come
out as the same ``SpanRecord`` fields, whichever encoding they arrived in."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from countersign.domain import SpanKind, SpanRecord
from countersign.wire.normalize import (
    AgentIdentity,
    agent_identity,
    canonical_json,
    normalize_span,
    normalize_spans,
    span_kind,
)
from countersign.wire.otlp import decode_export_request
from countersign.wire.raw import AttrValue, RawEvent, RawSpan

from . import START, TRACE, load_fixture, to_protobuf


def records(name: str, protobuf: bool = False) -> dict[str, SpanRecord]:
    doc = load_fixture(name)
    data = to_protobuf(doc) if protobuf else json.dumps(doc).encode()
    result = decode_export_request(data)
    assert result.rejections == []
    return {record.span_id: record for record in normalize_spans(result.spans)}


def raw_span(attributes: dict[str, AttrValue], **fields: Any) -> RawSpan:
    values: dict[str, Any] = {
        "trace_id": TRACE,
        "span_id": "aaaaaaaaaaaaaaaa",
        "parent_span_id": None,
        "name": "step",
        "kind": 1,
        "start_ns": START,
        "end_ns": START + 10,
        "status_code": 0,
        "status_message": None,
        "attributes": attributes,
        "events": [],
        "resource_attributes": {"service.name": "svc"},
        "scope_name": None,
        "path": "resourceSpans[0].scopeSpans[0].spans[0]",
    }
    values.update(fields)
    return RawSpan(**values)


def loads(text: str | None) -> Any:
    assert text is not None
    return json.loads(text)


# --- OpenInference -----------------------------------------------------------------


def test_openinference_llm_span() -> None:
    llm = records("openinference_trace.json")["00f067aa0ba902b7"]
    assert llm.kind is SpanKind.LLM
    assert (llm.model, llm.provider) == ("gpt-4o-2024-08-06", "openai")
    assert (llm.prompt_tokens, llm.completion_tokens) == (812, 41)
    assert (llm.cached_tokens, llm.reasoning_tokens) == (512, 16)
    assert llm.cost == pytest.approx(0.00244)
    assert (llm.status_code, llm.error_type) == ("ok", None)
    assert loads(llm.input_json) == {
        "messages": [
            {"role": "system", "content": "You book flights.", "tool_calls": []},
            {"role": "user", "content": "Book me a flight to Oslo", "tool_calls": []},
        ]
    }
    assert loads(llm.output_json) == {
        "messages": [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "name": "book_flight",
                        "arguments": {"destination": "OSL", "seats": 1},
                    }
                ],
            }
        ]
    }


def test_openinference_agent_tool_and_retriever_spans() -> None:
    spans = records("openinference_trace.json")
    agent, tool, retriever = (
        spans["b7ad6b7169203331"],
        spans["1d2c3b4a59687766"],
        spans["2e3d4c5b6a798877"],
    )
    assert agent.kind is SpanKind.AGENT
    assert (agent.agent_name, agent.session_id) == ("booking-agent", "sess-42")
    assert loads(agent.input_json) == {"question": "Book me a flight to Oslo"}  # mime: JSON
    assert loads(agent.output_json) == "Your flight to Oslo is booked."  # mime: text
    assert tool.kind is SpanKind.TOOL
    assert loads(tool.input_json) == {
        "tool": "book_flight",
        "call_id": "call_1",
        "arguments": {"destination": "OSL", "seats": 1},
    }
    assert loads(tool.output_json) == {"result": {"confirmation": "XK42QZ"}}
    assert retriever.kind is SpanKind.RETRIEVER
    assert loads(retriever.input_json) == "Oslo baggage rules"
    assert loads(retriever.output_json) == {
        "documents": [
            {"id": "doc-7", "content": "One cabin bag of 8 kg.", "score": 0.91},
            {"id": "doc-3", "content": "Checked bags up to 23 kg.", "score": 0.84},
        ]
    }
    assert retriever.status_code == "unset"


def test_openinference_error_span_takes_the_exception_type() -> None:
    failed = records("openinference_trace.json")["3f4e5d6c7b8a9988"]
    assert failed.status_code == "error"
    assert failed.status_message == "RateLimitError: too many requests"
    assert failed.error_type == "openai.RateLimitError"
    assert failed.output_json is None
    assert json.loads(failed.events_json) == [
        {
            "name": "exception",
            "time_ns": 1718000004300000000,
            "attributes": {
                "exception.escaped": False,
                "exception.message": "too many requests",
                "exception.type": "openai.RateLimitError",
            },
        }
    ]


# --- OTel GenAI --------------------------------------------------------------------


def test_genai_chat_span() -> None:
    chat = records("genai_trace.json")["53995c3f42cd8ad8"]
    assert chat.kind is SpanKind.LLM
    assert chat.model == "gpt-4.1-2025-04-14"  # the response model beats the request model
    assert chat.provider == "openai"
    assert (chat.prompt_tokens, chat.completion_tokens) == (1250, 64)
    assert (chat.cached_tokens, chat.reasoning_tokens) == (1024, 32)
    assert (chat.agent_name, chat.session_id) == ("claims-triage", "conv_5j66UpCpwteGg4YSxUnt7lPY")
    assert chat.cost is None
    assert loads(chat.input_json) == {
        "messages": [
            {"role": "system", "content": "You triage insurance claims.", "tool_calls": []},
            {"role": "user", "content": "Is claim 1182 covered?", "tool_calls": []},
        ]
    }
    assert loads(chat.output_json)["messages"][0]["tool_calls"] == [
        {
            "id": "call_VSPygqKTWdrhaFErNvMV18Yl",
            "name": "lookup_policy",
            "arguments": {"claim_id": 1182},
        }
    ]


def test_genai_tool_retrieval_and_other_kinds() -> None:
    spans = records("genai_trace.json")
    tool = spans["c8b5a3f1e2d4c6b7"]
    assert tool.kind is SpanKind.TOOL
    assert loads(tool.input_json) == {
        "tool": "lookup_policy",
        "call_id": "call_VSPygqKTWdrhaFErNvMV18Yl",
        "arguments": {"claim_id": 1182},
    }
    assert loads(tool.output_json) == {"result": {"covered": True, "limit_eur": 500}}
    assert (tool.status_code, tool.error_type) == ("error", "timeout")
    retrieval = spans["d9c6b4a2f3e5d7c8"]
    assert retrieval.kind is SpanKind.RETRIEVER
    assert loads(retrieval.input_json) == "water damage coverage"
    assert loads(retrieval.output_json) == {
        "documents": [
            {"id": "pol_12", "content": None, "score": 0.95},
            {"id": "pol_40", "content": None, "score": 0.71},
        ]
    }
    assert spans["e1d7c5b3a4f6e8d9"].kind is SpanKind.CHAIN
    embedding = spans["f2e8d6c4b5a7f9e0"]
    assert (embedding.kind, embedding.model, embedding.prompt_tokens) == (
        SpanKind.EMBEDDING,
        "text-embedding-3-small",
        9,
    )
    agent = spans["a3ce929d0e0e4736"]
    assert agent.kind is SpanKind.AGENT
    assert loads(agent.output_json) == {
        "messages": [{"role": "assistant", "content": "Yes, up to 500 EUR.", "tool_calls": []}]
    }


def test_genai_deprecated_names() -> None:
    (chat,) = records("genai_deprecated_trace.json").values()
    assert chat.kind is SpanKind.LLM
    assert (chat.provider, chat.model) == ("openai", "gpt-3.5-turbo")
    assert (chat.prompt_tokens, chat.completion_tokens) == (57, 12)
    assert loads(chat.input_json) == {
        "messages": [
            {"role": "system", "content": "Answer briefly.", "tool_calls": []},
            {"role": "user", "content": "What is the capital of Norway?", "tool_calls": []},
        ]
    }
    assert loads(chat.output_json) == {
        "messages": [{"role": "assistant", "content": "Oslo.", "tool_calls": []}]
    }


@pytest.mark.parametrize(
    "name", ["openinference_trace.json", "genai_trace.json", "genai_deprecated_trace.json"]
)
def test_json_and_protobuf_normalise_identically(name: str) -> None:
    assert records(name, protobuf=True) == records(name)


def test_genai_tool_call_responses_become_tool_messages() -> None:
    part = {"type": "tool_call_response", "id": "c1", "response": {"ok": 1}}
    messages = [{"role": "tool", "parts": [part]}]
    record = normalize_span(
        raw_span({"gen_ai.operation.name": "chat", "gen_ai.input.messages": json.dumps(messages)})
    )
    (message,) = loads(record.input_json)["messages"]
    assert message == {
        "role": "tool",
        "content": '{"ok": 1}',
        "tool_calls": [],
        "tool_call_id": "c1",
    }


# --- kinds, identity, numbers, canonical JSON ---------------------------------------


@pytest.mark.parametrize(
    ("attributes", "kind"),
    [
        ({"openinference.span.kind": "TOOL", "gen_ai.operation.name": "chat"}, SpanKind.TOOL),
        ({"openinference.span.kind": "guardrail"}, SpanKind.GUARDRAIL),
        ({"openinference.span.kind": "RERANKER"}, SpanKind.RERANKER),
        ({"openinference.span.kind": "nonsense", "gen_ai.operation.name": "chat"}, SpanKind.LLM),
        ({"gen_ai.operation.name": "text_completion"}, SpanKind.LLM),
        ({"gen_ai.operation.name": "generate_content"}, SpanKind.LLM),
        ({"gen_ai.operation.name": "create_agent"}, SpanKind.AGENT),
        ({"gen_ai.operation.name": "invoke_workflow"}, SpanKind.CHAIN),
        ({"gen_ai.operation.name": "something_new"}, SpanKind.UNKNOWN),
        ({"http.method": "GET"}, SpanKind.UNKNOWN),
    ],
)
def test_kind_mapping(attributes: dict[str, AttrValue], kind: SpanKind) -> None:
    assert span_kind(attributes) is kind
    assert normalize_span(raw_span(attributes)).kind is kind


def test_agent_identity() -> None:
    genai = raw_span(
        {"gen_ai.agent.id": "a-1", "gen_ai.agent.name": "triage", "gen_ai.agent.version": "2"}
    )
    assert agent_identity(genai) == AgentIdentity(id="a-1", name="triage", version="2")
    openinference = raw_span({"agent.name": "booking-agent"})
    assert agent_identity(openinference) == AgentIdentity(None, "booking-agent", None)
    # A service is not an agent: service.name alone names no agent.
    assert agent_identity(raw_span({})) is None
    assert normalize_span(raw_span({})).agent_name is None


def test_status_codes_and_error_types() -> None:
    exception = RawEvent("exception", START + 5, {"exception.type": "KeyError"})
    failed = raw_span({}, status_code=2, status_message="boom", events=[exception])
    assert (normalize_span(failed).status_code, normalize_span(failed).error_type) == (
        "error",
        "KeyError",
    )
    both = raw_span({"error.type": "timeout"}, status_code=2, events=[exception])
    assert normalize_span(both).error_type == "timeout"
    handled = raw_span({"error.type": "timeout"}, status_code=1, events=[exception])
    assert (normalize_span(handled).status_code, normalize_span(handled).error_type) == ("ok", None)
    assert normalize_span(raw_span({})).status_code == "unset"


def test_token_counts_accept_only_sane_integers() -> None:
    record = normalize_span(
        raw_span(
            {
                "llm.token_count.prompt": "120",
                "llm.token_count.completion": 7.0,
                "llm.token_count.prompt_details.cache_read": True,
                "gen_ai.usage.cache_read.input_tokens": -3,
                "llm.token_count.completion_details.reasoning": 2**40,
            }
        )
    )
    assert (record.prompt_tokens, record.completion_tokens) == (120, 7)
    assert (record.cached_tokens, record.reasoning_tokens) == (None, None)


def test_cost_falls_back_to_prompt_plus_completion() -> None:
    record = normalize_span(raw_span({"llm.cost.prompt": 0.25, "llm.cost.completion": 0.5}))
    assert record.cost == pytest.approx(0.75)
    assert normalize_span(raw_span({"llm.cost.total": "NaN"})).cost is None


def test_long_names_are_cut_to_the_store_columns() -> None:
    record = normalize_span(raw_span({"llm.model_name": "m" * 500, "llm.provider": "p" * 500}))
    assert (len(record.model or ""), len(record.provider or "")) == (200, 100)


def test_attributes_json_is_canonical_and_survives_nan() -> None:
    attributes: dict[str, AttrValue] = {"b": "é", "a": [1, {"z": 1.5, "y": None}]}
    assert normalize_span(raw_span(attributes)).attributes_json == (
        '{"a":[1,{"y":null,"z":1.5}],"b":"é"}'
    )
    weird: dict[str, AttrValue] = {"n": float("nan"), "deep": [[float("-inf")]]}
    assert canonical_json(weird) == '{"deep":[["-Infinity"]],"n":"NaN"}'
    assert weird["n"] != weird["n"]  # the raw value is not modified


def test_plain_input_value_stays_a_string_unless_declared_json() -> None:
    record = normalize_span(
        raw_span(
            {
                "openinference.span.kind": "CHAIN",
                "input.value": '{"looks": "like json"}',
                "output.value": '{"a": 1}',
                "output.mime_type": "application/json",
            }
        )
    )
    assert loads(record.input_json) == '{"looks": "like json"}'
    assert loads(record.output_json) == {"a": 1}


# --- fuzz --------------------------------------------------------------------------

_keys = st.sampled_from(
    [
        "openinference.span.kind", "gen_ai.operation.name", "input.value", "input.mime_type",
        "output.value", "output.mime_type", "llm.input_messages.0.message.role",
        "llm.input_messages.0.message.content", "llm.input_messages.x.message.role",
        "llm.output_messages.1.message.tool_calls.0.tool_call.function.arguments",
        "llm.input_messages.0.message.contents.0.message_content.text",
        "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
        "gen_ai.prompt.0.content", "gen_ai.completion.3.tool_calls.1.arguments",
        "retrieval.documents.0.document.score", "gen_ai.retrieval.documents",
        "gen_ai.tool.call.arguments", "gen_ai.tool.call.result", "tool.parameters",
        "llm.token_count.prompt", "gen_ai.usage.output_tokens", "llm.cost.total",
        "llm.cost.prompt", "llm.model_name", "session.id", "error.type", "agent.name",
    ]
)
_json_texts = st.sampled_from(
    ['{"a": [1, 2]}', "[1, {}]", "[{\"role\": 1, \"parts\": 5}]", '[{"parts": [{"type": "text"}]}]',
     "{broken", "LLM", "TOOL", "RETRIEVER", "chat", "execute_tool", "application/json", "NaN"]
)
_values = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10), _json_texts
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_keys, _values, max_size=12), st.integers(min_value=0, max_value=2))
def test_fuzz_normalise_never_raises(attributes: dict[str, AttrValue], status: int) -> None:
    record = normalize_span(raw_span(attributes, status_code=status))
    for text in (record.input_json, record.output_json, record.attributes_json):
        if text is not None:
            json.loads(text)
