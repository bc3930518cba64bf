"""The trace feed: ingest throughput (OTLP file import through the import-otlp code path;
the OTLP/HTTP receiver under concurrent protobuf posts, in the worker's setting and
inside the GUI with its frame lateness), opening a 10,000-span run
(``TraceService.run_spans``), and Traces filters over 1,000,000 spans (50,000 runs).

Ingest uses the ingest pool as the program does (one worker process per core up to
four; ``COUNTERSIGN_INGEST_WORKERS`` overrides). The import figure includes starting
the pool; the receivers' are their running rate (a receiver runs for hours).

Targets: ingest ≥ 20,000 spans/s into SQLite; run_spans of 10,000 spans fast enough
for the inspector to open in ≤ 300 ms; every filter ≤ 200 ms. The million-span store
is built once with the bulk path and cached under ~/.cache/countersign-bench/, keyed
by the schema and this module's data version.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import random
import socket
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from countersign.domain import SpanKind, SpanRecord
from countersign.domain.runs import RunQuery
from countersign.ingest.pool import shared_pool

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "otlp"
CACHE = Path.home() / ".cache" / "countersign-bench"
#: Bump when the generated million-span store changes shape.
DATA_VERSION = "traces-1"
DAY_NS = 86_400 * 10**9
NOW_NS = 1_763_700_000 * 10**9


def _templates() -> list[list[dict[str, Any]]]:
    """The spans of each hand-written fixture trace: realistic OpenInference and GenAI
    attribute sets (messages, tools, retrieval, errors)."""
    out = []
    for name in ("openinference_trace.json", "genai_trace.json"):
        doc = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
        for rs in doc["resourceSpans"]:
            out.append([s for ss in rs["scopeSpans"] for s in ss["spans"]])
    return out


def make_otlp_json(spans: int, seed: int = 1) -> bytes:
    """One OTLP/JSON export request of about ``spans`` spans: copies of the fixture
    traces with fresh ids, shifted times and varied token counts."""
    rng = random.Random(seed)
    templates = _templates()
    out: list[dict[str, Any]] = []
    while len(out) < spans:
        template = rng.choice(templates)
        trace_id = f"{rng.getrandbits(128):032x}"
        ids = {s["spanId"]: f"{rng.getrandbits(64):016x}" for s in template}
        shift = rng.randrange(30 * DAY_NS)
        base = int(template[0]["startTimeUnixNano"])
        for s in template:
            copy = dict(s, traceId=trace_id, spanId=ids[s["spanId"]])
            if "parentSpanId" in s:
                copy["parentSpanId"] = ids.get(s["parentSpanId"], s["parentSpanId"])
            copy["startTimeUnixNano"] = str(NOW_NS - 30 * DAY_NS + shift
                                            + int(s["startTimeUnixNano"]) - base)
            copy["endTimeUnixNano"] = str(NOW_NS - 30 * DAY_NS + shift
                                          + int(s["endTimeUnixNano"]) - base)
            out.append(copy)
    doc = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "bench"}}]},
        "scopeSpans": [{"scope": {"name": "bench"}, "spans": out}]}]}
    return json.dumps(doc).encode()


def _ms(fn: Any, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# -- ingest --------------------------------------------------------------------------


def bench_import(tmp: Path, spans: int = 100_000) -> dict[str, float]:
    from countersign.cli.traces import import_files
    from countersign.store.migrate import open_store

    path = tmp / "bench.otlp.json"
    path.write_bytes(make_otlp_json(spans))
    store = open_store(f"sqlite:///{tmp}/import.db")
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        started = time.perf_counter()
        code = import_files(store, [path], source="bench", as_json=True)
        elapsed = time.perf_counter() - started
    summary = json.loads(out.getvalue())
    assert code == 0 and summary["added"] >= spans, summary
    store.dispose()
    mb = path.stat().st_size / 1e6
    from countersign.ingest.pool import default_workers

    print(f"import-otlp: {summary['added']:,} spans ({mb:.0f} MB JSON) in {elapsed:.2f} s "
          f"({default_workers()} worker processes)")
    return {"import_spans_per_s": summary["added"] / elapsed, "import_file_mb": mb}


async def _post_all(url: str, bodies: list[bytes], concurrency: int) -> None:
    import httpx

    queue = list(reversed(bodies))
    async with httpx.AsyncClient(timeout=60) as client:

        async def sender() -> None:
            while queue:
                body = queue.pop()
                while True:
                    response = await client.post(url, content=body, headers={
                        "content-type": "application/x-protobuf"})
                    if response.status_code == 200:
                        break
                    assert response.status_code in (429, 503), response.text
                    await asyncio.sleep(float(response.headers.get("retry-after", "1")) / 10)

        await asyncio.gather(*(sender() for _ in range(concurrency)))


def bench_receiver(tmp: Path, spans: int = 50_000, per_request: int = 512,
                   concurrency: int = 8) -> dict[str, float]:
    from countersign.ingest.receiver import OtlpReceiver
    from countersign.store.migrate import open_store
    from tests.traces import to_protobuf

    doc = json.loads(make_otlp_json(spans, seed=2))
    all_spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
    bodies = []
    for start in range(0, len(all_spans), per_request):
        chunk = all_spans[start:start + per_request]
        part = {"resourceSpans": [{"scopeSpans": [{"scope": {"name": "bench"}, "spans": chunk}]}]}
        bodies.append(to_protobuf(part))
    store = open_store(f"sqlite:///{tmp}/receiver.db")

    async def main() -> float:
        receiver = OtlpReceiver(store, port=0)
        await receiver.start()
        # A receiver runs for hours: measure its running rate, not its workers' start.
        await asyncio.to_thread(receiver.pool.wait_ready, 60)
        try:
            started = time.perf_counter()
            await _post_all(receiver.url, bodies, concurrency)
            while receiver.stats.stored_spans + receiver.stats.duplicate_spans < len(all_spans):
                await asyncio.sleep(0.005)
            return time.perf_counter() - started
        finally:
            await receiver.stop()

    elapsed = asyncio.run(main())
    store.dispose()
    print(f"receiver: {len(all_spans):,} spans in {len(bodies)} protobuf posts "
          f"({concurrency} concurrent) stored in {elapsed:.2f} s")
    return {"receiver_spans_per_s": len(all_spans) / elapsed}


def bench_console_receiver(tmp: Path, spans: int = 50_000) -> dict[str, float]:
    """The receiver inside the GUI (the ``[receiver]`` setting): the same posts, with
    the real main window open, and how late its frames came meanwhile."""
    import qasync
    from PySide6.QtWidgets import QApplication

    from countersign.config import Config, ReceiverConfig
    from countersign.session import open_services
    from countersign_ui.async_work import BackgroundWork, dispose_loop
    from countersign_ui.main_window import MainWindow
    from countersign_ui.receiver import ConsoleReceiver
    from tests.traces import to_protobuf

    doc = json.loads(make_otlp_json(spans, seed=3))
    all_spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
    bodies = [to_protobuf({"resourceSpans": [{"scopeSpans": [{"scope": {"name": "bench"},
                                                               "spans": all_spans[i:i + 512]}]}]})
              for i in range(0, len(all_spans), 512)]
    app = QApplication.instance() or QApplication([])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    services = open_services(f"sqlite:///{tmp}/console.db", None,
                             config=Config(reviewer="bench"), create=True)
    work = BackgroundWork(loop)
    window = MainWindow(work)
    window.show()
    window.attach(services)
    console = ConsoleReceiver(services.store, window)
    window.attach_receiver(console)

    async def main() -> tuple[float, Any]:
        with socket.socket() as probe:  # a free port (the setting cannot say "any")
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        await console.apply(ReceiverConfig(enabled=True, port=port))
        assert console.url is not None and console.stats is not None, console.error
        await asyncio.to_thread(shared_pool().wait_ready, 60)
        window.stall_monitor.reset()
        started = time.perf_counter()
        # The senders are other programs: their own thread and loop here.
        await asyncio.to_thread(asyncio.run, _post_all(console.url, bodies, 8))
        while console.stats.stored_spans + console.stats.duplicate_spans < len(all_spans):
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - started
        snapshot = window.stall_monitor.snapshot()
        await console.stop()
        return elapsed, snapshot

    try:
        elapsed, frames = loop.run_until_complete(main())
    finally:
        window.shutdown()
        work.shutdown()
        window.deleteLater()
        dispose_loop(loop)
        asyncio.set_event_loop(None)
        services.close()
    print(f"console receiver: {len(all_spans):,} spans stored in {elapsed:.2f} s; GUI frames "
          f"p99 {frames.p99_ms:.1f} ms, max {frames.max_ms:.1f} ms, "
          f"{frames.over_frame} over 16 ms")
    return {"console_receiver_spans_per_s": len(all_spans) / elapsed,
            "console_receiver_frame_max_ms": frames.max_ms,
            "console_receiver_frames_over_16ms": frames.over_frame}


# -- reads ---------------------------------------------------------------------------


def _run_of(spans: int, trace_id: str, rng: random.Random) -> list[SpanRecord]:
    """A wide and deep agent run: a root, then chain → LLM / tool children."""
    construct = SpanRecord.model_construct
    root = f"{rng.getrandbits(64):016x}"
    start = NOW_NS - rng.randrange(30 * DAY_NS)
    out = [construct(trace_id=trace_id, span_id=root, parent_span_id=None, name="agent run",
                     kind=SpanKind.AGENT, start_ns=start, end_ns=start + spans * 10**7,
                     status_code="ok", status_message=None, agent_name=f"agent-{rng.randrange(10)}",
                     attributes_json="{}", events_json="[]", session_id=None, model=None,
                     provider=None, input_json=None, output_json=None, prompt_tokens=None,
                     completion_tokens=None, cached_tokens=None, reasoning_tokens=None,
                     cost=None, error_type=None)]
    parent = root
    for i in range(1, spans):
        error = rng.random() < 0.03
        kind = SpanKind.CHAIN if i % 5 == 1 else rng.choice([SpanKind.LLM, SpanKind.TOOL])
        span_id = f"{rng.getrandbits(64):016x}"
        out.append(construct(
            trace_id=trace_id, span_id=span_id, parent_span_id=parent if kind != SpanKind.CHAIN
            else root, name=f"{kind.value} {i}", kind=kind, start_ns=start + i * 10**7,
            end_ns=start + i * 10**7 + rng.randrange(1, 10**7), status_code="error" if error
            else "ok", status_message="boom" if error else None, model="gpt-4.1"
            if kind is SpanKind.LLM else None, provider=None,
            input_json=json.dumps({"messages": [{"role": "user", "content": "x" * 200}]}),
            output_json=json.dumps({"result": "y" * 100}), prompt_tokens=rng.randrange(2000)
            if kind is SpanKind.LLM else None, completion_tokens=rng.randrange(300)
            if kind is SpanKind.LLM else None, cached_tokens=None, reasoning_tokens=None,
            cost=rng.random() / 100 if kind is SpanKind.LLM else None, agent_name=None,
            session_id=None, error_type="Err" if error else None,
            attributes_json='{"k":"v"}', events_json="[]"))
        if kind is SpanKind.CHAIN:
            parent = span_id
    return out


def bench_run_spans(tmp: Path) -> dict[str, float]:
    from countersign.services.traces import TraceService
    from countersign.store.migrate import open_store

    store = open_store(f"sqlite:///{tmp}/inspector.db")
    service = TraceService(store)
    trace_id = "ab" * 16
    service.ingest(_run_of(10_000, trace_id, random.Random(3)), source="bench")
    assert len(service.run_spans(trace_id)) == 10_000
    times = _ms(lambda: service.run_spans(trace_id), 7)
    store.dispose()
    print(f"run_spans(10,000 spans): median {statistics.median(times):.1f} ms")
    return {"run_spans_10k_ms": statistics.median(times)}


def _million_span_store() -> Path:
    from countersign.store import migrate

    schema = hashlib.sha1(
        b"".join(p.read_bytes() for p in sorted(migrate.MIGRATIONS.glob("versions/*.py")))
    ).hexdigest()[:10]
    path = CACHE / f"{DATA_VERSION}-{schema}.db"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    building = path.with_suffix(".building")
    for stale in CACHE.glob(f"{building.name}*"):
        stale.unlink()
    started = time.perf_counter()
    _build_million(building)
    building.rename(path)
    print(f"built the 1,000,000-span store in {time.perf_counter() - started:.0f} s: {path}")
    return path


def _build_million(path: Path, runs: int = 50_000, per_run: int = 20) -> None:
    from countersign.gate.steps import new_span_id
    from countersign.services.actions import ActionRequest, ActionService
    from countersign.services.traces import TraceService
    from countersign.store.migrate import open_store

    store = open_store(f"sqlite:///{path}")
    service = TraceService(store, batch_spans=20_000)
    rng = random.Random(11)
    construct = SpanRecord.model_construct
    common = {"status_message": None, "provider": "openai", "input_json": None,
              "output_json": None, "cached_tokens": None, "reasoning_tokens": None,
              "session_id": None, "error_type": None, "events_json": "[]",
              "attributes_json": '{"gen_ai.operation.name":"chat"}'}
    pending_traces = []
    batch: list[SpanRecord] = []
    for run in range(runs):
        trace_id = f"{rng.getrandbits(128):032x}"
        agent = f"agent-{run % 12}"
        start = NOW_NS - rng.randrange(30 * DAY_NS)
        root = new_span_id()
        failing = rng.random() < 0.05
        for i in range(per_run):
            length = rng.randrange(10**6, 10**9 * (1 + run % 7))
            llm = i % 2 == 1
            batch.append(construct(
                trace_id=trace_id, span_id=root if i == 0 else new_span_id(),
                parent_span_id=None if i == 0 else root,
                name=f"{agent} task {run % 997}" if i == 0 else f"step {i}",
                kind=SpanKind.AGENT if i == 0 else SpanKind.LLM if llm else SpanKind.TOOL,
                start_ns=start + i * 10**6, end_ns=start + i * 10**6 + length,
                status_code="error" if failing and i == per_run - 1 else "ok",
                model="gpt-4.1" if llm else None, agent_name=agent,
                prompt_tokens=rng.randrange(50, 3000) if llm else None,
                completion_tokens=rng.randrange(10, 500) if llm else None,
                cost=rng.random() / 50 if llm else None, **common))
        if run % 250 == 0:
            pending_traces.append((trace_id, agent))
        if len(batch) >= 100_000:
            service.ingest(batch, source="bench")
            batch = []
    service.ingest(batch, source="bench")
    actions = ActionService(store)
    for n, (trace_id, agent) in enumerate(pending_traces):
        actions.request(ActionRequest(agent=agent, action_class="refund", arguments={"n": n},
                                      source_ref=f"bench-{n}", trace_id=trace_id))
    store.dispose()


def bench_filters() -> dict[str, float]:
    from countersign.services.traces import TraceService
    from countersign.store.migrate import open_store

    store = open_store(f"sqlite:///{_million_span_store()}")
    service = TraceService(store)
    day_ago = NOW_NS - DAY_NS
    queries = {
        "newest": RunQuery(limit=200),
        "agent": RunQuery(agent="agent-3"),
        "status_error": RunQuery(status="error"),
        "last_day": RunQuery(since_ns=day_ago),
        "min_duration_5s": RunQuery(min_duration_ns=5 * 10**9),
        "tokens_range": RunQuery(min_tokens=20_000, max_tokens=22_000),
        "cost_over_0.15": RunQuery(min_cost=0.15),
        "pending_action": RunQuery(has_pending_action=True),
        "text": RunQuery(text="task 42"),
        "no_match_text": RunQuery(text="zzz-nothing"),
        "combined": RunQuery(agent="agent-5", status="ok", min_tokens=15_000,
                             since_ns=NOW_NS - 7 * DAY_NS),
        "page_10": RunQuery(limit=200, offset=2000),
    }
    figures: dict[str, float] = {}
    for name, query in queries.items():
        found = service.search_runs(query)
        times = _ms(lambda q=query: service.search_runs(q), 15)
        figures[f"filter_{name}_p50_ms"] = statistics.median(times)
        figures[f"filter_{name}_p95_ms"] = _pct(times, 95)
        print(f"filter {name:<16} {len(found):>4} runs  p50 {statistics.median(times):6.1f} ms"
              f"  p95 {_pct(times, 95):6.1f} ms")
    times = _ms(lambda: service.count_runs(RunQuery(status="error")), 7)
    figures["count_status_error_ms"] = statistics.median(times)
    figures["agents_ms"] = statistics.median(_ms(service.agents, 7))
    store.dispose()
    return figures


def run() -> dict[str, float]:
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="cs-bench-traces-") as tmp:
        figures.update(bench_import(Path(tmp)))
        figures.update(bench_receiver(Path(tmp)))
        figures.update(bench_console_receiver(Path(tmp)))
        figures.update(bench_run_spans(Path(tmp)))
    figures.update(bench_filters())
    for key, value in figures.items():
        print(f"{key}: {value:,.1f}")
    return figures


if __name__ == "__main__":
    run()
