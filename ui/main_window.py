"""The console's main window: a workspace switcher on the left (Queue, Traces), the
menus generated from the command table, and a status bar that says which store is open,
how much is pending, how the sources are doing, and the last error."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QToolBar,
    QWidget,
)

from .queue.workspace import QueueWorkspace
from .shortcuts import CommandTable, ShortcutsDialog
from .stall_monitor import FrameStallMonitor
from .traces import TracesWorkspace

if TYPE_CHECKING:
    from countersign.runtime import SourceHealth
    from countersign.session import Services

    from .async_work import BackgroundWork
    from .receiver import ConsoleReceiver

DEFAULT_SIZE = QSize(1440, 900)
_ERROR_STYLE = "color:#b91c1c;"


def _status_label(name: str, tip: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setToolTip(tip)
    label.setContentsMargins(8, 0, 8, 0)
    return label


class MainWindow(QMainWindow):
    """See the module docstring. The store is attached after the window is shown, so
    the window appears before the (possibly slow) store has been opened."""

    # Signals
    #: The window is closing: the application stops the runtime and its tasks.
    closing = Signal()

    def __init__(self, work: BackgroundWork, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Countersign")
        self.resize(DEFAULT_SIZE)
        self.work = work
        self.commands = CommandTable(self)
        self.commands.populate(self.menuBar())
        self._stack = QStackedWidget(self)
        self.setCentralWidget(self._stack)
        self._switcher = QToolBar("Workspaces", self)
        self._switcher.setObjectName("workspaceSwitcher")
        self._switcher.setMovable(False)
        self._switcher.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self._switcher.setStyleSheet(
            "#workspaceSwitcher { spacing: 2px; padding: 4px 2px; }"
            "#workspaceSwitcher QToolButton { padding: 6px 10px; min-width: 52px; }"
            "#workspaceSwitcher QToolButton:checked { background: #dbeafe; color: #1e3a8a;"
            " border: 1px solid #93c5fd; border-radius: 4px; font-weight: bold; }")
        self.addToolBar(Qt.ToolBarArea.LeftToolBarArea, self._switcher)
        self._workspaces = QActionGroup(self)
        self._workspaces.setExclusive(True)
        self.queue = QueueWorkspace(self.commands, work, parent=self)
        self.add_workspace(self.queue, self.commands["go.queue"])
        self.traces = TracesWorkspace(work, parent=self)
        self.add_workspace(self.traces, self.commands["go.traces"])
        self.traces.errorOccurred.connect(self.show_error)
        self._build_status_bar()
        self.queue.pendingChanged.connect(self._pending_changed)
        self.queue.errorOccurred.connect(self.show_error)
        self.queue.notice.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.commands["file.quit"].triggered.connect(self.close)
        self.commands["file.connections"].triggered.connect(self.show_connections)
        self.commands["help.shortcuts"].triggered.connect(self.show_shortcuts)
        self.commands["help.about"].triggered.connect(self.show_about)
        self.stall_monitor = FrameStallMonitor(self)
        # Started by the event loop, so building the window is not counted as a stall.
        QTimer.singleShot(0, self.stall_monitor.start)
        self._health: dict[str, str] = {}
        #: The core, opened by the session (`countersign.session.open_services`) after
        #: the window is shown; None until then.
        self.services: Services | None = None
        #: The console's own OTLP receiver (set by the session once the store is open).
        self.receiver: ConsoleReceiver | None = None
        self._receiver_timer = QTimer(self)
        self._receiver_timer.setInterval(1000)
        self._receiver_timer.timeout.connect(self._receiver_changed)

    # -- workspaces --------------------------------------------------------------------

    def add_workspace(self, widget: QWidget, action: QAction) -> None:
        """Add a page to the switcher, shown by ``action`` (a checkable command of the
        table, e.g. ``go.queue``; the Traces workspace will come this way)."""
        self._stack.addWidget(widget)
        action.triggered.connect(lambda: self._stack.setCurrentWidget(widget))
        self._workspaces.addAction(action)
        self._switcher.addAction(action)
        if self._stack.count() == 1:
            action.setChecked(True)

    # -- the core ----------------------------------------------------------------------

    def attach(self, services: Services) -> None:
        """Show what ``services`` hold: each workspace gets the bundle and reads what it
        needs off the GUI thread. The window builds nothing of the core itself."""
        self.services = services
        where = services.store_description
        self.store_label.setText(where)
        self.store_label.setToolTip(f"Store: {where}")
        self.queue.attach(services)
        self.traces.attach(services.traces)
        self.queue.focus_list()

    def set_source_health(self, health: SourceHealth) -> None:
        """Called by the runtime whenever a source's status changes."""
        text = health.status.value
        if health.last_error:
            text += f" ({health.last_error})"
            self.show_error(f"{health.name}: {health.last_error}")
        self._health[health.name] = f"{health.name}: {health.status.value}"
        self.health_label.setText(" · ".join(self._health.values()))
        self.health_label.setToolTip("\n".join(f"{name}: {text}" for name in self._health))

    def attach_receiver(self, receiver: ConsoleReceiver) -> None:
        """Show the console's OTLP receiver in the status bar (counts once a second)."""
        self.receiver = receiver
        receiver.changed.connect(self._receiver_changed)
        self._receiver_changed()

    def _receiver_changed(self) -> None:
        if self.receiver is None:
            return
        text, tip = self.receiver.summary()
        self.receiver_label.setText(text)
        self.receiver_label.setToolTip(tip)
        self.receiver_label.setVisible(bool(text))
        self.receiver_label.setStyleSheet(_ERROR_STYLE if self.receiver.error else "")
        if self.receiver.url is not None:
            self._receiver_timer.start()
        else:
            self._receiver_timer.stop()

    def set_sources_none(self) -> None:
        self.health_label.setText("no sources (gate SDK and CLI only)")

    def show_error(self, text: str) -> None:
        """The last error, one line in the status bar (full text in the tooltip)."""
        first = text.strip().splitlines()[0] if text.strip() else text
        self.error_label.setText(first if len(first) <= 90 else first[:89] + "…")
        self.error_label.setToolTip(text)
        self.error_label.show()

    # -- status bar --------------------------------------------------------------------

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.error_label = _status_label("lastError", "The last error")
        self.error_label.setStyleSheet(_ERROR_STYLE)
        self.error_label.hide()
        self.pending_label = _status_label("pendingCount", "Pending actions in the store")
        self.pending_label.setText("…")
        self.health_label = _status_label("sourceHealth", "Sources and their status")
        self.receiver_label = _status_label("otlpReceiver", "The console's OTLP receiver")
        self.receiver_label.hide()
        self.store_label = _status_label("storeUrl", "The store this console reads")
        self.store_label.setText("opening the store…")
        for label in (self.error_label, self.pending_label, self.health_label,
                      self.receiver_label, self.store_label):
            bar.addPermanentWidget(label)

    def _pending_changed(self, total: int) -> None:
        self.pending_label.setText(f"{total:,} pending")

    # -- help --------------------------------------------------------------------------

    def show_connections(self) -> None:
        from .connections import open_connections_dialog

        services = self.services
        open_connections_dialog(self, services.config_path if services else None,
                                services.runtime if services else None, self.receiver)

    def show_shortcuts(self) -> None:
        dialog = ShortcutsDialog(self.commands, self)
        dialog.setObjectName("shortcutsDialog")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def show_about(self) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("countersign")
        except PackageNotFoundError:
            number = "development"
        box = QMessageBox(QMessageBox.Icon.Information, "About Countersign",
                          f"Countersign {number}\n\nReview what AI agents want to do before "
                          "they do it.", QMessageBox.StandardButton.Ok, self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # -- closing -----------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop the feed and the stall monitor (idempotent)."""
        self.queue.shutdown()
        self.stall_monitor.stop()
        self._receiver_timer.stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        self.closing.emit()
        super().closeEvent(event)
