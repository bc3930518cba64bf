"""The lead's decisions on a unit: promote, demote, reset a tripped budget breaker.

Keyboard-driven like the Queue's verdict dialogs: they open with the cursor in the
reason, Ctrl+Enter accepts, Escape cancels, and OK says in words why it is disabled.
A promotion that confirms the recommendation needs no reason; one against it (a rule
unmet) lists the unmet rules and needs a written reason, and is recorded as against
the recommendation. A demotion always needs a reason. The dialogs are opened with
`open()` (not a nested event loop) and report through `decided`.
"""

from __future__ import annotations

from dataclasses import dataclass

from countersign.autonomy import level_above
from countersign.domain import AutonomyLevel
from countersign.domain.autonomy import BreakerTrip
from countersign.text import one_line

from ..palette import restyle, strip_style
from ..qt.core import Qt, Signal
from ..qt.gui import QKeySequence, QShortcut
from ..qt.widgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from .rows import UnitDetail, recommendation_text, unit_text, unmet_rules

#: Levels a lead may demote to, per level (L0 shadow is the lowest).
_BELOW = {AutonomyLevel.L1: (AutonomyLevel.L0,),
          AutonomyLevel.L2: (AutonomyLevel.L1, AutonomyLevel.L0),
          AutonomyLevel.L3: (AutonomyLevel.L2, AutonomyLevel.L1, AutonomyLevel.L0)}


@dataclass(frozen=True)
class LevelDecision:
    """What the lead settled on in a promote or demote dialog."""

    to_level: AutonomyLevel
    reason: str | None
    #: A promotion the rules did not recommend (recorded and shown as such).
    against_recommendation: bool


def plain_label(text: str, parent: QWidget, *, name: str = "") -> QLabel:
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setText(text)
    if name:
        label.setObjectName(name)
    return label


class _ReasonDialog(QDialog):
    """A decision with a reason: a prompt, an optional warning strip, the reason editor
    and OK (Ctrl+Enter), which stays disabled while a required reason is blank."""

    # Signals
    #: The lead confirmed (the `LevelDecision`, or the reason for a breaker reset).
    decided = Signal(object)

    def __init__(self, parent: QWidget | None, *, name: str, title: str, prompt: str,
                 ok_text: str, reason_required: bool, warning: str = "",
                 blocked: str = "") -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setWindowTitle(title)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(600, 380)
        self.reason_required = reason_required
        #: Why the decision cannot be made at all ("" when it can).
        self.blocked = blocked
        self.form = QFormLayout()
        self.prompt = plain_label(prompt, self, name="decisionPrompt")
        self.warning = plain_label(warning, self, name="decisionWarning")
        restyle(self.warning, lambda p: strip_style("#decisionWarning", p.warning_banner))
        self.warning.setVisible(bool(warning))
        self.editor = QPlainTextEdit(self)
        self.editor.setObjectName("reasonEditor")
        self.editor.setTabChangesFocus(True)
        self.editor.setPlaceholderText(
            "Why? Required: it is kept in the audit log with the evidence."
            if reason_required else "Optional note for the audit log")
        self.why_disabled = plain_label("", self, name="whyDisabled")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button: QPushButton = buttons.addButton(
            f"{ok_text}  (Ctrl+Enter)", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.setObjectName("okButton")
        self.ok_button.setAutoDefault(False)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.prompt)
        layout.addWidget(self.warning)
        layout.addLayout(self.form)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.why_disabled)
        layout.addWidget(buttons)
        self.editor.textChanged.connect(self._update_ok)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self).activated.connect(self.accept)
        self._update_ok()
        self.editor.setFocus()

    @property
    def reason(self) -> str | None:
        return self.editor.toPlainText().strip() or None

    def _update_ok(self) -> None:
        missing = self.reason_required and self.reason is None
        why = self.blocked or ("Write a reason to continue." if missing else "")
        self.ok_button.setEnabled(not why)
        self.why_disabled.setText(why)
        self.why_disabled.setVisible(bool(why))

    def result_value(self) -> object:
        raise NotImplementedError

    def accept(self) -> None:
        if not self.ok_button.isEnabled():
            return
        value = self.result_value()
        super().accept()
        self.decided.emit(value)


class PromoteDialog(_ReasonDialog):
    """Promote a unit one level. See the module docstring for when a reason is needed."""

    def __init__(self, detail: UnitDetail, parent: QWidget | None = None) -> None:
        evidence = detail.evidence
        level = evidence.level
        target = level_above(level)
        if target is None:
            raise ValueError(f"{unit_text(detail.key)} is at {level}: nothing above it")
        self.to_level = target
        # From L0 shadow, moving to L1 is the lead's choice: no test applies to it.
        shadow_step = level is AutonomyLevel.L0
        self.against = not shadow_step and evidence.recommendation != "promote"
        cooling = next((rule for rule in evidence.rules
                        if rule.name == "cooldown" and not rule.met), None)
        unmet = unmet_rules(evidence)
        if self.against:
            listed = "\n".join(f"• {rule}" for rule in unmet) or \
                f"• The rules recommend: {recommendation_text(evidence)}."
            warning = (f"Against the recommendation ({recommendation_text(evidence)}). "
                       f"Not met for {target}:\n{listed}\n"
                       "A written reason is required; the promotion is recorded as made "
                       "against the recommendation.")
        else:
            warning = ""
        if shadow_step:
            because = " Moving a shadow unit to L1 is your choice: every action will wait."
        elif self.against:
            because = ""
        else:
            because = (f" The rules recommend it: all {len(evidence.rules)} are met. The "
                       "evidence at this moment is stored with the promotion.")
        prompt = f"Promote {unit_text(detail.key)} from {level.label} to {target.label}."
        super().__init__(
            parent, name="promoteDialog", title=f"Promote to {target}",
            prompt=prompt + because, ok_text=f"Promote to {target}",
            reason_required=self.against, warning=warning,
            blocked="" if cooling is None else
            f"Inside the cool-down after a demotion, no promotion is possible: "
            f"{cooling.detail}")

    def result_value(self) -> LevelDecision:
        return LevelDecision(self.to_level, self.reason, self.against)


class DemoteDialog(_ReasonDialog):
    """Demote a unit to a lower level of the lead's choice, with a reason."""

    def __init__(self, detail: UnitDetail, parent: QWidget | None = None) -> None:
        level = detail.evidence.level
        choices = _BELOW.get(level, ())
        if not choices:
            raise ValueError(f"{unit_text(detail.key)} is at {level}: nothing below it")
        super().__init__(
            parent, name="demoteDialog", title="Demote",
            prompt=f"Demote {unit_text(detail.key)} from {level.label}. Its statistics "
                   "restart at the new level, and a cool-down holds back its next "
                   "promotion.",
            ok_text="Demote", reason_required=True)
        self.level_box = QComboBox(self)
        self.level_box.setObjectName("demoteTo")
        for choice in choices:
            self.level_box.addItem(choice.label, choice.value)
        self.form.addRow("&To level", self.level_box)

    def result_value(self) -> LevelDecision:
        return LevelDecision(AutonomyLevel(self.level_box.currentData()), self.reason, False)


class ResetBreakerDialog(_ReasonDialog):
    """Reset an agent's tripped budget breaker (its requests are again treated by
    their level), after reading the figures that tripped it."""

    def __init__(self, trip: BreakerTrip, parent: QWidget | None = None) -> None:
        super().__init__(
            parent, name="resetBreakerDialog", title="Reset the budget breaker",
            prompt=f"Reset the breaker of {one_line(trip.agent, 80)}? Until you do, "
                   "every request it makes waits for a person.",
            ok_text="Reset breaker", reason_required=False, warning=trip_text(trip))

    def result_value(self) -> str | None:
        return self.reason


def trip_text(trip: BreakerTrip) -> str:
    """What tripped the breaker, in words, with the other figures measured then."""
    from countersign.autonomy.rules import when

    budget = trip.budget.replace("_", " ")
    others = ", ".join(f"{name.replace('_', ' ')} {_figure(value)}"
                       for name, value in sorted(trip.figures.items()) if name != trip.budget)
    run = f" Run {one_line(trip.trace_id, 64)}." if trip.trace_id else ""
    return (f"{one_line(trip.agent, 80)}: {budget} {_figure(trip.observed)} over its limit "
            f"of {_figure(trip.limit)} at {when(trip.tripped_at)}."
            + (f" Then also: {others}." if others else "") + run)


def _figure(value: float | None) -> str:
    if value is None:
        return "unknown"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
