"""`LangGraphClient` against a real `langgraph dev` server (and a few mocked answers)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from countersign_plugins.langgraph.client import (
    ConflictError,
    LangGraphClient,
    NotFoundError,
    PermanentError,
    TransientError,
)
from countersign_plugins.langgraph.payloads import (
    InterruptedAction,
    ResumeDecision,
    build_command_resume,
    build_resume_value,
)

from .server import LangGraphDevServer

EMAIL = {"name": "send_email", "args": {"to": "a@example.com", "body": "hi"}}
DELETE = {"name": "delete_file", "args": {"path": "/tmp/report.txt"}}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(langgraph_server: LangGraphDevServer) -> AsyncIterator[LangGraphClient]:
    async with LangGraphClient(langgraph_server.url, timeout=15.0) as lg:
        yield lg


@pytest.fixture
async def agent(langgraph_server: LangGraphDevServer) -> AsyncIterator[httpx.AsyncClient]:
    """Plays the agent's side: starts runs that stop at an interrupt."""
    async with httpx.AsyncClient(base_url=langgraph_server.url, timeout=30.0) as http:
        yield http


async def start_thread(http: httpx.AsyncClient, graph: str, requests: list[dict[str, Any]],
                       metadata: dict[str, Any] | None = None) -> str:
    thread_id = str((await http.post("/threads", json={"metadata": metadata or {}})).json()
                    ["thread_id"])
    wait = await http.post(f"/threads/{thread_id}/runs/wait",
                           json={"assistant_id": graph, "input": {"requests": requests}})
    assert "__interrupt__" in wait.json()
    return thread_id


async def decide(client: LangGraphClient, thread_id: str, graph: str,
                 decisions: dict[str, list[ResumeDecision]]) -> dict[str, Any]:
    """Resume the given interrupts (id → decisions in spec order); the final values."""
    state = await client.get_state(thread_id)
    specs = state.actions()
    values = {}
    for interrupt_id, chosen in decisions.items():
        group = [s for s in specs if s.interrupt_id == interrupt_id]
        values[interrupt_id] = build_resume_value(group, chosen)
    receipt = await client.resume(thread_id, graph,
                                  build_command_resume(values, state.interrupt_ids))
    result = await client.join_run(thread_id, receipt.run_id)
    assert isinstance(result, dict)
    return result


async def only_spec(client: LangGraphClient, thread_id: str) -> InterruptedAction:
    [spec] = (await client.get_state(thread_id)).actions()
    return spec


pytestmark = pytest.mark.anyio
slow = pytest.mark.slow


@slow
async def test_health_and_incremental_search(client: LangGraphClient,
                                             agent: httpx.AsyncClient) -> None:
    assert await client.health()
    suite = {"suite": uuid.uuid4().hex}
    first = [await start_thread(agent, "inbox", [EMAIL], suite) for _ in range(3)]
    result = await client.search_interrupted(metadata=suite, page_size=2)
    assert {t.thread_id for t in result.threads} == set(first)
    assert result.watermark == max(t.updated_at for t in result.threads)
    assert result.threads[0].graph_id == "inbox"
    assert result.threads[0].actions()[0].action_class == "send_email"

    newer = await start_thread(agent, "hitl", [EMAIL, DELETE], suite)
    again = await client.search_interrupted(metadata=suite, since=result.watermark)
    assert [t.thread_id for t in again.threads] == [newer]
    assert len(again.threads[0].actions()) == 2
    assert (await client.search_interrupted(graph_id="hitl", metadata=suite)).threads == (
        again.threads)
    idle = await client.search_interrupted(metadata=suite, since=again.watermark)
    assert (idle.threads, idle.watermark) == ([], again.watermark)


@slow
async def test_inbox_edit_runs_the_edited_arguments(client: LangGraphClient,
                                                    agent: httpx.AsyncClient) -> None:
    thread_id = await start_thread(agent, "inbox", [EMAIL])
    spec = await only_spec(client, thread_id)
    assert spec.format == "agent_inbox"
    assert spec.checkpoint_id
    assert set(spec.allowed_verdicts) == {"approve", "edit", "reject", "respond", "ignore"}
    edited = {"to": "b@example.com", "body": "hi", "cc": ["c@example.com"]}
    result = await decide(client, thread_id, "inbox", {
        spec.interrupt_id: [ResumeDecision(verdict="edit", arguments=edited)]})
    assert result["executed"] == [{"name": "send_email", "args": edited}]
    assert not await client.is_still_waiting(thread_id, spec.interrupt_id)


@slow
@pytest.mark.parametrize(
    ("decision", "key", "expected"),
    [
        (ResumeDecision(verdict="approve"), "executed", [EMAIL]),
        (ResumeDecision(verdict="reject", message="wrong person"), "responded",
         [{"name": "send_email", "message": "wrong person"}]),
        (ResumeDecision(verdict="respond", message="ask Bob"), "responded",
         [{"name": "send_email", "message": "ask Bob"}]),
        (ResumeDecision(verdict="ignore"), "ignored", ["send_email"]),
    ],
)
async def test_inbox_other_verdicts(client: LangGraphClient, agent: httpx.AsyncClient,
                                    decision: ResumeDecision, key: str, expected: Any) -> None:
    thread_id = await start_thread(agent, "inbox", [EMAIL])
    spec = await only_spec(client, thread_id)
    result = await decide(client, thread_id, "inbox", {spec.interrupt_id: [decision]})
    assert result[key] == expected
    assert result["executed"] == ([EMAIL] if decision.verdict == "approve" else [])


@slow
async def test_hitl_two_actions_resumed_together(client: LangGraphClient,
                                                 agent: httpx.AsyncClient) -> None:
    thread_id = await start_thread(agent, "hitl", [EMAIL, DELETE])
    email, delete = (await client.get_state(thread_id)).actions()
    assert email.interrupt_id == delete.interrupt_id
    assert (email.index, delete.index, email.count_in_interrupt) == (0, 1, 2)
    assert email.arguments_schema is not None
    assert email.arguments_schema["required"] == ["to"]
    assert email.allowed_verdicts == ("approve", "edit", "reject", "respond")
    edited = {"to": "b@example.com", "body": "hello"}
    result = await decide(client, thread_id, "hitl", {email.interrupt_id: [
        ResumeDecision(verdict="edit", arguments=edited),
        ResumeDecision(verdict="reject", message="keep the report")]})
    assert result["executed"] == [{"name": "send_email", "args": edited}]
    assert result["rejected"] == [{"name": "delete_file", "message": "keep the report"}]


@slow
async def test_hitl_approve_and_respond(client: LangGraphClient,
                                        agent: httpx.AsyncClient) -> None:
    thread_id = await start_thread(agent, "hitl", [EMAIL, DELETE])
    email, _ = (await client.get_state(thread_id)).actions()
    result = await decide(client, thread_id, "hitl", {email.interrupt_id: [
        ResumeDecision(verdict="approve"), ResumeDecision(verdict="respond", message="done")]})
    assert result["executed"] == [EMAIL]
    assert result["responded"] == [{"name": "delete_file", "message": "done"}]


@slow
async def test_two_pending_interrupts_resume_with_a_map(client: LangGraphClient,
                                                        agent: httpx.AsyncClient) -> None:
    thread_id = await start_thread(agent, "inbox_pair", [EMAIL, DELETE])
    state = await client.get_state(thread_id)
    left, right = state.actions()
    assert left.interrupt_id != right.interrupt_id
    assert len(state.interrupt_ids) == 2
    # Only one of the two decided: the other keeps waiting.
    await decide(client, thread_id, "inbox_pair", {
        right.interrupt_id: [ResumeDecision(verdict="approve")]})
    assert await client.is_still_waiting(thread_id, left.interrupt_id)
    assert not await client.is_still_waiting(thread_id, right.interrupt_id)
    result = await decide(client, thread_id, "inbox_pair", {
        left.interrupt_id: [ResumeDecision(verdict="edit", arguments={"to": "c@example.com"})]})
    assert sorted(result["executed"], key=lambda e: e["name"]) == [
        DELETE, {"name": "send_email", "args": {"to": "c@example.com"}}]


@slow
async def test_graph_error_is_exposed(client: LangGraphClient, agent: httpx.AsyncClient) -> None:
    thread_id = await start_thread(agent, "hitl", [EMAIL, DELETE])
    spec = (await client.get_state(thread_id)).actions()[0]
    # One decision for two actions: the agent raises, the server still answers 200.
    receipt = await client.resume(thread_id, "hitl", {"decisions": [{"type": "approve"}]})
    result = await client.join_run(thread_id, receipt.run_id)
    assert "does not match" in result["__error__"]["message"]
    error = await client.thread_error(thread_id)
    assert error is not None
    assert error.error == "ValueError"
    assert not await client.is_still_waiting(thread_id, spec.interrupt_id)


@slow
async def test_resumed_behind_our_back_is_stale(client: LangGraphClient,
                                                agent: httpx.AsyncClient) -> None:
    thread_id = await start_thread(agent, "inbox", [EMAIL])
    spec = await only_spec(client, thread_id)
    assert await client.is_still_waiting(thread_id, spec.interrupt_id)
    direct = await agent.post(f"/threads/{thread_id}/runs/wait", json={
        "assistant_id": "inbox", "command": {"resume": [{"type": "ignore", "args": None}]}})
    assert direct.json()["ignored"] == ["send_email"]
    assert not await client.is_still_waiting(thread_id, spec.interrupt_id)
    assert not await client.is_still_waiting(str(uuid.uuid4()), spec.interrupt_id)
    # INTEROP.md's pitfall: a stale resume is accepted (200) and changes nothing.
    receipt = await client.resume(thread_id, "inbox", [{"type": "accept", "args": None}])
    assert (await client.join_run(thread_id, receipt.run_id))["executed"] == []


@slow
async def test_resume_of_a_busy_thread_is_refused_not_queued(
        client: LangGraphClient, agent: httpx.AsyncClient) -> None:
    thread_id = await start_thread(agent, "inbox", [EMAIL])
    spec = await only_spec(client, thread_id)
    # Someone else resumes; their run is pending/running, so the thread is busy.
    await agent.post(f"/threads/{thread_id}/runs", json={
        "assistant_id": "inbox", "command": {"resume": [{"type": "ignore", "args": None}]}})
    assert not await client.is_still_waiting(thread_id, spec.interrupt_id)
    with pytest.raises(ConflictError):
        await client.resume(thread_id, "inbox", [{"type": "accept", "args": None}])


@slow
async def test_server_restart(client: LangGraphClient, agent: httpx.AsyncClient,
                              langgraph_server: LangGraphDevServer) -> None:
    thread_id = await start_thread(agent, "inbox", [EMAIL])
    spec = await only_spec(client, thread_id)
    langgraph_server.stop()
    try:
        with pytest.raises(TransientError):
            await client.health()
        with pytest.raises(TransientError):
            await client.is_still_waiting(thread_id, spec.interrupt_id)
    finally:
        langgraph_server.start()
    assert await client.health()
    # langgraph dev pickles its state on SIGINT and reloads it: the interrupt survives.
    assert await client.is_still_waiting(thread_id, spec.interrupt_id)
    result = await decide(client, thread_id, "inbox", {
        spec.interrupt_id: [ResumeDecision(verdict="edit", arguments={"to": "z@example.com"})]})
    assert result["executed"] == [{"name": "send_email", "args": {"to": "z@example.com"}}]


@slow
async def test_unknown_thread_is_permanent(client: LangGraphClient) -> None:
    with pytest.raises(NotFoundError):
        await client.get_state(str(uuid.uuid4()))


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, TransientError), (503, TransientError), (429, TransientError),
     (404, NotFoundError), (422, PermanentError), (401, PermanentError)],
)
async def test_status_codes_are_classified(status: int, error: type[Exception]) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json={"detail": "x"})

    async with LangGraphClient("http://lg.invalid", api_key="sekrit",
                               transport=httpx.MockTransport(answer)) as lg:
        with pytest.raises(error):
            await lg.get_thread("t1")
    assert seen[0].headers["x-api-key"] == "sekrit"


async def test_no_api_key_header_without_a_key() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    async with LangGraphClient("http://lg.invalid",
                               transport=httpx.MockTransport(answer)) as lg:
        assert await lg.health()
    assert "x-api-key" not in seen[0].headers


async def test_connection_refused_is_transient() -> None:
    async with LangGraphClient("http://127.0.0.1:9", timeout=2.0) as lg:
        with pytest.raises(TransientError):
            await lg.health()
