"""The Queue workspace's commands: the Verdict menu and moving through the list.

They are the Queue's own (`Workspace.commands`): in the window's menus, acting only
while the Queue is on screen.
"""

from __future__ import annotations

from countersign.domain import Verdict

from ..review.send import SEND_KEY
from ..shortcuts import Command
from .undo import UNDO_KEY

QUEUE_COMMANDS: tuple[Command, ...] = (
    Command("verdict.approve", "&Approve", "&Verdict", ("A",),
            "Approve the selected action as proposed"),
    Command("verdict.edit", "&Edit…", "&Verdict", ("E",),
            "Change the arguments, then approve the edited action"),
    Command("verdict.reject", "&Reject…", "&Verdict", ("R",),
            "Refuse the action, with a reason the agent receives"),
    Command("verdict.respond", "Re&spond…", "&Verdict", ("S",),
            "Answer the agent with text instead of a verdict on the action"),
    Command("go.next", "&Next action", "&Go", ("J",), "Select the action below",
            separator=True),
    Command("go.previous", "&Previous action", "&Go", ("K",), "Select the action above"),
    Command("go.filter", "&Filter…", "&Go", ("/",),
            "Type to filter by agent or action (Esc returns to the list)"),
    Command("go.advance", "Next pending after a &verdict", "&Go", (),
            "After a verdict, select the next pending action", checkable=True,
            checked=True, separator=True),
    Command("queue.undo", "&Undo the last verdict", "&Verdict", (UNDO_KEY,),
            "Take back the last verdict while it waits in the outbox "
            "(console.undo_seconds; never once released to the agent)", separator=True),
    Command("queue.send_to_review", "Send to re&view", "&Verdict", (SEND_KEY,),
            "Put the action on screen in the review queue by hand, once it is decided",
            separator=True),
    Command("queue.copy_trace", "Copy &trace id", "&Verdict", ("Ctrl+C",),
            "Copy the trace id of the action on screen (to find its run in Traces or "
            "with `countersign trace show`)"),
    Command("queue.read_arguments", "Read the &arguments", "&Go", ("V",),
            "Move to the action's arguments: Up/Down choose one, its whole value shows "
            "below; Enter or Space opens it in a viewer; Esc returns to the list"),
    Command("queue.history", "&History", "&Go", ("H",),
            "Show decided, expired and withdrawn actions (who decided what, when, the "
            "edit, the delivery) instead of the pending ones", checkable=True),
)

#: The command that gives each verdict.
VERDICT_COMMANDS: dict[Verdict, str] = {
    Verdict.APPROVE: "verdict.approve",
    Verdict.EDIT: "verdict.edit",
    Verdict.REJECT: "verdict.reject",
    Verdict.RESPOND: "verdict.respond",
}
