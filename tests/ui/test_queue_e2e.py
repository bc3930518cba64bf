"""End to end: real agents ask through the gate SDK, a real MainWindow on a temporary
SQLite store, and the reviewer decides everything from the keyboard."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QPlainTextEdit, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from countersign.gate import Gate, GateVerdict, Step
from countersign.services.decisions import DecisionService
from countersign.session import Services
from countersign.store.engine import Store
from countersign_ui.async_work import BackgroundWork
from countersign_ui.main_window import MainWindow
from countersign_ui.queue.verdicts import record_verdict

from .conftest import alive, dispose, open_test_services, queue_of

REFUND_SCHEMA = {
    "type": "object",
    "properties": {
        "order": {"type": "string"},
        "amount_cents": {"type": "integer", "minimum": 1, "maximum": 5000},
    },
    "required": ["order", "amount_cents"],
    "additionalProperties": False,
}
WAIT_MS = 10_000

# The offscreen platform warns about window hints it cannot honour; nothing to fix.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def services(tmp_path: Any) -> Iterator[Services]:
    opened = open_test_services(tmp_path / "s.db", reviewer="ann")
    yield opened
    opened.close()


@pytest.fixture
def store(services: Services) -> Store:
    return services.store


@pytest.fixture
def window(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop,
           services: Services) -> Iterator[MainWindow]:
    work = BackgroundWork(qasync_loop)
    win = MainWindow(work)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win, timeout=WAIT_MS)
    win.attach(services)
    yield win
    if alive(win):
        win.shutdown()
    work.shutdown()
    dispose(win)


class Agents:
    """Agents asking on the qasync loop; their verdicts land in ``verdicts``."""

    def __init__(self, store: Store, loop: asyncio.AbstractEventLoop) -> None:
        self.store = store
        self.loop = loop
        self.tasks: dict[str, asyncio.Task[GateVerdict]] = {}
        self.gates: list[Gate] = []

    def ask(self, key: str, agent: str, action: str, arguments: Any, **kwargs: Any) -> None:
        gate = Gate(self.store, agent=agent, agent_version="1.0", poll_interval=0.02)
        self.gates.append(gate)
        self.tasks[key] = self.loop.create_task(gate.request_approval(
            action, arguments,
            reasoning=[Step(name="plan", kind="llm", input="what next?", output=action)],
            **kwargs))

    def verdict(self, key: str) -> GateVerdict:
        return self.tasks[key].result()

    def close(self) -> None:
        for task in self.tasks.values():
            task.cancel()
        for gate in self.gates:
            gate.close()


@pytest.fixture
def agents(store: Store, qasync_loop: asyncio.AbstractEventLoop) -> Iterator[Agents]:
    fleet = Agents(store, qasync_loop)
    yield fleet
    fleet.close()


def press(qtbot: QtBot, window: MainWindow, key: Qt.Key,
          modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """A key press where the reviewer's focus is (the list, normally)."""
    target = QApplication.focusWidget() or window
    qtbot.keyClick(target, key, modifier)


def while_dialog_open(qtbot: QtBot, name: str, drive: Callable[[QDialog], None]) -> None:
    """Run ``drive`` on the modal dialog the next key press opens (its ``exec()``
    blocks the test until it closes). A failure closes the dialog, then re-raises."""

    def run() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, QDialog) and dialog.objectName() == name, dialog
        try:
            # Offscreen windows are not activated by the platform: do what a window
            # manager would, so the dialog's own shortcuts (Ctrl+Enter) work.
            dialog.activateWindow()
            qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog, timeout=WAIT_MS)
            drive(dialog)
        finally:
            if dialog.isVisible():
                dialog.reject()

    QTimer.singleShot(0, run)


def retype(qtbot: QtBot, editor: QWidget, text: str) -> None:
    qtbot.keyClick(editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(editor, text)


def current(window: MainWindow) -> int | None:
    return queue_of(window).current_id()


def ready(window: MainWindow, action_id: int) -> bool:
    """``action_id`` is on screen, its verdicts enabled, and it has been on screen
    long enough (the dwell) for a verdict key to count."""
    queue = queue_of(window)
    loaded = queue.loaded
    return loaded is not None and loaded.detail.id == action_id and \
        window.commands["verdict.approve"].isEnabled() and queue.flow.guard.settled()


def ask_in_order(qtbot: QtBot, window: MainWindow, agents: Agents,
                 *asks: tuple[str, str, str, Any]) -> list[int]:
    """Ask one by one, each visible before the next, so list order = ask order."""
    model = queue_of(window).model
    for key, agent, action, arguments in asks:
        before = model.rowCount()
        agents.ask(key, agent, action, arguments)
        qtbot.waitUntil(lambda before=before: model.rowCount() == before + 1,
                        timeout=WAIT_MS)
    return model.ids()


def test_keyboard_verdicts_reach_each_agent(qtbot: QtBot, window: MainWindow,
                                            agents: Agents) -> None:
    model = queue_of(window).model
    asks: list[tuple[str, str, str, Any, dict[str, Any]]] = [
        ("approve", "billing-bot", "issue_refund", {"order": "A-1", "amount_cents": 1200},
         {"schema": REFUND_SCHEMA, "risk": "medium"}),
        ("edit", "billing-bot", "issue_refund", {"order": "A-2", "amount_cents": 4000},
         {"schema": REFUND_SCHEMA, "risk": "high"}),
        ("reject", "ops-agent", "restart_service", {"service": "payments"},
         {"risk": "critical"}),
        ("respond", "triage", "close_ticket", {"ticket": 991}, {"risk": "low"}),
    ]
    for n, (key, agent, action, arguments, kwargs) in enumerate(asks, start=1):
        agents.ask(key, agent, action, arguments, **kwargs)
        qtbot.waitUntil(lambda n=n: model.rowCount() == n, timeout=WAIT_MS)
    ids = model.ids()
    assert len(ids) == 4
    qtbot.waitUntil(lambda: current(window) == ids[0] and ready(window, ids[0]),
                    timeout=WAIT_MS)
    queue_of(window).focus_list()

    # A: approve, no dialog.
    press(qtbot, window, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: agents.tasks["approve"].done(), timeout=WAIT_MS)
    assert agents.verdict("approve").outcome == "approve"
    assert agents.verdict("approve").decided_by == "ann"
    qtbot.waitUntil(lambda: current(window) == ids[1] and ready(window, ids[1]),
                    timeout=WAIT_MS)
    assert model.row_of(ids[0]) is None

    # E: an edit that breaks the schema is refused in the dialog, then fixed.
    def edit(dialog: QDialog) -> None:
        editor = dialog.findChild(QPlainTextEdit, "argumentsEditor")
        ok = dialog.findChild(QPushButton, "okButton")
        assert editor is not None and ok is not None
        retype(qtbot, editor, '{"order": "A-2", "amount_cents": 9000}')
        qtbot.waitUntil(lambda: "9000" in dialog.findChild(QWidget, "problemsLabel")
                        .text(), timeout=WAIT_MS)  # type: ignore[union-attr]
        assert not ok.isEnabled()
        retype(qtbot, editor, '{"order": "A-2", "amount_cents": 2500}')
        qtbot.keyClick(editor, Qt.Key.Key_2, Qt.KeyboardModifier.AltModifier)
        qtbot.waitUntil(ok.isEnabled, timeout=WAIT_MS)
        qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)

    while_dialog_open(qtbot, "editDialog", edit)
    press(qtbot, window, Qt.Key.Key_E)
    qtbot.waitUntil(lambda: agents.tasks["edit"].done(), timeout=WAIT_MS)
    edited = agents.verdict("edit")
    assert edited.outcome == "edit"
    assert edited.arguments == {"order": "A-2", "amount_cents": 2500}
    assert edited.original_arguments == {"order": "A-2", "amount_cents": 4000}
    assert edited.severity == "material"
    qtbot.waitUntil(lambda: current(window) == ids[2] and ready(window, ids[2]),
                    timeout=WAIT_MS)

    # R: reject with a reason (required).
    def reject(dialog: QDialog) -> None:
        editor = dialog.findChild(QPlainTextEdit, "reasonEditor")
        ok = dialog.findChild(QPushButton, "okButton")
        assert editor is not None and ok is not None and not ok.isEnabled()
        qtbot.keyClicks(editor, "Not during business hours")
        qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)

    while_dialog_open(qtbot, "rejectDialog", reject)
    press(qtbot, window, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: agents.tasks["reject"].done(), timeout=WAIT_MS)
    assert agents.verdict("reject").outcome == "reject"
    assert agents.verdict("reject").reason == "Not during business hours"
    qtbot.waitUntil(lambda: current(window) == ids[3] and ready(window, ids[3]),
                    timeout=WAIT_MS)

    # S: respond with text.
    def respond(dialog: QDialog) -> None:
        editor = dialog.findChild(QPlainTextEdit, "responseEditor")
        assert editor is not None
        qtbot.keyClicks(editor, "Ask the customer first")
        qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)

    while_dialog_open(qtbot, "respondDialog", respond)
    press(qtbot, window, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: agents.tasks["respond"].done(), timeout=WAIT_MS)
    assert agents.verdict("respond").outcome == "respond"
    assert agents.verdict("respond").response == "Ask the customer first"

    qtbot.waitUntil(lambda: model.rowCount() == 0, timeout=WAIT_MS)
    assert queue_of(window).placeholder.isVisible()
    assert "No pending actions" in queue_of(window).placeholder.text()
    assert not window.commands["verdict.approve"].isEnabled()


def test_double_press_sends_one_verdict(qtbot: QtBot, window: MainWindow, agents: Agents,
                                        services: Services,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Both presses land while the first verdict is still being written (the store
    is held): the second must not reach the store at all. Without the UI's guards
    (the command disabled, the flow refusing an action in flight) it would, as a
    second attempt with its own key."""
    first, second = ask_in_order(
        qtbot, window, agents,
        ("one", "billing-bot", "issue_refund", {"order": "A-9", "amount_cents": 10}),
        ("two", "billing-bot", "issue_refund", {"order": "A-10", "amount_cents": 20}))
    qtbot.waitUntil(lambda: ready(window, first), timeout=WAIT_MS)
    attempts: list[int] = []
    release = threading.Event()
    decide = services.decisions.decide

    def held_decide(action_id: int, *args: Any, **kwargs: Any) -> Any:
        attempts.append(action_id)
        assert release.wait(WAIT_MS / 1000), "the test never released the store"
        return decide(action_id, *args, **kwargs)

    monkeypatch.setattr(services.decisions, "decide", held_decide)
    sent: list[Any] = []  # verdicts handed to the pool, counted on the GUI thread
    submit = window.work.submit

    def counting_submit(fn: Any, *args: Any, **kwargs: Any) -> Any:
        if fn is record_verdict:
            sent.append(args[1])
        return submit(fn, *args, **kwargs)

    monkeypatch.setattr(window.work, "submit", counting_submit)
    queue_of(window).focus_list()
    press(qtbot, window, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: attempts == [first], timeout=WAIT_MS)
    press(qtbot, window, Qt.Key.Key_A)  # the first verdict is still being written
    assert [attempt.action_id for attempt in sent] == [first]
    release.set()
    qtbot.waitUntil(lambda: agents.tasks["one"].done(), timeout=WAIT_MS)
    assert attempts == [first]
    assert agents.verdict("one").outcome == "approve"
    qtbot.waitUntil(lambda: ready(window, second), timeout=WAIT_MS)
    assert not agents.tasks["two"].done()
    assert DecisionService(services.store).get(second) is None


def test_decided_in_another_console_shows_who(qtbot: QtBot, window: MainWindow,
                                              agents: Agents, store: Store) -> None:
    contested, following = ask_in_order(
        qtbot, window, agents,
        ("contested", "billing-bot", "issue_refund", {"order": "A-3", "amount_cents": 300}),
        ("next", "ops-agent", "restart_service", {"service": "search"}))
    qtbot.waitUntil(lambda: ready(window, contested), timeout=WAIT_MS)
    # Another console decides first; ours still shows the action as pending.
    queue_of(window)._feed.stop()  # type: ignore[union-attr]  # (so our list is stale)
    DecisionService(store).decide(contested, verdict=_approve(), reviewer="bob")
    queue_of(window).focus_list()
    press(qtbot, window, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: "already decided by bob" in queue_of(window).banner.text,
                    timeout=WAIT_MS)
    assert "(approve)" in queue_of(window).banner.text
    assert queue_of(window).banner.isVisible()
    qtbot.waitUntil(lambda: queue_of(window).model.row_of(contested) is None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: current(window) == following, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: agents.tasks["contested"].done(), timeout=WAIT_MS)
    assert agents.verdict("contested").decided_by == "bob"


def test_decided_elsewhere_while_reading_clears_the_selection(
        qtbot: QtBot, window: MainWindow, agents: Agents, store: Store) -> None:
    reading, other = ask_in_order(
        qtbot, window, agents,
        ("read", "billing-bot", "issue_refund", {"order": "A-4", "amount_cents": 400}),
        ("other", "triage", "close_ticket", {"ticket": 5}))
    qtbot.waitUntil(lambda: ready(window, reading), timeout=WAIT_MS)
    DecisionService(store).decide(reading, verdict=_approve(), reviewer="bob")
    qtbot.waitUntil(lambda: "decided by bob" in queue_of(window).banner.text, timeout=WAIT_MS)
    assert current(window) is None, "the selection must not slide onto another action"
    assert not window.commands["verdict.approve"].isEnabled()
    press(qtbot, window, Qt.Key.Key_J)
    qtbot.waitUntil(lambda: current(window) == other, timeout=WAIT_MS)


def _approve() -> Any:
    from countersign.domain import Verdict

    return Verdict.APPROVE


def test_filtering_away_the_shown_action_moves_to_a_visible_one(
        qtbot: QtBot, window: MainWindow, agents: Agents) -> None:
    first, second = ask_in_order(
        qtbot, window, agents,
        ("a", "billing-bot", "issue_refund", {"order": "A-6", "amount_cents": 6}),
        ("b", "triage", "close_ticket", {"ticket": 6}))
    qtbot.waitUntil(lambda: ready(window, first), timeout=WAIT_MS)
    press(qtbot, window, Qt.Key.Key_Slash)
    assert QApplication.focusWidget() is queue_of(window).filter_bar.text
    qtbot.keyClicks(queue_of(window).filter_bar.text, "triage")
    qtbot.keyClick(queue_of(window).filter_bar.text, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: queue_of(window).model.rowCount() == 1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: ready(window, second), timeout=WAIT_MS)
    assert QApplication.focusWidget() is queue_of(window).view
    assert queue_of(window).filter_bar.count.text() == "1 of 2 shown"
