"""The fast ingest path gives exactly what the careful one gives: the typed OTLP/JSON
lane against the lenient decoder, a file cut into pieces against the file decoded
whole, and bodies prepared in worker processes against bodies prepared here, including
when a worker dies."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from countersign.domain.runs import RunQuery
from countersign.ingest import files
from countersign.ingest.files import decode_file, split_file
from countersign.ingest.pool import IngestPool
from countersign.ingest.prepare import prepare_request
from countersign.services.traces import TraceService
from countersign.store.engine import Store
from countersign.wire import otlp
from countersign.wire.otlp import decode_export_request
from countersign.wire.raw import DecodeResult

from . import attr, load_fixture, request, span, to_protobuf

FIXTURES = ["openinference_trace.json", "genai_trace.json", "genai_deprecated_trace.json"]


def lenient(data: bytes, monkeypatch: pytest.MonkeyPatch) -> DecodeResult:
    with monkeypatch.context() as patch:
        patch.setattr(otlp, "decode_typed", lambda _data: None)
        return decode_export_request(data, "application/json")


def same(a: DecodeResult, b: DecodeResult) -> None:
    assert a.spans == b.spans
    assert [str(p) for p in a.rejections] == [str(p) for p in b.rejections]
    assert [str(p) for p in a.warnings] == [str(p) for p in b.warnings]


@pytest.mark.parametrize("name", FIXTURES)
def test_typed_lane_reads_the_fixtures_as_the_lenient_decoder(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = json.dumps(load_fixture(name)).encode()
    assert otlp.decode_typed(data) is not None  # the fast lane took it
    same(decode_export_request(data, "application/json"), lenient(data, monkeypatch))


# Attribute values of every shape the lenient decoder distinguishes, good and bad.
VALUES = st.one_of(
    st.fixed_dictionaries({"stringValue": st.text(max_size=5)}),
    st.fixed_dictionaries({"intValue": st.one_of(
        st.integers(-(2**63), 2**63 - 1), st.integers().map(str), st.just("12x"),
        st.just("٣"), st.floats(allow_nan=False, allow_infinity=False))}),
    st.fixed_dictionaries({"doubleValue": st.one_of(
        st.floats(allow_nan=False), st.integers(-10, 10), st.sampled_from(["NaN", "1.5", "x"]))}),
    st.fixed_dictionaries({"boolValue": st.one_of(st.booleans(), st.integers(0, 1))}),
    st.fixed_dictionaries({"bytesValue": st.sampled_from(["aGk=", "not base64!"])}),
    st.fixed_dictionaries({"arrayValue": st.fixed_dictionaries({"values": st.lists(
        st.fixed_dictionaries({"stringValue": st.text(max_size=3)}), max_size=3)})}),
    st.just({}), st.just(None), st.just({"stringValue": None}), st.just({"weird": 1}),
    st.just({"stringValue": "a", "intValue": 1}), st.just({"kvlistValue": {"values": [
        {"key": "k", "value": {"intValue": "7"}}]}}),
)
IDS = st.sampled_from(["aaaaaaaaaaaaaaaa", "AAAAAAAAAAAAAAAA", "0000000000000000", "abc", "",
                       "bbbbbbbbbbbbbbbb"])


def both_lanes_agree(*spans: dict[str, Any]) -> None:
    data = json.dumps(request(*spans, span("cccccccccccccccc"))).encode()
    with pytest.MonkeyPatch.context() as patch:
        same(decode_export_request(data, "application/json"), lenient(data, patch))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "llm.token_count.prompt"]), VALUES),
                max_size=5))
def test_typed_lane_reads_odd_attributes_as_the_lenient_decoder(
    attributes: list[tuple[str, Any]],
) -> None:
    both_lanes_agree(span("aaaaaaaaaaaaaaaa", attributes=[attr(k, v) for k, v in attributes]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    span_id=IDS, parent=st.one_of(st.none(), IDS),
    start=st.one_of(st.integers(0, 2**64), st.just("1718000000000000000"), st.just("x")),
    kind=st.one_of(st.integers(-1, 7), st.just("SPAN_KIND_CLIENT"), st.just(None)),
    status=st.one_of(st.none(), st.just({"code": 2, "message": "boom"}), st.just({"code": 9}),
                     st.just("bad")),
)
def test_typed_lane_reads_odd_span_fields_as_the_lenient_decoder(
    span_id: str, parent: str | None, start: Any, kind: Any, status: Any,
) -> None:
    both_lanes_agree(span(span_id, parent, startTimeUnixNano=start, endTimeUnixNano=0,
                          kind=kind, status=status))


def big_request(spans: int, *, bad_at: int | None = None) -> dict[str, Any]:
    doc = load_fixture("openinference_trace.json")
    template = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
    out = []
    for index in range(spans):
        copy = dict(template[index % len(template)])
        copy.update(traceId=f"{index // len(template) + 1:032x}", spanId=f"{index + 1:016x}")
        copy.pop("parentSpanId", None)
        if index == bad_at:
            copy["spanId"] = "abcd"  # too short, in hex as in bytes
        out.append(copy)
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"] = out
    return doc


@pytest.mark.parametrize("encoding", ["json", "protobuf"])
def test_a_file_in_pieces_imports_as_the_file_decoded_whole(
    encoding: str, tmp_path: Path, sqlite_store: Store
) -> None:
    doc = big_request(230, bad_at=171)
    path = tmp_path / f"big.{encoding}"
    path.write_bytes(json.dumps(doc).encode() if encoding == "json" else to_protobuf(doc))
    pieces = split_file(path.read_bytes(), max_spans=50)
    assert pieces is not None and pieces.total == 230
    assert [p.spans for p in pieces.pieces] == [50, 50, 50, 50, 30]

    whole = decode_file(path)
    service = TraceService(sqlite_store, batch_spans=50)
    seen: list[tuple[int, int, str]] = []
    result = service.ingest_file(path, source="file", pool=IngestPool(workers=0),
                                 progress=lambda *args: seen.append(args))
    assert result.added == len(whole.spans) == 229
    # The bad span is named by its place in the whole file, not in its piece.
    assert result.rejected == [f"{path}: {problem}" for problem in whole.rejections]
    assert "spans[171]" in result.rejected[0] and "spanId" in result.rejected[0]
    assert seen[-1] == (229, 230, "spans") and len(seen) == 5
    assert service.count_runs(RunQuery()) == len({s.trace_id for s in whole.spans})


def test_a_span_only_the_lenient_decoder_reads_does_not_stop_the_cut(
    tmp_path: Path, sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Invalid UTF-8 and an explicit null value in two spans of one JSON file: the
    file is still cut (only those spans' pieces go the lenient way, in the workers), and
    pieces cut by size as well as by count give what the file decoded whole gives."""
    doc = big_request(120, bad_at=77)
    spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans[10]["name"] = "MARK lone"
    spans[95]["attributes"] = [{"key": "k", "value": None}]
    spans[60]["attributes"] = [attr("big", "x" * 40_000)]
    path = tmp_path / "odd.json"
    path.write_bytes(json.dumps(doc).encode().replace(b"MARK", b"\xff\xfe"))
    monkeypatch.setattr(files, "MAX_PIECE_BYTES", 60_000)
    pieces = split_file(path.read_bytes(), max_spans=50)
    assert pieces is not None
    # By count (50), and short of it around the 40 KB span, by size.
    cut = list(pieces.pieces)
    counts = [p.spans for p in cut]
    assert counts[0] == 50 and max(counts) == 50 and sum(counts) == 120 and len(counts) > 3

    whole = decode_file(path)
    # Span for span what the whole file decodes to, resource and scope included.
    in_pieces = [dataclasses.replace(s, path="") for p in cut
                 for s in decode_export_request(p.body, p.content_type).spans]
    assert in_pieces == [dataclasses.replace(s, path="") for s in whole.spans]
    assert in_pieces[0].resource_attributes["service.name"] == "travel-desk"
    assert whole.warnings  # the bytes were repaired, visibly
    result = TraceService(sqlite_store, batch_spans=50).ingest_file(
        path, source="file", pool=IngestPool(workers=0))
    assert result.added == len(whole.spans) == 119
    assert result.rejected == [f"{path}: {problem}" for problem in whole.rejections]
    assert result.warnings == [f"{path}: {problem}" for problem in whole.warnings]


def test_json_lines_are_pieces_and_a_bad_line_is_named(tmp_path: Path, sqlite_store: Store) -> None:
    good = json.dumps(request(span("aaaaaaaaaaaaaaaa"), span("bbbbbbbbbbbbbbbb")))
    path = tmp_path / "spans.jsonl"
    last = json.dumps(request(span("cccccccccccccccc")))
    path.write_text(f'{good}\n{{"resourceSpans": 5}}\n{last}\n')
    result = TraceService(sqlite_store).ingest_file(path, source="file")
    assert result.added == 3
    assert len(result.rejected) == 1 and result.rejected[0].startswith(f"{path}: line 2: ")


def test_worker_processes_prepare_what_this_process_would() -> None:
    body = to_protobuf(big_request(400))
    pool = IngestPool(workers=1)
    try:
        pooled = pool.submit(body, "application/x-protobuf").result(timeout=60)
    finally:
        pool.shutdown()
    here = prepare_request(body, "application/x-protobuf")
    assert pooled.rows == here.rows and len(pooled.rows) == 400
    assert pooled.rejections == here.rejections == []


def test_a_worker_that_dies_costs_nothing(tmp_path: Path, sqlite_store: Store) -> None:
    """A worker killed while it holds a body (out of memory, a signal): that body is
    prepared in this process instead, and the next one gets a fresh worker."""
    body = json.dumps(big_request(2000)).encode()
    pool = IngestPool(workers=1)
    try:
        pool.start()
        executor = pool._get()
        for process in list(executor._processes.values()):  # type: ignore[union-attr]
            os.kill(process.pid, signal.SIGKILL)
        first = pool.submit(body, "application/json").result(timeout=60)
        second = pool.submit(body, "application/json").result(timeout=60)
    finally:
        pool.shutdown()
    assert len(first.rows) == len(second.rows) == 2000
    assert first.rows == second.rows
