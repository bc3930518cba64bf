"""Helpers for the tests that run real instrumentation libraries: a receiver on its own
thread and loop (the exporters are synchronous, as in an agent process), a tiny fake
OpenAI-compatible server, and recording of what the exporters sent as fixtures."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from countersign.ingest.receiver import OtlpReceiver
from countersign.store.engine import Store

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "otlp" / "recorded"


@contextmanager
def receiver_thread(store: Store) -> Iterator[OtlpReceiver]:
    loop = asyncio.new_event_loop()
    receiver = OtlpReceiver(store, port=0)
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(receiver.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="live-receiver", daemon=True)
    thread.start()
    assert ready.wait(30)
    try:
        yield receiver
    finally:
        asyncio.run_coroutine_threadsafe(receiver.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


class FakeOpenAI:
    """``POST /v1/chat/completions`` answering from a script: a tool call first when
    the conversation has no tool result yet, then a final answer. Usage is fixed so
    tests can check token counts."""

    PROMPT_TOKENS, COMPLETION_TOKENS = 21, 7
    MODEL = "gpt-4o-mini-2024-07-18"

    def __init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                request = json.loads(self.rfile.read(length))
                owner.requests.append(request)
                body = json.dumps(owner.answer(request)).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.requests: list[dict[str, Any]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        answered = any(m.get("role") == "tool" for m in request.get("messages", []))
        if answered or not request.get("tools"):
            message: dict[str, Any] = {"role": "assistant", "content": "It is sunny in Oslo."}
            finish = "stop"
        else:
            message = {"role": "assistant", "content": None, "tool_calls": [{
                "id": "call_weather_1", "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]}
            finish = "tool_calls"
        return {
            "id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion",
            "created": 1_763_700_000, "model": self.MODEL,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": self.PROMPT_TOKENS,
                      "completion_tokens": self.COMPLETION_TOKENS,
                      "total_tokens": self.PROMPT_TOKENS + self.COMPLETION_TOKENS},
        }

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


class Recorder:
    """A span/log exporter wrapper that also keeps each export request's protobuf
    body, to be written as a fixture (``COUNTERSIGN_RECORD_FIXTURES=1``)."""

    def __init__(self) -> None:
        self.traces: list[bytes] = []
        self.logs: list[bytes] = []

    def span_exporter(self, inner: Any) -> Any:
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
        from opentelemetry.sdk.trace.export import SpanExporter

        recorder = self

        class Recording(SpanExporter):
            def export(self, spans: Any) -> Any:
                recorder.traces.append(encode_spans(spans).SerializeToString())
                return inner.export(spans)

            def shutdown(self) -> None:
                inner.shutdown()

            def force_flush(self, timeout_millis: int = 30_000) -> bool:
                return bool(inner.force_flush(timeout_millis))

        return Recording()

    def log_exporter(self, inner: Any) -> Any:
        from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
        from opentelemetry.sdk._logs.export import LogRecordExporter

        recorder = self

        class Recording(LogRecordExporter):  # type: ignore[misc]
            def export(self, batch: Any) -> Any:
                recorder.logs.append(encode_logs(batch).SerializeToString())
                return inner.export(batch)

            def shutdown(self) -> None:
                inner.shutdown()

            def force_flush(self, timeout_millis: int = 30_000) -> bool:
                return True

        return Recording()

    def save(self, name: str) -> None:
        FIXTURES.mkdir(parents=True, exist_ok=True)
        for kind, bodies in (("traces", self.traces), ("logs", self.logs)):
            for index, data in enumerate(bodies):
                (FIXTURES / f"{name}.{kind}.{index}.pb").write_bytes(data)
