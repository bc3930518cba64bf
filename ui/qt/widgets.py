"""``QtWidgets`` of the binding (see the package docstring)."""

from PySide6.QtWidgets import *  # noqa: F403
