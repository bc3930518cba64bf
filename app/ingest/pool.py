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
    _die_with_parent()


def _die_with_parent() -> None:
    """Workers must not outlive the program that started them (a ``kill -9`` of
    ``countersign worker`` runs none of its clean-up). A watchdog thread waits on the
    pipe multiprocessing keeps to the parent, which reads as closed the moment the
    parent is gone, and ends the worker then.

    Not ``PR_SET_PDEATHSIG``: Linux sends it when the *thread* that started the worker
    ends, and workers are started from whichever thread first submits work (a GUI
    worker thread that comes and goes). The resource tracker needs nothing of its own:
    it exits when the last process holding its pipe (the parent and these workers)
    is gone."""
    parent = multiprocessing.parent_process()
    sentinel = getattr(parent, "sentinel", None)
    if parent is None or sentinel is None:
        return
    if not parent.is_alive():  # it died before this line
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(sentinel,), name="parent-watchdog",
                     daemon=True).start()


def _watch_parent(sentinel: int) -> None:
    from multiprocessing.connection import wait

    wait([sentinel])  # readable (closed) only when the parent has exited
    os._exit(1)


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
        budget_s: float | None = None,
    ) -> Future[Prepared]:
        """``prepare_request`` in a worker; in this thread when the pool is off or the
        body is small. The future raises what ``prepare_request`` raises."""
        args = (body, content_type, max_body_bytes, origin, budget_s)
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
        budget_s: float | None = None,
    ) -> Prepared:
        """`submit` for asyncio callers; small bodies go to a thread, not the loop.
        Each body is decoded on its own (a worker or a thread), never behind another
        body or the writer."""
        if not self.enabled or len(body) < MIN_POOLED_BYTES:
            return await asyncio.to_thread(prepare_request, body, content_type, max_body_bytes,
                                           None, budget_s)
        return await asyncio.wrap_future(
            self.submit(body, content_type, max_body_bytes, None, budget_s))

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
