"""The Rubrics page in the real window: the rubric checked as it is typed (the problem
named, Save off), a valid edit saved as the next version that the Label page then
answers, a rubric unchanged says no version would be made, drafts kept across
rubrics, a new rubric, and import / export through non-blocking file dialogs."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QFileDialog
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from countersign.review.rubric import default_rubrics, parse_rubric_toml
from countersign.session import Services
from countersign.store.models import AuditEventRow
from countersign_ui.main_window import MainWindow
from countersign_ui.palette import colours
from countersign_ui.review.rubrics_model import RubricsModel
from countersign_ui.review.rubrics_page import EDITOR_SOURCE, STALE_PREVIEW, RubricsPage
from countersign_ui.review.workspace import ReviewWorkspace
from countersign_ui.shortcuts import ShortcutsDialog

from ..test_queue_e2e import WAIT_MS, press, window  # noqa: F401 - fixture
from .test_review_workspace import CTRL_SHIFT, on_review, services, shown_id  # noqa: F401

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

#: A required question inserted before failure_category in the action rubric.
CHECKED_SOURCE = ('[[questions]]\nkey = "checked_source"\nprompt = "Did you check the '
                  'source record?"\ntype = "boolean"\nrequired = true\n\n')


def on_rubrics(qtbot: QtBot, window: MainWindow) -> RubricsPage:  # noqa: F811
    review = on_review(qtbot, window)
    press(qtbot, window, Qt.Key.Key_U, CTRL_SHIFT)
    page = review.rubrics
    qtbot.waitUntil(lambda: page.editor.hasFocus() and "action-outcome" in
                    page.editor.toPlainText(), timeout=WAIT_MS)
    return page


def select_text(page: RubricsPage, text: str) -> None:
    """Select the first ``text`` in the editor (typing replaces it)."""
    at = page.editor.toPlainText().index(text)
    cursor = page.editor.textCursor()
    cursor.setPosition(at)
    cursor.setPosition(at + len(text), QTextCursor.MoveMode.KeepAnchor)
    page.editor.setTextCursor(cursor)


def insert_before(page: RubricsPage, anchor: str, text: str) -> None:
    """Put ``text`` in front of ``anchor``, as a paste there would."""
    cursor = page.editor.textCursor()
    cursor.setPosition(page.editor.toPlainText().index(anchor))
    page.editor.setTextCursor(cursor)
    page.editor.insertPlainText(text)


def saved_events(services: Services) -> list[tuple[str, str]]:  # noqa: F811
    with services.store.read() as session:
        rows = session.execute(select(AuditEventRow.actor, AuditEventRow.payload_json).where(
            AuditEventRow.kind == "rubric.saved")).all()
    return [(actor, payload) for actor, payload in rows]


def test_the_rubrics_model_passes_qt_s_model_contract(qtmodeltester: ModelTester) -> None:
    model = RubricsModel()
    qtmodeltester.check(model)
    shipped = default_rubrics()
    model.set_rubrics([r.model_copy(update={"version": 1}) for r in shipped])
    model.set_edited({shipped[0].name})
    qtmodeltester.check(model)
    assert model.index(0, 1).data() == "1 · edited"
    assert model.index(1, 2).data() == "runs"


def test_an_invalid_rubric_is_named_as_typed_and_cannot_be_saved(
        qtbot: QtBot, window: MainWindow, services: Services) -> None:  # noqa: F811
    page = on_rubrics(qtbot, window)
    assert not window.commands["review.skip"].isEnabled()  # S types here
    assert "Same as action-outcome version 1" in page.problem.text()
    assert "no new version" in page.problem.text() and not page.save_button.isEnabled()
    select_text(page, '"boolean"')
    qtbot.keyClicks(page.editor, '"bool"')
    qtbot.waitUntil(lambda: "type" in page.problem.text()
                    and "bool" in page.problem.text(), timeout=WAIT_MS)
    assert page.problem.text().startswith("rubric: questions[1] ('harm').type: unknown value")
    assert colours().error in page.problem.styleSheet()
    assert page.problem.textFormat() == Qt.TextFormat.PlainText
    assert not page.save_button.isEnabled()
    assert page.preview_heading.text() == STALE_PREVIEW and not page.preview.isEnabled()
    # A broken TOML line is named by its line and column.
    select_text(page, 'required = true')
    qtbot.keyClicks(page.editor, 'required true')
    qtbot.waitUntil(lambda: "not valid TOML" in page.problem.text(), timeout=WAIT_MS)
    assert "line" in page.problem.text() and not page.save_button.isEnabled()
    page.revert_button.click()
    qtbot.waitUntil(lambda: "Same as action-outcome version 1" in page.problem.text(),
                    timeout=WAIT_MS)
    assert page.preview.isEnabled() and saved_events(services) == []


def test_a_valid_edit_saves_the_next_version_which_new_labels_answer(
        qtbot: QtBot, window: MainWindow, services: Services) -> None:  # noqa: F811
    page = on_rubrics(qtbot, window)
    review = window.workspace(ReviewWorkspace)
    insert_before(page, '[[questions]]\nkey = "failure_category"', CHECKED_SOURCE)
    qtbot.waitUntil(page.save_button.isEnabled, timeout=WAIT_MS)
    assert page.problem.text() == "✓ Valid · Save makes action-outcome version 2"
    assert colours().ok in page.problem.styleSheet()
    # The preview is the reviewer's form, with the new question, and answers nothing.
    assert [w.question.key for w in page.preview.questions][2] == "checked_source"
    assert page.preview.title.text() == "action-outcome · version 2 once saved"
    assert all(w.focusPolicy() == Qt.FocusPolicy.NoFocus for w in page.preview.questions)
    page.save_button.click()
    qtbot.waitUntil(lambda: services.review.rubric("action-outcome").version == 2,
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "version 2 when exported" in page.editor.toPlainText(),
                    timeout=WAIT_MS)
    assert page.status.text() == ("Saved action-outcome version 2: new labels answer "
                                  "this version")
    assert page.model.index(0, 1).data() == "2" and page.version.count() == 2
    assert "saving makes no new version" in page.problem.text()
    [(actor, payload)] = saved_events(services)
    assert actor == "ann" and EDITOR_SOURCE in payload
    # The Label page shows the item on screen with the new form; the label records 2.
    press(qtbot, window, Qt.Key.Key_L, CTRL_SHIFT)
    form = review.pane.form
    qtbot.waitUntil(lambda: form.rubric is not None and form.rubric.version == 2,
                    timeout=WAIT_MS)
    item = shown_id(review)
    assert item is not None and len(form.questions) == 5
    qtbot.waitUntil(lambda: form.current_question() is not None
                    and form.current_question().hasFocus(), timeout=WAIT_MS)
    for key, then in ((Qt.Key.Key_1, 1), (Qt.Key.Key_2, 2), (Qt.Key.Key_1, 3)):
        press(qtbot, window, key)  # correct, no harm, checked the source
        qtbot.waitUntil(lambda then=then: form.current_index == then, timeout=WAIT_MS)
    press(qtbot, window, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(services.review.labels(item)) == 1, timeout=WAIT_MS)
    [label] = services.review.labels(item)
    assert label.rubric_version == 2
    assert label.answers == {"correct": "correct", "harm": False, "checked_source": True}


def test_edits_are_kept_as_drafts_across_rubrics_and_versions(
        qtbot: QtBot, window: MainWindow, services: Services) -> None:  # noqa: F811
    page = on_rubrics(qtbot, window)
    select_text(page, "Was the action correct?")
    qtbot.keyClicks(page.editor, "Was it right?")
    qtbot.waitUntil(lambda: page.model.index(0, 1).data() == "1 · edited", timeout=WAIT_MS)
    with qtbot.waitSignal(page.model.modelReset, timeout=WAIT_MS):
        press(qtbot, window, Qt.Key.Key_F5)  # reads the rubrics again, keeps the edit
    assert "Was it right?" in page.editor.toPlainText()
    page.table.selectRow(1)
    qtbot.waitUntil(lambda: 'name = "run-outcome"' in page.editor.toPlainText(),
                    timeout=WAIT_MS)
    assert page.model.index(0, 1).data() == "1 · edited"  # still marked while away
    page.table.selectRow(0)
    qtbot.waitUntil(lambda: "Was it right?" in page.editor.toPlainText(), timeout=WAIT_MS)
    page.revert_button.click()
    qtbot.waitUntil(lambda: page.model.index(0, 1).data() == "1", timeout=WAIT_MS)
    assert "Was the action correct?" in page.editor.toPlainText()


def test_a_new_rubric_is_saved_as_version_1_and_listed(
        qtbot: QtBot, window: MainWindow, services: Services) -> None:  # noqa: F811
    page = on_rubrics(qtbot, window)
    review = window.workspace(ReviewWorkspace)
    page.new_button.click()
    qtbot.waitUntil(lambda: 'name = "new-rubric"' in page.editor.toPlainText(),
                    timeout=WAIT_MS)
    assert not page.table.currentIndex().isValid() and not page.export_button.isEnabled()
    select_text(page, "new-rubric")
    qtbot.keyClicks(page.editor, "refund-checks")
    qtbot.waitUntil(lambda: "version 1 of a new rubric, refund-checks"
                    in page.problem.text(), timeout=WAIT_MS)
    page.save_button.click()
    qtbot.waitUntil(lambda: page.model.row_of("refund-checks") is not None, timeout=WAIT_MS)
    assert services.review.rubric("refund-checks").version == 1
    qtbot.waitUntil(lambda: page.table.currentIndex().row() == page.model.row_of(
        "refund-checks"), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: review.agreement.rubric.findText("refund-checks") >= 0,
                    timeout=WAIT_MS)


def choose_in_dialog(qtbot: QtBot, page: RubricsPage, path: Path) -> None:
    """The dialog the button opened is on screen while the test goes on (``open()``,
    not ``exec()``): pick ``path`` in it."""
    qtbot.waitUntil(lambda: page.dialog is not None and page.dialog.isVisible(),
                    timeout=WAIT_MS)
    dialog = page.dialog
    assert isinstance(dialog, QFileDialog) and dialog.isModal()
    dialog.selectFile(str(path))
    dialog.accept()
    qtbot.waitUntil(lambda: page.dialog is None, timeout=WAIT_MS)


def test_export_and_import_go_through_files_in_the_documented_form(
        qtbot: QtBot, window: MainWindow, services: Services,  # noqa: F811
        tmp_path: Path) -> None:
    page = on_rubrics(qtbot, window)
    files = tmp_path / "repository"
    files.mkdir()
    out = files / "action-outcome.toml"
    page.export_button.click()
    choose_in_dialog(qtbot, page, out)
    qtbot.waitUntil(lambda: "Exported action-outcome version 1" in page.status.text(),
                    timeout=WAIT_MS)
    assert out.read_text() == services.review.export_rubric("action-outcome", 1)
    assert list(files.iterdir()) == [out]  # no temporary file left beside it
    # The file unchanged: importing it would make no version, and the page says so.
    page.import_button.click()
    choose_in_dialog(qtbot, page, out)
    qtbot.waitUntil(lambda: f"Read {out}" in page.status.text(), timeout=WAIT_MS)
    assert "no new version" in page.problem.text() and not page.save_button.isEnabled()
    # A file with a duplicate key is named with the file and the field; nothing stored.
    bad = files / "bad.toml"
    bad.write_text(out.read_text().replace('key = "note"', 'key = "harm"'))
    page.import_button.click()
    choose_in_dialog(qtbot, page, bad)
    qtbot.waitUntil(lambda: "duplicate key" in page.problem.text(), timeout=WAIT_MS)
    assert page.problem.text().startswith("bad.toml: questions[3].key: duplicate key 'harm'")
    assert not page.save_button.isEnabled()
    # A team's edited file: read, checked, previewed, then stored as an import.
    edited = files / "edited.toml"
    edited.write_text(out.read_text().replace('[[questions]]\nkey = "failure_category"',
                                              CHECKED_SOURCE + '[[questions]]\n'
                                              'key = "failure_category"'))
    page.import_button.click()
    choose_in_dialog(qtbot, page, edited)
    qtbot.waitUntil(lambda: page.save_button.isEnabled(), timeout=WAIT_MS)
    assert page.editor.toPlainText() == edited.read_text()
    assert any(w.question.key == "checked_source" for w in page.preview.questions)
    assert services.review.rubric("action-outcome").version == 1  # not stored yet
    page.save_button.click()
    qtbot.waitUntil(lambda: services.review.rubric("action-outcome").version == 2,
                    timeout=WAIT_MS)
    stored = services.review.rubric("action-outcome")
    assert stored.questions == parse_rubric_toml(edited.read_text()).questions
    [(actor, payload)] = saved_events(services)
    assert actor == "ann" and str(edited) in payload


def test_a_file_that_cannot_be_read_is_said_plainly(
        qtbot: QtBot, window: MainWindow, services: Services,  # noqa: F811
        tmp_path: Path) -> None:
    page = on_rubrics(qtbot, window)
    binary = tmp_path / "rubric.toml"
    binary.write_bytes(b"name = \"x\xff\"\n")
    page.import_file(binary)
    qtbot.waitUntil(lambda: "not UTF-8" in page.status.text(), timeout=WAIT_MS)
    assert colours().error in page.status.styleSheet()
    assert "action-outcome" in page.editor.toPlainText()  # the editor is untouched
    page.export_to(tmp_path / "missing-folder" / "x.toml")
    qtbot.waitUntil(lambda: "cannot write" in page.status.text(), timeout=WAIT_MS)
    assert not (tmp_path / "missing-folder").exists()


def test_the_rubrics_key_is_in_the_cheatsheet(
        qtbot: QtBot, window: MainWindow, services: Services) -> None:  # noqa: F811
    on_review(qtbot, window)
    window.show_shortcuts()
    dialog = window.findChild(ShortcutsDialog)
    assert dialog is not None
    assert dict(dialog.listed())["Rubrics"] == "Ctrl+Shift+U"
    dialog.close()
