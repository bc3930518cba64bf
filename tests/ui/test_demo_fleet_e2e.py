"""End to end with the demo fleet: its simulated agents ask through the gate under the
real runtime, the reviewer clears their actions from the keyboard (approve; edit with
a schema error, then a fix; reject; respond), and each agent receives exactly its
verdict, as the fleet itself recorded it."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QPlainTextEdit, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from countersign.domain import ActionDetail, Risk, Verdict
from countersign.plugin_host.loading import load_source_class
from countersign.schema_check import validate
from countersign.session import Services
from countersign_ui.main_window import MainWindow

from .conftest import queue_of
from .test_queue_e2e import (  # the window, store and keyboard helpers of the Queue e2e
    WAIT_MS,
    current,
    press,
    ready,
    retype,
    services,  # noqa: F401 - fixture
    while_dialog_open,
    window,  # noqa: F401 - fixture
)


@pytest.fixture
def fleet(qtbot: QtBot, services: Services, window: MainWindow,  # noqa: F811 - fixtures
          qasync_loop: asyncio.AbstractEventLoop) -> Iterator[Any]:
    demo = load_source_class("demo")(name="demo", config={
        "agents": 4, "seed": 11, "burst": 4, "rate_per_minute": 0.01, "deadline_s": 600})
    runtime = services.make_runtime([demo])
    # The test's qasync loop runs whenever Qt processes events, as in the console.
    started = qasync_loop.create_task(runtime.start())
    qtbot.waitUntil(started.done, timeout=WAIT_MS)
    yield demo
    stopped = qasync_loop.create_task(runtime.stop())
    qtbot.waitUntil(stopped.done, timeout=WAIT_MS)


def a_valid_edit(detail: ActionDetail) -> dict[str, Any]:
    """A change to the proposed arguments that the action's schema accepts."""
    original = json.loads(detail.arguments_json)
    schema = detail.arguments_schema or {}
    for key, value in original.items():
        spec = (schema.get("properties") or {}).get(key, {})
        if "enum" in spec or "const" in spec:
            continue
        candidate = copy.deepcopy(original)
        if isinstance(value, str) and not spec.get("format") and not spec.get("pattern"):
            candidate[key] = value + " (checked)"
        elif isinstance(value, int) and not isinstance(value, bool):
            candidate[key] = value - 1 if value > 1 else value + 1
        else:
            continue
        if not validate(candidate, schema):
            return dict(candidate)
    raise AssertionError(f"no simple valid edit for {detail.action_class}: {original}")


def record_for(fleet: Any, action_id: int) -> Any:
    return next((r for r in fleet.fleet.records() if r.action_id == action_id), None)


def test_demo_agents_receive_exactly_the_keyboard_verdicts(
    qtbot: QtBot, window: MainWindow, fleet: Any,  # noqa: F811 - fixture
) -> None:
    model = queue_of(window).model
    qtbot.waitUntil(lambda: model.rowCount() >= 4, timeout=WAIT_MS)
    ids = model.ids()[:4]
    queue_of(window).focus_list()
    given: dict[int, dict[str, Any]] = {}

    def on(action_id: int) -> ActionDetail:
        qtbot.waitUntil(lambda: current(window) == action_id and ready(window, action_id),
                        timeout=WAIT_MS)
        loaded = queue_of(window).loaded
        assert loaded is not None
        return loaded.detail

    # Which agent asks first varies from run to run; when its action is critical, A
    # arms the confirmation and a second A, after the dwell, approves it.
    first = on(ids[0])
    press(qtbot, window, Qt.Key.Key_A)
    if first.risk is Risk.CRITICAL:
        guard = queue_of(window).flow.guard
        qtbot.waitUntil(lambda: guard.armed() is Verdict.APPROVE, timeout=WAIT_MS)
        armed_at = guard.clock()
        qtbot.waitUntil(lambda: guard.clock() - armed_at > guard.dwell, timeout=WAIT_MS)
        assert current(window) == ids[0], "a single A approved a critical action"
        press(qtbot, window, Qt.Key.Key_A)
    given[ids[0]] = {"outcome": "approve"}

    detail = on(ids[1])
    fixed = a_valid_edit(detail)

    def edit(dialog: QDialog) -> None:
        editor = dialog.findChild(QPlainTextEdit, "argumentsEditor")
        ok = dialog.findChild(QPushButton, "okButton")
        problems = dialog.findChild(QWidget, "problemsLabel")
        assert editor is not None and ok is not None and problems is not None
        retype(qtbot, editor, "[]")  # an array where the schema wants an object
        qtbot.waitUntil(lambda: "$" in problems.text(), timeout=WAIT_MS)  # type: ignore[attr-defined]
        assert not ok.isEnabled()
        retype(qtbot, editor, json.dumps(fixed))
        qtbot.keyClick(editor, Qt.Key.Key_1, Qt.KeyboardModifier.AltModifier)
        qtbot.waitUntil(ok.isEnabled, timeout=WAIT_MS)
        qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)

    while_dialog_open(qtbot, "editDialog", edit)
    press(qtbot, window, Qt.Key.Key_E)
    given[ids[1]] = {"outcome": "edit", "arguments": fixed}

    on(ids[2])

    def reject(dialog: QDialog) -> None:
        editor = dialog.findChild(QPlainTextEdit, "reasonEditor")
        assert editor is not None
        qtbot.keyClicks(editor, "Amount exceeds the order total")
        qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)

    while_dialog_open(qtbot, "rejectDialog", reject)
    press(qtbot, window, Qt.Key.Key_R)
    given[ids[2]] = {"outcome": "reject", "reason": "Amount exceeds the order total"}

    on(ids[3])

    def respond(dialog: QDialog) -> None:
        editor = dialog.findChild(QPlainTextEdit, "responseEditor")
        assert editor is not None
        qtbot.keyClicks(editor, "Check the change window first")
        qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)

    while_dialog_open(qtbot, "respondDialog", respond)
    press(qtbot, window, Qt.Key.Key_S)
    given[ids[3]] = {"outcome": "respond", "response": "Check the change window first"}

    qtbot.waitUntil(lambda: all(record_for(fleet, i) for i in ids), timeout=WAIT_MS)
    for action_id, expected in given.items():
        received = record_for(fleet, action_id).verdict
        assert received.outcome == expected["outcome"], action_id
        assert received.decided_by == "ann"
        if "arguments" in expected:
            assert received.arguments == expected["arguments"]
            assert record_for(fleet, action_id).executed == expected["arguments"]
        if "reason" in expected:
            assert received.reason == expected["reason"]
        if "response" in expected:
            assert received.response == expected["response"]
    # Only the four decided actions got verdicts: no agent heard anything else.
    decided = {r.action_id for r in fleet.fleet.records()}
    assert decided == set(ids)

