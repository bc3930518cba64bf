"""The right side of the Review workspace: the item as the Queue shows it, plus what
the operator decided, beside the rubric form.

    ┌ item #12 · action #40 · drawn by high-risk (pi 1) · 1 of 2 labels ──────────┐
    │ reasoning chain (trace inspector) │ the action      │ rubric form            │
    │                                   │ the decision +  │ correction · buttons   │
    │                                   │ the edit's diff │                        │
    └───────────────────────────────────┴─────────────────┴────────────────────────┘

A run reviewed without an action shows only the run in the inspector beside the form.
In a narrow window (the context narrower than `NARROW_CONTEXT`) the reasoning chain
and the action become two tabs of one place, so the form keeps its width.
The widgets are the Queue's and the Traces workspace's own (`TraceInspector`,
`ActionPanel`, `DiffView`); the verdict buttons and the deadline of the action panel
are hidden: a reviewer judges, they do not decide.
"""

from __future__ import annotations

import time
from typing import Any

from countersign.domain.review import ReviewItemDetail
from countersign.text import one_line

from ..inspector import TraceInspector
from ..palette import restyle, text_style
from ..qt.core import Qt, QTimer, Signal
from ..qt.gui import QResizeEvent
from ..qt.widgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from ..queue.banner import BannerKind, MessageBanner
from ..queue.detail import ActionPanel, RawArguments
from ..widgets.text import plain_tooltip
from .decision_view import DecisionView
from .reads import LoadedItem
from .rubric_form import RubricForm

#: Below this width of the item's context, the reasoning chain and the action share
#: one place as tabs instead of standing side by side.
NARROW_CONTEXT = 560
EMPTY_TEXT = "Nothing to label here — sampled actions and runs appear in the list"
LOADING_TEXT = "Loading the item…"


def describe_item(detail: ReviewItemDetail, reviewer: str, now: float) -> str:
    """The strip above the item: what it is, why it is here, its labels and claims."""
    item = detail.item
    subject = (f"action #{item.action_id}" if item.action_id is not None
               else f"run {(item.trace_id or '')[:16]}")
    why = (f"drawn by {one_line(item.rule or '', 60)} (pi {item.pi:g})"
           if item.pi is not None else
           f"added by hand{f' by {one_line(item.added_by, 40)}' if item.added_by else ''}"
           " (ad hoc: not counted in estimates)")
    parts = [f"Item #{item.id}", subject, why, f"{item.labels} of {item.needed} label(s)"]
    others = [label.reviewer for label in detail.labels if label.reviewer != reviewer]
    if others:
        parts.append("labelled by " + ", ".join(one_line(o, 40) for o in others))
    holders = [who for who in item.claimed_by if who != reviewer]
    if holders:
        parts.append("being labelled by " + ", ".join(one_line(h, 40) for h in holders))
    if detail.claim is not None:
        left = max(0, int(detail.claim.expires_at - now))
        parts.append(f"yours for {left // 60} min")
    return " · ".join(parts)


def read_only_reason(detail: ReviewItemDetail, reviewer: str) -> str | None:
    """Why ``reviewer`` cannot label the item now, or None when they can."""
    mine = next((label for label in detail.labels if label.reviewer == reviewer), None)
    if mine is not None:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(mine.created_at))
        return f"You labelled this item at {when}."
    if detail.item.state == "done":
        return "This item has all the labels it needs."
    return None


class ReviewItemPane(QWidget):
    """See the module docstring."""

    # Signals
    #: The Submit button was pressed (Enter does the same through the command).
    submitRequested = Signal()
    #: The Skip button was pressed.
    skipRequested = Signal()
    #: The Correction button was pressed.
    correctionRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reviewItemPane")
        self.loaded: LoadedItem | None = None
        self.header = QLabel(self)
        self.header.setObjectName("itemHeader")
        self.header.setTextFormat(Qt.TextFormat.PlainText)
        self.header.setWordWrap(True)
        restyle(self.header, lambda p: text_style("QLabel", p.muted))
        self.banner = MessageBanner(self)
        self.message = QLabel(EMPTY_TEXT, self)
        self.message.setObjectName("itemMessage")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        restyle(self.message, lambda p: text_style("QLabel", p.muted, "font-size: 14pt;"))
        self.inspector = TraceInspector(self)
        # Explicit minimums override the size hints (the inspector's wide toolbar, the
        # action's chips): kept small so the window can shrink until the pane switches
        # to tabs (below NARROW_CONTEXT), instead of the sum holding it wide.
        self.inspector.setMinimumWidth(150)
        # The run's one-line summary may be cut: the tree below says it all again.
        self.inspector.summary.setSizePolicy(QSizePolicy.Policy.Ignored,
                                             QSizePolicy.Policy.Preferred)
        self.action = ActionPanel(self)
        for button in self.action.buttons.values():
            button.hide()
        self.action.busy_label.hide()
        self.action.deadline_label.hide()
        # The decision view says what became of the action, and the header strip why
        # it is here; the long class name may be cut (its tooltip holds it whole).
        self.action.state_chip.hide()
        self.action.autonomy.hide()
        self.action.action_class.setSizePolicy(QSizePolicy.Policy.Ignored,
                                               QSizePolicy.Policy.Preferred)
        self.action.setMinimumSize(150, 160)
        self._narrow = False
        self.decision = DecisionView(self)
        self.decision.setMinimumHeight(90)
        self.form = RubricForm(self)
        self.correction_label = QLabel(self)
        self.correction_label.setObjectName("correctionLabel")
        self.correction_label.setTextFormat(Qt.TextFormat.PlainText)
        self.correction_label.setWordWrap(True)
        self.skip_button = self._button("Skip [S]", "skipButton",
                                        "Leave this item to another reviewer for now")
        self.correct_button = self._button("Correction… [C]", "correctionButton",
                                           "Give the expected arguments (or output) as JSON")
        self.submit_button = self._button("Submit label  [Enter]", "submitButton",
                                          "Record the answers and go to the next item")
        restyle(self.submit_button, lambda p: (
            f"QPushButton:enabled {{ background: {p.approve.background};"
            f" color: {p.approve.text}; font-weight: bold; border-radius: 4px;"
            " padding: 4px 14px; }"))
        self.skip_button.clicked.connect(self.skipRequested)
        self.correct_button.clicked.connect(self.correctionRequested)
        self.submit_button.clicked.connect(self.submitRequested)
        self._build()
        self.clear()

    def _button(self, text: str, name: str, tip: str) -> QPushButton:
        button = QPushButton(text, self)
        button.setObjectName(name)
        button.setToolTip(plain_tooltip(tip))
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setMinimumHeight(32)
        return button

    def _build(self) -> None:
        self.middle = QSplitter(Qt.Orientation.Vertical, self)
        self.middle.setObjectName("actionAndDecision")
        self.middle.setChildrenCollapsible(False)
        self.middle.addWidget(self.action)
        self.middle.addWidget(self.decision)
        self.middle.setStretchFactor(0, 3)
        self.middle.setStretchFactor(1, 2)
        self.context = QSplitter(Qt.Orientation.Horizontal, self)
        self.context.setObjectName("itemContext")
        self.context.setChildrenCollapsible(False)
        self.context.addWidget(self.inspector)
        self.context.addWidget(self.middle)
        self.context.setStretchFactor(0, 1)
        self.context.setStretchFactor(1, 1)
        self.context.setSizes([500, 500])
        self.context_tabs = QTabWidget(self)
        self.context_tabs.setObjectName("itemContextTabs")
        self.context_tabs.tabBar().setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.message)
        self.stack.addWidget(self.context)
        self.stack.addWidget(self.context_tabs)
        side = QWidget(self)
        side.setObjectName("labelSide")
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(8, 0, 0, 0)
        side_layout.addWidget(self.form, 1)
        side_layout.addWidget(self.correction_label)
        row = QHBoxLayout()
        row.addWidget(self.skip_button, 1)
        row.addWidget(self.correct_button, 1)
        side_layout.addLayout(row)
        side_layout.addWidget(self.submit_button)
        self.side = side
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("itemSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.stack)
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.splitterMoved.connect(lambda _pos, _index: self._check_narrow())
        side.setMinimumWidth(250)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.header)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)

    # -- content -------------------------------------------------------------------------

    def show_item(self, loaded: LoadedItem, reviewer: str, *, now: float | None = None
                  ) -> None:
        """Show ``loaded`` with an unanswered form (read-only when the reviewer cannot
        label it)."""
        now = time.time() if now is None else now
        self.loaded = loaded
        detail = loaded.detail
        self.header.setText(describe_item(detail, reviewer, now))
        if detail.action is not None:
            arguments = loaded.arguments
            if isinstance(arguments, RawArguments):
                self.action.show_action(detail.action, arguments.text, arguments.reason)
            else:
                self.action.show_action(detail.action, arguments, None)
            self.action.stop()
            self.action.deadline_label.hide()
            self.action.state_chip.hide()
            self.decision.show_decision(detail.decision, arguments, now=now)
            total = max(2, sum(self.middle.sizes()))
            share = 0.55 if self.decision.shown_diff() else 0.82
            self.middle.setSizes([int(total * share), total - int(total * share)])
            self.middle.show()
            self.inspector.show_run(loaded.spans, highlight_span_id=detail.action.span_id)
        else:
            self.middle.hide()
            self.inspector.show_run(loaded.spans)
        self._show_context()
        self.form.set_rubric(detail.rubric)
        self.set_correction(None)
        reason = read_only_reason(detail, reviewer)
        self.set_labelling(reason is None, reason)

    # -- narrow and wide ------------------------------------------------------------------

    @property
    def narrow(self) -> bool:
        return self._narrow

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        # Decided once the splitter has given out the new width (after this event).
        QTimer.singleShot(0, self._check_narrow)

    def _check_narrow(self) -> None:
        narrow = self.stack.width() < NARROW_CONTEXT
        if narrow != self._narrow:
            self._set_narrow(narrow)

    def _set_narrow(self, narrow: bool) -> None:
        """Move the inspector and the action between the splitter and the tabs."""
        self._narrow = narrow
        showing = self.stack.currentWidget() is not self.message
        if narrow:
            self.context_tabs.addTab(self.middle, "Action and decision")
            self.context_tabs.addTab(self.inspector, "Reasoning chain")
        else:
            self.context_tabs.clear()
            self.context.addWidget(self.inspector)
            self.context.addWidget(self.middle)
            self.inspector.show()
            self.middle.setVisible(self.loaded is None or self.loaded.detail.action is not None)
        if showing:
            self._show_context()

    def _show_context(self) -> None:
        if self._narrow:
            action = self.loaded is not None and self.loaded.detail.action is not None
            self.context_tabs.setTabVisible(0, action)
            self.context_tabs.setCurrentIndex(0 if action else 1)
            self.stack.setCurrentWidget(self.context_tabs)
        else:
            self.stack.setCurrentWidget(self.context)

    def refresh_header(self, reviewer: str) -> None:
        if self.loaded is not None:
            self.header.setText(describe_item(self.loaded.detail, reviewer, time.time()))

    def set_labelling(self, allowed: bool, reason: str | None = None) -> None:
        """Let the reviewer answer and submit, or say why they cannot."""
        self.form.setEnabled(allowed)
        for button in (self.skip_button, self.correct_button, self.submit_button):
            button.setEnabled(allowed)
        if allowed:
            if self.banner.kind is not BannerKind.ERROR:
                self.banner.hide_message()
        elif reason:
            self.banner.show_message(reason, BannerKind.INFO)

    def set_correction(self, value: Any) -> None:
        """Say whether a correction will go with the label."""
        if value is None:
            self.correction_label.setText("No correction: C gives the expected "
                                          + ("arguments" if self._is_action() else "output"))
            restyle(self.correction_label, lambda p: text_style("QLabel", p.muted))
        else:
            import json

            text = json.dumps(value, ensure_ascii=False)
            self.correction_label.setText(f"Correction: {one_line(text, 160)}")
            restyle(self.correction_label, lambda p: text_style("QLabel", p.accent))
        self.correction_label.setToolTip(plain_tooltip("" if value is None else str(value)))

    def _is_action(self) -> bool:
        return self.loaded is None or self.loaded.detail.action is not None

    def show_loading(self) -> None:
        self._show_message(LOADING_TEXT)

    def clear(self, text: str = EMPTY_TEXT) -> None:
        self._show_message(text)

    def _show_message(self, text: str) -> None:
        self.loaded = None
        self.header.setText("")
        self.action.stop()
        self.inspector.clear()
        self.decision.clear()
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)
        self.set_labelling(False)
        self.correction_label.setText("")
