"""The Autonomy workspace (issue 13): the lead sees, for each agent × version × action
class, how good it is and how sure we are, and confirms or refuses promotions.

On top, tripped budget breakers; then the units table (sortable, filterable, J / K);
below it the selected unit in one view (`UnitView`: the headline P(accuracy > target),
linked charts, the rules and the evidence). Promote, demote, what-if replay, level
history and breaker reset are commands with keys. Every read and decision runs off the
GUI thread; a decision is shown as made only once the store has committed it.

An automatic demotion is noticed from the autonomy event feed, polled every
`EVENT_POLL_MS` while the console runs (on screen or not): the status bar says so and
the unit's row stays highlighted until the lead selects it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from countersign.domain.autonomy import AutonomyEvent, BreakerTrip, UnitKey
from countersign.text import one_line

from ..async_work import BackgroundWork
from ..qt.core import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from ..qt.gui import QKeySequence, QShortcut
from ..qt.widgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from ..widgets.tables import row_table
from ..widgets.text import TextViewerDialog
from ..workspace import Workspace
from .breaker_banner import BreakerBanner
from .commands import AUTONOMY_COMMANDS
from .decisions import LeadDecisions
from .model import UNIT_KEY_ROLE, UnitColumn, UnitsFilter, UnitsModel
from .reads import (
    AutonomyBackend,
    UnitsSnapshot,
    automatic_demotions,
    event_unit,
    last_event_id,
    load_detail,
    load_sparklines,
    load_units,
)
from .rows import UnitDetail, change_snapshot, unit_text
from .sparkline import SparklineDelegate

if TYPE_CHECKING:
    from countersign.session import Services

    from ..shortcuts import CommandTable
    from .unit_view import UnitView

log = logging.getLogger("countersign.ui.autonomy")

EVENT_POLL_MS = 3_000
#: The units table's share of the height (the selected unit's view has the rest).
TABLE_SHARE = 0.24
#: Sparklines are read for the rows on screen this long after scrolling, sorting or
#: filtering stops (each is a unit's whole series: 1,000 units are not read at once).
SPARKLINE_DELAY_MS = 60
#: Column widths that fit a 1024-pixel-wide window; the trend column takes the rest.
_WIDTHS = ((UnitColumn.AGENT, 130), (UnitColumn.VERSION, 58), (UnitColumn.ACTION_CLASS, 125),
           (UnitColumn.LEVEL, 105), (UnitColumn.COUNTS, 118), (UnitColumn.ACCURACY, 132),
           (UnitColumn.P_ABOVE, 104), (UnitColumn.RECOMMENDATION, 104))


class AutonomyWorkspace(Workspace):
    """See the module docstring."""

    name = "autonomy"
    title = "Autonomy"
    key = "Ctrl+4"
    tip = "Show the Autonomy workspace: evidence per agent and action class, promotions"
    commands = AUTONOMY_COMMANDS
    summary_tip = "Units recommended for promotion, and open budget breakers"

    # Signals (besides `Workspace`'s)
    #: A read of the units is in the table (how many units).
    unitsLoaded = Signal(int)
    #: The selected unit's charts are drawn (its `UnitKey`).
    unitShown = Signal(object)
    #: The rules demoted a unit (its `UnitKey`); the row is highlighted.
    unitDemoted = Signal(object)

    def __init__(self, table: CommandTable, work: BackgroundWork,
                 parent: QWidget | None = None) -> None:
        super().__init__(table, work, parent)
        self.backend: AutonomyBackend | None = None
        self._closed = False
        self.identity = ""
        self._stale = False
        self._loading = False
        self._wanted: UnitKey | None = None
        self._last_event_id: int | None = None
        self._polling = False
        self.trips: tuple[BreakerTrip, ...] = ()
        self.banner = BreakerBanner(self, runs=False)
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setObjectName("unitsFilter")
        self.filter_edit.setPlaceholderText(
            "Filter units: agent, version, action class, level, recommendation  ( / )")
        self.filter_edit.setClearButtonEnabled(True)
        self.count_label = QLabel(self)
        self.count_label.setTextFormat(Qt.TextFormat.PlainText)
        self.model = UnitsModel(self)
        self.proxy = UnitsFilter(self)
        self.proxy.setSourceModel(self.model)
        self.view = self._build_view()
        #: The selected unit in one view; built when the workspace is first shown (its
        #: charts import pyqtgraph: the console's start-up does not pay for them).
        self.unit_view: UnitView | None = None
        self._view_slot = QWidget(self)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setObjectName("autonomySplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.view)
        self.splitter.addWidget(self._view_slot)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 3)
        self.decisions = LeadDecisions(self)
        self._layout(table)
        self._poll = QTimer(self)
        self._poll.setInterval(EVENT_POLL_MS)
        self._poll.timeout.connect(self.poll_events)
        self._sparklines_loading = False
        self._sparkline_timer = QTimer(self)
        self._sparkline_timer.setSingleShot(True)
        self._sparkline_timer.setInterval(SPARKLINE_DELAY_MS)
        self._sparkline_timer.timeout.connect(self.load_visible_sparklines)
        self._connect(table)
        self.update_commands()

    def _build_view(self) -> QTableView:
        view = row_table(self, "unitsTable", self.proxy, row_padding=10, tab_moves_on=False)
        view.setItemDelegateForColumn(UnitColumn.TREND, SparklineDelegate(view))
        view.setSortingEnabled(True)
        view.sortByColumn(UnitColumn.RECOMMENDATION, Qt.SortOrder.AscendingOrder)
        header = view.horizontalHeader()
        for column, width in _WIDTHS:
            header.resizeSection(column, width)
        header.setSectionResizeMode(UnitColumn.TREND, QHeaderView.ResizeMode.Stretch)
        # Three units stay in sight however small the window (the charts take the rest).
        row = view.verticalHeader().defaultSectionSize()
        view.setMinimumHeight(header.sizeHint().height() + 3 * row
                              + view.horizontalScrollBar().sizeHint().height()
                              + 2 * view.frameWidth())
        return view

    def _layout(self, table: CommandTable) -> None:
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.count_label)
        for name in ("autonomy.refresh",):
            top.addWidget(self._button(table, name))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addWidget(self.banner)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)

    def _button(self, table: CommandTable, name: str) -> QToolButton:
        button = QToolButton(self)
        button.setObjectName(name.replace(".", "_") + "_button")
        button.setDefaultAction(table[name])
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        return button

    def _connect(self, table: CommandTable) -> None:
        self.filter_edit.textChanged.connect(self._filter_changed)
        QShortcut(QKeySequence("Escape"), self.filter_edit,
                  context=Qt.ShortcutContext.WidgetShortcut).activated.connect(
            self.view.setFocus)
        self.view.selectionModel().currentRowChanged.connect(self._current_changed)
        self.view.verticalScrollBar().valueChanged.connect(self._sparkline_timer.start)
        self.proxy.layoutChanged.connect(self._sparkline_timer.start)
        self.proxy.rowsInserted.connect(self._sparkline_timer.start)
        self.banner.resetWanted.connect(self.decisions.reset_breaker)
        table["autonomy.refresh"].triggered.connect(self.refresh)
        table["autonomy.filter"].triggered.connect(self._focus_filter)
        table["autonomy.next"].triggered.connect(lambda: self._step(1))
        table["autonomy.previous"].triggered.connect(lambda: self._step(-1))
        table["autonomy.promote"].triggered.connect(self.decisions.promote)
        table["autonomy.demote"].triggered.connect(self.decisions.demote)
        table["autonomy.replay"].triggered.connect(self.decisions.replay)
        table["autonomy.history"].triggered.connect(self.show_history)
        table["autonomy.reset_breaker"].triggered.connect(
            lambda: self.decisions.reset_breaker(None))

    # -- the core ----------------------------------------------------------------------

    def attach(self, services: Services) -> None:
        """Show the units of ``services.autonomy`` (read when first on screen)."""
        self.attach_backend(services.autonomy, identity=services.identity)

    def attach_backend(self, backend: AutonomyBackend, *, identity: str) -> None:
        """Show ``backend``'s units, deciding as ``identity``; start the event feed."""
        self.backend = backend
        self.identity = identity
        self._stale = True
        self._last_event_id = None
        self._poll.start()
        if self.is_active:
            self.refresh()
        else:
            self.poll_events()

    def shutdown(self) -> None:
        """Stop the event feed and the sparkline reads; nothing more is submitted."""
        self._closed = True
        self._poll.stop()
        self._sparkline_timer.stop()
        self.banner.stop()

    def _submit(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        """`BackgroundWork.submit`, unless the console is closing."""
        if not self._closed:
            self.work.submit(fn, *args, **kwargs)

    def activated(self) -> None:
        built = self.unit_view is None
        self.ensure_unit_view()
        if self._stale:
            self.refresh()
        elif built:
            self._load_current()
        self.view.setFocus()

    def ensure_unit_view(self) -> UnitView:
        """The unit view, built (and put in its place) on first use."""
        if self.unit_view is not None:
            return self.unit_view
        from .unit_view import UnitView

        view = UnitView(self)
        for name in ("autonomy.promote", "autonomy.demote", "autonomy.replay",
                     "autonomy.history"):
            view.buttons.addWidget(self._button(self.command_table, name))
        view.charts.changeActivated.connect(self._show_change)
        self.splitter.replaceWidget(1, view)
        self._view_slot.deleteLater()
        total = sum(self.splitter.sizes()) or 900
        table = max(150, round(total * TABLE_SHARE))
        self.splitter.setSizes([table, total - table])
        self.unit_view = view
        return view

    def refresh(self) -> None:
        """Read every unit again (off-thread), then the selected unit's charts."""
        if self.backend is None:
            return
        self._stale = False
        if self._loading:
            return
        self._loading = True
        self._submit(load_units, self.backend, on_done=self._units_loaded,
                         on_error=self._units_failed)

    def _units_loaded(self, snapshot: UnitsSnapshot) -> None:
        self._loading = False
        self.model.set_rows(snapshot.rows)
        self.trips = snapshot.trips
        self.banner.set_trips(snapshot.trips)
        if self._last_event_id is None:
            self._last_event_id = snapshot.last_event_id
        self._update_counts()
        self._sparkline_timer.start()
        if not self.view.currentIndex().isValid() and self.proxy.rowCount():
            self._select_proxy_row(0)
        else:
            self._load_current()
        self.update_commands()
        self.unitsLoaded.emit(self.model.rowCount())

    def _units_failed(self, exc: BaseException) -> None:
        self._loading = False
        self.errorOccurred.emit(f"Autonomy: {exc}")

    def _update_counts(self) -> None:
        total, shown = self.model.rowCount(), self.proxy.rowCount()
        self.count_label.setText(f"{shown} of {total} units" if shown != total
                                 else f"{total} units")
        promote = sum(1 for row in self.model.units()
                      if row.evidence.recommendation == "promote")
        parts = [f"{promote} to promote" if promote else ""]
        if self.trips:
            parts.append(f"{len(self.trips)} breaker{'s' if len(self.trips) > 1 else ''} open")
        self.set_summary(" · ".join(p for p in parts if p))

    # -- sparklines, for the rows on screen ---------------------------------------------

    def visible_rows(self) -> range:
        """The source rows of the units table on screen (as proxy rows mapped)."""
        count = self.proxy.rowCount()
        if count == 0:
            return range(0)
        first = self.view.rowAt(0)
        last = self.view.rowAt(self.view.viewport().height() - 1)
        first = 0 if first < 0 else first
        last = count - 1 if last < 0 else last
        return range(first, last + 1)

    def load_visible_sparklines(self) -> None:
        """Read the sparklines of the units on screen that have none yet."""
        if self.backend is None or self._sparklines_loading:
            return
        source_rows = [self.proxy.mapToSource(self.proxy.index(r, 0)).row()
                       for r in self.visible_rows()]
        missing = self.model.missing_sparklines(source_rows)
        if not missing:
            return
        self._sparklines_loading = True
        self._submit(load_sparklines, self.backend, missing,
                         on_done=self._sparklines_loaded, on_error=self._sparklines_failed)

    def _sparklines_loaded(self, sparklines: dict[UnitKey, Any]) -> None:
        self._sparklines_loading = False
        self.model.set_sparklines(sparklines)
        self._sparkline_timer.start()  # rows may have come on screen meanwhile

    def _sparklines_failed(self, exc: BaseException) -> None:
        self._sparklines_loading = False
        log.warning("autonomy sparklines: %s", exc)

    # -- the event feed: automatic demotions -------------------------------------------

    def poll_events(self) -> None:
        """Read the autonomy events since the last poll (off-thread); the first poll
        only finds where the feed stands: what happened before the console looked is
        in the table, not announced."""
        if self.backend is None or self._polling:
            return
        self._polling = True
        after = self._last_event_id
        if after is None:
            self._submit(last_event_id, self.backend, on_done=self._feed_found,
                             on_error=self._poll_failed)
            return
        self._submit(self.backend.events, after_id=after,
                         on_done=self._events, on_error=self._poll_failed)

    def _feed_found(self, last: int) -> None:
        self._polling = False
        if self._last_event_id is None:
            self._last_event_id = last

    def _poll_failed(self, exc: BaseException) -> None:
        self._polling = False
        log.warning("autonomy events: %s", exc)

    def _events(self, events: list[AutonomyEvent]) -> None:
        self._polling = False
        if not events:
            return
        self._last_event_id = max(self._last_event_id or 0, events[-1].id)
        demoted = automatic_demotions(events)
        for event in demoted:
            key = event_unit(event)
            if key is not None:
                self.model.mark_demoted(key)
                self.unitDemoted.emit(key)
            self.notice.emit(f"Demoted automatically: {one_line(event.summary, 200)}")
        tripped = [e for e in events if e.kind == "breaker.tripped"]
        for event in tripped:
            self.notice.emit(f"Budget breaker: {one_line(event.summary, 200)}")
        if self.is_active or demoted or tripped:
            # On screen, or the highlighted row and the summary must be right when the
            # lead looks.
            self.refresh()
        else:
            self._stale = True

    # -- selection ---------------------------------------------------------------------

    def current_key(self) -> UnitKey | None:
        value = self.view.currentIndex().data(UNIT_KEY_ROLE)
        return value if isinstance(value, UnitKey) else None

    @property
    def detail(self) -> UnitDetail | None:
        """The unit on show, once its charts are drawn and only if still selected."""
        shown = self.unit_view.detail if self.unit_view is not None else None
        return shown if shown is not None and shown.key == self.current_key() else None

    def select_unit(self, key: UnitKey) -> bool:
        row = self.model.row_of(key)
        if row is None:
            return False
        proxy_index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not proxy_index.isValid():
            self.filter_edit.clear()
            proxy_index = self.proxy.mapFromSource(self.model.index(row, 0))
        self._select_proxy_row(proxy_index.row())
        return True

    def _select_proxy_row(self, row: int) -> None:
        index = self.proxy.index(row, 0)
        self.view.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        self.view.scrollTo(index)

    def _step(self, delta: int) -> None:
        if not self.proxy.rowCount():
            return
        current = self.view.currentIndex()
        row = 0 if not current.isValid() else min(
            max(current.row() + delta, 0), self.proxy.rowCount() - 1)
        self._select_proxy_row(row)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        key = current.data(UNIT_KEY_ROLE) if current.isValid() else None
        if isinstance(key, UnitKey):
            self.model.mark_demoted(key, False)
        self._load_current()
        self.update_commands()

    def _load_current(self) -> None:
        key = self.current_key()
        self._wanted = key
        view = self.unit_view
        if view is None:
            return  # read when the workspace is first shown
        if key is None or self.backend is None:
            view.clear()
            return
        view.show_loading(unit_text(key))
        self._submit(load_detail, self.backend, key,
                         on_done=lambda detail: self._detail_loaded(key, detail),
                         on_error=self._detail_failed)

    def _detail_loaded(self, key: UnitKey, detail: UnitDetail) -> None:
        if key != self._wanted or self.unit_view is None:
            return  # another unit was selected meanwhile
        self.unit_view.show_unit(detail)
        self.update_commands()
        self.unitShown.emit(key)

    def _detail_failed(self, exc: BaseException) -> None:
        if self.unit_view is not None:
            self.unit_view.clear(f"Could not read the unit: {exc}")
        self.errorOccurred.emit(f"Autonomy: {exc}")

    # -- commands ----------------------------------------------------------------------

    def command_enabled(self, name: str) -> bool:
        detail = self.detail
        if name in ("autonomy.promote", "autonomy.demote", "autonomy.replay",
                    "autonomy.history"):
            if detail is None or self.decisions.busy:
                return False
            level = detail.evidence.level.value
            if name == "autonomy.promote":
                return level != "L3"
            if name == "autonomy.demote":
                return level != "L0"
            return True
        if name == "autonomy.reset_breaker":
            return bool(self.trips) and not self.decisions.busy
        if name in ("autonomy.next", "autonomy.previous"):
            return self.proxy.rowCount() > 0
        return True

    def _filter_changed(self, text: str) -> None:
        self.proxy.set_text(text)
        self._update_counts()
        self.update_commands()

    def _focus_filter(self) -> None:
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()

    def show_history(self) -> None:
        detail = self.detail
        if detail is None:
            return
        text = "\n\n\n".join(change_snapshot(c) for c in reversed(detail.changes)) or \
            "No level change recorded."
        dialog = TextViewerDialog(f"Level history of {unit_text(detail.key)}", text, self,
                                  monospace=False)
        dialog.setObjectName("levelHistoryDialog")
        dialog.open()

    def _show_change(self, change: Any) -> None:
        dialog = TextViewerDialog("Level change", change_snapshot(change), self,
                                  monospace=False)
        dialog.setObjectName("levelChangeDialog")
        dialog.open()

