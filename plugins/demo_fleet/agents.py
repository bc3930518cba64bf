"""The simulated agents: each asks through its own `Gate`, as a real agent would, and
acts on the verdict it gets.

approve / edit → execute with the verdict's arguments (the edited ones after an edit);
reject → re-plan in the same run with the reviewer's reason in a new LLM step; respond
→ the same with the reply as the user turn; expired → give up. Every verdict is
acknowledged only after the agent has acted on it, so *delivered* in the console
means the agent really acted. What each agent proposed, the ground truth and what it
executed are kept in `ActionRecord` s for the fleet's report, never sent to the gate.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel

from countersign.gate import Gate, GateVerdict, Step

from .scenarios import GroundTruth, Proposal, Scenario, escalation, replan_step, right
from .scenarios_money import build_payment, build_refund
from .scenarios_people import build_access, build_email
from .scenarios_platform import build_deploy, build_sql

#: Share of first proposals that are deliberately wrong.
WRONG_RATE = 0.25
#: First proposal, plan B, escalation; then the agent gives up.
MAX_ATTEMPTS = 3

Builder = Callable[[random.Random, int, bool], Scenario]


@dataclass(frozen=True)
class AgentProfile:
    """One kind of agent: its job, its identity at the gate, and its stories."""

    job: str
    name: str
    version: str
    #: Who gets the task when the agent escalates.
    team: str
    build: Builder


PROFILES: tuple[AgentProfile, ...] = (
    AgentProfile("refunds", "refunds-agent", "1.4.2", "support-leads", build_refund),
    AgentProfile("deployments", "deploy-agent", "2.0.1", "release-managers", build_deploy),
    AgentProfile("email", "support-mail-agent", "3.1.0", "support-leads", build_email),
    AgentProfile("payments", "payments-agent", "0.9.7", "accounts-payable", build_payment),
    AgentProfile("sql", "sql-agent", "1.2.0", "data-platform", build_sql),
    AgentProfile("access", "access-agent", "1.0.3", "it-security", build_access),
)


def agent_name(slot: int) -> str:
    """Slots past the six profiles reuse them as second instances (``sql-agent-2``)."""
    base = PROFILES[slot % len(PROFILES)].name
    return base if slot < len(PROFILES) else f"{base}-{slot // len(PROFILES) + 1}"


def scenario_for(slot: int, seed: int, index: int) -> Scenario:
    """Task ``index`` of the agent in ``slot``: a pure function of its arguments."""
    rng = random.Random(f"countersign-demo/{seed}/{agent_name(slot)}/{index}")
    wrong = rng.random() < WRONG_RATE
    return PROFILES[slot % len(PROFILES)].build(rng, index, wrong)


class ActionRecord(BaseModel):
    """One request of the fleet, with what only the simulator knows about it."""

    agent: str
    task: int
    attempt: int
    action_class: str
    arguments: dict[str, Any]
    truth: GroundTruth
    verdict: GateVerdict
    #: The arguments the agent executed with; None when it did not execute.
    executed: dict[str, Any] | None = None
    #: Filled in by the batch report's check against the store.
    mismatch: bool = False
    delivered: bool = False

    @property
    def action_id(self) -> int:
        return self.verdict.action_id


class RequestBudget:
    """How many requests the fleet may still make. Unlimited in live mode; in batch
    mode a new task only starts while every running task keeps room for a re-plan,
    so that the batch ends at exactly ``limit`` requests with re-plans included."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.requested = 0
        self.running = 0

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.requested >= self.limit

    def start_task(self) -> bool:
        if self.limit is not None and self.requested + self.running >= self.limit:
            return False
        self.requested += 1
        self.running += 1
        return True

    def replan(self) -> bool:
        if self.exhausted:
            return False
        self.requested += 1
        return True

    def end_task(self) -> None:
        self.running -= 1


class SimulatedAgent:
    """One agent of the fleet with its own gate (name and version as a real one)."""

    def __init__(self, slot: int, gate: Gate, *, seed: int, deadline_s: float, run_key: str,
                 log: logging.Logger, think: bool = False) -> None:
        self.slot = slot
        self.profile = PROFILES[slot % len(PROFILES)]
        self.name = agent_name(slot)
        self.gate = gate
        self.seed = seed
        self.deadline_s = deadline_s
        self.run_key = run_key
        self.log = log
        #: Whether to spend a re-plan's simulated duration for real (live mode).
        self.think = think
        #: Requests of this agent currently waiting for a verdict.
        self.pending = 0
        self.records: list[ActionRecord] = []
        self._next_index = 0

    def next_index(self) -> int:
        index, self._next_index = self._next_index, self._next_index + 1
        return index

    async def run_task(self, index: int, budget: RequestBudget) -> list[ActionRecord]:
        """Work on task ``index`` until it is executed, given up or out of budget.
        The caller has already counted the first request in ``budget``."""
        scenario = scenario_for(self.slot, self.seed, index)
        proposal, truth, steps = scenario.proposal, scenario.truth, list(scenario.steps)
        run = None
        records: list[ActionRecord] = []
        for attempt in range(MAX_ATTEMPTS):
            self.pending += 1
            try:
                verdict = await self.gate.request_approval(
                    proposal.action_class, proposal.arguments, schema=proposal.arguments_schema,
                    description=proposal.description, risk=proposal.risk,
                    timeout=self.deadline_s, reasoning=steps, run=run,
                    idempotency_key=f"demo/{self.run_key}/{self.name}/{index}/{attempt}",
                    acknowledge=False)
            finally:
                self.pending -= 1
            record = ActionRecord(agent=self.name, task=index, attempt=attempt,
                                  action_class=proposal.action_class,
                                  arguments=proposal.arguments, truth=truth, verdict=verdict)
            records.append(record)
            self.records.append(record)
            following = self._act(record, scenario, proposal, attempt, budget)
            await self.gate.acknowledge(verdict)
            if following is None:
                break
            proposal, truth, steps = following
            run = verdict.run
            if self.think:  # live: take the time the re-plan step says it took
                await asyncio.sleep(sum(s.duration_s for s in steps))
        return records

    def _act(self, record: ActionRecord, scenario: Scenario, proposal: Proposal, attempt: int,
             budget: RequestBudget) -> tuple[Proposal, GroundTruth, list[Step]] | None:
        """Do what the verdict says; return the next request when it means re-planning."""
        verdict = record.verdict
        if verdict.approved:
            record.executed = dict(verdict.arguments)
            self.log.info("%s executed %s (action %d%s)", self.name, proposal.action_class,
                          verdict.action_id, ", edited" if verdict.outcome == "edit" else "")
            return None
        if verdict.outcome not in ("reject", "respond"):  # expired (or ignored): give up
            self.log.info("%s gave up on %s: %s", self.name, scenario.reference, verdict.outcome)
            return None
        text = (verdict.reason if verdict.outcome == "reject" else verdict.response) or ""
        if attempt == 0 and (verdict.outcome == "reject" or record.truth.is_wrong):
            following, truth = scenario.plan_b, right(scenario.plan_b.arguments)
        elif attempt == 0:  # a reply to a right proposal: check again and stand by it
            following, truth = proposal, record.truth
        elif attempt + 1 < MAX_ATTEMPTS:
            following = escalation(scenario, self.profile.team, text)
            truth = right(following.arguments)
        else:
            self.log.info("%s gave up on %s after %d attempts", self.name, scenario.reference,
                          attempt + 1)
            return None
        if not budget.replan():
            return None
        rng = random.Random(f"countersign-demo/{self.seed}/{self.name}/{record.task}/"
                            f"replan{attempt}")
        step = replan_step(rng, scenario, proposal, following, feedback=verdict.outcome,
                           reviewer=verdict.decided_by, text=text)
        # Left to the gate, the step would be laid out to end "now", which can be before
        # the verdict it answers when the reviewer was quick; it starts at the verdict.
        return following, truth, [step.model_copy(update={"started_at": verdict.decided_at})]



class GateFactory(Protocol):
    """Opens the gate one simulated agent files its requests through."""

    def __call__(self, *, agent: str, agent_version: str, poll_interval: float) -> Gate: ...


class Fleet:
    """The agents of one demo fleet, one gate each, opened by ``open_gate`` (the source
    context's, inside the console; ``Gate`` on a store for the headless batch)."""

    def __init__(self, open_gate: GateFactory, *, agents: int, seed: int, deadline_s: float,
                 poll_interval: float, run_key: str, log: logging.Logger,
                 think: bool = False) -> None:
        self.agents = [
            SimulatedAgent(
                slot,
                open_gate(agent=agent_name(slot),
                          agent_version=PROFILES[slot % len(PROFILES)].version,
                          poll_interval=poll_interval),
                seed=seed, deadline_s=deadline_s, run_key=run_key, log=log, think=think)
            for slot in range(agents)
        ]

    @property
    def pending(self) -> int:
        return sum(a.pending for a in self.agents)

    def records(self) -> list[ActionRecord]:
        return sorted((r for a in self.agents for r in a.records), key=lambda r: r.action_id)

    def close(self) -> None:
        for agent in self.agents:
            agent.gate.close()
