"""A run's spans as a tree, built once in O(n) from their parent links, with what the
inspector shows about each span precomputed: depth, token and cost roll-ups, retries,
the path to the span that proposed an action.

No Qt here: the tree is plain data, so it can be built (and tested) anywhere and the
item model stays a thin adapter over it.

Parent links are untrusted (they come from an agent or its tracer): a span whose
parent is not in the run is attached to the top level and flagged as an orphan, and
a parent cycle — impossible in a well-formed trace, but nothing guarantees one — is
broken where it is found, so every span is shown exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import attrgetter

from countersign.domain import SpanRecord

from .format import is_error, own_tokens

_START = attrgetter("start_ns")
#: Retries of one step from which the run is called stuck in a retry loop.
RETRY_LOOP_MIN = 3


class SpanNode:
    """One span in the tree (the invisible root has ``span`` None)."""

    __slots__ = (
        "attempt", "children", "cost_known", "depth", "error", "on_path", "order", "orphan",
        "own_cost", "own_tokens", "parent", "proposer", "retries", "row", "span", "sum_cost",
        "sum_tokens", "unpriced",
    )

    def __init__(self, span: SpanRecord | None) -> None:
        self.span = span
        self.parent: SpanNode | None = None
        self.children: list[SpanNode] = []
        self.row = 0
        self.depth = 0
        #: Position in display (pre-)order: search results are ordered by it.
        self.order = -1
        #: Why the span sits at the top level although it names a parent, or "".
        self.orphan = ""
        self.error = span is not None and is_error(span)
        self.own_tokens = None if span is None else own_tokens(span)
        self.own_cost = None if span is None else span.cost
        self.sum_tokens = self.own_tokens or 0
        self.sum_cost = self.own_cost or 0.0
        #: Whether this span or one below it carried a cost (else `sum_cost` is unknown).
        self.cost_known = self.own_cost is not None
        #: Model calls (spans with tokens) here and below that carried no cost: a sum
        #: over them is a lower bound, not a total.
        self.unpriced = int(self.own_cost is None and self.own_tokens is not None)
        #: On the first attempt of a retried step: how many retries followed.
        self.retries = 0
        #: On a retry: which one (1 for the first retry).
        self.attempt = 0
        self.on_path = False
        self.proposer = False


@dataclass(frozen=True)
class RetryLoop:
    """Consecutive sibling spans of one name, each after one that failed."""

    name: str
    retries: int
    first: SpanNode


@dataclass
class RunTree:
    root: SpanNode
    #: Every span's node in display order (parents before children, siblings by start).
    nodes: list[SpanNode]
    by_id: dict[str, SpanNode]
    start_ns: int
    end_ns: int
    proposer: SpanNode | None = None
    retry_loops: list[RetryLoop] = field(default_factory=list)
    errors: int = 0
    orphans: int = 0

    @property
    def total_tokens(self) -> int:
        return sum(node.sum_tokens for node in self.root.children)

    @property
    def total_cost(self) -> float | None:
        """The run's cost, None when no span carried one (unknown, not free)."""
        tops = self.root.children
        return sum(n.sum_cost for n in tops) if any(n.cost_known for n in tops) else None

    @property
    def unpriced(self) -> int:
        """Model calls of the run that carried no cost."""
        return sum(node.unpriced for node in self.root.children)

    @property
    def root_span(self) -> SpanNode | None:
        """The run's root: the top-level span that names no parent (None until it has
        arrived; orphans sit at the top level too, but name a parent)."""
        return next((n for n in self.root.children
                     if n.span is not None and not n.span.parent_span_id), None)

    @property
    def running(self) -> bool:
        """True until the root span has arrived with an end time (as `RunSummary.state`)."""
        root = self.root_span
        return bool(self.nodes) and (root is None or root.span is None
                                     or root.span.end_ns is None)

    @property
    def duration_ns(self) -> int:
        return max(0, self.end_ns - self.start_ns)

    def stuck_loop(self) -> RetryLoop | None:
        """The longest retry loop when it reaches `RETRY_LOOP_MIN` retries."""
        longest = max(self.retry_loops, key=lambda loop: loop.retries, default=None)
        return longest if longest is not None and longest.retries >= RETRY_LOOP_MIN else None


def build_run_tree(spans: Sequence[SpanRecord], highlight_span_id: str | None = None) -> RunTree:
    """The tree of ``spans``; ``highlight_span_id`` marks that span and its ancestors."""
    root = SpanNode(None)
    # Sorted once up front (input from the store is already in start order, which
    # Timsort checks in one pass), so children are appended in start order.
    nodes = [SpanNode(span) for span in sorted(spans, key=_START)]
    by_id: dict[str, SpanNode] = {}
    for node in nodes:
        by_id.setdefault(node.span.span_id, node)  # type: ignore[union-attr]
    for node in nodes:
        span = node.span
        assert span is not None
        parent_id = span.parent_span_id
        parent = by_id.get(parent_id) if parent_id else None
        if parent is None or parent is node:
            if parent_id and parent is None:
                node.orphan = f"its parent span {parent_id[:32]} is not in this run"
            elif parent is node:
                node.orphan = "it names itself as its parent"
            parent = root
        node.parent = parent
        parent.children.append(node)
    ordered = _preorder(root)
    if len(ordered) < len(nodes):  # some spans are unreachable: they sit on a cycle
        _break_cycles(root, nodes)
        ordered = _preorder(root)
    _roll_up(ordered)
    tree = RunTree(root=root, nodes=ordered, by_id=by_id, start_ns=0, end_ns=0)
    _find_retries(tree)
    starts = [n.span.start_ns for n in ordered]  # type: ignore[union-attr]
    ends = [n.span.end_ns or n.span.start_ns for n in ordered]  # type: ignore[union-attr]
    tree.start_ns = min(starts, default=0)
    tree.end_ns = max(ends, default=0)
    tree.errors = sum(1 for n in ordered if n.error)
    tree.orphans = sum(1 for n in ordered if n.orphan)
    proposer = by_id.get(highlight_span_id) if highlight_span_id else None
    if proposer is not None:
        tree.proposer = proposer
        proposer.proposer = True
        walk: SpanNode | None = proposer
        while walk is not None and walk is not root:
            walk.on_path = True
            walk = walk.parent
    return tree


def _break_cycles(root: SpanNode, nodes: list[SpanNode]) -> None:
    """Nodes not reachable from the root sit on (or hang below) a parent cycle: cut
    the first such node loose from its parent and attach it to the top level."""
    seen: set[int] = {id(root)}
    stack = [root]
    while stack:
        for child in stack.pop().children:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    if len(seen) == len(nodes) + 1:
        return
    for node in nodes:
        if id(node) in seen:
            continue
        assert node.parent is not None
        node.parent.children.remove(node)
        node.parent = root
        node.orphan = "its parent links form a cycle"
        root.children.append(node)
        root.children.sort(key=lambda n: n.span.start_ns if n.span is not None else 0)
        seen.add(id(node))
        stack = [node]
        while stack:
            for child in stack.pop().children:
                if id(child) not in seen:
                    seen.add(id(child))
                    stack.append(child)


def _preorder(root: SpanNode) -> list[SpanNode]:
    ordered: list[SpanNode] = []
    stack = list(reversed(root.children))
    for row, child in enumerate(root.children):
        child.row = row
    while stack:
        node = stack.pop()
        node.order = len(ordered)
        ordered.append(node)
        if node.children:
            depth = node.depth + 1
            for row, child in enumerate(node.children):
                child.row = row
                child.depth = depth
            stack.extend(reversed(node.children))
    return ordered


def _roll_up(ordered: list[SpanNode]) -> None:
    """Children come after their parent in pre-order, so walking backwards adds each
    node's finished totals to its parent exactly once."""
    for node in reversed(ordered):
        parent = node.parent
        if parent is not None and parent.span is not None:
            parent.sum_tokens += node.sum_tokens
            parent.sum_cost += node.sum_cost
            parent.cost_known = parent.cost_known or node.cost_known
            parent.unpriced += node.unpriced


def _find_retries(tree: RunTree) -> None:
    for parent in (tree.root, *tree.nodes):
        kids = parent.children
        i = 0
        while i < len(kids) - 1:
            name = kids[i].span.name  # type: ignore[union-attr]
            j = i
            while (j + 1 < len(kids) and kids[j].error
                   and kids[j + 1].span.name == name):  # type: ignore[union-attr]
                j += 1
            if j > i:
                kids[i].retries = j - i
                for attempt in range(1, j - i + 1):
                    kids[i + attempt].attempt = attempt
                tree.retry_loops.append(RetryLoop(name, j - i, kids[i]))
            i = j + 1
