"""What a span kind looks like: one colour per `SpanKind` (shared by the tree's icons
and the waterfall's bars, so a bar and its row read as the same thing) and a small
glyph icon painted once per kind and cached."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap

from countersign.domain import SpanKind

KIND_COLORS: dict[SpanKind, QColor] = {
    SpanKind.AGENT: QColor("#7c3aed"),
    SpanKind.LLM: QColor("#2563eb"),
    SpanKind.TOOL: QColor("#d97706"),
    SpanKind.RETRIEVER: QColor("#059669"),
    SpanKind.EMBEDDING: QColor("#0891b2"),
    SpanKind.CHAIN: QColor("#64748b"),
    SpanKind.GUARDRAIL: QColor("#be185d"),
    SpanKind.RERANKER: QColor("#65a30d"),
    SpanKind.EVALUATOR: QColor("#9333ea"),
    SpanKind.PROMPT: QColor("#0d9488"),
    SpanKind.UNKNOWN: QColor("#9ca3af"),
}
ERROR_COLOR = QColor("#dc2626")
#: One letter per kind, drawn in the glyph; the Kind column spells it out.
_LETTERS: dict[SpanKind, str] = {
    SpanKind.AGENT: "A",
    SpanKind.LLM: "L",
    SpanKind.TOOL: "T",
    SpanKind.RETRIEVER: "R",
    SpanKind.EMBEDDING: "E",
    SpanKind.CHAIN: "C",
    SpanKind.GUARDRAIL: "G",
    SpanKind.RERANKER: "K",
    SpanKind.EVALUATOR: "V",
    SpanKind.PROMPT: "P",
    SpanKind.UNKNOWN: "?",
}
GLYPH_SIZE = 16
_icons: dict[tuple[SpanKind, bool], QIcon] = {}


def kind_color(kind: SpanKind) -> QColor:
    return KIND_COLORS.get(kind, KIND_COLORS[SpanKind.UNKNOWN])


def _paint_glyph(kind: SpanKind, error: bool, scale: float) -> QPixmap:
    side = round(GLYPH_SIZE * scale)
    pixmap = QPixmap(side, side)
    pixmap.setDevicePixelRatio(scale)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(kind_color(kind))
    box = QRectF(1, 1, GLYPH_SIZE - 2, GLYPH_SIZE - 2)
    painter.drawRoundedRect(box, 3.5, 3.5)
    font = QFont()
    font.setPixelSize(10)
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(QColor("#ffffff"))
    painter.drawText(box, Qt.AlignmentFlag.AlignCenter, _LETTERS.get(kind, "?"))
    if error:  # a red dot in the corner: the kind stays readable, the failure shows
        painter.setPen(QColor("#ffffff"))
        painter.setBrush(ERROR_COLOR)
        painter.drawEllipse(QRectF(GLYPH_SIZE - 8, GLYPH_SIZE - 8, 7.5, 7.5))
    painter.end()
    return pixmap


def kind_icon(kind: SpanKind, *, error: bool = False) -> QIcon:
    """The cached glyph of ``kind`` (needs a QGuiApplication)."""
    key = (kind, error)
    icon = _icons.get(key)
    if icon is None:
        icon = QIcon()
        for scale in (1.0, 2.0):  # crisp on high-DPI screens too
            icon.addPixmap(_paint_glyph(kind, error, scale))
        _icons[key] = icon
    return icon
