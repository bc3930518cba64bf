"""Pushing a dataset version to Phoenix from the Datasets panel, against tiny local
servers that answer like Phoenix's upload endpoint (and one that answers 500): the
upload runs off the GUI thread with a busy bar, the API key comes from the
environment and is never shown or logged, the URL is remembered for the session, and
the answer or the failure's sentence is shown plainly."""

from __future__ import annotations

import logging

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from countersign.domain.review import DatasetFilter
from countersign.session import Services
from countersign_ui.main_window import MainWindow
from countersign_ui.palette import colours
from countersign_ui.review import phoenix_push
from countersign_ui.review.datasets_panel import DatasetsPanel
from countersign_ui.review.workspace import ReviewWorkspace

from ..test_queue_e2e import WAIT_MS, press, window  # noqa: F401 - fixture
from .phoenix_stand_in import DATASET_ID, serve
from .test_review_workspace import CTRL_SHIFT, on_review, services  # noqa: F401

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
KEY = "phx-secret-5f2c9a1d7e"


@pytest.fixture(autouse=True)
def _forget_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts a new console session as far as the remembered URL goes."""
    monkeypatch.setattr(phoenix_push.remembered, "url", "")


def on_datasets(qtbot: QtBot, window: MainWindow,  # noqa: F811
                services: Services) -> DatasetsPanel:  # noqa: F811
    services.datasets.build("refunds", DatasetFilter(), actor="ann")
    review = on_review(qtbot, window)
    press(qtbot, window, Qt.Key.Key_D, CTRL_SHIFT)
    panel = window.workspace(ReviewWorkspace).datasets
    qtbot.waitUntil(lambda: panel.selected() is not None, timeout=WAIT_MS)
    assert review.pages.currentWidget() is panel
    return panel


def test_a_push_uploads_the_selected_version_with_the_key_from_the_environment(
        qtbot: QtBot, window: MainWindow, services: Services,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("PHOENIX_API_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    panel = on_datasets(qtbot, window, services)
    push = panel.phoenix
    assert not push.push_button.isEnabled()  # no URL yet
    with serve(hold=True) as (url, received):
        push.url_edit.setText(url)
        assert push.push_button.text() == "Push version 1" and push.push_button.isEnabled()
        push.push_button.click()
        # The server holds the request: the window is free and says it is busy.
        qtbot.waitUntil(received.arrived.is_set, timeout=WAIT_MS)
        assert push.busy and push.busy_bar.isVisible() and not push.push_button.isEnabled()
        assert "Pushing refunds version 1 (3 examples)" in push.result.text()
        received.release.set()
        qtbot.waitUntil(lambda: not push.busy, timeout=WAIT_MS)
    assert push.result.text() == (
        "Pushed refunds version 1 to Phoenix: 3 created, 0 updated, 0 deleted. "
        f"{url}/datasets/{DATASET_ID}")
    assert colours().ok in push.result.styleSheet() and push.open_button.isVisible()
    assert not push.busy_bar.isVisible() and push.push_button.isEnabled()
    assert received.paths == ["/v1/datasets/upload?sync=true"]
    assert received.authorizations == [f"Bearer {KEY}"]
    [body] = received.bodies
    assert body["name"] == "refunds" and body["action"] == "update"
    assert sorted(body["example_ids"]) == sorted(
        e.key for e in services.datasets.examples("refunds", 1))
    # The key is never shown, logged, or kept in the configuration.
    assert KEY not in push.result.text() and KEY not in caplog.text
    assert KEY not in repr(services.config)
    # The URL is remembered for the session (another panel starts with it), not saved.
    other = DatasetsPanel(window.workspace(ReviewWorkspace).work)
    try:
        assert other.phoenix.url_edit.text() == url
    finally:
        other.deleteLater()
    assert url not in repr(services.config)


def test_a_server_answering_500_is_said_in_one_plain_sentence(
        qtbot: QtBot, window: MainWindow, services: Services,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PHOENIX_API_KEY", raising=False)
    panel = on_datasets(qtbot, window, services)
    push = panel.phoenix
    assert push.result.text().startswith("No API key: PHOENIX_API_KEY is not set")
    with serve(500) as (url, received):
        push.url_edit.setText(url)
        push.url_edit.setFocus()
        press(qtbot, window, Qt.Key.Key_Return)  # Enter in the URL pushes
        qtbot.waitUntil(lambda: push.result.text().startswith("Not pushed"),
                        timeout=WAIT_MS)
    assert push.result.text() == (
        f"Not pushed: Phoenix at {url} answered HTTP 500 Internal Server Error: "
        "Internal Server Error Traceback: database is locked")
    assert push.result.textFormat() == Qt.TextFormat.PlainText
    assert colours().error in push.result.styleSheet()
    assert received.authorizations == [None]  # no key in the environment: none sent
    assert not push.open_button.isVisible() and push.push_button.isEnabled()
    qtbot.waitUntil(lambda: "answered HTTP 500" in window.error_label.toolTip(),
                    timeout=WAIT_MS)


def test_a_server_that_is_down_and_a_bad_url_are_named(
        qtbot: QtBot, window: MainWindow, services: Services) -> None:  # noqa: F811
    panel = on_datasets(qtbot, window, services)
    push = panel.phoenix
    with serve() as (url, _received):
        pass  # closed again: nothing listens on its port now
    push.url_edit.setText(url)
    push.push()
    qtbot.waitUntil(lambda: "refused" in push.result.text(), timeout=WAIT_MS)
    assert push.result.text().startswith(f"Not pushed: could not reach Phoenix at {url}")
    push.url_edit.setText("localhost:6006")
    push.push()
    qtbot.waitUntil(lambda: "must start with http://" in push.result.text(),
                    timeout=WAIT_MS)
