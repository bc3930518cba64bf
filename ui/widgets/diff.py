"""JSON as a person edits and compares it: pretty-printed with hidden characters as
``\\uXXXX`` escapes, and a unified diff that stays fast on megabyte documents."""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

from countersign.text import hidden_characters

from ..qt.widgets import QWidget
from .text import LineKind, PlainTextView

#: Characters Qt draws as line breaks inside a line; escaped like hidden characters
#: so a string value cannot pretend to span several JSON lines.
_LINE_BREAKERS = re.compile("[\u2028\u2029\u0085]")
_HUNK_RE = re.compile(r"^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@$")


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code > 0xFFFF:  # JSON spells astral characters as a surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def escape_hidden(json_text: str) -> str:
    """``json_text`` with every hidden or bidirectional character written as a
    ``\\uXXXX`` escape: the same JSON value, but nothing invisible in the editor.
    Such characters only occur inside strings, where escapes are valid."""
    positions = sorted(
        {i for i, _ in hidden_characters(json_text)}
        | {m.start() for m in _LINE_BREAKERS.finditer(json_text)}
    )
    if not positions:
        return json_text
    parts: list[str] = []
    last = 0
    for i in positions:
        parts.append(json_text[last:i])
        parts.append(_json_escape(json_text[i]))
        last = i + 1
    parts.append(json_text[last:])
    return "".join(parts)


def readable_json(value: Any) -> str:
    """Indented JSON with characters as they are, for views that run `make_visible`
    (hidden characters then show as highlighted ``⟦…⟧`` markers, not escapes)."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def pretty_json(value: Any) -> str:
    """The text the edit dialog starts from and diffs against."""
    return escape_hidden(json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False))


def json_diff(before: str, after: str, *, context: int = 3) -> str:
    """A unified diff of two texts (empty when equal).

    The common head and tail are cut off before `difflib` runs, so an edit of one
    value in a 50,000-line document costs a scan, not a quadratic match.
    """
    a = before.splitlines()
    b = after.splitlines()
    limit = min(len(a), len(b))
    head = 0
    while head < limit and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < limit - head and a[len(a) - 1 - tail] == b[len(b) - 1 - tail]:
        tail += 1
    if head == len(a) == len(b):
        return ""
    lo = max(0, head - context)
    keep_tail = max(0, tail - context)
    lines = difflib.unified_diff(
        a[lo:len(a) - keep_tail], b[lo:len(b) - keep_tail],
        "original", "edited", n=context, lineterm="",
    )

    def shift(line: str) -> str:
        match = _HUNK_RE.match(line)
        if match is None or not lo:
            return line
        old, old_len, new, new_len = match.groups()
        return f"@@ -{int(old) + lo}{old_len or ''} +{int(new) + lo}{new_len or ''} @@"

    return "\n".join(shift(line) for line in lines)


def diff_line_kind(line: str) -> LineKind | None:
    if line.startswith(("+++", "---")):
        return LineKind.HEADER
    if line.startswith("+"):
        return LineKind.ADDED
    if line.startswith("-"):
        return LineKind.REMOVED
    if line.startswith("@@"):
        return LineKind.HUNK
    return None


class DiffView(PlainTextView):
    """A read-only unified diff with added lines green and removed lines red."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, wrap=False, monospace=True, classify=diff_line_kind)
