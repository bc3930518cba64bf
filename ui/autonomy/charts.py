"""`EvidenceCharts`: the selected unit in one view (AUTONOMY.md, "What the lead sees").

Five pyqtgraph plots stacked on one linked time axis (UTC): the weighted accuracy with
its Wilson band and the target lines of the current and the next level; the CUSUM
with its h; the SPRT between its boundaries; the outcomes stacked per time bucket;
the level as a step chart whose changes can be hovered (a plain-text summary) and
clicked (`changeActivated`: the evidence snapshot). A vertical line marks each level
change on every plot, because the statistics restart there.

The lead pans and zooms time only (mouse drag and wheel); every y range is set per
unit. Curves of 100,000 points stay interactive by peak downsampling and clipping to
the view (STYLE.md's pyqtgraph rule); constant lines are drawn as steps (chart_data).
A unit without outcomes shows "no evidence yet", never an empty chart or a NaN.
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg

from countersign.domain.autonomy import LevelChange

from ..palette import Palette, on_palette, qcolor
from ..qt.core import QPointF, Qt, Signal
from ..qt.gui import QFont
from ..qt.widgets import QLabel, QStackedWidget, QVBoxLayout, QWidget
from ..widgets.text import plain_tooltip
from .axes import SparseAxis
from .chart_data import LEVEL_RANGE, ChartData, chart_data
from .rows import UnitDetail, change_summary, unit_text

AXIS_WIDTH = 62
#: Height shares of the five plots: accuracy gets the most, the level the least.
_ROW_STRETCH = (3, 2, 2, 2, 1)
#: Downsampling bins per horizontal pixel for the long curves (see `_build_items`).
BINS_PER_PIXEL = 2.0
_CATEGORIES = ("approve", "cosmetic edit", "material edit", "reject", "critical")
_BUCKET_NAMES = {3_600.0: "hour", 21_600.0: "6 hours", 86_400.0: "day",
                 604_800.0: "week", 2_592_000.0: "30 days"}


def _bucket_name(seconds: float) -> str:
    return _BUCKET_NAMES.get(seconds, f"{seconds / 3_600:g} h")


class EvidenceCharts(QWidget):
    """See the module docstring. `show_unit` draws a unit, `clear` shows a hint."""

    # Signals
    #: A level change was clicked on the level chart (its `LevelChange`).
    changeActivated = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("unitCharts")
        self.detail: UnitDetail | None = None
        self.data: ChartData | None = None
        self.canvas = pg.GraphicsLayoutWidget(self)
        self.canvas.setObjectName("autonomyCharts")
        self.canvas.ci.setSpacing(2)
        self.message = QLabel(self)
        self.message.setObjectName("chartsMessage")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self._stack = QStackedWidget(self)
        self._stack.addWidget(self.message)
        self._stack.addWidget(self.canvas)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._stack)
        #: Each plot's caption (plain text, pinned to its top-left corner).
        self.captions: dict[str, pg.TextItem] = {}
        # Each plot's caption names it in words; the axis label gives its unit.
        self.accuracy_plot = self._plot(0, "%", "accuracy")
        self.cusum_plot = self._plot(1, "B_t", "cusum")
        self.sprt_plot = self._plot(2, "log LR", "sprt")
        self.outcomes_plot = self._plot(3, "count", "outcomes")
        self.level_plot = self._plot(4, "level", "level")
        self.plots = (self.accuracy_plot, self.cusum_plot, self.sprt_plot,
                      self.outcomes_plot, self.level_plot)
        for plot in self.plots[1:]:
            plot.setXLink(self.accuracy_plot)
        for plot in self.plots[:-1]:
            plot.getAxis("bottom").setStyle(showValues=False)
        self.level_plot.setLabel("bottom", "time (UTC)")
        self._build_items()
        self._hovered: LevelChange | None = None
        on_palette(self, self._apply_palette)
        self.clear()

    # -- building ----------------------------------------------------------------------

    def _plot(self, row: int, label: str, name: str) -> pg.PlotItem:
        axes = {"bottom": pg.DateAxisItem(orientation="bottom", utcOffset=0),
                "left": SparseAxis(levels=name == "level",
                                   ceiling=100.0 if name == "accuracy" else None)}
        plot: pg.PlotItem = self.canvas.addPlot(row=row, col=0, axisItems=axes)
        plot.setDownsampling(auto=True, mode="peak")
        plot.setClipToView(True)
        plot.setMenuEnabled(False)
        # pyqtgraph builds its context menus without a Qt parent: owned by this widget,
        # they are deleted with it instead of outliving the window.
        for menu in (plot.ctrlMenu, plot.getViewBox().menu):
            if menu is not None and menu.parent() is None:
                menu.setParent(self, menu.windowFlags())
        plot.hideButtons()
        plot.setLabel("left", label)
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.85))
        for side in ("left", "bottom"):
            axis = plot.getAxis(side)
            axis.setTickFont(small)
        plot.getAxis("left").setWidth(AXIS_WIDTH)
        plot.getViewBox().setMouseEnabled(x=True, y=False)
        self.canvas.ci.layout.setRowStretchFactor(row, _ROW_STRETCH[row])
        caption = pg.TextItem(anchor=(0, 0))
        caption.setFont(small)
        caption.setParentItem(plot.getViewBox())
        caption.setPos(QPointF(4, 1))
        caption.setZValue(10)
        self.captions[name] = caption
        return plot

    def _build_items(self) -> None:
        acc = self.accuracy_plot
        self.band_lower = acc.plot([], [])
        self.band_upper = acc.plot([], [])
        self.band = pg.FillBetweenItem(self.band_lower, self.band_upper)
        acc.addItem(self.band)
        self.accuracy_curve = acc.plot([], [])
        self.target_lines: list[pg.InfiniteLine] = []
        self.cusum_curve = self.cusum_plot.plot([], [])
        self.h_line = self.cusum_plot.plot([], [])
        self.sprt_curve = self.sprt_plot.plot([], [])
        self.sprt_upper = self.sprt_plot.plot([], [])
        self.sprt_lower = self.sprt_plot.plot([], [])
        self.bars = [pg.BarGraphItem(x=[], height=[], width=1.0, name=name)
                     for name in _CATEGORIES]
        for bar in self.bars:
            self.outcomes_plot.addItem(bar)
        # The legend has a row of its own under the time axis: inside the plot it
        # would cover the bars once the plot is short.
        self.legend = pg.LegendItem(colCount=5, labelTextSize="8pt", horSpacing=18)
        self.canvas.addItem(self.legend, row=5, col=0)
        for bar, name in zip(self.bars, _CATEGORIES, strict=True):
            self.legend.addItem(bar, name)
        self.level_curve = self.level_plot.plot([], [])
        for curve in (self.band_lower, self.band_upper, self.accuracy_curve,
                      self.cusum_curve, self.sprt_curve):
            # Peak downsampling keeps each bin's minimum and maximum, so two bins a pixel
            # draw the same envelope as pyqtgraph's default five, with 2.5 times fewer
            # points to paint and to fill the band between.
            curve.opts["autoDownsampleFactor"] = BINS_PER_PIXEL
        self.level_marks = pg.ScatterPlotItem(hoverable=True, tip=None, size=10)
        self.level_plot.addItem(self.level_marks)
        self.level_marks.sigHovered.connect(self._marks_hovered)
        self.level_marks.sigClicked.connect(self._marks_clicked)
        self.change_lines: list[tuple[pg.PlotItem, pg.InfiniteLine]] = []

    # -- content -----------------------------------------------------------------------

    def clear(self, text: str = "Select a unit to see its evidence") -> None:
        """No unit on show: the hint instead of charts."""
        self.detail = None
        self.data = None
        self.message.setText(text)
        self._stack.setCurrentWidget(self.message)

    def show_unit(self, detail: UnitDetail, now: float | None = None) -> None:
        """Draw ``detail`` (a unit without any outcome gets the "no evidence yet"
        message instead of five empty plots). The level chart runs to ``now``, by
        default the moment the evidence was computed."""
        self.detail = detail
        data = chart_data(detail, detail.evidence.now if now is None else now)
        self.data = data
        if data.empty:
            self.message.setText(
                f"No evidence yet for {unit_text(detail.key)}: no reviewed outcome so far. "
                f"It is at {detail.evidence.level.label}; the charts appear with its first "
                "reviewed action.")
            self._stack.setCurrentWidget(self.message)
            return
        self._stack.setCurrentWidget(self.canvas)
        self._draw(data, detail)

    def _draw(self, data: ChartData, detail: UnitDetail) -> None:
        evidence = detail.evidence
        # Ranges first: curves clipped to the view and downsampled for it are then
        # computed once, for the range they are shown in.
        self._ranges(data)
        # The band's fill follows both edges; it is built once, when the second is set.
        self.band_lower.blockSignals(True)
        try:
            self.band_lower.setData(data.t, data.lower_pct)
        finally:
            self.band_lower.blockSignals(False)
        self.band_upper.setData(data.t, data.upper_pct)
        self.accuracy_curve.setData(data.t, data.accuracy_pct)
        for line in self.target_lines:
            self.accuracy_plot.removeItem(line)
        self.target_lines = [
            pg.InfiniteLine(pos=target.accuracy * 100.0, angle=0, movable=False,
                            label=target.text,
                            labelOpts={"position": 0.98 if target.next else 0.78,
                                       "anchors": [(1, 1), (1, 1)]})
            for target in data.targets]
        for line in self.target_lines:
            self.accuracy_plot.addItem(line)
        self.cusum_curve.setData(data.t, data.cusum)
        self.h_line.setData(*data.h_steps)
        self.sprt_curve.setData(data.t, data.sprt)
        self.sprt_upper.setData(*data.sprt_upper_steps)
        self.sprt_lower.setData(*data.sprt_lower_steps)
        for k, bar in enumerate(self.bars):
            bar.setOpts(x=data.bar_x, y0=data.bar_bottoms[k], height=data.bar_heights[k],
                        width=data.bar_width)
        self.level_curve.setData(data.level_x, data.level_y)
        self.level_marks.setData(
            x=[c.at for c in detail.changes],
            y=[float(data.level_codes[i]) for i in range(len(detail.changes))],
            data=list(range(len(detail.changes))))
        for plot, line in self.change_lines:
            plot.removeItem(line)
        self.change_lines = []
        for change in detail.changes[1:]:
            for plot in self.plots:
                line = pg.InfiniteLine(pos=change.at, angle=90, movable=False)
                plot.addItem(line, ignoreBounds=True)
                self.change_lines.append((plot, line))
        to_go = evidence.sprt.items_to_decision
        self.captions["accuracy"].setText(
            "Accuracy, weighted, with its 95 % band")
        preview = "" if evidence.level.value in ("L2", "L3") else \
            " (L2's watch, shown as a preview: below L2 it demotes nothing)"
        self.captions["cusum"].setText(
            f"CUSUM {evidence.cusum.value:.2f}, alarm at h = {evidence.cusum.h:g}{preview}")
        self.captions["sprt"].setText(
            f"SPRT {evidence.sprt.sum:.2f}: "
            + (f"about {to_go} clean items to a decision" if to_go
               else "at the promotion boundary"))
        self.captions["outcomes"].setText(
            f"Outcomes per {_bucket_name(data.bucket_seconds)}")
        self.captions["level"].setText(
            f"Level: {evidence.level.label} (hover or click a change for its evidence)")
        if self._applied is not None:
            self._apply_palette(self._applied)

    def _ranges(self, data: ChartData) -> None:
        first, last = data.x_range
        pad = (last - first) * 0.01
        for plot in self.plots:
            plot.getViewBox().setLimits(xMin=first - pad * 5, xMax=last + pad * 5)
        self.accuracy_plot.setXRange(first - pad, last + pad, padding=0)
        self.accuracy_plot.setYRange(*data.accuracy_range, padding=0)
        self.cusum_plot.setYRange(*data.cusum_range, padding=0)
        self.sprt_plot.setYRange(*data.sprt_range, padding=0)
        self.outcomes_plot.setYRange(*data.outcomes_range, padding=0)
        self.level_plot.setYRange(*LEVEL_RANGE, padding=0)

    # -- level changes -----------------------------------------------------------------

    def _change_of(self, points: Any) -> LevelChange | None:
        if self.detail is None or len(points) == 0:
            return None
        index = points[0].data()
        changes = self.detail.changes
        return changes[index] if isinstance(index, int) and 0 <= index < len(changes) \
            else None

    def _marks_hovered(self, _item: object, points: Any, _event: object) -> None:
        change = self._change_of(points)
        self._hovered = change
        view = self.level_plot.getViewBox()
        view.setToolTip(plain_tooltip(change_summary(change)) if change is not None else "")

    def _marks_clicked(self, _item: object, points: Any, _event: object) -> None:
        change = self._change_of(points)
        if change is not None:
            self.changeActivated.emit(change)

    # -- colours -----------------------------------------------------------------------

    _applied: Palette | None = None

    def _apply_palette(self, palette: Palette) -> None:
        self._applied = palette
        chart = palette.chart
        self.canvas.setBackground(qcolor(chart.background))
        fg = qcolor(chart.foreground)
        for plot in self.plots:
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                axis.setPen(fg)
                axis.setTextPen(fg)
        for caption in self.captions.values():
            caption.setColor(fg)
            caption.fill = pg.mkBrush(qcolor(chart.background, 160))
        band = qcolor(chart.accuracy, 60)
        self.band_lower.setPen(pg.mkPen(band, width=1))
        self.band_upper.setPen(pg.mkPen(band, width=1))
        self.band.setBrush(pg.mkBrush(qcolor(chart.accuracy, 45)))
        # Curves of up to 100,000 points are drawn with one-pixel (cosmetic) pens: wider
        # ones make Qt's raster engine take 3-4 ms per curve per frame while panning.
        self.accuracy_curve.setPen(pg.mkPen(qcolor(chart.accuracy), width=1))
        for line, target in zip(self.target_lines, self.data.targets if self.data else (),
                                strict=False):
            colour = chart.next_target if target.next else chart.current_target
            line.setPen(pg.mkPen(qcolor(colour), width=1.5, style=Qt.PenStyle.DashLine))
            line.label.setColor(qcolor(colour))
        self.cusum_curve.setPen(pg.mkPen(qcolor(chart.statistic), width=1))
        self.sprt_curve.setPen(pg.mkPen(qcolor(chart.statistic), width=1))
        dashed = Qt.PenStyle.DashLine
        self.h_line.setPen(pg.mkPen(qcolor(chart.alarm), width=1.5, style=dashed))
        self.sprt_lower.setPen(pg.mkPen(qcolor(chart.alarm), width=1.5, style=dashed))
        self.sprt_upper.setPen(pg.mkPen(qcolor(chart.promote), width=1.5, style=dashed))
        for bar, colour in zip(self.bars, chart.outcomes, strict=True):
            bar.setOpts(brush=pg.mkBrush(qcolor(colour)), pen=pg.mkPen(None))
        self.legend.setLabelTextColor(fg)
        for _sample, label in self.legend.items:  # pyqtgraph recolours only new labels
            label.setText(label.text, color=fg)
        self.level_curve.setPen(pg.mkPen(qcolor(chart.level), width=2))
        self.level_marks.setBrush(pg.mkBrush(qcolor(chart.level)))
        self.level_marks.setPen(pg.mkPen(qcolor(chart.background), width=1.5))
        for _plot, line in self.change_lines:
            line.setPen(pg.mkPen(qcolor(chart.level, 110), width=1, style=Qt.PenStyle.DotLine))
        self.message.setStyleSheet(f"color: {palette.muted}; font-size: 14px;")
