"""The demo's simulated second reviewer: labels the fleet's sampled actions through the
plugin API from the ground truth, and leaves the last slot of each item to a person."""

from __future__ import annotations

import asyncio
import time

from countersign.domain import Verdict
from countersign.plugin_api import SourceContext
from countersign.services.actions import ActionService
from countersign.services.decisions import DecisionService
from countersign.services.review import ReviewService
from countersign.store.engine import Store
from countersign_plugins.demo_fleet.agents import ActionRecord
from countersign_plugins.demo_fleet.reviewer import SimulatedReviewer, simulated_answers
from countersign_plugins.demo_fleet.source import DemoFleetSource


async def _decide_all(store: Store, want: int, source: DemoFleetSource) -> None:
    """Approve every pending action until ``want`` verdicts reached the agents."""
    actions, decisions = ActionService(store), DecisionService(store)
    deadline = time.monotonic() + 60
    while source.fleet is None or len(source.fleet.records()) < want:
        assert time.monotonic() < deadline, "the agents never heard their verdicts"
        for row in await asyncio.to_thread(actions.queue_rows):
            await asyncio.to_thread(decisions.decide, row.id, Verdict.APPROVE,
                                    reviewer="operator")
        await asyncio.sleep(0.02)


def test_the_simulated_reviewer_labels_shared_items_only(sqlite_store: Store) -> None:
    review = ReviewService(sqlite_store)
    # Every approval is drawn; "all-two" items need two labels, so one is left.
    from countersign.review.sampling import SamplingRule

    review.replace_rules([SamplingRule(name="all-two", risks=("high", "critical"), rate=1.0,
                                       labels=2),
                          SamplingRule(name="all-one", rate=1.0)], actor="lead")
    source = DemoFleetSource("demo", {"agents": 6, "burst": 6, "rate_per_minute": 0,
                                      "poll_interval": 0.02, "reviewer": ""})
    context = SourceContext(sqlite_store, "demo")

    async def scenario() -> int:
        await source.start(context)
        try:
            await _decide_all(sqlite_store, 6, source)
            assert source.fleet is not None
            reviewer = SimulatedReviewer(context, source.fleet, name="demo-reviewer", seed=7,
                                         noise=0.0, every_s=1.0, log=source._log)
            given = await reviewer.review_new()
            assert await reviewer.review_new() == 0  # each action is looked at once
            return given
        finally:
            await source.stop()

    given = asyncio.run(scenario())
    items = review.items(state="all")
    shared = [i for i in items if i.needed == 2]
    single = [i for i in items if i.needed == 1]
    assert shared and single and given == len(shared)
    assert all(i.labels == 1 and i.state == "open" for i in shared)
    assert all(i.labels == 0 for i in single)  # the only slot is left to a person
    for item in shared:
        [label] = review.labels(item.id)
        assert label.reviewer == "demo-reviewer"
        assert label.answers["correct"] in ("correct", "wrong")
    # The person labels the other slot; agreement now has pairs to compare.
    for item in shared:
        review.submit(item.id, reviewer="you", answers={"correct": "correct", "harm": False})
    assert review.agreement("action-outcome").pairs[0].items == len(shared)


def test_simulated_answers_follow_the_truth_and_the_noise_is_seeded() -> None:
    from countersign.gate import GateVerdict
    from countersign_plugins.demo_fleet.scenarios import GroundTruth

    def record(wrong: bool, action_id: int) -> ActionRecord:
        truth = GroundTruth(is_wrong=wrong, problem="amount_cents 90 exceeds the total" if
                            wrong else None, correct_arguments={"amount_cents": 40})
        verdict = GateVerdict.model_construct(action_id=action_id)
        return ActionRecord(agent="a", task=0, attempt=0, action_class="refund",
                            arguments={"amount_cents": 90}, truth=truth, verdict=verdict)

    answers, correction = simulated_answers(record(True, 1), "high", seed=7, noise=0.0)
    assert answers == {"correct": "wrong", "harm": True, "failure_category": "wrong_amount",
                       "note": "amount_cents 90 exceeds the total"}
    assert correction == {"amount_cents": 40}
    assert simulated_answers(record(False, 2), "low", seed=7, noise=0.0) == (
        {"correct": "correct", "harm": False}, None)
    noisy = [simulated_answers(record(False, n), "low", seed=7, noise=0.3)[0]["correct"]
             for n in range(400)]
    assert noisy == [simulated_answers(record(False, n), "low", seed=7, noise=0.3)[0]["correct"]
                     for n in range(400)]
    assert 0.2 < sum(answer != "correct" for answer in noisy) / 400 < 0.4
