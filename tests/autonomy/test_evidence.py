"""The snapshot `evaluate` reads (final_state) and the path the charts and the
simulation walk (build_path) are two computations of one thing: they must agree."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from countersign.autonomy import AutonomyConfig, OutcomeBatch, OutcomeKind
from countersign.autonomy.evidence import _ARRAYS, build_path, final_state
from countersign.domain import AutonomyLevel

CFG = AutonomyConfig()


def _random_batch(seed: int, n: int, rate: float, ad_hoc: float) -> OutcomeBatch:
    rng = np.random.default_rng(seed)
    failures = [k for k in OutcomeKind if k.failure]  # includes the critical kinds
    successes = [k for k in OutcomeKind if not k.failure and k is not OutcomeKind.RESPOND]
    kinds = np.where(rng.random(n) < rate, rng.choice(failures, n), rng.choice(successes, n))
    y = np.array([OutcomeKind(int(k)).failure for k in kinds], dtype=np.int8)
    critical = np.array([OutcomeKind(int(k)).critical for k in kinds])
    pi = rng.choice([1.0, 0.2, 0.05], n)
    pi[rng.random(n) < ad_hoc] = math.nan
    return OutcomeBatch.from_arrays(
        at=np.sort(rng.uniform(0, 1e6, n)), y=y, critical=critical, pi=pi, kind=kinds,
        reviewer=rng.integers(-1, 4, n), risk=rng.integers(0, 4, n),
        reviewers=("a", "b", "c", "d"))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 400),
       rate=st.sampled_from([0.0, 0.02, 0.1, 0.4, 1.0]),
       ad_hoc=st.sampled_from([0.0, 0.1, 1.0]),
       level=st.sampled_from(list(AutonomyLevel)))
def test_final_state_is_the_last_element_of_the_path(seed: int, n: int, rate: float,
                                                     ad_hoc: float, level: AutonomyLevel
                                                     ) -> None:
    batch = _random_batch(seed, n, rate, ad_hoc)
    direct = final_state(batch, level=level, config=CFG)
    walked = build_path(batch, level=level, config=CFG).last()
    for name in _ARRAYS:
        if name == "at" and n == 0:
            continue
        np.testing.assert_allclose(getattr(direct, name), getattr(walked, name),
                                   rtol=1e-9, atol=1e-9, err_msg=name)


def test_path_carries_scored_values_across_ad_hoc_outcomes() -> None:
    batch = _random_batch(1, 50, 0.1, 0.3)
    path = build_path(batch, level=AutonomyLevel.L1, config=CFG)
    ad_hoc = np.flatnonzero(~batch.scored)
    ad_hoc = ad_hoc[ad_hoc > 0]
    assert ad_hoc.size
    for name in ("n", "n_eff", "failure_rate", "sprt", "cusum"):
        values = getattr(path, name)
        assert values[ad_hoc] == pytest.approx(values[ad_hoc - 1]), name
