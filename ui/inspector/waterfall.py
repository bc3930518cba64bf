"""The waterfall: one bar per span in the Timeline column of the span tree itself.

Drawing the bars in a column of the same `QTreeView` (instead of a second view kept in
sync) keeps them aligned with their rows for free on expand, collapse, scroll and
resize. `WaterfallDelegate` paints a bar from the model's `BAR_ROLE` (start and end in
ns after the run's start), coloured by kind, red when the span failed, fading out when
it is still running; `TimelineHeader` paints the time axis above that column and owns
the visible time window, so zooming (to one span of a 50-minute run, say) is view
state: the model's data never changes for it.
"""

from __future__ import annotations

import math

from countersign.text import duration_text

from ..palette import colours, qcolor
from ..qt.core import QModelIndex, QPersistentModelIndex, QRect, QRectF, QSize, Qt, Signal
from ..qt.gui import QColor, QLinearGradient, QMouseEvent, QPainter, QPen
from ..qt.widgets import (
    QApplication,
    QHeaderView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionHeader,
    QStyleOptionViewItem,
    QWidget,
)
from .kinds import error_color, kind_color
from .span_tree import BAR_ROLE

#: Room left and right of the bars so the first and last are not glued to the edges.
PAD = 6
MIN_BAR = 2.0
#: How opaque the grid lines are (0-255): a hint of the ticks, not a fence.
GRID_ALPHA = 22
#: Pixels per axis tick, roughly.
TICK_SPACING = 90
_Index = QModelIndex | QPersistentModelIndex


def nice_step(span_ns: float, target_ticks: int) -> float:
    """A 1-2-5 step (in ns) giving about ``target_ticks`` ticks over ``span_ns``."""
    if span_ns <= 0 or target_ticks <= 0:
        return 1.0
    raw = span_ns / target_ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return float(factor * power)
    return float(10 * power)


def ticks(low_ns: int, high_ns: int, width: int) -> list[tuple[float, int]]:
    """(fraction of the window, ns after the run's start) of each axis tick for a
    window ``low_ns``..``high_ns`` shown ``width`` pixels wide."""
    span = high_ns - low_ns
    if span <= 0 or width <= 2 * PAD:
        return []
    step = nice_step(span, max(1, (width - 2 * PAD) // TICK_SPACING))
    at = math.ceil(low_ns / step) * step
    out: list[tuple[float, int]] = []
    while at <= high_ns + 1e-6:
        out.append(((at - low_ns) / span, round(at)))
        at += step
    return out


def axis_label(offset_ns: int, first_ns: int, zoomed: bool) -> str:
    """A tick's label: time after the run's start; when zoomed in, ticks after the
    first say how far they are from it (``+50 ms``), which stays readable where
    ``50 min 43 s`` would repeat on every tick."""
    if offset_ns == 0:
        return "0"
    if zoomed and offset_ns != first_ns:
        return "+" + duration_text(offset_ns - first_ns)
    return duration_text(offset_ns)


class TimelineHeader(QHeaderView):
    """A horizontal header drawing the time axis over the Timeline section; it holds
    the time window (ns after the run's start) the bars are drawn in."""

    # Signals
    #: The visible time window changed (zoomed in, or back to the whole run).
    windowChanged = Signal()

    def __init__(self, timeline_column: int, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.column = timeline_column
        self._run_ns = 0
        self.low_ns = 0
        self.high_ns = 0
        self.setSectionsClickable(False)
        self.setHighlightSections(False)
        self.sectionResized.connect(self._on_resized)

    @property
    def zoomed(self) -> bool:
        return (self.low_ns, self.high_ns) != (0, self._run_ns)

    def set_run_duration(self, run_ns: int) -> None:
        """A new run of ``run_ns``: the window becomes the whole run."""
        self._run_ns = max(0, run_ns)
        self.show_window(0, self._run_ns)

    def show_window(self, low_ns: int, high_ns: int) -> None:
        """Show ``low_ns``..``high_ns`` (clamped to the run, at least 1 µs wide)."""
        low = max(0, min(low_ns, self._run_ns))
        high = max(low + 1000, min(high_ns, self._run_ns)) if self._run_ns else low
        self.low_ns, self.high_ns = low, high
        self.viewport().update()
        view = self.parentWidget()
        if view is not None:
            view.update()
            viewport = getattr(view, "viewport", None)
            if viewport is not None:
                viewport().update()
        self.windowChanged.emit()

    def zoom_to(self, start_ns: int, end_ns: int | None) -> None:
        """Fit one span (with a margin of 5 % either side) into the column."""
        end = self._run_ns if end_ns is None else end_ns
        margin = max(1000, (end - start_ns) // 20)
        self.show_window(start_ns - margin, end + margin)

    def reset_zoom(self) -> None:
        self.show_window(0, self._run_ns)

    def x_of(self, offset_ns: float, cell: QRect) -> float:
        """The x coordinate of ``offset_ns`` in a Timeline cell at ``cell``."""
        usable = max(1, cell.width() - 2 * PAD)
        window = max(1, self.high_ns - self.low_ns)
        return cell.left() + PAD + (offset_ns - self.low_ns) / window * usable

    def tick_fractions(self) -> list[float]:
        return [f for f, _ in ticks(self.low_ns, self.high_ns, self.sectionSize(self.column))]

    def _on_resized(self, logical: int, _old: int, _new: int) -> None:
        view = self.parentWidget()
        if logical == self.column and view is not None:
            view.update()  # the grid lines in the rows move with the ticks

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self.logicalIndexAt(event.position().toPoint()) == self.column:
            self.reset_zoom()
            return
        super().mouseDoubleClickEvent(event)

    def paintSection(self, painter: QPainter, rect: QRect, logical: int) -> None:
        if logical != self.column:
            super().paintSection(painter, rect, logical)
            return
        option = QStyleOptionHeader()
        self.initStyleOptionForIndex(option, logical)
        option.rect = rect
        option.text = ""  # the frame as for any section; the axis replaces the title
        painter.save()
        self.style().drawControl(QStyle.ControlElement.CE_Header, option, painter, self)
        painter.restore()
        painter.save()
        painter.setClipRect(rect)
        painter.setPen(QPen(qcolor(colours().muted), 1))
        metrics = painter.fontMetrics()
        usable = max(1, rect.width() - 2 * PAD)
        marks = ticks(self.low_ns, self.high_ns, rect.width())
        if not marks:
            painter.drawText(rect.adjusted(PAD, 0, 0, 0),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             "Timeline")
        drawn_to = rect.left() - 100
        for fraction, offset_ns in marks:
            x = rect.left() + PAD + round(fraction * usable)
            painter.drawLine(x, rect.bottom() - 4, x, rect.bottom())
            label = axis_label(offset_ns, marks[0][1], self.low_ns > 0)
            width = metrics.horizontalAdvance(label) + 2
            left = max(x - width // 2, rect.left() + 2)
            if left + width > rect.right():
                left = rect.right() - width - 1
            if left <= drawn_to + 6:
                continue  # would overlap the previous label
            painter.drawText(QRect(left, rect.top(), width, rect.height() - 4),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, label)
            drawn_to = left + width
        painter.restore()


class WaterfallDelegate(QStyledItemDelegate):
    """Paints the Timeline column's bars (see the module docstring)."""

    def __init__(self, header: TimelineHeader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._header = header

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        # The background (selection, search and path highlights) as for any cell.
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        style = opt.widget.style() if opt.widget is not None else QApplication.style()
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, opt, painter,
                            opt.widget)
        bar = index.data(BAR_ROLE)
        if bar is None:
            return
        start, end, kind, error = bar
        header = self._header
        cell = option.rect
        painter.save()
        painter.setClipRect(cell)
        painter.setPen(QPen(qcolor(colours().grid, GRID_ALPHA), 1))
        usable = max(1, cell.width() - 2 * PAD)
        for fraction in header.tick_fractions():
            x = int(cell.left() + PAD + fraction * usable)
            painter.drawLine(x, cell.top(), x, cell.bottom())
        left = header.x_of(start, cell)
        right = header.x_of(header.high_ns if end is None else end, cell)
        if right < cell.left() or left > cell.right():
            painter.restore()
            return  # outside the zoomed window
        # Clamped so a zoomed-in window does not hand the painter kilometre-wide bars.
        left, right = max(left, cell.left() - 4.0), min(right, cell.right() + 4.0)
        height = max(4.0, cell.height() * 0.5)
        rect = QRectF(left, cell.top() + (cell.height() - height) / 2,
                      max(MIN_BAR, right - left), height)
        color = QColor(error_color() if error else kind_color(kind))
        if end is None:  # still running: fade towards the window's end, no hard edge
            gradient = QLinearGradient(rect.topLeft(), rect.topRight())
            gradient.setColorAt(0.0, color)
            faded = QColor(color)
            faded.setAlpha(40)
            gradient.setColorAt(1.0, faded)
            painter.setBrush(gradient)
        else:
            painter.setBrush(color)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, rect.width() > 4)
        painter.drawRoundedRect(rect, 2, 2)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(200, hint.height())
