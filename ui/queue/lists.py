"""The Queue's two lists: the pending actions (the workspace's own) and the History,
each a `QueueModel` in a `QTableView`. The History is read when first shown, then
followed live by a change feed of its own that also reads each action's decision."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..async_work import BackgroundWork
from ..qt.core import QObject, Qt, Signal
from ..qt.widgets import QHeaderView, QTableView, QWidget
from ..widgets.tables import row_table
from .columns import Column
from .feed import ChangeFeed, FeedBatch
from .history import (
    HISTORY_STATES,
    HistorySnapshot,
    load_history,
    older_batches,
    outcomes,
    read_outcomes,
)
from .model import QueueModel

if TYPE_CHECKING:
    from countersign.session import Services

EMPTY = "No pending actions — agents' requests appear here"
EMPTY_HISTORY = "Nothing decided yet — decided, expired and withdrawn actions appear here"

_WIDTHS = ((Column.AGENT, 132), (Column.RISK, 62), (Column.AGE, 56), (Column.DEADLINE, 80),
           (Column.STATE, 200))


def build_list_view(parent: QWidget, model: QueueModel, name: str) -> QTableView:
    """A table, not a tree view: QTreeView lays out every row (a Python ``index()``
    call each) after any insertion, 100,000 calls per change; a table with fixed row
    heights does no per-row work."""
    view = row_table(parent, name, model, row_padding=10, tab_moves_on=False)
    header = view.horizontalHeader()
    header.setSortIndicator(Column.AGE, Qt.SortOrder.DescendingOrder)
    view.setSortingEnabled(True)
    header.setStretchLastSection(False)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setSectionResizeMode(Column.ACTION, QHeaderView.ResizeMode.Stretch)
    for column, width in _WIDTHS:
        if column < model.columnCount():
            header.resizeSection(column, width)
    header.setMinimumSectionSize(48)
    return view


def placeholder_text(*, history: bool, history_ready: bool, history_loading: bool,
                     loading: bool, total: int) -> str:
    """What the list's place says when it shows no row (``total``: rows held)."""
    if history:
        if not history_ready:
            return "Reading the History…" if history_loading else "Could not read the History"
        if total:
            return f"No actions match the filter ({total:,} in history hidden)"
        return EMPTY_HISTORY
    if loading and total == 0:
        return "Loading the queue…"
    if total:
        return f"No actions match the filter ({total:,} pending hidden)"
    return EMPTY


class HistoryList(QObject):
    """Actions no longer pending, newest first, with what became of each."""

    # Signals
    #: The first read is in the list.
    loaded = Signal()
    #: Reading failed (the store's sentence).
    failed = Signal(str)

    def __init__(self, parent: QWidget, work: BackgroundWork) -> None:
        super().__init__(parent)
        self.work = work
        self.model = QueueModel(self, show_state=True)
        self.view = build_list_view(parent, self.model, "historyList")
        self.view.sortByColumn(Column.AGE, Qt.SortOrder.AscendingOrder)  # newest first
        self.view.setColumnHidden(Column.DEADLINE, True)  # past: the outcome says it
        self._services: Services | None = None
        self._feed: ChangeFeed | None = None
        self.loading = False
        self.ready = False

    def attach(self, services: Services) -> None:
        self._services = services

    def load(self) -> None:
        """Read the History (once; the feed keeps it current), or again after a failure."""
        services = self._services
        if services is None or self.loading or self.ready:
            return
        self.loading = True
        self.work.submit(load_history, services.actions, services.decisions,
                         on_done=self._loaded, on_error=self._failed)

    def _loaded(self, snapshot: HistorySnapshot) -> None:
        self.loading = False
        self.ready = True
        self.model.set_rows(snapshot.rows)
        self.model.set_outcomes(snapshot.outcomes)
        services = self._services
        if services is not None:
            self.work.spawn(self._fill_outcomes(services, older_batches(snapshot.rows)),
                            name="history-outcomes")
            self._feed = ChangeFeed(services.actions, self.work, states=HISTORY_STATES,
                                    decisions=services.decisions, parent=self)
            self._feed.batch.connect(self._on_batch)
            self._feed.failed.connect(self.failed)
            self._feed.start(snapshot.after_change_id)
        self.loaded.emit()

    async def _fill_outcomes(self, services: Services, batches: list[Any]) -> None:
        """The older rows' outcomes, a batch at a time (the list is usable meanwhile)."""
        from countersign.store.engine import StoreError

        for batch in batches:
            try:
                found = await self.work.call(read_outcomes, services.decisions, batch)
            except StoreError:
                return  # the rows keep their bare state; a new read fills them in
            self.model.set_outcomes(found)

    def _failed(self, exc: BaseException) -> None:
        self.loading = False
        self.failed.emit(str(exc))

    def _on_batch(self, batch: FeedBatch) -> None:
        rows = list(batch.rows.values())
        self.model.apply(rows, set(batch.gone))
        self.model.set_outcomes(outcomes(rows, batch.records))

    def stop(self) -> None:
        if self._feed is not None:
            self._feed.stop()
        self.model.stop_clock()
