"""The LangGraph source against a real `langgraph dev` server (issue: plugin system).

(a) 1,000 interrupted threads wait on the server; a fresh console connects: seconds
    until all 1,000 are pending actions in the store (target ≤ 5 s).
(b) Verdict → resume request accepted: from `DecisionService.decide` to the server's
    answer to `POST /threads/{id}/runs`, over 100 verdicts (target p95 ≤ 100 ms).

The runtime runs with its default intervals. Creating the threads is set-up, not
measured. Uses the same server harness as the tests (tests/langgraph/server.py).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from countersign.domain import ActionState, Verdict
from countersign.runtime import Runtime
from countersign.services.actions import ActionService
from countersign.services.decisions import DecisionService
from countersign.store.migrate import open_store
from countersign_plugins.langgraph.source import LangGraphSource
from tests.langgraph.server import make_server

THREADS = 1_000
VERDICTS = 100
EMAIL = {"name": "send_email", "args": {"to": "a@example.com", "body": "hi"}}


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _create_threads(url: str, count: int, tag: str) -> None:
    """`count` threads of the `inbox` graph, each stopped at its interrupt."""
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=url, timeout=120.0, limits=limits) as http:
        gate = asyncio.Semaphore(48)

        async def one() -> None:
            async with gate:
                thread = (await http.post("/threads", json={"metadata": {"suite": tag}})).json()
                await http.post(f"/threads/{thread['thread_id']}/runs",
                                json={"assistant_id": "inbox", "input": {"requests": [EMAIL]}})

        await asyncio.gather(*(one() for _ in range(count)))
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            body = {"status": "interrupted", "metadata": {"suite": tag}}
            if (await http.post("/threads/count", json=body)).json() >= count:
                return
            await asyncio.sleep(0.5)
        raise RuntimeError(f"the server did not interrupt {count} threads in time")


async def _measure(url: str, workdir: Path) -> dict[str, float]:
    tag = uuid.uuid4().hex
    began = time.perf_counter()
    await _create_threads(url, THREADS, tag)
    print(f"set-up: {THREADS} interrupted threads in {time.perf_counter() - began:.1f} s",
          flush=True)

    store = open_store("sqlite:///" + str(workdir / "bench.db"))
    source = LangGraphSource("lg", {"url": url, "metadata": {"suite": tag}})
    runtime = Runtime(store, [source])
    actions = ActionService(store)
    connected = time.perf_counter()
    await runtime.start()
    try:
        while await asyncio.to_thread(actions.count) < THREADS:
            if time.perf_counter() - connected > 120:
                raise RuntimeError("the queue never filled")
            await asyncio.sleep(0.02)
        fill_s = time.perf_counter() - connected
        print(f"(a) {THREADS} threads pending in the Queue {fill_s:.2f} s after connecting",
              flush=True)

        accepted: dict[str, float] = {}
        client = source._client
        assert client is not None
        original = client.resume

        async def timed_resume(thread_id: str, assistant_id: str, value: Any) -> Any:
            receipt = await original(thread_id, assistant_id, value)
            accepted[thread_id] = time.perf_counter()
            return receipt

        client.resume = timed_resume  # type: ignore[method-assign]
        decisions = DecisionService(store)
        rows = (await asyncio.to_thread(actions.queue_rows))[:VERDICTS]
        latencies: list[float] = []
        for row in rows:
            thread_id = (await asyncio.to_thread(actions.get, row.id)).source_ref.split("/")[0]
            start = time.perf_counter()
            await asyncio.to_thread(decisions.decide, row.id, Verdict.APPROVE, reviewer="bench")
            while thread_id not in accepted:
                if time.perf_counter() - start > 30:
                    raise RuntimeError(f"verdict on action {row.id} never delivered")
                await asyncio.sleep(0.002)
            latencies.append((accepted[thread_id] - start) * 1000)
        delivered = sum(1 for r in rows
                        if actions.get(r.id).state is ActionState.DELIVERED)
        print(f"(b) verdict → resume accepted over {len(latencies)} verdicts: "
              f"p50 {statistics.median(latencies):.1f} ms, p95 {_pct(latencies, 95):.1f} ms "
              f"({delivered} marked delivered)", flush=True)
        return {"queue_fill_1000_threads_s": round(fill_s, 3),
                "verdict_to_resume_p50_ms": round(statistics.median(latencies), 2),
                "verdict_to_resume_p95_ms": round(_pct(latencies, 95), 2)}
    finally:
        await runtime.stop()
        store.dispose()


def run() -> dict[str, float]:
    """Start a server, measure (a) and (b), stop it; returns the figures."""
    with tempfile.TemporaryDirectory(prefix="cs-bench-lg-") as tmp:
        workdir = Path(tmp)
        project = workdir / "project"
        project.mkdir()
        server = make_server(project)
        server.start()
        try:
            return asyncio.run(_measure(server.url, workdir))
        finally:
            server.stop()


if __name__ == "__main__":
    print(run())
