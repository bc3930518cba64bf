"""Simulated units with known true error rates, run through the same engine functions
the console uses, to show the rules do what AUTONOMY.md promises
(`countersign autonomy simulate`). Fixed seeds: the same arguments give the same figures.

- Promotion: each unit runs one SPRT test at a known rate, with every other promotion
  rule on top; it ends when the engine recommends promotion, when the test ends at its
  lower boundary, or (L2 only) when a demotion rule fires first.
- CUSUM: run lengths to an alarm at the in-control rate p0 and after a shift to p1,
  next to their exact values; and the run length to *any* automatic demotion at p0.
- Hájek: the bias of the estimate under risk-tier sampling, and the bias of the naive
  unweighted rate it replaces.
- Cool-down: units that regress and recover, promoted whenever the engine recommends
  it; no promotion may fall inside a cool-down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..domain import AutonomyLevel
from .config import AutonomyConfig
from .evidence import DAY, build_path, promotion_checks
from .outcomes import OutcomeBatch, OutcomeKind
from .rules import Demotion, demotion_trigger, evaluate, level_above
from .stats import SprtBoundaries, cusum_path, hajek
from .theory import cusum_arl, sprt_characteristic

DEFAULT_UNITS = 500
#: Risk mix of a simulated agent's actions (low, medium, high); critical ones always wait.
TIER_MIX = (0.6, 0.3, 0.1)
#: True failure rates by tier for the Hájek check: riskier actions fail more often.
TIER_RATES = (0.02, 0.05, 0.15)
REVIEWED_PER_DAY_L1 = 24
ACTIONS_PER_DAY_L2 = 100
HORIZON_DAYS = 150
_VERIFIED_UNITS = 50


def simulate(units: int = DEFAULT_UNITS, seed: int = 0,
             config: AutonomyConfig | None = None) -> dict[str, Any]:
    """All the figures, as a JSON-able dict."""
    if units < 1:
        raise ValueError(f"simulate: units must be at least 1, got {units}")
    cfg = config or AutonomyConfig()
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)]
    return {
        "units": units,
        "seed": seed,
        "promotion": {
            "L1->L2": _promotion(streams[0], units, AutonomyLevel.L1, cfg),
            "L2->L3": _promotion(streams[1], units, AutonomyLevel.L2, cfg),
        },
        "cusum": {
            "L2": _cusum(streams[2], units, AutonomyLevel.L2, cfg),
            "L3": _cusum(streams[3], units, AutonomyLevel.L3, cfg),
        },
        "hajek": _hajek(streams[4], units, cfg),
        # Each unit here lives through several level changes; a fifth of the units
        # still gives hundreds of demotions, which is what the property is about.
        "cooldown": _cooldown(streams[5], max(1, units // 5), cfg),
    }


# --- promotion -------------------------------------------------------------------------------

def _stream(rng: np.random.Generator, p: float, level: AutonomyLevel, cfg: AutonomyConfig,
            start: float = 0.0, days: float = HORIZON_DAYS) -> OutcomeBatch:
    """Reviewed outcomes of one unit at true failure rate ``p``, evenly spread in time:
    at L1 every action is reviewed; at L2 high-risk actions wait and low and medium
    ones are sampled with their tier's pi. Three reviewers share the work."""
    if level is AutonomyLevel.L1:
        count = int(days * REVIEWED_PER_DAY_L1)
        at = start + np.arange(1, count + 1) * (DAY / REVIEWED_PER_DAY_L1)
        pi = np.ones(count)
        risk = np.zeros(count, dtype=np.int8)
    else:
        actions = int(days * ACTIONS_PER_DAY_L2)
        tiers = np.searchsorted(np.cumsum(TIER_MIX)[:-1], rng.random(actions))
        rates = np.array([cfg.sampling.low, cfg.sampling.medium, 1.0])[tiers]
        drawn = np.flatnonzero(rng.random(actions) < rates)
        at = start + (drawn + 1) * (DAY / ACTIONS_PER_DAY_L2)
        pi, risk = rates[drawn], tiers[drawn].astype(np.int8)
        count = int(drawn.size)
    y = (rng.random(count) < p).astype(np.int8)
    return OutcomeBatch.from_arrays(
        at=at, y=y, critical=np.zeros(count, dtype=np.bool_), pi=pi,
        kind=np.where(y == 1, OutcomeKind.REJECT, OutcomeKind.APPROVE),
        reviewer=rng.integers(0, 3, size=count), risk=risk, reviewers=("ann", "bo", "cy"))


def _promotion(rng: np.random.Generator, units: int, level: AutonomyLevel,
               cfg: AutonomyConfig) -> dict[str, Any]:
    rule = cfg.promotion_from(level)
    bounds = SprtBoundaries.from_rates(rule.p_good, rule.p_bad, rule.alpha, rule.beta)
    out: dict[str, Any] = {"p_good": rule.p_good, "p_bad": rule.p_bad, "alpha": rule.alpha,
                           "beta": rule.beta}
    for name, p in (("p_bad", rule.p_bad), ("p_good", rule.p_good)):
        ends = [_first_decision(rng, p, level, cfg, verify=i < _VERIFIED_UNITS)
                for i in range(units)]
        promoted = [items for outcome, items, _ in ends if outcome == "promoted"]
        theory = sprt_characteristic(p, bounds)
        out[f"at_{name}"] = {
            "promotion_rate": len(promoted) / units,
            # The SPRT's first test ended at its lower boundary ("not good enough").
            "rejected_rate": sum(o == "rejected" for o, _, _ in ends) / units,
            "demoted_first_rate": sum(o == "demoted" for o, _, _ in ends) / units,
            "undecided_rate": sum(o == "undecided" for o, _, _ in ends) / units,
            # The promotion rules alone: the same units with demotion switched off.
            "promotion_rate_without_demotion": sum(alone for _, _, alone in ends) / units,
            "mean_items_to_promotion": float(np.mean(promoted)) if promoted else None,
            "sprt_alone_promotion_probability": theory.p_promote,
            "sprt_alone_mean_items": theory.expected_items,
        }
    return out


def _first_decision(rng: np.random.Generator, p: float, level: AutonomyLevel,
                    cfg: AutonomyConfig, *, verify: bool) -> tuple[str, int, bool]:
    """How one unit's first test ends: promoted (with the reviewed items it took), not
    promoted (SPRT at its lower boundary), demoted first, or undecided at the horizon;
    and whether it would have been promoted had no demotion rule been watching."""
    batch = _stream(rng, p, level, cfg)
    found = _events(batch, level=level, cfg=cfg, level_since=0.0, last_demotion=None,
                    stop_on_reset=True)
    outcome, index = _first_end(found, len(batch))
    if verify and outcome == "promoted":
        _verify(batch.slice(0, index + 1), level, cfg, expect="promote")
    alone = outcome == "promoted"
    if outcome == "demoted":
        unwatched = _events(batch, level=level, cfg=cfg, level_since=0.0, last_demotion=None,
                            stop_on_reset=True, demotions=False)
        alone = _first_end(unwatched, len(batch))[0] == "promoted"
    return outcome, (found.reviewed if outcome == "promoted" else index), alone


def _first_end(found: _Found, size: int) -> tuple[str, int]:
    """Which comes first: promotion, the test ending at its lower boundary, demotion."""
    ends = {"promoted": found.promote, "rejected": found.reset,
            "demoted": found.demotion.index if found.demotion else None}
    return min(((k, i) for k, i in ends.items() if i is not None),
               key=lambda item: item[1], default=("undecided", size))


@dataclass(frozen=True, slots=True)
class _Found:
    """First events in a segment (indices into it): all promotion rules met, all but the
    cool-down met, the SPRT's first restart (None if it came after the first
    acceptance), its first acceptance, and the first demotion."""

    promote: int | None
    held: int | None
    reset: int | None
    accepted: int | None
    demotion: Demotion | None
    reviewed: int


def _events(segment: OutcomeBatch, *, level: AutonomyLevel, cfg: AutonomyConfig,
            level_since: float, last_demotion: float | None, stop_on_reset: bool,
            demotions: bool = True) -> _Found:
    """Scan a growing prefix of the segment: the evidence is cumulative, so events found
    in a prefix are the segment's events, and most units decide early."""
    next_level = level_above(level)
    size = 512
    while True:
        part = segment.slice(0, min(size, len(segment)))
        path = build_path(part, level=level, config=cfg)
        promote = held = None
        if next_level is not None and level is not AutonomyLevel.L0 and len(part):
            checks = promotion_checks(path, rule=cfg.promotion_from(level),
                                      next_level=next_level, now=path.at,
                                      level_since=level_since, agreement=None,
                                      last_demotion_at=last_demotion,
                                      cooldown_days=cfg.cooldown_days)
            cooling = checks.pop("cooldown")
            ready = np.logical_and.reduce(list(checks.values()))
            promote, held = _first(ready & cooling), _first(ready & ~cooling)
        reset = _first(path.sprt_resets > 0)
        accepted = _first(path.sprt >= path.bounds.upper)
        if accepted is not None and reset is not None and accepted < reset:
            # The test decides at its first boundary: a restart after it accepted starts
            # a new test on a unit that passed, which only delays its promotion.
            reset = None
        demotion = demotion_trigger(part, level=level, config=cfg, since=None) if (
            demotions) else None
        decided = promote is not None or demotion is not None or (
            stop_on_reset and reset is not None)
        if decided or len(part) == len(segment):
            return _Found(promote, held, reset, accepted, demotion,
                          int(path.n[promote]) if promote is not None else 0)
        size *= 4


def _verify(batch: OutcomeBatch, level: AutonomyLevel, cfg: AutonomyConfig, expect: str
            ) -> None:
    """The snapshot function agrees with the path the simulation walked."""
    got = evaluate(batch, level=level, level_since=0.0, now=float(batch.at[-1]), config=cfg,
                   agreement=None, last_demotion_at=None).recommendation
    if got != expect:
        raise RuntimeError(f"simulate: evaluate says {got!r} where the evidence path "
                           f"says {expect!r}")


def _first(mask: np.ndarray[Any, np.dtype[np.bool_]]) -> int | None:
    return int(np.argmax(mask)) if mask.any() else None


# --- CUSUM -----------------------------------------------------------------------------------

def _cusum(rng: np.random.Generator, units: int, level: AutonomyLevel, cfg: AutonomyConfig
           ) -> dict[str, Any]:
    watch = cfg.cusum_at(level)
    in_control = [_run_length(rng, watch.p0, watch.gamma, watch.h) for _ in range(units)]
    shifted = [_run_length(rng, watch.p1, watch.gamma, watch.h) for _ in range(units)]
    any_rule = [_demotion_run_length(rng, watch.p0, level, cfg) for _ in range(units)]
    return {
        "p0": watch.p0, "p1": watch.p1, "h": watch.h, "gamma": watch.gamma,
        "arl_in_control": float(np.mean(in_control)),
        "arl_in_control_exact": cusum_arl(watch.p0, watch.gamma, watch.h),
        "arl_after_shift": float(np.mean(shifted)),
        "arl_after_shift_exact": cusum_arl(watch.p1, watch.gamma, watch.h),
        "any_demotion_run_length_in_control": float(np.mean([n for n, _ in any_rule])),
        "demotions_in_control_by_rule": {
            rule: sum(r == rule for _, r in any_rule) for rule in ("cusum", "window")},
    }


def _run_length(rng: np.random.Generator, p: float, gamma: float, h: float) -> int:
    """Items until the CUSUM first reaches h, continuing chunk by chunk from its value."""
    done, value, chunk = 0, 0.0, 4096
    while True:
        path = cusum_path(rng.random(chunk) < p, gamma, start=value)
        alarm = _first(path >= h)
        if alarm is not None:
            return done + alarm + 1
        done, value, chunk = done + chunk, float(path[-1]), min(chunk * 2, 1 << 20)


def _demotion_run_length(rng: np.random.Generator, p: float, level: AutonomyLevel,
                         cfg: AutonomyConfig) -> tuple[int, str]:
    """Reviewed items at rate ``p`` until any automatic demotion rule fires (the stream
    grows until one does; the rules see it from its start)."""
    y = np.zeros(0, dtype=np.int8)
    while True:
        y = np.concatenate((y, (rng.random(max(4096, y.size)) < p).astype(np.int8)))
        size = y.size
        batch = OutcomeBatch.from_arrays(
            at=np.arange(size, dtype=np.float64), y=y, critical=np.zeros(size),
            pi=np.ones(size), kind=np.where(y == 1, OutcomeKind.REJECT, OutcomeKind.APPROVE),
            reviewer=np.full(size, -1), risk=np.zeros(size))
        found = demotion_trigger(batch, level=level, config=cfg, since=None)
        if found is not None:
            return found.index + 1, found.rule


# --- Hájek -----------------------------------------------------------------------------------

def _hajek(rng: np.random.Generator, units: int, cfg: AutonomyConfig) -> dict[str, Any]:
    actions = 2000
    rates = np.array([cfg.sampling.low, cfg.sampling.medium, cfg.sampling.high])
    errors, naive_errors = [], []
    for _ in range(units):
        tiers = rng.choice(3, size=actions, p=TIER_MIX)
        y = rng.random(actions) < np.array(TIER_RATES)[tiers]
        drawn = rng.random(actions) < rates[tiers]
        estimate = hajek(y[drawn], rates[tiers][drawn])
        if estimate is None:
            continue
        errors.append(estimate.failure_rate - y.mean())
        naive_errors.append(y[drawn].mean() - y.mean())
    bias = float(np.mean(errors))
    return {
        "tier_mix": dict(zip(("low", "medium", "high"), TIER_MIX, strict=True)),
        "tier_failure_rates": dict(zip(("low", "medium", "high"), TIER_RATES, strict=True)),
        "true_rate": float(np.dot(TIER_MIX, TIER_RATES)),
        "bias": bias,
        "bias_standard_error": float(np.std(errors) / math.sqrt(len(errors))),
        "unweighted_bias": float(np.mean(naive_errors)),
    }


# --- cool-down -------------------------------------------------------------------------------

def _cooldown(rng: np.random.Generator, units: int, cfg: AutonomyConfig) -> dict[str, Any]:
    """Units good for 20 days, bad for 3, good again for 37, reviewed 48 a day, promoted
    the moment the engine recommends it. The days-at-level minimums are set to 0 so the
    cool-down alone has to hold promotions back."""
    quick = cfg.model_copy(update={
        "l1_to_l2": cfg.l1_to_l2.model_copy(update={"min_days_at_level": 0.0}),
        "l2_to_l3": cfg.l2_to_l3.model_copy(update={"min_days_at_level": 0.0})})
    changes = demotions = inside = held = 0
    for _ in range(units):
        phases = [(0.005, 20.0), (0.2, 3.0), (0.005, 37.0)]
        parts, start = [], 0.0
        for p, days in phases:
            count = int(days * 48)
            parts.append((start + np.sort(rng.random(count)) * days * DAY,
                          (rng.random(count) < p).astype(np.int8)))
            start += days * DAY
        at = np.concatenate([a for a, _ in parts])
        y = np.concatenate([v for _, v in parts])
        batch = OutcomeBatch.from_arrays(
            at=at, y=y, critical=np.zeros(y.size), pi=np.ones(y.size),
            kind=np.where(y == 1, OutcomeKind.REJECT, OutcomeKind.APPROVE),
            reviewer=rng.integers(0, 3, size=y.size), risk=np.zeros(y.size),
            reviewers=("ann", "bo", "cy"))
        c, d, i, h = _lifecycle(batch, quick)
        changes, demotions, inside, held = changes + c, demotions + d, inside + i, held + h
    return {"cooldown_days": cfg.cooldown_days, "level_changes": changes,
            "demotions": demotions, "promotions_inside_cooldown": inside,
            "promotions_held_by_cooldown": held}


def _lifecycle(batch: OutcomeBatch, cfg: AutonomyConfig) -> tuple[int, int, int, int]:
    level, since, last_demotion = AutonomyLevel.L1, -1.0, None
    changes = demotions = inside = held = 0
    while True:
        segment = batch.since(since)
        found = _events(segment, level=level, cfg=cfg, level_since=since,
                        last_demotion=last_demotion, stop_on_reset=False)
        demotion, next_level = found.demotion, level_above(level)
        demote_t = demotion.at if demotion else math.inf
        promote_t = math.inf if found.promote is None else float(segment.at[found.promote])
        if found.held is not None and float(segment.at[found.held]) < min(demote_t, promote_t):
            held += 1
        if demotion is not None and demote_t <= promote_t:
            level, since, last_demotion = demotion.to_level, demote_t, demote_t
            demotions += 1
        elif found.promote is not None and next_level is not None:
            if last_demotion is not None and promote_t - last_demotion < cfg.cooldown_days * DAY:
                inside += 1
            level, since = next_level, promote_t
        else:
            return changes, demotions, inside, held
        changes += 1
