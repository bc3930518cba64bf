"""The Traces workspace on a real (temporary SQLite) store: the runs table's contract
and paging, filtering off-thread with stale results dropped, and opening a run."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt

from countersign.domain.runs import RunQuery
from countersign.services.traces import TraceService
from countersign_ui.async_work import BackgroundWork
from countersign_ui.shortcuts import CommandTable
from countersign_ui.traces import RunsModel, TracesWorkspace, runs_model, workspace
from countersign_ui.traces.runs_model import RUN_ROLE, RunColumn

from .runs import agent_loop

AGENTS = ("refund-agent", "billing-bot", "triage")
NOW_NS = time.time_ns()


def _fill(service: TraceService, runs: int) -> None:
    spans = []
    for n in range(runs):
        trace_id = f"{n + 1:032x}"
        failing = n % 5 == 0  # iteration 4 retries its LLM call, and the agent gives up
        iterations = 4 if failing else 1 + n % 4
        spans.extend(agent_loop(iterations, words=8, retry_loop=1 if failing else 0,
                                trace_id=trace_id, agent=AGENTS[n % 3],
                                start_ns=NOW_NS - (n + 1) * 60_000_000_000,
                                name=f"ticket #{n}",
                                root_status="error" if failing else "ok")[0])
    result = service.ingest(spans, source="test")
    assert not result.rejected


@pytest.fixture
def service(sqlite_store) -> TraceService:
    traces = TraceService(sqlite_store)
    _fill(traces, 40)
    return traces


@pytest.fixture
def work(qasync_loop) -> Iterator[BackgroundWork]:
    background = BackgroundWork(qasync_loop)
    yield background
    background.shutdown()


@pytest.fixture
def traces(qtbot, work, service) -> Iterator[TracesWorkspace]:
    widget = TracesWorkspace(CommandTable(None, TracesWorkspace.commands), work)
    qtbot.addWidget(widget)
    widget.resize(1440, 900)
    widget.show()
    widget.attach_reads(service)  # not the window's current workspace: nothing is read
    assert widget.model.rowCount() == 0 and work.busy == 0
    with qtbot.waitSignal(widget.runsLoaded, timeout=10_000):
        widget.set_active(True)
    yield widget
    widget.shutdown()  # its live reads stop before the background work does


def test_runs_model_contract(qtmodeltester, service) -> None:
    model = RunsModel()
    rows = service.search_runs(RunQuery(limit=500))
    model.reset(rows, complete=True, total=len(rows))
    qtmodeltester.check(model)
    assert model.rowCount() == 40
    assert model.index(0, RunColumn.RUN).data() == "ticket #0"  # newest first
    assert model.index(0, RunColumn.AGENT).data() == "refund-agent"
    assert model.index(0, RunColumn.STATUS).data() == "error"  # the agent gave up
    assert model.index(0, RunColumn.STATUS).data(Qt.ItemDataRole.ForegroundRole) is not None


def test_runs_model_pages(qtmodeltester) -> None:
    model = RunsModel()
    wanted: list[int] = []
    model.moreWanted.connect(wanted.append)
    generation = model.reset([], complete=False)
    assert model.canFetchMore()
    model.fetchMore()
    assert wanted == [0] and not model.canFetchMore()  # one request at a time
    assert not model.append_page(generation - 1, [], complete=True)  # a stale page
    assert model.append_page(generation, [], complete=True)
    assert not model.canFetchMore()
    qtmodeltester.check(model)


def test_workspace_lists_and_pages(qtbot, traces, monkeypatch) -> None:
    assert traces.model.rowCount() == 40
    assert traces.filter_bar.count.text() == "40 runs"
    assert traces.filter_bar.agent.count() == 1 + len(AGENTS)
    # smaller pages: the list grows as the view asks for more
    monkeypatch.setattr(workspace, "PAGE_SIZE", 15)
    monkeypatch.setattr(runs_model, "PAGE_SIZE", 15)
    original = traces.filter_bar.query
    monkeypatch.setattr(traces.filter_bar, "query",
                        lambda: original().model_copy(update={"limit": 15}))
    with qtbot.waitSignal(traces.runsLoaded, timeout=10_000):
        traces.apply_filter()
    assert traces.model.rowCount() == 15 and traces.model.canFetchMore()
    traces.model.fetchMore()
    qtbot.waitUntil(lambda: traces.model.rowCount() == 30, timeout=10_000)
    traces.model.fetchMore()
    qtbot.waitUntil(lambda: traces.model.rowCount() == 40, timeout=10_000)
    assert not traces.model.canFetchMore()
    names = [traces.model.index(r, RunColumn.RUN).data() for r in range(40)]
    assert names == [f"ticket #{n}" for n in range(40)]


def test_filtering_is_debounced_and_stale_results_dropped(qtbot, traces) -> None:
    bar = traces.filter_bar
    loaded: list[int] = []
    traces.runsLoaded.connect(loaded.append)
    bar.agent.setCurrentIndex(bar.agent.findData("billing-bot"))
    bar.status.setCurrentIndex(bar.status.findText("Failed"))
    bar.text.setText("ticket #1")
    qtbot.waitUntil(lambda: bool(loaded), timeout=10_000)
    # Settled: no filter change waits for its debounce, no first page is being read,
    # so no further query can land.
    qtbot.waitUntil(lambda: traces.settled, timeout=10_000)
    assert len(loaded) == 1  # three changes, one query
    runs = [traces.model.run_at(r) for r in range(traces.model.rowCount())]
    assert runs and all(r.agent_name == "billing-bot" and r.status == "error" for r in runs)
    assert all(r.name.startswith("ticket #1") for r in runs)
    # two queries in flight: only the newer one's result lands
    bar.text.setText("")
    bar.status.setCurrentIndex(0)
    bar.agent.setCurrentIndex(0)
    traces.apply_filter()
    bar.min_tokens.setValue(10**9)  # nothing uses that many
    traces.apply_filter()
    qtbot.waitUntil(lambda: bar.count.text() == "0 runs", timeout=10_000)
    qtbot.waitUntil(lambda: traces.work.busy == 0, timeout=10_000)  # the older one is back
    assert traces.model.rowCount() == 0


def test_time_and_pending_filters_build_the_query(traces) -> None:
    bar = traces.filter_bar
    bar.period.setCurrentIndex(0)  # last hour
    bar.pending.setChecked(True)
    bar.min_duration.setValue(2.5)
    bar.min_cost.setValue(0.25)
    query = bar.query(now_ns=10**18)
    assert query.since_ns == 10**18 - 3600 * 10**9 and query.until_ns is None
    assert query.has_pending_action is True
    assert query.min_duration_ns == 2_500_000_000
    assert query.min_cost == pytest.approx(0.25)
    bar.period.setCurrentIndex(4)  # custom
    assert not bar.since.isHidden()
    assert bar.query().until_ns is not None


def test_opening_a_run_shows_it_in_the_inspector(qtbot, traces) -> None:
    row = 3
    run = traces.model.index(row, 0).data(RUN_ROLE)
    with qtbot.waitSignal(traces.runShown, timeout=10_000) as shown:
        traces.table.setCurrentIndex(traces.model.index(row, 0))
    assert shown.args == [run.trace_id]
    inspector = traces.inspector
    assert len(inspector.run.nodes) == run.span_count
    assert inspector.summary.text().startswith(f"{run.span_count:,} spans")
    # a slow load for an earlier selection never replaces the later one
    first, second = (traces.model.index(r, 0).data(RUN_ROLE) for r in (5, 6))
    traces.open_run(first.trace_id)
    with qtbot.waitSignal(traces.runShown, timeout=10_000) as shown:
        traces.open_run(second.trace_id)
    assert shown.args == [second.trace_id]
    qtbot.waitUntil(lambda: traces.work.busy == 0, timeout=10_000)  # the first is back
    assert len(inspector.run.nodes) == second.span_count
