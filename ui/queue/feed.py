"""The change feed: what changed in the store since we last looked, one batch per tick.

Every ~100 ms one off-thread call reads the new change rows and, in the same call, the
current Queue rows of the actions they name, so a batch carries everything the model
needs and batches can never arrive out of order (STYLE.md, rule 8: coalesced on a
short tick, not one signal per event).

PostgreSQL hands out change ids when a transaction inserts, not when it commits: a
change with a lower id can become visible after a higher one was read. So on
PostgreSQL each poll re-reads a look-back window below the highest id seen and drops
ids already delivered. SQLite has one writer at a time, so ids commit in order and
no look-back is needed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from countersign.domain import ActionState, Change, DecisionRecord, QueueRow

from ..qt.core import QObject, Signal

if TYPE_CHECKING:
    from countersign.services.actions import ActionService
    from countersign.services.decisions import DecisionService

    from ..async_work import BackgroundWork

log = logging.getLogger("countersign.ui.feed")

#: How many change ids below the highest seen are read again on PostgreSQL.
LOOKBACK_IDS = 1_000
_ID_CHUNK = 500


@dataclass(frozen=True)
class FeedBatch:
    """The changes of one tick and the current rows of the actions they touch."""

    changes: tuple[Change, ...]
    #: Actions now in the watched states, by id.
    rows: dict[int, QueueRow] = field(default_factory=dict)
    #: Actions named by a change that are no longer in the watched states.
    gone: frozenset[int] = frozenset()
    #: The decisions of the rows' actions, when the feed reads them (the History).
    records: dict[int, DecisionRecord] = field(default_factory=dict)


@dataclass
class FeedCursor:
    """Where the feed is: the highest change id read and the ids in the look-back
    window already delivered. Mutated only by `poll_changes` on the pool thread,
    one call at a time."""

    last_id: int
    lookback: int
    delivered: set[int] = field(default_factory=set)


def poll_changes(actions: ActionService, cursor: FeedCursor,
                 states: Sequence[ActionState],
                 decisions: DecisionService | None = None) -> FeedBatch | None:
    """One tick's work (runs off the GUI thread): new changes plus their rows (and,
    with ``decisions``, the rows' decisions)."""
    start = max(0, cursor.last_id - cursor.lookback)
    changes = [c for c in actions.changes_since(start) if c.id not in cursor.delivered]
    if not changes:
        return None
    if cursor.lookback:
        cursor.delivered.update(c.id for c in changes)
    cursor.last_id = max(cursor.last_id, max(c.id for c in changes))
    floor = cursor.last_id - cursor.lookback
    cursor.delivered = {i for i in cursor.delivered if i > floor}
    ids = sorted({c.action_id for c in changes})
    rows: dict[int, QueueRow] = {}
    for at in range(0, len(ids), _ID_CHUNK):
        chunk = ids[at:at + _ID_CHUNK]
        rows.update((r.id, r) for r in actions.queue_rows(states=states, ids=chunk))
    records: dict[int, DecisionRecord] = {}
    if decisions is not None and rows:
        found = sorted(rows)
        for at in range(0, len(found), _ID_CHUNK):
            records.update(decisions.for_actions(found[at:at + _ID_CHUNK]))
    return FeedBatch(tuple(changes), rows, frozenset(ids) - rows.keys(), records)


class ChangeFeed(QObject):
    """Polls `ActionService.changes_since` off the GUI thread and emits batches."""

    # Signals
    #: One coalesced `FeedBatch` per tick that saw changes.
    batch = Signal(object)
    #: The store could not be read (the message is for the status bar).
    failed = Signal(str)
    #: Reading works again after a failure.
    recovered = Signal()

    def __init__(self, actions: ActionService, work: BackgroundWork, *,
                 states: Sequence[ActionState] = (ActionState.PENDING,),
                 interval: float = 0.1, lookback: int | None = None,
                 decisions: DecisionService | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._actions = actions
        self._decisions = decisions
        self._work = work
        self._states = tuple(states)
        self._interval = interval
        if lookback is None:
            lookback = 0 if actions.store.is_sqlite else LOOKBACK_IDS
        self._lookback = lookback
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, after_id: int) -> None:
        """Deliver every change with an id above ``after_id`` (read before the rows the
        model was filled with, so nothing between the two reads is lost)."""
        self.stop()
        cursor = FeedCursor(last_id=after_id, lookback=self._lookback)
        self._task = self._work.spawn(self._run(cursor), name="queue-change-feed")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self, cursor: FeedCursor) -> None:
        from countersign.store.engine import StoreError

        while True:
            try:
                found = await self._work.call(poll_changes, self._actions, cursor, self._states,
                                              self._decisions)
            except StoreError as exc:
                self._failing = True
                self.failed.emit(str(exc))
                await asyncio.sleep(max(1.0, self._interval))
                continue
            if self._failing:
                self._failing = False
                self.recovered.emit()
            if found is not None:
                self.batch.emit(found)
            await asyncio.sleep(self._interval)
