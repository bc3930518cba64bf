"""Rubrics: the named, versioned question lists reviewers answer, in their TOML form.

Teams keep rubrics in their own repositories, so the TOML form is a contract
(issue 12), read by `parse_rubric_toml` and written by `rubric_to_toml`::

    name = "action-outcome"
    target = "action"            # or "run"
    description = "..."
    [[questions]]
    key = "correct"              # what answers are keyed by
    prompt = "Was the action correct?"
    type = "categorical"         # boolean | categorical | ordinal | numeric | text
    required = true
    description = "..."          # optional
    options = [                  # categorical and ordinal: in order; ordinal order is the scale
      { value = "correct", hotkey = "1", description = "..." },
      { value = "minor", hotkey = "2" },
      { value = "wrong", hotkey = "3" },
    ]
    # numeric: min = 0, max = 10

A file carries no version: the store numbers versions on import (importing a name
that exists makes the next version), and a ``version`` key in a file is ignored.
Answers are checked by `validate_answers`; `label_outcome` turns an action label into
the outcome AUTONOMY.md defines.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from .field_errors import FieldProblem, check_name, first_problem, has_control_characters

QuestionType = Literal["boolean", "categorical", "ordinal", "numeric", "text"]
Target = Literal["action", "run"]


def _finite_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number (got {value!r})")
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number (got {value!r})")
    return value


Number = Annotated[int | float, BeforeValidator(_finite_number)]

#: Types whose answers are one of the question's options.
TYPES_WITH_OPTIONS: frozenset[str] = frozenset({"categorical", "ordinal"})

#: The names of the rubrics shipped in ``rubrics/`` (the defaults for actions and runs).
ACTION_RUBRIC = "action-outcome"
RUN_RUBRIC = "run-outcome"

_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")


class RubricError(ValueError):
    """A rubric file or model that cannot be used; the message names the file and field."""


class AnswerError(ValueError):
    """An answer a rubric does not accept; ``question_key`` names the question."""

    def __init__(self, question_key: str, message: str) -> None:
        super().__init__(f"{question_key}: {message}")
        self.question_key = question_key
        self.message = message


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _visible_text(text: str, what: str) -> str:
    if has_control_characters(text.replace("\n", "").replace("\t", "")):
        raise ValueError(f"{what} must not contain control or invisible characters")
    return text


class Option(_Model):
    """One answer of a categorical or ordinal question; the hotkey answers it in the
    Review workspace with one keystroke."""

    value: str
    hotkey: str | None = None
    description: str = ""

    @field_validator("value")
    @classmethod
    def _value(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        if has_control_characters(value):
            raise ValueError("must not contain control or invisible characters")
        return value

    @field_validator("hotkey")
    @classmethod
    def _hotkey(cls, hotkey: str | None) -> str | None:
        if hotkey is None:
            return None
        if len(hotkey) != 1:
            raise ValueError(f"must be a single character (got {hotkey!r})")
        if hotkey.isspace() or has_control_characters(hotkey):
            raise ValueError(f"must be a visible character (got {hotkey!r})")
        return hotkey

    @field_validator("description")
    @classmethod
    def _description(cls, text: str) -> str:
        return _visible_text(text, "the description")


class Question(_Model):
    """One question; ``key`` is what answers are keyed by."""

    key: str
    prompt: str
    type: QuestionType
    required: StrictBool = False
    options: tuple[Option, ...] = ()
    min: Number | None = None
    max: Number | None = None
    description: str = ""

    @field_validator("key")
    @classmethod
    def _key(cls, key: str) -> str:
        if not _KEY.fullmatch(key):
            raise ValueError(f"must be 1-64 letters, digits, '_', '-' or '.' (got {key!r})")
        return key

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, prompt: str) -> str:
        if not prompt.strip():
            raise ValueError("must not be empty")
        return _visible_text(prompt, "the prompt")

    @field_validator("description")
    @classmethod
    def _description(cls, text: str) -> str:
        return _visible_text(text, "the description")

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        if self.type in TYPES_WITH_OPTIONS:
            if len(self.options) < 2:
                raise FieldProblem("options", f"a {self.type} question needs at least two "
                                   f"options (got {len(self.options)})")
        elif self.options:
            raise FieldProblem("options", f"a {self.type} question takes no options")
        if self.type != "numeric":
            for bound in ("min", "max"):
                if getattr(self, bound) is not None:
                    raise FieldProblem(bound, f"only numeric questions have bounds, "
                                       f"not {self.type} ones")
        elif self.min is not None and self.max is not None and self.min > self.max:
            raise FieldProblem("min", f"min {self.min} is greater than max {self.max}")
        values: dict[str, int] = {}
        hotkeys: dict[str, int] = {}
        for index, option in enumerate(self.options):
            if option.value in values:
                raise FieldProblem(f"options[{index}].value", f"duplicate value "
                                   f"{option.value!r} (also options[{values[option.value]}])")
            values[option.value] = index
            if option.hotkey is not None:
                # 'a' and 'A' are one key on the keyboard: two options may not share it.
                folded = option.hotkey.casefold()
                if folded in hotkeys:
                    raise FieldProblem(f"options[{index}].hotkey", f"duplicate hotkey "
                                       f"{option.hotkey!r} (also options[{hotkeys[folded]}])")
                hotkeys[folded] = index
        return self

    def option_values(self) -> tuple[str, ...]:
        return tuple(option.value for option in self.options)


class Rubric(_Model):
    """A named list of questions. ``version`` is 0 until the store assigns one; a label
    always records the version it answered."""

    name: str
    version: Annotated[int, Field(strict=True, ge=0)] = 0
    target: Target
    description: str = ""
    questions: tuple[Question, ...]

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        return check_name(name)

    @field_validator("description")
    @classmethod
    def _description(cls, text: str) -> str:
        return _visible_text(text, "the description")

    @model_validator(mode="after")
    def _unique_keys(self) -> Rubric:
        if not self.questions:
            raise FieldProblem("questions", "a rubric needs at least one question")
        seen: dict[str, int] = {}
        for index, question in enumerate(self.questions):
            if question.key in seen:
                raise FieldProblem(f"questions[{index}].key", f"duplicate key "
                                   f"{question.key!r} (also questions[{seen[question.key]}])")
            seen[question.key] = index
        return self

    def question(self, key: str) -> Question | None:
        return next((q for q in self.questions if q.key == key), None)


# --- TOML ---------------------------------------------------------------------------

def _labeller(data: Mapping[str, Any]) -> Callable[[Sequence[int | str]], str | None]:
    """Names for indices in error locations: a question's key, an option's value."""

    def label(loc: Sequence[int | str]) -> str | None:
        node: Any = data
        for part in loc:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return None
        for field in ("key", "value"):
            if isinstance(node, Mapping) and isinstance(node.get(field), str):
                return repr(node[field])
        return None

    return label


def parse_rubric_toml(text: str, *, source: str = "<rubric>") -> Rubric:
    """The rubric in ``text`` (the documented TOML form), or `RubricError` naming
    ``source`` and the field. The result has version 0: the store numbers versions."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RubricError(f"{source}: not valid TOML: {exc}") from exc
    data.pop("version", None)
    return rubric_from_dict(data, source=source)


def rubric_from_dict(data: Mapping[str, Any], *, source: str = "<rubric>") -> Rubric:
    """The rubric in an already-parsed table (as the console's editor holds it)."""
    try:
        return Rubric.model_validate(dict(data))
    except ValidationError as exc:
        field, message = first_problem(exc, _labeller(data))
        raise RubricError(f"{source}: {field}: {message}") from exc


def _toml_string(text: str) -> str:
    # JSON's string escapes are TOML basic-string escapes; TOML also forbids a raw DEL.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_number(value: float) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def rubric_to_toml(rubric: Rubric) -> str:
    """``rubric`` in the documented TOML form; `parse_rubric_toml` reads it back equal
    (but for the version, which a file does not carry)."""
    lines = [f"# Countersign rubric (version {rubric.version} when exported); importing it "
             "makes a new version.",
             f"name = {_toml_string(rubric.name)}",
             f"target = {_toml_string(rubric.target)}",
             f"description = {_toml_string(rubric.description)}"]
    for question in rubric.questions:
        lines += ["", "[[questions]]",
                  f"key = {_toml_string(question.key)}",
                  f"prompt = {_toml_string(question.prompt)}",
                  f"type = {_toml_string(question.type)}",
                  f"required = {'true' if question.required else 'false'}"]
        if question.description:
            lines.append(f"description = {_toml_string(question.description)}")
        if question.options:
            lines.append("options = [")
            for option in question.options:
                fields = [f"value = {_toml_string(option.value)}"]
                if option.hotkey is not None:
                    fields.append(f"hotkey = {_toml_string(option.hotkey)}")
                if option.description:
                    fields.append(f"description = {_toml_string(option.description)}")
                lines.append("  { " + ", ".join(fields) + " },")
            lines.append("]")
        for bound in ("min", "max"):
            value = getattr(question, bound)
            if value is not None:
                lines.append(f"{bound} = {_toml_number(value)}")
    return "\n".join(lines) + "\n"


def default_rubrics() -> list[Rubric]:
    """The shipped rubrics: `ACTION_RUBRIC` for actions, then `RUN_RUBRIC` for runs."""
    folder = resources.files(__package__ or "countersign.review").joinpath("rubrics")
    return [parse_rubric_toml(folder.joinpath(f"{name}.toml").read_text(encoding="utf-8"),
                              source=f"{name}.toml")
            for name in (ACTION_RUBRIC, RUN_RUBRIC)]


# --- answers ------------------------------------------------------------------------

def _answer(question: Question, value: Any) -> Any:
    """``value`` normalised for ``question``, or `AnswerError`."""
    kind = question.type
    if kind == "boolean":
        if not isinstance(value, bool):
            raise AnswerError(question.key, f"expected true or false, got {value!r}")
        return value
    if kind in TYPES_WITH_OPTIONS:
        values = question.option_values()
        if not isinstance(value, str) or value not in values:
            raise AnswerError(question.key, f"{value!r} is not an option; expected one of "
                              + ", ".join(values))
        return value
    if kind == "numeric":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise AnswerError(question.key, f"expected a number, got {value!r}")
        if not math.isfinite(value):
            raise AnswerError(question.key, f"expected a finite number, got {value!r}")
        if question.min is not None and value < question.min:
            raise AnswerError(question.key, f"{value} is below the minimum {question.min}")
        if question.max is not None and value > question.max:
            raise AnswerError(question.key, f"{value} is above the maximum {question.max}")
        return value
    if not isinstance(value, str):
        raise AnswerError(question.key, f"expected text, got {value!r}")
    return value


def validate_answers(rubric: Rubric, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers ``rubric`` accepts, in question order, or `AnswerError` naming the
    question. A ``None`` answer, or blank text, counts as no answer; unknown keys are
    reported first (a misspelt key would otherwise read as a missing answer)."""
    known = {question.key for question in rubric.questions}
    for key in answers:
        if key not in known:
            raise AnswerError(str(key), f"not a question of rubric {rubric.name!r} "
                              f"(questions: {', '.join(q.key for q in rubric.questions)})")
    normalised: dict[str, Any] = {}
    for question in rubric.questions:
        value = answers.get(question.key)
        if isinstance(value, str) and question.type == "text" and not value.strip():
            value = None
        if value is None:
            if question.required:
                raise AnswerError(question.key, "an answer is required")
            continue
        normalised[question.key] = _answer(question, value)
    return normalised


# --- outcomes -----------------------------------------------------------------------

#: The action rubric's correctness answers as AUTONOMY.md outcomes (y, critical).
#: A *minor* issue is a success, as a cosmetic edit is: the action did what it should,
#: with a blemish an operator would not have sent back.
_CORRECTNESS: dict[str, tuple[int, bool]] = {
    "correct": (0, False),
    "minor": (0, False),
    "wrong": (1, False),
}


def label_outcome(rubric: Rubric, answers: Mapping[str, Any]) -> tuple[int, bool] | None:
    """The outcome ``(y, critical)`` a label gives the action it judged (AUTONOMY.md):
    *correct* → success (0, False); *minor* → success, like a cosmetic edit; *wrong* →
    failure (1, False); *harm* answered true → critical failure (1, True), whatever the
    correctness answer. None when the rubric is not about actions or has neither a
    boolean ``harm`` nor a categorical ``correct`` question (the run rubric), or when
    the answers do not settle the outcome (no correctness answer, or a value a custom
    rubric added that has no agreed meaning)."""
    if rubric.target != "action":
        return None
    harm, correct = rubric.question("harm"), rubric.question("correct")
    if harm is not None and harm.type == "boolean" and answers.get("harm") is True:
        return (1, True)
    if correct is None or correct.type not in TYPES_WITH_OPTIONS:
        return None
    value = answers.get("correct")
    return _CORRECTNESS.get(value) if isinstance(value, str) else None
