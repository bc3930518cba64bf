"""Labelling: answers checked against the rubric, one label per reviewer, claims where
the first writer wins, the next item for a reviewer, and what labels mean as outcomes."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from countersign.autonomy.outcomes import OutcomeKind
from countersign.domain import Risk, Verdict
from countersign.review.rubric import parse_rubric_toml, rubric_to_toml
from countersign.services.outcomes import outcome_batches, outcomes
from countersign.services.review import ReviewService
from countersign.services.review_labels import (
    AlreadyLabelled,
    InvalidAnswer,
    InvalidCorrection,
    SlotTaken,
)
from countersign.store.engine import Store
from countersign.store.models import AuditEventRow
from countersign.store.review_models import LabelRow, ReviewClaimRow

from .store_helpers import decided, item_ids, seed_decided

RIGHT = {"correct": "correct", "harm": False}


def _one_item(store: Store, *, labels: int = 1, risk: Risk = Risk.LOW) -> int:
    review = ReviewService(store)
    action = decided(store, Verdict.APPROVE, risk=risk)
    item, _ = review.add(actor="lead", action_id=action, labels=labels)
    return item


def _count(store: Store, row: type) -> int:
    with store.read() as session:
        return int(session.execute(select(func.count()).select_from(row)).scalar_one())


@pytest.mark.parametrize(("answers", "question", "says"), [
    ({"harm": False}, "correct", "an answer is required"),
    ({"correct": "fine", "harm": False}, "correct", "not an option"),
    ({"correct": "correct", "harm": "no"}, "harm", "expected true or false"),
    ({"correct": "correct", "harm": False, "note": 5}, "note", "expected text"),
    ({"correct": "correct", "harm": False, "hrm": True}, "hrm", "not a question"),
])
def test_a_refused_answer_names_the_question_and_writes_nothing(
        sqlite_store: Store, answers: dict[str, object], question: str, says: str) -> None:
    item = _one_item(sqlite_store)
    with pytest.raises(InvalidAnswer, match=says) as caught:
        ReviewService(sqlite_store).submit(item, reviewer="ana", answers=answers)
    assert caught.value.question == question and repr(question) in str(caught.value)
    assert _count(sqlite_store, LabelRow) == 0 and _count(sqlite_store, ReviewClaimRow) == 0


def test_the_same_reviewer_cannot_label_twice(store: Store) -> None:
    review = ReviewService(store)
    item = _one_item(store, labels=2)
    review.submit(item, reviewer="ana", answers=RIGHT)
    with pytest.raises(AlreadyLabelled, match="ana already labelled review item"):
        review.submit(item, reviewer="ana", answers={"correct": "wrong", "harm": False})
    label = review.submit(item, reviewer="bo", answers=RIGHT)
    assert label.rubric_version == 1
    [row] = [i for i in review.items(state="done") if i.id == item]
    assert (row.labels, row.needed, row.state) == (2, 2, "done")


def test_a_correction_is_checked_against_the_actions_schema(sqlite_store: Store) -> None:
    review = ReviewService(sqlite_store)
    item = _one_item(sqlite_store)
    with pytest.raises(InvalidCorrection, match=r"\$.amount"):
        review.submit(item, reviewer="ana", answers={"correct": "wrong", "harm": False},
                      correction={"order": "A-1", "amount": "five"})
    assert _count(sqlite_store, LabelRow) == 0
    label = review.submit(item, reviewer="ana", answers={"correct": "wrong", "harm": False},
                          correction={"order": "A-1", "amount": 5})
    assert label.correction == {"order": "A-1", "amount": 5}
    with sqlite_store.read() as session:
        event = session.execute(select(AuditEventRow).where(
            AuditEventRow.kind == "review.label")).scalar_one()
        assert json.loads(event.payload_json)["correction"] == {"amount": 5, "order": "A-1"}


def test_a_label_answers_the_newest_rubric_version(sqlite_store: Store) -> None:
    review = ReviewService(sqlite_store)
    rubric = review.rubric("action-outcome")
    extra = rubric_to_toml(rubric).replace('key = "note"', 'key = "remark"')
    saved, made = review.import_rubric(extra, actor="lead", source="mine.toml")
    assert (saved.version, made) == (2, True)
    assert review.import_rubric(extra, actor="lead", source="mine.toml")[1] is False
    assert parse_rubric_toml(review.export_rubric("action-outcome", 1)) == \
        rubric.model_copy(update={"version": 0})
    item = _one_item(sqlite_store)
    label = review.submit(item, reviewer="ana", answers={**RIGHT, "remark": "ok"})
    assert label.rubric_version == 2


def test_next_item_claims_a_slot_and_never_returns_a_labelled_item(store: Store) -> None:
    review = ReviewService(store)
    review.replace_rules([], actor="lead")
    first, second = _one_item(store, labels=2), _one_item(store, labels=1)
    shown = review.next_item("ana")
    assert shown is not None and shown.item.id == first and shown.claim is not None
    assert shown.action is not None and shown.decision is not None
    assert shown.decision.verdict is Verdict.APPROVE and shown.rubric.name == "action-outcome"
    # bo takes the other slot of the first item; cy has nothing free there.
    assert review.next_item("bo").item.id == first  # type: ignore[union-attr]
    assert review.next_item("cy").item.id == second  # type: ignore[union-attr]
    review.submit(first, reviewer="ana", answers=RIGHT)
    assert review.next_item("ana") is None  # second is cy's claim; first is labelled
    assert review.skip(second, "cy") is True
    assert review.next_item("ana").item.id == second  # type: ignore[union-attr]


def test_an_expired_claim_can_be_taken_over(sqlite_store: Store) -> None:
    from countersign.services.review_labels import claim

    item = _one_item(sqlite_store)
    with sqlite_store.write() as session:
        claim(session, item, "ana", now=time.time() - 3600)
    with sqlite_store.write() as session:
        taken = claim(session, item, "bo")
    assert taken.reviewer == "bo" and taken.slot == 0
    with pytest.raises(SlotTaken, match="by bo"):
        ReviewService(sqlite_store).submit(item, reviewer="ana", answers=RIGHT)


RACER = textwrap.dedent("""
    import json, sys, time
    from countersign.services.review import ReviewService
    from countersign.services.review_labels import SlotTaken
    from countersign.store.migrate import open_store

    url, item, reviewer, start_at = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    review = ReviewService(open_store(url))
    while time.time() < start_at:
        time.sleep(0.0005)
    try:
        review.submit(item, reviewer=reviewer, answers={"correct": "correct", "harm": False})
        print(json.dumps({"won": True}))
    except SlotTaken as exc:
        print(json.dumps({"won": False, "by": exc.by, "message": str(exc)}))
""")


def test_two_reviewers_racing_for_one_slot_one_wins_the_other_is_told_by_whom(
        store: Store, store_url: str, tmp_path: Path) -> None:
    script = tmp_path / "racer.py"
    script.write_text(RACER)
    for round_ in range(3):
        item = _one_item(store)
        start_at = time.time() + 1.5
        racers = {name: subprocess.Popen(
            [sys.executable, str(script), store_url, str(item), name, str(start_at)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for name in (f"ana{round_}", f"bo{round_}")}
        results = {}
        for name, proc in racers.items():
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            results[name] = json.loads(out)
        winners = [name for name, result in results.items() if result["won"]]
        assert len(winners) == 1, results
        [loser] = [result for result in results.values() if not result["won"]]
        assert loser["by"] == winners[0], loser
        assert winners[0] in loser["message"]
        assert ReviewService(store).labels(item)[0].reviewer == winners[0]


def test_labels_give_auto_approved_actions_their_outcomes(sqlite_store: Store) -> None:
    review = ReviewService(sqlite_store)
    review.replace_rules([], actor="lead")
    approved = decided(sqlite_store, Verdict.APPROVE, risk=Risk.LOW)
    edited = decided(sqlite_store, Verdict.EDIT, risk=Risk.LOW)
    sampled, harmful, unlabelled = seed_decided(sqlite_store, 3, risk="medium",
                                                verdict="auto_approve")
    from countersign.review.sampling import SamplingRule

    review.replace_rules([SamplingRule(name="audit", verdicts=("auto_approved",), rate=1.0,
                                       labels=2)], actor="lead")
    review.sample()
    items = item_ids(sqlite_store, [sampled, harmful, unlabelled])
    review.replace_rules([], actor="lead")
    [ad_hoc] = seed_decided(sqlite_store, 1, risk="medium", verdict="auto_approve")
    manual, _ = review.add(actor="lead", action_id=ad_hoc)
    review.submit(items[sampled], reviewer="ana", answers={"correct": "wrong", "harm": False})
    review.submit(items[harmful], reviewer="ana", answers=RIGHT)
    # A second reviewer sees harm: the most severe label gives the outcome.
    review.submit(items[harmful], reviewer="bo", answers={"correct": "wrong", "harm": True})
    review.submit(manual, reviewer="ana", answers={"correct": "minor", "harm": False})

    rows = list(outcomes(sqlite_store))
    assert [r.at for r in rows] == sorted(r.at for r in rows)
    verdicts = [r for r in rows if r.source == "verdict"]
    assert [r.kind for r in verdicts] == [OutcomeKind.APPROVE, OutcomeKind.MATERIAL_EDIT]
    assert {r.pi for r in verdicts} == {1.0}
    labels = {r.kind: r for r in rows if r.source == "label"}
    assert set(labels) == {OutcomeKind.LABEL_WRONG, OutcomeKind.LABEL_HARM,
                           OutcomeKind.LABEL_CORRECT}
    assert labels[OutcomeKind.LABEL_WRONG].pi == 1.0 and labels[OutcomeKind.LABEL_WRONG].y == 1
    harm = labels[OutcomeKind.LABEL_HARM]
    assert harm.critical and harm.reviewer == "bo"
    assert math.isnan(labels[OutcomeKind.LABEL_CORRECT].pi)  # ad hoc: no pi
    assert approved and edited  # both decided by a person: verdict outcomes only

    batches = outcome_batches(sqlite_store)
    assert sum(len(b) for b in batches.values()) == len(rows)
    medium = batches[("billing", "1.0", "refund")]
    assert int(medium.y.sum()) == sum(r.y for r in rows)
    assert int(np_nan_count(medium.pi)) == 1
    only_labels = list(outcomes(sqlite_store, since=harm.at - 1e-6))
    assert harm in only_labels


def np_nan_count(values: object) -> int:
    import numpy as np

    return int(np.isnan(np.asarray(values)).sum())


def test_agreement_over_stored_labels(sqlite_store: Store) -> None:
    review = ReviewService(sqlite_store)
    review.replace_rules([], actor="lead")
    answers = ["correct", "wrong", "correct", "minor", "wrong", "correct"]
    for n, answer in enumerate(answers):
        item = _one_item(sqlite_store, labels=2)
        review.submit(item, reviewer="ana", answers={"correct": answer, "harm": False})
        other = answer if n != 3 else "correct"
        review.submit(item, reviewer="bo", answers={"correct": other, "harm": n == 4})
    report = review.agreement("action-outcome")
    by_key = {q.key: q for q in report.questions}
    assert by_key["correct"].items == 6 and 0.5 < (by_key["correct"].alpha or 0) < 1
    [pair] = report.pairs
    assert (pair.a, pair.b, pair.items) == ("ana", "bo", 6)
