"""The main window: discoverable commands, the cheatsheet, the status bar, the empty
state, the stall monitor, and the whole `run()` life cycle (including a store that
cannot be opened)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from countersign.plugin_host.frontends import FrontendOptions
from countersign.runtime import SourceHealth, SourceStatus
from countersign_ui.async_work import BackgroundWork
from countersign_ui.main_window import MainWindow
from countersign_ui.shortcuts import ShortcutsDialog
from countersign_ui.workspaces import window_commands

from .conftest import alive, created_store, dispose, open_test_services, queue_of

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
WAIT_MS = 10_000


@pytest.fixture
def window(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop) -> Iterator[MainWindow]:
    work = BackgroundWork(qasync_loop)
    win = MainWindow(work)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win, timeout=WAIT_MS)
    yield win
    if alive(win):
        win.shutdown()
    work.shutdown()
    dispose(win)


def test_every_command_is_in_a_menu_with_its_shortcut_in_the_tooltip(
        window: MainWindow) -> None:
    in_menus = {a.objectName(): top.text() for top in window.menuBar().actions()
                for a in top.menu().actions()}
    for command in window_commands():
        assert command.name in in_menus, command.name
        action = window.commands[command.name]
        for key in command.keys:
            native = QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)
            assert native in action.toolTip(), (command.name, action.toolTip())
    assert window.commands["verdict.approve"].shortcut() == QKeySequence("A")


def test_f1_opens_the_cheatsheet_listing_every_command(qtbot: QtBot,
                                                       window: MainWindow) -> None:
    qtbot.keyClick(window, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: window.findChild(ShortcutsDialog) is not None, timeout=WAIT_MS)
    dialog = window.findChild(ShortcutsDialog)
    assert dialog is not None
    assert len(dialog.listed()) == len(window_commands())
    listed = dict(dialog.listed())
    assert listed["Approve"] == "A"
    assert listed["Keyboard shortcuts"] == "?, F1"
    dialog.close()


def test_empty_store_shows_the_empty_state_and_status(qtbot: QtBot, window: MainWindow,
                                                      tmp_path: Any) -> None:
    services = open_test_services(tmp_path / "s.db")
    try:
        window.attach(services)
        qtbot.waitUntil(lambda: "No pending actions" in queue_of(window).placeholder.text(),
                        timeout=WAIT_MS)
        assert queue_of(window).placeholder.isVisible()
        assert window.summary_labels["queue"].text() == "0 pending"
        assert window.store_label.text().endswith("s.db")
        assert not window.commands["verdict.approve"].isEnabled()
    finally:
        window.shutdown()
        services.close()


def test_status_bar_hides_passwords_and_shows_health(window: MainWindow) -> None:
    class FakeStore:
        url = "postgresql+psycopg://ann:s3cret@db.example/countersign"

    window.store_label.setText("")
    from countersign.store.engine import describe_url

    window.store_label.setText(describe_url(FakeStore.url))
    assert "s3cret" not in window.store_label.text()
    window.set_source_health(SourceHealth("demo", status=SourceStatus.RUNNING))
    assert window.health_label.text() == "demo: running"
    window.set_source_health(SourceHealth("lg", status=SourceStatus.FAILING,
                                          last_error="ConnectError: refused"))
    assert "lg: failing" in window.health_label.text()
    assert "refused" in window.error_label.text()


def test_stall_monitor_reports(qtbot: QtBot, window: MainWindow) -> None:
    window.stall_monitor.reset()
    qtbot.wait(100)
    snap = window.stall_monitor.snapshot()
    assert snap.samples > 5
    assert snap.max_ms >= 0 and snap.p99_ms >= snap.p50_ms


def _close_soon(check: list[str]) -> None:
    """Close the console once its queue is showing (run() blocks the test)."""

    def attempt() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, MainWindow) and widget.isVisible() and widget.services:
                check.append(widget.store_label.text())
                widget.close()
                return
        QTimer.singleShot(50, attempt)

    QTimer.singleShot(50, attempt)


def test_run_opens_and_quits_cleanly(qapp: QApplication, tmp_path: Any) -> None:
    from countersign_ui.app import run

    seen: list[str] = []
    _close_soon(seen)
    code = run(FrontendOptions(store_url=created_store(tmp_path / "r.db"),
                               config_path=None))
    asyncio.set_event_loop(None)
    assert code == 0
    assert seen and seen[0].endswith("r.db")


def test_run_explains_a_store_it_cannot_open(qapp: QApplication) -> None:
    from countersign_ui.app import run

    told: list[str] = []

    def dismiss() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QMessageBox) and widget.isVisible():
                told.append(widget.text())
                widget.accept()
                return
        QTimer.singleShot(50, dismiss)

    QTimer.singleShot(50, dismiss)
    code = run(FrontendOptions(store_url="nosuchdb://nowhere/x", config_path=None))
    asyncio.set_event_loop(None)
    assert code == 1
    assert told and "nosuchdb" in told[0]



@pytest.mark.parametrize("modifier", [Qt.KeyboardModifier.NoModifier,
                                      Qt.KeyboardModifier.ShiftModifier])
def test_question_mark_opens_the_cheatsheet(qtbot: QtBot, window: MainWindow,
                                            modifier: Qt.KeyboardModifier) -> None:
    qtbot.keyClick(window, Qt.Key.Key_Question, modifier)
    qtbot.waitUntil(lambda: window.findChild(ShortcutsDialog) is not None, timeout=WAIT_MS)
    dialog = window.findChild(ShortcutsDialog)
    assert dialog is not None
    dialog.close()


def test_connections_dialog_opens_from_the_file_menu(qtbot: QtBot, window: MainWindow,
                                                     tmp_path: Any) -> None:
    """The Connections dialog is reachable from the File menu and its shortcut."""
    from countersign_ui.connections import ConnectionsDialog

    services = open_test_services(tmp_path / "s.db", config_path=None)
    services.config_path = tmp_path / "config.toml"
    window.attach(services)
    action = window.commands["file.connections"]
    file_menu = window.menuBar().actions()[0].menu()
    assert action in file_menu.actions()
    assert action.shortcut().toString() == "Ctrl+Shift+O"
    action.trigger()

    def shown() -> list[ConnectionsDialog]:
        return [w for w in QApplication.topLevelWidgets()
                if isinstance(w, ConnectionsDialog) and w.isVisible()]

    qtbot.waitUntil(lambda: bool(shown()), timeout=3000)
    for dialog in shown():
        assert dialog.config_path == tmp_path / "config.toml"
        dialog.close()
    window.shutdown()
    services.close()
