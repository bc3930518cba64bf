"""Small builders shared by the core tests."""

from __future__ import annotations

import uuid
from typing import Any

from countersign.domain import Risk
from countersign.services.actions import ActionRequest, ActionService
from countersign.store.engine import Store

REFUND_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["order_id", "amount_cents"],
    "properties": {
        "order_id": {"type": "string", "pattern": "^A-[0-9]+$"},
        "amount_cents": {"type": "integer", "minimum": 1, "maximum": 12000},
        "note": {"type": "string"},
    },
    "additionalProperties": False,
}


def request_refund(store: Store, *, amount: int = 4200, agent: str = "refunds-agent",
                   deadline: float | None = None, ref: str | None = None) -> int:
    action_id, _ = ActionService(store).request(
        ActionRequest(
            agent=agent,
            agent_version="1.4.2",
            action_class="issue_refund",
            arguments={"order_id": "A-1001", "amount_cents": amount},
            arguments_schema=REFUND_SCHEMA,
            description="Refund the damaged blender",
            risk=Risk.HIGH,
            deadline=deadline,
            source_ref=ref or uuid.uuid4().hex,
        )
    )
    return action_id
