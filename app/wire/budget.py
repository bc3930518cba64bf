"""A per-request time budget for decoding, so one hostile body cannot hold a decoder
(and the senders queued behind it) for long. The decoders call `check` between spans
and inside their long loops; past the deadline it raises `BudgetExceeded`, which the
receiver answers with 413 ("send smaller batches"). The budget is per thread: bodies
decoded at the same time in threads each have their own."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from .raw import OtlpDecodeError

_local = threading.local()


class BudgetExceeded(OtlpDecodeError):
    """Decoding the body took longer than its budget."""


@contextmanager
def time_budget(seconds: float | None) -> Iterator[None]:
    """Decoding inside this block must finish within ``seconds`` (None: no limit)."""
    previous = getattr(_local, "deadline", None)
    _local.deadline = None if seconds is None else time.monotonic() + seconds
    _local.seconds = seconds
    try:
        yield
    finally:
        _local.deadline = previous


def check() -> None:
    deadline = getattr(_local, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        raise BudgetExceeded(
            f"decoding took longer than its {_local.seconds:g} s budget; send smaller batches")
