"""The exact operating characteristics, checked on cases solvable by hand, and the
figures AUTONOMY.md quotes."""

from __future__ import annotations

import pytest

from countersign.autonomy.stats import SprtBoundaries, cusum_gamma
from countersign.autonomy.theory import cusum_arl, sprt_characteristic


def test_sprt_characteristic_of_a_fair_gamblers_ruin() -> None:
    # Steps of ±1 between -1 and +2 with a fair coin: reach +2 first with probability 1/3,
    # after 1 * 2 = 2 steps on average.
    walk = SprtBoundaries(success_step=1.0, failure_step=-1.0, lower=-1.0, upper=2.0)
    result = sprt_characteristic(0.5, walk)
    assert result.p_promote == pytest.approx(1 / 3, abs=1e-12)
    assert result.expected_items == pytest.approx(2.0, abs=1e-9)


def test_cusum_arl_of_two_failures_in_a_row() -> None:
    # γ = 0.5, h = 1: the alarm needs two consecutive failures, ARL = (1 + p) / p².
    for p in (0.5, 0.2):
        assert cusum_arl(p, 0.5, 1.0) == pytest.approx((1 + p) / p**2, rel=1e-10)


def test_the_l2_cusum_figures_quoted_in_autonomy_md() -> None:
    gamma = cusum_gamma(0.03, 0.08)
    # "false alarm about every 2,200 items, detects a shift to 8% in about 100"
    assert cusum_arl(0.03, gamma, 3.5) == pytest.approx(2200, rel=0.02)
    assert cusum_arl(0.08, gamma, 3.5) == pytest.approx(100, rel=0.03)


def test_wald_error_rates_hold_within_walds_bound() -> None:
    for p_good, p_bad in ((0.03, 0.10), (0.01, 0.05)):
        bounds = SprtBoundaries.from_rates(p_good, p_bad, 0.05, 0.10)
        at_bad = sprt_characteristic(p_bad, bounds).p_promote
        at_good = sprt_characteristic(p_good, bounds).p_promote
        # Wald's boundaries give α only approximately; the exact rate lies within
        # α / (1 - β) (AUTONOMY.md notes the 0.0505 this gives for L1->L2).
        assert at_bad <= 0.05 / (1 - 0.10)
        assert at_bad == pytest.approx(0.05, abs=0.001)
        assert at_good >= 1 - 0.10
