"""Tests of trace ingest (``countersign.wire``, ``countersign.ingest``), with the helpers
its test modules share: loading the
hand-written OTLP/JSON fixtures, turning OTLP/JSON into the equivalent protobuf body,
and building small requests span by span."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "otlp"
TRACE = "5b8efff798038103d269b633813fc60c"
START = 1_718_000_000_000_000_000


def load_fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def to_protobuf(doc: dict[str, Any]) -> bytes:
    """The protobuf body equivalent to an OTLP/JSON document. The protobuf JSON mapping
    reads ids as base64, where OTLP/JSON writes hex, so ids are converted first."""
    doc = copy.deepcopy(doc)
    for rs in doc.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for span in ss.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if span.get(key):
                        span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
    return json_format.ParseDict(doc, ExportTraceServiceRequest()).SerializeToString()


def span(span_id: str, parent: str | None = None, **fields: Any) -> dict[str, Any]:
    """One OTLP/JSON span of trace ``TRACE``; ``fields`` override or add keys."""
    out: dict[str, Any] = {
        "traceId": TRACE,
        "spanId": span_id,
        "name": f"step {span_id}",
        "startTimeUnixNano": str(START),
        "endTimeUnixNano": str(START + 1_000_000),
    }
    if parent is not None:
        out["parentSpanId"] = parent
    out.update(fields)
    return out


def request(*spans: dict[str, Any]) -> dict[str, Any]:
    return {"resourceSpans": [{"scopeSpans": [{"scope": {"name": "test"}, "spans": list(spans)}]}]}


def body(*spans: dict[str, Any]) -> bytes:
    return json.dumps(request(*spans)).encode()


def attr(key: str, value: object) -> dict[str, Any]:
    return {"key": key, "value": value}


def path(index: int) -> str:
    return f"resourceSpans[0].scopeSpans[0].spans[{index}]"
