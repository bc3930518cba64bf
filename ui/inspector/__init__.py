"""The trace inspector: a run's span tree with its waterfall, search within the run,
and the selected span in full. Shared by the Traces workspace and the Queue."""

from .detail import SpanDetailView
from .inspector import SpanTreeView, TraceInspector
from .run_tree import RunTree, SpanNode, build_run_tree
from .search import RunSearch, find_in_run
from .span_tree import SpanTreeModel

__all__ = [
    "RunSearch",
    "RunTree",
    "SpanDetailView",
    "SpanNode",
    "SpanTreeModel",
    "SpanTreeView",
    "TraceInspector",
    "build_run_tree",
    "find_in_run",
]
