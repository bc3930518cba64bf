"""What keeps a fast operator's fingers from deciding actions they have not seen.

Two rules, in plain Python (no Qt) so they are tested on a clock of our own:

- **Dwell.** After a verdict the next action is selected automatically; a verdict key
  pressed within ``dwell_ms`` of an action coming on screen is ignored, with a hint.
  An ignored press starts the dwell again, so hammering a key (or holding it down:
  auto-repeat) never decides the actions that slide under it.
- **Critical confirmation.** Approving a critical-risk action takes a deliberate
  second press of the same key within `CONFIRM_SECONDS` (or the key held down, whose
  auto-repeat is that second press). The second press must come at least the dwell
  after the first, so a reflexive double tap is not a confirmation. Never a dialog:
  Enter would dismiss it as fast as the key that opened it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from countersign.domain import Risk, Verdict

#: How long the first press on a critical action waits for the second.
CONFIRM_SECONDS = 3.0
#: The verdicts a critical action needs confirmed (the others open a dialog first).
CONFIRMED_VERDICTS = frozenset({Verdict.APPROVE})
TOO_SOON_HINT = "Look first: the selection just changed"

_KEYS = {Verdict.APPROVE: "A", Verdict.EDIT: "E", Verdict.REJECT: "R", Verdict.RESPOND: "S"}
_VERBS = {Verdict.APPROVE: "approve", Verdict.EDIT: "edit", Verdict.REJECT: "reject",
          Verdict.RESPOND: "respond to"}


class Press(StrEnum):
    """What a verdict key press leads to."""

    #: Go ahead: give the verdict.
    GO = "go"
    #: Ignored: the action came on screen too recently (the dwell restarts).
    TOO_SOON = "too_soon"
    #: A critical action: this press arms the confirmation; press again to decide.
    CONFIRM = "confirm"


def confirm_prompt(verdict: Verdict) -> str:
    """"Press A again to approve a critical action"."""
    return f"{confirm_button(verdict)} to {_VERBS.get(verdict, verdict.value)} " \
        "a critical action"


def confirm_button(verdict: Verdict) -> str:
    """"Press A again": what the verdict's button says while it waits (about as wide as
    "Approve  [A]", so the row does not jump; the hint above it says the rest)."""
    return f"Press {_KEYS.get(verdict, '')} again"


@dataclass(frozen=True)
class _Armed:
    action_id: int
    verdict: Verdict
    at: float


class VerdictGuard:
    """Decides, per key press, whether a verdict may go ahead (see the module
    docstring). ``clock`` is monotonic seconds."""

    def __init__(self, dwell_ms: int = 350, *, confirm_seconds: float = CONFIRM_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.dwell = max(0, dwell_ms) / 1000
        self.confirm_seconds = confirm_seconds
        self.clock = clock
        self._shown_id: int | None = None
        self._shown_at = float("-inf")
        self._armed: _Armed | None = None

    def shown(self, action_id: int | None) -> None:
        """``action_id`` came on screen now (or came back on screen); None: nothing is."""
        self._shown_id = action_id
        self._shown_at = self.clock()
        self._armed = None

    def settled(self) -> bool:
        """Whether the action on screen has been there for the dwell."""
        return self._shown_id is not None and self.clock() - self._shown_at >= self.dwell

    def armed(self) -> Verdict | None:
        """The verdict waiting for its confirming press, if its window is still open."""
        armed = self._armed
        if armed is None or self.clock() - armed.at > self.confirm_seconds:
            return None
        return armed.verdict

    def disarm(self) -> None:
        self._armed = None

    def press(self, action_id: int, verdict: Verdict, risk: Risk) -> Press:
        """A verdict key (or button) for ``action_id``: may it go ahead?"""
        now = self.clock()
        if action_id != self._shown_id:
            # Not the action the guard was told is on screen: never decide it.
            self.shown(action_id)
            return Press.TOO_SOON
        armed = self._armed
        if armed is not None and (armed.action_id, armed.verdict) == (action_id, verdict) \
                and now - armed.at <= self.confirm_seconds:
            if now - armed.at < self.dwell:
                return Press.CONFIRM  # a reflexive double tap: still waiting
            self._armed = None
            return Press.GO
        self._armed = None
        if now - self._shown_at < self.dwell:
            self._shown_at = now
            return Press.TOO_SOON
        if risk is Risk.CRITICAL and verdict in CONFIRMED_VERDICTS:
            self._armed = _Armed(action_id, verdict, now)
            return Press.CONFIRM
        return Press.GO
