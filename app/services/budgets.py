"""Per-agent budgets and circuit breakers (issue 13): the runaway retry loop that burns a
weekend's API budget stops at the first request that crosses a budget.

An agent (by name, every version) may have budgets on the actions it requests per
minute, the tokens and the cost of its runs per hour (from its traces), and the repeats
of one request: the same action class with the same arguments within an hour, after
the first. `check_request` runs inside `request_action`'s transaction (through the
autonomy policy): a request that crosses a budget trips the breaker in that same
transaction (audited, with every figure and the run that shows the loop), and while a
trip is open every new request of the agent waits for a person whatever its level,
until a lead resets it (audited).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain.autonomy import BreakerTrip, Budget, BudgetStatus
from ..store.autonomy_models import AgentBudgetRow, BreakerTripRow
from ..store.models import ActionRow, AgentRow, ChangeRow, RunRow
from . import audit

BUDGETS = ("actions_per_minute", "tokens_per_hour", "cost_per_hour", "repeats")
MINUTE, HOUR = 60.0, 3_600.0
#: How far back `repeats` looks for identical requests.
REPEAT_WINDOW = HOUR


class BudgetError(ValueError):
    """A budget that cannot be used, or a reset with nothing to reset; the message
    names the setting."""


def _budget(row: AgentBudgetRow) -> Budget:
    return Budget(agent=row.agent, actions_per_minute=row.actions_per_minute,
                  tokens_per_hour=row.tokens_per_hour, cost_per_hour=row.cost_per_hour,
                  repeats=row.repeats, updated_at=row.updated_at, updated_by=row.updated_by)


def _trip(row: BreakerTripRow) -> BreakerTrip:
    return BreakerTrip(id=row.id, agent=row.agent, tripped_at=row.tripped_at,
                       budget=row.budget, limit=row.limit_value, observed=row.observed,
                       figures=json.loads(row.figures_json), action_id=row.action_id,
                       trace_id=row.trace_id, reset_at=row.reset_at, reset_by=row.reset_by,
                       reset_reason=row.reset_reason)


def _checked(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise BudgetError(f"{name.replace('_', '-')}: must be a number of 0 or more "
                          f"(0 removes the budget), got {value!r}")
    if name != "cost_per_hour" and value != int(value):
        raise BudgetError(f"{name.replace('_', '-')}: must be a whole number, got {value!r}")
    return None if value == 0 else value


def set_budget(session: Session, agent: str, limits: Mapping[str, float | None], *,
               actor: str, now: float | None = None) -> Budget:
    """Set some of ``agent``'s budgets (names in `BUDGETS`; 0 removes one, a name left
    out keeps its value), audited as ``budget.set``. Raises `BudgetError` naming the
    setting; nothing is written then."""
    if not agent.strip():
        raise BudgetError("agent: a budget needs the agent's name")
    unknown = sorted(set(limits) - set(BUDGETS))
    if unknown:
        raise BudgetError(f"{unknown[0]}: not a budget (budgets: {', '.join(BUDGETS)})")
    checked = {name: _checked(name, value) for name, value in limits.items()}
    now = time.time() if now is None else now
    row = session.execute(select(AgentBudgetRow).where(AgentBudgetRow.agent == agent)
                          .with_for_update()).scalar_one_or_none()
    before = _budget(row).model_dump() if row is not None else None
    if row is None:
        row = AgentBudgetRow(agent=agent, updated_at=now, updated_by=actor)
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:  # set by someone else at the same moment
            row = session.execute(select(AgentBudgetRow).where(
                AgentBudgetRow.agent == agent).with_for_update()).scalar_one()
    for name, value in checked.items():
        setattr(row, name, None if value is None else
                (float(value) if name == "cost_per_hour" else int(value)))
    row.updated_at, row.updated_by = now, actor
    session.flush()
    after = _budget(row)
    audit.append(session, kind="budget.set", actor=actor, subject_type="agent",
                 subject_id=agent,
                 payload={"before": {k: before[k] for k in BUDGETS} if before else None,
                          "after": {k: getattr(after, k) for k in BUDGETS}})
    return after


def get_budget(session: Session, agent: str) -> Budget | None:
    row = session.execute(select(AgentBudgetRow).where(AgentBudgetRow.agent == agent)
                          ).scalar_one_or_none()
    return _budget(row) if row is not None else None


def open_trip(session: Session, agent: str) -> BreakerTrip | None:
    row = _open_trip_row(session, agent)
    return _trip(row) if row is not None else None


def _open_trip_row(session: Session, agent: str) -> BreakerTripRow | None:
    return session.execute(select(BreakerTripRow).where(
        BreakerTripRow.agent == agent, BreakerTripRow.reset_at.is_(None))).scalar_one_or_none()


def open_trips(session: Session) -> list[BreakerTrip]:
    """Every tripped breaker, newest first (the Queue shows these agents on top)."""
    rows = session.execute(select(BreakerTripRow).where(BreakerTripRow.reset_at.is_(None))
                           .order_by(BreakerTripRow.tripped_at.desc())).scalars()
    return [_trip(r) for r in rows]


def trips(session: Session, agent: str | None = None, *, limit: int = 100) -> list[BreakerTrip]:
    """Trips, open and reset, newest first."""
    query = select(BreakerTripRow).order_by(BreakerTripRow.tripped_at.desc()).limit(limit)
    if agent is not None:
        query = query.where(BreakerTripRow.agent == agent)
    return [_trip(r) for r in session.execute(query).scalars()]


def _agent_ids(agent: str) -> Any:
    return select(AgentRow.id).where(AgentRow.name == agent).scalar_subquery()


def measure(session: Session, agent: str, budget: Budget | None, *, now: float,
            action: ActionRow | None = None, every: bool = False
            ) -> tuple[dict[str, float | None], dict[str, str | None]]:
    """The figures of ``agent`` now (those it has a budget for, or ``every`` one), and
    for each the run that shows it best. ``repeats`` is measured for ``action``'s
    arguments, or as the most repeated request of the window when none is given."""
    figures: dict[str, float | None] = {}
    runs: dict[str, str | None] = {}

    def wanted(name: str) -> bool:
        return every or (budget is not None and getattr(budget, name) is not None)

    ids = _agent_ids(agent)
    if wanted("actions_per_minute"):
        figures["actions_per_minute"] = float(session.execute(
            select(func.count()).select_from(ActionRow).where(
                ActionRow.agent_id.in_(ids), ActionRow.created_at > now - MINUTE)
        ).scalar_one())
        runs["actions_per_minute"] = action.trace_id if action is not None else None
    if wanted("tokens_per_hour") or wanted("cost_per_hour"):
        since_ns = int((now - HOUR) * 1e9)
        recent = (RunRow.agent_name == agent, RunRow.started_ns >= since_ns)
        used: Any = session.execute(
            select(func.coalesce(func.sum(RunRow.prompt_tokens + RunRow.completion_tokens), 0),
                   func.coalesce(func.sum(RunRow.total_cost), 0.0),
                   func.count(RunRow.total_cost)).where(*recent)).one()
        figures["tokens_per_hour"] = float(used[0])
        figures["cost_per_hour"] = float(used[1]) if used[2] else None
        top = session.execute(select(RunRow.trace_id).where(*recent).order_by(
            (RunRow.prompt_tokens + RunRow.completion_tokens).desc()).limit(1)
        ).scalar_one_or_none()
        runs["tokens_per_hour"] = runs["cost_per_hour"] = top
    if wanted("repeats"):
        window = (ActionRow.agent_id.in_(ids), ActionRow.created_at > now - REPEAT_WINDOW)
        if action is not None:
            same = session.execute(
                select(func.count(), func.max(ActionRow.trace_id)).where(
                    *window, ActionRow.action_class == action.action_class,
                    ActionRow.arguments_json == action.arguments_json)).one()
            figures["repeats"] = float(max(0, int(same[0]) - 1))
            runs["repeats"] = action.trace_id or same[1]
        else:
            top_group = session.execute(
                select(func.count(), func.max(ActionRow.trace_id)).where(*window)
                .group_by(ActionRow.action_class, ActionRow.arguments_json)
                .order_by(func.count().desc()).limit(1)).first()
            figures["repeats"] = float(max(0, int(top_group[0]) - 1)) if top_group else 0.0
            runs["repeats"] = top_group[1] if top_group else None
    return figures, runs


def check_request(session: Session, agent: str, action: ActionRow, *,
                  now: float) -> BreakerTripRow | None:
    """The agent's open trip, tripping it now if ``action`` (just inserted) crosses a
    budget; None when the request may follow its level. Runs in the request's
    transaction: the trip, its audit event and change-feed entry commit with it."""
    trip = _open_trip_row(session, agent)
    if trip is not None:
        return trip
    row = session.execute(select(AgentBudgetRow).where(AgentBudgetRow.agent == agent)
                          ).scalar_one_or_none()
    if row is None:
        return None
    budget = _budget(row)
    figures, runs = measure(session, agent, budget, now=now, action=action)
    crossed = next(((name, float(limit), figures[name]) for name in BUDGETS
                    if (limit := getattr(budget, name)) is not None
                    and (observed := figures.get(name)) is not None and observed > limit),
                   None)
    if crossed is None:
        return None
    name, limit, observed = crossed
    assert observed is not None
    trip = BreakerTripRow(agent=agent, tripped_at=now, budget=name, limit_value=limit,
                          observed=observed, figures_json=json.dumps(figures, sort_keys=True),
                          action_id=action.id, trace_id=runs.get(name) or action.trace_id)
    try:
        with session.begin_nested():
            session.add(trip)
    except IntegrityError:  # another request of the agent tripped it at the same moment
        return _open_trip_row(session, agent)
    audit.append(session, kind="breaker.tripped", actor="policy:budgets",
                 subject_type="agent", subject_id=agent,
                 payload={"trip_id": trip.id, "budget": name, "limit": limit,
                          "observed": observed, "figures": figures, "action_id": action.id,
                          "trace_id": trip.trace_id})
    session.add(ChangeRow(action_id=action.id, kind="breaker.tripped", at=now))
    return trip


def reset_breaker(session: Session, agent: str, *, lead: str, reason: str | None = None,
                  now: float | None = None) -> BreakerTrip:
    """Close ``agent``'s open trip (audited as ``breaker.reset``): its next requests
    follow its level again. The requests that waited stay in the Queue for a person.
    Raises `BudgetError` when the breaker is not tripped."""
    if not lead.strip():
        raise BudgetError("lead: a reset needs the lead's name")
    row = session.execute(select(BreakerTripRow).where(
        BreakerTripRow.agent == agent, BreakerTripRow.reset_at.is_(None)).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise BudgetError(f"the breaker of {agent} is not tripped")
    row.reset_at = time.time() if now is None else now
    row.reset_by = lead
    row.reset_reason = (reason or "").strip() or None
    audit.append(session, kind="breaker.reset", actor=lead, subject_type="agent",
                 subject_id=agent,
                 payload={"trip_id": row.id, "budget": row.budget,
                          "tripped_at": row.tripped_at, "reason": row.reset_reason})
    return _trip(row)


def budget_status(session: Session, *, now: float | None = None) -> list[BudgetStatus]:
    """Every agent with a budget or an open trip: budgets, current figures, trip."""
    now = time.time() if now is None else now
    budgets = {r.agent: _budget(r) for r in session.execute(select(AgentBudgetRow)).scalars()}
    open_ = {t.agent: t for t in open_trips(session)}
    out = []
    for agent in sorted(set(budgets) | set(open_)):
        figures, _ = measure(session, agent, budgets.get(agent), now=now, every=True)
        out.append(BudgetStatus(agent=agent, budget=budgets.get(agent), figures=figures,
                                trip=open_.get(agent)))
    return out
