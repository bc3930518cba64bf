"""The statistics of AUTONOMY.md as pure, vectorised functions.

Every function answers "no evidence" explicitly (None, or the honest [0, 1] band) rather
than dividing by zero: a chart must never receive a NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


# --- Hájek estimate and Kish's effective sample size -------------------------------------

@dataclass(frozen=True, slots=True)
class RateEstimate:
    """The Hájek failure rate of reviewed outcomes weighted by 1/pi, with Kish's n_eff.
    ``failures`` and ``successes`` are effective counts (n_eff split by the rate): what
    an interval or a posterior may treat as that many independent trials."""

    n: int
    n_eff: float
    failure_rate: float

    @property
    def failures(self) -> float:
        return self.n_eff * self.failure_rate

    @property
    def successes(self) -> float:
        return self.n_eff * (1.0 - self.failure_rate)


def kish_n_eff(weights: ArrayLike) -> float:
    """(Σw)² / Σw²; 0 for no weights."""
    w = np.asarray(weights, dtype=np.float64)
    if w.size == 0:
        return 0.0
    return float(w.sum() ** 2 / np.dot(w, w))


def hajek(y: ArrayLike, pi: ArrayLike) -> RateEstimate | None:
    """Σ(y/pi) / Σ(1/pi) over outcomes with a known pi (NaN pi are skipped); None when
    there is none."""
    y_arr = np.asarray(y, dtype=np.float64)
    pi_arr = np.asarray(pi, dtype=np.float64)
    known = ~np.isnan(pi_arr)
    if not known.all():
        y_arr, pi_arr = y_arr[known], pi_arr[known]
    if y_arr.size == 0:
        return None
    w = 1.0 / pi_arr
    total = float(w.sum())
    return RateEstimate(n=int(y_arr.size), n_eff=total * total / float(np.dot(w, w)),
                        failure_rate=float(np.dot(w, y_arr)) / total)


# --- Wilson score bounds -------------------------------------------------------------------

def wilson_band(success_rate: ArrayLike, n: ArrayLike, z: float) -> tuple[FloatArray, FloatArray]:
    """One-sided Wilson lower and upper bounds on a success rate, element-wise, with n
    the (effective) sample size. Where n <= 0 the band is [0, 1]: nothing is known."""
    p = np.asarray(success_rate, dtype=np.float64)
    size = np.asarray(n, dtype=np.float64)
    has = size > 0
    safe_n = np.where(has, size, 1.0)
    z2 = z * z
    centre = p + z2 / (2 * safe_n)
    spread = z * np.sqrt(np.clip(p * (1 - p), 0.0, None) / safe_n + z2 / (4 * safe_n * safe_n))
    denom = 1 + z2 / safe_n
    # The interval always contains p; min/max only remove rounding at p = 0 or 1.
    lower = np.where(has, np.clip(np.minimum((centre - spread) / denom, p), 0.0, 1.0), 0.0)
    upper = np.where(has, np.clip(np.maximum((centre + spread) / denom, p), 0.0, 1.0), 1.0)
    return lower, upper


def wilson_lower(success_rate: float, n: float, z: float) -> float | None:
    """AUTONOMY.md's one-sided Wilson lower bound; None without evidence (n <= 0)."""
    if n <= 0:
        return None
    return float(wilson_band(success_rate, n, z)[0])


# --- Jeffreys posterior --------------------------------------------------------------------

def regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b), the Beta(a, b) CDF at x, by the continued fraction of Numerical Recipes
    (modified Lentz), using the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) where that
    converges faster. Accurate to ~1e-14 for the counts the engine meets."""
    if not (a > 0 and b > 0):
        raise ValueError(f"regularized_beta needs a > 0 and b > 0, got a={a}, b={b}")
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(x, a, b) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(1.0 - x, b, a) / b


def _beta_fraction(x: float, a: float, b: float) -> float:
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    # Converges in O(sqrt(max(a, b))) steps; the cap is far above what counts need.
    for m in range(1, 1_000_000):
        m2 = 2 * m
        for numerator in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                          -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            delta = d * c
            h *= delta
        if abs(delta - 1.0) < eps:
            return h
    raise ArithmeticError(f"regularized_beta did not converge for x={x}, a={a}, b={b}")


def p_accuracy_above(target: float, failures: float, successes: float) -> float | None:
    """P(accuracy > target) under the Jeffreys posterior: accuracy ~ Beta(s + ½, f + ½),
    i.e. P(failure rate < 1 - target) with failure rate ~ Beta(f + ½, s + ½). The
    counts may be effective (weighted) counts. None without evidence."""
    if failures + successes <= 0:
        return None
    return regularized_beta(1.0 - target, failures + 0.5, successes + 0.5)


# --- Wald's SPRT, with reset at the lower boundary ------------------------------------------

@dataclass(frozen=True, slots=True)
class SprtBoundaries:
    """Per-item log-likelihood-ratio steps of H1 (rate p_good) against H0 (p_bad), and
    Wald's boundaries ln((1-β)/α) and ln(β/(1-α))."""

    success_step: float
    failure_step: float
    lower: float
    upper: float

    @classmethod
    def from_rates(cls, p_good: float, p_bad: float, alpha: float, beta: float
                   ) -> SprtBoundaries:
        return cls(success_step=math.log((1 - p_good) / (1 - p_bad)),
                   failure_step=math.log(p_good / p_bad),
                   lower=math.log(beta / (1 - alpha)),
                   upper=math.log((1 - beta) / alpha))

    @property
    def successes_per_failure(self) -> float:
        """How many successes one failure cancels."""
        return -self.failure_step / self.success_step


@dataclass(frozen=True, slots=True)
class SprtRun:
    """The SPRT sum after each item, the positions where it fell to the lower boundary
    and restarted from 0, and the final sum (0 for no items)."""

    path: FloatArray
    resets: IntArray
    final: float


def sprt_run(y: ArrayLike, bounds: SprtBoundaries) -> SprtRun:
    """Run the SPRT over failures ``y`` (1 = failure) in order.

    Reaching the lower boundary ends that test ("not good enough") and a new one starts
    from 0. Reaching the upper boundary accepts H1; the sum then stays at the boundary
    until a failure pulls it below, so a recommendation is withdrawn by fresh failures
    instead of resting on an old surplus. Only failures move the sum down, so the loop
    runs once per failure and the path in between is filled in vectorised.
    """
    fails = np.asarray(y).astype(np.bool_, copy=False)
    n = fails.shape[0]
    if n == 0:
        return SprtRun(np.zeros(0), np.zeros(0, dtype=np.int64), 0.0)
    at_fail, after, reset = _after_failures(fails, bounds)
    index = np.arange(n)
    seen = np.cumsum(fails)
    last_fail = np.maximum.accumulate(np.where(fails, index, -1))
    base = after[np.maximum(seen - 1, 0)] if at_fail.size else np.zeros(n)
    base = np.where(seen > 0, base, 0.0)
    path = np.minimum(bounds.upper, base + (index - last_fail) * bounds.success_step)
    return SprtRun(path, at_fail[reset].astype(np.int64), float(path[-1]))


def sprt_final(y: ArrayLike, bounds: SprtBoundaries) -> tuple[float, int]:
    """The last value of `sprt_run` and how many restarts it made, without the path."""
    fails = np.asarray(y).astype(np.bool_, copy=False)
    n = fails.shape[0]
    if n == 0:
        return 0.0, 0
    at_fail, after, reset = _after_failures(fails, bounds)
    if at_fail.size == 0:
        return min(bounds.upper, n * bounds.success_step), 0
    trailing = n - 1 - int(at_fail[-1])
    return (min(bounds.upper, float(after[-1]) + trailing * bounds.success_step),
            int(reset.sum()))


def _after_failures(fails: NDArray[np.bool_], bounds: SprtBoundaries
                    ) -> tuple[IntArray, FloatArray, NDArray[np.bool_]]:
    """Positions of the failures, the sum right after each, and whether it restarted
    there. Only failures move the sum down, so this is the only loop."""
    at_fail = np.flatnonzero(fails)
    gaps = np.diff(at_fail, prepend=-1) - 1
    after = np.empty(at_fail.shape[0])
    reset = np.zeros(at_fail.shape[0], dtype=np.bool_)
    up, lo = bounds.upper, bounds.lower
    step_s, step_f = bounds.success_step, bounds.failure_step
    x = 0.0
    for i, gap in enumerate(gaps.tolist()):
        x = min(up, x + gap * step_s) + step_f
        if x <= lo:
            x = 0.0
            reset[i] = True
        after[i] = x
    return at_fail, after, reset


def items_to_decision(total: float, bounds: SprtBoundaries) -> int:
    """About how many clean items take the sum from ``total`` to the upper boundary."""
    if total >= bounds.upper:
        return 0
    return max(1, math.ceil((bounds.upper - total) / bounds.success_step - 1e-9))


# --- Bernoulli CUSUM -------------------------------------------------------------------------

def cusum_gamma(p0: float, p1: float) -> float:
    """γ = ln((1-p0)/(1-p1)) / ln(p1(1-p0) / (p0(1-p1)))."""
    return math.log((1 - p0) / (1 - p1)) / math.log(p1 * (1 - p0) / (p0 * (1 - p1)))


def cusum_path(y: ArrayLike, gamma: float, start: float = 0.0) -> FloatArray:
    """B_t = max(0, B_{t-1} + y_t - γ) from B_0 = ``start``, for every t, by Lindley's
    closed form B_t = S_t - min(-start, min_k S_k) with S the running sum of y - γ."""
    steps = np.asarray(y, dtype=np.float64) - gamma
    if steps.size == 0:
        return np.zeros(0)
    total = np.cumsum(steps)
    floor = np.minimum(np.minimum.accumulate(total), -start)
    return total - floor
