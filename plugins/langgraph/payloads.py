"""LangGraph interrupt payloads ⇄ Countersign action specs and resume values (no I/O).

Three payload formats are understood (see INTEROP.md):

- ``agent_inbox``: Agent Inbox ``HumanInterrupt``, a list of them or a bare one.
  Allowed verdicts come from ``config``: allow_accept → approve, allow_edit → edit,
  allow_respond → respond **and reject**, allow_ignore → ignore. The format has no
  "reject": a rejection reaches the agent as a ``response`` carrying the reason (the
  text channel Agent Inbox itself uses for "no, because…"), so it needs allow_respond.
- ``hitl_middleware``: LangChain v1 ``HumanInTheLoopMiddleware`` in batched mode,
  ``{"action_requests": [...], "review_configs": [...]}``. Verdicts are the listed
  ``allowed_decisions`` (approve / edit / reject, and respond since langchain 1.2-ish).
  "respond" is offered only when the agent lists it: it is not faked as a reject with a
  message, because the middleware frames a reject as an error to the model while a
  respond answers on the tool's behalf. "ignore" does not exist in this format.
- ``hitl_tool_approval``: the middleware's ``per_call`` mode, one interrupt per tool
  call, value ``{"type": "tool_approval", ...}``. The interrupt's ``response_schema``
  lists the allowed decisions and pins an edit's arguments to the tool's own schema,
  which becomes the action's ``arguments_schema`` (see `response_schema`). It is
  answered with one bare decision, or ``{interrupt_id: decision}`` beside others.

Several action requests in one interrupt become several specs sharing the interrupt id
(``index`` / ``count_in_interrupt``): they can only be resumed together.
Edited arguments stay structured JSON (Agent Inbox's UI stringifies them; we don't).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .response_schema import allowed_decisions, edit_arguments_schema

Verdict = Literal["approve", "edit", "reject", "respond", "ignore"]
PayloadFormat = Literal["agent_inbox", "hitl_middleware", "hitl_tool_approval"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)


class PayloadError(ValueError):
    """An interrupt payload Countersign cannot read; names thread, interrupt and field."""

    def __init__(self, thread_id: str, interrupt_id: str, field: str, problem: str) -> None:
        self.thread_id, self.interrupt_id, self.field = thread_id, interrupt_id, field
        super().__init__(
            f"LangGraph thread {thread_id}, interrupt {interrupt_id}: {field}: {problem}"
        )


class ResumeError(ValueError):
    """Decisions that cannot be turned into a resume value (wrong set, verdict not allowed)."""


class InterruptedAction(BaseModel):
    """One action a LangGraph thread is waiting on, as the console needs it."""

    model_config = ConfigDict(frozen=True)

    thread_id: str
    interrupt_id: str
    index: int
    count_in_interrupt: int
    format: PayloadFormat
    action_class: str
    arguments: dict[str, Any]
    description: str | None = None
    arguments_schema: dict[str, Any] | None = None
    allowed_verdicts: tuple[Verdict, ...]
    checkpoint_id: str | None = None
    # The key the agent used for arguments ("args" in langchain ≥ 1.0, "arguments" in
    # INTEROP.md's older description); an edit is sent back under the same key.
    args_key: Literal["args", "arguments"] = "args"

    @property
    def source_ref(self) -> str:
        """Stable unique reference of this action on the source side."""
        return f"{self.thread_id}/{self.interrupt_id}/{self.index}"


class ResumeDecision(BaseModel):
    """A verdict for one spec; `arguments` for edit, `message` for reject/respond."""

    model_config = ConfigDict(frozen=True)

    verdict: Verdict
    arguments: dict[str, Any] | None = None
    message: str | None = None


class GraphError(BaseModel):
    """A graph failure reported by the server (exception type name and message)."""

    model_config = ConfigDict(frozen=True)

    error: str
    message: str


# --- wire shapes -----------------------------------------------------------------------


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _InboxRequest(_Wire):
    action: str
    args: dict[str, Any]


class _InboxConfig(_Wire):
    allow_accept: bool = False
    allow_edit: bool = False
    allow_respond: bool = False
    allow_ignore: bool = False


class _HumanInterrupt(_Wire):
    action_request: _InboxRequest
    config: _InboxConfig
    description: str | None = None


class _HitlRequest(_Wire):
    name: str
    args: dict[str, Any]
    description: str | None = None
    args_key: Literal["args", "arguments"] = "args"

    @model_validator(mode="before")
    @classmethod
    def _accept_arguments_key(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "args" not in data and "arguments" in data:
            return {**data, "args": data["arguments"], "args_key": "arguments"}
        return data


class _ReviewConfig(_Wire):
    action_name: str
    allowed_decisions: list[str]
    args_schema: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _accept_arguments_schema(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "args_schema" not in data:
            return {**data, "args_schema": data.get("arguments_schema")}
        return data


class _HitlInterrupt(_Wire):
    action_requests: list[_HitlRequest] = Field(min_length=1)
    review_configs: list[_ReviewConfig]


class _ToolApproval(_Wire):
    type: Literal["tool_approval"]
    name: str
    args: dict[str, Any]
    description: str | None = None


# --- parsing ---------------------------------------------------------------------------


_M = TypeVar("_M", bound=BaseModel)


def _validate(
    model: type[_M], data: Any, thread_id: str, interrupt_id: str, where: str
) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(part) for part in first["loc"])
        field = f"{where}.{loc}" if loc else where
        raise PayloadError(thread_id, interrupt_id, field, first["msg"]) from exc


def _inbox_verdicts(config: _InboxConfig) -> tuple[Verdict, ...]:
    allowed: list[Verdict] = []
    if config.allow_accept:
        allowed.append("approve")
    if config.allow_edit:
        allowed.append("edit")
    if config.allow_respond:
        allowed += ["reject", "respond"]
    if config.allow_ignore:
        allowed.append("ignore")
    return tuple(allowed)


def _hitl_verdicts(decisions: Iterable[str]) -> tuple[Verdict, ...]:
    # Unknown decision types (a newer middleware) are left out rather than refused.
    known = {"approve", "edit", "reject", "respond"}
    return tuple(v for v in VERDICTS if v in known and v in set(decisions))


def _parse_one(
    thread_id: str,
    interrupt: Mapping[str, Any],
    checkpoint_id: str | None,
) -> list[InterruptedAction]:
    interrupt_id = interrupt.get("id")
    if not isinstance(interrupt_id, str) or not interrupt_id:
        raise PayloadError(thread_id, "?", "id", "interrupt has no id (langgraph < 0.4?)")
    value = interrupt.get("value")
    common = {"thread_id": thread_id, "interrupt_id": interrupt_id,
              "checkpoint_id": checkpoint_id}

    if isinstance(value, Mapping) and "action_request" in value:
        value = [value]
    if isinstance(value, list):
        if not value:
            raise PayloadError(thread_id, interrupt_id, "value", "empty HumanInterrupt list")
        items = [_validate(_HumanInterrupt, item, thread_id, interrupt_id, f"value[{i}]")
                 for i, item in enumerate(value)]
        return [
            InterruptedAction(
                **common, index=i, count_in_interrupt=len(items), format="agent_inbox",
                action_class=item.action_request.action, arguments=item.action_request.args,
                description=item.description, allowed_verdicts=_inbox_verdicts(item.config),
            )
            for i, item in enumerate(items)
        ]
    if isinstance(value, Mapping) and "action_requests" in value:
        hitl = _validate(_HitlInterrupt, value, thread_id, interrupt_id, "value")
        configs = {c.action_name: c for c in hitl.review_configs}
        specs = []
        for i, request in enumerate(hitl.action_requests):
            config = configs.get(request.name)
            if config is None:
                raise PayloadError(thread_id, interrupt_id, "value.review_configs",
                                   f"no review config for action {request.name!r}")
            specs.append(InterruptedAction(
                **common, index=i, count_in_interrupt=len(hitl.action_requests),
                format="hitl_middleware", action_class=request.name, arguments=request.args,
                description=request.description, arguments_schema=config.args_schema,
                allowed_verdicts=_hitl_verdicts(config.allowed_decisions),
                args_key=request.args_key,
            ))
        return specs
    if isinstance(value, Mapping) and value.get("type") == "tool_approval":
        approval = _validate(_ToolApproval, value, thread_id, interrupt_id, "value")
        schema = interrupt.get("response_schema")
        if schema is not None and not isinstance(schema, Mapping):
            raise PayloadError(thread_id, interrupt_id, "response_schema", "not an object")
        allowed = (allowed_decisions(schema) if schema else set()) or {
            "approve", "edit", "reject"}
        verdicts = _hitl_verdicts(allowed)
        return [InterruptedAction(
            **common, index=0, count_in_interrupt=1, format="hitl_tool_approval",
            action_class=approval.name, arguments=approval.args,
            description=approval.description, allowed_verdicts=verdicts,
            arguments_schema=(edit_arguments_schema(schema)
                              if schema and "edit" in verdicts else None),
        )]
    shape = type(value).__name__ if not isinstance(value, Mapping) else f"keys {sorted(value)}"
    raise PayloadError(thread_id, interrupt_id, "value",
                       f"unknown interrupt payload shape ({shape})")


def _flatten(interrupts: Any) -> list[Any]:
    """Accept the thread shape ``{task_id: [interrupt]}`` or a list of interrupts."""
    if isinstance(interrupts, Mapping):
        return [i for group in interrupts.values() for i in group]
    return list(interrupts or [])


def parse_interrupts(
    thread_id: str,
    interrupts: Mapping[str, Sequence[Mapping[str, Any]]] | Sequence[Mapping[str, Any]],
    *,
    checkpoint_id: str | None = None,
    errors: list[PayloadError] | None = None,
) -> list[InterruptedAction]:
    """Specs for every pending interrupt, in server order, each interrupt id once.

    Raises `PayloadError` on the first unreadable interrupt, unless `errors` is given:
    then unreadable interrupts are appended there and the readable ones still returned
    (one foreign interrupt must not hide the others of a thread).
    """
    specs: list[InterruptedAction] = []
    seen: set[str] = set()
    for interrupt in _flatten(interrupts):
        if not isinstance(interrupt, Mapping):
            exc = PayloadError(thread_id, "?", "interrupts", "interrupt is not an object")
        elif interrupt.get("id") in seen:
            continue
        else:
            try:
                specs += _parse_one(thread_id, interrupt, checkpoint_id)
                seen.add(interrupt["id"])
                continue
            except PayloadError as caught:
                exc = caught
        if errors is None:
            raise exc
        errors.append(exc)
    return specs


def parse_thread(
    thread: Mapping[str, Any], *, errors: list[PayloadError] | None = None
) -> list[InterruptedAction]:
    """Specs from a `/threads/search` or `GET /threads/{id}` item (no checkpoint id there)."""
    return parse_interrupts(str(thread["thread_id"]), thread.get("interrupts") or {},
                            errors=errors)


def parse_state(
    thread_id: str, state: Mapping[str, Any], *, errors: list[PayloadError] | None = None
) -> list[InterruptedAction]:
    """Specs from `GET /threads/{id}/state`, with the checkpoint id they belong to."""
    checkpoint = state.get("checkpoint") or {}
    checkpoint_id = checkpoint.get("checkpoint_id") or state.get("checkpoint_id")
    interrupts = state.get("interrupts")
    if interrupts is None:  # older servers: only per-task interrupts
        interrupts = [i for task in state.get("tasks", []) for i in task.get("interrupts", [])]
    return parse_interrupts(thread_id, interrupts, checkpoint_id=checkpoint_id, errors=errors)


def pending_interrupt_ids(
    interrupts: Mapping[str, Sequence[Mapping[str, Any]]] | Sequence[Mapping[str, Any]],
) -> list[str]:
    """Ids of the interrupts a thread (or state) says are pending, in order, deduplicated."""
    ids = [str(i.get("id")) for i in _flatten(interrupts) if isinstance(i, Mapping)]
    return list(dict.fromkeys(ids))


def graph_error(payload: Mapping[str, Any]) -> GraphError | None:
    """The graph error in a `/runs/wait` or join result (`__error__`) or a thread
    (status "error" with its `error` field), else None."""
    raw = payload.get("__error__")
    if raw is None and payload.get("status") == "error":
        raw = payload.get("error") or {"error": "Error", "message": "thread status is error"}
    if raw is None:
        return None
    if isinstance(raw, Mapping):
        return GraphError(error=str(raw.get("error", "Error")), message=str(raw.get("message", "")))
    return GraphError(error="Error", message=str(raw))


# --- resume values ---------------------------------------------------------------------

_INBOX_TYPE: dict[str, str] = {"approve": "accept", "edit": "edit", "reject": "response",
                               "respond": "response", "ignore": "ignore"}


def _check(spec: InterruptedAction, decision: ResumeDecision) -> None:
    where = f"{spec.source_ref} ({spec.action_class})"
    if decision.verdict not in spec.allowed_verdicts:
        raise ResumeError(f"{where}: verdict {decision.verdict!r} not allowed "
                          f"(allowed: {', '.join(spec.allowed_verdicts)})")
    if decision.verdict == "edit" and decision.arguments is None:
        raise ResumeError(f"{where}: an edit needs the edited arguments")
    if decision.verdict == "respond" and not decision.message:
        raise ResumeError(f"{where}: a response needs a message")
    if decision.verdict == "reject" and spec.format == "agent_inbox" and not decision.message:
        raise ResumeError(f"{where}: Agent Inbox carries a rejection as text: give a reason")


def _hitl_decision(spec: InterruptedAction, decision: ResumeDecision) -> dict[str, Any]:
    if decision.verdict == "edit":
        return {"type": "edit", "edited_action": {"name": spec.action_class,
                                                  spec.args_key: decision.arguments}}
    if decision.verdict in ("reject", "respond"):
        out: dict[str, Any] = {"type": decision.verdict}
        if decision.message is not None:
            out["message"] = decision.message
        return out
    return {"type": decision.verdict}


def build_resume_value(
    specs: Sequence[InterruptedAction], decisions: Sequence[ResumeDecision]
) -> Any:
    """The resume value for ONE interrupt, from a decision for each of its specs.

    `decisions[i]` belongs to `specs[i]`; specs may come in any order but must be all the
    specs of one interrupt. The result goes into `build_command_resume`.
    """
    if not specs or len(specs) != len(decisions):
        raise ResumeError(f"{len(decisions)} decisions for {len(specs)} actions")
    pairs = sorted(zip(specs, decisions, strict=True), key=lambda p: p[0].index)
    first = pairs[0][0]
    if {(s.thread_id, s.interrupt_id, s.format) for s, _ in pairs} != {
        (first.thread_id, first.interrupt_id, first.format)
    }:
        raise ResumeError("decisions span several interrupts; resume one interrupt at a time")
    if [s.index for s, _ in pairs] != list(range(first.count_in_interrupt)):
        raise ResumeError(f"interrupt {first.interrupt_id} has {first.count_in_interrupt} "
                          f"actions; all must be decided together")
    for spec, decision in pairs:
        _check(spec, decision)

    if first.format == "agent_inbox":
        responses = []
        for spec, decision in pairs:
            args: Any = None
            if decision.verdict == "edit":
                args = {"action": spec.action_class, "args": decision.arguments}
            elif decision.verdict in ("reject", "respond"):
                args = decision.message
            responses.append({"type": _INBOX_TYPE[decision.verdict], "args": args})
        return responses
    if first.format == "hitl_tool_approval":
        return _hitl_decision(*pairs[0])
    return {"decisions": [_hitl_decision(spec, decision) for spec, decision in pairs]}


def build_command_resume(values: Mapping[str, Any], pending_interrupt_ids: Sequence[str]) -> Any:
    """`command.resume` for a thread: the bare value when it is the thread's only pending
    interrupt, else the map `{interrupt_id: value}` LangGraph requires (a bare value with
    several pending interrupts fails the run with a RuntimeError)."""
    if not values:
        raise ResumeError("nothing to resume")
    unknown = set(values) - set(pending_interrupt_ids)
    if unknown:
        raise ResumeError(f"interrupts no longer pending: {', '.join(sorted(unknown))}")
    if len(pending_interrupt_ids) == 1:
        return next(iter(values.values()))
    return dict(values)
