"""The audit commands:

    countersign audit verify [--expect SEQ:HASH]…   re-hash the chain; name the first bad
                                                    event; check the action and decision
                                                    rows against it; check each head kept
                                                    outside the database is still in it
    countersign audit head [--json]                 the current head, SEQ:HASH, to keep
                                                    elsewhere (a ticket, a cron job's mail)

``countersign audit verify --expect "$(countersign audit head)"`` run later proves the
log still holds that event unchanged: a log whose tail was deleted and whose head row
was rewritten passes every check inside the database, but not this one.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import EXIT_REFUSED, EXIT_USAGE, Context, fail, print_json


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    audit = sub.add_parser("audit", parents=[common], help="the hash-chained audit log")
    asub = audit.add_subparsers(dest="audit_command", metavar="SUBCOMMAND", required=True)
    verify_p = asub.add_parser(
        "verify", parents=[common],
        help="re-hash the chain and name the first bad event; check that the action and "
        "decision rows agree with it, and that each --expect head is still in it")
    verify_p.add_argument("--expect", metavar="SEQ:HASH", action="append", default=[],
                          help="a head printed earlier by `countersign audit head` "
                          "(repeatable); fail if the log no longer contains it")
    verify_p.set_defaults(handler=verify)
    head_p = asub.add_parser("head", parents=[common],
                             help="print the current head as SEQ:HASH, to keep outside "
                             "the database for `audit verify --expect`")
    head_p.add_argument("--json", action="store_true",
                        help="one JSON object: {sequence, hash, anchor}")
    head_p.set_defaults(handler=head)


def head(args: argparse.Namespace, ctx: Context) -> int:
    from ..services.audit import head as current_head

    found = current_head(ctx.services().store)
    if args.json:
        print_json({"sequence": found.sequence, "hash": found.hash, "anchor": found.anchor})
    else:
        print(found.anchor)
    return 0


def verify(args: argparse.Namespace, ctx: Context) -> int:
    from ..services.audit import AuditHead
    from ..services.audit import verify as verify_log

    try:
        expect = [AuditHead.parse(text) for text in args.expect]
    except ValueError as exc:
        return fail(f"--expect: {exc}", EXIT_USAGE)
    result = verify_log(ctx.services().store, expect=expect)
    if result.ok:
        rows = result.rows.checked if result.rows is not None else 0
        anchors = f"; {len(expect)} recorded head(s) found" if expect else ""
        print(f"audit log intact: {result.checked} events checked; {rows} actions agree "
              f"with it{anchors}")
        return 0
    if result.first_bad is not None:
        print(f"audit log BROKEN at event {result.first_bad}: {result.problem} "
              f"({result.checked} events before it check out)", file=sys.stderr)
    if result.anchor_problem is not None:
        print(f"audit log does not hold its recorded head: {result.anchor_problem}",
              file=sys.stderr)
    if result.rows is not None and result.rows.count:
        print(f"{result.rows.count} row(s) disagree with the audit log:", file=sys.stderr)
        for problem in result.rows.problems:
            print(f"  {problem}", file=sys.stderr)
        if result.rows.count > len(result.rows.problems):
            print(f"  … and {result.rows.count - len(result.rows.problems)} more",
                  file=sys.stderr)
    return EXIT_REFUSED
