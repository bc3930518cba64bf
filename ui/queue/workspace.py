"""The Queue workspace: filter bar and list on the left, the action under review on
the right, verdicts from the keyboard; a tripped budget breaker above everything.

Safety rules it keeps: a verdict always applies to the action whose detail is on
screen (verdict commands and buttons are disabled until that detail is displayed, and
while the next one loads after J); a key pressed too soon after an action came on
screen is ignored with a hint, and approving a critical action takes a second press
(`VerdictGuard`); it is shown as decided only after the store has committed it; a row
whose verdict is in flight cannot be decided again; the last verdict can be undone
while it waits in the outbox (``console.undo_seconds``); and when the action under
review is decided elsewhere, the selection is cleared with a message instead of
silently sliding onto another action. Actions that expire or are withdrawn are
announced (and counted until the History is opened), never silently removed.

``H`` shows the History instead of the pending actions: what became of each action
(who decided what and when, the edit's diff, the delivery).
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from countersign.domain import ActionState, Verdict

from ..async_work import BackgroundWork, report_exception
from ..autonomy.breaker_banner import BreakerBanner
from ..palette import restyle, text_style
from ..qt.core import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from ..qt.widgets import (
    QApplication,
    QLabel,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from ..widgets.text import copy_selection
from ..workspace import Workspace
from .announcer import DepartureAnnouncer
from .banner import BannerKind, MessageBanner
from .breakers import reset_breaker, show_run
from .commands import QUEUE_COMMANDS, VERDICT_COMMANDS
from .detail import ActionDetailPane, RawArguments
from .feed import ChangeFeed, FeedBatch
from .filter_bar import QueueFilterBar
from .lists import HistoryList, build_list_view, placeholder_text
from .model import ActionIdRole, QueueModel
from .reads import FIRST_CHUNK, LoadedAction, QueueSnapshot, load_action, load_queue
from .verdict_flow import MOVE_ON, VerdictFlow

if TYPE_CHECKING:
    from countersign.services.actions import ActionService
    from countersign.session import Services

    from ..shortcuts import CommandTable

log = logging.getLogger("countersign.ui.queue")

#: "Loading…" is shown only when a detail takes longer than this (no flicker on J/K).
_LOADING_DELAY_MS = 150
#: The rest of a large first load is handed to the model this many rows per tick.
_LOAD_SLICE = 5_000
_HINT = ("J / K  next / previous   ·   V  arguments   ·   /  filter   ·   H  history   ·   "
         "?  all keys")


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
        self._history_on = False
        self.model = QueueModel(self)
        self.filter_bar = QueueFilterBar(self)
        self.view = build_list_view(self, self.model, "queueList")
        self.history = HistoryList(self, work)
        self.placeholder = QLabel("Loading the queue…", self)
        self.placeholder.setTextFormat(Qt.TextFormat.PlainText)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setObjectName("queuePlaceholder")
        restyle(self.placeholder, lambda p: text_style("QLabel", p.muted, "font-size: 14px;"))
        self._list_stack = QStackedWidget(self)
        self._list_stack.addWidget(self.view)
        self._list_stack.addWidget(self.history.view)
        self._list_stack.addWidget(self.placeholder)
        self._list_stack.setCurrentWidget(self.placeholder)
        self.banner = MessageBanner(self)
        #: Agents whose budget breaker tripped: every request of theirs waits here.
        self.breakers = BreakerBanner(self)
        self.pane = self._make_pane()
        self.flow = VerdictFlow(self, self.banner, work, dialog_parent=self)
        self.history_button = QToolButton(self)
        self.history_button.setObjectName("historyToggle")
        self.history_button.setDefaultAction(table["queue.history"])
        self.history_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.filter_bar.add(self.history_button)
        #: Actions that expired or were withdrawn: announced, counted until seen.
        self.announcer = DepartureAnnouncer(self.model, self.banner, table["queue.history"],
                                            lambda: self.is_active, self)
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

    def _layout(self) -> None:
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(8, 8, 4, 8)
        left_layout.addWidget(self.filter_bar)
        left_layout.addWidget(self._list_stack, 1)
        hint = QLabel(_HINT, self)
        hint.setObjectName("queueHint")
        hint.setTextFormat(Qt.TextFormat.PlainText)
        hint.setWordWrap(True)
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
        banner_box.setSpacing(6)
        banner_box.addWidget(self.breakers)
        banner_box.addWidget(self.banner)
        layout.addLayout(banner_box)
        layout.addWidget(self.splitter, 1)

    def _connect(self, commands: CommandTable) -> None:
        for verdict, name in VERDICT_COMMANDS.items():
            commands[name].triggered.connect(functools.partial(self.flow.start, verdict))
        self.pane.verdict_requested.connect(lambda value: self.flow.start(Verdict(value)))
        self.pane.action.reader.leave.connect(self.focus_list)
        self.pane.action.trace.copied.connect(
            lambda trace_id: self.notice.emit(f"Copied trace id {trace_id}"))
        self.flow.decidingChanged.connect(self._deciding_changed)
        self.flow.actionLeft.connect(self._left_by_verdict)
        self.flow.actionBack.connect(self._back_by_undo)
        self.flow.notice.connect(self.notice)
        self.flow.errorOccurred.connect(self.errorOccurred)
        self.flow.hint.connect(self._hint)
        self.flow.confirming.connect(self.pane.set_confirming)
        self.flow.undoStatus.connect(self._undo_status)
        self.flow.undoChanged.connect(self.update_commands)
        commands["go.next"].triggered.connect(lambda: self.step(+1))
        commands["go.previous"].triggered.connect(lambda: self.step(-1))
        commands["go.filter"].triggered.connect(self.filter_bar.focus_text)
        commands["queue.send_to_review"].triggered.connect(self.send_to_review)
        commands["queue.undo"].triggered.connect(self.flow.undo_last)
        commands["queue.copy_trace"].triggered.connect(self.copy)
        commands["queue.read_arguments"].triggered.connect(self.pane.action.reader.focus_tree)
        commands["queue.history"].toggled.connect(self.show_history)
        self.filter_bar.filterChanged.connect(self.model.set_filter)
        self.filter_bar.filterChanged.connect(self.history.model.set_filter)
        self.filter_bar.done.connect(self.focus_list)
        self.model.agentsChanged.connect(self.filter_bar.set_agents)
        self.model.countsChanged.connect(self._counts_changed)
        self.history.model.countsChanged.connect(self._history_counts_changed)
        for view in (self.view, self.history.view):
            view.selectionModel().currentChanged.connect(
                functools.partial(self._current_changed, view))
        self.model.layoutChanged.connect(functools.partial(self._after_layout, self.view))
        self.history.model.layoutChanged.connect(
            functools.partial(self._after_layout, self.history.view))
        self.history.loaded.connect(self._history_loaded)
        self.history.failed.connect(self._history_failed)
        self.announcer.notice.connect(self.notice)
        self.breakers.runWanted.connect(functools.partial(show_run, self, commands))
        self.breakers.resetWanted.connect(functools.partial(reset_breaker, self, commands))

    # -- store -------------------------------------------------------------------------

    def attach(self, services: Services) -> None:
        """Start showing the store's queue: first chunk, then the rest, then live."""
        actions = self._actions = services.actions
        self._services = services
        self.flow.attach(services)
        self.history.attach(services)
        self._feed = ChangeFeed(actions, self.work, states=self._states, parent=self)
        self._feed.batch.connect(self._on_batch)
        self._feed.failed.connect(self._feed_failed)
        self._feed.recovered.connect(self.banner.hide_message)
        self.breakers.watch(services.autonomy.tripped, self.work)
        self._load_queue()
        if self.is_active:
            self.focus_list()

    def _load_queue(self) -> None:
        if self._actions is None:
            return
        self._loading_queue = True
        self._update_placeholder()
        self.work.submit(load_queue, self._actions, self._states, FIRST_CHUNK,
                          on_done=self._first_rows, on_error=self._load_failed)

    def send_to_review(self) -> None:
        """Put the action on screen in the review queue by hand (ad hoc)."""
        from ..review.send import send_to_review

        loaded = self.loaded
        send_to_review(self, self._services, action_id=loaded.detail.id if loaded else None)

    def shutdown(self) -> None:
        """Stop polling and ticking (idempotent); the window is closing."""
        if self._feed is not None:
            self._feed.stop()
        self.history.stop()
        self.breakers.stop()
        self.flow.stop()
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
        if self.model.rowCount() and not self.view.currentIndex().isValid() \
                and not self._history_on:
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
        self.banner.show_message(f"Could not read the queue. {exc}", BannerKind.ERROR,
                                 action=("Retry", self._load_queue))
        self.errorOccurred.emit(str(exc))
        if not _is_store_error(exc):
            report_exception(type(exc), exc, exc.__traceback__)

    def _feed_failed(self, message: str) -> None:
        self.banner.show_message(f"Live updates paused: {message}. Retrying…",
                                 BannerKind.ERROR)
        self.errorOccurred.emit(message)

    def _on_batch(self, batch: FeedBatch) -> None:
        gone = set(batch.gone)
        ours = self.flow.in_flight_ids()
        self.announcer.note(batch, gone - ours)
        self.apply_rows(list(batch.rows.values()), gone, ours=ours)

    def apply_rows(self, upserts: list[Any], removed: set[int], *, ours: set[int]) -> None:
        """Apply a change to the list; if it takes the action under review away, move
        on (our own verdict) or clear the selection with a message (someone else's)."""
        was_empty = self.model.rowCount() == 0
        current = self.view.currentIndex().data(ActionIdRole)
        row = self.view.currentIndex().row()
        losing = isinstance(current, int) and current in removed and self.model.get(current)
        self._suppress_current = True
        try:
            self.model.apply(upserts, removed)
        finally:
            self._suppress_current = False
        if self._history_on:
            return
        if losing and isinstance(current, int):
            self._resume_row = max(0, row)
            if current in ours and self.action("go.advance").isChecked():
                self.select_row(min(row, self.model.rowCount() - 1))
            else:
                self.view.selectionModel().clear()
                self._show_current()
                if current not in ours:
                    self.flow.explain_gone(current)
        elif was_empty and self.model.rowCount() and not isinstance(current, int):
            self.select_row(0)

    # -- the History -----------------------------------------------------------------------

    def show_history(self, on: bool) -> None:
        """Show the History (decided, expired, withdrawn) instead of the pending list."""
        if on == self._history_on:
            return
        self._history_on = on
        if self.action("queue.history").isChecked() != on:
            self.action("queue.history").setChecked(on)
        if on:
            self.announcer.history_seen()
            self.history.load()
        self._wanted = None
        self._update_placeholder()
        view = self._active_view()
        if not view.currentIndex().isValid() and self._active_model().rowCount():
            self.select_row(0)
        else:
            self._show_current()
        self._refresh_counts()
        self.focus_list()

    @property
    def history_on(self) -> bool:
        return self._history_on

    def _history_loaded(self) -> None:
        self._update_placeholder()
        if self._history_on and not self.history.view.currentIndex().isValid():
            self.select_row(0)

    def _history_failed(self, message: str) -> None:
        if not self.history.ready:
            self._update_placeholder()
        self.banner.show_message(f"Could not read the History. {message}", BannerKind.ERROR,
                                 action=("Retry", self.history.load))
        self.errorOccurred.emit(message)

    def _active_view(self) -> QTableView:
        return self.history.view if self._history_on else self.view

    def _active_model(self) -> QueueModel:
        return self.history.model if self._history_on else self.model

    # -- selection and detail ------------------------------------------------------------

    def current_id(self) -> int | None:
        value = self._active_view().currentIndex().data(ActionIdRole)
        return value if isinstance(value, int) else None

    @property
    def loaded(self) -> LoadedAction | None:
        """The action whose detail is on screen, if it is still the current one (and
        the pane shows it, not "Loading…")."""
        loaded = self._loaded
        if loaded is None or loaded.detail.id != self.current_id():
            return None
        shown = self.pane.detail
        return loaded if shown is not None and shown.id == loaded.detail.id else None

    def select_row(self, row: int) -> None:
        view, model = self._active_view(), self._active_model()
        if not 0 <= row < model.rowCount():
            view.selectionModel().clear()
            self._show_current()
            return
        index = model.index(row, 0)
        view.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        view.scrollTo(index)
        self._show_current()

    def select_action(self, action_id: int) -> bool:
        row = self._active_model().row_of(action_id)
        if row is None:
            return False
        self.select_row(row)
        return True

    def step(self, step: int) -> None:
        """J/K: the next or previous row; from no selection, where the reviewer was."""
        count = self._active_model().rowCount()
        if not count:
            return
        current = self._active_view().currentIndex()
        if current.isValid():
            target = current.row() + step
        else:
            target = self._resume_row if step > 0 else self._resume_row - 1
        self.select_row(max(0, min(count - 1, target)))

    def focus_list(self) -> None:
        self._active_view().setFocus(Qt.FocusReason.OtherFocusReason)

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

    def _back_by_undo(self, rows: list[Any]) -> None:
        """An undone verdict: the action is pending again, and on screen."""
        self.model.apply(rows)
        if self._history_on:
            self.show_history(False)
        for row in rows:
            self.select_action(row.id)

    def _hint(self, text: str) -> None:
        self.pane.show_hint(text)
        self.notice.emit(text)

    def _undo_status(self, text: str) -> None:
        if self.is_active:
            self.notice.emit(text)

    def activated(self) -> None:
        """On screen again: J/K and the verdict keys act on the list; the action on
        screen must be looked at again before a verdict key counts."""
        self.focus_list()
        loaded = self.loaded
        self.flow.shown(loaded.detail.id if loaded is not None else None)
        self.announcer.announce_away()

    def _after_layout(self, view: QTableView) -> None:
        """A filter hid the action under review: never leave its detail (and verdict
        buttons) showing for a row that is not in the list; take the first row."""
        if view is self._active_view() and self.current_id() is None \
                and self._wanted is not None:
            self.select_row(0)

    def _current_changed(self, view: QTableView, current: QModelIndex,
                         _previous: QModelIndex) -> None:
        if not self._suppress_current and view is self._active_view():
            self._show_current()

    def _show_current(self) -> None:
        action_id = self.current_id()
        if action_id == self._wanted:
            return
        self._wanted = action_id
        self._loaded = None
        self.flow.shown(None)
        if action_id is not None and self.banner.text.endswith(MOVE_ON):
            self.banner.hide_message()  # it said to move on: done
        self.update_verdicts()
        if action_id is None or self._actions is None:
            self._loading_timer.stop()
            self.pane.clear()
            self.update_commands()
            return
        self._loading_timer.start()
        decisions = self._services.decisions if self._history_on and self._services else None
        self.work.submit(load_action, self._actions, action_id, decisions,
                          on_done=self._action_loaded,
                          on_error=functools.partial(self._action_failed, action_id))

    def _action_loaded(self, loaded: LoadedAction) -> None:
        if loaded.detail.id != self._wanted:
            return  # the reviewer has moved on
        self._loading_timer.stop()
        self._loaded = loaded
        self.pane.show_action(loaded.detail, loaded.spans, loaded.arguments)
        if loaded.with_decision:
            self.pane.show_decision(loaded.decision)
        self.flow.shown(loaded.detail.id)
        self.update_verdicts()

    def _action_failed(self, action_id: int, exc: BaseException) -> None:
        if action_id != self._wanted:
            return
        self._loading_timer.stop()
        self.pane.clear()
        self.banner.show_message(f"Could not load action #{action_id}. {exc}",
                                 BannerKind.ERROR, action=("Retry", self.reload_current))
        self.errorOccurred.emit(str(exc))
        self.update_verdicts()
        if not _is_store_error(exc):
            report_exception(type(exc), exc, exc.__traceback__)

    def reload_current(self) -> None:
        self._wanted = None
        self._show_current()

    def update_verdicts(self) -> None:
        """Enable exactly the verdicts the shown action allows, unless one is in flight;
        none while no action's detail is on screen."""
        loaded = self.loaded
        deciding = loaded is not None and self.flow.is_deciding(loaded.detail.id)
        allowed: set[Verdict] = set()
        if loaded is not None and loaded.detail.state is ActionState.PENDING and not deciding:
            allowed = set(loaded.detail.allowed_verdicts)
            if isinstance(loaded.arguments, RawArguments):
                allowed.discard(Verdict.EDIT)  # nothing parsed to edit
        self._allowed = allowed
        self.update_commands()
        self.pane.set_busy(deciding, "Deciding…")
        self.pane.set_allowed({v.value for v in allowed})

    def command_enabled(self, name: str) -> bool:
        """Verdicts: exactly those the shown action allows; the rest: when they can act."""
        if name.startswith("verdict."):
            return any(VERDICT_COMMANDS[v] == name for v in self._allowed)
        if name == "queue.undo":
            return self.flow.can_undo()
        if name == "queue.copy_trace":
            loaded = self.loaded
            return loaded is not None and bool(loaded.detail.trace_id)
        if name == "queue.read_arguments":
            return self.loaded is not None
        return True

    def copy(self) -> None:
        """Ctrl+C: the text selected where the keyboard is (read-only views do not take
        the key from the window), else the trace id of the action on screen."""
        if not copy_selection(QApplication.focusWidget()):
            self.pane.action.trace.copy()

    # -- counts ------------------------------------------------------------------------

    def _counts_changed(self, shown: int, total: int) -> None:
        self.set_summary(f"{total:,} pending")
        if not self._history_on:
            self.filter_bar.set_counts(shown, total)
            self._update_placeholder()

    def _history_counts_changed(self, shown: int, total: int) -> None:
        if self._history_on:
            self.filter_bar.set_counts(shown, total, "in history")
            self._update_placeholder()

    def _refresh_counts(self) -> None:
        model = self._active_model()
        self.filter_bar.set_counts(model.rowCount(), model.total,
                                   "in history" if self._history_on else "pending")

    def _update_placeholder(self) -> None:
        view, model = self._active_view(), self._active_model()
        if model.rowCount():
            if self._list_stack.currentWidget() is not view:
                page = self._list_stack.currentWidget()
                had_focus = page is not None and page.hasFocus()
                self._list_stack.setCurrentWidget(view)
                if had_focus:
                    self.focus_list()
            return
        text = placeholder_text(history=self._history_on, history_ready=self.history.ready,
                                history_loading=self.history.loading,
                                loading=self._loading_queue, total=model.total)
        self.placeholder.setText(text)
        self._list_stack.setCurrentWidget(self.placeholder)


def _is_store_error(exc: BaseException) -> bool:
    from countersign.store.engine import StoreError

    return isinstance(exc, StoreError)
