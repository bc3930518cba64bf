"""An auto-approved action through the gate SDK (issue 13: p95 ≤ 20 ms on SQLite).

One agent whose unit is at L2 asks for low-risk actions with a reasoning step each, on
the embedded SQLite store (WAL, synchronous FULL): each call writes the request, its
spans and audit event, the auto-approval with its audit event, outbox row and review
sample, returns the verdict, and acknowledges it (a second commit). Timed from the call
to its return, acknowledgement included; the first calls warm up imports and caches.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from countersign.domain import AutonomyLevel, Risk
from countersign.domain.autonomy import UnitKey
from countersign.gate import Gate, Step
from countersign.services.actions import ActionRequest, ActionService
from countersign.services.autonomy_service import AutonomyService
from countersign.store.migrate import open_store

CALLS, WARM_UP = 400, 20


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _measure(url: str) -> tuple[list[float], list[float]]:
    store = open_store(url)
    unit = UnitKey(agent="bench-agent", version="1.0", action_class="tag_ticket")
    ActionService(store).request(ActionRequest(
        agent=unit.agent, agent_version=unit.version, action_class=unit.action_class,
        arguments={}, risk=Risk.CRITICAL, source_ref="first"))
    AutonomyService(store).promote(unit, AutonomyLevel.L2, lead="bench", reason="bench")
    gate = Gate(store, agent=unit.agent, agent_version=unit.version)
    step = Step(kind="llm", name="classify", input="ticket 123", output="billing",
                model="gpt-4o-mini", prompt_tokens=120, completion_tokens=4)
    asyncio_ms, sync_ms = [], []
    try:
        for n in range(CALLS + WARM_UP):
            started = time.perf_counter()
            verdict = await gate.request_approval(unit.action_class, {"ticket": n, "tag": "x"},
                                                  risk="low", reasoning=[step], timeout=60)
            elapsed = (time.perf_counter() - started) * 1000
            assert verdict.approved and verdict.decided_by.startswith("policy:"), verdict
            if n >= WARM_UP:
                asyncio_ms.append(elapsed)
        for n in range(CALLS // 2):
            started = time.perf_counter()
            verdict = gate.request_approval_sync(unit.action_class, {"sync": n}, risk="medium",
                                                 timeout=60)
            sync_ms.append((time.perf_counter() - started) * 1000)
            assert verdict.approved
    finally:
        gate.close()
        store.dispose()
    return asyncio_ms, sync_ms


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        asyncio_ms, sync_ms = asyncio.run(_measure(url))
    figures = {
        "auto_approved_request_p50_ms": statistics.median(asyncio_ms),
        "auto_approved_request_p95_ms": _pct(asyncio_ms, 95),
        "auto_approved_request_max_ms": max(asyncio_ms),
        "auto_approved_sync_p95_ms": _pct(sync_ms, 95),
        "samples": float(len(asyncio_ms)),
    }
    for key, value in figures.items():
        print(f"{key}: {value:.1f}")
    return figures
