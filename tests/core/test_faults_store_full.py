"""A store whose disk fills in the middle of a unit of work: every path says so in one
sentence naming the store and the cause, and nothing of the unit is written.

The disk is filled with SQLite's ``PRAGMA max_page_count`` set on every connection to
the pages the store already has: the next write that needs a new page fails with
SQLITE_FULL, exactly as on a full volume, wherever it happens (a statement or the
commit).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select

from countersign.cli import main
from countersign.domain import ActionState, Verdict
from countersign.gate import Gate, StoreError, StoreUnavailable
from countersign.plugin_api import ActionRequest, SourceContext
from countersign.runtime import Runtime, SourceHealth
from countersign.services import audit
from countersign.services.actions import ActionService
from countersign.services.decisions import DecisionService
from countersign.store.migrate import open_store
from countersign.store.models import ActionRow, AuditEventRow, DecisionRow, SpanRow

from .helpers import request_refund

BIG = "x" * 300_000  # needs overflow pages wherever it is stored


class DiskFull:
    """Caps every new SQLite connection at the store's current size while on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pages: int | None = None

    def fill(self) -> None:
        with sqlite3.connect(self.path) as conn:
            self.pages = conn.execute("PRAGMA page_count").fetchone()[0]

    def free(self) -> None:
        self.pages = None

    def on_connect(self, dbapi_conn: Any, _record: Any) -> None:
        if self.pages is not None:
            dbapi_conn.execute(f"PRAGMA max_page_count = {self.pages}")


@pytest.fixture
def disk(sqlite_url: str) -> Iterator[DiskFull]:
    full = DiskFull(Path(sqlite_url.removeprefix("sqlite:///")))
    event.listen(Engine, "connect", full.on_connect)
    try:
        yield full
    finally:
        event.remove(Engine, "connect", full.on_connect)


def _counts(url: str) -> tuple[int, int, int, int]:
    """(actions, decisions, spans, audit events) as stored."""
    store = open_store(url)
    try:
        with store.read() as s:
            return tuple(  # type: ignore[return-value]
                s.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (ActionRow, DecisionRow, SpanRow, AuditEventRow))
    finally:
        store.dispose()


def _one_sentence_naming(text: str, path: Path) -> None:
    assert "Traceback" not in text and "OperationalError" not in text, text
    assert str(path) in text and "is full" in text, text
    assert len(text.strip().splitlines()) == 1, text


def test_cli_decide_on_a_full_disk_exits_3_and_writes_nothing(
        sqlite_url: str, disk: DiskFull, capsys: pytest.CaptureFixture[str]) -> None:
    store = open_store(sqlite_url)
    action_id = request_refund(store)
    store.dispose()
    before = _counts(sqlite_url)
    disk.fill()
    code = main(["--store", sqlite_url, "queue", "decide", str(action_id), "--verdict",
                 "reject", "--reason", BIG])
    err = capsys.readouterr().err
    assert code == 3, err
    _one_sentence_naming(err, disk.path)
    assert "nothing was saved" in err
    disk.free()
    assert _counts(sqlite_url) == before
    store = open_store(sqlite_url)
    try:
        assert ActionService(store).get(action_id).state is ActionState.PENDING
        assert audit.verify(store).ok
    finally:
        store.dispose()
    # With room again, the same decision goes through.
    assert main(["--store", sqlite_url, "queue", "decide", str(action_id), "--verdict",
                 "reject", "--reason", "too big"]) == 0


def test_gate_raises_store_unavailable_and_writes_nothing(sqlite_url: str,
                                                          disk: DiskFull) -> None:
    before = _counts(sqlite_url)
    disk.fill()
    gate = Gate(sqlite_url, agent="refunds-agent")
    try:
        with pytest.raises(StoreUnavailable) as caught:
            gate.request_approval_sync("upload", {"blob": BIG}, timeout=30)
    finally:
        gate.close()
    assert isinstance(caught.value, StoreError)
    _one_sentence_naming(str(caught.value), disk.path)
    disk.free()
    assert _counts(sqlite_url) == before


def test_a_decision_on_a_full_disk_leaves_the_action_pending(sqlite_url: str,
                                                             disk: DiskFull) -> None:
    store = open_store(sqlite_url)
    action_id = request_refund(store)
    store.dispose()
    disk.fill()
    store = open_store(sqlite_url)
    try:
        with pytest.raises(StoreUnavailable):
            DecisionService(store).decide(action_id, Verdict.REJECT, reviewer="ann",
                                          reason=BIG)
    finally:
        store.dispose()
    disk.free()
    store = open_store(sqlite_url)
    try:
        assert DecisionService(store).get(action_id) is None
        assert ActionService(store).get(action_id).state is ActionState.PENDING
    finally:
        store.dispose()


class BigRequester:
    """A source whose first request does not fit on the disk."""

    name = "big"

    async def start(self, context: SourceContext) -> None:
        await context.request_action(ActionRequest(
            agent="big", action_class="upload", arguments={"blob": BIG}, source_ref="b-1"))

    async def stop(self) -> None:
        pass


def test_worker_source_failing_on_a_full_disk_says_so(sqlite_url: str,
                                                      disk: DiskFull) -> None:
    disk.fill()
    store = open_store(sqlite_url)

    async def scenario() -> str:
        failed = asyncio.Event()
        errors: list[str] = []

        def on_health(health: SourceHealth) -> None:
            if health.last_error:
                errors.append(health.last_error)
                failed.set()

        runtime = Runtime(store, [BigRequester()], on_health=on_health)
        await runtime.start()
        try:
            await asyncio.wait_for(failed.wait(), timeout=30)
        finally:
            await runtime.stop()
        return errors[0]

    try:
        error = asyncio.run(scenario())
    finally:
        store.dispose()
    _one_sentence_naming(error, disk.path)
    assert error.startswith("start failed: StoreUnavailable: the store ")
    disk.free()
    assert _counts(sqlite_url)[0] == 0
