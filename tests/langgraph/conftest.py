"""The session's real `langgraph dev` server (see `server.py` for the harness)."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from .console import Console, open_console
from .server import (
    GRAPHS_SOURCE,
    LANGGRAPH_JSON,
    REQUIREMENTS,
    LangGraphDevServer,
    ServerError,
    make_server,
)

__all__ = ["GRAPHS_SOURCE", "LANGGRAPH_JSON", "REQUIREMENTS", "LangGraphDevServer"]


@pytest.fixture(scope="session")
def langgraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LangGraphDevServer]:
    """A running `langgraph dev` with the graphs `inbox`, `hitl` and `inbox_pair`."""
    if os.environ.get("COUNTERSIGN_SKIP_LANGGRAPH") == "1":
        pytest.skip("COUNTERSIGN_SKIP_LANGGRAPH=1")
    try:
        server = make_server(tmp_path_factory.mktemp("langgraph-project"))
        server.start()
    except ServerError as exc:
        pytest.fail(str(exc))
    sys.stderr.write(f"\nlanggraph dev {server.versions()} healthy in {server.started_in:.1f}s "
                     f"on {server.url}\n")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def console(langgraph_server: LangGraphDevServer,
                  tmp_path: Path) -> AsyncIterator[Console]:
    """A running console whose LangGraph source sees only this test's threads."""
    async with open_console(langgraph_server, tmp_path / "s.db", tag=uuid.uuid4().hex) as opened:
        yield opened
