"""A frame-stall monitor: is the GUI thread ever busy for longer than a frame?

A precise 5 ms timer notes how late each of its ticks arrives. Lateness is the time
the event loop could not run anything, which is what a user feels as a frozen
window. The benchmark reads `FrameStallMonitor.snapshot`; the cost is one cheap
callback every 5 ms.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .qt.core import QObject, Qt, QTimer

#: Histogram buckets are 1 ms wide up to this; later ticks share the last bucket.
_BUCKETS_MS = 2_000


@dataclass(frozen=True)
class StallSnapshot:
    samples: int
    max_ms: float
    p50_ms: float
    p99_ms: float
    #: Ticks that came more than a frame (16 ms) late.
    over_frame: int


class FrameStallMonitor(QObject):
    """Measures how late a 5 ms timer fires on the GUI thread (see module docstring)."""

    def __init__(self, parent: QObject | None = None, *, interval_ms: int = 5) -> None:
        super().__init__(parent)
        self._interval = interval_ms / 1000
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self.reset()

    def start(self) -> None:
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def reset(self) -> None:
        self._histogram = [0] * (_BUCKETS_MS + 1)
        self._samples = 0
        self._max = 0.0
        self._over_frame = 0
        self._last = time.perf_counter()

    def _tick(self) -> None:
        now = time.perf_counter()
        late_ms = max(0.0, (now - self._last - self._interval) * 1000)
        self._last = now
        self._samples += 1
        self._max = max(self._max, late_ms)
        if late_ms > 16:
            self._over_frame += 1
        self._histogram[min(int(late_ms), _BUCKETS_MS)] += 1

    def _percentile(self, fraction: float) -> float:
        if not self._samples:
            return 0.0
        wanted = fraction * self._samples
        seen = 0
        for bucket, count in enumerate(self._histogram):
            seen += count
            if seen >= wanted:
                return float(bucket + 1)  # the bucket's upper bound: a safe estimate
        return float(_BUCKETS_MS)

    def snapshot(self) -> StallSnapshot:
        """Max and percentiles of timer lateness in ms since the last `reset`."""
        return StallSnapshot(
            samples=self._samples,
            max_ms=round(self._max, 2),
            p50_ms=self._percentile(0.5),
            p99_ms=self._percentile(0.99),
            over_frame=self._over_frame,
        )
