"""`UnitsModel`: the units table, a thin Qt adapter over plain `UnitRow` state (STYLE.md
rule 2), and `UnitsFilter`, the sortable, filterable view of it.

A refresh hands the model the whole list of units again; `set_rows` merges it by unit
key (rows that stay are updated in place, gone ones removed, new ones appended in one
insertion), so the selection and the sort survive a refresh and a view never resets
under the lead's cursor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import IntEnum
from typing import Any

from countersign.autonomy.outcomes import FloatArray
from countersign.domain import AutonomyLevel
from countersign.domain.autonomy import UnitKey
from countersign.text import one_line

from ..palette import colours, qcolor
from ..qt.core import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from ..widgets.text import plain_tooltip
from .rows import (
    UnitRow,
    accuracy_text,
    counts_text,
    p_above_text,
    recommendation_text,
    unit_text,
)


class UnitColumn(IntEnum):
    AGENT = 0
    VERSION = 1
    ACTION_CLASS = 2
    LEVEL = 3
    COUNTS = 4
    ACCURACY = 5
    P_ABOVE = 6
    RECOMMENDATION = 7
    TREND = 8


_HEADERS = ("Agent", "Version", "Action class", "Level", "n / n_eff", "Accuracy (band)",
            "P(acc > target)", "Recommendation", "Accuracy trend")
_HEADER_TIPS = (
    "The agent", "The agent's version: a new version re-qualifies",
    "The kind of action the agent asks for",
    "The autonomy level: L0 shadow, L1 every action waits, L2 low and medium risk "
    "auto-approved, L3 all but critical auto-approved",
    "Reviewed outcomes since the level began, and their effective sample size (Kish)",
    "Weighted (Hájek) accuracy and its one-sided 95 % Wilson band, in %",
    "P(accuracy > target) under a Jeffreys prior; the target is the next level's",
    "What the rules recommend: promote (a lead confirms), hold, or demote",
    "Accuracy over the unit's history (the charts below show it in full)",
)
#: The row's `UnitRow`.
UNIT_ROW_ROLE = Qt.ItemDataRole.UserRole + 1
#: The row's `UnitKey`.
UNIT_KEY_ROLE = Qt.ItemDataRole.UserRole + 2
#: The value the column sorts by (str or float; no evidence sorts below any number).
SORT_ROLE = Qt.ItemDataRole.UserRole + 3
#: Whether the rules demoted the unit since the lead last looked (bool).
DEMOTED_ROLE = Qt.ItemDataRole.UserRole + 4

_LEVEL_RANK = {AutonomyLevel.L0: 0, AutonomyLevel.L1: 1, AutonomyLevel.L2: 2,
               AutonomyLevel.L3: 3}
_RECOMMENDATION_RANK = {"demote": 0, "promote": 1, "hold": 2}
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_FLAGS = (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
          | Qt.ItemFlag.ItemNeverHasChildren)
_Index = QModelIndex | QPersistentModelIndex


class UnitsModel(QAbstractTableModel):
    """See the module docstring."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[UnitRow] = []
        self._where: dict[UnitKey, int] = {}
        self._demoted: set[UnitKey] = set()

    # -- content -----------------------------------------------------------------------

    def set_rows(self, rows: Iterable[UnitRow]) -> None:
        """Show ``rows`` (the whole list of units), merged by key."""
        wanted = {row.key: row for row in rows}
        gone = [i for i, row in enumerate(self._rows) if row.key not in wanted]
        for start, stop in reversed(_runs(gone)):
            self.beginRemoveRows(QModelIndex(), start, stop)
            del self._rows[start:stop + 1]
            self.endRemoveRows()
        self._reindex()
        for row in self._rows:
            wanted[row.key] = _merged(row, wanted[row.key])
        changed = [i for i, row in enumerate(self._rows)
                   if _differs(row, wanted[row.key])]
        for i in changed:
            self._rows[i] = wanted[self._rows[i].key]
        for start, stop in _runs(changed):
            self.dataChanged.emit(self.index(start, 0),
                                  self.index(stop, len(UnitColumn) - 1))
        new = [row for key, row in wanted.items() if key not in self._where]
        if new:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            self._rows.extend(new)
            self._reindex()
            self.endInsertRows()
        self._demoted &= set(wanted)

    def set_sparklines(self, sparklines: Mapping[UnitKey, FloatArray]) -> None:
        """Give units their sparklines (read for the rows on screen)."""
        for key, points in sparklines.items():
            row = self._where.get(key)
            if row is None:
                continue
            self._rows[row] = UnitRow(status=self._rows[row].status, sparkline=points)
            cell = self.index(row, UnitColumn.TREND)
            self.dataChanged.emit(cell, cell)

    def missing_sparklines(self, rows: Iterable[int]) -> list[UnitKey]:
        """The units of ``rows`` whose sparkline has not been read."""
        return [self._rows[r].key for r in rows
                if 0 <= r < len(self._rows) and self._rows[r].sparkline is None]

    def row_of(self, key: UnitKey) -> int | None:
        return self._where.get(key)

    def unit_at(self, row: int) -> UnitRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def units(self) -> Sequence[UnitRow]:
        return tuple(self._rows)

    def mark_demoted(self, key: UnitKey, demoted: bool = True) -> None:
        """Highlight (or stop highlighting) the row of a unit the rules demoted."""
        if demoted == (key in self._demoted):
            return
        if demoted:
            self._demoted.add(key)
        else:
            self._demoted.discard(key)
        row = self._where.get(key)
        if row is not None:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(UnitColumn) - 1))

    @property
    def demoted(self) -> frozenset[UnitKey]:
        return frozenset(self._demoted)

    def _reindex(self) -> None:
        self._where = {row.key: i for i, row in enumerate(self._rows)}

    # -- table -------------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(UnitColumn)

    def flags(self, index: _Index) -> Qt.ItemFlag:
        return _FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(_HEADERS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return _HEADERS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return _HEADER_TIPS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(row, column)
        if role == SORT_ROLE:
            return _sort_key(row, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            return _foreground(row, column)
        if role == Qt.ItemDataRole.BackgroundRole:
            return qcolor(colours().chart.demoted_row) if row.key in self._demoted else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if column in (UnitColumn.COUNTS, UnitColumn.ACCURACY,
                                        UnitColumn.P_ABOVE) else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(row, column, row.key in self._demoted)
        if role == UNIT_ROW_ROLE:
            return row
        if role == UNIT_KEY_ROLE:
            return row.key
        if role == DEMOTED_ROLE:
            return row.key in self._demoted
        return None


def _display(row: UnitRow, column: int) -> str | None:
    evidence = row.evidence
    if column == UnitColumn.AGENT:
        return one_line(row.key.agent, 80)
    if column == UnitColumn.VERSION:
        return one_line(row.key.version, 40)
    if column == UnitColumn.ACTION_CLASS:
        return one_line(row.key.action_class, 80)
    if column == UnitColumn.LEVEL:
        return evidence.level.label
    if column == UnitColumn.COUNTS:
        return counts_text(evidence)
    if column == UnitColumn.ACCURACY:
        return accuracy_text(evidence)
    if column == UnitColumn.P_ABOVE:
        return p_above_text(evidence)
    if column == UnitColumn.RECOMMENDATION:
        return recommendation_text(evidence)
    return None  # the trend column is painted by `SparklineDelegate`


def _sort_key(row: UnitRow, column: int) -> str | float:
    evidence = row.evidence
    if column == UnitColumn.AGENT:
        return row.key.agent.casefold()
    if column == UnitColumn.VERSION:
        return row.key.version.casefold()
    if column == UnitColumn.ACTION_CLASS:
        return row.key.action_class.casefold()
    if column == UnitColumn.LEVEL:
        return float(_LEVEL_RANK[evidence.level])
    if column == UnitColumn.COUNTS:
        return float(evidence.n)
    if column in (UnitColumn.ACCURACY, UnitColumn.TREND):
        return -1.0 if evidence.failure_rate is None else 1.0 - evidence.failure_rate
    if column == UnitColumn.P_ABOVE:
        return -1.0 if evidence.p_above_target is None else evidence.p_above_target
    return float(_RECOMMENDATION_RANK[evidence.recommendation])


def _foreground(row: UnitRow, column: int) -> Any:
    palette = colours()
    evidence = row.evidence
    if column == UnitColumn.RECOMMENDATION:
        if evidence.recommendation == "promote":
            return qcolor(palette.ok)
        if evidence.recommendation == "demote":
            return qcolor(palette.error)
    if column in (UnitColumn.ACCURACY, UnitColumn.P_ABOVE) and not row.has_evidence:
        return qcolor(palette.muted)
    return None


def _tooltip(row: UnitRow, column: int, demoted: bool) -> str | None:
    lines = []
    if demoted:
        lines.append("Demoted by the rules since you last looked at this unit.")
    if column == UnitColumn.RECOMMENDATION or demoted:
        lines.extend(row.evidence.reasons)
    elif column in (UnitColumn.AGENT, UnitColumn.VERSION, UnitColumn.ACTION_CLASS):
        lines.append(unit_text(row.key))
    return plain_tooltip("\n".join(lines)) or None


def _merged(old: UnitRow, new: UnitRow) -> UnitRow:
    """``new``, keeping ``old``'s sparkline while its history is the same (a sparkline
    is read separately, for the rows on screen)."""
    if new.sparkline is None and old.sparkline is not None and \
            old.evidence.n == new.evidence.n and old.status.level_version == \
            new.status.level_version:
        return UnitRow(status=new.status, sparkline=old.sparkline)
    return new


def _differs(old: UnitRow, new: UnitRow) -> bool:
    if old.evidence != new.evidence or (old.sparkline is None) != (new.sparkline is None):
        return True
    if old.sparkline is None or new.sparkline is None:
        return False
    return old.sparkline.shape != new.sparkline.shape or \
        bool((old.sparkline != new.sparkline).any())


def _runs(indices: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted indices as (first, last) runs of consecutive numbers."""
    runs: list[tuple[int, int]] = []
    for i in indices:
        if runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


class UnitsFilter(QSortFilterProxyModel):
    """Sorts by `SORT_ROLE` and keeps the units whose agent, version, action class,
    level or recommendation contain every word typed (case-insensitive)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)
        self._words: tuple[str, ...] = ()

    def set_text(self, text: str) -> None:
        words = tuple(text.casefold().split())
        if words != self._words:
            self.beginFilterChange()
            self._words = words
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    @property
    def text(self) -> str:
        return " ".join(self._words)

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        if not self._words:
            return True
        model = self.sourceModel()
        if not isinstance(model, UnitsModel):
            return True
        row = model.unit_at(source_row)
        if row is None:
            return False
        haystack = " ".join((row.key.agent, row.key.version, row.key.action_class,
                             row.evidence.level.value, row.evidence.level.label,
                             recommendation_text(row.evidence))).casefold()
        return all(word in haystack for word in self._words)
