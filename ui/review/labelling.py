"""From an item shown to a label committed, for the Review workspace.

- Showing an item claims a label slot for the reviewer (off the GUI thread); moving
  away without labelling gives the claim back, so browsing does not lock items away
  from other reviewers. A slot someone else holds is said, by name, and the form is
  read-only.
- The item the reviewer will see next is read ahead while they label the current one,
  so Enter shows it without a trip to the store; it is claimed once it is shown.
- Enter shows the next item at once (the label is checked against the rubric first,
  as the store will check it); the labelled row reads "saving…" and counts as
  labelled only once the store has committed it. A refusal (the last slot taken by
  someone else, a correction the schema refuses, the store unreachable) is said on
  screen, naming the cause, with "Back to it": the item again with its answers.
"""

from __future__ import annotations

import functools
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from countersign.domain.review import Claim, LabelRecord

from ..async_work import BackgroundWork, report_exception
from ..qt.core import QObject, QTimer, Signal
from ..qt.widgets import QApplication
from ..queue.banner import BannerKind
from .correction import CorrectionDialog
from .reads import (
    LoadedItem,
    claim_item,
    decided_arguments,
    load_item,
    release_item,
    submit_label,
)

if TYPE_CHECKING:
    from countersign.session import Services

    from .workspace import ReviewWorkspace

log = logging.getLogger("countersign.ui.review")

#: "Loading…" is shown only when an item takes longer than this (no flicker on J/K).
LOADING_DELAY_MS = 150
#: Items read ahead and kept.
CACHE_SIZE = 4


@dataclass(frozen=True)
class _Draft:
    """A label on its way to the store, kept to give it back if it is refused."""

    answers: dict[str, Any]
    correction: Any
    rubric: str
    version: int
    #: The question to focus when it comes back (the one the store refused).
    focus: str | None = None

    def with_focus(self, key: str) -> _Draft:
        return _Draft(self.answers, self.correction, self.rubric, self.version, key)


class LabellingFlow(QObject):
    """Owns what the item pane shows and the reviewer's claims (see the module)."""

    # Signals
    #: An item's detail is on screen (its id): the benchmark and the tests wait on it.
    itemShown = Signal(int)
    #: A label was committed (the `LabelRecord`).
    labelled = Signal(object)

    def __init__(self, workspace: ReviewWorkspace, work: BackgroundWork) -> None:
        super().__init__(workspace)
        self._ws = workspace
        self._work = work
        self._services: Services | None = None
        self._wanted: int | None = None
        self._focus_form = False
        self._refocus_on_label = False
        self._held: int | None = None
        self._skipped: set[int] = set()
        self._cache: OrderedDict[int, LoadedItem] = OrderedDict()
        self._fetching: set[int] = set()
        self._saving: dict[int, _Draft] = {}
        self._restore: dict[int, _Draft] = {}
        self.correction: Any = None
        self._loading = QTimer(self)
        self._loading.setSingleShot(True)
        self._loading.setInterval(LOADING_DELAY_MS)
        self._loading.timeout.connect(self._ws.pane.show_loading)

    def attach(self, services: Services) -> None:
        self._services = services

    @property
    def reviewer(self) -> str:
        return self._services.identity if self._services is not None else ""

    @property
    def loaded(self) -> LoadedItem | None:
        """The item on screen, if it is still the one wanted."""
        loaded = self._ws.pane.loaded
        return loaded if loaded is not None and loaded.item_id == self._wanted else None

    @property
    def skipped(self) -> set[int]:
        return set(self._skipped)

    # -- showing -------------------------------------------------------------------------

    def show(self, item_id: int | None, *, focus_form: bool = False) -> None:
        """Show ``item_id`` (None: nothing) and claim it when the reviewer may label it."""
        if item_id == self._wanted and self.loaded is not None:
            if focus_form:
                self._ws.pane.form.focus_first_unanswered()
            return
        self._leave(item_id)
        self._wanted = item_id
        self._focus_form = focus_form
        self.correction = None
        if item_id is None or self._services is None:
            self._loading.stop()
            self._ws.pane.clear()
            return
        cached = self._cache.pop(item_id, None)
        if cached is not None:
            self._display(cached)
            return
        self._loading.start()
        self._fetch(item_id, show=True)

    def _fetch(self, item_id: int, *, show: bool) -> None:
        services = self._services
        if services is None or (not show and item_id in self._fetching):
            return
        self._fetching.add(item_id)
        self._work.submit(load_item, services.review, services.traces, item_id,
                          self.reviewer,
                          on_done=functools.partial(self._fetched, item_id, show),
                          on_error=functools.partial(self._fetch_failed, item_id, show))

    def _fetched(self, item_id: int, show: bool, loaded: LoadedItem) -> None:
        self._fetching.discard(item_id)
        if item_id == self._wanted and (show or self.loaded is None):
            self._display(loaded)
        elif item_id != self._wanted:
            self._cache[item_id] = loaded
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)

    def _fetch_failed(self, item_id: int, show: bool, exc: BaseException) -> None:
        self._fetching.discard(item_id)
        if not show or item_id != self._wanted:
            return
        self._loading.stop()
        self._ws.pane.clear(f"Could not load review item #{item_id}: {exc}")
        self._ws.errorOccurred.emit(str(exc))

    def _display(self, loaded: LoadedItem) -> None:
        self._loading.stop()
        pane = self._ws.pane
        focused = QApplication.focusWidget()
        # Showing an item rebuilds the form: if the focus was in the old one, it must
        # land in the new one, not vanish with the deleted widget.
        had_focus = focused is not None and pane.form.isAncestorOf(focused)
        pane.show_item(loaded, self.reviewer)
        refocus = had_focus or (self._refocus_on_label
                                and self._ws.pages.currentWidget() is pane)
        self._refocus_on_label = False
        if (self._focus_form or refocus) and self._ws.is_active and pane.form.isEnabled():
            pane.form.focus_first_unanswered()
        if loaded.item_id in self._restore:
            self._restore_answers(loaded.item_id)
        self.itemShown.emit(loaded.item_id)
        line = self._ws.model.rows.get(loaded.item_id)
        if pane.form.isEnabled() and self._held != loaded.item_id and line is not None:
            self._claim(loaded.item_id)
        self._read_ahead(loaded.item_id)

    def _read_ahead(self, item_id: int) -> None:
        upcoming = self._ws.next_labelable_after(item_id)
        if upcoming is not None and upcoming not in self._cache:
            self._fetch(upcoming, show=False)

    def is_read_ahead(self, item_id: int) -> bool:
        """Whether ``item_id``'s detail is already read (showing it costs no store trip)."""
        return item_id in self._cache

    def drop_cached(self, item_ids: set[int] | None = None) -> None:
        """Forget read-ahead items (all, or these: they changed in the store)."""
        if item_ids is None:
            self._cache.clear()
        else:
            for item_id in item_ids & self._cache.keys():
                del self._cache[item_id]

    def reload_rubric(self, name: str) -> None:
        """Rubric ``name`` has a new version: forget the items read ahead, and read the
        item on screen again when it answers that rubric, so its form is the new one
        (the store records the newest version with every label)."""
        self.drop_cached()
        loaded = self.loaded
        if loaded is None or loaded.detail.rubric.name != name:
            return
        self._focus_form = False  # the reviewer is on another page: leave the focus…
        # …unless they are back on the Label page when the new form arrives: the page
        # change focused the old form, which this read replaces.
        self._refocus_on_label = True
        self._fetch(loaded.item_id, show=True)

    # -- claims --------------------------------------------------------------------------

    def _claim(self, item_id: int) -> None:
        services = self._services
        if services is None:
            return
        self._work.submit(claim_item, services.review, item_id, self.reviewer,
                          on_done=functools.partial(self._claimed, item_id),
                          on_error=functools.partial(self._claim_refused, item_id))

    def _claimed(self, item_id: int, claim: Claim) -> None:
        if item_id != self._wanted:
            self._release(item_id)  # the reviewer moved on while it was being claimed
            return
        self._held = item_id
        self._show_claim(claim)

    def _show_claim(self, claim: Claim) -> None:
        loaded = self.loaded
        if loaded is None or loaded.item_id != claim.item_id:
            return
        detail = loaded.detail.model_copy(update={"claim": claim})
        self._ws.pane.loaded = LoadedItem(detail, loaded.spans, loaded.arguments)
        self._ws.pane.refresh_header(self.reviewer)

    def _claim_refused(self, item_id: int, exc: BaseException) -> None:
        from countersign.services.review_labels import ReviewError

        if item_id != self._wanted:
            return
        if isinstance(exc, ReviewError):
            self._ws.pane.set_labelling(False, f"{exc}. J shows the next item.")
            return
        self._ws.errorOccurred.emit(str(exc))

    def _leave(self, new_item: int | None) -> None:
        held = self._held
        if held is not None and held != new_item:
            self._held = None
            self._release(held)

    def _release(self, item_id: int) -> None:
        services = self._services
        if services is None:
            return
        self._work.submit(release_item, services.review, item_id, self.reviewer,
                          on_done=lambda _released: None,
                          on_error=lambda exc: log.warning("release of #%s failed: %s",
                                                           item_id, exc))

    def release_all(self) -> None:
        """Give the held claim back (the window is closing, or the list was reloaded)."""
        self._leave(None)

    # -- labelling -----------------------------------------------------------------------

    def submit(self) -> None:
        """Enter: send the answers and show the next item the reviewer may label at
        once; the labelled row reads "saving…" until the store has committed it."""
        loaded = self.loaded
        services = self._services
        pane = self._ws.pane
        if loaded is None or services is None or not pane.form.isEnabled():
            return
        item_id = loaded.item_id
        if item_id in self._saving:
            return
        check = pane.form.check()
        if check.problem is not None:
            key, message = check.problem
            widget = pane.form.question_widget(key)
            if widget is not None:
                pane.form.focus_question(pane.form.questions.index(widget))
            pane.banner.show_message(f"Not sent: {key}: {message}", BannerKind.WARNING)
            return
        draft = _Draft(check.answers, self.correction, loaded.detail.rubric.name,
                       loaded.detail.rubric.version)
        self._saving[item_id] = draft
        if self._held == item_id:
            self._held = None  # the claim becomes the label: never give it back
        self._ws.model.set_saving(item_id, True)
        self._work.submit(submit_label, services.review, item_id, self.reviewer,
                          draft.answers, draft.correction,
                          on_done=functools.partial(self._label_done, item_id),
                          on_error=functools.partial(self._label_failed, item_id))
        upcoming = self._ws.next_labelable_after(item_id)
        self._ws.select_item(upcoming, focus_form=True)
        if upcoming is None:
            self._ws.pane.clear("All done: nothing left for you to label under this filter.")

    @property
    def saving(self) -> set[int]:
        """Items whose label is on its way to the store."""
        return set(self._saving)

    def _label_done(self, item_id: int, label: LabelRecord) -> None:
        self._saving.pop(item_id, None)
        self._ws.model.set_saving(item_id, False)
        self._ws.line_labelled(item_id, label)
        self._ws.notice.emit(f"Labelled item #{item_id} ({label.rubric} version "
                             f"{label.rubric_version})")
        self.labelled.emit(label)

    def _label_failed(self, item_id: int, exc: BaseException) -> None:
        """The label was refused or not stored: say so on screen, naming the cause
        (the question, or who took the slot), with the way back to the answers."""
        from countersign.services.review_labels import (
            AlreadyLabelled,
            InvalidAnswer,
            InvalidCorrection,
            ReviewError,
        )

        draft = self._saving.pop(item_id, None)
        self._ws.model.set_saving(item_id, False)
        message = f"The label on item #{item_id} was not saved: {exc}"
        self._ws.errorOccurred.emit(message)
        if isinstance(exc, AlreadyLabelled):
            self._ws.pane.banner.show_message(message, BannerKind.ERROR)
            return
        if not isinstance(exc, ReviewError | InvalidCorrection) and not _is_store_error(exc):
            report_exception(type(exc), exc, exc.__traceback__)  # a bug: seen, not hidden
        if draft is not None:
            if isinstance(exc, InvalidAnswer):
                draft = draft.with_focus(exc.question)
            self._restore[item_id] = draft
        self._ws.pane.banner.show_message(
            message, BannerKind.ERROR,
            action=("Back to it", functools.partial(self.go_back, item_id)))

    def go_back(self, item_id: int) -> None:
        """Show an item whose label was not saved, its answers as they were given."""
        self._ws.select_item(item_id, focus_form=True)

    def _restore_answers(self, item_id: int) -> None:
        draft = self._restore.pop(item_id, None)
        form = self._ws.pane.form
        if draft is None or form.rubric is None or not form.isEnabled():
            return
        if (form.rubric.name, form.rubric.version) == (draft.rubric, draft.version):
            form.set_answers(draft.answers)
        self.correction = draft.correction
        self._ws.pane.set_correction(draft.correction)
        widget = form.question_widget(draft.focus) if draft.focus else None
        if widget is not None:
            form.focus_question(form.questions.index(widget))

    def skip(self) -> None:
        """S: leave the item to someone else and show the next one."""
        loaded = self.loaded
        if loaded is None or not self._ws.pane.form.isEnabled():
            return
        item_id = loaded.item_id
        self._skipped.add(item_id)
        upcoming = self._ws.next_labelable_after(item_id)
        self._ws.select_item(upcoming, focus_form=True)
        if upcoming is None:
            self._ws.pane.clear("Nothing else to label under this filter.")
        self._ws.notice.emit(f"Skipped item #{item_id}")

    def edit_correction(self) -> None:
        """C: the correction editor for the item on screen."""
        loaded = self.loaded
        if loaded is None or not self._ws.pane.form.isEnabled():
            return
        action = loaded.detail.action
        what = "arguments" if action is not None else "output"
        title = (f"Correction: {action.action_class} (#{action.id})" if action is not None
                 else f"Correction: run {loaded.detail.trace_id}")
        dialog = CorrectionDialog(title, decided_arguments(loaded),
                                  action.arguments_schema if action is not None else None,
                                  draft=self.correction, what=what, parent=self._ws)
        try:
            if dialog.exec() != CorrectionDialog.DialogCode.Accepted:
                return
            result = dialog.result_value
        finally:
            dialog.deleteLater()
        now = self.loaded
        if result is None or now is None or now.item_id != loaded.item_id:
            return  # cancelled, or the item left the screen meanwhile
        self.correction = None if result.removed else result.value
        self._ws.pane.set_correction(self.correction)
        self._ws.pane.form.focus_question(self._ws.pane.form.current_index)


def _is_store_error(exc: BaseException) -> bool:
    from countersign.store.engine import StoreError

    return isinstance(exc, StoreError)
