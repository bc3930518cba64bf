"""Realistic units for the Autonomy workspace's tests, benchmark and screenshots: outcome
histories with a known failure rate, their level changes, and the engine's own evidence
and chart series over them (nothing here fakes a number the engine would not give)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from countersign.autonomy import AutonomyConfig, OutcomeBatch, OutcomeKind, evaluate, series
from countersign.autonomy.rules import demotion_trigger
from countersign.domain import AutonomyLevel
from countersign.domain.autonomy import LevelChange, UnitKey
from countersign.domain.autonomy_status import UnitStatus
from countersign_ui.autonomy.rows import UnitDetail, UnitRow, sparkline_of

DAY = 86_400.0
#: A fixed "now" (2026-03-01 UTC) so texts and charts do not depend on the clock.
NOW = 1_772_323_200.0
CONFIG = AutonomyConfig()


@dataclass
class StoredUnit:
    """A unit's stored history: its outcomes and its level changes (since, level, rule,
    actor), oldest first; ``against`` flags each change after the first."""

    key: UnitKey
    batch: OutcomeBatch
    history: list[tuple[float, AutonomyLevel, str, str]]
    last_demotion_at: float | None = None
    against: list[bool] = field(default_factory=list)

    def detail(self, now: float = NOW) -> UnitDetail:
        return build_detail(self.key, self.batch, self.history, now=now,
                            last_demotion_at=self.last_demotion_at)


def outcome_batch(n: int, *, rate: float, start: float, end: float, seed: int,
                  pi: float | Sequence[float] = 1.0, critical_share: float = 0.0,
                  reviewers: Sequence[str] = ("ann", "bo", "cy")) -> OutcomeBatch:
    """``n`` outcomes spread over [start, end] failing at ``rate``: failures are material
    edits and rejects (and ``critical_share`` of them critical), successes approvals
    with some cosmetic edits; ``pi`` one value or one per outcome."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < rate).astype(np.int8)
    critical = (y == 1) & (rng.random(n) < critical_share)
    failing = np.where(rng.random(n) < 0.5, OutcomeKind.MATERIAL_EDIT, OutcomeKind.REJECT)
    passing = np.where(rng.random(n) < 0.12, OutcomeKind.COSMETIC_EDIT, OutcomeKind.APPROVE)
    kind = np.where(critical, OutcomeKind.CRITICAL_EDIT, np.where(y == 1, failing, passing))
    return OutcomeBatch.from_arrays(
        at=np.sort(rng.uniform(start, end, n)), y=y, critical=critical,
        pi=np.broadcast_to(np.asarray(pi, dtype=np.float64), (n,)), kind=kind,
        reviewer=rng.integers(0, len(reviewers), n), risk=rng.integers(0, 3, n),
        reviewers=tuple(reviewers))


def joined(*batches: OutcomeBatch) -> OutcomeBatch:
    """Several batches of one unit, in time order (each must follow the previous)."""
    names = batches[0].reviewers
    return OutcomeBatch.from_arrays(
        at=np.concatenate([b.at for b in batches]), y=np.concatenate([b.y for b in batches]),
        critical=np.concatenate([b.critical for b in batches]),
        pi=np.concatenate([b.pi for b in batches]),
        kind=np.concatenate([b.kind for b in batches]),
        reviewer=np.concatenate([b.reviewer for b in batches]),
        risk=np.concatenate([b.risk for b in batches]), reviewers=names)


def build_detail(key: UnitKey, batch: OutcomeBatch,
                 history: Sequence[tuple[float, AutonomyLevel, str, str]], *,
                 now: float = NOW, config: AutonomyConfig = CONFIG,
                 last_demotion_at: float | None = None) -> UnitDetail:
    """The unit as the workspace shows it. ``history`` lists (since, level, rule,
    actor) in time order, the first being the unit's start; rules as the service
    records them (initial, promotion, lead, demotion:critical|cusum|window)."""
    level_since, level = history[-1][0], history[-1][1]
    evidence = evaluate(batch, level=level, level_since=level_since, now=now, config=config,
                        agreement=None, last_demotion_at=last_demotion_at)
    status = UnitStatus(unit=key, level=level, level_since=level_since,
                        level_rule=history[-1][2], level_version=len(history),
                        last_demotion_at=last_demotion_at, evidence=evidence)
    unit_series = series(batch, level_history=[(h[0], h[1]) for h in history], config=config)
    changes: list[LevelChange] = []
    previous: AutonomyLevel | None = None
    for number, (at, to, rule, actor) in enumerate(history, start=1):
        snapshot: dict[str, object] = {}
        if previous is not None:
            upto = batch.slice(0, int(np.searchsorted(batch.at, at, side="right")))
            before = evaluate(upto, level=previous, level_since=changes[-1].at, now=at,
                              config=config, agreement=None, last_demotion_at=None)
            snapshot = before.model_dump(mode="json")
        changes.append(LevelChange(
            id=number, unit=key, at=at, from_level=previous, to_level=to, rule=rule,
            actor=actor, reason="Confirmed the recommendation." if rule == "promotion"
            else None, against_recommendation=False, config_version=1, evidence=snapshot))
        previous = to
    return UnitDetail(status=status, series=unit_series, changes=tuple(changes),
                      config=config)


def row_of(detail: UnitDetail) -> UnitRow:
    return UnitRow(status=detail.status, sparkline=sparkline_of(detail.series))


def ready_unit(now: float = NOW) -> StoredUnit:
    """An L1 agent with 40 days of clean-enough reviews: recommended for L2."""
    key = UnitKey(agent="billing-bot", version="2.1", action_class="issue_refund")
    start = now - 40 * DAY
    batch = outcome_batch(420, rate=0.012, start=start + 3_600, end=now - 3_600, seed=3)
    return StoredUnit(key, batch, [(start, AutonomyLevel.L1, "initial", "policy")])


def regressed_unit(now: float = NOW) -> StoredUnit:
    """Promoted to L2, then a regression: the window rule pulled it back to L1."""
    key = UnitKey(agent="support-triage", version="1.4", action_class="send_email")
    start = now - 60 * DAY
    promoted = now - 30 * DAY
    good = outcome_batch(500, rate=0.01, start=start + 3_600, end=promoted - 3_600, seed=5)
    bad = outcome_batch(300, rate=0.09, start=promoted + 3_600, end=now - 3_600, seed=6,
                        pi=0.2)
    batch = joined(good, bad)
    found = demotion_trigger(batch, level=AutonomyLevel.L2, config=CONFIG, since=promoted)
    assert found is not None, "the regression must trip a demotion rule"
    history = [(start, AutonomyLevel.L1, "initial", "policy"),
               (promoted, AutonomyLevel.L2, "promotion", "lee"),
               (found.at, AutonomyLevel.L1, f"demotion:{found.rule}", "policy")]
    return StoredUnit(key, batch, history, last_demotion_at=found.at)


def new_unit(now: float = NOW) -> StoredUnit:
    """A new agent: two days in, a dozen reviews, gathering evidence."""
    key = UnitKey(agent="crm-sync", version="0.9", action_class="update_record")
    start = now - 2 * DAY
    batch = outcome_batch(12, rate=0.05, start=start + 600, end=now - 600, seed=9)
    return StoredUnit(key, batch, [(start, AutonomyLevel.L1, "initial", "policy")])


def empty_unit(now: float = NOW) -> StoredUnit:
    """A unit with no outcome at all."""
    key = UnitKey(agent="fresh-agent", version="1.0", action_class="read_calendar")
    return StoredUnit(key, OutcomeBatch.empty(),
                      [(now - 3_600, AutonomyLevel.L1, "initial", "policy")])


def big_unit(n: int = 100_000, now: float = NOW) -> StoredUnit:
    """A year of a busy agent: L1, promoted to L2 after four months, a regression
    (6 % failures) in month nine that the rules catch within a day (back to L1), fixed
    a fortnight later. Outcomes at L2 are audit samples (pi 0.2)."""
    key = UnitKey(agent="ops-runner", version="3.0", action_class="restart_service")
    start = now - 365 * DAY
    promoted, regress, fixed = start + 120 * DAY, start + 250 * DAY, start + 264 * DAY
    sizes = (n * 30 // 100, n * 40 // 100, n * 4 // 100)
    parts = (
        outcome_batch(sizes[0], rate=0.01, start=start, end=promoted - 60, seed=21),
        outcome_batch(sizes[1], rate=0.003, start=promoted + 60, end=regress, seed=22,
                      pi=0.2),
        outcome_batch(sizes[2], rate=0.06, start=regress + 60, end=fixed, seed=23, pi=0.2),
        outcome_batch(n - sum(sizes), rate=0.008, start=fixed + 60, end=now - 60, seed=24),
    )
    batch = joined(*parts)
    found = demotion_trigger(batch, level=AutonomyLevel.L2, config=CONFIG, since=promoted)
    assert found is not None and found.at > regress
    history = [(start, AutonomyLevel.L1, "initial", "policy"),
               (promoted, AutonomyLevel.L2, "promotion", "lee"),
               (found.at, AutonomyLevel.L1, f"demotion:{found.rule}", "policy")]
    return StoredUnit(key, batch, history, last_demotion_at=found.at)


def healthy_l2_unit(now: float = NOW) -> StoredUnit:
    """Promoted to L2 three weeks ago, audited at pi 0.2 since: a clean record, not yet
    30 days at L2 for L3."""
    key = UnitKey(agent="support-mail-agent", version="3.1.0", action_class="send_reply")
    start, promoted = now - 50 * DAY, now - 21 * DAY
    before = outcome_batch(600, rate=0.015, start=start + 600, end=promoted - 600, seed=31)
    after = outcome_batch(260, rate=0.006, start=promoted + 600, end=now - 600, seed=32,
                          pi=0.2)
    history = [(start, AutonomyLevel.L1, "initial", "policy"),
               (promoted, AutonomyLevel.L2, "promotion", "lee")]
    return StoredUnit(key, joined(before, after), history)


def l3_unit(now: float = NOW) -> StoredUnit:
    """A read-only reporting agent trusted at L3 for two months."""
    key = UnitKey(agent="sql-agent", version="1.2.0", action_class="run_report")
    start, l2, l3 = now - 150 * DAY, now - 110 * DAY, now - 60 * DAY
    parts = (outcome_batch(700, rate=0.008, start=start + 600, end=l2 - 600, seed=41),
             outcome_batch(900, rate=0.004, start=l2 + 600, end=l3 - 600, seed=42, pi=0.2),
             outcome_batch(500, rate=0.002, start=l3 + 600, end=now - 600, seed=43,
                           pi=0.05))
    history = [(start, AutonomyLevel.L1, "initial", "policy"),
               (l2, AutonomyLevel.L2, "promotion", "lee"),
               (l3, AutonomyLevel.L3, "promotion", "lee")]
    return StoredUnit(key, joined(*parts), history)
