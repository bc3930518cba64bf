"""How far reviewers agree, in two small tables: Krippendorff's alpha per question
(with the items it rests on) and Cohen's kappa per reviewer pair.

AUTONOMY.md trusts labels as evidence only where reviewers agree (alpha ≥ 0.667 where
double labels exist), so a value below that is drawn in the palette's error colour and
says why in its tooltip. An undefined value (nothing to compare yet, or nothing
varied) is a dash, never a number.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from countersign.review.agreement import AgreementReport

from ..palette import colours, qcolor, restyle, text_style
from ..qt.core import (
    QAbstractTableModel,
    Qt,
    Signal,
)
from ..qt.widgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from ..widgets.table_model import FlatTableModel

#: AUTONOMY.md's threshold: below it, labels are not trusted as evidence.
TRUSTED_ALPHA = 0.667
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_LOW_TIP = ("Below 0.667: reviewers disagree too often for these labels to count as "
            "evidence (AUTONOMY.md)")


def shown_value(value: float | None) -> str:
    """Three decimals; four where three would round a value below the threshold up to
    it (0.6666 is not trusted, and must not read as 0.667)."""
    if value is None:
        return "—"
    if value < TRUSTED_ALPHA <= round(value, 3):
        return f"{value:.4f}"
    return f"{value:.3f}"


class _ReportModel(FlatTableModel[tuple[Any, ...]]):
    """A read-only table over one part of an `AgreementReport`."""

    #: The column holding the statistic (coloured when low, right-aligned).
    VALUE_COLUMN = 0

    def cell(self, row: tuple[Any, ...], column: int, role: int) -> Any:
        value = row[self.VALUE_COLUMN]
        low = isinstance(value, float) and value < TRUSTED_ALPHA
        if role == Qt.ItemDataRole.DisplayRole:
            cell = row[column]
            if column == self.VALUE_COLUMN:
                return shown_value(cell)
            return str(cell)
        if role == Qt.ItemDataRole.ForegroundRole and column == self.VALUE_COLUMN and low:
            return qcolor(colours().error)
        if role == Qt.ItemDataRole.ToolTipRole and column == self.VALUE_COLUMN:
            if value is None:
                return "Not defined yet: too few items with two or more labels, or every " \
                       "label gave the same answer"
            return _LOW_TIP if low else "At or above 0.667"
        if role == Qt.ItemDataRole.TextAlignmentRole and column >= self.VALUE_COLUMN:
            return _RIGHT
        return None

    def is_low(self, row: int) -> bool:
        value = self._rows[row][self.VALUE_COLUMN]
        return isinstance(value, float) and value < TRUSTED_ALPHA


class QuestionAgreementModel(_ReportModel):
    """Question | Level | α | Items."""

    HEADERS = ("Question", "Level", "α", "Items")
    VALUE_COLUMN = 2

    def set_report(self, report: AgreementReport | None) -> None:
        self.set_rows([] if report is None else
                      [(q.key, q.level, q.alpha, q.items) for q in report.questions])


class PairAgreementModel(_ReportModel):
    """Reviewers | κ | Items (on the report's kappa question)."""

    HEADERS = ("Reviewers", "κ", "Items")
    VALUE_COLUMN = 1

    def set_report(self, report: AgreementReport | None) -> None:
        self.set_rows([] if report is None else
                      [(f"{p.a} / {p.b}", p.kappa, p.items) for p in report.pairs])


def _table(model: QAbstractTableModel, parent: QWidget, name: str) -> QTableView:
    view = QTableView(parent)
    view.setObjectName(name)
    view.setModel(model)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 6)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    return view


class AgreementPanel(QWidget):
    """The two tables and the rubric they are about."""

    # Signals
    #: The reviewer chose another rubric (its name).
    rubricChosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("agreementPanel")
        self.questions = QuestionAgreementModel(self)
        self.pairs = PairAgreementModel(self)
        self.rubric = QComboBox(self)
        self.rubric.setObjectName("agreementRubric")
        self.rubric.setToolTip("The rubric whose labels are compared")
        self.caption = QLabel(self)
        self.caption.setObjectName("agreementCaption")
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        self.caption.setWordWrap(True)
        restyle(self.caption, lambda p: text_style("QLabel", p.muted))
        self.question_view = _table(self.questions, self, "alphaTable")
        self.pair_view = _table(self.pairs, self, "kappaTable")
        rows = self.question_view.verticalHeader().defaultSectionSize()
        header = self.question_view.horizontalHeader().sizeHint().height()
        self.question_view.setMinimumHeight(header + 3 * rows + 4)
        self.pair_view.setMinimumHeight(header + 2 * rows + 4)
        title = QLabel("Agreement", self)
        title.setTextFormat(Qt.TextFormat.PlainText)
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(title)
        top.addWidget(self.rubric, 1)
        tables = QVBoxLayout()
        tables.setContentsMargins(0, 0, 0, 0)
        tables.setSpacing(3)
        tables.addWidget(self.question_view, 3)
        tables.addWidget(self.pair_view, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(3)
        layout.addLayout(top)
        layout.addLayout(tables, 1)
        layout.addWidget(self.caption)
        self.rubric.currentIndexChanged.connect(self._chosen)

    def set_rubrics(self, names: Sequence[str]) -> None:
        chosen = self.rubric.currentText()
        self.rubric.blockSignals(True)
        try:
            self.rubric.clear()
            self.rubric.addItems(list(names))
            if chosen in names:
                self.rubric.setCurrentText(chosen)
        finally:
            self.rubric.blockSignals(False)

    def current_rubric(self) -> str | None:
        return self.rubric.currentText() or None

    def show_report(self, report: AgreementReport | None) -> None:
        self.questions.set_report(report)
        self.pairs.set_report(report)
        if report is None:
            self.caption.setText("")
            return
        kappa_on = f"; κ on {report.kappa_question}" if report.kappa_question else ""
        self.caption.setText(f"{report.labels} label(s) on {report.items} item(s)"
                             f"{kappa_on}. Red: below {TRUSTED_ALPHA}.")

    def show_failure(self, message: str) -> None:
        self.show_report(None)
        self.caption.setText(message)

    def _chosen(self, _index: int) -> None:
        name = self.rubric.currentText()
        if name:
            self.rubricChosen.emit(name)
