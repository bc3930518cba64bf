"""Decoding of OTLP/HTTP trace export requests (``POST /v1/traces``), JSON or protobuf,
gzip-compressed or not, into raw spans.

One bad span never costs the batch: each span, attribute or event that cannot be read
is rejected on its own with a reason naming the span (index path and ids) and the
field, and the rest is ingested. Only a body that is not an OTLP trace request at all
raises ``OtlpDecodeError``.

OTLP/JSON is the protobuf JSON mapping with OTLP's deviations: lowerCamelCase keys, ids
as hex (not base64), 64-bit integers as decimal strings or numbers, enums as integers.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator
from typing import Any

import msgspec

from . import budget, span_fields
from .anyvalue import json_attributes, repair_str
from .integrity import check_batch
from .otlp_protobuf import decode_protobuf
from .otlp_typed import decode_typed
from .raw import (
    Attributes,
    DecodeResult,
    OtlpDecodeError,
    RawEvent,
    RawSpan,
    SpanContext,
    SpanRejected,
    describe,
)

__all__ = [
    "DEFAULT_MAX_BODY_BYTES", "JSON", "PROTOBUF", "OtlpDecodeError", "decode_export_request",
    "decode_json",
]

#: The two OTLP/HTTP media types.
JSON = "application/json"
PROTOBUF = "application/x-protobuf"
#: The largest (decompressed) body accepted; a gzip bomb stops here.
DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
#: JSON nesting past this is cut before parsing (see ``_parse_json``); it is far below
#: Python's recursion limit and far above where ``MAX_VALUE_DEPTH`` cuts values.
_JSON_PRUNE_DEPTH = 300
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def decode_export_request(
    body: bytes,
    content_type: str | None = None,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> DecodeResult:
    """Decodes one export request. ``content_type`` (the HTTP header) picks the format;
    without it, or with an unknown one, the body is sniffed. Gzip is recognised by its
    magic bytes whatever ``Content-Encoding`` said. Batch checks (duplicates, cycles,
    orphans) are applied to the result."""
    data = _gunzip(body, max_body_bytes) if body[:2] == _GZIP_MAGIC else body
    if len(data) > max_body_bytes:
        raise OtlpDecodeError(f"body is larger than {max_body_bytes} bytes")
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == JSON:
        result = decode_json(data)
    elif media in (PROTOBUF, "application/protobuf"):
        result = decode_protobuf(data)
    elif data.lstrip(b" \t\r\n\xef\xbb\xbf").startswith(b"{"):
        try:
            result = decode_json(data)
        except OtlpDecodeError as json_error:
            # A protobuf body can start with "\n{" (field 1, length 123): try it too.
            try:
                result = decode_protobuf(data)
            except OtlpDecodeError:
                raise json_error from None
    else:
        result = decode_protobuf(data)
    check_batch(result)
    return result


def _gunzip(body: bytes, limit: int) -> bytes:
    return gunzip_limited(body, limit)


def gunzip_limited(body: bytes, limit: int) -> bytes:
    """``body`` inflated, refused as soon as it grows past ``limit`` bytes."""
    inflater = GzipInflater(limit)
    inflater.feed(body)
    return inflater.finish()


class GzipInflater:
    """Inflates a gzip stream as its bytes arrive, a bounded step at a time, and
    refuses it the moment the output passes ``limit``: a bomb is stopped after
    ``limit`` bytes of work, not after inflating all of it. Several members, one
    after another, are one stream (as gzip allows)."""

    #: Output per inflate step: a caller on an event loop yields between steps.
    STEP = 1024 * 1024

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self._out: list[bytes] = []
        self._stream = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._started = False

    def feed(self, chunk: bytes) -> None:
        for _ in self.steps(chunk):
            pass

    def steps(self, chunk: bytes) -> Iterator[int]:
        """Inflate ``chunk`` one `STEP` at a time, yielding the size so far after each."""
        data = chunk
        try:
            while data:
                self._started = True
                if self._stream.eof:  # the next member starts
                    rest = self._stream.unused_data + data
                    self._stream = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    data = rest
                    if not data:
                        break
                room = self.limit - self.size + 1
                out = self._stream.decompress(data, min(self.STEP, room))
                self.size += len(out)
                if self.size > self.limit:
                    raise OtlpDecodeError(f"gzip body inflates to more than {self.limit} bytes")
                self._out.append(out)
                data = self._stream.unconsumed_tail
                if self._stream.eof:
                    data = self._stream.unused_data + data
                    if data:
                        self._stream = zlib.decompressobj(16 + zlib.MAX_WBITS)
                yield self.size
        except zlib.error as exc:
            raise OtlpDecodeError(f"gzip body is corrupt: {exc}") from None

    def finish(self) -> bytes:
        if self._started and not self._stream.eof:
            raise OtlpDecodeError("gzip body is truncated")
        return b"".join(self._out)


# --- OTLP/JSON --------------------------------------------------------------------


def decode_json(data: bytes) -> DecodeResult:
    """Decodes an OTLP/JSON body, without the batch checks."""
    fast = decode_typed(data)
    if fast is not None:
        return fast
    try:
        text = data.decode("utf-8")
        # Only bodies that may hold lone surrogates pay for the per-string check.
        repair = "\\ud" in text or "\\uD" in text
    except UnicodeDecodeError:
        # Invalid bytes become lone surrogates, repaired (visibly) string by string.
        text = data.decode("utf-8", "surrogateescape")
        repair = True
    doc = _parse_json(text.removeprefix("\ufeff"))
    if not isinstance(doc, dict):
        raise OtlpDecodeError(f"OTLP/JSON body must be an object, got {type(doc).__name__}")
    result = DecodeResult()
    resource_spans = doc.get("resourceSpans")
    if resource_spans is None:
        if doc:
            raise OtlpDecodeError(f"no resourceSpans: keys are {describe(sorted(doc), 80)}")
        return result
    if not isinstance(resource_spans, list):
        raise OtlpDecodeError(f"resourceSpans must be a list, got {describe(resource_spans)}")
    for rs_index, rs in enumerate(resource_spans):
        path = f"resourceSpans[{rs_index}]"
        try:
            _json_resource_spans(rs, path, result, repair)
        except SpanRejected as exc:
            result.rejections.append(exc.problem)
    return result


def _parse_int(literal: str) -> int | str:
    # Python refuses int literals over 4300 digits and would fail the whole body; such
    # a literal stays a string, which the field checks then reject on its own.
    return int(literal) if len(literal) <= 40 else literal


def _parse_json(text: str) -> Any:
    try:
        # msgspec is several times faster; it refuses NaN literals, numbers past a
        # double's range, lone surrogates and deep nesting, which the standard parser
        # below then handles as before.
        return msgspec.json.decode(text)
    except (msgspec.DecodeError, RecursionError, UnicodeError):
        pass
    try:
        return json.loads(text, parse_int=_parse_int)
    except RecursionError:
        pass
    except ValueError as exc:
        raise OtlpDecodeError(f"body is not valid JSON: {exc}") from None
    # Nested deeper than the C parsers recurse. Measure how deep first, in time linear
    # in the body and in C for the most part, and refuse past MAX_JSON_DEPTH: pruning
    # walks every bracket in Python, which a bomb of brackets must not get to do.
    depth = json_depth(text.encode("utf-8", "surrogatepass"))
    if depth > MAX_JSON_DEPTH:
        raise OtlpDecodeError(f"body is nested {depth} levels deep; the limit is "
                              f"{MAX_JSON_DEPTH}")
    # Cut what lies below _JSON_PRUNE_DEPTH (values are cut at MAX_VALUE_DEPTH anyway)
    # and parse again.
    try:
        return json.loads(_prune_deep_json(text), parse_int=_parse_int)
    except (RecursionError, ValueError) as exc:
        raise OtlpDecodeError(f"body is not valid JSON: {exc}") from None


#: JSON nested deeper than this is refused whole. OTLP needs about 10 levels to reach
#: an attribute and 4 per nested kvlistValue, so this leaves room for values nested
#: far past MAX_VALUE_DEPTH (cut with a marker) while a bracket bomb is refused early.
MAX_JSON_DEPTH = 20_000
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_RUN = re.compile(rb"[\[{]+|[\]}]+")


def json_depth(data: bytes) -> int:
    """The deepest nesting of brackets in JSON ``data``, outside strings. Strings are
    dropped and other bytes deleted in C; the brackets left are walked run by run
    (a run of openers or closers at a time), so a bomb of brackets is a few runs."""
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for count, run in enumerate(_BRACKET_RUN.finditer(brackets)):
        if count & 0xFFFF == 0:
            budget.check()
        length = run.end() - run.start()
        if brackets[run.start()] in b"[{":
            depth += length
            deepest = max(deepest, depth)
        else:
            depth -= length
    return deepest


def _prune_deep_json(text: str) -> str:
    parts: list[str] = []
    depth = 0
    kept_until = 0
    cut_from = -1
    for count, token in enumerate(_JSON_TOKEN.finditer(text)):
        if count & 0xFFFF == 0:
            budget.check()
        char = text[token.start()]
        if char == '"':
            continue
        if char in "[{":
            depth += 1
            if depth == _JSON_PRUNE_DEPTH + 1:
                cut_from = token.start()
        else:
            if depth == _JSON_PRUNE_DEPTH + 1 and cut_from >= 0:
                parts.append(text[kept_until:cut_from])
                parts.append("null")
                kept_until = token.end()
                cut_from = -1
            depth -= 1
    parts.append(text[kept_until:])
    return "".join(parts)


def _json_resource_spans(rs: object, path: str, result: DecodeResult, repair: bool) -> None:
    ctx = SpanContext(path, result.warnings)
    if not isinstance(rs, dict):
        raise ctx.reject("resourceSpans", f"must be an object, got {describe(rs)}")
    resource = rs.get("resource") or {}
    resource_attrs: Attributes = {}
    if isinstance(resource, dict):
        res_ctx = SpanContext(f"{path}.resource", result.warnings)
        try:
            resource_attrs = json_attributes(
                resource.get("attributes"), res_ctx, "attributes", repair
            )
        except SpanRejected as exc:
            result.warnings.append(exc.problem)
    else:
        ctx.warn("resource", f"must be an object, got {describe(resource)}; ignored")
    scope_spans = rs.get("scopeSpans")
    if scope_spans is None:
        return
    if not isinstance(scope_spans, list):
        raise ctx.reject("scopeSpans", f"must be a list, got {describe(scope_spans)}")
    for ss_index, ss in enumerate(scope_spans):
        ss_path = f"{path}.scopeSpans[{ss_index}]"
        ss_ctx = SpanContext(ss_path, result.warnings)
        if not isinstance(ss, dict):
            result.rejections.append(ss_ctx.problem("scopeSpans", f"not an object: {describe(ss)}"))
            continue
        scope = ss.get("scope")
        scope_name = scope.get("name") if isinstance(scope, dict) else None
        if not isinstance(scope_name, str):
            scope_name = None
        elif repair:
            scope_name = repair_str(scope_name, ss_ctx, "scope.name")
        spans = ss.get("spans")
        if spans is None:
            continue
        if not isinstance(spans, list):
            result.rejections.append(ss_ctx.problem("spans", f"must be a list: {describe(spans)}"))
            continue
        for index, span in enumerate(spans):
            if index & 0xFF == 0:
                budget.check()
            span_ctx = SpanContext(f"{ss_path}.spans[{index}]", result.warnings)
            try:
                result.spans.append(
                    _json_span(span, span_ctx, resource_attrs, scope_name, repair)
                )
            except SpanRejected as exc:
                result.rejections.append(exc.problem)


def _json_span(
    obj: object, ctx: SpanContext, resource: Attributes, scope_name: str | None, repair: bool
) -> RawSpan:
    if not isinstance(obj, dict):
        raise ctx.reject("span", f"must be an object, got {describe(obj)}")
    status = obj.get("status")
    is_object = status is None or isinstance(status, dict)
    return span_fields.json_span(
        ctx, obj.get("traceId"), obj.get("spanId"), obj.get("parentSpanId"), obj.get("name"),
        obj.get("startTimeUnixNano"), obj.get("endTimeUnixNano"), obj.get("kind"),
        status if not is_object else None,
        status.get("code") if is_object and status else None,
        status.get("message") if is_object and status else None,
        lambda: json_attributes(obj.get("attributes"), ctx, "attributes", repair),
        lambda: _json_events(obj.get("events"), ctx, repair),
        resource, scope_name, repair,
    )


def _json_events(events: object, ctx: SpanContext, repair: bool) -> list[RawEvent]:
    if events is None:
        return []
    if not isinstance(events, list):
        raise ctx.reject("events", f"must be a list, got {describe(events)}")
    out: list[RawEvent] = []
    for index, event in enumerate(events):
        field = f"events[{index}]"
        try:
            if not isinstance(event, dict):
                raise ctx.reject(field, f"must be an object, got {describe(event)}")
            name = event.get("name", "")
            if not isinstance(name, str):
                raise ctx.reject(f"{field}.name", f"must be a string, got {describe(name)}")
            if repair:
                name = repair_str(name, ctx, f"{field}.name")
            time_ns = span_fields.json_uint64(
                event.get("timeUnixNano"), ctx, f"{field}.timeUnixNano"
            )
            attrs = json_attributes(event.get("attributes"), ctx, f"{field}.attributes", repair)
        except SpanRejected as exc:
            ctx.warn(exc.problem.field, f"{exc.problem.reason}; event dropped")
            continue
        out.append(RawEvent(name, time_ns, attrs))
    return out
