"""The Autonomy workspace's commands: the lead's decisions and moving through the units.

They are the workspace's own (`Workspace.commands`): in the window's Autonomy menu,
acting only while the workspace is on screen, each with its key in the cheatsheet.
"""

from __future__ import annotations

from ..shortcuts import Command

AUTONOMY_COMMANDS: tuple[Command, ...] = (
    Command("autonomy.promote", "&Promote…", "&Autonomy", ("P",),
            "Promote the selected unit one level: confirm the recommendation, or give "
            "a written reason to promote against it"),
    Command("autonomy.demote", "&Demote…", "&Autonomy", ("D",),
            "Demote the selected unit, with a reason"),
    Command("autonomy.replay", "&What if…", "&Autonomy", ("W",),
            "Replay a level or changed thresholds over the unit's history"),
    Command("autonomy.history", "Level &history…", "&Autonomy", ("H",),
            "Every level change of the selected unit with the evidence recorded then"),
    Command("autonomy.reset_breaker", "&Reset budget breaker…", "&Autonomy", ("B",),
            "Reset the tripped budget breaker of the selected unit's agent",
            separator=True),
    Command("autonomy.next", "&Next unit", "&Autonomy", ("J",), "Select the unit below",
            separator=True),
    Command("autonomy.previous", "P&revious unit", "&Autonomy", ("K",),
            "Select the unit above"),
    Command("autonomy.filter", "&Filter units…", "&Autonomy", ("/",),
            "Type to filter by agent, version, action class, level or recommendation "
            "(Esc returns to the table)"),
    Command("autonomy.refresh", "Re&fresh", "&Autonomy", ("F5",),
            "Read the units and their evidence again"),
)
