"""The review list as plain Python: which lines are held, which the filter shows, in
what order, and what a change does to the shown list (no Qt here, so the rules are
tested without a model).

Lines are shown oldest first (by item id: the order the service hands out items,
and the order sampling added them). A streaming change is turned into a `Plan` of
contiguous removals, insertions and in-place updates; `ReviewQueueModel` replays it
as ``beginRemoveRows``/``beginInsertRows``/``dataChanged``, so a view keeps its
selection on the same item while lines come and go.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

from countersign.services.review_feed import ReviewLine
from countersign.text import age_text, one_line


class Column(IntEnum):
    AGENT = 0
    ACTION = 1
    VERDICT = 2
    WHY = 3
    AGE = 4
    LABELS = 5


TITLES = {
    Column.AGENT: "Agent",
    Column.ACTION: "Action",
    Column.VERDICT: "Verdict",
    Column.WHY: "Why drawn",
    Column.AGE: "Age",
    Column.LABELS: "Labels",
}
TIPS = {
    Column.VERDICT: "The verdict the action got (the operator's, or the autonomy policy's)",
    Column.WHY: "The sampling rule and the probability pi it drew the item with, or who "
                "added it by hand (ad hoc items never count toward estimates)",
    Column.AGE: "How long ago the item entered the review queue",
    Column.LABELS: "Labels it has / labels it needs, from as many different reviewers",
}

#: Verdict → how the list says it.
VERDICT_TEXT = {
    "approve": "approved", "edit": "edited", "reject": "rejected", "respond": "responded",
    "ignore": "ignored", "auto_approve": "auto-approved", "expire": "expired",
    "shadow": "shadow",
}


class Show(StrEnum):
    """Which items the list holds: the reviewer's own work, or the whole queue."""

    #: Open items this reviewer has not labelled (the default: their work).
    MINE = "mine"
    OPEN = "open"
    DONE = "done"
    ALL = "all"

    @property
    def store_state(self) -> str:
        """The item state the store is asked for."""
        return {Show.MINE: "open", Show.OPEN: "open", Show.DONE: "done"}.get(self, "all")


@dataclass(frozen=True)
class ReviewFilter:
    """What the filter bar asks for; the default shows the reviewer's open work."""

    show: Show = Show.MINE
    agent: str | None = None
    action_class: str | None = None
    verdict: str | None = None
    text: str = ""

    def accepts(self, line: ReviewLine, reviewer: str, haystack: str) -> bool:
        if self.show is Show.MINE and (line.state != "open" or reviewer in line.labelled_by):
            return False
        if self.show is Show.OPEN and line.state != "open":
            return False
        if self.show is Show.DONE and line.state != "done":
            return False
        if self.agent is not None and line.agent != self.agent:
            return False
        if self.action_class is not None and line.action_class != self.action_class:
            return False
        if self.verdict is not None and line.verdict != self.verdict:
            return False
        return not self.text or self.text.casefold() in haystack


def subject_text(line: ReviewLine) -> str:
    """The Action column: the action class, or the run for a run reviewed alone."""
    if line.action_class is not None:
        return one_line(line.action_class, 120)
    return f"run {(line.trace_id or '')[:12]}"


def verdict_text(line: ReviewLine) -> str:
    if line.verdict is None:
        return "—" if line.action_id is not None else "(run)"
    text = VERDICT_TEXT.get(line.verdict, line.verdict)
    return f"{text} ({line.severity})" if line.severity else text


def labels_text(line: ReviewLine) -> str:
    return f"{line.labels}/{line.needed}"


def cell_text(line: ReviewLine, column: Column, now: float) -> str:
    if column is Column.AGENT:
        return one_line(line.agent or "—", 80)
    if column is Column.ACTION:
        return subject_text(line)
    if column is Column.VERDICT:
        return verdict_text(line)
    if column is Column.WHY:
        return one_line(line.why, 80)
    if column is Column.AGE:
        return age_text(now - line.created_at)
    return labels_text(line)


def labels_tip(line: ReviewLine) -> str:
    parts = [f"{line.labels} of {line.needed} label(s) given"]
    if line.labelled_by:
        parts.append("labelled by " + ", ".join(line.labelled_by))
    if line.claimed_by:
        parts.append("being labelled by " + ", ".join(line.claimed_by))
    return "; ".join(parts)


def labelable(line: ReviewLine, reviewer: str) -> bool:
    """Whether ``reviewer`` may label the item now: open, not labelled by them, and a
    slot not held by someone else (their own claim counts as theirs)."""
    if line.state != "open" or reviewer in line.labelled_by:
        return False
    others = sum(1 for who in line.claimed_by if who != reviewer)
    return line.labels + others < line.needed


@dataclass
class Plan:
    """What one change does to the shown list, in the order a model must replay it:
    ``removals`` as (first, last) runs of positions, highest first; then
    ``insertions`` as (position, lines), highest first, each position counted in the
    list as it is after the removals and the insertions after it; then ``updates``,
    positions (in the final list) whose line changed in place."""

    removals: list[tuple[int, int]] = field(default_factory=list)
    insertions: list[tuple[int, list[ReviewLine]]] = field(default_factory=list)
    updates: list[int] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.removals or self.insertions or self.updates)


class ReviewRows:
    """Every line held (`all`) and those the filter shows (`shown`, by id)."""

    def __init__(self, reviewer: str = "") -> None:
        self.reviewer = reviewer
        self.filter = ReviewFilter()
        self._by_id: dict[int, ReviewLine] = {}
        self._ids: list[int] = []
        self._haystacks: dict[int, str] = {}

    # -- reading -----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def total(self) -> int:
        """Lines held, whether the filter shows them or not."""
        return len(self._by_id)

    def line_at(self, position: int) -> ReviewLine | None:
        if not 0 <= position < len(self._ids):
            return None
        return self._by_id[self._ids[position]]

    def get(self, item_id: int) -> ReviewLine | None:
        return self._by_id.get(item_id)

    def position_of(self, item_id: int) -> int | None:
        i = bisect.bisect_left(self._ids, item_id)
        return i if i < len(self._ids) and self._ids[i] == item_id else None

    def shown_ids(self) -> list[int]:
        return list(self._ids)

    def values(self, attribute: str) -> list[str]:
        """The distinct values of one line attribute among all lines, sorted."""
        found = {getattr(line, attribute) for line in self._by_id.values()}
        return sorted((v for v in found if isinstance(v, str)), key=str.casefold)

    def next_labelable(self, after: int | None, *, skipped: Iterable[int] = (),
                       step: int = 1) -> int | None:
        """The first shown item after position ``after`` (from the top when None;
        before it with ``step`` -1) the reviewer may label, skipping ``skipped``."""
        left_out = set(skipped)
        count = len(self._ids)
        start = (0 if step > 0 else count - 1) if after is None else after + step
        position = start
        while 0 <= position < count:
            line = self._by_id[self._ids[position]]
            if line.id not in left_out and labelable(line, self.reviewer):
                return line.id
            position += step
        return None

    def _haystack(self, line: ReviewLine) -> str:
        hay = self._haystacks.get(line.id)
        if hay is None:
            hay = self._haystacks[line.id] = "\x00".join(
                (line.agent or "", line.action_class or "", line.why, line.trace_id or "",
                 f"#{line.id}")).casefold()
        return hay

    def accepts(self, line: ReviewLine) -> bool:
        haystack = self._haystack(line) if self.filter.text else ""
        return self.filter.accepts(line, self.reviewer, haystack)

    def all_lines(self) -> Iterable[ReviewLine]:
        """Every line held, shown or not (in no particular order)."""
        return self._by_id.values()

    # -- changing ----------------------------------------------------------------------

    def replace_all(self, lines: Iterable[ReviewLine]) -> None:
        """Hold exactly ``lines`` (a model reset)."""
        self._by_id = {line.id: line for line in lines}
        self._haystacks = {}
        self._ids = sorted(i for i, line in self._by_id.items() if self.accepts(line))

    def refilter(self, new: ReviewFilter | None = None, reviewer: str | None = None) -> None:
        """Show what ``new`` (and ``reviewer``) accept (a layout change)."""
        if new is not None:
            self.filter = new
        if reviewer is not None:
            self.reviewer = reviewer
        self._ids = sorted(i for i, line in self._by_id.items() if self.accepts(line))

    def plan(self, upserts: Sequence[ReviewLine], removed: Iterable[int] = ()) -> Plan:
        """Take ``upserts`` in and drop ``removed`` ids from what is held, and say
        what that does to the shown list (which is NOT changed yet: the model
        replays the plan through `remove_run` and `insert_at`)."""
        leaving: set[int] = set()
        entering: list[ReviewLine] = []
        changed: list[int] = []
        for item_id in removed:
            if self._by_id.pop(item_id, None) is not None:
                self._haystacks.pop(item_id, None)
                leaving.add(item_id)
        for line in upserts:
            old = self._by_id.get(line.id)
            self._by_id[line.id] = line
            self._haystacks.pop(line.id, None)
            was_shown = old is not None and self.position_of(line.id) is not None
            now_shown = self.accepts(line)
            if was_shown and not now_shown:
                leaving.add(line.id)
            elif now_shown and not was_shown:
                entering.append(line)
            elif was_shown and old != line:
                changed.append(line.id)
        # Positions by bisection only: a change touches a few lines of 100,000, so
        # nothing here walks the whole list.
        plan = Plan()
        positions = sorted(p for i in leaving if (p := self.position_of(i)) is not None)
        plan.removals = list(reversed(_runs(positions)))
        entering.sort(key=lambda line: line.id)
        groups: list[tuple[int, list[ReviewLine]]] = []
        for line in entering:
            at = bisect.bisect_left(self._ids, line.id)
            at -= bisect.bisect_left(positions, at)  # lines leaving before it
            if groups and groups[-1][0] == at:
                groups[-1][1].append(line)
            else:
                groups.append((at, [line]))
        plan.insertions = list(reversed(groups))
        entering_ids = [line.id for line in entering]
        updates = []
        for item_id in changed:
            if item_id in leaving:
                continue
            now = self.position_of(item_id)
            if now is not None:
                updates.append(now - bisect.bisect_left(positions, now)
                               + bisect.bisect_left(entering_ids, item_id))
        plan.updates = sorted(updates)
        return plan

    def remove_run(self, first: int, last: int) -> None:
        del self._ids[first:last + 1]

    def insert_at(self, position: int, lines: Sequence[ReviewLine]) -> None:
        self._ids[position:position] = [line.id for line in lines]


def _runs(positions: list[int]) -> list[tuple[int, int]]:
    """Sorted positions as (first, last) runs of consecutive numbers."""
    runs: list[tuple[int, int]] = []
    for p in positions:
        if runs and runs[-1][1] == p - 1:
            runs[-1] = (runs[-1][0], p)
        else:
            runs.append((p, p))
    return runs
