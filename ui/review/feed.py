"""Keeping the review list live: a timer asks the store what moved since the last
look (`ReviewFeed.changes`: items added, items labelled, the claims now), off the GUI
thread, one question at a time, and hands the answer over in one batch per tick
(STYLE.md rule 8). A failure is reported once and retried at the next tick.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

from countersign.services.review_feed import LineChanges, ReviewLine

from ..qt.core import QObject, QTimer, Signal

if TYPE_CHECKING:
    from countersign.services.review_feed import ReviewFeed

    from ..async_work import BackgroundWork

POLL_MS = 2000


def with_claims(line_of: Callable[[int], ReviewLine | None],
                old: dict[int, tuple[str, ...]], new: dict[int, tuple[str, ...]],
                ) -> list[ReviewLine]:
    """The held lines whose claim holders changed from ``old`` to ``new``, updated
    (only the items in either map are looked at: the claims, not the whole list)."""
    changed = []
    for item_id in old.keys() | new.keys():
        line = line_of(item_id)
        holders = new.get(item_id, ())
        if line is not None and holders != line.claimed_by:
            changed.append(dataclasses.replace(line, claimed_by=holders))
    return changed


class ReviewListFeed(QObject):
    """Polls for changes every `POLL_MS` once `start`ed at a pair of watermarks."""

    # Signals
    #: What moved since the last tick (a `LineChanges`).
    changed = Signal(object)
    #: The store could not be read (one line); ticks go on.
    failed = Signal(str)
    #: A tick succeeded after a failure.
    recovered = Signal()

    def __init__(self, feed: ReviewFeed, work: BackgroundWork, parent: QObject | None = None,
                 *, interval_ms: int = POLL_MS) -> None:
        super().__init__(parent)
        self._feed = feed
        self._work = work
        self._marks: tuple[int, int] | None = None
        self._asking = False
        self._failing = False
        self._generation = 0
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.tick)

    def start(self, item_mark: int, label_mark: int) -> None:
        """Report changes after these watermarks (a new start drops answers in flight
        for the old ones)."""
        self._marks = (item_mark, label_mark)
        self._generation += 1
        self._asking = False
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._generation += 1

    def tick(self) -> None:
        if self._marks is None or self._asking:
            return
        self._asking = True
        generation = self._generation
        self._work.submit(self._feed.changes, *self._marks,
                          on_done=lambda found: self._answered(generation, found),
                          on_error=lambda exc: self._failed(generation, exc))

    def _answered(self, generation: int, found: LineChanges) -> None:
        if generation != self._generation:
            return
        self._asking = False
        self._marks = (found.item_mark, found.label_mark)
        if self._failing:
            self._failing = False
            self.recovered.emit()
        self.changed.emit(found)

    def _failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        self._asking = False
        if not self._failing:
            self._failing = True
            self.failed.emit(str(exc) or type(exc).__name__)
