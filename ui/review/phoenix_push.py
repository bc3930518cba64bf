"""Push a dataset version to a running Phoenix server, from the Datasets panel.

The URL is remembered for the running console only (never written to the
configuration); the API key is read from the ``PHOENIX_API_KEY`` environment variable
at the moment of pushing, or none is sent. It is never shown, stored or logged: the
service's `PhoenixError` sentences leave it out, and so does everything said here.
The upload runs off the GUI thread with a busy indicator; the answer (what Phoenix
created, updated and deleted, and where to see it) or the failure's one sentence is
shown as plain text.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..palette import restyle, text_style
from ..qt.core import Qt, QUrl, Signal
from ..qt.gui import QDesktopServices
from ..qt.widgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from countersign.domain.review import DatasetInfo
    from countersign.review.phoenix import PushResult
    from countersign.services.datasets import DatasetService

    from ..async_work import BackgroundWork

#: Where the API key comes from (nowhere else: not the configuration, not the keyring).
API_KEY_VARIABLE = "PHOENIX_API_KEY"
DEFAULT_URL = "http://localhost:6006"


class _SessionMemory:
    """What the push row keeps for the running console, and nowhere else."""

    url = ""


#: The URL last pushed to, for every Datasets panel of this process.
remembered = _SessionMemory()


def api_key_from_environment() -> str | None:
    return os.environ.get(API_KEY_VARIABLE, "").strip() or None


def push_version(datasets: DatasetService, name: str, version: int, url: str,
                 api_key: str | None) -> tuple[DatasetInfo, PushResult]:
    """Upload one stored version (off the GUI thread; `PhoenixError` naming the cause)."""
    return datasets.push(name, url, version=version, api_key=api_key)


class PhoenixPushRow(QWidget):
    """The URL, the Push button, the busy bar, and what came of the last push."""

    # Signals
    #: A one-line confirmation for the status bar.
    notice = Signal(str)
    #: A failure, one line.
    failed = Signal(str)
    #: A push finished: Phoenix's answer (`PushResult`).
    pushed = Signal(object)

    def __init__(self, work: BackgroundWork, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("phoenixPush")
        self._work = work
        self._datasets: DatasetService | None = None
        self._target: DatasetInfo | None = None
        self._busy = False
        self._link = ""
        self.url_edit = QLineEdit(remembered.url, self)
        self.url_edit.setObjectName("phoenixUrl")
        self.url_edit.setPlaceholderText(f"Phoenix server, e.g. {DEFAULT_URL}")
        self.url_edit.setClearButtonEnabled(True)
        self.push_button = QPushButton("Push", self)
        self.push_button.setObjectName("phoenixPushButton")
        self.busy_bar = QProgressBar(self)
        self.busy_bar.setObjectName("phoenixBusy")
        self.busy_bar.setRange(0, 0)  # no count to show: Phoenix answers once, at the end
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setFixedWidth(72)
        self.busy_bar.hide()
        self.result = QLabel(self)
        self.result.setObjectName("phoenixResult")
        self.result.setTextFormat(Qt.TextFormat.PlainText)
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_button = QPushButton("Open in Phoenix", self)
        self.open_button.setObjectName("phoenixOpen")
        self.open_button.hide()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.url_edit, 1)
        row.addWidget(self.push_button)
        row.addWidget(self.busy_bar)
        answer = QHBoxLayout()
        answer.setContentsMargins(0, 0, 0, 0)
        answer.addWidget(self.result, 1)
        answer.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addLayout(answer)
        self.url_edit.textChanged.connect(self._update)
        self.url_edit.returnPressed.connect(self.push)
        self.push_button.clicked.connect(self.push)
        self.open_button.clicked.connect(self._open)
        self._say_key()
        self._update()

    def attach(self, datasets: DatasetService) -> None:
        self._datasets = datasets
        self._update()

    def set_target(self, info: DatasetInfo | None) -> None:
        """The version a push uploads (the one selected in the panel's table)."""
        self._target = info
        self._update()

    @property
    def busy(self) -> bool:
        return self._busy

    def _update(self) -> None:
        target = self._target
        self.push_button.setText(f"Push version {target.version}" if target is not None
                                 else "Push")
        self.push_button.setEnabled(not self._busy and target is not None
                                    and self._datasets is not None
                                    and bool(self.url_edit.text().strip()))

    def _say(self, text: str, *, error: bool = False, ok: bool = False) -> None:
        self.result.setText(text)
        restyle(self.result, lambda p: text_style(
            "QLabel", p.error if error else p.ok if ok else p.muted))

    def _say_key(self) -> None:
        if api_key_from_environment() is not None:
            self._say(f"The API key is read from {API_KEY_VARIABLE} (it is not shown "
                      "or stored).")
        else:
            self._say(f"No API key: {API_KEY_VARIABLE} is not set. A Phoenix with "
                      "authentication on needs one.")

    def push(self) -> None:
        """Upload the selected version to the server at the URL, off the GUI thread."""
        target, datasets = self._target, self._datasets
        url = self.url_edit.text().strip()
        if target is None or datasets is None or not url or self._busy:
            return
        remembered.url = url
        key = api_key_from_environment()
        self._busy = True
        self._link = ""
        self.open_button.hide()
        self.busy_bar.show()
        self._update()
        # Not the URL as typed: it may carry a password.
        self._say(f"Pushing {target.name} version {target.version} "
                  f"({target.examples:,} examples) to Phoenix…")
        self._work.submit(push_version, datasets, target.name, target.version, url, key,
                          on_done=self._pushed, on_error=self._push_failed)

    def _finish(self) -> None:
        self._busy = False
        self.busy_bar.hide()
        self._update()

    def _pushed(self, answer: tuple[DatasetInfo, PushResult]) -> None:
        info, result = answer
        self._finish()
        self._link = result.url
        self.open_button.show()
        self._say(f"Pushed {info.name} version {info.version} to Phoenix: "
                  f"{result.created:,} created, {result.updated:,} updated, "
                  f"{result.deleted:,} deleted. {result.url}", ok=True)
        self.notice.emit(f"Pushed {info.name} version {info.version} to Phoenix")
        self.pushed.emit(result)

    def _push_failed(self, exc: BaseException) -> None:
        self._finish()
        message = str(exc) or type(exc).__name__
        self._say(f"Not pushed: {message}", error=True)
        self.failed.emit(f"Not pushed to Phoenix: {message}")

    def _open(self) -> None:
        if self._link:
            QDesktopServices.openUrl(QUrl(self._link))
