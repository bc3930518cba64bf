"""Log records about a span, folded into it when the span is read.

Every record becomes one of the span's events (``{"name", "time_ns", "attributes",
"body", "source": "log"}``). GenAI content events also give the span its messages
when its own attributes carried none (the instrumentation's event mode):

- ``gen_ai.client.inference.operation.details``: ``gen_ai.input.messages``,
  ``gen_ai.output.messages``, ``gen_ai.system_instructions`` as attributes (or body);
- the older per-message events: ``gen_ai.system.message``, ``gen_ai.user.message``,
  ``gen_ai.assistant.message``, ``gen_ai.tool.message`` (input, in time order) and
  ``gen_ai.choice`` (output), with the message in the body.

Folding happens on read, so a record may arrive before or after its span.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..jsonio import canonical_json, loads
from . import messages

#: (time_ns, name, body_json, attributes_json, severity) of one stored record.
LogEvent = tuple[int, str, str | None, str, str | None]

_DETAILS = "gen_ai.client.inference.operation.details"
_INPUT_EVENTS = {"gen_ai.system.message": "system", "gen_ai.user.message": "user",
                 "gen_ai.assistant.message": "assistant", "gen_ai.tool.message": "tool"}
_CHOICE = "gen_ai.choice"


def fold_logs(
    events_json: str, input_json: str | None, output_json: str | None,
    logs: Sequence[LogEvent],
) -> tuple[str, str | None, str | None]:
    """(events_json, input_json, output_json) of a span with ``logs`` folded in."""
    events: list[Any] = loads(events_json) if events_json and events_json != "[]" else []
    inputs: list[dict[str, Any]] = []
    outputs: list[dict[str, Any]] = []
    details: tuple[Any, Any] | None = None
    for time_ns, name, body_json, attributes_json, severity in sorted(logs, key=lambda e: e[0]):
        body = None if body_json is None else loads(body_json)
        attributes = loads(attributes_json) if attributes_json else {}
        event: dict[str, Any] = {"name": name, "time_ns": time_ns, "attributes": attributes,
                                 "body": body, "source": "log"}
        if severity:
            event["severity"] = severity
        events.append(event)
        if name == _DETAILS:
            fields = attributes if "gen_ai.input.messages" in attributes or (
                "gen_ai.output.messages" in attributes) else (body if isinstance(body, dict)
                                                              else {})
            found_in = messages.genai_messages(fields.get("gen_ai.input.messages"),
                                               fields.get("gen_ai.system_instructions"))
            found_out = messages.genai_messages(fields.get("gen_ai.output.messages"))
            details = (found_in, found_out)
        elif name in _INPUT_EVENTS:
            inputs.append(_message(body, _INPUT_EVENTS[name]))
        elif name == _CHOICE:
            message = body.get("message") if isinstance(body, dict) else None
            outputs.append(_message(message if isinstance(message, dict) else body,
                                    "assistant"))
    new_input, new_output = (details if details is not None else (inputs or None,
                                                                   outputs or None))
    if input_json is None and new_input:
        input_json = canonical_json({"messages": new_input})
    if output_json is None and new_output:
        output_json = canonical_json({"messages": new_output})
    return canonical_json(events), input_json, output_json


def _message(body: Any, role: str) -> dict[str, Any]:
    """A message event's body (``{"content", "role"?, "tool_calls"?, "id"?}``) in the
    shape of messages.py."""
    if not isinstance(body, dict):
        return {"role": role, "content": messages._content(body), "tool_calls": []}
    calls = []
    for call in body.get("tool_calls") or []:
        if isinstance(call, dict):
            function = call.get("function")
            if not isinstance(function, dict):
                function = {}
            calls.append({"id": call.get("id"), "name": function.get("name"),
                          "arguments": messages.parse_json_text(function.get("arguments"))})
    message: dict[str, Any] = {"role": body.get("role") or role,
                               "content": messages._content(body.get("content")),
                               "tool_calls": calls}
    if role == "tool" and isinstance(body.get("id"), str):
        message["tool_call_id"] = body["id"]
    return message
