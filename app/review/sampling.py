"""Sampling rules: what is drawn into the Review queue, and with what probability.

A rule filters items (agent, agent version, action class, risk tier, verdict, run
status, cost, tokens) and draws the matching ones with probability ``rate``. The draw
is a hash of the rule's name and the item's key, never `random()`: replaying the same
items through the same rules draws the same ones, and `choose` returns the ``pi`` each
was drawn with, which the store keeps with the sample. AUTONOMY.md estimates failure
rates from those samples with the Hájek estimator ``Σ(y/pi) / Σ(1/pi)``, which is only
unbiased if every sampled item carries the probability it really had of being drawn.

Hence **the first enabled rule that matches decides** (in list order), and no other rule
gets a second draw at the same item. Had every matching rule drawn independently,
an item matched by rules of rate 0.2 and 0.05 would be drawn with probability
1 − 0.8 × 0.95 = 0.24, yet it would be stored with one rule's pi, and its weight 1/pi
would be wrong. One deciding rule per item keeps pi exact, so put specific rules before
general ones.

Rules are kept in the configuration file as ``[[review.rules]]`` tables::

    [[review.rules]]
    name = "refunds"                  # unique; part of the draw
    enabled = true                    # optional, default true
    agents = ["billing-bot"]          # every filter optional; an empty list matches all
    agent_versions = ["2.1.0"]
    action_classes = ["issue_refund"]
    risks = ["medium", "high"]        # low | medium | high | critical
    verdicts = ["approved", "auto_approved"]
    # approved | edited | rejected | responded | expired | auto_approved
    run_error = false                 # optional: only runs that failed (true) or not
    min_cost = 0.5                    # optional: cost at least this (USD)
    min_tokens = 10000                # optional: tokens at least this
    rate = 0.5                        # in (0, 1]
    labels = 2                        # optional: labels from different reviewers each
                                      # drawn item needs (default 1; 2+ for agreement)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

from .field_errors import FieldProblem, check_name, first_problem, has_control_characters

RiskTier = Literal["low", "medium", "high", "critical"]
SampledVerdict = Literal["approved", "edited", "rejected", "responded", "expired",
                         "auto_approved"]

#: Verdicts an operator gave (expired and auto-approved actions had no one look at them).
DECIDED_VERDICTS: tuple[SampledVerdict, ...] = ("approved", "edited", "rejected", "responded")

#: AUTONOMY.md: an auto-approved action is never drawn with a probability below this,
#: whatever rule decides, so every auto-approved action has a fair chance of an audit.
PI_FLOOR = 0.02

#: The most labels (reviewers) one item may need.
MAX_LABELS = 10

_FILTERS = ("agents", "agent_versions", "action_classes", "risks", "verdicts")


class SamplingRuleError(ValueError):
    """A rule that cannot be used; the message names the rule and the field."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """An item that may be drawn. ``key`` is its stable id ("action:123", "trace:ab12…"):
    the draw depends on it, so it must never change. Any other field may be None (a
    run has no action class, risk or verdict); a rule filtering on a field never
    matches an item that lacks it."""

    key: str
    agent: str | None = None
    agent_version: str | None = None
    action_class: str | None = None
    risk: str | None = None
    verdict: str | None = None
    run_error: bool | None = None
    cost: float | None = None
    tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Draw:
    """The deciding rule's verdict on one item: the rule's name, the probability ``pi``
    the item had of being drawn (store it with the sample), and whether it was."""

    rule: str
    pi: float
    drawn: bool


class SamplingRule(BaseModel):
    """Which items a rule covers and the rate it draws them at (see the module)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    enabled: StrictBool = True
    agents: tuple[str, ...] = ()
    agent_versions: tuple[str, ...] = ()
    action_classes: tuple[str, ...] = ()
    risks: tuple[RiskTier, ...] = ()
    verdicts: tuple[SampledVerdict, ...] = ()
    run_error: StrictBool | None = None
    min_cost: Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)] | None = None
    min_tokens: Annotated[int, Field(strict=True, ge=0)] | None = None
    rate: Annotated[float, Field(strict=True, gt=0, le=1)]
    #: How many labels, from as many different reviewers, an item it draws needs.
    labels: Annotated[int, Field(strict=True, ge=1, le=MAX_LABELS)] = 1

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        # Never a file name, but shown as "why drawn"; no control characters also
        # keeps the NUL that separates name and key in the draw unambiguous.
        return check_name(name, file_name=False)

    @field_validator("agents", "agent_versions", "action_classes")
    @classmethod
    def _names(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for index, value in enumerate(values):
            if not value.strip():
                raise FieldProblem(f"[{index}]", "must not be empty")
            if has_control_characters(value):
                raise FieldProblem(f"[{index}]", "must not contain control characters")
        return values

    def matches(self, candidate: Candidate) -> bool:
        """Whether every filter of this rule admits ``candidate`` (enabled or not)."""
        if self.agents and candidate.agent not in self.agents:
            return False
        if self.agent_versions and candidate.agent_version not in self.agent_versions:
            return False
        if self.action_classes and candidate.action_class not in self.action_classes:
            return False
        if self.risks and candidate.risk not in self.risks:
            return False
        if self.verdicts and candidate.verdict not in self.verdicts:
            return False
        if self.run_error is not None and candidate.run_error is not self.run_error:
            return False
        if self.min_cost is not None and (candidate.cost is None
                                          or candidate.cost < self.min_cost):
            return False
        return self.min_tokens is None or (candidate.tokens is not None
                                           and candidate.tokens >= self.min_tokens)


def _tier_rule(risk: RiskTier, rate: float, labels: int = 1) -> SamplingRule:
    return SamplingRule(name=f"{risk}-risk", risks=(risk,),
                        verdicts=(*DECIDED_VERDICTS, "auto_approved"), rate=rate,
                        labels=labels)


#: AUTONOMY.md's risk-tier rates over decided and auto-approved actions. Critical and
#: high-risk items need two reviewers: a wrong label matters most there, and the
#: promotion rules ask for reviewer agreement "where double labels exist".
DEFAULT_RULES: tuple[SamplingRule, ...] = (
    _tier_rule("critical", 1.0, labels=2),
    _tier_rule("high", 1.0, labels=2),
    _tier_rule("medium", 0.2),
    _tier_rule("low", 0.05),
)


def draw_uniform(rule_name: str, key: str) -> float:
    """A number in [0, 1) fixed by the rule's name and the item's key: uniform over
    keys, and independent between rules (the name is hashed in)."""
    digest = hashlib.blake2b(f"{rule_name}\x00{key}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> 11) * 2.0**-53


def choose(rules: Iterable[SamplingRule], candidate: Candidate) -> Draw | None:
    """The draw of the first enabled rule matching ``candidate``, or None when no rule
    covers it. ``pi`` is the rule's rate, raised to `PI_FLOOR` for auto-approved items."""
    for rule in rules:
        if rule.enabled and rule.matches(candidate):
            pi = rule.rate
            if candidate.verdict == "auto_approved":
                pi = max(pi, PI_FLOOR)
            return Draw(rule.name, pi, draw_uniform(rule.name, candidate.key) < pi)
    return None


def parse_rule(data: Mapping[str, Any], *, where: str = "rule") -> SamplingRule:
    """One rule from a table, or `SamplingRuleError` naming ``where`` and the field."""
    try:
        return SamplingRule.model_validate(dict(data))
    except ValidationError as exc:
        field, message = first_problem(exc)
        name = data.get("name")
        label = f" ({name!r})" if isinstance(name, str) and name else ""
        raise SamplingRuleError(f"{where}{label}.{field}: {message}") from exc


def rules_from_toml_table(tables: Sequence[Mapping[str, Any]], *,
                          where: str = "review.rules") -> list[SamplingRule]:
    """The rules of the configuration's ``[[review.rules]]`` tables, in order; names
    must be unique (the name is part of the draw and says why an item was drawn)."""
    rules: list[SamplingRule] = []
    seen: dict[str, int] = {}
    for index, table in enumerate(tables):
        if not isinstance(table, Mapping):
            raise SamplingRuleError(f"{where}[{index}]: expected a table, got {table!r}")
        rule = parse_rule(table, where=f"{where}[{index}]")
        if rule.name in seen:
            raise SamplingRuleError(f"{where}[{index}].name: duplicate rule name "
                                    f"{rule.name!r} (also {where}[{seen[rule.name]}])")
        seen[rule.name] = index
        rules.append(rule)
    return rules


def rules_to_dicts(rules: Iterable[SamplingRule]) -> list[dict[str, Any]]:
    """Tables for ``[[review.rules]]``: unset filters left out, lists as lists;
    `rules_from_toml_table` reads them back equal."""
    tables: list[dict[str, Any]] = []
    for rule in rules:
        table: dict[str, Any] = {"name": rule.name, "enabled": rule.enabled}
        for field in _FILTERS:
            values = getattr(rule, field)
            if values:
                table[field] = list(values)
        for field in ("run_error", "min_cost", "min_tokens"):
            if getattr(rule, field) is not None:
                table[field] = getattr(rule, field)
        table["rate"] = rule.rate
        if rule.labels != 1:
            table["labels"] = rule.labels
        tables.append(table)
    return tables
