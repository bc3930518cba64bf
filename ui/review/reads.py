"""The Review workspace's store calls: plain functions run off the GUI thread
(STYLE.md, rule 7). None of them touches a widget.

`load_item` reads everything the right side shows about one item (its detail, the
run's spans, the parsed arguments), ahead of time for the item that comes next;
`submit_label` records a label. The next item is shown the moment the label is
committed, and claimed after (off the path between Enter and the next item).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from countersign.domain import SpanRecord
from countersign.domain.review import Claim, LabelRecord, ReviewItemDetail

from ..queue.reads import parse_arguments

if TYPE_CHECKING:
    from countersign.services.review import ReviewService
    from countersign.services.review_feed import LinePage, ReviewFeed
    from countersign.services.traces import TraceService

#: The first page of the list; the rest is read after it is shown.
FIRST_PAGE = 500


@dataclass(frozen=True)
class LoadedItem:
    """What the item pane shows about one review item."""

    detail: ReviewItemDetail
    spans: list[SpanRecord]
    #: The proposed arguments parsed (or the Queue's `RawArguments`); None for a run.
    arguments: Any

    @property
    def item_id(self) -> int:
        return self.detail.item.id


def load_item(review: ReviewService, traces: TraceService, item_id: int,
              reviewer: str) -> LoadedItem:
    detail = review.detail(item_id, reviewer=reviewer)
    spans = traces.run_spans(detail.trace_id) if detail.trace_id else []
    arguments = (parse_arguments(detail.action.arguments_json)
                 if detail.action is not None else None)
    return LoadedItem(detail, spans, arguments)


def decided_arguments(loaded: LoadedItem) -> Any:
    """What the correction editor starts from: the reviewer's own earlier correction
    is not kept here; for an action, the edited arguments when the operator edited,
    else the proposed ones; for a run, the root span's output (or null)."""
    detail = loaded.detail
    decision = detail.decision
    if decision is not None and decision.arguments_json:
        try:
            return json.loads(decision.arguments_json)
        except ValueError:
            pass
    if detail.action is not None:
        from ..queue.detail import RawArguments

        return None if isinstance(loaded.arguments, RawArguments) else loaded.arguments
    root = next((s for s in loaded.spans if s.parent_span_id is None), None)
    if root is not None and root.output_json:
        try:
            return json.loads(root.output_json)
        except ValueError:
            return root.output_json
    return None


def load_page(feed: ReviewFeed, state: str, after_id: int, limit: int | None) -> LinePage:
    return feed.page(state=state, after_id=after_id, limit=limit)  # type: ignore[arg-type]


def submit_label(review: ReviewService, item_id: int, reviewer: str,
                 answers: Mapping[str, Any], correction: Any) -> LabelRecord:
    """Record the label (raises the service's `ReviewError` naming the cause)."""
    return review.submit(item_id, reviewer=reviewer, answers=answers, correction=correction)


def claim_item(review: ReviewService, item_id: int, reviewer: str) -> Claim:
    return review.claim(item_id, reviewer)


def release_item(review: ReviewService, item_id: int, reviewer: str) -> bool:
    return review.skip(item_id, reviewer)
