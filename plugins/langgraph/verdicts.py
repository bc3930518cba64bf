"""Stored Countersign decisions → the `ResumeDecision`s payloads.py turns into resume
values, and the `source_meta` an action carries so it can be resumed later.

Expiry is the one verdict LangGraph has no word for. Choice (documented in the
issue): an expired action is answered "ignore" when the interrupt allows it (Agent
Inbox's allow_ignore: the agent hears that nobody acted); otherwise nothing is sent
and the graph keeps waiting — a timeout must never reach the agent as a rejection or,
worse, an approval (ARCHITECTURE.md, gate: "reported as expired, never as a
rejection"). Auto-approval is an approval. Shadow (the autonomy policy at L0) is a
rejection whose message says the action was recorded for review and must not run.
"""

from __future__ import annotations

import json
from typing import Any

from countersign.plugin_api import DecisionRecord, Verdict

from .payloads import InterruptedAction, ResumeDecision


class NotResumable(ValueError):
    """The decision cannot be sent to this interrupt (e.g. expired, no "ignore")."""


def resume_decision(spec: InterruptedAction, decision: DecisionRecord) -> ResumeDecision:
    """What to tell the graph about ``spec`` given the stored ``decision``."""
    verdict = decision.verdict
    if verdict in (Verdict.APPROVE, Verdict.AUTO_APPROVE):
        return ResumeDecision(verdict="approve")
    if verdict is Verdict.EDIT:
        arguments = json.loads(decision.arguments_json) if decision.arguments_json else None
        if not isinstance(arguments, dict):
            raise NotResumable("an edit for LangGraph needs the edited arguments as an object")
        return ResumeDecision(verdict="edit", arguments=arguments)
    if verdict is Verdict.REJECT:
        return ResumeDecision(verdict="reject", message=decision.reason)
    if verdict is Verdict.SHADOW:
        # L0 shadow: the graph must not execute the action; it hears a rejection whose
        # message says so (the policy only answers shadow where reject is allowed).
        return ResumeDecision(verdict="reject", message=decision.reason
                              or "Countersign shadow mode (L0): do not execute this action.")
    if verdict is Verdict.RESPOND:
        return ResumeDecision(verdict="respond", message=decision.response)
    if verdict is Verdict.IGNORE:
        return ResumeDecision(verdict="ignore")
    if verdict is Verdict.EXPIRE:
        if "ignore" in spec.allowed_verdicts:
            return ResumeDecision(verdict="ignore")
        raise NotResumable("expired; the graph keeps waiting (this interrupt has no "
                           "'ignore', and a timeout is never sent as a verdict)")
    raise NotResumable(f"verdict {verdict.value!r} has no LangGraph equivalent")


def source_meta(spec: InterruptedAction, *, assistant_id: str,
                graph_id: str | None) -> dict[str, Any]:
    """Everything needed to resume the action later, without asking the server."""
    return {
        "thread_id": spec.thread_id,
        "interrupt_id": spec.interrupt_id,
        "index": spec.index,
        "count_in_interrupt": spec.count_in_interrupt,
        "format": spec.format,
        "assistant_id": assistant_id,
        "graph_id": graph_id,
        "checkpoint_id": spec.checkpoint_id,
        "args_key": spec.args_key,
        "spec": spec.model_dump(mode="json"),
    }


def spec_from_meta(meta: dict[str, Any]) -> InterruptedAction:
    """The spec an action was created from (see `source_meta`)."""
    return InterruptedAction.model_validate(meta["spec"])


def sibling_refs(spec: InterruptedAction) -> list[str]:
    """source_refs of every action of the spec's interrupt, in index order."""
    return [f"{spec.thread_id}/{spec.interrupt_id}/{i}" for i in range(spec.count_in_interrupt)]
