"""Words for a span's numbers — token counts, costs — kept apart from the widgets so
they are tested and reused without a window. Durations are `countersign.text`'s
``duration_text``, shared with the CLI."""

from __future__ import annotations

from countersign.domain import SpanRecord


def is_error(span: SpanRecord) -> bool:
    """OTel writes the status as "error"/"ERROR"/2; the gate writes "error"."""
    return span.status_code.lower() in {"error", "2", "status_code_error"} or bool(
        span.error_type)


def own_tokens(span: SpanRecord) -> int | None:
    if span.prompt_tokens is None and span.completion_tokens is None:
        return None
    return (span.prompt_tokens or 0) + (span.completion_tokens or 0)


def compact_count(n: int) -> str:
    """``950``, ``1.2k``, ``15.3k``, ``2.1M`` — token counts that fit a column."""
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.1f}k" if n < 100_000 else f"{n / 1000:.0f}k"
    return f"{n / 1e6:.1f}M"


#: What an unknown number is shown as: no span carried it (not zero, not free).
UNKNOWN = "—"


def cost_text(cost: float | None) -> str:
    """``$0.0042``, ``$1.25``, ``$1,204``; `UNKNOWN` when no price was recorded (a run
    without cost data is not free, so it never reads ``$0``)."""
    if cost is None:
        return UNKNOWN
    if cost == 0:
        return "$0"
    if cost < 0.01:
        return f"${cost:.4f}"
    if cost < 100:
        return f"${cost:.2f}"
    return f"${cost:,.0f}"


def own_and_total(own: str | None, total: str | None) -> str:
    """``own (Σ total)`` for parents, ``own`` for leaves, ``Σ total`` when a parent
    has nothing of its own."""
    if total is None:
        return own or ""
    if own is None:
        return f"Σ {total}"
    return f"{own} (Σ {total})"


def span_duration(span: SpanRecord) -> int | None:
    """Nanoseconds the span lasted, None while it is still running."""
    return None if span.end_ns is None else max(0, span.end_ns - span.start_ns)
