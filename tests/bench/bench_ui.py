"""The console's widgets on big inputs: the budgets the UI unit tests used to assert
(they now check behaviour only; a slow machine must not fail them, and a regression
shows here). Figures are medians of three runs, in milliseconds; targets in brackets.

- the action pane showing megabyte arguments beside a 200-step chain  [250 ms]
- a 50,000-item JSON list opening in the arguments tree (first chunk)   [50 ms]
- the Queue list filtering 100,000 rows by agent (QueueRows, no Qt)     [100 ms]
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


class _Quiet:
    """A `RowsListener` that ignores everything (the state alone is measured)."""

    def __getattr__(self, _name: str) -> Callable[..., None]:
        return lambda *args: None


def run() -> dict[str, float]:
    from PySide6.QtWidgets import QApplication

    from countersign.domain import Risk
    from countersign.gate.steps import Message, Step, steps_to_spans
    from countersign_ui.json_tree import JsonTreeModel
    from countersign_ui.queue.columns import QueueFilter
    from countersign_ui.queue.detail import ActionDetailPane
    from countersign_ui.queue.rows import QueueRows
    from tests.ui.conftest import make_row
    from tests.ui.detail.samples import refund_detail, refund_spans

    app = QApplication.instance() or QApplication([])
    figures: dict[str, float] = {}

    spans, proposer = refund_spans()
    steps = [Step(name=f"step {i}", messages=[Message(role="user", content="hi " * 300)],
                  prompt_tokens=10, completion_tokens=2, duration_s=0.01) for i in range(195)]
    spans = spans + steps_to_spans(steps, trace_id=spans[0].trace_id,
                                   parent_span_id=spans[0].span_id, agent="a")
    arguments = {"blob": "x" * 1_000_000,
                 "items": [{"sku": f"SKU-{i}", "qty": i} for i in range(20_000)]}
    detail = refund_detail(proposer, arguments=arguments)
    pane = ActionDetailPane()
    pane.resize(1440, 900)
    pane.show()
    app.processEvents()

    def show_action() -> None:
        pane.show_action(detail, spans, arguments)
        pane.repaint()

    figures["pane_megabyte_action_ms"] = _ms(show_action)
    pane.close()
    pane.deleteLater()

    figures["json_tree_50k_list_open_ms"] = _ms(lambda: JsonTreeModel(list(range(50_000))))

    rows = QueueRows(_Quiet())  # type: ignore[arg-type]
    rows.set_rows(make_row(i, agent=f"agent-{i % 40}", risk=list(Risk)[i % 4])
                  for i in range(100_000))

    def filter_by_agent() -> None:
        rows.set_filter(QueueFilter(agent="agent-7"))
        rows.set_filter(QueueFilter())

    figures["queue_filter_100k_by_agent_ms"] = _ms(filter_by_agent) / 2
    for name, value in figures.items():
        print(f"{name}: {value:.1f} ms")
    return figures
