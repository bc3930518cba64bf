"""The correction editor: what the agent should have done, as JSON — the expected
arguments of an action (checked against the action's JSON Schema) or the expected
output of a run. A correction becomes the expected output of the item's dataset
example, so it is checked as it is typed, exactly as the store will check it.

Built from the Queue's edit dialog's parts (`parse_edited`, the escape highlighter,
the diff view) rather than that dialog itself: an edit is a verdict with a severity,
a correction is neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from countersign.schema_check import validate
from countersign.text import one_line

from ..palette import restyle, text_style
from ..qt.core import Qt, QTimer
from ..qt.gui import QKeySequence, QShortcut
from ..qt.widgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from ..queue.dialogs import VALIDATE_DELAY_MS, EscapeHighlighter, parse_edited
from ..widgets.diff import DiffView, json_diff, pretty_json
from ..widgets.text import monospace_font

MAX_LISTED_PROBLEMS = 8


@dataclass(frozen=True)
class CorrectionResult:
    """What the reviewer settled on: a value, or ``removed`` to drop the correction."""

    value: Any = None
    removed: bool = False


def _label(text: str, parent: QWidget, name: str = "") -> QLabel:
    label = QLabel(text, parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    if name:
        label.setObjectName(name)
    return label


class CorrectionDialog(QDialog):
    """Edit the expected arguments (or output) as JSON; OK only when valid."""

    def __init__(self, title: str, start: Any, schema: dict[str, Any] | None, *,
                 draft: Any = None, what: str = "arguments",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("correctionDialog")
        self.setWindowTitle(one_line(title, 80))
        self.resize(1000, 640)
        self.result_value: CorrectionResult | None = None
        self._schema = schema
        self._start_text = pretty_json(start)
        self._value: Any = None
        self._valid = False
        intro = _label(
            f"The {what} the agent should have used. The label stores this correction and "
            "the dataset uses it as the expected output. Hidden characters show as \\uXXXX "
            "escapes. Ctrl+Enter saves, Esc cancels.", self)
        self.editor = QPlainTextEdit(self)
        self.editor.setObjectName("correctionEditor")
        self.editor.setFont(monospace_font())
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.editor.setTabChangesFocus(True)
        self._escapes = EscapeHighlighter(self.editor.document())
        self.diff = DiffView(self)
        self.diff.setObjectName("correctionDiff")
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self._titled(f"Expected {what} (JSON)", self.editor))
        splitter.addWidget(self._titled(f"Changes against the {what} shown", self.diff))
        splitter.setSizes([520, 460])
        self.problems = _label("", self, "correctionProblems")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button: QPushButton = self.buttons.addButton(
            "Use as the correction  (Ctrl+Enter)", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.setObjectName("okButton")
        self.ok_button.setAutoDefault(False)
        self.remove_button: QPushButton | None = None
        if draft is not None:
            self.remove_button = self.buttons.addButton(
                "Remove the correction", QDialogButtonBox.ButtonRole.DestructiveRole)
            self.remove_button.setObjectName("removeButton")
            self.remove_button.clicked.connect(self._remove)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.problems)
        layout.addWidget(self.buttons)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(VALIDATE_DELAY_MS)
        self._debounce.timeout.connect(self.validate_now)
        self.editor.setPlainText(pretty_json(draft) if draft is not None else self._start_text)
        self.editor.textChanged.connect(self._debounce.start)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self).activated.connect(self.accept)
        self.validate_now()
        self.editor.setFocus()

    def _titled(self, title: str, body: QWidget) -> QWidget:
        box = QWidget(self)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(_label(title, box))
        layout.addWidget(body, 1)
        return box

    def validate_now(self) -> None:
        """Check the text now (the debounce timer calls this too)."""
        self._debounce.stop()
        value, syntax = parse_edited(self.editor.toPlainText())
        problems: list[str] = []
        if syntax is not None:
            problems.append(f"JSON syntax: {syntax}")
        else:
            problems.extend(str(p) for p in validate(value, self._schema))
            self._value = value
            self.diff.set_text(json_diff(self._start_text, pretty_json(value))
                               or "No changes: the correction says the same as shown.")
        self._valid = not problems
        shown = [one_line(p, 300) for p in problems[:MAX_LISTED_PROBLEMS]]
        if len(problems) > MAX_LISTED_PROBLEMS:
            shown.append(f"… and {len(problems) - MAX_LISTED_PROBLEMS} more")
        if self._valid:
            shown = ["✓ Valid JSON" + (" that matches the action's schema" if self._schema
                                      else " (there is no schema to check)")]
        self.problems.setText("\n".join(shown))
        ok = self._valid
        restyle(self.problems, lambda p: text_style("QLabel", p.ok if ok else p.error))
        self.ok_button.setEnabled(self._valid)

    def accept(self) -> None:
        if self._debounce.isActive():
            self.validate_now()
        if not self._valid:
            return
        self.result_value = CorrectionResult(self._value)
        super().accept()

    def _remove(self) -> None:
        self.result_value = CorrectionResult(removed=True)
        super().accept()
