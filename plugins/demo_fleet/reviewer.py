"""A simulated second reviewer for the demo: labels the fleet's sampled actions from the
ground truth only the simulator knows, with some noise, so the Review workspace's
agreement table has something to compare the person's labels with.

It takes a slot only where the item needs more than one label (AUTONOMY.md's default
rules ask two reviewers for high and critical actions) and always leaves the last slot
to a person: the demo's Review queue stays the person's to work through.
"""

from __future__ import annotations

import logging
import random
from typing import Any

from countersign.plugin_api import SourceContext

from .agents import ActionRecord, Fleet

#: Words in a ground truth's problem that name the rubric's failure category.
_CATEGORIES = (
    (("amount", "rows", "total"), "wrong_amount"),
    (("iban", "account", "to is", "recipient"), "wrong_target"),
    (("privilege", "window", "policy"), "policy_breach"),
    (("unverified", "not the"), "hallucinated_fact"),
)
_OTHER_VERDICTS = {"correct": ("minor", "wrong"), "wrong": ("correct", "minor")}


def failure_category(problem: str | None) -> str:
    text = (problem or "").lower()
    return next((category for words, category in _CATEGORIES
                 if any(word in text for word in words)), "other")


def simulated_answers(record: ActionRecord, risk: str, *, seed: int, noise: float,
                      ) -> tuple[dict[str, Any], Any]:
    """The answers (and correction) a careful but fallible reviewer gives ``record``:
    the truth, except that with probability ``noise`` the correctness answer is
    another option, and the harm answer flips half as often. Deterministic."""
    rng = random.Random(f"countersign-demo/{seed}/review/{record.action_id}")
    truth = "wrong" if record.truth.is_wrong else "correct"
    correct = rng.choice(_OTHER_VERDICTS[truth]) if rng.random() < noise else truth
    harm = record.truth.is_wrong and risk in ("high", "critical")
    if rng.random() < noise / 2:
        harm = not harm
    answers: dict[str, Any] = {"correct": correct, "harm": harm}
    correction = None
    if correct == "wrong":
        answers["failure_category"] = failure_category(record.truth.problem)
        if record.truth.problem:
            answers["note"] = record.truth.problem
        if record.truth.is_wrong:
            correction = dict(record.truth.correct_arguments)
    return answers, correction


class SimulatedReviewer:
    """Every ``every_s`` seconds, labels the fleet's actions that were drawn for
    review since the last look (through `SourceContext.submit_label`)."""

    def __init__(self, context: SourceContext, fleet: Fleet, *, name: str, seed: int,
                 noise: float, every_s: float, log: logging.Logger) -> None:
        self.context = context
        self.fleet = fleet
        self.name = name
        self.seed = seed
        self.noise = noise
        self.every_s = every_s
        self.log = log
        self._seen: set[int] = set()

    async def review_new(self) -> int:
        """Label what is new; how many labels were given."""
        given = 0
        for record in self.fleet.records():
            if record.action_id in self._seen:
                continue
            self._seen.add(record.action_id)
            risk = (await self.context.action(record.action_id)).risk.value
            answers, correction = simulated_answers(record, risk, seed=self.seed,
                                                    noise=self.noise)
            if await self.context.submit_label(record.action_id, reviewer=self.name,
                                               answers=answers, correction=correction,
                                               keep_last_slot=True):
                given += 1
        if given:
            self.log.info("%s labelled %d sampled action(s)", self.name, given)
        return given
