"""The Review workspace's commands: its menu, its keys, its cheatsheet rows.

Labelling is keyboard-first: the digits answer the current question (one command for
the nine keys; the workspace learns which key fired from the shortcut event), Tab and
Shift+Tab move between questions, Enter submits and moves on, S skips, C opens the
correction editor, J / K move through the list. In a text box the letters, digits and
Backspace type as usual (the box takes them before any shortcut); Enter still submits.

The labelling commands act only while the Label page is shown: on the Datasets,
Sampling rules and Rubrics pages the keys type into their forms.
"""

from __future__ import annotations

from ..shortcuts import Command

MENU = "Re&view"

#: Pages of the right-hand side and the command that shows each.
PAGE_COMMANDS = {"label": "review.page.label", "datasets": "review.page.datasets",
                 "rules": "review.page.rules", "rubrics": "review.page.rubrics"}

REVIEW_COMMANDS: tuple[Command, ...] = (
    Command("review.submit", "&Submit label", MENU, ("Return", "Enter", "Ctrl+Return"),
            "Record the answers (and the correction) and show the next item"),
    Command("review.answer", "&Answer the current question", MENU,
            tuple(str(digit) for digit in range(1, 10)),
            "Pick the current question's option with this number (a rubric's own "
            "hotkeys work too, unless they are one of this workspace's keys)"),
    Command("review.next_question", "Next &question", MENU, ("Tab",),
            "Move to the next question of the rubric"),
    Command("review.previous_question", "Previous q&uestion", MENU, ("Shift+Tab",),
            "Move to the previous question of the rubric"),
    Command("review.clear_answer", "C&lear the answer", MENU, ("Backspace", "Delete"),
            "Clear the current question's answer (in a text box, delete as usual)"),
    Command("review.correction", "&Correction…", MENU, ("C",),
            "Give the expected arguments (or output) as JSON, checked against the "
            "action's schema"),
    Command("review.skip", "S&kip", MENU, ("S",),
            "Leave this item to another reviewer and show the next one"),
    Command("review.next", "&Next item", MENU, ("J",), "Select the item below",
            separator=True),
    Command("review.previous", "&Previous item", MENU, ("K",), "Select the item above"),
    Command("review.filter", "&Filter…", MENU, ("/",),
            "Type to filter the list by agent, action or rule (Esc returns)"),
    Command("review.refresh", "&Refresh", MENU, ("F5",),
            "Read the review queue, the agreement, the datasets and the rubrics again"),
    Command(PAGE_COMMANDS["label"], "&Label items", MENU, ("Ctrl+Shift+L",),
            "Show the item under review and the rubric form", separator=True),
    Command(PAGE_COMMANDS["datasets"], "&Datasets", MENU, ("Ctrl+Shift+D",),
            "Show the datasets: build, diff, export"),
    Command(PAGE_COMMANDS["rules"], "Sampling &rules", MENU, ("Ctrl+Shift+S",),
            "Show the sampling rules editor"),
    Command(PAGE_COMMANDS["rubrics"], "R&ubrics", MENU, ("Ctrl+Shift+U",),
            "Show the rubrics: edit one in its TOML form, import, export"),
)

#: Commands that act on the item under review (off while another page is shown).
LABEL_COMMANDS = frozenset({
    "review.submit", "review.answer", "review.next_question", "review.previous_question",
    "review.clear_answer", "review.correction", "review.skip", "review.next",
    "review.previous",
})
