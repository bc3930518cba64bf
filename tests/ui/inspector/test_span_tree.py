"""The span tree: built once from parent links (orphans and cycles included), token
and cost roll-ups, retry detection, and the model's contract (qtmodeltester)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt

from countersign.domain import SpanKind, SpanRecord
from countersign_ui.inspector.run_tree import build_run_tree
from countersign_ui.inspector.span_tree import (
    BAR_ROLE,
    ON_PATH_ROLE,
    PROPOSER_ROLE,
    SPAN_ID_ROLE,
    Column,
    SpanTreeModel,
)

from .runs import TRACE, agent_loop, ten_thousand


def span(span_id: str, parent: str | None, name: str = "step", *, start: int = 0,
         end: int | None = 10, kind: SpanKind = SpanKind.CHAIN, status: str = "ok",
         tokens: tuple[int, int] | None = None, cost: float | None = None) -> SpanRecord:
    return SpanRecord(
        trace_id=TRACE, span_id=span_id, parent_span_id=parent, name=name, kind=kind,
        start_ns=start, end_ns=end, status_code=status, status_message=None,
        prompt_tokens=tokens[0] if tokens else None,
        completion_tokens=tokens[1] if tokens else None, cost=cost)


def test_model_contract_small(qtmodeltester, small_run: tuple[list[SpanRecord], str]) -> None:
    spans, proposer = small_run
    model = SpanTreeModel()
    model.set_spans(spans, proposer)
    qtmodeltester.check(model)
    assert model.rowCount() == 1  # the agent's root span
    assert model.rowCount(model.index(0, 0)) == 6  # six iterations


def test_model_contract_empty(qtmodeltester) -> None:
    model = SpanTreeModel()
    model.set_spans([])
    qtmodeltester.check(model)
    assert model.rowCount() == 0


def test_orphans_and_cycles_are_shown_once_at_the_top(qtmodeltester) -> None:
    spans = [
        span("r", None, "root", start=0, end=100),
        span("a", "r", "child", start=1),
        span("o", "missing", "orphan", start=2),
        span("s", "s", "self parent", start=3),
        span("c1", "c2", "cycle one", start=4),
        span("c2", "c1", "cycle two", start=5),
        span("c3", "c2", "below the cycle", start=6),
    ]
    tree = build_run_tree(spans)
    assert len(tree.nodes) == len(spans)
    assert sorted(n.span.span_id for n in tree.nodes) == sorted(s.span_id for s in spans)
    top = [n.span.name for n in tree.root.children]
    assert top == ["root", "orphan", "self parent", "cycle one"]
    assert "not in this run" in tree.by_id["o"].orphan
    assert tree.by_id["c1"].orphan and not tree.by_id["c2"].orphan
    assert tree.by_id["c3"].parent is tree.by_id["c2"]
    assert tree.orphans == 3
    model = SpanTreeModel()
    model.set_tree(tree)
    qtmodeltester.check(model)
    orphan = model.index(1, 0)
    assert "⚠ orphan" in orphan.data()


def test_model_contract_ten_thousand_spans(qtmodeltester) -> None:
    spans, proposer = ten_thousand()
    tree = build_run_tree(spans, proposer)  # its time: bench_inspector
    assert len(tree.nodes) == 10_000
    model = SpanTreeModel()
    model.set_tree(tree)
    qtmodeltester.check(model)


def test_rollups_add_children_to_parents() -> None:
    spans = [
        span("r", None, "root", start=0, end=100, tokens=(100, 10), cost=0.01),
        span("a", "r", "a", start=1, tokens=(1000, 200), cost=0.5),
        span("b", "r", "b", start=2),
        span("b1", "b", "b1", start=3, tokens=(14_000, 0), cost=1.0),
    ]
    tree = build_run_tree(spans)
    root, b = tree.by_id["r"], tree.by_id["b"]
    assert root.own_tokens == 110
    assert root.sum_tokens == 110 + 1200 + 14_000
    assert root.sum_cost == pytest.approx(1.51)
    assert b.own_tokens is None and b.sum_tokens == 14_000
    model = SpanTreeModel()
    model.set_tree(tree)
    top = model.index(0, Column.TOKENS)
    assert top.data() == "110 (Σ 15.3k)"
    assert model.index(0, Column.COST).data() == "$0.01 (Σ $1.51)"
    b_row = model.index(1, Column.TOKENS, model.index(0, 0))
    assert b_row.data() == "Σ 14.0k"
    leaf = model.index(0, Column.TOKENS, model.index(0, 0))
    assert leaf.data() == "1.2k"


def test_children_are_ordered_by_start_whatever_the_input_order() -> None:
    spans = [span("r", None, start=0, end=100), span("late", "r", "late", start=50),
             span("early", "r", "early", start=5)]
    tree = build_run_tree(list(reversed(spans)))
    assert [n.span.name for n in tree.by_id["r"].children] == ["early", "late"]
    assert [n.order for n in tree.nodes] == [0, 1, 2]


def test_retries_are_marked_and_a_loop_is_named(small_run) -> None:
    spans, _ = small_run
    tree = build_run_tree(spans)
    loop = tree.stuck_loop()
    assert loop is not None
    assert (loop.name, loop.retries) == ("call_llm", 7)
    first = loop.first
    siblings = first.parent.children
    attempts = [n.attempt for n in siblings if n.span.name == "call_llm"]
    assert attempts == [0, 1, 2, 3, 4, 5, 6, 7]
    model = SpanTreeModel()
    model.set_tree(tree)
    assert model.index_of(first).data().endswith("↻ retry ×7")
    assert model.index_of(siblings[3]).data().endswith("↻ retry 3")
    assert model.index_of(first).data(Qt.ItemDataRole.ForegroundRole) is not None


def test_same_name_siblings_that_succeeded_are_not_retries() -> None:
    spans = [span("r", None, start=0, end=100)] + [
        span(f"t{i}", "r", "search", start=i + 1) for i in range(4)]
    tree = build_run_tree(spans)
    assert tree.retry_loops == []
    # two failures then a success is a retry ×2 — below the loop threshold
    spans = [span("r", None, start=0, end=100),
             span("x1", "r", "fetch", start=1, status="error"),
             span("x2", "r", "fetch", start=2, status="error"),
             span("x3", "r", "fetch", start=3),
             span("x4", "r", "fetch", start=4)]
    tree = build_run_tree(spans)
    assert [(loop.name, loop.retries) for loop in tree.retry_loops] == [("fetch", 2)]
    assert tree.stuck_loop() is None
    assert tree.by_id["x4"].attempt == 0


def test_path_to_the_proposing_span(small_run) -> None:
    spans, proposer = small_run
    model = SpanTreeModel()
    model.set_spans(spans, proposer)
    on_path = []
    stack = [QModelIndex()]
    while stack:
        parent = stack.pop()
        for row in range(model.rowCount(parent)):
            index = model.index(row, 0, parent)
            if index.data(ON_PATH_ROLE):
                on_path.append(index.data(SPAN_ID_ROLE))
            stack.append(index)
    by_id = {s.span_id: s for s in spans}
    expected = []
    walk: str | None = proposer
    while walk is not None:
        expected.append(walk)
        walk = by_id[walk].parent_span_id
    assert sorted(on_path) == sorted(expected)
    index = model.index_for_span(proposer)
    assert index.data(PROPOSER_ROLE) is True
    assert index.data(Qt.ItemDataRole.FontRole).bold()
    assert index.data(Qt.ItemDataRole.BackgroundRole) is not None


def test_bar_positions_are_relative_to_the_run() -> None:
    spans = [span("r", None, start=1000, end=2000), span("a", "r", start=1500, end=None)]
    model = SpanTreeModel()
    model.set_spans(spans)
    root = model.index(0, Column.TIMELINE)
    assert root.data(BAR_ROLE)[:2] == (0, 1000)
    running = model.index(0, Column.TIMELINE, model.index(0, 0))
    assert running.data(BAR_ROLE)[:2] == (500, None)
    assert model.index(0, Column.DURATION, model.index(0, 0)).data() == "running"


def test_agent_loop_has_the_expected_shape() -> None:
    spans, proposer = agent_loop(3, words=5, retry_loop=0)
    tree = build_run_tree(spans, proposer)
    assert len(tree.nodes) == 1 + 3 * 5
    assert max(n.depth for n in tree.nodes) == 3
    assert tree.proposer is not None and tree.proposer.span.kind is SpanKind.TOOL
