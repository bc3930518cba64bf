"""Reading the ``response_schema`` of a per-call ``tool_approval`` interrupt (no I/O).

LangChain's `HumanInTheLoopMiddleware(interrupt_mode="per_call")` publishes, beside
each interrupt, the JSON Schema its answer must match (LangGraph validates the answer
against it and fails the run when it does not): a ``oneOf`` of the allowed decisions,
discriminated by ``type``, whose ``edit`` branch pins ``edited_action.args`` to the
tool's own argument schema. A tool allowing a single decision gets that decision's
plain object schema instead of a ``oneOf``. Branches are usually ``$ref``s into the
schema's ``$defs``, as Pydantic writes them::

    {"$defs": {"ApproveDecision": {...}, "EditDecision": {"properties": {"type":
     {"const": "edit"}, "edited_action": {"$ref": "#/$defs/EditedAction"}}},
     "EditedAction": {"properties": {"name": {"const": "send_email"},
                                     "args": {"$ref": "#/$defs/send_email"}}},
     "send_email": {"properties": {"to": {"type": "string"}}, "required": ["to"]}},
     "discriminator": {"propertyName": "type", "mapping": {"approve": ..., "edit": ...}},
     "oneOf": [{"$ref": "#/$defs/ApproveDecision"}, {"$ref": "#/$defs/EditDecision"}]}

Taking the edit branch's ``args`` as the action's argument schema lets Countersign
refuse an edit that breaks it before anything is sent (with the core's usual
messages), instead of the agent's run failing on it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

_DEFINITIONS = ("$defs", "definitions")


def _resolve(root: Mapping[str, Any], node: Any) -> Mapping[str, Any] | None:
    """`node` with local ``$ref``s (``#/$defs/Name``) followed; None if unresolvable."""
    seen: set[str] = set()
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if not ref.startswith("#/") or ref in seen:
            return None
        seen.add(ref)
        target: Any = root
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, Mapping) else None
        node = target
    return node if isinstance(node, Mapping) else None


def _branches(schema: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The decision schemas: the ``oneOf``/``anyOf`` members, or the schema itself."""
    members = schema.get("oneOf") or schema.get("anyOf")
    if not isinstance(members, list):
        return [schema]
    return [b for m in members if (b := _resolve(schema, m)) is not None]


def _decision_type(branch: Mapping[str, Any]) -> str | None:
    prop = (branch.get("properties") or {}).get("type")
    if isinstance(prop, Mapping):
        if isinstance(prop.get("const"), str):
            return str(prop["const"])
        enum = prop.get("enum")
        if isinstance(enum, list) and len(enum) == 1 and isinstance(enum[0], str):
            return enum[0]
    return None


def allowed_decisions(schema: Mapping[str, Any]) -> set[str]:
    """The decision types the schema accepts (its discriminator, else its branches)."""
    mapping = (schema.get("discriminator") or {}).get("mapping")
    if isinstance(mapping, Mapping) and mapping:
        return {str(key) for key in mapping}
    return {t for b in _branches(schema) if (t := _decision_type(b)) is not None}


def edit_arguments_schema(schema: Mapping[str, Any]) -> dict[str, Any] | None:
    """The JSON Schema of ``edited_action.args`` in the edit branch, self-contained
    (the response schema's ``$defs`` come along when it refers to them); None when
    edits are not allowed or the schema does not say."""
    for branch in _branches(schema):
        if _decision_type(branch) != "edit":
            continue
        action = _resolve(schema, (branch.get("properties") or {}).get("edited_action"))
        args = _resolve(schema, ((action or {}).get("properties") or {}).get("args"))
        if args is None:
            return None
        out = dict(args)
        if '"$ref"' in json.dumps(out):  # nested models refer to the shared definitions
            for key in _DEFINITIONS:
                if isinstance(schema.get(key), Mapping):
                    out.setdefault(key, schema[key])
        return out
    return None
