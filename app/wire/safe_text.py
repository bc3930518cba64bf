"""Text the store can take, made so where it is decoded.

A lone surrogate (a JSON ``\\ud83d`` escape with no partner) is valid JSON but not
text: UTF-8 cannot encode it, so the store's insert fails. Invalid UTF-8 bytes become
lone surrogates too when decoded with ``surrogateescape``. Both are shown the way the
rest of the console shows them (``countersign.jsonio``): an undecodable byte as
``\\xNN``, any other lone surrogate as ``\\uXXXX``, as visible text, and each repair is
recorded on the span so nobody mistakes it for what the agent sent.

Two forms: plain text (a span name) gets the escape as characters; JSON text (the
store's canonical JSON of input, output, attributes) gets it with the backslash itself
escaped, so that the JSON parses back to the same visible characters instead of to
the lone surrogate again.
"""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")
#: The first sentence of every repair note (tests and the UI look for it).
REPAIRED = "text was not valid UTF-8"


def _escape(char: str) -> str:
    code = ord(char)
    # surrogateescape maps byte 0xNN (0x80..0xFF) to U+DCNN: show the byte.
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def is_store_safe(text: str) -> bool:
    """True when ``text`` encodes as UTF-8. ASCII is known at once (CPython keeps the
    flag), so only non-ASCII text pays for the check."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def repair_plain(text: str) -> str:
    """``text`` with each lone surrogate written out as a visible escape."""
    return _SURROGATE.sub(lambda m: _escape(m.group()), text)


def repair_json(text: str) -> str:
    """JSON text with each lone surrogate (inside its strings) written out as a
    visible escape whose backslash is itself escaped: ``"\\\\ud83d"`` parses back to the
    six characters ``\\ud83d``."""
    return _SURROGATE.sub(lambda m: "\\" + _escape(m.group()), text)


def safe_plain(text: str, field: str, warnings: list[str]) -> str:
    """``text`` made storable, noting the repair under ``field`` in ``warnings``."""
    if is_store_safe(text):
        return text
    warnings.append(f"{field}: {REPAIRED}; bad characters shown as \\x or \\u escapes")
    return repair_plain(text)


def safe_json(text: str, field: str, warnings: list[str]) -> str:
    """`safe_plain` for JSON text."""
    if is_store_safe(text):
        return text
    warnings.append(f"{field}: {REPAIRED}; bad characters shown as \\x or \\u escapes")
    return repair_json(text)
