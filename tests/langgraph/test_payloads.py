"""Parsing LangGraph interrupt payloads and building resume values (no server)."""

from __future__ import annotations

from typing import Any

import pytest

from countersign_plugins.langgraph.client import ThreadState, task_error
from countersign_plugins.langgraph.payloads import (
    GraphError,
    InterruptedAction,
    PayloadError,
    ResumeDecision,
    ResumeError,
    build_command_resume,
    build_resume_value,
    graph_error,
    parse_interrupts,
    parse_state,
    parse_thread,
    pending_interrupt_ids,
)

INBOX_VALUE = [{
    "action_request": {"action": "send_email", "args": {"to": "a@example.com"}},
    "config": {"allow_accept": True, "allow_edit": True, "allow_respond": False,
               "allow_ignore": True},
    "description": "Send it?",
}]
SCHEMA = {"type": "object", "properties": {"to": {"type": "string"}}}
HITL_VALUE = {
    "action_requests": [
        {"name": "send_email", "args": {"to": "a@example.com"}, "description": "mail"},
        {"name": "delete_file", "args": {"path": "/tmp/x"}},
    ],
    "review_configs": [
        {"action_name": "send_email", "allowed_decisions": ["approve", "edit", "reject"],
         "args_schema": SCHEMA},
        {"action_name": "delete_file", "allowed_decisions": ["approve", "reject", "respond"]},
    ],
}


def one(value: Any, interrupt_id: str = "i1", **extra: Any) -> list[InterruptedAction]:
    return parse_interrupts("t1", [{"id": interrupt_id, "value": value, **extra}])


def test_agent_inbox_list_of_one() -> None:
    [spec] = one(INBOX_VALUE)
    assert spec.format == "agent_inbox"
    assert (spec.thread_id, spec.interrupt_id, spec.index, spec.count_in_interrupt) == (
        "t1", "i1", 0, 1)
    assert spec.action_class == "send_email"
    assert spec.arguments == {"to": "a@example.com"}
    assert spec.description == "Send it?"
    assert spec.allowed_verdicts == ("approve", "edit", "ignore")
    assert spec.source_ref == "t1/i1/0"


def test_agent_inbox_bare_dict_and_respond_allows_reject() -> None:
    bare = {**INBOX_VALUE[0], "config": {"allow_respond": True}}
    [spec] = one(bare)
    assert spec.allowed_verdicts == ("reject", "respond")


def test_hitl_two_requests_share_the_interrupt() -> None:
    first, second = one(HITL_VALUE)
    assert first.format == second.format == "hitl_middleware"
    assert (first.index, second.index) == (0, 1)
    assert first.count_in_interrupt == second.count_in_interrupt == 2
    assert first.arguments_schema == SCHEMA
    assert second.arguments_schema is None
    assert first.allowed_verdicts == ("approve", "edit", "reject")
    assert second.allowed_verdicts == ("approve", "reject", "respond")
    assert first.description == "mail"


def test_hitl_arguments_key_variant_is_accepted_and_echoed() -> None:
    value = {"action_requests": [{"name": "f", "arguments": {"a": 1}}],
             "review_configs": [{"action_name": "f", "allowed_decisions": ["edit"],
                                 "arguments_schema": SCHEMA}]}
    [spec] = one(value)
    assert spec.arguments == {"a": 1}
    assert spec.arguments_schema == SCHEMA
    resume = build_resume_value([spec], [ResumeDecision(verdict="edit", arguments={"a": 2})])
    assert resume == {"decisions": [
        {"type": "edit", "edited_action": {"name": "f", "arguments": {"a": 2}}}]}


def test_tool_approval_reads_allowed_decisions_from_response_schema() -> None:
    schema = {"oneOf": [{"$ref": "#/$defs/A"}, {"$ref": "#/$defs/R"}],
              "$defs": {"A": {"properties": {"type": {"const": "approve"}}},
                        "R": {"properties": {"type": {"const": "reject"},
                                             "message": {"type": "string"}}}}}
    value = {"type": "tool_approval", "tool_call_id": "c1", "name": "f", "args": {"a": 1},
             "description": "d"}
    [spec] = one(value, response_schema=schema)
    assert spec.format == "hitl_tool_approval"
    assert spec.allowed_verdicts == ("approve", "reject")
    resume = build_resume_value([spec], [ResumeDecision(verdict="reject", message="no")])
    assert resume == {"type": "reject", "message": "no"}


def test_thread_and_state_shapes() -> None:
    interrupt = {"id": "i1", "value": INBOX_VALUE}
    thread = {"thread_id": "t1", "interrupts": {"task-a": [interrupt]}}
    assert [s.interrupt_id for s in parse_thread(thread)] == ["i1"]
    state = {"checkpoint": {"checkpoint_id": "c9"}, "interrupts": [interrupt, interrupt]}
    [spec] = parse_state("t1", state)
    assert spec.checkpoint_id == "c9"
    older = {"checkpoint_id": "c8", "tasks": [{"interrupts": [interrupt]}]}
    assert parse_state("t1", older)[0].checkpoint_id == "c8"
    assert pending_interrupt_ids({"a": [interrupt], "b": [{"id": "i2"}]}) == ["i1", "i2"]


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("what is your age?", "value"),
        ({"question": "?"}, "value"),
        ([], "value"),
        ([{"action_request": {"action": "x"}, "config": {}}], "value[0].action_request.args"),
        ([{"action_request": {"action": "x", "args": "{}"}, "config": {}}],
         "value[0].action_request.args"),
        ({"action_requests": [], "review_configs": []}, "value.action_requests"),
        ({"action_requests": [{"name": "f", "args": {}}], "review_configs": []},
         "value.review_configs"),
        ({"action_requests": [{"args": {}}], "review_configs": []},
         "value.action_requests.0.name"),
    ],
)
def test_malformed_payloads_name_thread_interrupt_and_field(value: Any, field: str) -> None:
    with pytest.raises(PayloadError) as caught:
        one(value, interrupt_id="i7")
    assert (caught.value.thread_id, caught.value.interrupt_id) == ("t1", "i7")
    assert caught.value.field == field
    assert "t1" in str(caught.value)
    assert "i7" in str(caught.value)


def test_missing_interrupt_id_is_an_error() -> None:
    with pytest.raises(PayloadError, match="no id"):
        parse_interrupts("t1", [{"value": INBOX_VALUE}])


def test_errors_list_keeps_the_readable_interrupts() -> None:
    errors: list[PayloadError] = []
    specs = parse_interrupts("t1", [{"id": "bad", "value": 42}, {"id": "ok", "value": INBOX_VALUE}],
                             errors=errors)
    assert [s.interrupt_id for s in specs] == ["ok"]
    assert [e.interrupt_id for e in errors] == ["bad"]


@pytest.mark.parametrize(
    ("decision", "expected"),
    [
        (ResumeDecision(verdict="approve"), {"type": "accept", "args": None}),
        (ResumeDecision(verdict="edit", arguments={"to": "b@example.com", "cc": ["c"]}),
         {"type": "edit",
          "args": {"action": "send_email", "args": {"to": "b@example.com", "cc": ["c"]}}}),
        (ResumeDecision(verdict="respond", message="use the other inbox"),
         {"type": "response", "args": "use the other inbox"}),
        (ResumeDecision(verdict="reject", message="not allowed"),
         {"type": "response", "args": "not allowed"}),
        (ResumeDecision(verdict="ignore"), {"type": "ignore", "args": None}),
    ],
)
def test_agent_inbox_resume_values(decision: ResumeDecision, expected: dict[str, Any]) -> None:
    everything = [{**INBOX_VALUE[0], "config": dict.fromkeys(
        ("allow_accept", "allow_edit", "allow_respond", "allow_ignore"), True)}]
    [spec] = one(everything)
    assert build_resume_value([spec], [decision]) == [expected]


def test_hitl_resume_orders_decisions_by_index() -> None:
    first, second = one(HITL_VALUE)
    value = build_resume_value(
        [second, first],
        [ResumeDecision(verdict="respond", message="done already"),
         ResumeDecision(verdict="edit", arguments={"to": "b@example.com"})],
    )
    assert value == {"decisions": [
        {"type": "edit", "edited_action": {"name": "send_email",
                                           "args": {"to": "b@example.com"}}},
        {"type": "respond", "message": "done already"},
    ]}
    bare_reject = build_resume_value([first, second], [ResumeDecision(verdict="approve"),
                                                       ResumeDecision(verdict="reject")])
    assert bare_reject == {"decisions": [{"type": "approve"}, {"type": "reject"}]}


@pytest.mark.parametrize(
    ("decisions", "message"),
    [
        ([ResumeDecision(verdict="approve")], "2 actions"),
        ([ResumeDecision(verdict="ignore"), ResumeDecision(verdict="approve")], "not allowed"),
        ([ResumeDecision(verdict="edit"), ResumeDecision(verdict="approve")], "edited arguments"),
        ([ResumeDecision(verdict="approve"), ResumeDecision(verdict="respond")], "message"),
    ],
)
def test_invalid_decisions_are_refused(decisions: list[ResumeDecision], message: str) -> None:
    specs = one(HITL_VALUE)[: len(decisions)]
    with pytest.raises(ResumeError, match=message):
        build_resume_value(specs, decisions)


def test_agent_inbox_reject_needs_a_reason_and_interrupts_are_not_mixed() -> None:
    [spec] = one([{**INBOX_VALUE[0], "config": {"allow_respond": True}}])
    with pytest.raises(ResumeError, match="reason"):
        build_resume_value([spec], [ResumeDecision(verdict="reject")])
    [other] = one(INBOX_VALUE, interrupt_id="i2")
    with pytest.raises(ResumeError, match="several interrupts"):
        build_resume_value([spec, other], [ResumeDecision(verdict="respond", message="x"),
                                           ResumeDecision(verdict="approve")])


def test_command_resume_is_bare_for_one_pending_interrupt_else_a_map() -> None:
    assert build_command_resume({"i1": ["v"]}, ["i1"]) == ["v"]
    assert build_command_resume({"i1": ["v"]}, ["i1", "i2"]) == {"i1": ["v"]}
    assert build_command_resume({"i1": 1, "i2": 2}, ["i1", "i2"]) == {"i1": 1, "i2": 2}
    with pytest.raises(ResumeError, match="no longer pending"):
        build_command_resume({"gone": 1}, ["i1"])
    with pytest.raises(ResumeError):
        build_command_resume({}, ["i1"])


def test_graph_error_shapes() -> None:
    assert graph_error({"__error__": {"error": "ValueError", "message": "boom"}}) == (
        graph_error({"status": "error", "error": {"error": "ValueError", "message": "boom"}}))
    assert graph_error({"status": "interrupted", "error": None}) is None
    assert graph_error({"executed": []}) is None


# -- per-call `response_schema` (as langchain 1.5's HumanInTheLoopMiddleware writes it) --

EMAIL_ARGS = {"description": "Send an e-mail.", "title": "send_email", "type": "object",
              "properties": {"to": {"title": "To", "type": "string"},
                             "body": {"default": "", "title": "Body", "type": "string"}},
              "required": ["to"]}
PER_CALL_SCHEMA = {
    "$defs": {
        "ApproveDecision": {"properties": {"type": {"const": "approve", "type": "string"}},
                            "required": ["type"], "type": "object"},
        "EditDecision": {"properties": {"type": {"const": "edit", "type": "string"},
                                        "edited_action": {"$ref": "#/$defs/EditedAction"}},
                         "required": ["type", "edited_action"], "type": "object"},
        "EditedAction": {"properties": {"name": {"const": "send_email", "type": "string"},
                                        "args": {"$ref": "#/$defs/send_email"}},
                         "required": ["name", "args"], "type": "object"},
        "RejectDecision": {"properties": {"type": {"const": "reject", "type": "string"},
                                          "message": {"type": "string"}},
                           "required": ["type"], "type": "object"},
        "send_email": EMAIL_ARGS,
    },
    "discriminator": {"propertyName": "type",
                      "mapping": {"approve": "#/$defs/ApproveDecision",
                                  "edit": "#/$defs/EditDecision",
                                  "reject": "#/$defs/RejectDecision"}},
    "oneOf": [{"$ref": "#/$defs/ApproveDecision"}, {"$ref": "#/$defs/EditDecision"},
              {"$ref": "#/$defs/RejectDecision"}],
}
TOOL_APPROVAL = {"type": "tool_approval", "tool_call_id": "c1", "name": "send_email",
                 "args": {"to": "a@example.com"}, "description": "Send it?"}


def test_per_call_edit_schema_is_the_tools_argument_schema() -> None:
    [spec] = one(TOOL_APPROVAL, response_schema=PER_CALL_SCHEMA)
    assert spec.allowed_verdicts == ("approve", "edit", "reject")
    assert spec.arguments_schema == EMAIL_ARGS
    assert spec.arguments == {"to": "a@example.com"}
    value = build_resume_value([spec], [ResumeDecision(verdict="edit",
                                                       arguments={"to": "b@example.com"})])
    assert value == {"type": "edit", "edited_action": {"name": "send_email",
                                                       "args": {"to": "b@example.com"}}}


def test_per_call_nested_models_keep_their_definitions() -> None:
    nested = {**EMAIL_ARGS, "properties": {**EMAIL_ARGS["properties"],
                                           "attachment": {"$ref": "#/$defs/Attachment"}}}
    attachment = {"type": "object", "properties": {"name": {"type": "string"}},
                  "required": ["name"]}
    schema = {**PER_CALL_SCHEMA, "$defs": {**PER_CALL_SCHEMA["$defs"], "send_email": nested,
                                           "Attachment": attachment}}
    [spec] = one(TOOL_APPROVAL, response_schema=schema)
    assert spec.arguments_schema is not None
    assert spec.arguments_schema["properties"]["attachment"] == {"$ref": "#/$defs/Attachment"}
    assert spec.arguments_schema["$defs"]["Attachment"] == attachment


def test_per_call_single_decision_and_no_edit() -> None:
    only_edit = PER_CALL_SCHEMA["$defs"]["EditDecision"]
    schema = {**only_edit, "$defs": PER_CALL_SCHEMA["$defs"]}
    [spec] = one(TOOL_APPROVAL, response_schema=schema)
    assert spec.allowed_verdicts == ("edit",)
    assert spec.arguments_schema == EMAIL_ARGS
    no_edit = {"$defs": PER_CALL_SCHEMA["$defs"],
               "oneOf": [{"$ref": "#/$defs/ApproveDecision"}, {"$ref": "#/$defs/RejectDecision"}]}
    [spec] = one(TOOL_APPROVAL, response_schema=no_edit)
    assert spec.allowed_verdicts == ("approve", "reject")
    assert spec.arguments_schema is None


def test_per_call_tool_argument_named_type_is_not_a_decision() -> None:
    """Only the decision branches say which decisions exist, not a tool argument that
    happens to be called ``type``."""
    args = {"type": "object", "properties": {"type": {"enum": ["respond", "ignore"]}}}
    schema = {"$defs": {**PER_CALL_SCHEMA["$defs"], "send_email": args},
              "oneOf": [{"$ref": "#/$defs/ApproveDecision"}, {"$ref": "#/$defs/EditDecision"}]}
    [spec] = one(TOOL_APPROVAL, response_schema=schema)
    assert spec.allowed_verdicts == ("approve", "edit")
    assert spec.arguments_schema == args


def test_per_call_response_schema_must_be_an_object() -> None:
    with pytest.raises(PayloadError) as caught:
        one(TOOL_APPROVAL, interrupt_id="i3", response_schema=["approve"])
    assert caught.value.field == "response_schema"


def test_task_errors_and_waiting_interrupts_of_a_failed_run() -> None:
    waiting = {"id": "i1", "value": TOOL_APPROVAL}
    failed = {"id": "i2", "value": {**TOOL_APPROVAL, "name": "delete_file"}}
    raw = {"interrupts": [waiting, failed], "tasks": [
        {"id": "t1", "error": None, "interrupts": [waiting]},
        {"id": "t2", "error": "CancelledError()", "interrupts": []},
        {"id": "t3", "error": "OSError('disk busy: /x')", "interrupts": [failed]}]}
    state = ThreadState(thread_id="t", values={}, raw=raw)
    assert state.waiting_interrupts() == [waiting]
    assert state.interrupt_ids == ["i1", "i2"]
    assert state.error == GraphError(error="OSError", message="disk busy: /x")
    assert task_error("boom") == GraphError(error="Error", message="boom")
