"""`TraceInspector`: one run as a span tree with its waterfall, and the selected span
in full below it — the view the Traces workspace and the Queue's reasoning pane share.

A toolbar searches the run (Enter / Shift+Enter or F3 / Shift+F3 jump between
matches, "3 / 41"), expands everything, collapses to the failures, and jumps back to
the span that proposed an action. That span and its ancestors are highlighted (bold,
accent background) so the operator sees at once how the agent got there.
"""

from __future__ import annotations

from collections.abc import Sequence

from countersign.domain import SpanKind, SpanRecord
from countersign.text import duration_text, one_line

from ..async_work import BackgroundWork
from ..palette import restyle, strip_style, text_style
from ..qt.core import (
    QItemSelectionModel,
    QModelIndex,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from ..qt.gui import QKeySequence, QResizeEvent, QShortcut
from ..qt.widgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)
from ..widgets.text import plain_tooltip
from .call_links import requesting_call, tool_call_id, tool_calls
from .detail import SpanDetailView
from .format import UNKNOWN, compact_count, cost_text
from .links_bar import LINK_KEY, SpanLink
from .run_tree import RunTree, SpanNode, build_run_tree
from .search import RunSearch, SearchBar
from .span_tree import PROPOSER_ROLE, SPAN_ROLE, Column, SpanTreeModel
from .waterfall import TimelineHeader, WaterfallDelegate

#: Runs up to this size open fully expanded; bigger ones show their first two levels.
EXPAND_ALL_SPANS = 1_000
#: Narrower than this (the Queue's side-by-side pane), the inspector drops its Kind,
#: Cost and Status columns and shortens its buttons; tooltips keep the long words.
NARROW_WIDTH = 760
#: The narrowest the inspector gets (narrow mode: short buttons, fewer columns).
MIN_WIDTH = 420
_NARROW_HIDDEN = (Column.KIND, Column.COST, Column.STATUS)
_COLUMN_WIDTHS = ((Column.NAME, 340), (Column.KIND, 72), (Column.DURATION, 76),
                  (Column.TOKENS, 112), (Column.COST, 124), (Column.STATUS, 54))


class SpanTreeView(QTreeView):
    """The span tree with the waterfall in its last column (see waterfall.py)."""

    def __init__(self, model: SpanTreeModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("spanTree")
        self.timeline_header = TimelineHeader(Column.TIMELINE, self)
        self.setHeader(self.timeline_header)
        self.setModel(model)
        self.setUniformRowHeights(True)  # lets Qt lay out 10,000 rows without asking each
        self.setAnimated(False)
        self.setAllColumnsShowFocus(True)
        self.setAlternatingRowColors(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setItemDelegateForColumn(Column.TIMELINE,
                                      WaterfallDelegate(self.timeline_header, self))
        header = self.timeline_header
        header.setStretchLastSection(True)
        header.setMinimumSectionSize(40)
        for column, width in _COLUMN_WIDTHS:
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, width)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """A smaller window keeps the selected span in view (once the layout settled)."""
        super().resizeEvent(event)
        if event.size().height() < event.oldSize().height():
            QTimer.singleShot(0, self, lambda: self.scrollTo(
                self.currentIndex(), QAbstractItemView.ScrollHint.EnsureVisible))


class TraceInspector(QWidget):
    """See the module docstring. ``work`` runs big searches off the GUI thread; without
    it (e.g. in the Queue's small reasoning chains) searches run inline."""

    # Signals
    #: The span now selected, by span id.
    spanSelected = Signal(str)

    def __init__(self, parent: QWidget | None = None, *,
                 work: BackgroundWork | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("traceInspector")
        self.model = SpanTreeModel(self)
        self.search = RunSearch(work, self)
        self.search_bar = SearchBar(self.search, self)
        self.expand_button = self._button("Expand all", "Expand every span of the run",
                                          self.expand_all, "Expand")
        self.errors_button = self._button("Collapse to errors", "Collapse the tree, keeping "
                                          "every failed span in view", self.collapse_to_errors,
                                          "Errors")
        self.proposer_button = self._button("Jump to proposing span", "Select the span that "
                                            "proposed the action", self.jump_to_proposer,
                                            "Proposer")
        self.zoom_button = self._button("Whole run", "Show the whole run in the timeline "
                                        "(double-click a bar to zoom to its span)",
                                        self.reset_zoom, "Whole")
        self.summary = QLabel(self)
        self.summary.setObjectName("runSummary")
        restyle(self.summary, lambda p: text_style("QLabel", p.muted))
        self.banner = QLabel(self)
        self.banner.setObjectName("retryBanner")
        restyle(self.banner, lambda p: strip_style("QLabel", p.warning_banner))
        self.banner.setWordWrap(True)
        for label in (self.summary, self.banner):
            label.setTextFormat(Qt.TextFormat.PlainText)
        self.tree = SpanTreeView(self.model, self)
        self.detail = SpanDetailView(self)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setObjectName("inspectorSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.tree)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([560, 400])
        self._scroll_target: SpanNode | None = None
        self._narrow = False
        self._layout()
        self._connect()
        self.clear()

    def _button(self, text: str, tip: str, slot: object, short: str = "") -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setProperty("longText", text)
        button.setProperty("shortText", short or text)
        button.setToolTip(plain_tooltip(tip))
        button.setAutoRaise(False)
        button.clicked.connect(slot)
        return button

    def _layout(self) -> None:
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.setSpacing(6)
        bar.addWidget(self.search_bar, 1)
        for button in (self.expand_button, self.errors_button, self.proposer_button,
                       self.zoom_button):
            bar.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(bar)
        layout.addWidget(self.summary)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)

    def minimumSizeHint(self) -> QSize:
        """Its narrow mode's width: what the wide toolbar asks for is not a minimum,
        since a narrower inspector shortens its buttons and drops columns."""
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), MIN_WIDTH), hint.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        width = event.size().width()
        narrow = width < NARROW_WIDTH
        header = self.tree.timeline_header
        if narrow:  # names first; the timeline keeps a sixth of the width
            header.resizeSection(Column.NAME, max(140, width - 2 * 64 - max(70, width // 6) - 44))
        else:  # up to 340 px of names, and the waterfall keeps room on a 1024 screen
            header.resizeSection(Column.NAME, max(220, min(340, int(width * 0.28))))
        if narrow == self._narrow:
            return
        self._narrow = narrow
        for column in _NARROW_HIDDEN:
            self.tree.setColumnHidden(column, narrow)
        header.resizeSection(Column.TOKENS, 64 if narrow else 112)
        header.resizeSection(Column.DURATION, 64 if narrow else 76)
        self.search_bar.set_compact(narrow)
        for button in (self.expand_button, self.errors_button, self.proposer_button,
                       self.zoom_button):
            button.setText(button.property("shortText" if narrow else "longText"))

    def _connect(self) -> None:
        self.tree.selectionModel().currentChanged.connect(self._on_current_changed)
        self.tree.setExpandsOnDoubleClick(False)
        self.tree.doubleClicked.connect(self._on_double_clicked)
        header = self.tree.timeline_header
        header.windowChanged.connect(lambda: self.zoom_button.setVisible(header.zoomed))
        self.detail.links.linkActivated.connect(self._follow_link)
        self.search.matchesChanged.connect(self._on_matches)
        self.search.currentChanged.connect(self._on_match_moved)
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for keys, slot in (("F3", lambda: self.search_bar.jump(+1)),
                           ("Shift+F3", lambda: self.search_bar.jump(-1)),
                           ("Ctrl+F", self.focus_search),
                           (LINK_KEY, self.jump_to_linked_call)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(context)
            shortcut.activated.connect(slot)

    # -- API ---------------------------------------------------------------------------

    @property
    def run(self) -> RunTree:
        return self.model.tree

    def show_run(self, spans: Sequence[SpanRecord], *,
                 highlight_span_id: str | None = None) -> None:
        """Show the run made of ``spans``. When ``highlight_span_id`` names one of them
        (the span that proposed an action), it and its ancestors are highlighted and
        it is selected; otherwise the first span is."""
        tree = build_run_tree(spans, highlight_span_id)
        self.model.set_tree(tree)
        self.tree.timeline_header.set_run_duration(tree.duration_ns)
        self.search.set_run([node.span for node in tree.nodes])  # type: ignore[misc]
        self.summary.setText(self._summary(tree, highlight_span_id))
        loop = tree.stuck_loop()
        if loop is not None:
            self.banner.setText(f"Stuck in a retry loop: `{one_line(loop.name, 80)}` retried "
                                f"{loop.retries} times")
        self.banner.setVisible(loop is not None)
        self.proposer_button.setEnabled(tree.proposer is not None)
        for button in (self.expand_button, self.errors_button):
            button.setEnabled(bool(tree.nodes))
        if len(tree.nodes) <= EXPAND_ALL_SPANS:
            self.tree.expandAll()
        else:
            self.tree.expandToDepth(0)
        target = tree.proposer or (tree.nodes[0] if tree.nodes else None)
        if target is None:
            self.detail.clear()
        else:
            self.select_node(target)

    def clear(self) -> None:
        self.show_run([])
        self.summary.setText("No run selected")

    def select_span(self, span_id: str) -> bool:
        node = self.run.by_id.get(span_id)
        if node is not None:
            self.select_node(node)
        return node is not None

    def select_node(self, node: SpanNode) -> None:
        """Select ``node``, expanding its ancestors and scrolling it into the middle."""
        index = self.model.index_of(node)
        walk = index.parent()
        while walk.isValid():
            if not self.tree.isExpanded(walk):
                self.tree.expand(walk)
            walk = walk.parent()
        self.tree.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        self.tree.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        # Again once pending layouts (a splitter or window just shown) have settled.
        self._scroll_target = node
        QTimer.singleShot(0, self, self._settle_scroll)

    def _settle_scroll(self) -> None:
        node, self._scroll_target = self._scroll_target, None
        if node is not None and node.span is not None and self.run.by_id.get(
                node.span.span_id) is node:  # still the run on show
            self.tree.scrollTo(self.model.index_of(node),
                               QAbstractItemView.ScrollHint.EnsureVisible)

    def selected_span_id(self) -> str | None:
        span = self.tree.currentIndex().data(SPAN_ROLE)
        return span.span_id if isinstance(span, SpanRecord) else None

    def expand_all(self) -> None:
        self.tree.expandAll()

    def collapse_to_errors(self) -> None:
        """Collapse everything but the ancestors of failed spans."""
        self.tree.collapseAll()
        opened: set[int] = set()
        for node in self.run.nodes:
            if not node.error:
                continue
            walk = node.parent
            while walk is not None and walk.span is not None and id(walk) not in opened:
                opened.add(id(walk))
                self.tree.expand(self.model.index_of(walk))
                walk = walk.parent

    def jump_to_proposer(self) -> None:
        if self.run.proposer is not None:
            self.select_node(self.run.proposer)
            self.tree.setFocus(Qt.FocusReason.OtherFocusReason)

    def jump_to_linked_call(self) -> bool:
        """From a tool span to the LLM call that asked for it, from an LLM call to the
        tool span of its first tool call (`LINK_KEY`); False when there is none."""
        for button in self.detail.links.buttons:
            if button.isEnabled():
                button.click()
                return True
        return False

    def _follow_link(self, span_id: str) -> None:
        if self.select_span(span_id):
            self.tree.setFocus(Qt.FocusReason.OtherFocusReason)

    def _show_links(self, node: SpanNode) -> None:
        """The links of the span on show (see call_links.py)."""
        span = node.span
        links = self.detail.links
        if span is None or span.kind not in (SpanKind.TOOL, SpanKind.LLM):
            links.clear()
            return
        if span.kind is SpanKind.TOOL:
            call_id = tool_call_id(span)
            if call_id is None:
                links.clear()
                return
            asker = requesting_call(self.run, node)
            if asker is None or asker.span is None:
                links.set_links("Asked for by", [SpanLink(
                    f"call {call_id}", None,
                    f"No LLM call in this run asked for tool call {call_id}")])
            else:
                links.set_links("Asked for by", [SpanLink(
                    f"↑ {asker.span.name}", asker.span.span_id,
                    f"Select the LLM call that asked for this tool call ({call_id}) · "
                    f"{LINK_KEY}")])
            return
        found = tool_calls(self.run, node)
        links.set_links("Its tool calls", [
            SpanLink(f"↓ {link.name}", link.node.span.span_id, f"Select the tool span that "
                     f"carried out call {link.call_id}" + ("" if i else f" · {LINK_KEY}"))
            if link.node is not None and link.node.span is not None else
            SpanLink(f"{link.name} (not run)", None, f"No tool span in this run carries "
                     f"call id {link.call_id}: the tool was not run, or not traced")
            for i, link in enumerate(found)])

    def zoom_to_span(self, span_id: str) -> None:
        """Fit the timeline to one span (double-click on its bar does this)."""
        node = self.run.by_id.get(span_id)
        if node is not None and node.span is not None:
            start = node.span.start_ns - self.run.start_ns
            end = None if node.span.end_ns is None else node.span.end_ns - self.run.start_ns
            self.tree.timeline_header.zoom_to(start, end)

    def reset_zoom(self) -> None:
        self.tree.timeline_header.reset_zoom()

    def focus_search(self) -> None:
        self.search_bar.field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_bar.field.selectAll()

    # -- reactions ---------------------------------------------------------------------

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        span = current.data(SPAN_ROLE) if current.isValid() else None
        if not isinstance(span, SpanRecord):
            self.detail.clear()
            return
        node = self.model.node(current)
        self.detail.show_span(span, proposer=bool(current.data(PROPOSER_ROLE)),
                              children=len(node.children) if node is not None else 0)
        if node is not None:
            self._show_links(node)
        self.spanSelected.emit(span.span_id)

    def _on_double_clicked(self, index: QModelIndex) -> None:
        if index.column() == Column.TIMELINE:
            span = index.data(SPAN_ROLE)
            if isinstance(span, SpanRecord):
                self.zoom_to_span(span.span_id)
            return
        first = index.siblingAtColumn(0)
        self.tree.setExpanded(first, not self.tree.isExpanded(first))

    def _on_matches(self, _count: int) -> None:
        self.model.set_matches(self.search.matches)

    def _on_match_moved(self, order: int) -> None:
        if order < 0:
            return
        self.model.set_matches(self.search.matches, order)
        self.select_node(self.run.nodes[order])

    @staticmethod
    def _summary(tree: RunTree, highlight_span_id: str | None) -> str:
        if not tree.nodes:
            return "This run has no spans."
        count = len(tree.nodes)
        parts = [f"{count:,} span{'' if count == 1 else 's'}"]
        if tree.running:  # the run is what its root says: open until the root has ended
            waiting = "" if tree.root_span is not None else ", its root span not yet seen"
            parts.insert(0, f"running{waiting}")
            parts.append(f"{duration_text(tree.duration_ns)} so far")
        else:
            parts.append(duration_text(tree.duration_ns))
        if tree.total_tokens:
            parts.append(f"{compact_count(tree.total_tokens)} tokens")
        cost = tree.total_cost
        if cost is None:
            parts.append(f"cost {UNKNOWN}" if tree.unpriced else "no cost recorded")
        else:
            parts.append(f"cost {'≥ ' if tree.unpriced else ''}{cost_text(cost)}")
        if tree.errors:
            parts.append(f"{tree.errors:,} failed")
        if tree.orphans:
            parts.append(f"{tree.orphans:,} without their parent (shown at the top)")
        text = " · ".join(parts)
        if highlight_span_id and tree.proposer is None:
            text += (f" · the span that proposed the action ({one_line(highlight_span_id, 40)})"
                     " is not in this run")
        return text
