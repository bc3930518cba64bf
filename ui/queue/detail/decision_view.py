"""What became of an action that is no longer pending, for the Queue's History: who
decided what and when, the reason or response, the edit as a diff against what the
agent proposed, and whether the agent has received it.

`decision_sections` composes the words (plain Python, tested without a window); the
widget shows them with the edit's diff below.
"""

from __future__ import annotations

import json
import time

from countersign.domain import ActionDetail, ActionState, DecisionRecord, DeliveryState, Verdict
from countersign.text import age_text

from ...qt.gui import QResizeEvent
from ...qt.widgets import QVBoxLayout, QWidget
from ...widgets.diff import DiffView, json_diff, pretty_json
from ...widgets.text import PlainTextView, Section

_DONE = {
    Verdict.APPROVE: "Approved",
    Verdict.EDIT: "Edited, then approved",
    Verdict.REJECT: "Rejected",
    Verdict.RESPOND: "Answered with a response",
    Verdict.IGNORE: "Ignored",
    Verdict.AUTO_APPROVE: "Approved automatically",
    Verdict.EXPIRE: "Expired: no verdict before its deadline",
    Verdict.SHADOW: "Shadowed (recorded, not executed)",
}
_DELIVERY = {
    DeliveryState.PENDING: "waiting to be sent to the agent",
    DeliveryState.DELIVERED: "delivered to the agent",
    DeliveryState.FAILED: "could not be delivered",
    DeliveryState.STALE: "not sent: the agent no longer waits for it",
}


def when_text(at: float, now: float) -> str:
    """``2026-12-02 14:03:05 (3m ago)`` in local time."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))
    return f"{stamp} ({age_text(max(0.0, now - at))} ago)"


def decision_sections(detail: ActionDetail, record: DecisionRecord | None,
                      now: float) -> list[Section]:
    """The History's account of ``detail``: the outcome, then any reason or response."""
    if record is None:
        if detail.state is ActionState.WITHDRAWN:
            why = detail.error or "the agent no longer waits for it"
            return [Section("Withdrawn by its source", why)]
        if detail.state is ActionState.PENDING:
            return [Section("Pending", "No verdict yet.")]
        return [Section(detail.state.value.replace("_", " ").capitalize(),
                        "No decision is recorded for this action.")]
    lines = [f"{_DONE.get(record.verdict, record.verdict.value)} by {record.reviewer} "
             f"at {when_text(record.decided_at, now)}"]
    if record.severity is not None:
        lines.append(f"Edit judged {record.severity.value}")
    delivery = _DELIVERY.get(record.delivery_state, record.delivery_state.value)
    if record.delivery_state is DeliveryState.DELIVERED and record.delivered_at is not None:
        delivery += f" at {when_text(record.delivered_at, now)}"
    lines.append(f"Delivery: {delivery}")
    sections = [Section("Decision", "\n".join(lines))]
    if record.reason:
        sections.append(Section("Reason given to the agent", record.reason))
    if record.response:
        sections.append(Section("Response sent to the agent", record.response))
    if detail.error and record.delivery_state is not DeliveryState.DELIVERED:
        sections.append(Section("Last error", detail.error, error=True))
    return sections


def edit_diff(detail: ActionDetail, record: DecisionRecord | None) -> str:
    """The edit as a unified diff against the proposed arguments ("" without one)."""
    if record is None or record.verdict is not Verdict.EDIT or record.arguments_json is None:
        return ""
    try:
        before = pretty_json(json.loads(detail.arguments_json))
        after = pretty_json(json.loads(record.arguments_json))
    except ValueError:
        return json_diff(detail.arguments_json, record.arguments_json)
    return json_diff(before, after)


#: The account grows with its text up to this many lines, then scrolls; the diff too.
SUMMARY_LINES = 9
DIFF_LINES = 12


class DecisionView(QWidget):
    """The outcome above, the edit's diff below (only for an edit), each as tall as
    its text up to a few lines."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("decisionView")
        self.summary = PlainTextView(self)
        self.summary.setObjectName("decisionSummary")
        self.diff = DiffView(self)
        self.diff.setObjectName("decisionDiff")
        self.diff.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.summary)
        layout.addWidget(self.diff)

    def show_decision(self, detail: ActionDetail, record: DecisionRecord | None) -> None:
        self.summary.set_sections(decision_sections(detail, record, time.time()))
        diff = edit_diff(detail, record)
        self.diff.set_text(diff)
        self.diff.setVisible(bool(diff))
        self._fit()

    def _fit(self) -> None:
        width = self.contentsRect().width()
        self.summary.fit_height(width, SUMMARY_LINES, min(3, SUMMARY_LINES))
        self.diff.fit_height(width, DIFF_LINES, 3)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def text(self) -> str:
        """What it shows, as plain text (for tests)."""
        parts = [self.summary.shown_text()]
        if self.diff.isVisibleTo(self):
            parts.append(self.diff.shown_text())
        return "\n".join(parts)
