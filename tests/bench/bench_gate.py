"""Verdict → the agent's ``request_approval`` returns (issue 2: p95 ≤ 250 ms).

Twenty agents each keep requests open through the real gate SDK on the embedded
SQLite store; an operator process-equivalent decides each as soon as it appears,
stamping the commit time; the agent side stamps when its call returns.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from countersign.domain import Verdict
from countersign.gate import Gate
from countersign.services.actions import ActionService
from countersign.services.decisions import DecisionService
from countersign.store.migrate import open_store


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _measure(url: str, agents: int, per_agent: int) -> list[float]:
    store = open_store(url)
    gates = [Gate(store, agent=f"agent-{i}") for i in range(agents)]
    committed: dict[int, float] = {}
    returned: dict[int, float] = {}
    done = asyncio.Event()
    total = agents * per_agent

    async def agent(gate: Gate) -> None:
        for n in range(per_agent):
            verdict = await gate.request_approval("do_thing", {"n": n}, timeout=120)
            returned[verdict.action_id] = time.perf_counter()

    async def operator() -> None:
        actions, decisions = ActionService(store), DecisionService(store)
        while len(committed) < total:
            rows = await asyncio.to_thread(actions.queue_rows)
            for row in rows:
                if row.id not in committed:
                    await asyncio.to_thread(decisions.decide, row.id, Verdict.APPROVE,
                                            reviewer="bench")
                    committed[row.id] = time.perf_counter()
            await asyncio.sleep(0.005)
        done.set()

    await asyncio.gather(operator(), *(agent(g) for g in gates))
    await done.wait()
    store.dispose()
    return [(returned[i] - committed[i]) * 1000 for i in committed if i in returned]


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        latencies = asyncio.run(_measure(url, agents=20, per_agent=10))
    figures = {
        "verdict_to_agent_p50_ms": statistics.median(latencies),
        "verdict_to_agent_p95_ms": _pct(latencies, 95),
        "verdict_to_agent_max_ms": max(latencies),
        "samples": float(len(latencies)),
    }
    for key, value in figures.items():
        print(f"{key}: {value:.1f}")
    return figures
