"""Words for numbers the detail pane shows: step durations, token counts, deadlines.
Kept apart from the widgets so they are tested and reused without a window."""

from __future__ import annotations

from countersign.domain import SpanRecord


def is_error(span: SpanRecord) -> bool:
    """OTel writes the status as "error"/"ERROR"/2; the gate writes "error"."""
    return span.status_code.lower() in {"error", "2", "status_code_error"} or bool(
        span.error_type)


def seconds_text(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def describe_duration(span: SpanRecord) -> str:
    if span.end_ns is None:
        return "still running"
    return seconds_text(max(0, span.end_ns - span.start_ns) / 1e9)


def total_tokens(span: SpanRecord) -> int | None:
    if span.prompt_tokens is None and span.completion_tokens is None:
        return None
    return (span.prompt_tokens or 0) + (span.completion_tokens or 0)


def describe_tokens(span: SpanRecord) -> str:
    """``1,234 in → 210 out tokens`` (plus cached / reasoning when known)."""
    if total_tokens(span) is None:
        return ""
    text = f"{span.prompt_tokens or 0:,} in → {span.completion_tokens or 0:,} out tokens"
    extras = [f"{n:,} {label}" for n, label in ((span.cached_tokens, "cached"),
                                                  (span.reasoning_tokens, "reasoning")) if n]
    return f"{text} ({', '.join(extras)})" if extras else text


def describe_deadline(deadline: float | None, now: float) -> tuple[str, str]:
    """(text, urgency) where urgency is "none", "ok", "soon" (< 5 min) or "overdue"."""
    if deadline is None:
        return "No deadline", "none"
    left = deadline - now
    if left <= 0:
        return f"Deadline passed {_clock(-left)} ago", "overdue"
    return f"Decide within {_clock(left)}", "soon" if left < 300 else "ok"


def _clock(seconds: float) -> str:
    total = int(seconds)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"
