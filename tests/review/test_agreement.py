"""Reviewer agreement gates promotions (AUTONOMY.md: alpha ≥ 0.667), so it must equal
the published worked examples and the reference implementation."""

from __future__ import annotations

import math
from typing import Any

import krippendorff
import numpy as np
import pytest

from countersign.review.agreement import (
    AlphaResult,
    KappaResult,
    Level,
    agreement_report,
    alpha_from_values,
    cohen_kappa,
    kappa_question,
    krippendorff_alpha,
)
from countersign.review.rubric import Option, Question, Rubric, default_rubrics

NAN = math.nan
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the example with
# four coders (rows) and twelve units (columns), missing values as NaN.
WORKED_EXAMPLE = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
])
LEVELS: tuple[Level, ...] = ("nominal", "ordinal", "interval")


@pytest.mark.parametrize(("level", "published"), [
    ("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)])
def test_the_published_worked_example(level: Level, published: float) -> None:
    result = krippendorff_alpha(WORKED_EXAMPLE.T, level)
    assert result.alpha is not None and round(result.alpha, 3) == published
    # Unit 12 has one value: it cannot be paired, so 11 units and n = 40 values count.
    assert (result.items, result.values) == (11, 40)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("seed", range(6))
def test_alpha_equals_the_reference_on_random_data(level: Level, seed: int) -> None:
    rng = np.random.default_rng(seed)
    coders, units = int(rng.integers(2, 7)), int(rng.integers(5, 400))
    truth = rng.integers(0, 5, size=units)
    data = np.where(rng.random((coders, units)) < 0.7, truth,
                    rng.integers(0, 5, size=(coders, units))).astype(float)
    data[rng.random(data.shape) < 0.3] = NAN
    ours = krippendorff_alpha(data.T, level).alpha
    assert ours is not None
    assert ours == pytest.approx(krippendorff.alpha(data, level_of_measurement=level),
                                 abs=1e-9)


def test_interval_alpha_on_continuous_values_equals_the_reference() -> None:
    rng = np.random.default_rng(7)
    data = rng.normal(size=60)[None, :] + rng.normal(scale=0.5, size=(4, 60)) + 1e6
    data[rng.random(data.shape) < 0.2] = NAN
    ours = krippendorff_alpha(data.T, "interval").alpha
    assert ours == pytest.approx(
        krippendorff.alpha(data, level_of_measurement="interval"), abs=1e-8)


def test_perfect_and_systematic_disagreement() -> None:
    assert krippendorff_alpha([[1, 1], [2, 2], [3, 3]], "nominal").alpha == 1.0
    # Two coders who always swap two values agree less than chance.
    swapped = krippendorff_alpha([[0, 1], [1, 0], [0, 1], [1, 0]], "nominal").alpha
    assert swapped is not None and swapped < 0


@pytest.mark.parametrize(("data", "items", "values"), [
    (np.empty((0, 3)), 0, 0),
    ([[1, NAN], [NAN, 2], [3, NAN]], 0, 0),          # nothing pairable
    ([[2, 2], [2, 2], [2, NAN]], 2, 4),              # no variation: 0/0
    ([[None, 1.0], [1.0, 1.0]], 1, 2),
])
@pytest.mark.parametrize("level", LEVELS)
def test_alpha_is_none_not_nan_when_it_is_undefined(data: Any, items: int, values: int,
                                                    level: Level) -> None:
    assert krippendorff_alpha(data, level) == AlphaResult(None, items, values)


def test_alpha_refuses_malformed_input() -> None:
    with pytest.raises(ValueError, match="items × coders"):
        krippendorff_alpha([1, 2, 3])
    with pytest.raises(ValueError, match="level"):
        alpha_from_values(np.array([0, 0]), np.array([1.0, 2.0]), "ratio")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        krippendorff_alpha([[1.0, math.inf], [2.0, 2.0]], "interval")


def _table(both_yes: int, a_yes_b_no: int, a_no_b_yes: int, both_no: int,
           ) -> tuple[list[str], list[str]]:
    a = ["yes"] * (both_yes + a_yes_b_no) + ["no"] * (a_no_b_yes + both_no)
    b = ["yes"] * both_yes + ["no"] * a_yes_b_no + ["yes"] * a_no_b_yes + ["no"] * both_no
    return a, b


@pytest.mark.parametrize(("cells", "kappa"), [
    ((20, 5, 10, 15), 0.4),          # Wikipedia, "Cohen's kappa", the 50-proposal example
    ((45, 15, 25, 15), 0.1304),      # Wikipedia, the two examples with equal agreement
    ((25, 35, 5, 35), 0.2593),
])
def test_cohen_kappa_published_examples(cells: tuple[int, int, int, int],
                                        kappa: float) -> None:
    result = cohen_kappa(*_table(*cells))
    assert result.kappa is not None and round(result.kappa, 4) == kappa
    assert result.items == sum(cells)


def test_cohen_kappa_counts_only_items_both_labelled() -> None:
    a, b = _table(20, 5, 10, 15)
    result = cohen_kappa([*a, "yes", None], [*b, None, "no"])
    assert result == KappaResult(pytest.approx(0.4), 50)  # type: ignore[arg-type]


def test_cohen_kappa_is_none_when_undefined() -> None:
    assert cohen_kappa(["a", "a", "a"], ["a", "a", "a"]) == KappaResult(None, 3)
    assert cohen_kappa(["a", None], ["b", "b"]) == KappaResult(None, 1)
    assert cohen_kappa([], []) == KappaResult(None, 0)
    with pytest.raises(ValueError, match="differ in length"):
        cohen_kappa(["a"], [])


def test_cohen_kappa_equals_sklearn_when_it_is_installed() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    a = rng.integers(0, 4, size=500)
    b = np.where(rng.random(500) < 0.6, a, rng.integers(0, 4, size=500))
    ours = cohen_kappa(a.tolist(), b.tolist()).kappa
    assert ours == pytest.approx(metrics.cohen_kappa_score(a, b), abs=1e-12)


# --- the report ---------------------------------------------------------------------

SCALES = Rubric(name="scales", target="run", questions=(
    Question(key="kind", prompt="Kind", type="categorical",
             options=tuple(Option(value=f"k{v}") for v in range(1, 6))),
    Question(key="grade", prompt="Grade", type="ordinal", required=True,
             options=tuple(Option(value=f"g{v}") for v in range(1, 6))),
    Question(key="score", prompt="Score", type="numeric"),
    Question(key="ok", prompt="OK?", type="boolean"),
    Question(key="why", prompt="Why?", type="text"),
))


def _worked_example_labels() -> list[tuple[str, str, dict[str, Any]]]:
    labels = []
    for coder, row in zip("ABCD", WORKED_EXAMPLE, strict=True):
        for unit, value in enumerate(row):
            if not math.isnan(value):
                v = int(value)
                labels.append((f"unit-{unit}", coder, {
                    "kind": f"k{v}", "grade": f"g{v}", "score": v, "ok": v > 2,
                    "why": "text is not compared"}))
    return labels


def test_report_gives_each_question_its_level_and_the_published_alphas() -> None:
    report = agreement_report(SCALES, _worked_example_labels())
    by_key = {q.key: q for q in report.questions}
    assert list(by_key) == ["kind", "grade", "score", "ok"]
    assert [by_key[k].level for k in by_key] == ["nominal", "ordinal", "interval", "nominal"]
    assert {k: round(q.alpha or 0, 3) for k, q in by_key.items() if k != "ok"} == {
        "kind": 0.743, "grade": 0.815, "score": 0.849}
    assert all(q.items == 11 for q in report.questions)
    assert (report.items, report.labels) == (12, 41)


def test_report_compares_pairs_on_the_first_required_nominal_question() -> None:
    action = default_rubrics()[0]
    assert kappa_question(action).key == "correct"  # type: ignore[union-attr]
    assert kappa_question(SCALES).key == "kind"  # type: ignore[union-attr]
    report = agreement_report(SCALES, _worked_example_labels())
    assert report.kappa_question == "kind"
    assert [(p.a, p.b) for p in report.pairs] == [
        ("A", "B"), ("A", "C"), ("A", "D"), ("B", "C"), ("B", "D"), ("C", "D")]
    a_b = report.pairs[0]
    expected = cohen_kappa(*[[None if math.isnan(v) else v for v in row]
                             for row in WORKED_EXAMPLE[:2]])
    assert (a_b.question, a_b.kappa, a_b.items) == ("kind", expected.kappa, 9)


def test_report_uses_a_reviewer_s_latest_label_and_skips_answers_that_do_not_fit() -> None:
    rubric = default_rubrics()[0]
    labels: list[tuple[str, str, dict[str, Any]]] = [
        ("a1", "ann", {"correct": "wrong", "harm": False}),
        ("a1", "ann", {"correct": "correct", "harm": False}),   # ann changed her mind
        ("a1", "bob", {"correct": "correct", "harm": False}),
        ("a2", "ann", {"correct": "minor", "harm": True}),
        ("a2", "bob", {"correct": "partly", "harm": True}),     # not an option: left out
        ("a3", "ann", {"correct": "wrong", "harm": False}),
        ("a3", "bob", {"correct": "wrong", "harm": False}),
        ("a4", "cy", {"correct": "wrong", "harm": False}),      # cy shares nothing
    ]
    report = agreement_report(rubric, labels)
    correct = report.questions[0]
    assert (correct.key, correct.alpha, correct.items) == ("correct", 1.0, 2)
    assert [(p.a, p.b, p.kappa, p.items) for p in report.pairs] == [("ann", "bob", 1.0, 2)]
    assert (report.items, report.labels) == (4, 7)


def test_report_on_no_labels_says_so_without_numbers() -> None:
    report = agreement_report(default_rubrics()[1], [])
    assert [(q.key, q.alpha, q.items) for q in report.questions] == [
        ("task_completed", None, 0), ("reasoning_sound", None, 0),
        ("cost_reasonable", None, 0)]
    assert report.pairs == () and report.kappa_question == "task_completed"
    assert report.model_dump()["questions"][0] == {
        "key": "task_completed", "level": "nominal", "alpha": None, "items": 0}
