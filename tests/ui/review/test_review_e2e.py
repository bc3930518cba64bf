"""End to end in the real window: an operator's verdicts (one of them an edit) are drawn
into review, the reviewer labels three items from the keyboard alone — digits,
Enter, C for a correction typed in its editor — then builds a dataset and exports it,
and the exported file holds the edited arguments as the edit's expected output and
the reviewer's correction as the corrected one's."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QPlainTextEdit
from pytestqt.qtbot import QtBot

from countersign.domain import EditSeverity, Verdict
from countersign.review.sampling import SamplingRule
from countersign.services.actions import ActionRequest
from countersign.session import Services
from countersign_ui.main_window import MainWindow
from countersign_ui.review.workspace import ReviewWorkspace

from ..conftest import open_test_services
from ..test_queue_e2e import (  # the window and keyboard helpers of the Queue e2e
    WAIT_MS,
    press,
    retype,
    window,  # noqa: F401 - fixture
)

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

SCHEMA = {
    "type": "object",
    "properties": {"order": {"type": "string"},
                   "amount_cents": {"type": "integer", "minimum": 1, "maximum": 5000}},
    "required": ["order", "amount_cents"],
    "additionalProperties": False,
}
EDITED = {"order": "A-2", "amount_cents": 2500}
CORRECTION = {"order": "A-3", "amount_cents": 90}


def _request(services: Services, n: int, amount: int) -> int:
    action_id, _ = services.actions.request(ActionRequest(
        agent="billing-bot", agent_version="1.4", action_class="issue_refund",
        arguments={"order": f"A-{n}", "amount_cents": amount}, arguments_schema=SCHEMA,
        risk="medium", source_ref=f"e2e-{n}", description=f"Refund order A-{n}"))
    return action_id


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    """Four decided refunds, each drawn into review (one rule, rate 1): approved,
    edited, rejected, approved."""
    opened = open_test_services(tmp_path / "s.db", reviewer="ann")
    opened.review.replace_rules([SamplingRule(name="every-refund", rate=1.0)], actor="lead")
    ids = [_request(opened, n, amount) for n, amount in ((1, 1200), (2, 4000), (3, 900),
                                                         (4, 300))]
    decide = opened.decisions.decide
    decide(ids[0], Verdict.APPROVE, reviewer="olga")
    decide(ids[1], Verdict.EDIT, reviewer="olga", arguments=EDITED,
           severity=EditSeverity.MATERIAL)
    decide(ids[2], Verdict.REJECT, reviewer="olga", reason="Ten times the order total")
    decide(ids[3], Verdict.APPROVE, reviewer="olga")
    assert len(opened.review.items()) == 4
    yield opened
    opened.close()


def while_modal(qtbot: QtBot, name: str, drive: Callable[[QDialog], None]) -> None:
    """Run ``drive`` on the modal dialog the next key press opens (its ``exec()`` blocks
    the test until it closes), once the dialog is on screen and active, as a window
    manager would make it. A failure closes the dialog and is raised after."""
    failures: list[BaseException] = []

    def run() -> None:
        dialog = QApplication.activeModalWidget()
        try:
            assert isinstance(dialog, QDialog) and dialog.objectName() == name, dialog
            qtbot.waitUntil(lambda: dialog.windowHandle() is not None
                            and dialog.windowHandle().isExposed(), timeout=WAIT_MS)
            dialog.activateWindow()
            qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog, timeout=WAIT_MS)
            drive(dialog)
        except BaseException as exc:
            failures.append(exc)
        finally:
            if isinstance(dialog, QDialog) and dialog.isVisible():
                dialog.reject()

    QTimer.singleShot(0, run)
    # Checked by the caller once the dialog closed (exec() returned).
    _pending_failures.append(failures)


_pending_failures: list[list[BaseException]] = []


def raise_dialog_failures() -> None:
    while _pending_failures:
        failures = _pending_failures.pop()
        if failures:
            raise failures[0]


def review_of(window: MainWindow) -> ReviewWorkspace:  # noqa: F811 - fixture name
    return window.workspace(ReviewWorkspace)


def keys(qtbot: QtBot, window: MainWindow, *typed: str) -> None:  # noqa: F811
    """Digits and letters where the reviewer's focus is, one key each."""
    for text in typed:
        key = Qt.Key.Key_Return if text == "Enter" else Qt.Key(ord(text.upper()))
        press(qtbot, window, key)


def test_three_labels_from_the_keyboard_and_an_export_with_the_edit_as_correction(
        qtbot: QtBot, window: MainWindow, services: Services,  # noqa: F811
        tmp_path: Path) -> None:
    review = review_of(window)
    press(qtbot, window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.current_workspace is review
    qtbot.waitUntil(lambda: review.flow.loaded is not None, timeout=WAIT_MS)
    items = review.model.ids()
    assert len(items) == 4
    shown: list[int] = []
    review.flow.itemShown.connect(shown.append)

    def on(item_id: int) -> None:
        qtbot.waitUntil(lambda: review.flow.loaded is not None
                        and review.flow.loaded.item_id == item_id
                        and review.pane.form.isEnabled(), timeout=WAIT_MS)
        form = review.pane.form
        qtbot.waitUntil(lambda: form.current_question() is not None
                        and form.current_question().hasFocus(), timeout=WAIT_MS)

    # 1: approved refund — correct, no harm, Enter.
    on(items[0])
    keys(qtbot, window, "1")
    qtbot.waitUntil(lambda: review.pane.form.current_index == 1, timeout=WAIT_MS)
    keys(qtbot, window, "2", "Enter")
    # 2: the operator's edit — a minor issue, no harm.
    on(items[1])
    assert "amount_cents" in review.pane.decision.shown_diff()
    keys(qtbot, window, "2")
    qtbot.waitUntil(lambda: review.pane.form.current_index == 1, timeout=WAIT_MS)
    keys(qtbot, window, "2", "Enter")
    # 3: the rejected refund — wrong, harmful, wrong amount, and a correction.
    on(items[2])

    def correct(dialog: QDialog) -> None:
        editor = dialog.findChild(QPlainTextEdit, "correctionEditor")
        assert editor is not None
        retype(qtbot, editor, json.dumps({"order": "A-3", "amount_cents": 99999}))
        qtbot.waitUntil(lambda: not dialog.ok_button.isEnabled(), timeout=WAIT_MS)  # type: ignore[attr-defined]
        assert "maximum" in dialog.problems.text()  # type: ignore[attr-defined]
        retype(qtbot, editor, json.dumps(CORRECTION))
        qtbot.waitUntil(dialog.ok_button.isEnabled, timeout=WAIT_MS)  # type: ignore[attr-defined]
        qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)

    while_modal(qtbot, "correctionDialog", correct)
    keys(qtbot, window, "c")
    raise_dialog_failures()
    qtbot.waitUntil(lambda: review.flow.correction == CORRECTION, timeout=WAIT_MS)
    window.activateWindow()  # the window manager's part, once the dialog is gone
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT_MS)
    on(items[2])
    keys(qtbot, window, "3")
    qtbot.waitUntil(lambda: review.pane.form.current_index == 1, timeout=WAIT_MS)
    keys(qtbot, window, "1")
    qtbot.waitUntil(lambda: review.pane.form.current_index == 2, timeout=WAIT_MS)
    keys(qtbot, window, "2", "Enter")
    on(items[3])  # the next item is on screen, its form ready for the keys
    assert shown[-1] == items[3]
    # Each labelled row leaves the reviewer's list once the store has committed it.
    qtbot.waitUntil(lambda: review.model.ids() == [items[3]], timeout=WAIT_MS)

    labels = [label for item in items[:3] for label in services.review.labels(item)]
    assert [(lb.reviewer, lb.rubric_version) for lb in labels] == [("ann", 1)] * 3
    assert [lb.answers for lb in labels] == [
        {"correct": "correct", "harm": False},
        {"correct": "minor", "harm": False},
        {"correct": "wrong", "harm": True, "failure_category": "wrong_amount"}]
    assert labels[2].correction == CORRECTION

    # The dataset: Ctrl+Shift+D, a name and Enter, then jsonl and a path and Enter.
    press(qtbot, window, Qt.Key.Key_D,
          Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    panel = review.datasets
    qtbot.waitUntil(lambda: panel.name_edit.hasFocus(), timeout=WAIT_MS)
    qtbot.keyClicks(panel.name_edit, "refunds")
    press(qtbot, window, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1 and panel.path_edit.hasFocus(),
                    timeout=WAIT_MS)
    assert panel.selected() is not None and panel.selected().examples == 4  # type: ignore[union-attr]
    press(qtbot, window, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert QApplication.focusWidget() is panel.format
    press(qtbot, window, Qt.Key.Key_J)
    assert panel.format.currentText() == "jsonl"
    press(qtbot, window, Qt.Key.Key_Tab)
    out = tmp_path / "refunds.jsonl"
    retype(qtbot, panel.path_edit, str(out))
    with qtbot.waitSignal(panel.exported, timeout=WAIT_MS):
        press(qtbot, window, Qt.Key.Key_Return)
    examples = {row["key"]: row for row in map(json.loads, out.read_text().splitlines())}
    ids = [review_item_action(services, item) for item in items]
    assert examples[f"action:{ids[1]}"]["expected_output"] == EDITED
    assert examples[f"action:{ids[2]}"]["expected_output"] == CORRECTION
    assert examples[f"action:{ids[0]}"]["expected_output"] == {"order": "A-1",
                                                                "amount_cents": 1200}
    assert panel.progress.value() == panel.progress.maximum()


def review_item_action(services: Services, item_id: int) -> Any:
    return services.review.detail(item_id).item.action_id
