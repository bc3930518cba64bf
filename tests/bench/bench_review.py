"""The reviewer's loop at scale (issue 12), on the embedded SQLite store:

- `review sample` over 1,000,000 decided actions (≤ 10 s): four risk tiers, the
  default rules, from a fresh watermark;
- submit a label → the next item shown (≤ 50 ms at the 95th percentile) with 100,000
  items in the review queue: `submit` then `next_item` (claim + the item's detail),
  each in its own transaction as the Review workspace calls them;
- building a 100,000-example dataset and exporting it to JSONL (≤ 5 s): every example
  with its conversation (a model call's system and user messages).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from countersign.services.datasets import DatasetService
from countersign.services.review import ReviewService
from countersign.store.migrate import open_store
from tests.review.store_helpers import seed_decided

SAMPLED, QUEUE, EXAMPLES, LABELS = 1_000_000, 100_000, 100_000, 300
ANSWERS = {"correct": "correct", "harm": False}


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _sample(folder: Path) -> dict[str, float]:
    store = open_store(f"sqlite:///{folder}/sample.db")
    for risk in ("low", "medium", "high", "critical"):
        seed_decided(store, SAMPLED // 4, risk=risk, agent=f"{risk}-agent")
    review = ReviewService(store)
    started = time.perf_counter()
    report = review.sample()
    seconds = time.perf_counter() - started
    assert report.considered == SAMPLED, report
    print(f"sample: {report.considered:,} considered, {report.drawn:,} drawn in "
          f"{seconds:.2f} s", flush=True)
    store.dispose()
    return {"sample_1m_decided_s": seconds, "sample_1m_drawn": float(report.drawn)}


def _label_loop(folder: Path) -> dict[str, float]:
    store = open_store(f"sqlite:///{folder}/queue.db")
    seed_decided(store, QUEUE, risk="high")
    review = ReviewService(store)
    review.sample()
    assert review.count() == QUEUE
    shown = review.next_item("ana")
    timings: list[float] = []
    for _ in range(LABELS):
        assert shown is not None
        started = time.perf_counter()
        review.submit(shown.item.id, reviewer="ana", answers=ANSWERS)
        shown = review.next_item("ana")
        timings.append((time.perf_counter() - started) * 1000)
    print(f"submit → next: p50 {statistics.median(timings):.1f} ms, p95 "
          f"{_pct(timings, 95):.1f} ms over {LABELS} labels", flush=True)
    store.dispose()
    return {"submit_next_100k_queue_p50_ms": statistics.median(timings),
            "submit_next_100k_queue_p95_ms": _pct(timings, 95)}


def _dataset(folder: Path) -> dict[str, float]:
    store = open_store(f"sqlite:///{folder}/dataset.db")
    seed_decided(store, EXAMPLES, with_conversation=True)
    datasets = DatasetService(store)
    started = time.perf_counter()
    info = datasets.build("bench", actor="bench")
    built = time.perf_counter()
    _, written = datasets.export("bench", "jsonl", folder / "bench.jsonl")
    done = time.perf_counter()
    assert info.examples == written == EXAMPLES
    print(f"dataset: build {built - started:.2f} s, export {done - built:.2f} s "
          f"({(folder / 'bench.jsonl').stat().st_size / 1e6:.0f} MB)", flush=True)
    store.dispose()
    return {"dataset_100k_build_s": built - started, "dataset_100k_export_jsonl_s": done - built,
            "dataset_100k_build_and_export_s": done - started}


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-review-") as name:
        folder = Path(name)
        figures = _sample(folder)
        figures.update(_label_loop(folder))
        figures.update(_dataset(folder))
    return figures


if __name__ == "__main__":
    print(run())
