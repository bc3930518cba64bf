"""QueueModel: Qt's model contract, sorting and filtering in Python, and a reviewer's
selection that stays put while rows stream in and out elsewhere."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QTableView
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from countersign.domain import ActionState, Risk
from countersign_ui.queue.columns import Column, QueueFilter, format_countdown
from countersign_ui.queue.model import ActionIdRole, DecidingRole, QueueModel

from .conftest import make_row

AGENTS = ["billing-bot", "ops-agent", "triage"]
RISKS = list(Risk)


def filled(n: int = 30, **kwargs: object) -> QueueModel:
    model = QueueModel(tick_ms=0, **kwargs)  # type: ignore[arg-type]
    model.set_rows(
        make_row(i, agent=AGENTS[i % 3], action=f"tool_{i % 7}", risk=RISKS[i % 4])
        for i in range(1, n + 1)
    )
    return model


def test_empty_model_passes_the_model_tester(qtmodeltester: ModelTester) -> None:
    qtmodeltester.check(QueueModel(tick_ms=0))


def test_filled_model_passes_after_every_kind_of_change(qtmodeltester: ModelTester) -> None:
    model = filled()
    qtmodeltester.check(model)
    model.apply(upserts=[make_row(100), make_row(101, created_at=1.0)])
    model.apply(removed=[3, 4, 5, 17])
    model.set_filter(QueueFilter(agent="ops-agent"))
    model.sort(Column.RISK, Qt.SortOrder.DescendingOrder)
    model.apply(upserts=[make_row(200, agent="ops-agent", risk=Risk.CRITICAL)], removed=[100])
    model.set_filter(QueueFilter(text="TOOL_3"))
    model.sort(Column.AGENT, Qt.SortOrder.AscendingOrder)
    model.set_deciding(7, True)
    model.refresh_times()
    qtmodeltester.check(model)


def test_model_with_state_column_passes(qtmodeltester: ModelTester) -> None:
    model = filled(show_state=True)
    model.apply(upserts=[make_row(2, agent=AGENTS[2], action="tool_2", risk=RISKS[2],
                                  state=ActionState.DECIDED)])
    assert model.columnCount() == 6
    assert model.data(model.index(model.row_of(2) or 0, Column.STATE)) == "decided"
    qtmodeltester.check(model)


def test_default_order_is_oldest_first_and_new_rows_append() -> None:
    model = filled(5)
    assert model.ids() == [1, 2, 3, 4, 5]
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    model.apply(upserts=[make_row(6), make_row(7), make_row(8)])
    assert inserted == [(5, 7)], "one contiguous batch is one insertion"
    assert model.ids() == [1, 2, 3, 4, 5, 6, 7, 8]


def test_no_reset_for_streaming_changes() -> None:
    model = filled(10)
    resets: list[bool] = []
    model.modelAboutToBeReset.connect(lambda: resets.append(True))
    model.apply(upserts=[make_row(50), make_row(0, created_at=0.0)], removed=[2, 3, 9])
    model.apply(upserts=[make_row(i) for i in range(1000, 1400)])  # bulk path
    assert resets == []
    assert model.rowCount() == 10 + 2 - 3 + 400


def test_sort_and_filter() -> None:
    model = filled(12)
    model.sort(Column.RISK, Qt.SortOrder.DescendingOrder)
    risks = [model.row_at(r).risk for r in range(model.rowCount())]  # type: ignore[union-attr]
    assert risks == sorted(risks, key=lambda r: r.rank, reverse=True)
    model.set_filter(QueueFilter(agent="triage"))
    assert {model.row_at(r).agent for r in range(model.rowCount())} == {"triage"}  # type: ignore[union-attr]
    model.set_filter(QueueFilter(risk=Risk.HIGH))
    assert all(model.row_at(r).risk.rank >= 2 for r in range(model.rowCount()))  # type: ignore[union-attr]
    model.set_filter(QueueFilter(risk=Risk.HIGH, exact_risk=True))
    assert {model.row_at(r).risk for r in range(model.rowCount())} == {Risk.HIGH}  # type: ignore[union-attr]
    model.set_filter(QueueFilter(text="OPS"))
    assert model.rowCount() == 4 and model.total == 12


def test_filtered_out_rows_arrive_and_leave_quietly() -> None:
    model = filled(6)
    model.set_filter(QueueFilter(agent="triage"))
    shown = model.rowCount()
    model.apply(upserts=[make_row(90, agent="billing-bot")])
    assert model.rowCount() == shown and model.total == 7
    model.set_filter(QueueFilter())
    assert model.row_of(90) == 6


def test_agents_signal_tracks_names() -> None:
    model = QueueModel(tick_ms=0)
    seen: list[list[str]] = []
    model.agentsChanged.connect(seen.append)
    model.set_rows([make_row(1, agent="b"), make_row(2, agent="A")])
    model.apply(upserts=[make_row(3, agent="c")])
    model.apply(removed=[2])
    assert seen == [["A", "b"], ["A", "b", "c"], ["b", "c"]]


def test_cells_are_plain_and_made_visible() -> None:
    model = QueueModel(tick_ms=0, clock=lambda: 1_000.0)
    model.set_rows([make_row(1, agent="evil\u202ebot", action="send\nmail", created_at=750.0,
                             deadline=1_030.0)])
    assert model.data(model.index(0, Column.AGENT)) == "evil⟦RLO U+202E⟧bot"
    assert model.data(model.index(0, Column.ACTION)) == "send ⏎ mail"
    assert model.data(model.index(0, Column.AGE)) == "4m 10s"
    assert model.data(model.index(0, Column.DEADLINE)) == "30s"
    assert model.data(model.index(0, Column.DEADLINE), Qt.ItemDataRole.ForegroundRole) is not None
    assert model.data(model.index(0, 0), ActionIdRole) == 1
    assert model.data(model.index(0, 0), Qt.ItemDataRole.DecorationRole) is None
    model.set_deciding(1, True)
    assert model.data(model.index(0, Column.DEADLINE)) == "deciding…"
    assert model.data(model.index(0, 0), DecidingRole) is True


def test_countdown_words() -> None:
    assert format_countdown(None) == "—"
    assert format_countdown(-1) == "expired"
    assert format_countdown(250) == "4m 10s"  # the ages' words (countersign.text)


def test_time_tick_touches_only_age_and_deadline() -> None:
    model = filled(4)
    changes: list[tuple[int, int, int, int]] = []
    model.dataChanged.connect(
        lambda a, b, _roles: changes.append((a.row(), a.column(), b.row(), b.column())))
    model.refresh_times()
    assert changes == [(0, Column.AGE, 3, Column.DEADLINE)]


@pytest.fixture
def view(qtbot: QtBot) -> QTableView:
    tree = QTableView()
    qtbot.addWidget(tree)
    tree.setModel(filled(20))
    return tree


def _select(view: QTableView, action_id: int) -> None:
    model = view.model()
    assert isinstance(model, QueueModel)
    row = model.row_of(action_id)
    assert row is not None
    view.selectionModel().setCurrentIndex(
        model.index(row, 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )


def _current_id(view: QTableView) -> int | None:
    value = view.currentIndex().data(ActionIdRole)
    return value if isinstance(value, int) else None


def _selected_ids(view: QTableView) -> set[int]:
    return {i.data(ActionIdRole) for i in view.selectionModel().selectedRows()}


def test_selection_stays_on_its_action_when_rows_come_and_go(view: QTableView) -> None:
    model = view.model()
    assert isinstance(model, QueueModel)
    _select(view, 10)
    changed: list[int] = []
    view.selectionModel().currentChanged.connect(lambda *_: changed.append(1))
    model.apply(upserts=[make_row(0, created_at=0.0), make_row(30)], removed=[2, 3, 15, 19])
    model.apply(upserts=[make_row(i) for i in range(1000, 1300)])
    model.apply(removed=[1, 4])
    assert _current_id(view) == 10
    assert _selected_ids(view) == {10}
    assert changed == [], "the current action never changed"


def test_selection_survives_sort_and_filter(view: QTableView) -> None:
    model = view.model()
    assert isinstance(model, QueueModel)
    _select(view, 7)
    model.sort(Column.AGENT, Qt.SortOrder.DescendingOrder)
    assert _current_id(view) == 7
    model.set_filter(QueueFilter(agent=make_row(7, agent=AGENTS[7 % 3]).agent))
    assert _current_id(view) == 7 and _selected_ids(view) == {7}


def test_a_large_model_filters() -> None:  # its time: bench_ui
    model = QueueModel(tick_ms=0)
    model.set_rows(make_row(i, agent=f"agent-{i % 40}", risk=RISKS[i % 4])
                   for i in range(100_000))
    model.set_filter(QueueFilter(agent="agent-7"))
    assert model.rowCount() == 2_500


class _FakeActions:
    """Change rows that commit out of id order, as PostgreSQL can deliver them."""

    def __init__(self) -> None:
        from countersign.domain import Change

        self.visible: list[Change] = []
        self.make = Change

    def changes_since(self, after_id: int, *, limit: int = 5_000) -> list[object]:
        return sorted((c for c in self.visible if c.id > after_id), key=lambda c: c.id)[:limit]

    def queue_rows(self, *, states: object, ids: list[int]) -> list[object]:
        return [make_row(i) for i in ids if i % 2 == 0]  # odd ids: no longer pending


def test_feed_catches_late_commits_and_never_repeats() -> None:
    from countersign_ui.queue.feed import FeedCursor, poll_changes

    actions = _FakeActions()
    cursor = FeedCursor(last_id=0, lookback=1_000)
    actions.visible += [actions.make(id=1, action_id=10, kind="requested"),
                        actions.make(id=3, action_id=30, kind="requested")]
    first = poll_changes(actions, cursor, ())  # type: ignore[arg-type]
    assert first is not None and [c.id for c in first.changes] == [1, 3]
    actions.visible.append(actions.make(id=2, action_id=20, kind="requested"))  # late
    second = poll_changes(actions, cursor, ())  # type: ignore[arg-type]
    assert second is not None and [c.id for c in second.changes] == [2]
    assert set(second.rows) == {20}
    assert poll_changes(actions, cursor, ()) is None  # type: ignore[arg-type]
    actions.visible.append(actions.make(id=4, action_id=31, kind="decided:approve"))
    third = poll_changes(actions, cursor, ())  # type: ignore[arg-type]
    assert third is not None and third.gone == frozenset({31})
