"""Fixtures for the action detail widgets: realistic actions and reasoning chains."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from typing import Any

import pytest

from countersign.domain import ActionDetail, SpanRecord

from .samples import refund_detail, refund_spans

#: The offscreen platform warns whenever a top-level window is shown; that is the
#: test platform talking, not our code (pyproject's qt_log_ignore could hold it).
OFFSCREEN_NOISE = r"This plugin does not support propagateSizeHints\(\)"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.qt_log_ignore(OFFSCREEN_NOISE))


@pytest.fixture
def chain() -> tuple[list[SpanRecord], str]:
    """The refund agent's reasoning spans and the id of the proposing step."""
    return refund_spans()


@pytest.fixture
def detail(chain: tuple[list[SpanRecord], str]) -> ActionDetail:
    return refund_detail(chain[1])


def make_detail(span_id: str | None, **changes: Any) -> ActionDetail:
    return refund_detail(span_id, **changes)
