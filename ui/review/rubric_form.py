"""The rubric as a form a reviewer answers from the keyboard.

One `QuestionWidget` per question (questions.py), in the rubric's order. One of them
is *current* (framed): the digits answer it, and answering a choice by key moves on
to the next question, so "correct, no harm" is 1, 2, Enter. Tab and Shift+Tab move
between questions only (the form keeps the focus cycle to itself). The form checks
as it is answered: the status line says how many questions are answered and which
required ones are left, or what is wrong with a typed answer; `check` is the final
word before a label is sent (the rubric's own `validate_answers`, so the form can
never accept what the store would refuse).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from countersign.review.rubric import AnswerError, Rubric, validate_answers

from ..palette import restyle, text_style
from ..qt.core import Qt, QTimer, Signal
from ..qt.widgets import QApplication, QLabel, QScrollArea, QVBoxLayout, QWidget
from ..widgets.text import plain_tooltip
from .questions import QuestionWidget, TextQuestion, make_question


@dataclass(frozen=True)
class FormCheck:
    """The answers as the store would record them, or the first problem."""

    answers: dict[str, Any] = field(default_factory=dict)
    #: (question key, what is wrong) when the label cannot be sent yet.
    problem: tuple[str, str] | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


class RubricForm(QWidget):
    """See the module docstring. `set_rubric` builds the questions (once per rubric
    version; the same rubric again only clears the answers)."""

    # Signals
    #: An answer changed (the submit button and the status line follow).
    changed = Signal()
    #: Enter was pressed in a text answer.
    submitRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rubricForm")
        self.rubric: Rubric | None = None
        self.questions: list[QuestionWidget] = []
        self._current = 0
        self.title = QLabel(self)
        self.title.setObjectName("rubricTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.status = QLabel(self)
        self.status.setObjectName("formStatus")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self._inner = QWidget(self)
        self._inner.setObjectName("rubricQuestions")
        self._list = QVBoxLayout(self._inner)
        self._list.setContentsMargins(0, 0, 4, 0)
        self._list.setSpacing(6)
        self._list.addStretch(1)
        self.scroll_area = QScrollArea(self)
        self.scroll_area.setObjectName("rubricScroll")
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.scroll_area.setWidget(self._inner)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.title)
        layout.addWidget(self.scroll_area, 1)
        layout.addWidget(self.status)
        QApplication.instance().focusChanged.connect(self._focus_changed)  # type: ignore[union-attr]

    # -- building ------------------------------------------------------------------------

    def set_rubric(self, rubric: Rubric) -> None:
        """Show ``rubric``'s questions, unanswered, the first one current."""
        if self.rubric is not None and (rubric.name, rubric.version, rubric.questions) == (
                self.rubric.name, self.rubric.version, self.rubric.questions):
            self.clear()
            return
        for widget in self.questions:
            self._list.removeWidget(widget)
            widget.deleteLater()
        self.rubric = rubric
        self.questions = []
        for number, question in enumerate(rubric.questions, start=1):
            widget = make_question(question, number, self._inner)
            widget.changed.connect(self._answers_changed)
            widget.answeredByKey.connect(self._answered_by_key)
            if isinstance(widget, TextQuestion):
                widget.submitted.connect(self.submitRequested)
            self._list.insertWidget(self._list.count() - 1, widget)
            self.questions.append(widget)
        self.title.setText(f"{rubric.name} · version {rubric.version}")
        self.title.setToolTip(plain_tooltip(rubric.description))
        self._current = 0
        self._mark_current()
        self._answers_changed()

    def clear(self) -> None:
        """Every answer cleared, the first question current."""
        for widget in self.questions:
            widget.blockSignals(True)
            try:
                widget.clear_answer()
            finally:
                widget.blockSignals(False)
            widget._show_problem()
        self._current = 0
        self._mark_current()
        self._answers_changed()

    # -- answers -------------------------------------------------------------------------

    def answers(self) -> dict[str, Any]:
        """The answers given so far, by question key."""
        return {w.question.key: value for w in self.questions
                if (value := w.value()) is not None}

    def set_answers(self, answers: dict[str, Any]) -> None:
        for widget in self.questions:
            widget.set_value(answers.get(widget.question.key))

    def check(self) -> FormCheck:
        """The answers ready to send, or the first problem (a typed answer the question
        refuses, then what the rubric refuses: a required question unanswered…)."""
        if self.rubric is None:
            return FormCheck(problem=("", "no rubric to answer"))
        for widget in self.questions:
            problem = widget.problem()
            if problem is not None:
                return FormCheck(problem=(widget.question.key, problem))
        try:
            answers = validate_answers(self.rubric, self.answers())
        except AnswerError as exc:
            return FormCheck(problem=(exc.question_key, exc.message))
        return FormCheck(answers=answers)

    def question_widget(self, key: str) -> QuestionWidget | None:
        return next((w for w in self.questions if w.question.key == key), None)

    def _answers_changed(self) -> None:
        self.status.setText(self.status_text())
        problem = any(w.problem() for w in self.questions) or self._required_left()
        restyle(self.status, lambda p: text_style("QLabel", p.muted if problem else p.ok))
        self.changed.emit()

    def _required_left(self) -> list[QuestionWidget]:
        return [w for w in self.questions if w.question.required and not w.answered]

    def status_text(self) -> str:
        """One line: what is answered, what is still required, what is wrong."""
        if not self.questions:
            return ""
        for widget in self.questions:
            problem = widget.problem()
            if problem is not None:
                return f"{widget.question.key}: {problem}"
        answered = sum(1 for w in self.questions if w.answered)
        left = self._required_left()
        text = f"{answered} of {len(self.questions)} answered"
        if left:
            names = ", ".join(w.question.key for w in left)
            return f"{text} · required: {names}"
        return f"{text} · ready: Enter submits"

    # -- the current question ------------------------------------------------------------

    @property
    def current_index(self) -> int:
        return self._current

    def current_question(self) -> QuestionWidget | None:
        return self.questions[self._current] if self.questions else None

    def focus_question(self, index: int) -> None:
        if not self.questions:
            return
        self._current = max(0, min(len(self.questions) - 1, index))
        self._mark_current()
        widget = self.questions[self._current]
        if not widget.isVisible() and self.isVisible():
            # Just built: its layout shows it on the next turn of the event loop, and a
            # hidden widget takes no focus (the focus would vanish with the old form).
            QTimer.singleShot(0, widget, widget.focus_input)
        else:
            widget.focus_input()
        self.scroll_area.ensureWidgetVisible(widget, 0, 8)

    def focus_first_unanswered(self) -> None:
        """Focus the first required question without an answer (else the first)."""
        index = next((i for i, w in enumerate(self.questions)
                      if w.question.required and not w.answered), 0)
        self.focus_question(index)

    def move_question(self, step: int) -> None:
        """Tab / Shift+Tab: the next or previous question, wrapping around."""
        if self.questions:
            self.focus_question((self._current + step) % len(self.questions))

    def answer_key(self, key: str) -> bool:
        """Answer the current question with ``key`` (a digit or its hotkey)."""
        widget = self.current_question()
        return widget is not None and widget.answer_key(key)

    def _answered_by_key(self) -> None:
        sender = self.sender()
        if not self.questions or sender is not self.questions[self._current]:
            return
        if self._current + 1 < len(self.questions):
            # After the key's own event has been handled: the next question's input
            # must not receive the key that answered this one.
            next_index = self._current + 1
            QTimer.singleShot(0, lambda: self.focus_question(next_index)
                              if self._current == next_index - 1 else None)

    def _mark_current(self) -> None:
        for index, widget in enumerate(self.questions):
            widget.set_current(index == self._current)

    def _focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if new is None:
            return
        for index, widget in enumerate(self.questions):
            if new is widget or widget.isAncestorOf(new):
                if index != self._current:
                    self._current = index
                    self._mark_current()
                return

    def focusNextPrevChild(self, next: bool) -> bool:
        """Tab / Shift+Tab inside the form: the next or previous question."""
        focused = QApplication.focusWidget()
        if focused is not None and self.isAncestorOf(focused) and self.questions:
            self.move_question(1 if next else -1)
            return True
        return super().focusNextPrevChild(next)
