"""The dataset commands (issue 12; registered by ``review.py``):

    countersign dataset build NAME [--agent A] [--action-class C] [--verdict V...] [--json]
                              [--answer KEY=VALUE]... [--since WHEN] [--until WHEN]
    countersign dataset list [--json]
    countersign dataset diff NAME V1 V2 [--json]
    countersign dataset export NAME [--version V] --format openai-evals|phoenix|langfuse|csv|jsonl
                               --out FILE
    countersign dataset push NAME --phoenix URL [--version V]

A bad dataset name, an export path that cannot be written, a Phoenix server that is
down or fails: one line naming the cause, exit 1, nothing half-written. A Phoenix API
key, when the server needs one, is read from ``$PHOENIX_API_KEY``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from .common import EXIT_USAGE, Context, fail, print_json

FORMATS = ("openai-evals", "phoenix", "langfuse", "csv", "jsonl")


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    dataset = sub.add_parser("dataset", parents=[common],
                             help="eval datasets: build, list, diff, export, push")
    dsub = dataset.add_subparsers(dest="dataset_command", metavar="SUBCOMMAND", required=True)

    build = dsub.add_parser("build", parents=[common],
                            help="freeze the matching decisions and labels as a new version")
    build.add_argument("name", metavar="NAME")
    build.add_argument("--agent", metavar="A")
    build.add_argument("--action-class", metavar="C")
    build.add_argument("--verdict", metavar="V", nargs="+", action="extend", default=[],
                       help="approve, edit, reject, respond, auto_approve, expire (or "
                       "approved, edited, …)")
    build.add_argument("--answer", metavar="KEY=VALUE", action="append", default=[],
                       help="only items with a label giving this answer (repeatable; "
                       "e.g. correct=wrong harm=true)")
    build.add_argument("--since", metavar="WHEN", help="decided or labelled since: a "
                       "duration back from now (2h, 7d) or an ISO date/time")
    build.add_argument("--until", metavar="WHEN", help="…and before (same forms)")
    build.add_argument("--json", action="store_true", help="print name, version, examples")
    build.set_defaults(handler=build_dataset)

    listing = dsub.add_parser("list", parents=[common], help="every version of every dataset")
    listing.add_argument("--json", action="store_true", help="one JSON array")
    listing.set_defaults(handler=list_datasets)

    diff = dsub.add_parser("diff", parents=[common],
                           help="examples added, removed and changed between two versions")
    diff.add_argument("name", metavar="NAME")
    diff.add_argument("old", metavar="V1", type=int)
    diff.add_argument("new", metavar="V2", type=int)
    diff.add_argument("--json", action="store_true", help="one JSON object of keys")
    diff.set_defaults(handler=diff_datasets)

    export = dsub.add_parser("export", parents=[common],
                             help="write a version in a format eval tools read")
    export.add_argument("name", metavar="NAME")
    export.add_argument("--version", type=int, metavar="V", help="default: the newest")
    export.add_argument("--format", required=True, choices=FORMATS)
    export.add_argument("--out", required=True, type=Path, metavar="FILE")
    export.add_argument("--json", action="store_true", help="print what was written")
    export.set_defaults(handler=export_dataset)

    push = dsub.add_parser("push", parents=[common], help="upload a version to Phoenix")
    push.add_argument("name", metavar="NAME")
    push.add_argument("--phoenix", required=True, metavar="URL")
    push.add_argument("--version", type=int, metavar="V", help="default: the newest")
    push.add_argument("--json", action="store_true", help="print Phoenix's answer")
    push.set_defaults(handler=push_dataset)


def build_dataset(args: argparse.Namespace, ctx: Context) -> int:
    from ..domain.review import DatasetFilter
    from ..review.datasets import parse_answer_filter
    from ..services.datasets import DatasetError
    from .traces import parse_since

    try:
        answers = parse_answer_filter(args.answer)
        since, until = (parse_since(text) / 1e9 if text else None
                        for text in (args.since, args.until))
    except (ValueError, argparse.ArgumentTypeError) as exc:
        return fail(str(exc), EXIT_USAGE)
    services = ctx.services()
    wanted = DatasetFilter(agent=args.agent, action_class=args.action_class,
                           verdicts=tuple(args.verdict), answers=answers, since=since,
                           until=until)
    try:
        info = services.datasets.build(args.name, wanted, actor=services.identity)
    except DatasetError as exc:
        return fail(str(exc))
    if args.json:
        print_json({"name": info.name, "version": info.version, "examples": info.examples})
    else:
        print(f"dataset {info.name} version {info.version}: {info.examples} examples")
    return 0


def list_datasets(args: argparse.Namespace, ctx: Context) -> int:
    versions = ctx.services().datasets.versions()
    if args.json:
        print_json([{"name": v.name, "version": v.version, "examples": v.examples,
                     "created_at": v.created_at, "created_by": v.created_by,
                     "filter": v.filter.model_dump(mode="json")} for v in versions])
        return 0
    if not versions:
        print("no datasets")
        return 0
    import time

    from ..text import one_line

    for v in versions:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(v.created_at))
        print(f"{one_line(v.name, 40):<40} v{v.version:<4} {v.examples:>8} examples  "
              f"{when}  {one_line(v.created_by, 30)}")
    return 0


def diff_datasets(args: argparse.Namespace, ctx: Context) -> int:
    from ..services.datasets import DatasetError

    try:
        diff = ctx.services().datasets.diff(args.name, args.old, args.new)
    except DatasetError as exc:
        return fail(str(exc))
    keys = {"added": [e.key for e in diff.added], "removed": [e.key for e in diff.removed],
            "changed": [new.key for _, new in diff.changed]}
    if args.json:
        print_json({"name": args.name, "old": args.old, "new": args.new, **keys})
        return 0
    print(f"dataset {args.name} v{args.old} → v{args.new}: {len(keys['added'])} added, "
          f"{len(keys['removed'])} removed, {len(keys['changed'])} changed")
    for sign, which in (("+", "added"), ("-", "removed"), ("~", "changed")):
        for key in keys[which]:
            print(f"  {sign} {key}")
    return 0


def export_dataset(args: argparse.Namespace, ctx: Context) -> int:
    from ..review.export import ExportError
    from ..services.datasets import DatasetError

    show = sys.stderr.isatty() and not args.json

    def progress(done: int) -> None:
        if show:
            print(f"\r{done} examples written", end="", file=sys.stderr, flush=True)

    try:
        info, written = ctx.services().datasets.export(
            args.name, args.format, args.out, version=args.version, progress=progress)
    except (DatasetError, ExportError) as exc:
        return fail(str(exc))
    if show:
        print(file=sys.stderr)
    if args.json:
        print_json({"name": info.name, "version": info.version, "format": args.format,
                    "out": str(args.out), "examples": written})
    else:
        print(f"dataset {info.name} version {info.version}: {written} examples written to "
              f"{args.out} ({args.format})")
    return 0


def push_dataset(args: argparse.Namespace, ctx: Context) -> int:
    from ..review.phoenix import PhoenixError
    from ..services.datasets import DatasetError

    try:
        info, result = ctx.services().datasets.push(
            args.name, args.phoenix, version=args.version,
            api_key=os.environ.get("PHOENIX_API_KEY") or None)
    except (DatasetError, PhoenixError) as exc:
        return fail(str(exc))
    if args.json:
        print_json({"name": info.name, "version": info.version,
                    **result.model_dump(mode="json")})
    else:
        print(f"dataset {info.name} version {info.version} pushed to Phoenix: "
              f"{result.created} created, {result.updated} updated, {result.deleted} "
              f"deleted ({result.url})")
    return 0
