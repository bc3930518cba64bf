"""A store with realistic review work in it: the demo fleet's agents ask through the
gate, an operator decides in rotation (approve, edit, reject, respond), the default
sampling rules draw the decisions into review as they are made, and the simulated
second reviewer labels the items that need two reviewers."""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass, field
from typing import Any

from countersign.domain import EditSeverity, Verdict
from countersign.jsonio import loads
from countersign.plugin_api import SourceContext
from countersign.services.actions import ActionService
from countersign.services.decisions import AlreadyDecided, DecisionService
from countersign.store.engine import Store
from countersign_plugins.demo_fleet.reviewer import SimulatedReviewer
from countersign_plugins.demo_fleet.source import BatchReport, run_batch_detailed

ROTATION = ("approve", "approve", "edit", "approve", "reject", "approve", "respond")
_TEXT_FIELDS = ("customer_note", "note", "notes", "memo", "reason", "purpose", "justification",
                "summary", "question", "subject", "body", "message", "description")


def edited(arguments: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any] | None:
    """The arguments with one free-text field reworded, still valid for ``schema``."""
    props = schema.get("properties") or {}
    name = next((k for k in _TEXT_FIELDS if k in props and isinstance(arguments.get(k), str)),
                None)
    if name is None:
        return None
    text = f"{arguments[name]} (checked with the customer)"
    return {**arguments, name: text[: props[name].get("maxLength", len(text))]}


@dataclass
class RotatingOperator:
    """Decides every new pending action in turn (an edit falls back to approve when the
    action has no free-text field to reword)."""

    store: Store
    seen: set[int] = field(default_factory=set)
    turn: itertools.cycle[str] = field(default_factory=lambda: itertools.cycle(ROTATION))

    def decide_new(self) -> None:
        actions, decisions = ActionService(self.store), DecisionService(self.store)
        for row in actions.queue_rows():
            if row.id in self.seen:
                continue
            self.seen.add(row.id)
            choice = next(self.turn)
            detail = actions.get(row.id)
            try:
                changed = (edited(loads(detail.arguments_json), detail.arguments_schema or {})
                           if choice == "edit" else None)
                if changed is not None:
                    decisions.decide(row.id, Verdict.EDIT, reviewer="olga", arguments=changed,
                                     severity=EditSeverity.MATERIAL)
                elif choice == "reject":
                    decisions.decide(row.id, Verdict.REJECT, reviewer="olga",
                                     reason="The amount does not match the order total.")
                elif choice == "respond":
                    decisions.decide(row.id, Verdict.RESPOND, reviewer="olga",
                                     response="Check the change window with the team first.")
                else:
                    decisions.decide(row.id, Verdict.APPROVE, reviewer="olga")
            except AlreadyDecided:
                pass

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.to_thread(self.decide_new)
            await asyncio.sleep(0.02)


class _Records:
    def __init__(self, report: BatchReport) -> None:
        self._records = report.records

    def records(self) -> list[Any]:
        return list(self._records)


def fill_with_fleet(store: Store, *, actions: int = 40, agents: int = 6, seed: int = 7,
                    second_reviewer: bool = True) -> BatchReport:
    """Run the fleet until ``actions`` requests have their verdicts (see the module)."""
    operator = RotatingOperator(store)

    async def scenario() -> BatchReport:
        stop = asyncio.Event()
        deciding = asyncio.create_task(operator.run(stop))
        try:
            report = await run_batch_detailed(store, agents=agents, actions=actions, seed=seed,
                                              deadline_s=60, poll_interval=0.02)
        finally:
            stop.set()
            await deciding
        if second_reviewer:
            reviewer = SimulatedReviewer(SourceContext(store, "demo"), _Records(report),  # type: ignore[arg-type]
                                         name="demo-reviewer", seed=seed, noise=0.25,
                                         every_s=1.0, log=logging.getLogger("demo"))
            await reviewer.review_new()
        return report

    return asyncio.run(scenario())
