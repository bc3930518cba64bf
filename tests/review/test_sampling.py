"""The sampling draw: rates honoured, the same items drawn on every replay, and each
sample carrying the pi it really had (the Hájek estimator depends on it)."""

from __future__ import annotations

import math
import subprocess
import sys
import tomllib
from dataclasses import replace
from typing import Any, get_args

import pytest

from countersign.domain import Risk
from countersign.review.sampling import (
    DECIDED_VERDICTS,
    DEFAULT_RULES,
    PI_FLOOR,
    Candidate,
    Draw,
    RiskTier,
    SamplingRule,
    choose,
    draw_uniform,
    rules_from_toml_table,
    rules_to_dicts,
)

N = 100_000


def _five_sigma(n: int, p: float) -> float:
    return 5 * math.sqrt(n * p * (1 - p))


@pytest.mark.parametrize("rate", [0.05, 0.2, 0.5, 0.9])
def test_the_rate_is_honoured_within_binomial_bounds(rate: float) -> None:
    rule = SamplingRule(name=f"rate-{rate}", rate=rate)
    draws = [choose([rule], Candidate(key=f"action:{i}")) for i in range(N)]
    drawn = sum(1 for d in draws if d is not None and d.drawn)
    assert abs(drawn - N * rate) <= _five_sigma(N, rate), drawn
    assert {d.pi for d in draws if d is not None} == {rate}


def test_rate_one_draws_everything() -> None:
    rule = SamplingRule(name="all", rate=1.0)
    assert all(choose([rule], Candidate(key=f"trace:{i:x}")) == Draw("all", 1.0, True)
               for i in range(2000))


def test_the_draw_is_a_fixed_function_of_rule_and_key() -> None:
    # Pinned values: changing the hash would silently redraw every stored sample.
    assert draw_uniform("low-risk", "action:1") == 0.46566669956064677
    assert draw_uniform("low-risk", "action:2") == 0.011421894440404312
    assert draw_uniform("medium-risk", "action:1") == 0.3236323118831932


def test_another_process_draws_the_same_items() -> None:
    keys = [f"action:{i}" for i in range(50)]
    code = ("from countersign.review.sampling import draw_uniform\n"
            f"print([draw_uniform('r', k) for k in {keys!r}])")
    # A different hash seed: the draw must not depend on Python's salted hash().
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={"PYTHONHASHSEED": "12345"}, timeout=60)
    assert other.stdout.strip() == repr([draw_uniform("r", k) for k in keys])


def test_draws_are_uniform_and_independent_between_rules() -> None:
    first = [draw_uniform("rule-a", f"action:{i}") for i in range(N)]
    second = [draw_uniform("rule-b", f"action:{i}") for i in range(N)]
    assert all(0.0 <= u < 1.0 for u in first)
    below = sum(1 for u in first if u < 0.3)
    assert abs(below - 0.3 * N) <= _five_sigma(N, 0.3)
    both = sum(1 for a, b in zip(first, second, strict=True) if a < 0.5 and b < 0.5)
    assert abs(both - 0.25 * N) <= _five_sigma(N, 0.25)
    mean_a, mean_b = sum(first) / N, sum(second) / N
    covariance = sum((a - mean_a) * (b - mean_b) for a, b in zip(first, second, strict=True))
    variance = math.sqrt(sum((a - mean_a) ** 2 for a in first)
                         * sum((b - mean_b) ** 2 for b in second))
    assert abs(covariance / variance) < 5 / math.sqrt(N)


def test_drawn_means_the_uniform_fell_below_pi() -> None:
    rule = SamplingRule(name="half", rate=0.5)
    for i in range(500):
        key = f"action:{i}"
        draw = choose([rule], Candidate(key=key))
        assert draw is not None
        assert draw.drawn == (draw_uniform("half", key) < 0.5)


def test_the_first_enabled_matching_rule_decides() -> None:
    off = SamplingRule(name="off", enabled=False, rate=1.0)
    refunds = SamplingRule(name="refunds", action_classes=("refund",), rate=0.5)
    everything = SamplingRule(name="everything", rate=1.0)
    rules = [off, refunds, everything]
    refund = Candidate(key="action:7", action_class="refund")
    # Decided by "refunds" whether or not it draws: "everything" never gets a second try.
    draws = [choose(rules, replace(refund, key=f"action:{i}")) for i in range(300)]
    assert {(d.rule, d.pi) for d in draws if d is not None} == {("refunds", 0.5)}
    assert None not in draws and any(not d.drawn for d in draws if d is not None)
    assert choose(rules, Candidate(key="action:8", action_class="email")) == Draw(
        "everything", 1.0, True)
    assert choose([off], refund) is None
    assert choose([], refund) is None


def test_auto_approved_items_are_never_drawn_below_the_floor() -> None:
    rare = SamplingRule(name="rare", rate=0.001)
    auto = [choose([rare], Candidate(key=f"action:{i}", verdict="auto_approved"))
            for i in range(N)]
    assert {d.pi for d in auto if d is not None} == {PI_FLOOR}
    drawn = sum(1 for d in auto if d is not None and d.drawn)
    assert abs(drawn - N * PI_FLOOR) <= _five_sigma(N, PI_FLOOR)
    approved = choose([rare], Candidate(key="action:1", verdict="approved"))
    assert approved is not None and approved.pi == 0.001


def test_default_rules_are_the_risk_tier_rates_over_decided_and_auto_approved() -> None:
    rates = {}
    for risk in ("critical", "high", "medium", "low"):
        draw = choose(DEFAULT_RULES, Candidate(key="action:1", risk=risk,
                                               verdict="auto_approved"))
        assert draw is not None
        rates[risk] = draw.pi
    assert rates == {"critical": 1.0, "high": 1.0, "medium": 0.2, "low": 0.05}
    for verdict in DECIDED_VERDICTS:
        assert choose(DEFAULT_RULES, Candidate(key="a:1", risk="medium", verdict=verdict))
    assert choose(DEFAULT_RULES, Candidate(key="a:1", risk="high", verdict="expired")) is None
    assert choose(DEFAULT_RULES, Candidate(key="trace:ab", verdict="approved")) is None
    assert set(DECIDED_VERDICTS) == {"approved", "edited", "rejected", "responded"}


def test_risk_tiers_are_the_domain_s() -> None:
    assert set(get_args(RiskTier)) == {risk.value for risk in Risk}


BASE = Candidate(key="action:1", agent="billing", agent_version="2.1", action_class="refund",
                 risk="medium", verdict="edited", run_error=True, cost=1.5, tokens=9000)


@pytest.mark.parametrize(("filters", "other"), [
    ({"agents": ("billing", "mail")}, {"agent": "mail-x"}),
    ({"agent_versions": ("2.1",)}, {"agent_version": "2.2"}),
    ({"action_classes": ("refund",)}, {"action_class": "email"}),
    ({"risks": ("medium", "high")}, {"risk": "low"}),
    ({"verdicts": ("edited",)}, {"verdict": "approved"}),
    ({"run_error": True}, {"run_error": False}),
    ({"min_cost": 1.5}, {"cost": 1.49}),
    ({"min_tokens": 9000}, {"tokens": 8999}),
])
def test_each_filter_admits_matches_and_refuses_others_and_unknowns(
        filters: dict[str, Any], other: dict[str, Any]) -> None:
    rule = SamplingRule(name="r", rate=1.0, **filters)
    assert rule.matches(BASE)
    assert not rule.matches(replace(BASE, **other))
    field = next(iter(other))
    assert not rule.matches(replace(BASE, **{field: None}))


def test_run_error_false_admits_only_runs_that_did_not_fail() -> None:
    rule = SamplingRule(name="ok-runs", rate=1.0, run_error=False)
    assert rule.matches(replace(BASE, run_error=False))
    assert not rule.matches(BASE)


@pytest.mark.parametrize(("table", "field", "problem"), [
    ({"name": "x", "rate": 0}, "rate", "greater than 0"),
    ({"name": "x", "rate": 1.5}, "rate", "less than or equal to 1"),
    ({"name": "x", "rate": True}, "rate", "valid number"),
    ({"name": "x"}, "rate", "is required"),
    ({"name": "x", "rate": 0.5, "risks": ["severe"]}, "risks[0]", "unknown value 'severe'"),
    ({"name": "x", "rate": 0.5, "verdicts": ["approve"]}, "verdicts[0]",
     "unknown value 'approve'"),
    ({"name": "x", "rate": 0.5, "agents": ["a", " "]}, "agents[1]", "must not be empty"),
    ({"name": "x", "rate": 0.5, "agents": "billing"}, "agents", "list"),
    ({"name": "x", "rate": 0.5, "min_cost": -1}, "min_cost", "greater than or equal to 0"),
    ({"name": "x", "rate": 0.5, "min_tokens": 2.5}, "min_tokens", "valid integer"),
    ({"name": "x", "rate": 0.5, "run_error": "yes"}, "run_error", "valid boolean"),
    ({"name": "x", "rate": 0.5, "agent": ["a"]}, "agent", "not a known field"),
    ({"name": "a\u202eb", "rate": 0.5}, "name", "control"),
    ({"name": "", "rate": 0.5}, "name", "empty"),
])
def test_a_bad_rule_is_refused_naming_the_field(table: dict[str, Any], field: str,
                                                problem: str) -> None:
    with pytest.raises(ValueError, match=r"^review\.rules\[1\]") as caught:
        rules_from_toml_table([{"name": "fine", "rate": 1}, table])
    message = str(caught.value)
    assert f".{field}: " in message, message
    assert problem in message


def test_a_rule_name_may_hold_a_slash() -> None:
    assert rules_from_toml_table([{"name": "EU/US refunds", "rate": 1}])[0].name == (
        "EU/US refunds")


def test_rule_names_are_unique_and_tables_must_be_tables() -> None:
    with pytest.raises(ValueError, match=r"review\.rules\[1\]\.name: duplicate rule name 'a'"):
        rules_from_toml_table([{"name": "a", "rate": 1}, {"name": "a", "rate": 0.5}])
    with pytest.raises(ValueError, match=r"review\.rules\[0\]: expected a table"):
        rules_from_toml_table(["a"])  # type: ignore[list-item]


def test_rules_read_back_from_the_configuration_file_equal() -> None:
    text = '''
[[review.rules]]
name = "expensive failures"
agents = ["billing"]
run_error = true
min_cost = 0.5
min_tokens = 10000
rate = 1.0

[[review.rules]]
name = "audit"
enabled = false
risks = ["low"]
verdicts = ["auto_approved", "approved"]
rate = 0.01
'''
    rules = rules_from_toml_table(tomllib.loads(text)["review"]["rules"])
    assert rules[0].agents == ("billing",) and rules[0].min_tokens == 10_000
    assert not rules[1].enabled and rules[1].verdicts == ("auto_approved", "approved")
    tables = rules_to_dicts([*rules, *DEFAULT_RULES])
    assert "agent_versions" not in tables[0] and "run_error" not in tables[1]
    assert rules_from_toml_table(tables) == [*rules, *DEFAULT_RULES]
