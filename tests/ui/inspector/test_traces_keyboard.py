"""The Traces workspace driven from the keyboard alone, in the real window: show it,
walk the runs, reach the span tree, jump to the proposing span and between a tool
span and the LLM call that asked for it, show the repeated model calls and open the
run one belongs to."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from countersign.domain import SpanKind
from countersign.session import Services
from countersign_ui.async_work import BackgroundWork
from countersign_ui.main_window import MainWindow

from ..conftest import alive, dispose, open_test_services, traces_of
from .fleet_traces import Fleet, fill

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
WAIT_MS = 10_000
NO = Qt.KeyboardModifier.NoModifier
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    opened = open_test_services(tmp_path / "keys.db")
    yield opened
    opened.close()


@pytest.fixture
def fleet(services: Services) -> Fleet:
    return fill(services.traces, services.actions)


@pytest.fixture
def window(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop, services: Services,
           fleet: Fleet) -> Iterator[MainWindow]:
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


def press(qtbot: QtBot, key: Qt.Key, modifier: Qt.KeyboardModifier = NO) -> None:
    """A key press where the keyboard focus is."""
    target = QApplication.focusWidget()
    assert target is not None
    qtbot.keyClick(target, key, modifier)


def tab_to(qtbot: QtBot, widget: QWidget, *, back: bool = False) -> None:
    """Tab (or Shift+Tab) until ``widget`` has the focus: it is reachable so."""
    for _ in range(40):
        if QApplication.focusWidget() is widget:
            return
        press(qtbot, Qt.Key.Key_Backtab if back else Qt.Key.Key_Tab, SHIFT if back else NO)
    raise AssertionError(f"{widget.objectName() or widget} is not reachable with Tab")


def test_traces_from_the_keyboard_alone(qtbot: QtBot, window: MainWindow,
                                        fleet: Fleet) -> None:
    traces = traces_of(window)
    with qtbot.waitSignal(traces.runsLoaded, timeout=WAIT_MS):
        press(qtbot, Qt.Key.Key_2, CTRL)
    assert window.current_workspace is traces
    assert QApplication.focusWidget() is traces.table
    # Down the list to the run whose action waits: its proposing span is on show.
    target = traces.model.row_of(fleet.pending)
    assert target is not None
    press(qtbot, Qt.Key.Key_Home, CTRL)  # the first run
    for _ in range(target):
        press(qtbot, Qt.Key.Key_Down)
    assert traces.current_trace_id() == fleet.pending
    inspector = traces.inspector
    qtbot.waitUntil(lambda: inspector.selected_span_id() == fleet.proposer, timeout=WAIT_MS)
    # Into the span tree; to the top; down to the first tool span.
    tab_to(qtbot, inspector.tree)
    press(qtbot, Qt.Key.Key_Home)
    for _ in range(10):
        if inspector.detail.span is not None and inspector.detail.span.kind is SpanKind.TOOL:
            break
        press(qtbot, Qt.Key.Key_Down)
    tool = inspector.selected_span_id()
    assert inspector.detail.span is not None and inspector.detail.span.kind is SpanKind.TOOL
    press(qtbot, Qt.Key.Key_L, CTRL)  # the LLM call that asked for it
    assert inspector.detail.span is not None and inspector.detail.span.kind is SpanKind.LLM
    press(qtbot, Qt.Key.Key_L, CTRL)  # and back
    assert inspector.selected_span_id() == tool
    # Back up to "Jump to proposing span" and press it.
    tab_to(qtbot, inspector.proposer_button, back=True)
    press(qtbot, Qt.Key.Key_Space)
    assert inspector.selected_span_id() == fleet.proposer
    # Up to the strip that says two instrumentations are active: show the repeats.
    tab_to(qtbot, traces.duplicates_note.button, back=True)
    with qtbot.waitSignal(traces.runsLoaded, timeout=WAIT_MS):
        press(qtbot, Qt.Key.Key_Space)
    assert traces.current_trace_id() == fleet.pending  # the selection stayed
    tab_to(qtbot, traces.table)
    duplicate = traces.model.row_of(fleet.duplicate)
    assert duplicate is not None
    press(qtbot, Qt.Key.Key_Home, CTRL)
    for _ in range(duplicate):
        press(qtbot, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: not traces.run_note.isHidden(), timeout=WAIT_MS)
    with qtbot.waitSignal(traces.runShown, timeout=WAIT_MS) as shown:
        press(qtbot, Qt.Key.Key_P, CTRL | SHIFT)  # Runs → Open the run it repeats
    assert shown.args == [fleet.original]
    assert traces.current_trace_id() == fleet.original
    with qtbot.waitSignal(traces.runsLoaded, timeout=WAIT_MS):
        press(qtbot, Qt.Key.Key_F5)
    assert traces.current_trace_id() == fleet.original
