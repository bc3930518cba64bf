"""Fixtures for the reviewer's loop: a real Phoenix server (see `phoenix_server.py`),
stand-in servers that fail in the ways a real one does, and example factories."""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from countersign.review.datasets import Example, example_from_decision, example_from_label

from .phoenix_server import PhoenixServer, ServerError, make_server


@pytest.fixture(scope="session")
def phoenix_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PhoenixServer]:
    """A running `phoenix serve` with authentication on (`api_key` opens it)."""
    if os.environ.get("COUNTERSIGN_SKIP_PHOENIX") == "1":
        pytest.skip("COUNTERSIGN_SKIP_PHOENIX=1")
    try:
        server = make_server(tmp_path_factory.mktemp("phoenix-work"))
        server.start()
    except ServerError as exc:
        pytest.fail(str(exc))
    sys.stderr.write(f"\narize-phoenix {server.version()} healthy in "
                     f"{server.started_in:.1f}s on {server.url}\n")
    try:
        yield server
    finally:
        server.stop()


class _Answer500(BaseHTTPRequestHandler):
    """Answers every POST with HTTP 500 and a traceback-like HTML page that echoes
    the Authorization header (a careless server does)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = ("<html><body><h1>Internal Server Error</h1><pre>Traceback: database is "
                f"locked\nrequest auth={self.headers.get('authorization')}</pre>"
                + "x" * 5000 + "</body></html>").encode()
        self.send_response(500)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass


class _AnswerOldPhoenix(BaseHTTPRequestHandler):
    """Answers as Phoenix 14 does to ``action: "update"``, which it does not know."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = b'{"detail":"\'update\' is not a valid DatasetAction"}'
        self.send_response(422)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def failing_server() -> Iterator[str]:
    """The URL of a server that answers every upload with HTTP 500."""
    yield from _serve(_Answer500)


@pytest.fixture
def old_phoenix_server() -> Iterator[str]:
    """The URL of a server that answers uploads as Phoenix 14 does."""
    yield from _serve(_AnswerOldPhoenix)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """The URL of a server that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)  # connections complete in the backlog; nothing is ever read
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def closed_port_url() -> str:
    """The URL of a port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def decision_example(i: int, **overrides: Any) -> Example:
    """A realistic decided action: a refund with a system prompt, a user request, an
    assistant turn and a tool result (the last two are dropped from the input)."""
    values: dict[str, Any] = {
        "action_id": i,
        "tool_name": "issue_refund",
        "proposed_arguments": {"order": f"A-{i}", "amount": 10 + i, "note": "naïve, \"q\""},
        "verdict": "approve",
        "messages": [
            {"role": "system", "content": "You are the billing agent."},
            {"role": "user", "content": f"Refund order A-{i}, please.\nThanks"},
            {"role": "assistant", "content": None, "tool_calls": [{"name": "lookup"}]},
            {"role": "tool", "content": "{\"paid\": 25}"},
        ],
        "risk": "high",
        "agent": "billing",
        "agent_version": "1.4.0",
        "action_class": "refund",
        "reviewer": "ana",
        "decided_at": 1_763_700_000.5 + i,
        "trace_id": f"{i:032x}",
        "span_id": f"{i + 1:016x}",
    }
    values.update(overrides)
    return example_from_decision(**values)


def label_example(i: int, **overrides: Any) -> Example:
    """A reviewer's label on a run without an action, with a text correction."""
    values: dict[str, Any] = {
        "label_id": i,
        "reviewer": "bo",
        "answers": {"task_completed": False, "note": "missed the date"},
        "rubric": "run-outcome",
        "rubric_version": 2,
        "correction": "The meeting is on 3 March.",
        "output": "The meeting is on 3 May.",
        "messages": [{"role": "user", "content": "When is the meeting?"}],
        "trace_id": f"{i + 7:032x}",
    }
    values.update(overrides)
    return example_from_label(**values)


@pytest.fixture
def make_examples() -> Callable[[int], list[Example]]:
    """``n`` mixed examples: approvals, edits, rejections and run labels."""

    def build(n: int) -> list[Example]:
        out = []
        for i in range(n):
            if i % 4 == 0:
                out.append(decision_example(i))
            elif i % 4 == 1:
                out.append(decision_example(
                    i, verdict="edit", severity="material",
                    decided_arguments={"order": f"A-{i}", "amount": 5}))
            elif i % 4 == 2:
                out.append(decision_example(i, verdict="reject", reason="duplicate refund"))
            else:
                out.append(label_example(i))
        return out

    return build


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The PostgreSQL half of a ``store_url`` test carries the ``postgres`` marker, so
    ``-m "not postgres"`` runs the SQLite half alone."""
    here = Path(__file__).parent
    for item in items:
        if here not in item.path.parents:
            continue
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("store_url") == "postgres":
            item.add_marker(pytest.mark.postgres)
