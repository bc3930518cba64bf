"""The engine's input: what each reviewed action says about the agent (AUTONOMY.md, "Unit
and outcomes"), one unit (agent, agent version, action class) at a time.

`Outcome` is one row, for small inputs and tests; `OutcomeBatch` holds a unit's outcomes
as numpy columns, because a million of them must be evaluated in well under a second.

The mapping from what a person did to an outcome is fixed here, once:

- approve, cosmetic edit, a label saying the action was right -> success (y = 0);
- reject, material edit, a label saying it was wrong -> failure (y = 1);
- critical edit, a label saying it would have caused harm -> critical failure;
- respond is **not an outcome**: the reviewer answered the agent's question instead of
  judging its action, so it says nothing about how often the agent is right. Batches
  drop respond rows; so are ignore, expire and auto-approve (no person judged).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from ..domain import EditSeverity, Risk, Verdict

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]


class OutcomeKind(IntEnum):
    """What the reviewer did; the int codes are what `OutcomeBatch.kind` stores."""

    APPROVE = 0
    COSMETIC_EDIT = 1
    MATERIAL_EDIT = 2
    REJECT = 3
    CRITICAL_EDIT = 4
    LABEL_CORRECT = 5
    LABEL_WRONG = 6
    LABEL_HARM = 7
    RESPOND = 8

    @property
    def failure(self) -> bool:
        return bool(_FAILURE[self])

    @property
    def critical(self) -> bool:
        return bool(_CRITICAL[self])

    @property
    def from_label(self) -> bool:
        return self in _LABEL_KINDS


class MixCategory(IntEnum):
    """The stacked-outcome categories the lead sees (AUTONOMY.md, item 5)."""

    APPROVE = 0
    COSMETIC = 1
    MATERIAL = 2
    REJECT = 3
    CRITICAL = 4


_LABEL_KINDS = frozenset({OutcomeKind.LABEL_CORRECT, OutcomeKind.LABEL_WRONG,
                          OutcomeKind.LABEL_HARM})
#: Indexed by kind code. RESPOND is neither a success nor a failure; batches drop it.
_FAILURE = np.array([0, 0, 1, 1, 1, 0, 1, 1, 0], dtype=np.int8)
_CRITICAL = np.array([0, 0, 0, 0, 1, 0, 0, 1, 0], dtype=np.bool_)
#: Kind code -> MixCategory code (a label that the action was right counts as approve,
#: wrong as reject, harm as critical); -1 for respond.
MIX_OF_KIND = np.array([0, 1, 2, 3, 4, 0, 3, 4, -1], dtype=np.int64)
N_KINDS = len(OutcomeKind)


def kind_for_verdict(verdict: Verdict, severity: EditSeverity | None) -> OutcomeKind | None:
    """The outcome a person's verdict gives, or None when it judges nothing.

    An edit without a severity tag counts as material: something had to change, and an
    untagged edit must not make the agent look better than a tagged one."""
    if verdict is Verdict.APPROVE:
        return OutcomeKind.APPROVE
    if verdict is Verdict.REJECT:
        return OutcomeKind.REJECT
    if verdict is Verdict.EDIT:
        if severity is EditSeverity.COSMETIC:
            return OutcomeKind.COSMETIC_EDIT
        if severity is EditSeverity.CRITICAL:
            return OutcomeKind.CRITICAL_EDIT
        return OutcomeKind.MATERIAL_EDIT
    # respond answers the agent instead of judging it; ignore, expire and auto_approve
    # are not a person's judgement of the action.
    return None


@dataclass(frozen=True, slots=True)
class Outcome:
    """One reviewed action of one unit. ``pi`` is the probability with which the action
    was drawn for review (1.0 when every action is reviewed); NaN marks an ad-hoc spot
    check, which has no known ``pi``: it is left out of the estimates and of the SPRT
    and CUSUM, but a critical one still demotes."""

    agent: str
    version: str
    action_class: str
    at: float
    y: int
    critical: bool
    pi: float
    source: Literal["verdict", "label"]
    kind: OutcomeKind
    reviewer: str | None
    risk: Risk

    def __post_init__(self) -> None:
        if not math.isfinite(self.at):
            raise ValueError(f"Outcome.at must be a finite unix time, got {self.at!r}")
        if self.y not in (0, 1):
            raise ValueError(f"Outcome.y must be 0 (success) or 1 (failure), got {self.y!r}")
        kind = OutcomeKind(self.kind)
        if kind is not OutcomeKind.RESPOND and (self.y, self.critical) != (
                int(kind.failure), kind.critical):
            raise ValueError(
                f"Outcome.y={self.y}, critical={self.critical} contradict kind "
                f"{kind.name} (which means y={int(kind.failure)}, critical={kind.critical})")
        if not (math.isnan(self.pi) or 0.0 < self.pi <= 1.0):
            raise ValueError(f"Outcome.pi must be in (0, 1] or NaN (ad hoc), got {self.pi!r}")
        if self.source not in ("verdict", "label"):
            raise ValueError(f"Outcome.source must be 'verdict' or 'label', got {self.source!r}")
        if kind.from_label != (self.source == "label"):
            raise ValueError(f"Outcome.source {self.source!r} does not fit kind {kind.name}")

    @classmethod
    def of(cls, kind: OutcomeKind, *, agent: str, version: str, action_class: str, at: float,
           pi: float = 1.0, reviewer: str | None = None, risk: Risk = Risk.LOW) -> Outcome:
        """An outcome whose y, critical and source follow from its kind."""
        return cls(agent=agent, version=version, action_class=action_class, at=at,
                   y=int(kind.failure), critical=kind.critical, pi=pi,
                   source="label" if kind.from_label else "verdict", kind=kind,
                   reviewer=reviewer, risk=risk)


@dataclass(frozen=True, slots=True, eq=False)
class OutcomeBatch:
    """A unit's outcomes as columns, sorted by time. Build with `from_arrays` (validates)
    or `from_outcomes`; slices from `since` share memory with the original."""

    at: FloatArray
    y: NDArray[np.int8]
    critical: BoolArray
    pi: FloatArray
    kind: NDArray[np.int8]
    reviewer: NDArray[np.int32]
    risk: NDArray[np.int8]
    reviewers: tuple[str, ...] = ()

    def __len__(self) -> int:
        return int(self.at.shape[0])

    @property
    def scored(self) -> BoolArray:
        """Outcomes with a known ``pi``: the ones that count towards the estimates."""
        return ~np.isnan(self.pi)

    def since(self, t: float | None) -> OutcomeBatch:
        """The outcomes strictly after ``t`` (all of them for None)."""
        if t is None:
            return self
        start = int(np.searchsorted(self.at, t, side="right"))
        return self if start == 0 else self.slice(start, len(self))

    def slice(self, start: int, stop: int) -> OutcomeBatch:
        """Outcomes ``start`` to ``stop`` (exclusive), sharing memory."""
        part = slice(start, stop)
        return OutcomeBatch(self.at[part], self.y[part], self.critical[part], self.pi[part],
                            self.kind[part], self.reviewer[part], self.risk[part],
                            self.reviewers)

    @classmethod
    def empty(cls) -> OutcomeBatch:
        return cls.from_arrays(at=[], y=[], critical=[], pi=[], kind=[], reviewer=[], risk=[])

    @classmethod
    def from_arrays(cls, *, at: object, y: object, critical: object, pi: object, kind: object,
                    reviewer: object, risk: object,
                    reviewers: Sequence[str] = ()) -> OutcomeBatch:
        """Columns from anything numpy accepts; checks every rule and names the column
        that breaks one. Respond rows are dropped (they are not outcomes)."""
        cols: dict[str, NDArray[Any]] = {
            "at": np.asarray(at, dtype=np.float64),
            "y": np.asarray(y, dtype=np.int8),
            "critical": np.asarray(critical, dtype=np.bool_),
            "pi": np.asarray(pi, dtype=np.float64),
            "kind": np.asarray(kind, dtype=np.int8),
            "reviewer": np.asarray(reviewer, dtype=np.int32),
            "risk": np.asarray(risk, dtype=np.int8),
        }
        n = cols["at"].shape[0]
        for name, col in cols.items():
            if col.ndim != 1 or col.shape[0] != n:
                raise ValueError(f"OutcomeBatch.{name}: expected {n} values in one column, "
                                 f"got shape {col.shape}")
        _check(cols, tuple(reviewers))
        keep = cols["kind"] != OutcomeKind.RESPOND
        if not keep.all():
            cols = {name: col[keep] for name, col in cols.items()}
        return cls(cols["at"], cols["y"], cols["critical"], cols["pi"], cols["kind"],
                   cols["reviewer"], cols["risk"], tuple(reviewers))

    @classmethod
    def from_outcomes(cls, outcomes: Sequence[Outcome]) -> OutcomeBatch:
        """A batch from rows of one unit, sorted by time (stable for equal times)."""
        if outcomes:
            unit = (outcomes[0].agent, outcomes[0].version, outcomes[0].action_class)
            for o in outcomes:
                if (o.agent, o.version, o.action_class) != unit:
                    raise ValueError(
                        "OutcomeBatch.from_outcomes: outcomes of more than one unit: "
                        f"{unit} and {(o.agent, o.version, o.action_class)}")
        ordered = sorted(outcomes, key=lambda o: o.at)
        names: dict[str, int] = {}
        codes = [-1 if o.reviewer is None else names.setdefault(o.reviewer, len(names))
                 for o in ordered]
        return cls.from_arrays(
            at=[o.at for o in ordered], y=[o.y for o in ordered],
            critical=[o.critical for o in ordered], pi=[o.pi for o in ordered],
            kind=[int(o.kind) for o in ordered], reviewer=codes,
            risk=[Risk(o.risk).rank for o in ordered], reviewers=tuple(names))


def _check(cols: dict[str, NDArray[Any]], reviewers: tuple[str, ...]) -> None:
    at, y, pi = cols["at"], cols["y"], cols["pi"]
    kind, reviewer, risk = cols["kind"], cols["reviewer"], cols["risk"]
    _first_bad("at", ~np.isfinite(at), at, "must be finite unix times")
    if at.shape[0] > 1:
        _first_bad("at", np.diff(at) < 0, at[1:], "must be sorted ascending", offset=1)
    _first_bad("kind", (kind < 0) | (kind >= N_KINDS), kind,
               f"must be an OutcomeKind code 0..{N_KINDS - 1}")
    _first_bad("y", (y != 0) & (y != 1), y, "must be 0 (success) or 1 (failure)")
    _first_bad("pi", ~(np.isnan(pi) | ((pi > 0.0) & (pi <= 1.0))), pi,
               "must be in (0, 1] or NaN (ad hoc)")
    _first_bad("risk", (risk < 0) | (risk > 3), risk, "must be 0..3 (low..critical)")
    _first_bad("reviewer", (reviewer < -1) | (reviewer >= len(reviewers)), reviewer,
               f"must be -1 or an index into the {len(reviewers)} reviewer names")
    judged = kind != OutcomeKind.RESPOND
    safe_kind = np.where(judged, kind, 0)
    _first_bad("y", judged & (y != _FAILURE[safe_kind]), y, "contradicts kind")
    _first_bad("critical", judged & (cols["critical"] != _CRITICAL[safe_kind]),
               cols["critical"], "contradicts kind")


def _first_bad(name: str, bad: NDArray[np.bool_], values: NDArray[Any], rule: str,
               offset: int = 0) -> None:
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"OutcomeBatch.{name} {rule}: {values[i]!r} at index {i + offset}")
