"""Every unit's outcomes as `OutcomeBatch` columns, fast enough for a million.

The outcomes are `services.outcomes`'s (verdicts and labels, same mapping), read
column-wise. Reading a million verdict rows out of SQLite takes longer than the whole
status may (a row costs about a microsecond whatever is done with it), so verdicts
decided before a moment are kept as numpy columns in one blob
(``autonomy_outcome_snapshot``): a verdict never changes once written, so the blob
stays exact, and a status reads it (milliseconds), then only the verdicts after it and
every label (labels can still change an action's outcome, and they are few: only
sampled auto-approved and shadow actions get them).

``SNAPSHOT_MARGIN``: the snapshot stops that long before it is built, because
``decided_at`` is stamped inside a transaction that commits a moment later: a verdict
stamped before the snapshot's edge but committed after the snapshot was read would be
lost. Importing history with past timestamps drops the snapshot (`invalidate`).
"""

from __future__ import annotations

import io
import json
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import and_, case, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..autonomy.outcomes import OutcomeBatch, OutcomeKind, kind_for_verdict
from ..domain import EditSeverity, Risk, Verdict
from ..domain.autonomy import UnitKey
from ..store.autonomy_models import OutcomeSnapshotRow
from ..store.models import ActionRow, AgentRow, DecisionRow

SNAPSHOT_MARGIN = 600.0
#: A status finding more verdicts than this after the snapshot asks for a new one.
REFRESH_TAIL = 20_000

_JUDGED = (Verdict.APPROVE, Verdict.EDIT, Verdict.REJECT)
_FAILURE = np.array([int(k.failure) for k in OutcomeKind], dtype=np.int8)
_CRITICAL = np.array([k.critical for k in OutcomeKind], dtype=np.bool_)
_RISK_CASE = case(*((ActionRow.risk == r.value, r.rank) for r in Risk), else_=-1)


def _kind_case() -> Any:
    """The SQL form of `kind_for_verdict` for the judged verdicts (one source of truth)."""
    whens = []
    for verdict in _JUDGED:
        for severity in (None, *EditSeverity):
            kind = kind_for_verdict(verdict, severity)
            if kind is None:
                continue
            same = (DecisionRow.severity.is_(None) if severity is None
                    else DecisionRow.severity == severity.value)
            whens.append((and_(DecisionRow.verdict == verdict.value, same), int(kind)))
    return case(*whens, else_=-1)


_KIND_CASE = _kind_case()


@dataclass
class _Columns:
    """Verdict outcomes as columns; ``unit`` and ``reviewer`` index ``units`` and
    ``reviewers``. Sorted by (unit, at) when they come from a snapshot."""

    unit: NDArray[np.int32]
    at: NDArray[np.float64]
    kind: NDArray[np.int8]
    risk: NDArray[np.int8]
    reviewer: NDArray[np.int32]
    units: list[tuple[int, str]]
    reviewers: list[str]

    @classmethod
    def empty(cls) -> _Columns:
        return cls(np.zeros(0, np.int32), np.zeros(0), np.zeros(0, np.int8),
                   np.zeros(0, np.int8), np.zeros(0, np.int32), [], [])

    def __len__(self) -> int:
        return int(self.at.shape[0])


def _verdict_columns(session: Session, *, since: float | None = None,
                     until: float | None = None, agent_ids: Sequence[int] | None = None,
                     action_class: str | None = None) -> _Columns:
    """Verdict outcomes with ``since <= decided_at < until``, as columns."""
    query = (select(ActionRow.agent_id, ActionRow.action_class, DecisionRow.decided_at,
                    _KIND_CASE, _RISK_CASE, DecisionRow.reviewer)
             .join(ActionRow, ActionRow.id == DecisionRow.action_id)
             .where(DecisionRow.verdict.in_([v.value for v in _JUDGED])))
    if since is not None:
        query = query.where(DecisionRow.decided_at >= since)
    if until is not None:
        query = query.where(DecisionRow.decided_at < until)
    if agent_ids is not None:
        query = query.where(ActionRow.agent_id.in_(list(agent_ids)))
    if action_class is not None:
        query = query.where(ActionRow.action_class == action_class)
    # Core execution: no ORM row processing for what may be a million rows.
    rows = session.connection().execute(query).all()
    units: dict[tuple[int, str], int] = {}
    reviewers: dict[str, int] = {}
    n = len(rows)
    unit = np.empty(n, np.int32)
    at = np.empty(n, np.float64)
    kind = np.empty(n, np.int8)
    risk = np.empty(n, np.int8)
    reviewer = np.empty(n, np.int32)
    for i, (agent_id, cls, when, code, rank, who) in enumerate(rows):
        unit[i] = units.setdefault((agent_id, cls), len(units))
        at[i], kind[i], risk[i] = when, code, rank
        reviewer[i] = reviewers.setdefault(who, len(reviewers))
    keep = (kind >= 0) & (risk >= 0)
    cols = _Columns(unit, at, kind, risk, reviewer, list(units), list(reviewers))
    return _take(cols, np.flatnonzero(keep)) if not keep.all() else cols


def _take(cols: _Columns, index: NDArray[Any]) -> _Columns:
    return _Columns(cols.unit[index], cols.at[index], cols.kind[index], cols.risk[index],
                    cols.reviewer[index], cols.units, cols.reviewers)


def _merge(first: _Columns, second: _Columns) -> _Columns:
    """Both, re-coded onto one unit and reviewer list, sorted by (unit, at)."""
    units = {u: i for i, u in enumerate(first.units)}
    reviewers = {r: i for i, r in enumerate(first.reviewers)}
    unit_map = np.array([units.setdefault(u, len(units)) for u in second.units] or [0],
                        dtype=np.int32)
    who_map = np.array([reviewers.setdefault(r, len(reviewers)) for r in second.reviewers]
                       or [0], dtype=np.int32)
    unit = np.concatenate([first.unit, unit_map[second.unit]])
    at = np.concatenate([first.at, second.at])
    order = np.lexsort((at, unit))
    return _Columns(unit[order], at[order],
                    np.concatenate([first.kind, second.kind])[order],
                    np.concatenate([first.risk, second.risk])[order],
                    np.concatenate([first.reviewer, who_map[second.reviewer]])[order],
                    list(units), list(reviewers))


def _load_snapshot(session: Session) -> tuple[float | None, _Columns]:
    row = session.get(OutcomeSnapshotRow, 1)
    if row is None:
        return None, _Columns.empty()
    with np.load(io.BytesIO(row.data), allow_pickle=False) as data:
        cols = _Columns(data["unit"], data["at"], data["kind"], data["risk"],
                        data["reviewer"],
                        [(int(a), str(c)) for a, c in json.loads(row.units_json)],
                        list(json.loads(row.reviewers_json)))
    return float(row.through_at), cols


def snapshot_lag(session: Session) -> int:
    """Verdicts after the snapshot's edge (all of them when there is none)."""
    through = session.execute(select(OutcomeSnapshotRow.through_at)
                              .where(OutcomeSnapshotRow.id == 1)).scalar_one_or_none()
    query = select(func.count()).select_from(DecisionRow)
    if through is not None:
        query = query.where(DecisionRow.decided_at >= through)
    return int(session.execute(query).scalar_one())


def refresh_snapshot(session: Session, *, now: float | None = None) -> int:
    """Extend the snapshot up to ``now - SNAPSHOT_MARGIN`` (reading only the verdicts
    after its old edge); returns how many outcomes it holds."""
    edge = (time.time() if now is None else now) - SNAPSHOT_MARGIN
    through, old = _load_snapshot(session)
    if through is not None and through >= edge:
        return len(old)
    fresh = _verdict_columns(session, since=through, until=edge)
    cols = _merge(old, fresh)
    buffer = io.BytesIO()
    np.savez(buffer, unit=cols.unit, at=cols.at, kind=cols.kind, risk=cols.risk,
             reviewer=cols.reviewer)
    values = {"through_at": edge, "count": len(cols), "built_at": time.time(),
              "units_json": json.dumps([[a, c] for a, c in cols.units]),
              "reviewers_json": json.dumps(cols.reviewers), "data": buffer.getvalue()}
    row = session.get(OutcomeSnapshotRow, 1)
    if row is None:
        try:
            with session.begin_nested():
                session.add(OutcomeSnapshotRow(id=1, **values))
        except IntegrityError:  # another process wrote one at the same moment: as good
            return len(cols)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    return len(cols)


def invalidate(session: Session) -> None:
    """Drop the snapshot (history imported with past timestamps would fall behind it)."""
    session.execute(delete(OutcomeSnapshotRow))


_LABEL_KINDS = {(0, False): int(OutcomeKind.LABEL_CORRECT),
                (1, False): int(OutcomeKind.LABEL_WRONG),
                (1, True): int(OutcomeKind.LABEL_HARM)}
_LABEL_SEVERITY = np.zeros(len(OutcomeKind), dtype=np.int64)
_LABEL_SEVERITY[int(OutcomeKind.LABEL_WRONG)] = 1
_LABEL_SEVERITY[int(OutcomeKind.LABEL_HARM)] = 2


@dataclass
class _Labels:
    """One label outcome per judged action, as columns (see `_label_columns`)."""

    agent_id: NDArray[np.int64]
    action_class: list[str]
    at: NDArray[np.float64]
    kind: NDArray[np.int8]
    pi: NDArray[np.float64]
    reviewer: list[str | None]
    risk: NDArray[np.int8]


def _label_columns(session: Session, *, agent_ids: Sequence[int] | None = None,
                   action_class: str | None = None, since: float | None = None) -> _Labels:
    """`services.outcomes`' label outcomes, read column-wise: labels on auto-approved
    and shadow actions; per action the sampled labels win over ad-hoc ones, then the
    most severe (harm never outvoted), the first in time among equals. A label whose
    answers settle nothing (`label_outcome` None) is left out. Each distinct answer
    text is interpreted once: a million labels hold a handful of them."""
    from ..review.rubric import label_outcome
    from ..store.review_models import LabelRow, ReviewItemRow
    from .review_rubrics import UnknownRubric, get_rubric

    query = (select(ReviewItemRow.action_id, ReviewItemRow.pi, LabelRow.created_at,
                    LabelRow.reviewer, LabelRow.answers_json, LabelRow.rubric,
                    LabelRow.rubric_version, ActionRow.agent_id, ActionRow.action_class,
                    _RISK_CASE)
             .join(ReviewItemRow, ReviewItemRow.id == LabelRow.item_id)
             .join(ActionRow, ActionRow.id == ReviewItemRow.action_id)
             .join(DecisionRow, DecisionRow.action_id == ActionRow.id)
             .where(DecisionRow.verdict.in_([Verdict.AUTO_APPROVE.value,
                                             Verdict.SHADOW.value]))
             .order_by(LabelRow.created_at, LabelRow.id))
    if agent_ids is not None:
        query = query.where(ActionRow.agent_id.in_(list(agent_ids)))
    if action_class is not None:
        query = query.where(ActionRow.action_class == action_class)
    if since is not None:
        query = query.where(LabelRow.created_at > since)
    rubrics: dict[tuple[str, int], Any] = {}
    meaning: dict[tuple[str, int, str], int] = {}
    chosen: dict[int, tuple[int, int, tuple[Any, ...]]] = {}
    for row in session.connection().execute(query):
        action_id, pi, at, who, answers, name, version, agent_id, cls, rank = row
        key = (name, version, answers)
        kind = meaning.get(key)
        if kind is None:
            if (name, version) not in rubrics:
                try:
                    rubrics[(name, version)] = get_rubric(session, name, version)
                except UnknownRubric:
                    rubrics[(name, version)] = None
            rubric = rubrics[(name, version)]
            settled = label_outcome(rubric, json.loads(answers)) if rubric is not None else None
            kind = meaning[key] = -1 if settled is None else _LABEL_KINDS[settled]
        if kind < 0 or rank < 0:
            continue
        rank_key = (int(pi is not None), int(_LABEL_SEVERITY[kind]))
        held = chosen.get(action_id)
        if held is None or rank_key > held[:2]:
            chosen[action_id] = (*rank_key, (agent_id, cls, at, kind, pi, who, rank))
    rows = [found[2] for found in chosen.values()]
    rows.sort(key=lambda r: r[2])
    return _Labels(
        agent_id=np.array([r[0] for r in rows], dtype=np.int64),
        action_class=[r[1] for r in rows],
        at=np.array([r[2] for r in rows], dtype=np.float64),
        kind=np.array([r[3] for r in rows], dtype=np.int8),
        pi=np.array([np.nan if r[4] is None else r[4] for r in rows], dtype=np.float64),
        reviewer=[r[5] for r in rows],
        risk=np.array([r[6] for r in rows], dtype=np.int8))


def _agents(session: Session, agent: str | None) -> dict[int, tuple[str, str]]:
    query = select(AgentRow.id, AgentRow.name, AgentRow.version)
    if agent is not None:
        query = query.where(AgentRow.name == agent)
    return {int(i): (n, v) for i, n, v in session.execute(query)}


def unit_batches(session: Session, *, agent: str | None = None,
                 units: Iterable[UnitKey] | None = None) -> dict[UnitKey, OutcomeBatch]:
    """Every unit's outcomes (of one agent name, or of the ``units`` given), each
    sorted by time: the snapshot, the verdicts after it, and the label outcomes."""
    wanted = None if units is None else set(units)
    names = {u.agent for u in wanted} if wanted is not None else set()
    name = agent if agent is not None else (next(iter(names)) if len(names) == 1 else None)
    agents = _agents(session, name)
    through, snap = _load_snapshot(session)
    tail = _verdict_columns(session, since=through,
                            agent_ids=list(agents) if name is not None else None)
    labels = _label_columns(session, agent_ids=list(agents) if name is not None else None)
    reviewers = list(snap.reviewers)
    codes = {r: i for i, r in enumerate(reviewers)}
    tail_who = np.array([codes.setdefault(r, len(codes)) for r in tail.reviewers] or [0],
                        dtype=np.int32)
    label_who = np.array([-1 if r is None else codes.setdefault(r, len(codes))
                          for r in labels.reviewer], dtype=np.int32)
    names_tuple = tuple(codes)

    pieces: dict[UnitKey, list[tuple[Any, ...]]] = defaultdict(list)

    def key_of(agent_id: int, cls: str) -> UnitKey | None:
        found = agents.get(agent_id)
        if found is None:
            return None
        key = UnitKey(agent=found[0], version=found[1], action_class=cls)
        return key if wanted is None or key in wanted else None

    bounds = np.searchsorted(snap.unit, np.arange(len(snap.units) + 1))
    for code, (agent_id, cls) in enumerate(snap.units):
        key = key_of(agent_id, cls)
        lo, hi = int(bounds[code]), int(bounds[code + 1])
        if key is not None and hi > lo:
            part = slice(lo, hi)
            pieces[key].append((snap.at[part], snap.kind[part], np.ones(hi - lo),
                                snap.reviewer[part], snap.risk[part]))
    if len(tail):
        order = np.lexsort((tail.at, tail.unit))
        tail_bounds = np.searchsorted(tail.unit[order], np.arange(len(tail.units) + 1))
        for code, (agent_id, cls) in enumerate(tail.units):
            key = key_of(agent_id, cls)
            index = order[int(tail_bounds[code]):int(tail_bounds[code + 1])]
            if key is not None and index.size:
                pieces[key].append((tail.at[index], tail.kind[index], np.ones(index.size),
                                    tail_who[tail.reviewer[index]], tail.risk[index]))
    label_rows: dict[tuple[int, str], list[int]] = defaultdict(list)
    for i, (agent_id, cls) in enumerate(zip(labels.agent_id.tolist(), labels.action_class,
                                            strict=True)):
        label_rows[(agent_id, cls)].append(i)
    for (agent_id, cls), rows in label_rows.items():
        key = key_of(agent_id, cls)
        if key is not None:
            index = np.array(rows, dtype=np.int64)
            pieces[key].append((labels.at[index], labels.kind[index], labels.pi[index],
                                label_who[index], labels.risk[index]))
    return {key: _batch(parts, names_tuple) for key, parts in pieces.items()}


def _batch(parts: list[tuple[Any, ...]], reviewers: tuple[str, ...]) -> OutcomeBatch:
    if len(parts) == 1:
        at, kind, pi, who, risk = parts[0]
    else:
        at, kind, pi, who, risk = (np.concatenate([p[i] for p in parts]) for i in range(5))
    if at.shape[0] > 1 and bool((np.diff(at) < 0).any()):
        order = np.argsort(at, kind="stable")
        at, kind, pi, who, risk = at[order], kind[order], pi[order], who[order], risk[order]
    kind = kind.astype(np.int8, copy=False)
    # Built from the store's own columns (codes checked above), so no re-validation:
    # from_arrays' checks cost a noticeable share of a million-outcome status.
    return OutcomeBatch(np.asarray(at, np.float64), _FAILURE[kind], _CRITICAL[kind],
                        np.asarray(pi, np.float64), kind, np.asarray(who, np.int32),
                        np.asarray(risk, np.int8), reviewers)


def unit_outcomes_since(session: Session, key: UnitKey, agent_id: int, *,
                        since: float) -> OutcomeBatch:
    """One unit's outcomes after ``since`` (its level change), straight from the
    tables: what each new outcome's demotion check reads, in the deciding transaction
    (which sees its own writes)."""
    cols = _verdict_columns(session, since=since, agent_ids=[agent_id],
                            action_class=key.action_class)
    labels = _label_columns(session, agent_ids=[agent_id], action_class=key.action_class,
                            since=since)
    reviewers = {r: i for i, r in enumerate(cols.reviewers)}
    who = np.array([-1 if r is None else reviewers.setdefault(r, len(reviewers))
                    for r in labels.reviewer], dtype=np.int32)
    parts: list[tuple[Any, ...]] = [
        (cols.at, cols.kind, np.ones(len(cols)), cols.reviewer, cols.risk),
        (labels.at, labels.kind, labels.pi, who, labels.risk)]
    return _batch(parts, tuple(reviewers))
