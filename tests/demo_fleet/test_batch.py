"""The headless batch end to end against a real store, with an operator deciding
concurrently through `DecisionService`, as the console would."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

from countersign.domain import ActionState, EditSeverity, Verdict
from countersign.jsonio import loads
from countersign.services.actions import ActionService
from countersign.services.decisions import AlreadyDecided, DecisionService
from countersign.store.engine import Store
from countersign.store.migrate import open_store
from countersign_plugins.demo_fleet.source import DemoFleetSource, run_batch, run_batch_detailed

#: Free-text fields an operator may touch up without breaking the schema.
_TEXT_FIELDS = ("customer_note", "note", "notes", "memo", "reason", "purpose", "justification",
                "summary", "question", "subject")
ROTATION = ("approve", "edit", "reject", "respond", "leave")


def edited(arguments: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The arguments with one free-text field changed, still valid for ``schema``."""
    props = schema["properties"]
    name = next(k for k in _TEXT_FIELDS if k in props and k in arguments)
    text = f"{arguments[name]} (checked)"
    return {**arguments, name: text[: props[name].get("maxLength", len(text))]}


@dataclass
class Operator:
    """Decides every new pending action in turn: approve, edit, reject, respond, and
    leaves every fifth to expire."""

    store: Store
    seen: set[int] = field(default_factory=set)
    edits: dict[int, dict[str, Any]] = field(default_factory=dict)
    choices: dict[int, str] = field(default_factory=dict)
    turn: itertools.cycle[str] = field(default_factory=lambda: itertools.cycle(ROTATION))

    def decide_new(self) -> None:
        actions, decisions = ActionService(self.store), DecisionService(self.store)
        for row in actions.queue_rows():
            if row.id in self.seen:
                continue
            self.seen.add(row.id)
            choice = self.choices[row.id] = next(self.turn)
            detail = actions.get(row.id)
            try:
                if choice == "approve":
                    decisions.decide(row.id, Verdict.APPROVE, reviewer="olga")
                elif choice == "edit":
                    args = edited(loads(detail.arguments_json), detail.arguments_schema or {})
                    decisions.decide(row.id, Verdict.EDIT, reviewer="olga", arguments=args,
                                     severity=EditSeverity.COSMETIC)
                    self.edits[row.id] = args
                elif choice == "reject":
                    decisions.decide(row.id, Verdict.REJECT, reviewer="olga",
                                     reason=f"Not like this ({detail.action_class} #{row.id}).")
                elif choice == "respond":
                    decisions.decide(row.id, Verdict.RESPOND, reviewer="olga",
                                     response="Double-check the figures against the ticket.")
            except AlreadyDecided:  # expired under our feet: fine
                pass

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.to_thread(self.decide_new)
            await asyncio.sleep(0.02)


def _with_operator(store: Store, **kwargs: Any) -> tuple[Any, Operator]:
    operator = Operator(store)

    async def scenario() -> Any:
        stop = asyncio.Event()
        deciding = asyncio.create_task(operator.run(stop))
        try:
            return await run_batch_detailed(store, poll_interval=0.02, **kwargs)
        finally:
            stop.set()
            await deciding

    return asyncio.run(scenario()), operator


def test_batch_counts_add_up_and_every_verdict_matches_the_store(tmp_path: Any) -> None:
    store = open_store("sqlite:///" + str(tmp_path / "s.db"))
    try:
        report, operator = _with_operator(store, agents=6, actions=30, seed=7, deadline_s=1.5)
    finally:
        store.dispose()
    counts = report.counts()
    assert counts["requested"] == 30 == len(report.records)
    assert sum(counts[k] for k in ("approved", "edited", "rejected", "responded",
                                   "expired")) == 30
    assert min(counts[k] for k in ("approved", "edited", "rejected", "responded",
                                   "expired")) >= 3
    assert counts["mismatches"] == 0
    assert report.undelivered == 0
    # Re-plans are requests too, in the same run as the rejected proposal.
    assert any(r.attempt > 0 for r in report.records)
    by_action = {r.action_id: r for r in report.records}
    assert set(by_action) == operator.seen


def test_agents_execute_edits_and_replan_after_rejection_in_the_same_run(tmp_path: Any) -> None:
    store = open_store("sqlite:///" + str(tmp_path / "s.db"))
    try:
        report, operator = _with_operator(store, agents=3, actions=16, seed=11, deadline_s=1.0)
        actions = ActionService(store)
        for record in report.records:
            if record.verdict.outcome == "edit":
                assert record.executed == operator.edits[record.action_id]
                assert record.executed != record.arguments
            elif record.verdict.outcome == "approve":
                assert record.executed == record.arguments
            else:
                assert record.executed is None
        rejected = [r for r in report.records if r.verdict.outcome == "reject"]
        followed = 0
        for r in rejected:
            after = [x for x in report.records
                     if (x.agent, x.task, x.attempt) == (r.agent, r.task, r.attempt + 1)]
            if not after:
                continue
            followed += 1
            first, second = actions.get(r.action_id), actions.get(after[0].action_id)
            assert first.trace_id == second.trace_id
            spans = actions.spans(second.trace_id or "")
            replans = [s for s in spans if s.name == "re-plan after rejection"]
            assert any(f"#{r.action_id})" in (s.input_json or "") for s in replans)
            assert second.state in (ActionState.DELIVERED, ActionState.EXPIRED)
        assert followed >= 1
    finally:
        store.dispose()


def test_same_seed_stores_the_same_proposals_and_reasoning(tmp_path: Any) -> None:
    def content(name: str) -> list[tuple[Any, ...]]:
        store = open_store("sqlite:///" + str(tmp_path / name))
        try:
            approve_all = Operator(store, turn=itertools.cycle(["approve"]))

            async def scenario() -> dict[str, int]:
                stop = asyncio.Event()
                deciding = asyncio.create_task(approve_all.run(stop))
                try:
                    return await run_batch(store, agents=6, actions=6, seed=3, deadline_s=30)
                finally:
                    stop.set()
                    await deciding

            assert asyncio.run(scenario())["approved"] == 6
            actions = ActionService(store)
            out = []
            for row in actions.queue_rows(states=()):
                d = actions.get(row.id)
                spans = [(s.name, s.kind, s.model, s.provider, s.prompt_tokens,
                          s.completion_tokens, s.cost, s.input_json, s.output_json,
                          s.end_ns - s.start_ns if s.end_ns else None)
                         for s in actions.spans(d.trace_id or "") if s.parent_span_id]
                out.append((d.agent, d.agent_version, d.action_class, d.arguments_json,
                            d.arguments_schema, d.description, d.risk, spans))
            return sorted(out, key=lambda t: t[0])
        finally:
            store.dispose()

    assert content("a.db") == content("b.db")


def test_run_batch_is_exposed_on_the_source_class() -> None:
    assert DemoFleetSource.run_batch is run_batch
