"""The stored rubrics as the Rubrics page lists them: one row per rubric, its newest
version, what it judges and how many questions it asks; a rubric with edits not yet
saved says so in its Version column."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from countersign.review.rubric import Rubric
from countersign.text import one_line

from ..qt.core import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from ..widgets.text import plain_tooltip

Index = QModelIndex | QPersistentModelIndex
_FLAGS = (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
          | Qt.ItemFlag.ItemNeverHasChildren)
#: What the Version column adds for a rubric with edits not saved yet.
EDITED_MARK = " · edited"


class RubricsModel(QAbstractTableModel):
    """Name | Version | For | Questions, by name."""

    HEADERS = ("Name", "Version", "For", "Questions")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Rubric] = []
        self._edited: frozenset[str] = frozenset()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def flags(self, index: Index) -> Qt.ItemFlag:
        return _FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(self.HEADERS)):
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        rubric = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            edited = EDITED_MARK if rubric.name in self._edited else ""
            values = (one_line(rubric.name, 60), f"{rubric.version}{edited}",
                      "actions" if rubric.target == "action" else "runs",
                      str(len(rubric.questions)))
            return values[column] if 0 <= column < len(values) else None
        if role == Qt.ItemDataRole.ToolTipRole and column == 0:
            return plain_tooltip(f"{rubric.name}\n{rubric.description}".strip())
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 3:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def set_rubrics(self, rubrics: Sequence[Rubric]) -> None:
        self.beginResetModel()
        self._rows = sorted(rubrics, key=lambda r: r.name)
        self.endResetModel()

    def set_edited(self, names: Collection[str]) -> None:
        """Mark the rubrics with unsaved edits (the Version column says so)."""
        edited = frozenset(names)
        if edited == self._edited:
            return
        self._edited = edited
        if self._rows:
            self.dataChanged.emit(self.index(0, 1), self.index(len(self._rows) - 1, 1),
                                  [Qt.ItemDataRole.DisplayRole])

    def rubric_at(self, row: int) -> Rubric | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, name: str) -> int | None:
        return next((i for i, rubric in enumerate(self._rows) if rubric.name == name), None)

    def newest(self, name: str) -> Rubric | None:
        row = self.row_of(name)
        return None if row is None else self._rows[row]
