"""How far reviewers agree: Krippendorff's alpha per question, Cohen's kappa per pair.

AUTONOMY.md only trusts labels as evidence where reviewers agree (alpha ≥ 0.667 where
double labels exist), so these numbers gate promotions; they are tested against the
``krippendorff`` package and the published worked examples.

**Alpha** is computed from the coincidence matrix (Krippendorff 2011, "Computing
Krippendorff's Alpha-Reliability") without ever building it: only items with two or
more values are pairable, and with ``n`` pairable values, ``n_c`` of them equal to
``c`` and ``m_u`` values in item ``u``,

    alpha = 1 − (n − 1) · Σ_u Σ_{i≠j∈u} δ²(x_i, x_j) / (m_u − 1)  /  Σ_{i,j} δ²(x_i, x_j)

*Nominal* δ² is 1 for different values, so both sums follow from value counts.
*Interval* δ² is (x_i − x_j)², so both sums follow from squared deviations from the
item's mean and the overall mean. *Ordinal* δ²(c, k) = (Σ_{g=c..k} n_g − (n_c + n_k)/2)²
equals (M_k − M_c)² where M_c = Σ_{g<c} n_g + n_c/2 is the mid-rank of c among the
pairable values, so ordinal alpha is interval alpha on mid-ranks. Everything is a few
numpy passes over the values: 10,000 items × 5 reviewers take milliseconds.

**Undefined cases return None, never NaN**: with fewer than two pairable values there
is nothing to compare, and when all pairable values are equal, alpha is 0/0: perfect
observed agreement cannot be told apart from chance, because nothing varied (the
``krippendorff`` package refuses such data). Every result says how many items it rests
on, so a reader can tell a solid 0.8 from one resting on three items.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from .rubric import TYPES_WITH_OPTIONS, Question, Rubric

Level = Literal["nominal", "ordinal", "interval"]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Question type → the level of measurement its alpha uses (text has none).
LEVEL_OF_TYPE: dict[str, Level] = {"boolean": "nominal", "categorical": "nominal",
                                   "ordinal": "ordinal", "numeric": "interval"}


@dataclass(frozen=True, slots=True)
class AlphaResult:
    """``alpha`` (None when undefined, see the module), the number of ``items`` with two
    or more values, and the number of pairable ``values`` in them."""

    alpha: float | None
    items: int
    values: int


@dataclass(frozen=True, slots=True)
class KappaResult:
    """``kappa`` (None when undefined) over ``items`` both reviewers labelled."""

    kappa: float | None
    items: int


def krippendorff_alpha(reliability_data: npt.ArrayLike, level: Level = "nominal",
                       ) -> AlphaResult:
    """Alpha of an items × coders table (one row per item, NaN or None where a coder
    gave no value). Nominal values may be any numbers (codes); ordinal values are
    ordered by size; interval values are used as they are."""
    data = np.asarray(reliability_data, dtype=np.float64)
    if data.ndim != 2:
        raise ValueError(f"reliability data must be items × coders, got {data.ndim} dims")
    rows, cols = np.nonzero(~np.isnan(data))
    return alpha_from_values(rows.astype(np.int64), data[rows, cols], level)


def alpha_from_values(units: IntArray, values: FloatArray, level: Level) -> AlphaResult:
    """Alpha from one entry per (item, coder) value: ``units[i]`` is the item of
    ``values[i]`` (items numbered from 0). Coders need not be named: alpha only asks
    which values share an item."""
    if level not in LEVEL_OF_TYPE.values():
        raise ValueError(f"unknown level of measurement {level!r}")
    if not np.all(np.isfinite(values)):
        raise ValueError("values must be finite numbers (missing values are left out)")
    if units.size == 0:
        return AlphaResult(None, 0, 0)
    per_unit = np.bincount(units)
    pairable = per_unit[units] >= 2
    units, values = units[pairable], values[pairable]
    items, n = int(np.count_nonzero(per_unit >= 2)), int(values.size)
    distinct, codes, counts = np.unique(values, return_inverse=True, return_counts=True)
    if n < 2 or distinct.size < 2:
        return AlphaResult(None, items, n)
    m = per_unit[units].astype(np.float64)
    if level == "nominal":
        # Σ_{c≠k} o_ck = n − Σ_c o_cc, o_cc = Σ_u n_uc (n_uc − 1) / (m_u − 1).
        cells, n_uc = np.unique(units * distinct.size + codes, return_counts=True)
        m_cell = per_unit[cells // distinct.size].astype(np.float64)
        observed = n - float(np.sum(n_uc * (n_uc - 1) / (m_cell - 1)))
        expected = float(n) * n - float(np.sum(counts.astype(np.float64) ** 2))
    else:
        if level == "ordinal":
            midranks = np.cumsum(counts) - counts / 2.0
            values = midranks[codes]
        unit_means = (np.bincount(units, weights=values, minlength=per_unit.size)
                      / np.maximum(per_unit, 1))
        within = (values - unit_means[units]) ** 2
        # Σ_{i≠j∈u} (x_i − x_j)² = 2 m_u Σ_{i∈u} (x_i − mean_u)².
        observed = float(np.sum(2.0 * m * within / (m - 1)))
        expected = 2.0 * n * float(np.sum((values - values.mean()) ** 2))
    if expected <= 0.0:
        return AlphaResult(None, items, n)
    return AlphaResult(1.0 - (n - 1) * observed / expected, items, n)


def _kappa_from_codes(first: IntArray, second: IntArray, categories: int) -> KappaResult:
    items = int(first.size)
    if items < 2:
        return KappaResult(None, items)
    table = np.bincount(first * categories + second,
                        minlength=categories * categories).reshape(categories, categories)
    # Integer sums keep "both reviewers used one and the same category" exact (0/0).
    agreed = int(np.trace(table))
    chance = int(np.dot(table.sum(axis=1), table.sum(axis=0)))
    denominator = items * items - chance
    if denominator == 0:
        return KappaResult(None, items)
    return KappaResult((items * agreed - chance) / denominator, items)


def cohen_kappa(first: Sequence[Hashable | None], second: Sequence[Hashable | None],
                ) -> KappaResult:
    """Cohen's kappa of two reviewers' labels of the same items, position by position,
    over the items both labelled (None = not labelled). None when fewer than two
    items are shared, or when both used one and the same label throughout (chance
    agreement is then 1 and kappa is 0/0)."""
    if len(first) != len(second):
        raise ValueError(f"the two label lists differ in length ({len(first)} and "
                         f"{len(second)})")
    shared = [(a, b) for a, b in zip(first, second, strict=True)
              if a is not None and b is not None]
    codes: dict[Hashable, int] = {}
    for a, b in shared:
        codes.setdefault(a, len(codes))
        codes.setdefault(b, len(codes))
    first_codes = np.array([codes[a] for a, _ in shared], dtype=np.int64)
    second_codes = np.array([codes[b] for _, b in shared], dtype=np.int64)
    return _kappa_from_codes(first_codes, second_codes, max(len(codes), 1))


# --- the report over a rubric's labels ----------------------------------------------

class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class QuestionAgreement(_Frozen):
    key: str
    level: Level
    alpha: float | None
    items: int


class PairAgreement(_Frozen):
    a: str
    b: str
    question: str
    kappa: float | None
    items: int


class AgreementReport(_Frozen):
    """Alpha per question (text questions have none) and kappa per reviewer pair on
    `kappa_question`; ``items`` counts the items given, ``labels`` the labels used
    (one per reviewer and item)."""

    rubric: str
    version: int
    kappa_question: str | None
    questions: tuple[QuestionAgreement, ...]
    pairs: tuple[PairAgreement, ...]
    items: int
    labels: int


def kappa_question(rubric: Rubric) -> Question | None:
    """The question reviewer pairs are compared on: the first required categorical or
    boolean question, else the first categorical or boolean one. One headline number
    per pair is what the CLI and the workspace show; a required question is the one
    every label answers, so the pair's overlap is all the items both labelled. The
    per-question view is alpha's."""
    nominal = [q for q in rubric.questions if q.type in ("boolean", "categorical")]
    return next((q for q in nominal if q.required), nominal[0] if nominal else None)


def _code(question: Question, value: Any, options: Mapping[str, int]) -> float | None:
    """An answer as a number alpha can use, or None when it does not fit the question
    (labels from another version of the rubric)."""
    if question.type == "boolean":
        return float(value) if isinstance(value, bool) else None
    if question.type in TYPES_WITH_OPTIONS:
        index = options.get(value) if isinstance(value, str) else None
        return None if index is None else float(index)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def agreement_report(rubric: Rubric,
                     labels: Sequence[tuple[Hashable, str, Mapping[str, Any]]],
                     ) -> AgreementReport:
    """Agreement among ``labels`` = (item key, reviewer, answers) given to ``rubric``.

    Items with one label add nothing (they have no pair). A reviewer counts once per
    item: should the same reviewer appear twice for an item, the later label is used.
    Answers that do not fit a question (an option this version lacks) are left out.
    Reviewer pairs that share no item are not listed."""
    latest: dict[tuple[Hashable, str], Mapping[str, Any]] = {}
    for item, reviewer, answers in labels:
        latest[(item, reviewer)] = answers
    item_index: dict[Hashable, int] = {}
    reviewers = sorted({reviewer for _, reviewer in latest})
    reviewer_index = {name: i for i, name in enumerate(reviewers)}
    rows = np.empty(len(latest), dtype=np.int64)
    cols = np.empty(len(latest), dtype=np.int64)
    for n, (item, reviewer) in enumerate(latest):
        rows[n] = item_index.setdefault(item, len(item_index))
        cols[n] = reviewer_index[reviewer]
    answers_list = list(latest.values())

    tables: dict[str, tuple[Question, FloatArray]] = {}
    for question in rubric.questions:
        if question.type not in LEVEL_OF_TYPE:
            continue
        options = {value: i for i, value in enumerate(question.option_values())}
        coded = np.array([_code(question, a.get(question.key), options)
                          for a in answers_list], dtype=np.float64)  # None → NaN
        table = np.full((len(item_index), len(reviewers)), np.nan)
        table[rows, cols] = coded
        tables[question.key] = (question, table)

    questions = []
    for key, (question, table) in tables.items():
        level = LEVEL_OF_TYPE[question.type]
        result = krippendorff_alpha(table, level)
        questions.append(QuestionAgreement(key=key, level=level, alpha=result.alpha,
                                           items=result.items))

    headline = kappa_question(rubric)
    pairs = []
    if headline is not None:
        table = tables[headline.key][1]
        categories = 2 if headline.type == "boolean" else len(headline.options)
        for i, j in itertools.combinations(range(len(reviewers)), 2):
            both = ~np.isnan(table[:, i]) & ~np.isnan(table[:, j])
            if not both.any():
                continue
            kappa = _kappa_from_codes(table[both, i].astype(np.int64),
                                       table[both, j].astype(np.int64), categories)
            pairs.append(PairAgreement(a=reviewers[i], b=reviewers[j], question=headline.key,
                                       kappa=kappa.kappa, items=kappa.items))
    return AgreementReport(rubric=rubric.name, version=rubric.version,
                           kappa_question=headline.key if headline else None,
                           questions=tuple(questions), pairs=tuple(pairs),
                           items=len(item_index), labels=len(latest))
