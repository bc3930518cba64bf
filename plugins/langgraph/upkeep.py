"""Keeping the actions in step with their threads when these move on (ingest side).

- A thread resumed elsewhere or deleted no longer waits on an action's interrupt: the
  pending action is *withdrawn*, with the reason.
- A thread whose run failed keeps waiting on the interrupts of its tasks that did not
  fail: their pending actions stay answerable (a verdict resumes the thread, and
  LangGraph re-runs the failed step), and the failure is shown on them and on the
  actions whose delivery preceded it. Only the actions of failed tasks are withdrawn.
- A *stranded* thread — waiting on an interrupt whose action was decided but whose
  verdict was never sent (marked stale by a Countersign older than issue 14, which
  took a sibling's running resume for "resumed elsewhere") — gets that verdict
  re-queued for delivery. Delivery checks again that the interrupt still waits, so
  doing it twice sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from countersign.domain import DeliveryState
from countersign.plugin_api import SourceContext

from .client import (
    InterruptedThread,
    LangGraphClient,
    NotFoundError,
    PermanentError,
    ThreadState,
    TransientError,
)
from .payloads import parse_interrupts, pending_interrupt_ids
from .verdicts import NotResumable, resume_decision


async def settle_moved_on(context: SourceContext, client: LangGraphClient,
                          delivered: dict[str, set[int]], thread: InterruptedThread,
                          pending: Mapping[str, Sequence[int]]) -> None:
    """Withdraw the thread's pending actions whose interrupt is gone; show a failure.

    `pending` maps the thread's interrupt ids to its pending action ids; `delivered`
    (thread → action ids) is what this process delivered, noted and emptied here when
    the thread failed. A busy thread is left alone: it is running (perhaps resuming
    another of its interrupts) and shows up again, updated, when the run ends.
    """
    thread_id = thread.thread_id
    if thread.status == "busy":
        return
    live = pending_interrupt_ids(thread.interrupts) if thread.status == "interrupted" else []
    failure: str | None = None
    if thread.status == "error" and (pending or delivered.get(thread_id)):
        try:
            state: ThreadState | None = await client.get_state(thread_id)
        except NotFoundError:
            state = None
        except (TransientError, PermanentError):
            return  # decide at the next sync rather than withdraw on a guess
        found = state.error if state is not None else None
        failure = (f"graph error: {found.error}: {found.message}" if found
                   else "graph error (the thread's status is error)")
        live = pending_interrupt_ids(state.waiting_interrupts()) if state else []
        await _show_failure(context, delivered.pop(thread_id, set()), state, failure,
                            {iid: ids for iid, ids in pending.items() if iid in live})
    for interrupt_id, ids in pending.items():
        if interrupt_id in live:
            continue
        reason = failure or (f"resumed elsewhere: the thread is now {thread.status} and "
                             f"no longer waits on this interrupt")
        for action_id in ids:
            await context.withdraw(action_id, reason)


async def _show_failure(context: SourceContext, delivered: set[int], state: ThreadState | None,
                        failure: str, answerable: Mapping[str, Sequence[int]]) -> None:
    """The failure on the actions delivered before it (this process's, and those of
    the failed tasks' interrupts) and on the pending ones the thread still waits on."""
    if state is not None:  # also after a restart, which forgot `delivered`
        waiting = set(pending_interrupt_ids(state.waiting_interrupts()))
        failed = [i for i in state.raw.get("interrupts") or []
                  if isinstance(i, dict) and i.get("id") not in waiting]
        refs = [s.source_ref for s in parse_interrupts(state.thread_id, failed, errors=[])]
        pending = {a for ids in answerable.values() for a in ids}
        delivered |= {a for a in (await context.find_actions(refs)).values()
                      if a not in pending}
    for action_id in sorted(delivered):
        await context.note_error(action_id, f"the agent's run failed after this verdict "
                                 f"was delivered: {failure}")
    for ids in answerable.values():
        for action_id in ids:
            await context.note_error(action_id, f"the agent's last run failed ({failure}); "
                                     "the thread still waits on this action: a verdict "
                                     "resumes it, and LangGraph re-runs the failed step")


async def requeue_stranded(context: SourceContext, threads: Sequence[InterruptedThread],
                           pending: Mapping[str, int]) -> int:
    """Re-queue the never-sent verdicts of interrupts the threads still wait on.

    An interrupt qualifies when every one of its actions has a decision that was
    settled as stale (nothing sent) and can be sent. Returns how many were re-queued.
    """
    probes: dict[str, tuple[InterruptedThread, str]] = {}
    for thread in threads:
        if thread.status != "interrupted":
            continue
        for interrupt_id in pending_interrupt_ids(thread.interrupts):
            ref = f"{thread.thread_id}/{interrupt_id}/0"
            if ref not in pending:
                probes[ref] = (thread, interrupt_id)
    if not probes:
        return 0
    requeued = 0
    for ref in await context.find_actions(list(probes)):
        thread, interrupt_id = probes[ref]
        specs = [s for s in thread.actions(errors=[]) if s.interrupt_id == interrupt_id]
        ids = await context.find_actions([s.source_ref for s in specs])
        if not specs or len(ids) != len(specs):
            continue
        stranded = []
        for spec in specs:
            decision = await context.decision(ids[spec.source_ref])
            if decision is None or decision.delivery_state is not DeliveryState.STALE:
                break
            try:
                resume_decision(spec, decision)
            except NotResumable:
                break
            stranded.append(ids[spec.source_ref])
        else:
            for action_id in stranded:
                if await context.redeliver(action_id, reason="the thread still waits on "
                                           "this interrupt; the verdict was never sent"):
                    requeued += 1
                    context.log.info("re-queued the verdict on action %d: thread %s still "
                                     "waits on interrupt %s", action_id, thread.thread_id,
                                     interrupt_id)
    return requeued
