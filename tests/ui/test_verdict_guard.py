"""The rules that keep a fast operator's fingers off unseen actions, on a clock of the
test's own: the dwell after an action comes on screen, the critical confirmation, and
the undo offer's words. (The same rules in the real window: test_queue_safety.py.)"""

from __future__ import annotations

from countersign.domain import ActionState, DecisionRecord, DeliveryState, Risk, Verdict
from countersign_ui.queue.guard import TOO_SOON_HINT, Press, VerdictGuard, confirm_prompt
from countersign_ui.queue.history import Departures, outcome_text
from countersign_ui.queue.undo import UndoOffer


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def guard(dwell_ms: int = 350) -> tuple[VerdictGuard, Clock]:
    clock = Clock()
    return VerdictGuard(dwell_ms, clock=clock), clock


def test_a_press_within_the_dwell_is_ignored_and_starts_it_again() -> None:
    g, clock = guard()
    g.shown(1)
    clock.advance(0.2)
    assert g.press(1, Verdict.APPROVE, Risk.LOW) is Press.TOO_SOON
    clock.advance(0.2)  # 0.4 s after showing, but 0.2 s after the ignored press
    assert g.press(1, Verdict.APPROVE, Risk.LOW) is Press.TOO_SOON
    clock.advance(0.36)
    assert g.settled()
    assert g.press(1, Verdict.APPROVE, Risk.LOW) is Press.GO


def test_five_presses_in_a_second_and_a_quarter_decide_one_action() -> None:
    """The newcomer's five A presses in 1.25 s: the next action is put on screen after
    each verdict, and only the first press (on an action seen long enough) decides."""
    g, clock = guard()
    g.shown(1)
    clock.advance(1.0)
    decided = []
    action = 1
    for _ in range(5):
        if g.press(action, Verdict.APPROVE, Risk.MEDIUM) is Press.GO:
            decided.append(action)
            action += 1
            g.shown(action)  # the next action slides under the finger
        clock.advance(0.25)
    assert decided == [1]


def test_a_held_key_does_not_run_down_the_queue() -> None:
    g, clock = guard()
    g.shown(1)
    clock.advance(0.5)
    assert g.press(1, Verdict.APPROVE, Risk.LOW) is Press.GO
    g.shown(2)
    for _ in range(100):  # auto-repeat, every 30 ms, for three seconds
        clock.advance(0.03)
        assert g.press(2, Verdict.APPROVE, Risk.LOW) is Press.TOO_SOON


def test_a_zero_dwell_lets_every_press_through() -> None:
    g, _clock = guard(0)
    g.shown(1)
    assert g.press(1, Verdict.APPROVE, Risk.LOW) is Press.GO


def test_a_press_for_an_action_not_on_screen_never_goes_ahead() -> None:
    g, clock = guard()
    g.shown(1)
    clock.advance(5)
    assert g.press(2, Verdict.APPROVE, Risk.LOW) is Press.TOO_SOON
    g.shown(None)
    assert not g.settled()


def test_a_critical_approval_needs_a_second_deliberate_press() -> None:
    g, clock = guard()
    g.shown(7)
    clock.advance(1)
    assert g.press(7, Verdict.APPROVE, Risk.CRITICAL) is Press.CONFIRM
    assert g.armed() is Verdict.APPROVE
    clock.advance(0.1)  # a reflexive double tap is not a confirmation
    assert g.press(7, Verdict.APPROVE, Risk.CRITICAL) is Press.CONFIRM
    clock.advance(0.5)
    assert g.press(7, Verdict.APPROVE, Risk.CRITICAL) is Press.GO
    assert g.armed() is None


def test_a_held_key_confirms_a_critical_approval() -> None:
    g, clock = guard()
    g.shown(7)
    clock.advance(1)
    assert g.press(7, Verdict.APPROVE, Risk.CRITICAL) is Press.CONFIRM
    outcomes = []
    clock.advance(0.5)  # the keyboard's auto-repeat delay
    for _ in range(3):
        outcomes.append(g.press(7, Verdict.APPROVE, Risk.CRITICAL))
        clock.advance(0.03)
    assert outcomes[0] is Press.GO


def test_the_confirmation_lapses_and_belongs_to_one_action_and_verdict() -> None:
    g, clock = guard()
    g.shown(7)
    clock.advance(1)
    assert g.press(7, Verdict.APPROVE, Risk.CRITICAL) is Press.CONFIRM
    clock.advance(3.5)
    assert g.armed() is None
    assert g.press(7, Verdict.APPROVE, Risk.CRITICAL) is Press.CONFIRM  # armed afresh
    g.shown(8)  # another action came on screen: the confirmation is gone
    assert g.armed() is None
    clock.advance(1)
    assert g.press(8, Verdict.APPROVE, Risk.CRITICAL) is Press.CONFIRM


def test_only_approval_of_a_critical_action_asks_twice() -> None:
    g, clock = guard()
    g.shown(7)
    clock.advance(1)
    assert g.press(7, Verdict.REJECT, Risk.CRITICAL) is Press.GO  # its dialog asks
    assert g.press(7, Verdict.APPROVE, Risk.HIGH) is Press.GO


def test_the_words() -> None:
    assert confirm_prompt(Verdict.APPROVE) == "Press A again to approve a critical action"
    assert TOO_SOON_HINT == "Look first: the selection just changed"
    offer = UndoOffer(12, Verdict.APPROVE, "Approved: billing-bot · refund (#12)",
                      "billing-bot · refund (#12)", until=100.0)
    assert offer.status(96.2) == "Approved: billing-bot · refund (#12)   ·   Undo (Ctrl+Z) · 4 s"
    assert offer.status(100.0) == "Approved: billing-bot · refund (#12)"
    assert offer.undone_text() == ("Undone: the approval of billing-bot · refund (#12); "
                                   "it is pending again.")
    assert "Too late to undo the approval" in offer.refused_text()


def test_history_words() -> None:
    record = DecisionRecord(id=1, action_id=3, verdict=Verdict.EDIT, arguments_json="{}",
                            severity=None, reason=None, response=None, reviewer="ann",
                            decided_at=1.0, idempotency_key="k",
                            delivery_state=DeliveryState.DELIVERED, delivered_at=2.0)
    assert outcome_text(ActionState.DELIVERED, record) == "edited · ann · delivered"
    expired = record.model_copy(update={"verdict": Verdict.EXPIRE, "reviewer": "system",
                                        "delivery_state": DeliveryState.STALE})
    assert outcome_text(ActionState.EXPIRED, expired) == "expired"
    assert outcome_text(ActionState.WITHDRAWN, None) == "withdrawn"
    away = Departures()
    away.add("expired", "a")
    away.add("expired", "b")
    away.add("withdrawn", "c")
    assert away.summary() == "2 actions expired and 1 was withdrawn"
    assert away.unseen == 3
    away.clear()
    assert not away and away.unseen == 3
    away.add("withdrawn", "d")
    assert away.summary() == "1 action was withdrawn"
