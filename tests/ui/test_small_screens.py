"""A 1024-pixel-wide screen: the Queue and Traces workspaces fit, the action under
review goes below its reasoning when they cannot sit side by side, and the Traces
filters wrap onto a second line."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot

from countersign_ui.async_work import BackgroundWork
from countersign_ui.main_window import MainWindow
from countersign_ui.queue.detail import ActionDetailPane
from countersign_ui.queue.workspace import QueueWorkspace
from countersign_ui.traces.workspace import TracesWorkspace
from countersign_ui.widgets.adaptive import FlowLayout

from .conftest import alive, dispose

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def window(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop) -> Iterator[MainWindow]:
    work = BackgroundWork(qasync_loop)
    win = MainWindow(work)
    qtbot.addWidget(win)
    win.show()
    yield win
    if alive(win):
        win.shutdown()
    work.shutdown()
    dispose(win)


@pytest.mark.parametrize("kind", [QueueWorkspace, TracesWorkspace])
def test_the_workspace_fits_a_1024_wide_screen(qtbot: QtBot, window: MainWindow,
                                               kind: type) -> None:
    window.show_workspace(window.workspace(kind))
    assert window.minimumSizeHint().width() <= 1024
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: window.width() == 1024, timeout=5_000)


def test_the_action_goes_below_its_reasoning_when_both_do_not_fit(qtbot: QtBot) -> None:
    pane = ActionDetailPane()
    qtbot.addWidget(pane)
    pane.resize(1400, 800)
    pane.show()
    pane.stack.setCurrentWidget(pane.splitter)
    splitter = pane.splitter
    qtbot.waitUntil(lambda: splitter.orientation() == Qt.Orientation.Horizontal, timeout=5_000)
    needed = splitter.side_by_side_width()
    assert pane.minimumSizeHint().width() < needed  # the pane can be narrower than that
    pane.resize(needed - 40, 800)
    qtbot.waitUntil(lambda: splitter.orientation() == Qt.Orientation.Vertical, timeout=5_000)
    assert splitter.widget(0) is pane.reasoning_area  # the reasoning above, the action below
    assert min(splitter.sizes()) > 0
    pane.resize(1400, 800)
    qtbot.waitUntil(lambda: splitter.orientation() == Qt.Orientation.Horizontal, timeout=5_000)


def test_a_flow_layout_wraps_and_grows_taller(qtbot: QtBot) -> None:
    host = QWidget()
    qtbot.addWidget(host)
    layout = FlowLayout(host)
    labels = [QLabel(f"filter number {i}", host) for i in range(6)]
    for label in labels:
        layout.add(label)
    one_line = layout.sizeHint().width()
    tall = layout.heightForWidth(one_line // 3)
    assert tall >= 3 * labels[0].sizeHint().height()
    assert layout.heightForWidth(one_line) == labels[0].sizeHint().height()
    assert layout.minimumSize().width() == max(lb.minimumSizeHint().width() for lb in labels)
    host.resize(one_line // 2, tall)
    host.show()
    qtbot.waitUntil(lambda: labels[-1].y() > labels[0].y(), timeout=5_000)
