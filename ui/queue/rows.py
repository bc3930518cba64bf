"""The Queue list's state in plain Python: which rows it holds, which the filter
shows, in which order, what each cell says, and how urgent it looks. No Qt here
(STYLE rule 2): `QueueModel` is the thin adapter that turns the change events of
`QueueRows` into ``beginInsertRows``/``endInsertRows`` and friends.

Sorting and filtering are done here, not by a QSortFilterProxyModel: at 100,000 rows
a proxy calls ``data()`` for every comparison and takes seconds; a key function
over plain objects takes tens of milliseconds.

The rows are kept in two lists sorted ascending by the current sort key (which always
ends with the action id, so every key is unique and `bisect` finds a row exactly):
``_all`` (every row held) and ``_shown`` (those passing the filter). A descending
sort shows ``_shown`` mirrored. A streaming change is announced per contiguous
block, so views keep the reviewer's selection; filter and sort changes are layout
changes, during which the listener can move its bookmarks along with their actions.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from typing import Protocol

from countersign.domain import QueueRow, Risk
from countersign.text import age_text, one_line

from .columns import KEYS, TITLES, Column, QueueFilter, format_countdown

#: A deadline closer than this many seconds is shown as urgent.
URGENT_SECONDS = 60
#: Above this many new rows a batch is merged by one sort instead of row by row.
BULK = 256
DECIDING_TEXT = "deciding…"


class CellTone(StrEnum):
    """How a cell's text should look; the Qt model picks the palette's colour."""

    NORMAL = "normal"
    MUTED = "muted"
    WARNING = "warning"
    ERROR = "error"


class RowsListener(Protocol):
    """Told about every change, before and after the lists change (Qt's protocol)."""

    def rows_inserting(self, first: int, last: int) -> None: ...
    def rows_inserted(self) -> None: ...
    def rows_removing(self, first: int, last: int) -> None: ...
    def rows_removed(self) -> None: ...
    def rows_changed(self, first: int, last: int) -> None: ...
    def layout_changing(self) -> None: ...
    def layout_changed(self) -> None: ...
    def resetting(self) -> None: ...
    def reset(self) -> None: ...
    def counts_changed(self, shown: int, total: int) -> None: ...
    def agents_changed(self, agents: list[str]) -> None: ...


class QueueRows:
    """Pending (or, with ``show_state``, any) actions as a flat, sortable, filterable
    list of display rows; positions are the list's (model rows), 0 at the top."""

    def __init__(self, listener: RowsListener, *, show_state: bool = False,
                 clock: Callable[[], float] = time.time) -> None:
        self._listener = listener
        self.columns: list[Column] = list(Column) if show_state else list(Column)[:-1]
        self.clock = clock
        self._reverse = True
        self._key = KEYS[Column.AGE]
        self._filter = QueueFilter()
        self._all: list[QueueRow] = []
        self._shown: list[QueueRow] = []
        self._by_id: dict[int, QueueRow] = {}
        self._haystacks: dict[int, str] = {}
        self._deciding: set[int] = set()
        #: What the State column says instead of the bare state ("approved by ann").
        self._outcomes: dict[int, str] = {}
        self._agents: list[str] = []
        self._agent_counts: dict[str, int] = {}
        self._agents_dirty = False

    # -- reading -----------------------------------------------------------------------

    @property
    def shown(self) -> int:
        """Rows the filter lets through."""
        return len(self._shown)

    @property
    def total(self) -> int:
        """Rows held, whether the filter shows them or not."""
        return len(self._all)

    @property
    def filter(self) -> QueueFilter:
        return self._filter

    @property
    def agents(self) -> list[str]:
        """The agents among the rows held, sorted without regard to case."""
        return list(self._agents)

    def row_at(self, position: int) -> QueueRow | None:
        if not 0 <= position < len(self._shown):
            return None
        return self._shown[-1 - position] if self._reverse else self._shown[position]

    def position_of(self, action_id: int) -> int | None:
        """Where ``action_id`` is shown, or None (unknown or filtered out)."""
        row = self._by_id.get(action_id)
        if row is None:
            return None
        i = self._find(self._shown, row)
        return None if i is None else self._position(i, len(self._shown))

    def get(self, action_id: int) -> QueueRow | None:
        return self._by_id.get(action_id)

    def ids(self) -> list[int]:
        """Shown action ids, top to bottom."""
        rows = self._shown
        return [r.id for r in (reversed(rows) if self._reverse else rows)]

    def is_deciding(self, action_id: int) -> bool:
        return action_id in self._deciding

    # -- cells -------------------------------------------------------------------------

    def text(self, row: QueueRow, column: Column) -> str:
        """What the cell shows: one line, invisible characters made visible."""
        if column is Column.AGENT:
            return one_line(row.agent, 80)
        if column is Column.ACTION:
            return one_line(row.action_class, 120)
        if column is Column.RISK:
            return row.risk.value
        if column is Column.AGE:
            return age_text(self.clock() - row.created_at)
        if row.id in self._deciding:
            return DECIDING_TEXT
        if column is Column.DEADLINE:
            return format_countdown(self.remaining(row))
        return self._outcomes.get(row.id) or row.state.value.replace("_", " ")

    def full_text(self, row: QueueRow, column: Column) -> str | None:
        """The untruncated text behind a cell that may be cut short (its tooltip)."""
        if column is Column.AGENT:
            return row.agent
        if column is Column.ACTION:
            return row.action_class
        if column is Column.STATE:
            return self._outcomes.get(row.id)
        return None

    def tone(self, row: QueueRow, column: Column) -> CellTone:
        """Muted while deciding; critical risk and a deadline under a minute are errors,
        high risk a warning."""
        if row.id in self._deciding:
            return CellTone.MUTED
        if column is Column.RISK:
            if row.risk is Risk.CRITICAL:
                return CellTone.ERROR
            return CellTone.WARNING if row.risk is Risk.HIGH else CellTone.NORMAL
        if column is Column.DEADLINE:
            left = self.remaining(row)
            if left is not None and left < URGENT_SECONDS:
                return CellTone.ERROR
        return CellTone.NORMAL

    def remaining(self, row: QueueRow) -> float | None:
        """Seconds before the deadline (negative once passed), None without one."""
        return None if row.deadline is None else row.deadline - self.clock()

    @staticmethod
    def title(column: Column) -> str:
        return TITLES[column]

    # -- changing ----------------------------------------------------------------------

    def sort(self, column: Column, *, descending: bool) -> None:
        self._reverse = descending
        self._key = KEYS[column]
        self._relayout(lambda: (self._all.sort(key=self._key), self._shown.sort(key=self._key)))

    def set_rows(self, rows: Iterable[QueueRow]) -> None:
        """Replace everything (the first load only; streaming uses `apply`)."""
        self._listener.resetting()
        self._all = sorted(rows, key=self._key)
        self._by_id = {r.id: r for r in self._all}
        self._agent_counts = {}
        for r in self._all:
            self._agent_counts[r.agent] = self._agent_counts.get(r.agent, 0) + 1
        self._agents_dirty = True
        self._haystacks = {}
        self._shown = self._filtered()
        self._deciding &= self._by_id.keys()
        self._outcomes = {i: t for i, t in self._outcomes.items() if i in self._by_id}
        self._listener.reset()
        self._after_change()

    def set_filter(self, new: QueueFilter) -> None:
        if new == self._filter:
            return
        self._filter = new
        self._relayout(lambda: setattr(self, "_shown", self._filtered()))
        self._emit_counts()

    def apply(self, upserts: Sequence[QueueRow] = (), removed: Iterable[int] = ()) -> None:
        """Streaming change: add or update ``upserts``, drop ``removed`` ids. Announced
        as insertions and removals (never a reset), so selections stay on their
        actions."""
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

    def set_outcomes(self, outcomes: dict[int, str]) -> None:
        """What the State column says for these actions (e.g. "approved · ann"). A
        few are announced row by row, many as one change of every row."""
        changed = [i for i, text in outcomes.items() if self._outcomes.get(i) != text]
        self._outcomes.update(outcomes)
        if len(changed) > BULK:
            if self._shown:
                self._listener.rows_changed(0, len(self._shown) - 1)
            return
        for action_id in changed:
            position = self.position_of(action_id)
            if position is not None:
                self._listener.rows_changed(position, position)

    def set_deciding(self, action_id: int, deciding: bool) -> None:
        """Mark a row while its verdict is being recorded (shows "deciding…")."""
        if deciding:
            self._deciding.add(action_id)
        else:
            self._deciding.discard(action_id)
        position = self.position_of(action_id)
        if position is not None:
            self._listener.rows_changed(position, position)

    # -- internals ---------------------------------------------------------------------

    def _find(self, rows: list[QueueRow], row: QueueRow) -> int | None:
        key = self._key(row)
        i = bisect.bisect_left(rows, key, key=self._key)
        return i if i < len(rows) and rows[i].id == row.id else None

    def _position(self, list_index: int, size: int) -> int:
        return size - 1 - list_index if self._reverse else list_index

    def _haystack(self, row: QueueRow) -> str:
        hay = self._haystacks.get(row.id)
        if hay is None:
            hay = self._haystacks[row.id] = f"{row.agent}\x00{row.action_class}".casefold()
        return hay

    def _accepts(self, row: QueueRow) -> bool:
        return self._filter.accepts(row, self._haystack(row))

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
            position = self._position(j, len(self._shown))
            self._listener.rows_changed(position, position)

    def _remove(self, ids: set[int]) -> None:
        rows = [self._by_id.pop(i) for i in ids]
        for row in rows:
            self._haystacks.pop(row.id, None)
            self._deciding.discard(row.id)
            self._outcomes.pop(row.id, None)
            self._count_agent(row.agent, -1)
        self._all = [r for r in self._all if r.id not in ids]
        positions = sorted(i for r in rows if (i := self._find(self._shown, r)) is not None)
        # Contiguous runs, highest first, so lower list positions stay valid.
        for first, last in reversed(_runs(positions)):
            size = len(self._shown)
            a, b = self._position(first, size), self._position(last, size)
            self._listener.rows_removing(min(a, b), max(a, b))
            del self._shown[first:last + 1]
            self._listener.rows_removed()

    def _insert(self, rows: list[QueueRow]) -> None:
        rows.sort(key=self._key)
        for row in rows:
            self._by_id[row.id] = row
            self._count_agent(row.agent, +1)
        visible = [r for r in rows if self._accepts(r)]
        if len(rows) > BULK:
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
        self._listener.rows_inserting(first, first + len(group) - 1)
        self._shown[at:at] = group
        self._listener.rows_inserted()

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
        """Many rows at once (the rest of the first load): one insertion when they
        land in one block (the usual case), else a layout change."""
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
        """Apply ``change`` (re-sort or re-filter) between the listener's
        layout_changing and layout_changed, so it can move its bookmarks by id."""
        self._listener.layout_changing()
        change()
        self._listener.layout_changed()

    def _after_change(self) -> None:
        self._emit_counts()
        if self._agents_dirty:
            self._agents_dirty = False
            agents = sorted(self._agent_counts, key=str.casefold)
            if agents != self._agents:
                self._agents = agents
                self._listener.agents_changed(list(agents))

    def _count_agent(self, agent: str, delta: int) -> None:
        count = self._agent_counts.get(agent, 0) + delta
        if count > 0:
            self._agent_counts[agent] = count
        else:
            self._agent_counts.pop(agent, None)
        if count in (0, 1):  # a name appeared or disappeared
            self._agents_dirty = True

    def _emit_counts(self) -> None:
        self._listener.counts_changed(len(self._shown), len(self._all))


def _runs(positions: list[int]) -> list[tuple[int, int]]:
    """Sorted positions as (first, last) runs of consecutive numbers."""
    runs: list[tuple[int, int]] = []
    for p in positions:
        if runs and runs[-1][1] == p - 1:
            runs[-1] = (runs[-1][0], p)
        else:
            runs.append((p, p))
    return runs
