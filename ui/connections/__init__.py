"""Connections: configuring sources (add, edit, remove, test) and seeing their health."""

from .dialog import ConnectionsDialog, open_connections_dialog

__all__ = ["ConnectionsDialog", "open_connections_dialog"]
