"""The audit commands:

    countersign audit verify     re-hash the chain; name the first bad event
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import EXIT_REFUSED, Context


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    audit = sub.add_parser("audit", parents=[common], help="the hash-chained audit log")
    asub = audit.add_subparsers(dest="audit_command", metavar="SUBCOMMAND", required=True)
    verify_p = asub.add_parser("verify", parents=[common],
                               help="re-hash the chain; name the first bad event")
    verify_p.set_defaults(handler=verify)


def verify(args: argparse.Namespace, ctx: Context) -> int:
    from ..services.audit import verify as verify_chain

    result = verify_chain(ctx.services().store)
    if result.ok:
        print(f"audit log intact: {result.checked} events checked")
        return 0
    print(f"audit log BROKEN at event {result.first_bad}: {result.problem} "
          f"({result.checked} events before it check out)", file=sys.stderr)
    return EXIT_REFUSED
