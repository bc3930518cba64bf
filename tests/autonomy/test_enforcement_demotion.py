"""Demotion is automatic and immediate (issue 13): in the very transaction that records
the outcome (an operator's verdict, or a label on a sampled auto-approved action), so
the next request already sees the lower level."""

from __future__ import annotations

from sqlalchemy import select

from countersign.domain import AutonomyLevel, EditSeverity, Risk, Verdict
from countersign.services.autonomy_service import AutonomyService
from countersign.services.decisions import DecisionService
from countersign.store.engine import Store
from countersign.store.models import ChangeRow

from .store_helpers import UNIT, ask, audit_all_auto, audit_kinds, label, put_at


def _level(store: Store) -> AutonomyLevel:
    return AutonomyService(store).unit(UNIT).level


def test_a_harm_label_on_a_sampled_auto_approval_demotes_to_l1_in_its_transaction(
        store: Store) -> None:
    put_at(store, AutonomyLevel.L3)
    audit_all_auto(store)
    harmful, decision = ask(store, risk=Risk.MEDIUM)
    assert decision is not None and decision.verdict is Verdict.AUTO_APPROVE
    label(store, harmful, correct="correct", harm=True)  # one transaction: label + demotion
    assert _level(store) is AutonomyLevel.L1
    _, actor, payload = audit_kinds(store, "autonomy.demoted")[-1]
    assert actor == "policy:autonomy@1"
    assert payload["rule"] == "demotion:critical" and payload["to"] == "L1"
    assert payload["action_id"] == harmful
    evidence = payload["evidence"]
    assert evidence["demotion"]["rule"] == "critical"
    assert evidence["mix"]["critical"] == 1 and evidence["recommendation"] == "demote"
    with store.read() as session:  # the console's notification rides the change feed
        kinds = set(session.execute(select(ChangeRow.kind).where(
            ChangeRow.action_id == harmful)).scalars())
    assert "autonomy.demoted" in kinds
    # The next request already sees L1: it waits.
    _, next_decision = ask(store, risk=Risk.LOW)
    assert next_decision is None


def test_an_operators_critical_edit_demotes_at_once(store: Store) -> None:
    put_at(store, AutonomyLevel.L2)
    high, waits = ask(store, risk=Risk.HIGH)  # L2 auto-approves up to medium
    assert waits is None
    DecisionService(store).decide(high, Verdict.EDIT, reviewer="olga",
                                  arguments={"order": "fixed"},
                                  severity=EditSeverity.CRITICAL)
    assert _level(store) is AutonomyLevel.L1


def test_three_failures_in_twenty_move_one_level_down(store: Store) -> None:
    put_at(store, AutonomyLevel.L3)
    decisions = DecisionService(store)
    for n in range(3):
        critical, _ = ask(store, risk=Risk.CRITICAL)
        decisions.decide(critical, Verdict.REJECT, reviewer="olga", reason=f"wrong {n}")
        if n < 2:
            assert _level(store) is AutonomyLevel.L3
    assert _level(store) is AutonomyLevel.L2
    _, _, payload = audit_kinds(store, "autonomy.demoted")[-1]
    assert payload["rule"] == "demotion:window" and payload["from"] == "L3"
    status = AutonomyService(store).unit(UNIT)
    # Everything restarts at the level change: fresh evidence only.
    assert status.evidence.n == 0 and status.level_rule == "demotion:window"
    assert status.last_demotion_at is not None


def test_approvals_and_supervised_units_never_demote(store: Store) -> None:
    decisions = DecisionService(store)
    for _ in range(3):  # L1: rejections are evidence, but nothing to demote
        action_id, _ = ask(store, risk=Risk.LOW)
        decisions.decide(action_id, Verdict.REJECT, reviewer="olga", reason="no")
    assert _level(store) is AutonomyLevel.L1
    put_at(store, AutonomyLevel.L2)
    for _ in range(3):
        action_id, _ = ask(store, risk=Risk.HIGH)
        decisions.decide(action_id, Verdict.APPROVE, reviewer="olga")
    assert _level(store) is AutonomyLevel.L2
    assert not [e for e in audit_kinds(store, "autonomy.demoted")
                if e[2]["rule"].startswith("demotion:")]


def test_a_label_saying_wrong_counts_as_a_failure_of_the_auto_approved_action(
        store: Store) -> None:
    put_at(store, AutonomyLevel.L2)
    audit_all_auto(store)
    for reviewer in ("rita", "sam", "rita"):
        action_id, _ = ask(store, risk=Risk.LOW)
        label(store, action_id, reviewer=reviewer, correct="wrong")
    assert _level(store) is AutonomyLevel.L1
    _, _, payload = audit_kinds(store, "autonomy.demoted")[-1]
    assert payload["rule"] == "demotion:window"
