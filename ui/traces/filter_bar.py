"""The row above the Traces list: agent, time range, status (running, failed, ok),
minimum duration, tokens and cost, "has a pending action", whether to list the runs
that only repeat a model call of another run, and text in the run's name — turned
into the core's `RunQuery`."""

from __future__ import annotations

import time

from countersign.domain.runs import RunQuery
from countersign.text import one_line

from ..palette import restyle, text_style
from ..qt.core import QDateTime, Qt, Signal
from ..qt.widgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDoubleSpinBox,
    QLabel,
    QLineEdit,
    QWidget,
)
from ..widgets.adaptive import FlowLayout
from ..widgets.text import plain_tooltip
from .runs_model import PAGE_SIZE

#: (label, seconds back from now; None = all time; -1 = custom range).
TIME_PRESETS: tuple[tuple[str, int | None], ...] = (
    ("Last hour", 3600),
    ("Last 24 hours", 86_400),
    ("Last 7 days", 7 * 86_400),
    ("All time", None),
    ("Custom…", -1),
)
STATUSES: tuple[tuple[str, str | None], ...] = (
    ("Any status", None), ("Running", "running"), ("Failed", "error"), ("OK", "ok"),
    ("Unset", "unset"))


def _spin(parent: QWidget, name: str, tip: str, suffix: str, *, decimals: int = 0,
          maximum: float = 1e9, prefix: str = "", anything: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox(parent)
    spin.setObjectName(name)
    spin.setToolTip(plain_tooltip(tip))
    spin.setDecimals(decimals)
    spin.setRange(0, maximum)
    spin.setPrefix(prefix)
    spin.setSuffix(suffix)
    spin.setSpecialValueText(anything)  # shown for 0, which means "no minimum"
    spin.setMinimumWidth(118)
    spin.setKeyboardTracking(False)
    spin.setAccelerated(True)
    return spin


class TracesFilterBar(QWidget):
    """Emits `filterChanged` whenever a filter changes (the workspace debounces)."""

    # Signals
    #: A filter changed; `query()` gives the new `RunQuery`.
    filterChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.agent = QComboBox(self)
        self.agent.setObjectName("runAgentFilter")
        self.agent.setToolTip("Show one agent's runs")
        self.agent.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.agent.setMinimumContentsLength(10)
        self.agent.addItem("All agents", None)
        self.period = QComboBox(self)
        self.period.setObjectName("runPeriodFilter")
        self.period.setToolTip("Runs started in this period")
        for label, _seconds in TIME_PRESETS:
            self.period.addItem(label)
        self.period.setCurrentIndex(3)  # imported traces are often old: start with all
        now = QDateTime.currentDateTime()
        self.since = QDateTimeEdit(now.addDays(-1), self)
        self.until = QDateTimeEdit(now, self)
        for edit, tip in ((self.since, "From"), (self.until, "Until")):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
            edit.setToolTip(plain_tooltip(tip))
            edit.hide()
        self.status = QComboBox(self)
        self.status.setObjectName("runStatusFilter")
        for label, _value in STATUSES:
            self.status.addItem(label)
        self.min_duration = _spin(self, "minDuration", "Only runs lasting at least this long",
                                  " s", decimals=1, maximum=1e6, prefix="≥ ",
                                  anything="Any duration")
        self.min_tokens = _spin(self, "minTokens", "Only runs using at least this many tokens",
                                " tokens", maximum=1e12, prefix="≥ ", anything="Any tokens")
        self.min_tokens.setSingleStep(1000)
        self.min_cost = _spin(self, "minCost", "Only runs costing at least this much",
                              "", decimals=2, maximum=1e7, prefix="≥ $", anything="Any cost")
        self.pending = QCheckBox("Has a pending action", self)
        self.pending.setObjectName("pendingFilter")
        self.duplicates = QCheckBox("Show repeated model calls", self)
        self.duplicates.setObjectName("duplicatesFilter")
        self.duplicates.setToolTip(plain_tooltip(
            "List, dimmed, the runs that only repeat a model call of another run (a second "
            "instrumentation recorded the same call); their tokens are counted once"))
        self.text = QLineEdit(self)
        self.text.setObjectName("runTextFilter")
        self.text.setPlaceholderText("Run name contains…")
        self.text.setClearButtonEnabled(True)
        self.count = QLabel(self)
        self.count.setObjectName("runCount")
        self.count.setTextFormat(Qt.TextFormat.PlainText)
        restyle(self.count, lambda p: text_style("QLabel", p.muted))
        self.text.setMinimumWidth(200)
        # One row on a wide window, two or more on a narrow one.
        layout = FlowLayout(self)
        for widget in (self.agent, self.period, self.since, self.until, self.status,
                       self.min_duration, self.min_tokens, self.min_cost, self.pending,
                       self.duplicates, self.text, self.count):
            layout.add(widget)
        for combo in (self.agent, self.period, self.status):
            combo.currentIndexChanged.connect(self._changed)
        for spin in (self.min_duration, self.min_tokens, self.min_cost):
            spin.valueChanged.connect(self._changed)
        for edit in (self.since, self.until):
            edit.dateTimeChanged.connect(self._changed)
        self.pending.toggled.connect(self._changed)
        self.duplicates.toggled.connect(self._changed)
        self.text.textChanged.connect(self._changed)

    def _changed(self, *_args: object) -> None:
        custom = TIME_PRESETS[self.period.currentIndex()][1] == -1
        self.since.setVisible(custom)
        self.until.setVisible(custom)
        self.filterChanged.emit()

    def set_agents(self, names: list[str]) -> None:
        """Refill the agent combo, keeping the chosen agent when it is still there."""
        current = self.agent.currentData()
        self.agent.blockSignals(True)
        try:
            self.agent.clear()
            self.agent.addItem("All agents", None)
            for name in names:
                self.agent.addItem(one_line(name, 60), name)
            found = self.agent.findData(current) if current is not None else 0
            self.agent.setCurrentIndex(max(0, found))
        finally:
            self.agent.blockSignals(False)
        if current is not None and self.agent.currentData() != current:
            self.filterChanged.emit()

    def set_count(self, shown: int, total: int | None) -> None:
        if total is None:
            self.count.setText(f"{shown:,} runs")
        else:
            self.count.setText(f"{total:,} {'run' if total == 1 else 'runs'}")

    def query(self, now_ns: int | None = None) -> RunQuery:
        """The filters as a `RunQuery` for the first page (time presets are counted
        back from ``now_ns``, default: now)."""
        now_ns = time.time_ns() if now_ns is None else now_ns
        seconds = TIME_PRESETS[self.period.currentIndex()][1]
        since_ns = until_ns = None
        if seconds == -1:
            since_ns = self.since.dateTime().toMSecsSinceEpoch() * 1_000_000
            until_ns = self.until.dateTime().toMSecsSinceEpoch() * 1_000_000
        elif seconds is not None:
            since_ns = now_ns - seconds * 1_000_000_000
        text = self.text.text().strip()
        return RunQuery(
            agent=self.agent.currentData(),
            since_ns=since_ns,
            until_ns=until_ns,
            status=STATUSES[self.status.currentIndex()][1],
            min_duration_ns=int(self.min_duration.value() * 1e9) or None,
            min_tokens=int(self.min_tokens.value()) or None,
            min_cost=self.min_cost.value() or None,
            has_pending_action=True if self.pending.isChecked() else None,
            text=text or None,
            include_duplicates=self.duplicates.isChecked(),
            limit=PAGE_SIZE,
        )
