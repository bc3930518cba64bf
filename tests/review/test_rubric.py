"""Rubrics in their documented TOML form: what users keep in their repositories must
read back exactly, and every mistake in a file is named by file and field."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from countersign.review.rubric import (
    ACTION_RUBRIC,
    RUN_RUBRIC,
    Option,
    Question,
    Rubric,
    RubricError,
    default_rubrics,
    parse_rubric_toml,
    rubric_from_dict,
    rubric_to_toml,
)

ROOT = Path(__file__).resolve().parents[2]

# The form issue 12 documents, verbatim but for the numeric question it mentions.
DOCUMENTED = '''
name = "action-outcome"
target = "action"            # or "run"
description = "..."
[[questions]]
key = "correct"              # what answers are keyed by
prompt = "Was the action correct?"
type = "categorical"         # boolean | categorical | ordinal | numeric | text
required = true
options = [                  # categorical and ordinal: in order; ordinal order is the scale
  { value = "correct", hotkey = "1", description = "..." },
  { value = "minor", hotkey = "2" },
  { value = "wrong", hotkey = "3" },
]
[[questions]]
key = "score"
prompt = "Score"
type = "numeric"
min = 0
max = 10
'''


def test_the_documented_form_parses_to_what_it_says() -> None:
    rubric = parse_rubric_toml(DOCUMENTED)
    assert (rubric.name, rubric.target, rubric.description, rubric.version) == (
        "action-outcome", "action", "...", 0)
    correct, score = rubric.questions
    assert (correct.key, correct.type, correct.required) == ("correct", "categorical", True)
    assert correct.options == (Option(value="correct", hotkey="1", description="..."),
                               Option(value="minor", hotkey="2"),
                               Option(value="wrong", hotkey="3"))
    assert (score.type, score.required, score.min, score.max) == ("numeric", False, 0, 10)


def test_a_version_in_the_file_is_ignored() -> None:
    assert parse_rubric_toml("version = 7\n" + DOCUMENTED).version == 0


def test_default_action_rubric_maps_onto_outcomes() -> None:
    action, run = default_rubrics()
    assert (action.name, action.target, run.name, run.target) == (
        ACTION_RUBRIC, "action", RUN_RUBRIC, "run")
    assert [(q.key, q.type, q.required) for q in action.questions] == [
        ("correct", "categorical", True), ("harm", "boolean", True),
        ("failure_category", "categorical", False), ("note", "text", False)]
    correct = action.questions[0]
    assert [(o.value, o.hotkey) for o in correct.options] == [
        ("correct", "1"), ("minor", "2"), ("wrong", "3")]
    assert all(o.description for o in correct.options)
    assert action.questions[1].prompt == "Would it have caused harm if executed?"
    assert action.questions[2].option_values() == (
        "wrong_target", "wrong_amount", "policy_breach", "hallucinated_fact", "unsafe",
        "other")
    assert [q.key for q in run.questions] == [
        "task_completed", "reasoning_sound", "cost_reasonable", "note"]


def test_default_rubric_files_ship_in_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = config["package-data"]["countersign.review"]
    shipped = {p.name for pattern in patterns for p in (ROOT / "app/review").glob(pattern)}
    assert shipped == {f"{ACTION_RUBRIC}.toml", f"{RUN_RUBRIC}.toml"}


EVERY_TYPE = Rubric(
    name="every type", version=4, target="run", description='quotes " and \\ and\nlines',
    questions=(
        Question(key="ok", prompt="OK?", type="boolean", required=True),
        Question(key="kind", prompt="Kind", type="categorical", description="tab\there",
                 options=(Option(value="a", hotkey="a", description="é ✓ 🙂"),
                          Option(value="b c"))),
        Question(key="scale", prompt="Scale", type="ordinal",
                 options=(Option(value="low", hotkey="1"), Option(value="high", hotkey="2"))),
        Question(key="n", prompt="N", type="numeric", min=-1.5, max=2),
        Question(key="unbounded", prompt="U", type="numeric"),
        Question(key="why", prompt="Why?", type="text"),
    ),
)


@pytest.mark.parametrize("rubric", [EVERY_TYPE, *default_rubrics()], ids=lambda r: r.name)
def test_export_reads_back_equal_but_for_the_version(rubric: Rubric) -> None:
    text = rubric_to_toml(rubric)
    assert parse_rubric_toml(text) == rubric.model_copy(update={"version": 0})
    assert "version =" not in text


_visible = st.text(st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"]),
                   min_size=1, max_size=30).filter(str.strip)


@settings(max_examples=150, deadline=None)
@given(prompt=_visible, description=st.text(
    st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"],
                  include_characters="\n\t"), max_size=40), value=_visible)
def test_any_visible_text_survives_export(prompt: str, description: str, value: str) -> None:
    rubric = Rubric(name="r", target="action", description=description, questions=(
        Question(key="q", prompt=prompt, type="categorical", description=description,
                 options=(Option(value=value, description=description),
                          Option(value=value + "2"))),))
    assert parse_rubric_toml(rubric_to_toml(rubric)) == rubric


QUESTION_A = '[[questions]]\nkey = "a"\nprompt = "A?"\ntype = "boolean"\n'


def _with_question(body: str) -> str:
    return f'name = "r"\ntarget = "action"\n{QUESTION_A}[[questions]]\nprompt = "B?"\n{body}'


@pytest.mark.parametrize(("text", "field", "problem"), [
    (_with_question('key = "a"\ntype = "boolean"'), "questions[1].key", "duplicate key 'a'"),
    (_with_question('key = "b"\ntype = "bool"'), "questions[1] ('b').type",
     "unknown value 'bool'"),
    (_with_question('key = "b"\ntype = "categorical"\noptions = []'),
     "questions[1] ('b').options", "needs at least two options"),
    (_with_question('key = "b"\ntype = "ordinal"'), "questions[1] ('b').options",
     "needs at least two options"),
    (_with_question('key = "b"\ntype = "categorical"\noptions = [{value = "x"}, {value = "x"}]'),
     "questions[1] ('b').options[1].value", "duplicate value 'x'"),
    (_with_question('key = "b"\ntype = "categorical"\n'
                    'options = [{value = "x", hotkey = "k"}, {value = "y", hotkey = "K"}]'),
     "questions[1] ('b').options[1].hotkey", "duplicate hotkey 'K'"),
    (_with_question('key = "b"\ntype = "categorical"\n'
                    'options = [{value = "x", hotkey = "12"}, {value = "y"}]'),
     "questions[1] ('b').options[0] ('x').hotkey", "single character"),
    (_with_question('key = "b"\ntype = "categorical"\n'
                    'options = [{value = "x", hotkey = " "}, {value = "y"}]'),
     "questions[1] ('b').options[0] ('x').hotkey", "visible character"),
    (_with_question('key = "b"\ntype = "categorical"\n'
                    'options = [{value = "a\\nb"}, {value = "y"}]'),
     "questions[1] ('b').options[0] ('a\\nb').value", "control"),
    (_with_question('key = "b"\ntype = "numeric"\nmin = 5\nmax = 1'),
     "questions[1] ('b').min", "min 5 is greater than max 1"),
    (_with_question('key = "b"\ntype = "numeric"\nmax = nan'),
     "questions[1] ('b').max", "finite"),
    (_with_question('key = "b"\ntype = "numeric"\nmin = true'),
     "questions[1] ('b').min", "must be a number"),
    (_with_question('key = "b"\ntype = "text"\noptions = [{value = "x"}, {value = "y"}]'),
     "questions[1] ('b').options", "a text question takes no options"),
    (_with_question('key = "b"\ntype = "boolean"\noptions = [{value = "x"}, {value = "y"}]'),
     "questions[1] ('b').options", "a boolean question takes no options"),
    (_with_question('key = "b"\ntype = "text"\nmax = 3'),
     "questions[1] ('b').max", "only numeric questions"),
    (_with_question('key = "b"\ntype = "boolean"\nrequried = true'),
     "questions[1] ('b').requried", "not a known field"),
    (_with_question('key = "b"\ntype = "boolean"\nrequired = "yes"'),
     "questions[1] ('b').required", "valid boolean"),
    (_with_question('key = "b c"\ntype = "boolean"'), "questions[1] ('b c').key", "letters"),
    (_with_question('type = "boolean"'), "questions[1].key", "is required"),
    ('name = "../etc"\ntarget = "run"\n' + QUESTION_A, "name", "path characters"),
    ('name = "a\\\\b"\ntarget = "run"\n' + QUESTION_A, "name", "path characters"),
    ('name = "a\\u202eb"\ntarget = "run"\n' + QUESTION_A, "name", "control"),
    ('name = "a\\nb"\ntarget = "run"\n' + QUESTION_A, "name", "control"),
    ('name = ""\ntarget = "run"\n' + QUESTION_A, "name", "empty"),
    ('name = "r"\ntarget = "span"\n' + QUESTION_A, "target", "unknown value 'span'"),
    ('name = "r"\ntarget = "run"\nquestions = []', "questions", "at least one question"),
    ('target = "run"\n' + QUESTION_A, "name", "is required"),
])
def test_a_bad_rubric_is_refused_naming_file_and_field(text: str, field: str,
                                                       problem: str) -> None:
    with pytest.raises(RubricError) as caught:
        parse_rubric_toml(text, source="team/rubric.toml")
    message = str(caught.value)
    assert message.startswith(f"team/rubric.toml: {field}: "), message
    assert problem in message


def test_invalid_toml_is_refused_with_line_and_column() -> None:
    with pytest.raises(RubricError, match=r"^r\.toml: not valid TOML: .*line 3, column 9"):
        parse_rubric_toml('name = "r"\ntarget = "run"\nbroken =\n', source="r.toml")


def test_the_console_editor_gets_the_same_messages_from_a_table() -> None:
    with pytest.raises(RubricError, match=r"^<rubric>: questions\[0\] \('x'\)\.type: "):
        rubric_from_dict({"name": "r", "target": "run",
                          "questions": [{"key": "x", "prompt": "X", "type": "yes/no"}]})
