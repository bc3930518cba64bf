"""Fixtures for the Autonomy workspace's tests: an offscreen Qt, background work on a
qasync loop, and realistic units whose every number the engine computed."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator

import pytest

from countersign_ui.async_work import BackgroundWork

from .engine_backend import EngineBackend
from .units import empty_unit, new_unit, ready_unit, regressed_unit


@pytest.fixture(autouse=True)
def _app(qapp: object) -> object:
    """Models paint and fonts are measured: every test here needs the QApplication."""
    return qapp


@pytest.fixture
def work(qasync_loop) -> Iterator[BackgroundWork]:  # type: ignore[no-untyped-def]
    background = BackgroundWork(qasync_loop)
    yield background
    background.shutdown()


@pytest.fixture
def fleet() -> EngineBackend:
    """Four units: one ready for L2, one demoted after a regression, one gathering
    evidence, one without any outcome."""
    return EngineBackend([ready_unit(), regressed_unit(), new_unit(), empty_unit()])
