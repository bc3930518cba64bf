"""The Review workspace's item models: Qt's model contract (qtmodeltester) after every
kind of change, the reviewer's own work as the default list, and a selection that
stays on its item while lines stream in, change and leave around it."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QTableView
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from countersign.domain.review import DatasetFilter, DatasetInfo
from countersign.review.agreement import AgreementReport, PairAgreement, QuestionAgreement
from countersign.review.sampling import DEFAULT_RULES, SamplingRule
from countersign.services.review_feed import ReviewLine
from countersign_ui.review.agreement import (
    TRUSTED_ALPHA,
    PairAgreementModel,
    QuestionAgreementModel,
    shown_value,
)
from countersign_ui.review.datasets_panel import DatasetsModel
from countersign_ui.review.model import ItemIdRole, ReviewQueueModel
from countersign_ui.review.rows import Column, ReviewFilter, Show, labelable
from countersign_ui.review.rules_editor import RulesModel

AGENTS = ("billing-bot", "ops-agent", "triage")


def line(item_id: int, **changes: object) -> ReviewLine:
    base = ReviewLine(
        id=item_id, action_id=item_id * 10, trace_id=None, rubric="action-outcome",
        pi=0.2, rule="medium-risk", added_by=None, needed=1, labels=0, state="open",
        created_at=1_700_000_000.0 + item_id, agent=AGENTS[item_id % 3], agent_version="1",
        action_class=f"tool_{item_id % 4}", risk="medium", verdict="approve", severity=None)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def filled(n: int = 30, reviewer: str = "ann") -> ReviewQueueModel:
    model = ReviewQueueModel(reviewer=reviewer, tick_ms=0)
    model.set_lines(line(i) for i in range(1, n + 1))
    return model


def test_the_review_queue_model_passes_after_every_kind_of_change(
        qtmodeltester: ModelTester) -> None:
    qtmodeltester.check(ReviewQueueModel(tick_ms=0))
    model = filled()
    qtmodeltester.check(model)
    model.apply([line(40), line(41), line(35)])               # appended, then one between
    model.apply([line(5, labels=1, labelled_by=("ann",))])    # ours: leaves "to label"
    model.apply([line(6, claimed_by=("bo",))])                # changed in place
    model.apply([line(2, state="done", labels=1, labelled_by=("bo",))])
    model.set_filter(ReviewFilter(show=Show.MINE, agent="ops-agent"))
    model.set_filter(ReviewFilter(show=Show.ALL, text="tool_2"))
    model.set_filter(ReviewFilter())
    model.apply([], removed=[7, 8, 9, 40])
    qtmodeltester.check(model)
    assert model.ids() == [i for i in [*range(1, 31), 35, 41] if i not in (2, 5, 7, 8, 9)]


def test_the_default_list_is_the_reviewers_own_open_work() -> None:
    model = filled(6)
    model.apply([line(1, labels=1, needed=2, labelled_by=("ann",)),     # labelled by me
                 line(2, labels=1, needed=2, labelled_by=("bo",)),      # by someone else
                 line(3, state="done", labels=1, labelled_by=("bo",))])
    assert model.ids() == [2, 4, 5, 6]
    model.set_filter(ReviewFilter(show=Show.OPEN))
    assert model.ids() == [1, 2, 4, 5, 6]
    model.set_filter(ReviewFilter(show=Show.DONE))
    assert model.ids() == [3]
    assert labelable(line(2, labels=1, needed=2, labelled_by=("bo",)), "ann")
    assert not labelable(line(2, needed=2, labels=1, claimed_by=("bo",)), "ann")  # full
    assert labelable(line(2, needed=2, labels=1, claimed_by=("ann",)), "ann")  # my claim


def test_cells_say_what_the_list_promises() -> None:
    model = filled(3)
    model.apply([line(1, verdict="edit", severity="material", needed=2, labels=1,
                      labelled_by=("bo",), claimed_by=("cy",)),
                 line(2, pi=None, rule=None, added_by="dora", verdict="auto_approve"),
                 line(3, action_id=None, trace_id="ab" * 16, action_class=None,
                      verdict=None)])

    def cell(row: int, column: Column) -> object:
        return model.index(row, column).data()

    assert cell(0, Column.VERDICT) == "edited (material)"
    assert cell(0, Column.WHY) == "medium-risk (pi 0.2)"
    assert cell(0, Column.LABELS) == "1/2"
    assert "being labelled by cy" in model.index(0, Column.LABELS).data(
        Qt.ItemDataRole.ToolTipRole)
    assert cell(1, Column.WHY) == "ad hoc (dora)"
    assert cell(1, Column.VERDICT) == "auto-approved"
    assert cell(2, Column.ACTION) == "run abababababab"
    assert model.index(2, 0).data(ItemIdRole) == 3


def test_the_selection_stays_on_its_item_while_lines_stream_around_it(qtbot: QtBot) -> None:
    model = filled(50)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.selectionModel().setCurrentIndex(
        model.index(model.row_of(20) or 0, 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
    model.apply([line(i, labels=1, labelled_by=("bo",), state="done") for i in (3, 4, 5)])
    model.apply([line(60), line(61)])
    model.apply([line(20, claimed_by=("bo",))])
    model.set_filter(ReviewFilter(show=Show.MINE, text="tool_0"))
    assert view.currentIndex().data(ItemIdRole) == 20
    model.set_filter(ReviewFilter(show=Show.MINE, text="tool_1"))
    assert not view.currentIndex().isValid()  # filtered out: no other item silently


def test_agreement_models_flag_alpha_below_the_trusted_threshold(
        qtmodeltester: ModelTester) -> None:
    report = AgreementReport(
        rubric="action-outcome", version=1, kappa_question="correct",
        questions=(QuestionAgreement(key="correct", level="nominal", alpha=0.52, items=9),
                   QuestionAgreement(key="harm", level="nominal", alpha=0.81, items=9),
                   QuestionAgreement(key="note", level="nominal", alpha=None, items=0)),
        pairs=(PairAgreement(a="ann", b="bo", question="correct", kappa=0.4, items=9),),
        items=12, labels=21)
    questions, pairs = QuestionAgreementModel(), PairAgreementModel()
    qtmodeltester.check(questions)
    questions.set_report(report)
    pairs.set_report(report)
    qtmodeltester.check(questions)
    qtmodeltester.check(pairs)
    assert [questions.index(r, 2).data() for r in range(3)] == ["0.520", "0.810", "—"]
    assert questions.index(0, 3).data() == "9"
    assert questions.is_low(0) and not questions.is_low(1) and not questions.is_low(2)
    assert questions.index(0, 2).data(Qt.ItemDataRole.ForegroundRole) is not None
    assert questions.index(1, 2).data(Qt.ItemDataRole.ForegroundRole) is None
    assert str(TRUSTED_ALPHA) in questions.index(0, 2).data(Qt.ItemDataRole.ToolTipRole)
    assert pairs.index(0, 0).data() == "ann / bo" and pairs.index(0, 1).data() == "0.400"
    assert shown_value(0.66666) == "0.6667" and shown_value(0.6672) == "0.667"


def test_datasets_and_rules_models_pass_the_model_tester(qtmodeltester: ModelTester) -> None:
    datasets = DatasetsModel()
    qtmodeltester.check(datasets)
    datasets.set_versions([
        DatasetInfo(name="refunds", version=v, examples=10 * v, created_at=1.7e9,
                    created_by="ann", filter=DatasetFilter(verdicts=("edit",)))
        for v in (1, 2)])
    qtmodeltester.check(datasets)
    assert datasets.versions_of("refunds") == [1, 2]
    assert datasets.index(1, 2).data() == "20"
    assert datasets.index(0, 5).data() == "verdict edit"
    rules = RulesModel()
    qtmodeltester.check(rules)
    rules.set_rules([*DEFAULT_RULES, SamplingRule(name="big", min_cost=2.5, rate=1.0,
                                                  enabled=False)])
    qtmodeltester.check(rules)
    assert rules.index(4, 2).data() == "cost ≥ 2.5"
    assert rules.index(4, 5).data() == "no"
