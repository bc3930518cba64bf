"""Builders for the autonomy store tests: requests through the real `request_action`,
units put at a level the way a lead does it, labels through the review services."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from countersign.domain import OPERATOR_VERDICTS, AutonomyLevel, DecisionRecord, Risk, Verdict
from countersign.domain.autonomy import UnitKey
from countersign.review.sampling import SamplingRule
from countersign.services.actions import ActionRequest, ActionService, request_action
from countersign.services.autonomy_service import AutonomyService
from countersign.services.decisions import DecisionService, decide
from countersign.services.review import ReviewService
from countersign.store.engine import Store
from countersign.store.models import AuditEventRow
from countersign.store.review_models import ReviewItemRow

AGENT, VERSION, CLASS = "refunds-agent", "1.0", "issue_refund"
UNIT = UnitKey(agent=AGENT, version=VERSION, action_class=CLASS)
#: Every auto-approved action drawn (pi 1), others by AUTONOMY.md's tiers.
ALWAYS_AUDIT = SamplingRule(name="audit-all-auto", verdicts=("auto_approved",), rate=1.0)


def ask(store: Store, *, risk: Risk | str = Risk.LOW, agent: str = AGENT,
        version: str = VERSION, action_class: str = CLASS, arguments: Any = None,
        allowed: tuple[Verdict, ...] = OPERATOR_VERDICTS, error: str | None = None,
        source: str = "gate", ref: str | None = None, trace_id: str | None = None,
        reasoning: tuple[Any, ...] = ()) -> tuple[int, DecisionRecord | None]:
    """Request one action; (its id, the decision the policy wrote at once or None)."""
    action_id, _ = ActionService(store).request(ActionRequest(
        agent=agent, agent_version=version, action_class=action_class,
        arguments={"order": uuid.uuid4().hex[:8]} if arguments is None else arguments,
        risk=Risk(risk), source=source, source_ref=ref or uuid.uuid4().hex,
        allowed_verdicts=allowed, error=error, trace_id=trace_id, reasoning=reasoning))
    return action_id, DecisionService(store).get(action_id)


def put_at(store: Store, level: AutonomyLevel, unit: UnitKey = UNIT, *,
           lead: str = "lena") -> None:
    """Move ``unit`` (requested once if it never was) to ``level`` as a lead would:
    against the recommendation, with a reason."""
    service = AutonomyService(store)
    with store.read() as session:
        from countersign.services.autonomy_status import unit_level

        current = unit_level(session, unit)
    if current.row_id is None:
        ask(store, risk=Risk.CRITICAL, agent=unit.agent, version=unit.version,
            action_class=unit.action_class)
        current_level = AutonomyService(store).unit(unit).level
    else:
        current_level = current.level
    if int(level.value[1]) > int(current_level.value[1]):
        service.promote(unit, level, lead=lead, reason="set up by the test")
    elif level != current_level:
        service.demote(unit, level, lead=lead, reason="set up by the test")


def audit_all_auto(store: Store) -> None:
    """Sampling rules where every auto-approved action is drawn with pi 1."""
    ReviewService(store).replace_rules([ALWAYS_AUDIT], actor="test")


@dataclass(frozen=True)
class Item:
    id: int
    pi: float | None
    rule: str | None
    state: str


def review_item(store: Store, action_id: int) -> Item | None:
    with store.read() as session:
        row = session.execute(select(ReviewItemRow.id, ReviewItemRow.pi, ReviewItemRow.rule,
                                     ReviewItemRow.state).where(
            ReviewItemRow.action_id == action_id)).first()
    return Item(*row) if row is not None else None


def label(store: Store, action_id: int, *, reviewer: str = "rita", correct: str = "correct",
          harm: bool = False) -> None:
    """Label a sampled action with the action rubric (through the review services)."""
    item = review_item(store, action_id)
    assert item is not None, f"action {action_id} was not drawn for review"
    ReviewService(store).submit(item.id, reviewer=reviewer,
                                answers={"correct": correct, "harm": harm})


def audit_kinds(store: Store, kind_prefix: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, actor, payload) of the audit events whose kind starts so, in order."""
    with store.read() as session:
        rows = session.execute(select(AuditEventRow.kind, AuditEventRow.actor,
                                      AuditEventRow.payload_json).where(
            AuditEventRow.kind.like(f"{kind_prefix}%")).order_by(AuditEventRow.id)).all()
    return [(kind, actor, json.loads(payload)) for kind, actor, payload in rows]


def now() -> float:
    return time.time()


HOUR, DAY = 3_600.0, 86_400.0


def seed_verdicts(store: Store, n: int, *, days: float, unit: UnitKey = UNIT,
                  failures: Sequence[int] = (), risk: Risk = Risk.HIGH,
                  reviewers: tuple[str, ...] = ("olga", "omar"),
                  end: float | None = None) -> list[int]:
    """``n`` actions of ``unit`` requested and decided by people over the last
    ``days`` (through the real units of work with past times), rejected at the indexes
    in ``failures``, approved otherwise; in one transaction."""
    end = time.time() - 60 if end is None else end
    start = end - days * DAY
    step = (end - start) / max(1, n)
    ids = []
    with store.write() as session:
        for i in range(n):
            at = start + i * step
            action_id, _ = request_action(session, ActionRequest(
                agent=unit.agent, agent_version=unit.version, action_class=unit.action_class,
                arguments={"n": i}, risk=risk, source_ref=uuid.uuid4().hex), now=at)
            failed = i in failures
            decide(session, action_id, Verdict.REJECT if failed else Verdict.APPROVE,
                   reviewer=reviewers[i % len(reviewers)],
                   reason="wrong" if failed else None, now=at + 30)
            ids.append(action_id)
    return ids
