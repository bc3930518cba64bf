"""What the Queue shows above its list: a tripped budget breaker (every request of
that agent now waits for a person, and the operator must see why), and the store's
one-sentence failure when the queue cannot be read, with Retry."""

from __future__ import annotations

from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from countersign.session import Services
from countersign.store.engine import StoreUnavailable
from countersign_ui.main_window import MainWindow
from countersign_ui.queue import workspace as queue_workspace

from .conftest import queue_of
from .test_queue_e2e import (  # the window, agents and keyboard helpers of the Queue e2e
    WAIT_MS,
    Agents,
    agents,  # noqa: F401 - fixture
    ask_in_order,
    services,  # noqa: F401 - fixture
    store,  # noqa: F401 - fixture
    window,  # noqa: F401 - fixture
)

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def test_a_tripped_breaker_is_shown_above_the_queue(
        qtbot: QtBot, window: MainWindow, agents: Agents,  # noqa: F811
        services: Services) -> None:  # noqa: F811
    services.autonomy.set_budget("billing-bot", {"actions_per_minute": 1}, actor="lee")
    ask_in_order(qtbot, window, agents,
                 ("one", "billing-bot", "issue_refund", {"order": "A-1", "amount_cents": 1}),
                 ("two", "billing-bot", "issue_refund", {"order": "A-1", "amount_cents": 1}))
    assert services.autonomy.tripped(), "the second request should trip the breaker"
    queue = queue_of(window)
    queue.breakers.refresh()  # (it polls every few seconds)
    qtbot.waitUntil(lambda: queue.breakers.isVisible(), timeout=WAIT_MS)
    assert [t.agent for t in queue.breakers.trips] == ["billing-bot"]
    banner_bottom = queue.breakers.mapTo(queue, queue.breakers.rect().bottomLeft()).y()
    list_top = queue.view.mapTo(queue, queue.view.rect().topLeft()).y()
    assert banner_bottom < list_top
    services.autonomy.reset_breaker("billing-bot", lead="lee", reason="loop fixed")
    queue.breakers.refresh()
    qtbot.waitUntil(lambda: not queue.breakers.isVisible(), timeout=WAIT_MS)


def test_a_queue_that_cannot_be_read_says_so_in_the_banner(
        qtbot: QtBot, window: MainWindow, agents: Agents,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    queue = queue_of(window)
    qtbot.waitUntil(lambda: "No pending actions" in queue.placeholder.text(), timeout=WAIT_MS)
    failure = StoreUnavailable("The store at /srv/countersign.db cannot be read: disk I/O "
                               "error.")

    def failing(*_args: Any, **_kwargs: Any) -> Any:
        raise failure

    monkeypatch.setattr(queue_workspace, "load_queue", failing)
    queue._load_queue()  # what Retry does; the first read happened at attach
    qtbot.waitUntil(lambda: queue.banner.text != "", timeout=WAIT_MS)
    assert queue.banner.text == f"Could not read the queue. {failure}"
    assert queue.banner.button.text() == "Retry"
    assert window.error_label.text().startswith("The store at /srv/countersign.db")
    monkeypatch.undo()
    agents.ask("one", "billing-bot", "issue_refund", {"order": "A-1", "amount_cents": 1})
    queue.banner.button.click()
    qtbot.waitUntil(lambda: queue.model.rowCount() == 1, timeout=WAIT_MS)
