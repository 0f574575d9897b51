"""A sensor silent far beyond its usual gaps, or reporting alone far beyond its usual runs, is a kit fault.

Silence alone says little: a house is silent while its resident is out or
asleep. What gives a dead sensor away is everything else going on: the other
sensors keep seeing the resident, many more times over than they ever did
between two of this sensor's signs of life. The other way round, a sensor that
sees something other than the resident (a heater, curtains in a draught, the
sun) goes on reporting while nothing else does, many more times over than it
ever did in a row; were its reports taken for the resident, a collapse would
never look quiet.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sentinel.detect.contexts import Sign

# "Far beyond": more than 1.5 times the most moves elsewhere ever seen between two of this sensor's signs. A move
# is a sign of another sensor than the one before: a PIR retriggering while the resident sits in view adds signs,
# not moves, so a kit of chatty sensors is judged as one of terse ones.
# The most of n gaps with an exponential tail is about mean x ln n, and a working sensor's next gap exceeds
# c times that with a chance of about n ** -c: over the n gaps of a window, n ** (1 - c) false notices. At 1
# that is about one a window; at 1.5 and a PIR's hundreds of signs, about one in ten windows (56 days each)
# per sensor, while a dead sensor is found after half again its longest silence rather than twice it.
SILENT_FACTOR = 1.5
MIN_SIGNS = 10  # a sensor visited fewer times than this in the history has no usual gaps to judge by
# Fewer moves elsewhere than this are no evidence, however steady the sensor: even one that fires every other
# time in the history stays quiet through ten moves elsewhere by chance about once in a thousand (0.5 ** 10).
MIN_ELSEWHERE = 10
# Only sensors that notice the resident by their mere presence are judged: a PIR sees whoever walks by, a mat
# whoever sits or lies on it. A cupboard, an appliance or a flush reports only when used, and a resident may
# leave the microwave alone for a week; the front door's silence is the resident's choice.
JUDGED_KINDS = frozenset({"motion", "pressure"})
# Finished runs (a sensor's signs in a row, ended by another sensor's) needed before a run is judged: a kit
# with one indoor sensor, or a sensor that has never been followed by another, has no usual runs to judge by.
MIN_RUNS = 10
# A sensor found alone goes on being judged by the runs it had before, until it has not been found for this long:
# a fault that comes back every night (a heater) would otherwise teach the routine its own runs, which are just
# short of being found, and raise the bar a little more each day. A week holds every weekday's evening and night.
FAULT_KEPT_S = 7 * 86400.0


@dataclass(frozen=True, slots=True)
class SilentSensor:
    """A sensor that has stopped reporting while the others still see the resident."""

    sensor: str
    silent_for: float  # seconds since its last sign of life
    usual_max_gap: float  # the longest silence between two of its signs in the history (seconds)
    others_since: int  # moves between the other sensors since its last sign
    usual_max_others: int  # the most seen between two of its signs in the history


@dataclass(frozen=True, slots=True)
class Usual:
    """How far apart one sensor's signs of life usually are."""

    signs: int  # its visits: signs that came after another sensor's
    max_gap: float  # seconds
    max_others: int  # moves elsewhere in between: signs of another sensor than the one before
    runs: int = 0  # finished runs: its signs in a row with none elsewhere between, ended by another sensor's
    max_alone: int = 0  # the most signs in such a run
    max_alone_s: float = 0.0  # the longest such run lasted, from its first sign to its last (seconds)

    @property
    def busy(self) -> float:
        """More moves elsewhere than this since its last sign, and its silence is no longer the resident's."""
        return max(SILENT_FACTOR * max(self.max_others, 1), MIN_ELSEWHERE)

    def silent(self, others_since: int, silent_for: float) -> bool:
        """Whether this long a silence, with this many moves elsewhere since its last sign, means the sensor failed."""
        return self.signs >= MIN_SIGNS and others_since > self.busy and silent_for > self.max_gap

    def alone(self, in_a_row: int, lasted: float) -> bool:
        """Whether this many signs in a row, with none elsewhere, over ``lasted`` seconds, are not the resident's."""
        many = max(SILENT_FACTOR * max(self.max_alone, 1), MIN_ELSEWHERE)
        # Far beyond in time as well as in signs: a sensor that reports every movement (a bed mat under a restless
        # sleeper) counts more signs on a restless night, not more evidence; how long nothing else noticed the
        # resident is the evidence; by the reasoning above, over a window's n runs half again the longest is
        # passed about n ** -0.5 times (a tenth of a time for a sensor's hundred runs).
        return self.runs >= MIN_RUNS and in_a_row > many and lasted > SILENT_FACTOR * self.max_alone_s


class Run:
    """The sensor reporting now, its signs in a row with none elsewhere, and whether they are the resident's."""

    def __init__(self) -> None:
        self.sensor: str | None = None
        self.signs = 0
        self.since: datetime | None = None  # its first sign in this run
        self.alone = False  # reporting alone far beyond its usual runs: its signs are not taken for the resident
        self.skipped = False  # signs were not taken since the last one that was
        self.faulty: dict[str, tuple[Usual, datetime]] = {}  # found alone: the usual runs it is judged by, and when

    def see(self, sensor: str, at: datetime, usual: Usual | None) -> Literal["taken", "found", "alone"]:
        """A sign of ``sensor`` (judged by ``usual``, if given): taken; or the one that shows it alone; or one more."""
        if sensor != self.sensor:  # another sensor: the run is over, and its sensor is trusted again
            self.sensor, self.signs, self.since, self.alone = sensor, 0, at, False
        if self.since is not None and at < self.since:
            self.since = at  # the clock was set back (a first sign stamped ahead): the run is timed from now
        self.signs += 1
        fault = self.faulty.get(sensor)  # (found "later" than now: a replay of the past, or a clock set back)
        if fault is not None and (at - fault[1]).total_seconds() > FAULT_KEPT_S:
            del self.faulty[sensor]  # not found for a week: judged by its runs as learned again
        elif fault is not None and usual is not None:
            usual = fault[0]
        was = self.alone
        if not was and usual is not None and self.since is not None:
            self.alone = usual.alone(self.signs, (at - self.since).total_seconds())
            if self.alone:
                self.faulty[sensor] = (usual, at)
        self.skipped |= self.alone
        return "taken" if not self.alone else "alone" if was else "found"

    def faults_as_of(self, now: datetime) -> dict[str, tuple[Usual, datetime]]:
        """The sensors found alone within ``FAULT_KEPT_S`` of ``now`` (one removed from the kit is let go)."""
        return {name: f for name, f in self.faulty.items() if (now - f[1]).total_seconds() <= FAULT_KEPT_S}

    def taken(self) -> bool:
        """A sign is taken for the resident's: False if some were not since the last (that spell is not learned)."""
        skipped, self.skipped = self.skipped, False
        return not skipped


@dataclass(frozen=True, slots=True)
class Kept:
    """Where a tracker stood: its spell, the front door, the last sign, and where its learner was."""

    begun: Sign | None
    out: Sign | None
    strays: tuple[Sign, ...]
    went_out: bool
    last_at: datetime | None
    last_context: str | None
    mark: object


def told_silent(
    silent: set[str], usual: dict[str, Usual], last_sign: dict[str, tuple[int, datetime]], moves: int, now: datetime
) -> list[SilentSensor]:
    """The sensors of ``silent`` as the keepers are told of them: silent how long, against what usual."""
    found = []
    for name in sorted(silent):
        mine, (count, at) = usual[name], last_sign[name]
        found.append(SilentSensor(name, (now - at).total_seconds(), mine.max_gap, moves - count, mine.max_others))
    return found


def usual_gaps(activity: Sequence[tuple[datetime, str]]) -> dict[str, Usual]:
    """Per sensor, its visits in ``activity`` (time order) and the longest gaps between its signs, in time and moves."""
    last: dict[str, tuple[int, datetime]] = {}
    usual: dict[str, Usual] = {}
    for at, sensor, moves, moved in _moves(activity):
        before = last.get(sensor)
        seen = usual.get(sensor, Usual(0, 0.0, 0))
        if before is None:
            usual[sensor] = Usual(seen.signs + moved, seen.max_gap, seen.max_others)
        else:
            gap = (at - before[1]).total_seconds()
            others = max(moves - before[0] - 1, 0)
            usual[sensor] = Usual(seen.signs + moved, max(seen.max_gap, gap), max(seen.max_others, others))
        last[sensor] = (moves, at)
    return usual


def _moves(activity: Sequence[tuple[datetime, str]]) -> Iterator[tuple[datetime, str, int, bool]]:
    """Each sign with the moves so far (signs of another sensor than the one before) and whether it is one."""
    moves, previous = 0, None
    for at, sensor in activity:
        moved = sensor != previous
        moves, previous = moves + moved, sensor
        yield at, sensor, moves, moved


def silent_sensors(
    activity: Sequence[tuple[datetime, str]], now: datetime, ignore: frozenset[str] = frozenset()
) -> list[SilentSensor]:
    """The sensors of ``activity`` (signs of life, time order) that look dead at ``now``.

    A sensor is silent when, since its last sign of life, the resident has been
    seen moving between the other sensors more than ``SILENT_FACTOR`` times as
    often as ever between two of its signs (and more than ``MIN_ELSEWHERE`` times),
    and it has been silent longer than it ever was. ``ignore`` names sensors
    whose silence is the resident's choice
    (the front door).
    """
    if not activity:
        return []
    last = {sensor: (moves, at) for at, sensor, moves, _ in _moves(activity)}
    moves = max(count for count, _ in last.values())
    found = []
    for sensor, usual in usual_gaps(activity).items():
        others = moves - last[sensor][0]
        silent_for = (now - last[sensor][1]).total_seconds()
        if sensor not in ignore and usual.silent(others, silent_for):
            found.append(SilentSensor(sensor, silent_for, usual.max_gap, others, usual.max_others))
    return sorted(found, key=lambda s: s.sensor)
