"""The queue commands:

    countersign queue list [--state pending|decided|all] [--agent NAME] [--json|--jsonl]
    countersign queue show ACTION_ID [--json]
    countersign queue decide ACTION_ID --verdict approve|edit|reject|respond
                             [--arguments JSON] [--severity cosmetic|material|critical]
                             [--reason TEXT] [--reviewer NAME]

``--json`` prints one JSON array (``[]`` when empty); ``--jsonl`` one object per line.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

from .common import EXIT_REFUSED, EXIT_USAGE, Context, fail, print_json, print_jsonl

if TYPE_CHECKING:
    from ..domain import ActionDetail, DecisionRecord, QueueRow, SpanRecord

_STATES = ("pending", "decided", "all")
_VERDICTS = ("approve", "edit", "reject", "respond")
_SEVERITIES = ("cosmetic", "material", "critical")


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    queue = sub.add_parser("queue", parents=[common], help="list, show or decide actions")
    qsub = queue.add_subparsers(dest="queue_command", metavar="SUBCOMMAND", required=True)

    qlist = qsub.add_parser("list", parents=[common], help="list actions")
    qlist.add_argument("--state", choices=_STATES, default="pending")
    qlist.add_argument("--agent", metavar="NAME")
    out = qlist.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON array")
    out.add_argument("--jsonl", action="store_true", help="one JSON object per line")
    qlist.set_defaults(handler=list_actions)

    show = qsub.add_parser("show", parents=[common],
                           help="one action: arguments, schema, decision, reasoning")
    show.add_argument("action_id", metavar="ACTION_ID", type=int)
    show.add_argument("--json", action="store_true", help="one JSON object")
    show.set_defaults(handler=show_action)

    decide = qsub.add_parser("decide", parents=[common], help="give the verdict on one action")
    decide.add_argument("action_id", metavar="ACTION_ID", type=int)
    decide.add_argument("--verdict", required=True, choices=_VERDICTS)
    decide.add_argument("--arguments", metavar="JSON", help="the edited arguments (edit)")
    decide.add_argument("--severity", choices=_SEVERITIES,
                        help="how much the edit changes (edit)")
    decide.add_argument("--reason", metavar="TEXT",
                        help="why (required to reject; the text sent back to respond)")
    decide.add_argument("--reviewer", metavar="NAME", help="who decides (default: you)")
    decide.set_defaults(handler=decide_action)


# -- list ----------------------------------------------------------------------------


def list_actions(args: argparse.Namespace, ctx: Context) -> int:
    from ..domain import ActionState

    states: tuple[ActionState, ...] = {
        "pending": (ActionState.PENDING,),
        "decided": tuple(s for s in ActionState if s is not ActionState.PENDING),
        "all": (),
    }[args.state]
    services = ctx.services()
    rows = services.actions.queue_rows(states=states, agent=args.agent)
    decided = [r.id for r in rows if r.state is not ActionState.PENDING]
    decisions = services.decisions.for_actions(decided) if decided else {}
    if args.json or args.jsonl:
        items = [_row_json(row, decisions.get(row.id)) for row in rows]
        (print_jsonl if args.jsonl else print_json)(items)
        return 0
    if not rows:
        print("no actions")
        return 0
    print(f"{'ID':>7}  {'STATE':<13} {'VERDICT':<12} {'RISK':<8} {'AGE':>7}  "
          f"{'AGENT':<22} ACTION")
    now = time.time()
    for row in rows:
        print(_list_line(row, decisions.get(row.id), now))
    return 0


def _row_json(row: QueueRow, decision: DecisionRecord | None) -> dict[str, Any]:
    item = row.model_dump(mode="json")
    item["verdict"] = decision.verdict.value if decision else None
    item["decided_by"] = decision.reviewer if decision else None
    return item


def _list_line(row: QueueRow, decision: DecisionRecord | None, now: float) -> str:
    from ..text import age_text, one_line

    verdict = decision.verdict.value if decision else "—"
    return (f"{row.id:>7}  {row.state.value:<13} {verdict:<12} {row.risk.value:<8} "
            f"{age_text(now - row.created_at):>7}  {one_line(row.agent, 22):<22} "
            f"{one_line(row.action_class, 60)}")


# -- show ----------------------------------------------------------------------------


def show_action(args: argparse.Namespace, ctx: Context) -> int:
    from ..services.actions import UnknownAction

    services = ctx.services()
    try:
        detail = services.actions.get(args.action_id)
    except UnknownAction as exc:
        return fail(str(exc))
    decision = services.decisions.get(detail.id)
    spans = services.actions.spans(detail.trace_id) if detail.trace_id else []
    document = _action_json(detail, decision, spans)
    if args.json:
        print_json(document)
        return 0
    _print_action(document)
    return 0


def _action_json(detail: ActionDetail, decision: DecisionRecord | None,
                 spans: list[SpanRecord]) -> dict[str, Any]:
    from ..jsonio import loads

    return {
        "id": detail.id,
        "agent": detail.agent,
        "agent_version": detail.agent_version,
        "action_class": detail.action_class,
        "arguments": loads(detail.arguments_json),
        "arguments_schema": detail.arguments_schema,
        "description": detail.description,
        "risk": detail.risk.value,
        "state": detail.state.value,
        "version": detail.version,
        "created_at": detail.created_at,
        "deadline": detail.deadline,
        "trace_id": detail.trace_id,
        "span_id": detail.span_id,
        "source": detail.source,
        "allowed_verdicts": [v.value for v in detail.allowed_verdicts],
        "autonomy_level": detail.autonomy_level.value,
        "error": detail.error,
        "ingest_warnings": list(detail.ingest_warnings),
        "decision": None if decision is None else {
            "verdict": decision.verdict.value,
            "arguments": loads(decision.arguments_json) if decision.arguments_json else None,
            "severity": decision.severity.value if decision.severity else None,
            "reason": decision.reason,
            "response": decision.response,
            "reviewer": decision.reviewer,
            "decided_at": decision.decided_at,
            "delivery_state": decision.delivery_state.value,
        },
        "reasoning": [
            {"span_id": s.span_id, "parent_span_id": s.parent_span_id, "name": s.name,
             "kind": s.kind.value, "model": s.model, "status": s.status_code,
             "prompt_tokens": s.prompt_tokens, "completion_tokens": s.completion_tokens}
            for s in spans
        ],
    }


def _print_action(doc: dict[str, Any]) -> None:
    import json

    from ..text import make_visible as visible
    from ..text import one_line

    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(doc["created_at"]))
    print(f"action {doc['id']}: {one_line(doc['action_class'], 80)} by "
          f"{one_line(doc['agent'], 60)} {doc['agent_version']}".rstrip())
    print(f"  state {doc['state']} · risk {doc['risk']} · level {doc['autonomy_level']} · "
          f"requested {when}")
    print(f"  trace {doc['trace_id'] or '—'}  span {doc['span_id'] or '—'}")
    if doc["description"]:
        print(f"  {visible(doc['description'])}")
    print("arguments:")
    print(_indent(visible(json.dumps(doc["arguments"], indent=2, ensure_ascii=False))))
    if doc["arguments_schema"]:
        print("schema:")
        print(_indent(json.dumps(doc["arguments_schema"], indent=2, ensure_ascii=False)))
    decision = doc["decision"]
    if decision:
        line = f"decision: {decision['verdict']} by {decision['reviewer']}"
        if decision["severity"]:
            line += f" ({decision['severity']} edit)"
        print(f"{line} · delivery {decision['delivery_state']}")
        for key in ("reason", "response"):
            if decision[key]:
                print(f"  {key}: {visible(decision[key])}")
        if decision["arguments"] is not None:
            print(_indent(visible(json.dumps(decision["arguments"], indent=2,
                                             ensure_ascii=False))))
    if doc["error"]:
        print(f"error: {visible(doc['error'])}")
    if doc["reasoning"]:
        print("reasoning:")
        for step in doc["reasoning"]:
            model = f" · {step['model']}" if step["model"] else ""
            print(f"  {step['kind']:<10} {one_line(step['name'], 60)}{model}")


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


# -- decide --------------------------------------------------------------------------


def decide_action(args: argparse.Namespace, ctx: Context) -> int:
    import getpass

    from ..domain import EditSeverity, Verdict
    from ..jsonio import JsonInputError, loads
    from ..services.actions import UnknownAction
    from ..services.decisions import DecisionError

    verdict = Verdict(args.verdict)
    arguments = None
    if args.arguments is not None:
        if verdict is not Verdict.EDIT:
            return fail("--arguments goes with --verdict edit", EXIT_USAGE)
        try:
            arguments = loads(args.arguments)
        except (ValueError, JsonInputError) as exc:
            return fail(f"--arguments is not valid JSON: {exc}", EXIT_USAGE)
    reviewer = args.reviewer or ctx.config.reviewer or getpass.getuser()
    services = ctx.services()
    try:
        decision = services.decisions.decide(
            args.action_id,
            verdict,
            reviewer=reviewer,
            arguments=arguments,
            severity=EditSeverity(args.severity) if args.severity else None,
            reason=args.reason if verdict is Verdict.REJECT else None,
            response=args.reason if verdict is Verdict.RESPOND else None,
        )
    except (DecisionError, UnknownAction) as exc:
        return fail(str(exc), EXIT_REFUSED)
    print(f"action {decision.action_id}: {decision.verdict.value} by {decision.reviewer} "
          f"(decision {decision.id})")
    return 0
