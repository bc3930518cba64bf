"""Deciding actions safely (ARCHITECTURE.md, data flow 2).

One transaction writes the decision, moves the action out of *pending* under a
version check, appends the audit event, the outbox row and the change-feed entry.
Whoever commits first wins; everyone else gets `AlreadyDecided` naming who decided
and when. A verdict re-sent with the same idempotency key (a console retrying after
a dropped connection) returns the decision already stored instead of failing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from ..domain import (
    ActionState,
    DecisionRecord,
    DeliveryState,
    EditSeverity,
    Verdict,
)
from ..jsonio import JsonInputError, canonical, clean, loads
from ..store.engine import Store
from ..store.models import ActionRow, ChangeRow, DecisionRow, OutboxRow
from . import audit
from .actions import UnknownAction
from .review_sampling import offer_action

if TYPE_CHECKING:
    from ..schema_check import SchemaProblem

SYSTEM = "system"

_FINAL_STATE = {
    Verdict.EXPIRE: ActionState.EXPIRED,
    Verdict.AUTO_APPROVE: ActionState.AUTO_APPROVED,
}


def final_state(verdict: Verdict) -> ActionState:
    """The state a verdict moves a pending action to (before any delivery)."""
    return _FINAL_STATE.get(verdict, ActionState.DECIDED)


class DecisionError(Exception):
    """A verdict that cannot be recorded; the message is for the reviewer."""


class AlreadyDecided(DecisionError):
    def __init__(self, action_id: int, state: ActionState, decision: DecisionRecord | None,
                 note: str | None = None) -> None:
        self.action_id = action_id
        self.state = state
        self.decision = decision
        if decision is not None:
            when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(decision.decided_at))
            who = decision.reviewer
            verdict = decision.verdict.value
            text = f"action {action_id} was already decided ({verdict}) by {who} at {when}"
        else:
            text = f"action {action_id} is no longer pending (it is {state.value})"
            if note:
                text += f": {note}"
        super().__init__(text)


class InvalidVerdict(DecisionError):
    """The verdict is incomplete or not allowed for this action."""


class InvalidArguments(DecisionError):
    """Edited arguments that break the action's schema; the message lists every
    problem with its path, one per line."""

    def __init__(self, problems: Sequence[SchemaProblem]) -> None:
        self.problems = list(problems)
        if len(self.problems) == 1:
            first = self.problems[0]
            text = f"edited arguments break the schema at {first.path}: {first.message}"
        else:
            lines = [f"  {p.path}: {p.message}" for p in self.problems]
            text = (f"edited arguments break the schema in {len(self.problems)} places:\n"
                    + "\n".join(lines))
        super().__init__(text)


def _record(row: DecisionRow) -> DecisionRecord:
    return DecisionRecord(
        id=row.id,
        action_id=row.action_id,
        verdict=Verdict(row.verdict),
        arguments_json=row.arguments_json,
        severity=EditSeverity(row.severity) if row.severity else None,
        reason=row.reason,
        response=row.response,
        reviewer=row.reviewer,
        decided_at=row.decided_at,
        idempotency_key=row.idempotency_key,
        delivery_state=DeliveryState(row.delivery_state),
        delivered_at=row.delivered_at,
    )


def _check(
    action: ActionRow,
    verdict: Verdict,
    arguments: Any,
    severity: EditSeverity | None,
    reason: str | None,
    response: str | None,
) -> str | None:
    allowed = {Verdict(v) for v in loads(action.allowed_verdicts_json)}
    system = verdict in (Verdict.EXPIRE, Verdict.AUTO_APPROVE, Verdict.SHADOW)
    if not system and verdict not in allowed:
        names = ", ".join(sorted(v.value for v in allowed)) or "none"
        raise InvalidVerdict(
            f"'{verdict.value}' is not allowed for action {action.id} (allowed: {names})"
        )
    if verdict is Verdict.REJECT and not reason:
        raise InvalidVerdict("a rejection needs a reason")
    if verdict is Verdict.RESPOND and not response:
        raise InvalidVerdict("a response needs text for the agent")
    if verdict is not Verdict.EDIT:
        if arguments is not None:
            raise InvalidVerdict(f"arguments are only given with an edit, not {verdict.value}")
        return None
    if arguments is None:
        raise InvalidVerdict("an edit needs the edited arguments")
    if severity is None:
        raise InvalidVerdict("an edit needs a severity: cosmetic, material or critical")
    from ..schema_check import SchemaProblem, validate  # lazy: jsonschema costs 30 ms

    try:
        cleaned, _ = clean(arguments)
    except JsonInputError as exc:
        raise InvalidArguments([SchemaProblem(exc.path, str(exc))]) from exc
    schema = loads(action.arguments_schema_json) if action.arguments_schema_json else None
    problems = validate(cleaned, schema)
    if problems:
        raise InvalidArguments(problems)
    return canonical(cleaned)

def decision_record(session: Session, action_id: int) -> DecisionRecord | None:
    """The decision on ``action_id`` read in ``session``, if it has one."""
    row = session.execute(
        select(DecisionRow).where(DecisionRow.action_id == action_id)
    ).scalar_one_or_none()
    return _record(row) if row else None


def _already(session: Session, action: ActionRow) -> AlreadyDecided:
    decision = session.execute(
        select(DecisionRow).where(DecisionRow.action_id == action.id)
    ).scalar_one_or_none()
    return AlreadyDecided(
        action.id,
        ActionState(action.state),
        _record(decision) if decision else None,
        note=action.error,
    )


def decide(
    session: Session,
    action_id: int,
    verdict: Verdict,
    *,
    reviewer: str,
    arguments: Any = None,
    severity: EditSeverity | None = None,
    reason: str | None = None,
    response: str | None = None,
    expected_version: int | None = None,
    idempotency_key: str | None = None,
    audit_extra: dict[str, Any] | None = None,
    hold_seconds: float = 0.0,
    now: float | None = None,
) -> DecisionRecord:
    """Record the one final verdict on a pending action, inside ``session``'s
    transaction: the decision, the action's state under a version check, the outbox
    row, the change-feed entry and the audit event are written together or not at all.

    Raises `UnknownAction`, `AlreadyDecided`, `InvalidVerdict` or `InvalidArguments`
    (naming the failing fields) and writes nothing then. ``audit_extra`` adds to the
    audit payload (e.g. the policy and evidence behind an auto-approval).
    ``hold_seconds`` keeps the verdict in the outbox that long before anyone delivers
    it or an agent sees it, so the operator can still `undo` it (issue 11).
    ``now`` stamps the decision at another time (imported history). A person's
    judgement (approve, edit, reject) is an outcome: the unit's demotion rules run on
    it in the same transaction (`services.autonomy.record_outcome`).
    """
    key = idempotency_key or uuid.uuid4().hex
    reason = (reason or "").strip() or None
    response = (response or "").strip() or None
    existing = session.execute(
        select(DecisionRow).where(DecisionRow.idempotency_key == key)
    ).scalar_one_or_none()
    if existing is not None:
        if existing.action_id != action_id:
            raise InvalidVerdict(f"idempotency key {key} belongs to another action")
        return _record(existing)
    action = session.execute(
        select(ActionRow).where(ActionRow.id == action_id).with_for_update()
    ).scalar_one_or_none()
    if action is None:
        raise UnknownAction(action_id)
    if action.state != ActionState.PENDING.value or (
        expected_version is not None and action.version != expected_version
    ):
        raise _already(session, action)
    edited_json = _check(action, verdict, arguments, severity, reason, response)
    now = time.time() if now is None else now
    bumped = session.execute(
        update(ActionRow)
        .where(
            ActionRow.id == action_id,
            ActionRow.version == action.version,
            ActionRow.state == ActionState.PENDING.value,
        )
        .values(
            state=final_state(verdict).value,
            version=action.version + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    # Lost a race the row lock did not prevent (e.g. a stale read).
    if cast(CursorResult[Any], bumped).rowcount != 1:
        session.expire(action)
        raise _already(session, action)
    row = DecisionRow(
        action_id=action_id,
        verdict=verdict.value,
        arguments_json=edited_json,
        severity=severity.value if severity else None,
        reason=reason,
        response=response,
        reviewer=reviewer,
        decided_at=now,
        idempotency_key=key,
        delivery_state=DeliveryState.PENDING.value,
    )
    session.add(row)
    session.flush()
    session.add(
        OutboxRow(
            decision_id=row.id,
            action_id=action_id,
            source=action.source,
            idempotency_key=key,
            state=DeliveryState.PENDING.value,
            attempts=0,
            next_attempt_at=now + max(0.0, hold_seconds),
            created_at=now,
        )
    )
    session.add(ChangeRow(action_id=action_id, kind=f"decided:{verdict.value}", at=now))
    audit.append(
        session,
        kind=f"decision.{verdict.value}",
        actor=reviewer,
        subject_type="action",
        subject_id=action_id,
        payload={
            "decision_id": row.id,
            "verdict": verdict.value,
            "action_version": action.version,
            "arguments": loads(edited_json) if edited_json else None,
            "severity": severity.value if severity else None,
            "reason": reason,
            "response": response,
            "idempotency_key": key,
            **(audit_extra or {}),
        },
    )
    # Sampling for review (issue 12) in the same transaction: a verdict and the
    # sample it may become commit together, auto-approvals included.
    offer_action(session, action_id, verdict=verdict, action=action)
    if verdict in (Verdict.APPROVE, Verdict.EDIT, Verdict.REJECT):
        from .autonomy import record_outcome  # lazy: it imports us

        record_outcome(session, action_id, now=now)
    return _record(row)



def settle(session: Session, decision_id: int, state: DeliveryState, *, actor: str,
           error: str | None) -> bool:
    """Settle a decision's delivery (delivered, stale or failed) with its outbox row,
    the action's state, the change feed and the audit event, inside ``session``'s
    transaction. Idempotent: False when it was already settled."""
    decision = session.get(DecisionRow, decision_id)
    if decision is None:
        raise DecisionError(f"there is no decision {decision_id}")
    if decision.delivery_state != DeliveryState.PENDING.value:
        return False
    now = time.time()
    decision.delivery_state = state.value
    decision.delivered_at = now if state is DeliveryState.DELIVERED else None
    outbox = session.execute(
        select(OutboxRow).where(OutboxRow.decision_id == decision_id)
    ).scalar_one_or_none()
    if outbox is not None:
        outbox.state = state.value
        outbox.settled_at = now
        outbox.last_error = error
        outbox.claimed_by = outbox.claimed_until = None
    action = session.get(ActionRow, decision.action_id)
    if (
        action is not None
        and state is DeliveryState.DELIVERED
        and action.state == ActionState.DECIDED.value
    ):
        action.state = ActionState.DELIVERED.value
        action.version += 1
        action.updated_at = now
    session.add(ChangeRow(action_id=decision.action_id, kind=state.value, at=now))
    audit.append(
        session,
        kind=f"delivery.{state.value}",
        actor=actor,
        subject_type="decision",
        subject_id=decision_id,
        payload={"action_id": decision.action_id, "error": error},
    )
    return True


class UndoRefused(DecisionError):
    """The verdict can no longer be taken back (delivered, sent, or the window passed)."""


def undo(session: Session, action_id: int, *, actor: str) -> bool:
    """Take back a verdict still held in the outbox (given with ``hold_seconds``):
    the decision and its outbox row go, the action is pending again under a new
    version, and a ``decision.undone`` audit event records what was taken back. A
    verdict already handed to anyone (an attempt made, delivered, or past its hold) is
    never undone: `UndoRefused` says why. False when there is no decision."""
    decision = session.execute(
        select(DecisionRow).where(DecisionRow.action_id == action_id).with_for_update()
    ).scalar_one_or_none()
    if decision is None:
        return False
    outbox = session.execute(
        select(OutboxRow).where(OutboxRow.decision_id == decision.id).with_for_update()
    ).scalar_one_or_none()
    now = time.time()
    if (decision.delivery_state != DeliveryState.PENDING.value or outbox is None
            or outbox.attempts > 0 or outbox.next_attempt_at <= now):
        raise UndoRefused(f"the {decision.verdict} of action {action_id} can no longer be "
                          "undone: it has been released to the agent")
    action = session.get(ActionRow, action_id)
    if action is None:
        raise UnknownAction(action_id)
    record = _record(decision)
    session.delete(outbox)
    session.flush()  # the outbox row refers to the decision: it goes first
    session.delete(decision)
    session.flush()
    action.state = ActionState.PENDING.value
    action.version += 1
    action.updated_at = now
    session.add(ChangeRow(action_id=action_id, kind="undone", at=now))
    audit.append(
        session, kind="decision.undone", actor=actor, subject_type="action",
        subject_id=action_id,
        payload={"decision_id": record.id, "verdict": record.verdict.value,
                 "decided_by": record.reviewer, "idempotency_key": record.idempotency_key},
    )
    return True


class DecisionService:
    """Façade over the units of work for callers that want one transaction each."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def decide(
        self,
        action_id: int,
        verdict: Verdict,
        *,
        reviewer: str,
        arguments: Any = None,
        severity: EditSeverity | None = None,
        reason: str | None = None,
        response: str | None = None,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
        hold_seconds: float = 0.0,
    ) -> DecisionRecord:
        """`decide` in a transaction of its own."""
        with self.store.write() as session:
            return decide(
                session, action_id, verdict, reviewer=reviewer, arguments=arguments,
                severity=severity, reason=reason, response=response,
                expected_version=expected_version, idempotency_key=idempotency_key,
                hold_seconds=hold_seconds,
            )

    def undo(self, action_id: int, *, actor: str) -> bool:
        """`undo` in a transaction of its own."""
        with self.store.write() as session:
            return undo(session, action_id, actor=actor)

    def released(self, action_id: int) -> DecisionRecord | None:
        """The action's decision once it is final for the agent: None while it is still
        held for undo (what the gate SDK waits on)."""
        return self.released_for([action_id]).get(action_id)

    def released_for(self, action_ids: Sequence[int]) -> dict[int, DecisionRecord]:
        """`released` for many actions in one read (the gate's shared poll)."""
        if not action_ids:
            return {}
        now = time.time()
        with self.store.read() as session:
            found = session.execute(
                select(DecisionRow, OutboxRow.next_attempt_at, OutboxRow.attempts)
                .outerjoin(OutboxRow, OutboxRow.decision_id == DecisionRow.id)
                .where(DecisionRow.action_id.in_(list(action_ids)))
            ).all()
            out: dict[int, DecisionRecord] = {}
            for row, due, attempts in found:
                held = (due is not None and attempts == 0 and due > now
                        and row.delivery_state == DeliveryState.PENDING.value)
                if not held:
                    out[row.action_id] = _record(row)
            return out

    def expire_due(self, now: float | None = None, *, limit: int = 500) -> list[int]:
        """Expire pending actions whose deadline has passed; returns their ids."""
        now = time.time() if now is None else now
        with self.store.read() as session:
            due = list(
                session.execute(
                    select(ActionRow.id)
                    .where(
                        ActionRow.state == ActionState.PENDING.value,
                        ActionRow.deadline.is_not(None),
                        ActionRow.deadline <= now,
                    )
                    .order_by(ActionRow.deadline)
                    .limit(limit)
                ).scalars()
            )
        expired = []
        for action_id in due:
            try:
                self.decide(action_id, Verdict.EXPIRE, reviewer=SYSTEM,
                            idempotency_key=f"expire-{action_id}")
            except AlreadyDecided:
                continue
            expired.append(action_id)
        return expired

    def get(self, action_id: int) -> DecisionRecord | None:
        with self.store.read() as session:
            row = session.execute(
                select(DecisionRow).where(DecisionRow.action_id == action_id)
            ).scalar_one_or_none()
            return _record(row) if row else None

    def for_actions(self, action_ids: Sequence[int]) -> dict[int, DecisionRecord]:
        if not action_ids:
            return {}
        with self.store.read() as session:
            rows = session.execute(
                select(DecisionRow).where(DecisionRow.action_id.in_(list(action_ids)))
            ).scalars().all()
            return {r.action_id: _record(r) for r in rows}

    def mark_delivered(self, decision_id: int, *, actor: str) -> bool:
        """The agent has the verdict (the gate SDK's acknowledgement, or a source's
        successful hand-over). Idempotent; returns False if it already was."""
        with self.store.write() as session:
            return settle(session, decision_id, DeliveryState.DELIVERED, actor=actor,
                          error=None)

    def mark_stale(self, decision_id: int, *, actor: str, why: str) -> bool:
        """The agent no longer waits for this verdict; nothing was sent."""
        with self.store.write() as session:
            return settle(session, decision_id, DeliveryState.STALE, actor=actor, error=why)

    def mark_failed(self, decision_id: int, *, actor: str, why: str) -> bool:
        """Delivery failed for good (a permanent error); shown to the operator."""
        with self.store.write() as session:
            return settle(session, decision_id, DeliveryState.FAILED, actor=actor, error=why)

    def note_delivery_error(self, outbox_id: int, *, error: str,
                            backoff: Callable[[int], float]) -> None:
        """A transient delivery failure: keep it pending and try again after
        ``backoff(attempts)`` seconds (attempts counted in the same transaction)."""
        with self.store.write() as session:
            row = session.get(OutboxRow, outbox_id)
            if row is None or row.state != DeliveryState.PENDING.value:
                return
            row.attempts += 1
            row.last_error = error
            row.next_attempt_at = time.time() + backoff(row.attempts)
            row.claimed_by = row.claimed_until = None  # any worker may retry it

    def due_deliveries(self, sources: Sequence[str], *, now: float | None = None,
                       limit: int = 100) -> list[tuple[int, int, int, str]]:
        """(outbox id, decision id, action id, source) rows ready to be sent."""
        now = time.time() if now is None else now
        if not sources:
            return []
        with self.store.read() as session:
            rows = session.execute(
                select(OutboxRow.id, OutboxRow.decision_id, OutboxRow.action_id, OutboxRow.source)
                .where(
                    OutboxRow.state == DeliveryState.PENDING.value,
                    OutboxRow.source.in_(list(sources)),
                    OutboxRow.next_attempt_at <= now,
                )
                .order_by(OutboxRow.id)
                .limit(limit)
            ).all()
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def claim_deliveries(self, sources: Sequence[str], *, worker: str, lease: float,
                         now: float | None = None,
                         limit: int = 50) -> list[tuple[int, int, int, str]]:
        """Claim due outbox rows of ``sources`` for ``worker`` until ``now + lease``:
        (outbox id, decision id, action id, source), oldest first. Rows another worker
        holds an unlapsed claim on are left to it, so two workers on one store never
        take the same row: on PostgreSQL the candidates are locked ``FOR UPDATE SKIP
        LOCKED`` (a row being claimed elsewhere is skipped, not waited for); on SQLite
        the writer lock (``BEGIN IMMEDIATE``) serialises claims. The update is
        conditional on the claim still being free either way."""
        now = time.time() if now is None else now
        if not sources:
            return []
        free = or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now)
        with self.store.write() as session:
            rows = session.execute(
                select(OutboxRow.id, OutboxRow.decision_id, OutboxRow.action_id,
                       OutboxRow.source)
                .where(
                    OutboxRow.state == DeliveryState.PENDING.value,
                    OutboxRow.source.in_(list(sources)),
                    OutboxRow.next_attempt_at <= now,
                    free,
                )
                .order_by(OutboxRow.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return []
            claimed = set(session.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_([r[0] for r in rows]),
                       OutboxRow.state == DeliveryState.PENDING.value, free)
                .values(claimed_by=worker, claimed_until=now + lease)
                .returning(OutboxRow.id)
                .execution_options(synchronize_session=False)
            ).scalars())
        return [(r[0], r[1], r[2], r[3]) for r in rows if r[0] in claimed]

    def renew_claim(self, outbox_id: int, *, worker: str, lease: float) -> bool:
        """Confirm ``worker``'s claim on a row right before sending it, for another
        ``lease`` seconds. False when the row is no longer ``worker``'s to send: it was
        settled, or its claim lapsed and another worker took it."""
        with self.store.write() as session:
            done = session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == outbox_id, OutboxRow.claimed_by == worker,
                       OutboxRow.state == DeliveryState.PENDING.value)
                .values(claimed_until=time.time() + lease)
                .execution_options(synchronize_session=False)
            )
        return cast(CursorResult[Any], done).rowcount == 1

    def release_claims(self, outbox_ids: Sequence[int], *, worker: str) -> None:
        """Give back ``worker``'s claims on rows it did not deliver (a worker stopping,
        a row it skipped), so another worker need not wait for them to lapse."""
        if not outbox_ids:
            return
        with self.store.write() as session:
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_(list(outbox_ids)), OutboxRow.claimed_by == worker)
                .values(claimed_by=None, claimed_until=None)
                .execution_options(synchronize_session=False)
            )

    def outbox_error(self, action_id: int) -> str | None:
        with self.store.read() as session:
            return session.execute(
                select(OutboxRow.last_error).where(OutboxRow.action_id == action_id)
            ).scalar_one_or_none()

    def requeue_delivery(self, action_id: int, *, actor: str, why: str,
                         source: str | None = None) -> bool:
        """`requeue_delivery` in its own transaction."""
        with self.store.write() as session:
            return requeue_delivery(session, action_id, actor=actor, why=why, source=source)


def requeue_delivery(session: Session, action_id: int, *, actor: str, why: str,
                     source: str | None = None) -> bool:
    """Put the action's decision back in the outbox when it never reached the agent
    (delivery stale or failed) and the agent turns out to wait for it after all (a
    LangGraph thread still pending on the interrupt): delivery state and outbox row
    back to pending, due now, with a ``delivery.requeued`` audit event. A delivered or
    still pending decision is left alone (False), so a verdict is never sent twice;
    so is another source's action when ``source`` is given."""
    decision = session.execute(
        select(DecisionRow).where(DecisionRow.action_id == action_id).with_for_update()
    ).scalar_one_or_none()
    action = session.get(ActionRow, action_id)
    if decision is None or action is None or (source is not None and action.source != source):
        return False
    previous = decision.delivery_state
    if previous not in (DeliveryState.STALE.value, DeliveryState.FAILED.value):
        return False
    now = time.time()
    decision.delivery_state = DeliveryState.PENDING.value
    decision.delivered_at = None
    outbox = session.execute(
        select(OutboxRow).where(OutboxRow.decision_id == decision.id)
    ).scalar_one_or_none()
    if outbox is None:
        outbox = OutboxRow(decision_id=decision.id, action_id=action_id, source=action.source,
                           idempotency_key=decision.idempotency_key, attempts=0,
                           created_at=now)
        session.add(outbox)
    outbox.state = DeliveryState.PENDING.value
    outbox.next_attempt_at = now
    outbox.settled_at = None
    outbox.claimed_by = outbox.claimed_until = None
    outbox.last_error = f"re-queued: {why}"
    session.add(ChangeRow(action_id=action_id, kind="requeued", at=now))
    audit.append(session, kind="delivery.requeued", actor=actor, subject_type="decision",
                 subject_id=decision.id,
                 payload={"action_id": action_id, "previous": previous, "reason": why})
    return True
