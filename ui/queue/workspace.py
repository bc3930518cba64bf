"""The Queue workspace: filter bar and list on the left, the action under review on
the right, verdicts from the keyboard.

Safety rules it keeps: a verdict always applies to the action whose detail is shown
(verdict commands are disabled until that detail has loaded); it is shown as decided
only after the store has committed it; a row whose verdict is in flight cannot be
decided again; and when the action under review is decided elsewhere, the selection is
cleared with a message instead of silently sliding onto another action.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from countersign.domain import ActionState, Verdict

from ..async_work import BackgroundWork, report_exception
from ..palette import restyle, text_style
from ..qt.core import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from ..qt.widgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from ..workspace import Workspace
from .banner import BannerKind, MessageBanner
from .columns import Column
from .commands import QUEUE_COMMANDS, VERDICT_COMMANDS
from .detail import ActionDetailPane, RawArguments
from .feed import ChangeFeed, FeedBatch
from .filter_bar import QueueFilterBar
from .model import ActionIdRole, QueueModel
from .reads import FIRST_CHUNK, LoadedAction, QueueSnapshot, load_action, load_queue
from .verdict_flow import VerdictFlow

if TYPE_CHECKING:
    from countersign.services.actions import ActionService
    from countersign.session import Services

    from ..shortcuts import CommandTable

log = logging.getLogger("countersign.ui.queue")

#: "Loading…" is shown only when a detail takes longer than this (no flicker on J/K).
_LOADING_DELAY_MS = 150
#: The rest of a large first load is handed to the model this many rows per tick.
_LOAD_SLICE = 5_000
_EMPTY = "No pending actions — agents' requests appear here"
_HINT = "J / K  next / previous   ·   /  filter   ·   ?  all keys"


class QueueWorkspace(Workspace):
    """See the module docstring."""

    name = "queue"
    title = "Queue"
    key = "Ctrl+1"
    tip = "Show the Queue workspace: pending actions waiting for a verdict"
    commands = QUEUE_COMMANDS
    summary_tip = "Pending actions in the store"

    # Signals (besides `Workspace`'s)
    #: The first rows are in the list (the benchmark times this).
    firstRowsShown = Signal()

    def __init__(self, table: CommandTable, work: BackgroundWork,
                 parent: QWidget | None = None) -> None:
        super().__init__(table, work, parent)
        self._actions: ActionService | None = None
        self._services: Services | None = None
        self._feed: ChangeFeed | None = None
        self._states = (ActionState.PENDING,)
        self._wanted: int | None = None
        self._loaded: LoadedAction | None = None
        self._suppress_current = False
        self._resume_row = 0
        self._loading_queue = True
        self._allowed: set[Verdict] = set()
        self.model = QueueModel(self)
        self.filter_bar = QueueFilterBar(self)
        self.view = self._build_view()
        self.placeholder = QLabel("Loading the queue…", self)
        self.placeholder.setTextFormat(Qt.TextFormat.PlainText)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setObjectName("queuePlaceholder")
        restyle(self.placeholder, lambda p: text_style("QLabel", p.muted, "font-size: 14px;"))
        self._list_stack = QStackedWidget(self)
        self._list_stack.addWidget(self.view)
        self._list_stack.addWidget(self.placeholder)
        self._list_stack.setCurrentWidget(self.placeholder)
        self.banner = MessageBanner(self)
        self.pane = self._make_pane()
        self.flow = VerdictFlow(self, self.banner, work, dialog_parent=self)
        self._layout()
        self._loading_timer = QTimer(self)
        self._loading_timer.setSingleShot(True)
        self._loading_timer.setInterval(_LOADING_DELAY_MS)
        self._loading_timer.timeout.connect(self.pane.show_loading)
        self._connect(table)
        self._update_placeholder()
        self.set_summary("…")
        self.update_verdicts()

    # -- building ----------------------------------------------------------------------

    def _make_pane(self) -> ActionDetailPane:
        return ActionDetailPane(self)

    def _build_view(self) -> QTableView:
        """A table, not a tree view: QTreeView lays out every row (a Python
        ``index()`` call each) after any insertion, 100,000 calls per change; a table
        with fixed row heights does no per-row work."""
        view = QTableView(self)
        view.setObjectName("queueList")
        view.setModel(self.model)
        rows = view.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(view.fontMetrics().height() + 10)
        view.setShowGrid(False)
        view.setWordWrap(False)
        view.setCornerButtonEnabled(False)
        view.setAlternatingRowColors(True)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = view.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSortIndicator(Column.AGE, Qt.SortOrder.DescendingOrder)
        view.setSortingEnabled(True)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(Column.ACTION, QHeaderView.ResizeMode.Stretch)
        for column, width in ((Column.AGENT, 132), (Column.RISK, 62), (Column.AGE, 56),
                              (Column.DEADLINE, 80)):
            header.resizeSection(column, width)
        header.setMinimumSectionSize(48)
        return view

    def _layout(self) -> None:
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(8, 8, 4, 8)
        left_layout.addWidget(self.filter_bar)
        left_layout.addWidget(self._list_stack, 1)
        hint = QLabel(_HINT, self)
        hint.setObjectName("queueHint")
        hint.setTextFormat(Qt.TextFormat.PlainText)
        restyle(hint, lambda p: text_style("QLabel", p.muted))
        left_layout.addWidget(hint)
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(4, 8, 8, 8)
        right_layout.addWidget(self.pane, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([600, 840])
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        banner_box = QVBoxLayout()
        banner_box.setContentsMargins(8, 8, 8, 0)
        banner_box.addWidget(self.banner)
        layout.addLayout(banner_box)
        layout.addWidget(self.splitter, 1)

    def _connect(self, commands: CommandTable) -> None:
        for verdict, name in VERDICT_COMMANDS.items():
            commands[name].triggered.connect(functools.partial(self.flow.start, verdict))
        self.pane.verdict_requested.connect(lambda value: self.flow.start(Verdict(value)))
        self.flow.decidingChanged.connect(self._deciding_changed)
        self.flow.actionLeft.connect(self._left_by_verdict)
        self.flow.notice.connect(self.notice)
        self.flow.errorOccurred.connect(self.errorOccurred)
        commands["go.next"].triggered.connect(lambda: self.step(+1))
        commands["go.previous"].triggered.connect(lambda: self.step(-1))
        commands["go.filter"].triggered.connect(self.filter_bar.focus_text)
        commands["queue.send_to_review"].triggered.connect(self.send_to_review)
        self.filter_bar.filterChanged.connect(self.model.set_filter)
        self.filter_bar.done.connect(self.focus_list)
        self.model.agentsChanged.connect(self.filter_bar.set_agents)
        self.model.countsChanged.connect(self._counts_changed)
        self.view.selectionModel().currentChanged.connect(self._current_changed)
        self.model.layoutChanged.connect(self._after_layout)

    # -- store -------------------------------------------------------------------------

    def attach(self, services: Services) -> None:
        """Start showing the store's queue: first chunk, then the rest, then live."""
        actions = self._actions = services.actions
        self._services = services
        self.flow.attach(services)
        self._feed = ChangeFeed(actions, self.work, states=self._states, parent=self)
        self._feed.batch.connect(self._on_batch)
        self._feed.failed.connect(self._feed_failed)
        self._feed.recovered.connect(self.banner.hide_message)
        self.work.submit(load_queue, actions, self._states, FIRST_CHUNK,
                          on_done=self._first_rows, on_error=self._load_failed)
        if self.is_active:
            self.focus_list()

    def send_to_review(self) -> None:
        """Put the action on screen in the review queue by hand (ad hoc)."""
        from ..review.send import send_to_review

        loaded = self.loaded
        send_to_review(self, self._services, action_id=loaded.detail.id if loaded else None)

    def shutdown(self) -> None:
        """Stop polling and ticking (idempotent); the window is closing."""
        if self._feed is not None:
            self._feed.stop()
        self.model.stop_clock()
        self._loading_timer.stop()

    def _first_rows(self, snapshot: QueueSnapshot) -> None:
        self.model.set_rows(snapshot.rows)
        if self._feed is not None:
            self._feed.start(snapshot.after_change_id)
        if not snapshot.complete and self._actions is not None:
            self.work.submit(load_queue, self._actions, self._states, None,
                              on_done=self._all_rows, on_error=self._load_failed)
        else:
            self._loading_queue = False
        self._update_placeholder()
        if self.model.rowCount() and not self.view.currentIndex().isValid():
            self.select_row(0)
        self.firstRowsShown.emit()

    def _all_rows(self, snapshot: QueueSnapshot) -> None:
        self.work.spawn(self._feed_rows(snapshot.rows), name="queue-load-rest")

    async def _feed_rows(self, rows: list[Any]) -> None:
        """Hand a large load over in slices so no single frame stalls."""
        import asyncio

        for at in range(0, len(rows), _LOAD_SLICE):
            self.model.apply(upserts=rows[at:at + _LOAD_SLICE])
            await asyncio.sleep(0)
        self._loading_queue = False
        self._update_placeholder()

    def _load_failed(self, exc: BaseException) -> None:
        self._loading_queue = False
        self.placeholder.setText(f"Could not read the queue: {exc}")
        self._list_stack.setCurrentWidget(self.placeholder)
        self.errorOccurred.emit(str(exc))
        if not _is_store_error(exc):
            report_exception(type(exc), exc, exc.__traceback__)

    def _feed_failed(self, message: str) -> None:
        self.banner.show_message(f"Live updates paused: {message}. Retrying…",
                                 BannerKind.ERROR)
        self.errorOccurred.emit(message)

    def _on_batch(self, batch: FeedBatch) -> None:
        gone = set(batch.gone)
        self.apply_rows(list(batch.rows.values()), gone, ours=self.flow.in_flight_ids())

    def apply_rows(self, upserts: list[Any], removed: set[int], *, ours: set[int]) -> None:
        """Apply a change to the list; if it takes the action under review away, move
        on (our own verdict) or clear the selection with a message (someone else's)."""
        was_empty = self.model.rowCount() == 0
        current = self.current_id()
        row = self.view.currentIndex().row()
        losing = current is not None and current in removed and self.model.get(current)
        self._suppress_current = True
        try:
            self.model.apply(upserts, removed)
        finally:
            self._suppress_current = False
        if losing and current is not None:
            self._resume_row = max(0, row)
            if current in ours and self.action("go.advance").isChecked():
                self.select_row(min(row, self.model.rowCount() - 1))
            else:
                self.view.selectionModel().clear()
                self._show_current()
                if current not in ours:
                    self.flow.explain_gone(current)
        elif was_empty and self.model.rowCount() and current is None:
            self.select_row(0)

    # -- selection and detail ------------------------------------------------------------

    def current_id(self) -> int | None:
        value = self.view.currentIndex().data(ActionIdRole)
        return value if isinstance(value, int) else None

    @property
    def loaded(self) -> LoadedAction | None:
        """The action whose detail is on screen, if it is still the current one."""
        loaded = self._loaded
        return loaded if loaded is not None and loaded.detail.id == self.current_id() else None

    def select_row(self, row: int) -> None:
        if not 0 <= row < self.model.rowCount():
            self.view.selectionModel().clear()
            self._show_current()
            return
        index = self.model.index(row, 0)
        self.view.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        self.view.scrollTo(index)
        self._show_current()

    def select_action(self, action_id: int) -> bool:
        row = self.model.row_of(action_id)
        if row is None:
            return False
        self.select_row(row)
        return True

    def step(self, step: int) -> None:
        """J/K: the next or previous row; from no selection, where the reviewer was."""
        count = self.model.rowCount()
        if not count:
            return
        current = self.view.currentIndex()
        if current.isValid():
            target = current.row() + step
        else:
            target = self._resume_row if step > 0 else self._resume_row - 1
        self.select_row(max(0, min(count - 1, target)))

    def focus_list(self) -> None:
        self.view.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- VerdictHost (what the verdict flow asks of us) ---------------------------------

    def holds(self, action_id: int) -> bool:
        return self.model.get(action_id) is not None

    def back_to_list(self) -> None:
        """After a dialog: the window active again and the list focused."""
        self.window().activateWindow()
        self.focus_list()

    def _deciding_changed(self, action_id: int, deciding: bool) -> None:
        self.model.set_deciding(action_id, deciding)
        self.update_verdicts()

    def _left_by_verdict(self, action_id: int) -> None:
        self.apply_rows([], {action_id}, ours={action_id})
        self.update_verdicts()

    def activated(self) -> None:
        """On screen again: J/K and the verdict keys act on the list."""
        self.focus_list()

    def _after_layout(self) -> None:
        """A filter hid the action under review: never leave its detail (and verdict
        buttons) showing for a row that is not in the list; take the first row."""
        if self.current_id() is None and self._wanted is not None:
            self.select_row(0)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not self._suppress_current:
            self._show_current()

    def _show_current(self) -> None:
        action_id = self.current_id()
        if action_id == self._wanted:
            return
        self._wanted = action_id
        self._loaded = None
        self.update_verdicts()
        if action_id is None or self._actions is None:
            self._loading_timer.stop()
            self.pane.clear()
            return
        self._loading_timer.start()
        self.work.submit(load_action, self._actions, action_id,
                          on_done=self._action_loaded,
                          on_error=functools.partial(self._action_failed, action_id))

    def _action_loaded(self, loaded: LoadedAction) -> None:
        if loaded.detail.id != self._wanted:
            return  # the reviewer has moved on
        self._loading_timer.stop()
        self._loaded = loaded
        self.pane.show_action(loaded.detail, loaded.spans, loaded.arguments)
        self.update_verdicts()

    def _action_failed(self, action_id: int, exc: BaseException) -> None:
        if action_id != self._wanted:
            return
        self._loading_timer.stop()
        self.pane.clear()
        self.banner.show_message(f"Could not load action #{action_id}: {exc}",
                                 BannerKind.ERROR, action=("Retry", self.reload_current))
        self.errorOccurred.emit(str(exc))
        if not _is_store_error(exc):
            report_exception(type(exc), exc, exc.__traceback__)

    def reload_current(self) -> None:
        self._wanted = None
        self._show_current()

    def update_verdicts(self) -> None:
        """Enable exactly the verdicts the shown action allows, unless one is in flight."""
        loaded = self.loaded
        deciding = loaded is not None and self.flow.is_deciding(loaded.detail.id)
        allowed: set[Verdict] = set()
        if loaded is not None and loaded.detail.state is ActionState.PENDING and not deciding:
            allowed = set(loaded.detail.allowed_verdicts)
            if isinstance(loaded.arguments, RawArguments):
                allowed.discard(Verdict.EDIT)  # nothing parsed to edit
        self._allowed = allowed
        self.update_commands()
        if loaded is not None:
            self.pane.set_busy(deciding, "Deciding…")
            self.pane.set_allowed({v.value for v in allowed})

    def command_enabled(self, name: str) -> bool:
        """Verdicts: exactly those the shown action allows; the rest: always."""
        if name.startswith("verdict."):
            return any(VERDICT_COMMANDS[v] == name for v in self._allowed)
        return True

    # -- counts ------------------------------------------------------------------------

    def _counts_changed(self, _shown: int, total: int) -> None:
        self.set_summary(f"{total:,} pending")
        self.filter_bar.set_counts(_shown, total)
        self._update_placeholder()

    def _update_placeholder(self) -> None:
        if self.model.rowCount():
            if self._list_stack.currentWidget() is not self.view:
                had_focus = self.placeholder.hasFocus()
                self._list_stack.setCurrentWidget(self.view)
                if had_focus:
                    self.focus_list()
            return
        if self._loading_queue and self.model.total == 0:
            text = "Loading the queue…"
        elif self.model.total:
            text = f"No actions match the filter ({self.model.total:,} pending hidden)"
        else:
            text = _EMPTY
        self.placeholder.setText(text)
        self._list_stack.setCurrentWidget(self.placeholder)


def _is_store_error(exc: BaseException) -> bool:
    from countersign.store.engine import StoreError

    return isinstance(exc, StoreError)
