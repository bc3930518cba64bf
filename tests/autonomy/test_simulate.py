"""The simulation's properties (AUTONOMY.md, "How to know it is right"), with tolerances
from the theory: binomial for rates, the run length's own spread for ARLs."""

from __future__ import annotations

import math
from typing import Any

import pytest

from countersign.autonomy import simulate

UNITS = 300


@pytest.fixture(scope="module")
def figures() -> dict[str, Any]:
    return simulate(units=UNITS, seed=5)


def _binomial_slack(p: float) -> float:
    return 3 * math.sqrt(p * (1 - p) / UNITS)


@pytest.mark.parametrize("step", ["L1->L2", "L2->L3"])
def test_a_unit_at_p_bad_is_promoted_at_most_alpha_of_the_time(
        figures: dict[str, Any], step: str) -> None:
    test = figures["promotion"][step]
    assert test["at_p_bad"]["promotion_rate"] <= test["alpha"]


def test_a_unit_at_p_good_is_promoted_with_probability_one_minus_beta(
        figures: dict[str, Any]) -> None:
    test = figures["promotion"]["L1->L2"]
    good = test["at_p_good"]
    assert good["promotion_rate"] >= 1 - test["beta"] - _binomial_slack(test["beta"])
    # Promotion needs 60 reviewed items and 7 days (24 reviewed a day here) at least.
    assert good["mean_items_to_promotion"] >= 7 * 24


@pytest.mark.parametrize("step", ["L1->L2", "L2->L3"])
def test_the_sprt_inside_the_engine_rejects_as_walds_test_does(
        figures: dict[str, Any], step: str) -> None:
    good = figures["promotion"][step]["at_p_good"]
    exact = 1 - good["sprt_alone_promotion_probability"]
    assert good["rejected_rate"] == pytest.approx(exact, abs=_binomial_slack(exact))
    assert good["rejected_rate"] <= figures["promotion"][step]["beta"] + _binomial_slack(0.1)


@pytest.mark.parametrize("level", ["L2", "L3"])
def test_cusum_run_lengths_match_their_exact_values(figures: dict[str, Any], level: str
                                                    ) -> None:
    cusum = figures["cusum"][level]
    # Run lengths spread about as widely as their mean, so 4 standard errors is
    # 4 · ARL / sqrt(units).
    for simulated, exact in (("arl_in_control", "arl_in_control_exact"),
                             ("arl_after_shift", "arl_after_shift_exact")):
        assert cusum[simulated] == pytest.approx(
            cusum[exact], abs=4 * cusum[exact] / math.sqrt(UNITS))
    assert cusum["any_demotion_run_length_in_control"] < cusum["arl_in_control_exact"]


def test_hajek_is_unbiased_under_risk_tier_sampling_and_the_naive_rate_is_not(
        figures: dict[str, Any]) -> None:
    hajek = figures["hajek"]
    assert abs(hajek["bias"]) <= 4 * hajek["bias_standard_error"]
    assert hajek["unweighted_bias"] > 0.04  # over-sampled risky actions fail more


def test_no_promotion_inside_a_cool_down(figures: dict[str, Any]) -> None:
    cooldown = figures["cooldown"]
    assert cooldown["demotions"] > 50
    assert cooldown["promotions_inside_cooldown"] == 0
    assert cooldown["promotions_held_by_cooldown"] > 0


def test_the_same_seed_gives_the_same_figures() -> None:
    assert simulate(units=20, seed=9) == simulate(units=20, seed=9)
    assert simulate(units=20, seed=9) != simulate(units=20, seed=10)
    with pytest.raises(ValueError, match="units must be at least 1"):
        simulate(units=0)
