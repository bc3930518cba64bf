"""The status, charts and events the lead reads, checked against the engine run on
`services.outcomes` directly: the verdict snapshot that keeps status fast must never
change a number."""

from __future__ import annotations

import math
import time

import numpy as np
from sqlalchemy import select

from countersign.autonomy import AutonomyConfig, evaluate
from countersign.domain import AutonomyLevel, Risk
from countersign.domain.autonomy import UnitKey
from countersign.services.autonomy_outcomes import SNAPSHOT_MARGIN, snapshot_lag
from countersign.services.autonomy_service import AutonomyService
from countersign.services.outcomes import outcome_batches
from countersign.store.autonomy_models import OutcomeSnapshotRow
from countersign.store.engine import Store

from .store_helpers import (
    AGENT,
    UNIT,
    ask,
    audit_all_auto,
    label,
    put_at,
    seed_verdicts,
)

CREDIT = UnitKey(agent=AGENT, version="1.0", action_class="issue_store_credit")


def _reference(store: Store, unit: UnitKey, service: AutonomyService) -> dict[str, object]:
    """The evidence computed from `services.outcomes` (no snapshot involved)."""
    status = service.unit(unit)
    batch = outcome_batches(store, agent=unit.agent)[
        (unit.agent, unit.version, unit.action_class)]
    ev = evaluate(batch, level=status.level, level_since=status.level_since,
                  now=status.evidence.now, config=AutonomyConfig(), agreement=None,
                  last_demotion_at=status.last_demotion_at)
    return ev.model_dump()


def test_status_agrees_with_the_engine_on_outcomes_with_or_without_the_snapshot(
        store: Store) -> None:
    old = time.time() - 3 * 86_400
    seed_verdicts(store, 60, days=5, failures=[7, 30], end=old)
    seed_verdicts(store, 30, days=1, unit=CREDIT, failures=[2], risk=Risk.MEDIUM, end=old)
    service = AutonomyService(store)
    before = {u.unit: u.evidence.model_dump(exclude={"now"}) for u in service.status()}
    assert service.refresh_snapshot() == 90
    with store.read() as session:
        through = session.execute(select(OutcomeSnapshotRow.through_at)).scalar_one()
        assert through <= time.time() - SNAPSHOT_MARGIN + 1
        assert snapshot_lag(session) == 0
    # Verdicts after the snapshot's edge and labels are read fresh on top of it.
    seed_verdicts(store, 5, days=0.001, failures=[1])  # decided now, after the edge
    put_at(store, AutonomyLevel.L2, CREDIT)
    audit_all_auto(store)
    for correct in ("correct", "wrong"):
        auto, _ = ask(store, action_class=CREDIT.action_class, risk=Risk.LOW)
        label(store, auto, correct=correct)
    statuses = {u.unit: u for u in service.status()}
    with store.read() as session:
        assert snapshot_lag(session) == 7  # 5 verdicts, 2 auto-approvals: all fresh
    for unit in (UNIT, CREDIT):
        got = statuses[unit].evidence.model_dump()
        want = _reference(store, unit, service)
        for key in ("n", "n_eff", "failure_rate", "wilson_lower", "p_above_target", "sprt",
                    "cusum", "mix", "risk_mix", "reviewers", "recommendation"):
            assert got[key] == want[key], (unit, key)
    assert statuses[UNIT].evidence.n == 65
    assert statuses[CREDIT].evidence.n == 2  # the L2 segment: two labelled auto-approvals
    assert before[UNIT]["n"] == 60


def test_no_evidence_yet_is_none_never_nan(store: Store) -> None:
    ask(store, risk=Risk.CRITICAL)
    service = AutonomyService(store)
    (status,) = service.status()
    ev = status.evidence
    assert ev.n == 0 and ev.failure_rate is None and ev.p_above_target is None
    assert "No evidence yet" in ev.reasons[0]
    charts = service.charts(UNIT)
    assert charts.series.t.size == 0
    assert [c.rule for c in charts.changes] == ["initial"]


def test_charts_follow_the_level_history(store: Store) -> None:
    seed_verdicts(store, 80, days=10, failures=[40])
    service = AutonomyService(store)
    service.promote(UNIT, AutonomyLevel.L2, lead="lena", reason="one failure is fine")
    for _ in range(3):
        high, _ = ask(store, risk=Risk.HIGH)
        from countersign.domain import Verdict
        from countersign.services.decisions import DecisionService

        DecisionService(store).decide(high, Verdict.APPROVE, reviewer="olga")
    charts = service.charts(UNIT)
    series = charts.series
    assert series.t.size == 83
    assert list(series.level[:80]) == [1] * 80 and list(series.level[80:]) == [2] * 3
    for name in ("accuracy", "wilson_lower", "wilson_upper", "cusum", "sprt"):
        assert not np.isnan(getattr(series, name)).any(), name
    assert [c.to_level for c in charts.changes] == [AutonomyLevel.L1, AutonomyLevel.L2]
    assert series.counts.sum() == 83 and series.counts[3].sum() == 1  # one reject
    assert math.isclose(float(series.accuracy[79]), 79 / 80)


def test_events_page_level_changes_and_trips_for_notifications(store: Store) -> None:
    service = AutonomyService(store)
    put_at(store, AutonomyLevel.L2)
    service.set_budget(AGENT, {"actions_per_minute": 1}, actor="lena")
    ask(store)
    ask(store)  # the second request this minute crosses it
    events = service.events()
    assert [e.kind for e in events] == ["autonomy.promoted", "budget.set", "breaker.tripped"]
    assert "tripped" in events[-1].summary and events[-1].subject == AGENT
    assert service.events(after_id=events[-1].id) == []
    assert [e.kind for e in service.events(after_id=events[0].id)] == [
        "budget.set", "breaker.tripped"]


def test_reviewer_agreement_enters_the_evidence_where_double_labels_exist(
        store: Store) -> None:
    put_at(store, AutonomyLevel.L2)
    from countersign.review.sampling import SamplingRule
    from countersign.services.review import ReviewService

    ReviewService(store).replace_rules(
        [SamplingRule(name="double", verdicts=("auto_approved",), rate=1.0, labels=2)],
        actor="test")
    answers = [("correct", "correct"), ("wrong", "wrong"), ("correct", "wrong"),
               ("minor", "minor")]
    for first, second in answers:
        action_id, _ = ask(store)
        label(store, action_id, reviewer="rita", correct=first)
        if AutonomyService(store).unit(UNIT).level is not AutonomyLevel.L2:
            break
        label(store, action_id, reviewer="sam", correct=second)
    status = AutonomyService(store).unit(UNIT)
    assert status.evidence.agreement is not None
    assert -1.0 <= status.evidence.agreement < 1.0


def test_all_charts_equal_one_charts_call_per_unit(store: Store) -> None:
    seed_verdicts(store, 30, days=3, failures=[4])
    seed_verdicts(store, 12, days=1, unit=CREDIT)
    put_at(store, AutonomyLevel.L2, CREDIT)
    service = AutonomyService(store)
    every = service.all_charts()
    assert set(every) == {UNIT, CREDIT}
    for unit, charts in every.items():
        one = service.charts(unit)
        assert charts.changes == one.changes
        assert charts.status.evidence.n == one.status.evidence.n
        assert np.array_equal(charts.series.accuracy, one.series.accuracy)
        assert np.array_equal(charts.series.level, one.series.level)
    assert set(service.all_charts(agent="nobody")) == set()
