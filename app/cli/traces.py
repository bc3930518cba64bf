"""The trace commands of ``countersign`` (registered by cli.py):

    countersign import-otlp FILE... [--source NAME] [--json]
    countersign trace list [--agent A] [--status ok|error|unset|running] [--since WHEN]
                           [--limit N] [--json]
    countersign trace show TRACE_ID [--json]
    countersign worker [--otlp-port PORT] [--otlp-host HOST] [--no-otlp]

``import-otlp`` reads OTLP/JSON, protobuf or JSON Lines files (gzip too; sniffed from
the content) of traces or of logs (log records about spans: GenAI content events and
other span events), stores every readable span and says what it could not store, naming the
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
from typing import IO, TYPE_CHECKING, Any

from ..text import duration_text, one_line

if TYPE_CHECKING:
    from ..domain import SpanRecord
    from ..domain.runs import IngestResult, RunSummary
    from ..store.engine import Store

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
    listing = tsub.add_parser("list", help="runs, newest first, with their trace ids")
    listing.add_argument("--agent", metavar="A", help="only runs of this agent")
    listing.add_argument("--status", choices=["ok", "error", "unset", "running"],
                         help="only runs with this status (running: not finished)")
    listing.add_argument("--since", metavar="WHEN", type=parse_since,
                         help="only runs started since WHEN: a duration back from now "
                         "(30m, 2h, 7d) or an ISO date/time (2026-11-20, 2026-11-20T08:00)")
    listing.add_argument("--limit", type=int, default=50, metavar="N",
                         help="at most N runs (default 50)")
    listing.add_argument("--json", action="store_true",
                         help="one JSON array of runs ([] when there is none)")
    show = tsub.add_parser("show", help="one run's spans as a tree")
    show.add_argument("trace_id", metavar="TRACE_ID")
    show.add_argument("--json", action="store_true", help="the normalised spans as JSON")


def add_worker_options(worker: argparse.ArgumentParser) -> None:
    from ..ingest import DEFAULT_PORT

    worker.add_argument("--otlp-port", type=int, default=DEFAULT_PORT, metavar="PORT",
                        help=f"port of the OTLP/HTTP trace receiver (default {DEFAULT_PORT})")
    worker.add_argument("--otlp-host", default="127.0.0.1", metavar="HOST",
                        help="address the receiver listens on (default loopback only)")
    worker.add_argument("--no-otlp", action="store_true", help="do not receive OTLP traces")


def run(args: argparse.Namespace, store: Store) -> int:
    if args.command == "import-otlp":
        return import_files(store, args.files, source=args.source, as_json=args.json)
    if args.trace_command == "list":
        return list_runs(store, agent=args.agent, status=args.status, since_ns=args.since,
                         limit=args.limit, as_json=args.json)
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
    from ..domain.runs import IngestResult
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


# -- trace list ----------------------------------------------------------------------

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str) -> int:
    """``--since``: a duration back from now (``90s``, ``30m``, ``2h``, ``7d``, ``1w``) or
    an ISO 8601 date or date-time (local time unless it names a zone), as epoch ns."""
    import datetime as dt

    value = text.strip()
    unit = _UNITS.get(value[-1:].lower())
    if unit is not None and value[:-1].strip().isdigit():
        return time.time_ns() - int(value[:-1]) * unit * 10**9
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a duration (30m, 2h, 7d) nor an ISO date/time "
            "(2026-11-20 or 2026-11-20T08:00)") from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return int(moment.timestamp() * 10**9)


def list_runs(store: Store, *, agent: str | None = None, status: str | None = None,
              since_ns: int | None = None, limit: int = 50, as_json: bool = False) -> int:
    """Runs newest first: a table, or with ``as_json`` one JSON array (``[]`` when none)."""
    from ..domain.runs import RunQuery
    from ..services.traces import TraceService

    if not 1 <= limit <= 10_000:
        print("countersign: --limit must be between 1 and 10000", file=sys.stderr)
        return 2
    query = RunQuery(agent=agent, status=status, since_ns=since_ns, limit=limit)
    runs = TraceService(store).search_runs(query)
    if as_json:
        print(json.dumps([run_json(run) for run in runs], ensure_ascii=False))
        return 0
    if not runs:
        print("no runs")
        return 0
    print(f"{'TRACE ID':<32}  {'STARTED':<19}  {'STATE':<7}  {'SPANS':>5}  {'TOKENS':>8}  "
          f"{'COST':>8}  {'AGENT':<20}  NAME")
    for run in runs:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run.started_ns / 1e9))
        agent_text = one_line(run.agent_name or "—", 20)
        name = one_line(run.name or "(root span not received)", 60)
        if run.duplicate_of is not None:
            name += f"  [duplicate of {run.duplicate_of}]"
        print(f"{run.trace_id:<32}  {started:<19}  {run.state:<7}  {run.span_count:>5}  "
              f"{run.total_tokens:>8}  {cost_text(run.total_cost):>8}  {agent_text:<20}  "
              f"{name}")
    return 0


def run_json(run: RunSummary) -> dict[str, Any]:
    """A run for scripts: its fields, its state, and null for an unknown cost."""
    out = run.model_dump(mode="json")
    out["state"] = run.state
    out["duration_ns"] = run.duration_ns
    out["total_tokens"] = run.total_tokens
    return out


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
    agent = one_line(run.agent_name or "—", 60)
    if run.agent_from_service:
        agent += " (service)"
    header = (f"run {run.trace_id}  {one_line(run.name or '(root span not received)', 80)}\n"
              f"  agent {agent}  status {run.state}  "
              f"{run.span_count} spans ({run.error_count} failed)  {duration}  "
              f"tokens {run.prompt_tokens}+{run.completion_tokens}  "
              f"cost {cost_text(run.total_cost)}")
    if run.duplicate_of is not None:
        header += (f"\n  duplicate: this model call is also recorded in run {run.duplicate_of} "
                   "by another instrumentation; its tokens are counted there")
    return header


def cost_text(cost: float | None) -> str:
    """A cost, or "—" when unknown (never 0.0000 for "no cost data")."""
    return "—" if cost is None else f"{cost:.4f}"


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
    if span.model:
        parts.append(f"model {one_line(span.model, 60)}")
    if span.provider:
        parts.append(f"provider {one_line(span.provider, 40)}")
    tool, call_id = _tool_of(span)
    if tool:
        parts.append(f"tool {one_line(tool, 60)}")
    if call_id:
        parts.append(f"call {one_line(call_id, 60)}")
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


def _tool_of(span: SpanRecord) -> tuple[str | None, str | None]:
    """(tool name, call id) of a tool span, from its normalised input."""
    if span.kind.value != "tool" or not span.input_json:
        return None, None
    try:
        value = json.loads(span.input_json)
    except ValueError:
        return None, None
    if not isinstance(value, dict):
        return None, None
    tool, call_id = value.get("tool"), value.get("call_id")
    return (tool if isinstance(tool, str) else None,
            call_id if isinstance(call_id, str) else None)


def _duration(ns: int | None) -> str:
    return duration_text(ns, open_text="open")


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
