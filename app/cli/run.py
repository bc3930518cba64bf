"""Commands that run Countersign rather than query it:

    countersign [gui [--demo]]           the console
    countersign init                     create (and migrate) the store --store names
    countersign worker [...]             expiry, delivery, sources and the OTLP receiver
    countersign sources check [--json]   each configured source's health
    countersign demo-fleet --agents N --actions M --seed S [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
from typing import Any

from .common import EXIT_USAGE, Context, fail

log = logging.getLogger("countersign")


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    from . import traces

    gui_p = sub.add_parser("gui", parents=[common], help="open the console (the default)")
    gui_p.add_argument("--demo", action="store_true",
                       help="run the simulated demo fleet inside the console")
    gui_p.add_argument("--demo-seed", type=int, default=7, help=argparse.SUPPRESS)
    gui_p.add_argument("--demo-agents", type=int, default=6, help=argparse.SUPPRESS)
    gui_p.set_defaults(handler=gui)

    init = sub.add_parser("init", parents=[common],
                          help="create the store named by --store (or the default) and "
                          "bring its schema up to date")
    init.set_defaults(handler=init_store)

    worker_p = sub.add_parser("worker", parents=[common],
                              help="run expiry, delivery, the configured sources and the "
                              "OTLP trace receiver headless")
    traces.add_worker_options(worker_p)
    worker_p.set_defaults(handler=worker)

    sources = sub.add_parser("sources", parents=[common], help="the configured sources")
    ssub = sources.add_subparsers(dest="sources_command", metavar="SUBCOMMAND", required=True)
    check = ssub.add_parser("check", parents=[common],
                            help="connect to each configured source and report its health; "
                            "exit 1 if any is unhealthy")
    check.add_argument("--json", action="store_true", help="one JSON array, an object per source")
    check.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                       help="how long each source may take to answer")
    check.set_defaults(handler=sources_check)

    fleet = sub.add_parser("demo-fleet", parents=[common],
                           help="run the simulated agents headless until every request has "
                           "a verdict or expired; print one JSON line")
    fleet.add_argument("--agents", type=int, default=6)
    fleet.add_argument("--actions", type=int, default=20)
    fleet.add_argument("--seed", type=int, default=7)
    fleet.add_argument("--deadline", type=float, default=300.0, metavar="SECONDS",
                       help="how long each request waits for a verdict before it expires")
    fleet.add_argument("--json", action="store_true",
                       help="no progress on the terminal, only the JSON result")
    fleet.set_defaults(handler=demo_fleet)


def gui(args: argparse.Namespace, ctx: Context) -> int:
    from ..plugin_host.frontends import FrontendMissing, FrontendOptions, load_frontend
    from ..store.engine import resolve_store_url

    try:
        run = load_frontend("gui")
    except FrontendMissing as exc:
        return fail(str(exc), EXIT_USAGE)
    return run(
        FrontendOptions(
            store_url=resolve_store_url(ctx.store_url or ctx.config.store),
            config_path=ctx.config_path,
            demo=bool(getattr(args, "demo", False)),
            demo_seed=getattr(args, "demo_seed", 7),
            demo_agents=getattr(args, "demo_agents", 6),
        )
    )


def init_store(args: argparse.Namespace, ctx: Context) -> int:
    services = ctx.services(create=True)
    print(f"store ready: {services.store_description}")
    return 0


def worker(args: argparse.Namespace, ctx: Context) -> int:
    import asyncio

    from ..plugin_host.loading import PluginError
    from . import traces

    services = ctx.services()
    try:
        sources = services.build_sources(services.source_configs())
    except PluginError as exc:
        return fail(str(exc), EXIT_USAGE)
    print(f"countersign worker: store {services.store_description}, "
          f"{len(sources)} source(s); Ctrl+C stops", file=sys.stderr)

    async def serve() -> None:
        said: dict[str, str | None] = {}

        def report(health: Any) -> None:  # headless: source trouble goes to stderr, once
            error = health.last_error if health.status.value == "failing" else None
            if error and said.get(health.name) != error:
                log.warning("source %s failing: %s", health.name, error)
            said[health.name] = error

        runtime = services.make_runtime(sources, on_health=report)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await runtime.start()
        receiver = await traces.start_worker_receiver(services.store, args)
        try:
            await stop.wait()
        finally:
            if receiver is not None:
                await receiver.stop()
            await runtime.stop()

    asyncio.run(serve())
    return 0


def sources_check(args: argparse.Namespace, ctx: Context) -> int:
    from ..plugin_host.check import run_check

    code, text = run_check(ctx.config.sources, as_json=args.json, timeout=args.timeout)
    if text:
        print(text)
    return code


def demo_fleet(args: argparse.Namespace, ctx: Context) -> int:
    import asyncio

    from ..plugin_host.loading import PluginError, load_source_class

    try:
        fleet = load_source_class("demo")
    except PluginError as exc:
        return fail(str(exc), EXIT_USAGE)
    services = ctx.services()
    progress = None
    if not args.json and sys.stderr.isatty():
        progress = FleetProgress(services, total=args.actions)

    async def run_it() -> Any:
        ticker = asyncio.create_task(progress.run()) if progress else None
        try:
            return await fleet.run_batch(services.store, agents=args.agents,
                                         actions=args.actions, seed=args.seed,
                                         deadline_s=args.deadline)
        finally:
            if ticker is not None:
                ticker.cancel()
                progress.finish()  # type: ignore[union-attr]

    report = asyncio.run(run_it())
    keys = ("requested", "approved", "edited", "rejected", "responded", "expired", "mismatches")
    print(json.dumps({k: report[k] for k in keys}))
    return 0


class FleetProgress:
    """requested / decided / waiting, redrawn on stderr while the fleet waits for
    verdicts (only on a terminal: scripts and ``--json`` get the result alone)."""

    BAR = 24

    def __init__(self, services: Any, *, total: int) -> None:
        self.services = services
        self.total = max(1, total)
        self.since = time.time()

    async def run(self) -> None:
        import asyncio

        while True:
            requested, waiting = await asyncio.to_thread(
                self.services.actions.progress_since, self.since)
            decided = requested - waiting
            filled = round(self.BAR * decided / self.total)
            bar = "█" * filled + "·" * (self.BAR - filled)
            sys.stderr.write(f"\r{bar} requested {requested}/{self.total} · decided "
                             f"{decided} · waiting for a verdict {waiting}   ")
            sys.stderr.flush()
            await asyncio.sleep(0.5)

    def finish(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()
