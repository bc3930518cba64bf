"""Eval datasets (issue 12: building a 100,000-example dataset and exporting it to JSONL
≤ 5 s): exporting 100,000 examples to JSONL, repeated; plus, for the record, the pure
part of building them (``example_from_decision``, without the store's gathering) and
one export to each other format.

The examples are realistic decided actions: a system prompt, a user request of a few
hundred characters, the proposed arguments and an edit, labels and metadata.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from countersign.review.datasets import Example, example_from_decision
from countersign.review.export import FORMATS, export_examples

N = 100_000
REPEATS = 7
VERDICTS = ("approve", "edit", "reject", "auto_approve")


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def build(n: int = N) -> list[Example]:
    request = "Customer says the parcel never arrived; order placed three weeks ago. " * 4
    out = []
    for i in range(n):
        verdict = VERDICTS[i % len(VERDICTS)]
        arguments = {"order": f"A-{i}", "amount": 10 + i % 500, "currency": "EUR",
                     "reason": "not delivered"}
        out.append(example_from_decision(
            action_id=i, tool_name="issue_refund", proposed_arguments=arguments,
            verdict=verdict,
            messages=[{"role": "system", "content": "You are the billing agent."},
                      {"role": "user", "content": f"#{i}: {request}"},
                      {"role": "assistant", "content": "Looking up the order."}],
            decided_arguments={**arguments, "amount": 5} if verdict == "edit" else None,
            severity="material" if verdict == "edit" else None,
            risk="high", agent="billing", agent_version="1.4.0", action_class="refund",
            reviewer="ana", decided_at=1_763_700_000.0 + i,
            labels=[{"reviewer": "bo", "rubric": "action-outcome", "rubric_version": 1,
                     "answers": {"correct": "correct"}}] if i % 10 == 0 else (),
            trace_id=f"{i:032x}", span_id=f"{i + 1:016x}",
        ))
    return out


def run() -> dict[str, float]:
    began = time.perf_counter()
    examples = build()
    build_s = time.perf_counter() - began
    times: list[float] = []
    others: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.jsonl"
        for _ in range(REPEATS):
            began = time.perf_counter()
            count = export_examples(examples, "jsonl", out, dataset="bench", version=1)
            times.append(time.perf_counter() - began)
            assert count == N
        size_mb = out.stat().st_size / 1e6
        for fmt in FORMATS:
            if fmt != "jsonl":
                began = time.perf_counter()
                export_examples(examples, fmt, Path(tmp) / f"bench.{fmt}", dataset="bench",
                                version=1)
                others[f"export_{fmt.replace('-', '_')}_s"] = time.perf_counter() - began
    figures = {
        "examples": float(N),
        "build_examples_s": build_s,
        "export_jsonl_median_s": statistics.median(times),
        "export_jsonl_p95_s": _pct(times, 95),
        "jsonl_mb": size_mb,
        **others,
    }
    for key, value in figures.items():
        print(f"{key}: {value:.3f}")
    return figures


if __name__ == "__main__":
    run()
