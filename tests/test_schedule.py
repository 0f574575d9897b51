"""Times of day the notifier keeps (daily notes, drills): right on the nights the clocks change, and after a jump."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from sentinel.notifier.schedule import Schedule, next_at
from sentinel.notifier.store import NotifierStore

BST, GMT = timezone(timedelta(hours=1)), UTC


@pytest.fixture
def store(tmp_path: Path) -> Iterator[NotifierStore]:
    made = NotifierStore(tmp_path / "n.db")
    yield made
    made.close()


def test_a_time_of_day_has_the_offset_of_its_own_day(london) -> None:
    # The last Sunday of October: 02:00 BST becomes 01:00 GMT. Before, 01:50 the next day kept today's +01:00
    # (00:50 GMT, an hour early); in March, 02:30 kept +00:00 (03:30 BST, an hour late).
    assert next_at(datetime(2026, 10, 25, 19, 0, tzinfo=GMT), "19:30") == datetime(2026, 10, 25, 19, 30, tzinfo=GMT)
    assert next_at(datetime(2026, 10, 24, 20, 0, tzinfo=BST), "19:30") == datetime(2026, 10, 25, 19, 30, tzinfo=GMT)
    assert next_at(datetime(2026, 3, 29, 0, 49, tzinfo=GMT), "02:30") == datetime(2026, 3, 29, 2, 30, tzinfo=BST)
    assert next_at(datetime(2026, 3, 28, 20, 0, tzinfo=GMT), "24:00") == datetime(2026, 3, 29, 0, 0, tzinfo=GMT)


def test_a_daily_time_stays_on_the_clock_when_the_clocks_change(london, store: NotifierStore) -> None:
    daily = Schedule(store, "daily:ann", "01:50", 86400)
    first = datetime(2026, 10, 25, 1, 50, tzinfo=BST)  # the first 01:50 of that night
    assert daily.next(datetime(2026, 10, 25, 1, 45, tzinfo=BST)) == first
    assert daily.due(first)
    assert daily.next(first) == datetime(2026, 10, 26, 1, 50, tzinfo=GMT)  # not 00:50 GMT


def test_one_missed_by_half_its_period_is_skipped_not_sent_at_an_hour_nobody_chose(
    london, store: NotifierStore
) -> None:
    # A Pi that started with its clock three days behind: Ann's 19:30 note was set for three days ago. When the
    # clock is set right at 17:31, it was sent at once, and again at 19:30 that evening.
    daily = Schedule(store, "daily:ann", "19:30", 86400)
    assert daily.next(datetime(2026, 11, 25, 17, 31, tzinfo=GMT)) == datetime(2026, 11, 25, 19, 30, tzinfo=GMT)
    assert not daily.due(datetime(2026, 11, 28, 17, 31, tzinfo=GMT))
    assert daily.next(datetime(2026, 11, 28, 17, 31, tzinfo=GMT)) == datetime(2026, 11, 28, 19, 30, tzinfo=GMT)
    assert daily.due(datetime(2026, 11, 28, 19, 30, tzinfo=GMT))  # once that day, at its hour
    drill = Schedule(store, "drill", "11:00", 30 * 86400)
    drill.next(datetime(2026, 11, 25, 17, 31, tzinfo=GMT))
    assert drill.due(datetime(2026, 11, 28, 17, 31, tzinfo=GMT))  # three days late of thirty: still sent


def test_a_time_the_clocks_skipped_comes_back_to_its_own_the_next_day(london, store: NotifierStore) -> None:
    # 01:30 does not exist on the night the clocks go forward: that night it comes as the system reads a time
    # the clocks skipped (an hour off); the next night, at 01:30 again. Before, it stayed an hour off all season.
    daily = Schedule(store, "daily:ann", "01:30", 86400)
    daily.next(datetime(2026, 3, 28, 1, 0, tzinfo=GMT))
    assert daily.due(datetime(2026, 3, 28, 1, 30, tzinfo=GMT))
    gap = daily.next(datetime(2026, 3, 28, 1, 30, tzinfo=GMT))
    assert gap.astimezone(GMT).date() == datetime(2026, 3, 29).date()  # that night, as the system reads it
    assert daily.due(gap)
    assert daily.next(gap) == datetime(2026, 3, 30, 1, 30, tzinfo=BST)
    late = Schedule(store, "daily:bob", "24:00", 86400)  # midnight, written as the day's end
    late.next(datetime(2026, 3, 28, 12, 0, tzinfo=GMT))
    assert late.due(datetime(2026, 3, 29, 0, 0, tzinfo=GMT))
    assert late.next(datetime(2026, 3, 29, 0, 0, tzinfo=GMT)) == datetime(2026, 3, 30, 0, 0, tzinfo=BST)
