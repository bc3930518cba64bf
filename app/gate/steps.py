"""Reasoning steps an agent reports with its request, and their conversion to spans.

A step is the agent's own account of one thing it did on the way to the action: an
LLM call (messages, model, tokens, cost), a tool call (arguments and result) or a
retrieval (documents with scores). They are stored as spans of the run, so the same
inspector shows them as shows OpenTelemetry traces.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from ..domain import SpanKind, SpanRecord
from ..jsonio import canonical, clean


def new_trace_id() -> str:
    return secrets.token_hex(16)


def new_span_id() -> str:
    return secrets.token_hex(8)


class Message(BaseModel):
    role: str
    content: str = ""
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)


class Document(BaseModel):
    id: str
    content: str
    score: float | None = None


class Step(BaseModel):
    """One reasoning step. Times are epoch seconds; leave them out to have the gate
    lay the steps end to end ending now."""

    kind: SpanKind = SpanKind.LLM
    name: str
    #: LLM steps: the conversation sent and the reply.
    messages: list[Message] = Field(default_factory=list)
    output_messages: list[Message] = Field(default_factory=list)
    model: str | None = None
    provider: str | None = None
    prompt_tokens: int | None = Field(default=None, ge=0)
    completion_tokens: int | None = Field(default=None, ge=0)
    cost: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    #: Tool steps: what the tool was called with and what it returned.
    tool_arguments: Any = None
    tool_result: Any = None
    #: Retrieval steps.
    query: str | None = None
    documents: list[Document] = Field(default_factory=list)
    #: Anything else, shown as the step's input / output.
    input: Any = None
    output: Any = None
    started_at: float | None = None
    duration_s: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    error: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


def _io(step: Step) -> tuple[Any, Any]:
    if step.kind is SpanKind.LLM:
        return (
            {"messages": [m.model_dump() for m in step.messages]},
            {"messages": [m.model_dump() for m in step.output_messages]},
        )
    if step.kind is SpanKind.TOOL:
        return (
            {"tool": step.name, "arguments": step.tool_arguments},
            {"tool": step.name, "result": step.tool_result},
        )
    if step.kind is SpanKind.RETRIEVER:
        return (
            {"query": step.query} if step.query is not None else step.input,
            {"documents": [d.model_dump() for d in step.documents]},
        )
    return step.input, step.output


def steps_to_spans(
    steps: Sequence[Step],
    *,
    trace_id: str,
    parent_span_id: str | None,
    agent: str,
    end_ns: int | None = None,
) -> list[SpanRecord]:
    """Spans for ``steps``, children of ``parent_span_id``, in the order given."""
    end_ns = time.time_ns() if end_ns is None else end_ns
    # Steps without times are laid out backwards from now, each as long as it says.
    cursor = end_ns - sum(int(s.duration_s * 1e9) for s in steps if s.started_at is None)
    spans = []
    for step in steps:
        start = int(step.started_at * 1e9) if step.started_at is not None else cursor
        stop = start + int(step.duration_s * 1e9)
        if step.started_at is None:
            cursor = stop
        raw_in, raw_out = _io(step)
        inp = canonical(clean(raw_in)[0]) if raw_in is not None else None
        out = canonical(clean(raw_out)[0]) if raw_out is not None else None
        spans.append(
            SpanRecord(
                trace_id=trace_id,
                span_id=new_span_id(),
                parent_span_id=parent_span_id,
                name=step.name,
                kind=step.kind,
                start_ns=start,
                end_ns=stop,
                status_code="error" if step.error else "ok",
                status_message=step.error,
                model=step.model,
                provider=step.provider,
                input_json=inp,
                output_json=out,
                prompt_tokens=step.prompt_tokens,
                completion_tokens=step.completion_tokens,
                cost=step.cost,
                agent_name=agent,
                error_type="error" if step.error else None,
                attributes_json=canonical(clean(step.attributes)[0]),
            )
        )
    return spans


def root_span(trace_id: str, *, agent: str, name: str, start_ns: int) -> SpanRecord:
    return SpanRecord(
        trace_id=trace_id,
        span_id=new_span_id(),
        parent_span_id=None,
        name=name,
        kind=SpanKind.AGENT,
        start_ns=start_ns,
        end_ns=None,
        status_code="unset",
        status_message=None,
        agent_name=agent,
    )
