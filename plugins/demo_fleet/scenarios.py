"""What one simulated task is: the reasoning that led to a proposal, the proposal, and
the ground truth only the simulator knows.

A `Scenario` is pure data built from a seeded `random.Random`, so the same seed gives
the same story. The ground truth (`GroundTruth`) and the fallback plan (`plan_b`) never
reach the gate: the operator must spot a wrong proposal from the reasoning alone, as
with a real agent. The per-job content lives in ``scenarios_*.py``.
"""

from __future__ import annotations

import random
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from countersign.domain import Risk
from countersign.gate import Message, Step

from .llm_text import compact, llm_step

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def object_schema(properties: dict[str, Any], *, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """A closed draft 2020-12 object schema; every property is required unless named."""
    return {
        "$schema": SCHEMA_DIALECT,
        "type": "object",
        "properties": properties,
        "required": [k for k in properties if k not in optional],
        "additionalProperties": False,
    }


class Proposal(BaseModel):
    """An action as the agent puts it to the gate."""

    model_config = ConfigDict(frozen=True)

    action_class: str
    arguments: dict[str, Any]
    arguments_schema: dict[str, Any]
    risk: Risk
    description: str
    #: What the agent says when it proposes this in a re-plan.
    rationale: str


class GroundTruth(BaseModel):
    """Whether a proposal is wrong, why, and what would have been right."""

    model_config = ConfigDict(frozen=True)

    is_wrong: bool = False
    #: What a careful operator should notice, in words.
    problem: str | None = None
    #: The arguments a correct agent would have proposed (the proposal's own when right).
    correct_arguments: dict[str, Any]
    #: A fragment of the reasoning steps that shows the mistake (tests look for it).
    evidence: str | None = None


class Scenario(BaseModel):
    """One task of one agent: its reasoning, proposal, truth and plan B."""

    model_config = ConfigDict(frozen=True)

    job: str
    index: int
    #: The ticket, invoice or release the task is about (for escalations).
    reference: str
    model: str
    system_prompt: str
    steps: list[Step]
    proposal: Proposal
    truth: GroundTruth
    #: After a rejection: the corrected proposal when the first was wrong, else a
    #: different, more conservative action.
    plan_b: Proposal


def right(arguments: dict[str, Any]) -> GroundTruth:
    return GroundTruth(correct_arguments=arguments)


ESCALATION_TEAMS = ("support-leads", "finance-ops", "release-managers", "data-platform",
                    "it-security", "accounts-payable")


def escalation(scenario: Scenario, team: str, why: str) -> Proposal:
    """The last resort after a second rejection: hand the task to people."""
    arguments = {
        "reference": scenario.reference,
        "team": team,
        "summary": f"I could not find an action the reviewer accepts for {scenario.reference}. "
                   f"Last feedback: {why}"[:1000],
    }
    return Proposal(
        action_class="escalate_to_human",
        arguments=arguments,
        arguments_schema=object_schema({
            "reference": {"type": "string", "minLength": 1, "maxLength": 64},
            "team": {"type": "string", "enum": list(ESCALATION_TEAMS)},
            "summary": {"type": "string", "minLength": 1, "maxLength": 1000},
        }),
        risk=Risk.LOW,
        description=f"Hand {scenario.reference} to {team}",
        rationale="Two proposals were turned down, so I am handing this task to a person "
                  "with a summary instead of guessing again.",
    )


Feedback = Literal["reject", "respond"]


def replan_step(
    rng: random.Random,
    scenario: Scenario,
    previous: Proposal,
    following: Proposal,
    *,
    feedback: Feedback,
    reviewer: str,
    text: str,
) -> Step:
    """The LLM call in which the agent reads the reviewer's reason (or reply) and
    proposes ``following``: what the Traces view shows between two requests."""
    said = Message(
        role="assistant",
        content=f"Proposing {previous.action_class}: {previous.description}.",
        tool_calls=[{"id": "call_previous", "type": "function", "function": {
            "name": previous.action_class, "arguments": compact(previous.arguments)}}],
    )
    if feedback == "reject":
        user = (f"The reviewer {reviewer} rejected {previous.action_class}. "
                f"Reason: {text}\nRe-plan: propose a corrected or different action.")
        name = "re-plan after rejection"
    else:
        user = text
        name = "re-plan after reviewer reply"
    return llm_step(
        rng, name, model=scenario.model, system=scenario.system_prompt,
        history=[said], user=user, assistant=following.rationale,
        tool_call=(following.action_class, following.arguments), tools_tokens=420,
    )
