"""The Queue list's item model: a thin adapter over `QueueRow` objects.

Sorting and filtering live here, in Python, instead of a QSortFilterProxyModel: at
100,000 rows a proxy calls ``data()`` for every comparison and takes seconds; a key
function over plain objects takes tens of milliseconds.

The rows are kept in two lists sorted ascending by the current sort key (which always
ends with the action id, so every key is unique and `bisect` finds a row exactly):
``_all`` (every row the model holds) and ``_shown`` (those passing the filter). A
descending sort shows ``_shown`` mirrored. Streaming changes become
``beginInsertRows``/``beginRemoveRows`` per contiguous block, so views keep the
reviewer's selection; filter and sort changes are layout changes that move the
persistent indexes along with their actions.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QModelRoleDataSpan,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFont

from countersign.domain import QueueRow, Risk
from countersign.text import make_visible, one_line

from ..palette import colours, qcolor
from .columns import KEYS, TITLES, Column, QueueFilter, format_age, format_countdown

ActionIdRole = Qt.ItemDataRole.UserRole + 1
"""The action's id (int)."""
QueueRowRole = Qt.ItemDataRole.UserRole + 2
"""The whole `QueueRow`."""
DecidingRole = Qt.ItemDataRole.UserRole + 3
"""True while a verdict on this action is being recorded."""

Index = QModelIndex | QPersistentModelIndex

_URGENT_SECONDS = 60
#: Above this many new rows a batch is merged by one sort instead of row by row.
_BULK = 256


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
        self._columns = list(Column) if show_state else list(Column)[:-1]
        self._clock = clock
        self._sort_column = Column.AGE
        self._reverse = True
        self._key = KEYS[Column.AGE]
        self._filter = QueueFilter()
        self._all: list[QueueRow] = []
        self._shown: list[QueueRow] = []
        self._by_id: dict[int, QueueRow] = {}
        self._haystacks: dict[int, str] = {}
        self._deciding: set[int] = set()
        self._agents: list[str] = []
        self._agent_counts: dict[str, int] = {}
        self._agents_dirty = False
        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self.refresh_times)
        if tick_ms > 0:
            self._timer.start()

    # -- Qt model API ------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._shown)

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
            return TITLES[self._columns[section]]
        if role == Qt.ItemDataRole.ToolTipRole and self._columns[section] is Column.DEADLINE:
            return "Time left before the action expires (red under a minute)"
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in _SERVED_ROLES or not index.isValid():
            return None
        row = self.row_at(index.row())
        if row is None:
            return None
        return self._value(row, self._columns[index.column()], role)

    def multiData(self, index: Index,  # type: ignore[override]
                  span: QModelRoleDataSpan) -> None:
        """Every role a delegate asks for in one Python call instead of one each (7
        per painted cell). Each call from Qt into Python must take the GIL, which a
        busy pool thread can hold for a switch interval, so fewer calls is smoother
        painting while the queue loads."""
        row = self.row_at(index.row()) if index.isValid() else None
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
            return self._display(row, column)
        if role == ActionIdRole:
            return row.id
        if role == QueueRowRole:
            return row
        if role == DecidingRole:
            return row.id in self._deciding
        if role == Qt.ItemDataRole.ToolTipRole:
            if column is Column.AGENT:
                return make_visible(row.agent)
            if column is Column.ACTION:
                return make_visible(row.action_class)
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._foreground(row, column)
        if role == Qt.ItemDataRole.FontRole:
            if row.id in self._deciding:
                font = QFont()
                font.setItalic(True)
                return font
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (Column.AGE,
                                                                    Column.DEADLINE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, row: QueueRow, column: Column) -> str:
        if column is Column.AGENT:
            return one_line(row.agent, 80)
        if column is Column.ACTION:
            return one_line(row.action_class, 120)
        if column is Column.RISK:
            return row.risk.value
        if column is Column.AGE:
            return format_age(self._clock() - row.created_at)
        if column is Column.DEADLINE:
            if row.id in self._deciding:
                return "deciding…"
            return format_countdown(self._remaining(row))
        if row.id in self._deciding:
            return "deciding…"
        return row.state.value.replace("_", " ")

    def _remaining(self, row: QueueRow) -> float | None:
        return None if row.deadline is None else row.deadline - self._clock()

    def _foreground(self, row: QueueRow, column: Column) -> QColor | None:
        palette = colours()
        if row.id in self._deciding:
            return qcolor(palette.muted)
        if column is Column.RISK:
            if row.risk is Risk.CRITICAL:
                return qcolor(palette.error)
            return qcolor(palette.warning) if row.risk is Risk.HIGH else None
        if column is Column.DEADLINE:
            left = self._remaining(row)
            if left is not None and left < _URGENT_SECONDS:
                return qcolor(palette.error)
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self._columns):
            return
        self._sort_column = self._columns[column]
        self._reverse = order == Qt.SortOrder.DescendingOrder
        self._key = KEYS[self._sort_column]
        self._relayout(lambda: (self._all.sort(key=self._key), self._shown.sort(key=self._key)))

    # -- reading -----------------------------------------------------------------------

    @property
    def sort_column(self) -> int:
        return self._columns.index(self._sort_column)

    @property
    def sort_order(self) -> Qt.SortOrder:
        return Qt.SortOrder.DescendingOrder if self._reverse else Qt.SortOrder.AscendingOrder

    @property
    def total(self) -> int:
        """Rows held, whether the filter shows them or not."""
        return len(self._all)

    @property
    def filter(self) -> QueueFilter:
        return self._filter

    def row_at(self, model_row: int) -> QueueRow | None:
        if not 0 <= model_row < len(self._shown):
            return None
        return self._shown[-1 - model_row] if self._reverse else self._shown[model_row]

    def row_of(self, action_id: int) -> int | None:
        """The model row showing ``action_id``, or None (unknown or filtered out)."""
        row = self._by_id.get(action_id)
        if row is None:
            return None
        i = self._find(self._shown, row)
        return None if i is None else self._model_row(i, len(self._shown))

    def get(self, action_id: int) -> QueueRow | None:
        return self._by_id.get(action_id)

    def ids(self) -> list[int]:
        """Shown action ids, in display order (for tests and the benchmark)."""
        return [self.row_at(r).id for r in range(len(self._shown))]  # type: ignore[union-attr]

    def _find(self, rows: list[QueueRow], row: QueueRow) -> int | None:
        key = self._key(row)
        i = bisect.bisect_left(rows, key, key=self._key)
        return i if i < len(rows) and rows[i].id == row.id else None

    def _model_row(self, list_index: int, size: int) -> int:
        return size - 1 - list_index if self._reverse else list_index

    def _haystack(self, row: QueueRow) -> str:
        hay = self._haystacks.get(row.id)
        if hay is None:
            hay = self._haystacks[row.id] = f"{row.agent}\x00{row.action_class}".casefold()
        return hay

    def _accepts(self, row: QueueRow) -> bool:
        return self._filter.accepts(row, self._haystack(row))

    # -- changing ----------------------------------------------------------------------

    def set_rows(self, rows: Iterable[QueueRow]) -> None:
        """Replace everything (the first load only; streaming uses `apply`)."""
        self.beginResetModel()
        self._all = sorted(rows, key=self._key)
        self._by_id = {r.id: r for r in self._all}
        self._agent_counts = {}
        for r in self._all:
            self._agent_counts[r.agent] = self._agent_counts.get(r.agent, 0) + 1
        self._agents_dirty = True
        self._haystacks = {}
        self._shown = self._filtered()
        self._deciding &= self._by_id.keys()
        self.endResetModel()
        self._after_change()

    def set_filter(self, new: QueueFilter) -> None:
        if new == self._filter:
            return
        self._filter = new
        self._relayout(lambda: setattr(self, "_shown", self._filtered()))
        self._emit_counts()

    def _filtered(self) -> list[QueueRow]:
        """``_all`` through the filter, one narrowing pass per criterion (plain
        comprehensions: 100,000 rows in a few milliseconds per pass)."""
        f = self._filter
        rows = self._all
        if f.agent is not None:
            agent = f.agent
            rows = [r for r in rows if r.agent == agent]
        if f.risk is not None:
            wanted = f.risk
            risks = ({wanted} if f.exact_risk
                     else {r for r in Risk if r.rank >= wanted.rank})
            rows = [r for r in rows if r.risk in risks]
        if f.text:
            needle = f.text.casefold()
            hay = self._haystack
            rows = [r for r in rows if needle in hay(r)]
        return rows if rows is not self._all else list(rows)

    def apply(self, upserts: Sequence[QueueRow] = (), removed: Iterable[int] = ()) -> None:
        """Streaming change: add or update ``upserts``, drop ``removed`` ids. Emits
        row insertions/removals (never a reset), so selections stay on their actions."""
        gone = {i for i in removed if i in self._by_id}
        fresh: dict[int, QueueRow] = {}
        for row in upserts:
            if row.id in gone:
                continue
            old = self._by_id.get(row.id)
            if old is None:
                fresh[row.id] = row
            elif old != row:
                if self._key(old) == self._key(row) and self._accepts(old) == self._accepts(row):
                    self._replace(old, row)
                else:
                    gone.add(row.id)
                    fresh[row.id] = row
        if gone:
            self._remove(gone)
        if fresh:
            self._insert(list(fresh.values()))
        if gone or fresh:
            self._after_change()

    def set_deciding(self, action_id: int, deciding: bool) -> None:
        """Mark a row while its verdict is being recorded (shows "deciding…")."""
        if deciding:
            self._deciding.add(action_id)
        else:
            self._deciding.discard(action_id)
        model_row = self.row_of(action_id)
        if model_row is not None:
            self.dataChanged.emit(self.index(model_row, 0),
                                  self.index(model_row, len(self._columns) - 1))

    def stop_clock(self) -> None:
        """Stop the 1 s refresh (the view is going away)."""
        self._timer.stop()

    def refresh_times(self) -> None:
        """The 1 s tick: ages and countdowns change, nothing else does."""
        if self._shown:
            self.dataChanged.emit(
                self.index(0, Column.AGE), self.index(len(self._shown) - 1, Column.DEADLINE),
                [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ForegroundRole],
            )

    def _replace(self, old: QueueRow, row: QueueRow) -> None:
        self._by_id[row.id] = row
        self._haystacks.pop(row.id, None)
        if old.agent != row.agent:
            self._count_agent(old.agent, -1)
            self._count_agent(row.agent, +1)
        i = self._find(self._all, old)
        if i is not None:
            self._all[i] = row
        j = self._find(self._shown, old)
        if j is not None:
            self._shown[j] = row
            model_row = self._model_row(j, len(self._shown))
            self.dataChanged.emit(self.index(model_row, 0),
                                  self.index(model_row, len(self._columns) - 1))

    def _remove(self, ids: set[int]) -> None:
        rows = [self._by_id.pop(i) for i in ids]
        for row in rows:
            self._haystacks.pop(row.id, None)
            self._deciding.discard(row.id)
            self._count_agent(row.agent, -1)
        self._all = [r for r in self._all if r.id not in ids]
        positions = sorted(i for r in rows if (i := self._find(self._shown, r)) is not None)
        # Contiguous runs, highest first, so lower list positions stay valid.
        for first, last in reversed(_runs(positions)):
            size = len(self._shown)
            a, b = self._model_row(first, size), self._model_row(last, size)
            self.beginRemoveRows(QModelIndex(), min(a, b), max(a, b))
            del self._shown[first:last + 1]
            self.endRemoveRows()

    def _insert(self, rows: list[QueueRow]) -> None:
        rows.sort(key=self._key)
        for row in rows:
            self._by_id[row.id] = row
            self._count_agent(row.agent, +1)
        visible = [r for r in rows if self._accepts(r)]
        if len(rows) > _BULK:
            self._all = self._merged(self._all, rows)
            self._insert_bulk(visible)
            return
        for row in rows:
            bisect.insort(self._all, row, key=self._key)
        # Group the new rows by where they land in _shown; insert groups from the last.
        groups: list[tuple[int, list[QueueRow]]] = []
        for row in visible:
            at = bisect.bisect_left(self._shown, self._key(row), key=self._key)
            if groups and groups[-1][0] == at:
                groups[-1][1].append(row)
            else:
                groups.append((at, [row]))
        for at, group in reversed(groups):
            self._insert_block(at, group)

    def _insert_block(self, at: int, group: list[QueueRow]) -> None:
        """Insert sorted ``group`` at list position ``at`` of ``_shown``: one block."""
        size = len(self._shown)
        first = size - at if self._reverse else at
        self.beginInsertRows(QModelIndex(), first, first + len(group) - 1)
        self._shown[at:at] = group
        self.endInsertRows()

    def _merged(self, old: list[QueueRow], new: list[QueueRow]) -> list[QueueRow]:
        """Sorted ``old`` and ``new`` as one sorted list; no re-sort when ``new`` lies
        wholly after or before ``old`` (a load arriving in order)."""
        key = self._key
        if not old or key(new[0]) > key(old[-1]):
            return old + new
        if key(new[-1]) < key(old[0]):
            return new + old
        return sorted(old + new, key=key)

    def _insert_bulk(self, visible: list[QueueRow]) -> None:
        """Many rows at once (the rest of the first load): one ``beginInsertRows``
        when they land in one block (the usual case), else a layout change."""
        if not visible:
            return
        key = self._key
        if not self._shown or key(visible[0]) > key(self._shown[-1]):
            self._insert_block(len(self._shown), visible)
        elif key(visible[-1]) < key(self._shown[0]):
            self._insert_block(0, visible)
        else:
            merged = sorted(self._shown + visible, key=key)
            self._relayout(lambda: setattr(self, "_shown", merged))

    def _relayout(self, change: Callable[[], object]) -> None:
        """Apply ``change`` (re-sort or re-filter) as a layout change, moving every
        persistent index (the view's selection and current row) with its action."""
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        ids = [self._id_at(p.row()) for p in before]
        change()
        after = []
        for p, action_id in zip(before, ids, strict=True):
            model_row = None if action_id is None else self.row_of(action_id)
            after.append(QModelIndex() if model_row is None
                         else self.index(model_row, p.column()))
        self.changePersistentIndexList(before, after)
        self.layoutChanged.emit()

    def _id_at(self, model_row: int) -> int | None:
        row = self.row_at(model_row)
        return None if row is None else row.id

    def _after_change(self) -> None:
        self._emit_counts()
        if self._agents_dirty:
            self._agents_dirty = False
            agents = sorted(self._agent_counts, key=str.casefold)
            if agents != self._agents:
                self._agents = agents
                self.agentsChanged.emit(list(agents))

    def _count_agent(self, agent: str, delta: int) -> None:
        count = self._agent_counts.get(agent, 0) + delta
        if count > 0:
            self._agent_counts[agent] = count
        else:
            self._agent_counts.pop(agent, None)
        if count in (0, 1):  # a name appeared or disappeared
            self._agents_dirty = True

    def _emit_counts(self) -> None:
        self.countsChanged.emit(len(self._shown), len(self._all))

    @property
    def agents(self) -> list[str]:
        return list(self._agents)


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


def _runs(positions: list[int]) -> list[tuple[int, int]]:
    """Sorted positions as (first, last) runs of consecutive numbers."""
    runs: list[tuple[int, int]] = []
    for p in positions:
        if runs and runs[-1][1] == p - 1:
            runs[-1] = (runs[-1][0], p)
        else:
            runs.append((p, p))
    return runs
