"""Showing untrusted text honestly.

An agent (or whoever controls its inputs) can hide things in text: a right-to-left
override that makes ``invoice_gpj.exe`` read as ``invoice_exe.jpg``, zero-width
characters that make two recipients look equal, control characters that clear a
terminal line. Before any agent text is shown, `make_visible` replaces each such
character with a visible marker such as ``⟦RLO U+202E⟧``. The GUI shows the result as
plain text only (never Qt rich text), and highlights the markers.
"""

from __future__ import annotations

import re
import unicodedata

_NAMED = {
    "\u200b": "ZWSP",
    "\u200c": "ZWNJ",
    "\u200d": "ZWJ",
    "\u200e": "LRM",
    "\u200f": "RLM",
    "\u061c": "ALM",
    "\u202a": "LRE",
    "\u202b": "RLE",
    "\u202c": "PDF",
    "\u202d": "LRO",
    "\u202e": "RLO",
    "\u2066": "LRI",
    "\u2067": "RLI",
    "\u2068": "FSI",
    "\u2069": "PDI",
    "\u2060": "WJ",
    "\u2061": "FA",
    "\u2062": "IT",
    "\u2063": "IS",
    "\u2064": "IP",
    "\ufeff": "BOM",
    "\u00ad": "SHY",
    "\u034f": "CGJ",
    "\u180e": "MVS",
    "\u115f": "HCF",
    "\u1160": "HJF",
    "\u3164": "HF",
    "\ufffc": "OBJ",
    # Qt lays these out as line breaks: a "one-line" value could hide a second line.
    "\u2028": "LSEP",
    "\u2029": "PSEP",
    "\x85": "NEL",
    "\x7f": "DEL",
}

#: Characters that display as nothing, reorder text, or control a terminal.
_HIDDEN_RE = re.compile(
    "["
    "\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 (but tab and newline) and C1 controls
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\ufff9-\ufffc"
    "\U000e0000-\U000e007f"  # tag characters (invisible "ASCII smuggling")
    "\U000e0100-\U000e01ef"
    "\ud800-\udfff"  # lone surrogates, should any survive
    "]"
)
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")

MARK_OPEN = "⟦"
MARK_CLOSE = "⟧"


def marker(ch: str) -> str:
    code = ord(ch)
    name = _NAMED.get(ch)
    if name is None:
        if code < 0x20 or 0x7F <= code <= 0x9F:
            name = "CTRL"
        elif 0xE0000 <= code <= 0xE007F:
            name = "TAG"
        else:
            name = unicodedata.name(ch, "HIDDEN").split()[0]
    return f"{MARK_OPEN}{name} U+{code:04X}{MARK_CLOSE}"


def make_visible(text: str) -> str:
    """Replace every hidden, bidirectional or control character with a marker."""
    if not _HIDDEN_RE.search(text):
        return text
    return _HIDDEN_RE.sub(lambda m: marker(m.group()), text)


def has_hidden(text: str) -> bool:
    return _HIDDEN_RE.search(text) is not None


def count_hidden(text: str) -> int:
    return sum(1 for _ in _HIDDEN_RE.finditer(text))


def hidden_characters(text: str) -> list[tuple[int, str]]:
    """(index, marker) for each hidden character: for warnings such as "3 hidden
    characters in recipient"."""
    return [(m.start(), marker(m.group())) for m in _HIDDEN_RE.finditer(text)]


def has_bidi(text: str) -> bool:
    return any(ch in _BIDI for ch in text)


def elide(text: str, limit: int) -> tuple[str, int]:
    """The first ``limit`` characters and how many were cut (0 when none were)."""
    if len(text) <= limit:
        return text, 0
    return text[:limit], len(text) - limit


def one_line(text: str, limit: int = 200) -> str:
    """A cell-sized preview: visible markers, newlines shown as ⏎, cut at ``limit``."""
    head, cut = elide(text, limit)
    shown = make_visible(head.replace("\r\n", "\n")).replace("\n", " ⏎ ").replace("\t", " ")
    return f"{shown}… (+{cut:,} chars)" if cut else shown


# -- durations: one formatter for the console and the CLI ---------------------------


def age_text(seconds: float) -> str:
    """An age or a time left: ``12s``, ``4m 10s``, ``2h 05m``, ``3d 4h``."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86_400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86_400}d {s % 86_400 // 3600}h"


def duration_text(ns: int | None, *, open_text: str = "running") -> str:
    """A span's or run's duration: ``850 µs``, ``12.3 ms``, ``1.24 s``, ``3 min 04 s``;
    ``open_text`` while it has not ended."""
    if ns is None:
        return open_text
    if ns < 1_000_000:
        return f"{ns / 1000:.0f} µs"
    if ns < 1_000_000_000:
        ms = ns / 1e6
        return f"{ms:.1f} ms" if ms < 100 else f"{ms:.0f} ms"
    seconds = ns / 1e9
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
