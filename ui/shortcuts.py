"""The one table of the console's commands, their shortcuts, and the cheatsheet.

Every command the user can give is a `QAction` built from a `Command` row: the
window's own (`WINDOW_COMMANDS`: File and Help) and each workspace's (its ``go.*``
command and the commands it owns, collected by ``countersign_ui.workspaces``). Menus,
toolbar buttons, tooltips and the keyboard cheatsheet are all generated from those
actions, so a shortcut cannot exist without being discoverable (menu + tooltip +
cheatsheet).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from .qt.core import QObject, Qt
from .qt.gui import QAction, QKeySequence, QShortcut
from .qt.widgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QMenu,
    QMenuBar,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from .widgets.text import plain_tooltip


@dataclass(frozen=True)
class Command:
    """One row of the table: a command, where it lives, and its keys."""

    name: str
    text: str
    menu: str
    keys: tuple[str, ...] = ()
    tip: str = ""
    checkable: bool = False
    checked: bool = False
    #: Put a separator in the menu before this command.
    separator: bool = False
    #: The same keys as typed on some keyboards (``Shift+?``): they work but are not
    #: listed, so the cheatsheet reads as people think of the keys.
    aliases: tuple[str, ...] = ()


#: The window's own commands; workspaces bring theirs (``countersign_ui.workspaces``).
WINDOW_COMMANDS: tuple[Command, ...] = (
    Command("file.connections", "&Connections…", "&File", ("Ctrl+Shift+O",),
            "Add, edit, test and remove the sources agents' actions come from"),
    Command("file.quit", "&Quit", "&File", ("Ctrl+Q",), "Quit the console", separator=True),
    Command("help.shortcuts", "&Keyboard shortcuts", "&Help", ("?", "F1"),
            "List every command and its keys", aliases=("Shift+?",)),
    Command("help.about", "&About Countersign", "&Help", (), "Version and licence",
            separator=True),
)


def menu_order(commands: Iterable[Command]) -> list[str]:
    """The menu bar's menus: File first, then the workspaces' own menus in the order
    their commands come, then Go and Help."""
    last = ("&Go", "&Help")
    middle: list[str] = []
    for command in commands:
        if command.menu != "&File" and command.menu not in last and \
                command.menu not in middle:
            middle.append(command.menu)
    return ["&File", *middle, *last]


def _key_text(action: QAction) -> str:
    return ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText)
                     for k in action.shortcuts())


def plain_text(action: QAction) -> str:
    """The action's text without mnemonics or ellipsis, for lists and tooltips."""
    return action.text().replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…")


class CommandTable:
    """The `QAction` of every command in `COMMANDS`, parented to the main window."""

    def __init__(self, parent: QObject | None, commands: Sequence[Command]) -> None:
        self._commands = list(commands)
        self._actions: dict[str, QAction] = {}
        for command in self._commands:
            action = QAction(command.text, parent)
            action.setObjectName(command.name)
            action.setShortcuts([QKeySequence(k) for k in command.keys])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.setCheckable(command.checkable)
            if command.checkable:
                action.setChecked(command.checked)
            action.setStatusTip(command.tip)
            keys = _key_text(action)
            label = plain_text(action)
            action.setToolTip(plain_tooltip(f"{label} ({keys})" if keys else label))
            if command.name == "file.quit":
                action.setMenuRole(QAction.MenuRole.QuitRole)
            elif command.name == "help.about":
                action.setMenuRole(QAction.MenuRole.AboutRole)
            self._actions[command.name] = action
            if isinstance(parent, QWidget):
                for keys in command.aliases:
                    alias = QShortcut(QKeySequence(keys), parent)
                    alias.activated.connect(action.trigger)

    def __getitem__(self, name: str) -> QAction:
        return self._actions[name]

    def __iter__(self) -> Iterator[tuple[Command, QAction]]:
        for command in self._commands:
            yield command, self._actions[command.name]

    def populate(self, menubar: QMenuBar) -> dict[str, QMenu]:
        """One menu per title of `menu_order`, its commands in table order."""
        menus: dict[str, QMenu] = {}
        for title in menu_order(self._commands):
            menu = menus[title] = menubar.addMenu(title)
            menu.setToolTipsVisible(True)
            for command, action in self:
                if command.menu != title:
                    continue
                if command.separator:
                    menu.addSeparator()
                menu.addAction(action)
        return menus


class ShortcutsDialog(QDialog):
    """The cheatsheet: every command with its keys, read from the live QActions (so a
    shortcut changed at run time is listed as it is)."""

    def __init__(self, table: CommandTable, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = [(c.menu.replace("&", ""), plain_text(a), _key_text(a), a.statusTip())
                for c, a in table]
        self.table = QTableWidget(len(rows), 4, self)
        self.table.setHorizontalHeaderLabels(["Menu", "Command", "Keys", "What it does"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                if c == 2:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(r, c, item)
        header = self.table.horizontalHeader()
        for c in range(3):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        note = QLabel("In the filter box, letters type text: Esc or Enter returns to the "
                      "list, where single-letter keys work again.", self)
        note.setTextFormat(Qt.TextFormat.PlainText)
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(note)
        layout.addWidget(buttons)
        rows_height = sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
        self.resize(760, min(720, rows_height + header.height() + 110))

    def listed(self) -> list[tuple[str, str]]:
        """(command, keys) as shown — for tests."""
        def text(row: int, column: int) -> str:
            item = self.table.item(row, column)
            return item.text() if item is not None else ""

        return [(text(r, 1), text(r, 2)) for r in range(self.table.rowCount())]
