"""``countersign import-otlp``, ``countersign trace show`` and the worker's receiver,
through the real command line."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from countersign.cli import main
from countersign.services.traces import TraceService
from countersign.store.migrate import open_store

from ..servers import free_port
from . import FIXTURES, body, load_fixture, span, to_protobuf

OI_TRACE = "0af7651916cd43dd8448eb211c80319c"


def cli(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, str, str]:
    code = main(["--store", url, *args])
    out, err = capsys.readouterr()
    return code, out, err


def import_json(capsys: pytest.CaptureFixture[str], url: str, *files: Path) -> tuple[int, dict]:
    code, out, _ = cli(capsys, url, "import-otlp", "--json", *map(str, files))
    return code, json.loads(out)


def test_import_every_format_and_reimport_is_idempotent(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    oi, genai = load_fixture("openinference_trace.json"), load_fixture("genai_trace.json")
    (tmp_path / "a.pb").write_bytes(to_protobuf(oi))
    (tmp_path / "b.json.gz").write_bytes(gzip.compress(json.dumps(genai).encode()))
    lines = [json.dumps(load_fixture("genai_deprecated_trace.json")), json.dumps(oi)]
    (tmp_path / "c.jsonl").write_text("\n".join(lines) + "\n")
    files = [tmp_path / "a.pb", tmp_path / "b.json.gz", tmp_path / "c.jsonl"]
    code, summary = import_json(capsys, sqlite_url, *files)
    assert code == 0
    assert (summary["files"], summary["added"], summary["duplicates"]) == (3, 12, 5)
    assert summary["rejected"] == 0 and summary["unreadable"] == []
    code, summary = import_json(capsys, sqlite_url, *files)
    assert (code, summary["added"], summary["duplicates"]) == (0, 0, 17)
    store = open_store(sqlite_url)
    assert TraceService(store).run(OI_TRACE).span_count == 5  # type: ignore[union-attr]
    store.dispose()


def test_unreadable_files_fail_the_command_but_not_the_others(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "junk.bin").write_bytes(b"\x07\x08 not otlp")
    code, out, err = cli(capsys, sqlite_url, "import-otlp",
                         str(FIXTURES / "openinference_trace.json"),
                         str(tmp_path / "junk.bin"), str(tmp_path / "missing.json"))
    assert code == 1
    assert "5 spans imported" in out and "2 unreadable" in out
    assert "junk.bin: not an OTLP trace file" in err
    assert "missing.json: cannot read" in err


def test_rejections_name_file_span_and_field(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mixed.json"
    path.write_bytes(body(span("aaaaaaaaaaaaaaaa"), span("bbbbbbbbbbbbbbbb", spanId=42)))
    code, out, _ = cli(capsys, sqlite_url, "import-otlp", str(path))
    assert code == 0
    assert "1 spans imported" in out and "1 rejected" in out
    [reason] = [line for line in out.splitlines() if line.startswith("  ")]
    assert "mixed.json" in reason and "spans[1]" in reason and "spanId" in reason
    only_bad = tmp_path / "bad.json"
    only_bad.write_bytes(body(span("cccccccccccccccc", spanId=None)))
    code, out, _ = cli(capsys, sqlite_url, "import-otlp", str(only_bad))
    assert code == 1  # nothing at all could be stored


def test_progress_on_a_pipe_is_plain_lines(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, sqlite_url, "import-otlp",
                       str(FIXTURES / "openinference_trace.json"))
    assert code == 0
    assert "\r" not in err and "\x1b" not in err
    assert "openinference_trace.json (1/1): 5/5 spans (100%)" in err


def test_trace_show_tree_and_json(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    cli(capsys, sqlite_url, "import-otlp", str(FIXTURES / "openinference_trace.json"))
    code, out, _ = cli(capsys, sqlite_url, "trace", "show", OI_TRACE.upper())
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"run {OI_TRACE}  BookingAgent")
    # The root succeeded (the agent retried the failed call): the run says what its
    # root says, and still counts the failed span.
    assert "status ok" in lines[1] and "5 spans (1 failed)" in lines[1]
    tree = lines[2:]
    assert tree[0].startswith("agent     BookingAgent")
    assert tree[1].startswith("  llm       ChatOpenAI") and "tokens 812+41" in tree[1]
    # Model, provider and tool name on each span's line, not only in --json.
    assert "model gpt-4o-2024-08-06" in tree[1] and "provider openai" in tree[1]
    assert tree[4].startswith("  ✗ llm       ChatOpenAI") and "openai.RateLimitError" in tree[4]
    assert any(line.lstrip().startswith("tool") and "tool book_flight" in line
               for line in tree), tree
    code, out, _ = cli(capsys, sqlite_url, "trace", "show", OI_TRACE, "--json")
    spans = json.loads(out)
    assert spans[0]["span_id"] == "b7ad6b7169203331"
    assert spans[0]["input"] == {"question": "Book me a flight to Oslo"}
    assert spans[0]["attributes"]["agent.name"] == "booking-agent"
    assert "input_json" not in spans[0]
    code, _, err = cli(capsys, sqlite_url, "trace", "show", "f" * 32)
    assert code == 1 and "no run with trace id" in err


@pytest.mark.slow
def test_worker_receives_otlp(sqlite_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "COUNTERSIGN_STORE": sqlite_url}
    worker = subprocess.Popen(
        [sys.executable, "-m", "countersign", "worker", "--otlp-port", str(port)],
        stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )
    try:
        url = f"http://127.0.0.1:{port}/v1/traces"
        for _ in range(300):
            try:
                response = httpx.post(url, content=body(span("dddddddddddddddd")),
                                      headers={"content-type": "application/json"})
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        assert response.status_code == 200
    finally:
        worker.send_signal(signal.SIGINT)
        _, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert f"receiving OTLP traces on {url}" in err
    store = open_store(sqlite_url)
    assert [s.span_id for s in TraceService(store).run_spans("5b8efff798038103d269b633813fc60c")
            ] == ["dddddddddddddddd"]
    store.dispose()
