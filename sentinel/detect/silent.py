"""A sensor silent far beyond its usual gaps is a kit fault, not a quiet resident.

Silence alone says little: a house is silent while its resident is out or
asleep. What gives a dead sensor away is everything else going on: the other
sensors keep seeing the resident, many more times over than they ever did
between two of this sensor's signs of life.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

# "Far beyond": more than 1.5 times the most signs of life elsewhere ever seen between two of this sensor's.
# The most of n gaps with an exponential tail is about mean x ln n, and a working sensor's next gap exceeds
# c times that with a chance of about n ** -c: over the n gaps of a window, n ** (1 - c) false notices. At 1
# that is about one a window; at 1.5 and a PIR's hundreds of signs, about one in ten windows (56 days each)
# per sensor, while a dead sensor is found after half again its longest silence rather than twice it.
SILENT_FACTOR = 1.5
MIN_SIGNS = 10  # a sensor seen fewer times than this in the history has no usual gaps to judge by
# Fewer signs elsewhere than this are no evidence, however steady the sensor: even one that fires every other
# time in the history stays quiet through ten signs elsewhere by chance about once in a thousand (0.5 ** 10).
MIN_ELSEWHERE = 10
# Only sensors that notice the resident by their mere presence are judged: a PIR sees whoever walks by, a mat
# whoever sits or lies on it. A cupboard, an appliance or a flush reports only when used, and a resident may
# leave the microwave alone for a week; the front door's silence is the resident's choice.
JUDGED_KINDS = frozenset({"motion", "pressure"})


@dataclass(frozen=True, slots=True)
class SilentSensor:
    """A sensor that has stopped reporting while the others still see the resident."""

    sensor: str
    silent_for: float  # seconds since its last sign of life
    usual_max_gap: float  # the longest silence between two of its signs in the history (seconds)
    others_since: int  # other sensors' signs of life since its last
    usual_max_others: int  # the most seen between two of its signs in the history


@dataclass(frozen=True, slots=True)
class Usual:
    """How far apart one sensor's signs of life usually are."""

    signs: int
    max_gap: float  # seconds
    max_others: int  # other sensors' signs in between

    @property
    def busy(self) -> float:
        """More signs of life elsewhere than this since its last, and its silence is no longer the resident's."""
        return max(SILENT_FACTOR * max(self.max_others, 1), MIN_ELSEWHERE)

    def silent(self, others_since: int, silent_for: float) -> bool:
        """Whether this long a silence, with this many signs elsewhere since its last, means the sensor failed."""
        return self.signs >= MIN_SIGNS and others_since > self.busy and silent_for > self.max_gap


def usual_gaps(activity: Sequence[tuple[datetime, str]]) -> dict[str, Usual]:
    """Per sensor, its signs of life in ``activity`` (time order) and the longest gaps between them."""
    last: dict[str, tuple[int, datetime]] = {}
    usual: dict[str, Usual] = {}
    for i, (at, sensor) in enumerate(activity):
        before = last.get(sensor)
        seen = usual.get(sensor, Usual(0, 0.0, 0))
        if before is None:
            usual[sensor] = Usual(seen.signs + 1, seen.max_gap, seen.max_others)
        else:
            gap = (at - before[1]).total_seconds()
            usual[sensor] = Usual(seen.signs + 1, max(seen.max_gap, gap), max(seen.max_others, i - before[0] - 1))
        last[sensor] = (i, at)
    return usual


def silent_sensors(
    activity: Sequence[tuple[datetime, str]], now: datetime, ignore: frozenset[str] = frozenset()
) -> list[SilentSensor]:
    """The sensors of ``activity`` (signs of life, time order) that look dead at ``now``.

    A sensor is silent when, since its last sign of life, the other sensors
    have seen the resident more than ``SILENT_FACTOR`` times as often as they
    ever did between two of its signs (and more than ``MIN_ELSEWHERE`` times),
    and it has been silent longer than it ever was. ``ignore`` names sensors
    whose silence is the resident's choice
    (the front door).
    """
    if not activity:
        return []
    last: dict[str, int] = {}
    for i, (_, sensor) in enumerate(activity):
        last[sensor] = i
    found = []
    for sensor, usual in usual_gaps(activity).items():
        others = len(activity) - 1 - last[sensor]
        silent_for = (now - activity[last[sensor]][0]).total_seconds()
        if sensor not in ignore and usual.silent(others, silent_for):
            found.append(SilentSensor(sensor, silent_for, usual.max_gap, others, usual.max_others))
    return sorted(found, key=lambda s: s.sensor)
