"""The demo fleet's past, so the Autonomy workspace opens on evidence that means
something (issue 13): three units whose stories the rules tell by themselves.

- **refunds-agent / issue_refund** has worked well at L1 for three weeks: the engine
  recommends its promotion to L2; a lead can confirm it.
- **support-mail-agent / send_email** earned L2 (a lead confirmed the recommended
  promotion), then regressed: its sampled auto-approvals and its high-risk verdicts
  show failures, and the demotion rules moved it back to L1 on their own.
- **sql-agent / run_sql** started three days ago: still gathering evidence.

Each past task is one of the fleet's own scenarios, built wrong or right, and every
verdict and label follows that scenario's ground truth: right → approved (labelled
correct), wrong → rejected or edited to the correct arguments (labelled wrong, harmful
when the risk is high). How often an agent was wrong in each phase is the story; which
tasks were wrong is drawn from the seed. The import goes through
`SourceContext.import_history`, so the levels, the auto-approvals, the samples and the
demotion are the core's own doing at each past moment.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

from countersign.plugin_api import (
    ActionRequest,
    AutonomyLevel,
    EditSeverity,
    PastAction,
    PastLabel,
    PastPromotion,
    PastVerdict,
    UnitKey,
    Verdict,
)

from .agents import PROFILES
from .reviewer import failure_category
from .scenarios import Scenario

DAY = 86_400.0
OPERATORS = ("ana", "ben")
LABELLER = "rita"
LEAD = "dana"


@dataclass(frozen=True)
class Phase:
    """``tasks`` tasks spread over ``days`` days, ``wrong`` of them wrong."""

    days: float
    tasks: int
    wrong: int


@dataclass(frozen=True)
class Story:
    slot: int
    phases: tuple[Phase, ...]
    #: The lead confirms a promotion to L2 an hour after this phase ends.
    promoted_after: int | None = None


STORIES = (
    Story(slot=0, phases=(Phase(days=21, tasks=120, wrong=1),)),
    Story(slot=2, phases=(Phase(days=14, tasks=90, wrong=1),
                          Phase(days=16, tasks=160, wrong=2),
                          Phase(days=12, tasks=70, wrong=21)), promoted_after=0),
    Story(slot=4, phases=(Phase(days=3, tasks=25, wrong=1),)),
)


def _request(scenario: Scenario, name: str, version: str, ref: str) -> ActionRequest:
    proposal = scenario.proposal
    return ActionRequest(agent=name, agent_version=version, action_class=proposal.action_class,
                         arguments=proposal.arguments,
                         arguments_schema=proposal.arguments_schema,
                         description=proposal.description, risk=proposal.risk, source_ref=ref)


def _verdict(scenario: Scenario, rng: random.Random, n: int) -> PastVerdict:
    operator = OPERATORS[n % len(OPERATORS)]
    after = rng.uniform(120, 1_800)
    truth = scenario.truth
    if not truth.is_wrong:
        return PastVerdict(Verdict.APPROVE, operator, after)
    if truth.correct_arguments != scenario.proposal.arguments and rng.random() < 0.5:
        return PastVerdict(Verdict.EDIT, operator, after, severity=EditSeverity.MATERIAL,
                           arguments=dict(truth.correct_arguments))
    return PastVerdict(Verdict.REJECT, operator, after,
                       reason=truth.problem or "not what the ticket asks for")


def _label(scenario: Scenario, rng: random.Random) -> PastLabel:
    truth = scenario.truth
    answers: dict[str, Any] = {
        "correct": "wrong" if truth.is_wrong else "correct",
        "harm": truth.is_wrong and scenario.proposal.risk.value in ("high", "critical"),
    }
    if truth.is_wrong:
        answers["failure_category"] = failure_category(truth.problem)
    return PastLabel(LABELLER, answers, rng.uniform(3_600, 6 * 3_600))


def demo_history(seed: int, *, end: float | None = None
                 ) -> tuple[list[PastAction], list[PastPromotion]]:
    """The past actions and promotions of the three stories, ending at ``end`` (an
    hour ago by default). Deterministic for a seed and an end."""
    end = time.time() - 3_600 if end is None else end
    actions: list[PastAction] = []
    promotions: list[PastPromotion] = []
    for story in STORIES:
        profile = PROFILES[story.slot]
        start = end - sum(p.days for p in story.phases) * DAY
        task = 0
        for index, phase in enumerate(story.phases):
            picker = random.Random(f"countersign-demo/{seed}/history/{profile.name}/{index}")
            # Mistakes fall in a phase's first 60 %: the story is the phase's error
            # rate, not a mistake in its last hour.
            wrong = set(picker.sample(range(int(phase.tasks * 0.6)), phase.wrong))
            step = phase.days * DAY / phase.tasks
            for n in range(phase.tasks):
                rng = random.Random(f"countersign-demo/{seed}/history/{profile.name}/{task}")
                scenario = profile.build(rng, 100_000 + task, n in wrong)
                at = start + (n + rng.uniform(0.05, 0.95)) * step
                ref = f"demo-history/{seed}/{profile.name}/{task}"
                actions.append(PastAction(
                    request=_request(scenario, profile.name, profile.version, ref), at=at,
                    verdict=_verdict(scenario, rng, task), label=_label(scenario, rng)))
                task += 1
            start += phase.days * DAY
            if story.promoted_after == index:
                unit = UnitKey(agent=profile.name, version=profile.version,
                               action_class=actions[-1].request.action_class)
                promotions.append(PastPromotion(unit=unit, to=AutonomyLevel.L2, lead=LEAD,
                                                at=start + 3_600))
    return actions, promotions
