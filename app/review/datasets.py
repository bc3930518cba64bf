"""Eval dataset examples: what one decision or label teaches, in a form eval tools read.

An `Example` is built from plain values the store layer gathers (no ORM, no I/O here):
the input is what the agent saw (the last system / user messages of its reasoning chain
and the tool call it proposed), the expected output is what should have happened (the
approved arguments, the operator's edited arguments as the correction, or a reviewer's
correction), and the metadata says where it came from. Each example falls in the train
or test split by a hash of its key, so rebuilding a dataset never reshuffles it.

A dataset's versions are compared with `diff_examples`; names are checked with
`validate_dataset_name` because a dataset name becomes a file name and a Phoenix or
Langfuse dataset name.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

Split = Literal["train", "test"]
SPLITS: tuple[Split, ...] = ("train", "test")
MAX_NAME_LENGTH = 100
#: How many system / user messages of the conversation an example keeps (the latest).
MAX_PROMPT_MESSAGES = 50
#: The roles kept in an example's input: the instructions and what the user asked.
PROMPT_ROLES = frozenset({"system", "user"})
#: Verdicts whose proposed arguments are the expected output as they were.
_ACCEPTED_VERDICTS = frozenset({"approve", "auto_approve"})
#: Characters that would make a name a path, or that a file name cannot hold on
#: Windows (a dataset is exported to a file named after it).
_PATH_CHARACTERS = frozenset('/\\:*?"<>|')
#: Control, format (bidi overrides, zero-width), surrogate, private and unassigned
#: characters, and line / paragraph separators: invisible or reordering in a list.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
#: Salted so the split is independent of the sampling draw, which also hashes ids.
_SPLIT_SALT = b"countersign-dataset-split\x00"


class DatasetNameError(ValueError):
    """A dataset name that cannot be used; the message says why."""


def validate_dataset_name(name: str) -> str:
    """``name`` unchanged if it can name a dataset, else `DatasetNameError` saying why.

    Refused: empty or blank, longer than `MAX_NAME_LENGTH`, a leading dot, ``..``,
    path separators and the other characters a Windows file name cannot hold
    (``/ \\ : * ? " < > |``), NUL and every control or invisible character.
    """
    if not isinstance(name, str):
        raise DatasetNameError(f"dataset name must be text, not {type(name).__name__}")
    shown = json.dumps(name[:MAX_NAME_LENGTH + 20], ensure_ascii=True)
    if not name.strip():
        raise DatasetNameError("dataset name must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise DatasetNameError(
            f"dataset name must be at most {MAX_NAME_LENGTH} characters (got {len(name)})")
    if any(unicodedata.category(ch) in _INVISIBLE_CATEGORIES for ch in name):
        raise DatasetNameError(
            f"dataset name {shown} must not contain control or invisible characters")
    bad = sorted(set(name) & _PATH_CHARACTERS)
    if bad:
        raise DatasetNameError(
            f"dataset name {shown} must not contain path characters ({' '.join(bad)})")
    if name.startswith("."):
        raise DatasetNameError(f"dataset name {shown} must not start with a dot")
    if ".." in name:
        raise DatasetNameError(f"dataset name {shown} must not contain '..'")
    return name


def parse_answer_filter(items: Iterable[str]) -> dict[str, Any]:
    """``["correct=wrong", "harm=true"]`` as `DatasetFilter.answers`: question key →
    the answer a label must give. A value that reads as JSON (``true``, ``3``,
    ``"yes"``) is that value, anything else is the text as typed. `ValueError` names
    the item that is not ``KEY=VALUE`` or repeats a key."""
    wanted: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key, text = key.strip(), text.strip()
        if not sep or not key or not text:
            raise ValueError(f"answer filter {item!r} is not KEY=VALUE (e.g. correct=wrong)")
        if key in wanted:
            raise ValueError(f"answer filter names {key!r} twice")
        try:
            wanted[key] = json.loads(text)
        except ValueError:
            wanted[key] = text
    return wanted


#: A `str` field that holds a valid dataset name (for pydantic models and settings).
DatasetName = Annotated[str, AfterValidator(validate_dataset_name)]


def split_for(key: str, test_fraction: float = 0.2) -> Split:
    """``"test"`` for about ``test_fraction`` of keys, else ``"train"``; always the same
    answer for the same key and fraction (a SHA-256 of the key, not `random`)."""
    if not 0.0 <= test_fraction <= 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1 (got {test_fraction})")
    digest = hashlib.sha256(_SPLIT_SALT + key.encode("utf-8", "surrogatepass")).digest()
    position = int.from_bytes(digest[:8], "big") / 2.0**64
    return "test" if position < test_fraction else "train"


class Example(BaseModel):
    """One eval example (see the module docstring). JSON-bearing fields hold plain JSON
    values; ``input`` is ``{"messages": [{"role", "content"}...], "tool_call":
    {"name", "arguments"} | None}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The stable id of its source: ``action:<id>`` or ``label:<id>``.
    key: str = Field(min_length=1)
    input: dict[str, Any]
    expected_output: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    source_trace_id: str | None = None
    source_span_id: str | None = None
    split: Split

    @field_validator("input")
    @classmethod
    def _input_shape(cls, value: dict[str, Any]) -> dict[str, Any]:
        messages = value.get("messages")
        if not isinstance(messages, list):
            raise ValueError("input.messages must be a list of {role, content}")
        for index, message in enumerate(messages):
            if not (isinstance(message, dict) and isinstance(message.get("role"), str)
                    and isinstance(message.get("content"), str)):
                raise ValueError(f"input.messages[{index}] must be {{role, content}} text")
        call = value.get("tool_call")
        if call is not None and not (isinstance(call, dict) and isinstance(call.get("name"), str)):
            raise ValueError("input.tool_call must be {name, arguments} or null")
        return value


class DatasetDiff(BaseModel):
    """What changed between two versions of a dataset, by example key."""

    model_config = ConfigDict(frozen=True)

    added: list[Example]
    removed: list[Example]
    #: (old, new) pairs whose content or split differs.
    changed: list[tuple[Example, Example]]


def _by_key(examples: Iterable[Example], which: str) -> dict[str, Example]:
    out: dict[str, Example] = {}
    for example in examples:
        if example.key in out:
            raise ValueError(f"{which} version holds the key {example.key!r} twice")
        out[example.key] = example
    return out


def diff_examples(old: Iterable[Example], new: Iterable[Example]) -> DatasetDiff:
    """Examples added, removed and changed from ``old`` to ``new`` (matched by key;
    added and changed in ``new``'s order, removed in ``old``'s)."""
    before = _by_key(old, "the old")
    after = _by_key(new, "the new")
    return DatasetDiff(
        added=[e for k, e in after.items() if k not in before],
        removed=[e for k, e in before.items() if k not in after],
        changed=[(before[k], e) for k, e in after.items() if k in before and before[k] != e],
    )


def _message_text(content: Any) -> str | None:
    """Message content as text: strings as they are, OpenAI-style content parts
    joined by their text, anything else as JSON; None when there is none."""
    if content is None:
        return None
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) for p in content):
        texts = [p["text"] for p in content if isinstance(p.get("text"), str)]
        if texts:
            return "\n".join(texts)
    return json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)


def prompt_messages(messages: Iterable[Mapping[str, Any]],
                    limit: int = MAX_PROMPT_MESSAGES) -> list[dict[str, str]]:
    """The system and user messages of a conversation as ``{role, content}`` text,
    the last ``limit`` of them. Assistant turns and tool results are left out: they
    are what the agent produced, not what it was asked."""
    kept: list[dict[str, str]] = []
    for message in messages:
        role = message.get("role")
        if not isinstance(role, str) or role.lower() not in PROMPT_ROLES:
            continue
        text = _message_text(message.get("content"))
        if text is not None:
            kept.append({"role": role.lower(), "content": text})
    return kept[-limit:] if limit > 0 else []


def last_conversation(span_inputs: Iterable[Any]) -> list[dict[str, Any]]:
    """The messages of the last model call in a reasoning chain.

    ``span_inputs`` are the parsed ``input_json`` values of the chain's spans in time
    order; a model call's input is ``{"messages": [...]}`` (see countersign.wire).
    Values without messages are skipped; no model call gives an empty list.
    """
    found: list[dict[str, Any]] = []
    for value in span_inputs:
        if isinstance(value, Mapping):
            messages = value.get("messages")
            if isinstance(messages, list) and messages:
                found = [m for m in messages if isinstance(m, dict)]
    return found


def _input(messages: Iterable[Mapping[str, Any]], tool_name: str | None,
           arguments: Any) -> dict[str, Any]:
    call = None if tool_name is None else {"name": tool_name, "arguments": arguments}
    return {"messages": prompt_messages(messages), "tool_call": call}


_EXAMPLE_FIELDS = frozenset(Example.model_fields)


def trusted_example(values: dict[str, Any]) -> Example:
    """An `Example` from a dict holding exactly its fields, trusted as they are (the
    builders' output, or a stored version read back). What `model_construct` makes,
    without its per-field bookkeeping, which is most of the cost of reading 100,000
    examples back; the dict is taken over, not copied."""
    if values.keys() != _EXAMPLE_FIELDS:
        raise ValueError(f"an example has exactly the fields {sorted(_EXAMPLE_FIELDS)} "
                         f"(got {sorted(values)})")
    example = Example.__new__(Example)
    object.__setattr__(example, "__dict__", values)
    object.__setattr__(example, "__pydantic_fields_set__", set(_EXAMPLE_FIELDS))
    object.__setattr__(example, "__pydantic_extra__", None)
    object.__setattr__(example, "__pydantic_private__", None)
    return example


def _trusted_example(key: str, input: dict[str, Any], expected: Any,
                     metadata: dict[str, Any], trace_id: str | None, span_id: str | None,
                     split: Split) -> Example:
    """An `Example` whose shape the builders guarantee, made without re-validating it:
    validation is half the cost of building 100,000 examples."""
    return trusted_example({
        "key": key, "input": input, "expected_output": expected, "metadata": metadata,
        "source_trace_id": trace_id, "source_span_id": span_id, "split": split})


def _without_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def example_from_decision(
    *,
    action_id: int | str,
    tool_name: str,
    proposed_arguments: Any,
    verdict: str,
    messages: Sequence[Mapping[str, Any]] = (),
    decided_arguments: Any = None,
    correction: Any = None,
    severity: str | None = None,
    reason: str | None = None,
    response: str | None = None,
    risk: str | None = None,
    agent: str | None = None,
    agent_version: str | None = None,
    action_class: str | None = None,
    reviewer: str | None = None,
    decided_at: float | None = None,
    labels: Sequence[Mapping[str, Any]] = (),
    trace_id: str | None = None,
    span_id: str | None = None,
    test_fraction: float = 0.2,
) -> Example:
    """The example one decided (or auto-approved) action teaches. Key ``action:<id>``.

    - ``tool_name``, ``proposed_arguments``: the tool call the agent proposed.
    - ``verdict``: the decision's verdict value (``approve``, ``edit``, ``reject``,
      ``respond``, ``ignore``, ``auto_approve``, ``expire``).
    - ``messages``: the conversation the agent saw, any roles (``last_conversation``
      finds it in the reasoning chain); only system / user messages are kept.
    - ``decided_arguments``: the arguments after the decision (the edit for ``edit``).
    - ``correction``: a reviewer's correction of the expected output; it wins.
    - ``severity``, ``reason``, ``response``, ``reviewer``, ``decided_at``: the decision.
    - ``risk``, ``agent``, ``agent_version``, ``action_class``: the action.
    - ``labels``: the labels on the action, as plain dicts (reviewer, rubric,
      rubric_version, answers...), kept in the metadata for filtering.
    - ``trace_id``, ``span_id``: the proposing span, linking back to the trace.

    Expected output: the correction if any; else the edited arguments for an edit;
    else the proposed arguments when approved or auto-approved; else None (a
    rejection, response or expiry says the call should not have happened as it was).
    ``metadata["expected_from"]`` names which (correction, edit, approved, none).
    """
    if correction is not None:
        expected, expected_from = correction, "correction"
    elif verdict == "edit":
        expected, expected_from = decided_arguments, "edit"
    elif verdict in _ACCEPTED_VERDICTS:
        expected = proposed_arguments if decided_arguments is None else decided_arguments
        expected_from = "approved"
    else:
        expected, expected_from = None, "none"
    key = f"action:{action_id}"
    metadata = _without_none({
        "source": "decision", "action_id": action_id, "verdict": verdict,
        "expected_from": expected_from, "severity": severity, "reason": reason,
        "response": response, "risk": risk, "agent": agent, "agent_version": agent_version,
        "action_class": action_class, "reviewer": reviewer, "decided_at": decided_at,
    })
    metadata["labels"] = [dict(label) for label in labels]
    return _trusted_example(key, _input(messages, tool_name, proposed_arguments), expected,
                            metadata, trace_id, span_id, split_for(key, test_fraction))


def example_from_label(
    *,
    label_id: int | str,
    reviewer: str,
    answers: Mapping[str, Any],
    rubric: str | None = None,
    rubric_version: int | None = None,
    labelled_at: float | None = None,
    correction: Any = None,
    output: Any = None,
    messages: Sequence[Mapping[str, Any]] = (),
    tool_name: str | None = None,
    proposed_arguments: Any = None,
    action_id: int | str | None = None,
    verdict: str | None = None,
    risk: str | None = None,
    agent: str | None = None,
    agent_version: str | None = None,
    action_class: str | None = None,
    trace_id: str | None = None,
    span_id: str | None = None,
    test_fraction: float = 0.2,
) -> Example:
    """The example one reviewer's label teaches. Key ``label:<id>``.

    - ``reviewer``, ``answers`` (keyed by question key), ``rubric``,
      ``rubric_version``, ``labelled_at``: the label.
    - ``correction``: the reviewer's correction (expected arguments or output).
    - ``output``: what the labelled item produced: the executed arguments of an
      action, or a run's final output.
    - ``messages``: the conversation the agent saw (system / user messages kept).
    - ``tool_name``, ``proposed_arguments``: the proposed tool call, for an action
      (None for a run sampled from traces).
    - ``action_id``, ``verdict``, ``risk``, ``agent``, ``agent_version``,
      ``action_class``: the labelled action and its decision, when there is one.
    - ``trace_id``, ``span_id``: where the item lives in the traces.

    Expected output: the correction if any, else ``output`` (what the reviewer saw and
    did not correct); ``metadata["expected_from"]`` says which (correction, reviewed).
    The answers are in ``metadata["answers"]``, so a dataset can keep only the items
    a reviewer judged correct.
    """
    if correction is not None:
        expected, expected_from = correction, "correction"
    else:
        expected, expected_from = output, "reviewed"
    key = f"label:{label_id}"
    metadata = _without_none({
        "source": "label", "label_id": label_id, "action_id": action_id, "verdict": verdict,
        "expected_from": expected_from, "reviewer": reviewer, "rubric": rubric,
        "rubric_version": rubric_version, "labelled_at": labelled_at, "risk": risk,
        "agent": agent, "agent_version": agent_version, "action_class": action_class,
    })
    metadata["answers"] = dict(answers)
    return _trusted_example(key, _input(messages, tool_name, proposed_arguments), expected,
                            metadata, trace_id, span_id, split_for(key, test_fraction))
