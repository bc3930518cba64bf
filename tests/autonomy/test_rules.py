"""evaluate and demotion_trigger: the recommendation a lead reads and the automatic
demotions, on hand-built histories."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from countersign.autonomy import (
    AutonomyConfig,
    OutcomeBatch,
    OutcomeKind,
    UnitEvidence,
    demotion_trigger,
    evaluate,
    starting_level,
)
from countersign.autonomy.stats import SprtBoundaries
from countersign.domain import AutonomyLevel

from .helpers import DAY, HOUR, batch_of, clean, with_failures

L0, L1, L2, L3 = AutonomyLevel.L0, AutonomyLevel.L1, AutonomyLevel.L2, AutonomyLevel.L3
CFG = AutonomyConfig()
K = OutcomeKind


def _evaluate(batch: OutcomeBatch, level: AutonomyLevel = L1, *, since: float = 0.0,
              now: float | None = None, agreement: float | None = None,
              last_demotion_at: float | None = None) -> UnitEvidence:
    end = float(batch.at[-1]) if len(batch) else since
    return evaluate(batch, level=level, level_since=since,
                    now=end + HOUR if now is None else now, config=CFG,
                    agreement=agreement, last_demotion_at=last_demotion_at)


def _unmet(evidence: UnitEvidence) -> set[str]:
    return {r.name for r in evidence.rules if not r.met}


def test_no_evidence_is_said_in_words_and_has_no_nan() -> None:
    for level in (L0, L1, L2, L3):
        evidence = _evaluate(OutcomeBatch.empty(), level)
        assert evidence.n == 0 and evidence.recommendation == "hold"
        assert evidence.failure_rate is None and evidence.wilson_lower is None
        assert evidence.p_above_target is None
        assert "No evidence yet" in evidence.reasons[0]
        json.dumps(evidence.model_dump(mode="json"), allow_nan=False)


def test_a_qualified_l1_unit_is_recommended_for_promotion() -> None:
    batch = batch_of(clean(80), step=2.4 * HOUR)  # 80 clean items over 8 days, 2 reviewers
    evidence = _evaluate(batch)
    assert evidence.recommendation == "promote", evidence.reasons
    assert evidence.next_level is L2 and evidence.target == pytest.approx(0.97)
    assert evidence.sprt.sum == pytest.approx(evidence.sprt.upper)
    assert evidence.sprt.items_to_decision == 0
    assert evidence.p_above_target is not None and evidence.p_above_target > 0.95
    assert evidence.reasons == ["All 9 rules for L2 are met; a lead confirms the promotion."]


def test_each_missing_guard_holds_the_promotion_with_its_reason() -> None:
    batch = batch_of(clean(80), step=2.4 * HOUR)
    too_soon = _evaluate(batch, now=6 * DAY)
    assert too_soon.recommendation == "hold" and _unmet(too_soon) == {"days_at_level"}
    assert any("days at L1 (at least 7)" in r for r in too_soon.reasons)
    one_reviewer = _evaluate(batch_of(clean(80), step=2.4 * HOUR, reviewers=1))
    assert _unmet(one_reviewer) == {"reviewers"}
    disagree = _evaluate(batch, agreement=0.5)
    assert _unmet(disagree) == {"agreement"}
    assert _unmet(_evaluate(batch, agreement=0.8)) == set()
    few = _evaluate(batch_of(clean(50), step=4 * HOUR))
    # 50 clean items: the SPRT is satisfied, but not the count, nor Wilson (0.949 < 0.95).
    assert _unmet(few) == {"reviewed", "n_eff", "wilson"}
    assert few.wilson_lower == pytest.approx(0.94866, abs=1e-5)


def test_a_recent_critical_failure_blocks_promotion_for_100_outcomes() -> None:
    kinds = with_failures(200, [120], K.CRITICAL_EDIT)
    batch = batch_of(kinds, step=HOUR)
    assert "no_critical" in _unmet(_evaluate(batch))
    detail = next(r.detail for r in _evaluate(batch).rules if r.name == "no_critical")
    assert detail == "A critical failure 79 outcomes ago (none allowed in the last 100)."
    assert "no_critical" not in _unmet(_evaluate(batch_of(kinds + clean(21), step=HOUR)))


def test_only_outcomes_since_the_level_began_count() -> None:
    history = batch_of(with_failures(30, range(0, 30, 2)) + clean(80), step=2 * HOUR)
    since = float(history.at[29])
    evidence = _evaluate(history, since=since, now=since + 8 * DAY)
    assert evidence.n == 80 and evidence.failure_rate == 0.0
    assert evidence.recommendation == "promote"
    assert _evaluate(history, since=0.0, now=since + 8 * DAY).recommendation == "hold"


def test_no_promotion_inside_the_cool_down_after_a_demotion() -> None:
    batch = batch_of(clean(80), step=2.4 * HOUR)
    now = float(batch.at[-1]) + HOUR
    cooling = _evaluate(batch, now=now, last_demotion_at=now - 3 * DAY)
    assert cooling.recommendation == "hold" and _unmet(cooling) == {"cooldown"}
    assert "cool-down 7 days, until" in next(r.detail for r in cooling.rules
                                             if r.name == "cooldown")
    assert _evaluate(batch, now=now, last_demotion_at=now - 7.5 * DAY).recommendation == (
        "promote")


def test_mix_risk_mix_and_ad_hoc_outcomes() -> None:
    kinds = [K.APPROVE, K.COSMETIC_EDIT, K.MATERIAL_EDIT, K.REJECT, K.LABEL_CORRECT,
             K.LABEL_WRONG, K.APPROVE]
    pi = [1.0, 1.0, 1.0, 1.0, 0.2, 0.05, math.nan]
    evidence = _evaluate(batch_of(kinds, pi=pi, risk=[0, 0, 1, 1, 2, 2, 3]))
    assert evidence.mix.model_dump() == {"approve": 2, "cosmetic": 1, "material": 1,
                                         "reject": 2, "critical": 0}
    assert evidence.risk_mix.model_dump() == {"low": 2, "medium": 2, "high": 2, "critical": 0}
    assert (evidence.n, evidence.ad_hoc) == (6, 1)
    # Hájek: weights 1,1,1,1,5,20; failures are the material edit, reject and label_wrong.
    assert evidence.failure_rate == pytest.approx(22 / 29)


def test_evaluate_sprt_and_cusum_equal_plain_loops_over_scored_outcomes() -> None:
    rng = np.random.default_rng(11)
    n = 3000
    fails = rng.random(n) < 0.06
    kinds = [K.REJECT if f else K.APPROVE for f in fails]
    pi = np.where(rng.random(n) < 0.05, math.nan, rng.choice([1.0, 0.2, 0.05], n))
    batch = batch_of(kinds, pi=pi, step=600.0)
    since = float(batch.at[499])
    evidence = _evaluate(batch, L1, since=since)
    bounds = SprtBoundaries.from_rates(0.03, 0.10, 0.05, 0.10)
    gamma = CFG.cusum_l2.gamma
    sprt = cusum = 0.0
    for failed, p in zip(fails[500:], pi[500:], strict=True):
        if math.isnan(p):
            continue
        sprt = min(bounds.upper, sprt + (bounds.failure_step if failed else bounds.success_step))
        sprt = 0.0 if sprt <= bounds.lower else sprt
        cusum = max(0.0, cusum + failed - gamma)
    assert evidence.sprt.sum == pytest.approx(sprt, abs=1e-9)
    assert evidence.cusum.value == pytest.approx(cusum, abs=1e-9)
    assert evidence.n == int((~np.isnan(pi[500:])).sum())


def test_shadow_and_top_levels_hold_with_their_reason() -> None:
    batch = batch_of(clean(80), step=2.4 * HOUR)
    shadow = _evaluate(batch, L0)
    assert shadow.recommendation == "hold" and shadow.rules == []
    assert "lead's choice" in shadow.reasons[-1]
    top = _evaluate(batch, L3)
    assert top.recommendation == "hold" and top.next_level is None and top.rules == []
    assert top.target == pytest.approx(0.99)


def test_any_critical_failure_demotes_an_autonomous_unit_to_l1() -> None:
    batch = batch_of(with_failures(50, [30], K.CRITICAL_EDIT))
    for level in (L2, L3):
        found = demotion_trigger(batch, level=level, config=CFG, since=0.0)
        assert found is not None
        assert (found.rule, found.to_level, found.index) == ("critical", L1, 30)
        assert found.at == pytest.approx(float(batch.at[30]))
    evidence = _evaluate(batch, L2)
    assert evidence.recommendation == "demote"
    assert evidence.reasons[0].startswith("Demote to L1: a critical failure (critical_edit)")


def test_an_ad_hoc_harm_label_still_demotes() -> None:
    batch = batch_of(with_failures(10, [4], K.LABEL_HARM), pi=[1.0] * 4 + [math.nan] + [1.0] * 5)
    found = demotion_trigger(batch, level=L3, config=CFG, since=None)
    assert found is not None and (found.rule, found.to_level) == ("critical", L1)


def test_nothing_is_demoted_below_the_autonomous_levels() -> None:
    batch = batch_of(with_failures(30, [1, 2, 3], K.CRITICAL_EDIT))
    for level in (L0, L1):
        assert demotion_trigger(batch, level=level, config=CFG, since=None) is None


def test_a_cusum_alarm_moves_down_one_level() -> None:
    # A failure every 10 items never makes 3 in 20, but the L3 CUSUM (γ ≈ 0.0217)
    # climbs 1 - 10γ per failure and crosses h = 3 at the fourth, item 30.
    batch = batch_of(with_failures(60, range(0, 60, 10)))
    found = demotion_trigger(batch, level=L3, config=CFG, since=None)
    assert found is not None
    assert (found.rule, found.from_level, found.to_level, found.index) == ("cusum", L3, L2, 30)
    assert "the CUSUM reached 3.33 (h = 3)" in found.evidence


def test_three_failures_in_the_last_twenty_move_down_one_level() -> None:
    found = demotion_trigger(batch_of(with_failures(40, [0, 8, 15])), level=L2, config=CFG,
                             since=None)
    assert found is not None and (found.rule, found.to_level, found.index) == ("window", L1, 15)
    assert found.evidence.startswith("3 of the last 16 reviewed outcomes failed")
    # Twenty apart is never three in twenty.
    assert demotion_trigger(batch_of(with_failures(80, [0, 20, 40, 60])), level=L2,
                            config=CFG, since=None) is None


def test_ad_hoc_failures_do_not_count_in_the_window() -> None:
    pi = [1.0] * 20
    pi[8] = pi[15] = math.nan
    batch = batch_of(with_failures(20, [0, 8, 15]), pi=pi)
    assert demotion_trigger(batch, level=L2, config=CFG, since=None) is None


def test_the_earliest_rule_wins_and_critical_wins_a_tie() -> None:
    window_first = batch_of(with_failures(40, [0, 8, 15, 25]))
    kinds = with_failures(40, [0, 8, 15, 25])
    kinds[25] = K.CRITICAL_EDIT
    found = demotion_trigger(batch_of(kinds), level=L3, config=CFG, since=None)
    assert found is not None and found.rule == "window" and found.index == 15
    kinds[15] = K.CRITICAL_EDIT
    found = demotion_trigger(batch_of(kinds), level=L3, config=CFG, since=None)
    assert found is not None and (found.rule, found.to_level) == ("critical", L1)
    assert demotion_trigger(window_first, level=L3, config=CFG, since=None) is not None


def test_demotion_looks_only_after_the_level_change() -> None:
    batch = batch_of(with_failures(40, [0, 8, 15, 30], K.CRITICAL_EDIT))
    found = demotion_trigger(batch, level=L2, config=CFG, since=float(batch.at[20]))
    assert found is not None and found.index == 30  # index into the whole batch
    assert demotion_trigger(batch, level=L2, config=CFG, since=float(batch.at[30])) is None


def test_a_new_version_starts_one_level_lower_but_not_below_l1() -> None:
    assert starting_level(L3, CFG) is L2
    assert starting_level(L2, CFG) is L1
    assert starting_level(L1, CFG) is L1
    assert starting_level(None, CFG) is L1
    shadow = AutonomyConfig(new_version="shadow")
    assert starting_level(L3, shadow) is L0 and starting_level(None, shadow) is L0
