"""The reviewer's loop as plain values (ARCHITECTURE.md: Sample, Label, Rubric,
Dataset): what the review services hand to the Review workspace and the CLI. ORM rows
never leave the store layer; rubrics themselves are `countersign.review.rubric.Rubric`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .actions import ActionDetail, DecisionRecord

ItemState = Literal["open", "done"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class ReviewItem(_Frozen):
    """One line of the review queue: the item and what the list shows about it."""

    id: int
    #: Exactly one of the two is set: an action, or a run reviewed without one.
    action_id: int | None
    trace_id: str | None
    rubric: str
    #: The probability it was drawn with; None when added by hand (ad hoc).
    pi: float | None
    #: The rule that drew it; None when added by hand.
    rule: str | None
    added_by: str | None
    needed: int
    labels: int
    state: ItemState
    created_at: float
    agent: str | None = None
    agent_version: str | None = None
    action_class: str | None = None
    risk: str | None = None
    #: The verdict the action got (approve, edit, auto_approve...), if any.
    verdict: str | None = None
    severity: str | None = None
    #: Reviewers holding an unexpired claim on one of its slots.
    claimed_by: tuple[str, ...] = ()

    @property
    def ad_hoc(self) -> bool:
        return self.pi is None

    @property
    def why(self) -> str:
        """Why it is in the queue, as the list says it."""
        if self.rule is None:
            return f"ad hoc ({self.added_by})" if self.added_by else "ad hoc"
        return f"{self.rule} (pi {self.pi:g})"


class Claim(_Frozen):
    """A reviewer's hold on one label slot of an item, until ``expires_at``."""

    item_id: int
    slot: int
    reviewer: str
    expires_at: float


class LabelRecord(_Frozen):
    id: int
    item_id: int
    reviewer: str
    rubric: str
    rubric_version: int
    answers: dict[str, Any]
    correction: Any = None
    created_at: float


class ReviewItemDetail(_Frozen):
    """Everything the right side of the Review workspace shows about one item. The
    rubric is the newest version (the one a label now answers); the reasoning chain is
    read with ``services.actions.spans(trace_id)`` like the Queue does."""

    item: ReviewItem
    rubric: Any  # countersign.review.rubric.Rubric (kept Any: domain stays import-light)
    action: ActionDetail | None
    decision: DecisionRecord | None
    #: The trace the item lives in (the action's, or the reviewed run's).
    trace_id: str | None
    #: Labels already given (the UI may hide their answers to avoid anchoring).
    labels: tuple[LabelRecord, ...] = ()
    #: The asking reviewer's claim, when they hold one.
    claim: Claim | None = None


class SampleReport(_Frozen):
    """What `review sample` did: items considered, and how many of them were drawn."""

    considered: int
    drawn: int
    actions_considered: int = 0
    runs_considered: int = 0


class DatasetFilter(_Frozen):
    """Which decisions and labels a dataset is built from; empty fields match all.

    ``verdicts`` are decision verdicts (approve, edit, reject, respond, auto_approve,
    expire, ignore); ``answers`` keeps only items with a label giving every one of
    these answers (question key → value); ``since`` / ``until`` bound the decision's
    or label's time (epoch seconds, ``until`` exclusive). Runs reviewed without an
    action come in through their labels unless ``verdicts`` or ``action_class`` is set.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent: str | None = None
    action_class: str | None = None
    verdicts: tuple[str, ...] = ()
    answers: dict[str, Any] = Field(default_factory=dict)
    since: float | None = None
    until: float | None = None
    test_fraction: float = Field(default=0.2, ge=0.0, le=1.0)


class DatasetInfo(_Frozen):
    name: str
    version: int
    examples: int
    created_at: float
    created_by: str
    filter: DatasetFilter


class DatasetDiffSummary(_Frozen):
    """Keys added, removed and changed from version ``old`` to ``new``."""

    name: str
    old: int
    new: int
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]
