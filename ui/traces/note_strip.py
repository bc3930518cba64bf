"""`NoteStrip`: a message strip of the Traces workspace with one button — "two
instrumentations record the same calls · Show them", "this run repeats a call of
another run · Open that run". Its text may quote trace data: plain text only."""

from __future__ import annotations

from collections.abc import Callable

from ..palette import Palette, Tone, restyle, strip_style
from ..qt.core import Qt, Signal
from ..qt.widgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget
from ..widgets.text import plain_tooltip


class NoteStrip(QWidget):
    """See the module docstring. Hidden until `show_note`."""

    # Signals
    #: The strip's button was pressed.
    activated = Signal()

    def __init__(self, name: str, tone: Callable[[Palette], Tone],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        restyle(self, lambda p: strip_style(f"#{name}", tone(p)))
        self.text = QLabel(self)
        self.text.setObjectName(f"{name}Text")
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # A long note wraps instead of asking the window for more width.
        self.text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.button = QToolButton(self)
        self.button.setObjectName(f"{name}Button")
        self.button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.button.clicked.connect(self.activated)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 3, 4, 3)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.button)
        self.hide()

    def show_note(self, text: str, button: str = "", tip: str = "") -> None:
        self.text.setText(text)
        self.text.setToolTip(plain_tooltip(text))
        self.button.setText(button)
        self.button.setToolTip(plain_tooltip(tip))
        self.button.setVisible(bool(button))
        self.show()

