"""OTLP/HTTP log export requests (``POST /v1/logs``), JSON or protobuf, into log records
about spans, ready for the store.

Instrumentations put GenAI content in log records: the official OpenAI
instrumentation's ``gen_ai.client.inference.operation.details`` event (the messages
as attributes), and the older ``gen_ai.user.message`` / ``gen_ai.choice`` events (the
message as the body). Countersign keeps a log record as an event of the span it names
(its trace and span ids); the trace view folds GenAI events into the span's input and
output (log_events.py). A record that names no span has nowhere to be shown and is
rejected with that reason; a bad record costs only itself, as a bad span does.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import msgspec
from google.protobuf.message import DecodeError  # type: ignore[import-untyped, unused-ignore]
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from ..jsonio import canonical_json
from . import span_fields
from .anyvalue import json_any_value, json_attributes, pb_any_value, pb_attributes, pb_text
from .otlp import gunzip_limited
from .raw import (
    AttrValue,
    DecodeProblem,
    OtlpDecodeError,
    SpanContext,
    SpanRejected,
    ValueRejected,
    describe,
)
from .safe_text import safe_json, safe_plain

#: A stored log record: record_key, trace_id, span_id, time_ns, name, body_json,
#: attributes_json, severity (the `SpanLogRow` columns in this order).
LogValues = tuple[str, str, str, int, str, str | None, str, str | None]
LOG_FIELDS = ("record_key", "trace_id", "span_id", "time_ns", "name", "body_json",
              "attributes_json", "severity")


@dataclass(slots=True)
class LogDecodeResult:
    rows: list[LogValues] = field(default_factory=list)
    rejections: list[DecodeProblem] = field(default_factory=list)
    warnings: list[DecodeProblem] = field(default_factory=list)


def decode_logs_request(
    body: bytes, content_type: str | None, *, max_body_bytes: int
) -> LogDecodeResult:
    """Decodes one log export request (gzip recognised by its magic bytes). Raises
    `OtlpDecodeError` when the body is not an OTLP log request at all."""
    data = gunzip_limited(body, max_body_bytes) if body[:2] == b"\x1f\x8b" else body
    if len(data) > max_body_bytes:
        raise OtlpDecodeError(f"body is larger than {max_body_bytes} bytes")
    media = (content_type or "").split(";", 1)[0].strip().lower()
    is_json = media == "application/json" or (
        media not in ("application/x-protobuf", "application/protobuf")
        and data.lstrip(b" \t\r\n\xef\xbb\xbf").startswith(b"{"))
    return _decode_json(data) if is_json else _decode_protobuf(data)


def _decode_json(data: bytes) -> LogDecodeResult:
    try:
        text = data.decode("utf-8")
        repair = "\\ud" in text or "\\uD" in text
    except UnicodeDecodeError:
        text, repair = data.decode("utf-8", "surrogateescape"), True
    try:
        if repair:
            doc = json.loads(text.removeprefix("\ufeff"))
        else:
            doc = msgspec.json.decode(data.removeprefix(b"\xef\xbb\xbf"))
    except (msgspec.DecodeError, ValueError) as exc:
        raise OtlpDecodeError(f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise OtlpDecodeError("body is nested too deeply to be a log request") from None
    if not isinstance(doc, dict):
        raise OtlpDecodeError(f"OTLP/JSON body must be an object, got {type(doc).__name__}")
    result = LogDecodeResult()
    resource_logs = doc.get("resourceLogs")
    if resource_logs is None:
        if doc:
            raise OtlpDecodeError(f"no resourceLogs: keys are {describe(sorted(doc), 80)}")
        return result
    if not isinstance(resource_logs, list):
        raise OtlpDecodeError(f"resourceLogs must be a list, got {describe(resource_logs)}")
    for rl_index, rl in enumerate(resource_logs):
        path = f"resourceLogs[{rl_index}]"
        scopes = rl.get("scopeLogs") if isinstance(rl, dict) else None
        if not isinstance(scopes, list):
            result.rejections.append(DecodeProblem(path, None, None, "scopeLogs",
                                                   "must be a list"))
            continue
        for sl_index, sl in enumerate(scopes):
            records = sl.get("logRecords") if isinstance(sl, dict) else None
            for index, record in enumerate(records if isinstance(records, list) else ()):
                ctx = SpanContext(f"{path}.scopeLogs[{sl_index}].logRecords[{index}]",
                                  result.warnings)
                try:
                    result.rows.append(_json_record(record, ctx, repair))
                except SpanRejected as exc:
                    result.rejections.append(exc.problem)
    return result


def _json_record(record: object, ctx: SpanContext, repair: bool) -> LogValues:
    if not isinstance(record, dict):
        raise ctx.reject("logRecord", f"must be an object, got {describe(record)}")
    trace, span = record.get("traceId"), record.get("spanId")
    if not trace or not span:
        raise ctx.reject("traceId" if not trace else "spanId",
                         "is missing: Countersign keeps log records as events of spans")
    ctx.trace_id, ctx.span_id = describe(trace), describe(span)
    trace_id = span_fields.hex_id(span_fields.json_str(trace, ctx, "traceId"), 16, ctx, "traceId")
    span_id = span_fields.hex_id(span_fields.json_str(span, ctx, "spanId"), 8, ctx, "spanId")
    ctx.trace_id, ctx.span_id = trace_id, span_id
    time_ns = span_fields.json_uint64(record.get("timeUnixNano"), ctx, "timeUnixNano") or (
        span_fields.json_uint64(record.get("observedTimeUnixNano"), ctx, "observedTimeUnixNano"))
    attributes = json_attributes(record.get("attributes"), ctx, "attributes", repair)
    try:
        body = json_any_value(record.get("body"), ctx, "body", repair)
    except ValueRejected as exc:
        ctx.warn("body", f"{exc}; body dropped")
        body = None
    name = record.get("eventName")
    severity = record.get("severityText")
    return _row(trace_id, span_id, time_ns, name if isinstance(name, str) else None,
                attributes, body, severity if isinstance(severity, str) else None, ctx)


def _decode_protobuf(data: bytes) -> LogDecodeResult:
    try:
        request = ExportLogsServiceRequest.FromString(data)
    except DecodeError:
        return _salvage_protobuf(data)
    result = LogDecodeResult()
    for rl_index, rl in enumerate(request.resource_logs):
        for sl_index, sl in enumerate(rl.scope_logs):
            for index, record in enumerate(sl.log_records):
                ctx = SpanContext(
                    f"resourceLogs[{rl_index}].scopeLogs[{sl_index}].logRecords[{index}]",
                    result.warnings)
                try:
                    result.rows.append(_pb_record(record, ctx))
                except SpanRejected as exc:
                    result.rejections.append(exc.problem)
    return result


def _salvage_protobuf(data: bytes) -> LogDecodeResult:
    """A request the generated parser refused whole (one string with invalid UTF-8, one
    value nested too deep): every log record on its own, so a bad one costs only
    itself and invalid UTF-8 is repaired visibly, as for spans."""
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

    from .otlp_protobuf import salvage_records

    result = LogDecodeResult()
    names = ("resourceLogs", "scopeLogs", "logRecords")
    for path, record, error in salvage_records(data, LogRecord, names):
        ctx = SpanContext(path, result.warnings)
        if record is None:
            result.rejections.append(ctx.problem("logRecord", f"undecodable protobuf: {error}"))
            continue
        try:
            result.rows.append(_pb_record(record, ctx))
        except SpanRejected as exc:
            result.rejections.append(exc.problem)
    return result


def _pb_record(record: Any, ctx: SpanContext) -> LogValues:
    if not record.trace_id or not record.span_id:
        raise ctx.reject("traceId" if not record.trace_id else "spanId",
                         "is missing: Countersign keeps log records as events of spans")
    ctx.trace_id, ctx.span_id = record.trace_id.hex(), record.span_id.hex()
    trace_id = span_fields.bytes_id(record.trace_id, 16, ctx, "traceId")
    span_id = span_fields.bytes_id(record.span_id, 8, ctx, "spanId")
    attributes = pb_attributes(record.attributes, ctx, "attributes")
    body = pb_any_value(record.body, ctx, "body") if record.HasField("body") else None
    name = pb_text(record.event_name, ctx, "eventName") or None
    return _row(trace_id, span_id, record.time_unix_nano or record.observed_time_unix_nano,
                name, attributes, body, pb_text(record.severity_text, ctx, "severityText") or None,
                ctx)


def _row(trace_id: str, span_id: str, time_ns: int, name: str | None,
         attributes: dict[str, AttrValue], body: AttrValue, severity: str | None,
         ctx: SpanContext) -> LogValues:
    if name is None:  # older SDKs name the event in an attribute
        named = attributes.get("event.name")
        name = named if isinstance(named, str) else ""
    if time_ns > span_fields.INT63_MAX:
        raise ctx.reject("timeUnixNano", f"is out of range: {time_ns}")
    warnings: list[str] = []
    name = safe_plain(name.replace("\x00", "\ufffd"), "eventName", warnings)
    attributes_json = safe_json(canonical_json(attributes), "attributes", warnings)
    body_json = None if body is None else safe_json(canonical_json(body), "body", warnings)
    for warning in warnings:
        ctx.warn(*warning.split(": ", 1))
    key = hashlib.sha256("\x1f".join(
        (trace_id, span_id, str(time_ns), name, body_json or "", attributes_json)
    ).encode("utf-8")).hexdigest()
    return (key, trace_id, span_id, time_ns, name, body_json, attributes_json,
            None if severity is None else severity[:20])


def looks_like_logs(data: bytes) -> bool:
    """Whether an (un-gzipped) file holds a log export request rather than a trace one:
    a JSON document naming ``resourceLogs``, or protobuf whose first record does not
    open as a span does (with its trace id)."""
    head = data[:4096].lstrip(b" \t\r\n\xef\xbb\xbf")
    if head.startswith(b"{"):
        return b'"resourceLogs"' in head
    try:
        from .otlp_protobuf import first_record_field

        first = first_record_field(data)
        # A span opens with its trace id (field 1) or, lacking one, its span id (2),
        # both bytes; a log record with a timestamp, severity, body or attributes.
        return first is not None and first not in ((1, 2), (2, 2))
    except Exception:  # not protobuf either: the trace decoder says why
        return False
