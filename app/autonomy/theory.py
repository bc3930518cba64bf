"""Exact operating characteristics of the tests, computed by dynamic programming instead
of simulated: what the simulation and the tests compare against, and where AUTONOMY.md's
figures ("a false alarm about every 2,200 items") come from."""

from __future__ import annotations

from dataclasses import dataclass

from .stats import SprtBoundaries

_NEGLIGIBLE = 1e-15
_MAX_STEPS = 5_000_000


@dataclass(frozen=True, slots=True)
class SprtCharacteristic:
    """For a unit whose true failure rate is p: the probability that Wald's test ends at
    the upper boundary (promotion) rather than the lower one, and its mean length."""

    p_promote: float
    expected_items: float


def sprt_characteristic(p: float, bounds: SprtBoundaries) -> SprtCharacteristic:
    """Exact first-decision probabilities of the SPRT for failure rate ``p``.

    After t items with f failures the sum is (t - f)·success_step + f·failure_step; the
    unresolved probability mass is carried over f, which spans only a few values per t.
    """
    alive: dict[int, float] = {0: 1.0}
    promote, expected, t = 0.0, 0.0, 0
    while alive and t < _MAX_STEPS:
        expected += sum(alive.values())
        t += 1
        nxt: dict[int, float] = {}
        for f, mass in alive.items():
            for failures, share in ((f, mass * (1 - p)), (f + 1, mass * p)):
                value = (t - failures) * bounds.success_step + failures * bounds.failure_step
                if value >= bounds.upper:
                    promote += share
                elif value > bounds.lower:
                    nxt[failures] = nxt.get(failures, 0.0) + share
        alive = {f: m for f, m in nxt.items() if m > _NEGLIGIBLE}
    return SprtCharacteristic(p_promote=promote, expected_items=expected)


def cusum_arl(p: float, gamma: float, h: float) -> float:
    """Average run length to B_t >= h of the Bernoulli CUSUM started at 0, for failure
    rate ``p``, without discretising γ (the run length is very sensitive to it).

    The CUSUM restarts from 0 in cycles; within a cycle that began t items ago with a
    failures the statistic is a - t·γ. A cycle ends at 0 or at the alarm, so
    ARL = E[cycle length] / P(cycle ends in an alarm) (renewal argument).
    """
    alive: dict[int, float] = {0: 1.0}
    alarm, cycle_length, t = 0.0, 0.0, 0
    while alive and t < _MAX_STEPS:
        cycle_length += sum(alive.values())
        t += 1
        nxt: dict[int, float] = {}
        for a, mass in alive.items():
            if a - t * gamma > 0:  # a success keeps the cycle going
                nxt[a] = nxt.get(a, 0.0) + mass * (1 - p)
            if a + 1 - t * gamma >= h:
                alarm += mass * p
            else:
                nxt[a + 1] = nxt.get(a + 1, 0.0) + mass * p
        alive = {a: m for a, m in nxt.items() if m > _NEGLIGIBLE}
    if alarm <= 0:
        return float("inf")
    return cycle_length / alarm
