"""The demo fleet as a source (live, inside the console or the worker) and as a
headless batch (for the CLI and for tests).

Live: a burst of requests on start so the Queue is not empty, then new tasks at
``rate_per_minute``, paused while ``max_pending`` of the fleet's actions wait.
Batch: exactly ``actions`` requests (re-plans included), then a report of the verdicts
the agents received, each checked against the decision stored in the console.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from countersign.domain import DecisionRecord, DeliveryState, Verdict
from countersign.gate import Gate
from countersign.plugin_api import SourceContext, Store

from .agents import ActionRecord, Fleet, RequestBudget, SimulatedAgent
from .reviewer import SimulatedReviewer

log = logging.getLogger("countersign.source.demo")

#: What the agent hears for each stored verdict (as the gate maps it).
_OUTCOME = {Verdict.APPROVE: "approve", Verdict.AUTO_APPROVE: "approve", Verdict.EDIT: "edit",
            Verdict.REJECT: "reject", Verdict.RESPOND: "respond", Verdict.IGNORE: "ignore",
            Verdict.EXPIRE: "expired", Verdict.SHADOW: "shadow"}
#: Report key per outcome. "ignore" is not an allowed verdict for fleet actions; were
#: it given, the agent gives up as on expiry, so it is counted there.
_COUNTED = {"approve": "approved", "edit": "edited", "reject": "rejected",
            "respond": "responded", "expired": "expired", "ignore": "expired",
            # shadow (L0): told not to execute; the agent gives up as on expiry
            "shadow": "expired"}


class DemoFleetConfig(BaseModel):
    """Settings of the live demo fleet (``[sources.demo]`` in the configuration)."""

    model_config = ConfigDict(extra="forbid")

    agents: int = Field(default=6, ge=1, le=60)
    seed: int = 7
    #: New tasks per minute across the fleet; 0 makes only the burst.
    rate_per_minute: float = Field(default=12.0, ge=0)
    #: No new task while this many of the fleet's requests wait for a verdict.
    max_pending: int = Field(default=40, ge=1)
    deadline_s: float = Field(default=900.0, gt=0)
    #: Tasks started at once on start, so the Queue has something to show.
    burst: int = Field(default=8, ge=0)
    #: How often each agent's gate looks for verdicts.
    poll_interval: float = Field(default=0.25, gt=0)
    #: The simulated second reviewer (reviewer.py): its name ("" turns it off), how
    #: often it looks for sampled actions, and how often it answers wrongly.
    reviewer: str = "demo-reviewer"
    review_every_s: float = Field(default=5.0, gt=0)
    review_noise: float = Field(default=0.15, ge=0, le=1)
    #: Import the fleet's past first (history.py: three weeks of verdicts, labels and
    #: level changes for three agents), so the Autonomy workspace has evidence to show.
    #: Imported once per store; later starts skip it.
    history: bool = False


class BatchReport(BaseModel):
    """The outcome of `run_batch_detailed`: counts, and every request with its truth."""

    requested: int
    approved: int = 0
    edited: int = 0
    rejected: int = 0
    responded: int = 0
    expired: int = 0
    #: Verdicts the agents received that differ from the decision stored.
    mismatches: int = 0
    #: Verdicts the console does not show as delivered although the agent acted.
    undelivered: int = 0
    records: list[ActionRecord] = Field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("requested", "approved", "edited", "rejected",
                                              "responded", "expired", "mismatches")}


def _matches(record: ActionRecord, decision: DecisionRecord | None) -> bool:
    verdict = record.verdict
    if decision is None or decision.id != verdict.decision_id:
        return False
    if _OUTCOME[decision.verdict] != verdict.outcome:
        return False
    stored = json.loads(decision.arguments_json) if decision.arguments_json else None
    expected = stored if decision.verdict is Verdict.EDIT else record.arguments
    if verdict.arguments != expected or (record.executed is not None
                                         and record.executed != verdict.arguments):
        return False
    return verdict.reason == decision.reason and verdict.response == decision.response


async def _verify(fleet: Fleet, report: BatchReport) -> None:
    """Re-read each decision from the store (through the agent's gate) and compare."""
    gates = {a.name: a.gate for a in fleet.agents}
    for record in report.records:
        decision = await asyncio.to_thread(gates[record.agent].decisions.get, record.action_id)
        record.mismatch = not _matches(record, decision)
        record.delivered = (decision is not None
                            and decision.delivery_state is DeliveryState.DELIVERED)
        setattr(report, _COUNTED[record.verdict.outcome],
                getattr(report, _COUNTED[record.verdict.outcome]) + 1)
    report.mismatches = sum(r.mismatch for r in report.records)
    report.undelivered = sum(not r.delivered for r in report.records)


async def run_batch_detailed(
    store: Store,
    *,
    agents: int,
    actions: int,
    seed: int,
    deadline_s: float = 300.0,
    concurrency: int | None = None,
    poll_interval: float = 0.05,
) -> BatchReport:
    """Run ``agents`` agents until exactly ``actions`` requests were made and each has
    its verdict (or expired); tasks go to the agents in turn. ``concurrency`` caps the
    tasks waiting at once (default: as many as the budget allows)."""
    if agents < 1 or actions < 0:
        raise ValueError("run_batch needs at least one agent and a non-negative count")
    fleet = Fleet(functools.partial(Gate, store), agents=agents, seed=seed, deadline_s=deadline_s,
                  poll_interval=poll_interval, run_key=uuid.uuid4().hex[:10], log=log)
    budget = RequestBudget(actions)
    cap = max(1, concurrency or actions)
    changed = asyncio.Event()
    running: set[asyncio.Task[None]] = set()
    failures: list[BaseException] = []

    async def work(agent: SimulatedAgent, index: int) -> None:
        try:
            await agent.run_task(index, budget)
        except Exception as exc:
            failures.append(exc)
        finally:
            budget.end_task()
            # Leave the set here, not in a done-callback: the loop below must see the
            # slot free as soon as it wakes.
            running.discard(asyncio.current_task())
            changed.set()

    started = 0
    try:
        while not budget.exhausted and not failures:
            if len(running) < cap and budget.start_task():
                agent = fleet.agents[started % agents]
                started += 1
                task = asyncio.create_task(work(agent, agent.next_index()))
                running.add(task)
                continue
            changed.clear()
            await changed.wait()
        if not failures:
            await asyncio.gather(*running)
        if failures:
            raise failures[0]
        report = BatchReport(requested=budget.requested, records=fleet.records())
        await _verify(fleet, report)
        return report
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        fleet.close()


async def run_batch(
    store: Store,
    *,
    agents: int,
    actions: int,
    seed: int,
    deadline_s: float = 300.0,
    concurrency: int | None = None,
    poll_interval: float = 0.05,
) -> dict[str, int]:
    """The CLI's headless mode: `run_batch_detailed` reduced to its counts
    (requested, approved, edited, rejected, responded, expired, mismatches)."""
    report = await run_batch_detailed(store, agents=agents, actions=actions, seed=seed,
                                      deadline_s=deadline_s, concurrency=concurrency,
                                      poll_interval=poll_interval)
    return report.counts()


class DemoFleetSource:
    """Simulated agents asking for verdicts through the gate, so the console has a
    believable queue to work on without any real agent (``countersign.sources`` →
    ``demo``). It brings actions in through the gate itself, not through the
    runtime's delivery: the agents hear their verdicts the way real gate users do."""

    run_batch = staticmethod(run_batch)

    def __init__(self, name: str = "demo",
                 config: DemoFleetConfig | dict[str, Any] | None = None) -> None:
        self.name = name
        self.config = (config if isinstance(config, DemoFleetConfig)
                       else DemoFleetConfig.model_validate(config or {}))
        self.fleet: Fleet | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._working = 0
        #: Scheduled tasks not started because ``max_pending`` requests were waiting.
        self.held_back = 0
        self._log = logging.getLogger(f"countersign.source.{name}")

    async def start(self, context: SourceContext) -> None:
        """Create the agents and start the scheduler; returns at once."""
        if self.fleet is not None:
            await self.stop()
        self._log = context.log
        cfg = self.config
        self.fleet = Fleet(context.open_gate, agents=cfg.agents, seed=cfg.seed,
                           deadline_s=cfg.deadline_s, poll_interval=cfg.poll_interval,
                           run_key=uuid.uuid4().hex[:10], log=self._log, think=True)
        self._spawn(self._schedule(self.fleet, context))
        if cfg.reviewer:
            reviewer = SimulatedReviewer(context, self.fleet, name=cfg.reviewer, seed=cfg.seed,
                                         noise=cfg.review_noise, every_s=cfg.review_every_s,
                                         log=self._log)
            self._spawn(self._review(reviewer))

    async def stop(self) -> None:
        """Cancel the scheduler and every agent's task, then close the gates."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._working = 0
        if self.fleet is not None:
            self.fleet.close()
            self.fleet = None

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _schedule(self, fleet: Fleet, context: SourceContext) -> None:
        cfg = self.config
        rng = random.Random(f"countersign-demo/{cfg.seed}/schedule")
        if cfg.history:  # before any live request: the past must come first
            await self._import_history(context)
        # The burst goes round the fleet so every agent shows in the Queue at once.
        for n in range(cfg.burst):
            self._launch(fleet.agents[n % len(fleet.agents)])
        if cfg.rate_per_minute <= 0:
            return
        while True:
            # Jittered around the mean so requests do not arrive like a metronome.
            await asyncio.sleep(60.0 / cfg.rate_per_minute * rng.uniform(0.5, 1.5))
            self._launch(fleet.agents[rng.randrange(len(fleet.agents))])

    async def _import_history(self, context: SourceContext) -> None:
        from .history import demo_history

        actions, promotions = demo_history(self.config.seed)
        try:
            report = await context.import_history(actions, promotions)
        except Exception:  # the live demo still runs without its past
            self._log.exception("importing the demo fleet's history failed")
            return
        if report.imported:
            self._log.info("imported the demo history: %d actions (%d auto-approved, %d "
                           "decided, %d labelled), %d promotions", report.imported,
                           report.auto_approved, report.decided, report.labelled,
                           report.promotions)
        for refusal in report.refused:
            self._log.warning("a promotion of the demo history was refused: %s", refusal)

    async def _review(self, reviewer: SimulatedReviewer) -> None:
        while True:
            await asyncio.sleep(reviewer.every_s)
            try:
                await reviewer.review_new()
            except Exception:  # a store hiccup must not end the demo's reviewing
                self._log.exception("the simulated reviewer %s failed", reviewer.name)

    def _launch(self, agent: SimulatedAgent) -> None:
        # Each working task has at most one request pending, so counting tasks is a
        # safe (slightly cautious) stand-in for counting pending actions.
        if self._working >= self.config.max_pending:
            self.held_back += 1
            return
        self._working += 1
        self._spawn(self._work(agent, agent.next_index()))

    async def _work(self, agent: SimulatedAgent, index: int) -> None:
        try:
            await agent.run_task(index, RequestBudget())
        except Exception:
            self._log.exception("demo agent %s failed on task %d", agent.name, index)
        finally:
            self._working -= 1
