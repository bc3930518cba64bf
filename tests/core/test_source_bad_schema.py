"""A source's action whose schema cannot be used is still filed (its agent waits), with
the refusal on it and edit withdrawn, and it never sinks the other actions of its batch."""

from __future__ import annotations

import asyncio

from countersign.domain import Verdict
from countersign.plugin_api import ActionRequest, SourceContext
from countersign.services.actions import ActionService
from countersign.store.engine import Store

GOOD = {"type": "object", "properties": {"to": {"type": "string"}}}
REMOTE = {"type": "object", "properties": {"to": {"$ref": "http://example.invalid/s.json"}}}


def test_a_bad_schema_is_shown_and_edit_withdrawn(sqlite_store: Store) -> None:
    context = SourceContext(sqlite_store, "lg")

    def req(ref: str, schema: dict[str, object]) -> ActionRequest:
        return ActionRequest(agent="mailer", action_class="send_email", arguments={"to": "a"},
                             arguments_schema=schema, source_ref=ref)

    results = asyncio.run(context.request_actions([req("ok", GOOD), req("bad", REMOTE)]))
    assert [created for _, created in results] == [True, True]
    actions = ActionService(sqlite_store)
    good, bad = (actions.get(action_id) for action_id, _ in results)
    assert good.arguments_schema == GOOD and Verdict.EDIT in good.allowed_verdicts
    assert bad.arguments_schema is None
    assert Verdict.EDIT not in bad.allowed_verdicts
    assert "http://example.invalid/s.json" in (bad.error or "")
