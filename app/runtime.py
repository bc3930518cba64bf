"""The runtime: sources → ingest → store → dispatcher, on whatever asyncio loop it is
given. The GUI runs it on the qasync loop; ``countersign worker`` runs it headless.

Its loops are small and independent: expiry (deadlines passed → *expired*, which the
agent hears), delivery (outbox → the source that can deliver, with backoff), and the
sources themselves, each isolated: a source that raises is marked failing with its
error and restarted with backoff, and never stops the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from .plugin_api import (
    DeliversDecisions,
    Delivery,
    DeliveryOutcome,
    HealthReport,
    Source,
    SourceContext,
    TransientSourceError,
)
from .secrets import redact
from .services.actions import ActionService
from .services.decisions import DecisionService
from .store.engine import Store, StoreError

log = logging.getLogger("countersign.runtime")

T = TypeVar("T")

#: Delivery retry backoff: 0.5 s doubling to 60 s.
BACKOFF_START = 0.5
BACKOFF_MAX = 60.0


class SourceStatus(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    FAILING = "failing"
    STOPPED = "stopped"


@dataclass
class SourceHealth:
    """What the status bar and the Connections dialog show about one source."""

    name: str
    status: SourceStatus = SourceStatus.STARTING
    last_error: str | None = None
    failures: int = 0
    last_ok: float | None = None
    retry_at: float | None = None
    #: When the source last reported a successful sync (`SourceContext.report_ok`).
    last_sync: float | None = None


@dataclass
class RuntimeStats:
    expired: int = 0
    delivered: int = 0
    delivery_errors: int = 0
    store_errors: list[str] = field(default_factory=list)


def backoff(attempt: int) -> float:
    return float(min(BACKOFF_MAX, BACKOFF_START * 2 ** max(0, attempt - 1)))


def describe(exc: BaseException) -> str:
    """``Type: message`` (or just the type) for health and outbox errors, with every
    secret taken out (`redact`): the message may quote what a server answered."""
    text = str(exc)
    return redact(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


class Runtime:
    def __init__(
        self,
        store: Store,
        sources: Sequence[Source] = (),
        *,
        expiry_interval: float = 0.25,
        # 50 ms: a verdict reaches its source within p95 ≤ 100 ms (bench_langgraph)
        # even without a `wake_delivery` call from the process that decided.
        delivery_interval: float = 0.05,
        on_health: Callable[[SourceHealth], None] | None = None,
        start_timeout: float = 30.0,
        stop_timeout: float = 5.0,
        deliver_timeout: float = 60.0,
    ) -> None:
        self.store = store
        self.sources = list(sources)
        self.expiry_interval = expiry_interval
        self.delivery_interval = delivery_interval
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.deliver_timeout = deliver_timeout
        #: Who claims outbox rows: unique per runtime, readable in the store.
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[-100:]
        #: How long a claim holds unconfirmed: a delivery may take `deliver_timeout`;
        #: a worker that died gives its rows up after this.
        self.claim_lease = deliver_timeout + 30.0
        self.health = {s.name: SourceHealth(s.name) for s in self.sources}
        self.stats = RuntimeStats()
        self._on_health = on_health
        self._decisions = DecisionService(store)
        self._actions = ActionService(store)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._started: list[Source] = []
        self._attempts: dict[str, int] = {}
        #: Sources with a delivery batch in flight (one at a time per source).
        self._delivering: set[str] = set()
        self._wake = asyncio.Event()

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        self._spawn(self._expiry_loop(), "expiry")
        self._spawn(self._delivery_loop(), "delivery")
        for source in self.sources:
            self._spawn(self._run_source(source), f"source:{source.name}")

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(task), timeout=self.stop_timeout)
        for source in reversed(self._started):
            await self._stop_quietly(source)
            self._set(source.name, status=SourceStatus.STOPPED)
        self._started.clear()

    def wake_delivery(self) -> None:
        """Look for due deliveries now instead of at the next tick (call it after a
        decision made in this process; other processes are picked up by polling)."""
        self._wake.set()

    def _spawn(self, coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        task: asyncio.Task[T] = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _bounded(self, coro: Coroutine[Any, Any, T], timeout: float, what: str) -> T:
        """Await plugin code with a deadline that holds even if the plugin swallows
        cancellation: on timeout the task is cancelled and abandoned (kept referenced
        until it ends) and `TimeoutError` names what hung."""
        task = self._spawn(coro, what)
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            task.cancel()
            raise TimeoutError(f"{what} did not finish within {timeout:g}s")
        return task.result()

    def _set(self, name: str, **changes: object) -> None:
        health = self.health[name]
        for key, value in changes.items():
            if key == "last_error" and isinstance(value, str):
                value = redact(value)  # shown in the status bar and logged by workers
            setattr(health, key, value)
        if self._on_health is not None:
            try:
                self._on_health(health)
            except Exception:  # a broken listener must not break the source
                log.exception("health listener failed")

    # -- sources ---------------------------------------------------------------------

    def _reporter(self, name: str, restart: asyncio.Event) -> HealthReport:
        def report(exc: BaseException | None, wants_restart: bool) -> None:
            now = time.time()
            if exc is None:
                self._attempts[name] = 0
                self._set(name, status=SourceStatus.RUNNING, last_error=None, last_ok=now,
                          last_sync=now, retry_at=None)
                return
            self._set(name, status=SourceStatus.FAILING, last_error=describe(exc),
                      failures=self.health[name].failures + 1)
            if wants_restart:
                restart.set()

        return report

    async def _stop_quietly(self, source: Source) -> None:
        try:
            await self._bounded(source.stop(), self.stop_timeout, f"stop of {source.name}")
        except Exception as exc:  # a source that cannot stop must not block the others
            log.warning("source %s did not stop cleanly: %s", source.name, describe(exc))

    async def _run_source(self, source: Source) -> None:
        """Start the source and keep it running: a failed or hanging start, or a
        background failure reported with ``restart``, stops it and starts it again
        after a backoff. Nothing a source does reaches the other sources."""
        name = source.name
        while True:
            restart = asyncio.Event()
            context = SourceContext(self.store, name, on_health=self._reporter(name, restart))
            try:
                self._set(name, status=SourceStatus.STARTING)
                await self._bounded(source.start(context), self.start_timeout,
                                    f"start of {name}")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._stop_quietly(source)
                await self._fail_and_wait(name, f"start failed: {describe(exc)}")
                continue
            if source not in self._started:
                self._started.append(source)
            now = time.time()
            self._set(name, status=SourceStatus.RUNNING, last_ok=now, retry_at=None,
                      last_error=None)
            await restart.wait()
            if source in self._started:
                self._started.remove(source)
            error = self.health[name].last_error or "background task failed"
            await self._stop_quietly(source)
            await self._fail_and_wait(name, error)

    async def _fail_and_wait(self, name: str, error: str) -> None:
        attempt = self._attempts.get(name, 0) + 1
        self._attempts[name] = attempt
        delay = backoff(attempt)
        log.warning("source %s failing: %s (restart in %.1fs)", name, error, delay)
        self._set(name, status=SourceStatus.FAILING, last_error=error, failures=attempt,
                  retry_at=time.time() + delay)
        await asyncio.sleep(delay)

# -- expiry ----------------------------------------------------------------------

    async def _expiry_loop(self) -> None:
        while True:
            try:
                expired = await asyncio.to_thread(self._decisions.expire_due)
                self.stats.expired += len(expired)
            except StoreError as exc:
                self._store_error(exc)
            await asyncio.sleep(self.expiry_interval)

    def _store_error(self, exc: Exception) -> None:
        text = redact(str(exc))
        log.error("%s", text)
        self.stats.store_errors = [*self.stats.store_errors[-9:], text]

    # -- delivery --------------------------------------------------------------------

    def _deliverers(self) -> dict[str, DeliversDecisions]:
        return {
            s.name: s
            for s in self._started
            if isinstance(s, DeliversDecisions)
        }

    async def _delivery_loop(self) -> None:
        """Hand due outbox rows to their sources: one batch in flight per source, so a
        slow or hanging source never delays another's deliveries."""
        while True:
            deliverers = self._deliverers()
            idle = [n for n in deliverers if n not in self._delivering]
            if idle:
                try:
                    due = await asyncio.to_thread(
                        self._decisions.claim_deliveries, idle, worker=self.worker_id,
                        lease=self.claim_lease)
                except StoreError as exc:
                    self._store_error(exc)
                    due = []
                batches: dict[str, list[tuple[int, int, int]]] = {}
                for outbox_id, decision_id, action_id, source in due:
                    batches.setdefault(source, []).append((outbox_id, decision_id, action_id))
                for source, rows in batches.items():
                    self._delivering.add(source)
                    self._spawn(self._deliver_batch(deliverers[source], source, rows),
                                f"deliver:{source}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.delivery_interval)
            self._wake.clear()

    async def _deliver_batch(self, source: DeliversDecisions, name: str,
                             rows: list[tuple[int, int, int]]) -> None:
        """Deliver rows this worker claimed, confirming each claim right before it is
        sent (another worker may have taken a row whose claim lapsed); rows neither
        settled nor rescheduled (skipped, failed on the store, or the runtime
        stopping) are given back for any worker to take."""
        held = [outbox_id for outbox_id, _, _ in rows]
        try:
            for outbox_id, decision_id, action_id in rows:
                try:
                    mine = await asyncio.to_thread(
                        self._decisions.renew_claim, outbox_id, worker=self.worker_id,
                        lease=self.claim_lease)
                    if not mine or await self._deliver(source, outbox_id, decision_id,
                                                       action_id):
                        held.remove(outbox_id)
                except StoreError as exc:
                    self._store_error(exc)
        finally:
            self._delivering.discard(name)
            if held:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self._decisions.release_claims, held,
                                            worker=self.worker_id)

    async def _deliver(self, source: DeliversDecisions, outbox_id: int, decision_id: int,
                       action_id: int) -> bool:
        """Hand one decision to its source; True when the row was settled or
        rescheduled (which clears the claim), False when it was skipped."""
        name = getattr(source, "name", "?")
        action = await asyncio.to_thread(self._actions.get, action_id)
        decision = await asyncio.to_thread(self._decisions.get, action_id)
        if decision is None or decision.id != decision_id:
            return False
        meta = await asyncio.to_thread(self._actions.source_meta, action_id)
        delivery = Delivery(action=action, decision=decision, source_meta=meta)
        try:
            result = await self._bounded(source.deliver(delivery), self.deliver_timeout,
                                         f"delivery of action {action_id} to {name}")
        except (TransientSourceError, TimeoutError, OSError) as exc:
            await self._retry(outbox_id, describe(exc))
            return True
        except Exception as exc:  # a plugin bug: shown on the decision, never fatal
            log.warning("source %s failed delivering action %d: %s", name, action_id,
                        describe(exc))
            await asyncio.to_thread(self._decisions.mark_failed, decision_id,
                                    actor=f"source:{name}", why=describe(exc))
            self.stats.delivery_errors += 1
            return True
        actor = f"source:{name}"
        if result.outcome is DeliveryOutcome.DELIVERED:
            await asyncio.to_thread(self._decisions.mark_delivered, decision_id, actor=actor)
            self.stats.delivered += 1
        elif result.outcome is DeliveryOutcome.STALE:
            await asyncio.to_thread(self._decisions.mark_stale, decision_id, actor=actor,
                                    why=redact(result.detail or "the agent no longer waits "
                                               "for it"))
        elif result.outcome is DeliveryOutcome.RETRY:
            await self._retry(outbox_id, redact(result.detail or "retry"))
        else:
            await asyncio.to_thread(self._decisions.mark_failed, decision_id, actor=actor,
                                    why=redact(result.detail or "delivery failed"))
            self.stats.delivery_errors += 1
        return True

    async def _retry(self, outbox_id: int, error: str) -> None:
        self.stats.delivery_errors += 1
        await asyncio.to_thread(self._decisions.note_delivery_error, outbox_id, error=error,
                                backoff=backoff)
