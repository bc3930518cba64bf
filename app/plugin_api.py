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
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from .domain import (
    ActionDetail,
    ActionState,
    DecisionRecord,
    Risk,
    SpanKind,
    SpanRecord,
    Verdict,
)
from .services.actions import ActionRequest, ActionService, store_spans
from .services.decisions import DecisionService
from .store.engine import Store

API_VERSION = 1

__all__ = [
    "API_VERSION",
    "ActionDetail",
    "ActionRequest",
    "ActionState",
    "DecisionRecord",
    "Delivery",
    "DeliveryOutcome",
    "DeliveryResult",
    "DeliversDecisions",
    "Risk",
    "Source",
    "SourceContext",
    "SpanKind",
    "SpanRecord",
    "TransientSourceError",
    "Verdict",
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
    #: Other decided actions that must be delivered together with this one (e.g.
    #: several LangGraph action requests in one interrupt), keyed by action id.
    siblings: dict[int, tuple[ActionDetail, DecisionRecord | None]]


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


class SourceContext:
    """What the runtime lends a source: ingest, withdrawal, and its own logger.

    Every method is a coroutine that does its store work off the event loop.
    """

    def __init__(self, store: Store, source_name: str) -> None:
        self.store = store
        self.source_name = source_name
        self.log = logging.getLogger(f"countersign.source.{source_name}")
        self._actions = ActionService(store)
        self._decisions = DecisionService(store)

    async def request_action(self, request: ActionRequest) -> tuple[int, bool]:
        """Record an action (idempotent on its source reference): (id, created)."""
        request = request.model_copy(update={"source": self.source_name})
        return await asyncio.to_thread(self._actions.request, request)

    async def withdraw(self, action_id: int, reason: str) -> bool:
        return await asyncio.to_thread(
            self._actions.withdraw, action_id, reason=reason, actor=f"source:{self.source_name}"
        )

    async def ingest_spans(self, spans: Sequence[SpanRecord]) -> int:
        def work() -> int:
            with self.store.write() as session:
                return store_spans(session, spans)

        return await asyncio.to_thread(work)

    async def pending_refs(self) -> dict[str, int]:
        """source_ref → action id of this source's actions still pending."""

        def work() -> dict[str, int]:
            from sqlalchemy import select

            from .store.models import ActionRow

            with self.store.read() as session:
                rows = session.execute(
                    select(ActionRow.source_ref, ActionRow.id).where(
                        ActionRow.source == self.source_name,
                        ActionRow.state == ActionState.PENDING.value,
                    )
                ).all()
            return {r[0]: r[1] for r in rows}

        return await asyncio.to_thread(work)

    async def action(self, action_id: int) -> ActionDetail:
        return await asyncio.to_thread(self._actions.get, action_id)

    async def decision(self, action_id: int) -> DecisionRecord | None:
        return await asyncio.to_thread(self._decisions.get, action_id)
