"""The Review workspace's list, read lean and kept live (issue 12).

The list may hold 100,000 open items. `review.list_items` builds a pydantic
`ReviewItem` per row with a claim subquery per row, seconds at that size; the reads
here return the same facts as slotted dataclasses (`ReviewLine`) from plain column
tuples, in keyset pages, plus who labelled each item (a reviewer never sees their own
labelled items again, so the console must know).

A console stays live by polling `ReviewFeed.changes` with the two watermarks its last
read returned: items added since (item ids only grow) and items labelled since (label
ids only grow) come back as whole lines, and the active claims come back whole (they
expire by the clock, so there is no watermark for them; the table of unexpired,
unlabelled claims is small). Nothing here writes.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from ..store.engine import Store
from ..store.models import ActionRow, AgentRow, DecisionRow, RunRow
from ..store.review_models import LabelRow, ReviewClaimRow, ReviewItemRow

LineState = Literal["open", "done", "all"]
#: Lines read per query when a caller pages through everything.
PAGE = 20_000
#: Ids per ``IN (...)`` list (SQLite's default variable limit is 32,766).
_IN_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class ReviewLine:
    """One item of the review queue as the list shows it."""

    id: int
    #: Exactly one of the two is set: an action, or a run reviewed without one.
    action_id: int | None
    trace_id: str | None
    rubric: str
    #: The probability the item was drawn with; None when added by hand (ad hoc).
    pi: float | None
    rule: str | None
    added_by: str | None
    needed: int
    labels: int
    state: str
    created_at: float
    agent: str | None
    agent_version: str | None
    action_class: str | None
    risk: str | None
    #: The verdict the action got (approve, edit, auto_approve…), if any.
    verdict: str | None
    severity: str | None
    #: Reviewers who labelled it, in label order.
    labelled_by: tuple[str, ...] = ()
    #: Reviewers holding an unexpired claim on one of its slots.
    claimed_by: tuple[str, ...] = ()

    @property
    def ad_hoc(self) -> bool:
        return self.pi is None

    @property
    def why(self) -> str:
        """Why it is in the queue: the rule and its pi, or who added it by hand."""
        if self.rule is None or self.pi is None:
            return f"ad hoc ({self.added_by})" if self.added_by else "ad hoc"
        return f"{self.rule} (pi {self.pi:g})"


@dataclass(frozen=True)
class LinePage:
    """Lines in id order, and the watermarks read in the same transaction."""

    lines: list[ReviewLine]
    item_mark: int
    label_mark: int
    #: False when more lines follow the last one (ask again with its id).
    complete: bool


@dataclass(frozen=True)
class LineChanges:
    """What moved since the watermarks a console last saw."""

    #: Items added, or labelled, since: their whole current lines (any state).
    lines: list[ReviewLine]
    item_mark: int
    label_mark: int
    #: Every active claim now: item id → reviewers holding it.
    claims: dict[int, tuple[str, ...]] = field(default_factory=dict)


def _line_query() -> Any:
    return (select(ReviewItemRow.id, ReviewItemRow.action_id, ReviewItemRow.trace_id,
                   ReviewItemRow.rubric, ReviewItemRow.pi, ReviewItemRow.rule,
                   ReviewItemRow.added_by, ReviewItemRow.needed, ReviewItemRow.label_count,
                   ReviewItemRow.state, ReviewItemRow.created_at, AgentRow.name,
                   AgentRow.version, ActionRow.action_class, ActionRow.risk,
                   DecisionRow.verdict, DecisionRow.severity, RunRow.agent_name)
            .outerjoin(ActionRow, ActionRow.id == ReviewItemRow.action_id)
            .outerjoin(AgentRow, AgentRow.id == ActionRow.agent_id)
            .outerjoin(DecisionRow, DecisionRow.action_id == ReviewItemRow.action_id)
            .outerjoin(RunRow, and_(ReviewItemRow.trace_id.is_not(None),
                                    RunRow.trace_id == ReviewItemRow.trace_id)))


def _who(session: Session, column: Any, ids: Sequence[int], *extra: Any,
         ) -> dict[int, tuple[str, ...]]:
    """item id → reviewers, from the labels or claims table (``column``'s table)."""
    table = column.class_
    found: dict[int, list[str]] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start:start + _IN_CHUNK]
        rows = session.execute(select(table.item_id, table.reviewer)
                               .where(table.item_id.in_(chunk), *extra)
                               .order_by(table.id))
        for item_id, who in rows:
            found.setdefault(item_id, []).append(who)
    return {item_id: tuple(names) for item_id, names in found.items()}


def _labellers_in_range(session: Session, first: int, last: int,
                        ) -> dict[int, tuple[str, ...]]:
    found: dict[int, list[str]] = {}
    rows = session.execute(select(LabelRow.item_id, LabelRow.reviewer)
                           .where(LabelRow.item_id >= first, LabelRow.item_id <= last)
                           .order_by(LabelRow.id))
    for item_id, who in rows:
        found.setdefault(item_id, []).append(who)
    return {item_id: tuple(names) for item_id, names in found.items()}


def active_claims(session: Session, now: float | None = None) -> dict[int, tuple[str, ...]]:
    """item id → reviewers holding an unexpired, unlabelled claim on it."""
    now = time.time() if now is None else now
    found: dict[int, list[str]] = {}
    for item_id, who in session.execute(
            select(ReviewClaimRow.item_id, ReviewClaimRow.reviewer).where(
                ReviewClaimRow.label_id.is_(None), ReviewClaimRow.expires_at > now)
            .order_by(ReviewClaimRow.id)):
        found.setdefault(item_id, []).append(who)
    return {item_id: tuple(names) for item_id, names in found.items()}


def _lines(rows: Iterable[Any], labelled: dict[int, tuple[str, ...]],
           claims: dict[int, tuple[str, ...]]) -> list[ReviewLine]:
    return [ReviewLine(
        id=r[0], action_id=r[1], trace_id=r[2], rubric=r[3], pi=r[4], rule=r[5],
        added_by=r[6], needed=r[7], labels=r[8], state="done" if r[9] == "done" else "open",
        created_at=r[10], agent=r[11] if r[11] is not None else r[17], agent_version=r[12],
        action_class=r[13], risk=r[14], verdict=r[15], severity=r[16],
        labelled_by=labelled.get(r[0], ()), claimed_by=claims.get(r[0], ()))
        for r in rows]


def marks(session: Session) -> tuple[int, int]:
    """(highest item id, highest label id) now: the watermarks for `changes`."""
    item = session.execute(select(func.max(ReviewItemRow.id))).scalar() or 0
    label = session.execute(select(func.max(LabelRow.id))).scalar() or 0
    return int(item), int(label)


def read_lines(session: Session, *, state: LineState = "open", after_id: int = 0,
               limit: int | None = None, now: float | None = None) -> LinePage:
    """Lines with ids above ``after_id``, in id order (oldest first), at most
    ``limit`` of them, with the watermarks read in the same transaction."""
    item_mark, label_mark = marks(session)
    query = _line_query().where(ReviewItemRow.id > after_id).order_by(ReviewItemRow.id)
    if state != "all":
        query = query.where(ReviewItemRow.state == state)
    if limit is not None:
        query = query.limit(limit)
    rows = session.execute(query).all()
    labelled = _labellers_in_range(session, rows[0][0], rows[-1][0]) if rows else {}
    lines = _lines(rows, labelled, active_claims(session, now))
    return LinePage(lines, item_mark, label_mark,
                    complete=limit is None or len(rows) < limit)


def lines_for(session: Session, ids: Collection[int], *, now: float | None = None,
              ) -> list[ReviewLine]:
    """The current lines of these items (any state), in id order; unknown ids skipped."""
    wanted = sorted(set(ids))
    rows: list[Any] = []
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start:start + _IN_CHUNK]
        rows.extend(session.execute(_line_query().where(ReviewItemRow.id.in_(chunk))
                                    .order_by(ReviewItemRow.id)).all())
    ids_read = [r[0] for r in rows]
    return _lines(rows, _who(session, LabelRow.item_id, ids_read),
                  active_claims(session, now))


def changes(session: Session, item_mark: int, label_mark: int, *,
            now: float | None = None) -> LineChanges:
    """Items added after ``item_mark`` and items labelled after ``label_mark``, as
    whole lines; the new watermarks; and every active claim."""
    new_item, new_label = marks(session)
    touched: set[int] = set()
    if new_item > item_mark:
        touched.update(session.execute(select(ReviewItemRow.id).where(
            ReviewItemRow.id > item_mark)).scalars())
    if new_label > label_mark:
        touched.update(session.execute(select(LabelRow.item_id).where(
            LabelRow.id > label_mark)).scalars())
    lines = lines_for(session, touched, now=now) if touched else []
    return LineChanges(lines, new_item, new_label, active_claims(session, now))


class ReviewFeed:
    """The reads above over one store, one short read transaction per call."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def page(self, *, state: LineState = "open", after_id: int = 0,
             limit: int | None = None) -> LinePage:
        with self.store.read() as session:
            return read_lines(session, state=state, after_id=after_id, limit=limit)

    def lines(self, ids: Collection[int]) -> list[ReviewLine]:
        with self.store.read() as session:
            return lines_for(session, ids)

    def changes(self, item_mark: int, label_mark: int) -> LineChanges:
        with self.store.read() as session:
            return changes(session, item_mark, label_mark)
