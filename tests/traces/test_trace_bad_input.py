"""Malformed OTLP end to end, through the receiver and through ``import-otlp``: each bad
item is rejected with a reason naming the span and the field, everything else is
stored; and a flooded receiver pushes back (429/503 with Retry-After) instead of
queueing without bound."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from countersign.cli import main
from countersign.domain.runs import IngestResult
from countersign.ingest.pool import IngestPool
from countersign.ingest.prepare import Prepared, prepare_request
from countersign.services.traces import TraceService
from countersign.store.engine import Store, StoreError

from . import TRACE, attr, body, span, to_protobuf
from .test_receiver import receiving, stored

MEGABYTE = "m" * (2 * 1024 * 1024)
DEPTH = 1_000


def deep_value(depth: int) -> str:
    """A kvlistValue nested ``depth`` levels (as text: json.dumps would recurse)."""
    return ('{"kvlistValue":{"values":[{"key":"k","value":' * depth + '{"stringValue":"x"}'
            + "}]}}" * depth)


def good(span_id: str, **fields: Any) -> dict[str, Any]:
    return span(span_id, parentSpanId="a000000000000001", **fields)


#: span id → what is wrong with it; the rejected ones name their field.
REJECTED = {
    "b000000000000001": "spanId",  # given as a number
    "b000000000000002": "startTimeUnixNano",  # "yesterday"
    "b000000000000003": "traceId",  # missing
    "b000000000000004": "parentSpanId",  # cycle with …05
    "b000000000000005": "parentSpanId",
    "b000000000000006": "spanId",  # duplicate of the root
    "b000000000000007": "name",  # a number
}
STORED = ["a000000000000001", "c000000000000001", "c000000000000002", "c000000000000003",
          "c000000000000004", "c000000000000005"]


def bad_request() -> bytes:
    """One request holding every kind of bad item next to good spans, as OTLP/JSON
    text (the deep value and the raw invalid UTF-8 are spliced in as bytes)."""
    spans = [
        span("a000000000000001", name="root"),
        {**span("x"), "spanId": 12345, "name": "b000000000000001"},
        span("b000000000000002", startTimeUnixNano="yesterday"),
        {k: v for k, v in span("b000000000000003").items() if k != "traceId"},
        span("b000000000000004", parent="b000000000000005"),
        span("b000000000000005", parent="b000000000000004"),
        span("a000000000000001", name="duplicate"),
        span("b000000000000007", name=7),
        # Kept: an orphan, unknown attribute shapes, a megabyte value, deep nesting,
        # invalid UTF-8.
        span("c000000000000001", parent="ffffffffffffffff"),
        good("c000000000000002", attributes=[attr("odd", {"weirdValue": 1}),
                                             attr("n", {"intValue": "12x"}),
                                             attr("llm.model_name", {"stringValue": "m"})]),
        good("c000000000000003", attributes=[attr("input.value", {"stringValue": MEGABYTE})]),
        good("c000000000000004", attributes=[attr("deep", "DEEP")]),
        good("c000000000000005", name="BAD-UTF8"),
    ]
    # The duplicate must carry the root's id but be identifiable in the reason list.
    spans[6]["spanId"] = "a000000000000001"
    text = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}).encode()
    return text.replace(b'"DEEP"', deep_value(DEPTH).encode()).replace(
        b"BAD-UTF8", b"bad \xff\xfe utf8")


def check_store(store: Store) -> None:
    spans = {s.span_id: s for s in TraceService(store).run_spans(TRACE)}
    assert sorted(spans) == STORED
    assert spans["a000000000000001"].name == "root"
    assert spans["c000000000000001"].parent_span_id == "ffffffffffffffff"
    assert spans["c000000000000002"].model == "m"
    assert MEGABYTE in (spans["c000000000000003"].input_json or "")
    assert "nested too deep" in spans["c000000000000004"].attributes_json
    repaired = spans["c000000000000005"].name  # shown as escapes, however spelt
    assert repaired.startswith("bad \\") and repaired.endswith(" utf8") and "ff" in repaired
    repaired.encode("utf-8")
    run = TraceService(store).run(TRACE)
    assert run is not None and run.span_count == len(STORED) and run.name == "root"


def check_reasons(reasons: list[str]) -> None:
    assert len(reasons) == len(REJECTED), reasons
    for span_id, field in REJECTED.items():
        if span_id == "b000000000000001":  # its id is unreadable: named by path and name
            assert any("spans[1]" in r and "spanId" in r for r in reasons), reasons
            continue
        if span_id == "b000000000000003":
            assert any("spans[3]" in r and "traceId" in r for r in reasons), reasons
            continue
        if span_id == "b000000000000006":
            assert any("spans[6]" in r and "duplicate" in r for r in reasons), reasons
            continue
        assert any(span_id in r and field in r for r in reasons), (span_id, field, reasons)


def test_bad_items_through_the_receiver(sqlite_store: Store) -> None:
    async def main_() -> None:
        async with receiving(sqlite_store) as receiver, httpx.AsyncClient() as client:
            response = await client.post(receiver.url, content=bad_request(),
                                         headers={"content-type": "application/json"})
            assert response.status_code == 200
            partial = response.json()["partialSuccess"]
            assert partial["rejectedSpans"] == str(len(REJECTED))
            check_reasons(partial["errorMessage"].split("\n"))
            await stored(receiver, len(STORED))

    asyncio.run(main_())
    check_store(sqlite_store)


def test_bad_items_through_import_otlp(
    tmp_path: Path, sqlite_url: str, sqlite_store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(bad_request())
    code = main(["--store", sqlite_url, "import-otlp", "--json", str(path)])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (summary["added"], summary["rejected"]) == (len(STORED), len(REJECTED))
    assert all(r.startswith(f"{path}: ") for r in summary["reasons"])
    check_reasons(summary["reasons"])
    check_store(sqlite_store)


def test_protobuf_with_invalid_utf8_through_the_receiver(sqlite_store: Store) -> None:
    data = to_protobuf(json.loads(body(span("e000000000000001", name="NAME"))))
    data = data.replace(b"NAME", b"N\xffME")

    async def main_() -> None:
        async with receiving(sqlite_store) as receiver, httpx.AsyncClient() as client:
            response = await client.post(receiver.url, content=data,
                                         headers={"content-type": "application/x-protobuf"})
            assert response.status_code == 200
            await stored(receiver, 1)

    asyncio.run(main_())
    [only] = TraceService(sqlite_store).run_spans(TRACE)
    assert only.name == "N\\xffME"


class SlowService(TraceService):
    """A writer that takes its time, so requests pile up in the queue."""

    def __init__(self, store: Store, delay: float) -> None:
        super().__init__(store)
        self.delay = delay
        self.gate = threading.Event()

    def ingest_values(self, rows: Any, *, source: str) -> IngestResult:
        self.gate.wait(self.delay)
        return super().ingest_values(rows, source=source)


def test_a_flood_gets_429_with_retry_after_and_a_bounded_queue(sqlite_store: Store) -> None:
    service = SlowService(sqlite_store, delay=0.3)
    bound = 20
    requests = [body(*(span(f"{n:012x}{i:04x}") for i in range(5))) for n in range(1, 41)]

    async def main_() -> None:
        async with receiving(sqlite_store, service=service, max_queued_spans=bound,
                             retry_after_s=2) as receiver, httpx.AsyncClient() as client:
            peak = 0

            async def watch() -> None:
                nonlocal peak
                while True:
                    peak = max(peak, receiver.queued_spans)
                    await asyncio.sleep(0.001)

            watcher = asyncio.create_task(watch())
            responses = await asyncio.gather(*(
                client.post(receiver.url, content=r, headers={"content-type": "application/json"})
                for r in requests))
            watcher.cancel()
            codes = [r.status_code for r in responses]
            assert set(codes) == {200, 429}, codes
            assert codes.count(200) <= bound // 5 + 1
            throttled = [r for r in responses if r.status_code == 429]
            assert all(r.headers["retry-after"] == "2" for r in throttled)
            assert "queue full" in throttled[0].json()["message"]
            assert peak <= bound
            assert receiver.stats.throttled == len(throttled)
            # Senders that retry get everything in, once the writer catches up.
            service.gate.set()
            for index, response in enumerate(responses):
                while response.status_code != 200:
                    await asyncio.sleep(0.02)
                    response = await client.post(receiver.url, content=requests[index],
                                                 headers={"content-type": "application/json"})
            await stored(receiver, 200)

    asyncio.run(main_())
    assert len(TraceService(sqlite_store).run_spans(TRACE)) == 200


class FailingService(TraceService):
    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.failures = 2

    def ingest_values(self, rows: Any, *, source: str) -> IngestResult:
        if self.failures:
            self.failures -= 1
            raise StoreError("the store is locked")
        return super().ingest_values(rows, source=source)


def test_an_unavailable_store_answers_503_and_keeps_the_batch(sqlite_store: Store) -> None:
    service = FailingService(sqlite_store)

    async def main_() -> None:
        async with receiving(sqlite_store, service=service) as receiver, \
                httpx.AsyncClient() as client:
            url, headers = receiver.url, {"content-type": "application/json"}
            # The first request is answered once its span is committed, after the
            # writer's retries; meanwhile others are told to come back later.
            first = asyncio.create_task(
                client.post(url, content=body(span("f000000000000001")), headers=headers))
            started = time.monotonic()
            while not receiver._store_failing and time.monotonic() - started < 5:
                await asyncio.sleep(0.01)
            second = await client.post(url, content=body(span("f000000000000002")),
                                       headers=headers)
            assert second.status_code == 503 and "retry-after" in second.headers
            assert "store is unavailable" in second.json()["message"]
            assert (await first).status_code == 200
            assert receiver.stats.stored_spans == 1

    asyncio.run(main_())
    assert [s.span_id for s in TraceService(sqlite_store).run_spans(TRACE)] == [
        "f000000000000001"]



class StalledPool(IngestPool):
    """Decoders that hold every body until released: requests pile up before the queue."""

    def __init__(self) -> None:
        super().__init__(workers=0)
        self.release = asyncio.Event()

    async def prepare(self, body: bytes, content_type: str | None = None,
                      max_body_bytes: int = 0, budget_s: float | None = None) -> Prepared:
        await self.release.wait()
        return prepare_request(body, content_type)


def test_bodies_waiting_for_a_decoder_are_bounded(sqlite_store: Store) -> None:
    pool = StalledPool()
    requests = [body(span(f"{n:016x}")) for n in range(1, 9)]
    bound = 3 * len(requests[0])

    async def main_() -> None:
        async with receiving(sqlite_store, pool=pool, max_preparing_bytes=bound) as receiver, \
                httpx.AsyncClient() as client:
            headers = {"content-type": "application/json"}
            sending = [asyncio.create_task(client.post(receiver.url, content=r, headers=headers))
                       for r in requests]
            # Wait for the refusals themselves (three bodies fit the bound and stay held).
            deadline = asyncio.get_running_loop().time() + 30
            while (sum(task.done() for task in sending) < 5
                   and asyncio.get_running_loop().time() < deadline):
                await asyncio.sleep(0.01)
            refused = [task.result() for task in sending if task.done()]
            assert [r.status_code for r in refused] == [429] * 5
            assert "decoders busy" in refused[0].json()["message"]
            assert refused[0].headers["retry-after"] == "1"
            pool.release.set()
            codes = [r.status_code for r in await asyncio.gather(*sending)]
            assert codes.count(200) == 3
            await stored(receiver, 3)

    asyncio.run(main_())


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def log_record(name: str, body: bytes) -> bytes:
    """A protobuf LogRecord about span e000000000000001 whose body (field 5) is the
    AnyValue bytes ``body``: written by hand, as the generated classes refuse to
    build what this test needs (invalid UTF-8, nesting past the parser's limit)."""
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

    head = LogRecord(time_unix_nano=1_700_000_000_000_000_005, event_name=name,
                     trace_id=bytes.fromhex(TRACE),
                     span_id=bytes.fromhex("e000000000000001")).SerializeToString()
    return head + _field(5, body)


def logs_request(records: list[bytes]) -> bytes:
    scope = b"".join(_field(2, record) for record in records)
    return _field(1, _field(2, scope))


def test_protobuf_logs_with_invalid_utf8_or_deep_nesting_cost_only_their_record(
        sqlite_store: Store) -> None:
    """The generated protobuf parser refuses a whole log export for one bad string or
    one value nested too deep. Each record is then read on its own: the one with
    invalid UTF-8 is kept with its bad bytes shown, the unreadable one is rejected
    by its path, and the good one is stored."""
    deep = _field(1, b"x")  # AnyValue.string_value
    for _ in range(120):  # the parser allows 100 nested messages
        deep = _field(6, _field(1, _field(1, b"k") + _field(2, deep)))  # kvlist {k: deep}
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
        ExportLogsServiceResponse,
    )

    data = logs_request([log_record("note", _field(1, b"fine")),
                         log_record("retry", _field(1, b"BAD\xff\xfeTES")),
                         log_record("deep", deep)])

    async def main_() -> None:
        async with receiving(sqlite_store) as receiver, httpx.AsyncClient() as client:
            response = await client.post(receiver.url, content=body(span("e000000000000001")),
                                         headers={"content-type": "application/json"})
            assert response.status_code == 200
            await stored(receiver, 1)
            response = await client.post(receiver.logs_url, content=data,
                                         headers={"content-type": "application/x-protobuf"})
            assert response.status_code == 200
            partial = ExportLogsServiceResponse.FromString(response.content).partial_success
            assert partial.rejected_log_records == 1
            assert "logRecords[2]" in partial.error_message

    asyncio.run(main_())
    [only] = TraceService(sqlite_store).run_spans(TRACE)
    events = {e["name"]: e for e in json.loads(only.events_json)}
    assert sorted(events) == ["note", "retry"]
    assert events["retry"]["body"] == "BAD\\xff\\xfeTES"  # the bad bytes, visible
    assert events["note"]["body"] == "fine"
