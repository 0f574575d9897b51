"""The two reference detectors every figure is compared with."""

from __future__ import annotations

import bisect
import math
from datetime import datetime, timedelta

from sentinel.backtest.evaluation import Split, wall
from sentinel.core.events import Row

SLOT = timedelta(minutes=30)
SLOTS = 48


class FixedTimer:
    """Alert after a fixed time without activity, whatever the time of day."""

    def __init__(self, hours: float = 12) -> None:
        self.limit = timedelta(hours=hours)
        self.last: datetime | None = None

    def observe(self, row: Row) -> bool:
        if row.is_activity:
            self.last = row.at
        return row.is_activity

    def alert_at(self) -> datetime | None:
        return self.last + self.limit if self.last else None


class Cuddihy:
    """Cuddihy et al. 2007: a per-half-hour alert line from the training days."""

    def __init__(self, split: Split) -> None:
        self.split = split
        self.last: datetime | None = None
        self._activity: list[datetime] = []
        self.line: list[float] | None = None  # seconds, per slot
        self._crossings: Crossings | None = None

    def observe(self, row: Row) -> bool:
        if not row.is_activity:
            return False
        if self.line is None:
            if self.split.in_test(row.at):
                self.line = alert_line(self._activity, self.split)
                self._crossings = Crossings(self.line)
            else:
                self._activity.append(row.at)
        self.last = row.at
        return True

    def alert_at(self) -> datetime | None:
        if self.last is None or self._crossings is None:
            return None
        return self._crossings.first(self.last)


def nearest_rank(values: list[float], q: float) -> float:
    """The classic percentile: the smallest value with at least q % of values at or below it."""
    return values[max(0, math.ceil(q / 100 * len(values)) - 1)]


def slot_of(at: datetime) -> int:
    return (at.hour * 60 + at.minute) // 30


def alert_line(activity: list[datetime], split: Split) -> list[float]:
    """A(i) for the 48 slots, from the longest time-since-last-activity per day and slot.

    Slots are half hours of the home's clock face; times since activity are real
    elapsed time (a slot's end is read in the UTC offset of the last activity).
    """
    per_slot: list[list[float]] = [[] for _ in range(SLOTS)]
    k = 0
    last: datetime | None = None
    day0 = wall(split.day0)
    for day in range(split.train_days):
        for i in range(SLOTS):
            start = day0 + timedelta(days=day) + i * SLOT
            end = start + SLOT
            longest: float | None = None
            while k < len(activity) and wall(activity[k]) < end:
                if last is not None and wall(activity[k]) >= start:
                    longest = max(longest or 0.0, (activity[k] - last).total_seconds())
                last = activity[k]
                k += 1
            if last is not None:
                longest = max(longest or 0.0, (end.replace(tzinfo=last.tzinfo) - last).total_seconds())
            if longest is not None:
                per_slot[i].append(longest)
    m = [nearest_rank(sorted(v), 97) if v else 0.0 for v in per_slot]
    line = []
    for i in range(SLOTS):
        around = [m[(i + d) % SLOTS] for d in (-2, -1, 0, 1, 2)]
        wmean = sum(w * x for w, x in zip((1, 2, 3, 2, 1), around, strict=True)) / 9
        line.append(max(around) + 0.3 * m[i] + 0.4 * wmean)
    return line


def first_crossing(last: datetime, line: list[float], horizon: timedelta = timedelta(hours=72)) -> datetime | None:
    """The first moment the quiet spell since ``last`` exceeds the line of the slot it is in."""
    start = last.replace(minute=(last.minute // 30) * 30, second=0, microsecond=0)
    while start - last < horizon:
        end = start + SLOT
        crossing = last + timedelta(seconds=line[slot_of(start)])
        if crossing < end:
            return max(crossing, start, last)
        start = end
    return None


class Crossings:
    """``first_crossing`` for one line, answered by a binary search instead of a walk through the slots."""

    def __init__(self, line: list[float], horizon: timedelta = timedelta(hours=72)) -> None:
        self.line = line
        self.horizon = horizon.total_seconds()
        width = SLOT.total_seconds()
        count = int(self.horizon // width) + 1
        # For a spell that begins ``off`` seconds into slot s0, slot s0 + k is crossed when
        # line[s0 + k] - (k + 1) * width < -off; the running minimum makes the first such k a bisection.
        self._bounds: list[list[float]] = []
        for s0 in range(SLOTS):
            lowest, bound = math.inf, []
            for k in range(count):
                lowest = min(lowest, line[(s0 + k) % SLOTS] - (k + 1) * width)
                bound.append(-lowest)
            self._bounds.append(bound)

    def first(self, last: datetime) -> datetime | None:
        width = SLOT.total_seconds()
        start = last.replace(minute=(last.minute // 30) * 30, second=0, microsecond=0)
        off = (last - start).total_seconds()
        s0 = slot_of(start)
        k = bisect.bisect_right(self._bounds[s0], off)
        if k >= len(self._bounds[s0]) or k * width - off >= self.horizon:
            return None
        slot_start = start + k * SLOT
        return max(last + timedelta(seconds=self.line[(s0 + k) % SLOTS]), slot_start, last)
