"""Daily windows as the configs write them: when the one a moment falls in ends, '24:00' and days end to end."""

from __future__ import annotations

from datetime import datetime

from sentinel.core.windows import window_end

TUESDAY_10 = datetime(2026, 3, 3, 10, 0)


def test_a_window_to_24_00_ends_at_midnight() -> None:
    assert window_end(TUESDAY_10, "08:00", "24:00") == datetime(2026, 3, 4, 0, 0)


def test_days_that_meet_end_to_end_are_one_stretch() -> None:
    weekdays = ("mon", "tue", "wed", "thu", "fri")
    assert window_end(TUESDAY_10, "00:00", "24:00", weekdays) == datetime(2026, 3, 7, 0, 0)  # Saturday, midnight


def test_a_window_at_every_hour_of_the_week_never_ends() -> None:
    assert window_end(TUESDAY_10, "00:00", "24:00") is None


def test_outside_the_window_there_is_no_end() -> None:
    assert window_end(TUESDAY_10, "22:00", "07:00") is None
    assert window_end(datetime(2026, 3, 3, 23, 0), "22:00", "07:00") == datetime(2026, 3, 4, 7, 0)
