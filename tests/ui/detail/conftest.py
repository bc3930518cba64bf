"""Fixtures for the action detail widgets: realistic actions and reasoning chains."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from typing import Any

import pytest

from countersign.domain import ActionDetail, SpanRecord

from .samples import refund_detail, refund_spans


@pytest.fixture
def chain() -> tuple[list[SpanRecord], str]:
    """The refund agent's reasoning spans and the id of the proposing step."""
    return refund_spans()


@pytest.fixture
def detail(chain: tuple[list[SpanRecord], str]) -> ActionDetail:
    return refund_detail(chain[1])


def make_detail(span_id: str | None, **changes: Any) -> ActionDetail:
    return refund_detail(span_id, **changes)
