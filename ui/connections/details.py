"""`MessageWithDetails`: a sentence for people and, behind a "Details" button, the
technical text it was made from (a server's answer, an exception) — so a failure
reads as words, yet nothing is hidden from whoever has to debug it. Both are
untrusted text (a server wrote part of them): plain text only."""

from __future__ import annotations

from countersign.text import make_visible

from ..palette import restyle, text_style
from ..qt.core import Qt
from ..qt.widgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from ..widgets.text import monospace_font

SHOW = "Details ▸"
HIDE = "Details ▾"


class MessageWithDetails(QWidget):
    """See the module docstring. ``name`` is the sentence label's object name."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = QLabel(self)
        self.text.setObjectName(name)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.toggle = QToolButton(self)
        self.toggle.setObjectName(f"{name}Details")
        self.toggle.setText(SHOW)
        self.toggle.setCheckable(True)
        self.toggle.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.toggle.setToolTip("Show the technical text this message was made from")
        self.toggle.toggled.connect(self._toggled)
        self.details = QPlainTextEdit(self)
        self.details.setObjectName(f"{name}DetailText")
        self.details.setReadOnly(True)
        self.details.setFont(monospace_font())
        self.details.setMaximumHeight(110)
        self.details.hide()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.text, 1)
        row.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(row)
        layout.addWidget(self.details)
        self.show_message("")

    def show_message(self, text: str, detail: str = "", *, failed: bool = False) -> None:
        """Show ``text``; ``detail`` (when it says more) behind the Details button."""
        self.text.setText(text)
        restyle(self.text, lambda p: text_style("QLabel", p.error) if failed else "")
        more = bool(detail.strip()) and detail.strip() != text.strip()
        self.details.setPlainText(make_visible(detail) if more else "")
        self.toggle.setVisible(more)
        if not more:
            self.toggle.setChecked(False)
        self.details.setVisible(more and self.toggle.isChecked())

    def _toggled(self, shown: bool) -> None:
        self.toggle.setText(HIDE if shown else SHOW)
        self.details.setVisible(shown and bool(self.details.toPlainText()))
