"""What a span says, read from its JSON fields into what the detail view shows: the
conversation of an LLM call, the arguments and result of a tool call, the query and
documents of a retrieval, events and errors. No widgets here.

Two producers write these fields and their shapes differ slightly (the gate's
``app/gate/steps.py`` and the OTLP normaliser ``app/traces/normalize.py``): tool
output is ``{"tool", "result"}`` from one and ``{"result"}`` from the other; message
content may be ``None``; tool calls are ``{"id", "name", "arguments"}`` or OpenAI's
``{"function": {"name", "arguments"}}`` or LangChain's ``{"name", "args"}``; a
retrieval's input is ``{"query"}`` or a bare string. Everything is untrusted: what
does not have a known shape is still shown, as JSON.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

from countersign.domain import SpanKind, SpanRecord
from countersign.jsonio import JsonInputError, loads
from countersign.text import duration_text, one_line

from ..widgets.diff import readable_json
from ..widgets.text import Section

#: JSON text longer than this is shown as text, not parsed on the GUI thread.
MAX_PARSE_CHARS = 1_000_000


@dataclass(frozen=True)
class ParsedJson:
    """A span's JSON field: the value, or the raw text and why it is not parsed."""

    value: Any = None
    raw: str | None = None
    reason: str | None = None
    present: bool = True


ABSENT = ParsedJson(present=False)


def parse_field(text: str | None) -> ParsedJson:
    if text is None:
        return ABSENT
    if len(text) > MAX_PARSE_CHARS:
        return ParsedJson(raw=text, reason=f"{len(text):,} characters: shown as text "
                          "(too big to parse without stalling the window)")
    try:
        return ParsedJson(value=loads(text))
    except (JsonInputError, ValueError) as exc:
        return ParsedJson(raw=text, reason=f"Not valid JSON: {exc}")


@dataclass(frozen=True)
class Document:
    """One retrieved document; ``content`` is untrusted."""

    rank: int
    id: str
    content: str
    score: float | None


def _text_of(content: Any) -> str:
    """Message content as text: a string, the text parts of a part list, or JSON."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] if isinstance(p, dict) and isinstance(p.get("text"), str)
                         else readable_json(p) for p in content)
    return "" if content is None else readable_json(content)


def tool_call(call: Any) -> tuple[str, str, Any]:
    """(name, id, arguments) of a normalised, OpenAI- or LangChain-style tool call."""
    if not isinstance(call, dict):
        return "?", "", call
    found = call.get("function")
    function: dict[str, Any] = found if isinstance(found, dict) else {}
    name = call.get("name") or function.get("name") or "?"
    args = call.get("arguments", call.get("args", function.get("arguments")))
    if isinstance(args, str) and args.lstrip()[:1] in ("{", "["):
        with contextlib.suppress(ValueError, RecursionError):
            args = json.loads(args)
    return str(name), str(call.get("id") or ""), args


def conversation(value: Any, *, reply: bool) -> list[Section]:
    """Sections for ``{"messages": [...]}``: a role header and the text, then each
    tool call with its arguments as JSON. Empty when ``value`` has no messages."""
    messages = value.get("messages") if isinstance(value, dict) else None
    if not isinstance(messages, list):
        return []
    sections: list[Section] = []
    for message in messages:
        if not isinstance(message, dict):
            sections.append(Section("MESSAGE (unrecognised shape)", readable_json(message)))
            continue
        role = message.get("role")
        title = one_line(str(role), 40).upper() if role is not None else "(NO ROLE)"
        if reply:
            title += " — reply"
        answered = message.get("tool_call_id")
        if answered:
            title += f" — result of call {one_line(str(answered), 60)}"
        calls = message.get("tool_calls")
        calls = calls if isinstance(calls, list) else []
        text = _text_of(message.get("content"))
        if text or not calls:
            sections.append(Section(title, text))
        for call in calls:
            name, call_id, args = tool_call(call)
            suffix = f" ({one_line(call_id, 60)})" if call_id else ""
            sections.append(Section(f"{title} → calls {one_line(name, 80)}{suffix}",
                                    args if isinstance(args, str) else readable_json(args)))
    return sections


def tool_parts(span: SpanRecord, inp: ParsedJson, out: ParsedJson) -> tuple[Any, Any] | None:
    """(arguments, result) of a tool span, or None when it has neither shape."""
    if span.kind is not SpanKind.TOOL:
        return None
    has_args = isinstance(inp.value, dict) and "arguments" in inp.value
    has_result = isinstance(out.value, dict) and "result" in out.value
    if not has_args and not has_result:
        return None
    return (inp.value["arguments"] if has_args else None,
            out.value["result"] if has_result else None)


def retrieval_query(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("query"), str):
        return str(value["query"])
    return None


def documents(value: Any) -> list[Document] | None:
    """The retrieved documents of ``{"documents": [...]}``, or None for another shape."""
    docs = value.get("documents") if isinstance(value, dict) else None
    if not isinstance(docs, list):
        return None
    out = []
    for rank, doc in enumerate(docs, 1):
        if not isinstance(doc, dict):
            out.append(Document(rank, "?", readable_json(doc), None))
            continue
        score = doc.get("score")
        number = float(score) if isinstance(score, int | float) and not isinstance(
            score, bool) else None
        doc_id = doc.get("id")
        out.append(Document(rank, "" if doc_id is None else str(doc_id),
                            _text_of(doc.get("content")), number))
    return out


def events(span: SpanRecord) -> list[dict[str, Any]]:
    parsed = parse_field(span.events_json)
    value = parsed.value
    return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []


def event_sections(span: SpanRecord, items: list[dict[str, Any]]) -> list[Section]:
    """Each event with its time after the span's start; exceptions in full."""
    sections = []
    for event in items:
        name = one_line(str(event.get("name", "?")), 80)
        at = event.get("time_ns")
        when = (f"+{duration_text(max(0, at - span.start_ns))}"
                if isinstance(at, int) and not isinstance(at, bool) else "(no time)")
        attrs = event.get("attributes")
        attrs = attrs if isinstance(attrs, dict) else {}
        if name == "exception":
            sections.append(Section(f"{when} · exception", exception_text(attrs), error=True))
        else:
            sections.append(Section(f"{when} · {name}",
                                    readable_json(attrs) if attrs else "(no attributes)"))
    return sections


def exception_text(attrs: dict[str, Any]) -> str:
    kind = attrs.get("exception.type")
    message = attrs.get("exception.message")
    head = ": ".join(str(p) for p in (kind, message) if p is not None) or "exception"
    trace = attrs.get("exception.stacktrace")
    return f"{head}\n\n{trace}" if isinstance(trace, str) and trace else head


def error_sections(span: SpanRecord, failed: bool, items: list[dict[str, Any]]) -> list[Section]:
    """Status message, error type and every exception's stack trace (empty when the
    span neither failed nor recorded an exception)."""
    exceptions = [e for e in items if e.get("name") == "exception"]
    if not failed and not exceptions:
        return []
    sections = []
    if failed:
        sections.append(Section("STATUS", f"{span.status_code}: "
                                f"{span.status_message or '(no message)'}", error=True))
        if span.error_type:
            sections.append(Section("ERROR TYPE", span.error_type, error=True))
    for event in exceptions:
        attrs = event.get("attributes")
        sections.append(Section("EXCEPTION", exception_text(attrs if isinstance(attrs, dict)
                                                            else {}), error=True))
    return sections
