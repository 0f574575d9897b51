"""The home's wall clock as the detector reads it, and the periods of it not to learn from.

A wall-clock time carries its UTC offset where known, so that a spell's real
length is measured across a change to or from summer time; the monotonic clock
tells when the wall clock itself jumped (NTP on a Pi without a real-time clock).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable
from datetime import datetime, timedelta

from sentinel.core.events import Event

JUMP_S = 60.0
"""A disagreement between the wall clock and the monotonic clock larger than this is a jump of the wall clock."""


def naive(at: datetime) -> datetime:
    """The home's wall-clock reading, without its offset."""
    return at.replace(tzinfo=None)


def as_then(at: datetime, then: datetime) -> datetime:
    """``at`` in the UTC offset the clock had at ``then``: the time it read then, though the clocks changed since."""
    return at.astimezone(then.tzinfo) if at.tzinfo is not None and then.tzinfo is not None else at


def aware(at: datetime) -> datetime:
    """The wall-clock reading with its offset, so the detector learns real durations across summer time."""
    return at if at.tzinfo is not None else at.astimezone()


def clock_jump(before: Event, after: Event) -> float:
    """How far the wall clock moved between two events beyond the time that really passed (seconds)."""
    return (aware(after.wall) - aware(before.wall)).total_seconds() - (after.mono - before.mono)


class Periods:
    """Periods of time, for asking quickly whether an instant falls in one (a search, not a scan)."""

    def __init__(self, periods: Iterable[tuple[datetime, datetime]]) -> None:
        ordered = sorted(periods)
        self._starts = [start for start, _ in ordered]
        # The latest end among the periods begun so far: they may overlap once the clock was set back.
        self._ends = list(itertools.accumulate((end for _, end in ordered), max))

    def __contains__(self, at: datetime) -> bool:
        i = bisect.bisect_right(self._starts, at) - 1
        return i >= 0 and at <= self._ends[i]


def excluded_periods(flips: Iterable[tuple[datetime, str]], now: datetime) -> list[tuple[datetime, datetime]]:
    """Wall-clock periods not to learn from: away, paused, checking or under an alert."""
    periods: list[tuple[datetime, datetime]] = []
    start: datetime | None = None
    for at, state in flips:
        quiet = state in ("away", "paused", "checking", "alert")
        if quiet and start is None:
            start = at
        elif not quiet and start is not None:
            periods.append((naive(start), naive(at)))
            start = None
    if start is not None:
        periods.append((naive(start), naive(now) + timedelta(seconds=1)))
    return periods
