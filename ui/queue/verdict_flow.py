"""From a verdict key press to a committed decision, for the Queue workspace.

Approve goes straight to the store; edit, reject and respond first ask the reviewer
(the dialogs of `ui/queue/dialogs.py`). The decision is recorded off the GUI thread;
while it is in flight the row reads "deciding…" and cannot be decided again. What
happens next depends on the outcome: committed → the row leaves and the next one is
selected; already decided elsewhere → a message and the row leaves; invalid edit →
the edit dialog again; store unreachable → a message with Retry (same idempotency
key), and the row stays pending.

Before any of that a `VerdictGuard` (guard.py) looks at the press: too soon after the
action came on screen (ignored, with a hint), or a critical action's first press
(armed: the Approve button asks for a second one). With ``console.undo_seconds`` the
verdict is held in the outbox that long and the last one can be undone (Ctrl+Z,
`undo_last`) while the status bar counts down.

The flow does not know the Queue workspace: it asks a `VerdictHost` (which action is
shown, is a row still there, select one, give the keyboard back to the list), writes
to the workspace's `MessageBanner`, and tells the rest through its signals.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Protocol

from countersign.domain import ActionState, DecisionRecord, QueueRow, Verdict
from countersign.text import one_line

from ..async_work import BackgroundWork, report_exception
from ..qt.core import QObject, QTimer, Signal
from ..qt.widgets import QWidget
from .banner import BannerKind, MessageBanner
from .guard import TOO_SOON_HINT, Press, VerdictGuard, confirm_prompt
from .undo import UndoOffer
from .verdicts import (
    VerdictAttempt,
    describe_already,
    describe_done,
    record_verdict,
    undo_verdict,
)

if TYPE_CHECKING:
    from countersign.domain import ActionDetail
    from countersign.services.decisions import DecisionService
    from countersign.session import Services

    from .reads import LoadedAction


#: How a message about an action that left ends: the reviewer should move on.
MOVE_ON = "Press J for the next action."


def what(detail: ActionDetail) -> str:
    """How an action is named in messages: ``billing-bot · issue_refund (#12)``."""
    return f"{one_line(detail.agent, 60)} · {one_line(detail.action_class, 80)} (#{detail.id})"


def _explain_gone(decisions: DecisionService, action_id: int) -> str:
    """Off-thread: why an action left the queue, for the banner."""
    from countersign.services.decisions import AlreadyDecided

    record = decisions.get(action_id)
    if record is None:
        return f"Action #{action_id} left the queue (withdrawn by its source)."
    if record.verdict is Verdict.EXPIRE:
        when = time.strftime("%H:%M:%S", time.localtime(record.decided_at))
        return f"Action #{action_id} expired at {when}, before a verdict."
    exc = AlreadyDecided(action_id, state=ActionState.DECIDED, decision=record)
    return describe_already(exc, f"Action #{action_id}")


class VerdictHost(Protocol):
    """What the flow needs of the view that shows the actions (the Queue workspace)."""

    @property
    def loaded(self) -> LoadedAction | None:
        """The action whose detail is on screen, if it is still the selected one."""

    def holds(self, action_id: int) -> bool:
        """Whether the list still holds ``action_id`` (shown or filtered out)."""

    def select_action(self, action_id: int) -> bool:
        """Select ``action_id`` (False when it is not shown)."""

    def back_to_list(self) -> None:
        """Give the keyboard back to the list, so J/K and the verdict keys work."""


class VerdictFlow(QObject):
    """Owns the verdict attempts of one Queue workspace (see the module docstring)."""

    # Signals
    #: A verdict on this action started (True) or stopped (False) being recorded.
    decidingChanged = Signal(int, bool)
    #: This action left the queue through a verdict given here (or found already
    #: given): the list drops it and moves on.
    actionLeft = Signal(int)
    #: A short confirmation for the status bar ("Approved: billing-bot · refund").
    notice = Signal(str)
    #: A store error, one line, for the status bar.
    errorOccurred = Signal(str)
    #: A press that decided nothing, and why ("Look first: …", "Press A again …").
    hint = Signal(str)
    #: The verdict (its value) a critical action waits to have confirmed; "" for none.
    confirming = Signal(str)
    #: The undo offer's status-bar text changed (each second of its countdown).
    undoStatus = Signal(str)
    #: An undo offer appeared or went (the Undo command follows it).
    undoChanged = Signal()
    #: A verdict was undone: the action's rows, pending again, for the list.
    actionBack = Signal(object)

    def __init__(self, host: VerdictHost, banner: MessageBanner, work: BackgroundWork,
                 dialog_parent: QWidget) -> None:
        super().__init__(dialog_parent)
        self._host = host
        self._banner = banner
        self._dialog_parent = dialog_parent
        self._work = work
        self._services: Services | None = None
        self._decisions: DecisionService | None = None
        self._in_flight: dict[int, tuple[VerdictAttempt, LoadedAction]] = {}
        #: Attempts that failed on a transient error: a retry reuses their key.
        self._failed: dict[int, VerdictAttempt] = {}
        self.guard = VerdictGuard()
        #: Seconds a verdict waits in the outbox so it can be undone (0: not at all).
        self.hold_seconds = 0.0
        self._offer: UndoOffer | None = None
        self._undoing = False
        self._offer_text = ""
        self._disarm = QTimer(self)
        self._disarm.setSingleShot(True)
        self._disarm.timeout.connect(self._confirm_lapsed)
        self._countdown = QTimer(self)
        self._countdown.setInterval(200)
        self._countdown.timeout.connect(self._tick)

    def attach(self, services: Services) -> None:
        self._services = services
        self._decisions = services.decisions
        console = services.config.console
        self.guard = VerdictGuard(console.dwell_ms, clock=self.guard.clock)
        self.hold_seconds = console.undo_seconds

    def stop(self) -> None:
        """Stop the countdowns (the window is closing)."""
        self._disarm.stop()
        self._countdown.stop()

    @property
    def reviewer(self) -> str:
        """Who verdicts are recorded as: the identity the core was opened with."""
        return self._services.identity if self._services is not None else ""

    def is_deciding(self, action_id: int) -> bool:
        return action_id in self._in_flight

    def in_flight_ids(self) -> set[int]:
        return set(self._in_flight)

    # -- starting ----------------------------------------------------------------------

    def shown(self, action_id: int | None) -> None:
        """``action_id``'s detail came on screen (None: no action is): its dwell starts
        and a confirmation armed for another action lapses."""
        self.guard.shown(action_id)
        self._set_confirming(None)

    def start(self, verdict: Verdict, _checked: bool = False) -> None:
        """A verdict command fired: if the guard lets it through, ask what is needed,
        then record it."""
        loaded = self._host.loaded
        if loaded is None or self._decisions is None:
            return
        detail = loaded.detail
        if verdict not in detail.allowed_verdicts or self.is_deciding(detail.id):
            return
        press = self.guard.press(detail.id, verdict, detail.risk)
        if press is Press.TOO_SOON:
            self._set_confirming(None)
            self.hint.emit(TOO_SOON_HINT)
            return
        if press is Press.CONFIRM:
            self._set_confirming(verdict)
            self.hint.emit(confirm_prompt(verdict))
            self._disarm.start(int(self.guard.confirm_seconds * 1000) + 50)
            return
        self._set_confirming(None)
        attempt = self._ask(verdict, loaded)
        if attempt is None:
            return
        failed = self._failed.get(detail.id)
        if failed is not None:
            attempt = attempt.with_key(failed.key)
        self.submit(attempt, loaded)

    def _ask(self, verdict: Verdict, loaded: LoadedAction, *, error: str | None = None,
             draft: str | None = None) -> VerdictAttempt | None:
        try:
            return self._ask_dialog(verdict, loaded, error=error, draft=draft)
        finally:
            self._host.back_to_list()

    def _ask_dialog(self, verdict: Verdict, loaded: LoadedAction, *, error: str | None,
                    draft: str | None) -> VerdictAttempt | None:
        from . import dialogs

        detail = loaded.detail
        base = VerdictAttempt(detail.id, verdict, detail.version)
        if verdict is Verdict.APPROVE:
            return base
        if verdict is Verdict.EDIT:
            edit = dialogs.ask_edit(self._dialog_parent, detail, loaded.arguments, error=error,
                                    draft=draft)
            if edit is None:
                return None
            return VerdictAttempt(detail.id, verdict, detail.version, arguments=edit.arguments,
                                  severity=edit.severity, draft=edit.text)
        if verdict is Verdict.REJECT:
            reason = dialogs.ask_reject(self._dialog_parent, detail)
            if reason is None:
                return None
            return VerdictAttempt(detail.id, verdict, detail.version, reason=reason)
        if verdict is Verdict.RESPOND:
            response = dialogs.ask_respond(self._dialog_parent, detail)
            if response is None:
                return None
            return VerdictAttempt(detail.id, verdict, detail.version, response=response)
        return None

    def submit(self, attempt: VerdictAttempt, loaded: LoadedAction) -> None:
        if self._decisions is None or self.is_deciding(attempt.action_id):
            return
        self._in_flight[attempt.action_id] = (attempt, loaded)
        self.decidingChanged.emit(attempt.action_id, True)
        self._work.submit(record_verdict, self._decisions, attempt, self.reviewer,
                          self.hold_seconds,
                          on_done=functools.partial(self._done, attempt),
                          on_error=functools.partial(self._failed_with, attempt))

    # -- outcomes ----------------------------------------------------------------------

    def _finish(self, attempt: VerdictAttempt) -> LoadedAction | None:
        entry = self._in_flight.pop(attempt.action_id, None)
        self.decidingChanged.emit(attempt.action_id, False)
        return None if entry is None else entry[1]

    def _done(self, attempt: VerdictAttempt, record: DecisionRecord) -> None:
        if self._services is not None:
            # Delivered to the agent now, not at the runtime's next delivery poll.
            self._services.wake_delivery()
        loaded = self._finish(attempt)
        self._failed.pop(attempt.action_id, None)
        name = what(loaded.detail) if loaded is not None else f"#{attempt.action_id}"
        if self._banner.text and f"#{attempt.action_id}" in self._banner.text:
            self._banner.hide_message()
        done = describe_done(record, name)
        if self.hold_seconds > 0:
            self._offer_undo(UndoOffer(attempt.action_id, record.verdict, done, name,
                                       until=record.decided_at + self.hold_seconds))
        else:
            self.notice.emit(done)
        self.actionLeft.emit(attempt.action_id)

    def _failed_with(self, attempt: VerdictAttempt, exc: BaseException) -> None:
        from countersign.services.actions import UnknownAction
        from countersign.services.decisions import (
            AlreadyDecided,
            InvalidArguments,
            InvalidVerdict,
        )
        from countersign.store.engine import StoreError

        loaded = self._finish(attempt)
        name = what(loaded.detail) if loaded is not None else f"Action #{attempt.action_id}"
        banner = self._banner
        action_id = attempt.action_id
        if isinstance(exc, AlreadyDecided):
            self._failed.pop(action_id, None)
            banner.show_message(describe_already(exc, name), BannerKind.WARNING)
            self.actionLeft.emit(action_id)
        elif isinstance(exc, UnknownAction):
            self._failed.pop(action_id, None)
            banner.show_message(f"{name} no longer exists.", BannerKind.WARNING)
            self.actionLeft.emit(action_id)
        elif isinstance(exc, InvalidArguments) and loaded is not None:
            banner.show_message(f"The edit was not recorded: {exc}", BannerKind.ERROR)
            QTimer.singleShot(0, functools.partial(self._edit_again, attempt, loaded, str(exc)))
        elif isinstance(exc, InvalidVerdict | InvalidArguments):
            banner.show_message(f"The verdict was not recorded: {exc}", BannerKind.ERROR)
        elif isinstance(exc, StoreError):
            self._failed[action_id] = attempt
            banner.show_message(
                f"Could not record the verdict on {name}; it is still pending. {exc}",
                BannerKind.ERROR, action=("Retry", functools.partial(self.retry, action_id)))
            self.errorOccurred.emit(str(exc))
        else:
            self._failed[action_id] = attempt
            banner.show_message(f"Could not record the verdict on {name}: "
                                f"{type(exc).__name__}: {exc}", BannerKind.ERROR,
                                action=("Retry", functools.partial(self.retry, action_id)))
            report_exception(type(exc), exc, exc.__traceback__)

    def retry(self, action_id: int) -> None:
        """Send the failed attempt again, with the same idempotency key."""
        attempt = self._failed.get(action_id)
        loaded = self._host.loaded
        if attempt is None or not self._host.holds(action_id):
            return
        if loaded is None or loaded.detail.id != action_id:
            if not self._host.select_action(action_id):
                return
            QTimer.singleShot(0, functools.partial(self.retry, action_id))
            return
        self.submit(attempt, loaded)

    def _edit_again(self, attempt: VerdictAttempt, loaded: LoadedAction, error: str) -> None:
        """The store refused the edit: reopen the editor on the reviewer's text."""
        if not self._host.holds(attempt.action_id) or self.is_deciding(attempt.action_id):
            return
        again = self._ask(Verdict.EDIT, loaded, error=error, draft=attempt.draft)
        if again is not None:
            self.submit(again.with_key(attempt.key), loaded)

    # -- critical confirmation ------------------------------------------------------------

    def _set_confirming(self, verdict: Verdict | None) -> None:
        if verdict is None:
            self._disarm.stop()
            self.guard.disarm()
        self.confirming.emit(verdict.value if verdict is not None else "")

    def _confirm_lapsed(self) -> None:
        if self.guard.armed() is None:
            self._set_confirming(None)

    # -- undo ----------------------------------------------------------------------------

    @property
    def undo_offer(self) -> UndoOffer | None:
        """The verdict Ctrl+Z would try to take back (None: there is none)."""
        return self._offer

    def can_undo(self) -> bool:
        return self._offer is not None and not self._undoing

    def _offer_undo(self, offer: UndoOffer) -> None:
        self._offer = offer
        self._offer_text = ""
        self._countdown.start()
        self._tick()
        self.undoChanged.emit()

    def _tick(self) -> None:
        offer = self._offer
        if offer is None:
            self._countdown.stop()
            return
        now = time.time()
        text = offer.status(now)
        if text != self._offer_text:
            self._offer_text = text
            self.undoStatus.emit(text)
        if not offer.open(now):
            # The store releases it now; Ctrl+Z still asks, to say so plainly.
            self._countdown.stop()

    def undo_last(self) -> None:
        """Ctrl+Z: take back the last verdict, if the store still holds it."""
        offer = self._offer
        if offer is None or self._undoing or self._services is None:
            return
        self._undoing = True
        self.undoChanged.emit()
        services = self._services
        self._work.submit(undo_verdict, services.decisions, services.actions, offer.action_id,
                          self.reviewer, on_done=functools.partial(self._undone, offer),
                          on_error=functools.partial(self._undo_failed, offer))

    def _end_offer(self, offer: UndoOffer) -> None:
        self._undoing = False
        if self._offer is offer:
            self._offer = None
            self._countdown.stop()
        self.undoChanged.emit()

    def _undone(self, offer: UndoOffer, rows: list[QueueRow]) -> None:
        self._end_offer(offer)
        if not rows:
            self._banner.show_message(f"Nothing to undo: {offer.name} has no verdict now.",
                                      BannerKind.WARNING)
            return
        self.notice.emit(offer.undone_text())
        self.actionBack.emit(rows)

    def _undo_failed(self, offer: UndoOffer, exc: BaseException) -> None:
        from countersign.services.decisions import UndoRefused
        from countersign.store.engine import StoreError

        if isinstance(exc, UndoRefused):
            self._end_offer(offer)
            self._banner.show_message(offer.refused_text(), BannerKind.WARNING)
            self.notice.emit(offer.refused_text())
            return
        self._undoing = False
        self.undoChanged.emit()
        if isinstance(exc, StoreError):
            self._banner.show_message(f"Could not undo the verdict on {offer.name}: {exc}",
                                      BannerKind.ERROR)
            self.errorOccurred.emit(str(exc))
            return
        self._banner.show_message(f"Could not undo the verdict on {offer.name}: "
                                  f"{type(exc).__name__}: {exc}", BannerKind.ERROR)
        report_exception(type(exc), exc, exc.__traceback__)

    def explain_gone(self, action_id: int) -> None:
        """The action under review was decided elsewhere: say by whom."""
        if self._decisions is None:
            return
        self._banner.show_message(f"Action #{action_id} left the queue.", BannerKind.WARNING)
        self._work.submit(_explain_gone, self._decisions, action_id,
                          on_done=lambda text: self._banner.show_message(
                              f"{text} {MOVE_ON}", BannerKind.WARNING),
                          on_error=lambda _exc: None)
