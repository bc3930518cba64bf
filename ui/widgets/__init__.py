"""Widgets shared by several workspaces (untrusted-text views, diff view)."""

from .diff import DiffView, json_diff, pretty_json, readable_json
from .text import (
    MarkerHighlighter,
    PlainTextView,
    Section,
    TextViewerDialog,
    display_text,
    plain_tooltip,
)

__all__ = [
    "DiffView",
    "MarkerHighlighter",
    "PlainTextView",
    "Section",
    "TextViewerDialog",
    "display_text",
    "json_diff",
    "plain_tooltip",
    "pretty_json",
    "readable_json",
]
