"""The selected span in full: a header line, an error banner, and tabs for what the
span holds — a conversation for an LLM call, arguments and result for a tool call,
documents for a retrieval, the input and output JSON, the raw attributes, events and
errors.

Everything shown comes from an agent or a trace and is untrusted: text goes into
`PlainTextView` (never rich text; hidden characters become visible markers), JSON into
the lazy `JsonValueView`. Big values are cut with a "Show all" / "View whole value"
way to see them whole; JSON beyond `MAX_PARSE_CHARS` is shown as text unparsed.
"""

from __future__ import annotations

from countersign.domain import SpanKind, SpanRecord
from countersign.text import duration_text, one_line

from ..json_tree import JsonValueView
from ..palette import restyle, strip_style, text_style
from ..qt.core import Qt
from ..qt.widgets import QLabel, QTabWidget, QVBoxLayout, QWidget
from ..widgets.text import PlainTextView, plain_tooltip
from . import span_content as content
from .documents import DocumentsView
from .format import UNKNOWN, compact_count, cost_text, is_error, span_duration
from .links_bar import CallLinksBar
from .span_content import ParsedJson

EMPTY_TITLE = "Select a span to see what it did"
NOTHING_TEXT = "This span recorded no input, output, attributes or events."
#: Said besides, when the span has children.
CHILDREN_TEXT = " Its children, above, say what happened within it."


class SpanDetailView(QWidget):
    """See the module docstring. Pages are built once and reused across spans; the tab
    the person picked stays picked when the next span has it too."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(self)
        self.title.setObjectName("spanTitle")
        self.meta = QLabel(self)
        self.meta.setObjectName("spanMeta")
        restyle(self.meta, lambda p: text_style("QLabel", p.muted))
        self.meta.setWordWrap(True)
        #: The spans this one's tool call ids link it to (filled by the inspector).
        self.links = CallLinksBar(self)
        self.error_banner = QLabel(self)
        self.error_banner.setObjectName("spanError")
        self.error_banner.setWordWrap(True)
        restyle(self.error_banner, lambda p: strip_style("QLabel", p.error_banner, "4px 6px"))
        for label in (self.title, self.meta, self.error_banner):
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.title.setFont(font)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("spanTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.currentChanged.connect(self._remember_tab)
        self.conversation = PlainTextView(self)
        self.conversation.setObjectName("conversation")
        self.arguments = JsonValueView(self)
        self.result = JsonValueView(self)
        self.documents = DocumentsView(self)
        self.input_view = JsonValueView(self)
        self.output_view = JsonValueView(self)
        self.input_text = PlainTextView(self)
        self.output_text = PlainTextView(self)
        self.attributes = JsonValueView(self)
        self.events = PlainTextView(self, monospace=True)
        self.events.setObjectName("events")
        self.errors = PlainTextView(self, monospace=True)
        self.errors.setObjectName("errors")
        self.nothing = QLabel(NOTHING_TEXT, self)
        self.nothing.setObjectName("spanNothing")
        self.nothing.setTextFormat(Qt.TextFormat.PlainText)
        self.nothing.setAlignment(Qt.AlignmentFlag.AlignCenter)
        restyle(self.nothing, lambda p: text_style("QLabel", p.muted))
        for page in self._pages():
            page.hide()  # until a tab holds it; a loose child would paint over the header
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(3)
        layout.addWidget(self.title)
        layout.addWidget(self.meta)
        layout.addWidget(self.links)
        layout.addWidget(self.error_banner)
        layout.addWidget(self.tabs, 1)
        self._wanted_tab = ""
        self._filling = False
        self.span: SpanRecord | None = None
        self.clear()

    def _pages(self) -> tuple[QWidget, ...]:
        return (self.conversation, self.arguments, self.result, self.documents,
                self.input_view, self.output_view, self.input_text, self.output_text,
                self.attributes, self.events, self.errors, self.nothing)

    def clear(self) -> None:
        self.span = None
        self.title.setText(EMPTY_TITLE)
        self.meta.clear()
        self.links.clear()
        self.error_banner.hide()
        self._filling = True
        self.tabs.clear()
        self._filling = False
        self.tabs.hide()

    def tab_titles(self) -> list[str]:
        return [self.tabs.tabText(i) for i in range(self.tabs.count())]

    def show_span(self, span: SpanRecord, *, proposer: bool = False,
                  children: int = 0) -> None:
        """Show ``span``; ``proposer`` says it is the span that proposed the action,
        ``children`` how many spans it has below it."""
        self.span = span
        self.nothing.setText(NOTHING_TEXT + (CHILDREN_TEXT if children else ""))
        failed = is_error(span)
        self.title.setText(f"{span.kind.value.upper()} · {one_line(span.name, 160)}"
                           + ("  — proposed the action" if proposer else ""))
        self.meta.setText(self.meta_text(span))
        if failed:
            message = span.status_message or span.error_type or "the span failed"
            self.error_banner.setText(f"Error: {one_line(message, 600)}")
            self.error_banner.setToolTip(plain_tooltip(message))
        self.error_banner.setVisible(failed)
        self._filling = True
        try:
            self._fill(span, failed)
        finally:
            self._filling = False
        self.tabs.show()

    @staticmethod
    def meta_text(span: SpanRecord) -> str:
        running = span.end_ns is None
        parts = [one_line(p, 60) for p in (span.model, span.provider) if p]
        if not running:
            parts.append(duration_text(span_duration(span)))
        if span.prompt_tokens is not None or span.completion_tokens is not None:
            parts.append(f"{compact_count(span.prompt_tokens or 0)} in → "
                         f"{compact_count(span.completion_tokens or 0)} out tokens")
            if span.cost is None:
                parts.append(f"cost {UNKNOWN}")  # a model call without a price: not free
        if span.cost is not None:
            parts.append(cost_text(span.cost))
        if running and not is_error(span):  # its status comes when it ends
            parts.append("running, no status yet")
        else:
            parts.append(f"status {one_line(span.status_code, 20)}")
        parts.append(f"span {one_line(span.span_id, 32)}")
        return " · ".join(parts)

    def _fill(self, span: SpanRecord, failed: bool) -> None:
        self.tabs.clear()
        inp = content.parse_field(span.input_json)
        out = content.parse_field(span.output_json)
        tool = content.tool_parts(span, inp, out)
        if span.kind is SpanKind.LLM:
            sections = (content.conversation(inp.value, reply=False)
                        + content.conversation(out.value, reply=True))
            if sections:
                self.conversation.set_sections(sections)
                self.tabs.addTab(self.conversation, "Conversation")
        elif tool is not None:
            self.arguments.show_value(tool[0])
            self.tabs.addTab(self.arguments, "Arguments")
            self.result.show_value(tool[1])
            self.tabs.addTab(self.result, "Result")
        elif span.kind is SpanKind.RETRIEVER:
            docs = content.documents(out.value)
            if docs is not None:
                self.documents.set_documents(content.retrieval_query(inp.value), docs)
                self.tabs.addTab(self.documents, "Documents")
        self._add_json(self.input_view, self.input_text, inp, "Input")
        self._add_json(self.output_view, self.output_text, out, "Output")
        attributes = content.parse_field(span.attributes_json)
        if attributes.raw is not None or attributes.value:
            self._add_json(self.attributes, None, attributes, "Attributes")
        events = content.events(span)
        if events:
            self.events.set_sections(content.event_sections(span, events))
            self.tabs.addTab(self.events, f"Events ({len(events)})")
        errors = content.error_sections(span, failed, events)
        if errors:
            self.errors.set_sections(errors)
            self.tabs.addTab(self.errors, "Error")
        if not self.tabs.count():
            self.tabs.addTab(self.nothing, "Details")
        self._pick_tab(prefer_error=failed)

    def _add_json(self, tree: JsonValueView, text: PlainTextView | None, parsed: ParsedJson,
                  title: str) -> None:
        if not parsed.present:
            return
        if parsed.raw is not None:
            tree.show_raw(parsed.raw, parsed.reason or "")
            self.tabs.addTab(tree, title)
        elif isinstance(parsed.value, str) and text is not None:
            text.set_text(parsed.value)  # a plain string reads better as text
            self.tabs.addTab(text, title)
        else:
            tree.show_value(parsed.value)
            self.tabs.addTab(tree, title)

    def _pick_tab(self, *, prefer_error: bool) -> None:
        titles = self.tab_titles()
        wanted = self._wanted_tab
        if prefer_error and "Error" in titles and wanted not in titles:
            wanted = "Error"
        for i, title in enumerate(titles):
            if title.split(" (")[0] == wanted.split(" (")[0]:
                self.tabs.setCurrentIndex(i)
                return
        self.tabs.setCurrentIndex(0)

    def _remember_tab(self, index: int) -> None:
        if not self._filling and index >= 0:
            self._wanted_tab = self.tabs.tabText(index)

