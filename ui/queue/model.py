"""The Queue list's item model: a thin Qt adapter over `QueueRows` (rows.py), which
holds the rows, the filter, the order, the cell texts and their tones in plain
Python. This class turns `QueueRows`' change events into Qt's
``begin*/end*`` calls, moves the view's persistent indexes with their actions on a
layout change, picks palette colours for tones, and ticks ages and countdowns once a
second.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from countersign.domain import QueueRow

from ..palette import Palette, colours, qcolor
from ..qt.core import (
    QAbstractTableModel,
    QModelIndex,
    QModelRoleDataSpan,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from ..qt.gui import QColor, QFont
from ..widgets.text import plain_tooltip
from .columns import Column, QueueFilter
from .rows import CellTone, QueueRows

ActionIdRole = Qt.ItemDataRole.UserRole + 1
"""The action's id (int)."""
QueueRowRole = Qt.ItemDataRole.UserRole + 2
"""The whole `QueueRow`."""
DecidingRole = Qt.ItemDataRole.UserRole + 3
"""True while a verdict on this action is being recorded."""

Index = QModelIndex | QPersistentModelIndex


def _tone_colour(palette: Palette, tone: CellTone) -> QColor | None:
    if tone is CellTone.MUTED:
        return qcolor(palette.muted)
    if tone is CellTone.WARNING:
        return qcolor(palette.warning)
    if tone is CellTone.ERROR:
        return qcolor(palette.error)
    return None


class QueueModel(QAbstractTableModel):
    """Pending (or, with ``show_state``, any) actions as a flat, sortable table."""

    # Signals
    #: The set of agents among the rows changed (sorted names) — for the agent filter.
    agentsChanged = Signal(list)
    #: Rows were added or removed: (shown, total).
    countsChanged = Signal(int, int)

    def __init__(self, parent: QObject | None = None, *, show_state: bool = False,
                 clock: Callable[[], float] = time.time, tick_ms: int = 1000) -> None:
        super().__init__(parent)
        self.rows = QueueRows(self, show_state=show_state, clock=clock)
        self._columns = self.rows.columns
        #: During a layout change: each persistent index and the action it was on.
        self._bookmarks: list[tuple[QModelIndex, int | None]] = []
        self._italic = QFont()
        self._italic.setItalic(True)
        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self.refresh_times)
        if tick_ms > 0:
            self._timer.start()

    # -- Qt model API ------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.rows.shown

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemNeverHasChildren)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self._columns):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return QueueRows.title(self._columns[section])
        if role == Qt.ItemDataRole.ToolTipRole and self._columns[section] is Column.DEADLINE:
            return "Time left before the action expires (red under a minute)"
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in _SERVED_ROLES or not index.isValid():
            return None
        row = self.rows.row_at(index.row())
        if row is None:
            return None
        return self._value(row, self._columns[index.column()], role)

    def multiData(self, index: Index,  # type: ignore[override]
                  span: QModelRoleDataSpan) -> None:
        """Every role a delegate asks for in one Python call instead of one each (7
        per painted cell). Each call from Qt into Python must take the GIL, which a
        busy pool thread can hold for a switch interval, so fewer calls is smoother
        painting while the queue loads."""
        row = self.rows.row_at(index.row()) if index.isValid() else None
        column = self._columns[index.column()] if row is not None else None
        for item in span:  # type: ignore[attr-defined]  # iterable in PySide6 ≥ 6.5
            role = item.role()
            value = (None if row is None or column is None or role not in _SERVED_ROLES
                     else self._value(row, column, role))
            if value is None:
                item.clearData()
            else:
                item.setData(value)

    def _value(self, row: QueueRow, column: Column, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self.rows.text(row, column)
        if role == ActionIdRole:
            return row.id
        if role == QueueRowRole:
            return row
        if role == DecidingRole:
            return self.rows.is_deciding(row.id)
        if role == Qt.ItemDataRole.ToolTipRole:
            full = self.rows.full_text(row, column)
            return None if full is None else plain_tooltip(full)
        if role == Qt.ItemDataRole.ForegroundRole:
            return _tone_colour(colours(), self.rows.tone(row, column))
        if role == Qt.ItemDataRole.FontRole:
            return self._italic if self.rows.is_deciding(row.id) else None
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (Column.AGE,
                                                                    Column.DEADLINE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if 0 <= column < len(self._columns):
            self.rows.sort(self._columns[column],
                           descending=order == Qt.SortOrder.DescendingOrder)

    # -- reading (the plain state, for the workspace and tests) ------------------------

    @property
    def total(self) -> int:
        return self.rows.total

    @property
    def filter(self) -> QueueFilter:
        return self.rows.filter

    @property
    def agents(self) -> list[str]:
        return self.rows.agents

    def row_at(self, model_row: int) -> QueueRow | None:
        return self.rows.row_at(model_row)

    def row_of(self, action_id: int) -> int | None:
        """The model row showing ``action_id``, or None (unknown or filtered out)."""
        return self.rows.position_of(action_id)

    def get(self, action_id: int) -> QueueRow | None:
        return self.rows.get(action_id)

    def ids(self) -> list[int]:
        """Shown action ids, in display order (for tests and the benchmark)."""
        return self.rows.ids()

    # -- changing ----------------------------------------------------------------------

    def set_rows(self, rows: Iterable[QueueRow]) -> None:
        """Replace everything (the first load only; streaming uses `apply`)."""
        self.rows.set_rows(rows)

    def set_filter(self, new: QueueFilter) -> None:
        self.rows.set_filter(new)

    def apply(self, upserts: Sequence[QueueRow] = (), removed: Iterable[int] = ()) -> None:
        """Streaming change (see `QueueRows.apply`): row insertions and removals, never
        a reset, so selections stay on their actions."""
        self.rows.apply(upserts, removed)

    def set_deciding(self, action_id: int, deciding: bool) -> None:
        self.rows.set_deciding(action_id, deciding)

    def set_outcomes(self, outcomes: dict[int, str]) -> None:
        """What the State column says for these actions (the History's outcomes)."""
        self.rows.set_outcomes(outcomes)

    def stop_clock(self) -> None:
        """Stop the 1 s refresh (the view is going away)."""
        self._timer.stop()

    def refresh_times(self) -> None:
        """The 1 s tick: ages and countdowns change, nothing else does."""
        if self.rows.shown:
            self.dataChanged.emit(
                self.index(0, Column.AGE), self.index(self.rows.shown - 1, Column.DEADLINE),
                [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ForegroundRole],
            )

    # -- RowsListener: the plain state's changes, as Qt's protocol --------------------

    def rows_inserting(self, first: int, last: int) -> None:
        self.beginInsertRows(QModelIndex(), first, last)

    def rows_inserted(self) -> None:
        self.endInsertRows()

    def rows_removing(self, first: int, last: int) -> None:
        self.beginRemoveRows(QModelIndex(), first, last)

    def rows_removed(self) -> None:
        self.endRemoveRows()

    def rows_changed(self, first: int, last: int) -> None:
        self.dataChanged.emit(self.index(first, 0), self.index(last, len(self._columns) - 1))

    def resetting(self) -> None:
        self.beginResetModel()

    def reset(self) -> None:
        self.endResetModel()

    def layout_changing(self) -> None:
        """Note which action each persistent index (the view's selection and current
        row) is on, to move it there once the order or filter has changed."""
        self.layoutAboutToBeChanged.emit()
        self._bookmarks = [(p, _id(self.rows.row_at(p.row())))
                           for p in self.persistentIndexList()]

    def layout_changed(self) -> None:
        before = [p for p, _ in self._bookmarks]
        after = []
        for p, action_id in self._bookmarks:
            position = None if action_id is None else self.rows.position_of(action_id)
            after.append(QModelIndex() if position is None else self.index(position, p.column()))
        self._bookmarks = []
        self.changePersistentIndexList(before, after)
        self.layoutChanged.emit()

    def counts_changed(self, shown: int, total: int) -> None:
        self.countsChanged.emit(shown, total)

    def agents_changed(self, agents: list[str]) -> None:
        self.agentsChanged.emit(agents)


def _id(row: QueueRow | None) -> int | None:
    return None if row is None else row.id


_SERVED_ROLES = frozenset({
    Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.ToolTipRole,
    Qt.ItemDataRole.ForegroundRole,
    Qt.ItemDataRole.FontRole,
    Qt.ItemDataRole.TextAlignmentRole,
    ActionIdRole,
    QueueRowRole,
    DecidingRole,
})
