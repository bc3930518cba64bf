"""What a workspace is to the main window: the one interface Queue, Traces, and the
workspaces to come (Review, Autonomy) implement.

A workspace is a page of the window with its own commands. The window knows nothing
of what is on a page: it builds the command table from the registry
(`countersign_ui.workspaces.WORKSPACES`), adds each page to the switcher and the Go
menu, hands every page the opened core (`attach`), routes its `errorOccurred`,
`notice` and `summaryChanged` to the status bar, and tells it when it comes on and
off screen (`set_active`). A workspace's commands act only while it is on screen:
the verdict keys must never decide the Queue's hidden selection while another
workspace is shown.

How to add a workspace (Review, say):

1. Make a folder ``ui/review/`` (and add ``countersign_ui.review`` to the packages
   listed in pyproject.toml). In it, subclass `Workspace`::

       class ReviewWorkspace(Workspace):
           name = "review"              # object names, and the command go.review
           title = "Review"             # the switcher, the Go menu
           key = "Ctrl+3"               # shows it (unique among workspaces)
           tip = "Show the Review workspace: label sampled runs"
           commands = (Command("label.correct", "&Correct", "&Label", ("C",), "…"),)

           def attach(self, services: Services) -> None: ...

   Its ``commands`` are added to the window's menus (a menu holding only this
   workspace's commands is disabled while it is off screen) and enabled only while
   it is on screen; narrow that further with `command_enabled` and call
   `update_commands` when the answer changes. Read the store off the GUI thread
   (``self.work``), emit `errorOccurred` for failures, stop timers and feeds in
   `shutdown`.
2. Add the class to ``WORKSPACES`` in ``ui/workspaces.py``: the order there is the
   order of the switcher and of the Go menu.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from .qt.core import Signal
from .qt.gui import QAction
from .qt.widgets import QWidget
from .shortcuts import Command, CommandTable

if TYPE_CHECKING:
    from countersign.session import Services

    from .async_work import BackgroundWork


class Workspace(QWidget):
    """One page of the main window (see the module docstring for how to add one).

    Subclasses set the class attributes and implement `attach`; the other hooks have
    defaults that do nothing.
    """

    # Signals
    #: A failure to show in the status bar, one line (the full text in its tooltip).
    errorOccurred = Signal(str)
    #: A short confirmation for the status bar ("Approved: billing-bot · refund").
    notice = Signal(str)
    #: The workspace's permanent status-bar text ("12 pending"); "" hides it.
    summaryChanged = Signal(str)

    #: A short lower-case name: object names and the ``go.<name>`` command.
    name: ClassVar[str]
    #: What the switcher and the Go menu call it.
    title: ClassVar[str]
    #: The key that shows it (``Ctrl+1``…), unique among the registered workspaces.
    key: ClassVar[str]
    #: What it is for, one sentence (the Go menu's status tip, the cheatsheet).
    tip: ClassVar[str]
    #: The commands it owns: in the window's menus, acting only while it is shown.
    commands: ClassVar[tuple[Command, ...]] = ()
    #: What its status-bar summary means (the label's tooltip).
    summary_tip: ClassVar[str] = ""

    def __init__(self, table: CommandTable, work: BackgroundWork,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"{self.name}Workspace")
        self.command_table = table
        self.work = work
        self._active = False
        self._summary = ""

    @classmethod
    def go_command(cls) -> Command:
        """The Go-menu command that shows this workspace (``go.<name>``, `key`)."""
        return Command(f"go.{cls.name}", f"&{cls.title}", "&Go", (cls.key,), cls.tip,
                       checkable=True)

    # -- the window calls these ---------------------------------------------------------

    def attach(self, services: Services) -> None:
        """Start showing what the core holds (read it off the GUI thread)."""
        raise NotImplementedError(f"{type(self).__name__} must implement attach()")

    def shutdown(self) -> None:
        """Stop timers, feeds and pending reads: the window is closing (idempotent)."""

    def set_active(self, active: bool) -> None:
        """The window shows this workspace (True) or another one (False)."""
        changed = active != self._active
        self._active = active
        self.update_commands()
        if changed:
            if active:
                self.activated()
            else:
                self.deactivated()

    # -- hooks for subclasses -----------------------------------------------------------

    def activated(self) -> None:
        """Now on screen (after its commands were enabled): e.g. focus, read if stale."""

    def deactivated(self) -> None:
        """Now off screen (its commands already disabled)."""

    def command_enabled(self, name: str) -> bool:
        """Whether an owned command can act now, the workspace being on screen."""
        return True

    # -- for subclasses and the window --------------------------------------------------

    @property
    def is_active(self) -> bool:
        """Whether the window is showing this workspace."""
        return self._active

    @property
    def summary(self) -> str:
        return self._summary

    def set_summary(self, text: str) -> None:
        self._summary = text
        self.summaryChanged.emit(text)

    def action(self, name: str) -> QAction:
        """The `QAction` of one of the workspace's own commands (or a window command)."""
        return self.command_table[name]

    def update_commands(self) -> None:
        """Enable each owned command that can act now; all are disabled off screen."""
        for command in self.commands:
            self.command_table[command.name].setEnabled(
                self._active and self.command_enabled(command.name))
