"""The Traces workspace: search runs by agent, time, status, duration, tokens, cost and
pending actions, and inspect one in the trace inspector."""

from .filter_bar import TracesFilterBar
from .runs_model import RunsModel
from .workspace import TracesWorkspace

__all__ = ["RunsModel", "TracesFilterBar", "TracesWorkspace"]
