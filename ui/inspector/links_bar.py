"""`CallLinksBar`: under the selected span's header, the spans its tool call ids link
it to — for a tool span, the LLM call that asked for it; for an LLM call, the tool
spans that carried out its tool calls — each a button that selects that span (Ctrl+L
jumps to the first).

Names and ids come from the trace (untrusted): shown one line, as plain text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from countersign.text import one_line

from ..palette import restyle, text_style
from ..qt.core import Qt, Signal
from ..qt.widgets import QHBoxLayout, QLabel, QToolButton, QWidget
from ..widgets.text import plain_tooltip

#: The key that jumps to the first linked span (the inspector's shortcut).
LINK_KEY = "Ctrl+L"


@dataclass(frozen=True)
class SpanLink:
    """One button: its text, the span it selects (None: not in this run), its tip."""

    text: str
    span_id: str | None
    tip: str


class CallLinksBar(QWidget):
    """See the module docstring. Hidden while the span has no links."""

    # Signals
    #: A link was followed: the span id to select.
    linkActivated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("callLinks")
        self.title = QLabel(self)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        restyle(self.title, lambda p: text_style("QLabel", p.muted))
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self._layout.addWidget(self.title)
        self._layout.addStretch(1)
        self.buttons: list[QToolButton] = []
        self.hide()

    def set_links(self, title: str, links: Sequence[SpanLink]) -> None:
        """Show ``links`` after ``title`` ("Asked for by", "Tool calls"); none: hide."""
        for button in self.buttons:
            self._layout.removeWidget(button)
            button.deleteLater()
        self.buttons = []
        self.title.setText(title)
        for link in links:
            button = QToolButton(self)
            button.setText(one_line(link.text, 60))
            button.setToolTip(plain_tooltip(link.tip))
            button.setEnabled(link.span_id is not None)
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            if link.span_id is not None:
                span_id = link.span_id
                button.clicked.connect(lambda _checked=False, s=span_id: self.linkActivated.emit(s))
            self._layout.insertWidget(self._layout.count() - 1, button)
            self.buttons.append(button)
        self.setVisible(bool(links))

    def clear(self) -> None:
        self.set_links("", ())
