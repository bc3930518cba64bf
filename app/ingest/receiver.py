"""An OTLP/HTTP receiver: ``POST /v1/traces`` and ``POST /v1/logs`` as the OpenTelemetry
exporters send them (``application/json`` or ``application/x-protobuf``, gzip or not),
served by uvicorn on loopback inside whatever asyncio loop runs it (the worker's, or
the GUI's qasync loop). Log records are kept as events of the spans they name (GenAI
content events fill the span's input and output).

Work is bounded before it is done: a gzip body is inflated as its bytes arrive, a
step at a time, and refused the moment it passes its limit; JSON nested past a depth
limit is refused before anything recurses (wire/otlp.py); and decoding each body has
a time budget. Each request is decoded on its own, off the loop (in the ingest pool's
worker processes, pool.py, small ones in a thread), so a slow body delays no other.
Decoded rows go to one writer task (writer.py) that stores them in batches, and a
request is answered once its rows are committed. The queue is bounded in spans,
not requests: when it is full the receiver answers 429 with ``Retry-After`` and the
exporters back off and retry (OTLP/HTTP spec, "Failures"), so a flood costs the
senders time, never the console memory. While the store is unreachable it answers
503 the same way, and the writer keeps retrying the batch it holds.

Responses follow the spec: 200 with an ``ExportTraceServiceResponse`` (or
``ExportLogsServiceResponse``) whose ``partialSuccess`` counts and names the rejected
spans (log records), including any the store refused; 400 for a body that is not a
trace request; 413 past the size limit; 415 for other media types or encodings. Error
bodies are a ``google.rpc.Status`` in the request's encoding.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

import uvicorn
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)

from ..services.spans import BATCH_SPANS
from ..services.traces import TraceService
from ..store.engine import Store
from ..wire.budget import BudgetExceeded
from ..wire.otlp import JSON, PROTOBUF, GzipInflater, OtlpDecodeError
from . import DEFAULT_PORT
from .pool import IngestPool, shared_pool
from .prepare import prepare_logs
from .writer import Writer

log = logging.getLogger("countersign.ingest.receiver")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_MEDIA = {JSON: JSON, PROTOBUF: PROTOBUF, "application/protobuf": PROTOBUF}

DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_QUEUED_SPANS = 200_000
DEFAULT_MAX_PREPARING_BYTES = 128 * 1024 * 1024
#: How long decoding one request may take before it is refused (413).
DEFAULT_DECODE_BUDGET_S = 20.0
_PATHS = {"/v1/traces": "traces", "/v1/logs": "logs"}
#: How many rejection reasons the response's errorMessage spells out.
_REASONS_SHOWN = 20
# google.rpc.Code values used in error bodies.
_INVALID_ARGUMENT, _RESOURCE_EXHAUSTED, _UNAVAILABLE = 3, 8, 14


class ReceiverError(Exception):
    """The receiver cannot start (the port is taken...); the message says so."""


@dataclass
class ReceiverStats:
    """What the status bar can show about the receiver."""

    requests: int = 0
    accepted_spans: int = 0
    rejected_spans: int = 0
    stored_spans: int = 0
    duplicate_spans: int = 0
    #: Log records stored as span events, and those rejected.
    stored_logs: int = 0
    rejected_logs: int = 0
    #: Requests turned away with 429/503 (backpressure).
    throttled: int = 0
    last_error: str | None = None


class _Refused(Exception):
    def __init__(self, status: int, code: int, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.code, self.retry_after = status, code, retry_after


class _QuietServer(uvicorn.Server):
    """uvicorn without its signal handlers: the host program (worker or GUI) owns
    SIGINT/SIGTERM and stops the receiver itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class OtlpReceiver:
    """``POST /v1/traces`` into the store. ``port=0`` picks a free port (see
    ``port`` after `start`)."""

    def __init__(
        self,
        store: Store,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        service: TraceService | None = None,
        source: str = "otlp",
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_queued_spans: int = DEFAULT_MAX_QUEUED_SPANS,
        max_preparing_bytes: int = DEFAULT_MAX_PREPARING_BYTES,
        batch_spans: int = BATCH_SPANS,
        retry_after_s: int = 1,
        pool: IngestPool | None = None,
        decode_budget_s: float = DEFAULT_DECODE_BUDGET_S,
    ) -> None:
        self.service = service or TraceService(store)
        self.pool = pool or shared_pool()
        self.host = host
        self.port = port
        self.source = source
        self.max_body_bytes = max_body_bytes
        #: A gzip body may inflate this far (a gzip bomb stops here).
        self.max_inflated_bytes = max(max_body_bytes * 8, 64 * 1024 * 1024)
        self.max_queued_spans = max_queued_spans
        #: Request bytes being decoded at once, at most (past it: 429).
        self.max_preparing_bytes = max_preparing_bytes
        self.batch_spans = batch_spans
        self.retry_after_s = retry_after_s
        self.decode_budget_s = decode_budget_s
        self.stats = ReceiverStats()
        self._writer = Writer(self.service, source=source, batch_spans=batch_spans)
        self._preparing_bytes = 0
        self._closing = False
        self._server: _QuietServer | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1/traces"

    @property
    def logs_url(self) -> str:
        return self.url.removesuffix("/v1/traces") + "/v1/logs"

    @property
    def queued_spans(self) -> int:
        queued: int = self._writer.queued
        return queued

    @property
    def _store_failing(self) -> bool:
        failing: bool = self._writer.stats.store_failing
        return failing

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Listen and serve on the running loop; raises `ReceiverError` if it cannot."""
        # Off the loop: resolving a host name can take seconds (and the loop may be
        # the GUI's).
        sock = await asyncio.to_thread(_listen, self.host, self.port)
        self.port = sock.getsockname()[1]
        self.pool.start()
        config = uvicorn.Config(
            self._app, interface="asgi3", lifespan="off", log_level="warning",
            access_log=False, timeout_keep_alive=30,
        )
        self._server = server = _QuietServer(config)
        self._closing = False
        loop = asyncio.get_running_loop()
        self._spawn(loop.create_task(self._writer.run(), name="otlp-receiver-writer"))
        serving = self._spawn(
            loop.create_task(server.serve(sockets=[sock]), name="otlp-receiver-http")
        )
        while not server.started:
            if serving.done():
                sock.close()
                raise ReceiverError(f"the OTLP receiver on {self.url} stopped while starting")
            await asyncio.sleep(0.01)
        log.info("OTLP receiver listening on %s", self.url)

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, store what was accepted (up to ``timeout``), then stop."""
        self._closing = True
        if self._server is not None:
            self._server.should_exit = True
        serving = [t for t in self._tasks if t.get_name() == "otlp-receiver-http"]
        if serving:
            done, _ = await asyncio.wait(serving, timeout=timeout)
            if not done and self._server is not None:
                self._server.force_exit = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._writer.join(), timeout=timeout)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._server = None

    def _spawn(self, task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- HTTP ------------------------------------------------------------------------

    async def _app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        declared = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        media = _MEDIA.get(declared, JSON)
        try:
            status, body = await self._handle(scope, headers, declared, receive)
        except _Refused as refused:
            if refused.status in (429, 503):
                self.stats.throttled += 1
            extra = [] if refused.retry_after is None else [
                (b"retry-after", str(refused.retry_after).encode())
            ]
            await _respond(send, refused.status, media,
                           _status_body(media, refused.code, str(refused)), extra)
            return
        await _respond(send, status, media, body, [])

    async def _handle(
        self, scope: Scope, headers: dict[str, str], declared: str, receive: Receive
    ) -> tuple[int, bytes]:
        signal = _PATHS.get(scope["path"].rstrip("/"))
        if signal is None:
            raise _Refused(404, 5, f"no such endpoint {scope['path']}; traces go to "
                           "/v1/traces and logs to /v1/logs")
        if scope["method"] != "POST":
            raise _Refused(405, _INVALID_ARGUMENT, f"use POST to send {signal}")
        self.stats.requests += 1
        media = _MEDIA.get(declared)
        if media is None:
            raise _Refused(415, _INVALID_ARGUMENT, f"unsupported content type {declared!r}; "
                           f"send {JSON} or {PROTOBUF}")
        encoding = headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity", "gzip"):
            raise _Refused(415, _INVALID_ARGUMENT,
                           f"unsupported content encoding {encoding!r}; send gzip or none")
        self._check_capacity(0)
        body = await _read_body(receive, headers, self.max_body_bytes, self.max_inflated_bytes)
        # Bodies waiting for a decoder are bounded too: a flood of large requests
        # must not pile up in memory ahead of the queue (one body is always taken).
        preparing = self._preparing_bytes
        if preparing and preparing + len(body) > self.max_preparing_bytes:
            raise _Refused(429, _RESOURCE_EXHAUSTED,
                           f"decoders busy ({preparing} bytes waiting); retry later",
                           self.retry_after_s)
        self._preparing_bytes += len(body)
        try:
            if signal == "logs":
                prepared: Any = await asyncio.to_thread(
                    prepare_logs, body, media, self.max_inflated_bytes, self.decode_budget_s)
            else:
                prepared = await self.pool.prepare(body, media, self.max_inflated_bytes,
                                                   self.decode_budget_s)
        except BudgetExceeded as exc:
            raise _Refused(413, _INVALID_ARGUMENT, str(exc)) from None
        except OtlpDecodeError as exc:
            raise _Refused(400, _INVALID_ARGUMENT,
                           f"not an OTLP {'log' if signal == 'logs' else 'trace'} request: "
                           f"{exc}") from None
        finally:
            self._preparing_bytes -= len(body)
        rows, rejected = prepared.rows, list(prepared.rejections)
        self._check_capacity(len(rows))
        written = await self._writer.write(rows, logs=signal == "logs")
        rejected.extend(written.rejected)
        writer = self._writer.stats
        self.stats.stored_spans, self.stats.duplicate_spans = (
            writer.stored_spans, writer.duplicate_spans)
        self.stats.stored_logs = writer.stored_logs
        if signal == "logs":
            self.stats.rejected_logs += len(rejected)
        else:
            self.stats.accepted_spans += len(rows) - len(written.rejected)
            self.stats.rejected_spans += len(rejected)
        for reason in written.rejected[:_REASONS_SHOWN]:
            log.warning("OTLP span refused by the store: %s", reason)
        return 200, _success_body(media, rejected, logs=signal == "logs")

    def _check_capacity(self, incoming: int) -> None:
        if self._closing:
            raise _Refused(503, _UNAVAILABLE, "the receiver is shutting down",
                           self.retry_after_s)
        if self._store_failing:
            raise _Refused(503, _UNAVAILABLE,
                           f"the store is unavailable: {self._writer.stats.last_error}",
                           self.retry_after_s)
        # A request larger than the whole queue is still taken when the queue is empty.
        queued, bound = self._writer.queued, self.max_queued_spans
        if queued >= bound or (queued and queued + incoming > bound):
            raise _Refused(429, _RESOURCE_EXHAUSTED,
                           f"ingest queue full ({queued} spans waiting); retry later",
                           self.retry_after_s)


def _listen(host: str, port: int) -> socket.socket:
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ReceiverError(f"cannot listen for OTLP on {host}:{port}: {reason}") from exc


async def _read_body(receive: Receive, headers: dict[str, str], limit: int,
                     inflated_limit: int) -> bytes:
    """The request body, inflated as it arrives when it is gzip (by header or magic
    bytes): each inflate step is bounded and the loop gets a turn between steps, and
    the body is refused as soon as it passes ``inflated_limit``."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _Refused(413, _INVALID_ARGUMENT, f"body of {declared} bytes is over the "
                       f"{limit}-byte limit; send smaller batches")
    chunks: list[bytes] = []
    inflater: GzipInflater | None = None
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Refused(400, _INVALID_ARGUMENT, "client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _Refused(413, _INVALID_ARGUMENT, f"body is over the {limit}-byte limit; "
                           "send smaller batches")
        if inflater is None and not chunks and chunk[:2] == b"\x1f\x8b":
            inflater = GzipInflater(inflated_limit)
        if inflater is not None and chunk:
            try:
                for _ in inflater.steps(chunk):
                    await asyncio.sleep(0)  # one bounded step at a time
            except OtlpDecodeError as exc:
                status = 413 if "inflates to more" in str(exc) else 400
                raise _Refused(status, _INVALID_ARGUMENT, f"{exc}; send smaller batches"
                               if status == 413 else str(exc)) from None
        else:
            chunks.append(chunk)
        if not message.get("more_body", False):
            if inflater is None:
                return b"".join(chunks)
            try:
                inflated: bytes = inflater.finish()
            except OtlpDecodeError as exc:
                raise _Refused(400, _INVALID_ARGUMENT, str(exc)) from None
            return inflated


def _success_body(media: str, rejected: list[str], *, logs: bool = False) -> bytes:
    message = ""
    if rejected:
        shown = rejected[:_REASONS_SHOWN]
        more = len(rejected) - len(shown)
        # One reason per line: reasons contain semicolons of their own.
        message = "\n".join(shown) + (f"\nand {more} more" if more else "")
    if media == PROTOBUF:
        response: Any = ExportLogsServiceResponse() if logs else ExportTraceServiceResponse()
        if rejected:
            if logs:
                response.partial_success.rejected_log_records = len(rejected)
            else:
                response.partial_success.rejected_spans = len(rejected)
            response.partial_success.error_message = message
        return bytes(response.SerializeToString())
    doc: dict[str, Any] = {}
    if rejected:
        key = "rejectedLogRecords" if logs else "rejectedSpans"
        doc["partialSuccess"] = {key: str(len(rejected)), "errorMessage": message}
    return json.dumps(doc, ensure_ascii=False).encode()


def _status_body(media: str, code: int, message: str) -> bytes:
    """A ``google.rpc.Status`` (code = field 1, message = field 2), as the spec asks."""
    if media == PROTOBUF:
        text = message.encode()
        return bytes([0x08, code, 0x12]) + _varint(len(text)) + text
    return json.dumps({"code": code, "message": message}, ensure_ascii=False).encode()


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


async def _respond(
    send: Send, status: int, media: str, body: bytes, extra: list[tuple[bytes, bytes]]
) -> None:
    headers = [(b"content-type", media.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + extra})
    await send({"type": "http.response.body", "body": body})
