"""The Connections dialog speaks in sentences: a failed test says what failed and what
to check, with the technical text behind "Details"; Test with nothing selected says
what to do; the demo fleet of ``--demo`` is listed though the file does not hold it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from countersign.plugin_host.loading import load_source_class
from countersign.session import Services
from countersign_ui.async_work import BackgroundWork
from countersign_ui.connections import ConnectionsDialog, open_connections_dialog
from countersign_ui.main_window import MainWindow

from .conftest import alive, dispose, open_test_services

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")
WAIT_MS = 15_000
REPR = ("Error(", "Exception(")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[[sources]]\nname = "prod"\nplugin = "langgraph"\nurl = "{url}"\n')
    return path


def test_a_failed_test_is_a_sentence_with_details(qtbot: QtBot, tmp_path: Path,
                                                  qasync_loop: asyncio.AbstractEventLoop
                                                  ) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    dialog = open_connections_dialog(None, _config(tmp_path, url))
    qtbot.addWidget(dialog)
    dialog.table.selectRow(0)
    with qtbot.waitSignal(dialog.tested, timeout=WAIT_MS) as tested:
        dialog.test_selected()
    assert tested.args[:2] == ["prod", False]
    text = dialog.status.text()
    assert text.startswith((  # refused, said either way the client reports it
        f"Testing 'prod' failed. Nothing answers at {url}: the connection was refused",
        f"Testing 'prod' failed. Cannot connect to the server at {url}: the connection was "
        "refused")), text
    assert not any(marker in text for marker in REPR), text
    message = dialog.message
    assert message.toggle.isVisible() and message.details.isHidden()
    message.toggle.click()  # "Details ▸"
    assert message.details.isVisible()
    assert "GET /ok" in message.details.toPlainText()  # the technical text, kept
    # The table's last error says it in words too; the detail is in its tooltip.
    error = dialog.table.item(0, 5)
    assert error is not None and not any(marker in error.text() for marker in REPR)
    assert "Details: " in error.toolTip()


def test_test_connection_without_a_selection_says_what_to_do(
        qtbot: QtBot, tmp_path: Path, qasync_loop: asyncio.AbstractEventLoop) -> None:
    dialog = ConnectionsDialog(None, _config(tmp_path, "http://127.0.0.1:9"))
    qtbot.addWidget(dialog)
    dialog.table.clearSelection()
    dialog.buttons["test"].click()
    assert dialog.status.text() == "Select a source in the list, then press Test connection."
    assert dialog.message.toggle.isHidden()
    empty = ConnectionsDialog(None, tmp_path / "none.toml")
    qtbot.addWidget(empty)
    empty.buttons["test"].click()
    assert empty.status.text() == "There is no source to test yet: add one with Add… first."


@pytest.fixture
def demo_window(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop,
                tmp_path: Path) -> Iterator[tuple[MainWindow, Services]]:
    """The console as ``--demo`` starts it: the demo fleet runs, the file lists none."""
    services = open_test_services(tmp_path / "demo.db", config_path=tmp_path / "c.toml")
    demo = load_source_class("demo")(name="demo", config={"agents": 2, "seed": 3})
    services.make_runtime([demo])
    work = BackgroundWork(qasync_loop)
    window = MainWindow(work)
    qtbot.addWidget(window)
    window.show()
    window.attach(services)
    yield window, services
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, ConnectionsDialog):
            dispose(widget)
    if alive(window):
        window.shutdown()
    work.shutdown()
    dispose(window)
    services.close()


def test_the_demo_source_is_listed_when_the_console_runs_it(
        qtbot: QtBot, demo_window: tuple[MainWindow, Services]) -> None:
    window, _services = demo_window
    dialog = window.show_connections()
    assert dialog.table.rowCount() == 1
    cells = [dialog.table.item(0, c).text() for c in range(4)]  # type: ignore[union-attr]
    assert cells == ["demo", "demo", "simulated in this console", "starting"]
    dialog.table.selectRow(0)
    assert dialog.edit_selected() is None
    assert "--demo" in dialog.status.text() and "nothing to edit" in dialog.status.text()
    dialog.remove_selected()
    assert dialog.table.rowCount() == 1 and not dialog.dirty
    with qtbot.waitSignal(dialog.tested, timeout=WAIT_MS) as tested:
        dialog.test_selected()
    assert tested.args[:2] == ["demo", True]
    assert dialog.status.text().startswith("'demo' works: ")
