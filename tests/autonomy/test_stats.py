"""Each statistic against values worked out by hand, and AUTONOMY.md's own claims."""

from __future__ import annotations

import math

import numpy as np
import pytest

from countersign.autonomy.stats import (
    SprtBoundaries,
    cusum_gamma,
    cusum_path,
    hajek,
    items_to_decision,
    kish_n_eff,
    p_accuracy_above,
    regularized_beta,
    sprt_run,
    wilson_band,
    wilson_lower,
)

L1_L2 = SprtBoundaries.from_rates(0.03, 0.10, 0.05, 0.10)
L2_L3 = SprtBoundaries.from_rates(0.01, 0.05, 0.05, 0.10)


def test_hajek_weights_each_outcome_by_its_inverse_inclusion_probability() -> None:
    # w = 1, 2, 5, 5: failures carry 1 + 5 of the 13 total weight.
    estimate = hajek([1, 0, 0, 1], [1.0, 0.5, 0.2, 0.2])
    assert estimate is not None
    assert estimate.failure_rate == pytest.approx(6 / 13)
    assert estimate.n == 4
    assert estimate.n_eff == pytest.approx(13**2 / (1 + 4 + 25 + 25))
    assert estimate.failures + estimate.successes == pytest.approx(estimate.n_eff)


def test_hajek_skips_ad_hoc_outcomes_and_knows_when_there_is_nothing() -> None:
    estimate = hajek([1, 0, 1], [math.nan, 1.0, math.nan])
    assert estimate is not None
    assert (estimate.n, estimate.failure_rate) == (1, 0.0)
    assert hajek([1], [math.nan]) is None
    assert hajek([], []) is None
    assert kish_n_eff([]) == 0.0
    assert kish_n_eff([2.0, 2.0, 2.0]) == pytest.approx(3.0)


def test_wilson_lower_bound_matches_the_formula_worked_by_hand() -> None:
    # p = 0.95, n = 100, z = 1.645: (0.96353 - 0.03832) / 1.02706
    assert wilson_lower(0.95, 100, 1.645) == pytest.approx(0.900833, abs=1e-6)
    # 60 clean items: the L1->L2 bound of 0.95 is met.
    assert wilson_lower(1.0, 60, 1.645) == pytest.approx(0.956846, abs=1e-6)
    assert wilson_lower(0.9, 0, 1.645) is None


def test_wilson_band_is_zero_to_one_without_evidence_and_never_nan() -> None:
    lower, upper = wilson_band(np.array([0.0, 1.0, 0.5]), np.array([0.0, 10.0, 40.0]), 1.645)
    assert (lower[0], upper[0]) == (0.0, 1.0)
    assert not np.isnan(lower).any() and not np.isnan(upper).any()
    assert lower[1] < 1.0 == upper[1]
    assert lower[2] < 0.5 < upper[2]


@pytest.mark.parametrize("x", [0.01, 0.2, 0.5, 0.77, 0.99])
def test_regularized_beta_matches_closed_forms(x: float) -> None:
    assert regularized_beta(x, 1, 1) == pytest.approx(x, abs=1e-13)
    assert regularized_beta(x, 3.5, 1) == pytest.approx(x**3.5, abs=1e-13)
    assert regularized_beta(x, 1, 2.5) == pytest.approx(1 - (1 - x) ** 2.5, abs=1e-13)
    arcsin = math.asin(math.sqrt(x))
    assert regularized_beta(x, 0.5, 0.5) == pytest.approx(2 / math.pi * arcsin, abs=1e-13)
    assert regularized_beta(x, 0.5, 1.5) == pytest.approx(
        2 / math.pi * (arcsin + math.sqrt(x * (1 - x))), abs=1e-13)
    assert regularized_beta(x, 2.5, 7) == pytest.approx(1 - regularized_beta(1 - x, 7, 2.5),
                                                        abs=1e-13)


@pytest.mark.parametrize(("x", "a", "b"), [(0.3, 2, 3), (0.03, 3, 98), (0.5, 40, 41)])
def test_regularized_beta_of_integers_is_a_binomial_tail(x: float, a: int, b: int) -> None:
    n = a + b - 1
    tail = sum(math.comb(n, j) * x**j * (1 - x) ** (n - j) for j in range(a, n + 1))
    assert regularized_beta(x, a, b) == pytest.approx(tail, abs=1e-13)


def _beta_cdf_by_quadrature(x: float, a: float, b: float, lo: float = 0.0) -> float:
    nodes, weights = np.polynomial.legendre.leggauss(400)
    t = lo + (x - lo) * (nodes + 1) / 2
    log_density = ((a - 1) * np.log(t) + (b - 1) * np.log1p(-t)
                   - (math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)))
    return float((x - lo) / 2 * np.dot(weights, np.exp(log_density)))


def test_jeffreys_probability_matches_the_beta_cdf_by_quadrature() -> None:
    # 2 failures in 100: accuracy ~ Beta(98.5, 2.5); P(accuracy > 0.97) = I_0.03(2.5, 98.5).
    expected = _beta_cdf_by_quadrature(0.03, 2.5, 98.5)
    assert p_accuracy_above(0.97, failures=2, successes=98) == pytest.approx(expected, abs=1e-10)
    assert 0.5 < expected < 0.7
    # Effective counts need not be whole, and large counts must still converge.
    big = _beta_cdf_by_quadrature(0.05, 500.5, 9500.5, lo=0.02)
    assert p_accuracy_above(0.95, failures=500, successes=9500) == pytest.approx(big, abs=1e-9)
    assert p_accuracy_above(0.97, failures=12.3, successes=87.7) == pytest.approx(
        _beta_cdf_by_quadrature(0.03, 12.8, 88.2), abs=1e-10)


def test_jeffreys_without_evidence_is_none() -> None:
    assert p_accuracy_above(0.97, failures=0, successes=0) is None


def test_sprt_steps_and_boundaries_follow_wald() -> None:
    assert L1_L2.success_step == pytest.approx(math.log(0.97 / 0.90))
    assert L1_L2.failure_step == pytest.approx(math.log(0.3))
    assert L1_L2.upper == pytest.approx(math.log(18))
    assert L1_L2.lower == pytest.approx(math.log(0.1 / 0.95))


def test_a_clean_run_of_39_promotes_from_l1_and_38_does_not() -> None:
    path = sprt_run(np.zeros(39), L1_L2).path
    assert path[37] < L1_L2.upper <= path[38]
    assert items_to_decision(0.0, L1_L2) == 39


def test_each_failure_cancels_about_16_successes() -> None:
    assert L1_L2.successes_per_failure == pytest.approx(16.07, abs=0.01)
    # Ten clean items, then a failure: 29 to go before, about 16 more after.
    run = sprt_run([0] * 10 + [1], L1_L2)
    assert items_to_decision(run.final, L1_L2) == 29 + 16


def test_a_clean_run_of_71_promotes_from_l2() -> None:
    path = sprt_run(np.zeros(71), L2_L3).path
    assert path[69] < L2_L3.upper <= path[70]
    assert items_to_decision(0.0, L2_L3) == 71
    assert L2_L3.successes_per_failure == pytest.approx(39.0, abs=0.1)


def test_sprt_restarts_from_zero_when_it_reaches_the_lower_boundary() -> None:
    run = sprt_run([1, 1, 0], L1_L2)
    assert run.path[0] == pytest.approx(L1_L2.failure_step)
    assert run.path[1] == 0.0  # -2.41 <= -2.25: the test ended, a new one starts
    assert run.path[2] == pytest.approx(L1_L2.success_step)
    assert run.resets.tolist() == [1]


def test_sprt_holds_at_the_upper_boundary_so_fresh_failures_withdraw_promotion() -> None:
    run = sprt_run([0] * 100 + [1], L1_L2)
    assert run.path[99] == L1_L2.upper
    assert run.final == pytest.approx(L1_L2.upper + L1_L2.failure_step)
    assert items_to_decision(run.final, L1_L2) == 17


def test_sprt_path_equals_a_plain_loop_over_random_outcomes() -> None:
    rng = np.random.default_rng(7)
    y = rng.random(5000) < 0.08
    expected, x = [], 0.0
    for failed in y:
        x = min(L1_L2.upper, x + (L1_L2.failure_step if failed else L1_L2.success_step))
        if x <= L1_L2.lower:
            x = 0.0
        expected.append(x)
    run = sprt_run(y, L1_L2)
    np.testing.assert_allclose(run.path, expected, atol=1e-9)
    assert run.resets.size > 10


def test_sprt_without_evidence() -> None:
    run = sprt_run([], L1_L2)
    assert (run.final, run.path.size, run.resets.size) == (0.0, 0, 0)


def test_cusum_gamma_and_path() -> None:
    gamma = cusum_gamma(0.03, 0.08)
    assert gamma == pytest.approx(0.0511945, abs=1e-7)
    np.testing.assert_allclose(cusum_path([1, 0, 0, 1, 1], gamma),
                               [0.948806, 0.897611, 0.846417, 1.795222, 2.744028], atol=1e-6)
    # It never goes below zero: successes from zero leave it at zero.
    np.testing.assert_allclose(cusum_path([0, 0, 1], gamma), [0, 0, 1 - gamma])
    assert cusum_path([], gamma).size == 0


def test_cusum_path_equals_page_recursion_and_continues_from_a_start() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(20_000) < 0.05).astype(int)
    gamma = cusum_gamma(0.01, 0.04)
    expected, b = [], 0.0
    for v in y:
        b = max(0.0, b + v - gamma)
        expected.append(b)
    path = cusum_path(y, gamma)
    np.testing.assert_allclose(path, expected, atol=1e-8)
    head = cusum_path(y[:7000], gamma)
    tail = cusum_path(y[7000:], gamma, start=float(head[-1]))
    np.testing.assert_allclose(np.concatenate([head, tail]), expected, atol=1e-8)
