"""The one way the GUI runs work off its thread (STYLE.md, rules 6 and 7).

Store reads, decisions and JSON parsing are plain functions of their inputs; they run
in a thread pool started from the qasync loop, and their results come back on the GUI
thread through callbacks (or ``await``). Every future and task is kept in a set so it
is neither garbage-collected mid-flight nor left running when the console quits.

`install_error_hooks` makes a failing slot or callback visible instead of a line on a
terminal nobody reads: it is reported through a callback (the status bar) and logged.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import sys
import threading
import traceback
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, TypeVar

log = logging.getLogger("countersign.ui")

T = TypeVar("T")

ErrorCallback = Callable[[BaseException], None]


class CancelToken:
    """Handed to long off-thread work so it can stop early when the console quits."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


class BackgroundWork:
    """Runs plain functions in a thread pool and hands results back on the GUI thread.

    Callables given to `submit`/`call` must never touch widgets: they run on a pool
    thread. ``on_done``/``on_error`` run on the GUI thread (the qasync loop's thread).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None, *,
                 max_workers: int = 4) -> None:
        self._loop = loop
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="countersign-work"
        )
        self._futures: set[asyncio.Future[Any]] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.token = CancelToken()
        self._closed = False

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop or asyncio.get_event_loop()

    @property
    def busy(self) -> int:
        """How many submitted functions and tasks have not finished (for tests)."""
        return len(self._futures) + len(self._tasks)

    def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> asyncio.Future[T]:
        """``fn(*args, **kwargs)`` on a pool thread, as an awaitable future."""
        if self._closed:
            raise RuntimeError("background work has been shut down")
        future: asyncio.Future[T] = self.loop.run_in_executor(
            self._executor, functools.partial(fn, *args, **kwargs)
        )
        self._futures.add(future)
        future.add_done_callback(self._futures.discard)
        return future

    def submit(
        self,
        fn: Callable[..., T],
        /,
        *args: Any,
        on_done: Callable[[T], None],
        on_error: ErrorCallback | None = None,
        **kwargs: Any,
    ) -> asyncio.Future[T]:
        """Run ``fn`` off-thread, then ``on_done(result)`` or ``on_error(exc)`` on the
        GUI thread. Without ``on_error`` a failure goes to the error hook."""
        future = self.call(fn, *args, **kwargs)

        def finished(done: asyncio.Future[T]) -> None:
            if done.cancelled():
                return
            exc = done.exception()
            if exc is None:
                on_done(done.result())
            elif on_error is not None:
                on_error(exc)
            else:
                report_exception(type(exc), exc, exc.__traceback__)

        future.add_done_callback(finished)
        return future

    def spawn(self, coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        """Start a coroutine on the loop and keep a reference until it ends."""
        task = self.loop.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            report_exception(type(exc), exc, exc.__traceback__)

    def shutdown(self) -> None:
        """Cancel everything still pending; running pool threads finish on their own
        (a thread cannot be interrupted) but their results are dropped."""
        self._closed = True
        self.token.cancel()
        for item in [*self._tasks, *self._futures]:
            item.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)


def dispose_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Close a qasync loop and delete its timer object now, on the GUI thread.

    qasync's ``close()`` only flags its timer object as stopped; Qt timers still
    registered on it are killed when it is destroyed, and if Python's garbage collector
    does that on a worker thread Qt warns "Timers cannot be stopped from another
    thread". (``_timer`` is qasync's private attribute; absent, nothing is done.)
    """
    if not loop.is_closed():
        loop.close()  # disconnects call_soon_threadsafe's signal, joins the executor
    # A worker thread that finished just before (an executor job of a stopped source)
    # may have queued a call_soon_threadsafe signal; handled after the timer below is
    # deleted it would fail on the deleted object, so deliver it while it still exists.
    from .qt.core import QCoreApplication, QEvent

    QCoreApplication.sendPostedEvents(None, QEvent.Type.MetaCall.value)
    timer = getattr(loop, "_timer", None)
    if timer is not None:
        from .qt import delete_now, is_alive

        if is_alive(timer):
            delete_now(timer)


# -- error hooks --------------------------------------------------------------------

_reporters: list[Callable[[str], None]] = []


def report_exception(kind: type[BaseException], exc: BaseException,
                     tb: TracebackType | None) -> None:
    """Log an unexpected exception and tell the GUI's reporters (one line each)."""
    log.error("unhandled error", exc_info=(kind, exc, tb))
    if not _reporters:
        traceback.print_exception(kind, exc, tb, file=sys.stderr)
    line = f"{kind.__name__}: {exc}" if str(exc) else kind.__name__
    for reporter in list(_reporters):
        try:
            reporter(line)
        except Exception:  # a broken reporter must not hide the original error
            log.exception("error reporter failed")


def install_error_hooks(reporter: Callable[[str], None],
                        loop: asyncio.AbstractEventLoop | None = None) -> Callable[[], None]:
    """Route ``sys.excepthook`` (exceptions raised in Qt slots end up there) and the
    asyncio loop's exception handler to ``reporter``. Returns an undo function."""
    previous_hook = sys.excepthook
    _reporters.append(reporter)

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            previous_hook(kind, exc, tb)
            return
        report_exception(kind, exc, tb)

    def loop_handler(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, BaseException):
            report_exception(type(exc), exc, exc.__traceback__)
        else:
            log.error("asyncio: %s", context.get("message"))

    sys.excepthook = hook
    if loop is not None:
        loop.set_exception_handler(loop_handler)

    def undo() -> None:
        sys.excepthook = previous_hook
        if reporter in _reporters:
            _reporters.remove(reporter)
        if loop is not None:
            loop.set_exception_handler(None)

    return undo
