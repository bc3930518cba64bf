"""What-if replay on hand-built histories."""

from __future__ import annotations

import pytest

from countersign.autonomy import AutonomyConfig, ReplayRow, replay
from countersign.domain import AutonomyLevel, Risk

from .helpers import HOUR

CFG = AutonomyConfig()
L1, L2, L3 = AutonomyLevel.L1, AutonomyLevel.L2, AutonomyLevel.L3
LOW, MED, HIGH, CRIT = Risk.LOW, Risk.MEDIUM, Risk.HIGH, Risk.CRITICAL


def _rows(risks: list[Risk], ys: list[int | None], critical: frozenset[int] = frozenset()
          ) -> list[ReplayRow]:
    return [ReplayRow(at=HOUR * i, risk=r, y=y, critical=i in critical)
            for i, (r, y) in enumerate(zip(risks, ys, strict=True))]


QUIET = _rows([LOW, MED, HIGH, CRIT, LOW, MED, HIGH, CRIT], [0, 1, 0, 0, None, 0, 0, 1])


def test_l2_auto_approves_low_and_medium_risk() -> None:
    result = replay(QUIET, level=L2, config=CFG)
    assert (result.actions, result.auto_approved) == (8, 4)
    assert (result.auto_approved_failures, result.auto_approved_unknown) == (1, 1)
    assert result.auto_approved_critical == 0
    assert result.demotions == [] and result.final_level is L2


def test_l3_also_auto_approves_high_risk_but_never_critical() -> None:
    result = replay(QUIET, level=L3, config=CFG)
    assert (result.auto_approved, result.auto_approved_failures) == (6, 1)


def test_a_harmful_action_demotes_to_l1_and_stops_auto_approval() -> None:
    ys: list[int | None] = [0] * 12
    ys[5] = 1
    result = replay(_rows([LOW] * 12, ys, critical=frozenset({5})), level=L3, config=CFG)
    assert result.auto_approved == 6  # rows 0..5, the harmful one included
    assert (result.auto_approved_failures, result.auto_approved_critical) == (1, 1)
    [demotion] = result.demotions
    assert (demotion.rule, demotion.from_level, demotion.to_level) == ("critical", L3, L1)
    assert (demotion.at, demotion.index) == (5 * HOUR, 5)
    assert result.final_level is L1


def test_window_demotions_step_down_one_level_at_a_time() -> None:
    risks = [HIGH, LOW] * 30
    ys: list[int | None] = [0] * 60
    for i in (2, 4, 6, 40, 42, 44):
        ys[i] = 1
    result = replay(_rows(risks, ys), level=L3, config=CFG)
    assert [(d.rule, d.from_level, d.to_level, d.index) for d in result.demotions] == [
        ("window", L3, L2, 6), ("window", L2, L1, 44)]
    # L3 for rows 0..6 (all 7 auto-approved), L2 for rows 7..44 (the 19 low-risk ones);
    # the later failures were high-risk, which a person would have seen at L2.
    assert result.auto_approved == 7 + 19
    assert result.auto_approved_failures == 3
    assert result.final_level is L1


def test_rows_in_any_order_give_the_same_answer_and_indices_point_into_the_input() -> None:
    ys: list[int | None] = [0] * 12
    ys[5] = 1
    rows = _rows([LOW] * 12, ys, critical=frozenset({5}))
    shuffled = rows[6:] + rows[:6]
    result = replay(shuffled, level=L3, config=CFG)
    assert result.auto_approved == 6
    assert shuffled[result.demotions[0].index].critical


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="level must be L2 or L3"):
        replay(QUIET, level=L1, config=CFG)
    with pytest.raises(ValueError, match=r"ReplayRow.critical needs y = 1"):
        ReplayRow(at=0.0, risk=LOW, y=0, critical=True)
    with pytest.raises(ValueError, match=r"ReplayRow.y must be 0, 1 or None"):
        ReplayRow(at=0.0, risk=LOW, y=2)
