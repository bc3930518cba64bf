"""The store's tables (SQLAlchemy 2 typed models).

Timestamps are UTC epoch seconds as floats (span times are integer nanoseconds, as in
OTLP), so that SQLite and PostgreSQL store and sort them identically. JSON documents
are kept as text in the exact encoding the store wrote: the GUI must be able to show
a megabyte of arguments without the ORM decoding it on every row load.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class AgentRow(Base):
    __tablename__ = "agents"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The agent's own id (``gen_ai.agent.id``) when it has one; else its name.
    external_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[float] = mapped_column(Float)


class AutonomyLevelRow(Base):
    """The current level of one unit: (agent, agent version) is ``agent_id``, with the
    action class. Created at the unit's first request (`services.autonomy`); absent
    means L1 supervised. Its history is ``autonomy_level_changes``."""

    __tablename__ = "autonomy_levels"
    __table_args__ = (UniqueConstraint("agent_id", "action_class"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    action_class: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(4))
    #: When the unit entered ``level``: only evidence after it counts.
    changed_at: Mapped[float] = mapped_column(Float)
    #: Bumped by every level change: two leads promoting at once, one wins.
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: Why the unit is at ``level`` (initial, new_version, promotion, demotion:...).
    rule: Mapped[str] = mapped_column(String(40), default="initial")
    #: The last demotion (automatic or by a lead), for the cool-down.
    last_demotion_at: Mapped[float | None] = mapped_column(Float)


class RunRow(Base):
    """One execution of an agent: an OpenTelemetry trace, with roll-ups kept current
    at ingest so the Traces workspace filters runs without touching spans."""

    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_agent_started", "agent_name", "started_ns"),
        Index("ix_runs_status_started", "status", "started_ns"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trace_id: Mapped[str] = mapped_column(String(32), unique=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    #: Denormalised from the agent (or the spans' agent name) for fast filtering.
    agent_name: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(500), default="")
    session_id: Mapped[str | None] = mapped_column(String(200))
    started_ns: Mapped[int] = mapped_column(BigInteger, index=True)
    ended_ns: Mapped[int | None] = mapped_column(BigInteger)
    #: "ok", "error" (any span failed) or "unset".
    status: Mapped[str] = mapped_column(String(20), default="unset")
    source: Mapped[str] = mapped_column(String(200), default="")
    span_count: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    prompt_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    completion_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    #: None while no span of the run carried a cost (unknown, not free).
    total_cost: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: "span" when a span named the agent, "service" when ``agent_name`` is only the
    #: resource's ``service.name`` (a later span's agent name replaces it).
    agent_source: Mapped[str | None] = mapped_column(String(10))
    service_name: Mapped[str | None] = mapped_column(String(200))
    #: The root span, once it arrived; its status and end decide the run's.
    root_span_id: Mapped[str | None] = mapped_column(String(16))
    root_status: Mapped[str | None] = mapped_column(String(10))
    root_end_ns: Mapped[int | None] = mapped_column(BigInteger)
    #: Instrumentation scope of the root span.
    scope_name: Mapped[str | None] = mapped_column(String(200))
    #: A lone model call that a second instrumentation recorded inside another run:
    #: that run's trace id (its tokens are already counted there).
    duplicate_of: Mapped[str | None] = mapped_column(String(32))


class SpanRow(Base):
    """One step of a run, normalised from OpenInference / OTel GenAI; raw kept."""

    __tablename__ = "spans"
    __table_args__ = (UniqueConstraint("trace_id", "span_id"),)
    # Runs are found through `runs`; spans are only ever read one trace at a time,
    # through the unique index (migration 0002 says why there is no other).

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trace_id: Mapped[str] = mapped_column(String(32))
    span_id: Mapped[str] = mapped_column(String(16))
    parent_span_id: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))
    start_ns: Mapped[int] = mapped_column(BigInteger)
    end_ns: Mapped[int | None] = mapped_column(BigInteger)
    status_code: Mapped[str] = mapped_column(String(10), default="unset")
    status_message: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(String(200))
    provider: Mapped[str | None] = mapped_column(String(100))
    input_json: Mapped[str | None] = mapped_column(Text)
    output_json: Mapped[str | None] = mapped_column(Text)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    cached_tokens: Mapped[int | None] = mapped_column(Integer)
    reasoning_tokens: Mapped[int | None] = mapped_column(Integer)
    cost: Mapped[float | None] = mapped_column(Float)
    agent_name: Mapped[str | None] = mapped_column(String(200))
    session_id: Mapped[str | None] = mapped_column(String(200))
    error_type: Mapped[str | None] = mapped_column(String(200))
    attributes_json: Mapped[str] = mapped_column(Text, default="{}")
    events_json: Mapped[str] = mapped_column(Text, default="[]")
    service_name: Mapped[str | None] = mapped_column(String(200))
    scope_name: Mapped[str | None] = mapped_column(String(200))
    warnings_json: Mapped[str] = mapped_column(Text, default="[]")


class SpanLogRow(Base):
    """An OTLP log record about a span (GenAI content events, other events), kept
    apart so it can arrive before or after its span; read back into the span's events
    and, for GenAI events, its input and output. ``record_key`` makes re-sent records
    idempotent."""

    __tablename__ = "span_logs"
    __table_args__ = (
        UniqueConstraint("record_key"),
        Index("ix_span_logs_trace_span", "trace_id", "span_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_key: Mapped[str] = mapped_column(String(64))
    trace_id: Mapped[str] = mapped_column(String(32))
    span_id: Mapped[str] = mapped_column(String(16))
    time_ns: Mapped[int] = mapped_column(BigInteger)
    #: The event name (``gen_ai.client.inference.operation.details``...) or "".
    name: Mapped[str] = mapped_column(Text)
    body_json: Mapped[str | None] = mapped_column(Text)
    attributes_json: Mapped[str] = mapped_column(Text, default="{}")
    severity: Mapped[str | None] = mapped_column(String(20))


class ActionRow(Base):
    __tablename__ = "actions"
    __table_args__ = (
        UniqueConstraint("source", "source_ref"),
        Index("ix_actions_state_created", "state", "created_at"),
        Index("ix_actions_state_deadline", "state", "deadline"),
        Index("ix_actions_agent_state", "agent_id", "state"),
        # The Traces workspace asks "has this run a pending action?" per listed run.
        Index("ix_actions_trace_state", "trace_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    trace_id: Mapped[str | None] = mapped_column(String(32))
    span_id: Mapped[str | None] = mapped_column(String(16))
    action_class: Mapped[str] = mapped_column(String(200))
    arguments_json: Mapped[str] = mapped_column(Text)
    arguments_schema_json: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    risk: Mapped[str] = mapped_column(String(10))
    deadline: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: The source's name ("gate" for the gate SDK) and its own reference for the
    #: action (an idempotency key; for LangGraph thread/interrupt/request index).
    source: Mapped[str] = mapped_column(String(200))
    source_ref: Mapped[str] = mapped_column(String(500))
    #: Source-specific detail (JSON), e.g. LangGraph thread id and payload format.
    source_meta_json: Mapped[str] = mapped_column(Text, default="{}")
    allowed_verdicts_json: Mapped[str] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    ingest_warnings_json: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class DecisionRow(Base):
    """The one final verdict on an action (the unique action_id enforces "one")."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id"), unique=True)
    verdict: Mapped[str] = mapped_column(String(20))
    arguments_json: Mapped[str | None] = mapped_column(Text)
    severity: Mapped[str | None] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(Text)
    response: Mapped[str | None] = mapped_column(Text)
    reviewer: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[float] = mapped_column(Float)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    delivery_state: Mapped[str] = mapped_column(String(12))
    delivered_at: Mapped[float | None] = mapped_column(Float)


class OutboxRow(Base):
    """A decision waiting to reach its agent; the dispatcher (or the agent's ack)
    settles it. Written in the same transaction as the decision."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), unique=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id"))
    source: Mapped[str] = mapped_column(String(200))
    idempotency_key: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)
    settled_at: Mapped[float | None] = mapped_column(Float)
    #: The worker delivering the row now, and until when its claim holds (migration
    #: 0005): one worker at a time sends a decision, however many share the store.
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[float | None] = mapped_column(Float)


class AuditEventRow(Base):
    """Append-only and hash-chained: ``hash = sha256(prev_hash || canonical(event))``."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ts_us: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(50))
    actor: Mapped[str] = mapped_column(String(200))
    subject_type: Mapped[str] = mapped_column(String(50))
    subject_id: Mapped[str] = mapped_column(String(200))
    payload_json: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(Base):
    """The single row every appender locks, so the chain stays one line under
    concurrent writers on PostgreSQL (SQLite serialises writers anyway)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))


class ChangeRow(Base):
    """The change feed the consoles poll (the tables stay the truth; on PostgreSQL a
    NOTIFY may wake pollers early). Old rows may be pruned."""

    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[float] = mapped_column(Float)
