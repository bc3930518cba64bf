"""Parsed JSON as a tree an operator can read: Key | Value | Type.

The model is built lazily: a node exists only once a view asks for it, and a
container shows its members `CHUNK` at a time (`canFetchMore` / `fetchMore`), so a
megabyte of arguments, a 50,000-element list or nesting 200 deep opens at once.
Cells never hold a long text: strings are cut with `countersign.text.one_line`, hidden
and bidirectional characters are turned into visible ``⟦…⟧`` markers, and the whole
value is one double-click away in a plain-text viewer.
"""

from __future__ import annotations

import json
from typing import Any

from countersign.text import has_hidden, one_line

from .palette import colours, qcolor, restyle
from .qt.core import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    Qt,
)
from .qt.gui import QGuiApplication, QResizeEvent
from .qt.widgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QMenu,
    QStackedWidget,
    QTreeView,
    QVBoxLayout,
    QWidget,
)
from .widgets.diff import escape_hidden, readable_json
from .widgets.text import PlainTextView, TextViewerDialog, plain_tooltip

KEY_COLUMN, VALUE_COLUMN, TYPE_COLUMN = range(3)
_HEADERS = ("Key", "Value", "Type")

#: The node's JSON path (``$.refund.items[3]``), as text.
PATH_ROLE = Qt.ItemDataRole.UserRole + 1
#: The node's parsed value (dict, list, str, int, float, bool or None).
VALUE_ROLE = Qt.ItemDataRole.UserRole + 2
#: True when the key or value holds hidden or bidirectional characters.
HIDDEN_ROLE = Qt.ItemDataRole.UserRole + 3

#: Characters of a string shown in a cell; the rest is behind "View whole value".
CELL_CHARS = 300
#: Members of a container added per `fetchMore`.
CHUNK = 500
_Index = QModelIndex | QPersistentModelIndex
# Built once: combining flag enums costs microseconds, and views ask per cell.
_BRANCH_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_LEAF_FLAGS = _BRANCH_FLAGS | Qt.ItemFlag.ItemNeverHasChildren


def child_path(path: str, key: str | int) -> str:
    """JSON path of a member, written like `countersign.jsonio` writes repair paths."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if key.isidentifier():
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def type_name(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string" if len(value) <= CELL_CHARS else f"string · {len(value):,} chars"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


class _Node:
    """One member of the JSON value; children are created when first asked for."""

    __slots__ = ("_keys", "_texts", "children", "key", "loaded", "parent", "path", "row",
                 "size", "value")

    def __init__(self, parent: _Node | None, row: int, key: str | int | None, value: Any,
                 path: str) -> None:
        self.parent = parent
        self.row = row
        self.key = key
        self.value = value
        self.path = path
        self.size = len(value) if isinstance(value, dict | list) else 0
        #: How many children the model has announced so far (grows by `CHUNK`).
        self.loaded = min(self.size, CHUNK)
        self.children: dict[int, _Node] = {}
        self._keys: list[str] | None = None
        #: (key text, value text, has hidden characters), computed on first display.
        self._texts: tuple[str, str, bool] | None = None

    def child(self, row: int) -> _Node:
        node = self.children.get(row)
        if node is None:
            if isinstance(self.value, dict):
                if self._keys is None:
                    self._keys = list(self.value)
                key: str | int = self._keys[row]
                node = _Node(self, row, key, self.value[key], child_path(self.path, key))
            else:
                node = _Node(self, row, row, self.value[row], child_path(self.path, row))
            self.children[row] = node
        return node

    def texts(self) -> tuple[str, str, bool]:
        if self._texts is None:
            key = self.key
            key_text = "$" if key is None else f"[{key}]" if isinstance(key, int) else one_line(
                key, CELL_CHARS)
            value = self.value
            hidden = isinstance(key, str) and has_hidden(key)
            if isinstance(value, dict):
                value_text = f"{{{self.size:,} {'key' if self.size == 1 else 'keys'}}}"
            elif isinstance(value, list):
                value_text = f"[{self.size:,} {'item' if self.size == 1 else 'items'}]"
            elif isinstance(value, str):
                value_text = one_line(value, CELL_CHARS)
                hidden = hidden or has_hidden(value)
            else:
                value_text = json.dumps(value)
            self._texts = (key_text, value_text, hidden)
        return self._texts


class JsonTreeModel(QAbstractItemModel):
    """A read-only, lazily built item model over one parsed JSON value."""

    def __init__(self, value: Any = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._root = self._make_root(value)

    @staticmethod
    def _make_root(value: Any) -> _Node:
        # A container's members are the top-level rows; a scalar or an empty container
        # is one row named "$", so the view never looks blank.
        if isinstance(value, dict | list) and value:
            return _Node(None, 0, None, value, "$")
        root = _Node(None, 0, None, [value], "$")
        root.children[0] = _Node(root, 0, None, value, "$")
        return root

    def set_value(self, value: Any) -> None:
        """Show another value (a reset: the whole tree changes)."""
        self.beginResetModel()
        self._root = self._make_root(value)
        self.endResetModel()

    def _node(self, index: _Index) -> _Node:
        if not index.isValid():
            return self._root
        node: _Node = index.internalPointer()
        return node

    # --- structure -------------------------------------------------------------------
    def index(self, row: int, column: int, parent: _Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        return self.createIndex(row, column, self._node(parent).child(row))

    def parent(self, index: _Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid():
            return QModelIndex()
        up = self._node(index).parent
        if up is None or up is self._root:
            return QModelIndex()
        return self.createIndex(up.row, 0, up)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        if parent.column() > 0:
            return 0
        return self._node(parent).loaded

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return len(_HEADERS)

    def hasChildren(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008
        if parent.column() > 0:
            return False
        return self._node(parent).size > 0

    def canFetchMore(self, parent: _Index) -> bool:
        if parent.column() > 0:
            return False
        node = self._node(parent)
        return node.loaded < node.size

    def fetchMore(self, parent: _Index) -> None:
        node = self._node(parent)
        more = min(node.size - node.loaded, CHUNK)
        if more <= 0:
            return
        self.beginInsertRows(parent, node.loaded, node.loaded + more - 1)
        node.loaded += more
        self.endInsertRows()

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return _BRANCH_FLAGS if isinstance(self._node(index).value, dict | list) else _LEAF_FLAGS

    # --- content ---------------------------------------------------------------------
    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(_HEADERS)):
            return _HEADERS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            node = self._node(index)
            column = index.column()
            if column == KEY_COLUMN:
                return node.texts()[0]
            if column == VALUE_COLUMN:
                return node.texts()[1]
            return type_name(node.value)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(self._node(index), index.column())
        if role == Qt.ItemDataRole.BackgroundRole:
            return qcolor(colours().hidden_row) if self._node(index).texts()[2] else None
        if role == Qt.ItemDataRole.ForegroundRole:
            node = self._node(index)
            if index.column() == TYPE_COLUMN or (index.column() == VALUE_COLUMN and node.size):
                return qcolor(colours().muted)
            return None
        if role == PATH_ROLE:
            return self._node(index).path
        if role == VALUE_ROLE:
            return self._node(index).value
        if role == HIDDEN_ROLE:
            return self._node(index).texts()[2]
        return None

    @staticmethod
    def _tooltip(node: _Node, column: int) -> str | None:
        if column == KEY_COLUMN:
            return plain_tooltip(node.path, 600)
        if column == VALUE_COLUMN and isinstance(node.value, str):
            return plain_tooltip(node.value)
        return None


def whole_value_text(value: Any) -> str:
    """The text "View whole value" shows: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return value
    return readable_json(value)


class JsonTreeView(QTreeView):
    """A `JsonTreeModel` with readable columns, "View whole value" on double-click
    and in the context menu, and small values expanded on arrival."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.json_model = JsonTreeModel(None, self)
        self.setModel(self.json_model)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(KEY_COLUMN, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(VALUE_COLUMN, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(TYPE_COLUMN, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(KEY_COLUMN, 190)
        header.resizeSection(TYPE_COLUMN, 64)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._on_context_menu)
        self.doubleClicked.connect(self._on_double_clicked)

    def resizeEvent(self, event: QResizeEvent) -> None:
        # In a narrow pane the values are what the reviewer must read (a recipient,
        # an amount): keys get at most a third of the width, values the rest.
        super().resizeEvent(event)
        self.header().resizeSection(KEY_COLUMN, max(90, min(190, self.viewport().width() // 3)))

    def set_value(self, value: Any, *, expand_rows: int = 80) -> None:
        """Show ``value``; expand containers breadth-first while at most
        ``expand_rows`` rows would be visible."""
        self.json_model.set_value(value)
        model = self.json_model
        shown = model.rowCount()
        level = [model.index(row, 0) for row in range(min(shown, expand_rows))]
        for _depth in range(3):
            following: list[QModelIndex] = []
            for index in level:
                count = model.rowCount(index)
                if count and shown + count <= expand_rows:
                    self.expand(index)
                    shown += count
                    following.extend(model.index(row, 0, index) for row in range(count))
            level = following

    def view_whole_value(self, index: QModelIndex) -> TextViewerDialog | None:
        """Open the plain-text viewer on the value at ``index``."""
        if not index.isValid():
            return None
        path = index.data(PATH_ROLE)
        dialog = TextViewerDialog(f"Value at {path}", whole_value_text(index.data(VALUE_ROLE)),
                                  self)
        dialog.show()
        return dialog

    def _on_double_clicked(self, index: QModelIndex) -> None:
        if not isinstance(index.data(VALUE_ROLE), dict | list):
            self.view_whole_value(index)

    def _on_context_menu(self, pos: QPoint) -> None:
        index = self.indexAt(pos)
        if not index.isValid():
            return
        menu = QMenu(self)
        menu.addAction("View whole value", lambda: self.view_whole_value(index))
        menu.addAction("Copy value as JSON", lambda: QGuiApplication.clipboard().setText(
            escape_hidden(json.dumps(index.data(VALUE_ROLE), ensure_ascii=False))))
        menu.addAction("Copy path", lambda: QGuiApplication.clipboard().setText(
            escape_hidden(index.data(PATH_ROLE))))
        menu.exec(self.viewport().mapToGlobal(pos))


class JsonValueView(QStackedWidget):
    """A JSON value as a `JsonTreeView`, or, when it could not be parsed (or parsing was
    refused as too deep or too big), the raw text with the reason above it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = JsonTreeView(self)
        raw_page = QWidget(self)
        self.reason_label = QLabel(raw_page)
        self.reason_label.setTextFormat(Qt.TextFormat.PlainText)
        self.reason_label.setWordWrap(True)
        restyle(self.reason_label, lambda p: (
            f"QLabel {{ background: {p.warning_banner.background};"
            f" color: {p.warning_banner.text}; padding: 4px 6px; }}"))
        self.raw_text = PlainTextView(raw_page, monospace=True)
        layout = QVBoxLayout(raw_page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.reason_label)
        layout.addWidget(self.raw_text, 1)
        self.addWidget(self.tree)
        self.addWidget(raw_page)

    def show_value(self, value: Any) -> None:
        self.tree.set_value(value)
        self.setCurrentIndex(0)

    def show_raw(self, text: str, reason: str) -> None:
        self.tree.set_value(None)
        self.reason_label.setText(one_line(reason, 500))
        self.raw_text.set_text(text)
        self.setCurrentIndex(1)
