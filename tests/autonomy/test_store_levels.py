"""A lead's level changes in the store: promotion on evidence with its snapshot in the
audit log, against the recommendation only with a reason, two leads at once, the
cool-down, and the level history the charts annotate."""

from __future__ import annotations

import threading

import pytest

from countersign.autonomy import AutonomyConfigError
from countersign.domain import AutonomyLevel, Risk, Verdict
from countersign.services.autonomy import AutonomyError, LevelConflict
from countersign.services.autonomy_leads import PromotionRefused
from countersign.services.autonomy_service import AutonomyService
from countersign.services.decisions import DecisionService
from countersign.store.engine import Store

from .store_helpers import UNIT, ask, audit_kinds, put_at, seed_verdicts


def test_a_promotion_stores_every_number_of_the_evidence(store: Store) -> None:
    seed_verdicts(store, 80, days=10)
    service = AutonomyService(store)
    status = service.unit(UNIT)
    assert status.evidence.recommendation == "promote"
    change = service.promote(UNIT, AutonomyLevel.L2, lead="lena",
                             expected_version=status.level_version)
    assert (change.from_level, change.to_level) == (AutonomyLevel.L1, AutonomyLevel.L2)
    assert change.actor == "lena" and not change.against_recommendation
    snapshot = change.evidence
    for number in ("n", "n_eff", "failure_rate", "wilson_lower", "wilson_upper",
                   "p_above_target", "sprt", "cusum", "mix", "risk_mix", "reviewers",
                   "rules", "recommendation", "reasons"):
        assert number in snapshot, number
    _, _, payload = audit_kinds(store, "autonomy.promoted")[-1]
    assert payload["evidence"] == snapshot and payload["change_id"] == change.id
    after = service.unit(UNIT)
    assert after.level is AutonomyLevel.L2 and after.evidence.n == 0  # fresh evidence only
    assert [c.rule for c in service.history(UNIT)] == ["initial", "promotion"]


def test_against_the_recommendation_needs_a_reason_and_is_marked(store: Store) -> None:
    seed_verdicts(store, 10, days=1)
    service = AutonomyService(store)
    with pytest.raises(PromotionRefused) as refused:
        service.promote(UNIT, AutonomyLevel.L2, lead="lena")
    assert {rule.name for rule in refused.value.unmet} >= {"reviewed", "days_at_level"}
    assert service.unit(UNIT).level is AutonomyLevel.L1
    change = service.promote(UNIT, AutonomyLevel.L2, lead="lena", reason="pilot")
    assert change.against_recommendation and change.reason == "pilot"


def test_two_leads_promoting_at_once_one_wins(store: Store) -> None:
    seed_verdicts(store, 80, days=10)
    service = AutonomyService(store)
    seen = service.unit(UNIT).level_version
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def lead(name: str) -> None:
        barrier.wait()
        try:
            results[name] = service.promote(UNIT, AutonomyLevel.L2, lead=name,
                                            expected_version=seen)
        except AutonomyError as exc:
            results[name] = exc

    threads = [threading.Thread(target=lead, args=(n,)) for n in ("lena", "lars")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    errors = [r for r in results.values() if isinstance(r, LevelConflict)]
    assert len(results) == 2 and len(errors) == 1, results
    assert "changed meanwhile" in str(errors[0])
    assert len(audit_kinds(store, "autonomy.promoted")) == 1
    # Without a version (the CLI), the second lead finds the unit promoted already.
    with pytest.raises(AutonomyError, match="is at L2"):
        service.promote(UNIT, AutonomyLevel.L2, lead="lars")


def test_the_cool_down_after_a_demotion_binds_even_with_a_reason(store: Store) -> None:
    put_at(store, AutonomyLevel.L2)
    high, _ = ask(store, risk=Risk.HIGH)
    DecisionService(store).decide(high, Verdict.REJECT, reviewer="olga", reason="wrong")
    for _ in range(2):
        more, _ = ask(store, risk=Risk.HIGH)
        DecisionService(store).decide(more, Verdict.REJECT, reviewer="olga", reason="wrong")
    service = AutonomyService(store)
    assert service.unit(UNIT).level is AutonomyLevel.L1
    with pytest.raises(PromotionRefused, match="cool-down") as refused:
        service.promote(UNIT, AutonomyLevel.L2, lead="lena", reason="I trust it")
    assert [rule.name for rule in refused.value.unmet] == ["cooldown"]


def test_from_shadow_to_l1_is_the_leads_choice(store: Store) -> None:
    put_at(store, AutonomyLevel.L0)
    service = AutonomyService(store)
    service.set_config({"cooldown_days": 0}, actor="lena", reason="no cool-down for the test")
    change = service.promote(UNIT, AutonomyLevel.L1, lead="lena")
    assert not change.against_recommendation and change.to_level is AutonomyLevel.L1


def test_a_lead_demotion_needs_a_reason(store: Store) -> None:
    put_at(store, AutonomyLevel.L2)
    with pytest.raises(AutonomyError, match="reason"):
        AutonomyService(store).demote(UNIT, AutonomyLevel.L1, lead="lena", reason=" ")


def test_bad_thresholds_are_refused_naming_the_setting_and_nothing_is_written(
        store: Store) -> None:
    service = AutonomyService(store)
    for table, setting in (({"l1_to_l2": {"alpha": 1.0}}, "autonomy.l1_to_l2.alpha"),
                           ({"l2_to_l3": {"p_good": 0.06}}, "autonomy.l2_to_l3"),
                           ({"cusum_l3": {"h": 0}}, "autonomy.cusum_l3.h"),
                           ({"windw": {}}, "autonomy.windw")):
        with pytest.raises(AutonomyConfigError, match=setting.replace(".", r"\.")):
            service.set_config(table, actor="lena", reason="typo")
    assert service.config()[0] == 1
    assert not audit_kinds(store, "autonomy.config_changed")
