"""The engine's view of a stored unit: its level row, its outcomes and its reviewers'
agreement, turned into `UnitEvidence` by `countersign.autonomy.evaluate`. Shared by the
status, the lead's promotions and the automatic demotions, so all three read the same
numbers."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..autonomy import AutonomyConfig, OutcomeBatch, UnitEvidence, evaluate
from ..domain import AutonomyLevel
from ..domain.autonomy import UnitKey
from ..jsonio import loads
from ..review.agreement import agreement_report
from ..review.rubric import ACTION_RUBRIC
from ..store.models import ActionRow, AgentRow, AutonomyLevelRow
from ..store.review_models import LabelRow, ReviewItemRow
from .review_rubrics import UnknownRubric, get_rubric


@dataclass(frozen=True, slots=True)
class UnitLevel:
    """A unit's level row, or what a unit without one is taken to be: L1 supervised
    since its agent was first seen (every action waited for a person)."""

    level: AutonomyLevel
    since: float
    rule: str
    version: int
    last_demotion_at: float | None
    row_id: int | None

    @classmethod
    def of(cls, row: AutonomyLevelRow) -> UnitLevel:
        return cls(AutonomyLevel(row.level), row.changed_at, row.rule, row.version,
                   row.last_demotion_at, row.id)


def unit_levels(session: Session, *, agent: str | None = None,
                units: Iterable[UnitKey] | None = None) -> dict[UnitKey, UnitLevel]:
    """The level of every unit that has a row (of one agent name, or of ``units``)."""
    # Columns, not ORM entities: `status` reads a thousand units, and building an
    # identity-mapped object per row cost more than the query.
    query = (select(AutonomyLevelRow.action_class, AutonomyLevelRow.level,
                    AutonomyLevelRow.changed_at, AutonomyLevelRow.rule,
                    AutonomyLevelRow.version, AutonomyLevelRow.last_demotion_at,
                    AutonomyLevelRow.id, AgentRow.name, AgentRow.version)
             .join(AgentRow, AgentRow.id == AutonomyLevelRow.agent_id))
    wanted = None if units is None else set(units)
    if agent is not None:
        query = query.where(AgentRow.name == agent)
    elif wanted is not None and len({u.agent for u in wanted}) == 1:
        query = query.where(AgentRow.name == next(iter(wanted)).agent)
    out: dict[UnitKey, UnitLevel] = {}
    for cls, level, since, rule, row_version, demoted, row_id, name, version in \
            session.execute(query):
        key = UnitKey(agent=name, version=version, action_class=cls)
        if wanted is None or key in wanted:
            out[key] = UnitLevel(AutonomyLevel(level), since, rule, row_version, demoted,
                                 row_id)
    return out


def implicit_level(session: Session, key: UnitKey) -> UnitLevel:
    """L1 since the agent was first seen, for a unit without a level row."""
    seen = session.execute(select(AgentRow.created_at).where(
        AgentRow.name == key.agent, AgentRow.version == key.version)).scalar_one_or_none()
    return UnitLevel(AutonomyLevel.L1, float(seen or 0.0), "initial", 0, None, None)


def unit_agreement(session: Session, levels: dict[UnitKey, UnitLevel], *,
                   agent: str | None = None) -> dict[UnitKey, float | None]:
    """Krippendorff's alpha of the reviewers on the action rubric's headline question,
    per unit, over the items labelled twice or more since the unit's level began (the
    promotion rules ask for it "where double labels exist"); units without such items
    are left out (None: nothing to check)."""
    try:
        rubric = get_rubric(session, ACTION_RUBRIC)
    except UnknownRubric:
        return {}
    query = (select(AgentRow.name, AgentRow.version, ActionRow.action_class,
                    LabelRow.item_id, LabelRow.reviewer, LabelRow.answers_json,
                    LabelRow.created_at)
             .join(ReviewItemRow, ReviewItemRow.id == LabelRow.item_id)
             .join(ActionRow, ActionRow.id == ReviewItemRow.action_id)
             .join(AgentRow, AgentRow.id == ActionRow.agent_id)
             .where(ReviewItemRow.label_count >= 2, LabelRow.rubric == ACTION_RUBRIC))
    if agent is not None:
        query = query.where(AgentRow.name == agent)
    grouped: dict[UnitKey, list[tuple[Any, str, Any]]] = defaultdict(list)
    for name, version, cls, item, reviewer, answers, at in session.execute(query):
        key = UnitKey(agent=name, version=version, action_class=cls)
        level = levels.get(key)
        if level is None or at > level.since:
            grouped[key].append((item, reviewer, loads(answers)))
    out: dict[UnitKey, float | None] = {}
    for key, labels in grouped.items():
        report = agreement_report(rubric, labels)
        headline = next((q for q in report.questions if q.key == report.kappa_question), None)
        if headline is not None and headline.alpha is not None:
            out[key] = headline.alpha
    return out


def evaluate_unit(level: UnitLevel, batch: OutcomeBatch | None,
                  config: AutonomyConfig, *, agreement: float | None,
                  now: float | None = None) -> UnitEvidence:
    """`evaluate` for one stored unit (no evidence: an empty batch, never NaN)."""
    return evaluate(batch if batch is not None else OutcomeBatch.empty(), level=level.level,
                    level_since=level.since, now=time.time() if now is None else now,
                    config=config, agreement=agreement,
                    last_demotion_at=level.last_demotion_at)
