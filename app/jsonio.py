"""JSON as the store keeps it: one canonical encoding, and a cleaning pass that turns
whatever an agent hands us into JSON that can be stored and shown.

Agents send surprising things: bytes that are not UTF-8, strings holding lone
surrogates (from ``surrogateescape`` decoding), NaN, tuples, nesting thousands deep.

Where the line is: data that arrives as JSON text from another program (a LangGraph
interrupt, an OTLP attribute, a stored row) is shown, never acted on from our copy,
so the cleaner repairs what it can visibly (lone surrogates shown as ``\\xNN``
escapes, NaN as text) and reports each repair with its JSON path, and the console
flags the action. Values an agent hands the gate SDK are different: the agent acts on
the arguments the verdict returns, so a repaired value would be a lie to the reviewer
about what the agent will do. ``clean(strict=True)`` (the gate) refuses each such
value with `JsonInputError` naming its path instead: NaN and ±inf, bytes, text that
is not valid Unicode, keys that are not text or numbers, and two keys that JSON
would merge (``1`` and ``"1"``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import msgspec

#: Deeper than this is refused: the JSON encoder and decoder recurse, and no operator
#: can review a structure nested deeper anyway.
MAX_DEPTH = 200


class JsonInputError(ValueError):
    """The value cannot be stored as JSON; ``path`` says where (``$.a[3].b``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


def canonical(value: Any) -> str:
    """The one encoding used for hashing and storage: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def _repair_text(text: str, path: str, warnings: list[str]) -> str:
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        # Lone surrogates: show each undecodable byte as \xNN so the operator sees it.
        handler = "surrogateescape" if _is_escape(text) else "backslashreplace"
        repaired = text.encode("utf-8", handler)
        warnings.append(f"{path}: text was not valid UTF-8; bad bytes shown as \\x escapes")
        return repaired.decode("utf-8", "backslashreplace")


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_escape(text: str) -> bool:
    return all(0xDC80 <= ord(ch) <= 0xDCFF for ch in text if 0xD800 <= ord(ch) <= 0xDFFF)


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if key.isidentifier():
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def _key_text(key: Any, path: str, strict: bool, warnings: list[str]) -> str:
    """A mapping key as JSON text: text stays, integers become their digits (as
    ``json.dumps`` does); anything else is refused when ``strict``, else shown as its
    ``str`` with a warning."""
    if isinstance(key, str):
        return key
    if isinstance(key, int) and not isinstance(key, bool):
        return str(key)
    if strict:
        raise JsonInputError(path, f"the key {key!r} is a {type(key).__name__}; JSON object "
                                   "keys are text (or integers, sent as their digits)")
    warnings.append(f"{path}: the key {key!r} is not text; stored as {str(key)!r}")
    return str(key)


def clean(value: Any, *, root: str = "$", strict: bool = False) -> tuple[Any, list[str]]:
    """Return ``value`` as plain JSON data plus the list of repairs made.

    Raises `JsonInputError` for what cannot be represented at all: nesting deeper than
    `MAX_DEPTH`, or an object of an unknown type. With ``strict`` (the gate SDK) it
    also raises, naming the path, for every value it would otherwise repair, so the
    result is always exactly the value given and the warnings are empty.
    """
    warnings: list[str] = []
    # Iterative on purpose: recursion would fail on the deeply nested input we guard.
    out_root: list[Any] = [None]
    stack: list[tuple[Any, str, int, Any, Any]] = [(value, root, 0, out_root, 0)]
    while stack:
        item, path, depth, parent, slot = stack.pop()
        if depth > MAX_DEPTH:
            raise JsonInputError(path, f"nested deeper than {MAX_DEPTH} levels")
        result: Any
        if item is None or isinstance(item, bool | int):
            result = item
        elif isinstance(item, float):
            if math.isfinite(item):
                result = item
            elif strict:
                raise JsonInputError(path, f"{item!r} is not a JSON number; send a finite "
                                           "number, or null or a string that says what it means")
            else:
                result = repr(item)
                warnings.append(f"{path}: {result} is not JSON; stored as the text '{result}'")
        elif isinstance(item, str):
            if strict and not _is_unicode(item):
                raise JsonInputError(path, "the text is not valid Unicode (it holds a lone "
                                           "surrogate, e.g. from surrogateescape decoding)")
            result = _repair_text(item, path, warnings)
        elif isinstance(item, bytes | bytearray | memoryview):
            if strict:
                raise JsonInputError(path, f"{type(item).__name__} is not JSON text; decode it "
                                           "(or encode it as base64) before sending")
            raw = bytes(item)
            try:
                result = raw.decode("utf-8")
            except UnicodeDecodeError:
                result = raw.decode("utf-8", "backslashreplace")
                warnings.append(
                    f"{path}: bytes were not valid UTF-8; bad bytes shown as \\x escapes"
                )
        elif isinstance(item, Mapping):
            result = {}
            for key, child in item.items():
                skey = _key_text(key, path, strict, warnings)
                if strict and not _is_unicode(skey):
                    raise JsonInputError(_child(path, _repair_text(skey, path, [])),
                                         "the key is not valid Unicode")
                skey = _repair_text(skey, _child(path, skey), warnings)
                if skey in result:
                    if strict:
                        raise JsonInputError(_child(path, skey), "two keys of this object are "
                                             f"the same in JSON ({skey!r}); one would be lost")
                    warnings.append(f"{_child(path, skey)}: two keys are the same in JSON; "
                                    "the last one was kept")
                result[skey] = None
                stack.append((child, _child(path, skey), depth + 1, result, skey))
        elif isinstance(item, list | tuple):
            result = [None] * len(item)
            for i, child in enumerate(item):
                stack.append((child, _child(path, i), depth + 1, result, i))
        else:
            raise JsonInputError(path, f"a {type(item).__name__} is not JSON data")
        parent[slot] = result
    return out_root[0], warnings


def loads(text: str | bytes) -> Any:
    """Parse JSON we or a source wrote, fast: msgspec's C parser first, the standard
    one for what msgspec refuses (``NaN`` literals, numbers past a double's range, lone
    surrogate escapes, deep nesting), so the result is the same either way. Invalid
    JSON raises ``ValueError``; nesting too deep to parse `JsonInputError`."""
    try:
        return _DECODE.decode(text)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        pass
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise JsonInputError("$", "nested too deeply to parse") from exc


def depth(value: Any) -> int:
    """Nesting depth of parsed JSON data (a scalar is 0), computed without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, d = stack.pop()
        deepest = max(deepest, d)
        if isinstance(item, dict):
            stack.extend((v, d + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, d + 1) for v in item)
    return deepest


# -- trace data: the fast, NaN-tolerant encoding -------------------------------------

_DECODE = msgspec.json.Decoder()
_SORTED = msgspec.json.Encoder(order="sorted")
_CANONICAL = json.JSONEncoder(
    sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
)
_CANONICAL_NAN = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def canonical_json(value: Any) -> str:
    """`canonical`'s encoding for trace data, fast (msgspec) and tolerant: NaN and
    infinities (legal OTLP doubles) are written as strings instead of refused. Span
    attributes go through it by the million; audited values go through `canonical`."""
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
