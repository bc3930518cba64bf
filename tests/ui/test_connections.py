"""The Connections dialog: add with an API key (to the keyring, never the file), edit,
remove, save, health from the runtime, and a connection test that does not block."""

from __future__ import annotations

import asyncio
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from countersign import secrets
from countersign.runtime import SourceHealth, SourceStatus
from countersign_ui.connections import ConnectionsDialog, open_connections_dialog
from countersign_ui.connections.form import SourceForm

SECRET = "sk-do-not-write-me"
#: The offscreen test platform talking about dialogs being shown, not our code.
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")


class FakeRuntime:
    def __init__(self) -> None:
        self.health = {"prod": SourceHealth("prod", status=SourceStatus.FAILING,
                                            last_error="<b>HTTP 401</b> bad key",
                                            last_sync=time.time())}


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('reviewer = "ann"\n\n[[sources]]\nname = "prod"\nplugin = "langgraph"\n'
                    'url = "http://127.0.0.1:9"\n')
    return path


def _cell(dialog: ConnectionsDialog, row: int, col: int) -> str:
    item = dialog.table.item(row, col)
    return item.text() if item else ""


def _fill(form: SourceForm, **values: str) -> None:
    for key, value in values.items():
        editor = form.findChild(QLineEdit, f"field_{key}")
        assert editor is not None, key
        editor.setText(value)


def test_add_edit_remove_and_save(qtbot: QtBot, tmp_path: Path, memory_keyring: Any,
                                  qasync_loop: asyncio.AbstractEventLoop) -> None:
    path = _config(tmp_path)
    dialog = ConnectionsDialog(None, path, FakeRuntime())  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    assert _cell(dialog, 0, 0) == "prod"
    assert _cell(dialog, 0, 3) == "failing"
    # In words; the server's own text (tags and all, as plain text) in the tooltip.
    assert _cell(dialog, 0, 5).startswith("The server at http://127.0.0.1:9 refused the "
                                          "credentials (HTTP 401)")
    tip = dialog.table.item(0, 5).toolTip()
    assert "&lt;b&gt;HTTP 401&lt;/b&gt; bad key" in tip and "<b>" not in tip

    form = dialog.add_source()
    qtbot.addWidget(form)
    form.name_edit.setText("staging")
    form.plugin_combo.setCurrentText("langgraph")
    _fill(form, url="ftp://nope")
    form._accept()
    assert "url" in form.error.text() and form.result_config is None
    _fill(form, url="http://127.0.0.1:2024", api_key=SECRET, graph_id="agent")
    form._accept()
    assert form.result_config is not None
    assert dialog.table.rowCount() == 2 and dialog.dirty

    assert dialog.save()
    text = path.read_text()
    assert SECRET not in text
    saved = tomllib.loads(text)
    staging = saved["sources"][1]
    assert staging == {"name": "staging", "plugin": "langgraph", "url": "http://127.0.0.1:2024",
                       "graph_id": "agent", "api_key": "keyring:staging"}
    assert saved["reviewer"] == "ann"
    assert secrets.get_secret("keyring:staging") == SECRET

    dialog.table.selectRow(1)
    edit = dialog.edit_selected()
    assert edit is not None
    qtbot.addWidget(edit)
    api = edit.findChild(QLineEdit, "field_api_key")
    assert api is not None and api.text() == "" and api.echoMode() == QLineEdit.EchoMode.Password
    _fill(edit, assistant_id="asst-1")
    edit._accept()
    assert dialog.save()
    staging = tomllib.loads(path.read_text())["sources"][1]
    assert staging["assistant_id"] == "asst-1" and staging["api_key"] == "keyring:staging"

    dialog.table.selectRow(1)
    dialog.remove_selected()
    assert secrets.get_secret("keyring:staging") == SECRET  # not before Save
    assert dialog.save()
    assert [s["name"] for s in tomllib.loads(path.read_text())["sources"]] == ["prod"]
    with pytest.raises(secrets.SecretError):
        secrets.get_secret("keyring:staging")


def test_test_connection_runs_without_blocking(qtbot: QtBot, tmp_path: Path,
                                               qasync_loop: asyncio.AbstractEventLoop) -> None:
    dialog = open_connections_dialog(None, _config(tmp_path), None)
    qtbot.addWidget(dialog)
    assert _cell(dialog, 0, 3) == "not running"
    dialog.table.selectRow(0)
    with qtbot.waitSignal(dialog.tested, timeout=15000) as blocker:
        task = dialog.test_selected()
        assert task is not None and not task.done()  # the GUI thread is free meanwhile
    name, ok, detail = blocker.args
    assert (name, ok) == ("prod", False)
    assert detail
    status = dialog.findChild(QLabel, "connectionsStatus")
    assert status is not None and status.text().startswith("Testing 'prod' failed.")
