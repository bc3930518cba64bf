"""What the lead's charts draw for one unit (AUTONOMY.md, "What the lead sees"), as numpy
arrays on one time axis: the running weighted accuracy with its Wilson band, the CUSUM
and its h, the SPRT path between its boundaries, and stacked outcome counts.

Each level's segment is evaluated as the engine evaluates it (statistics restart at
every level change), so a chart never shows a number the engine did not use. No
evidence gives empty arrays, never NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..domain import AutonomyLevel
from .config import AutonomyConfig
from .evidence import EvidencePath, build_path
from .outcomes import MIX_OF_KIND, FloatArray, OutcomeBatch

#: Bucket widths the stacked chart chooses from: an hour, six hours, a day, a week, 30 days.
NICE_BUCKETS = (3_600.0, 21_600.0, 86_400.0, 604_800.0, 2_592_000.0)
MAX_BUCKETS = 200
_LEVEL_CODE = {AutonomyLevel.L0: 0, AutonomyLevel.L1: 1, AutonomyLevel.L2: 2,
               AutonomyLevel.L3: 3}


@dataclass(frozen=True, slots=True)
class UnitSeries:
    """Per scored outcome (time order): ``t`` and the statistics right after it; per
    bucket: ``bucket_start`` and ``counts`` (rows: approve, cosmetic edit, material
    edit, reject, critical; see outcomes.MixCategory)."""

    t: FloatArray
    level: NDArray[np.int8]
    accuracy: FloatArray
    wilson_lower: FloatArray
    wilson_upper: FloatArray
    n_eff: FloatArray
    cusum: FloatArray
    cusum_h: FloatArray
    sprt: FloatArray
    sprt_lower: FloatArray
    sprt_upper: FloatArray
    bucket_seconds: float
    bucket_start: FloatArray
    counts: NDArray[np.int64]


def series(batch: OutcomeBatch, *, level_history: Sequence[tuple[float, AutonomyLevel]],
           config: AutonomyConfig, bucket_seconds: float | None = None) -> UnitSeries:
    """The chart data of a unit. ``level_history`` lists (since, level) in time order;
    outcomes before its first entry count under the first level. ``bucket_seconds``
    None picks the smallest of NICE_BUCKETS that needs at most MAX_BUCKETS buckets."""
    if not level_history:
        raise ValueError("series: level_history needs at least one (since, level) entry")
    starts = [float(t) for t, _ in level_history]
    if any(b < a for a, b in pairwise(starts)):
        raise ValueError("series: level_history must be in time order")
    pieces: list[tuple[EvidencePath, AutonomyLevel]] = []
    for k, (_, level) in enumerate(level_history):
        lo = 0 if k == 0 else int(np.searchsorted(batch.at, starts[k], side="right"))
        hi = (len(batch) if k + 1 == len(starts)
              else int(np.searchsorted(batch.at, starts[k + 1], side="right")))
        if hi > lo:
            pieces.append((build_path(batch.slice(lo, hi), level=level, config=config),
                           level))
    return _assemble(batch, pieces, bucket_seconds)


def _assemble(batch: OutcomeBatch, pieces: list[tuple[EvidencePath, AutonomyLevel]],
              bucket_seconds: float | None) -> UnitSeries:
    def cat(parts: list[NDArray[Any]], dtype: type[np.generic]) -> NDArray[Any]:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    keep = [np.diff(p.n, prepend=0) > 0 for p, _ in pieces]  # scored outcomes only
    f64 = np.float64

    def take(name: str) -> FloatArray:
        return cat([getattr(p, name)[m] for (p, _), m in zip(pieces, keep, strict=True)], f64)

    def const(value_of: str) -> FloatArray:
        return cat([np.full(int(m.sum()), _attr(p, value_of)) for (p, _), m
                    in zip(pieces, keep, strict=True)], f64)

    levels = cat([np.full(int(m.sum()), _LEVEL_CODE[lv]) for (_, lv), m
                  in zip(pieces, keep, strict=True)], np.int8)
    width, start, counts = _buckets(batch, bucket_seconds)
    return UnitSeries(
        t=take("at"), level=levels.astype(np.int8), accuracy=1.0 - take("failure_rate"),
        wilson_lower=take("wilson_lower"), wilson_upper=take("wilson_upper"),
        n_eff=take("n_eff"), cusum=take("cusum"), cusum_h=const("h"), sprt=take("sprt"),
        sprt_lower=const("lower"), sprt_upper=const("upper"), bucket_seconds=width,
        bucket_start=start, counts=counts)


def _attr(path: EvidencePath, name: str) -> float:
    return float(path.cusum_rule.h if name == "h" else getattr(path.bounds, name))


def _buckets(batch: OutcomeBatch, width: float | None
             ) -> tuple[float, FloatArray, NDArray[np.int64]]:
    if len(batch) == 0:
        return width or NICE_BUCKETS[0], np.zeros(0), np.zeros((5, 0), dtype=np.int64)
    first, span = float(batch.at[0]), float(batch.at[-1] - batch.at[0])
    if width is None:
        width = next((w for w in NICE_BUCKETS if span / w < MAX_BUCKETS), NICE_BUCKETS[-1])
    elif not width > 0:
        raise ValueError(f"series: bucket_seconds must be above 0, got {width}")
    origin = np.floor(first / width) * width
    index = ((batch.at - origin) // width).astype(np.int64)
    count = int(index[-1]) + 1
    category = MIX_OF_KIND[batch.kind]
    flat = np.bincount(category * count + index, minlength=5 * count)
    return width, origin + width * np.arange(count), flat.reshape(5, count)
