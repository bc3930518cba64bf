"""QueueRows, the Queue list's state without Qt: what it announces for each change
(the Qt model relays it as begin/end calls), where rows land, what cells say and how
urgent they look. No QApplication needed."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from countersign.domain import Risk
from countersign_ui.queue.columns import Column, QueueFilter
from countersign_ui.queue.rows import DECIDING_TEXT, CellTone, QueueRows

from .conftest import make_row


class Recorder:
    """A `RowsListener` that writes down what it is told, and checks the pairing."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self._open: str | None = None

    def _begin(self, what: str, *args: Any) -> None:
        assert self._open is None, f"{what} inside {self._open}"
        self._open = what
        self.events.append((what, *args))

    def _end(self, what: str) -> None:
        assert self._open == what, f"end of {what} while {self._open} is open"
        self._open = None

    def rows_inserting(self, first: int, last: int) -> None:
        self._begin("insert", first, last)

    def rows_inserted(self) -> None:
        self._end("insert")

    def rows_removing(self, first: int, last: int) -> None:
        self._begin("remove", first, last)

    def rows_removed(self) -> None:
        self._end("remove")

    def rows_changed(self, first: int, last: int) -> None:
        self.events.append(("changed", first, last))

    def layout_changing(self) -> None:
        self._begin("layout")

    def layout_changed(self) -> None:
        self._end("layout")

    def resetting(self) -> None:
        self._begin("reset")

    def reset(self) -> None:
        self._end("reset")

    def counts_changed(self, shown: int, total: int) -> None:
        self.events.append(("counts", shown, total))

    def agents_changed(self, agents: list[str]) -> None:
        self.events.append(("agents", agents))

    def kinds(self) -> list[str]:
        return [e[0] for e in self.events]


def rows_of(n: int, **kwargs: Any) -> tuple[QueueRows, Recorder]:
    recorder = Recorder()
    rows = QueueRows(recorder, **kwargs)
    rows.set_rows(make_row(i, agent=("billing-bot", "ops-agent", "triage")[i % 3],
                           action=f"tool_{i % 7}", risk=list(Risk)[i % 4])
                  for i in range(1, n + 1))
    recorder.events.clear()
    return rows, recorder


def test_oldest_first_and_a_streamed_batch_is_one_insertion_at_the_end() -> None:
    rows, recorder = rows_of(5)
    assert rows.ids() == [1, 2, 3, 4, 5]
    rows.apply(upserts=[make_row(6), make_row(7), make_row(8)])
    assert recorder.events[0] == ("insert", 5, 7)
    assert "reset" not in recorder.kinds()
    assert rows.ids() == [1, 2, 3, 4, 5, 6, 7, 8]
    assert recorder.events[-1] == ("counts", 8, 8)


def test_removals_are_announced_in_contiguous_blocks() -> None:
    rows, recorder = rows_of(10)
    rows.apply(removed=[2, 3, 4, 8, 99])  # 99 was never held
    # Rows 1-3 go first; then the old row 7 (id 8) is row 4.
    assert [e for e in recorder.events if e[0] == "remove"] == [
        ("remove", 1, 3), ("remove", 4, 4)]
    assert rows.ids() == [1, 5, 6, 7, 9, 10]
    assert rows.total == 6


def test_an_update_in_place_is_a_change_not_a_move() -> None:
    rows, recorder = rows_of(4)
    moved = make_row(2, agent="ops-agent", action="renamed_tool", risk=list(Risk)[2])
    rows.apply(upserts=[moved])
    assert recorder.kinds() == ["changed"]
    assert rows.get(2) == moved


def test_sorting_and_filtering_are_layout_changes() -> None:
    rows, recorder = rows_of(12)
    rows.sort(Column.RISK, descending=True)
    assert recorder.kinds() == ["layout"]
    ranks = [rows.row_at(p).risk.rank for p in range(rows.shown)]  # type: ignore[union-attr]
    assert ranks == sorted(ranks, reverse=True)
    rows.set_filter(QueueFilter(agent="triage"))
    assert {rows.row_at(p).agent for p in range(rows.shown)} == {"triage"}  # type: ignore[union-attr]
    assert recorder.events[-1] == ("counts", 4, 12)
    rows.set_filter(QueueFilter(agent="triage"))  # the same filter: nothing happens
    assert recorder.kinds() == ["layout", "layout", "counts"]
    assert rows.position_of(1) is None and rows.get(1) is not None


def test_agents_are_announced_when_a_name_comes_or_goes() -> None:
    recorder = Recorder()
    rows = QueueRows(recorder)
    rows.set_rows([make_row(1, agent="b"), make_row(2, agent="A")])
    rows.apply(upserts=[make_row(3, agent="c"), make_row(4, agent="c")])
    rows.apply(removed=[3])  # "c" still has a row
    rows.apply(removed=[2])
    assert [e[1] for e in recorder.events if e[0] == "agents"] == [
        ["A", "b"], ["A", "b", "c"], ["b", "c"]]


def test_cells_say_what_they_mean_and_how_urgent() -> None:
    recorder = Recorder()
    rows = QueueRows(recorder, clock=lambda: 1_000.0)
    rows.set_rows([
        make_row(1, agent="evil\u202ebot", action="send\nmail", created_at=750.0,
                 deadline=1_030.0, risk=Risk.LOW),
        make_row(2, risk=Risk.HIGH, created_at=800.0, deadline=5_000.0),
        make_row(3, risk=Risk.CRITICAL, created_at=900.0),
    ])
    first, high, critical = (rows.get(i) for i in (1, 2, 3))
    assert first is not None and high is not None and critical is not None
    assert rows.text(first, Column.AGENT) == "evil⟦RLO U+202E⟧bot"
    assert rows.text(first, Column.ACTION) == "send ⏎ mail"
    assert rows.full_text(first, Column.AGENT) == "evil\u202ebot"
    assert rows.full_text(first, Column.RISK) is None
    assert rows.text(first, Column.AGE) == "4m 10s"
    assert rows.text(first, Column.DEADLINE) == "30s"
    assert rows.tone(first, Column.DEADLINE) is CellTone.ERROR  # under a minute
    assert rows.tone(high, Column.DEADLINE) is CellTone.NORMAL
    assert rows.tone(high, Column.RISK) is CellTone.WARNING
    assert rows.tone(critical, Column.RISK) is CellTone.ERROR
    assert rows.tone(first, Column.RISK) is CellTone.NORMAL
    assert rows.text(critical, Column.DEADLINE) == "—"

    rows.set_deciding(1, True)
    assert ("changed", rows.position_of(1), rows.position_of(1)) in recorder.events
    assert rows.text(first, Column.DEADLINE) == DECIDING_TEXT
    assert rows.tone(first, Column.DEADLINE) is CellTone.MUTED
    rows.apply(removed=[1])
    assert not rows.is_deciding(1)


def test_the_state_column_only_with_show_state() -> None:
    assert Column.STATE not in QueueRows(Recorder()).columns
    assert QueueRows(Recorder(), show_state=True).columns[-1] is Column.STATE


def test_the_plain_state_imports_no_qt() -> None:
    code = ("import sys, countersign_ui.queue.rows; "
            "print([m for m in sys.modules if m.startswith(('PySide6', 'shiboken6'))])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_the_history_state_column_says_what_became_of_each_action() -> None:
    from countersign.domain import ActionState
    from countersign_ui.queue.history import FIRST_OUTCOMES, OUTCOME_BATCH, older_batches

    recorder = Recorder()
    rows = QueueRows(recorder, show_state=True)
    held = [make_row(i, state=ActionState.DELIVERED) for i in range(1, 1_001)]
    rows.set_rows(held)
    first = rows.row_at(0)
    assert first is not None
    assert rows.text(first, Column.STATE) == "delivered"  # until its outcome is read
    recorder.events.clear()
    rows.set_outcomes({first.id: "approved · ann · delivered"})
    assert rows.text(first, Column.STATE) == "approved · ann · delivered"
    assert rows.full_text(first, Column.STATE) == "approved · ann · delivered"
    assert recorder.events == [("changed", 0, 0)]
    recorder.events.clear()
    rows.set_outcomes({r.id: "rejected · bob" for r in held})  # many: one change
    assert recorder.events == [("changed", 0, 999)]
    rows.apply(removed=[first.id])
    assert rows.full_text(first, Column.STATE) is None
    # The older rows' outcomes are read newest first, in batches.
    many = [make_row(i) for i in range(1, FIRST_OUTCOMES + 2 * OUTCOME_BATCH + 2)]
    batches = older_batches(many)
    assert [len(b) for b in batches] == [OUTCOME_BATCH, OUTCOME_BATCH, 1]
    assert batches[0][0].id == len(many) - FIRST_OUTCOMES and batches[-1][0].id == 1
