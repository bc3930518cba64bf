"""What a span kind looks like: one colour per `SpanKind` (shared by the tree's icons
and the waterfall's bars, so a bar and its row read as the same thing; the colours
are the palette's ``span_kinds``) and a small glyph icon painted once per kind and
palette variant, and cached."""

from __future__ import annotations

from countersign.domain import SpanKind

from ..palette import Palette, colours, qcolor
from ..qt.core import QRectF, Qt
from ..qt.gui import QColor, QFont, QIcon, QPainter, QPixmap

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
_icons: dict[tuple[SpanKind, bool, bool], QIcon] = {}


def kind_color(kind: SpanKind, palette: Palette | None = None) -> QColor:
    kinds = (palette or colours()).span_kinds
    return qcolor(kinds.get(kind, kinds[SpanKind.UNKNOWN]))


def error_color(palette: Palette | None = None) -> QColor:
    """What a failed span is drawn in (tree text, waterfall bar, glyph dot)."""
    return qcolor((palette or colours()).span_error)


def _paint_glyph(kind: SpanKind, error: bool, scale: float, palette: Palette) -> QPixmap:
    side = round(GLYPH_SIZE * scale)
    pixmap = QPixmap(side, side)
    pixmap.setDevicePixelRatio(scale)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(kind_color(kind, palette))
    box = QRectF(1, 1, GLYPH_SIZE - 2, GLYPH_SIZE - 2)
    painter.drawRoundedRect(box, 3.5, 3.5)
    font = QFont()
    font.setPixelSize(10)
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(qcolor(palette.on_fill))
    painter.drawText(box, Qt.AlignmentFlag.AlignCenter, _LETTERS.get(kind, "?"))
    if error:  # a red dot in the corner: the kind stays readable, the failure shows
        painter.setPen(qcolor(palette.on_fill))
        painter.setBrush(error_color(palette))
        painter.drawEllipse(QRectF(GLYPH_SIZE - 8, GLYPH_SIZE - 8, 7.5, 7.5))
    painter.end()
    return pixmap


def kind_icon(kind: SpanKind, *, error: bool = False) -> QIcon:
    """The cached glyph of ``kind`` in the current palette (needs a QGuiApplication)."""
    palette = colours()
    key = (kind, error, palette.dark)
    icon = _icons.get(key)
    if icon is None:
        icon = QIcon()
        for scale in (1.0, 2.0):  # crisp on high-DPI screens too
            icon.addPixmap(_paint_glyph(kind, error, scale, palette))
        _icons[key] = icon
    return icon
