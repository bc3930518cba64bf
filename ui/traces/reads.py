"""What the Traces workspace reads from the store, as plain functions of their inputs
that run off the GUI thread (STYLE.md rule 7): a page of runs with the counts the
list and its banner show, and one run's spans with the span that proposed its action.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from countersign.domain import SpanRecord
from countersign.domain.runs import RunQuery, RunSummary

#: How many runs are looked through for a duplicate that names the instrumentations.
_SAMPLE = 200


class TraceReads(Protocol):
    """What the workspace needs of `countersign.services.traces.TraceService`."""

    def search_runs(self, query: RunQuery) -> list[RunSummary]: ...
    def count_runs(self, query: RunQuery) -> int: ...
    def run(self, trace_id: str) -> RunSummary | None: ...
    def run_spans(self, trace_id: str) -> list[SpanRecord]: ...
    def proposing_spans(self, trace_id: str) -> list[str]: ...
    def agents(self) -> list[str]: ...


@dataclass(frozen=True)
class RunPage:
    rows: list[RunSummary]
    #: How many runs match in all (first pages only).
    total: int | None
    #: Of the runs matching the other filters, how many only repeat a model call of
    #: another run (a second instrumentation recorded it); first pages only.
    duplicates: int = 0
    #: The instrumentations (scope names) recording the same calls, when a duplicate
    #: and its run name them: (the run's, the duplicate's).
    instrumentations: tuple[str, ...] = ()


def load_runs(service: TraceReads, query: RunQuery, *, count: bool,
              name_instrumentations: bool = False) -> RunPage:
    """One page of runs; for a first page (``count``), how many match in all and how
    many of those repeat another run's model call (naming the two instrumentations
    when ``name_instrumentations``)."""
    rows = service.search_runs(query)
    if not count:
        return RunPage(rows, None)
    total = service.count_runs(query)
    other = service.count_runs(
        query.model_copy(update={"include_duplicates": not query.include_duplicates}))
    duplicates = abs(total - other)
    names: tuple[str, ...] = ()
    if duplicates and name_instrumentations:
        names = _instrumentations(service, query, rows)
    return RunPage(rows, total, duplicates, names)


def _instrumentations(service: TraceReads, query: RunQuery,
                      rows: list[RunSummary]) -> tuple[str, ...]:
    sample = rows if query.include_duplicates else service.search_runs(
        query.model_copy(update={"include_duplicates": True, "offset": 0, "limit": _SAMPLE}))
    duplicate = next((run for run in sample if run.duplicate_of is not None), None)
    if duplicate is None or duplicate.duplicate_of is None:
        return ()
    original = service.run(duplicate.duplicate_of)
    found = [original.instrumentation if original is not None else None,
             duplicate.instrumentation]
    return tuple(dict.fromkeys(name for name in found if name))


@dataclass(frozen=True)
class LoadedRun:
    trace_id: str
    spans: list[SpanRecord]
    #: The span that proposed the run's action (a pending one first), if it is here.
    proposer: str | None


def load_run(service: TraceReads, trace_id: str) -> LoadedRun:
    """One run's spans, and the span that proposed its (pending, else latest) action."""
    spans = service.run_spans(trace_id)
    ids = {span.span_id for span in spans}
    proposer = next((span for span in service.proposing_spans(trace_id) if span in ids), None)
    return LoadedRun(trace_id, spans, proposer)
