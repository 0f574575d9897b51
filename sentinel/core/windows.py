"""Daily windows of time ("22:30-07:00 on weekdays"), as the configs write them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def within(at: datetime, start: str, end: str, days: Iterable[str] = DAY_NAMES) -> bool:
    """Whether ``at`` falls in a daily window (which may run past midnight, counted from its start day)."""
    now, begin, finish = at.hour * 60 + at.minute, _minutes(start), _minutes(end)
    if begin <= finish:
        return begin <= now < finish and DAY_NAMES[at.weekday()] in days
    if now >= begin:
        return DAY_NAMES[at.weekday()] in days
    return now < finish and DAY_NAMES[(at.weekday() - 1) % 7] in days


def window_end(at: datetime, start: str, end: str, days: Iterable[str] = DAY_NAMES) -> datetime | None:
    """When the window ``at`` falls in ends (the next ``end`` on the clock, past days that meet end to end, as
    "00:00" to "24:00" does); None when ``at`` is outside it, or when it never ends (every hour of the week)."""
    days = tuple(days)
    if not within(at, start, end, days):
        return None
    finish = at
    for _ in range(8):  # a week's days, and one more: every end still in the window means it never ends
        after = finish
        finish = after.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(minutes=_minutes(end))
        if finish <= after:  # ('24:00' is the next midnight)
            finish += timedelta(days=1)
        if not within(finish, start, end, days):
            return finish
    return None
