"""The Autonomy workspace's plain state: one `UnitRow` per agent × version × action class
(the table), one `UnitDetail` for the unit on show (the charts), and the texts both
show, over the autonomy service's models (`countersign.domain.autonomy`). No Qt here:
the item model and the charts are thin adapters over these.

Agent names, versions and action classes come from agents: they are shown through
`one_line` (hidden characters made visible) and never as rich text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from countersign.autonomy import AutonomyConfig, UnitEvidence, UnitSeries
from countersign.autonomy.outcomes import FloatArray
from countersign.autonomy.rules import when
from countersign.domain.autonomy import LevelChange, UnitKey
from countersign.domain.autonomy_status import UnitStatus
from countersign.text import one_line

#: Points a sparkline draws (the accuracy series is thinned to this many).
SPARK_POINTS = 48
NO_EVIDENCE = "no evidence yet"


def unit_text(key: UnitKey) -> str:
    """``billing-bot 2.1 · issue_refund``, safe to show as plain text."""
    version = f" {one_line(key.version, 40)}" if key.version else ""
    return f"{one_line(key.agent, 80)}{version} · {one_line(key.action_class, 80)}"


@dataclass(frozen=True, eq=False)
class UnitRow:
    """One line of the units table. ``sparkline`` is the accuracy (0-1) at up to
    `SPARK_POINTS` moments of the unit's history, oldest first (empty: no evidence;
    None: not read yet — sparklines are read for the rows on screen only)."""

    status: UnitStatus
    sparkline: FloatArray | None = None

    @property
    def key(self) -> UnitKey:
        return self.status.unit

    @property
    def evidence(self) -> UnitEvidence:
        return self.status.evidence

    @property
    def has_evidence(self) -> bool:
        return self.evidence.n > 0


@dataclass(frozen=True, eq=False)
class UnitDetail:
    """Everything the charts of one unit draw: its status, the engine's series, its
    level history (oldest first) and the thresholds in force (for the target lines)."""

    status: UnitStatus
    series: UnitSeries
    changes: tuple[LevelChange, ...]
    config: AutonomyConfig

    @property
    def key(self) -> UnitKey:
        return self.status.unit

    @property
    def evidence(self) -> UnitEvidence:
        return self.status.evidence


def is_automatic(change: LevelChange) -> bool:
    """Whether the rules (not a person) made the change."""
    return change.rule.startswith("demotion:")


def change_summary(change: LevelChange) -> str:
    """One paragraph: when, from → to, by what, why (plain text)."""
    start = f"{change.from_level} → " if change.from_level is not None else ""
    against = ", against the recommendation" if change.against_recommendation else ""
    who = "by the rules" if is_automatic(change) else f"by {one_line(change.actor, 60)}"
    lines = [f"{when(change.at)}: {start}{change.to_level} ({change.rule}{against}, {who})"]
    if change.reason:
        lines.append(one_line(change.reason, 400))
    demotion = change.evidence.get("demotion") if change.evidence else None
    if isinstance(demotion, dict) and isinstance(demotion.get("evidence"), str):
        lines.append(one_line(demotion["evidence"], 400))
    return "\n".join(lines)


def change_snapshot(change: LevelChange) -> str:
    """The evidence recorded with the change, every number, as plain text (the stored
    JSON as is when it is not an evidence snapshot, e.g. a new version's predecessor)."""
    head = change_summary(change)
    if not change.evidence:
        return f"{head}\n\nNo evidence snapshot was recorded with this change."
    try:
        evidence = UnitEvidence.model_validate(change.evidence)
    except ValueError:
        return f"{head}\n\n{json.dumps(change.evidence, indent=2, sort_keys=True)}"
    rules = "\n".join(f"{'✓' if r.met else '✗'} {r.detail}" for r in evidence.rules)
    parts = [head, "Evidence at that moment", evidence_text(evidence)]
    if rules:
        parts += [f"Rules for {evidence.next_level}", rules]
    if evidence.reasons:
        parts += ["Reasons", "\n".join(evidence.reasons)]
    return "\n\n".join(parts)


def sparkline_of(series: UnitSeries, points: int = SPARK_POINTS) -> FloatArray:
    """The accuracy series thinned to at most ``points`` evenly spaced outcomes (the
    last one always included, so the sparkline ends where the unit is now)."""
    count = int(series.accuracy.shape[0])
    if count <= points:
        return np.asarray(series.accuracy, dtype=np.float64).copy()
    index = np.linspace(0, count - 1, points).round().astype(np.int64)
    return np.asarray(series.accuracy[index], dtype=np.float64)


# -- texts ------------------------------------------------------------------------------

def percent(value: float, digits: int = 1) -> str:
    return f"{value * 100:.{digits}f} %"


def counts_text(evidence: UnitEvidence) -> str:
    """``312 / 280.4``: reviewed outcomes and their effective sample size."""
    if evidence.n == 0:
        return "0"
    return f"{evidence.n:,} / {evidence.n_eff:,.1f}"


def accuracy_text(evidence: UnitEvidence) -> str:
    """``98.1 % (96.2–99.0)``: the weighted accuracy and its one-sided Wilson band."""
    if evidence.failure_rate is None or evidence.n == 0:
        return NO_EVIDENCE
    band = ""
    if evidence.wilson_lower is not None and evidence.wilson_upper is not None:
        band = f" ({evidence.wilson_lower * 100:.1f}–{evidence.wilson_upper * 100:.1f})"
    return f"{percent(1.0 - evidence.failure_rate)}{band}"


def p_above_text(evidence: UnitEvidence) -> str:
    """``0.93 > 97 %``: P(accuracy > target) under Jeffreys, and the target."""
    if evidence.p_above_target is None:
        return NO_EVIDENCE
    return f"{evidence.p_above_target:.2f} > {percent(evidence.target, 0)}"


def recommendation_text(evidence: UnitEvidence) -> str:
    """``promote to L2`` / ``demote to L1`` / ``hold``."""
    if evidence.recommendation == "promote" and evidence.next_level is not None:
        return f"promote to {evidence.next_level}"
    if evidence.recommendation == "demote" and evidence.demotion is not None:
        return f"demote to {evidence.demotion.to_level}"
    return evidence.recommendation


def headline_text(evidence: UnitEvidence) -> str:
    """The one number on top: ``P(accuracy > 97 %) = 0.93``."""
    value = NO_EVIDENCE if evidence.p_above_target is None else \
        f"{evidence.p_above_target:.2f}"
    return f"P(accuracy > {percent(evidence.target, 0)}) = {value}"


def evidence_text(evidence: UnitEvidence) -> str:
    """Every number of the evidence as plain text (the side panel, the snapshot a
    promotion confirms)."""
    lines = [
        f"Level {evidence.level.label} since {when(evidence.level_since)}",
        f"Reviewed outcomes n = {evidence.n:,}, effective n_eff = {evidence.n_eff:,.1f}"
        + (f", {evidence.ad_hoc:,} ad-hoc spot checks (not counted)" if evidence.ad_hoc
           else ""),
        f"Accuracy {accuracy_text(evidence)}",
        f"P(accuracy > {percent(evidence.target, 0)}) "
        f"{NO_EVIDENCE if evidence.p_above_target is None else f'{evidence.p_above_target:.3f}'}",
        f"SPRT {evidence.sprt.sum:.2f} between {evidence.sprt.lower:.2f} and "
        f"{evidence.sprt.upper:.2f}"
        + (f": about {evidence.sprt.items_to_decision} clean items to a decision"
           if evidence.sprt.items_to_decision else ": at the promotion boundary"),
        f"CUSUM {evidence.cusum.value:.2f} (peak {evidence.cusum.peak:.2f}, "
        f"alarm at h = {evidence.cusum.h:g})",
        "Outcomes: " + mix_text(evidence),
        f"Risk tiers: {evidence.risk_mix.low} low, {evidence.risk_mix.medium} medium, "
        f"{evidence.risk_mix.high} high, {evidence.risk_mix.critical} critical",
        f"Reviewers {evidence.reviewers}; agreement "
        + ("— (no double labels)" if evidence.agreement is None
           else f"α = {evidence.agreement:.3f}"),
    ]
    return "\n".join(lines)


def mix_text(evidence: UnitEvidence) -> str:
    mix = evidence.mix
    return (f"{mix.approve} approved, {mix.cosmetic} cosmetic edits, {mix.material} material "
            f"edits, {mix.reject} rejected, {mix.critical} critical")


def rules_text(evidence: UnitEvidence) -> list[tuple[bool, str]]:
    """The rules for the next level, each with whether it is met (in the engine's
    order); empty at L0 and L3."""
    return [(rule.met, rule.detail) for rule in evidence.rules]


def unmet_rules(evidence: UnitEvidence) -> Sequence[str]:
    return [rule.detail for rule in evidence.rules if not rule.met]
