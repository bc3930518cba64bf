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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from .plugin_api import (
    Delivery,
    DeliveryOutcome,
    DeliversDecisions,
    Source,
    SourceContext,
    TransientSourceError,
)
from .services.actions import ActionService
from .services.decisions import DecisionService
from .store.engine import Store, StoreError

log = logging.getLogger("countersign.runtime")

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
    name: str
    status: SourceStatus = SourceStatus.STARTING
    last_error: str | None = None
    failures: int = 0
    last_ok: float | None = None
    retry_at: float | None = None


@dataclass
class RuntimeStats:
    expired: int = 0
    delivered: int = 0
    delivery_errors: int = 0
    store_errors: list[str] = field(default_factory=list)


def backoff(attempt: int) -> float:
    return float(min(BACKOFF_MAX, BACKOFF_START * 2 ** max(0, attempt - 1)))


class Runtime:
    def __init__(
        self,
        store: Store,
        sources: Sequence[Source] = (),
        *,
        expiry_interval: float = 0.25,
        delivery_interval: float = 0.1,
        on_health: Callable[[SourceHealth], None] | None = None,
    ) -> None:
        self.store = store
        self.sources = list(sources)
        self.expiry_interval = expiry_interval
        self.delivery_interval = delivery_interval
        self.health = {s.name: SourceHealth(s.name) for s in self.sources}
        self.stats = RuntimeStats()
        self._on_health = on_health
        self._decisions = DecisionService(store)
        self._actions = ActionService(store)
        self._tasks: set[asyncio.Task[None]] = set()
        self._started: list[Source] = []

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
                await task
        for source in reversed(self._started):
            try:
                await asyncio.wait_for(source.stop(), timeout=5)
            except Exception as exc:  # a source that cannot stop must not block quitting
                log.warning("source %s did not stop cleanly: %s", source.name, exc)
            self._set(source.name, status=SourceStatus.STOPPED)
        self._started.clear()

    def _spawn(self, coro: object, name: str) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro, name=name)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _set(self, name: str, **changes: object) -> None:
        health = self.health[name]
        for key, value in changes.items():
            setattr(health, key, value)
        if self._on_health is not None:
            self._on_health(health)

    # -- sources ---------------------------------------------------------------------

    async def _run_source(self, source: Source) -> None:
        """Start the source; on failure mark it failing and retry with backoff."""
        attempt = 0
        while True:
            try:
                self._set(source.name, status=SourceStatus.STARTING)
                await asyncio.wait_for(source.start(SourceContext(self.store, source.name)),
                                       timeout=30)
                self._started.append(source)
                self._set(source.name, status=SourceStatus.RUNNING, last_error=None,
                          last_ok=time.time(), retry_at=None)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                attempt += 1
                delay = backoff(attempt)
                text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                log.warning("source %s failed to start: %s (retry in %.1fs)", source.name,
                            text, delay)
                self._set(source.name, status=SourceStatus.FAILING, last_error=text,
                          failures=attempt, retry_at=time.time() + delay)
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
        log.error("%s", exc)
        self.stats.store_errors = [*self.stats.store_errors[-9:], str(exc)]

    # -- delivery --------------------------------------------------------------------

    def _deliverers(self) -> dict[str, DeliversDecisions]:
        return {
            s.name: s
            for s in self._started
            if isinstance(s, DeliversDecisions)
        }

    async def _delivery_loop(self) -> None:
        while True:
            deliverers = self._deliverers()
            if deliverers:
                try:
                    due = await asyncio.to_thread(self._decisions.due_deliveries, list(deliverers))
                    for outbox_id, decision_id, action_id, source in due:
                        await self._deliver(deliverers[source], outbox_id, decision_id, action_id)
                except StoreError as exc:
                    self._store_error(exc)
            await asyncio.sleep(self.delivery_interval)

    async def _deliver(self, source: DeliversDecisions, outbox_id: int, decision_id: int,
                       action_id: int) -> None:
        name = getattr(source, "name", "?")
        action = await asyncio.to_thread(self._actions.get, action_id)
        decision = await asyncio.to_thread(self._decisions.get, action_id)
        if decision is None or decision.id != decision_id:
            return
        meta = await asyncio.to_thread(self._actions.source_meta, action_id)
        delivery = Delivery(action=action, decision=decision, source_meta=meta, siblings={})
        try:
            result = await asyncio.wait_for(source.deliver(delivery), timeout=60)
        except (TransientSourceError, TimeoutError, OSError) as exc:
            await self._retry(outbox_id, f"{type(exc).__name__}: {exc}")
            return
        except Exception as exc:
            await asyncio.to_thread(self._decisions.mark_failed, decision_id,
                                    actor=f"source:{name}", why=f"{type(exc).__name__}: {exc}")
            self.stats.delivery_errors += 1
            return
        actor = f"source:{name}"
        if result.outcome is DeliveryOutcome.DELIVERED:
            await asyncio.to_thread(self._decisions.mark_delivered, decision_id, actor=actor)
            self.stats.delivered += 1
        elif result.outcome is DeliveryOutcome.STALE:
            await asyncio.to_thread(self._decisions.mark_stale, decision_id, actor=actor,
                                    why=result.detail or "the agent no longer waits for it")
        elif result.outcome is DeliveryOutcome.RETRY:
            await self._retry(outbox_id, result.detail or "retry")
        else:
            await asyncio.to_thread(self._decisions.mark_failed, decision_id, actor=actor,
                                    why=result.detail or "delivery failed")
            self.stats.delivery_errors += 1

    async def _retry(self, outbox_id: int, error: str) -> None:
        self.stats.delivery_errors += 1

        def work() -> None:
            from .store.models import OutboxRow

            with self.store.read() as session:
                row = session.get(OutboxRow, outbox_id)
                attempts = (row.attempts if row else 0) + 1
            self._decisions.note_delivery_error(
                outbox_id, error=error, retry_at=time.time() + backoff(attempts)
            )

        await asyncio.to_thread(work)
