"""One model call recorded by two instrumentations.

With OpenInference-LangChain and the official OpenAI instrumentation both active, each
model call is recorded twice: as an LLM span inside the agent's run, and, because the
OpenAI instrumentation does not see LangChain's spans as its parent, as a run of its
own holding one LLM span ("chat gpt-4o-mini"). Counting both doubles the tokens and
turns one agent turn into several runs.

Such a lone call is linked to the run it belongs to (``runs.duplicate_of``) when a
model call of another run matches it: same token counts, a compatible model, times
that overlap, and the same service when both name one. Either may arrive first, so
each batch looks both ways: its lone calls for their originals, and its other model
calls for lone calls stored before. Every look-up is one indexed query per batch.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ..store.models import RunRow, SpanRow
from ..wire.normalize import SPAN_FIELDS, SpanValues

#: How far apart two recordings of one call may start or end (clocks, queueing).
TOLERANCE_NS = 2_000_000_000
#: How long before a lone call the run holding its original may have started.
RUN_WINDOW_NS = 6 * 3600 * 10**9

_TRACE, _SPAN, _PARENT, _KIND, _START, _END, _PROMPT, _COMPLETION, _MODEL, _SERVICE = (
    SPAN_FIELDS.index(name) for name in (
        "trace_id", "span_id", "parent_span_id", "kind", "start_ns", "end_ns",
        "prompt_tokens", "completion_tokens", "model", "service_name"))
_Call = tuple[str, str, int, int, int | None, int | None, str | None, str | None]
_fields = operator.itemgetter(_TRACE, _SPAN, _START, _END, _PROMPT, _COMPLETION, _MODEL,
                              _SERVICE)


def find_duplicate_calls(session: Session, added: Sequence[SpanValues]) -> None:
    """Link the lone model calls among (or matching) the spans just ``added``."""
    calls = [row for row in added if row[_KIND] == "llm" and row[_END] is not None
             and (row[_PROMPT] is not None or row[_COMPLETION] is not None)]
    if not calls:
        return
    roots = [row for row in calls if row[_PARENT] is None]
    lone = _lone_runs(session, {row[_TRACE] for row in roots}) if roots else set()
    links: dict[str, str] = {}
    lone_calls = [_call(row) for row in roots if row[_TRACE] in lone]
    if lone_calls:
        links.update(_originals_for(session, lone_calls))
    others = [_call(row) for row in calls if row[_TRACE] not in lone]
    if others:
        for duplicate, original in _lone_calls_for(session, others).items():
            links.setdefault(duplicate, original)
    for duplicate, original in sorted(links.items()):
        session.execute(
            update(RunRow)
            .where(RunRow.trace_id == duplicate, RunRow.duplicate_of.is_(None))
            .values(duplicate_of=original)
        )


def _call(row: SpanValues) -> _Call:
    return _fields(row)  # type: ignore[no-any-return]


def _lone_runs(session: Session, trace_ids: set[str]) -> set[str]:
    """Runs of ``trace_ids`` that hold one span (their root) and are not linked yet."""
    stmt = select(RunRow.trace_id).where(
        RunRow.trace_id.in_(sorted(trace_ids)), RunRow.span_count == 1,
        RunRow.duplicate_of.is_(None))
    return set(session.execute(stmt).scalars())


def _matches(lone: _Call, other: _Call) -> bool:
    """Same tokens, compatible models, overlapping times, same service if both have
    one: the two recordings of one call."""
    _, _, start, end, prompt, completion, model, service = lone
    _, _, o_start, o_end, o_prompt, o_completion, o_model, o_service = other
    if (prompt, completion) != (o_prompt, o_completion):
        return False
    if model and o_model and not (model.startswith(o_model) or o_model.startswith(model)):
        return False
    if service and o_service and service != o_service:
        return False
    o_end = o_end if o_end is not None else o_start
    return start <= o_end + TOLERANCE_NS and o_start <= (end or start) + TOLERANCE_NS


def _best(lone: _Call, candidates: list[_Call]) -> _Call | None:
    found = [c for c in candidates if c[0] != lone[0] and _matches(lone, c)]
    return min(found, key=lambda c: abs(c[2] - lone[2])) if found else None


_CALL_COLUMNS = (SpanRow.trace_id, SpanRow.span_id, SpanRow.start_ns, SpanRow.end_ns,
                 SpanRow.prompt_tokens, SpanRow.completion_tokens, SpanRow.model,
                 SpanRow.service_name)


def _originals_for(session: Session, lone_calls: list[_Call]) -> dict[str, str]:
    """Lone calls just stored → the runs (stored before or now) holding the same call."""
    low = min(c[2] for c in lone_calls)
    high = max(c[2] for c in lone_calls)
    runs = select(RunRow.trace_id).where(
        RunRow.started_ns >= low - RUN_WINDOW_NS, RunRow.started_ns <= high + TOLERANCE_NS,
        RunRow.span_count > 1, RunRow.duplicate_of.is_(None))
    stmt = select(*_CALL_COLUMNS).where(SpanRow.trace_id.in_(runs), SpanRow.kind == "llm")
    prompts = {c[4] for c in lone_calls}
    if None not in prompts:
        stmt = stmt.where(SpanRow.prompt_tokens.in_(sorted(p for p in prompts if p is not None)))
    candidates: list[Any] = [tuple(row) for row in session.execute(stmt)]
    links: dict[str, str] = {}
    used: set[str] = set()
    for lone in lone_calls:
        best = _best(lone, [c for c in candidates if c[1] not in used])
        if best is not None:
            links[lone[0]] = best[0]
            used.add(best[1])
    return links


def _lone_calls_for(session: Session, calls: list[_Call]) -> dict[str, str]:
    """Model calls just stored inside runs → lone calls stored before that repeat them."""
    prompts = sorted({c[4] for c in calls if c[4] is not None})
    # Only the moments of these calls are looked at (a bulk import spans weeks): their
    # windows merged, each an index range on runs.started_ns.
    windows: list[list[int]] = []
    for start, end in sorted((c[2] - TOLERANCE_NS, (c[3] or c[2]) + TOLERANCE_NS)
                             for c in calls):
        if windows and start <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], end)
        else:
            windows.append([start, end])
    lone_calls: list[Any] = []
    for first in range(0, len(windows), 200):
        ranges = [RunRow.started_ns.between(low, high) for low, high in windows[first:first + 200]]
        lone_runs = select(RunRow.trace_id).where(
            or_(*ranges), RunRow.span_count == 1, RunRow.duplicate_of.is_(None),
            RunRow.prompt_tokens.in_(prompts))
        stmt = select(*_CALL_COLUMNS).where(
            SpanRow.trace_id.in_(lone_runs), SpanRow.kind == "llm",
            SpanRow.parent_span_id.is_(None))
        lone_calls.extend(tuple(row) for row in session.execute(stmt))
    links: dict[str, str] = {}
    used: set[str] = set()
    for lone in lone_calls:
        best = _best(lone, [c for c in calls if c[1] not in used])
        if best is not None:
            links[lone[0]] = best[0]
            used.add(best[1])
    return links
