"""What the gate refuses before anything is written.

The agent acts on the arguments its verdict returns, and the reviewer decides on what
the console shows; both are the stored copy. So the gate never stores a value that is
not exactly what the agent sent (NaN turned into a string, bytes into an escaped
string, two keys merged into one), never a schema edits cannot be checked against,
never arguments that break the agent's own schema, and never a deadline that cannot
pass (``timeout=nan`` waited forever). Each refusal is a `GateInputError` naming the
argument and, inside it, the JSON path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..domain import SpanRecord
from ..jsonio import JsonInputError, clean
from .steps import Step

#: Column widths of the store (``agents.name``, ``actions.action_class``,
#: ``actions.source_ref``): longer values would fail on PostgreSQL with a raw error.
MAX_NAME = 200
MAX_KEY = 500
_STEP_COUNTS = ("prompt_tokens", "completion_tokens", "cost", "duration_s")


class GateInputError(JsonInputError):
    """A request the gate refuses; nothing was written. ``argument`` names the
    parameter (``arguments``, ``schema``, ``timeout``, ``reasoning[2].cost``…) and
    ``path`` the place inside it (``$.refund.amount``), when there is one."""

    def __init__(self, argument: str, message: str, path: str = "") -> None:
        where = f"{argument} at {path}" if path else argument
        ValueError.__init__(self, f"{where}: {message}")
        self.argument = argument
        self.path = path or argument


def check_timeout(timeout: Any) -> None:
    """A timeout is None (wait for ever) or a finite number of seconds ≥ 0."""
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise GateInputError("timeout", f"must be a number of seconds, not "
                                        f"{type(timeout).__name__}")
    if not math.isfinite(timeout) or timeout < 0:
        raise GateInputError("timeout", f"must be a finite number of seconds ≥ 0, not "
                                        f"{timeout!r} (None waits without a deadline)")


def _exact(argument: str, value: Any) -> Any:
    """``value`` as JSON data, exactly, or `GateInputError` naming the path."""
    try:
        return clean(value, strict=True)[0]
    except GateInputError:
        raise
    except JsonInputError as exc:
        message = str(exc).removeprefix(f"{exc.path}: ")
        raise GateInputError(argument, message, exc.path) from None


def _text(argument: str, value: Any, limit: int) -> None:
    if not isinstance(value, str) or not value.strip():
        raise GateInputError(argument, "must be a non-empty string")
    if len(value) > limit:
        raise GateInputError(argument, f"is {len(value):,} characters long; at most "
                                       f"{limit} are stored")
    _exact(argument, value)


def _check_step(index: int, step: Step) -> None:
    where = f"reasoning[{index}]"
    for name in _STEP_COUNTS:
        value = getattr(step, name)
        if value is None:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise GateInputError(f"{where}.{name}", f"must be a finite number, not {value!r}")
        if value < 0:
            raise GateInputError(f"{where}.{name}", f"cannot be negative ({value!r})")
    for name in ("started_at",):
        value = getattr(step, name)
        if value is not None and not math.isfinite(value):
            raise GateInputError(f"{where}.{name}", f"must be a finite time, not {value!r}")
    # Everything the step shows (messages, tool arguments and results, attributes)
    # is stored exactly too: the reviewer decides on it.
    _exact(where, step.model_dump(mode="python"))


def check_request(
    *,
    agent: str,
    action_class: str,
    arguments: Any,
    schema: Any,
    reasoning: Sequence[Step | SpanRecord],
    idempotency_key: str | None,
) -> None:
    """Raise `GateInputError` for the first thing the gate will not store (see the
    module docstring); returns when the request can be written as given."""
    from ..schema_check import check_schema, validate  # lazy: jsonschema costs 30 ms

    _text("agent", agent, MAX_NAME)
    _text("action_class", action_class, MAX_NAME)
    if idempotency_key is not None:
        _text("idempotency_key", idempotency_key, MAX_KEY)
    exact = _exact("arguments", arguments)
    if schema is not None:
        _exact("schema", schema)
        problems = check_schema(schema)
        if problems:
            raise GateInputError("schema", "is not a JSON Schema edits can be checked "
                                 "against: " + "; ".join(str(p) for p in problems))
        broken = validate(exact, schema)
        if broken:
            more = f" (and {len(broken) - 1} more)" if len(broken) > 1 else ""
            raise GateInputError("arguments", f"break the agent's own schema: "
                                 f"{broken[0].message}{more}", broken[0].path)
    for index, step in enumerate(reasoning):
        if isinstance(step, Step):
            _check_step(index, step)
        elif not isinstance(step, SpanRecord):
            raise GateInputError(f"reasoning[{index}]", f"must be a Step or a SpanRecord, "
                                                        f"not {type(step).__name__}")
