"""The ``countersign`` command. Scripts and runbooks rely on these exact forms:

    countersign [--store URL] [--config FILE] [gui]
    countersign worker [--otlp-port PORT] [--otlp-host HOST] [--no-otlp]
    countersign sources check [--json] [--timeout SECONDS]
    countersign demo-fleet --agents N --actions M --seed S
    countersign queue list [--state pending|decided|all] [--agent NAME] [--json]
    countersign queue decide ACTION_ID --verdict approve|edit|reject|respond
                             [--arguments JSON] [--severity cosmetic|material|critical]
                             [--reason TEXT] [--reviewer NAME]
    countersign audit verify
    countersign import-otlp FILE... [--json]      (see cli_traces.py)
    countersign trace show TRACE_ID [--json]

Exit codes: 0 success; 1 the request was refused (already decided, unknown action,
invalid arguments, broken audit chain); 2 usage errors; 3 the store is unusable.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..config import ConfigError, load_config
from ..domain import ActionState, EditSeverity, QueueRow, Verdict
from ..store.engine import StoreError, describe_url, resolve_store_url
from . import traces as cli_traces

EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_STORE = 3

log = logging.getLogger("countersign")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="countersign",
        description="Review what AI agents want to do: approve, edit, reject or respond.",
    )
    parser.add_argument("--store", metavar="URL",
                        help="SQLAlchemy URL of the store (default: $COUNTERSIGN_STORE, "
                        "else SQLite in the user data directory)")
    parser.add_argument("--config", metavar="FILE", type=Path,
                        help="TOML configuration file (sources, reviewer name)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    gui = sub.add_parser("gui", help="open the console (the default)")
    gui.add_argument("--demo", action="store_true",
                     help="run the simulated demo fleet inside the console")
    gui.add_argument("--demo-seed", type=int, default=7, help=argparse.SUPPRESS)
    gui.add_argument("--demo-agents", type=int, default=6, help=argparse.SUPPRESS)

    worker = sub.add_parser("worker", help="run expiry, delivery, the configured sources and "
                            "the OTLP trace receiver headless")
    cli_traces.add_worker_options(worker)

    sources = sub.add_parser("sources", help="the configured sources")
    ssub = sources.add_subparsers(dest="sources_command", metavar="SUBCOMMAND", required=True)
    check = ssub.add_parser("check", help="connect to each configured source and report "
                            "its health; exit 1 if any is unhealthy")
    check.add_argument("--json", action="store_true", help="one JSON object per line")
    check.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                       help="how long each source may take to answer")

    fleet = sub.add_parser("demo-fleet", help="run the simulated agents headless until "
                           "every request has a verdict or expired; print one JSON line")
    fleet.add_argument("--agents", type=int, default=6)
    fleet.add_argument("--actions", type=int, default=20)
    fleet.add_argument("--seed", type=int, default=7)
    fleet.add_argument("--deadline", type=float, default=300.0, metavar="SECONDS",
                       help="how long each request waits for a verdict before it expires")

    queue = sub.add_parser("queue", help="list or decide actions")
    qsub = queue.add_subparsers(dest="queue_command", metavar="SUBCOMMAND", required=True)
    qlist = qsub.add_parser("list", help="list actions")
    qlist.add_argument("--state", choices=["pending", "decided", "all"], default="pending")
    qlist.add_argument("--agent", metavar="NAME")
    qlist.add_argument("--json", action="store_true", help="one JSON object per line")
    decide = qsub.add_parser("decide", help="give the verdict on one action")
    decide.add_argument("action_id", metavar="ACTION_ID", type=int)
    decide.add_argument("--verdict", required=True,
                        choices=["approve", "edit", "reject", "respond"])
    decide.add_argument("--arguments", metavar="JSON", help="the edited arguments (edit)")
    decide.add_argument("--severity", choices=[s.value for s in EditSeverity],
                        help="how much the edit changes (edit)")
    decide.add_argument("--reason", metavar="TEXT",
                        help="why (required to reject; the text sent back to respond)")
    decide.add_argument("--reviewer", metavar="NAME", help="who decides (default: you)")

    audit = sub.add_parser("audit", help="the hash-chained audit log")
    asub = audit.add_subparsers(dest="audit_command", metavar="SUBCOMMAND", required=True)
    asub.add_parser("verify", help="re-hash the chain; name the first bad event")
    cli_traces.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"countersign: {exc}", file=sys.stderr)
        return EXIT_USAGE
    store_url = resolve_store_url(args.store or config.store)
    command = args.command or "gui"
    try:
        if command == "gui":
            return _gui(args, store_url)
        if command == "worker":
            return _worker(store_url, config, args)
        if command == "sources":
            return _sources_check(args, config)
        if command == "demo-fleet":
            return _demo_fleet(args, store_url)
        if command == "queue" and args.queue_command == "list":
            return _queue_list(args, store_url)
        if command == "queue" and args.queue_command == "decide":
            return _queue_decide(args, store_url, config.reviewer)
        if command == "audit":
            return _audit_verify(store_url)
        if command in ("import-otlp", "trace"):
            return cli_traces.run(args, _open(store_url))
    except StoreError as exc:
        print(f"countersign: {exc}", file=sys.stderr)
        return EXIT_STORE
    except KeyboardInterrupt:
        return 130
    raise AssertionError(command)


def _gui(args: argparse.Namespace, store_url: str) -> int:
    from ..plugin_host.frontends import FrontendMissing, FrontendOptions, load_frontend

    try:
        run = load_frontend("gui")
    except FrontendMissing as exc:
        print(f"countersign: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return run(
        FrontendOptions(
            store_url=store_url,
            config_path=args.config,
            demo=bool(getattr(args, "demo", False)),
            demo_seed=getattr(args, "demo_seed", 7),
            demo_agents=getattr(args, "demo_agents", 6),
        )
    )


def _open(store_url: str) -> Any:
    from ..store.migrate import open_store

    return open_store(store_url)


def _worker(store_url: str, config: Any, args: argparse.Namespace) -> int:
    from ..plugin_host.loading import PluginError, build_sources
    from ..runtime import Runtime

    store = _open(store_url)
    try:
        sources = build_sources(config.sources)
    except PluginError as exc:
        print(f"countersign: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"countersign worker: store {describe_url(store_url)}, "
          f"{len(sources)} source(s); Ctrl+C stops", file=sys.stderr)

    async def serve() -> None:
        said: dict[str, str | None] = {}

        def report(health: Any) -> None:  # headless: source trouble goes to stderr, once
            error = health.last_error if health.status.value == "failing" else None
            if error and said.get(health.name) != error:
                log.warning("source %s failing: %s", health.name, error)
            said[health.name] = error

        runtime = Runtime(store, sources, on_health=report)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await runtime.start()
        receiver = await cli_traces.start_worker_receiver(store, args)
        try:
            await stop.wait()
        finally:
            if receiver is not None:
                await receiver.stop()
            await runtime.stop()

    asyncio.run(serve())
    return 0


def _sources_check(args: argparse.Namespace, config: Any) -> int:
    from ..plugin_host.check import run_check

    code, text = run_check(config.sources, as_json=args.json, timeout=args.timeout)
    if text:
        print(text)
    return code


def _demo_fleet(args: argparse.Namespace, store_url: str) -> int:
    from ..plugin_host.loading import PluginError, load_source_class

    try:
        fleet = load_source_class("demo")
    except PluginError as exc:
        print(f"countersign: {exc}", file=sys.stderr)
        return EXIT_USAGE
    store = _open(store_url)
    report = asyncio.run(
        fleet.run_batch(store, agents=args.agents, actions=args.actions, seed=args.seed,
                        deadline_s=args.deadline)
    )
    keys = ("requested", "approved", "edited", "rejected", "responded", "expired", "mismatches")
    print(json.dumps({k: report[k] for k in keys}))
    return 0


def _queue_list(args: argparse.Namespace, store_url: str) -> int:
    from ..services.actions import ActionService

    states: tuple[ActionState, ...] = {
        "pending": (ActionState.PENDING,),
        "decided": tuple(s for s in ActionState if s is not ActionState.PENDING),
        "all": (),
    }[args.state]
    rows = ActionService(_open(store_url)).queue_rows(states=states, agent=args.agent)
    if args.json:
        for row in rows:
            print(json.dumps(row.model_dump(mode="json"), ensure_ascii=False))
        return 0
    if not rows:
        print("no actions")
        return 0
    print(f"{'ID':>7}  {'STATE':<13} {'RISK':<8} {'AGE':>7}  {'AGENT':<22} ACTION")
    now = time.time()
    for row in rows:
        print(_list_line(row, now))
    return 0


def _list_line(row: QueueRow, now: float) -> str:
    from ..text import one_line

    age = _duration(now - row.created_at)
    return (f"{row.id:>7}  {row.state.value:<13} {row.risk.value:<8} {age:>7}  "
            f"{one_line(row.agent, 22):<22} {one_line(row.action_class, 60)}")


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _queue_decide(args: argparse.Namespace, store_url: str, configured: str | None) -> int:
    from ..jsonio import JsonInputError, loads
    from ..services.actions import UnknownAction
    from ..services.decisions import DecisionError, DecisionService

    verdict = Verdict(args.verdict)
    arguments = None
    if args.arguments is not None:
        if verdict is not Verdict.EDIT:
            print("countersign: --arguments goes with --verdict edit", file=sys.stderr)
            return EXIT_USAGE
        try:
            arguments = loads(args.arguments)
        except (ValueError, JsonInputError) as exc:
            print(f"countersign: --arguments is not valid JSON: {exc}", file=sys.stderr)
            return EXIT_USAGE
    reviewer = args.reviewer or configured or getpass.getuser()
    try:
        decision = DecisionService(_open(store_url)).decide(
            args.action_id,
            verdict,
            reviewer=reviewer,
            arguments=arguments,
            severity=EditSeverity(args.severity) if args.severity else None,
            reason=args.reason if verdict is Verdict.REJECT else None,
            response=args.reason if verdict is Verdict.RESPOND else None,
        )
    except (DecisionError, UnknownAction) as exc:
        print(f"countersign: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"action {decision.action_id}: {decision.verdict.value} by {decision.reviewer} "
          f"(decision {decision.id})")
    return 0


def _audit_verify(store_url: str) -> int:
    from ..services.audit import verify

    result = verify(_open(store_url))
    if result.ok:
        print(f"audit log intact: {result.checked} events checked")
        return 0
    print(f"audit log BROKEN at event {result.first_bad}: {result.problem} "
          f"({result.checked} events before it check out)", file=sys.stderr)
    return EXIT_REFUSED


if __name__ == "__main__":
    sys.exit(main())
