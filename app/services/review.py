"""The reviewer's loop (issue 12): the review queue, the next item for a reviewer, its
detail, labels, skips and agreement; and `ReviewService`, the façade the Review
workspace and the CLI call (one short transaction per call).

Units of work take a SQLAlchemy session so they compose: `decide` offers each verdict
for sampling in its own transaction (`review_sampling.offer_action`), and the label
rules live in `review_labels`. Rubrics are in `review_rubrics`, rules in
`review_rules`, datasets in `datasets`, outcomes for the autonomy engine in `outcomes`.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from ..domain.review import (
    Claim,
    LabelRecord,
    ReviewItem,
    ReviewItemDetail,
    SampleReport,
)
from ..jsonio import loads
from ..review.rubric import Rubric, parse_rubric_toml
from ..review.sampling import SamplingRule
from ..store.engine import Store
from ..store.models import ActionRow, AgentRow, DecisionRow, RunRow
from ..store.review_models import LabelRow, ReviewClaimRow, ReviewItemRow
from .actions import action_detail
from .decisions import decision_record
from .review_labels import (
    CLAIM_SECONDS,
    SlotTaken,
    claim,
    labels_of,
    release,
    submit_label,
)
from .review_rubrics import (
    ensure_default_rubrics,
    export_rubric,
    get_rubric,
    list_rubrics,
    save_rubric,
)
from .review_rules import load_rules, replace_rules, sync_config_rules
from .review_sampling import add_item, sample_pending

if TYPE_CHECKING:
    from ..review.agreement import AgreementReport

StateFilter = Literal["open", "done", "all"]
#: Candidates the next-item query returns at once (more are read if all are lost).
_CANDIDATES = 16


def _item_query(now: float) -> Select[Any]:
    active = (select(func.count()).where(
        ReviewClaimRow.item_id == ReviewItemRow.id, ReviewClaimRow.label_id.is_(None),
        ReviewClaimRow.expires_at > now).correlate(ReviewItemRow).scalar_subquery())
    return (select(ReviewItemRow, AgentRow.name, AgentRow.version, ActionRow.action_class,
                   ActionRow.risk, DecisionRow.verdict, DecisionRow.severity,
                   RunRow.agent_name, active.label("active"))
            .outerjoin(ActionRow, ActionRow.id == ReviewItemRow.action_id)
            .outerjoin(AgentRow, AgentRow.id == ActionRow.agent_id)
            .outerjoin(DecisionRow, DecisionRow.action_id == ReviewItemRow.action_id)
            .outerjoin(RunRow, and_(ReviewItemRow.trace_id.is_not(None),
                                    RunRow.trace_id == ReviewItemRow.trace_id)))


def _review_item(row: Any, claimed_by: tuple[str, ...] = ()) -> ReviewItem:
    item: ReviewItemRow = row[0]
    return ReviewItem(
        id=item.id, action_id=item.action_id, trace_id=item.trace_id, rubric=item.rubric,
        pi=item.pi, rule=item.rule, added_by=item.added_by, needed=item.needed,
        labels=item.label_count, state="done" if item.state == "done" else "open",
        created_at=item.created_at, agent=row[1] if row[1] is not None else row[7],
        agent_version=row[2], action_class=row[3], risk=row[4], verdict=row[5],
        severity=row[6], claimed_by=claimed_by)


def list_items(session: Session, *, state: StateFilter = "open", limit: int | None = None,
               offset: int = 0, now: float | None = None) -> list[ReviewItem]:
    """The review queue, oldest first, with what the list shows of each item."""
    now = time.time() if now is None else now
    query = _item_query(now).order_by(ReviewItemRow.id).offset(offset)
    if state != "all":
        query = query.where(ReviewItemRow.state == state)
    if limit is not None:
        query = query.limit(limit)
    rows = session.execute(query).all()
    holders: dict[int, list[str]] = {}
    claimed = [row[0].id for row in rows if row[8]]
    if claimed:
        for item_id, who in session.execute(
                select(ReviewClaimRow.item_id, ReviewClaimRow.reviewer).where(
                    ReviewClaimRow.item_id.in_(claimed), ReviewClaimRow.label_id.is_(None),
                    ReviewClaimRow.expires_at > now)):
            holders.setdefault(item_id, []).append(who)
    return [_review_item(row, tuple(holders.get(row[0].id, ()))) for row in rows]


def count_items(session: Session, state: StateFilter = "open") -> int:
    query = select(func.count()).select_from(ReviewItemRow)
    if state != "all":
        query = query.where(ReviewItemRow.state == state)
    return int(session.execute(query).scalar_one())


def item_detail(session: Session, item_id: int, *, reviewer: str | None = None,
                now: float | None = None) -> ReviewItemDetail:
    """Everything the Review workspace shows about one item (`UnknownItem` if none)."""
    from .review_labels import UnknownItem

    now = time.time() if now is None else now
    row = session.execute(_item_query(now).where(ReviewItemRow.id == item_id)).first()
    if row is None:
        raise UnknownItem(item_id)
    item = _review_item(row, tuple(who for who, until in _active_claims(session, item_id, now)))
    action = action_detail(session, item.action_id) if item.action_id is not None else None
    decision = decision_record(session, item.action_id) if item.action_id is not None else None
    own: Claim | None = None
    if reviewer is not None:
        held = session.execute(select(ReviewClaimRow).where(
            ReviewClaimRow.item_id == item_id, ReviewClaimRow.reviewer == reviewer,
            ReviewClaimRow.label_id.is_(None))).scalar_one_or_none()
        if held is not None and held.expires_at is not None:
            own = Claim(item_id=item_id, slot=held.slot, reviewer=reviewer,
                        expires_at=held.expires_at)
    return ReviewItemDetail(
        item=item, rubric=get_rubric(session, item.rubric), action=action, decision=decision,
        trace_id=action.trace_id if action is not None else item.trace_id,
        labels=tuple(labels_of(session, item_id)), claim=own)


def _active_claims(session: Session, item_id: int, now: float) -> list[tuple[str, float]]:
    rows = session.execute(select(ReviewClaimRow.reviewer, ReviewClaimRow.expires_at).where(
        ReviewClaimRow.item_id == item_id, ReviewClaimRow.label_id.is_(None),
        ReviewClaimRow.expires_at > now)).all()
    return [(who, float(until or 0.0)) for who, until in rows]


def next_item(session: Session, reviewer: str, *, exclude: Collection[int] = (),
              now: float | None = None, seconds: float = CLAIM_SECONDS,
              ) -> ReviewItemDetail | None:
    """Claim the oldest open item ``reviewer`` has not labelled that has a free slot
    (or one they already hold), and return its detail with the claim; None when there
    is nothing left for them. ``exclude`` holds items skipped in this sitting. Slots
    lost to a concurrent reviewer are passed over for the next candidate."""
    now = time.time() if now is None else now
    others = (select(func.count()).where(
        ReviewClaimRow.item_id == ReviewItemRow.id, ReviewClaimRow.label_id.is_(None),
        ReviewClaimRow.expires_at > now, ReviewClaimRow.reviewer != reviewer)
        .correlate(ReviewItemRow).scalar_subquery())
    mine = (select(LabelRow.id).where(LabelRow.item_id == ReviewItemRow.id,
                                      LabelRow.reviewer == reviewer)
            .correlate(ReviewItemRow).exists())
    # A verdict undone within its hold leaves the action pending: nothing to judge yet.
    undecided = (select(ActionRow.id).where(ActionRow.id == ReviewItemRow.action_id,
                                            ActionRow.state == "pending")
                 .correlate(ReviewItemRow).exists())
    after = 0
    skipped = set(exclude)
    while True:
        candidates = list(session.execute(
            select(ReviewItemRow.id)
            .where(ReviewItemRow.state == "open", ReviewItemRow.id > after, ~mine, ~undecided,
                   ReviewItemRow.label_count + others < ReviewItemRow.needed)
            .order_by(ReviewItemRow.id).limit(_CANDIDATES + len(skipped))).scalars())
        if not candidates:
            return None
        for item_id in candidates:
            if item_id in skipped:
                continue
            try:
                claim(session, item_id, reviewer, now=now, seconds=seconds)
            except SlotTaken:
                continue
            return item_detail(session, item_id, reviewer=reviewer, now=now)
        after = candidates[-1]


def agreement(session: Session, rubric: str, version: int | None = None) -> AgreementReport:
    """Krippendorff's alpha per question and Cohen's kappa per reviewer pair over the
    stored labels answering ``rubric`` (its newest version's questions; labels of
    older versions count where their answers still fit)."""
    from ..review.agreement import agreement_report  # numpy: only when asked

    found = get_rubric(session, rubric, version)
    query = select(LabelRow.item_id, LabelRow.reviewer, LabelRow.answers_json).where(
        LabelRow.rubric == rubric)
    if version is not None:
        query = query.where(LabelRow.rubric_version == version)
    labels = [(item, who, loads(text)) for item, who, text in session.execute(query)]
    return agreement_report(found, labels)


class ReviewService:
    """The review services over one store, one short transaction per call. Every
    method is a thin wrapper of a unit of work taking a session (same names)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- rubrics ---------------------------------------------------------------------

    def rubrics(self) -> list[Rubric]:
        with self.store.read() as session:
            return list_rubrics(session)

    def rubric(self, name: str, version: int | None = None) -> Rubric:
        with self.store.read() as session:
            return get_rubric(session, name, version)

    def save_rubric(self, rubric: Rubric, *, actor: str,
                    source: str | None = None) -> tuple[Rubric, bool]:
        with self.store.write() as session:
            return save_rubric(session, rubric, actor=actor, source=source)

    def import_rubric(self, text: str, *, actor: str, source: str) -> tuple[Rubric, bool]:
        """Parse TOML (`RubricError` naming ``source`` and the field) and save it."""
        return self.save_rubric(parse_rubric_toml(text, source=source), actor=actor,
                                source=source)

    def export_rubric(self, name: str, version: int | None = None) -> str:
        with self.store.read() as session:
            return export_rubric(session, name, version)

    def ensure_defaults(self) -> None:
        with self.store.write() as session:
            ensure_default_rubrics(session)

    # -- rules and sampling ----------------------------------------------------------

    def rules(self) -> list[SamplingRule]:
        with self.store.read() as session:
            return list(load_rules(session))

    def replace_rules(self, rules: Sequence[SamplingRule], *, actor: str,
                      reason: str = "edited in the console") -> bool:
        with self.store.write() as session:
            return replace_rules(session, rules, actor=actor, reason=reason)

    def sync_config_rules(self, rules: Sequence[SamplingRule] | None, *, actor: str,
                          config_path: str | None) -> bool:
        if rules is None:
            return False
        with self.store.read() as session:
            if tuple(rules) == load_rules(session):
                return False
        with self.store.write() as session:
            return sync_config_rules(session, rules, actor=actor, config_path=config_path)

    def sample(self) -> SampleReport:
        with self.store.write() as session:
            return sample_pending(session)

    def add(self, *, actor: str, action_id: int | None = None, trace_id: str | None = None,
            rubric: str | None = None, labels: int = 1) -> tuple[int, bool]:
        with self.store.write() as session:
            return add_item(session, actor=actor, action_id=action_id, trace_id=trace_id,
                            rubric=rubric, labels=labels)

    # -- the queue and labelling -----------------------------------------------------

    def items(self, *, state: StateFilter = "open", limit: int | None = None,
              offset: int = 0) -> list[ReviewItem]:
        with self.store.read() as session:
            return list_items(session, state=state, limit=limit, offset=offset)

    def count(self, state: StateFilter = "open") -> int:
        with self.store.read() as session:
            return count_items(session, state)

    def detail(self, item_id: int, *, reviewer: str | None = None) -> ReviewItemDetail:
        with self.store.read() as session:
            return item_detail(session, item_id, reviewer=reviewer)

    def next_item(self, reviewer: str, *, exclude: Collection[int] = ()
                  ) -> ReviewItemDetail | None:
        with self.store.write() as session:
            return next_item(session, reviewer, exclude=exclude)

    def claim(self, item_id: int, reviewer: str) -> Claim:
        with self.store.write() as session:
            return claim(session, item_id, reviewer)

    def submit(self, item_id: int, *, reviewer: str, answers: Mapping[str, Any],
               correction: Any = None) -> LabelRecord:
        with self.store.write() as session:
            return submit_label(session, item_id, reviewer=reviewer, answers=answers,
                                correction=correction)

    def skip(self, item_id: int, reviewer: str) -> bool:
        with self.store.write() as session:
            return release(session, item_id, reviewer)

    def labels(self, item_id: int) -> list[LabelRecord]:
        with self.store.read() as session:
            return labels_of(session, item_id)

    def agreement(self, rubric: str, version: int | None = None) -> AgreementReport:
        with self.store.read() as session:
            return agreement(session, rubric, version)


def label_action(store: Store, action_id: int, *, reviewer: str,
                 answers: Mapping[str, Any], correction: Any = None,
                 keep_last_slot: bool = False) -> bool:
    """`SourceContext.submit_label`: label the action's open item under the action
    rubric, in one transaction; False instead of an error when it cannot be labelled
    now (not in review, labelled by ``reviewer`` already, no free slot, or with
    ``keep_last_slot`` only the last slot free)."""
    from ..review.rubric import ACTION_RUBRIC
    from .review_labels import AlreadyLabelled, ItemClosed

    with store.write() as session:
        found = session.execute(
            select(ReviewItemRow.id, ReviewItemRow.needed, ReviewItemRow.label_count)
            .where(ReviewItemRow.action_id == action_id, ReviewItemRow.rubric == ACTION_RUBRIC,
                   ReviewItemRow.state == "open")).first()
        if found is None:
            return False
        item_id, needed, labelled = found
        if keep_last_slot:
            held = len(_active_claims(session, item_id, time.time()))
            if labelled + held + 1 >= needed:
                return False
        try:
            with session.begin_nested():  # a refusal leaves nothing behind
                submit_label(session, item_id, reviewer=reviewer, answers=answers,
                             correction=correction)
        except (AlreadyLabelled, ItemClosed, SlotTaken):
            return False
        return True
