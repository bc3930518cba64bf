"""What the lead reads (AUTONOMY.md, "What the lead sees"): every unit's status, one
unit's chart data and level history, what-if replays over stored history, and the
autonomy events for notifications. Reads only; `autonomy_leads` changes levels."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..autonomy import AutonomyConfig, OutcomeKind, ReplayResult, ReplayRow, replay, series
from ..domain import AutonomyLevel, Risk, Verdict
from ..domain.autonomy import AutonomyEvent, LevelChange, UnitKey
from ..domain.autonomy_status import UnitCharts, UnitStatus
from ..jsonio import loads
from ..review.rubric import label_outcome
from ..store.autonomy_models import AutonomyChangeRow
from ..store.models import ActionRow, AgentRow, AuditEventRow, AutonomyLevelRow, DecisionRow
from ..store.review_models import LabelRow, ReviewItemRow
from .autonomy import UnknownUnit, level_change
from .autonomy_config import current_config
from .autonomy_evidence import (
    UnitLevel,
    evaluate_unit,
    implicit_level,
    unit_agreement,
    unit_levels,
)
from .autonomy_outcomes import unit_batches
from .review_rubrics import UnknownRubric, get_rubric

#: Audit kinds the Autonomy workspace and the Queue notify about.
EVENT_KINDS = ("autonomy.demoted", "autonomy.promoted", "autonomy.level_set",
               "autonomy.config_changed", "breaker.tripped", "breaker.reset", "budget.set")


def status(session: Session, *, agent: str | None = None, now: float | None = None,
           config: AutonomyConfig | None = None) -> list[UnitStatus]:
    """Every unit (of ``agent``), with its level and `evaluate`'s evidence now, sorted by
    agent, version and action class. Units with a level but no outcome show "no
    evidence yet" (None figures, never NaN)."""
    now = time.time() if now is None else now
    if config is None:
        config = current_config(session)[1]
    batches = unit_batches(session, agent=agent)
    levels = unit_levels(session, agent=agent)
    for key in batches.keys() - levels.keys():
        levels[key] = implicit_level(session, key)
    agreement = unit_agreement(session, levels, agent=agent)
    out = [_status(key, level, evaluate_unit(level, batches.get(key), config,
                                             agreement=agreement.get(key), now=now))
           for key, level in levels.items()]
    return sorted(out, key=lambda s: (s.unit.agent, s.unit.version, s.unit.action_class))


def _status(key: UnitKey, level: UnitLevel, evidence: Any) -> UnitStatus:
    return UnitStatus(unit=key, level=level.level, level_since=level.since,
                      level_rule=level.rule, level_version=level.version,
                      last_demotion_at=level.last_demotion_at, evidence=evidence)


def unit_level(session: Session, key: UnitKey) -> UnitLevel:
    found = unit_levels(session, units=[key]).get(key)
    return found if found is not None else implicit_level(session, key)


def unit_status(session: Session, key: UnitKey, *, now: float | None = None) -> UnitStatus:
    """One unit's status (`UnknownUnit` when it has neither a level nor an outcome)."""
    now = time.time() if now is None else now
    config = current_config(session)[1]
    batch = unit_batches(session, units=[key]).get(key)
    levels = unit_levels(session, units=[key])
    if batch is None and key not in levels:
        raise UnknownUnit(f"there is no unit {key}")
    level = levels.get(key) or implicit_level(session, key)
    agreement = unit_agreement(session, {key: level}, agent=key.agent).get(key)
    return _status(key, level, evaluate_unit(level, batch, config, agreement=agreement,
                                             now=now))


def history(session: Session, key: UnitKey) -> list[LevelChange]:
    """The unit's level changes, oldest first."""
    rows = session.execute(
        select(AutonomyChangeRow)
        .join(AutonomyLevelRow, AutonomyLevelRow.id == AutonomyChangeRow.unit_id)
        .join(AgentRow, AgentRow.id == AutonomyLevelRow.agent_id)
        .where(AgentRow.name == key.agent, AgentRow.version == key.version,
               AutonomyLevelRow.action_class == key.action_class)
        .order_by(AutonomyChangeRow.at, AutonomyChangeRow.id)).scalars()
    return [level_change(row, key) for row in rows]


def charts(session: Session, key: UnitKey, *, now: float | None = None,
           bucket_seconds: float | None = None) -> UnitCharts:
    """The selected unit's charts: `series` over its outcomes on one time axis, each
    level segment evaluated as the engine did, with the level history."""
    config = current_config(session)[1]
    current = unit_status(session, key, now=now)
    changes = history(session, key)
    batch = unit_batches(session, units=[key]).get(key)
    steps = [(c.at, c.to_level) for c in changes] or [(current.level_since, current.level)]
    if batch is None:
        from ..autonomy import OutcomeBatch

        batch = OutcomeBatch.empty()
    return UnitCharts(status=current,
                      series=series(batch, level_history=steps, config=config,
                                    bucket_seconds=bucket_seconds),
                      changes=tuple(changes))


def all_charts(session: Session, *, agent: str | None = None, now: float | None = None
               ) -> dict[UnitKey, UnitCharts]:
    """`charts` of every unit (of ``agent``) from one read of the outcomes and one of the
    level histories: what a table with a sparkline per unit needs (a thousand units in
    about a second, where a `charts` call per unit would read the outcomes each time)."""
    from ..autonomy import OutcomeBatch

    config = current_config(session)[1]
    statuses = {s.unit: s for s in status(session, agent=agent, now=now, config=config)}
    batches = unit_batches(session, agent=agent)
    query = (select(AutonomyChangeRow, AgentRow.name, AgentRow.version,
                    AutonomyLevelRow.action_class)
             .join(AutonomyLevelRow, AutonomyLevelRow.id == AutonomyChangeRow.unit_id)
             .join(AgentRow, AgentRow.id == AutonomyLevelRow.agent_id)
             .order_by(AutonomyChangeRow.at, AutonomyChangeRow.id))
    if agent is not None:
        query = query.where(AgentRow.name == agent)
    changes: dict[UnitKey, list[LevelChange]] = {}
    for row, name, version, cls in session.execute(query):
        key = UnitKey(agent=name, version=version, action_class=cls)
        changes.setdefault(key, []).append(level_change(row, key))
    out = {}
    for key, current in statuses.items():
        history_ = changes.get(key, [])
        steps = ([(c.at, c.to_level) for c in history_]
                 or [(current.level_since, current.level)])
        batch = batches.get(key) or OutcomeBatch.empty()
        out[key] = UnitCharts(status=current,
                              series=series(batch, level_history=steps, config=config),
                              changes=tuple(history_))
    return out


_LABEL_SEVERITY = {(0, False): 0, (1, False): 1, (1, True): 2}


def _label_results(session: Session, action_ids: Sequence[int]) -> dict[int, tuple[int, bool]]:
    """(y, critical) per labelled action: the most severe label wins, sampled labels
    over ad-hoc ones (as `services.outcomes` reads them)."""
    best: dict[int, tuple[bool, int, tuple[int, bool]]] = {}
    rubrics: dict[tuple[str, int], Any] = {}
    for start in range(0, len(action_ids), 500):
        chunk = list(action_ids[start:start + 500])
        rows = session.execute(
            select(ReviewItemRow.action_id, ReviewItemRow.pi, LabelRow.rubric,
                   LabelRow.rubric_version, LabelRow.answers_json)
            .join(LabelRow, LabelRow.item_id == ReviewItemRow.id)
            .where(ReviewItemRow.action_id.in_(chunk)))
        for action_id, pi, name, version, answers in rows:
            if (name, version) not in rubrics:
                try:
                    rubrics[(name, version)] = get_rubric(session, name, version)
                except UnknownRubric:
                    rubrics[(name, version)] = None
            rubric = rubrics[(name, version)]
            result = label_outcome(rubric, loads(answers)) if rubric is not None else None
            if result is None or action_id is None:
                continue
            rank = (pi is not None, _LABEL_SEVERITY[result], result)
            if action_id not in best or rank[:2] > best[action_id][:2]:
                best[action_id] = rank
    return {action_id: found[2] for action_id, found in best.items()}


def replay_unit(session: Session, key: UnitKey, level: AutonomyLevel, *,
                config: AutonomyConfig | None = None) -> ReplayResult:
    """What if the unit had been at ``level`` (L2 or L3; thresholds ``config``, or those
    in force) over its stored actions: how many would have been auto-approved, how many
    of those failed or were critical, and when the demotion rules would have fired
    (`countersign.autonomy.replay`; every action's known outcome counts as reviewed, at
    the time of the action)."""
    if config is None:
        config = current_config(session)[1]
    rows = session.execute(
        select(ActionRow.id, ActionRow.created_at, ActionRow.risk, DecisionRow.verdict,
               DecisionRow.severity)
        .join(AgentRow, AgentRow.id == ActionRow.agent_id)
        .outerjoin(DecisionRow, DecisionRow.action_id == ActionRow.id)
        .where(AgentRow.name == key.agent, AgentRow.version == key.version,
               ActionRow.action_class == key.action_class)
        .order_by(ActionRow.created_at, ActionRow.id)).all()
    if not rows:
        raise UnknownUnit(f"there is no unit {key}")
    unjudged = [r[0] for r in rows if r[3] in (Verdict.AUTO_APPROVE.value,
                                               Verdict.SHADOW.value)]
    labelled = _label_results(session, unjudged)
    from ..autonomy import kind_for_verdict
    from ..domain import EditSeverity

    replay_rows = []
    for action_id, at, risk, verdict, severity in rows:
        kind: OutcomeKind | None = None
        if verdict in (Verdict.APPROVE.value, Verdict.EDIT.value, Verdict.REJECT.value):
            kind = kind_for_verdict(Verdict(verdict),
                                    EditSeverity(severity) if severity else None)
        if kind is not None:
            replay_rows.append(ReplayRow(at=at, risk=Risk(risk), y=int(kind.failure),
                                         critical=kind.critical, kind=kind))
        elif action_id in labelled:
            y, critical = labelled[action_id]
            replay_rows.append(ReplayRow(at=at, risk=Risk(risk), y=y, critical=critical))
        else:
            replay_rows.append(ReplayRow(at=at, risk=Risk(risk), y=None))
    return replay(replay_rows, level=level, config=config)


def events(session: Session, *, after_id: int = 0, limit: int = 200,
           kinds: Sequence[str] = EVENT_KINDS) -> list[AutonomyEvent]:
    """Autonomy and breaker events from the audit log after ``after_id``, oldest first:
    what the console notifies about (a demotion, a trip) and the Autonomy workspace's
    timeline."""
    rows = session.execute(
        select(AuditEventRow).where(AuditEventRow.id > after_id,
                                    AuditEventRow.kind.in_(list(kinds)))
        .order_by(AuditEventRow.id).limit(limit)).scalars()
    return [AutonomyEvent(id=r.id, at=r.ts_us / 1e6, kind=r.kind, actor=r.actor,
                          subject=r.subject_id, summary=_summary(r.kind, r.subject_id,
                                                                 loads(r.payload_json)),
                          payload=loads(r.payload_json)) for r in rows]


def _summary(kind: str, subject: str, payload: dict[str, Any]) -> str:
    if kind in ("autonomy.demoted", "autonomy.promoted", "autonomy.level_set"):
        verb = {"autonomy.demoted": "demoted", "autonomy.promoted": "promoted",
                "autonomy.level_set": "set"}[kind]
        return (f"{subject} {verb} {payload.get('from') or ''}→{payload.get('to')}: "
                f"{payload.get('reason') or payload.get('rule')}")
    if kind == "breaker.tripped":
        return (f"circuit breaker of {subject} tripped: {payload.get('budget')} "
                f"{payload.get('observed')} over {payload.get('limit')}")
    if kind == "breaker.reset":
        return f"circuit breaker of {subject} reset"
    if kind == "budget.set":
        return f"budgets of {subject} changed"
    return f"autonomy thresholds changed (version {payload.get('version')})"
