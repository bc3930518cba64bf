"""The plugin API, version 1: the only part of the core that source plugins import.

A source brings actions and/or spans into the console and takes decisions back out.
It is discovered through the ``countersign.sources`` entry-point group, started and
stopped by the `Runtime`, and sees the store only through a `SourceContext`.

Capabilities are Protocols: a source that can hand decisions to its agents also
implements `DeliversDecisions`; the runtime checks with ``isinstance``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from .domain import (
    ActionDetail,
    ActionState,
    AutonomyLevel,
    DecisionRecord,
    EditSeverity,
    Risk,
    SpanKind,
    SpanRecord,
    Verdict,
)
from .domain.autonomy import UnitKey
from .gate import Gate
from .secrets import SecretError, get_secret, redact
from .services.actions import ActionRequest, ActionService, InvalidSchema
from .services.decisions import DecisionService
from .services.history import HistoryReport, PastAction, PastLabel, PastPromotion, PastVerdict
from .store.engine import Store as Store

API_VERSION = 1

__all__ = [
    "API_VERSION",
    "ActionDetail",
    "ActionRequest",
    "ActionState",
    "AutonomyLevel",
    "ChecksConnection",
    "DecisionRecord",
    "DeliversDecisions",
    "Delivery",
    "DeliveryOutcome",
    "DeliveryResult",
    "EditSeverity",
    "HistoryReport",
    "PastAction",
    "PastLabel",
    "PastPromotion",
    "PastVerdict",
    "Risk",
    "SecretError",
    "Source",
    "SourceContext",
    "SpanKind",
    "SpanRecord",
    "Store",
    "TransientSourceError",
    "UnitKey",
    "Verdict",
    "get_secret",
    "redact",
]


class TransientSourceError(Exception):
    """Raised by a source for a failure worth retrying (connection lost, 5xx)."""


class DeliveryOutcome(StrEnum):
    DELIVERED = "delivered"
    #: The agent no longer waits for this action (resumed elsewhere): nothing sent.
    STALE = "stale"
    #: Worth retrying later (the runtime backs off).
    RETRY = "retry"
    #: Will never work (the source said no); shown to the operator.
    FAILED = "failed"


@dataclass(frozen=True)
class DeliveryResult:
    outcome: DeliveryOutcome
    detail: str | None = None


@dataclass(frozen=True)
class Delivery:
    """One decision to hand to the agent, with what the source needs to do it."""

    action: ActionDetail
    decision: DecisionRecord
    source_meta: dict[str, Any]


@runtime_checkable
class Source(Protocol):
    """A source of actions and/or spans. ``start`` must return promptly: long-running
    work goes in tasks the source owns and cancels in ``stop``."""

    name: str

    async def start(self, context: SourceContext) -> None: ...

    async def stop(self) -> None: ...


@runtime_checkable
class DeliversDecisions(Protocol):
    async def deliver(self, delivery: Delivery) -> DeliveryResult: ...


@runtime_checkable
class ChecksConnection(Protocol):
    """A source that can test its connection (``countersign sources check``, the
    Connections dialog's "Test"). Works without ``start``; returns a short health text
    or raises with what is wrong."""

    async def check(self) -> str: ...


#: Called by a source about its own health: (failure or None when fine, restart?).
HealthReport = Callable[[BaseException | None, bool], None]


class SourceContext:
    """What the runtime lends a source: ingest, withdrawal, health reports, and its
    own logger.

    Store methods are coroutines that do their work off the event loop. Health:
    `report_ok` after each successful sync (shown as "last sync"), `report_failure`
    when the source cannot reach its agents (shown as failing with the error), and
    `run_task` for background work whose crash makes the runtime restart the source
    with backoff.
    """

    def __init__(self, store: Store, source_name: str,
                 on_health: HealthReport | None = None) -> None:
        self._store = store
        self.source_name = source_name
        self.log = logging.getLogger(f"countersign.source.{source_name}")
        self._actions = ActionService(store)
        self._decisions = DecisionService(store)
        self._on_health = on_health
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- health ----------------------------------------------------------------------

    def report_ok(self) -> None:
        """The source just synced successfully."""
        if self._on_health is not None:
            self._on_health(None, False)

    def report_failure(self, exc: BaseException, *, restart: bool = False) -> None:
        """The source is failing (it keeps retrying by itself unless ``restart``: then
        the runtime stops it and starts it again with backoff)."""
        if self._on_health is not None:
            self._on_health(exc, restart)

    def run_task(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run background work for the source; if it dies with an exception the source
        is reported failing and restarted. The source still cancels it in ``stop``."""
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.source_name}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self.log.warning("background task %s died: %s: %s", task.get_name(),
                             type(exc).__name__, exc)
            self.report_failure(exc, restart=True)

    # -- store -----------------------------------------------------------------------

    async def request_action(self, request: ActionRequest) -> tuple[int, bool]:
        """Record an action (idempotent on its source reference): (id, created)."""
        return (await self.request_actions([request]))[0]

    async def request_actions(self, requests: Sequence[ActionRequest]) -> list[tuple[int, bool]]:
        """`request_action` for many at once, in one trip off the event loop.

        An agent behind a source is already waiting, so an action whose schema cannot
        be used (not a JSON Schema, a remote or cyclic ``$ref``) is still filed, without
        the schema, with the refusal shown on it and *edit* withdrawn from its verdicts:
        the operator can approve or reject it, never send unchecked edited arguments.
        """
        requests = [r.model_copy(update={"source": self.source_name}) for r in requests]
        return await asyncio.to_thread(lambda: [self._request_one(r) for r in requests])

    def _request_one(self, request: ActionRequest) -> tuple[int, bool]:
        try:
            return self._actions.request(request)
        except InvalidSchema as exc:
            self.log.warning("action %s: %s", request.source_ref, exc)
            allowed = tuple(v for v in request.allowed_verdicts if v is not Verdict.EDIT)
            error = f"{exc}; edits are disabled for this action"
            if request.error:
                error = f"{request.error}; {error}"
            return self._actions.request(request.model_copy(update={
                "arguments_schema": None, "allowed_verdicts": allowed, "error": error}))

    async def withdraw(self, action_id: int, reason: str) -> bool:
        return await asyncio.to_thread(
            self._actions.withdraw, action_id, reason=reason, actor=f"source:{self.source_name}"
        )

    async def ingest_spans(self, spans: Sequence[SpanRecord]) -> int:
        return await asyncio.to_thread(self._actions.ingest_spans, spans, self.source_name)

    async def pending_refs(self) -> dict[str, int]:
        """source_ref → action id of this source's actions still pending."""
        return await asyncio.to_thread(self._actions.pending_refs, self.source_name)

    async def note_error(self, action_id: int, error: str) -> None:
        """Show an error the agent hit on an action (e.g. the graph failed after the
        verdict was delivered); the action's state does not change."""
        await asyncio.to_thread(self._actions.note_error, action_id, error,
                                source=self.source_name)

    async def find_actions(self, refs: Sequence[str]) -> dict[str, int]:
        """source_ref → action id of this source's actions with those refs, any state."""
        wanted = list(refs)
        if not wanted:
            return {}
        return await asyncio.to_thread(self._actions.find_refs, self.source_name, wanted)

    def open_gate(self, *, agent: str, agent_version: str = "",
                  poll_interval: float = 0.04) -> Gate:
        """A gate SDK client on the console's store, for a source that runs agents in
        this process (the demo fleet): its requests go through the same path as any
        agent's, and the source never holds the store itself."""
        return Gate(self._store, agent=agent, agent_version=agent_version,
                    poll_interval=poll_interval)

    async def mark_delivered(self, decision_id: int) -> bool:
        """Settle a decision the source delivered together with another one (e.g. the
        sibling actions of one LangGraph interrupt); idempotent."""
        return await asyncio.to_thread(self._decisions.mark_delivered, decision_id,
                                       actor=f"source:{self.source_name}")

    async def source_meta(self, action_id: int) -> dict[str, Any]:
        """The ``source_meta`` the source stored with the action."""
        return await asyncio.to_thread(self._actions.source_meta, action_id)

    async def action(self, action_id: int) -> ActionDetail:
        return await asyncio.to_thread(self._actions.get, action_id)

    async def decision(self, action_id: int) -> DecisionRecord | None:
        return await asyncio.to_thread(self._decisions.get, action_id)

    async def redeliver(self, action_id: int, *,
                        reason: str = "the agent still waits for it") -> bool:
        """Deliver an already-decided action's verdict again: for a source that finds
        its agent still waiting on a verdict that was settled without reaching it
        (stale or failed). Never re-sends a delivered verdict; False when there was
        nothing to re-queue. Audited as ``delivery.requeued``."""
        return await asyncio.to_thread(self._decisions.requeue_delivery, action_id,
                                       actor=f"source:{self.source_name}", why=reason,
                                       source=self.source_name)

    async def import_history(self, actions: Sequence[PastAction],
                             promotions: Sequence[PastPromotion] = ()) -> HistoryReport:
        """Record this source's past, each event at its own time, through the same units
        of work as live ones (the autonomy policy as it stood then, people's verdicts,
        labels, leads' promotions the rules allow), in one transaction; actions already
        imported are skipped (see `countersign.services.history`)."""
        from .services.history import import_history

        def run() -> HistoryReport:
            with self._store.write() as session:
                return import_history(session, self.source_name, actions, promotions)

        return await asyncio.to_thread(run)

    async def submit_label(self, action_id: int, *, reviewer: str, answers: dict[str, Any],
                           correction: Any = None, keep_last_slot: bool = False) -> bool:
        """Label an action that is in review (under the action rubric) as ``reviewer``:
        a source that knows the truth about its agents' actions (the demo's simulated
        reviewer) files its judgement like any reviewer, claim and audit event
        included. False when the action is not in review, ``reviewer`` labelled it
        already or no slot is free; with ``keep_last_slot`` also when it would take
        the item's last free slot (left to a person). Bad answers raise `ReviewError`
        naming the question."""
        from .services.review import label_action

        return await asyncio.to_thread(
            label_action, self._store, action_id, reviewer=reviewer, answers=answers,
            correction=correction, keep_last_slot=keep_last_slot)
