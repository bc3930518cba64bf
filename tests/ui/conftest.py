"""Fixtures for the GUI tests: an offscreen Qt, a qasync loop that runs whenever Qt
processes events (so ``qtbot.waitUntil`` also drives asyncio), and row factories."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication, QWidget

from countersign.domain import ActionState, QueueRow, Risk
from countersign.session import Services
from countersign_ui.main_window import MainWindow
from countersign_ui.queue.workspace import QueueWorkspace
from countersign_ui.traces.workspace import TracesWorkspace


@pytest.fixture(autouse=True)
def _no_leaked_windows(qapp: QApplication) -> Iterator[None]:
    """Fail a test that leaves a new top-level window on screen (a dialog never
    closed, a window never disposed): it would linger into the next tests and, in the
    console, on the reviewer's screen. After napari's ``leaked_widgets`` check."""
    before = set(QApplication.topLevelWidgets())
    yield
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    leaked = [w for w in QApplication.topLevelWidgets()
              if w not in before and alive(w) and w.isVisible()]
    names = [f"{type(w).__name__} {w.objectName() or w.windowTitle()!r}" for w in leaked]
    for widget in leaked:
        dispose(widget)
    assert not leaked, f"the test left windows open: {', '.join(names)}"


@pytest.fixture
def qasync_loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """A qasync loop marked as running: tasks and executor callbacks make progress
    while Qt processes events (``qtbot.wait``/``waitUntil``), as in the real app."""
    import qasync

    from countersign_ui.async_work import dispose_loop

    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        for task in asyncio.all_tasks(loop):
            task.cancel()
        qapp.processEvents()
        asyncio.events._set_running_loop(None)
        loop._QEventLoop__is_running = False  # type: ignore[attr-defined]
        dispose_loop(loop)
        asyncio.set_event_loop(None)


def alive(widget: QWidget) -> bool:
    """pytest-qt closes and deletes the widgets given to ``qtbot.addWidget`` before
    fixture teardown runs; whether that deletion has happened yet depends on event
    processing, so teardown code asks first."""
    import shiboken6

    return bool(shiboken6.isValid(widget))


def dispose(widget: QWidget) -> None:
    """Close and delete a widget now, on the GUI thread (not whenever Python's garbage
    collector runs, possibly on a worker thread where Qt cannot stop its timers)."""
    if not alive(widget):
        return
    widget.close()
    widget.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)


def open_test_services(path: Path, *, reviewer: str = "ann",
                       config_path: Path | None = None) -> Services:
    """The core as the console opens it (`countersign.session.open_services`), on a
    fresh SQLite file, acting as ``reviewer``."""
    from countersign.config import Config
    from countersign.session import open_services

    return open_services("sqlite:///" + str(path), config_path,
                         config=Config(reviewer=reviewer), create=True)


def created_store(path: Path) -> str:
    """The URL of a new, migrated SQLite store at ``path`` (the console opens only the
    default store by itself, as ``countersign init`` would have created any other)."""
    from countersign.store.migrate import open_store

    url = "sqlite:///" + str(path)
    open_store(url).dispose()
    return url


def queue_of(window: MainWindow) -> QueueWorkspace:
    return window.workspace(QueueWorkspace)


def traces_of(window: MainWindow) -> TracesWorkspace:
    return window.workspace(TracesWorkspace)


def make_row(action_id: int, *, agent: str = "billing-bot", action: str = "issue_refund",
             risk: Risk = Risk.MEDIUM, created_at: float | None = None,
             deadline: float | None = None,
             state: ActionState = ActionState.PENDING) -> QueueRow:
    return QueueRow(
        id=action_id, agent=agent, action_class=action, risk=risk,
        created_at=1_700_000_000.0 + action_id if created_at is None else created_at,
        deadline=deadline, state=state,
    )


@pytest.fixture
def now() -> float:
    return time.time()
