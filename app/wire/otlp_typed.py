"""The fast lane for OTLP/JSON: the body is parsed straight into typed structs by
msgspec (C), so well-formed requests skip building and walking a dict per span,
attribute and value.

It takes only bodies it can read exactly as the lenient decoder (otlp.py) would: any
value of an unexpected type, an unknown ``AnyValue`` shape, nesting deeper than msgspec
recurses, invalid UTF-8 or lone surrogates make it return None, and the lenient
decoder reads the body instead, span by span, with its reasons. The span-level checks
(ids, times, enums) are the lenient decoder's own (``span_fields.json_span``), so a
span rejected by one lane is rejected by the other with the same words.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from . import budget, span_fields
from .anyvalue import json_any_value
from .raw import (
    Attributes,
    DecodeResult,
    RawEvent,
    SpanContext,
    SpanRejected,
    ValueRejected,
)


class _ArrayValue(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, gc=False):
    values: list[_AnyValue] | None = None


class _KeyValueList(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, gc=False):
    values: list[_KeyValue] | None = None


class _AnyValue(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, gc=False):
    # Unknown keys, an explicit null, or a value of a type the lenient decoder reads
    # differently fail the typed parse: that body goes the lenient way.
    stringValue: str | UnsetType = UNSET
    boolValue: bool | UnsetType = UNSET
    intValue: int | str | UnsetType = UNSET
    doubleValue: float | str | UnsetType = UNSET
    arrayValue: _ArrayValue | UnsetType = UNSET
    kvlistValue: _KeyValueList | UnsetType = UNSET
    bytesValue: str | UnsetType = UNSET


class _KeyValue(msgspec.Struct, gc=False):
    key: str
    value: _AnyValue | None = None


class _Status(msgspec.Struct, gc=False):
    code: int | str | None = None
    message: str | None = None


class _Event(msgspec.Struct, gc=False):
    timeUnixNano: int | str | None = None
    name: str = ""
    attributes: list[_KeyValue] | None = None


class _Span(msgspec.Struct, gc=False):
    traceId: str | None = None
    spanId: str | None = None
    parentSpanId: str | None = None
    name: str | None = None
    kind: int | str | None = None
    startTimeUnixNano: int | str | None = None
    endTimeUnixNano: int | str | None = None
    attributes: list[_KeyValue] | None = None
    events: list[_Event] | None = None
    status: _Status | None = None


class _Scope(msgspec.Struct, gc=False):
    name: str | None = None


class _ScopeSpans(msgspec.Struct, gc=False):
    scope: _Scope | None = None
    spans: list[_Span] | None = None


class _Resource(msgspec.Struct, gc=False):
    attributes: list[_KeyValue] | None = None


class _ResourceSpans(msgspec.Struct, gc=False):
    resource: _Resource | None = None
    scopeSpans: list[_ScopeSpans] | None = None


class _Request(msgspec.Struct, gc=False):
    resourceSpans: list[_ResourceSpans] | None = None


_DECODER = msgspec.json.Decoder(_Request)
_to_builtins = msgspec.to_builtins


def parse_typed(data: bytes) -> _Request | None:
    """The request as typed structs, or None when only the lenient decoder can read it."""
    if b"\\ud" in data or b"\\uD" in data:
        return None  # lone surrogates: the lenient decoder repairs them visibly
    try:
        return _DECODER.decode(data)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        return None


def decode_typed(data: bytes) -> DecodeResult | None:
    """The request decoded, or None when the lenient decoder must read it."""
    request = parse_typed(data)
    if request is None or request.resourceSpans is None:
        return None  # empty, or not a trace request: the lenient decoder says which
    return _walk(request)


def _walk(request: _Request) -> DecodeResult:
    result = DecodeResult()
    warnings = result.warnings
    for rs_index, rs in enumerate(request.resourceSpans or ()):
        path = f"resourceSpans[{rs_index}]"
        resource: Attributes = {}
        if rs.resource is not None:
            resource = typed_attributes(
                rs.resource.attributes, SpanContext(f"{path}.resource", warnings), "attributes"
            )
        for ss_index, ss in enumerate(rs.scopeSpans or ()):
            if ss.spans is None:
                continue
            ss_path = f"{path}.scopeSpans[{ss_index}]"
            scope_name = ss.scope.name if ss.scope is not None else None
            for index, span in enumerate(ss.spans):
                if index & 0xFF == 0:
                    budget.check()
                ctx = SpanContext(f"{ss_path}.spans[{index}]", warnings)
                try:
                    result.spans.append(_span(span, ctx, resource, scope_name))
                except SpanRejected as exc:
                    result.rejections.append(exc.problem)
    return result


def _span(span: _Span, ctx: SpanContext, resource: Attributes, scope_name: str | None) -> Any:
    status = span.status
    return span_fields.json_span(
        ctx, span.traceId, span.spanId, span.parentSpanId, span.name, span.startTimeUnixNano,
        span.endTimeUnixNano, span.kind, None,
        None if status is None else status.code,
        None if status is None else status.message,
        lambda: typed_attributes(span.attributes, ctx, "attributes"),
        lambda: _events(span.events, ctx),
        resource, scope_name, False,
    )


def _events(events: list[_Event] | None, ctx: SpanContext) -> list[RawEvent]:
    out: list[RawEvent] = []
    for index, event in enumerate(events or ()):
        field = f"events[{index}]"
        try:
            time_ns = span_fields.json_uint64(event.timeUnixNano, ctx, f"{field}.timeUnixNano")
        except SpanRejected as exc:
            ctx.warn(exc.problem.field, f"{exc.problem.reason}; event dropped")
            continue
        attributes = typed_attributes(event.attributes, ctx, f"{field}.attributes")
        out.append(RawEvent(event.name, time_ns, attributes))
    return out


def typed_attributes(items: list[_KeyValue] | None, ctx: SpanContext, field: str) -> Attributes:
    """As ``anyvalue.json_attributes``: duplicate keys keep the first value, a bad value
    drops only its attribute (with a warning)."""
    out: Attributes = {}
    if not items:
        return out
    for item in items:
        key, value = item.key, item.value
        if key in out:
            ctx.warn(f"{field}[{key!r}]", "duplicate key; the first value is kept")
            continue
        if value is None:
            out[key] = None
            continue
        text = value.stringValue
        if text is not UNSET and (
            value.intValue is UNSET and value.boolValue is UNSET and value.doubleValue is UNSET
            and value.arrayValue is UNSET and value.kvlistValue is UNSET
            and value.bytesValue is UNSET
        ):
            out[key] = text
            continue
        number = value.intValue
        if type(number) is str and 0 < len(number) <= 18 and number.isascii() and number.isdigit():
            number = int(number)  # int64 is a decimal string in OTLP/JSON; 18 digits fit
        if type(number) is int and text is UNSET and (
            value.boolValue is UNSET and value.doubleValue is UNSET and value.arrayValue is UNSET
            and value.kvlistValue is UNSET and value.bytesValue is UNSET
        ) and -(2**63) <= number < 2**63:
            out[key] = number
            continue
        double = value.doubleValue
        if type(double) is float and text is UNSET and number is UNSET and (
            value.boolValue is UNSET and value.arrayValue is UNSET
            and value.kvlistValue is UNSET and value.bytesValue is UNSET
        ):
            out[key] = double
            continue
        # Everything else as the lenient decoder reads it, from the same plain values.
        where = f"{field}[{key!r}]"
        try:
            out[key] = json_any_value(_to_builtins(value), ctx, where, False)
        except ValueRejected as exc:
            ctx.warn(where, f"{exc}; attribute dropped")
    return out
