"""The gate: how a custom Python agent asks a person before it acts.

    from countersign.gate import Gate, Step

    gate = Gate(agent="refunds-bot")
    verdict = await gate.request_approval(
        "issue_refund", {"order": "A-1001", "amount_cents": 1250},
        schema=REFUND_SCHEMA, risk="high", timeout=600, reasoning=[Step(...), ...])
    if verdict.approved:
        refund(**verdict.arguments)          # the edited arguments when edited

The request is written to the store with its reasoning steps; asked inside an active
OpenTelemetry span (and without ``run=``), the action joins that span's trace, its
steps become children of that span, and the span counts as the one that proposed it.
The call then waits for the verdict and returns it. An action whose deadline passes
comes back as ``expired`` (never as a rejection). Asking again with the same idempotency key
returns the same action and its verdict, so an agent that crashed and restarted
does not file a duplicate. Receiving a verdict acknowledges it (the decision
becomes *delivered*) unless ``acknowledge=False``, in which case call
`Gate.acknowledge` once the verdict has been acted upon.

The unit's autonomy level is applied in the transaction that records the request
(`services.autonomy`): an auto-approved action comes back at once as ``approve``
(``decided_by`` names the policy), without waiting for a poll; at L0 (shadow) it comes
back at once as ``shadow``: the action was recorded for review and the agent must not
execute it (``approved`` is False, ``reason`` says so).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Sequence
from typing import Any, Literal, TypedDict

from pydantic import BaseModel
from sqlalchemy import select
from typing_extensions import Unpack

from ..domain import (
    OPERATOR_VERDICTS,
    DecisionRecord,
    DeliveryState,
    Risk,
    SpanRecord,
    Verdict,
)
from ..jsonio import loads
from ..services.actions import ActionRequest, ActionService, request_action
from ..services.decisions import DecisionService, decision_record, settle
from ..store.engine import Store
from ..store.migrate import open_store
from ..store.models import ActionRow
from .checks import check_request, check_timeout
from .steps import Step, new_trace_id, root_span, steps_to_spans

Outcome = Literal["approve", "edit", "reject", "respond", "ignore", "expired", "shadow"]

_OUTCOME: dict[Verdict, Outcome] = {
    Verdict.APPROVE: "approve",
    Verdict.AUTO_APPROVE: "approve",
    Verdict.EDIT: "edit",
    Verdict.REJECT: "reject",
    Verdict.RESPOND: "respond",
    Verdict.IGNORE: "ignore",
    Verdict.EXPIRE: "expired",
    Verdict.SHADOW: "shadow",
}


class Run(BaseModel):
    """The run (trace) an agent's requests belong to; pass it back to keep steps of
    a re-plan in the same run."""

    trace_id: str
    root_span_id: str


class GateVerdict(BaseModel):
    action_id: int
    decision_id: int
    outcome: Outcome
    #: The arguments to act with: the edited ones after an edit, else the original.
    arguments: Any
    original_arguments: Any
    reason: str | None = None
    response: str | None = None
    severity: str | None = None
    decided_by: str
    decided_at: float
    run: Run | None = None

    @property
    def approved(self) -> bool:
        return self.outcome in ("approve", "edit")

    @property
    def expired(self) -> bool:
        return self.outcome == "expired"

    @property
    def shadow(self) -> bool:
        """L0 shadow: recorded for review; do not execute the action."""
        return self.outcome == "shadow"


def _current_otel_span() -> tuple[str, str] | None:
    """(trace id, span id) of the active OpenTelemetry span, if the agent uses
    OpenTelemetry (optional: imported only here) and a span is recording."""
    try:
        from opentelemetry import trace as otel_trace
    except ImportError:
        return None
    context = otel_trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def _deadline(timeout: float | None, deadline: dt.datetime | None) -> float | None:
    check_timeout(timeout)
    if deadline is not None:
        if deadline.tzinfo is None:
            raise ValueError("deadline must be timezone-aware")
        return deadline.timestamp()
    return time.time() + timeout if timeout is not None else None


class ApprovalOptions(TypedDict, total=False):
    """The options of `Gate.request_approval` and `Gate.request_approval_sync` (one
    list for both forms). All are optional."""

    #: The JSON Schema the arguments follow; edits are validated against it.
    schema: dict[str, Any] | None
    #: What the action does, in the agent's words (shown beside the arguments).
    description: str
    #: low / medium / high / critical (default medium); critical always waits.
    risk: Risk | str
    #: Seconds to wait for a verdict before the action expires (never a rejection).
    timeout: float | None
    #: An absolute, timezone-aware deadline instead of ``timeout``.
    deadline: dt.datetime | None
    #: The steps that led to the action, stored as spans of its run.
    reasoning: Sequence[Step | SpanRecord]
    #: Asking again with the same key returns the same action (a restarted agent).
    idempotency_key: str | None
    #: The run (trace) the action belongs to; default: the current OpenTelemetry span's.
    run: Run | None
    #: The verdicts the operator may give (default: approve, edit, reject, respond).
    allowed_verdicts: Sequence[Verdict | str] | None
    #: Settle the verdict as delivered once returned (default True).
    acknowledge: bool


class Gate:
    """A connection to the console's store on behalf of one agent.

    ``store`` is a `Store`, a SQLAlchemy URL, or None for ``$COUNTERSIGN_STORE`` /
    the embedded default. Thread-safe; one poller per event loop serves every
    waiting request with one query per tick.
    """

    def __init__(
        self,
        store: Store | str | None = None,
        *,
        agent: str,
        agent_version: str = "",
        agent_id: str | None = None,
        poll_interval: float = 0.04,
        source: str = "gate",
    ) -> None:
        self._owns_store = not isinstance(store, Store)
        self.store = store if isinstance(store, Store) else open_store(store)
        self.agent = agent
        self.agent_version = agent_version
        self.agent_id = agent_id
        self.poll_interval = poll_interval
        #: The source name the actions are filed under; a source plugin that drives
        #: agents through the gate passes its own name so it can find them again.
        self.source = source
        self.actions = ActionService(self.store)
        self.decisions = DecisionService(self.store)
        self._waiting: dict[int, list[tuple[asyncio.Future[DecisionRecord], float | None]]] = {}
        self._poller: asyncio.Task[None] | None = None

    # -- recording -------------------------------------------------------------------

    def _record(
        self,
        action_class: str,
        arguments: Any,
        *,
        schema: dict[str, Any] | None,
        description: str,
        risk: Risk | str,
        deadline: float | None,
        reasoning: Sequence[Step | SpanRecord],
        idempotency_key: str | None,
        run: Run | None,
        allowed: Sequence[Verdict | str] | None,
        acknowledge: bool = False,
    ) -> tuple[int, Run, GateVerdict | None]:
        """Write the request (the autonomy policy decides it in the same transaction);
        (action id, run, the verdict when the policy gave one at once). With
        ``acknowledge`` such a verdict is settled as delivered in that transaction too:
        it reaches the agent exactly when the request commits."""
        check_request(agent=self.agent, action_class=action_class, arguments=arguments,
                      schema=schema, reasoning=reasoning, idempotency_key=idempotency_key)
        linked = _current_otel_span() if run is None else None
        if linked is not None:
            # Asked inside an OpenTelemetry span: the action and its steps belong to
            # that span's trace, and the span is the one that proposed the action.
            run = Run(trace_id=linked[0], root_span_id=linked[1])
            spans: list[SpanRecord] = []
        elif run is None:
            trace_id = new_trace_id()
            start = time.time_ns() - sum(
                int(s.duration_s * 1e9) for s in reasoning if isinstance(s, Step)
            )
            root = root_span(trace_id, agent=self.agent, name=f"{self.agent}: {action_class}",
                             start_ns=start)
            run = Run(trace_id=trace_id, root_span_id=root.span_id)
            spans = [root]
        else:
            spans = []
        spans += [s for s in reasoning if isinstance(s, SpanRecord)]
        steps = [s for s in reasoning if isinstance(s, Step)]
        spans += steps_to_spans(steps, trace_id=run.trace_id, parent_span_id=run.root_span_id,
                                agent=self.agent)
        proposing = linked[1] if linked else spans[-1].span_id if spans else run.root_span_id
        request = ActionRequest(
            agent=self.agent,
            agent_version=self.agent_version,
            agent_id=self.agent_id,
            action_class=action_class,
            arguments=arguments,
            arguments_schema=schema,
            description=description,
            risk=Risk(risk),
            deadline=deadline,
            source=self.source,
            source_ref=idempotency_key or uuid.uuid4().hex,
            allowed_verdicts=tuple(Verdict(v) for v in allowed) if allowed
            else OPERATOR_VERDICTS,
            trace_id=run.trace_id,
            span_id=proposing,
            reasoning=spans,
        )
        with self.store.write() as session:
            action_id, created = request_action(session, request)
            # Auto-approved (or shadow) in this very transaction: answer without a
            # poll. Such a verdict is never held for undo.
            decided = decision_record(session, action_id) if created else None
            original = session.execute(select(ActionRow.arguments_json).where(
                ActionRow.id == action_id)).scalar_one() if decided else None
            if decided is not None and acknowledge:
                settle(session, decided.id, DeliveryState.DELIVERED,
                       actor=f"agent:{self.agent}", error=None)
        if not created:  # asked before: the run is the one stored with the first request
            run = self._stored_run(action_id) or run
        verdict = (self._verdict(decided, run, original_json=original)
                   if decided is not None else None)
        return action_id, run, verdict

    def _stored_run(self, action_id: int) -> Run | None:
        trace_id = self.actions.get(action_id).trace_id
        if trace_id is None:
            return None
        roots = [s for s in self.actions.spans(trace_id) if s.parent_span_id is None]
        return Run(trace_id=trace_id, root_span_id=roots[0].span_id) if roots else None

    def _verdict(self, decision: DecisionRecord, run: Run | None, *,
                 original_json: str | None = None) -> GateVerdict:
        original = loads(original_json if original_json is not None
                         else self.actions.get(decision.action_id).arguments_json)
        edited = loads(decision.arguments_json) if decision.arguments_json else None
        return GateVerdict(
            action_id=decision.action_id,
            decision_id=decision.id,
            outcome=_OUTCOME[decision.verdict],
            arguments=edited if decision.verdict is Verdict.EDIT else original,
            original_arguments=original,
            reason=decision.reason,
            response=decision.response,
            severity=decision.severity.value if decision.severity else None,
            decided_by=decision.reviewer,
            decided_at=decision.decided_at,
            run=run,
        )

    def _settle_if_due(self, action_id: int, deadline: float | None) -> DecisionRecord | None:
        """The decision, expiring the action first if its deadline has passed (so
        the agent hears "expired" even when no console or worker is running)."""
        decision = self.decisions.released(action_id)
        if decision is None and deadline is not None and time.time() >= deadline:
            self.decisions.expire_due(limit=50)
            decision = self.decisions.released(action_id)
        return decision

    # -- async API -------------------------------------------------------------------

    async def request_approval(self, action_class: str, arguments: Any,
                               **options: Unpack[ApprovalOptions]) -> GateVerdict:
        """Record the action and wait for its verdict (see the module docstring and
        `ApprovalOptions`)."""
        action_id, run, due, verdict = await asyncio.to_thread(
            self._begin, action_class, arguments, options)
        if verdict is not None:  # decided and acknowledged by the request itself
            return verdict
        decision = await self.wait_for(action_id, deadline=due)
        verdict = await asyncio.to_thread(self._verdict, decision, run)
        if options.get("acknowledge", True):
            await self.acknowledge(verdict)
        return verdict

    def _begin(self, action_class: str, arguments: Any, options: ApprovalOptions,
               ) -> tuple[int, Run, float | None, GateVerdict | None]:
        """Check and record the request, for both forms: (action id, run, deadline,
        the verdict when the autonomy policy gave one at once)."""
        due = _deadline(options.get("timeout"), options.get("deadline"))
        action_id, run, verdict = self._record(
            action_class, arguments, schema=options.get("schema"),
            description=options.get("description", ""),
            risk=options.get("risk", Risk.MEDIUM), deadline=due,
            reasoning=options.get("reasoning", ()),
            idempotency_key=options.get("idempotency_key"), run=options.get("run"),
            allowed=options.get("allowed_verdicts"),
            acknowledge=options.get("acknowledge", True),
        )
        return action_id, run, due, verdict

    async def wait_for(self, action_id: int, *, deadline: float | None = None) -> DecisionRecord:
        """Wait for the decision on ``action_id`` (one shared poll for all waiters)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[DecisionRecord] = loop.create_future()
        self._waiting.setdefault(action_id, []).append((future, deadline))
        if self._poller is None or self._poller.done():
            self._poller = loop.create_task(self._poll(), name="countersign-gate-poll")
        try:
            return await future
        finally:
            waiters = self._waiting.get(action_id, [])
            waiters[:] = [w for w in waiters if w[0] is not future]
            if not waiters:
                self._waiting.pop(action_id, None)

    async def _poll(self) -> None:
        while self._waiting:
            pending = {k: list(v) for k, v in self._waiting.items()}
            try:
                found = await asyncio.to_thread(self.decisions.released_for, list(pending))
                now = time.time()
                for action_id, waiters in pending.items():
                    due = min((d for _, d in waiters if d is not None), default=None)
                    if action_id not in found and due is not None and now >= due:
                        settled = await asyncio.to_thread(self._settle_if_due, action_id, due)
                        if settled is not None:
                            found[action_id] = settled
            except Exception as exc:  # the store went away: tell every waiter
                for waiters in pending.values():
                    for future, _ in waiters:
                        if not future.done():
                            future.set_exception(exc)
                return
            for action_id, decision in found.items():
                for future, _ in pending[action_id]:
                    if not future.done():
                        future.set_result(decision)
            await asyncio.sleep(self.poll_interval)

    async def acknowledge(self, verdict: GateVerdict) -> None:
        """Tell the console the verdict reached the agent (idempotent)."""
        await asyncio.to_thread(
            self.decisions.mark_delivered, verdict.decision_id, actor=f"agent:{self.agent}"
        )

    # -- sync API --------------------------------------------------------------------

    def request_approval_sync(self, action_class: str, arguments: Any,
                              **options: Unpack[ApprovalOptions]) -> GateVerdict:
        """The blocking form of `request_approval`, for agents without asyncio."""
        action_id, run, due, verdict = self._begin(action_class, arguments, options)
        if verdict is not None:  # decided and acknowledged by the request itself
            return verdict
        while (decision := self._settle_if_due(action_id, due)) is None:
            time.sleep(self.poll_interval)
        verdict = self._verdict(decision, run)
        if options.get("acknowledge", True):
            self.decisions.mark_delivered(verdict.decision_id, actor=f"agent:{self.agent}")
        return verdict

    def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
        if self._owns_store:
            self.store.dispose()
