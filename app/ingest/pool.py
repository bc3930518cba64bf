"""Worker processes for the CPU-heavy half of ingest (decode and normalise, see
prepare.py), so that it runs beside the one writer instead of taking turns with it
under the GIL.

One pool per process, started on first use (``spawn``: safe beside the GUI's and the
receiver's threads, and the same on every OS) and stopped at exit. A worker that dies
(killed, out of memory) costs nothing: the body it held is prepared again in the
calling process and the next submission starts a fresh pool. With
``COUNTERSIGN_INGEST_WORKERS=0`` everything runs in the calling process.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ..wire.otlp import DEFAULT_MAX_BODY_BYTES
from .prepare import Origin, Prepared, prepare_request

log = logging.getLogger("countersign.ingest.pool")

WORKERS_ENV = "COUNTERSIGN_INGEST_WORKERS"
#: Bodies smaller than this are prepared in the calling process: shipping them to a
#: worker costs more than it saves.
MIN_POOLED_BYTES = 64 * 1024
#: Workers run at a lower priority than the writer (and the GUI) they feed.
_WORKER_NICENESS = 5


def default_workers() -> int:
    """``$COUNTERSIGN_INGEST_WORKERS``, else one per core up to four."""
    configured = os.environ.get(WORKERS_ENV, "").strip()
    if configured.isdigit():
        return int(configured)
    return max(1, min(os.cpu_count() or 1, 4))


def _init_worker() -> None:
    with contextlib.suppress(OSError, AttributeError):
        os.nice(_WORKER_NICENESS)


class IngestPool:
    """Prepares OTLP bodies in worker processes. Thread-safe."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else workers
        self._executor: ProcessPoolExecutor | None = None
        self._warming: list[Future[int]] = []
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.workers > 0

    def start(self) -> None:
        """Start the workers now, and have them import the decoders, rather than on
        the first body (that takes each a few hundred milliseconds of CPU)."""
        if self.enabled:
            executor = self._get()
            # One task per worker: the executor spawns a process per task submitted
            # while none is idle, so all of them start now. Unpickling the task
            # imports this module, and with it the decoders and the normaliser.
            with self._lock:
                self._warming = [executor.submit(_ready) for _ in range(self.workers)]

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until every worker `start` began has imported what it needs (for
        measuring a running receiver's rate without its start-up)."""
        with self._lock:
            warming = list(self._warming)
        for future in warming:
            future.result(timeout)

    def shutdown(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def _get(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker,
                )
            return self._executor

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)

    def submit(
        self,
        body: bytes,
        content_type: str | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        origin: Origin | None = None,
    ) -> Future[Prepared]:
        """``prepare_request`` in a worker; in this thread when the pool is off or the
        body is small. The future raises what ``prepare_request`` raises."""
        args = (body, content_type, max_body_bytes, origin)
        if not self.enabled or len(body) < MIN_POOLED_BYTES:
            return _done(args)
        executor = self._get()
        try:
            inner = executor.submit(prepare_request, *args)
        except (BrokenProcessPool, RuntimeError):
            self._discard(executor)
            return _done(args)
        outer: Future[Prepared] = Future()
        inner.add_done_callback(lambda done: self._settle(done, outer, executor, args))
        return outer

    def _settle(
        self, done: Future[Prepared], outer: Future[Prepared], executor: ProcessPoolExecutor,
        args: tuple[Any, ...],
    ) -> None:
        error = done.exception()
        if isinstance(error, BrokenProcessPool):
            # The worker died holding this body: prepare it here, start afresh next time.
            log.warning("an ingest worker died (%s); preparing its body in-process", error)
            self._discard(executor)
            _settle_with(outer, args)
        elif error is not None:
            outer.set_exception(error)
        else:
            outer.set_result(done.result())

    async def prepare(
        self,
        body: bytes,
        content_type: str | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> Prepared:
        """`submit` for asyncio callers; small bodies go to a thread, not the loop."""
        if not self.enabled or len(body) < MIN_POOLED_BYTES:
            return await asyncio.to_thread(prepare_request, body, content_type, max_body_bytes)
        return await asyncio.wrap_future(self.submit(body, content_type, max_body_bytes))

    def map_ordered(
        self,
        jobs: Iterable[tuple[bytes, str | None, Origin]],
        *,
        ahead: int | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> Iterator[tuple[Origin, Future[Prepared]]]:
        """Submit ``jobs`` (body, content type, origin) keeping ``ahead`` in flight, and
        yield each origin with its future, in submission order. Memory stays bounded by
        ``ahead`` bodies."""
        window: deque[tuple[Origin, Future[Prepared]]] = deque()
        limit = ahead or 2 * max(1, self.workers)
        for body, content_type, origin in jobs:
            future = self.submit(body, content_type, max_body_bytes, origin)
            window.append((origin, future))
            if len(window) >= limit:
                yield window.popleft()
        while window:
            yield window.popleft()


def _ready() -> int:
    return os.getpid()


def _done(args: tuple[Any, ...]) -> Future[Prepared]:
    future: Future[Prepared] = Future()
    _settle_with(future, args)
    return future


def _settle_with(future: Future[Prepared], args: tuple[Any, ...]) -> None:
    try:
        future.set_result(prepare_request(*args))
    except Exception as exc:  # OtlpDecodeError, or a bug: the caller handles it
        future.set_exception(exc)


_shared: IngestPool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> IngestPool:
    """This process's pool (stopped at exit)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = IngestPool()
            atexit.register(_shared.shutdown)
        return _shared
