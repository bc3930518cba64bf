"""`RunsModel`: the Traces list, a thin table over pages of `RunSummary`.

Runs arrive a page (`PAGE_SIZE`) at a time: the model shows what it has and, when the
view scrolls near the end, asks for the next page through `moreWanted` (its
`canFetchMore` / `fetchMore`), which the workspace loads off the GUI thread and hands
back with `append_page`. A page that belongs to an older filter is refused by its
generation number, so a slow query can never mix its runs into a newer list.

The list follows the store live: `merge` takes a fresh read of the first page and
applies only the difference (rows removed, moved, inserted, changed), so the view's
selection and the rows under the person's eyes stay where they are.

A run is shown in its `RunSummary.state` ("running" until its root span has ended,
never "ok" over a running root); a cost nobody recorded is `UNKNOWN`, not ``$0``; a
run that only repeats a model call of another run (a second instrumentation) is
dimmed and names the run it belongs to.
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
#: The trace id of the run this one duplicates a model call of (str), else None.
DUPLICATE_OF_ROLE = Qt.ItemDataRole.UserRole + 3
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
_Index = QModelIndex | QPersistentModelIndex


def _ranges(rows: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted row numbers as (first, last) runs of consecutive rows."""
    out: list[tuple[int, int]] = []
    for row in rows:
        if out and row == out[-1][1] + 1:
            out[-1] = (out[-1][0], row)
        else:
            out.append((row, row))
    return out


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

    def merge(self, fresh: Sequence[RunSummary], *, complete: bool,
              keep: str | None = None, total: int | None = None) -> bool:
        """Bring the list up to date with ``fresh``, a new read of its first page
        (``complete`` when that page held every match). Rows past the page keep their
        place; the run ``keep`` (the selection) stays even if it no longer matches, so
        the selection never moves by itself. Returns True when anything changed."""
        target = self._merge_target(fresh, complete, keep)
        if total is not None:
            self.total = total
        changed = self._remove_missing({run.trace_id for run in target})
        changed |= self._reorder(target)
        changed |= self._insert_new(target)
        changed |= self._update_changed(target)
        if complete:
            self._complete = True
        elif len(fresh) and self._complete and not self._loading:
            self._complete = False  # more than a page matches now: let the view ask
        return changed

    def _merge_target(self, fresh: Sequence[RunSummary], complete: bool,
                      keep: str | None) -> list[RunSummary]:
        """What the list should hold: the fresh page, then the rows loaded past it."""
        target = list(fresh)
        seen = {run.trace_id for run in target}
        if not complete and target:
            edge = target[-1].started_ns
            target.extend(run for run in self._rows
                          if run.trace_id not in seen and run.started_ns <= edge)
            seen = {run.trace_id for run in target}
        row = self.row_of(keep) if keep is not None and keep not in seen else None
        if row is not None:
            kept = self._rows[row]
            at = next((i for i, run in enumerate(target) if run.started_ns < kept.started_ns),
                      len(target))
            target.insert(at, kept)
        return target

    def _remove_missing(self, wanted: set[str]) -> bool:
        gone = [row for row, run in enumerate(self._rows) if run.trace_id not in wanted]
        for first, last in reversed(_ranges(gone)):
            self.beginRemoveRows(QModelIndex(), first, last)
            del self._rows[first:last + 1]
            self.endRemoveRows()
        return bool(gone)

    def _reorder(self, target: list[RunSummary]) -> bool:
        """Runs whose start moved (an earlier span arrived late) take their new place:
        a layout change, so selections and persistent indexes follow their runs."""
        position = {run.trace_id: i for i, run in enumerate(target)}
        order = sorted(range(len(self._rows)), key=lambda r: position[self._rows[r].trace_id])
        if order == list(range(len(self._rows))):
            return False
        self.layoutAboutToBeChanged.emit()
        new_row = {old: new for new, old in enumerate(order)}
        self._rows = [self._rows[old] for old in order]
        before = self.persistentIndexList()
        self.changePersistentIndexList(before, [
            self.index(new_row[index.row()], index.column()) if index.isValid()
            else QModelIndex() for index in before])
        self.layoutChanged.emit()
        return True

    def _insert_new(self, target: list[RunSummary]) -> bool:
        have = {run.trace_id for run in self._rows}
        new = [i for i, run in enumerate(target) if run.trace_id not in have]
        for first, last in _ranges(new):  # in target order: each lands at its place
            self.beginInsertRows(QModelIndex(), first, last)
            self._rows[first:first] = target[first:last + 1]
            self.endInsertRows()
        return bool(new)

    def _update_changed(self, target: list[RunSummary]) -> bool:
        rows = [i for i, (old, new) in enumerate(zip(self._rows, target, strict=True))
                if old != new]
        for row in rows:
            self._rows[row] = target[row]
        if rows:
            self.dataChanged.emit(self.index(rows[0], 0),
                                  self.index(rows[-1], len(_HEADERS) - 1))
        return bool(rows)

    @property
    def loading(self) -> bool:
        """A next page has been asked for and has not arrived yet."""
        return self._loading

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
            return self._foreground(run, column)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if RunColumn.SPANS <= column <= RunColumn.COST else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(run, column)
        if role == RUN_ROLE:
            return run
        if role == TRACE_ID_ROLE:
            return run.trace_id
        if role == DUPLICATE_OF_ROLE:
            return run.duplicate_of
        return None

    @staticmethod
    def _foreground(run: RunSummary, column: int) -> Any:
        palette = colours()
        if column == RunColumn.STATUS and run.state == "error":
            return qcolor(palette.error)
        if column == RunColumn.PENDING and run.pending_actions:
            return qcolor(palette.warning)
        if run.duplicate_of is not None:  # dimmed: its tokens are counted in another run
            return qcolor(palette.muted)
        if column == RunColumn.STATUS and run.state == "running":
            return qcolor(palette.accent)
        return None

    @staticmethod
    def _tooltip(run: RunSummary, column: int) -> str | None:
        if column == RunColumn.RUN:
            lines = [one_line(run.name, 500) or "The root span has not arrived yet."]
            if run.duplicate_of is not None:
                lines.append(duplicate_text(run))
            if run.instrumentation:
                lines.append(f"Recorded by {one_line(run.instrumentation, 120)}")
            return plain_tooltip("\n".join(lines))
        if column == RunColumn.AGENT and run.agent_from_service and run.agent_name:
            return plain_tooltip(f"{one_line(run.agent_name, 120)}: the sending service's "
                                 "name (service.name); no span named an agent")
        if column == RunColumn.COST and run.total_cost is None:
            return plain_tooltip("No span of this run carried a cost: unknown, not free")
        if column == RunColumn.STATUS and run.state == "running":
            return plain_tooltip("Running: its root span has not ended yet"
                                 if run.root_span_id else
                                 "Running: its root span has not arrived yet")
        return None

    @staticmethod
    def _display(run: RunSummary, column: int) -> str:
        if column == RunColumn.STARTED:
            return started_text(run.started_ns)
        if column == RunColumn.AGENT:
            return one_line(run.agent_name or "—", 80)
        if column == RunColumn.RUN:
            name = one_line(run.name, 160) or "(root span not yet seen)"
            if run.duplicate_of is not None:
                name += f"   ↪ repeats a model call of run {run.duplicate_of[:8]}…"
            return name
        if column == RunColumn.SPANS:
            errors = f" ({run.error_count:,} failed)" if run.error_count else ""
            return f"{run.span_count:,}{errors}"
        if column == RunColumn.DURATION:
            if run.finished or run.duration_ns is None:
                return duration_text(run.duration_ns if run.finished else None)
            return duration_text(run.duration_ns) + "…"  # so far
        if column == RunColumn.TOKENS:
            return compact_count(run.total_tokens) if run.total_tokens else ""
        if column == RunColumn.COST:
            return cost_text(run.total_cost)
        if column == RunColumn.STATUS:
            return one_line(run.state, 12)
        return f"{run.pending_actions} pending" if run.pending_actions else ""


def duplicate_text(run: RunSummary) -> str:
    """Why a duplicate run is dimmed, in words."""
    by = f" ({one_line(run.instrumentation, 80)})" if run.instrumentation else ""
    return (f"A second instrumentation{by} recorded this model call as a run of its own; "
            f"the same call is part of run {run.duplicate_of}, where its tokens and cost "
            "are counted.")
