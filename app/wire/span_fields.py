"""Checks of the span fields that JSON and protobuf input share once their encodings
are peeled off: ids, timestamps, span kind and status code.

Each check either returns the clean value or raises ``SpanRejected`` naming the field;
values that are merely unusual (an unknown enum number) are kept with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .anyvalue import repair_str
from .raw import Attributes, RawEvent, RawSpan, SpanContext, describe

_HEX = re.compile(r"[0-9a-fA-F]+")
_LOWER_HEX = re.compile(r"[0-9a-f]+")
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16
#: Stored as signed 64-bit integers (BIGINT): anything above is past the year 2262.
INT63_MAX = 2**63 - 1
#: OTLP SpanKind names, accepted in JSON although OTLP/JSON requires the numbers.
SPAN_KIND_NAMES = {
    "SPAN_KIND_UNSPECIFIED": 0,
    "SPAN_KIND_INTERNAL": 1,
    "SPAN_KIND_SERVER": 2,
    "SPAN_KIND_CLIENT": 3,
    "SPAN_KIND_PRODUCER": 4,
    "SPAN_KIND_CONSUMER": 5,
}
STATUS_CODE_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}


def hex_id(text: str, size: int, ctx: SpanContext, field: str) -> str:
    """A trace id (``size`` 16) or span id (``size`` 8) given as hex, in lower case."""
    if len(text) != 2 * size:
        raise ctx.reject(
            field, f"must be {2 * size} hex digits, got {len(text)} characters {describe(text)}"
        )
    if not _HEX.fullmatch(text):
        raise ctx.reject(field, f"is not hexadecimal: {describe(text)}")
    if text.count("0") == len(text):
        raise ctx.reject(field, "is all zeros, which OTLP defines as invalid")
    return text.lower()


def bytes_id(data: bytes, size: int, ctx: SpanContext, field: str) -> str:
    """A protobuf id (raw bytes) as lower-case hex, checked like ``hex_id``."""
    if len(data) != size:
        raise ctx.reject(field, f"must be {size} bytes, got {len(data)}")
    if not any(data):
        raise ctx.reject(field, "is all zeros, which OTLP defines as invalid")
    return data.hex()


def parent_id(text: str, ctx: SpanContext) -> str | None:
    """The parent span id; empty means a root span. All zeros is invalid in OTLP, but
    some exporters send it for roots, so it is read as "no parent" with a warning."""
    if not text:
        return None
    if len(text) == 16 and text.count("0") == 16:
        ctx.warn("parentSpanId", "is all zeros; read as a root span")
        return None
    return hex_id(text, 8, ctx, "parentSpanId")


def times(start: int, end: int, ctx: SpanContext) -> tuple[int, int | None]:
    """Start and end in nanoseconds; an end of 0 means the span has not ended."""
    if start <= 0:
        raise ctx.reject("startTimeUnixNano", "is missing or zero")
    if start > INT63_MAX:
        raise ctx.reject("startTimeUnixNano", f"is out of range: {start}")
    if end == 0:
        return start, None
    if end > INT63_MAX or end < 0:
        raise ctx.reject("endTimeUnixNano", f"is out of range: {end}")
    if end < start:
        raise ctx.reject("endTimeUnixNano", f"is before startTimeUnixNano ({end} < {start})")
    return start, end


def span_kind(kind: int, ctx: SpanContext) -> int:
    if 0 <= kind <= 5:
        return kind
    ctx.warn("kind", f"unknown span kind {kind}; read as unspecified (0)")
    return 0


def status_code(code: int, ctx: SpanContext) -> int:
    if 0 <= code <= 2:
        return code
    ctx.warn("status.code", f"unknown status code {code}; read as unset (0)")
    return 0


# --- OTLP/JSON spans: shared by the typed fast lane and the lenient decoder ---------


def json_span(
    ctx: SpanContext,
    raw_trace: object,
    raw_span: object,
    parent: object,
    name: object,
    start: object,
    end: object,
    kind: object,
    bad_status: object,
    code: object,
    message: object,
    attributes: Callable[[], Attributes],
    events: Callable[[], list[RawEvent]],
    resource: Attributes,
    scope_name: str | None,
    repair: bool,
) -> RawSpan:
    """One OTLP/JSON span from its fields, checked in a fixed order so both decoders
    report the same first problem. ``bad_status`` is a ``status`` that was not an
    object (else None); ``attributes``/``events`` are decoded only once the span's
    ids and times are known to be good."""
    if (
        type(raw_trace) is str and type(raw_span) is str and len(raw_trace) == 32
        and len(raw_span) == 16 and _LOWER_HEX.fullmatch(raw_trace + raw_span)
        and raw_trace != _ZERO_TRACE and raw_span != _ZERO_SPAN
    ):  # the usual case, checked at once
        ctx.trace_id = trace_id = raw_trace
        ctx.span_id = span_id = raw_span
    else:
        # Name the span by whatever ids it carries, even before they are checked.
        ctx.trace_id = describe(raw_trace) if raw_trace is not None else None
        ctx.span_id = describe(raw_span) if raw_span is not None else None
        trace_id = hex_id(json_str(raw_trace, ctx, "traceId"), 16, ctx, "traceId")
        ctx.trace_id = trace_id
        span_id = hex_id(json_str(raw_span, ctx, "spanId"), 8, ctx, "spanId")
        ctx.span_id = span_id
    if parent is None or parent == "":
        parent_span = None
    elif type(parent) is str and len(parent) == 16 and parent != _ZERO_SPAN and (
        _LOWER_HEX.fullmatch(parent)
    ):
        parent_span = parent
    else:
        parent_span = parent_id(json_str(parent, ctx, "parentSpanId"), ctx)
    name = name or ""  # null is the default value in the protobuf JSON mapping
    if not isinstance(name, str):
        raise ctx.reject("name", f"must be a string, got {describe(name)}")
    if repair:
        name = repair_str(name, ctx, "name")
    start_ns, end_ns = times(
        json_uint64(start, ctx, "startTimeUnixNano"), json_uint64(end, ctx, "endTimeUnixNano"),
        ctx,
    )
    span_kind_code = span_kind(json_enum(kind, SPAN_KIND_NAMES, ctx, "kind"), ctx)
    if bad_status is not None:
        raise ctx.reject("status", f"must be an object, got {describe(bad_status)}")
    code_value = status_code(json_enum(code, STATUS_CODE_NAMES, ctx, "status.code"), ctx)
    if message is not None and not isinstance(message, str):
        raise ctx.reject("status.message", f"must be a string, got {describe(message)}")
    if message and repair:
        message = repair_str(message, ctx, "status.message")
    return RawSpan(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent_span,
        name=name,
        kind=span_kind_code,
        start_ns=start_ns,
        end_ns=end_ns,
        status_code=code_value,
        status_message=message or None,
        attributes=attributes(),
        events=events(),
        resource_attributes=resource,
        scope_name=scope_name,
        path=ctx.path,
        warnings=ctx.span_warnings,
    )


def json_str(value: object, ctx: SpanContext, field: str) -> str:
    if value is None:
        raise ctx.reject(field, "is missing")
    if not isinstance(value, str):
        raise ctx.reject(field, f"must be a hex string, got {describe(value)}")
    return value


def json_uint64(value: object, ctx: SpanContext, field: str) -> int:
    """A fixed64 given as a decimal string or a number; missing is 0."""
    if value is None:
        return 0
    if type(value) is int:
        number = value
    elif isinstance(value, str) and value.isdigit() and value.isascii() and len(value) <= 20:
        number = int(value)
    else:
        raise ctx.reject(field, f"must be a decimal string or integer, got {describe(value)}")
    if not 0 <= number < 2**64:
        raise ctx.reject(field, f"is out of range: {number}")
    return number


def json_enum(value: object, names: dict[str, int], ctx: SpanContext, field: str) -> int:
    if value is None:
        return 0
    if type(value) is int:
        return value
    if isinstance(value, str) and value in names:
        return names[value]
    raise ctx.reject(field, f"must be an integer, got {describe(value)}")
