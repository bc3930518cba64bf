"""Claiming label slots and labelling items, as units of work in the caller's session.

An item needs ``needed`` labels from as many reviewers, one per slot. A reviewer claims
a free slot (with an expiry) before labelling; the claim is a row under a unique
(item, slot) index, so when two reviewers take the same slot at once the database lets
the first writer win on SQLite and PostgreSQL alike, and the other is told by whom. A
claim that expired may be taken over by an UPDATE that only succeeds while it is still
expired, which is first-writer-wins too. A label turns its claim into a permanent hold.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain.review import Claim, LabelRecord
from ..jsonio import JsonInputError, canonical, clean, loads
from ..review.rubric import AnswerError, label_outcome, validate_answers
from ..store.models import ActionRow
from ..store.review_models import LabelRow, ReviewClaimRow, ReviewItemRow
from . import audit
from .review_rubrics import ensure_default_rubrics, get_rubric

#: How long a claimed slot stays the reviewer's without a label.
CLAIM_SECONDS = 600.0


class ReviewError(Exception):
    """A review request that cannot be done; the message is for the reviewer."""


class UnknownItem(ReviewError, LookupError):
    def __init__(self, item_id: int) -> None:
        super().__init__(f"there is no review item {item_id}")
        self.item_id = item_id


def _when(at: float) -> str:
    return time.strftime("%H:%M:%S UTC", time.gmtime(at))


class SlotTaken(ReviewError):
    """Every slot of the item is labelled or claimed; ``holders`` says by whom."""

    def __init__(self, item_id: int, holders: Sequence[tuple[str, float | None]]) -> None:
        self.item_id = item_id
        self.holders = list(holders)
        said = ", ".join(f"{who} (claimed until {_when(until)})" if until else f"{who} (labelled)"
                         for who, until in self.holders) or "another reviewer"
        super().__init__(f"review item {item_id} is taken: by {said}")

    @property
    def by(self) -> str | None:
        """The reviewer who holds the slot the caller lost (the first active claim)."""
        active = [who for who, until in self.holders if until is not None]
        return active[0] if active else (self.holders[0][0] if self.holders else None)


class ItemClosed(SlotTaken):
    """The item has all the labels it needs; ``holders`` are the reviewers who gave
    them (a reviewer who raced for its last slot is told by whom)."""

    def __init__(self, item_id: int, needed: int,
                 holders: Sequence[tuple[str, float | None]] = ()) -> None:
        super().__init__(item_id, holders)
        who = ", ".join(name for name, _ in self.holders)
        self.args = (f"review item {item_id} already has the {needed} label(s) it needs"
                     + (f": by {who}" if who else ""),)


class AlreadyLabelled(ReviewError):
    def __init__(self, item_id: int, reviewer: str, at: float) -> None:
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))
        super().__init__(f"{reviewer} already labelled review item {item_id} (at {when})")
        self.item_id = item_id
        self.reviewer = reviewer


class InvalidAnswer(ReviewError):
    """An answer the rubric refuses; ``question`` is the question's key."""

    def __init__(self, error: AnswerError) -> None:
        super().__init__(f"answer to {error.question_key!r}: {error.message}")
        self.question = error.question_key


class InvalidCorrection(ReviewError):
    """A correction that breaks the action's argument schema (every problem listed)."""

    def __init__(self, problems: Sequence[Any]) -> None:
        self.problems = list(problems)
        lines = "; ".join(f"{p.path}: {p.message}" for p in self.problems)
        super().__init__(f"the correction breaks the action's schema at {lines}")


def _item(session: Session, item_id: int) -> ReviewItemRow:
    item = session.get(ReviewItemRow, item_id)
    if item is None:
        raise UnknownItem(item_id)
    return item


def _label_of(session: Session, item_id: int, reviewer: str) -> LabelRow | None:
    return session.execute(select(LabelRow).where(
        LabelRow.item_id == item_id, LabelRow.reviewer == reviewer)).scalar_one_or_none()


def _holders(session: Session, item_id: int, now: float) -> list[tuple[str, float | None]]:
    rows = session.execute(select(ReviewClaimRow.reviewer, ReviewClaimRow.expires_at,
                                  ReviewClaimRow.label_id)
                           .where(ReviewClaimRow.item_id == item_id)
                           .order_by(ReviewClaimRow.slot)).all()
    return [(who, None if label is not None else until) for who, until, label in rows
            if label is not None or (until is not None and until > now)]


def _as_claim(row: ReviewClaimRow) -> Claim:
    return Claim(item_id=row.item_id, slot=row.slot, reviewer=row.reviewer,
                 expires_at=row.expires_at or 0.0)


def claim(session: Session, item_id: int, reviewer: str, *, now: float | None = None,
          seconds: float = CLAIM_SECONDS) -> Claim:
    """Hold a free label slot of the item for ``reviewer`` until now + ``seconds``
    (re-claiming one's own slot extends it). Raises `UnknownItem`, `AlreadyLabelled`,
    `ItemClosed`, or `SlotTaken` naming who holds the slots."""
    now = time.time() if now is None else now
    item = _item(session, item_id)
    labelled = _label_of(session, item_id, reviewer)
    if labelled is not None:
        raise AlreadyLabelled(item_id, reviewer, labelled.created_at)
    own = session.execute(select(ReviewClaimRow).where(
        ReviewClaimRow.item_id == item_id, ReviewClaimRow.reviewer == reviewer)
    ).scalar_one_or_none()
    if own is not None:
        own.expires_at = now + seconds
        return _as_claim(own)
    if item.state != "open":
        raise ItemClosed(item_id, item.needed, _holders(session, item_id, now))
    taken = {row.slot: row for row in session.execute(
        select(ReviewClaimRow).where(ReviewClaimRow.item_id == item_id)).scalars()}
    for slot in range(item.needed):
        row = taken.get(slot)
        if row is None:
            try:
                with session.begin_nested():
                    fresh = ReviewClaimRow(item_id=item_id, slot=slot, reviewer=reviewer,
                                           claimed_at=now, expires_at=now + seconds)
                    session.add(fresh)
                return _as_claim(fresh)
            except IntegrityError:
                continue  # another reviewer's insert won this slot
        elif row.label_id is None and row.expires_at is not None and row.expires_at <= now:
            took = session.execute(
                update(ReviewClaimRow)
                .where(ReviewClaimRow.id == row.id, ReviewClaimRow.label_id.is_(None),
                       ReviewClaimRow.expires_at <= now)
                .values(reviewer=reviewer, claimed_at=now, expires_at=now + seconds)
                .execution_options(synchronize_session=False))
            if cast(CursorResult[Any], took).rowcount == 1:
                session.expire(row)
                return Claim(item_id=item_id, slot=slot, reviewer=reviewer,
                             expires_at=now + seconds)
    raise SlotTaken(item_id, _holders(session, item_id, now))


def release(session: Session, item_id: int, reviewer: str) -> bool:
    """Skip: give the reviewer's unlabelled claim on the item back. False if none."""
    gone = session.execute(delete(ReviewClaimRow).where(
        ReviewClaimRow.item_id == item_id, ReviewClaimRow.reviewer == reviewer,
        ReviewClaimRow.label_id.is_(None)).execution_options(synchronize_session=False))
    return cast(CursorResult[Any], gone).rowcount > 0


def _checked_correction(session: Session, item: ReviewItemRow, correction: Any) -> str | None:
    if correction is None:
        return None
    # jsonschema is imported only when a correction is checked: opening the services
    # (every CLI command) must stay light.
    from ..schema_check import SchemaProblem, validate

    try:
        cleaned, _ = clean(correction)
    except JsonInputError as exc:
        raise InvalidCorrection([SchemaProblem(exc.path, str(exc))]) from exc
    if item.action_id is not None:
        schema_json = session.execute(select(ActionRow.arguments_schema_json).where(
            ActionRow.id == item.action_id)).scalar_one_or_none()
        schema = loads(schema_json) if schema_json else None
        problems = validate(cleaned, schema)
        if problems:
            raise InvalidCorrection(problems)
    return canonical(cleaned)


def submit_label(session: Session, item_id: int, *, reviewer: str,
                 answers: Mapping[str, Any], correction: Any = None,
                 now: float | None = None) -> LabelRecord:
    """Record ``reviewer``'s answers (and correction) on the item, in ``session``'s
    transaction: the label, its slot (the reviewer's claim, or a free slot taken now),
    the item's count and state, and the audit event. Raises `UnknownItem`,
    `AlreadyLabelled`, `InvalidAnswer` naming the question, `InvalidCorrection`,
    `ItemClosed` or `SlotTaken`, writing nothing then."""
    now = time.time() if now is None else now
    ensure_default_rubrics(session)
    item = _item(session, item_id)
    labelled = _label_of(session, item_id, reviewer)
    if labelled is not None:
        raise AlreadyLabelled(item_id, reviewer, labelled.created_at)
    rubric = get_rubric(session, item.rubric)
    try:
        normalised = validate_answers(rubric, answers)
    except AnswerError as exc:
        raise InvalidAnswer(exc) from exc
    correction_json = _checked_correction(session, item, correction)
    held = claim(session, item_id, reviewer, now=now)
    label = LabelRow(item_id=item_id, reviewer=reviewer, rubric=rubric.name,
                     rubric_version=rubric.version, answers_json=canonical(normalised),
                     correction_json=correction_json, created_at=now)
    try:
        with session.begin_nested():
            session.add(label)
    except IntegrityError as exc:  # the same reviewer labelling from two consoles
        raise AlreadyLabelled(item_id, reviewer, now) from exc
    session.execute(update(ReviewClaimRow).where(
        ReviewClaimRow.item_id == item_id, ReviewClaimRow.slot == held.slot)
        .values(label_id=label.id, expires_at=None)
        .execution_options(synchronize_session=False))
    count = ReviewItemRow.label_count + 1
    session.execute(update(ReviewItemRow).where(ReviewItemRow.id == item_id).values(
        label_count=count).execution_options(synchronize_session=False))
    session.execute(update(ReviewItemRow).where(
        ReviewItemRow.id == item_id, ReviewItemRow.label_count >= ReviewItemRow.needed)
        .values(state="done").execution_options(synchronize_session=False))
    session.expire(item)
    outcome = label_outcome(rubric, normalised) if item.action_id is not None else None
    audit.append(session, kind="review.label", actor=reviewer, subject_type="review_item",
                 subject_id=item_id,
                 payload={"label_id": label.id, "action_id": item.action_id,
                          "trace_id": item.trace_id, "rubric": rubric.name,
                          "rubric_version": rubric.version, "answers": normalised,
                          "correction": loads(correction_json) if correction_json else None,
                          "pi": item.pi,
                          "outcome": None if outcome is None else
                          {"y": outcome[0], "critical": outcome[1]}})
    if outcome is not None and item.action_id is not None:
        # A new outcome for the autonomy engine: its demotion rules run now, in this
        # transaction (issue 13), so a harmful auto-approval demotes its unit at once.
        from .autonomy import record_outcome

        record_outcome(session, item.action_id, now=now)
    return LabelRecord(id=label.id, item_id=item_id, reviewer=reviewer, rubric=rubric.name,
                       rubric_version=rubric.version, answers=normalised,
                       correction=loads(correction_json) if correction_json else None,
                       created_at=now)


def labels_of(session: Session, item_id: int) -> list[LabelRecord]:
    rows = session.execute(select(LabelRow).where(LabelRow.item_id == item_id)
                           .order_by(LabelRow.id)).scalars()
    return [LabelRecord(id=r.id, item_id=r.item_id, reviewer=r.reviewer, rubric=r.rubric,
                        rubric_version=r.rubric_version, answers=loads(r.answers_json),
                        correction=loads(r.correction_json) if r.correction_json else None,
                        created_at=r.created_at) for r in rows]
