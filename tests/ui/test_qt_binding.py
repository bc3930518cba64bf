"""The Qt binding itself must not corrupt the interpreter.

PySide6 6.12.0 on Python 3.11 took one reference off None for every Qt call that
returns nothing; after a few thousand label updates the console aborted with
"Fatal Python error: none_dealloc". This fails on any binding that does that.
"""

from __future__ import annotations

import sys

import pytest
from PySide6.QtWidgets import QLabel


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from 3.12 on")
def test_void_qt_calls_do_not_leak_references_to_none(qtbot: object) -> None:
    label = QLabel()
    before = sys.getrefcount(None)
    for _ in range(2_000):
        label.setText("x")
        label.update()
    assert sys.getrefcount(None) - before > -100
