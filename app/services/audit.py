"""The hash-chained audit log.

Each event's hash is ``sha256(prev_hash + "\\n" + canonical(event))`` where the event
is its id, time, kind, actor, subject and payload. Changing, inserting or deleting
any stored event breaks every hash after it, which `verify` reports by naming the
first event that no longer checks out.

Appending happens inside the caller's write transaction (the decision and its audit
event commit together). The single ``audit_head`` row is locked first, so two
processes appending at once queue up instead of forking the chain.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..jsonio import canonical
from ..store.engine import Store
from ..store.models import AuditEventRow, AuditHeadRow

GENESIS = "0" * 64


def event_hash(
    prev_hash: str,
    *,
    event_id: int,
    ts_us: int,
    kind: str,
    actor: str,
    subject_type: str,
    subject_id: str,
    payload_json: str,
) -> str:
    body = canonical(
        {
            "id": event_id,
            "ts_us": ts_us,
            "kind": kind,
            "actor": actor,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "payload": payload_json,
        }
    )
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def append(
    session: Session,
    *,
    kind: str,
    actor: str,
    subject_type: str,
    subject_id: str | int,
    payload: dict[str, Any],
) -> AuditEventRow:
    """Append one event in ``session``'s transaction (which must be a write)."""
    head = session.execute(
        select(AuditHeadRow).where(AuditHeadRow.id == 1).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        head = AuditHeadRow(id=1, last_id=0, last_hash=GENESIS)
        session.add(head)
        session.flush()
    event_id = head.last_id + 1
    ts_us = time.time_ns() // 1000
    payload_json = canonical(payload)
    digest = event_hash(
        head.last_hash,
        event_id=event_id,
        ts_us=ts_us,
        kind=kind,
        actor=actor,
        subject_type=subject_type,
        subject_id=str(subject_id),
        payload_json=payload_json,
    )
    row = AuditEventRow(
        id=event_id,
        ts_us=ts_us,
        kind=kind,
        actor=actor,
        subject_type=subject_type,
        subject_id=str(subject_id),
        payload_json=payload_json,
        prev_hash=head.last_hash,
        hash=digest,
    )
    session.add(row)
    head.last_id = event_id
    head.last_hash = digest
    return row


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    #: The id of the first event that fails, and why; None when the chain is intact.
    first_bad: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.first_bad is None


def verify(store: Store, *, batch: int = 5_000) -> VerifyResult:
    """Re-hash the whole chain in id order, streaming it in batches."""
    prev = GENESIS
    expected_id = 1
    checked = 0
    with store.read() as session:
        last_id = 0
        while True:
            rows = session.execute(
                select(AuditEventRow)
                .where(AuditEventRow.id > last_id)
                .order_by(AuditEventRow.id)
                .limit(batch)
            ).scalars().all()
            if not rows:
                break
            for row in rows:
                if row.id != expected_id:
                    return VerifyResult(
                        checked, expected_id, f"event {expected_id} is missing (next is {row.id})"
                    )
                if row.prev_hash != prev:
                    return VerifyResult(
                        checked, row.id, "its prev_hash does not match the event before it"
                    )
                digest = event_hash(
                    prev,
                    event_id=row.id,
                    ts_us=row.ts_us,
                    kind=row.kind,
                    actor=row.actor,
                    subject_type=row.subject_type,
                    subject_id=row.subject_id,
                    payload_json=row.payload_json,
                )
                if digest != row.hash:
                    return VerifyResult(checked, row.id, "its content does not match its hash")
                prev = row.hash
                expected_id += 1
                checked += 1
                last_id = row.id
            session.expunge_all()
        head = session.get(AuditHeadRow, 1)
        if head is not None and (head.last_id != checked or head.last_hash != prev):
            return VerifyResult(
                checked,
                checked + 1 if head.last_id > checked else head.last_id,
                f"the chain ends at event {checked} but its head records event {head.last_id}"
                " (events were deleted from the end)",
            )
    return VerifyResult(checked)
