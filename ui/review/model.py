"""The review list's item model: a thin adapter over `ReviewRows` (rows.py).

It turns the row state's plans into ``beginRemoveRows``/``beginInsertRows`` blocks and
``dataChanged`` (never a reset for a streaming change, so the view keeps the
reviewer's selection on the same item), and a filter change into a layout change that
moves every persistent index with its item.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from countersign.domain import Risk
from countersign.services.review_feed import ReviewLine

from ..palette import colours, qcolor
from ..qt.core import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from ..widgets.text import plain_tooltip
from .rows import TIPS, TITLES, Column, ReviewFilter, ReviewRows, cell_text, labels_tip

ItemIdRole = Qt.ItemDataRole.UserRole + 1
"""The review item's id (int)."""
LineRole = Qt.ItemDataRole.UserRole + 2
"""The whole `ReviewLine`."""

Index = QModelIndex | QPersistentModelIndex
_FLAGS = (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
          | Qt.ItemFlag.ItemNeverHasChildren)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_SERVED = frozenset({Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole,
                     Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.TextAlignmentRole,
                     ItemIdRole, LineRole})


class ReviewQueueModel(QAbstractTableModel):
    """Review items as a flat table, oldest first (see the module docstring)."""

    # Signals
    #: Lines were added, removed or filtered: (shown, held).
    countsChanged = Signal(int, int)

    def __init__(self, parent: QObject | None = None, *, reviewer: str = "",
                 clock: Callable[[], float] = time.time, tick_ms: int = 10_000) -> None:
        super().__init__(parent)
        self.rows = ReviewRows(reviewer)
        self._saving: set[int] = set()
        self._clock = clock
        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self.refresh_ages)
        if tick_ms > 0:
            self._timer.start()

    # -- Qt model API ------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def flags(self, index: Index) -> Qt.ItemFlag:
        return _FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return TITLES[Column(section)]
        if role == Qt.ItemDataRole.ToolTipRole:
            return TIPS.get(Column(section))
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in _SERVED or not index.isValid():
            return None
        line = self.rows.line_at(index.row())
        if line is None or not 0 <= index.column() < len(Column):
            return None
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            if column is Column.LABELS and line.id in self._saving:
                return "saving…"
            return cell_text(line, column, self._clock())
        if role == ItemIdRole:
            return line.id
        if role == LineRole:
            return line
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(line, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            if line.id in self._saving:
                return qcolor(colours().muted)
            return self._foreground(line, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (Column.AGE,
                                                                    Column.LABELS):
            return _RIGHT
        return None

    @staticmethod
    def _tooltip(line: ReviewLine, column: Column) -> str | None:
        if column is Column.LABELS:
            return plain_tooltip(labels_tip(line))
        if column is Column.AGENT and line.agent:
            return plain_tooltip(f"{line.agent} {line.agent_version or ''}".strip())
        if column is Column.ACTION:
            return plain_tooltip(line.action_class or f"run {line.trace_id}")
        if column is Column.WHY:
            return plain_tooltip(line.why)
        return None

    def _foreground(self, line: ReviewLine, column: Column) -> Any:
        palette = colours()
        if column is Column.ACTION and line.risk in (Risk.HIGH.value, Risk.CRITICAL.value):
            return qcolor(palette.warning if line.risk == Risk.HIGH.value else palette.error)
        if column is Column.WHY and line.ad_hoc:
            return qcolor(palette.muted)
        if column is Column.LABELS and line.claimed_by:
            return qcolor(palette.accent)
        if line.state == "done" or self.rows.reviewer in line.labelled_by:
            return qcolor(palette.muted)
        return None

    # -- reading -----------------------------------------------------------------------

    @property
    def total(self) -> int:
        return self.rows.total

    @property
    def filter(self) -> ReviewFilter:
        return self.rows.filter

    def line_at(self, row: int) -> ReviewLine | None:
        return self.rows.line_at(row)

    def row_of(self, item_id: int) -> int | None:
        return self.rows.position_of(item_id)

    def ids(self) -> list[int]:
        return self.rows.shown_ids()

    # -- changing ----------------------------------------------------------------------

    def set_lines(self, lines: Iterable[ReviewLine]) -> None:
        """Replace everything (a first load or a refresh after a state change)."""
        self.beginResetModel()
        self.rows.replace_all(lines)
        self.endResetModel()
        self._emit_counts()

    def apply(self, upserts: Sequence[ReviewLine] = (), removed: Iterable[int] = ()) -> None:
        """Streaming change: rows are removed, inserted and updated in blocks."""
        plan = self.rows.plan(upserts, removed)
        if plan.empty:
            return
        for first, last in plan.removals:
            self.beginRemoveRows(QModelIndex(), first, last)
            self.rows.remove_run(first, last)
            self.endRemoveRows()
        for at, lines in plan.insertions:
            self.beginInsertRows(QModelIndex(), at, at + len(lines) - 1)
            self.rows.insert_at(at, lines)
            self.endInsertRows()
        for position in plan.updates:
            self.dataChanged.emit(self.index(position, 0),
                                  self.index(position, len(Column) - 1))
        self._emit_counts()

    def set_saving(self, item_id: int, saving: bool) -> None:
        """Mark a row whose label is on its way to the store ("saving…")."""
        if saving:
            self._saving.add(item_id)
        else:
            self._saving.discard(item_id)
        row = self.rows.position_of(item_id)
        if row is not None:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(Column) - 1))

    def set_filter(self, new: ReviewFilter) -> None:
        if new == self.rows.filter:
            return
        self._relayout(lambda: self.rows.refilter(new))

    def set_reviewer(self, reviewer: str) -> None:
        if reviewer != self.rows.reviewer:
            self._relayout(lambda: self.rows.refilter(reviewer=reviewer))

    def _relayout(self, change: Callable[[], object]) -> None:
        """A layout change moving every persistent index with its item."""
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        ids = [self._id_at(p.row()) for p in before]
        change()
        after = []
        for p, item_id in zip(before, ids, strict=True):
            row = None if item_id is None else self.rows.position_of(item_id)
            after.append(QModelIndex() if row is None else self.index(row, p.column()))
        self.changePersistentIndexList(before, after)
        self.layoutChanged.emit()
        self._emit_counts()

    def _id_at(self, row: int) -> int | None:
        line = self.rows.line_at(row)
        return None if line is None else line.id

    def refresh_ages(self) -> None:
        """The clock tick: the Age column changes, nothing else does."""
        if len(self.rows):
            self.dataChanged.emit(self.index(0, Column.AGE),
                                  self.index(len(self.rows) - 1, Column.AGE),
                                  [Qt.ItemDataRole.DisplayRole])

    def stop_clock(self) -> None:
        self._timer.stop()

    def _emit_counts(self) -> None:
        self.countsChanged.emit(len(self.rows), self.rows.total)
