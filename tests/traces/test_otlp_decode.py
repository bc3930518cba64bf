"""OTLP decoding: both encodings give the same raw spans, and every kind of bad input
costs only the item concerned, with a reason naming the span and the field."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from countersign.wire.otlp import OtlpDecodeError, decode_export_request
from countersign.wire.raw import MAX_VALUE_DEPTH, NESTED_TOO_DEEP, DecodeResult

from . import START, TRACE, attr, body, load_fixture, path, request, span, to_protobuf

GOOD_A, GOOD_B = "aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"
FIXTURE_NAMES = ["openinference_trace.json", "genai_trace.json", "genai_deprecated_trace.json"]


def decode_json_doc(doc: dict[str, Any]) -> DecodeResult:
    return decode_export_request(json.dumps(doc).encode(), "application/json")


def only_good_survive(result: DecodeResult) -> None:
    assert [s.span_id for s in result.spans] == [GOOD_A, GOOD_B]


def one_rejection(result: DecodeResult) -> Any:
    assert len(result.rejections) == 1, [str(r) for r in result.rejections]
    return result.rejections[0]


# --- good input -------------------------------------------------------------------


def test_openinference_fixture_decodes_every_field() -> None:
    result = decode_json_doc(load_fixture("openinference_trace.json"))
    assert result.rejections == []
    assert result.warnings == []
    assert len(result.spans) == 5
    root, llm = result.spans[0], result.spans[1]
    assert root.trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert (root.span_id, root.parent_span_id) == ("b7ad6b7169203331", None)
    assert llm.parent_span_id == "b7ad6b7169203331"
    assert (llm.start_ns, llm.end_ns) == (1718000000100000000, 1718000001900000000)
    assert (llm.kind, llm.status_code, llm.status_message) == (1, 1, None)
    assert llm.attributes["llm.token_count.prompt"] == 812
    assert llm.attributes["llm.cost.total"] == pytest.approx(0.00244)
    assert root.attributes["tag.tags"] == ["travel", "prod"]
    assert root.resource_attributes == {
        "service.name": "travel-desk",
        "telemetry.sdk.language": "python",
    }
    assert root.scope_name == "openinference.instrumentation.langchain"
    error = result.spans[4]
    assert (error.status_code, error.status_message) == (2, "RateLimitError: too many requests")
    assert error.events[0].name == "exception"
    assert error.events[0].time_ns == 1718000004300000000
    assert error.events[0].attributes["exception.escaped"] is False
    assert not any(s.orphan for s in result.spans)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_protobuf_decodes_like_json(name: str) -> None:
    doc = load_fixture(name)
    from_json = decode_json_doc(doc)
    from_pb = decode_export_request(to_protobuf(doc), "application/x-protobuf")
    assert from_pb.rejections == []
    assert from_pb.warnings == []
    assert from_pb.spans == from_json.spans
    assert len(from_pb.spans) >= 1


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_gzip_and_sniffing_without_content_type(name: str) -> None:
    doc = load_fixture(name)
    expected = decode_json_doc(doc).spans
    for data in (json.dumps(doc).encode(), to_protobuf(doc)):
        assert decode_export_request(gzip.compress(data)).spans == expected
        assert decode_export_request(data, "text/plain").spans == expected


def test_json_accepts_numbers_enum_names_and_charset_parameter() -> None:
    doc = request(
        span(
            GOOD_A,
            startTimeUnixNano=START,
            kind="SPAN_KIND_CLIENT",
            status={"code": "STATUS_CODE_ERROR"},
            attributes=[attr("n", {"intValue": 7}), attr("d", {"doubleValue": "Infinity"})],
        )
    )
    result = decode_export_request(json.dumps(doc).encode(), "application/json; charset=utf-8")
    (only,) = result.spans
    assert (only.kind, only.status_code, only.start_ns) == (3, 2, START)
    assert only.attributes == {"n": 7, "d": float("inf")}


def test_bytes_values_are_base64_text_in_both_encodings() -> None:
    doc = request(span(GOOD_A, attributes=[attr("blob", {"bytesValue": "aGVsbG8="})]))
    assert decode_json_doc(doc).spans[0].attributes == {"blob": "aGVsbG8="}
    pb = decode_export_request(to_protobuf(doc), "application/x-protobuf")
    assert pb.spans[0].attributes == {"blob": "aGVsbG8="}


def test_empty_requests_are_empty_results() -> None:
    for data in (b"", b"{}", b'{"resourceSpans": []}'):
        result = decode_export_request(data)
        assert (result.spans, result.rejections) == ([], [])


# --- bad spans are rejected one by one ---------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("traceId", "5b8e", "must be 32 hex digits"),
        ("traceId", "zz" * 16, "not hexadecimal"),
        ("traceId", "0" * 32, "all zeros"),
        ("traceId", None, "missing"),
        ("traceId", 12345, "must be a hex string"),
        ("spanId", "abc", "must be 16 hex digits"),
        ("spanId", "g" * 16, "not hexadecimal"),
        ("spanId", "0" * 16, "all zeros"),
        ("spanId", None, "missing"),
        ("parentSpanId", "12345", "must be 16 hex digits"),
        ("name", 42, "must be a string"),
        ("startTimeUnixNano", "soon", "decimal string"),
        ("startTimeUnixNano", None, "missing"),
        ("startTimeUnixNano", str(2**64), "out of range"),
        ("endTimeUnixNano", str(START - 1), "before startTimeUnixNano"),
        ("kind", "sideways", "must be an integer"),
        ("status", "broken", "must be an object"),
        ("attributes", {"key": "x"}, "must be a list"),
        ("events", "none", "must be a list"),
    ],
)
def test_a_bad_field_rejects_only_its_span(field: str, value: object, reason: str) -> None:
    bad = span("cccccccccccccccc", GOOD_A)
    if value is None:
        del bad[field]
    else:
        bad[field] = value
    result = decode_export_request(body(span(GOOD_A), bad, span(GOOD_B, GOOD_A)))
    only_good_survive(result)
    rejection = one_rejection(result)
    assert rejection.path == path(1)
    assert rejection.field == field
    assert reason in rejection.reason
    assert path(1) in str(rejection)
    assert field in str(rejection)
    if field not in ("traceId", "spanId"):
        assert rejection.span_id == "cccccccccccccccc"
        assert rejection.trace_id == TRACE


def test_broken_containers_are_rejected_by_index_path() -> None:
    doc = request(span(GOOD_A), span(GOOD_B))
    doc["resourceSpans"].insert(0, "not an object")
    doc["resourceSpans"][1]["scopeSpans"].append({"spans": {"not": "a list"}})
    doc["resourceSpans"][1]["scopeSpans"][0]["spans"].insert(1, ["not", "a", "span"])
    result = decode_json_doc(doc)
    assert [s.span_id for s in result.spans] == [GOOD_A, GOOD_B]
    assert sorted((r.path, r.field) for r in result.rejections) == [
        ("resourceSpans[0]", "resourceSpans"),
        ("resourceSpans[1].scopeSpans[0].spans[1]", "span"),
        ("resourceSpans[1].scopeSpans[1]", "spans"),
    ]


def pb_request(*spans: dict[str, Any]) -> ExportTraceServiceRequest:
    message = ExportTraceServiceRequest()
    scope_spans = message.resource_spans.add().scope_spans.add()
    for fields in spans:
        scope_spans.spans.add(**fields)
    return message


def pb_span(own_id: bytes, **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "trace_id": bytes.fromhex(TRACE),
        "span_id": own_id,
        "name": "step",
        "start_time_unix_nano": START,
        "end_time_unix_nano": START + 5,
    }
    out.update(fields)
    return out


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"trace_id": b"\x01" * 15}, "traceId", "must be 16 bytes, got 15"),
        ({"trace_id": b""}, "traceId", "missing"),
        ({"trace_id": b"\x00" * 16}, "traceId", "all zeros"),
        ({"span_id": b""}, "spanId", "missing"),
        ({"span_id": b"\x01" * 9}, "spanId", "must be 8 bytes"),
        ({"parent_span_id": b"\x01" * 3}, "parentSpanId", "must be 8 bytes"),
        ({"start_time_unix_nano": 0}, "startTimeUnixNano", "missing"),
        ({"end_time_unix_nano": 1}, "endTimeUnixNano", "before"),
    ],
)
def test_protobuf_bad_fields_reject_only_their_span(
    fields: dict[str, Any], field: str, reason: str
) -> None:
    bad = pb_span(b"\xcc" * 8, **fields)
    message = pb_request(pb_span(b"\xaa" * 8), bad, pb_span(b"\xbb" * 8))
    result = decode_export_request(message.SerializeToString())
    only_good_survive(result)
    rejection = one_rejection(result)
    assert (rejection.path, rejection.field) == (path(1), field)
    assert reason in rejection.reason


# --- repairs: the span is kept, the repair is visible and recorded ------------------


def test_protobuf_invalid_utf8_is_repaired_visibly() -> None:
    message = pb_request(pb_span(b"\xaa" * 8), pb_span(b"\xbb" * 8, name="NAME"))
    message.resource_spans[0].scope_spans[0].spans[1].attributes.add(
        key="note", value=AnyValue(string_value="VALUE")
    )
    # Same lengths, so the framing stays intact; "\xc3L" is not a UTF-8 sequence.
    data = message.SerializeToString().replace(b"NAME", b"N\xffME").replace(b"VALUE", b"V\xc3LUE")
    result = decode_export_request(data, "application/x-protobuf")
    assert result.rejections == []
    good, repaired = result.spans
    assert good.name == "step"
    assert repaired.name == "N\\xffME"
    assert repaired.attributes == {"note": "V\\xc3LUE"}
    assert {w.field for w in result.warnings} == {"name", "attributes['note']"}
    assert all(w.span_id == GOOD_B and w.path == path(1) for w in result.warnings)
    assert any("UTF-8" in text for text in repaired.warnings)


def test_json_lone_surrogates_and_invalid_bytes_are_repaired_visibly() -> None:
    doc = request(
        span(GOOD_A, attributes=[attr("text", {"stringValue": "ok \ud800 here"})]),
        span(GOOD_B, name="plain"),
    )
    data = json.dumps(doc).encode()  # json.dumps writes the lone surrogate as \ud800
    assert b"\\ud800" in data
    result = decode_export_request(data.replace(b"plain", b"pl\xe9in"))
    assert result.rejections == []
    assert result.spans[0].attributes["text"] == "ok \\ud800 here"
    assert result.spans[1].name == "pl\\xe9in"  # the byte, as jsonio shows it
    assert [(w.span_id, w.field) for w in result.warnings] == [
        (GOOD_A, "attributes['text']"),
        (GOOD_B, "name"),
    ]


@pytest.mark.parametrize(
    "value",
    [
        {"fooValue": 1},
        {"stringValue": 5},
        {"intValue": "12x"},
        {"intValue": str(2**63)},
        {"boolValue": "yes"},
        {"bytesValue": "not base64!"},
        {"stringValue": "a", "intValue": "1"},
        {"arrayValue": {"values": [{"stringValue": "fine"}, {"doubleValue": []}]}},
        {"kvlistValue": {"values": [{"value": {"stringValue": "keyless"}}]}},
        "bare string",
    ],
)
def test_unknown_attribute_shapes_drop_only_the_attribute(value: object) -> None:
    bad = span(GOOD_B, attributes=[attr("keep", {"stringValue": "x"}), attr("odd", value)])
    result = decode_export_request(body(span(GOOD_A), bad))
    assert result.rejections == []
    only_good_survive(result)
    assert result.spans[1].attributes == {"keep": "x"}
    (warning,) = result.warnings
    assert (warning.path, warning.span_id, warning.field) == (path(1), GOOD_B, "attributes['odd']")
    assert "dropped" in warning.reason


def test_megabyte_values_pass_through_whole() -> None:
    big = "x" * (4 * 1024 * 1024)
    doc = request(span(GOOD_A, attributes=[attr("output.value", {"stringValue": big})]))
    for data in (json.dumps(doc).encode(), to_protobuf(doc)):
        assert decode_export_request(data).spans[0].attributes["output.value"] == big


def nested_json_text(depth: int) -> str:
    """An AnyValue nested ``depth`` deep, alternating kvlist and array, as JSON text
    (json.dumps itself would recurse too deep)."""
    opening, closing = [], []
    for level in range(depth):
        if level % 2:
            opening.append('{"arrayValue": {"values": [')
            closing.append("]}}")
        else:
            opening.append('{"kvlistValue": {"values": [{"key": "k", "value": ')
            closing.append("}]}}")
    return "".join(opening) + '{"stringValue": "leaf"}' + "".join(reversed(closing))


def depth_of(value: Any) -> tuple[int, Any]:
    depth = 0
    while isinstance(value, dict | list):
        value = value["k"] if isinstance(value, dict) else value[0]
        depth += 1
    return depth, value


@pytest.mark.parametrize("depth", [MAX_VALUE_DEPTH, MAX_VALUE_DEPTH + 1, 5_000])
def test_deep_json_values_are_cut_with_a_marker(depth: int) -> None:
    placeholder = attr("deep", {"stringValue": "PLACEHOLDER"})
    attributes = [placeholder, attr("ok", {"boolValue": True})]
    text = json.dumps(request(span(GOOD_A), span(GOOD_B, attributes=attributes)))
    text = text.replace('{"stringValue": "PLACEHOLDER"}', nested_json_text(depth))
    result = decode_export_request(text.encode())
    only_good_survive(result)
    value = result.spans[1].attributes["deep"]
    assert result.spans[1].attributes["ok"] is True
    if depth <= MAX_VALUE_DEPTH:
        assert depth_of(value) == (depth, "leaf")
        assert result.warnings == []
    else:
        assert depth_of(value) == (MAX_VALUE_DEPTH, NESTED_TOO_DEEP)
        (warning,) = result.warnings
        assert (warning.span_id, warning.field) == (GOOD_B, "attributes['deep']")


def test_deep_protobuf_values_are_cut_without_losing_the_span() -> None:
    value = AnyValue(string_value="leaf")
    for _ in range(300):
        outer = AnyValue()
        outer.kvlist_value.values.add(key="k").value.CopyFrom(value)
        value = outer
    message = pb_request(pb_span(b"\xaa" * 8), pb_span(b"\xbb" * 8))
    bad = message.resource_spans[0].scope_spans[0].spans[1]
    bad.attributes.add(key="deep").value.CopyFrom(value)
    bad.attributes.add(key="ok", value=AnyValue(int_value=3))
    result = decode_export_request(message.SerializeToString(), "application/x-protobuf")
    only_good_survive(result)
    assert result.spans[1].attributes == {"deep": NESTED_TOO_DEEP, "ok": 3}
    (warning,) = result.warnings
    assert (warning.span_id, warning.field) == (GOOD_B, "attributes['deep']")


# --- batch checks ------------------------------------------------------------------


def test_duplicate_spans_keep_the_first() -> None:
    result = decode_export_request(
        body(span(GOOD_A, name="first"), span(GOOD_A, name="second"), span(GOOD_B))
    )
    assert [(s.span_id, s.name) for s in result.spans] == [
        (GOOD_A, "first"),
        (GOOD_B, f"step {GOOD_B}"),
    ]
    rejection = one_rejection(result)
    assert (rejection.path, rejection.span_id, rejection.field) == (path(1), GOOD_A, "spanId")
    assert "duplicate" in rejection.reason
    assert path(0) in rejection.reason


def test_cycles_are_rejected_and_orphans_kept_and_flagged() -> None:
    c, d, e, f = "cccccccccccccccc", "dddddddddddddddd", "eeeeeeeeeeeeeeee", "ffffffffffffffff"
    result = decode_export_request(
        body(
            span(GOOD_A),
            span(c, d),  # c → d → c: a cycle
            span(d, c),
            span(e, e),  # its own parent
            span(f, c),  # below the cycle: its parent is rejected, so it is an orphan
            span(GOOD_B, "1234567890abcdef"),  # parent not (yet) seen: an orphan
        )
    )
    assert [(s.span_id, s.orphan) for s in result.spans] == [
        (GOOD_A, False),
        (f, True),
        (GOOD_B, True),
    ]
    assert sorted((r.span_id, r.field) for r in result.rejections) == [
        (c, "parentSpanId"),
        (d, "parentSpanId"),
        (e, "parentSpanId"),
    ]
    assert all("cycle" in r.reason for r in result.rejections)


def test_long_parent_chains_need_no_recursion() -> None:
    ids = [f"{i + 1:016x}" for i in range(20_000)]
    spans = [span(ids[0])] + [span(ids[i], ids[i - 1]) for i in range(1, len(ids))]
    result = decode_export_request(body(*spans))
    assert len(result.spans) == 20_000
    assert result.rejections == []


# --- whole-body failures -----------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type", "message"),
    [
        (b"hello world, this is not a trace", None, "neither OTLP/JSON nor OTLP protobuf"),
        (b'{"resourceSpans": [', None, "not valid JSON"),
        (b"[1, 2, 3]", "application/json", "must be an object"),
        (b'{"resourceLogs": []}', None, "no resourceSpans"),
        (b'{"resourceSpans": {"a": 1}}', None, "resourceSpans must be a list"),
        (b"\x1f\x8b\x08\x00garbage", None, "gzip"),
        (gzip.compress(b"{}")[:-6], None, "truncated"),
        (b"\x08\x96\x01", "application/x-protobuf", "no resourceSpans"),
    ],
)
def test_malformed_bodies_raise_a_clear_error(
    data: bytes, content_type: str | None, message: str
) -> None:
    with pytest.raises(OtlpDecodeError, match=message):
        decode_export_request(data, content_type)


def test_gzip_bombs_stop_at_the_limit() -> None:
    with pytest.raises(OtlpDecodeError, match="more than 1000 bytes"):
        decode_export_request(gzip.compress(b" " * 100_000), max_body_bytes=1000)


# --- fuzz --------------------------------------------------------------------------

_fuzz = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def decodes_or_says_why(data: bytes, content_type: str | None = None) -> None:
    try:
        result = decode_export_request(data, content_type)
    except OtlpDecodeError as exc:
        message = str(exc)
    else:
        assert isinstance(result, DecodeResult)
        return
    assert message


@_fuzz
@given(st.binary(max_size=2048), st.sampled_from([None, "application/x-protobuf"]))
def test_fuzz_random_bytes(data: bytes, content_type: str | None) -> None:
    decodes_or_says_why(data, content_type)


_json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from([TRACE, "aaaaaaaaaaaaaaaa", "0" * 16, "", str(START), "NaN"]),
)
_otlp_keys = st.sampled_from(
    [
        "resourceSpans", "scopeSpans", "spans", "resource", "scope", "attributes", "key",
        "value", "traceId", "spanId", "parentSpanId", "name", "kind", "startTimeUnixNano",
        "endTimeUnixNano", "status", "code", "message", "events", "timeUnixNano",
        "stringValue", "intValue", "doubleValue", "boolValue", "bytesValue", "arrayValue",
        "kvlistValue", "values",
    ]
)
_json_docs = st.recursive(
    _json_leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(_otlp_keys, children, max_size=5)
    ),
    max_leaves=40,
)


@_fuzz
@given(st.dictionaries(st.just("resourceSpans"), _json_docs, min_size=1))
def test_fuzz_random_json(doc: dict[str, Any]) -> None:
    decodes_or_says_why(json.dumps(doc).encode())


@_fuzz
@given(st.data())
def test_fuzz_mutated_protobuf(data: st.DataObject) -> None:
    original = bytearray(to_protobuf(load_fixture("genai_trace.json")))
    for _ in range(data.draw(st.integers(min_value=1, max_value=8))):
        index = data.draw(st.integers(min_value=0, max_value=len(original) - 1))
        original[index] = data.draw(st.integers(min_value=0, max_value=255))
    decodes_or_says_why(bytes(original), "application/x-protobuf")
