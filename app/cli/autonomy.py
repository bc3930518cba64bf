"""The lead's commands (issue 13; scripts rely on these exact forms):

    countersign autonomy status [--agent A] [--json]
    countersign autonomy promote AGENT ACTION_CLASS --to L2|L3 --lead NAME [--reason TEXT]
                                 [--agent-version V]
    countersign autonomy demote AGENT ACTION_CLASS --to L0|L1|L2 --lead NAME --reason TEXT
    countersign autonomy replay AGENT ACTION_CLASS --level L2|L3 [--json]
    countersign autonomy simulate [--units N] [--seed S] [--json]
    countersign budgets set AGENT [--actions-per-minute N] [--tokens-per-hour N]
                                  [--cost-per-hour X] [--repeats N]
    countersign budgets status [--json]
    countersign budgets reset AGENT --lead NAME

A unit is an agent version and an action class; without ``--agent-version`` the newest
version of the agent that requested the class is meant. A promotion the engine does not
recommend exits 1 naming the unmet rules, unless ``--reason`` is given (it is then
recorded as against the recommendation). Thresholds come from the store (the config
file's ``[autonomy]`` table replaces them when present); one that makes no sense exits 2
naming the setting. A unit without evidence says "no evidence yet", in JSON null.
``budgets set`` with 0 removes that budget.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

from .common import EXIT_REFUSED, EXIT_USAGE, Context, fail, print_json

if TYPE_CHECKING:
    from ..domain.autonomy import BudgetStatus, LevelChange
    from ..domain.autonomy_status import UnitStatus


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    autonomy = sub.add_parser("autonomy", parents=[common],
                              help="autonomy levels: status, promote, demote, replay, simulate")
    asub = autonomy.add_subparsers(dest="autonomy_command", metavar="SUBCOMMAND",
                                   required=True)
    status = asub.add_parser("status", parents=[common],
                             help="every unit's level, evidence and recommendation")
    status.add_argument("--agent", metavar="A", help="only this agent's units")
    status.add_argument("--json", action="store_true", help="one JSON array")
    status.set_defaults(handler=show_status)

    promote = asub.add_parser("promote", parents=[common], help="confirm a promotion")
    _unit_arguments(promote)
    promote.add_argument("--to", required=True, choices=("L2", "L3"))
    promote.add_argument("--lead", required=True, metavar="NAME")
    promote.add_argument("--reason", metavar="TEXT",
                         help="required against the recommendation (recorded as such)")
    promote.add_argument("--agent-version", metavar="V", help="default: the newest")
    promote.set_defaults(handler=promote_unit)

    demote = asub.add_parser("demote", parents=[common], help="move a unit down")
    _unit_arguments(demote)
    demote.add_argument("--to", required=True, choices=("L0", "L1", "L2"))
    demote.add_argument("--lead", required=True, metavar="NAME")
    demote.add_argument("--reason", required=True, metavar="TEXT")
    demote.set_defaults(handler=demote_unit)

    replay = asub.add_parser("replay", parents=[common],
                             help="what if the unit had been at a level over its history")
    _unit_arguments(replay)
    replay.add_argument("--level", required=True, choices=("L2", "L3"))
    replay.add_argument("--json", action="store_true", help="one JSON object")
    replay.set_defaults(handler=replay_unit)

    simulate = asub.add_parser("simulate", parents=[common],
                               help="the engine on simulated units with known error rates")
    simulate.add_argument("--units", type=int, default=500, metavar="N")
    simulate.add_argument("--seed", type=int, default=0, metavar="S")
    simulate.add_argument("--json", action="store_true", help="one JSON object")
    simulate.set_defaults(handler=run_simulation)

    budgets = sub.add_parser("budgets", parents=[common],
                             help="per-agent budgets and circuit breakers: set, status, reset")
    bsub = budgets.add_subparsers(dest="budgets_command", metavar="SUBCOMMAND", required=True)
    bset = bsub.add_parser("set", parents=[common], help="set an agent's budgets (0 removes)")
    bset.add_argument("agent", metavar="AGENT")
    bset.add_argument("--actions-per-minute", type=int, metavar="N")
    bset.add_argument("--tokens-per-hour", type=int, metavar="N")
    bset.add_argument("--cost-per-hour", type=float, metavar="X")
    bset.add_argument("--repeats", type=int, metavar="N",
                      help="identical requests allowed within an hour after the first")
    bset.set_defaults(handler=set_budget)
    bstatus = bsub.add_parser("status", parents=[common],
                              help="budgets, current figures and tripped breakers")
    bstatus.add_argument("--json", action="store_true", help="one JSON array")
    bstatus.set_defaults(handler=budget_status)
    breset = bsub.add_parser("reset", parents=[common], help="reset a tripped breaker")
    breset.add_argument("agent", metavar="AGENT")
    breset.add_argument("--lead", required=True, metavar="NAME")
    breset.set_defaults(handler=reset_breaker)


def _unit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("agent", metavar="AGENT")
    parser.add_argument("action_class", metavar="ACTION_CLASS")


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


# -- status ---------------------------------------------------------------------------


def show_status(args: argparse.Namespace, ctx: Context) -> int:
    units = ctx.services().autonomy.status(agent=args.agent)
    if args.json:
        print_json([u.summary_json() for u in units])
        return 0
    if not units:
        print("no units yet" + (f" for {args.agent}" if args.agent else ""))
        return 0
    for unit in units:
        _print_unit(unit)
    return 0


def _print_unit(unit: UnitStatus) -> None:
    from ..text import one_line

    ev = unit.evidence
    since = time.strftime("%Y-%m-%d", time.gmtime(unit.level_since))
    print(f"{one_line(str(unit.unit), 80)}: {unit.level.label} since {since} · "
          f"{ev.recommendation.upper()}")
    if ev.n == 0:
        print("  no evidence yet")
    else:
        accuracy = None if ev.failure_rate is None else 1.0 - ev.failure_rate
        print(f"  n {ev.n} · n_eff {ev.n_eff:.1f} · accuracy {_percent(accuracy)} "
              f"(Wilson lower {_percent(ev.wilson_lower)}) · "
              f"P(accuracy > {ev.target:.0%}) {_percent(ev.p_above_target)}")
        print(f"  SPRT {ev.sprt.sum:.2f} in [{ev.sprt.lower:.2f}, {ev.sprt.upper:.2f}] "
              f"(about {ev.sprt.items_to_decision} clean items to a decision) · "
              f"CUSUM {ev.cusum.value:.2f} of h {ev.cusum.h:g}")
    for reason in ev.reasons:
        print(f"  - {reason}")


# -- level changes --------------------------------------------------------------------


def _change_line(change: LevelChange) -> str:
    against = " against the recommendation" if change.against_recommendation else ""
    why = f": {change.reason}" if change.reason else ""
    return (f"{change.unit}: {change.from_level} → {change.to_level} by "
            f"{change.actor}{against}{why}")


def promote_unit(args: argparse.Namespace, ctx: Context) -> int:
    from ..domain import AutonomyLevel
    from ..services.autonomy import AutonomyError
    from ..services.autonomy_leads import PromotionRefused

    service = ctx.services().autonomy
    try:
        unit = service.resolve(args.agent, args.action_class, args.agent_version)
        change = service.promote(unit, AutonomyLevel(args.to), lead=args.lead,
                                 reason=args.reason)
    except PromotionRefused as exc:
        names = ", ".join(rule.name for rule in exc.unmet) or "the recommendation"
        return fail(f"{exc} [unmet: {names}]")
    except AutonomyError as exc:
        return fail(str(exc))
    print(_change_line(change))
    return 0


def demote_unit(args: argparse.Namespace, ctx: Context) -> int:
    from ..domain import AutonomyLevel
    from ..services.autonomy import AutonomyError

    service = ctx.services().autonomy
    try:
        unit = service.resolve(args.agent, args.action_class)
        change = service.demote(unit, AutonomyLevel(args.to), lead=args.lead,
                                reason=args.reason)
    except AutonomyError as exc:
        return fail(str(exc))
    print(_change_line(change))
    return 0


# -- replay and simulate --------------------------------------------------------------


def replay_unit(args: argparse.Namespace, ctx: Context) -> int:
    from ..domain import AutonomyLevel
    from ..services.autonomy import AutonomyError

    service = ctx.services().autonomy
    try:
        unit = service.resolve(args.agent, args.action_class)
        result = service.replay(unit, AutonomyLevel(args.level))
    except AutonomyError as exc:
        return fail(str(exc))
    document = {"agent": unit.agent, "version": unit.version,
                "action_class": unit.action_class, **result.model_dump(mode="json")}
    if args.json:
        print_json(document)
        return 0
    print(f"{unit} at {result.level} over {result.actions} stored actions:")
    print(f"  {result.auto_approved} would have been auto-approved: "
          f"{result.auto_approved_failures} failures ({result.auto_approved_critical} "
          f"critical), {result.auto_approved_unknown} never judged")
    if not result.demotions:
        print("  no demotion rule would have fired")
    for demotion in result.demotions:
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(demotion.at))
        print(f"  {when} UTC: {demotion.from_level} → {demotion.to_level} "
              f"({demotion.rule}): {demotion.evidence}")
    print(f"  it would have ended at {result.final_level}")
    return 0


def run_simulation(args: argparse.Namespace, ctx: Context) -> int:
    if args.units < 1:
        return fail(f"--units must be at least 1 (got {args.units})", EXIT_USAGE)
    from ..autonomy import AutonomyConfig, simulate

    config = AutonomyConfig.from_table(ctx.config.autonomy)  # validated when loaded
    figures = simulate(args.units, args.seed, config)
    if args.json:
        print_json(figures)
        return 0
    import json

    print(json.dumps(figures, indent=2))
    return 0


# -- budgets --------------------------------------------------------------------------


def set_budget(args: argparse.Namespace, ctx: Context) -> int:
    from ..services.budgets import BUDGETS, BudgetError

    limits = {name: getattr(args, name) for name in BUDGETS
              if getattr(args, name) is not None}
    if not limits:
        return fail("give at least one budget: --actions-per-minute, --tokens-per-hour, "
                    "--cost-per-hour or --repeats", EXIT_USAGE)
    services = ctx.services()
    try:
        budget = services.autonomy.set_budget(args.agent, limits, actor=services.identity)
    except BudgetError as exc:
        flags = {name.replace("_", "-") for name in BUDGETS}
        return fail(f"--{exc}" if str(exc).split(":")[0] in flags else str(exc))
    set_to = ", ".join(f"{name.replace('_', ' ')} {getattr(budget, name):g}"
                       for name in BUDGETS if getattr(budget, name) is not None)
    print(f"budgets of {budget.agent}: {set_to or 'none'}")
    return 0


def _budget_json(row: BudgetStatus) -> dict[str, Any]:
    from ..services.budgets import BUDGETS

    return {"agent": row.agent,
            "budgets": {name: getattr(row.budget, name) if row.budget else None
                        for name in BUDGETS},
            "figures": row.figures,
            "tripped": None if row.trip is None else row.trip.model_dump(mode="json")}


def budget_status(args: argparse.Namespace, ctx: Context) -> int:
    rows = ctx.services().autonomy.budgets()
    if args.json:
        print_json([_budget_json(r) for r in rows])
        return 0
    if not rows:
        print("no budgets set")
        return 0
    from ..services.budgets import BUDGETS

    for row in rows:
        state = "TRIPPED" if row.trip is not None else "ok"
        print(f"{row.agent}: {state}")
        for name in BUDGETS:
            limit = getattr(row.budget, name) if row.budget else None
            used = row.figures.get(name)
            shown = "unknown" if used is None else f"{used:g}"
            print(f"  {name.replace('_', ' ')}: {shown}"
                  + (f" of {limit:g}" if limit is not None else " (no budget)"))
        if row.trip is not None:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(row.trip.tripped_at))
            print(f"  tripped {when} UTC by {row.trip.budget.replace('_', ' ')} "
                  f"{row.trip.observed:g} over {row.trip.limit:g}; action "
                  f"{row.trip.action_id}, run {row.trip.trace_id or '—'}")
    return 0


def reset_breaker(args: argparse.Namespace, ctx: Context) -> int:
    from ..services.budgets import BudgetError

    try:
        trip = ctx.services().autonomy.reset_breaker(args.agent, lead=args.lead)
    except BudgetError as exc:
        return fail(str(exc), EXIT_REFUSED)
    print(f"breaker of {trip.agent} reset by {trip.reset_by} (it tripped on "
          f"{trip.budget.replace('_', ' ')} {trip.observed:g} over {trip.limit:g})")
    return 0
