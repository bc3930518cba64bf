"""From a unit's outcomes to what a lead reads: the evidence, the rules for the next
level, and a recommendation (promote / hold / demote) with its reasons in words.

Only outcomes after the level began count: the SPRT and the CUSUM restart at every
level change, and a unit re-qualifies on fresh data (AUTONOMY.md). Demotion is checked
first and wins: it is automatic, promotion is only a recommendation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..domain import AutonomyLevel
from .config import AutonomyConfig, PromotionRule
from .evidence import DAY, EvidencePath, final_state, promotion_checks
from .outcomes import MIX_OF_KIND, OutcomeBatch, OutcomeKind
from .stats import cusum_path, items_to_decision, p_accuracy_above

_ORDER = (AutonomyLevel.L0, AutonomyLevel.L1, AutonomyLevel.L2, AutonomyLevel.L3)
AUTONOMOUS = (AutonomyLevel.L2, AutonomyLevel.L3)


def level_above(level: AutonomyLevel) -> AutonomyLevel | None:
    i = _ORDER.index(level)
    return _ORDER[i + 1] if i + 1 < len(_ORDER) else None


def level_below(level: AutonomyLevel) -> AutonomyLevel:
    return _ORDER[max(0, _ORDER.index(level) - 1)]


def starting_level(previous: AutonomyLevel | None, config: AutonomyConfig) -> AutonomyLevel:
    """Where a new agent version starts: in L0 shadow when so configured; otherwise one
    level below its predecessor but not below L1 (a brand-new agent starts at L1)."""
    if config.new_version == "shadow":
        return AutonomyLevel.L0
    if previous is None or previous is AutonomyLevel.L0:
        return previous or AutonomyLevel.L1
    return max(AutonomyLevel.L1, level_below(previous), key=_ORDER.index)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class SprtState(_Model):
    sum: float
    lower: float
    upper: float
    #: About this many clean items to the upper boundary (0 when reached).
    items_to_decision: int


class CusumState(_Model):
    value: float
    h: float
    #: The highest value since the level began (an alarm if >= h).
    peak: float


class OutcomeMix(_Model):
    approve: int
    cosmetic: int
    material: int
    reject: int
    critical: int


class RiskMix(_Model):
    low: int
    medium: int
    high: int
    critical: int


class RuleCheck(_Model):
    name: str
    met: bool
    detail: str


class Demotion(_Model):
    rule: Literal["critical", "cusum", "window"]
    from_level: AutonomyLevel
    to_level: AutonomyLevel
    #: Time of the outcome that fired the rule, and its position in the batch given.
    at: float
    index: int
    evidence: str


class UnitEvidence(_Model):
    """Everything the lead sees about one unit at ``now`` (JSON: model_dump(mode="json"))."""

    level: AutonomyLevel
    level_since: float
    next_level: AutonomyLevel | None
    now: float
    n: int
    n_eff: float
    #: Ad-hoc spot checks since the level began (not in n).
    ad_hoc: int
    failure_rate: float | None
    wilson_lower: float | None
    wilson_upper: float | None
    target: float
    p_above_target: float | None
    sprt: SprtState
    cusum: CusumState
    mix: OutcomeMix
    risk_mix: RiskMix
    reviewers: int
    agreement: float | None
    rules: list[RuleCheck]
    recommendation: Literal["promote", "hold", "demote"]
    demotion: Demotion | None
    reasons: list[str]


def evaluate(batch: OutcomeBatch, *, level: AutonomyLevel, level_since: float, now: float,
             config: AutonomyConfig, agreement: float | None,
             last_demotion_at: float | None) -> UnitEvidence:
    """The evidence for one unit at ``now``. ``level_since`` is when the unit entered its
    current level (evidence before it is ignored); ``last_demotion_at`` is when it was
    last demoted (None if never), for the cool-down; ``agreement`` is the reviewers'
    Krippendorff's alpha where double labels exist (None otherwise)."""
    segment = batch.since(level_since)
    last = final_state(segment, level=level, config=config)
    n, n_eff = int(last.n[0]), float(last.n_eff[0])
    rate = float(last.failure_rate[0])
    rule = config.promotion_from(level)
    target = 1.0 - rule.p_good
    scored = segment.scored
    mix = np.bincount(MIX_OF_KIND[segment.kind[scored]], minlength=5)
    risks = np.bincount(segment.risk[scored], minlength=4)
    demotion = demotion_trigger(batch, level=level, config=config, since=level_since)
    next_level = level_above(level)
    rules = [] if level in (AutonomyLevel.L0, AutonomyLevel.L3) or next_level is None else (
        _rule_checks(last, rule=rule, next_level=next_level, now=now, level=level,
                     level_since=level_since, agreement=agreement,
                     last_demotion_at=last_demotion_at, config=config))
    recommendation, reasons = _recommend(level, next_level, n, rules, demotion)
    return UnitEvidence(
        level=level, level_since=level_since, next_level=next_level, now=now, n=n,
        n_eff=n_eff, ad_hoc=len(segment) - n,
        failure_rate=rate if n else None,
        wilson_lower=float(last.wilson_lower[0]) if n else None,
        wilson_upper=float(last.wilson_upper[0]) if n else None,
        target=target,
        p_above_target=p_accuracy_above(target, n_eff * rate, n_eff * (1 - rate)) if n else None,
        sprt=SprtState(sum=float(last.sprt[0]), lower=last.bounds.lower,
                       upper=last.bounds.upper,
                       items_to_decision=items_to_decision(float(last.sprt[0]), last.bounds)),
        cusum=CusumState(value=float(last.cusum[0]), h=last.cusum_rule.h,
                         peak=float(last.cusum_peak[0])),
        mix=OutcomeMix(approve=int(mix[0]), cosmetic=int(mix[1]), material=int(mix[2]),
                       reject=int(mix[3]), critical=int(mix[4])),
        risk_mix=RiskMix(low=int(risks[0]), medium=int(risks[1]), high=int(risks[2]),
                         critical=int(risks[3])),
        reviewers=int(last.reviewers[0]), agreement=agreement, rules=rules,
        recommendation=recommendation, demotion=demotion, reasons=reasons)


def _recommend(level: AutonomyLevel, next_level: AutonomyLevel | None, n: int,
               rules: list[RuleCheck], demotion: Demotion | None
               ) -> tuple[Literal["promote", "hold", "demote"], list[str]]:
    if demotion is not None:
        return "demote", [f"Demote to {demotion.to_level}: {demotion.evidence}"]
    reasons = [] if n else [f"No evidence yet: no reviewed outcome since the unit entered "
                            f"{level.label}."]
    if level is AutonomyLevel.L0:
        return "hold", [*reasons, "L0 shadow: moving a shadow unit to L1 is the lead's "
                        "choice; the evidence shows how its actions would have fared "
                        "against the L1→L2 test."]
    if next_level is None:
        return "hold", [*reasons, f"{level.label} is the highest level; the demotion rules "
                        "keep watching it."]
    unmet = [r for r in rules if not r.met]
    if not unmet:
        return "promote", [f"All {len(rules)} rules for {next_level} are met; a lead "
                           "confirms the promotion."]
    return "hold", [*reasons, f"Hold at {level}: {len(unmet)} of {len(rules)} rules for "
                    f"{next_level} are not met.", *(r.detail for r in unmet)]


def _rule_checks(last: EvidencePath, *, rule: PromotionRule, next_level: AutonomyLevel,
                 now: float, level: AutonomyLevel, level_since: float,
                 agreement: float | None, last_demotion_at: float | None,
                 config: AutonomyConfig) -> list[RuleCheck]:
    met = promotion_checks(last, rule=rule, next_level=next_level, now=now,
                           level_since=level_since, agreement=agreement,
                           last_demotion_at=last_demotion_at,
                           cooldown_days=config.cooldown_days)
    n, n_eff = int(last.n[0]), float(last.n_eff[0])
    total, upper = float(last.sprt[0]), last.bounds.upper
    to_go = items_to_decision(total, last.bounds)
    critical_ago = int(last.seen[0] - 1 - last.last_critical[0])
    details = {
        "sprt": f"SPRT sum {total:.2f} reached the promotion boundary {upper:.2f}."
        if total >= upper else
        f"SPRT sum {total:.2f} of {upper:.2f}: about {to_go} clean items to a decision.",
        "reviewed": f"{n} reviewed actions (at least {rule.min_reviewed}).",
        "n_eff": f"Effective sample size {n_eff:.1f} (at least {rule.min_n_eff:g}).",
        "wilson": f"Wilson lower bound on accuracy {float(last.wilson_lower[0]):.3f} "
        f"(at least {rule.wilson_min:g})." if n else
        f"No reviewed outcome yet for the Wilson bound (at least {rule.wilson_min:g}).",
        "days_at_level": f"{max(0.0, now - level_since) / DAY:.1f} days at {level} "
        f"(at least {rule.min_days_at_level:g}).",
        "reviewers": f"{int(last.reviewers[0])} different reviewers "
        f"(at least {rule.min_reviewers}).",
        "no_critical": f"No critical failure in the last {rule.no_critical_in_last} outcomes."
        if last.last_critical[0] < 0 or critical_ago >= rule.no_critical_in_last else
        f"A critical failure {critical_ago} outcomes ago (none allowed in the last "
        f"{rule.no_critical_in_last}).",
        "agreement": "No double labels yet, so no reviewer agreement to check."
        if agreement is None else
        f"Reviewer agreement (Krippendorff's α) {agreement:.3f} "
        f"(at least {rule.min_agreement:g}).",
        "no_cusum_alarm": f"CUSUM peaked at {float(last.cusum_peak[0]):.2f} "
        f"(alarm at {last.cusum_rule.h:g}).",
        "cooldown": "No demotion within the cool-down." if last_demotion_at is None else
        (f"Last demotion {(now - last_demotion_at) / DAY:.1f} days ago "
         f"(cool-down {config.cooldown_days:g} days"
         + ("" if now - last_demotion_at >= config.cooldown_days * DAY else
            f", until {when(last_demotion_at + config.cooldown_days * DAY)}") + ")."),
    }
    return [RuleCheck(name=name, met=bool(ok[0]), detail=details[name])
            for name, ok in met.items()]


def demotion_trigger(batch: OutcomeBatch, *, level: AutonomyLevel, config: AutonomyConfig,
                     since: float | None) -> Demotion | None:
    """The earliest demotion rule that fires on the outcomes after ``since`` (the level
    change), or None. Only L2 and L3 are demoted: below them every action already waits
    for a person. Cheap enough to run in the transaction that records each outcome."""
    if level not in AUTONOMOUS:
        return None
    segment = batch.since(since)
    if not len(segment):
        return None
    found: list[tuple[int, int, Demotion]] = []
    critical = np.flatnonzero(segment.critical)
    if critical.size:
        i = int(critical[0])
        found.append((i, 0, _demotion(
            batch, segment, i, "critical", level, AutonomyLevel.L1,
            f"a critical failure ({OutcomeKind(int(segment.kind[i])).name.lower()}) at "
            f"{when(float(segment.at[i]))}; any critical failure moves the unit to L1.")))
    scored_at = np.flatnonzero(segment.scored)
    y = segment.y[scored_at]
    watch = config.cusum_at(level)
    cusum = cusum_path(y, watch.gamma)
    alarm = np.flatnonzero(cusum >= watch.h)
    if alarm.size:
        j = int(alarm[0])
        found.append((int(scored_at[j]), 1, _demotion(
            batch, segment, int(scored_at[j]), "cusum", level, level_below(level),
            f"the CUSUM reached {cusum[j]:.2f} (h = {watch.h:g}) after {j + 1} reviewed "
            f"outcomes at {level}, watching for the failure rate rising from "
            f"{watch.p0:.0%} to {watch.p1:.0%}.")))
    window = config.window
    fails = np.concatenate(([0], np.cumsum(y, dtype=np.int64)))
    recent = fails[1:] - fails[np.maximum(np.arange(1, y.shape[0] + 1) - window.last, 0)]
    over = np.flatnonzero(recent >= window.failures)
    if over.size:
        j = int(over[0])
        found.append((int(scored_at[j]), 2, _demotion(
            batch, segment, int(scored_at[j]), "window", level, level_below(level),
            f"{int(recent[j])} of the last {min(j + 1, window.last)} reviewed outcomes "
            f"failed by {when(float(segment.at[scored_at[j]]))} (demotion at "
            f"{window.failures} in {window.last}).")))
    return min(found, key=lambda item: item[:2])[2] if found else None


def _demotion(batch: OutcomeBatch, segment: OutcomeBatch, i: int,
              rule: Literal["critical", "cusum", "window"], level: AutonomyLevel,
              to: AutonomyLevel, evidence: str) -> Demotion:
    return Demotion(rule=rule, from_level=level, to_level=to, at=float(segment.at[i]),
                    index=len(batch) - len(segment) + i, evidence=evidence)


def when(t: float) -> str:
    """A timestamp as a lead reads it."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M UTC")
