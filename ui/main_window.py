"""The console's main window: a switcher on the left for the registered workspaces
(`countersign_ui.workspaces.WORKSPACES`), the menus generated from the command table,
and a status bar that says which store is open, each workspace's summary ("12
pending"), how the sources are doing, and the last error.

The window hard-wires no workspace: it builds each registered one, shows one at a
time (telling each when it comes on and off screen, so only the shown one's commands
act), and hands every one the opened core through `attach`."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, TypeVar

from .elided_label import ElidedLabel, elide_at_word
from .palette import Palette, application_palette_changed, restyle, text_style
from .qt.core import QEvent, QSize, Qt, QTimer, Signal
from .qt.gui import QActionGroup, QCloseEvent
from .qt.widgets import (
    QLabel,
    QMainWindow,
    QSizePolicy,
    QStackedWidget,
    QToolBar,
    QWidget,
)
from .shortcuts import CommandTable, ShortcutsDialog
from .stall_monitor import FrameStallMonitor
from .widgets.text import plain_tooltip
from .workspace import Workspace
from .workspaces import WORKSPACES, window_commands

if TYPE_CHECKING:
    from countersign.runtime import SourceHealth
    from countersign.session import Services

    from .about import AboutDialog
    from .async_work import BackgroundWork
    from .connections import ConnectionsDialog
    from .receiver import ConsoleReceiver

W = TypeVar("W", bound=Workspace)

DEFAULT_SIZE = QSize(1440, 900)
#: The widest the store's path gets in the status bar (its middle is left out).
STORE_WIDTH = 300


def _switcher_style(palette: Palette) -> str:
    selected = palette.selection
    return ("#workspaceSwitcher { spacing: 2px; padding: 4px 2px; }"
            "#workspaceSwitcher QToolButton { padding: 6px 10px; min-width: 52px; }"
            f"#workspaceSwitcher QToolButton:checked {{ background: {selected.background};"
            f" color: {selected.text}; border: 1px solid {selected.border};"
            " border-radius: 4px; font-weight: bold; }")


def _error_style(palette: Palette) -> str:
    return text_style("QLabel", palette.error)


def _status_label(name: str, tip: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setToolTip(plain_tooltip(tip))
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
        self.commands = CommandTable(self, window_commands(WORKSPACES))
        self._menus = self.commands.populate(self.menuBar())
        self._stack = QStackedWidget(self)
        self.setCentralWidget(self._stack)
        self._switcher = QToolBar("Workspaces", self)
        self._switcher.setObjectName("workspaceSwitcher")
        self._switcher.setMovable(False)
        self._switcher.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        restyle(self._switcher, _switcher_style)
        self.addToolBar(Qt.ToolBarArea.LeftToolBarArea, self._switcher)
        self._go_group = QActionGroup(self)
        self._go_group.setExclusive(True)
        self._build_status_bar()
        #: The registered workspaces, in switcher order.
        self.workspaces: list[Workspace] = [
            self._add_workspace(kind(self.commands, work, self)) for kind in WORKSPACES]
        self._current: Workspace | None = None
        for workspace in self.workspaces:
            workspace.set_active(False)  # every workspace's commands off…
        self.show_workspace(self.workspaces[0])  # …until it is shown
        self.commands["file.quit"].triggered.connect(self.close)
        self.commands["file.connections"].triggered.connect(self.show_connections)
        self.commands["help.shortcuts"].triggered.connect(self.show_shortcuts)
        self.commands["help.about"].triggered.connect(self.show_about)
        self.stall_monitor = FrameStallMonitor(self)
        # Started by the event loop, so building the window is not counted as a stall.
        QTimer.singleShot(0, self.stall_monitor.start)
        self._health: dict[str, str] = {}
        self._health_tips: dict[str, str] = {}
        #: The core, opened by the session (`countersign.session.open_services`) after
        #: the window is shown; None until then.
        self.services: Services | None = None
        #: The console's own OTLP receiver (set by the session once the store is open).
        self.receiver: ConsoleReceiver | None = None
        self._receiver_timer = QTimer(self)
        self._receiver_timer.setInterval(1000)
        self._receiver_timer.timeout.connect(self._receiver_changed)
        #: The About box while it is open (it reads the audit head off the GUI thread).
        self.about_box: AboutDialog | None = None

    # -- workspaces --------------------------------------------------------------------

    def _add_workspace(self, workspace: Workspace) -> Workspace:
        """A page of the stack, its ``go.*`` command in the switcher, its signals to
        the status bar, and a status-bar label for its summary."""
        self._stack.addWidget(workspace)
        go = self.commands[workspace.go_command().name]
        go.triggered.connect(functools.partial(self.show_workspace, workspace))
        self._go_group.addAction(go)
        self._switcher.addAction(go)
        workspace.errorOccurred.connect(self.show_error)
        workspace.notice.connect(self.show_notice)
        label = _status_label(f"{workspace.name}Summary", workspace.summary_tip)
        self.summary_labels[workspace.name] = label
        self.statusBar().insertPermanentWidget(len(self.summary_labels), label)

        def show_summary(text: str) -> None:
            label.setText(text)
            label.setVisible(bool(text))

        workspace.summaryChanged.connect(show_summary)
        show_summary(workspace.summary)
        return workspace

    def workspace(self, kind: type[W]) -> W:
        """The window's workspace of class ``kind`` (`LookupError` if not registered)."""
        for workspace in self.workspaces:
            if isinstance(workspace, kind):
                return workspace
        raise LookupError(f"no {kind.__name__} in this window")

    @property
    def current_workspace(self) -> Workspace | None:
        return self._current

    def show_workspace(self, workspace: Workspace, _checked: bool = False) -> None:
        """Put ``workspace`` on screen: the previous one's commands and menus go off
        first, then this one's come on."""
        previous = self._current
        if previous is workspace:
            return
        self._current = workspace
        if previous is not None:
            previous.set_active(False)
        # A stack is as wide as its widest page; pages off screen must not hold the
        # window wider than the one shown needs (Ignored: their minimum is not asked).
        for page in self.workspaces:
            policy = (QSizePolicy.Policy.Preferred if page is workspace
                      else QSizePolicy.Policy.Ignored)
            page.setSizePolicy(policy, policy)
        self._stack.setCurrentWidget(workspace)
        self.commands[workspace.go_command().name].setChecked(True)
        for title, menu in self._menus.items():
            owner = self._menu_owner(title)
            if owner is not None:
                menu.menuAction().setEnabled(owner is workspace)
        workspace.set_active(True)

    def _menu_owner(self, title: str) -> Workspace | None:
        """The workspace whose commands fill menu ``title`` alone, if one does."""
        owners = {w for w in self.workspaces for c in w.commands if c.menu == title}
        shared = any(c.menu == title for c, _action in self.commands
                     if not any(c in w.commands for w in self.workspaces))
        return next(iter(owners)) if len(owners) == 1 and not shared else None

    # -- the core ----------------------------------------------------------------------

    def attach(self, services: Services) -> None:
        """Show what ``services`` hold: each workspace gets the bundle and reads what it
        needs off the GUI thread. The window builds nothing of the core itself."""
        self.services = services
        where = services.store_description
        self.store_label.set_full_text(where, f"Store: {where}")
        for workspace in self.workspaces:
            workspace.attach(services)

    def set_source_health(self, health: SourceHealth) -> None:
        """Called by the runtime whenever a source's status changes: its status in the
        health label; its error, in words, in the error label (the technical text in
        the tooltips)."""
        from countersign.plugin_host.failures import explain

        text = health.status.value
        if health.last_error:
            failure = explain(health.last_error, where=self._source_url(health.name))
            text += f": {failure.summary} (details: {failure.detail})"
            self.show_error(f"{health.name}: {failure.summary}", detail=failure.detail)
        self._health[health.name] = f"{health.name}: {health.status.value}"
        self._health_tips[health.name] = f"{health.name}: {text}"
        self.health_label.setText(" · ".join(self._health.values()))
        self.health_label.setToolTip(plain_tooltip("\n".join(self._health_tips.values())))

    def _source_url(self, name: str) -> str | None:
        services = self.services
        found = next((s for s in services.config.sources if s.name == name),
                     None) if services is not None else None
        url = found.settings.get("url") if found is not None else None
        return url if isinstance(url, str) and url else None

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
        self.receiver_label.setToolTip(plain_tooltip(tip))
        self.receiver_label.setVisible(bool(text))
        failed = bool(self.receiver.error)
        restyle(self.receiver_label, lambda p: _error_style(p) if failed else "")
        if self.receiver.url is not None:
            self._receiver_timer.start()
        else:
            self._receiver_timer.stop()

    def set_sources_none(self) -> None:
        self.health_label.setText("no sources (gate SDK and CLI only)")

    def show_notice(self, text: str, timeout_ms: int = 6000) -> None:
        """A short confirmation in the status bar for a few seconds, cut at a word when
        the bar has no room for all of it (the whole text is the bar's tooltip meanwhile)."""
        bar = self.statusBar()
        layout = bar.layout()
        if layout is not None:
            layout.activate()  # a label just shown (an error) has its place now
        widgets = [w for w in bar.findChildren(QWidget, options=Qt.FindChildOption
                                                .FindDirectChildrenOnly) if w.isVisible()]
        room = min((w.geometry().left() for w in widgets), default=bar.width()) - 16
        metrics = bar.fontMetrics()
        shown = elide_at_word(text, lambda s: metrics.horizontalAdvance(s) <= room)
        bar.setToolTip(plain_tooltip(text) if shown != text else "")
        bar.showMessage(shown, timeout_ms)

    def _notice_gone(self, message: str) -> None:
        if not message:
            self.statusBar().setToolTip("")

    def show_error(self, text: str, *, detail: str = "") -> None:
        """The last error in the status bar: one line, cut at a word to fit; the whole
        text (and ``detail``, the technical text behind it) in its tooltip."""
        tip = f"{text}\n\nDetails: {detail}" if detail and detail != text else text
        self.error_label.set_full_text(text, tip)
        self.error_label.show()

    # -- status bar --------------------------------------------------------------------

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.messageChanged.connect(self._notice_gone)
        self.error_label = ElidedLabel()
        self.error_label.setObjectName("lastError")
        self.error_label.setContentsMargins(8, 0, 8, 0)
        restyle(self.error_label, _error_style)
        self.error_label.hide()
        #: Each workspace's summary label (by workspace name), after the error.
        self.summary_labels: dict[str, QLabel] = {}
        self.health_label = _status_label("sourceHealth", "Sources and their status")
        self.receiver_label = _status_label("otlpReceiver", "The console's OTLP receiver")
        self.receiver_label.hide()
        #: A long path or URL leaves out its middle; the whole of it is in the tooltip.
        self.store_label = ElidedLabel(middle=True, widest=STORE_WIDTH)
        self.store_label.setObjectName("storeUrl")
        self.store_label.setContentsMargins(8, 0, 8, 0)
        self.store_label.set_full_text("opening the store…", "The store this console reads")
        for label in (self.error_label, self.health_label, self.receiver_label,
                      self.store_label):
            bar.addPermanentWidget(label)

    # -- help --------------------------------------------------------------------------

    def show_connections(self) -> ConnectionsDialog:
        """The Connections dialog, listing besides the file's sources those this console
        runs on its own (the demo fleet of ``--demo``)."""
        from .connections import open_connections_dialog

        services = self.services
        runtime = services.runtime if services else None
        started = []
        if services is not None and runtime is not None:
            listed = {s.name for s in services.config.sources}
            running = set(runtime.health)
            started = [c for c in services.source_configs(demo="demo" in running)
                       if c.name in running and c.name not in listed]
        return open_connections_dialog(self, services.config_path if services else None,
                                       runtime, self.receiver, started)

    def show_shortcuts(self) -> None:
        dialog = ShortcutsDialog(self.commands, self)
        dialog.setObjectName("shortcutsDialog")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def show_about(self) -> AboutDialog:
        """Help → About: the version and the audit log's head (read off the GUI thread)."""
        from .about import AboutDialog

        services = self.services
        box = AboutDialog(self, services.store_description if services else "not open yet")
        self.about_box = box
        box.finished.connect(lambda _result: self._about_closed(box))
        box.read_head(self.work, services.store if services else None)
        box.open()
        return box

    def _about_closed(self, box: AboutDialog) -> None:
        if self.about_box is box:
            self.about_box = None

    # -- closing -----------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop the workspaces' feeds and timers and the stall monitor (idempotent)."""
        for workspace in self.workspaces:
            workspace.shutdown()
        self.stall_monitor.stop()
        self._receiver_timer.stop()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ApplicationPaletteChange:
            # The desktop switched between light and dark: every colour follows.
            application_palette_changed()
        return super().event(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        self.closing.emit()
        super().closeEvent(event)
