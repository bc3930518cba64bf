"""The Traces workspace: filters on top, the runs list, and the selected run in the
`TraceInspector` below it (full width, so the waterfall has room).

Every store read runs off the GUI thread: filtering (debounced `DEBOUNCE_MS`, each
new filter outdating the previous query, whose result is then dropped), the next page
of runs when the list is scrolled to its end, and the spans of the run selected (a
run selected while another is loading wins; the late one is dropped).

The list follows the store live, as the Queue does: while the workspace is on screen
the first page is read again every `LIVE_MS` (one read at a time, never while a filter
or a page is loading) and merged into the list, so new runs appear and running ones
move on without the selection or the rows in view moving. When the run on show
changed (new spans, its root ended), its spans are read again.

When two instrumentations record the same model calls, a strip says so; the runs
that only repeat a call of another run are hidden unless asked for, and a run shown
is linked to the run it belongs to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from countersign.domain.runs import RunQuery, RunSummary

from ..async_work import BackgroundWork
from ..inspector import TraceInspector
from ..palette import Palette, Tone
from ..qt.core import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPoint,
    Qt,
    QTimer,
    Signal,
)
from ..qt.widgets import (
    QAbstractItemView,
    QApplication,
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
from ..widgets.tables import row_table
from ..workspace import Workspace
from .filter_bar import TracesFilterBar
from .note_strip import NoteStrip
from .reads import LoadedRun, RunPage, TraceReads, load_run, load_runs
from .runs_model import (
    PAGE_SIZE,
    RUN_ROLE,
    TRACE_ID_ROLE,
    RunColumn,
    RunsModel,
    duplicate_text,
)

if TYPE_CHECKING:
    from countersign.session import Services

__all__ = ["LoadedRun", "RunPage", "TraceReads", "TracesWorkspace", "load_runs"]

#: Filters are applied after this pause, so a burst of changes queries once.
DEBOUNCE_MS = 150
#: How often the list is read again while on screen (one read at a time).
LIVE_MS = 1000
_WIDTHS = ((RunColumn.STARTED, 120), (RunColumn.AGENT, 150), (RunColumn.SPANS, 110),
           (RunColumn.DURATION, 90), (RunColumn.TOKENS, 80), (RunColumn.COST, 80),
           (RunColumn.STATUS, 70), (RunColumn.PENDING, 90))
#: Below `COMPACT_WIDTH` pixels of list, narrower columns leave the run's name room.
COMPACT_WIDTH = 1100
_COMPACT_WIDTHS = ((RunColumn.STARTED, 96), (RunColumn.AGENT, 112), (RunColumn.SPANS, 70),
                   (RunColumn.DURATION, 74), (RunColumn.TOKENS, 58), (RunColumn.COST, 64),
                   (RunColumn.STATUS, 64), (RunColumn.PENDING, 76))


def _info(palette: Palette) -> Tone:
    return palette.info_banner


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
        Command("traces.open_original", "Open the run it re&peats", "&Runs", ("Ctrl+Shift+P",),
                "The selected run only repeats a model call of another run (a second "
                "instrumentation recorded it): show that run"),
    )

    # Signals (besides `Workspace`'s)
    #: A run's spans are on show in the inspector (its trace id).
    runShown = Signal(str)
    #: A first page of runs for the current filters is in the list (its row count).
    runsLoaded = Signal(int)
    #: A live read of the list was merged into it (True when anything changed).
    runsRefreshed = Signal(bool)

    def __init__(self, table: CommandTable, work: BackgroundWork,
                 parent: QWidget | None = None) -> None:
        super().__init__(table, work, parent)
        self._service: TraceReads | None = None
        self._services: Services | None = None
        self._query: RunQuery | None = None
        self._query_generation = 0
        self._first_page_loading = False
        self._polling = False
        self._wanted_trace: str | None = None
        self._shown: RunSummary | None = None
        self._stale = False
        self.filter_bar = TracesFilterBar(self)
        self.refresh_button = QToolButton(self)
        self.refresh_button.setText("Refresh")
        self.refresh_button.setToolTip(table["traces.refresh"].toolTip())
        self.duplicates_note = NoteStrip("duplicatesNote", _info, self)
        self.model = RunsModel(self)
        self.table = self._build_table()
        self.inspector = TraceInspector(self, work=work)
        self.run_note = NoteStrip("runNote", _info, self)
        below = QWidget(self)
        below.setObjectName("inspectorPane")
        column = QVBoxLayout(below)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        column.addWidget(self.run_note)
        column.addWidget(self.inspector, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setObjectName("tracesSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(below)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([230, 670])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.filter_bar, 1)
        row.addWidget(self.refresh_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(row)
        layout.addWidget(self.duplicates_note)
        layout.addWidget(self.splitter, 1)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.apply_filter)
        self._live = QTimer(self)
        self._live.setSingleShot(True)  # restarted when a read is done: never two at once
        self._live.setInterval(LIVE_MS)
        self._live.timeout.connect(self.poll)
        self.filter_bar.filterChanged.connect(self._debounce.start)
        self.refresh_button.clicked.connect(self.refresh)
        self.duplicates_note.activated.connect(self.filter_bar.duplicates.toggle)
        self.run_note.activated.connect(self.open_original)
        self.model.moreWanted.connect(self._load_more)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_changed)
        table["traces.refresh"].triggered.connect(self.refresh)
        table["traces.send_to_review"].triggered.connect(self.send_to_review)
        table["traces.open_original"].triggered.connect(self.open_original)
        self.inspector.summary.setText("Select a run to inspect it")

    def _build_table(self) -> QTableView:
        # Tab goes on to the inspector (rows, not cells).
        table = row_table(self, "runsTable", self.model)
        # By pixel: live updates keep the rows in view exactly where they were.
        table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        table.verticalHeader().setDefaultSectionSize(24)
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = table.horizontalHeader()
        for column, width in _WIDTHS:
            header.resizeSection(column, width)
        header.setSectionResizeMode(RunColumn.RUN, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(48)
        table.installEventFilter(self)
        self._compact: bool | None = None
        return table

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table and event.type() == QEvent.Type.Resize:
            self._fit_columns()
        return super().eventFilter(watched, event)

    def _fit_columns(self) -> None:
        """Narrower number columns on a narrow list; the selected run stays in view."""
        compact = self.table.width() < COMPACT_WIDTH
        if compact != self._compact:
            self._compact = compact
            header = self.table.horizontalHeader()
            for column, width in _COMPACT_WIDTHS if compact else _WIDTHS:
                header.resizeSection(column, width)
        current = self.table.currentIndex()
        if current.isValid():
            QTimer.singleShot(0, self, lambda: self.table.scrollTo(self.table.currentIndex()))

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
        """On screen: the keyboard acts on the runs list; the list catches up."""
        focus = QApplication.focusWidget()
        if focus is None or not (focus is self.table or self.inspector.isAncestorOf(focus)):
            self.table.setFocus(Qt.FocusReason.OtherFocusReason)
        if self._stale:
            self.refresh()
        else:
            self._live.start()

    def deactivated(self) -> None:
        self._live.stop()  # nobody is looking: no reads (the list catches up when shown)

    def shutdown(self) -> None:
        self._live.stop()
        self._debounce.stop()
        self._service = None

    @property
    def settled(self) -> bool:
        """No filter change is waiting for its debounce and no first page is being
        read: the list shows the filters as set (live reads aside)."""
        return not self._debounce.isActive() and not self._first_page_loading

    def command_enabled(self, name: str) -> bool:
        if name == "traces.open_original":
            return self._current_run_duplicates() is not None
        return True

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
        self._first_page_loading = True
        generation = self._query_generation
        self.work.submit(load_runs, self._service, self._query, count=True,
                          name_instrumentations=True,
                          on_done=lambda page: self._first_page(generation, page),
                          on_error=lambda exc: self._first_page_failed(generation, exc))

    def _first_page(self, generation: int, page: RunPage) -> None:
        if generation != self._query_generation:
            return  # a newer filter has been asked for
        self._first_page_loading = False
        selected = self.current_trace_id()
        self.model.reset(page.rows, complete=len(page.rows) < PAGE_SIZE, total=page.total)
        self.filter_bar.set_count(self.model.rowCount(), page.total)
        self._show_duplicates(page)
        row = self.model.row_of(selected) if selected is not None else None
        if row is not None:
            self._select_row(row, load=False)
        self.runsLoaded.emit(self.model.rowCount())
        if self.is_active:
            self._live.start()

    def _first_page_failed(self, generation: int, exc: BaseException) -> None:
        if generation == self._query_generation:
            self._first_page_loading = False
        self._failed(exc)

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

    # -- live --------------------------------------------------------------------------

    def poll(self) -> None:
        """Read the first page again and merge it in (the live timer calls this)."""
        busy = (self._first_page_loading or self._polling or self.model.loading
                or self._debounce.isActive())
        if self._service is None or self._query is None or busy:
            if self.is_active and self._service is not None:
                self._live.start()
            return
        # The filters as set (a "last hour" window slides on), the same page size.
        query = self.filter_bar.query()
        self._query = query
        self._polling = True
        generation = self._query_generation
        names = not self.duplicates_note.isVisible()
        self.work.submit(load_runs, self._service, query, count=True,
                          name_instrumentations=names,
                          on_done=lambda page: self._polled(generation, page),
                          on_error=self._poll_failed)

    def _polled(self, generation: int, page: RunPage) -> None:
        self._polling = False
        if self.is_active:
            self._live.start()
        if generation != self._query_generation or self._first_page_loading:
            return  # a new filter was applied meanwhile: its own read is the truth
        bar = self.table.verticalScrollBar()
        anchor = None if bar.value() == 0 else self.table.indexAt(QPoint(1, 1))
        anchor_id = anchor.data(TRACE_ID_ROLE) if anchor is not None else None
        anchor_y = self.table.visualRect(anchor).top() if anchor is not None else 0
        changed = self.model.merge(page.rows, complete=len(page.rows) < PAGE_SIZE,
                                   keep=self.current_trace_id(), total=page.total)
        row = self.model.row_of(anchor_id) if isinstance(anchor_id, str) else None
        if row is not None:  # the rows in view stay in view
            self.table.updateGeometries()  # the scroll range for the new rows, now
            bar.setValue(bar.value() + self.table.rowViewportPosition(row) - anchor_y)
        self.filter_bar.set_count(self.model.rowCount(), page.total)
        self._show_duplicates(page)
        self._follow_shown_run()
        self.update_commands()
        self.runsRefreshed.emit(changed)

    def _poll_failed(self, exc: BaseException) -> None:
        self._polling = False
        if self.is_active:
            self._live.start()
        self._failed(exc)

    def _follow_shown_run(self) -> None:
        """Read the run on show again when it changed (new spans, its root ended)."""
        trace_id = self.current_trace_id()
        row = self.model.row_of(trace_id) if trace_id is not None else None
        run = self.model.run_at(row) if row is not None else None
        shown = self._shown
        if run is None or shown is None or shown.trace_id != run.trace_id:
            return
        if (run.span_count, run.finished, run.status, run.pending_actions) != (
                shown.span_count, shown.finished, shown.status, shown.pending_actions):
            self.open_run(run.trace_id, keep_span=self.inspector.selected_span_id())

    # -- duplicates --------------------------------------------------------------------

    def _show_duplicates(self, page: RunPage) -> None:
        if not page.duplicates:
            self.duplicates_note.hide()
            return
        if page.instrumentations and len(page.instrumentations) > 1:
            who = f"Two instrumentations ({' and '.join(page.instrumentations)})"
        elif page.instrumentations or self.duplicates_note.isVisible():
            known = self.duplicates_note.property("instrumentations") or ""
            who = known or "Two instrumentations"
        else:
            who = "Two instrumentations"
        self.duplicates_note.setProperty("instrumentations", who)
        runs = "run only repeats" if page.duplicates == 1 else "runs only repeat"
        shown = self.filter_bar.duplicates.isChecked()
        self.duplicates_note.show_note(
            f"{who} record the same model calls: {page.duplicates:,} {runs} a model call "
            "of another run, where its tokens and cost are counted"
            + (" (dimmed below)." if shown else " (hidden from the list)."),
            "Hide them" if shown else "Show them",
            "Hide the runs that repeat a model call" if shown else
            "List the runs that repeat a model call, dimmed, each linked to its run")

    def _current_run_duplicates(self) -> str | None:
        run = self.table.currentIndex().data(RUN_ROLE)
        return run.duplicate_of if isinstance(run, RunSummary) else None

    def open_original(self) -> None:
        """Show the run the selected duplicate belongs to: selected in the list when it
        is there, else in the inspector alone."""
        original = self._current_run_duplicates()
        if original is None:
            return
        row = self.model.row_of(original)
        if row is not None:
            self._select_row(row)
            self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)
        else:
            self.open_run(original)
            self.run_note.show_note(
                f"Showing run {original}, which the selected run repeats a model call of "
                "(it is not in the list: the filters leave it out).")

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

    def open_run(self, trace_id: str, *, highlight_span_id: str | None = None,
                 keep_span: str | None = None) -> None:
        """Load ``trace_id``'s spans off-thread and show them in the inspector, the
        span that proposed its action highlighted (``highlight_span_id``, else the
        store's answer); ``keep_span`` stays selected when the run is read again."""
        if self._service is None:
            return
        self._wanted_trace = trace_id
        if keep_span is None:
            self.inspector.summary.setText("Loading the run…")
        self.work.submit(load_run, self._service, trace_id,
                          on_done=lambda run: self._spans_loaded(
                              run, highlight_span_id, keep_span),
                          on_error=self._failed)

    def _spans_loaded(self, run: LoadedRun, highlight_span_id: str | None,
                      keep_span: str | None) -> None:
        if run.trace_id != self._wanted_trace:
            return  # another run was selected meanwhile
        row = self.model.row_of(run.trace_id)
        self._shown = self.model.run_at(row) if row is not None else None
        self.inspector.show_run(run.spans, highlight_span_id=highlight_span_id or run.proposer)
        if keep_span is not None:
            self.inspector.select_span(keep_span)
        if self._shown is not None and self._shown.duplicate_of is not None:
            self.run_note.show_note(duplicate_text(self._shown), "Open that run",
                                    self.command_table["traces.open_original"].toolTip())
        elif self._shown is not None or run.trace_id == self.current_trace_id():
            self.run_note.hide()
        self.runShown.emit(run.trace_id)

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.update_commands()
        trace_id = current.data(TRACE_ID_ROLE) if current.isValid() else None
        if isinstance(trace_id, str):
            self.open_run(trace_id)
        else:
            self._wanted_trace = None
            self._shown = None
            self.run_note.hide()
            self.inspector.clear()
