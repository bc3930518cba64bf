"""What the budget-breaker banner above the Queue leads to: the looping run in Traces
("Show run") and the lead's reset in the Autonomy workspace ("Reset…"). The banner
itself is the Autonomy workspace's (`countersign_ui.autonomy.breaker_banner`)."""

from __future__ import annotations

from ..qt.widgets import QWidget
from ..shortcuts import CommandTable


def show_run(page: QWidget, commands: CommandTable, trace_id: str) -> None:
    """Show the run ``trace_id`` in the Traces workspace of ``page``'s window."""
    from ..traces.workspace import TracesWorkspace

    traces = page.window().findChild(TracesWorkspace)
    if traces is None:
        return
    commands["go.traces"].trigger()
    traces.open_run(trace_id)


def reset_breaker(page: QWidget, commands: CommandTable, agent: str) -> None:
    """Open the Autonomy workspace's reset of ``agent``'s breaker (a lead decides)."""
    from ..autonomy.workspace import AutonomyWorkspace

    autonomy = page.window().findChild(AutonomyWorkspace)
    if autonomy is None:
        return
    commands["go.autonomy"].trigger()
    autonomy.decisions.reset_breaker(agent)
