"""The action's trace id, selectable and copyable: what finds its run in Traces, in
``countersign trace show`` and in the agent's own tracing backend."""

from __future__ import annotations

from ...palette import restyle, text_style
from ...qt.core import Qt, Signal
from ...qt.gui import QGuiApplication
from ...qt.widgets import QHBoxLayout, QLabel, QToolButton, QWidget
from ...widgets.text import monospace_font, plain_tooltip

NO_TRACE = "No trace: the agent sent no reasoning with this action"


class TraceLine(QWidget):
    """"Trace 4bf92f35…  [Copy]": the id selectable by mouse and keyboard."""

    # Signals
    #: The id was copied to the clipboard (for the status bar).
    copied = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.trace_id: str | None = None
        caption = QLabel("Trace", self)
        caption.setTextFormat(Qt.TextFormat.PlainText)
        restyle(caption, lambda p: text_style("QLabel", p.muted))
        self.label = QLabel(self)
        self.label.setObjectName("traceId")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                           | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        font = monospace_font()
        font.setPointSizeF(self.label.font().pointSizeF())
        self.label.setFont(font)
        self.copy_button = QToolButton(self)
        self.copy_button.setObjectName("copyTraceId")
        self.copy_button.setText("Copy")
        self.copy_button.setAutoRaise(True)
        self.copy_button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.copy_button.setToolTip(plain_tooltip("Copy the trace id (Ctrl+C)"))
        self.copy_button.clicked.connect(self.copy)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(caption)
        layout.addWidget(self.label)
        layout.addWidget(self.copy_button)
        layout.addStretch(1)

    def set_trace(self, trace_id: str | None) -> None:
        self.trace_id = trace_id or None
        # A trace id is hex from the wire, but the store keeps what a source sent.
        self.label.setText(self.trace_id if self.trace_id else NO_TRACE)
        self.label.setEnabled(self.trace_id is not None)
        self.copy_button.setEnabled(self.trace_id is not None)

    def copy(self) -> str | None:
        """Put the trace id on the clipboard; returns it (None: there is none)."""
        if self.trace_id is None:
            return None
        QGuiApplication.clipboard().setText(self.trace_id)
        self.copied.emit(self.trace_id)
        return self.trace_id

