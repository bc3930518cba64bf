"""`UnitView`: the selected unit — one headline number, P(accuracy > target), on top;
the linked charts (`EvidenceCharts`) beside a panel with the recommendation, each rule for
the next level met or not, and every number of the evidence, as plain text.

Rule details and reasons are the engine's words around agent-chosen names, so the
panel is a `PlainTextView` (never rich text).
"""

from __future__ import annotations

from ..palette import Palette, restyle, text_style
from ..qt.core import Qt
from ..qt.widgets import (
    QHBoxLayout,
    QLabel,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from ..widgets.text import PlainTextView, Section
from .charts import EvidenceCharts
from .rows import (
    NO_EVIDENCE,
    UnitDetail,
    accuracy_text,
    change_summary,
    evidence_text,
    headline_text,
    recommendation_text,
    unit_text,
)

PANEL_WIDTH = 320


class UnitView(QWidget):
    """See the module docstring. `show_unit` / `clear`; the workspace puts its action
    buttons in `buttons` (a row under the headline)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("unitView")
        self.detail: UnitDetail | None = None
        self.headline = QLabel(self)
        self.headline.setObjectName("autonomyHeadline")
        self.headline.setTextFormat(Qt.TextFormat.PlainText)
        font = self.headline.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.headline.setFont(font)
        self.subline = QLabel(self)
        self.subline.setObjectName("autonomySubline")
        self.subline.setTextFormat(Qt.TextFormat.PlainText)
        self.subline.setWordWrap(True)
        self.subline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QHBoxLayout()
        self.buttons.setContentsMargins(0, 0, 0, 0)
        self.buttons.setSpacing(4)
        self.charts = EvidenceCharts(self)
        self.panel = PlainTextView(self)
        self.panel.setObjectName("evidencePanel")
        self.panel.setMinimumWidth(220)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("unitSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.charts)
        self.splitter.addWidget(self.panel)
        # The charts take three parts of a change in width, the panel one.
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([1000, PANEL_WIDTH])
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(self.headline)
        titles.addWidget(self.subline)
        top.addLayout(titles, 1)
        top.addLayout(self.buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)
        restyle(self.subline, lambda p: text_style("#autonomySubline", p.muted))
        self._recommendation = "hold"
        restyle(self.headline, self._headline_style)
        self.clear()

    def _headline_style(self, palette: Palette) -> str:
        colour = {"promote": palette.ok, "demote": palette.error}.get(
            self._recommendation, palette.accent)
        return text_style("#autonomyHeadline", colour)

    def clear(self, text: str = "Select a unit to see its evidence") -> None:
        self.detail = None
        self.headline.setText("P(accuracy > target)")
        self.subline.setText(text)
        self.panel.clear()
        self.charts.clear(text)
        self._set_recommendation("hold")

    def show_loading(self, unit_text: str) -> None:
        """A unit's detail is being read: say so, keep the old charts until it comes."""
        self.subline.setText(f"Reading {unit_text}…")

    def show_unit(self, detail: UnitDetail, now: float | None = None) -> None:
        self.detail = detail
        evidence = detail.evidence
        self.headline.setText(headline_text(evidence))
        figures = [f"n {evidence.n:,} / n_eff {evidence.n_eff:,.1f}",
                   f"accuracy {accuracy_text(evidence)}"] if evidence.n else \
            [f"{NO_EVIDENCE} at this level"]
        parts = [unit_text(detail.key), evidence.level.label, *figures,
                 f"recommendation: {recommendation_text(evidence)}"]
        self.subline.setText(" · ".join(parts))
        self._set_recommendation(evidence.recommendation)
        self.panel.set_sections(panel_sections(detail))
        self.charts.show_unit(detail, now)

    def _set_recommendation(self, recommendation: str) -> None:
        if recommendation != self._recommendation:
            self._recommendation = recommendation
            restyle(self.headline, self._headline_style)


def panel_sections(detail: UnitDetail) -> list[Section]:
    """The side panel: recommendation and reasons, the rules, the evidence, the level
    history."""
    evidence = detail.evidence
    sections = [Section(f"Recommendation: {recommendation_text(evidence)}",
                        "\n".join(evidence.reasons) or "—",
                        error=evidence.recommendation == "demote")]
    if evidence.rules and evidence.next_level is not None:
        met = sum(rule.met for rule in evidence.rules)
        sections.append(Section(
            f"Rules for {evidence.next_level}: {met} of {len(evidence.rules)} met",
            "\n".join(f"{'✓' if rule.met else '✗'} {rule.detail}" for rule in evidence.rules)))
    sections.append(Section("Evidence", evidence_text(evidence)))
    if detail.changes:
        sections.append(Section("Level history",
                                "\n\n".join(change_summary(c) for c in reversed(detail.changes))))
    return sections
