"""Fixtures for the trace inspector's tests: an offscreen Qt and realistic runs."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from countersign.domain import SpanRecord

from .runs import agent_loop


@pytest.fixture
def small_run() -> tuple[list[SpanRecord], str]:
    """Six iterations (with the 7-retry loop in the fourth) and the proposing span."""
    return agent_loop(6, words=30)


@pytest.fixture(autouse=True)
def _app(qapp: object) -> object:
    """Models paint icons and fonts: every test here needs the QApplication."""
    return qapp
