"""The autonomy thresholds (AUTONOMY.md's defaults), read from the config file's
``[autonomy]`` table and written back. Settings that make no sense are refused with a
message naming the setting: a wrong threshold silently promotes agents."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..domain import AutonomyLevel


class AutonomyConfigError(ValueError):
    pass


def _open_unit(value: float) -> float:
    if not (math.isfinite(value) and 0.0 < value < 1.0):
        raise ValueError(f"must be between 0 and 1, both excluded (got {value})")
    return value


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PromotionRule(_Settings):
    """Evidence needed to move up one level: Wald's SPRT of p_good against p_bad, and
    the guards around it."""

    p_good: float
    p_bad: float
    alpha: float = 0.05
    beta: float = 0.10
    min_reviewed: int = Field(ge=0)
    min_n_eff: float = Field(ge=0)
    wilson_min: float
    min_days_at_level: float = Field(ge=0)
    min_reviewers: int = Field(default=2, ge=0)
    no_critical_in_last: int = Field(ge=0)
    #: Krippendorff's alpha, checked only where double labels exist.
    min_agreement: float = Field(default=0.667, ge=-1, le=1)

    _rates = field_validator("p_good", "p_bad", "alpha", "beta", "wilson_min")(_open_unit)

    @model_validator(mode="after")
    def _consistent(self) -> PromotionRule:
        if self.p_good >= self.p_bad:
            raise ValueError(f"p_good ({self.p_good}) must be below p_bad ({self.p_bad}): "
                             "the test compares a good error rate with a bad one")
        if self.alpha + self.beta >= 1:
            raise ValueError(f"alpha + beta ({self.alpha} + {self.beta}) must be below 1, "
                             "or the SPRT's boundaries cross")
        return self


class CusumRule(_Settings):
    """Bernoulli CUSUM that watches an autonomous level for a shift from p0 to p1."""

    p0: float
    p1: float
    h: float

    _rates = field_validator("p0", "p1")(_open_unit)

    @field_validator("h")
    @classmethod
    def _positive(cls, value: float) -> float:
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"must be above 0 (got {value})")
        return value

    @model_validator(mode="after")
    def _shift_up(self) -> CusumRule:
        if self.p0 >= self.p1:
            raise ValueError(f"p0 ({self.p0}) must be below p1 ({self.p1}): the CUSUM "
                             "looks for the failure rate going up")
        return self

    @property
    def gamma(self) -> float:
        """The reference value subtracted per item (AUTONOMY.md's formula)."""
        p0, p1 = self.p0, self.p1
        return math.log((1 - p0) / (1 - p1)) / math.log(p1 * (1 - p0) / (p0 * (1 - p1)))


class WindowRule(_Settings):
    """Demote when ``failures`` or more of the last ``last`` reviewed outcomes failed."""

    failures: int = Field(ge=1)
    last: int = Field(ge=1)

    @model_validator(mode="after")
    def _fits(self) -> WindowRule:
        if self.failures > self.last:
            raise ValueError(f"failures ({self.failures}) cannot exceed last ({self.last})")
        return self


class SamplingRates(_Settings):
    """Probability that an auto-approved action is drawn for review, by risk tier
    (critical actions always wait for a person, so they have no rate)."""

    low: float = 0.05
    medium: float = 0.2
    high: float = 1.0

    @field_validator("low", "medium", "high")
    @classmethod
    def _floor(cls, value: float) -> float:
        if not (math.isfinite(value) and 0.02 <= value <= 1.0):
            raise ValueError(f"must be between 0.02 and 1 (got {value})")
        return value


def _l1_to_l2() -> PromotionRule:
    return PromotionRule(p_good=0.03, p_bad=0.10, alpha=0.05, beta=0.10, min_reviewed=60,
                         min_n_eff=60, wilson_min=0.95, min_days_at_level=7, min_reviewers=2,
                         no_critical_in_last=100, min_agreement=0.667)


def _l2_to_l3() -> PromotionRule:
    return PromotionRule(p_good=0.01, p_bad=0.05, alpha=0.05, beta=0.10, min_reviewed=150,
                         min_n_eff=150, wilson_min=0.98, min_days_at_level=30, min_reviewers=2,
                         no_critical_in_last=300, min_agreement=0.667)


class AutonomyConfig(_Settings):
    l1_to_l2: PromotionRule = Field(default_factory=_l1_to_l2)
    l2_to_l3: PromotionRule = Field(default_factory=_l2_to_l3)
    cusum_l2: CusumRule = Field(default_factory=lambda: CusumRule(p0=0.03, p1=0.08, h=3.5))
    cusum_l3: CusumRule = Field(default_factory=lambda: CusumRule(p0=0.01, p1=0.04, h=3.0))
    window: WindowRule = Field(default_factory=lambda: WindowRule(failures=3, last=20))
    cooldown_days: float = Field(default=7.0, ge=0)
    #: One-sided normal quantile for the Wilson bound (1.645: 95 %).
    z: float = Field(default=1.645, gt=0, le=5)
    #: Where a new agent version starts: one level below its predecessor (not below L1),
    #: or in L0 shadow.
    new_version: Literal["one_level_lower", "shadow"] = "one_level_lower"
    sampling: SamplingRates = Field(default_factory=SamplingRates)

    def promotion_from(self, level: AutonomyLevel) -> PromotionRule:
        """The test a unit at ``level`` is measured against: L0 and L1 against L1->L2 (an
        L0 shadow unit is shown how its verdicts would fare), L2 and L3 against L2->L3
        (an L3 unit keeps being shown whether it still qualifies)."""
        if level in (AutonomyLevel.L0, AutonomyLevel.L1):
            return self.l1_to_l2
        return self.l2_to_l3

    def cusum_at(self, level: AutonomyLevel) -> CusumRule:
        """The CUSUM that watches ``level``; below L2 it is the L2 one, shown as a preview
        of the watch the unit will be under once promoted (it demotes nothing there)."""
        return self.cusum_l3 if level is AutonomyLevel.L3 else self.cusum_l2

    @classmethod
    def from_table(cls, table: dict[str, Any] | None) -> AutonomyConfig:
        """The ``[autonomy]`` table of the config file (None or {} for the defaults).
        A sub-table may give only the settings it changes (``l1_to_l2 = { p_good =
        0.02 }``): the others keep their defaults."""
        try:
            return cls.model_validate(_over(cls().to_table(), table or {}))
        except ValidationError as exc:
            raise AutonomyConfigError(describe_errors(exc)) from exc

    def to_table(self) -> dict[str, Any]:
        """Every setting, as plain TOML-able values (from_table reads it back)."""
        return self.model_dump(mode="json")


def _over(defaults: dict[str, Any], table: dict[str, Any]) -> dict[str, Any]:
    """``table`` laid over ``defaults``, sub-table by sub-table (unknown keys are kept,
    so validation still names them)."""
    merged = dict(defaults)
    for key, value in table.items():
        base = defaults.get(key)
        merged[key] = (_over(base, value) if isinstance(base, dict) and isinstance(value, dict)
                       else value)
    return merged


def describe_errors(exc: ValidationError) -> str:
    """One line per problem, each starting with the setting's full name."""
    lines = []
    for err in exc.errors():
        where = ".".join(["autonomy", *(str(p) for p in err["loc"])])
        message = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"{where}: {message}")
    return "; ".join(lines)
