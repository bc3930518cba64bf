"""The console's own OTLP receiver: enabled in the configuration, it listens while the
window is open, spans sent over HTTP land in the store and show in the Traces
workspace, the status bar counts them; a port already taken is reported and the
console keeps working; the Connections dialog turns it on and off at once."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from countersign.config import ReceiverConfig
from countersign.domain.runs import RunQuery
from countersign.ingest.pool import WORKERS_ENV
from countersign.plugin_host.frontends import FrontendOptions
from countersign.store.migrate import open_store
from countersign_ui.connections import ConnectionsDialog
from countersign_ui.main_window import MainWindow
from countersign_ui.receiver import ConsoleReceiver

from ..servers import free_port
from ..traces import load_fixture
from .conftest import created_store, traces_of

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture(autouse=True)
def _in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    # Small bodies are decoded in a thread anyway; no worker processes to wait for.
    monkeypatch.setenv(WORKERS_ENV, "0")


def config_file(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[receiver]\nenabled = true\nhost = "127.0.0.1"\nport = {port}\n')
    return path


def drive(steps: list[Any], timeout_s: float = 30) -> list[str]:
    """Run ``steps`` (each returns True when done) one after another on the GUI thread
    while ``run()`` blocks the test, polling every 50 ms. Past ``timeout_s`` the window
    is closed and the returned list names the step that never finished."""
    stuck: list[str] = []
    deadline = time.monotonic() + timeout_s

    def tick() -> None:
        window = next((w for w in QApplication.topLevelWidgets()
                       if isinstance(w, MainWindow) and w.isVisible()), None)
        if window is not None and steps and steps[0](window):
            steps.pop(0)
        if steps and time.monotonic() > deadline and window is not None:
            stuck.append(steps[0].__name__)
            window.close()
        elif steps:
            QTimer.singleShot(50, tick)

    QTimer.singleShot(50, tick)
    return stuck


def test_spans_sent_to_the_console_show_in_traces(qapp: QApplication, tmp_path: Path) -> None:
    from countersign_ui.app import run

    port = free_port()
    doc = load_fixture("openinference_trace.json")
    spans = sum(len(ss["spans"]) for rs in doc["resourceSpans"] for ss in rs["scopeSpans"])
    answers: list[int] = []
    seen: dict[str, Any] = {}

    def send() -> None:  # as an agent's exporter would: another thread, plain HTTP
        answers.append(httpx.post(f"http://127.0.0.1:{port}/v1/traces", timeout=30,
                                  content=json.dumps(doc),
                                  headers={"content-type": "application/json"}).status_code)

    def listening(window: MainWindow) -> bool:
        if window.receiver is None or window.receiver.url is None:
            return False
        threading.Thread(target=send, daemon=True).start()
        return True

    def counted(window: MainWindow) -> bool:
        seen["label"] = window.receiver_label.text()
        return bool(answers) and f"{spans} spans" in seen["label"]

    def shown(window: MainWindow) -> bool:
        if traces_of(window).model.rowCount() == 0:
            traces_of(window).refresh()
            return False
        seen["runs"] = traces_of(window).model.rowCount()
        window.close()
        return True

    stuck = drive([listening, counted, shown])
    store_url = created_store(tmp_path / "r.db")
    code = run(FrontendOptions(store_url=store_url, config_path=config_file(tmp_path, port)))
    asyncio.set_event_loop(None)
    assert stuck == [] and code == 0
    assert answers == [200]
    assert seen["label"] == f"OTLP :{port} · {spans} spans"
    assert seen["runs"] >= 1
    # Stopped with the console: nothing listens any more.
    with pytest.raises(httpx.TransportError):
        httpx.post(f"http://127.0.0.1:{port}/v1/traces", content=b"{}", timeout=2)
    store = open_store(store_url)
    try:
        from countersign.services.traces import TraceService

        assert TraceService(store).count_runs(RunQuery()) == seen["runs"]
    finally:
        store.dispose()


def test_a_port_already_taken_is_reported_and_the_console_works(
    qapp: QApplication, tmp_path: Path
) -> None:
    from countersign_ui.app import run

    seen: dict[str, str] = {}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        def reported(window: MainWindow) -> bool:
            if window.receiver is None or not window.receiver.error:
                return False
            if not window.summary_labels["queue"].text().endswith("pending"):
                return False  # the queue has not loaded yet
            seen["label"] = window.receiver_label.text()
            seen["tip"] = window.receiver_label.toolTip()
            seen["error"] = window.error_label.text()
            seen["pending"] = window.summary_labels["queue"].text()
            window.close()
            return True

        stuck = drive([reported])
        code = run(FrontendOptions(store_url=created_store(tmp_path / "r.db"),
                                   config_path=config_file(tmp_path, port)))
        asyncio.set_event_loop(None)
    assert stuck == [] and code == 0
    assert seen["label"] == "OTLP receiver off"
    assert seen["pending"] == "0 pending"  # the queue loaded all the same
    assert f"127.0.0.1:{port}" in seen["tip"] and f"127.0.0.1:{port}" in seen["error"]


def test_the_connections_dialog_turns_the_receiver_on_and_off(
    qtbot: QtBot, tmp_path: Path, qasync_loop: asyncio.AbstractEventLoop
) -> None:
    store = open_store("sqlite:///" + str(tmp_path / "d.db"))
    receiver = ConsoleReceiver(store)
    path = tmp_path / "config.toml"
    path.write_text('reviewer = "ann"\n')
    dialog = ConnectionsDialog(None, path, None, receiver)
    qtbot.addWidget(dialog)
    port = free_port()
    try:
        assert not dialog.receive_check.isChecked() and not dialog.receive_port.isEnabled()
        assert not dialog.dirty  # opening changes nothing
        dialog.receive_check.setChecked(True)
        dialog.receive_port.setValue(port)
        assert dialog.dirty
        assert "Save to apply" in dialog.receive_state.text()
        assert dialog.save()
        assert tomllib.loads(path.read_text()) == {
            "reviewer": "ann",
            "receiver": {"enabled": True, "host": "127.0.0.1", "port": port}}
        qtbot.waitUntil(lambda: receiver.url is not None, timeout=10_000)
        assert receiver.url == f"http://127.0.0.1:{port}/v1/traces"
        qtbot.waitUntil(lambda: "Receiving OTLP/HTTP traces on" in dialog.receive_state.text(),
                        timeout=3000)

        dialog.receive_check.setChecked(False)
        assert dialog.save()
        qtbot.waitUntil(lambda: receiver.settings == ReceiverConfig(enabled=False, port=port),
                        timeout=10_000)
        assert receiver.url is None
        with pytest.raises(httpx.TransportError):
            httpx.post(f"http://127.0.0.1:{port}/v1/traces", content=b"{}", timeout=2)
        assert "[receiver]" in path.read_text()  # not the default any more: port kept
    finally:
        stopping = qasync_loop.create_task(receiver.stop())
        qtbot.waitUntil(stopping.done, timeout=10_000)
        dialog.close()
        store.dispose()
