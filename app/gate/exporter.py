"""An OpenTelemetry SDK span exporter that writes straight into the console's store,
so an agent instrumented with OpenTelemetry needs one line and no collector:

    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from countersign.gate.exporter import CountersignSpanExporter

    provider.add_span_processor(BatchSpanProcessor(CountersignSpanExporter()))

The SDK's finished spans become the same raw spans the OTLP decoders produce, so they
go through the same batch checks, normaliser and ingest as OTLP files and the
receiver. This module needs the ``otel`` extra (``opentelemetry-sdk``); nothing else in
the core imports it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from ..services.traces import TraceService
from ..store.engine import Store, StoreError
from ..store.migrate import open_store
from ..wire.anyvalue import repair_str
from ..wire.integrity import check_batch
from ..wire.raw import Attributes, AttrValue, DecodeResult, RawEvent, RawSpan, SpanContext

log = logging.getLogger("countersign.gate.exporter")


class CountersignSpanExporter(SpanExporter):
    """Exports finished spans into a store: a `Store`, a SQLAlchemy URL, or None for
    ``$COUNTERSIGN_STORE`` / the embedded default. Re-exported spans are idempotent;
    invalid ones are logged and skipped, never failing the batch."""

    def __init__(self, store: Store | str | None = None, *, source: str = "otel") -> None:
        self._owns_store = not isinstance(store, Store)
        self.store = store if isinstance(store, Store) else open_store(store)
        self.service = TraceService(self.store)
        self.source = source
        self._lock = threading.Lock()
        self._closed = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            if self._closed:
                return SpanExportResult.FAILURE
            decoded = DecodeResult()
            for index, span in enumerate(spans):
                decoded.spans.append(to_raw_span(span, index, decoded))
            check_batch(decoded)
            try:
                result = self.service.ingest_decoded(decoded, source=self.source)
            except StoreError as exc:  # the processor logs and drops; say why once
                log.warning("cannot export %d spans to the store: %s", len(spans), exc)
                return SpanExportResult.FAILURE
            for reason in result.rejected:
                log.warning("span not stored: %s", reason)
            return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            if self._owns_store:
                self.store.dispose()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True  # every export is written before it returns


def to_raw_span(span: ReadableSpan, index: int, decoded: DecodeResult) -> RawSpan:
    """The SDK's span as the decoders would have produced it from OTLP."""
    context = span.context
    path = f"spans[{index}]"
    ctx = SpanContext(path, decoded.warnings)
    trace_id = format(context.trace_id, "032x") if context is not None else "0" * 32
    span_id = format(context.span_id, "016x") if context is not None else "0" * 16
    ctx.trace_id, ctx.span_id = trace_id, span_id
    parent = span.parent
    status = span.status
    scope = span.instrumentation_scope
    start = span.start_time or 0
    return RawSpan(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=format(parent.span_id, "016x") if parent is not None else None,
        name=repair_str(span.name or "", ctx, "name"),
        # The SDK numbers kinds from INTERNAL = 0; OTLP from UNSPECIFIED = 0.
        kind=span.kind.value + 1,
        start_ns=start,
        end_ns=span.end_time if span.end_time and span.end_time >= start else None,
        status_code=int(status.status_code.value),
        status_message=repair_str(status.description, ctx, "status.message")
        if status.description else None,
        attributes=_attributes(span.attributes, ctx, "attributes"),
        events=[
            RawEvent(
                repair_str(event.name, ctx, f"events[{i}].name"),
                event.timestamp,
                _attributes(event.attributes, ctx, f"events[{i}].attributes"),
            )
            for i, event in enumerate(span.events)
        ],
        resource_attributes=_attributes(span.resource.attributes, ctx, "resource.attributes"),
        scope_name=scope.name if scope is not None else None,
        path=path,
        warnings=ctx.span_warnings,
    )


def _attributes(attrs: Mapping[str, Any] | None, ctx: SpanContext, field: str) -> Attributes:
    if not attrs:
        return {}
    return {
        repair_str(str(key), ctx, field): _value(value, ctx, f"{field}[{key!r}]")
        for key, value in attrs.items()
    }


def _value(value: Any, ctx: SpanContext, field: str) -> AttrValue:
    """SDK attribute values are primitives or flat sequences of them."""
    if isinstance(value, str):
        return repair_str(value, ctx, field)
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, Sequence):
        return [_value(item, ctx, field) for item in value]
    return repr(value)
