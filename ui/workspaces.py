"""The registry of the main window's workspaces: one line each.

The order is the order of the switcher, of the Go menu, and of the workspaces' menus.
To add one, see `countersign_ui.workspace` (a folder with a `Workspace` subclass,
then its class here).
"""

from __future__ import annotations

from collections.abc import Sequence

from .autonomy.workspace import AutonomyWorkspace
from .queue.workspace import QueueWorkspace
from .review.workspace import ReviewWorkspace
from .shortcuts import WINDOW_COMMANDS, Command
from .traces.workspace import TracesWorkspace
from .workspace import Workspace

WORKSPACES: tuple[type[Workspace], ...] = (
    QueueWorkspace,
    TracesWorkspace,
    ReviewWorkspace,
    AutonomyWorkspace,
)


def window_commands(workspaces: Sequence[type[Workspace]] = WORKSPACES) -> tuple[Command, ...]:
    """Every command of a window holding ``workspaces``: File, each workspace's ``go.*``
    command, each workspace's own commands, Help. Raises `ValueError` when two
    commands share a name or a workspace key (a registration mistake)."""
    window = [c for c in WINDOW_COMMANDS if c.menu != "&Help"]
    help_menu = [c for c in WINDOW_COMMANDS if c.menu == "&Help"]
    commands = [*window, *(w.go_command() for w in workspaces),
                *(c for w in workspaces for c in w.commands), *help_menu]
    names = [c.name for c in commands]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"commands registered twice: {', '.join(twice)}")
    keys = [w.key for w in workspaces]
    if len(set(keys)) != len(keys):
        raise ValueError(f"two workspaces share a key: {keys}")
    return tuple(commands)
