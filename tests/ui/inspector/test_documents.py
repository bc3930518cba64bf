"""DocumentsModel: Qt's model contract, and what a retrieval's rows say."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester

from countersign_ui.inspector.documents import (
    CONTENT_COLUMN,
    DOCUMENT_ROLE,
    ID_COLUMN,
    SCORE_COLUMN,
    SCORE_FRACTION_ROLE,
    DocumentsModel,
)
from countersign_ui.inspector.span_content import Document

DOCS = [
    Document(rank=0, id="policy/R-1", content="Refunds over $500 need a supervisor.",
             score=0.8),
    Document(rank=1, id="", content="line one\nline two <b>not bold</b>", score=0.2),
    Document(rank=2, id="policy/R-3", content="x" * 5_000, score=None),
]


def test_model_contract_empty_filled_and_refilled(qtmodeltester: ModelTester) -> None:
    model = DocumentsModel()
    qtmodeltester.check(model)
    model.set_documents(DOCS)
    qtmodeltester.check(model)
    model.set_documents(DOCS[:1])
    model.set_documents([])
    qtmodeltester.check(model)
    assert model.rowCount() == 0


def test_rows_show_scores_ids_and_one_line_previews() -> None:
    model = DocumentsModel()
    model.set_documents(DOCS)
    assert model.rowCount() == 3 and model.columnCount() == 3
    cell = lambda row, column, role=Qt.ItemDataRole.DisplayRole: model.data(  # noqa: E731
        model.index(row, column), role)
    assert [cell(r, SCORE_COLUMN) for r in range(3)] == ["0.800", "0.200", "—"]
    assert cell(1, ID_COLUMN) == "(no id)"
    assert cell(1, CONTENT_COLUMN) == "line one ⏎ line two <b>not bold</b>"
    assert len(cell(2, CONTENT_COLUMN)) < 300  # cut, the whole text is below the table
    # The bar is the score against the best one shown; no score, no bar.
    assert [cell(r, SCORE_COLUMN, SCORE_FRACTION_ROLE) for r in range(3)] == [1.0, 0.25, None]
    assert cell(2, SCORE_COLUMN, DOCUMENT_ROLE) is DOCS[2]
    tip = cell(1, CONTENT_COLUMN, Qt.ItemDataRole.ToolTipRole)
    assert "&lt;b&gt;" in tip and "<b>not" not in tip  # shown literally, never as HTML
    assert cell(0, SCORE_COLUMN, Qt.ItemDataRole.ToolTipRole) is None
