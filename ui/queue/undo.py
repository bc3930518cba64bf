"""The undo offer after a verdict, in plain Python: which verdict Ctrl+Z takes back,
until when, and what the status bar says meanwhile.

With ``console.undo_seconds`` above 0 a verdict waits that long in the outbox
(`DecisionService.decide(hold_seconds=…)`) before anyone delivers it; until then
`DecisionService.undo` takes it back (an audited ``decision.undone``). Only the last
verdict is offered. The store decides whether an undo is still possible (a verdict
already released or delivered is refused); the countdown here only tells the person.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from countersign.domain import Verdict

from .verdicts import verdict_noun

UNDO_KEY = "Ctrl+Z"


@dataclass(frozen=True)
class UndoOffer:
    """The last verdict given here, which Ctrl+Z may still take back."""

    action_id: int
    verdict: Verdict
    #: How the confirmation read ("Approved: billing-bot · issue_refund (#12)").
    done_text: str
    #: How the action is named (``billing-bot · issue_refund (#12)``).
    name: str
    #: Wall-clock time (``time.time()``) at which the verdict is released.
    until: float

    def remaining(self, now: float) -> float:
        return max(0.0, self.until - now)

    def open(self, now: float) -> bool:
        return self.until > now

    def seconds_left(self, now: float) -> int:
        """Whole seconds left, rounded up (what the countdown shows)."""
        return math.ceil(self.remaining(now))

    def status(self, now: float) -> str:
        """The status-bar text: the confirmation and, while it lasts, the offer."""
        if not self.open(now):
            return self.done_text
        return f"{self.done_text}   ·   Undo ({UNDO_KEY}) · {self.seconds_left(now)} s"

    def undone_text(self) -> str:
        return f"Undone: the {verdict_noun(self.verdict)} of {self.name}; it is pending again."

    def refused_text(self) -> str:
        return (f"Too late to undo the {verdict_noun(self.verdict)} of {self.name}: "
                "it has been released to the agent.")
