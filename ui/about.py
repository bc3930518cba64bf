"""Help → About: the version, the Qt binding, the store, and the audit log's current
head (``SEQ:HASH``, issue 10) — selectable and copyable, to keep somewhere the
database's owner cannot rewrite and check later with ``countersign audit verify
--expect SEQ:HASH``. The head is read off the GUI thread; the box opens at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .qt import BINDING, is_alive
from .qt.core import Qt, Signal
from .qt.gui import QGuiApplication
from .qt.widgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from .widgets.text import monospace_font

if TYPE_CHECKING:
    from countersign.services.audit import AuditHead
    from countersign.store.engine import Store

    from .async_work import BackgroundWork

READING = "reading…"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("countersign")
    except PackageNotFoundError:
        return "development"


def _value(text: str, name: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                  | Qt.TextInteractionFlag.TextSelectableByKeyboard)
    label.setWordWrap(True)
    return label


class AboutDialog(QDialog):
    """See the module docstring."""

    # Signals
    #: The audit head was read and is on show (its ``SEQ:HASH``), or could not be ("").
    headShown = Signal(str)

    def __init__(self, parent: QWidget | None, store_text: str) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About Countersign")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        intro = QLabel(f"Countersign {_version()}\n\nReview what AI agents want to do before "
                       "they do it.")
        intro.setTextFormat(Qt.TextFormat.PlainText)
        # Read-only line: selectable and copyable from the keyboard, never cut off.
        self.head = QLineEdit(READING)
        self.head.setObjectName("auditHead")
        self.head.setReadOnly(True)
        self.head.setFont(monospace_font())
        self.head.setMinimumWidth(self.head.fontMetrics().horizontalAdvance("0" * 72))
        self.head.setToolTip("The audit log's newest event, SEQ:HASH. Keep it outside the "
                             "database; `countersign audit verify --expect SEQ:HASH` fails "
                             "if the log no longer holds it.")
        self.copy_button = QPushButton("&Copy head")
        self.copy_button.setObjectName("copyAuditHead")
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy_head)
        head_row = QHBoxLayout()
        head_row.addWidget(self.head, 1)
        head_row.addWidget(self.copy_button)
        form = QFormLayout()
        form.addRow("Store", _value(store_text, "aboutStore"))
        form.addRow("Audit head", head_row)
        form.addRow("Qt binding", _value(BINDING, "aboutBinding"))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def read_head(self, work: BackgroundWork, store: Store | None) -> None:
        """Read the audit head off the GUI thread, then show it."""
        if store is None:
            self._failed("the store is not open yet")
            return
        from countersign.services.audit import head

        work.submit(head, store, on_done=self._shown, on_error=self._failed)

    def _shown(self, found: AuditHead) -> None:
        if not is_alive(self):
            return  # closed before the store answered
        self.head.setText(found.anchor)
        self.head.setCursorPosition(0)
        self.copy_button.setEnabled(True)
        self.head.setFocus(Qt.FocusReason.OtherFocusReason)
        self.head.selectAll()
        self.headShown.emit(found.anchor)

    def _failed(self, exc: BaseException | str) -> None:
        if not is_alive(self):
            return
        self.head.setText(f"not available: {exc}")
        self.headShown.emit("")

    def copy_head(self) -> None:
        QGuiApplication.clipboard().setText(self.head.text())
