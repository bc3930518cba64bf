"""The status bar cuts a long error at a word (the whole text in a plain tooltip) and
never makes the window grow; a source's error reads as words; Help → About shows the
audit log's head (SEQ:HASH), read off the GUI thread, selectable and copyable."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSize
from PySide6.QtWidgets import QApplication, QLineEdit
from pytestqt.qtbot import QtBot

from countersign.runtime import SourceHealth, SourceStatus
from countersign.services import audit
from countersign.services.actions import ActionRequest
from countersign.session import Services
from countersign_ui.async_work import BackgroundWork
from countersign_ui.elided_label import MAX_WIDTH, elide_at_word
from countersign_ui.main_window import STORE_WIDTH, MainWindow

from .conftest import alive, dispose, open_test_services

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
WAIT_MS = 10_000
LONG = ("prod: Cannot connect to the server at http://10.0.0.7:2024: the connection was "
        "refused or dropped. Check that the server is running and that the host and port "
        "are right, then <b>test</b> the connection again.")


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    opened = open_test_services(tmp_path / "bar.db")
    yield opened
    opened.close()


@pytest.fixture
def window(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop,
           services: Services) -> Iterator[MainWindow]:
    work = BackgroundWork(qasync_loop)
    win = MainWindow(work)
    qtbot.addWidget(win)
    win.show()
    win.attach(services)
    yield win
    if alive(win):
        win.shutdown()
    work.shutdown()
    dispose(win)


def test_words_are_never_cut_in_half() -> None:
    fits = lambda limit: lambda s: len(s) <= limit  # noqa: E731 - one character, one unit
    assert elide_at_word("the connection was refused", fits(40)) == "the connection was refused"
    assert elide_at_word("the connection was refused", fits(18)) == "the connection…"
    assert elide_at_word("first line\nsecond line", fits(40)) == "first line"
    assert elide_at_word("unbreakable-identifier-here", fits(10)) == "unbreakab…"
    assert elide_at_word("host: refused", fits(8)) == "host…"  # no dangling colon


def test_a_long_error_is_cut_at_a_word_and_whole_in_a_plain_tooltip(
        qtbot: QtBot, window: MainWindow) -> None:
    small = QSize(1024, 640)
    window.resize(small)
    qtbot.waitUntil(lambda: window.size() == small, timeout=WAIT_MS)
    window.show_error(LONG)
    label = window.error_label
    qtbot.waitUntil(lambda: label.text().endswith("…"), timeout=WAIT_MS)
    shown = label.text()[:-1]
    assert LONG.startswith(shown) and LONG[len(shown)] == " "  # ends where a word ends
    assert label.width() <= MAX_WIDTH
    assert label.fontMetrics().horizontalAdvance(label.text()) <= label.contentsRect().width()
    tip = label.toolTip()
    assert "&lt;b&gt;test&lt;/b&gt;" in tip and "<b>test" not in tip  # literal, never HTML
    assert "the connection again." in tip
    assert window.size() == small  # the window did not grow for it
    window.resize(1440, 900)
    qtbot.waitUntil(lambda: label.width() > 400, timeout=WAIT_MS)
    assert len(label.text()) > len(shown)  # more room, more words


def test_a_source_error_reads_as_words_with_the_detail_in_the_tooltip(
        window: MainWindow) -> None:
    window.set_source_health(SourceHealth(
        "lg", status=SourceStatus.FAILING,
        last_error="ConnectionError: GET /ok: ConnectError('All connection attempts failed')"))
    label = window.error_label
    assert label.full_text == ("lg: Cannot connect to the server: the connection was refused "
                               "or dropped. Check that the server is running and that the "
                               "host and port are right.")
    assert "Details: ConnectionError: GET /ok: ConnectError(" in label.toolTip()
    assert "lg: failing" in window.health_label.text()


def test_about_shows_the_audit_head_read_off_the_gui_thread(
        qtbot: QtBot, window: MainWindow, services: Services,
        monkeypatch: pytest.MonkeyPatch) -> None:
    services.actions.request(ActionRequest(agent="mail-bot", action_class="send_mail",
                                           source_ref="a-1", arguments={"to": "x@y.z"}))
    expected = audit.head(services.store)
    assert expected.sequence >= 1
    threads: list[threading.Thread] = []
    real_head = audit.head

    def head(store: object) -> audit.AuditHead:
        threads.append(threading.current_thread())
        return real_head(store)  # type: ignore[arg-type]

    monkeypatch.setattr(audit, "head", head)
    box = window.show_about()
    with qtbot.waitSignal(box.headShown, timeout=WAIT_MS) as shown:
        pass
    assert shown.args == [expected.anchor]
    assert re.fullmatch(r"\d+:[0-9a-f]{64}", expected.anchor)
    assert threads and threads[0] is not threading.main_thread()
    field = box.head
    assert isinstance(field, QLineEdit) and field.isReadOnly()
    assert field.text() == expected.anchor
    assert field.selectedText() == expected.anchor  # selected, ready to copy
    box.copy_button.click()
    assert QApplication.clipboard().text() == expected.anchor
    box.close()
    qtbot.waitUntil(lambda: window.about_box is None, timeout=WAIT_MS)


def test_a_long_notice_is_cut_at_a_word_and_a_short_one_is_whole(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    small = QSize(1024, 640)
    window.resize(small)
    qtbot.waitUntil(lambda: window.size() == small, timeout=WAIT_MS)
    window.show_error("prod: the server is not answering")  # the bar has less room
    bar = window.statusBar()
    notice = ("Sent run 4bf92f3577b34da6a3ce929d0e0e4736 to review: item #12, answered with "
              "the run rubric by the reviewers of the support team before the end of the week")
    window.show_notice(notice)
    shown = bar.currentMessage()
    assert shown.endswith("…") and notice.startswith(shown[:-1]) and notice[len(shown) - 1] == " "
    assert "end of the week" in bar.toolTip()
    window.show_notice("Approved: billing-bot · refund (#1)")
    assert bar.currentMessage() == "Approved: billing-bot · refund (#1)"
    assert bar.toolTip() == ""
    assert window.size() == small
    # A long store path gives up its middle, not the bar: the whole path in the tooltip.
    store = window.store_label
    assert store.width() <= STORE_WIDTH and store.text().endswith("bar.db")
    assert str(tmp_path) in store.toolTip()
