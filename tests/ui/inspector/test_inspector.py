"""The trace inspector: the tree, the span detail (untrusted text shown literally),
search, the highlighted path to the proposing span, and opening a 10,000-span run."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from countersign.domain import SpanKind, SpanRecord
from countersign_ui.async_work import BackgroundWork
from countersign_ui.inspector import TraceInspector
from countersign_ui.inspector.span_tree import MATCH_ROLE, ON_PATH_ROLE, SPAN_ID_ROLE

from .runs import TRACE, agent_loop, ten_thousand

HOSTILE = "<b>x</b><img src=q>"


@pytest.fixture
def inspector(qtbot) -> TraceInspector:
    widget = TraceInspector()
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    return widget


def _llm(span_id: str, parent: str | None, content: str, **fields: object) -> SpanRecord:
    return SpanRecord(
        trace_id=TRACE, span_id=span_id, parent_span_id=parent, name="call_llm",
        kind=SpanKind.LLM, start_ns=10, end_ns=20, status_code=str(fields.pop("status", "ok")),
        status_message=fields.pop("message", None),  # type: ignore[arg-type]
        input_json=json.dumps({"messages": [{"role": "user", "content": content,
                                             "tool_calls": []}]}),
        output_json=json.dumps({"messages": [{"role": "assistant", "content": None,
                                              "tool_calls": [{"id": "c1", "name": "refund",
                                                              "arguments": {"to": HOSTILE}}]}]}),
        **fields)  # type: ignore[arg-type]


def test_shows_the_tree_and_selects_the_proposing_span(inspector, small_run, qtbot) -> None:
    spans, proposer = small_run
    with qtbot.waitSignal(inspector.spanSelected) as blocker:
        inspector.show_run(spans, highlight_span_id=proposer)
    assert blocker.args == [proposer]
    assert inspector.selected_span_id() == proposer
    assert inspector.model.rowCount() == 1
    assert len(inspector.run.nodes) == len(spans)
    assert inspector.detail.title.text().endswith("proposed the action")
    assert inspector.proposer_button.isEnabled()
    # the path root..proposer is marked, and only it
    by_id = {s.span_id: s for s in spans}
    path = set()
    walk: str | None = proposer
    while walk is not None:
        path.add(walk)
        walk = by_id[walk].parent_span_id
    marked = {n.span.span_id for n in inspector.run.nodes
              if inspector.model.index_of(n).data(ON_PATH_ROLE)}
    assert marked == path
    for span_id in path:  # every ancestor is expanded so the path is visible
        index = inspector.model.index_for_span(span_id)
        assert not index.parent().isValid() or inspector.tree.isExpanded(index.parent())


def test_retry_loop_banner(inspector, small_run) -> None:
    spans, proposer = small_run
    inspector.show_run(spans, highlight_span_id=proposer)
    assert not inspector.banner.isHidden()
    assert inspector.banner.text() == "Stuck in a retry loop: `call_llm` retried 7 times"
    inspector.show_run(agent_loop(2, words=5, retry_loop=0)[0])
    assert inspector.banner.isHidden()


def test_untrusted_text_is_shown_literally(inspector) -> None:
    spans = [_llm("a" * 16, None, f"please {HOSTILE}", status="error",
                  message=HOSTILE, error_type="Boom",
                  events_json=json.dumps([{"name": "exception", "time_ns": 15, "attributes": {
                      "exception.type": "Boom", "exception.message": HOSTILE,
                      "exception.stacktrace": "Traceback (most recent call last):\n  x"}}]))]
    inspector.show_run(spans, highlight_span_id="a" * 16)
    detail = inspector.detail
    assert "Conversation" in detail.tab_titles()
    shown = detail.conversation.shown_text()
    assert f"please {HOSTILE}" in shown
    assert "ASSISTANT — reply → calls refund (c1)" in shown
    assert HOSTILE in shown  # the tool call's JSON arguments
    assert HOSTILE in detail.error_banner.text()
    assert "Traceback (most recent call last):" in detail.errors.shown_text()
    assert detail.tabs.tabText(detail.tabs.currentIndex()) == "Error"
    for label in inspector.findChildren(QLabel):
        if "<" in label.text():
            assert label.textFormat() == Qt.TextFormat.PlainText, label.objectName()


def test_tool_and_retrieval_detail(inspector, small_run) -> None:
    spans, proposer = small_run
    inspector.show_run(spans, highlight_span_id=proposer)
    assert inspector.detail.tab_titles()[:2] == ["Arguments", "Result"]
    retrieval = next(s for s in spans if s.kind is SpanKind.RETRIEVER)
    assert inspector.select_span(retrieval.span_id)
    detail = inspector.detail
    assert detail.tab_titles()[0] == "Documents"
    docs = detail.documents
    assert docs.model.rowCount() == 3
    assert docs.query.text().startswith("Query: ")
    assert docs.content.shown_text()  # the first document, whole
    docs.table.setCurrentIndex(docs.model.index(2, 0))
    assert docs.content.shown_text() == json.loads(retrieval.output_json)["documents"][2][
        "content"]


def test_search_finds_highlights_and_jumps(inspector, small_run, qtbot) -> None:
    spans, proposer = small_run
    inspector.show_run(spans, highlight_span_id=proposer)
    bar = inspector.search_bar
    bar.field.setText("lookup_order")
    qtbot.waitUntil(lambda: bar.count.text() == "1 / 12")  # 6 tool spans + 6 LLM replies
    first = inspector.selected_span_id()
    assert inspector.model.index_for_span(first).data(MATCH_ROLE) == 2
    matched = [n for n in inspector.run.nodes if inspector.model.index_of(n).data(MATCH_ROLE)]
    assert len(matched) == 12
    qtbot.keyClick(bar.field, Qt.Key.Key_Return)
    assert bar.count.text() == "2 / 12"
    second = inspector.selected_span_id()
    assert second != first
    qtbot.keyClick(bar.field, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert bar.count.text() == "1 / 12"
    assert inspector.selected_span_id() == first
    qtbot.keyClick(bar.field, Qt.Key.Key_F3, Qt.KeyboardModifier.ShiftModifier)
    assert bar.count.text() == "12 / 12"  # wraps around
    bar.field.setText("no such thing anywhere")
    qtbot.waitUntil(lambda: bar.count.text() == "no matches")
    assert not any(inspector.model.index_of(n).data(MATCH_ROLE) for n in inspector.run.nodes)


def test_search_off_thread_on_a_big_run(qtbot, qasync_loop) -> None:
    work = BackgroundWork(qasync_loop)
    inspector = TraceInspector(work=work)
    qtbot.addWidget(inspector)
    spans, proposer = ten_thousand()
    inspector.show_run(spans, highlight_span_id=proposer)
    inspector.search.search_now("ratelimiterror")
    qtbot.waitUntil(lambda: inspector.search_bar.count.text() == "1 / 7", timeout=10_000)
    assert inspector.model.index_for_span(inspector.selected_span_id()).data(
        SPAN_ID_ROLE) == inspector.selected_span_id()
    work.shutdown()


def test_collapse_to_errors_and_jump_back(inspector, small_run) -> None:
    spans, proposer = small_run
    inspector.show_run(spans, highlight_span_id=proposer)
    inspector.collapse_to_errors()
    for node in inspector.run.nodes:
        if node.error:
            parent = inspector.model.index_of(node).parent()
            assert inspector.tree.isExpanded(parent)
    inspector.select_node(inspector.run.nodes[0])
    inspector.jump_to_proposer()
    assert inspector.selected_span_id() == proposer


def test_missing_proposer_is_said(inspector, small_run) -> None:
    spans, _ = small_run
    inspector.show_run(spans, highlight_span_id="f" * 16)
    assert "is not in this run" in inspector.summary.text()
    assert not inspector.proposer_button.isEnabled()
    inspector.clear()
    assert inspector.model.rowCount() == 0


def test_zoom_to_a_span_and_back(inspector, small_run) -> None:
    spans, proposer = small_run
    inspector.show_run(spans, highlight_span_id=proposer)
    header = inspector.tree.timeline_header
    assert not header.zoomed and inspector.zoom_button.isHidden()
    inspector.zoom_to_span(proposer)
    assert header.zoomed and not inspector.zoom_button.isHidden()
    assert header.high_ns - header.low_ns < inspector.run.duration_ns / 10
    inspector.reset_zoom()
    assert not header.zoomed


def test_ten_thousand_spans_open(inspector, qapp) -> None:  # its time: bench_inspector
    spans, proposer = ten_thousand()
    inspector.show()
    inspector.show_run(spans, highlight_span_id=proposer)
    qapp.processEvents()
    assert inspector.selected_span_id() == proposer
    assert len(inspector.run.nodes) == 10_000
