"""`RunsModel`: the Traces list, a thin table over pages of `RunSummary`.

Runs arrive a page (`PAGE_SIZE`) at a time: the model shows what it has and, when the
view scrolls near the end, asks for the next page through `moreWanted` (its
`canFetchMore` / `fetchMore`), which the workspace loads off the GUI thread and hands
back with `append_page`. A page that belongs to an older filter is refused by its
generation number, so a slow query can never mix its runs into a newer list.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from enum import IntEnum
from typing import Any

from countersign.domain.runs import RunSummary
from countersign.text import duration_text, one_line

from ..inspector.format import compact_count, cost_text
from ..palette import colours, qcolor
from ..qt.core import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from ..widgets.text import plain_tooltip

#: Runs per page fetched from the store.
PAGE_SIZE = 500


class RunColumn(IntEnum):
    STARTED = 0
    AGENT = 1
    RUN = 2
    SPANS = 3
    DURATION = 4
    TOKENS = 5
    COST = 6
    STATUS = 7
    PENDING = 8


_HEADERS = ("Started", "Agent", "Run", "Spans", "Duration", "Tokens", "Cost", "Status",
            "Pending")
#: The row's `RunSummary`.
RUN_ROLE = Qt.ItemDataRole.UserRole + 1
#: The row's trace id (str).
TRACE_ID_ROLE = Qt.ItemDataRole.UserRole + 2
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
_Index = QModelIndex | QPersistentModelIndex


def started_text(started_ns: int, now: float | None = None) -> str:
    """``14:03:27`` today, ``Nov 19 14:03`` this year, else ``2024-11-19 14:03``."""
    seconds = started_ns / 1e9
    local = time.localtime(seconds)
    today = time.localtime(time.time() if now is None else now)
    if local[:3] == today[:3]:
        return time.strftime("%H:%M:%S", local)
    if local.tm_year == today.tm_year:
        return time.strftime("%b %d %H:%M", local)
    return time.strftime("%Y-%m-%d %H:%M", local)


class RunsModel(QAbstractTableModel):
    """See the module docstring."""

    # Signals
    #: The view wants more rows: load the page at this offset, then `append_page`.
    moreWanted = Signal(int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[RunSummary] = []
        self._complete = True
        self._loading = False
        self.generation = 0
        #: How many runs match the filter in all (None until counted).
        self.total: int | None = None

    # -- content -----------------------------------------------------------------------

    def reset(self, rows: Sequence[RunSummary], *, complete: bool,
              total: int | None = None) -> int:
        """Show the first page of a new filter; returns the new generation."""
        self.beginResetModel()
        self.generation += 1
        self._rows = list(rows)
        self._complete = complete
        self._loading = False
        self.total = total
        self.endResetModel()
        return self.generation

    def append_page(self, generation: int, rows: Sequence[RunSummary], *,
                    complete: bool) -> bool:
        """Add a page loaded for ``generation``; False (and nothing added) when the
        list has been reset since."""
        if generation != self.generation:
            return False
        self._loading = False
        self._complete = complete or not rows
        if rows:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
            self._rows.extend(rows)
            self.endInsertRows()
        return True

    def page_failed(self, generation: int) -> None:
        """The page could not be loaded: stop asking until the next reset."""
        if generation == self.generation:
            self._loading = False
            self._complete = True

    def run_at(self, row: int) -> RunSummary | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, trace_id: str) -> int | None:
        for row, run in enumerate(self._rows):
            if run.trace_id == trace_id:
                return row
        return None

    @property
    def complete(self) -> bool:
        return self._complete

    # -- lazy loading ------------------------------------------------------------------

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._complete and not self._loading

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:  # noqa: B008
        if self.canFetchMore(parent):
            self._loading = True
            self.moreWanted.emit(len(self._rows))

    # -- table -------------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(_HEADERS)

    def flags(self, index: _Index) -> Qt.ItemFlag:
        return _FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(_HEADERS)):
            return _HEADERS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        run = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(run, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == RunColumn.STATUS and run.status == "error":
                return qcolor(colours().error)
            if column == RunColumn.PENDING and run.pending_actions:
                return qcolor(colours().warning)
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if RunColumn.SPANS <= column <= RunColumn.COST else None
        if role == Qt.ItemDataRole.ToolTipRole and column == RunColumn.RUN:
            return plain_tooltip(one_line(run.name, 500)) or None
        if role == RUN_ROLE:
            return run
        if role == TRACE_ID_ROLE:
            return run.trace_id
        return None

    @staticmethod
    def _display(run: RunSummary, column: int) -> str:
        if column == RunColumn.STARTED:
            return started_text(run.started_ns)
        if column == RunColumn.AGENT:
            return one_line(run.agent_name or "—", 80)
        if column == RunColumn.RUN:
            return one_line(run.name, 160) or "(root span not yet seen)"
        if column == RunColumn.SPANS:
            errors = f" ({run.error_count:,} failed)" if run.error_count else ""
            return f"{run.span_count:,}{errors}"
        if column == RunColumn.DURATION:
            return duration_text(run.duration_ns)
        if column == RunColumn.TOKENS:
            return compact_count(run.total_tokens) if run.total_tokens else ""
        if column == RunColumn.COST:
            return cost_text(run.total_cost) if run.total_cost else ""
        if column == RunColumn.STATUS:
            return one_line(run.status, 12)
        return f"{run.pending_actions} pending" if run.pending_actions else ""
