"""The reviewer's commands (issue 12; scripts rely on these exact forms):

    countersign review add ACTION_ID | --trace TRACE_ID [--rubric NAME] [--labels N] [--json]
    countersign review sample [--json]
    countersign review list [--state open|done|all] [--json]
    countersign review label ITEM_ID --reviewer NAME --answers JSON [--correction JSON]
    countersign rubric list [--json] | import FILE.toml | export NAME
    countersign agreement [--rubric NAME] [--json]
    countersign dataset build|list|diff|export|push …        (datasets.py)

``--json`` prints one JSON document (lists as one array). Every refusal (a bad rubric
file, an answer the rubric does not take, a correction that breaks the schema, a slot
another reviewer holds) exits 1 with one line naming the field or the cause.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import EXIT_REFUSED, EXIT_USAGE, Context, fail, print_json

if TYPE_CHECKING:
    from ..domain.review import ReviewItem
    from ..review.agreement import AgreementReport


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    from . import datasets

    review = sub.add_parser("review", parents=[common],
                            help="the review queue: add, sample, list, label")
    rsub = review.add_subparsers(dest="review_command", metavar="SUBCOMMAND", required=True)

    add = rsub.add_parser("add", parents=[common],
                          help="send an action (or a run) to review by hand (ad hoc)")
    add.add_argument("action_id", metavar="ACTION_ID", type=int, nargs="?")
    add.add_argument("--trace", metavar="TRACE_ID", help="review a run instead of an action")
    add.add_argument("--rubric", metavar="NAME",
                     help="the rubric to answer (default: the action or the run rubric)")
    add.add_argument("--labels", metavar="N", type=int, default=1,
                     help="labels needed, from as many different reviewers (default 1)")
    add.add_argument("--json", action="store_true", help='print {"id": ...}')
    add.set_defaults(handler=add_item)

    sample = rsub.add_parser("sample", parents=[common],
                             help="apply the sampling rules to everything not yet considered")
    sample.add_argument("--json", action="store_true", help='print {"considered", "drawn"}')
    sample.set_defaults(handler=sample_items)

    listing = rsub.add_parser("list", parents=[common], help="the review queue")
    listing.add_argument("--state", choices=("open", "done", "all"), default="open")
    listing.add_argument("--json", action="store_true", help="one JSON array")
    listing.set_defaults(handler=list_items)

    label = rsub.add_parser("label", parents=[common], help="label one review item")
    label.add_argument("item_id", metavar="ITEM_ID", type=int)
    label.add_argument("--reviewer", metavar="NAME", required=True)
    label.add_argument("--answers", metavar="JSON", required=True,
                       help="answers keyed by question key, as a JSON object")
    label.add_argument("--correction", metavar="JSON",
                       help="the expected arguments (action) or output (run), as JSON")
    label.add_argument("--json", action="store_true", help="print the stored label")
    label.set_defaults(handler=label_item)

    rubric = sub.add_parser("rubric", parents=[common], help="rubrics: list, import, export")
    usub = rubric.add_subparsers(dest="rubric_command", metavar="SUBCOMMAND", required=True)
    rlist = usub.add_parser("list", parents=[common], help="the newest version of each")
    rlist.add_argument("--json", action="store_true", help="one JSON array")
    rlist.set_defaults(handler=list_rubrics)
    rimport = usub.add_parser("import", parents=[common],
                              help="store a TOML rubric (a known name makes a new version)")
    rimport.add_argument("file", metavar="FILE.toml", type=Path)
    rimport.add_argument("--json", action="store_true", help="print name and version")
    rimport.set_defaults(handler=import_rubric)
    rexport = usub.add_parser("export", parents=[common], help="print a rubric as TOML")
    rexport.add_argument("name", metavar="NAME")
    rexport.add_argument("--version", type=int, metavar="V", help="default: the newest")
    rexport.set_defaults(handler=export_rubric)

    agree = sub.add_parser("agreement", parents=[common],
                           help="reviewer agreement: alpha per question, kappa per pair")
    agree.add_argument("--rubric", metavar="NAME", default="action-outcome")
    agree.add_argument("--json", action="store_true", help="one JSON object")
    agree.set_defaults(handler=show_agreement)

    datasets.add_parsers(sub, common)


# -- review --------------------------------------------------------------------------

def add_item(args: argparse.Namespace, ctx: Context) -> int:
    from ..services.actions import UnknownAction
    from ..services.review_rubrics import UnknownRubric
    from ..services.review_sampling import ReviewAddError, UnknownTrace

    if (args.action_id is None) == (args.trace is None):
        return fail("give an ACTION_ID or --trace TRACE_ID (one of them)", EXIT_USAGE)
    services = ctx.services()
    try:
        item_id, created = services.review.add(
            actor=services.identity, action_id=args.action_id, trace_id=args.trace,
            rubric=args.rubric, labels=args.labels)
    except (ReviewAddError, UnknownAction, UnknownTrace, UnknownRubric) as exc:
        return fail(str(exc))
    if args.json:
        print_json({"id": item_id, "created": created})
    else:
        print(item_id)
    return 0


def sample_items(args: argparse.Namespace, ctx: Context) -> int:
    report = ctx.services().review.sample()
    if args.json:
        print_json({"considered": report.considered, "drawn": report.drawn})
    else:
        print(f"considered {report.considered} ({report.actions_considered} decisions, "
              f"{report.runs_considered} runs), drew {report.drawn}")
    return 0


def _item_json(item: ReviewItem) -> dict[str, Any]:
    return {"id": item.id, "action_id": item.action_id, "trace_id": item.trace_id,
            "rubric": item.rubric, "pi": item.pi, "rule": item.rule, "labels": item.labels,
            "needed": item.needed, "state": item.state, "agent": item.agent,
            "action_class": item.action_class, "risk": item.risk, "verdict": item.verdict,
            "created_at": item.created_at, "claimed_by": list(item.claimed_by)}


def list_items(args: argparse.Namespace, ctx: Context) -> int:
    items = ctx.services().review.items(state=args.state)
    if args.json:
        print_json([_item_json(item) for item in items])
        return 0
    if not items:
        print("no review items")
        return 0
    from ..text import one_line

    print(f"{'ID':>7}  {'SUBJECT':<22} {'LABELS':>6}  {'VERDICT':<12} {'WHY':<26} AGENT")
    for item in items:
        subject = (f"action {item.action_id}" if item.action_id is not None
                   else f"run {(item.trace_id or '')[:16]}")
        print(f"{item.id:>7}  {subject:<22} {item.labels:>3}/{item.needed:<2}  "
              f"{item.verdict or '—':<12} {one_line(item.why, 26):<26} "
              f"{one_line(item.agent or '—', 40)}")
    return 0


def _json_option(text: str, option: str) -> Any:
    from ..jsonio import JsonInputError, loads

    try:
        return loads(text)
    except (ValueError, JsonInputError) as exc:
        raise ValueError(f"{option} is not valid JSON: {exc}") from exc


def label_item(args: argparse.Namespace, ctx: Context) -> int:
    from ..services.review_labels import ReviewError

    try:
        answers = _json_option(args.answers, "--answers")
        correction = (_json_option(args.correction, "--correction")
                      if args.correction is not None else None)
    except ValueError as exc:
        return fail(str(exc))
    if not isinstance(answers, dict):
        return fail("--answers must be a JSON object keyed by question key")
    try:
        label = ctx.services().review.submit(args.item_id, reviewer=args.reviewer,
                                             answers=answers, correction=correction)
    except ReviewError as exc:
        return fail(str(exc))
    if args.json:
        print_json(label.model_dump(mode="json"))
    else:
        print(f"review item {label.item_id}: labelled by {label.reviewer} "
              f"(label {label.id}, {label.rubric} version {label.rubric_version})")
    return 0


# -- rubrics -------------------------------------------------------------------------

def list_rubrics(args: argparse.Namespace, ctx: Context) -> int:
    rubrics = ctx.services().review.rubrics()
    if args.json:
        print_json([{"name": r.name, "version": r.version, "target": r.target,
                     "description": r.description,
                     "questions": [q.key for q in r.questions]} for r in rubrics])
        return 0
    for rubric in rubrics:
        print(f"{rubric.name} (version {rubric.version}, {rubric.target}): "
              f"{', '.join(q.key for q in rubric.questions)}")
    return 0


def import_rubric(args: argparse.Namespace, ctx: Context) -> int:
    from ..review.rubric import RubricError

    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return fail(f"cannot read {args.file}: {exc}")
    services = ctx.services()
    try:
        rubric, made = services.review.import_rubric(text, actor=services.identity,
                                                     source=str(args.file))
    except RubricError as exc:
        return fail(str(exc))
    if args.json:
        print_json({"name": rubric.name, "version": rubric.version, "created": made})
    elif made:
        print(f"rubric {rubric.name} version {rubric.version} stored")
    else:
        print(f"rubric {rubric.name} unchanged (version {rubric.version} says the same)")
    return 0


def export_rubric(args: argparse.Namespace, ctx: Context) -> int:
    from ..services.review_rubrics import UnknownRubric

    try:
        text = ctx.services().review.export_rubric(args.name, args.version)
    except UnknownRubric as exc:
        return fail(str(exc))
    print(text, end="")
    return 0


# -- agreement -----------------------------------------------------------------------

def _agreement_json(report: AgreementReport) -> dict[str, Any]:
    return {
        "rubric": report.rubric, "version": report.version, "items": report.items,
        "labels": report.labels, "kappa_question": report.kappa_question,
        "questions": [{"key": q.key, "alpha": q.alpha, "level": q.level, "items": q.items}
                      for q in report.questions],
        "pairs": [{"a": p.a, "b": p.b, "question": p.question, "kappa": p.kappa,
                   "items": p.items} for p in report.pairs],
    }


def show_agreement(args: argparse.Namespace, ctx: Context) -> int:
    from ..services.review_rubrics import UnknownRubric

    try:
        report = ctx.services().review.agreement(args.rubric)
    except UnknownRubric as exc:
        return fail(str(exc), EXIT_REFUSED)
    if args.json:
        print_json(_agreement_json(report))
        return 0

    def shown(value: float | None) -> str:
        return "—" if value is None else f"{value:.3f}"

    print(f"rubric {report.rubric}: {report.labels} labels on {report.items} items")
    for q in report.questions:
        low = "  below 0.667" if q.alpha is not None and q.alpha < 0.667 else ""
        print(f"  alpha {q.key:<24} {shown(q.alpha):>6} ({q.level}, {q.items} items){low}")
    for p in report.pairs:
        print(f"  kappa {p.a} / {p.b}: {shown(p.kappa)} ({p.question}, {p.items} items)")
    return 0
