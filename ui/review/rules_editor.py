"""The sampling-rules editor: the rules in the configuration file's own form
(``[[review.rules]]`` tables), checked as they are typed, with a table of what they
say, and saved through the review service (which audits the change).

Every table goes through `countersign.review.sampling.parse_rule` (by way of
`rules_from_toml_table`, which also refuses duplicate names), so the message names
the rule and the field exactly as the config file's loader would. The first enabled
rule that matches an item decides its draw: the table shows the rules in that order.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from countersign.review.sampling import (
    SamplingRule,
    SamplingRuleError,
    rules_from_toml_table,
    rules_to_dicts,
)

from ..palette import restyle, text_style
from ..qt.core import (
    Qt,
    QTimer,
    Signal,
)
from ..qt.widgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from ..widgets.table_model import FlatTableModel
from ..widgets.text import monospace_font

if TYPE_CHECKING:
    from countersign.services.review import ReviewService

    from ..async_work import BackgroundWork

CHECK_DELAY_MS = 150
_HELP = ("# One [[review.rules]] table per rule, as in the configuration file. The first\n"
         "# enabled rule matching an item decides its draw. Filters (all optional):\n"
         "# agents, agent_versions, action_classes, risks (low|medium|high|critical),\n"
         "# verdicts (approved|edited|rejected|responded|expired|auto_approved),\n"
         "# run_error, min_cost, min_tokens; rate in (0, 1]; labels = reviewers needed.\n")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


def rules_to_text(rules: Sequence[SamplingRule]) -> str:
    """The rules as ``[[review.rules]]`` tables (`parse_rules_text` reads them back)."""
    blocks = []
    for table in rules_to_dicts(rules):
        lines = ["[[review.rules]]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in table.items()]
        blocks.append("\n".join(lines))
    return _HELP + "\n" + "\n\n".join(blocks) + "\n"


def parse_rules_text(text: str) -> list[SamplingRule]:
    """The rules in ``text``, or `SamplingRuleError` naming the rule and the field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SamplingRuleError(f"not valid TOML: {exc}") from exc
    extra = sorted(set(data) - {"review"})
    if extra:
        raise SamplingRuleError(f"{extra[0]}: only [[review.rules]] tables belong here")
    review = data.get("review", {})
    if not isinstance(review, dict) or set(review) - {"rules"}:
        raise SamplingRuleError("review: only [[review.rules]] tables belong here")
    tables = review.get("rules", [])
    if not isinstance(tables, list):
        raise SamplingRuleError("review.rules: write each rule as a [[review.rules]] table")
    return rules_from_toml_table(tables, where="review.rules")


def describe_rule(rule: SamplingRule) -> str:
    """What a rule covers, in a few words."""
    parts = []
    for field, word in (("agents", "agent"), ("agent_versions", "version"),
                        ("action_classes", "action"), ("risks", "risk"),
                        ("verdicts", "verdict")):
        values = getattr(rule, field)
        if values:
            parts.append(f"{word} {', '.join(values)}")
    if rule.run_error is not None:
        parts.append("failed runs" if rule.run_error else "runs without errors")
    if rule.min_cost is not None:
        parts.append(f"cost ≥ {rule.min_cost:g}")
    if rule.min_tokens is not None:
        parts.append(f"tokens ≥ {rule.min_tokens:,}")
    return "; ".join(parts) or "everything"


class RulesModel(FlatTableModel[tuple[int, SamplingRule]]):
    """The parsed rules in deciding order: # | Rule | Covers | Rate | Labels | On."""

    HEADERS = ("#", "Rule", "Covers", "Rate", "Labels", "On")

    def cell(self, row: tuple[int, SamplingRule], column: int, role: int) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        number, rule = row
        values = (str(number), rule.name, describe_rule(rule), f"{rule.rate:g}",
                  str(rule.labels), "yes" if rule.enabled else "no")
        return values[column]

    def set_rules(self, rules: Sequence[SamplingRule]) -> None:
        self.set_rows(list(enumerate(rules, 1)))

    @property
    def rules(self) -> list[SamplingRule]:
        return [rule for _, rule in self._rows]


class RulesEditor(QWidget):
    """See the module docstring."""

    # Signals
    #: A one-line confirmation for the status bar.
    notice = Signal(str)
    #: A failure, one line.
    failed = Signal(str)

    def __init__(self, work: BackgroundWork, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rulesEditor")
        self._work = work
        self._review: ReviewService | None = None
        self._actor = ""
        self._saved: list[SamplingRule] = []
        self._parsed: list[SamplingRule] | None = None
        self.editor = QPlainTextEdit(self)
        self.editor.setObjectName("rulesText")
        self.editor.setFont(monospace_font())
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.editor.setTabChangesFocus(True)
        self.model = RulesModel(self)
        self.table = QTableView(self)
        self.table.setObjectName("rulesTable")
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        self.table.setShowGrid(False)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.problem = QLabel(self)
        self.problem.setObjectName("rulesProblem")
        self.problem.setTextFormat(Qt.TextFormat.PlainText)
        self.problem.setWordWrap(True)
        self.config_note = QLabel(self)
        self.config_note.setObjectName("rulesConfigNote")
        self.config_note.setTextFormat(Qt.TextFormat.PlainText)
        self.config_note.setWordWrap(True)
        restyle(self.config_note, lambda p: text_style("QLabel", p.warning))
        self.config_note.hide()
        self.revert_button = QPushButton("Revert", self)
        self.revert_button.setObjectName("revertRules")
        self.save_button = QPushButton("Save rules", self)
        self.save_button.setObjectName("saveRules")
        self._layout()
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(CHECK_DELAY_MS)
        self._debounce.timeout.connect(self.check_now)
        self.editor.textChanged.connect(self._debounce.start)
        self.save_button.clicked.connect(self.save)
        self.revert_button.clicked.connect(self.revert)
        self.check_now()

    def _layout(self) -> None:
        title = QLabel("Sampling rules: what is drawn into review, and how often", self)
        title.setTextFormat(Qt.TextFormat.PlainText)
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.editor)
        splitter.addWidget(self.table)
        splitter.setSizes([420, 200])
        buttons = QHBoxLayout()
        buttons.addWidget(self.problem, 1)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(title)
        layout.addWidget(self.config_note)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)

    def attach(self, review: ReviewService, actor: str, *, config_has_rules: bool) -> None:
        self._review = review
        self._actor = actor
        self.config_note.setText(
            "The configuration file has [[review.rules]]: they replace these rules the next"
            " time the console opens. Edit the file to make a change last.")
        self.config_note.setVisible(config_has_rules)
        self.reload()

    def reload(self) -> None:
        if self._review is not None:
            self._work.submit(self._review.rules, on_done=self._loaded, on_error=self._failed)

    def _loaded(self, rules: list[SamplingRule]) -> None:
        self._saved = list(rules)
        self.editor.setPlainText(rules_to_text(rules))
        self.check_now()

    def revert(self) -> None:
        self.editor.setPlainText(rules_to_text(self._saved))
        self.check_now()

    def check_now(self) -> list[SamplingRule] | None:
        """Parse the text now; the rules, or None with the problem shown."""
        self._debounce.stop()
        try:
            rules = parse_rules_text(self.editor.toPlainText())
        except SamplingRuleError as exc:
            self._parsed = None
            self.problem.setText(str(exc))
            restyle(self.problem, lambda p: text_style("QLabel", p.error))
            self.save_button.setEnabled(False)
            return None
        self._parsed = rules
        self.model.set_rules(rules)
        changed = rules != self._saved
        self.problem.setText(f"✓ {len(rules)} rule(s)"
                             + (" · not saved yet" if changed else " · as saved"))
        restyle(self.problem, lambda p: text_style("QLabel", p.ok))
        self.save_button.setEnabled(changed and self._review is not None)
        return rules

    def save(self) -> None:
        rules = self.check_now()
        if rules is None or self._review is None:
            return
        self.save_button.setEnabled(False)
        self._work.submit(self._review.replace_rules, rules, actor=self._actor,
                          on_done=lambda changed: self._saved_rules(rules, changed),
                          on_error=self._failed)

    def _saved_rules(self, rules: list[SamplingRule], changed: bool) -> None:
        self._saved = list(rules)
        self.check_now()
        self.notice.emit(f"Sampling rules saved ({len(rules)} rule(s))" if changed
                         else "Sampling rules unchanged")

    def _failed(self, exc: BaseException) -> None:
        message = str(exc) or type(exc).__name__
        self.check_now()
        self.problem.setText(f"Not saved: {message}")
        restyle(self.problem, lambda p: text_style("QLabel", p.error))
        self.failed.emit(message)
