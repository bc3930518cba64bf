"""The JSON the trace feed reads and writes, fast: msgspec's C parser and encoder, with
the standard library behind them for what msgspec refuses.

Span attributes carry JSON texts of their own (``input.value``, GenAI messages, tool
arguments), so parsing and encoding are a large share of ingest. msgspec is several
times faster than ``json``; it refuses ``NaN``/``Infinity`` literals, numbers past
a double's range, lone surrogate escapes and nesting deeper than it recurses, and the
standard parser then gives the answer it always gave. Results are the same either way.
"""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec

_DECODE = msgspec.json.Decoder()
_SORTED = msgspec.json.Encoder(order="sorted")
_CANONICAL = json.JSONEncoder(
    sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
)
_CANONICAL_NAN = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    """``json.loads``, faster. Raises ``ValueError`` (or ``RecursionError``) as it does."""
    try:
        return _DECODE.decode(text)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        pass
    return json.loads(text)


def canonical_json(value: Any) -> str:
    """The one JSON encoding the store writes: sorted keys, UTF-8 text, no spaces.
    NaN and infinities (legal OTLP doubles) are written as strings."""
    try:
        # msgspec writes NaN as null: values holding one take the standard path.
        text = _SORTED.encode(value).decode()
        if "null" not in text or not _has_non_finite(value):
            return text
    except (TypeError, ValueError, RecursionError):  # odd keys, lone surrogates, depth
        pass
    try:
        return _CANONICAL.encode(value)
    except ValueError:
        return _CANONICAL_NAN.encode(_finite(value))


def _has_non_finite(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


def _finite(value: Any) -> Any:
    # Iterative, like the decoders: values can be deep.
    holder = [value]
    stack: list[tuple[Any, Any]] = [(holder, 0)]
    while stack:
        parent, slot = stack.pop()
        item = parent[slot]
        if isinstance(item, float) and not math.isfinite(item):
            parent[slot] = "NaN" if item != item else ("Infinity" if item > 0 else "-Infinity")
        elif isinstance(item, list):
            parent[slot] = copy = list(item)
            stack.extend((copy, index) for index in range(len(copy)))
        elif isinstance(item, dict):
            parent[slot] = mapping = dict(item)
            stack.extend((mapping, key) for key in mapping)
    return holder[0]
