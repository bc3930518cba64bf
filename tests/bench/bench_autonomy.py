"""The autonomy engine (issue 13): `evaluate` over 1,000,000 outcomes in 1,000 units
(`autonomy status`: ≤ 1 s), and `series` for one unit of 100,000 outcomes (the charts:
≤ 100 ms). The engine alone, no store: loading outcomes is the store's share.

Units are mixed as a fleet is: rates from 0.1 % to 12 %, a third at each of L1, L2 and
L3, half the outcomes sampled with pi 0.2 or 0.05, 1 % ad-hoc spot checks, a few
critical failures, and three reviewers.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from countersign.autonomy import AutonomyConfig, OutcomeBatch, OutcomeKind, evaluate, series
from countersign.domain import AutonomyLevel

UNITS, PER_UNIT, BIG_UNIT = 1_000, 1_000, 100_000
ROUNDS_STATUS, ROUNDS_SERIES = 7, 15
DAY = 86_400.0
LEVELS = (AutonomyLevel.L1, AutonomyLevel.L2, AutonomyLevel.L3)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _unit(rng: np.random.Generator, n: int, rate: float, days: float) -> OutcomeBatch:
    y = (rng.random(n) < rate).astype(np.int8)
    critical = (y == 1) & (rng.random(n) < 0.005)
    kind = np.where(critical, OutcomeKind.CRITICAL_EDIT,
                    np.where(y == 1, OutcomeKind.REJECT, OutcomeKind.APPROVE))
    pi = np.where(rng.random(n) < 0.5, 1.0, rng.choice([0.2, 0.05], n))
    pi[rng.random(n) < 0.01] = np.nan
    return OutcomeBatch.from_arrays(
        at=np.sort(rng.uniform(0, days * DAY, n)), y=y, critical=critical, pi=pi, kind=kind,
        reviewer=rng.integers(-1, 3, n), risk=rng.integers(0, 4, n),
        reviewers=("ann", "bo", "cy"))


def run() -> dict[str, float]:
    rng = np.random.default_rng(13)
    config = AutonomyConfig()
    fleet = [_unit(rng, PER_UNIT, rng.uniform(0.001, 0.12), 90) for _ in range(UNITS)]
    now = 91 * DAY

    def status() -> None:
        for i, batch in enumerate(fleet):
            evaluate(batch, level=LEVELS[i % 3], level_since=0.0, now=now, config=config,
                     agreement=None, last_demotion_at=None)

    status()  # warm-up
    status_ms = []
    for _ in range(ROUNDS_STATUS):
        started = time.perf_counter()
        status()
        status_ms.append((time.perf_counter() - started) * 1000)

    big = _unit(rng, BIG_UNIT, 0.03, 365)
    history = [(0.0, AutonomyLevel.L1), (120 * DAY, AutonomyLevel.L2),
               (250 * DAY, AutonomyLevel.L1)]
    series(big, level_history=history, config=config)
    series_ms = []
    for _ in range(ROUNDS_SERIES):
        started = time.perf_counter()
        out = series(big, level_history=history, config=config)
        series_ms.append((time.perf_counter() - started) * 1000)
    assert out.t.size > 0.98 * BIG_UNIT
    figures = {
        "status_1M_outcomes_1k_units_p50_ms": statistics.median(status_ms),
        "status_1M_outcomes_1k_units_p95_ms": _pct(status_ms, 95),
        "series_100k_outcomes_p50_ms": statistics.median(series_ms),
        "series_100k_outcomes_p95_ms": _pct(series_ms, 95),
    }
    for key, value in figures.items():
        print(f"{key}: {value:.1f}")
    return figures
