"""Layouts that give way on a small screen (a 1024 × 640 laptop, half a tiled
desktop) instead of holding the window wider than the screen.

- `FlowLayout` lines its widgets up and wraps onto the next line when they do not
  fit (after Qt's flow layout example): a filter bar of ten controls is one row on a
  wide window and two on a narrow one.
- `AdaptiveSplitter` puts its two panes side by side when both fit at their minimum
  widths and one above the other when they do not; it asks only for the width of the
  wider pane, so the window can be made narrow in the first place.
- `VerticalScrollArea` holds a pane at its full width and lets it scroll up and down
  when the window is shorter than the pane needs: whatever it shows (a long History
  entry, a banner above it), it never makes the window taller.
"""

from __future__ import annotations

from ..qt.core import QEvent, QObject, QPoint, QRect, QSize, Qt
from ..qt.gui import QResizeEvent
from ..qt.widgets import (
    QFrame,
    QLayout,
    QLayoutItem,
    QScrollArea,
    QSplitter,
    QWidget,
    QWidgetItem,
)


class FlowLayout(QLayout):
    """Widgets left to right, wrapping onto further lines; height follows width."""

    def __init__(self, parent: QWidget | None = None, *, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def add(self, widget: QWidget) -> None:
        """Add ``widget`` (as `addWidget`, kept for symmetry with the box layouts)."""
        self.addChildWidget(widget)
        self.addItem(QWidgetItem(widget))

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:
        """One line of everything (what it takes when there is room)."""
        shown = [i for i in self._items if not i.isEmpty()]
        width = sum(i.sizeHint().width() for i in shown) + self._spacing * max(0, len(shown) - 1)
        height = max((i.sizeHint().height() for i in shown), default=0)
        margins = self.contentsMargins()
        return QSize(width + margins.left() + margins.right(),
                     height + margins.top() + margins.bottom())

    def minimumSize(self) -> QSize:
        """As narrow as the widest single widget."""
        size = QSize()
        for item in self._items:
            if not item.isEmpty():
                size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def _arrange(self, rect: QRect, *, move: bool) -> int:
        """Place (or, without ``move``, measure) the items in ``rect``; the height used."""
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        x, y, line = area.x(), area.y(), 0
        for item in self._items:
            if item.isEmpty():
                continue
            hint = item.sizeHint()
            if x > area.x() and x + hint.width() > area.right() + 1:
                x, y, line = area.x(), y + line + self._spacing, 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self._spacing
            line = max(line, hint.height())
        return y + line - rect.y() + margins.bottom()


class AdaptiveSplitter(QSplitter):
    """Two panes side by side when they fit at their minimum widths, else stacked
    (the first above the second); the user's handle still divides them."""

    def __init__(self, parent: QWidget | None = None, *, first_share: float = 0.45) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        #: The first pane's share of the space after a change of orientation.
        self.first_share = first_share

    def side_by_side_width(self) -> int:
        """The narrowest width at which both panes fit next to each other."""
        widths = [_min_width(self.widget(i)) for i in range(self.count())]
        return sum(widths) + self.handleWidth() * max(0, self.count() - 1)

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        narrow = max((_min_width(self.widget(i)) for i in range(self.count())), default=0)
        return QSize(min(hint.width(), narrow), hint.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        wanted = (Qt.Orientation.Horizontal
                  if event.size().width() >= self.side_by_side_width()
                  else Qt.Orientation.Vertical)
        if wanted != self.orientation() and self.count() == 2:
            self.setOrientation(wanted)
            along = (event.size().width() if wanted == Qt.Orientation.Horizontal
                     else event.size().height())
            first = int(along * self.first_share)
            self.setSizes([first, max(1, along - first)])
            self.updateGeometry()
        super().resizeEvent(event)


def _min_width(widget: QWidget | None) -> int:
    """The width a layout will not go below, as Qt reckons it: an explicit minimum
    width wins over the hint."""
    if widget is None:
        return 0
    return widget.minimumWidth() or max(0, widget.minimumSizeHint().width())


class VerticalScrollArea(QScrollArea):
    """``widget`` at the area's full width, scrolling up and down when the area is
    shorter than it needs. It asks for the width its widget needs (no sideways
    scrolling) but only ``min_lines`` lines of height."""

    def __init__(self, widget: QWidget, parent: QWidget | None = None, *,
                 min_lines: int = 4) -> None:
        super().__init__(parent)
        self.min_lines = min_lines
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(widget)
        widget.installEventFilter(self)

    def _extra_width(self) -> int:
        return 2 * self.frameWidth() + self.verticalScrollBar().sizeHint().width()

    def minimumSizeHint(self) -> QSize:
        inner = self.widget()
        width = _min_width(inner) if inner is not None else 0
        return QSize(width + self._extra_width(), self.fontMetrics().height() * self.min_lines)

    def sizeHint(self) -> QSize:
        inner = self.widget()
        hint = inner.sizeHint() if inner is not None else QSize(0, 0)
        return QSize(hint.width() + self._extra_width(), hint.height())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # What it holds asks for another size (a wider row): so does the area.
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()
        return super().eventFilter(watched, event)
