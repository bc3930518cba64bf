"""Autonomy in the store (issue 13): each unit's level history, the versioned
thresholds, per-agent budgets with their circuit-breaker trips, and a column snapshot
of past verdict outcomes that keeps ``autonomy status`` fast.

The current level of a unit is ``autonomy_levels`` (models.py, extended by migration
0006 with ``version``, ``rule`` and ``last_demotion_at``); every change to it appends
a row here, in the same transaction as its audit event.

Concurrency lives in the constraints:

- a level change is ``UPDATE autonomy_levels ... WHERE version = :seen``: of two leads
  promoting at once, one updates a row and the other none;
- ``autonomy_config`` versions are primary keys: two edits of the thresholds cannot
  both become version n + 1;
- at most one open trip per agent (a unique index over ``agent`` where ``reset_at`` is
  NULL): two requests crossing a budget at once trip the breaker once.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from .models import ActionRow, Base

#: Budgets count an agent's recent requests: (agent, time) finds them without a scan.
ACTIONS_BY_AGENT_TIME = Index("ix_actions_agent_created", ActionRow.agent_id,
                              ActionRow.created_at)


class AutonomyChangeRow(Base):
    """One level change of a unit (its first level included): who or which rule moved
    it, why, and the evidence at that moment (`UnitEvidence` as JSON: every number the
    lead saw, or the demotion rule's)."""

    __tablename__ = "autonomy_level_changes"
    __table_args__ = (Index("ix_autonomy_level_changes_unit_at", "unit_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("autonomy_levels.id"))
    at: Mapped[float] = mapped_column(Float)
    #: None for the unit's first level.
    from_level: Mapped[str | None] = mapped_column(String(4))
    to_level: Mapped[str] = mapped_column(String(4))
    #: initial | new_version | promotion | lead | demotion:critical | demotion:cusum |
    #: demotion:window
    rule: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    #: A lead's promotion the engine did not recommend (a reason is then required).
    against_recommendation: Mapped[bool] = mapped_column(Boolean, default=False)
    evidence_json: Mapped[str] = mapped_column(Text)
    config_version: Mapped[int] = mapped_column(Integer)


class AutonomyConfigRow(Base):
    """One version of the thresholds (`AutonomyConfig` as its ``[autonomy]`` table);
    the highest version is in force. Version 1 is AUTONOMY.md's defaults."""

    __tablename__ = "autonomy_config"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    settings_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)


class AgentBudgetRow(Base):
    """An agent's optional budgets (by name: every version of the agent shares them).
    NULL is "no budget" for that figure."""

    __tablename__ = "agent_budgets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent: Mapped[str] = mapped_column(String(200), unique=True)
    actions_per_minute: Mapped[int | None] = mapped_column(Integer)
    tokens_per_hour: Mapped[int | None] = mapped_column(BigInteger)
    cost_per_hour: Mapped[float | None] = mapped_column(Float)
    #: Requests of the same action class with the same arguments within an hour.
    repeats: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[float] = mapped_column(Float)
    updated_by: Mapped[str] = mapped_column(String(200))


class BreakerTripRow(Base):
    """A tripped circuit breaker: open (``reset_at`` NULL) until a lead resets it; while
    open, every new request of the agent waits for a person whatever its level."""

    __tablename__ = "breaker_trips"
    __table_args__ = (
        Index("uq_breaker_trips_open_agent", "agent", unique=True,
              sqlite_where=text("reset_at IS NULL"),
              postgresql_where=text("reset_at IS NULL")),
        Index("ix_breaker_trips_agent_tripped", "agent", "tripped_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent: Mapped[str] = mapped_column(String(200))
    tripped_at: Mapped[float] = mapped_column(Float)
    #: The budget crossed: actions_per_minute | tokens_per_hour | cost_per_hour | repeats
    budget: Mapped[str] = mapped_column(String(40))
    limit_value: Mapped[float] = mapped_column(Float)
    observed: Mapped[float] = mapped_column(Float)
    #: Every figure measured at the trip (JSON), not only the one that crossed.
    figures_json: Mapped[str] = mapped_column(Text)
    #: The request that crossed the budget, and the run that shows the loop.
    action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id"))
    trace_id: Mapped[str | None] = mapped_column(String(32))
    reset_at: Mapped[float | None] = mapped_column(Float)
    reset_by: Mapped[str | None] = mapped_column(String(200))
    reset_reason: Mapped[str | None] = mapped_column(Text)


class OutcomeSnapshotRow(Base):
    """Verdict outcomes decided before ``through_at``, as numpy columns in one blob
    (one row, id 1). Verdicts never change once written, so the snapshot stays exact;
    status reads it plus the verdicts after ``through_at`` and every label (labels can
    still change an outcome, so they are always read fresh). A cache: deleting it
    loses nothing."""

    __tablename__ = "autonomy_outcome_snapshot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    through_at: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(BigInteger)
    built_at: Mapped[float] = mapped_column(Float)
    #: [[agent_id, action_class], ...]: the unit codes of the blob.
    units_json: Mapped[str] = mapped_column(Text)
    #: Reviewer names: the reviewer codes of the blob.
    reviewers_json: Mapped[str] = mapped_column(Text)
    data: Mapped[bytes] = mapped_column(LargeBinary)
