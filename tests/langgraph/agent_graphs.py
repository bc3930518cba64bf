"""Real LangChain agents for the `langgraph dev` test server (runs in the server's venv).

Copied next to `langgraph.json` by `server.make_server`; never imported by the tests
(langchain is not installed in the project's venv). Two graphs, one per interrupt
mode of `HumanInTheLoopMiddleware`: `agent_batched` (one interrupt per model turn) and
`agent_per_call` (one `tool_approval` interrupt per gated tool call, with a
`response_schema`). The model is scripted, so no network and no randomness: the user's
message is JSON ``{"calls": [{"name", "args"}, ...]}``, the model proposes exactly
those tool calls at once, and once every call has a result it answers with them.

The tools stand in for real ones with the properties the tests need:

- `send_email(to, body)` is slow (a mail server taking `SLOW_TOOL_SECONDS`), which keeps
  the thread busy long enough for a sibling's verdict to arrive meanwhile;
- `delete_file(path)` fails once for paths under ``/flaky/`` (a busy disk), which makes
  a run fail after a delivery, recoverable by resuming again. Only approve or reject is
  allowed for it, so its `response_schema` lists two decisions.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool

SLOW_TOOL_SECONDS = 0.5
_FAILED_ONCE: set[str] = set()


class ScriptedChatModel(BaseChatModel):
    """Proposes the tool calls the last user message lists, then sums up their results."""

    @property
    def _llm_type(self) -> str:
        return "countersign-scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:
        return self  # the script names the tools; nothing to bind

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None,
                  **kwargs: Any) -> ChatResult:
        turn = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
        if turn == len(messages) - 1:
            plan = json.loads(str(messages[turn].content))
            reply = AIMessage(content="", tool_calls=[
                {"name": call["name"], "args": call["args"], "id": f"call_{turn}_{i}",
                 "type": "tool_call"}
                for i, call in enumerate(plan["calls"])])
        else:
            results = [f"{m.name}: {m.content}" for m in messages[turn:]
                       if isinstance(m, ToolMessage)]
            reply = AIMessage(content="done. " + " | ".join(results))
        return ChatResult(generations=[ChatGeneration(message=reply)])


@tool
def send_email(to: str, body: str = "") -> str:
    """Send an e-mail to one address."""
    time.sleep(SLOW_TOOL_SECONDS)
    return f"sent to {to} ({len(body)} chars)"


@tool
def delete_file(path: str) -> str:
    """Delete a file."""
    if path.startswith("/flaky/") and path not in _FAILED_ONCE:
        _FAILED_ONCE.add(path)
        raise OSError(f"disk busy: {path} was not deleted")
    return f"deleted {path}"


def _agent(mode: Any) -> Any:
    return create_agent(
        ScriptedChatModel(),
        tools=[send_email, delete_file],
        middleware=[HumanInTheLoopMiddleware(
            interrupt_on={"send_email": True,
                          "delete_file": {"allowed_decisions": ["approve", "reject"]}},
            interrupt_mode=mode)],
    )


agent_batched = _agent("batched")
agent_per_call = _agent("per_call")
