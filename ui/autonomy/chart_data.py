"""What the Autonomy charts draw, computed from a `UnitDetail` with numpy only (no Qt,
so it is cheap to test and runs in a few milliseconds for 100,000 outcomes).

Constant-per-level series (the CUSUM's h, the SPRT's boundaries) are handed to the
plots as steps (a point where the value changes), not one point per outcome: a dashed
line over 100,000 points is what makes Qt slow, and the line is the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from countersign.autonomy import AutonomyConfig, UnitSeries
from countersign.autonomy.outcomes import FloatArray
from countersign.domain import AutonomyLevel
from countersign.domain.autonomy import LevelChange

from .rows import UnitDetail

#: Headroom above the data, as a share of the range: each plot's caption sits there.
CAPTION_ROOM = 0.3
#: The level chart's y range: L0…L3 with room for the caption above L3.
LEVEL_RANGE = (-0.4, 3.4 + CAPTION_ROOM * 3.8)
LEVEL_CODE = {AutonomyLevel.L0: 0, AutonomyLevel.L1: 1, AutonomyLevel.L2: 2,
              AutonomyLevel.L3: 3}


@dataclass(frozen=True)
class TargetLine:
    """A horizontal line on the accuracy chart: the accuracy a level requires."""

    level: AutonomyLevel
    accuracy: float
    #: True for the next level's target, False for the current level's.
    next: bool

    @property
    def text(self) -> str:
        return f"{self.level} target {self.accuracy * 100:g} %"


@dataclass(frozen=True, eq=False)
class ChartData:
    """The arrays of every chart, on one time axis (unix seconds)."""

    t: FloatArray
    accuracy_pct: FloatArray
    lower_pct: FloatArray
    upper_pct: FloatArray
    cusum: FloatArray
    h_steps: tuple[FloatArray, FloatArray]
    sprt: FloatArray
    sprt_upper_steps: tuple[FloatArray, FloatArray]
    sprt_lower_steps: tuple[FloatArray, FloatArray]
    #: Bar centres and width, and per category (approve … critical) the bar bottoms
    #: and heights, stacked.
    bar_x: FloatArray
    bar_width: float
    bar_bottoms: FloatArray
    bar_heights: FloatArray
    bucket_seconds: float
    #: The level as a step line (x, y), and each change's level code.
    level_x: FloatArray
    level_y: FloatArray
    level_codes: FloatArray
    targets: tuple[TargetLine, ...]
    x_range: tuple[float, float]
    accuracy_range: tuple[float, float]
    cusum_range: tuple[float, float]
    sprt_range: tuple[float, float]
    outcomes_range: tuple[float, float]

    @property
    def empty(self) -> bool:
        return int(self.t.shape[0]) == 0 and int(self.bar_x.shape[0]) == 0


def chart_data(detail: UnitDetail, now: float) -> ChartData:
    """Everything the charts of ``detail`` draw, as of ``now`` (the level chart's end)."""
    s = detail.series
    t = s.t
    targets = target_lines(detail.evidence.level, detail.config)
    accuracy = s.accuracy * 100.0
    lower, upper = s.wilson_lower * 100.0, s.wilson_upper * 100.0
    heights = s.counts.astype(np.float64)
    bottoms = np.cumsum(heights, axis=0) - heights
    bar_x = s.bucket_start + s.bucket_seconds / 2.0
    edges, codes = level_steps(detail.changes, now)
    starts = [float(t[0])] if t.shape[0] else []
    if s.bucket_start.shape[0]:
        starts.append(float(s.bucket_start[0]))
    level_x = np.repeat(edges, 2)[1:-1]
    level_y = np.repeat(codes, 2)
    if edges.shape[0]:
        starts.append(float(edges[0]))
    first = min(starts) if starts else now - 86_400.0
    last = max(now, float(t[-1]) if t.shape[0] else first)
    if last <= first:
        last = first + 3_600.0
    return ChartData(
        t=t, accuracy_pct=accuracy, lower_pct=lower, upper_pct=upper, cusum=s.cusum,
        h_steps=steps(t, s.cusum_h), sprt=s.sprt, sprt_upper_steps=steps(t, s.sprt_upper),
        sprt_lower_steps=steps(t, s.sprt_lower), bar_x=bar_x,
        bar_width=s.bucket_seconds * 0.85, bar_bottoms=bottoms, bar_heights=heights,
        bucket_seconds=s.bucket_seconds, level_x=level_x, level_y=level_y,
        level_codes=codes,
        targets=targets, x_range=(first, last),
        accuracy_range=accuracy_range(accuracy, targets),
        cusum_range=(0.0, (1 + CAPTION_ROOM) * max(float(s.cusum.max()) if t.shape[0] else 0.0,
                                     float(s.cusum_h.max()) if t.shape[0] else
                                     detail.evidence.cusum.h)),
        sprt_range=_sprt_range(s, detail),
        outcomes_range=(0.0, (1 + CAPTION_ROOM) * max(1.0, float(heights.sum(axis=0).max())
                                       if heights.shape[1] else 1.0)))


def target_lines(level: AutonomyLevel, config: AutonomyConfig) -> tuple[TargetLine, ...]:
    """The accuracy the current level required (L2: L1→L2's 1 − p_good; L3: L2→L3's)
    and the one the next level requires (none above L3; L0 is shown L2's, as the
    engine measures a shadow unit against the L1→L2 test)."""
    l2 = TargetLine(AutonomyLevel.L2, round(1.0 - config.l1_to_l2.p_good, 6), next=True)
    l3 = TargetLine(AutonomyLevel.L3, round(1.0 - config.l2_to_l3.p_good, 6), next=True)
    if level in (AutonomyLevel.L0, AutonomyLevel.L1):
        return (l2,)
    if level is AutonomyLevel.L2:
        return (TargetLine(l2.level, l2.accuracy, next=False), l3)
    return (TargetLine(l3.level, l3.accuracy, next=False),)


def accuracy_range(accuracy_pct: FloatArray, targets: tuple[TargetLine, ...]
                   ) -> tuple[float, float]:
    """The accuracy chart's y range, in %: from a little below the lower of the targets
    and the accuracy's 2nd percentile (the first few outcomes of a level swing between
    0 and 100 % and would flatten everything else) up to 100 %."""
    lows = [t.accuracy * 100.0 for t in targets]
    if accuracy_pct.shape[0]:
        lows.append(float(np.quantile(accuracy_pct, 0.02)))
    low = min(lows) if lows else 90.0
    low = max(0.0, low - 3.0)
    return low, 100.5 + CAPTION_ROOM * (100.5 - low)


def _sprt_range(s: UnitSeries, detail: UnitDetail) -> tuple[float, float]:
    if s.t.shape[0]:
        low = min(float(s.sprt_lower.min()), float(s.sprt.min()))
        high = max(float(s.sprt_upper.max()), float(s.sprt.max()))
    else:
        low, high = detail.evidence.sprt.lower, detail.evidence.sprt.upper
    pad = 0.08 * (high - low)
    return low - pad, high + pad + CAPTION_ROOM * (high - low)


def steps(t: FloatArray, values: FloatArray) -> tuple[FloatArray, FloatArray]:
    """A series that is constant between changes as the points where it changes (and
    its last point), for a step line: x, y with x's last value the end of ``t``."""
    if t.shape[0] == 0:
        return np.zeros(0), np.zeros(0)
    change = np.flatnonzero(np.diff(values) != 0) + 1
    starts = np.concatenate(([0], change))
    x = np.concatenate((t[starts], t[-1:]))
    y = np.concatenate((values[starts], values[-1:]))
    # Each value holds until the next change: duplicate x at the changes for a step.
    step_x = np.repeat(x, 2)[1:-1]
    step_y = np.repeat(y[:-1], 2)
    return step_x, step_y


def level_steps(changes: tuple[LevelChange, ...], now: float
                ) -> tuple[FloatArray, FloatArray]:
    """The level as steps: edges (each change's time, then ``now``) and levels."""
    if not changes:
        return np.zeros(0), np.zeros(0)
    edges = np.array([c.at for c in changes] + [max(now, changes[-1].at)], dtype=np.float64)
    codes = np.array([LEVEL_CODE[c.to_level] for c in changes], dtype=np.float64)
    return edges, codes
