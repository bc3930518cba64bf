"""Search within one run: which spans mention a text in their name, input, output,
attributes, status message, error type or events (as the core's
``TraceService.span_text_search`` does), in display order, with a current match to jump between.

The matching is a plain function (`find_in_run`) so it runs off the GUI thread for big
runs (10,000 spans × kilobytes of JSON): the lower-cased text of every span is built
once per run by the first search and handed back, so later searches only scan. A
search that has been overtaken by a newer one is cancelled and its result dropped.
Matching is case-insensitive on the stored JSON text, so quotes and newlines inside
values are matched in their escaped form (``\\n``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from countersign.domain import SpanRecord

from ..async_work import BackgroundWork, CancelToken
from ..palette import restyle, text_style
from ..qt.core import QObject, Qt, QTimer, Signal
from ..qt.gui import QKeyEvent
from ..qt.widgets import QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget

#: Runs with more spans than this are searched off the GUI thread.
OFF_THREAD_SPANS = 1_500
DEBOUNCE_MS = 150
PLACEHOLDER = "Search this run: names, inputs, outputs, attributes, errors"
_CHECK_EVERY = 512


class SearchCancelled(Exception):
    """A newer search made this one pointless."""


@dataclass(frozen=True)
class SearchResult:
    needle: str
    #: Display positions of the matching spans, ascending.
    matches: list[int]
    #: Each span's searchable text (lower-cased), to reuse for the next search.
    texts: list[str]


def span_text(span: SpanRecord) -> str:
    parts = [span.name, span.input_json or "", span.output_json or "", span.attributes_json,
             span.status_message or "", span.error_type or "", span.events_json]
    return "\x00".join(parts).lower()


def find_in_run(spans: Sequence[SpanRecord], needle: str, texts: list[str] | None = None,
                token: CancelToken | None = None) -> SearchResult:
    """Positions in ``spans`` whose text contains ``needle`` (case-insensitive)."""
    if texts is None:
        texts = []
        for n, span in enumerate(spans):
            if token is not None and n % _CHECK_EVERY == 0 and token.cancelled:
                raise SearchCancelled
            texts.append(span_text(span))
    wanted = needle.lower()
    if not wanted:
        return SearchResult(needle, [], texts)
    if token is None:
        return SearchResult(needle, [n for n, text in enumerate(texts) if wanted in text], texts)
    matches = []
    for n, text in enumerate(texts):
        if n % _CHECK_EVERY == 0 and token.cancelled:
            raise SearchCancelled
        if wanted in text:
            matches.append(n)
    return SearchResult(needle, matches, texts)


class RunSearch(QObject):
    """The search state of the run on show: its matches and the current one."""

    # Signals
    #: New matches are known (their count); the current match is reset.
    matchesChanged = Signal(int)
    #: The current match moved: its display position (-1 for none).
    currentChanged = Signal(int)
    #: A search started (True) or finished (False): the bar shows "searching…".
    busyChanged = Signal(bool)

    def __init__(self, work: BackgroundWork | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._work = work
        self._spans: Sequence[SpanRecord] = ()
        self._texts: list[str] | None = None
        self._needle = ""
        self._generation = 0
        self._token: CancelToken | None = None
        self.matches: list[int] = []
        self.current = -1
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.search_now)

    def set_run(self, spans: Sequence[SpanRecord]) -> None:
        """A new run (``spans`` in display order): forget the old one's matches."""
        self._cancel()
        self._spans = spans
        self._texts = None
        self._set_matches([])

    @property
    def pending(self) -> bool:
        """A query was typed and its search has not started yet (debounce)."""
        return self._timer.isActive()

    def set_query(self, text: str) -> None:
        """Search for ``text`` after a short pause in typing."""
        self._needle = text
        self._timer.start()

    def search_now(self, text: str | None = None) -> None:
        """Search at once (for ``text``, or the last query set)."""
        self._timer.stop()
        if text is not None:
            self._needle = text
        self._cancel()
        self._generation += 1
        if not self._needle.strip():
            self._set_matches([])
            return
        generation = self._generation
        if self._work is None or len(self._spans) <= OFF_THREAD_SPANS:
            self._done(generation, find_in_run(self._spans, self._needle, self._texts))
            return
        self._token = CancelToken()
        self.busyChanged.emit(True)
        self._work.submit(find_in_run, self._spans, self._needle, self._texts, self._token,
                          on_done=lambda result: self._done(generation, result),
                          on_error=lambda exc: self._failed(generation, exc))

    def _cancel(self) -> None:
        if self._token is not None:
            self._token.cancel()
            self._token = None
        self._generation += 1

    def _done(self, generation: int, result: SearchResult) -> None:
        if generation != self._generation:
            return  # overtaken by a newer search or another run
        self._token = None
        self._texts = result.texts
        self.busyChanged.emit(False)
        self._set_matches(result.matches)
        if self.matches:
            self.step(+1)

    def _failed(self, generation: int, exc: BaseException) -> None:
        if generation == self._generation:
            self.busyChanged.emit(False)
        if not isinstance(exc, SearchCancelled):
            raise exc

    def _set_matches(self, matches: list[int]) -> None:
        self.matches = matches
        self.current = -1
        self.matchesChanged.emit(len(matches))
        self.currentChanged.emit(-1)

    def step(self, direction: int) -> None:
        """Move to the next (+1) or previous (-1) match, wrapping around."""
        if not self.matches:
            return
        if self.current < 0:
            self.current = 0 if direction > 0 else len(self.matches) - 1
        else:
            self.current = (self.current + direction) % len(self.matches)
        self.currentChanged.emit(self.matches[self.current])

    def position_text(self) -> str:
        """``3 / 41``, ``0 / 41`` before the first jump, ``no matches``, or empty."""
        if not self._needle.strip():
            return ""
        if not self.matches:
            return "no matches"
        return f"{self.current + 1:,} / {len(self.matches):,}"


class _SearchField(QLineEdit):
    """Enter / F3 and Shift+Enter / Shift+F3 jump to the next and previous match."""

    # Signals
    #: Enter / F3 (+1) or Shift+Enter / Shift+F3 (-1) was pressed.
    jump = Signal(int)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_F3):
            shift = event.modifiers() & Qt.KeyboardModifier.ShiftModifier
            self.jump.emit(-1 if shift else +1)
            return
        if event.key() == Qt.Key.Key_Escape and self.text():
            self.clear()
            return
        super().keyPressEvent(event)


class SearchBar(QWidget):
    """Search field, "3 / 41" and previous / next buttons, driving a `RunSearch`."""

    def __init__(self, search: RunSearch, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = search
        self.field = _SearchField(self)
        self.field.setObjectName("runSearch")
        self.field.setPlaceholderText(PLACEHOLDER)
        self.field.setClearButtonEnabled(True)
        self.field.setMinimumWidth(280)
        self.count = QLabel(self)
        self.count.setObjectName("searchCount")
        self.count.setTextFormat(Qt.TextFormat.PlainText)
        self.count.setMinimumWidth(90)
        restyle(self.count, lambda p: text_style("QLabel", p.muted))
        self.previous = QToolButton(self)
        self.previous.setText("▲")
        self.previous.setToolTip("Previous match (Shift+Enter, Shift+F3)")
        self.next = QToolButton(self)
        self.next.setText("▼")
        self.next.setToolTip("Next match (Enter, F3)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.field, 1)
        layout.addWidget(self.count)
        layout.addWidget(self.previous)
        layout.addWidget(self.next)
        self.field.textChanged.connect(search.set_query)
        self.field.jump.connect(self.jump)
        self.previous.clicked.connect(lambda: search.step(-1))
        self.next.clicked.connect(lambda: search.step(+1))
        search.matchesChanged.connect(self._update)
        search.currentChanged.connect(self._update)
        search.busyChanged.connect(self._busy)

    def set_compact(self, compact: bool) -> None:
        """A short placeholder and a narrower field, for narrow hosts."""
        self.field.setPlaceholderText("Search…" if compact else PLACEHOLDER)
        self.field.setMinimumWidth(90 if compact else 280)
        self.count.setMinimumWidth(50 if compact else 90)

    def jump(self, direction: int) -> None:
        if self.search.pending:  # typed and pressed Enter at once: search first
            self.search.search_now()
            return
        self.search.step(direction)

    def _busy(self, busy: bool) -> None:
        if busy:
            self.count.setText("searching…")

    def _update(self, *_args: object) -> None:
        self.count.setText(self.search.position_text())
        has = bool(self.search.matches)
        self.previous.setEnabled(has)
        self.next.setEnabled(has)
