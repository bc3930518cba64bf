"""Chat messages and retrieved documents of a span, gathered from the ways instrumentations
write them, into one stable shape:

- message: ``{"role", "content", "tool_calls": [{"id", "name", "arguments"}]}`` plus
  ``"tool_call_id"`` on tool results; ``content`` is text or ``None``; ``arguments`` is
  the parsed JSON when the sender gave a JSON string, else what it gave.
- document: ``{"id", "content", "score"}``.

Sources: OpenInference flattened attributes (``llm.input_messages.0.message.role``...),
the OTel GenAI JSON messages with parts (``gen_ai.input.messages``), and the older
OpenLLMetry flattened ones (``gen_ai.prompt.0.role``...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ..jsonio import loads
from .raw import AttrValue

Message = dict[str, Any]

#: (role, content, tool calls prefix, call name, call arguments, call id, result's call id)
_OPENINFERENCE = (
    "message.role",
    "message.content",
    "message.tool_calls.",
    "tool_call.function.name",
    "tool_call.function.arguments",
    "tool_call.id",
    "message.tool_call_id",
)
_OPENLLMETRY = ("role", "content", "tool_calls.", "name", "arguments", "id", "tool_call_id")


def parse_json_text(value: AttrValue) -> AttrValue:
    """A JSON string as the value it encodes; anything else (or broken JSON) unchanged."""
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            parsed: AttrValue = loads(value)
        except (ValueError, RecursionError):
            return value
        return parsed
    return value


#: The flattened lists read here, by key prefix (``{prefix}{index}.{rest}``).
FLAT_LIST_PREFIXES = (
    "llm.input_messages.",
    "llm.output_messages.",
    "gen_ai.prompt.",
    "gen_ai.completion.",
    "retrieval.documents.",
)
FlatLists = dict[str, list[dict[str, AttrValue]]]


_FLAT_KEY = re.compile(
    "(" + "|".join(re.escape(prefix) for prefix in FLAT_LIST_PREFIXES) + r")([0-9]+)\.(.+)",
    re.DOTALL,
)


def flat_lists(attrs: Mapping[str, AttrValue]) -> FlatLists:
    """Every flattened list of ``FLAT_LIST_PREFIXES`` as a list of dicts (``rest`` →
    value), in index order, gathered in one pass over the attributes."""
    groups: dict[str, dict[int, dict[str, AttrValue]]] = {}
    for key, value in attrs.items():
        if key.startswith(FLAT_LIST_PREFIXES):
            match = _FLAT_KEY.match(key)
            if match is not None:
                prefix, index, rest = match.groups()
                groups.setdefault(prefix, {}).setdefault(int(index), {})[rest] = value
    return {prefix: [items[i] for i in sorted(items)] for prefix, items in groups.items()}


def openinference_messages(lists: FlatLists, direction: str) -> list[Message] | None:
    """``llm.input_messages`` / ``llm.output_messages`` (``direction`` input|output)."""
    items = lists.get(f"llm.{direction}_messages.")
    return [_flat_message(fields, _OPENINFERENCE) for fields in items] if items else None


def openllmetry_messages(lists: FlatLists, direction: str) -> list[Message] | None:
    """``gen_ai.prompt`` / ``gen_ai.completion`` (deprecated, still common)."""
    items = lists.get("gen_ai.prompt." if direction == "input" else "gen_ai.completion.")
    return [_flat_message(fields, _OPENLLMETRY) for fields in items] if items else None


def _flat_message(fields: dict[str, AttrValue], names: tuple[str, ...]) -> Message:
    role_key, content_key, calls_prefix, name_key, args_key, id_key, result_key = names
    content = fields.get(content_key)
    if content is None:  # OpenInference: message.contents.{k}.message_content.text
        parts = _indexed(fields, "message.contents.")
        texts = [
            part.get("message_content.text")
            for part in parts
            if part.get("message_content.type", "text") == "text"
        ]
        content = "\n".join(t for t in texts if isinstance(t, str)) or None
    calls = [
        _tool_call(call.get(id_key), call.get(name_key), call.get(args_key))
        for call in _indexed(fields, calls_prefix)
    ]
    legacy_name = fields.get("message.function_call_name")
    if legacy_name is not None:  # OpenInference's older single function call
        calls.append(
            _tool_call(None, legacy_name, fields.get("message.function_call_arguments_json"))
        )
    message: Message = {"role": _text(fields.get(role_key)), "content": _content(content)}
    message["tool_calls"] = calls
    call_id = fields.get(result_key)
    if call_id is not None:
        message["tool_call_id"] = _text(call_id)
    return message


def _indexed(attrs: Mapping[str, AttrValue], prefix: str) -> list[dict[str, AttrValue]]:
    """Flattened list items (``{prefix}{i}.{rest}`` keys) as dicts of ``rest``, in
    index order; gaps in the numbering are skipped."""
    by_index: dict[int, dict[str, AttrValue]] = {}
    size = len(prefix)
    for key, value in attrs.items():
        if key.startswith(prefix):
            index, _, rest = key[size:].partition(".")
            if index.isdigit() and rest:
                by_index.setdefault(int(index), {})[rest] = value
    return [by_index[i] for i in sorted(by_index)]


def genai_messages(value: AttrValue, system: AttrValue = None) -> list[Message] | None:
    """``gen_ai.input.messages`` / ``gen_ai.output.messages`` (JSON text or structured),
    with ``gen_ai.system_instructions`` as a leading system message."""
    messages: list[Message] = []
    instructions = parse_json_text(system)
    if instructions is not None:
        text = instructions if isinstance(instructions, str) else _parts(instructions)[0]
        messages.append({"role": "system", "content": text, "tool_calls": []})
    parsed = parse_json_text(value)
    if isinstance(parsed, list):
        messages.extend(_genai_message(item) for item in parsed)
    elif parsed is not None:  # not the documented shape: keep it visible as text
        messages.append({"role": None, "content": _content(parsed), "tool_calls": []})
    return messages or None


def _genai_message(item: AttrValue) -> Message:
    if not isinstance(item, dict):
        return {"role": None, "content": _content(item), "tool_calls": []}
    content, calls, call_id = _parts(item.get("parts"))
    if content is None and "content" in item:
        content = _content(item["content"])
    message: Message = {"role": _text(item.get("role")), "content": content}
    message["tool_calls"] = calls
    if call_id is not None:
        message["tool_call_id"] = call_id
    return message


def _parts(parts: AttrValue) -> tuple[str | None, list[dict[str, Any]], str | None]:
    """(joined text, tool calls, id of the tool call answered) of GenAI message parts."""
    if not isinstance(parts, list):
        return _content(parts), [], None
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    call_id = None
    for part in parts:
        if not isinstance(part, dict):
            continue
        kind, text = part.get("type"), part.get("content")
        if kind == "text" and isinstance(text, str):
            texts.append(text)
        elif kind == "tool_call":
            calls.append(_tool_call(part.get("id"), part.get("name"), part.get("arguments")))
        elif kind == "tool_call_response":
            call_id = _text(part.get("id"))
            texts.append(_content(part.get("response")) or "")
    return ("\n".join(texts) if texts else None), calls, call_id


def _tool_call(call_id: AttrValue, name: AttrValue, arguments: AttrValue) -> dict[str, Any]:
    return {"id": _text(call_id), "name": _text(name), "arguments": parse_json_text(arguments)}


def _text(value: AttrValue) -> str | None:
    return None if value is None else value if isinstance(value, str) else str(value)


def _content(value: AttrValue) -> str | None:
    """Message content as text: structured content becomes its JSON text."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


# --- documents ---------------------------------------------------------------------


def openinference_documents(lists: FlatLists) -> list[Message] | None:
    """``retrieval.documents.{i}.document.id|content|score``."""
    documents = [
        _document(item.get("document.id"), item.get("document.content"), item.get("document.score"))
        for item in lists.get("retrieval.documents.", ())
    ]
    return documents or None


def genai_documents(value: AttrValue) -> list[Message] | None:
    """``gen_ai.retrieval.documents``: ``[{"id", "score", "content"?}]``, JSON or not."""
    parsed = parse_json_text(value)
    if not isinstance(parsed, list):
        return None
    return [
        _document(doc.get("id"), doc.get("content"), doc.get("score"))
        for doc in parsed
        if isinstance(doc, dict)
    ]


def _document(doc_id: AttrValue, content: AttrValue, score: AttrValue) -> Message:
    number = score if isinstance(score, int | float) and not isinstance(score, bool) else None
    return {"id": _text(doc_id), "content": _content(content), "score": number}
