"""The LangGraph source: a LangGraph server's interrupted threads are the queue.

Ingest keeps up without re-reading everything: each poll asks `/threads/search` only
for threads updated since the last watermark (any status, with their state values, so
1,000 new threads cost five requests, not a thousand). New interrupts become actions
(one per action request; ids derived from thread, interrupt and index, so asking
again is a no-op). A thread that moved on while an action of it was pending (resumed
elsewhere, deleted) gets that action *withdrawn*; a failed run is shown on the actions
and leaves answerable the ones the thread still waits on (see `upkeep`). Every
``resync_interval`` (and after an outage) a full listing of the interrupted threads
catches anything the watermark missed, re-queues verdicts a stranded thread still
waits for, and offers again the interrupts it still waits on whose actions an older
Countersign withdrew (the core makes such an action pending again, on the record).

Delivery (see `delivery`) sends, in one resume keyed by interrupt id, every verdict of
the thread that is due, once all actions of an interrupt are decided; a running
thread is retried shortly, and nothing is ever sent to an interrupt no longer pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from countersign.plugin_api import (
    ActionRequest,
    Delivery,
    DeliveryResult,
    SourceContext,
    TransientSourceError,
    Verdict,
    get_secret,
)

from .client import (
    InterruptedThread,
    LangGraphClient,
    NotFoundError,
    PermanentError,
    TransientError,
)
from .config import LangGraphConfig
from .delivery import Deliverer
from .payloads import PayloadError, pending_interrupt_ids
from .reasoning import reasoning_spans, trace_id_for
from .upkeep import requeue_stranded, settle_moved_on
from .verdicts import source_meta


class LangGraphSource:
    """Source + DeliversDecisions + ChecksConnection for one LangGraph server."""

    def __init__(self, name: str = "langgraph",
                 config: LangGraphConfig | Mapping[str, Any] | None = None, *,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.name = name
        self.config = (config if isinstance(config, LangGraphConfig)
                       else LangGraphConfig.model_validate(dict(config or {})))
        self._transport = transport  # tests only: an httpx mock transport
        self._client: LangGraphClient | None = None
        self._context: SourceContext | None = None
        self._task: asyncio.Task[Any] | None = None
        self._watermark: datetime | None = None
        #: Interrupt ids of each thread already turned into actions.
        self._known: dict[str, frozenset[str]] = {}
        self._deliverer = Deliverer(self.config.assistant_id or self.config.graph_id or "")

    # -- lifecycle -------------------------------------------------------------------

    async def _make_client(self) -> LangGraphClient:
        # The keyring may do blocking I/O (D-Bus, Keychain): not on the event loop.
        key = (await asyncio.to_thread(get_secret, self.config.api_key)
               if self.config.api_key else None)
        return LangGraphClient(self.config.url, api_key=key, timeout=self.config.timeout,
                               transport=self._transport)

    def _filters(self) -> dict[str, Any]:
        return {"graph_id": self.config.graph_id, "assistant_id": self.config.assistant_id,
                "metadata": self.config.metadata}

    async def check(self) -> str:
        """Connect (with the API key), then count the interrupted threads we would see."""
        async with await self._make_client() as client:
            try:
                await client.health()
                metadata = dict(self.config.metadata or {})
                for key in ("graph_id", "assistant_id"):
                    if getattr(self.config, key):
                        metadata[key] = getattr(self.config, key)
                count = await client.count_threads(status="interrupted", metadata=metadata)
            except TransientError as exc:
                raise ConnectionError(str(exc)) from None
        return f"{self.config.url} answers; {count} interrupted thread(s) match"

    async def start(self, context: SourceContext) -> None:
        """Connect and start polling; returns at once (a missing API key raises here)."""
        await self.stop()
        self._context = context
        self._client = await self._make_client()
        self._watermark = None
        self._known.clear()
        self._task = context.run_task(self._poll_loop(), "poll")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    # -- ingest ----------------------------------------------------------------------

    async def _poll_loop(self) -> None:
        assert self._context is not None
        context, last_full = self._context, float("-inf")
        while True:
            full = time.monotonic() - last_full >= self.config.resync_interval
            try:
                await self.sync(full=full)
            except (TransientError, PermanentError) as exc:
                context.report_failure(exc)  # keep polling: the server may come back
                last_full = float("-inf")  # after an outage, re-list everything once
            else:
                if full:
                    last_full = time.monotonic()
                context.report_ok()
            await asyncio.sleep(self.config.poll_interval)

    async def sync(self, *, full: bool) -> int:
        """One poll; returns how many actions were created."""
        assert self._client is not None and self._context is not None
        # Values come with the search (one request per page instead of one per thread)
        # except on periodic re-listings, which mostly see threads already known.
        first = self._watermark is None
        result = await self._client.search_threads(
            status="interrupted" if full else None,
            since=None if full else self._watermark,
            page_size=self.config.page_size, include_values=first or not full,
            **self._filters())
        if result.watermark is not None and (self._watermark is None
                                             or result.watermark > self._watermark):
            self._watermark = result.watermark
        if not result.threads and not full:
            return 0
        pending = await self._context.pending_refs()
        by_thread: dict[str, dict[str, list[int]]] = {}
        for ref, action_id in pending.items():
            thread_id, _, rest = ref.partition("/")
            by_thread.setdefault(thread_id, {}).setdefault(rest.partition("/")[0], []).append(
                action_id)
        fresh: list[InterruptedThread] = []
        for thread in result.threads:
            live = (pending_interrupt_ids(thread.interrupts)
                    if thread.status == "interrupted" else [])
            await settle_moved_on(self._context, self._client, self._deliverer.delivered,
                                  thread, by_thread.pop(thread.thread_id, {}))
            if live and self._known.get(thread.thread_id) != frozenset(live):
                fresh.append(thread)
                self._known[thread.thread_id] = frozenset(live)
        requests: list[ActionRequest] = []
        for thread in await self._with_values(fresh):
            requests += self._requests(thread, pending)
        if full:  # pending actions of threads the listing no longer shows as interrupted
            for thread_id, groups in by_thread.items():
                self._known.pop(thread_id, None)
                try:
                    raw = await self._client.get_thread(thread_id)
                except NotFoundError:
                    for action_id in (a for ids in groups.values() for a in ids):
                        await self._context.withdraw(action_id,
                                                     "the thread was deleted on the server")
                    continue
                await settle_moved_on(self._context, self._client, self._deliverer.delivered,
                                      InterruptedThread.model_validate(raw), groups)
            await requeue_stranded(self._context, result.threads, pending)
        created = await self._context.request_actions(requests) if requests else []
        return sum(1 for _, new in created if new)

    async def _with_values(self, threads: list[InterruptedThread]) -> list[InterruptedThread]:
        """The threads with their state values, fetched (16 at a time) where missing."""
        assert self._client is not None
        client, gate = self._client, asyncio.Semaphore(16)

        async def fill(thread: InterruptedThread) -> InterruptedThread:
            if thread.values is not None:
                return thread
            async with gate:
                state = await client.get_state(thread.thread_id)
            return thread.model_copy(update={"values": state.values})

        return list(await asyncio.gather(*(fill(t) for t in threads)))

    def _requests(self, thread: InterruptedThread,
                  pending: Mapping[str, int]) -> list[ActionRequest]:
        errors: list[PayloadError] = []
        specs = thread.actions(errors)
        graph_id = thread.graph_id or self.config.graph_id
        assistant_id = (str(thread.metadata.get("assistant_id") or "")
                        or self.config.assistant_id or graph_id or "")
        agent = graph_id or assistant_id or "langgraph"
        end_ns = int(thread.updated_at.timestamp() * 1e9)
        out: list[ActionRequest] = []
        spans_for: dict[str, tuple[list[Any], str | None]] = {}
        for spec in specs:
            if spec.source_ref in pending:
                continue
            if spec.interrupt_id not in spans_for:
                spans_for[spec.interrupt_id] = reasoning_spans(
                    thread.thread_id, spec.interrupt_id, thread.values, agent=agent,
                    end_ns=end_ns)
            spans, proposer = spans_for[spec.interrupt_id]
            out.append(ActionRequest(
                agent=agent, agent_id=assistant_id or None, action_class=spec.action_class,
                arguments=spec.arguments, arguments_schema=spec.arguments_schema,
                description=spec.description or "", source_ref=spec.source_ref,
                source_meta=source_meta(spec, assistant_id=assistant_id, graph_id=graph_id),
                allowed_verdicts=tuple(Verdict(v) for v in spec.allowed_verdicts),
                trace_id=trace_id_for(thread.thread_id, spec.interrupt_id) if spans else None,
                span_id=proposer, reasoning=spans,
            ))
        for exc in errors:  # shown, not dropped: the operator sees the thread is stuck
            ref = f"{thread.thread_id}/{exc.interrupt_id}/unreadable"
            if ref not in pending:
                out.append(ActionRequest(
                    agent=agent, action_class="unreadable interrupt",
                    arguments={"interrupts": thread.interrupts}, source_ref=ref,
                    description="Countersign cannot read this interrupt's payload",
                    allowed_verdicts=(), error=str(exc)))
        return out

    # -- delivery --------------------------------------------------------------------

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        """Resume the thread with this verdict and every other one due (see `delivery`)."""
        context, client = self._context, self._client
        if context is None or client is None:
            raise TransientSourceError("the LangGraph source is not running")
        return await self._deliverer.deliver(context, client, delivery)
