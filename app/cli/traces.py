"""The trace commands of ``countersign`` (registered by cli.py):

    countersign import-otlp FILE... [--source NAME] [--json]
    countersign trace show TRACE_ID [--json]
    countersign worker [--otlp-port PORT] [--otlp-host HOST] [--no-otlp]

``import-otlp`` reads OTLP/JSON, protobuf or JSON Lines files (gzip too; sniffed from
the content), stores every readable span and says what it could not store, naming the
file, the span and the field. Exit 0 when every file could be read and at least one of
their spans is stored (re-imported spans count: imports are idempotent); 1 when a file
could not be read or decoded (the others are still imported), or when every span was
rejected.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import IO, Any

from ..domain import SpanRecord
from ..domain.runs import IngestResult, RunSummary
from ..store.engine import Store
from ..text import one_line

EXIT_REFUSED = 1
#: How many rejection reasons the summary lists.
REASONS_SHOWN = 20


def add_parsers(sub: Any) -> None:
    """Register ``import-otlp`` and ``trace`` on cli.py's subcommand parsers."""
    imp = sub.add_parser("import-otlp", help="import OpenTelemetry trace files (OTLP JSON, "
                         "protobuf or JSON Lines; .gz too)")
    imp.add_argument("files", metavar="FILE", nargs="+", type=Path)
    imp.add_argument("--source", default="otlp-file", help="source name recorded on the runs")
    imp.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    trace = sub.add_parser("trace", help="inspect runs (traces)")
    tsub = trace.add_subparsers(dest="trace_command", metavar="SUBCOMMAND", required=True)
    show = tsub.add_parser("show", help="one run's spans as a tree")
    show.add_argument("trace_id", metavar="TRACE_ID")
    show.add_argument("--json", action="store_true", help="the normalised spans as JSON")


def add_worker_options(worker: argparse.ArgumentParser) -> None:
    from ..ingest.receiver import DEFAULT_PORT

    worker.add_argument("--otlp-port", type=int, default=DEFAULT_PORT, metavar="PORT",
                        help=f"port of the OTLP/HTTP trace receiver (default {DEFAULT_PORT})")
    worker.add_argument("--otlp-host", default="127.0.0.1", metavar="HOST",
                        help="address the receiver listens on (default loopback only)")
    worker.add_argument("--no-otlp", action="store_true", help="do not receive OTLP traces")


def run(args: argparse.Namespace, store: Store) -> int:
    if args.command == "import-otlp":
        return import_files(store, args.files, source=args.source, as_json=args.json)
    return show_trace(store, args.trace_id, as_json=args.json)


# -- import-otlp ---------------------------------------------------------------------


class ProgressLine:
    """Progress on stderr: a redrawn bar (at most 10 times a second) on a terminal,
    else a plain line every few seconds, so logs stay readable."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._interval = 0.1 if self.tty else 5.0
        self._last = 0.0 if self.tty else time.monotonic()

    def update(self, label: str, done: int, total: int, *, unit: str = "spans",
               force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self._interval and done < total:
            return
        self._last = now
        share = done / total if total else 1.0
        if self.tty:
            bar = "#" * int(share * 30)
            counts = f"{done:,}/{total:,} {unit}"
            self.stream.write(f"\r[{bar:<30}] {share:4.0%} {counts}  {label}\x1b[K")
        else:
            self.stream.write(f"{label}: {done:,}/{total:,} {unit} ({share:.0%})\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        self.stream.write(("\r\x1b[K" if self.tty else "") + text + ("" if self.tty else "\n"))
        self.stream.flush()

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def import_files(store: Store, files: list[Path], *, source: str, as_json: bool = False) -> int:
    from ..ingest.pool import shared_pool
    from ..services.traces import TraceService
    from ..wire.raw import OtlpDecodeError

    service = TraceService(store)
    pool = shared_pool()
    if any(_is_large(path) for path in files):
        pool.start()  # the workers start while the first file is read and cut up
    progress = ProgressLine(sys.stderr)
    total = IngestResult()
    failed: list[str] = []
    started = time.perf_counter()
    for index, path in enumerate(files, start=1):
        label = f"{path.name} ({index}/{len(files)})"
        progress.note(f"reading {label}")

        def report(done: int, count: int, unit: str, label: str = label) -> None:
            progress.update(label, done, count, unit=unit)

        try:
            result = service.ingest_file(path, source=source, pool=pool, progress=report)
        except OSError as exc:
            failed.append(f"{path}: cannot read: {exc.strerror or exc}")
            continue
        except OtlpDecodeError as exc:
            failed.append(f"{path}: not an OTLP trace file: {exc}")
            continue
        total.merge(result)
    progress.finish()
    elapsed = time.perf_counter() - started
    _print_summary(total, failed, len(files), elapsed, as_json)
    if failed or (total.rejected and not total.added and not total.duplicates):
        return EXIT_REFUSED
    return 0


def _is_large(path: Path) -> bool:
    from ..ingest.pool import MIN_POOLED_BYTES

    try:
        return path.stat().st_size >= MIN_POOLED_BYTES
    except OSError:
        return False


def _print_summary(total: IngestResult, failed: list[str], files: int, elapsed: float,
                   as_json: bool) -> None:
    rate = total.added / elapsed if elapsed > 0 else 0.0
    if as_json:
        print(json.dumps({
            "files": files, "unreadable": failed, "added": total.added,
            "duplicates": total.duplicates, "rejected": len(total.rejected),
            "reasons": total.rejected[:REASONS_SHOWN], "warnings": len(total.warnings),
            "seconds": round(elapsed, 3), "spans_per_second": round(rate),
        }, ensure_ascii=False))
        return
    print(f"{files} file(s): {total.added:,} spans imported, {total.duplicates:,} already "
          f"stored, {len(total.rejected):,} rejected, {len(failed)} unreadable "
          f"in {elapsed:.1f} s ({rate:,.0f} spans/s)")
    if total.rejected:
        print(f"rejected (first {min(len(total.rejected), REASONS_SHOWN)} "
              f"of {len(total.rejected):,}):")
        for reason in total.rejected[:REASONS_SHOWN]:
            print(f"  {one_line(reason, 300)}")
    if total.warnings:
        print(f"{len(total.warnings):,} value(s) repaired on the way in (first: "
              f"{one_line(total.warnings[0], 200)})")
    for problem in failed:
        print(f"unreadable: {one_line(problem, 300)}", file=sys.stderr)


# -- trace show ----------------------------------------------------------------------


def show_trace(store: Store, trace_id: str, *, as_json: bool = False) -> int:
    from ..services.traces import TraceService

    service = TraceService(store)
    trace_id = trace_id.strip().lower()
    spans = service.run_spans(trace_id)
    if not spans:
        print(f"countersign: there is no run with trace id {one_line(trace_id, 80)}",
              file=sys.stderr)
        return EXIT_REFUSED
    if as_json:
        print(json.dumps([_span_json(s) for s in spans], indent=2, ensure_ascii=False))
        return 0
    summary = service.run(trace_id)
    if summary is not None:
        print(_run_header(summary))
    for line in tree_lines(spans):
        print(line)
    return 0


def _span_json(span: SpanRecord) -> dict[str, Any]:
    """The span's fields, its JSON texts parsed (input, output, attributes, events)."""
    out = span.model_dump(mode="json", exclude={"input_json", "output_json",
                                                 "attributes_json", "events_json"})
    for key in ("input", "output", "attributes", "events"):
        text = getattr(span, f"{key}_json")
        out[key] = json.loads(text) if text is not None else None
    return out


def _run_header(run: RunSummary) -> str:
    duration = _duration(run.duration_ns)
    return (f"run {run.trace_id}  {one_line(run.name or '(root span not received)', 80)}\n"
            f"  agent {one_line(run.agent_name or '-', 60)}  status {run.status}  "
            f"{run.span_count} spans ({run.error_count} failed)  {duration}  "
            f"tokens {run.prompt_tokens}+{run.completion_tokens}  cost {run.total_cost:.4f}")


def tree_lines(spans: list[SpanRecord], *, max_indent: int = 40) -> list[str]:
    """The spans as an indented tree in start order. Spans whose parent is not stored
    are shown at the top level, marked. Walked without recursion: chains can be deep."""
    ids = {s.span_id for s in spans}
    children: dict[str | None, list[SpanRecord]] = {}
    for span in spans:
        parent = span.parent_span_id if span.parent_span_id in ids else None
        children.setdefault(parent, []).append(span)
    lines: list[str] = []
    seen: set[str] = set()
    stack = [(span, 0) for span in reversed(children.get(None, []))]
    while stack:
        span, depth = stack.pop()
        if span.span_id in seen:
            continue
        seen.add(span.span_id)
        lines.append(_span_line(span, depth, max_indent))
        stack.extend((child, depth + 1) for child in reversed(children.get(span.span_id, [])))
    return lines


def _span_line(span: SpanRecord, depth: int, max_indent: int) -> str:
    indent = "  " * min(depth, max_indent) + (f"[depth {depth}] " if depth > max_indent else "")
    mark = "✗ " if span.status_code == "error" else ""
    parts = [f"{indent}{mark}{span.kind.value:<9} {one_line(span.name, 80)}",
             _duration(None if span.end_ns is None else span.end_ns - span.start_ns)]
    if span.prompt_tokens is not None or span.completion_tokens is not None:
        parts.append(f"tokens {span.prompt_tokens or 0}+{span.completion_tokens or 0}")
    if span.cost is not None:
        parts.append(f"cost {span.cost:.4f}")
    parts.append(span.status_code)
    if span.status_code == "error" and (span.error_type or span.status_message):
        parts.append(one_line(span.error_type or span.status_message or "", 80))
    if span.parent_span_id is not None and depth == 0:
        parts.append(f"(parent {span.parent_span_id} not received)")
    return "  ".join(parts)


def _duration(ns: int | None) -> str:
    if ns is None:
        return "open"
    if ns < 1_000_000:
        return f"{ns / 1000:.0f}µs"
    if ns < 1_000_000_000:
        return f"{ns / 1_000_000:.0f}ms"
    return f"{ns / 1e9:.2f}s"


# -- worker --------------------------------------------------------------------------


async def start_worker_receiver(store: Store, args: argparse.Namespace) -> Any:
    """The worker's OTLP receiver, started; None with ``--no-otlp`` or when it cannot
    listen."""
    if getattr(args, "no_otlp", False):
        return None
    from ..ingest.receiver import OtlpReceiver, ReceiverError

    receiver = OtlpReceiver(store, host=args.otlp_host, port=args.otlp_port)
    try:
        await receiver.start()
    except ReceiverError as exc:
        # Expiry and delivery matter more than traces: keep working, say so loudly.
        print(f"countersign worker: {exc}; running WITHOUT the OTLP receiver "
              "(choose another --otlp-port, or --no-otlp)", file=sys.stderr)
        return None
    print(f"countersign worker: receiving OTLP traces on {receiver.url}", file=sys.stderr)
    return receiver
