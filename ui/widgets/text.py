"""Showing text an agent or a trace produced, honestly and without freezing.

Untrusted text is never handed to Qt's rich-text engine (STYLE.md rule 13): it goes
through `countersign.text.make_visible` (hidden and bidirectional characters become
``⟦RLO U+202E⟧`` markers) into a `QPlainTextEdit`, and a syntax highlighter paints
the markers. All formatting (section headers, markers) comes from our code, keyed by
block number, so nothing an agent writes can make itself look like a header.

Big text stays cheap: only the first `PREVIEW_CHARS` characters are shown until the
person asks for all of it, and lines longer than `LINE_PIECE` are shown in pieces
(each continuation starts with ``↪``), because Qt lays out a block as a whole and a
single 200,000-character line takes seconds to wrap.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum

from countersign.text import (
    MARK_CLOSE,
    MARK_OPEN,
    elide,
    make_visible,
    one_line,
)

from ..palette import Palette, on_palette, qcolor
from ..qt.core import QRect, Qt
from ..qt.gui import (
    QFont,
    QFontDatabase,
    QGuiApplication,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextDocument,
)
from ..qt.widgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

#: How much of a text is shown before the "Show all" button is needed.
PREVIEW_CHARS = 200_000
#: Longest block handed to Qt's layout; longer lines are shown in pieces.
LINE_PIECE = 2_000
CONTINUATION = "↪ "

_MARKER_RE = re.compile(f"{MARK_OPEN}[^{MARK_OPEN}{MARK_CLOSE}]{{1,48}}{MARK_CLOSE}")


class LineKind(IntEnum):
    """How the highlighter paints a block that is not plain body text."""

    HEADER = 1
    ERROR_HEADER = 2
    CONTINUATION = 3
    NOTE = 4
    ADDED = 5
    REMOVED = 6
    HUNK = 7


#: Gives a body line its `LineKind` (or None for plain body text), e.g. for diffs.
LineClassifier = Callable[[str], "LineKind | None"]


@dataclass(frozen=True)
class Section:
    """One titled part of a `PlainTextView`: ``header`` is our own text, ``body`` is
    untrusted and shown verbatim (after `make_visible`)."""

    header: str
    body: str
    error: bool = False


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _pieces(line: str) -> list[str]:
    """``line`` cut into `LINE_PIECE`-sized pieces without splitting a marker."""
    out: list[str] = []
    start = 0
    while len(line) - start > LINE_PIECE:
        end = start + LINE_PIECE
        open_at = line.rfind(MARK_OPEN, start, end)
        if open_at != -1 and line.find(MARK_CLOSE, open_at, end) == -1:
            close_at = line.find(MARK_CLOSE, end)
            end = close_at + 1 if close_at != -1 else end
        out.append(line[start:end])
        start = end
    out.append(line[start:])
    return out


def display_text(text: str, limit: int | None = PREVIEW_CHARS) -> tuple[list[str], set[int], int]:
    """The lines to show for ``text``, which of them continue the previous line, and
    how many characters were left out (0 when none)."""
    head, cut = (text, 0) if limit is None else elide(text, limit)
    lines: list[str] = []
    continuations: set[int] = set()
    for line in make_visible(head.replace("\r\n", "\n")).split("\n"):
        if len(line) <= LINE_PIECE:
            lines.append(line)
            continue
        for i, piece in enumerate(_pieces(line)):
            if i:
                continuations.add(len(lines))
                piece = CONTINUATION + piece
            lines.append(piece)
    return lines, continuations, cut


def plain_tooltip(text: str, limit: int = 1_500) -> str:
    """A tooltip showing untrusted ``text`` literally. Qt guesses whether a tooltip is
    rich text, so the text is escaped and wrapped rather than passed as is. Empty text
    stays empty: Qt shows no tooltip for it (an empty paragraph would show a box)."""
    if not text:
        return ""
    head, cut = elide(text, limit)
    body = html.escape(make_visible(head))
    if cut:
        body += html.escape(f"… (+{cut:,} characters; use “View whole value”)")
    return f"<p style='white-space:pre-wrap'>{body}</p>"


def copy_selection(widget: QWidget | None) -> bool:
    """Copy the text selected in ``widget`` (a text view, line edit or selectable
    label); False when it has no selection. For a window command on Ctrl+C: read-only
    text views do not claim the key, so the command must copy their selection."""
    if isinstance(widget, QPlainTextEdit) and widget.textCursor().hasSelection():
        widget.copy()
        return True
    if isinstance(widget, QLineEdit) and widget.hasSelectedText():
        widget.copy()
        return True
    if isinstance(widget, QLabel) and widget.hasSelectedText():
        QGuiApplication.clipboard().setText(widget.selectedText())
        return True
    return False


def monospace_font() -> QFont:
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


def marker_format(palette: Palette) -> QTextCharFormat:
    """How a visible marker for a hidden character is painted."""
    marker = QTextCharFormat()
    marker.setBackground(qcolor(palette.marker.background))
    marker.setForeground(qcolor(palette.marker.text))
    return marker


class MarkerHighlighter(QSyntaxHighlighter):
    """Paints ``⟦…⟧`` markers and styles the blocks named in `line_kinds`."""

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        #: Block number → how to paint it; blocks not listed are body text.
        self.line_kinds: dict[int, LineKind] = {}
        self._whole_line: dict[LineKind, QTextCharFormat] = {}
        on_palette(self, self._set_colours)

    def _set_colours(self, palette: Palette) -> None:
        self._marker = marker_format(palette)
        self._header = QTextCharFormat()
        self._header.setFontWeight(QFont.Weight.Bold)
        self._header.setForeground(qcolor(palette.accent))
        self._error_header = QTextCharFormat(self._header)
        self._error_header.setForeground(qcolor(palette.error))
        self._muted = QTextCharFormat()
        self._muted.setForeground(qcolor(palette.muted))
        self._note = QTextCharFormat(self._muted)
        self._note.setFontItalic(True)
        self._added = QTextCharFormat()
        self._added.setBackground(qcolor(palette.added.background))
        self._added.setForeground(qcolor(palette.added.text))
        self._removed = QTextCharFormat()
        self._removed.setBackground(qcolor(palette.removed.background))
        self._removed.setForeground(qcolor(palette.removed.text))
        self._hunk = QTextCharFormat()
        self._hunk.setForeground(qcolor(palette.accent_alt))
        self._whole_line = {
            LineKind.HEADER: self._header,
            LineKind.ERROR_HEADER: self._error_header,
            LineKind.NOTE: self._note,
            LineKind.ADDED: self._added,
            LineKind.REMOVED: self._removed,
            LineKind.HUNK: self._hunk,
        }
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        kind = self.line_kinds.get(self.currentBlock().blockNumber()) if self.line_kinds else None
        if kind is LineKind.CONTINUATION:
            self.setFormat(0, len(CONTINUATION), self._muted)
        elif kind is not None:
            self.setFormat(0, len(text), self._whole_line[kind])
        if MARK_OPEN in text:
            for match in _MARKER_RE.finditer(text):
                self.setFormat(match.start(), match.end() - match.start(), self._marker)


class PlainTextView(QWidget):
    """A read-only plain-text view for untrusted text, plain or in titled sections.

    Shows the first `PREVIEW_CHARS` characters and a "Show all (5.2 MB)" button when
    there is more.
    """

    def __init__(self, parent: QWidget | None = None, *, wrap: bool = True,
                 monospace: bool = False, limit: int = PREVIEW_CHARS,
                 classify: LineClassifier | None = None) -> None:
        super().__init__(parent)
        self._limit = limit
        self._classify = classify
        self._sections: list[Section] = []
        self._plain = True
        self.editor = QPlainTextEdit(self)
        self.editor.setReadOnly(True)
        self.editor.setUndoRedoEnabled(False)
        self.editor.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.editor.setLineWrapMode(
            QPlainTextEdit.LineWrapMode.WidgetWidth if wrap else QPlainTextEdit.LineWrapMode.NoWrap
        )
        if monospace:
            self.editor.setFont(monospace_font())
        self.highlighter = MarkerHighlighter(self.editor.document())
        self._cut_label = QLabel(self)
        self._cut_label.setTextFormat(Qt.TextFormat.PlainText)
        self._show_all = QPushButton(self)
        self._show_all.clicked.connect(self._on_show_all)
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(self._cut_label, 1)
        bar.addWidget(self._show_all)
        self._bar = QWidget(self)
        self._bar.setLayout(bar)
        self._bar.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self._bar)

    def set_text(self, text: str) -> None:
        """Show ``text`` (untrusted) from the top."""
        self._plain = True
        self._sections = [Section("", text)]
        self._render(self._limit)

    def set_sections(self, sections: Sequence[Section]) -> None:
        """Show ``sections``: each header on its own styled line, then its body."""
        self._plain = False
        self._sections = list(sections)
        self._render(self._limit)

    def clear(self) -> None:
        self._sections = []
        self.highlighter.line_kinds = {}
        self.editor.clear()
        self._bar.hide()

    def shown_text(self) -> str:
        """What the person sees, as plain text (markers included)."""
        return self.editor.toPlainText()

    def fit_height(self, width: int, max_lines: int, min_lines: int = 1) -> None:
        """Grow with the wrapped text at ``width`` pixels, from ``min_lines`` up to
        ``max_lines`` lines, then scroll: the maximum is the text's height, the minimum
        ``min_lines`` (measured on the first 4,000 characters: enough to know it needs
        the most)."""
        editor = self.editor
        metrics = editor.fontMetrics()
        margin = 2 * editor.frameWidth() + int(editor.document().documentMargin() * 2) + 2
        text = self.shown_text()[:4000] or " "
        flags = int(Qt.TextFlag.TextWordWrap) if editor.lineWrapMode() != \
            QPlainTextEdit.LineWrapMode.NoWrap else 0
        bounds = metrics.boundingRect(QRect(0, 0, max(80, width - margin - 4), 1_000_000),
                                      flags, text)
        line = metrics.lineSpacing()
        lines = max(1, round(bounds.height() / line))
        if self._bar.isVisible():
            lines += 2
        self.setMaximumHeight(line * min(lines, max_lines) + margin)
        self.setMinimumHeight(line * min(lines, min_lines) + margin)

    def _render(self, limit: int | None) -> None:
        lines: list[str] = []
        kinds: dict[int, LineKind] = {}
        budget = limit
        total = 0
        cut_total = 0
        for section in self._sections:
            total += len(section.body)
            if not self._plain:
                if lines:
                    lines.append("")
                kinds[len(lines)] = LineKind.ERROR_HEADER if section.error else LineKind.HEADER
                lines.append(section.header)
            if budget is not None and budget <= 0:
                cut_total += len(section.body)
                continue
            body_lines, continuations, cut = display_text(section.body, budget)
            if self._classify is not None:
                for number, line in enumerate(body_lines):
                    line_kind = self._classify(line)
                    if line_kind is not None:
                        kinds[len(lines) + number] = line_kind
            for number in continuations:
                kinds[len(lines) + number] = LineKind.CONTINUATION
            lines.extend(body_lines)
            cut_total += cut
            if budget is not None:
                budget -= len(section.body) - cut
        if cut_total:
            kinds[len(lines)] = LineKind.NOTE
            lines.append(f"… {cut_total:,} more characters not shown")
        self.highlighter.line_kinds = kinds
        self.editor.setPlainText("\n".join(lines))
        self._bar.setVisible(bool(cut_total))
        if cut_total:
            shown = total - cut_total
            self._cut_label.setText(f"Showing the first {shown:,} of {total:,} characters.")
            size = sum(len(s.body.encode("utf-8", "surrogatepass")) for s in self._sections)
            self._show_all.setText(f"Show all ({human_size(size)})")

    def _on_show_all(self) -> None:
        self._render(None)


class TextViewerDialog(QDialog):
    """A window with one whole value, for when a cell or tooltip had to cut it."""

    def __init__(self, title: str, text: str, parent: QWidget | None = None, *,
                 monospace: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("textViewerDialog")
        self.setWindowTitle(one_line(title, 120))
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(900, 640)
        self.view = PlainTextView(self, monospace=monospace)
        self.view.set_text(text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        heading = QLabel(one_line(title, 400), self)
        heading.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(heading)
        layout.addWidget(self.view, 1)
        layout.addWidget(buttons)
