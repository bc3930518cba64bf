"""Sampling decided actions (and runs) from the store into the review queue."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from sqlalchemy import select

from countersign.config import load_config
from countersign.domain import Risk, Verdict
from countersign.review.sampling import DEFAULT_RULES, SamplingRule, draw_uniform
from countersign.services.review import ReviewService
from countersign.session import open_services
from countersign.store.engine import Store
from countersign.store.migrate import open_store
from countersign.store.models import AuditEventRow, RunRow
from countersign.store.review_models import ReviewItemRow

from .store_helpers import decided, item_ids, seed_decided

N = 20_000


def _items(store: Store) -> list[ReviewItemRow]:
    with store.read() as session:
        rows = list(session.execute(select(ReviewItemRow).order_by(ReviewItemRow.id)).scalars())
        session.expunge_all()  # plain objects past the read's rollback
    return rows


def test_sample_draws_at_the_rules_rate_deterministically_and_stores_pi(
        sqlite_store: Store, tmp_path: Path) -> None:
    ids = seed_decided(sqlite_store, N, risk="medium")
    report = ReviewService(sqlite_store).sample()
    assert report.considered == N and report.actions_considered == N
    items = _items(sqlite_store)
    assert len(items) == report.drawn
    # Binomial(20000, 0.2): mean 4000, sd 56.6; 5 sd either side.
    assert abs(report.drawn - N * 0.2) <= 5 * math.sqrt(N * 0.2 * 0.8)
    assert {(i.pi, i.rule, i.needed, i.state) for i in items} == {(0.2, "medium-risk", 1, "open")}
    # The draw is the hash's, so it is the same set on any store holding these ids.
    expected = {a for a in ids if draw_uniform("medium-risk", f"action:{a}") < 0.2}
    assert {i.action_id for i in items} == expected
    other = open_store(f"sqlite:///{tmp_path}/other.db")
    seed_decided(other, N, risk="medium")
    ReviewService(other).sample()
    assert {i.action_id for i in _items(other)} == expected
    # Everything was considered: a second run considers nothing and draws nothing.
    again = ReviewService(sqlite_store).sample()
    assert (again.considered, again.drawn) == (0, 0)


def test_each_verdict_is_offered_in_its_own_transaction(store: Store) -> None:
    high = decided(store, Verdict.APPROVE, risk=Risk.HIGH)
    rejected = decided(store, Verdict.REJECT, risk=Risk.CRITICAL)
    found = {i.action_id: i for i in _items(store)}
    assert found[high].pi == 1.0 and found[high].rule == "high-risk" and found[high].needed == 2
    assert found[rejected].rule == "critical-risk"
    # Low risk at 5 %: exactly the hash decides.
    lows = [decided(store, Verdict.APPROVE, risk=Risk.LOW) for _ in range(40)]
    drawn = {a for a in lows if draw_uniform("low-risk", f"action:{a}") < 0.05}
    assert set(item_ids(store, lows)) == drawn


def test_auto_approved_actions_are_never_drawn_below_the_floor(sqlite_store: Store) -> None:
    review = ReviewService(sqlite_store)
    review.replace_rules([SamplingRule(name="rare", verdicts=("auto_approved",), rate=0.001)],
                         actor="lead")
    seed_decided(sqlite_store, 5000, verdict="auto_approve")
    review.sample()
    pis = {i.pi for i in _items(sqlite_store)}
    assert pis == {0.02}


def test_ad_hoc_items_have_no_pi_and_adding_twice_returns_the_same_item(store: Store) -> None:
    review = ReviewService(store)
    review.replace_rules([], actor="lead")
    action = decided(store, Verdict.APPROVE, risk=Risk.LOW)
    first, created = review.add(actor="ann", action_id=action, labels=2)
    again, created_again = review.add(actor="bo", action_id=action)
    assert (created, created_again) == (True, False) and first == again
    other, _ = review.add(actor="ann", action_id=action, rubric="action-outcome")
    assert other == first
    [item] = review.items()
    assert (item.pi, item.rule, item.added_by, item.needed) == (None, None, "ann", 2)
    assert item.why == "ad hoc (ann)"


def test_an_ad_hoc_item_the_rules_then_draw_becomes_a_sample(sqlite_store: Store) -> None:
    review = ReviewService(sqlite_store)
    [action] = seed_decided(sqlite_store, 1, risk="high")
    review.add(actor="ann", action_id=action)
    review.sample()
    [item] = _items(sqlite_store)
    assert (item.pi, item.rule, item.needed, item.added_by) == (1.0, "high-risk", 2, "ann")


def test_adding_refuses_what_cannot_be_reviewed(sqlite_store: Store) -> None:
    from countersign.services.actions import UnknownAction
    from countersign.services.review_rubrics import UnknownRubric
    from countersign.services.review_sampling import ReviewAddError, UnknownTrace

    from .store_helpers import request

    review = ReviewService(sqlite_store)
    with pytest.raises(UnknownAction, match="no action 999"):
        review.add(actor="ann", action_id=999)
    with pytest.raises(UnknownTrace, match="ab" * 16):
        review.add(actor="ann", trace_id="ab" * 16)
    pending = request(sqlite_store)
    with pytest.raises(ReviewAddError, match="still pending"):
        review.add(actor="ann", action_id=pending)
    action = decided(sqlite_store, Verdict.APPROVE, risk=Risk.LOW)
    with pytest.raises(ReviewAddError, match="is for runs, not actions"):
        review.add(actor="ann", action_id=action, rubric="run-outcome")
    with pytest.raises(UnknownRubric, match="nope"):
        review.add(actor="ann", action_id=action, rubric="nope")
    with pytest.raises(ReviewAddError, match="labels must be between 1 and 10"):
        review.add(actor="ann", action_id=action, labels=0)


def test_runs_without_an_action_are_drawn_by_run_rules_with_the_run_rubric(
        sqlite_store: Store) -> None:
    review = ReviewService(sqlite_store)
    review.replace_rules([*DEFAULT_RULES, SamplingRule(name="failed-runs", run_error=True,
                                                       rate=1.0)], actor="lead")
    old_ns = 1_700_000_000 * 10**9
    with sqlite_store.write() as session:
        for n, status in enumerate(("error", "ok", "error")):
            session.add(RunRow(trace_id=f"{n:032x}", agent_name="planner", started_ns=old_ns,
                               ended_ns=old_ns + 10**9, status=status, span_count=1))
        # Still going: not settled, so not judged yet.
        session.add(RunRow(trace_id="f" * 32, agent_name="planner", started_ns=2**62,
                           ended_ns=None, status="error", span_count=1))
    report = review.sample()
    assert report.runs_considered == 3
    runs = [i for i in _items(sqlite_store) if i.trace_id is not None]
    assert {(i.trace_id, i.rubric, i.pi) for i in runs} == {
        (f"{0:032x}", "run-outcome", 1.0), (f"{2:032x}", "run-outcome", 1.0)}


def test_config_rules_replace_differing_stored_rules_once_and_audited(
        sqlite_url: str, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[review.rules]]\nname = "refunds"\naction_classes = ["refund"]\n'
                      'rate = 0.5\nlabels = 3\n')
    services = open_services(sqlite_url, config)
    assert [r.name for r in services.review.rules()] == ["refunds"]
    services.close()
    services = open_services(sqlite_url, config)  # unchanged: nothing new is written
    with services.store.read() as session:
        kinds = list(session.execute(select(AuditEventRow.kind)).scalars())
    services.close()
    assert kinds.count("review.rules.replaced") == 1
    assert load_config(config).review.sampling_rules() == [
        SamplingRule(name="refunds", action_classes=("refund",), rate=0.5, labels=3)]


def test_a_verdict_undone_and_given_again_is_drawn_again(store: Store) -> None:
    from countersign.services.decisions import DecisionService

    from .store_helpers import request

    review, decisions = ReviewService(store), DecisionService(store)
    review.replace_rules([SamplingRule(name="approvals", verdicts=("approved",), rate=1.0)],
                         actor="lead")
    action = request(store, risk=Risk.LOW)
    decisions.decide(action, Verdict.APPROVE, reviewer="olga", hold_seconds=60)
    assert [i.action_id for i in _items(store)] == [action]
    assert decisions.undo(action, actor="olga") is True
    assert review.next_item("ana") is None  # pending again: nothing to judge
    decisions.decide(action, Verdict.REJECT, reviewer="olga", reason="no")
    assert _items(store) == []
