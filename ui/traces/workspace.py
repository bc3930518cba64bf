"""The Traces workspace: filters on top, the runs list, and the selected run in the
`TraceInspector` below it (full width, so the waterfall has room).

Every store read runs off the GUI thread: filtering (debounced `DEBOUNCE_MS`, each
new filter outdating the previous query, whose result is then dropped), the next page
of runs when the list is scrolled to its end, and the spans of the run selected (a
run selected while another is loading wins; the late one is dropped).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from countersign.domain import SpanRecord
from countersign.domain.runs import RunQuery, RunSummary

from ..async_work import BackgroundWork
from ..inspector import TraceInspector
from ..qt.core import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from ..qt.widgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from ..review.send import SEND_KEY, send_to_review
from ..shortcuts import Command, CommandTable
from ..workspace import Workspace
from .filter_bar import TracesFilterBar
from .runs_model import PAGE_SIZE, TRACE_ID_ROLE, RunColumn, RunsModel

if TYPE_CHECKING:
    from countersign.session import Services

#: Filters are applied after this pause, so a burst of changes queries once.
DEBOUNCE_MS = 150
_WIDTHS = ((RunColumn.STARTED, 120), (RunColumn.AGENT, 150), (RunColumn.SPANS, 120),
           (RunColumn.DURATION, 90), (RunColumn.TOKENS, 80), (RunColumn.COST, 80),
           (RunColumn.STATUS, 60), (RunColumn.PENDING, 90))


class TraceReads(Protocol):
    """What the workspace needs of `countersign.services.traces.TraceService`."""

    def search_runs(self, query: RunQuery) -> list[RunSummary]: ...
    def count_runs(self, query: RunQuery) -> int: ...
    def run_spans(self, trace_id: str) -> list[SpanRecord]: ...
    def agents(self) -> list[str]: ...


@dataclass(frozen=True)
class RunPage:
    rows: list[RunSummary]
    #: How many runs match in all (first pages only).
    total: int | None


def load_runs(service: TraceReads, query: RunQuery, *, count: bool) -> RunPage:
    """One page of runs (and, for a first page, how many match in all)."""
    rows = service.search_runs(query)
    total = service.count_runs(query) if count else None
    return RunPage(rows, total)


class TracesWorkspace(Workspace):
    """See the module docstring."""

    name = "traces"
    title = "Traces"
    key = "Ctrl+2"
    tip = "Show the Traces workspace: search runs and inspect their spans"
    commands = (
        Command("traces.refresh", "&Refresh runs", "&Runs", ("F5",),
                "Read the runs for the current filters again"),
        Command("traces.send_to_review", "Send run to re&view", "&Runs", (SEND_KEY,),
                "Put the selected run in the review queue by hand (answered with the run "
                "rubric)"),
    )

    # Signals (besides `Workspace`'s)
    #: A run's spans are on show in the inspector (its trace id).
    runShown = Signal(str)
    #: A first page of runs for the current filters is in the list (its row count).
    runsLoaded = Signal(int)

    def __init__(self, table: CommandTable, work: BackgroundWork,
                 parent: QWidget | None = None) -> None:
        super().__init__(table, work, parent)
        self._service: TraceReads | None = None
        self._services: Services | None = None
        self._query: RunQuery | None = None
        self._query_generation = 0
        self._wanted_trace: str | None = None
        self._stale = False
        self.filter_bar = TracesFilterBar(self)
        self.refresh_button = QToolButton(self)
        self.refresh_button.setText("Refresh")
        self.refresh_button.setToolTip(table["traces.refresh"].toolTip())
        self.model = RunsModel(self)
        self.table = self._build_table()
        self.inspector = TraceInspector(self, work=work)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setObjectName("tracesSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.inspector)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([230, 670])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.filter_bar, 1)
        row.addWidget(self.refresh_button)
        layout.addLayout(row)
        layout.addWidget(self.splitter, 1)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.apply_filter)
        self.filter_bar.filterChanged.connect(self._debounce.start)
        self.refresh_button.clicked.connect(self.refresh)
        self.model.moreWanted.connect(self._load_more)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_changed)
        table["traces.refresh"].triggered.connect(self.refresh)
        table["traces.send_to_review"].triggered.connect(self.send_to_review)
        self.inspector.summary.setText("Select a run to inspect it")

    def _build_table(self) -> QTableView:
        table = QTableView(self)
        table.setObjectName("runsTable")
        table.setModel(self.model)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setAlternatingRowColors(True)
        table.setShowGrid(False)
        table.setWordWrap(False)
        table.verticalHeader().hide()
        table.verticalHeader().setDefaultSectionSize(24)
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = table.horizontalHeader()
        header.setHighlightSections(False)
        for column, width in _WIDTHS:
            header.resizeSection(column, width)
        header.setSectionResizeMode(RunColumn.RUN, QHeaderView.ResizeMode.Stretch)
        return table

    # -- store -------------------------------------------------------------------------

    def attach(self, services: Services) -> None:
        """Show the store's runs (through ``services.traces``)."""
        self._services = services
        self.attach_reads(services.traces)

    def send_to_review(self) -> None:
        """Put the selected run in the review queue by hand (ad hoc)."""
        send_to_review(self, self._services, trace_id=self.current_trace_id())

    def attach_reads(self, service: TraceReads) -> None:
        """Show ``service``'s runs — read now if the workspace is on screen, else the
        first time it is shown (the console's start-up does not pay for it)."""
        self._service = service
        self._stale = True
        if self.is_active:
            self.refresh()

    def activated(self) -> None:
        if self._stale:
            self.refresh()

    def refresh(self) -> None:
        """Read the agents and the runs for the current filters again."""
        if self._service is None:
            return
        self._stale = False
        self.work.submit(self._service.agents, on_done=self.filter_bar.set_agents,
                          on_error=self._failed)
        self.apply_filter()

    def apply_filter(self) -> None:
        """Query the first page for the filters now set (off-thread)."""
        self._debounce.stop()
        if self._service is None:
            return
        self._query = self.filter_bar.query()
        self._query_generation += 1
        generation = self._query_generation
        self.work.submit(load_runs, self._service, self._query, count=True,
                          on_done=lambda page: self._first_page(generation, page),
                          on_error=self._failed)

    def _first_page(self, generation: int, page: RunPage) -> None:
        if generation != self._query_generation:
            return  # a newer filter has been asked for
        selected = self.current_trace_id()
        self.model.reset(page.rows, complete=len(page.rows) < PAGE_SIZE, total=page.total)
        self.filter_bar.set_count(self.model.rowCount(), page.total)
        row = self.model.row_of(selected) if selected is not None else None
        if row is not None:
            self._select_row(row, load=False)
        self.runsLoaded.emit(self.model.rowCount())

    def _load_more(self, offset: int) -> None:
        if self._service is None or self._query is None:
            self.model.page_failed(self.model.generation)
            return
        generation = self.model.generation
        query = self._query.model_copy(update={"offset": offset, "limit": PAGE_SIZE})
        self.work.submit(load_runs, self._service, query, count=False,
                          on_done=lambda page: self._next_page(generation, page),
                          on_error=lambda exc: self._page_failed(generation, exc))

    def _next_page(self, generation: int, page: RunPage) -> None:
        self.model.append_page(generation, page.rows, complete=len(page.rows) < PAGE_SIZE)

    def _page_failed(self, generation: int, exc: BaseException) -> None:
        self.model.page_failed(generation)
        self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        self.errorOccurred.emit(f"Traces: {exc}")

    # -- selection ---------------------------------------------------------------------

    def current_trace_id(self) -> str | None:
        value = self.table.currentIndex().data(TRACE_ID_ROLE)
        return value if isinstance(value, str) else None

    def _select_row(self, row: int, *, load: bool = True) -> None:
        index = self.model.index(row, 0)
        self.table.selectionModel().blockSignals(not load)
        try:
            self.table.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows)
        finally:
            self.table.selectionModel().blockSignals(False)
        self.table.scrollTo(index)

    def open_run(self, trace_id: str, *, highlight_span_id: str | None = None) -> None:
        """Load ``trace_id``'s spans off-thread and show them in the inspector."""
        if self._service is None:
            return
        self._wanted_trace = trace_id
        self.inspector.summary.setText("Loading the run…")
        self.work.submit(self._service.run_spans, trace_id,
                          on_done=lambda spans: self._spans_loaded(
                              trace_id, spans, highlight_span_id),
                          on_error=self._failed)

    def _spans_loaded(self, trace_id: str, spans: list[SpanRecord],
                      highlight_span_id: str | None) -> None:
        if trace_id != self._wanted_trace:
            return  # another run was selected meanwhile
        self.inspector.show_run(spans, highlight_span_id=highlight_span_id)
        self.runShown.emit(trace_id)

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        trace_id = current.data(TRACE_ID_ROLE) if current.isValid() else None
        if isinstance(trace_id, str):
            self.open_run(trace_id)
        else:
            self._wanted_trace = None
            self.inspector.clear()
