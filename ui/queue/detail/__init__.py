"""The Queue's detail pane: why the agent proposed an action, and the action itself."""

from .action_panel import ActionPanel
from .pane import ActionDetailPane, RawArguments

__all__ = ["ActionDetailPane", "ActionPanel", "RawArguments"]
