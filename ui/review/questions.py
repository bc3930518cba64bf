"""One widget per rubric question type: boolean, categorical, ordinal, numeric, text.

Every question is answered from the keyboard. Choice questions (boolean, categorical,
ordinal) take the focus as a whole, not option by option, so Tab moves between
questions; a key picks an option. Which keys pick which option (`choices_for`):

- the rubric's own hotkey, unless it is one of the workspace's single keys
  (`WORKSPACE_KEYS`: J, K, S, C, /, ?). The workspace wins such a clash: a rubric
  cannot take away Skip or Next, and the option is still answered by its digit;
- the option's position, 1-9, unless another option's hotkey is that digit.

Booleans answer to 1 / Y (yes) and 2 / N (no). Numbers and text are typed; a number is
checked as it is typed (a number at all, within the bounds) and the problem is shown
under the question at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from countersign.review.rubric import Question

from ..palette import Palette, restyle, text_style
from ..qt.core import Qt, Signal
from ..qt.gui import QKeyEvent
from ..qt.widgets import (
    QButtonGroup,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)
from ..widgets.text import plain_tooltip

#: Single keys the Review workspace owns; a rubric hotkey equal to one is not bound.
WORKSPACE_KEYS = frozenset({"j", "k", "s", "c", "/", "?"})
_MOVE_KEYS = {Qt.Key.Key_Up: -1, Qt.Key.Key_Left: -1, Qt.Key.Key_Down: 1,
              Qt.Key.Key_Right: 1}
_CLEAR_KEYS = (Qt.Key.Key_Backspace, Qt.Key.Key_Delete)


@dataclass(frozen=True)
class Choice:
    """One answer a choice question offers, and the keys that give it."""

    value: Any
    label: str
    #: Key texts (lower case) that pick it, the first shown first.
    keys: tuple[str, ...]
    description: str = ""
    #: Why a rubric hotkey is not among ``keys`` (a clash), or "".
    note: str = ""

    @property
    def key_text(self) -> str:
        return " / ".join(key.upper() for key in self.keys)


def choices_for(question: Question, reserved: frozenset[str] = WORKSPACE_KEYS,
                ) -> list[Choice]:
    """The choices of a boolean, categorical or ordinal question with their keys."""
    if question.type == "boolean":
        return [Choice(True, "Yes", ("1", "y")), Choice(False, "No", ("2", "n"))]
    hotkeys = {option.hotkey.casefold() for option in question.options
               if option.hotkey is not None}
    choices = []
    for position, option in enumerate(question.options, start=1):
        keys: list[str] = []
        note = ""
        if option.hotkey is not None:
            hotkey = option.hotkey.casefold()
            if hotkey in reserved:
                note = (f"hotkey {option.hotkey.upper()} is a workspace key here; "
                        "answer with its number")
            else:
                keys.append(hotkey)
        digit = str(position)
        if position <= 9 and digit not in keys and digit not in hotkeys:
            keys.append(digit)
        choices.append(Choice(option.value, option.value, tuple(keys), option.description,
                              note))
    return choices


def _plain(text: str, parent: QWidget, name: str = "") -> QLabel:
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    if name:
        label.setObjectName(name)
    return label


def _frame_style(name: str, current: bool) -> Any:
    def style(palette: Palette) -> str:
        tone = palette.selection
        edge = tone.border if current else palette.muted
        fill = f"background: {tone.background};" if current else ""
        return (f"QFrame#{name} {{ border: 1px solid {edge}; border-radius: 6px; {fill} }}"
                f"QFrame#{name} QLabel, QFrame#{name} QRadioButton "
                "{ background: transparent; border: none; }")
    return style


class QuestionWidget(QFrame):
    """A question: its prompt (required ones marked *), its description, the input,
    and the problem with what was typed, if any."""

    # Signals
    #: The answer, or whether it is acceptable, changed.
    changed = Signal()
    #: Answered by a key press: the form moves on to the next question.
    answeredByKey = Signal()

    def __init__(self, question: Question, number: int, parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.question = question
        self.setObjectName(f"question_{question.key}")
        self._current = False
        marker = "  *" if question.required else ""
        self.prompt = _plain(f"{number}. {question.prompt}{marker}", self, "questionPrompt")
        font = self.prompt.font()
        font.setBold(True)
        self.prompt.setFont(font)
        self.prompt.setWordWrap(True)
        if question.required:
            self.prompt.setToolTip("Required: the label cannot be submitted without it")
        self.description = _plain(question.description, self, "questionDescription")
        self.description.setWordWrap(True)
        self.description.setVisible(bool(question.description))
        restyle(self.description, lambda p: text_style("QLabel", p.muted))
        self.problem_label = _plain("", self, "questionProblem")
        self.problem_label.setWordWrap(True)
        self.problem_label.hide()
        restyle(self.problem_label, lambda p: text_style("QLabel", p.error))
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(10, 6, 10, 6)
        self.body.setSpacing(3)
        self.body.addWidget(self.prompt)
        self.body.addWidget(self.description)
        self.set_current(False)

    # -- what subclasses provide ---------------------------------------------------------

    def value(self) -> Any:
        """The answer, or None while unanswered (or while what is typed is refused)."""
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def clear_answer(self) -> None:
        self.set_value(None)

    def problem(self) -> str | None:
        """What is wrong with the typed answer now, in words, or None."""
        return None

    def answer_key(self, key: str) -> bool:
        """Answer with the option ``key`` picks; False when no option answers to it."""
        return False

    def focus_input(self) -> None:
        self.setFocus(Qt.FocusReason.TabFocusReason)

    # -- shared --------------------------------------------------------------------------

    @property
    def answered(self) -> bool:
        return self.value() is not None

    def set_current(self, current: bool) -> None:
        """Mark this as the question the digits answer now."""
        self._current = current
        restyle(self, _frame_style(self.objectName(), current))

    @property
    def is_current(self) -> bool:
        return self._current

    def _show_problem(self) -> None:
        problem = self.problem()
        self.problem_label.setText(problem or "")
        self.problem_label.setVisible(problem is not None)


class ChoiceQuestion(QuestionWidget):
    """Boolean, categorical or ordinal: one of a few options, picked by key, arrow or
    click. Categorical options are listed with their descriptions; boolean and ordinal
    ones lie in a row (ordinal: the scale in order) with the chosen one's description
    below."""

    def __init__(self, question: Question, number: int, parent: QWidget | None = None,
                 *, reserved: frozenset[str] = WORKSPACE_KEYS) -> None:
        super().__init__(question, number, parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.choices = choices_for(question, reserved)
        self.group = QButtonGroup(self)
        self.group.setExclusive(False)  # so an optional answer can be cleared
        self.buttons: list[QRadioButton] = []
        #: The options' descriptions (categorical): shown while the question is current.
        self.option_notes: list[QLabel] = []
        listed = question.type == "categorical"
        grid = QGridLayout()
        grid.setContentsMargins(0, 2, 0, 0)
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(2)
        row_box = QHBoxLayout()
        row_box.setContentsMargins(0, 2, 0, 0)
        row_box.setSpacing(18)
        for index, choice in enumerate(self.choices):
            keys = f"[{choice.key_text}]  " if choice.keys else ""
            button = QRadioButton(f"{keys}{choice.label}", self)
            button.setObjectName(f"option_{index}")
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            tip = choice.description + (f" ({choice.note})" if choice.note else "")
            button.setToolTip(plain_tooltip(tip))
            self.group.addButton(button, index)
            self.buttons.append(button)
            if listed:
                grid.addWidget(button, 2 * index, 0)
                if choice.description:
                    note = _plain(choice.description, self)
                    note.setWordWrap(True)
                    note.setIndent(26)
                    restyle(note, lambda p: text_style("QLabel", p.muted))
                    grid.addWidget(note, 2 * index + 1, 0)
                    self.option_notes.append(note)
            else:
                row_box.addWidget(button)
        if listed:
            self.body.addLayout(grid)
            self.chosen_description = None
        else:
            row_box.addStretch(1)
            self.body.addLayout(row_box)
            self.chosen_description = _plain("", self, "chosenDescription")
            self.chosen_description.setWordWrap(True)
            restyle(self.chosen_description, lambda p: text_style("QLabel", p.muted))
            self.chosen_description.hide()
            self.body.addWidget(self.chosen_description)
        self.group.idClicked.connect(self._clicked)
        self.body.addWidget(self.problem_label)
        self.set_current(self.is_current)

    def set_current(self, current: bool) -> None:
        """The current question lists what each option means; the others keep to
        their options, so the whole rubric fits beside the item."""
        super().set_current(current)
        for note in getattr(self, "option_notes", ()):
            note.setVisible(current)

    def value(self) -> Any:
        index = self.selected_index()
        return None if index is None else self.choices[index].value

    def selected_index(self) -> int | None:
        for index, button in enumerate(self.buttons):
            if button.isChecked():
                return index
        return None

    def set_value(self, value: Any) -> None:
        chosen = next((i for i, c in enumerate(self.choices)
                       if value is not None and c.value == value
                       and type(c.value) is type(value)), None)
        self._select(chosen)

    def _select(self, index: int | None) -> None:
        before = self.selected_index()
        for i, button in enumerate(self.buttons):
            button.setChecked(i == index)
        if self.chosen_description is not None:
            text = self.choices[index].description if index is not None else ""
            self.chosen_description.setText(text)
            self.chosen_description.setVisible(bool(text))
        if before != index:
            self.changed.emit()

    def _clicked(self, index: int) -> None:
        # A click on the chosen option keeps it (unchecking is Backspace's job).
        self._select(index)
        self.setFocus(Qt.FocusReason.MouseFocusReason)

    def answer_key(self, key: str) -> bool:
        wanted = key.casefold()
        for index, choice in enumerate(self.choices):
            if wanted in choice.keys:
                self._select(index)
                self.answeredByKey.emit()
                return True
        return False

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = Qt.Key(event.key())
        plain = event.modifiers() in (Qt.KeyboardModifier.NoModifier,
                                      Qt.KeyboardModifier.KeypadModifier)
        if plain and key in _MOVE_KEYS:
            current = self.selected_index()
            step = _MOVE_KEYS[key]
            start = (-1 if step > 0 else len(self.choices)) if current is None else current
            self._select(max(0, min(len(self.choices) - 1, start + step)))
            return
        if plain and key in _CLEAR_KEYS:
            self._select(None)
            return
        if plain and event.text() and self.answer_key(event.text()):
            return
        super().keyPressEvent(event)


class NumericQuestion(QuestionWidget):
    """A number typed, checked as it is typed against the question's bounds."""

    def __init__(self, question: Question, number: int, parent: QWidget | None = None
                 ) -> None:
        super().__init__(question, number, parent)
        self.edit = QLineEdit(self)
        self.edit.setObjectName("numberEdit")
        low, high = question.min, question.max
        if low is not None and high is not None:
            hint = f"a number from {low:g} to {high:g}"
        elif low is not None:
            hint = f"a number, at least {low:g}"
        elif high is not None:
            hint = f"a number, at most {high:g}"
        else:
            hint = "a number"
        self.edit.setPlaceholderText(hint)
        self.edit.setMaximumWidth(220)
        self.body.addWidget(self.edit)
        self.body.addWidget(self.problem_label)
        self.setFocusProxy(self.edit)
        self.edit.textChanged.connect(self._typed)

    def _parsed(self) -> tuple[float | int | None, str | None]:
        text = self.edit.text().strip()
        if not text:
            return None, None
        try:
            number: float | int = int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                return None, f"{text!r} is not a number"
        if not math.isfinite(number):
            return None, "must be a finite number"
        low, high = self.question.min, self.question.max
        if low is not None and number < low:
            return None, f"{number:g} is below the minimum {low:g}"
        if high is not None and number > high:
            return None, f"{number:g} is above the maximum {high:g}"
        return number, None

    def value(self) -> Any:
        return self._parsed()[0]

    def problem(self) -> str | None:
        return self._parsed()[1]

    def set_value(self, value: Any) -> None:
        self.edit.setText("" if value is None else f"{value:g}")

    def focus_input(self) -> None:
        self.edit.setFocus(Qt.FocusReason.TabFocusReason)
        self.edit.selectAll()

    def _typed(self) -> None:
        self._show_problem()
        self.changed.emit()


class TextQuestion(QuestionWidget):
    """Free text on one line; Enter in it submits the label like anywhere else."""

    # Signals
    #: Enter was pressed in the text.
    submitted = Signal()

    def __init__(self, question: Question, number: int, parent: QWidget | None = None
                 ) -> None:
        super().__init__(question, number, parent)
        self.edit = QLineEdit(self)
        self.edit.setObjectName("textEdit")
        self.edit.setPlaceholderText("Type here · Enter submits the label"
                                     if not question.required else "Required · type here")
        self.edit.setClearButtonEnabled(True)
        self.body.addWidget(self.edit)
        self.body.addWidget(self.problem_label)
        self.setFocusProxy(self.edit)
        self.edit.textChanged.connect(self.changed)
        self.edit.returnPressed.connect(self.submitted)

    def value(self) -> Any:
        text = self.edit.text()
        return text if text.strip() else None

    def set_value(self, value: Any) -> None:
        self.edit.setText("" if value is None else str(value))

    def focus_input(self) -> None:
        self.edit.setFocus(Qt.FocusReason.TabFocusReason)


def make_question(question: Question, number: int, parent: QWidget | None = None,
                  ) -> QuestionWidget:
    """The widget for ``question``'s type."""
    if question.type in ("boolean", "categorical", "ordinal"):
        return ChoiceQuestion(question, number, parent)
    if question.type == "numeric":
        return NumericQuestion(question, number, parent)
    return TextQuestion(question, number, parent)


def focus_within(widget: QWidget) -> bool:
    """Whether the keyboard focus is on ``widget`` or one of its children."""
    from ..qt.widgets import QApplication

    focused = QApplication.focusWidget()
    return focused is not None and (focused is widget or widget.isAncestorOf(focused))
