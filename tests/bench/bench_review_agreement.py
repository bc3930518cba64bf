"""Agreement over 10,000 items × 5 reviewers (issue 12: ≤ 1 s).

The report the CLI's `agreement` and the Review workspace show, over the default
action rubric: Krippendorff's alpha for each question and Cohen's kappa for each of
the ten reviewer pairs. Every item has all five labels, the worst case for overlap;
reviewers agree with a hidden truth 80 % of the time, so no shortcut for constant
data applies.
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from countersign.review.agreement import agreement_report
from countersign.review.rubric import default_rubrics

ITEMS, REVIEWERS, ROUNDS = 10_000, 5, 15


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _labels() -> list[tuple[str, str, dict[str, Any]]]:
    rng = random.Random(12)
    verdicts = ["correct", "minor", "wrong"]
    categories = ["wrong_target", "wrong_amount", "policy_breach", "hallucinated_fact",
                  "unsafe", "other"]
    labels = []
    for item in range(ITEMS):
        truth = rng.choice(verdicts)
        for reviewer in range(REVIEWERS):
            correct = truth if rng.random() < 0.8 else rng.choice(verdicts)
            answers: dict[str, Any] = {"correct": correct, "harm": rng.random() < 0.03,
                                       "note": "checked"}
            if correct == "wrong":
                answers["failure_category"] = rng.choice(categories)
            labels.append((f"action:{item}", f"reviewer-{reviewer}", answers))
    return labels


def run() -> dict[str, float]:
    rubric = default_rubrics()[0]
    labels = _labels()
    agreement_report(rubric, labels)  # warm-up: imports, numpy's first calls
    timings = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        report = agreement_report(rubric, labels)
        timings.append((time.perf_counter() - started) * 1000)
    assert len(report.pairs) == REVIEWERS * (REVIEWERS - 1) // 2
    figures = {
        "report_10k_items_5_reviewers_p50_ms": statistics.median(timings),
        "report_10k_items_5_reviewers_p95_ms": _pct(timings, 95),
        "labels": float(len(labels)),
    }
    for key, value in figures.items():
        print(f"{key}: {value:.1f}")
    return figures
