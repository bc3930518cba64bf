"""From an OTLP body to rows the store can take: decode, check the batch, normalise.

This is the CPU-heavy half of ingest (about two thirds of it), and a pure function of
its input, so the ingest pool (pool.py) runs it in other processes while the caller
writes. What it returns is plain data: insert-ready tuples and the problems found, as
text naming the span and the field.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..wire import budget
from ..wire.budget import time_budget
from ..wire.normalize import SpanValues, normalize_values
from ..wire.otlp import DEFAULT_MAX_BODY_BYTES, decode_export_request
from ..wire.otlp_logs import LogValues, decode_logs_request
from ..wire.raw import DecodeProblem


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a body came from when it is a piece of something larger: a line of a JSON
    Lines file, and/or a run of spans cut out of one big request (its spans keep the
    index paths they had in the whole request)."""

    line: int | None = None
    resource: int = 0
    scope: int = 0
    first_span: int = 0

    def place(self, problem: DecodeProblem) -> str:
        path = problem.path
        if self.resource or self.scope or self.first_span:
            path = _PATH.sub(self._rebase, path, count=1)
        if self.line is not None:
            path = f"line {self.line} {path}"
        return str(problem if path == problem.path else _replace_path(problem, path))

    def _rebase(self, match: re.Match[str]) -> str:
        out = f"resourceSpans[{int(match[1]) + self.resource}]"
        if match[2] is not None:
            out += f".scopeSpans[{int(match[2]) + self.scope}]"
        if match[3] is not None:
            out += f".spans[{int(match[3]) + self.first_span}]"
        return out


_PATH = re.compile(r"^resourceSpans\[(\d+)\](?:\.scopeSpans\[(\d+)\](?:\.spans\[(\d+)\])?)?")


def _replace_path(problem: DecodeProblem, path: str) -> DecodeProblem:
    return DecodeProblem(path, problem.trace_id, problem.span_id, problem.field, problem.reason)


@dataclass(slots=True)
class Prepared:
    """One body, ready to write: its spans as insert parameters, the spans it could not
    take, and the repairs made (both as sentences naming the span and field)."""

    rows: list[SpanValues] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def prepare_request(
    body: bytes,
    content_type: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    origin: Origin | None = None,
    budget_s: float | None = None,
) -> Prepared:
    """Decode (JSON or protobuf, gzip or not) and normalise one export request, within
    ``budget_s`` seconds (`BudgetExceeded` past it). Raises `OtlpDecodeError` when the
    body is not a trace request at all."""
    origin = origin or Origin()
    with paused_gc(), time_budget(budget_s):
        decoded = decode_export_request(body, content_type, max_body_bytes=max_body_bytes)
        rows = []
        for index, span in enumerate(decoded.spans):
            if index & 0xFF == 0:
                budget.check()
            rows.append(normalize_values(span))
        return Prepared(
            rows=rows,
            rejections=[origin.place(problem) for problem in decoded.rejections],
            warnings=[origin.place(problem) for problem in decoded.warnings],
        )


@dataclass(slots=True)
class PreparedLogs:
    """One log export body, ready to write: its records as `SpanLogRow` values."""

    rows: list[LogValues] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def prepare_logs(
    body: bytes,
    content_type: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    budget_s: float | None = None,
) -> PreparedLogs:
    """Decode one log export request. Raises `OtlpDecodeError` when the body is not
    a log request at all."""
    with paused_gc(), time_budget(budget_s):
        decoded = decode_logs_request(body, content_type, max_body_bytes=max_body_bytes)
    return PreparedLogs(decoded.rows, [str(p) for p in decoded.rejections],
                        [str(p) for p in decoded.warnings])


@contextmanager
def paused_gc() -> Iterator[None]:
    """Build many small objects without the cyclic GC walking them again and again
    (it doubles the time to load a 10,000-span run or decode a large file). Nothing
    built here holds reference cycles; collection resumes afterwards."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
