"""What the operator decided about the action under review: the verdict, who gave it
and when, the edit's severity and its diff against the proposed arguments (an edit is
the correction an operator made), the reason or the response. A reviewer judges the
action as proposed, but knowing what the operator did is half the context.
"""

from __future__ import annotations

import time
from typing import Any

from countersign.domain import DecisionRecord, Verdict
from countersign.text import age_text, one_line

from ..palette import Palette, restyle, text_style, tone_style
from ..qt.core import Qt
from ..qt.widgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget
from ..widgets.diff import DiffView, json_diff, pretty_json
from ..widgets.text import PlainTextView
from .rows import VERDICT_TEXT


def describe_decision(decision: DecisionRecord | None, now: float) -> str:
    """One line: ``Edited (material) by ann · 4m 10s ago``."""
    if decision is None:
        return "No verdict recorded for this action."
    verdict = VERDICT_TEXT.get(decision.verdict.value, decision.verdict.value).capitalize()
    severity = f" ({decision.severity.value})" if decision.severity is not None else ""
    who = ("by the autonomy policy" if decision.verdict is Verdict.AUTO_APPROVE
           else f"by {one_line(decision.reviewer, 60)}")
    return f"{verdict}{severity} {who} · {age_text(now - decision.decided_at)} ago"


def edit_diff(proposed: Any, decision: DecisionRecord | None) -> str:
    """The unified diff from the proposed to the edited arguments, or "" without an edit
    (or when the stored edit is not JSON)."""
    if decision is None or decision.verdict is not Verdict.EDIT or not decision.arguments_json:
        return ""
    import json

    try:
        edited = json.loads(decision.arguments_json)
    except ValueError:
        return ""
    diff = json_diff(pretty_json(proposed), pretty_json(edited), context=2)
    if not diff:
        return "(the edit changed nothing)"
    # The file header lines ("--- original", "+++ edited") say nothing the title does not.
    lines = diff.splitlines()
    while lines and lines[0].startswith(("---", "+++")):
        lines.pop(0)
    return "\n".join(lines)


def _chip(verdict: Verdict | None) -> Any:
    def style(palette: Palette) -> str:
        tone = palette.chip
        if verdict is Verdict.EDIT:
            tone = palette.warning_banner
        elif verdict is Verdict.REJECT:
            tone = palette.error_banner
        elif verdict in (Verdict.APPROVE, Verdict.AUTO_APPROVE):
            tone = palette.info_banner
        return tone_style("QLabel", tone, "border-radius: 4px; padding: 3px 8px;"
                          " font-weight: bold;")
    return style


class DecisionView(QWidget):
    """See the module docstring."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("decisionView")
        self.heading = QLabel("What the operator decided", self)
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        font = self.heading.font()
        font.setBold(True)
        self.heading.setFont(font)
        self.heading.setWordWrap(True)
        self.setMinimumWidth(150)  # its labels wrap; the pane may switch to tabs below
        self.verdict = QLabel(self)
        self.verdict.setObjectName("decisionVerdict")
        self.verdict.setTextFormat(Qt.TextFormat.PlainText)
        self.verdict.setWordWrap(True)
        self.message = PlainTextView(self)
        self.message.setObjectName("decisionMessage")
        self.message.setMaximumHeight(70)
        self.diff_title = QLabel("The edit, against the proposed arguments", self)
        self.diff_title.setTextFormat(Qt.TextFormat.PlainText)
        self.diff_title.setWordWrap(True)
        restyle(self.diff_title, lambda p: text_style("QLabel", p.muted))
        self.diff = DiffView(self)
        self.diff.setObjectName("editDiff")
        # A narrow column: long argument values wrap rather than hide off to the right.
        self.diff.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.heading)
        layout.addWidget(self.verdict)
        layout.addWidget(self.message)
        layout.addWidget(self.diff_title)
        layout.addWidget(self.diff, 1)
        self.clear()

    def show_decision(self, decision: DecisionRecord | None, proposed: Any, *,
                      now: float | None = None) -> None:
        now = time.time() if now is None else now
        self.verdict.setText(describe_decision(decision, now))
        restyle(self.verdict, _chip(decision.verdict if decision else None))
        text = ""
        if decision is not None:
            if decision.reason:
                text = f"Reason: {decision.reason}"
            elif decision.response:
                text = f"Response to the agent: {decision.response}"
        self.message.set_text(text)
        self.message.setVisible(bool(text))
        diff = edit_diff(proposed, decision)
        self.diff.set_text(diff)
        self.diff.setVisible(bool(diff))
        self.diff_title.setVisible(bool(diff))

    def shown_diff(self) -> str:
        return self.diff.shown_text() if self.diff.isVisible() else ""

    def clear(self) -> None:
        self.verdict.setText("")
        self.message.clear()
        self.message.hide()
        self.diff.clear()
        self.diff.hide()
        self.diff_title.hide()
