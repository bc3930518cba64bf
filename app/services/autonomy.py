"""Autonomy enforced where actions are requested, and demoted the moment evidence says so.

`apply_policy` runs inside `request_action`'s transaction, on every path (gate SDK,
LangGraph, any source): it looks up the unit's level and the agent's breaker, and

- L1: the action waits for a verdict;
- L2: low and medium risk are auto-approved; L3: all but critical;
- critical actions always wait, whatever the level;
- L0 (shadow): the action is decided ``shadow`` at once (the agent is told not to
  execute it: the gate reports outcome "shadow", LangGraph hears a rejection with
  `SHADOW_MESSAGE`) and drawn for review with pi 1, so its labels are the evidence;
- a tripped breaker, or a request that crosses a budget (tripping it), waits for a
  person whatever the level;
- a request that carries an error, or that cannot be answered with the policy's verdict
  (approve, or reject for shadow, not allowed), waits: the policy never sends a verdict
  the agent's side would refuse.

An auto-approval is a real decision (`Verdict.AUTO_APPROVE` by
``policy:autonomy@<thresholds version>``), written by `decide` in the request's own
transaction with its audit event, outbox row and review sample (`offer_action`, with the
rule's pi): delivered like any verdict.

`record_outcome` runs after each new outcome (an operator's verdict at the end of
`decide`; a label on a sampled action at the end of the label's submission): it runs
`demotion_trigger` over the unit's outcomes since its level began and moves it down in
that same transaction, audited with the evidence, so the next request sees the new level.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain import AutonomyLevel, Risk, Verdict
from ..domain.autonomy import LevelChange, PolicyOutcome, PolicyResult, UnitKey
from ..jsonio import canonical, loads
from ..review.sampling import SamplingRule
from ..store.autonomy_models import AutonomyChangeRow
from ..store.models import ActionRow, AgentRow, AutonomyLevelRow, ChangeRow
from . import audit
from .autonomy_config import current_config
from .budgets import check_request

if TYPE_CHECKING:  # the engine (numpy) loads only when a unit is autonomous
    from ..autonomy import Demotion, UnitEvidence
    from .actions import ActionRequest

POLICY = "policy:autonomy"
SHADOW_MESSAGE = ("Countersign shadow mode (L0): this action was recorded for review and "
                  "must not be executed.")
#: Every shadow action is reviewed: drawn with pi 1 by this rule, ahead of the others.
SHADOW_REVIEW = SamplingRule(name="autonomy-shadow", rate=1.0)
_AUTO_UP_TO = {AutonomyLevel.L2: Risk.MEDIUM.rank, AutonomyLevel.L3: Risk.HIGH.rank}


class AutonomyError(Exception):
    """A level change that cannot be made; the message says why."""


class UnknownUnit(AutonomyError, LookupError):
    pass


class LevelConflict(AutonomyError):
    """Someone else changed the unit's level first (the version check)."""


def policy_actor(config_version: int) -> str:
    return f"{POLICY}@{config_version}"


def unit_subject(key: UnitKey) -> str:
    return f"{key.agent}@{key.version}/{key.action_class}"


# -- unit rows ------------------------------------------------------------------------


def _row(session: Session, agent_id: int, action_class: str) -> AutonomyLevelRow | None:
    return session.execute(select(AutonomyLevelRow).where(
        AutonomyLevelRow.agent_id == agent_id,
        AutonomyLevelRow.action_class == action_class)).scalar_one_or_none()


def _predecessor(session: Session, agent_id: int, name: str, action_class: str
                 ) -> tuple[str, AutonomyLevel] | None:
    """(version, level) of the newest other version of the agent with this class."""
    found = session.execute(
        select(AgentRow.version, AutonomyLevelRow.level)
        .join(AutonomyLevelRow, AutonomyLevelRow.agent_id == AgentRow.id)
        .where(AgentRow.name == name, AgentRow.id != agent_id,
               AutonomyLevelRow.action_class == action_class)
        .order_by(AgentRow.created_at.desc(), AgentRow.id.desc()).limit(1)).first()
    return (found[0], AutonomyLevel(found[1])) if found else None


def ensure_unit(session: Session, agent_id: int, action_class: str, *, now: float
                ) -> AutonomyLevelRow:
    """The unit's level row, created at its first request: a brand-new agent at L1, a
    new version of a known one where `starting_level` puts it (re-qualifying), audited."""
    row = _row(session, agent_id, action_class)
    if row is not None:
        return row
    from ..autonomy import starting_level

    name, version = session.execute(select(AgentRow.name, AgentRow.version).where(
        AgentRow.id == agent_id)).one()
    config_version, config = current_config(session)
    before = _predecessor(session, agent_id, name, action_class)
    level = starting_level(before[1] if before else None, config)
    rule = "new_version" if before else "initial"
    row = AutonomyLevelRow(agent_id=agent_id, action_class=action_class, level=level.value,
                           changed_at=now, version=1, rule=rule, last_demotion_at=None)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # its first request raced in from another process
        found = _row(session, agent_id, action_class)
        if found is None:
            raise
        return found
    key = UnitKey(agent=name, version=version, action_class=action_class)
    evidence: dict[str, Any] = {"predecessor": None if before is None else {
        "version": before[0], "level": before[1].value}, "new_version": config.new_version}
    reason = (f"new version of {name}: {before[1]} at {before[0]}, re-qualifies from "
              f"{level} ({config.new_version.replace('_', ' ')})" if before
              else f"first request of this unit: it starts at {level}")
    change = AutonomyChangeRow(unit_id=row.id, at=now, from_level=None, to_level=level.value,
                               rule=rule, actor=policy_actor(config_version), reason=reason,
                               against_recommendation=False,
                               evidence_json=canonical(evidence), config_version=config_version)
    session.add(change)
    if before is not None or level is not AutonomyLevel.L1:
        session.flush()
        audit.append(session, kind="autonomy.level_set", actor=policy_actor(config_version),
                     subject_type="autonomy_unit", subject_id=unit_subject(key),
                     payload={"change_id": change.id, "to": level.value, "rule": rule,
                              "reason": reason, "evidence": evidence})
    return row


def change_level(session: Session, key: UnitKey, row: AutonomyLevelRow,
                 to: AutonomyLevel, *, rule: str, actor: str, reason: str | None,
                 evidence: dict[str, Any], config_version: int, now: float,
                 against_recommendation: bool = False, expected_version: int | None = None,
                 audit_kind: str, action_id: int | None = None) -> LevelChange:
    """Move the unit to ``to`` if its level row is still at the version seen (else
    `LevelConflict`), with its history row, audit event and, when an action's outcome
    triggered it, a change-feed entry on that action (the console's notification)."""
    seen = row.version if expected_version is None else expected_version
    before = AutonomyLevel(row.level)
    demoted = _rank(to) < _rank(before)
    moved = session.execute(
        update(AutonomyLevelRow)
        .where(AutonomyLevelRow.id == row.id, AutonomyLevelRow.version == seen)
        .values(level=to.value, changed_at=now, version=seen + 1, rule=rule,
                last_demotion_at=now if demoted else row.last_demotion_at)
        .execution_options(synchronize_session=False))
    if cast(CursorResult[Any], moved).rowcount != 1:
        session.expire(row)
        raise LevelConflict(
            f"{key} was changed meanwhile (now {row.level} by rule {row.rule}, version "
            f"{row.version}; you saw version {seen}): look at it again")
    session.expire(row)
    change = AutonomyChangeRow(unit_id=row.id, at=now, from_level=before.value,
                               to_level=to.value, rule=rule, actor=actor, reason=reason,
                               against_recommendation=against_recommendation,
                               evidence_json=canonical(evidence), config_version=config_version)
    session.add(change)
    session.flush()
    audit.append(session, kind=audit_kind, actor=actor, subject_type="autonomy_unit",
                 subject_id=unit_subject(key),
                 payload={"change_id": change.id, "unit": key.model_dump(),
                          "from": before.value, "to": to.value, "rule": rule,
                          "reason": reason, "against_recommendation": against_recommendation,
                          "config_version": config_version, "action_id": action_id,
                          "evidence": evidence})
    if action_id is not None:
        session.add(ChangeRow(action_id=action_id, kind=audit_kind, at=now))
    return level_change(change, key)


def level_change(row: AutonomyChangeRow, key: UnitKey) -> LevelChange:
    return LevelChange(
        id=row.id, unit=key, at=row.at,
        from_level=AutonomyLevel(row.from_level) if row.from_level else None,
        to_level=AutonomyLevel(row.to_level), rule=row.rule, actor=row.actor,
        reason=row.reason, against_recommendation=row.against_recommendation,
        config_version=row.config_version, evidence=loads(row.evidence_json))


def _rank(level: AutonomyLevel) -> int:
    return int(level.value[1])


def evidence_snapshot(evidence: UnitEvidence, demotion: Demotion | None = None
                      ) -> dict[str, Any]:
    snapshot = evidence.model_dump(mode="json")
    if demotion is not None:
        snapshot["demotion"] = demotion.model_dump(mode="json")
    return snapshot


# -- the policy -----------------------------------------------------------------------


def _choose(level: AutonomyLevel, risk: Risk, req: ActionRequest, tripped: str | None
            ) -> tuple[PolicyOutcome, str]:
    wait = PolicyOutcome.WAIT
    if tripped is not None:
        return wait, tripped
    if risk is Risk.CRITICAL:
        return wait, "critical actions always wait for a person, whatever the level"
    if level is AutonomyLevel.L0:
        if Verdict.REJECT not in req.allowed_verdicts:
            return wait, ("L0 shadow, but the agent cannot be told not to execute it "
                          "(reject is not an allowed verdict): a person decides")
        return PolicyOutcome.SHADOW, ("L0 shadow: recorded for review; the agent is told "
                                      "not to execute it")
    if level is AutonomyLevel.L1:
        return wait, "L1 supervised: every action waits for a verdict"
    limit = _AUTO_UP_TO[level]
    if risk.rank > limit:
        return wait, f"{level.label} auto-approves up to {Risk.MEDIUM.value} risk only"
    if Verdict.APPROVE not in req.allowed_verdicts:
        return wait, "approve is not an allowed verdict for this action: a person decides"
    scope = "low and medium risk" if level is AutonomyLevel.L2 else "all but critical risk"
    return PolicyOutcome.AUTO_APPROVE, f"{level.label} auto-approves {scope}"


def apply_policy(session: Session, action: ActionRow, req: ActionRequest, *,
                 now: float | None = None) -> PolicyResult:
    """Apply the unit's level and the agent's breaker to ``action`` (just inserted by
    `request_action`, in ``session``'s transaction); see the module."""
    from .decisions import decide

    now = time.time() if now is None else now
    trip = check_request(session, req.agent, action, now=now)  # it counts all the same
    if req.error:  # not a unit's action (an unreadable payload): a person looks at it
        return PolicyResult(outcome=PolicyOutcome.WAIT, level=AutonomyLevel.L1,
                            reason="the request carries an error: a person looks at it",
                            trip_id=trip.id if trip is not None else None)
    unit = ensure_unit(session, action.agent_id, action.action_class, now=now)
    level, risk = AutonomyLevel(unit.level), Risk(action.risk)
    tripped = None if trip is None else (
        f"the circuit breaker of {req.agent} is tripped ({trip.budget.replace('_', ' ')} "
        f"{trip.observed:g} over {trip.limit_value:g}): every request waits for a person "
        "until a lead resets it")
    outcome, reason = _choose(level, risk, req, tripped)
    trip_id = trip.id if trip is not None else None
    if outcome is PolicyOutcome.WAIT:
        return PolicyResult(outcome=outcome, level=level, reason=reason, trip_id=trip_id)
    config_version, _ = current_config(session)
    # The evidence behind the level is its change (unit, since) in the level history,
    # where the snapshot the lead saw is stored.
    extra = {"autonomy": {
        "level": level.value, "risk": risk.value, "reason": reason, "unit_id": unit.id,
        "level_since": unit.changed_at, "level_rule": unit.rule,
        "level_version": unit.version, "config_version": config_version}}
    verdict = Verdict.AUTO_APPROVE if outcome is PolicyOutcome.AUTO_APPROVE else Verdict.SHADOW
    decision = decide(session, action.id, verdict, reviewer=policy_actor(config_version),
                      reason=SHADOW_MESSAGE if verdict is Verdict.SHADOW else None,
                      idempotency_key=f"autonomy-{action.id}", audit_extra=extra, now=now)
    if verdict is Verdict.SHADOW:
        _review_shadow(session, action)
    return PolicyResult(outcome=outcome, level=level, reason=reason, decision_id=decision.id)


def _review_shadow(session: Session, action: ActionRow) -> None:
    """Every shadow action is reviewed: drawn by `SHADOW_REVIEW` whatever the other
    rules drew, so its inclusion probability, and the sample's pi, is exactly 1."""
    from ..review.rubric import ACTION_RUBRIC
    from ..store.review_models import ReviewItemRow
    from .review_sampling import offer_action

    offer_action(session, action.id, verdict=Verdict.SHADOW, action=action,
                 rules=(SHADOW_REVIEW,))
    session.execute(update(ReviewItemRow)
                    .where(ReviewItemRow.action_id == action.id,
                           ReviewItemRow.rubric == ACTION_RUBRIC)
                    .values(pi=1.0, rule=SHADOW_REVIEW.name)
                    .execution_options(synchronize_session=False))


# -- automatic demotion ---------------------------------------------------------------


def record_outcome(session: Session, action_id: int, *, now: float | None = None
                   ) -> LevelChange | None:
    """A new outcome was recorded for ``action_id`` in ``session``'s transaction (an
    operator's verdict, or a label on a sampled auto-approved or shadow action): run
    the demotion rules over its unit's outcomes since the level began and, when one
    fires, demote the unit now (critical failure → L1; CUSUM alarm or too many recent
    failures → one level down), audited with the evidence. Returns the change, or None.
    Cheap when the unit is below L2 (one read)."""
    found = session.execute(
        select(ActionRow.agent_id, ActionRow.action_class, AgentRow.name, AgentRow.version)
        .join(AgentRow, AgentRow.id == ActionRow.agent_id)
        .where(ActionRow.id == action_id)).first()
    if found is None:
        return None
    agent_id, action_class, name, version = found
    row = session.execute(select(AutonomyLevelRow).where(
        AutonomyLevelRow.agent_id == agent_id, AutonomyLevelRow.action_class == action_class)
        .with_for_update()).scalar_one_or_none()
    if row is None or AutonomyLevel(row.level) not in (AutonomyLevel.L2, AutonomyLevel.L3):
        return None
    from ..autonomy import demotion_trigger
    from .autonomy_evidence import UnitLevel, evaluate_unit, unit_agreement
    from .autonomy_outcomes import unit_outcomes_since

    now = time.time() if now is None else now
    key = UnitKey(agent=name, version=version, action_class=action_class)
    config_version, config = current_config(session)
    level = UnitLevel.of(row)
    batch = unit_outcomes_since(session, key, agent_id, since=level.since)
    demotion = demotion_trigger(batch, level=level.level, config=config, since=level.since)
    if demotion is None:
        return None
    agreement = unit_agreement(session, {key: level}, agent=name).get(key)
    evidence = evaluate_unit(level, batch, config, agreement=agreement, now=now)
    return change_level(
        session, key, row, demotion.to_level, rule=f"demotion:{demotion.rule}",
        actor=policy_actor(config_version), reason=demotion.evidence,
        evidence=evidence_snapshot(evidence, demotion), config_version=config_version,
        now=now, audit_kind="autonomy.demoted", action_id=action_id)
