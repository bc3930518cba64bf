"""OTLP protobuf trace requests, decoded with opentelemetry-proto's generated classes.

The generated parser is all-or-nothing: one string with invalid UTF-8, or one value
nested deeper than its limit of 100 messages (about 32 ``kvlistValue`` levels), fails
the whole request. So the fast path parses the request in one go, and only when that
fails the request is split along its length-delimited framing (resource spans → scope
spans → spans → attributes and events) and every piece is parsed on its own: first with
the generated classes, then with a lenient copy of them whose ``string`` fields are
``bytes`` (so invalid UTF-8 can be repaired visibly), and a piece that still fails is
rejected alone. The framing walk reads tags and lengths only; the messages themselves
are always decoded by protobuf.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from google.protobuf import (  # type: ignore[import-untyped, unused-ignore]
    descriptor_pb2,
    descriptor_pool,
    message_factory,
)
from google.protobuf.message import DecodeError  # type: ignore[import-untyped, unused-ignore]
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from . import budget, span_fields
from .anyvalue import pb_attributes, pb_text
from .raw import (
    NESTED_TOO_DEEP,
    Attributes,
    DecodeResult,
    OtlpDecodeError,
    RawEvent,
    RawSpan,
    SpanContext,
    SpanRejected,
)

_LEN = 2  # wire type of length-delimited fields


def decode_protobuf(data: bytes) -> DecodeResult:
    """Decodes an OTLP protobuf body, without the batch checks."""
    result = DecodeResult()
    try:
        request = ExportTraceServiceRequest.FromString(data)
    except DecodeError:
        for index, piece in enumerate(_top_level(data)):
            _salvage_resource_spans(piece, f"resourceSpans[{index}]", result)
        return result
    if not request.resource_spans and data:
        _top_level(data)  # raises unless it is an empty but well-formed request
    for index, rs in enumerate(request.resource_spans):
        path = f"resourceSpans[{index}]"
        resource = pb_attributes(
            rs.resource.attributes, SpanContext(f"{path}.resource", result.warnings), "attributes"
        )
        for ss_index, ss in enumerate(rs.scope_spans):
            _scope_spans(ss, f"{path}.scopeSpans[{ss_index}]", resource, result)
    return result


def _scope_spans(ss: Any, path: str, resource: Attributes, result: DecodeResult) -> None:
    scope_name = pb_text(ss.scope.name, SpanContext(path, result.warnings), "scope.name") or None
    for index, span in enumerate(ss.spans):
        if index & 0xFF == 0:
            budget.check()
        ctx = SpanContext(f"{path}.spans[{index}]", result.warnings)
        try:
            result.spans.append(_span(span, ctx, resource, scope_name))
        except SpanRejected as exc:
            result.rejections.append(exc.problem)


def _span(
    span: Any,
    ctx: SpanContext,
    resource: Attributes,
    scope_name: str | None,
    attributes: Attributes | None = None,
    events: list[RawEvent] | None = None,
) -> RawSpan:
    """One span message; ``attributes``/``events`` replace the message's own when they
    had to be salvaged one by one."""
    raw_trace, raw_span = span.trace_id, span.span_id
    ctx.trace_id = raw_trace.hex() or None
    ctx.span_id = raw_span.hex() or None
    if not raw_trace:
        raise ctx.reject("traceId", "is missing")
    trace_id = span_fields.bytes_id(raw_trace, 16, ctx, "traceId")
    if not raw_span:
        raise ctx.reject("spanId", "is missing")
    span_id = span_fields.bytes_id(raw_span, 8, ctx, "spanId")
    raw_parent = span.parent_span_id
    parent_id = None
    if raw_parent:
        if len(raw_parent) != 8:
            raise ctx.reject("parentSpanId", f"must be 8 bytes, got {len(raw_parent)}")
        parent_id = span_fields.parent_id(raw_parent.hex(), ctx)
    start, end = span_fields.times(span.start_time_unix_nano, span.end_time_unix_nano, ctx)
    status = span.status
    message = pb_text(status.message, ctx, "status.message") or None
    if attributes is None:
        attributes = pb_attributes(span.attributes, ctx, "attributes")
    if events is None:
        events = [
            RawEvent(
                pb_text(event.name, ctx, f"events[{index}].name"),
                event.time_unix_nano,
                pb_attributes(event.attributes, ctx, f"events[{index}].attributes"),
            )
            for index, event in enumerate(span.events)
        ]
    return RawSpan(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent_id,
        name=pb_text(span.name, ctx, "name"),
        kind=span_fields.span_kind(span.kind, ctx),
        start_ns=start,
        end_ns=end,
        status_code=span_fields.status_code(status.code, ctx),
        status_message=message,
        attributes=attributes,
        events=events,
        resource_attributes=resource,
        scope_name=scope_name,
        path=ctx.path,
        warnings=ctx.span_warnings,
    )


# --- salvage: piece by piece ---------------------------------------------------------


def _lenient_classes() -> dict[str, Any]:
    """Copies of the OTLP messages with every ``string`` field turned into ``bytes``
    (same wire format), in a private descriptor pool."""
    pool = descriptor_pool.DescriptorPool()
    for module in (common_pb2, resource_pb2, trace_pb2, logs_pb2):
        proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(proto)
        pending = list(proto.message_type)
        while pending:
            message = pending.pop()
            pending.extend(message.nested_type)
            for field in message.field:
                if field.type == descriptor_pb2.FieldDescriptorProto.TYPE_STRING:
                    field.type = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
        pool.Add(proto)
    names = {
        "KeyValue": "opentelemetry.proto.common.v1.KeyValue",
        "InstrumentationScope": "opentelemetry.proto.common.v1.InstrumentationScope",
        "Resource": "opentelemetry.proto.resource.v1.Resource",
        "Span": "opentelemetry.proto.trace.v1.Span",
        "Event": "opentelemetry.proto.trace.v1.Span.Event",
        "LogRecord": "opentelemetry.proto.logs.v1.LogRecord",
    }
    return {
        short: message_factory.GetMessageClass(pool.FindMessageTypeByName(full))
        for short, full in names.items()
    }


_LENIENT: dict[str, Any] = {}


def _parse(strict: Any, data: bytes) -> tuple[Any, str | None]:
    """(message, None), or (None, the parser's complaint)."""
    try:
        return strict.FromString(data), None
    except DecodeError:
        pass
    if not _LENIENT:
        _LENIENT.update(_lenient_classes())
    try:
        return _LENIENT[strict.DESCRIPTOR.name].FromString(data), None
    except DecodeError as exc:
        return None, str(exc)


def salvage_records(data: bytes, record: Any, names: tuple[str, str, str]
                    ) -> Iterator[tuple[str, Any, str | None]]:
    """The records of an export request that the generated parser refused whole, each
    parsed on its own (strictly, else with string fields as bytes): ``(path, message,
    None)``, or ``(path, None, why)`` for a piece that cannot be read at all. ``names``
    spell the path as OTLP/JSON does (``("resourceLogs", "scopeLogs", "logRecords")``).
    Raises `OtlpDecodeError` when the body is not protobuf at all."""
    outer, middle, inner = names
    for r_index, resource in enumerate(_top_level(data, outer)):
        path = f"{outer}[{r_index}]"
        try:
            scopes = [payload for _, payload in _pick(list(_fields(resource)), 2)]
        except _Malformed as exc:
            yield path, None, f"broken protobuf framing: {exc}"
            continue
        for s_index, scope in enumerate(scopes):
            scope_path = f"{path}.{middle}[{s_index}]"
            try:
                pieces = [payload for _, payload in _pick(list(_fields(scope)), 2)]
            except _Malformed as exc:
                yield scope_path, None, f"broken protobuf framing: {exc}"
                continue
            for index, piece in enumerate(pieces):
                message, error = _parse(record, piece)
                yield f"{scope_path}.{inner}[{index}]", message, error


def _salvage_resource_spans(data: bytes, path: str, result: DecodeResult) -> None:
    ctx = SpanContext(path, result.warnings)
    try:
        fields = list(_fields(data))
    except _Malformed as exc:
        result.rejections.append(ctx.problem("resourceSpans", f"broken protobuf framing: {exc}"))
        return
    resource: Attributes = {}
    res_ctx = SpanContext(f"{path}.resource", result.warnings)
    for _, payload in _pick(fields, 1):
        resource.update(_salvage_attributes(payload, resource_pb2.Resource, 1, res_ctx)[1])
    for ss_index, payload in enumerate(p for _, p in _pick(fields, 2)):
        ss_path = f"{path}.scopeSpans[{ss_index}]"
        ss_ctx = SpanContext(ss_path, result.warnings)
        try:
            ss_fields = list(_fields(payload))
        except _Malformed as exc:
            result.rejections.append(ss_ctx.problem("scopeSpans", f"broken framing: {exc}"))
            continue
        scope_name = None
        for _, scope_data in _pick(ss_fields, 1):
            scope, error = _parse(common_pb2.InstrumentationScope, scope_data)
            if scope is None:
                ss_ctx.warn("scope", f"undecodable ({error}); ignored")
            else:
                scope_name = pb_text(scope.name, ss_ctx, "scope.name") or None
        for index, (_, span_data) in enumerate(_pick(ss_fields, 2)):
            span_ctx = SpanContext(f"{ss_path}.spans[{index}]", result.warnings)
            try:
                result.spans.append(_salvage_span(span_data, span_ctx, resource, scope_name))
            except SpanRejected as exc:
                result.rejections.append(exc.problem)


def _salvage_span(
    data: bytes, ctx: SpanContext, resource: Attributes, scope_name: str | None
) -> RawSpan:
    span, _ = _parse(trace_pb2.Span, data)
    if span is not None:
        return _span(span, ctx, resource, scope_name)
    # Attributes (field 9) and events (field 11) one by one; the rest in one piece.
    try:
        fields = list(_fields(data))
    except _Malformed as exc:
        raise ctx.reject("span", f"broken protobuf framing: {exc}") from None
    rest = b"".join(raw for number, raw, _ in fields if number not in (9, 11))
    span, error = _parse(trace_pb2.Span, rest)
    if span is None:
        raise ctx.reject("span", f"undecodable protobuf: {error}")
    ctx.trace_id, ctx.span_id = span.trace_id.hex() or None, span.span_id.hex() or None
    attributes = _attributes_one_by_one([p for n, _, p in fields if n == 9], ctx, "attributes")
    events: list[RawEvent] = []
    for index, event_data in enumerate(p for n, _, p in fields if n == 11):
        field = f"events[{index}]"
        event, attrs = _salvage_attributes(event_data, trace_pb2.Span.Event, 3, ctx, field)
        if event is None:
            ctx.warn(field, "undecodable protobuf; event dropped")
        else:
            name = pb_text(event.name, ctx, f"{field}.name")
            events.append(RawEvent(name, event.time_unix_nano, attrs))
    return _span(span, ctx, resource, scope_name, attributes, events)


def _salvage_attributes(
    data: bytes, strict: Any, field_number: int, ctx: SpanContext, prefix: str = ""
) -> tuple[Any, Attributes]:
    """A message holding attributes (resource, event): the whole message if it parses,
    else the other fields in one piece and the attributes one by one."""
    field = f"{prefix}.attributes" if prefix else "attributes"
    message, _ = _parse(strict, data)
    if message is not None:
        return message, pb_attributes(message.attributes, ctx, field)
    try:
        fields = list(_fields(data))
    except _Malformed as exc:
        ctx.warn(prefix or "attributes", f"broken protobuf framing: {exc}; ignored")
        return None, {}
    rest, _ = _parse(strict, b"".join(raw for n, raw, _ in fields if n != field_number))
    items = [p for n, _, p in fields if n == field_number]
    return rest, _attributes_one_by_one(items, ctx, field)


def _attributes_one_by_one(items: list[bytes], ctx: SpanContext, field: str) -> Attributes:
    out: Attributes = {}
    for index, data in enumerate(items):
        item, error = _parse(common_pb2.KeyValue, data)
        if item is not None:
            for name, value in pb_attributes([item], ctx, field).items():
                if name in out:
                    ctx.warn(f"{field}[{name!r}]", "duplicate key; the first value is kept")
                else:
                    out[name] = value
            continue
        key = _raw_key(data, ctx, f"{field}[{index}].key")
        where = f"{field}[{key!r}]" if key is not None else f"{field}[{index}]"
        if key is not None and error and "depth" in error.lower() and key not in out:
            out[key] = NESTED_TOO_DEEP
            ctx.warn(where, "nested deeper than the protobuf parser allows; cut off with a marker")
        else:
            ctx.warn(where, f"undecodable protobuf ({error}); attribute dropped")
    return out


def _raw_key(data: bytes, ctx: SpanContext, field: str) -> str | None:
    try:
        for number, _, payload in _fields(data):
            if number == 1:
                return pb_text(payload, ctx, field)
    except _Malformed:
        pass
    return None


# --- framing -----------------------------------------------------------------------


class _Malformed(Exception):
    pass


def _top_level(data: bytes, name: str = "resourceSpans") -> list[bytes]:
    """The ``resource_spans`` (``name``) pieces of a request; raises ``OtlpDecodeError``
    when the body is not protobuf, or is protobuf without a single such field."""
    try:
        fields = list(_fields(data))
    except _Malformed as exc:
        raise OtlpDecodeError(f"body is neither OTLP/JSON nor OTLP protobuf ({exc})") from None
    pieces = [payload for number, raw, payload in fields if number == 1 and raw[0] == 0x0A]
    if fields and not pieces:
        raise OtlpDecodeError(f"body is protobuf but holds no {name} (field 1)")
    return pieces


def _pick(fields: list[tuple[int, bytes, bytes]], number: int) -> Iterator[tuple[int, bytes]]:
    return ((n, payload) for n, raw, payload in fields if n == number and raw[0] & 7 == _LEN)


def _fields(data: bytes) -> Iterator[tuple[int, bytes, bytes]]:
    """(field number, the field's raw bytes with its tag, its payload) for each field.
    Group wire types (3, 4) are refused: OTLP never uses them."""
    pos, size = 0, len(data)
    while pos < size:
        start = pos
        tag, pos = _varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise _Malformed(f"field number 0 at byte {start}")
        if wire == 0:
            _, pos = _varint(data, pos)
            payload_start = pos
        elif wire == _LEN:
            length, pos = _varint(data, pos)
            payload_start = pos
            pos += length
        elif wire in (1, 5):
            payload_start = pos
            pos += 8 if wire == 1 else 4
        else:
            raise _Malformed(f"wire type {wire} at byte {start}")
        if pos > size:
            raise _Malformed(f"field {number} at byte {start} runs past the end")
        yield number, data[start:pos], data[payload_start:pos]


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    for index in range(pos, min(pos + 10, len(data))):
        byte = data[index]
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, index + 1
        shift += 7
    raise _Malformed(f"bad varint at byte {pos}")


def first_record_field(data: bytes) -> tuple[int, int] | None:
    """(field number, wire type) of the first field of the first record (span or log
    record) of an export request, or None when it holds none; reads framing only."""
    for number, raw, resource in _fields(data):
        if number != 1 or raw[0] & 7 != _LEN:
            continue
        for scope_number, scope_raw, scope in _fields(resource):
            if scope_number != 2 or scope_raw[0] & 7 != _LEN:
                continue
            for record_number, record_raw, record in _fields(scope):
                if record_number != 2 or record_raw[0] & 7 != _LEN:
                    continue
                for field_number, field_raw, _ in _fields(record):
                    tag, _ = _varint(field_raw, 0)
                    return field_number, tag & 7
    return None
