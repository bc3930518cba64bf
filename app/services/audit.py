"""The hash-chained audit log.

Each event's hash is ``sha256(prev_hash + "\\n" + canonical(event))`` where the event
is its id, time, kind, actor, subject and payload. Changing, inserting or deleting
any stored event breaks every hash after it, which `verify` reports by naming the
first event that no longer checks out. `verify` also checks that the action and
decision tables agree with the log (`audit_rows`), and, given heads recorded outside
the database (`head`, `AuditHead.anchor`), that the log still holds each of them.

Appending happens inside the caller's write transaction (the decision and its audit
event commit together). The single ``audit_head`` row is locked first, so two
processes appending at once queue up instead of forking the chain.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..jsonio import canonical
from ..store.engine import Store
from ..store.models import AuditEventRow, AuditHeadRow

if TYPE_CHECKING:
    from .audit_rows import RowsResult

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
class AuditHead:
    """The newest event of the log: its sequence number and hash. Kept somewhere the
    database's owner cannot rewrite (a ticket, a cron job's mail, another machine),
    it proves later that the log still contains that event unchanged: deleting the
    tail of the log and rewriting the head row is not detectable from inside the
    database, but it is against an anchor kept outside (as transparency logs do)."""

    sequence: int
    hash: str

    @property
    def anchor(self) -> str:
        """``SEQ:HASH``, the form ``countersign audit verify --expect`` takes."""
        return f"{self.sequence}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> AuditHead:
        """An anchor from ``SEQ:HASH``; `ValueError` saying what is wrong."""
        seq, sep, digest = text.strip().partition(":")
        if not sep or not seq.isdigit() or len(digest) != 64 or any(
                c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"'{text}' is not an audit head: expected SEQ:HASH, a sequence "
                             "number and a 64-character hex hash (from `countersign audit "
                             "head`)")
        return cls(int(seq), digest)


def head(store: Store) -> AuditHead:
    """The log's current head (sequence 0 and the genesis hash while it is empty)."""
    with store.read() as session:
        row = session.get(AuditHeadRow, 1)
        return AuditHead(row.last_id, row.last_hash) if row else AuditHead(0, GENESIS)


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    #: The id of the first event that fails, and why; None when the chain is intact.
    first_bad: int | None = None
    problem: str | None = None
    #: Why an expected head (`AuditHead`) is no longer in the log; None when each is.
    anchor_problem: str | None = None
    #: Action and decision rows that disagree with the log (None: not checked, the
    #: chain itself being broken).
    rows: RowsResult | None = None

    @property
    def ok(self) -> bool:
        return (self.first_bad is None and self.anchor_problem is None
                and (self.rows is None or self.rows.count == 0))


def _anchor_problem(expect: Sequence[AuditHead], found: dict[int, str], last: int) -> str | None:
    for anchor in expect:
        digest = found.get(anchor.sequence)
        if anchor.sequence == 0 and anchor.hash == GENESIS:
            continue
        if digest is None:
            return (f"the log ends at event {last}, but event {anchor.sequence} was recorded "
                    f"as its head ({anchor.anchor}): events were deleted from the end")
        if digest != anchor.hash:
            return (f"event {anchor.sequence} no longer has the hash recorded for it "
                    f"({anchor.anchor}; it is now {digest}): the log was rewritten")
    return None


def verify(store: Store, *, batch: int = 5_000, expect: Sequence[AuditHead] = (),
           rows: bool = True) -> VerifyResult:
    """Re-hash the whole chain in id order, streaming it in batches; check that each
    ``expect``ed head is still in it unchanged; and (with ``rows``, when the chain is
    intact) that every action and decision row agrees with its events
    (`audit_rows.check_rows`). Everything is read in one snapshot."""
    from .audit_rows import Replay, check_rows

    prev = GENESIS
    expected_id = 1
    checked = 0
    wanted = {a.sequence for a in expect}
    found: dict[int, str] = {}
    replay = Replay()
    with store.read() as session:
        if not store.is_sqlite:  # the log and the rows from one snapshot
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        last_id = 0
        while True:
            events = session.execute(
                select(AuditEventRow)
                .where(AuditEventRow.id > last_id)
                .order_by(AuditEventRow.id)
                .limit(batch)
            ).scalars().all()
            if not events:
                break
            for row in events:
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
                if row.id in wanted:
                    found[row.id] = row.hash
                if rows:
                    replay.add(row)
                prev = row.hash
                expected_id += 1
                checked += 1
                last_id = row.id
            session.expunge_all()
        anchored = _anchor_problem(expect, found, checked)
        head_row = session.get(AuditHeadRow, 1)
        if head_row is not None and (head_row.last_id != checked or head_row.last_hash != prev):
            return VerifyResult(
                checked,
                checked + 1 if head_row.last_id > checked else head_row.last_id,
                f"the chain ends at event {checked} but its head records event "
                f"{head_row.last_id} (events were deleted from the end)",
                anchor_problem=anchored,
            )
        compared = check_rows(session, replay, batch=batch) if rows else None
    return VerifyResult(checked, anchor_problem=anchored, rows=compared)
