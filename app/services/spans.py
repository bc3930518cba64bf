"""Writing normalised spans to the store, and keeping each run's roll-ups current.

This is the one write path for spans: OTLP files, the OTLP receiver, the OpenTelemetry
exporter and the gate's reasoning steps all come through `write_spans`, so a run's
counts, tokens, cost, time span and status always agree with its spans.

It is built for bulk (no ORM objects, one statement per batch) and exact about what
was new, so re-sent spans are counted as duplicates and never twice in the roll-ups:
on PostgreSQL ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` names the rows inserted
even when two writers race; on SQLite, where a writer holds the lock for its whole
transaction, the batch's stored keys are read first and the rest goes through the
driver's executemany. Runs are upserted (``ON CONFLICT DO UPDATE``) with additive
roll-ups; both dialects take the forms used here.
"""

from __future__ import annotations

import logging
import math
import operator
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from ..domain import SpanRecord
from ..domain.runs import IngestResult
from ..store.models import AgentRow, RunRow, SpanRow
from ..wire.normalize import SPAN_FIELDS, SpanValues
from ..wire.safe_text import is_store_safe, safe_json, safe_plain
from .span_duplicates import find_duplicate_calls

log = logging.getLogger("countersign.services.spans")

#: Spans per transaction for batch imports (one commit each).
BATCH_SPANS = 5_000

_TRACE_ID = re.compile(r"[0-9a-f]{32}")
_SPAN_ID = re.compile(r"[0-9a-f]{16}")
_INT63_MAX = 2**63 - 1
_INT32_MAX = 2**31 - 1
_STATUSES = frozenset({"ok", "error", "unset"})
#: Column widths of `SpanRow` / `RunRow` that PostgreSQL enforces.
_WIDTHS = {"model": 200, "provider": 100, "agent_name": 200, "session_id": 200,
           "error_type": 200}
_WIDTHS.update(service_name=200, scope_name=200)
_TEXTS = ("name", "status_message", "model", "provider", "agent_name", "session_id",
          "error_type", "service_name", "scope_name")
_JSON_TEXTS = ("input_json", "output_json", "attributes_json", "events_json")
_COUNTS = ("prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens")
_RUN_NAME_WIDTH = 500
_SPANS = SpanRow.__table__
#: Insert parameters are a span's fields in `SpanRecord` order (the column names match).
_SPAN_COLUMNS = SPAN_FIELDS
assert set(_SPAN_COLUMNS) == {c.name for c in _SPANS.columns} - {"id"}, "SpanRow ≠ SpanRecord"
_FIELDS_OF = operator.itemgetter(*_SPAN_COLUMNS)
(_TRACE, _SPAN, _PARENT, _NAME, _KIND, _START, _END, _STATUS, _PROMPT, _COMPLETION, _COST,
 _AGENT, _SESSION, _SERVICE, _SCOPE, _WARNINGS, _MODEL) = (_SPAN_COLUMNS.index(name) for name in (
    "trace_id", "span_id", "parent_span_id", "name", "kind", "start_ns", "end_ns",
    "status_code", "prompt_tokens", "completion_tokens", "cost", "agent_name", "session_id",
    "service_name", "scope_name", "warnings_json", "model"))
_JSON_INDEXES = tuple((_SPAN_COLUMNS.index(name), name) for name in _JSON_TEXTS)
_TEXT_WIDTHS = tuple(
    (_SPAN_COLUMNS.index(name), _WIDTHS.get(name)) for name in _TEXTS
)
_COUNT_INDEXES = tuple(_SPAN_COLUMNS.index(name) for name in _COUNTS)
_SQLITE_INSERT = (
    f"INSERT INTO spans ({', '.join(_SPAN_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_SPAN_COLUMNS))}) ON CONFLICT (trace_id, span_id) DO NOTHING"
)
_SQLITE_LAST_ID = "SELECT max(id) FROM spans"
_SQLITE_KEYS_AFTER = "SELECT trace_id, span_id FROM spans WHERE id > ?"
_RUNS = RunRow.__table__


def span_problem(span: SpanRecord) -> str | None:
    """Why ``span`` cannot be stored, or None. The decoders check all of this already;
    spans built by other code (plugins, the gate, the exporter) are checked here."""
    where = f"span {span.span_id!r} of trace {span.trace_id!r}"
    if not _TRACE_ID.fullmatch(span.trace_id) or span.trace_id == "0" * 32:
        return f"{where}: trace_id: must be 32 lower-case hex digits, not all zeros"
    if not _SPAN_ID.fullmatch(span.span_id) or span.span_id == "0" * 16:
        return f"{where}: span_id: must be 16 lower-case hex digits, not all zeros"
    parent = span.parent_span_id
    if parent is not None and (not _SPAN_ID.fullmatch(parent) or parent == span.span_id):
        return f"{where}: parent_span_id: must be 16 lower-case hex digits other than its own"
    if not 0 < span.start_ns <= _INT63_MAX:
        return f"{where}: start_ns: out of range ({span.start_ns})"
    if span.end_ns is not None and not span.start_ns <= span.end_ns <= _INT63_MAX:
        return f"{where}: end_ns: out of range or before start ({span.end_ns})"
    return None


def _row(span: SpanRecord) -> SpanValues:
    """The insert parameters for one span, with the few values the store cannot take
    made safe (PostgreSQL refuses NUL in text and over-wide varchars; both stores
    refuse integers past 64 bits). Spans come from many sources, not only decoders."""
    row = list(_FIELDS_OF(span.__dict__))
    row[_KIND] = span.kind.value
    warnings: list[str] = []
    for index, width in _TEXT_WIDTHS:
        value = row[index]
        if value is not None:
            if "\x00" in value:
                row[index] = value = value.replace("\x00", "\ufffd")
            if width is not None and len(value) > width:
                row[index] = value = value[:width]
            if not is_store_safe(value):
                row[index] = safe_plain(value, _SPAN_COLUMNS[index], warnings)
    for index, name in _JSON_INDEXES:
        value = row[index]
        if value is not None and not is_store_safe(value):
            row[index] = safe_json(value, name.removesuffix("_json"), warnings)
    if warnings:
        from ..jsonio import canonical_json, loads

        row[_WARNINGS] = canonical_json([*loads(row[_WARNINGS] or "[]"), *warnings])
    if row[_STATUS] not in _STATUSES:
        row[_STATUS] = "unset"
    for index in _COUNT_INDEXES:
        count = row[index]
        if count is not None and not 0 <= count <= _INT32_MAX:
            row[index] = None
    cost = row[_COST]
    if cost is not None and not math.isfinite(cost):
        row[_COST] = None
    return tuple(row)


@dataclass(slots=True)
class _RunDelta:
    """What one batch adds to one run."""

    spans: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    started_ns: int = _INT63_MAX
    ended_ns: int | None = None
    any_ok: bool = False
    root_name: str = ""
    agent_name: str | None = None
    session_id: str | None = None
    service_name: str | None = None
    scope_name: str | None = None
    root_span_id: str | None = None
    root_status: str | None = None
    root_end_ns: int | None = None

    def add(self, row: SpanValues) -> None:
        self.spans += 1
        status = row[_STATUS]
        if status == "error":
            self.errors += 1
        elif status == "ok":
            self.any_ok = True
        self.prompt_tokens += row[_PROMPT] or 0
        self.completion_tokens += row[_COMPLETION] or 0
        cost = row[_COST]
        if cost is not None:
            self.cost = cost if self.cost is None else self.cost + cost
        self.started_ns = min(self.started_ns, row[_START])
        end = row[_END]
        if end is not None and (self.ended_ns is None or end > self.ended_ns):
            self.ended_ns = end
        if row[_PARENT] is None:
            # The root names the run and speaks for it; its status and end are the run's.
            self.root_name = row[_NAME][:_RUN_NAME_WIDTH] or self.root_name
            self.agent_name = row[_AGENT] or self.agent_name
            self.session_id = row[_SESSION] or self.session_id
            self.service_name = row[_SERVICE] or self.service_name
            self.scope_name = row[_SCOPE] or self.scope_name
            self.root_span_id, self.root_status, self.root_end_ns = row[_SPAN], status, end
        else:
            self.agent_name = self.agent_name or row[_AGENT]
            self.session_id = self.session_id or row[_SESSION]
            self.service_name = self.service_name or row[_SERVICE]
            self.scope_name = self.scope_name or row[_SCOPE]

    @property
    def status(self) -> str:
        """The rule of `_run_status` for a run seen for the first time."""
        return run_status(self.root_status, self.errors, self.any_ok)

    @property
    def agent(self) -> tuple[str | None, str | None]:
        """(agent name, where it came from): a span's agent, else the service."""
        if self.agent_name:
            return self.agent_name, "span"
        if self.service_name:
            return self.service_name, "service"
        return None, None


def run_status(root_status: str | None, errors: int, any_ok: bool) -> str:
    """A run's status: its root's once the root arrived (an unset root over failed
    spans is "error"), else "error" if a span failed, "ok" if one succeeded, or unset."""
    if root_status in ("error", "ok"):
        return root_status
    if errors:
        return "error"
    if root_status is None and any_ok:
        return "ok"
    return "unset"


def write_spans(
    session: Session,
    spans: Sequence[SpanRecord],
    *,
    source: str,
    agent_id: int | None = None,
) -> IngestResult:
    """Store the spans not stored before and fold them into their runs' roll-ups, in
    the caller's transaction. ``agent_id`` links every run touched to that agent (the
    gate knows its agent); otherwise runs are linked by the spans' agent names. Spans
    that cannot be stored are rejected with the reason."""
    rows: list[SpanValues] = []
    rejected: list[str] = []
    for span in spans:
        problem = span_problem(span)
        if problem is None:
            rows.append(_row(span))
        else:
            rejected.append(problem)
    result = write_values(session, rows, source=source, agent_id=agent_id)
    result.rejected[:0] = rejected
    return result


def write_values(
    session: Session,
    rows: Sequence[SpanValues],
    *,
    source: str,
    agent_id: int | None = None,
) -> IngestResult:
    """`write_spans` for rows the normaliser made (`normalize_values`): checked ids and
    times, store-safe text. The OTLP pipeline writes through here.

    A span the store refuses (a constraint, a value the driver cannot take) costs only
    itself: the batch is written in a savepoint, and when that fails the batch is
    split and its halves written alone, down to the one span, which is rejected with
    the store's reason. The store being unavailable is not a span's fault and raises."""
    result = IngestResult()
    unique: list[SpanValues] = []
    seen: set[tuple[str, str]] = set()
    for row in rows:
        key = (row[_TRACE], row[_SPAN])
        if key in seen:
            result.duplicates += 1
            continue
        seen.add(key)
        unique.append(row)
    if not unique:
        return result
    added: list[SpanValues] = []
    pending = [unique]
    while pending:
        part = pending.pop()
        try:
            with session.begin_nested():
                inserted = _write_part(session, part, source=source, agent_id=agent_id)
        except Exception as exc:
            if _store_unavailable(exc):
                raise
            if len(part) > 1:
                middle = len(part) // 2
                pending.extend((part[middle:], part[:middle]))  # first half first
                continue
            row = part[0]
            result.rejected.append(
                f"span {row[_SPAN]} of trace {row[_TRACE]}: the store refused it: "
                f"{_reason(exc)}")
            continue
        added.extend(inserted)
        result.duplicates += len(part) - len(inserted)
    result.added = len(added)
    if added:
        try:
            with session.begin_nested():
                find_duplicate_calls(session, added)
        except Exception as exc:  # the spans are stored; only the link is missed
            if _store_unavailable(exc):
                raise
            log.exception("could not look for duplicate model calls")
    return result


def _write_part(
    session: Session, rows: list[SpanValues], *, source: str, agent_id: int | None
) -> list[SpanValues]:
    added = _insert_new(session, rows)
    deltas: dict[str, _RunDelta] = {}
    for row in added:
        delta = deltas.get(row[_TRACE])
        if delta is None:
            delta = deltas[row[_TRACE]] = _RunDelta()
        delta.add(row)
    if deltas:
        _upsert_runs(session, deltas, source=source, agent_id=agent_id)
    return added


def _store_unavailable(exc: BaseException) -> bool:
    """The store itself is failing (locked, disk full, connection lost): no span is
    to blame, and the caller retries the whole batch."""
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError)
    return False


def _reason(exc: BaseException) -> str:
    detail = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = str(detail).strip().splitlines()[0] if str(detail).strip() else ""
    return f"{type(detail).__name__}: {text[:300]}" if text else type(detail).__name__


def _insert_new(session: Session, rows: list[SpanValues]) -> list[SpanValues]:
    """Insert ``rows`` (unique within themselves), skipping spans already stored;
    returns the rows inserted."""
    if session.get_bind().dialect.name != "sqlite":
        # RETURNING names exactly the rows this statement inserted, even when another
        # writer inserts the same spans at the same moment.
        stmt = _dialect(session).insert(_SPANS).on_conflict_do_nothing(
            index_elements=["trace_id", "span_id"]
        )
        returning = stmt.returning(_SPANS.c.trace_id, _SPANS.c.span_id)
        # Key order: concurrent writers then take row locks in one order (no deadlock).
        rows = sorted(rows, key=lambda row: (row[_TRACE], row[_SPAN]))
        params = [dict(zip(_SPAN_COLUMNS, row, strict=True)) for row in rows]
        inserted = {(r[0], r[1]) for r in session.execute(returning, params)}
        return [row for row in rows if (row[_TRACE], row[_SPAN]) in inserted]
    # SQLite: writers hold the database lock for the whole transaction (BEGIN
    # IMMEDIATE), so nobody else inserts meanwhile and new rows take ids above the
    # largest before. The driver's own executemany is several times faster than
    # compiled multi-row inserts; usually every row is new and nothing is read back.
    connection = session.connection()
    before = connection.exec_driver_sql(_SQLITE_LAST_ID).scalar() or 0
    cursor = connection.exec_driver_sql(_SQLITE_INSERT, rows)
    if cursor.rowcount == len(rows):
        return rows
    inserted = {(r[0], r[1]) for r in connection.exec_driver_sql(_SQLITE_KEYS_AFTER, (before,))}
    return [row for row in rows if (row[_TRACE], row[_SPAN]) in inserted]


def ensure_run(
    session: Session, trace_id: str, *, source: str, agent_id: int | None,
    agent_name: str | None, started_ns: int | None = None,
) -> None:
    """A run row for ``trace_id`` even before any of its spans arrived (an action
    linked to an OpenTelemetry span that is still open)."""
    delta = _RunDelta(started_ns=started_ns or time.time_ns(), agent_name=agent_name)
    _upsert_runs(session, {trace_id: delta}, source=source, agent_id=agent_id)


def _upsert_runs(
    session: Session, deltas: dict[str, _RunDelta], *, source: str, agent_id: int | None
) -> None:
    agents: dict[str, int] = {}
    if agent_id is None:
        agents = resolve_agents(session, (d.agent[0] for d in deltas.values()))
    rows = []
    for trace_id, d in sorted(deltas.items()):  # one lock order for all writers
        agent_name, agent_source = d.agent
        if agent_id is not None:
            agent_source = agent_source or "span"
        rows.append((
            trace_id,
            agent_id if agent_id is not None
            else agents.get(agent_name) if agent_name else None,
            agent_name, d.root_name, d.session_id, d.started_ns, d.ended_ns, d.status,
            source[:200], d.spans, d.errors, d.prompt_tokens, d.completion_tokens, d.cost,
            agent_source, d.service_name, d.root_span_id, d.root_status, d.root_end_ns,
            d.scope_name,
        ))
    if session.get_bind().dialect.name != "sqlite":
        session.execute(_run_upsert(_dialect(session)), [
            dict(zip(_RUN_PARAMS, row, strict=True)) for row in rows
        ])
        return
    # SQLite: compiled statements through the driver's executemany, several times
    # cheaper per run than SQLAlchemy's per-row parameter processing. Runs seen for
    # the first time (most, in a bulk import) are inserted plainly, which costs half
    # the upsert; the others are known by their ids (see _insert_new) and folded in.
    connection = session.connection()
    before = connection.exec_driver_sql(_SQLITE_LAST_RUN_ID).scalar() or 0
    inserted = connection.exec_driver_sql(_SQLITE_RUN_INSERT, rows).rowcount
    if inserted == len(rows):
        return
    new = {r[0] for r in connection.exec_driver_sql(_SQLITE_RUNS_AFTER, (before,))}
    sql, constants = _SQLITE_RUN_UPSERT
    connection.exec_driver_sql(sql, [row + constants for row in rows if row[0] not in new])


_RUN_PARAMS = (
    "trace_id", "agent_id", "agent_name", "name", "session_id", "started_ns", "ended_ns",
    "status", "source", "span_count", "error_count", "prompt_tokens", "completion_tokens",
    "total_cost", "agent_source", "service_name", "root_span_id", "root_status",
    "root_end_ns", "scope_name",
)


def _run_upsert(dialect: _Dialect) -> Any:
    """Insert each run, or fold the batch's delta into the run already stored."""
    stmt = dialect.insert(_RUNS)
    new, old = stmt.excluded, _RUNS.c
    # A batch holding the root span (a non-empty name) speaks for the run: its name,
    # agent and session replace what earlier batches of child spans suggested.
    has_root = new.name != ""

    def from_root(column: str) -> ColumnElement[Any]:
        return case(
            (and_(has_root, new[column].is_not(None)), new[column]),
            else_=func.coalesce(old[column], new[column]),
        )

    # An agent a span named beats the service name a run fell back to.
    take_new_agent = case(
        (and_(has_root, new.agent_source == "span"), literal(True)),
        (old.agent_source == "span", literal(False)),
        (new.agent_source == "span", literal(True)),
        (and_(has_root, new.agent_name.is_not(None)), literal(True)),
        (old.agent_name.is_(None), literal(True)),
        else_=literal(False),
    )

    def agent(column: str) -> ColumnElement[Any]:
        return case((take_new_agent, new[column]), else_=old[column])

    root_status = func.coalesce(new.root_status, old.root_status)
    errors = old.error_count + new.error_count
    return stmt.on_conflict_do_update(
        index_elements=["trace_id"],
        set_={
            "span_count": old.span_count + new.span_count,
            "error_count": errors,
            "prompt_tokens": old.prompt_tokens + new.prompt_tokens,
            "completion_tokens": old.completion_tokens + new.completion_tokens,
            # Unknown (NULL) until some span carries a cost.
            "total_cost": case(
                (old.total_cost.is_(None), new.total_cost),
                (new.total_cost.is_(None), old.total_cost),
                else_=old.total_cost + new.total_cost,
            ),
            "started_ns": dialect.least(old.started_ns, new.started_ns),
            "ended_ns": dialect.greatest(
                func.coalesce(old.ended_ns, new.ended_ns),
                func.coalesce(new.ended_ns, old.ended_ns),
            ),
            # As run_status(): the root's status once it arrived.
            "status": case(
                (root_status == "error", "error"),
                (root_status == "ok", "ok"),
                (errors > 0, "error"),
                (and_(root_status.is_(None), or_(old.status == "ok", new.status == "ok")),
                 "ok"),
                else_="unset",
            ),
            "root_span_id": func.coalesce(new.root_span_id, old.root_span_id),
            "root_status": root_status,
            "root_end_ns": case((new.root_span_id.is_not(None), new.root_end_ns),
                                else_=old.root_end_ns),
            "name": case((has_root, new.name), else_=old.name),
            "agent_name": agent("agent_name"),
            "agent_id": agent("agent_id"),
            "agent_source": agent("agent_source"),
            "session_id": from_root("session_id"),
            "service_name": from_root("service_name"),
            "scope_name": from_root("scope_name"),
        },
    )


def resolve_agents(session: Session, names: Iterable[str | None]) -> dict[str, int]:
    """Agent row ids by name, creating agents seen for the first time. A name already
    known under some version (the gate registers versions) links to the oldest row,
    so spans never split one agent in two."""
    wanted = {n for n in names if n}
    if not wanted:
        return {}
    found: dict[str, int] = {}
    for name, row_id in session.execute(
        select(AgentRow.name, AgentRow.id).where(AgentRow.name.in_(wanted)).order_by(AgentRow.id)
    ):
        found.setdefault(name, row_id)
    missing = wanted - found.keys()
    if missing:
        # Imported here: services.actions writes its spans through this module.
        from .actions import ensure_agent

        for name in sorted(missing):
            found[name] = ensure_agent(session, name, "", None)
    return found


class _Dialect:
    """The dialect-specific pieces: its INSERT (with ON CONFLICT) and two-argument
    minimum / maximum (SQLite's scalar ``min``/``max``, PostgreSQL's LEAST/GREATEST)."""

    def __init__(self, name: str) -> None:
        if name == "sqlite":
            self.insert: Any = sqlite.insert
            self._least, self._greatest = "min", "max"
        elif name == "postgresql":
            self.insert = postgresql.insert
            self._least, self._greatest = "least", "greatest"
        else:  # pragma: no cover - the store supports these two only
            raise NotImplementedError(f"span ingest does not support the {name} dialect")

    def least(self, a: Any, b: Any) -> ColumnElement[Any]:
        return getattr(func, self._least)(a, b)  # type: ignore[no-any-return]

    def greatest(self, a: Any, b: Any) -> ColumnElement[Any]:
        return getattr(func, self._greatest)(a, b)  # type: ignore[no-any-return]


_DIALECTS = {name: _Dialect(name) for name in ("sqlite", "postgresql")}


def _compiled_sqlite_upsert() -> tuple[str, tuple[Any, ...]]:
    """The SQLite run upsert as driver SQL, and the values of its constant parameters
    (they follow the run's own, which come first and in `_RUN_PARAMS` order)."""
    compiled = _run_upsert(_DIALECTS["sqlite"]).compile(
        dialect=sqlite.dialect(), column_keys=list(_RUN_PARAMS)
    )
    order = compiled.positiontup or []
    count = len(_RUN_PARAMS)
    assert tuple(order[:count]) == _RUN_PARAMS, order
    return compiled.string, tuple(compiled.params[name] for name in order[count:])


_SQLITE_RUN_UPSERT = _compiled_sqlite_upsert()
_SQLITE_RUN_INSERT = _SQLITE_RUN_UPSERT[0].split(" ON CONFLICT ", 1)[0] + " ON CONFLICT DO NOTHING"
_SQLITE_LAST_RUN_ID = "SELECT max(id) FROM runs"
_SQLITE_RUNS_AFTER = "SELECT trace_id FROM runs WHERE id > ?"


def _dialect(session: Session) -> _Dialect:
    return _DIALECTS[session.get_bind().dialect.name]
