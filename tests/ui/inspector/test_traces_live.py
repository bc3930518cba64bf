"""The Traces workspace on a store that keeps changing: new runs appear on their own
without moving the selection or the rows in view, a run is "running" until its root
ends, unknown cost is "—", "Jump to proposing span" works on a run whose action
waits, and a model call recorded by two instrumentations is said and linked."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from countersign.domain import SpanKind, SpanRecord
from countersign.services.actions import ActionService
from countersign.services.traces import TraceService
from countersign_ui.async_work import BackgroundWork
from countersign_ui.inspector.span_tree import Column
from countersign_ui.palette import colours
from countersign_ui.shortcuts import CommandTable
from countersign_ui.traces import TracesWorkspace, workspace
from countersign_ui.traces.runs_model import RUN_ROLE, RunColumn

from . import fleet_traces
from .fleet_traces import Fleet, fill, running_root, trace_id
from .runs import agent_loop

WAIT_MS = 10_000
NOW_NS = time.time_ns()


@pytest.fixture
def stores(sqlite_store) -> tuple[TraceService, ActionService]:
    return TraceService(sqlite_store), ActionService(sqlite_store)


@pytest.fixture
def fleet(stores) -> Fleet:
    return fill(*stores, now_ns=NOW_NS)


@pytest.fixture
def work(qasync_loop) -> Iterator[BackgroundWork]:
    background = BackgroundWork(qasync_loop)
    yield background
    background.shutdown()


@pytest.fixture
def traces(qtbot: QtBot, work, stores, fleet, monkeypatch) -> Iterator[TracesWorkspace]:
    monkeypatch.setattr(workspace, "LIVE_MS", 50)  # the live tick, short for the test
    widget = TracesWorkspace(CommandTable(None, TracesWorkspace.commands), work)
    qtbot.addWidget(widget)
    widget.resize(1440, 900)
    widget.show()
    widget.attach_reads(stores[0])
    with qtbot.waitSignal(widget.runsLoaded, timeout=WAIT_MS):
        widget.set_active(True)
    yield widget
    widget.shutdown()  # its live reads stop before the background work does


def _select(qtbot: QtBot, traces: TracesWorkspace, trace: str) -> None:
    row = traces.model.row_of(trace)
    assert row is not None, trace
    with qtbot.waitSignal(traces.runShown, timeout=WAIT_MS):
        traces.table.setCurrentIndex(traces.model.index(row, 0))


def _cell(traces: TracesWorkspace, trace: str, column: RunColumn,
          role: int = Qt.ItemDataRole.DisplayRole) -> object:
    row = traces.model.row_of(trace)
    assert row is not None, trace
    return traces.model.index(row, column).data(role)


def _refreshed(qtbot: QtBot, traces: TracesWorkspace, condition: Callable[[], bool]) -> None:
    """Wait until the live reads brought the list to ``condition`` (no Refresh pressed)."""
    qtbot.waitUntil(condition, timeout=WAIT_MS)


def test_new_runs_appear_live_without_moving_the_selection_or_the_view(
        qtbot: QtBot, traces: TracesWorkspace, stores, fleet: Fleet) -> None:
    before = traces.model.rowCount()
    row = before - 8  # an old run, far down the list
    chosen = traces.model.index(row, 0).data(RUN_ROLE)
    _select(qtbot, traces, chosen.trace_id)
    bar = traces.table.verticalScrollBar()
    bar.setValue(bar.maximum())
    top = traces.table.indexAt(traces.table.viewport().rect().topLeft())
    top_run = top.data(RUN_ROLE).trace_id
    top_y = traces.table.visualRect(top).top()
    spans: list[SpanRecord] = []
    for n in range(5):  # five new runs, newer than all others: they go on top
        spans += agent_loop(1, words=5, retry_loop=0, trace_id=trace_id(2000 + n),
                            agent="triage", start_ns=NOW_NS + n * 10**9,
                            name=f"new ticket {n}")[0]
    assert not stores[0].ingest(spans, source="test").rejected
    _refreshed(qtbot, traces, lambda: traces.model.rowCount() == before + 5)
    assert traces.model.index(0, RunColumn.RUN).data() == "new ticket 4"
    assert traces.current_trace_id() == chosen.trace_id  # the selection stayed
    assert traces.inspector.run.nodes[0].span.trace_id == chosen.trace_id
    now_top = traces.table.indexAt(traces.table.viewport().rect().topLeft())
    assert now_top.data(RUN_ROLE).trace_id == top_run  # the rows in view stayed
    assert traces.table.visualRect(now_top).top() == top_y
    assert traces.filter_bar.count.text() == f"{before + 5} runs"


def test_the_list_at_its_top_shows_new_runs_and_keeps_the_selection(
        qtbot: QtBot, traces: TracesWorkspace, stores, fleet: Fleet) -> None:
    _select(qtbot, traces, fleet.pending)
    assert traces.table.verticalScrollBar().value() == 0
    spans = agent_loop(1, words=5, retry_loop=0, trace_id=trace_id(3000), agent="triage",
                       start_ns=NOW_NS + 10**9, name="newest")[0]
    stores[0].ingest(spans, source="test")
    _refreshed(qtbot, traces, lambda: traces.model.row_of(trace_id(3000)) == 0)
    assert traces.current_trace_id() == fleet.pending
    assert traces.table.verticalScrollBar().value() == 0  # following the newest


def test_a_run_is_running_until_its_root_ends(qtbot: QtBot, traces: TracesWorkspace,
                                              stores, fleet: Fleet) -> None:
    assert _cell(traces, fleet.running, RunColumn.STATUS) == "running"  # never "ok"
    assert _cell(traces, fleet.running, RunColumn.STATUS,
                 Qt.ItemDataRole.ForegroundRole) == QColor(colours().accent)
    assert str(_cell(traces, fleet.running, RunColumn.DURATION)).endswith("…")  # so far
    _select(qtbot, traces, fleet.running)
    summary = traces.inspector.summary.text()
    assert summary.startswith("running, its root span not yet seen · 2 spans"), summary
    # The root arrives: the list and the run on show follow by themselves.
    stores[0].ingest([running_root(fleet.running, NOW_NS - 20 * 10**9)], source="test")
    _refreshed(qtbot, traces,
               lambda: _cell(traces, fleet.running, RunColumn.STATUS) == "ok"
               and len(traces.inspector.run.nodes) == 3)
    assert not traces.inspector.summary.text().startswith("running")
    assert traces.model.index(0, 0).data(RUN_ROLE).trace_id == fleet.running


def test_an_open_root_span_says_running_in_the_tree_and_its_detail(qtbot: QtBot,
                                                                   traces) -> None:
    root = SpanRecord(trace_id=trace_id(4000), span_id="9" * 16, parent_span_id=None,
                      name="long task", kind=SpanKind.AGENT, start_ns=NOW_NS, end_ns=None,
                      status_code="unset", status_message=None)
    traces.inspector.show_run([root])
    index = traces.inspector.model.index_for_span(root.span_id)
    assert index.siblingAtColumn(Column.STATUS).data() == "running"
    assert "running, no status yet" in traces.inspector.detail.meta.text()
    assert "status unset" not in traces.inspector.detail.meta.text()
    assert traces.inspector.summary.text().startswith("running · 1 span · ")


def test_unknown_cost_is_a_dash_and_a_known_zero_is_zero(qtbot: QtBot, traces, stores,
                                                         fleet: Fleet) -> None:
    assert _cell(traces, fleet.unpriced, RunColumn.COST) == "—"
    assert "unknown, not free" in str(_cell(traces, fleet.unpriced, RunColumn.COST,
                                            Qt.ItemDataRole.ToolTipRole))
    assert _cell(traces, fleet.pending, RunColumn.COST) == "$0.02"
    _select(qtbot, traces, fleet.unpriced)
    inspector = traces.inspector
    assert "cost —" in inspector.summary.text() and "$0" not in inspector.summary.text()
    root, *calls = inspector.run.nodes
    assert inspector.model.index_of(root, Column.COST).data() == "Σ —"
    assert {inspector.model.index_of(n, Column.COST).data() for n in calls} == {"—"}
    inspector.select_node(calls[0])
    assert "cost —" in inspector.detail.meta.text()
    # A price recorded as zero is known: $0, not unknown.
    free = [s.model_copy(update={"cost": 0.0}) if s.kind is SpanKind.LLM else s
            for s in fleet_traces.unpriced_run(trace_id(5000), NOW_NS + 10**9)]
    stores[0].ingest(free, source="test")
    _refreshed(qtbot, traces, lambda: traces.model.row_of(trace_id(5000)) is not None)
    assert _cell(traces, trace_id(5000), RunColumn.COST) == "$0"


def test_jump_to_proposing_span_on_a_run_whose_action_waits(qtbot: QtBot, traces,
                                                            fleet: Fleet) -> None:
    assert _cell(traces, fleet.pending, RunColumn.PENDING) == "1 pending"
    _select(qtbot, traces, fleet.pending)
    inspector = traces.inspector
    assert inspector.proposer_button.isEnabled()
    assert inspector.selected_span_id() == fleet.proposer
    inspector.select_node(inspector.run.nodes[0])
    qtbot.mouseClick(inspector.proposer_button, Qt.MouseButton.LeftButton)
    assert inspector.selected_span_id() == fleet.proposer
    assert inspector.detail.title.text().endswith("proposed the action")
    _select(qtbot, traces, trace_id(1))  # a run without an action
    assert not inspector.proposer_button.isEnabled()


def test_duplicate_model_calls_are_said_hidden_and_linked(qtbot: QtBot, traces,
                                                          fleet: Fleet) -> None:
    note = traces.duplicates_note
    assert not note.isHidden()
    text = note.text.text()
    assert fleet_traces.LANGCHAIN in text and fleet_traces.OPENAI in text
    assert "1 run only repeats a model call of another run" in text
    assert traces.model.row_of(fleet.duplicate) is None  # hidden by default
    assert traces.model.row_of(fleet.original) is not None
    with qtbot.waitSignal(traces.runsLoaded, timeout=WAIT_MS):
        note.button.click()  # "Show them"
    assert traces.filter_bar.duplicates.isChecked()
    name = str(_cell(traces, fleet.duplicate, RunColumn.RUN))
    assert name.startswith("chat gpt-4o-mini") and f"run {fleet.original[:8]}" in name
    dimmed = _cell(traces, fleet.duplicate, RunColumn.AGENT, Qt.ItemDataRole.ForegroundRole)
    assert dimmed == QColor(colours().muted)
    assert _cell(traces, fleet.original, RunColumn.AGENT,
                 Qt.ItemDataRole.ForegroundRole) is None
    _select(qtbot, traces, fleet.duplicate)
    assert not traces.run_note.isHidden()
    assert fleet.original in traces.run_note.text.text()
    open_original = traces.command_table["traces.open_original"]
    assert open_original.isEnabled()
    with qtbot.waitSignal(traces.runShown, timeout=WAIT_MS) as shown:
        open_original.trigger()
    assert shown.args == [fleet.original]
    assert traces.current_trace_id() == fleet.original
    assert traces.run_note.isHidden() and not open_original.isEnabled()


def test_the_live_list_stops_off_screen(qtbot: QtBot, traces, stores) -> None:
    traces.set_active(False)
    qtbot.waitUntil(lambda: traces.work.busy == 0, timeout=WAIT_MS)
    before = traces.model.rowCount()
    stores[0].ingest(agent_loop(1, words=5, retry_loop=0, trace_id=trace_id(6000),
                                start_ns=NOW_NS + 10**9)[0], source="test")
    reads: list[bool] = []
    traces.runsRefreshed.connect(reads.append)
    with qtbot.waitSignal(traces.runsRefreshed, timeout=WAIT_MS):
        traces.set_active(True)  # back on screen: the list catches up
    assert reads and traces.model.rowCount() == before + 1

