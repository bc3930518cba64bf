"""A fast operator's fingers in the real window: a verdict key acts only on the action
whose detail is on screen, a key pressed too soon after the selection changed is
ignored with a hint, approving a critical action takes a second press, the last
verdict can be undone while it waits in the outbox (and is refused, plainly, once
released), and a store failure leaves nothing half-done."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from countersign.config import Config, ConsoleConfig
from countersign.domain import ActionState
from countersign.services.decisions import DecisionService
from countersign.session import Services, open_services
from countersign.store.engine import Store, StoreUnavailable
from countersign_ui.main_window import MainWindow
from countersign_ui.queue import workspace as queue_workspace
from countersign_ui.queue.guard import TOO_SOON_HINT
from countersign_ui.queue.verdicts import record_verdict

from .conftest import queue_of
from .test_queue_e2e import (  # the window, agents and keyboard helpers of the Queue e2e
    WAIT_MS,
    Agents,
    agents,  # noqa: F401 - fixture
    ask_in_order,
    current,
    press,
    ready,
    store,  # noqa: F401 - fixture
    window,  # noqa: F401 - fixture
)
from .test_verdict_guard import Clock

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def console() -> ConsoleConfig:
    return ConsoleConfig()


@pytest.fixture
def services(tmp_path: Path, console: ConsoleConfig) -> Iterator[Services]:
    opened = open_services("sqlite:///" + str(tmp_path / "s.db"), None,
                           config=Config(reviewer="ann", console=console), create=True)
    yield opened
    opened.close()


def refunds(qtbot: QtBot, window: MainWindow, agents: Agents, n: int,  # noqa: F811
            risk: str = "medium") -> list[int]:
    return ask_in_order(qtbot, window, agents, *(
        (f"r{i}", "billing-bot", "issue_refund", {"order": f"A-{i}", "amount_cents": i})
        for i in range(1, n + 1)))


def count_sent(monkeypatch: pytest.MonkeyPatch, window: MainWindow) -> list[int]:  # noqa: F811
    """Action ids of the verdicts handed to the pool (counted on the GUI thread)."""
    sent: list[int] = []
    submit = window.work.submit

    def counting(fn: Any, *args: Any, **kwargs: Any) -> Any:
        if fn is record_verdict:
            sent.append(args[1].action_id)
        return submit(fn, *args, **kwargs)

    monkeypatch.setattr(window.work, "submit", counting)
    return sent


def on_screen(window: MainWindow, action_id: int) -> bool:  # noqa: F811
    """The action's detail is displayed and its verdicts enabled (dwell or not)."""
    loaded = queue_of(window).loaded
    return loaded is not None and loaded.detail.id == action_id and \
        window.commands["verdict.approve"].isEnabled()


# -- the action on screen -----------------------------------------------------------------

def test_no_verdict_while_the_next_detail_is_still_loading(
        qtbot: QtBot, window: MainWindow, agents: Agents,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = refunds(qtbot, window, agents, 2)
    qtbot.waitUntil(lambda: ready(window, first), timeout=WAIT_MS)
    queue = queue_of(window)
    release = threading.Event()
    load = queue_workspace.load_action

    def slow_load(actions: Any, action_id: int, *args: Any) -> Any:
        if action_id == second:
            assert release.wait(WAIT_MS / 1000), "the test never released the read"
        return load(actions, action_id, *args)

    monkeypatch.setattr(queue_workspace, "load_action", slow_load)
    sent = count_sent(monkeypatch, window)
    queue.focus_list()
    press(qtbot, window, Qt.Key.Key_J)
    assert current(window) == second
    # The first action's detail may still be painted, but nothing may decide it now.
    assert not window.commands["verdict.approve"].isEnabled()
    assert not queue.pane.action.buttons["approve"].isEnabled()
    press(qtbot, window, Qt.Key.Key_A)
    queue.pane.action.buttons["approve"].click()
    qtbot.waitUntil(lambda: "Loading" in queue.pane.message.text()
                    and queue.pane.message.isVisible(), timeout=WAIT_MS)
    assert sent == []
    release.set()
    qtbot.waitUntil(lambda: ready(window, second), timeout=WAIT_MS)
    press(qtbot, window, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: agents.tasks["r2"].done(), timeout=WAIT_MS)
    assert sent == [second]
    assert not agents.tasks["r1"].done()


# -- dwell and critical confirmation ---------------------------------------------------

def test_a_key_pressed_too_soon_is_ignored_with_a_hint(
        qtbot: QtBot, window: MainWindow, agents: Agents,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    queue = queue_of(window)
    clock = Clock()
    queue.flow.guard.clock = clock
    first, second, third = refunds(qtbot, window, agents, 3)
    qtbot.waitUntil(lambda: on_screen(window, first), timeout=WAIT_MS)
    sent = count_sent(monkeypatch, window)
    queue.focus_list()
    press(qtbot, window, Qt.Key.Key_A)  # the instant it appeared
    assert sent == []
    hint = queue.pane.action.hint
    assert hint.isVisible() and hint.text() == TOO_SOON_HINT
    assert window.statusBar().currentMessage() == TOO_SOON_HINT
    # Five presses, a quarter of a second apart, each landing once the next action is
    # on screen: one verdict, on the action that had been looked at.
    clock.advance(1.0)
    for _ in range(5):
        press(qtbot, window, Qt.Key.Key_A)
        qtbot.waitUntil(lambda: queue.loaded is not None and not queue.flow.in_flight_ids(),
                        timeout=WAIT_MS)
        clock.advance(0.25)
    qtbot.waitUntil(lambda: agents.tasks["r1"].done(), timeout=WAIT_MS)
    assert sent == [first]
    assert current(window) == second
    assert not agents.tasks["r2"].done() and not agents.tasks["r3"].done()
    clock.advance(0.4)  # looked at long enough
    press(qtbot, window, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: agents.tasks["r2"].done(), timeout=WAIT_MS)
    assert sent == [first, second] and current(window) == third


def test_a_critical_action_takes_a_second_press_never_a_dialog(
        qtbot: QtBot, window: MainWindow, agents: Agents,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    queue = queue_of(window)
    clock = Clock()
    queue.flow.guard.clock = clock
    agents.ask("drop", "ops-agent", "drop_table", {"table": "orders"}, risk="critical")
    qtbot.waitUntil(lambda: queue.model.rowCount() == 1, timeout=WAIT_MS)
    action_id = queue.model.ids()[0]
    qtbot.waitUntil(lambda: on_screen(window, action_id), timeout=WAIT_MS)
    clock.advance(1.0)
    sent = count_sent(monkeypatch, window)
    queue.focus_list()
    press(qtbot, window, Qt.Key.Key_A)
    approve = queue.pane.action.buttons["approve"]
    assert sent == []
    assert approve.text() == "Press A again"
    assert queue.pane.action.hint.text() == "Press A again to approve a critical action"
    assert queue.pane.action.hint.isVisible()
    assert QApplication.activeModalWidget() is None
    press(qtbot, window, Qt.Key.Key_Return)  # Enter confirms nothing
    clock.advance(0.05)
    press(qtbot, window, Qt.Key.Key_A)  # a reflexive double tap is not deliberate
    assert sent == []
    clock.advance(3.5)  # the confirmation lapsed: this press arms it again
    press(qtbot, window, Qt.Key.Key_A)
    assert sent == []
    clock.advance(0.6)
    press(qtbot, window, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: agents.tasks["drop"].done(), timeout=WAIT_MS)
    assert sent == [action_id]
    assert agents.verdict("drop").outcome == "approve"


# -- undo ---------------------------------------------------------------------------------

def _events(store: Store, kind: str) -> int:  # noqa: F811
    from sqlalchemy import func, select

    from countersign.store.models import AuditEventRow

    with store.read() as session:
        return int(session.execute(select(func.count()).select_from(AuditEventRow)
                                   .where(AuditEventRow.kind == kind)).scalar_one())


@pytest.mark.parametrize("console", [ConsoleConfig(undo_seconds=30)])
def test_ctrl_z_inside_the_window_takes_the_verdict_back(
        qtbot: QtBot, window: MainWindow, agents: Agents, store: Store,  # noqa: F811
        services: Services) -> None:
    first, second = refunds(qtbot, window, agents, 2)
    qtbot.waitUntil(lambda: ready(window, first), timeout=WAIT_MS)
    queue = queue_of(window)
    assert not window.commands["queue.undo"].isEnabled()
    queue.focus_list()
    press(qtbot, window, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: current(window) == second, timeout=WAIT_MS)
    message = window.statusBar().currentMessage()
    assert message.startswith("Approved: billing-bot · issue_refund")
    assert "Undo (Ctrl+Z) · 30 s" in message or "Undo (Ctrl+Z) · 29 s" in message
    assert window.commands["queue.undo"].isEnabled()
    assert services.decisions.released(first) is None  # held: no agent sees it yet
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: current(window) == first, timeout=WAIT_MS)
    assert queue.model.get(first) is not None
    assert services.actions.get(first).state is ActionState.PENDING
    assert DecisionService(store).get(first) is None
    assert _events(store, "decision.undone") == 1
    assert window.statusBar().currentMessage().startswith("Undone: the approval of")
    assert not window.commands["queue.undo"].isEnabled()
    assert not agents.tasks["r1"].done()
    # Decided again, it reaches the agent once its own hold has passed.
    qtbot.waitUntil(lambda: ready(window, first), timeout=WAIT_MS)


@pytest.mark.parametrize("console", [ConsoleConfig(undo_seconds=0.3)])
def test_ctrl_z_after_the_window_is_refused_plainly(
        qtbot: QtBot, window: MainWindow, agents: Agents, store: Store,  # noqa: F811
) -> None:
    (only,) = refunds(qtbot, window, agents, 1)
    qtbot.waitUntil(lambda: ready(window, only), timeout=WAIT_MS)
    queue = queue_of(window)
    queue.focus_list()
    press(qtbot, window, Qt.Key.Key_A)
    # The agent has the verdict: it was released after its hold and delivered.
    qtbot.waitUntil(lambda: agents.tasks["r1"].done(), timeout=WAIT_MS)
    assert agents.verdict("r1").outcome == "approve"
    qtbot.waitUntil(lambda: "Undo" not in window.statusBar().currentMessage(),
                    timeout=WAIT_MS)
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: queue.banner.text != "", timeout=WAIT_MS)
    assert queue.banner.text == ("Too late to undo the approval of billing-bot · "
                                 f"issue_refund (#{only}): it has been released to the agent.")
    assert DecisionService(store).get(only) is not None
    assert _events(store, "decision.undone") == 0
    assert not window.commands["queue.undo"].isEnabled()


# -- store failures -----------------------------------------------------------------------

FAILURE = StoreUnavailable("The store at /tmp/s.db is locked by another program.")


def test_a_store_failure_during_a_verdict_leaves_the_action_pending(
        qtbot: QtBot, window: MainWindow, agents: Agents, store: Store,  # noqa: F811
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    (only,) = refunds(qtbot, window, agents, 1)
    qtbot.waitUntil(lambda: ready(window, only), timeout=WAIT_MS)
    queue = queue_of(window)

    def failing(*_args: Any, **_kwargs: Any) -> Any:
        raise FAILURE

    monkeypatch.setattr(services.decisions, "decide", failing)
    queue.focus_list()
    press(qtbot, window, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: queue.banner.text != "", timeout=WAIT_MS)
    assert str(FAILURE) in queue.banner.text
    assert "it is still pending" in queue.banner.text
    assert queue.banner.button.text() == "Retry"
    # Nothing half-done: the row is pending, not "deciding", and can be decided again.
    assert queue.model.get(only) is not None and not queue.model.rows.is_deciding(only)
    assert DecisionService(store).get(only) is None
    assert not agents.tasks["r1"].done()
    qtbot.waitUntil(lambda: ready(window, only), timeout=WAIT_MS)
    monkeypatch.undo()
    queue.banner.button.click()  # Retry, with the same idempotency key
    qtbot.waitUntil(lambda: agents.tasks["r1"].done(), timeout=WAIT_MS)
    assert agents.verdict("r1").outcome == "approve"


def test_a_store_failure_while_reading_an_action_shows_the_banner(
        qtbot: QtBot, window: MainWindow, agents: Agents,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = refunds(qtbot, window, agents, 2)
    qtbot.waitUntil(lambda: ready(window, first), timeout=WAIT_MS)
    queue = queue_of(window)

    def failing(*_args: Any, **_kwargs: Any) -> Any:
        raise FAILURE

    monkeypatch.setattr(queue_workspace, "load_action", failing)
    queue.focus_list()
    press(qtbot, window, Qt.Key.Key_J)
    qtbot.waitUntil(lambda: queue.banner.text != "", timeout=WAIT_MS)
    assert queue.banner.text == f"Could not load action #{second}. {FAILURE}"
    assert not window.commands["verdict.approve"].isEnabled()
    assert not any(b.isEnabled() for b in queue.pane.action.buttons.values())
    monkeypatch.undo()
    queue.banner.button.click()  # Retry
    qtbot.waitUntil(lambda: ready(window, second), timeout=WAIT_MS)
