"""The LangGraph source: a LangGraph server's interrupted threads are the queue.

Ingest keeps up without re-reading everything: each poll asks `/threads/search` only
for threads updated since the last watermark (any status, with their state values, so
1,000 new threads cost five requests, not a thousand). New interrupts become actions
(one per action request; ids derived from thread, interrupt and index, so asking
again is a no-op). A thread that moved on while an action of it was pending (resumed
elsewhere, failed, deleted) gets that action *withdrawn*; a graph error is shown on
the action. Every ``resync_interval`` (and after an outage) a full listing of the
interrupted threads catches anything the watermark missed.

Delivery answers one interrupt at a time: its actions must all be decided (the
earlier ones wait with RETRY), then, if the thread still waits on that very interrupt,
one resume carries every decision in the format the interrupt came in; the siblings
are marked delivered with it. An interrupt already resumed is never resumed twice.
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
    ActionState,
    Delivery,
    DeliveryOutcome,
    DeliveryResult,
    SourceContext,
    TransientSourceError,
    Verdict,
    get_secret,
)

from .client import (
    ConflictError,
    InterruptedThread,
    LangGraphClient,
    NotFoundError,
    PermanentError,
    TransientError,
)
from .config import LangGraphConfig
from .payloads import (
    InterruptedAction,
    PayloadError,
    ResumeError,
    build_command_resume,
    build_resume_value,
    graph_error,
    pending_interrupt_ids,
)
from .reasoning import reasoning_spans, trace_id_for
from .verdicts import NotResumable, resume_decision, sibling_refs, source_meta, spec_from_meta


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
        #: (thread, interrupt) resumed by this console → never resumed twice.
        self._resumed: set[tuple[str, str]] = set()
        #: thread → action ids we delivered, to show a graph error that follows.
        self._delivered: dict[str, set[int]] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

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
            await self._settle_moved_on(thread, live, by_thread.pop(thread.thread_id, {}))
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
                    await self._withdraw([a for ids in groups.values() for a in ids],
                                         "the thread was deleted on the server")
                    continue
                thread = InterruptedThread.model_validate(raw)
                live = (pending_interrupt_ids(thread.interrupts)
                        if thread.status == "interrupted" else [])
                await self._settle_moved_on(thread, live, groups)
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

    async def _settle_moved_on(self, thread: InterruptedThread, live: list[str],
                               pending: dict[str, list[int]]) -> None:
        """Withdraw pending actions whose interrupt is gone; show a graph error on ours.

        A busy thread is left alone: it is running (perhaps resuming another of its
        interrupts) and shows up again, updated, when the run ends.
        """
        assert self._context is not None and self._client is not None
        if thread.status == "busy":
            return
        gone = {iid: ids for iid, ids in pending.items() if iid not in live}
        error: str | None = None
        if thread.status == "error" and (gone or thread.thread_id in self._delivered):
            with contextlib.suppress(TransientError, PermanentError):
                found = graph_error(await self._client.get_thread(thread.thread_id))
                error = f"graph error: {found.error}: {found.message}" if found else None
            error = error or "graph error (thread status is error)"
            for action_id in self._delivered.pop(thread.thread_id, set()):
                await self._context.note_error(action_id, error)
        for ids in gone.values():
            reason = error or (f"resumed elsewhere: the thread is now {thread.status} and "
                               f"no longer waits on this interrupt")
            for action_id in ids:
                await self._context.withdraw(action_id, reason)

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
        """Resume the interrupt once all its actions are decided (see module doc)."""
        spec = spec_from_meta(delivery.source_meta)
        key = (spec.thread_id, spec.interrupt_id)
        async with self._locks.setdefault(key, asyncio.Lock()):
            if key in self._resumed:
                return DeliveryResult(DeliveryOutcome.DELIVERED, "resumed with its siblings")
            result = await self._deliver_interrupt(spec, delivery)
        if result.outcome is not DeliveryOutcome.RETRY:
            self._locks.pop(key, None)
        return result

    async def _deliver_interrupt(self, spec: InterruptedAction,
                                 delivery: Delivery) -> DeliveryResult:
        context, client = self._context, self._client
        if context is None or client is None:
            raise TransientSourceError("the LangGraph source is not running")
        refs = sibling_refs(spec)
        ids = await context.find_actions(refs)
        siblings: list[tuple[InterruptedAction, Any, int]] = []
        waiting = 0
        for ref in refs:
            action_id = ids.get(ref)
            if action_id is None:
                return DeliveryResult(DeliveryOutcome.FAILED, f"sibling action {ref} is missing")
            decision = (delivery.decision if action_id == delivery.action.id
                        else await context.decision(action_id))
            if decision is None:
                state = (await context.action(action_id)).state
                if state is not ActionState.PENDING:
                    return DeliveryResult(DeliveryOutcome.STALE,
                                          f"sibling action {action_id} is {state.value}")
                waiting += 1
                continue
            sibling = (spec if action_id == delivery.action.id
                       else spec_from_meta(await context.source_meta(action_id)))
            siblings.append((sibling, decision, action_id))
        if waiting:
            return DeliveryResult(DeliveryOutcome.RETRY, f"waiting for the other {waiting} "
                                  f"decision(s) of this interrupt")
        try:
            decisions = [resume_decision(s, d) for s, d, _ in siblings]
        except NotResumable as exc:
            return DeliveryResult(DeliveryOutcome.STALE, str(exc))
        try:
            thread = await client.get_thread(spec.thread_id)
        except NotFoundError:
            await self._withdraw(ids.values(), "the thread was deleted on the server")
            return DeliveryResult(DeliveryOutcome.STALE, "the thread no longer exists")
        except TransientError as exc:
            raise TransientSourceError(str(exc)) from exc
        live = pending_interrupt_ids(thread.get("interrupts") or {})
        if thread.get("status") != "interrupted" or spec.interrupt_id not in live:
            await self._withdraw(ids.values(), "resumed elsewhere: the thread no longer "
                                 "waits on this interrupt")
            return DeliveryResult(DeliveryOutcome.STALE, "the thread no longer waits on this "
                                  "interrupt (resumed elsewhere); nothing was sent")
        try:
            value = build_resume_value([s for s, _, _ in siblings], decisions)
            resume = build_command_resume({spec.interrupt_id: value}, live)
        except ResumeError as exc:
            return DeliveryResult(DeliveryOutcome.FAILED, str(exc))
        assistant = str(delivery.source_meta.get("assistant_id") or self.config.assistant_id
                        or self.config.graph_id or "")
        try:
            await client.resume(spec.thread_id, assistant, resume)
        except ConflictError:
            return DeliveryResult(DeliveryOutcome.STALE, "the thread is busy with another run")
        except TransientError as exc:
            raise TransientSourceError(str(exc)) from exc
        except PermanentError as exc:
            return DeliveryResult(DeliveryOutcome.FAILED, str(exc))
        self._resumed.add((spec.thread_id, spec.interrupt_id))
        self._delivered.setdefault(spec.thread_id, set()).update(a for _, _, a in siblings)
        for _, decision, action_id in siblings:
            if action_id != delivery.action.id:
                await context.mark_delivered(decision.id)
        return DeliveryResult(DeliveryOutcome.DELIVERED)

    async def _withdraw(self, action_ids: Any, reason: str) -> None:
        assert self._context is not None
        for action_id in action_ids:
            await self._context.withdraw(action_id, reason)

