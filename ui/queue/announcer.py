"""Pending actions that leave the queue without a verdict from here (they expired, or
their source withdrew them) are announced, never silently removed: at once in the
status bar while the Queue is on screen, in its banner ("While you were away…") when
it comes back, and counted on the History command until the History is opened."""

from __future__ import annotations

from collections.abc import Callable

from ..qt.core import QObject, Signal
from ..qt.gui import QAction
from .banner import BannerKind, MessageBanner
from .feed import FeedBatch
from .history import Departures, departure_kind, departure_notice
from .model import QueueModel


class DepartureAnnouncer(QObject):
    """Watches the pending list's feed batches for departures (see the module
    docstring)."""

    # Signals
    #: A departure to say in the status bar now.
    notice = Signal(str)

    def __init__(self, model: QueueModel, banner: MessageBanner, history: QAction,
                 on_screen: Callable[[], bool], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._banner = banner
        self._history = history
        self._on_screen = on_screen
        self.departures = Departures()

    def note(self, batch: FeedBatch, gone: set[int]) -> None:
        """Before the list drops ``gone``: those that expired or were withdrawn."""
        fresh = Departures()
        for action_id in sorted(gone):
            row = self._model.get(action_id)
            kind = departure_kind(batch.changes, action_id) if row is not None else None
            if row is None or kind is None:
                continue
            name = f"{row.agent} · {row.action_class} (#{action_id})"
            fresh.add(kind, name)
            self.departures.add(kind, name)
        if not fresh:
            return
        self._update_label()
        if not self._on_screen():
            return  # said when the Queue comes back
        self.departures.clear()
        if len(fresh.expired) + len(fresh.withdrawn) == 1:
            kind = "expired" if fresh.expired else "withdrawn"
            self.notice.emit(departure_notice(kind, (fresh.expired or fresh.withdrawn)[0]))
        else:
            summary = fresh.summary()
            self.notice.emit(f"{summary[0].upper()}{summary[1:]} — History (H) shows them")

    def announce_away(self) -> None:
        """Back on screen: what left the queue meanwhile, in the banner."""
        if not self.departures:
            return
        summary = self.departures.summary()
        self.departures.clear()
        self._banner.show_message(f"While you were away, {summary}. History (H) shows them.",
                                  BannerKind.INFO,
                                  action=("Show history", lambda: self._history.setChecked(True)))

    def history_seen(self) -> None:
        """The History was opened: the departures are no longer new."""
        self.departures.unseen = 0
        self._update_label()

    def _update_label(self) -> None:
        unseen = self.departures.unseen
        self._history.setText(f"&History ({unseen} new)" if unseen else "&History")
