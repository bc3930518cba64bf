"""Dataset examples: what a decision or a label teaches, the deterministic split, names
that cannot become paths, and the diff between two versions."""

from __future__ import annotations

import math

import pytest
from pydantic import BaseModel, ValidationError

from countersign.review.datasets import (
    DatasetName,
    DatasetNameError,
    Example,
    diff_examples,
    example_from_decision,
    last_conversation,
    parse_answer_filter,
    prompt_messages,
    split_for,
    validate_dataset_name,
)

from .conftest import decision_example, label_example

# --- split -------------------------------------------------------------------------


def test_split_is_deterministic_and_honours_the_fraction_within_binomial_bounds() -> None:
    n, fraction = 100_000, 0.2
    splits = [split_for(f"action:{i}", fraction) for i in range(n)]
    assert splits == [split_for(f"action:{i}", fraction) for i in range(n)]
    tests = splits.count("test")
    sigma = math.sqrt(n * fraction * (1 - fraction))
    assert abs(tests - n * fraction) < 5 * sigma
    assert set(splits) == {"train", "test"}


def test_split_extremes_and_a_bad_fraction() -> None:
    assert {split_for(f"k{i}", 0.0) for i in range(200)} == {"train"}
    assert {split_for(f"k{i}", 1.0) for i in range(200)} == {"test"}
    with pytest.raises(ValueError, match="test_fraction"):
        split_for("k", 1.5)


def test_a_larger_test_fraction_only_moves_examples_into_test() -> None:
    # Growing the test share must not reshuffle: what was test stays test.
    small = {k for k in (f"label:{i}" for i in range(5000)) if split_for(k, 0.1) == "test"}
    large = {k for k in (f"label:{i}" for i in range(5000)) if split_for(k, 0.3) == "test"}
    assert small < large


# --- names -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["refunds", "refunds v2", "Remboursements-été_2025",
                                  "a.b", "x" * 100])
def test_good_dataset_names_are_kept_as_they_are(name: str) -> None:
    assert validate_dataset_name(name) == name


@pytest.mark.parametrize(("name", "why"), [
    ("", "must not be empty"),
    ("   ", "must not be empty"),
    ("x" * 101, "at most 100 characters"),
    ("../etc/passwd", "path characters"),
    ("a/b", r"path characters \(/\)"),
    ("a\\b", r"path characters \(\\\)"),
    ("..", "must not start with a dot"),
    ("a..b", "must not contain '..'"),
    (".hidden", "must not start with a dot"),
    ("nul\x00byte", "control or invisible"),
    ("line\nbreak", "control or invisible"),
    ("bidi\u202eevil", "control or invisible"),
    ("C:drive", "path characters"),
])
def test_bad_dataset_names_are_refused_with_the_reason(name: str, why: str) -> None:
    with pytest.raises(DatasetNameError, match=why):
        validate_dataset_name(name)


def test_dataset_name_type_validates_in_models() -> None:
    class Form(BaseModel):
        name: DatasetName

    assert Form(name="evals").name == "evals"
    with pytest.raises(ValidationError, match="path characters"):
        Form(name="a/b")


# --- builders ----------------------------------------------------------------------


def test_an_edit_becomes_the_correction_and_the_input_is_what_the_agent_saw() -> None:
    example = decision_example(
        7, verdict="edit", severity="material",
        decided_arguments={"order": "A-7", "amount": 5})
    assert example.key == "action:7"
    assert example.expected_output == {"order": "A-7", "amount": 5}
    assert example.metadata["expected_from"] == "edit"
    assert example.metadata["severity"] == "material"
    # System and user messages only; the assistant turn and the tool result are gone.
    assert example.input["messages"] == [
        {"role": "system", "content": "You are the billing agent."},
        {"role": "user", "content": "Refund order A-7, please.\nThanks"},
    ]
    assert example.input["tool_call"] == {
        "name": "issue_refund",
        "arguments": {"order": "A-7", "amount": 17, "note": "naïve, \"q\""}}
    assert example.source_trace_id == f"{7:032x}"
    assert example.source_span_id == f"{8:016x}"
    assert example.split == split_for("action:7")
    for field in ("verdict", "risk", "agent", "agent_version", "action_class", "reviewer"):
        assert field in example.metadata


@pytest.mark.parametrize(("verdict", "expected_from", "expected"), [
    ("approve", "approved", "proposed"),
    ("auto_approve", "approved", "proposed"),
    ("reject", "none", None),
    ("respond", "none", None),
    ("expire", "none", None),
])
def test_expected_output_follows_the_verdict(verdict: str, expected_from: str,
                                             expected: str | None) -> None:
    example = decision_example(3, verdict=verdict)
    assert example.metadata["expected_from"] == expected_from
    want = example.input["tool_call"]["arguments"] if expected == "proposed" else None
    assert example.expected_output == want


def test_a_reviewers_correction_wins_over_the_verdict() -> None:
    example = decision_example(3, verdict="edit", decided_arguments={"amount": 5},
                               correction={"amount": 0},
                               labels=[{"reviewer": "bo", "answers": {"correct": "wrong"}}])
    assert example.expected_output == {"amount": 0}
    assert example.metadata["expected_from"] == "correction"
    assert example.metadata["labels"] == [{"reviewer": "bo", "answers": {"correct": "wrong"}}]


def test_a_label_on_a_run_without_an_action() -> None:
    example = label_example(4)
    assert example.key == "label:4"
    assert example.input == {"messages": [{"role": "user", "content": "When is the meeting?"}],
                             "tool_call": None}
    assert example.expected_output == "The meeting is on 3 March."
    assert example.metadata["answers"] == {"task_completed": False, "note": "missed the date"}
    assert example.metadata["rubric_version"] == 2
    uncorrected = label_example(5, correction=None)
    assert uncorrected.expected_output == "The meeting is on 3 May."
    assert uncorrected.metadata["expected_from"] == "reviewed"


def test_message_content_parts_and_odd_messages_become_text() -> None:
    messages = prompt_messages([
        {"role": "SYSTEM", "content": [{"type": "text", "text": "Be brief."}]},
        {"role": "user", "content": {"question": 1}},
        {"role": "user", "content": None},
        {"content": "no role"},
        {"role": "user", "content": "last"},
    ])
    assert messages == [{"role": "system", "content": "Be brief."},
                        {"role": "user", "content": '{"question": 1}'},
                        {"role": "user", "content": "last"}]
    assert prompt_messages([{"role": "user", "content": str(i)} for i in range(9)],
                           limit=2) == [{"role": "user", "content": "7"},
                                        {"role": "user", "content": "8"}]


def test_last_conversation_takes_the_last_model_call() -> None:
    spans = [{"messages": [{"role": "user", "content": "first"}]},
             {"tool": "lookup", "arguments": {}},
             None,
             {"messages": [{"role": "user", "content": "second"}]},
             {"messages": []}]
    assert last_conversation(spans) == [{"role": "user", "content": "second"}]
    assert last_conversation([]) == []


def test_examples_refuse_a_malformed_input() -> None:
    with pytest.raises(ValidationError, match=r"input\.messages"):
        Example(key="k", input={"messages": [{"role": "user"}]}, split="train")
    with pytest.raises(ValidationError, match="split"):
        Example(key="k", input={"messages": []}, split="validation")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="key"):
        Example(key="", input={"messages": []}, split="train")


# --- diff --------------------------------------------------------------------------


def test_diff_reports_added_removed_and_changed_by_key() -> None:
    old = [decision_example(1), decision_example(2), decision_example(3)]
    edited = decision_example(2, verdict="edit", decided_arguments={"amount": 1})
    new = [decision_example(4), decision_example(1), edited]
    diff = diff_examples(old, new)
    assert [e.key for e in diff.added] == ["action:4"]
    assert [e.key for e in diff.removed] == ["action:3"]
    assert diff.changed == [(old[1], edited)]
    assert diff_examples(old, list(old)) == diff_examples([], [])


def test_diff_refuses_a_version_with_a_key_twice() -> None:
    with pytest.raises(ValueError, match="action:1"):
        diff_examples([decision_example(1), decision_example(1)], [])


def test_builders_keep_all_values_of_a_decision() -> None:
    example = example_from_decision(action_id="x1", tool_name="t", proposed_arguments=[1, 2],
                                    verdict="approve")
    assert example.expected_output == [1, 2]
    assert example.input["messages"] == []
    assert example.source_trace_id is None


def test_answer_filters_read_json_values_and_keep_other_text() -> None:
    assert parse_answer_filter(["correct=wrong", "harm=true", "score=3",
                                "failure_category=wrong target", 'note="42"']) == {
        "correct": "wrong", "harm": True, "score": 3,
        "failure_category": "wrong target", "note": "42"}
    assert parse_answer_filter([]) == {}


@pytest.mark.parametrize(("items", "why"), [
    (["correct"], "'correct' is not KEY=VALUE"),
    (["=wrong"], "'=wrong' is not KEY=VALUE"),
    (["correct="], "'correct=' is not KEY=VALUE"),
    (["harm=true", "harm=false"], "names 'harm' twice"),
])
def test_bad_answer_filters_name_the_item(items: list[str], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_answer_filter(items)
