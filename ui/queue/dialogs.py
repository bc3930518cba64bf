"""The verdict dialogs: edit the arguments, reject with a reason, respond to the agent.

All three are driven from the keyboard: they open with the cursor in the text, Ctrl+Enter
accepts, Escape cancels. The edit dialog checks as you type (JSON syntax with line and
column, then the action's JSON Schema), shows a live diff against the original, and
asks how serious the correction was; OK stays disabled, with the reason said in words,
until all of that is right.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from countersign.domain import ActionDetail, EditSeverity
from countersign.jsonio import MAX_DEPTH, canonical, depth
from countersign.schema_check import validate
from countersign.text import hidden_characters, one_line

from ..palette import Palette, on_palette, restyle, strip_style, text_style
from ..qt.core import QRegularExpression, Qt, QTimer
from ..qt.gui import (
    QKeySequence,
    QShortcut,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextDocument,
)
from ..qt.widgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from ..widgets.diff import DiffView, json_diff, pretty_json
from ..widgets.text import marker_format, monospace_font, plain_tooltip

#: How long typing must pause before the JSON is checked again.
VALIDATE_DELAY_MS = 150
MAX_LISTED_PROBLEMS = 8
DIFF_TITLE = "Changes against the original"

#: (severity, radio text with mnemonic, extra shortcut, explanation, objectName).
SEVERITIES: tuple[tuple[EditSeverity, str, str, str, str], ...] = (
    (EditSeverity.COSMETIC, "&Cosmetic", "Alt+1",
     "Wording or format only: what happens stays the same.", "severityCosmetic"),
    (EditSeverity.MATERIAL, "&Material", "Alt+2",
     "Changes what happens (amount, recipient, target…).", "severityMaterial"),
    (EditSeverity.CRITICAL, "C&ritical", "Alt+3",
     "The original would have caused harm.", "severityCritical"),
)


@dataclass(frozen=True)
class EditResult:
    """What the operator settled on; ``text`` is the editor text, to reopen the
    dialog where they left off if recording the decision fails."""

    arguments: Any
    severity: EditSeverity
    text: str


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def parse_edited(text: str) -> tuple[Any, str | None]:
    """(value, None) or (None, problem) where the problem names line and column."""
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        return None, f"Line {exc.lineno}, column {exc.colno}: {exc.msg}"
    except RecursionError:
        return None, f"Nested deeper than {MAX_DEPTH} levels"
    except ValueError as exc:
        return None, str(exc)
    if depth(value) > MAX_DEPTH:
        return None, f"Nested deeper than {MAX_DEPTH} levels"
    return value, None


class EscapeHighlighter(QSyntaxHighlighter):
    """Marks ``\\uXXXX`` escapes in the editor: that is how hidden characters appear."""

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self._pattern = QRegularExpression(r"\\u[0-9a-fA-F]{4}")
        self._format = QTextCharFormat()
        on_palette(self, self._set_colours)

    def _set_colours(self, palette: Palette) -> None:
        self._format = marker_format(palette)
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        if "\\u" not in text:
            return
        matches = self._pattern.globalMatch(text)
        while matches.hasNext():
            match = matches.next()
            self.setFormat(match.capturedStart(), match.capturedLength(), self._format)


def _plain_label(text: str, parent: QWidget, *, name: str = "", wrap: bool = True) -> QLabel:
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(wrap)
    label.setText(text)
    if name:
        label.setObjectName(name)
    return label


def _accept_shortcuts(dialog: QDialog, slot: Any) -> None:
    for keys in ("Ctrl+Return", "Ctrl+Enter"):
        QShortcut(QKeySequence(keys), dialog).activated.connect(slot)


class EditDialog(QDialog):
    """Edit an action's arguments as JSON, checked against its schema."""

    def __init__(self, detail: ActionDetail, original: Any, parent: QWidget | None = None, *,
                 error: str | None = None, draft: str | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("editDialog")
        self.setWindowTitle(f"Edit {one_line(detail.action_class, 60)}")
        self.resize(1100, 720)
        self.result_value: EditResult | None = None
        self._detail = detail
        self._original_canonical = canonical(original)
        self._original_text = pretty_json(original)
        self._value: Any = None
        self._valid = False
        self._changed = False

        intro = _plain_label(
            f"Edit the arguments {one_line(detail.agent, 60)} {one_line(detail.agent_version, 30)}"
            f" will run {one_line(detail.action_class, 80)} with. Hidden characters are shown"
            " as \\uXXXX escapes. Ctrl+Enter accepts, Esc cancels.", self)
        self.error_banner = _plain_label(one_line(error or "", 600), self, name="editError")
        restyle(self.error_banner, lambda p: strip_style("QLabel", p.error_banner, "4px 6px"))
        self.error_banner.setVisible(bool(error))
        self.editor = QPlainTextEdit(self)
        self.editor.setObjectName("argumentsEditor")
        self.editor.setFont(monospace_font())
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.editor.setTabChangesFocus(True)
        self._escapes = EscapeHighlighter(self.editor.document())
        self.diff_view = DiffView(self)
        self.diff_view.setObjectName("diffView")
        left, _editor_title = self._titled("&Arguments (JSON)", self.editor)
        right, self.diff_title = self._titled(DIFF_TITLE, self.diff_view)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([560, 500])
        self.problems_label = _plain_label("", self, name="problemsLabel")
        self.problems_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.severity_group = QButtonGroup(self)
        self.severity_radios: dict[EditSeverity, QRadioButton] = {}
        severity_box = self._severity_box()
        self.status_label = _plain_label("", self, name="editStatus")
        restyle(self.status_label, lambda p: text_style("QLabel", p.muted))
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button: QPushButton = self.buttons.addButton(
            "Approve with these arguments  (Ctrl+Enter)", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.setObjectName("okButton")
        self.ok_button.setDefault(False)
        self.ok_button.setAutoDefault(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.error_banner)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.problems_label)
        layout.addWidget(severity_box)
        layout.addWidget(self.status_label)
        layout.addWidget(self.buttons)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(VALIDATE_DELAY_MS)
        self._debounce.timeout.connect(self.validate_now)
        self.editor.setPlainText(draft if draft is not None else self._original_text)
        self.editor.textChanged.connect(self._debounce.start)
        self.severity_group.buttonToggled.connect(lambda *_: self._update_ok())
        _accept_shortcuts(self, self.accept)
        self.validate_now()
        self.editor.setFocus()

    def _titled(self, title: str, body: QWidget) -> tuple[QWidget, QLabel]:
        box = QWidget(self)
        label = QLabel(title, box)
        label.setTextFormat(Qt.TextFormat.PlainText)
        if isinstance(body, QPlainTextEdit):
            label.setBuddy(body)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(label)
        layout.addWidget(body, 1)
        return box, label

    def _severity_box(self) -> QGroupBox:
        box = QGroupBox("How serious was the agent's mistake? (required)", self)
        grid = QGridLayout(box)
        for row, (severity, text, keys, explanation, name) in enumerate(SEVERITIES):
            radio = QRadioButton(f"{text}   {keys}", box)
            radio.setObjectName(name)
            radio.setToolTip(plain_tooltip(
                f"{explanation} Shortcut {keys} or Alt+underlined letter."))
            self.severity_group.addButton(radio)
            self.severity_radios[severity] = radio
            QShortcut(QKeySequence(keys), self).activated.connect(
                lambda r=radio: r.setChecked(True))
            grid.addWidget(radio, row, 0)
            note = _plain_label(explanation, box, wrap=False)
            restyle(note, lambda p: text_style("QLabel", p.muted))
            grid.addWidget(note, row, 1)
        grid.setColumnStretch(1, 1)
        return box

    # --- checking --------------------------------------------------------------------
    def validate_now(self) -> None:
        """Check the editor text at once (the debounce timer calls this too)."""
        self._debounce.stop()
        text = self.editor.toPlainText()
        value, syntax_error = parse_edited(text)
        problems: list[str] = []
        if syntax_error is not None:
            problems.append(f"JSON syntax: {syntax_error}")
            self._valid = False
            self.diff_title.setText(f"{DIFF_TITLE} (as of the last valid JSON)")
        else:
            problems.extend(str(p) for p in validate(value, self._detail.arguments_schema))
            self._valid = not problems
            self._value = value
            self.diff_title.setText(DIFF_TITLE)
            edited_text = pretty_json(value)
            self._changed = canonical(value) != self._original_canonical
            self.diff_view.set_text(json_diff(self._original_text, edited_text)
                                    or "No changes yet.")
        shown = [one_line(p, 300) for p in problems[:MAX_LISTED_PROBLEMS]]
        if len(problems) > MAX_LISTED_PROBLEMS:
            shown.append(f"… and {len(problems) - MAX_LISTED_PROBLEMS} more")
        hidden = hidden_characters(text)
        if hidden:
            markers = ", ".join(sorted({m for _, m in hidden})[:3])
            shown.append(f"Note: the text holds {len(hidden)} invisible character(s) typed or"
                         f" pasted as is ({markers}); they are sent as they are.")
        restyle(self.problems_label,
                lambda p: text_style("QLabel", p.error if problems else p.ok))
        if not problems:
            shown.insert(0, "✓ Valid JSON" + (" that matches the schema" if
                                              self._detail.arguments_schema else
                                              " (the action has no schema to check)"))
        self.problems_label.setText("\n".join(shown))
        self._update_ok()

    def severity(self) -> EditSeverity | None:
        for severity, radio in self.severity_radios.items():
            if radio.isChecked():
                return severity
        return None

    def _update_ok(self) -> None:
        missing = []
        if not self._valid:
            missing.append("fix the problems listed above")
        elif not self._changed:
            missing.append("change something (to run it unchanged, Approve instead)")
        if self.severity() is None:
            missing.append("choose how serious the mistake was (Alt+1, Alt+2, Alt+3)")
        self.ok_button.setEnabled(not missing)
        self.status_label.setText("To accept: " + "; ".join(missing) + "." if missing
                                  else "Ready: Ctrl+Enter approves with these arguments.")

    def accept(self) -> None:
        if self._debounce.isActive():
            self.validate_now()
        severity = self.severity()
        if not self.ok_button.isEnabled() or severity is None:
            return
        self.result_value = EditResult(self._value, severity, self.editor.toPlainText())
        super().accept()


class _MessageDialog(QDialog):
    """A required, multi-line message (a reason or a response) for one action."""

    def __init__(self, parent: QWidget | None, *, name: str, editor_name: str, title: str,
                 prompt: str, ok_text: str) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setWindowTitle(title)
        self.resize(560, 320)
        self.result_text: str | None = None
        self.editor = QPlainTextEdit(self)
        self.editor.setObjectName(editor_name)
        self.editor.setTabChangesFocus(True)
        prompt_label = _plain_label(prompt, self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button: QPushButton = buttons.addButton(
            f"{ok_text}  (Ctrl+Enter)", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.setObjectName("okButton")
        self.ok_button.setAutoDefault(False)
        self.ok_button.setEnabled(False)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(prompt_label)
        layout.addWidget(self.editor, 1)
        layout.addWidget(buttons)
        self.editor.textChanged.connect(
            lambda: self.ok_button.setEnabled(bool(self.editor.toPlainText().strip())))
        _accept_shortcuts(self, self.accept)
        self.editor.setFocus()

    def accept(self) -> None:
        text = self.editor.toPlainText().strip()
        if not text:
            return
        self.result_text = text
        super().accept()


class RejectDialog(_MessageDialog):
    """Reject an action; the reason is required (it goes to the agent and the log)."""

    def __init__(self, detail: ActionDetail, parent: QWidget | None = None) -> None:
        action = one_line(detail.action_class, 80)
        super().__init__(
            parent, name="rejectDialog", editor_name="reasonEditor",
            title=f"Reject {action}",
            prompt=f"Reject {action} from {one_line(detail.agent, 60)}. Why? The reason is"
                   " sent to the agent and kept in the audit log. Required.",
            ok_text="Reject")


class RespondDialog(_MessageDialog):
    """Answer the agent with a message instead of a verdict on the action."""

    def __init__(self, detail: ActionDetail, parent: QWidget | None = None) -> None:
        super().__init__(
            parent, name="respondDialog", editor_name="responseEditor",
            title=f"Respond to {one_line(detail.agent, 60)}",
            prompt=f"Your message goes back to {one_line(detail.agent, 60)} as the answer to"
                   f" its request; {one_line(detail.action_class, 80)} is not run. Required.",
            ok_text="Send response")


def ask_edit(parent: QWidget | None, detail: ActionDetail, original: Any, *,
             error: str | None = None, draft: str | None = None) -> EditResult | None:
    """Edited arguments with their severity, or None if the operator cancelled."""
    dialog = EditDialog(detail, original, parent, error=error, draft=draft)
    try:
        return dialog.result_value if dialog.exec() == QDialog.DialogCode.Accepted else None
    finally:
        dialog.deleteLater()


def ask_reject(parent: QWidget | None, detail: ActionDetail) -> str | None:
    """The reason for rejecting, or None if the operator cancelled."""
    dialog = RejectDialog(detail, parent)
    try:
        return dialog.result_text if dialog.exec() == QDialog.DialogCode.Accepted else None
    finally:
        dialog.deleteLater()


def ask_respond(parent: QWidget | None, detail: ActionDetail) -> str | None:
    """The message for the agent, or None if the operator cancelled."""
    dialog = RespondDialog(detail, parent)
    try:
        return dialog.result_text if dialog.exec() == QDialog.DialogCode.Accepted else None
    finally:
        dialog.deleteLater()
