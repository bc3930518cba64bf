"""`BreakerBanner`: the agents whose budget breaker has tripped, at the top of a page,
with the figures that tripped it and the run that shows the loop (issue 13: the seeds'
runaway retry loop). While a breaker is open every request of that agent waits for a
person, so the people working the Queue must see why.

Self-contained: `watch` reads the open trips off the GUI thread every few seconds (or
call `set_trips` with them). "Show run" and "Reset…" are signals for the page that
mounts it; resetting is a lead's decision (the Autonomy workspace's dialog).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from countersign.domain.autonomy import BreakerTrip

from ..async_work import BackgroundWork
from ..palette import restyle, strip_style
from ..qt.core import Qt, QTimer, Signal
from ..qt.widgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget
from .dialogs import trip_text

#: Trips listed in full; more are counted.
SHOWN_TRIPS = 3
POLL_MS = 5_000


class BreakerBanner(QFrame):
    """See the module docstring."""

    # Signals
    #: The person wants to see the run that shows the loop (its trace id).
    runWanted = Signal(str)
    #: The person wants to reset this agent's breaker (the agent's name).
    resetWanted = Signal(str)
    #: The open trips changed (how many there are now).
    tripsChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None, *, runs: bool = True) -> None:
        """``runs``: offer "Show run" (where the page can open a run in Traces)."""
        super().__init__(parent)
        self.setObjectName("breakerBanner")
        self.runs = runs
        self.trips: tuple[BreakerTrip, ...] = ()
        self._rows = QVBoxLayout(self)
        self._rows.setContentsMargins(10, 6, 6, 6)
        self._rows.setSpacing(4)
        restyle(self, lambda p: strip_style("#breakerBanner", p.error_banner, "2px 4px")
                + " #breakerBanner QLabel { border: none; background: transparent; }")
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._read: Callable[[], Sequence[BreakerTrip]] | None = None
        self._work: BackgroundWork | None = None
        self._reading = False
        self._timer.timeout.connect(self.refresh)
        self.hide()

    # -- content -----------------------------------------------------------------------

    def set_trips(self, trips: Sequence[BreakerTrip]) -> None:
        """Show the open ones of ``trips`` (hidden when there is none)."""
        shown = tuple(sorted((t for t in trips if t.open), key=lambda t: -t.tripped_at))
        if shown == self.trips:
            return
        self.trips = shown
        while self._rows.count():
            item = self._rows.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        for trip in shown[:SHOWN_TRIPS]:
            self._rows.addWidget(self._trip_row(trip))
        if len(shown) > SHOWN_TRIPS:
            more = QLabel(f"…and {len(shown) - SHOWN_TRIPS} more agents with a tripped "
                          "breaker (Autonomy workspace).", self)
            more.setTextFormat(Qt.TextFormat.PlainText)
            self._rows.addWidget(more)
        self.setVisible(bool(shown))
        self.tripsChanged.emit(len(shown))

    def _trip_row(self, trip: BreakerTrip) -> QWidget:
        row = QWidget(self)
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        label = QLabel(row)
        label.setObjectName("tripText")
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        label.setText("Budget breaker open, every request waits for a person: "
                      + trip_text(trip))
        layout.addWidget(label, 1)
        if trip.trace_id and self.runs:
            run = QPushButton("Show run", row)
            run.setObjectName("showTripRun")
            run.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            trace_id = trip.trace_id
            run.clicked.connect(lambda: self.runWanted.emit(trace_id))
            layout.addWidget(run)
        reset = QPushButton("Reset…", row)
        reset.setObjectName("resetTrip")
        reset.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        reset.setToolTip("A lead resets the breaker (Autonomy workspace)")
        agent = trip.agent
        reset.clicked.connect(lambda: self.resetWanted.emit(agent))
        layout.addWidget(reset)
        return row

    # -- polling -----------------------------------------------------------------------

    def watch(self, read: Callable[[], Sequence[BreakerTrip]], work: BackgroundWork,
              interval_ms: int = POLL_MS) -> None:
        """Read the open trips with ``read`` (off the GUI thread) now and every
        ``interval_ms``."""
        self._read = read
        self._work = work
        self._timer.setInterval(interval_ms)
        self._timer.start()
        self.refresh()

    def refresh(self) -> None:
        if self._read is None or self._work is None or self._reading:
            return
        self._reading = True
        self._work.submit(self._read, on_done=self._read_done, on_error=self._read_failed)

    def _read_done(self, trips: Sequence[BreakerTrip]) -> None:
        self._reading = False
        self.set_trips(trips)

    def _read_failed(self, _exc: BaseException) -> None:
        self._reading = False  # the next tick tries again; the banner keeps what it had

    def stop(self) -> None:
        self._timer.stop()
