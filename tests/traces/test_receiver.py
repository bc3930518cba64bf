"""The OTLP/HTTP receiver over real HTTP (uvicorn on a free loopback port): hand-built
JSON, protobuf, gzip, the OpenTelemetry SDK's own OTLP/HTTP exporter, and every error
status the OTLP spec asks for."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)

from countersign.ingest.receiver import OtlpReceiver
from countersign.services.traces import TraceService
from countersign.store.engine import Store

from . import TRACE, attr, body, load_fixture, span, to_protobuf

JSON = {"content-type": "application/json"}
PROTOBUF = {"content-type": "application/x-protobuf"}


@asynccontextmanager
async def receiving(store: Store, **options: Any) -> AsyncIterator[OtlpReceiver]:
    receiver = OtlpReceiver(store, port=0, **options)
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()


async def stored(receiver: OtlpReceiver, count: int, timeout: float = 10.0) -> None:
    """Wait until the writer has handled ``count`` spans (stored or duplicate)."""
    for _ in range(int(timeout / 0.01)):
        if receiver.stats.stored_spans + receiver.stats.duplicate_spans >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"only {receiver.stats} after {timeout} s")


def run(store: Store, scenario: Callable[[OtlpReceiver, httpx.AsyncClient], Awaitable[None]],
        **options: Any) -> None:
    async def main() -> None:
        async with receiving(store, **options) as receiver, httpx.AsyncClient() as client:
            await scenario(receiver, client)

    asyncio.run(main())


def test_json_protobuf_and_gzip_bodies_are_stored(sqlite_store: Store) -> None:
    doc = load_fixture("openinference_trace.json")

    async def scenario(receiver: OtlpReceiver, client: httpx.AsyncClient) -> None:
        raw = json.dumps(doc).encode()
        response = await client.post(receiver.url, content=raw, headers=JSON)
        assert (response.status_code, response.json()) == (200, {})
        assert response.headers["content-type"] == "application/json"
        response = await client.post(receiver.url, content=to_protobuf(doc), headers=PROTOBUF)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-protobuf"
        parsed = ExportTraceServiceResponse.FromString(response.content)
        assert not parsed.HasField("partial_success")
        response = await client.post(receiver.url, content=gzip.compress(raw),
                                     headers={**JSON, "content-encoding": "gzip"})
        assert response.status_code == 200
        await stored(receiver, 15)
        assert (receiver.stats.stored_spans, receiver.stats.duplicate_spans) == (5, 10)

    run(sqlite_store, scenario)
    run_ = TraceService(sqlite_store).run("0af7651916cd43dd8448eb211c80319c")
    assert run_ is not None and run_.span_count == 5 and run_.source == "otlp"


def test_partial_success_names_the_rejected_span_and_field(sqlite_store: Store) -> None:
    bad = span("cccccccccccccccc", startTimeUnixNano="yesterday")
    good = span("aaaaaaaaaaaaaaaa", attributes=[attr("llm.model_name", {"stringValue": "m"})])

    async def scenario(receiver: OtlpReceiver, client: httpx.AsyncClient) -> None:
        response = await client.post(receiver.url, content=body(good, bad), headers=JSON)
        assert response.status_code == 200
        partial = response.json()["partialSuccess"]
        assert partial["rejectedSpans"] == "1"
        assert "spans[1]" in partial["errorMessage"]
        assert "cccccccccccccccc" in partial["errorMessage"]
        assert "startTimeUnixNano" in partial["errorMessage"]
        doc = json.loads(body(good, bad))
        response = await client.post(receiver.url, content=to_protobuf_lenient(doc),
                                     headers=PROTOBUF)
        assert response.status_code == 200
        await stored(receiver, 1)

    run(sqlite_store, scenario)
    [stored_span] = TraceService(sqlite_store).run_spans(TRACE)
    assert stored_span.model == "m"


def to_protobuf_lenient(doc: dict[str, Any]) -> bytes:
    """Protobuf of ``doc`` with the unparseable start time replaced by 0 (missing)."""
    for s in doc["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        if not str(s.get("startTimeUnixNano", "0")).isdigit():
            s["startTimeUnixNano"] = "0"
    return to_protobuf(doc)


def test_error_statuses(sqlite_store: Store) -> None:
    async def scenario(receiver: OtlpReceiver, client: httpx.AsyncClient) -> None:
        url = receiver.url
        response = await client.post(url, content=b"{not json", headers=JSON)
        assert response.status_code == 400
        assert "not valid JSON" in response.json()["message"]
        response = await client.post(url, content=b"\x1f\x8bgarbage",
                                     headers={**PROTOBUF, "content-encoding": "gzip"})
        assert response.status_code == 400
        assert "gzip" in response.content.decode("utf-8", "replace")
        response = await client.post(url, content=b"{}", headers={"content-type": "text/plain"})
        assert response.status_code == 415
        response = await client.post(url, content=b"{}",
                                     headers={**JSON, "content-encoding": "br"})
        assert response.status_code == 415
        response = await client.post(url, content=b"x" * 2048, headers=JSON)
        assert response.status_code == 413
        assert "limit" in response.json()["message"]
        response = await client.get(url)
        assert response.status_code == 405
        response = await client.post(url.replace("/v1/traces", "/v1/metrics"), content=b"{}",
                                     headers=JSON)
        assert response.status_code == 404
        # Empty requests are valid, empty exports.
        response = await client.post(url, content=b"", headers=PROTOBUF)
        assert response.status_code == 200
        response = await client.post(url, content=b"{}", headers=JSON)
        assert response.status_code == 200

    run(sqlite_store, scenario, max_body_bytes=1024)


def test_chunked_body_over_the_limit_is_refused(sqlite_store: Store) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b" " * 512

    async def scenario(receiver: OtlpReceiver, client: httpx.AsyncClient) -> None:
        response = await client.post(receiver.url, content=chunks(), headers=JSON)
        assert response.status_code == 413

    run(sqlite_store, scenario, max_body_bytes=1024)


def test_the_sdk_otlp_http_exporter_reaches_the_store(sqlite_store: Store) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.trace import Status, StatusCode

    def instrumented_agent(url: str) -> str:
        provider = TracerProvider(resource=Resource.create({"service.name": "sdk-agent"}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
        tracer = provider.get_tracer("test")
        with tracer.start_as_current_span("plan trip") as root:
            root.set_attribute("openinference.span.kind", "AGENT")
            root.set_attribute("agent.name", "travel")
            with tracer.start_as_current_span("chat gpt-4.1") as llm:
                llm.set_attribute("gen_ai.operation.name", "chat")
                llm.set_attribute("gen_ai.usage.input_tokens", 120)
                llm.set_attribute("gen_ai.usage.output_tokens", 30)
            with tracer.start_as_current_span("execute_tool book") as tool:
                tool.set_attribute("gen_ai.operation.name", "execute_tool")
                tool.set_status(Status(StatusCode.ERROR, "no seats"))
            trace_id = format(root.get_span_context().trace_id, "032x")
        assert provider.force_flush(10_000)
        provider.shutdown()
        return trace_id

    async def scenario(receiver: OtlpReceiver, client: httpx.AsyncClient) -> None:
        # The SDK's exporter blocks on HTTP: it runs in a thread, like in an agent.
        trace_id = await asyncio.to_thread(instrumented_agent, receiver.url)
        await stored(receiver, 3)
        summary = await asyncio.to_thread(TraceService(sqlite_store).run, trace_id)
        assert summary is not None
        assert (summary.name, summary.agent_name, summary.span_count) == ("plan trip", "travel", 3)
        assert (summary.prompt_tokens, summary.completion_tokens) == (120, 30)
        assert (summary.status, summary.error_count) == ("error", 1)

    run(sqlite_store, scenario)


def test_stop_stores_what_was_accepted(sqlite_store: Store) -> None:
    async def main() -> None:
        receiver = OtlpReceiver(sqlite_store, port=0)
        await receiver.start()
        async with httpx.AsyncClient() as client:
            for n in range(5):
                response = await client.post(
                    receiver.url, content=body(span(f"{n + 1:016x}")), headers=JSON
                )
                assert response.status_code == 200
        await receiver.stop()
        assert receiver.stats.stored_spans == 5

    asyncio.run(main())
    assert len(TraceService(sqlite_store).run_spans(TRACE)) == 5


def test_a_taken_port_is_a_clear_error(sqlite_store: Store) -> None:
    import pytest

    from countersign.ingest.receiver import ReceiverError

    async def main() -> None:
        async with receiving(sqlite_store) as first:
            second = OtlpReceiver(sqlite_store, port=first.port)
            with pytest.raises(ReceiverError, match="cannot listen"):
                await second.start()

    asyncio.run(main())


def test_large_requests_are_prepared_in_worker_processes(sqlite_store: Store) -> None:
    """Bodies past pool.MIN_POOLED_BYTES are decoded and normalised in the ingest
    pool's worker processes; what is stored is the same, rejections included."""
    from countersign.ingest.pool import MIN_POOLED_BYTES, IngestPool

    spans = [span(f"{i + 1:016x}", attributes=[attr("input.value", {"stringValue": "x" * 200})])
             for i in range(600)]
    spans[77]["spanId"] = "abcd"
    raw = body(*spans)
    assert len(raw) > MIN_POOLED_BYTES
    pool = IngestPool(workers=1)

    async def scenario(receiver: OtlpReceiver, client: httpx.AsyncClient) -> None:
        response = await client.post(receiver.url, content=to_protobuf(json.loads(raw)),
                                     headers=PROTOBUF)
        assert response.status_code == 200
        partial = ExportTraceServiceResponse.FromString(response.content).partial_success
        assert partial.rejected_spans == 1 and "spans[77]" in partial.error_message
        await stored(receiver, 599)
        assert pool._executor is not None  # a worker process did the work

    try:
        run(sqlite_store, scenario, pool=pool)
    finally:
        pool.shutdown()
    assert len(TraceService(sqlite_store).run_spans(TRACE)) == 599
