"""The Queue's History: decided, expired and withdrawn actions can be seen (who decided
what and when, the edit's diff, the delivery), and an action that expires or is
withdrawn while the operator looks elsewhere is announced and counted, not silently
removed."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from countersign.domain import EditSeverity, Verdict
from countersign.services.decisions import DecisionService
from countersign.session import Services
from countersign.store.engine import Store
from countersign_ui.main_window import MainWindow
from countersign_ui.queue.columns import Column

from .conftest import queue_of, traces_of
from .test_queue_e2e import (  # the window, agents and keyboard helpers of the Queue e2e
    WAIT_MS,
    Agents,
    agents,  # noqa: F401 - fixture
    ask_in_order,
    press,
    services,  # noqa: F401 - fixture
    store,  # noqa: F401 - fixture
    window,  # noqa: F401 - fixture
)

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def history_texts(window: MainWindow) -> dict[int, str]:  # noqa: F811
    model = queue_of(window).history.model
    return {model.ids()[row]: model.index(row, Column.STATE).data()
            for row in range(model.rowCount())}


def test_history_shows_who_decided_what_the_edit_and_the_delivery(
        qtbot: QtBot, window: MainWindow, agents: Agents, store: Store,  # noqa: F811
        services: Services) -> None:  # noqa: F811
    approved, edited, rejected, expiring, withdrawn, waiting = ask_in_order(
        qtbot, window, agents,
        ("a", "billing-bot", "issue_refund", {"order": "A-1", "amount_cents": 100}),
        ("e", "billing-bot", "issue_refund", {"order": "A-2", "amount_cents": 4000}),
        ("r", "ops-agent", "restart_service", {"service": "payments"}),
        ("x", "triage", "close_ticket", {"ticket": 7}),
        ("w", "triage", "close_ticket", {"ticket": 8}),
        ("p", "triage", "close_ticket", {"ticket": 9}))
    decisions = DecisionService(store)
    decisions.decide(approved, Verdict.APPROVE, reviewer="bob")
    decisions.decide(edited, Verdict.EDIT, reviewer="ann",
                     arguments={"order": "A-2", "amount_cents": 2500},
                     severity=EditSeverity.MATERIAL)
    decisions.decide(rejected, Verdict.REJECT, reviewer="bob", reason="Not at 3 a.m.")
    decisions.decide(expiring, Verdict.EXPIRE, reviewer="system")
    services.actions.withdraw(withdrawn, reason="the run resumed elsewhere", actor="langgraph")
    for key in ("a", "e", "r"):
        qtbot.waitUntil(lambda key=key: agents.tasks[key].done(), timeout=WAIT_MS)
    queue = queue_of(window)
    qtbot.waitUntil(lambda: queue.model.ids() == [waiting], timeout=WAIT_MS)
    queue.focus_list()

    press(qtbot, window, Qt.Key.Key_H)
    assert queue.history_on and window.commands["queue.history"].isChecked()
    qtbot.waitUntil(lambda: queue.history.model.rowCount() == 5, timeout=WAIT_MS)
    assert QApplication.focusWidget() is queue.history.view
    qtbot.waitUntil(lambda: history_texts(window)[approved].endswith("delivered"),
                    timeout=WAIT_MS)
    texts = history_texts(window)
    assert texts[approved] == "approved · bob · delivered"
    assert texts[edited] == "edited · ann · delivered"
    assert texts[rejected].startswith("rejected · bob")
    assert texts[expiring] == "expired"
    assert texts[withdrawn] == "withdrawn"
    assert waiting not in texts
    assert queue.filter_bar.count.text() == "5 in history"
    assert not window.commands["verdict.approve"].isEnabled()

    def shown(action_id: int) -> str:
        qtbot.waitUntil(lambda: queue.loaded is not None
                        and queue.loaded.detail.id == action_id, timeout=WAIT_MS)
        return queue.pane.action.decision.text()

    assert queue.select_action(edited)
    text = shown(edited)
    assert "Edited, then approved by ann" in text
    assert "Edit judged material" in text
    assert "Delivery: delivered to the agent" in text
    assert '-  "amount_cents": 4000' in text and '+  "amount_cents": 2500' in text
    assert not any(b.isEnabled() for b in queue.pane.action.buttons.values())
    assert queue.select_action(rejected)
    text = shown(rejected)
    assert "Rejected by bob" in text and "Not at 3 a.m." in text
    assert queue.select_action(withdrawn)
    assert "the run resumed elsewhere" in shown(withdrawn)

    # A verdict given now appears in the History as it happens; H returns to the queue.
    press(qtbot, window, Qt.Key.Key_H)
    assert not queue.history_on
    qtbot.waitUntil(lambda: queue.loaded is not None
                    and queue.loaded.detail.id == waiting, timeout=WAIT_MS)
    decisions.decide(waiting, Verdict.APPROVE, reviewer="bob")
    qtbot.waitUntil(lambda: waiting in history_texts(window), timeout=WAIT_MS)


def test_expired_and_withdrawn_actions_are_announced_not_silently_removed(
        qtbot: QtBot, window: MainWindow, agents: Agents, store: Store,  # noqa: F811
        services: Services) -> None:  # noqa: F811
    reading, leaving, expiring, staying = ask_in_order(
        qtbot, window, agents,
        ("read", "billing-bot", "issue_refund", {"order": "A-1", "amount_cents": 1}),
        ("gone", "triage", "close_ticket", {"ticket": 1}),
        ("late", "triage", "close_ticket", {"ticket": 2}),
        ("stay", "triage", "close_ticket", {"ticket": 3}))
    queue = queue_of(window)
    qtbot.waitUntil(lambda: queue.loaded is not None, timeout=WAIT_MS)
    services.actions.withdraw(leaving, reason="resumed elsewhere", actor="langgraph")
    qtbot.waitUntil(lambda: queue.model.get(leaving) is None, timeout=WAIT_MS)
    assert window.statusBar().currentMessage() == (
        f"Withdrawn by its source: triage · close_ticket (#{leaving}) — History (H) shows it")
    assert window.commands["queue.history"].text() == "&History (1 new)"
    assert queue.history_button.text().replace("&", "") == "History (1 new)"

    # Elsewhere (Traces) when an action expires: told on coming back.
    press(qtbot, window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.current_workspace is traces_of(window)
    DecisionService(store).decide(expiring, Verdict.EXPIRE, reviewer="system",
                                  idempotency_key=f"expire-{expiring}")
    qtbot.waitUntil(lambda: queue.model.get(expiring) is None, timeout=WAIT_MS)
    assert window.commands["queue.history"].text() == "&History (2 new)"
    press(qtbot, window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert queue.banner.text == ("While you were away, 1 action expired. "
                                 "History (H) shows them.")
    assert queue.banner.button.text() == "Show history"
    queue.banner.button.click()
    assert queue.history_on
    assert window.commands["queue.history"].text() == "&History"
    qtbot.waitUntil(lambda: {leaving, expiring} <= set(history_texts(window)),
                    timeout=WAIT_MS)
    assert queue.model.get(reading) is not None and queue.model.get(staying) is not None


def test_the_history_of_an_empty_store_says_so(qtbot: QtBot, window: MainWindow) -> None:  # noqa: F811
    queue = queue_of(window)
    qtbot.waitUntil(lambda: "No pending actions" in queue.placeholder.text(), timeout=WAIT_MS)
    queue.show_history(True)
    qtbot.waitUntil(lambda: "Nothing decided yet" in queue.placeholder.text(), timeout=WAIT_MS)
