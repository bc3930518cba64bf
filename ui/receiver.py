"""The console's own OTLP/HTTP receiver: the ``[receiver]`` table of the configuration
(off unless enabled; ``countersign worker`` runs one of its own).

It serves on the qasync loop, but the GUI thread only moves bytes: requests are
decoded and normalised in the ingest pool's worker processes (small ones in a thread)
and written in a thread, as in the worker. Started with the console, restarted when
the Connections dialog saves new settings, stopped (after storing what it accepted)
when the console closes. A port already taken is reported, never fatal.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from countersign.config import ReceiverConfig

from .qt.core import QObject, Signal

if TYPE_CHECKING:
    from countersign.ingest.receiver import OtlpReceiver, ReceiverStats
    from countersign.store.engine import Store


class ConsoleReceiver(QObject):
    """Runs at most one `OtlpReceiver` as ``settings`` say. Use from the GUI thread."""

    #: Started, stopped, or failed to start (the status bar and dialog update).
    changed = Signal()

    def __init__(self, store: Store, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.settings = ReceiverConfig()
        #: Why the receiver is not running although enabled (the port is taken...).
        self.error: str | None = None
        self._receiver: OtlpReceiver | None = None
        self._lock = asyncio.Lock()

    @property
    def url(self) -> str | None:
        """Where it listens, or None when it is not running."""
        return self._receiver.url if self._receiver is not None else None

    @property
    def stats(self) -> ReceiverStats | None:
        return self._receiver.stats if self._receiver is not None else None

    async def apply(self, settings: ReceiverConfig) -> None:
        """Start, restart or stop the receiver to match ``settings``."""
        async with self._lock:
            running = self._receiver is not None
            if settings == self.settings and running == settings.enabled:
                return
            await self._stop()
            self.settings, self.error = settings, None
            if settings.enabled:
                from countersign.ingest.receiver import OtlpReceiver, ReceiverError

                receiver = OtlpReceiver(self.store, host=settings.host, port=settings.port)
                try:
                    await receiver.start()
                except ReceiverError as exc:
                    self.error = str(exc)
                else:
                    self._receiver = receiver
            self.changed.emit()

    async def stop(self) -> None:
        """Stop listening; spans already accepted are stored first (up to 5 s)."""
        async with self._lock:
            await self._stop()
            self.changed.emit()

    async def _stop(self) -> None:
        receiver, self._receiver = self._receiver, None
        if receiver is not None:
            await receiver.stop()

    def summary(self) -> tuple[str, str]:
        """(one line for the status bar, the tooltip with the details)."""
        settings = self.settings
        if not settings.enabled:
            return "", ""
        if self._receiver is None:
            reason = self.error or "not started yet"
            return "OTLP receiver off", f"The OTLP receiver is not running: {reason}"
        stats = self._receiver.stats
        text = f"OTLP :{self._receiver.port} · {stats.stored_spans:,} spans"
        tip = [f"Receiving OTLP/HTTP traces on {self._receiver.url}",
               f"{stats.requests:,} requests · {stats.stored_spans:,} spans stored · "
               f"{stats.duplicate_spans:,} already stored · {stats.rejected_spans:,} rejected"]
        if stats.throttled:
            tip.append(f"{stats.throttled:,} requests asked to retry later (backpressure)")
        if stats.last_error:
            tip.append(f"Last problem: {stats.last_error}")
        if settings.host not in ("127.0.0.1", "::1", "localhost"):
            tip.append(f"Listening on {settings.host}: reachable from the network")
        return text, "\n".join(tip)
