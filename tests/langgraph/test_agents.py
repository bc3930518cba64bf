"""Real LangChain agents (`create_agent` + `HumanInTheLoopMiddleware`) served by a real
`langgraph dev`, in both interrupt modes, reviewed through the console (issue 14).

The agents (agent_graphs.py) propose two tool calls at once: `send_email`, slow, with
every decision allowed, and `delete_file`, approve or reject only, failing once for a
``/flaky/`` path. ``batched`` raises one interrupt for both calls; ``per_call`` one
``tool_approval`` interrupt per call, with a ``response_schema``.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from countersign.domain import ActionState, DeliveryState, EditSeverity, Verdict
from countersign.services.decisions import DecisionService, InvalidArguments
from countersign.store.migrate import open_store
from countersign.store.models import AuditEventRow
from countersign_plugins.langgraph.client import ThreadState

from .console import Console, decide, open_console, wait_for, wait_for_async
from .server import LangGraphDevServer

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

MODES = ["agent_batched", "agent_per_call"]
EMAIL_SCHEMA_REQUIRED = ["to"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def calls(path: str = "/tmp/report.txt") -> list[dict[str, Any]]:
    return [{"name": "send_email", "args": {"to": "ann@example.com", "body": "hi"}},
            {"name": "delete_file", "args": {"path": path}}]


async def email_and_delete(console: Console, thread_id: str) -> tuple[int, int]:
    """The thread's two actions, (send_email, delete_file), once both are pending."""
    ids = await console.pending(thread_id, 2)
    by_class = {console.actions.get(i).action_class: i for i in ids}
    return by_class["send_email"], by_class["delete_file"]


def tool_results(state: ThreadState) -> dict[str, list[str]]:
    """Tool name → the contents of its results in the thread's messages."""
    out: dict[str, list[str]] = {}
    for message in state.values.get("messages", []):
        if message.get("type") == "tool":
            out.setdefault(message["name"], []).append(str(message["content"]))
    return out


def _decide_in_process(url: str, action_id: int, verdict: str, kwargs: dict[str, Any],
                       reviewer: str, barrier: Any) -> None:
    """A second reviewer's process: waits for the others, then decides."""
    store = open_store(url)
    try:
        barrier.wait(timeout=30)
        DecisionService(store).decide(action_id, Verdict(verdict), reviewer=reviewer, **kwargs)
    finally:
        store.dispose()


@pytest.mark.parametrize("graph", MODES)
async def test_both_actions_decided_at_the_same_moment_settle_the_thread(
        graph: str, langgraph_server: LangGraphDevServer, tmp_path: Path) -> None:
    """Two reviewers' processes decide the two actions at once, while two consoles (a
    GUI and a worker, say) deliver from the same store: the thread runs both tools,
    each once, and ends idle — no verdict is taken for stale, none is lost."""
    tag = uuid.uuid4().hex
    db = tmp_path / "shared.db"
    async with open_console(langgraph_server, db, tag=tag) as console, \
            open_console(langgraph_server, db, tag=tag):
        thread_id = await console.agent_thread(graph, calls())
        email, delete = await email_and_delete(console, thread_id)

        spawn = multiprocessing.get_context("spawn")
        barrier = spawn.Barrier(2)
        url = "sqlite:///" + str(db)
        deciders = [
            spawn.Process(target=_decide_in_process, args=(
                url, email, "edit", {"arguments": {"to": "boss@example.com", "body": "hi"},
                                     "severity": EditSeverity.MATERIAL}, "ann", barrier)),
            spawn.Process(target=_decide_in_process, args=(
                url, delete, "approve", {}, "bob", barrier)),
        ]
        for process in deciders:
            process.start()
        for process in deciders:
            await asyncio.to_thread(process.join, 60)
            assert process.exitcode == 0

        state = await console.finished(thread_id)
        results = tool_results(state)
        assert len(results["send_email"]) == 1  # the edited call, run once
        assert "sent to boss@example.com" in results["send_email"][0]
        assert results["delete_file"] == ["deleted /tmp/report.txt"]
        for action_id in (email, delete):
            assert (await console.settled(action_id)).delivery_state is DeliveryState.DELIVERED
            assert console.actions.get(action_id).state is ActionState.DELIVERED


async def test_per_call_verdict_given_while_a_sibling_resume_runs(console: Console) -> None:
    """The second verdict arrives while the first one's resume is running (the thread
    is busy, a resume would be refused with 409): it is sent once the thread waits
    again, instead of being taken for stale."""
    thread_id = await console.agent_thread("agent_per_call", calls())
    email, delete = await email_and_delete(console, thread_id)
    decide(console.store, email, Verdict.APPROVE)

    async def busy() -> bool:
        return (await console.client.get_thread(thread_id))["status"] == "busy"

    await wait_for_async(busy)
    decide(console.store, delete, Verdict.APPROVE)
    state = await console.finished(thread_id)
    assert tool_results(state) == {"send_email": ["sent to ann@example.com (2 chars)"],
                                   "delete_file": ["deleted /tmp/report.txt"]}
    for action_id in (email, delete):
        assert (await console.settled(action_id)).delivery_state is DeliveryState.DELIVERED


async def test_per_call_schema_and_verdicts_come_from_the_response_schema(
        console: Console) -> None:
    """An edit that breaks the tool's argument schema is refused by the console before
    anything is sent; a valid one runs with the edited arguments."""
    thread_id = await console.agent_thread("agent_per_call", calls())
    email, delete = await email_and_delete(console, thread_id)

    detail = console.actions.get(email)
    assert detail.arguments_schema is not None
    assert detail.arguments_schema["required"] == EMAIL_SCHEMA_REQUIRED
    assert detail.arguments_schema["properties"]["to"]["type"] == "string"
    assert set(detail.allowed_verdicts) == {Verdict.APPROVE, Verdict.EDIT, Verdict.REJECT,
                                            Verdict.RESPOND}
    deleting = console.actions.get(delete)
    assert set(deleting.allowed_verdicts) == {Verdict.APPROVE, Verdict.REJECT}
    assert deleting.arguments_schema is None

    with pytest.raises(InvalidArguments) as refused:
        decide(console.store, email, Verdict.EDIT, arguments={"to": 1},
               severity=EditSeverity.MATERIAL)
    assert refused.value.problems[0].path == "$.to"
    with pytest.raises(InvalidArguments, match="'to' is a required property"):
        decide(console.store, email, Verdict.EDIT, arguments={"body": "no address"},
               severity=EditSeverity.MATERIAL)
    assert console.actions.get(email).state is ActionState.PENDING
    assert console.decisions.get(email) is None
    runs = (await console.http.get(f"/threads/{thread_id}/runs")).json()
    assert len(runs) == 1  # only the agent's own run: nothing was sent

    decide(console.store, email, Verdict.EDIT, arguments={"to": "cc@example.com"},
           severity=EditSeverity.COSMETIC)
    decide(console.store, delete, Verdict.REJECT, reason="keep the report")
    state = await console.finished(thread_id)
    results = tool_results(state)
    assert any("sent to cc@example.com" in r for r in results["send_email"])
    assert results["delete_file"] == ["User rejected the tool call for `delete_file` with "
                                      "reason: keep the report"]


async def test_per_call_failed_run_keeps_the_other_action_answerable(
        console: Console) -> None:
    """The delivered tool fails (a busy disk): the error is shown on both actions, the
    other one stays pending, and its verdict resumes the thread, which re-runs the
    failed step and ends with both tools' results."""
    flaky = f"/flaky/{uuid.uuid4().hex}"
    thread_id = await console.agent_thread("agent_per_call", calls(flaky))
    email, delete = await email_and_delete(console, thread_id)

    decide(console.store, delete, Verdict.APPROVE)
    await wait_for(lambda: "disk busy" in (console.actions.get(email).error or ""))
    waiting = console.actions.get(email)
    assert waiting.state is ActionState.PENDING
    assert "still waits on this action" in (waiting.error or "")
    failed = console.actions.get(delete)
    assert failed.state is ActionState.DELIVERED
    assert "run failed after this verdict was delivered" in (failed.error or "")
    assert "disk busy" in (failed.error or "")
    assert (await console.client.get_thread(thread_id))["status"] == "error"

    decide(console.store, email, Verdict.APPROVE)
    state = await console.finished(thread_id)
    assert tool_results(state) == {"send_email": ["sent to ann@example.com (2 chars)"],
                                   "delete_file": [f"deleted {flaky}"]}
    assert (await console.settled(email)).delivery_state is DeliveryState.DELIVERED


async def test_batched_failed_run_is_shown_on_the_delivered_actions(
        console: Console) -> None:
    flaky = f"/flaky/{uuid.uuid4().hex}"
    thread_id = await console.agent_thread("agent_batched", calls(flaky))
    email, delete = await email_and_delete(console, thread_id)
    decide(console.store, email, Verdict.APPROVE)
    decide(console.store, delete, Verdict.APPROVE)
    for action_id in (email, delete):
        await wait_for(lambda a=action_id: "disk busy" in (console.actions.get(a).error or ""))
        assert console.actions.get(action_id).state is ActionState.DELIVERED


def requeued_events(console: Console, decision_id: int) -> int:
    with console.store.read() as session:
        return len(session.execute(select(AuditEventRow.id).where(
            AuditEventRow.kind == "delivery.requeued",
            AuditEventRow.subject_id == str(decision_id))).all())


async def test_an_interrupt_an_older_version_withdrew_is_answerable_after_resync(
        console: Console) -> None:
    """As the issue's second failure left it: an older Countersign *withdrew* an action
    whose interrupt still waits on the server (the sibling of a delivery whose run
    failed). After a restart the resync offers that interrupt again: the same action
    is pending again, and its verdict settles the thread."""
    thread_id = await console.agent_thread("agent_per_call", calls())
    email, delete = await email_and_delete(console, thread_id)
    await console.runtime.stop()
    assert console.actions.withdraw(delete, reason="the thread's run failed",
                                    actor="source:lg")
    assert console.actions.get(delete).state is ActionState.WITHDRAWN

    await console.runtime.start()
    await wait_for(lambda: console.actions.get(delete).state is ActionState.PENDING)
    decide(console.store, email, Verdict.APPROVE)
    decide(console.store, delete, Verdict.APPROVE)
    state = await console.finished(thread_id)
    assert tool_results(state) == {"send_email": ["sent to ann@example.com (2 chars)"],
                                   "delete_file": ["deleted /tmp/report.txt"]}
    assert (await console.settled(delete)).delivery_state is DeliveryState.DELIVERED


async def test_stranded_thread_from_an_older_version_is_repaired_at_resync(
        console: Console) -> None:
    """As an older Countersign left it: both actions decided, the first delivered, the
    second marked stale while the first one's resume was running; the thread waits on
    the second interrupt for ever. The next resync sends that verdict, once."""
    thread_id = await console.agent_thread("agent_per_call", calls())
    email, delete = await email_and_delete(console, thread_id)
    await console.runtime.stop()
    first = decide(console.store, email, Verdict.APPROVE)
    second = decide(console.store, delete, Verdict.APPROVE)
    interrupt_id = console.actions.get(email).source_ref.split("/")[1]
    receipt = await console.client.resume(thread_id, "agent_per_call",
                                          {interrupt_id: {"type": "approve"}})
    console.decisions.mark_delivered(first.id, actor="source:lg")
    console.decisions.mark_stale(second.id, actor="source:lg", why=(
        "the thread no longer waits on this interrupt (resumed elsewhere); nothing was sent"))
    await console.client.join_run(thread_id, receipt.run_id)
    stranded = await console.client.get_thread(thread_id)
    assert stranded["status"] == "interrupted"
    assert console.actions.get(delete).state is ActionState.DECIDED

    await console.runtime.start()
    state = await console.finished(thread_id)
    assert tool_results(state) == {"send_email": ["sent to ann@example.com (2 chars)"],
                                   "delete_file": ["deleted /tmp/report.txt"]}
    assert (await console.settled(delete)).delivery_state is DeliveryState.DELIVERED
    assert console.actions.get(delete).state is ActionState.DELIVERED
    assert requeued_events(console, second.id) == 1
    # Resyncs after the repair find nothing stranded and send nothing.
    await console.source.sync(full=True)
    await console.source.sync(full=True)
    assert requeued_events(console, second.id) == 1
    runs = (await console.http.get(f"/threads/{thread_id}/runs")).json()
    assert len(runs) == 3  # the agent's, the direct resume, and the repair
