"""The level is applied where the action is requested (issue 13, Enforcement): inside
`request_action`'s transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from countersign.domain import ActionState, AutonomyLevel, Risk, Verdict
from countersign.domain.autonomy import UnitKey
from countersign.services.actions import ActionService
from countersign.services.autonomy import SHADOW_MESSAGE
from countersign.services.autonomy_service import AutonomyService
from countersign.store.engine import Store
from countersign.store.models import AuditEventRow, OutboxRow

from .store_helpers import (
    AGENT,
    CLASS,
    UNIT,
    ask,
    audit_all_auto,
    audit_kinds,
    put_at,
    review_item,
)


def _pending(store: Store) -> set[int]:
    return {row.id for row in ActionService(store).queue_rows()}


def test_l1_every_action_waits(store: Store) -> None:
    low, decision = ask(store, risk=Risk.LOW)
    assert decision is None
    assert low in _pending(store)
    assert AutonomyService(store).unit(UNIT).level is AutonomyLevel.L1


def test_l2_auto_approves_low_and_medium_in_the_request(store: Store) -> None:
    put_at(store, AutonomyLevel.L2)
    audit_all_auto(store)
    low, auto = ask(store, risk=Risk.LOW)
    medium, auto_medium = ask(store, risk=Risk.MEDIUM)
    high, waits_high = ask(store, risk=Risk.HIGH)
    critical, waits_critical = ask(store, risk=Risk.CRITICAL)
    assert auto is not None and auto_medium is not None
    assert auto.verdict is Verdict.AUTO_APPROVE
    assert auto.reviewer == "policy:autonomy@1"
    assert waits_high is None and waits_critical is None
    assert _pending(store) >= {high, critical}
    assert not _pending(store) & {low, medium}
    assert ActionService(store).get(low).state is ActionState.AUTO_APPROVED
    with store.read() as session:
        # The verdict is delivered like any other: an outbox row waits for the agent.
        outbox = session.execute(select(OutboxRow.state).where(
            OutboxRow.action_id == low)).scalar_one()
        assert outbox == "pending"
        payload = session.execute(select(AuditEventRow.payload_json).where(
            AuditEventRow.kind == "decision.auto_approve",
            AuditEventRow.subject_id == str(low))).scalar_one()
    policy = json.loads(payload)["autonomy"]
    assert policy["level"] == "L2" and policy["risk"] == "low"
    assert policy["config_version"] == 1
    assert policy["level_rule"] == "promotion"
    # Offered to the sampling rules with the rule's pi, in the same transaction.
    item = review_item(store, low)
    assert item is not None and item.pi == 1.0 and item.rule == "audit-all-auto"


def test_l3_auto_approves_all_but_critical(store: Store) -> None:
    put_at(store, AutonomyLevel.L3)
    _, high = ask(store, risk=Risk.HIGH)
    critical, waits = ask(store, risk=Risk.CRITICAL)
    assert high is not None and high.verdict is Verdict.AUTO_APPROVE
    assert waits is None and critical in _pending(store)


def test_l0_shadow_is_decided_at_once_and_reviewed_with_pi_one(store: Store) -> None:
    put_at(store, AutonomyLevel.L0)
    action_id, decision = ask(store, risk=Risk.MEDIUM)
    assert decision is not None and decision.verdict is Verdict.SHADOW
    assert decision.reason == SHADOW_MESSAGE
    item = review_item(store, action_id)
    assert item is not None and item.pi == 1.0 and item.rule == "autonomy-shadow"
    # Critical actions wait for a person even in shadow mode.
    critical, waits = ask(store, risk=Risk.CRITICAL)
    assert waits is None and critical in _pending(store)


def test_l0_without_reject_allowed_waits_instead(store: Store) -> None:
    put_at(store, AutonomyLevel.L0)
    action_id, decision = ask(store, allowed=(Verdict.APPROVE, Verdict.EDIT))
    assert decision is None and action_id in _pending(store)


def test_never_auto_approves_an_unreadable_request_or_one_that_cannot_be_approved(
        store: Store) -> None:
    put_at(store, AutonomyLevel.L3)
    broken, first = ask(store, error="cannot read the interrupt", allowed=())
    no_approve, second = ask(store, allowed=(Verdict.EDIT, Verdict.REJECT))
    assert first is None and second is None
    assert _pending(store) >= {broken, no_approve}


def test_a_new_version_requalifies_one_level_lower(store: Store) -> None:
    put_at(store, AutonomyLevel.L3)
    _, decision = ask(store, version="2.0", risk=Risk.HIGH)
    assert decision is None  # L2 now: high risk waits
    v2 = UnitKey(agent=AGENT, version="2.0", action_class=CLASS)
    status = AutonomyService(store).unit(v2)
    assert status.level is AutonomyLevel.L2 and status.level_rule == "new_version"
    assert status.evidence.n == 0 and status.evidence.failure_rate is None
    _, low = ask(store, version="2.0", risk=Risk.LOW)
    assert low is not None and low.verdict is Verdict.AUTO_APPROVE
    _, _, payload = audit_kinds(store, "autonomy.level_set")[-1]
    assert payload["evidence"]["predecessor"] == {"version": "1.0", "level": "L3"}


def test_a_new_version_starts_in_shadow_when_so_configured(store: Store) -> None:
    service = AutonomyService(store)
    service.set_config({"new_version": "shadow"}, actor="lena", reason="shadow new versions")
    ask(store)  # version 1.0 exists now (a brand-new agent starts in shadow too)
    _, decision = ask(store, version="3.0")
    assert decision is not None and decision.verdict is Verdict.SHADOW
    assert decision.reviewer == "policy:autonomy@2"


def test_the_next_request_sees_a_level_change_at_once(store: Store) -> None:
    put_at(store, AutonomyLevel.L2)
    _, auto = ask(store)
    assert auto is not None
    put_at(store, AutonomyLevel.L1)
    action_id, waits = ask(store)
    assert waits is None and action_id in _pending(store)


@pytest.mark.parametrize("risk", [Risk.LOW, Risk.MEDIUM])
def test_auto_approval_counts_one_decision_per_action(store: Store, risk: Risk) -> None:
    put_at(store, AutonomyLevel.L2)
    action_id, _ = ask(store, risk=risk, ref="same-ref")
    again, decision = ask(store, risk=risk, ref="same-ref")  # idempotent re-request
    assert again == action_id and decision is not None
    with store.read() as session:
        events = session.execute(select(func.count()).select_from(AuditEventRow).where(
            AuditEventRow.kind == "decision.auto_approve")).scalar_one()
    assert events == 1


def test_an_unreadable_request_makes_no_unit(store: Store) -> None:
    put_at(store, AutonomyLevel.L3)
    ask(store, action_class="unreadable interrupt", error="cannot parse", allowed=())
    assert [s.unit.action_class for s in AutonomyService(store).status()] == [CLASS]
