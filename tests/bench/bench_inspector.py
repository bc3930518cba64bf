"""The trace inspector on a 10,000-span run (targets: open ≤ 300 ms; every
interaction — scroll step, selection, search — within a frame, 16 ms, where possible).

The run is an agent loop of 2,000 iterations (chain → LLM → tool → HTTP call,
retrieval) with KB-sized messages, a 7-times retry loop and failures: deep and wide.
Figures are medians (scrolling: mean and p95 per step) in milliseconds.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _ms(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run() -> dict[str, float]:
    from PySide6.QtWidgets import QApplication

    from countersign_ui.inspector import TraceInspector, build_run_tree, find_in_run
    from tests.ui.inspector.runs import agent_loop

    app = QApplication.instance() or QApplication([])
    spans, proposer = agent_loop(2000)
    text_mb = sum(len(s.input_json or "") + len(s.output_json or "") + len(s.attributes_json)
                  for s in spans) / 1e6
    print(f"run: {len(spans):,} spans, {text_mb:.1f} MB of JSON")
    inspector = TraceInspector()
    inspector.resize(1440, 900)
    inspector.show()
    app.processEvents()
    figures: dict[str, float] = {"spans": float(len(spans))}
    figures["build_tree_ms"] = _ms(lambda: build_run_tree(spans, proposer))

    def show() -> None:
        inspector.show_run(spans, highlight_span_id=proposer)
        app.processEvents()

    figures["show_run_ms"] = _ms(show)
    figures["expand_all_ms"] = _ms(lambda: (inspector.expand_all(), app.processEvents()))
    figures["collapse_to_errors_ms"] = _ms(
        lambda: (inspector.collapse_to_errors(), app.processEvents()))
    inspector.expand_all()
    app.processEvents()
    bar = inspector.tree.verticalScrollBar()
    steps: list[float] = []
    for n in range(200):
        value = (n * 997) % max(1, bar.maximum()) if n % 2 else n * bar.singleStep() * 3
        started = time.perf_counter()
        bar.setValue(value)
        app.processEvents()
        steps.append((time.perf_counter() - started) * 1000)
    figures["scroll_step_mean_ms"] = statistics.mean(steps)
    figures["scroll_step_p95_ms"] = _pct(steps, 95)
    moves: list[float] = []
    inspector.select_node(inspector.run.nodes[0])
    for n in range(1, 60):
        started = time.perf_counter()
        inspector.select_node(inspector.run.nodes[n])
        app.processEvents()
        moves.append((time.perf_counter() - started) * 1000)
    figures["select_span_median_ms"] = statistics.median(moves)
    figures["select_span_p95_ms"] = _pct(moves, 95)
    started = time.perf_counter()
    cold = find_in_run(spans, "ratelimiterror")
    figures["search_cold_ms"] = (time.perf_counter() - started) * 1000
    figures["search_warm_ms"] = _ms(lambda: find_in_run(spans, "ORD-1999", cold.texts))
    figures["search_many_matches_ms"] = _ms(lambda: find_in_run(spans, "refund", cold.texts))

    def search_and_jump() -> None:
        inspector.search.search_now("ord-1999")
        app.processEvents()

    figures["search_to_first_match_ms"] = _ms(search_and_jump)
    inspector.search.search_now("call_llm")
    app.processEvents()
    jumps: list[float] = []
    for _ in range(50):
        started = time.perf_counter()
        inspector.search.step(+1)
        app.processEvents()
        jumps.append((time.perf_counter() - started) * 1000)
    figures["search_jump_median_ms"] = statistics.median(jumps)
    figures["search_matches_call_llm"] = float(len(inspector.search.matches))
    inspector.close()
    for key, value in figures.items():
        print(f"  {key:28s} {value:10.2f}")
    return figures


if __name__ == "__main__":
    run()
