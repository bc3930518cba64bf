"""A console (store + runtime + LangGraph source) on the session's real server, and
waits on events, for the source's end-to-end tests.

Each console tags its threads with a unique metadata value and its source sees only
those, so tests sharing the session's server do not see each other's threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from countersign.domain import DecisionRecord, DeliveryState, Verdict
from countersign.runtime import Runtime
from countersign.services.actions import ActionService
from countersign.services.decisions import DecisionService
from countersign.store.engine import Store
from countersign.store.migrate import open_store
from countersign_plugins.langgraph.client import LangGraphClient, ThreadState
from countersign_plugins.langgraph.source import LangGraphSource

from .server import LangGraphDevServer
from .test_client import start_thread


async def wait_for(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """`check()` (run off the loop: it may query the store) once it is truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await asyncio.to_thread(check)
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError("timed out waiting")


async def wait_for_async(check: Callable[[], Awaitable[Any]], timeout: float = 20.0) -> Any:
    """`await check()` once it is truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError("timed out waiting")


def decide(store: Store, action_id: int, verdict: Verdict, **kwargs: Any) -> DecisionRecord:
    return DecisionService(store).decide(action_id, verdict, reviewer="ann", **kwargs)


@dataclass
class Console:
    """A store, a runtime with one LangGraph source, and the tag its threads carry."""

    store: Store
    runtime: Runtime
    source: LangGraphSource
    tag: str
    http: httpx.AsyncClient
    client: LangGraphClient

    @property
    def actions(self) -> ActionService:
        return ActionService(self.store)

    @property
    def decisions(self) -> DecisionService:
        return DecisionService(self.store)

    async def thread(self, graph: str, requests: list[dict[str, Any]],
                     messages: list[dict[str, Any]] | None = None) -> str:
        """A thread of one of the review graphs, run to its first interrupt."""
        if messages is None:
            return await start_thread(self.http, graph, requests, {"suite": self.tag})
        thread_id = str((await self.http.post(
            "/threads", json={"metadata": {"suite": self.tag}})).json()["thread_id"])
        await self.http.post(f"/threads/{thread_id}/runs/wait", json={
            "assistant_id": graph, "input": {"requests": requests, "messages": messages}})
        return thread_id

    async def agent_thread(self, graph: str, calls: list[dict[str, Any]]) -> str:
        """A thread of a `create_agent` graph whose model proposes `calls` at once."""
        thread_id = str((await self.http.post(
            "/threads", json={"metadata": {"suite": self.tag}})).json()["thread_id"])
        answer = await self.http.post(f"/threads/{thread_id}/runs/wait", json={
            "assistant_id": graph,
            "input": {"messages": [{"role": "user", "content": json.dumps({"calls": calls})}]}})
        assert "__interrupt__" in answer.json(), answer.text
        return thread_id

    async def pending(self, thread_id: str, count: int = 1) -> list[int]:
        """Ids of the thread's pending actions, once there are ``count``."""
        def found() -> list[int]:
            rows = self.actions.queue_rows()
            return [r.id for r in rows
                    if self.actions.get(r.id).source_ref.startswith(f"{thread_id}/")]
        return list(await wait_for(lambda: (ids if len(ids := found()) >= count else None)))

    async def values(self, thread_id: str, key: str) -> Any:
        """The thread's `key` once it is non-empty (the graph ran to its end)."""
        async def probe() -> Any:
            state = await self.client.get_state(thread_id)
            return (state.values or {}).get(key) if not state.next else None
        return await wait_for_async(probe)

    async def finished(self, thread_id: str, timeout: float = 30.0) -> ThreadState:
        """The thread's state once it is idle (ran to its end)."""
        async def probe() -> ThreadState | None:
            thread = await self.client.get_thread(thread_id)
            if thread.get("status") != "idle":
                return None
            return await self.client.get_state(thread_id)
        state: ThreadState = await wait_for_async(probe, timeout)
        return state

    async def settled(self, action_id: int, timeout: float = 30.0) -> DecisionRecord:
        """The action's decision once its delivery is settled (no longer pending)."""
        def probe() -> DecisionRecord | None:
            decision = self.decisions.get(action_id)
            return (decision if decision is not None
                    and decision.delivery_state is not DeliveryState.PENDING else None)
        record: DecisionRecord = await wait_for(probe, timeout)
        return record


@contextlib.asynccontextmanager
async def open_console(server: LangGraphDevServer, db: Path, *, tag: str,
                       **config: Any) -> AsyncIterator[Console]:
    """A running console on the store file `db`, its source seeing the `tag`ged threads."""
    store = open_store("sqlite:///" + str(db))
    source = LangGraphSource("lg", {"url": server.url, "metadata": {"suite": tag},
                                    "poll_interval": 0.2, "resync_interval": 2.0, **config})
    runtime = Runtime(store, [source], expiry_interval=0.1, delivery_interval=0.05)
    async with httpx.AsyncClient(base_url=server.url, timeout=30.0) as http, \
            LangGraphClient(server.url, timeout=15.0) as client:
        await runtime.start()
        try:
            yield Console(store, runtime, source, tag, http, client)
        finally:
            await runtime.stop()
            store.dispose()
