"""The reviewer's loop in the store (issue 12): rubrics, sampling rules, review items
with their claims and labels, the sampling watermark, and frozen dataset versions.

Kept apart from ``models.py`` but on the same declarative `Base`, so Alembic and every
``Base.metadata`` user see one schema. Conventions are the store's: epoch seconds as
floats, JSON as text in the exact encoding written.

Concurrency lives in the constraints, not in Python:

- ``review_items`` is unique per (action, rubric) and (trace, rubric): sampling the
  same action twice, or two consoles adding it at once, makes one item.
- ``review_claims`` is unique per (item, slot) and (item, reviewer): two reviewers
  taking the same slot race on an INSERT, and the database lets exactly one win, on
  SQLite (writers are serialised) and PostgreSQL (the second insert waits for the
  first to commit, then fails on the unique index). A claim that became a label keeps
  its row (``label_id`` set, no expiry), so the slot stays taken.
- ``review_labels`` is unique per (item, reviewer): one label per reviewer and item.
- ``datasets`` is unique per (name, version): two builds of the same version cannot
  both commit, and a version is written in one transaction with its examples.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, DecisionRow

#: "Outcomes since t" and the dataset time filter read decisions by time.
DECISIONS_BY_TIME = Index("ix_decisions_decided_at", DecisionRow.decided_at)


class RubricRow(Base):
    """One version of a rubric; ``definition_json`` is the `Rubric` model as JSON."""

    __tablename__ = "review_rubrics"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    #: "action" or "run".
    target: Mapped[str] = mapped_column(String(10))
    definition_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(200))


class SamplingRuleRow(Base):
    """One sampling rule; the first enabled rule (by ``position``) that matches an
    item decides its draw (see ``countersign.review.sampling``)."""

    __tablename__ = "review_rules"
    __table_args__ = (UniqueConstraint("name"), UniqueConstraint("position"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean)
    #: The `SamplingRule` as its ``[[review.rules]]`` table, in JSON.
    definition_json: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[float] = mapped_column(Float)


class ReviewItemRow(Base):
    """An action or a run in the Review queue, answered with ``rubric`` (by name: a
    label records the version it answered). ``pi`` is the probability it was drawn
    with; NULL marks an item added by hand (ad hoc), which never counts toward
    estimates. ``needed`` labels from as many different reviewers close it."""

    __tablename__ = "review_items"
    __table_args__ = (
        UniqueConstraint("action_id", "rubric"),
        UniqueConstraint("trace_id", "rubric"),
        CheckConstraint("(action_id IS NULL) <> (trace_id IS NULL)", name="one_subject"),
        CheckConstraint("needed >= 1", name="needed_positive"),
        # The next-item query walks open items in id order.
        Index("ix_review_items_state_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id"))
    trace_id: Mapped[str | None] = mapped_column(String(32))
    rubric: Mapped[str] = mapped_column(String(100))
    pi: Mapped[float | None] = mapped_column(Float)
    #: The rule that drew it; NULL when added by hand.
    rule: Mapped[str | None] = mapped_column(String(100))
    needed: Mapped[int] = mapped_column(Integer)
    label_count: Mapped[int] = mapped_column(Integer, default=0)
    #: "open" or "done".
    state: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[float] = mapped_column(Float)
    #: Who added it by hand; NULL for a sample.
    added_by: Mapped[str | None] = mapped_column(String(200))


class ReviewClaimRow(Base):
    """A reviewer's hold on one label slot of an item: until ``expires_at``, or for
    good once it became a label (``label_id`` set, ``expires_at`` NULL)."""

    __tablename__ = "review_claims"
    __table_args__ = (
        UniqueConstraint("item_id", "slot", name="uq_review_claims_item_slot"),
        UniqueConstraint("item_id", "reviewer", name="uq_review_claims_item_reviewer"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id"))
    slot: Mapped[int] = mapped_column(Integer)
    reviewer: Mapped[str] = mapped_column(String(200))
    claimed_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float | None] = mapped_column(Float)
    label_id: Mapped[int | None] = mapped_column(Integer)


class LabelRow(Base):
    """A reviewer's answers to one version of a rubric about one item; a correction is
    the expected arguments (an action) or output (a run), as JSON."""

    __tablename__ = "review_labels"
    __table_args__ = (
        UniqueConstraint("item_id", "reviewer"),
        Index("ix_review_labels_rubric", "rubric", "rubric_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id"))
    reviewer: Mapped[str] = mapped_column(String(200))
    rubric: Mapped[str] = mapped_column(String(100))
    rubric_version: Mapped[int] = mapped_column(Integer)
    answers_json: Mapped[str] = mapped_column(Text)
    correction_json: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)


class SamplingWatermarkRow(Base):
    """What `review sample` has already considered (one row, id 1): decisions up to
    ``decision_id`` and settled runs up to ``run_id``."""

    __tablename__ = "review_watermark"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decision_id: Mapped[int] = mapped_column(Integer, default=0)
    run_id: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[float] = mapped_column(Float)


class DatasetRow(Base):
    """One frozen version of a named dataset and the filter that built it."""

    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    filter_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(200))
    example_count: Mapped[int] = mapped_column(Integer)


class DatasetExampleRow(Base):
    """One example of a dataset version, as its JSONL line (the `Example` model)."""

    __tablename__ = "dataset_examples"
    __table_args__ = (UniqueConstraint("dataset_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(100))
    body_json: Mapped[str] = mapped_column(Text)
