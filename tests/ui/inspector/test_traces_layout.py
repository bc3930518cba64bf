"""The Traces workspace on a 1024×640 screen, in the real window with realistic runs:
every control is on screen, none overlaps another, the lists keep rows in view, and
nothing (a run shown, a long error, a jump) makes the window resize itself."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from countersign.session import Services
from countersign_ui.async_work import BackgroundWork
from countersign_ui.main_window import MainWindow
from countersign_ui.traces.workspace import TracesWorkspace

from ..conftest import alive, dispose, open_test_services, traces_of
from .fleet_traces import Fleet, fill

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
WAIT_MS = 10_000
SMALL = QSize(1024, 640)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    opened = open_test_services(tmp_path / "layout.db")
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
    win.attach(services)
    traces = traces_of(win)
    with qtbot.waitSignal(traces.runsLoaded, timeout=WAIT_MS):
        win.show_workspace(traces)
    yield win
    if alive(win):
        win.shutdown()
    work.shutdown()
    dispose(win)


def _rect(widget: QWidget, window: QWidget) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


def _controls(traces: TracesWorkspace) -> dict[str, QWidget]:
    """What a person reads or presses, each a rectangle of its own."""
    bar, inspector = traces.filter_bar, traces.inspector
    found: dict[str, QWidget] = {
        name: getattr(bar, name) for name in (
            "agent", "period", "status", "min_duration", "min_tokens", "min_cost",
            "pending", "duplicates", "text", "count")}
    found |= {
        "refresh": traces.refresh_button, "duplicates note": traces.duplicates_note,
        "runs": traces.table, "search": inspector.search_bar,
        "expand": inspector.expand_button, "errors": inspector.errors_button,
        "proposer": inspector.proposer_button, "summary": inspector.summary,
        "span tree": inspector.tree, "span title": inspector.detail.title,
        "span meta": inspector.detail.meta, "links": inspector.detail.links,
        "span tabs": inspector.detail.tabs}
    return {name: widget for name, widget in found.items() if widget.isVisible()}


def _check_layout(window: MainWindow, traces: TracesWorkspace) -> None:
    page = _rect(traces, window)
    shown = {name: _rect(widget, window) for name, widget in _controls(traces).items()}
    for name, rect in shown.items():
        assert page.contains(rect), (name, rect, page)
        assert rect.width() > 20 and rect.height() > 10, (name, rect)
    for (one, a), (other, b) in combinations(shown.items(), 2):
        assert not a.intersects(b), f"{one} {a} overlaps {other} {b}"
    runs, tree = traces.table, traces.inspector.tree
    assert runs.viewport().height() >= 3 * runs.verticalHeader().defaultSectionSize()
    assert tree.viewport().height() >= 4 * tree.sizeHintForRow(0)
    run_column = runs.horizontalHeader().sectionSize(2)
    assert run_column >= 200, f"the run's name gets {run_column} px"


def test_traces_fits_1024_by_640_and_the_window_keeps_its_size(
        qtbot: QtBot, window: MainWindow, fleet: Fleet) -> None:
    traces = traces_of(window)
    window.resize(SMALL)
    qtbot.waitUntil(lambda: window.size() == SMALL, timeout=WAIT_MS)
    row = traces.model.row_of(fleet.pending)
    assert row is not None
    with qtbot.waitSignal(traces.runShown, timeout=WAIT_MS):
        traces.table.setCurrentIndex(traces.model.index(row, 0))
    qtbot.waitUntil(lambda: traces.inspector.selected_span_id() == fleet.proposer,
                    timeout=WAIT_MS)
    _check_layout(window, traces)
    # The selected run is in view in the shrunken list.
    assert traces.table.viewport().rect().contains(
        traces.table.visualRect(traces.table.currentIndex()).center())
    # Nothing that happens next makes the window grow.
    window.show_error("demo: " + "a long explanation of what went wrong " * 12)
    traces.inspector.jump_to_linked_call()
    with qtbot.waitSignal(traces.runsLoaded, timeout=WAIT_MS):
        traces.filter_bar.duplicates.setChecked(True)
    row = traces.model.row_of(fleet.duplicate)
    assert row is not None
    with qtbot.waitSignal(traces.runShown, timeout=WAIT_MS):
        traces.table.setCurrentIndex(traces.model.index(row, 0))
    qtbot.waitUntil(lambda: not traces.run_note.isHidden(), timeout=WAIT_MS)
    assert window.size() == SMALL
    assert window.minimumSizeHint().width() <= SMALL.width()
    assert window.minimumSizeHint().height() <= SMALL.height()
    _check_layout(window, traces)
    assert _rect(traces.run_note, window).bottom() < _rect(traces.inspector, window).top()
