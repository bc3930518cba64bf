"""Outcomes for the autonomy engine (AUTONOMY.md, "Unit and outcomes"), read from the
store: the one function the engine reads evidence through.

- A person's verdict is an outcome with ``pi`` 1.0 (every action at L1 gets one):
  approve / cosmetic edit → success, reject / material edit → failure, critical edit
  → critical failure (`countersign.autonomy.kind_for_verdict`; respond, ignore,
  expire and auto-approve judge nothing and give none).
- An auto-approved (or shadow, L0) action gets an outcome only from a label: correct or minor →
  success, wrong → failure, harm → critical failure (`review.rubric.label_outcome`).
  Its ``pi`` is the sample's; an item added by hand has none (NaN: never in the
  estimates, but a critical one still demotes). When several labels judge one action
  (overlap for agreement), the most severe one gives its outcome: harm must never be
  outvoted. Labels from a sample win over ad hoc ones on the same action.

`outcomes` yields `Outcome` rows in time order; `outcome_batches` gives the same as
one `OutcomeBatch` per unit (agent, version, action class), built from columns.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..autonomy.outcomes import Outcome, OutcomeBatch, OutcomeKind, kind_for_verdict
from ..domain import EditSeverity, Risk, Verdict
from ..jsonio import loads
from ..review.rubric import Rubric, label_outcome
from ..store.engine import Store
from ..store.models import ActionRow, AgentRow, DecisionRow
from ..store.review_models import LabelRow, ReviewItemRow
from .review_rubrics import UnknownRubric, get_rubric

Unit = tuple[str, str, str]
_LABEL_KIND = {(0, False): OutcomeKind.LABEL_CORRECT, (1, False): OutcomeKind.LABEL_WRONG,
               (1, True): OutcomeKind.LABEL_HARM}
_SEVERITY = {OutcomeKind.LABEL_CORRECT: 0, OutcomeKind.LABEL_WRONG: 1,
             OutcomeKind.LABEL_HARM: 2}
_VERDICT_KIND: dict[tuple[str, str | None], OutcomeKind | None] = {
    (v.value, s.value if s else None): kind_for_verdict(v, s)
    for v in Verdict for s in (None, *EditSeverity)
}


@contextmanager
def _session(source: Session | Store) -> Iterator[Session]:
    if isinstance(source, Session):
        yield source
    else:
        with source.read() as session:
            yield session


def _filtered(query: Any, agent: str | None, action_class: str | None,
              since: float | None, at: Any) -> Any:
    if agent is not None:
        query = query.where(AgentRow.name == agent)
    if action_class is not None:
        query = query.where(ActionRow.action_class == action_class)
    if since is not None:
        query = query.where(at > since)
    return query


def _decision_query(agent: str | None, action_class: str | None,
                    since: float | None) -> Any:
    judged = [v.value for v in (Verdict.APPROVE, Verdict.EDIT, Verdict.REJECT)]
    query = (select(AgentRow.name, AgentRow.version, ActionRow.action_class,
                    DecisionRow.decided_at, DecisionRow.verdict, DecisionRow.severity,
                    DecisionRow.reviewer, ActionRow.risk)
             .join(ActionRow, ActionRow.id == DecisionRow.action_id)
             .join(AgentRow, AgentRow.id == ActionRow.agent_id)
             .where(DecisionRow.verdict.in_(judged)))
    return _filtered(query, agent, action_class, since, DecisionRow.decided_at)


@dataclass
class _Judged:
    outcome: Outcome
    sampled: bool


def _label_outcomes(session: Session, agent: str | None, action_class: str | None,
                    since: float | None) -> list[Outcome]:
    """One outcome per auto-approved action that a label judged (see the module)."""
    query = (select(ReviewItemRow.action_id, ReviewItemRow.pi, LabelRow.created_at,
                    LabelRow.reviewer, LabelRow.answers_json, LabelRow.rubric,
                    LabelRow.rubric_version, AgentRow.name, AgentRow.version,
                    ActionRow.action_class, ActionRow.risk)
             .join(ReviewItemRow, ReviewItemRow.id == LabelRow.item_id)
             .join(ActionRow, ActionRow.id == ReviewItemRow.action_id)
             .join(AgentRow, AgentRow.id == ActionRow.agent_id)
             .join(DecisionRow, DecisionRow.action_id == ActionRow.id)
             # Shadow (L0) actions are judged only by labels too: nobody decided them.
             .where(DecisionRow.verdict.in_([Verdict.AUTO_APPROVE.value,
                                             Verdict.SHADOW.value]))
             .order_by(LabelRow.created_at, LabelRow.id))
    query = _filtered(query, agent, action_class, since, LabelRow.created_at)
    rubrics: dict[tuple[str, int], Rubric | None] = {}
    best: dict[int, _Judged] = {}
    row: Any
    for row in session.execute(query):
        (action_id, pi, at, reviewer, answers, rubric_name, version, name, agent_version,
         cls, risk) = tuple(row)
        key = (rubric_name, version)
        if key not in rubrics:
            try:
                rubrics[key] = get_rubric(session, rubric_name, version)
            except UnknownRubric:
                rubrics[key] = None
        rubric = rubrics[key]
        settled = label_outcome(rubric, loads(answers)) if rubric is not None else None
        if settled is None:
            continue
        kind = _LABEL_KIND[settled]
        outcome = Outcome.of(kind, agent=name, version=agent_version, action_class=cls,
                             at=at, pi=math.nan if pi is None else pi, reviewer=reviewer,
                             risk=Risk(risk))
        sampled = pi is not None
        held = best.get(action_id)
        if held is None or (sampled and not held.sampled) or (
                sampled == held.sampled and _SEVERITY[kind] > _SEVERITY[held.outcome.kind]):
            best[action_id] = _Judged(outcome, sampled)
    return sorted((judged.outcome for judged in best.values()), key=lambda o: o.at)


def outcomes(source: Session | Store, *, agent: str | None = None,
             action_class: str | None = None, since: float | None = None,
             ) -> Iterator[Outcome]:
    """Every outcome (optionally of one agent name / action class, strictly after
    ``since``), verdicts and labels merged in time order."""
    with _session(source) as session:
        labelled = _label_outcomes(session, agent, action_class, since)
        query = _decision_query(agent, action_class, since).order_by(
            DecisionRow.decided_at, DecisionRow.id)

        def verdicts() -> Iterator[Outcome]:
            for name, version, cls, at, verdict, severity, reviewer, risk in (
                    session.execute(query).yield_per(20_000)):
                kind = _VERDICT_KIND.get((verdict, severity))
                if kind is not None:
                    yield Outcome.of(kind, agent=name, version=version, action_class=cls,
                                     at=at, pi=1.0, reviewer=reviewer, risk=Risk(risk))

        yield from heapq.merge(verdicts(), labelled, key=lambda o: o.at)


_RISK_RANK = {risk.value: risk.rank for risk in Risk}


def outcome_batches(source: Session | Store, *, agent: str | None = None,
                    action_class: str | None = None, since: float | None = None,
                    ) -> dict[Unit, OutcomeBatch]:
    """The same outcomes as `outcomes`, one `OutcomeBatch` per unit (agent, version,
    action class), each sorted by time: columns all the way, for a million rows."""
    with _session(source) as session:
        rows = session.execute(_decision_query(agent, action_class, since)).all()
        labelled = _label_outcomes(session, agent, action_class, since)
    units: dict[Unit, int] = {}
    reviewers: dict[str, int] = {}
    n = len(rows) + len(labelled)
    unit = np.empty(n, dtype=np.int64)
    at = np.empty(n, dtype=np.float64)
    kind = np.empty(n, dtype=np.int8)
    pi = np.ones(n, dtype=np.float64)
    reviewer = np.empty(n, dtype=np.int32)
    risk = np.empty(n, dtype=np.int8)
    keep = np.ones(n, dtype=np.bool_)
    for i, (name, version, cls, when, verdict, severity, who, level) in enumerate(rows):
        code = _VERDICT_KIND.get((verdict, severity))
        if code is None:
            keep[i] = False
            continue
        unit[i] = units.setdefault((name, version, cls), len(units))
        at[i], kind[i], risk[i] = when, code, _RISK_RANK[level]
        reviewer[i] = reviewers.setdefault(who, len(reviewers))
    for j, o in enumerate(labelled, start=len(rows)):
        unit[j] = units.setdefault((o.agent, o.version, o.action_class), len(units))
        at[j], kind[j], pi[j], risk[j] = o.at, o.kind, o.pi, Risk(o.risk).rank
        reviewer[j] = -1 if o.reviewer is None else reviewers.setdefault(o.reviewer,
                                                                         len(reviewers))
    order = np.flatnonzero(keep)
    order = order[np.lexsort((at[order], unit[order]))]
    unit, at, kind, pi = unit[order], at[order], kind[order], pi[order]
    reviewer, risk = reviewer[order], risk[order]
    failure = np.array([OutcomeKind(k).failure for k in OutcomeKind], dtype=np.int8)
    critical = np.array([OutcomeKind(k).critical for k in OutcomeKind], dtype=np.bool_)
    names = tuple(reviewers)
    bounds = np.searchsorted(unit, np.arange(len(units) + 1))
    batches: dict[Unit, OutcomeBatch] = {}
    for key, index in units.items():
        part = slice(int(bounds[index]), int(bounds[index + 1]))
        k = kind[part]
        batches[key] = OutcomeBatch.from_arrays(
            at=at[part], y=failure[k], critical=critical[k], pi=pi[part], kind=k,
            reviewer=reviewer[part], risk=risk[part], reviewers=names)
    return batches
