"""Words for the deadline the action pane counts down. Kept apart from the widget so
it is tested without a window (step durations and tokens live in the inspector)."""

from __future__ import annotations


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
