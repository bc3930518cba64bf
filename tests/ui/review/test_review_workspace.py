"""The Review workspace in the real window, beyond the happy path: a slot another
reviewer holds, a label refused after the reviewer moved on (and the way back to
its answers), skip, the list kept live, "send to review" from Traces and the Queue,
the cheatsheet, the sampling-rules editor and the Datasets panel's diff and cancel."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from pytestqt.qtbot import QtBot

from countersign.domain import SpanKind, SpanRecord, Verdict
from countersign.domain.review import DatasetFilter
from countersign.review.sampling import SamplingRule
from countersign.session import Services
from countersign_ui.main_window import MainWindow
from countersign_ui.review.workspace import ReviewWorkspace
from countersign_ui.shortcuts import ShortcutsDialog
from countersign_ui.traces.workspace import TracesWorkspace

from ..conftest import open_test_services
from ..test_queue_e2e import WAIT_MS, press, window  # noqa: F401 - fixture
from .test_review_e2e import _request

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    """Three approved refunds in review (one label each), and one pending."""
    opened = open_test_services(tmp_path / "s.db", reviewer="ann")
    opened.review.replace_rules([SamplingRule(name="every-refund", rate=1.0)], actor="lead")
    for n in (1, 2, 3):
        opened.decisions.decide(_request(opened, n, 100 * n), Verdict.APPROVE, reviewer="olga")
    _request(opened, 9, 900)  # pending: in the Queue
    yield opened
    opened.close()


def on_review(qtbot: QtBot, window: MainWindow) -> ReviewWorkspace:  # noqa: F811
    review = window.workspace(ReviewWorkspace)
    press(qtbot, window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: review.flow.loaded is not None
                    and review.pane.form.isEnabled(), timeout=WAIT_MS)
    return review


def shown_id(review: ReviewWorkspace) -> int | None:
    loaded = review.flow.loaded
    return loaded.item_id if loaded is not None else None


def answer_correct_no_harm(qtbot: QtBot, window: MainWindow,  # noqa: F811
                           review: ReviewWorkspace) -> None:
    form = review.pane.form
    qtbot.waitUntil(lambda: form.current_question() is not None
                    and form.current_question().hasFocus(), timeout=WAIT_MS)
    press(qtbot, window, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: form.current_index == 1, timeout=WAIT_MS)
    press(qtbot, window, Qt.Key.Key_2)


@pytest.fixture
def bo_holds_first(services: Services) -> int:
    """Reviewer bo holds the first item's only slot (before the window opens: ask for
    this fixture before ``window``)."""
    first = services.review.items()[0].id
    services.review.claim(first, "bo")
    return first


def test_a_slot_held_by_another_reviewer_is_read_only_and_says_by_whom(
        qtbot: QtBot, bo_holds_first: int, window: MainWindow) -> None:  # noqa: F811
    first = bo_holds_first
    review = on_review(qtbot, window)
    # The first item offered is one ann can label; selecting bo's says why she cannot.
    assert shown_id(review) != first
    review.select_item(first)
    qtbot.waitUntil(lambda: "bo" in review.pane.banner.text, timeout=WAIT_MS)
    assert not review.pane.form.isEnabled()
    assert not review.pane.submit_button.isEnabled()


def test_a_label_refused_after_moving_on_names_who_and_leads_back_to_the_answers(
        qtbot: QtBot, window: MainWindow, services: Services) -> None:  # noqa: F811
    review = on_review(qtbot, window)
    item = shown_id(review)
    assert item is not None
    qtbot.waitUntil(lambda: review.pane.loaded is not None
                    and review.pane.loaded.detail.claim is not None, timeout=WAIT_MS)
    # Ann's claim lapses and bo labels the item's only slot meanwhile.
    services.review.skip(item, "ann")
    services.review.submit(item, reviewer="bo", answers={"correct": "wrong", "harm": True})
    answer_correct_no_harm(qtbot, window, review)
    press(qtbot, window, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: shown_id(review) != item, timeout=WAIT_MS)  # moved on at once
    qtbot.waitUntil(lambda: "not saved" in review.pane.banner.text, timeout=WAIT_MS)
    assert "bo" in review.pane.banner.text
    assert review.pane.banner.button.text() == "Back to it"
    review.pane.banner.button.click()
    qtbot.waitUntil(lambda: shown_id(review) == item, timeout=WAIT_MS)
    assert review.pane.form.answers() == {}  # read-only now: bo's label closed it
    assert not review.pane.form.isEnabled()


def test_skip_releases_the_claim_and_shows_the_next_item(
        qtbot: QtBot, window: MainWindow, services: Services) -> None:  # noqa: F811
    review = on_review(qtbot, window)
    first = shown_id(review)
    assert first is not None
    qtbot.waitUntil(lambda: services.review.detail(first).item.claimed_by == ("ann",),
                    timeout=WAIT_MS)
    press(qtbot, window, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: shown_id(review) not in (None, first), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: services.review.detail(first).item.claimed_by == (),
                    timeout=WAIT_MS)
    press(qtbot, window, Qt.Key.Key_K)  # back to the skipped one: still labelable
    qtbot.waitUntil(lambda: shown_id(review) == first, timeout=WAIT_MS)
    assert review.pane.form.isEnabled()


def test_new_samples_appear_live_without_moving_the_selection(
        qtbot: QtBot, window: MainWindow, services: Services) -> None:  # noqa: F811
    review = on_review(qtbot, window)
    press(qtbot, window, Qt.Key.Key_J)
    qtbot.waitUntil(lambda: review.current_id() == review.model.ids()[1], timeout=WAIT_MS)
    selected = review.current_id()
    services.decisions.decide(_request(services, 4, 400), Verdict.APPROVE, reviewer="olga")
    qtbot.waitUntil(lambda: review.model.rowCount() == 4, timeout=WAIT_MS)
    assert review.current_id() == selected and shown_id(review) == selected
    assert window.summary_labels["review"].text() == "4 to label"


def test_send_to_review_from_traces_adds_the_run_and_the_queue_says_why_not(
        qtbot: QtBot, window: MainWindow, services: Services) -> None:  # noqa: F811
    now = time.time_ns()
    services.actions.ingest_spans([SpanRecord(
        trace_id="ab" * 16, span_id="cd" * 8, parent_span_id=None, name="triage run",
        kind=SpanKind.AGENT, start_ns=now - 2_000_000_000, end_ns=now, status_code="ok",
        status_message=None,
        agent_name="triage-bot")], source="test")
    review = on_review(qtbot, window)
    traces = window.workspace(TracesWorkspace)
    press(qtbot, window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: traces.model.rowCount() >= 1, timeout=WAIT_MS)
    row = traces.model.row_of("ab" * 16)
    assert row is not None
    traces.table.selectRow(row)
    assert traces.current_trace_id() == "ab" * 16
    press(qtbot, window, Qt.Key.Key_R, CTRL_SHIFT)
    qtbot.waitUntil(lambda: any(i.trace_id == "ab" * 16 for i in services.review.items()),
                    timeout=WAIT_MS)
    added = next(i for i in services.review.items() if i.trace_id == "ab" * 16)
    assert added.pi is None and added.rubric == "run-outcome" and added.added_by == "ann"
    qtbot.waitUntil(lambda: review.model.row_of(added.id) is not None, timeout=WAIT_MS)
    press(qtbot, window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    queue = window.workspace(type(window.workspaces[0]))
    qtbot.waitUntil(lambda: queue.loaded is not None, timeout=WAIT_MS)  # type: ignore[attr-defined]
    press(qtbot, window, Qt.Key.Key_R, CTRL_SHIFT)
    qtbot.waitUntil(lambda: "still pending" in window.error_label.toolTip(), timeout=WAIT_MS)


def test_every_review_key_is_in_the_cheatsheet(
        qtbot: QtBot, window: MainWindow, services: Services) -> None:  # noqa: F811
    on_review(qtbot, window)
    window.show_shortcuts()
    dialog = window.findChild(ShortcutsDialog)
    assert dialog is not None
    listed = dict(dialog.listed())
    assert listed["Answer the current question"] == "1, 2, 3, 4, 5, 6, 7, 8, 9"
    assert listed["Submit label"].startswith("Return, Enter")
    assert listed["Next question"] == "Tab" and listed["Skip"] == "S"
    assert listed["Correction"] == "C" and listed["Next item"] == "J"
    dialog.close()


def test_the_rules_editor_checks_as_you_type_and_saves_through_the_service(
        qtbot: QtBot, window: MainWindow, services: Services) -> None:  # noqa: F811
    review = on_review(qtbot, window)
    press(qtbot, window, Qt.Key.Key_S, CTRL_SHIFT)
    editor = review.rules
    qtbot.waitUntil(lambda: editor.editor.hasFocus() and editor.model.rowCount() == 1,
                    timeout=WAIT_MS)
    assert not window.commands["review.skip"].isEnabled()  # S types here
    def type_rate(rate: str) -> None:
        """Select the rule's rate in the text and type another over it."""
        text = editor.editor.toPlainText()
        at = text.index("rate = ") + len("rate = ")
        end = text.index("\n", at)
        cursor = editor.editor.textCursor()
        cursor.setPosition(at)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        editor.editor.setTextCursor(cursor)
        qtbot.keyClicks(editor.editor, rate)

    type_rate("1.5")
    qtbot.waitUntil(lambda: "every-refund" in editor.problem.text(), timeout=WAIT_MS)
    assert "rate" in editor.problem.text() and not editor.save_button.isEnabled()
    type_rate("0.5")
    qtbot.waitUntil(editor.save_button.isEnabled, timeout=WAIT_MS)
    editor.save_button.click()
    qtbot.waitUntil(lambda: services.review.rules()[0].rate == 0.5, timeout=WAIT_MS)
    from sqlalchemy import select

    from countersign.store.models import AuditEventRow

    with services.store.read() as session:
        actors = list(session.execute(select(AuditEventRow.actor).where(
            AuditEventRow.kind == "review.rules.replaced")).scalars())
    assert actors[-1] == "ann"


def test_datasets_diff_two_versions_and_a_cancelled_export_writes_nothing(
        qtbot: QtBot, window: MainWindow, services: Services,  # noqa: F811
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    services.datasets.build("refunds", DatasetFilter(), actor="ann")
    services.decisions.decide(_request(services, 5, 500), Verdict.APPROVE, reviewer="olga")
    services.datasets.build("refunds", DatasetFilter(), actor="ann")
    review = on_review(qtbot, window)
    press(qtbot, window, Qt.Key.Key_D, CTRL_SHIFT)
    panel = review.datasets
    qtbot.waitUntil(lambda: panel.model.rowCount() == 2 and panel.selected() is not None,
                    timeout=WAIT_MS)
    assert (panel.old_version.currentText(), panel.new_version.currentText()) == ("1", "2")
    panel.diff_button.click()
    qtbot.waitUntil(lambda: "1 added" in panel.status.text(), timeout=WAIT_MS)
    assert "0 removed, 0 changed" in panel.status.text()
    assert "action:" in panel.diff_view.shown_text()
    # A label given between the builds changes that example's metadata, by name.
    labelled = services.review.items()[-1]  # not the one on screen (ann holds that one)
    services.review.submit(labelled.id, reviewer="bo", answers={"correct": "correct",
                                                               "harm": False})
    services.datasets.build("refunds", DatasetFilter(), actor="ann")
    panel.refresh()
    qtbot.waitUntil(lambda: panel.model.rowCount() == 3, timeout=WAIT_MS)
    panel.table.selectRow(2)
    panel.old_version.setCurrentText("2")
    panel.diff_button.click()
    qtbot.waitUntil(lambda: "1 changed" in panel.status.text(), timeout=WAIT_MS)
    assert (f"action:{labelled.action_id}  (metadata.labels)"
            in panel.diff_view.shown_text())
    out = tmp_path / "cancelled.jsonl"
    panel.path_edit.setText(str(out))
    # Hold the export until the reviewer has pressed Cancel (a big one takes seconds).
    import threading

    from countersign_ui.review import datasets_panel

    release = threading.Event()
    real = datasets_panel.export_version

    def held(*args: object) -> object:
        release.wait(WAIT_MS / 1000)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(datasets_panel, "export_version", held)
    panel.export_button.click()
    assert panel.busy and panel.cancel_button.isEnabled()
    panel.cancel_button.click()
    release.set()
    qtbot.waitUntil(lambda: not panel.busy, timeout=WAIT_MS)
    assert "cancelled" in panel.status.text() and not out.exists()
    assert list(tmp_path.glob("cancelled*")) == []


@pytest.fixture
def bo_labelled_two(services: Services) -> int:
    """Reviewer bo labelled the first item wrong and the second right (before the window
    opens: ask for this fixture before ``window``); the first one's action id."""
    first, second = services.review.items()[:2]
    services.review.submit(first.id, reviewer="bo",
                           answers={"correct": "wrong", "harm": False})
    services.review.submit(second.id, reviewer="bo", answers={"correct": "correct",
                                                              "harm": False})
    assert first.action_id is not None
    return first.action_id


def test_a_dataset_built_from_the_panel_keeps_the_period_and_the_answers_asked_for(
        qtbot: QtBot, services: Services, bo_labelled_two: int,
        window: MainWindow) -> None:  # noqa: F811
    """The list's filters narrow by agent, action and verdict; the panel adds the
    period and the label answers (validated as typed), and the build keeps them."""
    review = on_review(qtbot, window)
    press(qtbot, window, Qt.Key.Key_D, CTRL_SHIFT)
    panel = review.datasets
    qtbot.waitUntil(lambda: panel.name_edit.hasFocus(), timeout=WAIT_MS)
    qtbot.keyClicks(panel.name_edit, "mistakes")
    qtbot.keyClicks(panel.answers_edit, "correct")
    assert not panel.build_button.isEnabled()
    assert "'correct' is not KEY=VALUE" in panel.name_problem.text()
    qtbot.keyClicks(panel.answers_edit, "=wrong harm=false")
    assert panel.build_button.isEnabled() and panel.name_problem.text() == ""
    panel.within.setCurrentIndex(panel.within.findText("Last 7 days"))
    assert "answers correct=\"wrong\", harm=false, last 7 days" in panel.filter_label.text()
    qtbot.keyClick(panel.answers_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "Built mistakes version 1" in panel.status.text(),
                    timeout=WAIT_MS)
    [built] = services.datasets.versions()
    assert built.examples == 1
    assert built.filter.answers == {"correct": "wrong", "harm": False}
    assert built.filter.since is not None
    assert abs(built.filter.since - (time.time() - 7 * 86_400)) < 60
    [example] = services.datasets.examples("mistakes", 1)
    assert example.key == f"action:{bo_labelled_two}"
