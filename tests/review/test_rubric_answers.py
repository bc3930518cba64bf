"""Answers against a rubric (what `review label` accepts) and the outcome a label gives
an action (what the autonomy engine reads)."""

from __future__ import annotations

from typing import Any

import pytest

from countersign.review.rubric import (
    AnswerError,
    Option,
    Question,
    Rubric,
    default_rubrics,
    label_outcome,
    validate_answers,
)

ACTION, RUN = default_rubrics()

SCORED = Rubric(name="scored", target="run", questions=(
    Question(key="score", prompt="Score", type="numeric", required=True, min=0, max=10),
    Question(key="level", prompt="Level", type="ordinal",
             options=(Option(value="low"), Option(value="high"))),
    Question(key="open", prompt="Open", type="numeric"),
))


def test_answers_come_back_in_question_order_without_empty_ones() -> None:
    answers = {"note": "   ", "failure_category": None, "harm": False, "correct": "minor"}
    assert list(validate_answers(ACTION, answers).items()) == [
        ("correct", "minor"), ("harm", False)]
    full = {"note": "looks fine", "harm": True, "correct": "wrong",
            "failure_category": "unsafe"}
    assert validate_answers(ACTION, full) == full


def test_numbers_within_bounds_are_kept_as_given() -> None:
    assert validate_answers(SCORED, {"score": 0, "level": "high", "open": -1e9}) == {
        "score": 0, "level": "high", "open": -1e9}
    assert validate_answers(SCORED, {"score": 10.0}) == {"score": 10.0}


@pytest.mark.parametrize(("rubric", "answers", "key", "problem"), [
    (ACTION, {"harm": False}, "correct", "an answer is required"),
    (ACTION, {"correct": "correct", "harm": None}, "harm", "an answer is required"),
    (ACTION, {"correct": "right", "harm": False}, "correct", "'right' is not an option"),
    (ACTION, {"correct": 1, "harm": False}, "correct", "1 is not an option"),
    (ACTION, {"correct": "correct", "harm": "no"}, "harm", "expected true or false"),
    (ACTION, {"correct": "correct", "harm": 0}, "harm", "expected true or false"),
    (ACTION, {"correct": "correct", "harm": False, "note": 3}, "note", "expected text"),
    (ACTION, {"correct": "correct", "harm": False, "failure_category": "typo"},
     "failure_category", "not an option"),
    (ACTION, {"corect": "correct", "harm": False}, "corect", "not a question"),
    (SCORED, {"score": 11}, "score", "above the maximum 10"),
    (SCORED, {"score": -0.5}, "score", "below the minimum 0"),
    (SCORED, {"score": True}, "score", "expected a number"),
    (SCORED, {"score": "5"}, "score", "expected a number"),
    (SCORED, {"score": float("nan")}, "score", "finite"),
    (SCORED, {"score": 1, "level": "medium"}, "level", "not an option"),
    (RUN, {"task_completed": "completed", "reasoning_sound": "sound", "note": ""},
     None, None),
])
def test_a_bad_answer_names_its_question(rubric: Rubric, answers: dict[str, Any],
                                         key: str | None, problem: str | None) -> None:
    if key is None:
        assert validate_answers(rubric, answers)
        return
    with pytest.raises(AnswerError) as caught:
        validate_answers(rubric, answers)
    assert caught.value.question_key == key
    assert str(caught.value).startswith(f"{key}: ")
    assert problem is not None and problem in str(caught.value)


def test_a_misspelt_key_is_reported_before_the_missing_answer() -> None:
    with pytest.raises(AnswerError) as caught:
        validate_answers(ACTION, {"Correct": "correct", "harm": False})
    assert caught.value.question_key == "Correct"


@pytest.mark.parametrize(("answers", "outcome"), [
    ({"correct": "correct", "harm": False}, (0, False)),
    ({"correct": "minor", "harm": False}, (0, False)),
    ({"correct": "wrong", "harm": False}, (1, False)),
    ({"correct": "correct", "harm": True}, (1, True)),
    ({"correct": "wrong", "harm": True}, (1, True)),
    ({"harm": True}, (1, True)),
    ({"harm": False}, None),
    ({"correct": "partly", "harm": False}, None),
])
def test_an_action_label_gives_the_autonomy_outcome(answers: dict[str, Any],
                                                    outcome: tuple[int, bool] | None) -> None:
    assert label_outcome(ACTION, answers) == outcome


def test_a_run_label_gives_no_action_outcome() -> None:
    answers = {"task_completed": "failed", "reasoning_sound": "unsound"}
    assert label_outcome(RUN, validate_answers(RUN, answers)) is None
    as_run = ACTION.model_copy(update={"target": "run"})
    assert label_outcome(as_run, {"correct": "wrong", "harm": True}) is None
