"""The GUI front end: ``countersign gui`` lands in `run`.

Order matters for a quick start: the window is shown first, then the store is opened
(migrations included) off the GUI thread, then the queue loads and the runtime
(sources → store → dispatcher) starts on the same qasync loop. Heavy modules (SQLAlchemy,
Alembic, the services) are imported by that off-thread work, not before the window.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication, QWidget

    from countersign.plugin_host.frontends import FrontendOptions
    from countersign.runtime import Runtime
    from countersign.store.engine import Store

    from .async_work import BackgroundWork
    from .main_window import MainWindow
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
    from PySide6.QtCore import QEvent, QTimer
    from PySide6.QtWidgets import QApplication

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
    window = MainWindow(work, reviewer=getpass.getuser())
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
    """The life of one console window: open the store, start the runtime, wait for the
    window to close, stop everything in reverse order."""

    def __init__(self, options: FrontendOptions, app: QApplication, window: MainWindow,
                 work: BackgroundWork) -> None:
        self.options = options
        self.app = app
        self.window = window
        self.work = work
        self.runtime: Runtime | None = None
        self.store: Store | None = None
        self.receiver: ConsoleReceiver | None = None

    async def run(self) -> int:
        closed = asyncio.Event()
        self.window.closing.connect(closed.set)
        try:
            config = await self.work.call(_load_config, self.options)
            if config.reviewer:
                self.window.set_reviewer(config.reviewer)
            self.store = await self.work.call(_open_store, self.options.store_url)
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
        self.window.attach_store(self.store)
        self.window.queue.firstRowsShown.connect(lambda: _trace("first rows shown"))
        sources = self._sources(config)
        if not sources:
            self.window.set_sources_none()
        await self._start_runtime(self.store, sources)
        await self._start_receiver(self.store, config)
        if not self.window.isVisible():
            closed.set()
        await closed.wait()
        await self.stop()
        return 0

    def _sources(self, config: Any) -> list[Any]:
        """The configured sources (and the demo fleet with ``--demo``), built and
        validated as the worker builds them; a bad one is reported, not fatal."""
        from countersign.config import SourceConfig
        from countersign.plugin_host.loading import PluginError, build_source

        wanted = list(config.sources)
        if self.options.demo and not any(c.name == "demo" for c in wanted):
            wanted.append(SourceConfig.model_validate(
                {"name": "demo", "plugin": "demo", "seed": self.options.demo_seed,
                 "agents": self.options.demo_agents}))
        sources: list[Any] = []
        for source_config in wanted:
            try:
                sources.append(build_source(source_config))
            except PluginError as exc:
                self.window.show_error(str(exc))
            except Exception as exc:  # a plugin rejecting its config must not stop the GUI
                self.window.show_error(
                    f"source {source_config.name}: {type(exc).__name__}: {exc}")
        return sources

    async def _start_runtime(self, store: Store, sources: list[Any]) -> None:
        from countersign.runtime import Runtime

        self.runtime = Runtime(store, sources, on_health=self.window.set_source_health)
        self.window.runtime = self.runtime
        self.window.config_path = self.options.config_path
        await self.runtime.start()
        for health in self.runtime.health.values():
            self.window.set_source_health(health)

    async def _start_receiver(self, store: Store, config: Any) -> None:
        from .receiver import ConsoleReceiver

        self.receiver = ConsoleReceiver(store, self.window)
        self.window.attach_receiver(self.receiver)
        await self.receiver.apply(config.receiver)
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
        if self.store is not None:
            self.store.dispose()

    def _close(self) -> None:
        self.window.shutdown()
        self.window.hide()
        self.work.shutdown()


def _load_config(options: FrontendOptions) -> Any:
    from countersign.config import load_config

    return load_config(options.config_path)


def _open_store(url: str) -> Store:
    from countersign.store.migrate import open_store

    return open_store(url)


async def _tell(parent: QWidget, title: str, text: str) -> None:
    """A message box that does not block the loop (a modal ``exec()`` inside a task
    would run other tasks re-entrantly, which asyncio refuses)."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QMessageBox

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

