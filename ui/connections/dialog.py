"""The Connections dialog: the configured sources, their health, and editing them; and
the console's own OTLP receiver (on or off, host and port, and what it is doing).

Lists the ``[[sources]]`` of the configuration file with what the running runtime
knows (status, last error, last sync). Add / Edit open `SourceForm`; Remove drops the
source (and its keyring entry); Test builds the source and runs its connection check
as a task on the qasync loop, so the window never waits on the network. Save writes
the TOML file (countersign.config.writer); a running console picks source changes up
on its next start, and receiver changes at once. Server errors are untrusted text:
shown as plain text only, and in words (`countersign.plugin_host.failures.explain`:
"Nothing answers at …: the connection was refused") with the technical text behind
"Details". Sources this console runs that are not in the file (the demo fleet of
``--demo``) are listed too, read-only.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from countersign import secrets
from countersign.config import Config, ConfigError, ReceiverConfig, SourceConfig, load_config
from countersign.config.writer import (
    ConfigWriteError,
    save_config,
    with_receiver,
    with_source,
    without_source,
)
from countersign.plugin_host.failures import explain
from countersign.text import one_line

from ..qt.core import Qt, QTimer, Signal
from ..qt.widgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from ..widgets.text import plain_tooltip
from .details import MessageWithDetails
from .form import SourceForm

if TYPE_CHECKING:
    from countersign.runtime import Runtime

    from ..receiver import ConsoleReceiver

COLUMNS = ("Name", "Plugin", "Where", "Status", "Last sync", "Last error")


def _where(source: SourceConfig) -> str:
    url = source.settings.get("url")
    if url:
        return str(url)
    return "simulated in this console" if source.plugin == "demo" else ""


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
                 runtime: Runtime | None = None,
                 receiver: ConsoleReceiver | None = None,
                 started: Sequence[SourceConfig] = ()) -> None:
        super().__init__(parent)
        self.setWindowTitle("Connections")
        self.setObjectName("connectionsDialog")
        self.resize(900, 480)
        self.config_path = config_path
        self.runtime = runtime
        self.receiver = receiver
        self._tasks: set[asyncio.Task[Any]] = set()
        self._tests: dict[str, str] = {}
        self._orphaned: set[str] = set()
        #: Sources this console runs that the file does not list (``--demo``).
        self.started = list(started)
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
        layout.addWidget(self._build_receiver_box())
        self.message = MessageWithDetails("connectionsStatus", self)
        #: The message's sentence (the technical text is behind its Details button).
        self.status = self.message.text
        self.message.show_message(problem or f"Configuration file: {config_path}")
        layout.addWidget(self.message)

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

    def sources(self) -> list[SourceConfig]:
        """The rows: the file's sources, then those this console runs besides."""
        names = {s.name for s in self.config.sources}
        return [*self.config.sources, *(s for s in self.started if s.name not in names)]

    def _in_file(self, name: str | None) -> bool:
        return any(s.name == name for s in self.config.sources)

    def refresh(self) -> None:
        """Rebuild the rows from the config and the runtime's health (a few rows)."""
        selected = self.selected_name()
        health = self.runtime.health if self.runtime is not None else {}
        sources = self.sources()
        self.table.setRowCount(len(sources))
        for row, source in enumerate(sources):
            known = health.get(source.name)
            status = known.status.value if known else "not running"
            error = (known.last_error if known else None) or self._tests.get(source.name, "")
            failure = explain(error, where=_where(source) or None) if error else None
            cells = (source.name, source.plugin, _where(source), status,
                     _when(known.last_sync or known.last_ok) if known else "—",
                     one_line(failure.summary, 300) if failure else "")
            tips = list(cells)
            if failure is not None:
                tips[5] = f"{failure.summary}\n\nDetails: {failure.detail}"
            if not self._in_file(source.name):
                tips[0] = (f"{source.name} runs in this console but is not in the "
                           "configuration file (the demo fleet of --demo): nothing to edit")
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)  # plain text: errors come from servers
                item.setToolTip(plain_tooltip(tips[col]))
                self.table.setItem(row, col, item)
            if source.name == selected:
                self.table.selectRow(row)
        self._show_receiver_state()

    # -- the console's receiver --------------------------------------------------------

    def _build_receiver_box(self) -> QGroupBox:
        box = QGroupBox("OpenTelemetry traces received by this console")
        box.setObjectName("receiverBox")
        settings = self.config.receiver
        self.receive_check = QCheckBox("Receive OTLP/HTTP traces (POST /v1/traces)")
        self.receive_check.setObjectName("receiveCheck")
        self.receive_check.setChecked(settings.enabled)
        self.receive_check.setToolTip(
            "Agents in any language send traces here with the OTLP/HTTP exporter; "
            "`countersign worker` runs a receiver of its own")
        self.receive_host = QLineEdit(settings.host)
        self.receive_host.setObjectName("receiveHost")
        self.receive_host.setToolTip("127.0.0.1 keeps it on this machine; any other address "
                                     "lets the network write to the store")
        self.receive_port = QSpinBox()
        self.receive_port.setObjectName("receivePort")
        self.receive_port.setRange(1, 65535)
        self.receive_port.setValue(settings.port)
        self.receive_state = QLabel()
        self.receive_state.setObjectName("receiveState")
        self.receive_state.setTextFormat(Qt.TextFormat.PlainText)
        self.receive_state.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.receive_check, 1)
        row.addWidget(QLabel("Host"))
        row.addWidget(self.receive_host)
        row.addWidget(QLabel("Port"))
        row.addWidget(self.receive_port)
        column = QVBoxLayout(box)
        column.addLayout(row)
        column.addWidget(self.receive_state)
        self.receive_check.toggled.connect(self._receiver_edited)
        self.receive_host.textEdited.connect(self._receiver_edited)
        self.receive_port.valueChanged.connect(self._receiver_edited)
        self._receiver_edited()
        return box

    def receiver_settings(self) -> ReceiverConfig | None:
        """The receiver settings as edited, or None (with the reason shown) if invalid."""
        host = self.receive_host.text().strip()
        if not host:
            return None
        return ReceiverConfig(enabled=self.receive_check.isChecked(), host=host,
                              port=self.receive_port.value())

    def _receiver_edited(self) -> None:
        enabled = self.receive_check.isChecked()
        self.receive_host.setEnabled(enabled)
        self.receive_port.setEnabled(enabled)
        settings = self.receiver_settings()
        if settings is not None and settings != self.config.receiver:
            self.config = with_receiver(self.config, settings)
            self.dirty = True
        self._show_receiver_state()

    def _show_receiver_state(self) -> None:
        settings = self.receiver_settings()
        running = self.receiver.url if self.receiver is not None else None
        if settings is None:
            text = "Enter the host to listen on (127.0.0.1: this machine only)."
        elif self.receiver is None:
            text = "Saved settings take effect when the console next starts."
        elif settings != self.receiver.settings:
            text = "Save to apply: the receiver restarts with these settings."
        elif running is not None:
            text = self.receiver.summary()[1].replace("\n", " · ")
        elif self.receiver.error:
            text = f"Not running: {self.receiver.error}"
        else:
            text = "Not running."
        self.receive_state.setText(text)

    def _apply_receiver(self) -> None:
        if self.receiver is None:
            return
        receiver = self.receiver
        task = asyncio.get_event_loop().create_task(receiver.apply(self.config.receiver))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _task: self._show_receiver_state())

    # -- editing ---------------------------------------------------------------------

    def _names(self) -> set[str]:
        return {s.name for s in self.config.sources}

    def add_source(self) -> SourceForm:
        form = SourceForm(self, existing=None, taken_names=self._names())
        form.accepted.connect(lambda: self._apply(form, None))
        form.open()
        return form

    def _not_in_file(self, name: str | None, what: str) -> bool:
        """Say so when the selected row is a source the file does not hold."""
        if name is None or self._in_file(name):
            return False
        self.message.show_message(f"'{name}' runs because the console was started with it "
                                  f"(--demo); it is not in the configuration file, so there "
                                  f"is nothing to {what}.")
        return True

    def edit_selected(self) -> SourceForm | None:
        name = self.selected_name()
        if name is None:
            self.message.show_message("Select a source in the list to edit it.")
            return None
        existing = next((s for s in self.config.sources if s.name == name), None)
        if existing is None:
            self._not_in_file(name, "edit")
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
            if not self._not_in_file(name, "remove"):
                self.message.show_message("Select a source in the list to remove it.")
            return
        self.config = without_source(self.config, source.name)
        ref = source.settings.get("api_key")
        if isinstance(ref, str) and ref == secrets.REF_PREFIX + source.name:
            # Only the entry this dialog made for the source, and only once saved.
            self._orphaned.add(ref)
        self._changed(f"'{source.name}' removed; Save to keep it")

    def _changed(self, text: str) -> None:
        self.dirty = True
        self.message.show_message(text)
        self.refresh()

    def save(self) -> bool:
        try:
            save_config(self.config_path, self.config)
        except (OSError, ConfigWriteError) as exc:
            self.message.show_message(f"Not saved: {exc}", failed=True)
            return False
        still_used = {s.settings.get("api_key") for s in self.config.sources}
        for ref in self._orphaned - still_used:
            with contextlib.suppress(secrets.SecretError):
                secrets.delete_secret(ref)
        self._orphaned.clear()
        self.dirty = False
        self.message.show_message(f"Saved to {self.config_path}; running sources change "
                                  "on the next start")
        self._apply_receiver()
        self.saved.emit(self.config_path)
        return True

    # -- test connection -------------------------------------------------------------

    def test_selected(self) -> asyncio.Task[Any] | None:
        """Check the selected source's connection off the GUI's critical path; with no
        row selected, say what to do."""
        name = self.selected_name()
        source = next((s for s in self.sources() if s.name == name), None)
        if source is None:
            self.message.show_message(
                "Select a source in the list, then press Test connection." if self.sources()
                else "There is no source to test yet: add one with Add… first.")
            return None
        self.message.show_message(f"Testing '{source.name}'…")
        self.buttons["test"].setEnabled(False)
        task = asyncio.get_event_loop().create_task(self._test(source))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _test(self, source: SourceConfig) -> None:
        from countersign.plugin_host.check import check_source

        try:
            result = await check_source(source, timeout=10.0)
        finally:
            self.buttons["test"].setEnabled(True)
        words = result.summary or result.detail
        if result.ok:
            text = f"'{source.name}' works: {words}"
        else:
            text = f"Testing '{source.name}' failed. {words}"
        self._tests[source.name] = "" if result.ok else result.detail
        self.message.show_message(one_line(text, 500), result.detail, failed=not result.ok)
        self.refresh()
        self.tested.emit(source.name, result.ok, result.detail)

    # -- closing ---------------------------------------------------------------------

    def closeEvent(self, event: Any) -> None:
        if self.dirty and QMessageBox.question(
                self, "Connections", "Save the changed connections?",
                QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard,
        ) == QMessageBox.StandardButton.Save and not self.save():
            event.ignore()
            return
        self._timer.stop()
        for task in self._tasks:
            task.cancel()
        super().closeEvent(event)


def open_connections_dialog(parent: QWidget | None, config_path: Path | None,
                            runtime: Runtime | None = None,
                            receiver: ConsoleReceiver | None = None,
                            started: Sequence[SourceConfig] = ()) -> ConnectionsDialog:
    """Open the dialog (window-modal, non-blocking) on ``config_path`` (default: the
    user's configuration file) and return it; ``started`` are the sources the console
    runs that the file does not list."""
    from countersign.config import default_config_path

    dialog = ConnectionsDialog(parent, config_path or default_config_path(), runtime, receiver,
                               started)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
