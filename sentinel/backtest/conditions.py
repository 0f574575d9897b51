"""The robustness conditions of the evaluation: a home's own file, with its kit failing or its resident untidy.

Each condition is a pure, seeded function of the rows (docs/detection.md,
*Robustness*): the same file and seed always give the same rows.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone

from sentinel.core.events import Row

HOUR = timedelta(hours=1)
DEPARTURE_QUIET = HOUR  # a door row followed by this long without other activity starts an absence
MISSED_SHARE = 0.4  # of those door rows, removed
STRAY_ABSENCE = 3 * HOUR  # absences longer than this may get a stray event
STRAY_SHARE = 0.3  # of those absences, given one

Condition = Callable[[Sequence[Row], int], list[Row]]


def entrance_door(rows: Sequence[Row]) -> str | None:
    """The entrance door: the busiest sensor of kind ``door`` (None without one)."""
    return _busiest(rows, lambda r: r.kind == "door")


def _busiest(rows: Sequence[Row], which: Callable[[Row], bool]) -> str | None:
    """The sensor with the most rows among ``which``; ties go to the first name, so the choice is stable."""
    counts = Counter(r.sensor for r in rows if which(r))
    if not counts:
        return None
    return min(counts, key=lambda s: (-counts[s], s))


def midpoint(rows: Sequence[Row]) -> datetime:
    """The midpoint of the file: the time of its middle row."""
    return rows[len(rows) // 2].at


def sensor_dies(rows: Sequence[Row], seed: int = 7) -> list[Row]:
    """The busiest motion sensor (or, without one, the busiest sensor) has no rows after the midpoint."""
    dead = _busiest(rows, lambda r: r.kind == "motion") or _busiest(rows, lambda r: True)
    middle = midpoint(rows)
    return [r for r in rows if not (r.sensor == dead and r.at > middle)]


def sparse_kit(rows: Sequence[Row], seed: int = 7) -> list[Row]:
    """Only the entrance door and the busiest other sensor."""
    door = entrance_door(rows)
    other = _busiest(rows, lambda r: r.sensor != door)
    return [r for r in rows if r.sensor in (door, other)]


def _next_other_activity(rows: Sequence[Row], door: str) -> list[datetime]:
    """For each row, when the next activity of a sensor other than the entrance door comes (the end if none)."""
    following: list[datetime] = [rows[-1].at] * len(rows)
    upcoming = rows[-1].at
    for i in range(len(rows) - 1, -1, -1):
        following[i] = upcoming
        if rows[i].sensor != door and rows[i].is_activity:
            upcoming = rows[i].at
    return following


def missed_departures(rows: Sequence[Row], seed: int = 7) -> list[Row]:
    """A random 40 % of the entrance door's rows that start an hour or more without other activity are removed."""
    door = entrance_door(rows)
    if door is None:
        return list(rows)
    following = _next_other_activity(rows, door)
    starts = [i for i, r in enumerate(rows) if r.sensor == door and following[i] - r.at >= DEPARTURE_QUIET]
    gone = set(random.Random(seed).sample(starts, round(MISSED_SHARE * len(starts))))
    return [r for i, r in enumerate(rows) if i not in gone]


def stray_events(rows: Sequence[Row], seed: int = 7) -> list[Row]:
    """One isolated activity row of a random indoor sensor in a random 30 % of absences longer than 3 h.

    An absence runs from an entrance door row to the next one with no other
    activity in between: after the departure, before the return.
    """
    door = entrance_door(rows)
    if door is None:
        return list(rows)
    indoor = sorted({r.sensor for r in rows if r.kind != "door"})
    if not indoor:
        return list(rows)
    kind_room = {r.sensor: (r.kind, r.room) for r in rows}
    absences: list[tuple[datetime, datetime]] = []
    previous: Row | None = None
    for r in rows:
        if r.sensor == door:
            if previous is not None and r.at - previous.at > STRAY_ABSENCE:
                absences.append((previous.at, r.at))
            previous = r
        elif r.is_activity:
            previous = None  # someone is home: the next door row starts nothing
    rng = random.Random(seed)
    added = []
    for begin, end in sorted(rng.sample(absences, round(STRAY_SHARE * len(absences)))):
        sensor = rng.choice(indoor)
        at = begin + timedelta(seconds=int((end - begin).total_seconds() * rng.random()))
        kind, room = kind_room[sensor]
        added.append(Row(at, sensor, kind, 1, room))
    return sorted([*rows, *added], key=lambda r: r.at)


def clock_change(rows: Sequence[Row], seed: int = 7) -> list[Row]:
    """Every timestamp from the midpoint on is 1 h later, written with its offset (+01:00 after, +00:00 before)."""
    middle = midpoint(rows)
    out = []
    for r in rows:
        offset = r.at.utcoffset() or timedelta(0)
        wall = r.at.replace(tzinfo=None)
        if r.at >= middle:
            wall, offset = wall + HOUR, offset + HOUR
        out.append(Row(wall.replace(tzinfo=timezone(offset)), r.sensor, r.kind, r.value, r.room))
    return out


CONDITIONS: dict[str, Condition] = {
    "a sensor dies": sensor_dies,
    "a sparse kit": sparse_kit,
    "missed departures": missed_departures,
    "stray events": stray_events,
    "clock change": clock_change,
}
