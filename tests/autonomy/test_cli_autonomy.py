"""Each form of ``countersign autonomy`` and ``countersign budgets`` (issue 13), in
process on a real SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from countersign.cli import EXIT_REFUSED, EXIT_USAGE, main
from countersign.domain import AutonomyLevel, Risk
from countersign.services.autonomy_service import AutonomyService
from countersign.store.engine import Store

from .store_helpers import AGENT, CLASS, UNIT, ask, audit_kinds, put_at, seed_verdicts


def run(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> tuple[int, str, str]:
    code = main(["--store", url, *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_status_json_has_the_issues_fields_and_no_nan(
        sqlite_store: Store, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    seed_verdicts(sqlite_store, 30, days=2, failures=[3])
    other = UNIT.model_copy(update={"action_class": "issue_store_credit"})
    ask(sqlite_store, action_class=other.action_class, risk=Risk.CRITICAL)  # no evidence
    code, out, _ = run(capsys, sqlite_url, "autonomy", "status", "--json")
    assert code == 0
    units = {u["action_class"]: u for u in json.loads(out)}
    seeded = units[CLASS]
    assert set(seeded) >= {"agent", "version", "action_class", "level", "n", "n_eff",
                           "failure_rate", "wilson_lower", "p_above_target", "sprt",
                           "cusum", "recommendation", "reasons"}
    assert set(seeded["sprt"]) >= {"sum", "lower", "upper"}
    assert set(seeded["cusum"]) >= {"value", "h"}
    assert seeded["n"] == 30 and seeded["failure_rate"] == pytest.approx(1 / 30)
    assert seeded["level"] == "L1" and seeded["recommendation"] == "hold"
    empty = units["issue_store_credit"]
    assert empty["n"] == 0 and empty["failure_rate"] is None
    assert empty["wilson_lower"] is None and empty["p_above_target"] is None
    assert "NaN" not in out
    code, text, _ = run(capsys, sqlite_url, "autonomy", "status", "--agent", AGENT)
    assert code == 0 and "no evidence yet" in text and "issue_store_credit" in text
    code, text, _ = run(capsys, sqlite_url, "autonomy", "status", "--agent", "nobody")
    assert code == 0 and "no units yet" in text


def test_promote_refuses_naming_the_unmet_rules_unless_a_reason_is_given(
        sqlite_store: Store, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    seed_verdicts(sqlite_store, 20, days=1)
    code, _, err = run(capsys, sqlite_url, "autonomy", "promote", AGENT, CLASS,
                       "--to", "L2", "--lead", "lena")
    assert code == EXIT_REFUSED
    assert "not recommended for L2" in err
    assert "reviewed" in err and "days_at_level" in err and "sprt" in err
    assert AutonomyService(sqlite_store).unit(UNIT).level is AutonomyLevel.L1
    code, out, _ = run(capsys, sqlite_url, "autonomy", "promote", AGENT, CLASS, "--to", "L2",
                       "--lead", "lena", "--reason", "pilot agreed with support")
    assert code == 0 and "against the recommendation" in out
    _, actor, payload = audit_kinds(sqlite_store, "autonomy.promoted")[-1]
    assert actor == "lena" and payload["against_recommendation"] is True
    assert payload["reason"] == "pilot agreed with support"
    assert payload["evidence"]["n"] == 20  # the snapshot holds every number


def test_a_recommended_promotion_needs_no_reason(
        sqlite_store: Store, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    seed_verdicts(sqlite_store, 80, days=10)
    assert AutonomyService(sqlite_store).unit(UNIT).evidence.recommendation == "promote"
    code, out, _ = run(capsys, sqlite_url, "autonomy", "promote", AGENT, CLASS, "--to", "L2",
                       "--lead", "lena", "--agent-version", "1.0")
    assert code == 0, out
    assert "L1 → L2 by lena" in out and "against" not in out
    _, _, payload = audit_kinds(sqlite_store, "autonomy.promoted")[-1]
    evidence = payload["evidence"]
    assert payload["against_recommendation"] is False
    assert evidence["recommendation"] == "promote" and evidence["n"] == 80
    assert {r["name"] for r in evidence["rules"] if r["met"]} >= {"sprt", "wilson", "reviewers"}
    # L3 is not the next step from L1: a jump needs a reason too.
    code, _, err = run(capsys, sqlite_url, "autonomy", "promote", AGENT, CLASS, "--to", "L2",
                       "--lead", "lena")
    assert code == EXIT_REFUSED and "is at L2" in err


def test_demote_and_its_refusals(sqlite_store: Store, sqlite_url: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    put_at(sqlite_store, AutonomyLevel.L3)
    code, out, _ = run(capsys, sqlite_url, "autonomy", "demote", AGENT, CLASS, "--to", "L1",
                       "--lead", "lena", "--reason", "new payment provider")
    assert code == 0 and "L3 → L1 by lena: new payment provider" in out
    code, _, err = run(capsys, sqlite_url, "autonomy", "demote", AGENT, CLASS, "--to", "L2",
                       "--lead", "lena", "--reason", "x")
    assert code == EXIT_REFUSED and "not a demotion" in err
    # The cool-down after a demotion binds a lead's promotion too, reason or not.
    code, _, err = run(capsys, sqlite_url, "autonomy", "promote", AGENT, CLASS, "--to", "L2",
                       "--lead", "lena", "--reason", "changed my mind")
    assert code == EXIT_REFUSED and "cool-down" in err
    code, _, err = run(capsys, sqlite_url, "autonomy", "demote", "nobody", CLASS, "--to", "L1",
                       "--lead", "lena", "--reason", "x")
    assert code == EXIT_REFUSED and "'nobody'" in err
    with pytest.raises(SystemExit) as usage:  # the reason is required
        main(["--store", sqlite_url, "autonomy", "demote", AGENT, CLASS, "--to", "L1",
              "--lead", "lena"])
    assert usage.value.code == EXIT_USAGE


def test_replay_counts_what_a_level_would_have_auto_approved(
        sqlite_store: Store, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    seed_verdicts(sqlite_store, 40, days=5, failures=[10, 11, 12], risk=Risk.LOW)
    code, out, _ = run(capsys, sqlite_url, "autonomy", "replay", AGENT, CLASS,
                       "--level", "L2", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["actions"] == 40 and result["level"] == "L2"
    # Auto-approved until the third failure in a row demoted it at action 12.
    assert result["auto_approved"] == 13 and result["auto_approved_failures"] == 3
    assert [d["rule"] for d in result["demotions"]] == ["window"]
    assert result["final_level"] == "L1"
    code, text, _ = run(capsys, sqlite_url, "autonomy", "replay", AGENT, CLASS,
                        "--level", "L3")
    assert code == 0 and "would have been auto-approved" in text


def test_simulate_prints_the_properties_as_json(sqlite_url: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, sqlite_url, "autonomy", "simulate", "--units", "40",
                       "--seed", "3", "--json")
    assert code == 0
    figures = json.loads(out)
    assert figures["units"] == 40 and figures["seed"] == 3
    assert set(figures) >= {"promotion", "cusum", "hajek", "cooldown"}
    code, _, err = run(capsys, sqlite_url, "autonomy", "simulate", "--units", "0")
    assert code == EXIT_USAGE and "--units" in err


def test_bad_thresholds_in_the_config_file_are_refused_naming_the_setting(
        sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[autonomy]\nl1_to_l2 = { p_good = 0.2, p_bad = 0.1 }\n"
                      "cusum_l2 = { p0 = 0.03, p1 = 0.08, h = 0 }\n")
    code, _, err = run(capsys, sqlite_url, "--config", str(config), "autonomy", "status")
    assert code == EXIT_USAGE
    assert "autonomy.l1_to_l2" in err and "p_good" in err
    assert "autonomy.cusum_l2.h" in err
    config.write_text("[autonomy]\nl2_to_l3 = { p_good = 0.01, p_bad = 0.05, alpha = 1.0, "
                      "min_reviewed = 1, min_n_eff = 1, wilson_min = 0.9, "
                      "min_days_at_level = 1, no_critical_in_last = 1 }\n")
    code, _, err = run(capsys, sqlite_url, "--config", str(config), "autonomy", "simulate")
    assert code == EXIT_USAGE and "autonomy.l2_to_l3.alpha" in err


def test_thresholds_from_the_config_file_become_a_new_audited_version(
        sqlite_store: Store, sqlite_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[autonomy]\ncooldown_days = 14\nwindow = { failures = 4, last = 20 }\n")
    code, _, _ = run(capsys, sqlite_url, "--config", str(config), "autonomy", "status")
    assert code == 0
    version, thresholds = AutonomyService(sqlite_store).config()
    assert version == 2 and thresholds.cooldown_days == 14
    _, _, payload = audit_kinds(sqlite_store, "autonomy.config_changed")[-1]
    assert payload["changed"]["autonomy.cooldown_days"] == [7.0, 14.0]
    assert payload["changed"]["autonomy.window.failures"] == [3, 4]
    run(capsys, sqlite_url, "--config", str(config), "autonomy", "status")
    assert AutonomyService(sqlite_store).config()[0] == 2  # unchanged: no new version


def test_budgets_set_status_and_reset(sqlite_store: Store, sqlite_url: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, sqlite_url, "budgets", "set", AGENT,
                       "--actions-per-minute", "2", "--repeats", "5")
    assert code == 0 and "actions per minute 2" in out and "repeats 5" in out
    code, _, err = run(capsys, sqlite_url, "budgets", "set", AGENT, "--cost-per-hour", "-3")
    assert code == EXIT_REFUSED and "--cost-per-hour" in err
    code, _, err = run(capsys, sqlite_url, "budgets", "reset", AGENT, "--lead", "lena")
    assert code == EXIT_REFUSED and "not tripped" in err
    for _ in range(3):
        ask(sqlite_store)
    code, out, _ = run(capsys, sqlite_url, "budgets", "status", "--json")
    assert code == 0
    (row,) = json.loads(out)
    assert row["budgets"]["actions_per_minute"] == 2 and row["figures"]["actions_per_minute"] == 3
    assert row["tripped"]["budget"] == "actions_per_minute" and row["tripped"]["observed"] == 3
    code, text, _ = run(capsys, sqlite_url, "budgets", "status")
    assert code == 0 and "TRIPPED" in text
    code, out, _ = run(capsys, sqlite_url, "budgets", "reset", AGENT, "--lead", "lena")
    assert code == 0 and "reset by lena" in out
    code, out, _ = run(capsys, sqlite_url, "budgets", "set", AGENT, "--actions-per-minute", "0")
    assert code == 0 and "repeats 5" in out and "per minute" not in out
    code, _, err = run(capsys, sqlite_url, "budgets", "set", AGENT)
    assert code == EXIT_USAGE and "at least one budget" in err
