"""Small builders for hand-made outcome histories."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from countersign.autonomy import OutcomeBatch, OutcomeKind

HOUR = 3_600.0
DAY = 86_400.0


def batch_of(kinds: Sequence[OutcomeKind], *, start: float = HOUR, step: float = HOUR,
             pi: Sequence[float] | np.ndarray | float = 1.0, reviewers: int = 2,
             risk: Sequence[int] | int = 0) -> OutcomeBatch:
    """One outcome per kind, ``step`` seconds apart from ``start``, reviewers in turn."""
    n = len(kinds)
    codes = np.array([int(k) for k in kinds], dtype=np.int8)
    y = np.array([int(OutcomeKind(k).failure) for k in kinds], dtype=np.int8)
    critical = np.array([OutcomeKind(k).critical for k in kinds], dtype=np.bool_)
    return OutcomeBatch.from_arrays(
        at=start + step * np.arange(n), y=y, critical=critical,
        pi=np.broadcast_to(np.asarray(pi, dtype=np.float64), (n,)), kind=codes,
        reviewer=np.arange(n) % reviewers if reviewers else np.full(n, -1),
        risk=np.broadcast_to(np.asarray(risk), (n,)),
        reviewers=tuple(f"r{i}" for i in range(reviewers)))


def clean(n: int) -> list[OutcomeKind]:
    return [OutcomeKind.APPROVE] * n


def with_failures(n: int, at: Sequence[int], kind: OutcomeKind = OutcomeKind.REJECT
                  ) -> list[OutcomeKind]:
    kinds = clean(n)
    for i in at:
        kinds[i] = kind
    return kinds
