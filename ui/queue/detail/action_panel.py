"""The proposed action, as the operator must read it before giving a verdict: what
(action class, arguments, each one's whole value), who (agent and version), how
risky, under which autonomy level, by when, its trace id, and anything suspicious
about it (hidden characters, repairs made at ingest), with the verdict buttons at the
bottom and, above them, why a key press did not decide ("Look first…", "Press A
again…"). For an action that is no longer pending (the History), what became of it.
"""

from __future__ import annotations

import json
import time
from typing import Any

from countersign.domain import ActionDetail, ActionState, DecisionRecord, Verdict
from countersign.text import one_line

from ...palette import Palette, Tone, restyle, strip_style, text_style
from ...qt.core import QEvent, QObject, QRect, Qt, QTimer, Signal
from ...qt.widgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from ...widgets.adaptive import VerticalScrollArea
from ...widgets.text import PlainTextView, plain_tooltip
from .argument_reader import ArgumentReader
from .decision_view import DecisionView
from .format import describe_deadline
from .hidden import HiddenFindings, find_hidden, find_hidden_in_text, might_hide
from .trace_line import TraceLine

#: The description box grows with its text up to this many lines, then scrolls.
DESCRIPTION_LINES = 6
#: How long a hint above the verdict buttons stays ("Look first: …").
HINT_MS = 4_000


def _deadline_colour(palette: Palette, urgency: str) -> str:
    """Muted without a deadline, the usual text colour while there is time, then
    warning and error."""
    return {"none": palette.muted, "soon": palette.warning,
            "overdue": palette.error}.get(urgency, "palette(window-text)")

#: Verdict → (button text, shortcut key, tooltip).
VERDICT_BUTTONS: dict[Verdict, tuple[str, str, str]] = {
    Verdict.APPROVE: ("Approve", "A", "Let the agent do exactly this"),
    Verdict.EDIT: ("Edit…", "E", "Change the arguments, then let the agent go ahead"),
    Verdict.REJECT: ("Reject…", "R", "Refuse, with a reason the agent and the log will see"),
    Verdict.RESPOND: ("Respond…", "S", "Send the agent a message instead of a verdict"),
}


def plain_label(parent: QWidget, text: str = "", *, name: str = "") -> QLabel:
    """A QLabel that can never interpret what it shows as rich text."""
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    if name:
        label.setObjectName(name)
    if text:
        label.setText(text)
    return label


def chip_style(tone: Tone) -> str:
    return (f"QLabel {{ background: {tone.background}; color: {tone.text};"
            " border-radius: 4px; padding: 2px 8px; font-weight: bold; }")


class ActionPanel(QWidget):
    """The right-hand half of the detail pane."""

    #: A verdict button was pressed; carries the `Verdict` value ("approve", …).
    verdict_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._deadline: float | None = None
        self._urgency = ""
        self._allowed: set[str] = set()
        self._busy = False
        self.action_class = plain_label(self, name="actionClass")
        font = self.action_class.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.action_class.setFont(font)
        self.risk_badge = plain_label(self, name="riskBadge")
        self.autonomy = plain_label(self, name="autonomyLevel")
        restyle(self.autonomy, lambda p: chip_style(p.chip))
        self.state_chip = plain_label(self, name="actionState")
        restyle(self.state_chip, lambda p: chip_style(p.chip_strong))
        self.agent = plain_label(self, name="agentLine")
        restyle(self.agent, lambda p: text_style("QLabel", p.muted))
        self.deadline_label = plain_label(self, name="deadline")
        self.warning_banner = plain_label(self, name="warningBanner")
        self.warning_banner.setWordWrap(True)
        restyle(self.warning_banner,
                lambda p: strip_style("QLabel", p.warning_banner, "6px 8px"))
        self.trace = TraceLine(self)
        self.description = PlainTextView(self)
        self.description.setObjectName("description")
        self.reader = ArgumentReader(self)
        #: The JSON tree (or raw text) of the arguments.
        self.arguments = self.reader.arguments
        #: What became of an action no longer pending (the History), at the top.
        self.decision = DecisionView(self)
        self.decision.hide()
        self.hint = plain_label(self, name="verdictHint")
        self.hint.setWordWrap(True)
        restyle(self.hint, lambda p: strip_style("QLabel", p.warning_banner, "4px 8px"))
        self.hint.hide()
        self._hint_timer = QTimer(self)
        self._hint_timer.setSingleShot(True)
        self._hint_timer.setInterval(HINT_MS)
        self._hint_timer.timeout.connect(self.clear_hint)
        self._confirming = ""
        self.schema_toggle = QToolButton(self)
        self.schema_toggle.setObjectName("schemaToggle")
        self.schema_toggle.setCheckable(True)
        self.schema_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.schema_toggle.setAutoRaise(True)
        self.schema_toggle.toggled.connect(self._on_schema_toggled)
        self.schema_view = PlainTextView(self, monospace=True)
        self.schema_view.setObjectName("schemaView")
        self.schema_view.setMaximumHeight(220)
        self.schema_view.hide()
        self.busy_label = plain_label(self, name="busyLabel")
        restyle(self.busy_label, lambda p: text_style("QLabel", p.accent, "font-weight: bold;"))
        self.buttons: dict[str, QPushButton] = {}
        self._countdown = QTimer(self)
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self._update_deadline)
        self._build_layout()

    def _build_layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.action_class, 1)
        top.addWidget(self.state_chip)
        top.addWidget(self.autonomy)
        top.addWidget(self.risk_badge)
        #: The verdict buttons' row (hidden for an action no longer pending).
        self.button_row = QWidget(self)
        buttons = QHBoxLayout(self.button_row)
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.busy_label, 1)
        for verdict, (text, key, tip) in VERDICT_BUTTONS.items():
            button = QPushButton(f"{text}  [{key}]", self)
            button.setObjectName(f"{verdict.value}Button")
            button.setToolTip(plain_tooltip(f"{tip} — shortcut {key}"))
            button.setMinimumHeight(34)
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            button.clicked.connect(lambda _=False, v=verdict.value: self.verdict_requested.emit(v))
            self.buttons[verdict.value] = button
            buttons.addWidget(button)
        # Font and padding in every state: a size that changed with the enabled state
        # would leave the layout's old width and cut "Approve" after J.
        restyle(self.buttons[Verdict.APPROVE.value], lambda p: (
            "QPushButton { font-weight: bold; border-radius: 4px; padding: 4px 14px;"
            f" border: 1px solid {p.muted}; }}"
            f" QPushButton:enabled {{ background: {p.approve.background};"
            f" color: {p.approve.text}; border-color: {p.approve.background}; }}"
            f" QPushButton:disabled {{ color: {p.muted}; }}"))
        restyle(self.buttons[Verdict.REJECT.value],
                lambda p: "QPushButton { font-weight: bold; }"
                + text_style("QPushButton:enabled", p.error))
        # Everything above the buttons scrolls when the window is short; the hint and
        # the verdict buttons are always on screen.
        self.content = QWidget(self)
        self.content.setObjectName("actionContent")
        inner = QVBoxLayout(self.content)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addLayout(top)
        inner.addWidget(self.agent)
        inner.addWidget(self.deadline_label)
        inner.addWidget(self.trace)
        inner.addWidget(self.decision)
        inner.addWidget(self.warning_banner)
        inner.addWidget(self._heading("Why the agent wants it (its own description)"))
        inner.addWidget(self.description)
        inner.addWidget(self._heading("Arguments"))
        inner.addWidget(self.reader, 1)
        inner.addWidget(self.schema_toggle)
        inner.addWidget(self.schema_view)
        self.content.installEventFilter(self)
        self.scroll_area = VerticalScrollArea(self.content, self)
        self.scroll_area.setObjectName("actionScroll")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 0, 0, 0)
        layout.addWidget(self.scroll_area, 1)
        layout.addWidget(self.hint)
        layout.addWidget(self.button_row)

    def _heading(self, text: str) -> QLabel:
        label = plain_label(self, text)
        font = label.font()
        font.setBold(True)
        label.setFont(font)
        return label

    # --- content ---------------------------------------------------------------------
    def show_action(self, detail: ActionDetail, arguments: Any, raw_reason: str | None) -> None:
        """Show ``detail``; ``raw_reason`` set means ``arguments`` is unparsed text."""
        self.action_class.setText(one_line(detail.action_class, 120))
        self.action_class.setToolTip(plain_tooltip(detail.action_class))
        risk = detail.risk
        self.risk_badge.setText(f"{risk.value.upper()} RISK")
        restyle(self.risk_badge, lambda p: chip_style(p.risk[risk]))
        self.autonomy.setText(detail.autonomy_level.label)
        self.autonomy.setToolTip(plain_tooltip(
            f"Autonomy level of {detail.agent} {detail.agent_version} for"
            f" {detail.action_class}"))
        self.state_chip.setText(detail.state.value.replace("_", " ").upper())
        self.state_chip.setVisible(detail.state is not ActionState.PENDING)
        self.agent.setText(
            f"{one_line(detail.agent, 80)} · version {one_line(detail.agent_version, 40)}"
            f" · action #{detail.id} · via {one_line(detail.source, 40)}")
        self.trace.set_trace(detail.trace_id)
        self.description.set_text(detail.description or "(The agent gave no description.)")
        self._fit_description()
        if raw_reason is None:
            self.reader.show_value(arguments)
            findings = (find_hidden(arguments) if might_hide(detail.arguments_json)
                        else HiddenFindings())
        else:
            self.reader.show_raw(str(arguments), raw_reason)
            findings = find_hidden_in_text(str(arguments))
        self.clear_hint()
        self.decision.hide()
        pending = detail.state is ActionState.PENDING
        self.deadline_label.setVisible(pending)
        self.button_row.setVisible(pending)
        self._show_warnings(detail, findings)
        self._show_schema(detail.arguments_schema)
        self._deadline = detail.deadline
        self._update_deadline()
        if detail.deadline is None:
            self._countdown.stop()
        else:
            self._countdown.start()

    def show_decision(self, detail: ActionDetail, record: DecisionRecord | None) -> None:
        """Below the arguments, what became of the action (the History shows this)."""
        self.decision.show_decision(detail, record)
        self.decision.show()

    def _fit_description(self) -> None:
        """As tall as the wrapped description, up to `DESCRIPTION_LINES`, then scroll.
        Measured on the first 2,000 characters: enough to know it needs the maximum."""
        editor = self.description.editor
        metrics = editor.fontMetrics()
        margin = 2 * editor.frameWidth() + int(editor.document().documentMargin() * 2)
        # The box spans the content; its own width lags behind during a resize.
        width = max(80, self.content.width() - margin - 4)
        text = editor.document().toRawText()[:2000] if editor.document().characterCount() else ""
        bounds = metrics.boundingRect(QRect(0, 0, width, 100_000),
                                      int(Qt.TextFlag.TextWordWrap), text)
        lines = max(1, min(DESCRIPTION_LINES, round(bounds.height() / metrics.lineSpacing())))
        self.description.setFixedHeight(metrics.lineSpacing() * lines + margin + 2)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.content and event.type() == QEvent.Type.Resize:
            self._fit_description()
        return super().eventFilter(watched, event)

    def _show_warnings(self, detail: ActionDetail, findings: HiddenFindings) -> None:
        lines = []
        hidden = findings.banner()
        if hidden:
            lines.append(f"⚠ {hidden}")
        lines.extend(f"⚠ Repaired at ingest: {one_line(w, 300)}"
                     for w in detail.ingest_warnings[:5])
        if len(detail.ingest_warnings) > 5:
            lines.append(f"⚠ … and {len(detail.ingest_warnings) - 5} more repairs")
        if detail.error:
            lines.append(f"⚠ {one_line(detail.error, 400)}")
        self.warning_banner.setText("\n".join(lines))
        self.warning_banner.setVisible(bool(lines))

    def _show_schema(self, schema: dict[str, Any] | None) -> None:
        if schema is None:
            self.schema_toggle.setText("No JSON Schema: edited arguments are not checked")
            self.schema_toggle.setArrowType(Qt.ArrowType.NoArrow)
            self.schema_toggle.setChecked(False)
            self.schema_toggle.setEnabled(False)
            self.schema_view.clear()
            return
        self.schema_toggle.setEnabled(True)
        self.schema_toggle.setText("JSON Schema the arguments must follow")
        self.schema_toggle.setArrowType(
            Qt.ArrowType.DownArrow if self.schema_toggle.isChecked() else Qt.ArrowType.RightArrow)
        self.schema_view.set_text(json.dumps(schema, indent=2, ensure_ascii=False))

    def _on_schema_toggled(self, shown: bool) -> None:
        arrow = Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        self.schema_toggle.setArrowType(arrow)
        self.schema_view.setVisible(shown)

    def _update_deadline(self) -> None:
        text, urgency = describe_deadline(self._deadline, time.time())
        self.deadline_label.setText(text)
        if urgency == self._urgency:
            return
        self._urgency = urgency
        bold = "font-weight: bold;" if urgency in {"soon", "overdue"} else ""
        restyle(self.deadline_label,
                lambda p: text_style("QLabel", _deadline_colour(p, urgency), bold))

    def stop(self) -> None:
        """Stop the countdown (the pane shows something else)."""
        self._countdown.stop()
        self._deadline = None
        self.clear_hint()

    # --- hints -----------------------------------------------------------------------
    def show_hint(self, text: str) -> None:
        """Why the last key press did not decide, above the buttons for a few seconds."""
        self.hint.setText(text)
        self.hint.show()
        self._hint_timer.start()

    def clear_hint(self) -> None:
        self._hint_timer.stop()
        self.hint.clear()
        self.hint.hide()

    def set_confirming(self, verdict: str) -> None:
        """``verdict`` (a value) waits for its confirming press: its button says so.
        When the wait ends, so does the hint asking for the press."""
        if not verdict and self._confirming and self.hint.text():
            self.clear_hint()
        self._confirming = verdict
        self._sync_buttons()

    # --- verdicts --------------------------------------------------------------------
    def set_allowed(self, verdicts: set[str]) -> None:
        self._allowed = set(verdicts)
        self._sync_buttons()

    def set_busy(self, busy: bool, text: str = "") -> None:
        self._busy = busy
        self.busy_label.setText(text if busy else "")
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        from ..guard import confirm_button

        for verdict, button in self.buttons.items():
            allowed = verdict in self._allowed
            button.setEnabled(allowed and not self._busy)
            text, key, tip = VERDICT_BUTTONS[Verdict(verdict)]
            confirming = allowed and verdict == self._confirming
            button.setText(confirm_button(Verdict(verdict)) if confirming
                           else f"{text}  [{key}]")
            suffix = "" if allowed else " (not allowed for this action)"
            button.setToolTip(plain_tooltip(f"{tip} — shortcut {key}{suffix}"))
