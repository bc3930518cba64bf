"""The rubric form, one question type at a time, from the keyboard: digits and hotkeys
answer choices (a hotkey that is a workspace key gives way to the digit), arrows
move along a scale, numbers are checked against their bounds as they are typed,
required questions are marked and named when missing, Tab moves between questions."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QRadioButton, QWidget
from pytestqt.qtbot import QtBot

from countersign.review.rubric import Rubric, default_rubrics, parse_rubric_toml
from countersign_ui.review.questions import (
    ChoiceQuestion,
    NumericQuestion,
    TextQuestion,
    choices_for,
)
from countersign_ui.review.rubric_form import RubricForm

RUBRIC = """
name = "everything"
target = "action"
[[questions]]
key = "ok"
prompt = "Is it fine?"
type = "boolean"
required = true
[[questions]]
key = "kind"
prompt = "What kind of mistake?"
type = "categorical"
required = true
description = "Pick the closest."
options = [
  { value = "target", hotkey = "t", description = "The wrong record." },
  { value = "skipped", hotkey = "s", description = "S is the workspace's Skip key." },
  { value = "amount", hotkey = "3", description = "A wrong sum." },
]
[[questions]]
key = "quality"
prompt = "How good was the reasoning?"
type = "ordinal"
options = [{ value = "poor", description = "Wrong steps." }, { value = "fair" },
           { value = "good", description = "Every step follows." }]
[[questions]]
key = "score"
prompt = "Score"
type = "numeric"
min = 0
max = 10
[[questions]]
key = "note"
prompt = "Note"
type = "text"
"""


@pytest.fixture
def rubric() -> Rubric:
    return parse_rubric_toml(RUBRIC).model_copy(update={"version": 3})


@pytest.fixture
def form(qtbot: QtBot, rubric: Rubric) -> RubricForm:
    widget = RubricForm()
    qtbot.addWidget(widget)
    widget.set_rubric(rubric)
    widget.resize(420, 900)
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is widget)
    return widget


def key(qtbot: QtBot, text: str) -> None:
    """A key press where the focus is, as a reviewer types it."""
    target = QApplication.focusWidget()
    assert target is not None
    if text == "Tab":
        qtbot.keyClick(target, Qt.Key.Key_Tab)
    elif text == "Backtab":
        qtbot.keyClick(target, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    elif text in ("Up", "Down", "Left", "Right", "Backspace"):
        qtbot.keyClick(target, getattr(Qt.Key, f"Key_{text}"))
    else:
        qtbot.keyClicks(target, text)


def current_key(form: RubricForm) -> str:
    widget = form.current_question()
    assert widget is not None
    return widget.question.key


def test_required_questions_are_marked_and_the_missing_one_is_named(
        form: RubricForm, rubric: Rubric) -> None:
    prompts = {w.question.key: w.prompt.text() for w in form.questions}
    assert prompts["ok"].endswith("*") and prompts["kind"].endswith("*")
    assert not prompts["quality"].endswith("*")
    assert form.title.text() == "everything · version 3"
    check = form.check()
    assert check.problem == ("ok", "an answer is required")
    assert "required: ok, kind" in form.status.text()


def test_boolean_answers_to_digits_and_letters_and_moves_on(
        qtbot: QtBot, form: RubricForm) -> None:
    form.focus_question(0)
    key(qtbot, "2")
    assert form.answers() == {"ok": False}
    qtbot.waitUntil(lambda: current_key(form) == "kind")  # one key per answer
    form.focus_question(0)
    key(qtbot, "y")
    assert form.answers()["ok"] is True


def test_categorical_hotkeys_descriptions_and_a_clash_with_a_workspace_key(
        qtbot: QtBot, form: RubricForm) -> None:
    widget = form.question_widget("kind")
    assert isinstance(widget, ChoiceQuestion)
    labels = [button.text() for button in widget.findChildren(QRadioButton)]
    # t is bound; s is Skip in the workspace, so option 2 keeps only its digit.
    assert labels == ["[T / 1]  target", "[2]  skipped", "[3]  amount"]
    assert "workspace key" in widget.buttons[1].toolTip()
    assert "The wrong record." in widget.buttons[0].toolTip()  # escaped by plain_tooltip
    form.focus_question(1)
    notes = [n.text() for n in widget.option_notes if n.isVisible()]
    assert notes == ["The wrong record.", "S is the workspace's Skip key.", "A wrong sum."]
    key(qtbot, "s")  # not an answer here: the workspace's key
    assert "kind" not in form.answers()
    key(qtbot, "t")
    assert form.answers()["kind"] == "target"
    form.focus_question(1)
    key(qtbot, "2")
    assert form.answers()["kind"] == "skipped"
    qtbot.waitUntil(lambda: current_key(form) == "quality")
    assert not any(n.isVisible() for n in widget.option_notes)  # only the current one's


def test_ordinal_is_a_scale_walked_with_arrows_and_cleared_with_backspace(
        qtbot: QtBot, form: RubricForm) -> None:
    widget = form.question_widget("quality")
    assert isinstance(widget, ChoiceQuestion)
    form.focus_question(2)
    key(qtbot, "Right")
    assert form.answers()["quality"] == "poor"
    key(qtbot, "Right")
    key(qtbot, "Right")
    key(qtbot, "Right")  # stays at the end of the scale
    assert form.answers()["quality"] == "good"
    assert widget.chosen_description is not None
    assert widget.chosen_description.text() == "Every step follows."
    key(qtbot, "Backspace")
    assert "quality" not in form.answers()


def test_numeric_is_checked_against_its_bounds_as_it_is_typed(
        qtbot: QtBot, form: RubricForm) -> None:
    widget = form.question_widget("score")
    assert isinstance(widget, NumericQuestion)
    assert widget.edit.placeholderText() == "a number from 0 to 10"
    form.focus_question(3)
    key(qtbot, "12")
    assert widget.problem_label.isVisible()
    assert widget.problem_label.text() == "12 is above the maximum 10"
    assert "score: 12 is above the maximum 10" in form.status.text()
    key(qtbot, "Backspace")
    assert not widget.problem_label.isVisible()
    assert form.answers()["score"] == 1
    widget.edit.setText("2.5e")
    assert form.check().problem == ("score", "'2.5e' is not a number")
    widget.edit.setText("7.5")
    assert form.answers()["score"] == 7.5


def test_text_types_freely_and_tab_cycles_questions_only(
        qtbot: QtBot, form: RubricForm) -> None:
    form.focus_question(4)
    widget = form.question_widget("note")
    assert isinstance(widget, TextQuestion)
    key(qtbot, "s 1 j")  # workspace keys and digits type in a text box
    assert form.answers()["note"] == "s 1 j"
    key(qtbot, "Tab")
    assert current_key(form) == "ok"  # wraps around
    key(qtbot, "Backtab")
    assert current_key(form) == "note"
    assert isinstance(QApplication.focusWidget(), QLineEdit)


def test_a_complete_form_checks_against_the_rubric_and_clears_for_the_next_item(
        qtbot: QtBot, form: RubricForm, rubric: Rubric) -> None:
    form.focus_question(0)
    for typed in ("1", "3"):
        key(qtbot, typed)
        qtbot.wait(5)
    check = form.check()
    assert check.ok and check.answers == {"ok": True, "kind": "amount"}
    assert "ready" in form.status.text()
    built = list(form.questions)
    form.set_rubric(rubric)  # the same rubric again: cleared, not rebuilt
    assert form.questions == built and form.answers() == {}
    form.set_rubric(default_rubrics()[0])
    assert [w.question.key for w in form.questions] == ["correct", "harm",
                                                        "failure_category", "note"]
    assert all(isinstance(w, QWidget) for w in form.questions)


def test_boolean_and_positions_keys_are_derived_from_the_rubric() -> None:
    action, run = default_rubrics()
    assert [c.keys for c in choices_for(action.questions[1])] == [("1", "y"), ("2", "n")]
    assert [c.key_text for c in choices_for(run.questions[1])] == ["1", "2", "3"]
