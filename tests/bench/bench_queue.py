"""The Queue (issue 2): cold start, 100,000 pending actions, live feed latency, and
GUI-thread stalls while 20 agents request 50 actions per second.

Targets: interactive window ≤ 2 s from launch; first rows within 1 s of the Queue
opening on 100,000 pending; filter by agent ≤ 100 ms; request → visible p95 ≤ 250 ms;
GUI stalls never over 50 ms with p99 ≤ 16 ms under load. Each figure comes from a
fresh console process started the way ``countersign gui`` starts (queue_child.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from countersign.store.migrate import open_store
from countersign.store.models import ActionRow, AgentRow

ROOT = Path(__file__).resolve().parents[2]


def fill(url: str, n: int, agents: int = 40) -> None:
    """``n`` pending actions from ``agents`` agents, inserted in bulk."""
    store = open_store(url)
    now = time.time()
    risks = ["low", "medium", "high", "critical"]
    allowed = json.dumps(["approve", "edit", "reject", "respond"])
    with store.write() as session:
        ids = []
        for i in range(agents):
            row = AgentRow(external_id=f"agent-{i}", name=f"agent-{i:02d}", version="1",
                           created_at=now)
            session.add(row)
            session.flush()
            ids.append(row.id)
        rows = [
            {"agent_id": ids[i % agents], "action_class": f"tool_{i % 97}",
             "arguments_json": json.dumps({"i": i}), "risk": risks[i % 4],
             "deadline": now + 3600 if i % 2 else None, "state": "pending", "version": 1,
             "source": "bench", "source_ref": f"r{i}", "allowed_verdicts_json": allowed,
             "created_at": now - n + i, "updated_at": now, "description": "",
             "source_meta_json": "{}", "ingest_warnings_json": "[]"}
            for i in range(n)
        ]
        for at in range(0, n, 10_000):
            session.execute(insert(ActionRow), rows[at:at + 10_000])
    store.dispose()


def child(*args: str, expected: int = 0) -> dict[str, Any]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", BENCH_LAUNCHED=repr(time.time()),
               BENCH_EXPECTED=str(expected))
    done = subprocess.run([sys.executable, "-m", "tests.bench.queue_child", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[7:])
            return result
    raise RuntimeError(f"queue_child {args[0]} printed no result (exit {done.returncode}):\n"
                       f"{done.stderr[-3000:]}")


def run() -> dict[str, float]:
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        empty = f"sqlite:///{Path(tmp) / 'empty.db'}"
        open_store(empty).dispose()
        cold = [child("start", empty) for _ in range(3)]
        figures["cold_start_interactive_ms"] = min(c["interactive_ms"] for c in cold)
        figures["cold_start_interactive_worst_ms"] = max(c["interactive_ms"] for c in cold)
        big = f"sqlite:///{Path(tmp) / 'big.db'}"
        fill(big, 100_000)
        start = child("start", big, expected=100_000)
        figures["q100k_first_rows_after_store_open_ms"] = start["first_rows_after_store_ms"]
        figures["q100k_first_rows_from_launch_ms"] = start["first_rows_ms"]
        figures["q100k_all_rows_from_launch_ms"] = start["all_rows_ms"]
        figures["q100k_filter_by_agent_max_ms"] = start["filter_agent_max_ms"]
        figures["q100k_filter_text_ms"] = start["filter_text_ms"]
        figures["q100k_scroll_step_mean_ms"] = start["scroll_step_mean_ms"]
        figures["q100k_scroll_step_max_ms"] = start["scroll_step_max_ms"]
        load_url = f"sqlite:///{Path(tmp) / 'load.db'}"
        open_store(load_url).dispose()
        load = child("load", load_url, "20", "50", "20")
        for key in ("requested", "request_to_visible_p50_ms", "request_to_visible_p95_ms",
                    "request_to_visible_max_ms", "stall_max_ms", "stall_p99_ms",
                    "stall_over_frame"):
            figures[f"load20x50_{key}"] = float(load[key])
    for key, value in figures.items():
        print(f"{key}: {value:,.1f}")
    return figures
