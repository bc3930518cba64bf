"""The Autonomy workspace's charts (issue 13): selecting a unit with 100,000 outcomes
draws every chart in ≤ 100 ms, and panning stays at frame rate (≤ 16.7 ms a frame).

"Draw" is what the GUI thread does once the unit's data has been read off-thread:
`EvidenceCharts.show_unit` (chart data from the engine's series, every plot's data,
ranges, captions) and the first full paint of the five plots at 1440×900's chart area,
alternating with another unit so each selection changes everything. A pan step shifts
the linked time axis by 2 % of the view and paints again (the downsampling and
clipping to the view are recomputed), at full range and zoomed to 30 days. Reading the
outcomes and the engine's `series` (about 17 ms for 100,000) run off the GUI thread
and are in bench_autonomy.
"""

from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROUNDS = 15
PAN_STEPS = 60
DAY = 86_400.0


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run() -> dict[str, float]:
    from countersign_ui.autonomy.charts import EvidenceCharts
    from countersign_ui.qt.widgets import QApplication
    from tests.ui.autonomy.units import NOW, big_unit, regressed_unit

    app = QApplication.instance() or QApplication([])
    started = time.perf_counter()
    big = big_unit().detail()
    other = regressed_unit().detail()
    print(f"units built by the engine in {time.perf_counter() - started:.2f} s "
          f"({len(big.series.t):,} scored outcomes in the big one)")
    charts = EvidenceCharts()
    charts.resize(1100, 640)  # the chart area of a 1440×900 window
    charts.show()
    app.processEvents()
    charts.show_unit(other, now=NOW)
    charts.canvas.grab()

    draw_ms, data_ms, paint_ms = [], [], []
    for _ in range(ROUNDS):
        charts.show_unit(other, now=NOW)
        charts.canvas.grab()
        app.processEvents()
        t0 = time.perf_counter()
        charts.show_unit(big, now=NOW)
        t1 = time.perf_counter()
        charts.canvas.grab()
        t2 = time.perf_counter()
        data_ms.append((t1 - t0) * 1000)
        paint_ms.append((t2 - t1) * 1000)
        draw_ms.append((t2 - t0) * 1000)

    def pan(span_days: float | None) -> list[float]:
        first, last = charts.data.x_range if charts.data else (0.0, 1.0)
        if span_days is None:
            low, high = first, last
        else:
            low, high = first + 100 * DAY, first + (100 + span_days) * DAY
        charts.accuracy_plot.setXRange(low, high, padding=0)
        charts.canvas.grab()
        step = (high - low) * 0.02
        frames = []
        for i in range(PAN_STEPS):
            shift = step if (i // 20) % 2 == 0 else -step
            low, high = low + shift, high + shift
            t0 = time.perf_counter()
            charts.accuracy_plot.setXRange(low, high, padding=0)
            charts.canvas.grab()
            frames.append((time.perf_counter() - t0) * 1000)
        return frames

    pan_full = pan(None)
    pan_month = pan(30)
    figures = {
        "select_100k_draw_p50_ms": statistics.median(draw_ms),
        "select_100k_draw_p95_ms": _pct(draw_ms, 95),
        "select_100k_set_data_p50_ms": statistics.median(data_ms),
        "select_100k_first_paint_p50_ms": statistics.median(paint_ms),
        "pan_full_range_frame_p50_ms": statistics.median(pan_full),
        "pan_full_range_frame_p95_ms": _pct(pan_full, 95),
        "pan_30_days_frame_p50_ms": statistics.median(pan_month),
        "pan_30_days_frame_p95_ms": _pct(pan_month, 95),
    }
    for key, value in figures.items():
        print(f"{key}: {value:.1f}")
    charts.close()
    charts.deleteLater()
    return figures
