"""The stored rubrics as the Rubrics page lists them: one row per rubric, its newest
version, what it judges and how many questions it asks; a rubric with edits not yet
saved says so in its Version column."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from countersign.review.rubric import Rubric
from countersign.text import one_line

from ..qt.core import QObject, Qt
from ..widgets.table_model import FlatTableModel
from ..widgets.text import plain_tooltip

#: What the Version column adds for a rubric with edits not saved yet.
EDITED_MARK = " · edited"


class RubricsModel(FlatTableModel[Rubric]):
    """Name | Version | For | Questions, by name."""

    HEADERS = ("Name", "Version", "For", "Questions")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._edited: frozenset[str] = frozenset()

    def cell(self, rubric: Rubric, column: int, role: int) -> Any:
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
        self.set_rows(sorted(rubrics, key=lambda r: r.name))

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
        return self.row_at(row)

    def row_of(self, name: str) -> int | None:
        return next((i for i, rubric in enumerate(self._rows) if rubric.name == name), None)

    def newest(self, name: str) -> Rubric | None:
        row = self.row_of(name)
        return None if row is None else self._rows[row]
