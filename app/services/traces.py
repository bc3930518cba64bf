"""The trace feed as the rest of the program sees it: spans in (from any source, in
batches, idempotently), runs and spans out for the Traces workspace and the inspector.

Writes go through ``traces.ingest`` (one transaction per batch of `BATCH_SPANS`);
reads select plain columns and build DTOs with ``model_construct`` so that a
10,000-span run opens, and a filter over 50,000 runs answers, without ORM objects.

Searching *within* one run (``span_text_search``) is a SQL ``LIKE`` over the run's
spans; the inspector may equally filter the spans it already holds in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..domain import ActionState, SpanKind, SpanRecord
from ..domain.runs import IngestResult, RunQuery, RunSummary
from ..ingest.files import MAX_FILE_BYTES, decode_data, read_file, split_file
from ..ingest.pool import IngestPool
from ..ingest.prepare import paused_gc
from ..store.engine import Store
from ..store.models import ActionRow, AgentRow, RunRow, SpanLogRow, SpanRow
from ..wire.log_events import LogEvent, fold_logs
from ..wire.normalize import SpanValues, normalize_values
from ..wire.otlp_logs import LOG_FIELDS, LogValues, decode_logs_request, looks_like_logs
from ..wire.raw import DecodeResult, OtlpDecodeError
from .spans import BATCH_SPANS, write_spans, write_values

#: Told after each committed batch how many spans of the call have been processed.
Progress = Callable[[int], None]
#: Told after each committed piece of a file: done, total and their unit ("spans", or
#: "lines" for JSON Lines, whose span count is known only once read).
FileProgress = Callable[[int, int, str], None]

_SPAN_FIELDS = tuple(SpanRecord.model_fields)
_SPAN_COLUMNS = [getattr(SpanRow, name) for name in _SPAN_FIELDS]
_KIND_INDEX = _SPAN_FIELDS.index("kind")
_KINDS = {kind.value: kind for kind in SpanKind}
_PENDING = ActionState.PENDING.value


def _pending_count() -> Any:
    return (
        select(func.count())
        .where(ActionRow.trace_id == RunRow.trace_id, ActionRow.state == _PENDING)
        .correlate(RunRow)
        .scalar_subquery()
    )


_RUN_COLUMNS = (
    RunRow.trace_id, RunRow.name, RunRow.agent_name, RunRow.agent_id, RunRow.session_id,
    RunRow.source, RunRow.started_ns, RunRow.ended_ns, RunRow.status, RunRow.span_count,
    RunRow.error_count, RunRow.prompt_tokens, RunRow.completion_tokens, RunRow.total_cost,
    RunRow.root_span_id, RunRow.service_name, RunRow.scope_name, RunRow.duplicate_of,
    RunRow.agent_source, RunRow.root_end_ns,
)
_RUN_FIELDS = (
    "trace_id", "name", "agent_name", "agent_id", "session_id", "source", "started_ns",
    "ended_ns", "status", "span_count", "error_count", "prompt_tokens",
    "completion_tokens", "total_cost", "root_span_id", "service_name", "instrumentation",
    "duplicate_of",
)
_AGENT_SOURCE = len(_RUN_FIELDS)


class TraceService:
    """Spans and runs over one store. Thread-safe (each call is its own unit of work)."""

    def __init__(self, store: Store, *, batch_spans: int = BATCH_SPANS) -> None:
        self.store = store
        self.batch_spans = batch_spans

    # -- ingest ----------------------------------------------------------------------

    def ingest(
        self, spans: Sequence[SpanRecord], *, source: str, progress: Progress | None = None
    ) -> IngestResult:
        """Store ``spans`` in batches (one transaction each); spans already stored are
        counted as duplicates. A failure leaves the batches before it committed."""
        total = IngestResult()
        for start in range(0, len(spans), self.batch_spans):
            total.merge(self._write_batch(spans[start : start + self.batch_spans], source))
            if progress is not None:
                progress(min(start + self.batch_spans, len(spans)))
        return total

    def _write_batch(self, spans: Sequence[SpanRecord], source: str) -> IngestResult:
        with paused_gc(), self.store.write() as session:
            return write_spans(session, spans, source=source)

    def ingest_values(self, rows: Sequence[SpanValues], *, source: str) -> IngestResult:
        """Store rows the normaliser made (`normalize_values`), in one transaction."""
        with paused_gc(), self.store.write() as session:
            return write_values(session, rows, source=source)

    def ingest_log_values(self, rows: Sequence[LogValues]) -> IngestResult:
        """Store log records about spans (`decode_logs_request`), in one transaction;
        records stored before count as duplicates."""
        result = IngestResult()
        if not rows:
            return result
        with self.store.write() as session:
            dialect = session.get_bind().dialect.name
            insert: Any = sqlite_insert if dialect == "sqlite" else pg_insert
            table: Any = SpanLogRow.__table__
            stmt = insert(table).on_conflict_do_nothing(index_elements=["record_key"])
            params = [dict(zip(LOG_FIELDS, row, strict=True)) for row in rows]
            connection = session.connection()
            if dialect == "sqlite":
                added = int(connection.execute(stmt, params).rowcount)
            else:
                added = len(connection.execute(stmt.returning(table.c.id), params).all())
        result.added = added
        result.duplicates = len(rows) - added
        return result

    def ingest_logs_file(self, data: bytes, *, origin: str) -> IngestResult:
        """Import a log export file (already read): its records about spans."""
        decoded = decode_logs_request(data, None, max_body_bytes=MAX_FILE_BYTES)
        result = self.ingest_log_values(decoded.rows)
        result.rejected = [f"{origin}: {problem}" for problem in decoded.rejections]
        result.warnings = [f"{origin}: {problem}" for problem in decoded.warnings]
        return result

    def ingest_decoded(
        self,
        decoded: DecodeResult,
        *,
        source: str,
        origin: str = "",
        progress: Progress | None = None,
    ) -> IngestResult:
        """Normalise and store what an OTLP decoder produced. Its rejections and
        repairs are carried into the result, prefixed with ``origin`` (a file name)."""
        prefix = f"{origin}: " if origin else ""
        # Normalised batch by batch, so a large file never holds two full copies.
        # (Normalising in one thread while writing in another gains nothing: both
        # hold the GIL for most of their time.)
        raw = decoded.spans
        result = IngestResult()
        for start in range(0, len(raw), self.batch_spans):
            rows = [normalize_values(span) for span in raw[start : start + self.batch_spans]]
            result.merge(self.ingest_values(rows, source=source))
            if progress is not None:
                progress(min(start + self.batch_spans, len(raw)))
        result.rejected = [f"{prefix}{problem}" for problem in decoded.rejections] + [
            f"{prefix}{text}" for text in result.rejected
        ]
        result.warnings.extend(f"{prefix}{problem}" for problem in decoded.warnings)
        return result

    def ingest_file(
        self,
        path: Path,
        *,
        source: str,
        pool: IngestPool | None = None,
        progress: FileProgress | None = None,
    ) -> IngestResult:
        """Import one OTLP file (JSON, protobuf or JSON Lines; gzip too). Its pieces are
        decoded and normalised in ``pool``'s worker processes while this thread writes
        the pieces before them, one transaction each. Raises `OSError` when the file
        cannot be read and `OtlpDecodeError` when it holds no trace request."""
        prefix = f"{path}: "
        data = read_file(path)
        if looks_like_logs(data):
            return self.ingest_logs_file(data, origin=str(path))
        pieces = split_file(data, max_spans=self.batch_spans)
        if pieces is None:  # malformed somewhere: the lenient decoder reads it whole
            with paused_gc():
                decoded = decode_data(data)
            del data
            total = len(decoded.spans)
            return self.ingest_decoded(
                decoded, source=source, origin=str(path),
                progress=None if progress is None else lambda done: progress(done, total, "spans"),
            )
        del data
        pool = pool or IngestPool(workers=0)
        result = IngestResult()
        seen_warnings: set[str] = set()
        unreadable: list[str] = []
        done = 0
        pending = ((p.body, p.content_type, p.origin) for p in pieces.pieces)
        for origin, future in pool.map_ordered(pending, max_body_bytes=MAX_FILE_BYTES):
            try:
                prepared = future.result()
            except OtlpDecodeError as exc:
                # A JSON Lines line that is no request; a cut piece only by a bug, but
                # then it is named too and the others are still imported.
                where = f"line {origin.line}" if origin.line is not None else (
                    f"resourceSpans[{origin.resource}].scopeSpans[{origin.scope}] from "
                    f"spans[{origin.first_span}]")
                unreadable.append(f"{prefix}{where}: request: {exc}")
            else:
                written = self.ingest_values(prepared.rows, source=source)
                result.added += written.added
                result.duplicates += written.duplicates
                result.rejected.extend(prefix + text for text in prepared.rejections)
                result.rejected.extend(prefix + text for text in written.rejected)
                # A resource's repairs are found again in each piece cut from it.
                for text in prepared.warnings:
                    if text not in seen_warnings:
                        seen_warnings.add(text)
                        result.warnings.append(prefix + text)
                done += len(prepared.rows) if pieces.unit == "spans" else 1
            if progress is not None:
                progress(done if pieces.unit == "spans" else done + len(unreadable),
                         pieces.total, pieces.unit)
        if unreadable and pieces.unit == "lines" and len(unreadable) == pieces.total:
            raise OtlpDecodeError(f"no line is an OTLP/JSON request ({unreadable[0]})")
        result.rejected[:0] = unreadable
        return result

    # -- runs ------------------------------------------------------------------------

    def run(self, trace_id: str) -> RunSummary | None:
        query = select(*_RUN_COLUMNS, _pending_count()).where(RunRow.trace_id == trace_id)
        with self.store.read() as session:
            row = session.execute(query).first()
        return None if row is None else _summary(row)

    def search_runs(self, query: RunQuery) -> list[RunSummary]:
        """Runs matching every filter of ``query``, newest first, one page."""
        stmt = (
            select(*_RUN_COLUMNS, _pending_count())
            .where(*_conditions(query))
            .order_by(RunRow.started_ns.desc(), RunRow.id.desc())
            .limit(query.limit)
            .offset(query.offset)
        )
        with self.store.read() as session:
            rows = session.execute(stmt).all()
        return [_summary(row) for row in rows]

    def count_runs(self, query: RunQuery) -> int:
        """How many runs match ``query`` (its limit and offset ignored)."""
        stmt = select(func.count(RunRow.id)).where(*_conditions(query))
        with self.store.read() as session:
            return int(session.execute(stmt).scalar_one())

    def agents(self) -> list[str]:
        """Every agent name a run or an action mentions, for the agent filter."""
        with self.store.read() as session:
            from_runs = session.execute(
                select(RunRow.agent_name).where(RunRow.agent_name.is_not(None)).distinct()
            ).scalars()
            names = set(from_runs)
            names.update(session.execute(select(AgentRow.name).distinct()).scalars())
        return sorted(n for n in names if n)

    def proposing_spans(self, trace_id: str) -> list[str]:
        """The spans of ``trace_id`` that proposed its actions: those still waiting for
        a verdict first (oldest first), then the others (newest first)."""
        stmt = (
            select(ActionRow.span_id, ActionRow.state)
            .where(ActionRow.trace_id == trace_id, ActionRow.span_id.is_not(None))
            .order_by(ActionRow.created_at.desc(), ActionRow.id.desc())
        )
        with self.store.read() as session:
            rows = [(str(span), state) for span, state in session.execute(stmt).all()]
        pending = [span for span, state in reversed(rows) if state == _PENDING]
        return pending + [span for span, state in rows if state != _PENDING]

    # -- spans -----------------------------------------------------------------------

    def run_spans(self, trace_id: str) -> list[SpanRecord]:
        """Every span of one run in start order (ties by arrival), ready for the
        inspector's tree and waterfall."""
        stmt = (
            select(*_SPAN_COLUMNS)
            .where(SpanRow.trace_id == trace_id)
            .order_by(SpanRow.start_ns, SpanRow.id)
        )
        logs_stmt = (
            select(SpanLogRow.span_id, SpanLogRow.time_ns, SpanLogRow.name,
                   SpanLogRow.body_json, SpanLogRow.attributes_json, SpanLogRow.severity)
            .where(SpanLogRow.trace_id == trace_id)
        )
        with self.store.read() as session:
            rows = session.connection().execute(stmt).all()
            log_rows = session.connection().execute(logs_stmt).all()
        logs: dict[str, list[LogEvent]] = {}
        for span_id, *event in log_rows:
            logs.setdefault(span_id, []).append(tuple(event))  # type: ignore[arg-type]
        out = []
        with paused_gc():
            for row in rows:
                values = dict(zip(_SPAN_FIELDS, row, strict=True))
                values["kind"] = _KINDS.get(row[_KIND_INDEX], SpanKind.UNKNOWN)
                found = logs.get(values["span_id"])
                if found:  # log records about this span: its events (and messages)
                    values["events_json"], values["input_json"], values["output_json"] = (
                        fold_logs(values["events_json"], values["input_json"],
                                  values["output_json"], found))
                out.append(_trusted(SpanRecord, values))
        return out

    def span_text_search(self, trace_id: str, text: str) -> list[str]:
        """Span ids of ``trace_id`` whose name, input, output, attributes, events or
        status message contain ``text`` (case-insensitive), in start order."""
        pattern = _like_pattern(text)
        columns = (SpanRow.name, SpanRow.input_json, SpanRow.output_json,
                   SpanRow.attributes_json, SpanRow.events_json, SpanRow.status_message)
        stmt = (
            select(SpanRow.span_id)
            .where(SpanRow.trace_id == trace_id,
                   or_(*(c.ilike(pattern, escape="\\") for c in columns)))
            .order_by(SpanRow.start_ns, SpanRow.id)
        )
        with self.store.read() as session:
            return list(session.execute(stmt).scalars())


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(q: RunQuery) -> list[ColumnElement[bool]]:
    """The WHERE clauses for ``q``; each filter is one indexed or cheap row test."""
    conditions: list[ColumnElement[bool]] = []
    if q.agent is not None:
        conditions.append(RunRow.agent_name == q.agent)
    if q.since_ns is not None:
        conditions.append(RunRow.started_ns >= q.since_ns)
    if q.until_ns is not None:
        conditions.append(RunRow.started_ns <= q.until_ns)
    if q.status == "running":  # the root has not arrived, or not ended
        conditions.append(or_(RunRow.root_span_id.is_(None), RunRow.root_end_ns.is_(None)))
    elif q.status is not None:  # a finished run's status: a running one shows no verdict yet
        conditions.extend((RunRow.status == q.status, RunRow.root_span_id.is_not(None),
                           RunRow.root_end_ns.is_not(None)))
    duration = RunRow.ended_ns - RunRow.started_ns
    if q.min_duration_ns is not None:
        conditions.append(duration >= q.min_duration_ns)
    if q.max_duration_ns is not None:
        conditions.append(duration <= q.max_duration_ns)
    tokens = RunRow.prompt_tokens + RunRow.completion_tokens
    if q.min_tokens is not None:
        conditions.append(tokens >= q.min_tokens)
    if q.max_tokens is not None:
        conditions.append(tokens <= q.max_tokens)
    if q.min_cost is not None:
        conditions.append(RunRow.total_cost >= q.min_cost)
    if q.max_cost is not None:
        conditions.append(RunRow.total_cost <= q.max_cost)
    if q.has_pending_action is not None:
        # Driven from the (few) pending actions through ix_actions_state_created.
        pending = select(ActionRow.trace_id).where(
            ActionRow.state == _PENDING, ActionRow.trace_id.is_not(None)
        )
        if q.has_pending_action:
            conditions.append(RunRow.trace_id.in_(pending))
        else:
            conditions.append(
                ~exists().where(ActionRow.trace_id == RunRow.trace_id, ActionRow.state == _PENDING)
            )
    if q.text:
        conditions.append(RunRow.name.ilike(_like_pattern(q.text), escape="\\"))
    if not q.include_duplicates:
        conditions.append(RunRow.duplicate_of.is_(None))
    return conditions


def _summary(row: Any) -> RunSummary:
    values = dict(zip(_RUN_FIELDS, row, strict=False))
    agent_source, root_end_ns, pending = row[_AGENT_SOURCE:]
    values["agent_from_service"] = agent_source == "service"
    values["finished"] = values["root_span_id"] is not None and root_end_ns is not None
    values["pending_actions"] = pending
    return _trusted(RunSummary, values)


_M = TypeVar("_M", bound=BaseModel)
_ALL_SET: dict[type[BaseModel], set[str]] = {
    SpanRecord: set(SpanRecord.model_fields), RunSummary: set(RunSummary.model_fields)
}
_new = object.__new__
_set = object.__setattr__


def _trusted(model: type[_M], values: dict[str, Any]) -> _M:
    """``model.model_construct(**values)`` for a complete set of values the store
    wrote: what model_construct ends up doing, without its per-field alias and default
    handling, which costs 20 times more (a 10,000-span run: 400 ms against 20 ms).
    Valid for these DTOs: no aliases, no extra fields, no private attributes."""
    instance = _new(model)
    _set(instance, "__dict__", values)
    # Shared: these models are frozen, so nothing adds to it (model_copy copies it).
    _set(instance, "__pydantic_fields_set__", _ALL_SET[model])
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance
