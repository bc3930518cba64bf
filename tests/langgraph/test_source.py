"""`LangGraphSource` inside a real `Runtime` against a real `langgraph dev` server
(the review graphs; the `create_agent` ones are in test_agents.py).

Each test's console sees only its own threads (see console.py).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from countersign.domain import ActionState, DeliveryState, EditSeverity, SpanKind, Verdict
from countersign.runtime import SourceStatus
from countersign.services.actions import ActionService
from countersign.services.decisions import DecisionService
from countersign.store.migrate import open_store
from countersign_plugins.langgraph.client import LangGraphClient

from .console import Console, decide, wait_for, wait_for_async
from .server import LangGraphDevServer
from .test_client import DELETE, EMAIL, start_thread

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CONVERSATION = [
    {"type": "system", "content": "You send e-mail for the team."},
    {"type": "human", "content": "Tell Ann the report is late."},
    {"type": "ai", "content": "", "additional_kwargs": {"reasoning_content": "Ann needs mail."},
     "tool_calls": [{"id": "c1", "name": "lookup", "args": {"who": "Ann"}}],
     "usage_metadata": {"input_tokens": 30, "output_tokens": 9, "total_tokens": 39}},
    {"type": "tool", "tool_call_id": "c1", "name": "lookup", "content": "a@example.com"},
    {"type": "ai", "content": "Sending.",
     "tool_calls": [{"id": "c2", "name": "send_email", "args": EMAIL["args"]}]},
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_verdicts_reach_the_graph_with_edited_arguments(console: Console) -> None:
    inbox = await console.thread("inbox", [EMAIL])
    pair = await console.thread("hitl", [EMAIL, DELETE], messages=CONVERSATION)
    [inbox_action] = await console.pending(inbox)
    first, second = await console.pending(pair, 2)

    detail = console.actions.get(inbox_action)
    assert detail.action_class == "send_email"
    assert set(detail.allowed_verdicts) == {Verdict.APPROVE, Verdict.EDIT, Verdict.REJECT,
                                            Verdict.RESPOND, Verdict.IGNORE}
    email = console.actions.get(first)
    assert email.arguments_schema is not None and email.arguments_schema["required"] == ["to"]
    assert set(email.allowed_verdicts) == {Verdict.APPROVE, Verdict.EDIT, Verdict.REJECT,
                                           Verdict.RESPOND}
    spans = console.actions.spans(email.trace_id or "")
    assert {s.kind for s in spans} >= {SpanKind.AGENT, SpanKind.LLM, SpanKind.TOOL}
    tool = next(s for s in spans if s.kind is SpanKind.TOOL)
    assert json.loads(tool.input_json or "{}") == {"tool": "lookup", "arguments": {"who": "Ann"}}
    assert "Ann needs mail." in (next(s for s in spans if s.kind is SpanKind.LLM).output_json
                                 or "")
    assert email.span_id in {s.span_id for s in spans}

    edited = {"to": "boss@example.com", "body": "edited"}
    decide(console.store, inbox_action, Verdict.EDIT, arguments=edited,
           severity=EditSeverity.MATERIAL)
    decide(console.store, second, Verdict.REJECT, reason="not that file")
    # The decided sibling is held back until the other is decided, not sent alone.
    await wait_for(lambda: "waiting for the other 1 decision" in (
        console.decisions.outbox_error(second) or ""))
    assert console.actions.get(second).state is ActionState.DECIDED
    assert (await console.client.get_thread(pair))["status"] == "interrupted"
    decide(console.store, first, Verdict.EDIT, arguments={"to": "c@example.com"},
           severity=EditSeverity.COSMETIC)

    assert await console.values(inbox, "executed") == [{"name": "send_email", "args": edited}]
    assert await console.values(pair, "executed") == [
        {"name": "send_email", "args": {"to": "c@example.com"}}]
    assert (await console.client.get_state(pair)).values["rejected"] == [
        {"name": "delete_file", "message": "not that file"}]
    await wait_for(lambda: all(console.actions.get(a).state is ActionState.DELIVERED
                               for a in (inbox_action, first, second)))


async def test_respond_ignore_and_two_pending_interrupts(console: Console) -> None:
    ignored = await console.thread("inbox", [DELETE])
    answered = await console.thread("hitl", [EMAIL])
    pair = await console.thread("inbox_pair", [EMAIL, DELETE])
    [ignore_id] = await console.pending(ignored)
    [respond_id] = await console.pending(answered)
    left, right = await console.pending(pair, 2)
    decide(console.store, ignore_id, Verdict.IGNORE)
    decide(console.store, respond_id, Verdict.RESPOND, response="do it tomorrow")
    decide(console.store, left, Verdict.APPROVE)
    assert await console.values(ignored, "ignored") == ["delete_file"]
    assert await console.values(answered, "responded") == [
        {"name": "send_email", "message": "do it tomorrow"}]
    # One of the two interrupts was answered (keyed by its id); the other still waits.
    await wait_for(lambda: console.actions.get(left).state is ActionState.DELIVERED)
    assert console.actions.get(right).state is ActionState.PENDING
    decide(console.store, right, Verdict.REJECT, reason="no")
    assert await console.values(pair, "responded") == [{"name": "delete_file",
                                                       "message": "no"}]


async def test_resumed_behind_our_back_is_withdrawn(console: Console) -> None:
    thread_id = await console.thread("inbox", [EMAIL])
    [action_id] = await console.pending(thread_id)
    state = await console.client.get_state(thread_id)
    await console.client.resume(thread_id, "inbox", [{"type": "accept", "args": None}])
    await wait_for(lambda: console.actions.get(action_id).state is ActionState.WITHDRAWN)
    assert "resumed elsewhere" in (console.actions.get(action_id).error or "")
    assert state.interrupt_ids  # it was waiting when we looked


async def test_decided_but_resumed_elsewhere_first_is_stale(console: Console) -> None:
    thread_id = await console.thread("inbox", [EMAIL])
    [action_id] = await console.pending(thread_id)
    await console.runtime.stop()  # the console is away…
    await console.client.resume(thread_id, "inbox", [{"type": "accept", "args": None}])
    await console.values(thread_id, "executed")
    decide(console.store, action_id, Verdict.EDIT, arguments={"to": "x@example.com"},
           severity=EditSeverity.MATERIAL)
    await console.runtime.start()  # …and comes back with a verdict for a gone interrupt
    decision = await wait_for(lambda: (d if (d := DecisionService(console.store).get(
        action_id)) and d.delivery_state is not DeliveryState.PENDING else None))
    assert decision.delivery_state is DeliveryState.STALE
    assert (await console.client.get_state(thread_id)).values["executed"] == [
        {"name": "send_email", "args": EMAIL["args"]}]  # nothing of ours was sent


async def test_graph_error_is_shown_on_the_action(console: Console) -> None:
    thread_id = await console.thread("inbox", [EMAIL])
    [action_id] = await console.pending(thread_id)
    await console.client.resume(thread_id, "inbox", [{"type": "bogus", "args": None}])
    await wait_for(lambda: "unknown response type" in (console.actions.get(action_id).error
                                                        or ""))


async def test_server_restart_with_a_verdict_given_while_down(
        console: Console, langgraph_server: LangGraphDevServer) -> None:
    thread_id = await console.thread("inbox", [EMAIL])
    [action_id] = await console.pending(thread_id)
    await asyncio.to_thread(langgraph_server.stop)
    try:
        decide(console.store, action_id, Verdict.APPROVE)
        await wait_for(lambda: console.runtime.health["lg"].status is SourceStatus.FAILING)
        await wait_for(lambda: DecisionService(console.store).outbox_error(action_id))
    finally:
        await asyncio.to_thread(langgraph_server.start)
    await wait_for(lambda: console.actions.get(action_id).state is ActionState.DELIVERED,
                   timeout=40)
    assert await console.values(thread_id, "executed") == [
        {"name": "send_email", "args": EMAIL["args"]}]
    refs = [console.actions.get(r.id).source_ref
            for r in console.actions.queue_rows(states=())]
    assert len(refs) == len(set(refs)) == 1  # no duplicate after the restart
    await wait_for(lambda: console.runtime.health["lg"].status is SourceStatus.RUNNING)
    assert console.runtime.health["lg"].last_sync is not None


async def test_sources_check_against_the_live_server(
        langgraph_server: LangGraphDevServer, tmp_path: Path) -> None:
    from countersign.cli import main

    config = tmp_path / "config.toml"
    config.write_text(f'[[sources]]\nname = "live"\nplugin = "langgraph"\n'
                      f'url = "{langgraph_server.url}"\n')
    code = await asyncio.to_thread(main, ["--config", str(config), "sources", "check", "--json"])
    assert code == 0


async def test_worker_runs_a_configured_langgraph_source(
        langgraph_server: LangGraphDevServer, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    tag = uuid.uuid4().hex
    config = tmp_path / "config.toml"
    config.write_text(f'[[sources]]\nname = "prod"\nplugin = "langgraph"\n'
                      f'url = "{langgraph_server.url}"\npoll_interval = 0.2\n'
                      f'metadata = {{suite = "{tag}"}}\n')
    url = "sqlite:///" + str(tmp_path / "w.db")
    store = open_store(url)
    worker = subprocess.Popen([sys.executable, "-m", "countersign", "--store", url,
                               "--config", str(config), "worker"],
                              stderr=subprocess.PIPE, text=True)
    try:
        async with httpx.AsyncClient(base_url=langgraph_server.url, timeout=30) as http, \
                LangGraphClient(langgraph_server.url) as client:
            thread_id = await start_thread(http, "inbox", [EMAIL], {"suite": tag})
            actions = ActionService(store)
            [row] = await wait_for(actions.queue_rows)
            decide(store, row.id, Verdict.APPROVE)
            await wait_for(lambda: actions.get(row.id).state is ActionState.DELIVERED)
            state = await wait_for_async(lambda: _finished(client, thread_id))
            assert state.values["executed"] == [EMAIL]
    finally:
        worker.send_signal(signal.SIGINT)
        _, err = worker.communicate(timeout=20)
        store.dispose()
    assert worker.returncode == 0, err


async def _finished(client: LangGraphClient, thread_id: str) -> Any:
    state = await client.get_state(thread_id)
    return None if state.next else state
