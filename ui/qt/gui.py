"""``QtGui`` of the binding (see the package docstring)."""

from PySide6.QtGui import *  # noqa: F403
