"""Checks of the span fields that JSON and protobuf input share once their encodings
are peeled off: ids, timestamps, span kind and status code.

Each check either returns the clean value or raises ``SpanRejected`` naming the field;
values that are merely unusual (an unknown enum number) are kept with a warning.
"""

from __future__ import annotations

import re

from .raw import SpanContext, describe

_HEX = re.compile(r"[0-9a-fA-F]+")
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
