"""Handing verdicts back to LangGraph threads: the ``deliver`` half of the source.

The rules, whatever the order and timing of the verdicts (issue 14):

- A thread that is running (``busy``, or a resume answered 409) is "try again
  shortly" (RETRY): it is usually still resuming a sibling's verdict.
- Stale — nothing sent — only once the thread has settled (idle, interrupted or
  failed) and its pending interrupts no longer include this one.
- One resume carries every verdict of the thread that is due, keyed by interrupt id:
  all the actions of this interrupt (they can only be answered together, so the
  earlier ones wait with RETRY) and every fully decided interrupt beside it (the
  middleware's ``per_call`` mode raises one interrupt per tool call). The others are
  marked delivered with it, which also saves their round trips.
- A failed thread (status ``error``) still waits on the interrupts of its unfinished
  tasks (its *state* lists them; the thread's own ``interrupts`` may not): they stay
  answerable, and LangGraph re-runs the failed step when the thread is resumed.
- An interrupt this process resumed is never resumed twice.
"""

from __future__ import annotations

import weakref
from asyncio import Lock
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from countersign.domain import DeliveryState
from countersign.plugin_api import (
    ActionState,
    DecisionRecord,
    Delivery,
    DeliveryOutcome,
    DeliveryResult,
    SourceContext,
    TransientSourceError,
)

from .client import ConflictError, LangGraphClient, NotFoundError, PermanentError, TransientError
from .payloads import (
    InterruptedAction,
    ResumeError,
    build_command_resume,
    build_resume_value,
    parse_interrupts,
    parse_thread,
    pending_interrupt_ids,
)
from .verdicts import NotResumable, resume_decision, sibling_refs, spec_from_meta

_SETTLED = {DeliveryState.DELIVERED: DeliveryOutcome.DELIVERED,
            DeliveryState.STALE: DeliveryOutcome.STALE,
            DeliveryState.FAILED: DeliveryOutcome.FAILED}

#: (spec, stored decision, action id) of one action about to be answered.
Answer = tuple[InterruptedAction, DecisionRecord, int]


class Waiting(NamedTuple):
    """What a settled thread still waits on."""

    #: Interrupt ids that can still be answered.
    ids: list[str]
    #: Their specs.
    specs: list[InterruptedAction]
    #: Every interrupt id the thread lists, answered or not: more than one means the
    #: resume must be keyed by interrupt id (a bare value would go to whichever
    #: interrupt asks first, e.g. a failed task whose answer was refused).
    listed: list[str]


async def waiting_interrupts(client: LangGraphClient, thread: dict[str, Any]) -> Waiting:
    """The interrupts a settled thread still waits on (none when idle or gone).

    An interrupted thread lists them itself. A failed one is asked for its state, which
    says which tasks failed: their interrupts may hold an answer already (LangGraph
    re-uses it when the thread is resumed), the others still wait.
    """
    status = thread.get("status")
    if status == "interrupted":
        ids = pending_interrupt_ids(thread.get("interrupts") or {})
        return Waiting(ids, parse_thread(thread, errors=[]), ids)
    if status == "error":
        thread_id = str(thread["thread_id"])
        state = await client.get_state(thread_id)
        waiting = state.waiting_interrupts()
        return Waiting(pending_interrupt_ids(waiting),
                       parse_interrupts(thread_id, waiting, errors=[]), state.interrupt_ids)
    return Waiting([], [], [])


class Deliverer:
    """Delivery state of one source: what it resumed, and locks serialising each thread."""

    def __init__(self, fallback_assistant: str) -> None:
        self.fallback_assistant = fallback_assistant
        #: (thread, interrupt) resumed by this process → never resumed twice.
        self.resumed: set[tuple[str, str]] = set()
        #: thread → action ids delivered to it, to show a graph error that follows.
        self.delivered: dict[str, set[int]] = {}
        self._locks: weakref.WeakValueDictionary[str, Lock] = weakref.WeakValueDictionary()

    def _lock(self, thread_id: str) -> Lock:
        lock = self._locks.get(thread_id)
        if lock is None:
            lock = self._locks[thread_id] = Lock()
        return lock

    async def deliver(self, context: SourceContext, client: LangGraphClient,
                      delivery: Delivery) -> DeliveryResult:
        spec = spec_from_meta(delivery.source_meta)
        settled = _SETTLED.get(delivery.decision.delivery_state)
        if settled is not None:  # by another console meanwhile, e.g. sent with a sibling
            return DeliveryResult(settled, "already settled")
        async with self._lock(spec.thread_id):
            if (spec.thread_id, spec.interrupt_id) in self.resumed:
                return DeliveryResult(DeliveryOutcome.DELIVERED, "resumed with its siblings")
            return await self._deliver(context, client, spec, delivery)

    async def _deliver(self, context: SourceContext, client: LangGraphClient,
                       spec: InterruptedAction, delivery: Delivery) -> DeliveryResult:
        group = await _own_group(context, spec, delivery)
        if isinstance(group, DeliveryResult):
            return group
        group_ids = [action_id for _, _, action_id in group]
        try:
            thread = await client.get_thread(spec.thread_id)
            if thread.get("status") == "busy":
                return DeliveryResult(DeliveryOutcome.RETRY, "the thread is running (likely "
                                      "resuming a sibling's verdict); trying again shortly")
            waiting = await waiting_interrupts(client, thread)
        except NotFoundError:
            await _withdraw(context, group_ids, "the thread was deleted on the server")
            return DeliveryResult(DeliveryOutcome.STALE, "the thread no longer exists")
        except TransientError as exc:
            raise TransientSourceError(str(exc)) from exc
        except PermanentError as exc:
            return DeliveryResult(DeliveryOutcome.FAILED, str(exc))
        if spec.interrupt_id not in waiting.ids:
            status = thread.get("status")
            await _withdraw(context, group_ids, f"resumed elsewhere: the thread is {status} "
                            "and no longer waits on this interrupt")
            return DeliveryResult(DeliveryOutcome.STALE, f"the thread is {status} and no longer "
                                  "waits on this interrupt (resumed elsewhere); nothing was sent")
        answers = {spec.interrupt_id: group}
        answers.update(await _due_beside(context, waiting.specs, skip=spec.interrupt_id))
        try:
            values = {iid: build_resume_value([s for s, _, _ in found],
                                              [resume_decision(s, d) for s, d, _ in found])
                      for iid, found in answers.items()}
            resume = build_command_resume(values, waiting.listed)
        except (ResumeError, NotResumable) as exc:
            return DeliveryResult(DeliveryOutcome.FAILED, str(exc))
        assistant = str(delivery.source_meta.get("assistant_id") or self.fallback_assistant)
        try:
            await client.resume(spec.thread_id, assistant, resume)
        except ConflictError:
            return DeliveryResult(DeliveryOutcome.RETRY, "the thread is busy with another run "
                                  "(HTTP 409); trying again shortly")
        except TransientError as exc:
            raise TransientSourceError(str(exc)) from exc
        except PermanentError as exc:
            return DeliveryResult(DeliveryOutcome.FAILED, str(exc))
        self.resumed.update((spec.thread_id, iid) for iid in answers)
        sent = [answer for found in answers.values() for answer in found]
        self.delivered.setdefault(spec.thread_id, set()).update(a for _, _, a in sent)
        for _, decision, action_id in sent:
            if action_id != delivery.action.id:
                await _settle_sibling(context, decision, action_id)
        together = len(sent) - 1
        return DeliveryResult(DeliveryOutcome.DELIVERED,
                              f"sent together with {together} other verdict(s)" if together
                              else None)


async def _own_group(context: SourceContext, spec: InterruptedAction,
                     delivery: Delivery) -> list[Answer] | DeliveryResult:
    """Every action of the delivery's interrupt with its decision, or why not yet."""
    refs = sibling_refs(spec)
    ids = await context.find_actions(refs)
    group: list[Answer] = []
    waiting = 0
    for ref in refs:
        action_id = ids.get(ref)
        if action_id is None:
            return DeliveryResult(DeliveryOutcome.FAILED, f"sibling action {ref} is missing")
        if action_id == delivery.action.id:
            group.append((spec, delivery.decision, action_id))
            continue
        decision = await context.decision(action_id)
        if decision is None:
            state = (await context.action(action_id)).state
            if state is not ActionState.PENDING:
                return DeliveryResult(DeliveryOutcome.STALE,
                                      f"sibling action {action_id} is {state.value}")
            waiting += 1
            continue
        group.append((spec_from_meta(await context.source_meta(action_id)), decision,
                      action_id))
    if waiting:
        return DeliveryResult(DeliveryOutcome.RETRY, f"waiting for the other {waiting} "
                              f"decision(s) of this interrupt")
    try:
        for sibling, decision, _ in group:
            resume_decision(sibling, decision)
    except NotResumable as exc:
        return DeliveryResult(DeliveryOutcome.STALE, str(exc))
    return group


async def _due_beside(context: SourceContext, specs: Sequence[InterruptedAction], *,
                      skip: str) -> dict[str, list[Answer]]:
    """The thread's other pending interrupts whose every action is decided, awaits
    delivery and can be sent — they go in the same resume."""
    by_interrupt: dict[str, list[InterruptedAction]] = {}
    for spec in specs:
        if spec.interrupt_id != skip:
            by_interrupt.setdefault(spec.interrupt_id, []).append(spec)
    if not by_interrupt:
        return {}
    ids = await context.find_actions([s.source_ref for g in by_interrupt.values() for s in g])
    due: dict[str, list[Answer]] = {}
    for interrupt_id, group in by_interrupt.items():
        found: list[Answer] = []
        for spec in group:
            action_id = ids.get(spec.source_ref)
            decision = await context.decision(action_id) if action_id is not None else None
            if (action_id is None or decision is None
                    or decision.delivery_state is not DeliveryState.PENDING):
                break
            try:
                resume_decision(spec, decision)
            except NotResumable:
                break
            found.append((spec_from_meta(await context.source_meta(action_id)), decision,
                          action_id))
        else:
            due[interrupt_id] = found
    return due


async def _settle_sibling(context: SourceContext, decision: DecisionRecord,
                          action_id: int) -> None:
    """Mark a decision sent along with another delivered. One an older version left
    stale while its interrupt still waited is put back in the outbox first, so its
    record says what happened: re-queued, then delivered."""
    if decision.delivery_state is not DeliveryState.PENDING:
        await context.redeliver(action_id, reason="sent together with a sibling's verdict")
    await context.mark_delivered(decision.id)


async def _withdraw(context: SourceContext, action_ids: Iterable[int], reason: str) -> None:
    for action_id in action_ids:
        await context.withdraw(action_id, reason)
