"""The one place the console meets its Qt binding (PySide6 today).

Every module of ``countersign_ui`` imports Qt names from here — ``from ..qt.core
import Qt, Signal``, ``from ..qt.widgets import QLabel`` — never from ``PySide6``
itself (tests/ui/test_qt_imports.py fails otherwise), so moving to another binding
(PyQt6, a later PySide) is a change to this package: its three modules mirror
``QtCore``, ``QtGui`` and ``QtWidgets``, and the binding's own helpers (is a wrapped
C++ object still alive, delete it now) are below. pyqtgraph picks the same binding
by itself once it is imported.
"""

from __future__ import annotations

import shiboken6

from .core import QObject

#: The binding's name and version, for bug reports and the About box.
BINDING = "PySide6"


def is_alive(obj: QObject) -> bool:
    """Whether ``obj``'s C++ object still exists (Qt may have deleted it)."""
    return bool(shiboken6.isValid(obj))


def delete_now(obj: QObject) -> None:
    """Delete ``obj``'s C++ object at once, on this thread."""
    shiboken6.delete(obj)
