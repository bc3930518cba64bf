"""`LeadDecisions`: the Autonomy workspace's decision flows — open the dialog for the
unit on show, send the lead's decision off the GUI thread, and report: a notice once
the store has committed it (then the units are read again), the error otherwise
(someone else changed the level meanwhile: their change wins, and the lead is told).

One decision at a time: the commands are disabled while one is in flight.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from countersign.autonomy import AutonomyConfig, ReplayResult
from countersign.domain import AutonomyLevel
from countersign.domain.autonomy import BreakerTrip, LevelChange
from countersign.text import one_line

from ..qt import is_alive
from ..qt.core import QObject, Signal
from .dialogs import DemoteDialog, LevelDecision, PromoteDialog, ResetBreakerDialog
from .replay_dialog import ReplayDialog
from .rows import UnitDetail, unit_text

if TYPE_CHECKING:
    from .workspace import AutonomyWorkspace


class LeadDecisions(QObject):
    """See the module docstring."""

    # Signals
    #: A level change the lead made is committed (the `LevelChange`).
    levelChanged = Signal(object)
    #: A breaker reset is committed (the `BreakerTrip`, now closed).
    breakerReset = Signal(object)

    def __init__(self, workspace: AutonomyWorkspace) -> None:
        super().__init__(workspace)
        self.workspace = workspace
        self.busy = False

    # -- promote / demote --------------------------------------------------------------

    def promote(self) -> None:
        detail = self.workspace.detail
        if detail is None or self.busy:
            return
        dialog = PromoteDialog(detail, self.workspace)
        dialog.decided.connect(lambda decision: self._change(detail, decision, "promote"))
        dialog.open()

    def demote(self) -> None:
        detail = self.workspace.detail
        if detail is None or self.busy:
            return
        dialog = DemoteDialog(detail, self.workspace)
        dialog.decided.connect(lambda decision: self._change(detail, decision, "demote"))
        dialog.open()

    def _change(self, detail: UnitDetail, decision: LevelDecision, verb: str) -> None:
        backend = self.workspace.backend
        if backend is None:
            return
        status = detail.status
        self._start()
        change: Callable[..., LevelChange] = \
            backend.promote if verb == "promote" else backend.demote
        self.workspace.work.submit(
            change, status.unit, decision.to_level, lead=self.workspace.identity,
            reason=decision.reason if verb == "promote" else decision.reason or "",
            expected_version=status.level_version,
            on_done=lambda done: self._changed(detail, done, decision),
            on_error=lambda exc: self._failed(f"Could not {verb} {unit_text(status.unit)}",
                                              exc))

    def _changed(self, detail: UnitDetail, change: LevelChange,
                 decision: LevelDecision) -> None:
        self._finish()
        verb = "Promoted" if _rank(change.to_level) > _rank(detail.evidence.level) \
            else "Demoted"
        against = " (against the recommendation)" if decision.against_recommendation else ""
        self.workspace.notice.emit(
            f"{verb}: {unit_text(detail.key)} {detail.evidence.level} → "
            f"{change.to_level}{against}")
        self.levelChanged.emit(change)
        self.workspace.refresh()

    # -- what if -----------------------------------------------------------------------

    def replay(self) -> None:
        detail = self.workspace.detail
        backend = self.workspace.backend
        if detail is None or backend is None:
            return
        dialog = ReplayDialog(detail, self.workspace)

        def run(level: AutonomyLevel, config: AutonomyConfig) -> None:
            self.workspace.work.submit(
                backend.replay, detail.key, level, config=config,
                on_done=lambda result: _show(dialog, result),
                on_error=lambda exc: _show_error(dialog, exc))

        dialog.replayWanted.connect(run)
        dialog.open()

    # -- breakers ----------------------------------------------------------------------

    def reset_breaker(self, agent: str | None) -> None:
        """Open the reset dialog for ``agent``'s open trip (None: the selected unit's
        agent, else the most recent trip)."""
        trips = self.workspace.trips
        if not trips or self.busy:
            return
        if agent is None:
            detail = self.workspace.detail
            agent = detail.key.agent if detail is not None else None
        trip = next((t for t in trips if t.agent == agent), trips[0])
        dialog = ResetBreakerDialog(trip, self.workspace)
        dialog.decided.connect(lambda reason: self._reset(trip, reason))
        dialog.open()

    def _reset(self, trip: BreakerTrip, reason: str | None) -> None:
        backend = self.workspace.backend
        if backend is None:
            return
        self._start()
        self.workspace.work.submit(
            backend.reset_breaker, trip.agent, lead=self.workspace.identity, reason=reason,
            on_done=self._was_reset,
            on_error=lambda exc: self._failed(
                f"Could not reset the breaker of {one_line(trip.agent, 60)}", exc))

    def _was_reset(self, trip: BreakerTrip) -> None:
        self._finish()
        self.workspace.notice.emit(f"Breaker reset: {one_line(trip.agent, 60)}")
        self.breakerReset.emit(trip)
        self.workspace.refresh()

    # -- bookkeeping -------------------------------------------------------------------

    def _start(self) -> None:
        self.busy = True
        self.workspace.update_commands()

    def _finish(self) -> None:
        self.busy = False
        self.workspace.update_commands()

    def _failed(self, what: str, exc: BaseException) -> None:
        self._finish()
        self.workspace.errorOccurred.emit(f"{what}: {exc}")
        self.workspace.refresh()


def _rank(level: AutonomyLevel) -> int:
    return ("L0", "L1", "L2", "L3").index(level.value)


def _show(dialog: ReplayDialog, result: ReplayResult) -> None:
    if is_alive(dialog):
        dialog.show_result(result)


def _show_error(dialog: ReplayDialog, exc: BaseException) -> None:
    if is_alive(dialog):
        dialog.show_error(f"Not replayed: {exc}")
