"""Words for the deadline the action pane counts down. Kept apart from the widget so
it is tested without a window (step durations and tokens live in the inspector)."""

from __future__ import annotations

from countersign.text import age_text


def describe_deadline(deadline: float | None, now: float) -> tuple[str, str]:
    """(text, urgency) where urgency is "none", "ok", "soon" (< 5 min) or "overdue"."""
    if deadline is None:
        return "No deadline", "none"
    left = deadline - now
    if left <= 0:
        return f"Deadline passed {age_text(-left)} ago", "overdue"
    return f"Decide within {age_text(left)}", "soon" if left < 300 else "ok"

