"""The selected unit's charts: "no evidence yet" instead of empty plots, 100,000 outcomes
drawn with nothing but finite numbers, five plots on one linked time axis with the
targets of the current and the next level, level changes that explain themselves on
hover and click, and colours that follow the desktop's light or dark palette."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from countersign.domain import AutonomyLevel
from countersign_ui.autonomy.chart_data import chart_data, steps, target_lines
from countersign_ui.autonomy.charts import EvidenceCharts
from countersign_ui.autonomy.unit_view import UnitView
from countersign_ui.palette import DARK, LIGHT, colours, forget_choice

from .units import CONFIG, NOW, big_unit, empty_unit, new_unit, regressed_unit


@pytest.fixture
def charts(qtbot: QtBot) -> EvidenceCharts:
    widget = EvidenceCharts()
    qtbot.addWidget(widget)
    widget.resize(1100, 640)
    widget.show()
    return widget


def _finite(*arrays: np.ndarray) -> bool:
    return all(bool(np.isfinite(a).all()) for a in arrays)


def test_a_unit_without_outcomes_says_no_evidence_yet(qtbot: QtBot) -> None:
    view = UnitView()
    qtbot.addWidget(view)
    view.resize(1100, 700)
    view.show()
    detail = empty_unit().detail()
    view.show_unit(detail, now=NOW)
    assert view.charts.message.isVisible() and not view.charts.canvas.isVisible()
    assert "No evidence yet" in view.charts.message.text()
    assert view.headline.text() == "P(accuracy > 97 %) = no evidence yet"
    assert "no evidence yet" in view.subline.text()
    panel = view.panel.shown_text()
    assert "No evidence yet" in panel and "nan" not in panel.lower()
    # Not even the arrays handed to a plot could hold a NaN.
    data = chart_data(detail, NOW)
    assert data.empty and _finite(np.array(data.accuracy_range), np.array(data.sprt_range),
                                  np.array(data.cusum_range), np.array(data.x_range))


def test_a_few_outcomes_draw_every_chart(charts: EvidenceCharts) -> None:
    detail = new_unit().detail()
    charts.show_unit(detail, now=NOW)
    assert charts.canvas.isVisible() and not charts.message.isVisible()
    x, y = charts.accuracy_curve.getData()
    assert len(x) == 12 and _finite(x, y)
    assert charts.captions["sprt"].textItem.toPlainText() == \
        f"SPRT {detail.evidence.sprt.sum:.2f}: about " \
        f"{detail.evidence.sprt.items_to_decision} clean items to a decision"
    assert [line.label.toPlainText() for line in charts.target_lines] == ["L2 target 97 %"]
    assert not charts.grab().isNull()


def test_100k_outcomes_draw_with_finite_data_on_one_time_axis(
        charts: EvidenceCharts) -> None:
    unit = big_unit()
    detail = unit.detail()
    assert len(unit.batch) == 100_000
    charts.show_unit(detail, now=NOW)
    image = charts.grab()
    assert not image.isNull()
    curves = (charts.accuracy_curve, charts.band_lower, charts.band_upper, charts.cusum_curve,
              charts.sprt_curve, charts.h_line, charts.sprt_lower, charts.sprt_upper,
              charts.level_curve)
    for curve in curves:
        x, y = curve.getData()
        assert x is not None and len(x) > 0 and _finite(x, y)
    # Every scored outcome is handed to the plot; what it draws is downsampled.
    assert len(charts.accuracy_curve.xData) > 0.98 * 100_000
    assert len(charts.accuracy_curve.getData()[0]) < 20_000
    # Constant lines are steps, not 100,000 points.
    assert len(charts.h_line.getData()[0]) < 10
    # One time axis: panning the accuracy chart moves every other chart.
    first, _last = chart_data(detail, NOW).x_range
    charts.accuracy_plot.setXRange(first + 86_400 * 100, first + 86_400 * 130, padding=0)
    for plot in charts.plots:
        low, high = plot.getViewBox().viewRange()[0]
        assert low == pytest.approx(first + 86_400 * 100) and \
            high == pytest.approx(first + 86_400 * 130)
    # Downsampled for the view, clipped to it: what is drawn is a small part.
    drawn = charts.accuracy_curve.curve.getData()[0]
    assert 0 < len(drawn) < 20_000
    # The level changes are marked on every plot (two changes × five plots).
    assert len(charts.change_lines) == 10
    assert charts.captions["level"].textItem.toPlainText().startswith("Level: L1 supervised")


def test_targets_of_the_current_and_next_level() -> None:
    assert [(t.level, t.accuracy, t.next) for t in target_lines(AutonomyLevel.L1, CONFIG)] \
        == [(AutonomyLevel.L2, 0.97, True)]
    assert [(t.level, t.accuracy, t.next) for t in target_lines(AutonomyLevel.L2, CONFIG)] \
        == [(AutonomyLevel.L2, 0.97, False), (AutonomyLevel.L3, 0.99, True)]
    assert [t.text for t in target_lines(AutonomyLevel.L3, CONFIG)] == ["L3 target 99 %"]


def test_steps_hold_each_value_until_it_changes() -> None:
    t = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    x, y = steps(t, np.array([3.5, 3.5, 3.0, 3.0, 3.0]))
    assert x.tolist() == [0.0, 2.0, 2.0, 4.0] and y.tolist() == [3.5, 3.5, 3.0, 3.0]
    x, y = steps(t, np.full(5, 2.0))
    assert x.tolist() == [0.0, 4.0] and y.tolist() == [2.0, 2.0]


def test_a_level_change_explains_itself_on_hover_and_click(
        qtbot: QtBot, charts: EvidenceCharts) -> None:
    detail = regressed_unit().detail()
    charts.show_unit(detail, now=NOW)
    demotion = detail.changes[-1]
    assert demotion.rule.startswith("demotion:")
    points = charts.level_marks.pointsAt(QPointF(demotion.at, 1.0))
    assert len(points) >= 1
    charts._marks_hovered(charts.level_marks, points, None)
    tip = charts.level_plot.getViewBox().toolTip()
    assert "L2 → L1" in tip and "by the rules" in tip
    assert tip.startswith("<p style='white-space:pre-wrap'>")  # escaped plain text
    with qtbot.waitSignal(charts.changeActivated) as clicked:
        charts._marks_clicked(charts.level_marks, points, None)
    assert clicked.args[0] == demotion


@pytest.fixture
def dark_desktop(qapp: QApplication) -> Iterator[None]:
    before = QPalette(qapp.palette())
    forget_choice()
    try:
        yield
    finally:
        qapp.setPalette(before)
        forget_choice()
        from countersign_ui.palette import application_palette_changed

        application_palette_changed()


def test_charts_follow_the_dark_palette(qtbot: QtBot, charts: EvidenceCharts, qapp:
                                        QApplication, dark_desktop: None) -> None:
    charts.show_unit(regressed_unit().detail(), now=NOW)
    assert colours() is LIGHT
    assert charts.canvas.backgroundBrush().color() == QColor(LIGHT.chart.background)
    qapp.setPalette(QPalette(QColor(DARK.chart.background)))
    from countersign_ui.palette import application_palette_changed

    application_palette_changed()
    assert colours() is DARK
    assert charts.canvas.backgroundBrush().color() == QColor(DARK.chart.background)
    assert charts.accuracy_curve.opts["pen"].color() == QColor(DARK.chart.accuracy)
    assert charts.bars[4].opts["brush"].color() == QColor(DARK.chart.outcomes[4])
    assert Qt.PenStyle.DashLine == charts.h_line.opts["pen"].style()


def test_the_charts_leave_no_window_behind() -> None:
    """pyqtgraph makes its (disabled) context menus without a parent; they must go with
    the charts, not linger as top-level windows after the console's window is gone."""
    import shiboken6
    from PySide6.QtCore import QEvent

    before = set(QApplication.topLevelWidgets())
    charts = EvidenceCharts()
    charts.show_unit(new_unit().detail(), now=NOW)
    charts.close()
    charts.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    left = [w for w in QApplication.topLevelWidgets()
            if w not in before and shiboken6.isValid(w)]
    assert left == []
