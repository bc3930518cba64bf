"""Filling a store with many decided actions fast (bulk inserts, not one request and one
verdict per action), for the sampling, dataset and bench tests; and single actions
decided the real way, for the tests of the decision path."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select, text

from countersign.domain import EditSeverity, Risk, Verdict
from countersign.services.actions import ActionRequest, ActionService
from countersign.services.decisions import DecisionService
from countersign.store.engine import Store
from countersign.store.models import ActionRow, AgentRow, DecisionRow, SpanRow

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["order", "amount"],
    "properties": {"order": {"type": "string", "pattern": "^A-[0-9]+$"},
                   "amount": {"type": "integer", "minimum": 1, "maximum": 10_000}},
    "additionalProperties": False,
}


def request(store: Store, *, risk: Risk = Risk.MEDIUM, agent: str = "billing",
            action_class: str = "refund", amount: int = 40) -> int:
    action_id, _ = ActionService(store).request(ActionRequest(
        agent=agent, agent_version="1.0", action_class=action_class,
        arguments={"order": "A-1", "amount": amount}, arguments_schema=SCHEMA,
        risk=risk, source_ref=uuid.uuid4().hex, description="refund"))
    return action_id


def decided(store: Store, verdict: Verdict = Verdict.APPROVE, *, risk: Risk = Risk.HIGH,
            edit: dict[str, Any] | None = None, **kwargs: Any) -> int:
    """One action requested and decided through `DecisionService`, as the console does."""
    action_id = request(store, risk=risk, **kwargs)
    extra: dict[str, Any] = {}
    if verdict is Verdict.EDIT:
        extra = {"arguments": edit or {"order": "A-1", "amount": 5},
                 "severity": EditSeverity.MATERIAL}
    elif verdict is Verdict.REJECT:
        extra = {"reason": "wrong order"}
    DecisionService(store).decide(action_id, verdict, reviewer="olga", **extra)
    return action_id


def seed_decided(store: Store, n: int, *, risk: str = "medium", verdict: str = "approve",
                 agent: str = "billing", version: str = "1.0", action_class: str = "refund",
                 decided_at: float | None = None, with_conversation: bool = False,
                 chunk: int = 50_000) -> list[int]:
    """``n`` actions with their decisions, inserted in bulk; their ids in order. With
    ``with_conversation`` each gets a trace with one model call (system + user)."""
    now = time.time() if decided_at is None else decided_at
    arguments = json.dumps({"order": "A-1", "amount": 40})
    schema = json.dumps(SCHEMA)
    with store.write() as session:
        agent_id = session.execute(select(AgentRow.id).where(
            AgentRow.name == agent, AgentRow.version == version)).scalar_one_or_none()
        if agent_id is None:
            row = AgentRow(external_id=agent, name=agent, version=version, created_at=now)
            session.add(row)
            session.flush()
            agent_id = row.id
        first = (session.execute(select(func.max(ActionRow.id))).scalar() or 0) + 1
        first_decision = (session.execute(select(func.max(DecisionRow.id))).scalar() or 0) + 1
        ids = list(range(first, first + n))
        for start in range(0, n, chunk):
            part = ids[start:start + chunk]
            session.execute(insert(ActionRow), [{
                "id": i, "agent_id": agent_id, "trace_id": f"{i:032x}" if with_conversation
                else None, "span_id": f"{i:016x}" if with_conversation else None,
                "action_class": action_class, "arguments_json": arguments,
                "arguments_schema_json": schema, "description": "", "risk": risk,
                "state": "auto_approved" if verdict == "auto_approve" else "decided",
                "version": 2, "source": "bulk", "source_ref": f"bulk-{i}",
                "source_meta_json": "{}", "allowed_verdicts_json": '["approve"]',
                "ingest_warnings_json": "[]", "created_at": now, "updated_at": now,
            } for i in part])
            session.execute(insert(DecisionRow), [{
                "id": first_decision + (i - first), "action_id": i, "verdict": verdict,
                "arguments_json": None, "severity": None, "reason": None,
                "response": None, "reviewer": "olga", "decided_at": now + (i - first) * 1e-3,
                "idempotency_key": f"bulk-{i}", "delivery_state": "delivered",
            } for i in part])
            if with_conversation:
                session.execute(insert(SpanRow), [{
                    "trace_id": f"{i:032x}", "span_id": f"{i:016x}", "name": "plan",
                    "kind": "llm", "start_ns": int(now * 1e9), "status_code": "ok",
                    "input_json": json.dumps({"messages": [
                        {"role": "system", "content": "You are the billing agent."},
                        {"role": "user", "content": f"Refund order A-{i}."}]}),
                    "attributes_json": "{}", "events_json": "[]", "warnings_json": "[]",
                } for i in part])
        if store.dialect == "postgresql":  # explicit ids do not move the sequences
            for table in ("actions", "decisions"):
                session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))"))
    return ids


def item_ids(store: Store, action_ids: Sequence[int]) -> dict[int, int]:
    """action id → review item id, for the actions in review."""
    from countersign.store.review_models import ReviewItemRow

    with store.read() as session:
        rows = session.execute(select(ReviewItemRow.action_id, ReviewItemRow.id).where(
            ReviewItemRow.action_id.in_(list(action_ids)))).all()
    return {a: i for a, i in rows if a is not None}
