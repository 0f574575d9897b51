"""The resident's day in two facts the circle may be told: when they got up, and when they were out.

Fed the home's events one by one (and told the time now and then), it keeps the summary of the local day:
``up``, and ``outings`` as (left, back), each told once it is over. Each step is a few comparisons: the
agent runs it on a Pi Zero for every event.

"Up" must hold on a home it has never seen, so it is not learned: it is the start of the first run of the
resident's signs of life indoors that begins after ``DAY_START``, has no gap over ``UP_GAP`` and lasts
``UP_RUN``. A night-time trip to the bathroom is a short burst followed by hours of sleep: it never makes such
a run. The front door is no part of a run: a door that rattles in the wind, or a visitor's knock, is not
the resident moving about. Going out means being up too: when an outing is over and no run has said "up"
yet, the resident was up from the start of the run that led to the door (someone who leaves for work at
07:10 is not "up" when they come home at 17:30).

An outing is told only when the home says so plainly, since a made-up outing misleads the circle as much as
a missed one: the front door, then no sign of life indoors at all for at least ``OUTING_MIN``, then the
door again, then someone moving indoors within ``ARRIVAL_S`` ("door, then movement", as the tracker reads a
return). A sign indoors while the door is the last word means someone is in (they never left, or a stray
the detector may forgive but a note need not repeat); a door again with nobody moving indoors soon after is
the door alone (wind, a rattle, a delivery), not a return. An outing still going is not told: only the
home knows, as it happens, that it stands empty.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

from sentinel.core.events import Event
from sentinel.detect.tracker import ARRIVAL_S

DAY_START = 4
"""The hour the resident's day starts. Not midnight: a late evening that goes on past midnight is still the
evening before, not getting up. 04:00 is after nearly everyone's bedtime and before nearly everyone rises,
in the deepest hours of the night when a home is quietest."""
UP_RUN = timedelta(minutes=30)
"""How long the signs of life that mean "up" must go on: a night-time trip to the bathroom is over in a few
minutes (a slow one in a quarter of an hour); half an hour of moving about is more than any such trip."""
UP_GAP = timedelta(minutes=20)
"""The longest quiet within that run. Getting up is busy (washing, dressing, the kettle): some sensor sees
someone up every few minutes, and a slow morning pauses for a cup of tea. Going back to sleep is quiet for
an hour and more. Shorter than ``UP_RUN``, so a run is at least three signs, never two far apart."""
OUTING_MIN = timedelta(minutes=15)
"""The shortest absence told as an outing: the bins, the post or a word at the gate are over in minutes and
would make the note a list; a quarter of an hour away is somewhere worth naming (the shop, a neighbour's)."""
ARRIVAL = timedelta(seconds=ARRIVAL_S)
"""After the door that ends an outing, someone moving indoors this soon is the resident coming in."""

Where = Literal["in", "door", "back"]  # seen indoors; the door with nothing indoors since; the door again
Outing = tuple[datetime, datetime]


def day_of(at: datetime) -> date:
    """The resident's day ``at`` belongs to (read off the clock face: it starts at ``DAY_START``)."""
    return (at.replace(tzinfo=None) - timedelta(hours=DAY_START)).date()


def day_start(day: date, like: datetime) -> datetime:
    """When ``day`` starts, on the clock of ``like`` (with its UTC offset, if it has one)."""
    return datetime(day.year, day.month, day.day, DAY_START, tzinfo=like.tzinfo)


class DaySummary:
    """Today's "up" and outings, kept up to date event by event."""

    def __init__(self) -> None:
        self._begin(None)

    def _begin(self, day: date | None) -> None:
        """Nothing known yet of ``day``."""
        self.day = day  # the day summarised
        self.up: datetime | None = None
        self.outings: list[Outing] = []
        self._where: Where = "in"  # nothing known before the first event: the resident is taken to be in
        self._door: datetime | None = None  # the door that began the absence (while "door" or "back")
        self._back: datetime | None = None  # the door that ended it (while "back")
        self._last_door: datetime | None = None  # the latest door row (a door is opened and shut: two rows)
        self._led_out: datetime | None = None  # the start of the run that led to the door
        self._run_start: datetime | None = None  # the current run of signs of life indoors
        self._run_last: datetime | None = None

    def feed(self, event: Event) -> bool:
        """One event of the home (in time order); whether the summary changed."""
        at = event.wall
        changed = self.tick(at)
        if not event.is_activity:
            return changed
        if event.kind == "door":
            self._at_door(at)
            return changed
        return self._indoors(at) or changed

    def tick(self, now: datetime) -> bool:
        """Time passed: a new day begins; whether the summary changed."""
        today = day_of(now)
        # A clock set back a little never takes the day back; one that was days ahead (set wrong, then put
        # right) must not hold the summary on a day that has not come.
        if self.day is not None and self.day - timedelta(days=1) <= today <= self.day:
            return False
        changed = self.up is not None or bool(self.outings)
        if self.day is not None and today < self.day:
            self._begin(today)  # what the wrong clock stamped is no guide to now
        else:
            self.day, self.up, self.outings = today, None, []
        return changed

    def _at_door(self, at: datetime) -> None:
        if self._where == "in":
            self._where, self._door = "door", at
            self._led_out = self._run_start if self._led(at) else None
        elif self._where == "door":
            if self._door is not None and self._last_door is not None and at - self._last_door >= OUTING_MIN:
                self._where, self._back = "back", at  # the door again after a quiet home: back, if someone moves
            else:
                self._door = at  # the same going out (opened, then shut): the absence starts at the last row
        elif self._last_door is not None and at - self._last_door > ARRIVAL:
            self._back = at  # nobody came in by the door before: this one may be the return
        self._last_door = at

    def _led(self, at: datetime) -> bool:
        """Whether the current run of signs indoors goes on up to the door at ``at``."""
        return self._run_last is not None and at - self._run_last <= UP_GAP

    def _indoors(self, at: datetime) -> bool:
        last = self._last_door
        changed = self._where == "back" and last is not None and at - last <= ARRIVAL and self._came_back()
        self._where = "in"
        return self._sign(at) or changed

    def _came_back(self) -> bool:
        """A whole outing, told on the day it ended; it may make the resident "up" (whether it changed)."""
        left, back, led_out = self._door, self._back, self._led_out
        if left is None or back is None:
            return False
        self.outings.append((left, back))
        if self.up is None and led_out is not None and self.day is not None and led_out >= day_start(self.day, led_out):
            self.up = led_out
        return True

    def _sign(self, at: datetime) -> bool:
        """A sign of life indoors; whether it made the resident "up"."""
        if self._run_last is None or self._run_start is None or not timedelta(0) <= at - self._run_last <= UP_GAP:
            self._run_start = at
        elif self.day is not None and self._run_start < day_start(self.day, at) <= at:
            self._run_start = at  # a run going on through 04:00 (early, or a busy night): up counts from 04:00 on
        self._run_last = at
        start = self._run_start
        if self.up is not None or self.day is None or at - start < UP_RUN:
            return False
        self.up = start
        return True
