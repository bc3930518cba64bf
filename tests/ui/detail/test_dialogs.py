"""The verdict dialogs: edits are checked as typed and need a severity; rejecting
needs a reason; everything works from the keyboard."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QPlainTextEdit, QRadioButton
from pytestqt.qtbot import QtBot

from countersign.domain import ActionDetail, EditSeverity
from countersign_ui.queue.dialogs import (
    EditDialog,
    RejectDialog,
    RespondDialog,
    ask_edit,
    ask_reject,
    ask_respond,
)

from .samples import parsed


@pytest.fixture
def edit_dialog(qtbot: QtBot, detail: ActionDetail) -> EditDialog:
    dialog = EditDialog(detail, parsed(detail))
    qtbot.addWidget(dialog)
    return dialog


def show_active(qtbot: QtBot, dialog: EditDialog) -> None:
    """Shortcuts only reach the active window."""
    with qtbot.waitActive(dialog):
        dialog.show()
        dialog.activateWindow()


def set_amount(dialog: EditDialog, amount: str) -> None:
    text = re.sub(r'"amount_cents": [^,]+', f'"amount_cents": {amount}',
                  dialog.editor.toPlainText())
    dialog.editor.setPlainText(text)
    dialog.validate_now()


def test_opens_with_pretty_original_and_ok_disabled(edit_dialog: EditDialog) -> None:
    assert edit_dialog.objectName() == "editDialog"
    assert edit_dialog.findChild(QPlainTextEdit, "argumentsEditor") is edit_dialog.editor
    assert '  "amount_cents": 12999,' in edit_dialog.editor.toPlainText()
    # the hidden RLO is an escape in the editor, not an invisible character
    assert "\\u202e" in edit_dialog.editor.toPlainText()
    assert "\u202e" not in edit_dialog.editor.toPlainText()
    assert not edit_dialog.ok_button.isEnabled()
    assert "change something" in edit_dialog.status_label.text()


def test_schema_error_blocks_ok_and_names_the_path(edit_dialog: EditDialog) -> None:
    set_amount(edit_dialog, "-5")
    edit_dialog.severity_radios[EditSeverity.MATERIAL].setChecked(True)
    assert not edit_dialog.ok_button.isEnabled()
    assert "$.amount_cents: -5 is less than the minimum of 1" in edit_dialog.problems_label.text()
    set_amount(edit_dialog, "9999")
    assert edit_dialog.ok_button.isEnabled()
    assert "✓ Valid JSON" in edit_dialog.problems_label.text()


def test_syntax_error_gives_line_and_column(edit_dialog: EditDialog) -> None:
    text = edit_dialog.editor.toPlainText().replace('"amount_cents": 12999,', '"amount_cents": 1')
    edit_dialog.editor.setPlainText(text)
    edit_dialog.validate_now()
    assert "JSON syntax: Line 3, column 3: Expecting ',' delimiter" in (
        edit_dialog.problems_label.text())
    assert not edit_dialog.ok_button.isEnabled()
    edit_dialog.editor.setPlainText('{"a": NaN}')
    edit_dialog.validate_now()
    assert "NaN is not allowed" in edit_dialog.problems_label.text()


def test_diff_shows_the_changed_line(edit_dialog: EditDialog) -> None:
    set_amount(edit_dialog, "9999")
    diff = edit_dialog.diff_view.shown_text()
    assert '-  "amount_cents": 12999,' in diff
    assert '+  "amount_cents": 9999,' in diff
    assert '"order_id"' not in diff  # far from the change: outside the context


def test_severity_is_required_and_has_shortcuts(qtbot: QtBot, edit_dialog: EditDialog) -> None:
    show_active(qtbot, edit_dialog)
    set_amount(edit_dialog, "9999")
    assert not edit_dialog.ok_button.isEnabled()
    assert "choose how serious" in edit_dialog.status_label.text()
    radios = {r.objectName(): r for r in edit_dialog.findChildren(QRadioButton)}
    assert set(radios) == {"severityCosmetic", "severityMaterial", "severityCritical"}
    assert not any(r.isChecked() for r in radios.values())
    qtbot.keyClick(edit_dialog.editor, Qt.Key.Key_2, Qt.KeyboardModifier.AltModifier)
    assert edit_dialog.severity() is EditSeverity.MATERIAL
    qtbot.keyClick(edit_dialog.editor, Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)
    assert edit_dialog.severity() is EditSeverity.CRITICAL
    assert "Alt+1" in radios["severityCosmetic"].text()
    assert edit_dialog.ok_button.isEnabled()


def test_typing_validates_after_a_pause(qtbot: QtBot, edit_dialog: EditDialog) -> None:
    show_active(qtbot, edit_dialog)
    assert QApplication.focusWidget() is edit_dialog.editor
    cursor = edit_dialog.editor.textCursor()
    cursor.setPosition(1)
    edit_dialog.editor.setTextCursor(cursor)
    qtbot.keyClicks(edit_dialog.editor, "oops")
    qtbot.waitUntil(lambda: "JSON syntax" in edit_dialog.problems_label.text(), timeout=2000)


def test_ctrl_enter_accepts_with_the_result(qtbot: QtBot, edit_dialog: EditDialog) -> None:
    show_active(qtbot, edit_dialog)
    set_amount(edit_dialog, "100")
    edit_dialog.severity_radios[EditSeverity.COSMETIC].setChecked(True)
    with qtbot.waitSignal(edit_dialog.accepted, timeout=1000):
        qtbot.keyClick(edit_dialog.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    result = edit_dialog.result_value
    assert result is not None
    assert result.arguments["amount_cents"] == 100
    assert result.arguments["notify"]["note"] == "Refund for invoice_\u202egpj.exe"
    assert result.severity is EditSeverity.COSMETIC
    assert json.loads(result.text) == result.arguments


def test_draft_and_error_are_shown(qtbot: QtBot, detail: ActionDetail) -> None:
    dialog = EditDialog(detail, parsed(detail), error="already decided by sam", draft='{"x": 1')
    qtbot.addWidget(dialog)
    assert dialog.editor.toPlainText() == '{"x": 1'
    assert dialog.error_banner.text() == "already decided by sam"
    assert "JSON syntax" in dialog.problems_label.text()


def drive_modal(qtbot: QtBot, act: Any) -> None:
    """Run ``act(dialog)`` on the modal dialog once ``exec`` has opened it (made active,
    since shortcuts only reach the active window); a dialog still open after 5 s is
    closed so a broken test fails instead of hanging."""
    def step() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(10, step)
            return
        dialog.activateWindow()
        QTest.qWaitForWindowActive(dialog)
        QTimer.singleShot(5000, dialog, dialog.reject)
        act(dialog)
    QTimer.singleShot(0, step)


def test_ask_edit_returns_the_edit(qtbot: QtBot, detail: ActionDetail) -> None:
    def act(dialog: Any) -> None:
        assert dialog.objectName() == "editDialog"
        set_amount(dialog, "4200")
        qtbot.keyClick(dialog.editor, Qt.Key.Key_1, Qt.KeyboardModifier.AltModifier)
        qtbot.keyClick(dialog.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    drive_modal(qtbot, act)
    result = ask_edit(None, detail, parsed(detail))
    assert result is not None and result.arguments["amount_cents"] == 4200
    assert result.severity is EditSeverity.COSMETIC


def test_escape_cancels(qtbot: QtBot, detail: ActionDetail) -> None:
    drive_modal(qtbot, lambda d: qtbot.keyClick(d.editor, Qt.Key.Key_Escape))
    assert ask_edit(None, detail, parsed(detail)) is None


def test_reject_needs_a_reason(qtbot: QtBot, detail: ActionDetail) -> None:
    dialog = RejectDialog(detail)
    qtbot.addWidget(dialog)
    assert dialog.findChild(QPlainTextEdit, "reasonEditor") is dialog.editor
    assert not dialog.ok_button.isEnabled()
    dialog.editor.setPlainText("   \n ")
    assert not dialog.ok_button.isEnabled()
    dialog.accept()
    assert dialog.result_text is None
    dialog.editor.setPlainText("  Amount exceeds what was paid  ")
    assert dialog.ok_button.isEnabled()


def test_ask_reject_and_respond(qtbot: QtBot, detail: ActionDetail) -> None:
    def type_and_accept(dialog: Any) -> None:
        qtbot.keyClicks(dialog.editor, "Not covered by R-4")
        qtbot.keyClick(dialog.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    drive_modal(qtbot, type_and_accept)
    assert ask_reject(None, detail) == "Not covered by R-4"
    drive_modal(qtbot, type_and_accept)
    assert ask_respond(None, detail) == "Not covered by R-4"


def test_respond_dialog_names(qtbot: QtBot, detail: ActionDetail) -> None:
    dialog = RespondDialog(detail)
    qtbot.addWidget(dialog)
    assert dialog.objectName() == "respondDialog"
    assert dialog.findChild(QPlainTextEdit, "responseEditor") is dialog.editor
    assert not dialog.ok_button.isEnabled()
