"""A verdict given in the console reaches its source at once: the window wakes the
runtime's delivery when the store has recorded the verdict, instead of leaving it to
the runtime's next outbox poll."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from countersign.plugin_api import (
    ActionRequest,
    Delivery,
    DeliveryOutcome,
    DeliveryResult,
    SourceContext,
)
from countersign.session import Services
from countersign_ui.main_window import MainWindow

from .conftest import queue_of
from .test_queue_e2e import (  # the window and keyboard helpers of the Queue e2e
    WAIT_MS,
    current,
    press,
    ready,
    services,  # noqa: F401 - fixture
    window,  # noqa: F401 - fixture
)

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


class InboxSource:
    """A source that brings one action in and records what is delivered to it."""

    name = "inbox"

    def __init__(self) -> None:
        self.delivered: list[Delivery] = []

    async def start(self, context: SourceContext) -> None:
        await context.request_action(ActionRequest(
            agent="mail-bot", action_class="send_mail", source_ref="inbox-1",
            arguments={"to": "ops@example.com", "subject": "weekly report"}))

    async def stop(self) -> None:
        return None

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        self.delivered.append(delivery)
        return DeliveryResult(DeliveryOutcome.DELIVERED)


@pytest.fixture
def inbox(qtbot: QtBot, services: Services,  # noqa: F811 - fixture
          qasync_loop: asyncio.AbstractEventLoop) -> Iterator[InboxSource]:
    source = InboxSource()
    # Polled once an hour: only a wake-up can deliver within the test's wait.
    runtime = services.make_runtime([source], delivery_interval=3600)
    started = qasync_loop.create_task(runtime.start())
    qtbot.waitUntil(started.done, timeout=WAIT_MS)
    yield source
    stopped = qasync_loop.create_task(runtime.stop())
    qtbot.waitUntil(stopped.done, timeout=WAIT_MS)


def test_a_console_verdict_is_delivered_without_waiting_for_the_poll(
        qtbot: QtBot, window: MainWindow, inbox: InboxSource) -> None:  # noqa: F811
    model = queue_of(window).model
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=WAIT_MS)
    action_id = model.ids()[0]
    qtbot.waitUntil(lambda: current(window) == action_id and ready(window, action_id),
                    timeout=WAIT_MS)
    queue_of(window).focus_list()
    press(qtbot, window, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: bool(inbox.delivered), timeout=WAIT_MS)
    [delivery] = inbox.delivered
    assert delivery.action.id == action_id
    assert delivery.decision.verdict == "approve"
    assert delivery.decision.reviewer == "ann"
