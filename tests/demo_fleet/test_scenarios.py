"""The demo fleet's stories: deterministic, believable, and wrong only in ways the
reasoning itself gives away."""

from __future__ import annotations

import functools
import json
import re

import pytest

from countersign.domain import Risk, SpanKind
from countersign.schema_check import check_schema, validate
from countersign_plugins.demo_fleet.agents import PROFILES, agent_name, scenario_for
from countersign_plugins.demo_fleet.llm_text import PRICES_PER_MTOK
from countersign_plugins.demo_fleet.scenarios import SCHEMA_DIALECT, Scenario
from countersign_plugins.demo_fleet.scenarios_platform import in_window

SLOTS = range(len(PROFILES))
#: Enough tasks per agent to meet every story variant and several wrong ones.
TASKS = 40


@functools.cache
def _all(seed: int = 7) -> list[Scenario]:
    return [scenario_for(slot, seed, i) for slot in SLOTS for i in range(TASKS)]


def _text(scenario: Scenario) -> str:
    return json.dumps([s.model_dump(mode="json") for s in scenario.steps], ensure_ascii=False)


def _tool(scenario: Scenario, name: str) -> dict[str, object]:
    found = [s for s in scenario.steps if s.kind is SpanKind.TOOL and s.name == name]
    assert found, f"{scenario.job} has no {name} step"
    return found[0].tool_result  # type: ignore[no-any-return]


def test_same_seed_gives_identical_content_and_another_seed_does_not() -> None:
    first = [s.model_dump(mode="json") for s in _all(7)]
    assert first == [s.model_dump(mode="json") for s in _all(7)]
    other = [s.model_dump(mode="json") for s in _all(8)]
    assert sum(a == b for a, b in zip(first, other, strict=True)) == 0


def test_six_agents_with_distinct_jobs_names_and_actions() -> None:
    assert len({p.job for p in PROFILES}) == 6
    assert {p.name for p in PROFILES} == {agent_name(s) for s in SLOTS}
    assert agent_name(6) == "refunds-agent-2"
    classes = {scenario_for(slot, 7, 0).proposal.action_class for slot in SLOTS}
    assert classes == {"issue_refund", "deploy_service", "send_email", "create_payment",
                       "run_sql", "grant_access"}


@pytest.mark.parametrize("slot", SLOTS)
def test_reasoning_has_three_to_eight_steps_with_costed_llm_calls(slot: int) -> None:
    for i in range(TASKS):
        scenario = scenario_for(slot, 7, i)
        steps = scenario.steps
        assert 3 <= len(steps) <= 8
        assert all(0 < s.duration_s < 10 for s in steps)
        assert {SpanKind.LLM, SpanKind.TOOL} <= {s.kind for s in steps}
        for llm in (s for s in steps if s.kind is SpanKind.LLM):
            assert llm.model in PRICES_PER_MTOK
            assert llm.provider
            assert next(m.role for m in llm.messages) == "system"
            assert llm.messages[-1].role == "user"
            assert llm.messages[-1].content
            assert llm.output_messages[0].role == "assistant"
            assert llm.prompt_tokens
            assert llm.completion_tokens
            assert llm.cost
            assert 0 < llm.cost < 0.05
        # The last LLM call is the one that proposes the action, as a tool call.
        call = steps[-1].output_messages[0].tool_calls[0]["function"]
        assert call["name"] == scenario.proposal.action_class
        assert json.loads(call["arguments"]) == scenario.proposal.arguments


@pytest.mark.parametrize("slot", SLOTS)
def test_every_proposal_fits_its_own_draft_2020_12_schema(slot: int) -> None:
    mine = [s for s in _all() if s.job == PROFILES[slot].job]
    # jsonschema is slow: the first eight tasks plus a few wrong ones meet every variant.
    for scenario in mine[:8] + [s for s in mine if s.truth.is_wrong][:4]:
        for proposal in (scenario.proposal, scenario.plan_b):
            schema = proposal.arguments_schema
            assert schema["$schema"] == SCHEMA_DIALECT
            assert check_schema(schema) == []
            assert validate(proposal.arguments, schema) == []
            assert proposal.description
            assert proposal.risk in Risk
        # An operator who edits to the truth is not refused by the schema.
        assert validate(scenario.truth.correct_arguments, scenario.proposal.arguments_schema) == []


def test_about_a_quarter_of_first_proposals_are_wrong_and_the_truth_stays_hidden() -> None:
    scenarios = [scenario_for(slot, 7, i) for slot in SLOTS for i in range(100)]
    wrong = [s for s in scenarios if s.truth.is_wrong]
    assert 0.18 < len(wrong) / len(scenarios) < 0.32
    assert {s.job for s in wrong} == {p.job for p in PROFILES}
    for s in scenarios:
        assert (s.truth.correct_arguments != s.proposal.arguments) == s.truth.is_wrong
        shown = json.dumps([s.proposal.arguments, s.proposal.description, _text(s)])
        assert "is_wrong" not in shown
        assert (s.truth.problem or "@@") not in shown
        if s.truth.is_wrong:  # plan B is the correction
            assert s.plan_b.arguments == s.truth.correct_arguments


def _wrong(job: str) -> list[Scenario]:
    found = [s for s in _all() if s.job == job and s.truth.is_wrong]
    assert len(found) >= 3
    return found


def test_wrong_refund_exceeds_the_order_total_that_lookup_order_shows() -> None:
    for s in _wrong("refunds"):
        order = _tool(s, "lookup_order")
        assert s.proposal.arguments["amount_cents"] > order["total_cents"]  # type: ignore[operator]
        assert s.truth.correct_arguments["amount_cents"] <= order["total_cents"]  # type: ignore[operator]
        assert s.truth.evidence
        assert s.truth.evidence in _text(s)


def test_wrong_payment_goes_to_an_account_that_is_not_the_invoices() -> None:
    for s in _wrong("payments"):
        invoice = _tool(s, "fetch_invoice")
        remit = invoice["remit_to"]["iban"]  # type: ignore[index]
        assert s.proposal.arguments["iban"] != remit
        assert s.truth.correct_arguments["iban"] == remit
        assert s.proposal.arguments["iban"] in json.dumps(_tool(s, "search_mailbox"))


def test_wrong_email_goes_elsewhere_than_the_ticket_asks() -> None:
    for s in _wrong("email"):
        body = _tool(s, "get_ticket")["body"]
        right_to = s.truth.correct_arguments["to"]
        assert right_to in body  # type: ignore[operator]
        assert s.proposal.arguments["to"] != right_to
        assert s.proposal.arguments["to"] not in body  # type: ignore[operator]


def test_wrong_deploy_is_outside_the_change_window_the_runbook_states() -> None:
    import datetime as dt

    for s in _wrong("deployments"):
        args = s.proposal.arguments
        assert args["environment"] == "production"
        when = dt.datetime.fromisoformat(args["scheduled_for"].replace("Z", "+00:00"))
        fixed = dt.datetime.fromisoformat(
            s.truth.correct_arguments["scheduled_for"].replace("Z", "+00:00"))
        assert not in_window(when)
        assert in_window(fixed)
        docs = [d.content for st in s.steps for d in st.documents]
        assert any("Tue-Thu 14:00-16:00 UTC" in d for d in docs)


def test_right_production_deploys_are_inside_the_window() -> None:
    import datetime as dt

    for s in _all():
        args = s.proposal.arguments
        if s.job == "deployments" and not s.truth.is_wrong and args["environment"] == "production":
            assert in_window(dt.datetime.fromisoformat(args["scheduled_for"][:-1] + "+00:00"))


def test_wrong_sql_deletes_without_where_after_counting_with_one() -> None:
    for s in _wrong("sql"):
        statement = s.proposal.arguments["statement"]
        assert statement.startswith("DELETE FROM")
        assert "WHERE" not in statement.upper()
        counted = [st.tool_arguments["sql"] for st in s.steps if st.name == "run_readonly_query"]
        assert counted
        assert "WHERE" in counted[0]
        assert "WHERE" in s.truth.correct_arguments["statement"]
        assert s.truth.evidence in _text(s)  # type: ignore[operator]


def test_wrong_grant_is_admin_when_the_ticket_asks_read_only() -> None:
    for s in _wrong("access"):
        assert s.proposal.arguments["role"] == "admin"
        assert s.proposal.risk is Risk.CRITICAL
        assert re.search(r"read-only", _tool(s, "get_ticket")["body"])  # type: ignore[call-overload]
        assert s.truth.correct_arguments["role"] == "viewer"
