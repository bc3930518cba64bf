"""The Review workspace: the review queue on the left (filters, the list, reviewer
agreement), and on the right the item under review beside the rubric form — or the
Datasets panel, the sampling-rules editor, or the Rubrics page.

The list is the reviewer's work by default: open items they have not labelled,
oldest first. It is read in two steps (a first page, then the rest in slices) and
kept live by polling (`ReviewListFeed`); a change never moves the selection. Labelling
itself (claims, reading ahead, submit, skip, correction) is `LabellingFlow`'s.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from typing import TYPE_CHECKING, Any

from countersign.domain.review import DatasetFilter, LabelRecord

from ..async_work import BackgroundWork
from ..palette import restyle, text_style
from ..qt.core import QEvent, QItemSelectionModel, QModelIndex, QObject, Qt, QTimer, Signal
from ..qt.gui import QShortcutEvent, QShowEvent
from ..qt.widgets import (
    QHeaderView,
    QLabel,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from ..widgets.tables import row_table
from ..workspace import Workspace
from .agreement import AgreementPanel
from .commands import LABEL_COMMANDS, PAGE_COMMANDS, REVIEW_COMMANDS
from .datasets_panel import DatasetsPanel
from .feed import ReviewListFeed, with_claims
from .filter_bar import ReviewFilterBar
from .item_pane import ReviewItemPane
from .labelling import LabellingFlow
from .model import ItemIdRole, ReviewQueueModel
from .reads import FIRST_PAGE, load_page
from .rows import Column, ReviewFilter, Show, labelable
from .rubrics_page import RubricsPage
from .rules_editor import RulesEditor

if TYPE_CHECKING:
    from countersign.review.agreement import AgreementReport
    from countersign.review.rubric import Rubric
    from countersign.services.review_feed import LineChanges, LinePage, ReviewLine
    from countersign.session import Services

    from ..shortcuts import CommandTable

#: The rest of a large first load is handed to the model this many lines per tick.
LOAD_SLICE = 5_000
#: Below this list width, the Why and Age columns are hidden (the item's header
#: strip says why it was drawn).
NARROW_LIST = 420
#: Agreement is read again this long after a label (labels come in bursts).
AGREEMENT_DELAY_MS = 1500
_HINT = "1-9 answer · Tab next question · Enter submit · S skip · C correct · J/K move · ? keys"
_PAGES = ("label", "datasets", "rules", "rubrics")


class _ShortcutKeys(QObject):
    """Remembers which of a command's keys fired it (Qt's `triggered` does not say):
    an event filter on the action sees the shortcut event just before it triggers."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.last = ""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Shortcut and isinstance(event, QShortcutEvent):
            self.last = event.key().toString()
        return False


class ReviewWorkspace(Workspace):
    """See the module docstring."""

    name = "review"
    title = "Review"
    key = "Ctrl+3"
    tip = "Show the Review workspace: label sampled actions and runs, build eval datasets"
    commands = REVIEW_COMMANDS
    summary_tip = "Review items waiting for your label"

    # Signals (besides `Workspace`'s)
    #: The first page of the list is in the model (its row count).
    listLoaded = Signal(int)

    def __init__(self, table: CommandTable, work: BackgroundWork,
                 parent: QWidget | None = None) -> None:
        super().__init__(table, work, parent)
        self._services: Services | None = None
        self._feed: ReviewListFeed | None = None
        self._claims: dict[int, tuple[str, ...]] = {}
        self._load_generation = 0
        self._loading = True
        self._suppress_current = False
        self._sized = False
        self.model = ReviewQueueModel(self)
        self.filter_bar = ReviewFilterBar(self)
        self.view = self._build_view()
        self.placeholder = QLabel("Loading the review queue…", self)
        self.placeholder.setObjectName("reviewPlaceholder")
        self.placeholder.setTextFormat(Qt.TextFormat.PlainText)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        restyle(self.placeholder, lambda p: text_style("QLabel", p.muted, "font-size: 13px;"))
        self.list_stack = QStackedWidget(self)
        self.list_stack.addWidget(self.view)
        self.list_stack.addWidget(self.placeholder)
        self.agreement = AgreementPanel(self)
        self.pane = ReviewItemPane(self)
        self.datasets = DatasetsPanel(work, self)
        self.rules = RulesEditor(work, self)
        self.rubrics = RubricsPage(work, self)
        self.pages = QTabWidget(self)
        self.pages.setObjectName("reviewPages")
        self.pages.tabBar().setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.pages.addTab(self.pane, "Label")
        self.pages.addTab(self.datasets, "Datasets")
        self.pages.addTab(self.rules, "Sampling rules")
        self.pages.addTab(self.rubrics, "Rubrics")
        self.flow = LabellingFlow(self, work)
        self._answer_key = _ShortcutKeys(self)
        self._agreement_timer = QTimer(self)
        self._agreement_timer.setSingleShot(True)
        self._agreement_timer.setInterval(AGREEMENT_DELAY_MS)
        self._agreement_timer.timeout.connect(self.refresh_agreement)
        self._layout()
        self._connect(table)
        self._update_placeholder()
        self.set_summary("…")

    # -- building ------------------------------------------------------------------------

    def _build_view(self) -> QTableView:
        view = row_table(self, "reviewList", self.model, row_padding=10)
        header = view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(Column.ACTION, QHeaderView.ResizeMode.Stretch)
        for column, width in ((Column.AGENT, 100), (Column.VERDICT, 84), (Column.WHY, 100),
                              (Column.AGE, 52), (Column.LABELS, 44)):
            header.resizeSection(column, width)
        header.setMinimumSectionSize(40)
        view.installEventFilter(self)
        return view

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._sized and self.width() > 0:
            # The list takes about a third of the first width it is shown at.
            self._sized = True
            left = max(300, min(480, int(self.width() * 0.32)))
            self.splitter.setSizes([left, max(1, self.width() - left)])

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.view and event.type() == QEvent.Type.Resize:
            narrow = self.view.width() < NARROW_LIST
            for column in (Column.WHY, Column.AGE):
                if self.view.isColumnHidden(column) != narrow:
                    self.view.setColumnHidden(column, narrow)
        return super().eventFilter(watched, event)

    def _layout(self) -> None:
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(8, 8, 4, 8)
        left_layout.setSpacing(4)
        left_layout.addWidget(self.filter_bar)
        split = QSplitter(Qt.Orientation.Vertical, left)
        split.setObjectName("listAndAgreement")
        split.setChildrenCollapsible(False)
        split.addWidget(self.list_stack)
        split.addWidget(self.agreement)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([520, 240])
        left_layout.addWidget(split, 1)
        hint = QLabel(_HINT, left)
        hint.setObjectName("reviewHint")
        hint.setTextFormat(Qt.TextFormat.PlainText)
        hint.setWordWrap(True)
        restyle(hint, lambda p: text_style("QLabel", p.muted))
        left_layout.addWidget(hint)
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(4, 8, 8, 8)
        right_layout.addWidget(self.pages, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("reviewSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([440, 1000])
        left.setMinimumWidth(260)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter, 1)

    def _connect(self, table: CommandTable) -> None:
        table["review.submit"].triggered.connect(self.flow.submit)
        table["review.skip"].triggered.connect(self.flow.skip)
        table["review.correction"].triggered.connect(self.flow.edit_correction)
        table["review.next"].triggered.connect(lambda: self.step(+1))
        table["review.previous"].triggered.connect(lambda: self.step(-1))
        table["review.next_question"].triggered.connect(lambda: self._move_question(+1))
        table["review.previous_question"].triggered.connect(lambda: self._move_question(-1))
        table["review.clear_answer"].triggered.connect(self._clear_answer)
        table["review.filter"].triggered.connect(self._focus_filter)
        table["review.refresh"].triggered.connect(self.refresh)
        answer = table["review.answer"]
        answer.installEventFilter(self._answer_key)
        answer.triggered.connect(self._answer)
        for page, command in PAGE_COMMANDS.items():
            table[command].triggered.connect(functools.partial(self.show_page, page))
        self.pages.currentChanged.connect(self._page_changed)
        self.pane.submitRequested.connect(self.flow.submit)
        self.pane.skipRequested.connect(self.flow.skip)
        self.pane.correctionRequested.connect(self.flow.edit_correction)
        self.pane.form.submitRequested.connect(self.flow.submit)
        self.filter_bar.filterChanged.connect(self._filter_changed)
        self.filter_bar.done.connect(self.focus_form)
        self.model.countsChanged.connect(self._counts_changed)
        self.view.selectionModel().currentChanged.connect(self._current_changed)
        self.model.layoutChanged.connect(self._after_layout)
        self.flow.labelled.connect(self._labelled)
        self.agreement.rubricChosen.connect(lambda _name: self.refresh_agreement())
        self.datasets.notice.connect(self.notice)
        self.datasets.failed.connect(self.errorOccurred)
        self.rules.notice.connect(self.notice)
        self.rules.failed.connect(self.errorOccurred)
        self.rubrics.notice.connect(self.notice)
        self.rubrics.failed.connect(self.errorOccurred)
        self.rubrics.saved.connect(self._rubric_saved)

    # -- the store -----------------------------------------------------------------------

    def attach(self, services: Services) -> None:
        """Read the review queue (first page, then the rest), then keep it live."""
        self._services = services
        self.flow.attach(services)
        self.model.set_reviewer(services.identity)
        self._feed = ReviewListFeed(services.review_feed, self.work, self)
        self._feed.changed.connect(self._on_changes)
        self._feed.failed.connect(lambda message: self.pane.banner.show_message(
            f"Live updates paused: {message}. Retrying…"))
        self._feed.recovered.connect(self.pane.banner.hide_message)
        self.datasets.attach(services.datasets, services.identity)
        self.rules.attach(services.review, services.identity,
                          config_has_rules=services.config.review.rules is not None)
        self.rubrics.attach(services.review, services.identity)
        self.datasets.set_list_filter(self._dataset_filter(self.model.filter))
        self.reload()
        self.work.submit(services.review.rubrics, on_done=self._rubrics,
                         on_error=self._failed)

    def shutdown(self) -> None:
        if self._feed is not None:
            self._feed.stop()
        self.model.stop_clock()
        self._agreement_timer.stop()

    def refresh(self) -> None:
        """F5: the list, the agreement, the datasets and the rubrics read again."""
        self.flow.drop_cached()
        self.reload()
        self.refresh_agreement()
        self.datasets.refresh()
        self.rubrics.reload()

    def reload(self) -> None:
        """Read the list for the current Show choice from the start."""
        services = self._services
        if services is None:
            return
        self._load_generation += 1
        generation = self._load_generation
        self._loading = True
        if self._feed is not None:
            self._feed.stop()
        state = self.model.filter.show.store_state
        self.work.submit(load_page, services.review_feed, state, 0, FIRST_PAGE,
                         on_done=lambda page: self._first_page(generation, state, page),
                         on_error=self._load_failed)

    def _first_page(self, generation: int, state: str, page: LinePage) -> None:
        if generation != self._load_generation or self._services is None:
            return
        current = self.current_id()
        self._suppress_current = True
        try:
            self.model.set_lines(page.lines)
        finally:
            self._suppress_current = False
        self._claims = {line.id: line.claimed_by for line in page.lines if line.claimed_by}
        if self._feed is not None:
            self._feed.start(page.item_mark, page.label_mark)
        if page.complete:
            self._loading = False
        else:
            after = page.lines[-1].id if page.lines else 0
            self.work.submit(load_page, self._services.review_feed, state, after, None,
                             on_done=lambda rest: self._rest(generation, rest),
                             on_error=self._load_failed)
        self._choices_changed()
        self._update_placeholder()
        row = self.model.row_of(current) if current is not None else None
        if row is not None:
            self._select_row(row, show=False)
        else:
            first = self.model.rows.next_labelable(None)
            if first is None and self.model.rowCount():
                first = self.model.ids()[0]
            self.select_item(first, focus_form=self.is_active)
        self.listLoaded.emit(self.model.rowCount())

    def _rest(self, generation: int, page: LinePage) -> None:
        self.work.spawn(self._feed_rest(generation, page.lines), name="review-load-rest")

    async def _feed_rest(self, generation: int, lines: list[ReviewLine]) -> None:
        """Hand a large load over in slices so no single frame stalls."""
        for at in range(0, len(lines), LOAD_SLICE):
            if generation != self._load_generation:
                return
            self.model.apply(lines[at:at + LOAD_SLICE])
            await asyncio.sleep(0)
        self._loading = False
        self._choices_changed()
        self._update_placeholder()

    def _load_failed(self, exc: BaseException) -> None:
        self._loading = False
        self.placeholder.setText(f"Could not read the review queue: {exc}")
        self.list_stack.setCurrentWidget(self.placeholder)
        self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        self.errorOccurred.emit(f"Review: {exc}")

    def _on_changes(self, found: LineChanges) -> None:
        updated = {line.id: line for line in found.lines}
        updated.update({line.id: line for line in with_claims(
            lambda i: updated.get(i) or self.model.rows.get(i), self._claims, found.claims)})
        self._claims = found.claims
        if updated:
            self.flow.drop_cached({i for i in updated if i in {line.id for line in found.lines}})
            self.apply_lines(list(updated.values()))
            self._choices_changed()
            if found.lines:
                self._agreement_timer.start()

    def apply_lines(self, lines: list[ReviewLine]) -> None:
        """A streaming change; if it takes the item on screen out of the list, the
        selection is cleared (never moved onto another item silently)."""
        current = self.current_id()
        self._suppress_current = True
        try:
            self.model.apply(lines)
        finally:
            self._suppress_current = False
        if current is not None and self.model.row_of(current) is None:
            self.view.selectionModel().clear()
        self._update_placeholder()

    def line_labelled(self, item_id: int, label: LabelRecord) -> None:
        """Our own label committed: the line says so now (the feed confirms later)."""
        line = self.model.rows.get(item_id)
        if line is None:
            return
        labels = line.labels + 1
        self.apply_lines([dataclasses.replace(
            line, labels=labels, labelled_by=(*line.labelled_by, label.reviewer),
            claimed_by=tuple(w for w in line.claimed_by if w != label.reviewer),
            state="done" if labels >= line.needed else line.state)])

    def _rubrics(self, rubrics: list[Any]) -> None:
        names = [rubric.name for rubric in rubrics]
        self.agreement.set_rubrics(names)
        self.refresh_agreement()

    def _rubric_saved(self, rubric: Rubric) -> None:
        """A new version: the Label page shows it for new labels, and the agreement
        lists a rubric saved under a new name."""
        self.flow.reload_rubric(rubric.name)
        if self._services is not None:
            self.work.submit(self._services.review.rubrics, on_done=self._rubrics,
                             on_error=self._failed)

    def refresh_agreement(self) -> None:
        services = self._services
        rubric = self.agreement.current_rubric()
        if services is None or rubric is None:
            return
        self.work.submit(services.review.agreement, rubric, on_done=self._agreement,
                         on_error=lambda exc: self.agreement.show_failure(str(exc)))

    def _agreement(self, report: AgreementReport) -> None:
        if report.rubric == self.agreement.current_rubric():
            self.agreement.show_report(report)

    def _labelled(self, _label: LabelRecord) -> None:
        self._agreement_timer.start()

    # -- selection -----------------------------------------------------------------------

    def current_id(self) -> int | None:
        value = self.view.currentIndex().data(ItemIdRole)
        return value if isinstance(value, int) else None

    def next_labelable_after(self, item_id: int) -> int | None:
        """The next item in the list after ``item_id`` the reviewer may label (not
        skipped in this sitting); from the top if the item is not in the list."""
        rows = self.model.rows
        return rows.next_labelable(rows.position_of(item_id),
                                   skipped=self.flow.skipped | self.flow.saving)

    def select_item(self, item_id: int | None, *, focus_form: bool = False) -> None:
        row = self.model.row_of(item_id) if item_id is not None else None
        if row is None:
            self._suppress_current = True
            try:
                self.view.selectionModel().clear()
            finally:
                self._suppress_current = False
            self.flow.show(None)
            return
        self._select_row(row)
        self.flow.show(item_id, focus_form=focus_form)

    def _select_row(self, row: int, *, show: bool = False) -> None:
        index = self.model.index(row, 0)
        self._suppress_current = not show
        try:
            self.view.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows)
        finally:
            self._suppress_current = False
        self.view.scrollTo(index)

    def step(self, step: int) -> None:
        """J / K: the next or previous row of the list, its form focused."""
        count = self.model.rowCount()
        if not count:
            return
        current = self.view.currentIndex()
        row = current.row() + step if current.isValid() else (0 if step > 0 else count - 1)
        line = self.model.line_at(max(0, min(count - 1, row)))
        if line is not None:
            self.select_item(line.id, focus_form=True)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._suppress_current:
            return
        item_id = current.data(ItemIdRole) if current.isValid() else None
        self.flow.show(item_id if isinstance(item_id, int) else None)

    def _after_layout(self) -> None:
        """A filter hid the item on screen: show the first item the reviewer may label."""
        if self.current_id() is None and self.flow.loaded is not None:
            first = self.model.rows.next_labelable(None)
            self.select_item(first, focus_form=False)

    def focus_form(self) -> None:
        if self.pane.form.isEnabled() and self.pane.form.questions:
            self.pane.form.focus_question(self.pane.form.current_index)
        else:
            self.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def activated(self) -> None:
        self.focus_form()

    # -- commands ------------------------------------------------------------------------

    def command_enabled(self, name: str) -> bool:
        """The labelling keys act only while the Label page is shown."""
        return name not in LABEL_COMMANDS or self.pages.currentWidget() is self.pane

    def show_page(self, page: str) -> None:
        self.pages.setCurrentIndex(_PAGES.index(page))

    def _page_changed(self, _index: int) -> None:
        self.update_commands()
        if self.pages.currentWidget() is self.pane:
            self.focus_form()
        elif self.pages.currentWidget() is self.datasets:
            self.datasets.refresh()
            self.datasets.focus_name()
        elif self.pages.currentWidget() is self.rubrics:
            self.rubrics.editor.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            self.rules.editor.setFocus(Qt.FocusReason.OtherFocusReason)

    def _answer(self) -> None:
        key = self._answer_key.last
        self._answer_key.last = ""
        if key and self.pane.form.isEnabled():
            self.pane.form.answer_key(key)

    def _move_question(self, step: int) -> None:
        if self.pane.form.isEnabled():
            self.pane.form.move_question(step)

    def _clear_answer(self) -> None:
        widget = self.pane.form.current_question()
        if widget is not None and self.pane.form.isEnabled():
            widget.clear_answer()

    def _focus_filter(self) -> None:
        self.filter_bar.focus_text()

    # -- filter and counts ---------------------------------------------------------------

    def _filter_changed(self, wanted: ReviewFilter) -> None:
        before = self.model.filter.show.store_state
        self.model.set_filter(wanted)
        self.datasets.set_list_filter(self._dataset_filter(wanted))
        if wanted.show.store_state != before:
            self.reload()

    @staticmethod
    def _dataset_filter(wanted: ReviewFilter) -> DatasetFilter:
        return DatasetFilter(agent=wanted.agent, action_class=wanted.action_class,
                             verdicts=(wanted.verdict,) if wanted.verdict else ())

    def _choices_changed(self) -> None:
        rows = self.model.rows
        self.filter_bar.set_choices(rows.values("agent"), rows.values("action_class"))

    def _counts_changed(self, shown: int, total: int) -> None:
        self.filter_bar.set_counts(shown, total)
        reviewer = self.model.rows.reviewer
        if self.model.filter == ReviewFilter(show=Show.MINE):
            mine = shown
        else:
            mine = sum(1 for line in self.model.rows.all_lines() if labelable(line, reviewer))
        self.set_summary(f"{mine:,} to label")
        self._update_placeholder()

    def _update_placeholder(self) -> None:
        if self.model.rowCount():
            if self.list_stack.currentWidget() is not self.view:
                self.list_stack.setCurrentWidget(self.view)
            return
        if self._loading and self.model.total == 0:
            text = "Loading the review queue…"
        elif self.model.total:
            text = f"No items match the filter ({self.model.total:,} hidden)"
        elif self.model.filter.show is Show.MINE:
            text = ("Nothing to label. Sampled decisions appear here as the sampling rules "
                    "draw them; use “Send to review” in the Queue or Traces to add one.")
        else:
            text = "No review items."
        self.placeholder.setText(text)
        self.list_stack.setCurrentWidget(self.placeholder)
