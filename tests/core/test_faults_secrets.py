"""A LangGraph server that quotes the API key back in its 401 body must not put the key
in the worker's log, in the status bar text, or in ``sources check`` (table and JSON).

The server is a real HTTP server on 127.0.0.1 (not a mock transport), so the key goes
through the same client, runtime and CLI code as in production.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import secrets as random
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from countersign import secrets
from countersign.cli import main
from countersign.config import SourceConfig
from countersign.plugin_host.loading import build_sources
from countersign.runtime import Runtime, SourceHealth
from countersign.store.engine import Store

from .file_keyring import ENV as KEYRING_ENV
from .file_keyring import write_keyring

ROOT = Path(__file__).resolve().parents[2]
#: Where the second copy of the key starts in the 401 body: across the 300-character
#: cut the client makes, so a key redacted after cutting would leak its first half.
STRADDLE_AT = 290


class EchoingLangGraph:
    """Answers every request with 401 and a body quoting the x-api-key it was sent,
    twice: once in the message and once straddling the client's 300-character cut."""

    def __init__(self) -> None:
        outer = self
        self.requests = 0

        class Handler(BaseHTTPRequestHandler):
            def _refuse(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                key = self.headers.get("x-api-key") or ""
                outer.requests += 1
                head = f'{{"detail":"Invalid API key {key} for this deployment","echo":"'
                body = head + "." * (STRADDLE_AT - len(head)) + key + '"}'
                data = body.encode()
                self.send_response(401)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _refuse

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> EchoingLangGraph:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server() -> Iterator[EchoingLangGraph]:
    with EchoingLangGraph() as running:
        yield running


@pytest.fixture
def key() -> str:
    return "lgsk-" + random.token_hex(16)


def _assert_clean(text: str, key: str) -> None:
    assert "401" in text, text  # the error itself is still there
    assert key not in text
    assert key[:12] not in text, "a partial key leaked (cut before redaction?)"
    assert secrets.REDACTED in text


def _config(path: Path, url: str) -> Path:
    config = path / "config.toml"
    config.write_text(f'[[sources]]\nname = "lg"\nplugin = "langgraph"\nurl = "{url}"\n'
                      f'api_key = "keyring:lg-prod"\npoll_interval = 0.05\n')
    return config


def test_status_bar_text_has_no_key(sqlite_store: Store, memory_keyring: object,
                                    server: EchoingLangGraph, key: str) -> None:
    secrets.set_secret("lg-prod", key)
    [source] = build_sources([SourceConfig.model_validate(
        {"name": "lg", "plugin": "langgraph", "url": server.url,
         "api_key": "keyring:lg-prod", "poll_interval": 0.05})])

    async def scenario() -> str:
        failing = asyncio.Event()
        errors: list[str] = []

        def on_health(health: SourceHealth) -> None:
            if health.last_error and "401" in health.last_error:
                errors.append(health.last_error)
                failing.set()

        runtime = Runtime(sqlite_store, [source], on_health=on_health)
        await runtime.start()
        try:
            await asyncio.wait_for(failing.wait(), timeout=30)
        finally:
            await runtime.stop()
        return errors[0]

    _assert_clean(asyncio.run(scenario()), key)


@pytest.mark.parametrize("as_json", [False, True])
def test_sources_check_has_no_key(tmp_path: Path, memory_keyring: object,
                                  server: EchoingLangGraph, key: str, as_json: bool,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    secrets.set_secret("lg-prod", key)
    config = _config(tmp_path, server.url)
    args = ["--config", str(config), "sources", "check", "--timeout", "20"]
    assert main([*args, "--json"] if as_json else args) == 1
    out = capsys.readouterr().out
    if as_json:
        [line] = json.loads(out)
        assert line["ok"] is False
        out = line["detail"]
    _assert_clean(out, key)


def test_worker_log_has_no_key(tmp_path: Path, sqlite_url: str, server: EchoingLangGraph,
                               key: str) -> None:
    keyring_file = tmp_path / "keyring.json"
    write_keyring(keyring_file, {"lg-prod": key})
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "tests.core.file_keyring.FileKeyring",
           KEYRING_ENV: str(keyring_file),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    worker = subprocess.Popen(
        [sys.executable, "-m", "countersign", "--store", sqlite_url, "--config",
         str(_config(tmp_path, server.url)), "worker", "--no-otlp"],
        stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert worker.stderr is not None
        for line in worker.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    log: list[str] = []
    try:
        while True:  # until the worker has logged the source's failure (or died)
            line = lines.get(timeout=60)
            if line is None:
                break
            log.append(line)
            if "failing" in line and "401" in line:
                break
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    while (rest := lines.get(timeout=30)) is not None:
        log.append(rest)
    text = "".join(log)
    assert server.requests >= 1
    _assert_clean(text, key)
