"""Drawing actions and runs into the Review queue, and adding them by hand.

- `offer_action` applies the rules to ONE decided or auto-approved action inside the
  caller's transaction; `decide` calls it for every verdict, so an action is offered in
  the very transaction that decides it (an auto-approval included). It costs a read of
  the few rule rows (parsed models are cached) and, when drawn, one insert.
- `sample_pending` (``countersign review sample``) applies them to everything not yet
  considered: decisions past the watermark (gathered with one keyset-paged query, the
  deciding rule found once per distinct agent / class / risk / verdict, bulk inserts),
  and settled runs without an action, with the run rubric.
- `add_item` adds an action or run by hand: ad hoc, no ``pi``.

The draw is `countersign.review.sampling`'s: a hash of the rule's name and the item's
key, so replaying draws the same items, and the item stores the ``pi`` it had. An item
added by hand that the rules later draw becomes a sample (it takes the rule's ``pi``):
the draw never looked at whether someone added it, so its probability is genuine.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..domain import ActionState, Verdict
from ..domain.review import SampleReport
from ..review.rubric import ACTION_RUBRIC, RUN_RUBRIC
from ..review.sampling import Candidate, Draw, SamplingRule, choose, draw_uniform
from ..store.models import ActionRow, AgentRow, RunRow
from ..store.review_models import ReviewClaimRow, ReviewItemRow, SamplingWatermarkRow
from . import audit
from .actions import UnknownAction
from .review_rubrics import ensure_default_rubrics, get_rubric
from .review_rules import load_rules

#: Decision verdict → the verdict names sampling rules filter on (ignore has none).
SAMPLED_VERDICT: dict[str, str] = {
    Verdict.APPROVE.value: "approved",
    Verdict.EDIT.value: "edited",
    Verdict.REJECT.value: "rejected",
    Verdict.RESPOND.value: "responded",
    Verdict.EXPIRE.value: "expired",
    Verdict.AUTO_APPROVE.value: "auto_approved",
}
#: A run is settled (its cost and status final enough to judge) once nothing happened
#: in it for this long, or once it started this long ago (an agent that died).
RUN_QUIET_NS = 60 * 10**9
RUN_ABANDONED_NS = 24 * 3600 * 10**9
BATCH = 50_000


class ReviewAddError(ValueError):
    """An item that cannot be added by hand; the message says why."""


class UnknownTrace(LookupError):
    def __init__(self, trace_id: str) -> None:
        super().__init__(f"there is no run with trace id {trace_id!r}")
        self.trace_id = trace_id


def _uses_run_fields(rules: Sequence[SamplingRule]) -> bool:
    return any(r.enabled and (r.run_error is not None or r.min_cost is not None
                              or r.min_tokens is not None) for r in rules)


def _insert(session: Session) -> Any:
    """An INSERT into review_items for this dialect (both know ON CONFLICT)."""
    from sqlalchemy.dialects import postgresql, sqlite  # 20 ms: only to add by hand

    name = session.get_bind().dialect.name
    module: Any = postgresql if name == "postgresql" else sqlite
    return module.insert(ReviewItemRow)


#: Inserting drawn items: a plain DB-API executemany (the ORM's per-row parameter
#: handling costs more than SQLite's own work at half a million rows). An item that
#: exists already because someone added it by hand becomes a sample: it takes the
#: rule's pi and the larger label count, and reopens if it now needs more labels. An
#: unlabelled sample takes the new draw (a verdict undone and given again).
_UPSERT = """
INSERT INTO review_items (action_id, trace_id, rubric, pi, rule, needed, label_count, state,
                          created_at, added_by)
VALUES ({p}, {p}, {p}, {p}, {p}, {p}, 0, 'open', {p}, NULL)
ON CONFLICT ({subject}, rubric) DO UPDATE SET
  pi = excluded.pi, rule = excluded.rule,
  needed = CASE WHEN review_items.needed > excluded.needed THEN review_items.needed
                ELSE excluded.needed END,
  state = CASE WHEN review_items.label_count < excluded.needed THEN 'open'
               ELSE review_items.state END
WHERE review_items.pi IS NULL OR review_items.label_count = 0
"""

#: (action_id, trace_id, rubric, pi, rule, needed, created_at)
Sample = tuple[int | None, str | None, str, float, str, int, float]


def _placeholder(session: Session) -> str:
    return "?" if session.get_bind().dialect.name == "sqlite" else "%s"


def _upsert_samples(session: Session, rows: list[Sample], subject: str) -> None:
    """Insert drawn items (see `_UPSERT`)."""
    if rows:
        sql = _UPSERT.format(p=_placeholder(session), subject=subject)
        session.connection().exec_driver_sql(sql, rows)


def _sample(draw: Draw, rule: SamplingRule, now: float, *, action_id: int | None = None,
            trace_id: str | None = None, rubric: str) -> Sample:
    return (action_id, trace_id, rubric, draw.pi, draw.rule, rule.labels, now)


def offer_action(session: Session, action_id: int, *, verdict: Verdict | str,
                 action: ActionRow | None = None,
                 rules: Sequence[SamplingRule] | None = None) -> int | None:
    """Apply the sampling rules to one decided (or auto-approved) action in
    ``session``'s transaction; the review item's id when it is drawn, else None.
    ``action`` saves a read when the caller holds the row; ``rules`` the rules' read."""
    rules = load_rules(session) if rules is None else rules
    if not any(rule.enabled for rule in rules):
        return None
    row = action if action is not None else session.get(ActionRow, action_id)
    if row is None:
        raise UnknownAction(action_id)
    agent = session.get(AgentRow, row.agent_id)
    run: RunRow | None = None
    if row.trace_id and _uses_run_fields(rules):
        run = session.execute(select(RunRow).where(RunRow.trace_id == row.trace_id)
                              ).scalar_one_or_none()
    candidate = Candidate(
        key=f"action:{action_id}", agent=agent.name if agent else None,
        agent_version=agent.version if agent else None, action_class=row.action_class,
        risk=row.risk, verdict=SAMPLED_VERDICT.get(Verdict(verdict).value),
        run_error=None if run is None else run.status == "error",
        cost=None if run is None else run.total_cost,
        tokens=None if run is None else run.prompt_tokens + run.completion_tokens)
    draw = choose(rules, candidate)
    if draw is None or not draw.drawn:
        _withdraw_unlabelled_sample(session, action_id)
        return None
    rule = next(r for r in rules if r.name == draw.rule)
    _upsert_samples(session, [_sample(draw, rule, time.time(), action_id=action_id,
                                      rubric=ACTION_RUBRIC)], "action_id")
    return session.execute(select(ReviewItemRow.id).where(
        ReviewItemRow.action_id == action_id, ReviewItemRow.rubric == ACTION_RUBRIC)
    ).scalar_one()


def _withdraw_unlabelled_sample(session: Session, action_id: int) -> None:
    """A verdict that was undone and given again is drawn again: a sample the first
    verdict made goes if the new one is not drawn and nobody has touched it yet."""
    untouched = ~select(ReviewClaimRow.id).where(
        ReviewClaimRow.item_id == ReviewItemRow.id).exists()
    session.execute(delete(ReviewItemRow).where(
        ReviewItemRow.action_id == action_id, ReviewItemRow.rubric == ACTION_RUBRIC,
        ReviewItemRow.pi.is_not(None), ReviewItemRow.label_count == 0, untouched,
    ).execution_options(synchronize_session=False))


class _Chooser:
    """`choose` for many candidates: the deciding rule and pi depend only on the
    candidate's fields, not its key, so they are found once per distinct set of fields
    and each item then only pays for its hash draw."""

    def __init__(self, rules: Sequence[SamplingRule]) -> None:
        self.rules = rules
        self.by_name = {rule.name: rule for rule in rules}
        self._decided: dict[tuple[Any, ...], Draw | None] = {}

    def draw(self, key: str, fields: tuple[Any, ...]) -> tuple[Draw, SamplingRule] | None:
        if fields not in self._decided:
            (agent, version, action_class, risk, verdict, run_error, cost, tokens) = fields
            self._decided[fields] = choose(self.rules, Candidate(
                key=key, agent=agent, agent_version=version, action_class=action_class,
                risk=risk, verdict=verdict, run_error=run_error, cost=cost, tokens=tokens))
            if len(self._decided) > 100_000:  # continuous cost / token fields
                self._decided.clear()
        decided = self._decided.get(fields)
        if decided is None:
            return None
        drawn = draw_uniform(decided.rule, key) < decided.pi
        return (Draw(decided.rule, decided.pi, drawn), self.by_name[decided.rule]) if drawn \
            else None


def _watermark(session: Session) -> SamplingWatermarkRow:
    row = session.execute(select(SamplingWatermarkRow).where(SamplingWatermarkRow.id == 1)
                          .with_for_update()).scalar_one_or_none()
    if row is None:
        row = SamplingWatermarkRow(id=1, decision_id=0, run_id=0, updated_at=time.time())
        session.add(row)
        session.flush()
    return row


_DECISIONS = """
SELECT d.id, d.action_id, d.verdict, g.name, g.version, a.action_class, a.risk{run_columns}
FROM decisions d JOIN actions a ON a.id = d.action_id JOIN agents g ON g.id = a.agent_id
{run_join}WHERE d.id > {p} ORDER BY d.id LIMIT {p}
"""


def _decision_batches(session: Session, after: int, with_run: bool,
                      ) -> Iterable[Sequence[Any]]:
    """Decisions after ``after`` with what the rules filter on, in keyset pages, as
    plain DB-API tuples (a million ORM rows cost more than the draw itself)."""
    sql = _DECISIONS.format(
        p=_placeholder(session),
        run_columns=", r.status, r.total_cost, r.prompt_tokens + r.completion_tokens"
        if with_run else "",
        run_join="LEFT JOIN runs r ON r.trace_id = a.trace_id " if with_run else "")
    connection = session.connection()
    while True:
        rows = connection.exec_driver_sql(sql, (after, BATCH)).fetchall()
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def _sample_decisions(session: Session, chooser: _Chooser, mark: SamplingWatermarkRow,
                      now: float) -> tuple[int, int]:
    considered = drawn = 0
    with_run = _uses_run_fields(chooser.rules)
    for rows in _decision_batches(session, mark.decision_id, with_run):
        items = []
        for row in rows:
            status, cost, tokens = (row[7], row[8], row[9]) if with_run else (None,) * 3
            fields = (row[3], row[4], row[5], row[6], SAMPLED_VERDICT.get(row[2]),
                      None if status is None else status == "error", cost, tokens)
            chosen = chooser.draw(f"action:{row[1]}", fields)
            if chosen is not None:
                items.append(_sample(chosen[0], chosen[1], now, action_id=row[1],
                                     rubric=ACTION_RUBRIC))
        _upsert_samples(session, items, "action_id")
        considered += len(rows)
        drawn += len(items)
        mark.decision_id = rows[-1][0]
    return considered, drawn


def _sample_runs(session: Session, chooser: _Chooser, mark: SamplingWatermarkRow,
                 now: float) -> tuple[int, int]:
    now_ns = int(now * 1e9)
    settled = ((RunRow.ended_ns.is_not(None) & (RunRow.ended_ns <= now_ns - RUN_QUIET_NS))
               | (RunRow.started_ns <= now_ns - RUN_ABANDONED_NS))
    has_action = select(ActionRow.id).where(ActionRow.trace_id == RunRow.trace_id).exists()
    first_unsettled = session.execute(
        select(func.min(RunRow.id)).where(RunRow.id > mark.run_id, ~settled)).scalar()
    query = (select(RunRow.id, RunRow.trace_id, RunRow.agent_name, AgentRow.version,
                    RunRow.status, RunRow.total_cost,
                    RunRow.prompt_tokens + RunRow.completion_tokens)
             .outerjoin(AgentRow, AgentRow.id == RunRow.agent_id)
             .where(RunRow.id > mark.run_id, settled, ~has_action)
             .order_by(RunRow.id))
    considered = drawn = 0
    last = mark.run_id
    for rows in session.execute(query).partitions(BATCH):
        items = []
        for row in rows:
            fields = (row[2], row[3], None, None, None, row[4] == "error", row[5], row[6])
            chosen = chooser.draw(f"trace:{row[1]}", fields)
            if chosen is not None:
                items.append(_sample(chosen[0], chosen[1], now, trace_id=row[1],
                                     rubric=RUN_RUBRIC))
        _upsert_samples(session, items, "trace_id")
        considered += len(rows)
        drawn += len(items)
        last = rows[-1][0]
    # Never move past a run still going: it is considered once it settles.
    newest = session.execute(select(func.max(RunRow.id))).scalar() or 0
    mark.run_id = (first_unsettled - 1) if first_unsettled is not None else max(last, newest)
    return considered, drawn


def sample_pending(session: Session, *, rules: Sequence[SamplingRule] | None = None,
                   now: float | None = None) -> SampleReport:
    """Apply the rules to every decision and settled run not yet considered, in
    ``session``'s transaction, and move the watermark past them. Concurrent calls
    queue on the watermark row. Offering is idempotent, so decisions already offered
    by `decide` are simply drawn the same way again."""
    rules = load_rules(session) if rules is None else rules
    now = time.time() if now is None else now
    mark = _watermark(session)
    chooser = _Chooser(rules)
    actions, drawn_actions = _sample_decisions(session, chooser, mark, now)
    runs, drawn_runs = _sample_runs(session, chooser, mark, now)
    mark.updated_at = now
    return SampleReport(considered=actions + runs, drawn=drawn_actions + drawn_runs,
                        actions_considered=actions, runs_considered=runs)


def add_item(session: Session, *, actor: str, action_id: int | None = None,
             trace_id: str | None = None, rubric: str | None = None,
             labels: int = 1) -> tuple[int, bool]:
    """Put an action or a run in the review queue by hand (ad hoc: no ``pi``), needing
    ``labels`` labels from as many reviewers, answered with ``rubric`` (default: the
    action or run rubric). Returns (item id, created); adding the same subject under
    the same rubric again returns the existing item. Audited."""
    from ..review.sampling import MAX_LABELS

    if (action_id is None) == (trace_id is None):
        raise ReviewAddError("give either an action id or a trace id")
    if not 1 <= labels <= MAX_LABELS:
        raise ReviewAddError(f"labels must be between 1 and {MAX_LABELS} (got {labels})")
    target = "action" if action_id is not None else "run"
    name = rubric or (ACTION_RUBRIC if target == "action" else RUN_RUBRIC)
    ensure_default_rubrics(session)
    found = get_rubric(session, name)
    if found.target != target:
        raise ReviewAddError(f"rubric {name!r} is for {found.target}s, not {target}s")
    if action_id is not None:
        action = session.get(ActionRow, action_id)
        if action is None:
            raise UnknownAction(action_id)
        if action.state == ActionState.PENDING.value:
            raise ReviewAddError(f"action {action_id} is still pending: review it once it "
                                 "is decided")
        subject = ReviewItemRow.action_id == action_id
    else:
        if session.execute(select(RunRow.id).where(RunRow.trace_id == trace_id)
                           ).scalar_one_or_none() is None:
            raise UnknownTrace(str(trace_id))
        subject = ReviewItemRow.trace_id == trace_id
    existing = session.execute(select(ReviewItemRow.id).where(
        subject, ReviewItemRow.rubric == name)).scalar_one_or_none()
    if existing is not None:
        return existing, False
    stmt = _insert(session).values(
        action_id=action_id, trace_id=trace_id, rubric=name, pi=None, rule=None,
        needed=labels, label_count=0, state="open", created_at=time.time(), added_by=actor,
    ).on_conflict_do_nothing()
    session.execute(stmt)
    item_id = session.execute(select(ReviewItemRow.id).where(
        subject, ReviewItemRow.rubric == name)).scalar_one()
    audit.append(session, kind="review.item.added", actor=actor, subject_type="review_item",
                 subject_id=item_id,
                 payload={"action_id": action_id, "trace_id": trace_id, "rubric": name,
                          "labels": labels})
    return item_id, True
