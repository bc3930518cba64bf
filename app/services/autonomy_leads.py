"""A lead's level changes: promotion is a recommendation the lead confirms, with the
evidence at that moment stored in the audit event; a promotion the engine does not
recommend needs a written reason and is marked so; a lead may demote at any time (a
reason is required). The cool-down after a demotion is honoured whatever the reason.
Two leads at once: the version check lets one win (`LevelConflict` for the other).
"""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..autonomy import RuleCheck
from ..domain import AutonomyLevel
from ..domain.autonomy import LevelChange, UnitKey
from ..store.models import ActionRow, AgentRow, AutonomyLevelRow
from .autonomy import (
    AutonomyError,
    LevelConflict,
    UnknownUnit,
    change_level,
    ensure_unit,
    evidence_snapshot,
)
from .autonomy_config import current_config
from .autonomy_status import unit_status


class PromotionRefused(AutonomyError):
    """Not recommended and no reason given, or inside the cool-down; ``unmet`` lists the
    rules for the next level that are not met."""

    def __init__(self, message: str, unmet: list[RuleCheck]) -> None:
        super().__init__(message)
        self.unmet = unmet


def resolve_unit(session: Session, agent: str, action_class: str,
                 agent_version: str | None = None) -> UnitKey:
    """The unit of ``agent`` and ``action_class``: of ``agent_version``, or of the
    newest version of the agent that requested that class. `UnknownUnit` names them."""
    query = (select(AgentRow.version)
             .where(AgentRow.name == agent,
                    select(ActionRow.id).where(ActionRow.agent_id == AgentRow.id,
                                               ActionRow.action_class == action_class)
                    .exists()
                    | select(AutonomyLevelRow.id).where(
                        AutonomyLevelRow.agent_id == AgentRow.id,
                        AutonomyLevelRow.action_class == action_class).exists())
             .order_by(AgentRow.created_at.desc(), AgentRow.id.desc()))
    if agent_version is not None:
        query = query.where(AgentRow.version == agent_version)
    version = session.execute(query.limit(1)).scalar_one_or_none()
    if version is None:
        which = f" version {agent_version!r}" if agent_version is not None else ""
        raise UnknownUnit(f"agent {agent!r}{which} has never requested {action_class!r}")
    return UnitKey(agent=agent, version=version, action_class=action_class)


def _row(session: Session, key: UnitKey, now: float) -> AutonomyLevelRow:
    agent_id = session.execute(select(AgentRow.id).where(
        AgentRow.name == key.agent, AgentRow.version == key.version)).scalar_one_or_none()
    if agent_id is None:
        raise UnknownUnit(f"there is no unit {key}")
    row = session.execute(select(AutonomyLevelRow).where(
        AutonomyLevelRow.agent_id == agent_id,
        AutonomyLevelRow.action_class == key.action_class).with_for_update()
    ).scalar_one_or_none()
    return row if row is not None else ensure_unit(session, agent_id, key.action_class,
                                                   now=now)


def _rank(level: AutonomyLevel) -> int:
    return int(level.value[1])


def promote(session: Session, key: UnitKey, to: AutonomyLevel, *, lead: str,
            reason: str | None = None, expected_version: int | None = None,
            now: float | None = None) -> LevelChange:
    """Move the unit up to ``to`` as ``lead`` (audited as ``autonomy.promoted`` with the
    evidence snapshot: every number `evaluate` gives now). Refused (`PromotionRefused`,
    naming the unmet rules) when the engine does not recommend exactly this step and
    no ``reason`` is given, and always inside the cool-down. From L0, moving to L1 is
    the lead's choice (no test applies). ``expected_version``: the level version the
    lead looked at (`UnitStatus.level_version`); a change made since wins."""
    now = time.time() if now is None else now
    reason = (reason or "").strip() or None
    if not lead.strip():
        raise AutonomyError("a promotion needs the lead's name")
    row = _row(session, key, now)
    level = AutonomyLevel(row.level)
    if expected_version is not None and row.version != expected_version:
        raise LevelConflict(f"{key} was changed meanwhile (now {level}, version "
                            f"{row.version}; you saw version {expected_version}): look "
                            "at it again")
    if _rank(to) <= _rank(level):
        raise AutonomyError(f"{key} is at {level}: {to} is not a promotion")
    current = unit_status(session, key, now=now)
    evidence = current.evidence
    config_version, _ = current_config(session)
    unmet = [rule for rule in evidence.rules if not rule.met]
    cooling = next((rule for rule in evidence.rules if rule.name == "cooldown"
                    and not rule.met), None)
    if cooling is not None:
        raise PromotionRefused(f"{key} cannot be promoted inside its cool-down: "
                               f"{cooling.detail}", [cooling])
    shadow_step = level is AutonomyLevel.L0 and to is AutonomyLevel.L1
    recommended = shadow_step or (evidence.recommendation == "promote"
                                  and to == evidence.next_level)
    if not recommended and reason is None:
        why = ("; ".join(f"{r.name}: {r.detail}" for r in unmet) if unmet
               else f"the engine recommends {evidence.recommendation}, not {to}")
        raise PromotionRefused(
            f"{key} is not recommended for {to} ({why}); give a reason to promote it "
            "against the recommendation", unmet)
    return change_level(session, key, row, to, rule="promotion", actor=lead,
                        reason=reason, evidence=evidence_snapshot(evidence),
                        config_version=config_version, now=now,
                        against_recommendation=not recommended,
                        expected_version=row.version, audit_kind="autonomy.promoted")


def demote(session: Session, key: UnitKey, to: AutonomyLevel, *, lead: str, reason: str,
           expected_version: int | None = None, now: float | None = None) -> LevelChange:
    """Move the unit down to ``to`` as ``lead``, with a reason (audited as
    ``autonomy.demoted`` with the evidence); it starts a cool-down like an automatic
    demotion."""
    now = time.time() if now is None else now
    if not lead.strip():
        raise AutonomyError("a demotion needs the lead's name")
    if not reason.strip():
        raise AutonomyError("a demotion by a lead needs a reason")
    row = _row(session, key, now)
    level = AutonomyLevel(row.level)
    if _rank(to) >= _rank(level):
        raise AutonomyError(f"{key} is at {level}: {to} is not a demotion")
    evidence = unit_status(session, key, now=now).evidence
    config_version, _ = current_config(session)
    return change_level(session, key, row, to, rule="lead", actor=lead,
                        reason=reason.strip(), evidence=evidence_snapshot(evidence),
                        config_version=config_version, now=now,
                        expected_version=expected_version if expected_version is not None
                        else row.version, audit_kind="autonomy.demoted")
