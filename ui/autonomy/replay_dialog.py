"""What if (AUTONOMY.md, item 8): replay a level, or changed demotion thresholds, over a
unit's stored history — how many actions would have been auto-approved, how many of
those failed or were critical, and when the rules would have demoted it.

The dialog only gathers the question and shows the answer: the workspace runs the
replay off the GUI thread (`replayWanted`) and hands back `show_result` or
`show_error`. Thresholds that make no sense are refused with the setting named, before
anything runs.
"""

from __future__ import annotations

from countersign.autonomy import AutonomyConfig, AutonomyConfigError, ReplayResult
from countersign.autonomy.rules import when
from countersign.domain import AutonomyLevel

from ..qt.core import Qt, Signal
from ..qt.gui import QKeySequence, QShortcut
from ..qt.widgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from ..widgets.text import PlainTextView
from .dialogs import plain_label
from .rows import UnitDetail, unit_text


class ReplayDialog(QDialog):
    """See the module docstring."""

    # Signals
    #: Replay this level under these thresholds (AutonomyLevel, AutonomyConfig).
    replayWanted = Signal(object, object)

    def __init__(self, detail: UnitDetail, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("replayDialog")
        self.setWindowTitle("What if")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(640, 520)
        self.detail = detail
        self.config = detail.config
        level = detail.evidence.level
        self.level_box = QComboBox(self)
        self.level_box.setObjectName("replayLevel")
        for choice in (AutonomyLevel.L2, AutonomyLevel.L3):
            self.level_box.addItem(choice.label, choice.value)
        self.level_box.setCurrentIndex(1 if level in (AutonomyLevel.L2, AutonomyLevel.L3)
                                       else 0)
        self.h_box = QDoubleSpinBox(self)
        self.h_box.setObjectName("replayCusumH")
        self.h_box.setRange(0.0, 50.0)
        self.h_box.setSingleStep(0.5)
        self.h_box.setDecimals(2)
        self.window_failures = QSpinBox(self)
        self.window_failures.setObjectName("replayWindowFailures")
        self.window_failures.setRange(0, 1_000)
        self.window_last = QSpinBox(self)
        self.window_last.setObjectName("replayWindowLast")
        self.window_last.setRange(0, 10_000)
        self.window_failures.setValue(self.config.window.failures)
        self.window_last.setValue(self.config.window.last)
        form = QFormLayout()
        form.addRow("&Level", self.level_box)
        form.addRow("CUSUM alarm &h", self.h_box)
        form.addRow("Demote at &failures", self.window_failures)
        form.addRow("…in the last &reviewed", self.window_last)
        self.result_view = PlainTextView(self)
        self.result_view.setObjectName("replayResult")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.run_button: QPushButton = buttons.addButton(
            "Replay  (Ctrl+Enter)", QDialogButtonBox.ButtonRole.ActionRole)
        self.run_button.setObjectName("replayButton")
        self.run_button.setAutoDefault(False)
        self.run_button.clicked.connect(self.run)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(plain_label(
            f"Replay a level over the stored history of {unit_text(detail.key)}: every "
            "past action with a known outcome counts as reviewed at its time, so the "
            "demotions shown are the earliest the rules could have fired.", self))
        layout.addLayout(form)
        layout.addWidget(self.result_view, 1)
        layout.addWidget(buttons)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self).activated.connect(self.run)
        self.level_box.currentIndexChanged.connect(self._level_changed)
        self._level_changed()
        self.result_view.set_text("Choose a level and thresholds, then Replay.")
        self.level_box.setFocus()

    @property
    def level(self) -> AutonomyLevel:
        return AutonomyLevel(self.level_box.currentData())

    def _level_changed(self) -> None:
        self.h_box.setValue(self.config.cusum_at(self.level).h)

    def thresholds(self) -> AutonomyConfig:
        """The thresholds in force with the dialog's changes (`AutonomyConfigError`,
        naming the setting, when they make no sense)."""
        table = self.config.to_table()
        cusum = "cusum_l3" if self.level is AutonomyLevel.L3 else "cusum_l2"
        table[cusum]["h"] = self.h_box.value()
        table["window"] = {"failures": self.window_failures.value(),
                           "last": self.window_last.value()}
        return AutonomyConfig.from_table(table)

    def run(self) -> None:
        try:
            config = self.thresholds()
        except AutonomyConfigError as exc:
            self.show_error(f"Not replayed: {exc}")
            return
        self.run_button.setEnabled(False)
        self.result_view.set_text(f"Replaying {self.level} over the history…")
        self.replayWanted.emit(self.level, config)

    def show_result(self, result: ReplayResult) -> None:
        self.run_button.setEnabled(True)
        self.result_view.set_text(replay_text(result))

    def show_error(self, text: str) -> None:
        self.run_button.setEnabled(True)
        self.result_view.set_text(text)


def replay_text(result: ReplayResult) -> str:
    """The answer in words and figures."""
    share = (f" ({result.auto_approved / result.actions:.0%} of them)"
             if result.actions else "")
    lines = [
        f"At {result.level.label}, of {result.actions:,} past actions:",
        f"  {result.auto_approved:,} would have been auto-approved{share};",
        f"  {result.auto_approved_failures:,} of those failed, "
        f"{result.auto_approved_critical:,} critically;",
        f"  {result.auto_approved_unknown:,} of those have no known outcome (not sampled).",
        "",
    ]
    if not result.demotions:
        lines.append(f"The rules would not have demoted it: it would still be at "
                     f"{result.final_level}.")
    else:
        lines.append("The rules would have demoted it:")
        for demotion in result.demotions:
            lines.append(f"  {when(demotion.at)}: {demotion.from_level} → "
                         f"{demotion.to_level} ({demotion.rule}) — {demotion.evidence}")
        lines.append(f"It would end at {result.final_level}.")
    return "\n".join(lines)
