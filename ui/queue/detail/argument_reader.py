"""The proposed arguments as the operator must read them: the JSON tree above, the
selected argument's whole value below it, wrapped (an e-mail body, a SQL statement
is decision-critical and must not be readable only in a tooltip).

From the keyboard: ``V`` (the Queue's "Read the arguments") focuses the tree; Up and
Down choose an argument and its value shows below; Enter or Space opens the value in
a viewer window; Esc gives the keyboard back to the list. On arrival the first long
text value is chosen, since that is the one a cell cuts short.
"""

from __future__ import annotations

from typing import Any

from countersign.text import one_line

from ...json_tree import PATH_ROLE, VALUE_ROLE, JsonValueView, whole_value_text
from ...palette import restyle, text_style
from ...qt.core import QEvent, QItemSelectionModel, QModelIndex, QObject, Qt, Signal
from ...qt.gui import QKeyEvent, QResizeEvent
from ...qt.widgets import QLabel, QVBoxLayout, QWidget
from ...widgets.text import PlainTextView, TextViewerDialog

#: A string longer than this is chosen on arrival (a cell shows about this much).
LONG_TEXT = 60
#: Rows looked at when choosing the argument shown on arrival.
_SCAN_ROWS = 200
#: The value box grows with the value up to this many lines, then scrolls.
VALUE_LINES = 8
#: ...and never shrinks below this many (unless the value is shorter).
VALUE_MIN_LINES = 2


class ArgumentReader(QWidget):
    """`JsonValueView` over a wrapped view of the selected member's whole value."""

    # Signals
    #: Esc in the tree: the person is done reading (give the keyboard to the list).
    leave = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.arguments = JsonValueView(self)
        self.arguments.setObjectName("arguments")
        self.tree = self.arguments.tree
        self.tree.installEventFilter(self)
        self.value_title = QLabel(self)
        self.value_title.setObjectName("argumentValueTitle")
        self.value_title.setTextFormat(Qt.TextFormat.PlainText)
        restyle(self.value_title, lambda p: text_style("QLabel", p.muted))
        self.value = PlainTextView(self, monospace=True)
        self.value.setObjectName("argumentValue")
        self.value.editor.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        below = QWidget(self)
        below_layout = QVBoxLayout(below)
        below_layout.setContentsMargins(0, 2, 0, 0)
        below_layout.setSpacing(2)
        below_layout.addWidget(self.value_title)
        below_layout.addWidget(self.value, 1)
        # A few rows of the tree at least; the value as tall as it needs (capped).
        self.tree.setMinimumHeight(4 * self.tree.fontMetrics().height() + 8)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.arguments, 1)
        layout.addWidget(below)
        self._below = below
        self.tree.selectionModel().currentChanged.connect(self._current_changed)
        self.viewer: TextViewerDialog | None = None

    # -- content -----------------------------------------------------------------------

    def show_value(self, value: Any) -> None:
        """Show parsed ``value``; its first long text (else its first member) is chosen."""
        self.arguments.show_value(value)
        self._below.show()
        index = self._first_long_text()
        if index.isValid():
            self.tree.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows)
            self.tree.scrollTo(index)
        else:
            self._show_member(QModelIndex())

    def show_raw(self, text: str, reason: str) -> None:
        """Unparsed arguments: the raw text (already wrapped and whole) and why."""
        self.arguments.show_raw(text, reason)
        self._below.hide()

    def shown_value(self) -> str:
        """The text of the value shown below the tree (for tests)."""
        return self.value.shown_text()

    def _first_long_text(self) -> QModelIndex:
        model = self.tree.model()
        queue = [model.index(row, 0) for row in range(min(model.rowCount(), _SCAN_ROWS))]
        first = queue[0] if queue else QModelIndex()
        seen = 0
        while queue and seen < _SCAN_ROWS:
            index = queue.pop(0)
            seen += 1
            value = index.data(VALUE_ROLE)
            if isinstance(value, str) and len(value) > LONG_TEXT:
                return index
            if self.tree.isExpanded(index):
                queue.extend(model.index(r, 0, index)
                             for r in range(min(model.rowCount(index), _SCAN_ROWS)))
        return first

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._show_member(current)

    def _show_member(self, index: QModelIndex) -> None:
        if not index.isValid():
            self.value_title.setText("Choose an argument to read its whole value")
            self.value.clear()
            return
        value = index.data(VALUE_ROLE)
        path = index.data(PATH_ROLE)
        text = whole_value_text(value)
        size = f" · {len(value):,} characters" if isinstance(value, str) else ""
        self.value_title.setText(f"{one_line(str(path), 120)}{size} — Enter: open in a viewer")
        self.value.set_text(text)
        self._fit_value()

    def _fit_value(self) -> None:
        """As tall as the wrapped value, between `VALUE_MIN_LINES` and `VALUE_LINES`."""
        self.value.fit_height(self.contentsRect().width(), VALUE_LINES, VALUE_MIN_LINES)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._below.isVisible():
            self._fit_value()

    # -- keyboard ------------------------------------------------------------------------

    def focus_tree(self) -> None:
        """Put the keyboard on the arguments (an argument chosen, so Up/Down work)."""
        if self.arguments.currentIndex() != 0:
            self.arguments.raw_text.editor.setFocus(Qt.FocusReason.ShortcutFocusReason)
            return
        self.tree.setFocus(Qt.FocusReason.ShortcutFocusReason)
        if not self.tree.currentIndex().isValid() and self.tree.model().rowCount():
            self.tree.setCurrentIndex(self.tree.model().index(0, 0))

    def open_viewer(self) -> TextViewerDialog | None:
        """The chosen argument's whole value in a window of its own."""
        index = self.tree.currentIndex()
        if not index.isValid():
            return None
        self.viewer = self.tree.view_whole_value(index.siblingAtColumn(0))
        return self.viewer

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.tree and event.type() == QEvent.Type.KeyPress \
                and isinstance(event, QKeyEvent):
            key = event.key()
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space) \
                    and event.modifiers() == Qt.KeyboardModifier.NoModifier:
                self.open_viewer()
                return True
            if key == Qt.Key.Key_Escape:
                self.leave.emit()
                return True
        return super().eventFilter(watched, event)
