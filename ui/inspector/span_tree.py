"""`SpanTreeModel`: a thin item model over a `RunTree` (see run_tree.py).

Columns: Name (with the kind's glyph, retry and orphan markers), Kind, Duration,
Tokens and Cost (own, plus the subtree's total on parents: ``1.2k (Σ 15.3k)``),
Status, and Timeline (painted by `waterfall.WaterfallDelegate` from `BAR_ROLE`).
The tree is built once per run; `data()` only reads precomputed fields, so a
10,000-span run costs what the visible rows cost.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import IntEnum
from typing import Any

from countersign.domain import SpanRecord
from countersign.text import duration_text, one_line

from ..palette import colours, qcolor
from ..qt.core import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from ..qt.gui import QFont
from ..widgets.text import plain_tooltip
from .format import UNKNOWN, compact_count, cost_text, own_and_total, span_duration
from .kinds import error_color, kind_icon
from .run_tree import RunTree, SpanNode, build_run_tree


class Column(IntEnum):
    NAME = 0
    KIND = 1
    DURATION = 2
    TOKENS = 3
    COST = 4
    STATUS = 5
    TIMELINE = 6


_HEADERS = ("Name", "Kind", "Duration", "Tokens", "Cost", "Status", "Timeline")

#: The row's `SpanRecord`.
SPAN_ROLE = Qt.ItemDataRole.UserRole + 1
#: The row's span id (str).
SPAN_ID_ROLE = Qt.ItemDataRole.UserRole + 2
#: The waterfall bar: (start, end) in ns after the run's start (end None while
#: running), the kind, and whether it failed.
BAR_ROLE = Qt.ItemDataRole.UserRole + 3
#: True for the highlighted (proposing) span and its ancestors.
ON_PATH_ROLE = Qt.ItemDataRole.UserRole + 4
#: True only for the highlighted (proposing) span.
PROPOSER_ROLE = Qt.ItemDataRole.UserRole + 5
#: 0 no search match, 1 a match, 2 the current match.
MATCH_ROLE = Qt.ItemDataRole.UserRole + 6
#: True when the span failed.
ERROR_ROLE = Qt.ItemDataRole.UserRole + 7

_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_Index = QModelIndex | QPersistentModelIndex
_DISPLAY = Qt.ItemDataRole.DisplayRole
_DECORATION = Qt.ItemDataRole.DecorationRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_BACKGROUND = Qt.ItemDataRole.BackgroundRole
_FONT = Qt.ItemDataRole.FontRole
_ALIGN = Qt.ItemDataRole.TextAlignmentRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_BRANCH = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_LEAF = _BRANCH | Qt.ItemFlag.ItemNeverHasChildren


def cost_cell(node: SpanNode) -> str:
    """The Cost cell: the span's own cost and, on parents, the subtree's. A model call
    without a price shows `UNKNOWN` (never ``$0``); a sum over calls of which some had
    no price is a lower bound (``≥ $0.42``)."""
    own_unpriced = node.own_cost is None and node.own_tokens is not None
    own = (cost_text(node.own_cost) if node.own_cost is not None
           else UNKNOWN if own_unpriced else None)
    total = None
    if node.children:
        if any(child.cost_known for child in node.children):
            total = ("≥ " if node.unpriced else "") + cost_text(node.sum_cost)
        elif node.unpriced - own_unpriced:
            total = UNKNOWN
    return own_and_total(own, total)


def name_text(node: SpanNode) -> str:
    """The Name cell: the span's name (one line, visible markers) and our markers."""
    span = node.span
    assert span is not None
    text = one_line(span.name, 120)
    if node.retries:
        text += f"   ↻ retry ×{node.retries}"
    elif node.attempt:
        text += f"   ↻ retry {node.attempt}"
    if node.orphan:
        text += "   ⚠ orphan"
    return text


class SpanTreeModel(QAbstractItemModel):
    """Read-only tree of one run's spans. See the module docstring."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tree = build_run_tree([])
        self._bold = QFont()
        self._bold.setBold(True)
        self._matches: dict[int, int] = {}

    # -- content -----------------------------------------------------------------------

    def set_spans(self, spans: Sequence[SpanRecord], highlight_span_id: str | None = None) -> None:
        self.set_tree(build_run_tree(spans, highlight_span_id))

    def set_tree(self, tree: RunTree) -> None:
        """Show ``tree`` (a reset: the whole run changes)."""
        self.beginResetModel()
        self.tree = tree
        self._matches = {}
        self.endResetModel()

    def node(self, index: _Index) -> SpanNode | None:
        return index.internalPointer() if index.isValid() else None

    def index_of(self, node: SpanNode | None, column: int = 0) -> QModelIndex:
        if node is None or node.span is None:
            return QModelIndex()
        return self.createIndex(node.row, column, node)

    def index_for_span(self, span_id: str) -> QModelIndex:
        return self.index_of(self.tree.by_id.get(span_id))

    def set_matches(self, orders: Iterable[int], current: int | None = None) -> None:
        """Mark the nodes at display positions ``orders`` as search matches, the one
        at ``current`` as the current match; repaint only the rows that changed."""
        nodes = self.tree.nodes
        wanted = {order: (2 if order == current else 1) for order in orders}
        changed = {o for o in self._matches.keys() | wanted.keys()
                   if self._matches.get(o) != wanted.get(o)}
        self._matches = wanted
        self._notify(nodes[o] for o in changed if 0 <= o < len(nodes))

    def _notify(self, nodes: Iterable[SpanNode]) -> None:
        """One dataChanged per parent, spanning the changed rows under it."""
        groups: dict[int, tuple[SpanNode, int, int]] = {}
        for node in nodes:
            parent = node.parent
            assert parent is not None
            key = id(parent)
            low, high = groups.get(key, (parent, node.row, node.row))[1:]
            groups[key] = (parent, min(low, node.row), max(high, node.row))
        last = len(_HEADERS) - 1
        roles = [_BACKGROUND]
        for parent, low, high in groups.values():
            self.dataChanged.emit(self.createIndex(low, 0, parent.children[low]),
                                  self.createIndex(high, last, parent.children[high]), roles)

    # -- structure ---------------------------------------------------------------------

    def index(self, row: int, column: int, parent: _Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        up = parent.internalPointer() if parent.isValid() else self.tree.root
        if parent.column() > 0 or not 0 <= row < len(up.children) or not 0 <= column < 7:
            return QModelIndex()
        return self.createIndex(row, column, up.children[row])

    def parent(self, index: _Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid():
            return QModelIndex()
        up = index.internalPointer().parent
        if up is None or up.span is None:
            return QModelIndex()
        return self.createIndex(up.row, 0, up)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        if not parent.isValid():
            return len(self.tree.root.children)
        if parent.column() > 0:
            return 0
        return len(parent.internalPointer().children)

    def hasChildren(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008
        return self.rowCount(parent) > 0

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return len(_HEADERS)

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return _BRANCH if index.internalPointer().children else _LEAF

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == _DISPLAY
                and 0 <= section < len(_HEADERS)):
            return _HEADERS[section]
        return None

    # -- cells -------------------------------------------------------------------------

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        node: SpanNode = index.internalPointer()
        column = index.column()
        if role == _DISPLAY:
            return None if column == Column.TIMELINE else self._display(node, column)
        if role == _BACKGROUND:
            match = self._matches.get(node.order)
            palette = colours()
            if match:
                return qcolor(palette.current_match_row if match == 2 else palette.match_row)
            if node.proposer:
                return qcolor(palette.proposer_row)
            return qcolor(palette.path_row) if node.on_path else None
        if role == _FOREGROUND:
            if node.error:
                return error_color()
            if node.orphan and column == Column.NAME:
                return qcolor(colours().warning)
            return None
        if role == _DECORATION:
            if column != Column.NAME:
                return None
            return kind_icon(node.span.kind, error=node.error)  # type: ignore[union-attr]
        if role == _FONT:
            return self._bold if node.on_path else None
        if role == _ALIGN:
            return _RIGHT if Column.DURATION <= column <= Column.COST else None
        if role == BAR_ROLE:
            return self._bar(node)
        if role == _TOOLTIP:
            return self._tooltip(node, column)
        if role == SPAN_ROLE:
            return node.span
        if role == SPAN_ID_ROLE:
            return node.span.span_id  # type: ignore[union-attr]
        if role == ON_PATH_ROLE:
            return node.on_path
        if role == PROPOSER_ROLE:
            return node.proposer
        if role == MATCH_ROLE:
            return self._matches.get(node.order, 0)
        if role == ERROR_ROLE:
            return node.error
        return None

    @staticmethod
    def _display(node: SpanNode, column: int) -> str:
        span = node.span
        assert span is not None
        if column == Column.NAME:
            return name_text(node)
        if column == Column.KIND:
            return span.kind.value
        if column == Column.DURATION:
            return duration_text(span_duration(span))
        if column == Column.TOKENS:
            own = None if node.own_tokens is None else compact_count(node.own_tokens)
            total = (compact_count(node.sum_tokens)
                     if node.children and node.sum_tokens != (node.own_tokens or 0) else None)
            return own_and_total(own, total)
        if column == Column.COST:
            return cost_cell(node)
        if column == Column.STATUS:
            if node.error:
                return "error"
            return "running" if span.end_ns is None else one_line(span.status_code.lower(), 12)
        return ""

    def _bar(self, node: SpanNode) -> tuple[int, int | None, Any, bool]:
        span = node.span
        assert span is not None
        start = span.start_ns - self.tree.start_ns
        end = None if span.end_ns is None else max(start, span.end_ns - self.tree.start_ns)
        return (start, end, span.kind, node.error)

    def _tooltip(self, node: SpanNode, column: int) -> str | None:
        span = node.span
        assert span is not None
        lines = [one_line(span.name, 300)]
        if column == Column.TOKENS and node.sum_tokens:
            lines.append(f"Own: {span.prompt_tokens or 0:,} in → "
                         f"{span.completion_tokens or 0:,} out")
            if node.children:
                lines.append(f"With its children: {node.sum_tokens:,} tokens")
        elif column == Column.COST and (node.cost_known or node.unpriced):
            lines.append("Own: " + (f"${node.own_cost:,.6f}" if node.own_cost is not None
                                    else "no cost recorded (unknown, not free)"))
            if node.children and node.cost_known:
                lines.append(f"With its children: ${node.sum_cost:,.6f}")
            if node.unpriced:
                lines.append(f"{node.unpriced:,} model call(s) here carry no cost: "
                             "a sum over them is a lower bound.")
        elif column == Column.TIMELINE:
            offset = span.start_ns - self.tree.start_ns
            lines.append(f"starts at +{duration_text(offset)}, lasts "
                         f"{duration_text(span_duration(span))}")
        if node.proposer:
            lines.append("This span proposed the action.")
        elif node.on_path:
            lines.append("On the path to the span that proposed the action.")
        if node.retries:
            lines.append(f"Failed, then retried {node.retries} times.")
        elif node.attempt:
            lines.append(f"Retry {node.attempt} of a step that had failed.")
        if node.orphan:
            lines.append(f"Shown at the top level: {node.orphan}.")
        if node.error:
            lines.append(f"Error: {span.status_message or span.error_type or 'failed'}")
        return plain_tooltip("\n".join(lines), 800)
