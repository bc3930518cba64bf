"""The units table: a correct Qt model (qtmodeltester), the texts a lead reads (accuracy
with its band, P(accuracy > target), the recommendation; "no evidence yet", never NaN),
sorting by the numbers rather than the texts, filtering by every word, refreshes that
merge instead of resetting, and the highlight of an automatically demoted unit."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QStyleOptionViewItem, QTableView
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from countersign_ui.autonomy.model import (
    DEMOTED_ROLE,
    UNIT_KEY_ROLE,
    UnitColumn,
    UnitsFilter,
    UnitsModel,
)
from countersign_ui.autonomy.rows import NO_EVIDENCE, UnitRow
from countersign_ui.autonomy.sparkline import SparklineDelegate

from .units import empty_unit, new_unit, ready_unit, regressed_unit, row_of


def _rows() -> list[UnitRow]:
    return [row_of(u.detail()) for u in (ready_unit(), regressed_unit(), new_unit(),
                                         empty_unit())]


def _texts(model: UnitsModel | UnitsFilter, column: int) -> list[str]:
    return [model.index(r, column).data() for r in range(model.rowCount())]


def test_model_contract_and_texts(qtmodeltester: ModelTester) -> None:
    model = UnitsModel()
    model.set_rows(_rows())
    qtmodeltester.check(model)
    assert model.rowCount() == 4 and model.columnCount() == len(UnitColumn)
    assert _texts(model, UnitColumn.AGENT) == ["billing-bot", "support-triage", "crm-sync",
                                               "fresh-agent"]
    ready = model.unit_at(0)
    assert ready is not None and ready.evidence.recommendation == "promote"
    assert model.index(0, UnitColumn.RECOMMENDATION).data() == "promote to L2"
    assert model.index(0, UnitColumn.LEVEL).data() == "L1 supervised"
    # 420 reviews at pi 1: n_eff is n.
    assert model.index(0, UnitColumn.COUNTS).data() == "420 / 420.0"
    accuracy = 1 - (ready.evidence.failure_rate or 0)
    assert model.index(0, UnitColumn.ACCURACY).data().startswith(f"{accuracy * 100:.1f} % (")
    assert model.index(0, UnitColumn.P_ABOVE).data() == \
        f"{ready.evidence.p_above_target:.2f} > 97 %"
    # The unit without outcomes says so in every figure, never NaN.
    for column in (UnitColumn.ACCURACY, UnitColumn.P_ABOVE):
        assert model.index(3, column).data() == NO_EVIDENCE
    assert model.index(3, UnitColumn.COUNTS).data() == "0"
    for row in range(4):
        for column in range(len(UnitColumn)):
            text = model.index(row, column).data()
            assert text is None or "nan" not in text.lower()
    assert model.index(0, UnitColumn.RECOMMENDATION).data(
        Qt.ItemDataRole.ForegroundRole) is not None
    assert "All 9 rules" in model.index(0, UnitColumn.RECOMMENDATION).data(
        Qt.ItemDataRole.ToolTipRole)


def test_sorting_uses_numbers_and_puts_no_evidence_below_any(
        qtmodeltester: ModelTester) -> None:
    model = UnitsModel()
    model.set_rows(_rows())
    proxy = UnitsFilter()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)
    proxy.sort(UnitColumn.P_ABOVE, Qt.SortOrder.DescendingOrder)
    agents = _texts(proxy, UnitColumn.AGENT)
    assert agents[0] == "billing-bot" and agents[-1] == "fresh-agent"
    proxy.sort(UnitColumn.COUNTS, Qt.SortOrder.AscendingOrder)
    counts = [model.unit_at(model.row_of(proxy.index(r, 0).data(UNIT_KEY_ROLE)) or 0)
              for r in range(proxy.rowCount())]
    assert [c.evidence.n for c in counts if c is not None] == [0, 12, 283, 420]
    # Demote sorts first: what needs the lead's attention is on top.
    proxy.sort(UnitColumn.RECOMMENDATION, Qt.SortOrder.AscendingOrder)
    assert proxy.index(0, UnitColumn.RECOMMENDATION).data() == "promote to L2"


def test_filter_keeps_units_matching_every_word() -> None:
    model = UnitsModel()
    model.set_rows(_rows())
    proxy = UnitsFilter()
    proxy.setSourceModel(model)
    proxy.set_text("BILLING promote")
    assert _texts(proxy, UnitColumn.AGENT) == ["billing-bot"]
    proxy.set_text("send_email")
    assert _texts(proxy, UnitColumn.AGENT) == ["support-triage"]
    proxy.set_text("L1 hold")
    assert sorted(_texts(proxy, UnitColumn.AGENT)) == ["crm-sync", "fresh-agent",
                                                       "support-triage"]
    proxy.set_text("nothing-like-this")
    assert proxy.rowCount() == 0
    proxy.set_text("")
    assert proxy.rowCount() == 4


def test_refresh_merges_by_unit(qtbot: QtBot, qtmodeltester: ModelTester) -> None:
    model = UnitsModel()
    rows = _rows()
    model.set_rows(rows)
    qtmodeltester.check(model)
    resets: list[bool] = []
    model.modelReset.connect(lambda: resets.append(True))
    changed: list[int] = []
    model.dataChanged.connect(lambda top, bottom, _roles: changed.extend(
        range(top.row(), bottom.row() + 1)))
    removed: list[tuple[int, int]] = []
    model.rowsRemoved.connect(lambda _p, first, last: removed.append((first, last)))
    # The new unit gathered evidence; the unit without outcomes is gone; the same rows
    # otherwise: one row changes, one is removed, nothing is reset.
    later = new_unit()
    later.batch = later.batch.slice(0, 6)
    model.set_rows([rows[0], rows[1], row_of(later.detail())])
    assert resets == [] and removed == [(3, 3)] and changed == [2]
    assert model.rowCount() == 3
    assert model.index(2, UnitColumn.COUNTS).data() == "6 / 6.0"
    # A new unit is appended in one insertion.
    with qtbot.waitSignal(model.rowsInserted) as inserted:
        model.set_rows([*_rows()])
    assert inserted.args[1:] == [3, 3]


def test_an_automatic_demotion_highlights_the_row_until_cleared() -> None:
    model = UnitsModel()
    model.set_rows(_rows())
    key = model.unit_at(1)
    assert key is not None
    assert model.index(1, 0).data(Qt.ItemDataRole.BackgroundRole) is None
    model.mark_demoted(key.key)
    assert model.index(1, 0).data(DEMOTED_ROLE) is True
    assert model.index(1, 0).data(Qt.ItemDataRole.BackgroundRole) is not None
    assert "Demoted by the rules" in model.index(1, UnitColumn.AGENT).data(
        Qt.ItemDataRole.ToolTipRole)
    model.mark_demoted(key.key, False)
    assert model.index(1, 0).data(Qt.ItemDataRole.BackgroundRole) is None


def test_sparkline_is_the_thinned_accuracy_and_paints() -> None:
    row = _rows()[0]
    assert row.sparkline is not None and 0 < row.sparkline.shape[0] <= 48
    assert np.isfinite(row.sparkline).all()
    assert math.isclose(float(row.sparkline[-1]), 1 - (row.evidence.failure_rate or 0))
    model = UnitsModel()
    model.set_rows(_rows())
    view = QTableView()
    view.setModel(model)
    delegate = SparklineDelegate(view)
    for r in (0, 3):  # a unit with evidence, and one without
        image = QImage(160, 24, QImage.Format.Format_ARGB32)
        image.fill(0)
        painter = QPainter(image)
        option = QStyleOptionViewItem()
        option.rect = image.rect()
        delegate.paint(painter, option, model.index(r, UnitColumn.TREND))
        painter.end()
        painted = sum(1 for x in range(160) for y in range(24) if image.pixel(x, y))
        assert painted > 40, f"row {r} painted nothing"
    assert model.index(0, UnitColumn.TREND).data() is None  # painted, not written
