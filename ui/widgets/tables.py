"""The console's read-only row lists (Queue, History, Review, runs, units, datasets,
rubrics, retrieved documents) as one kind of table: whole rows, one at a time, no
editing, no grid, no wrapping, alternating rows, no row numbers, left-aligned column
titles that do not light up with the selection."""

from __future__ import annotations

from ..qt.core import QAbstractItemModel, Qt
from ..qt.widgets import QAbstractItemView, QHeaderView, QTableView, QWidget


def row_table(parent: QWidget, name: str, model: QAbstractItemModel, *,
              row_padding: int | None = None, tab_moves_on: bool = True) -> QTableView:
    """A `QTableView` over ``model`` set up as a row list. ``row_padding``: rows of a
    fixed height, one text line plus this many pixels (a fixed height also spares Qt
    measuring every row of a long list); None keeps Qt's own. ``tab_moves_on``: Tab
    leaves the table instead of stepping through the cells of a row."""
    view = QTableView(parent)
    view.setObjectName(name)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setTabKeyNavigation(not tab_moves_on)
    view.setAlternatingRowColors(True)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.setCornerButtonEnabled(False)
    rows = view.verticalHeader()
    rows.hide()
    if row_padding is not None:
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(view.fontMetrics().height() + row_padding)
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    return view
