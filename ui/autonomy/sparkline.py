"""`SparklineDelegate`: the units table's trend column, the unit's accuracy over its
history as a small line, with the target as a faint line across.

It paints from the row's `UnitRow.sparkline` (already thinned to a few dozen points
off the GUI thread), so a table of a thousand units scrolls without computing
anything. A unit without evidence shows the words, never an empty box.
"""

from __future__ import annotations

from ..palette import colours, qcolor
from ..qt.core import QModelIndex, QPersistentModelIndex, QPointF, QRectF, QSize, Qt
from ..qt.gui import QPainter, QPen, QPolygonF
from ..qt.widgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem
from .model import UNIT_ROW_ROLE
from .rows import NO_EVIDENCE, UnitRow

#: The lowest accuracy a sparkline's scale starts at (below it the line is clipped):
#: the differences that matter lie between 80 % and 100 %.
SPARK_FLOOR = 0.8
_PAD = 3.0


class SparklineDelegate(QStyledItemDelegate):
    """See the module docstring."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        row = index.data(UNIT_ROW_ROLE)
        if not isinstance(row, UnitRow):
            super().paint(painter, option, index)
            return
        # The selection and row background as for any cell, without text.
        self.initStyleOption(option, index)
        option.text = ""
        style = option.widget.style() if option.widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter,
                              option.widget)
        palette = colours()
        rect = QRectF(option.rect).adjusted(_PAD, _PAD, -_PAD, -_PAD)
        points = row.sparkline
        painter.save()
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            if points is None or points.shape[0] == 0:
                selected = bool(option.state & QStyle.StateFlag.State_Selected)
                painter.setPen(option.palette.highlightedText().color() if selected
                               else qcolor(palette.muted))
                painter.drawText(rect, Qt.AlignmentFlag.AlignVCenter,
                                 "…" if points is None else NO_EVIDENCE)
                return
            floor = min(SPARK_FLOOR, row.evidence.target - 0.02)
            span = 1.0 - floor

            def y_of(value: float) -> float:
                return rect.bottom() - (max(value, floor) - floor) / span * rect.height()

            target_pen = QPen(qcolor(palette.chart.next_target, 150), 1.0,
                              Qt.PenStyle.DotLine)
            painter.setPen(target_pen)
            target_y = y_of(row.evidence.target)
            painter.drawLine(QPointF(rect.left(), target_y), QPointF(rect.right(), target_y))
            count = points.shape[0]
            step = rect.width() / max(count - 1, 1)
            line = QPolygonF([QPointF(rect.left() + i * step, y_of(float(v)))
                              for i, v in enumerate(points.tolist())])
            painter.setPen(QPen(qcolor(palette.chart.accuracy), 1.5))
            if count == 1:
                painter.drawEllipse(line.at(0), 1.5, 1.5)
            else:
                painter.drawPolyline(line)
        finally:
            painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem,
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(max(hint.width(), 120), hint.height())
