"""Issue 10's trace faults, each reproduced: lone surrogates inside message JSON over
HTTP with concurrent senders, a span the store refuses, import-otlp of such a file (on
SQLite and PostgreSQL), the gzip and nesting bombs beside a good request, and ingest
workers outliving a killed ``countersign worker``."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from countersign.cli import main
from countersign.services.traces import TraceService
from countersign.store.engine import Store

from . import TRACE, attr, body, span
from .test_receiver import receiving

JSON_HEADERS = {"content-type": "application/json"}
#: A lone high surrogate inside a JSON text attribute: valid JSON, not valid text.
SURROGATE_MESSAGES = '[{"role": "user", "parts": [{"type": "text", "content": "hi \\ud83d"}]}]'


def surrogate_span(span_id: str) -> dict[str, Any]:
    return span(span_id, name="chat", attributes=[
        attr("gen_ai.operation.name", {"stringValue": "chat"}),
        attr("gen_ai.input.messages", {"stringValue": SURROGATE_MESSAGES}),
        attr("input.value", {"stringValue": '{"q": "\\udcff"}'}),
    ])


def test_concurrent_senders_with_surrogate_spans_lose_nothing(sqlite_store: Store) -> None:
    senders = 201

    async def scenario() -> None:
        async with receiving(sqlite_store) as receiver, httpx.AsyncClient(
            timeout=60, limits=httpx.Limits(max_connections=senders)
        ) as client:
            responses = await asyncio.gather(*(
                client.post(receiver.url, headers=JSON_HEADERS, content=body(
                    surrogate_span(f"{n:08x}00000001"), span(f"{n:08x}00000002")))
                for n in range(1, senders + 1)))
            assert [r.status_code for r in responses] == [200] * senders
            assert all(r.json() == {} for r in responses)  # nothing rejected

    asyncio.run(scenario())
    spans = TraceService(sqlite_store).run_spans(TRACE)
    assert len(spans) == 2 * senders
    bad = next(s for s in spans if s.span_id == "0000000100000001")
    assert bad.input_json is not None and "hi \\\\ud83d" in bad.input_json  # visible
    assert json.loads(bad.input_json)["messages"][0]["content"] == "hi \\ud83d"
    assert "not valid UTF-8" in bad.warnings_json


def _poison(store: Store) -> None:
    """A store that refuses one span (as a constraint or a driver error would)."""
    with store.write() as session:
        if store.is_sqlite:
            session.execute(text(
                "CREATE TRIGGER poison BEFORE INSERT ON spans WHEN NEW.name = 'poison' "
                "BEGIN SELECT RAISE(ABORT, 'poisoned span'); END"))
        else:
            session.execute(text(
                "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN IF NEW.name = 'poison' "
                "THEN RAISE EXCEPTION 'poisoned span'; END IF; RETURN NEW; END $$ "
                "LANGUAGE plpgsql"))
            session.execute(text("CREATE TRIGGER poison BEFORE INSERT ON spans FOR EACH ROW "
                                 "EXECUTE FUNCTION poison()"))


def test_a_refused_span_is_named_and_costs_nobody_else(store: Store) -> None:
    _poison(store)

    async def scenario() -> None:
        async with receiving(store) as receiver, httpx.AsyncClient(timeout=60) as client:
            bad = client.post(receiver.url, headers=JSON_HEADERS, content=body(
                span("a000000000000001"), span("a000000000000002", name="poison"),
                surrogate_span("a000000000000003")))
            others = [client.post(receiver.url, headers=JSON_HEADERS,
                                  content=body(span(f"b{n:015x}"))) for n in range(1, 21)]
            first, *rest = await asyncio.gather(bad, *others)
            assert first.status_code == 200
            partial = first.json()["partialSuccess"]
            assert partial["rejectedSpans"] == "1"
            assert "a000000000000002" in partial["errorMessage"]
            assert "poisoned span" in partial["errorMessage"]
            assert all(r.status_code == 200 and r.json() == {} for r in rest)

    asyncio.run(scenario())
    stored = {s.span_id for s in TraceService(store).run_spans(TRACE)}
    assert "a000000000000002" not in stored
    assert {"a000000000000001", "a000000000000003"} <= stored
    assert len(stored) == 22  # every acknowledged span is there


def test_import_otlp_stores_the_good_spans_and_exits_cleanly(
    store: Store, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _poison(store)
    path = tmp_path / "mixed.json"
    path.write_bytes(body(span("c000000000000001"), surrogate_span("c000000000000002"),
                          span("c000000000000003", name="poison")))
    code = main(["--store", store_url, "import-otlp", "--json", str(path)])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (summary["added"], summary["rejected"]) == (2, 1)
    assert "c000000000000003" in summary["reasons"][0]
    assert {s.span_id for s in TraceService(store).run_spans(TRACE)} == {
        "c000000000000001", "c000000000000002"}


# -- bombs ---------------------------------------------------------------------------


async def _good_beside(receiver: Any, client: httpx.AsyncClient, bomb: bytes,
                       headers: dict[str, str]) -> httpx.Response:
    """Post the bomb, then a good request while the bomb is being worked on; the good
    one must be answered first, and the bomb refused (the timeout is generous: the
    old code took 35 s on such a body)."""
    bombing = asyncio.create_task(client.post(receiver.url, content=bomb, headers=headers))
    while receiver.stats.requests < 1:  # the bomb has reached the receiver
        await asyncio.sleep(0.001)
    good = asyncio.create_task(client.post(receiver.url, headers=JSON_HEADERS,
                                           content=body(span("d000000000000001"))))
    done, _ = await asyncio.wait({bombing, good}, return_when=asyncio.FIRST_COMPLETED)
    assert good in done and good.result().status_code == 200
    return await asyncio.wait_for(bombing, timeout=20)


def test_gzip_and_nesting_bombs_do_not_stall_a_good_request(sqlite_store: Store) -> None:
    depth = 50_000_000
    gzip_bomb = gzip.compress(b"[" * depth, 9)
    nesting_bomb = b'{"resourceSpans":' + b"[" * 4_000_000 + b"]" * 4_000_000 + b"}"
    assert len(gzip_bomb) < 100_000

    async def scenario() -> None:
        async with receiving(sqlite_store) as receiver, httpx.AsyncClient(timeout=60) as client:
            refused = await _good_beside(receiver, client, gzip_bomb,
                                         {**JSON_HEADERS, "content-encoding": "gzip"})
            assert refused.status_code in (400, 413)
            assert "nested" in refused.json()["message"]
            refused = await _good_beside(receiver, client, nesting_bomb, JSON_HEADERS)
            assert refused.status_code == 400
            assert "nested 4000001 levels deep" in refused.json()["message"]
            small = await client.post(receiver.url, content=gzip.compress(b"[" * 10_000_000),
                                      headers={**JSON_HEADERS, "content-encoding": "gzip"})
            assert small.status_code in (400, 413)

    asyncio.run(scenario())
    assert [s.span_id for s in TraceService(sqlite_store).run_spans(TRACE)] == [
        "d000000000000001"]


def test_a_gzip_body_past_its_inflated_limit_is_refused_as_it_arrives(
    sqlite_store: Store,
) -> None:
    bomb = gzip.compress(b" " * (64 * 1024 * 1024))

    async def scenario() -> None:
        async with receiving(sqlite_store, max_body_bytes=1024 * 1024) as receiver, \
                httpx.AsyncClient(timeout=60) as client:
            receiver.max_inflated_bytes = 8 * 1024 * 1024
            refused = await client.post(receiver.url, content=bomb,
                                        headers={**JSON_HEADERS, "content-encoding": "gzip"})
            assert refused.status_code == 413
            assert "inflates to more than 8388608 bytes" in refused.json()["message"]

    asyncio.run(scenario())


# -- children die with their parent ----------------------------------------------------


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ingest_children_die_with_a_killed_worker(sqlite_url: str, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "COUNTERSIGN_STORE": sqlite_url, "COUNTERSIGN_INGEST_WORKERS": "2"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "countersign", "worker", "--otlp-port", str(port)],
        stderr=subprocess.DEVNULL, env=env, cwd=tmp_path, start_new_session=True)
    try:
        children: set[int] = set()
        for _ in range(600):  # the pool's two workers and the resource tracker
            children = _children(worker.pid)
            if len(children) >= 3:
                break
            time.sleep(0.05)
        assert len(children) >= 3, children
        grandchildren = {g for child in children for g in _children(child)}
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        left = children | grandchildren
        for _ in range(400):  # bounded: 20 s
            left = {pid for pid in left if _alive(pid)}
            if not left:
                break
            time.sleep(0.05)
        assert not left, f"still running after their parent was killed: {left}"
    finally:
        if worker.poll() is None:
            worker.kill()
