"""``QtCore`` of the binding (see the package docstring)."""

from PySide6.QtCore import *  # noqa: F403
