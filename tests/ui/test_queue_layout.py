"""The Queue on a 1024 × 640 screen with the demo fleet's real actions: nothing
overlaps or sticks out, the verdict buttons are on screen, and the window never
resizes itself (after J through every action, after a long notice or error)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from itertools import combinations
from typing import Any

import pytest
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QApplication,
    QLayout,
    QSplitter,
    QStackedWidget,
    QWidget,
)
from pytestqt.exceptions import TimeoutError as WaitTimeout
from pytestqt.qtbot import QtBot

from countersign.domain import EditSeverity, Verdict
from countersign.session import Services
from countersign_ui.main_window import MainWindow

from .conftest import queue_of
from .test_demo_fleet_e2e import fleet  # noqa: F401 - fixture
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

SMALL = QSize(1024, 640)


def _laid_out(layout: QLayout | None) -> Iterator[QWidget]:
    """The widgets a layout places (its nested layouts' too)."""
    if layout is None:
        return
    for i in range(layout.count()):
        item = layout.itemAt(i)
        if item is None:
            continue
        if item.widget() is not None:
            yield item.widget()
        elif item.layout() is not None:
            yield from _laid_out(item.layout())


def layout_problems(root: QWidget) -> list[str]:
    """Sibling widgets placed over one another, or outside their parent's rectangle
    (what a cramped window shows as controls painted on controls, or cut off)."""
    problems: list[str] = []

    def name(w: QWidget) -> str:
        return f"{type(w).__name__}({w.objectName()})"

    for parent in [root, *root.findChildren(QWidget)]:
        if not parent.isVisible() or isinstance(parent, QStackedWidget):
            continue
        if isinstance(parent, QSplitter):
            placed = [parent.widget(i) for i in range(parent.count())]
        else:
            placed = list(_laid_out(parent.layout()))
        placed = [w for w in placed if w is not None and w.isVisible()]
        for a, b in combinations(placed, 2):
            if a.geometry().intersects(b.geometry()):
                problems.append(f"{name(a)} overlaps {name(b)} in {name(parent)}")
        scrolled = isinstance(parent.parentWidget(), QAbstractScrollArea)
        for w in placed:
            if not scrolled and not parent.rect().contains(w.geometry()):
                problems.append(f"{name(w)} {w.geometry()} sticks out of {name(parent)} "
                                f"{parent.rect()}")
    return problems


def settled_problems(qtbot: QtBot, root: QWidget, timeout_ms: int = 2000) -> list[str]:
    """`layout_problems` once Qt's layout requests have run their course. A new
    action's content changes sizes from the inside out: a box is laid out in its old
    rectangle for an event pass before its parent gives it the new one. The person sees
    the settled layout; that is what must be right."""
    with suppress(WaitTimeout):
        qtbot.waitUntil(lambda: layout_problems(root) == [], timeout=timeout_ms)
    return layout_problems(root)


def on_window(window: MainWindow, widget: QWidget) -> bool:  # noqa: F811
    """Wholly inside the window's visible area."""
    top_left = widget.mapTo(window, widget.rect().topLeft())
    return window.rect().contains(QRect(top_left, widget.size()))


def test_the_queue_fits_1024_by_640_and_the_window_never_resizes_itself(
        qtbot: QtBot, window: MainWindow, fleet: Any) -> None:  # noqa: F811
    queue = queue_of(window)
    qtbot.waitUntil(lambda: queue.model.rowCount() >= 4, timeout=WAIT_MS)
    window.resize(SMALL)
    qtbot.waitUntil(lambda: window.size() == SMALL and queue.loaded is not None,
                    timeout=WAIT_MS)
    assert window.minimumSizeHint().height() <= SMALL.height()
    assert window.minimumSizeHint().width() <= SMALL.width()
    queue.focus_list()
    for _ in range(queue.model.rowCount()):
        wanted = queue.current_id()
        qtbot.waitUntil(lambda wanted=wanted: queue.loaded is not None
                        and queue.loaded.detail.id == wanted, timeout=WAIT_MS)
        QApplication.processEvents()
        assert window.size() == SMALL, f"the window resized itself on #{wanted}"
        assert settled_problems(qtbot, queue) == []
        for button in queue.pane.action.buttons.values():
            assert on_window(window, button), button.objectName()
        press(qtbot, window, Qt.Key.Key_J)
    queue.notice.emit("Approved: " + "a-very-long-agent-name · " * 30)
    queue.errorOccurred.emit("The store at sqlite:////home/someone/" + "deep/" * 60
                             + "x.db cannot be reached: connection refused")
    queue.banner.show_message("Could not read the queue. " + "A long sentence. " * 40)
    QApplication.processEvents()
    qtbot.waitUntil(lambda: queue.banner.isVisible(), timeout=WAIT_MS)
    assert window.size() == SMALL, "the window grew after a long message"
    assert settled_problems(qtbot, queue) == []


def test_history_critical_prompt_and_banners_keep_the_window_size(
        qtbot: QtBot, window: MainWindow, agents: Agents,  # noqa: F811
        services: Services) -> None:  # noqa: F811
    """What appears above or inside the pane (a tripped breaker and a message on top,
    an edit's account and diff in the History, the critical prompt) scrolls in its
    place: the window stays 1024 × 640 and nothing overlaps."""
    services.autonomy.set_budget("billing-bot", {"actions_per_minute": 1}, actor="lee")
    edited, _tripping = ask_in_order(
        qtbot, window, agents,
        ("e", "billing-bot", "issue_refund", {"order": "A-1", "amount_cents": 4000,
                                              "note": "Refund per ticket. " * 40}),
        ("t", "billing-bot", "issue_refund", {"order": "A-1", "amount_cents": 4000}))
    queue = queue_of(window)
    agents.ask("c", "ops-agent", "drop_table", {"table": "orders"}, risk="critical")
    qtbot.waitUntil(lambda: queue.model.rowCount() == 3, timeout=WAIT_MS)
    critical = next(i for i in queue.model.ids() if i not in (edited, _tripping))
    window.resize(SMALL)
    qtbot.waitUntil(lambda: window.size() == SMALL, timeout=WAIT_MS)
    services.decisions.decide(
        edited, Verdict.EDIT, reviewer="ann", severity=EditSeverity.MATERIAL,
        arguments={"order": "A-1", "amount_cents": 2500, "note": "Checked. " * 60})
    queue.breakers.refresh()
    qtbot.waitUntil(lambda: queue.breakers.isVisible() and queue.banner.isVisible(),
                    timeout=WAIT_MS)  # (the banner: the action on screen was decided)
    queue.select_action(critical)
    qtbot.waitUntil(lambda: queue.loaded is not None and queue.flow.guard.settled(),
                    timeout=WAIT_MS)
    queue.flow.start(Verdict.APPROVE)  # armed, waiting for the second press
    QApplication.processEvents()
    assert queue.pane.action.hint.isVisible()
    assert window.size() == SMALL
    assert settled_problems(qtbot, queue) == []
    queue.show_history(True)
    qtbot.waitUntil(lambda: queue.history.model.rowCount() == 1, timeout=WAIT_MS)
    queue.select_action(edited)
    qtbot.waitUntil(lambda: queue.loaded is not None and queue.loaded.detail.id == edited
                    and queue.pane.action.decision.isVisible(), timeout=WAIT_MS)
    QApplication.processEvents()
    assert "Checked." in queue.pane.action.decision.text()
    assert window.size() == SMALL, "the History's account made the window grow"
    assert settled_problems(qtbot, queue) == []


def test_the_layout_check_sees_overlap_and_clipping(qtbot: QtBot) -> None:
    """The check above can fail: two laid-out siblings on top of each other, and one
    sticking out of its parent, are both reported."""
    from PySide6.QtWidgets import QLabel, QVBoxLayout

    host = QWidget()
    qtbot.addWidget(host)
    layout = QVBoxLayout(host)
    first, second = QLabel("first", host), QLabel("second", host)
    layout.addWidget(first)
    layout.addWidget(second)
    host.resize(200, 100)
    host.show()
    qtbot.waitExposed(host)
    assert layout_problems(host) == []
    second.setGeometry(first.geometry().translated(0, 2))
    assert any("overlaps" in p for p in layout_problems(host))
    second.setGeometry(QRect(150, 80, 120, 40))
    assert any("sticks out" in p for p in layout_problems(host))
