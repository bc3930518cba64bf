"""A LangGraph thread's state → the reasoning chain shown beside its actions.

The state's ``messages`` (LangChain's serialised messages ``{"type": "ai", "content",
"tool_calls", "usage_metadata", ...}`` or OpenAI-style ``{"role", "content"}``) become
spans: one AGENT root for the thread, an LLM span per model reply and a TOOL span per
tool call that has a result. Reasoning the model exposed (``reasoning_content``,
Anthropic ``thinking`` blocks, v1 ``reasoning`` blocks) is kept in the reply as a
``reasoning`` content part so the conversation view shows it.

Shapes follow countersign.gate's steps: LLM ``{"messages": [{role, content,
tool_calls}]}``, tool ``{"tool", "arguments"}`` → ``{"tool", "result"}``. Each LLM
span's input holds only the messages since the previous model reply (the first one
holds everything before it): whole histories per step would grow quadratically.

Ids are derived from the thread and interrupt ids, so reading the same interrupt twice
(after a restart, a second console) stores nothing new.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from countersign.plugin_api import SpanKind, SpanRecord

#: Only the tail of very long conversations is shown.
MAX_MESSAGES = 200
_ROLES = {"ai": "assistant", "human": "user", "system": "system", "tool": "tool",
          "AIMessage": "assistant", "HumanMessage": "user", "SystemMessage": "system",
          "ToolMessage": "tool", "AIMessageChunk": "assistant"}


def trace_id_for(thread_id: str, interrupt_id: str) -> str:
    """The run (trace) id of one interrupt's reasoning chain."""
    return hashlib.sha256(f"langgraph/{thread_id}/{interrupt_id}".encode()).hexdigest()[:32]


def _span_id(trace_id: str, key: str) -> str:
    return hashlib.sha256(f"{trace_id}/{key}".encode()).hexdigest()[:16]


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def _role(message: Mapping[str, Any]) -> str:
    raw = str(message.get("role") or message.get("type") or "?")
    return _ROLES.get(raw, raw)


def _reasoning(message: Mapping[str, Any]) -> str | None:
    """Reasoning text a provider put beside the answer, in the shapes seen in the wild."""
    extra = message.get("additional_kwargs")
    parts: list[str] = []
    if isinstance(extra, Mapping):
        if isinstance(extra.get("reasoning_content"), str):
            parts.append(extra["reasoning_content"])
        summary = (extra.get("reasoning") or {}).get("summary") if isinstance(
            extra.get("reasoning"), Mapping) else None
        for item in summary if isinstance(summary, list) else []:
            if isinstance(item, Mapping) and isinstance(item.get("text"), str):
                parts.append(item["text"])
    content = message.get("content")
    for block in content if isinstance(content, list) else []:
        if isinstance(block, Mapping) and block.get("type") in ("thinking", "reasoning"):
            text = block.get("thinking") or block.get("reasoning") or block.get("text")
            if isinstance(text, str):
                parts.append(text)
    return "\n".join(parts) or None


def _content(message: Mapping[str, Any]) -> Any:
    content = message.get("content")
    if isinstance(content, list):  # drop reasoning blocks: they are shown separately
        content = [b for b in content
                   if not (isinstance(b, Mapping) and b.get("type") in ("thinking", "reasoning"))]
    return content


def _tool_calls(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    calls = message.get("tool_calls")
    out = []
    for call in calls if isinstance(calls, list) else []:
        if not isinstance(call, Mapping):
            continue
        raw_function = call.get("function")
        function: Mapping[str, Any] = raw_function if isinstance(raw_function, Mapping) else {}
        args = call.get("args", call.get("arguments", function.get("arguments")))
        if isinstance(args, str):
            with contextlib.suppress(ValueError):
                args = json.loads(args)
        out.append({"id": call.get("id"), "name": call.get("name") or function.get("name"),
                    "args": args})
    return out


def _plain(message: Mapping[str, Any], *, with_reasoning: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"role": _role(message), "content": _content(message)}
    calls = _tool_calls(message)
    if calls:
        out["tool_calls"] = calls
    if with_reasoning and (reasoning := _reasoning(message)):
        text = out["content"]
        parts = text if isinstance(text, list) else ([{"type": "text", "text": text}]
                                                    if text else [])
        out["content"] = [{"type": "reasoning", "text": f"[reasoning] {reasoning}"}, *parts]
        out["reasoning"] = reasoning
    return out


def _usage(message: Mapping[str, Any]) -> dict[str, int | None]:
    usage = message.get("usage_metadata")
    if not isinstance(usage, Mapping):
        return {}
    details = usage.get("output_token_details") or {}
    cached = (usage.get("input_token_details") or {}).get("cache_read")
    return {"prompt_tokens": usage.get("input_tokens"),
            "completion_tokens": usage.get("output_tokens"),
            "reasoning_tokens": details.get("reasoning") if isinstance(details, Mapping) else None,
            "cached_tokens": cached if isinstance(cached, int) else None}


def _model(message: Mapping[str, Any]) -> str | None:
    meta = message.get("response_metadata")
    if isinstance(meta, Mapping):
        name = meta.get("model_name") or meta.get("model")
        return str(name) if name else None
    return None


def reasoning_spans(
    thread_id: str, interrupt_id: str, values: Any, *, agent: str, end_ns: int,
) -> tuple[list[SpanRecord], str | None]:
    """Spans for the thread's conversation, and the id of the span that proposed the
    action (the last model reply), or ``([], None)`` when the state has no messages."""
    messages = values.get("messages") if isinstance(values, Mapping) else None
    if not isinstance(messages, list):
        return [], None
    messages = [m for m in messages[-MAX_MESSAGES:] if isinstance(m, Mapping)]
    if not messages:
        return [], None
    trace_id = trace_id_for(thread_id, interrupt_id)
    root_id = _span_id(trace_id, "root")
    step_ns = 1_000_000  # messages carry no times: 1 ms apart, ending at `end_ns`
    start_ns = end_ns - step_ns * (len(messages) + 1)
    results = {str(m.get("tool_call_id")): m for m in messages if _role(m) == "tool"}
    spans = [SpanRecord(
        trace_id=trace_id, span_id=root_id, parent_span_id=None,
        name=f"langgraph thread {thread_id}", kind=SpanKind.AGENT, start_ns=start_ns,
        end_ns=end_ns, status_code="unset", status_message=None, agent_name=agent,
        session_id=thread_id,
        attributes_json=_json({"langgraph.thread_id": thread_id,
                               "langgraph.interrupt_id": interrupt_id}),
    )]
    pending: list[dict[str, Any]] = []
    proposer: str | None = None
    for i, message in enumerate(messages):
        at = start_ns + step_ns * (i + 1)
        if _role(message) != "assistant":
            pending.append(_plain(message))
            continue
        span_id = _span_id(trace_id, f"llm/{i}")
        proposer = span_id
        spans.append(SpanRecord(
            trace_id=trace_id, span_id=span_id, parent_span_id=root_id,
            name=_model(message) or "model call", kind=SpanKind.LLM, start_ns=at - step_ns // 2,
            end_ns=at, status_code="ok", status_message=None, model=_model(message),
            input_json=_json({"messages": pending}),
            output_json=_json({"messages": [_plain(message, with_reasoning=True)]}),
            agent_name=agent, session_id=thread_id, **_usage(message),
        ))
        pending = []
        for n, call in enumerate(_tool_calls(message)):
            result = results.get(str(call.get("id")))
            if result is None:  # not run yet: this is (one of) the proposed action(s)
                continue
            failed = result.get("status") == "error"
            spans.append(SpanRecord(
                trace_id=trace_id, span_id=_span_id(trace_id, f"tool/{i}/{n}"),
                parent_span_id=root_id, name=str(call.get("name") or "tool"),
                kind=SpanKind.TOOL, start_ns=at + 1, end_ns=at + step_ns // 2,
                status_code="error" if failed else "ok",
                status_message=str(result.get("content"))[:500] if failed else None,
                input_json=_json({"tool": call.get("name"), "arguments": call.get("args")}),
                output_json=_json({"tool": call.get("name"), "result": result.get("content")}),
                agent_name=agent, session_id=thread_id,
                error_type="tool_error" if failed else None,
            ))
    return spans, proposer
