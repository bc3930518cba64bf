"""A real `langgraph dev` server for the LangGraph source's tests and benchmarks.

Plain code (no pytest): `tests/langgraph/conftest.py` wraps it in a session fixture and
`tests/bench/bench_langgraph.py` uses it directly; failures raise `ServerError`.

The server lives in its own virtualenv, cached in
`$XDG_CACHE_HOME/countersign-test/langgraph-venv` and rebuilt when `REQUIREMENTS`
change: langgraph-api pins many libraries and must not leak into the project venv.
The graphs are small, deterministic and LLM-free; they emit the real payload shapes
(Agent Inbox `HumanInterrupt`, LangChain ≥ 1.0 HITL middleware: `args`, `args_schema`)
and record what they did, so tests can check that an edited argument was the one used.

Restart: `langgraph dev` (langgraph-runtime-inmem) pickles its state into
`.langgraph_api/` on a graceful (SIGINT) shutdown and reloads it on start, so threads
and pending interrupts survive `LangGraphDevServer.restart()` (checked with
langgraph-api 0.16.7 / runtime-inmem 0.36.7; `test_restart_keeps_threads` pins it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from ..servers import (
    ServerError as ServerError,  # the conftest and the bench catch it from here
)
from ..servers import (
    ServerProcess,
    cache_dir,
    cached_venv,
    free_port,
    requirements_digest,
    venv_bin,
)

#: The server environment, pinned (the "lock" of the LangGraph tests): the versions
#: issue 14 was found and fixed with. Changing a line builds a new cached venv beside
#: the old one, so a session still running the old server is not pulled from under.
REQUIREMENTS = (
    "langchain==1.5.2",
    "langchain-core==1.8.3",
    "langgraph==1.2.24",
    "langgraph-prebuilt==1.1.3",
    "langgraph-checkpoint==4.3.2",
    "langgraph-sdk==0.4.14",
    "langgraph-cli[inmem]==0.4.40",
    "langgraph-api==0.16.7",
    "langgraph-runtime-inmem==0.36.7",
)
START_TIMEOUT = 60.0


GRAPHS_SOURCE = '''
"""Deterministic review graphs for Countersign's tests (no LLM)."""
from __future__ import annotations

import json
import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

SCHEMAS = {"send_email": {"type": "object", "required": ["to"],
                          "properties": {"to": {"type": "string"}, "body": {"type": "string"}}}}


class State(TypedDict, total=False):
    requests: list[dict[str, Any]]
    messages: list[dict[str, Any]]  # a conversation, passed through (reasoning chain tests)
    executed: Annotated[list[dict[str, Any]], operator.add]
    rejected: Annotated[list[dict[str, Any]], operator.add]
    responded: Annotated[list[dict[str, Any]], operator.add]
    ignored: Annotated[list[str], operator.add]


def _inbox_review(request: dict[str, Any]) -> dict[str, Any]:
    reply = interrupt([{
        "action_request": {"action": request["name"], "args": request["args"]},
        "config": {"allow_accept": True, "allow_edit": True,
                   "allow_respond": True, "allow_ignore": True},
        "description": request.get("description"),
    }])[0]
    kind, args = reply["type"], reply.get("args")
    if kind == "accept":
        return {"executed": [{"name": request["name"], "args": request["args"]}]}
    if kind == "edit":
        edited = args["args"]
        if isinstance(edited, str):  # the Agent Inbox UI sends edited args as JSON text
            edited = json.loads(edited)
        return {"executed": [{"name": args["action"], "args": edited}]}
    if kind == "response":
        return {"responded": [{"name": request["name"], "message": args}]}
    if kind == "ignore":
        return {"ignored": [request["name"]]}
    raise ValueError(f"unknown response type {kind!r}")


def inbox_node(state: State) -> dict[str, Any]:
    return _inbox_review(state["requests"][0])


def left_node(state: State) -> dict[str, Any]:
    return _inbox_review(state["requests"][0])


def right_node(state: State) -> dict[str, Any]:
    return _inbox_review(state["requests"][1])


def hitl_node(state: State) -> dict[str, Any]:
    """Mirrors langchain's HumanInTheLoopMiddleware.after_model (batched mode)."""
    requests = state["requests"]
    decisions = interrupt({
        "action_requests": [
            {"name": r["name"], "args": r["args"],
             "description": f"Tool execution requires approval: {r['name']}"}
            for r in requests
        ],
        "review_configs": [
            {"action_name": r["name"],
             "allowed_decisions": ["approve", "edit", "reject", "respond"],
             "args_schema": SCHEMAS.get(r["name"])}
            for r in requests
        ],
    })["decisions"]
    if len(decisions) != len(requests):
        raise ValueError(f"Number of human decisions ({len(decisions)}) does not match "
                         f"number of hanging tool calls ({len(requests)}).")
    out: dict[str, list[Any]] = {"executed": [], "rejected": [], "responded": []}
    for request, decision in zip(requests, decisions):
        if decision["type"] == "approve":
            out["executed"].append({"name": request["name"], "args": request["args"]})
        elif decision["type"] == "edit":
            out["executed"].append(dict(decision["edited_action"]))
        elif decision["type"] == "reject":
            out["rejected"].append({"name": request["name"], "message": decision.get("message")})
        elif decision["type"] == "respond":
            out["responded"].append({"name": request["name"], "message": decision["message"]})
        else:
            raise ValueError(f"unknown decision type {decision['type']!r}")
    return out


def _build(**nodes: Any) -> Any:
    builder = StateGraph(State)
    for name, fn in nodes.items():
        builder.add_node(name, fn)
        builder.add_edge(START, name)
        builder.add_edge(name, END)
    return builder.compile()


inbox = _build(review=inbox_node)
hitl = _build(review=hitl_node)
inbox_pair = _build(left=left_node, right=right_node)  # two interrupts pending at once
'''

#: Real `create_agent` graphs (`agent_graphs.py`, copied into the project).
AGENT_GRAPHS = Path(__file__).with_name("agent_graphs.py")

LANGGRAPH_JSON = {
    "dependencies": ["."],
    "graphs": {
        **{name: f"./review_graphs.py:{name}" for name in ("inbox", "hitl", "inbox_pair")},
        **{name: f"./agent_graphs.py:{name}" for name in ("agent_batched", "agent_per_call")},
    },
}


def server_venv() -> Path:
    """The cached server virtualenv, (re)built when `REQUIREMENTS` changed (named after
    them, so a change of pins builds beside the old one instead of under a running
    session)."""
    digest = requirements_digest(REQUIREMENTS)
    return cached_venv(cache_dir() / f"langgraph-venv-{digest[:12]}", REQUIREMENTS,
                       what="LangGraph server", timeout=900)


class LangGraphDevServer(ServerProcess):
    """A `langgraph dev` process on a fixed port, which tests may stop and restart
    (SIGINT is graceful: state is pickled to .langgraph_api/)."""

    def __init__(self, venv_dir: Path, project_dir: Path, port: int) -> None:
        super().__init__(f"http://127.0.0.1:{port}", project_dir / "server.log")
        self.venv_dir, self.project_dir, self.port = venv_dir, project_dir, port

    def start(self) -> None:
        """Start the server and wait until `GET /ok` answers."""
        env = {**os.environ, "LANGGRAPH_CLI_NO_ANALYTICS": "1",
               "LANGGRAPH_NO_VERSION_CHECK": "true", "LANGSMITH_TRACING": "false",
               "PYTHONUNBUFFERED": "1"}
        command = [str(venv_bin(self.venv_dir, "langgraph")), "dev", "--no-browser",
                   "--no-reload", "--host", "127.0.0.1", "--port", str(self.port)]
        self.launch(command, cwd=self.project_dir, env=env, health="/ok",
                    timeout=START_TIMEOUT, what="langgraph dev")

    def restart(self) -> None:
        """Stop and start again on the same port (state persists, see module doc)."""
        self.stop()
        self.start()

    def versions(self) -> dict[str, str]:
        """Installed versions of the LangGraph packages in the server venv."""
        python = venv_bin(self.venv_dir, "python")
        script = ("import importlib.metadata as m, json; print(json.dumps({n: m.version(n) "
                  "for n in ('langgraph', 'langgraph-cli', 'langgraph-api', "
                  "'langgraph-runtime-inmem', 'langgraph-checkpoint')}))")
        output = subprocess.run([str(python), "-c", script], capture_output=True, text=True,
                                check=True).stdout
        return dict(json.loads(output))




def make_server(project: Path, port: int | None = None) -> LangGraphDevServer:
    """A (not yet started) server for the test graphs in the empty folder `project`."""
    (project / "review_graphs.py").write_text(GRAPHS_SOURCE)
    shutil.copyfile(AGENT_GRAPHS, project / "agent_graphs.py")
    (project / "langgraph.json").write_text(json.dumps(LANGGRAPH_JSON))
    shutil.rmtree(project / ".langgraph_api", ignore_errors=True)
    return LangGraphDevServer(server_venv(), project, port or free_port())
