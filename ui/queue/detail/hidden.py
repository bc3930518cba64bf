"""Finding hidden and bidirectional characters in an action's arguments, by JSON path,
for the warning banner ("2 hidden characters in $.to — shown as ⟦…⟧").

The scan must stay cheap on megabyte arguments: one C-level regex pass over the
stored JSON text decides whether the parsed value needs walking at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from countersign.text import count_hidden, has_bidi, has_hidden, one_line

from ...json_tree import child_path

#: Values visited at most; past that the banner says the scan stopped.
SCAN_BUDGET = 200_000


@dataclass
class HiddenFindings:
    """Where hidden characters sit: path → how many, in the order found."""

    counts: dict[str, int] = field(default_factory=dict)
    bidi: bool = False
    incomplete: bool = False

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def add(self, path: str, text: str) -> None:
        if not has_hidden(text):
            return
        self.counts[path] = self.counts.get(path, 0) + count_hidden(text)
        self.bidi = self.bidi or has_bidi(text)

    def banner(self) -> str:
        """One sentence for the operator, or "" when nothing is hidden."""
        if not self.counts:
            return ""
        total = self.total
        noun = "character" if total == 1 else "characters"
        places = list(self.counts.items())
        if len(places) == 1:
            where = f"in {one_line(places[0][0], 120)}"
        else:
            shown = ", ".join(f"{one_line(p, 80)} ({n})" for p, n in places[:4])
            more = f" and {len(places) - 4} more" if len(places) > 4 else ""
            where = f"in {len(places)} places: {shown}{more}"
        text = f"{total:,} hidden {noun} {where} — shown as ⟦…⟧."
        if self.bidi:
            text += (" Includes bidirectional controls, which make text read in a"
                     " different order than it is stored.")
        if self.incomplete:
            text += f" (Scan stopped after {SCAN_BUDGET:,} values.)"
        return text


def might_hide(json_text: str) -> bool:
    """False when ``json_text`` (as stored) certainly holds no hidden character; the
    encoder writes C0 controls as ``\\u00XX`` escapes, hence the second test."""
    return has_hidden(json_text) or "\\u00" in json_text


def find_hidden(value: Any) -> HiddenFindings:
    """Hidden characters in the keys and string values of parsed JSON ``value``."""
    findings = HiddenFindings()
    stack: list[tuple[Any, str]] = [(value, "$")]
    visited = 0
    while stack:
        item, path = stack.pop()
        visited += 1
        if visited > SCAN_BUDGET:
            findings.incomplete = True
            break
        if isinstance(item, str):
            findings.add(path, item)
        elif isinstance(item, dict):
            for key, child in reversed(item.items()):
                child_at = child_path(path, key)
                findings.add(child_at, key)
                stack.append((child, child_at))
        elif isinstance(item, list):
            stack.extend((child, child_path(path, i)) for i, child in
                         reversed(list(enumerate(item))))
    return findings


def find_hidden_in_text(text: str) -> HiddenFindings:
    """For arguments shown as raw text (they could not be parsed)."""
    findings = HiddenFindings()
    findings.add("the raw arguments", text)
    return findings
