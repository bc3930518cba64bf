"""One sentence per invalid field, for rubric files and sampling rules.

Pydantic's own report is a list of errors with tuple locations; people editing a TOML
file or a rule in the console need one line that says where (``questions[1].options``)
and what is wrong. Validators that check several fields at once raise `FieldProblem`
naming the field, so their errors point as precisely as the per-field ones.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence

from pydantic import ValidationError

#: Characters a name may not contain: they would make it a path (a dataset or an
#: exported rubric is a file named after it) or hide / reorder what is shown.
_PATH_CHARACTERS = frozenset('/\\:*?"<>|')
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


class FieldProblem(ValueError):
    """A validator's complaint about a field below the one being validated."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def has_control_characters(text: str) -> bool:
    """True when ``text`` holds a control, format (bidi, zero-width), unassigned or
    line-separator character."""
    return any(unicodedata.category(ch) in _INVISIBLE_CATEGORIES for ch in text)


def check_name(name: str, *, limit: int = 100, file_name: bool = True) -> str:
    """``name`` if it can be shown in lists (and, with ``file_name``, name a file: a
    rubric is exported as NAME.toml); otherwise `ValueError` saying why."""
    if not name or not name.strip():
        raise ValueError("must not be empty")
    if name != name.strip():
        raise ValueError("must not start or end with spaces")
    if len(name) > limit:
        raise ValueError(f"must be at most {limit} characters")
    if has_control_characters(name):
        raise ValueError("must not contain control or invisible characters")
    bad = sorted(set(name) & _PATH_CHARACTERS) if file_name else []
    if bad or (file_name and name in {".", ".."}):
        shown = " ".join(bad) if bad else name
        raise ValueError(f"must not contain path characters ({shown})")
    return name


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def format_location(loc: Sequence[int | str],
                    label: Callable[[Sequence[int | str]], str | None] | None = None) -> str:
    """``("questions", 1, "options")`` as ``questions[1].options``; ``label`` may add a
    readable name after an index, such as the question's key."""
    text = ""
    for depth, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
            extra = label(loc[: depth + 1]) if label else None
            if extra:
                text += f" ({extra})"
        else:
            text += f".{part}" if text else part
    return text


def first_problem(exc: ValidationError,
                  label: Callable[[Sequence[int | str]], str | None] | None = None,
                  ) -> tuple[str, str]:
    """The first error of ``exc`` as (field, message)."""
    error = exc.errors(include_url=False)[0]
    loc = list(error["loc"])
    ctx = error.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, FieldProblem):
        field = format_location(loc, label)
        joiner = "" if cause.field.startswith("[") or not field else "."
        field = f"{field}{joiner}{cause.field}"
        return field, cause.message
    if error["type"] == "value_error" and isinstance(cause, Exception):
        message = str(cause)
    elif error["type"] == "missing":
        message = "is required"
    elif error["type"] == "extra_forbidden":
        message = "is not a known field"
    elif error["type"] in {"literal_error", "enum"}:
        message = f"unknown value {_short(error['input'])}; expected {ctx.get('expected')}"
    else:
        # TOML and JSON have lists, not tuples.
        text = error["msg"].replace("valid tuple", "list")
        message = f"{text[:1].lower()}{text[1:]} (got {_short(error['input'])})"
    return format_location(loc, label) or "(top level)", message
