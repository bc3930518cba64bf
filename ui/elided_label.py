"""`ElidedLabel`: one line of text that fits the width it is given by ending at a word
boundary with "…" (never mid-word) — or, for a path or URL, by leaving out its
middle — the whole text in a plain tooltip: the status bar's last error and store.
It asks for little width (it never makes the window grow) and takes what the bar
can spare, up to its maximum."""

from __future__ import annotations

from collections.abc import Callable

from .qt.core import QSize, Qt
from .qt.gui import QFontMetrics, QResizeEvent
from .qt.widgets import QLabel, QSizePolicy, QWidget
from .widgets.text import plain_tooltip

ELLIPSIS = "…"
#: The widest it asks to be; the narrowest it agrees to be.
MAX_WIDTH = 560
MIN_WIDTH = 80


def elide_at_word(text: str, fits: Callable[[str], bool]) -> str:
    """``text``'s first line when it ``fits``, else as many of its first words as
    fit with "…" after them. A first word too long on its own is cut by characters (nothing
    better exists); whitespace runs become single spaces."""
    line = " ".join(next((part for part in text.splitlines() if part.strip()), "").split())
    if fits(line):
        return line  # (later lines are in the tooltip)
    words = line.split(" ")
    low, high = 0, len(words)  # the most words that fit: binary search
    while low < high:
        middle = (low + high + 1) // 2
        if fits(" ".join(words[:middle]).rstrip(",;:·-—") + ELLIPSIS):
            low = middle
        else:
            high = middle - 1
    if low:
        return " ".join(words[:low]).rstrip(",;:·-—") + ELLIPSIS
    first = words[0] if words else ""
    cut = len(first)
    while cut and not fits(first[:cut] + ELLIPSIS):
        cut -= 1
    return first[:cut] + ELLIPSIS


class ElidedLabel(QLabel):
    """See the module docstring. Use `set_full_text`, not ``setText``."""

    def __init__(self, parent: QWidget | None = None, *, middle: bool = False,
                 widest: int = MAX_WIDTH) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._full = ""
        #: Leave out the middle (paths, URLs) rather than the end (sentences).
        self._middle = middle
        self._widest = widest

    @property
    def full_text(self) -> str:
        return self._full

    def set_full_text(self, text: str, tooltip: str | None = None) -> None:
        """Show ``text`` (elided to fit); the tooltip is ``tooltip``, else the text."""
        self._full = text
        self.setToolTip(plain_tooltip(text if tooltip is None else tooltip))
        self.updateGeometry()
        self._elide()

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        metrics = QFontMetrics(self.font())
        margins = self.contentsMargins()
        wanted = metrics.horizontalAdvance(" ".join(self._full.split())) + margins.left() \
            + margins.right() + 4
        return QSize(min(self._widest, max(MIN_WIDTH, wanted)), hint.height())

    def minimumSizeHint(self) -> QSize:
        return QSize(MIN_WIDTH, super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        metrics = QFontMetrics(self.font())
        margins = self.contentsMargins()
        room = self.width() - margins.left() - margins.right() - 2
        if self._middle:
            line = " ".join(self._full.split())
            super().setText(metrics.elidedText(line, Qt.TextElideMode.ElideMiddle, room))
            return
        super().setText(elide_at_word(self._full,
                                      lambda s: metrics.horizontalAdvance(s) <= room))
