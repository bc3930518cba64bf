"""What a person did becomes an outcome in exactly one way, and bad columns are refused
with the column's name."""

from __future__ import annotations

import math

import numpy as np
import pytest

from countersign.autonomy import Outcome, OutcomeBatch, OutcomeKind, kind_for_verdict
from countersign.domain import EditSeverity, Risk, Verdict

UNIT = {"agent": "billing", "version": "1.2", "action_class": "refund"}


@pytest.mark.parametrize(("verdict", "severity", "kind"), [
    (Verdict.APPROVE, None, OutcomeKind.APPROVE),
    (Verdict.EDIT, EditSeverity.COSMETIC, OutcomeKind.COSMETIC_EDIT),
    (Verdict.EDIT, EditSeverity.MATERIAL, OutcomeKind.MATERIAL_EDIT),
    (Verdict.EDIT, None, OutcomeKind.MATERIAL_EDIT),
    (Verdict.EDIT, EditSeverity.CRITICAL, OutcomeKind.CRITICAL_EDIT),
    (Verdict.REJECT, None, OutcomeKind.REJECT),
    (Verdict.RESPOND, None, None),
    (Verdict.AUTO_APPROVE, None, None),
    (Verdict.EXPIRE, None, None),
])
def test_verdicts_map_to_outcomes(verdict: Verdict, severity: EditSeverity | None,
                                  kind: OutcomeKind | None) -> None:
    assert kind_for_verdict(verdict, severity) is kind


def test_success_failure_and_critical_follow_autonomy_md() -> None:
    successes = {OutcomeKind.APPROVE, OutcomeKind.COSMETIC_EDIT, OutcomeKind.LABEL_CORRECT}
    criticals = {OutcomeKind.CRITICAL_EDIT, OutcomeKind.LABEL_HARM}
    for kind in OutcomeKind:
        if kind is OutcomeKind.RESPOND:
            continue
        assert kind.failure is (kind not in successes)
        assert kind.critical is (kind in criticals)


def test_outcome_refuses_contradictions_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"Outcome.y=0, critical=False contradict kind REJECT"):
        Outcome(**UNIT, at=1.0, y=0, critical=False, pi=1.0, source="verdict",
                kind=OutcomeKind.REJECT, reviewer="ann", risk=Risk.LOW)
    with pytest.raises(ValueError, match=r"Outcome.pi must be in \(0, 1\]"):
        Outcome.of(OutcomeKind.APPROVE, **UNIT, at=1.0, pi=0.0)
    with pytest.raises(ValueError, match=r"Outcome.source 'verdict' does not fit kind LABEL_HARM"):
        Outcome(**UNIT, at=1.0, y=1, critical=True, pi=0.2, source="verdict",
                kind=OutcomeKind.LABEL_HARM, reviewer=None, risk=Risk.LOW)
    with pytest.raises(ValueError, match=r"Outcome.at must be a finite"):
        Outcome.of(OutcomeKind.APPROVE, **UNIT, at=math.inf)


def test_from_outcomes_sorts_codes_reviewers_and_drops_respond() -> None:
    rows = [
        Outcome.of(OutcomeKind.REJECT, **UNIT, at=30.0, reviewer="bo", risk=Risk.HIGH),
        Outcome.of(OutcomeKind.APPROVE, **UNIT, at=10.0, reviewer="ann"),
        Outcome.of(OutcomeKind.RESPOND, **UNIT, at=15.0, reviewer="ann"),
        Outcome.of(OutcomeKind.LABEL_HARM, **UNIT, at=20.0, pi=math.nan, reviewer=None,
                   risk=Risk.MEDIUM),
    ]
    batch = OutcomeBatch.from_outcomes(rows)
    assert batch.at.tolist() == [10.0, 20.0, 30.0]
    assert batch.y.tolist() == [0, 1, 1]
    assert batch.critical.tolist() == [False, True, False]
    assert batch.scored.tolist() == [True, False, True]
    assert [batch.reviewers[c] if c >= 0 else None for c in batch.reviewer] == [
        "ann", None, "bo"]
    assert batch.risk.tolist() == [0, 1, 2]
    assert len(batch.since(10.0)) == 2 and len(batch.since(None)) == 3


def test_from_outcomes_refuses_two_units() -> None:
    other = {**UNIT, "version": "1.3"}
    with pytest.raises(ValueError, match="more than one unit"):
        OutcomeBatch.from_outcomes([Outcome.of(OutcomeKind.APPROVE, **UNIT, at=1.0),
                                    Outcome.of(OutcomeKind.APPROVE, **other, at=2.0)])


def _columns(**change: object) -> dict[str, object]:
    cols: dict[str, object] = {"at": [1.0, 2.0], "y": [0, 1], "critical": [False, False],
                               "pi": [1.0, 0.2], "kind": [0, 3], "reviewer": [0, -1],
                               "risk": [0, 1], "reviewers": ("ann",)}
    return {**cols, **change}


@pytest.mark.parametrize(("change", "message"), [
    ({"at": [2.0, 1.0]}, r"OutcomeBatch.at must be sorted ascending: .* at index 1"),
    ({"at": [1.0, math.nan]}, "OutcomeBatch.at must be finite"),
    ({"pi": [1.0, 1.5]}, r"OutcomeBatch.pi must be in \(0, 1\] or NaN"),
    ({"pi": [0.0, 1.0]}, r"OutcomeBatch.pi must be in \(0, 1\]"),
    ({"y": [0, 0]}, "OutcomeBatch.y contradicts kind"),
    ({"critical": [False, True]}, "OutcomeBatch.critical contradicts kind"),
    ({"kind": [0, 9]}, "OutcomeBatch.kind must be an OutcomeKind code"),
    ({"risk": [0, 4]}, "OutcomeBatch.risk must be 0..3"),
    ({"reviewer": [0, 1]}, "OutcomeBatch.reviewer must be -1 or an index"),
    ({"y": [0]}, "OutcomeBatch.y: expected 2 values"),
])
def test_from_arrays_names_the_bad_column(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OutcomeBatch.from_arrays(**_columns(**change))  # type: ignore[arg-type]


def test_empty_batch_and_slices_share_memory() -> None:
    assert len(OutcomeBatch.empty()) == 0
    batch = OutcomeBatch.from_arrays(**_columns())  # type: ignore[arg-type]
    assert np.shares_memory(batch.since(1.0).at, batch.at)
