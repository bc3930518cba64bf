"""OTLP ``AnyValue`` and attribute lists (``KeyValue``) as plain Python values, from
OTLP/JSON and from protobuf messages.

Nested ``arrayValue``/``kvlistValue`` are walked with an explicit stack, never by
recursion: a sender can nest them thousands deep, and one attribute must not take the
process into ``RecursionError``. Below ``MAX_VALUE_DEPTH`` levels the value is replaced
by ``NESTED_TOO_DEEP`` and a warning is recorded.

A bad attribute (unknown shape, wrong type, invalid number) raises ``ValueRejected``
inside; the attribute-list functions turn that into a warning and drop only it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import math
from typing import Any

from .raw import (
    MAX_VALUE_DEPTH,
    NESTED_TOO_DEEP,
    Attributes,
    AttrValue,
    SpanContext,
    ValueRejected,
    describe,
)
from .safe_text import REPAIRED, is_store_safe, repair_plain

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_SPECIAL_DOUBLES = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_JSON_KINDS = (
    "stringValue",
    "boolValue",
    "intValue",
    "doubleValue",
    "arrayValue",
    "kvlistValue",
    "bytesValue",
)


# --- text repair ------------------------------------------------------------------


def repair_str(text: str, ctx: SpanContext, field: str) -> str:
    """``text`` with lone surrogates (JSON ``\\udXXX`` escapes, or undecodable bytes
    smuggled in by ``surrogateescape``) written out as visible backslash escapes, as
    the rest of the console shows them (see safe_text.py)."""
    if is_store_safe(text):
        return text
    ctx.warn(field, f"{REPAIRED}; bad characters shown as \\x or \\u escapes")
    return repair_plain(text)


def decode_utf8(data: bytes, ctx: SpanContext, field: str) -> str:
    """Protobuf string bytes as text; invalid UTF-8 becomes visible ``\\xNN`` escapes."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        ctx.warn(field, "text was not valid UTF-8; bad bytes shown as \\x escapes")
        return data.decode("utf-8", "backslashreplace")


# --- OTLP/JSON --------------------------------------------------------------------


def json_attributes(items: object, ctx: SpanContext, field: str, repair: bool) -> Attributes:
    """An OTLP/JSON ``attributes`` list as a dict. ``repair`` says the body may hold
    lone surrogates, so that clean bodies skip the per-string check."""
    if items is None:
        return {}
    if not isinstance(items, list):
        raise ctx.reject(field, f"must be a list of key/value objects, got {describe(items)}")
    out: Attributes = {}
    for index, item in enumerate(items):
        if type(item) is dict and not repair:
            # Fast path for the usual attribute: a fresh key with a plain string value.
            key, value = item.get("key"), item.get("value")
            if type(key) is str and type(value) is dict and len(value) == 1 and key not in out:
                text = value.get("stringValue")
                if type(text) is str:
                    out[key] = text
                    continue
        if not isinstance(item, dict):
            ctx.warn(f"{field}[{index}]", f"not a key/value object: {describe(item)}; dropped")
            continue
        key = item.get("key")
        if not isinstance(key, str):
            ctx.warn(f"{field}[{index}].key", f"must be a string, got {describe(key)}; dropped")
            continue
        if repair:
            key = repair_str(key, ctx, f"{field}[{index}].key")
        where = f"{field}[{key!r}]"
        if key in out:
            ctx.warn(where, "duplicate key; the first value is kept")
            continue
        try:
            out[key] = json_any_value(item.get("value"), ctx, where, repair)
        except ValueRejected as exc:
            ctx.warn(where, f"{exc}; attribute dropped")
    return out


def json_any_value(value: object, ctx: SpanContext, field: str, repair: bool) -> AttrValue:
    """One OTLP/JSON ``AnyValue`` (a missing value or ``{}`` is ``None``)."""
    if value is None:
        return None
    kind, inner = _json_kind(value)
    if kind not in ("arrayValue", "kvlistValue"):
        return _json_scalar(kind, inner, ctx, field, repair)
    # Containers: iterate with an explicit stack of (AnyValue, container, slot, depth).
    holder: list[AttrValue] = [None]
    stack: list[tuple[object, Any, Any, int]] = [(value, holder, 0, 0)]
    cut = False
    while stack:
        node, parent, slot, depth = stack.pop()
        if node is None:
            parent[slot] = None
            continue
        kind, inner = _json_kind(node)
        if kind == "arrayValue":
            if depth >= MAX_VALUE_DEPTH:
                parent[slot], cut = NESTED_TOO_DEEP, True
                continue
            values = _json_values(inner, kind)
            array: list[AttrValue] = [None] * len(values)
            parent[slot] = array
            stack.extend((item, array, i, depth + 1) for i, item in enumerate(values))
        elif kind == "kvlistValue":
            if depth >= MAX_VALUE_DEPTH:
                parent[slot], cut = NESTED_TOO_DEEP, True
                continue
            mapping: dict[str, AttrValue] = {}
            parent[slot] = mapping
            for entry in _json_values(inner, kind):
                key = entry.get("key") if isinstance(entry, dict) else None
                if not isinstance(key, str):
                    raise ValueRejected(f"kvlistValue entry without a key: {describe(entry)}")
                if repair:
                    key = repair_str(key, ctx, field)
                mapping[key] = None
                stack.append((entry.get("value"), mapping, key, depth + 1))
        else:
            parent[slot] = _json_scalar(kind, inner, ctx, field, repair)
    if cut:
        ctx.warn(field, f"nested deeper than {MAX_VALUE_DEPTH} levels; cut off with a marker")
    return holder[0]


def _json_kind(value: object) -> tuple[str | None, object]:
    if not isinstance(value, dict):
        raise ValueRejected(f"AnyValue must be an object, got {describe(value)}")
    if len(value) == 1:
        ((kind, inner),) = value.items()
        if kind in _JSON_KINDS:
            return kind, inner
    found = [kind for kind in _JSON_KINDS if kind in value]
    if len(found) == 1:
        return found[0], value[found[0]]
    if found:
        raise ValueRejected(f"AnyValue has several values: {', '.join(found)}")
    if value:
        raise ValueRejected(f"unknown AnyValue shape with keys {describe(sorted(value))}")
    return None, None


def _json_values(inner: object, kind: str) -> list[Any]:
    if not isinstance(inner, dict):
        raise ValueRejected(f"{kind} must be an object with 'values', got {describe(inner)}")
    values = inner.get("values", [])
    if values is None:
        return []
    if not isinstance(values, list):
        raise ValueRejected(f"{kind}.values must be a list, got {describe(values)}")
    return values


def _json_scalar(
    kind: str | None, inner: object, ctx: SpanContext, field: str, repair: bool
) -> AttrValue:
    if kind is None:
        return None
    if kind == "stringValue":
        if isinstance(inner, str):
            return repair_str(inner, ctx, field) if repair else inner
    elif kind == "intValue":
        # int64 is a decimal string in the protobuf JSON mapping; plain numbers are common.
        number: object = inner
        if isinstance(inner, str) and 0 < len(inner) <= 20:
            with contextlib.suppress(ValueError):
                number = int(inner)
        elif isinstance(inner, float) and inner.is_integer():
            number = int(inner)
        if type(number) is int and _INT64_MIN <= number <= _INT64_MAX:
            return number
    elif kind == "doubleValue":
        if type(inner) is float or type(inner) is int:
            return float(inner)
        if isinstance(inner, str):
            special = _SPECIAL_DOUBLES.get(inner)
            if special is not None:
                return special
            try:
                return float(inner)
            except ValueError:
                pass
    elif kind == "boolValue":
        if isinstance(inner, bool):
            return inner
    elif kind == "bytesValue" and isinstance(inner, str):
        return _base64_text(inner)
    raise ValueRejected(f"{kind} has an invalid value {describe(inner)}")


def _base64_text(text: str) -> str:
    """Bytes stay base64 text; both alphabets are accepted, the standard one is kept."""
    try:
        data = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueRejected(f"bytesValue is not base64: {describe(text)}") from exc
    return base64.b64encode(data).decode("ascii")


# --- protobuf ---------------------------------------------------------------------
# Messages come from opentelemetry-proto's generated classes, or from the lenient copy
# of them (otlp_protobuf.py) whose string fields are bytes; both are duck-typed here.


def pb_text(value: str | bytes, ctx: SpanContext, field: str) -> str:
    return value if isinstance(value, str) else decode_utf8(value, ctx, field)


def pb_attributes(items: Any, ctx: SpanContext, field: str) -> Attributes:
    """A repeated ``KeyValue`` field as a dict; duplicate keys keep the first value."""
    out: Attributes = {}
    for item in items:
        key = item.key
        if type(key) is not str:
            key = decode_utf8(key, ctx, f"{field}.key")
        if key in out:
            ctx.warn(f"{field}[{key!r}]", "duplicate key; the first value is kept")
            continue
        value = item.value
        # The usual case, inlined: a non-empty string_value is the oneof's value.
        text = value.string_value
        if text and type(text) is str:
            out[key] = text
            continue
        out[key] = pb_any_value(value, ctx, f"{field}[{key!r}]")
    return out


def pb_any_value(value: Any, ctx: SpanContext, field: str) -> AttrValue:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        text = value.string_value
        return text if type(text) is str else decode_utf8(text, ctx, field)
    if kind not in ("array_value", "kvlist_value"):
        return _pb_scalar(kind, value)
    holder: list[AttrValue] = [None]
    stack: list[tuple[Any, Any, Any, int]] = [(value, holder, 0, 0)]
    cut = False
    while stack:
        node, parent, slot, depth = stack.pop()
        kind = node.WhichOneof("value")
        if kind == "array_value":
            if depth >= MAX_VALUE_DEPTH:
                parent[slot], cut = NESTED_TOO_DEEP, True
                continue
            values = node.array_value.values
            array: list[AttrValue] = [None] * len(values)
            parent[slot] = array
            stack.extend((item, array, i, depth + 1) for i, item in enumerate(values))
        elif kind == "kvlist_value":
            if depth >= MAX_VALUE_DEPTH:
                parent[slot], cut = NESTED_TOO_DEEP, True
                continue
            mapping: dict[str, AttrValue] = {}
            parent[slot] = mapping
            for entry in node.kvlist_value.values:
                key = entry.key
                if type(key) is not str:
                    key = decode_utf8(key, ctx, field)
                mapping[key] = None
                stack.append((entry.value, mapping, key, depth + 1))
        elif kind == "string_value":
            text = node.string_value
            parent[slot] = text if type(text) is str else decode_utf8(text, ctx, field)
        else:
            parent[slot] = _pb_scalar(kind, node)
    if cut:
        ctx.warn(field, f"nested deeper than {MAX_VALUE_DEPTH} levels; cut off with a marker")
    return holder[0]


def _pb_scalar(kind: str | None, value: Any) -> AttrValue:
    if kind is None:
        return None
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    result: AttrValue = getattr(value, kind)
    return result
