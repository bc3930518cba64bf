"""What the conventions leave implicit, read from what instrumentations really send:

- a span's kind when it does not declare one: older GenAI spans carry
  ``gen_ai.system``, a model and token counts but no ``gen_ai.operation.name``;
  OpenInference spans from older instrumentations carry ``llm.*`` or ``tool.*`` keys
  without ``openinference.span.kind``;
- the agent of a LangChain / LangGraph span, which OpenInference puts only inside the
  ``metadata`` JSON (``lc_agent_name``, or the LangGraph checkpoint namespace when the
  span runs inside a sub-agent's graph);
- a tool call's id where only the tool's result names it (LangChain's ``ToolMessage``
  in ``output.value``), and its arguments when two conventions disagree (the OpenAI
  Agents instrumentor writes the tool's JSON Schema into ``gen_ai.tool.call.arguments``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..domain import SpanKind
from ..jsonio import loads
from .raw import AttrValue

_LLM_HINTS = (
    "llm.model_name", "llm.token_count.prompt", "llm.token_count.completion",
    "llm.token_count.total", "llm.invocation_parameters", "llm.provider", "llm.system",
    "gen_ai.request.model", "gen_ai.response.model", "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens", "gen_ai.usage.prompt_tokens",
    "gen_ai.usage.completion_tokens", "gen_ai.input.messages", "gen_ai.output.messages",
)
_LLM_PREFIXES = ("llm.input_messages.", "llm.output_messages.", "gen_ai.prompt.",
                 "gen_ai.completion.")
_EMBEDDING_PREFIXES = ("embedding.",)
_TOOL_HINTS = ("tool.name", "gen_ai.tool.name", "gen_ai.tool.call.id",
               "gen_ai.tool.call.arguments")
_RETRIEVER_HINTS = ("gen_ai.retrieval.documents", "gen_ai.retrieval.query.text")
_RETRIEVER_PREFIXES = ("retrieval.documents.",)
_AGENT_HINTS = ("gen_ai.agent.name", "gen_ai.agent.id", "agent.name")
#: GenAI operation names seen in the wild beside the documented ones.
GENAI_OPERATION_ALIASES = {
    "completion": SpanKind.LLM,
    "completions": SpanKind.LLM,
    "chat_completion": SpanKind.LLM,
    "chat.completions": SpanKind.LLM,
    "responses": SpanKind.LLM,
    "embedding": SpanKind.EMBEDDING,
    "tool": SpanKind.TOOL,
    "agent": SpanKind.AGENT,
    "handoff": SpanKind.AGENT,
}


def implicit_kind(attrs: Mapping[str, AttrValue]) -> SpanKind:
    """The kind a span's keys imply when it names none (or an unknown one). A model
    with token counts or messages is a model call; an embedding model an embedding;
    a tool name a tool call; documents a retrieval; an agent name alone an agent."""
    keys = attrs.keys()
    if any(key.startswith(_EMBEDDING_PREFIXES) for key in keys):
        return SpanKind.EMBEDDING
    if any(key in attrs for key in _TOOL_HINTS):
        return SpanKind.TOOL
    if any(key in attrs for key in _RETRIEVER_HINTS) or any(
        key.startswith(_RETRIEVER_PREFIXES) for key in keys
    ):
        return SpanKind.RETRIEVER
    if any(key in attrs for key in _LLM_HINTS) or any(
        key.startswith(_LLM_PREFIXES) for key in keys
    ):
        return SpanKind.LLM
    if "gen_ai.system" in attrs and "gen_ai.request.model" in attrs:
        return SpanKind.LLM
    if any(key in attrs for key in _AGENT_HINTS):
        return SpanKind.AGENT
    return SpanKind.UNKNOWN


# --- agents ------------------------------------------------------------------------


def langchain_agent(attrs: Mapping[str, AttrValue]) -> str | None:
    """The agent named in OpenInference-LangChain's ``metadata``: ``lc_agent_name``
    (``create_agent(name=...)``), else the sub-agent whose graph the span runs in
    (the node holding the subgraph, from ``langgraph_checkpoint_ns`` /
    ``checkpoint_ns``: ``"research_agent:<id>|model:<id>"`` runs inside
    ``research_agent``)."""
    metadata = attrs.get("metadata")
    if isinstance(metadata, str):
        if "lc_agent_name" not in metadata and "checkpoint_ns" not in metadata:
            return None
        try:
            metadata = loads(metadata)
        except (ValueError, RecursionError):
            return None
    if not isinstance(metadata, dict):
        return None
    name = metadata.get("lc_agent_name")
    if isinstance(name, str) and name.strip():
        return name.strip()
    for key in ("langgraph_checkpoint_ns", "checkpoint_ns"):
        namespace = metadata.get(key)
        if isinstance(namespace, str) and "|" in namespace:
            outer = namespace.split("|")[-2].split(":", 1)[0].strip()
            if outer:
                return outer
    return None


def service_name(resource: Mapping[str, AttrValue]) -> str | None:
    """The resource's ``service.name``, unless it is the SDK's placeholder."""
    name = resource.get("service.name")
    if not isinstance(name, str) or not name.strip() or name.startswith("unknown_service"):
        return None
    return name.strip()


# --- tools -------------------------------------------------------------------------


def looks_like_json_schema(value: Any) -> bool:
    """A JSON Schema document (what a tool accepts), not a call's arguments."""
    if not isinstance(value, dict):
        return False
    if "$schema" in value:
        return True
    properties = value.get("properties")
    return value.get("type") == "object" and isinstance(properties, dict) and (
        all(isinstance(p, dict) for p in properties.values())
        and ("required" in value or "additionalProperties" in value or not properties
             or all("type" in p or "$ref" in p or "anyOf" in p for p in properties.values()))
    )


def choose_arguments(genai: Any, openinference: Any) -> Any:
    """The call's arguments when both conventions gave some: GenAI's, unless it is a
    JSON Schema and OpenInference's is not (both stay in the raw attributes)."""
    if genai is None:
        return openinference
    if openinference is None or openinference == genai:
        return genai
    if looks_like_json_schema(genai) and not looks_like_json_schema(openinference):
        return openinference
    return genai


def tool_message(value: Any) -> tuple[str | None, Any]:
    """(tool call id, content) of a LangChain ``ToolMessage`` as OpenInference writes it
    into ``output.value`` (plain, ``message_to_dict``'s or ``dumpd``'s form); (None,
    value) for anything else."""
    if not isinstance(value, dict):
        return None, value
    message = value
    kwargs, data = value.get("kwargs"), value.get("data")
    if value.get("lc") is not None and isinstance(kwargs, dict):
        message = kwargs  # dumpd(): {"lc": 1, "type": "constructor", "kwargs": {...}}
    elif value.get("type") == "tool" and isinstance(data, dict):
        message = data  # message_to_dict(): {"type": "tool", "data": {...}}
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        return None, value
    return call_id, message.get("content", value)


def tool_call_of_input(value: Any) -> tuple[str | None, Any]:
    """(call id, arguments) when a tool's input is the whole LangChain ``ToolCall``
    (``{"name", "args", "id", "type": "tool_call"}``); else (None, value)."""
    if isinstance(value, dict) and value.get("type") == "tool_call" and "args" in value:
        call_id = value.get("id")
        return (call_id if isinstance(call_id, str) and call_id else None), value["args"]
    return None, value
