"""ActionDetailPane's contract with the Queue workspace: states, verdict buttons,
raw arguments, the deadline countdown, and big actions (their speed: bench_ui)."""

from __future__ import annotations

from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from countersign.domain import ActionDetail, ActionState, SpanRecord
from countersign.gate.steps import Message, Step, steps_to_spans
from countersign_ui.queue.detail import ActionDetailPane, RawArguments
from countersign_ui.queue.detail.pane import EMPTY_TEXT

from .samples import parsed, refund_detail


def make_pane(qtbot: QtBot) -> ActionDetailPane:
    pane = ActionDetailPane()
    qtbot.addWidget(pane)
    return pane


def test_empty_loading_and_shown(qtbot: QtBot, detail: ActionDetail,
                                 chain: tuple[list[SpanRecord], str]) -> None:
    pane = make_pane(qtbot)
    assert pane.message.text() == EMPTY_TEXT
    pane.show_loading()
    assert "Loading" in pane.message.text()
    pane.show_action(detail, chain[0], parsed(detail))
    assert pane.stack.currentWidget() is pane.splitter
    assert pane.action.action_class.text() == "issue_refund"
    assert pane.action.risk_badge.text() == "HIGH RISK"
    assert pane.action.autonomy.text() == "L1 supervised"
    assert "refund-agent · version 1.4.2" in pane.action.agent.text()
    pane.clear()
    assert pane.stack.currentWidget() is pane.message
    assert not any(b.isEnabled() for b in pane.action.buttons.values())


def test_buttons_emit_verdicts_and_follow_allowed_and_busy(
        qtbot: QtBot, detail: ActionDetail, chain: tuple[list[SpanRecord], str]) -> None:
    pane = make_pane(qtbot)
    pane.show_action(detail, chain[0], parsed(detail))
    buttons = {b.objectName(): b for b in pane.findChildren(QPushButton) if b.objectName()}
    for verdict, key in (("approve", "A"), ("edit", "E"), ("reject", "R"), ("respond", "S")):
        button = buttons[f"{verdict}Button"]
        assert f"[{key}]" in button.text() and f"shortcut {key}" in button.toolTip()
        with qtbot.waitSignal(pane.verdict_requested) as blocker:
            button.click()
        assert blocker.args == [verdict]
    pane.set_allowed({"approve", "reject"})
    assert [v for v, b in pane.action.buttons.items() if b.isEnabled()] == ["approve", "reject"]
    pane.set_busy(True, "Deciding…")
    assert not any(b.isEnabled() for b in pane.action.buttons.values())
    assert pane.action.busy_label.text() == "Deciding…"
    pane.set_busy(False)
    assert pane.action.buttons["approve"].isEnabled()


def test_decided_actions_allow_no_verdict(qtbot: QtBot,
                                          chain: tuple[list[SpanRecord], str]) -> None:
    pane = make_pane(qtbot)
    detail = refund_detail(chain[1], state=ActionState.DECIDED)
    pane.show_action(detail, chain[0], parsed(detail))
    assert not any(b.isEnabled() for b in pane.action.buttons.values())
    assert not pane.action.state_chip.isHidden()


def test_raw_arguments_are_shown_as_text_with_the_reason(qtbot: QtBot) -> None:
    pane = make_pane(qtbot)
    detail = refund_detail(None)
    raw = '{"a": [[[[ <b>unparsed</b>'
    pane.show_action(detail, [], RawArguments(raw, "nested deeper than 200 levels"))
    view = pane.action.arguments
    assert view.currentIndex() == 1
    assert view.reason_label.text() == "nested deeper than 200 levels"
    assert view.raw_text.shown_text() == raw


def test_deadline_counts_down(qtbot: QtBot) -> None:
    pane = make_pane(qtbot)
    detail = refund_detail(None, deadline_in=3.5)
    pane.show_action(detail, [], parsed(detail))
    first = pane.action.deadline_label.text()
    assert first.startswith("Decide within")
    qtbot.waitUntil(lambda: pane.action.deadline_label.text() != first, timeout=2500)
    pane.show_action(refund_detail(None, deadline_in=None), [], parsed(detail))
    assert pane.action.deadline_label.text() == "No deadline"
    pane.show_action(refund_detail(None, deadline_in=-75), [], parsed(detail))
    assert pane.action.deadline_label.text() == "Deadline passed 1m 15s ago"


def test_megabyte_arguments_and_200_steps_show(  # its time: bench_ui
        qtbot: QtBot, chain: tuple[list[SpanRecord], str]) -> None:
    spans, proposer = chain
    steps = [Step(name=f"step {i}", messages=[Message(role="user", content="hi " * 300)],
                  prompt_tokens=10, completion_tokens=2, duration_s=0.01) for i in range(195)]
    spans = spans + steps_to_spans(steps, trace_id=spans[0].trace_id,
                                   parent_span_id=spans[0].span_id, agent="a")
    arguments = {"blob": "x" * 1_000_000,
                 "items": [{"sku": f"SKU-{i}", "qty": i} for i in range(20_000)]}
    detail = refund_detail(proposer, arguments=arguments)
    pane = make_pane(qtbot)
    pane.resize(1440, 900)
    pane.show()
    pane.show_action(detail, spans, arguments)
    pane.repaint()
    assert pane.stack.currentWidget() is pane.splitter
    assert pane.action.buttons["approve"].isVisible()
