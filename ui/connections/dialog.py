"""The Connections dialog: the configured sources, their health, and editing them.

Lists the ``[[sources]]`` of the configuration file with what the running runtime
knows (status, last error, last sync). Add / Edit open `SourceForm`; Remove drops the
source (and its keyring entry); Test builds the source and runs its connection check
as a task on the qasync loop, so the window never waits on the network. Save writes
the TOML file (countersign.config_writer); a running console picks the change up on
its next start. Server errors are untrusted text: shown as plain text only.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from countersign import secrets
from countersign.config import Config, ConfigError, SourceConfig, load_config
from countersign.config_writer import ConfigWriteError, save_config, with_source, without_source
from countersign.text import one_line

from .form import SourceForm

if TYPE_CHECKING:
    from countersign.runtime import Runtime

COLUMNS = ("Name", "Plugin", "Where", "Status", "Last sync", "Last error")


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "never"
    return time.strftime("%H:%M:%S", time.localtime(stamp))


class ConnectionsDialog(QDialog):
    """Add, edit, remove and test the configured sources."""

    #: The configuration file was written (its path).
    saved = Signal(object)
    #: A connection test finished: (source name, ok, detail text).
    tested = Signal(str, bool, str)

    def __init__(self, parent: QWidget | None, config_path: Path,
                 runtime: Runtime | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Connections")
        self.setObjectName("connectionsDialog")
        self.resize(900, 380)
        self.config_path = config_path
        self.runtime = runtime
        self._tasks: set[asyncio.Task[Any]] = set()
        self._tests: dict[str, str] = {}
        self._orphaned: set[str] = set()
        self.dirty = False
        try:
            self.config = load_config(config_path) if config_path.exists() else Config()
            problem = None
        except ConfigError as exc:
            self.config, problem = Config(), str(exc)

        layout = QVBoxLayout(self)
        self.warning = QLabel(secrets.backend_warning() or "")
        self.warning.setObjectName("keyringWarning")
        self.warning.setTextFormat(Qt.TextFormat.PlainText)
        self.warning.setWordWrap(True)
        self.warning.setVisible(bool(self.warning.text()))
        layout.addWidget(self.warning)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("sourcesTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(lambda _index: self.edit_selected())
        layout.addWidget(self.table)
        self.status = QLabel(problem or f"Configuration file: {config_path}")
        self.status.setObjectName("connectionsStatus")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        layout.addWidget(self.status)

        row = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for key, text, slot in (("add", "Add…", self.add_source),
                                ("edit", "Edit…", self.edit_selected),
                                ("remove", "Remove", self.remove_selected),
                                ("test", "Test connection", self.test_selected),
                                ("save", "Save", self.save),
                                ("close", "Close", self.close)):
            button = QPushButton(text)
            button.setObjectName(f"{key}Button")
            button.clicked.connect(slot)
            self.buttons[key] = button
            row.addWidget(button)
        layout.addLayout(row)
        self.refresh()
        # Health changes arrive through the runtime's callback; a slow tick is enough here.
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._timer.start(1000)

    # -- table -----------------------------------------------------------------------

    def selected_name(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return item.text() if item else None

    def refresh(self) -> None:
        """Rebuild the rows from the config and the runtime's health (a few rows)."""
        selected = self.selected_name()
        health = self.runtime.health if self.runtime is not None else {}
        self.table.setRowCount(len(self.config.sources))
        for row, source in enumerate(self.config.sources):
            known = health.get(source.name)
            status = known.status.value if known else "not running"
            error = (known.last_error if known else None) or self._tests.get(source.name, "")
            cells = (source.name, source.plugin, str(source.settings.get("url", "")), status,
                     _when(known.last_sync or known.last_ok) if known else "—",
                     one_line(error, 300))
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)  # plain text: errors come from servers
                item.setToolTip(error if col == 5 else text)
                self.table.setItem(row, col, item)
            if source.name == selected:
                self.table.selectRow(row)

    # -- editing ---------------------------------------------------------------------

    def _names(self) -> set[str]:
        return {s.name for s in self.config.sources}

    def add_source(self) -> SourceForm:
        form = SourceForm(self, existing=None, taken_names=self._names())
        form.accepted.connect(lambda: self._apply(form, None))
        form.open()
        return form

    def edit_selected(self) -> SourceForm | None:
        name = self.selected_name()
        existing = next((s for s in self.config.sources if s.name == name), None)
        if existing is None:
            return None
        form = SourceForm(self, existing=existing, taken_names=self._names())
        form.accepted.connect(lambda: self._apply(form, existing.name))
        form.open()
        return form

    def _apply(self, form: SourceForm, replacing: str | None) -> None:
        if form.result_config is None:
            return
        self.config = with_source(self.config, form.result_config, replacing)
        self._changed(f"'{form.result_config.name}' changed; Save to keep it")

    def remove_selected(self) -> None:
        name = self.selected_name()
        source = next((s for s in self.config.sources if s.name == name), None)
        if source is None:
            return
        self.config = without_source(self.config, source.name)
        ref = source.settings.get("api_key")
        if isinstance(ref, str) and ref == secrets.REF_PREFIX + source.name:
            # Only the entry this dialog made for the source, and only once saved.
            self._orphaned.add(ref)
        self._changed(f"'{source.name}' removed; Save to keep it")

    def _changed(self, text: str) -> None:
        self.dirty = True
        self.status.setText(text)
        self.refresh()

    def save(self) -> bool:
        try:
            save_config(self.config_path, self.config)
        except (OSError, ConfigWriteError) as exc:
            self.status.setText(f"Not saved: {exc}")
            return False
        still_used = {s.settings.get("api_key") for s in self.config.sources}
        for ref in self._orphaned - still_used:
            with contextlib.suppress(secrets.SecretError):
                secrets.delete_secret(ref)
        self._orphaned.clear()
        self.dirty = False
        self.status.setText(f"Saved to {self.config_path}; running sources change on the "
                            f"next start")
        self.saved.emit(self.config_path)
        return True

    # -- test connection -------------------------------------------------------------

    def test_selected(self) -> asyncio.Task[Any] | None:
        """Check the selected source's connection off the GUI's critical path."""
        name = self.selected_name()
        source = next((s for s in self.config.sources if s.name == name), None)
        if source is None:
            return None
        self.status.setText(f"Testing '{source.name}'…")
        self.buttons["test"].setEnabled(False)
        task = asyncio.get_event_loop().create_task(self._test(source))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _test(self, source: SourceConfig) -> None:
        from countersign.source_check import check_source

        try:
            result = await check_source(source, timeout=10.0)
        finally:
            self.buttons["test"].setEnabled(True)
        text = f"'{source.name}': {'OK' if result.ok else 'FAILED'}: {result.detail}"
        self._tests[source.name] = "" if result.ok else result.detail
        self.status.setText(one_line(text, 500))
        self.status.setToolTip(result.detail)
        self.refresh()
        self.tested.emit(source.name, result.ok, result.detail)

    # -- closing ---------------------------------------------------------------------

    def closeEvent(self, event: Any) -> None:
        if self.dirty and QMessageBox.question(
                self, "Connections", "Save the changed sources?",
                QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard,
        ) == QMessageBox.StandardButton.Save and not self.save():
            event.ignore()
            return
        self._timer.stop()
        for task in self._tasks:
            task.cancel()
        super().closeEvent(event)


def open_connections_dialog(parent: QWidget | None, config_path: Path | None,
                            runtime: Runtime | None = None) -> ConnectionsDialog:
    """Open the dialog (window-modal, non-blocking) on ``config_path`` (default: the
    user's configuration file) and return it."""
    from countersign.config import default_config_path

    dialog = ConnectionsDialog(parent, config_path or default_config_path(), runtime)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
