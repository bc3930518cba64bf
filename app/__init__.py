"""Countersign core: domain, store, services, runtime, gate SDK and CLI.

Nothing in this package imports Qt, qasync, pyqtgraph, the GUI or the plugins; a test
enforces it. Agents import the gate SDK from here as ``countersign.gate``.
"""

__version__ = "0.1.0"
