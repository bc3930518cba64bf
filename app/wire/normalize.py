"""Raw spans → ``SpanRecord``: what a span *is* (LLM call, tool call, retrieval...) and
its model, tokens, cost, input and output, read from OpenInference and OTel GenAI
attributes (including GenAI's deprecated names). The raw attributes and events are
kept as canonical JSON next to the normalised fields.

Input and output are JSON text with a stable shape per kind, so viewers need no
knowledge of the conventions:

- LLM: ``{"messages": [{"role", "content", "tool_calls": [...]}]}`` (see messages.py)
- tool: input ``{"tool", "call_id", "arguments"}``, output ``{"result"}``
- retriever: output ``{"documents": [{"id", "content", "score"}]}``
- anything else (and LLM/retriever spans without those attributes): ``input.value`` /
  ``output.value``, parsed when their mime type is JSON, else the text as a JSON string.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..domain import SpanKind, SpanRecord
from ..jsonio import canonical_json, loads
from . import conventions, messages
from .raw import NESTED_TOO_DEEP, AttrValue, RawEvent, RawSpan
from .safe_text import safe_json, safe_plain

_OPENINFERENCE_KINDS = {kind.value.upper(): kind for kind in SpanKind}
_GENAI_OPERATION_KINDS = {
    "chat": SpanKind.LLM,
    "text_completion": SpanKind.LLM,
    "generate_content": SpanKind.LLM,
    "execute_tool": SpanKind.TOOL,
    "invoke_agent": SpanKind.AGENT,
    "create_agent": SpanKind.AGENT,
    "embeddings": SpanKind.EMBEDDING,
    "retrieval": SpanKind.RETRIEVER,
    "invoke_workflow": SpanKind.CHAIN,
}
_STATUS = {0: "unset", 1: "ok", 2: "error"}
#: The model that answered before the one asked for, in both conventions.
_MODEL_KEYS = (
    "llm.model_name",
    "llm.response.model_name",
    "gen_ai.response.model",
    "llm.request.model_name",
    "gen_ai.request.model",
)
_PROVIDER_KEYS = ("llm.provider", "gen_ai.provider.name", "gen_ai.system", "llm.system")
_PROMPT_KEYS = ("llm.token_count.prompt", "gen_ai.usage.input_tokens",
                "gen_ai.usage.prompt_tokens")
_COMPLETION_KEYS = ("llm.token_count.completion", "gen_ai.usage.output_tokens",
                    "gen_ai.usage.completion_tokens")
_CACHED_KEYS = ("llm.token_count.prompt_details.cache_read",
                "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens")
_REASONING_KEYS = ("llm.token_count.completion_details.reasoning",
                   "gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens")
_AGENT_KEYS = ("agent.name", "gen_ai.agent.name")
_SESSION_KEYS = ("session.id", "gen_ai.conversation.id")
_COST_KEYS = frozenset({"llm.cost.total", "llm.cost.prompt", "llm.cost.completion"})
(_MODEL_SET, _PROVIDER_SET, _PROMPT_SET, _COMPLETION_SET, _CACHED_SET, _REASONING_SET,
 _AGENT_SET, _SESSION_SET) = (frozenset(keys) for keys in (
    _MODEL_KEYS, _PROVIDER_KEYS, _PROMPT_KEYS, _COMPLETION_KEYS, _CACHED_KEYS,
    _REASONING_KEYS, _AGENT_KEYS, _SESSION_KEYS))
_FIELD_KEYS = _COST_KEYS.union(
    _MODEL_SET, _PROVIDER_SET, _PROMPT_SET, _COMPLETION_SET, _CACHED_SET, _REASONING_SET,
    _AGENT_SET, _SESSION_SET)
#: The store's column widths (PostgreSQL enforces them); longer values are cut.
_MAX_NAME = 200
_MAX_PROVIDER = 100
_INT32_MAX = 2**31 - 1


@dataclass(frozen=True, slots=True)
class AgentIdentity:
    """Who produced a span, for linking runs to agents. ``id`` is the agent's own id
    when it sends one (``gen_ai.agent.id``); the store falls back to the name."""

    id: str | None
    name: str | None
    version: str | None


#: A span as the store's insert parameters: its `SpanRecord` fields in order, the kind
#: as its text value. What the ingest pipeline moves between processes.
SpanValues = tuple[Any, ...]
SPAN_FIELDS = tuple(SpanRecord.model_fields)
_KINDS = {kind.value: kind for kind in SpanKind}
_KIND_VALUES = {kind: kind.value for kind in SpanKind}  # Enum.value is a slow descriptor


def normalize_spans(spans: Iterable[RawSpan]) -> list[SpanRecord]:
    return [normalize_span(span) for span in spans]


def normalize_span(span: RawSpan) -> SpanRecord:
    """The span as the store and the Traces workspace see it."""
    return span_record(normalize_values(span))


def span_record(values: SpanValues) -> SpanRecord:
    fields = dict(zip(SPAN_FIELDS, values, strict=True))
    fields["kind"] = _KINDS[fields["kind"]]
    return SpanRecord(**fields)


def normalize_values(span: RawSpan) -> SpanValues:
    """The span's insert parameters, ready for the store: text the store cannot take
    (NUL, over-wide values) already made safe. Never raises on odd attribute values:
    a field that cannot be read is left ``None``."""
    attrs = span.attributes
    get = attrs.get
    kind = span_kind(attrs)
    status = _STATUS.get(span.status_code, "unset")
    input_json, output_json = _input_output(kind, attrs)
    # One set operation says which of the fields below the span carries at all: most
    # spans carry few, and the lookups of the others are skipped.
    present = attrs.keys() & _FIELD_KEYS
    cost = None
    if present & _COST_KEYS:
        cost = _number(get("llm.cost.total"))
        if cost is None:
            prompt_cost = _number(get("llm.cost.prompt"))
            completion_cost = _number(get("llm.cost.completion"))
            if prompt_cost is not None or completion_cost is not None:
                cost = (prompt_cost or 0.0) + (completion_cost or 0.0)
    message = span.status_message
    # Repairs the decoder made, and those made here: text that reaches this point
    # unencodable (lone surrogates inside message JSON texts, parsed above) is made
    # safe and noted, so one span can never fail a batch's insert.
    warnings = list(span.warnings)
    agent = _first_text(attrs, _MAX_NAME, _AGENT_KEYS) if present & _AGENT_SET else None
    if agent is None and "metadata" in attrs:
        found = conventions.langchain_agent(attrs)
        agent = None if found is None else _no_nul(found[:_MAX_NAME])
    service = conventions.service_name(span.resource_attributes)
    scope = span.scope_name
    values = (
        span.trace_id,
        span.span_id,
        span.parent_span_id,
        safe_plain(_no_nul(span.name), "name", warnings),
        _KIND_VALUES[kind],
        span.start_ns,
        span.end_ns,
        status,
        None if message is None else safe_plain(_no_nul(message), "status.message", warnings),
        _first_text(attrs, _MAX_NAME, _MODEL_KEYS) if present & _MODEL_SET else None,
        _first_text(attrs, _MAX_PROVIDER, _PROVIDER_KEYS) if present & _PROVIDER_SET else None,
        None if input_json is None else safe_json(input_json, "input", warnings),
        None if output_json is None else safe_json(output_json, "output", warnings),
        _first_count(attrs, _PROMPT_KEYS) if present & _PROMPT_SET else None,
        _first_count(attrs, _COMPLETION_KEYS) if present & _COMPLETION_SET else None,
        _first_count(attrs, _CACHED_KEYS) if present & _CACHED_SET else None,
        _first_count(attrs, _REASONING_KEYS) if present & _REASONING_SET else None,
        cost,
        agent,
        _first_text(attrs, _MAX_NAME, _SESSION_KEYS) if present & _SESSION_SET else None,
        _error_type(span) if status == "error" else None,
        safe_json(canonical_json(attrs), "attributes", warnings),
        safe_json(canonical_json([_event(e) for e in span.events]), "events", warnings)
        if span.events else "[]",
        None if service is None else _no_nul(service[:_MAX_NAME]),
        None if scope is None else _no_nul(scope[:_MAX_NAME]),
        canonical_json(warnings) if warnings else "[]",
    )
    return values


def span_kind(attrs: Mapping[str, AttrValue]) -> SpanKind:
    """OpenInference's kind wins; else the GenAI operation; else what the span's keys
    imply (a model with token counts is a model call...); else unknown."""
    value = attrs.get("openinference.span.kind")
    if isinstance(value, str):
        kind = _OPENINFERENCE_KINDS.get(value.upper())
        if kind is not None:
            return kind
    operation = attrs.get("gen_ai.operation.name")
    if isinstance(operation, str):
        name = operation.strip().lower()
        found = _GENAI_OPERATION_KINDS.get(name) or conventions.GENAI_OPERATION_ALIASES.get(name)
        if found is not None:
            return found
    # Nothing declared (older GenAI and OpenInference code): what the keys imply.
    return conventions.implicit_kind(attrs)


def agent_identity(span: RawSpan) -> AgentIdentity | None:
    """The agent a span speaks for, or ``None`` when it names none. Resource attributes
    (``service.name``) name a process, not an agent, and are not used."""
    attrs = span.attributes
    identity = AgentIdentity(
        id=_first_text(attrs, _MAX_NAME, ("gen_ai.agent.id",)),
        name=_first_text(attrs, _MAX_NAME, ("gen_ai.agent.name", "agent.name")),
        version=_first_text(attrs, 100, ("gen_ai.agent.version",)),
    )
    return identity if identity.id is not None or identity.name is not None else None


def _event(event: RawEvent) -> dict[str, Any]:
    return {"name": event.name, "time_ns": event.time_ns, "attributes": event.attributes}


def _input_output(kind: SpanKind, attrs: Mapping[str, AttrValue]) -> tuple[str | None, str | None]:
    if kind is SpanKind.TOOL:
        input_value, output_value = _tool_input_output(attrs)
    elif kind is SpanKind.LLM:
        # Messages first; input.value / output.value (often the raw request) as fallback.
        conversation = _Conversation(attrs)
        input_value = _wrap_messages(conversation.messages("input"))
        output_value = _wrap_messages(conversation.messages("output"))
        if input_value is None:
            input_value = _mime_value(attrs, "input")
        if output_value is None:
            output_value = _mime_value(attrs, "output")
    else:
        input_value = _mime_value(attrs, "input")
        output_value = _mime_value(attrs, "output")
        conversation = _Conversation(attrs)
        if kind is SpanKind.RETRIEVER:
            documents = messages.openinference_documents(conversation.lists())
            if documents is None:
                documents = messages.genai_documents(attrs.get("gen_ai.retrieval.documents"))
            if documents is not None:
                output_value = {"documents": documents}
            if input_value is None:
                input_value = attrs.get("gen_ai.retrieval.query.text")
        # Agent spans in GenAI carry the conversation as messages, not input.value.
        if input_value is None:
            input_value = _wrap_messages(conversation.messages("input"))
        if output_value is None:
            output_value = _wrap_messages(conversation.messages("output"))
    return _json_or_marker(input_value), _json_or_marker(output_value)


def _json_or_marker(value: Any) -> str | None:
    """Canonical JSON of a value parsed from the span's JSON texts, which (unlike the
    attributes) no depth cap has bounded; too deep to encode becomes the marker."""
    if value is None:
        return None
    try:
        return canonical_json(value)
    except RecursionError:
        return canonical_json(NESTED_TOO_DEEP)


class _Conversation:
    """Finds a span's chat messages. GenAI's JSON messages come first unless the span
    says it is OpenInference; then OpenInference's flattened keys, then OpenLLMetry's.
    The scan for flattened keys runs at most once per span."""

    __slots__ = ("_attrs", "_lists")

    def __init__(self, attrs: Mapping[str, AttrValue]) -> None:
        self._attrs = attrs
        self._lists: messages.FlatLists | None = None

    def lists(self) -> messages.FlatLists:
        if self._lists is None:
            self._lists = messages.flat_lists(self._attrs)
        return self._lists

    def messages(self, direction: str) -> list[Any] | None:
        attrs = self._attrs
        genai = attrs.get(f"gen_ai.{direction}.messages")
        system = attrs.get("gen_ai.system_instructions") if direction == "input" else None
        has_genai = genai is not None or system is not None
        if has_genai and "openinference.span.kind" not in attrs:
            return messages.genai_messages(genai, system)
        found = messages.openinference_messages(self.lists(), direction)
        if found is None and has_genai:
            found = messages.genai_messages(genai, system)
        if found is None:
            found = messages.openllmetry_messages(self.lists(), direction)
        return found


def _tool_input_output(attrs: Mapping[str, AttrValue]) -> tuple[Any, Any]:
    """A tool call's name, call id, arguments and result, from whichever conventions
    the span carries. When GenAI's arguments and OpenInference's ``input.value`` both
    exist and disagree, the one that is not a JSON Schema wins (see conventions.py);
    the call id comes from the attributes, else from the LangChain ``ToolCall`` in the
    input or the ``ToolMessage`` in the output."""
    get = attrs.get
    genai: Any = get("gen_ai.tool.call.arguments")
    if genai is not None:
        genai = messages.parse_json_text(genai)
    input_call_id, openinference = conventions.tool_call_of_input(
        messages.parse_json_text(_mime_value(attrs, "input")))
    arguments = conventions.choose_arguments(genai, openinference)
    if arguments is None:  # the tool's parameter definition, as a last resort
        arguments = messages.parse_json_text(get("tool.parameters"))
    result: Any = get("gen_ai.tool.call.result")
    output_call_id = None
    if result is not None:
        result = messages.parse_json_text(result)
    else:
        output_call_id, result = conventions.tool_message(
            messages.parse_json_text(_mime_value(attrs, "output")))
    call_id = _first_text(attrs, None, ("gen_ai.tool.call.id", "tool_call.id", "tool.id"))
    tool = {
        "tool": _first_text(attrs, None, ("tool.name", "gen_ai.tool.name")),
        "call_id": call_id or input_call_id or output_call_id,
        "arguments": arguments,
    }
    return tool, (None if result is None else {"result": result})


def _wrap_messages(found: list[Any] | None) -> dict[str, Any] | None:
    return None if found is None else {"messages": found}


def _mime_value(attrs: Mapping[str, AttrValue], direction: str) -> Any:
    """``input.value`` / ``output.value``: parsed when declared JSON, else as given."""
    value = attrs.get(f"{direction}.value")
    mime = attrs.get(f"{direction}.mime_type")
    if isinstance(value, str) and isinstance(mime, str) and "json" in mime.lower():
        try:
            return loads(value)
        except (ValueError, RecursionError):
            return value
    return value


def _error_type(span: RawSpan) -> str | None:
    error = _first_text(span.attributes, _MAX_NAME, ("error.type",))
    if error is not None:
        return error
    for event in span.events:
        if event.name == "exception":
            found = _first_text(event.attributes, _MAX_NAME, ("exception.type",))
            if found is not None:
                return found
    return None


def _first_text(
    attrs: Mapping[str, AttrValue], limit: int | None, keys: tuple[str, ...]
) -> str | None:
    """The first of ``keys`` with a non-empty value, as text cut to ``limit``."""
    for key in keys:
        value = attrs.get(key)
        if value is None or value == "":
            continue
        text = value if type(value) is str else str(value)
        if limit is not None and len(text) > limit:
            text = text[:limit]
        return _no_nul(text)
    return None


def _no_nul(text: str) -> str:
    """PostgreSQL refuses NUL in text; it is shown as U+FFFD on both stores."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def _first_count(attrs: Mapping[str, AttrValue], keys: tuple[str, ...]) -> int | None:
    """A token count: a non-negative integer (also as an integral float or a digit
    string) that fits the store's 32-bit column; anything else is ignored."""
    for key in keys:
        value = attrs.get(key)
        if value is None:
            continue
        if type(value) is int:
            if 0 <= value <= _INT32_MAX:
                return value
            continue
        if isinstance(value, bool):
            continue
        if isinstance(value, str):
            digits = value.isascii() and value.isdigit() and len(value) <= 10
            value = int(value) if digits else None
        elif isinstance(value, float):
            value = int(value) if value.is_integer() else None
        if isinstance(value, int) and 0 <= value <= _INT32_MAX:
            return value
    return None


def _number(value: AttrValue) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None
