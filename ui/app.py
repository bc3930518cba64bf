"""The GUI front end: ``countersign gui`` lands in `run`.

Order matters for a quick start: the window is shown first, then the core is opened
off the GUI thread through the composition root (``countersign.session.open_services``:
configuration, store and migrations, services), then the workspaces load and the
runtime (sources → store → dispatcher) starts on the same qasync loop. Heavy modules
(SQLAlchemy, Alembic, the services) are imported by that off-thread work, not before
the window.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from countersign.plugin_api import Source
    from countersign.plugin_host.frontends import FrontendOptions
    from countersign.runtime import Runtime
    from countersign.session import Services

    from .async_work import BackgroundWork
    from .main_window import MainWindow
    from .qt.widgets import QApplication, QWidget
    from .receiver import ConsoleReceiver

log = logging.getLogger("countersign.ui")

#: Set to print how long start-up took (cold start measurement).
STARTUP_TRACE_ENV = "COUNTERSIGN_STARTUP_TRACE"
_T0 = time.perf_counter()
SWITCH_INTERVAL_S = 0.0005


def _trace(what: str) -> None:
    if os.environ.get(STARTUP_TRACE_ENV):
        print(f"[startup] {what}: {(time.perf_counter() - _T0) * 1000:.0f} ms", file=sys.stderr)


def run(options: FrontendOptions) -> int:
    """Open the console on ``options.store_url``; returns the process exit code."""
    import qasync

    from .qt.core import QEvent, QTimer
    from .qt.widgets import QApplication

    # Every Python override Qt calls (data(), paint hooks) must take the GIL; while a
    # pool thread is busy in Python (reading 100,000 rows) each take can wait a whole
    # switch interval (5 ms by default), and a repaint needs thousands of them. 1 ms
    # keeps the window responsive at a small cost to the background thread.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Countersign")
    app.setOrganizationName("Countersign")
    # The session below decides when to quit (after stopping the runtime cleanly).
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    from .async_work import BackgroundWork, dispose_loop, install_error_hooks
    from .main_window import MainWindow

    work = BackgroundWork(loop)
    window = MainWindow(work)
    undo_hooks = install_error_hooks(window.show_error, loop)
    window.show()
    _trace("window shown")
    QTimer.singleShot(0, lambda: _trace("event loop running (interactive)"))
    session = ConsoleSession(options, app, window, work)
    try:
        code: int = loop.run_until_complete(session.run())
        return code
    finally:
        undo_hooks()
        dispose_loop(loop)
        asyncio.set_event_loop(None)
        # Delete the window's C++ side now, on this thread: left to Python's garbage
        # collector it could be destroyed on a pool thread, where Qt cannot stop timers.
        window.deleteLater()
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)


class ConsoleSession:
    """The life of one console window: open the core (`countersign.session`), start
    the runtime and the receiver, wait for the window to close, stop everything in
    reverse order. The window is handed the opened `Services` and builds nothing of
    the core itself."""

    def __init__(self, options: FrontendOptions, app: QApplication, window: MainWindow,
                 work: BackgroundWork) -> None:
        self.options = options
        self.app = app
        self.window = window
        self.work = work
        self.services: Services | None = None
        self.runtime: Runtime | None = None
        self.receiver: ConsoleReceiver | None = None

    async def run(self) -> int:
        closed = asyncio.Event()
        self.window.closing.connect(closed.set)
        try:
            self.services = await self.work.call(_open_services, self.options)
        except Exception as exc:
            from countersign.config import ConfigError
            from countersign.store.engine import StoreError

            if not isinstance(exc, StoreError | ConfigError):
                raise
            _trace("store failed")
            await _tell(self.window, "Cannot open the store" if isinstance(exc, StoreError)
                        else "Cannot read the configuration", str(exc))
            self._close()
            return 1
        _trace("store open")
        services = self.services
        self.window.attach(services)
        from .queue.workspace import QueueWorkspace

        queue = self.window.workspace(QueueWorkspace)
        queue.firstRowsShown.connect(lambda: _trace("first rows shown"))
        configs = services.source_configs(demo=self.options.demo,
                                          demo_seed=self.options.demo_seed,
                                          demo_agents=self.options.demo_agents)
        sources = services.build_sources(configs, on_error=self.window.show_error)
        if not sources:
            self.window.set_sources_none()
        await self._start_runtime(services, sources)
        await self._start_receiver(services)
        if not self.window.isVisible():
            closed.set()
        await closed.wait()
        await self.stop()
        return 0

    async def _start_runtime(self, services: Services, sources: list[Source]) -> None:
        self.runtime = services.make_runtime(sources, on_health=self.window.set_source_health)
        await self.runtime.start()
        for health in self.runtime.health.values():
            self.window.set_source_health(health)

    async def _start_receiver(self, services: Services) -> None:
        from .receiver import ConsoleReceiver

        self.receiver = ConsoleReceiver(services.store, self.window)
        self.window.attach_receiver(self.receiver)
        await self.receiver.apply(services.config.receiver)
        if self.receiver.error:
            self.window.show_error(self.receiver.error)

    async def stop(self) -> None:
        """Stop the receiver (storing what it accepted) and the runtime (sources get 5 s
        each), cancel our tasks, close the store."""
        self.window.shutdown()
        if self.receiver is not None:
            await self.receiver.stop()
        if self.runtime is not None:
            try:
                await asyncio.wait_for(self.runtime.stop(), timeout=10)
            except (TimeoutError, asyncio.CancelledError):
                log.warning("the runtime did not stop within 10 s")
        self.work.shutdown()
        if self.services is not None:
            self.services.close()

    def _close(self) -> None:
        self.window.shutdown()
        self.window.hide()
        self.work.shutdown()


def _open_services(options: FrontendOptions) -> Services:
    """Off the GUI thread: read the configuration, open (and migrate) the store."""
    from countersign.session import open_services

    return open_services(options.store_url, options.config_path)


async def _tell(parent: QWidget, title: str, text: str) -> None:
    """A message box that does not block the loop (a modal ``exec()`` inside a task
    would run other tasks re-entrantly, which asyncio refuses)."""
    from .qt.core import Qt
    from .qt.widgets import QMessageBox

    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    box = QMessageBox(QMessageBox.Icon.Critical, title, text, QMessageBox.StandardButton.Ok,
                      parent)
    box.setTextFormat(Qt.TextFormat.PlainText)

    def finished(code: int) -> None:
        if not done.done():
            done.set_result(code)

    box.finished.connect(finished)
    box.open()
    await done

