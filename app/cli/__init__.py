"""The ``countersign`` command. Scripts and runbooks rely on these exact forms:

    countersign [--store URL] [--config FILE] [gui [--demo]]
    countersign init                                   create the store named by --store
    countersign worker [--otlp-port PORT] [--otlp-host HOST] [--no-otlp]
    countersign sources check [--json] [--timeout SECONDS]
    countersign demo-fleet --agents N --actions M --seed S [--json]
    countersign queue list|show|decide …              (queue.py)
    countersign audit verify [--expect SEQ:HASH] / audit head [--json]   (audit.py)
    countersign review|rubric|agreement|dataset …      (review.py, datasets.py)
    countersign autonomy|budgets …                     (autonomy.py)
    countersign import-otlp FILE… / trace show|list …  (traces.py)

Global options (``--store``, ``--config``) are accepted before or after the command,
as people type them. Each command group is one module with ``add_parsers(sub,
common)``; a parser's ``handler`` default says which function runs it.

Exit codes: 0 success; 1 the request was refused (already decided, unknown action,
invalid arguments, broken audit chain); 2 usage errors; 3 the store is unusable.

Imports are lazy: a command pays only for what it uses (``queue list`` answers in a
few hundred milliseconds, not a second and a half).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from .common import EXIT_REFUSED, EXIT_STORE, EXIT_USAGE, Context

__all__ = ["EXIT_REFUSED", "EXIT_STORE", "EXIT_USAGE", "main"]


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--store", metavar="URL", default=default,
                        help="SQLAlchemy URL of the store (default: $COUNTERSIGN_STORE, "
                        "else SQLite in the user data directory)")
    parser.add_argument("--config", metavar="FILE", type=Path, default=default,
                        help="TOML configuration file (sources, reviewer name)")


def _parser() -> argparse.ArgumentParser:
    from . import audit, autonomy, queue, review, run, traces

    parser = argparse.ArgumentParser(
        prog="countersign",
        description="Review what AI agents want to do: approve, edit, reject or respond.",
    )
    _global_options(parser, suppress=False)
    # The same options after the command: SUPPRESS keeps a value given before it.
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, suppress=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run.add_parsers(sub, common)
    queue.add_parsers(sub, common)
    audit.add_parsers(sub, common)
    review.add_parsers(sub, common)
    autonomy.add_parsers(sub, common)
    traces.add_parsers(sub)
    for name in ("import-otlp", "trace"):
        sub.choices[name].set_defaults(handler=_traces)
    _accept_global_options(parser)
    return parser


def _accept_global_options(parser: argparse.ArgumentParser) -> None:
    """Give every subcommand parser the global options (those built without the
    ``common`` parent too), so ``countersign trace show ID --store URL`` works."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                if "--store" not in child._option_string_actions:
                    _global_options(child, suppress=True)
                _accept_global_options(child)


def _traces(args: argparse.Namespace, ctx: Context) -> int:
    from . import traces

    code: int = traces.run(args, ctx.services().store)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    if args.command is None:
        args.command = "gui"
        from .run import gui

        args.handler = gui
    ctx = Context(args)
    from ..config import ConfigError
    from ..store.engine import StoreError

    try:
        code: int = args.handler(args, ctx)
        return code
    except ConfigError as exc:
        print(f"countersign: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:
        print(f"countersign: {exc}", file=sys.stderr)
        return EXIT_STORE
    except KeyboardInterrupt:
        return 130
    finally:
        ctx.close()


if __name__ == "__main__":
    sys.exit(main())
