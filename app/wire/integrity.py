"""Checks that need the whole batch: duplicate spans, parent cycles and orphans.

Spans are identified by (trace id, span id), the store's unique key. Orphans are kept
and flagged because their parent may come in a later batch (exporters batch by time,
not by trace); spans whose parent chain loops back on itself can never be placed in a
tree, so they are rejected.
"""

from __future__ import annotations

from .raw import DecodeProblem, DecodeResult, RawSpan

_SpanKey = tuple[str, str]


def check_batch(result: DecodeResult) -> None:
    """Rejects duplicates and cycle members from ``result.spans`` and flags orphans,
    in place."""
    first: dict[_SpanKey, RawSpan] = {}
    unique: list[RawSpan] = []
    for span in result.spans:
        key = (span.trace_id, span.span_id)
        kept = first.get(key)
        if kept is None:
            first[key] = span
            unique.append(span)
        else:
            result.rejections.append(
                _problem(span, "spanId", f"duplicate span in this batch; {kept.path} is kept")
            )

    cycles = _cycle_members(unique, first)
    accepted: list[RawSpan] = []
    for span in unique:
        loop = cycles.get((span.trace_id, span.span_id))
        if loop is None:
            accepted.append(span)
        else:
            chain = " → ".join([*loop, loop[0]])
            result.rejections.append(
                _problem(span, "parentSpanId", f"the parent chain forms a cycle: {chain}")
            )
    present = {(span.trace_id, span.span_id) for span in accepted}
    for span in accepted:
        parent = span.parent_span_id
        span.orphan = parent is not None and (span.trace_id, parent) not in present
    result.spans = accepted


def _cycle_members(
    spans: list[RawSpan], by_key: dict[_SpanKey, RawSpan]
) -> dict[_SpanKey, list[str]]:
    """Each span on a parent cycle, with the span ids of its cycle in order. Each span
    is walked once (iteratively: chains can be as long as the batch)."""
    done: set[_SpanKey] = set()
    members: dict[_SpanKey, list[str]] = {}
    for start in spans:
        chain: list[_SpanKey] = []
        position: dict[_SpanKey, int] = {}
        span: RawSpan | None = start
        while span is not None:
            key = (span.trace_id, span.span_id)
            if key in done:
                break
            if key in position:
                loop = chain[position[key] :]
                for member in loop:
                    members[member] = [span_id for _, span_id in loop]
                break
            position[key] = len(chain)
            chain.append(key)
            parent = span.parent_span_id
            span = None if parent is None else by_key.get((span.trace_id, parent))
        done.update(chain)
    return members


def _problem(span: RawSpan, field: str, reason: str) -> DecodeProblem:
    return DecodeProblem(span.path, span.trace_id, span.span_id, field, reason)
