"""Thresholds: AUTONOMY.md's defaults, a round trip through the config table, and
nonsense refused with the setting's name."""

from __future__ import annotations

from typing import Any

import pytest

from countersign.autonomy import AutonomyConfig, AutonomyConfigError
from countersign.domain import AutonomyLevel


def test_defaults_are_autonomy_md() -> None:
    cfg = AutonomyConfig()
    up = cfg.l1_to_l2
    assert (up.p_good, up.p_bad, up.alpha, up.beta) == (0.03, 0.10, 0.05, 0.10)
    assert (up.min_reviewed, up.wilson_min, up.min_days_at_level, up.min_reviewers) == (
        60, 0.95, 7, 2)
    assert (up.no_critical_in_last, up.min_agreement) == (100, 0.667)
    top = cfg.l2_to_l3
    assert (top.p_good, top.p_bad, top.min_n_eff, top.wilson_min) == (0.01, 0.05, 150, 0.98)
    assert (top.min_days_at_level, top.no_critical_in_last) == (30, 300)
    assert (cfg.cusum_l2.p0, cfg.cusum_l2.p1, cfg.cusum_l2.h) == (0.03, 0.08, 3.5)
    assert (cfg.cusum_l3.p0, cfg.cusum_l3.p1, cfg.cusum_l3.h) == (0.01, 0.04, 3.0)
    assert (cfg.window.failures, cfg.window.last, cfg.cooldown_days, cfg.z) == (3, 20, 7, 1.645)
    assert (cfg.sampling.low, cfg.sampling.medium, cfg.sampling.high) == (0.05, 0.2, 1.0)
    assert cfg.new_version == "one_level_lower"
    assert cfg.promotion_from(AutonomyLevel.L1) is up
    assert cfg.cusum_at(AutonomyLevel.L3) is cfg.cusum_l3


def test_config_round_trips_through_its_table() -> None:
    table = {"l1_to_l2": {"p_good": 0.02, "p_bad": 0.08, "min_reviewed": 80, "min_n_eff": 80,
                          "wilson_min": 0.96, "min_days_at_level": 5,
                          "no_critical_in_last": 50},
             "window": {"failures": 4, "last": 25}, "cooldown_days": 3, "new_version": "shadow"}
    cfg = AutonomyConfig.from_table(table)
    assert cfg.l1_to_l2.p_good == 0.02 and cfg.window.failures == 4
    assert AutonomyConfig.from_table(cfg.to_table()) == cfg
    assert AutonomyConfig.from_table(None) == AutonomyConfig()


def _with(section: str, **values: Any) -> dict[str, Any]:
    base = AutonomyConfig().to_table()
    if section:
        base[section] = {**base[section], **values}
    else:
        base.update(values)
    return base


@pytest.mark.parametrize(("table", "message"), [
    (_with("l1_to_l2", alpha=1.0), r"autonomy.l1_to_l2.alpha: must be between 0 and 1"),
    (_with("l1_to_l2", alpha=0.0), r"autonomy.l1_to_l2.alpha: must be between 0 and 1"),
    (_with("l2_to_l3", beta=1.5), r"autonomy.l2_to_l3.beta: must be between 0 and 1"),
    (_with("l1_to_l2", p_good=0.1, p_bad=0.1),
     r"autonomy.l1_to_l2: p_good \(0.1\) must be below p_bad \(0.1\)"),
    (_with("l1_to_l2", p_bad=1.2), r"autonomy.l1_to_l2.p_bad: must be between 0 and 1"),
    (_with("l1_to_l2", alpha=0.6, beta=0.5), r"alpha \+ beta \(0.6 \+ 0.5\) must be below 1"),
    (_with("cusum_l2", h=0), r"autonomy.cusum_l2.h: must be above 0"),
    (_with("cusum_l3", h=-1), r"autonomy.cusum_l3.h: must be above 0"),
    (_with("cusum_l3", p0=0.05), r"autonomy.cusum_l3: p0 \(0.05\) must be below p1 \(0.04\)"),
    (_with("cusum_l2", p1=0), r"autonomy.cusum_l2.p1: must be between 0 and 1"),
    (_with("window", failures=21), r"autonomy.window: failures \(21\) cannot exceed last"),
    (_with("window", last=0), r"autonomy.window.last: Input should be greater than or equal"),
    (_with("sampling", low=0.01), r"autonomy.sampling.low: must be between 0.02 and 1"),
    (_with("l1_to_l2", min_reviewed=-1), r"autonomy.l1_to_l2.min_reviewed"),
    (_with("", cooldown_days=-1), r"autonomy.cooldown_days"),
    (_with("", z=0), r"autonomy.z"),
    (_with("", new_version="never"), r"autonomy.new_version"),
    (_with("", promote_on_friday=True), r"autonomy.promote_on_friday: Extra inputs"),
])
def test_nonsense_is_refused_naming_the_setting(table: dict[str, Any], message: str) -> None:
    with pytest.raises(AutonomyConfigError, match=message):
        AutonomyConfig.from_table(table)
