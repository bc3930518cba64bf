"""Runs and spans (ARCHITECTURE.md: Run, Span) as plain Python. JSON-bearing fields stay
text: parsing megabyte payloads is the viewer's business, off the GUI thread."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class SpanKind(StrEnum):
    AGENT = "agent"
    LLM = "llm"
    TOOL = "tool"
    RETRIEVER = "retriever"
    EMBEDDING = "embedding"
    CHAIN = "chain"
    GUARDRAIL = "guardrail"
    RERANKER = "reranker"
    EVALUATOR = "evaluator"
    PROMPT = "prompt"
    UNKNOWN = "unknown"


class SpanRecord(_Frozen):
    """A normalised span (ARCHITECTURE.md: Span). JSON-bearing fields stay text."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: SpanKind
    start_ns: int
    end_ns: int | None
    status_code: str
    status_message: str | None
    model: str | None = None
    provider: str | None = None
    input_json: str | None = None
    output_json: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost: float | None = None
    agent_name: str | None = None
    session_id: str | None = None
    error_type: str | None = None
    attributes_json: str = "{}"
    events_json: str = "[]"
    #: The resource's ``service.name``: the process that sent the span. Runs fall back
    #: to it for their agent when no span names one.
    service_name: str | None = None
    #: The instrumentation scope (library) that made the span, e.g.
    #: ``openinference.instrumentation.langchain``.
    scope_name: str | None = None
    #: Repairs made on the way in (text that was not valid UTF-8 shown as escapes, an
    #: attribute dropped, a value cut...), as a JSON list of sentences naming the field.
    warnings_json: str = "[]"
