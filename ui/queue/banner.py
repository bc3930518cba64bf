"""A non-modal message strip at the top of a workspace.

Used for what the reviewer must see but must not be interrupted by: "already decided
by bob", "could not record the verdict — Retry". It never takes the keyboard focus,
so A/J/K keep working while it is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from ..palette import Palette, Tone, restyle
from ..qt.core import Qt, Signal
from ..qt.widgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget


class BannerKind(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"




def _tone(palette: Palette, kind: BannerKind) -> Tone:
    return {BannerKind.INFO: palette.info_banner, BannerKind.WARNING: palette.warning_banner,
            BannerKind.ERROR: palette.error_banner}[kind]


def _style(palette: Palette, kind: BannerKind) -> str:
    tone = _tone(palette, kind)
    return (f"#messageBanner {{ background: {tone.background}; color: {tone.text};"
            f" border: 1px solid {tone.border}; border-radius: 4px; }}"
            "#messageBanner QLabel { border: none; background: transparent; }")


class MessageBanner(QFrame):
    """One message at a time, plain text, with an optional action button."""

    # Signals
    #: The banner was dismissed (× or replaced by `hide_message`).
    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBanner")
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.button = QPushButton(self)
        self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.button.hide()
        close = QPushButton("×", self)
        close.setObjectName("bannerClose")
        close.setFlat(True)
        close.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        close.setToolTip("Dismiss")
        close.setFixedWidth(28)
        close.clicked.connect(self.hide_message)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.button)
        layout.addWidget(close)
        self._action: Callable[[], None] | None = None
        self.button.clicked.connect(self._run_action)
        self.kind = BannerKind.INFO
        self.hide()

    def show_message(self, text: str, kind: BannerKind = BannerKind.INFO, *,
                     action: tuple[str, Callable[[], None]] | None = None) -> None:
        self.kind = kind
        restyle(self, lambda palette: _style(palette, kind))
        self.label.setText(text)
        if action is None:
            self._action = None
            self.button.hide()
        else:
            self.button.setText(action[0])
            self._action = action[1]
            self.button.show()
        self.show()

    def hide_message(self) -> None:
        if self.isVisible():
            self.hide()
            self.dismissed.emit()
        self._action = None

    @property
    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

    def _run_action(self) -> None:
        action = self._action
        self.hide_message()
        if action is not None:
            action()
