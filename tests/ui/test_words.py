"""The words the console (and the CLI) use for ages, time left and durations: one
formatter each, in countersign.text."""

from __future__ import annotations

from countersign.text import age_text, duration_text
from countersign_ui.queue.detail.format import describe_deadline


def test_ages_and_time_left() -> None:
    assert [age_text(s) for s in (-3, 5, 250, 7_500, 3 * 86_400 + 4 * 3600)] == [
        "0s", "5s", "4m 10s", "2h 05m", "3d 4h"]


def test_deadlines_use_the_same_words_as_the_list() -> None:
    assert describe_deadline(None, 0) == ("No deadline", "none")
    assert describe_deadline(1_250, 1_000) == ("Decide within 4m 10s", "soon")
    assert describe_deadline(1_000 + 3_600, 1_000) == ("Decide within 1h 00m", "ok")
    assert describe_deadline(1_000, 1_075) == ("Deadline passed 1m 15s ago", "overdue")


def test_durations_from_microseconds_to_hours() -> None:
    assert [duration_text(ns) for ns in (850_000, 12_345_678, 456_000_000, 1_240_000_000,
                                         184_000_000_000, 7_380_000_000_000)] == [
        "850 µs", "12.3 ms", "456 ms", "1.24 s", "3 min 04 s", "2 h 03 min"]
    assert duration_text(None) == "running"
    assert duration_text(None, open_text="open") == "open"
