"""Actions coming in, and the reads the Queue and the CLI make of them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain import (
    OPERATOR_VERDICTS,
    ActionDetail,
    ActionState,
    AutonomyLevel,
    Change,
    QueueRow,
    Risk,
    SpanRecord,
    Verdict,
)
from ..jsonio import canonical, clean, loads
from ..secrets import redact
from ..store.engine import Store
from ..store.models import ActionRow, AgentRow, AutonomyLevelRow, ChangeRow
from . import audit


class UnknownAction(LookupError):
    def __init__(self, action_id: int) -> None:
        super().__init__(f"there is no action {action_id}")
        self.action_id = action_id


class InvalidSchema(ValueError):
    """The action's arguments schema cannot be used to check edits (not a valid JSON
    Schema, a reference outside itself, a reference cycle); the message names the
    place in the schema. Nothing is written."""

    def __init__(self, problems: Sequence[Any]) -> None:
        self.problems = list(problems)
        text = "; ".join(str(p) for p in self.problems)
        super().__init__(f"the action's arguments schema cannot be used: {text}")


class ActionRequest(BaseModel):
    """What a source (or the gate SDK) asks the console to decide."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    agent: str
    agent_version: str = ""
    agent_id: str | None = None
    action_class: str
    arguments: Any
    arguments_schema: dict[str, Any] | None = None
    description: str = ""
    risk: Risk = Risk.MEDIUM
    deadline: float | None = None
    source: str = "gate"
    source_ref: str
    source_meta: dict[str, Any] = Field(default_factory=dict)
    allowed_verdicts: tuple[Verdict, ...] = OPERATOR_VERDICTS
    trace_id: str | None = None
    span_id: str | None = None
    #: Steps that led to the action (stored as spans of ``trace_id``).
    reasoning: Sequence[SpanRecord] = ()
    error: str | None = None


def _now() -> float:
    return time.time()


def ensure_agent(session: Session, name: str, version: str, external_id: str | None) -> int:
    """The agent's row id, creating the row the first time it is seen."""
    found = session.execute(
        select(AgentRow.id).where(AgentRow.name == name, AgentRow.version == version)
    ).scalar_one_or_none()
    if found is not None:
        return found
    try:
        with session.begin_nested():
            row = AgentRow(
                external_id=external_id or name, name=name, version=version, created_at=_now()
            )
            session.add(row)
        return row.id
    except IntegrityError:  # another process created it first (PostgreSQL)
        return session.execute(
            select(AgentRow.id).where(AgentRow.name == name, AgentRow.version == version)
        ).scalar_one()


def _by_ref(session: Session, source: str, ref: str) -> int | None:
    return session.execute(
        select(ActionRow.id).where(ActionRow.source == source, ActionRow.source_ref == ref)
    ).scalar_one_or_none()


def request_action(session: Session, req: ActionRequest, *,
                   now: float | None = None) -> tuple[int, bool]:
    """Record an action inside ``session``'s transaction; returns (action id, created).
    Idempotent on (source, source_ref): asking again returns the first action. The
    action, its reasoning spans, the change-feed entry and the audit event are written
    together, and the autonomy policy decides it in the same transaction
    (`services.autonomy.apply_policy`: auto-approve, shadow, or wait for a person).
    ``now`` stamps it at another time (history imported with its own times).

    Raises `InvalidSchema` (writing nothing) for a schema that edits could not be
    checked against: refused now, not when a reviewer edits."""
    if req.arguments_schema is not None:
        from ..schema_check import check_schema  # lazy: jsonschema costs 30 ms

        problems = check_schema(req.arguments_schema)
        if problems:
            raise InvalidSchema(problems)
    arguments, warnings = clean(req.arguments)
    arguments_json = canonical(arguments)
    schema_json = canonical(clean(req.arguments_schema)[0]) if req.arguments_schema else None
    existing = _by_ref(session, req.source, req.source_ref)
    if existing is not None:
        _revive_if_withdrawn(session, existing, req, now=now)
        return existing, False
    agent_id = ensure_agent(session, req.agent, req.agent_version, req.agent_id)
    from .spans import ensure_run, write_spans  # lazy: queue reads need no span writer

    if req.reasoning:
        # The same write path as every other span, so the run's roll-ups hold.
        write_spans(session, req.reasoning, source=req.source, agent_id=agent_id)
    if req.trace_id and not any(s.trace_id == req.trace_id for s in req.reasoning):
        # Linked to a span that is still open (OpenTelemetry): the run exists
        # now and its spans fill it in when they are exported.
        ensure_run(session, req.trace_id, source=req.source, agent_id=agent_id,
                   agent_name=req.agent)
    now = _now() if now is None else now
    row = ActionRow(
        agent_id=agent_id,
        trace_id=req.trace_id,
        span_id=req.span_id,
        action_class=req.action_class,
        arguments_json=arguments_json,
        arguments_schema_json=schema_json,
        description=req.description,
        risk=req.risk.value,
        deadline=req.deadline,
        state=ActionState.PENDING.value,
        version=1,
        source=req.source,
        source_ref=req.source_ref,
        source_meta_json=canonical(clean(req.source_meta)[0]),
        allowed_verdicts_json=canonical([v.value for v in req.allowed_verdicts]),
        error=redact(req.error) if req.error else None,
        ingest_warnings_json=canonical(warnings),
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the same request raced in from elsewhere
        found = _by_ref(session, req.source, req.source_ref)
        if found is None:
            raise
        return found, False
    session.add(ChangeRow(action_id=row.id, kind="requested", at=now))
    audit.append(
        session,
        kind="action.requested",
        actor=f"agent:{req.agent}",
        subject_type="action",
        subject_id=row.id,
        payload={
            "action_class": req.action_class,
            "risk": req.risk.value,
            "source": req.source,
            "source_ref": req.source_ref,
            "arguments_sha256": _sha(arguments_json),
        },
    )
    from .autonomy import apply_policy  # lazy: it imports decide, which imports us

    apply_policy(session, row, req, now=now)
    return row.id, True


def _revive_if_withdrawn(session: Session, action_id: int, req: ActionRequest, *,
                         now: float | None) -> bool:
    """A withdrawn action asked for again by its source: the agent waits on it after
    all (an older Countersign withdrew a LangGraph interrupt that was still pending,
    or a source saw a thread mid-run). It is pending again, as it was: same arguments,
    a new version, a ``revived`` change and an ``action.revived`` audit event. Anything
    else asked again is left as it is (asking is idempotent)."""
    row = session.get(ActionRow, action_id, with_for_update=True)
    if row is None or row.state != ActionState.WITHDRAWN.value:
        return False
    row.state = ActionState.PENDING.value
    row.version += 1
    row.error = redact(req.error) if req.error else None
    row.updated_at = _now() if now is None else now
    session.add(ChangeRow(action_id=action_id, kind="revived", at=row.updated_at))
    audit.append(session, kind="action.revived", actor=f"agent:{req.agent}",
                 subject_type="action", subject_id=action_id,
                 payload={"reason": "its source asks for it again: the agent waits on it"})
    return True


def withdraw_action(session: Session, action_id: int, *, reason: str, actor: str) -> bool:
    """Take a pending action out of the queue because the agent no longer waits for it
    (resumed elsewhere). Returns False when it was not pending."""
    row = session.get(ActionRow, action_id)
    if row is None:
        raise UnknownAction(action_id)
    if row.state != ActionState.PENDING.value:
        return False
    row.state = ActionState.WITHDRAWN.value
    row.version += 1
    reason = redact(reason)  # a source's words: may quote a server's answer
    row.error = reason
    row.updated_at = _now()
    session.add(ChangeRow(action_id=action_id, kind="withdrawn", at=row.updated_at))
    audit.append(session, kind="action.withdrawn", actor=actor, subject_type="action",
                 subject_id=action_id, payload={"reason": reason})
    return True


def action_detail(session: Session, action_id: int) -> ActionDetail:
    """Everything the side-by-side view needs about one action, in ``session``."""
    found = session.execute(
        select(ActionRow, AgentRow)
        .join(AgentRow, AgentRow.id == ActionRow.agent_id)
        .where(ActionRow.id == action_id)
    ).first()
    if found is None:
        raise UnknownAction(action_id)
    row, agent = found
    level = session.execute(
        select(AutonomyLevelRow.level).where(
            AutonomyLevelRow.agent_id == agent.id,
            AutonomyLevelRow.action_class == row.action_class,
        )
    ).scalar_one_or_none()
    return ActionDetail(
        id=row.id,
        agent=agent.name,
        agent_version=agent.version,
        action_class=row.action_class,
        arguments_json=row.arguments_json,
        arguments_schema=loads(row.arguments_schema_json)
        if row.arguments_schema_json
        else None,
        description=row.description,
        risk=Risk(row.risk),
        deadline=row.deadline,
        state=ActionState(row.state),
        version=row.version,
        created_at=row.created_at,
        trace_id=row.trace_id,
        span_id=row.span_id,
        source=row.source,
        source_ref=row.source_ref,
        allowed_verdicts=tuple(Verdict(v) for v in loads(row.allowed_verdicts_json)),
        autonomy_level=AutonomyLevel(level) if level else AutonomyLevel.L1,
        error=row.error,
        ingest_warnings=tuple(loads(row.ingest_warnings_json)),
    )


class ActionService:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- ingest ----------------------------------------------------------------------

    def request(self, req: ActionRequest) -> tuple[int, bool]:
        """`request_action` in a transaction of its own."""
        with self.store.write() as session:
            return request_action(session, req)

    def withdraw(self, action_id: int, *, reason: str, actor: str) -> bool:
        """`withdraw_action` in a transaction of its own."""
        with self.store.write() as session:
            return withdraw_action(session, action_id, reason=reason, actor=actor)

    def ingest_spans(self, spans: Sequence[SpanRecord], source: str) -> int:
        """Store a source's spans (re-sent ones are idempotent); how many were new."""
        from .spans import write_spans

        with self.store.write() as session:
            return write_spans(session, spans, source=source).added

    def note_error(self, action_id: int, error: str, *, source: str) -> None:
        """Show an error the agent hit on one of ``source``'s actions (e.g. the graph
        failed after the verdict was delivered); the action's state does not change."""
        error = redact(error)
        with self.store.write() as session:
            row = session.get(ActionRow, action_id)
            if row is None or row.source != source or row.error == error:
                return
            row.error = error
            row.updated_at = _now()
            session.add(ChangeRow(action_id=action_id, kind="error", at=row.updated_at))

    # -- reads -----------------------------------------------------------------------

    def pending_refs(self, source: str) -> dict[str, int]:
        """source_ref → action id of ``source``'s actions still pending."""
        with self.store.read() as session:
            rows = session.execute(
                select(ActionRow.source_ref, ActionRow.id).where(
                    ActionRow.source == source, ActionRow.state == ActionState.PENDING.value,
                )
            ).all()
        return {r[0]: r[1] for r in rows}

    def find_refs(self, source: str, refs: Sequence[str]) -> dict[str, int]:
        """source_ref → action id of ``source``'s actions with those refs, any state."""
        with self.store.read() as session:
            rows = session.execute(
                select(ActionRow.source_ref, ActionRow.id).where(
                    ActionRow.source == source, ActionRow.source_ref.in_(list(refs)),
                )
            ).all()
        return {r[0]: r[1] for r in rows}

    def queue_rows(
        self,
        *,
        states: Sequence[ActionState] = (ActionState.PENDING,),
        agent: str | None = None,
        ids: Sequence[int] | None = None,
        limit: int | None = None,
    ) -> list[QueueRow]:
        """The light rows of the Queue list, oldest first."""
        query = (
            select(
                ActionRow.id,
                AgentRow.name,
                ActionRow.action_class,
                ActionRow.risk,
                ActionRow.created_at,
                ActionRow.deadline,
                ActionRow.state,
            )
            .join(AgentRow, AgentRow.id == ActionRow.agent_id)
            .order_by(ActionRow.created_at, ActionRow.id)
        )
        if states:
            query = query.where(ActionRow.state.in_([s.value for s in states]))
        if agent is not None:
            query = query.where(AgentRow.name == agent)
        if ids is not None:
            query = query.where(ActionRow.id.in_(list(ids)))
        if limit is not None:
            query = query.limit(limit)
        with self.store.read() as session:
            rows = session.execute(query).all()
        # model_construct: 100,000 rows must load in well under a second.
        return [
            QueueRow.model_construct(
                id=r[0], agent=r[1], action_class=r[2], risk=Risk(r[3]), created_at=r[4],
                deadline=r[5], state=ActionState(r[6]),
            )
            for r in rows
        ]

    def count(self, state: ActionState = ActionState.PENDING) -> int:
        with self.store.read() as session:
            return session.execute(
                select(func.count()).select_from(ActionRow).where(ActionRow.state == state.value)
            ).scalar_one()

    def get(self, action_id: int) -> ActionDetail:
        with self.store.read() as session:
            return action_detail(session, action_id)

    def source_meta(self, action_id: int) -> dict[str, Any]:
        with self.store.read() as session:
            text = session.execute(
                select(ActionRow.source_meta_json).where(ActionRow.id == action_id)
            ).scalar_one_or_none()
        if text is None:
            raise UnknownAction(action_id)
        meta = loads(text)
        return meta if isinstance(meta, dict) else {}

    def spans(self, trace_id: str) -> list[SpanRecord]:
        """Every span of a run, in start order (the Traces workspace's reader)."""
        from .traces import TraceService

        return TraceService(self.store).run_spans(trace_id)

    def progress_since(self, since: float) -> tuple[int, int]:
        """(actions requested since ``since``, of which still pending): the demo
        fleet's progress line."""
        with self.store.read() as session:
            requested, pending = session.execute(
                select(func.count(), func.coalesce(func.sum(
                    case((ActionRow.state == ActionState.PENDING.value, 1), else_=0)), 0))
                .select_from(ActionRow).where(ActionRow.created_at >= since)
            ).one()
        return int(requested), int(pending)

    def agents(self) -> list[str]:
        with self.store.read() as session:
            return list(
                session.execute(select(AgentRow.name).distinct().order_by(AgentRow.name)).scalars()
            )

    def last_change_id(self) -> int:
        with self.store.read() as session:
            return session.execute(select(func.coalesce(func.max(ChangeRow.id), 0))).scalar_one()

    def changes_since(self, after_id: int, *, limit: int = 5_000) -> list[Change]:
        with self.store.read() as session:
            rows = session.execute(
                select(ChangeRow.id, ChangeRow.action_id, ChangeRow.kind)
                .where(ChangeRow.id > after_id)
                .order_by(ChangeRow.id)
                .limit(limit)
            ).all()
        return [Change(id=r[0], action_id=r[1], kind=r[2]) for r in rows]


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()
