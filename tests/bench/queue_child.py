"""One real console process for `bench_queue`: prints ``RESULT {json}`` lines.

    python -m tests.bench.queue_child start URL        # cold start, first rows, filters
    python -m tests.bench.queue_child load URL SECONDS RATE AGENTS
                                                        # request -> visible, GUI stalls

Each mode starts the console the way ``countersign gui`` does (`countersign_ui.app.run`),
so start-up, the initial load and the live feed are the shipping code paths.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from countersign.plugin_host.frontends import FrontendOptions
from countersign_ui import app as ui_app

LAUNCHED = float(os.environ.get("BENCH_LAUNCHED", time.time()))
marks: dict[str, float] = {}


def emit(**figures: Any) -> None:
    print("RESULT " + json.dumps(figures), flush=True)


def _window() -> Any:
    from PySide6.QtWidgets import QApplication

    from countersign_ui.main_window import MainWindow

    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, MainWindow):
            return widget
    raise RuntimeError("no main window")


def _queue() -> Any:
    from countersign_ui.queue.workspace import QueueWorkspace

    return _window().workspace(QueueWorkspace)


def _after(seconds: float, fn: Any) -> None:
    from PySide6.QtCore import QTimer

    QTimer.singleShot(int(seconds * 1000), fn)


def start_mode(url: str) -> None:
    """Cold start to interactive, first rows, then filter timings once all are in."""

    def trace(what: str) -> None:
        marks[what] = time.time()
        if what == "first rows shown":
            _after(0.05, wait_all)

    def wait_all() -> None:
        window = _window()
        queue = _queue()
        model = queue.model
        expected = int(os.environ.get("BENCH_EXPECTED", "0"))
        if model.total < expected:
            _after(0.05, wait_all)
            return
        marks["all rows loaded"] = time.time()
        from countersign_ui.queue.columns import QueueFilter

        timings = []
        for agent in model.agents[:5]:
            started = time.perf_counter()
            model.set_filter(QueueFilter(agent=agent))
            timings.append((time.perf_counter() - started) * 1000)
        model.set_filter(QueueFilter())
        started = time.perf_counter()
        model.set_filter(QueueFilter(text="tool_42"))
        text_ms = (time.perf_counter() - started) * 1000
        model.set_filter(QueueFilter())
        scroll = queue.view.verticalScrollBar()
        scroll_ms: list[float] = []
        if scroll is not None:
            from PySide6.QtWidgets import QApplication

            for step in range(0, min(scroll.maximum(), 4_000), 40):
                started = time.perf_counter()
                scroll.setValue(step)
                queue.view.viewport().repaint()
                QApplication.processEvents()
                scroll_ms.append((time.perf_counter() - started) * 1000)
        emit(
            window_shown_ms=(marks["window shown"] - LAUNCHED) * 1000,
            interactive_ms=(marks["event loop running (interactive)"] - LAUNCHED) * 1000,
            store_open_ms=(marks["store open"] - LAUNCHED) * 1000,
            first_rows_ms=(marks["first rows shown"] - LAUNCHED) * 1000,
            first_rows_after_store_ms=(marks["first rows shown"] - marks["store open"]) * 1000,
            all_rows_ms=(marks["all rows loaded"] - LAUNCHED) * 1000,
            rows=model.total,
            filter_agent_max_ms=max(timings) if timings else 0.0,
            filter_text_ms=text_ms,
            scroll_step_max_ms=max(scroll_ms) if scroll_ms else 0.0,
            scroll_step_mean_ms=sum(scroll_ms) / len(scroll_ms) if scroll_ms else 0.0,
        )
        window.close()

    ui_app._trace = trace  # type: ignore[attr-defined]
    sys.exit(ui_app.run(FrontendOptions(store_url=url, config_path=None)))


def load_mode(url: str, seconds: float, rate: float, agents: int) -> None:
    """Agents in another process (queue_agents.py) file ``rate`` requests per second;
    this console notes when each row appears; the stall monitor runs throughout."""
    import subprocess
    import tempfile

    seen: dict[int, float] = {}
    out = tempfile.mktemp(suffix=".json")
    procs: list[subprocess.Popen[bytes]] = []

    def trace(what: str) -> None:
        if what != "first rows shown":
            return
        window = _window()
        queue = _queue()
        model = queue.model

        def inserted(_parent: Any, first: int, last: int) -> None:
            now = time.time()
            for row in range(first, last + 1):
                item = model.row_at(row)
                if item is not None and item.id not in seen:
                    seen[item.id] = now

        model.rowsInserted.connect(inserted)
        window.stall_monitor.reset()
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "tests.bench.queue_agents", url, str(seconds), str(rate),
             str(agents), out]))
        _after(seconds + 1.0, finish)

    def finish() -> None:
        if procs[0].poll() is None:
            _after(0.2, finish)
            return
        _after(1.0, report)

    def report() -> None:
        window = _window()
        snap = window.stall_monitor.snapshot()
        with open(out) as handle:
            sent = {int(k): v for k, v in json.load(handle).items()}
        latencies = sorted((seen[a] - sent[a]) * 1000 for a in sent if a in seen)

        def pct(p: float) -> float:
            return latencies[min(len(latencies) - 1, int(p * len(latencies)))]

        emit(
            requested=len(sent),
            visible=len(latencies),
            request_to_visible_p50_ms=pct(0.5),
            request_to_visible_p95_ms=pct(0.95),
            request_to_visible_max_ms=latencies[-1],
            stall_max_ms=snap.max_ms,
            stall_p99_ms=snap.p99_ms,
            stall_over_frame=snap.over_frame,
            stall_samples=snap.samples,
        )
        window.close()

    ui_app._trace = trace  # type: ignore[attr-defined]
    sys.exit(ui_app.run(FrontendOptions(store_url=url, config_path=None)))


if __name__ == "__main__":
    mode, url = sys.argv[1], sys.argv[2]
    if mode == "start":
        start_mode(url)
    else:
        load_mode(url, float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]))
