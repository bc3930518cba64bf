"""Agent text is shown literally: hidden and bidirectional characters as visible
markers, HTML as characters, never through Qt's rich-text engine."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMainWindow
from pytestqt.qtbot import QtBot

from countersign.domain import ActionDetail, SpanKind, SpanRecord
from countersign.gate.steps import Message, Step, steps_to_spans
from countersign_ui.json_tree import HIDDEN_ROLE, KEY_COLUMN, VALUE_COLUMN, JsonTreeModel
from countersign_ui.queue.detail import ActionDetailPane
from countersign_ui.widgets import PlainTextView, plain_tooltip

from .samples import parsed, refund_detail

HTML = "<b>bold</b><img src=x><a href='https://evil.example'>click</a>"
SNEAKY = {"to": "alice@example.com\u202e\u200b", "amount": 5, "m\u200bemo": "ok"}


def test_tree_shows_markers_for_bidi_and_zero_width() -> None:
    model = JsonTreeModel(SNEAKY)
    rows = {model.index(r, KEY_COLUMN).data(): r for r in range(model.rowCount())}
    value = model.index(rows["to"], VALUE_COLUMN)
    assert value.data() == "alice@example.com⟦RLO U+202E⟧⟦ZWSP U+200B⟧"
    assert value.data(HIDDEN_ROLE) is True
    assert "m⟦ZWSP U+200B⟧emo" in rows
    assert model.index(rows["amount"], 0).data(HIDDEN_ROLE) is False


def test_text_view_shows_and_highlights_markers(qtbot: QtBot) -> None:
    view = PlainTextView()
    qtbot.addWidget(view)
    view.set_text("file: invoice_\u202egpj.exe\u200b <b>x</b>")
    shown = view.shown_text()
    assert shown == "file: invoice_⟦RLO U+202E⟧gpj.exe⟦ZWSP U+200B⟧ <b>x</b>"
    formats = view.editor.document().firstBlock().layout().formats()
    assert any(f.format.background().color().name() == "#ffb74d" for f in formats)


def test_huge_single_line_is_capped_and_split(qtbot: QtBot) -> None:
    view = PlainTextView()
    qtbot.addWidget(view)
    view.set_text("z" * 5_000_000)
    shown = view.shown_text()
    assert len(shown) < 250_000
    assert max(len(line) for line in shown.split("\n")) <= 2_010
    assert view._show_all.text() == "Show all (4.8 MB)"


def test_tooltips_escape_markup() -> None:
    tip = plain_tooltip(HTML + "\u202e")
    assert "&lt;img src=x&gt;" in tip and "<img" not in tip
    assert "⟦RLO U+202E⟧" in tip


def html_everywhere(span_id: str | None) -> ActionDetail:
    return refund_detail(
        span_id, arguments={"to": HTML + "\u202e", HTML: HTML}, action_class=HTML,
        agent=HTML, agent_version=HTML, description=HTML, source=HTML, error=HTML,
        ingest_warnings=(HTML,), arguments_schema={"description": HTML})


def html_spans() -> tuple[list[SpanRecord], str]:
    steps = [Step(kind=SpanKind.LLM, name=HTML, model=HTML, provider=HTML, error=HTML,
                  messages=[Message(role=HTML, content=HTML)],
                  output_messages=[Message(role="assistant", content=HTML,
                                           tool_calls=[{"name": HTML, "args": {HTML: HTML}}])])]
    spans = steps_to_spans(steps, trace_id="a" * 32, parent_span_id=None, agent=HTML)
    return spans, spans[0].span_id


def test_no_label_in_the_pane_uses_rich_text(qtbot: QtBot) -> None:
    window = QMainWindow()
    pane = ActionDetailPane()
    window.setCentralWidget(pane)
    qtbot.addWidget(window)
    spans, proposer = html_spans()
    detail = html_everywhere(proposer)
    window.show()
    pane.show_action(detail, spans, parsed(detail))
    labels = pane.findChildren(QLabel)
    assert labels
    for label in labels:
        assert label.textFormat() == Qt.TextFormat.PlainText, (label.objectName(), label.text())
    assert HTML in pane.action.action_class.text()
    # the proposing LLM step is selected: its messages are on screen, literally
    texts = [view.shown_text() for view in pane.findChildren(PlainTextView)]
    assert any(HTML in text for text in texts)


def test_hidden_characters_are_announced_by_path(qtbot: QtBot) -> None:
    pane = ActionDetailPane()
    qtbot.addWidget(pane)
    detail = refund_detail(None, arguments=SNEAKY)
    pane.show_action(detail, [], parsed(detail))
    banner = pane.action.warning_banner
    assert not banner.isHidden()
    text = banner.text()
    assert "3 hidden characters in 2 places:" in text
    assert '$["m⟦ZWSP U+200B⟧emo"] (1)' in text and "$.to (2)" in text
    assert "shown as ⟦…⟧" in text
    assert "bidirectional" in text


def test_control_characters_escaped_in_storage_are_found(qtbot: QtBot) -> None:
    pane = ActionDetailPane()
    qtbot.addWidget(pane)
    args: dict[str, Any] = {"cmd": "ls\x1b[2K"}
    detail = refund_detail(None, arguments=args)
    assert "\\u001b" in detail.arguments_json
    pane.show_action(detail, [], parsed(detail))
    assert "1 hidden character in $.cmd" in pane.action.warning_banner.text()
