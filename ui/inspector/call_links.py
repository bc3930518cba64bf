"""Which LLM call asked for a tool span, and which tool spans carried out an LLM call's
tool calls, matched by the tool call id (issue 15: the id the model gave the call, kept
on the tool span's input as ``call_id`` by the trace normaliser, and on the LLM span's
reply as ``tool_calls[].id``).

No Qt here. The look-ups scan the run's JSON text for the id before parsing a
candidate (a substring test costs microseconds per span, parsing every reply of a
10,000-span run would not), and are made only for the span on screen.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

from countersign.domain import SpanKind, SpanRecord

from .run_tree import RunTree, SpanNode
from .span_content import tool_call

#: LLM calls with more tool calls than this list only the first ones.
MAX_CALLS = 12


@dataclass(frozen=True)
class ToolCallLink:
    """One tool call an LLM call asked for, and the tool span that carried it out
    (None when no span of the run carries its id)."""

    name: str
    call_id: str
    node: SpanNode | None


def _parse(text: str | None) -> Any:
    if not text:
        return None
    with contextlib.suppress(ValueError, RecursionError):
        return json.loads(text)
    return None


def tool_call_id(span: SpanRecord) -> str | None:
    """The call id a tool span answers, or None (the gate's tool steps have none)."""
    if span.kind is not SpanKind.TOOL:
        return None
    value = _parse(span.input_json)
    found = value.get("call_id") if isinstance(value, dict) else None
    return found if isinstance(found, str) and found else None


def requested_calls(span: SpanRecord) -> list[tuple[str, str]]:
    """(tool name, call id) of each tool call in an LLM call's reply that has an id."""
    if span.kind is not SpanKind.LLM:
        return []
    value = _parse(span.output_json)
    messages = value.get("messages") if isinstance(value, dict) else None
    calls: list[tuple[str, str]] = []
    for message in messages if isinstance(messages, list) else ():
        found = message.get("tool_calls") if isinstance(message, dict) else None
        for call in found if isinstance(found, list) else ():
            name, call_id, _args = tool_call(call)
            if call_id:
                calls.append((name, call_id))
    return calls


def _needle(call_id: str) -> str:
    """What the id looks like inside JSON text (quoted, escaped as json.dumps does)."""
    return json.dumps(call_id)[1:-1]


def _start(node: SpanNode) -> int:
    return node.span.start_ns if node.span is not None else 0


def requesting_call(tree: RunTree, node: SpanNode) -> SpanNode | None:
    """The LLM call whose reply asked for the tool call ``node`` carried out: the
    latest such call that started before the tool span (a retried call repeats ids)."""
    span = node.span
    call_id = tool_call_id(span) if span is not None else None
    if span is None or call_id is None:
        return None
    needle = _needle(call_id)
    found = [other for other in tree.nodes
             if other.span is not None and other.span.kind is SpanKind.LLM
             and other.span.output_json and needle in other.span.output_json
             and call_id in (cid for _name, cid in requested_calls(other.span))]
    before = [other for other in found if _start(other) <= span.start_ns]
    return max(before, key=_start) if before else min(found, key=_start, default=None)


def tool_calls(tree: RunTree, node: SpanNode) -> list[ToolCallLink]:
    """The tool calls an LLM call asked for, each with the tool span that carried it
    out: the first one starting after the call did (a retry repeats the id)."""
    span = node.span
    calls = requested_calls(span)[:MAX_CALLS] if span is not None else []
    if span is None or not calls:
        return []
    needles = {call_id: _needle(call_id) for _name, call_id in calls}
    found: dict[str, list[SpanNode]] = {}
    for other in tree.nodes:
        text = other.span.input_json if other.span is not None else None
        if not text or other.span is None or other.span.kind is not SpanKind.TOOL:
            continue
        if any(needle in text for needle in needles.values()):
            call_id = tool_call_id(other.span)
            if call_id in needles:
                found.setdefault(call_id, []).append(other)

    def carried_out(call_id: str) -> SpanNode | None:
        spans = found.get(call_id, [])
        after = [other for other in spans if _start(other) >= span.start_ns]
        return min(after, key=_start) if after else max(spans, key=_start, default=None)

    return [ToolCallLink(name, call_id, carried_out(call_id)) for name, call_id in calls]
