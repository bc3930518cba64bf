"""The rows above the review list: which items (the reviewer's own work, all open,
done, all), agent, action and verdict, free text, and the count."""

from __future__ import annotations

from collections.abc import Sequence

from countersign.text import one_line

from ..palette import restyle, text_style
from ..qt.core import QEvent, Qt, QTimer, Signal
from ..qt.gui import QKeyEvent
from ..qt.widgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QWidget
from ..widgets.text import plain_tooltip
from .rows import VERDICT_TEXT, ReviewFilter, Show

_SHOW_CHOICES = ((Show.MINE, "To label"), (Show.OPEN, "All open"), (Show.DONE, "Done"),
                 (Show.ALL, "All"))
_TYPING_PAUSE_MS = 80
_LEAVE_KEYS = (Qt.Key.Key_Escape, Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Down)


class FilterEdit(QLineEdit):
    """A line edit that keeps Enter and Esc (which would otherwise submit a label as
    window shortcuts) and hands the keyboard back on them."""

    # Signals
    #: The reviewer is done typing (Esc, Enter or Down).
    leave = Signal()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) \
                and event.key() in _LEAVE_KEYS:
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in _LEAVE_KEYS:
            if event.key() == Qt.Key.Key_Escape and self.text():
                self.clear()
            self.leave.emit()
            return
        super().keyPressEvent(event)


def _combo(parent: QWidget, name: str, tip: str, first: str) -> QComboBox:
    combo = QComboBox(parent)
    combo.setObjectName(name)
    combo.setToolTip(plain_tooltip(tip))
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(4)
    combo.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
    combo.addItem(first, None)
    return combo


class ReviewFilterBar(QWidget):
    """Emits the `ReviewFilter` the reviewer asks for."""

    # Signals
    #: The filter changed (a `ReviewFilter`).
    filterChanged = Signal(object)
    #: The reviewer left the text box.
    done = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.show_combo = QComboBox(self)
        self.show_combo.setObjectName("showFilter")
        self.show_combo.setToolTip("Which items the list holds")
        self.show_combo.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        for show, label in _SHOW_CHOICES:
            self.show_combo.addItem(label, show.value)
        self.agent = _combo(self, "agentFilter", "Show one agent's items", "All agents")
        self.action = _combo(self, "actionFilter", "Show one action class", "All actions")
        self.verdict = _combo(self, "verdictFilter", "Show items by the verdict they got",
                              "Any verdict")
        for value, label in VERDICT_TEXT.items():
            self.verdict.addItem(label, value)
        self.text = FilterEdit(self)
        self.text.setObjectName("reviewTextFilter")
        self.text.setPlaceholderText("Filter   /")
        self.text.setClearButtonEnabled(True)
        self.text.setToolTip("Type part of an agent, action, rule or item number "
                             "(shortcut: /)")
        self.count = QLabel(self)
        self.count.setObjectName("reviewCount")
        self.count.setTextFormat(Qt.TextFormat.PlainText)
        restyle(self.count, lambda p: text_style("QLabel", p.muted))
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(4)
        self.show_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        top = QHBoxLayout()
        top.setSpacing(4)
        top.addWidget(self.show_combo)
        top.addWidget(self.text, 1)
        top.addWidget(self.count)
        combos = QHBoxLayout()
        combos.setSpacing(4)
        for combo in (self.agent, self.action, self.verdict):
            combos.addWidget(combo, 1)
        grid.addLayout(top, 0, 0)
        grid.addLayout(combos, 1, 0)
        self._typing = QTimer(self)
        self._typing.setSingleShot(True)
        self._typing.setInterval(_TYPING_PAUSE_MS)
        self._typing.timeout.connect(self._emit)
        for combo in (self.show_combo, self.agent, self.action, self.verdict):
            combo.currentIndexChanged.connect(self._emit)
        self.text.textChanged.connect(self._typing.start)
        self.text.leave.connect(self._leave)

    def current(self) -> ReviewFilter:
        def chosen(combo: QComboBox) -> str | None:
            value = combo.currentData()
            return value if isinstance(value, str) else None

        return ReviewFilter(show=Show(self.show_combo.currentData() or Show.MINE.value),
                            agent=chosen(self.agent), action_class=chosen(self.action),
                            verdict=chosen(self.verdict), text=self.text.text().strip())

    def set_choices(self, agents: Sequence[str], actions: Sequence[str]) -> None:
        """Offer these agents and actions, keeping the chosen ones."""
        for combo, names in ((self.agent, agents), (self.action, actions)):
            chosen = combo.currentData()
            values = sorted(set(names) | ({chosen} if isinstance(chosen, str) else set()),
                            key=str.casefold)
            current = [combo.itemData(i) for i in range(1, combo.count())]
            if current == values:
                continue
            combo.blockSignals(True)
            try:
                first = combo.itemText(0)
                combo.clear()
                combo.addItem(first, None)
                for name in values:
                    combo.addItem(one_line(name, 60), name)
                if isinstance(chosen, str):
                    combo.setCurrentIndex(combo.findData(chosen))
            finally:
                combo.blockSignals(False)

    def set_counts(self, shown: int, total: int) -> None:
        self.count.setText(f"{shown:,}" if shown == total else f"{shown:,} of {total:,}")
        self.count.setToolTip(plain_tooltip(f"{shown:,} items shown of {total:,} read"))

    def focus_text(self) -> None:
        self.text.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.text.selectAll()

    def _leave(self) -> None:
        if self._typing.isActive():
            self._typing.stop()
            self._emit()
        self.done.emit()

    def _emit(self) -> None:
        self.filterChanged.emit(self.current())
