"""The row above the Queue list: agent, risk and free-text filters, the count, and
the History toggle. One row on a wide window, wrapping onto a second on a narrow one,
so the list never holds the window wider than the screen."""

from __future__ import annotations

from countersign.domain import Risk
from countersign.text import one_line

from ..qt.core import Qt, QTimer, Signal
from ..qt.gui import QKeyEvent
from ..qt.widgets import QComboBox, QLabel, QLineEdit, QWidget
from ..widgets.adaptive import FlowLayout
from .columns import QueueFilter

#: (label, risk, exact) choices of the risk combo.
_RISK_CHOICES: tuple[tuple[str, Risk | None, bool], ...] = (
    ("Any risk", None, False),
    ("Medium and above", Risk.MEDIUM, False),
    ("High and above", Risk.HIGH, False),
    ("Critical only", Risk.CRITICAL, True),
    ("Low only", Risk.LOW, True),
    ("Medium only", Risk.MEDIUM, True),
    ("High only", Risk.HIGH, True),
)
#: Typing is applied after this pause, so a burst of keys filters once.
_TYPING_PAUSE_MS = 60


class _FilterEdit(QLineEdit):
    """A line edit that hands the keyboard back to the list on Esc / Enter / Down."""

    # Signals
    #: The user is done typing and wants the list (Esc, Enter or Down).
    leave = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Escape, Qt.Key.Key_Return, Qt.Key.Key_Enter,
                           Qt.Key.Key_Down):
            if event.key() == Qt.Key.Key_Escape and self.text():
                self.clear()
            self.leave.emit()
            return
        super().keyPressEvent(event)


class QueueFilterBar(QWidget):
    """Emits the `QueueFilter` the reviewer asks for; shows "n of m" when filtered."""

    # Signals
    #: The filter changed (a `QueueFilter`).
    filterChanged = Signal(object)
    #: The reviewer left the text box (focus the list).
    done = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.agent = QComboBox(self)
        self.agent.setObjectName("agentFilter")
        self.agent.setToolTip("Show one agent's actions")
        self.agent.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.agent.setMinimumContentsLength(12)
        self.agent.addItem("All agents", None)
        self.risk = QComboBox(self)
        self.risk.setObjectName("riskFilter")
        self.risk.setToolTip("Show actions by risk")
        for label, _risk, _exact in _RISK_CHOICES:
            self.risk.addItem(label)
        self.text = _FilterEdit(self)
        self.text.setObjectName("textFilter")
        self.text.setPlaceholderText("Filter   /")
        self.text.setClearButtonEnabled(True)
        self.text.setToolTip("Type part of an agent or action name (shortcut: /)")
        self.count = QLabel(self)
        self.count.setTextFormat(Qt.TextFormat.PlainText)
        self.count.setObjectName("queueCount")
        # The flow lines its items up at the top: as tall as the combos, text centred.
        self.count.setAlignment(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)
        self.count.setMinimumHeight(self.risk.sizeHint().height())
        self.text.setMinimumWidth(150)
        self.text.setMaximumWidth(220)
        self.flow = FlowLayout(self)
        for widget in (self.agent, self.risk, self.text, self.count):
            self.flow.add(widget)
        self._typing = QTimer(self)
        self._typing.setSingleShot(True)
        self._typing.setInterval(_TYPING_PAUSE_MS)
        self._typing.timeout.connect(self._emit)
        self.agent.currentIndexChanged.connect(self._emit)
        self.risk.currentIndexChanged.connect(self._emit)
        self.text.textChanged.connect(self._typing.start)
        self.text.leave.connect(self._leave)

    def current(self) -> QueueFilter:
        agent = self.agent.currentData()
        _label, risk, exact = _RISK_CHOICES[max(0, self.risk.currentIndex())]
        return QueueFilter(agent=agent if isinstance(agent, str) else None, risk=risk,
                           exact_risk=exact, text=self.text.text().strip())

    def set_agents(self, agents: list[str]) -> None:
        """Offer these agents, keeping the chosen one even if it has no rows now."""
        chosen = self.agent.currentData()
        names = sorted(set(agents) | ({chosen} if isinstance(chosen, str) else set()),
                       key=str.casefold)
        self.agent.blockSignals(True)
        try:
            self.agent.clear()
            self.agent.addItem("All agents", None)
            for name in names:
                self.agent.addItem(one_line(name, 60), name)
            if isinstance(chosen, str):
                self.agent.setCurrentIndex(self.agent.findData(chosen))
        finally:
            self.agent.blockSignals(False)

    def add(self, widget: QWidget) -> None:
        """Put ``widget`` at the end of the row (the History toggle)."""
        self.flow.add(widget)

    def set_counts(self, shown: int, total: int, noun: str = "pending") -> None:
        """"12 pending", "40 in history", or "3 of 12 shown" while filtered."""
        self.count.setText(f"{total:,} {noun}" if shown == total
                           else f"{shown:,} of {total:,} shown")
        self.updateGeometry()

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
