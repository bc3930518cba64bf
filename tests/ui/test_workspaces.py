"""Workspaces are plugins of the window: each registered one is in the switcher and
the Go menu with its key, and its commands act only while it is on screen (the
verdict keys never decide the Queue's hidden selection while Traces is shown)."""

from __future__ import annotations

from typing import ClassVar

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from countersign.session import Services
from countersign_ui.main_window import MainWindow
from countersign_ui.shortcuts import Command
from countersign_ui.workspace import Workspace
from countersign_ui.workspaces import WORKSPACES, window_commands

from .conftest import queue_of, traces_of
from .test_queue_e2e import (  # the window, agents and keyboard helpers of the Queue e2e
    WAIT_MS,
    Agents,
    agents,  # noqa: F401 - fixture
    ask_in_order,
    current,
    press,
    ready,
    services,  # noqa: F401 - fixture
    store,  # noqa: F401 - fixture
    window,  # noqa: F401 - fixture
)

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def _menu(main: MainWindow, title: str) -> QAction:
    return next(a for a in main.menuBar().actions() if a.text() == title)


def test_every_registered_workspace_is_in_the_switcher_with_its_key(
        window: MainWindow) -> None:  # noqa: F811 - fixture
    assert [type(w) for w in window.workspaces] == list(WORKSPACES)
    go_menu = _menu(window, "&Go").menu()
    for n, workspace in enumerate(window.workspaces, start=1):
        go = window.commands[f"go.{workspace.name}"]
        assert go in go_menu.actions()
        assert go.shortcut() == QKeySequence(f"Ctrl+{n}")
        go.trigger()
        assert window.current_workspace is workspace
        assert workspace.is_active and workspace.isVisible()
        assert [w for w in window.workspaces if w.is_active] == [workspace]


def test_verdict_keys_do_nothing_while_traces_is_shown(
        qtbot: QtBot, window: MainWindow, agents: Agents,  # noqa: F811 - fixtures
) -> None:
    first, _second = ask_in_order(
        qtbot, window, agents,
        ("one", "billing-bot", "issue_refund", {"order": "A-1", "amount_cents": 10}),
        ("two", "billing-bot", "issue_refund", {"order": "A-2", "amount_cents": 20}))
    qtbot.waitUntil(lambda: current(window) == first and ready(window, first),
                    timeout=WAIT_MS)
    queue = queue_of(window)
    verdict_menu = _menu(window, "&Verdict")
    assert verdict_menu.isEnabled()

    press(qtbot, window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.current_workspace is traces_of(window)
    assert not verdict_menu.isEnabled()
    assert not window.commands["verdict.approve"].isEnabled()
    assert not window.commands["go.next"].isEnabled()
    press(qtbot, window, Qt.Key.Key_A)  # approve, were the Queue's keys live
    press(qtbot, window, Qt.Key.Key_J)  # next action, likewise
    assert queue.flow.in_flight_ids() == set(), "a verdict was sent from Traces"
    assert current(window) == first
    assert not agents.tasks["one"].done()

    # Back on the Queue, the same key decides the action under review.
    press(qtbot, window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.current_workspace is queue
    assert verdict_menu.isEnabled() and window.commands["verdict.approve"].isEnabled()
    assert QApplication.focusWidget() is queue.view
    # Back on screen, the action must be looked at again (the dwell) before A counts.
    qtbot.waitUntil(lambda: ready(window, first), timeout=WAIT_MS)
    press(qtbot, window, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: agents.tasks["one"].done(), timeout=WAIT_MS)
    assert agents.verdict("one").outcome == "approve"


def test_a_workspace_key_or_command_registered_twice_is_refused() -> None:
    class Twin(Workspace):
        name = "queue"
        title = "Twin"
        key = "Ctrl+9"
        tip = "The Queue again"
        commands: ClassVar[tuple[Command, ...]] = ()

        def attach(self, _services: Services) -> None:
            return None

    with pytest.raises(ValueError, match=r"go\.queue"):
        window_commands((*WORKSPACES, Twin))
    Twin.name, Twin.key = "twin", "Ctrl+1"
    with pytest.raises(ValueError, match="share a key"):
        window_commands((*WORKSPACES, Twin))
