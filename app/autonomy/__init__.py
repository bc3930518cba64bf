"""The autonomy engine (AUTONOMY.md): pure functions from a unit's outcomes to evidence,
recommendations, demotions, chart series, what-if replays and the simulation that checks
them. No store and no Qt: callers load outcomes and persist decisions."""

from .config import (
    AutonomyConfig,
    AutonomyConfigError,
    CusumRule,
    PromotionRule,
    SamplingRates,
    WindowRule,
)
from .outcomes import MixCategory, Outcome, OutcomeBatch, OutcomeKind, kind_for_verdict
from .replay import ReplayResult, ReplayRow, replay
from .rules import (
    CusumState,
    Demotion,
    OutcomeMix,
    RiskMix,
    RuleCheck,
    SprtState,
    UnitEvidence,
    demotion_trigger,
    evaluate,
    level_above,
    level_below,
    starting_level,
)
from .series import UnitSeries, series
from .simulate import simulate

__all__ = [
    "AutonomyConfig",
    "AutonomyConfigError",
    "CusumRule",
    "CusumState",
    "Demotion",
    "MixCategory",
    "Outcome",
    "OutcomeBatch",
    "OutcomeKind",
    "OutcomeMix",
    "PromotionRule",
    "ReplayResult",
    "ReplayRow",
    "RiskMix",
    "RuleCheck",
    "SamplingRates",
    "SprtState",
    "UnitEvidence",
    "UnitSeries",
    "WindowRule",
    "demotion_trigger",
    "evaluate",
    "kind_for_verdict",
    "level_above",
    "level_below",
    "replay",
    "series",
    "simulate",
    "starting_level",
]
