"""Something the notifier does every so often at a time of day (a drill, the weekly note), kept in its store."""

from __future__ import annotations

from datetime import datetime, timedelta

from sentinel.config.circle import MemberConfig
from sentinel.core.windows import window_end
from sentinel.notifier.store import NotifierStore, when


def next_at(now: datetime, clock_time: str) -> datetime:
    """The first ``clock_time`` (HH:MM) after ``now`` on this machine's clock, in the UTC offset it has then.

    The offset is that of the day it falls on, not ``now``'s: on the night the clocks change, 19:30 is 19:30.
    """
    day = wall(now).replace(hour=0, minute=0, second=0, microsecond=0)
    at = local(day + set_at(clock_time))  # '24:00' is the next midnight
    return at if at > now else local(day + timedelta(days=1) + set_at(clock_time))


def later(due: datetime, every: timedelta, clock_time: str) -> datetime:
    """``every`` after ``due``: whole days on the clock, at ``clock_time`` (19:30 stays 19:30 when the clocks change,
    and a time the clocks skipped that night comes back to its own the next), else elapsed time."""
    if every % timedelta(days=1):
        return due + every
    day = (wall(due) - set_at(clock_time)).replace(hour=0, minute=0, second=0, microsecond=0)
    at = local(day + every + set_at(clock_time))
    while at <= due:  # a time the clocks skipped reads an hour early: always a day on, never the same time again
        every += timedelta(days=1)
        at = local(day + every + set_at(clock_time))
    return at


def set_at(clock_time: str) -> timedelta:
    """How long after midnight ``clock_time`` (HH:MM, '24:00' the day's end) comes."""
    hour, minute = (int(part) for part in clock_time.split(":"))
    return timedelta(hours=hour, minutes=minute)


def wall(at: datetime) -> datetime:
    """What this machine's clock reads at ``at``, without its offset."""
    return at.astimezone().replace(tzinfo=None)


def local(reading: datetime) -> datetime:
    """A reading of this machine's clock (no offset) with the UTC offset it has then."""
    return reading.astimezone()


def quiet_until(member: MemberConfig, at: datetime) -> datetime | None:
    """When the member's quiet hours end, if ``at`` falls in them (None: it does not, or they never end)."""
    quiet = member.quiet_hours
    # None too when they never end (quiet at every hour, only the help button, they said): what must not wait for
    # ever goes as planned.
    end = window_end(at, quiet.start, quiet.end, quiet.days) if quiet is not None else None
    # 07:00 on the clock that night, in the offset it will have then (the clocks may change overnight).
    return local(end.replace(tzinfo=None)) if end is not None else None


class Schedule:
    """Falls due at the first ``clock_time`` after it is first seen, then every ``every`` seconds after that.

    Its times are wall-clock times of day, so a clock that is set moves them with it. One missed by half its
    period or more (the notifier stopped for days, or a Pi that started with its clock days behind and was then
    set right) is not made up for: it is skipped to its next time, rather than sent at an hour nobody chose, and
    again at its own hour the same day.
    """

    def __init__(self, store: NotifierStore, key: str, clock_time: str, every: float) -> None:
        self.store = store
        # A changed time or period starts a schedule afresh, at the next such time of day.
        self.key = f"{key}:{clock_time}:{every:g}"
        self.clock_time = clock_time
        self.every = timedelta(seconds=every)

    def next(self, now: datetime) -> datetime:
        """When it is next due (set the first time it is asked)."""
        stored = self.store.get_meta(self.key)
        if stored:
            return when(stored, now, self.key)
        first = next_at(now, self.clock_time)
        self.store.set_meta(self.key, first.isoformat())
        return first

    def due(self, now: datetime) -> bool:
        """True once when it falls due; the next time is then set (missed ones are not made up for)."""
        due = self.next(now)
        if now < due:
            return False
        late = now - due >= self.every / 2
        while due <= now:
            due = later(due, self.every, self.clock_time)
        self.store.set_meta(self.key, due.isoformat())
        return not late
