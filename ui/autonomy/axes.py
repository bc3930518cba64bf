"""`SparseAxis`: the charts' value axes, whose labels never crowd each other.

pyqtgraph puts at least two and a quarter major intervals on an axis whatever its
height, so a 45-pixel plot (the console at 1024×640) gets five labels on top of each
other. This axis chooses a round step (1, 2 or 5 × 10^k) that leaves at least
`MIN_LABEL_PX` pixels between labels. The level chart's axis labels its integer
ticks L0…L3.
"""

from __future__ import annotations

import math
from typing import Any

import pyqtgraph as pg

#: Pixels between two labels of a value axis, at least (a small font line and a gap);
#: the level axis's two-character labels pack closer.
MIN_LABEL_PX = 22.0
MIN_LEVEL_PX = 14.0
LEVELS = ("L0", "L1", "L2", "L3")


def round_step(at_least: float) -> float:
    """The smallest of 1, 2, 5 × 10^k that is ≥ ``at_least`` (> 0)."""
    power = 10.0 ** math.floor(math.log10(at_least))
    for factor in (1.0, 2.0, 5.0, 10.0):
        if factor * power >= at_least * (1 - 1e-9):
            return factor * power
    return 10.0 * power


class SparseAxis(pg.AxisItem):  # type: ignore[misc]  # pyqtgraph has no type hints
    """See the module docstring. ``levels``: label integer ticks L0…L3; ``ceiling``: no
    tick above this value (the accuracy axis stops at 100 %, the room above it is the
    caption's)."""

    def __init__(self, *, levels: bool = False, ceiling: float | None = None,
                 **options: Any) -> None:
        super().__init__("left", **options)
        self.levels = levels
        self.ceiling = ceiling

    def tickSpacing(self, minVal: float, maxVal: float, size: float
                    ) -> list[tuple[float, float]]:
        span = abs(maxVal - minVal)
        if span == 0 or size <= 0:
            return []
        if self.levels:
            # Every level when there is room, else L1 and L3 (L1 is where most units are).
            return [(1.0, 0.0)] if size / span >= MIN_LEVEL_PX else [(2.0, 1.0)]
        labels = max(1.0, size / MIN_LABEL_PX)
        return [(round_step(span / labels), 0.0)]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        if not self.levels:
            strings = list(super().tickStrings(values, scale, spacing))
            if self.ceiling is not None:
                strings = ["" if value > self.ceiling + 1e-9 else text
                           for value, text in zip(values, strings, strict=True)]
            return strings
        out = []
        for value in values:
            index = round(value)
            out.append(LEVELS[index] if abs(value - index) < 1e-6 and
                       0 <= index < len(LEVELS) else "")
        return out
