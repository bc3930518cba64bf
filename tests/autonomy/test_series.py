"""Chart data: one time axis, statistics that restart at level changes exactly as the
engine's, counts per bucket, and no NaN anywhere."""

from __future__ import annotations

import math

import numpy as np
import pytest

from countersign.autonomy import AutonomyConfig, OutcomeBatch, OutcomeKind, evaluate, series
from countersign.autonomy.stats import SprtBoundaries
from countersign.domain import AutonomyLevel

from .helpers import DAY, HOUR, batch_of, clean, with_failures

CFG = AutonomyConfig()
L1, L2, L3 = AutonomyLevel.L1, AutonomyLevel.L2, AutonomyLevel.L3
K = OutcomeKind


def test_no_evidence_gives_empty_arrays() -> None:
    out = series(OutcomeBatch.empty(), level_history=[(0.0, L1)], config=CFG)
    assert out.t.size == out.accuracy.size == out.sprt.size == 0
    assert out.counts.shape == (5, 0)


def test_statistics_restart_at_each_level_change_as_evaluate_sees_them() -> None:
    batch = batch_of(with_failures(120, [10, 70, 95]), step=HOUR)
    change = float(batch.at[59])
    out = series(batch, level_history=[(0.0, L1), (change, L2)], config=CFG)
    assert out.t.tolist() == batch.at.tolist()
    l2 = SprtBoundaries.from_rates(0.01, 0.05, 0.05, 0.10)
    assert out.sprt[60] == pytest.approx(l2.success_step)  # a fresh test at L2
    assert out.cusum[60] == 0.0
    assert out.level.tolist() == [1] * 60 + [2] * 60
    assert out.sprt_upper[0] == out.sprt_upper[60] == pytest.approx(l2.upper)
    assert out.sprt_lower[0] == pytest.approx(l2.lower)
    assert out.cusum_h.tolist() == [3.5] * 120
    snapshot = evaluate(batch, level=L2, level_since=change, now=float(batch.at[-1]),
                        config=CFG, agreement=None, last_demotion_at=None)
    assert out.sprt[-1] == pytest.approx(snapshot.sprt.sum)
    assert out.cusum[-1] == pytest.approx(snapshot.cusum.value)
    assert out.wilson_lower[-1] == pytest.approx(snapshot.wilson_lower)
    assert out.accuracy[-1] == pytest.approx(1 - snapshot.failure_rate)
    assert out.accuracy[59] == pytest.approx(59 / 60)  # the L1 segment's own estimate
    assert np.all((out.wilson_lower <= out.accuracy) & (out.accuracy <= out.wilson_upper))


def test_l3_segments_use_the_l3_cusum() -> None:
    out = series(batch_of(clean(10)), level_history=[(0.0, L3)], config=CFG)
    assert out.cusum_h.tolist() == [3.0] * 10


def test_ad_hoc_outcomes_are_counted_but_not_charted_as_estimates() -> None:
    batch = batch_of([K.APPROVE, K.LABEL_HARM, K.APPROVE], pi=[1.0, math.nan, 1.0])
    out = series(batch, level_history=[(0.0, L2)], config=CFG, bucket_seconds=DAY)
    assert out.t.size == 2 and out.accuracy.tolist() == [1.0, 1.0]
    assert out.counts[:, 0].tolist() == [2, 0, 0, 0, 1]
    assert not any(np.isnan(getattr(out, f)).any() for f in (
        "accuracy", "wilson_lower", "wilson_upper", "cusum", "sprt", "n_eff"))


def test_stacked_counts_per_bucket() -> None:
    kinds = [K.APPROVE, K.COSMETIC_EDIT, K.MATERIAL_EDIT, K.REJECT, K.LABEL_HARM, K.LABEL_WRONG]
    at = np.array([0.1, 0.5, 2.2, 2.3, 2.9, 2.95]) * DAY
    batch = OutcomeBatch.from_arrays(
        at=at, y=[int(k.failure) for k in kinds], critical=[k.critical for k in kinds],
        pi=np.ones(6), kind=[int(k) for k in kinds], reviewer=np.full(6, -1),
        risk=np.zeros(6))
    out = series(batch, level_history=[(0.0, L1)], config=CFG, bucket_seconds=DAY)
    assert out.bucket_start.tolist() == [0.0, DAY, 2 * DAY]
    assert out.counts.T.tolist() == [[1, 1, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 1, 2, 1]]


def test_bucket_width_is_chosen_to_fit_the_chart() -> None:
    thirty_days = batch_of(clean(721), step=HOUR)
    assert series(thirty_days, level_history=[(0.0, L1)], config=CFG).bucket_seconds == (
        6 * HOUR)
    one_day = batch_of(clean(24), step=HOUR)
    assert series(one_day, level_history=[(0.0, L1)], config=CFG).bucket_seconds == HOUR


def test_bad_arguments_are_refused() -> None:
    batch = batch_of(clean(3))
    with pytest.raises(ValueError, match="at least one"):
        series(batch, level_history=[], config=CFG)
    with pytest.raises(ValueError, match="time order"):
        series(batch, level_history=[(5.0, L1), (1.0, L2)], config=CFG)
    with pytest.raises(ValueError, match="bucket_seconds must be above 0"):
        series(batch, level_history=[(0.0, L1)], config=CFG, bucket_seconds=0)
