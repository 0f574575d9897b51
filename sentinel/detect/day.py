"""The resident's day in two facts the circle may be told: when they got up, and when they were out.

Fed the home's events one by one (and told the time now and then), it keeps the summary of the local day:
``up``, and ``outings`` as (left, back) with back None while the outing goes on. Each step is a few
comparisons: the agent runs it on a Pi Zero for every event.

"Up" must hold on a home it has never seen, so it is not learned: it is the start of the first run of the
resident's signs of life that begins after ``DAY_START``, has no gap over ``UP_GAP`` and lasts ``UP_RUN``. A
night-time trip to the bathroom is a short burst followed by hours of sleep: it never makes such a run. Going
out means being up too: when an outing is over (the door again) and no run has said "up" yet, the resident
was up from the start of the run that led out of the door (someone who leaves for work at 07:10 is not "up"
when they come home at 17:30).

An outing is read as the tracker reads the front door (``tracker.py``): the door, then no sign of life
indoors for at least ``OUTING_MIN`` until the door again. One or two indoor signs while out are strays; a
sign soon after the door (``ARRIVAL_S``) or a third stray means nobody went out, or the return was missed: no
outing is told either way. An outing still going is told once ``ARRIVAL_S`` has passed with nothing indoors
(before that, a sign indoors would mean the resident never left). After coming in by the door, the resident
is taken to be in until seen indoors: doors meanwhile are the same coming in, not a new outing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

from sentinel.core.events import Event
from sentinel.detect.tracker import ARRIVAL_S, RETURN_ROWS

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
KNOWN_OUT = max(OUTING_MIN, timedelta(seconds=ARRIVAL_S))
"""How long after the door an outing still going is told: by then a sign indoors would be a stray."""

Where = Literal["in", "door", "back"]  # seen indoors; the door with nothing indoors since; just came in
Outing = tuple[datetime, datetime | None]


def day_of(at: datetime) -> date:
    """The resident's day ``at`` belongs to (read off the clock face: it starts at ``DAY_START``)."""
    return (at.replace(tzinfo=None) - timedelta(hours=DAY_START)).date()


def day_start(day: date, like: datetime) -> datetime:
    """When ``day`` starts, on the clock of ``like`` (with its UTC offset, if it has one)."""
    return datetime(day.year, day.month, day.day, DAY_START, tzinfo=like.tzinfo)


class DaySummary:
    """Today's "up" and outings, kept up to date event by event."""

    def __init__(self) -> None:
        self.day: date | None = None  # the day summarised
        self.up: datetime | None = None
        self.outings: list[Outing] = []
        self._where: Where = "in"  # nothing known before the first event: the resident is taken to be in
        self._door: datetime | None = None  # the last door, while "door"
        self._led_out: datetime | None = None  # the start of the run that led to that door
        self._strays: list[datetime] = []  # indoor signs since the door, not (yet) taken for a return
        self._going = False  # the outing from ``_door`` is told as going (the last of ``outings``)
        self._run_start: datetime | None = None  # the current run of the resident's signs of life
        self._run_last: datetime | None = None

    def feed(self, event: Event) -> bool:
        """One event of the home (in time order); whether the summary changed."""
        at = event.wall
        changed = self.tick(at)
        if not event.is_activity:
            return changed
        if event.kind == "door":
            return self._at_door(at) or changed
        return self._indoors(at) or changed

    def tick(self, now: datetime) -> bool:
        """Time passed: a new day begins, or an outing has gone on long enough to be told; whether it changed."""
        changed = False
        today = day_of(now)
        if self.day is None or today > self.day:  # a clock set back never takes the day back
            changed = self.day is not None and (self.up is not None or bool(self.outings))
            self.day, self.up = today, None
            self.outings = [o for o in self.outings if o[1] is None]  # an outing still going goes on today
        if self._where == "door" and not self._going and self._door is not None and now - self._door > KNOWN_OUT:
            self.outings.append((self._door, None))
            self._going = changed = True
        return changed

    def _at_door(self, at: datetime) -> bool:
        changed = False
        if self._where == "door" and self._door is not None and at - self._door >= OUTING_MIN:
            self._ended(self._door, at)  # door, quiet indoors, door again: out, and back
            self._where, changed = "back", True
        elif self._where != "back":  # after coming in, doors are that coming in until someone is seen indoors
            self._where, self._strays = "door", []
        changed = self._sign(at) or changed
        if self._where == "door":
            self._door, self._led_out = at, self._run_start
        return changed

    def _indoors(self, at: datetime) -> bool:
        if self._where != "door" or self._door is None:
            self._where = "in"
            return self._sign(at)
        self._strays.append(at)
        if at - self._door > timedelta(seconds=ARRIVAL_S) and len(self._strays) < RETURN_ROWS:
            return False  # one or two strays in an empty home
        # Someone is in: they never left, or came in without the door being seen. Either way, no outing to tell.
        changed = self._going
        if self._going:
            self.outings.pop()
        self._where, self._going = "in", False
        for sign in self._strays:
            changed = self._sign(sign) or changed
        self._strays = []
        return changed

    def _ended(self, left: datetime, back: datetime) -> None:
        if self._going:
            self.outings[-1] = (left, back)
        else:
            self.outings.append((left, back))
        self._going = False
        led_out = self._led_out
        if self.up is None and led_out is not None and self.day is not None and led_out >= day_start(self.day, led_out):
            self.up = led_out

    def _sign(self, at: datetime) -> bool:
        """A sign of life taken for the resident's; whether it made them "up"."""
        if self._run_last is None or self._run_start is None or at - self._run_last > UP_GAP:
            self._run_start = at
        self._run_last = at
        start = self._run_start
        if self.up is not None or self.day is None or at - start < UP_RUN:
            return False
        if start < day_start(self.day, start):
            return False  # a run begun the day before (an evening that went on late) is not getting up
        self.up = start
        return True
