"""The Queue workspace's store reads: plain functions run off the GUI thread
(STYLE.md, rule 7). None of them touches a widget."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from countersign.domain import ActionDetail, ActionState, DecisionRecord, QueueRow, SpanRecord

if TYPE_CHECKING:
    from countersign.services.actions import ActionService
    from countersign.services.decisions import DecisionService

#: The first load shows this many rows before reading the rest.
FIRST_CHUNK = 500


@dataclass(frozen=True)
class QueueSnapshot:
    """Rows of the queue and the change id read just before them (the feed starts
    there, so a change made between the two reads is applied, not lost)."""

    after_change_id: int
    rows: list[QueueRow]
    complete: bool


def load_queue(actions: ActionService, states: tuple[ActionState, ...],
               limit: int | None) -> QueueSnapshot:
    after = actions.last_change_id()
    rows = actions.queue_rows(states=states, limit=limit)
    return QueueSnapshot(after, rows, complete=limit is None or len(rows) < limit)


@dataclass(frozen=True)
class LoadedAction:
    """What the detail pane shows for one action."""

    detail: ActionDetail
    spans: list[SpanRecord]
    #: The parsed arguments, or the pane's marker for text it must show raw.
    arguments: Any
    #: What became of it (read for the History; None while pending).
    decision: DecisionRecord | None = None
    #: Whether the decision was read (the History's detail shows it, even when None).
    with_decision: bool = False


def parse_arguments(text: str) -> Any:
    """The arguments as data, or a `RawArguments` the pane shows as text when they
    cannot be parsed (nested too deeply for the parser, or not JSON at all)."""
    from .detail import RawArguments

    try:
        return json.loads(text)
    except RecursionError:
        return RawArguments(text, "nested too deeply to show as a tree")
    except ValueError as exc:
        return RawArguments(text, f"not valid JSON ({exc})")


def load_action(actions: ActionService, action_id: int,
                decisions: DecisionService | None = None) -> LoadedAction:
    """The action, its reasoning and parsed arguments; with ``decisions``, also what
    became of it (the History)."""
    detail = actions.get(action_id)
    spans = actions.spans(detail.trace_id) if detail.trace_id else []
    decision = decisions.get(action_id) if decisions is not None else None
    return LoadedAction(detail, spans, parse_arguments(detail.arguments_json), decision,
                        with_decision=decisions is not None)
