"""The side-by-side view of one pending action: the agent's reasoning chain on the
left, the proposed action and the verdict buttons on the right.

`show_action` receives arguments already parsed (the caller parses megabyte JSON off
the GUI thread); everything here is lazy or capped, so showing an action costs a few
milliseconds whatever its size.

On a small screen (1024 × 640) the action goes below its reasoning, and the reasoning
scrolls inside its share rather than asking for its full height: the action and its
verdict buttons always get the room they need, and the window never grows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from countersign.domain import ActionDetail, ActionState, DecisionRecord, SpanRecord

from ...inspector import TraceInspector
from ...palette import restyle, text_style
from ...qt.core import Qt, Signal
from ...qt.widgets import QLabel, QStackedWidget, QVBoxLayout, QWidget
from ...widgets.adaptive import AdaptiveSplitter, VerticalScrollArea
from .action_panel import ActionPanel

EMPTY_TEXT = "Select an action to see why the agent proposed it"
LOADING_TEXT = "Loading the action and its reasoning…"


@dataclass(frozen=True)
class RawArguments:
    """Arguments that could not be (or were not) parsed: shown as text with why."""

    text: str
    reason: str


class ActionDetailPane(QWidget):
    """Reasoning chain | proposed action, or a one-line message when there is none."""

    #: A verdict button was pressed; carries "approve", "edit", "reject" or "respond".
    verdict_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("actionDetailPane")
        self.message = QLabel(EMPTY_TEXT, self)
        self.message.setObjectName("detailMessage")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        restyle(self.message, lambda p: text_style("QLabel", p.muted, "font-size: 14pt;"))
        #: The reasoning chain: the run in the trace inspector, proposing span highlighted.
        self.reasoning = TraceInspector(self)
        #: The reasoning scrolls when its share is smaller than it needs.
        self.reasoning_area = VerticalScrollArea(self.reasoning, self)
        self.reasoning_area.setObjectName("reasoningArea")
        self.action = ActionPanel(self)
        self.action.verdict_requested.connect(self.verdict_requested)
        # Side by side; on a narrow window the reasoning goes above the action.
        self.splitter = AdaptiveSplitter(self, first_share=0.35)
        self.splitter.setObjectName("detailSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.reasoning_area)
        self.splitter.addWidget(self.action)
        self.splitter.setStretchFactor(0, 9)
        self.splitter.setStretchFactor(1, 11)
        # The action is what is being decided: it gets the larger share at first.
        self.splitter.setSizes([620, 820])
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.message)
        self.stack.addWidget(self.splitter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.stack)
        self.detail: ActionDetail | None = None
        self.action.set_allowed(set())

    def show_action(self, detail: ActionDetail, spans: list[SpanRecord], arguments: Any) -> None:
        """Show ``detail`` with its reasoning ``spans``. ``arguments`` is the parsed
        JSON value, or a `RawArguments` when parsing failed or was refused.

        The verdicts the action allows become the enabled buttons (none unless it is
        pending); `set_allowed` narrows them further. The busy state is left as is.
        """
        self.detail = detail
        if isinstance(arguments, RawArguments):
            self.action.show_action(detail, arguments.text, arguments.reason)
        else:
            self.action.show_action(detail, arguments, None)
        self.reasoning.show_run(spans, highlight_span_id=detail.span_id)
        pending = detail.state is ActionState.PENDING
        self.action.set_allowed({v.value for v in detail.allowed_verdicts} if pending else set())
        self.stack.setCurrentWidget(self.splitter)

    def show_decision(self, record: DecisionRecord | None) -> None:
        """What became of the action shown (the History): under its arguments."""
        if self.detail is not None:
            self.action.show_decision(self.detail, record)

    def show_hint(self, text: str) -> None:
        """Why a verdict key did not decide, above the buttons."""
        if self.detail is not None:
            self.action.show_hint(text)

    def set_confirming(self, verdict: str) -> None:
        """The verdict a critical action waits to have confirmed ("" for none)."""
        self.action.set_confirming(verdict)

    def show_loading(self) -> None:
        self._show_message(LOADING_TEXT)

    def clear(self) -> None:
        self._show_message(EMPTY_TEXT)

    def set_busy(self, busy: bool, text: str = "") -> None:
        """Disable the verdict buttons while a decision is being recorded."""
        self.action.set_busy(busy, text)

    def set_allowed(self, verdicts: set[str]) -> None:
        """Enable only the verdict buttons named in ``verdicts``."""
        self.action.set_allowed(verdicts)

    def _show_message(self, text: str) -> None:
        self.detail = None
        self.action.stop()
        self.action.set_allowed(set())
        self.reasoning.clear()
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)
