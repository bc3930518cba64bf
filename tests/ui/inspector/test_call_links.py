"""Between a tool span and the LLM call that asked for it, by tool call id: the links
under the span's header, and Ctrl+L from the keyboard, both ways."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from countersign.domain import SpanKind, SpanRecord
from countersign_ui.inspector import TraceInspector
from countersign_ui.inspector.call_links import requesting_call, tool_calls

from .runs import TRACE, agent_loop


@pytest.fixture
def inspector(qtbot: QtBot) -> TraceInspector:
    widget = TraceInspector()
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is widget)
    return widget


def _llm(i: int, attempt: int = 0) -> str:
    return f"{i:08x}1{attempt:07x}"


def _tool(i: int) -> str:
    return f"{i:08x}20000000"


def _ctrl_l(qtbot: QtBot, inspector: TraceInspector) -> None:
    inspector.tree.setFocus()
    qtbot.keyClick(inspector.tree, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)


def test_from_a_tool_span_to_its_llm_call_and_back_by_keyboard(
        qtbot: QtBot, inspector: TraceInspector, small_run) -> None:
    spans, _proposer = small_run
    inspector.show_run(spans)
    assert inspector.select_span(_tool(2))
    links = inspector.detail.links
    assert not links.isHidden() and links.title.text() == "Asked for by"
    assert [b.text() for b in links.buttons] == ["↑ call_llm"]
    _ctrl_l(qtbot, inspector)
    assert inspector.selected_span_id() == _llm(2)
    assert links.title.text() == "Its tool calls"
    assert [b.text() for b in links.buttons] == ["↓ lookup_order"]
    _ctrl_l(qtbot, inspector)
    assert inspector.selected_span_id() == _tool(2)


def test_a_retried_call_links_to_the_attempt_that_asked(inspector: TraceInspector,
                                                        small_run) -> None:
    spans, _ = small_run
    inspector.show_run(spans)
    node = inspector.run.by_id[_tool(3)]  # iteration 4: 7 failed attempts, then one
    asker = requesting_call(inspector.run, node)
    assert asker is not None and asker.span is not None
    assert asker.span.span_id == _llm(3, 7) and asker.span.status_code == "ok"
    inspector.select_span(_tool(3))
    inspector.detail.links.buttons[0].click()
    assert inspector.selected_span_id() == _llm(3, 7)


def test_a_tool_call_without_a_tool_span_is_shown_and_cannot_be_followed(
        inspector: TraceInspector) -> None:
    reply = {"messages": [{"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_a", "name": "lookup_order", "arguments": {"order_id": "1"}},
        {"id": "call_<b>", "name": "<b>refund</b>", "arguments": {}}]}]}
    llm = SpanRecord(trace_id=TRACE, span_id="1" * 16, parent_span_id=None, name="call_llm",
                     kind=SpanKind.LLM, start_ns=0, end_ns=10, status_code="ok",
                     status_message=None, output_json=json.dumps(reply))
    tool = SpanRecord(trace_id=TRACE, span_id="2" * 16, parent_span_id=None,
                      name="lookup_order", kind=SpanKind.TOOL, start_ns=11, end_ns=20,
                      status_code="ok", status_message=None, input_json=json.dumps(
                          {"tool": "lookup_order", "call_id": "call_a", "arguments": {}}))
    inspector.show_run([llm, tool])
    found = tool_calls(inspector.run, inspector.run.by_id[llm.span_id])
    assert [(link.call_id, link.node is not None) for link in found] == [
        ("call_a", True), ("call_<b>", False)]
    inspector.select_span(llm.span_id)
    buttons = inspector.detail.links.buttons
    assert [b.text() for b in buttons] == ["↓ lookup_order", "<b>refund</b> (not run)"]
    assert buttons[0].isEnabled() and not buttons[1].isEnabled()
    assert "&lt;b&gt;" in buttons[1].toolTip() and "<b>" not in buttons[1].toolTip()


def test_spans_without_call_ids_have_no_links(inspector: TraceInspector) -> None:
    """The gate's tool steps carry no call id: nothing to link, nothing shown."""
    spans, _ = agent_loop(1, words=3, retry_loop=0)
    gate_like = [s.model_copy(update={"input_json": json.dumps(
        {"tool": "lookup_order", "arguments": {}})}) if s.kind is SpanKind.TOOL else s
                 for s in spans]
    inspector.show_run(gate_like)
    inspector.select_span(_tool(0))
    assert inspector.detail.links.isHidden()
    assert not inspector.jump_to_linked_call()
    assert inspector.selected_span_id() == _tool(0)
