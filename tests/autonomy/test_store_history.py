"""Importing a source's past through the live units of work (`SourceContext.
import_history`), and the demo fleet's three stories that `make run` opens on."""

from __future__ import annotations

import asyncio
import time

from countersign.domain import AutonomyLevel, Risk, Verdict
from countersign.domain.autonomy import UnitKey
from countersign.plugin_api import (
    ActionRequest,
    PastAction,
    PastLabel,
    PastPromotion,
    PastVerdict,
    SourceContext,
)
from countersign.services.autonomy_service import AutonomyService
from countersign.services.decisions import DecisionService
from countersign.store.engine import Store
from countersign_plugins.demo_fleet.agents import PROFILES
from countersign_plugins.demo_fleet.history import demo_history

from .store_helpers import DAY, UNIT, audit_all_auto

APPROVE = PastVerdict(Verdict.APPROVE, "olga", 60)


def _past(n: int, at: float, *, verdict: PastVerdict = APPROVE, risk: Risk = Risk.LOW,
          label: PastLabel | None = None) -> PastAction:
    return PastAction(request=ActionRequest(
        agent=UNIT.agent, agent_version=UNIT.version, action_class=UNIT.action_class,
        arguments={"n": n}, risk=risk, source_ref=f"past-{n}"), at=at, verdict=verdict,
        label=label)


def test_the_past_goes_through_the_policy_of_its_time(store: Store) -> None:
    start = time.time() - 20 * DAY
    pasts = [_past(n, start + n * 3 * 3_600,
                   verdict=PastVerdict(Verdict.APPROVE, ("olga", "omar")[n % 2], 60))
             for n in range(70)]
    promoted_at = start + 70 * 3 * 3_600 + 60
    harm = PastLabel("rita", {"correct": "wrong", "harm": True}, 600)
    pasts.append(_past(70, promoted_at + 3_600, label=harm))
    promotion = PastPromotion(unit=UNIT, to=AutonomyLevel.L2, lead="dana", at=promoted_at)
    audit_all_auto(store)
    context = SourceContext(store, "history-test")
    report = asyncio.run(context.import_history(pasts, [promotion]))
    assert (report.imported, report.decided, report.promotions) == (71, 70, 1)
    assert report.auto_approved == 1 and report.labelled == 1 and report.refused == []
    service = AutonomyService(store)
    history = service.history(UNIT)
    assert [c.rule for c in history] == ["initial", "promotion", "demotion:critical"]
    assert history[1].at == promoted_at and not history[1].against_recommendation
    assert history[2].at == promoted_at + 3_600 + 600  # the label's own time
    status = service.unit(UNIT)
    assert status.level is AutonomyLevel.L1 and status.level_since == history[2].at
    ids = context._actions.find_refs("history-test", ["past-70"])
    decision = DecisionService(store).get(ids["past-70"])
    assert decision is not None and decision.verdict is Verdict.AUTO_APPROVE
    again = asyncio.run(context.import_history(pasts, [promotion]))
    assert again.imported == 0 and again.skipped == 71


def test_a_promotion_the_rules_do_not_allow_is_reported_not_forced(store: Store) -> None:
    start = time.time() - 2 * DAY
    pasts = [_past(n, start + n * 600) for n in range(5)]
    refused = asyncio.run(SourceContext(store, "history-test").import_history(
        pasts, [PastPromotion(unit=UNIT, to=AutonomyLevel.L2, lead="dana",
                              at=start + 3_600)]))
    assert refused.promotions == 0 and "not recommended" in refused.refused[0]
    assert AutonomyService(store).unit(UNIT).level is AutonomyLevel.L1


def test_the_demo_opens_on_three_stories(sqlite_store: Store) -> None:
    actions, promotions = demo_history(7)
    report = asyncio.run(SourceContext(sqlite_store, "demo").import_history(
        actions, promotions))
    assert report.refused == [] and report.promotions == 1
    units = {u.unit.agent: u for u in AutonomyService(sqlite_store).status()}
    refunds, mail, sql = (units[PROFILES[slot].name] for slot in (0, 2, 4))
    # Ready for promotion: every rule for L2 met, a lead has only to confirm.
    assert refunds.level is AutonomyLevel.L1 and refunds.evidence.recommendation == "promote"
    # Promoted on its evidence, then demoted by the rules after its regression.
    assert mail.level is AutonomyLevel.L1 and mail.level_rule.startswith("demotion:")
    rules = [c.rule for c in AutonomyService(sqlite_store).history(mail.unit)]
    assert rules[:2] == ["initial", "promotion"] and rules[-1].startswith("demotion:")
    # Still gathering evidence: too few reviews, too few days.
    assert sql.evidence.recommendation == "hold" and 0 < sql.evidence.n < 60
    unmet = {r.name for r in sql.evidence.rules if not r.met}
    assert {"reviewed", "days_at_level"} <= unmet
    unit = UnitKey(agent=mail.unit.agent, version=mail.unit.version,
                   action_class=mail.unit.action_class)
    charts = AutonomyService(sqlite_store).charts(unit)
    assert set(charts.series.level.tolist()) == {1, 2}  # the chart shows both levels
