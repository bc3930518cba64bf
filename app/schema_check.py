"""Checking (edited) arguments against the action's JSON Schema.

The schema comes from the agent, so it is untrusted too: a schema that is itself
invalid is reported as such rather than silently accepting everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jsonschema import exceptions as js_exceptions
from jsonschema import validators


@dataclass(frozen=True)
class SchemaProblem:
    #: Where, as a JSON path (``$.refund.amount_cents``); ``$`` is the whole value.
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def _path(parts: Any) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def check_schema(schema: dict[str, Any]) -> list[SchemaProblem]:
    cls = validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except js_exceptions.SchemaError as exc:
        return [SchemaProblem("schema" + _path(exc.absolute_path)[1:], exc.message)]
    return []


def validate(arguments: Any, schema: dict[str, Any] | None) -> list[SchemaProblem]:
    """Every problem, shallowest first; an empty list means the arguments are valid."""
    if not schema:
        return []
    bad_schema = check_schema(schema)
    if bad_schema:
        return [SchemaProblem(p.path, f"the agent's schema is invalid: {p.message}")
                for p in bad_schema]
    cls = validators.validator_for(schema)
    # Formats (email, date-time, uri…) are only annotations unless a checker is given.
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    errors = sorted(
        validator.iter_errors(arguments),
        key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))),
    )
    return [SchemaProblem(_path(e.absolute_path), e.message) for e in errors]
