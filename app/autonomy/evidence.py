"""Cumulative evidence after every outcome of a level's segment, and the promotion rules
checked on it.

One implementation serves three readers: `evaluate` reads the last element, `series`
draws the arrays, and `simulate` finds the first outcome at which a unit would be
recommended for promotion. They cannot disagree because they share this code.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..domain import AutonomyLevel
from .config import AutonomyConfig, CusumRule, PromotionRule
from .outcomes import BoolArray, FloatArray, IntArray, OutcomeBatch
from .stats import SprtBoundaries, cusum_path, sprt_final, sprt_run, wilson_band

DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class EvidencePath:
    """Element i is the evidence once outcome i (of the segment) is known. Quantities
    that only scored outcomes (known pi) move are carried across ad-hoc ones."""

    at: FloatArray
    seen: IntArray            # outcomes so far, ad hoc included
    n: IntArray               # scored outcomes so far
    n_eff: FloatArray
    failure_rate: FloatArray  # Hájek; 0 while n == 0
    wilson_lower: FloatArray  # on accuracy; [0, 1] while n == 0
    wilson_upper: FloatArray
    sprt: FloatArray
    sprt_resets: IntArray     # lower-boundary restarts so far
    cusum: FloatArray
    cusum_peak: FloatArray
    reviewers: IntArray       # distinct reviewers of scored outcomes so far
    last_critical: IntArray   # index of the latest critical outcome, -1 if none
    window_failures: IntArray  # failures among the last `window.last` scored outcomes
    bounds: SprtBoundaries
    cusum_rule: CusumRule

    def __len__(self) -> int:
        return int(self.at.shape[0])

    def last(self) -> EvidencePath:
        """The final state as a one-element path (the empty state for no outcomes)."""
        if len(self):
            return replace(self, **{name: getattr(self, name)[-1:] for name in _ARRAYS})
        return _one(self.bounds, self.cusum_rule, at=0.0, seen=0, n=0, n_eff=0.0, rate=0.0,
                    wilson=(0.0, 1.0), sprt=0.0, resets=0, cusum=0.0, peak=0.0,
                    reviewers=0, last_critical=-1, window=0)


_ARRAYS = ("at", "seen", "n", "n_eff", "failure_rate", "wilson_lower", "wilson_upper", "sprt",
           "sprt_resets", "cusum", "cusum_peak", "reviewers", "last_critical",
           "window_failures")


def build_path(segment: OutcomeBatch, *, level: AutonomyLevel, config: AutonomyConfig
               ) -> EvidencePath:
    """The evidence path of ``segment`` (the outcomes since the level began) under the
    tests that apply at ``level``."""
    rule = config.promotion_from(level)
    bounds = SprtBoundaries.from_rates(rule.p_good, rule.p_bad, rule.alpha, rule.beta)
    watch = config.cusum_at(level)
    count = len(segment)
    scored = segment.scored
    y_s = segment.y[scored].astype(np.float64)
    w_s = 1.0 / segment.pi[scored]
    k = np.cumsum(scored)  # scored outcomes up to and including i

    sum_w, sum_w2, sum_wy = np.cumsum(w_s), np.cumsum(w_s * w_s), np.cumsum(w_s * y_s)
    n_eff_s = sum_w * sum_w / np.where(sum_w2 > 0, sum_w2, 1.0)
    rate_s = sum_wy / np.where(sum_w > 0, sum_w, 1.0)
    sprt = sprt_run(y_s, bounds)
    resets_s = np.zeros(y_s.shape[0], dtype=np.int64)
    if sprt.resets.size:
        np.add.at(resets_s, sprt.resets, 1)
    cusum_s = cusum_path(y_s, watch.gamma)
    fails_s = np.concatenate(([0], np.cumsum(y_s.astype(np.int64))))
    last = config.window.last
    window_s = fails_s[1:] - fails_s[np.maximum(np.arange(1, y_s.shape[0] + 1) - last, 0)]

    codes = segment.reviewer[scored]
    first_seen = np.zeros(codes.shape[0], dtype=np.int64)
    named = np.flatnonzero(codes >= 0)
    if named.size:
        _, first = np.unique(codes[named], return_index=True)
        first_seen[named[first]] = 1

    n_eff = _carry(n_eff_s, k, 0.0)
    rate = _carry(rate_s, k, 0.0)
    lower, upper = wilson_band(1.0 - rate, n_eff, config.z)
    index = np.arange(count)
    cusum = _carry(cusum_s, k, 0.0)
    return EvidencePath(
        at=segment.at, seen=index + 1, n=k.astype(np.int64), n_eff=n_eff,
        failure_rate=rate, wilson_lower=lower, wilson_upper=upper,
        sprt=_carry(sprt.path, k, 0.0),
        sprt_resets=_carry(np.cumsum(resets_s), k, 0).astype(np.int64),
        cusum=cusum, cusum_peak=np.maximum.accumulate(cusum) if count else cusum,
        reviewers=_carry(np.cumsum(first_seen), k, 0).astype(np.int64),
        last_critical=np.maximum.accumulate(np.where(segment.critical, index, -1))
        if count else np.zeros(0, dtype=np.int64),
        window_failures=_carry(window_s, k, 0).astype(np.int64),
        bounds=bounds, cusum_rule=watch)


def final_state(segment: OutcomeBatch, *, level: AutonomyLevel, config: AutonomyConfig
                ) -> EvidencePath:
    """``build_path(...).last()`` computed directly: sums instead of running sums, the
    SPRT's loop without its path. What `evaluate` runs for every unit; a test holds it
    equal to the path's last element."""
    rule = config.promotion_from(level)
    bounds = SprtBoundaries.from_rates(rule.p_good, rule.p_bad, rule.alpha, rule.beta)
    watch = config.cusum_at(level)
    count = len(segment)
    if count == 0:
        return build_path(segment, level=level, config=config).last()
    scored = segment.scored
    every = bool(scored.all())
    y_s = segment.y if every else segment.y[scored]
    n = int(y_s.shape[0])
    n_eff = rate = cusum = peak = 0.0
    if n:
        w = 1.0 / (segment.pi if every else segment.pi[scored])
        total = float(w.sum())
        n_eff, rate = total * total / float(np.dot(w, w)), float(np.dot(w, y_s)) / total
        path = cusum_path(y_s, watch.gamma)
        cusum, peak = float(path[-1]), float(path.max())
    lower, upper = wilson_band(1.0 - rate, n_eff, config.z)
    sprt, resets = sprt_final(y_s, bounds)
    codes = segment.reviewer if every else segment.reviewer[scored]
    critical = np.flatnonzero(segment.critical)
    return _one(bounds, watch, at=float(segment.at[-1]), seen=count, n=n, n_eff=n_eff,
                rate=rate, wilson=(float(lower), float(upper)), sprt=sprt, resets=resets,
                cusum=cusum, peak=peak, reviewers=int(np.unique(codes[codes >= 0]).size),
                last_critical=int(critical[-1]) if critical.size else -1,
                window=int(y_s[-config.window.last:].sum(dtype=np.int64)) if n else 0)


def _one(bounds: SprtBoundaries, watch: CusumRule, *, at: float, seen: int, n: int,
         n_eff: float, rate: float, wilson: tuple[float, float], sprt: float, resets: int,
         cusum: float, peak: float, reviewers: int, last_critical: int, window: int
         ) -> EvidencePath:
    def f(value: float) -> FloatArray:
        return np.full(1, value, dtype=np.float64)

    def i(value: int) -> IntArray:
        return np.full(1, value, dtype=np.int64)

    return EvidencePath(at=f(at), seen=i(seen), n=i(n), n_eff=f(n_eff), failure_rate=f(rate),
                        wilson_lower=f(wilson[0]), wilson_upper=f(wilson[1]), sprt=f(sprt),
                        sprt_resets=i(resets), cusum=f(cusum), cusum_peak=f(peak),
                        reviewers=i(reviewers), last_critical=i(last_critical),
                        window_failures=i(window), bounds=bounds, cusum_rule=watch)


def _carry(values: NDArray[Any], k: NDArray[Any], empty: float) -> FloatArray:
    """Spread values defined per scored outcome over all outcomes: element i takes the
    value of the latest scored outcome at or before i (``empty`` before the first)."""
    if values.shape[0] == 0:
        return np.full(k.shape[0], empty, dtype=np.float64)
    if values.shape[0] == k.shape[0]:  # every outcome scored: nothing to spread
        return np.asarray(values, dtype=np.float64)
    out = np.asarray(values, dtype=np.float64)[np.maximum(k - 1, 0)]
    return np.where(k > 0, out, empty)


def promotion_checks(path: EvidencePath, *, rule: PromotionRule, next_level: AutonomyLevel,
                     now: FloatArray | float, level_since: float, agreement: float | None,
                     last_demotion_at: float | None, cooldown_days: float
                     ) -> dict[str, BoolArray]:
    """Each promotion rule's verdict at every element of ``path`` (evaluated at time
    ``now``: the element's own time for a path, the wall clock for a snapshot)."""
    shape = path.at.shape
    checks: dict[str, BoolArray] = {
        "sprt": path.sprt >= path.bounds.upper,
        "reviewed": path.n >= rule.min_reviewed,
        "n_eff": path.n_eff >= rule.min_n_eff - 1e-9,
        "wilson": (path.n > 0) & (path.wilson_lower >= rule.wilson_min - 1e-12),
        "days_at_level": np.broadcast_to(
            np.asarray(now) - level_since >= rule.min_days_at_level * DAY, shape),
        "reviewers": path.reviewers >= rule.min_reviewers,
        "no_critical": (path.last_critical < 0)
        | (path.seen - 1 - path.last_critical >= rule.no_critical_in_last),
        "agreement": np.full(shape, agreement is None or agreement >= rule.min_agreement),
    }
    if next_level is AutonomyLevel.L3:
        checks["no_cusum_alarm"] = path.cusum_peak < path.cusum_rule.h
    checks["cooldown"] = np.broadcast_to(
        np.full(shape, True) if last_demotion_at is None
        else np.asarray(now) - last_demotion_at >= cooldown_days * DAY, shape)
    return checks
